"""gankit's own files, treated as untrusted: damaged logs, results and checkpoints, refused starts that
leave nothing behind, and the faults of a real (tmpfs) disk. Each case was a traceback once."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import assert_clean_error, gankit, make_image_folder
from gankit.metrics import COMPARABLE_ONLY


@pytest.fixture(scope="module")
def base_run(tmp_path_factory, fashion_cache):
    """A real run: classic, 30 steps of 20 images, checkpoints at 10, 20, 30 and final, and a saved evaluation."""
    out = tmp_path_factory.mktemp("runs")
    cache = {"GANKIT_CACHE_DIR": str(fashion_cache)}  # the session's: the test images' features are extracted once
    result = gankit("train", "--max-steps", "30", "--batch-size", "20", "--checkpoint-every", "10", "--name", "base",
                    "--out", str(out), "--no-progress", "--device", "cpu", env=cache)
    assert result.returncode == 0, result.stderr
    scored = gankit("eval", str(out / "base"), "--n", "200", "--metrics", "fid,kid", "--device", "cpu", env=cache)
    assert scored.returncode == 0, scored.stderr
    return out / "base"


@pytest.fixture
def run(base_run, tmp_path):
    """A private copy of the base run, to damage."""
    return Path(shutil.copytree(base_run, tmp_path / "copy"))


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    return result


def test_hostile_metrics_rows_are_skipped_and_counted(run, tmp_path):
    lines = (run / "metrics.jsonl").read_bytes().splitlines()
    hostile = [
        json.dumps({"kind": "diagnosis", "step": 5, "diagnosis": 12, "title": 3, "advice": None}).encode(),
        json.dumps({"kind": "step", "step": 6, "d_loss": 0.5, "d_real": 0.5, "d_fake": 0.5}).encode(),  # no g_loss
        json.dumps({"step": 7, "d_loss": "high", "g_loss": 1.0, "d_real": 0.5, "d_fake": 0.5}).encode(),
        json.dumps({"step": 10**308, "d_loss": 1e308, "g_loss": 1.0, "d_real": 0.5, "d_fake": 0.5}).encode(),
        b'{"step": 8, "d_loss": 0.1, "g_loss": "\xff\xfe", "d_real": 0.5, "d_fake": 0.5}',
        b"\x00\x81 not json at all",
    ]
    (run / "metrics.jsonl").write_bytes(b"\n".join(lines[:5] + hostile + lines[5:]) + b"\n")
    info = ok(gankit("info", str(run)))
    assert "6 unreadable rows of metrics.jsonl skipped" in info.stdout and "logged steps: 30" in info.stdout
    ok(gankit("report", str(run), "--no-walk", "--out", str(tmp_path / "r.html")))
    page = (tmp_path / "r.html").read_text()
    assert "6 unreadable rows" in page and "fid<br><small>lower is better</small>" in page
    assert "10-class classifier trained on fashion-mnist at 28x28 px" in page and COMPARABLE_ONLY in page
    ok(gankit("compare", str(run), str(run), "--out", str(tmp_path / "c.html")))
    assert COMPARABLE_ONLY in (tmp_path / "c.html").read_text()


def test_a_log_of_one_row_of_far_apart_steps_or_of_nothing_but_a_hole(run, tmp_path):
    """Issue 49's list 8: info, report and compare on a metrics.jsonl of one row, of three steps a million apart, and
    of 256 MiB of a sparse file's zeros (one unreadable line, read past in bounded pieces)."""
    rows = [row for row in (run / "metrics.jsonl").read_text().splitlines() if '"d_loss"' in row]
    logs = {"one": rows[0] + "\n",
            "apart": "".join(row.replace(f'"step": {i + 1},', f'"step": {step},') + "\n"
                             for i, (row, step) in enumerate(zip(rows, (1, 1000, 999_999))))}
    runs = []
    for name in ("one", "apart", "hole"):
        copy = Path(shutil.copytree(run, tmp_path / name))
        (copy / "metrics.jsonl").write_text(logs.get(name, ""))
        runs.append(copy)
    os.truncate(runs[2] / "metrics.jsonl", 256 * 2**20)  # a hole: zeros that take no disk
    for copy, logged in zip(runs, ("logged steps: 1\n", "logged steps: 3\n", "logged steps: 0 (1 unreadable row")):
        assert logged in ok(gankit("info", str(copy))).stdout
        ok(gankit("report", str(copy), "--no-walk", "--out", str(tmp_path / f"{copy.name}.html")))
    ok(gankit("compare", *map(str, runs), "--out", str(tmp_path / "c.html")))


