"""Penalties added to D's loss; separate from the losses so any loss can use them."""

from __future__ import annotations

from collections.abc import Callable

import torch


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor,
                     mix: torch.Tensor) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): E[(||grad_x D(x_hat)||_2 - 1)^2] at x_hat = mix*real + (1-mix)*fake.

    Args:
        critic: D, returning one score per sample.
        real, fake: (B, ...) batches; fake must already be detached from G.
        mix: (B,) uniform draws in [0, 1], one per sample.
    """
    shape = (-1,) + (1,) * (real.dim() - 1)
    x_hat = (mix.view(shape) * real + (1 - mix.view(shape)) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1.0).square().mean()


def r1_penalty(real_logits: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): E[||grad_x D(x)||^2] on real images; the caller weighs it by gamma/2.

    Args:
        real_logits: D's scores of `real`, computed with real.requires_grad set.
        real: the real batch (B, ...).
    """
    (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
    return grad.flatten(1).square().sum(dim=1).mean()
