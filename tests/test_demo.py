"""`gankit demo` (a Gradio page over a run or bundle) and `gankit export --format space` (a bundle that is a Hugging
Face Space): the real command on loopback, driven through gradio_client and headless Chromium; the Space started
with `python app.py` in a fresh venv that installs only its requirements.txt."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import venv
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

import gankit.demo as gankit_demo
from conftest import assert_clean_error, gankit, make_shapes_folder
from gankit.cli.main import main
from gankit.demo import ANY, Demo, enlarged, scores_line
from gankit.errors import GankitError
from gankit.pipeline import Pipeline

ROOT = Path(__file__).parent.parent
GANKIT = Path(sys.executable).parent / "gankit"
# a class folder's name that is markup: the page must show it as text and never run it
MARKUP = "<img src=x onerror=alert(1)>"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """`gankit demo TARGET` (or `python app.py`) in a process of its own, with an empty HOME, TMPDIR and working
    folder, so that whatever it writes outside its demo folder shows."""

    def __init__(self, command: list[str], root: Path, env: dict | None = None):
        """`command`, in which "{port}" stands for the port picked (also in GRADIO_SERVER_PORT, which app.py reads)."""
        self.port, self.root = free_port(), root
        for part in ("home", "tmp", "cwd"):
            (root / part).mkdir(parents=True)
        env = {**os.environ, "HOME": str(root / "home"), "TMPDIR": str(root / "tmp"), "PYTHONPATH": "",
               "GRADIO_SERVER_PORT": str(self.port), **(env or {})}
        self.process = subprocess.Popen([part.replace("{port}", str(self.port)) for part in command], cwd=root / "cwd",
                                        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.url = f"http://127.0.0.1:{self.port}/"

    def wait(self, timeout: float = 180) -> Served:
        """Until the page answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the demo ended: {self.process.communicate()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.3)
        raise AssertionError("the demo did not answer in time")

    def client(self):
        from gradio_client import Client

        return Client(self.url, verbose=False, download_files=str(self.root / "downloads"))

    def stop(self) -> tuple[int | None, str, str]:
        """SIGTERM (Ctrl-C cannot reach it here: pytest-xdist's workers ignore SIGINT, and so do their children);
        None for a server that did not stop."""
        self.process.send_signal(signal.SIGTERM)
        try:
            out, err = self.process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, err = self.process.communicate()
            return None, out, err
        return self.process.returncode, out, err

    def wrote_outside(self) -> list[str]:
        return sorted(str(p.relative_to(self.root)) for part in ("home", "tmp", "cwd")
                      for p in (self.root / part).rglob("*"))


def picture(path: str) -> np.ndarray:
    return np.asarray(Image.open(path))


def expected(pipe: Pipeline, samples: torch.Tensor, nrow: int | None = None) -> np.ndarray:
    return enlarged(pipe.picture(samples, nrow))


@pytest.fixture(scope="module")
def bundles(tmp_path_factory, notes):
    """Bundles of three tiny runs: colour pictures in two classes (one named with markup), notes by family and pitch,
    and words (arae: z and a temperature)."""
    root = tmp_path_factory.mktemp("demo")
    folder = make_shapes_folder(root / "shapes", 24, size=16)
    classes = sorted(p for p in folder.iterdir() if p.is_dir())
    classes[0].rename(folder / MARKUP)
    runs = {"image": ["--data", str(folder), "--model", "cgan", "--set", "model.width=8", "--batch-size", "8"],
            "sound": ["--data", "notes", "--data-dir", str(notes), "--model", "auto", "--set", "model.width=8",
                      "--set", "model.griffin_lim=2", "--batch-size", "8"],
            "text": ["--data", "words", "--model", "arae"]}
    out = {}
    for kind, args in runs.items():
        trained = gankit("train", *args, "--max-steps", "2", "--out", str(root / "runs"), "--name", kind,
                         "--no-progress", "--no-report")
        assert trained.returncode == 0, trained.stderr
        exported = gankit("export", str(root / "runs" / kind), "--out", str(root / f"{kind}-bundle"))
        assert exported.returncode == 0, exported.stderr
        out[kind] = root / f"{kind}-bundle"
    return out


