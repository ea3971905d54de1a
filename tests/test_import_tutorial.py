"""`gankit import-tutorial`: the tutorial's own torch.save(state_dict) files become a gankit run."""


import numpy as np
import torch
import torch.nn as nn

from conftest import PicklePayload, assert_clean_error, gankit
from gankit.checkpoint import WEIGHTS, load_tensors, read_meta
from gankit.modalities.image import to_uint8
from gankit.pipeline import latents


class Generator(nn.Module):
    """The tutorial's generator, as its code writes it."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(100, 256)
        self.fc2 = nn.Linear(256, 512)
        self.fc3 = nn.Linear(512, 784)
        self.relu = nn.ReLU()
        self.tanh = nn.Tanh()

    def forward(self, x):
        out = self.relu(self.fc1(x))
        out = self.relu(self.fc2(out))
        return self.tanh(self.fc3(out)).view(-1, 1, 28, 28)


class Discriminator(nn.Module):
    """The tutorial's discriminator; `side` 4 is the fix, 3 the tutorial's crashing original."""

    def __init__(self, side: int = 4):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 64, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(64, 128, 3, stride=2, padding=1)
        self.conv3 = nn.Conv2d(128, 256, 3, stride=2, padding=1)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(256 * side * side, 1)
        self.leaky_relu = nn.LeakyReLU(0.2)

    def forward(self, x):
        out = self.leaky_relu(self.conv1(x))
        out = self.leaky_relu(self.conv2(out))
        out = self.leaky_relu(self.conv3(out))
        return nn.Sigmoid()(self.fc1(self.flatten(out)))


def _tutorial_files(folder):
    torch.manual_seed(11)
    g, d = Generator(), Discriminator()
    torch.save(g.state_dict(), folder / "generator.ckpt")
    torch.save(d.state_dict(), folder / "discriminator.ckpt")
    return g, d


def test_import_sample_and_train_on(tmp_path):
    g, d = _tutorial_files(tmp_path)
    result = gankit("import-tutorial", str(tmp_path / "generator.ckpt"), str(tmp_path / "discriminator.ckpt"),
                    "--data", "fashion-mnist", "--out", str(tmp_path / "runs"), "--name", "tut")
    assert result.returncode == 0, result.stderr
    run = tmp_path / "runs" / "tut"
    weights = load_tensors(run / "checkpoints" / "final", WEIGHTS)
    for key, value in d.state_dict().items():
        assert torch.equal(weights[f"D.{key}"], value), key
    assert read_meta(run / "checkpoints" / "final")["imported_from"]["generator"].endswith("generator.ckpt")
    # gankit's samples are the tutorial G's images for the same latents
    sampled = gankit("sample", str(run), "--n", "8", "--seed", "4", "--npy", str(tmp_path / "s.npy"))
    assert sampled.returncode == 0, sampled.stderr
    with torch.no_grad():
        expected = to_uint8(g(latents(8, 100, 4))).squeeze(1).numpy()
    assert np.abs(np.load(tmp_path / "s.npy").astype(int) - expected.astype(int)).max() <= 1
    more = gankit("train", "--resume", str(run), "--max-steps", "5", "--no-progress", "--no-report")
    assert more.returncode == 0, more.stderr
    assert read_meta(run / "checkpoints" / "final")["step"] == 5


def test_generator_alone_and_refusals(tmp_path):
    _tutorial_files(tmp_path)
    out = ("--out", str(tmp_path / "runs"))
    alone = gankit("import-tutorial", str(tmp_path / "generator.ckpt"), *out, "--name", "g")
    assert alone.returncode == 0 and "D starts fresh" in alone.stderr
    torch.save(Discriminator(side=3).state_dict(), tmp_path / "bug.ckpt")
    assert_clean_error(gankit("import-tutorial", str(tmp_path / "generator.ckpt"), str(tmp_path / "bug.ckpt"), *out),
                       "256*3*3", "never trained")
    assert_clean_error(gankit("import-tutorial", str(tmp_path / "discriminator.ckpt"), *out),
                       "is not the tutorial's generator")
    torch.save(Generator(), tmp_path / "whole.ckpt")  # the model object, not its state_dict
    assert_clean_error(gankit("import-tutorial", str(tmp_path / "whole.ckpt"), *out), "not a torch.save file of plain tensors")
    (tmp_path / "junk.ckpt").write_bytes(b"\x80\x02junk")
    assert_clean_error(gankit("import-tutorial", str(tmp_path / "junk.ckpt"), *out), "junk.ckpt")
    assert_clean_error(gankit("import-tutorial", str(tmp_path / "nowhere.ckpt"), *out), "does not exist")
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["g"]  # refusals create no run folder


def test_a_pickle_with_code_is_not_run(tmp_path):
    marker = tmp_path / "pwned"
    torch.save({"fc1.weight": PicklePayload(marker)}, tmp_path / "evil.ckpt")
    result = gankit("import-tutorial", str(tmp_path / "evil.ckpt"), "--out", str(tmp_path / "runs"))
    assert_clean_error(result, "not a torch.save file of plain tensors")
    assert not marker.exists()
