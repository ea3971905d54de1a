"""report.html, gankit compare, gankit interpolate and TensorBoard output, through the real command; the
report is also opened in headless Chromium."""

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import assert_clean_error, gankit, make_image_folder


@pytest.fixture(scope="module")
def epochs_run(tmp_path_factory):
    """Four short epochs on a folder of 40 images (batch 10), so there are four sample grids to slide over."""
    root = tmp_path_factory.mktemp("report")
    folder = make_image_folder(root / "imgs", 40, (12, 12, 3))
    result = gankit("train", "--data", str(folder), "--image-size", "8", "--batch-size", "10", "--epochs", "4",
                    "--name", "r", "--out", str(root / "runs"), "--no-progress")
    assert result.returncode == 0, result.stderr
    return root / "runs" / "r"


def test_training_writes_a_self_contained_report(epochs_run):
    page = (epochs_run / "report.html").read_text()
    assert not re.search(r"(src|href)=\"(https?:)?//", page)  # nothing fetched from anywhere
    frames = json.loads(re.search(r'<script type="application/json" id="frames">(.*?)</script>', page).group(1))
    assert [f["label"] for f in frames] == ["epoch 1", "epoch 2", "epoch 3", "epoch 4"]
    assert all(f["src"].startswith("data:image/png;base64,") for f in frames)
    for section in ("Diagnosis", "Losses", "What D believes", "Gradient norms", "Samples", "Latent walk", "Config"):
        assert f"<h2>{section}</h2>" in page, section
    assert "expected early" not in page  # that text lives inside the chart picture, not the page
    # 16 steps: no rule has seen enough to judge, and the page says so instead of "no problems detected"
    assert "Too early to judge after 16 steps: D dominance and oscillation (after 500 steps)" in page
    assert "No problems detected" not in page
    assert "[model]\n" in page and 'name = &quot;classic&quot;' in page  # the config, escaped into a <pre>


def test_report_command_and_its_errors(epochs_run, tmp_path):
    out = tmp_path / "page.html"
    result = gankit("report", str(epochs_run), "--out", str(out), "--no-walk")
    assert result.returncode == 0, result.stderr
    assert "<h2>Latent walk</h2>" not in out.read_text()
    assert_clean_error(gankit("report", str(tmp_path / "nothing")), "is not a gankit run folder")


