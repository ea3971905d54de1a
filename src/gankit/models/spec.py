"""The model registry: name -> how to build (G, D) from a config, and what that config must satisfy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch.nn as nn

from gankit.config import Config
from gankit.registry import Registry


@dataclass(frozen=True)
class ModelSpec:
    # (config, sample_shape, num_classes) -> (G, D). G(z, y) returns samples, D(x, y) one logit per
    # sample, shape (B,); unconditional models ignore the labels y (None)
    build: Callable[[Config, tuple[int, ...], int], tuple[nn.Module, nn.Module]]
    # raises GankitError when the config asks for something the model cannot make
    check: Callable[[Config], None]
    # config values this model prefers over the field defaults (dotted keys); the user still wins
    defaults: dict[str, Any] = field(default_factory=dict)
    summary: str = ""
    # G and D take class labels: the data must have them, and fakes get uniformly drawn labels
    conditional: bool = False


MODELS: Registry[ModelSpec] = Registry("model")

ACTIVATIONS: Registry[Callable[[float], nn.Module]] = Registry("activation")
ACTIVATIONS.add("relu", lambda slope: nn.ReLU())
ACTIVATIONS.add("leaky_relu", lambda slope: nn.LeakyReLU(slope))  # f(x) = max(a*x, x), a = slope
ACTIVATIONS.add("tanh", lambda slope: nn.Tanh())
ACTIVATIONS.add("elu", lambda slope: nn.ELU())
ACTIVATIONS.add("gelu", lambda slope: nn.GELU())
ACTIVATIONS.add("silu", lambda slope: nn.SiLU())


def activation(name: str, slope: float) -> nn.Module:
    return ACTIVATIONS.get(name)(slope)