@pytest.mark.slow
def test_demo_pages_of_images_sound_and_text(bundles, browser, tmp_path):
    """Every control of each page through gradio_client, checked against the Pipeline; bad values answered on the page
    while the server goes on; screenshots; nothing written outside the demo folder."""
    from gradio_client.exceptions import AppError

    served = {kind: Served([str(GANKIT), "demo", str(bundle), "--port", "{port}"], tmp_path / kind)
              for kind, bundle in bundles.items()}
    try:
        for s in served.values():
            s.wait()
        # a port in use: one line, and no demo folder left behind
        copy = shutil.copytree(bundles["text"], tmp_path / "copy", ignore=shutil.ignore_patterns("demo"))
        busy = gankit("demo", str(copy), "--port", str(served["text"].port))
        assert_clean_error(busy, f"cannot serve the demo on 127.0.0.1, port {served['text'].port} (in use)")
        assert not (copy / "demo").exists()
        # pictures: a grid through the classes, a class at no variety (every sample z = 0: one picture), a walk
        client, pipe = served["image"].client(), Pipeline.from_run(bundles["image"], device="cpu")
        api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
        assert [p["parameter_name"] for p in api["/sample"]["parameters"]] == ["seed", "count", "class_", "variety"]
        assert [p["parameter_name"] for p in api["/walk"]["parameters"]] == ["from_seed", "to_seed", "position",
                                                                             "class_", "variety"]
        grid = picture(client.predict(3, 4, ANY, 1.0, api_name="/sample"))
        assert np.array_equal(grid, expected(pipe, pipe.sample(4, 3), pipe.grid_columns(4)))
        assert grid.shape[1] >= 400  # 16-px pictures are enlarged for a person to see
        plain = picture(client.predict(3, 4, MARKUP, 0.0, api_name="/sample"))
        zeros = torch.zeros(4, pipe.latent_dim)
        assert np.array_equal(plain, expected(pipe, pipe.generate(zeros, pipe.labels(4, MARKUP))))
        start = picture(client.predict(3, 5, 0.0, ANY, 1.0, api_name="/walk"))
        assert np.array_equal(start, expected(pipe, pipe.sample(1, 3)))
        assert not np.array_equal(picture(client.predict(3, 5, 0.5, ANY, 1.0, api_name="/walk")), start)
        for args, message in (((2**70, 4, ANY, 1.0), "seed must be a whole number from 0 to 4,294,967,295"),
                              ((-1, 4, ANY, 1.0), "seed must be a whole number"),
                              ((0, 10**9, ANY, 1.0), "count must be a whole number from 1 to 64, got 1000000000"),
                              ((0, 4, "nope", 1.0), "class 'nope' is not one of 0..1 or &lt;img src=x onerror=alert"),
                              ((0, 4, ANY, 7.0), "variety must be a number from 0 to 1, got 7.0"),
                              ((0, "many", ANY, 1.0), "count must be a whole number")):
            with pytest.raises(AppError, match=message):
                client.predict(*args, api_name="/sample")
        assert np.array_equal(picture(client.predict(3, 4, ANY, 1.0, api_name="/sample")), grid)  # still serving

        # sound: a player per clip asked for, each a WAV of the run's clip length, with their spectrograms
        client, pipe = served["sound"].client(), Pipeline.from_run(bundles["sound"], device="cpu")
        outputs = client.predict(0, 3, "brass", "60", 1.0, api_name="/sample")
        spectrograms, players = outputs[0], outputs[1:]
        assert picture(spectrograms).shape[1] >= 400 and len(players) == 8
        assert [p["visible"] for p in players] == [True] * 3 + [False] * 5
        import soundfile

        for player in players[:3]:
            clip, rate = soundfile.read(player["value"])
            assert rate == pipe.spec.modality.sample_rate and len(clip) == pipe.spec.modality.spectrogram.clip_samples
        with pytest.raises(AppError, match=r"pitch 120 \(MIDI 120\) is outside the pitches this model was trained on"):
            client.predict(0, 3, "brass", "120", 1.0, api_name="/sample")
        typed = client.predict(0, 3, "brass", "C4", 1.0, api_name="/sample")  # a pitch typed by its name
        assert [p["visible"] for p in typed[1:]] == [True] * 3 + [False] * 5
        walked = client.predict(0, 1, 0.3, ANY, "60", 1.0, api_name="/walk")
        assert len(walked) == 2 and walked[1]["visible"]

        # text: lines, at a temperature
        client = served["text"].client()
        assert client.predict(0, 5, 1.0, 0.5, api_name="/sample").count("\n") == 4  # five lines (some may be empty)
        assert "\n" not in client.predict(0, 1, 0.5, 1.0, 1.0, api_name="/walk")
        with pytest.raises(AppError, match=r"temperature must be 0 \(greedy\) or in 0.05..20, got 50.0"):
            client.predict(0, 5, 1.0, 50.0, api_name="/sample")
        with pytest.raises(AppError, match="temperature must be a number"):  # not an OverflowError
            client.predict(0, 5, 1.0, 10**400, api_name="/sample")

        # the pages in a browser: each shows its header and, from the first sample made as it loads, its samples
        from selenium.webdriver.support.ui import WebDriverWait

        shown = {"image": "#sample-picture img", "sound": "#sample-picture img", "text": "#sample-lines textarea"}
        for kind, s in served.items():
            browser.get(s.url)
            ready = (f"const e = document.querySelector('{shown[kind]}');"
                     "return e && (e.tagName === 'IMG' ? e.complete && e.naturalWidth > 0 : e.value.length > 0);")
            WebDriverWait(browser, 60).until(lambda b, ready=ready: b.execute_script(ready))
            header = " ".join(browser.find_element("id", "header").text.split())
            assert f"From the bundle {bundles[kind]}" in header and "step 2" in header and "Not evaluated" in header
            shot = tmp_path / f"demo-{kind}.png"
            browser.save_screenshot(str(shot))
            assert np.asarray(Image.open(shot).convert("L"), dtype=float).std() > 10
            if os.environ.get("GANKIT_TEST_SCREENSHOTS"):  # for a person to look at
                shutil.copy(shot, Path(os.environ["GANKIT_TEST_SCREENSHOTS"]) / shot.name)
        browser.get(served["image"].url)
        WebDriverWait(browser, 60).until(lambda b: b.execute_script(
            "const e = document.querySelector('#sample-picture img'); return e && e.naturalWidth > 0;"))
        browser.find_element("css selector", "#condition-class input").click()
        WebDriverWait(browser, 10).until(lambda b: MARKUP in b.find_element("tag name", "body").text)  # as text
        assert browser.execute_script("return document.querySelectorAll('img[src=\"x\"]').length") == 0
    finally:
        stopped = {kind: s.stop() for kind, s in served.items()}
    for kind, (code, out, err) in stopped.items():
        assert code == 0 and "Traceback" not in err, (kind, code, err)
        assert f"serving {bundles[kind]} at http://127.0.0.1:" in out
        assert served[kind].wrote_outside() == [], kind
        assert (bundles[kind] / "demo").is_dir()
    assert not list(Path(gankit_demo.__file__).parent.rglob("*.pyi"))  # Gradio writes one beside a subclass's module


