"""The GAN families and training options: each family trains a few steps and samples; EMA,
DiffAugment, R1, n_critic and --time-limit do what they say."""

import json

import pytest
import torch
from safetensors.torch import load_file

from conftest import assert_clean_error, gankit
from gankit.augment import AUGMENTATIONS, diff_augment
from gankit.models import MODELS
from gankit.pipeline import Pipeline, find_checkpoint, load_generator
from gankit.resolve import resolve_config
from gankit.runs import create_run
from gankit.train import train


def _train(tmp_path, name, **overrides):
    narrow = {} if overrides.get("model.name", "classic") == "classic" else {"model.width": 8}  # classic has no width
    config = resolve_config(overrides={"train.device": "cpu", **narrow, "train.batch_size": 16, **overrides})
    run = create_run(tmp_path, name, config)
    return config, run, train(config, run, progress=False)


@pytest.mark.parametrize("model", [name for name in MODELS.names() if "image" in MODELS.get(name).modalities])
def test_every_family_trains_and_samples(tmp_path, fashion_dir, model):
    """Every image family on Fashion-MNIST; the sound families train in test_audio.py."""
    overrides = {"model.name": model, "train.max_steps": 3}
    config, run, result = _train(tmp_path, model, **overrides)
    assert result.steps == 3
    meta = json.loads((run / "checkpoints" / "final" / "meta.json").read_text())
    assert meta["d_steps"] == 3 * config.train.n_critic
    pipe = Pipeline.from_run(run, device="cpu")
    labels = torch.arange(4) if MODELS.get(model).conditional else None
    images = pipe.generate(pipe.latents(4, 0), labels)
    assert images.shape == (4, 1, 28, 28) and images.dtype == torch.uint8
    assert (run / "samples" / "step_00000003.png").is_file()


def test_family_defaults_come_from_their_papers():
    wgan = resolve_config(overrides={"model.name": "wgan-gp"}).train
    assert (wgan.loss, wgan.n_critic, wgan.beta1, wgan.beta2, wgan.lr_g) == ("wgan-gp", 5, 0.0, 0.9, 1e-4)
    assert resolve_config(overrides={"model.name": "wgan-gp"}).model.params.d_norm == "none"
    sngan = resolve_config(overrides={"model.name": "sngan"}).train
    assert (sngan.loss, sngan.n_critic, sngan.beta1, sngan.beta2, sngan.lr_d) == ("hinge", 5, 0.0, 0.9, 2e-4)
    assert resolve_config(overrides={"model.name": "sngan", "train.n_critic": 2}).train.n_critic == 2


def test_cgan_class_grid_and_sample_class(tmp_path, fashion_dir):
    config, run, _ = _train(tmp_path, "c", **{"model.name": "cgan", "train.max_steps": 2, "train.sample_count": 40})
    from PIL import Image

    with Image.open(run / "samples" / "step_00000002.png") as img:
        assert img.size == (4 * 30 + 2, 10 * 30 + 2)  # one row per class, 4 per class
    out = tmp_path / "bags.npy"
    result = gankit("sample", str(run), "--n", "5", "--class", "Bag", "--npy", str(out))
    assert result.returncode == 0, result.stderr
    by_index = gankit("sample", str(run), "--n", "5", "--class", "8", "--npy", str(tmp_path / "eight.npy"))
    assert by_index.returncode == 0
    import numpy as np

    assert np.array_equal(np.load(out), np.load(tmp_path / "eight.npy"))
    assert_clean_error(gankit("sample", str(run), "--class", "Hat"), "--class 'Hat' is not one of 0..9")


def test_cgan_needs_labels(tmp_path):
    from PIL import Image

    folder = tmp_path / "flat"
    folder.mkdir()
    for i in range(20):
        Image.new("L", (28, 28), i * 10).save(folder / f"{i}.png")
    result = gankit("train", "--model", "cgan", "--data", str(folder), "--image-size", "28", "--channels", "1",
                    "--batch-size", "4", "--max-steps", "1", "--out", str(tmp_path / "runs"))
    assert_clean_error(result, "model cgan needs class labels")


