"""Sampling: an inference API separate from training, usable from a checkpoint alone.

Everything here runs without gradients and draws z from an explicit, seeded torch.Generator.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from gankit.checkpoint import FINAL, WEIGHTS, list_checkpoints, load_tensors, network_weights, read_meta
from gankit.config import Config, from_dict
from gankit.data.batches import to_uint8
from gankit.errors import GankitError
from gankit.models import build_models
from gankit.plots import picture_image


def latents(n: int, latent_dim: int, seed: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """n latent vectors z ~ N(0, I), the same for a seed on every device (drawn on the CPU)."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, latent_dim, generator=generator).to(device)


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation from a to b (D,) at fractions t (T,) -> (T, D): stays at the norm a Gaussian
    z typically has, where straight lines would pass through unlikely, too-short vectors."""
    cos = torch.dot(a / a.norm(), b / b.norm()).clamp(-1.0, 1.0)
    omega = torch.arccos(cos)
    if omega.abs() < 1e-6:  # (anti-)parallel: the straight line is as good
        return a + t[:, None] * (b - a)
    return (torch.sin((1 - t) * omega)[:, None] * a + torch.sin(t * omega)[:, None] * b) / torch.sin(omega)


def walk_latents(latent_dim: int, seeds: list[int], steps: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """A walk through the latent vectors of `seeds` in turn, `steps` frames per leg (the last seed's z last)."""
    points = [latents(1, latent_dim, seed)[0] for seed in seeds]
    fractions = torch.linspace(0, 1, steps + 1)[:-1]
    frames = [slerp(a, b, fractions) for a, b in zip(points, points[1:])] + [points[-1][None]]
    return torch.cat(frames).to(device)


def grid_labels(num_classes: int, per_class: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Labels for a class-by-row grid: each class fills one row of `per_class` images, classes in order."""
    return torch.arange(num_classes, device=device).repeat_interleave(per_class)


@torch.no_grad()
def generate(generator: nn.Module, z: torch.Tensor, labels: torch.Tensor | None = None,
             batch_size: int = 1000) -> torch.Tensor:
    """uint8 samples (N, C, H, W) for latents z (and class labels, for conditional G), in eval mode."""
    was_training = generator.training
    generator.eval()
    try:
        chunks = []
        for i, chunk in enumerate(z.split(batch_size)):
            y = labels[i * batch_size : i * batch_size + len(chunk)] if labels is not None else None
            chunks.append(to_uint8(generator(chunk, y)).cpu())
        return torch.cat(chunks)
    finally:
        generator.train(was_training)


def grid(images: torch.Tensor, nrow: int | None = None, padding: int = 2) -> np.ndarray:
    """Tile uint8 (N, C, H, W) images into one uint8 (rows*H, cols*W, C) picture, padded in black."""
    n, c, h, w = images.shape
    cols = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    canvas = torch.zeros(c, rows * (h + padding) + padding, cols * (w + padding) + padding, dtype=torch.uint8)
    for i in range(n):
        top, left = padding + (i // cols) * (h + padding), padding + (i % cols) * (w + padding)
        canvas[:, top : top + h, left : left + w] = images[i]
    return canvas.permute(1, 2, 0).numpy()


def save_png(picture: np.ndarray, path: str | Path) -> Path:
    """Write an (H, W, 1|3) uint8 array as PNG, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image = picture_image(picture)
    tmp = path.with_name(f".{path.name}.tmp")
    image.save(tmp, format="PNG")
    tmp.replace(path)
    return path


def find_checkpoint(run: Path, choice: str | None = None) -> Path:
    """`choice`: None (final if present, else the newest), a checkpoint name, or a step number."""
    folder = run / "checkpoints"
    available = list_checkpoints(folder)
    if not available:
        raise GankitError(f"{run} has no checkpoints yet; train it first (or resume it)")
    if choice is None:
        finals = [p for p in available if p.name == FINAL]
        return finals[0] if finals else available[-1]
    for path in available:
        if path.name == choice or (choice.isdigit() and path.name == f"step_{int(choice):08d}"):
            return path
    names = ", ".join(p.name for p in available)
    raise GankitError(f"checkpoint {choice!r} is not in {run}; available: {names}")


def load_generator(checkpoint: Path, device: torch.device | str = "cpu") -> tuple[nn.Module, Config, dict]:
    """Rebuild G from a checkpoint folder alone (config + safetensors, no pickles); the EMA copy of
    G when the run kept one.

    Returns:
        (G in eval mode on `device`, the run's config, the checkpoint's meta).
    """
    meta = read_meta(checkpoint)
    config = from_dict(meta["config"])
    shape, num_classes = meta.get("sample_shape"), meta.get("num_classes") or 0
    if not (isinstance(shape, list) and len(shape) == 3 and all(type(n) is int and 0 < n <= 4096 for n in shape)):
        raise GankitError(f"checkpoint {checkpoint}: meta.json has no valid sample_shape (C, H, W)")
    if not (type(num_classes) is int and 0 <= num_classes <= 100_000):
        raise GankitError(f"checkpoint {checkpoint}: meta.json has an invalid num_classes")
    try:
        g, _ = build_models(config, tuple(shape), num_classes)
    except (RuntimeError, ValueError) as exc:  # a shape the model cannot be built for
        raise GankitError(f"checkpoint {checkpoint}: cannot build {config.model.name} for sample shape {shape} "
                          f"({str(exc).splitlines()[0]})") from None
    tensors = load_tensors(checkpoint, WEIGHTS)
    state = network_weights(tensors, "G_ema") or network_weights(tensors, "G")
    try:
        g.load_state_dict(state)
    except RuntimeError as exc:
        raise GankitError(f"checkpoint {checkpoint}: weights do not fit the {config.model.name} model "
                          f"({str(exc).splitlines()[0]})") from None
    return g.to(device).eval(), config, meta


def class_index(meta: dict, label: str) -> int:
    """A class given by index or by name (for named datasets), checked against a checkpoint's meta."""
    from gankit.data.sources import NAMED_DATASETS

    num_classes = int(meta.get("num_classes") or 0)
    name = meta["config"]["data"]["name"]
    classes = list(NAMED_DATASETS[name].classes) if name in NAMED_DATASETS else []
    if label.isdigit() and int(label) < num_classes:
        return int(label)
    if label in classes:
        return classes.index(label)
    raise GankitError(f"--class {label!r} is not one of 0..{num_classes - 1}" + (f" or {', '.join(classes)}" if classes else ""))
