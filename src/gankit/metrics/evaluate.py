"""Scoring generated images against a dataset's held-out split: one call, one JSON-able result."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import torch

from gankit import conditions
from gankit.config import DataConfig
from gankit.data import Dataset, load_dataset
from gankit.errors import GankitError
from gankit.metrics import METRICS, NEEDS_CLASSES, NEEDS_PITCH, NEEDS_TRAIN, ScoringInput
from gankit.metrics.features import FeatureExtractor, get_extractor
from gankit.metrics.pitch import PitchClassifier, classes_of, pitch_classifier_for
from gankit.metrics.prdc import K_DC, kth_neighbour_distances, nearest
from gankit.metrics.reference import HeldOut, cache_key, cached_features, cached_tensors, held_out, images_digest
from gankit.metrics.text import TextReference, prepare_text_reference, score_text
from gankit.modalities.image import conform
from gankit.plots import save_pairs_figure
from gankit.progress import phase

# samples read from files: how many, and how large a side, before reading is refused
MAX_SAMPLES = 10**7
MAX_SIDE = 4096
# the nearest-neighbour metrics look at the k-th nearest other point, k up to K_DC
NEEDS_NEIGHBOURS = ("pr", "dc")
MIN_FOR_NEIGHBOURS = K_DC + 1


@dataclass
class Reference:
    """What samples are scored against, prepared once (a training run evaluates many times)."""

    data: DataConfig
    train: Dataset
    heldout: HeldOut
    extractor: FeatureExtractor
    real: torch.Tensor
    real_probs: torch.Tensor | None
    device: torch.device
    # musical notes: the pitch classifier and its probabilities for the held-out notes
    pitch: PitchClassifier | None = None
    real_pitch: torch.Tensor | None = None
    _train_features: torch.Tensor | None = None
    _real_radii: dict[int, torch.Tensor] | None = None
    _real_to_train: torch.Tensor | None = None

    @cached_property
    def training_images(self) -> torch.Tensor:
        """The training images the held-out ones are new to: all of them, or the rest when carved from them.

        Held-out images still among them would each find itself at distance 0, and the memorisation check
        would compare samples with a median distance of nothing (a ratio of 2e11 on a folder of shapes).
        """
        if self.heldout.from_training_set:
            return self.train.samples[self.heldout.rest]
        return self.train.samples

    @property
    def training_labels(self) -> torch.Tensor | None:
        """The labels of `training_images`, when the data has them."""
        labels = self.train.labels
        return labels[self.heldout.rest] if labels is not None and self.heldout.from_training_set else labels

    @property
    def training_pitches(self) -> torch.Tensor | None:
        """The MIDI pitch of each of `training_images`, when the data was loaded with a pitch condition."""
        midi = conditions.asked_pitches(self.train.conditions, self.train.label_rows())
        return midi[self.heldout.rest] if midi is not None and self.heldout.from_training_set else midi

    def train_features(self) -> torch.Tensor:
        if self._train_features is None:
            self._train_features, _ = cached_features(self.extractor, self.data.name, "train", self.training_images,
                                                      self.device)
        return self._train_features

    def _key(self) -> str:
        return cache_key(self.extractor, self.data.name, self.heldout.split, self.heldout.images)

    def real_radii(self) -> dict[int, torch.Tensor]:
        """k-NN radii of the real features for precision/recall and density/coverage (cached)."""
        if self._real_radii is None:
            stored = cached_tensors(f"{self._key()}-radii",
                                    lambda: {f"k{k}": r for k, r in kth_neighbour_distances(self.real).items()},
                                    self.device)
            self._real_radii = {int(k[1:]): r for k, r in stored.items()}
        return self._real_radii

    def real_to_train(self) -> torch.Tensor:
        """Distance from each held-out real image to its nearest training image, in features (cached)."""
        if self._real_to_train is None:
            key = f"{self._key()}-to-train-{images_digest(self.training_images)}"
            self._real_to_train = cached_tensors(key, lambda: {"distance": nearest(self.real, self.train_features())[0]},
                                                 self.device)["distance"]
        return self._real_to_train


def parse_metrics(text: str | None) -> list[str]:
    """`fid,kid` -> ["fid", "kid"]; None or "all" -> every registered metric."""
    if text is None or text == "all":
        return METRICS.names()
    names = [t.strip() for t in text.split(",") if t.strip()]
    for name in names:
        METRICS.get(name)  # raises with the valid names
    return names


def prepare_reference(data: DataConfig, extractor: str = "auto", device: torch.device | str = "cpu",
                      train: Dataset | None = None) -> Reference | TextReference:
    """What samples of `data` are scored against: features of its held-out samples, or for text its held-out
    items (text is compared by n-gram statistics; `extractor` is for images and sound)."""
    device = torch.device(device)
    train = train if train is not None else load_dataset(data)
    heldout = held_out(data, train)
    if not train.modality.scored_by_features:
        if extractor != "auto":
            raise GankitError(f"text is scored by character n-gram statistics; --extractor {extractor} is for images "
                              "and sound")
        return prepare_text_reference(data, train, heldout, device)
    ext = get_extractor(extractor, data, train, device)
    real, real_probs = cached_features(ext, data.name, heldout.split, heldout.images, device)
    pitch = pitch_classifier_for(data, train)
    real_pitch = pitch.probabilities(heldout.images) if pitch is not None else None
    return Reference(data, train, heldout, ext, real, real_probs, device, pitch, real_pitch)


def score(images: torch.Tensor, reference: Reference | TextReference, metrics: list[str] | None = None, seed: int = 0,
          features: tuple[torch.Tensor, torch.Tensor | None] | None = None, labels: torch.Tensor | None = None,
          pitch: torch.Tensor | None = None, asked_pitch: torch.Tensor | None = None) -> dict:
    """Score samples as stored (uint8 images (N, C, H, W), float clips (N, 1, L)) with the selected metrics;
    text (int64 ids (N, L)) with all of gankit.metrics.text's.

    `features`, when given, are the extractor's (features, class probabilities) of all the samples,
    already computed (by several processes, each on its part); `images` is then only checked. So is `pitch`, the
    pitch classifier's probabilities of notes. `labels` are the classes a conditional model was asked for (B,),
    `asked_pitch` the MIDI pitches (B,) of one conditioned on pitch.

    Returns:
        {"metrics": {...}, "n", "extractor": {...}, "reference": {...}, "seed", "seconds"}; the
        memorisation entry also carries the closest (sample, training image) index pairs.
    """
    metrics = metrics or METRICS.names()
    like = reference.train.samples
    if images.dim() != like.dim() or images.dtype != like.dtype:
        raise GankitError(f"samples must be {reference.train.modality.stored}, like {reference.data.name}'s, got "
                          f"{tuple(images.shape)} {images.dtype}")
    if len(images) < 2:
        raise GankitError("scoring needs at least 2 samples")
    if not reference.train.modality.scored_by_features:
        return score_text(images, reference, seed)
    neighbours = [m for m in metrics if m in NEEDS_NEIGHBOURS]
    if neighbours and min(len(images), len(reference.heldout.images)) < MIN_FOR_NEIGHBOURS:
        raise GankitError(f"{' and '.join(neighbours)} compare each sample with its {K_DC} nearest neighbours and "
                          f"need at least {MIN_FOR_NEIGHBOURS} samples and held-out images (here {len(images)} and "
                          f"{len(reference.heldout.images)}); score more samples or leave them out with --metrics")
    ext = reference.extractor
    if ext.classes == () and any(m in NEEDS_CLASSES for m in metrics):
        metrics = [m for m in metrics if m not in NEEDS_CLASSES]
    if reference.pitch is None:
        metrics = [m for m in metrics if m not in NEEDS_PITCH]
    started = time.perf_counter()
    fake, fake_probs = features if features is not None else ext.extract(images, reference.device)
    needs_train = any(m in NEEDS_TRAIN for m in metrics)
    inputs = ScoringInput(fake=fake, real=reference.real, fake_probs=fake_probs, real_probs=reference.real_probs,
                          train=reference.train_features() if needs_train else None, seed=seed,
                          real_radii=reference.real_radii() if {"pr", "dc"} & set(metrics) else None,
                          real_to_train=reference.real_to_train() if needs_train else None, labels=labels)
    if any(m in NEEDS_PITCH for m in metrics):
        inputs.fake_pitch = pitch if pitch is not None else reference.pitch.probabilities(images)
        inputs.real_pitch = reference.real_pitch
        if asked_pitch is not None:
            inputs.asked_pitch = classes_of(reference.pitch, asked_pitch)
    values: dict = {}
    for name in phase(metrics, f"scoring {len(fake):,} samples", unit="metric"):  # KID's 100 subsets: seconds
        values |= METRICS.get(name)(inputs)
    return {
        "metrics": values,
        "n": len(fake),
        "extractor": {"name": ext.name, "digest": ext.digest, "description": ext.description},
        "reference": {"dataset": reference.data.name, "split": reference.heldout.split,
                      "n": len(reference.heldout.images)},
        "seed": seed,
        "seconds": round(time.perf_counter() - started, 3),
    }


def labels_like_data(train: Dataset, n: int, seed: int, device: torch.device | str) -> torch.Tensor:
    """n label rows (n, k) for a conditional G, drawn in the training data's joint proportions of its conditions."""
    rows = train.label_rows()
    if rows is None:
        raise GankitError(f"{train.name} has no labels for a conditional model")
    return conditions.draw(rows, n, torch.Generator().manual_seed(seed)).to(device)


