"""`sngan`: Miyato et al. 2018, the CIFAR-10 ResNet: G of up-sampling residual blocks, D of residual
blocks with spectral normalisation on every layer, hinge loss, 5 D steps per G step, Adam(2e-4, 0, 0.9).
Built for 32 px; 28 px (grey) and 64 px work with the same plan as dcgan (start at 7 or 4 px).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import spectral_norm

from gankit.config import Config, opt
from gankit.models.dcgan import PLANS
from gankit.models.dcgan import check as dcgan_check
from gankit.models.spec import MODELS, ModelSpec


class UpBlock(nn.Module):
    """BN-ReLU-up-conv-BN-ReLU-conv, plus an up-sampled 1x1 shortcut."""

    def __init__(self, channels: int):
        super().__init__()
        self.bn1, self.bn2 = nn.BatchNorm2d(channels), nn.BatchNorm2d(channels)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.shortcut = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.interpolate(F.relu(self.bn1(x)), scale_factor=2)
        h = self.conv2(F.relu(self.bn2(self.conv1(h))))
        return h + self.shortcut(F.interpolate(x, scale_factor=2))


class ResNetGenerator(nn.Module):
    def __init__(self, latent_dim: int, sample_shape: tuple[int, ...], width: int):
        super().__init__()
        self.start, doublings = PLANS[sample_shape[-1]]
        self.width = width
        self.linear = nn.Linear(latent_dim, width * self.start * self.start)
        self.blocks = nn.Sequential(*[UpBlock(width) for _ in range(doublings)])
        self.bn = nn.BatchNorm2d(width)
        self.out = nn.Conv2d(width, sample_shape[0], 3, padding=1)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:  # (B, latent) -> (B, C, S, S)
        h = self.linear(z).view(-1, self.width, self.start, self.start)
        return torch.tanh(self.out(F.relu(self.bn(self.blocks(h)))))


class DownBlock(nn.Module):
    """(ReLU)-conv-ReLU-conv(-avgpool), plus a 1x1 shortcut; every conv spectrally normalised."""

    def __init__(self, c_in: int, c_out: int, downsample: bool, first: bool = False):
        super().__init__()
        self.conv1 = spectral_norm(nn.Conv2d(c_in, c_out, 3, padding=1))
        self.conv2 = spectral_norm(nn.Conv2d(c_out, c_out, 3, padding=1))
        self.shortcut = spectral_norm(nn.Conv2d(c_in, c_out, 1)) if (c_in != c_out or downsample) else None
        self.downsample, self.first = downsample, first

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x if self.first else F.relu(x)  # the first block sees images, not activations
        h = self.conv2(F.relu(self.conv1(h)))
        skip = x
        if self.downsample:
            h = F.avg_pool2d(h, 2)
        if self.first:  # "optimized block": pool before the shortcut conv
            skip = self.shortcut(F.avg_pool2d(x, 2))
        elif self.shortcut is not None:
            skip = self.shortcut(x)
            skip = F.avg_pool2d(skip, 2) if self.downsample else skip
        return h + skip


class ResNetDiscriminator(nn.Module):
    def __init__(self, sample_shape: tuple[int, ...], width: int):
        super().__init__()
        self.blocks = nn.Sequential(
            DownBlock(sample_shape[0], width, downsample=True, first=True),
            DownBlock(width, width, downsample=True),
            DownBlock(width, width, downsample=False),
            DownBlock(width, width, downsample=False),
        )
        self.linear = spectral_norm(nn.Linear(width, 1))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:  # -> logits (B,)
        h = F.relu(self.blocks(x)).sum(dim=(2, 3))  # global sum pooling
        return self.linear(h).view(-1)


@dataclass(frozen=True)
class SNGANParams:
    """SNGAN's activations (ReLU) and normalisation (spectral norm in D, BatchNorm in G) are the paper's."""

    width: int = opt(64, "channels of every residual block (the paper's CIFAR-10 nets use 128 in D, 256 in G)")


def build(config: Config, sample_shape: tuple[int, ...],
          label_sizes: tuple[int, ...] = ()) -> tuple[nn.Module, nn.Module]:
    width = config.model.params.width
    return ResNetGenerator(config.model.latent_dim, sample_shape, width), ResNetDiscriminator(sample_shape, width)


MODELS.add("sngan", ModelSpec(build=build, params=SNGANParams, check=dcgan_check,
                              summary="SNGAN: ResNet G, spectrally normalised ResNet D, hinge loss",
                              defaults={"train.loss": "hinge", "train.n_critic": 5, "train.beta1": 0.0,
                                        "train.beta2": 0.9, "train.lr_g": 2e-4, "train.lr_d": 2e-4}))
