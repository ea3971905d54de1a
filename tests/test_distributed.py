"""Training in 2 processes with torch.distributed (gloo on CPU), through the real `gankit train --nproc 2`
(torchrun's agent in-process) and through `python -m torch.distributed.run` itself."""

import json
import re
import shutil
import sys
from pathlib import Path

import pytest
import torch

from conftest import assert_clean_error, gankit, make_idx_dataset
from gankit import checkpoint as ckpt
from gankit.checkpoint import load_tensors, network_weights
from gankit.models import build_models
from gankit.resolve import resolve_config
from gankit.train.distributed import params_digest

pytestmark = pytest.mark.slow

COMMON = ("--no-progress", "--no-report", "--device", "cpu", "--seed", "5")


def _train(tmp_path: Path, name: str, *args: str, nproc: int = 1) -> Path:
    extra = ("--nproc", str(nproc)) if nproc > 1 else ()
    result = gankit("train", *extra, "--name", name, "--out", str(tmp_path / "runs"), *COMMON, *args)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return tmp_path / "runs" / name


def _networks(run: Path, checkpoint: str = "final") -> dict[str, torch.Tensor]:
    return load_tensors(run / "checkpoints" / checkpoint, ckpt.WEIGHTS)


def _state(g: torch.nn.Module, d: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {**{f"G.{k}": v.clone() for k, v in g.state_dict().items()},
            **{f"D.{k}": v.clone() for k, v in d.state_dict().items()}}


def _max_difference(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a)


def test_two_processes_train_what_one_process_trains_and_resume_in_one(tmp_path):
    """Global batch 100 as 2 x 50 on two gloo ranks against 100 on one process: the ranks hold
    bit-identical weights, and those match the single process within float tolerance; the 2-process run's
    step-15 checkpoint resumed in one process ends where the single process does, within tolerance."""
    two = _train(tmp_path, "two", "--max-steps", "30", "--checkpoint-every", "15", nproc=2)
    one = _train(tmp_path, "one", "--max-steps", "30")
    meta = ckpt.read_meta(two / "checkpoints" / "final")
    assert meta["processes"] == 2 and meta["step"] == 30 and meta["images_seen"] == 3000
    # the digest every rank agreed on before saving is the digest of what rank 0 saved
    config = resolve_config(overrides={"train.device": "cpu", "train.seed": 5})
    g, d = build_models(config, (1, 28, 28))
    initial = _state(g, d)
    weights = _networks(two)
    g.load_state_dict(network_weights(weights, "G"))
    d.load_state_dict(network_weights(weights, "D"))
    assert params_digest(g, d) == meta["params_sha256"]
    # not bit-equal (batches of 50 round differently from batches of 100), but the same training: the
    # two runs' weights differ by under 1 % of how far training moved them (another seed: ~100 %)
    single = _networks(one)
    for key, start in initial.items():
        moved = (single[key] - start).norm()
        assert (weights[key] - single[key]).norm() < 0.01 * moved, key
    logged_two = [json.loads(line) for line in (two / "metrics.jsonl").read_text().splitlines()]
    logged_one = [json.loads(line) for line in (one / "metrics.jsonl").read_text().splitlines()]
    assert len(logged_two) == 30  # one writer
    # the logged losses are the global batch's (averaged over ranks)
    assert logged_two[-1]["d_loss"] == pytest.approx(logged_one[-1]["d_loss"], abs=1e-3)

    split = tmp_path / "split"  # 15 steps on 2 processes, then 15 more on 1
    shutil.copytree(two, split)
    for name in ("final", ckpt.step_name(30)):
        shutil.rmtree(split / "checkpoints" / name, ignore_errors=True)
    result = gankit("train", "--resume", str(split), "--max-steps", "30", *COMMON[:2])
    assert result.returncode == 0, result.stderr
    assert ckpt.read_meta(split / "checkpoints" / "final")["step"] == 30
    assert _max_difference(_networks(split), single) < 1e-3  # 30 Adam steps move weights ~6e-3


def test_batchnorm_augmentation_and_evaluation_in_two_processes(tmp_path):
    """dcgan (BatchNorm: two D passes per step) with DiffAugment and an evaluation each epoch, its
    samples generated and featurised by both processes and scored by the main one."""
    data = make_idx_dataset(tmp_path / "mnist", n_train=200, n_test=60)
    run = _train(tmp_path, "bn", "--data", "mnist", "--data-dir", str(data), "--model", "dcgan", "--set",
                 "model.width=8", "--batch-size", "50", "--epochs", "2", "--augment", "translation,cutout,color",
                 "--eval-every", "1", "--eval-n", "100", nproc=2)
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in rows if "eval_n" in r]
    assert [r["epoch"] for r in evals] == [1, 2] and all(r["eval_n"] == 100 and r["fid"] > 0 for r in evals)
    meta = ckpt.read_meta(run / "checkpoints" / "final")
    assert meta["processes"] == 2 and meta["step"] == 8


def test_torchrun_itself_penalties_and_a_batch_that_does_not_split(tmp_path):
    """Launched by torchrun itself; the gradient penalty and R1 take a second derivative through D, outside DDP's
    gradient hooks."""
    import subprocess

    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                             "-m", "gankit", "train", "--loss", "wgan-gp", "--n-critic", "2", "--r1", "1",
                             "--max-steps", "4", "--name", "tr", "--out", str(tmp_path / "runs"), *COMMON],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    run = tmp_path / "runs" / "tr"
    assert ckpt.read_meta(run / "checkpoints" / "final")["processes"] == 2
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["tr"]  # one run folder, not one per rank
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and all(r["gp"] > 0 and r["r1"] > 0 for r in rows)
    bad = gankit("train", "--nproc", "3", "--max-steps", "5", "--out", str(tmp_path / "runs"), *COMMON)
    assert_clean_error(bad, "--batch-size 100 does not split over 3 processes")


def test_a_failing_process_is_reported_in_one_line(tmp_path):
    """SyncBatchNorm needs CUDA: every process refuses, and the launcher adds one line, no traceback."""
    result = gankit("train", "--nproc", "2", "--model", "dcgan", "--sync-batchnorm", "--max-steps", "2",
                    "--out", str(tmp_path / "runs"), *COMMON)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("gankit: error")]
    assert any("SyncBatchNorm runs on CUDA only" in line for line in errors), result.stderr
    # both processes refuse; the launcher names whichever stopped first
    assert re.search(r"training process [01] of 2 exited with status 2;", result.stderr), result.stderr
