"""Does G copy its training images? Nearest training neighbours of samples vs of new real images.

A sample's distance (in feature space) to its nearest training image is compared with the same
distance for held-out real images, which are new to the training set by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gankit.metrics.prdc import nearest


@dataclass
class Memorisation:
    # share of samples closer to a training image than 99% of held-out real images are
    rate: float
    # median nearest-training distance of samples over that of held-out reals (about 1: no copying); None
    # when half the held-out images have an exact twin among the training images, so there is no scale
    distance_ratio: float | None
    # the closest (sample index, training index, distance), closest first
    closest: list[tuple[int, int, float]]


def memorisation(fake: torch.Tensor, real_heldout: torch.Tensor, train: torch.Tensor, pairs: int = 16,
                 real_d: torch.Tensor | None = None) -> Memorisation:
    """Args:
        real_d: nearest(real_heldout, train) distances, when already known (they do not depend on G).
    """
    fake_d, fake_i = nearest(fake, train)
    if real_d is None:
        real_d, _ = nearest(real_heldout, train)
    threshold = torch.quantile(real_d.double().cpu(), 0.01)
    rate = float((fake_d.double().cpu() <= threshold).double().mean())
    typical = float(real_d.double().median())
    ratio = float(fake_d.double().median()) / typical if typical > 0 else None
    order = fake_d.argsort()[:pairs].tolist()
    closest = [(j, int(fake_i[j]), round(float(fake_d[j]), 5)) for j in order]
    return Memorisation(rate=rate, distance_ratio=ratio, closest=closest)
