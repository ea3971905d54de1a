"""Model families, one file each, every one registered in MODELS by name."""

from __future__ import annotations

import importlib

import torch
import torch.nn as nn

from gankit.config import Config
from gankit.models.spec import ACTIVATIONS, MODELS, ModelSpec, activation

__all__ = ["ACTIVATIONS", "AUTO", "MODELS", "ModelSpec", "activation", "build_models"]

# `--model auto`: the configuration that reached the lowest FID in the time-to-quality benchmark
# (benchmarks/time_to_quality.py, docs/benchmarks.md: 3.85 +- 0.13 FID over 3 seeds after 10 minutes on 2 CPU
# cores, against 20.2 for the tutorial's classic after 60); the user's own settings still win
AUTO: dict[str, object] = {"model.name": "dcgan", "train.ema_decay": 0.999}

# each module registers its models; this order is the order --help and error messages list them in
for _module in ("classic", "dcgan", "cgan", "sngan", "wavegan", "textgan", "baselines"):
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
