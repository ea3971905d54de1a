"""Feature extractors for the metrics, recorded by name and content hash in every result.

`classifier` (default for 28x28 grey datasets) is the dataset's own small CNN; `inception` is the
standard Inception-v3 pool3 (2048-d) used in papers, through torch-fidelity, whose weights must be
on disk (they cannot be fetched on an offline machine).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from gankit.cache import INCEPTION_URL, INCEPTION_WEIGHTS_ENV, cache_dir, inception_weights_path
from gankit.config import DataConfig
from gankit.data import Dataset, is_named
from gankit.data.download import locate
from gankit.data.kinds import sample_shape
from gankit.data.sources import NAMED_DATASETS
from gankit.errors import GankitError
from gankit.metrics.classifier import (
    SHIPPED,
    TrainedEvaluator,
    folded_for_inference,
    load_evaluator,
    train_evaluator,
    untrusted_reason,
)
from gankit.metrics.reference import held_out, images_digest
from gankit.modalities import modality_info
from gankit.modalities.image import conform, to_model_range
from gankit.progress import phase
from gankit.registry import Registry


@dataclass
class FeatureExtractor:
    name: str
    # content hash of the weights: results with different digests are never compared
    digest: str
    description: str
    # (C, H, W) the network takes; square images of another size are conformed to it first
    input_shape: tuple[int, int, int]
    # float (B, C, H, W) in -1..1 -> (features (B, D), class probabilities (B, K) or None)
    forward: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor | None]]
    classes: tuple[str, ...] = ()
    # stored samples -> the uint8 (B, C, H, W) pictures the network looks at (sound: its log-mel spectrogram)
    view: Callable[[torch.Tensor], torch.Tensor] = lambda samples: samples

    @property
    def id(self) -> str:
        return f"{self.name}:{self.digest}"

    @torch.no_grad()
    def extract(self, samples: torch.Tensor, device: torch.device, batch_size: int = 250):
        """Stored samples (uint8 images, float clips) -> features float32 (N, D) and probabilities (N, K) or None,
        on `device`, in chunks of `batch_size` (the same features, bit for bit, at any size). 250: the first `gankit
        eval` of a run, a fresh process, took 27.7 s instead of 46.8 s at 1,000 (with in-place ReLUs); in a warmed
        process 1,000 is faster (docs/benchmarks.md, "Feature extraction by chunk size"): not settled."""
        feats, probs = [], []
        c, h, w = self.input_shape
        for chunk in phase(samples.split(batch_size), f"extracting features of {len(samples):,} samples", unit="batch"):
            pictures = self.view(chunk.to(device))
            if tuple(pictures.shape[1:]) != self.input_shape:
                if h != w or pictures.shape[-1] != pictures.shape[-2]:
                    raise GankitError(f"the {self.name} extractor takes {self.input_shape} and these samples make "
                                      f"{tuple(pictures.shape[1:])}; score samples shaped as its training data")
                pictures = conform(pictures.cpu(), c, h).to(device)
            f, p = self.forward(to_model_range(pictures))
            feats.append(f.float())
            if p is not None:
                probs.append(p.float())
        return torch.cat(feats), (torch.cat(probs) if probs else None)


# classifiers trained on first use see images at most this large: on two CPU cores a 64 px one takes four
# times as long to train, and telling classes apart needs little detail
CLASSIFIER_SIDE = 32

EXTRACTORS: Registry[Callable[[DataConfig, Dataset, torch.device], FeatureExtractor]] = Registry("feature extractor")


@EXTRACTORS.register("classifier")
def classifier_extractor(data: DataConfig, train: Dataset, device: torch.device) -> FeatureExtractor:
    shipped = SHIPPED / f"{data.name}.safetensors"
    view = train.modality.classifier_view
    evaluator = load_evaluator(shipped) if is_named(data.name) and shipped.is_file() else None
    if evaluator is None or not fits(evaluator, train):
        path = cached_evaluator_path(data, train)
        if not path.is_file():
            if train.labels is None or data.clusters:  # clusters of its own pixels are no classes to score by
                clusters = " (its clusters steer training and are not classes to score by)" if data.clusters else ""
                raise GankitError(f"the classifier extractor needs class labels, and {data.name} has none{clusters}: "
                                  f"{train.modality.labelled_folder_hint}")
            train_classifier_for(data, train, path, device)
        evaluator = load_evaluator(path)
    problem = untrusted_reason(evaluator.info)
    if problem:
        raise GankitError(f"the classifier extractor for {data.name} cannot tell its classes apart on new samples: "
                          f"{problem}, so scores from its features would mean nothing; add samples to each class "
                          "folder, check that each subfolder is one class"
                          + (f", or use --extractor {pretrained} with its weights"
                             if (pretrained := train.modality.pretrained_extractor) else ""))
    net = folded_for_inference(evaluator.net.to(device))

    def forward(x: torch.Tensor):
        features, logits = net(x.contiguous(memory_format=torch.channels_last))
        return features, evaluator.probabilities(logits)

    info, (_, height, width) = evaluator.info, evaluator.input_shape
    chance = info.get("chance", 1 / len(evaluator.classes))
    seen = train.modality.classifier_input(height, width)
    learnt = (f"classifier of {len(info['classes'])} finer classes (held-out accuracy {info.get('fine_accuracy', 0):.3f}, "
              f"chance {info.get('fine_chance', 0):.2f}) summed into its {len(evaluator.classes)} classes,"
              if evaluator.pooling is not None else f"{len(evaluator.classes)}-class classifier")
    return FeatureExtractor(name="classifier", digest=evaluator.digest, forward=forward, view=view,
                            description=f"features of a {learnt} trained on "
                                        f"{info.get('dataset')} at {seen} (held-out accuracy "
                                        f"{info.get('test_accuracy', 0):.3f} on {info.get('test_images')} samples, "
                                        f"chance {chance:.2f})",
                            input_shape=evaluator.input_shape, classes=evaluator.classes)


def fits(evaluator: TrainedEvaluator, train: Dataset) -> bool:
    """Whether the classifier was trained on samples like these: the same kind, decoded alike (a classifier for
    sound hears one sample rate and one clip length), and pictures of its shape (square images of another size
    are resized, and turned grey or RGB)."""
    if evaluator.info.get("modality", {"name": "image"}) != modality_info(train.modality):
        return False
    c, h, w = evaluator.input_shape
    picture = train.modality.classifier_view(train.samples[:1])
    return (h == w and picture.shape[-1] == picture.shape[-2]) or tuple(picture.shape[1:]) == (c, h, w)


def cached_evaluator_path(data: DataConfig, train: Dataset) -> Path:
    """Where a classifier trained on first use is kept: keyed by the data's content, not just its name (v2: since
    small sets got enough steps, so none trained before then is reused)."""
    key = f"{Path(data.name).name}-{train.samples.shape[1]}x{train.samples.shape[2]}-{images_digest(train.samples)}"
    return cache_dir() / "evaluators" / f"{key}-v2.safetensors"


def train_classifier_for(data: DataConfig, train: Dataset, path: Path, device: torch.device, epochs: int = 4) -> None:
    """Train on the training images (less the held-out ones when carved from them), at most CLASSIFIER_SIDE px."""
    test = held_out(data, train)
    if test.labels is None:
        raise GankitError(f"{data.name}: the held-out images have no labels to test the classifier on")
    fit_x, fit_y = train.samples, train.labels
    if test.from_training_set:
        fit_x, fit_y = train.samples[test.rest], train.labels[test.rest]
    fit_x, test_x = (classifier_pictures(train.modality.classifier_view, x) for x in (fit_x, test.images))
    classes, test_y, coarse = train.classes, test.labels, None
    finer = NAMED_DATASETS[data.name].subclasses if is_named(data.name) else None
    if finer is not None and not test.from_training_set:
        fit_y, test_y, classes, coarse_of = finer_labels(data, finer, fit_y, test_y)
        coarse = (train.classes, coarse_of)
    train_evaluator(fit_x, fit_y, test_x, test_y, classes, path, device=device, dataset=data.name,
                    epochs=epochs, command=f"gankit evaluator train --data {data.name} --epochs {epochs}",
                    modality=modality_info(train.modality), coarse=coarse)


def finer_labels(data: DataConfig, finer: Callable[[dict[str, Path], str], list[str]], train_y: torch.Tensor,
                 test_y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, tuple[str, ...], list[int]]:
    """A named dataset's finer classes for its training and test splits: (training labels, test labels, the finer
    classes ordered by their coarse class then name, the coarse class of each)."""
    names = {split: finer(locate(NAMED_DATASETS[data.name], split, data.data_dir, data.download_url), split)
             for split in ("train", NAMED_DATASETS[data.name].test_split)}
    train_names, test_names = names.values()
    if (len(train_names), len(test_names)) != (len(train_y), len(test_y)):
        raise GankitError(f"{data.name}'s files changed while it was read (finer classes for {len(train_names)} and "
                          f"{len(test_names)} samples, labels for {len(train_y)} and {len(test_y)}); run it again")
    coarse_of_name = dict(zip(train_names, train_y.tolist())) | dict(zip(test_names, test_y.tolist()))
    classes = tuple(sorted(coarse_of_name, key=lambda name: (coarse_of_name[name], name)))
    index = {name: i for i, name in enumerate(classes)}
    as_labels = lambda found: torch.tensor([index[n] for n in found], dtype=torch.int64)
    return as_labels(train_names), as_labels(test_names), classes, [coarse_of_name[c] for c in classes]


def classifier_pictures(view: Callable[[torch.Tensor], torch.Tensor], samples: torch.Tensor) -> torch.Tensor:
    """What a classifier trained on first use sees: the modality's pictures, square ones at most CLASSIFIER_SIDE."""
    pictures = torch.cat([view(chunk) for chunk in samples.split(1000)])
    c, h, w = pictures.shape[1:]
    return conform(pictures, c, CLASSIFIER_SIDE) if h == w and h > CLASSIFIER_SIDE else pictures


