"""Training on several processes with torch.distributed (launched by torchrun): one `Replicas` object
says which process this is and does the few collective operations the trainer needs.

How gankit splits the work, so that N processes train exactly what one process would:
- `train.batch_size` is the global batch; each rank takes its 1/N slice of every batch of the
  epoch's shuffled order (the same order on every rank, from the run's seed);
- every rank draws the global batch's latents (and augmentation, penalty mixing) from the same
  seeded generator and keeps its slice, so the generators stay identical across ranks and a
  checkpoint resumes on any number of ranks;
- G and D are wrapped in DistributedDataParallel, which averages gradients: the mean over N equal
  slices is the global batch's mean;
- the logged stats are averaged across ranks every LOG_BLOCK steps, and stop decisions (Ctrl-C,
  time limit, divergence) are taken at those points from the same numbers on every rank;
- only rank 0 writes: metrics, samples, checkpoints, reports.
"""

from __future__ import annotations

import gc
import hashlib
import os
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn as nn

from gankit.errors import GankitError


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


@dataclass(frozen=True)
class Replicas:
    """This process's place among the training processes (world 1: plain single-process training)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1

    # -- splitting the global batch --------------------------------------------------------------

    def local(self, batch: torch.Tensor | None) -> torch.Tensor | None:
        """This rank's slice of a global batch (dim 0)."""
        if batch is None or not self.active:
            return batch
        size = len(batch) // self.world
        return batch[self.rank * size : (self.rank + 1) * size]

    def check_splits(self, n: int, flag: str, why: str = "") -> None:
        """`n` (the value of `flag`) must split into equal parts, one per process."""
        if n % self.world:
            raise GankitError(f"{flag} {n} does not split over {self.world} processes; "
                              f"use a multiple of {self.world}{why}")

    # -- collectives (no-ops on one process) -----------------------------------------------------

    def mean(self, values: torch.Tensor) -> torch.Tensor:
        """values averaged over ranks."""
        if not self.active:
            return values
        values = values.clone()
        dist.all_reduce(values)
        return values / self.world

    def any(self, *flags: bool, device: torch.device) -> tuple[bool, ...]:
        """For each flag: true on every rank when it is true on some rank."""
        if not self.active:
            return flags
        t = torch.tensor([1.0 if flag else 0.0 for flag in flags], device=device)
        dist.all_reduce(t)
        return tuple(bool(v > 0) for v in t.tolist())

    def from_main(self, value):
        """Rank 0's `value`, on every rank (any picklable object)."""
        if not self.active:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def gather(self, part: torch.Tensor) -> torch.Tensor:
        """The ranks' equal-sized parts joined in rank order (dim 0), on every rank."""
        if not self.active:
            return part
        parts = [torch.empty_like(part) for _ in range(self.world)]
        dist.all_gather(parts, part.contiguous())
        return torch.cat(parts)

    @contextmanager
    def main_first(self):
        """Rank 0 runs the block first (downloads, caches), then the others, which find its results."""
        if self.active and not self.is_main:
            dist.barrier()
        yield
        if self.active and self.is_main:
            dist.barrier()

    def check_in_sync(self, *modules: nn.Module) -> str | None:
        """Every rank must hold the same weights: a difference means a bug, and saving it would hide one.

        Returns the parameters' digest all ranks agree on (None on one process). Buffers are left out:
        BatchNorm's running statistics are each rank's own until DDP copies rank 0's at the next forward.
        """
        if not self.active:
            return None
        digests = [None] * self.world
        dist.all_gather_object(digests, params_digest(*modules))
        if len(set(digests)) != 1:
            raise GankitError(f"the {self.world} training processes hold different weights "
                              "(please report this as a gankit bug, with the command)")
        return digests[0]

    def device_for(self, requested: str) -> str:
        """The device this rank trains on, for train.device `requested`."""
        if not self.active:
            return requested
        if requested.startswith("cuda") or (requested == "auto" and torch.cuda.is_available()):
            if self.local_rank >= torch.cuda.device_count():
                raise GankitError(f"rank {self.rank} needs GPU {self.local_rank}, and this machine has "
                                  f"{torch.cuda.device_count()}; start at most that many processes per node, "
                                  "or train on --device cpu")
            return f"cuda:{self.local_rank}"
        if requested in ("auto", "cpu"):
            return "cpu"
        raise GankitError(f"--device {requested} cannot be shared by {self.world} processes; use cuda or cpu")

    def check_sync_batchnorm(self, wanted: bool, device: torch.device) -> None:
        if wanted and self.active and device.type != "cuda":
            raise GankitError("--sync-batchnorm needs GPUs (PyTorch's SyncBatchNorm runs on CUDA only); "
                              "drop it to train on CPUs")

    def average_gradients(self, module: nn.Module) -> None:
        """Average `module`'s gradients across the processes in one all-reduce: for steps that call a network's
        parts, where DistributedDataParallel (which hooks the whole network's forward) does not see them."""
        grads = [p.grad for p in module.parameters() if p.grad is not None]
        if not self.active or not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= self.world
        for grad, part in zip(grads, flat.split([g.numel() for g in grads])):
            grad.copy_(part.view_as(grad))

    def wrap(self, module: nn.Module, device: torch.device) -> nn.Module:
        """DistributedDataParallel around `module` (the module itself on one process)."""
        if not self.active or not any(p.requires_grad for p in module.parameters()):
            return module
        ids = [device.index] if device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(module, device_ids=ids)


SINGLE = Replicas()
# what check_splits adds for --batch-size
GLOBAL_BATCH = " (it is the global batch)"


def params_digest(*modules: nn.Module) -> str:
    """sha256 of the modules' parameters, in order (equal digests: bit-identical weights)."""
    digest = hashlib.sha256()
    for module in modules:
        for p in module.parameters():
            digest.update(p.detach().to("cpu").contiguous().numpy().tobytes())
    return digest.hexdigest()


def join(requested_device: str) -> Replicas:
    """Join the process group torchrun set up (no process group without torchrun).

    Args:
        requested_device: train.device; with several processes each rank takes cuda:LOCAL_RANK
            (nccl) for auto/cuda on a GPU machine, else the CPU (gloo).
    """
    if not launched_by_torchrun():
        return SINGLE
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    replicas = Replicas(rank=rank, world=world, local_rank=int(os.environ.get("LOCAL_RANK", "0")))
    device = replicas.device_for(requested_device)
    if device.startswith("cuda"):
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    return replicas


def leave(replicas: Replicas, finished: bool) -> None:
    """Leave the process group after training.

    Args:
        finished: every process got here the same way (done, or stopped together). After an error
            the others may be inside a collective: nothing is waited for, and only gloo's group
            (local to this process) is taken down; NCCL's could block, so torchrun ends it.
    """
    if not (replicas.active and dist.is_initialized()):
        return
    if not finished and dist.get_backend() != "gloo":
        return
    # DDP wrappers left in reference cycles would otherwise be freed at interpreter exit, after the
    # process group, and gloo aborts the process ("terminate called without an active exception")
    gc.collect()
    if finished:
        dist.barrier()
    dist.destroy_process_group()
