"""A page over the generator in this folder on onnxruntime and numpy alone, without torch or gankit: a Hugging Face
Space as it is, or `python app.py` (GRADIO_SERVER_NAME and GRADIO_SERVER_PORT say where to serve).

Written by `gankit export RUN --format space-onnx`: model.json describes G, space.json the page's controls, decode.py
turns G's output into samples. Seeds are numpy's (np.random.default_rng), as in the model card's onnxruntime script:
the same seed gives the same sample there and here, and another than gankit's own seeds give.
"""

import hashlib
import html
import importlib.util
import inspect
import json
import keyword
import os
import re
import signal
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Gradio reads where to keep the files it serves when it is imported: here, not the user's temporary folder
os.environ.setdefault("GRADIO_TEMP_DIR", str(HERE / "demo"))
os.environ.setdefault("MPLCONFIGDIR", str(HERE / "demo" / "matplotlib"))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")  # else onnxruntime writes a device id under ~/.cache

import gradio as gr  # noqa: E402
import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402

MAX_SEED = 2**63 - 1
ANY = ""
# small samples (28-px images) are enlarged, by whole pixels, until the picture is about this wide
DISPLAY_WIDTH = 512
CACHE_SECONDS = 3600


class Refused(Exception):
    """A value the page cannot take: its message is shown on the page."""


class Generator:
    """G's graph with what the page needs of model.json and space.json."""

    def __init__(self, folder: Path):
        try:
            self.info = json.loads((folder / "model.json").read_text(encoding="utf-8"))
            self.page = json.loads((folder / "space.json").read_text(encoding="utf-8"))
            graph = folder / "generator.onnx"
            if hashlib.sha256(graph.read_bytes()).hexdigest() != self.info["files"]["generator.onnx"]["sha256"]:
                raise Refused(f"{graph} is not the file model.json records (its sha256 differs); export it again")
            self.session = ort.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
            # decode.py by its path: two such folders in one process each keep their own
            spec = importlib.util.spec_from_file_location(f"decode_{id(self)}", folder / "decode.py")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            self.decode = module.decode
            self.latent_dim = int(self.info["latent_dim"])
            self.menus = [(menu["name"], [tuple(choice) for choice in menu["choices"]]) for menu in self.page["menus"]]
            self.rows = np.array(self.page["rows"], dtype=np.int64).reshape(len(self.page["rows"]), len(self.menus))
        except Refused:
            raise
        except Exception as exc:  # a file missing, cut or edited; onnxruntime's own errors for a damaged graph
            why = " ".join(str(exc).split())[:200]
            raise Refused(f"{folder} is not a whole space-onnx export ({type(exc).__name__}: {why}); export it "
                          "again with gankit export RUN --format space-onnx") from None

    def latents(self, n: int, seed: int) -> np.ndarray:
        return np.random.default_rng(seed).standard_normal((n, self.latent_dim), dtype=np.float32)

    def labels(self, n: int, asked: list[int | None], seed: int) -> np.ndarray | None:
        """A row per sample of the training data's combinations agreeing with the conditions asked (None: any); with
        none asked, the first condition's values in turn (a grid's columns)."""
        if not self.menus:
            return None
        pick = np.random.default_rng([seed, 1])
        out = np.empty((n, len(self.menus)), dtype=np.int64)
        for i in range(n):
            wanted = list(asked)
            if all(value is None for value in asked):
                wanted[0] = i % len(self.menus[0][1][1:])
            fits = self.rows[np.all([(self.rows[:, j] == value) if value is not None else np.ones(len(self.rows), bool)
                                     for j, value in enumerate(wanted)], axis=0)]
            if len(fits) == 0:
                raise Refused("no training sample has these conditions together; ask for fewer")
            out[i] = fits[pick.integers(len(fits))]
        return out

    def samples(self, z: np.ndarray, labels: np.ndarray | None):
        feeds = {"z": z} if labels is None else {"z": z, "labels": labels}
        return self.decode(self.session.run(None, feeds)[0], self.info)


