"""Run configuration: a tree of frozen dataclasses, loaded from TOML/YAML plus `key=value` overrides.

Every value is checked against its field's type; an unknown key names the valid ones. The resolved
config is written into the run folder (config.toml) and into every checkpoint, so a checkpoint alone
rebuilds its models. Config holds data only, never live objects.

Precedence, lowest first: field defaults < the model's registry defaults < the config file < the
command line.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gankit.errors import GankitError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def opt(default: Any, help: str) -> Any:
    """A config field with its one-line description (shown by --help and written into config.toml)."""
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class DataConfig:
    name: str = opt("fashion-mnist", "a dataset name (fashion-mnist, mnist, cifar10) or a folder of images")
    data_dir: str | None = opt(None, "a folder holding the dataset's files; searched before the cache and system folders")
    image_size: int | None = opt(None, "side of the square images fed to the models; None keeps the dataset's own (28 for Fashion-MNIST)")
    channels: int | None = opt(None, "1 (grey) or 3 (RGB); None keeps the dataset's own")
    download_url: str | None = opt(None, "base URL to download named datasets from instead of their official sources (a mirror)")


@dataclass(frozen=True)
class ModelConfig:
    name: str = opt("classic", "architecture, from the model registry (classic = the tutorial's G and D; auto = the "
                               "fastest to a low FID in docs/benchmarks.md)")
    latent_dim: int = opt(100, "size of the latent vector z that G maps to a sample")
    g_activation: str = opt("relu", "G's hidden activation: relu, leaky_relu, tanh, elu, gelu, silu")
    d_activation: str = opt("leaky_relu", "D's hidden activation, same choices")
    negative_slope: float = opt(0.2, "slope a of leaky_relu, f(x) = max(a*x, x)")
    width: int = opt(64, "base channel count of convolutional models (dcgan); classic's sizes are fixed by the tutorial")
    d_norm: str = opt("batch", "normalisation in D's hidden layers for dcgan: batch or none (wgan-gp needs none)")


@dataclass(frozen=True)
class TrainConfig:
    loss: str = opt("bce", "loss from the loss registry (bce = the tutorial's non-saturating BCE)")
    lr_g: float = opt(2e-4, "Adam learning rate of G")
    lr_d: float = opt(2e-4, "Adam learning rate of D")
    beta1: float = opt(0.9, "Adam beta1 (0.9 = PyTorch's default, as in the tutorial; DCGAN uses 0.5)")
    beta2: float = opt(0.999, "Adam beta2")
    batch_size: int = opt(100, "images per batch (for D: this many real and this many generated)")
    epochs: int = opt(10, "passes over the training set (the tutorial runs 200; 10 take about 7 minutes on 2 CPU cores)")
    max_steps: int | None = opt(None, "stop after this many G steps, even mid-epoch; None: run all epochs")
    seed: int = opt(0, "seeds weights, noise and data order: the same seed gives the same run on CPU")
    device: str = opt("auto", "auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps")
    gp_weight: float | None = opt(None, "weight of the gradient penalty; None: the loss's own (10 for wgan-gp, else 0)")
    checkpoint_every: int = opt(0, "also checkpoint every N steps (0: only at the end of each epoch and of training)")
    keep_checkpoints: int = opt(3, "how many step checkpoints to keep besides the final one")
    n_critic: int = opt(1, "D steps per G step (WGAN-GP and SNGAN use 5)")
    ema_decay: float = opt(0.0, "keep an exponential moving average of G's weights with this decay (e.g. 0.999); sampling and evaluation use it (0: off)")
    augment: str = opt("", "DiffAugment policy for everything D sees, e.g. translation,cutout,color (empty: off)")
    r1_gamma: float = opt(0.0, "weight gamma of the R1 penalty gamma/2 E||grad D(x)||^2 on real images (0: off)")
    precision: str = opt("fp32", "arithmetic of the forward passes: fp32, or bf16 (autocast; fast on CPUs with AVX-512 BF16 or AMX and on recent GPUs; weights, optimizer and losses stay fp32)")
    compile: bool = opt(False, "torch.compile G and D for speed after a warm-up of tens of seconds (D stays eager under a gradient penalty or R1, which need double backward)")
    on_nan: str = opt("stop", "when a loss or weight becomes NaN/Inf: stop (keeping the last good checkpoint), or rollback to it with both learning rates halved (at most 3 times)")
    sync_batchnorm: bool = opt(False, "with several GPU processes (torchrun), compute BatchNorm statistics over the global batch (SyncBatchNorm) instead of each process's slice")
    diagnose: bool = opt(True, "watch the training signals and warn (once per episode) about D overpowering G, mode collapse and oscillation; stop on divergence")
    tensorboard: bool = opt(False, "also log scalars and sample grids to RUN/tensorboard/ (needs pip install 'gankit[tensorboard]')")
    report: bool = opt(True, "write report.html (curves, diagnosis, samples, latent walk) at the end of training")
    time_limit: float | None = opt(None, "stop cleanly after this many minutes of training (checkpoint, samples, plots)")
    sample_count: int = opt(64, "images in the per-epoch sample grid (a fixed latent batch)")
    eval_every: int = opt(0, "score samples every N epochs with gankit eval's metrics and keep the best checkpoint by FID (0: off)")
    eval_n: int = opt(2000, "samples scored by each evaluation during training (gankit eval uses 10000)")
    eval_metrics: str = opt("fid,kid,is,pr,dc,class_coverage", "comma-separated metrics scored during training")
    extractor: str = opt("auto", "feature extractor for evaluation: classifier, inception, or auto (classifier for small grey images, else inception when its weights are on disk)")


@dataclass(frozen=True)
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


# train.precision -> the autocast dtype of forward passes (None: plain fp32)
PRECISIONS = {"fp32": None, "bf16": "bfloat16"}

SECTIONS: dict[str, type] = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}


def valid_keys() -> list[str]:
    return [f"{s}.{f.name}" for s, cls in SECTIONS.items() for f in dataclasses.fields(cls)]


def field_help(key: str) -> str:
    """The field's one-line description, used as its --help text and as a comment in config.toml."""
    section, name = key.split(".")
    return next(f.metadata["help"] for f in dataclasses.fields(SECTIONS[section]) if f.name == name)


