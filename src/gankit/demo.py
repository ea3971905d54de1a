"""`gankit demo`: a page a person can steer, over a run or a bundle (a Gradio app, the field's way to share a model).

What the page offers comes from the model's own declaration, never from the name of its data: a menu for each of its
conditions (a class, a pitch), a temperature for a model that writes text a character at a time, and what its kind
of data shows (Modality.demo_shows: a picture, clips to play, lines of text). `Demo` holds the logic and knows
nothing of Gradio; `Page` lays it out. Gradio is an optional extra, imported after the model loaded, so that a
bad path fails in one line without it.

Gradio writes the files it serves under the demo folder (RUN/demo, BUNDLE/demo) and nowhere else: it reads
GRADIO_TEMP_DIR when it is imported, so `serve` sets that first.
"""

from __future__ import annotations

import html
import importlib.util
import inspect
import keyword
import math
import os
import re
import shutil
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gankit import conditions
from gankit.bundle import is_bundle
from gankit.card import a_or_an, code_text, md_text
from gankit.config import MAX_SEED
from gankit.errors import GankitError, one_line, printable
from gankit.models import MODELS
from gankit.music import note_name
from gankit.pipeline import Pipeline, slerp
from gankit.runlog import is_measurement, read_eval_result

DEMO_EXTRA = "pip install 'gankit[demo]'"
FOLDER = "demo"
# the menu entry that asks nothing of a condition: a grid goes through the classes, a single sample takes the first
ANY_LABEL, ANY = "(any)", ""  # "" is no class folder's name
# small samples (28-px images) are enlarged, by whole pixels, until the picture is about this wide
DISPLAY_WIDTH = 512
CACHE_SECONDS = 3600
NOT_EVALUATED = "Not evaluated: `gankit eval RUN` scores this checkpoint, and the page shows its scores."
# scores shown in the page's header, at most
HEADER_SCORES = 16


def check_gradio() -> None:
    if importlib.util.find_spec("gradio") is None:
        raise GankitError(f"gankit demo needs Gradio, an optional extra: {DEMO_EXTRA}")


