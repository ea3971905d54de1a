"""Scores from the classifier's class probabilities: Inception Score and class coverage."""

from __future__ import annotations

import torch


def inception_score(probs: torch.Tensor, splits: int = 10) -> tuple[float, float]:
    """IS = exp(E_x KL(p(y|x) || p(y))), mean and std over equal parts (Salimans et al. 2016): `splits` of them,
    or fewer so that each holds at least 10 samples per class (a part of s samples cannot score above s: ten
    perfect samples of ten classes in ten parts would score 1)."""
    splits = max(1, min(splits, len(probs) // (10 * probs.shape[1])))
    probs = probs.double().clamp_min(1e-12)
    scores = []
    for part in probs.chunk(splits):
        marginal = part.mean(0, keepdim=True)
        scores.append((part * (part.log() - marginal.log())).sum(1).mean().exp())
    stacked = torch.stack(scores)
    return float(stacked.mean()), float(stacked.std(unbiased=False)) if len(scores) > 1 else 0.0


def class_coverage(fake_probs: torch.Tensor, real_probs: torch.Tensor, share: float = 0.5) -> tuple[float, list[float]]:
    """Share of classes whose share of the samples (by predicted class) is at least `share` times
    their share of the real held-out images (predicted the same way).

    Returns:
        (coverage in 0..1, per-class share of the samples).
    """
    k = fake_probs.shape[1]
    fake_share = torch.bincount(fake_probs.argmax(1), minlength=k).double() / len(fake_probs)
    real_share = torch.bincount(real_probs.argmax(1), minlength=k).double() / len(real_probs)
    covered = (fake_share >= share * real_share) & (real_share > 0)
    return float(covered.double().sum() / (real_share > 0).sum()), [round(v, 5) for v in fake_share.tolist()]
