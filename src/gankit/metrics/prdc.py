"""Precision and recall (Kynkäänniemi et al. 2019) and density and coverage (Naeem et al. 2020).

Each sample's neighbourhood is the ball reaching its k-th nearest neighbour within its own set.
Distances are computed in blocks, so 10,000 x 10,000 pairs never sit in memory at once, and all four
scores come from one pass over the fake-to-real distances (the real radii can be computed once and
cached: they do not depend on the samples).
"""

from __future__ import annotations

import torch

BLOCK = 2048
# neighbourhood sizes: k = 3 for precision/recall and k = 5 for density/coverage, as in the papers
K_PR, K_DC = 3, 5


def kth_neighbour_distances(x: torch.Tensor, ks: tuple[int, ...] = (K_PR, K_DC)) -> dict[int, torch.Tensor]:
    """{k: (N,) distance from each row of x to its k-th nearest other row}, for every k in one pass."""
    radii: dict[int, list] = {k: [] for k in ks}
    for block in x.split(BLOCK):
        ranked = torch.cdist(block, x).topk(max(ks) + 1, dim=1, largest=False).values  # column 0: the row itself
        for k in ks:
            radii[k].append(ranked[:, k])
    return {k: torch.cat(r) for k, r in radii.items()}


def nearest(queries: torch.Tensor, keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(distance, index) of each query's nearest key, in blocks."""
    dists, index = [], []
    for block in queries.split(BLOCK):
        d, i = torch.cdist(block, keys).min(1)
        dists.append(d)
        index.append(i)
    return torch.cat(dists), torch.cat(index)


def manifold_scores(real: torch.Tensor, fake: torch.Tensor,
                    real_radii: dict[int, torch.Tensor] | None = None) -> dict[str, float]:
    """precision: share of fakes inside the real manifold (k = 3 balls); recall: share of reals inside
    the fake one; density: mean number of real k = 5 balls holding each fake, over k (about 1 when fakes
    look like reals); coverage: share of real k = 5 balls holding at least one fake.

    Args:
        real_radii: kth_neighbour_distances(real), when already known.
    """
    real_radii = real_radii if real_radii is not None else kth_neighbour_distances(real)
    fake_radii = kth_neighbour_distances(fake, (K_PR,))[K_PR]
    in_real_manifold, real_balls_holding = [], []
    in_fake_manifold = torch.zeros(len(real), dtype=torch.bool, device=real.device)
    nearest_fake = torch.full((len(real),), float("inf"), device=real.device)
    for block, radii in zip(fake.split(BLOCK), fake_radii.split(BLOCK)):
        d = torch.cdist(block, real)  # (block, len(real))
        in_real_manifold.append((d <= real_radii[K_PR][None, :]).any(1))
        real_balls_holding.append((d <= real_radii[K_DC][None, :]).sum(1))
        in_fake_manifold |= (d <= radii[:, None]).any(0)
        nearest_fake = torch.minimum(nearest_fake, d.min(0).values)
    return {
        "precision": float(torch.cat(in_real_manifold).double().mean()),
        "recall": float(in_fake_manifold.double().mean()),
        "density": float(torch.cat(real_balls_holding).double().sum() / (K_DC * len(fake))),
        "coverage": float((nearest_fake <= real_radii[K_DC]).double().mean()),
    }