class Demo:
    """A run's or bundle's G as the page uses it: samples by seed, conditions and variety; a walk between two seeds.
    Requests may come at once (Gradio serves each in a thread): G runs for one at a time."""

    def __init__(self, path: str | Path, checkpoint: str | None = None, device: str = "cpu"):
        self.path = Path(path)
        self.is_bundle = is_bundle(path)
        self.pipe = Pipeline.from_run(path, checkpoint, device)
        self.modality = self.pipe.spec.modality
        self.shows = self.modality.demo_shows
        self.max_samples = self.modality.demo_max
        generator = self.pipe.generator
        # z is Gaussian input to scale toward its mean (the truncation trick); to a model fitted by maximum likelihood
        # it is only the dice of its draws, whose variety its temperature sets
        self.variety = not MODELS.get(self.pipe.config.model.name).likelihood
        self.temperature = getattr(generator, "temperature", None)  # None: G makes its samples from z alone
        self.greedy_ok = bool(getattr(generator, "greedy", False))
        self._lock = threading.Lock()

    def menus(self) -> list[tuple[str, list[tuple[str, str]]]]:
        return menus(self.pipe.spec.conditions)

    def sample(self, seed: Any, n: Any, variety: Any, temperature: Any, *asked: Any) -> dict[str, Any]:
        """What the page shows of n samples from seed's latents, each scaled by `variety`, with the conditions asked
        (one menu value each, ANY for none): when none is asked, a grid through the first condition's values."""
        seed, n = _whole(seed, "seed", 0, MAX_SEED), _whole(n, "count", 1, self.max_samples)
        variety = _unit(variety, "variety")
        wanted = self._asked(asked)
        with self._lock:
            self._set_temperature(temperature)
            labels = self.pipe.labels(n, asked=wanted or None, seed=seed)
            samples = self.pipe.generate(self.pipe.latents(n, seed) * variety, labels)
        grid = self.pipe.grid_columns(n) if self.pipe.conditional and not wanted else None
        return self._parts(samples, grid)

    def walk(self, seed_a: Any, seed_b: Any, position: Any, variety: Any, temperature: Any,
             *asked: Any) -> dict[str, Any]:
        """One sample at `position` (0: seed_a's, 1: seed_b's) on the spherical path between the two seeds' z."""
        seed_a, seed_b = _whole(seed_a, "first seed", 0, MAX_SEED), _whole(seed_b, "second seed", 0, MAX_SEED)
        position, variety = _unit(position, "position"), _unit(variety, "variety")
        wanted = self._asked(asked)
        a, b = self.pipe.latents(1, seed_a).cpu(), self.pipe.latents(1, seed_b).cpu()
        # the ends are the seeds' own z (slerp's arithmetic moves a third of them by a rounding error)
        z = a if position == 0 else b if position == 1 else slerp(a[0], b[0], torch.tensor([position]))
        z = z.to(self.pipe.device) * variety
        with self._lock:
            self._set_temperature(temperature)
            samples = self.pipe.generate(z, self.pipe.labels(1, asked=wanted or None, seed=seed_a))
        return self._parts(samples, None)

    def _asked(self, asked: tuple[Any, ...]) -> dict[str, str]:
        menus = self.pipe.spec.conditions
        if len(asked) != len(menus):
            raise GankitError(f"this model takes {len(menus)} condition(s), got {len(asked)}")
        wanted = {}
        for condition, value in zip(menus, asked):
            if value in (None, ANY):
                continue
            condition.index(str(value))  # one line naming the values it knows
            wanted[condition.name] = str(value)
        return wanted

    def _set_temperature(self, temperature: Any) -> None:
        if self.temperature is None or temperature is None:
            return
        if not is_measurement(temperature):  # math.isfinite overflows on a 400-digit integer
            raise GankitError(f"temperature must be a number, got {temperature!r}")
        self.pipe.set_temperature(float(temperature))

    def _parts(self, samples: torch.Tensor, nrow: int | None) -> dict[str, Any]:
        parts = self.modality.demo_parts(samples, nrow)
        if "picture" in parts:
            parts["picture"] = enlarged(parts["picture"])
        return parts

    def header(self) -> str:
        """Markdown: which model, checkpoint and step the page shows, and its last scores beside their yardsticks."""
        pipe, meta = self.pipe, self.pipe.meta
        source = meta.get("source") if isinstance(meta.get("source"), dict) else {}
        name = source.get("run") if self.is_bundle and isinstance(source.get("run"), str) else self.path.resolve().name
        checkpoint = source.get("checkpoint") if self.is_bundle else pipe.checkpoint.name
        family = pipe.config.model.name
        what = self.modality.describe(list(pipe.spec.shape))
        kind = "bundle" if self.is_bundle else "run"
        lines = [f"## {md_text(name)}: {a_or_an(family)} {md_text(family)} generator of {md_text(what)}",
                 f"From the {kind} `{code_text(str(self.path))}`, checkpoint `{code_text(str(checkpoint))}`, step "
                 f"{meta.get('step', '?')}, {'the moving average of G' if pipe.weights == 'G_ema' else 'G as trained'}; "
                 f"sampled on {pipe.device.type}."]
        lines.append(scores_line(self._evaluation()))
        return "\n\n".join(lines)

    def _evaluation(self) -> dict[str, Any] | None:
        if self.is_bundle:
            result = self.pipe.meta.get("evaluation")
            return result if isinstance(result, dict) else None
        path = self.path / "eval" / f"{self.pipe.checkpoint.name}.json"
        try:
            return read_eval_result(path) if path.is_file() else None
        except GankitError:
            return None


