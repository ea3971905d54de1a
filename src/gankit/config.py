"""Run configuration: the schema (frozen dataclasses), coercion of values, range checks, TOML out.

Every value is checked against its field's type; an unknown key names the valid ones. The resolved
config is written into the run folder (config.toml) and into every checkpoint, so a checkpoint alone
rebuilds its models. Config holds data only, never live objects.

This module imports nothing else of gankit: what depends on the registries (model families and
their settings, `--model auto`, loss, metric and augmentation names, the data's shape) is checked
by `gankit.resolve`, which builds configs through `build_config` here.

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

from gankit import GankitError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _is_colour(value: Any) -> bool:
    from PIL import ImageColor  # Pillow reads the images; only the check of this one setting needs it here

    try:
        return isinstance(value, str) and len(ImageColor.getrgb(value)) == 3
    except ValueError:
        return False


def opt(default: Any, help: str) -> Any:
    """A config field with its one-line description (shown by --help and written into config.toml)."""
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class DataConfig:
    name: str = opt("fashion-mnist", "a dataset name (fashion-mnist, mnist, cifar10, spoken-digits, notes, words, tang-poems), a folder of "
                                     "images or sound files, or a .txt file of one item per line (kept as an absolute "
                                     "path)")
    data_dir: str | None = opt(None, "a folder holding the dataset's files; searched before the cache and system folders")
    image_size: int | None = opt(None, "side of the square images fed to the models; None keeps the dataset's own (28 for Fashion-MNIST; a folder's: the largest of 28, 32, 64 not above its most common size)")
    channels: int | None = opt(None, "1 (grey) or 3 (RGB); None keeps the dataset's own (a folder: grey when all its images are)")
    clusters: int = opt(0, "a folder of images without class labels: label them by k-means of their pixels into this "
                           "many clusters, for a conditional model (self-conditioning; --model auto does it); 0: none")
    conditions: str = opt("class", "what a conditional family is told of each sample, comma-separated: class, and "
                                   "the conditions a dataset offers beyond it (emoji: subgroup, its 99 Unicode "
                                   "subgroups; notes: pitch, the MIDI note; --model auto on notes takes class,pitch)")
    background: str | None = opt(None, "images with transparency: the colour their transparent pixels are laid on, a "
                                        "name (white, black, grey) or #rrggbb; None = white")
    sample_rate: int | None = opt(None, "sound: samples per second the clips are resampled to; None = 16000")
    clip_samples: int | None = opt(None, "sound: samples per clip, longer clips cut and shorter ones padded with "
                                         "silence; None = 16384 (about 1 s at 16 kHz)")
    seq_len: int | None = opt(None, "text: characters per item, longer items skipped and shorter ones padded; None = 16 "
                                    "for words, 7 for tang-poems, and for a text file as long as 99% of its lines (at "
                                    "most 64)")
    download_url: str | None = opt(None, "base URL to download named datasets from instead of their official sources (a mirror)")


@dataclass(frozen=True)
class ModelConfig:
    name: str = opt("classic", "architecture, from the model registry (classic = the tutorial's G and D; auto = the "
                               "fastest to a low FID in docs/benchmarks.md: cgan on images with class labels, else dcgan)")
    latent_dim: int = opt(100, "size of the latent vector z that G maps to a sample")
    # the family's own settings (a frozen dataclass declared by its model spec, e.g. width and d_norm for
    # dcgan); written into [model] next to name and latent_dim. None: the family has none
    params: Any = None


@dataclass(frozen=True)
class TrainConfig:
    loss: str = opt("bce", "loss from the loss registry (bce = the tutorial's non-saturating BCE)")
    lr_g: float = opt(2e-4, "Adam learning rate of G")
    lr_d: float = opt(2e-4, "Adam learning rate of D")
    lr_decay: str = opt("none", "learning-rate schedule: none, or linear (both rates fall to zero by the end of the run: its last step or its --time-limit, whichever is nearer)")
    beta1: float = opt(0.9, "Adam beta1 (0.9 = PyTorch's default, as in the tutorial; DCGAN uses 0.5)")
    beta2: float = opt(0.999, "Adam beta2")
    batch_size: int = opt(100, "images per batch (for D: this many real and this many generated)")
    epochs: int = opt(10, "passes over the training set (the tutorial runs 200; 10 take about 7 minutes on 2 CPU cores); 0: no limit, for --time-limit or --max-steps to end training (what either without --epochs means)")
    max_steps: int | None = opt(None, "stop after this many G steps, even mid-epoch; without --epochs it alone ends training (with --time-limit: whichever comes first); None: run all epochs")
    seed: int = opt(0, "seeds weights, noise and data order: the same seed gives the same run on CPU")
    device: str = opt("auto", "auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps")
    gp_weight: float | None = opt(None, "weight of the gradient penalty; None: the loss's own (10 for wgan-gp, else 0)")
    checkpoint_every: int = opt(0, "also checkpoint every N steps (0: only at the end of each epoch and of training)")
    keep_checkpoints: int = opt(3, "how many step checkpoints to keep besides the final one")
    n_critic: int = opt(1, "D steps per G step (WGAN-GP and SNGAN use 5)")
    ema_decay: float = opt(0.0, "keep an exponential moving average of G's weights with this decay (e.g. 0.999); sampling and evaluation use it (0: off)")
    ema_rampup: float = opt(0.0, "limit the EMA's half-life to this fraction of the G steps done, so early on it follows G (StyleGAN2-ADA uses 0.05; 0: off)")
    ema_batchnorm: str = opt("copy", "BatchNorm statistics of the EMA G: copy (the live G's) or measure (its own, on fresh z, before each preview, evaluation and checkpoint)")
    augment: str = opt("", "DiffAugment policy for everything D sees, e.g. translation,cutout,color (empty: off)")
    r1_gamma: float = opt(0.0, "weight gamma of the R1 penalty gamma/2 E||grad D(x)||^2 on real images (0: off)")
    aux_conditions: str = opt("", "conditions D also names, comma-separated (AC-GAN's auxiliary classifier, as GANSynth's D names pitch): D learns each real sample's, G is trained to make its samples named as asked; --model auto on notes: pitch (empty: none)")
    aux_weight: float = opt(1.0, "weight of the auxiliary classifier's cross-entropy in D's and G's losses")
    class_balance: float = opt(0.0, "how often each class of a labelled set is drawn, real and fake: a sample of class c weighs (largest class / c's size)^b, so 0 keeps the data's proportions and 1 draws every class equally often (scores still draw the data's); --model auto on 64-px colour: 1")
    precision: str = opt("fp32", "arithmetic of the forward passes: fp32, or bf16 (autocast; fast on CPUs with AVX-512 BF16 or AMX and on recent GPUs; weights, optimizer and losses stay fp32)")
    compile: bool = opt(False, "torch.compile G and D for speed after a warm-up of tens of seconds (D stays eager under a gradient penalty or R1, which need double backward)")
    compile_mode: str = opt("default", "torch.compile's mode under train.compile: default, or reduce-overhead (CUDA graphs: on a GPU each net's kernels replay as one launch, for small batches bound by launches; a CPU has no graphs and compiles as default)")
    on_nan: str = opt("stop", "when a loss or weight becomes NaN/Inf: stop (keeping the last good checkpoint), or rollback to it with both learning rates halved (at most 3 times)")
    sync_batchnorm: bool = opt(False, "with several GPU processes (torchrun), compute BatchNorm statistics over the global batch (SyncBatchNorm) instead of each process's slice")
    diagnose: bool = opt(True, "watch the training signals and warn (once per episode) about D overpowering G, mode collapse and oscillation; stop on divergence")
    tensorboard: bool = opt(False, "also log scalars and sample grids to RUN/tensorboard/ (needs pip install 'gankit[tensorboard]')")
    report: bool = opt(True, "write report.html (curves, diagnosis, samples, latent walk) at the end of training")
    time_limit: float | None = opt(None, "stop cleanly after this many minutes of training (checkpoint, samples, plots); without --epochs it alone ends training")
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


# upper bounds of integer settings: beyond them torch refuses the value (seeds are offset and multiplied
# into other seeds, which must stay below 2**63) or the run could not finish or fit anywhere
MAX_SEED = 2**32 - 1
MAX_BATCH = 2**20
MAX_COUNT = 10**6
MAX_STEPS = 10**12
MAX_SAMPLES = 10**7
MAX_LATENT = 2**16
MAX_WIDTH = 2**14
MAX_SAMPLE_RATE = 384_000
MAX_CLIP = 2**22
MAX_SEQ_LEN = 1024
# more clusters than this would leave a few images in each (the data has no labels to fill them)
MAX_CLUSTERS = 1000

# train.precision -> the autocast dtype of forward passes (None: plain fp32)
PRECISIONS = {"fp32": None, "bf16": "bfloat16"}
# torch.compile's modes that gankit's steps are built for (reduce-overhead: CUDA graphs, a step marked per D step)
COMPILE_MODES = ("default", "reduce-overhead")
LR_DECAYS = ("none", "linear")  # gankit.train.schedule

SECTIONS: dict[str, type] = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}


def section_fields(section: str, params: type | None = None) -> list[dataclasses.Field]:
    """The settable fields of a section; [model] holds name, latent_dim and the family's `params` fields."""
    own = [f for f in dataclasses.fields(SECTIONS[section]) if f.name != "params"]
    return own + (list(dataclasses.fields(params)) if section == "model" and params is not None else [])


