"""Metrics: against torchmetrics and brute force on small sets, caching, and sanity on real data."""

import json
import math

import numpy as np
import pytest
import torch

from gankit.metrics.classes import class_coverage, inception_score
from gankit.metrics.classifier import SHIPPED
from gankit.metrics.fid import frechet_distance, kernel_distance
from gankit.metrics.memorisation import memorisation
from gankit.metrics.prdc import kth_neighbour_distances, manifold_scores, nearest


def _features(n, d=16, shift=0.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(d, d, generator=g) / math.sqrt(d)
    return (torch.randn(n, d, generator=g) @ mix + shift).float()


class _Identity(torch.nn.Module):
    """Lets torchmetrics' FID/KID take features directly."""

    def __init__(self, d):
        super().__init__()
        self.num_features = d

    def forward(self, x):
        return x


@pytest.mark.parametrize("shift", [0.0, 0.3, 2.0])
def test_fid_equals_torchmetrics(shift):
    from torchmetrics.image.fid import FrechetInceptionDistance

    real, fake = _features(800, seed=1), _features(700, shift=shift, seed=2)
    reference = FrechetInceptionDistance(feature=_Identity(16))
    reference.update(real, real=True)
    reference.update(fake, real=False)
    expected = reference.compute().item()
    assert frechet_distance(real, fake) == pytest.approx(expected, rel=1e-3, abs=1e-6)


def test_kid_equals_torchmetrics_on_the_full_set():
    from torchmetrics.image.kid import KernelInceptionDistance

    real, fake = _features(300, seed=3), _features(300, shift=0.5, seed=4)
    reference = KernelInceptionDistance(feature=_Identity(16), subsets=1, subset_size=300)
    reference.update(real, real=True)
    reference.update(fake, real=False)
    expected, _ = reference.compute()
    mean, std = kernel_distance(real, fake, subsets=1, subset_size=300)
    assert mean == pytest.approx(expected.item(), rel=1e-3)
    assert std == 0.0
    mean_sub, std_sub = kernel_distance(real, fake, subsets=20, subset_size=100, seed=5)
    assert std_sub > 0 and abs(mean_sub - mean) < 4 * std_sub


def _brute_prdc(real, fake, k_pr, k_dc):
    r, f = real.double().numpy(), fake.double().numpy()

    def radii(x, k):
        d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
        return np.sort(d, axis=1)[:, k]

    def dist(a, b):
        return np.sqrt(((a[:, None] - b[None]) ** 2).sum(-1))

    rr, rf = radii(r, k_pr), radii(f, k_pr)
    precision = np.mean([(dist(f[j : j + 1], r)[0] <= rr).any() for j in range(len(f))])
    recall = np.mean([(dist(r[i : i + 1], f)[0] <= rf).any() for i in range(len(r))])
    rd = radii(r, k_dc)
    d = dist(f, r)
    density = (d <= rd[None]).sum() / (k_dc * len(f))
    coverage = np.mean([(dist(r[i : i + 1], f)[0] <= rd[i]).any() for i in range(len(r))])
    return precision, recall, density, coverage


def test_prdc_match_brute_force():
    real, fake = _features(120, d=4, seed=6), _features(90, d=4, shift=0.4, seed=7)
    scores = manifold_scores(real, fake)
    p, r, d, c = (scores[k] for k in ("precision", "recall", "density", "coverage"))
    bp, br, bd, bc = _brute_prdc(real, fake, 3, 5)
    assert manifold_scores(real, fake, kth_neighbour_distances(real)) == scores  # cached radii: same scores
    assert (p, r) == (pytest.approx(bp, abs=1e-9), pytest.approx(br, abs=1e-9))
    assert (d, c) == (pytest.approx(bd, abs=1e-6), pytest.approx(bc, abs=1e-9))
    assert 0 < p < 1 and 0 < r < 1


def test_inception_score_by_hand():
    # two splits of 40 samples; confident and diverse within the first -> IS = 2 there, 1 in the second
    probs = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.5, 0.5]]).repeat_interleave(20, dim=0)
    mean, std = inception_score(probs, splits=2)
    assert mean == pytest.approx((2.0 + 1.0) / 2, rel=1e-6)
    assert std == pytest.approx(0.5, rel=1e-6)
    # ten perfect samples of ten classes: one part, IS 10 (ten parts of one sample would each say 1)
    assert inception_score(torch.eye(10))[0] == pytest.approx(10, rel=1e-6)


def test_class_coverage():
    real = torch.eye(4).repeat(25, 1)  # 25 real images per class
    fake = torch.eye(4)[torch.tensor([0] * 60 + [1] * 30 + [2] * 10)]  # class 2 gets 10%, class 3 none
    coverage, shares = class_coverage(fake, real)
    assert coverage == 0.5  # classes 0 and 1 reach half their 25% share; 2 (10% < 12.5%) and 3 do not
    assert shares == [0.6, 0.3, 0.1, 0.0]


def test_memorisation_flags_copies():
    train = _features(500, seed=8)
    heldout = _features(200, seed=9)
    copies = train[:50].repeat(2, 1)
    m = memorisation(copies, heldout, train)
    assert m.rate == 1.0 and m.distance_ratio == 0.0
    assert all(d == 0.0 and j % 50 == i for j, i, d in m.closest)
    fresh = memorisation(_features(200, seed=10), heldout, train)
    assert fresh.rate < 0.1 and 0.7 < fresh.distance_ratio < 1.4
    known = memorisation(_features(200, seed=10), heldout, train, real_d=nearest(heldout, train)[0])
    assert known == fresh  # the held-out side passed in (as a cached reference does) changes nothing


