"""A run's metrics.jsonl, read: one JSON object per line, each with a `step` and a `kind` (ROW_KINDS).

`row_kind` reads the kind, and guesses it from the keys of logs written before rows carried one.
"""

from __future__ import annotations

import json
from pathlib import Path

METRICS_FILE = "metrics.jsonl"

# step: one G step's losses and signals; eval: scores during training; diversity: the collapse probe;
# diagnosis: a finding of the training diagnosis; rollback: --on-nan rollback went back to a checkpoint
ROW_KINDS = ("step", "eval", "diversity", "diagnosis", "rollback")


def read_metrics(path: Path) -> list[dict]:
    """The rows of a metrics.jsonl; a line cut short by a killed process is skipped."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and isinstance(row.get("step"), int):
            rows.append(row)
    return rows


def row_kind(row: dict) -> str | None:
    """The row's kind (one of ROW_KINDS), or None for a row gankit does not know."""
    kind = row.get("kind")
    if kind in ROW_KINDS:
        return kind
    # logs written before rows carried their kind
    for key, guessed in (("rollback", "rollback"), ("diagnosis", "diagnosis"), ("diversity", "diversity"),
                         ("d_loss", "step"), ("fid", "eval"), ("eval_n", "eval")):
        if key in row:
            return guessed
    return None


def rows_of(rows: list[dict], kind: str) -> list[dict]:
    return [row for row in rows if row_kind(row) == kind]
