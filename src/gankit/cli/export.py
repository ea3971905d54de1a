"""gankit export: a run's generator as a folder that works without the run (and, as ONNX, without gankit)."""

from __future__ import annotations

import argparse
from pathlib import Path

from gankit.bundle import is_bundle
from gankit.errors import GankitError
from gankit.export import parse_formats, write_bundle
from gankit.pipeline import Pipeline
from gankit.runs import open_run

NAME = "export"
HELP = "a run's G as a bundle: safetensors + model.json + card, ONNX, TorchScript"
DESCRIPTION = """Write a run's generator (its EMA weights when the run kept them) into a new folder, with
model.json (what G is, its inputs, how to decode its output, where it came from, each file's sha256)
and README.md (a model card: data, training, the run's evaluation of that checkpoint, a preview, how
to use it).

formats (--format, comma-separated, or all; default bundle):
  bundle       generator.safetensors: `gankit sample DIR`, `gankit eval DIR` and gankit.Pipeline load it
  onnx         generator.onnx, opset 18, from torch.onnx.export's torch.export-based exporter; checked
               against torch with onnxruntime at batch 1 and 7 (needs: pip install 'gankit[export]')
  torchscript  generator.pt, traced; loaded back and checked against torch at batch 1 and 7
  space        the bundle as a Hugging Face Space: app.py (gankit demo's page), requirements.txt
               (gankit[demo] at this version) and the Space's settings atop README.md; upload the
               folder as a Gradio Space, or run `python app.py` in it
  space-onnx   a lighter Space on onnxruntime and numpy alone (no torch, no gankit): app.py, space.json,
               decode.py, requirements.txt (gradio, onnxruntime, numpy); implies onnx. Its seeds are
               numpy's, as in the model card's onnxruntime script

The graphs take z (float32, N x latent size) and, for conditional models, labels (int64, N x k: a column
per condition, the class first); the batch axis N is free. G runs in eval mode with no randomness inside. A graph that does not match torch is not
written, and a failed export leaves nothing behind.

examples:
  gankit export runs/my-run --out my-gan
  gankit export runs/my-run --format all --out my-gan --checkpoint best
  gankit sample my-gan --n 64 --out grid.png"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="run folder to export")
    parser.add_argument("--out", metavar="DIR", required=True, help="new folder to write (refused if it exists and is "
                        "not empty)")
    parser.add_argument("--format", default="bundle", help="bundle, onnx, torchscript, space or space-onnx "
                        "(comma-separated), or all but space-onnx (default: bundle)")
    parser.add_argument("--checkpoint", metavar="NAME", help="checkpoint name or step (default: final, else the newest)")


def run(args: argparse.Namespace) -> int:
    formats = parse_formats(args.format)
    if is_bundle(args.run):
        raise GankitError(f"{args.run} is already an export; export the run it came from (its model.json names it)")
    run_dir, _ = open_run(args.run)
    pipe = Pipeline.from_run(run_dir, args.checkpoint, "cpu")
    out = Path(args.out)
    model = write_bundle(pipe, out, formats)
    weights = "its EMA weights" if pipe.weights == "G_ema" else "its weights"
    print(f"exported {run_dir} (checkpoint {pipe.checkpoint.name}, step {pipe.meta['step']}, {weights}) to {out}/")
    for name, record in model["files"].items():
        parity = record.get("parity")
        checked = ""
        if parity and parity.get("checked"):
            checked = (f"; {parity['with']} matches torch: max |difference| {parity['max_abs_diff']:.2g} at batches "
                       f"{', '.join(map(str, parity['batches']))}")
        elif parity:
            checked = f"; NOT checked against torch: {parity['why']}"
        how = f"{record['exporter']}, opset {record['opset']}" if "opset" in record else record.get("exporter", "")
        print(f"  {name:<22} {record['bytes'] / 2**20:7.2f} MiB  {how}{checked}".rstrip())
    print(f"  README.md (the model card), preview.png, model.json\nsample it: gankit sample {out} --n 16")
    if "space" in formats:
        print(f"  app.py, requirements.txt: a Hugging Face Space (sdk gradio); try it here: gankit demo {out}")
    if "space-onnx" in formats:
        print("  app.py, space.json, decode.py, requirements.txt: a Hugging Face Space (sdk gradio) on onnxruntime and "
              f"numpy alone; try it here: python {out}/app.py")
    return 0
