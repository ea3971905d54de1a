"""The real `gankit` command in a subprocess, on real Fashion-MNIST."""

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import GANKIT_SERVER, assert_clean_error, gankit, make_image_folder


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """One short real run shared by the read-only tests below."""
    out = tmp_path_factory.mktemp("runs")
    result = gankit("train", "--max-steps", "30", "--batch-size", "20", "--name", "short", "--out", str(out),
                    "--seed", "3")
    assert result.returncode == 0, result.stderr
    return out / "short", result


def test_train_writes_a_complete_run_folder(trained_run):
    run, result = trained_run
    for name in ("config.toml", "metrics.jsonl", "losses.png", "progress.gif", "checkpoints/final/meta.json",
                 "checkpoints/final/weights.safetensors", "samples/step_00000030.png"):
        assert (run / name).is_file(), name
    assert "run folder: " in result.stdout and "checkpoints/" in result.stdout
    assert "d_loss" in result.stdout and "D(G(z))" in result.stdout
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 30
    with Image.open(run / "samples" / "step_00000030.png") as grid:
        assert grid.size == (8 * 30 + 2, 8 * 30 + 2)  # 64 images of 28 px, 2 px padding


def test_sample_png_and_npy(trained_run, tmp_path):
    run, _ = trained_run
    result = gankit("sample", str(run), "--n", "10", "--out", str(tmp_path / "g.png"), "--npy",
                    str(tmp_path / "g.npy"), "--seed", "7")
    assert result.returncode == 0, result.stderr
    array = np.load(tmp_path / "g.npy")
    assert array.shape == (10, 28, 28) and array.dtype == np.uint8
    again = gankit("sample", str(run), "--n", "10", "--npy", str(tmp_path / "h.npy"), "--seed", "7")
    assert again.returncode == 0, again.stderr
    # seeded: the same images; MKL's matmul may round differently with memory alignment, which can
    # move a pixel by one level across processes (seen once in a full test run)
    assert np.abs(np.load(tmp_path / "h.npy").astype(int) - array.astype(int)).max() <= 1
    with Image.open(tmp_path / "g.png") as img:
        assert img.mode == "L"
    # GANKIT_SMOKE_TEST (the README walk's): at most 100 samples, said; a value that is no step count is refused
    smoke = gankit("sample", str(run), "--n", "500", "--npy", str(tmp_path / "s.npy"), env={"GANKIT_SMOKE_TEST": "2"})
    assert "100 samples, not 500" in smoke.stderr and len(np.load(tmp_path / "s.npy")) == 100
    assert_clean_error(gankit("train", "--out", str(tmp_path), env={"GANKIT_SMOKE_TEST": "yes"}),
                       "GANKIT_SMOKE_TEST='yes' must be a number of G steps")
    assert list(tmp_path.glob("0*")) == []


def test_info(trained_run):
    run, _ = trained_run
    text = gankit("info", str(run))
    assert text.returncode == 0 and "final" in text.stdout and "step      30" in text.stdout
    data = json.loads(gankit("info", str(run), "--json").stdout)
    assert data["steps_done"] == 30 and data["last_metrics"]["step"] == 30
    assert data["config"]["model"]["name"] == "classic"


def test_existing_run_folder_is_never_overwritten(trained_run):
    run, _ = trained_run
    before = (run / "metrics.jsonl").read_bytes()
    result = gankit("train", "--max-steps", "1", "--name", run.name, "--out", str(run.parent))
    assert_clean_error(result, "already exists", "--resume")
    assert (run / "metrics.jsonl").read_bytes() == before


def test_numbered_default_names(tmp_path):
    for expected in ("0001-classic-fashion-mnist", "0002-classic-fashion-mnist"):
        result = gankit("train", "--max-steps", "1", "--out", str(tmp_path), "--no-progress", "--no-report")
        assert result.returncode == 0, result.stderr
        assert (tmp_path / expected / "checkpoints" / "final").is_dir()


