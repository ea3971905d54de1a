"""How each kind of data is read from a person's own files and what its data settings mean: one `DataKind` per
modality, looked up by the modality's name. gankit.modalities says what a sample is (and which files hold one);
this says how files become stored samples. Code that reads data asks the data's kind for what it needs, and never
asks which kind it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from gankit.conditions import CLASS
from gankit.config import MAX_SAMPLES, DataConfig
from gankit.data.audio import DEFAULT_CLIP, DEFAULT_RATE, list_sounds, read_audio_folder
from gankit.data.folder import labels_from_subfolders, list_images, read_image_folder, survey_images
from gankit.data.sources import FOLDER_SHAPE, NAMED_DATASETS, is_named, seq_len, text_items, vocabulary
from gankit.data.text import read_text, survey_text
from gankit.errors import GankitError
from gankit.modalities import MODALITIES, Modality, default_folder_kind, is_data_file, kind_of_path
from gankit.modalities.image import conform

# the longest side of an image a folder of samples to score may give them all (a huge first image must not blow
# every sample up to its size)
MAX_SIDE = 4096


@dataclass(frozen=True)
class DataKind:
    """What reading one kind of data takes. Shapes are one sample's as the models see it."""

    # a gankit.modalities name
    name: str
    # the data.<key> settings that mean something for this kind only (given for another kind, they are refused)
    settings: tuple[str, ...]
    # one sample's shape, before any file is read
    shape: Callable[[DataConfig], tuple[int, ...]]
    # a person's own data (a folder, a file): (config, split, shape) -> (stored samples, labels or None, class names)
    read: Callable[[DataConfig, str, tuple[int, ...]], tuple[Any, np.ndarray | None, list[str]]]
    # stored samples as read -> (the Dataset's tensor, its modality); (config, samples, shape, a sound view)
    wrap: Callable[[DataConfig, Any, tuple[int, ...], Any], tuple[torch.Tensor, Modality]]
    # samples a person gives to be scored (gankit eval --samples): (path, config) -> stored samples
    load_samples: Callable[[Path, DataConfig], torch.Tensor]
    # the settings a person's own data implies (its images' size, its lines' length): path -> {key: value}
    native: Callable[[Path], dict[str, int]]
    # what the data implied, in one line, for the settings gankit chose from it: (config, chosen keys) -> line
    native_line: Callable[[DataConfig, set[str]], str | None]
    # a folder's files, whose first-level subfolders are its classes (None: this kind is one file, no classes)
    list_files: Callable[[Path], list[Path]] | None = None
    # a folder of this kind without classes may be labelled by k-means clusters of what it holds (self-conditioning)
    clusters: bool = False

    @property
    def words(self) -> str:
        return MODALITIES.get(self.name).words


def kind_name(name: str) -> str | None:
    """The kind of data `name` holds (a MODALITIES name), before reading any sample: a named dataset's, a file's or a
    folder's by its files' names; None for a name that is no data."""
    if is_named(name):
        return NAMED_DATASETS[name].modality
    return kind_of_path(Path(name).expanduser())


def data_kind(cfg: DataConfig) -> DataKind | None:
    """The DataKind of the data `cfg` names (None: a folder or file that is not there)."""
    name = kind_name(cfg.name)
    return KINDS[name] if name is not None else None


def sample_shape(cfg: DataConfig) -> tuple[int, ...]:
    """The shape of one sample as the models will see it, before loading any file."""
    return (data_kind(cfg) or KINDS[default_folder_kind()]).shape(cfg)  # a folder gone: as when it was there


def data_classes(name: str) -> tuple[str | None, int]:
    """(the kind of data, how many classes label it), before reading any sample: a named dataset's, or a folder's
    first-level subfolders when every file of its kind lies in one; 0 classes for a one-file kind (text) and for
    unlabelled folders (None for the kind of a name that is no data)."""
    if is_named(name):
        dataset = NAMED_DATASETS[name]
        return dataset.modality, len(dataset.classes)
    kind = kind_name(name)
    if kind is None or KINDS[kind].list_files is None:
        return kind, 0
    path = Path(name).expanduser()
    return kind, len(labels_from_subfolders(path, KINDS[kind].list_files(path))[1])


def native_settings(name: str) -> dict[str, int]:
    """The data settings a person's own data implies (DataKind.native); nothing for named datasets or data that
    does not read (the reader says why)."""
    kind = kind_name(name)
    return {} if is_named(name) or kind is None else KINDS[kind].native(Path(name).expanduser())


