"""`gankit export`'s work: a run's G written as a bundle (gankit.bundle), with ONNX and TorchScript graphs that
are checked against torch before they are kept.

Every graph is made from a frozen copy of G: eval mode (BatchNorm uses its running statistics), parametrizations
such as spectral norm baked into plain weights, and no random operation inside: z (and the labels of a
conditional G) are the graph's inputs, with a dynamic batch axis, and its output "x" is G's tensor. model.json
says how to decode it, so a program without gankit can.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import platform
import shutil
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
from safetensors.torch import save
from torch.nn.utils import parametrize

from gankit import __version__, bundle, space
from gankit.card import model_card
from gankit.config import MAX_SAMPLES, to_dict
from gankit.errors import GankitError, one_line
from gankit.pipeline import Pipeline
from gankit.runlog import read_eval_result

FORMATS = ("bundle", "onnx", "torchscript", "space", "space-onnx")
# the torch.export-based exporter (torch's default since 2.9; the TorchScript-based one is deprecated)
ONNX_EXPORTER = "torch.onnx.export(dynamo=True)"
ONNX_OPSET = 18
# the graphs are made at one batch size and checked at others: a single sample, and an odd batch
TRACE_BATCH = 2
PARITY_BATCHES = (1, 7)
# largest |graph - torch| accepted, on outputs in [-1, 1] or probabilities: float32 rounding differences are
# ~1e-7; a wrong graph (a baked-in batch, a dropped BatchNorm statistic) is off by far more
PARITY_TOLERANCE = 1e-4
EXPORT_EXTRA = "pip install 'gankit[export]'"
def parse_formats(text: str) -> list[str]:
    """'bundle,onnx' or 'all' -> the formats, in FORMATS order."""
    wanted = set(FORMATS) - {"space-onnx"} if text.strip() == "all" else {f.strip() for f in text.split(",") if f.strip()}
    unknown = sorted(wanted - set(FORMATS))
    if unknown or not wanted:
        raise GankitError(f"--format {text!r}: use one or more of {', '.join(FORMATS)} (comma-separated), or all")
    if {"space", "space-onnx"} <= wanted:
        raise GankitError("--format space and space-onnx are two Spaces, each with its own app.py: pick one")
    if "space" in wanted:  # the Space's page samples the bundle's weights
        wanted.add("bundle")
    if "space-onnx" in wanted:  # its page runs the ONNX graph, and reads the bundle's model.json
        wanted |= {"bundle", "onnx"}
    return [f for f in FORMATS if f in wanted]


def frozen(generator: nn.Module) -> nn.Module:
    """A copy of G for a graph: on the CPU, in eval mode, parametrizations (spectral norm) baked into plain
    weights, no gradients. G itself is left as it was."""
    g = copy.deepcopy(generator).cpu().eval()
    for module in g.modules():
        if parametrize.is_parametrized(module):
            # not parametrize.remove_parametrizations: the copy shares its parametrized class with G, and removing
            # deletes the class's properties, which would break G itself
            with torch.no_grad():
                values = {name: getattr(module, name).clone() for name in module.parametrizations}
            module.__class__ = module.__class__.__bases__[0]  # the class it had before it was parametrized
            del module.parametrizations
            for name, value in values.items():
                module.register_parameter(name, nn.Parameter(value))
    return g.requires_grad_(False)


def graph_inputs(pipe: Pipeline, batch: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """(z,) or (z, labels) for `batch` samples, on the CPU: what the exported graphs take; labels (batch, k) go
    through each condition's values."""
    z = pipe.latents(batch, seed).cpu()
    if not pipe.conditional:
        return (z,)
    return z, torch.stack([torch.arange(batch) % size for size in pipe.spec.label_sizes], dim=1)


def input_names(pipe: Pipeline) -> list[str]:
    return ["z", "labels"] if pipe.conditional else ["z"]


