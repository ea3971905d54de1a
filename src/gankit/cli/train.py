"""gankit train: start a run (or resume one) and show its progress."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from gankit import checkpoint as ckpt
from gankit.atomic import write_atomically
from gankit.auto import auto_line
from gankit.config import Config, field_help, load_config_file, to_dict, to_toml
from gankit.data.kinds import data_classes, data_kind
from gankit.errors import GankitError
from gankit.losses import LOSSES
from gankit.modalities import default_folder_kind
from gankit.models import MODELS
from gankit.plots import save_progress_gif
from gankit.report.html import write_report
from gankit.report.tensorboard import require_tensorboard
from gankit.resolve import NATIVE_KEYS, resolve_config
from gankit.runs import create_run, open_run
from gankit.smoke import SMOKE_ENV, smoke_steps
from gankit.train import Trainer, preflight
from gankit.train.distributed import GLOBAL_BATCH, Replicas, join, launched_by_torchrun, leave
from gankit.train.launch import launch, without_nproc
from gankit.train.likelihood import fit_baseline
from gankit.train.stops import Interrupted, StoppedBeforeStart, stops_raise

NAME = "train"
HELP = "train a GAN (default: the tutorial's classic model on Fashion-MNIST)"
DESCRIPTION = """Train G and D in turns, the tutorial's way: sample z, generate, train D on real +
fake, train G against the fixed D, repeat. Everything goes into a run folder: config.toml,
metrics.jsonl, samples/epoch_NNNN.png, checkpoints/, losses.png, progress.gif and report.html.
Training watches its own signals and warns, once per episode, when D overpowers G, samples
collapse or the game oscillates; it stops when it diverges.

