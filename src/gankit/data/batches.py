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
                 to_model: Callable[[torch.Tensor], torch.Tensor], pool: torch.Tensor | None = None):
        """pool: the sample indices an epoch goes through (a sample may be in it several times: balanced_pool);
        None: every sample once."""
        self.size = len(pool) if pool is not None else samples.shape[0]
        if self.size < batch_size:
            raise ValueError(f"{self.size} samples are fewer than one batch of {batch_size}")
        self.samples = samples
        self.labels = labels
        self.batch_size = batch_size
        self.seed = seed
        self.to_model = to_model
        self.pool = pool.to(samples.device) if pool is not None else None
        # the last partial batch is dropped, as a GAN step wants equal real and fake counts
        self.steps_per_epoch = self.size // batch_size

    def epoch_order(self, epoch: int) -> torch.Tensor:
        generator = torch.Generator(device=self.samples.device)
        generator.manual_seed(epoch_order_seed(self.seed, epoch))
        order = torch.randperm(self.size, generator=generator, device=self.samples.device)
        return self.pool[order] if self.pool is not None else order

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


def balanced_pool(classes: torch.Tensor, balance: float) -> torch.Tensor | None:
    """The indices an epoch goes through when classes are drawn more evenly than the data has them: each sample of
    class c repeated round((largest class / c's size) ** balance) times (1: every class about equally often; emoji's
    People & Body, 59 % of its pictures, then come a ninth of the time). None: balance 0, or classes of one size."""
    if balance == 0:
        return None
    counts = torch.bincount(classes.cpu())
    repeats = torch.round((counts.max() / counts.clamp(min=1)).double() ** balance).long().clamp(min=1)
    if bool((repeats[counts > 0] == 1).all()):
        return None
    return torch.repeat_interleave(torch.arange(len(classes)), repeats[classes.cpu()])
