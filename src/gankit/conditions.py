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
from gankit.music import midi_number, note_name

CLASS = "class"
# a condition of this name holds MIDI note numbers: asked for by number or note name, never by index
PITCH = "pitch"
# bounds on what a checkpoint's meta.json may declare (a damaged or hostile file is refused, not built)
MAX_CONDITIONS = 8
MAX_VALUES = 100_000


@dataclass(frozen=True)
class Condition:
    """One condition: its name (`class`, `pitch`) and the names of its values; a label is an index into them."""

    name: str
    values: tuple[str, ...]

    def index(self, asked: str | int) -> int:
        """A value given by name or by index ("brass", 3), checked against the values the model knows; a pitch by
        MIDI number or note name (60, "60", "C4")."""
        if self.name == PITCH:
            return self._pitch_index(asked)
        text = str(asked)
        if isinstance(asked, str) and text in self.values:  # a name first: of folders 2, 3, 4, "2" is 2's
            return self.values.index(text)
        if text.isdigit() and int(text) < len(self.values) and not isinstance(asked, bool):
            return int(text)
        shown = ", ".join(self.values[:20]) + (f", ... ({len(self.values)} in all)" if len(self.values) > 20 else "")
        raise GankitError(f"{self.name} {asked!r} is not one of 0..{len(self.values) - 1} or {shown}")

    @property
    def midi_numbers(self) -> list[int]:
        """A pitch condition's values as MIDI note numbers, in label order."""
        return [int(v) for v in self.values]

    def _pitch_index(self, asked: str | int) -> int:
        midi = midi_number(asked)
        if midi is None:
            raise GankitError(f"pitch {asked!r} is neither a MIDI note number (0..127) nor a note name (C4, F#3, Bb2)")
        if str(midi) not in self.values:
            known = sorted(self.midi_numbers)
            raise GankitError(f"pitch {asked} (MIDI {midi}) is outside the pitches this model was trained on: MIDI "
                              f"{known[0]}..{known[-1]} ({note_name(known[0])}..{note_name(known[-1])})")
        return self.values.index(str(midi))


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


def asked_pitches(conditions: Conditions, rows: torch.Tensor | None) -> torch.Tensor | None:
    """The MIDI pitch each label row (B, k) asks for, int64 (B,) on the rows' device; None without a pitch."""
    where = column(conditions, PITCH)
    if rows is None or where is None:
        return None
    midi = torch.tensor(conditions[where].midi_numbers, device=rows.device)
    return midi[rows[:, where]]


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
        if item["name"] == PITCH and not all(midi_number(v) is not None and v.isdigit() for v in item["values"]):
            raise GankitError(f"{problem} (a pitch's values are MIDI note numbers, 0..127)")
        conditions.append(Condition(item["name"], tuple(item["values"])))
    if len({c.name for c in conditions}) < len(conditions):
        raise GankitError(f"{problem} (a name given twice)")
    return tuple(conditions)


