"""How many G steps a second a model family trains at: the trainer's own d_step and g_step on its networks and
Adam, n_critic D steps (with the loss's penalty) then one G step, on a fixed batch of real samples (speed does
not depend on what they hold). Shared by the family benchmarks (wavegan.py, textgan.py)."""

from __future__ import annotations

import time

import torch

from gankit.config import Config
from gankit.losses import LOSSES
from gankit.models.spec import bind_noise
from gankit.train.state import new_state
from gankit.train.steps import StepRules, autocast_dtype, d_step, g_step


def g_steps_per_second(config: Config, real: torch.Tensor, device: torch.device, steps: int) -> float:
    """Timed after one warm-up G step (allocations, kernel choice); real: a (B, ...) batch in the model's range."""
    t, batch = config.train, len(real)
    state = new_state(config, tuple(real.shape[1:]), device)
    bind_noise(state.d, state.noise)
    state.ddp_g, state.ddp_d = state.g, state.d
    loss = LOSSES.get(t.loss)
    rules = StepRules(loss=loss, gp_weight=loss.gp_weight, autocast=autocast_dtype(t.precision))

    def one_g_step() -> None:
        for _ in range(t.n_critic):
            with rules.forward_precision(device):
                fake = state.g(torch.randn(batch, config.model.latent_dim, device=device))
            d_step(state, real, fake.float(), rules)
        with rules.forward_precision(device):
            fake = state.g(torch.randn(batch, config.model.latent_dim, device=device))
        g_step(state, fake.float(), rules)

    one_g_step()
    sync(device)
    started = time.perf_counter()
    for _ in range(steps):
        one_g_step()
    sync(device)
    return steps / (time.perf_counter() - started)


def parameters(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