def test_reference_features_are_cached_and_keyed(monkeypatch):
    from gankit.metrics.features import FeatureExtractor
    from gankit.metrics.reference import cached_features

    calls = []

    def forward(x):
        calls.append(len(x))
        return x.flatten(1)[:, :4], None

    ext = FeatureExtractor("toy", "d1", "toy", (1, 4, 4), forward)
    images = torch.randint(0, 256, (10, 1, 4, 4), dtype=torch.uint8)
    first, _ = cached_features(ext, "toy-data", "test", images, torch.device("cpu"))
    again, _ = cached_features(ext, "toy-data", "test", images, torch.device("cpu"))
    assert calls == [10] and torch.equal(first, again)
    changed = images.clone()
    changed[0, 0, 0, 0] ^= 1
    cached_features(ext, "toy-data", "test", changed, torch.device("cpu"))  # new content -> recomputed
    ext.digest = "d2"
    cached_features(ext, "toy-data", "test", images, torch.device("cpu"))  # new extractor -> recomputed
    assert calls == [10, 10, 10]


def test_inception_offline_message(tmp_path, monkeypatch):
    from gankit.cache import INCEPTION_FILE
    from gankit.config import DataConfig
    from gankit.errors import GankitError
    from gankit.metrics.features import get_extractor

    missing = tmp_path / INCEPTION_FILE
    monkeypatch.setenv("GANKIT_INCEPTION_WEIGHTS", str(missing))
    with pytest.raises(GankitError) as err:
        get_extractor("inception", DataConfig(), None, torch.device("cpu"))
    assert str(missing) in str(err.value) and INCEPTION_FILE in str(err.value) and "\n" not in str(err.value)


def test_shipped_evaluator():
    weights = SHIPPED / "fashion-mnist.safetensors"
    info = json.loads(weights.with_suffix(".json").read_text())
    assert weights.stat().st_size <= 2 * 2**20
    assert info["test_accuracy"] >= 0.90 and info["test_images"] == 10000
    assert info["command"].startswith("gankit evaluator train --data fashion-mnist")


@pytest.mark.slow
def test_sanity_on_real_fashion_mnist(fashion_dir, fashion_cache, monkeypatch):
    """Real vs real: small FID; noise: huge FID; 2,000 copies of one training image: low recall and
    coverage and a clear memorisation hit."""
    from gankit.config import DataConfig
    from gankit.metrics.evaluate import prepare_reference, score

    monkeypatch.setenv("GANKIT_CACHE_DIR", str(fashion_cache))
    reference = prepare_reference(DataConfig(), "classifier", "cpu")
    train = reference.train.samples
    real = score(train[torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:10_000]], reference)
    noise = score(torch.randint(0, 256, (2_000, 1, 28, 28), dtype=torch.uint8,
                                generator=torch.Generator().manual_seed(0)), reference, ["fid", "pr"])
    copies = score(train[:1].expand(2_000, -1, -1, -1).contiguous(), reference, ["fid", "pr", "dc", "memorisation"])
    r, n, c = real["metrics"], noise["metrics"], copies["metrics"]
    assert r["fid"] < 1.0 and n["fid"] > 100 * r["fid"]
    assert r["precision"] > 0.6 and r["recall"] > 0.6 and 0.7 < r["density"] < 1.3 and r["coverage"] > 0.9
    assert r["class_coverage"] == 1.0 and r["is"] > 5
    assert r["memorisation_rate"] > 0.5  # these are training images, so "memorised" by construction
    assert n["precision"] < 0.05
    assert c["recall"] < 0.01 and c["coverage"] < 0.05 and c["memorisation_rate"] == 1.0


def test_classifier_trust_needs_accuracy_clearly_above_chance():
    from gankit.metrics.classifier import lowest_plausible_accuracy, untrusted_reason

    # the 99% Wilson bound: 30 of 30 right is at least 0.82; 0 of 30 is at least 0
    assert lowest_plausible_accuracy(30, 30) == pytest.approx(0.8189, abs=1e-3)
    assert lowest_plausible_accuracy(0, 30) == pytest.approx(0.0, abs=1e-12) and lowest_plausible_accuracy(0, 0) == 0
    two = {"classes": ["a", "b"], "chance": 0.5}
    assert untrusted_reason(two | {"test_accuracy": 1.0, "test_images": 30}) is None
    assert untrusted_reason(two | {"test_accuracy": 0.4, "test_images": 30}) == (
        "12 of 30 held-out samples right, accuracy 0.40 against chance 0.50 (27 of 30 would be needed)")
    assert "too few to show any accuracy" in untrusted_reason(two | {"test_accuracy": 1.0, "test_images": 5})
    # without a recorded chance level, one in K; Fashion-MNIST's shipped classifier is trusted
    assert untrusted_reason({"classes": list("abcdefghij"), "test_accuracy": 0.5, "test_images": 1000}) is None
    shipped = json.loads((SHIPPED / "fashion-mnist.json").read_text())
    assert untrusted_reason(shipped) is None


def test_folded_evaluator_computes_the_same_features():
    from gankit.metrics.classifier import EvaluatorNet, folded_for_inference

    torch.manual_seed(0)
    net = EvaluatorNet(1, 10)
    for module in net.modules():  # BatchNorm statistics and affine terms away from their identity defaults
        if isinstance(module, torch.nn.BatchNorm2d):
            for tensor in (module.running_mean, module.running_var, module.weight, module.bias):
                tensor.data = torch.rand_like(tensor) + 0.5
    net.eval()
    x = torch.rand(8, 1, 28, 28) * 2 - 1
    with torch.no_grad():
        expected, folded = net(x), folded_for_inference(net)(x.contiguous(memory_format=torch.channels_last))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded_for_inference(net).modules())
    for a, b in zip(folded, expected):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
