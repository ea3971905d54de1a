"""Config: defaults, files, overrides, validation messages, round trips."""

import pytest

from gankit.config import Config, flatten, load_config_file, to_dict, to_toml
from gankit.errors import GankitError
from gankit.resolve import from_dict, resolve_config


def test_defaults_are_the_tutorials():
    c = resolve_config()
    assert (c.model.name, c.data.name, c.train.loss) == ("classic", "fashion-mnist", "bce")
    assert (c.train.lr_g, c.train.lr_d, c.train.batch_size, c.model.latent_dim) == (2e-4, 2e-4, 100, 100)
    assert (c.train.beta1, c.train.beta2) == (0.9, 0.999)  # torch.optim.Adam's defaults, as the tutorial uses


def test_file_then_overrides(tmp_path):
    toml = tmp_path / "run.toml"
    toml.write_text('[model]\nname = "dcgan"\n[train]\nlr_g = 0.001\nbatch_size = 64\nbeta1 = 0.6\n')
    yaml = tmp_path / "run.yaml"
    yaml.write_text("model:\n  name: dcgan\ntrain:\n  lr_g: 0.001\n  batch_size: 64\n  beta1: 0.6\n")
    for path in (toml, yaml):
        c = resolve_config(load_config_file(path), {"train.batch_size": "32"})
        assert c.model.name == "dcgan" and c.train.lr_g == 0.001
        assert c.train.batch_size == 32  # the command line wins
        assert c.train.beta1 == 0.6  # the file beats the model's registry default


def test_round_trips():
    c = resolve_config(overrides={"train.max_steps": 7, "model.name": "dcgan", "data.image_size": 32})
    assert from_dict(to_dict(c)) == c
    import tomllib

    assert from_dict(tomllib.loads(to_toml(c))) == c


@pytest.mark.parametrize("overrides,fragment", [
    ({"train.lr": 1}, "unknown config key 'train.lr'; valid keys in [train]: loss, lr_g"),
    ({"nope": 1}, "unknown config key 'nope'"),
    ({"train.lr_g": -1.0}, "train.lr_g must be > 0"),
    ({"train.lr_g": "fast"}, "train.lr_g must be a finite number, got 'fast'"),
    ({"train.lr_d": "nan"}, "train.lr_d must be a finite number"),
    ({"train.batch_size": 0}, "train.batch_size must be in 1..1,048,576"),
    ({"train.precision": "fp16"}, "train.precision must be one of fp32, bf16, got 'fp16'"),
    ({"train.compile": "maybe"}, "train.compile must be true or false"),
    ({"train.compile_mode": "max"}, "train.compile_mode must be one of default, reduce-overhead, got 'max'"),
    ({"train.compile_mode": "reduce-overhead"}, "train.compile_mode needs train.compile on (--compile reduce-overhead)"),
    ({"train.batch_size": 2.5}, "train.batch_size must be an integer"),
    ({"train.epochs": True}, "train.epochs must be an integer"),
    ({"model.name": "vae"}, "model.name must be one of classic, dcgan, wgan-gp, cgan, sngan, wavegan, cwavegan, specgan, cspecgan, textgan, charlm, ngram, arae, auto, got 'vae'"),
    ({"train.loss": "l1"}, "train.loss must be one of bce, minimax, hinge, lsgan, wgan-gp"),
    ({"model.name": "dcgan", "data.image_size": 48}, "model dcgan makes 28, 32, 64 or 128 px images"),
    ({"data.channels": 2}, "data.channels must be 1 or 3"),
    ({"data.name": "/no/such/folder"}, "is neither a dataset"),
    ({"train.device": "gpu"}, "train.device must be auto, cpu, cuda, cuda:N (N a GPU's number"),
    ({"model.g_activation": "swish"}, "model.g_activation must be one of relu, leaky_relu"),
    ({"model.name": "dcgan", "train.loss": "wgan-gp"}, "model.d_norm must be none with a gradient penalty"),
    # wgan-gp builds dcgan's critic, which honours d_norm: BatchNorm under a gradient penalty is refused
    ({"model.name": "wgan-gp", "model.d_norm": "batch"}, "model.d_norm must be none with a gradient penalty"),
    ({"model.name": "cgan", "train.r1_gamma": 1.0}, "model.d_norm must be none with a gradient penalty or R1"),
    # each family has its own settings: classic's sizes are the tutorial's, sngan's activations the paper's
    ({"model.width": 8}, "unknown config key 'model.width' for model classic; valid keys in [model]: name, "
                         "latent_dim, g_activation, d_activation, negative_slope"),
    ({"model.name": "sngan", "model.g_activation": "tanh"}, "unknown config key 'model.g_activation' for model sngan"),
    ({"model.name": "dcgan", "model.d_norm": "layer"}, "model.d_norm must be batch or none"),
])
def test_bad_values_name_key_and_rule(overrides, fragment):
    with pytest.raises(GankitError) as err:
        resolve_config(overrides=overrides)
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


