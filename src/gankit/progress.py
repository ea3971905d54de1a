"""Progress of the slow phases outside training's own bar: reading a folder, measuring spectrograms, extracting
features, decoding clips. Shown on a terminal only (tqdm's disable=None), cleared when the phase ends, and silenced
for the whole command by --no-progress (`show_progress(False)`), so that nothing takes more than a few seconds
without a word and a log file gets no bar."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")

_enabled = True


def show_progress(enabled: bool) -> None:
    """The command's --no-progress: off for every phase of this process."""
    global _enabled
    _enabled = enabled


def phase(items: Iterable[T], what: str, total: int | None = None, unit: str = "it") -> Iterator[T]:
    """`items`, with a bar saying `what` is being done and how far it is (on a terminal, unless silenced); `total`
    for items without a length (a pool's map)."""
    with tqdm(items, desc=what, total=total, unit=unit, leave=False, disable=None if _enabled else True) as bar:
        yield from bar


@contextmanager
def parts(what: str, total: int) -> Iterator[tqdm]:
    """A bar over a job of `total` parts of unequal length (a report's sections): `.update()` after each."""
    with tqdm(total=total, desc=what, unit="part", leave=False, disable=None if _enabled else True) as bar:
        yield bar
