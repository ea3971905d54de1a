"""From what a user typed (or a run saved) to a checked Config: `--model auto`, the family's defaults
and settings, then every check that needs a registry. `gankit.config` is the schema; this is the one
place that knows the registries.

Precedence, lowest first: field defaults < the model's registry defaults < the config file < the
command line.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from gankit.augment import AUGMENTATIONS
from gankit.auto import RECIPES, auto_clusters, auto_settings
from gankit.config import Config, DataConfig, ModelConfig, build_config, flatten, load_config_file, require
from gankit.data.folder import survey_images
from gankit.data.kinds import (
    KINDS,
    check_data_exists,
    check_data_settings,
    data_classes,
    kind_name,
    native_settings,
    sample_shape,
)
from gankit.data.sources import is_named, offered_conditions
from gankit.device import validate_device_name
from gankit.errors import GankitError
from gankit.losses import LOSSES
from gankit.metrics import METRICS
from gankit.metrics.features import EXTRACTORS
from gankit.modalities import MODALITIES, default_folder_kind, is_data_file
from gankit.models import MODELS


def resolve_config(file_values: dict[str, Any] | None = None, overrides: dict[str, Any] | None = None, *,
                   saved: bool = False) -> Config:
    """Build and check a Config from file values and command-line overrides (both dotted keys).

    Args:
        saved: the values come from a run or checkpoint gankit wrote. Its data need not be where it
            was (sampling needs only the run), and settings an older gankit wrote for every family
            (e.g. model.width of a classic run) are dropped instead of refused.
    """
    raw: dict[str, Any] = {}
    for source in (file_values or {}, overrides or {}):
        raw.update(source)
    if (raw.get("train.time_limit") is not None or raw.get("train.max_steps") is not None) and "train.epochs" not in raw:
        raw["train.epochs"] = 0  # a time limit or step count alone decides how long to train, not the default epochs
    if not saved and isinstance(raw.get("data.name"), str):
        raw["data.name"] = absolute_folder(raw["data.name"])
        if not NATIVE_KEYS <= raw.keys():  # a resumed run carries all three (None: it trained at the old default)
            for key, value in native_settings(raw["data.name"]).items():
                raw.setdefault(key, value)
    if raw.get("model.name") == "auto":
        del raw["model.name"]
        limit = raw.get("train.time_limit")  # a malformed one is reported by the config checks
        data = raw.get("data.name", DataConfig.name)
        kind, classes = data_classes(data) if isinstance(data, str) else (None, 0)
        kind = kind or default_folder_kind()  # no data there: the config checks say so
        clusterable = KINDS[kind].clusters and not classes and Path(data).is_dir()
        survey = survey_images(data) if clusterable else None
        try:  # the user's own number of clusters wins (0: trained without labels)
            clusters = int(raw.get("data.clusters", auto_clusters(survey.images if survey else 0)))
        except (TypeError, ValueError):
            clusters = 0  # reported by the config checks
        offers = offered_conditions(data) if isinstance(data, str) else ()
        for key, value in auto_settings(auto_device(raw), limit if isinstance(limit, (int, float)) else None,
                                        classes, kind, clusters, offers,
                                        picture_shape(raw) if RECIPES.get(kind).shaped else None)[0].items():
            raw.setdefault(key, value)
    name = raw.get("model.name", ModelConfig.name)
    require(isinstance(name, str) and name in MODELS, "model.name",
            f"must be one of {', '.join(MODELS.names() + ['auto'])}", name)
    spec = MODELS.get(name)
    for key, value in spec.defaults.items():
        raw.setdefault(key, value)
    if saved:
        settings = {"model.name", "model.latent_dim"} | {f"model.{f}" for f in spec.params.__dataclass_fields__}
        raw = {k: v for k, v in raw.items() if not k.startswith("model.") or k in settings}
    if not saved and isinstance(raw.get("data.data_dir"), str) and raw["data.data_dir"]:
        raw["data.data_dir"] = str(Path(raw["data.data_dir"]).expanduser().absolute())
    config = build_config(raw, spec.params, family=name)
    check_with_registries(config, check_data=not saved)
    return config


# the data settings a user's own data implies when they are not given (gankit.data.sources.native_settings)
NATIVE_KEYS = {"data.image_size", "data.channels", "data.seq_len"}


def picture_shape(raw: dict[str, Any]) -> tuple[int, ...] | None:
    """The (C, H, W) of the images `raw` names, before loading any (None where its data settings are malformed: the
    config checks report them)."""
    try:
        return sample_shape(DataConfig(name=raw.get("data.name", DataConfig.name), image_size=raw.get("data.image_size"),
                                       channels=raw.get("data.channels")))
    except (GankitError, TypeError, ValueError, OSError):
        return None


def auto_device(raw: dict[str, Any]) -> str:
    """The device --model auto chooses its precision for (a malformed one is reported by the config checks)."""
    device = raw.get("train.device", "auto")
    try:
        validate_device_name(device if isinstance(device, str) else "?")
    except GankitError:
        return "auto"
    return device


def check_with_registries(config: Config, check_data: bool = True) -> None:
    """Names that must be registered, the family's own checks, and what the data must be for the model."""
    t, m = config.train, config.model
    spec = MODELS.get(m.name)
    require(t.loss in LOSSES, "train.loss", f"must be one of {', '.join(LOSSES.names())}", t.loss)
    for name in t.eval_metrics.split(","):
        require(name.strip() in METRICS, "train.eval_metrics", f"must list metrics from {', '.join(METRICS.names())}",
                t.eval_metrics)
    require(t.extractor == "auto" or t.extractor in EXTRACTORS, "train.extractor",
            f"must be auto or one of {', '.join(EXTRACTORS.names())}", t.extractor)
    validate_device_name(t.device)
    if LOSSES.get(t.loss).gp_weight > 0 or (t.gp_weight or 0) > 0 or t.r1_gamma > 0:
        require(not spec.batch_norm_in_d(m.params), "model.d_norm",
                "must be none with a gradient penalty or R1 (they are per-sample; BatchNorm mixes samples)",
                getattr(m.params, "d_norm", None))
    named = [name.strip() for name in t.aux_conditions.split(",") if name.strip()]
    if named:
        able = [name for name in MODELS.names() if MODELS.get(name).auxiliary]
        require(spec.auxiliary, "train.aux_conditions", f"needs a family whose D can name conditions ({', '.join(able)})",
                t.aux_conditions)
        told = [name.strip() for name in config.data.conditions.split(",")]
        require(set(named) <= set(told) and len(set(named)) == len(named), "train.aux_conditions",
                f"must name conditions the model is told (data.conditions: {config.data.conditions}), each once",
                t.aux_conditions)
    if not check_data:
        # a saved config: its data was checked when it trained, and the checkpoint says what G makes (the family's
        # checks run on that shape when G is built); the data may have changed or gone since, and only commands
        # that train or score look at it (a bundle naming / as its data once had the file system walked)
        return
    check_data_exists(config.data)
    modality = kind_name(config.data.name)
    if modality is None:  # a folder of neither kind: the reader says why when it loads
        return
    check_data_settings(config.data)
    words = MODALITIES.get(modality).words
    if modality not in spec.modalities:
        fitting = [name for name in MODELS.names() if modality in MODELS.get(name).modalities]
        raise GankitError(f"model {m.name} makes {' or '.join(MODALITIES.get(k).words for k in spec.modalities)}, "
                          f"and {config.data.name} holds {words}; pick a model for {words}: {', '.join(fitting)} or "
                          "auto")
    allowed = MODALITIES.get(modality).augmentations
    for name in filter(None, (p.strip() for p in t.augment.split(","))):
        require(name in AUGMENTATIONS and name in allowed, "train.augment",
                f"must list augmentations from {', '.join(allowed)}", t.augment)
    spec.check(config, sample_shape(config.data))


