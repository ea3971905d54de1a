"""G_ema: an exponential moving average of G's weights, which previews, evaluation and sampling use.

Two refinements over a plain average (Karras et al. 2020, StyleGAN2-ADA; Brock et al. 2019, BigGAN):
  - ramp-up: early in training G moves fast, and an average over the last ~700 steps (decay 0.999) is mostly
    G as it was, worse than G now. With a ramp-up r, the average's half-life is at most r times the G steps
    done, so G_ema follows G closely at first and settles to the decay's half-life as training goes on.
  - BatchNorm statistics: G_ema's weights are an average, and the running statistics copied from the live G
    belong to G's weights, not to these. Before G_ema is used they are measured afresh: G_ema in training mode
    over a few batches of new z, each batch's statistics averaged with equal weight.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from gankit import conditions
from gankit.seeds import EMA_STATISTICS

# batches of z (of the training batch size, at least this many samples in all) that measure G_ema's statistics
STATISTICS_BATCHES = 8
STATISTICS_MIN_SAMPLES = 512


def ema_decay(decay: float, rampup: float, step: int) -> float:
    """The decay for the update after G step `step` (1, 2, ...): `decay`, or less while the ramp-up limits the
    half-life to `rampup * step` G steps."""
    if rampup <= 0:
        return decay
    half_life = math.log(0.5) / math.log(decay)  # in G steps
    return 0.5 ** (1.0 / max(min(half_life, rampup * step), 1e-8))


@torch.no_grad()
def ema_update(g_ema: nn.Module, g: nn.Module, decay: float) -> None:
    """g_ema <- decay * g_ema + (1 - decay) * g; buffers (BatchNorm statistics) are copied."""
    torch._foreach_lerp_(list(g_ema.parameters()), list(g.parameters()), 1.0 - decay)
    for e, b in zip(g_ema.buffers(), g.buffers()):
        e.copy_(b)


def has_batch_norm(net: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in net.modules())


@torch.no_grad()
def measure_statistics(g_ema: nn.Module, latent_dim: int, labels: torch.Tensor | None, batch_size: int, seed: int,
                       step: int, device: torch.device) -> None:
    """Replace G_ema's BatchNorm running statistics by those of G_ema itself on fresh z (and labels drawn from the
    training data's `labels`, for a conditional G), drawn from (seed, step) alone: the same at a step whether or not
    the run was resumed."""
    norms = [m for m in g_ema.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    saved = [(m.momentum, m.training) for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average: every batch counts the same
    was_training = g_ema.training
    g_ema.eval()
    for m in norms:
        m.train()
    generator = torch.Generator().manual_seed(seed + EMA_STATISTICS + step)
    batch = max(batch_size, -(-STATISTICS_MIN_SAMPLES // STATISTICS_BATCHES))
    labels = None if labels is None else labels.cpu()  # drawn by the CPU generator: copied once, not per batch
    try:
        for _ in range(STATISTICS_BATCHES):
            z = torch.randn(batch, latent_dim, generator=generator).to(device)
            y = None if labels is None else conditions.draw(labels, batch, generator).to(device)
            g_ema(z, y)
    finally:
        for m, (momentum, training) in zip(norms, saved):
            m.momentum = momentum
            m.train(training)
        g_ema.train(was_training)