@EXTRACTORS.register("inception")
def inception_extractor(data: DataConfig, train: Dataset, device: torch.device) -> FeatureExtractor:
    weights = inception_weights_path()
    if not weights.is_file():
        raise GankitError(f"Inception-v3 FID weights not found at {weights}; download {INCEPTION_URL} "
                          f"and put the file there (or set {INCEPTION_WEIGHTS_ENV} to its path), "
                          "or use --extractor classifier")
    try:  # an optional extra: gankit[inception]
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
    except ImportError:
        raise GankitError("the inception extractor needs torch-fidelity: pip install 'gankit[inception]'") from None
    net = FeatureExtractorInceptionV3(name="inception-v3-compat", features_list=["2048", "logits_unbiased"],
                                      feature_extractor_weights_path=str(weights)).to(device).eval()

    def forward(x: torch.Tensor):
        # torch-fidelity takes uint8-valued RGB images and resizes to 299 itself
        images = ((x + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
        features, logits = net(images)
        return features, logits.softmax(dim=1)

    digest = hashlib.sha256(weights.read_bytes()).hexdigest()[:16]
    size = sample_shape(data)[-1]
    return FeatureExtractor(name="inception", digest=digest, forward=forward, input_shape=(3, size, size),
                            description="Inception-v3 pool3 features (torch-fidelity, FID weights): the papers' FID, "
                                        "from ImageNet photos, so it sees less in images unlike them")


def get_extractor(name: str, data: DataConfig, train: Dataset, device: torch.device) -> FeatureExtractor:
    if name == "auto":
        name = train.modality.default_extractor(train.sample_shape)
    return EXTRACTORS.get(name)(data, train, device)
