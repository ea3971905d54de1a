"""Is my GAN training, collapsing or diverging? Rules over the signals training logs, in plain words.

Each rule is a pure function of the run's history (the rows of metrics.jsonl so far) that returns a
Finding or None. `Diagnosis` runs the rules as rows arrive and reports each problem once per
episode: a rule that fired stays quiet until it has been clear for a while, so a flickering signal
does not flood the console.

The signals: per step d_loss, g_loss, D(x) = d_real, D(G(z)) = d_fake (read as odds only under the BCE
losses, where they are D's probabilities; a WGAN critic's or a hinge D's squashed score says nothing of the
kind, so "D overpowers G" and "oscillation" stay quiet there) and both gradient norms; every
DIVERSITY_EVERY steps the diversity of a batch of samples relative to real images (mean pairwise
distance, 1 = as varied as the data); and, with --eval-every, FID and class coverage.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field

from gankit.modalities import MODALITIES, Modality
from gankit.runlog import row_kind


@dataclass(frozen=True)
class Finding:
    rule: str
    step: int
    # one line: what is happening, with the numbers that show it
    title: str
    # what to try
    advice: str
    # "warning", or "fatal" when training must stop
    severity: str = "warning"

    def as_row(self) -> dict:
        return {"step": self.step, "diagnosis": self.rule, "severity": self.severity, "title": self.title,
                "advice": self.advice}

    def text(self) -> str:
        return f"step {self.step}: {self.title}\n  try: {self.advice}"


# D winning at the start is the tutorial's expected opening, not a problem
WARMUP_STEPS = 300
# a sustained signal: this many steps, all (or nearly all) showing it
WINDOW = 200
# per-step rows kept for the rules: the first WINDOW (the run's opening) and the most recent RECENT
RECENT = 2000
# diversity checks in a row below the bar that make a mode collapse (one low check can be a bad batch)
COLLAPSE_CHECKS = 2


def too_early(steps: int, diversity_checks: int) -> list[str]:
    """The checks that have not yet seen enough of a run to judge it, each with what it waits for: a report of a
    short run must not read "no problems" where nothing could have been found."""
    waiting = []
    if steps < WARMUP_STEPS + WINDOW:
        waiting.append(f"D dominance and oscillation (after {WARMUP_STEPS + WINDOW} steps)")
    if diversity_checks < COLLAPSE_CHECKS:
        waiting.append(f"mode collapse (after {COLLAPSE_CHECKS} diversity checks, one every few hundred steps)")
    if steps < 2 * WINDOW:
        waiting.append(f"losses growing past their usual size (after {2 * WINDOW} steps)")
    return waiting


@dataclass
class History:
    """What the rules read: per-step rows, diversity checks and evaluations, oldest first."""

    early: list[dict] = field(default_factory=list)
    # the newest RECENT to 2 * RECENT rows (trimmed in chunks, so slicing the end stays cheap)
    recent: list[dict] = field(default_factory=list)
    diversity: list[dict] = field(default_factory=list)
    evals: list[dict] = field(default_factory=list)
    # the preview grids: how many of their samples look like the first
    previews: list[dict] = field(default_factory=list)
    # per-step rows seen in all
    count: int = 0
    # the model family being trained ("" when unknown) and its kind of data: some advice is for one only
    model: str = ""
    modality: str = "image"
    # whether D(x) and D(G(z)) are probabilities (the loss is BCE): the rules that read them as odds need it
    probabilities: bool = True
    # what the run already does, as the advice words it (e.g. "--ema", "--augment", "--loss hinge"): never advised
    doing: frozenset[str] = frozenset()

    def add(self, row: dict) -> None:
        kind = row_kind(row)
        if kind == "diversity":
            self.diversity.append(row)
        elif kind == "eval":
            self.evals.append(row)
        elif kind == "preview":
            self.previews.append(row)
        elif kind == "step":
            if len(self.early) < WINDOW:
                self.early.append(row)
            self.recent.append(row)
            if len(self.recent) > 2 * RECENT:
                del self.recent[:-RECENT]
            self.count += 1

    def last(self, n: int) -> list[dict]:
        return self.recent[-n:]

    @property
    def step(self) -> int:
        return self.recent[-1]["step"] if self.recent else 0


def advise(h: History, *options: str) -> str:
    """The options as "a, b or c", leaving out those that name something the run already does: advice to add
    --ema 0.999 to a run with EMA sends its reader in a circle."""
    kept = [o for o in options if not any(done in o for done in h.doing)] or ["lower the learning rates"]
    return kept[0] if len(kept) == 1 else f"{', '.join(kept[:-1])} or {kept[-1]}"


def run_doing(ema_decay: float, augment: str, loss: str, r1_gamma: float, beta1: float) -> frozenset[str]:
    """What a run with these settings already does, in the words the advice uses."""
    return frozenset(word for word, on in (("--ema", ema_decay > 0), ("--augment", bool(augment)),
                                           (f"--loss {loss}", True), ("--r1", r1_gamma > 0),
                                           ("train.beta1=0.5", beta1 == 0.5)) if on)


Rule = Callable[[History], "Finding | None"]
RULES: dict[str, Rule] = {}
# rule -> whether its episode has ended (default: the rule no longer fires)
ENDED: dict[str, Callable[[History], bool]] = {}


def rule(name: str, ended: Callable[[History], bool] | None = None):
    def register(fn: Rule) -> Rule:
        RULES[name] = fn
        if ended is not None:
            ENDED[name] = ended
        return fn
    return register


def _mean(rows: list[dict], key: str) -> float:
    return statistics.fmean(r[key] for r in rows)


def _confident_share(rows: list[dict]) -> float:
    """Share of steps where D is sure of both: D(G(z)) near 0 and D(x) near 1."""
    return sum(r["d_fake"] < 0.05 and r["d_real"] > 0.9 for r in rows) / max(1, len(rows))


def d_overpowering_has_ended(h: History) -> bool:
    # hysteresis: a share hovering around the 95 % that fires the rule is the same episode, not a new one
    return _confident_share(h.last(WINDOW)) < 0.5


@rule("d_overpowers", ended=d_overpowering_has_ended)
def d_overpowers(h: History) -> Finding | None:
    """D is (almost) always right: D(G(z)) near 0 and D(x) near 1 for a sustained window."""
    rows = h.last(WINDOW)
    if not h.probabilities or h.step < WARMUP_STEPS or len(rows) < WINDOW or _confident_share(rows) < 0.95:
        return None
    early = [r["g_grad_norm"] for r in h.early]
    g_grad, g_grad_early = _mean(rows, "g_grad_norm"), statistics.median(early)
    vanishing = g_grad < 0.1 * g_grad_early
    grads = (f"; G's gradient norm fell to {g_grad:.3g} from {g_grad_early:.3g} at the start (vanishing)"
             if vanishing else "")
    return Finding(
        "d_overpowers", h.step,
        f"D is overpowering G: over the last {len(rows)} steps D(G(z)) averaged {_mean(rows, 'd_fake'):.3f} and "
        f"D(x) {_mean(rows, 'd_real'):.3f}, so G learns little from D{grads}",
        advise(h, "lower D's learning rate (--lr-d, e.g. half of --lr-g)", "use --loss hinge", "add --r1 10",
               "add --augment translation,cutout on small datasets", "give G more capacity"))


@rule("mode_collapse")
def mode_collapse(h: History) -> Finding | None:
    """Samples far less varied than real data, or evaluations losing classes."""
    checks = h.diversity[-COLLAPSE_CHECKS:]
    if len(checks) == COLLAPSE_CHECKS and all(c["diversity"] < 0.5 for c in checks):
        return Finding(
            "mode_collapse", h.step,
            f"mode collapse: samples are {checks[-1]['diversity']:.2f}x as varied as real ones (1.0 = as varied; "
            f"below 0.5 in the last {COLLAPSE_CHECKS} checks), so G produces a few outputs over and over",
            advise(h, "lower the learning rates", "use --loss hinge", "add --ema 0.999", *_kind(h).collapse_advice)
            + ("; for the classic model this is the tutorial's known early collapse" if h.model == "classic" else ""))
    covered = [e for e in h.evals if "class_coverage" in e]
    if len(covered) >= 2:
        best = max(covered, key=lambda e: e["class_coverage"])
        now = covered[-1]
        if now["class_coverage"] <= best["class_coverage"] - 0.3 and now is not best:
            return Finding(
                "mode_collapse", h.step,
                f"mode collapse: class coverage fell to {now['class_coverage']:.1f} from "
                f"{best['class_coverage']:.1f} at step {best['step']}: G stopped producing some classes",
                advise(h, "keep the best checkpoint (checkpoints/best)", "lower the learning rates", "add --ema 0.999"))
    return None


def _kind(h: History) -> type[Modality]:
    """The kind of data the run makes (an unknown name in an edited log: a sample of no particular kind)."""
    return MODALITIES.get(h.modality) if h.modality in MODALITIES else Modality


@rule("identical_samples")
def identical_samples(h: History) -> Finding | None:
    """Every sample of the newest preview looks like the first: G makes one output whatever z is. Judged at any
    step (the sustained-signal rules wait for hundreds), since no noise can make a whole grid alike."""
    newest = h.previews[-1] if h.previews else None
    if newest is None or newest["samples"] < 2 or newest["like_first"] < newest["samples"]:
        return None
    noun = _kind(h).noun
    return Finding(
        "identical_samples", newest["step"],
        f"all {newest['samples']} preview samples at step {newest['step']} are the same {noun}: G makes one output "
        "whatever z is",
        "train longer if this is the first few steps; otherwise "
        + advise(h, "lower the learning rates", "add --ema 0.999", "use --model auto"))


# a loss this far above its typical size is an explosion, not noise
EXPLOSION_FACTOR = 100.0
# a loss this large is an explosion whatever came before (BCE of 1e4 means logits of 1e4)
ABSURD_LOSS = 1e4


@rule("divergence")
def divergence(h: History) -> Finding | None:
    """Losses or gradients exploding (non-finite values already stop training before this runs)."""
    # judged from the first row on: a checkpoint written before this rule could run would keep an exploded state
    rows = h.last(25)
    for key in ("d_loss", "g_loss"):
        now = statistics.fmean(abs(r[key]) for r in rows) if rows else 0.0
        if now > ABSURD_LOSS:  # exploded early, so there is no usual size to compare with
            return Finding(
                "divergence", h.step,
                f"{key} averaged {now:.3g} over the last {len(rows)} steps, far beyond any working GAN's losses",
                "start again with a learning rate 10x lower (--lr), or --loss hinge", severity="fatal")
    if h.count < 2 * WINDOW:
        return None
    history = h.last(RECENT)
    rows, before = history[-25:], history[-RECENT:-25:10]  # every 10th earlier row is plenty for a median
    for key in ("d_loss", "g_loss", "d_grad_norm", "g_grad_norm"):
        typical = statistics.median(abs(r[key]) for r in before) + 1e-3
        now = statistics.fmean(abs(r[key]) for r in rows)
        if now > EXPLOSION_FACTOR * typical and now > 100:
            return Finding(
                "divergence", h.step,
                f"{key} averaged {now:.3g} over the last {len(rows)} steps, {now / typical:.0f}x its usual size "
                f"({typical:.3g})",
                "resume from the last good checkpoint with a lower learning rate (start a new run with --lr "
                "divided by 10), or use a loss with bounded gradients (--loss hinge)", severity="fatal")
    return None


@rule("oscillation")
def oscillation(h: History) -> Finding | None:
    """D(G(z)) swinging up and down in big waves, and quality not improving."""
    blocks = 8
    size = 50
    if not h.probabilities or h.step < WARMUP_STEPS or h.count < blocks * size:
        return None
    rows = h.last(blocks * size)
    means = [_mean(rows[i * size:(i + 1) * size], "d_fake") for i in range(blocks)]
    turns = sum((b - a) * (c - b) < 0 for a, b, c in zip(means, means[1:], means[2:]))
    swing = max(means) - min(means)
    if swing < 0.3 or turns < 3:
        return None
    fids = [e["fid"] for e in h.evals if "fid" in e and math.isfinite(e["fid"])]
    if len(fids) >= 3 and min(fids[-2:]) < 0.95 * min(fids[:-2]):
        return None  # quality still improves: the swings are not stopping progress
    progress = (f"and FID has not improved in the last two evaluations (best {min(fids):.3g})" if len(fids) >= 3
                else "(turn on --eval-every to see whether quality still improves)")
    return Finding(
        "oscillation", h.step,
        f"D and G are oscillating: D(G(z)) swung between {min(means):.2f} and {max(means):.2f} over the last "
        f"{len(rows)} steps, changing direction {turns} times, {progress}",
        advise(h, "lower both learning rates (e.g. --lr 1e-4)", "use Adam beta1 0.5 (--set train.beta1=0.5)",
               "add --ema 0.999 to average the oscillation out of the samples"))


class Diagnosis:
    """Runs the rules as rows arrive; each problem is reported once per episode.

    Args:
        rearm_checks: how many consecutive clear checks end an episode (so the rule may fire again).
    """

    def __init__(self, rules: dict[str, Rule] | None = None, rearm_checks: int = 8, model: str = "",
                 modality: str = "image", probabilities: bool = True, doing: frozenset[str] = frozenset()):
        self.rules = rules if rules is not None else RULES
        self.history = History(model=model, modality=modality, probabilities=probabilities, doing=doing)
        self.rearm_checks = rearm_checks
        self._clear: dict[str, int] = {}
        self._active: set[str] = set()
        self.findings: list[Finding] = []

    def add(self, rows: list[dict]) -> list[Finding]:
        """Take new rows (as written to metrics.jsonl) and return the findings that start an episode."""
        for row in rows:
            self.history.add(row)
        new = []
        for name, check in self.rules.items():
            finding = check(self.history)
            if finding is None:
                if name in self._active and name in ENDED and not ENDED[name](self.history):
                    self._clear[name] = 0  # quiet, but the episode goes on
                    continue
                self._clear[name] = self._clear.get(name, 0) + 1
                if self._clear[name] >= self.rearm_checks:
                    self._active.discard(name)
                continue
            self._clear[name] = 0
            if name not in self._active:
                self._active.add(name)
                self.findings.append(finding)
                new.append(finding)
        return new