def light_expected(pipe: Pipeline, seed: int, n: int, labels: list[int], variety: float = 1.0,
                   nrow: int | None = None) -> np.ndarray:
    """What a space-onnx page shows: G of numpy's z for `seed` (the card's script's), through gankit's grid."""
    z = torch.from_numpy(np.random.default_rng(seed).standard_normal((n, pipe.latent_dim), dtype=np.float32))
    return expected(pipe, pipe.generate(z * variety, torch.tensor(labels)[:, None]), nrow)


@pytest.mark.slow
def test_spaces_run_from_their_requirements_in_a_fresh_venv(tmp_path, fashion_dir):
    """`gankit export --format space` and `space-onnx`: README front matter a Space reads, app.py and
    requirements.txt. In a fresh venv that installs only the light Space's requirements (no torch, no gankit), its
    `python app.py` serves samples equal to gankit's from the same z; then, with the other Space's requirements added
    (gankit from a wheel of this checkout), gankit demo's page."""
    from gradio_client.exceptions import AppError

    from gankit import __version__

    trained = gankit("train", "--model", "cgan", "--set", "model.width=8", "--batch-size", "8", "--max-steps", "2",
                     "--out", str(tmp_path / "runs"), "--name", "r", "--no-progress", "--no-report")
    assert trained.returncode == 0, trained.stderr
    space, light = tmp_path / "space", tmp_path / "light"
    for out, kind in ((space, "space"), (light, "space-onnx")):
        exported = gankit("export", str(tmp_path / "runs" / "r"), "--format", kind, "--out", str(out))
        assert exported.returncode == 0, exported.stderr
        assert "a Hugging Face Space" in exported.stdout
        front = yaml.safe_load((out / "README.md").read_text().split("---\n")[1])
        assert front["sdk"] == "gradio" and front["app_file"] == "app.py" and "gankit" in front["tags"]
        assert front["sdk_version"].split(".")[0].isdigit()
        assert f"gankit sample {out.name}" in (out / "README.md").read_text()  # the model card follows, as before
    assert sorted(p.name for p in space.iterdir()) == ["README.md", "app.py", "generator.safetensors", "model.json",
                                                       "preview.png", "requirements.txt"]
    assert (space / "requirements.txt").read_text() == f"gankit[demo]=={__version__}\n"
    assert sorted(p.name for p in light.iterdir()) == ["README.md", "app.py", "decode.py", "generator.onnx",
                                                       "generator.safetensors", "model.json", "preview.png",
                                                       "requirements.txt", "space.json"]
    assert (light / "requirements.txt").read_text().split() == [
        f"gradio=={front['sdk_version']}", "onnxruntime>=1.20", "numpy>=1.24"]
    assert "onnx" in front["tags"]

    venv.create(tmp_path / "venv", with_pip=True)
    python = tmp_path / "venv" / "bin" / "python"

    def install(*args: str) -> None:
        done = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-compile", "-c",
                               str(ROOT / "constraints.txt"), *args], capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr

    install("-r", str(light / "requirements.txt"))
    assert subprocess.run([str(python), "-c", "import torch"], capture_output=True).returncode != 0
    pipe = Pipeline.from_run(space, device="cpu")
    served = Served([str(python), str(light / "app.py")], tmp_path / "served-light")
    try:
        served.wait()
        client = served.client()
        api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
        assert {name: [p["parameter_name"] for p in info["parameters"]] for name, info in api.items()} == {
            "/sample": ["seed", "count", "class_", "variety"],
            "/walk": ["from_seed", "to_seed", "position", "class_", "variety"]}
        # through the classes in turn; a class at no variety; the walk's start (onnxruntime may round a pixel apart)
        for got, want in ((client.predict(5, 12, ANY, 1.0, api_name="/sample"),
                           light_expected(pipe, 5, 12, [i % 10 for i in range(12)], nrow=10)),
                          (client.predict(5, 3, "Trouser", 0.0, api_name="/sample"),
                           light_expected(pipe, 5, 3, [1, 1, 1], variety=0.0)),
                          (client.predict(5, 6, 0.0, ANY, 1.0, api_name="/walk"), light_expected(pipe, 5, 1, [0]))):
            assert picture(got).shape == want.shape and np.abs(picture(got).astype(int) - want).max() <= 1
        for args, message in (((2**70, 4, ANY, 1.0), "seed must be a whole number from 0 to 9,223,372,036,854,775,807"),
                              ((0, 65, ANY, 1.0), "count must be a whole number from 1 to 64, got 65"),
                              ((0, 4, MARKUP, 1.0), "class '&lt;img src=x onerror=alert\\(1\\)&gt;' is not one"),
                              ((0, 4, ANY, 7.0), "variety must be a number from 0 to 1, got 7.0")):
            with pytest.raises(AppError, match=message):
                client.predict(*args, api_name="/sample")
    finally:
        code, out, err = served.stop()
    assert code == 0 and "Traceback" not in err, err
    assert f"serving {light} at http://127.0.0.1:{served.port}/" in out
    assert served.wrote_outside() == []

    wheels = tmp_path / "wheels"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                            str(wheels), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    install("--find-links", str(wheels), "-r", str(space / "requirements.txt"))
    served = Served([str(python), str(space / "app.py")], tmp_path / "served")
    try:
        served.wait()
        client = served.client()
        assert np.array_equal(picture(client.predict(5, 4, ANY, 1.0, api_name="/sample")),
                              expected(pipe, pipe.sample(4, 5), pipe.grid_columns(4)))
        assert np.array_equal(picture(client.predict(5, 6, 0.0, ANY, 1.0, api_name="/walk")),
                              expected(pipe, pipe.sample(1, 5)))
    finally:
        code, out, err = served.stop()
    assert code == 0 and "Traceback" not in err, err
    assert f"serving {space} at http://127.0.0.1:{served.port}/" in out
    assert served.wrote_outside() == []


