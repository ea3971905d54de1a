"""Datasets as one uint8 tensor each, plus device-resident batches.

A `Dataset` is the whole training set in memory: `images` uint8 (N, C, H, W) and optional labels.
Other data kinds (audio (N, C, L), token sequences (N, L)) fit the same shape-agnostic contract:
the trainer only sees `DeviceBatches` and `sample_shape`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from gankit.config import DataConfig
from gankit.data.sources import NAMED_DATASETS
from gankit.errors import GankitError

FOLDER_DEFAULT_SIZE = 64


@dataclass
class Dataset:
    name: str
    # uint8 (N, C, H, W), values 0..255
    images: torch.Tensor
    # int64 (N,) or None for unlabelled folders
    labels: torch.Tensor | None
    classes: tuple[str, ...]
    kind: str = "image"

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.images.shape[1:])

    def __len__(self) -> int:
        return self.images.shape[0]


def is_named(name: str) -> bool:
    return name in NAMED_DATASETS


def validate_data_config(cfg: DataConfig) -> None:
    if cfg.channels not in (None, 1, 3):
        raise GankitError(f"data.channels must be 1 or 3, got {cfg.channels!r}")
    if cfg.image_size is not None and not 4 <= cfg.image_size <= 1024:
        raise GankitError(f"data.image_size must be in 4..1024, got {cfg.image_size!r}")
    if not is_named(cfg.name) and not Path(cfg.name).is_dir():
        raise GankitError(f"data.name {cfg.name!r} is neither a dataset ({', '.join(NAMED_DATASETS)}) "
                          "nor an existing folder of images")


def native_shape(cfg: DataConfig) -> tuple[int, int]:
    """(channels, image_size) the models will see, before loading any file."""
    if cfg.name in ("fashion-mnist", "mnist"):
        channels, size = 1, 28
    elif cfg.name == "cifar10":
        channels, size = 3, 32
    else:
        channels, size = 3, FOLDER_DEFAULT_SIZE
    return cfg.channels or channels, cfg.image_size or size


def load_dataset(cfg: DataConfig, split: str = "train") -> Dataset:
    """Load a split as one uint8 tensor, conformed to the configured channels and size.

    Args:
        cfg: the data section of the run config.
        split: "train" or "test" (named datasets).
    """
    from gankit.data.cifar import read_cifar10
    from gankit.data.folder import read_image_folder
    from gankit.data.idx import read_idx
    from gankit.data.sources import locate

    channels, size = native_shape(cfg)
    if is_named(cfg.name):
        spec = NAMED_DATASETS[cfg.name]
        files = locate(cfg.name, split, cfg.data_dir, cfg.download_url)
        if cfg.name == "cifar10":
            images, labels = read_cifar10(files["cifar-10-python.tar.gz"], split)
        else:
            image_file, label_file = spec.files[split]
            images = read_idx(files[image_file])
            labels = read_idx(files[label_file]).astype(np.int64)
            if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
                raise GankitError(f"{files[image_file]} and {files[label_file]} do not match "
                                  f"(images {images.shape}, labels {labels.shape})")
            images = images[:, None]
        classes = spec.classes
    else:
        images, labels, class_list = read_image_folder(cfg.name, size, channels)
        classes = tuple(class_list)
    tensor = conform(torch.from_numpy(np.array(images, dtype=np.uint8)), channels, size)  # a writable copy
    label_tensor = torch.from_numpy(labels) if labels is not None else None
    return Dataset(name=cfg.name, images=tensor, labels=label_tensor, classes=classes)


def conform(images: torch.Tensor, channels: int, size: int) -> torch.Tensor:
    """uint8 (N, C, H, W) -> uint8 (N, channels, size, size): grey<->RGB and antialiased resizing."""
    if images.shape[1] == 1 and channels == 3:
        images = images.expand(-1, 3, -1, -1)
    elif images.shape[1] == 3 and channels == 1:
        weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)  # ITU-R BT.601 luma
        images = (images.float() * weights).sum(1, keepdim=True).round().to(torch.uint8)
    if images.shape[-1] != size or images.shape[-2] != size:
        resized = []
        for chunk in images.split(4096):
            x = F.interpolate(chunk.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
            resized.append(x.round().clamp(0, 255).to(torch.uint8))
        images = torch.cat(resized)
    return images.contiguous()
