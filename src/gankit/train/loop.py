"""The training loop, in the tutorial's order:

    1. sample z   2. generate   3-4. train D on real + (detached) fake   5. train G against a fixed D
    6. repeat; and around that: log, sample grid each epoch, checkpoint.
"""

from __future__ import annotations

import json
import math
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from gankit import checkpoint as ckpt
from gankit.config import Config
from gankit.data import load_dataset
from gankit.data.batches import DeviceBatches
from gankit.device import resolve_device
from gankit.errors import GankitError
from gankit.losses import LOSSES
from gankit.plots import save_loss_plot, save_progress_gif
from gankit.runs import METRICS_FILE
from gankit.sampling import generate, grid, latents, save_png
from gankit.train.state import new_state, restore, save
from gankit.train.steps import d_step, g_step

# stats are moved to the host in blocks of this many steps, so a GPU is not synced every step
LOG_BLOCK = 25
# the fixed latent batch for sample grids is drawn from this offset of the run's seed
GRID_SEED_OFFSET = 1_000_000


class Interrupted(Exception):
    """Ctrl-C or SIGTERM: a checkpoint was written; the run can be resumed."""

    def __init__(self, run: Path, step: int):
        super().__init__(f"interrupted at step {step}; checkpoint saved. Resume with: gankit train --resume {run}")
        self.run, self.step = run, step


class StopRequests:
    """While active, Ctrl-C and SIGTERM only raise a flag, so the step in flight finishes cleanly.

    A second Ctrl-C stops at once (the newest checkpoint on disk stays intact).
    """

    def __init__(self):
        self.received: str | None = None
        self._previous: dict = {}

    def _handle(self, signum, frame):
        if self.received is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.received = signal.Signals(signum).name

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


@dataclass
class TrainResult:
    run: Path
    steps: int
    epochs_done: int
    seconds: float
    last: dict


class MetricsLog:
    """Appends one JSON line per step to metrics.jsonl; stats stay on the device until a block is full."""

    def __init__(self, path: Path, resume_step: int):
        self.path = path
        self._truncate_after(resume_step)
        self.pending: list[tuple[dict, dict]] = []
        self.last: dict = {}

    def _truncate_after(self, step: int) -> None:
        # a run that crashed after its last checkpoint logged steps it will now redo
        if not self.path.exists():
            return
        kept = [line for line in self.path.read_text().splitlines() if line.strip() and json.loads(line)["step"] <= step]
        self.path.write_text("".join(line + "\n" for line in kept))

    def record(self, where: dict, stats: dict) -> None:
        self.pending.append((where, stats))
        if len(self.pending) >= LOG_BLOCK:
            self.flush()

    def write_row(self, row: dict) -> None:
        """A row outside the per-step stream (e.g. an evaluation), after the pending steps."""
        self.flush()
        with self.path.open("a") as f:
            f.write(json.dumps(row) + "\n")

    def flush(self) -> None:
        if not self.pending:
            return
        keys = list(self.pending[0][1])
        values = torch.stack([torch.stack([s[k].float() for k in keys]) for _, s in self.pending]).tolist()
        lines = []
        for (where, _), row in zip(self.pending, values):
            entry = {**where, **{k: round(v, 6) if math.isfinite(v) else v for k, v in zip(keys, row)}}
            bad = [k for k in keys if not math.isfinite(entry[k])]
            if bad:
                self.pending.clear()
                raise Diverged(entry["step"], {k: entry[k] for k in bad})
            lines.append(json.dumps(entry))
            self.last = entry
        with self.path.open("a") as f:
            f.write("\n".join(lines) + "\n")
        self.pending.clear()


class Diverged(Exception):
    def __init__(self, step: int, values: dict):
        super().__init__(f"step {step}: {values}")
        self.step, self.values = step, values


