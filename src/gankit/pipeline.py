"""Inference: checkpoint -> G (the EMA copy if the run kept one) -> latents (+ labels) -> samples -> preview.

One path for `gankit sample`, `eval`, `interpolate`, the report, the trainer's previews and your own
code. It needs only the checkpoint: the config, the sample shape, the kind of data and the class names
are in its meta.json, so it works after the training data was moved or deleted, from any directory.

    import gankit
    pipe = gankit.Pipeline.from_run("runs/0001-classic-fashion-mnist")
    images = pipe.sample(64, seed=0)        # uint8 (64, 1, 28, 28)
    pipe.preview(images, "grid.png")

Everything here runs without gradients and draws z from an explicit, seeded torch.Generator.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import torch
import torch.nn as nn

from gankit import conditions
from gankit.bundle import WEIGHTS as WEIGHTS_FILE
from gankit.bundle import is_bundle, read_bundle
from gankit.checkpoint import (
    FINAL,
    WEIGHTS,
    list_checkpoints,
    load_tensors,
    network_weights,
    read_meta,
    scan_checkpoints,
)
from gankit.config import MAX_SAMPLES, MAX_SEED, Config
from gankit.data.sources import NAMED_DATASETS
from gankit.device import resolve_device
from gankit.errors import GankitError, one_line
from gankit.modalities import SampleSpec
from gankit.models import MODELS, build_models, check_fits, free_memory
from gankit.resolve import from_dict


def whole(value, name: str, low: int, high: int) -> None:
    """A count or seed given through Python: a whole number in range, or one line naming the argument."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise GankitError(f"{name}= must be a whole number in {low:,}..{high:,}, got {value!r}")


