"""`gankit eval` and evaluation during training, through the real command."""

import json
import re

import numpy as np
import pytest
from PIL import Image

from conftest import assert_clean_error, gankit, make_idx_dataset, make_shapes_folder


@pytest.fixture(scope="module")
def shared_cache(fashion_cache):
    """The session's Fashion-MNIST cache, so reference features are extracted once."""
    return {"GANKIT_CACHE_DIR": str(fashion_cache)}


@pytest.fixture(scope="module")
def run(tmp_path_factory, shared_cache):
    out = tmp_path_factory.mktemp("runs")
    result = gankit("train", "--max-steps", "20", "--batch-size", "20", "--name", "r", "--out", str(out),
                    "--no-progress", env=shared_cache)
    assert result.returncode == 0, result.stderr
    return out / "r"


@pytest.mark.slow
def test_eval_run_writes_result(run, shared_cache):
    result = gankit("eval", str(run), "--n", "500", "--json", env=shared_cache)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    metrics = data["metrics"]
    for key in ("fid", "kid", "kid_std", "is", "precision", "recall", "density", "coverage", "class_coverage",
                "memorisation_rate", "nn_distance_ratio"):
        assert isinstance(metrics[key], float), key
    assert data["n"] == 500 and data["seed"] == 0
    assert data["extractor"]["name"] == "classifier" and len(data["extractor"]["digest"]) == 16
    assert data["reference"] == {"dataset": "fashion-mnist", "split": "test", "n": 10000}
    # beside it, what real training images and random pixels score the same way (memorisation left out: training
    # images are copies of themselves)
    real, noise = (data["yardsticks"][name] for name in ("real data", "noise"))
    assert real["n"] == noise["n"] == 500 and "memorisation_rate" not in real["metrics"]
    assert real["metrics"]["fid"] < 1 < 50 < noise["metrics"]["fid"] and real["metrics"]["precision"] > 0.5
    saved = json.loads((run / "eval" / "final.json").read_text())
    assert saved["metrics"]["fid"] == metrics["fid"]
    with Image.open(run / "eval" / "final-closest.png") as pairs:  # labelled, and large enough to see
        assert pairs.width >= 600 and pairs.height >= 300
    # the export's model card carries the run's evaluation; its bundle scores as the run does, now with the real
    # side's radii and distances cached (printed only: nothing is written into a bundle)
    bundle = run.parent / "exported"
    assert gankit("export", str(run), "--out", str(bundle)).returncode == 0
    card = (bundle / "README.md").read_text()
    assert f"| fid | {metrics['fid']:.5g} | lower |" in card and "500 samples (seed 0)" in card
    assert f"classifier:{data['extractor']['digest']}" in card
    again = json.loads(gankit("eval", str(bundle), "--n", "500", "--json", env=shared_cache).stdout)
    assert again["metrics"] == metrics and "written_to" not in again
    table = gankit("eval", str(run), "--n", "300", "--metrics", "fid,kid", env=shared_cache)
    assert table.returncode == 0 and "fid" in table.stdout and "classifier:" in table.stdout
    assert "scores compare only with scores from the same extractor on the same held-out samples" in table.stdout
    assert re.search(r"^metric\s+better\s+this\s+real data \(300\)\s+noise \(300\)$", table.stdout, re.M)
    assert re.search(r"^fid\s+lower\s", table.stdout, re.M) and "noise: random pixels, as bad as it gets" in table.stdout
    assert not (bundle / "eval").exists()


def test_eval_samples_from_anywhere(tmp_path, fashion_dir, shared_cache):
    from gankit.data.idx import read_idx

    real = read_idx(fashion_dir / "train-images-idx3-ubyte.gz")[:600]
    np.save(tmp_path / "hwc.npy", real[..., None])  # N x H x W x 1
    np.save(tmp_path / "hw.npy", real)  # N x H x W
    scores = []
    for name in ("hwc.npy", "hw.npy"):
        result = gankit("eval", "--samples", str(tmp_path / name), "--data", "fashion-mnist", "--metrics", "fid",
                        "--json", env=shared_cache)
        assert result.returncode == 0, result.stderr
        scores.append(json.loads(result.stdout)["metrics"]["fid"])
    # the same images in two layouts; 1e-3 leaves room for GPU kernels that are not bit-deterministic
    assert scores[0] == pytest.approx(scores[1], rel=1e-3) and scores[0] < 5  # real images: close to held-out


@pytest.mark.slow
def test_eval_refuses_other_extractors(run, tmp_path, shared_cache):
    other = json.loads(gankit("eval", str(run), "--n", "200", "--metrics", "fid", "--json", env=shared_cache).stdout)
    other["extractor"]["digest"] = "0123456789abcdef"
    (tmp_path / "other.json").write_text(json.dumps(other))
    assert_clean_error(gankit("eval", str(run), "--n", "200", "--compare", str(tmp_path / "other.json"),
                              env=shared_cache), "refusing to compare", "0123456789abcdef")