def light_page(folder: Path, monkeypatch):
    """The Page of a space-onnx export's app.py, loaded in this process (no server); what it sets of the environment
    is put back after the test."""
    import importlib.util

    for key in ("GRADIO_TEMP_DIR", "MPLCONFIGDIR", "GRADIO_ANALYTICS_ENABLED"):
        monkeypatch.setenv(key, os.environ.get(key, str(folder / "demo")))
    spec = importlib.util.spec_from_file_location(f"app_{folder.name}", folder / "app.py")
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    return app, app.Page(app.Generator(folder))


@pytest.mark.slow
def test_light_spaces_of_sound_text_and_unlabelled_pictures_show_what_gankit_makes(bundles, tiny_bundle, tmp_path,
                                                                                   monkeypatch):
    """space-onnx pages of notes by family and pitch, of words and of an unconditional G: clips (a player each),
    lines and pictures as gankit decodes them from the same z; a pitch menu by note name; combinations the data never
    had refused; a damaged export is one line at start-up."""
    runs = {"sound": bundles["sound"].parent / "runs" / "sound", "text": bundles["text"].parent / "runs" / "text",
            "image": tiny_bundle.parent / "runs" / "r"}
    light = {}
    for kind, run in runs.items():
        light[kind] = tmp_path / kind
        exported = gankit("export", str(run), "--format", "space-onnx", "--out", str(light[kind]))
        assert exported.returncode == 0, exported.stderr
    app, page = light_page(light["image"], monkeypatch)
    pipe = Pipeline.from_run(light["image"], device="cpu")
    assert page.g.menus == [] and page.names == ["variety"]
    z = torch.from_numpy(np.random.default_rng(2).standard_normal((5, pipe.latent_dim), dtype=np.float32))
    assert np.abs(page.sample(2, 5, 0.5).astype(int) - expected(pipe, pipe.generate(z * 0.5))).max() <= 1

    app, page = light_page(light["sound"], monkeypatch)
    pipe = Pipeline.from_run(light["sound"], device="cpu")
    menus = dict(page.g.menus)
    assert list(menus) == ["class", "pitch"] and ["C4 (60)", "60"] in [list(c) for c in menus["pitch"]]
    players = page.sample(0, 3, "brass", "60", 1.0)
    assert len(players) == 8 and [p.visible for p in players] == [True] * 3 + [False] * 5
    z = torch.from_numpy(np.random.default_rng(0).standard_normal((3, pipe.latent_dim), dtype=np.float32))
    want = pipe.generate(z, pipe.labels(3, asked={"class": "brass", "pitch": "60"}))[:, 0].numpy()
    for player, clip in zip(players, want):  # numpy's float64 Griffin-Lim against torch's float32 (test_export)
        rate, got = player.constructor_args["value"]
        assert rate == pipe.spec.modality.sample_rate and got.dtype == np.int16 and len(got) == len(clip)
        assert np.abs(got / 32767 - clip).max() < 0.05
    brass = [value for _, value in menus["class"][1:]].index("brass")
    never = next(value for i, (_, value) in enumerate(menus["pitch"][1:]) if not any(page.g.rows[:, 1][
        page.g.rows[:, 0] == brass] == i))  # a pitch of the data that no brass note has
    with pytest.raises(app.Refused, match="no training sample has these conditions together"):
        page.sample(0, 3, "brass", never, 1.0)
    with pytest.raises(app.Refused, match="pitch 'C4' is not one this model knows"):
        page.sample(0, 3, ANY, "C4", 1.0)
    assert len(page.walk(0, 1, 0.3, ANY, "60", 1.0)) == 1

    app, page = light_page(light["text"], monkeypatch)
    pipe = Pipeline.from_run(light["text"], device="cpu")
    z = torch.from_numpy(np.random.default_rng(4).standard_normal((5, pipe.latent_dim), dtype=np.float32))
    assert page.sample(4, 5, 1.0).split("\n") == pipe.spec.modality.lines(pipe.generate(z))

    (light["text"] / "generator.onnx").write_bytes(b"not a graph")
    with pytest.raises(app.Refused, match="generator.onnx is not the file model.json records"):
        app.Generator(light["text"])
    (light["sound"] / "space.json").write_text("{")
    with pytest.raises(app.Refused, match=r"is not a whole space-onnx export \(JSONDecodeError"):
        app.Generator(light["sound"])