@pytest.mark.parametrize("content", ['{"extractor": {"name": "x", "digest": "y"}}'])  # more in the hypothesis suite
def test_damaged_eval_results_are_left_out(run, tmp_path, content):
    (run / "eval" / "final.json").write_bytes(content.encode("latin-1"))
    ok(gankit("report", str(run), "--no-walk", "--out", str(tmp_path / "r.html")))
    assert "eval/final.json is not a gankit eval result" in (tmp_path / "r.html").read_text()
    ok(gankit("compare", str(run), str(run), "--out", str(tmp_path / "c.html")))
    assert_clean_error(gankit("eval", str(run), "--n", "20", "--compare", str(run / "eval" / "final.json")),
                       "--compare", "is not a gankit eval result")


@pytest.mark.slow
def test_damaged_checkpoints_are_shown_and_passed_over_aloud(run, tmp_path):
    meta = json.loads((run / "checkpoints" / "step_00000030" / "meta.json").read_text())
    del meta["epoch"]
    (run / "checkpoints" / "step_00000030" / "meta.json").write_text(json.dumps(meta))
    shutil.rmtree(run / "checkpoints" / "final")
    info = ok(gankit("info", str(run)))
    assert "step_00000030    DAMAGED:" in info.stdout and "lacks a valid 'epoch'" in info.stdout
    # sampling by default says which checkpoint it passed over; asking for the damaged one says why not
    sampled = ok(gankit("sample", str(run), "--n", "4", "--out", str(tmp_path / "s.png")))
    assert "passed over checkpoint" in sampled.stderr and "step_00000020" in sampled.stdout
    assert_clean_error(gankit("sample", str(run), "--checkpoint", "30"), "lacks a valid 'epoch'", "intact: step_00000010")
    # resume falls back to step 20 and says so, in the console and in the log
    resumed = ok(gankit("train", "--resume", str(run), "--max-steps", "25", "--no-report", "--no-progress"))
    assert "passed over checkpoint step_00000030" in resumed.stderr and "resuming from step_00000020" in resumed.stderr
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["checkpoint"] for r in rows if r["kind"] == "checkpoint_skipped"] == ["step_00000030"]
    assert max(r["step"] for r in rows if r["kind"] == "step") == 25


def test_truncated_weights_name_the_intact_checkpoint(run):
    weights = run / "checkpoints" / "final" / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    assert_clean_error(gankit("sample", str(run), "--n", "4"), "not a valid safetensors file",
                       "checkpoint step_00000030 is intact: use it with --checkpoint step_00000030")
    resumed = ok(gankit("train", "--resume", str(run), "--max-steps", "31", "--no-report", "--no-progress"))
    assert "passed over checkpoint final" in resumed.stderr and "resuming from step_00000030" in resumed.stderr


def test_a_failed_resume_changes_nothing(run):
    for name in ("step_00000010", "step_00000020", "step_00000030", "final"):
        (run / "checkpoints" / name / "meta.json").write_text("garbage")
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    assert_clean_error(gankit("train", "--resume", str(run), "--max-steps", "40"), "every checkpoint", "damaged")
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("args,fragment", [
    (("--seed", str(2**63)), "--seed (train.seed) must be in 0..4294967295"),
    (("--latent-dim", str(10**21)), "--latent-dim (model.latent_dim) must be in 1..65,536"),
    (("--model", "dcgan", "--set", f"model.width={10**12}"), "model.width must be in 1..16,384"),
    (("--config", "big.toml"), "train.batch_size must be in 1..1,048,576"),
    (("--epochs", str(10**9)), "--epochs (train.epochs) must be in 0..1,000,000"),
])
def test_integers_beyond_what_can_work_are_refused_before_any_folder(tmp_path, args, fragment):
    (tmp_path / "big.toml").write_text("[train]\nbatch_size = 1e99\n")
    assert_clean_error(gankit("train", *args, "--out", str(tmp_path / "runs"), cwd=tmp_path), fragment)
    assert not (tmp_path / "runs").exists()


def test_networks_that_cannot_fit_are_refused_before_allocating(tmp_path, fashion_dir):
    result = gankit("train", "--model", "sngan", "--set", "model.width=16384", "--out", str(tmp_path / "runs"))
    assert_clean_error(result, "GiB for weights, gradients and Adam's moments", "lower model.width")
    assert list((tmp_path / "runs").iterdir()) == []  # a refused start leaves nothing behind


