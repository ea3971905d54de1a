"""Text: items (words, names, short lines) as character ids. Stored samples are int64 (N, L) ids into a
vocabulary; the model's tensor is one position's distribution over the vocabulary per column, float (N, V, L):
one-hot for real text, G's softmax for generated text (Gulrajani et al. 2017's character-level WGAN-GP).

Id 0 is padding (an item ends at its first padding id) and id 1 stands for a character the training text
never had; the vocabulary's characters follow, in the order of the training text's code points. It is
recorded in every checkpoint, so a run decodes its samples without its data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont

from gankit.atomic import atomic_path, write_atomically
from gankit.config import MAX_SEQ_LEN
from gankit.errors import GankitError
from gankit.modalities import MODALITIES, Modality

PAD, UNKNOWN = 0, 1
RESERVED = 2
# shown for a character the training text never had
UNKNOWN_MARK = "\ufffd"
# a one-hot position per character: beyond a few thousand, batches no longer fit and the model's first and
# last layers dominate everything
MAX_VOCABULARY = 4096
# lines drawn in a preview picture (the text file beside it holds them all)
PICTURE_LINES = 32


class Vocabulary:
    """The characters of the training text, each an id from RESERVED on."""

    def __init__(self, characters: str):
        if len(set(characters)) != len(characters):
            raise GankitError("a text vocabulary lists a character twice")
        self.characters = characters
        self.index = {ch: i + RESERVED for i, ch in enumerate(characters)}

    @classmethod
    def of(cls, items: list[str]) -> Vocabulary:
        characters = "".join(sorted(set().union(*map(set, items)))) if items else ""
        if len(characters) + RESERVED > MAX_VOCABULARY:
            raise GankitError(f"the text uses {len(characters):,} different characters, more than a character model "
                              f"handles ({MAX_VOCABULARY - RESERVED:,}); use a text in fewer characters")
        return cls(characters)

    def __len__(self) -> int:
        return len(self.characters) + RESERVED

    def encode(self, items: list[str], length: int) -> np.ndarray:
        """Items (each at most `length` characters) -> int64 (N, length) ids, padded with PAD."""
        ids = np.zeros((len(items), length), dtype=np.int64)
        for row, item in enumerate(items):
            ids[row, : len(item)] = [self.index.get(ch, UNKNOWN) for ch in item[:length]]
        return ids

    def decode(self, ids: torch.Tensor | np.ndarray) -> list[str]:
        """int (N, L) ids -> N strings, each cut at its first padding id."""
        table = ["", UNKNOWN_MARK, *self.characters]
        items = []
        for row in np.asarray(ids).tolist():
            end = row.index(PAD) if PAD in row else len(row)
            items.append("".join(table[i] if 0 <= i < len(table) else UNKNOWN_MARK for i in row[:end]))
        return items


def one_hot(ids: torch.Tensor, size: int) -> torch.Tensor:
    """int (N, L) -> float (N, V, L), each column one-hot."""
    return F.one_hot(ids.long(), size).permute(0, 2, 1).float()


def draw_lines(lines: list[str], width_chars: int) -> np.ndarray:
    """Lines as a uint8 (H, W, 3) picture in PIL's built-in font, for the progress GIF and TensorBoard."""
    font = ImageFont.load_default()
    # the default font is 6 x 11 px a character; wide characters may overflow the right edge (only the picture)
    width, line = 12 + 6 * max(8, width_chars), 13
    picture = Image.new("RGB", (width, 8 + line * max(1, len(lines))), "white")
    draw = ImageDraw.Draw(picture)
    for row, text in enumerate(lines):
        printable = "".join(ch if ch.isprintable() else "\u00b7" for ch in text)
        draw.text((6, 4 + row * line), printable, fill="black", font=font)
    return np.asarray(picture)