@pytest.fixture(scope="module")
def tiny_bundle(tmp_path_factory, fashion_dir):
    root = tmp_path_factory.mktemp("tiny")
    trained = gankit("train", "--model", "dcgan", "--set", "model.width=8", "--batch-size", "8", "--max-steps", "2",
                     "--out", str(root / "runs"), "--name", "r", "--no-progress", "--no-report")
    assert trained.returncode == 0, trained.stderr
    exported = gankit("export", str(root / "runs" / "r"), "--out", str(root / "bundle"))
    assert exported.returncode == 0, exported.stderr
    return root / "bundle"


def test_demo_without_gradio_says_what_to_install(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "gradio", None)  # as if it were not installed
    assert main(["demo", str(tmp_path)]) == 2
    assert "gankit demo needs Gradio, an optional extra: pip install 'gankit[demo]'" in capsys.readouterr().err


def test_a_damaged_bundle_is_one_line_and_leaves_nothing(tiny_bundle, tmp_path):
    bundle = Path(shutil.copytree(tiny_bundle, tmp_path / "b"))
    model = json.loads((bundle / "model.json").read_text())
    (bundle / "model.json").write_text(json.dumps({**model, "config": {**model["config"], "model": {"name": "nope"}}}))
    assert_clean_error(gankit("demo", str(bundle), "--port", str(free_port())), "model.name must be one of")
    (bundle / "model.json").write_text("{")
    assert_clean_error(gankit("demo", str(bundle)), "model.json is unreadable")
    assert not (bundle / "demo").exists()
    assert_clean_error(gankit("demo", str(bundle), "--port", "70000"), "--port must be in 1..65535")


