"""Atomic file writes: a crash leaves the old file or the new one, never a torn one, and no temp file behind."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gankit.errors import GankitError


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path` to write to; it replaces `path` when the block ends without error.

    The temp name is hidden and carries the process id, so concurrent writers (several training
    processes, two commands) never share one. A failed write raises GankitError and leaves no temp file.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:  # a full disk, a read-only folder: one line, and the old file stays as it was
        raise GankitError(f"could not write {path} ({exc.strerror or exc})") from None
    finally:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass


def write_atomically(path: str | Path, text: str) -> Path:
    """Replace `path` with `text` (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


@contextmanager
def made_in_place(out: Path) -> Iterator[Path]:
    """Yield a sibling folder (`<out>.part`) to make a dataset in; it becomes `out` when the block ends without error
    and is removed when it does not, so a stopped run leaves no half-made dataset. An existing `out` is refused."""
    if out.exists():
        raise GankitError(f"{out} already exists; delete it to make the dataset again")
    building = out.with_name(out.name + ".part")
    shutil.rmtree(building, ignore_errors=True)
    try:
        yield building
        building.rename(out)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
