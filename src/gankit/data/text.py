"""Readers for text: a UTF-8 file with one item per line, the `words` list (Debian's wamerican) and the lines of the
Tang poems (Debian's fortunes-zh).

Items are whole: a line longer than the sequence length is skipped, not cut (a cut word is no word), and
counted, as are lines that are not UTF-8 and empty lines. One item in ten is held out for scoring, by a hash
of the item, and never trained on. The vocabulary is the training items' characters.
"""

from __future__ import annotations

import codecs
import re
import warnings
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from gankit.config import MAX_SEQ_LEN
from gankit.errors import GankitError
from gankit.modalities.text import TextModality

EXTENSIONS = TextModality.file_extensions
# a text file larger than this is not a list of short items
MAX_BYTES = 256 * 1024 * 1024
WORD = re.compile(r"[a-z]+")
# fortunes-zh colours each poem's title and author for a terminal
ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")
POEM_PUNCTUATION = re.compile(r"[，。？！；、：\s]+")
# a line of a Tang poem: five or seven Chinese characters (a preface in prose splits into other lengths)
POEM_LINE = re.compile(r"[\u4e00-\u9fff]{5}(?:[\u4e00-\u9fff]{2})?")
# one item in ten is held out for scoring, chosen by a hash of the item: the same split whatever the file's
# order, and copies of an item always on the same side (a held-out item the model trained on would score as new)
HELDOUT_EVERY = 10
# a text file's items, when --seq-len does not say, are as long as this share of its lines, at most SEQ_CAP
# characters (the text models' time and memory grow with it)
COVERED = 0.99
SEQ_CAP = 64


@dataclass(frozen=True)
class TextSurvey:
    """How long a text file's lines are, and the item length that keeps nearly all of them."""

    lines: int  # not empty, UTF-8
    seq_len: int
    longest: int
    lengths: tuple[tuple[int, int], ...]  # (characters, lines that long)

    def kept(self, seq_len: int) -> int:
        return sum(n for length, n in self.lengths if length <= seq_len)

    def line(self, path: str, seq_len: int) -> str:
        """What the survey saw and the item length the run takes (`seq_len`: the config's)."""
        kept = self.kept(seq_len)
        longer = "" if kept == self.lines else f" ({self.longest} for the rest: --seq-len {self.longest} keeps them)"
        return (f"{path}: {kept:,} of its {self.lines:,} lines have at most {seq_len} characters: items of up to "
                f"{seq_len}{longer}")


@lru_cache(maxsize=4)
def survey_text(path: str) -> TextSurvey | None:
    """The lengths of a text file's lines (empty and non-UTF-8 ones left out); None when it cannot be read or
    holds no line (the reader says why when it is trained on)."""
    try:
        data = text_bytes(Path(path))
    except GankitError:
        return None
    counts: Counter[int] = Counter()
    for line in decoded_lines(data):
        if line is not None and line.strip():
            counts[len(line)] += 1
    if not counts:
        return None
    lines, covered, seq_len = sum(counts.values()), 0, max(counts)
    for length in sorted(counts):
        covered += counts[length]
        if covered >= COVERED * lines:
            seq_len = length
            break
    return TextSurvey(lines=lines, seq_len=min(seq_len, SEQ_CAP), longest=max(counts),
                      lengths=tuple(sorted(counts.items())))


