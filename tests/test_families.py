"""The GAN families and training options: each family trains a few steps and samples; EMA,
DiffAugment, R1, n_critic and --time-limit do what they say."""

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from conftest import assert_clean_error, gankit, make_idx_dataset, make_image_folder
from gankit import checkpoint as ckpt
from gankit.augment import AUGMENTATIONS, diff_augment
from gankit.device import fast_bf16
from gankit.errors import GankitError
from gankit.models import MODELS, build_models
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


def test_fakes_labels_follow_the_datas_class_shares(tmp_path):
    """Fakes' labels are drawn from the data's labels, not uniformly over the classes: on a folder of 40 pictures of
    one class and 8 of another, G is asked for the rare class about 1 time in 6 (uniform labels: 1 in 2)."""
    from gankit.train.trainer import Trainer

    make_image_folder(tmp_path / "data" / "common", 40, (16, 16, 3))
    make_image_folder(tmp_path / "data" / "rare", 8, (16, 16, 3), seed=1)
    config = resolve_config(overrides={"data.name": str(tmp_path / "data"), "model.name": "cgan", "model.width": 8,
                                       "train.batch_size": 16, "train.max_steps": 12, "train.device": "cpu"})
    trainer = Trainer(config, create_run(tmp_path, "r", config), progress=False)
    asked = []
    trainer.state.g.register_forward_pre_hook(lambda g, inputs: asked.append(inputs[1]) if g.training else None)
    trainer.fit()
    rare = trainer.dataset.classes.index("rare")
    share = (torch.cat(asked) == rare).float().mean().item()
    assert len(asked) >= 12 and 0.08 < share < 0.3, share


def test_cgan_class_grid_and_sample_class(tmp_path, fashion_dir):
    config, run, _ = _train(tmp_path, "c", **{"model.name": "cgan", "train.max_steps": 2, "train.sample_count": 40})
    from PIL import Image

    with Image.open(run / "samples" / "step_00000002.png") as img:
        assert img.size == (8 * 30 + 2, 5 * 30 + 2)  # 4 per class, two classes a row: near square
    out = tmp_path / "bags.npy"
    result = gankit("sample", str(run), "--n", "5", "--class", "Bag", "--npy", str(out))
    assert result.returncode == 0, result.stderr
    by_index = gankit("sample", str(run), "--n", "5", "--class", "8", "--npy", str(tmp_path / "eight.npy"))
    assert by_index.returncode == 0
    import numpy as np

    assert np.array_equal(np.load(out), np.load(tmp_path / "eight.npy"))
    assert_clean_error(gankit("sample", str(run), "--class", "Hat"), "class 'Hat' is not one of 0..9")
    # any condition the run has is an option of its own; one it lacks says which it has
    assert_clean_error(gankit("sample", str(run), "--class", "Bag", "--pitch", "60"),
                       "--pitch is neither an option of gankit sample (see --help) nor a condition of this run (its "
                       "conditions: --class)")
    # a run from before D's projection saw the whole feature map (pooled: one weight per channel) still samples,
    # and a resume says which weight does not fit
    final = run / "checkpoints" / "final"
    tensors = load_file(final / ckpt.WEIGHTS)
    channels = tensors["D.linear.weight"].shape[1] // (7 * 7)  # D's last map at 28 px
    tensors["D.linear.weight"], tensors["D.embed.weight"] = torch.zeros(1, channels), torch.zeros(10, channels)
    save_file(tensors, final / ckpt.WEIGHTS)
    assert Pipeline.from_run(run, device="cpu").sample(2, labels="Bag").shape[0] == 2
    with pytest.raises(GankitError, match=r"does not fit this run \(.*size mismatch for linear.weight"):
        train(config, run, resume=True, progress=False)


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


