"""The `classifier` feature extractor: a small CNN trained on the dataset itself.

For 28x28 grey data, papers score GANs with a LeNet-style classifier's penultimate features instead
of Inception-v3 (an ImageNet network sees little in 28 px clothes). Its 128 features (after global
average pooling) feed FID, KID, precision/recall, density/coverage and the memorisation check; its
class probabilities feed IS and class coverage.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch.nn.utils.fusion import fuse_conv_bn_eval
from tqdm import tqdm

from gankit.atomic import atomic_path, write_atomically
from gankit.errors import GankitError, one_line
from gankit.modalities.image import to_model_range

FEATURES = 128
SHIPPED = Path(__file__).parent / "evaluators"
# a small training set still gets this many optimizer steps: after a dozen steps (4 epochs of 450 images)
# BatchNorm's running statistics are still mostly their initial values and held-out accuracy is below chance
MIN_STEPS = 200
# the 99% Wilson bound: accuracy on a few held-out images says little, and this says how little
CONFIDENCE_Z = 2.576


class EvaluatorNet(nn.Module):
    """conv 32-32 / pool / conv 64-64 / pool / conv 128, BatchNorm + ReLU, global average pool."""

    def __init__(self, in_channels: int, num_classes: int):
        super().__init__()

        def block(c_in: int, c_out: int) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]

        self.body = nn.Sequential(*block(in_channels, 32), *block(32, 32), nn.MaxPool2d(2),
                                  *block(32, 64), *block(64, 64), nn.MaxPool2d(2), *block(64, FEATURES))
        self.head = nn.Linear(FEATURES, num_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, C, H, W) in -1..1 -> features (B, 128) and class logits (B, K)."""
        features = self.body(x).mean(dim=(2, 3))
        return features, self.head(features)


def folded_for_inference(net: EvaluatorNet) -> EvaluatorNet:
    """The same function in eval mode with each BatchNorm folded into the conv before it, and channels-last
    weights, ReLUs in place: fewer passes over memory and the layout oneDNN's CPU convolutions run fastest in."""
    folded = copy.deepcopy(net).eval()
    body: list[nn.Module] = []
    for layer in folded.body:
        if isinstance(layer, nn.BatchNorm2d) and body and isinstance(body[-1], nn.Conv2d):
            body[-1] = fuse_conv_bn_eval(body[-1], layer)
        elif isinstance(layer, nn.ReLU):
            body.append(nn.ReLU(inplace=True))  # no gradients here: the conv's output is not needed again
        else:
            body.append(layer)
    folded.body = nn.Sequential(*body)
    return folded.to(memory_format=torch.channels_last)


@dataclass
class TrainedEvaluator:
    net: EvaluatorNet
    # (C, H, W) the network was trained on; inputs are conformed to it
    input_shape: tuple[int, int, int]
    # the classes it scores by (the dataset's; a net trained on finer classes sums theirs into these)
    classes: tuple[str, ...]
    info: dict
    digest: str
    # float (fine classes, classes) of 0 and 1, when the net learnt finer classes than `classes`
    pooling: torch.Tensor | None = None

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """(B, classes the net learnt) logits -> (B, len(classes)) probabilities."""
        probs = logits.softmax(dim=1)
        return probs if self.pooling is None else probs @ self.pooling.to(probs.device, probs.dtype)


