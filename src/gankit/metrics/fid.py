"""Fréchet distance (FID) and kernel distance (KID) between two feature sets."""

from __future__ import annotations

import torch


def frechet_distance(real: torch.Tensor, fake: torch.Tensor) -> float:
    """FID: ||mu_r - mu_f||^2 + Tr(S_r + S_f - 2 (S_r S_f)^(1/2)), in float64.

    Tr((S_r S_f)^(1/2)) is the sum of the square roots of the eigenvalues of S_r S_f (real and
    non-negative in exact arithmetic, as S_r S_f is similar to a PSD matrix), which avoids sqrtm.

    Args:
        real, fake: features (N, D), (M, D).
    """
    real, fake = real.double(), fake.double()
    mu_r, mu_f = real.mean(0), fake.mean(0)
    cov_r, cov_f = torch.cov(real.T), torch.cov(fake.T)  # unbiased, divides by N - 1
    root_trace = torch.linalg.eigvals(cov_r @ cov_f).sqrt().real.sum()
    return float((mu_r - mu_f).square().sum() + cov_r.trace() + cov_f.trace() - 2 * root_trace)


def _polynomial_kernel(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # k(x, y) = (x.y / d + 1)^3, the kernel of Bińkowski et al. 2018
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def _unbiased_mmd2(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    m = x.shape[0]
    k_xx, k_yy, k_xy = _polynomial_kernel(x, x), _polynomial_kernel(y, y), _polynomial_kernel(x, y)
    within = (k_xx.sum() - k_xx.diagonal().sum() + k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1))
    return within - 2 * k_xy.sum() / (m * m)


def kernel_distance(real: torch.Tensor, fake: torch.Tensor, subsets: int = 100, subset_size: int = 1000,
                    seed: int = 0) -> tuple[float, float]:
    """KID: unbiased MMD^2 with a cubic polynomial kernel, mean and std over random subsets.

    Args:
        real, fake: features (N, D), (M, D).
        subsets: number of subsets drawn (without replacement within a subset).
        subset_size: images per subset from each side; capped at the smaller set.
        seed: seeds the subset draws.
    Returns:
        (mean, std) over subsets; std is the population std, 0 for one subset.
    """
    real, fake = real.double(), fake.double()
    size = min(subset_size, len(real), len(fake))
    generator = torch.Generator().manual_seed(seed)
    values = []
    for _ in range(subsets):
        r = real[torch.randperm(len(real), generator=generator)[:size].to(real.device)]
        f = fake[torch.randperm(len(fake), generator=generator)[:size].to(fake.device)]
        values.append(_unbiased_mmd2(r, f))
    stacked = torch.stack(values)
    return float(stacked.mean()), float(stacked.std(unbiased=False)) if len(values) > 1 else 0.0
