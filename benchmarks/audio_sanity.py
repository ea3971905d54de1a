"""Sanity values of the metrics for sound: spoken-digits (or notes) scored with its shipped classifier.

    gankit data spoken-digits && .venv/bin/python benchmarks/audio_sanity.py [--run RUN] [--n 2000]
    gankit data notes && .venv/bin/python benchmarks/audio_sanity.py --data notes

Notes add asked_class (each clip asked for its own family; silence and noise for families drawn like the data's) and
the pitch classifier's clear_pitch and pitch_distance.

Reference: the held-out split (spoken-digits: 480 clips of voices never heard in training). Rows, N clips each:
  train     real training clips                 -> the floor: small FID, IS near the real data's
  test      the 480 test clips themselves       -> FID 0; their IS, lower than the training clips' (the
                                                   classifier is less sure of voices it never heard)
  silence   all zeros                           -> one class, IS 1
  repeated  one training clip N times           -> precision 1, recall 0, one class
  noise     uniform white noise in [-1, 1]      -> the largest FID
  RUN       N clips from a run's final checkpoint (with --run)
"""

from __future__ import annotations

import argparse

import torch

from gankit.config import DataConfig
from gankit.metrics.evaluate import prepare_reference, score
from gankit.pipeline import Pipeline

METRICS = ["fid", "kid", "is", "pr", "class_coverage", "asked_class", "pitch"]
SHOWN = ["fid", "kid", "is", "precision", "recall", "class_coverage", "asked_class", "clear_pitch", "pitch_distance"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--run", help="also score this run's final checkpoint")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--data", default="spoken-digits", help="spoken-digits or notes")
    args = parser.parse_args()
    reference = prepare_reference(DataConfig(name=args.data), "classifier", args.device)
    train, labels = reference.train.samples, reference.train.labels
    generator = torch.Generator().manual_seed(0)
    pick = torch.randperm(len(train), generator=generator)[: args.n]
    drawn = labels[torch.randint(len(labels), (args.n,), generator=generator)]
    rows = {  # name: (clips, the classes they are taken to be asked for)
        "train": (train[pick], labels[pick]),
        "test": (reference.heldout.images, reference.heldout.labels),
        "silence": (torch.zeros(args.n, *train.shape[1:]), drawn),
        "repeated": (train[pick[:1]].expand(len(pick), -1, -1).contiguous(), labels[pick[:1]].expand(len(pick))),
        "noise": (torch.rand(args.n, *train.shape[1:], generator=generator) * 2 - 1, drawn),
    }
    if args.run:
        pipe = Pipeline.from_run(args.run, device=args.device)
        asked = drawn if pipe.conditional else None
        rows[args.run] = (pipe.generate(pipe.latents(args.n, 0), asked), asked)
    print(f"reference: {reference.data.name}/{reference.heldout.split} ({len(reference.heldout.images)} clips); "
          f"{reference.extractor.description}; {args.n} clips per row")
    values = {name: score(clips, reference, METRICS, seed=0, labels=asked)["metrics"]
              for name, (clips, asked) in rows.items()}
    shown = [k for k in SHOWN if any(k in v for v in values.values())]
    print(f"{'samples':<24}" + "".join(f"{k:>16}" for k in shown))
    for name, row in values.items():
        print(f"{name[-24:]:<24}" + "".join(f"{row[k]:>16.4g}" if k in row else f"{'-':>16}" for k in shown))


if __name__ == "__main__":
    main()
