"""Model families, one file each, every one registered in MODELS by name."""

from __future__ import annotations

import importlib

import torch
import torch.nn as nn

from gankit.config import Config
from gankit.models.spec import ACTIVATIONS, MODELS, ModelSpec, activation

__all__ = ["ACTIVATIONS", "MODELS", "ModelSpec", "activation", "build_models"]

# each module registers its models; this order is the order --help and error messages list them in
for _module in ("classic", "dcgan", "cgan", "sngan", "wavegan", "specgan", "textgan", "baselines", "arae"):
    importlib.import_module(f"gankit.models.{_module}")


def build_models(config: Config, sample_shape: tuple[int, ...], num_classes: int = 0) -> tuple[nn.Module, nn.Module]:
    """Build (G, D) for `config`, with weights drawn from `config.train.seed`.

    Args:
        sample_shape: (C, H, W) of one sample.
        num_classes: number of labels, for conditional models (0 otherwise).
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.train.seed)
        return MODELS.get(config.model.name).build(config, sample_shape, num_classes)
