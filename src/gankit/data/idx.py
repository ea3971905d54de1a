"""Reader for the idx format of MNIST and Fashion-MNIST (`.gz` or raw).

Layout: two zero bytes, a type byte (0x08 = unsigned byte), the number of dimensions, then each
dimension as a big-endian uint32, then the values in C order.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from gankit.errors import GankitError

_UBYTE = 0x08


def read_idx(path: str | Path) -> np.ndarray:
    """Read an idx file of unsigned bytes.

    Args:
        path: an `...-ubyte` file, optionally gzip-compressed (detected from its content).
    Returns:
        A uint8 array with the file's dimensions, e.g. (60000, 28, 28) for images.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        reason = "truncated or corrupt gzip data" if not isinstance(exc, FileNotFoundError) else "missing"
        raise GankitError(f"{path}: cannot read idx file ({reason}); delete it and fetch it again") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise GankitError(f"{path}: not an idx file (bad magic number); delete it and fetch it again")
    if raw[2] != _UBYTE:
        raise GankitError(f"{path}: idx value type 0x{raw[2]:02x} is not supported (only unsigned bytes, 0x08)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise GankitError(f"{path}: idx header is truncated; delete the file and fetch it again")
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = math.prod(dims)  # Python ints: a forged header cannot overflow into a plausible size
    if len(raw) - header != expected:
        raise GankitError(
            f"{path}: idx file is truncated or padded: header says {dims} = {expected} bytes, "
            f"found {len(raw) - header}; delete it and fetch it again"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)
