"""The trainer on real Fashion-MNIST, in process: exact resume, seeding, what a step records."""

import json

import pytest
import torch
from safetensors.torch import load_file

from gankit.config import load_config_file
from gankit.resolve import resolve_config
from gankit.runs import create_run
from gankit.train import train


def _run(tmp_path, name, **overrides):
    config = resolve_config(overrides={"train.device": "cpu", **overrides})
    run = create_run(tmp_path, name, config)
    return config, run


def _weights(run, checkpoint="final"):
    return load_file(str(run / "checkpoints" / checkpoint / "weights.safetensors"))


def _metrics(run, timed=True):
    """The per-step rows (a stop's preview may add a diagnosis that a run straight through has no reason for)."""
    rows = [row for line in (run / "metrics.jsonl").read_text().splitlines() if (row := json.loads(line))["kind"] == "step"]
    return rows if timed else [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


@pytest.mark.parametrize("model", ["classic", pytest.param("dcgan", marks=pytest.mark.slow)])
def test_resume_is_exact(tmp_path, fashion_dir, model):
    """2N steps straight == N steps, stop, resume, N steps: identical weights and logs on CPU."""
    extra = {"model.name": model, "model.width": 8} if model == "dcgan" else {"train.batch_size": 20}
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
    assert _metrics(straight, timed=False) == _metrics(split, timed=False)
    seconds = [row["seconds"] for row in _metrics(split)]
    assert seconds == sorted(seconds) and seconds[0] > 0  # training time adds up across the resume


@pytest.mark.slow
def test_resume_across_an_epoch_boundary(tmp_path, fashion_dir):
    """A tiny epoch (folder of 30 images, batch 10) so resume crosses epochs and reshuffles."""
    from PIL import Image

    from conftest import make_image_folder

    folder = make_image_folder(tmp_path / "imgs", 30, (12, 12, 3))
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


@pytest.mark.slow
def test_same_seed_same_run_other_seed_differs(tmp_path, fashion_dir):
    runs = []
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        config, run = _run(tmp_path, name, **{"train.max_steps": 3, "train.seed": seed})
        train(config, run, progress=False)
        runs.append(_weights(run)["G.fc1.weight"])
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], runs[2])


def test_each_step_records_the_tutorials_signals(tmp_path, fashion_dir):
    config, run = _run(tmp_path, "r", **{"train.max_steps": 20})
    result = train(config, run, progress=False)
    rows = _metrics(run)
    assert [r["step"] for r in rows] == list(range(1, 21))
    for key in ("d_loss", "g_loss", "d_real", "d_fake", "d_grad_norm", "g_grad_norm"):
        assert all(isinstance(r[key], float) for r in rows), key
    assert all(0 <= r["d_real"] <= 1 and 0 <= r["d_fake"] <= 1 for r in rows)
    # D wins quickly at first (the tutorial's "low D loss, high G loss"): D(x) above D(G(z))
    assert rows[-1]["d_real"] > rows[-1]["d_fake"] and rows[-1]["g_loss"] > rows[-1]["d_loss"]
    assert result.steps == 20 and (run / "losses.png").is_file() and (run / "progress.gif").is_file()
    assert (run / "samples" / "step_00000020.png").is_file()


@pytest.mark.parametrize("loss", ["minimax", "hinge", "lsgan", "wgan-gp"])
def test_every_loss_trains(tmp_path, fashion_dir, loss):
    config, run = _run(tmp_path, loss, **{"train.max_steps": 4, "train.loss": loss})
    train(config, run, progress=False)
    rows = _metrics(run)
    assert len(rows) == 4
    assert ("gp" in rows[0]) == (loss == "wgan-gp")
    # D(x) and D(G(z)) are D's probabilities under the BCE losses, its mean raw scores under the others (a critic's
    # score through a sigmoid would pass for a probability): the step's D loss is made of those same scores
    real, fake, d_loss = rows[0]["d_real"], rows[0]["d_fake"], rows[0]["d_loss"]
    if loss == "wgan-gp":
        assert d_loss == pytest.approx(fake - real, abs=1e-4)
    elif loss == "minimax":
        assert 0 < real < 1 and 0 < fake < 1


