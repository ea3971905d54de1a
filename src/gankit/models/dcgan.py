"""`dcgan`: Radford et al. 2016. G: transposed convs + BatchNorm + ReLU, Tanh out; D: strided convs
+ LeakyReLU 0.2 (BatchNorm after the first layer). 28, 32, 64 and 128 px; weights drawn N(0, 0.02).

Spatial plan: G starts at a 4x4 (32, 64 px) or 7x7 (28 px) map and doubles it per block; D mirrors it. A picture
twice as tall as wide (a spectrogram with twice the frequency rows, gankit.models.specgan) starts at 8x4.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from gankit.config import MAX_WIDTH, Config, opt, require
from gankit.errors import GankitError
from gankit.models.spec import MODELS, ActivationParams, ModelSpec, activation, check_activations

# image size -> (start map size, number of doublings)
PLANS = {28: (7, 2), 32: (4, 3), 64: (4, 4), 128: (4, 5)}


@dataclass(frozen=True)
class ConvParams(ActivationParams):
    """Settings of the DCGAN-shaped families (dcgan, wgan-gp, cgan)."""

    width: int = opt(64, "base channel count: G's last and D's first hidden layer; doubled per resolution step")
    d_width: int = opt(0, "D's own base channel count (0: the same as width); a narrower D trains faster on CPUs")
    d_norm: str = opt("batch", "normalisation in D's hidden layers: batch or none (a gradient penalty or R1 needs none)")
    upsample: str = opt("transposed", "how G doubles its maps: transposed (4x4 transposed convs, DCGAN's) or resize "
                                      "(nearest-neighbour doubling, then a 3x3 conv: no checkerboard, as fast)")


def plan(sample_shape: tuple[int, ...]) -> tuple[tuple[int, int], int]:
    """(G's first map as (rows, columns), the number of doublings) for samples (C, rows, columns)."""
    start, doublings = PLANS[sample_shape[-1]]
    return (start * sample_shape[-2] // sample_shape[-1], start), doublings


def doubling(c_in: int, c_out: int, upsample: str) -> list[nn.Module]:
    """Layers that double a map's side: DCGAN's 4x4 transposed conv, whose uneven overlaps can draw a checkerboard,
    or nearest-neighbour resizing then a 3x3 conv (Odena et al. 2016, "Deconvolution and Checkerboard Artifacts")."""
    if upsample == "resize":
        # nn.Identity holds the place of the nn.Upsample that came before the conv until 2026-12-07: checkpoints
        # written then keep their layer numbers
        return [nn.Identity(), ResizeConv(c_in, c_out)]
    return [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False)]


class ResizeConv(nn.Conv2d):
    """Nearest-neighbour doubling, then this 3x3 convolution with padding 1, computed as one transposed convolution.

    An output pixel on an even row sees the small map's row above and its own, one on an odd row its own and the
    one below (columns alike), with the 3x3 kernel's taps summed where they fall on the same small pixel: a 4x4
    transposed convolution of stride 2 whose kernel is made of those sums. The same numbers (to rounding) with
    4/9 of the multiply-adds and no doubled map in between: G's pass took the time of DCGAN's transposed G, half of
    upsampling's (benchmarks/resize_conv.py). The kernel's taps stay tied, so no checkerboard."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__(c_in, c_out, 3, 1, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, c_in, H, W) -> (B, c_out, 2H, 2W)
        kernel = _transposed_taps(_transposed_taps(self.weight, 2), 3).transpose(0, 1)  # (c_in, c_out, 4, 4)
        return F.conv_transpose2d(x, kernel, stride=2, padding=1)


def _transposed_taps(kernel: torch.Tensor, dim: int) -> torch.Tensor:
    """A 3x3 kernel's 3 taps (before, own, after) along `dim` as the 4 of a stride-2 transposed convolution (padding
    1) that computes resizing then the 3x3 kernel: an even output puts `before` on the small pixel before its own and
    `own + after` on its own, an odd one `before + own` on its own and `after` on the next."""
    before, own, after = kernel.unbind(dim)
    return torch.stack([after, own + after, before + own, before], dim)


class DCGANGenerator(nn.Module):
    def __init__(self, latent_dim: int, sample_shape: tuple[int, ...], width: int, act: str, slope: float,
                 upsample: str = "transposed"):
        super().__init__()
        start, doublings = plan(sample_shape)
        channels = width * 2 ** (doublings - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent_dim, channels, start, 1, 0, bias=False),
            nn.BatchNorm2d(channels),
            activation(act, slope),
        ]
        for _ in range(doublings - 1):
            layers += [*doubling(channels, channels // 2, upsample), nn.BatchNorm2d(channels // 2), activation(act, slope)]
            channels //= 2
        layers += [*doubling(channels, sample_shape[0], upsample), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:  # (B, latent) -> (B, C, H, W)
        return self.net(z[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    def __init__(self, sample_shape: tuple[int, ...], width: int, act: str, slope: float, norm: str):
        super().__init__()
        start, doublings = plan(sample_shape)
        channels = width
        layers: list[nn.Module] = [nn.Conv2d(sample_shape[0], channels, 4, 2, 1, bias=False), activation(act, slope)]
        for _ in range(doublings - 1):
            layers += [nn.Conv2d(channels, channels * 2, 4, 2, 1, bias=False)]
            if norm == "batch":
                layers += [nn.BatchNorm2d(channels * 2)]
            layers += [activation(act, slope)]
            channels *= 2
        self.body = nn.Sequential(*layers)  # (B, C, H, W) -> (B, channels, *start)
        self.channels = channels
        self.head = nn.Conv2d(channels, 1, start, 1, 0, bias=False)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:  # (B, C, H, W) -> logits (B,)
        return self.head(self.body(x)).view(-1)


def d_width(params) -> int:
    """D's base channel count (families that share check() without a d_width setting: width's)."""
    return getattr(params, "d_width", 0) or params.width


def init_weights(module: nn.Module) -> None:
    """DCGAN paper: all weights from N(0, 0.02); BatchNorm scales from N(1, 0.02), shifts 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def build(config: Config, sample_shape: tuple[int, ...],
          label_sizes: tuple[int, ...] = ()) -> tuple[nn.Module, nn.Module]:
    p = config.model.params
    g = DCGANGenerator(config.model.latent_dim, sample_shape, p.width, p.g_activation, p.negative_slope, p.upsample)
    d = DCGANDiscriminator(sample_shape, d_width(p), p.d_activation, p.negative_slope, p.d_norm)
    g.apply(init_weights)
    d.apply(init_weights)
    return g, d


