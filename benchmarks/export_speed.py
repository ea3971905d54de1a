"""Sampling speed of an exported G: torch eager against onnxruntime (and the TorchScript trace), same G, same z.

    .venv/bin/python benchmarks/export_speed.py
    .venv/bin/python benchmarks/export_speed.py --model classic --batches 1,100 --repeats 7

G is built at the family's default size for 28x28 grey images (dcgan: width 64, 0.76M parameters; its weights do
not change the speed) and exported as `gankit export --format onnx,torchscript` does. Each repeat times every
runtime at every batch, one after another, so a drift in the machine's speed hits them alike; a timing is the
mean over as many calls as fill --seconds. The table gives the median samples/s and the ratio to torch eager
at the same batch. Threads: every runtime uses torch's default (one per core); onnxruntime gets the same count.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import onnxruntime
import torch

from gankit.export import export_onnx, export_torchscript, frozen
from gankit.modalities import SampleSpec
from gankit.modalities.image import ImageModality
from gankit.models import build_models
from gankit.pipeline import Pipeline
from gankit.resolve import resolve_config


def samples_per_second(run, batch: int, seconds: float) -> float:
    run(batch)  # warm-up: first-call allocations and kernel selection
    calls, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds or calls < 3:
        run(batch)
        calls += 1
    return calls * batch / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="dcgan")
    parser.add_argument("--batches", default="1,256")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    args = parser.parse_args()
    config = resolve_config(overrides={"model.name": args.model})
    g, _ = build_models(config, (1, 28, 28))
    pipe = Pipeline(g.eval(), config.model.latent_dim, SampleSpec((1, 28, 28), ImageModality()), "cpu", config)
    g = frozen(g)
    folder = Path(tempfile.mkdtemp())
    onnx_record = export_onnx(g, pipe, folder / "g.onnx")
    export_torchscript(g, pipe, folder / "g.pt")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    session = onnxruntime.InferenceSession(str(folder / "g.onnx"), options, providers=["CPUExecutionProvider"])
    traced = torch.jit.load(str(folder / "g.pt"))
    z = {b: torch.randn(b, config.model.latent_dim) for b in map(int, args.batches.split(","))}
    z_numpy = {b: v.numpy() for b, v in z.items()}

    def eager(b):
        with torch.no_grad():
            g(z[b])

    def script(b):
        with torch.no_grad():
            traced(z[b])

    runtimes = {"torch eager": eager, "onnxruntime": lambda b: session.run(None, {"z": z_numpy[b]}),
                "torchscript": script}
    rates: dict[tuple[str, int], list[float]] = {(r, b): [] for r in runtimes for b in z}
    for _ in range(args.repeats):
        for b in z:
            for name, run in runtimes.items():
                rates[(name, b)].append(samples_per_second(run, b, args.seconds))
    params = sum(p.numel() for p in g.parameters())
    print(f"{args.model} G ({params / 1e6:.2f}M parameters), 28x28 grey; torch {torch.__version__}, onnxruntime "
          f"{onnxruntime.__version__} (opset {onnx_record['opset']}), {torch.get_num_threads()} threads; median of "
          f"{args.repeats} repeats of {args.seconds:g} s")
    print(f"{'batch':>6} {'runtime':>12} {'samples/s':>11} {'ms/call':>9} {'vs eager':>9}")
    for b in z:
        base = statistics.median(rates[("torch eager", b)])
        for name in runtimes:
            rate = statistics.median(rates[(name, b)])
            print(f"{b:>6} {name:>12} {rate:>11.0f} {1000 * b / rate:>9.3f} {rate / base:>8.2f}x")


if __name__ == "__main__":
    main()
