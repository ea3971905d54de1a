"""Modalities: what a sample is. One per kind of data (images, sound, text), registered by name.

A modality owns everything that depends on what a sample is, so the trainer, checkpoints, metrics
and report never need to know:
  - raw data <-> the model's tensor (uint8 pixels <-> [-1, 1] for images)
  - conforming a training set to the shape the models see (channels and size for images)
  - a *preview* of a batch of samples for the run folder, the report and TensorBoard (a PNG grid)
  - the cheap diversity measure the mode-collapse diagnosis uses
  - which DiffAugment policies make sense, and the default feature extractor for evaluation
  - what decoding needs (e.g. a sample rate, a vocabulary): `info()` goes into every checkpoint's
    meta.json, and `from_info` rebuilds the modality from it, so a run samples without its data.
  - what the rest of gankit asks of a kind of data (its files' names, how it is scored, what a model card and the
    diagnosis say of it): declared here, so that no code outside this package asks which kind it holds.
To add a kind of data: a module here with a Modality subclass, registered in MODALITIES, and its
readers and DataKind in gankit.data (docs/architecture.md).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gankit.conditions import CLASS, MAX_VALUES, Conditions, column, from_classes, sizes, table_from_meta
from gankit.conditions import from_meta as conditions_from_meta
from gankit.conditions import to_meta as conditions_meta
from gankit.errors import GankitError
from gankit.registry import Registry


class Modality:
    """The interface every kind of data implements (see the module docstring)."""

    name: str = ""
    # DiffAugment policies (gankit.augment names) that are meaningful for these samples
    augmentations: tuple[str, ...] = ()
    # the names of files that hold this kind of data, and whether one such file is a whole data set (text: a file
    # of lines) or a folder of them is (images, sound)
    file_extensions: tuple[str, ...] = ()
    one_file: bool = False

    @classmethod
    def holds(cls, path: Path) -> bool:
        """Whether `path` is named as a file of this kind of data."""
        return path.suffix.lower() in cls.file_extensions

    def info(self) -> dict[str, Any]:
        """What decoding needs, JSON-able (recorded in meta.json as {"name": ..., **info})."""
        return {}

    @classmethod
    def from_info(cls, info: dict[str, Any]) -> Modality:
        return cls()

    def to_model(self, raw: torch.Tensor) -> torch.Tensor:
        """Stored samples (e.g. uint8) -> the float tensor G makes and D judges."""
        raise NotImplementedError

    def from_model(self, x: torch.Tensor) -> torch.Tensor:
        """G's output -> stored samples (the inverse of to_model)."""
        raise NotImplementedError

    def model_shape(self, stored_shape: tuple[int, ...]) -> tuple[int, ...]:
        """The shape of one sample as to_model makes it, from its shape as stored."""
        return stored_shape

    def check_model_shape(self, shape: tuple[int, ...], where: str) -> None:
        """Raise GankitError when G's samples, of `shape`, cannot be what this modality decodes (a damaged file)."""

    def check_resume(self, saved: Any, data: str, run: Path) -> None:
        """Raise GankitError when the data has changed since `run` saved its newest checkpoint (whose meta.json holds
        the modality `saved`) in a way that makes G's outputs mean something else."""

    def training_set(self, samples: torch.Tensor) -> tuple[torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]:
        """(what training batches are cut from, what turns one such batch into the model's tensor) for the whole
        stored training set: the samples, converted batch by batch (uint8 pixels take a quarter of the memory of
        floats); a view that is costly to compute (a spectrogram) is computed here once instead."""
        return samples, self.to_model

    def picture(self, samples: torch.Tensor, nrow: int | None = None) -> np.ndarray:
        """A uint8 (H, W, C) picture of a batch of stored samples, for the report and TensorBoard."""
        raise NotImplementedError

    def preview(self, samples: torch.Tensor, path: str | Path, nrow: int | None = None) -> Path:
        """Write a preview of stored samples to `path` (atomically) and return it."""
        raise NotImplementedError

    # what stored samples are, for messages; the kind of data, as messages name it ("images", "sound")
    stored: str = ""
    words: str = "samples"
    # one sample, as messages and pictures name it ("a training image", "a training clip")
    noun: str = "sample"
    # scored on a feature extractor's features (FID and the rest); False: by statistics of the samples themselves
    # (text: character n-grams, gankit.metrics.text)
    scored_by_features: bool = True
    # the score whose lowest value marks the run's best checkpoint
    best_score: str = "fid"
    # a reader of this kind of data keeps a test split of its own (a text file's items, split by a hash); False: a
    # folder's held-out samples are carved out of its training set
    reads_own_test_split: bool = False
    # how a folder of this data gets the class labels a classifier extractor learns
    labelled_folder_hint: str = "put the samples in one subfolder per class"
    # an extractor of pretrained weights that needs no labels (images: inception), else ""
    pretrained_extractor: str = ""
    # what a classifier extractor sees of a sample, in words, for its description ("28x28 px")
    def classifier_input(self, height: int, width: int) -> str:
        return f"{height}x{width} pictures"

    def baselines(self, like: torch.Tensor, count: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """Made-up samples shaped as the stored samples `like`, as bad as it gets, by the names `gankit eval` prints
        them under: the yardsticks scored beside real data (none: the real data's alone, or none at all)."""
        return {}

    # what the mode-collapse diagnosis adds to its advice for this kind of data
    collapse_advice: tuple[str, ...] = ()
    # a file a walk through the latent space is heard in, one sample after another (sound: ".wav"); "": none
    sequence_suffix: str = ""

    def preview_lines(self, preview: Path) -> Path | None:
        """The file of every sample's text that `preview` wrote beside the picture `preview` (None: it writes none)."""
        return None

    def preview_clips(self, preview: Path) -> list[Path]:
        """The sound files that `preview` wrote beside the picture `preview`, in order (none by default)."""
        return []

    def write_sequence(self, samples: torch.Tensor, path: Path) -> Path:
        """Write stored samples one after another into one file of `sequence_suffix`."""
        raise NotImplementedError

    def sample_notes(self, samples: torch.Tensor) -> list[str]:
        """What a person should know about samples `gankit sample` just wrote (none by default)."""
        return []

    def classifier_view(self, samples: torch.Tensor) -> torch.Tensor:
        """Stored samples -> the uint8 (N, C, H, W) pictures a classifier (the feature extractor) looks at."""
        raise NotImplementedError

    def thumbnails(self, samples: torch.Tensor) -> torch.Tensor:
        """Stored samples -> uint8 (N, C, H, W) pictures a person looks at (closest pairs, walks)."""
        raise NotImplementedError

    # what `gankit sample --out` writes: a file with this suffix, or a folder when it is ""
    output_suffix: str = ""

    def write_samples(self, samples: torch.Tensor, out: Path, nrow: int | None = None) -> str:
        """Write stored samples where `gankit sample --out` points; returns what was written, for the console."""
        raise NotImplementedError

    def as_array(self, samples: torch.Tensor) -> np.ndarray:
        """Stored samples as the array `gankit sample --npy` saves."""
        raise NotImplementedError

    def spread(self, x: torch.Tensor) -> float:
        """Mean pairwise distance of model-range samples: the diversity measure of the collapse diagnosis."""
        raise NotImplementedError

    def default_extractor(self, sample_shape: tuple[int, ...]) -> str:
        """The feature extractor `--extractor auto` picks for samples of this shape."""
        raise NotImplementedError

    # what `gankit demo` shows of samples (the keys of `demo_parts`), and how many one request may ask for
    demo_shows: tuple[str, ...] = ("picture",)
    demo_max: int = 64

    def demo_parts(self, samples: torch.Tensor, nrow: int | None = None) -> dict[str, Any]:
        """What `gankit demo` shows of stored samples, by the names in `demo_shows`: "picture", a uint8 (H, W, C)
        array; "clips", (sample rate, int16 array) for each sample to play; "lines", each sample's text."""
        return {"picture": self.picture(samples, nrow)}

    # for a bundle's model card: what `gankit sample --out` is shown writing, what Pipeline.sample returns, what the
    # preview picture leaves out, and the numpy line that keeps what the decoding line of `decoding()` made
    example_output: str = "samples"
    decoded: str = "samples"
    preview_note: str = ""
    keep_decoded: str = ""
    # the name decoding()'s numpy line gives the decoded samples
    decoded_as: str = "samples"

    def describe(self, shape: tuple[int, ...] | list[int]) -> str:
        """What samples of G's `shape` are, in words ("28x28 grey images"), for a bundle's model card."""
        raise NotImplementedError

    def decoding(self) -> dict[str, str]:
        """How a program without gankit turns G's output x into data, for an exported bundle: "output" (what x
        is), "data" (what it becomes, in words) and "numpy" (the same as one line of numpy on x; `info` is
        the bundle's model.json)."""
        raise NotImplementedError


MODALITIES: Registry[type[Modality]] = Registry("modality")


def kind_of_path(path: Path) -> str | None:
    """The kind of data at `path` (a MODALITIES name), from its files' names: a file that is a whole data set (text),
    or a folder of one kind's files (a folder of no such file is images, as gankit has always read it; a folder of
    two kinds is refused); None when `path` is neither."""
    if path.is_file():
        return next((kind.name for kind in MODALITIES.values() if kind.one_file and kind.holds(path)), None)
    if not path.is_dir():
        return None
    folders = [kind for kind in MODALITIES.values() if not kind.one_file]
    found: set[str] = set()
    for _, _, names in os.walk(path):
        found |= {kind.name for name in names for kind in folders if kind.holds(Path(name))}
        if len(found) > 1:
            words = " and ".join(sorted(MODALITIES.get(kind).words for kind in found))
            raise GankitError(f"{path} holds both {words}; point --data at a folder of one kind")
    return found.pop() if found else default_folder_kind()


def default_folder_kind() -> str:
    """What a folder holding none of the files gankit reads is taken for (images: the reader then says so)."""
    return next(kind.name for kind in MODALITIES.values() if not kind.one_file)


def is_data_file(path: Path) -> bool:
    """Whether `path` is a file that is a whole data set by itself (a text file of lines)."""
    return path.is_file() and kind_of_path(path) is not None

def modality_from_info(info: Any) -> Modality:
    """The modality a checkpoint's meta.json records; checkpoints older than the field are images."""
    if info is None:
        return MODALITIES.get("image").from_info({})
    if not isinstance(info, dict) or not isinstance(info.get("name"), str) or info["name"] not in MODALITIES:
        raise GankitError(f"meta.json names an unknown kind of data {info!r}; known: {', '.join(MODALITIES.names())}")
    return MODALITIES.get(info["name"]).from_info(info)


def modality_info(modality: Modality) -> dict[str, Any]:
    return {"name": modality.name, **modality.info()}


@dataclass(frozen=True)
class SampleSpec:
    """What a generator makes, as a checkpoint records it: enough to decode and label samples without the data."""

    shape: tuple[int, ...]
    modality: Modality
    # the named conditions G takes besides z (gankit.conditions); empty for unconditional models
    conditions: Conditions = ()
    # with more than one condition, the data's label rows as (distinct row, how many samples have it): sampling
    # draws the conditions not asked for from their joint proportions (gankit.conditions.table)
    label_table: tuple[tuple[tuple[int, ...], int], ...] = ()

    @property
    def classes(self) -> tuple[str, ...]:
        """The names of the `class` condition's values (empty when it has none)."""
        where = column(self.conditions, CLASS)
        return self.conditions[where].values if where is not None else ()

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def label_sizes(self) -> tuple[int, ...]:
        return sizes(self.conditions)

    def as_meta(self) -> dict[str, Any]:
        # num_classes and classes as well: what readers of before conditions had names look for
        table = {"label_table": [[list(row), count] for row, count in self.label_table]} if self.label_table else {}
        return {"sample_shape": list(self.shape), "num_classes": self.num_classes, "classes": list(self.classes),
                "conditions": conditions_meta(self.conditions), **table, "modality": modality_info(self.modality)}

    @classmethod
    def from_meta(cls, meta: dict[str, Any], where: str, known_classes: tuple[str, ...] = ()) -> SampleSpec:
        """Read back as_meta's fields, refusing values a damaged or hostile file could hold.

        `known_classes`: names to use when the checkpoint predates the `classes` field.
        """
        shape = meta.get("sample_shape")
        if not (isinstance(shape, list) and 1 <= len(shape) <= 3
                and all(type(n) is int and 0 < n <= 1 << 20 for n in shape)):
            raise GankitError(f"checkpoint {where}: meta.json has no valid sample_shape")
        if "conditions" in meta:
            conditions = conditions_from_meta(meta["conditions"], where)
        else:  # written before conditions had names: one class condition, or none
            conditions = from_classes(_classes_before_conditions(meta, where, known_classes))
        table = table_from_meta(meta["label_table"], conditions, where) if "label_table" in meta else ()
        modality = modality_from_info(meta.get("modality"))
        modality.check_model_shape(tuple(shape), where)
        return cls(tuple(shape), modality, conditions, table)


def _classes_before_conditions(meta: dict[str, Any], where: str, known_classes: tuple[str, ...]) -> tuple[str, ...]:
    num_classes = meta.get("num_classes") or 0
    if not (type(num_classes) is int and 0 <= num_classes <= MAX_VALUES):
        raise GankitError(f"checkpoint {where}: meta.json has an invalid num_classes")
    classes = meta.get("classes")
    if classes is None:
        classes = known_classes if len(known_classes) == num_classes else [str(i) for i in range(num_classes)]
    if not (isinstance(classes, list | tuple) and len(classes) == num_classes
            and all(isinstance(c, str) for c in classes)):
        raise GankitError(f"checkpoint {where}: meta.json's classes do not match its num_classes")
    return tuple(classes)


# each module registers its modality; this order is the order messages list them in
for _module in ("image", "audio", "text"):
    importlib.import_module(f"gankit.modalities.{_module}")
