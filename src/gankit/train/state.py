"""What training carries from step to step, and how it goes into and out of a checkpoint."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn

from gankit import checkpoint as ckpt
from gankit.config import Config, TrainConfig, to_dict
from gankit.errors import GankitError, one_line
from gankit.modalities import SampleSpec
from gankit.models import MODELS, build_models


@dataclass
class TrainState:
    g: nn.Module
    d: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    # draws z (and any other training randomness) on the training device
    noise: torch.Generator
    # exponential moving average of G's weights (None when train.ema_decay is 0)
    g_ema: nn.Module | None = None
    # G steps done, and D steps done (more than G's with n_critic > 1)
    step: int = 0
    d_steps: int = 0
    # epoch in progress (0-based) and the next batch in it
    epoch: int = 0
    batch_in_epoch: int = 0
    images_seen: int = 0
    # lowest FID (JS-4 for text) seen by evaluations during training (the `best` checkpoint holds that G)
    best_fid: float | None = None
    # seconds of training wall time before this process resumed the run
    seconds: float = 0.0
    # G and D wrapped in DistributedDataParallel when several processes train (None: one process)
    ddp_g: nn.Module | None = None
    ddp_d: nn.Module | None = None

    @property
    def synced_g(self) -> nn.Module:
        """G as the training step calls it: its backward averages gradients across processes."""
        return self.ddp_g if self.ddp_g is not None else self.g

    @property
    def synced_d(self) -> nn.Module:
        return self.ddp_d if self.ddp_d is not None else self.d


def new_state(config: Config, sample_shape: tuple[int, ...], device: torch.device,
              label_sizes: tuple[int, ...] = ()) -> TrainState:
    g, d = build_models(config, sample_shape, label_sizes)
    # channels-last convolutions run 15-25 % faster on oneDNN (CPU) and on tensor cores; only 4-d
    # weights change layout, so MLPs are untouched and checkpoints are saved contiguous as before
    g, d = (net.to(device, memory_format=torch.channels_last) for net in (g, d))
    g_ema = copy.deepcopy(g).requires_grad_(False) if config.train.ema_decay > 0 else None
    groups = MODELS.get(config.model.name).g_param_groups
    opt_g, opt_d = optimizers(g, d, config.train, device, groups(g, config.model.params) if groups else None)
    noise = torch.Generator(device=device)
    noise.manual_seed(config.train.seed)
    return TrainState(g=g, d=d, opt_g=opt_g, opt_d=opt_d, noise=noise, g_ema=g_ema)


def optimizers(g: nn.Module, d: nn.Module, t: TrainConfig, device: torch.device,
               g_groups: list[dict] | None = None) -> tuple[torch.optim.Adam, torch.optim.Adam]:
    """Adam for G (over `g_groups` when the family splits G's parameters) and for D; the fused kernel (one pass
    over all parameters) where PyTorch has one."""
    fused = True if device.type in ("cpu", "cuda") else None
    return (torch.optim.Adam(g_groups or g.parameters(), lr=t.lr_g, betas=(t.beta1, t.beta2), fused=fused),
            torch.optim.Adam(d.parameters(), lr=t.lr_d, betas=(t.beta1, t.beta2), fused=fused))


def save(state: TrainState, config: Config, spec: SampleSpec, folder: Path, name: str, seconds: float = 0.0,
         extra: dict | None = None) -> Path:
    """Write the state as checkpoint `folder/name`; `extra` goes into meta.json as it is.

    meta.json records what G makes (shape, kind of data and its decoding, class names), so sampling
    needs nothing but the checkpoint.
    """
    weights = {f"G.{k}": v for k, v in state.g.state_dict().items()}
    weights |= {f"D.{k}": v for k, v in state.d.state_dict().items()}
    if state.g_ema is not None:
        weights |= {f"G_ema.{k}": v for k, v in state.g_ema.state_dict().items()}
    train_state = {
        "opt_g": state.opt_g.state_dict(),
        "opt_d": state.opt_d.state_dict(),
        "noise_rng": state.noise.get_state(),
        "cpu_rng": torch.get_rng_state(),
    }
    meta = {"config": to_dict(config), **spec.as_meta(), "step": state.step, "d_steps": state.d_steps,
            "epoch": state.epoch, "batch_in_epoch": state.batch_in_epoch, "images_seen": state.images_seen,
            "best_fid": state.best_fid, "train_seconds": round(seconds, 3), **(extra or {})}
    return ckpt.save_checkpoint(folder, name, weights=weights, train_state=train_state, meta=meta)


def _match_layouts(opt: torch.optim.Optimizer) -> None:
    """Give loaded moments their parameter's memory layout (checkpoints store them contiguous).

    Fused Adam walks a parameter and its moments in memory order, so a channels-last weight with a
    contiguous moment would be updated from the wrong elements.
    """
    for p, slots in opt.state.items():
        for name, value in slots.items():
            if torch.is_tensor(value) and value.shape == p.shape and value.stride() != p.stride():
                slots[name] = torch.empty_like(p, dtype=value.dtype).copy_(value)


def restore(state: TrainState, path: Path) -> None:
    """Load a checkpoint into a freshly built state, so training continues exactly where it stopped."""
    meta = ckpt.read_meta(path)
    device = next(state.g.parameters()).device
    tensors = ckpt.load_tensors(path, ckpt.WEIGHTS, device)
    try:
        state.g.load_state_dict(ckpt.network_weights(tensors, "G"))
        state.d.load_state_dict(ckpt.network_weights(tensors, "D"))
        if state.g_ema is not None:
            state.g_ema.load_state_dict(ckpt.network_weights(tensors, "G_ema"))
        saved = ckpt.load_train_state(path, meta)
        for opt, key in ((state.opt_g, "opt_g"), (state.opt_d, "opt_d")):
            opt.load_state_dict(saved[key])
            _match_layouts(opt)
        state.noise.set_state(saved["noise_rng"])
        torch.set_rng_state(saved["cpu_rng"])
        state.step, state.epoch = int(meta["step"]), int(meta["epoch"])
        state.batch_in_epoch, state.images_seen = int(meta["batch_in_epoch"]), int(meta["images_seen"])
        state.best_fid = meta.get("best_fid")
        state.d_steps = int(meta.get("d_steps", state.step))
        state.seconds = float(meta.get("train_seconds", 0.0))
    except (KeyError, RuntimeError, ValueError, TypeError) as exc:
        raise GankitError(f"checkpoint {path} does not fit this run ({one_line(exc)})") from None