def check_data_settings(cfg: DataConfig) -> None:
    """Settings of one kind of data given for another are refused (they would silently do nothing)."""
    kind = data_kind(cfg)
    if kind is None:
        return
    for other in KINDS.values():
        for key in other.settings:
            if other is not kind and getattr(cfg, key) is not None:
                raise GankitError(f"data.{key} is for {other.words}, and {cfg.name} holds {kind.words}; leave it out")
    if cfg.clusters:
        _, classes = data_classes(cfg.name)
        if not kind.clusters or classes:
            held = f"has {classes} classes of its own" if classes else f"holds {kind.words}"
            raise GankitError(f"data.clusters labels a folder of images without class labels, and {cfg.name} {held}; "
                              "leave it out")
    chosen_conditions(cfg)


def chosen_conditions(cfg: DataConfig) -> list[str]:
    """The conditions beyond the class that data.conditions asks of the data, each one it offers (else one line
    naming those it does)."""
    names = [name.strip() for name in cfg.conditions.split(",") if name.strip()]
    offered = list(NAMED_DATASETS[cfg.name].conditions) if is_named(cfg.name) else []
    if not names or names[0] != CLASS or len(set(names)) < len(names) or not set(names[1:]) <= set(offered):
        more = f"class, then any of {', '.join(offered)}" if offered else "class (it offers no other condition)"
        raise GankitError(f"data.conditions {cfg.conditions!r} is not what {cfg.name} offers: {more}")
    return names[1:]


def check_data_exists(cfg: DataConfig) -> None:
    if not is_named(cfg.name) and not Path(cfg.name).is_dir() and not is_data_file(Path(cfg.name)):
        raise GankitError(f"data.name {cfg.name!r} is neither a dataset ({', '.join(NAMED_DATASETS)}) "
                          "nor an existing folder of images or sound files nor a .txt file")


def load_samples(path: str | Path, data: DataConfig) -> torch.Tensor:
    """Samples to score against `data`, from a .npy, a folder or a file, as the data's kind of sample."""
    return (data_kind(data) or KINDS[default_folder_kind()]).load_samples(Path(path), data)


# -- images ---------------------------------------------------------------------------------------------------------

def _image_shape(cfg: DataConfig) -> tuple[int, ...]:
    channels, height, width = NAMED_DATASETS[cfg.name].shape if is_named(cfg.name) else FOLDER_SHAPE
    size = cfg.image_size or width
    return (cfg.channels or channels, size if cfg.image_size else height, size)


def _read_images(cfg: DataConfig, split: str, shape: tuple[int, ...]):
    return read_image_folder(cfg.name, shape[-1], shape[0], cfg.background)


def _wrap_images(cfg: DataConfig, samples, shape: tuple[int, ...], view) -> tuple[torch.Tensor, Modality]:
    tensor = conform(torch.from_numpy(np.array(samples, dtype=np.uint8)), shape[0], shape[-1])  # a writable copy
    return tensor, MODALITIES.get("image")()


def _native_images(path: Path) -> dict[str, int]:
    survey = survey_images(str(path))
    return {} if survey is None else {"data.image_size": survey.side, "data.channels": survey.channels}


def _native_images_line(data: DataConfig, chosen: set[str]) -> str | None:
    if is_named(data.name):
        return None
    survey = survey_images(data.name)
    if survey and (chosen & {"data.image_size", "data.channels"} or survey.transparent):
        return survey.line(data.name, data.image_size, data.channels, data.background)
    return None


def _open_npy(path: Path, other: str) -> np.ndarray:
    if path.suffix != ".npy" or not path.is_file():
        raise GankitError(f"--samples {path} must be a .npy file or {other}")
    try:  # mapped, not read: the header's shape is checked against the file before anything is loaded
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0][:200] or "empty file"
        raise GankitError(f"{path} is not a readable .npy array ({reason})") from None


def _load_images(path: Path, data: DataConfig) -> torch.Tensor:
    """A .npy of uint8 N x H x W [x C] or N x C x H x W, or a folder of images."""
    if path.is_dir():
        probe = next(iter(sorted(p for p in path.rglob("*") if p.is_file())), None)
        if probe is None:
            raise GankitError(f"sample folder {path} is empty")
        try:
            with Image.open(probe) as img:
                size, channels = min(img.size), (1 if img.mode in ("L", "I", "I;16", "F", "1") else 3)
        except (OSError, ValueError, Image.DecompressionBombError):
            raise GankitError(f"{probe} is not an image") from None
        size = min(size, MAX_SIDE)
        images, _, _ = read_image_folder(path, size, channels)
        return torch.from_numpy(images)
    array = _open_npy(path, "a folder of images")
    if array.dtype != np.uint8:
        raise GankitError(f"{path} holds {array.dtype}; samples must be uint8 0..255")
    if array.ndim in (3, 4) and (array.shape[0] > MAX_SAMPLES or min(array.shape[1:]) < 1
                                 or max(array.shape[1:]) > MAX_SIDE):
        raise GankitError(f"{path} has shape {array.shape}; samples must be 1..{MAX_SAMPLES:,} images of 1 to "
                          f"{MAX_SIDE} px a side")
    if array.ndim == 3:
        array = array[:, None]
    elif array.ndim == 4 and array.shape[-1] in (1, 3) and array.shape[1] not in (1, 3):
        array = array.transpose(0, 3, 1, 2)
    elif not (array.ndim == 4 and array.shape[1] in (1, 3)):
        raise GankitError(f"{path} has shape {array.shape}; expected N x H x W, N x H x W x C or N x C x H x W")
    return torch.from_numpy(np.array(array, order="C"))


