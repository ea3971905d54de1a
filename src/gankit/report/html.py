"""One self-contained HTML page per run (and one comparing runs), made from the run folder's files alone.

Everything is inline: charts and sample grids as PNG data URIs, a few lines of CSS and of plain
JavaScript for the epoch slider. It opens offline, from a file or an e-mail attachment.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from gankit import conditions
from gankit.atomic import write_atomically
from gankit.checkpoint import read_meta, scan_checkpoints
from gankit.config import parse_toml
from gankit.errors import GankitError
from gankit.losses import LOSSES, GANLoss
from gankit.metrics import BETTER, COMPARABLE_ONLY
from gankit.modalities import Modality, SampleSpec
from gankit.modalities.audio import wav_bytes
from gankit.modalities.image import picture_image
from gankit.pipeline import Pipeline, find_checkpoint
from gankit.play import melody, play
from gankit.plots import MAX_FRAME_SIDE, MAX_FRAMES, evenly_spaced, plot_beliefs, plot_losses, sample_grids, smooth
from gankit.progress import parts
from gankit.report.diagnosis import too_early
from gankit.runlog import KEEP_ROWS, METRICS_FILE, read_eval_result, read_metrics
from gankit.runs import open_run, read_run_file

REPORT_FILE = "report.html"


@dataclass
class RunFiles:
    """What a run folder holds, read once."""

    path: Path
    config_text: str
    steps: list[dict] = field(default_factory=list)
    # a maximum-likelihood baseline's steps (negative log-likelihood), instead of `steps`
    fits: list[dict] = field(default_factory=list)
    evals: list[dict] = field(default_factory=list)
    diversity: list[dict] = field(default_factory=list)
    diagnoses: list[dict] = field(default_factory=list)
    # saved `gankit eval` results (eval/<checkpoint>.json)
    scored: dict[str, dict] = field(default_factory=dict)
    # what could not be read and was left out, in words
    damaged: list[str] = field(default_factory=list)
    # the valid rows of each kind the log holds (the lists above may hold an even selection of them)
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def loss(self) -> GANLoss:
        """The run's loss, which says how its D(x) and D(G(z)) read (the tutorial's BCE when the config does not
        say or cannot be read: the report still shows what it can)."""
        try:
            train = parse_toml(self.config_text).get("train")
        except ValueError:  # the parser's error: a damaged config.toml
            train = None
        name = train.get("loss") if isinstance(train, dict) else None
        return LOSSES.get(name) if isinstance(name, str) and name in LOSSES else LOSSES.get("bce")

    @property
    def extractor(self) -> str | None:
        """The feature extractor every score of this run came from (None: no scores)."""
        ids = {row["eval_extractor"] for row in self.evals if "eval_extractor" in row}
        ids |= {f"{s['extractor']['name']}:{s['extractor']['digest']}" for s in self.scored.values() if "extractor" in s}
        if len(ids) > 1:
            raise GankitError(f"{self.path} holds scores from different feature extractors ({', '.join(sorted(ids))})")
        return ids.pop() if ids else None


def read_run(path: Path) -> RunFiles:
    path, _ = open_run(path)
    config = read_run_file(path / "config.toml", path, MAX_TEXT_BYTES)
    files = RunFiles(path, (config or b"").decode("utf-8", errors="replace"))
    lists = {"diagnosis": files.diagnoses, "diversity": files.diversity, "step": files.steps, "eval": files.evals,
             "fit": files.fits}
    rows = read_metrics(path / METRICS_FILE, KEEP_ROWS)
    files.counts = rows.counts
    for row in rows:
        if row["kind"] in lists:
            lists[row["kind"]].append(row)
    files.damaged = [rows.note().strip(" ()")] if rows.skipped else []
    for result in sorted((path / "eval").glob("*.json")) if (path / "eval").is_dir() else []:
        try:
            files.scored[result.stem] = read_eval_result(result)
        except GankitError:  # a damaged result file is left out of the report, not fatal to it
            files.damaged.append(f"eval/{result.name} is not a gankit eval result and was left out")
    return files


# ---------------------------------------------------------------------------------------------
# pictures


def _data_uri(kind: str, data: bytes) -> str:
    return f"data:{kind};base64," + base64.b64encode(data).decode("ascii")


def _png_uri(data: bytes) -> str:
    return _data_uri("image/png", data)


def _figure_uri(fig) -> str:
    import matplotlib.pyplot as plt  # heavy; the callers chose the Agg backend

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return _png_uri(buffer.getvalue())


def plain(text: str) -> str:
    """Text for a chart, shown as written: matplotlib would read $...$ in a run's name as TeX."""
    return text.replace("$", r"\$")


