"""Pictures of a run made from its files alone (metrics.jsonl, samples/): never imports training code."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image

from gankit.atomic import atomic_path
from gankit.losses import GANLoss
from gankit.modalities.image import picture_image
from gankit.runlog import KEEP_ROWS, read_metrics, rows_of


def smooth(values: np.ndarray, window: int | None = None) -> np.ndarray:
    """Running mean over `window` points (default: a fiftieth of the series), the head averaged over what exists."""
    window = window or max(1, len(values) // 50)
    if len(values) < window or window < 2:
        return values
    kernel = np.ones(window) / window
    head = np.cumsum(values[: window - 1]) / np.arange(1, window)
    return np.concatenate([head, np.convolve(values, kernel, mode="valid")])


# (metrics key, legend label, colour) of the two charts every run gets: the losses and D's beliefs
LOSS_SERIES = (("d_loss", "D loss", "tab:blue"), ("g_loss", "G loss", "tab:orange"))
BELIEF_SERIES = (("d_real", "D(x): real judged real", "tab:green"), ("d_fake", "D(G(z)): fake judged real", "tab:red"))


def plot_series(ax, rows: list[dict], series, raw_alpha: float, raw_width: float) -> None:
    """Each (key, label, colour) of `series` over the step rows: the raw values faint, their running mean bold."""
    steps = np.array([r["step"] for r in rows])
    for key, label, color in series:
        values = np.array([r[key] for r in rows])
        ax.plot(steps, values, color=color, alpha=raw_alpha, linewidth=raw_width)
        ax.plot(steps, smooth(values), color=color, label=label, linewidth=1.6)


def plot_losses(ax, rows: list[dict], raw_alpha: float, raw_width: float):
    """D's loss on the left axis and G's on a right axis of its own: with the tutorial's classic, D's loss
    sits near 0.1 while G's is near 6, and on one scale "D's loss rises" could not be seen. Returns the
    right axis."""
    (d_series, g_series) = LOSS_SERIES
    plot_series(ax, rows, (d_series,), raw_alpha, raw_width)
    ax.set_ylabel("D loss", color=d_series[2])
    right = ax.twinx()
    plot_series(right, rows, (g_series,), raw_alpha, raw_width)
    right.set_ylabel("G loss", color=g_series[2])
    handles = [line for axis in (ax, right) for line in axis.get_lines() if not line.get_label().startswith("_")]
    # on the right axis, which is drawn last: on the left one G's curve would run across the legend
    right.legend(handles, [h.get_label() for h in handles], loc="best", framealpha=0.9)
    return right


def plot_beliefs(ax, rows: list[dict], raw_alpha: float, raw_width: float, loss: GANLoss) -> None:
    """D(x) and D(G(z)) as `loss` makes them: on a probability axis with the 0.5 line where D cannot tell (BCE),
    else as D's scores, with the value where D cannot tell when the loss has one."""
    plot_series(ax, rows, BELIEF_SERIES, raw_alpha, raw_width)
    if loss.neutral is not None:
        ax.axhline(loss.neutral, color="grey", linestyle=":", linewidth=1, label=f"{loss.neutral:g}: D cannot tell")
    if loss.probabilities:
        ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("D(x), D(G(z))")
    ax.set_title(f"D(x), D(G(z)): {loss.scores}", fontsize=9)


def save_loss_plot(metrics_path: Path, out: Path, loss: GANLoss) -> Path | None:
    """losses.png: D and G losses (top) and D(x), D(G(z)) (bottom) over G steps, raw and smoothed, titled with what
    `loss` makes of them."""
    rows = rows_of(read_metrics(metrics_path, KEEP_ROWS), "step")
    if not rows:
        return None
    import matplotlib  # heavy, and only the end of training and the report draw charts

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True)
    try:
        plot_losses(top, rows, raw_alpha=0.2, raw_width=0.8)
        top.set_title(f"Losses: early on {loss.dynamics[0]}; as G improves {loss.dynamics[1]}", fontsize=9)
        plot_beliefs(bottom, rows, raw_alpha=0.2, raw_width=0.8, loss=loss)
        bottom.set_xlabel("G step")
        bottom.legend(loc="center right", fontsize=8)  # D(x) runs along the top when D wins, as it does early
        fig.tight_layout()
        with atomic_path(out) as tmp:
            fig.savefig(tmp, dpi=110, format="png")
    finally:
        plt.close(fig)
    return out