def whole(value, name: str, low: int, high: int) -> int:
    if isinstance(value, float) and np.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        shown = f"{value:.3g}" if isinstance(value, (int, float)) and abs(value) > 10**12 else repr(value)
        raise Refused(f"{name} must be a whole number from {low:,} to {high:,}, got {shown}")
    return value


def unit(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise Refused(f"{name} must be a number from 0 to 1, got {value!r}")
    return float(value)


def slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Spherical interpolation from a to b: stays at the norm a Gaussian z has (gankit's walk)."""
    omega = np.arccos(np.clip(np.dot(a / np.linalg.norm(a), b / np.linalg.norm(b)), -1.0, 1.0))
    if abs(omega) < 1e-6:
        return a + t * (b - a)
    return ((np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)).astype(np.float32)


def grid(pixels: np.ndarray, columns: int, padding: int = 2) -> np.ndarray:
    """uint8 (N, C, H, W) -> one (rows*H, columns*W, C) picture padded in black, enlarged by whole pixels."""
    n, c, h, w = pixels.shape
    rows = -(-n // columns)
    canvas = np.zeros((rows * (h + padding) + padding, columns * (w + padding) + padding, c), dtype=np.uint8)
    for i in range(n):
        top, left = padding + (i // columns) * (h + padding), padding + (i % columns) * (w + padding)
        canvas[top : top + h, left : left + w] = pixels[i].transpose(1, 2, 0)
    picture = canvas[:, :, 0] if c == 1 else canvas
    factor = max(1, DISPLAY_WIDTH // picture.shape[1])
    return picture.repeat(factor, axis=0).repeat(factor, axis=1)


def parameter(name: str) -> str:
    name = re.sub(r"\W", "_", name)
    return f"{name}_" if keyword.iskeyword(name) or not name.isidentifier() else name


class Page:
    def __init__(self, g: Generator):
        self.g, self.shows, self.most = g, g.page["shows"], int(g.page["max_samples"])
        # the controls' names after the seeds, count and position: the API's parameters (a class is class_)
        self.names = [parameter(name) for name, _ in g.menus] + (["variety"] if g.page["variety"] else [])

    def asked(self, values) -> list[int | None]:
        out = []
        for (name, choices), value in zip(self.g.menus, values):
            if value in (None, ANY):
                out.append(None)
                continue
            known = [str(v) for _, v in choices[1:]]
            if str(value) not in known:
                raise Refused(f"{name} {str(value)[:80]!r} is not one this model knows: {', '.join(known[:20])}"
                              + (" ..." if len(known) > 20 else ""))
            out.append(known.index(str(value)))
        return out

    def split(self, values) -> tuple[float, list[int | None]]:
        k = len(self.g.menus)
        variety = unit(values[k], "variety") if self.g.page["variety"] else 1.0
        return variety, self.asked(values[:k])

    def shown(self, made, columns: int, players: int):
        if self.shows == "picture":
            return grid(made, columns)
        if self.shows == "clips":
            rate, clips = int(self.g.info["modality"]["sample_rate"]), np.round(np.clip(made, -1, 1) * 32767)
            return [gr.Audio(value=(rate, clips[i].astype(np.int16)) if i < len(clips) else None,
                             visible=i < len(clips)) for i in range(players)]
        return "\n".join(made)

    def sample(self, seed, n, *values):
        seed, n = whole(seed, "seed", 0, MAX_SEED), whole(n, "count", 1, self.most)
        variety, asked = self.split(values)
        labels = self.g.labels(n, asked, seed)
        through = labels is not None and all(value is None for value in asked)
        columns = len(self.g.menus[0][1]) - 1 if through else int(np.ceil(np.sqrt(n)))
        made = self.g.samples(self.g.latents(n, seed) * np.float32(variety), labels)
        return self.shown(made, min(columns, n), self.most)

    def walk(self, seed_a, seed_b, position, *values):
        seed_a, seed_b = whole(seed_a, "first seed", 0, MAX_SEED), whole(seed_b, "second seed", 0, MAX_SEED)
        position = unit(position, "position")
        variety, asked = self.split(values)
        a, b = self.g.latents(1, seed_a), self.g.latents(1, seed_b)
        z = a if position == 0 else b if position == 1 else slerp(a[0], b[0], position)[None]
        made = self.g.samples(z * np.float32(variety), self.g.labels(1, asked, seed_a))
        return self.shown(made, 1, 1)

    def on_page(self, method, *names: str):
        """`method` as a handler whose API parameters are `names`; a refused value is a message on the page."""
        def handler(*args):
            try:
                return method(*args)
            except Refused as exc:  # Gradio shows the message as HTML: a class name could hold markup
                raise gr.Error(html.escape(str(exc)[:1000], quote=False), print_exception=False) from None
        handler.__name__ = method.__name__
        handler.__signature__ = inspect.Signature(
            [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for name in names])
        return handler

    def slider(self, *args, **kwargs):
        """gr.Slider whose values the handlers check (Gradio's own check prints a traceback for each refused one)."""
        slider = gr.Slider(*args, **kwargs)
        slider.preprocess = lambda payload: payload
        return slider

    def controls(self) -> list:
        made = [gr.Dropdown(label=name, choices=choices, value=ANY, allow_custom_value=True)
                for name, choices in self.g.menus]
        if self.g.page["variety"]:
            made.append(self.slider(0.0, 1.0, value=1.0, step=0.05, label="variety (z scaled: 1 as trained, less is "
                                    "plainer and often cleaner)"))
        return made

    def outputs(self, players: int) -> list:
        if self.shows == "picture":
            return [gr.Image(label="samples", type="numpy", format="png", interactive=False)]
        if self.shows == "clips":
            return [gr.Audio(label=f"clip {i + 1}", type="numpy", format="wav", interactive=False)
                    for i in range(players)]
        return [gr.Textbox(label="samples", lines=12, interactive=False)]

    def build(self):
        with gr.Blocks(title=self.g.page["title"], analytics_enabled=False,
                       delete_cache=(CACHE_SECONDS, CACHE_SECONDS)) as app:
            gr.Markdown(html.escape(self.g.page["header"], quote=False))
            with gr.Tab("sample"):
                with gr.Row():
                    seed = gr.Number(value=0, precision=0, label="seed")
                    count = self.slider(1, self.most, value=min(16, self.most), step=1, label="count")
                inputs = [seed, count, *self.controls()]
                go = gr.Button("sample", variant="primary")
                out = self.outputs(self.most)
                sample = self.on_page(self.sample, "seed", "count", *self.names)
                go.click(sample, inputs, out, api_name="sample")
            with gr.Tab("walk"):
                with gr.Row():
                    seed_a = gr.Number(value=0, precision=0, label="from seed")
                    seed_b = gr.Number(value=1, precision=0, label="to seed")
                position = self.slider(0.0, 1.0, value=0.0, step=0.02, label="position on the way")
                walk_inputs = [seed_a, seed_b, position, *self.controls()]
                gr.on([c.change for c in walk_inputs], self.on_page(self.walk, "from_seed", "to_seed", "position", *self.names),
                      walk_inputs, self.outputs(1),
                      api_name="walk")
            app.load(sample, inputs, out, api_name=False)
        return app


def stop(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    try:
        app = Page(Generator(HERE)).build()
    except Refused as exc:
        print(f"app.py: error: {exc}", file=sys.stderr)
        return 2
    app.launch(quiet=True, prevent_thread_lock=True, show_error=True)
    print(f"serving {HERE} at {app.local_url} (Ctrl-C or SIGTERM to stop)", flush=True)
    signal.signal(signal.SIGTERM, stop)
    try:
        app.block_thread()
    except KeyboardInterrupt:
        pass
    finally:
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