def test_d_step_judges_fakes_as_the_g_step_sees_them(fashion_dir):
    """With BatchNorm in D, D must see fakes in a batch of their own in both steps (see d_step)."""
    from gankit.data import load_dataset
    from gankit.losses import LOSSES
    from gankit.modalities.image import to_model_range
    from gankit.train.state import new_state
    from gankit.train.steps import StepRules, d_step

    config = resolve_config(overrides={"model.name": "dcgan", "model.width": 8})
    state = new_state(config, (1, 28, 28), torch.device("cpu"))
    real = to_model_range(load_dataset(config.data).samples[:16])
    fake = state.g(torch.randn(16, 100))
    with torch.no_grad():
        alone = torch.sigmoid(state.d(fake)).mean()  # how the G step's D pass judges these fakes
    stats = d_step(state, real, fake, StepRules(LOSSES.get("bce")))
    assert stats["d_fake"].item() == pytest.approx(alone.item(), abs=1e-5)


@pytest.mark.parametrize("setting", [{}, pytest.param({"model.name": "dcgan", "model.width": 8, "model.d_norm": "none",
                                                       "train.r1_gamma": 1.0, "train.augment": "translation"},
                                                      marks=pytest.mark.slow)],
                         ids=["classic", "dcgan-r1-augment"])
def test_bf16_autocasts_forward_passes_and_keeps_fp32_weights(tmp_path, fashion_dir, setting):
    runs = {}
    for precision in ("fp32", "bf16"):
        # small batches: on CPUs without bf16 units every bf16 operation is emulated, slowly
        config, run = _run(tmp_path, precision, **{"train.max_steps": 3, "train.batch_size": 20,
                                                   "train.precision": precision, **setting})
        train(config, run, progress=False)
        runs[precision] = _weights(run)
    for key, value in runs["bf16"].items():
        assert value.dtype == runs["fp32"][key].dtype, key  # fp32 weights (and integer BatchNorm counters)
    # same seed, same data: only the forward arithmetic differs, so the weights differ a little
    diff = max((runs["bf16"][k] - runs["fp32"][k]).abs().max().item() for k in runs["fp32"])
    assert 0 < diff < 0.05


@pytest.mark.slow
def test_compiled_networks_train_like_eager_ones(tmp_path, fashion_dir):
    """--compile changes how, not what: same checkpoint keys, weights equal to eager's within float error. The
    compiled run asks for CUDA graphs (reduce-overhead), which a CPU has not: it compiles and trains as default."""
    runs = {}
    for compiled in (False, True):
        graphs = {"train.compile_mode": "reduce-overhead"} if compiled else {}
        config, run = _run(tmp_path, f"c{compiled}", **{"train.max_steps": 3, "train.compile": compiled, **graphs})
        train(config, run, progress=False)
        runs[compiled] = _weights(run)
    assert load_config_file(run / "config.toml")["train.compile_mode"] == "reduce-overhead"
    assert runs[True].keys() == runs[False].keys()
    for key in runs[False]:
        torch.testing.assert_close(runs[True][key], runs[False][key], rtol=1e-3, atol=1e-4)  # < one Adam step


def test_one_pass_over_real_and_fake_is_the_two_passes_maths(fashion_dir):
    """D without batch statistics (classic) judges real + fake in one pass: same loss, same update."""
    from gankit.data import load_dataset
    from gankit.losses import LOSSES
    from gankit.modalities.image import to_model_range
    from gankit.train.state import new_state
    from gankit.train.steps import StepRules, d_step, uses_batch_statistics

    config = resolve_config()
    real = to_model_range(load_dataset(config.data).samples[:16])
    after = {}
    for joint in (False, True):
        state = new_state(config, (1, 28, 28), torch.device("cpu"))
        fake = state.g(torch.randn(16, 100, generator=torch.Generator().manual_seed(0)))
        stats = d_step(state, real, fake, StepRules(LOSSES.get("bce"), joint_d_pass=joint))
        after[joint] = stats, state.d.state_dict()
    assert not uses_batch_statistics(state.d)
    for key in ("d_loss", "d_real", "d_fake", "d_grad_norm"):
        torch.testing.assert_close(after[True][0][key], after[False][0][key])
    for key, value in after[False][1].items():
        torch.testing.assert_close(after[True][1][key], value)
    dcgan = new_state(resolve_config(overrides={"model.name": "dcgan", "model.width": 8}), (1, 28, 28),
                      torch.device("cpu"))
    assert uses_batch_statistics(dcgan.d)
