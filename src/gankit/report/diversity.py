"""A cheap diversity signal for the mode-collapse rule: how varied a fixed batch of samples is, relative
to real images (1 = as varied as the data, near 0 = G makes one thing over and over)."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from gankit.data.batches import to_model_range
from gankit.sampling import latents

# latents for the probe come from this offset of the run's seed (apart from the grid's and evaluation's)
SEED_OFFSET = 3_000_000


def spread(images: torch.Tensor) -> float:
    """Mean pairwise L2 distance of images in -1..1, compared at no more than 32 px."""
    if images.shape[-1] > 32:
        images = F.adaptive_avg_pool2d(images, 32)
    return float(torch.pdist(images.flatten(1).float()).mean())


class DiversityProbe:
    """Samples a fixed latent batch with G in eval mode; touches neither training randomness nor weights.

    Args:
        real_u8: uint8 (N, C, H, W) training images on the device; n of them, chosen by seed, set the scale.
        labels: for a conditional G, class labels to draw the probe's labels from (None otherwise).
    """

    def __init__(self, real_u8: torch.Tensor, latent_dim: int, seed: int, labels: torch.Tensor | None = None,
                 n: int = 256):
        device = real_u8.device
        n = min(n, len(real_u8))
        pick = torch.randperm(len(real_u8), generator=torch.Generator().manual_seed(seed + SEED_OFFSET))[:n]
        self.real_spread = spread(to_model_range(real_u8[pick.to(device)]))
        self.z = latents(n, latent_dim, seed + SEED_OFFSET, device)
        self.y = labels[pick.to(labels.device)] if labels is not None else None

    @torch.no_grad()
    def __call__(self, g: nn.Module) -> float:
        was_training = g.training
        g.eval()
        try:
            return spread(g(self.z, self.y)) / max(self.real_spread, 1e-12)
        finally:
            g.train(was_training)
