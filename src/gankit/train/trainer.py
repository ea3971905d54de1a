"""The Trainer: the tutorial's loop, readable top to bottom, with everything else hung on callbacks.

    1. sample z   2. generate   3-4. train D on real + (detached) fake   5. train G against a fixed D
    6. repeat; and around that: log, preview each epoch, checkpoint.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn
from tqdm import tqdm

from gankit import checkpoint as ckpt
from gankit import conditions
from gankit.augment import parse_policy
from gankit.config import MAX_STEPS, Config, TrainConfig
from gankit.device import check_compile_support
from gankit.errors import GankitError
from gankit.losses import LOSSES
from gankit.models import MODELS, check_fits
from gankit.models.spec import aux_columns, bind_noise
from gankit.runlog import METRICS_FILE
from gankit.runs import RunClaim
from gankit.train.callbacks import Callback
from gankit.train.distributed import SINGLE, Replicas
from gankit.train.ema import ema_decay, ema_update, measure_statistics
from gankit.train.log import LOG_BLOCK, Diverged, MetricsLog
from gankit.train.schedule import decay_factor, set_learning_rates
from gankit.train.setup import (
    callbacks_for,
    check_something_left,
    load_training_data,
    preflight,
    restore_newest,
)
from gankit.train.state import TrainState, new_state, restore, save
from gankit.train.steps import StepRules, autocast_dtype, d_step, g_step, uses_batch_statistics
from gankit.train.stops import Interrupted, StopRequests

# --on-nan rollback gives up after this many rollbacks in one process
MAX_ROLLBACKS = 3


@dataclass
class TrainResult:
    run: Path
    steps: int
    epochs_done: int
    seconds: float
    last: dict
    # what ended training: epochs, max_steps or time_limit
    stopped_by: str = "epochs"


class Trainer:
    """Trains G and D as `config` says, writing everything into the run folder `run`.

    Args:
        config: the resolved run config (already written to run/config.toml).
        run: the run folder.
        resume: continue from the newest checkpoint in run/checkpoints.
        progress: show a tqdm progress bar on stderr.
        replicas: this process's place among several training processes (torchrun; see
            gankit.train.distributed); only the main one writes into `run`.
        device: the device `preflight` chose (None: check and choose here).
    """

    def __init__(self, config: Config, run: Path, resume: bool = False, progress: bool = True,
                 replicas: Replicas = SINGLE, device: torch.device | None = None):
        if MODELS.get(config.model.name).likelihood:
            raise GankitError(f"{config.model.name} is fitted by maximum likelihood, not trained in a game: "
                              "gankit.train.likelihood.fit_baseline fits it (gankit train does)")
        self.config, self.run, self.replicas = config, run, replicas
        self.device = device or preflight(config, replicas)
        self.main = replicas.is_main
        self.checkpoints = run / "checkpoints"
        self.claim = RunClaim(run) if self.main else None
        try:
            self._prepare(resume, progress)
        except BaseException:  # a refused start lets go of the run at once (an API caller may try again)
            if self.claim is not None:
                self.claim.release()
            raise

    def _prepare(self, resume: bool, progress: bool) -> None:
        """The data, the networks and, for a resume, the newest checkpoint that reads; the outputs."""
        config, run, replicas = self.config, self.run, self.replicas
        if self.main:
            ckpt.check_own_folder(self.checkpoints)
        data = load_training_data(config, self.checkpoints, resume, self.device, replicas)
        self.dataset, self.spec, self.batches = data.dataset, data.spec, data.batches
        self.labels_on_device, self.samples_on_device = data.labels_on_device, data.samples_on_device
        self.fake_rows = data.fake_rows
        self.total, self.limit = data.total, data.limit
        check_fits(config, self.spec.shape, self.device, self.spec.label_sizes)
        self.state = self._new_state()
        self.skipped: list[tuple[str, str]] = []  # damaged checkpoints passed over by a resume: (name, reason)
        if resume:
            self.state, self.skipped = restore_newest(self.state, self._new_state, run, data, config.data.name,
                                                      self.main)
            check_something_left(self.state, config, run, self.total)
        self._set_rules()
        self._open_outputs(progress)

    def _set_rules(self) -> None:
        """The rules of the steps; compiled networks, and DDP's wrappers where the family plays the usual game."""
        t, device, state = self.config.train, self.device, self.state
        loss = LOSSES.get(t.loss)
        named = aux_columns(self.config)
        self.rules = StepRules(loss=loss, gp_weight=loss.gp_weight if t.gp_weight is None else t.gp_weight,
                               r1_gamma=t.r1_gamma, augment=parse_policy(t.augment), autocast=autocast_dtype(t.precision),
                               joint_d_pass=not uses_batch_statistics(state.d), replicas=self.replicas,
                               aux_weight=t.aux_weight if named else 0.0, aux_columns=named,
                               aux_sizes=tuple(self.spec.label_sizes[i] for i in named))
        if t.compile:
            compile_networks(state.g, state.d, device,
                             double_backward=self.rules.gp_weight > 0 or self.rules.r1_gamma > 0, mode=t.compile_mode)
        # CUDA graphs reuse their outputs' memory: each D step says the previous step's outputs are done with
        self.graphs = uses_cuda_graphs(t, device)
        self.game = MODELS.get(self.config.model.name).game
        if self.game is None:  # a family's own game averages its gradients itself (Replicas.average_gradients)
            state.ddp_g, state.ddp_d = self.replicas.wrap(state.g, device), self.replicas.wrap(state.d, device)

    def _new_state(self) -> TrainState:
        state = new_state(self.config, self.spec.shape, self.device, self.spec.label_sizes)
        bind_noise(state.d, state.noise)
        if self.config.train.sync_batchnorm and self.replicas.active:
            state.g, state.d = (nn.SyncBatchNorm.convert_sync_batchnorm(net) for net in (state.g, state.d))
        return state

    def _open_outputs(self, progress: bool) -> None:
        """The metrics log, the callbacks, and the clocks and stop signals (the progress bar opens in fit)."""
        t = self.config.train
        self.log = MetricsLog(self.run / METRICS_FILE, self.state.step, self.replicas)
        for name, reason in self.skipped:
            self.log.note("checkpoint_skipped", {"step": self.state.step, "checkpoint": name, "reason": reason})
        self.progress = progress and self.main
        self.callbacks: list[Callback] = callbacks_for(self)
        self.log.watchers.append(lambda rows: self.emit("rows", rows))
        self.stop = StopRequests(say=self.main)
        self.ema_measured_at = -1  # the step G_ema's BatchNorm statistics were last measured at
        self.started = time.perf_counter()
        self.deadline = self.started + t.time_limit * 60 if t.time_limit else float("inf")
        self.stopped_by = self.limit
        # --lr-decay: the training seconds the run plans (a resume's time limit extends the plan), and how far
        # along them it is, refreshed every G step (with several processes, every LOG_BLOCK: they agree on it there)
        self.planned_seconds = self.state.seconds + t.time_limit * 60 if t.time_limit else None
        self.clock_done = self.state.seconds / self.planned_seconds if self.planned_seconds else 0.0

    # -- the loop --------------------------------------------------------------------------------

    def train_epochs(self) -> None:
        """Steps until the end (or a stop); raises Interrupted or Diverged."""
        state = self.state
        while state.step < self.total and self.stopped_by != "time_limit":
            for index, real, y_real in self.batches.epoch(state.epoch, start=state.batch_in_epoch):
                self.step(index, real, y_real)
                if state.step >= self.total or self.stopped_by == "time_limit":
                    break
            if state.batch_in_epoch == self.batches.steps_per_epoch:                                      # 6
                self.end_epoch()

    def step(self, index: int, real: torch.Tensor, y_real: torch.Tensor | None) -> None:
        """One D step on a batch, and a G step after every n_critic-th D step."""
        state, t, rules, replicas = self.state, self.config.train, self.rules, self.replicas
        g_turn = (state.d_steps + 1) % t.n_critic == 0
        if self.graphs:
            torch.compiler.cudagraph_mark_step_begin()
        if t.lr_decay != "none":
            self.decay_learning_rates()
        # drawn for the global batch: each process keeps its slice of the batch, z and labels
        z = torch.randn(len(real), self.config.model.latent_dim, device=self.device, generator=state.noise)   # 1
        y_fake = (conditions.draw(self.fake_rows, len(real), state.noise)
                  if self.fake_rows is not None else None)
        real, y_real, z, y_fake = (replicas.local(v) for v in (real, y_real, z, y_fake))
        if self.game is not None:  # the family's own game (arae: on codes, not samples)
            stats = self.game(state, real, z, rules, g_turn)                                               # 2-5
        else:
            with torch.set_grad_enabled(g_turn), rules.forward_precision(self.device):
                fake = state.synced_g(z, y_fake)                                                           # 2
            stats = d_step(state, real, fake, rules, y_real, y_fake)                                       # 3-4
            if g_turn:
                stats |= g_step(state, fake, rules, y_fake)                                                # 5
        state.d_steps += 1
        state.batch_in_epoch = index + 1
        state.images_seen += len(real) * replicas.world
        if not g_turn:
            return
        if state.g_ema is not None:
            ema_update(state.g_ema, state.g, ema_decay(t.ema_decay, t.ema_rampup, state.step + 1))
        state.step += 1
        self.log.record({"step": state.step, "epoch": state.epoch + 1, "images_seen": state.images_seen,
                         "seconds": round(self.elapsed(), 3)}, stats)
        self.bar.update(1)
        if state.step % LOG_BLOCK == 0:
            self.bar.set_postfix_str(_postfix(self.log.last), refresh=False)
        if t.lr_decay != "none" and self.planned_seconds:
            if not replicas.active:  # a short run on a slow machine may not reach LOG_BLOCK steps
                self.clock_done = self.elapsed() / self.planned_seconds
            elif state.step % LOG_BLOCK == 0:
                self.clock_done = replicas.mean(torch.tensor([self.elapsed() / self.planned_seconds],
                                                             device=self.device)).item()
        self.emit("step")
        if t.checkpoint_every and state.step % t.checkpoint_every == 0:
            self.checkpoint(ckpt.step_name(state.step))
        self.check_stops()

    def decay_learning_rates(self) -> None:
        steps_done = self.state.step / self.total if self.total < MAX_STEPS else 0.0
        set_learning_rates((self.state.opt_g, self.state.opt_d), decay_factor(steps_done, self.clock_done))

    def end_epoch(self) -> None:
        self.state.epoch += 1
        self.state.batch_in_epoch = 0
        self.emit("epoch_end")  # previews first: a checkpoint that fails leaves the epoch's picture
        self.checkpoint(ckpt.step_name(self.state.step))
        self.emit("epoch_saved")

    def check_stops(self) -> None:
        interrupted, timed_out = self.stop.received is not None, time.perf_counter() >= self.deadline
        if self.replicas.active:  # processes agree where they stop, at the points where they exchange stats
            at_block = self.state.step % LOG_BLOCK == 0
            interrupted, timed_out = (self.replicas.any(interrupted, timed_out, device=self.device) if at_block
                                      else (False, False))
        if interrupted:
            raise Interrupted(self.run, self.state.step, self.stop.received)
        if timed_out:
            self.stopped_by = "time_limit"

    # -- around the loop -------------------------------------------------------------------------

    def fit(self) -> TrainResult:
        """Train to the end; on divergence roll back (--on-nan rollback) or stop with the reason."""
        try:
            return self._fit()
        finally:
            if self.claim is not None:
                self.claim.release()

    def _fit(self) -> TrainResult:
        rollbacks = 0
        last_target: int | None = None  # step of the checkpoint the previous rollback went to
        self.bar = tqdm(total=self.total if self.total < MAX_STEPS else None, initial=min(self.state.step, self.total),
                        disable=not self.progress,
                        unit="step", dynamic_ncols=True, file=sys.stderr)
        try:
            self.stop.__enter__()
            while True:
                try:
                    self.train_epochs()
                    break
                except Diverged as exc:
                    # a second divergence means the last target may already have been on its way out: go
                    # back further each time
                    good = [p for p in ckpt.list_checkpoints(self.checkpoints)
                            if last_target is None or ckpt.read_meta(p)["step"] < last_target]
                    if self.config.train.on_nan != "rollback" or rollbacks == MAX_ROLLBACKS or not good:
                        raise
                    rollbacks += 1
                    self.roll_back(good[-1], exc)
                    last_target = self.state.step
            self.emit("stopping")
            self.checkpoint(ckpt.FINAL)
        except Interrupted:
            self.bar.close()
            self.checkpoint(ckpt.step_name(self.state.step))
            raise
        except Diverged as exc:
            self.bar.close()
            raise self.divergence_error(exc, rollbacks) from None
        finally:
            self.close()
        self.log.flush()
        seconds = time.perf_counter() - self.started
        self.emit("finished")
        return TrainResult(run=self.run, steps=self.state.step, epochs_done=self.state.epoch, seconds=seconds,
                           last=self.log.last, stopped_by=self.stopped_by)

    def divergence_error(self, exc: Diverged, rollbacks: int) -> GankitError:
        good = ckpt.list_checkpoints(self.checkpoints)
        where = f"the last good checkpoint is {good[-1]}" if good else "no checkpoint was written"
        tried = f" after {rollbacks} rollback{'s' if rollbacks > 1 else ''}" if rollbacks else ""
        on_nan = self.config.train.on_nan
        hint = "try a lower --lr or another --loss" + ("" if on_nan == "rollback" else ", or --on-nan rollback")
        return GankitError(f"training diverged at step {exc.step}{tried} ({exc.reason}); {where}; {hint}")

    def checkpoint(self, name: str) -> None:
        state = self.state
        self.log.flush()  # raises Diverged before a poisoned state can be saved
        self.measure_ema_statistics()
        broken = [label for label, net in (("G", state.g), ("D", state.d)) if not finite(net)]
        if broken:
            raise Diverged(state.step, f"non-finite weights in {' and '.join(broken)}")
        digest = self.replicas.check_in_sync(state.g, state.d)
        if self.main:
            save(state, self.config, self.spec, self.checkpoints, name, seconds=self.elapsed(),
                 extra={"processes": self.replicas.world, "params_sha256": digest} if digest else None)
            ckpt.prune(self.checkpoints, self.config.train.keep_checkpoints)

    def roll_back(self, path: Path, exc: Diverged) -> None:
        """--on-nan rollback: back to a good checkpoint, both learning rates halved, the log rewound."""
        state = self.state
        trained = state.seconds
        in_use = [[(group["lr"], group.get("initial_lr")) for group in opt.param_groups]
                  for opt in (state.opt_g, state.opt_d)]
        restore(state, path)
        state.seconds = trained  # the lost steps took time too
        for opt, rates in zip((state.opt_g, state.opt_d), in_use):
            for group, (rate, initial) in zip(opt.param_groups, rates):
                group["lr"] = rate * 0.5  # half of what was in use (the checkpoint may hold an older rate)
                if initial is not None:  # --lr-decay: the rest of the schedule at half the rates too
                    group["initial_lr"] = initial * 0.5
        self.log.rewind(state.step)
        self.emit("rewind", state.step)
        text = (f"training diverged at step {exc.step} ({exc.reason}); rolled back to checkpoint {path.name} "
                f"(step {state.step}) with learning rates halved: G {state.opt_g.param_groups[0]['lr']:.3g}, "
                f"D {state.opt_d.param_groups[0]['lr']:.3g}")
        self.log.note("rollback", {"step": state.step, "rollback": text})
        self.say(text)
        if self.main:
            self.bar.n = min(state.step, self.total)
            self.bar.refresh()

    def close(self) -> None:
        self.stop.__exit__()
        self.bar.close()
        self.emit("close")

    # -- helpers ---------------------------------------------------------------------------------

    def sampler(self) -> nn.Module:
        """The G that previews and evaluations use: the EMA copy when the run keeps one."""
        if self.state.g_ema is None:
            return self.state.g
        self.measure_ema_statistics()
        return self.state.g_ema

    def measure_ema_statistics(self) -> None:
        """--set train.ema_batchnorm=measure: G_ema's own BatchNorm statistics, once per step they are used at."""
        state, t = self.state, self.config.train
        if state.g_ema is None or t.ema_batchnorm != "measure" or self.ema_measured_at == state.step:
            return
        measure_statistics(state.g_ema, self.config.model.latent_dim, self.fake_rows, t.batch_size, t.seed,
                           state.step, self.device)
        self.ema_measured_at = state.step

    def elapsed(self) -> float:
        """Training seconds of the whole run, this process's and those before a resume."""
        return self.state.seconds + time.perf_counter() - self.started

    def emit(self, event: str, *args) -> None:
        for callback in self.callbacks:
            getattr(callback, f"on_{event}")(self, *args)

    def say(self, text: str, prefix: bool = True) -> None:
        """A line on stderr above the progress bar (main process only)."""
        if self.main:
            line = f"gankit: {text}" if prefix else text
            if getattr(self, "bar", None) is None:  # before fit opened the progress bar
                print(line, file=sys.stderr)
            else:
                self.bar.write(line, file=sys.stderr)