class TextModality(Modality):
    name = "text"
    file_extensions = (".txt",)
    one_file = True
    words = "text"
    stored = "int64 character ids (N, L)"
    noun = "item"
    output_suffix = ".txt"
    scored_by_features = False
    example_output = "lines.txt"
    decoded = "int64 character ids"
    preview_note = "Every sample of the picture is in `preview.txt`."
    keep_decoded = 'print("\\n".join(lines))'
    decoded_as = "lines"
    best_score = "js_4"
    reads_own_test_split = True

    def __init__(self, characters: str = "", seq_len: int = 16):
        self.vocabulary = Vocabulary(characters)
        self.seq_len = seq_len

    def info(self) -> dict[str, Any]:
        return {"characters": self.vocabulary.characters, "seq_len": self.seq_len}

    @classmethod
    def from_info(cls, info: dict[str, Any]) -> TextModality:
        characters, seq_len = info.get("characters"), info.get("seq_len")
        if not (isinstance(characters, str) and len(characters) + RESERVED <= MAX_VOCABULARY
                and type(seq_len) is int and 1 <= seq_len <= MAX_SEQ_LEN):
            raise GankitError("meta.json records text without a valid vocabulary (characters) or seq_len")
        return cls(characters, seq_len)

    def check_resume(self, saved: Any, data: str, run: Path) -> None:
        """G's outputs are the run's characters, one each: a text in other characters cannot continue it."""
        characters = self.vocabulary.characters
        if isinstance(saved, dict) and saved.get("characters") != characters:
            raise GankitError(f"{data} has changed since {run} started: its characters are not the "
                              f"{len(saved.get('characters') or '')} the run was trained on (now {len(characters)}); "
                              "resume with the text it trained on, or start a new run")

    def preview_lines(self, preview: Path) -> Path | None:
        return preview.with_suffix(".txt")

    def describe(self, shape: tuple[int, ...] | list[int]) -> str:
        return f"text (up to {self.seq_len} characters from a vocabulary of {len(self.vocabulary.characters)})"

    def sample_notes(self, samples: torch.Tensor) -> list[str]:
        empty = sum(not line for line in self.lines(samples))
        if not empty:
            return []
        # an empty line in a file of samples looks like nothing was written
        return [f"{empty} of the {len(samples)} samples are empty (G ended them at their first character); a run "
                "trained longer writes fewer"]

    def to_model(self, raw: torch.Tensor) -> torch.Tensor:
        return one_hot(raw, len(self.vocabulary))

    def from_model(self, x: torch.Tensor) -> torch.Tensor:
        """The likeliest id at each position, never UNKNOWN: G may put mass on the id no training character has
        (textgan's softmax does), and a sample is written in the training text's characters."""
        return x.index_fill(1, torch.tensor([UNKNOWN], device=x.device), float("-inf")).argmax(dim=1)

    def model_shape(self, stored_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (len(self.vocabulary), *stored_shape)

    def lines(self, samples: torch.Tensor) -> list[str]:
        return self.vocabulary.decode(samples)

    demo_shows = ("lines",)

    def demo_parts(self, samples: torch.Tensor, nrow: int | None = None) -> dict[str, Any]:
        return {"lines": self.lines(samples)}

    def picture(self, samples: torch.Tensor, nrow: int | None = None) -> np.ndarray:
        return draw_lines(self.lines(samples[:PICTURE_LINES]), self.seq_len)

    def preview(self, samples: torch.Tensor, path: str | Path, nrow: int | None = None) -> Path:
        """path (a .png): the first lines drawn; beside it a .txt of the same name with every line."""
        path = Path(path)
        write_lines(self.lines(samples), path.with_suffix(".txt"))
        with atomic_path(path) as tmp:
            Image.fromarray(self.picture(samples)).save(tmp, format="PNG")
        return path

    def classifier_view(self, samples: torch.Tensor) -> torch.Tensor:
        raise GankitError("text is scored by character n-gram statistics, not by a classifier's features")

    def thumbnails(self, samples: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.picture(samples)).permute(2, 0, 1)[None]

    def write_samples(self, samples: torch.Tensor, out: Path, nrow: int | None = None) -> str:
        if out.suffix.lower() != ".txt":
            raise GankitError(f"--out {out} must end in .txt (text makes one line per sample)")
        write_lines(self.lines(samples), out)
        return f"{out} ({len(samples)} lines)"

    def as_array(self, samples: torch.Tensor) -> np.ndarray:
        """int64 (N, L) ids; the vocabulary is in the run's checkpoint (meta.json)."""
        return np.ascontiguousarray(samples.numpy(), dtype=np.int64)

    def spread(self, x: torch.Tensor) -> float:
        """Mean share of positions at which two samples differ (their most likely characters)."""
        ids = x.argmax(dim=1).float()
        return float(torch.cdist(ids, ids, p=0).sum() / max(1, len(ids) * (len(ids) - 1)) / ids.shape[1])

    def decoding(self) -> dict[str, str]:
        return {"output": "float32 (N, V, L): at each of L positions, scores over V character ids",
                "data": f"N strings: ids = argmax over V leaving out id {UNKNOWN} (a character the training text "
                        f"lacked); an item ends at its first id {PAD} (padding), id k >= {RESERVED} is "
                        f"modality.characters[k - {RESERVED}]",
                "numpy": f"table = ['\\0', '\\ufffd', *info['modality']['characters']]; x[:, {UNKNOWN}] = -np.inf; "
                         "lines = [''.join(table[i] for i in row).split('\\0')[0] for row in x.argmax(axis=1)]"}

    def default_extractor(self, sample_shape: tuple[int, ...]) -> str:
        return "ngram"


def write_lines(lines: list[str], path: str | Path) -> Path:
    """One item per line, UTF-8; line breaks inside an item (possible in a user's vocabulary) become spaces."""
    text = "".join(line.replace("\n", " ").replace("\r", " ") + "\n" for line in lines)
    return write_atomically(path, text)


MODALITIES.add("text", TextModality)
