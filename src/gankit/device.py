"""Choosing the device: the thin edge between gankit and the hardware."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import torch

from gankit.errors import GankitError

# a GPU index of at most 4 digits: PyTorch refuses longer ones only when the device is made, at the start of training
_DEVICE_PATTERN = re.compile(r"auto|cpu|mps|cuda(:\d{1,4})?")


def validate_device_name(name: str) -> None:
    if not _DEVICE_PATTERN.fullmatch(name):
        raise GankitError(f"train.device must be auto, cpu, cuda, cuda:N (N a GPU's number, 0 to 9999) or mps, "
                          f"got {name[:40]!r}")


def resolve_device(name: str = "auto") -> torch.device:
    """auto picks cuda, then mps, then cpu; an explicit device that is missing is an error, not a fallback."""
    validate_device_name(name)
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise GankitError(f"--device {name}: no CUDA GPU is visible to PyTorch here; use --device cpu or auto")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise GankitError(
                f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) are visible; use cuda:0..")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise GankitError(f"--device {name}: Apple MPS is not available here; use --device cpu or auto")
    return device


def fast_bf16(device: torch.device) -> str | None:
    """Why bfloat16 makes `--model auto`'s step faster on `device`, or None where it does not or is not known to:
    CPUs with AVX-512 BF16 or AMX (read from /proc/cpuinfo, so Linux only). Not GPUs: at auto's batch of 100 its
    step is bound by kernel launches, and autocast's extra casts made bf16 slower than fp32 on an H200
    (docs/benchmarks.md); tensor cores pay at batches of 1,000, which auto does not use."""
    if device.type == "cpu":
        try:
            flags = set(Path("/proc/cpuinfo").read_text().split())
        except OSError:
            return None
        found = sorted(flags & {"avx512_bf16", "amx_bf16"})
        return f"this CPU has {' and '.join(found)}" if found else None
    return None


def check_compile_support(device: torch.device) -> None:
    """torch.compile's CPU backend writes C++: without a compiler it would fail deep inside the first step."""
    if device.type == "cpu" and not any(shutil.which(cxx) for cxx in ("g++", "c++", "clang++")):
        raise GankitError("--compile on CPU needs a C++ compiler (g++ or clang++) on the PATH; install one "
                          "or train without --compile")
