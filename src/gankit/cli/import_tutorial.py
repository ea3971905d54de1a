"""gankit import-tutorial: bring the tutorial's own torch.save(state_dict) files into a gankit run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from gankit.checkpoint import FINAL
from gankit.errors import GankitError
from gankit.modalities import SampleSpec
from gankit.modalities.image import ImageModality
from gankit.resolve import resolve_config
from gankit.runs import create_run
from gankit.train.state import new_state, save

NAME = "import-tutorial"
HELP = "turn the tutorial's generator.ckpt (and discriminator.ckpt) into a gankit run"
DESCRIPTION = """Read the files the tutorial's code saves, torch.save(G.state_dict(), 'generator.ckpt') and
torch.save(D.state_dict(), 'discriminator.ckpt'), into a new run folder of gankit's classic model
(the tutorial's layers, same names), so you can sample, evaluate, interpolate, or keep training it.

The files are loaded with torch.load(weights_only=True): tensors only, no code from the file runs.
Without a discriminator file, D starts from fresh weights (only matters if you train further).
A discriminator with the tutorial's 256*3*3 last layer is refused: that layer crashes on the first
step, so such a D was never trained; fix it to 256*4*4 or import G alone.

examples:
  gankit import-tutorial generator.ckpt
  gankit import-tutorial generator.ckpt discriminator.ckpt --data mnist --name tutorial
  gankit sample runs/tutorial --n 64"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("generator", metavar="GENERATOR", help="the tutorial's generator state_dict (generator.ckpt)")
    parser.add_argument("discriminator", metavar="DISCRIMINATOR", nargs="?",
                        help="the tutorial's discriminator state_dict (discriminator.ckpt), optional")
    parser.add_argument("--data", default="mnist",
                        help="the dataset it was trained on, for evaluation and further training (default: mnist, "
                             "the tutorial's)")
    parser.add_argument("--out", metavar="DIR", default="runs", help="folder that holds run folders (default: runs)")
    parser.add_argument("--name", help="run folder name (default: the next free number)")


def run(args: argparse.Namespace) -> int:


    config = resolve_config(overrides={"model.name": "classic", "data.name": args.data, "train.device": "cpu"})
    shape = (1, 28, 28)
    generator = _state_dict(Path(args.generator), "generator")
    discriminator = _state_dict(Path(args.discriminator), "discriminator") if args.discriminator else None
    state = new_state(config, shape, torch.device("cpu"))
    _load(state.g, generator, args.generator, "generator")
    if discriminator is not None:
        _refuse_tutorial_bug(discriminator, args.discriminator)
        _load(state.d, discriminator, args.discriminator, "discriminator")
    run_dir = create_run(args.out, args.name, config)
    imported = {"generator": str(Path(args.generator).resolve()),
                "discriminator": str(Path(args.discriminator).resolve()) if args.discriminator else None}
    save(state, config, SampleSpec(shape, ImageModality()), run_dir / "checkpoints", FINAL,
         extra={"imported_from": imported})
    what = "G and D" if discriminator is not None else "G (D starts fresh)"
    print(f"gankit: imported the tutorial's {what} -> {run_dir}", file=sys.stderr)
    print(f"run folder: {run_dir}\nnext: gankit sample {run_dir}   gankit eval {run_dir}   "
          f"gankit train --resume {run_dir} --epochs 10")
    return 0


def _state_dict(path: Path, what: str) -> dict:
    """A state_dict of tensors from a torch.save file, without running any code stored in it."""


    if not path.is_file():
        raise GankitError(f"{what} file {path} does not exist")
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch.load fails in many ways on foreign bytes; each means "not a state_dict"
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise GankitError(f"{what} file {path} is not a torch.save file of plain tensors ({first[:200]})") from None
    if not isinstance(loaded, dict) or not loaded or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in loaded.items()):
        raise GankitError(f"{what} file {path} does not hold a state_dict (save it with "
                          f"torch.save(model.state_dict(), ...), not the model or a training state)")
    # a model saved while wrapped in DataParallel/DDP has every key prefixed with "module."
    if all(k.startswith("module.") for k in loaded):
        loaded = {k[len("module."):]: v for k, v in loaded.items()}
    return loaded


def _refuse_tutorial_bug(state: dict, path: str) -> None:
    weight = state.get("fc1.weight")
    if weight is not None and weight.dim() == 2 and weight.shape[1] == 256 * 3 * 3:
        raise GankitError(f"discriminator file {path} has the tutorial's Linear(256*3*3, 1) last layer, which "
                          "crashes on the first step (28 -> 14 -> 7 -> 4 makes it 256*4*4), so this D was never "
                          "trained; import the generator alone")


def _load(module, state: dict, path: str, what: str) -> None:
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise GankitError(f"{what} file {path} is not the tutorial's {what}: "
                          + "; ".join(part for part in (f"missing {', '.join(missing)}" if missing else "",
                                                        f"unexpected {', '.join(unexpected[:5])}" if unexpected else "")
                                      if part))
    for key, value in state.items():
        if tuple(value.shape) != tuple(expected[key].shape):
            raise GankitError(f"{what} file {path}: {key} has shape {tuple(value.shape)}, the tutorial's "
                              f"{what} has {tuple(expected[key].shape)}")
        if not value.is_floating_point() or not bool(value.isfinite().all()):
            raise GankitError(f"{what} file {path}: {key} holds non-finite or non-float values (a diverged run?)")
    module.load_state_dict({k: v.float() for k, v in state.items()})
