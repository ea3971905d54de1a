"""A name -> object map filled where each thing is defined (models, losses, ...).

`--help` choices and error messages come from here, so adding an entry is the only step needed to
make it reachable from the command line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from gankit.errors import GankitError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: `@MODELS.register("dcgan")` above the thing to register."""

        def add(obj: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = obj
            return obj

        return add

    def add(self, name: str, obj: T) -> T:
        return self.register(name)(obj)

    def get(self, name: str) -> T:
        if name not in self._entries:
            raise GankitError(f"unknown {self.kind} {name!r}; choose one of: {', '.join(self.names())}")
        return self._entries[name]

    def names(self) -> list[str]:
        return list(self._entries)

    def values(self) -> list[T]:
        """The registered things, in the order they were registered."""
        return list(self._entries.values())

    def __contains__(self, name: str) -> bool:
        return name in self._entries
