"""Scores for generated text, against the held-out items: character n-gram statistics and what is new.

  js_n          Jensen-Shannon divergence (bits, 0..1) of the samples' character n-gram distribution from the
                held-out items', n = 1..4; each item is read with a start and an end mark, so where words
                begin and end counts. js_n_floor is the same for as many real training items: what a
                generator of real items would score at this sample size (JS of finite samples is never 0).
  distinct_n    distinct n-grams over all n-grams in the samples (Li et al. 2016); distinct_n_real for as
                many training items: far below it is repetition, far above it noise.
  unique        share of samples that are distinct
  empty         share of samples that are empty (G ended them at their first character)
  novelty       share of the distinct samples of MIN_LENGTH characters or more that are not training items
  validity      share of those new samples that are real held-out items (for `words`: new real words)
  memorisation_rate  share of the samples of MIN_LENGTH characters or more that are exact copies of a training item

Novelty, validity and memorisation leave out samples shorter than MIN_LENGTH: a barely trained G writes many
empty or one-letter samples, and one letter is a dictionary word by chance, not by memory.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass

import torch

from gankit.config import DataConfig
from gankit.data import Dataset
from gankit.metrics.reference import HeldOut
from gankit.modalities.text import TextModality

MAX_N = 4
# characters a sample needs before novelty, validity and memorisation count it
MIN_LENGTH = 3
START, END = "\x02", "\x03"


@dataclass(frozen=True)
class NgramStatistics:
    """What text is compared by, with the same provenance fields as a feature extractor's."""

    name: str = "ngram"
    # changes whenever what the scores mean changes
    digest: str = f"chars-1to{MAX_N}-marked-v1"
    description: str = (f"character n-gram statistics, n = 1..{MAX_N}, each item with a start and an end mark")
    classes: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.name}:{self.digest}"


@dataclass
class TextReference:
    """The held-out items scored against, the training items new ones are told from, as strings."""

    data: DataConfig
    train: Dataset
    heldout: HeldOut
    extractor: NgramStatistics
    device: torch.device
    heldout_items: list[str]
    training_items: list[str]

    def __post_init__(self):
        self.heldout_counts = [ngrams(self.heldout_items, n) for n in range(1, MAX_N + 1)]
        self.heldout_set, self.training_set = set(self.heldout_items), set(self.training_items)
        self.scored_real: dict[tuple[int, int], tuple[list[str], dict]] = {}


def prepare_text_reference(data: DataConfig, train: Dataset, heldout: HeldOut, device: torch.device) -> TextReference:
    modality: TextModality = train.modality
    training = train.samples[heldout.rest] if heldout.from_training_set else train.samples
    return TextReference(data, train, heldout, NgramStatistics(), device, modality.lines(heldout.images),
                         modality.lines(training))


def ngrams(items: list[str], n: int) -> Counter:
    """Counts of the character n-grams of items read as START + item + END."""
    counts: Counter = Counter()
    for item in items:
        marked = START + item + END
        counts.update(marked[i : i + n] for i in range(len(marked) - n + 1))
    return counts


def js_divergence(p: Counter, q: Counter) -> float:
    """Jensen-Shannon divergence of two count tables as distributions, in bits: 0 for equal ones, 1 for
    distributions with no outcome in common."""
    total_p, total_q = sum(p.values()), sum(q.values())
    if total_p == 0 or total_q == 0:
        return 1.0 if total_p != total_q else 0.0
    js = 0.0
    for key in p.keys() | q.keys():
        a, b = p.get(key, 0) / total_p, q.get(key, 0) / total_q
        m = (a + b) / 2
        js += (a * math.log2(a / m) if a else 0.0) + (b * math.log2(b / m) if b else 0.0)
    return min(1.0, max(0.0, js / 2))  # rounding can step just past either bound (1.0000000000000002)


def distinct(items: list[str], n: int) -> float:
    """Distinct n-grams over all n-grams of the items (no marks: what the items themselves repeat)."""
    grams = [item[i : i + n] for item in items for i in range(len(item) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def real_items(reference: TextReference, n: int, seed: int) -> list[str]:
    """n training items (all of them when there are fewer), in a seeded order: what a G of real items writes."""
    pick = torch.randperm(len(reference.training_items), generator=torch.Generator().manual_seed(seed))[:n]
    return [reference.training_items[i] for i in pick.tolist()]


def real_scores(reference: TextReference, n: int, seed: int) -> tuple[list[str], dict]:
    """real_items and their scores, kept on the reference: the floors and the real-data yardstick are the same
    items, scored once."""
    if (n, seed) not in reference.scored_real:
        items = real_items(reference, n, seed)
        reference.scored_real[n, seed] = items, score_items(items, reference)
    return reference.scored_real[n, seed]


def score_text(samples: torch.Tensor, reference: TextReference, seed: int = 0) -> dict:
    """Score stored text samples (int64 ids (N, L)) in the reference's vocabulary; the result has gankit eval's
    fields (metrics, n, extractor, reference, seed, seconds)."""
    started = time.perf_counter()
    items = reference.train.modality.lines(samples)
    _, real = real_scores(reference, len(items), seed)
    values = score_items(items, reference)
    for n in range(1, MAX_N + 1):
        values[f"js_{n}_floor"] = real[f"js_{n}"]
        values[f"distinct_{n}_real"] = real[f"distinct_{n}"]
    ext = reference.extractor
    return {
        "metrics": values,
        "n": len(items),
        "extractor": {"name": ext.name, "digest": ext.digest, "description": ext.description},
        "reference": {"dataset": reference.data.name, "split": reference.heldout.split,
                      "n": len(reference.heldout_items)},
        "seed": seed,
        "seconds": round(time.perf_counter() - started, 3),
    }


def score_items(items: list[str], reference: TextReference) -> dict:
    """The text scores of items (strings) against the reference's held-out and training items."""
    values: dict = {}
    for n in range(1, MAX_N + 1):
        values[f"js_{n}"] = js_divergence(ngrams(items, n), reference.heldout_counts[n - 1])
    for n in range(1, MAX_N + 1):
        values[f"distinct_{n}"] = distinct(items, n)
    values["unique"] = len(set(items)) / len(items)
    values["empty"] = sum(not item for item in items) / len(items)
    long = [item for item in items if len(item) >= MIN_LENGTH]
    kinds = set(long)
    new = kinds - reference.training_set
    values["novelty"] = len(new) / len(kinds) if kinds else None
    values["validity"] = len(new & reference.heldout_set) / len(new) if new else None
    values["memorisation_rate"] = sum(item in reference.training_set for item in long) / len(long) if long else None
    return values
