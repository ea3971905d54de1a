"""Reader for CIFAR-10's python version (`cifar-10-python.tar.gz` or its extracted folder).

The batches are pickles. They are read with an unpickler that only builds plain containers and
numpy arrays, so a tampered file cannot run code.
"""

from __future__ import annotations

import io
import pickle
import tarfile
from pathlib import Path

import numpy as np

from gankit.errors import GankitError, one_line

TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCHES = ("test_batch",)
FOLDER = "cifar-10-batches-py"

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),  # how protocol-2 pickles written by Python 3 store bytes
}


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _load_batch(data: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        batch = _ArraysOnly(io.BytesIO(data), encoding="bytes").load()
        images = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
        if images.ndim != 2 or images.shape[1] != 3 * 32 * 32 or len(labels) != len(images):
            raise ValueError("unexpected shapes")
    except Exception as exc:  # any failure means the file is not a CIFAR-10 batch
        raise GankitError(f"{where}: not a valid CIFAR-10 batch ({one_line(exc)}); delete it and fetch it again") from None
    return images.reshape(-1, 3, 32, 32), labels


def read_cifar10(path: str | Path, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Read CIFAR-10 images and labels.

    Args:
        path: the tarball, or a folder holding `cifar-10-batches-py/` (or the batch files themselves).
        split: "train" (50,000 images) or "test" (10,000).
    Returns:
        images uint8 (N, 3, 32, 32) and labels int64 (N,).
    """
    path = Path(path)
    names = TRAIN_BATCHES if split == "train" else TEST_BATCHES
    parts = []
    if path.is_dir():
        folder = path / FOLDER if (path / FOLDER).is_dir() else path
        for name in names:
            file = folder / name
            if not file.is_file():
                raise GankitError(f"{folder}: missing CIFAR-10 batch {name}")
            parts.append(_load_batch(file.read_bytes(), str(file)))
    else:
        try:
            with tarfile.open(path, "r:*") as tar:
                members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
                for name in names:
                    if name not in members:
                        raise GankitError(f"{path}: archive has no {FOLDER}/{name}; delete it and fetch it again")
                    parts.append(_load_batch(tar.extractfile(members[name]).read(), f"{path}:{name}"))
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise GankitError(f"{path}: truncated or corrupt archive ({one_line(exc)}); delete it and fetch it again") from None
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    return images, labels
