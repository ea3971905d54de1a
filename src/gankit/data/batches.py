"""Batches cut from a device-resident tensor of stored samples: no DataLoader, no per-sample Python work."""

from __future__ import annotations

from collections.abc import Callable

import torch

from gankit.seeds import epoch_order_seed


class DeviceBatches:
    """Shuffled batches of one epoch at a time, from data that already lives on the device.

    Each epoch's order comes from (seed, epoch) alone, so a resumed run needs only the epoch and
    the batch index to continue with exactly the batches it would have seen.

    Args:
        samples: what batches are cut from, on the training device: the stored samples (uint8 images), or a view
            of them the modality computed once (spectrograms of clips; see Modality.training_set).
        to_model: the conversion of a batch to the model's tensor (pixels -> [-1, 1]; none for a computed view).
    """

    def __init__(self, samples: torch.Tensor, batch_size: int, seed: int, labels: torch.Tensor | None = None, *,
                 to_model: Callable[[torch.Tensor], torch.Tensor]):
        if samples.shape[0] < batch_size:
            raise ValueError(f"{samples.shape[0]} samples are fewer than one batch of {batch_size}")
        self.samples = samples
        self.labels = labels
        self.batch_size = batch_size
        self.seed = seed
        self.to_model = to_model
        # the last partial batch is dropped, as a GAN step wants equal real and fake counts
        self.steps_per_epoch = samples.shape[0] // batch_size

    def epoch_order(self, epoch: int) -> torch.Tensor:
        generator = torch.Generator(device=self.samples.device)
        generator.manual_seed(epoch_order_seed(self.seed, epoch))
        return torch.randperm(self.samples.shape[0], generator=generator, device=self.samples.device)

    def epoch(self, epoch: int, start: int = 0):
        """Yield (index, batch, labels) for batches start.. of `epoch`.

        batch is the model's float tensor (B, C, H, W in -1..1 for images); labels the batch's rows of `labels`
        (int64 (B, k), a column per condition), or None.
        """
        order = self.epoch_order(epoch)
        for index in range(start, self.steps_per_epoch):
            take = order[index * self.batch_size : (index + 1) * self.batch_size]
            labels = self.labels[take] if self.labels is not None else None
            yield index, self.to_model(self.samples[take]), labels
