"""Diagnosis rules on constructed histories: each fires on its failure, once per episode, and never on a
healthy run."""

import random

from gankit.report.diagnosis import Diagnosis


def steps(start, n, d_real=0.7, d_fake=0.3, d_loss=1.1, g_loss=1.0, grad=1.0, seed=0, jitter=0.03):
    """n per-step rows from step `start` + 1, with small noise around the given levels."""
    rng = random.Random(seed)

    def noisy(x):
        return x + rng.uniform(-jitter, jitter) * max(abs(x), 0.1)

    return [{"step": start + i + 1, "d_real": noisy(d_real), "d_fake": max(0.0, noisy(d_fake)), "d_loss": noisy(d_loss),
             "g_loss": noisy(g_loss), "d_grad_norm": noisy(grad), "g_grad_norm": noisy(grad)} for i in range(n)]


def feed(diagnosis, rows, block=25):
    """As training does: rows arrive in blocks of 25."""
    found = []
    for i in range(0, len(rows), block):
        found += diagnosis.add(rows[i:i + block])
    return found


def test_a_healthy_run_raises_nothing():
    d = Diagnosis()
    rows = steps(0, 300, d_real=0.9, d_fake=0.1, d_loss=0.3, g_loss=2.5)  # D wins early: expected
    rows += steps(300, 3000, seed=1)
    found = feed(d, rows)
    found += d.add([{"step": 3300, "diversity": 0.9}, {"step": 3300, "diversity": 0.85}])
    found += d.add([{"step": 3300, "fid": 10.0, "class_coverage": 0.9}])
    assert found == []


def test_d_overpowering_is_reported_once_per_episode():
    d = Diagnosis()
    early_d_wins = steps(0, 250, d_real=0.99, d_fake=0.01, d_loss=0.02, g_loss=5)
    assert feed(d, early_d_wins) == []  # the tutorial's opening, not a problem
    rows = steps(250, 250) + steps(500, 600, d_real=0.99, d_fake=0.01, d_loss=0.02, g_loss=6.0, grad=0.01)
    found = feed(d, rows)
    assert [f.rule for f in found] == ["d_overpowers"]
    assert "D(G(z)) averaged 0.010" in found[0].title and "vanishing" in found[0].title
    assert "--lr-d" in found[0].advice
    # recovers: the episode ends after 8 clear checks once D is sure in fewer than half of the last 200 steps
    assert feed(d, steps(1100, 300)) == []
    again = feed(d, steps(1400, 300, d_real=0.99, d_fake=0.01, d_loss=0.02, g_loss=6.0))
    assert [f.rule for f in again] == ["d_overpowers"]


def test_d_overpowering_that_flickers_is_one_episode():
    """A classic run was told twice, 225 steps apart, while D's share of sure calls hovered around 95 %."""
    d = Diagnosis()
    feed(d, steps(0, 300))
    rows, rng = [], random.Random(4)
    for block in range(12):  # 200 steps at a time, alternately 99 % and 90 % of steps where D is sure
        share = 0.99 if block % 2 == 0 else 0.90
        for i in range(200):
            sure = rng.random() < share
            rows.append({"step": 301 + 200 * block + i, "d_real": 0.99 if sure else 0.8,
                         "d_fake": 0.01 if sure else 0.2, "d_loss": 0.05, "g_loss": 5.0, "d_grad_norm": 1.0,
                         "g_grad_norm": 1.0})
    assert [f.rule for f in feed(d, rows)] == ["d_overpowers"]


def test_collapse_advice_fits_the_model():
    for model, tutorial in (("classic", True), ("dcgan", False)):
        d = Diagnosis(model=model)
        feed(d, steps(0, 400))
        found = d.add([{"step": 400, "diversity": 0.3}, {"step": 425, "diversity": 0.25}])
        assert ("the tutorial's known early collapse" in found[0].advice) == tutorial


