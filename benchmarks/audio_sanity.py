"""Sanity values of the metrics for sound: spoken-digits scored with its shipped classifier.

    gankit data spoken-digits && .venv/bin/python benchmarks/audio_sanity.py [--run RUN] [--n 2000]

Reference: the 480 test clips (voices never heard in training). Rows, N clips each:
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

METRICS = ["fid", "kid", "is", "pr", "class_coverage"]
SHOWN = ["fid", "kid", "is", "precision", "recall", "class_coverage"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--run", help="also score this run's final checkpoint")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    reference = prepare_reference(DataConfig(name="spoken-digits"), "classifier", args.device)
    train = reference.train.samples
    generator = torch.Generator().manual_seed(0)
    pick = torch.randperm(len(train), generator=generator)[: args.n]
    rows = {
        "train": train[pick],
        "test": reference.heldout.images,
        "silence": torch.zeros(args.n, *train.shape[1:]),
        "repeated": train[pick[:1]].expand(args.n, -1, -1).contiguous(),
        "noise": torch.rand(args.n, *train.shape[1:], generator=generator) * 2 - 1,
    }
    if args.run:
        pipe = Pipeline.from_run(args.run, device=args.device)
        rows[args.run] = pipe.sample(args.n, seed=0)
    print(f"reference: {reference.data.name}/{reference.heldout.split} ({len(reference.heldout.images)} clips); "
          f"{reference.extractor.description}; {args.n} clips per row")
    print(f"{'samples':<24}" + "".join(f"{k:>16}" for k in SHOWN))
    for name, clips in rows.items():
        values = score(clips, reference, METRICS, seed=0)["metrics"]
        print(f"{name[-24:]:<24}" + "".join(f"{values[k]:>16.4g}" for k in SHOWN))


if __name__ == "__main__":
    main()