def test_the_page_reads_an_edited_bundle_as_text(tiny_bundle, tmp_path):
    """An edited card is never read; an edited model.json's evaluation and run name show as text, or not at all."""
    bundle = Path(shutil.copytree(tiny_bundle, tmp_path / "b"))
    (bundle / "README.md").write_text("<script>alert(1)</script>\n---\n: [")
    model = json.loads((bundle / "model.json").read_text())
    model["source"]["run"] = "<b>run</b> `x`"
    model["evaluation"] = {"n": 10**30, "metrics": {"fid": 1.5, "<script>": 2.0, "kid": "high", "is": [1]},
                           "yardsticks": {"real data": {"metrics": {"fid": 0.1}}, "noise": "x", "<i>": {"metrics": 7}}}
    (bundle / "model.json").write_text(json.dumps(model))
    header = Demo(bundle).header()
    assert "<b>" not in header and "<script>" not in header and r"\<b\>run\</b\>" in header
    assert "fid **1.5** (real data 0.1)" in header and r"\<script\> **2**" in header and "high" not in header
    assert scores_line(None).startswith("Not evaluated") and scores_line({"metrics": {}}).startswith("Not evaluated")
    huge = scores_line({"metrics": {"fid": 10**400, "kid": 0.5}, "yardsticks": {"real data": {"metrics": {"kid": 10**400}}}})
    assert huge.endswith("kid **0.5**")  # a 400-digit number is no score (math.isfinite overflowed on it)


@pytest.mark.parametrize("args, message", [
    ((2**70, 4, 1.0), "seed must be a whole number from 0 to 4,294,967,295, got 1.18e+21"),
    ((True, 4, 1.0), "seed must be a whole number"), (("3", 4, 1.0), "seed must be a whole number"),
    ((1.5, 4, 1.0), "seed must be a whole number"), ((float("nan"), 4, 1.0), "seed must be a whole number"),
    ((0, 0, 1.0), "count must be a whole number from 1 to 64"), ((0, 65, 1.0), "count must be"),
    ((0, 4, -0.1), "variety must be a number from 0 to 1"), ((0, 4, float("nan")), "variety must be"),
])
def test_the_page_refuses_values_out_of_range(tiny_bundle, args, message):
    demo = Demo(tiny_bundle)
    with pytest.raises(GankitError, match=message.replace("(", r"\(").replace("+", r"\+")):
        demo.sample(*args, None)
    assert demo.sample(4.0, 2, 1, None)["picture"].ndim == 2  # a whole float is a whole number; grey as (H, W)