def menus(named: conditions.Conditions) -> list[tuple[str, list[tuple[str, str]]]]:
    """(name, [(label, value)]) of each condition: ANY first, then its values (a pitch's by note name too)."""
    out = []
    for condition in named:
        if condition.name == conditions.PITCH:
            values = [(f"{note_name(int(v))} ({v})", v) for v in condition.values]
        else:
            values = [(printable(v), v) for v in condition.values]
        out.append((condition.name, [(ANY_LABEL, ANY), *values]))
    return out


def scores_line(result: dict[str, Any] | None) -> str:
    """The scores of the checkpoint's last `gankit eval`, each beside its yardsticks (real data, noise)."""
    if not result or not isinstance(result.get("metrics"), dict):
        return NOT_EVALUATED
    sticks = result.get("yardsticks") if isinstance(result.get("yardsticks"), dict) else {}
    shown = []
    for key, value in result["metrics"].items():
        if not is_measurement(value) or key.endswith("_std") or len(shown) == HEADER_SCORES:  # the spreads: noise here
            continue
        beside = [f"{md_text(stick)} {stick_metrics[key]:.3g}" for stick, held in sticks.items()
                  if isinstance(held, dict) and isinstance(stick_metrics := held.get("metrics"), dict)
                  and is_measurement(stick_metrics.get(key))]
        shown.append(f"{md_text(key)} **{value:.4g}**" + (f" ({', '.join(beside)})" if beside else ""))
    n = result.get("n")
    of = f" of {n:,} samples" if isinstance(n, int) and not isinstance(n, bool) else ""
    return f"Scores{of} (`gankit eval`; yardsticks in brackets): " + "; ".join(shown) if shown else \
        NOT_EVALUATED


def _whole(value: Any, name: str, low: int, high: int) -> int:
    """A whole number from the page (an integer, or a float with nothing after the point), in low..high."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        shown = f"{value:.3g}" if isinstance(value, (int, float)) and abs(value) > 10**12 else repr(value)
        raise GankitError(f"{name} must be a whole number from {low:,} to {high:,}, got {shown}")
    return value


def _unit(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise GankitError(f"{name} must be a number from 0 to 1, got {value!r}")
    return float(value)


def enlarged(picture: np.ndarray) -> np.ndarray:
    """A small picture repeated by whole pixels (no blur) until it is about DISPLAY_WIDTH wide."""
    if picture.ndim == 3 and picture.shape[2] == 1:
        picture = picture[:, :, 0]  # grey as (H, W): what an image viewer takes
    factor = max(1, DISPLAY_WIDTH // max(1, picture.shape[1]))
    return picture.repeat(factor, axis=0).repeat(factor, axis=1) if factor > 1 else picture


def demo_folder(path: Path) -> Path:
    """Where the page's files go: RUN/demo or BUNDLE/demo; one line when it cannot be made."""
    folder = Path(path) / FOLDER
    try:
        folder.mkdir(exist_ok=True)
        probe = folder / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise GankitError(f"cannot write the demo's files to {folder} ({exc.strerror or exc}); copy the run or "
                          "bundle to a folder you can write to") from None
    return folder


def parameter(name: str) -> str:
    """A condition's name as a Python parameter name, the API's name for its control (class -> class_)."""
    name = re.sub(r"\W", "_", name)
    return f"{name}_" if keyword.iskeyword(name) or not name.isidentifier() else name