def test_ema_is_saved_and_used_for_sampling(tmp_path, fashion_dir):
    config, run, _ = _train(tmp_path, "e", **{"model.name": "dcgan", "train.max_steps": 5, "train.ema_decay": 0.9})
    weights = load_file(str(run / "checkpoints" / "final" / "weights.safetensors"))
    key = next(k for k in weights if k.startswith("G.") and k.endswith("weight"))
    ema_key = "G_ema." + key[2:]
    assert not torch.equal(weights[key], weights[ema_key])
    g, _, _ = load_generator(find_checkpoint(run), "cpu")
    assert torch.equal(g.state_dict()[key[2:]], weights[ema_key])


def test_resume_is_exact_with_n_critic_ema_augment_and_r1(tmp_path, fashion_dir):
    common = {"model.name": "wgan-gp", "train.ema_decay": 0.99, "train.augment": "translation,cutout,color",
              "train.n_critic": 3}
    _, straight, _ = _train(tmp_path, "straight", **common, **{"train.max_steps": 6})
    _, split, _ = _train(tmp_path, "split", **common, **{"train.max_steps": 3})
    config = resolve_config(overrides={"train.device": "cpu", "model.width": 8, "train.batch_size": 16, **common,
                                       "train.max_steps": 6})
    train(config, split, resume=True, progress=False)
    a = load_file(str(straight / "checkpoints" / "final" / "weights.safetensors"))
    b = load_file(str(split / "checkpoints" / "final" / "weights.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    _, r1_run, _ = _train(tmp_path, "r1", **{"model.name": "dcgan", "model.d_norm": "none", "train.r1_gamma": 10.0,
                                             "train.max_steps": 2})
    rows = [json.loads(line) for line in (r1_run / "metrics.jsonl").read_text().splitlines()]
    assert all(r["r1"] >= 0 for r in rows)


def test_time_limit_stops_cleanly(tmp_path):
    result = gankit("train", "--time-limit", "0.05", "--epochs", "50", "--name", "t", "--out", str(tmp_path),
                    "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "(--time-limit reached)" in result.stdout
    meta = json.loads((tmp_path / "t" / "checkpoints" / "final" / "meta.json").read_text())
    assert 0 < meta["step"] < 600
    assert list((tmp_path / "t" / "samples").glob("step_*.png")) and (tmp_path / "t" / "losses.png").is_file()


@pytest.mark.parametrize("name", AUGMENTATIONS.names())
def test_augmentations_are_seeded_shape_preserving_and_differentiable(name):
    x = (torch.rand(6, 3, 16, 16) * 2 - 1).requires_grad_(True)
    a = diff_augment(x, [name], torch.Generator().manual_seed(1))
    b = diff_augment(x, [name], torch.Generator().manual_seed(1))
    assert a.shape == x.shape and torch.equal(a, b)
    assert not torch.equal(a, diff_augment(x, [name], torch.Generator().manual_seed(2)))
    a.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_cutout_and_translation_geometry():
    ones = torch.ones(8, 1, 16, 16)
    cut = diff_augment(ones, ["cutout"], torch.Generator().manual_seed(0))
    zeros = (cut == 0).flatten(1).sum(1)
    assert (zeros <= 64).all() and (zeros >= 16).all()  # an 8x8 square, clipped at the borders
    image = torch.zeros(1, 1, 16, 16)
    image[0, 0, 8, 8] = 1.0
    moved = diff_augment(image.repeat(32, 1, 1, 1), ["translation"], torch.Generator().manual_seed(0))
    assert (moved.flatten(1).sum(1) <= 1).all()  # a shifted dot stays one dot (or leaves the frame)
    assert len({int(m.argmax()) for m in moved}) > 3  # shifted by different amounts


def test_model_auto_resolves_to_the_benchmark_winner():
    from gankit.models import AUTO

    config = resolve_config(overrides={"model.name": "auto"})
    assert config.model.name == AUTO["model.name"] and config.model.name in MODELS
    assert resolve_config(overrides={"model.name": "auto", "train.lr_g": 1e-3}).train.lr_g == 1e-3
