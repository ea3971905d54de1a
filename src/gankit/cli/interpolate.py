"""gankit interpolate: a walk through latent space, as a GIF or a PNG strip."""

from __future__ import annotations

import argparse
from pathlib import Path

from gankit.config import MAX_SEED
from gankit.errors import GankitError
from gankit.pipeline import Pipeline
from gankit.plots import save_gif
from gankit.runs import open_run

NAME = "interpolate"
HELP = "walk between latent vectors (spherical interpolation) and write a GIF or a PNG strip"
DESCRIPTION = """Generate the images G makes along a spherical path from the latent vector of one seed
to the next: smooth changes mean G has learned a continuous space rather than memorised points.

examples:
  gankit interpolate runs/my-run --steps 16 --out walk.gif
  gankit interpolate runs/my-run --seeds 0,1,2,3 --out strip.png
  gankit interpolate runs/my-cgan --class Sneaker --out sneakers.gif"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="run folder")
    parser.add_argument("--seeds", default="0,1", help="latent seeds to walk through, in order (default: 0,1)")
    parser.add_argument("--steps", type=int, default=16, help="frames from one seed to the next (default: 16)")
    parser.add_argument("--out", metavar="FILE", help=".gif (animated) or .png (strip); default: "
                        "RUN/samples/walk_<checkpoint>_seeds<S>.gif")
    parser.add_argument("--frame-ms", type=int, default=80, help="GIF frame duration in ms (default: 80)")
    parser.add_argument("--checkpoint", metavar="NAME", help="checkpoint name or step (default: final, else the newest)")
    parser.add_argument("--class", dest="label", metavar="K", help="class index or name, for conditional models "
                        "(default: 0)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default: auto)")


def parse_seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        seeds = []
    if not 2 <= len(seeds) <= 1000 or any(not 0 <= s <= MAX_SEED for s in seeds):
        raise GankitError(f"--seeds must list 2 to 1000 seeds in 0..{MAX_SEED}, like 0,1,2; got {text[:100]!r}")
    return seeds


def run(args: argparse.Namespace) -> int:
    seeds = parse_seeds(args.seeds)
    if not 1 <= args.steps <= 1000:
        raise GankitError(f"--steps must be in 1..1000, got {args.steps}")
    if args.frame_ms < 10:
        raise GankitError(f"--frame-ms must be >= 10, got {args.frame_ms}")
    run_dir, _ = open_run(args.run)
    out = Path(args.out) if args.out else None
    if out is not None and out.suffix.lower() not in (".gif", ".png"):
        raise GankitError(f"--out {out} must end in .gif or .png")
    pipe = Pipeline.from_run(run_dir, args.checkpoint, args.device)
    images = pipe.walk(seeds, args.steps, args.label)  # uint8 (frames, C, H, W)
    out = out or run_dir / "samples" / f"walk_{pipe.checkpoint.name}_seeds{'-'.join(map(str, seeds))}.gif"
    if out.suffix.lower() == ".png":
        pipe.preview(images, out, nrow=args.steps if len(seeds) > 2 else len(images))
    else:
        scale = max(1, 128 // images.shape[-1])
        save_gif([img.permute(1, 2, 0).numpy() for img in images], out, args.frame_ms, scale, hold_last=8)
    print(f"wrote {out} ({len(images)} frames from {pipe.checkpoint.name}, seeds {', '.join(map(str, seeds))})")
    return 0
