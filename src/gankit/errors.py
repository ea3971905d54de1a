"""The one error type: a problem the user can fix, whose message says how (see gankit.GankitError)."""

import json
import os
from pathlib import Path
from typing import Any

from gankit import GankitError

__all__ = ["GankitError", "one_line", "printable", "read_json"]


def one_line(exc: BaseException, limit: int = 300) -> str:
    """A library's exception text as one short line, to quote inside a GankitError (pickle, safetensors and
    zlib messages can span lines, and an error message is one line)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def printable(text: str) -> str:
    """Text for a terminal: control characters (a newline or an escape sequence in a file or class name) written
    as their escapes, so a message stays one line and cannot drive the terminal."""
    return "".join(ch if ch.isprintable() or ch == " " else ascii(ch)[1:-1] for ch in text)


# the largest JSON file gankit writes (a checkpoint's meta.json with the label table of a large labelled set is a few
# MB): a larger one is damaged or not gankit's, and reading it whole took minutes and gigabytes
MAX_JSON_BYTES = 64 * 2**20


def read_json(file: Path, missing: str, unreadable: str, fix: str = "") -> Any:
    """The JSON value in `file`, for gankit's own files coming back: GankitError(`missing`) when the file is not
    there, and "`unreadable` (why)`fix`" when it cannot be read or parsed (damaged, not UTF-8, nested too deep, larger
    than MAX_JSON_BYTES)."""
    try:
        with open(file, "rb") as stream:
            if (size := os.fstat(stream.fileno()).st_size) > MAX_JSON_BYTES:
                raise ValueError(f"{size:,} bytes, more than gankit writes ({MAX_JSON_BYTES:,} at most)")
            return json.loads(stream.read(MAX_JSON_BYTES + 1).decode("utf-8"))
    except FileNotFoundError:
        raise GankitError(missing) from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)[:200]
        raise GankitError(f"{unreadable} ({reason}){fix}") from None