# byte order marks, and the encodings they announce
BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def text_bytes(path: Path) -> bytes:
    """A text file's bytes as UTF-8: a file that starts with a byte order mark is decoded by it (UTF-16 from a
    Windows editor would otherwise train on NUL-separated letters); NUL bytes without one are refused."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise GankitError(f"{path} is {size / 2**20:.0f} MiB; a text to train on is at most "
                              f"{MAX_BYTES // 2**20} MiB of short lines")
        data = path.read_bytes()
    except OSError as exc:
        raise GankitError(f"cannot read {path} ({exc.strerror or exc})") from None
    for mark, encoding in BOMS:
        if data.startswith(mark):
            try:
                return data.decode(encoding).encode("utf-8")
            except UnicodeError:
                raise GankitError(f"{path} starts with a {encoding.upper()} byte order mark and is not {encoding.upper()} "
                                  "text; save it as UTF-8") from None
    if b"\x00" in data:
        raise GankitError(f"{path} holds NUL bytes: UTF-16 without a byte order mark, or not text; save it as UTF-8, "
                          "one item per line")
    return data


def decoded_lines(data: bytes) -> Iterator[str | None]:
    """Each line of UTF-8 text without its line ending (\\n, \\r\\n, or an old Mac's \\r), or None for a line that is
    not UTF-8 (the end of the last line starts no line)."""
    for raw in data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").removesuffix(b"\n").split(b"\n"):
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            yield None


def read_lines(path: str | Path, seq_len: int, quiet: bool = False) -> list[str]:
    """The items of a UTF-8 text file, one per line; lines that are empty, not UTF-8 or longer than seq_len are
    skipped (with a warning that counts each, unless quiet). None left is an error that says what to change."""
    path = Path(path)
    data = text_bytes(path)
    items, skipped = [], {"not UTF-8": 0, f"longer than {seq_len} characters": 0}
    empty = longest = 0
    for line in decoded_lines(data):
        if line is None:
            skipped["not UTF-8"] += 1
        elif not line.strip():
            empty += 1
        elif len(line) > seq_len:
            skipped[f"longer than {seq_len} characters"] += 1
            longest = max(longest, len(line))
        else:
            items.append(line)
    if not items:
        reasons = ", ".join([f"{n} {why}" for why, n in skipped.items() if n]
                            + ([f"{empty} blank line{'s' if empty > 1 else ''}"] if empty and data else [])) or "it is empty"
        hint = f"; raise --seq-len (now {seq_len})" if skipped[f"longer than {seq_len} characters"] else ""
        raise GankitError(f"{path} has no line to train on ({reasons}){hint}")
    for why, n in skipped.items():
        if n and not quiet:
            keeps = f" (--seq-len {longest} keeps them)" if why.startswith("longer") and longest <= MAX_SEQ_LEN else ""
            warnings.warn(f"skipped {n:,} of the {len(items) + sum(skipped.values()):,} lines of {path}: {why}{keeps}",
                          stacklevel=2)
    return items


def split_words(path: str | Path, seq_len: int) -> dict[str, list[str]]:
    """The `words` dataset: the list's words lower-cased, only those of the letters a-z (no possessives, no
    accents), each once, split into train and test by a hash of the word."""
    # the list's own long words are left out as its capitalised ones are: by the dataset's definition, unsaid
    words = sorted({w.lower() for w in read_text(path, seq_len, quiet=True) if WORD.fullmatch(w.lower())})
    if not words:
        raise GankitError(f"{path} holds no words of the letters a-z; is it a word list?")
    return split_by_hash(words)


def split_poems(path: str | Path) -> dict[str, list[str]]:
    """The `tang-poems` dataset: the lines of five or seven characters of the 300 Tang poems in Debian's
    fortunes-zh (file tang300), split at punctuation, titles and authors dropped, and whole poems held out (by a
    hash of the poem) so no held-out line is half of a couplet that was trained on."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GankitError(f"cannot read the Tang poems in {path} ({exc})") from None
    poems = [poem for poem in ANSI_COLOUR.sub("", text).split("\n%\n") if poem.strip()]
    split: dict[str, list[str]] = {"train": [], "test": []}
    for poem in poems:
        body = [line for line in poem.strip().splitlines() if not line.startswith(("《", "作者"))]
        lines = [phrase for line in body for phrase in POEM_PUNCTUATION.split(line) if POEM_LINE.fullmatch(phrase)]
        held = zlib.crc32("".join(body).encode("utf-8")) % HELDOUT_EVERY == 0
        split["test" if held else "train"].extend(lines)
    if not split["train"] or not split["test"]:
        raise GankitError(f"{path} holds no Tang poems of five- or seven-character lines; is it fortunes-zh's tang300?")
    return split


def split_by_hash(items: list[str]) -> dict[str, list[str]]:
    """{"train": ..., "test": ...}: an item is held out (test) when the CRC-32 of its UTF-8 is a multiple of 10."""
    held = [zlib.crc32(item.encode("utf-8")) % HELDOUT_EVERY == 0 for item in items]
    return {"train": [i for i, h in zip(items, held) if not h], "test": [i for i, h in zip(items, held) if h]}


def read_text(path: str | Path, seq_len: int, quiet: bool = False) -> list[str]:
    """read_lines, once per file version: the vocabulary, the shape and the data all come from it, and what was
    skipped is said once."""
    path = Path(path)
    try:
        stat = path.stat()
    except OSError as exc:
        raise GankitError(f"cannot read {path} ({exc.strerror or exc})") from None
    return list(_read_once(str(path.resolve()), seq_len, stat.st_mtime_ns, stat.st_size, quiet))


@lru_cache(maxsize=8)
def _read_once(path: str, seq_len: int, mtime_ns: int, size: int, quiet: bool) -> tuple[str, ...]:
    return tuple(read_lines(path, seq_len, quiet))