def test_a_refused_start_leaves_no_folder(tmp_path):
    folder = make_image_folder(tmp_path / "five", 5, (16, 16, 3))
    result = gankit("train", "--data", str(folder), "--image-size", "8", "--batch-size", "64", "--out",
                    str(tmp_path / "runs"), "--name", "x")
    assert_clean_error(result, "5 samples, fewer than --batch-size 64: use --batch-size 5 or fewer, or add samples")
    assert not (tmp_path / "runs" / "x").exists()
    again = gankit("train", "--data", str(folder), "--image-size", "8", "--batch-size", "5", "--epochs", "2",
                   "--out", str(tmp_path / "runs"), "--name", "x", "--no-report")
    assert again.returncode == 0, again.stderr  # the name was not blocked
    assert "make only 2 G steps, too few for a GAN to learn much" in again.stderr


@pytest.mark.parametrize("make,fragment", [
    (lambda p: p.write_bytes(b""), "not a readable .npy array"),
    (lambda p: np.save(p, np.zeros((4, 0, 0), dtype=np.uint8)), "samples must be 1..10,000,000 images of 1 to"),
    (lambda p: p.write_bytes(b"\x93NUMPY\x01\x00v\x00{'descr': '|u1', 'fortran_order': False, 'shape': "
                             b"(1000000000000, 28, 28), }" + b" " * 52 + b"\n" + b"\x00" * 100),
     "not a readable .npy array"),
    (lambda p: np.save(p, np.zeros((3, 28, 28), dtype=np.uint8)), "need at least 6 samples"),
])
def test_bad_sample_files_get_one_line(tmp_path, fashion_dir, make, fragment):
    path = tmp_path / "s.npy"
    make(path)
    assert_clean_error(gankit("eval", "--samples", str(path), "--n", "2"), fragment)


def test_a_bug_is_one_line_and_a_saved_traceback(tmp_path):
    code = ("import sys, gankit.cli.info as info, gankit.cli.main as m\n"
            "def broken(args): raise ZeroDivisionError('boom')\n"
            "def closed(args): raise BrokenPipeError()\n"
            "info.run = broken if sys.argv[1] == 'bug' else closed\n"
            "sys.exit(m.main(['info', 'x']))\n")
    env = {"GANKIT_CACHE_DIR": str(tmp_path)}
    bug = subprocess.run([sys.executable, "-c", code, "bug"], capture_output=True, text=True,
                         env={**os.environ, **env})
    assert bug.returncode == 1 and "Traceback" not in bug.stderr
    line = bug.stderr.strip()
    assert line.startswith("gankit: internal error: ZeroDivisionError: boom; this is a bug in gankit")
    saved = next((tmp_path / "crashes").glob("gankit-crash-*.txt"))
    assert str(saved) in line and "ZeroDivisionError" in saved.read_text()
    pipe = subprocess.run([sys.executable, "-c", code, "pipe"], capture_output=True, text=True,
                          env={**os.environ, **env})
    assert pipe.returncode == 141 and pipe.stderr == ""


