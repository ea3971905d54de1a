"""Every registered model builds, runs forward and backward at its sizes; classic is the tutorial's."""

import pytest
import torch
import torch.nn.functional as F

from gankit.models import ACTIVATIONS, MODELS, build_models
from gankit.models.dcgan import ResizeConv
from gankit.resolve import resolve_config

TUTORIAL_G_PARAMS = (100 * 256 + 256) + (256 * 512 + 512) + (512 * 784 + 784)  # 559,632
TUTORIAL_D_PARAMS = (1 * 64 * 9 + 64) + (64 * 128 * 9 + 128) + (128 * 256 * 9 + 256) + (256 * 4 * 4 + 1)  # 373,761


def count(module):
    return sum(p.numel() for p in module.parameters())


def test_classic_is_the_tutorial_network():
    g, d = build_models(resolve_config(), (1, 28, 28))
    assert count(g) == TUTORIAL_G_PARAMS == 559_632
    assert count(d) == TUTORIAL_D_PARAMS == 373_761
    # layer names are the tutorial's, so its state_dicts map one to one
    assert [k for k in g.state_dict()] == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"]
    assert d.fc1.in_features == 256 * 4 * 4
    assert d.conv1.stride == (2, 2) and d.conv1.padding == (1, 1) and d.conv1.kernel_size == (3, 3)
    assert isinstance(d.act, torch.nn.LeakyReLU) and d.act.negative_slope == 0.2
    assert isinstance(g.act, torch.nn.ReLU)
    z = torch.randn(5, 100)
    x = g(z)
    assert x.shape == (5, 1, 28, 28) and x.min() >= -1 and x.max() <= 1
    assert d(x).shape == (5,)


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (3, 64, 64), (1, 20, 20)])
def test_classic_adapts_to_data_shape(shape):
    config = resolve_config(overrides={"data.image_size": shape[-1], "data.channels": shape[0]})
    g, d = build_models(config, shape)
    out = g(torch.randn(3, 100))
    assert out.shape == (3, *shape)
    d(out).sum().backward()


@pytest.mark.parametrize("size,channels", [(28, 1), (32, 3), (64, 3), (64, 1)])
@pytest.mark.parametrize("norm,upsample", [("batch", "transposed"), ("none", "resize")])
def test_dcgan_forward_backward(size, channels, norm, upsample):
    config = resolve_config(overrides={"model.name": "dcgan", "data.image_size": size, "data.channels": channels,
                                       "model.width": 8, "model.d_norm": norm, "model.upsample": upsample})
    g, d = build_models(config, (channels, size, size))
    z = torch.randn(4, 100)
    fake = g(z)
    assert fake.shape == (4, channels, size, size)
    logits = d(fake)
    assert logits.shape == (4,)
    logits.sum().backward()
    assert all(p.grad is not None for p in g.parameters())
    has_bn = any(isinstance(m, torch.nn.BatchNorm2d) for m in d.modules())
    assert has_bn == (norm == "batch")
    assert any(isinstance(m, ResizeConv) for m in g.modules()) == (upsample == "resize")


@pytest.mark.parametrize("shape", [(3, 5, 7, 7), (2, 4, 8, 4), (2, 6, 1, 1)])
def test_resize_conv_is_upsampling_then_its_3x3_conv(shape):
    """One transposed convolution computes nearest-neighbour doubling then the 3x3 kernel, gradients included."""
    torch.manual_seed(0)
    conv = ResizeConv(shape[1], 3).double()
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    upsampled = F.conv2d(F.interpolate(x, scale_factor=2, mode="nearest"), conv.weight, padding=1)
    out = conv(x)
    assert out.shape == upsampled.shape == (shape[0], 3, 2 * shape[2], 2 * shape[3])
    torch.testing.assert_close(out, upsampled)
    grads = torch.autograd.grad(out.square().sum(), (x, conv.weight))
    torch.testing.assert_close(grads, torch.autograd.grad(upsampled.square().sum(), (x, conv.weight)))


def test_dcgan_init_and_defaults():
    config = resolve_config(overrides={"model.name": "dcgan"})
    assert config.train.beta1 == 0.5  # the DCGAN paper's, from the registry entry
    g, _ = build_models(config, (1, 28, 28))
    conv = next(m for m in g.modules() if isinstance(m, torch.nn.ConvTranspose2d))
    assert abs(conv.weight.std().item() - 0.02) < 0.002


