"""Named conditions: what a conditional G is asked for besides z (a class; a pitch beside an instrument family).

A sample's conditions are a tuple of named, discrete conditions, each a list of value names. Their labels travel
as one int64 tensor (B, k), a column per condition holding the index of its value (StyleGAN2-ADA's label vector is
the model: one tensor, whatever it holds); each conditional family embeds it as it sees fit (gankit.models.spec.label_code).
Fakes' labels are rows of the data's own label rows, drawn by `draw`: in the data's joint proportions, in training,
G_ema's statistics, evaluation and sampling alike. A checkpoint written before conditions had names holds one,
`class`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from gankit.errors import GankitError

CLASS = "class"
# bounds on what a checkpoint's meta.json may declare (a damaged or hostile file is refused, not built)
MAX_CONDITIONS = 8
MAX_VALUES = 100_000


@dataclass(frozen=True)
class Condition:
    """One condition: its name (`class`, `pitch`) and the names of its values; a label is an index into them."""

    name: str
    values: tuple[str, ...]

    def index(self, asked: str | int) -> int:
        """A value given by name or by index ("brass", "60", 3), checked against the values the model knows."""
        text = str(asked)
        if isinstance(asked, str) and text in self.values:  # a name first: of folders 2, 3, 4, "2" is 2's
            return self.values.index(text)
        if text.isdigit() and int(text) < len(self.values) and not isinstance(asked, bool):
            return int(text)
        shown = ", ".join(self.values[:20]) + (f", ... ({len(self.values)} in all)" if len(self.values) > 20 else "")
        raise GankitError(f"{self.name} {asked!r} is not one of 0..{len(self.values) - 1} or {shown}")


Conditions = tuple[Condition, ...]


def from_classes(classes: tuple[str, ...] | list[str]) -> Conditions:
    """One `class` condition over these names (none when there are none)."""
    return (Condition(CLASS, tuple(classes)),) if classes else ()


def sizes(conditions: Conditions) -> tuple[int, ...]:
    """How many values each condition has: all a family needs to build its embeddings."""
    return tuple(len(c.values) for c in conditions)


def column(conditions: Conditions, name: str) -> int | None:
    """The label column of the condition called `name` (None: the model has no such condition)."""
    return next((i for i, c in enumerate(conditions) if c.name == name), None)


def class_ids(conditions: Conditions, rows: torch.Tensor | None) -> torch.Tensor | None:
    """The `class` column of label rows (B, k): the classes asked for, which class-aware scores compare with."""
    where = column(conditions, CLASS)
    return None if rows is None or where is None else rows[:, where]


def to_meta(conditions: Conditions) -> list[dict[str, Any]]:
    return [{"name": c.name, "values": list(c.values)} for c in conditions]


def from_meta(raw: Any, where: str) -> Conditions:
    """Read back to_meta's list, refusing what a damaged or hostile meta.json could hold."""
    problem = f"checkpoint {where}: meta.json's conditions are invalid"
    if not isinstance(raw, list) or len(raw) > MAX_CONDITIONS:
        raise GankitError(f"{problem} (a list of at most {MAX_CONDITIONS} is expected)")
    conditions = []
    for item in raw:
        if not (isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(item.get("values"), list)
                and 2 <= len(item["values"]) <= MAX_VALUES and all(isinstance(v, str) for v in item["values"])):
            raise GankitError(f"{problem} (each a name and 2..{MAX_VALUES:,} value names)")
        conditions.append(Condition(item["name"], tuple(item["values"])))
    if len({c.name for c in conditions}) < len(conditions):
        raise GankitError(f"{problem} (a name given twice)")
    return tuple(conditions)


def draw(rows: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """n label rows drawn from the data's `rows` (B, k) (on their device): the data's joint proportions of its
    conditions, so that G learns each combination as much as it is asked for it and scored on it (StyleGAN2-ADA draws
    fakes' labels from the dataset too)."""
    return rows[torch.randint(len(rows), (n,), device=rows.device, generator=generator)]


def grid(conditions: Conditions, per_value: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Label rows (B, k) for a grid through the first condition's values in turn, each on `per_value` samples.

    A model of more than one condition needs the data's rows to draw the others from: not yet asked of any.
    """
    if len(conditions) != 1:
        raise GankitError(f"a grid of a model with {len(conditions)} conditions is not supported yet")
    return torch.arange(len(conditions[0].values), device=device).repeat_interleave(per_value)[:, None]


def fixed(conditions: Conditions, n: int, asked: dict[str, str | int], device: torch.device | str = "cpu"
          ) -> torch.Tensor:
    """n label rows asking every condition for the value `asked` names (by name or index); a condition the model
    lacks, or one left out, is one line naming what it knows."""
    unknown = [name for name in asked if column(conditions, name) is None]
    if unknown:
        known = ", ".join(c.name for c in conditions) or "none: it is unconditional"
        raise GankitError(f"this model has no condition {unknown[0]!r}; its conditions: {known}")
    missing = [c.name for c in conditions if c.name not in asked]
    if missing:
        raise GankitError(f"asked for {', '.join(asked)} but not {', '.join(missing)}: give every condition")
    row = torch.tensor([c.index(asked[c.name]) for c in conditions], device=device)
    return row.expand(n, len(conditions)).clone()

