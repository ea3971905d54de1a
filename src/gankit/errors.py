"""The one error type: a problem the user can fix, whose message says how (see gankit.GankitError)."""

from gankit import GankitError

__all__ = ["GankitError", "one_line"]


def one_line(exc: BaseException, limit: int = 300) -> str:
    """A library's exception text as one short line, to quote inside a GankitError (pickle, safetensors and
    zlib messages can span lines, and an error message is one line)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
