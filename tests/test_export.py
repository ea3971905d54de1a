"""`gankit export`: every family's G as ONNX and TorchScript graphs that match torch, and bundles that sample
with gankit from anywhere, or with onnxruntime and numpy alone."""

import dataclasses
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn.utils.parametrizations import spectral_norm

from conftest import assert_clean_error, gankit, peak_mib
from gankit.auto import PITCHED_VIEW
from gankit.bundle import ONNX, WEIGHTS, read_bundle
from gankit.card import onnx_script
from gankit.cli.main import main
from gankit.conditions import from_classes
from gankit.errors import GankitError
from gankit.export import PARITY_BATCHES, check_parity, describe, export_onnx, export_torchscript, frozen, parse_formats
from gankit.modalities import SampleSpec
from gankit.modalities.audio import AudioModality
from gankit.modalities.image import ImageModality
from gankit.modalities.text import TextModality
from gankit.models import MODELS, build_models
from gankit.pipeline import Pipeline
from gankit.resolve import resolve_config
from gankit.space import decode_module

README = Path(__file__).parent.parent / "README.md"
# text items of 4 characters: the baselines' graphs unroll their loop over positions (longer is slower to export)
SAMPLES = {"image": ((1, 28, 28), ImageModality()), "audio": ((1, 16384), AudioModality(16_000)),
           "text": ((20, 4), TextModality("abcdefghijklmnopqr", 4))}
DATA = {"image": "fashion-mnist", "audio": "spoken-digits", "text": "words"}
# one family per kind of data (and a conditional one): their bundles' onnxruntime scripts run too
SCRIPTED = ("cgan", "wavegan", "cspecgan", "textgan")
# what a program without gankit may import: the scripts run with torch and gankit blocked
WITHOUT_TORCH = "import sys; sys.modules['torch'] = sys.modules['gankit'] = None; exec(sys.stdin.read())"


def needs_export_extra():
    for module in ("onnx", "onnxscript", "onnxruntime"):
        pytest.importorskip(module, reason="ONNX export needs the export extra: pip install 'gankit[export]'")


def tiny_pipeline(family: str) -> Pipeline:
    """A narrow G of `family` with BatchNorm statistics far from their start, so a graph that normalised by the
    batch instead (train mode) would not match."""
    spec = MODELS.get(family)
    kind = spec.modalities[0]
    shape, modality = SAMPLES[kind]
    overrides = {"model.name": family, "data.name": DATA[kind]}
    if "width" in {f.name for f in dataclasses.fields(spec.params)}:
        overrides["model.width"] = 8
    if family == "cspecgan":  # notes' picture: twice as tall as wide, log-frequency bands
        overrides.update(PITCHED_VIEW)
    if spec.spectrogram:  # float64 and float32 Griffin-Lim drift apart on an untrained G's pictures with each step
        overrides["model.griffin_lim"] = 2
    config = resolve_config(overrides=overrides)
    if spec.spectrogram:  # statistics from noise (quiet: decoded, unclipped): the graph and inversion do not depend on them
        quiet = (torch.rand(4, 1, 16384, generator=torch.Generator().manual_seed(0)) - 0.5) * 0.1
        view = spec.spectrogram(config).fitted(quiet)
        shape, modality = view.shape, AudioModality(16_000, view)
    classes = ("a", "b", "c") if spec.conditional else ()
    g, _ = build_models(config, shape, (len(classes),) if classes else ())
    torch.manual_seed(0)
    if family == "ngram":
        g.fit(torch.randint(0, shape[0], (200, shape[1])))
    for module in g.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.running_mean.normal_()
            module.running_var.uniform_(0.5, 2.0)
    return Pipeline(g.eval(), config.model.latent_dim, SampleSpec(shape, modality, from_classes(classes)), "cpu", config)


# the text families that sample symbol by symbol export slowly (a loop per position): quick runs export the others
@pytest.mark.parametrize("family", [pytest.param(name, marks=pytest.mark.slow) if name in ("charlm", "ngram", "arae")
                                    else name for name in MODELS.names()])
def test_every_family_exports_graphs_that_match_torch(tmp_path, family):
    needs_export_extra()
    import onnxruntime

    pipe = tiny_pipeline(family)
    g = frozen(pipe.generator)
    for record in (export_onnx(g, pipe, tmp_path / ONNX), export_torchscript(g, pipe, tmp_path / "generator.pt")):
        assert record["parity"]["checked"] and record["parity"]["batches"] == list(PARITY_BATCHES) == [1, 7]
        assert record["parity"]["max_abs_diff"] <= 1e-4
    session = onnxruntime.InferenceSession(str(tmp_path / ONNX))
    assert [i.name for i in session.get_inputs()] == (["z", "labels"] if pipe.conditional else ["z"])
    assert session.get_inputs()[0].shape[0] == session.get_outputs()[0].shape[0] == "batch"  # a free batch axis
    if family in SCRIPTED:
        _check_script(tmp_path, pipe)