def _mark_diagnoses(ax, diagnoses: list[dict]) -> None:
    for row in diagnoses:
        ax.axvline(row["step"], color="crimson", linestyle="--", linewidth=1, alpha=0.8)
        ax.annotate(row["diagnosis"].replace("_", " "), (row["step"], 1.0), xycoords=("data", "axes fraction"),
                    rotation=90, va="top", ha="right", fontsize=8, color="crimson")


def training_charts(run: RunFiles) -> list[tuple[str, str]]:
    """(title, PNG data URI) for each chart of a run; diagnoses are dashed red lines on every time axis."""
    import matplotlib  # heavy, and only the report and the end of training draw charts

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    charts = [_likelihood_chart(plt, run)] if len(run.fits) > 1 else []  # one point (an n-gram count) is no curve
    if run.steps:
        charts += _game_charts(plt, run)
    scored = [e for e in run.evals if _score_key(run) in e]
    if scored or run.diversity:
        charts.append(_quality_chart(plt, run, scored))
    return charts


def _likelihood_chart(plt, run: RunFiles) -> tuple[str, str]:
    fig, ax = plt.subplots(figsize=(9, 3.2))
    ax.plot([r["step"] for r in run.fits], smooth(np.array([r["nll"] for r in run.fits], dtype=float)),
            color="tab:blue")
    ax.set_xlabel("step")
    ax.set_ylabel("nats per character")
    return ("Negative log-likelihood of the training batches (lower: the model predicts them better)",
            _figure_uri(fig))


