"""Device selection, including the GPU branches, exercised on a CPU-only machine."""

import pytest
import torch

from gankit.device import resolve_device
from gankit.errors import GankitError


def test_auto_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("mps")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")


def test_explicit_devices(monkeypatch):
    assert resolve_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(GankitError, match="no CUDA GPU is visible"):
        resolve_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    with pytest.raises(GankitError, match="only 2 CUDA device"):
        resolve_device("cuda:2")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(GankitError, match="MPS is not available"):
        resolve_device("mps")
    for name in ("cuda:x", "cuda:99999999999999999999", "cpu\n"):  # the long index failed deep in PyTorch
        with pytest.raises(GankitError, match=r"must be auto, cpu, cuda, cuda:N \(N a GPU's number, 0 to 9999\) or mps"):
            resolve_device(name)
