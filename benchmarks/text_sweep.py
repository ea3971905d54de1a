"""Text models swept over sampling temperature: one table and one picture of quality against diversity.

    .venv/bin/python benchmarks/text_sweep.py text-runs/words --picture docs/images/text-sweep-words.png

Every run folder under the given folder is scored by `gankit eval RUN --n N` (10,000 samples against the
held-out items), once at each of --temperatures where its model draws a character at a time (charlm, ngram,
arae; arae also at 0, its greedy decoding) and once as it is where it has no temperature (textgan). Scores
already in RUN/eval are reused. The picture puts JS-4 (the character 4-grams' Jensen-Shannon divergence from the
held-out items: lower is closer) against distinct-4 (the share of 4-grams that are distinct: higher is more
varied), a line per model through its temperatures, and the floor: as many real training items scored the
same way. Caccia et al. ("Language GANs falling short", 2020) compare text models by such curves, not points.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
from pathlib import Path

KEYS = ["js_1", "js_2", "js_3", "js_4", "distinct_4", "unique", "novelty", "validity", "memorisation_rate"]
TEMPERATURE_MODELS = {"charlm", "ngram", "arae"}


def model_of(run: Path) -> str:
    meta = json.loads((run / "checkpoints" / "final" / "meta.json").read_text())
    return meta["config"]["model"]["name"]


def scored(run: Path, temperature: float | None, n: int, gankit: list[str]) -> dict:
    label = "final" + (f"-T{temperature:g}" if temperature is not None else "")
    path = run / "eval" / f"{label}.json"
    if not path.is_file():
        extra = ["--temperature", f"{temperature:g}"] if temperature is not None else []
        subprocess.run([*gankit, "eval", str(run), "--n", str(n), *extra], check=True, stdout=subprocess.DEVNULL)
    return json.loads(path.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, help="a folder of trained runs (benchmarks/text_models.sh's OUT)")
    parser.add_argument("--temperatures", default="0.5,0.75,1,1.25,1.5")
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--picture", type=Path, help="where to draw JS-4 against distinct-4 (PNG)")
    args = parser.parse_args()
    gankit = os.environ.get("GANKIT", "gankit").split()
    temperatures = [float(t) for t in args.temperatures.split(",")]
    curves: dict[str, list[tuple[str, dict, float]]] = {}
    floor = None
    for run in sorted(p for p in args.runs.iterdir() if (p / "checkpoints" / "final").is_dir()):
        model = model_of(run)
        sweep = ([0.0] if model == "arae" else []) + temperatures if model in TEMPERATURE_MODELS else [None]
        for t in sweep:
            result = scored(run, t, args.n, gankit)
            minutes = json.loads((run / "checkpoints" / "final" / "meta.json").read_text())["train_seconds"] / 60
            label = run.name + ("" if t is None else " greedy" if t == 0 else f" T={t:g}")
            curves.setdefault(run.name, []).append((label, result["metrics"], minutes))
            floor = result["metrics"]
    print("| model | minutes | " + " | ".join(KEYS) + " |")
    print("|---" * (len(KEYS) + 2) + "|")
    real = ([floor[k + "_floor"] for k in KEYS[:4]] + [floor["distinct_4_real"], 1.0, 0.0, None, 1.0])
    print("| real training items (floor) | - | " + " | ".join("-" if v is None else f"{v:.3f}" for v in real) + " |")
    for rows in curves.values():
        for label, m, minutes in rows:
            cells = [f"{m[k]:.3f}" if isinstance(m.get(k), float) else "-" for k in KEYS]
            print(f"| {label} | {minutes:.1f} | " + " | ".join(cells) + " |")
    if args.picture:
        draw(curves, floor, args.runs.name, args.picture)


def draw(curves: dict, floor: dict, dataset: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5))
    for name, rows in curves.items():
        xs, ys = [m["distinct_4"] for _, m, _ in rows], [m["js_4"] for _, m, _ in rows]
        ax.plot(xs, ys, "o-", label=name)
        for (label, _, _), x, y in zip(rows, xs, ys):
            tail = label.removeprefix(name).strip()
            if tail:
                ax.annotate(tail, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.plot([floor["distinct_4_real"]], [floor["js_4_floor"]], "k*", markersize=14, label="real training items")
    ax.set_xlabel("distinct-4 (higher: more varied)")
    ax.set_ylabel("JS-4 to held-out items (lower: closer)")
    ax.set_title(f"{dataset}: quality against diversity, swept over temperature")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
