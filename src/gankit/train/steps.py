"""One D step and one G step, each returning a dict of 0-d stat tensors (no host sync here)."""

from __future__ import annotations

from contextlib import contextmanager

import torch
import torch.nn as nn

from gankit.losses import GANLoss
from gankit.regularizers import gradient_penalty
from gankit.train.state import TrainState


def grad_norm(module: nn.Module) -> torch.Tensor:
    """L2 norm of all of a module's gradients together."""
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))


@contextmanager
def frozen(module: nn.Module):
    """Train G "against a fixed D": no gradients are computed for D's parameters meanwhile."""
    flags = [p.requires_grad for p in module.parameters()]
    module.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(module.parameters(), flags):
            p.requires_grad_(flag)


def d_step(state: TrainState, real: torch.Tensor, fake: torch.Tensor, loss: GANLoss, gp_weight: float) -> dict:
    """Train D to tell real from fake. `fake` is detached: this step must not reach into G."""
    fake = fake.detach()
    # Two passes rather than one over the tutorial's concatenated batch: identical for D without
    # BatchNorm, and with BatchNorm a mixed batch's statistics differ from the all-fake batch D sees
    # in the G step, which lets D separate real from fake by batch statistics alone (G then learns nothing).
    real_logits = state.d(real)
    fake_logits = state.d(fake)
    d_loss = loss.d(real_logits, fake_logits)
    stats = {"d_loss": d_loss.detach()}
    if gp_weight > 0:
        mix = torch.rand(len(real), device=real.device, generator=state.noise)
        penalty = gradient_penalty(state.d, real, fake, mix)
        d_loss = d_loss + gp_weight * penalty
        stats["gp"] = penalty.detach()
    state.opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    stats["d_grad_norm"] = grad_norm(state.d)
    state.opt_d.step()
    # D's mean probability of "real" on real images and on fakes, before this update
    stats["d_real"] = torch.sigmoid(real_logits.detach()).mean()
    stats["d_fake"] = torch.sigmoid(fake_logits.detach()).mean()
    return stats


def g_step(state: TrainState, fake: torch.Tensor, loss: GANLoss) -> dict:
    """Train G to fool the just-updated, frozen D on the same generated batch."""
    with frozen(state.d):
        g_loss = loss.g(state.d(fake))
        state.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
    stats = {"g_loss": g_loss.detach(), "g_grad_norm": grad_norm(state.g)}
    state.opt_g.step()
    return stats