def train(config: Config, run: Path, resume: bool = False, progress: bool = True) -> TrainResult:
    """Train G and D as `config` says, writing everything into the run folder `run`.

    Args:
        config: the resolved run config (already written to run/config.toml).
        run: the run folder.
        resume: continue from the newest checkpoint in run/checkpoints.
        progress: show a tqdm progress bar on stderr.
    """
    t = config.train
    device = resolve_device(t.device)
    dataset = load_dataset(config.data)
    if len(dataset) < t.batch_size:
        raise GankitError(f"{config.data.name} has {len(dataset)} images, fewer than --batch-size {t.batch_size}")
    batches = DeviceBatches(dataset.images.to(device), t.batch_size, t.seed)
    shape = dataset.sample_shape
    state = new_state(config, shape, device)
    checkpoints = run / "checkpoints"
    if resume:
        found = ckpt.list_checkpoints(checkpoints)
        if not found:
            raise GankitError(f"{run} has no complete checkpoint to resume from; start a new run instead")
        restore(state, found[-1])
    loss = LOSSES.get(t.loss)
    gp_weight = loss.gp_weight if t.gp_weight is None else t.gp_weight
    fixed_z = latents(t.sample_count, config.model.latent_dim, t.seed + GRID_SEED_OFFSET, device)
    total = batches.steps_per_epoch * t.epochs
    if t.max_steps is not None:
        total = min(total, t.max_steps)
    log = MetricsLog(run / METRICS_FILE, state.step)
    bar = tqdm(total=total, initial=min(state.step, total), disable=not progress, unit="step",
               dynamic_ncols=True, file=sys.stderr)
    started = time.perf_counter()

    def checkpoint(name: str) -> None:
        log.flush()  # raises Diverged before a poisoned state can be saved
        save(state, config, shape, checkpoints, name)
        ckpt.prune(checkpoints, t.keep_checkpoints)

    def sample_grid(name: str) -> None:
        save_png(grid(generate(state.g, fixed_z)), run / "samples" / f"{name}.png")

    evaluator = Evaluation(config, dataset, device) if t.eval_every else None

    def evaluate() -> None:
        log.flush()
        scores = evaluator.run(state.g)
        log.write_row({"step": state.step, "epoch": state.epoch, **scores})
        shown = ", ".join(f"{k} {scores[k]:.4g}" for k in ("fid", "kid", "precision", "recall") if k in scores)
        bar.write(f"epoch {state.epoch}: {shown} ({scores['eval_n']} samples, {scores['eval_extractor']})", file=sys.stderr)
        if "fid" in scores and (state.best_fid is None or scores["fid"] < state.best_fid):
            state.best_fid = scores["fid"]
            checkpoint(ckpt.BEST)

    stop = StopRequests()
    try:
        stop.__enter__()
        while state.step < total:
            for index, real in batches.epoch(state.epoch, start=state.batch_in_epoch):
                z = torch.randn(len(real), config.model.latent_dim, device=device, generator=state.noise)  # 1
                fake = state.g(z)                                                                            # 2
                stats = d_step(state, real, fake, loss, gp_weight)                                           # 3-4
                stats |= g_step(state, fake, loss)                                                           # 5
                state.step += 1
                state.batch_in_epoch = index + 1
                state.images_seen += len(real)
                log.record({"step": state.step, "epoch": state.epoch + 1, "images_seen": state.images_seen}, stats)
                bar.update(1)
                if state.step % LOG_BLOCK == 0:
                    bar.set_postfix_str(_postfix(log.last), refresh=False)
                if t.checkpoint_every and state.step % t.checkpoint_every == 0:
                    checkpoint(ckpt.step_name(state.step))
                if stop.received:
                    raise Interrupted(run, state.step)
                if state.step >= total:
                    break
            if state.batch_in_epoch == batches.steps_per_epoch:                                             # 6
                state.epoch += 1
                state.batch_in_epoch = 0
                sample_grid(f"epoch_{state.epoch:04d}")
                checkpoint(ckpt.step_name(state.step))
                if evaluator and state.epoch % t.eval_every == 0:                                          # evaluate
                    evaluate()
        if state.batch_in_epoch:  # stopped mid-epoch by --max-steps
            sample_grid(f"step_{state.step:08d}")
        checkpoint(ckpt.FINAL)
    except Interrupted:
        bar.close()
        checkpoint(ckpt.step_name(state.step))
        raise
    except Diverged as exc:
        bar.close()
        good = ckpt.list_checkpoints(checkpoints)
        where = f"the last good checkpoint is {good[-1]}" if good else "no checkpoint was written"
        raise GankitError(f"training diverged at step {exc.step} (non-finite {', '.join(exc.values)}); {where}; "
                          "try a lower --lr or another --loss") from None
    finally:
        stop.__exit__()
        bar.close()
    log.flush()
    seconds = time.perf_counter() - started
    save_loss_plot(run / METRICS_FILE, run / "losses.png")
    save_progress_gif(run / "samples", run / "progress.gif")
    return TrainResult(run=run, steps=state.step, epochs_done=state.epoch, seconds=seconds, last=log.last)


class Evaluation:
    """Scores during training: the reference features are prepared once, the latents are fixed."""

    # latents for evaluation come from this offset of the run's seed (apart from the grid's)
    SEED_OFFSET = 2_000_000

    def __init__(self, config: Config, dataset, device: torch.device):
        from gankit.metrics.evaluate import parse_metrics, prepare_reference

        t = config.train
        self.metrics = parse_metrics(t.eval_metrics)
        self.reference = prepare_reference(config.data, t.extractor, device, train=dataset)
        self.z = latents(t.eval_n, config.model.latent_dim, t.seed + self.SEED_OFFSET, device)
        self.seed = t.seed

    def run(self, generator) -> dict:
        from gankit.metrics.evaluate import score

        result = score(generate(generator, self.z), self.reference, self.metrics, seed=self.seed)
        values = {k: v for k, v in result["metrics"].items() if isinstance(v, (int, float))}
        return {**values, "eval_n": result["n"], "eval_extractor": self.reference.extractor.id}


def _postfix(last: dict) -> str:
    if not last:
        return ""
    return (f"d_loss={last['d_loss']:.3f} g_loss={last['g_loss']:.3f} "
            f"D(x)={last['d_real']:.2f} D(G(z))={last['d_fake']:.2f}")