examples:
  gankit train
  gankit train --model dcgan --data fashion-mnist --epochs 2 --loss hinge --name my-run
  gankit train --config run.toml --lr 1e-4
  gankit train --data ./my_images --image-size 64 --channels 3
  gankit train --data spoken-digits --model wavegan      (sound: gankit data spoken-digits makes it)
  gankit train --data notes --model auto                 (music: gankit data notes makes it)
  gankit train --data words --model textgan              (text: Debian's word list, or --data lines.txt)
  gankit train --resume runs/my-run --epochs 10
  gankit train --nproc 4 --model dcgan --batch-size 512     (4 processes: one per GPU, or CPU ones)

Precedence: defaults < the model's own defaults < --config file < flags. Any config key can be set
with --set section.key=value (e.g. --set model.width=32)."""

# flag -> config key; the help text comes from the config field itself
FLAGS: dict[str, str] = {
    "--model": "model.name",
    "--data": "data.name",
    "--data-dir": "data.data_dir",
    "--image-size": "data.image_size",
    "--channels": "data.channels",
    "--clusters": "data.clusters",
    "--sample-rate": "data.sample_rate",
    "--clip-samples": "data.clip_samples",
    "--seq-len": "data.seq_len",
    "--loss": "train.loss",
    "--epochs": "train.epochs",
    "--max-steps": "train.max_steps",
    "--lr-g": "train.lr_g",
    "--lr-d": "train.lr_d",
    "--lr-decay": "train.lr_decay",
    "--batch-size": "train.batch_size",
    "--latent-dim": "model.latent_dim",
    "--seed": "train.seed",
    "--device": "train.device",
    "--checkpoint-every": "train.checkpoint_every",
    "--n-critic": "train.n_critic",
    "--ema": "train.ema_decay",
    "--augment": "train.augment",
    "--r1": "train.r1_gamma",
    "--time-limit": "train.time_limit",
    "--precision": "train.precision",
    "--on-nan": "train.on_nan",
    "--eval-every": "train.eval_every",
    "--eval-n": "train.eval_n",
}
# what may change when a run is resumed (how long it runs and where), not what it trains
RESUMABLE = {"train.epochs", "train.max_steps", "train.device", "train.checkpoint_every", "train.keep_checkpoints",
             "train.eval_every", "train.eval_n", "train.eval_metrics", "train.time_limit", "train.precision", "train.on_nan",
             "train.compile", "train.compile_mode", "train.sync_batchnorm", "train.diagnose", "train.report", "train.tensorboard"}


def _native_line(config: Config, chosen: set[str]) -> str | None:
    """What the data implied for the settings gankit `chosen` for it, from the surveys made when the config was
    resolved (the data is not read again)."""
    kind = data_kind(config.data)
    return kind.native_line(config.data, chosen) if kind is not None else None


def _value(config: Config, key: str):
    section, name = key.split(".")
    return to_dict(config)[section].get(name)


def _default(key: str):
    return _value(Config(), key)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    run = parser.add_argument_group("run folder")
    run.add_argument("--config", metavar="FILE", help="TOML or YAML file with [data], [model], [train] sections")
    run.add_argument("--resume", metavar="RUN", help="continue the run in this folder from its newest checkpoint")
    run.add_argument("--out", metavar="DIR", default="runs", help="folder that holds run folders (default: runs)")
    run.add_argument("--name", help="run folder name (default: the next free number, e.g. 0001-classic-fashion-mnist)")
    run.add_argument("--nproc", type=int, metavar="N",
                     help="train in N processes on this machine (one per GPU, or CPU processes) with "
                          "DistributedDataParallel: a shortcut for torchrun --standalone --nproc_per_node N -m gankit train")
    run.add_argument("--dry-run", action="store_true", help="print the resolved config and exit without training")
    run.add_argument("--no-progress", action="store_true", help="no progress bar (logs still go to metrics.jsonl)")
    cfg = parser.add_argument_group("training (each maps to a config key)")
    choices = {"model.name": MODELS.names() + ["auto"], "train.loss": LOSSES.names()}
    for flag, key in FLAGS.items():
        text = f"{field_help(key)} [{key}] (default: {_default(key)})"
        if key in choices:
            text = f"{text}; one of: {', '.join(choices[key])}"
        cfg.add_argument(flag, metavar=key.split(".")[1].upper(), help=text.replace("%", "%%"))
    cfg.add_argument("--compile", nargs="?", const="default", metavar="MODE",
                     help=f"{field_help('train.compile')}; MODE: reduce-overhead adds CUDA graphs (default: "
                          "default) [train.compile, train.compile_mode]")
    cfg.add_argument("--sync-batchnorm", action="store_true",
                     help=f"{field_help('train.sync_batchnorm')} [train.sync_batchnorm]")
    cfg.add_argument("--no-report", action="store_true", help="do not write report.html at the end [train.report]")
    cfg.add_argument("--tensorboard", action="store_true",
                     help=f"{field_help('train.tensorboard')} [train.tensorboard]".replace("%", "%%"))
    cfg.add_argument("--lr", metavar="LR", help="learning rate of both G and D (default: 0.0002, the tutorial's)")
    cfg.add_argument("--set", metavar="KEY=VALUE", action="append", default=[],
                     help="set any config key, e.g. --set model.width=32 (repeatable)")


def overrides_from(args: argparse.Namespace) -> dict:
    values: dict = {}
    if args.lr is not None:
        values["train.lr_g"] = values["train.lr_d"] = args.lr
    if args.compile is not None:
        values["train.compile"] = True
        values["train.compile_mode"] = args.compile
    if args.tensorboard:
        values["train.tensorboard"] = True
    if args.sync_batchnorm:
        values["train.sync_batchnorm"] = True
    if args.no_report:
        values["train.report"] = False
    for flag, key in FLAGS.items():
        value = getattr(args, flag[2:].replace("-", "_"))
        if value is not None:
            values[key] = value
    for item in args.set:
        if "=" not in item:
            raise GankitError(f"--set {item!r} must look like section.key=value")
        key, value = item.split("=", 1)
        values[key.strip()] = value.strip()
    return values


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except GankitError as exc:
        raise named_by_flag(exc, args) from None


def named_by_flag(exc: GankitError, args: argparse.Namespace) -> GankitError:
    """An error about a config key names the flag the user typed first: '--batch-size (train.batch_size) ...'."""
    text = str(exc)
    for flag, key in FLAGS.items():
        if text.startswith(f"{key} ") and getattr(args, flag[2:].replace("-", "_"), None) is not None:
            return GankitError(f"{flag} ({key}){text[len(key):]}")
    return exc


def _run(args: argparse.Namespace) -> int:
    overrides = overrides_from(args)
    if (steps := smoke_steps()) is not None:  # a walk of commands, checked quickly: N G steps from where it starts
        done = max((ckpt.read_meta(p)["step"] for p in ckpt.list_checkpoints(Path(args.resume) / "checkpoints")),
                   default=0) if args.resume else 0
        overrides["train.max_steps"] = min(overrides.get("train.max_steps") or done + steps, done + steps)
        overrides["train.report"] = False  # the end-of-training report (`gankit report` still writes one)
        print(f"gankit: {SMOKE_ENV} is set: stopping at step {overrides['train.max_steps']}, no report",
              file=sys.stderr)
    if args.resume:
        if args.config or args.name:
            raise GankitError("--resume continues a run with its own config; drop --config and --name")
        run_dir, saved = open_run(args.resume)
        file_values = {f"{s}.{k}": v for s, vals in to_dict(saved).items() for k, v in vals.items() if v is not None}
        # a run saved without these trained at the defaults of its day, not at its data's own
        file_values |= {key: _value(saved, key) for key in NATIVE_KEYS}
        config = resolve_config(file_values, overrides)
        # repeating the run's own value is fine (the same command line can start and resume a run)
        fixed = sorted(key for key in set(overrides) - RESUMABLE if _value(config, key) != _value(saved, key))
        if fixed:
            raise GankitError(f"cannot change {', '.join(fixed)} when resuming; only {', '.join(sorted(RESUMABLE))} "
                              "may change (start a new run to change the rest)")
    else:
        run_dir = None
        file_values = load_config_file(args.config) if args.config else {}
        config = resolve_config(file_values, overrides)
        args.auto = {**file_values, **overrides}.get("model.name") == "auto"  # said once training starts
        args.native = NATIVE_KEYS - {**file_values, **overrides}.keys()  # likewise what the data implied
    if args.dry_run:
        print(to_toml(config), end="")
        return 0
    if MODELS.get(config.model.name).likelihood:
        return _fit_baseline(args, config)
    if args.nproc is not None and args.nproc != 1 and not launched_by_torchrun():
        if args.nproc < 1:
            raise GankitError(f"--nproc {args.nproc} must be at least 1")
        Replicas(world=args.nproc).check_splits(config.train.batch_size, "--batch-size", GLOBAL_BATCH)
        return launch(args.nproc, without_nproc(args.argv))
    replicas = join(config.train.device)
    try:
        status = _train(args, config, run_dir, replicas)
    except BaseException:
        leave(replicas, finished=False)
        raise
    leave(replicas, finished=True)
    return status


def _train(args: argparse.Namespace, config: Config, run_dir: Path | None, replicas) -> int:
    # problems with the machine are reported before a run folder is created or changed
    device = preflight(config, replicas)
    if config.train.tensorboard:
        require_tensorboard()

    def prepare_folder() -> tuple[str | None, str | None]:
        # (run folder, error): the main process creates it, every process learns the outcome
        try:
            return str(run_dir if args.resume else create_run(args.out, args.name, config)), None
        except GankitError as exc:
            return None, str(exc)

    say = replicas.is_main
    try:
        with stops_raise():  # from before the folder is made: its last write is synced to disk, which takes a while
            folder, error = replicas.from_main(prepare_folder() if replicas.is_main else None)
            if error:
                raise GankitError(error)
            run_dir = Path(folder)
            if say:  # what the data implied and auto chose, then the preparing, which can take minutes (reading a
                # large folder, clustering, measuring spectrograms)
                native_line = _native_line(config, getattr(args, "native", set()))
                if native_line:
                    print(f"gankit: {native_line}", file=sys.stderr)
                if getattr(args, "auto", False):
                    kind, classes = data_classes(config.data.name)
                    print(f"gankit: {auto_line(config, kind or default_folder_kind(), classes)}", file=sys.stderr)
                limit = " (not counted in --time-limit)" if config.train.time_limit else ""
                print(f"gankit: preparing {run_dir}: reading {config.data.name}{limit}", file=sys.stderr)
            trainer = Trainer(config, run_dir, resume=bool(args.resume), progress=not args.no_progress,
                              replicas=replicas, device=device)
    except StoppedBeforeStart as stop:
        return _stopped_before_start(stop, run_dir, args.resume, say)
    except BaseException:
        if say and not args.resume and run_dir is not None:  # a start that fails leaves nothing behind
            shutil.rmtree(run_dir, ignore_errors=True)
        raise
    if say:
        if args.resume:  # the new length or device, recorded once the run can go on
            write_atomically(run_dir / "config.toml", to_toml(config))
        processes = f" in {replicas.world} processes" if replicas.active else ""
        print(f"gankit: {'resuming' if args.resume else 'training'} {config.model.name} on {config.data.name}"
              f"{processes} -> {run_dir}", file=sys.stderr)
    try:
        result = trainer.fit()
    except Interrupted as exc:
        if say:
            print(f"gankit: {exc}", file=sys.stderr)
        return exc.exit_status
    if not say:
        return 0
    print(done_line(result, config))
    if result.last:
        last = result.last
        print(f"last step: d_loss {last['d_loss']:.3f}, g_loss {last['g_loss']:.3f}, "
              f"D(x) {last['d_real']:.2f}, D(G(z)) {last['d_fake']:.2f}")
    print(f"run folder: {run_dir}")
    print(describe_folder(run_dir))
    return 0


def _stopped_before_start(stop: StoppedBeforeStart, run_dir: Path | None, resumed: bool, say: bool,
                          when: str = "while preparing the run, before its first step") -> int:
    """A run stopped before anything of it could be used: a new one leaves nothing behind (None: stopped before its
    folder was made, or while create_run made it and took it away), a resumed one is as it was."""
    if not say:
        return stop.exit_status
    if resumed:
        kept = f"{run_dir} is as it was"
    else:
        if run_dir is not None:
            shutil.rmtree(run_dir, ignore_errors=True)
        kept = "nothing was kept" + (f" ({run_dir} removed, the name is free)" if run_dir is not None else "")
    print(f"gankit: interrupted by {stop.signal_name} {when}: {kept}", file=sys.stderr)
    return stop.exit_status


def _fit_baseline(args: argparse.Namespace, config: Config) -> int:
    """charlm and ngram: fitted by maximum likelihood in one go, in one process (gankit.train.likelihood)."""
    name = config.model.name
    if args.resume or (args.nproc or 1) != 1 or launched_by_torchrun():
        raise GankitError(f"{name} is fitted in one go, in one process: start a new run without --resume or --nproc")
    device = preflight(config)
    run_dir = create_run(args.out, args.name, config)
    native_line = _native_line(config, getattr(args, "native", set()))
    if native_line:
        print(f"gankit: {native_line}", file=sys.stderr)
    print(f"gankit: fitting {name} on {config.data.name} -> {run_dir}", file=sys.stderr)
    try:
        with stops_raise():
            result = fit_baseline(config, run_dir, device)
    except StoppedBeforeStart as stop:
        return _stopped_before_start(stop, run_dir, False, True, "during the fit, whose only checkpoint comes at its end")
    except BaseException:  # likewise
        shutil.rmtree(run_dir, ignore_errors=True)
        raise
    save_progress_gif(run_dir / "samples", run_dir / "progress.gif")
    if config.train.report:
        write_report(run_dir)
    print(done_line(result, config))
    print(f"last step: negative log-likelihood {result.last['nll']:.3f} nats per character")
    print(f"run folder: {run_dir}")
    print(describe_folder(run_dir))
    return 0


def done_line(result, config: Config) -> str:
    """'done: 600 steps, 1 epochs in 41 s (--epochs 1 reached)': what was trained, and which limit stopped it."""
    limit = {"epochs": "--epochs {t.epochs} reached", "max_steps": "--max-steps {t.max_steps} reached",
             "time_limit": "--time-limit {t.time_limit:g} min reached",
             "counted": "n-grams counted in one pass"}[result.stopped_by].format(t=config.train)
    return f"done: {result.steps} steps, {result.epochs_done} epochs in {result.seconds:.0f} s ({limit})"


def describe_folder(run_dir: Path) -> str:
    """A short listing of what the run folder holds, for the end of training."""
    lines = []
    for path in sorted(run_dir.iterdir()):
        if path.is_dir():
            children = sorted(p.name for p in path.iterdir() if not p.name.startswith("."))
            shown = children if len(children) <= 4 else children[:2] + ["...", children[-1]]
            lines.append(f"  {path.name}/  ({len(children)}: {', '.join(shown)})")
        else:
            lines.append(f"  {path.name}  ({path.stat().st_size / 1024:.0f} KiB)")
    return "\n".join(lines)
