"""gankit sample: images, sound or text from a trained run's checkpoint."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from gankit.atomic import atomic_path
from gankit.config import MAX_SAMPLES, MAX_SEED
from gankit.errors import GankitError
from gankit.pipeline import Pipeline
from gankit.runs import run_or_bundle
from gankit.smoke import smoke_samples

NAME = "sample"
HELP = "generate images, sound or text from a trained run"
DESCRIPTION = """Generate samples with a run's G (no gradients, seeded). Images: a PNG grid and/or the raw
images as a uint8 .npy array of shape (N, H, W) for grey or (N, H, W, 3) for colour. Sound: a folder
of WAV files with a picture of their spectrograms, and/or a float32 .npy of shape (N, L) in [-1, 1].
Text: a .txt file of one sample per line, and/or the character ids as an int64 .npy (N, L).

examples:
  gankit sample runs/my-run --n 64 --out grid.png
  gankit sample runs/my-run --n 10000 --npy samples.npy --seed 1 --checkpoint step_00001200
  gankit sample runs/my-wavegan-run --n 16 --out clips/
  gankit sample runs/my-charlm-run --n 100 --out lines.txt --temperature 0.7"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="run folder (e.g. runs/0001-classic-fashion-mnist), or a bundle "
                        "that gankit export wrote")
    parser.add_argument("--n", type=int, default=64, help="number of images (default: 64)")
    parser.add_argument("--out", metavar="PATH", help="grid image (.png) to write, for sound a folder of WAVs, for "
                        "text a .txt (default: RUN/samples/sample_<checkpoint>_seed<S>[.png|.txt] unless --npy is "
                        "given; for a bundle, that name in the current folder)")
    parser.add_argument("--npy", metavar="FILE", help="also write the samples as a .npy array")
    parser.add_argument("--seed", type=int, default=0, help="seed of the latent vectors (default: 0)")
    parser.add_argument("--checkpoint", metavar="NAME", help="checkpoint name or step (default: final, else the newest)")
    parser.add_argument("--nrow", type=int, help="images per grid row (default: a square)")
    parser.add_argument("--class", dest="label", metavar="K", help="class index or name, for conditional "
                        "models (default: a grid with one class per row); a run's other conditions are asked the "
                        "same way, by their names (--pitch 60)")
    parser.set_defaults(conditions={})  # --NAME VALUE for the run's other conditions (gankit.cli.main)
    parser.add_argument("--temperature", type=float, metavar="T", help="sampling temperature of a model that writes "
                        "text a character at a time (charlm, ngram; arae, where 0 is greedy; default: its run's)")
    parser.add_argument("--overwrite", action="store_true", help="replace --out and --npy when they exist (default: "
                        "refuse, and for sound a --out folder that holds files)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default: auto)")


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.n <= MAX_SAMPLES:
        raise GankitError(f"--n must be in 1..{MAX_SAMPLES:,}, got {args.n}")
    args.n = smoke_samples(args.n)
    if not 0 <= args.seed <= MAX_SEED:
        raise GankitError(f"--seed must be in 0..{MAX_SEED}, got {args.seed}")
    if args.nrow is not None and not 1 <= args.nrow <= MAX_SAMPLES:
        raise GankitError(f"--nrow must be >= 1, got {args.nrow}")
    if args.npy is not None and not args.npy.endswith(".npy"):
        raise GankitError(f"--npy {args.npy} must end in .npy (numpy would add it, and the name printed would not be "
                          "the file written)")
    for flag, given in (("--out", args.out), ("--npy", args.npy)):
        if given is not None:
            _refuse_to_overwrite(flag, Path(given), args.overwrite)
    run_dir = run_or_bundle(args.run)
    pipe = Pipeline.from_run(args.run, args.checkpoint, args.device)
    if args.temperature is not None:
        pipe.set_temperature(args.temperature)
    _check_conditions(pipe, args.conditions)
    samples = pipe.sample(args.n, args.seed, args.label, args.conditions)  # as stored: uint8 images, float clips
    modality = pipe.spec.modality
    # a conditional grid goes through the classes in turn, each on rows of its own, unless --class picked one
    nrow = pipe.grid_columns(args.n) if pipe.conditional and args.label is None and not args.conditions else None
    out = Path(args.out) if args.out else None
    if out is None and args.npy is None:
        folder = run_dir / "samples" if run_dir is not None else Path()  # a bundle is not written into
        out = folder / f"sample_{pipe.checkpoint.name}_seed{args.seed}{modality.output_suffix}"
    if out is not None:
        written = modality.write_samples(samples, out, args.nrow or nrow)
        print(f"wrote {written} ({args.n} samples from {pipe.checkpoint.name}, step {pipe.meta['step']}, "
              f"seed {args.seed})")
    for note in modality.sample_notes(samples):
        print(note)
    if args.npy is not None:
        array = modality.as_array(samples)
        with atomic_path(args.npy) as tmp, open(tmp, "wb") as file:
            np.save(file, array)
        print(f"wrote {args.npy} ({array.dtype} {tuple(array.shape)})")
    return 0


def _check_conditions(pipe: Pipeline, asked: dict[str, str]) -> None:
    """An option the parser did not know is a condition of the run (--pitch 60), or one line naming what it knows."""
    names = [c.name for c in pipe.spec.conditions]
    for name in asked:
        if name not in names or name == "class":
            known = ", ".join(f"--{n}" for n in names) or "none: it is unconditional"
            raise GankitError(f"--{name} is neither an option of gankit sample (see --help) nor a condition of this "
                              f"run (its conditions: {known})")


def _refuse_to_overwrite(flag: str, path: Path, overwrite: bool) -> None:
    """A file the user has, or a folder with files in it, is not replaced or mixed into unless --overwrite says so."""
    if overwrite:
        return
    if path.is_dir() and any(path.iterdir()):
        raise GankitError(f"{flag} {path} already holds files; pick a new folder, or add --overwrite to write the "
                          "samples among them")
    if path.exists() and not path.is_dir():
        raise GankitError(f"{path} exists; pick another name, or add --overwrite to replace it")