def test_ema_ramp_up_and_its_own_batchnorm_statistics():
    from gankit.train.ema import ema_decay, measure_statistics

    assert ema_decay(0.999, 0.0, 5) == 0.999
    assert ema_decay(0.999, 0.05, 20) == pytest.approx(0.5)  # a half-life of 0.05 * 20 = 1 step
    assert ema_decay(0.999, 0.05, 100_000) == pytest.approx(0.999)  # past the decay's own half-life (693 steps)
    config = resolve_config(overrides={"model.name": "dcgan", "model.width": 8})
    g, _ = build_models(config, (1, 28, 28))
    norm = next(m for m in g.modules() if isinstance(m, torch.nn.BatchNorm2d))
    seen = []
    norm.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0].detach()))
    params = [p.clone() for p in g.parameters()]
    g.eval()
    measure_statistics(g, 100, None, 16, seed=0, step=7, device=torch.device("cpu"))
    batches = torch.stack([x.mean(dim=(0, 2, 3)) for x in seen])  # equal batches: the mean of means is the mean
    assert len(seen) == 8 and torch.allclose(norm.running_mean, batches.mean(0), atol=1e-6)
    assert norm.momentum == 0.1 and not g.training and not norm.training
    assert all(torch.equal(a, b) for a, b in zip(params, g.parameters()))
    again = norm.running_var.clone()
    measure_statistics(g, 100, None, 16, seed=0, step=7, device=torch.device("cpu"))
    assert torch.equal(norm.running_var, again)  # drawn from (seed, step): the same after a resume


