"""Run folders: `runs/<name>/` with config.toml, metrics.jsonl, samples/, checkpoints/.

A run folder is created exclusively: an existing one is never overwritten.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: runs are not claimed there
    fcntl = None

from gankit.atomic import write_atomically
from gankit.bundle import MODEL_JSON, is_bundle
from gankit.config import Config, to_toml
from gankit.errors import GankitError
from gankit.modalities import is_data_file
from gankit.resolve import load_saved_config

CONFIG_FILE = "config.toml"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def default_name(out: Path, config: Config) -> str:
    """The next free number, with the model and data for a readable listing: 0003-classic-fashion-mnist (a text
    file by its stem: 0004-charlm-phrases)."""
    numbers = [int(p.name[:4]) for p in out.glob("[0-9][0-9][0-9][0-9]-*")] if out.is_dir() else []
    source = Path(config.data.name)
    shown = source.stem if is_data_file(source) else source.name
    data = re.sub(r"[^A-Za-z0-9._-]+", "-", shown).strip("-") or "data"
    return f"{max(numbers, default=0) + 1:04d}-{config.model.name}-{data}"


def create_run(out: str | Path, name: str | None, config: Config) -> Path:
    """Create a new run folder and write its resolved config before step 0."""
    out = Path(out)
    if name is not None and not _NAME.fullmatch(name):  # match() would let "x\n" through ($ matches before \n)
        raise GankitError(f"--name {name!r} must use letters, digits, '.', '_' and '-' (no slashes)")
    for _ in range(100):
        run = out / (name or default_name(out, config))
        try:
            out.mkdir(parents=True, exist_ok=True)
            run.mkdir()
            break
        except FileExistsError:
            if name is not None:
                raise GankitError(f"run folder {run} already exists; continue it with `gankit train --resume {run}` "
                                  "or pick another --name") from None
        except OSError as exc:
            raise GankitError(f"cannot create run folder {run}: {exc.strerror}") from None
    else:  # pragma: no cover - 100 concurrent creators
        raise GankitError(f"cannot find a free run name in {out}")
    try:
        (run / "samples").mkdir()
        (run / "checkpoints").mkdir()
        write_atomically(run / CONFIG_FILE, to_toml(config))
    except BaseException as exc:  # a full disk, or a stop (Ctrl-C): no half-made folder may block the name
        shutil.rmtree(run, ignore_errors=True)
        if not isinstance(exc, (OSError, GankitError)):
            raise
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise GankitError(f"cannot create run folder {run}: {reason}") from None
    return run


def run_or_bundle(path: str | Path) -> Path | None:
    """The run folder at `path`, or None where `path` is a bundle (gankit export); neither is an error."""
    if is_bundle(path):
        return None
    if not (Path(path) / CONFIG_FILE).is_file():
        raise GankitError(f"{path} is neither a gankit run folder (no {CONFIG_FILE}) nor an exported bundle (no "
                          f"{MODEL_JSON}); runs live in ./runs by default")
    return Path(path)


class RunClaim:
    """One trainer's hold on a run folder: a second trainer of the same run (`gankit train --resume` in another
    terminal) is refused, where both would have written the same checkpoints and log. An advisory lock on the
    folder, which the kernel lets go when the process ends, however it ends."""

    # a class default: a stop request (SIGTERM) can interrupt __init__ before its first line, and __del__ runs then
    fd: int | None = None

    def __init__(self, run: Path):
        if fcntl is None:
            return
        try:
            fd = os.open(run, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return  # the folder's own problem, which writing into it reports
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise GankitError(f"{run} is being trained by another gankit process; wait for it to finish, or stop "
                              "it (Ctrl-C or SIGTERM: it checkpoints), then resume") from None
        except OSError:  # a file system without locks (some network ones): trained unclaimed, as before
            os.close(fd)
            return
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the folder lets go of the lock
            self.fd = None

    __del__ = release


def open_run(path: str | Path) -> tuple[Path, Config]:
    """An existing run folder and its config."""
    run = Path(path)
    if not (run / CONFIG_FILE).is_file():
        raise GankitError(f"{run} is not a gankit run folder (no {CONFIG_FILE}); runs live in ./runs by default")
    return run, load_saved_config(run / CONFIG_FILE)


def read_run_file(path: Path, run: Path, limit: int) -> bytes | None:
    """The bytes of a regular file inside the run folder, if it holds at most `limit` of them; None for a link, a
    device or pipe, a file outside the run, or a larger one. A run folder is input like any other: the report
    embeds what it reads, and a link to another file or to an endless device must not come along."""
    try:
        if path.is_symlink() or not path.is_file() or not path.resolve().is_relative_to(run.resolve()):
            return None
        with open(path, "rb") as file:
            data = file.read(limit + 1)
    except OSError:
        return None
    return data if len(data) <= limit else None