def field_help(key: str, params: type | None = None) -> str:
    """The field's one-line description, used as its --help text and as a comment in config.toml."""
    section, name = key.split(".")
    return next(f.metadata.get("help", "") for f in section_fields(section, params) if f.name == name)


# ---------------------------------------------------------------------------------------------
# loading


def parse_toml(text: str) -> dict[str, Any]:
    """A TOML text's tree (tomllib; tomli before Python 3.11); raises its parser's errors."""
    return tomllib.loads(text)


# a config file gankit writes is about 8 KB, with its comments
MAX_CONFIG_BYTES = 1 << 20


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read a TOML or YAML file into flat dotted keys ({"train.lr_g": 0.001, ...})."""
    path = Path(path)
    if path.is_dir():
        raise GankitError(f"config file {path} is a folder; give a .toml or .yaml file (a run's own: RUN/config.toml)")
    if not path.is_file():
        raise GankitError(f"config file {path} does not exist")
    if (size := path.stat().st_size) > MAX_CONFIG_BYTES:
        raise GankitError(f"config file {path} is {size:,} bytes, more than any config ({MAX_CONFIG_BYTES:,} at most); "
                          "give the file gankit wrote or one like it")
    text = path.read_text(encoding="utf-8-sig", errors="replace")  # -sig: the BOM some Windows editors put first
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            tree = parse_toml(text)
        elif suffix in (".yaml", ".yml"):
            import yaml  # only YAML config files need it

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


def build_config(raw: dict[str, Any], params: type | None = None, family: str = "") -> Config:
    """A Config from dotted keys, each coerced to its field's type, then range-checked.

    Args:
        raw: {"train.lr_g": 0.001, ...}; absent keys keep their defaults.
        params: the model family's settings dataclass (its fields are more [model] keys), or None.
        family: the family's name, for messages about keys it does not have.
    """
    for key in raw:
        _check_key(key, params, family)
    sections = {}
    for section, cls in SECTIONS.items():
        sections[section] = cls(**_coerced(raw, section, cls))
    if params is not None:
        sections["model"] = dataclasses.replace(sections["model"], params=params(**_coerced(raw, "model", params)))
    config = Config(**sections)
    check_ranges(config)
    return config


def _coerced(raw: dict[str, Any], section: str, cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    values = {}
    for f in dataclasses.fields(cls):
        key = f"{section}.{f.name}"
        if key in raw and f.name != "params":
            values[f.name] = _coerce(key, raw[key], hints[f.name])
    return values


def _check_key(key: str, params: type | None, family: str) -> None:
    section, _, name = key.partition(".")
    if section not in SECTIONS or not name:
        raise GankitError(f"unknown config key {key!r}; keys look like section.name with sections data, model, train")
    names = [f.name for f in section_fields(section, params)]
    if name in names:
        return
    whose = f" for model {family}" if section == "model" and family else ""
    raise GankitError(f"unknown config key {key!r}{whose}; valid keys in [{section}]: {', '.join(names)}")


def _coerce(key: str, value: Any, hint: Any) -> Any:
    """Check `value` against the field type, converting strings from the command line."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a file name's bytes in another encoding: no config file can hold them
            raise GankitError(f"{key} {ascii(value)} is not UTF-8 text (a name in "
                              "another encoding); rename it, or link to it from a UTF-8 name") from None
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