def latents(n: int, latent_dim: int, seed: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """n latent vectors z ~ N(0, I), the same for a seed on every device (drawn on the CPU)."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, latent_dim, generator=generator).to(device)


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation from a to b (D,) at fractions t (T,) -> (T, D): stays at the norm a Gaussian
    z typically has, where straight lines would pass through unlikely, too-short vectors."""
    cos = torch.dot(a / a.norm(), b / b.norm()).clamp(-1.0, 1.0)
    omega = torch.arccos(cos)
    if omega.abs() < 1e-6:  # (anti-)parallel: the straight line is as good
        return a + t[:, None] * (b - a)
    return (torch.sin((1 - t) * omega)[:, None] * a + torch.sin(t * omega)[:, None] * b) / torch.sin(omega)


def walk_latents(latent_dim: int, seeds: list[int], steps: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """A walk through the latent vectors of `seeds` in turn, `steps` frames per leg (the last seed's z last)."""
    points = [latents(1, latent_dim, seed)[0] for seed in seeds]
    fractions = torch.linspace(0, 1, steps + 1)[:-1]
    frames = [slerp(a, b, fractions) for a, b in zip(points, points[1:])] + [points[-1][None]]
    return torch.cat(frames).to(device)


def class_grid_columns(num_classes: int, per_class: int) -> int:
    """Columns of a grid of `num_classes` runs of `per_class` samples (classes in order), as near square as keeps
    each class on rows of its own: a class fills whole rows (columns divide `per_class`) or whole classes share a
    row (columns a multiple of it). 2 classes of 32 make 8 x 8, not a 2 x 32 strip; 10 classes of 6 keep a row each."""
    def rows(columns: int) -> int:
        if columns >= per_class:
            return math.ceil(num_classes / (columns // per_class))
        return num_classes * per_class // columns

    options = [d for d in range(1, per_class + 1) if per_class % d == 0]
    options += [per_class * shared for shared in range(2, num_classes + 1)]
    return min(options, key=lambda columns: (abs(math.log(columns / rows(columns))), -columns))


def find_checkpoint(run: Path, choice: str | None = None) -> Path:
    """`choice`: None (final if present, else the newest), a checkpoint name, or a step number.

    Damaged checkpoints are never picked: asking for one says why it is unusable; passing one over to
    pick the default says so in a warning.
    """
    folder = Path(run) / "checkpoints"
    available, damaged = scan_checkpoints(folder)
    wanted = f"step_{int(choice):08d}" if choice is not None and choice.isdigit() else choice
    for path, reason in damaged:
        if path.name == wanted:
            alternatives = f"; intact: {', '.join(p.name for p in available)}" if available else ""
            raise GankitError(f"{reason}{alternatives}")
    if not available:
        why = f" ({damaged[0][1]})" if damaged else ""
        raise GankitError(f"{run} has no usable checkpoint yet{why}; train it first (or resume it)")
    if choice is None:
        finals = [p for p in available if p.name == FINAL]
        chosen = finals[0] if finals else available[-1]
        for _, reason in damaged:
            warnings.warn(f"passed over {reason}; using checkpoint {chosen.name}", stacklevel=2)
        return chosen
    for path in available:
        if path.name == wanted:
            return path
    names = ", ".join(p.name for p in available)
    raise GankitError(f"checkpoint {choice!r} is not in {run}; available: {names}")


class Pipeline:
    """A generator and what decoding its output needs.

    Args:
        generator: G, called as G(z, labels); switched to eval mode while it generates.
        latent_dim: the size of z.
        spec: the samples' shape, kind (modality) and class names.
        device: where z and labels are made.
        config, meta, checkpoint: where the generator came from (None when built from a live G): the run's config,
            the checkpoint's meta.json (a bundle's model.json) and its folder (the bundle's).
        weights: which weights G holds, "G_ema" (the moving average) or "G".
    """

    def __init__(self, generator: nn.Module, latent_dim: int, spec: SampleSpec, device: torch.device | str = "cpu",
                 config: Config | None = None, meta: dict | None = None, checkpoint: Path | None = None,
                 weights: str = "G"):
        self.generator = generator
        self.latent_dim = latent_dim
        self.spec = spec
        self.device = torch.device(device)
        self.config, self.meta, self.checkpoint, self.weights = config, meta or {}, checkpoint, weights

    @classmethod
    def from_run(cls, run: str | Path, checkpoint: str | None = None, device: str | torch.device = "auto") -> Pipeline:
        """The run's final checkpoint (else its newest), or `checkpoint` (a name or a step number); or the
        generator of a bundle that `gankit export` wrote.

        When the checkpoint's files are damaged, the error names an older one that loads.
        """
        if is_bundle(run):
            if checkpoint is not None:
                raise GankitError(f"{run} is an exported bundle: it holds one generator, and --checkpoint is for run "
                                  "folders")
            return cls.from_bundle(run, device)
        if not Path(run).is_dir():
            raise GankitError(f"run folder {run} does not exist; runs live in ./runs by default (`gankit train` "
                              "names the folder it made)")
        path = find_checkpoint(Path(run), checkpoint)
        try:
            return cls.from_checkpoint(path, device)
        except GankitError as exc:
            for other in reversed(list_checkpoints(Path(run) / "checkpoints")):
                if other != path and _loads(other):
                    raise GankitError(f"{exc}; checkpoint {other.name} is intact: use it with --checkpoint "
                                      f"{other.name}") from None
            raise

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str | torch.device = "auto") -> Pipeline:
        """Rebuild G from a checkpoint folder alone (config + safetensors, no pickles)."""
        path = Path(path)
        device = resolve_device(device) if isinstance(device, str) else device
        meta = read_meta(path)
        config = from_dict(meta["config"])
        named = NAMED_DATASETS.get(config.data.name)
        spec = SampleSpec.from_meta(meta, str(path), named.classes if named else ())
        g = _build_generator(config, spec, f"checkpoint {path}")
        tensors = load_tensors(path, WEIGHTS)
        weights = "G_ema" if network_weights(tensors, "G_ema") else "G"
        _load_weights(g, network_weights(tensors, weights), f"checkpoint {path}", config)
        return cls(g.to(device).eval(), config.model.latent_dim, spec, device, config, meta, path, weights)

    @classmethod
    def from_bundle(cls, path: str | Path, device: str | torch.device = "auto") -> Pipeline:
        """Rebuild G from a bundle (gankit export): model.json and generator.safetensors, whose digest must match."""
        path = Path(path)
        device = resolve_device(device) if isinstance(device, str) else device
        model = read_bundle(path, WEIGHTS_FILE)
        config = from_dict(model["config"])
        spec = SampleSpec.from_meta(model, str(path))
        g = _build_generator(config, spec, f"bundle {path}")
        _load_weights(g, load_tensors(path, WEIGHTS_FILE, where=f"bundle {path}"), f"bundle {path}", config)
        source = model.get("source")
        weights = source.get("weights") if isinstance(source, dict) and source.get("weights") in ("G", "G_ema") else "G"
        return cls(g.to(device).eval(), config.model.latent_dim, spec, device, config, model, path, weights)

    def set_temperature(self, temperature: float) -> None:
        """Sample a model that draws text character by character (charlm, ngram, arae's decoder) at this temperature
        instead of its run's; other GANs have none."""
        name = self.config.model.name if self.config else type(self.generator).__name__
        if not hasattr(self.generator, "temperature"):
            raise GankitError(f"--temperature is for models that draw text a character at a time (charlm, ngram, "
                              f"arae); {name} makes its samples from z alone")
        greedy = getattr(self.generator, "greedy", False)  # 0: the likeliest character at every step
        if not (0.05 <= temperature <= 20 or (greedy and temperature == 0)):
            raise GankitError(f"--temperature must be {'0 (greedy) or ' if greedy else ''}in 0.05..20, got {temperature}")
        self.generator.temperature = temperature

    @property
    def conditional(self) -> bool:
        return bool(self.spec.conditions)

    def class_index(self, label: str | int) -> int:
        """A class given by index or by name, checked against the classes G was trained on."""
        self._check_conditional()
        return self.spec.conditions[self._class_column()].index(label)

    def _check_conditional(self) -> None:
        if not self.conditional:
            # worded for the command line (--class) and for Python (labels=) alike: both come here
            raise GankitError(f"a class to sample needs a conditional model; this run's is "
                              f"{self.config.model.name if self.config else 'unconditional'}")

    def _class_column(self) -> int:
        where = conditions.column(self.spec.conditions, conditions.CLASS)
        if where is None:
            raise GankitError(f"this model has no class; its conditions: "
                              f"{', '.join(c.name for c in self.spec.conditions)}")
        return where

    def labels(self, n: int, label: str | int | None = None, asked: dict[str, str | int] | None = None,
               seed: int = 0) -> torch.Tensor | None:
        """Label rows (n, k) for n samples of a conditional G: the conditions `asked` ({"class": "brass"}; by name
        or index), or one class (`label`), else the first condition's values in turn, one per row of
        ceil(n / values) samples; conditions not asked for are drawn (by `seed`) in the data's joint proportions.
        None for an unconditional G (where asking is an error)."""
        if label is not None:
            asked = {**(asked or {}), conditions.CLASS: label}
        if not self.conditional:
            if asked:
                self._check_conditional()
            return None
        whole(seed, "seed", 0, MAX_SEED)
        rows, generator = conditions.table_rows(self.spec.label_table), torch.Generator().manual_seed(seed)
        if asked:
            return conditions.fixed(self.spec.conditions, n, asked, self.device, rows, generator)
        return conditions.grid(self.spec.conditions, self.per_class(n), self.device, rows, generator)[:n]

    def per_class(self, n: int) -> int:
        """Samples per value when n samples go through the first condition's values (the classes) in turn."""
        return -(-n // len(self.spec.conditions[0].values))  # ceil: every class gets as many

    def grid_columns(self, n: int) -> int:
        """Columns of the grid of n samples that go through every class in turn (class_grid_columns)."""
        return class_grid_columns(len(self.spec.conditions[0].values), self.per_class(n))

    def latents(self, n: int, seed: int = 0) -> torch.Tensor:
        whole(n, "n", 1, MAX_SAMPLES)
        whole(seed, "seed", 0, MAX_SEED)
        return latents(n, self.latent_dim, seed, self.device)

    @torch.no_grad()
    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None, batch_size: int = 1000) -> torch.Tensor:
        """Stored samples (uint8 images (N, C, H, W)) for latents z and, for a conditional G, labels; on the CPU."""
        if labels is not None:
            labels = self._check_labels(labels, len(z))
        g = self.generator
        was_training = g.training
        g.eval()
        try:
            chunks = []
            for i, chunk in enumerate(z.split(batch_size)):
                y = labels[i * batch_size : i * batch_size + len(chunk)] if labels is not None else None
                chunks.append(self.spec.modality.from_model(g(chunk, y)).cpu())
            return torch.cat(chunks)
        finally:
            g.train(was_training)

    @torch.no_grad()
    def generate_morph(self, z: torch.Tensor, start: torch.Tensor, end: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Stored samples whose label code moves from the `start` rows' (n, k) to the `end` rows' at fractions t (n,):
        a conditional G that makes samples from a code (cgan's, cwavegan's)."""
        g = self.generator
        if not hasattr(g, "from_code") or getattr(g, "embed", None) is None:
            raise GankitError(f"{self.config.model.name if self.config else 'this model'} cannot morph between "
                              "labels: it takes no label code (cgan, cspecgan and cwavegan do)")
        start, end = self._check_labels(start, len(z)), self._check_labels(end, len(z))
        was_training = g.training
        g.eval()
        try:
            t = t.to(self.device, z.dtype)[:, None]
            code = (1 - t) * g.embed(start) + t * g.embed(end)
            return torch.cat([self.spec.modality.from_model(g.from_code(zs, cs)).cpu()
                              for zs, cs in zip(z.split(1000), code.split(1000))])
        finally:
            g.train(was_training)

    def _check_labels(self, labels: torch.Tensor, n: int) -> torch.Tensor:
        """Label rows (n, k) as G takes them: `labels` given so, or (n,) class indices for a model of one condition."""
        if not self.conditional:
            raise GankitError("labels= needs a conditional model; this one is unconditional")
        k = len(self.spec.conditions)
        shapes = [(n, k)] + ([(n,)] if k == 1 else [])
        if not torch.is_tensor(labels) or labels.dtype.is_floating_point or labels.dtype.is_complex \
                or labels.dtype == torch.bool or tuple(labels.shape) not in shapes:
            wanted = f"{n} whole class indices (an integer tensor of shape ({n},))" if k == 1 else \
                f"a row of {k} whole indices per sample (an integer tensor of shape ({n}, {k}))"
            raise GankitError(f"labels= must be {wanted}, got "
                              f"{tuple(labels.shape) if torch.is_tensor(labels) else type(labels).__name__} "
                              f"{labels.dtype if torch.is_tensor(labels) else ''}".rstrip())
        rows = labels.reshape(n, k).long()
        for column, condition in zip(rows.unbind(1), self.spec.conditions):
            if n and not 0 <= int(column.min()) <= int(column.max()) < len(condition.values):
                what = "class indices" if condition.name == conditions.CLASS else f"{condition.name} indices"
                raise GankitError(f"labels= must be {what} in 0..{len(condition.values) - 1}, got "
                                  f"{int(column.min())}..{int(column.max())}")
        return rows.to(self.device)

    def check_room(self, n: int) -> None:
        """Refuse n samples whose latents and stored form (twice: the chunks and their concatenation) would not fit
        in the memory free, before any is made (a second of sound is 64 KiB: n = 10,000,000 once asked for 655 GB).
        One sample is made to measure."""
        z = torch.zeros(1, self.latent_dim, device=self.device)
        one = self.generate(z, torch.zeros(1, len(self.spec.conditions), dtype=torch.long) if self.conditional else None)
        needed = n * (4 * self.latent_dim + 2 * one.numel() * one.element_size())
        free = free_memory(torch.device("cpu"))
        if free is not None and needed > free:
            raise GankitError(f"{n:,} samples of this model take {needed / 2**30:,.1f} GiB, more than the "
                              f"{free / 2**30:,.1f} GiB free: make at most {max(1, int(n * free / needed)):,} at a "
                              "time, each batch with its own seed")

    def sample(self, n: int, seed: int = 0, labels: torch.Tensor | str | int | None = None,
               conditions: dict[str, str | int] | None = None) -> torch.Tensor:
        """n samples from the latents of `seed`; `labels`: a tensor, one class (index or name), or None (every
        class in turn, for a conditional G); or `conditions`, a value of each ({"class": "brass"})."""
        whole(n, "n", 1, MAX_SAMPLES)
        self.check_room(n)
        if not torch.is_tensor(labels):
            labels = self.labels(n, labels, conditions, seed)
        return self.generate(self.latents(n, seed), labels)

    def walk(self, seeds: list[int], steps: int, label: str | int | None = None) -> torch.Tensor:
        """Samples along a spherical path through the latents of `seeds`, `steps` frames per leg."""
        whole(steps, "steps", 1, MAX_SAMPLES)
        for seed in seeds:
            whole(seed, "seeds", 0, MAX_SEED)
        self.check_room(max(1, len(seeds) - 1) * steps + 1)
        z = walk_latents(self.latent_dim, seeds, steps, self.device)
        labels = self.labels(len(z), 0 if label is None and self.conditional else label)  # class 0 by default
        return self.generate(z, labels)

    def preview(self, samples: torch.Tensor, path: str | Path, nrow: int | None = None) -> Path:
        """Write the modality's preview of `samples` (a PNG grid for images) to `path`."""
        return self.spec.modality.preview(samples, path, nrow)

    def picture(self, samples: torch.Tensor, nrow: int | None = None):
        """The preview as a uint8 (H, W, C) array (for TensorBoard and the report)."""
        return self.spec.modality.picture(samples, nrow)


def _build_generator(config: Config, spec: SampleSpec, where: str) -> nn.Module:
    """G for a saved config and sample shape, after the family's own checks and a check that its weights fit in
    memory: a config read from disk passes what the command line's passes (an edited layers = 3000 took GiBs)."""
    try:
        MODELS.get(config.model.name).check(config, spec.shape)
        check_fits(config, spec.shape, torch.device("cpu"), spec.label_sizes, training=False)
        g, _ = build_models(config, spec.shape, spec.label_sizes)
    except GankitError as exc:
        raise GankitError(f"{where}: {exc}") from None
    except (RuntimeError, ValueError, KeyError, IndexError, TypeError, ZeroDivisionError) as exc:
        # a shape the model cannot be built for: the checks above know the shapes a run makes, not every edit
        raise GankitError(f"{where}: cannot build {config.model.name} for sample shape {list(spec.shape)} "
                          f"({one_line(exc)})") from None
    return g


def _load_weights(g: nn.Module, state: dict[str, torch.Tensor], where: str, config: Config) -> None:
    # training never saves such weights; an edited or damaged file that holds them would sample blank or noise
    broken = [name for name, t in state.items() if t.is_floating_point() and not torch.isfinite(t).all()]
    if broken:
        more = f" and {len(broken) - 1} more" if len(broken) > 1 else ""
        raise GankitError(f"{where}: G's weights hold NaN or Inf ({broken[0]}{more}), which training never saves: "
                          "the file was damaged or edited; use another checkpoint, or export the run again")
    try:
        g.load_state_dict(state)
    except RuntimeError as exc:
        raise GankitError(f"{where}: weights do not fit the {config.model.name} model "
                          f"({one_line(exc)})") from None


def _loads(checkpoint: Path) -> bool:
    try:
        Pipeline.from_checkpoint(checkpoint, torch.device("cpu"))
        return True
    except GankitError:
        return False


def load_generator(checkpoint: Path, device: torch.device | str = "cpu") -> tuple[nn.Module, Config, dict]:
    """(G in eval mode on `device`, the run's config, the checkpoint's meta): Pipeline.from_checkpoint's parts."""
    pipe = Pipeline.from_checkpoint(checkpoint, torch.device(device))
    return pipe.generator, pipe.config, pipe.meta
