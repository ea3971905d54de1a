"""Reference data for scoring: the held-out split, and cached features of real images.

Held-out split: the dataset's test split where one exists, else a seeded 10% of the training data.
Features of real images are cached per (dataset, split, content hash of the images, extractor
hash), so a changed dataset or extractor recomputes them and nothing stale is reused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import torch
from safetensors.torch import load_file, save_file

from gankit.config import DataConfig
from gankit.data import Dataset, is_named, load_dataset
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
    if is_named(data.name):
        test = load_dataset(data, split="test")
        return HeldOut(test.images, test.labels, split="test")
    n = len(train)
    count = max(1, int(n * HOLDOUT_SHARE))
    order = torch.randperm(n, generator=torch.Generator().manual_seed(HOLDOUT_SEED))
    take, rest = order[:count].sort().values, order[count:].sort().values
    labels = train.labels[take] if train.labels is not None else None
    return HeldOut(train.images[take], labels, split=f"heldout-{HOLDOUT_SHARE:g}-seed{HOLDOUT_SEED}",
                   from_training_set=True, rest=rest)


def images_digest(images: torch.Tensor) -> str:
    return hashlib.sha256(images.contiguous().numpy().tobytes()).hexdigest()[:16]


def cached_features(extractor: FeatureExtractor, dataset: str, split: str, images: torch.Tensor,
                    device: torch.device) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Features (and class probabilities) of real images, from the cache when nothing changed."""
    from gankit.data.sources import cache_dir

    safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in dataset.rstrip("/").split("/")[-1])
    path = cache_dir() / "reference" / f"{safe}-{split}-{images_digest(images)}-{extractor.name}-{extractor.digest}.safetensors"
    if path.is_file():
        try:
            stored = load_file(str(path), device=str(device))
            return stored["features"], stored.get("probs")
        except Exception:  # a damaged cache file is simply recomputed
            path.unlink(missing_ok=True)
    features, probs = extractor.extract(images, device)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {"features": features.cpu().contiguous()}
    if probs is not None:
        tensors["probs"] = probs.cpu().contiguous()
    tmp = path.with_name(f".{path.name}.tmp")
    save_file(tensors, str(tmp))
    tmp.replace(path)
    return features, probs
