"""Model families, one file each, every one registered in MODELS by name."""

from __future__ import annotations

import torch
import torch.nn as nn

from gankit.config import Config
from gankit.models import classic, dcgan  # noqa: F401  (each registers itself)
from gankit.models.spec import ACTIVATIONS, MODELS, ModelSpec, activation

__all__ = ["ACTIVATIONS", "MODELS", "ModelSpec", "activation", "build_models"]


def build_models(config: Config, sample_shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
    """Build (G, D) for `config`, with weights drawn from `config.train.seed`."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.train.seed)
        return MODELS.get(config.model.name).build(config, sample_shape)