@pytest.fixture
def small_disk(tmp_path):
    """A 48 MiB tmpfs, filled by `fill(leave)` until `leave` bytes are free (needs root to mount)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mount)], capture_output=True,
                             text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()}); these faults need root")

    def fill(leave: int) -> None:
        stats = os.statvfs(mount)
        (mount / "filler").write_bytes(b"\0" * max(0, stats.f_bavail * stats.f_frsize - leave))

    yield mount, fill
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_disk_full_at_run_creation_leaves_nothing(small_disk, fashion_dir):
    mount, fill = small_disk
    fill(0)
    result = gankit("train", "--out", str(mount / "runs"), "--name", "x", "--max-steps", "2")
    assert_clean_error(result, "cannot create run folder", "No space left on device")
    assert sorted(p.name for p in (mount / "runs").iterdir()) == []
    (mount / "filler").unlink()
    ok(gankit("train", "--out", str(mount / "runs"), "--name", "x", "--max-steps", "2", "--no-report",
              "--set", "train.keep_checkpoints=1"))


@pytest.mark.slow
def test_disk_full_while_logging_stops_in_one_line_and_resumes(small_disk, fashion_dir):
    mount, fill = small_disk
    fill(12 * 1024)
    result = gankit("train", "--out", str(mount), "--name", "r", "--max-steps", "590", "--no-progress")
    assert_clean_error(result, "could not write", "metrics.jsonl (No space left on device)",
                       f"resume with gankit train --resume {mount / 'r'}")
    (mount / "filler").unlink()
    resumed = ok(gankit("train", "--resume", str(mount / "r"), "--max-steps", "30", "--no-progress", "--no-report"))
    assert "no complete checkpoint yet; starting it from step 0" in resumed.stderr
    steps = [json.loads(line)["step"] for line in (mount / "r" / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(1, 31))  # the torn line and the lost steps are gone


def test_disk_full_at_a_checkpoint_keeps_what_was_there(small_disk, fashion_dir):
    mount, fill = small_disk
    fill(2 * 2**20)
    result = gankit("train", "--out", str(mount), "--name", "r", "--max-steps", "5", "--no-progress")
    assert_clean_error(result, "not enough disk space for checkpoint", "the earlier checkpoints are intact")
    assert not [p for p in (mount / "r" / "checkpoints").iterdir()]  # no half-written checkpoint


@pytest.mark.parametrize("name", ["x\n", "a/b", "../x", "", "-x", "tab\there", "x\x1b[31m"])
def test_run_names_with_control_characters_or_slashes_are_refused_and_make_nothing(tmp_path, name):
    from gankit.config import Config
    from gankit.errors import GankitError
    from gankit.runs import create_run

    with pytest.raises(GankitError, match="must use letters, digits"):
        create_run(tmp_path / "runs", name, Config())
    assert not (tmp_path / "runs").exists()


READ_LOG = """
import sys
from gankit.cli.main import main
codes = [main(["info", sys.argv[1]]), main(["report", sys.argv[1]])]
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print("exits", *codes, "peak", peak // 1024, file=sys.stderr)
"""


@pytest.mark.slow
def test_info_and_report_read_a_500_mb_log_in_bounded_memory(run):
    """Issue 49: `gankit info` of 500 MB of valid rows held 1.76 GB and rising; info and report, in one process, now
    stay under 1 GB (thinned as they read). A value of 400 digits among them, which overflowed a check, is one
    unreadable row."""
    row = ('{{"kind": "step", "step": {0}, "epoch": 1, "images_seen": {1}, "seconds": 0.819, "d_loss": 0.703037, '
           '"d_grad_norm": 0.598035, "d_real": 0.488127, "d_fake": 0.497855, "g_loss": 0.695311, "g_grad_norm": 0.05}}\n')
    with open(run / "metrics.jsonl", "w") as log:
        for start in range(31, 2_500_000, 10_000):
            log.write("".join(row.format(step, 20 * step) for step in range(start, start + 10_000)))
        log.write(row.format(2_500_031, "1" + "0" * 400))
    assert (run / "metrics.jsonl").stat().st_size > 500 * 2**20
    child = subprocess.run([sys.executable, "-c", READ_LOG, str(run)], capture_output=True, text=True, timeout=600)
    assert child.returncode == 0 and "Traceback" not in child.stderr, child.stderr
    exits, peak = child.stderr.splitlines()[-1].split(" peak ")
    assert exits == "exits 0 0" and int(peak) < 1024, child.stderr[-500:]
    assert "logged steps: 2500000 (1 unreadable row of metrics.jsonl skipped)" in child.stdout, child.stdout[:2000]


def test_a_huge_log_is_read_a_line_at_a_time_and_thinned_evenly(tmp_path):
    """info, report and the charts hold about 2 x KEEP rows of each kind whatever metrics.jsonl holds (500 MB of rows
    took gigabytes); a line longer than any row is skipped without being held; the counts stay exact."""
    from gankit.runlog import MAX_ROW_BYTES, read_metrics

    step = '{{"kind": "step", "step": {0}, "d_loss": 0.5, "g_loss": 1.0, "d_real": 0.6, "d_fake": 0.4}}\n'
    with open(tmp_path / "metrics.jsonl", "w") as log:
        log.writelines(step.format(i) for i in range(1, 5001))
        log.write('{"kind": "step", "junk": "' + "x" * (3 * MAX_ROW_BYTES) + '"}\n')
        log.write('{"kind": "eval", "step": 5000, "fid": 3.5}\n')
        log.writelines(step.format(i) for i in range(5001, 10_004))
    rows = read_metrics(tmp_path / "metrics.jsonl", keep=100)
    steps = [r["step"] for r in rows if r["kind"] == "step"]
    assert rows.counts == {"step": 10_003, "eval": 1} and rows.skipped == 1
    assert 100 <= len(steps) < 200 and steps[0] == 1 and steps[-1] == 10_003 and steps == sorted(steps)
    gaps = {b - a for a, b in zip(steps[:-2], steps[1:-1])}
    assert len(gaps) == 1  # evenly spaced, but for the last row, always kept
    assert [r["step"] for r in rows if r["kind"] == "eval"] == [5000]
    assert len(read_metrics(tmp_path / "metrics.jsonl")) == 10_004  # a resume's rewrite keeps every row
