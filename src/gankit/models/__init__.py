"""Model families, one file each, every one registered in MODELS by name."""

from __future__ import annotations

import contextlib
import importlib
from pathlib import Path

import torch
import torch.nn as nn

from gankit.config import Config
from gankit.errors import GankitError
from gankit.models.spec import ACTIVATIONS, MODELS, ModelSpec, activation

__all__ = ["ACTIVATIONS", "MODELS", "ModelSpec", "activation", "build_models"]

# each module registers its models; this order is the order --help and error messages list them in
for _module in ("classic", "dcgan", "cgan", "sngan", "wavegan", "specgan", "textgan", "baselines", "arae"):
    importlib.import_module(f"gankit.models.{_module}")


def build_models(config: Config, sample_shape: tuple[int, ...],
                 label_sizes: tuple[int, ...] = ()) -> tuple[nn.Module, nn.Module]:
    """Build (G, D) for `config`, with weights drawn from `config.train.seed`.

    Args:
        sample_shape: (C, H, W) of one sample.
        label_sizes: how many values each condition has, for conditional models (gankit.conditions; () otherwise).
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.train.seed)
        return MODELS.get(config.model.name).build(config, sample_shape, label_sizes)


# bytes per parameter while training: fp32 weights, gradients and Adam's two moments
TRAINING_BYTES_PER_PARAMETER = 16


def check_fits(config: Config, sample_shape: tuple[int, ...], device: torch.device, label_sizes: tuple[int, ...] = (),
               training: bool = True) -> None:
    """Refuse, before allocating anything, networks whose weights (and for training their gradients and optimizer
    states) alone exceed the memory free on `device` (the networks are built on the meta device: no memory, no
    time). Without `training`, G's weights alone: what sampling from a saved run or a bundle needs."""
    with torch.device("meta"), _initialisation_skipped():
        g, d = MODELS.get(config.model.name).build(config, sample_shape, label_sizes)
    counts = [sum(p.numel() for p in net.parameters()) if net is not None else 0 for net in (g, d)]
    if training:
        needed = TRAINING_BYTES_PER_PARAMETER * sum(counts) + (4 * counts[0] if config.train.ema_decay > 0 else 0)
        what = f"{counts[0]:,} parameters in G and {counts[1]:,} in D: {{}} GiB for weights, gradients and Adam's moments"
    else:
        needed, what = 4 * counts[0], f"{counts[0]:,} parameters in G: {{}} GiB for its weights"
    free = free_memory(device)
    if free is not None and needed > free:
        raise GankitError(f"model {config.model.name} at these settings has {what.format(f'{needed / 2**30:,.1f}')} "
                          f"alone, more than the {free / 2**30:,.1f} GiB free on {device.type}; lower model.width "
                          "or model.latent_dim")


@contextlib.contextmanager
def _initialisation_skipped():
    """torch.nn.init's fills left out while networks are built on the meta device only to be counted: there PyTorch
    runs them through its Python reference implementations, whose first use imports torch._dynamo (2.5 s at every
    `gankit sample`), for values that do not exist. Layers' own resets call them through torch.nn.init too."""
    fills = [name for name in dir(torch.nn.init) if name.endswith("_") and not name.startswith("_")]
    saved = {name: getattr(torch.nn.init, name) for name in fills}
    for name in fills:
        setattr(torch.nn.init, name, _unchanged)
    try:
        yield
    finally:
        for name, fill in saved.items():
            setattr(torch.nn.init, name, fill)


def _unchanged(tensor: torch.Tensor, *args, **kwargs) -> torch.Tensor:
    return tensor


def free_memory(device: torch.device) -> int | None:
    """Bytes free for tensors on `device` (None where it cannot be told)."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    if device.type == "cpu":
        try:
            for line in Path("/proc/meminfo").read_text().splitlines():
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            return None
    return None