def _check_script(folder: Path, pipe: Pipeline) -> None:
    """The bundle card's onnxruntime script decodes what gankit decodes from the same z."""
    model = describe(pipe)
    (folder / "model.json").write_text(json.dumps(model))
    script = onnx_script(model, ".")
    # a space-onnx export's decode.py is the same decoding as a function: it gives what the script's lines give
    (folder / "decode.py").write_text(decode_module(model))
    name, feeds = pipe.spec.modality.decoded_as, '{"z": z, "labels": labels}' if pipe.conditional else '{"z": z}'
    script += (f"from decode import decode\nagain = decode(session.run(None, {feeds})[0], info)\n"
               f"assert again == {name} if isinstance({name}, list) else np.array_equal(again, {name})\n")
    result = subprocess.run([sys.executable, "-c", WITHOUT_TORCH], input=script, cwd=folder, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    z = torch.from_numpy(np.random.default_rng(0).standard_normal((16, pipe.latent_dim), dtype=np.float32))
    labels = torch.arange(16)[:, None] % pipe.spec.num_classes if pipe.conditional else None
    want = pipe.generate(z, labels)
    kind = pipe.spec.modality.name
    if kind == "text":
        assert result.stdout.splitlines() == pipe.spec.modality.lines(want)
    elif kind == "audio" and pipe.spec.modality.spectrogram:  # numpy's float64 Griffin-Lim against torch's float32
        # float64 and float32 Griffin-Lim land on phases a little apart, more with each iteration on an untrained G's
        # pictures (the bundles here take 2: magnitudes 0.01 % apart for specgan, 0.9 % for notes' 128 x 64 log
        # picture; at 32, 18 %); the sound's magnitude, what the inversion is for, is the same
        def magnitude(waves):
            return torch.stft(torch.as_tensor(waves, dtype=torch.float32), 512, 256, window=torch.hann_window(512),
                              return_complex=True).abs()
        got, want = magnitude(np.load(folder / "waves.npy")), magnitude(want[:, 0])
        assert (got - want).norm() < 0.03 * want.norm()
    elif kind == "audio":
        assert np.allclose(np.load(folder / "waves.npy"), want[:, 0].numpy(), atol=1e-4)
    else:
        assert np.abs(np.load(folder / "pixels.npy").astype(int) - want.numpy()).max() <= 1  # rounding at .5


def test_a_graph_that_differs_from_torch_is_refused():
    pipe = tiny_pipeline("dcgan")
    g = pipe.generator
    with pytest.raises(GankitError, match=r"ONNX graph of G does not match torch: max \|difference\| 0.001 at batch 1"):
        check_parity("ONNX", lambda xs: g(*xs) + 1e-3, g, pipe)
    with pytest.raises(GankitError, match=r"makes shape \[2, 1, 28, 28\] at batch 1"):  # a batch baked into the graph
        check_parity("TorchScript", lambda xs: g(torch.randn(2, 100)), g, pipe)


def test_frozen_bakes_spectral_norm_into_plain_weights():
    net = torch.nn.Sequential(spectral_norm(torch.nn.Linear(4, 3)), torch.nn.BatchNorm1d(3))
    net.train()(torch.randn(8, 4))  # one step of power iteration and batch statistics
    net.eval()
    baked = frozen(net)
    assert not any(torch.nn.utils.parametrize.is_parametrized(m) for m in baked.modules())
    assert not baked.training and not any(p.requires_grad for p in baked.parameters())
    z = torch.randn(5, 4)
    assert torch.allclose(baked(z), net(z)) and net.training is False and hasattr(net[0], "parametrizations")


def test_bundle_samples_anywhere(tmp_path, fashion_dir):
    needs_export_extra()
    runs = tmp_path / "runs"
    trained = gankit("train", "--model", "dcgan", "--set", "model.width=8", "--batch-size", "16", "--max-steps", "2",
                     "--set", "train.ema_decay=0.9", "--out", str(runs), "--name", "r", "--no-progress", "--no-report")
    assert trained.returncode == 0, trained.stderr
    exported = gankit("export", str(runs / "r"), "--format", "bundle,onnx", "--out", str(tmp_path / "fashion-dcgan"))
    assert exported.returncode == 0, exported.stderr
    assert re.search(r"generator\.onnx .* onnxruntime [\d.]+ matches torch: max \|difference\| \S+ at batches 1, 7",
                     exported.stdout)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    bundle = shutil.copytree(tmp_path / "fashion-dcgan", elsewhere / "fashion-dcgan")  # the name README's script uses

    model = read_bundle(bundle, None)  # every listed file matches its digest
    assert sorted(model["files"]) == ["generator.onnx", "generator.safetensors"]
    assert model["source"]["weights"] == "G_ema" and model["step"] == 2 and model["family"] == "dcgan"
    card = (bundle / "README.md").read_text()
    assert "Not evaluated" in card and "gankit sample fashion-dcgan" in card and (bundle / "preview.png").is_file()

    from_bundle = gankit("sample", str(bundle), "--n", "16", "--seed", "3", "--npy", str(tmp_path / "b.npy"))
    assert from_bundle.returncode == 0, from_bundle.stderr
    assert np.array_equal(np.load(tmp_path / "b.npy"), Pipeline.from_run(runs / "r", device="cpu").sample(16, 3)[:, 0])
    assert main(["interpolate", str(bundle), "--steps", "3", "--out", str(tmp_path / "walk.png")]) == 0

    script = README.read_text().split("<!-- onnxruntime-script -->")[1].split("```python")[1].split("```")[0]
    assert len([line for line in script.splitlines() if line.strip()]) <= 10
    ran = subprocess.run([sys.executable, "-c", WITHOUT_TORCH], input=script, cwd=elsewhere, capture_output=True,
                         text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    pipe = Pipeline.from_run(bundle, device="cpu")
    z = torch.from_numpy(np.random.default_rng(0).standard_normal((16, 100), dtype=np.float32))
    assert np.abs(np.load(elsewhere / "pixels.npy").astype(int) - pipe.generate(z).numpy()).max() <= 1

    weights = bundle / WEIGHTS
    weights.write_bytes(weights.read_bytes()[:-1] + bytes([weights.read_bytes()[-1] ^ 1]))
    assert_clean_error(gankit("sample", str(bundle)), "generator.safetensors does not match the sha256 in model.json")
    (bundle / "model.json").write_text("{")
    with pytest.raises(GankitError, match="model.json is unreadable"):
        Pipeline.from_run(bundle)
    before = sorted(p.name for p in (tmp_path / "fashion-dcgan").iterdir())
    again = gankit("export", str(runs / "r"), "--out", str(tmp_path / "fashion-dcgan"))
    assert_clean_error(again, "already exists and is not an empty folder")
    assert sorted(p.name for p in (tmp_path / "fashion-dcgan").iterdir()) == before


def test_export_refuses_a_run_without_checkpoints(tmp_path):
    from gankit.runs import create_run

    run = create_run(tmp_path / "runs", "empty", resolve_config())
    assert_clean_error(gankit("export", str(run), "--out", str(tmp_path / "out")), "has no usable checkpoint yet")
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out*"))


def test_formats_a_space_needs_come_with_it_and_two_spaces_are_refused():
    assert parse_formats("space-onnx") == ["bundle", "onnx", "space-onnx"]
    assert parse_formats("space") == ["bundle", "space"]
    assert parse_formats("all") == ["bundle", "onnx", "torchscript", "space"]  # one app.py: gankit's page
    with pytest.raises(GankitError, match="--format space and space-onnx are two Spaces, each with its own app.py"):
        parse_formats("space,space-onnx")


@pytest.mark.slow
def test_an_edited_bundle_passes_the_checks_a_command_line_does(tmp_path):
    """A model.json edited to sizes no command line may ask for is refused with one line before anything is built
    (layers = 3000 and an order-8 n-gram took 3-5 GiB); the likelihood families check memory up front too."""
    corpus = tmp_path / "names.txt"
    corpus.write_text("".join(f"{n}\n" for n in ["anna", "anne", "hanna", "hannah", "ann", "nan", "nina"] * 10))
    for family in ("charlm", "ngram"):
        fit = gankit("train", "--data", str(corpus), "--model", family, "--max-steps", "1", "--batch-size", "8",
                     "--out", str(tmp_path / "runs"), "--name", family, "--no-progress", "--no-report")
        assert fit.returncode == 0, fit.stderr
        assert gankit("export", str(tmp_path / "runs" / family), "--out", str(tmp_path / family)).returncode == 0
    for family, key, value, why in (("charlm", "layers", 3000, "model.layers must be in 1..16"),
                                    ("ngram", "order", 8, "weights do not fit the ngram model")):
        model = json.loads((tmp_path / family / "model.json").read_text())
        model["config"]["model"][key] = value
        (tmp_path / family / "model.json").write_text(json.dumps(model))
        refused, mib = peak_mib("sample", str(tmp_path / family), "--n", "5", "--out", str(tmp_path / "x.txt"))
        assert_clean_error(refused, why)
        assert mib < 1024, f"{family} with {key} = {value}: {mib} MiB before the refusal"
    wide = gankit("train", "--data", str(corpus), "--model", "charlm", "--set", "model.width=16384", "--set",
                  "model.layers=16", "--out", str(tmp_path / "runs"), "--no-progress")
    free = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                    if line.startswith("MemAvailable:"))) * 1024
    if free < 16 * 3 * 2 * 16384**2 * 16:  # 16 layers of 3 gates of two 16384^2 matrices, 16 bytes a parameter
        assert_clean_error(wide, "GiB for weights, gradients and Adam's moments alone")