def pooling_matrix(coarse_of: list[int], coarse: int) -> torch.Tensor:
    """(fine, coarse) 0/1: row i marks fine class i's coarse class."""
    return F.one_hot(torch.tensor(coarse_of, dtype=torch.int64), coarse).float()


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def load_evaluator(weights: Path) -> TrainedEvaluator:
    info_path = weights.with_suffix(".json")
    try:
        info = json.loads(info_path.read_text())
        tensors = load_file(str(weights))
        net = EvaluatorNet(info["input_shape"][0], len(info["classes"]))
        net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in tensors.items()})
        classes, pooling = tuple(info["classes"]), None
        if "coarse_classes" in info:  # learnt finer classes: scores by the coarse ones
            classes = tuple(info["coarse_classes"])
            pooling = pooling_matrix(info["coarse_of"], len(classes))
    except (OSError, ValueError, KeyError, RuntimeError, TypeError) as exc:
        raise GankitError(f"evaluator {weights} is unreadable ({one_line(exc)}); "
                          "delete it to have it trained again") from None
    return TrainedEvaluator(net.eval(), tuple(info["input_shape"]), classes, info, file_digest(weights), pooling)


def train_evaluator(train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor, test_y: torch.Tensor,
                    classes: tuple[str, ...], out: Path, *, epochs: int = 4, batch_size: int = 128, seed: int = 0,
                    device: torch.device | str = "cpu", command: str = "", dataset: str = "",
                    progress: bool = True, min_steps: int = MIN_STEPS, modality: dict | None = None,
                    coarse: tuple[tuple[str, ...], list[int]] | None = None) -> TrainedEvaluator:
    """Train the classifier on uint8 images and save it as safetensors (fp16) plus a JSON of its accuracy.

    A small training set gets smaller batches (8 a pass, of at least 16 images) and as many epochs as
    `min_steps` steps take.

    Args:
        train_x, test_x: uint8 (N, C, H, W) pictures; train_y, test_y: int64 (N,).
        out: the .safetensors path to write (the .json goes beside it).
        modality: what the pictures show, as meta.json records it ({"name": "audio", "sample_rate": ...}):
            the classifier is used only for samples decoded alike.
        coarse: when `classes` are finer than the dataset's, (the dataset's classes, the index among them of
            each of `classes`): its accuracy and chance, and the probabilities it scores with, are the coarse ones.
    Returns:
        The trained evaluator, loaded back from what was written.
    """
    device = torch.device(device)
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = EvaluatorNet(train_x.shape[1], len(classes)).to(device)
    batch_size = max(1, min(batch_size, max(16, len(train_x) // 8), len(train_x)))
    steps_per_epoch = len(train_x) // batch_size
    epochs = max(epochs, math.ceil(min_steps / steps_per_epoch))
    started = time.perf_counter()
    _fit(net, train_x.to(device), train_y.to(device), epochs, batch_size, generator, progress)
    accuracy = evaluate_accuracy(net, test_x, test_y, device)
    out.parent.mkdir(parents=True, exist_ok=True)
    finer = {}
    if coarse is not None:
        coarse_classes, coarse_of = coarse
        pooling = pooling_matrix(coarse_of, len(coarse_classes))
        coarse_y = torch.tensor(coarse_of)[test_y]
        finer = {"coarse_classes": list(coarse_classes), "coarse_of": list(coarse_of),
                 "fine_accuracy": round(accuracy, 5), "fine_chance": round(majority_share(test_y), 5)}
        accuracy, test_y = evaluate_accuracy(net, test_x, coarse_y, device, pooling), coarse_y
    info = {"dataset": dataset, "classes": list(classes), **finer, "input_shape": list(train_x.shape[1:]),
            "test_accuracy": round(accuracy, 5), "test_images": len(test_x), "train_images": len(train_x),
            "chance": round(majority_share(test_y), 5), "epochs": epochs, "batch_size": batch_size, "seed": seed,
            "train_seconds": round(time.perf_counter() - started, 1), "command": command, "torch": torch.__version__,
            "modality": modality or {"name": "image"}}
    # fp16 storage halves the file (the shipped one stays well under 2 MB); inference runs in fp32
    with atomic_path(out) as tmp:
        save_file({k: (v.half() if v.is_floating_point() else v).cpu().contiguous()
                   for k, v in net.state_dict().items()}, str(tmp))
        write_atomically(out.with_suffix(".json"), json.dumps(info, indent=1) + "\n")
    return load_evaluator(out)


def _fit(net: EvaluatorNet, x_all: torch.Tensor, y_all: torch.Tensor, epochs: int, batch_size: int,
         generator: torch.Generator, progress: bool) -> None:
    """AdamW on shifted batches with a one-cycle schedule, for `epochs` passes; leaves `net` in eval mode."""
    steps_per_epoch = len(x_all) // batch_size
    optimizer = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=2e-3, total_steps=epochs * steps_per_epoch)
    bar = tqdm(total=epochs * steps_per_epoch, desc="training evaluator", disable=not progress, unit="step")
    net.train()
    for _ in range(epochs):
        order = torch.randperm(len(x_all), generator=generator).to(x_all.device)
        for i in range(steps_per_epoch):
            take = order[i * batch_size : (i + 1) * batch_size]
            x = _shift(to_model_range(x_all[take]), generator)
            loss = F.cross_entropy(net(x)[1], y_all[take])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            bar.update(1)
    bar.close()
    net.eval()


def _shift(x: torch.Tensor, generator: torch.Generator, pixels: int = 2) -> torch.Tensor:
    """Random translation by up to `pixels` (one shift per batch; padding with the background value -1)."""
    dx, dy = (torch.randint(-pixels, pixels + 1, (2,), generator=generator)).tolist()
    padded = F.pad(x, (pixels, pixels, pixels, pixels), value=-1.0)
    h, w = x.shape[-2:]
    return padded[..., pixels + dy : pixels + dy + h, pixels + dx : pixels + dx + w]


@torch.no_grad()
def evaluate_accuracy(net: EvaluatorNet, x: torch.Tensor, y: torch.Tensor, device: torch.device | str,
                      pooling: torch.Tensor | None = None) -> float:
    """Share of `x` put in its class `y`; with `pooling`, in its coarse class (fine probabilities summed)."""
    correct = 0
    for xs, ys in zip(x.split(2000), y.split(2000)):
        logits = net(to_model_range(xs.to(device)))[1]
        scores = logits if pooling is None else logits.softmax(1) @ pooling.to(logits.device)
        correct += (scores.argmax(1).cpu() == ys).sum().item()
    return correct / len(x)


def majority_share(labels: torch.Tensor) -> float:
    """What always naming the most common class scores: the chance level accuracy must clearly beat."""
    return torch.bincount(labels).max().item() / len(labels)


def lowest_plausible_accuracy(correct: int, n: int) -> float:
    """Lower end of the 99% Wilson interval of an accuracy of correct/n."""
    if n == 0:
        return 0.0
    p, z2 = correct / n, CONFIDENCE_Z**2
    centre = p + z2 / (2 * n)
    spread = CONFIDENCE_Z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return (centre - spread) / (1 + z2 / n)


def required_accuracy(chance: float) -> float:
    """The accuracy the Wilson bound must clear: a third of the way from chance to perfect."""
    return chance + (1 - chance) / 3


def untrusted_reason(info: dict) -> str | None:
    """Why this classifier's features must not be scored with (None: they may).

    Features of a network that cannot tell the classes apart on new images do not describe the images:
    FID on them came out at 0.35 for ten steps of grey squares, beside 37 for Fashion-MNIST.
    """
    n, accuracy = int(info.get("test_images", 0)), float(info.get("test_accuracy", 0.0))
    chance = float(info.get("chance", 1 / max(1, len(info.get("classes", ())))))
    need = required_accuracy(chance)
    correct = round(accuracy * n)
    if lowest_plausible_accuracy(correct, n) > need:
        return None
    enough = next((k for k in range(n + 1) if lowest_plausible_accuracy(k, n) > need), None)
    needed = (f"{enough} of {n} would be needed" if enough is not None
              else f"{n} held-out samples are too few to show any accuracy")
    return f"{correct} of {n} held-out samples right, accuracy {accuracy:.2f} against chance {chance:.2f} ({needed})"
