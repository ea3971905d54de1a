"""Precision and recall (Kynkäänniemi et al. 2019) and density and coverage (Naeem et al. 2020).

Each sample's neighbourhood is the ball reaching its k-th nearest neighbour within its own set.
Distances are computed in blocks, so 10,000 x 10,000 pairs never sit in memory at once.
"""

from __future__ import annotations

import torch

BLOCK = 2048


def kth_neighbour_distance(x: torch.Tensor, k: int) -> torch.Tensor:
    """(N,) distance from each row of x to its k-th nearest other row."""
    radii = []
    for block in x.split(BLOCK):
        d = torch.cdist(block, x)
        radii.append(d.topk(k + 1, dim=1, largest=False).values[:, k])  # +1: the row itself at distance 0
    return torch.cat(radii)


def nearest(queries: torch.Tensor, keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(distance, index) of each query's nearest key, in blocks."""
    dists, index = [], []
    for block in queries.split(BLOCK):
        d, i = torch.cdist(block, keys).min(1)
        dists.append(d)
        index.append(i)
    return torch.cat(dists), torch.cat(index)


def _inside_counts(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor) -> torch.Tensor:
    """(len(points),) how many balls (centres, radii) contain each point."""
    counts = []
    for block in points.split(BLOCK):
        counts.append((torch.cdist(block, centres) <= radii[None, :]).sum(1))
    return torch.cat(counts)


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> tuple[float, float]:
    """precision: share of fakes inside the real manifold; recall: share of reals inside the fake one."""
    precision = (_inside_counts(fake, real, kth_neighbour_distance(real, k)) > 0).double().mean()
    recall = (_inside_counts(real, fake, kth_neighbour_distance(fake, k)) > 0).double().mean()
    return float(precision), float(recall)


def density_coverage(real: torch.Tensor, fake: torch.Tensor, k: int = 5) -> tuple[float, float]:
    """density: mean number of real balls holding each fake, over k (about 1 when fakes look like reals);
    coverage: share of real balls that hold at least one fake."""
    radii = kth_neighbour_distance(real, k)
    density = _inside_counts(fake, real, radii).double().sum() / (k * len(fake))
    nearest_fake, _ = nearest(real, fake)
    coverage = (nearest_fake <= radii).double().mean()
    return float(density), float(coverage)
