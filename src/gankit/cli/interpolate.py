"""gankit interpolate: a walk through latent space, as a GIF or a PNG strip (and for sound, one WAV)."""

from __future__ import annotations

import argparse
from pathlib import Path

from gankit.config import MAX_SEED
from gankit.errors import GankitError
from gankit.pipeline import Pipeline
from gankit.plots import save_gif
from gankit.runs import run_or_bundle

NAME = "interpolate"
HELP = "walk between latent vectors (spherical interpolation) and write a GIF or a PNG strip"
DESCRIPTION = """Generate the samples G makes along a spherical path from the latent vector of one seed
to the next: smooth changes mean G has learned a continuous space rather than memorised points.
Sound walks are heard as one WAV, the clips one after another with a short silence between, and
seen as spectrograms (.gif or .png).

examples:
  gankit interpolate runs/my-run --steps 16 --out walk.gif
  gankit interpolate runs/my-run --seeds 0,1,2,3 --out strip.png
  gankit interpolate runs/my-cgan --class Sneaker --out sneakers.gif
  gankit interpolate runs/my-wavegan-run --steps 8 --out walk.wav"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="run folder, or a bundle that gankit export wrote")
    parser.add_argument("--seeds", default="0,1", help="latent seeds to walk through, in order (default: 0,1)")
    parser.add_argument("--steps", type=int, default=16, help="frames from one seed to the next (default: 16)")
    parser.add_argument("--out", metavar="FILE", help=".gif (animated) or .png (strip), or for sound .wav; default: "
                        "RUN/samples/walk_<checkpoint>_seeds<S>.gif (.wav for sound); for a bundle, that name in the current "
                        "folder")
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
    run_dir = run_or_bundle(args.run)
    pipe = Pipeline.from_run(args.run, args.checkpoint, args.device)
    heard = pipe.spec.modality.sequence_suffix  # sound: the walk as one file to listen to, by default
    suffixes = (".gif", ".png", heard) if heard else (".gif", ".png")
    out = Path(args.out) if args.out else None
    if out is not None and out.suffix.lower() not in suffixes:
        raise GankitError(f"--out {out} must end in {', '.join(suffixes[:-1])} or {suffixes[-1]}")
    samples = pipe.walk(seeds, args.steps, args.label)  # as stored: uint8 images, float clips
    name = f"walk_{pipe.checkpoint.name}_seeds{'-'.join(map(str, seeds))}{heard or '.gif'}"
    out = out or (run_dir / "samples" if run_dir is not None else Path()) / name  # a bundle is not written into
    if out.suffix.lower() == ".png":
        pipe.preview(samples, out, nrow=args.steps if len(seeds) > 2 else len(samples))
    elif heard and out.suffix.lower() == heard:
        pipe.spec.modality.write_sequence(samples, out)
    else:
        pictures = pipe.spec.modality.thumbnails(samples)
        scale = max(1, 128 // pictures.shape[-1])
        save_gif([p.permute(1, 2, 0).numpy() for p in pictures], out, args.frame_ms, scale, hold_last=8)
    print(f"wrote {out} ({len(samples)} frames from {pipe.checkpoint.name}, seeds {', '.join(map(str, seeds))})")
    return 0
