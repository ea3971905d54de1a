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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn
from tqdm import tqdm

from gankit import checkpoint as ckpt
from gankit.augment import parse_policy
from gankit.config import Config
from gankit.data import load_dataset
from gankit.data.batches import DeviceBatches
from gankit.device import check_compile_support, resolve_device
from gankit.errors import GankitError
from gankit.losses import LOSSES
from gankit.models import MODELS
from gankit.plots import read_metrics, save_loss_plot, save_progress_gif
from gankit.report.diagnosis import Diagnosis
from gankit.report.diversity import DiversityProbe
from gankit.report.html import write_report
from gankit.report.tensorboard import TensorBoardLog
from gankit.runs import METRICS_FILE, write_atomically
from gankit.sampling import generate, grid, grid_labels, latents, save_png
from gankit.train.distributed import GLOBAL_BATCH, SINGLE, Replicas
from gankit.train.state import new_state, restore, save
from gankit.train.steps import StepRules, d_step, ema_step, g_step, uses_batch_statistics

# stats are moved to the host in blocks of this many steps, so a GPU is not synced every step
LOG_BLOCK = 25
# the fixed latent batch for sample grids is drawn from this offset of the run's seed
GRID_SEED_OFFSET = 1_000_000
# --on-nan rollback gives up after this many rollbacks in one process
MAX_ROLLBACKS = 3
# G steps between two checks of sample diversity (for the mode-collapse diagnosis)
DIVERSITY_EVERY = 250


class Interrupted(Exception):
    """Ctrl-C or SIGTERM: a checkpoint was written; the run can be resumed."""

    def __init__(self, run: Path, step: int, signal_name: str | None = None):
        by = f" by {signal_name}" if signal_name else ""
        super().__init__(f"interrupted{by} at step {step}; checkpoint saved. Resume with: gankit train --resume {run}")
        self.run, self.step, self.signal_name = run, step, signal_name

    @property
    def exit_status(self) -> int:
        """The shell's convention, 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM)."""
        return 128 + signal.Signals[self.signal_name or "SIGINT"].value


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
    # what ended training: epochs, max_steps or time_limit
    stopped_by: str = "epochs"


class MetricsLog:
    """Appends one JSON line per step to metrics.jsonl; stats stay on the device until a block is full."""

    def __init__(self, path: Path, resume_step: int, replicas: Replicas = SINGLE):
        self.path = path
        # several processes log the same (averaged) rows; only the main one writes them
        self.replicas = replicas
        kept = self._truncate_after(resume_step) if replicas.is_main else None
        self._history = replicas.from_main(kept)
        self.pending: list[tuple[dict, dict]] = []
        self.last: dict = {}
        # each is called with every batch of rows written (per-step rows, evaluations, diversity checks)
        self.watchers: list[Callable[[list[dict]], None]] = []

    def rows(self) -> list[dict]:
        """Everything written before this process started (a resumed run's history)."""
        return self._history

    def _truncate_after(self, step: int) -> list[dict]:
        """Drop what a run logged after `step` (steps it will redo, a torn line); returns the rows kept."""
        if not self.path.exists():
            return []
        # rollback notes stay: they record what happened, not a step that will be redone
        kept = [row for row in read_metrics(self.path) if row["step"] <= step or "rollback" in row]
        write_atomically(self.path, "".join(json.dumps(row) + "\n" for row in kept))
        return kept

    def rewind(self, step: int) -> None:
        """Forget everything after `step` (a rollback to a checkpoint of that step)."""
        self.pending.clear()
        if self.replicas.is_main:
            self._truncate_after(step)

    def record(self, where: dict, stats: dict) -> None:
        self.pending.append((where, stats))
        if len(self.pending) >= LOG_BLOCK:
            self.flush()

    def write_row(self, row: dict) -> None:
        """A row outside the per-step stream (e.g. an evaluation), after the pending steps."""
        self.flush()
        self.note(row)
        for watch in self.watchers:
            watch([row])

    def note(self, row: dict) -> None:
        """Append a row that nothing watches (e.g. a diagnosis)."""
        if not self.replicas.is_main:
            return
        with self.path.open("a") as f:
            f.write(json.dumps(row) + "\n")

    def flush(self) -> None:
        if not self.pending:
            return
        keys = list(self.pending[0][1])
        values = torch.stack([torch.stack([s[k].float() for k in keys]) for _, s in self.pending])
        values = self.replicas.mean(values).tolist()
        entries = []
        for (where, _), row in zip(self.pending, values):
            entry = {**where, **{k: round(v, 6) if math.isfinite(v) else v for k, v in zip(keys, row)}}
            bad = [k for k in keys if not math.isfinite(entry[k])]
            if bad:
                self.pending.clear()
                raise Diverged(entry["step"], f"non-finite {', '.join(bad)}")
            entries.append(entry)
            self.last = entry
        if self.replicas.is_main:
            with self.path.open("a") as f:
                f.write("".join(json.dumps(e) + "\n" for e in entries))
        self.pending.clear()
        for watch in self.watchers:
            watch(entries)


