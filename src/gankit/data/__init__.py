"""Datasets as one tensor each, plus device-resident batches.

A `Dataset` is the whole training set in memory: `samples` as stored (uint8 (N, C, H, W) for images,
float32 (N, 1, L) in [-1, 1] for sound, int64 character ids (N, L) for text)
with optional labels, and the `Modality` that says what a sample is and how it decodes. The trainer
only sees `DeviceBatches` and `sample_shape`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

from gankit.conditions import Condition, Conditions, from_classes
from gankit.config import DataConfig
from gankit.data.clusters import cluster_images
from gankit.data.download import locate
from gankit.data.kinds import chosen_conditions, data_kind, sample_shape
from gankit.data.sources import NAMED_DATASETS, is_named
from gankit.errors import GankitError
from gankit.modalities import Modality
from gankit.modalities.spectrogram import SpectrogramView

__all__ = ["Dataset", "is_named", "load_dataset"]


@dataclass
class Dataset:
    name: str
    # the training set as stored: uint8 (N, C, H, W) for images, float32 (N, 1, L) for sound, int64 (N, L) for text
    samples: torch.Tensor
    # the class of each sample, int64 (N,), or None for unlabelled folders
    labels: torch.Tensor | None
    classes: tuple[str, ...]
    modality: Modality
    # the conditions a sample has beside its class, each with its values' indices (N,)
    more_conditions: tuple[tuple[Condition, torch.Tensor], ...] = ()

    @property
    def conditions(self) -> Conditions:
        """The named conditions a conditional model trained on this data takes: the class first."""
        return from_classes(self.classes if self.labels is not None else ()) + tuple(c for c, _ in self.more_conditions)

    def label_rows(self) -> torch.Tensor | None:
        """Every sample's labels as a conditional model takes them: int64 (N, k), a column per condition."""
        columns = ([self.labels] if self.labels is not None else []) + [values for _, values in self.more_conditions]
        return torch.stack(columns, dim=1) if columns else None

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """The shape of one sample as the models see it (text's ids (L,) are one-hot (V, L) to them)."""
        return self.modality.model_shape(tuple(self.samples.shape[1:]))

    def __len__(self) -> int:
        return self.samples.shape[0]


def load_dataset(cfg: DataConfig, split: str = "train", spectrogram: SpectrogramView | None = None) -> Dataset:
    """Load a split as one tensor, conformed to the configured shape.

    Args:
        cfg: the data section of the run config.
        split: "train" or the dataset's test split (named datasets and text files).
        spectrogram: for sound, the view a spectrogram family trains on; its statistics, unless it has them (a
            resumed run's), are fitted on this split's clips, and the dataset's modality turns clips into its
            pictures and back.
    """
    shape = sample_shape(cfg)
    kind = data_kind(cfg)
    if kind is None:
        raise GankitError(f"data {cfg.name} does not exist (moved or deleted?); point --data at it")
    more: tuple[tuple[Condition, torch.Tensor], ...] = ()
    if is_named(cfg.name):
        spec = NAMED_DATASETS[cfg.name]
        files = locate(spec, split, cfg.data_dir, cfg.download_url)
        samples, labels = spec.read(files, split, cfg)
        classes = spec.classes
        more = tuple(_condition(name, spec.conditions[name](files, split)) for name in chosen_conditions(cfg))
    else:
        samples, labels, class_list = kind.read(cfg, split, shape)
        classes = tuple(class_list)
        if cfg.clusters:  # an unlabelled folder (checked with the config) labelled by what its images look like
            labels, classes = _clusters(cfg, samples)
    tensor, modality = kind.wrap(cfg, samples, shape, spectrogram)
    label_tensor = torch.from_numpy(labels) if labels is not None else None
    return Dataset(name=cfg.name, samples=tensor, labels=label_tensor, classes=classes, modality=modality,
                   more_conditions=more)


def _condition(name: str, values: list[str]) -> tuple[Condition, torch.Tensor]:
    """A condition named `name` over the values the samples have (sorted, numbers as numbers: MIDI 28 before
    100), and each sample's index among them."""
    names = sorted(set(values), key=lambda v: (0, int(v), "") if v.isdigit() else (1, 0, v))
    index = {value: i for i, value in enumerate(names)}
    return Condition(name, tuple(names)), torch.tensor([index[v] for v in values], dtype=torch.long)


def _clusters(cfg: DataConfig, samples: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """(each image's cluster, the clusters' names): cfg.clusters k-means clusters of an unlabelled folder's images."""
    most = len(samples) // 2  # two images a cluster at the least
    if cfg.clusters > most:
        fix = f"--clusters {min(most, max(2, len(samples) // 10))} or fewer" if most >= 2 else "--clusters 0"
        raise GankitError(f"data.clusters {cfg.clusters} is too many for the {len(samples)} images of "
                          f"{cfg.name} (at least 2 in each cluster): use {fix}")
    # identical pictures (blank frames, copies) are one point to k-means: at most half as many clusters as there are
    # distinct pictures, so that each cluster can hold two
    distinct = len({picture.tobytes() for picture in samples.reshape(len(samples), -1)})
    clusters = min(cfg.clusters, max(1, distinct // 2))
    if clusters < cfg.clusters:
        warnings.warn(f"the {len(samples)} images of {cfg.name} are {distinct} distinct picture(s): {clusters} "
                      f"cluster(s) of them, not {cfg.clusters} (--clusters 0 trains without clusters)",
                      stacklevel=1)  # one place: said once however often the data is loaded
    clustered, classes = cluster_images(torch.from_numpy(samples), clusters)
    return clustered.numpy(), classes