class Page:
    """The Gradio page over a Demo: a sample tab (seed, count, conditions, variety, temperature) and a walk tab.
    Gradio is imported here, after the model loaded and GRADIO_TEMP_DIR was set."""

    def __init__(self, demo: Demo):
        import gradio as gr

        self.gr, self.demo = gr, demo
        # the controls' names after the seeds, count and position, in order: the API's parameters
        self.settings = [parameter(name) for name, _ in demo.menus()] + (["variety"] if demo.variety else []) + \
            (["temperature"] if demo.temperature is not None else [])

    def on_page(self, method, *names: str):
        """`method` as the page's handler, taking the controls' values under `names`: a bad value is a message on the
        page, a bug also a traceback on the console, and the server goes on either way."""
        gr = self.gr

        def handler(*args):
            try:
                return method(*args)
            except GankitError as exc:  # Gradio shows the message as HTML: a class name could hold markup
                raise gr.Error(html.escape(printable(str(exc))[:1000], quote=False), print_exception=False) from None
            except Exception as exc:
                print(f"gankit demo: internal error: {type(exc).__name__}: {one_line(exc)}\n"
                      f"{traceback.format_exc()}", file=sys.stderr)
                raise gr.Error(f"internal error ({type(exc).__name__}); this is a bug in gankit, please report it "
                               "with the console's traceback", print_exception=False) from None
        handler.__name__ = method.__name__
        handler.__signature__ = inspect.Signature(
            [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for name in names])
        return handler

    def slider(self, *args, **kwargs):
        """gr.Slider, whose values the handlers check themselves: Gradio's own check of its range prints a traceback
        on the console for every value out of range the API sends. (Not a subclass: Gradio writes a .pyi file beside
        the module of every subclass of its components.)"""
        slider = self.gr.Slider(*args, **kwargs)
        slider.preprocess = lambda payload: payload
        return slider

    def outputs(self, prefix: str, players: int) -> list:
        gr, shows, label = self.gr, self.demo.shows, "samples" if players > 1 else "sample"
        made = []
        if "picture" in shows:
            made.append(gr.Image(label=label, type="numpy", format="png", interactive=False,
                                 elem_id=f"{prefix}-picture"))
        if "clips" in shows:
            made += [gr.Audio(label=f"clip {i + 1}", type="numpy", format="wav", interactive=False,
                              elem_id=f"{prefix}-clip-{i}") for i in range(players)]
        if "lines" in shows:
            made.append(gr.Textbox(label=label, lines=12, interactive=False, buttons=["copy"],
                                   elem_id=f"{prefix}-lines"))
        return made

    def shown(self, parts: dict[str, Any], players: int):
        """The outputs' values for `parts` (Demo.sample's, Demo.walk's): a player per clip, the rest hidden."""
        values = []
        if "picture" in self.demo.shows:
            values.append(parts["picture"])
        if "clips" in self.demo.shows:
            clips = parts["clips"]
            values += [self.gr.Audio(value=clips[i] if i < len(clips) else None, visible=i < len(clips))
                       for i in range(players)]
        if "lines" in self.demo.shows:
            values.append("\n".join(parts["lines"]))
        return values[0] if len(values) == 1 else values  # Gradio takes one output's value alone

    def controls(self) -> list:
        demo = self.demo
        # a value may be typed as well as picked (a pitch as C4): the handlers check it, with a message on the page
        made = [self.gr.Dropdown(label=name, choices=choices, value=ANY, allow_custom_value=True,
                                 elem_id=f"condition-{name}") for name, choices in demo.menus()]
        if demo.variety:
            made.append(self.slider(0.0, 1.0, value=1.0, step=0.05, label="variety (z scaled: 1 as trained, less is "
                                    "plainer and often cleaner)"))
        if demo.temperature is not None:
            low = 0.0 if demo.greedy_ok else 0.05
            made.append(self.slider(low, 2.0, value=float(demo.temperature), step=0.05, label="temperature" + (
                " (0: the likeliest character each time)" if low == 0 else "")))
        return made

    def split(self, values: tuple) -> tuple[Any, Any, list]:
        """The controls' values -> (variety, temperature, conditions)."""
        k = len(self.demo.pipe.spec.conditions)
        named = dict(zip(self.settings[k:], values[k:]))
        return named.get("variety", 1.0), named.get("temperature"), list(values[:k])

    def sample_tab(self):
        """The sample tab; returns its handler and the inputs and outputs it takes (the page samples as it loads)."""
        gr, demo = self.gr, self.demo
        with gr.Row():
            seed = gr.Number(value=0, precision=0, label="seed", elem_id="seed")
            count = self.slider(1, demo.max_samples, value=min(16, demo.max_samples), step=1, label="count")
        inputs = [seed, count, *self.controls()]
        go = gr.Button("sample", variant="primary", elem_id="sample-button")
        out = self.outputs("sample", demo.max_samples)

        def sample(seed_value, n, *values):
            variety, temperature, asked = self.split(values)
            return self.shown(demo.sample(seed_value, n, variety, temperature, *asked), demo.max_samples)

        handler = self.on_page(sample, "seed", "count", *self.settings)
        go.click(handler, inputs, out, api_name="sample")
        return handler, inputs, out

    def walk_tab(self) -> None:
        gr, demo = self.gr, self.demo
        with gr.Row():
            seed_a = gr.Number(value=0, precision=0, label="from seed")
            seed_b = gr.Number(value=1, precision=0, label="to seed")
        position = self.slider(0.0, 1.0, value=0.0, step=0.02, label="position on the way", elem_id="position")
        inputs = [seed_a, seed_b, position, *self.controls()]
        out = self.outputs("walk", 1)

        def walk(a, b, where, *values):
            variety, temperature, asked = self.split(values)
            return self.shown(demo.walk(a, b, where, variety, temperature, *asked), 1)

        # any control moves the walk (the slider as it is dragged), not only the position
        gr.on([control.change for control in inputs], self.on_page(walk, "from_seed", "to_seed", "position",
                                                                   *self.settings), inputs, out, api_name="walk")

    def build(self):
        gr = self.gr
        # the files served are deleted an hour after they were made, so a page left serving does not fill the disk
        with gr.Blocks(title=f"gankit demo: {self.demo.path.name}", analytics_enabled=False,
                       delete_cache=(CACHE_SECONDS, CACHE_SECONDS)) as app:
            gr.Markdown(self.demo.header(), elem_id="header")
            with gr.Tab("sample"):
                sample, inputs, out = self.sample_tab()
            with gr.Tab("walk"):
                self.walk_tab()
            app.load(sample, inputs, out, api_name=False)
        return app


