"""The trainer on real Fashion-MNIST, in process: exact resume, seeding, what a step records."""

import json

import pytest
import torch
from safetensors.torch import load_file

from gankit.config import resolve_config
from gankit.runs import create_run
from gankit.train import train


def _run(tmp_path, name, **overrides):
    config = resolve_config(overrides={"train.device": "cpu", **overrides})
    run = create_run(tmp_path, name, config)
    return config, run


def _weights(run, checkpoint="final"):
    return load_file(str(run / "checkpoints" / checkpoint / "weights.safetensors"))


def _metrics(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("model", ["classic", "dcgan"])
def test_resume_is_exact(tmp_path, fashion_dir, model):
    """2N steps straight == N steps, stop, resume, N steps: identical weights and logs on CPU."""
    extra = {"model.name": model, "model.width": 8} if model == "dcgan" else {}
    config, straight = _run(tmp_path, "straight", **{"train.max_steps": 12, **extra})
    train(config, straight, progress=False)
    config_half, split = _run(tmp_path, "split", **{"train.max_steps": 6, **extra})
    train(config_half, split, progress=False)
    resumed = resolve_config(overrides={"train.device": "cpu", "train.max_steps": 12, **extra})
    train(resumed, split, resume=True, progress=False)
    a, b = _weights(straight), _weights(split)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert _metrics(straight) == _metrics(split)


def test_resume_across_an_epoch_boundary(tmp_path, fashion_dir):
    """A tiny epoch (folder of 30 images, batch 10) so resume crosses epochs and reshuffles."""
    import numpy as np
    from PIL import Image

    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(30):
        Image.fromarray(rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    common = {"data.name": str(folder), "data.image_size": 8, "train.batch_size": 10, "train.epochs": 4}
    config, straight = _run(tmp_path, "straight", **common)
    train(config, straight, progress=False)
    config, split = _run(tmp_path, "split", **common, **{"train.max_steps": 5})
    train(config, split, progress=False)
    train(resolve_config(overrides={"train.device": "cpu", **common}), split, resume=True, progress=False)
    for key, value in _weights(straight).items():
        assert torch.equal(value, _weights(split)[key]), key
    assert sorted(p.name for p in (split / "samples").glob("epoch_*.png")) == [f"epoch_{i:04d}.png" for i in range(1, 5)]
    with Image.open(split / "progress.gif") as gif:  # four epoch grids and the mid-epoch grid of step 5
        assert gif.n_frames == 5
        assert gif.info["duration"] == 500


def test_same_seed_same_run_other_seed_differs(tmp_path, fashion_dir):
    runs = []
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        config, run = _run(tmp_path, name, **{"train.max_steps": 3, "train.seed": seed})
        train(config, run, progress=False)
        runs.append(_weights(run)["G.fc1.weight"])
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], runs[2])


def test_each_step_records_the_tutorials_signals(tmp_path, fashion_dir):
    config, run = _run(tmp_path, "r", **{"train.max_steps": 30})
    result = train(config, run, progress=False)
    rows = _metrics(run)
    assert [r["step"] for r in rows] == list(range(1, 31))
    for key in ("d_loss", "g_loss", "d_real", "d_fake", "d_grad_norm", "g_grad_norm"):
        assert all(isinstance(r[key], float) for r in rows), key
    assert all(0 <= r["d_real"] <= 1 and 0 <= r["d_fake"] <= 1 for r in rows)
    # D wins quickly at first (the tutorial's "low D loss, high G loss"): D(x) above D(G(z))
    assert rows[-1]["d_real"] > rows[-1]["d_fake"] and rows[-1]["g_loss"] > rows[-1]["d_loss"]
    assert result.steps == 30 and (run / "losses.png").is_file() and (run / "progress.gif").is_file()
    assert (run / "samples" / "step_00000030.png").is_file()


@pytest.mark.parametrize("loss", ["minimax", "hinge", "lsgan", "wgan-gp"])
def test_every_loss_trains(tmp_path, fashion_dir, loss):
    config, run = _run(tmp_path, loss, **{"train.max_steps": 4, "train.loss": loss})
    train(config, run, progress=False)
    rows = _metrics(run)
    assert len(rows) == 4
    assert ("gp" in rows[0]) == (loss == "wgan-gp")


def test_d_step_judges_fakes_as_the_g_step_sees_them(fashion_dir):
    """With BatchNorm in D, D must see fakes in a batch of their own in both steps (see d_step)."""
    from gankit.data import load_dataset
    from gankit.data.batches import to_model_range
    from gankit.losses import LOSSES
    from gankit.train.state import new_state
    from gankit.train.steps import StepRules, d_step

    config = resolve_config(overrides={"model.name": "dcgan", "model.width": 8})
    state = new_state(config, (1, 28, 28), torch.device("cpu"))
    real = to_model_range(load_dataset(config.data).images[:16])
    fake = state.g(torch.randn(16, 100))
    with torch.no_grad():
        alone = torch.sigmoid(state.d(fake)).mean()  # how the G step's D pass judges these fakes
    stats = d_step(state, real, fake, StepRules(LOSSES.get("bce")))
    assert stats["d_fake"].item() == pytest.approx(alone.item(), abs=1e-5)