def test_config_file_with_override_and_dcgan_hinge(tmp_path):
    cfg = tmp_path / "run.yaml"
    cfg.write_text("model:\n  name: dcgan\n  width: 8\ntrain:\n  loss: hinge\n  max_steps: 50\n")
    result = gankit("train", "--config", str(cfg), "--max-steps", "3", "--name", "d", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    saved = (tmp_path / "d" / "config.toml").read_text()
    assert 'name = "dcgan"' in saved and 'loss = "hinge"' in saved and "max_steps = 3" in saved
    assert "beta1 = 0.5" in saved


def test_image_folder_trains_at_its_own_shape_and_older_runs_keep_theirs(tmp_path):
    folder = make_image_folder(tmp_path / "my_images", 24, (40, 50, 3), suffix=".jpg")
    runs = tmp_path / "runs"
    common = ["--data", str(folder), "--model", "dcgan", "--set", "model.width=8", "--batch-size", "8", "--out", str(runs),
              "--no-progress", "--no-report"]
    result = gankit("train", *common, "--max-steps", "2", "--name", "f")
    assert result.returncode == 0, result.stderr
    assert "all of the 24 images looked at are 50x40, some in colour: training at 32 px RGB" in result.stderr
    npy = tmp_path / "s.npy"
    assert gankit("sample", str(runs / "f"), "--n", "3", "--npy", str(npy)).returncode == 0
    assert np.load(npy).shape == (3, 32, 32, 3)
    # a run from before folders trained at their own shape saved none and trained at 64 px RGB: it resumes so
    assert gankit("train", *common, "--image-size", "64", "--max-steps", "1", "--name", "old").returncode == 0
    config = runs / "old" / "config.toml"
    config.write_text(re.sub(r"(?m)^(image_size|channels) = .*\n", "", config.read_text()))
    resumed = gankit("train", "--resume", str(runs / "old"), "--max-steps", "2", "--no-progress", "--no-report")
    assert resumed.returncode == 0, resumed.stderr
    assert "looked at" not in resumed.stderr and "image_size" not in config.read_text()


def test_dry_run_prints_resolved_config():
    result = gankit("train", "--model", "dcgan", "--lr", "1e-3", "--dry-run")
    assert result.returncode == 0
    assert "lr_g = 0.001" in result.stdout and "lr_d = 0.001" in result.stdout and "beta1 = 0.5" in result.stdout


@pytest.mark.parametrize("args,fragments", [
    (["train", "--lr", "-1"], ["train.lr_g must be > 0"]),
    (["train", "--batch-size", "0"], ["--batch-size (train.batch_size) must be in 1..1,048,576, got 0"]),
    (["train", "--model", "gpt"], ["--model (model.name) must be one of classic, dcgan, wgan-gp, cgan, sngan, wavegan, cwavegan, specgan, cspecgan, textgan, charlm, ngram, arae, auto"]),
    (["train", "--loss", "l2"], ["--loss (train.loss) must be one of"]),
    (["train", "--model", "dcgan", "--image-size", "40"], ["dcgan makes 28, 32, 64 or 128 px"]),
    (["train", "--set", "train.nope=1"], ["unknown config key 'train.nope'", "lr_g"]),
    (["train", "--epochs", "many"], ["--epochs (train.epochs) must be an integer"]),
    (["train", "--config", "missing.toml"], ["config file missing.toml does not exist"]),
    (["train", "--data", "no/such/dir"], ["neither a dataset"]),
    (["train", "--resume", "no/such/run"], ["is not a gankit run folder"]),
    (["sample", "no/such/run"], ["is neither a gankit run folder (no config.toml) nor an exported bundle"]),
    (["info", "no/such/run"], ["is not a gankit run folder"]),
    (["train", "--device", "tpu"], ["--device (train.device) must be auto, cpu, cuda"]),
    (["train", "--precision", "fp8"], ["--precision (train.precision) must be one of fp32, bf16"]),
])
def test_bad_input_is_one_line_and_exit_2(args, fragments, tmp_path):
    assert_clean_error(gankit(*args, cwd=tmp_path), *fragments)


@pytest.mark.parametrize("mode", [[], ["reduce-overhead"]])
def test_compile_without_a_cxx_compiler_is_one_line(tmp_path, fashion_dir, mode):
    """Inductor needs a C++ compiler on CPU; without one gankit says so before training starts (CUDA graphs or not)."""
    result = gankit("train", "--compile", *mode, "--device", "cpu", "--max-steps", "1", "--out", str(tmp_path),
                    env={"PATH": str(tmp_path)})
    assert_clean_error(result, "--compile on CPU needs a C++ compiler")
    assert not any(tmp_path.iterdir())  # refused before a run folder was made


def test_resume_refuses_changing_what_is_trained(trained_run):
    run, _ = trained_run
    assert_clean_error(gankit("train", "--resume", str(run), "--lr", "0.1"), "cannot change train.lr_d, train.lr_g")


def test_a_resume_that_trains_nothing_is_refused_and_writes_nothing(trained_run):
    """It used to exit 0 and save max_steps 20 into the config, after which every --resume did nothing."""
    run, _ = trained_run
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    assert_clean_error(gankit("train", "--resume", str(run), "--max-steps", "20"),
                       "is at step 30 (0 epochs done), so --max-steps 20 trains nothing; continue it with "
                       "--max-steps above 30 or --epochs above 0")
    assert_clean_error(gankit("train", "--resume", str(run)), "so --max-steps 30 trains nothing")
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


def test_a_misspelled_flag_gets_a_suggestion_and_its_commands_usage():
    result = gankit("train", "--batchsize", "64")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("usage: gankit train ")
    assert "gankit train: error: unrecognized arguments: --batchsize 64 (did you mean --batch-size?)" in result.stderr


@pytest.mark.parametrize("command", [[], ["train"], ["sample"], ["info"], ["data"], ["eval"], ["evaluator"]])
def test_help_everywhere(command):
    result = gankit(*command, "--help")
    assert result.returncode == 0 and "usage: gankit" in result.stdout
    if command == ["train"]:
        for flag in ("--epochs", "--max-steps", "--lr", "--lr-g", "--lr-d", "--batch-size", "--latent-dim", "--seed",
                     "--device", "--out", "--name", "--resume", "--config"):
            assert flag in result.stdout, flag
        assert "(default: 100)" in result.stdout


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "gankit"
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("gankit ")


@pytest.mark.slow
def test_sigint_checkpoints_and_resume_finishes(tmp_path):
    """Ctrl-C: the step in flight finishes, a checkpoint is written, exit 130 says how to resume."""
    proc = GANKIT_SERVER.start(["train", "--max-steps", "400", "--name", "i", "--out", str(tmp_path), "--no-progress"])
    metrics = tmp_path / "i" / "metrics.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and not (metrics.exists() and metrics.stat().st_size > 0):
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "gankit train --resume" in err and "Traceback" not in err
    assert "gankit: SIGINT received: finishing the step in flight, then a checkpoint; Ctrl-C again stops at once" in err
    steps = [int(p.name.split("_")[1]) for p in (tmp_path / "i" / "checkpoints").glob("step_*")]
    assert len(steps) == 1 and 0 < steps[0] < 400
    done = gankit("train", "--resume", str(tmp_path / "i"), "--no-progress", "--max-steps", str(steps[0] + 5))
    assert done.returncode == 0, done.stderr
    rows = [row["step"] for row in map(json.loads, metrics.read_text().splitlines()) if "d_loss" in row]
    assert rows == list(range(1, steps[0] + 6))


def test_slow_phases_show_progress_on_a_terminal_only(monkeypatch):
    """Measuring, decoding and clustering say what they do and how far they are on a terminal; in a log file (not a
    terminal) and under --no-progress, nothing."""
    import io

    import torch

    from gankit.data.clusters import cluster_images
    from gankit.modalities.spectrogram import SpectrogramView
    from gankit.progress import show_progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    view = SpectrogramView(sample_rate=8000, n_fft=256, hop=64, mels=32, scale="mel", clip_samples=2048, iterations=1)
    clips = torch.rand(20, 1, 2048) * 2 - 1
    shown = {}
    for name, stream, enabled in (("terminal", Terminal(), True), ("log", io.StringIO(), True),
                                  ("silenced", Terminal(), False)):
        monkeypatch.setattr(sys, "stderr", stream)
        show_progress(enabled)
        fitted = view.fitted(clips, chunk=8)
        fitted.decode(fitted.encode(clips, chunk=8), chunk=8)
        cluster_images(torch.randint(0, 256, (40, 1, 8, 8), dtype=torch.uint8), 4)
        shown[name] = stream.getvalue()
    show_progress(True)
    for what in ("measuring the spectrograms", "making spectrograms", "decoding 20 clips (Griffin-Lim)"):
        assert f"{what}:   0%|          | 0/3 [" in shown["terminal"], shown["terminal"]  # cleared at the end
    assert "clustering 40 images into 4 groups:   0%|          | 0/100 [" in shown["terminal"]
    assert shown["log"] == shown["silenced"] == ""