def draw(rows: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """n label rows drawn from the data's `rows` (B, k) (on their device): the data's joint proportions of its
    conditions, so that G learns each combination as much as it is asked for it and scored on it (StyleGAN2-ADA draws
    fakes' labels from the dataset too)."""
    return rows[torch.randint(len(rows), (n,), device=rows.device, generator=generator)]


def complete(partial: torch.Tensor, conditions: Conditions, rows: torch.Tensor | None,
             generator: torch.Generator) -> torch.Tensor:
    """Label rows (n, k) from `partial` ones whose -1 entries are left to the data: each drawn with the rest of a
    data row that agrees with the entries given (the data's joint proportions given them). `rows`: the data's label
    rows (None: every entry must be given)."""
    missing = partial < 0
    if not missing.any():
        return partial
    device, partial = partial.device, partial.cpu()  # a few rows: drawn on the CPU, by a CPU generator
    if rows is None:
        left = ", ".join(c.name for c, gap in zip(conditions, missing.any(0).tolist()) if gap)
        raise GankitError(f"no value given for {left}, and this model records no data to draw it from: give every "
                          "condition")
    out, rows = partial.clone(), rows.cpu()
    for pattern in partial.unique(dim=0):
        given = pattern >= 0
        where = (partial == pattern).all(dim=1)
        agreeing = rows[(rows[:, given] == pattern[given]).all(dim=1)]
        if len(agreeing) == 0:
            asked = ", ".join(f"{c.name} {c.values[v]}" for c, v, g in zip(conditions, pattern.tolist(), given) if g)
            raise GankitError(f"no training sample has {asked}: nothing to draw the other conditions from")
        out[where] = draw(agreeing, int(where.sum()), generator)
    return out.to(device)


def grid(conditions: Conditions, per_value: int, device: torch.device | str = "cpu",
         rows: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """Label rows (B, k) for a grid through the first condition's values in turn, each on `per_value` samples; the
    other conditions, when there are others, drawn from the data's `rows` that have that value, but a pitch, which
    goes up through the value's pitches evenly, lowest first (a row of notes is heard as a scale)."""
    first = torch.arange(len(conditions[0].values), device=device).repeat_interleave(per_value)[:, None]
    if len(conditions) == 1:
        return first
    partial = torch.cat([first, first.new_full((len(first), len(conditions) - 1), -1)], dim=1)
    out = complete(partial, conditions, rows, generator or torch.Generator().manual_seed(0))
    where = column(conditions, PITCH)
    if where is not None and where > 0 and rows is not None:
        rows = rows.to(out.device)
        for value in range(len(conditions[0].values)):
            pitches = rows[rows[:, 0] == value, where].unique()  # sorted: values are in MIDI order
            if len(pitches):
                spaced = torch.linspace(0, len(pitches) - 1, per_value, device=out.device).round().long()
                out[value * per_value : (value + 1) * per_value, where] = pitches[spaced]
    return out


def fixed(conditions: Conditions, n: int, asked: dict[str, str | int], device: torch.device | str = "cpu",
          rows: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """n label rows asking each condition in `asked` for the value it names (by name or index), the others drawn
    from the data's `rows` that agree; a condition the model lacks is one line naming those it has."""
    unknown = [name for name in asked if column(conditions, name) is None]
    if unknown:
        known = ", ".join(c.name for c in conditions) or "none: it is unconditional"
        raise GankitError(f"this model has no condition {unknown[0]!r}; its conditions: {known}")
    row = torch.tensor([c.index(asked[c.name]) if c.name in asked else -1 for c in conditions], device=device)
    return complete(row.expand(n, len(conditions)).clone(), conditions, rows,
                    generator or torch.Generator().manual_seed(0))


def table(rows: torch.Tensor) -> tuple[tuple[tuple[int, ...], int], ...]:
    """The data's label rows (N, k) as (each distinct row, how many samples have it): what a checkpoint keeps of
    them, so that a model of several conditions samples from their joint proportions without its data."""
    unique, counts = rows.cpu().unique(dim=0, return_counts=True)
    return tuple((tuple(row), count) for row, count in zip(unique.tolist(), counts.tolist()))


def table_rows(label_table: tuple[tuple[tuple[int, ...], int], ...]) -> torch.Tensor | None:
    """The label rows (N, k) a table stands for, each row as often as the data had it (None: no table)."""
    if not label_table:
        return None
    unique = torch.tensor([row for row, _ in label_table])
    return unique.repeat_interleave(torch.tensor([count for _, count in label_table]), dim=0)


def table_from_meta(raw: Any, conditions: Conditions, where: str) -> tuple[tuple[tuple[int, ...], int], ...]:
    """Read back a table of label rows, refusing one that does not fit the conditions (a damaged or hostile file)."""
    problem = f"checkpoint {where}: meta.json's label_table is invalid"
    if not isinstance(raw, list) or len(raw) > MAX_VALUES:
        raise GankitError(f"{problem} (a list of at most {MAX_VALUES:,} [row, count] pairs is expected)")
    out, total = [], 0
    for item in raw:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], list)
                and len(item[0]) == len(conditions) and type(item[1]) is int and 1 <= item[1]
                and all(type(v) is int and 0 <= v < len(c.values) for v, c in zip(item[0], conditions))):
            raise GankitError(f"{problem} (each a row of {len(conditions)} value indices and a count)")
        total += item[1]
        out.append((tuple(item[0]), item[1]))
    if total > 10 * MAX_VALUES:
        raise GankitError(f"{problem} (its counts add up to more than {10 * MAX_VALUES:,} samples)")
    return tuple(out)
