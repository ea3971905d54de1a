"""A cheap diversity signal for the mode-collapse rule: how varied a fixed batch of samples is, relative
to real data (1 = as varied as the data, near 0 = G makes one thing over and over).

For a conditional G it is measured within each class and averaged: a G that ignores z and makes one sample per
class is collapsed, though its classes differ from each other (a 30-minute cspecgan run on notes did this between
epochs 45 and 75, and the spread over all classes stayed at 0.9 to 1.1 of the data's)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn as nn

from gankit.modalities import Modality
from gankit.pipeline import latents
from gankit.seeds import DIVERSITY


class DiversityProbe:
    """Samples a fixed latent batch with G in eval mode; touches neither training randomness nor weights.

    Args:
        real: the training samples on the device, as batches are cut from them; n of them, chosen by seed, set
            the scale.
        to_model: what turns such samples into the model's tensor (the trainer's batches say).
        modality: what the samples are; its `spread` measures the diversity.
        labels: for a conditional G, the data's label rows (N, k) to take the probe's from (None otherwise).
    """

    def __init__(self, real: torch.Tensor, to_model: Callable[[torch.Tensor], torch.Tensor], modality: Modality,
                 latent_dim: int, seed: int,
                 labels: torch.Tensor | None = None, n: int = 256):
        device = real.device
        n = min(n, len(real))
        pick = torch.randperm(len(real), generator=torch.Generator().manual_seed(seed + DIVERSITY))[:n]
        self.spread = modality.spread
        chosen = to_model(real[pick.to(device)])
        self.real_spread = self.spread(chosen)
        self.z = latents(n, latent_dim, seed + DIVERSITY, device)
        self.y = labels[pick.to(labels.device)] if labels is not None else None
        # each combination of conditions (a class) -> (where in the batch, the real spread within it), for those with
        # two samples or more
        self.classes: dict[tuple[int, ...], tuple[torch.Tensor, float]] = {}
        if self.y is not None:
            for row in self.y.unique(dim=0):
                where = (self.y == row).all(dim=1).nonzero().flatten()
                if len(where) >= 2 and (within := self.spread(chosen[where])) > 0:
                    self.classes[tuple(row.tolist())] = (where, within)

    @torch.no_grad()
    def __call__(self, g: nn.Module) -> float:
        was_training = g.training
        g.eval()
        try:
            fake = g(self.z, self.y)
            if not self.classes:
                return self.spread(fake) / max(self.real_spread, 1e-12)
            ratios = [(len(where), self.spread(fake[where]) / within) for where, within in self.classes.values()]
            return sum(n * r for n, r in ratios) / sum(n for n, _ in ratios)
        finally:
            g.train(was_training)
