"""Fitting the maximum-likelihood baselines (gankit.models.baselines) into a run folder like a GAN's.

A character LM takes Adam steps on the negative log-likelihood of batches of training items until the epochs,
--max-steps or --time-limit end it; an n-gram model counts once. Either way the run folder gets what a GAN's
has: config.toml, metrics.jsonl (one `fit` row per step: its `nll`, nats per character), samples/ from the same fixed
latents after every epoch, checkpoints/final (G only: there is no D) and report.html, so `gankit sample`,
`eval`, `compare` and `report` treat the baseline and the GAN alike.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path

import torch

from gankit import checkpoint as ckpt
from gankit.atomic import write_atomically
from gankit.config import Config, TrainConfig, to_dict
from gankit.data import load_dataset
from gankit.errors import GankitError
from gankit.modalities import SampleSpec
from gankit.models import build_models, check_fits
from gankit.models.baselines import Ngram
from gankit.pipeline import Pipeline, latents
from gankit.runlog import METRICS_FILE
from gankit.seeds import GRID
from gankit.train.trainer import TrainResult


def _descend(g: torch.nn.Module, items: torch.Tensor, t: TrainConfig, started: float, rows: list[dict],
             preview: Callable[[str], None]) -> tuple[int, int, str]:
    """Adam on the negative log-likelihood of shuffled batches until the epochs, steps or time run out, a row of
    `rows` a step and a preview an epoch (and where it stops mid-epoch); (steps, epochs done, what stopped it)."""
    step, epoch, stopped_by = 0, 0, "epochs"
    optimizer = torch.optim.Adam(g.parameters(), lr=t.lr_g, betas=(t.beta1, t.beta2))
    order = torch.Generator().manual_seed(t.seed)
    while stopped_by == "epochs" and (epoch < t.epochs or not t.epochs):  # epochs 0: until a limit
        for batch in torch.randperm(len(items), generator=order).split(t.batch_size):
            if len(batch) < t.batch_size:  # the last, smaller batch, as the GAN trainer drops it
                continue
            loss = g.nll(items[batch.to(items.device)])
            if not math.isfinite(loss.item()):
                raise GankitError(f"the negative log-likelihood became {loss.item()} at step {step + 1}; lower "
                                  f"--lr-g (now {t.lr_g})")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            seconds = time.perf_counter() - started
            rows.append({"kind": "fit", "step": step, "epoch": epoch + 1, "images_seen": step * t.batch_size,
                         "seconds": round(seconds, 3), "nll": round(loss.item(), 6)})
            if t.max_steps is not None and step >= t.max_steps:
                stopped_by = "max_steps"
            elif t.time_limit is not None and seconds >= t.time_limit * 60:
                stopped_by = "time_limit"
            if stopped_by != "epochs":
                break
        if stopped_by == "epochs":
            epoch += 1
            preview(f"epoch_{epoch:04d}")
        else:  # mid-epoch
            preview(f"step_{step:08d}")
    return step, epoch, stopped_by


def fit_baseline(config: Config, run: Path, device: torch.device) -> TrainResult:
    """Fit the model `config` names on its training data and write the run folder `run` (already created)."""
    t = config.train
    dataset = load_dataset(config.data)
    spec = SampleSpec(dataset.sample_shape, dataset.modality)
    check_fits(config, spec.shape, device)
    g, _ = build_models(config, spec.shape)
    g = g.to(device)
    items = dataset.samples.to(device)
    grid = latents(t.sample_count, config.model.latent_dim, t.seed + GRID, device)
    started, step, epoch, stopped_by = time.perf_counter(), 0, 0, "epochs"
    rows: list[dict] = []

    def preview(name: str) -> None:
        samples = Pipeline(g, config.model.latent_dim, spec, device).generate(grid)
        spec.modality.preview(samples, run / "samples" / f"{name}.png")

    if isinstance(g, Ngram):
        g.fit(items)
        step, epoch, stopped_by = 1, 1, "counted"
        rows.append({"kind": "fit", "step": 1, "epoch": 1, "images_seen": len(items),
                     "seconds": round(time.perf_counter() - started, 3), "nll": round(g.nll(items).item(), 6)})
        preview("epoch_0001")
    else:
        if len(items) < t.batch_size:
            raise GankitError(f"{config.data.name} has {len(items)} training items, fewer than --batch-size "
                              f"{t.batch_size}: use --batch-size {len(items)} or fewer, or add items")
        step, epoch, stopped_by = _descend(g, items, t, started, rows, preview)
    seconds = time.perf_counter() - started
    write_atomically(run / METRICS_FILE, "".join(json.dumps(row) + "\n" for row in rows))
    meta = {"config": to_dict(config), **spec.as_meta(), "step": step, "d_steps": 0, "epoch": epoch,
            "batch_in_epoch": 0, "images_seen": step * t.batch_size, "best_fid": None,
            "train_seconds": round(seconds, 3)}
    ckpt.save_checkpoint(run / "checkpoints", ckpt.FINAL, weights={f"G.{k}": v for k, v in g.state_dict().items()},
                         train_state={}, meta=meta)
    return TrainResult(run, step, epoch, seconds, rows[-1], stopped_by)