def test_advice_leaves_out_what_the_run_already_does():
    """A collapsing run with EMA and DiffAugment is not told to add them; one without them is."""
    from gankit.report.diagnosis import run_doing

    for doing, told in ((run_doing(0.999, "translation", "bce", 0, 0.5), False), (frozenset(), True)):
        d = Diagnosis(model="cgan", doing=doing)
        feed(d, steps(0, 400))
        advice = d.add([{"step": 400, "diversity": 0.3}, {"step": 425, "diversity": 0.25}])[0].advice
        assert ("--ema" in advice) == told and ("--augment" in advice) == told and "lower the learning rates" in advice


def test_mode_collapse_from_diversity_and_from_class_coverage():
    d = Diagnosis()
    feed(d, steps(0, 400))
    assert d.add([{"step": 400, "diversity": 0.3}]) == []  # one low check is not yet a collapse
    found = d.add([{"step": 425, "diversity": 0.25}])
    assert [f.rule for f in found] == ["mode_collapse"] and "0.25x as varied" in found[0].title
    d = Diagnosis()
    feed(d, steps(0, 400))
    assert d.add([{"step": 200, "fid": 20.0, "class_coverage": 1.0}]) == []
    found = d.add([{"step": 400, "fid": 25.0, "class_coverage": 0.6}])
    assert [f.rule for f in found] == ["mode_collapse"] and "fell to 0.6 from 1.0 at step 200" in found[0].title


def test_diversity_of_a_conditional_g_is_measured_within_each_class():
    """A G that ignores z makes one picture per class: varied across classes, collapsed within each."""
    import torch

    from gankit.modalities.image import ImageModality
    from gankit.report.diversity import DiversityProbe

    generator = torch.Generator().manual_seed(0)
    real = torch.randint(0, 256, (300, 1, 8, 8), dtype=torch.uint8, generator=generator)
    labels = (torch.arange(300) % 3)[:, None]
    modality = ImageModality()
    probe = DiversityProbe(real, modality.to_model, modality, latent_dim=4, seed=0, labels=labels, n=60)
    looks = torch.rand(3, 1, 8, 8, generator=generator) * 2 - 1

    class G(torch.nn.Module):
        def __init__(self, make):
            super().__init__()
            self.make = make

        def forward(self, z, y):
            return self.make(z, y)

    ignores_z = G(lambda z, y: looks[y[:, 0]])  # y: a row of labels per sample
    uses_z = G(lambda z, y: (z[:, :1, None, None].expand(-1, 1, 8, 8) + looks[y[:, 0]]).clamp(-1, 1))
    assert probe(ignores_z) == 0
    assert probe(uses_z) > 0.3
    unconditional = DiversityProbe(real, modality.to_model, modality, latent_dim=4, seed=0, n=60)
    assert unconditional(G(lambda z, y: looks[torch.arange(len(z)) % 3])) > 0.3  # one picture a class: varied overall


def test_a_preview_of_one_output_is_named_at_any_step():
    """Six steps in, 16 clips alike: no waiting for hundreds of steps, and named as clips; a varied preview later
    ends the episode."""
    from gankit.report.diagnosis import too_early

    d = Diagnosis(modality="audio")
    found = feed(d, steps(0, 6) + [{"kind": "preview", "step": 6, "samples": 16, "like_first": 16}])
    assert [f.rule for f in found] == ["identical_samples"]
    assert "all 16 preview samples at step 6 are the same clip" in found[0].title
    assert feed(d, [{"kind": "preview", "step": 7, "samples": 16, "like_first": 1}]) == []
    assert too_early(6, 0)[0] == "D dominance and oscillation (after 500 steps)" and too_early(500, 2) == []


def test_exploding_losses_are_fatal():
    d = Diagnosis()
    found = feed(d, steps(0, 500) + steps(500, 25, g_loss=5e3, grad=1e4))
    assert [(f.rule, f.severity) for f in found] == [("divergence", "fatal")]
    assert "its usual size" in found[0].title and "--lr" in found[0].advice


def test_losses_that_explode_from_the_start_are_fatal():
    """With --lr 0.1 G's loss reaches 1e7 within a hundred steps: no usual size to compare with."""
    d = Diagnosis()
    found = feed(d, steps(0, 50) + steps(50, 50, g_loss=5e7))
    assert [(f.rule, f.severity) for f in found] == [("divergence", "fatal")]
    assert found[0].title.startswith("g_loss averaged 5") and "e+07" in found[0].title


