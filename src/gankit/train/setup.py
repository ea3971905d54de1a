"""What a run needs before its first step, apart from the loop (torchtune's recipes keep setup apart from train):
the machine checked, the training data on the device in batches, the newest checkpoint restored, the callbacks."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from gankit import checkpoint as ckpt
from gankit.conditions import table
from gankit.config import MAX_STEPS, Config
from gankit.data import Dataset, load_dataset
from gankit.data.batches import DeviceBatches, balanced_pool
from gankit.device import check_compile_support, resolve_device
from gankit.errors import GankitError
from gankit.modalities import SampleSpec
from gankit.models import MODELS
from gankit.train.callbacks import Callback
from gankit.train.callbacks.diagnosis import Diagnose
from gankit.train.callbacks.evaluation import Evaluation
from gankit.train.callbacks.previews import Previews
from gankit.train.callbacks.summary import Summary
from gankit.train.callbacks.tensorboard import TensorBoard
from gankit.train.distributed import GLOBAL_BATCH, SINGLE, Replicas
from gankit.train.state import TrainState, restore

# fewer G steps than this in a whole run are worth a warning: G has barely started
FEW_STEPS = 50


def preflight(config: Config, replicas: Replicas = SINGLE) -> torch.device:
    """What the machine must offer for this config, checked before a run folder is made or changed."""
    t = config.train
    device = resolve_device(replicas.device_for(t.device))
    replicas.check_splits(t.batch_size, "--batch-size", GLOBAL_BATCH)
    replicas.check_sync_batchnorm(t.sync_batchnorm, device)
    if t.compile:
        check_compile_support(device)
    return device


@dataclass
class TrainingData:
    """The training set as the loop uses it."""

    dataset: Dataset
    # what G makes, as checkpoints record it
    spec: SampleSpec
    # (N, k): every sample's labels, a column per condition, for a conditional family (None otherwise)
    labels_on_device: torch.Tensor | None
    # what batches are cut from: the stored samples, or a view of them computed once (spectrograms)
    samples_on_device: torch.Tensor
    batches: DeviceBatches
    # G steps the run makes, and what sets that number: epochs or max_steps (MAX_STEPS: until --time-limit)
    total: int
    limit: str
    # the rows fakes' labels are drawn from: labels_on_device, each as often as an epoch draws its sample
    # (train.class_balance), so fake batches have the proportions of real ones
    fake_rows: torch.Tensor | None = None


def load_training_data(config: Config, checkpoints: Path, resume: bool, device: torch.device,
                       replicas: Replicas = SINGLE) -> TrainingData:
    """The training set, on the device, in batches, and what G will make; refuses data the run cannot train on."""
    t = config.train
    family = MODELS.get(config.model.name)
    view = family.spectrogram(config) if family.spectrogram else None
    if view is not None and resume:
        view = saved_view(checkpoints) or view
    with replicas.main_first():  # one download, one cache
        dataset = load_dataset(config.data, spectrogram=view)
    if len(dataset) < t.batch_size:
        raise GankitError(f"{config.data.name} has {len(dataset)} samples, fewer than --batch-size "
                          f"{t.batch_size}: use --batch-size {len(dataset)} or fewer, or add samples")
    conditional = family.conditional
    if conditional and dataset.labels is None:
        raise GankitError(f"model {config.model.name} needs class labels, and {config.data.name} has none "
                          "(use a labelled dataset or a folder with one subfolder per class)")
    conditions = dataset.conditions if conditional else ()
    rows = dataset.label_rows() if conditional else None
    several = rows is not None and len(conditions) > 1  # one condition's grids and asks need no table
    spec = SampleSpec(dataset.sample_shape, dataset.modality, conditions, table(rows) if several else ())
    labels = rows.to(device) if rows is not None else None
    samples, to_model = dataset.modality.training_set(dataset.samples.to(device))
    pool = balanced_pool(rows[:, 0], t.class_balance) if rows is not None else None
    batches = DeviceBatches(samples, t.batch_size, t.seed, labels, to_model=to_model, pool=pool)
    total, limit = planned_steps(config, batches.size, batches.steps_per_epoch, replicas.is_main)
    fake_rows = labels[pool.to(device)] if pool is not None else labels
    return TrainingData(dataset, spec, labels, samples, batches, total, limit, fake_rows)


def planned_steps(config: Config, samples: int, batches_per_epoch: int, main: bool) -> tuple[int, str]:
    """(G steps the run makes, what ends it unless the time limit comes first: "epochs" or "max_steps")."""
    t = config.train
    total = batches_per_epoch * t.epochs // t.n_critic if t.epochs else MAX_STEPS  # epochs 0: until a limit
    if total == 0:
        raise GankitError(f"{samples} samples in batches of {t.batch_size} for {t.epochs} epochs make no G "
                          f"step (each takes {t.n_critic} batches, --n-critic {t.n_critic}); raise --epochs or lower "
                          "--batch-size")
    if t.max_steps is not None:
        if t.max_steps < total:
            return t.max_steps, "max_steps"
    elif total < FEW_STEPS and main and not t.time_limit:
        print(f"gankit: warning: {samples} samples in batches of {t.batch_size} for {t.epochs} epochs "
              f"make only {total} G steps, too few for a GAN to learn much; raise --epochs or lower "
              "--batch-size", file=sys.stderr)
    return total, "epochs"


def saved_view(checkpoints: Path):
    """The spectrogram statistics the run has trained with, from its newest readable checkpoint: G's pictures
    mean what they meant before the stop even if the data changed since (None: no checkpoint holds them)."""
    for path in reversed(ckpt.scan_checkpoints(checkpoints)[0]):
        try:
            modality = SampleSpec.from_meta(ckpt.read_meta(path), str(path)).modality
        except GankitError:
            continue  # the restore passes over it, and says why
        return getattr(modality, "spectrogram", None)
    return None


def restore_newest(state: TrainState, fresh, run: Path, data: TrainingData, data_name: str,
                   main: bool) -> tuple[TrainState, list[tuple[str, str]]]:
    """Load the newest checkpoint of `run` that reads into `state` (`fresh()` makes a new one after a failed try);
    (the state, the damaged checkpoints passed over as (name, reason)), which the caller says."""
    good, damaged = ckpt.scan_checkpoints(run / "checkpoints")
    skipped = [(path.name, reason) for path, reason in damaged]
    if good:
        data.spec.modality.check_resume(ckpt.read_meta(good[-1]).get("modality"), data_name, run)
    for path in reversed(good):
        try:
            restore(state, path)
            break
        except GankitError as exc:
            skipped.append((path.name, str(exc)))
            state = fresh()  # a failed restore may have loaded part of it
    else:
        if skipped:
            raise GankitError(f"every checkpoint of {run} is damaged ({skipped[0][1]}); there is nothing to resume "
                              "from: start a new run")
        if main:  # stopped before its first checkpoint: nothing was kept, so it starts again
            print(f"gankit: {run} has no complete checkpoint yet; starting it from step 0", file=sys.stderr)
        return state, skipped
    if main:
        for name, reason in skipped:
            print(f"gankit: passed over checkpoint {name}: {reason}; resuming from {path.name} (step {state.step})",
                  file=sys.stderr)
    return state, skipped


def check_something_left(state: TrainState, config: Config, run: Path, total: int) -> None:
    """A resume that would train nothing is refused before it writes anything: it would otherwise save a stop
    target at or below what is done, and every later plain --resume would do nothing either."""
    t = config.train
    finished = (run / "checkpoints" / ckpt.FINAL).is_dir()  # a run killed after its last step still finishes
    if state.step < total or not finished:
        return
    limit = (f"--max-steps {t.max_steps}" if t.max_steps is not None and t.max_steps <= state.step
             else f"--epochs {t.epochs}")
    done = f"{state.epoch} epoch{'' if state.epoch == 1 else 's'} done"
    raise GankitError(f"{run} is at step {state.step} ({done}), so {limit} trains nothing; continue it with "
                      f"--max-steps above {state.step} or --epochs above {state.epoch}")


def callbacks_for(trainer) -> list[Callback]:
    """The side outputs of training, in the order they hear of each event: the diagnosis first, the summary last."""
    t = trainer.config.train
    callbacks: list[Callback] = []
    if t.diagnose:
        callbacks.append(Diagnose(trainer))
    if t.tensorboard and trainer.main:
        callbacks.append(TensorBoard(trainer))
    callbacks.append(Previews(trainer))
    if t.eval_every:
        callbacks.append(Evaluation(trainer))
    callbacks.append(Summary(report=t.report))
    return callbacks
