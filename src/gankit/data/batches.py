"""Batches cut from a device-resident uint8 tensor: no DataLoader, no per-sample Python work."""

from __future__ import annotations

import torch


def to_model_range(images_u8: torch.Tensor) -> torch.Tensor:
    """uint8 0..255 -> float -1..1, the range of G's Tanh output (the tutorial's Normalize(0.5, 0.5))."""
    return images_u8.float().div_(127.5).sub_(1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """float -1..1 -> uint8 0..255 (inverse of to_model_range, clamped)."""
    return images.add(1.0).mul_(127.5).round_().clamp_(0, 255).to(torch.uint8)


class DeviceBatches:
    """Shuffled batches of one epoch at a time, from data that already lives on the device.

    Each epoch's order comes from (seed, epoch) alone, so a resumed run needs only the epoch and
    the batch index to continue with exactly the batches it would have seen.
    """

    def __init__(self, images_u8: torch.Tensor, batch_size: int, seed: int, labels: torch.Tensor | None = None):
        if images_u8.shape[0] < batch_size:
            raise ValueError(f"{images_u8.shape[0]} images are fewer than one batch of {batch_size}")
        self.images = images_u8
        self.labels = labels
        self.batch_size = batch_size
        self.seed = seed
        # the last partial batch is dropped, as a GAN step wants equal real and fake counts
        self.steps_per_epoch = images_u8.shape[0] // batch_size

    def epoch_order(self, epoch: int) -> torch.Tensor:
        generator = torch.Generator(device=self.images.device)
        generator.manual_seed(self.seed * 1_000_003 + epoch)
        return torch.randperm(self.images.shape[0], generator=generator, device=self.images.device)

    def epoch(self, epoch: int, start: int = 0):
        """Yield (index, batch, labels) for batches start.. of `epoch`.

        batch is float (B, C, H, W) in -1..1; labels int64 (B,), or None for unlabelled data.
        """
        order = self.epoch_order(epoch)
        for index in range(start, self.steps_per_epoch):
            take = order[index * self.batch_size : (index + 1) * self.batch_size]
            labels = self.labels[take] if self.labels is not None else None
            yield index, to_model_range(self.images[take]), labels