@pytest.mark.parametrize("args,fragments", [
    (["eval"], ["give a run folder or --samples"]),
    (["eval", "--samples", "x.txt"], ["must be a .npy file or a folder of images"]),
    (["eval", "no/run"], ["is neither a gankit run folder"]),
    (["eval", "--samples", "s.npy", "--metrics", "fid,xyz"], ["unknown metric 'xyz'"]),
    (["train", "--set", "train.eval_metrics=fid,xyz"], ["train.eval_metrics must list metrics from"]),
])
def test_eval_bad_input(args, fragments, tmp_path):
    np.save(tmp_path / "s.npy", np.zeros((4, 28, 28), np.uint8))
    assert_clean_error(gankit(*args, cwd=tmp_path), *fragments)


def test_inception_offline_through_the_cli(tmp_path):
    np.save(tmp_path / "s.npy", np.zeros((4, 28, 28), np.uint8))
    weights = tmp_path / "nowhere" / "pt_inception-2015-12-05-6726825d.pth"
    result = gankit("eval", "--samples", str(tmp_path / "s.npy"), "--extractor", "inception",
                    env={"GANKIT_INCEPTION_WEIGHTS": str(weights)})
    assert_clean_error(result, "Inception-v3 FID weights not found", str(weights), "GANKIT_INCEPTION_WEIGHTS")


@pytest.mark.slow
def test_eval_during_training_keeps_best(tmp_path):
    """A tiny labelled dataset: the classifier is trained on first use, scores land in metrics.jsonl,
    and the best checkpoint by FID is kept."""
    data = make_idx_dataset(tmp_path / "mnist", n_train=200, n_test=60)
    result = gankit("train", "--data", "mnist", "--data-dir", str(data), "--batch-size", "50", "--epochs", "3",
                    "--eval-every", "1", "--eval-n", "100", "--name", "e", "--out", str(tmp_path / "runs"),
                    "--no-progress", "--no-report", env={"GANKIT_CACHE_DIR": str(tmp_path / "cache")})
    assert result.returncode == 0, result.stderr
    assert "epoch 1: fid" in result.stderr and "(100 samples, classifier:" in result.stderr
    rows = [json.loads(line) for line in (tmp_path / "runs" / "e" / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in rows if "eval_n" in r]
    assert [r["epoch"] for r in evals] == [1, 2, 3] and all(r["eval_n"] == 100 for r in evals)
    best = min(evals, key=lambda r: r["fid"])
    meta = json.loads((tmp_path / "runs" / "e" / "checkpoints" / "best" / "meta.json").read_text())
    assert meta["step"] == best["step"] and meta["best_fid"] == best["fid"]
    assert list((tmp_path / "cache" / "evaluators").glob("mnist-1x28-*.safetensors"))


@pytest.mark.slow
def test_own_folder_gets_a_classifier_it_can_trust(tmp_path):
    """A small labelled folder: the classifier trained on first use tells its classes apart, says so, and the
    memorisation check measures against training images the held-out ones are new to (the held-out images
    used to find themselves at distance 0, giving a distance ratio of 2e11)."""
    from gankit.data import load_dataset
    from gankit.resolve import resolve_data

    folder = make_shapes_folder(tmp_path / "shapes", 200)
    # samples that are the training images themselves, as gankit reads them
    np.save(tmp_path / "copies.npy", load_dataset(resolve_data(str(folder), None)).samples.numpy())
    env = {"GANKIT_CACHE_DIR": str(tmp_path / "cache")}
    result = gankit("eval", "--samples", str(tmp_path / "copies.npy"), "--data", str(folder), "--metrics",
                    "fid,memorisation", "--json", env=env)
    assert result.returncode == 0, result.stderr
    scored = json.loads(result.stdout)
    assert re.search(r"2-class classifier trained on .*shapes at 28x28 px \(held-out accuracy (0\.9\d+|1\.000) on 20 ",
                     scored["extractor"]["description"]), scored["extractor"]["description"]
    metrics = scored["metrics"]
    assert metrics["memorisation_rate"] > 0.8 and metrics["nn_distance_ratio"] < 0.5  # copies, and it says so
    assert metrics["fid"] < 20


@pytest.mark.slow
def test_classifier_that_cannot_tell_classes_apart_is_refused(tmp_path):
    """Random pixels under two class names: no score at all rather than a FID that means nothing, in eval and
    in training with --eval-every, which leaves no run folder behind. Both read the folder at the shape training
    does (28 px), so training finds the classifier eval trained, verdict and all (eval read it at 64 px and each
    trained its own)."""
    folder = make_shapes_folder(tmp_path / "noise", 200, noise=True)
    np.save(tmp_path / "s.npy", np.zeros((20, 16, 16, 3), np.uint8))
    env = {"GANKIT_CACHE_DIR": str(tmp_path / "cache")}
    why = ("cannot tell its classes apart on new samples", "held-out samples right", "against chance",
           "--extractor inception")
    assert_clean_error(gankit("eval", "--samples", str(tmp_path / "s.npy"), "--data", str(folder), env=env), *why)
    runs = tmp_path / "runs"
    assert_clean_error(gankit("train", "--data", str(folder), "--model", "dcgan", "--batch-size", "20", "--eval-every",
                              "1", "--out", str(runs), "--no-progress", env=env), *why)
    assert not runs.exists() or not any(runs.iterdir())
    assert [p.name.split("-")[1] for p in (tmp_path / "cache" / "evaluators").glob("*.safetensors")] == ["3x28"]
