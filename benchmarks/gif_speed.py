"""Writing progress.gif: gankit's frames (grey kept grey, colour quantised by fast octree) against Pillow's default
for RGB frames (a median-cut palette per frame), which gankit used before.

    .venv/bin/python benchmarks/gif_speed.py [--frames 60] [--side 512] [--repeats 3]

Frames are what a long run leaves: colour grids with noisy content (the worst case for a palette) and grey
grids, at the largest side progress.gif keeps (plots.MAX_FRAME_SIDE). Prints the median seconds of each way,
the file sizes and the ratio to the old way, measured in the same run.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from gankit.plots import save_gif


def frames(n: int, side: int, channels: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        picture = np.full((side, side, channels), 128, dtype=np.uint8)
        picture[: side // 2, : side // 2] = rng.integers(0, 256, (side // 2, side // 2, channels), dtype=np.uint8)
        out.append(picture)
    return out


def old_way(pictures: list[np.ndarray]) -> int:
    images = [Image.fromarray(p[..., 0] if p.shape[-1] == 1 else p).convert("RGB") for p in pictures]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=500, loop=0)
    return len(buffer.getvalue())


def new_way(pictures: list[np.ndarray]) -> int:
    with tempfile.TemporaryDirectory() as folder:
        return save_gif(pictures, Path(folder) / "p.gif", 500).stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--side", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"{args.frames} frames of {args.side} px, median of {args.repeats}")
    print(f"{'frames':>7} {'way':>22} {'seconds':>8} {'MB':>6} {'vs old':>7}")
    for channels, kind in ((3, "colour"), (1, "grey")):
        pictures = frames(args.frames, args.side, channels)
        results = {}
        for name, way in (("Pillow default (old)", old_way), ("gankit", new_way)):
            times, size = [], 0
            for _ in range(args.repeats):
                start = time.perf_counter()
                size = way(pictures)
                times.append(time.perf_counter() - start)
            results[name] = (statistics.median(times), size)
        base = results["Pillow default (old)"][0]
        for name, (seconds, size) in results.items():
            print(f"{kind:>7} {name:>22} {seconds:>8.2f} {size / 1e6:>6.1f} {base / seconds:>6.1f}x")


if __name__ == "__main__":
    main()