def test_oscillation_without_progress():
    swinging = []
    for block in range(8):
        swinging += steps(300 + block * 50, 50, d_fake=0.1 if block % 2 else 0.6, seed=block)
    d = Diagnosis()
    found = feed(d, steps(0, 300) + swinging)
    assert [f.rule for f in found] == ["oscillation"] and "--eval-every" in found[0].title
    # the same swings while FID keeps falling are not a problem
    d = Diagnosis()
    d.add([{"step": s, "fid": f} for s, f in ((100, 40.0), (200, 30.0), (300, 20.0), (400, 12.0))])
    assert feed(d, steps(0, 300) + swinging) == []


def test_odds_are_read_only_where_d_gives_probabilities():
    """Under WGAN-GP or hinge, sigmoid(D) is no probability: its swings and extremes are not findings."""
    swinging = [row for block in range(8) for row in steps(300 + block * 50, 50, d_fake=0.1 if block % 2 else 0.6)]
    sure = steps(300, 600, d_real=0.99, d_fake=0.01, d_loss=0.02, g_loss=6.0)
    for rows in (swinging, sure):
        assert feed(Diagnosis(probabilities=False), steps(0, 300) + rows) == []
        assert len(feed(Diagnosis(probabilities=True), steps(0, 300) + rows)) == 1


# --- real runs: settings that must trigger a rule, and a healthy one that must not -----------------

import json  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

from conftest import assert_clean_error, gankit  # noqa: E402
from gankit.device import fast_bf16  # noqa: E402

PRECISION = "bf16" if fast_bf16(torch.device("cpu")) else "fp32"


def _diagnoses(run):
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [r for r in rows if "diagnosis" in r], [r for r in rows if "diversity" in r]


@pytest.mark.slow
def test_healthy_dcgan_run_raises_nothing(tmp_path, fashion_dir):
    # width 32 and batch 50 quarter the time (its diversity at step 250 was 0.61 to 0.68 over seeds 0-2 on an AVX2
    # CPU, 0.86 to 0.93 at 500); bf16 halves it again where the CPU has bf16 units and trains the same (docs/
    # benchmarks.md: FID within seed noise), and without them it is emulated, many times slower than fp32
    result = gankit("train", "--model", "dcgan", "--max-steps", "500", "--name", "h", "--out", str(tmp_path),
                    "--no-progress", "--no-report", "--precision", PRECISION, "--set", "model.width=32",
                    "--batch-size", "50")
    assert result.returncode == 0, result.stderr
    diagnoses, diversity = _diagnoses(tmp_path / "h")
    assert diagnoses == [] and "gankit: step" not in result.stderr
    assert len(diversity) == 2 and all(0.5 < d["diversity"] < 1.5 for d in diversity)


@pytest.mark.slow
def test_d_with_ten_times_gs_learning_rate_overpowers_g(tmp_path, fashion_dir):
    # it fires at the first checks after the warm-up (steps 300-350)
    result = gankit("train", "--model", "dcgan", "--lr-g", "2e-5", "--lr-d", "2e-3", "--max-steps", "350", "--name",
                    "d", "--out", str(tmp_path), "--no-progress", "--no-report", "--precision", PRECISION, "--set",
                    "model.width=32", "--batch-size", "50")
    assert result.returncode == 0, result.stderr
    diagnoses, _ = _diagnoses(tmp_path / "d")
    assert "d_overpowers" in [d["diagnosis"] for d in diagnoses]
    assert "D is overpowering G" in result.stderr and "--lr-d" in result.stderr


@pytest.mark.slow
def test_learning_rate_0_1_is_caught(tmp_path, fashion_dir):
    result = gankit("train", "--lr", "0.1", "--max-steps", "600", "--name", "x", "--out", str(tmp_path),
                    "--no-progress")
    diagnoses, _ = _diagnoses(tmp_path / "x")
    assert diagnoses[-1]["diagnosis"] == "divergence" and diagnoses[-1]["severity"] == "fatal", result.stderr
    assert_clean_error(result, "training diverged at step", "far beyond any working GAN's losses")
