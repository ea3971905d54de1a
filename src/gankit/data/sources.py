"""Named datasets: their facts (kind of data, sample shape, reader, classes, splits) in one table, with the readers
of their files and the items and vocabulary of the text ones. Where their files come from is gankit.data.download;
how a person's own folder or file is read is gankit.data.kinds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gankit.config import DataConfig
from gankit.data.audio import DEFAULT_CLIP, DEFAULT_RATE, list_sounds, read_audio_folder
from gankit.data.cifar import read_cifar10
from gankit.data.download import locate
from gankit.data.emoji import GROUPS as EMOJI_GROUPS
from gankit.data.emoji import SIDE as EMOJI_SIDE
from gankit.data.emoji import subgroup_of
from gankit.data.folder import list_images, read_image_folder
from gankit.data.idx import read_idx
from gankit.data.notes import FAMILIES, note_pitch_names, note_pitches
from gankit.data.text import read_text, split_by_hash, split_poems, split_words
from gankit.errors import GankitError
from gankit.modalities.text import Vocabulary

# a folder of the user's own images in a run that predates reading folders at their own shape
# (native_settings), when --image-size and --channels did not say otherwise
FOLDER_SHAPE = (3, 64, 64)
# characters per item when --seq-len is not given: words are short, Tang poems' lines shorter; a text file's
# items are as long as nearly all of its lines (native_settings), and LINES_SEQ_LEN in runs saved before that
WORDS_SEQ_LEN, LINES_SEQ_LEN = 16, 32
# a Tang poem's lines have five or seven characters
POEM_SEQ_LEN = 7
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

# (files found for a split, split, the data config) -> (samples as stored (N, ...), int64 labels (N,))
Reader = Callable[[dict[str, Path], str, DataConfig], tuple[np.ndarray, np.ndarray]]


def read_idx_pair(files: dict[str, Path], split: str, cfg: DataConfig) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-style images and labels, as (N, 1, H, W) and (N,)."""
    image_file, label_file = _IDX_FILES[split]
    images, labels = read_idx(files[image_file]), read_idx(files[label_file]).astype(np.int64)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise GankitError(f"{files[image_file]} and {files[label_file]} do not match "
                          f"(images {images.shape}, labels {labels.shape})")
    return images[:, None], labels


def read_cifar_split(files: dict[str, Path], split: str, cfg: DataConfig) -> tuple[np.ndarray, np.ndarray]:
    return read_cifar10(files["cifar-10-python.tar.gz"], split)