def check_parity(what: str, run_graph: Callable[[tuple[torch.Tensor, ...]], Any], g: nn.Module,
                 pipe: Pipeline) -> dict[str, Any]:
    """Run the graph and torch on the same inputs at each of PARITY_BATCHES; raises when they differ."""
    worst = 0.0
    for batch in PARITY_BATCHES:
        inputs = graph_inputs(pipe, batch, seed=batch)
        with torch.no_grad():
            want = g(*inputs).float()
        got = torch.as_tensor(run_graph(inputs)).float()
        if got.shape != want.shape:
            raise GankitError(f"the {what} graph of G makes shape {list(got.shape)} at batch {batch}, torch "
                              f"{list(want.shape)}; nothing was written. This is a bug in gankit: please report it")
        difference = float((got - want).abs().max().detach())
        if not difference <= PARITY_TOLERANCE:  # NaN fails too
            raise GankitError(f"the {what} graph of G does not match torch: max |difference| {difference:.3g} at "
                              f"batch {batch} (tolerance {PARITY_TOLERANCE:g}); nothing was written. This is a bug "
                              "in gankit or in the exporter: please report it")
        worst = max(worst, difference)
    return {"checked": True, "batches": list(PARITY_BATCHES), "max_abs_diff": worst, "tolerance": PARITY_TOLERANCE}


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """The exporters' chatter (deprecation notes, optional torchvision ops not found) is not the user's concern."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def export_onnx(g: nn.Module, pipe: Pipeline, path: Path) -> dict[str, Any]:
    """Write G as an ONNX graph at `path` and check it with onnxruntime (when installed); returns its record."""
    if tuple(int(part) for part in torch.__version__.split(".")[:2]) < (2, 6):
        raise GankitError(f"ONNX export needs torch 2.6 or newer (its torch.export-based exporter); this is torch "
                          f"{torch.__version__}")
    # onnxruntime (the parity check below, and the exporter's own use of it) writes a device id under ~/.cache
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    try:
        import onnx  # noqa: F401  (the exporter needs both, and fails deep inside without them)
        import onnxscript  # noqa: F401
    except ImportError:
        raise GankitError(f"ONNX export needs the onnx and onnxscript packages: {EXPORT_EXTRA}") from None
    inputs = graph_inputs(pipe, TRACE_BATCH)
    batch = torch.export.Dim("batch", min=1, max=MAX_SAMPLES)
    try:
        with _quiet_exporter():
            torch.onnx.export(g, inputs, str(path), dynamo=True, opset_version=ONNX_OPSET, verbose=False,
                              input_names=input_names(pipe), output_names=["x"], external_data=False,
                              dynamic_shapes=tuple({0: batch} for _ in inputs))
    except Exception as exc:  # the exporter's own errors are many and undocumented
        raise GankitError(f"could not export G to ONNX with {ONNX_EXPORTER}, opset {ONNX_OPSET} ({one_line(exc)}); "
                          "this is a bug in gankit or in torch: please report it") from None
    record = {"exporter": ONNX_EXPORTER, "opset": ONNX_OPSET, "torch": torch.__version__}
    try:
        import onnxruntime
    except ImportError:
        warnings.warn(f"{path.name} was not checked against torch: onnxruntime is not installed ({EXPORT_EXTRA})",
                      stacklevel=2)
        return {**record, "parity": {"checked": False, "why": "onnxruntime is not installed"}}
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = input_names(pipe)
    parity = check_parity("ONNX", lambda xs: session.run(None, {n: x.numpy() for n, x in zip(names, xs)})[0], g, pipe)
    return {**record, "parity": {**parity, "with": f"onnxruntime {onnxruntime.__version__}"}}


def export_torchscript(g: nn.Module, pipe: Pipeline, path: Path) -> dict[str, Any]:
    """Write G traced to TorchScript at `path`, load it back and check it; returns its record."""
    try:
        with _quiet_exporter(), torch.no_grad():
            traced = torch.jit.trace(g, graph_inputs(pipe, TRACE_BATCH), check_trace=False)
            torch.jit.save(traced, str(path))
            loaded = torch.jit.load(str(path))
    except Exception as exc:
        raise GankitError(f"could not trace G to TorchScript ({one_line(exc)}); this is a bug in gankit or in "
                          "torch: please report it") from None
    with torch.no_grad():
        parity = check_parity("TorchScript", lambda xs: loaded(*xs), g, pipe)
    return {"exporter": "torch.jit.trace", "torch": torch.__version__, "parity": {**parity, "with": "torch.jit.load"}}


def describe(pipe: Pipeline) -> dict[str, Any]:
    """model.json's description of G and its data (everything but the files and where it came from)."""
    config, spec = pipe.config, pipe.spec
    latent = f"float32 (N, {pipe.latent_dim}): z ~ N(0, I), one row per sample"
    inputs = {"z": latent}
    if pipe.conditional:
        columns = "; ".join(f"{c.name} 0..{len(c.values) - 1}" for c in spec.conditions)
        inputs["labels"] = f"int64 (N, {len(spec.conditions)}): a column per condition ({columns}), the names in " \
                           "`conditions`"
    settings = to_dict(config)
    return {"family": config.model.name, "params": settings["model"], "latent_dim": pipe.latent_dim,
            **spec.as_meta(), "inputs": inputs,
            "output": {"x": ["N", *spec.shape]}, "decode": spec.modality.decoding(),
            "config": settings}


