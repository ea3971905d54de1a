"""Hostile inputs, round two (issue 33): names no config file can hold, data that changed under a finished run,
bundles that name odd data, run folders that point outside themselves, files gankit must not overwrite. Each case
goes through the real command; docs/reliability.md lists them."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from conftest import assert_clean_error, gankit
from gankit.errors import GankitError
from gankit.models import MODELS
from gankit.pipeline import Pipeline

pytestmark = pytest.mark.slow


def image_folder(folder: Path, n: int = 20) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8)).save(folder / f"{i:02d}.png")
    return folder


TINY = ["--model", "dcgan", "--set", "model.width=4", "--batch-size", "10", "--no-progress"]


def test_a_data_path_with_an_emoji_writes_a_run_gankit_reads_back_and_one_not_in_utf8_is_refused(tmp_path):
    data = image_folder(tmp_path / "clothes \U0001f457 \x7f")
    runs = tmp_path / "runs"
    trained = gankit("train", "--data", str(data), *TINY, "--max-steps", "1", "--out", str(runs), "--name", "r")
    assert trained.returncode == 0, trained.stderr
    run = runs / "r"
    assert "\U0001f457" in (run / "config.toml").read_text(encoding="utf-8")
    for args in (("info", run), ("report", run), ("export", run, "--out", tmp_path / "b"),
                 ("train", "--resume", run, "--max-steps", "2", "--no-progress")):
        result = gankit(*map(str, args))
        assert result.returncode == 0, (args, result.stderr)

    # a bundle's model.json edited at random (sample shape, family, latent size): G is built, or one clean refusal
    original = json.loads((tmp_path / "b" / "model.json").read_text())

    shapes = st.sampled_from([[1, 28, 28], [3, 64, 64], [1, 7, 7], [3, 4096, 4096], [1, 16384], [1, 64, 64], [30, 16],
                              [4096, 64]]) | st.lists(st.integers(0, 70_000), max_size=4)
    @settings(max_examples=40, deadline=None, derandomize=True, database=None)
    @given(shape=shapes, family=st.sampled_from(MODELS.names()), latent=st.sampled_from([1, 100]) | st.integers(-1, 2**17))
    def edited(shape, family, latent):
        model = copy.deepcopy(original)
        model["sample_shape"], model["family"] = shape, family
        model["config"]["model"] = {"name": family, "latent_dim": latent}
        (tmp_path / "b" / "model.json").write_text(json.dumps(model))
        try:
            Pipeline.from_run(tmp_path / "b", device="cpu")
        except GankitError:
            pass

    edited()

    foreign = Path(os.fsdecode(str(tmp_path).encode() + b"/caf\xe9"))  # Latin-1 bytes in a UTF-8 file system
    image_folder(foreign)
    refused = gankit("train", "--data", str(foreign), *TINY, "--max-steps", "1", "--out", str(runs))
    assert_clean_error(refused, "is not UTF-8 text", "rename it")
    assert sorted(p.name for p in runs.iterdir()) == ["r"]  # a refused start leaves nothing


def test_a_finished_sound_run_and_its_bundle_do_not_look_at_their_data(tmp_path, spoken_digits):
    """A picture added to the sound folder after training (the folder would now be refused for training) and a
    bundle whose config names / as its data: sample, info, report, interpolate and export read none of it."""
    data = shutil.copytree(spoken_digits / "train", tmp_path / "sounds")
    runs = tmp_path / "runs"
    trained = gankit("train", "--data", str(data), "--model", "specgan", "--set", "model.width=8", "--batch-size", "8",
                     "--set", "model.griffin_lim=2", "--max-steps", "1", "--out", str(runs), "--name", "s",
                     "--no-progress")
    assert trained.returncode == 0, trained.stderr
    image_folder(data / "pictures", 1)
    run = runs / "s"
    bundle = tmp_path / "bundle"
    for args in (("sample", run, "--n", "2", "--out", tmp_path / "clips"), ("info", run), ("report", run),
                 ("interpolate", run, "--steps", "2", "--out", tmp_path / "walk.wav"), ("export", run, "--out", bundle)):
        result = gankit(*map(str, args))
        assert result.returncode == 0, (args, result.stderr)
    model = json.loads((bundle / "model.json").read_text())
    model["config"]["data"]["name"] = "/"
    (bundle / "model.json").write_text(json.dumps(model))
    sampled = gankit("sample", str(bundle), "--n", "2", "--out", str(tmp_path / "from-bundle"), timeout=60)
    assert sampled.returncode == 0, sampled.stderr
    assert_clean_error(gankit("train", "--resume", str(run), "--max-steps", "2"), "holds both images and sound")


def test_the_report_reads_only_the_runs_own_regular_files_and_embeds_any_text_safely(tmp_path):
    corpus = tmp_path / "names.txt"
    corpus.write_text("".join(f"{n}\n" for n in ["anna", "anne", "hanna", "hannah", "ann", "nan", "nina"] * 10))
    runs = tmp_path / "runs"
    trained = gankit("train", "--data", str(corpus), "--model", "textgan", "--set", "model.width=8", "--batch-size",
                     "8", "--max-steps", "1", "--out", str(runs), "--name", "t", "--no-progress", "--no-report")
    assert trained.returncode == 0, trained.stderr
    samples = runs / "t" / "samples"
    secret = tmp_path / "secret.txt"
    secret.write_text("the password is swordfish\n")
    grid = next(samples.glob("*.png"))
    for name in ("epoch_0002", "epoch_0003", "epoch_0004"):
        shutil.copy(grid, samples / f"{name}.png")
    (samples / "epoch_0002.txt").symlink_to(secret)  # a link out of the run
    (samples / "epoch_0003.txt").symlink_to("/dev/zero")  # an endless device
    (samples / "epoch_0004.txt").write_text("<!--<script>\n</script><b>bold</b>\n")  # text that is markup
    shutil.copy(grid, samples / "epoch_0001 (copy).png")  # a stray copy
    (samples / "epoch_0009.png").symlink_to(tmp_path / "gone.png")  # a dangling link
    report = gankit("report", str(runs / "t"), "--out", str(tmp_path / "r.html"), timeout=120)
    assert report.returncode == 0, report.stderr
    page = (tmp_path / "r.html").read_text()
    assert "swordfish" not in page and "<!--<script>" not in page and "<b>bold</b>" not in page
    embedded = re.findall(r'<script type="application/json" id="([\w-]+)">(.*?)</script>', page, flags=re.S)
    values = {name: json.loads(text) for name, text in embedded}  # each element ends where it should, and parses
    assert "<!--<script>" in json.dumps(values)  # the text is still there, as data


def test_sample_never_overwrites_and_says_where_it_cannot_write(tmp_path):
    runs = tmp_path / "runs"
    data = image_folder(tmp_path / "pictures")
    assert gankit("train", "--data", str(data), *TINY, "--max-steps", "1", "--out", str(runs), "--name", "r",
                  "--no-report").returncode == 0
    run = str(runs / "r")
    notes = tmp_path / "notes.png"
    notes.write_bytes(b"mine")
    assert_clean_error(gankit("sample", run, "--out", str(notes)), "exists; pick another name, or add --overwrite")
    assert notes.read_bytes() == b"mine"
    assert gankit("sample", run, "--out", str(notes), "--overwrite").returncode == 0 and notes.read_bytes() != b"mine"
    assert_clean_error(gankit("sample", run, "--npy", str(tmp_path / "arrays")), "must end in .npy")
    assert_clean_error(gankit("sample", run, "--npy", "/proc/samples.npy"), "could not write /proc/samples.npy")
    walk = gankit("interpolate", run, "--steps", "2", "--out", "/proc/walk.gif")
    assert_clean_error(walk, "/proc/walk.gif")
    assert "Exception ignored" not in walk.stderr


def test_sound_output_folders_are_not_mixed_into_and_wav_errors_are_one_line(tmp_path, spoken_digits):
    runs, flat = tmp_path / "runs", tmp_path / "unlabelled"
    flat.mkdir()
    for clip in (spoken_digits / "train").rglob("*.flac"):
        shutil.copy(clip, flat / f"{clip.parent.name}-{clip.name}")
    assert gankit("train", "--data", str(flat), "--model", "specgan", "--set", "model.width=8",
                  "--batch-size", "8", "--set", "model.griffin_lim=2", "--max-steps", "1", "--out", str(runs),
                  "--name", "s", "--no-progress", "--no-report").returncode == 0
    clips = tmp_path / "clips"
    clips.mkdir()
    (clips / "000.wav").write_bytes(b"my recording")
    assert_clean_error(gankit("sample", str(runs / "s"), "--n", "2", "--out", str(clips)), "already holds files")
    assert (clips / "000.wav").read_bytes() == b"my recording" and len(list(clips.iterdir())) == 1
    walk = gankit("interpolate", str(runs / "s"), "--steps", "2", "--out", "/proc/walk.wav")
    assert_clean_error(walk, "/proc/walk.wav")
    assert "Exception ignored" not in walk.stderr
    assert_clean_error(gankit("eval", str(runs / "s"), "--n", "20"), "put the clips in one subfolder per class")


def test_text_files_in_other_encodings_blank_files_and_changed_texts_are_named_for_what_they_are(tmp_path):
    names = ["anna", "anne", "hanna", "hannah", "ann", "nan", "nina"] * 10
    utf16 = tmp_path / "names16.txt"
    utf16.write_bytes("".join(f"{n}\n" for n in names).encode("utf-16"))  # with its byte order mark
    runs = tmp_path / "runs"
    fit = gankit("train", "--data", str(utf16), "--model", "ngram", "--out", str(runs), "--name", "u", "--no-progress")
    assert fit.returncode == 0, fit.stderr
    assert "(n-grams counted in one pass)" in fit.stdout
    model = json.loads((runs / "u" / "checkpoints" / "final" / "meta.json").read_text())["modality"]
    assert set(model["characters"]) == set("aehn")  # the letters ("nina" is held out), not NUL bytes between them
    bare = tmp_path / "bare16.txt"
    bare.write_bytes("anna\n".encode("utf-16-le") * 70)
    assert_clean_error(gankit("train", "--data", str(bare), "--model", "ngram", "--out", str(runs)),
                       "holds NUL bytes", "save it as UTF-8")
    blank = tmp_path / "blank.txt"
    blank.write_text("\n  \n\n")
    assert_clean_error(gankit("train", "--data", str(blank), "--model", "ngram", "--out", str(runs)),
                       "has no line to train on (3 blank lines)")

    grown = tmp_path / "grown.txt"
    grown.write_text("".join(f"{n}\n" for n in names))
    assert gankit("train", "--data", str(grown), "--model", "textgan", "--set", "model.width=8", "--batch-size", "8",
                  "--max-steps", "1", "--out", str(runs), "--name", "g", "--no-progress", "--no-report").returncode == 0
    grown.write_text("".join(f"{n}\n" for n in names + ["zoe"] * 10))
    assert_clean_error(gankit("train", "--resume", str(runs / "g"), "--max-steps", "2"),
                       "has changed since", "resume with the text it trained on")


def test_names_with_control_characters_and_markup_are_escaped_where_they_are_shown(tmp_path):
    """A file name with a newline and a terminal escape is one escaped line in a warning; class folders named as
    HTML are text in the model card."""
    data = tmp_path / "shapes"
    for label in ("<script>alert(1)", "plain"):
        image_folder(data / label, 10)
    (data / "plain" / "evil\n\x1b[2J.png").write_bytes(b"not an image")
    runs = tmp_path / "runs"
    trained = gankit("train", "--data", str(data), "--model", "cgan", "--set", "model.width=4", "--batch-size", "10",
                     "--max-steps", "1", "--out", str(runs), "--name", "c", "--no-progress", "--no-report")
    assert trained.returncode == 0, trained.stderr
    warning = next(line for line in trained.stderr.splitlines() if "skipped" in line)
    assert "evil\\n\\x1b[2J.png" in warning and "\x1b" not in trained.stderr
    assert gankit("export", str(runs / "c"), "--out", str(tmp_path / "b")).returncode == 0
    card = (tmp_path / "b" / "README.md").read_text()
    assert "\\<script\\>alert(1)" in card and "<script>" not in card
