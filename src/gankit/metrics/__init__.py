"""Metrics: a registry of scoring functions over features of generated and real images.

Each entry takes a `ScoringInput` and returns a dict of named values. `gankit eval` and training
with --eval-every call `evaluate.score`, which extracts features once and runs the selected entries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from gankit.metrics.classes import class_coverage, inception_score
from gankit.metrics.fid import frechet_distance, kernel_distance
from gankit.metrics.memorisation import memorisation
from gankit.metrics.pitch import pitch_scores
from gankit.metrics.prdc import manifold_scores
from gankit.registry import Registry


@dataclass
class ScoringInput:
    fake: torch.Tensor  # (N, D) features of generated images
    real: torch.Tensor  # (M, D) features of held-out real images
    fake_probs: torch.Tensor | None  # (N, K) class probabilities, when the extractor has classes
    real_probs: torch.Tensor | None
    train: torch.Tensor | None  # (T, D) features of the training images (memorisation only)
    seed: int = 0
    # what depends on real images only, when the reference has it cached: {k: (M,) k-NN radii} and
    # (M,) distances from each held-out real image to its nearest training image
    real_radii: dict[int, torch.Tensor] | None = None
    real_to_train: torch.Tensor | None = None
    # the class each sample was generated for (a conditional model's), when known
    labels: torch.Tensor | None = None
    # musical notes: pitch classifier probabilities (N, pitches + 1) and (M, pitches + 1), the last "none"
    fake_pitch: torch.Tensor | None = None
    real_pitch: torch.Tensor | None = None
    # the pitch classifier's class each sample was generated for (a model conditioned on pitch), -1 for a pitch it
    # does not know
    asked_pitch: torch.Tensor | None = None
    # precision/recall/density/coverage come from one shared pass over the distances
    _manifold: dict | None = field(default=None, repr=False)

    def manifold(self) -> dict[str, float]:
        if self._manifold is None:

            self._manifold = manifold_scores(self.real, self.fake, self.real_radii)
        return self._manifold


METRICS: Registry[Callable[[ScoringInput], dict]] = Registry("metric")
# which way each score is better, as every table of scores says it
BETTER = {"fid": "lower", "kid": "lower", "is": "higher", "precision": "higher", "recall": "higher",
          "density": "near 1", "coverage": "higher", "class_coverage": "higher", "memorisation_rate": "lower",
          "nn_distance_ratio": "near 1 or above", "asked_class": "higher", "clear_pitch": "higher",
          "pitch_distance": "lower", "pitch_accuracy": "higher", "pitch_within_semitone": "higher",
          # text (gankit.metrics.text)
          "unique": "higher", "empty": "lower", "novelty": "higher", "validity": "higher",
          **{f"js_{n}": "lower" for n in range(1, 5)}, **{f"distinct_{n}": "near real" for n in range(1, 5)}}
# said wherever scores are shown: FID 5 with one extractor or dataset says nothing about FID 5 with another
COMPARABLE_ONLY = ("scores compare only with scores from the same extractor on the same held-out samples: their "
                   "scale differs from one dataset or extractor to another")
# metrics that need the training set's features (more work: only computed when asked for)
NEEDS_TRAIN = {"memorisation"}
NEEDS_CLASSES = {"is", "class_coverage", "asked_class"}
# metrics for musical notes only (a dataset with pitches)
NEEDS_PITCH = {"pitch"}


@METRICS.register("fid")
def _fid(s: ScoringInput) -> dict:
    return {"fid": frechet_distance(s.real, s.fake)}


@METRICS.register("kid")
def _kid(s: ScoringInput) -> dict:
    mean, std = kernel_distance(s.real, s.fake, seed=s.seed)
    return {"kid": mean, "kid_std": std}


@METRICS.register("is")
def _is(s: ScoringInput) -> dict:
    mean, std = inception_score(s.fake_probs)
    return {"is": mean, "is_std": std}


@METRICS.register("pr")
def _pr(s: ScoringInput) -> dict:
    return {k: s.manifold()[k] for k in ("precision", "recall")}


@METRICS.register("dc")
def _dc(s: ScoringInput) -> dict:
    return {k: s.manifold()[k] for k in ("density", "coverage")}


@METRICS.register("class_coverage")
def _class_coverage(s: ScoringInput) -> dict:
    coverage, shares = class_coverage(s.fake_probs, s.real_probs)
    return {"class_coverage": coverage, "class_shares": shares}


@METRICS.register("asked_class")
def _asked_class(s: ScoringInput) -> dict:
    """Share of a conditional model's samples the classifier puts in the class they were generated for."""
    if s.labels is None:
        return {}
    return {"asked_class": float((s.fake_probs.argmax(1).cpu() == s.labels.cpu()).double().mean())}


@METRICS.register("pitch")
def _pitch(s: ScoringInput) -> dict:
    return pitch_scores(s.fake_pitch, s.real_pitch, s.asked_pitch)


@METRICS.register("memorisation")
def _memorisation(s: ScoringInput) -> dict:
    m = memorisation(s.fake, s.real, s.train, real_d=s.real_to_train)
    return {"memorisation_rate": m.rate, "nn_distance_ratio": m.distance_ratio, "closest_pairs": m.closest}