def test_bad_files(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[train\nlr_g = 1")
    with pytest.raises(GankitError, match="is not valid TOML"):
        load_config_file(bad)
    with pytest.raises(GankitError, match="does not exist"):
        load_config_file(tmp_path / "missing.toml")
    other = tmp_path / "run.json"
    other.write_text("{}")
    with pytest.raises(GankitError, match=r"must end in \.toml, \.yaml or \.yml"):
        load_config_file(other)
    with pytest.raises(GankitError, match="is a folder; give a .toml or .yaml file"):  # it said "does not exist"
        load_config_file(tmp_path)
    huge = tmp_path / "huge.toml"
    huge.write_text("# padding\n" * 200_000)
    with pytest.raises(GankitError, match=r"is 2,000,000 bytes, more than any config \(1,048,576 at most\)"):
        load_config_file(huge)
    saved_by_notepad = tmp_path / "bom.toml"  # a byte-order mark first: "Invalid statement (at line 1, column 1)"
    saved_by_notepad.write_bytes(b"\xef\xbb\xbf[train]\nlr_g = 0.001\n")
    assert load_config_file(saved_by_notepad) == {"train.lr_g": 0.001}


def test_config_is_frozen():
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        Config().train.lr_g = 1.0  # type: ignore[misc]


def test_family_settings_live_with_the_family():
    from gankit.models.dcgan import ConvParams

    c = resolve_config(overrides={"model.name": "wgan-gp", "model.width": 16})
    assert c.model.params == ConvParams(width=16, d_norm="none")  # wgan-gp's own default d_norm
    assert to_dict(c)["model"] == {"name": "wgan-gp", "latent_dim": 100, "g_activation": "relu",
                                   "d_activation": "leaky_relu", "negative_slope": 0.2, "width": 16, "d_norm": "none", "upsample": "transposed",
                                   "d_width": 0}
    assert "width" not in to_dict(resolve_config())["model"]  # classic has no width


def test_saved_configs_of_older_runs_still_load():
    """Runs written before per-family settings held width and d_norm for every family."""
    old = {"data": {"name": "fashion-mnist"}, "model": {"name": "classic", "latent_dim": 100, "width": 64,
                                                        "d_norm": "batch", "g_activation": "relu"}, "train": {}}
    assert from_dict(old) == resolve_config()
    with pytest.raises(GankitError, match="unknown config key 'model.width'"):
        resolve_config(flatten(old, "run.toml"))  # what a user types is still checked strictly


def test_saved_configs_load_without_their_data(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    c = resolve_config(overrides={"data.name": str(folder), "data.image_size": 8})
    folder.rmdir()
    assert from_dict(to_dict(c)) == c  # sampling a run needs only the run
    with pytest.raises(GankitError, match="neither a dataset"):
        resolve_config(flatten(to_dict(c), "run.toml"))  # training needs the data


def test_a_folder_is_kept_as_an_absolute_path(tmp_path, monkeypatch):
    (tmp_path / "imgs").mkdir()
    monkeypatch.chdir(tmp_path)
    assert resolve_config(overrides={"data.name": "imgs"}).data.name == str(tmp_path / "imgs")
