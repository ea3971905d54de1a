"""Shared fixtures: real Fashion-MNIST, generated idx/CIFAR files, a loopback HTTP server, the real CLI."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import io
import json
import os
import pickle
import select
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


def xdist_workers() -> int:
    """How many pytest-xdist workers run the suite (0: none, the tests run in this process)."""
    return int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))


def pytest_configure(config):
    """Under pytest-xdist (`make test` runs one worker a core) each worker and the commands it starts use their share
    of the cores: two workers of two threads each on two cores spend their time waiting for each other."""
    workers = xdist_workers()
    if workers > 1:
        os.environ["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // workers))


def pytest_collection_modifyitems(config, items):
    """With several workers, the slow tests first: one started last would end the run alone."""
    if xdist_workers() > 1:
        items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own empty gankit cache, so nothing leaks between tests or into ~/.cache."""
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("GANKIT_CACHE_DIR", str(cache))
    monkeypatch.delenv("GANKIT_DOWNLOAD_URL", raising=False)
    return cache


def made_once(tmp_path_factory, name: str, make) -> Path:
    """A session's data set, made by `make(folder)` once: under pytest-xdist by the first worker that asks, the
    others waiting for it (tests only read these)."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        out = tmp_path_factory.mktemp("data") / name
        make(out)
        return out
    from filelock import FileLock

    shared = tmp_path_factory.getbasetemp().parent / "shared-data"
    shared.mkdir(exist_ok=True)
    out = shared / name
    with FileLock(shared / f"{name}.lock"):
        if not out.exists():
            part = shared / f"{name}.part"
            shutil.rmtree(part, ignore_errors=True)
            make(part)
            part.rename(out)
    return out


@pytest.fixture(scope="session")
def fashion_cache(tmp_path_factory, request) -> Path:
    """A gankit cache shared by the tests that score against Fashion-MNIST: its reference features (60,000
    training images for the memorisation check: half a minute on two cores) are extracted once. Entries
    are keyed by the extractor's and the images' content, so sharing cannot hand a test stale values."""
    if os.environ.get("PYTEST_XDIST_WORKER"):  # one for all workers, filled by the first: none extracts them twice
        # the quick tests (-m "not slow") need only the held-out features: the training ones are 60,000 images
        quick = "not slow" in (request.config.option.markexpr or "")
        return made_once(tmp_path_factory, "fashion-cache", lambda cache: fill_fashion_cache(cache, not quick))
    return tmp_path_factory.mktemp("fashion-cache")


def fill_fashion_cache(cache: Path, training: bool) -> None:
    """The reference features the scoring tests share: held-out, and with `training` the training images' and the
    distances between them."""
    from gankit.config import DataConfig
    from gankit.metrics.evaluate import prepare_reference

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GANKIT_CACHE_DIR", str(cache))
        reference = prepare_reference(DataConfig(), "classifier", "cpu")
        reference.real_radii()
        if training:
            reference.real_to_train()


@pytest.fixture(scope="session")
def fashion_dir() -> Path:
    """The real Fashion-MNIST files (Debian's dataset-fashion-mnist; `make test` installs it)."""
    if not (FASHION_DIR / "train-images-idx3-ubyte.gz").is_file():
        pytest.fail(f"Fashion-MNIST is missing from {FASHION_DIR}; run `make data` (apt install dataset-fashion-mnist)")
    return FASHION_DIR


@pytest.fixture(scope="session")
def spoken_digits(tmp_path_factory):
    """A small spoken-digits, made by the real espeak-ng: 8 clips of each digit, one of them in the test split."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is missing: run `make speech` (apt install espeak-ng)")

    def make(out: Path) -> None:
        made = gankit("data", "spoken-digits", "--out", str(out), "--clips-per-digit", "8")
        assert made.returncode == 0, made.stderr
        assert "made spoken-digits: 70 training and 10 test clips" in made.stdout

    return made_once(tmp_path_factory, "sd", make)


@pytest.fixture(scope="session")
def emoji(tmp_path_factory):
    """A small emoji set drawn from the real Noto Color Emoji font: every tenth fully-qualified emoji (365 of them, a
    few of each Unicode group), 64 px RGBA."""
    from gankit.data.emoji import EMOJI_TEST, FONT, make_emoji

    if not EMOJI_TEST.is_file() or not FONT.is_file():
        pytest.fail("the emoji list or font is missing: run `make emoji` (apt install unicode-data fonts-noto-color-emoji)")

    def make(out: Path) -> None:
        counts = make_emoji(out, limit=365, progress=False)
        assert sum(counts.values()) == 365 and counts["test"] > 20

    return made_once(tmp_path_factory, "emoji", make)


@pytest.fixture(scope="session")
def notes(tmp_path_factory):
    """A small notes set played by the real FluidSynth: one instrument of each family (the first of each pair) over
    its four octaves at one velocity, 528 clips, 66 of them held out."""
    from gankit.data.notes import INSTRUMENTS, SOUNDFONT, make_notes

    if shutil.which("fluidsynth") is None or not SOUNDFONT.is_file():
        pytest.fail("FluidSynth or its soundfont is missing: run `make music` (apt install fluidsynth fluid-soundfont-gm)")

    def make(out: Path) -> None:
        counts = make_notes(out, instruments=INSTRUMENTS[::2], velocities=(100,), progress=False)
        assert counts == {"train": 462, "test": 66}

    return made_once(tmp_path_factory, "notes", make)


def write_idx(path: Path, array: np.ndarray, compress: bool = True) -> Path:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    raw = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return path


def make_idx_dataset(folder: Path, n_train: int = 200, n_test: int = 50, seed: int = 0) -> Path:
    """An MNIST-shaped dataset in the official file names: noise with a bright 7x7 block where the label says
    (a classifier learns it, so the classifier extractor is trusted with it)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, (n,), dtype=np.uint8)
        images = rng.integers(0, 100, (n, 28, 28), dtype=np.uint8)
        for image, label in zip(images, labels):
            top, left = 2 + 9 * (label // 3), 2 + 9 * (label % 3)
            image[top : top + 7, left : left + 7] = 255
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return folder


def make_image_folder(folder: Path, n: int, shape: tuple[int, int, int], suffix: str = ".png", seed: int = 0) -> Path:
    """n random RGB images of shape (H, W, 3) in a new folder, as a user's own image folder."""
    from PIL import Image

    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(folder / f"{i}{suffix}")
    return folder


def make_shapes_folder(folder: Path, n: int, size: int = 16, noise: bool = False) -> Path:
    """A labelled folder (circle/, square/) of coloured shapes on dark ground, as a user's own classes; with
    noise=True, random pixels under the same two names, which no classifier can tell apart."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(0)
    for i in range(n):
        cls = ("circle", "square")[i % 2]
        (folder / cls).mkdir(parents=True, exist_ok=True)
        if noise:
            image = Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
        else:
            image = Image.new("RGB", (size, size), tuple(int(v) for v in rng.integers(0, 60, 3)))
            r = int(rng.integers(size // 6, size // 3))
            x, y = (int(v) for v in rng.integers(r, size - r, 2))
            draw = ImageDraw.Draw(image)
            (draw.ellipse if cls == "circle" else draw.rectangle)((x - r, y - r, x + r, y + r),
                                                                  fill=tuple(int(v) for v in rng.integers(80, 256, 3)))
        image.save(folder / cls / f"{i}.png")
    return folder


def cifar_batch_bytes(n: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"labels": list(rng.integers(0, 10, n).tolist())}
    return pickle.dumps(batch, protocol=2)


def make_cifar_tarball(path: Path, per_batch: int = 20) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
        for i, name in enumerate(names):
            data = cifar_batch_bytes(per_batch, i)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def http_server(tmp_path):
    """A real HTTP server on 127.0.0.1 serving tmp_path/www; yields (base_url, folder)."""
    root = tmp_path / "www"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", root
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def closed_port_url():
    """A loopback URL where nothing listens (the server is down)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


class GankitServer:
    """A gankit_server.py process: `python -m gankit ARGS` in a forked child, without the 2.5 s of imports."""

    def __init__(self):
        self.process: subprocess.Popen | None = None
        self.pending = b""

    def start(self, args: list[str], cwd: Path | None = None, env: dict | None = None) -> ServedCommand | subprocess.Popen:
        """The command started, as subprocess.Popen would start it (one at a time: wait for it before the next)."""
        env = env or {**os.environ, "PYTHONUNBUFFERED": "1"}
        if SPAWN_EVERY_COMMAND:
            return subprocess.Popen([sys.executable, "-m", "gankit", *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
        if self.process is None or self.process.poll() is not None:
            self.process = subprocess.Popen([sys.executable, str(Path(__file__).with_name("gankit_server.py"))],
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, bufsize=0)
            self.pending = b""
        folder = Path(tempfile.mkdtemp(prefix="gankit-call-"))
        request = {"args": list(args), "cwd": str(cwd or os.getcwd()), "env": env, "stdout": str(folder / "stdout"),
                   "stderr": str(folder / "stderr")}
        self.process.stdin.write(json.dumps(request).encode() + b"\n")
        return ServedCommand(self, ["gankit", *args], self.reply(time.monotonic() + 120)["pid"], folder)

    def run(self, args: list[str], cwd: Path | None, env: dict, timeout: float) -> subprocess.CompletedProcess:
        command = self.start(args, cwd, env)
        try:
            out, err = command.communicate(timeout)
        except subprocess.TimeoutExpired:
            command.send_signal(signal.SIGKILL)
            out, err = command.communicate()
            raise subprocess.TimeoutExpired(command.args, timeout, out, err) from None
        return subprocess.CompletedProcess(command.args, command.returncode, out, err)

    def reply(self, deadline: float) -> dict:
        while b"\n" not in self.pending:
            if not select.select([self.process.stdout], [], [], max(0.0, deadline - time.monotonic()))[0]:
                raise TimeoutError
            chunk = os.read(self.process.stdout.fileno(), 4096)
            if not chunk:
                raise RuntimeError(f"gankit_server.py ended (exit code {self.process.wait()})")
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        return json.loads(line)

    def close(self) -> None:
        if self.process is not None:
            self.process.stdin.close()
            self.process.wait()
            self.process.stdout.close()


class ServedCommand:
    """A command GankitServer started, with the part of subprocess.Popen the tests use."""

    def __init__(self, server: GankitServer, args: list[str], pid: int, folder: Path):
        self.server, self.args, self.pid, self.folder = server, args, pid, folder
        self.returncode: int | None = None
        self.output: tuple[str, str] | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                self.returncode = self.server.reply(time.monotonic())["returncode"]
            except TimeoutError:
                pass
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, sig)

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        """Waits for the end; returns stdout and stderr (TimeoutExpired if it has not ended in time)."""
        if self.returncode is None:
            try:
                self.returncode = self.server.reply(time.monotonic() + (timeout or 10**6))["returncode"]
            except TimeoutError:
                raise subprocess.TimeoutExpired(self.args, timeout) from None
        if self.output is None:
            # a child killed (SIGKILL) before it opened its output files leaves none: it printed nothing
            self.output = tuple((self.folder / name).read_text() if (self.folder / name).is_file() else ""
                                for name in ("stdout", "stderr"))
            shutil.rmtree(self.folder, ignore_errors=True)
        return self.output


GANKIT_SERVER = GankitServer()
# set to spawn every command as a fresh interpreter (slower; the same results)
SPAWN_EVERY_COMMAND = os.environ.get("GANKIT_TESTS_SPAWN") == "1"


@pytest.fixture(scope="session", autouse=True)
def gankit_server():
    yield GANKIT_SERVER
    GANKIT_SERVER.close()


def gankit(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the real `gankit` command (`python -m gankit`) in a new process: forked from GANKIT_SERVER, or spawned
    where the caller's environment changes how Python starts (PYTHONPATH and the like)."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    if SPAWN_EVERY_COMMAND or any(key.startswith("PYTHON") and key != "PYTHONUNBUFFERED" for key in env or {}):
        return subprocess.run([sys.executable, "-m", "gankit", *args], cwd=cwd, env=full_env, capture_output=True,
                              text=True, timeout=timeout)
    return GANKIT_SERVER.run(list(args), cwd, full_env, timeout)


def peak_mib(*args: str) -> tuple[subprocess.CompletedProcess, int]:
    """`gankit ARGS` in a fresh process, and the most memory it held (MiB, the resident peak)."""
    measure = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024); sys.stdout.write(r.stderr); "
               "sys.exit(r.returncode)")
    ran = subprocess.run([sys.executable, "-c", measure, sys.executable, "-m", "gankit", *args], capture_output=True,
                         text=True, timeout=300)
    first, _, stderr = ran.stdout.partition("\n")
    return subprocess.CompletedProcess(ran.args, ran.returncode, "", stderr), int(first)


def assert_resume_is_exact(runs: Path, common: list[str], steps: int = 4, resume: tuple[str, ...] = ()) -> None:
    """`steps` G steps in one go ("whole") and half of them, then resumed with `resume`'s extra flags ("half"): the
    same losses at every step."""
    whole = gankit("train", *common, "--max-steps", str(steps), "--name", "whole")
    assert whole.returncode == 0, whole.stderr
    half = gankit("train", *common, "--max-steps", str(steps // 2), "--name", "half")
    assert half.returncode == 0, half.stderr
    resumed = gankit("train", "--resume", str(runs / "half"), "--max-steps", str(steps), "--no-progress", "--no-report",
                     *resume)
    assert resumed.returncode == 0, resumed.stderr
    rows = [[{k: v for k, v in json.loads(line).items() if k.endswith("_loss")}
             for line in (runs / name / "metrics.jsonl").read_text().splitlines() if '"g_loss"' in line]
            for name in ("whole", "half")]
    assert rows[0] == rows[1] and len(rows[0]) == steps


def assert_clean_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    """Exit code 2, one error line, no traceback, mentioning each fragment."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    # progress bars may precede it; the error itself is exactly one line
    errors = [line for line in result.stderr.splitlines() if line.startswith("gankit: error:")]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])


class PicklePayload:
    """A pickle that copies a file to `marker` when loaded by an unrestricted unpickler: loaders must refuse it."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (shutil.copyfile, (__file__, str(self.marker)))


CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


@pytest.fixture
def browser():
    """Headless Debian Chromium driven through chromedriver (`make test` installs both)."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("Chromium is missing: run `make browser` (apt install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1100,900"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()
