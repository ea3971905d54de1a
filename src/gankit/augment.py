"""DiffAugment (Zhao et al. 2020): differentiable augmentations applied to every image D sees.

Real and fake images go through the same random transformations in the D step, and fakes again in
the G step, so D cannot tell them apart by augmentation artefacts, and gradients flow through the
augmentation into G. This lets GANs train on small datasets without D memorising them.
A policy is a comma-separated list of registry names, e.g. "translation,cutout,color".
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from gankit.registry import Registry

# (rank, world) of the training processes; every augmentation takes it (one process: (0, 1))
Shard = tuple[int, int]
Augmentation = Callable[[torch.Tensor, torch.Generator, Shard], torch.Tensor]
AUGMENTATIONS: Registry[Augmentation] = Registry("augmentation")


def _per_image(x: torch.Tensor, shard: Shard, draw: Callable[[int], torch.Tensor]) -> torch.Tensor:
    """draw(n) for x's images: each process draws for the global batch and keeps its slice, so all
    generators stay in step (for checkpoints) and no two processes augment their images alike."""
    rank, world = shard
    return draw(len(x) * world)[rank * len(x) : (rank + 1) * len(x)]


def _uniform(x: torch.Tensor, generator: torch.Generator, shard: Shard, *shape: int) -> torch.Tensor:
    return _per_image(x, shard, lambda n: torch.rand(n, *shape, device=x.device, dtype=x.dtype, generator=generator))


def _offsets(x: torch.Tensor, generator: torch.Generator, shard: Shard, low: int, high: int) -> torch.Tensor:
    """(B, 1, 1) integers in [low, high)."""
    return _per_image(x, shard, lambda n: torch.randint(low, high, (n, 1, 1), device=x.device, generator=generator))


@AUGMENTATIONS.register("color")
def color(x: torch.Tensor, generator: torch.Generator, shard: Shard = (0, 1)) -> torch.Tensor:
    """Brightness +-0.5, saturation x[0, 2], contrast x[0.5, 1.5] per image (on -1..1 images)."""
    x = x + (_uniform(x, generator, shard, 1, 1, 1) - 0.5)
    if x.shape[1] > 1:
        mean = x.mean(dim=1, keepdim=True)
        x = (x - mean) * (_uniform(x, generator, shard, 1, 1, 1) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_uniform(x, generator, shard, 1, 1, 1) + 0.5) + mean


@AUGMENTATIONS.register("translation")
def translation(x: torch.Tensor, generator: torch.Generator, shard: Shard = (0, 1), ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to `ratio` of its size, filling with zeros (the mid grey of -1..1)."""
    b, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = _offsets(x, generator, shard, -sh, sh + 1)
    dx = _offsets(x, generator, shard, -sw, sw + 1)
    gy, gx = torch.meshgrid(torch.arange(h, device=x.device), torch.arange(w, device=x.device), indexing="ij")
    ys = (gy[None] + dy + 1).clamp(0, h + 1)
    xs = (gx[None] + dx + 1).clamp(0, w + 1)
    padded = F.pad(x, (1, 1, 1, 1))  # (B, C, H+2, W+2); out-of-range reads land on the zero border
    index = (ys * (w + 2) + xs).view(b, 1, h * w).expand(-1, x.shape[1], -1)
    return padded.flatten(2).gather(2, index).view_as(x)


@AUGMENTATIONS.register("cutout")
def cutout(x: torch.Tensor, generator: torch.Generator, shard: Shard = (0, 1), ratio: float = 0.5) -> torch.Tensor:
    """Zero a square of `ratio` times the image size at a random place in each image."""
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    oy = _offsets(x, generator, shard, 0, h + (1 - ch % 2))
    ox = _offsets(x, generator, shard, 0, w + (1 - cw % 2))
    gy, gx = torch.meshgrid(torch.arange(h, device=x.device), torch.arange(w, device=x.device), indexing="ij")
    ry, rx = gy[None] - (oy - ch // 2), gx[None] - (ox - cw // 2)  # position inside the square
    inside = (ry >= 0) & (ry < ch) & (rx >= 0) & (rx < cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


def parse_policy(policy: str) -> list[str]:
    names = [p.strip() for p in policy.split(",") if p.strip()]
    for name in names:
        AUGMENTATIONS.get(name)
    return names


def diff_augment(x: torch.Tensor, policy: list[str], generator: torch.Generator, shard: Shard = (0, 1)) -> torch.Tensor:
    for name in policy:
        x = AUGMENTATIONS.get(name)(x, generator, shard)
    return x
