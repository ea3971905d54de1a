"""Does a speed option cost quality? The same model trained for the same number of steps with and
without the option, over several seeds, each scored by `gankit eval`.

    .venv/bin/python benchmarks/option_quality.py --model dcgan --steps 2000 --option "--precision bf16"
    .venv/bin/python benchmarks/option_quality.py --model classic --steps 3000 --seeds 0,1,2,3 --option "--precision bf16"

Equal steps, not equal time, isolate what the option does to the arithmetic. The table gives each
seed's FID and the mean and standard deviation per arm: the option passes when the difference of
the means is within the seed-to-seed noise (here: under two standard errors of the difference).
Runs go one after another through the real `gankit train`, so each has the machine to itself.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path


def gankit(*args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "gankit", *args], capture_output=True, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    if result.returncode != 0:
        raise SystemExit(f"gankit {' '.join(args[:2])} failed:\n{result.stderr[-2000:]}")
    return result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="dcgan")
    parser.add_argument("--steps", type=int, default=2000, help="G steps per run")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--option", required=True, help='gankit train arguments under test, e.g. "--precision bf16"')
    parser.add_argument("--eval-n", type=int, default=10000)
    parser.add_argument("--json", metavar="FILE", help="also write the results here")
    args = parser.parse_args()
    arms = {"without": [], "with": shlex.split(args.option)}
    seeds = [int(s) for s in args.seeds.split(",")]
    results: dict[str, list[dict]] = {arm: [] for arm in arms}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            for arm, extra in arms.items():
                name = f"{arm}-{seed}"
                out = gankit("train", "--model", args.model, "--max-steps", str(args.steps), "--epochs", "10000",
                             "--seed", str(seed), "--no-progress", "--no-report", "--name", name, "--out", tmp, *extra)
                seconds = int(re.search(r"epochs in (\d+) s", out).group(1))
                scores = json.loads(gankit("eval", str(Path(tmp) / name), "--n", str(args.eval_n),
                                           "--metrics", "fid,pr", "--json"))["metrics"]
                row = {"seed": seed, "seconds": seconds, **{k: round(v, 4) for k, v in scores.items()}}
                results[arm].append(row)
                print(f"{arm:<8} seed {seed}: FID {row['fid']:7.3f}  precision {row['precision']:.3f}  "
                      f"recall {row['recall']:.3f}  {seconds} s", flush=True)
    print(f"\n{args.model}, {args.steps} steps, option {args.option!r}, FID from {args.eval_n} samples\n")
    print("| arm | FID per seed | mean FID | sd | training seconds (mean) |")
    print("|---|---|---|---|---|")
    summary = {}
    for arm, rows in results.items():
        fids = [r["fid"] for r in rows]
        sd = statistics.stdev(fids) if len(fids) > 1 else 0.0
        summary[arm] = (statistics.mean(fids), sd, len(fids))
        print(f"| {arm} | {', '.join(f'{f:.2f}' for f in fids)} | {summary[arm][0]:.2f} | {sd:.2f} | "
              f"{statistics.mean(r['seconds'] for r in rows):.0f} |")
    (m0, s0, n0), (m1, s1, n1) = summary["without"], summary["with"]
    standard_error = (s0 ** 2 / n0 + s1 ** 2 / n1) ** 0.5
    verdict = "within noise" if abs(m1 - m0) <= 2 * standard_error else "OUTSIDE noise"
    print(f"\ndifference of means {m1 - m0:+.2f} FID; 2 standard errors {2 * standard_error:.2f}: {verdict}")
    if args.json:
        Path(args.json).write_text(json.dumps({"model": args.model, "steps": args.steps, "option": args.option,
                                               "eval_n": args.eval_n, "results": results}, indent=1))


if __name__ == "__main__":
    main()