def check(config: Config, sample_shape: tuple[int, ...], tall: bool = False) -> None:
    """Settings and samples these nets can make; `tall`: pictures twice as tall as wide too (spectrograms)."""
    p = config.model.params
    if hasattr(p, "g_activation"):
        check_activations(p)
    if hasattr(p, "d_norm"):
        require(p.d_norm in ("batch", "none"), "model.d_norm", "must be batch or none", p.d_norm)
    if hasattr(p, "upsample"):
        require(p.upsample in ("transposed", "resize"), "model.upsample", "must be transposed or resize", p.upsample)
    require(1 <= p.width <= MAX_WIDTH, "model.width", f"must be in 1..{MAX_WIDTH:,}", p.width)
    if hasattr(p, "d_width"):
        require(0 <= p.d_width <= MAX_WIDTH, "model.d_width", f"must be in 1..{MAX_WIDTH:,}, or 0 for width's", p.d_width)
    size = sample_shape[-1]
    if len(sample_shape) != 3 or sample_shape[1] not in ((size, 2 * size) if tall else (size,)) or size not in PLANS:
        raise GankitError(f"model {config.model.name} makes 28, 32, 64 or 128 px images, got data.image_size={size}; "
                          "pass --image-size 32 (or 28, 64, 128) or use --model classic")
    for name, width in (("model.width", p.width), ("model.d_width", d_width(p))):
        if width < 2 ** (PLANS[size][1] - 1):
            raise GankitError(f"{name} must be >= {2 ** (PLANS[size][1] - 1)} for {config.model.name} at {size} px")


def batch_norm_in_d(params: ConvParams) -> bool:
    return params.d_norm == "batch"


MODELS.add("dcgan", ModelSpec(build=build, params=ConvParams, check=check, batch_norm_in_d=batch_norm_in_d,
                              defaults={"train.beta1": 0.5},
                              summary="DCGAN: transposed-conv G, strided-conv D, BatchNorm"))
# Gulrajani et al. 2017: a DCGAN critic without BatchNorm, 5 critic steps per G step, gradient
# penalty 10, Adam(lr 1e-4, betas 0, 0.9)
MODELS.add("wgan-gp", ModelSpec(build=build, params=ConvParams, check=check, batch_norm_in_d=batch_norm_in_d,
                                summary="WGAN-GP: DCGAN nets, critic without BatchNorm",
                                defaults={"train.loss": "wgan-gp", "model.d_norm": "none", "train.n_critic": 5,
                                          "train.beta1": 0.0, "train.beta2": 0.9, "train.lr_g": 1e-4,
                                          "train.lr_d": 1e-4}))
