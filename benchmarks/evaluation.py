"""Evaluation: sanity values of the metrics on real Fashion-MNIST, and the speed of scoring 10,000 samples.

    .venv/bin/python benchmarks/evaluation.py [--repeats 3] [--device cpu]

Sanity (classifier features, reference = the 10,000 test images):
  real      10,000 training images           -> small FID, high precision/recall/coverage
  noise     10,000 uniform-noise images       -> huge FID
  copies    10,000 copies of one train image  -> low recall and coverage, memorisation rate 1
Speed: `score` of 10,000 generated-like images (the real ones) with every metric, reference features
already cached (as after the first `gankit eval`); median over repeats, and images/s. The extractor alone by the
chunk size it is fed, against chunks of 1,000 in the same run. Then the same
end to end as `gankit eval` does it: generating the 10,000 images with a `classic` and a `dcgan` G
(untrained weights: the same arithmetic) and scoring them.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from gankit.config import DataConfig
from gankit.metrics.evaluate import prepare_reference, score
from gankit.modalities import SampleSpec
from gankit.modalities.image import ImageModality
from gankit.models import build_models
from gankit.pipeline import Pipeline, latents
from gankit.resolve import resolve_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.manual_seed(0)
    reference = prepare_reference(DataConfig(), "classifier", args.device)
    reference.train_features()  # warm the cache: the timed runs measure scoring, not first-time setup
    train = reference.train.samples
    pick = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:10_000]
    cases = {
        "real": train[pick],
        "noise": torch.randint(0, 256, (10_000, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)),
        "copies": train[:1].expand(10_000, -1, -1, -1).contiguous(),
    }
    keys = ["fid", "kid", "is", "precision", "recall", "density", "coverage", "class_coverage", "memorisation_rate"]
    print(f"{'case':<8}" + "".join(f"{k:>18}" for k in keys))
    for name, images in cases.items():
        m = score(images, reference)["metrics"]
        print(f"{name:<8}" + "".join(f"{m[k]:>18.4g}" for k in keys))
    times = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        score(cases["real"], reference)
        times.append(time.perf_counter() - started)
    median = statistics.median(times)
    print(f"scoring 10,000 samples with all metrics on {args.device} ({torch.get_num_threads()} threads): "
          f"median {median:.2f} s over {args.repeats} runs = {10_000 / median:,.0f} images/s "
          f"(runs: {', '.join(f'{t:.2f}' for t in times)} s)")
    # the feature extractor alone, by the chunk it is fed (gankit's is 250; 1,000 before 2026-12-02): same features
    extractor, baseline = reference.extractor, None
    for chunk in (1000, 500, 250, 100):
        times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            features, _ = extractor.extract(cases["real"], reference.device, batch_size=chunk)
            times.append(time.perf_counter() - started)
        baseline = baseline if baseline is not None else (statistics.median(times), features)
        same = "the same features" if torch.equal(features, baseline[1]) else "OTHER FEATURES"
        print(f"extracting 10,000 images' features in chunks of {chunk:>5,}: median {statistics.median(times):.2f} s, "
              f"{baseline[0] / statistics.median(times):.2f}x the chunks of 1,000 ({same})")
    for model in ("classic", "dcgan"):
        g, _ = build_models(resolve_config(overrides={"model.name": model}), (1, 28, 28))
        pipe = Pipeline(g.to(args.device).eval(), 100, SampleSpec((1, 28, 28), ImageModality()), args.device)
        z = latents(10_000, 100, 0, args.device)
        times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            score(pipe.generate(z), reference)
            times.append(time.perf_counter() - started)
        print(f"generating and scoring 10,000 samples ({model} G), all metrics: median "
              f"{statistics.median(times):.2f} s (runs: {', '.join(f'{t:.2f}' for t in times)} s)")


if __name__ == "__main__":
    main()