def check_ranges(config: Config) -> None:
    """Checks of values and across fields that need no registry; each failure names the key and what is allowed."""
    t, m, d = config.train, config.model, config.data
    require(t.lr_g > 0, "train.lr_g", "must be > 0", t.lr_g)
    require(t.lr_d > 0, "train.lr_d", "must be > 0", t.lr_d)
    require(t.lr_decay in LR_DECAYS, "train.lr_decay", f"must be one of {', '.join(LR_DECAYS)}", t.lr_decay)
    require(0 <= t.beta1 < 1, "train.beta1", "must be in [0, 1)", t.beta1)
    require(0 <= t.beta2 < 1, "train.beta2", "must be in [0, 1)", t.beta2)
    require(1 <= t.batch_size <= MAX_BATCH, "train.batch_size", f"must be in 1..{MAX_BATCH:,}", t.batch_size)
    require(0 <= t.epochs <= MAX_COUNT, "train.epochs", f"must be in 0..{MAX_COUNT:,}", t.epochs)
    require(t.epochs > 0 or t.time_limit is not None or t.max_steps is not None, "train.epochs",
            "0 (no limit) needs --time-limit or --max-steps to end training", t.epochs)
    require(t.max_steps is None or 1 <= t.max_steps <= MAX_STEPS, "train.max_steps", f"must be in 1..{MAX_STEPS:,}",
            t.max_steps)
    require(0 <= t.seed <= MAX_SEED, "train.seed", f"must be in 0..{MAX_SEED} (2**32 - 1)", t.seed)
    require(t.gp_weight is None or t.gp_weight >= 0, "train.gp_weight", "must be >= 0", t.gp_weight)
    require(0 <= t.checkpoint_every <= MAX_STEPS, "train.checkpoint_every", f"must be in 0..{MAX_STEPS:,}",
            t.checkpoint_every)
    require(1 <= t.keep_checkpoints <= 1000, "train.keep_checkpoints", "must be in 1..1000", t.keep_checkpoints)
    require(1 <= t.sample_count <= 1024, "train.sample_count", "must be in 1..1024", t.sample_count)
    require(1 <= t.n_critic <= 100, "train.n_critic", "must be in 1..100", t.n_critic)
    require(0 <= t.ema_decay < 1, "train.ema_decay", "must be in [0, 1)", t.ema_decay)
    require(0 <= t.ema_rampup <= 1, "train.ema_rampup", "must be in [0, 1]", t.ema_rampup)
    require(t.ema_batchnorm in ("copy", "measure"), "train.ema_batchnorm", "must be copy or measure", t.ema_batchnorm)
    require(t.r1_gamma >= 0, "train.r1_gamma", "must be >= 0", t.r1_gamma)
    require(0 <= t.aux_weight <= 100, "train.aux_weight", "must be in 0..100", t.aux_weight)
    require(0 <= t.class_balance <= 1, "train.class_balance", "must be in 0..1", t.class_balance)
    require(t.on_nan in ("stop", "rollback"), "train.on_nan", "must be stop or rollback", t.on_nan)
    require(t.precision in PRECISIONS, "train.precision", f"must be one of {', '.join(PRECISIONS)}", t.precision)
    require(t.compile_mode in COMPILE_MODES, "train.compile_mode", f"must be one of {', '.join(COMPILE_MODES)}",
            t.compile_mode)
    require(t.compile or t.compile_mode == "default", "train.compile_mode",
            f"needs train.compile on (--compile {t.compile_mode})", t.compile_mode)
    require(t.time_limit is None or 0 < t.time_limit <= 10**7, "train.time_limit", "must be in (0, 10**7] minutes",
            t.time_limit)
    require(0 <= t.eval_every <= MAX_COUNT, "train.eval_every", f"must be in 0..{MAX_COUNT:,}", t.eval_every)
    require(2 <= t.eval_n <= MAX_SAMPLES, "train.eval_n", f"must be in 2..{MAX_SAMPLES:,}", t.eval_n)
    require(1 <= m.latent_dim <= MAX_LATENT, "model.latent_dim", f"must be in 1..{MAX_LATENT:,}", m.latent_dim)
    require(d.channels in (None, 1, 3), "data.channels", "must be 1 or 3", d.channels)
    require(d.image_size is None or 4 <= d.image_size <= 1024, "data.image_size", "must be in 4..1024", d.image_size)
    require(d.background is None or _is_colour(d.background), "data.background",
            "must be a colour name (white, black, grey) or #rrggbb", d.background)
    require(d.clusters == 0 or 2 <= d.clusters <= MAX_CLUSTERS, "data.clusters", f"must be 0 or in 2..{MAX_CLUSTERS:,}",
            d.clusters)
    require(d.sample_rate is None or 1000 <= d.sample_rate <= MAX_SAMPLE_RATE, "data.sample_rate",
            f"must be in 1000..{MAX_SAMPLE_RATE:,}", d.sample_rate)
    require(d.clip_samples is None or 16 <= d.clip_samples <= MAX_CLIP, "data.clip_samples", f"must be in 16..{MAX_CLIP:,}",
            d.clip_samples)
    require(d.seq_len is None or 1 <= d.seq_len <= MAX_SEQ_LEN, "data.seq_len", f"must be in 1..{MAX_SEQ_LEN:,}",
            d.seq_len)


def require(ok: bool, key: str, rule: str, value: Any) -> None:
    if not ok:
        raise GankitError(f"{key} {rule}, got {value!r}")


# ---------------------------------------------------------------------------------------------
# saving


def to_dict(config: Config) -> dict[str, dict[str, Any]]:
    """{section: {key: value}}, the family's settings flattened into [model] (as config.toml holds them)."""
    tree = {section: {f.name: getattr(getattr(config, section), f.name) for f in section_fields(section)}
            for section in SECTIONS}
    if config.model.params is not None:
        tree["model"] |= dataclasses.asdict(config.model.params)
    return tree


def to_toml(config: Config) -> str:
    """TOML text of the config. None values are left out (TOML has no null; absent means default None)."""
    params = type(config.model.params) if config.model.params is not None else None
    lines = []
    for section, values in to_dict(config).items():
        lines.append(f"[{section}]")
        for key, value in values.items():
            if value is None:
                continue
            comment = field_help(f"{section}.{key}", params)
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
    # a JSON string is a TOML basic string, written as UTF-8: escaped, an emoji would become a surrogate pair, which
    # TOML refuses; DEL is the one control character JSON leaves raw and TOML does not allow
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