def serve(path: str | Path, host: str | None = None, port: int | None = None, share: bool = False,
          checkpoint: str | None = None, device: str = "cpu") -> None:
    """Load the model, then serve its page until Ctrl-C (Gradio's defaults: 127.0.0.1, the first free port from
    7860, or GRADIO_SERVER_NAME/PORT as a Hugging Face Space sets them)."""
    check_gradio()
    demo = Demo(path, checkpoint, device)
    made = not (demo.path / FOLDER).exists()
    folder = demo_folder(demo.path).resolve()
    os.environ["GRADIO_TEMP_DIR"] = str(folder)
    os.environ.setdefault("MPLCONFIGDIR", str(folder / "matplotlib"))  # Gradio's matplotlib keeps a font cache
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    app = Page(demo).build()
    try:
        app.launch(server_name=host, server_port=port, share=share, quiet=True, prevent_thread_lock=True,
                   show_error=True)
    except OSError as exc:
        if made:  # a refused start leaves nothing behind
            shutil.rmtree(folder, ignore_errors=True)
        where = f"{host or os.environ.get('GRADIO_SERVER_NAME') or '127.0.0.1'}, port {port or 'from 7860'}"
        why = "in use" if "empty port" in str(exc) else one_line(exc)
        raise GankitError(f"cannot serve the demo on {where} ({why}); pick another with --port") from None
    print(f"gankit demo: serving {demo.path} at {app.local_url} (Ctrl-C or SIGTERM to stop)", flush=True)
    signal.signal(signal.SIGTERM, _interrupt)  # a service manager's stop, and Ctrl-C where a parent ignores SIGINT
    try:
        app.block_thread()  # until KeyboardInterrupt
    finally:
        app.close()


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def serve_folder(folder: Path) -> int:
    """A Space's app.py: serve the bundle in `folder` where the Space (or GRADIO_SERVER_NAME/PORT) says; bad input is
    one line and exit status 2, as on the command line."""
    try:
        serve(folder)
    except GankitError as exc:
        print(f"gankit demo: error: {printable(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0