class Diverged(Exception):
    def __init__(self, step: int, reason: str):
        super().__init__(f"step {step}: {reason}")
        self.step, self.reason = step, reason


def train(config: Config, run: Path, resume: bool = False, progress: bool = True,
          replicas: Replicas = SINGLE) -> TrainResult:
    """Train G and D as `config` says, writing everything into the run folder `run`.

    Args:
        config: the resolved run config (already written to run/config.toml).
        run: the run folder.
        resume: continue from the newest checkpoint in run/checkpoints.
        progress: show a tqdm progress bar on stderr.
        replicas: this process's place among several training processes (torchrun; see
            gankit.train.distributed); only the main one writes into `run`.
    """
    t = config.train
    device = resolve_device(replicas.device_for(t.device))
    replicas.check_splits(t.batch_size, "--batch-size", GLOBAL_BATCH)
    replicas.check_sync_batchnorm(t.sync_batchnorm, device)
    main = replicas.is_main
    with replicas.main_first():  # one download, one cache
        dataset = load_dataset(config.data)
    if len(dataset) < t.batch_size:
        raise GankitError(f"{config.data.name} has {len(dataset)} images, fewer than --batch-size {t.batch_size}")
    conditional = MODELS.get(config.model.name).conditional
    if conditional and dataset.labels is None:
        raise GankitError(f"model {config.model.name} needs class labels, and {config.data.name} has none "
                          "(use a labelled dataset or a folder with one subfolder per class)")
    num_classes = len(dataset.classes) if conditional else 0
    labels = dataset.labels.to(device) if conditional else None
    images = dataset.images.to(device)
    batches = DeviceBatches(images, t.batch_size, t.seed, labels)
    shape = dataset.sample_shape
    state = new_state(config, shape, device, num_classes)
    if t.sync_batchnorm and replicas.active:
        state.g, state.d = (nn.SyncBatchNorm.convert_sync_batchnorm(net) for net in (state.g, state.d))
    checkpoints = run / "checkpoints"
    if resume:
        found = ckpt.list_checkpoints(checkpoints)
        if found:
            restore(state, found[-1])
        elif main:  # stopped before its first checkpoint: nothing was kept, so it starts again
            print(f"gankit: {run} has no complete checkpoint yet; starting it from step 0", file=sys.stderr)
    loss = LOSSES.get(t.loss)
    rules = StepRules(loss=loss, gp_weight=loss.gp_weight if t.gp_weight is None else t.gp_weight,
                      r1_gamma=t.r1_gamma, augment=parse_policy(t.augment), autocast=autocast_dtype(t.precision),
                      joint_d_pass=not uses_batch_statistics(state.d), replicas=replicas)
    if t.compile:
        compile_networks(state.g, state.d, device, double_backward=rules.gp_weight > 0 or rules.r1_gamma > 0)
    state.ddp_g, state.ddp_d = replicas.wrap(state.g, device), replicas.wrap(state.d, device)
    fixed_y = grid_labels(num_classes, max(1, t.sample_count // num_classes), device) if conditional else None
    grid_size = len(fixed_y) if conditional else t.sample_count
    fixed_z = latents(grid_size, config.model.latent_dim, t.seed + GRID_SEED_OFFSET, device)
    total = batches.steps_per_epoch * t.epochs // t.n_critic  # G steps
    if t.max_steps is not None:
        total = min(total, t.max_steps)
    log = MetricsLog(run / METRICS_FILE, state.step, replicas)
    bar = tqdm(total=total, initial=min(state.step, total), disable=not (progress and main), unit="step",
               dynamic_ncols=True, file=sys.stderr)
    diagnosis: Diagnosis | None = None
    if t.diagnose:
        diagnosis = Diagnosis()
        diagnosis.add(log.rows())  # a resumed run's history: its problems were reported when they happened
        probe = DiversityProbe(images, config.model.latent_dim, t.seed, labels)

        def watch(rows: list[dict]) -> None:
            # every process sees the same averaged rows, so all of them stop together on a fatal finding
            for finding in diagnosis.add(rows):
                log.note(finding.as_row())
                if finding.severity == "fatal":  # the error that ends training says it
                    raise Diverged(finding.step, finding.title)
                if main:
                    bar.write(f"gankit: {finding.text()}", file=sys.stderr)

        log.watchers.append(watch)
    board = TensorBoardLog(run / "tensorboard", state.step) if t.tensorboard and main else None
    if board:
        log.watchers.append(board.rows)
    started = time.perf_counter()
    deadline = started + t.time_limit * 60 if t.time_limit else float("inf")
    stopped_by = "epochs" if t.max_steps is None or t.max_steps >= total else "max_steps"

    def sampler() -> torch.nn.Module:
        return state.g_ema if state.g_ema is not None else state.g

    def checkpoint(name: str) -> None:
        log.flush()  # raises Diverged before a poisoned state can be saved
        broken = [label for label, net in (("G", state.g), ("D", state.d)) if not finite(net)]
        if broken:
            raise Diverged(state.step, f"non-finite weights in {' and '.join(broken)}")
        digest = replicas.check_in_sync(state.g, state.d)
        if main:
            save(state, config, shape, checkpoints, name, num_classes,
                 seconds=state.seconds + time.perf_counter() - started,
                 extra={"processes": replicas.world, "params_sha256": digest} if digest else None)
            ckpt.prune(checkpoints, t.keep_checkpoints)

    def sample_grid(name: str) -> None:
        if not main:
            return
        nrow = len(fixed_y) // num_classes if conditional else None
        picture = grid(generate(sampler(), fixed_z, fixed_y), nrow)
        save_png(picture, run / "samples" / f"{name}.png")
        if board:
            board.image("samples", picture, state.step)

    evaluator = Evaluation(config, dataset, device, num_classes, replicas) if t.eval_every else None

    def evaluate() -> None:
        log.flush()
        scores = evaluator.run(sampler())
        log.write_row({"step": state.step, "epoch": state.epoch, **scores})
        shown = ", ".join(f"{k} {scores[k]:.4g}" for k in ("fid", "kid", "precision", "recall") if k in scores)
        if main:
            bar.write(f"epoch {state.epoch}: {shown} ({scores['eval_n']} samples, {scores['eval_extractor']})",
                      file=sys.stderr)
        if "fid" in scores and (state.best_fid is None or scores["fid"] < state.best_fid):
            state.best_fid = scores["fid"]
            checkpoint(ckpt.BEST)

    def train_epochs() -> None:
        """Steps until the end (or a stop); raises Interrupted or Diverged."""
        nonlocal stopped_by
        while state.step < total and stopped_by != "time_limit":
            for index, real, y_real in batches.epoch(state.epoch, start=state.batch_in_epoch):
                g_turn = (state.d_steps + 1) % t.n_critic == 0  # G trains after every n_critic-th D step
                # drawn for the global batch: each process keeps its slice of the batch, z and labels
                z = torch.randn(len(real), config.model.latent_dim, device=device, generator=state.noise)  # 1
                y_fake = (torch.randint(num_classes, (len(real),), device=device, generator=state.noise)
                          if conditional else None)
                real, y_real, z, y_fake = (replicas.local(v) for v in (real, y_real, z, y_fake))
                with torch.set_grad_enabled(g_turn), rules.forward_precision(device):
                    fake = state.synced_g(z, y_fake)                                                         # 2
                stats = d_step(state, real, fake, rules, y_real, y_fake)                                     # 3-4
                state.d_steps += 1
                state.batch_in_epoch = index + 1
                state.images_seen += len(real) * replicas.world
                if not g_turn:
                    continue
                stats |= g_step(state, fake, rules, y_fake)                                                  # 5
                if state.g_ema is not None:
                    ema_step(state, t.ema_decay)
                state.step += 1
                log.record({"step": state.step, "epoch": state.epoch + 1, "images_seen": state.images_seen,
                            "seconds": round(state.seconds + time.perf_counter() - started, 3)}, stats)
                bar.update(1)
                if state.step % LOG_BLOCK == 0:
                    bar.set_postfix_str(_postfix(log.last), refresh=False)
                if t.diagnose and state.step % DIVERSITY_EVERY == 0:
                    log.write_row({"step": state.step, "diversity": round(probe(state.g), 4)})
                if t.checkpoint_every and state.step % t.checkpoint_every == 0:
                    checkpoint(ckpt.step_name(state.step))
                interrupted, timed_out = stop.received is not None, time.perf_counter() >= deadline
                if replicas.active:  # processes agree where they stop, at the points where they exchange stats
                    at_block = state.step % LOG_BLOCK == 0
                    interrupted, timed_out = replicas.any(interrupted, timed_out, device=device) if at_block else (False, False)
                if interrupted:
                    raise Interrupted(run, state.step, stop.received)
                if timed_out:
                    stopped_by = "time_limit"
                if state.step >= total or stopped_by == "time_limit":
                    break
            if state.batch_in_epoch == batches.steps_per_epoch:                                             # 6
                state.epoch += 1
                state.batch_in_epoch = 0
                sample_grid(f"epoch_{state.epoch:04d}")
                checkpoint(ckpt.step_name(state.step))
                if evaluator and state.epoch % t.eval_every == 0:                                          # evaluate
                    evaluate()

    def roll_back(path: Path, exc: Diverged) -> None:
        """--on-nan rollback: back to a good checkpoint, both learning rates halved, the log rewound."""
        nonlocal diagnosis
        trained = state.seconds
        in_use = [[group["lr"] for group in opt.param_groups] for opt in (state.opt_g, state.opt_d)]
        restore(state, path)
        state.seconds = trained  # the lost steps took time too
        for opt, rates in zip((state.opt_g, state.opt_d), in_use):
            for group, rate in zip(opt.param_groups, rates):
                group["lr"] = rate * 0.5  # half of what was in use (the checkpoint may hold an older rate)
        log.rewind(state.step)
        if board:
            board.rewind(state.step)
        if diagnosis is not None:
            diagnosis = Diagnosis()  # the rows it judged are gone
        text = (f"training diverged at step {exc.step} ({exc.reason}); rolled back to checkpoint {path.name} "
                f"(step {state.step}) with learning rates halved: G {state.opt_g.param_groups[0]['lr']:.3g}, "
                f"D {state.opt_d.param_groups[0]['lr']:.3g}")
        log.note({"step": state.step, "rollback": text})
        if main:
            bar.write(f"gankit: {text}", file=sys.stderr)
            bar.n = min(state.step, total)
            bar.refresh()

    rollbacks = 0
    last_target: int | None = None  # step of the checkpoint the previous rollback went to
    stop = StopRequests()
    try:
        stop.__enter__()
        while True:
            try:
                train_epochs()
                break
            except Diverged as exc:
                # a second divergence means the last target may already have been on its way out: go
                # back further each time
                good = [p for p in ckpt.list_checkpoints(checkpoints)
                        if last_target is None or ckpt.read_meta(p)["step"] < last_target]
                if t.on_nan != "rollback" or rollbacks == MAX_ROLLBACKS or not good:
                    raise
                rollbacks += 1
                roll_back(good[-1], exc)
                last_target = state.step
        if state.batch_in_epoch:  # stopped mid-epoch by --max-steps or --time-limit
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
        tried = f" after {rollbacks} rollback{'s' if rollbacks > 1 else ''}" if rollbacks else ""
        hint = "try a lower --lr or another --loss" + ("" if t.on_nan == "rollback" else ", or --on-nan rollback")
        raise GankitError(f"training diverged at step {exc.step}{tried} ({exc.reason}); {where}; {hint}") from None
    finally:
        stop.__exit__()
        bar.close()
        if board:
            board.close()
    log.flush()
    seconds = time.perf_counter() - started
    if main:
        save_loss_plot(run / METRICS_FILE, run / "losses.png")
        save_progress_gif(run / "samples", run / "progress.gif")
        if t.report:
            write_report(run)
    return TrainResult(run=run, steps=state.step, epochs_done=state.epoch, seconds=seconds, last=log.last,
                       stopped_by=stopped_by)


class Evaluation:
    """Scores during training: the reference features are prepared once, the latents are fixed.

    With several processes each generates and extracts features for its slice of the latents; the
    main one scores them all and every process gets the scores.
    """

    # latents for evaluation come from this offset of the run's seed (apart from the grid's)
    SEED_OFFSET = 2_000_000

    def __init__(self, config: Config, dataset, device: torch.device, num_classes: int = 0,
                 replicas: Replicas = SINGLE):
        from gankit.metrics.evaluate import labels_like_data, parse_metrics, prepare_reference

        t = config.train
        replicas.check_splits(t.eval_n, "--eval-n")
        self.metrics = parse_metrics(t.eval_metrics)
        with replicas.main_first():  # the main process computes and caches the reference features
            self.reference = prepare_reference(config.data, t.extractor, device, train=dataset)
        z = latents(t.eval_n, config.model.latent_dim, t.seed + self.SEED_OFFSET, device)
        y = labels_like_data(dataset, t.eval_n, t.seed + self.SEED_OFFSET, device) if num_classes else None
        self.z, self.y = replicas.local(z), replicas.local(y)
        self.seed = t.seed
        self.replicas = replicas

    def run(self, generator) -> dict:
        from gankit.metrics.evaluate import score

        images = generate(generator, self.z, self.y)
        features = None
        if self.replicas.active:
            fake, probs = self.reference.extractor.extract(images, self.reference.device)
            features = (self.replicas.gather(fake), None if probs is None else self.replicas.gather(probs))
        scores = None
        if self.replicas.is_main:
            result = score(images, self.reference, self.metrics, seed=self.seed, features=features)
            values = {k: v for k, v in result["metrics"].items() if isinstance(v, (int, float))}
            scores = {**values, "eval_n": result["n"], "eval_extractor": self.reference.extractor.id}
        return self.replicas.from_main(scores)


def finite(module: nn.Module) -> bool:
    """Whether every parameter of `module` is finite (one host sync)."""
    norms = torch._foreach_norm([p.detach().float() for p in module.parameters()])
    return bool(torch.isfinite(torch.stack(norms)).all())


def autocast_dtype(precision: str) -> torch.dtype | None:
    from gankit.config import PRECISIONS

    name = PRECISIONS[precision]
    return getattr(torch, name) if name else None


def compile_networks(g: torch.nn.Module, d: torch.nn.Module, device: torch.device, double_backward: bool) -> None:
    """torch.compile G and D in place (their state_dict keys do not change, so checkpoints stay the same).

    D stays eager when a penalty differentiates through it twice: compiled graphs have no double backward.
    """
    check_compile_support(device)
    g.compile()
    if not double_backward:
        d.compile()


def _postfix(last: dict) -> str:
    if not last:
        return ""
    return (f"d_loss={last['d_loss']:.3f} g_loss={last['g_loss']:.3f} "
            f"D(x)={last['d_real']:.2f} D(G(z))={last['d_fake']:.2f}")