def provenance(pipe: Pipeline) -> dict[str, Any]:
    """Where the weights came from: run, checkpoint, how long it trained, and its evaluation when there is one."""
    meta, checkpoint = pipe.meta, pipe.checkpoint
    run = checkpoint.parent.parent
    source = {"run": run.name, "checkpoint": checkpoint.name, "weights": pipe.weights,
              **{key: meta[key] for key in ("epoch", "images_seen", "train_seconds", "saved_at") if key in meta}}
    result = run / "eval" / f"{checkpoint.name}.json"
    evaluation = None
    if result.is_file():
        try:
            evaluation = read_eval_result(result)
        except GankitError as exc:
            warnings.warn(f"the card leaves out the evaluation: {exc}", stacklevel=2)
    return {"source": source, "evaluation": evaluation}


def write_bundle(pipe: Pipeline, out: Path, formats: list[str]) -> dict[str, Any]:
    """Export `pipe`'s G (from a run's checkpoint) into the new folder `out`; returns model.json.

    The folder is built under a hidden name beside `out` and renamed into place: a failure at any point leaves
    nothing behind, and an existing non-empty `out` is never touched.
    """
    out = Path(out)
    if out.exists() and not (out.is_dir() and not any(out.iterdir())):
        raise GankitError(f"--out {out} already exists and is not an empty folder; pick a new folder (export "
                          "never overwrites)")
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        model = _write_files(pipe, tmp, out.name, formats)
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except OSError as exc:
        raise GankitError(f"could not write {out} ({exc.strerror or exc}); nothing was written") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return model


def _write_files(pipe: Pipeline, folder: Path, name: str, formats: list[str]) -> dict[str, Any]:
    g = frozen(pipe.generator) if {"onnx", "torchscript"} & set(formats) else None  # graphs are made from a copy
    files: dict[str, dict[str, Any]] = {}
    if "bundle" in formats:
        state = {k: v.detach().cpu().contiguous().clone() for k, v in pipe.generator.state_dict().items()}
        # as bytes: safetensors' save_file makes the file private (0600), and a bundle is made to be shared
        (folder / bundle.WEIGHTS).write_bytes(save(state, metadata={"format": bundle.FORMAT}))
        files[bundle.WEIGHTS] = {}
    if "onnx" in formats:
        files[bundle.ONNX] = export_onnx(g, pipe, folder / bundle.ONNX)
    if "torchscript" in formats:
        files[bundle.TORCHSCRIPT] = export_torchscript(g, pipe, folder / bundle.TORCHSCRIPT)
    for file, record in files.items():
        record["sha256"] = bundle.sha256(folder / file)
        record["bytes"] = (folder / file).stat().st_size
    samples = pipe.sample(pipe.config.train.sample_count, seed=0)
    pipe.preview(samples, folder / bundle.PREVIEW, pipe.grid_columns(len(samples)) if pipe.conditional else None)
    model = {"format": bundle.FORMAT, "format_version": bundle.FORMAT_VERSION, **describe(pipe),
             "step": pipe.meta["step"], **provenance(pipe), "files": files,
             "versions": {"gankit": __version__, "torch": torch.__version__, "python": platform.python_version()}}
    (folder / bundle.MODEL_JSON).write_text(json.dumps(model, indent=1) + "\n")
    card = model_card(model, name)
    if "space" in formats:
        card = space.front_matter(model, light=False) + card
        space.write_gankit_space(folder)
    if "space-onnx" in formats:
        card = space.front_matter(model, light=True) + card
        space.write_onnx_space(folder, pipe, model)
    (folder / bundle.CARD).write_text(card)
    return model
