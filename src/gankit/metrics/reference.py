"""Reference data for scoring: the held-out split, and cached features of real images.

Held-out split: the dataset's test split where one exists (a text file's: the lines its hash holds out), else a
seeded 10% of the training data.
Features of real images are cached per (dataset, split, content hash of the images, extractor
hash), so a changed dataset or extractor recomputes them and nothing stale is reused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from safetensors.torch import load_file, save_file

from gankit.atomic import atomic_path
from gankit.cache import cache_dir
from gankit.config import DataConfig
from gankit.data import Dataset, is_named, load_dataset
from gankit.data.sources import NAMED_DATASETS

if TYPE_CHECKING:  # the extractors use held_out; only the annotation goes the other way
    from gankit.metrics.features import FeatureExtractor

HOLDOUT_SHARE = 0.1
HOLDOUT_SEED = 0


@dataclass
class HeldOut:
    images: torch.Tensor
    labels: torch.Tensor | None
    split: str
    # True when carved out of the training data; `rest` then indexes the training images left
    from_training_set: bool = False
    rest: torch.Tensor | None = None


def held_out(data: DataConfig, train: Dataset) -> HeldOut:
    if is_named(data.name) or train.modality.reads_own_test_split:
        split = NAMED_DATASETS[data.name].test_split if is_named(data.name) else "test"
        test = load_dataset(data, split=split)
        return HeldOut(test.samples, test.labels, split=split)
    n = len(train)
    count = max(1, int(n * HOLDOUT_SHARE))
    order = torch.randperm(n, generator=torch.Generator().manual_seed(HOLDOUT_SEED))
    take, rest = order[:count].sort().values, order[count:].sort().values
    labels = train.labels[take] if train.labels is not None else None
    return HeldOut(train.samples[take], labels, split=f"heldout-{HOLDOUT_SHARE:g}-seed{HOLDOUT_SEED}",
                   from_training_set=True, rest=rest)


def images_digest(images: torch.Tensor) -> str:
    return hashlib.sha256(images.contiguous().numpy().tobytes()).hexdigest()[:16]


def cache_key(extractor: FeatureExtractor, dataset: str, split: str, images: torch.Tensor) -> str:
    """Names what real images' features depend on: dataset, split, their content, the extractor."""
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in dataset.rstrip("/").split("/")[-1])
    return f"{safe}-{split}-{images_digest(images)}-{extractor.name}-{extractor.digest}"


def cached_tensors(key: str, compute: Callable[[], dict[str, torch.Tensor]],
                   device: torch.device) -> dict[str, torch.Tensor]:
    """compute() once per key; later calls read the saved tensors (a damaged file is recomputed)."""
    path = cache_dir() / "reference" / f"{key}.safetensors"
    if path.is_file():
        try:
            return load_file(str(path), device=str(device))
        except Exception:
            path.unlink(missing_ok=True)
    tensors = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        save_file({k: v.cpu().contiguous() for k, v in tensors.items()}, str(tmp))
    return tensors


def cached_features(extractor: FeatureExtractor, dataset: str, split: str, images: torch.Tensor,
                    device: torch.device) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Features (and class probabilities) of real images, from the cache when nothing changed."""

    def extract() -> dict[str, torch.Tensor]:
        features, probs = extractor.extract(images, device)
        return {"features": features} | ({"probs": probs} if probs is not None else {})

    stored = cached_tensors(cache_key(extractor, dataset, split, images), extract, device)
    return stored["features"], stored.get("probs")
