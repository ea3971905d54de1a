"""Time to quality: FID against training wall time, for several configurations at an equal budget.

    .venv/bin/python benchmarks/time_to_quality.py --budget 15 --points 5 --out docs/ttq
    .venv/bin/python benchmarks/time_to_quality.py --budget 2 --configs classic,dcgan
    .venv/bin/python benchmarks/time_to_quality.py --at 2,5,10 --configs dcgan+ema,auto+w64 --seeds 0,1,2
    .venv/bin/python benchmarks/time_to_quality.py --at 2 --configs auto,auto+lr2e-3,auto+hinge

With several seeds each run is named "CONFIG seed N" and the table adds the mean and standard
deviation of the final FID over seeds: the noise a difference between configurations must beat.

Each configuration trains through the real `gankit train` in chunks of budget/points minutes, or up to
each of --at's minutes (`--time-limit`, then `--resume`: resume is exact, so chunking does not change what
is trained), and after each chunk its generator is scored with `gankit eval` (classifier features,
--eval-n samples, 10,000 by default: FID, precision/recall, class coverage).
With --fresh each point is a run of its own from step 0 with --time-limit at that point instead: for
settings that follow the time limit (--model auto's width, --lr-decay's schedule), which one run scored
in chunks would not show. Wall time counts training only, not start-up or scoring. Runs go one after
another, so each has the machine to itself. Writes OUT/results.json, OUT/table.md and OUT/fid_vs_time.png.

    .venv/bin/python benchmarks/time_to_quality.py --merge a/results.json b/results.json --out docs/ttq

re-renders the table and plot from earlier results; a configuration in a later file replaces the
same one in an earlier file (e.g. after a fix).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

# name -> gankit train arguments; the family's own defaults (loss, n_critic, Adam betas) apply
CONFIGS: dict[str, list[str]] = {
    "classic": ["--model", "classic"],
    "dcgan": ["--model", "dcgan"],
    "dcgan+ema": ["--model", "dcgan", "--ema", "0.999"],
    "dcgan+ema+diffaug": ["--model", "dcgan", "--ema", "0.999", "--augment", "translation,cutout"],
    "cgan": ["--model", "cgan"],
    "wgan-gp": ["--model", "wgan-gp"],
    "sngan": ["--model", "sngan"],
    "sngan+ema": ["--model", "sngan", "--ema", "0.999"],
    "sngan+ema+diffaug": ["--model", "sngan", "--ema", "0.999", "--augment", "translation,cutout"],
    # speed options (issue 5): the same configuration, faster arithmetic; quality must stay within noise
    "classic+bf16": ["--model", "classic", "--precision", "bf16"],
    "dcgan+bf16": ["--model", "dcgan", "--precision", "bf16"],
    "dcgan+ema+bf16": ["--model", "dcgan", "--ema", "0.999", "--precision", "bf16"],
    # larger batches for GPUs: the same learning rate, and the square-root rule (2e-4 * sqrt(1000 / 100))
    "dcgan+bf16+b1000": ["--model", "dcgan", "--precision", "bf16", "--batch-size", "1000"],
    "dcgan+bf16+b1000+sqrt-lr": ["--model", "dcgan", "--precision", "bf16", "--batch-size", "1000", "--lr", "6.3e-4"],
    # issue 18: what may beat the auto before it (dcgan+ema, fp32) at small budgets; "auto" is what --model auto
    # resolves to (on Fashion-MNIST's labels, cgan since 2026-11-28)
    "auto": ["--model", "auto"],
    "dcgan+ema+bf16+ramp": ["--model", "dcgan", "--ema", "0.999", "--precision", "bf16", "--set", "train.ema_rampup=0.05"],
    "dcgan+ema+bf16+ramp+bn": ["--model", "dcgan", "--ema", "0.999", "--precision", "bf16", "--set",
                               "train.ema_rampup=0.05", "--set", "train.ema_batchnorm=measure"],
    # what --model auto trains on labelled images on a CPU since 2026-11-28 (G 64, D 32, cgan), pinned here as
    # auto's unconditional recipe is by dcgan+ema+bf16+ramp+bn+lr1e-3+w64+dw32
    "cgan+auto": ["--model", "cgan", "--lr", "1e-3", "--ema", "0.999", "--precision", "bf16", "--set",
                  "train.ema_rampup=0.05", "--set", "train.ema_batchnorm=measure", "--set", "model.width=64",
                  "--set", "model.d_width=32"],
}
# variations on the last one and on auto, by name suffix: "dcgan+ema+bf16+ramp+bn+b64" is that with --batch-size
# 64, "auto+w32+lr1e-3" is --model auto with width 32 and lr 1e-3 (the user's settings win over auto's); wNN is
# both nets at width NN, and a dwNN after it narrows D alone (auto+w64+dw32)
VARIATIONS: dict[str, list[str]] = {
    "b50": ["--batch-size", "50"],
    "b64": ["--batch-size", "64"],
    "b200": ["--batch-size", "200"],
    "b500": ["--batch-size", "500"],
    "b1000": ["--batch-size", "1000"],
    # torch.compile with CUDA graphs (issue 31: an H200 at batch 100 is bound by kernel launches)
    "graphs": ["--compile", "reduce-overhead"],
    "lr3e-4": ["--lr", "3e-4"],
    "lr1e-4": ["--lr", "1e-4"],
    "lr5e-4": ["--lr", "5e-4"],
    "lr8e-4": ["--lr", "8e-4"],
    "lr1e-3": ["--lr", "1e-3"],
    "lr2e-3": ["--lr", "2e-3"],
    "ttur": ["--lr-g", "1e-4", "--lr-d", "4e-4"],
    "lrd2e-3": ["--lr-d", "2e-3"],
    "hinge": ["--loss", "hinge"],
    "beta0": ["--set", "train.beta1=0.0", "--set", "train.beta2=0.99"],
    "w32": ["--set", "model.width=32", "--set", "model.d_width=0"],
    "w48": ["--set", "model.width=48", "--set", "model.d_width=0"],
    "w64": ["--set", "model.width=64", "--set", "model.d_width=0"],
    "w96": ["--set", "model.width=96", "--set", "model.d_width=0"],
    "decay": ["--lr-decay", "linear"],
    "dw32": ["--set", "model.d_width=32"],
    "dw48": ["--set", "model.d_width=48"],
    "ema9995": ["--ema", "0.9995"],
    "ema998": ["--ema", "0.998"],
    "ema9998": ["--ema", "0.9998"],
}
VARIED = ("dcgan+ema+bf16+ramp+bn", "auto")


def config_args(name: str) -> list[str] | None:
    """The train arguments of a configuration: one of CONFIGS, or one of VARIED followed by variations
    ("auto+w32+lr1e-3"); None if `name` is neither."""
    if name in CONFIGS:
        return CONFIGS[name]
    for base in VARIED:
        if name.startswith(base + "+"):
            variations = name[len(base) + 1:].split("+")
            if all(v in VARIATIONS for v in variations):
                return CONFIGS[base] + [arg for v in variations for arg in VARIATIONS[v]]
    return None


def gankit(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gankit", *args], capture_output=True, text=True,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})


def run_config(name: str, args: list[str], runs: Path, at: list[float], eval_n: int, device: str,
               fresh: bool = False) -> list:
    """Train `name` to each of the minutes in `at` in turn (fresh: a new run for each), scoring after each."""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", name)
    curve = []
    trained = 0.0
    for i, (start, end) in enumerate(zip([0.0, *at], at)):
        # --time-limit alone: no epoch count ends a run early (a resume keeps the first chunk's settings)
        common = ["--no-progress", "--device", device]
        if fresh or i == 0:  # a new run, trained from step 0 to this point
            run = runs / (f"{slug}-{end:g}min" if fresh else slug)
            trained = 0.0
            result = gankit("train", *args, *common, "--time-limit", f"{end:g}", "--name", run.name, "--out", str(runs))
        else:
            result = gankit("train", "--resume", str(run), *common, "--time-limit", f"{end - start:g}")
        if result.returncode != 0:
            raise SystemExit(f"{name}: training failed:\n{result.stderr[-2000:]}")
        trained += float(re.search(r"epochs in (\d+) s", result.stdout).group(1))
        scored = gankit("eval", str(run), "--n", str(eval_n), "--metrics", "fid,pr,class_coverage", "--json",
                        "--device", device)
        if scored.returncode != 0:
            raise SystemExit(f"{name}: eval failed:\n{scored.stderr[-2000:]}")
        metrics = json.loads(scored.stdout)["metrics"]
        steps = int(re.search(r"done: (\d+) steps", result.stdout).group(1))
        curve.append({"minutes": round(trained / 60, 2), "steps": steps, **{k: round(v, 4) for k, v in metrics.items() if isinstance(v, (int, float))}})
        print(f"{name:<20} {trained / 60:6.1f} min  step {steps:>6}  FID {metrics['fid']:8.3f}  "
              f"precision {metrics['precision']:.3f}  recall {metrics['recall']:.3f}  classes "
              f"{metrics['class_coverage']:.2f}", flush=True)
    return curve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=15.0, help="training minutes per configuration")
    parser.add_argument("--points", type=int, default=5, help="evaluations along the way, evenly spaced")
    parser.add_argument("--at", metavar="MINUTES", help="evaluate at these minutes instead, e.g. 2,5,10 (the last is "
                        "the budget)")
    parser.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated names from: " + ", ".join(CONFIGS) +
                        f"; or {' or '.join(VARIED)} followed by +VARIATION from " + ", ".join(VARIATIONS))
    parser.add_argument("--fresh", action="store_true", help="train each point as a run of its own from step 0 (for "
                        "settings that follow the time limit: --model auto, --lr-decay) instead of resuming one run")
    parser.add_argument("--seeds", default="0", help="comma-separated training seeds, each a separate run")
    parser.add_argument("--eval-n", type=int, default=10_000, help="samples per FID (2,000 is biased upward and noisier)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default="ttq-out")
    parser.add_argument("--merge", nargs="+", metavar="JSON", help="render earlier results instead of training")
    parser.add_argument("--cut", type=float, metavar="MINUTES", help="with --merge: compare every run at this budget "
                        "(longer runs are cut there in the table and listed in full below it)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.merge:
        results = {}
        for path in args.merge:
            saved = json.loads(Path(path).read_text())
            results |= saved["results"]
            args.budget, args.eval_n = saved["budget_minutes"], saved["eval_n"]
        (out / "results.json").write_text(json.dumps({"budget_minutes": args.budget, "eval_n": args.eval_n,
                                                      "results": results}, indent=1))
        render(results, args, out)
        return
    names = [n.strip() for n in args.configs.split(",")]
    unknown = [n for n in names if config_args(n) is None]
    if unknown:
        raise SystemExit(f"unknown configs {unknown}; choose from {', '.join(CONFIGS)}, or {' or '.join(VARIED)} "
                         f"followed by +VARIATION from {', '.join(VARIATIONS)}")
    seeds = [int(s) for s in args.seeds.split(",")]
    at = ([float(m) for m in args.at.split(",")] if args.at
          else [args.budget * (i + 1) / args.points for i in range(args.points)])
    # settings that follow the time limit: --model auto picks its width by the first chunk's and keeps it when
    # resumed, --lr-decay falls to zero within each chunk; scored in chunks, a curve would show neither as it is
    follow = [n for n in names if (n.startswith("auto") and "model.width" not in " ".join(config_args(n)))
              or "--lr-decay" in config_args(n)]
    if follow and len(at) > 1 and not args.fresh:
        raise SystemExit(f"{', '.join(follow)}: these settings follow the time limit; with several points use "
                         "--fresh (a run for each point), give one point, or name auto's width (auto+w64)")
    args.budget = at[-1]
    runs = out / f"runs-{time.strftime('%Y%m%d-%H%M%S')}"
    results = {}
    # seed by seed, so a drift in the machine's speed over a long sitting hits every configuration alike
    for seed in seeds:
        for name in names:
            key = name if len(seeds) == 1 and seed == 0 else f"{name} seed {seed}"
            results[key] = run_config(key, [*config_args(name), "--seed", str(seed)], runs, at, args.eval_n, args.device,
                                      args.fresh)
            (out / "results.json").write_text(json.dumps({"budget_minutes": args.budget, "eval_n": args.eval_n,
                                                          "results": results}, indent=1))
    render(results, args, out)


def _table(results: dict) -> list[str]:
    lines = ["| configuration | minutes trained | final FID | best FID (at min) | precision | recall | classes | G steps |",
             "|---|---|---|---|---|---|---|---|"]
    for name, curve in sorted(results.items(), key=lambda kv: kv[1][-1]["fid"]):
        best = min(curve, key=lambda p: p["fid"])
        last = curve[-1]
        lines.append(f"| {name} | {last['minutes']:g} | {last['fid']:.2f} | {best['fid']:.2f} ({best['minutes']:g}) "
                     f"| {last['precision']:.3f} | {last['recall']:.3f} | {last.get('class_coverage', '-')} | "
                     f"{last['steps']} |")
    return lines


def render(results: dict, args: argparse.Namespace, out: Path) -> None:
    """table.md (sorted by final FID; runs of one configuration with several seeds also summarised) and
    fid_vs_time.png (full curves, also past --cut)."""
    cut = getattr(args, "cut", None)
    at_budget = results
    if cut:
        at_budget = {name: [p for p in curve if p["minutes"] <= cut + 0.1] for name, curve in results.items()}
        at_budget = {name: curve for name, curve in at_budget.items() if curve}
    lines = _table(at_budget)
    longer = {name: curve for name, curve in results.items() if len(curve) > len(at_budget.get(name, []))}
    if longer:
        lines += ["", f"Trained longer than {cut:g} minutes:", ""] + _table(longer)
    by_config: dict[str, list[float]] = {}
    for name, curve in at_budget.items():
        by_config.setdefault(name.split(" seed ")[0], []).append(curve[-1]["fid"])
    spread = {name: fids for name, fids in by_config.items() if len(fids) > 1}
    if spread:
        lines += ["", "| configuration | seeds | final FID mean | standard deviation |", "|---|---|---|---|"]
        for name, fids in spread.items():
            mean = sum(fids) / len(fids)
            sd = (sum((f - mean) ** 2 for f in fids) / (len(fids) - 1)) ** 0.5
            lines.append(f"| {name} | {len(fids)} | {mean:.2f} | {sd:.2f} |")
    (out / "table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    # one colour per configuration, one line style per seed, one legend entry per configuration
    colours: dict[str, str] = {}
    for key, curve in results.items():
        config, _, seed = key.partition(" seed ")
        first = config not in colours
        colours.setdefault(config, f"C{len(colours) % 10}")
        ax.plot([p["minutes"] for p in curve], [p["fid"] for p in curve], marker="o", color=colours[config],
                linestyle=("-", "--", ":", "-.")[int(seed or 0) % 4], label=config if first else None)
    ax.set_xlabel("training wall time (minutes)")
    ax.set_ylabel(f"FID (classifier features, {args.eval_n} samples)")
    ax.set_yscale("log")
    from gankit.device import resolve_device

    ax.set_title(f"Fashion-MNIST: FID against training time ({resolve_device(args.device).type}, "
                 f"up to {max(c[-1]['minutes'] for c in results.values()):g} min per configuration)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "fid_vs_time.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
