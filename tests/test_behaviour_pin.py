"""Pins image behaviour across redesigns: 200 steps of `classic` and `dcgan` on Fashion-MNIST, seed 0, CPU,
must give bit-identical weights and samples to those recorded before the modality layer and the Trainer
class were introduced (issue 12). A digest that changes means training or sampling changed."""

import hashlib

import numpy as np
import pytest
from safetensors.torch import load_file

from conftest import gankit

# sha256 over (name, bytes) of every tensor in the final checkpoint's weights, sorted by name, and over
# the uint8 array of `gankit sample --n 16 --seed 3 --npy`; recorded with the code of commit 1fe3bb5
PINNED = {
    "classic": ("181adc9f2d79755d5af61f560a716ca79c8132ccd3a54faceeca2ea346b4475e",
                "a37d8a4a477748f4db733a523288c1862b102c2ad65cdb7ebb23090cdaf7d70c"),
    "dcgan": ("71b6c4fbee01191d687262be685919e4ab4527a15a9a4f0d8d376a1cdf37edeb",
              "80cfb747ef8c4bce6fe696d56e408c19363262e844067a19148f3c6d61ba6bf3"),
}


def weights_digest(path) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(load_file(str(path)).items()):
        digest.update(name.encode())
        digest.update(tensor.contiguous().numpy().tobytes())
    return digest.hexdigest()


@pytest.mark.slow
@pytest.mark.parametrize("model", sorted(PINNED))
def test_200_steps_are_bit_identical_to_before_the_redesign(tmp_path, fashion_dir, model):
    result = gankit("train", "--model", model, "--max-steps", "200", "--device", "cpu", "--no-progress",
                    "--no-report", "--out", str(tmp_path), "--name", "pin")
    assert result.returncode == 0, result.stderr
    run = tmp_path / "pin"
    sampled = gankit("sample", str(run), "--n", "16", "--seed", "3", "--npy", str(tmp_path / "s.npy"),
                     "--device", "cpu")
    assert sampled.returncode == 0, sampled.stderr
    samples = hashlib.sha256(np.load(tmp_path / "s.npy").tobytes()).hexdigest()
    got = (weights_digest(run / "checkpoints" / "final" / "weights.safetensors"), samples)
    assert got == PINNED[model]
