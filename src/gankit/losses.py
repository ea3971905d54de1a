"""GAN losses as pure functions of D's logits, in their numerically stable forms.

Each entry pairs D's loss (real and fake logits -> scalar) with G's (fake logits -> scalar).
sigmoid(x) is D's probability that x is real, so with softplus(x) = log(1 + e^x):
    -log(sigmoid(x))     = softplus(-x)
    -log(1 - sigmoid(x)) = softplus(x)
Losses never call backward, log, or know about devices; penalties live in regularizers.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from gankit.registry import Registry

Tensor = torch.Tensor


@dataclass(frozen=True)
class GANLoss:
    d: Callable[[Tensor, Tensor], Tensor]
    g: Callable[[Tensor], Tensor]
    # weight of the gradient penalty this loss needs by default (0: none)
    gp_weight: float = 0.0
    summary: str = ""
    # whether sigmoid(D's output) is D's probability that a sample is real (the BCE losses); for the others
    # D(x) and D(G(z)) in the logs are D's mean raw score, and the rules that read them as odds stay quiet
    probabilities: bool = False
    # how the logged D(x) and D(G(z)) read, and the value at which D cannot tell real from fake (None: none,
    # only the gap between them means something)
    scores: str = "D's probability of 'real'"
    neutral: float | None = 0.5
    # what the losses are expected to do: (early on, as G improves)
    dynamics: tuple[str, str] = ("D wins (D loss low, G loss high)", "D loss rises, G loss falls")

    def beliefs(self, logits: Tensor) -> Tensor:
        """D(x) or D(G(z)) as logged for a batch of D's outputs: its mean probability of "real" under the BCE
        losses, its mean raw score under the others (a critic's score squashed by a sigmoid says nothing)."""
        return torch.sigmoid(logits).mean() if self.probabilities else logits.mean()


LOSSES: Registry[GANLoss] = Registry("loss")


def auxiliary_loss(logits: Tensor, labels: Tensor, sizes: tuple[int, ...]) -> Tensor:
    """AC-GAN's auxiliary classifier (Odena et al. 2017): the cross-entropy of D's logits for each condition it names
    (B, sum of sizes), a block of `sizes[i]` per condition, against the labels (B, len(sizes)), summed over them."""
    return sum(F.cross_entropy(part, labels[:, i]) for i, part in enumerate(logits.split(list(sizes), dim=1)))


def bce_d(real: Tensor, fake: Tensor) -> Tensor:
    # BCE over the tutorial's combined batch [fake; real] with labels [0; 1]:
    # mean(-log D(x)) and mean(-log(1 - D(G(z)))) averaged; ln 2 = 0.693 when D outputs 1/2 everywhere
    return 0.5 * (F.softplus(-real).mean() + F.softplus(fake).mean())


def bce_g(fake: Tensor) -> Tensor:
    # non-saturating: G maximises log D(G(z)), i.e. minimises -log(sigmoid(f)) = softplus(-f)
    return F.softplus(-fake).mean()


def minimax_g(fake: Tensor) -> Tensor:
    # the original paper's: G minimises log(1 - D(G(z))) = -softplus(f); gradients vanish when D wins
    return -F.softplus(fake).mean()


def hinge_d(real: Tensor, fake: Tensor) -> Tensor:
    # mean(max(0, 1 - D(x))) + mean(max(0, 1 + D(G(z)))) on raw scores
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


def hinge_g(fake: Tensor) -> Tensor:
    return -fake.mean()


def least_squares_d(real: Tensor, fake: Tensor) -> Tensor:
    # LSGAN (Mao et al. 2017), targets 1 for real and 0 for fake: 1/2 E[(D(x)-1)^2] + 1/2 E[D(G(z))^2]
    return 0.5 * ((real - 1.0).square().mean() + fake.square().mean())


def least_squares_g(fake: Tensor) -> Tensor:
    return 0.5 * (fake - 1.0).square().mean()


def wasserstein_d(real: Tensor, fake: Tensor) -> Tensor:
    # critic estimates W1 as E[D(x)] - E[D(G(z))] and maximises it
    return fake.mean() - real.mean()


def wasserstein_g(fake: Tensor) -> Tensor:
    return -fake.mean()


LOSSES.add("bce", GANLoss(bce_d, bce_g, summary="non-saturating BCE (the tutorial's)", probabilities=True))
LOSSES.add("minimax", GANLoss(bce_d, minimax_g, summary="the original paper's saturating minimax", probabilities=True))
LOSSES.add("hinge", GANLoss(hinge_d, hinge_g, summary="hinge (SNGAN, BigGAN)",
                            scores="D's mean score (above +1 on real and below -1 on fakes when D wins)", neutral=0.0,
                            dynamics=("D wins (D loss near 0, every margin met; G loss high)",
                                      "D loss rises toward 2, G loss falls")))
LOSSES.add("lsgan", GANLoss(least_squares_d, least_squares_g, summary="least squares (LSGAN)",
                            scores="D's mean score (targets: 1 for real, 0 for fakes)",
                            dynamics=("D wins (D loss near 0, G loss near 0.5)",
                                      "D loss rises toward 0.25, G loss falls toward 0.125")))
LOSSES.add("wgan-gp", GANLoss(wasserstein_d, wasserstein_g, gp_weight=10.0,
                              summary="Wasserstein with gradient penalty (WGAN-GP)",
                              scores="the critic's mean score (unbounded: only the gap between real and fake, its "
                                     "estimate of their distance, means something)", neutral=None,
                              dynamics=("the critic tells them apart (D loss, minus that gap, far below 0)",
                                        "D loss rises toward 0; G loss drifts with the critic's scale")))