@pytest.mark.slow
def test_resume_is_exact_with_n_critic_ema_augment_lr_decay_and_r1(tmp_path, fashion_dir):
    """A run stopped at its step-3 checkpoint and resumed with the same plan ends as the straight one did, with
    n_critic, EMA (ramp-up, measured BatchNorm statistics), DiffAugment, a D narrower than G and --lr-decay linear
    over --max-steps 6 (at step s the rates are (1 - s/6) of the set ones); R1 trains."""
    common = {"model.name": "wgan-gp", "model.d_width": 4, "train.ema_decay": 0.99, "train.augment": "translation,cutout,color",
              "train.n_critic": 3, "train.ema_rampup": 0.05, "train.ema_batchnorm": "measure",
              "train.lr_decay": "linear", "train.max_steps": 6, "train.checkpoint_every": 3}
    config, straight, _ = _train(tmp_path, "straight", **common)
    final = straight / "checkpoints" / "final"
    group = ckpt.load_train_state(final, ckpt.read_meta(final))["opt_g"]["param_groups"][0]
    assert group["initial_lr"] == config.train.lr_g and group["lr"] == pytest.approx(config.train.lr_g / 6)
    split = tmp_path / "split"
    shutil.copytree(straight, split)
    for name in ("final", ckpt.step_name(6)):
        shutil.rmtree(split / "checkpoints" / name, ignore_errors=True)
    train(config, split, resume=True, progress=False)
    a = load_file(str(final / "weights.safetensors"))
    b = load_file(str(split / "checkpoints" / "final" / "weights.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert a["D.body.0.weight"].shape[0] == 4 and a["G.net.6.weight"].shape[0] == 8  # D's width 4, G's 8
    _, r1_run, _ = _train(tmp_path, "r1", **{"model.name": "dcgan", "model.d_norm": "none", "train.r1_gamma": 10.0,
                                             "train.max_steps": 2})
    rows = [json.loads(line) for line in (r1_run / "metrics.jsonl").read_text().splitlines()]
    assert all(r["r1"] >= 0 for r in rows if r["kind"] == "step")


@pytest.mark.slow
def test_time_limit_stops_cleanly(tmp_path):
    result = gankit("train", "--time-limit", "0.05", "--epochs", "50", "--name", "t", "--out", str(tmp_path),
                    "--no-progress", "--lr-decay", "linear")
    assert result.returncode == 0, result.stderr
    assert "(--time-limit 0.05 min reached)" in result.stdout
    final = tmp_path / "t" / "checkpoints" / "final"
    meta = ckpt.read_meta(final)
    assert 0 < meta["step"] < 600
    # the time limit, nearer than the 50 epochs, set the schedule: the rates had fallen (the epochs' plan would leave
    # them above 0.98 of the start). How far depends on the clock, read every G step: 0.39 on a busy machine
    assert ckpt.load_train_state(final, meta)["opt_g"]["param_groups"][0]["lr"] < 0.9 * 2e-4
    assert list((tmp_path / "t" / "samples").glob("step_*.png")) and (tmp_path / "t" / "losses.png").is_file()


@pytest.mark.slow
def test_a_time_limit_or_max_steps_is_not_cut_short_by_the_default_epochs(tmp_path):
    data = make_idx_dataset(tmp_path / "mnist", n_train=200)  # 2 steps an epoch: the default 10 epochs are 20
    common = ["--data", "mnist", "--data-dir", str(data), "--out", str(tmp_path / "runs"), "--no-progress",
              "--no-report"]
    # no --epochs: --max-steps (or --time-limit) alone ends it, not 10 epochs
    alone = gankit("train", *common, "--max-steps", "30", "--name", "alone")
    assert alone.returncode == 0, alone.stderr
    assert "done: 30 steps, 15 epochs in" in alone.stdout and "(--max-steps 30 reached)" in alone.stdout
    assert "epochs = 0\n" in (tmp_path / "runs" / "alone" / "config.toml").read_text()
    assert resolve_config(overrides={"train.time_limit": 5}).train.epochs == 0
    both = gankit("train", *common, "--time-limit", "5", "--epochs", "2", "--name", "both")
    assert both.returncode == 0 and "done: 4 steps, 2 epochs in" in both.stdout and "(--epochs 2 reached)" in both.stdout
    with pytest.raises(GankitError, match=r"0 \(no limit\) needs --time-limit or --max-steps"):
        resolve_config(overrides={"train.epochs": 0})


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


def test_model_auto_resolves_to_the_benchmark_winner(monkeypatch, tmp_path):
    from gankit import auto
    from gankit.auto import RECIPE, auto_line

    plain = str(make_image_folder(tmp_path / "plain", 2, (28, 28, 3)))  # images without class labels
    unlabelled = {"model.name": "auto", "train.device": "cpu", "data.name": plain, "data.image_size": 28}
    config = resolve_config(overrides=unlabelled)
    assert {key: value for key, value in to_dict_flat(config).items() if key in RECIPE} == RECIPE
    assert "dcgan (the data has no class labels)" in auto_line(config, "image", 0)
    assert resolve_config(overrides={**unlabelled, "train.lr_g": 3e-4}).train.lr_g == 3e-4
    # precision from what the hardware does fast, unless the user says otherwise
    monkeypatch.setattr(auto, "fast_bf16", lambda device: "this CPU has avx512_bf16")
    fast = resolve_config(overrides=unlabelled)
    assert fast.train.precision == "bf16" and "bf16 (this CPU has avx512_bf16)" in auto_line(fast, "image", 0)
    mine = resolve_config(overrides={**unlabelled, "train.precision": "fp32"})
    assert mine.train.precision == "fp32" and "fp32 (as you set it)" in auto_line(mine, "image", 0)
    monkeypatch.setattr(auto, "fast_bf16", lambda device: None)
    assert resolve_config(overrides=unlabelled).train.precision == "fp32"
    # a short time limit takes the narrower nets (more G steps per minute on a CPU), a longer one a narrower D alone
    short = resolve_config(overrides={**unlabelled, "train.time_limit": 2})
    assert short.model.params.width == 32 and short.model.params.d_width == 0
    assert "width 32 (a time limit under 5 minutes" in auto_line(short, "image", 0)
    long = resolve_config(overrides={**unlabelled, "train.time_limit": 5})
    assert (long.model.params.width, long.model.params.d_width) == (64, 32)
    assert "width 64, D width 32 (a time limit of 5 minutes or more, where a narrower D" in auto_line(long, "image", 0)
    wide = resolve_config(overrides={**unlabelled, "train.time_limit": 2, "model.width": 64})
    assert "width 64 (as you set it)" in auto_line(wide, "image", 0)
    # images with class labels (a named dataset's, or one subfolder per class) train class-conditionally,
    # G at full width and D at half whatever the time limit
    for animal in ("cats", "dogs"):
        make_image_folder(tmp_path / "classes" / animal, 1, (28, 28, 3))
    for data in ("fashion-mnist", str(tmp_path / "classes")):
        labelled = resolve_config(overrides={"model.name": "auto", "train.device": "cpu", "data.name": data,
                                             "data.image_size": 28, "train.time_limit": 2})
        assert (labelled.model.name, labelled.model.params.width, labelled.model.params.d_width) == ("cgan", 64, 32)
        assert labelled.train.lr_g == RECIPE["train.lr_g"] and labelled.train.ema_batchnorm == "measure"
    assert "cgan (class-conditional: the data has 2 classes) width 64, D width 32 (a narrower D" in auto_line(labelled, "image", 2)
    # enough images without labels: cgan on clusters of their pixels (self-conditioning), unless the user says 0
    many = str(make_image_folder(tmp_path / "many", 2 * auto.IMAGES_PER_CLUSTER, (28, 28, 3)))
    clustered = resolve_config(overrides={"model.name": "auto", "train.device": "cpu", "data.name": many})
    assert (clustered.model.name, clustered.data.clusters, clustered.model.params.d_width) == ("cgan", 2, 32)
    assert ("cgan (class-conditional on 2 equal clusters of the images' pixels, as the data has no class labels "
            "(self-conditioning))") in auto_line(clustered, "image", 2)
    mine = resolve_config(overrides={"model.name": "auto", "train.device": "cpu", "data.name": many, "data.clusters": 0})
    assert (mine.model.name, mine.data.clusters) == ("dcgan", 0)
    # 64-px colour pictures: the colour recipe, with evidence measured on colour pictures
    for animal in ("cats", "dogs"):
        make_image_folder(tmp_path / "colour" / animal, 1, (64, 64, 3))
    colour = resolve_config(overrides={"model.name": "auto", "train.device": "cpu", "data.name": str(tmp_path / "colour")})
    assert {key: value for key, value in to_dict_flat(colour).items() if key in auto.LARGE_COLOUR} == auto.LARGE_COLOUR
    assert auto_line(colour, "image", 2).endswith(f"DiffAugment translation, fp32 (no fast bf16 arithmetic is known on "
                                                  f"this device): {auto.WHY_COLOUR}")
    # labelled colour: each class drawn as often as the others; emoji is told its subgroups too (what it offers)
    assert (colour.train.class_balance, colour.data.conditions) == (1.0, "class")
    assert "cgan (class-conditional: the data has 2 classes, each drawn as often as the others) width 32" in \
        auto_line(colour, "image", 2)
    emoji = resolve_config(overrides={"model.name": "auto", "train.device": "cpu", "data.name": "emoji"})
    assert (emoji.train.class_balance, emoji.data.conditions) == (1.0, "class,subgroup")
    assert "each drawn as often as the others, told each picture's subgroup as well) width 32" in \
        auto_line(emoji, "image", 9)
    even = resolve_config(overrides={"model.name": "auto", "train.device": "cpu", "data.name": "emoji",
                                     "train.class_balance": 0})
    assert "cgan (as you set it)" in auto_line(even, "image", 9)
    # text: the family that scored best at 30 CPU minutes, with its own defaults
    text = resolve_config(overrides={"model.name": "auto", "data.name": "words"})
    assert text.model.name == auto.TEXT and text.train.loss == MODELS.get(auto.TEXT).defaults.get("train.loss", "bce")
    assert auto_line(text, "text", 0) == f"--model auto is {auto.TEXT} (text): {auto.WHY_TEXT}"
    poems = resolve_config(overrides={"model.name": "auto", "data.name": "tang-poems"})
    assert auto_line(poems, "text", 0).endswith(auto.WHY_POEMS)  # each text set its own scores, not the words'
    # sound labelled with its pitch (notes) trains on the picture that keeps the pitch; spoken words on mel bands
    notes = resolve_config(overrides={"model.name": "auto", "train.device": "cpu", "data.name": "notes"})
    assert notes.model.name == "cspecgan" and {k: v for k, v in to_dict_flat(notes).items() if k in auto.PITCHED_VIEW} == auto.PITCHED_VIEW
    assert "on 128 log-frequency rows that keep the notes' pitch" in auto_line(notes, "audio", 11)
    # on a CPU, notes train narrow at batch 50, D naming family and pitch (measured: 3.5x the steps, the family
    # asked for 0.84 against 0.56)
    assert (notes.model.params.width, notes.model.params.d_width, notes.train.batch_size,
            notes.train.aux_conditions) == (32, 0, 50, "class,pitch")
    assert "width 32 (on notes, width 32 at batch 50 gave 3.5x the G steps" in auto_line(notes, "audio", 11)
    mel = resolve_config(overrides={"model.name": "auto", "train.device": "cpu", "data.name": "notes", "model.scale": "mel"})
    assert "on your spectrogram" in auto_line(mel, "audio", 11)
    speech = resolve_config(overrides={"model.name": "auto", "train.device": "cpu", "data.name": "spoken-digits"})
    assert (speech.model.params.mels, speech.model.params.scale) == (64, "mel")
    # on a GPU auto keeps fp32 (measured slower in bf16 at auto's batch) and the full width, and says why
    monkeypatch.setattr(auto, "fast_bf16", fast_bf16)
    monkeypatch.setattr(auto, "resolve_device", lambda name: torch.device("cuda"))
    for classes in (0, 10):
        settings, why = auto.auto_settings("cuda", time_limit=2, classes=classes)
        assert settings["train.precision"] == "fp32" and "slower on a GPU" in why["precision"]
        assert settings["model.width"] == 64 and "only measured faster on CPUs" in why["width"]
        assert "model.d_width" not in settings
    notes_gpu, _ = auto.auto_settings("cuda", time_limit=30, classes=11, kind="audio", offers=("pitch",))
    assert notes_gpu["model.width"] == 64 and "train.batch_size" not in notes_gpu  # CPU measurements only


def to_dict_flat(config) -> dict:
    from gankit.config import to_dict

    return {f"{section}.{key}": value for section, values in to_dict(config).items() for key, value in values.items()}


def test_unlabelled_folder_trains_on_its_clusters_and_samples_one(tmp_path):
    """--clusters labels a folder without class labels by its own clusters: cgan trains on them, a sample names
    one, and what cannot be clustered is refused in one line, leaving nothing behind."""
    folder = make_image_folder(tmp_path / "plain", 24, (28, 28, 3))
    runs = tmp_path / "runs"
    common = ["--data", str(folder), "--model", "auto", "--set", "model.width=8", "--set", "model.d_width=8",
              "--batch-size", "8", "--max-steps", "2", "--out", str(runs), "--no-progress", "--no-report"]
    result = gankit("train", *common, "--clusters", "3", "--name", "c")
    assert result.returncode == 0, result.stderr
    assert "cgan (class-conditional on 3 equal clusters of the images' pixels" in result.stderr
    meta = json.loads((runs / "c" / "checkpoints" / "final" / "meta.json").read_text())
    assert meta["classes"] == ["cluster 0", "cluster 1", "cluster 2"]
    assert gankit("sample", str(runs / "c"), "--class", "cluster 2", "--out", str(tmp_path / "c2.png")).returncode == 0
    assert_clean_error(gankit("eval", str(runs / "c"), "--n", "20"), "its clusters steer training and are not classes")
    assert_clean_error(gankit("train", *common, "--clusters", "13", "--name", "many"), "--clusters (data.clusters) 13 is too many",
                       "24 images", "use --clusters 2 or fewer")
    assert_clean_error(gankit("train", "--data", "fashion-mnist", "--clusters", "5", "--max-steps", "1"),
                       "fashion-mnist has 10 classes of its own")
    assert sorted(p.name for p in runs.iterdir()) == ["c"]
