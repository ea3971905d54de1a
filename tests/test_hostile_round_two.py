"""Hostile inputs, round two (issue 33): names no config file can hold, data that changed under a finished run,
bundles that name odd data, run folders that point outside themselves, files gankit must not overwrite. Each case
goes through the real command; docs/reliability.md lists them."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import assert_clean_error, gankit

pytestmark = pytest.mark.slow


def image_folder(folder: Path, n: int = 20) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8)).save(folder / f"{i:02d}.png")
    return folder


TINY = ["--model", "dcgan", "--set", "model.width=4", "--batch-size", "10", "--no-progress"]


def test_a_data_path_with_an_emoji_writes_a_run_gankit_reads_back_and_one_not_in_utf8_is_refused(tmp_path):
    data = image_folder(tmp_path / "clothes \U0001f457 \x7f")
    runs = tmp_path / "runs"
    trained = gankit("train", "--data", str(data), *TINY, "--max-steps", "1", "--out", str(runs), "--name", "r")
    assert trained.returncode == 0, trained.stderr
    run = runs / "r"
    assert "\U0001f457" in (run / "config.toml").read_text(encoding="utf-8")
    for args in (("info", run), ("report", run), ("export", run, "--out", tmp_path / "b"),
                 ("train", "--resume", run, "--max-steps", "2", "--no-progress")):
        result = gankit(*map(str, args))
        assert result.returncode == 0, (args, result.stderr)

    foreign = Path(os.fsdecode(str(tmp_path).encode() + b"/caf\xe9"))  # Latin-1 bytes in a UTF-8 file system
    image_folder(foreign)
    refused = gankit("train", "--data", str(foreign), *TINY, "--max-steps", "1", "--out", str(runs))
    assert_clean_error(refused, "is not UTF-8 text", "rename it")
    assert sorted(p.name for p in runs.iterdir()) == ["r"]  # a refused start leaves nothing


def test_a_finished_sound_run_and_its_bundle_do_not_look_at_their_data(tmp_path, spoken_digits):
    """A picture added to the sound folder after training (the folder would now be refused for training) and a
    bundle whose config names / as its data: sample, info, report, interpolate and export read none of it."""
    data = shutil.copytree(spoken_digits / "train", tmp_path / "sounds")
    runs = tmp_path / "runs"
    trained = gankit("train", "--data", str(data), "--model", "specgan", "--set", "model.width=8", "--batch-size", "8",
                     "--set", "model.griffin_lim=2", "--max-steps", "1", "--out", str(runs), "--name", "s",
                     "--no-progress")
    assert trained.returncode == 0, trained.stderr
    image_folder(data / "pictures", 1)
    run = runs / "s"
    bundle = tmp_path / "bundle"
    for args in (("sample", run, "--n", "2", "--out", tmp_path / "clips"), ("info", run), ("report", run),
                 ("interpolate", run, "--steps", "2", "--out", tmp_path / "walk.wav"), ("export", run, "--out", bundle)):
        result = gankit(*map(str, args))
        assert result.returncode == 0, (args, result.stderr)
    model = json.loads((bundle / "model.json").read_text())
    model["config"]["data"]["name"] = "/"
    (bundle / "model.json").write_text(json.dumps(model))
    sampled = gankit("sample", str(bundle), "--n", "2", "--out", str(tmp_path / "from-bundle"), timeout=60)
    assert sampled.returncode == 0, sampled.stderr
    assert_clean_error(gankit("train", "--resume", str(run), "--max-steps", "2"), "holds both images and sound")
