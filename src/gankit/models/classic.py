"""`classic`: the tutorial's GAN, layer for layer.

G: Linear 100->256->512->784 with ReLU, Tanh out, reshaped to 1x28x28.
D: Conv 1->64->128->256 (3x3, stride 2, padding 1, LeakyReLU 0.2), flatten, Linear 256*4*4 -> 1.
Two deliberate differences from the tutorial's code: D returns the logit (the sigmoid moves into the
loss, where BCE-with-logits is numerically stable; the maths is the same), and the last Linear has
256*4*4 inputs (28 -> 14 -> 7 -> 4), not the 256*3*3 that crashes the tutorial on its first step.
Layer names match the tutorial's, so its state_dicts load directly. First and last layers follow
the data's C x H x W.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from gankit.config import Config
from gankit.errors import GankitError
from gankit.models.spec import MODELS, ActivationParams, ModelSpec, activation, check_activations


class ClassicGenerator(nn.Module):
    def __init__(self, latent_dim: int, sample_shape: tuple[int, ...], act: str, slope: float):
        super().__init__()
        self.sample_shape = tuple(sample_shape)
        self.fc1 = nn.Linear(latent_dim, 256)
        self.fc2 = nn.Linear(256, 512)
        self.fc3 = nn.Linear(512, math.prod(sample_shape))
        self.act = activation(act, slope)
        self.tanh = nn.Tanh()

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:  # (B, latent) -> (B, C, H, W)
        out = self.act(self.fc1(z))
        out = self.act(self.fc2(out))
        return self.tanh(self.fc3(out)).view(-1, *self.sample_shape)


def _halved(size: int) -> int:
    return (size + 1) // 2  # conv 3x3, stride 2, padding 1: out = ceil(in / 2)


class ClassicDiscriminator(nn.Module):
    def __init__(self, sample_shape: tuple[int, ...], act: str, slope: float):
        super().__init__()
        channels, height, width = sample_shape
        self.conv1 = nn.Conv2d(channels, 64, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(64, 128, 3, stride=2, padding=1)
        self.conv3 = nn.Conv2d(128, 256, 3, stride=2, padding=1)
        self.flatten = nn.Flatten()
        h, w = _halved(_halved(_halved(height))), _halved(_halved(_halved(width)))
        self.fc1 = nn.Linear(256 * h * w, 1)  # 256*4*4 for 28x28
        self.act = activation(act, slope)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:  # (B, C, H, W) -> logits (B,)
        out = self.act(self.conv1(x))
        out = self.act(self.conv2(out))
        out = self.act(self.conv3(out))
        return self.fc1(self.flatten(out)).view(-1)


def build(config: Config, sample_shape: tuple[int, ...],
          label_sizes: tuple[int, ...] = ()) -> tuple[nn.Module, nn.Module]:
    p = config.model.params
    return (ClassicGenerator(config.model.latent_dim, sample_shape, p.g_activation, p.negative_slope),
            ClassicDiscriminator(sample_shape, p.d_activation, p.negative_slope))


def check(config: Config, sample_shape: tuple[int, ...]) -> None:
    check_activations(config.model.params)
    if len(sample_shape) != 3:
        raise GankitError(f"model classic makes images, and {config.data.name} holds samples of shape {sample_shape}")
    if min(sample_shape[1:]) < 8:
        raise GankitError(f"data.image_size {sample_shape[-1]} is too small for classic (D halves it three times); "
                          "use >= 8")


# the tutorial's sizes are fixed (100 -> 256 -> 512 -> C*H*W, 64-128-256 channels): only the activations vary
MODELS.add("classic", ModelSpec(build=build, params=ActivationParams, check=check,
                                summary="the tutorial's MLP G and conv D"))
