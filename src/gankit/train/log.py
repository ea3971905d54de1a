"""metrics.jsonl while training: one row per G step, written in blocks, with watchers fed every row written."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import torch

from gankit.atomic import write_atomically
from gankit.errors import GankitError
from gankit.runlog import read_metrics, row_kind
from gankit.train.distributed import SINGLE, Replicas

# stats are moved to the host in blocks of this many steps, so a GPU is not synced every step
LOG_BLOCK = 25


class Diverged(Exception):
    """A loss, a weight or the diagnosis says training has diverged; the Trainer decides what follows."""

    def __init__(self, step: int, reason: str):
        super().__init__(f"step {step}: {reason}")
        self.step, self.reason = step, reason


class MetricsLog:
    """Appends one JSON line per step to metrics.jsonl; stats stay on the device until a block is full."""

    def __init__(self, path: Path, resume_step: int, replicas: Replicas = SINGLE):
        self.path = path
        # several processes log the same (averaged) rows; only the main one writes them
        self.replicas = replicas
        kept = self._truncate_after(resume_step) if replicas.is_main else None
        self._history = replicas.from_main(kept)
        self.pending: list[tuple[dict, dict]] = []
        # notes made while steps were pending, written after them: the file stays in step order
        self.held: list[str] = []
        self.last: dict = {}
        # each is called with every batch of rows written (per-step rows, evaluations, diversity checks)
        self.watchers: list[Callable[[list[dict]], None]] = []

    def rows(self) -> list[dict]:
        """Everything written before this process started (a resumed run's history)."""
        return self._history

    def _truncate_after(self, step: int) -> list[dict]:
        """Drop what a run logged after `step` (steps it will redo, a torn line); returns the rows kept."""
        if not self.path.exists():
            return []
        # rollback notes stay: they record what happened, not a step that will be redone
        kept = [row for row in read_metrics(self.path) if row["step"] <= step or row_kind(row) == "rollback"]
        with self._writing():
            write_atomically(self.path, "".join(json.dumps(row) + "\n" for row in kept))
        return kept

    @contextmanager
    def _writing(self):
        """A failed write (a full disk) stops training the way a checkpoint that does not fit does."""
        try:
            yield
        except OSError as exc:
            run = self.path.parent
            raise GankitError(f"could not write {self.path} ({exc.strerror or exc}); the checkpoints are intact: "
                              f"free some space and resume with gankit train --resume {run}") from None

    def _append(self, text: str) -> None:
        with self._writing(), self.path.open("a") as f:
            f.write(text)

    def rewind(self, step: int) -> None:
        """Forget everything after `step` (a rollback to a checkpoint of that step)."""
        self.pending.clear()
        self.held.clear()
        if self.replicas.is_main:
            self._truncate_after(step)

    def record(self, where: dict, stats: dict) -> None:
        self.pending.append((where, stats))
        if len(self.pending) >= LOG_BLOCK:
            self.flush()

    def write_row(self, kind: str, row: dict) -> None:
        """A row outside the per-step stream (e.g. an evaluation), after the pending steps."""
        self.flush()
        row = {"kind": kind, **row}
        self.note(kind, row)
        for watch in self.watchers:
            watch([row])

    def note(self, kind: str, row: dict) -> None:
        """Append a row that nothing watches (e.g. a diagnosis), after the steps still pending if any."""
        if not self.replicas.is_main:
            return
        line = json.dumps({"kind": kind, **row}) + "\n"
        if self.pending:
            self.held.append(line)
        else:
            self._append(line)

    def flush(self) -> None:
        if not self.pending:
            return
        keys = list(self.pending[0][1])
        values = torch.stack([torch.stack([s[k].float() for k in keys]) for _, s in self.pending])
        values = self.replicas.mean(values).tolist()
        entries = []
        for (where, _), row in zip(self.pending, values):
            entry = {"kind": "step", **where, **{k: round(v, 6) if math.isfinite(v) else v for k, v in zip(keys, row)}}
            bad = [k for k in keys if not math.isfinite(entry[k])]
            if bad:
                self.pending.clear()
                raise Diverged(entry["step"], f"non-finite {', '.join(bad)}")
            entries.append(entry)
            self.last = entry
        if self.replicas.is_main:
            self._append("".join(json.dumps(e) + "\n" for e in entries) + "".join(self.held))
        self.pending.clear()
        self.held.clear()
        for watch in self.watchers:
            watch(entries)
