"""Datasets as one tensor each, plus device-resident batches.

A `Dataset` is the whole training set in memory: `samples` as stored (uint8 (N, C, H, W) for images)
with optional labels, and the `Modality` that says what a sample is and how it decodes. The trainer
only sees `DeviceBatches` and `sample_shape`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gankit.config import DataConfig
from gankit.data.folder import read_image_folder
from gankit.data.sources import NAMED_DATASETS, is_named, locate, sample_shape
from gankit.errors import GankitError
from gankit.modalities import MODALITIES, Modality
from gankit.modalities.image import conform

__all__ = ["Dataset", "is_named", "load_dataset"]


@dataclass
class Dataset:
    name: str
    # the training set as stored: uint8 (N, C, H, W) for images
    samples: torch.Tensor
    # int64 (N,) or None for unlabelled folders
    labels: torch.Tensor | None
    classes: tuple[str, ...]
    modality: Modality

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.samples.shape[1:])

    def __len__(self) -> int:
        return self.samples.shape[0]


def load_dataset(cfg: DataConfig, split: str = "train") -> Dataset:
    """Load a split as one tensor, conformed to the configured shape.

    Args:
        cfg: the data section of the run config.
        split: "train" or the dataset's test split (named datasets).
    """
    channels, _, size = sample_shape(cfg)
    if is_named(cfg.name):
        spec = NAMED_DATASETS[cfg.name]
        images, labels = spec.read(locate(cfg.name, split, cfg.data_dir, cfg.download_url), split)
        classes, modality = spec.classes, MODALITIES.get(spec.modality)()
    else:
        if not Path(cfg.name).is_dir():
            raise GankitError(f"data folder {cfg.name} does not exist (moved or deleted?); point --data at it")
        images, labels, class_list = read_image_folder(cfg.name, size, channels)
        classes, modality = tuple(class_list), MODALITIES.get("image")()
    tensor = conform(torch.from_numpy(np.array(images, dtype=np.uint8)), channels, size)  # a writable copy
    label_tensor = torch.from_numpy(labels) if labels is not None else None
    return Dataset(name=cfg.name, samples=tensor, labels=label_tensor, classes=classes, modality=modality)