def as_made(folder: Path, read: tuple[np.ndarray, np.ndarray | None, list[str]], classes: tuple[str, ...],
            made_by: str, layout: str, files: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A made dataset's split as a folder reader returns it (samples, labels by subfolder, the subfolders) -> (samples,
    labels in `classes`' order); refused when it is not as `made_by` makes it (`layout`): unlabelled, a class it does
    not make, or, when `files` counts them, a file left out as unreadable or silent."""
    samples, labels, found = read
    unknown = sorted(set(found) - set(classes))
    if labels is None or unknown or (files is not None and len(samples) != files):
        named = f", found {', '.join(unknown[:3])}" if unknown else ""
        raise GankitError(f"{folder} is not as `{made_by}` makes it ({layout}{named}); delete it and make it again")
    return samples, np.array([classes.index(c) for c in found], dtype=np.int64)[labels]


def read_spoken_digits(files: dict[str, Path], split: str, cfg: DataConfig) -> tuple[np.ndarray, np.ndarray]:
    """The clips of `gankit data spoken-digits`: <split>/<digit word>/*.flac, labelled in digit order."""
    folder = files[split]
    clips = read_audio_folder(folder, cfg.sample_rate or DEFAULT_RATE, cfg.clip_samples or DEFAULT_CLIP)
    return as_made(folder, clips, DIGITS, "gankit data spoken-digits", "one folder per digit word")


def read_notes(files: dict[str, Path], split: str, cfg: DataConfig) -> tuple[np.ndarray, np.ndarray]:
    """The clips of `gankit data notes`: <split>/<instrument family>/*.flac, labelled in family order."""
    folder = files[split]
    clips = read_audio_folder(folder, cfg.sample_rate or DEFAULT_RATE, cfg.clip_samples or DEFAULT_CLIP)
    return as_made(folder, clips, FAMILIES, "gankit data notes",
                   "one folder per instrument family, no silent or unreadable note", len(list_sounds(folder)))


def read_emoji(files: dict[str, Path], split: str, cfg: DataConfig) -> tuple[np.ndarray, np.ndarray]:
    """The pictures of `gankit data emoji`: <split>/<Unicode group>/*.png, on white, labelled in Unicode's group order."""
    folder = files[split]
    pictures = read_image_folder(folder, EMOJI_SIDE, 3, cfg.background)
    return as_made(folder, pictures, EMOJI_GROUPS, "gankit data emoji", "one folder per Unicode group, every picture "
                   "readable", len(list_images(folder)))


def emoji_subgroups(files: dict[str, Path], split: str) -> list[str]:
    """The Unicode subgroup of each picture of an emoji split, in the order the split is read."""
    return [subgroup_of(p) for p in list_images(files[split])]


def read_text_items(files: dict[str, Path], split: str, cfg: DataConfig) -> tuple[np.ndarray, np.ndarray | None]:
    """A named text dataset's split as character ids (N, seq_len), in its training items' vocabulary."""
    return vocabulary(cfg).encode(text_items(cfg, split, files), seq_len(cfg)), None


@dataclass(frozen=True)
class NamedDataset:
    name: str
    base_url: str
    # split -> files needed for it; a `.gz` file may also be found uncompressed (name without .gz)
    files: dict[str, tuple[str, ...]]
    sha256: dict[str, str]
    classes: tuple[str, ...]
    # the kind of data (a gankit.modalities name) and the shape of one sample as stored
    modality: str
    shape: tuple[int, ...]
    read: Reader
    # the split samples are scored against (the rest of the data trains)
    test_split: str = "test"
    # Debian package that installs the files into /usr/share/datasets/<name>, if there is one
    system_package: str | None = None
    # the command that makes the dataset on this machine, when it is made rather than downloaded
    made_by: str | None = None
    # a folder a system package installs the files into, searched after the usual ones
    system_dir: str | None = None
    # musical notes: a split folder -> the MIDI pitch of each clip, in the order they are read (scored by pitch)
    pitches: Callable[[Path], np.ndarray] | None = None
    # (files found for a split, split) -> each sample's finer class, in the order they are read: the classifier
    # extractor learns its features from these (few coarse classes teach features that miss what varies within
    # each) and still scores by the dataset's classes
    subclasses: Callable[[dict[str, Path], str], list[str]] | None = None
    # conditions it offers beyond the class (data.conditions picks them): name -> (files found for a split, split)
    # -> each sample's value, in the order they are read
    conditions: dict[str, Callable[[dict[str, Path], str], list[str]]] = field(default_factory=dict)


_IDX_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

NAMED_DATASETS: dict[str, NamedDataset] = {
    d.name: d
    for d in (
        NamedDataset(
            name="fashion-mnist",
            base_url="http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            files=_IDX_FILES,
            sha256={
                "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
            },
            classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                     "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
            modality="image", shape=(1, 28, 28), read=read_idx_pair,
            system_package="dataset-fashion-mnist",
        ),
        NamedDataset(
            name="mnist",
            base_url="https://ossci-datasets.s3.amazonaws.com/mnist/",
            files=_IDX_FILES,
            sha256={
                "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            },
            classes=tuple(str(i) for i in range(10)),
            modality="image", shape=(1, 28, 28), read=read_idx_pair,
        ),
        NamedDataset(
            name="cifar10",
            base_url="https://www.cs.toronto.edu/~kriz/",
            files={"train": ("cifar-10-python.tar.gz",), "test": ("cifar-10-python.tar.gz",)},
            sha256={"cifar-10-python.tar.gz": "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"},
            classes=("airplane", "automobile", "bird", "cat", "deer",
                     "dog", "frog", "horse", "ship", "truck"),
            modality="image", shape=(3, 32, 32), read=read_cifar_split,
        ),
        # SC09 (the WaveGAN paper's spoken digits) cannot be downloaded here: espeak-ng says the digits
        NamedDataset(
            name="spoken-digits", base_url="", files={"train": ("train",), "test": ("test",)}, sha256={},
            classes=DIGITS, modality="audio", shape=(1, DEFAULT_CLIP), read=read_spoken_digits,
            made_by="gankit data spoken-digits",
        ),
        # NSynth (GANSynth's notes) cannot be downloaded here: FluidSynth plays General-MIDI instruments
        NamedDataset(
            name="notes", base_url="", files={"train": ("train",), "test": ("test",)}, sha256={},
            classes=FAMILIES, modality="audio", shape=(1, DEFAULT_CLIP), read=read_notes, made_by="gankit data notes",
            pitches=note_pitches, conditions={"pitch": note_pitch_names},
        ),
        # small colour pictures with few, unequal classes: Noto's emoji, by Unicode group
        NamedDataset(
            name="emoji", base_url="", files={"train": ("train",), "test": ("test",)}, sha256={},
            classes=EMOJI_GROUPS, modality="image", shape=(3, EMOJI_SIDE, EMOJI_SIDE), read=read_emoji,
            made_by="gankit data emoji", subclasses=emoji_subgroups, conditions={"subgroup": emoji_subgroups},
        ),
        # one of Debian's word lists: 100,000 American English words, 73,000 of them lower-case a-z only
        NamedDataset(
            name="words", base_url="", files={"train": ("words",), "test": ("words",)}, sha256={}, classes=(),
            modality="text", shape=(), read=read_text_items, system_package="wamerican", system_dir="/usr/share/dict",
        ),
        # the lines of the 300 Tang poems (唐诗三百首) in Debian's fortunes-zh
        NamedDataset(
            name="tang-poems", base_url="", files={"train": ("tang300",), "test": ("tang300",)}, sha256={},
            classes=(), modality="text", shape=(), read=read_text_items, system_package="fortunes-zh",
            system_dir="/usr/share/games/fortunes",
        ),
    )
}


def is_named(name: str) -> bool:
    return name in NAMED_DATASETS


def seq_len(cfg: DataConfig) -> int:
    return cfg.seq_len or {"words": WORDS_SEQ_LEN, "tang-poems": POEM_SEQ_LEN}.get(cfg.name, LINES_SEQ_LEN)


def text_items(cfg: DataConfig, split: str = "train", files: dict[str, Path] | None = None) -> list[str]:
    """The items of a text dataset's split ("train" or "test"): the `words` list's, the Tang poems' lines, or a file's
    lines split by a hash of each line."""
    if is_named(cfg.name):
        files = files or locate(NAMED_DATASETS[cfg.name], split, cfg.data_dir, cfg.download_url)
        if cfg.name == "tang-poems":
            return [line for line in split_poems(files["tang300"])[split] if len(line) <= seq_len(cfg)]
        return split_words(files["words"], seq_len(cfg))[split]
    items = split_by_hash(read_text(cfg.name, seq_len(cfg)))[split]
    if not items:
        raise GankitError(f"{cfg.name} has no {'line to train on' if split == 'train' else 'line held out for scoring'} "
                          f"once one line in ten is held out (by a hash of the line); give it more different lines")
    return items


def vocabulary(cfg: DataConfig) -> Vocabulary:
    """The characters of the training items (a text's whole file; the training words of `words`)."""
    return Vocabulary.of(text_items(cfg, "train"))


def has_pitches(name: str) -> bool:
    """The data is a named dataset that labels each sound with its pitch (notes)."""
    return is_named(name) and NAMED_DATASETS[name].pitches is not None


def offered_conditions(name: str) -> tuple[str, ...]:
    """The conditions a named dataset offers beyond the class (notes: pitch; emoji: subgroup); () for others."""
    return tuple(NAMED_DATASETS[name].conditions) if is_named(name) else ()