# -- sound ----------------------------------------------------------------------------------------------------------

def _sound_shape(cfg: DataConfig) -> tuple[int, ...]:
    return (1, cfg.clip_samples or DEFAULT_CLIP)


def _read_sound(cfg: DataConfig, split: str, shape: tuple[int, ...]):
    return read_audio_folder(cfg.name, cfg.sample_rate or DEFAULT_RATE, shape[-1])


def _wrap_sound(cfg: DataConfig, samples, shape: tuple[int, ...], view) -> tuple[torch.Tensor, Modality]:
    tensor = torch.from_numpy(np.array(samples, dtype=np.float32))
    view = view if view is None or view.mean else view.fitted(tensor)  # a resumed run's view keeps its statistics
    return tensor, MODALITIES.get("audio")(cfg.sample_rate or DEFAULT_RATE, view)


def _load_clips(path: Path, data: DataConfig) -> torch.Tensor:
    """A .npy of float N x L or N x 1 x L in [-1, 1], or a folder of sound files (read as the data is)."""
    rate, clip = data.sample_rate or DEFAULT_RATE, sample_shape(data)[-1]
    if path.is_dir():
        clips, _, _ = read_audio_folder(path, rate, clip)
        return torch.from_numpy(clips)
    array = _open_npy(path, "a folder of sound files")
    if array.dtype.kind != "f" or array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[1] != 1):
        raise GankitError(f"{path} holds {array.dtype} {array.shape}; clips must be float N x L or N x 1 x L")
    if array.shape[-1] != clip:
        raise GankitError(f"{path} holds clips of {array.shape[-1]} samples; {data.name} is scored with clips of {clip}: "
                          f"cut or pad them to {clip}, or save them as sound files in a folder (read as the data is)")
    if not 1 <= array.shape[0] <= MAX_SAMPLES:
        raise GankitError(f"{path} holds {array.shape[0]} clips; score 1 to {MAX_SAMPLES:,}")
    clips = torch.from_numpy(np.array(array, dtype=np.float32, order="C")).reshape(len(array), 1, clip)
    if not torch.isfinite(clips).all() or clips.abs().max() > 1:
        raise GankitError(f"{path}: clips must be finite and within [-1, 1]")
    return clips


# -- text -----------------------------------------------------------------------------------------------------------

def _text_shape(cfg: DataConfig) -> tuple[int, ...]:
    return (len(vocabulary(cfg)), seq_len(cfg))


def _read_text(cfg: DataConfig, split: str, shape: tuple[int, ...]):
    return vocabulary(cfg).encode(text_items(cfg, split), shape[-1]), None, []


def _wrap_text(cfg: DataConfig, samples, shape: tuple[int, ...], view) -> tuple[torch.Tensor, Modality]:
    tensor = torch.from_numpy(np.array(samples, dtype=np.int64))
    return tensor, MODALITIES.get("text")(vocabulary(cfg).characters, seq_len(cfg))


def _native_text(path: Path) -> dict[str, int]:
    text = survey_text(str(path))
    return {} if text is None else {"data.seq_len": text.seq_len}


def _native_text_line(data: DataConfig, chosen: set[str]) -> str | None:
    if is_named(data.name) or "data.seq_len" not in chosen:
        return None
    text = survey_text(data.name)
    return text.line(data.name, data.seq_len) if text else None


def _load_lines(path: Path, data: DataConfig) -> torch.Tensor:
    """A .txt file of one sample per line, in the data's vocabulary (lines longer than its items are skipped)."""
    if not is_data_file(path):
        raise GankitError(f"--samples {path} must be a .txt file of one sample per line, as `gankit sample --out "
                          "lines.txt` writes")
    return torch.from_numpy(vocabulary(data).encode(read_text(path, seq_len(data)), seq_len(data)))


KINDS: dict[str, DataKind] = {kind.name: kind for kind in (
    DataKind("image", ("image_size", "channels", "background"), _image_shape, _read_images, _wrap_images, _load_images,
             _native_images, _native_images_line, list_files=list_images, clusters=True),
    DataKind("audio", ("sample_rate", "clip_samples"), _sound_shape, _read_sound, _wrap_sound, _load_clips,
             lambda path: {}, lambda data, chosen: None, list_files=list_sounds),
    DataKind("text", ("seq_len",), _text_shape, _read_text, _wrap_text, _load_lines, _native_text, _native_text_line),
)}