# ---------------------------------------------------------------------------------------------
# loading


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read a TOML or YAML file into flat dotted keys ({"train.lr_g": 0.001, ...})."""
    path = Path(path)
    if not path.is_file():
        raise GankitError(f"config file {path} does not exist")
    text = path.read_text(encoding="utf-8", errors="replace")
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            tree = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            import yaml

            tree = yaml.safe_load(text) or {}
        else:
            raise GankitError(f"config file {path} must end in .toml, .yaml or .yml")
    except GankitError:
        raise
    except Exception as exc:  # tomllib/yaml errors carry line numbers in their message
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise GankitError(f"config file {path} is not valid {suffix[1:].upper()}: {first}") from None
    if not isinstance(tree, dict):
        raise GankitError(f"config file {path} must hold sections [data], [model], [train]")
    return flatten(tree, source=str(path))


def flatten(tree: dict[str, Any], source: str) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            for sub, v in value.items():
                if isinstance(v, dict):
                    raise GankitError(f"{source}: {key}.{sub} is a table; config has only sections of values")
                flat[f"{key}.{sub}"] = v
        else:
            flat[str(key)] = value
    return flat


def resolve_config(file_values: dict[str, Any] | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """Build and validate a Config from file values and command-line overrides (both dotted keys)."""
    from gankit.models import AUTO, MODELS

    raw: dict[str, Any] = {}
    for source in (file_values or {}, overrides or {}):
        for key, value in source.items():
            _check_key(key)
            raw[key] = value
    if raw.get("model.name") == "auto":
        del raw["model.name"]
        for key, value in AUTO.items():
            raw.setdefault(key, value)
    model_name = raw.get("model.name", ModelConfig.name)
    if isinstance(model_name, str) and model_name in MODELS:
        for key, value in MODELS.get(model_name).defaults.items():
            raw.setdefault(key, value)
    sections = {}
    for section, cls in SECTIONS.items():
        kwargs = {}
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            key = f"{section}.{f.name}"
            if key in raw:
                kwargs[f.name] = _coerce(key, raw[key], hints[f.name])
        sections[section] = cls(**kwargs)
    config = Config(**sections)
    validate(config)
    return config


def _check_key(key: str) -> None:
    if key in valid_keys():
        return
    section = key.split(".")[0]
    if section in SECTIONS and "." in key:
        names = [f.name for f in dataclasses.fields(SECTIONS[section])]
        raise GankitError(f"unknown config key {key!r}; valid keys in [{section}]: {', '.join(names)}")
    raise GankitError(f"unknown config key {key!r}; keys look like section.name with sections data, model, train")


def _coerce(key: str, value: Any, hint: Any) -> Any:
    """Check `value` against the field type, converting strings from the command line."""
    args = typing.get_args(hint)
    optional = (typing.get_origin(hint) in (typing.Union, types.UnionType)) and type(None) in args
    base = next(a for a in args if a is not type(None)) if optional else hint
    if value is None or (optional and isinstance(value, str) and value.lower() in ("none", "null", "")):
        if optional:
            return None
        raise GankitError(f"{key} cannot be empty; give a {base.__name__}")
    try:
        if base is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "yes", "1", "false", "no", "0"):
                return value.lower() in ("true", "yes", "1")
            raise ValueError
        if base is int:
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value) if not isinstance(value, str) else int(value.replace("_", ""))
        if base is float:
            if isinstance(value, bool):
                raise ValueError
            result = float(value)
            if not math.isfinite(result):
                raise ValueError
            return result
        if base is str:
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                raise ValueError
            return str(value)
    except (TypeError, ValueError):
        pass
    else:
        raise AssertionError(f"no coercion for {hint}")  # pragma: no cover
    kind = {bool: "true or false", int: "an integer", float: "a finite number", str: "a string"}[base]
    raise GankitError(f"{key} must be {kind}, got {value!r}")


def validate(config: Config) -> None:
    """Checks across fields and against the registries; each failure names the key and what is allowed."""
    from gankit.data import validate_data_config
    from gankit.losses import LOSSES
    from gankit.models import ACTIVATIONS, MODELS

    t, m = config.train, config.model
    _require(t.lr_g > 0, "train.lr_g", "must be > 0", t.lr_g)
    _require(t.lr_d > 0, "train.lr_d", "must be > 0", t.lr_d)
    _require(0 <= t.beta1 < 1, "train.beta1", "must be in [0, 1)", t.beta1)
    _require(0 <= t.beta2 < 1, "train.beta2", "must be in [0, 1)", t.beta2)
    _require(t.batch_size >= 1, "train.batch_size", "must be >= 1", t.batch_size)
    _require(t.epochs >= 1, "train.epochs", "must be >= 1", t.epochs)
    _require(t.max_steps is None or t.max_steps >= 1, "train.max_steps", "must be >= 1", t.max_steps)
    _require(t.seed >= 0, "train.seed", "must be >= 0", t.seed)
    _require(t.gp_weight is None or t.gp_weight >= 0, "train.gp_weight", "must be >= 0", t.gp_weight)
    _require(t.checkpoint_every >= 0, "train.checkpoint_every", "must be >= 0", t.checkpoint_every)
    _require(t.keep_checkpoints >= 1, "train.keep_checkpoints", "must be >= 1", t.keep_checkpoints)
    _require(1 <= t.sample_count <= 1024, "train.sample_count", "must be in 1..1024", t.sample_count)
    _require(t.n_critic >= 1, "train.n_critic", "must be >= 1", t.n_critic)
    _require(0 <= t.ema_decay < 1, "train.ema_decay", "must be in [0, 1)", t.ema_decay)
    _require(t.r1_gamma >= 0, "train.r1_gamma", "must be >= 0", t.r1_gamma)
    _require(t.on_nan in ("stop", "rollback"), "train.on_nan", "must be stop or rollback", t.on_nan)
    _require(t.precision in PRECISIONS, "train.precision", f"must be one of {', '.join(PRECISIONS)}", t.precision)
    _require(t.time_limit is None or t.time_limit > 0, "train.time_limit", "must be > 0 minutes", t.time_limit)
    from gankit.augment import AUGMENTATIONS

    for name in filter(None, (p.strip() for p in t.augment.split(","))):
        _require(name in AUGMENTATIONS, "train.augment", f"must list augmentations from {', '.join(AUGMENTATIONS.names())}",
                 t.augment)
    _require(t.eval_every >= 0, "train.eval_every", "must be >= 0", t.eval_every)
    _require(t.eval_n >= 2, "train.eval_n", "must be >= 2", t.eval_n)
    from gankit.metrics import METRICS
    from gankit.metrics.features import EXTRACTORS

    for name in t.eval_metrics.split(","):
        _require(name.strip() in METRICS, "train.eval_metrics", f"must list metrics from {', '.join(METRICS.names())}",
                 t.eval_metrics)
    _require(t.extractor == "auto" or t.extractor in EXTRACTORS, "train.extractor",
             f"must be auto or one of {', '.join(EXTRACTORS.names())}", t.extractor)
    _require(m.latent_dim >= 1, "model.latent_dim", "must be >= 1", m.latent_dim)
    _require(m.width >= 1, "model.width", "must be >= 1", m.width)
    _require(m.negative_slope >= 0, "model.negative_slope", "must be >= 0", m.negative_slope)
    _require(m.d_norm in ("batch", "none"), "model.d_norm", "must be batch or none", m.d_norm)
    for key, name in (("model.g_activation", m.g_activation), ("model.d_activation", m.d_activation)):
        _require(name in ACTIVATIONS, key, f"must be one of {', '.join(ACTIVATIONS.names())}", name)
    _require(m.name in MODELS, "model.name", f"must be one of {', '.join(MODELS.names())}", m.name)
    _require(t.loss in LOSSES, "train.loss", f"must be one of {', '.join(LOSSES.names())}", t.loss)
    from gankit.device import validate_device_name

    validate_device_name(t.device)
    validate_data_config(config.data)
    MODELS.get(m.name).check(config)
    if LOSSES.get(t.loss).gp_weight > 0 or (t.gp_weight or 0) > 0 or t.r1_gamma > 0:
        _require(
            not (m.name in ("dcgan", "cgan") and m.d_norm == "batch"),
            "model.d_norm",
            "must be none with a gradient penalty or R1 (they are per-sample; BatchNorm mixes samples)",
            m.d_norm,
        )


def _require(ok: bool, key: str, rule: str, value: Any) -> None:
    if not ok:
        raise GankitError(f"{key} {rule}, got {value!r}")


# ---------------------------------------------------------------------------------------------
# saving


def to_dict(config: Config) -> dict[str, dict[str, Any]]:
    return dataclasses.asdict(config)


def from_dict(tree: dict[str, Any]) -> Config:
    """Rebuild a Config saved by to_dict (e.g. from a checkpoint), validating it again."""
    return resolve_config(flatten(tree, source="saved config"))


def to_toml(config: Config) -> str:
    """TOML text of the config. None values are left out (TOML has no null; absent means default None)."""
    lines = []
    for section, values in to_dict(config).items():
        lines.append(f"[{section}]")
        for key, value in values.items():
            if value is None:
                continue
            comment = field_help(f"{section}.{key}")
            if comment:
                lines.append(f"# {comment}")
            lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
    return "\n".join(lines)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value)  # a JSON string is a valid TOML basic string