def from_dict(tree: dict[str, Any]) -> Config:
    """Rebuild a Config that gankit saved (config.toml, a checkpoint's meta.json), checking it again."""
    return resolve_config(flatten(tree, source="saved config"), saved=True)


def load_saved_config(path: Path) -> Config:
    """A run's config.toml."""
    return resolve_config(load_config_file(path), saved=True)


def resolve_data(name: str, data_dir: str | None = None, image_size: int | None = None,
                 channels: int | None = None) -> DataConfig:
    """A checked data section alone (scoring files of samples, training an evaluator), at the shape training reads it
    at: a folder's own unless given (eval read a folder of 28-px images at 64, and trained a classifier for a shape
    no run of it had)."""
    values = {"data.name": name, "data.data_dir": data_dir, "data.image_size": image_size, "data.channels": channels}
    for key, value in native_settings(absolute_folder(name)).items():
        if values.get(key) is None:
            values[key] = value
    data = build_config({k: v for k, v in values.items() if v is not None}).data
    check_data_exists(data)
    return dataclasses.replace(data, name=absolute_folder(data.name))


def absolute_folder(name: str) -> str:
    """A folder (or text file) of data as an absolute path, so a run works from any working directory; a dataset
    name, or a name that is neither, stays as typed (for the message that refuses it)."""
    path = Path(name).expanduser()
    if is_named(name) or not (path.is_dir() or is_data_file(path)):
        return name
    return str(Path(name).expanduser().absolute())