def test_compare_overlays_runs_and_refuses_mixed_extractors(epochs_run, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    shutil.copytree(epochs_run, a)
    shutil.copytree(epochs_run, b)
    out = tmp_path / "cmp.html"
    result = gankit("compare", str(a), str(b), "--out", str(out))
    assert result.returncode == 0, result.stderr
    page = out.read_text()
    assert "Comparing 2 runs" in page and "data:image/png;base64," in page
    assert "no scores yet (gankit eval RUN)" in page
    for run, extractor in ((a, "classifier:aaaa"), (b, "inception:bbbb")):
        with (run / "metrics.jsonl").open("a") as f:
            f.write(json.dumps({"step": 16, "epoch": 4, "fid": 30.0, "eval_n": 100, "eval_extractor": extractor}) + "\n")
    assert_clean_error(gankit("compare", str(a), str(b), "--out", str(out)),
                       "different feature extractors", "classifier:aaaa", "inception:bbbb")
    assert_clean_error(gankit("compare", str(a)), "two or more run folders")


def test_interpolate_writes_a_gif_and_a_strip(epochs_run, tmp_path):
    gif = tmp_path / "walk.gif"
    result = gankit("interpolate", str(epochs_run), "--steps", "6", "--out", str(gif))
    assert result.returncode == 0, result.stderr
    with Image.open(gif) as image:
        assert image.n_frames == 7  # 6 steps from seed 0 to seed 1, and seed 1 itself
    strip = tmp_path / "strip.png"
    result = gankit("interpolate", str(epochs_run), "--seeds", "0,1,2", "--steps", "4", "--out", str(strip))
    assert result.returncode == 0, result.stderr
    with Image.open(strip) as image:
        assert image.width > image.height  # 9 frames, 4 to a row
    assert_clean_error(gankit("interpolate", str(epochs_run), "--seeds", "3"), "--seeds must list 2 to 1000 seeds")
    assert_clean_error(gankit("interpolate", str(epochs_run), "--out", str(tmp_path / "x.jpg")), "must end in .gif or .png")


def test_walk_ends_exactly_on_the_seeds():
    import torch

    from gankit.pipeline import latents, slerp, walk_latents

    z = walk_latents(100, [3, 4], 5)
    assert len(z) == 6
    torch.testing.assert_close(z[0], latents(1, 100, 3)[0])
    torch.testing.assert_close(z[-1], latents(1, 100, 4)[0])
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    middle = slerp(a, b, torch.tensor([0.5]))[0]
    torch.testing.assert_close(middle, torch.tensor([0.5 ** 0.5, 0.5 ** 0.5]))  # on the circle, not the chord


@pytest.mark.slow
def test_tensorboard_scalars_and_images_read_back(tmp_path, fashion_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result = gankit("train", "--tensorboard", "--max-steps", "30", "--name", "tb", "--out", str(tmp_path),
                    "--no-progress")
    assert result.returncode == 0, result.stderr
    events = EventAccumulator(str(tmp_path / "tb" / "tensorboard"), size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    assert [e.step for e in events.Scalars("loss/D")] == list(range(1, 31))
    logged = [json.loads(line)["d_loss"] for line in (tmp_path / "tb" / "metrics.jsonl").read_text().splitlines()
              if "d_loss" in line]
    assert [e.value for e in events.Scalars("loss/D")] == pytest.approx(logged, abs=1e-5)  # TensorBoard keeps fp32
    assert events.Images("samples")[-1].step == 30


def test_tensorboard_missing_is_one_line(tmp_path, monkeypatch):
    """Without the package, --tensorboard is refused before a run folder is made."""
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "tensorboard.py").write_text("raise ImportError('blocked for this test')\n")
    result = gankit("train", "--tensorboard", "--max-steps", "1", "--out", str(tmp_path / "runs"),
                    env={"PYTHONPATH": str(blocker)})
    assert_clean_error(result, "--tensorboard needs the tensorboard package")
    assert not (tmp_path / "runs").exists()


# --- the page in a real browser --------------------------------------------------------------------

def test_report_renders_in_chromium(epochs_run, browser, tmp_path):
    browser.get((epochs_run / "report.html").as_uri())
    errors = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    loaded = browser.execute_script(
        "return Array.from(document.images).map(i => [i.alt, i.complete && i.naturalWidth > 0]);")
    assert loaded and all(ok for _, ok in loaded), loaded
    label = browser.find_element("id", "grid-label")
    assert label.text.startswith("epoch 4")
    first_src = browser.find_element("id", "grid").get_attribute("src")
    browser.execute_script("const s = document.getElementById('slider'); s.value = 0;"
                           "s.dispatchEvent(new Event('input'));")
    assert label.text.startswith("epoch 1")
    assert browser.find_element("id", "grid").get_attribute("src") != first_src
    shot = tmp_path / "report.png"
    browser.save_screenshot(str(shot))
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.std() > 10  # not a blank page


@pytest.mark.slow
def test_long_runs_of_large_images_give_bounded_outputs(epochs_run, tmp_path):
    """A long colour run wrote a 41 MB report and a 36 MB GIF: at most 60 grids, large ones downscaled."""
    run = Path(shutil.copytree(epochs_run, tmp_path / "long"))
    rng = np.random.default_rng(0)
    for epoch in range(5, 75):  # 520 px grids, each with its own noise: about 200 KB of PNG apiece
        picture = np.full((520, 520, 3), 128, dtype=np.uint8)
        picture[:250, :250] = rng.integers(0, 256, (250, 250, 3), dtype=np.uint8)
        Image.fromarray(picture).save(run / "samples" / f"epoch_{epoch:04d}.png")
    result = gankit("report", str(run), "--no-walk", "--out", str(tmp_path / "r.html"))
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "r.html").read_text()
    frames = json.loads(re.search(r'<script type="application/json" id="frames">(.*?)</script>', page).group(1))
    assert len(frames) == 60 and frames[0]["label"] == "epoch 1" and frames[-1]["label"] == "epoch 74"
    assert frames[-1]["src"].startswith("data:image/jpeg;base64,")
    raw = sum((run / "samples" / f"epoch_{e:04d}.png").stat().st_size for e in range(5, 75))
    assert len(page) < 0.6 * raw
    from gankit.plots import save_progress_gif

    gif = save_progress_gif(run / "samples", tmp_path / "p.gif")
    with Image.open(gif) as img:
        assert img.n_frames == 60 and max(img.size) <= 512
