"""Checkpoints: nested state round trips, atomic replacement, pruning, and refusing bad files."""

import json
import pickle

import pytest
import torch

from gankit import checkpoint as ckpt
from gankit.errors import GankitError

# where in training a checkpoint was taken: every checkpoint gankit writes has these
POSITION = {"epoch": 0, "batch_in_epoch": 0, "images_seen": 0}


def _save(folder, name, step=1, value=1.0):
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters())
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    rng = torch.get_rng_state()
    path = ckpt.save_checkpoint(folder, name, weights={"G.w": torch.full((2,), value)},
                                train_state={"opt": opt.state_dict(), "rng": rng},
                                meta={"step": step, "config": {}, **POSITION})
    return path, opt, rng


def test_optimizer_state_round_trip(tmp_path):
    path, opt, rng = _save(tmp_path, "step_00000001")
    meta = ckpt.read_meta(path)
    state = ckpt.load_train_state(path, meta)
    original = opt.state_dict()
    assert state["opt"]["param_groups"][0]["lr"] == original["param_groups"][0]["lr"]
    assert set(state["opt"]["state"]) == {0, 1}  # integer keys survive JSON
    for key in (0, 1):
        for name, value in original["state"][key].items():
            assert torch.equal(state["opt"]["state"][key][name], value)
    fresh = torch.optim.Adam(torch.nn.Linear(3, 2).parameters())
    fresh.load_state_dict(state["opt"])
    assert torch.equal(state["rng"], rng)


def test_replacing_is_atomic_and_prune_keeps_newest(tmp_path):
    for step in range(1, 6):
        _save(tmp_path, ckpt.step_name(step), step=step)
    _save(tmp_path, ckpt.FINAL, step=5, value=1.0)
    _save(tmp_path, ckpt.FINAL, step=5, value=2.0)  # replaces the old final
    ckpt.prune(tmp_path, keep=2)
    names = [p.name for p in ckpt.list_checkpoints(tmp_path)]
    assert names == ["step_00000004", "step_00000005", "final"]
    assert ckpt.load_tensors(tmp_path / "final", ckpt.WEIGHTS)["G.w"][0] == 2.0
    assert not list(tmp_path.glob(".*"))


def test_half_written_checkpoint_is_ignored(tmp_path):
    _save(tmp_path, ckpt.step_name(1), step=1)
    # what a kill during writing leaves: a temp folder without meta.json, owned by a dead process
    (tmp_path / ".tmp-step_00000002-999999").mkdir()
    (tmp_path / ".tmp-step_00000002-999999" / ckpt.WEIGHTS).write_bytes(b"partial")
    assert [p.name for p in ckpt.list_checkpoints(tmp_path)] == ["step_00000001"]
    ckpt.prune(tmp_path, keep=3)
    assert not (tmp_path / ".tmp-step_00000002-999999").exists()


@pytest.mark.parametrize("damage,message", [
    (lambda p: (p / ckpt.META).write_text("{not json"), "meta.json is unreadable"),
    (lambda p: (p / ckpt.META).write_text(json.dumps({"format": "other"})), "not a gankit checkpoint"),
    (lambda p: (p / ckpt.META).write_text(json.dumps({"format": ckpt.FORMAT, "step": "x", "config": {}})),
     "lacks a valid 'step'"),
])
def test_bad_meta(tmp_path, damage, message):
    path, _, _ = _save(tmp_path, "final")
    damage(path)
    with pytest.raises(GankitError, match=message):
        ckpt.read_meta(path)


def test_truncated_safetensors_and_disguised_pickle(tmp_path):
    path, _, _ = _save(tmp_path, "final")
    weights = path / ckpt.WEIGHTS
    weights.write_bytes(weights.read_bytes()[:40])
    with pytest.raises(GankitError, match="not a valid safetensors file"):
        ckpt.load_tensors(path, ckpt.WEIGHTS)

    class Exploit:
        def __reduce__(self):
            return (exec, ("raise SystemExit('pwned')",))

    weights.write_bytes(pickle.dumps(Exploit()))
    with pytest.raises(GankitError, match="not a valid safetensors file"):
        ckpt.load_tensors(path, ckpt.WEIGHTS)
    (path / ckpt.TRAIN_STATE).unlink()
    with pytest.raises(GankitError, match="incomplete: train_state.safetensors is missing"):
        ckpt.load_train_state(path, ckpt.read_meta(path))
