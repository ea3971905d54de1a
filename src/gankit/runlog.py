"""What a run recorded, read back without trusting it: metrics.jsonl rows and `gankit eval` results.

A run folder may come from anywhere (a colleague, a download, a half-copied disk), so every row and
result is checked for types and ranges here, in the one reader every command uses; what does not
check out is skipped and counted, never passed on.

Each metrics.jsonl row has a `step` and a `kind` (ROW_KINDS); `row_kind` reads the kind, and guesses
it from the keys of logs written before rows carried one.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from gankit.errors import GankitError, read_json

METRICS_FILE = "metrics.jsonl"

# step: one G step's losses and signals; eval: scores during training; diversity: the collapse probe;
# diagnosis: a finding of the training diagnosis; rollback: --on-nan rollback went back to a checkpoint;
# checkpoint_skipped: --resume passed over a damaged checkpoint; fit: one step of a maximum-likelihood baseline
ROW_KINDS = ("step", "eval", "diversity", "diagnosis", "rollback", "checkpoint_skipped", "fit", "preview")
# keys each kind must have besides `step`, and the keys that hold text (every other value is a number)
REQUIRED = {"step": ("d_loss", "g_loss", "d_real", "d_fake"), "eval": (), "diversity": ("diversity",),
            "diagnosis": ("diagnosis", "title", "advice"), "rollback": ("rollback",),
            "checkpoint_skipped": ("checkpoint", "reason"), "fit": ("nll",), "preview": ("samples", "like_first")}
TEXT = {"eval": {"eval_extractor"}, "diagnosis": {"diagnosis", "severity", "title", "advice"},
        "rollback": {"rollback"}, "checkpoint_skipped": {"checkpoint", "reason"}}
COUNTS = {"step", "epoch", "images_seen", "eval_n", "samples", "like_first"}
# beyond this a logged value is not a measurement but damage (and breaks plotting ranges)
LARGEST = 1e15


# a row gankit writes is under 2 KB; a longer line is damage, skipped without being held whole
MAX_ROW_BYTES = 2**16
# rows of each kind `info`, `report` and the end-of-training charts hold at most about twice this many of, evenly
# thinned: a 500 MB log read whole took gigabytes, and a chart shows no more than a few thousand points
KEEP_ROWS = 20_000


class Rows(list):
    """Rows read from a metrics.jsonl; `skipped` counts the lines that did not validate, `counts` the valid rows of
    each kind (read_metrics may keep fewer)."""

    skipped: int = 0

    def __init__(self):
        super().__init__()
        self.counts: Counter[str] = Counter()

    def note(self) -> str:
        """'' or e.g. ' (3 unreadable rows skipped)'."""
        if not self.skipped:
            return ""
        return f" ({self.skipped} unreadable row{'s' if self.skipped > 1 else ''} of metrics.jsonl skipped)"


def _count(value) -> bool:
    return type(value) is int and 0 <= value <= LARGEST


def is_measurement(value, nan_ok: bool = False) -> bool:
    """A logged measurement: a number of a possible size (compared as it is: an integer of 400 digits overflowed
    math.isfinite), or NaN where `nan_ok`."""
    if type(value) is float:
        return -LARGEST <= value <= LARGEST or (nan_ok and value != value)
    return type(value) is int and -LARGEST <= value <= LARGEST


def valid_row(row) -> dict | None:
    """The row with its kind set, or None when any value has the wrong type or an impossible size. Every row of a
    long log passes here (2.5 million in 500 MB)."""
    if not isinstance(row, dict) or not _count(row.get("step")):
        return None
    kind = row_kind(row)
    if kind is None or any(key not in row for key in REQUIRED[kind]):
        return None
    text, nan_ok = TEXT.get(kind, ()), kind == "eval"  # a score can be undefined (NaN); a loss cannot
    for key, value in row.items():
        if key == "kind":
            continue
        if key in COUNTS:
            if not _count(value):
                return None
        elif key in text:
            if not isinstance(value, str) or len(value) > 10_000:
                return None
        elif not is_measurement(value, nan_ok):
            return None
    if kind == "diagnosis" and (not re.fullmatch(r"[a-z_]{1,40}", row["diagnosis"])
                                or row.get("severity", "warning") not in ("warning", "fatal")):
        return None
    return {**row, "kind": kind}


def read_metrics(path: Path, keep: int | None = None) -> Rows:
    """The valid rows of a metrics.jsonl; a line cut short by a killed process, bytes that are not UTF-8,
    and rows with wrong types or sizes are skipped and counted. With `keep`, at most about 2 x keep rows of each
    kind, evenly spread, and always its last; read a line at a time, so memory is bounded whatever the file holds."""
    rows = Rows()
    if not path.is_file():
        return rows
    kept: dict[str, list[tuple[int, dict]]] = {}
    stride: dict[str, int] = {}
    last: dict[str, tuple[int, dict]] = {}
    try:
        with open(path, "rb") as stream:
            for index, raw in enumerate(_lines(stream)):
                if raw is not None and not raw.strip():
                    continue
                row = _parse(raw)
                if row is None:
                    rows.skipped += 1
                    continue
                kind, seen = row["kind"], rows.counts[row["kind"]]
                rows.counts[kind] += 1
                if keep is None:
                    rows.append(row)
                elif seen % stride.setdefault(kind, 1):
                    last[kind] = (index, row)
                else:
                    bucket = kept.setdefault(kind, [])
                    bucket.append((index, row))
                    if len(bucket) >= 2 * keep:  # every other one: those at multiples of twice the stride
                        kept[kind], stride[kind] = bucket[::2], 2 * stride[kind]
    except OSError as exc:
        raise GankitError(f"cannot read {path} ({exc.strerror})") from None
    if keep is not None:
        for kind, (index, row) in last.items():
            if index > kept[kind][-1][0]:
                kept[kind].append((index, row))
        rows.extend(row for _, row in sorted((pair for bucket in kept.values() for pair in bucket), key=lambda p: p[0]))
    return rows


def _lines(stream) -> Iterator[bytes | None]:
    """Each line of a binary stream, or None for one longer than MAX_ROW_BYTES (read past, never held whole)."""
    while line := stream.readline(MAX_ROW_BYTES + 1):
        if len(line) > MAX_ROW_BYTES and not line.endswith(b"\n"):
            while (rest := stream.readline(MAX_ROW_BYTES)) and not rest.endswith(b"\n"):
                pass
            yield None
        else:
            yield line


def _parse(raw: bytes | None) -> dict | None:
    if raw is None:
        return None
    try:
        return valid_row(json.loads(raw.decode("utf-8")))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None


def row_kind(row: dict) -> str | None:
    """The row's kind (one of ROW_KINDS), or None for a row gankit does not know."""
    kind = row.get("kind")
    if isinstance(kind, str) and kind in ROW_KINDS:
        return kind
    if kind is not None:
        return None
    # logs written before rows carried their kind
    for key, guessed in (("rollback", "rollback"), ("diagnosis", "diagnosis"), ("diversity", "diversity"),
                         ("d_loss", "step"), ("fid", "eval"), ("eval_n", "eval")):
        if key in row:
            return guessed
    return None


def rows_of(rows: list[dict], kind: str) -> list[dict]:
    return [row for row in rows if row_kind(row) == kind]


def read_eval_result(path: Path) -> dict:
    """A `gankit eval` result (RUN/eval/<checkpoint>.json), checked; raises GankitError when it is not one.

    Only numeric metrics are kept; the extractor and reference say what the scores may be compared with.
    """
    not_one = f"{path} is not a gankit eval result (.json)"
    result = read_json(path, f"{not_one}: there is no such file", not_one)
    if not isinstance(result, dict):
        raise GankitError(not_one)
    extractor, reference, metrics = result.get("extractor"), result.get("reference"), result.get("metrics")
    ok = (isinstance(metrics, dict) and isinstance(extractor, dict) and isinstance(reference, dict)
          and all(isinstance(extractor.get(k), str) for k in ("name", "digest"))
          and all(isinstance(reference.get(k), str) for k in ("dataset", "split")))
    if not ok:
        raise GankitError(f"{not_one}: it lacks valid metrics, extractor or reference")
    numbers = {k: v for k, v in metrics.items() if isinstance(k, str) and is_measurement(v, nan_ok=True)}
    return {**result, "metrics": numbers}
