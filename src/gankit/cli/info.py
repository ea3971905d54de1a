"""gankit info: what a run holds."""

from __future__ import annotations

import argparse
import json

from gankit.checkpoint import read_meta, scan_checkpoints
from gankit.config import to_dict, to_toml
from gankit.runlog import KEEP_ROWS, METRICS_FILE, read_metrics, rows_of
from gankit.runs import open_run

NAME = "info"
HELP = "show a run's config, progress, checkpoints and last metrics"
DESCRIPTION = "Show a run's config, steps done, checkpoints and last logged metrics.\n\nexample:\n  gankit info runs/my-run"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="run folder")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def run(args: argparse.Namespace) -> int:
    run_dir, config = open_run(args.run)
    good, damaged = scan_checkpoints(run_dir / "checkpoints")
    checkpoints = []
    for path in good:
        meta = read_meta(path)
        size = sum(f.stat().st_size for f in path.iterdir() if f.is_file())
        checkpoints.append({"name": path.name, "step": meta["step"], "epoch": meta["epoch"],
                            "images_seen": meta["images_seen"], "saved_at": meta.get("saved_at", "?"), "bytes": size})
    broken = [{"name": path.name, "reason": reason} for path, reason in damaged]
    rows = read_metrics(run_dir / METRICS_FILE, KEEP_ROWS)
    metrics, evals = rows_of(rows, "step") or rows_of(rows, "fit"), rows_of(rows, "eval")
    last = metrics[-1] if metrics else None
    last_eval = evals[-1] if evals else None
    steps = max([c["step"] for c in checkpoints] + [0])
    if args.json:
        print(json.dumps({"run": str(run_dir), "config": to_dict(config), "steps_done": steps,
                          "checkpoints": checkpoints, "damaged_checkpoints": broken, "last_metrics": last,
                          "last_eval": last_eval, "unreadable_rows": rows.skipped}))
        return 0
    print(f"run: {run_dir}")
    print(f"steps done (newest checkpoint): {steps}   logged steps: {rows.counts['step'] or rows.counts['fit']}{rows.note()}")
    print("checkpoints:" if checkpoints else "checkpoints: none yet")
    for c in checkpoints:
        print(f"  {c['name']:<16} step {c['step']:>7}  epochs done {c['epoch']:>3}  "
              f"{c['bytes'] / 2**20:6.1f} MiB  {c['saved_at']}")
    for b in broken:
        print(f"  {b['name']:<16} DAMAGED: {b['reason']}")
    for title, row in (("last metrics", last), ("last evaluation", last_eval)):
        if row:
            print(f"{title}: " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                         for k, v in row.items() if k != "kind"))
    print("config:")
    print("".join(f"  {line}\n" for line in to_toml(config).splitlines() if line and not line.startswith("#")), end="")
    return 0