def save_closest_pairs(result: dict, samples: torch.Tensor, reference: Reference, out: Path,
                       pairs: int = 8) -> Path | None:
    """The samples closest to a training image above those training images, each pair with its distance, beside
    how far new real images typically are from theirs (the scale the distances mean something on)."""
    closest = result["metrics"].get("closest_pairs")
    if not closest:
        return None
    train, modality = reference.training_images, reference.train.modality
    shown = closest[:pairs]
    bottom = modality.thumbnails(torch.stack([train[i] for _, i, _ in shown]))
    top = modality.thumbnails(torch.stack([samples[j] for j, _, _ in shown]))
    if top.shape != bottom.shape:  # images of another size, from --samples
        top = conform(top, bottom.shape[1], bottom.shape[2])
    top, bottom = ([p.permute(1, 2, 0).numpy() for p in pictures] for pictures in (top, bottom))
    typical = float(reference.real_to_train().median())
    noun = modality.noun
    title = (f"The {len(shown)} samples closest to a training {noun} ({reference.extractor.name} features); "
             f"a new real {noun} is typically {typical:.3g} from its nearest training {noun}")
    return save_pairs_figure(top, bottom, [f"distance {d:.3g}" for _, _, d in shown], ("sample", f"training {noun}"),
                             title, out)
