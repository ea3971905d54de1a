"""Each loss against values computed by hand from its textbook formula."""

import math

import pytest
import torch

from gankit.losses import LOSSES

REAL = torch.tensor([2.0, -1.0])
FAKE = torch.tensor([0.5, -3.0])


def sig(x):
    return 1 / (1 + math.exp(-x))


def test_bce_matches_tutorial_bce_over_combined_batch():
    # the tutorial: BCELoss(sigmoid(D([fake; real])), [0; 1]) averaged over all 2B outputs
    expected = -(math.log(sig(2.0)) + math.log(sig(-1.0)) + math.log(1 - sig(0.5)) + math.log(1 - sig(-3.0))) / 4
    assert LOSSES.get("bce").d(REAL, FAKE).item() == pytest.approx(expected, rel=1e-6)
    expected_g = -(math.log(sig(0.5)) + math.log(sig(-3.0))) / 2
    assert LOSSES.get("bce").g(FAKE).item() == pytest.approx(expected_g, rel=1e-6)
    # and torch's own BCE on the same probabilities agrees
    probs = torch.sigmoid(torch.cat([FAKE, REAL]))
    labels = torch.tensor([0.0, 0.0, 1.0, 1.0])
    assert LOSSES.get("bce").d(REAL, FAKE).item() == pytest.approx(torch.nn.BCELoss()(probs, labels).item(), rel=1e-6)


def test_bce_at_equilibrium_is_ln2():
    zeros = torch.zeros(4)
    assert LOSSES.get("bce").d(zeros, zeros).item() == pytest.approx(math.log(2))
    assert LOSSES.get("bce").g(zeros).item() == pytest.approx(math.log(2))


def test_minimax_generator_is_log_one_minus_d():
    expected = (math.log(1 - sig(0.5)) + math.log(1 - sig(-3.0))) / 2
    assert LOSSES.get("minimax").g(FAKE).item() == pytest.approx(expected, rel=1e-6)
    assert LOSSES.get("minimax").d(REAL, FAKE).item() == pytest.approx(LOSSES.get("bce").d(REAL, FAKE).item())


def test_hinge():
    # mean(max(0, 1 - r)) = (0 + 2) / 2; mean(max(0, 1 + f)) = (1.5 + 0) / 2
    assert LOSSES.get("hinge").d(REAL, FAKE).item() == pytest.approx(1.0 + 0.75)
    assert LOSSES.get("hinge").g(FAKE).item() == pytest.approx(1.25)


def test_least_squares():
    # 0.5 * (mean((r-1)^2) + mean(f^2)) = 0.5 * ((1 + 4)/2 + (0.25 + 9)/2)
    assert LOSSES.get("lsgan").d(REAL, FAKE).item() == pytest.approx(0.5 * (2.5 + 4.625))
    # 0.5 * mean((f-1)^2) = 0.5 * (0.25 + 16) / 2
    assert LOSSES.get("lsgan").g(FAKE).item() == pytest.approx(0.5 * 8.125)


def test_wasserstein():
    assert LOSSES.get("wgan-gp").d(REAL, FAKE).item() == pytest.approx(-1.25 - 0.5)
    assert LOSSES.get("wgan-gp").g(FAKE).item() == pytest.approx(1.25)
    assert LOSSES.get("wgan-gp").gp_weight == 10.0


def test_bce_is_stable_for_huge_logits():
    big = torch.tensor([1e4, -1e4])
    assert torch.isfinite(LOSSES.get("bce").d(big, -big))
    assert LOSSES.get("bce").g(torch.tensor([-1e4])).item() == pytest.approx(1e4)


def test_gradient_penalty_of_linear_critic():
    from gankit.regularizers import gradient_penalty

    w = torch.tensor([3.0, 4.0])  # ||grad|| = 5 everywhere, so the penalty is (5 - 1)^2 = 16
    critic = lambda x: x @ w  # noqa: E731
    real, fake = torch.randn(6, 2), torch.randn(6, 2)
    assert gradient_penalty(critic, real, fake, torch.rand(6)).item() == pytest.approx(16.0)
