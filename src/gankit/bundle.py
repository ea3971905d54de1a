"""Bundles: a trained G on its own, as `gankit export` writes it, for use with or without gankit.

A bundle is one folder:
    model.json               what G is and how to use it: family and settings, latent size, classes, the kind of
                             data and how to decode G's output, where it came from, each file's sha256
    generator.safetensors    G's weights (the EMA copy when the run kept one): what gankit samples from
    generator.onnx           the same G as an ONNX graph (--format onnx), for onnxruntime and friends
    generator.pt             the same G traced to TorchScript (--format torchscript), for torch.jit.load / libtorch
    README.md, preview.png   the model card and samples from seed 0
Every file that model.json lists must match its digest, so a bundle copied with a damaged file is refused.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from gankit.errors import GankitError, read_json

FORMAT = "gankit-bundle"
FORMAT_VERSION = 1
MODEL_JSON = "model.json"
WEIGHTS = "generator.safetensors"
ONNX = "generator.onnx"
TORCHSCRIPT = "generator.pt"
CARD = "README.md"
PREVIEW = "preview.png"


def is_bundle(path: str | Path) -> bool:
    """Whether `path` is a folder holding a bundle's model.json (valid or not: read_bundle says)."""
    return (Path(path) / MODEL_JSON).is_file()


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_bundle(path: str | Path, need: str | None = WEIGHTS) -> dict[str, Any]:
    """model.json of the bundle at `path`, after checking its form and the digest of file `need` (which
    must be listed; None checks every listed file).

    Raises GankitError naming what is wrong and how to get a good copy.
    """
    path = Path(path)
    model = read_json(path / MODEL_JSON, f"{path} is not a gankit bundle ({MODEL_JSON} is missing); make one with "
                      "gankit export", f"bundle {path}: {MODEL_JSON} is unreadable", "; export the run again")
    if not isinstance(model, dict) or model.get("format") != FORMAT:
        raise GankitError(f"bundle {path}: {MODEL_JSON} is not a gankit bundle's; export the run again")
    if type(model.get("format_version")) is not int or model["format_version"] > FORMAT_VERSION:
        raise GankitError(f"bundle {path} was written by a newer gankit (or is damaged); upgrade gankit to read it")
    files = model.get("files")
    if not (isinstance(files, dict) and all(isinstance(v, dict) and isinstance(v.get("sha256"), str)
                                            for v in files.values())):
        raise GankitError(f"bundle {path}: {MODEL_JSON} lists no valid files; export the run again")
    for key, kind in (("config", dict), ("step", int), ("latent_dim", int)):
        if type(model.get(key)) is not kind:
            raise GankitError(f"bundle {path}: {MODEL_JSON} lacks a valid {key!r}; export the run again")
    if need is not None and need not in files:
        formats = {WEIGHTS: "bundle", ONNX: "onnx", TORCHSCRIPT: "torchscript"}
        raise GankitError(f"bundle {path} holds no {need} ({', '.join(sorted(files))} only); export the run with "
                          f"--format {formats.get(need, 'bundle')}")
    for name in [need] if need is not None else files:
        if Path(name).name != name:
            raise GankitError(f"bundle {path}: {MODEL_JSON} lists a file outside the bundle ({name!r})")
        target = path / name
        if not target.is_file():
            raise GankitError(f"bundle {path} is incomplete: {name} is missing; copy the whole folder")
        if sha256(target) != files[name]["sha256"]:
            raise GankitError(f"bundle {path}: {name} does not match the sha256 in {MODEL_JSON} (damaged or "
                              "changed after export); copy it again from the original or export the run again")
    return model
