"""gankit evaluator train: the domain classifier behind the `classifier` feature extractor."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gankit.data import load_dataset
from gankit.data.sources import has_pitches
from gankit.device import resolve_device
from gankit.errors import GankitError
from gankit.metrics.classifier import untrusted_reason
from gankit.metrics.features import cached_evaluator_path, train_classifier_for
from gankit.metrics.pitch import cached_pitch_classifier_path, train_pitch_classifier_for
from gankit.resolve import resolve_data

NAME = "evaluator"
HELP = "train the classifier used as feature extractor for scoring"
DESCRIPTION = """Train the small CNN whose penultimate features score GANs on this dataset (FID, KID,
precision/recall, ...) and whose class probabilities give IS and class coverage. It is tested on the
held-out split (the test split, or a seeded 10% of a folder with class subfolders); its weights go
to safetensors with the accuracy and the command in a JSON beside them. Fashion-MNIST's ships with
gankit; others are trained on first use of `gankit eval` and cached.

For notes it also trains the pitch classifier behind clear_pitch and pitch_distance (NAME-pitch.safetensors
beside --out).

examples:
  gankit evaluator train --data fashion-mnist
  gankit evaluator train --data ./my_classes --image-size 32 --channels 3"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    train = sub.add_parser("train", help="train (or retrain) the classifier for a dataset")
    train.add_argument("--data", default="fashion-mnist", help="dataset name or folder with class subfolders "
                       "(default: fashion-mnist)")
    train.add_argument("--data-dir", help="a folder holding the dataset's files")
    train.add_argument("--image-size", type=int, help="image side (default: the dataset's own)")
    train.add_argument("--channels", type=int, help="1 or 3 (default: the dataset's own)")
    train.add_argument("--epochs", type=int, default=4, help="training epochs (default: 4)")
    train.add_argument("--out", help="weights file to write (default: the cache, where gankit eval looks)")
    train.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default: auto)")


def run(args: argparse.Namespace) -> int:
    if args.epochs < 1:
        raise GankitError(f"--epochs must be >= 1, got {args.epochs}")
    data = resolve_data(args.data, args.data_dir, args.image_size, args.channels)
    device = resolve_device(args.device)
    train = load_dataset(data)
    if train.labels is None:
        raise GankitError(f"{args.data} has no class labels: put its images in one subfolder per class")
    out = Path(args.out) if args.out else cached_evaluator_path(data, train)
    if out.suffix != ".safetensors":
        raise GankitError(f"--out {out} must end in .safetensors")
    train_classifier_for(data, train, out, device, epochs=args.epochs)
    info = json.loads(out.with_suffix(".json").read_text())
    print(f"test accuracy {info['test_accuracy']:.4f} on {info['test_images']} held-out samples; "
          f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB) and {out.with_suffix('.json').name}")
    if has_pitches(data.name):
        pitch_out = out.with_name(f"{out.stem}-pitch.safetensors") if args.out else cached_pitch_classifier_path(data, train)
        pitch = train_pitch_classifier_for(data, train, pitch_out).info
        print(f"pitch: {pitch['test_accuracy']:.4f} right ({pitch['within_a_semitone']:.4f} within a semitone) on "
              f"{pitch['test_images']} held-out notes, {pitch['none_accuracy']:.4f} of {pitch['test_none']} clips of no "
              f"single pitch called so; wrote {pitch_out}")
    problem = untrusted_reason(info)
    if problem:
        print(f"gankit: warning: gankit eval will refuse this classifier's features: {problem}; add images to each "
              "class or check the class folders", file=sys.stderr)
    return 0
