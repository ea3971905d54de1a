"""Yardsticks: samples whose quality is known, scored as a run's samples are, so that a score has a scale where it
is read. FID 0.8 on spoken digits means little alone; beside real training clips at 0.27 and silence at 46 it reads.

  real data             training samples: what a G that wrote real data would score at this N against these held-out samples (for
                        text these are the floors, js_n_floor and distinct_n_real)
  noise                 (images) uniformly random pixels: a G that learnt nothing
  silence, white noise  (sound) a G that learnt nothing: a score near theirs is no sound worth hearing
  random characters     (text) items of real lengths whose characters are drawn in the training text's proportions:
                        the statistics of single characters without words
"""

from __future__ import annotations

from collections import Counter

import torch

from gankit.metrics import NEEDS_TRAIN
from gankit.metrics.evaluate import score
from gankit.metrics.reference import cached_features
from gankit.metrics.text import TextReference, real_scores, score_items
from gankit.progress import phase

# how the table of scores says what each column is
MEANING = {"real data": "training samples, as good as it gets", "noise": "random pixels, as bad as it gets",
           "silence": "as bad as nothing",
           "white noise": "as bad as noise", "random characters": "characters in the right proportions, no words"}


def yardsticks(reference, metrics: list[str], n: int, seed: int = 0) -> dict[str, dict]:
    """{name: {"n", "metrics"}} for references whose kind of data has made-up baselines (scored with `metrics`, less
    those that look for copies of training samples: real training samples are copies by definition), else {}."""
    if not reference.train.modality.scored_by_features:  # text: real items, and characters in their proportions
        real, scores = real_scores(reference, n, seed)
        return {"real data": {"n": len(real), "metrics": dict(scores)},
                "random characters": {"n": len(real), "metrics": score_items(random_characters(real, reference, seed),
                                                                             reference)}}
    training, labels = reference.training_images, reference.training_labels
    count = min(n, len(training))
    generator = torch.Generator().manual_seed(seed)
    picked = torch.randperm(len(training), generator=generator)[:count]
    made_up = reference.train.modality.baselines(training, count, generator)
    if not made_up:
        return {}
    clips = {"real data": training[picked], **made_up}
    # what a conditional model's samples are asked to be: the real clips' own classes, and for the others classes
    # in the data's proportions (which they match by chance)
    rows = {"real data": picked, **{name: torch.randint(len(training), (count,), generator=generator)
                                    for name in made_up}}
    pitches = reference.training_pitches
    asked = {name: labels[which] if labels is not None else None for name, which in rows.items()}
    asked_pitch = {name: pitches[which] if pitches is not None else None for name, which in rows.items()}
    metrics = [m for m in metrics if m not in NEEDS_TRAIN]
    if not metrics:
        return {}
    return {name: {"n": count, "metrics": score(samples, reference, metrics, seed, labels=asked[name],
                                                asked_pitch=asked_pitch[name],
                                                features=cached_features(reference.extractor, reference.data.name,
                                                                         name.replace(" ", "-"), samples,
                                                                         reference.device))["metrics"]}
            for name, samples in phase(clips.items(), "scoring the yardsticks", len(clips), "set")}


def random_characters(real: list[str], reference: TextReference, seed: int) -> list[str]:
    """For each real item, as many characters drawn at random in the training items' character proportions."""
    counts = Counter(ch for item in reference.training_items for ch in item)
    characters = list(counts)
    weights = torch.tensor([counts[ch] for ch in characters], dtype=torch.float64)
    generator = torch.Generator().manual_seed(seed)
    draws = torch.multinomial(weights, max(1, sum(len(item) for item in real)), replacement=True,
                              generator=generator).tolist()
    items, at = [], 0
    for item in real:
        items.append("".join(characters[i] for i in draws[at : at + len(item)]))
        at += len(item)
    return items