def _game_charts(plt, run: RunFiles) -> list[tuple[str, str]]:
    """The game's losses, what D believes, and the gradient norms."""
    steps = np.array([r["step"] for r in run.steps])
    fig, ax = plt.subplots(figsize=(9, 3.6))
    plot_losses(ax, run.steps, raw_alpha=0.15, raw_width=0.7)
    early = steps[min(len(steps) - 1, max(1, len(steps) // 10))]
    ax.axvspan(steps[0], early, color="grey", alpha=0.12)
    early, later = run.loss.dynamics
    # above the axes: inside them the legend, placed where the curves are not, could cover the words
    ax.set_title(f"expected early (shaded): {early}; as G improves: {later}", fontsize=8, color="dimgrey")
    ax.set_xlabel("G step")
    _mark_diagnoses(ax, run.diagnoses)
    charts = [("Losses", _figure_uri(fig))]

    fig, ax = plt.subplots(figsize=(9, 3.2))
    plot_beliefs(ax, run.steps, raw_alpha=0.15, raw_width=0.7, loss=run.loss)
    ax.set_xlabel("G step")
    ax.legend(loc="center right", fontsize=8)
    _mark_diagnoses(ax, run.diagnoses)
    charts.append(("What D believes", _figure_uri(fig)))

    fig, ax = plt.subplots(figsize=(9, 3.0))
    for key, label, color in (("d_grad_norm", "D", "tab:blue"), ("g_grad_norm", "G", "tab:orange")):
        ax.plot(steps, smooth(np.array([r.get(key, np.nan) for r in run.steps], dtype=float)), color=color,
                label=label)
    ax.set_yscale("log")
    ax.set_xlabel("G step")
    ax.set_ylabel("gradient norm")
    ax.legend(loc="upper right")
    _mark_diagnoses(ax, run.diagnoses)
    charts.append(("Gradient norms", _figure_uri(fig)))
    return charts


def _score_key(run: RunFiles) -> str:
    return "fid" if any("fid" in e for e in run.evals) else "js_4"  # text is scored by n-gram divergence


def _quality_chart(plt, run: RunFiles, scored: list[dict]) -> tuple[str, str]:
    """The run's score, and precision, recall, class coverage and diversity, over its steps."""
    key = _score_key(run)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    if scored:
        left.plot([e["step"] for e in scored], [e[key] for e in scored], marker="o", color="tab:purple")
        left.set_yscale("log")
        name = "FID" if key == "fid" else "JS-4"
        left.set_ylabel(plain(f"{name} ({scored[-1].get('eval_extractor', 'features')})"), fontsize=8)
    else:
        left.text(0.5, 0.5, "no evaluations\n(train with --eval-every N)", ha="center", va="center",
                  transform=left.transAxes, color="grey")
    left.set_xlabel("G step")
    for key, color in (("precision", "tab:green"), ("recall", "tab:orange"), ("class_coverage", "tab:brown")):
        points = [(e["step"], e[key]) for e in run.evals if key in e]
        if points:
            right.plot(*zip(*points), marker="o", color=color, label=key.replace("_", " "))
    if run.diversity:
        right.plot([d["step"] for d in run.diversity], [d["diversity"] for d in run.diversity], color="tab:grey",
                   linestyle="--", label="diversity (1 = as varied as data)")
    right.set_xlabel("G step")
    right.legend(fontsize=8)
    for ax in (left, right):
        _mark_diagnoses(ax, run.diagnoses)
    return ("Quality over time", _figure_uri(fig))


# text in the page: the first lines of each epoch's samples
TEXT_LINES = 32
# the most the page reads of one file of the run (larger ones are left out): text, a clip, a picture
MAX_TEXT_BYTES, MAX_CLIP_BYTES, MAX_PICTURE_BYTES = 2**20, 2**23, 2**26
# sound in the page: the first clips of this many evenly spaced grids (about 2 MB of 1 s clips at 16 kHz)
AUDIO_FRAMES, AUDIO_CLIPS = 12, 4
# the families that play the built-in melody in a report (each about 370 KB in the page)
MELODY_FAMILIES = 3


def sample_frames(run: RunFiles) -> list[dict]:
    """Every sample grid as {"label", "src"}, in training order. A grid of sound (spectrograms) has its WAV
    clips beside it; the first AUDIO_CLIPS of them come along as "clips" for AUDIO_FRAMES evenly spaced grids
    (the last always among them), so the page stays one bounded file."""
    grids = evenly_spaced(sample_grids(run.path / "samples"), MAX_FRAMES)
    heard = set(evenly_spaced(grids, AUDIO_FRAMES))
    modality = run_modality(run)
    frames = []
    for path in grids:
        kind, number = path.stem.split("_", 1)
        beside = modality.preview_lines(path)
        lines = read_run_file(beside, run.path, MAX_TEXT_BYTES) if beside is not None else None
        if lines is not None:  # text: its lines, not a picture of them
            text = lines.decode("utf-8", errors="replace").splitlines()[:TEXT_LINES]
            frames.append({"label": f"{kind} {int(number)}", "lines": text})
            continue
        picture = _picture_uri(path, run.path)
        if picture is None:
            continue
        frame = {"label": f"{kind} {int(number)}", "src": picture}
        clips = modality.preview_clips(path)[:AUDIO_CLIPS]
        if clips and path in heard:
            sounds = [read_run_file(clip, run.path, MAX_CLIP_BYTES) for clip in clips]
            frame["clips"] = [_data_uri("audio/wav", data) for data in sounds if data is not None]
        elif clips:
            frame["clips_note"] = f"this grid's clips are in samples/{path.stem}/"
        frames.append(frame)
    return frames


def _picture_uri(path: Path, run: Path) -> str | None:
    """A sample grid as a data URI: the PNG as it is when small, else at most MAX_FRAME_SIDE px as JPEG (None: not a
    picture the run holds)."""
    data = read_run_file(path, run, MAX_PICTURE_BYTES)
    if data is None:
        return None
    if len(data) <= 150_000:
        return _png_uri(data)
    try:
        with Image.open(io.BytesIO(data)) as img:
            img = img.convert("RGB")
            img.thumbnail((MAX_FRAME_SIDE, MAX_FRAME_SIDE))
            buffer = io.BytesIO()
            img.save(buffer, format="JPEG", quality=88)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def run_modality(run: RunFiles) -> Modality:
    """What the run makes, from its newest checkpoint that reads (a run with none: samples of no kind in particular,
    shown as their pictures alone)."""
    for path in reversed(scan_checkpoints(run.path / "checkpoints")[0]):
        try:
            return SampleSpec.from_meta(read_meta(path), str(path)).modality
        except GankitError:
            continue
    return Modality()


def newest_generator(run: RunFiles) -> Pipeline | None:
    """The newest checkpoint's G (None: no checkpoint). Raises GankitError when the checkpoint is damaged."""
    good, damaged = scan_checkpoints(run.path / "checkpoints")
    if not good and not damaged:
        return None
    return Pipeline.from_checkpoint(find_checkpoint(run.path), "cpu")


def interpolation_strip(pipe: Pipeline, steps: int = 12) -> str:
    """A walk from seed 0's z to seed 1's, as a PNG data URI."""
    frames = pipe.walk([0, 1], steps)
    image = picture_image(pipe.picture(frames, nrow=len(frames)))
    buffer = io.BytesIO()
    image.resize((image.width * 2, image.height * 2), Image.Resampling.NEAREST).save(buffer, format="PNG")
    return _png_uri(buffer.getvalue())


def melody_players(pipe: Pipeline) -> list[tuple[str, str]]:
    """(family, WAV data URI) of the built-in melody played by up to MELODY_FAMILIES of a model conditioned on
    family and pitch; none for other models."""
    names = {c.name for c in pipe.spec.conditions}
    if not {conditions.CLASS, conditions.PITCH} <= names:
        return []
    families = pipe.spec.conditions[conditions.column(pipe.spec.conditions, conditions.CLASS)].values
    players = []
    for family in families[:MELODY_FAMILIES]:
        played = play(pipe, melody(), family=family)
        players.append((family, _data_uri("audio/wav", wav_bytes(played.wave, played.sample_rate))))
    return players


# ---------------------------------------------------------------------------------------------
# pages

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 980px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
.meta { color: #555; } img { max-width: 100%; image-rendering: pixelated; }
table { border-collapse: collapse; display: block; max-width: 100%; overflow-x: auto; font-size: 0.9em; } td, th { padding: 3px 10px; border-bottom: 1px solid #eee; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.finding { border-left: 4px solid crimson; padding: 0.3em 0.8em; margin: 0.6em 0; background: #fff5f5; }
.finding.fatal { background: #ffe0e0; } .ok { border-left: 4px solid seagreen; padding: 0.3em 0.8em; background: #f3fbf5; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
#slider { width: 100%; }
"""

SLIDER_SCRIPT = """
const frames = JSON.parse(document.getElementById("frames").textContent);
const slider = document.getElementById("slider");
const shown = document.getElementById("grid");
const label = document.getElementById("grid-label");
const clips = document.getElementById("clips");
const lines = document.getElementById("lines");
function show(i) {
  if (lines) lines.textContent = frames[i].lines.join("\\n");
  else shown.src = frames[i].src;
  label.textContent = frames[i].label + " (" + (i + 1) + " of " + frames.length + ")";
  if (!clips) return;
  const players = (frames[i].clips || []).map(src => {
    const player = document.createElement("audio");
    player.controls = true;
    player.src = src;
    return player;
  });
  clips.replaceChildren(...players, document.createTextNode(frames[i].clips_note || ""));
}
slider.max = frames.length - 1;
slider.value = frames.length - 1;
slider.addEventListener("input", () => show(Number(slider.value)));
show(frames.length - 1);
"""

SCORE_KEYS = ("fid", "kid", "is", "precision", "recall", "density", "coverage", "class_coverage", "asked_class",
              "pitch_accuracy", "clear_pitch", "pitch_distance", "memorisation_rate", "nn_distance_ratio",
              "js_1", "js_2", "js_3", "js_4", "js_4_floor", "distinct_4", "distinct_4_real", "unique", "empty", "novelty",
              "validity")


def _json_script(element_id: str, value) -> str:
    # whatever the data holds ("</script>", "<!--<script>", which sends the HTML parser into a state where the real
    # end tag no longer ends the element), no "<" or ">" reaches the page raw: JSON reads the escapes back the same
    text = json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" id="{element_id}">{text}</script>'


def _page(title: str, body: list[str], script: str = "") -> str:
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>\n"
            + "\n".join(body) + (f"\n<script>{script}</script>" if script else "") + "\n</body></html>\n")


def _number(value) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "-"
    return f"{value:,}" if isinstance(value, int) else f"{value:.4g}"


def _scores_table(rows: list[tuple[str, dict]], keys: tuple[str, ...] = SCORE_KEYS) -> str:
    keys = [k for k in keys if any(isinstance(m.get(k), (int, float)) for _, m in rows)]
    head = "".join(f"<th>{html.escape(k.replace('_', ' '))}"
                   + (f"<br><small>{BETTER[k]} is better</small>" if k in BETTER else "") + "</th>" for k in keys)
    lines = [f"<table><tr><th></th>{head}</tr>"]
    for name, metrics in rows:
        cells = "".join(f"<td>{_number(metrics.get(k))}</td>" for k in keys)
        lines.append(f"<tr><td>{html.escape(name)}</td>{cells}</tr>")
    return "\n".join(lines) + "</table>"


def diagnosis_section(run: RunFiles) -> list[str]:
    body = ["<h2>Diagnosis</h2>"]
    for row in run.diagnoses:
        stopped = ", training stopped" if row.get("severity") == "fatal" else ""
        body.append(f"<div class=\"finding {html.escape(row.get('severity', ''))}\"><b>step {row['step']} "
                    f"({html.escape(row['diagnosis'].replace('_', ' '))}{stopped})</b>: "
                    f"{html.escape(row['title'])}<br><i>try:</i> {html.escape(row['advice'])}</div>")
    steps = run.steps[-1]["step"] if run.steps else 0
    waiting = too_early(steps, len(run.diversity))
    if waiting:
        body.append(f"<div class=\"finding\">Too early to judge after {steps} steps: "
                    f"{html.escape('; '.join(waiting))}.</div>")
    elif not run.diagnoses:
        body.append("<div class=\"ok\">No problems detected: no sustained D dominance, mode collapse, oscillation "
                    "or divergence in the logged signals.</div>")
    return body


def _training_done(run: RunFiles, likelihood: bool) -> str:
    """How much training the log records, in a line."""
    last = (run.steps or run.fits or [{}])[-1]
    logged = run.counts["fit" if likelihood else "step"]
    if likelihood and logged == 1:  # an n-gram model is counted, not trained
        return (f"fitted in one pass over {last.get('images_seen', 0):,} training items "
                f"({last.get('nll', float('nan')):.3f} nats per character)")
    what = "maximum-likelihood steps" if likelihood else "G steps"
    return (f"{logged:,} {what} logged"
            + (f", {last.get('images_seen', 0):,} samples seen, {last['seconds'] / 60:.1f} minutes of training"
               if "seconds" in last else ""))


def _model_sections(run: RunFiles, likelihood: bool) -> list[str]:
    """The latent walk, and a melody for pitched sound, from the newest checkpoint's G."""
    if likelihood:  # nothing to load for this: the model has no latent space
        return ["<h2>Latent walk</h2>", "<p>None: a maximum-likelihood model draws each character from the ones "
                "before it, with no latent vector to walk along.</p>"]
    try:
        pipe = newest_generator(run)
    except GankitError as exc:  # the rest of the page does not need the model
        return ["<h2>Latent walk</h2>", f"<p>Left out: {html.escape(str(exc))}</p>"]
    if pipe is None:
        return []
    body = ["<h2>Latent walk</h2>", "<p>From seed 0's z to seed 1's along a great circle: smooth changes mean "
            "G learned a continuous space.</p>", f"<img alt=\"latent walk\" src=\"{interpolation_strip(pipe)}\">"]
    if players := melody_players(pipe):
        body += ["<h2>A melody</h2>", "<p>A C-major scale and the first bars of the \"Ode to Joy\", every note "
                 "made by G at its pitch (<code>gankit play RUN tune.mid</code> plays any MIDI file):</p>",
                 "<div id=\"melody\">" + "".join(f"<p>{html.escape(family)}<br><audio controls src=\"{uri}\">"
                                                 "</audio></p>" for family, uri in players) + "</div>"]
    return body


def write_report(path: Path, out: Path | None = None, interpolation: bool = True) -> Path:
    """Write RUN/report.html (or `out`) and return its path."""
    out_name = Path(out).name if out else REPORT_FILE
    with parts(f"writing {out_name}", 5) as bar:  # a long log, many grids, a latent walk to decode: seconds
        run = read_run(Path(path))
        bar.update()
        out = Path(out) if out else run.path / REPORT_FILE
        likelihood = bool(run.fits) and not run.steps  # a maximum-likelihood baseline: no game, no latent space
        body = [f"<h1>{html.escape(run.name)}</h1>", f"<p class=\"meta\">{_training_done(run, likelihood)}</p>"]
        if run.damaged:
            body.append(f"<div class=\"finding\">Damaged files, left out: {html.escape('; '.join(run.damaged))}</div>")
        if not likelihood:  # a maximum-likelihood baseline has no game to diagnose
            body += diagnosis_section(run)
        for title, uri in training_charts(run):
            body.append(f"<h2>{html.escape(title)}</h2><img alt=\"{html.escape(title)}\" src=\"{uri}\">")
        bar.update()
        frames = sample_frames(run)
        script = ""
        if frames:
            shown = ("<pre id=\"lines\"></pre>" if "lines" in frames[0]
                     else "<img id=\"grid\" alt=\"sample grid\" width=\"480\">")
            body += ["<h2>Samples</h2>", "<p>The same latent vectors after each epoch; drag the slider.</p>",
                     "<input type=\"range\" id=\"slider\" min=\"0\" step=\"1\">", "<p id=\"grid-label\"></p>",
                     shown, _json_script("frames", frames)]
            if any("clips" in frame for frame in frames):
                body[-1:-1] = ["<p>Spectrograms (low pitches at the bottom); listen to the first clips:</p>",
                               "<div id=\"clips\"></div>"]
            script = SLIDER_SCRIPT
        bar.update()
        if interpolation:
            body += _model_sections(run, likelihood)
        bar.update()
        if run.scored:
            described = sorted({d for r in run.scored.values()
                                 if isinstance(d := r["extractor"].get("description"), str)})
            body += ["<h2>Scores (gankit eval)</h2>",
                     f"<p class=\"meta\">{html.escape('; '.join(described + [COMPARABLE_ONLY]))}</p>",
                     _scores_table([(name, result["metrics"]) for name, result in run.scored.items()])]
            for name in run.scored:
                pairs = read_run_file(run.path / "eval" / f"{name}-closest.png", run.path, MAX_PICTURE_BYTES)
                if pairs is not None:
                    body += [f"<h3>Closest to training images ({html.escape(name)})</h3>",
                             f"<img alt=\"closest pairs\" src=\"{_png_uri(pairs)}\">"]
        body.append("<h2>Config</h2>")
        if likelihood:  # the saved config is the one dataclass every family shares
            body.append("<p>A maximum-likelihood model uses no loss, D or game setting: <code>loss</code>, "
                        "<code>lr_d</code>, <code>n_critic</code> and the like below are the defaults, unused.</p>")
        body.append(f"<pre>{html.escape(run.config_text)}</pre>")
        return _write(out, _page(f"gankit report: {run.name}", body, script))


def write_comparison(paths: list[Path], out: Path) -> Path:
    """One page with the runs' curves overlaid and their latest scores side by side."""
    import matplotlib  # heavy, and only the report and the end of training draw charts

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [read_run(Path(p)) for p in paths]
    extractors = {run.name: run.extractor for run in runs if run.extractor}
    if len(set(extractors.values())) > 1:
        listed = ", ".join(f"{name}: {ext}" for name, ext in extractors.items())
        raise GankitError(f"these runs were scored with different feature extractors ({listed}); their metrics "
                          "cannot be compared; score them alike with gankit eval --extractor NAME")
    body = [f"<h1>Comparing {len(runs)} runs</h1>",
            "<p class=\"meta\">" + ", ".join(html.escape(r.name) for r in runs) + "</p>"]
    score = "fid" if any("fid" in e for run in runs for e in run.evals) or not any(run.evals for run in runs) else "js_4"
    panels = [("d_loss", "D loss"), ("g_loss", "G loss"), ("d_fake", "D(G(z))"),
              (score, "FID" if score == "fid" else "JS-4 (text)")]
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.5))
    for ax, (key, label) in zip(axes.flat, panels):
        for run in runs:
            rows = run.evals if key == score else run.steps
            points = [(r["step"], r[key]) for r in rows if key in r]
            if points:
                x, y = (np.array(v) for v in zip(*points))
                ax.plot(x, y if key == score else smooth(y), marker="o" if key == score else None,
                        label=plain(run.name))
        ax.set_title(label)
        ax.set_xlabel("G step")
        if key == score and not ax.lines:  # say so, rather than draw an empty box
            ax.text(0.5, 0.5, "no evaluations during training\n(train with --eval-every N)", ha="center",
                    va="center", transform=ax.transAxes, color="grey")
            ax.set_xticks([])
            ax.set_yticks([])
        elif key == "fid":
            ax.set_yscale("log")
    axes.flat[0].legend(fontsize=8)
    body += ["<h2>Curves</h2>", f"<img alt=\"curves\" src=\"{_figure_uri(fig)}\">"]
    latest = []
    for run in runs:
        during = dict(run.evals[-1]) if run.evals else {}
        last = (run.steps or run.fits or [{}])[-1]
        during |= {"steps": last.get("step"), "minutes": round(last["seconds"] / 60, 1) if "seconds" in last else None}
        # a row per gankit eval result: a text model swept over temperature has one per temperature
        for label, result in sorted(run.scored.items()) or [("", {"metrics": {}})]:
            latest.append((run.name + (f" ({label})" if len(run.scored) > 1 else ""), during | result["metrics"]))
    features = (f"features: {next(iter(extractors.values()))}; {COMPARABLE_ONLY}" if extractors
                else "no scores yet (gankit eval RUN)")
    body += [f"<h2>Latest scores</h2><p class=\"meta\">{html.escape(features)}</p>",
             _scores_table(latest, ("steps", "minutes") + SCORE_KEYS)]
    body.append("<h2>Diagnoses</h2>")
    for run in runs:
        found = ", ".join(f"{d['diagnosis'].replace('_', ' ')} at step {d['step']}" for d in run.diagnoses) or "none"
        body.append(f"<p><b>{html.escape(run.name)}</b>: {html.escape(found)}</p>")
    return _write(out, _page("gankit compare", body))


def _write(out: Path, text: str) -> Path:
    return write_atomically(out, text)
