"""Where a named dataset's files come from: local folders first, then a verified download.

Search order for a dataset's files: `--data-dir`; `~/.cache/gankit/datasets/<name>`; the system
dataset folders (`/usr/share/datasets/<name>`, where Debian's dataset packages install); else a
download from the official source (or a mirror) into the cache, checked against SHA-256 and
written atomically (`.part`, then rename).
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from gankit.cache import cache_dir
from gankit.errors import GankitError

if TYPE_CHECKING:
    from gankit.data.sources import NamedDataset

DOWNLOAD_URL_ENV = "GANKIT_DOWNLOAD_URL"
SYSTEM_DIRS_ENV = "GANKIT_SYSTEM_DATASETS"


def system_dirs() -> list[Path]:
    value = os.environ.get(SYSTEM_DIRS_ENV)
    if value is not None:
        return [Path(p) for p in value.split(os.pathsep) if p]
    return [Path("/usr/share/datasets")]


def _present(folder: Path, filename: str) -> Path | None:
    """The file in `folder`, compressed or not (CIFAR also as its extracted folder)."""
    candidates = [folder / filename]
    if filename.endswith(".gz"):
        candidates.append(folder / filename[: -len(".gz")])
    if filename == "cifar-10-python.tar.gz":
        candidates.append(folder / "cifar-10-batches-py")
    return next((c for c in candidates if c.exists()), None)


def find_local(spec: NamedDataset, split: str = "train", data_dir: str | None = None) -> dict[str, Path] | None:
    """The files of a named dataset's split from the first folder that has them all, or None.

    With `data_dir`, only that folder counts, and missing files are an error.
    """
    name, wanted = spec.name, spec.files[split]
    if data_dir is not None:
        folder = Path(data_dir)
        found = {f: _present(folder, f) for f in wanted}
        missing = [f for f, p in found.items() if p is None]
        if missing:
            raise GankitError(f"--data-dir {folder} lacks {', '.join(missing)} for {name}; "
                              "put the files there or drop --data-dir")
        return found  # type: ignore[return-value]
    package_dir = [Path(spec.system_dir)] if spec.system_dir and SYSTEM_DIRS_ENV not in os.environ else []
    for folder in [cache_dir() / "datasets" / name] + [d / name for d in system_dirs()] + package_dir:
        found = {f: _present(folder, f) for f in wanted}
        if all(found.values()):
            return found  # type: ignore[return-value]
    return None


def locate(spec: NamedDataset, split: str = "train", data_dir: str | None = None,
           download_url: str | None = None) -> dict[str, Path]:
    """Find the files of a named dataset's split locally, else download them into the cache.

    Returns:
        filename -> path of the file as found (maybe uncompressed).
    """
    local = find_local(spec, split, data_dir)
    if local is not None:
        return local
    name = spec.name
    if spec.made_by:
        raise GankitError(f"{name} is not on this machine yet: make it with `{spec.made_by}` (into "
                          f"{cache_dir() / 'datasets' / name}), or pass --data-dir DIR where it was made")
    if not spec.base_url:
        raise GankitError(f"{name} is not on this machine: install Debian's {spec.system_package} (`apt install "
                          f"{spec.system_package}`, into {spec.system_dir}), or pass --data-dir DIR holding "
                          f"{', '.join(spec.files[split])}")
    target = cache_dir() / "datasets" / name
    base = download_url or os.environ.get(DOWNLOAD_URL_ENV) or spec.base_url
    result = {}
    for filename in spec.files[split]:
        existing = _present(target, filename)
        result[filename] = existing or download(_join(base, filename), target / filename, spec.sha256[filename], spec)
    return result


def _join(base: str, filename: str) -> str:
    return base.rstrip("/") + "/" + filename


def download(url: str, dest: Path, sha256: str, spec: NamedDataset | None = None) -> Path:
    """Download `url` to `dest` with a progress bar, verify its SHA-256, then rename into place.

    A failed or mismatching download leaves nothing at `dest`.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=30) as response, open(part, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=f"downloading {dest.name}", leave=False) as bar:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        part.unlink(missing_ok=True)
        reason = getattr(exc, "reason", None) or exc
        raise GankitError(_offline_message(url, reason, spec)) from None
    got = digest.hexdigest()
    if got != sha256:
        part.unlink(missing_ok=True)
        raise GankitError(f"{dest.name} from {url} failed its checksum (SHA-256 {got}, expected {sha256}); "
                          "the download is corrupt or the mirror serves another file, nothing was kept")
    os.replace(part, dest)
    return dest


def _offline_message(url: str, reason: object, spec: NamedDataset | None) -> str:
    if spec is None:
        return f"cannot download {url} ({reason})"
    files = ", ".join(sorted(set(f for fs in spec.files.values() for f in fs)))
    system = f"`apt install {spec.system_package}` (into /usr/share/datasets/{spec.name}), or " if spec.system_package else ""
    return (f"cannot download {spec.name} from {url} ({reason}); get the data one of three ways: "
            f"pass --data-dir DIR holding {files}; copy them into {cache_dir() / 'datasets' / spec.name}; "
            f"or {system}retry online, setting {DOWNLOAD_URL_ENV} to a mirror if the official host is blocked")