def train(config: Config, run: Path, resume: bool = False, progress: bool = True,
          replicas: Replicas = SINGLE, device: torch.device | None = None) -> TrainResult:
    """Train G and D as `config` says, writing everything into the run folder `run` (see Trainer)."""
    return Trainer(config, run, resume, progress, replicas, device).fit()


def finite(module: nn.Module) -> bool:
    """Whether every parameter of `module` is finite (one host sync)."""
    norms = torch._foreach_norm([p.detach().float() for p in module.parameters()])
    return bool(torch.isfinite(torch.stack(norms)).all())


def uses_cuda_graphs(t: TrainConfig, device: torch.device) -> bool:
    """Whether compiled networks replay CUDA graphs (torch.compile's reduce-overhead mode; a CPU has none)."""
    return t.compile and t.compile_mode == "reduce-overhead" and device.type == "cuda"


def compile_networks(g: torch.nn.Module, d: torch.nn.Module, device: torch.device, double_backward: bool,
                     mode: str = "default") -> None:
    """torch.compile G and D in place in `mode` (their state_dict keys do not change, so checkpoints stay the same).

    D stays eager when a penalty differentiates through it twice: compiled graphs have no double backward.
    """
    check_compile_support(device)
    g.compile(mode=mode)
    if not double_backward:
        d.compile(mode=mode)


def _postfix(last: dict) -> str:
    if not last:
        return ""
    return (f"d_loss={last['d_loss']:.3f} g_loss={last['g_loss']:.3f} "
            f"D(x)={last['d_real']:.2f} D(G(z))={last['d_fake']:.2f}")
