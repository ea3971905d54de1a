"""One D step and one G step, each returning a dict of 0-d stat tensors (no host sync here)."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn

from gankit.augment import diff_augment
from gankit.config import PRECISIONS
from gankit.losses import GANLoss, auxiliary_loss
from gankit.models.spec import frozen, grad_norm
from gankit.regularizers import gradient_penalty, r1_penalty
from gankit.train.distributed import SINGLE, Replicas
from gankit.train.state import TrainState


@dataclass(frozen=True)
class StepRules:
    """What the steps do besides the loss, resolved once from the config."""

    loss: GANLoss
    gp_weight: float = 0.0
    r1_gamma: float = 0.0
    # DiffAugment policy applied to every image D sees (empty: none)
    augment: list[str] = field(default_factory=list)
    # dtype the forward passes autocast to (None: fp32); penalties and losses are computed in fp32
    autocast: torch.dtype | None = None
    # D judges real and fake in one pass over both (only right for D without batch statistics)
    joint_d_pass: bool = False
    # the training processes: per-sample random draws are made for the global batch and sliced
    replicas: Replicas = SINGLE
    # AC-GAN's auxiliary classifier (train.aux_conditions): its weight in both losses (0: off), the label columns D
    # names and how many values each has
    aux_weight: float = 0.0
    aux_columns: tuple[int, ...] = ()
    aux_sizes: tuple[int, ...] = ()

    def aux_loss(self, aux_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The auxiliary classifier's loss on D's aux logits for samples of these label rows (B, k)."""
        return auxiliary_loss(aux_logits.float(), labels[:, list(self.aux_columns)], self.aux_sizes)

    def forward_precision(self, device: torch.device):
        """Context for a forward pass: autocast to `autocast` when set, else a no-op."""
        return torch.autocast(device.type, dtype=self.autocast or torch.float32, enabled=self.autocast is not None)


def autocast_dtype(precision: str) -> torch.dtype | None:
    """train.precision -> the dtype forward passes autocast to (None: plain fp32)."""
    name = PRECISIONS[precision]
    return getattr(torch, name) if name else None


def uses_batch_statistics(module: nn.Module) -> bool:
    """Whether a sample's output depends on the rest of its batch in training mode (BatchNorm)."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())


def _judge(d: nn.Module, rules: StepRules):
    """D as the steps call it: (x, y) -> (logits (B,) in fp32, the auxiliary classifier's logits or None)."""
    if rules.aux_weight > 0:
        def named(x: torch.Tensor, y: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
            logits, aux = d(x, y, classify=True)
            return logits.float(), aux
        return named
    return lambda x, y: (d(x, y).float(), None)


def _seen_by_d(state: TrainState, x: torch.Tensor, rules: StepRules) -> torch.Tensor:
    if not rules.augment:
        return x
    return diff_augment(x, rules.augment, state.noise, (rules.replicas.rank, rules.replicas.world))


def d_step(state: TrainState, real: torch.Tensor, fake: torch.Tensor, rules: StepRules,
           y_real: torch.Tensor | None = None, y_fake: torch.Tensor | None = None) -> dict:
    """Train D to tell real from fake. `fake` is detached: this step must not reach into G."""
    fake = fake.detach()
    if rules.r1_gamma > 0:
        real = real.detach().requires_grad_(True)
    judge = _judge(state.synced_d, rules)
    with rules.forward_precision(real.device):
        if rules.joint_d_pass:
            # the tutorial's single pass over real + fake: one larger batch runs faster than two
            y = None if y_real is None else torch.cat([y_real, y_fake])
            logits, aux = judge(_seen_by_d(state, torch.cat([real, fake]), rules), y)
            real_logits, fake_logits = logits[: len(real)], logits[len(real):]
            real_aux = None if aux is None else aux[: len(real)]
        else:
            # with BatchNorm a mixed batch's statistics differ from the all-fake batch D sees in the G
            # step, which lets D separate real from fake by batch statistics alone (G then learns nothing)
            real_logits, real_aux = judge(_seen_by_d(state, real, rules), y_real)
            fake_logits, _ = judge(_seen_by_d(state, fake, rules), y_fake)
    d_loss = rules.loss.d(real_logits, fake_logits)
    stats = {"d_loss": d_loss.detach()}
    if real_aux is not None:  # D learns to name the real samples' conditions
        aux_loss = rules.aux_loss(real_aux, y_real)
        d_loss = d_loss + rules.aux_weight * aux_loss
        stats["aux_d"] = aux_loss.detach()
    if rules.gp_weight > 0:
        world = rules.replicas.world
        mix = rules.replicas.local(torch.rand(len(real) * world, device=real.device, generator=state.noise))
        # the plain D: the penalty's own gradient pass must not trigger DDP's gradient averaging
        penalty = gradient_penalty(lambda x: state.d(x, y_real), real.detach(), fake, mix)
        d_loss = d_loss + rules.gp_weight * penalty
        stats["gp"] = penalty.detach()
    if rules.r1_gamma > 0:
        penalty = r1_penalty(real_logits, real)
        d_loss = d_loss + rules.r1_gamma / 2 * penalty
        stats["r1"] = penalty.detach()
    state.opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    stats["d_grad_norm"] = grad_norm(state.d)
    state.opt_d.step()
    # what D made of real images and of fakes, before this update (its probability of "real", or its score)
    stats["d_real"] = rules.loss.beliefs(real_logits.detach())
    stats["d_fake"] = rules.loss.beliefs(fake_logits.detach())
    return stats


def g_step(state: TrainState, fake: torch.Tensor, rules: StepRules, y_fake: torch.Tensor | None = None) -> dict:
    """Train G to fool the just-updated, frozen D on the same generated batch.

    D is called unwrapped: with its weights frozen there are no D gradients to average across processes.
    """
    with frozen(state.d):
        with rules.forward_precision(fake.device):
            fake_logits, fake_aux = _judge(state.d, rules)(_seen_by_d(state, fake, rules), y_fake)
        g_loss = rules.loss.g(fake_logits)
        total = g_loss
        if fake_aux is not None:  # G makes samples D names as asked
            aux_loss = rules.aux_loss(fake_aux, y_fake)
            total = g_loss + rules.aux_weight * aux_loss
        state.opt_g.zero_grad(set_to_none=True)
        total.backward()
    # the game's losses are logged as the tutorial reads them, the classifier's apart (aux_d, aux_g)
    stats = {"g_loss": g_loss.detach(), "g_grad_norm": grad_norm(state.g)}
    if fake_aux is not None:
        stats["aux_g"] = aux_loss.detach()
    state.opt_g.step()
    return stats

