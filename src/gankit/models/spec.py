"""The model registry: name -> how to build (G, D), the family's own settings, and what they must satisfy."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn as nn

from gankit.config import Config, opt, require
from gankit.registry import Registry


def no_check(config: Config, sample_shape: tuple[int, ...]) -> None:
    pass


@dataclass(frozen=True)
class ModelSpec:
    # (config, sample_shape, label_sizes) -> (G, D). G(z, y) returns samples, D(x, y) one logit per sample, shape
    # (B,); y holds a row of labels per sample, one column per condition (gankit.conditions), label_sizes how many
    # values each has; unconditional models ignore y (None) and get label_sizes ()
    build: Callable[[Config, tuple[int, ...], tuple[int, ...]], tuple[nn.Module, nn.Module]]
    # the family's settings: a frozen dataclass of opt() fields, set as model.<field> and saved in [model]
    params: type
    # (config, sample_shape) -> raises GankitError when the config asks for something the model cannot make
    check: Callable[[Config, tuple[int, ...]], None] = no_check
    # config values this model prefers over the field defaults (dotted keys); the user still wins
    defaults: dict[str, Any] = field(default_factory=dict)
    summary: str = ""
    # G and D take labels: the data must have them, and fakes' labels are drawn from the data's (gankit.conditions)
    conditional: bool = False
    # D can also name conditions (train.aux_conditions): D(x, y, classify=True) returns (logits, aux logits (B, the
    # sum of the named conditions' sizes))
    auxiliary: bool = False
    # the kinds of data (gankit.modalities) the family makes
    modalities: tuple[str, ...] = ("image",)
    # fitted by maximum likelihood (gankit.train.likelihood), not trained in a game: build returns (G, None)
    likelihood: bool = False
    # whether D, built with these params, mixes the samples of a batch (BatchNorm): per-sample penalties
    # (gradient penalty, R1) are then meaningless
    batch_norm_in_d: Callable[[Any], bool] = lambda params: False
    # sound families that train on spectrograms: config -> the view (gankit.modalities.spectrogram.SpectrogramView)
    # the modality computes from the clips and turns G's pictures back from; None: the modality's own samples
    spectrogram: Callable[[Config], Any] | None = None
    # a family whose game is not played on G's samples (arae: on codes) brings its own steps 2-5, called once per D
    # step: (state, real batch as the model sees it, z, rules, g_turn) -> stats; None: d_step and g_step on samples
    game: Callable[..., dict] | None = None
    # (G, the family's params) -> Adam parameter groups of G's optimizer, each overriding what it changes (arae: its
    # autoencoder's own rate); None: one group, train.lr_g
    g_param_groups: Callable[[nn.Module, Any], list[dict]] | None = None


MODELS: Registry[ModelSpec] = Registry("model")


def bind_noise(net: nn.Module, generator: torch.Generator) -> None:
    """Point every layer that draws random numbers in its forward pass (it says so with `draws_noise`) at
    `generator`: the run's noise generator, saved in every checkpoint, so a resumed run draws the same."""
    for module in net.modules():
        if getattr(module, "draws_noise", False):
            module.generator = generator


def grad_norm(module: nn.Module) -> torch.Tensor:
    """L2 norm of all of a module's gradients together."""
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))


@contextmanager
def frozen(module: nn.Module):
    """Train G "against a fixed D": no gradients are computed for D's parameters meanwhile."""
    flags = [p.requires_grad for p in module.parameters()]
    module.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(module.parameters(), flags):
            p.requires_grad_(flag)


class LabelEmbedding(nn.Embedding):
    """A learned vector for every value of every condition, summed over a sample's conditions: (B, k) -> (B, dim).

    One table, the first condition's rows first, so that a one-condition model's weights are exactly a plain
    embedding of its classes under the same name (checkpoints from before conditions had names load unchanged).
    """

    def __init__(self, label_sizes: tuple[int, ...], dim: int):
        super().__init__(sum(label_sizes), dim)
        # summed in Python: a tensor's cumsum on the meta device (check_fits) imports torch._dynamo, 2.5 s
        self.register_buffer("starts", torch.tensor(list(itertools.accumulate((0, *label_sizes[:-1])))),
                             persistent=False)

    def forward(self, y: torch.Tensor) -> torch.Tensor:  # (B, k) label rows -> (B, dim)
        return super().forward(y + self.starts).sum(dim=1)


def aux_columns(config: Config) -> tuple[int, ...]:
    """The label columns D names under train.aux_conditions (their order in data.conditions)."""
    told = [name.strip() for name in config.data.conditions.split(",")]
    return tuple(told.index(name.strip()) for name in config.train.aux_conditions.split(",") if name.strip())


def label_code(label_sizes: tuple[int, ...], dim: int) -> LabelEmbedding:
    """A conditional G's learned code for each value of its conditions, its rows orthonormal to start with, as
    one-hot labels are.

    PyTorch's default N(0, 1) rows have norm sqrt(dim), about 7 for 50 dimensions, as large as z's 10: cgan's G
    then made one image per class whatever z was (recall 0.002 after 3 minutes of `--model cgan` on
    Fashion-MNIST; 0.18 after 1 minute with unit rows).
    """
    code = LabelEmbedding(label_sizes, dim)
    nn.init.orthogonal_(code.weight)
    return code


ACTIVATIONS: Registry[Callable[[float], nn.Module]] = Registry("activation")
ACTIVATIONS.add("relu", lambda slope: nn.ReLU())
ACTIVATIONS.add("leaky_relu", lambda slope: nn.LeakyReLU(slope))  # f(x) = max(a*x, x), a = slope
ACTIVATIONS.add("tanh", lambda slope: nn.Tanh())
ACTIVATIONS.add("elu", lambda slope: nn.ELU())
ACTIVATIONS.add("gelu", lambda slope: nn.GELU())
ACTIVATIONS.add("silu", lambda slope: nn.SiLU())


def activation(name: str, slope: float) -> nn.Module:
    return ACTIVATIONS.get(name)(slope)


@dataclass(frozen=True)
class ActivationParams:
    """Settings of a family whose hidden activations are configurable (the tutorial's ReLU, LeakyReLU(a), Tanh)."""

    g_activation: str = opt("relu", "G's hidden activation: relu, leaky_relu, tanh, elu, gelu, silu")
    d_activation: str = opt("leaky_relu", "D's hidden activation, same choices")
    negative_slope: float = opt(0.2, "slope a of leaky_relu, f(x) = max(a*x, x)")


def check_activations(params: ActivationParams) -> None:
    require(params.negative_slope >= 0, "model.negative_slope", "must be >= 0", params.negative_slope)
    for key, name in (("model.g_activation", params.g_activation), ("model.d_activation", params.d_activation)):
        require(name in ACTIVATIONS, key, f"must be one of {', '.join(ACTIVATIONS.names())}", name)
