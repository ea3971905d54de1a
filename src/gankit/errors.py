"""The one error type: a problem the user can fix, whose message says how (see gankit.GankitError)."""

from gankit import GankitError

__all__ = ["GankitError"]