@pytest.mark.parametrize("model, data, shape", [("cgan", "fashion-mnist", (1, 28, 28)),
                                                ("cwavegan", "spoken-digits", (1, 16384))])
def test_conditional_g_label_starts_as_one_hot(model, data, shape):
    """The label's code must not outweigh z at the start: with N(0, 1) codes (norm ~7 against z's ~10) cgan's G
    learned to ignore z and drew one image per class."""
    config = resolve_config(overrides={"model.name": model, "data.name": data})
    g, _ = build_models(config, shape, (10,))
    code = g.embed.weight.detach()
    assert torch.allclose(code @ code.T, torch.eye(10), atol=1e-5)



def test_conditional_families_take_a_row_of_labels_per_sample_one_column_per_condition():
    """One condition is a plain embedding of its classes (weights of runs from before conditions had names load);
    two are one table whose rows for a sample's values are summed, and every row gets its gradient."""
    config = resolve_config(overrides={"model.name": "cgan", "model.width": 8})
    one, _ = build_models(config, (1, 28, 28), (10,))
    plain = torch.nn.functional.embedding(torch.tensor([3, 7]), one.embed.weight)
    assert torch.equal(one.embed(torch.tensor([[3], [7]])), plain) and set(one.embed.state_dict()) == {"weight"}
    g, d = build_models(config, (1, 28, 28), (3, 4))
    y = torch.tensor([[0, 0], [2, 3], [1, 2]])
    assert g.embed.weight.shape[0] == 7 and torch.equal(g.embed(y)[1], g.embed.weight[2] + g.embed.weight[3 + 3])
    d(g(torch.randn(3, 100), y), y).sum().backward()
    assert (g.embed.weight.grad.abs().sum(1) > 0).tolist() == [True, True, True, True, False, True, True]


@pytest.mark.parametrize("name", ACTIVATIONS.names())
def test_activations_are_configurable(name):
    config = resolve_config(overrides={"model.g_activation": name, "model.d_activation": name,
                                       "model.negative_slope": 0.1})
    g, d = build_models(config, (1, 28, 28))
    assert type(g.act).__name__.lower().replace("_", "") in {"relu", "leakyrelu", "tanh", "elu", "gelu", "silu"}
    d(g(torch.randn(2, 100))).sum().backward()
    if name == "leaky_relu":
        assert d.act.negative_slope == 0.1


def test_same_seed_same_weights():
    a, _ = build_models(resolve_config(overrides={"train.seed": 3}), (1, 28, 28))
    b, _ = build_models(resolve_config(overrides={"train.seed": 3}), (1, 28, 28))
    c, _ = build_models(resolve_config(overrides={"train.seed": 4}), (1, 28, 28))
    assert torch.equal(a.fc1.weight, b.fc1.weight)
    assert not torch.equal(a.fc1.weight, c.fc1.weight)


# SpecGAN's linear 128 x 128, and notes' 128 log-frequency rows x 64 frames (a picture twice as tall as wide)
@pytest.mark.parametrize("model, view, shape", [
    ("specgan", {"model.mels": 0, "model.n_fft": 256, "model.hop": 128}, (1, 128, 128)),
    ("cspecgan", {"model.mels": 0, "model.n_fft": 256, "model.hop": 128}, (1, 128, 128)),
    ("cspecgan", {"model.mels": 128, "model.scale": "log", "model.n_fft": 1024, "model.hop": 256}, (1, 128, 64)),
])
def test_spectrogram_families_make_the_views_pictures(model, view, shape):
    config = resolve_config(overrides={"model.name": model, "data.name": "spoken-digits", "model.width": 16, **view})
    assert MODELS.get(model).spectrogram(config).shape == shape
    g, d = build_models(config, shape, (10,) if model == "cspecgan" else ())
    y = torch.arange(3)[:, None] if model == "cspecgan" else None
    fake = g(torch.randn(3, 100), y)
    assert fake.shape == (3, *shape)
    d(fake, y).sum().backward()


def test_every_registered_model_is_covered():
    # the sound families' shapes and phase shuffle are in test_audio.py, the text families' in test_text.py
    assert set(MODELS.names()) == {"classic", "dcgan", "cgan", "wgan-gp", "sngan", "wavegan", "cwavegan", "specgan",
                                   "cspecgan", "textgan", "charlm", "ngram", "arae"}
