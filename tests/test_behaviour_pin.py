"""Pins image behaviour across redesigns: 30 steps of `classic` and `dcgan` on Fashion-MNIST, seed 0, CPU,
must give bit-identical weights and samples to those of the code before the modality layer and the Trainer
class were introduced (issue 12). A digest that changes means training or sampling changed."""

import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from safetensors.torch import load_file


def gankit(*args: str) -> subprocess.CompletedProcess:
    """The real command in a fresh interpreter: OpenMP reads its thread count when torch loads."""
    return subprocess.run([sys.executable, "-m", "gankit", *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "OMP_NUM_THREADS": THREADS})

# sha256 over (name, bytes) of every tensor in the final checkpoint's weights, sorted by name, and over
# the uint8 array of `gankit sample --n 16 --seed 3 --npy`. First recorded at 200 steps with the code of commit
# 1fe3bb5; re-recorded at 30 steps (a fraction of the test's time, as sensitive to any change of arithmetic) with
# the code of 8a1ebfc, which still gave 1fe3bb5's 200-step digests
#
# The kernels PyTorch and MKL dispatch to round differently by the CPU's vector instructions and maker, so each kind
# of CPU has its own digests: AVX512 as above (an AMD EPYC with AVX-512 BF16); AVX2 recorded on an AMD EPYC without
# AVX-512 with the code of 0a25bc6 (the same digests with the code of issue 45's first session); Intel AVX512 on an
# Intel Xeon (Ice Lake's AVX-512 VNNI, no BF16) with the code of 605b542. And by the number of threads (a reduction
# split two ways rounds otherwise): every digest is of two threads, the cores of the machines that recorded them
STEPS = 30
THREADS = "2"
PINNED = {
    "Intel AVX512": {
        "classic": ("d00240af1f9034c5221ed9cf9bcde8c3d76785226b89ac5d32655fa3510f960b",
                    "42cf1bfa29dbf525a04d484687f852a002de42601fbf3af6348a22e936e2fb3e"),
        "dcgan": ("11a77da5514d0ca709f3c30f1930b1919b22849b1c9f6bc42205bef4d34758c7",
                  "3fda1951ff776d82b64f1f47f4723ff29efa8e1aab8eef148c0c084fe216c5a5"),
    },
    "AVX512": {
        "classic": ("f618bdebf3410f7d2c12e8c59a0e57f3a0e88f297b2b26aaaf4185b93073d807",
                    "027498d464b4713d62b8e50f427d3e8112dd5103caa8bbd1a27dc5a61e599730"),
        "dcgan": ("2a92148cd9266aa08f454d63567a62316f623c744c0e4f592f43442845faa4ae",
                  "24f850cfddae26ccb14c771c9687b9957c0c71e5f58ac995f082a1d8d119852c"),
    },
    "AVX2": {
        "classic": ("82856c4559c85d47b29481f63f40f1ab0d28c08b2e5fc3efa39ffdf9ebf70f3e",
                    "96075106a19137fee9aa4b3e43383b23b090e8c8b0396b9b2c977b9da3620742"),
        "dcgan": ("3d795313f712b6be439599828d44620398d877706230784a8ebadc098bfeccbc",
                  "c7de4d043eb2a364d3c29a0a3c06b66f5536a5dc596524397e6aeca26a46c8e8"),
    },
}


def cpu_kind() -> str:
    """The capability PyTorch dispatches on, with "Intel " before it on Intel CPUs (MKL takes other paths there)."""
    capability = torch.backends.cpu.get_cpu_capability()
    try:
        intel = "GenuineIntel" in next(line for line in open("/proc/cpuinfo") if line.startswith("vendor_id"))
    except (OSError, StopIteration):
        intel = False
    return f"Intel {capability}" if intel else capability


CPU = cpu_kind()


def weights_digest(path) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(load_file(str(path)).items()):
        digest.update(name.encode())
        digest.update(tensor.contiguous().numpy().tobytes())
    return digest.hexdigest()


@pytest.mark.slow
@pytest.mark.skipif(CPU not in PINNED, reason=f"no digests recorded for {CPU} CPUs")
@pytest.mark.parametrize("model", ["classic", "dcgan"])
def test_training_and_sampling_are_bit_identical_to_before_the_redesign(tmp_path, fashion_dir, model):
    result = gankit("train", "--model", model, "--max-steps", str(STEPS), "--device", "cpu", "--no-progress",
                    "--no-report", "--out", str(tmp_path), "--name", "pin")
    assert result.returncode == 0, result.stderr
    run = tmp_path / "pin"
    sampled = gankit("sample", str(run), "--n", "16", "--seed", "3", "--npy", str(tmp_path / "s.npy"),
                     "--device", "cpu")
    assert sampled.returncode == 0, sampled.stderr
    samples = hashlib.sha256(np.load(tmp_path / "s.npy").tobytes()).hexdigest()
    got = (weights_digest(run / "checkpoints" / "final" / "weights.safetensors"), samples)
    assert got == PINNED[CPU][model]