def save_progress_gif(samples: Path, out: Path, frame_ms: int = 500, scale: int = 2) -> Path | None:
    """progress.gif: the sample grids in the order they were made (at most MAX_FRAMES, evenly spaced, at most
    MAX_FRAME_SIDE px; small ones enlarged `scale` times), last frame held.

    Grids are named by epoch or by step (a run stopped mid-epoch), so their order is the order they
    were written in, not their names'.
    """
    frames = evenly_spaced(sample_grids(samples), MAX_FRAMES)
    if not frames:
        return None
    pictures = []
    for path in frames:
        with Image.open(path) as img:
            img = img.convert("L" if img.mode == "L" else "RGB")
            img.thumbnail((MAX_FRAME_SIDE, MAX_FRAME_SIDE))
            pictures.append(np.asarray(img).reshape(img.height, img.width, -1))
    scale = scale if max(pictures[0].shape[:2]) * scale <= MAX_FRAME_SIDE else 1
    return save_gif(pictures, out, frame_ms, scale, hold_last=4)


# progress.gif and the report show at most this many sample grids (evenly spaced, the last one always),
# at most this many pixels a side: a long run of large colour images stays a few MB
MAX_FRAMES = 60
MAX_FRAME_SIDE = 512


def evenly_spaced(items: list, most: int) -> list:
    """At most `most` of `items`, evenly spaced, the first and the last always among them."""
    if len(items) <= most:
        return items
    return [items[round(i * (len(items) - 1) / (most - 1))] for i in range(most)]


# the names training gives its sample grids
GRID_NAME = re.compile(r"(epoch|step)_\d{1,12}\.png")


def sample_grids(samples: Path) -> list[Path]:
    """A run's per-epoch (and mid-epoch) sample grids, in the order training wrote them. Only what training names
    so (epoch_0001.png, step_00001200.png) and only regular files: a copy, a link or a stray file is passed over."""
    grids = []
    for path in samples.glob("*.png") if samples.is_dir() else []:
        try:
            if GRID_NAME.fullmatch(path.name) and not path.is_symlink() and path.is_file():
                grids.append((path.stat().st_mtime_ns, path.name, path))
        except OSError:
            continue
    return [path for *_, path in sorted(grids)]


def save_gif(pictures: list[np.ndarray], out: Path, frame_ms: int, scale: int = 1, hold_last: int = 1) -> Path:
    """An animated GIF of uint8 (H, W, 1|3) pictures, each enlarged `scale` times (nearest), written atomically;
    the last frame stays `hold_last` frames long."""
    images = []
    for picture in pictures:
        img = picture_image(picture)
        img = img.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST)
        # grey frames are exact in a GIF; colour ones get a palette each, by fast octree: Pillow's default
        # median cut took 15 s for 60 frames of 512 px
        images.append(img if img.mode == "L" else img.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE))
    durations = [frame_ms] * (len(images) - 1) + [frame_ms * hold_last]
    with atomic_path(out) as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=durations, loop=0)
    return out


def save_pairs_figure(top: list[np.ndarray], bottom: list[np.ndarray], captions: list[str], rows: tuple[str, str],
                      title: str, out: Path) -> Path:
    """Pairs of uint8 (H, W, C) images in columns, top over bottom, each column captioned, each row named."""
    import matplotlib  # heavy, and only eval and the report draw charts

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = len(top)
    tile = 1.3  # inches a side of a square picture; wide ones (spectrograms) keep their aspect
    height = tile * top[0].shape[0] / top[0].shape[1]
    fig, axes = plt.subplots(2, cols, figsize=(max(6.0, tile * cols), 2 * height + 1.0), squeeze=False)
    try:
        for col in range(cols):
            for row, image in enumerate((top[col], bottom[col])):
                ax = axes[row][col]
                grey = image.shape[-1] == 1
                ax.imshow(image[..., 0] if grey else image, cmap="gray" if grey else None, vmin=0, vmax=255,
                          interpolation="nearest")
                ax.set_xticks([])
                ax.set_yticks([])
            axes[0][col].set_title(captions[col], fontsize=8)
        for row, name in enumerate(rows):  # across, not up the side: a spectrogram's row is too short for it
            axes[row][0].set_ylabel(name, fontsize=9, rotation=0, ha="right", va="center")
        fig.suptitle(title, fontsize=9, wrap=True)
        fig.tight_layout()
        with atomic_path(out) as tmp:
            fig.savefig(tmp, dpi=100, format="png")
    finally:
        plt.close(fig)
    return out
