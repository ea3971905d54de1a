"""Reader for a folder of images (recursive): png, jpg, jpeg, webp, bmp.

Each image is centre-cropped to a square, resized to `image_size` and converted to 1 or 3 channels.
Images whose first-level subfolder names a class get that class as label (for conditional models).
"""

from __future__ import annotations

import functools
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from gankit.errors import GankitError
from gankit.modalities.image import ImageModality
from gankit.progress import phase

EXTENSIONS = ImageModality.file_extensions
# sides every image family takes: a folder trains at the largest not above its images' own (the smallest when they
# are smaller still); 64 at most, because on a CPU 128 px costs four times the steps (--image-size 128 asks for it)
NATIVE_SIDES = (28, 32, 64)
# images a survey opens, spread evenly over the sorted list: enough to see what most of them are
SURVEYED = 500
# a colour file whose channels differ by at most this many levels is a grey picture (JPEG leaves a little chroma)
GREY_TOLERANCE = 2
ORIENTATION = 0x0112  # the EXIF tag
# transparent pixels are laid on white, as most viewers show them on a light page (data.background: another)
BACKGROUND = "white"
# images of more pixels than this (4096 x 4096) are decoded one at a time, in the reading thread (each worker thread's
# allocator kept what it had freed: eight 12000 x 12000 PNGs held 5 GB read on eight threads, one at a time, and
# 0.6 GB read in one), and reduced by a whole factor as soon as they are decoded
LARGE_PIXELS = 4096 * 4096


def list_images(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if ImageModality.holds(p) and p.is_file())


@dataclass(frozen=True)
class FolderSurvey:
    """What most of a folder's images are, and the shape a model takes them at."""

    images: int  # in the folder, readable or not
    size: tuple[int, int]  # the most common (width, height)
    share: float  # of the images looked at that have it
    looked_at: int
    grey: bool  # every image looked at is grey
    side: int  # what they are trained at
    transparent: bool = False  # some image looked at has transparent pixels (or could: an alpha channel)

    @property
    def channels(self) -> int:
        return 1 if self.grey else 3

    def line(self, root: str, side: int, channels: int, background: str | None = None) -> str:
        """What the survey saw and the shape the run takes (`side`, `channels`, `background`: the config's, flags
        included)."""
        most = "all" if self.share == 1 else f"{self.share:.0%}"
        others = " or ".join(str(s) for s in (*NATIVE_SIDES, 128) if s != side)
        laid = (f"; transparent pixels laid on {background or BACKGROUND} (--set data.background=COLOUR for another)"
                if self.transparent else "")
        return (f"{root}: {most} of the {self.looked_at} images looked at are {self.size[0]}x{self.size[1]}, "
                f"{'all grey' if self.grey else 'some in colour'}: training at {side} px "
                f"{'grey' if channels == 1 else 'RGB'} (--image-size {others} and --channels {4 - channels} "
                f"choose others){laid}")


def _is_grey(img: Image.Image) -> bool:
    if img.mode in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"):
        return True
    img.draft("RGB", (64, 64))  # a large JPEG decoded at a fraction of its size: the colours are what count
    arr = np.asarray(_to_mode(img, 3), dtype=np.int16)
    spread = max(np.abs(arr[..., 0] - arr[..., 1]).max(), np.abs(arr[..., 1] - arr[..., 2]).max())
    return int(spread) <= GREY_TOLERANCE


@functools.lru_cache(maxsize=4)
def survey_images(root: str) -> FolderSurvey | None:
    """The most common size among up to SURVEYED of the images under `root` and whether all of them are grey;
    None when none of them opens. Mixed folders: the most common size wins (ties: the larger), and one colour
    image makes the folder colour (grey images lose nothing as RGB; colour ones would lose their colour)."""
    paths = list_images(Path(root))
    step = max(1, len(paths) // SURVEYED)
    sizes: Counter[tuple[int, int]] = Counter()
    grey, transparent = True, False
    for path in paths[::step][:SURVEYED]:
        try:
            with Image.open(path) as img:
                width, height = img.size
                turned = img.getexif().get(ORIENTATION) in (5, 6, 7, 8)  # shown rotated a quarter turn
                sizes[(height, width) if turned else (width, height)] += 1
                transparent = transparent or img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info
                grey = grey and _is_grey(img)
        except Exception:  # unreadable files are the reader's to skip and count
            continue
    if not sizes:
        return None
    size, count = max(sizes.items(), key=lambda item: (item[1], item[0][0] * item[0][1]))
    short = min(size)
    side = max([s for s in NATIVE_SIDES if s <= short] or [NATIVE_SIDES[0]])
    return FolderSurvey(images=len(paths), size=size, share=count / sum(sizes.values()), looked_at=sum(sizes.values()),
                        grey=grey, side=side, transparent=transparent)


def _to_mode(img: Image.Image, channels: int, background: str = BACKGROUND) -> Image.Image:
    """Convert any Pillow mode (palette, alpha, 16-bit, float) to L or RGB, transparent pixels laid on `background`."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit and 32-bit greys: scale the used range down to 8 bits instead of clipping at 255
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if arr.max(initial=0) > 255 else 255.0
        img = Image.fromarray(np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):
        img = Image.alpha_composite(Image.new("RGBA", img.size, background), img.convert("RGBA"))
    return img.convert("L" if channels == 1 else "RGB")


class TooLarge(Exception):
    """A valid image too large to decode here: refused by name, not called unreadable."""


class Large(Exception):
    """An image of more than LARGE_PIXELS met by a worker thread: the reading thread decodes it afterwards."""


def load_image(path: Path, image_size: int, channels: int, background: str = BACKGROUND,
               large_here: bool = True) -> np.ndarray:
    """One image as uint8 (C, H, W); raises TooLarge for one of more than Pillow's limit of pixels, OSError/ValueError
    for unreadable files, and Large for one of more than LARGE_PIXELS unless `large_here`."""
    try:
        img_file = Image.open(path)
    except Image.DecompressionBombError:
        raise TooLarge(f"more than {2 * Image.MAX_IMAGE_PIXELS:,} pixels") from None
    with img_file as img:
        large = img.width * img.height > LARGE_PIXELS
        if large and not large_here:
            raise Large
        try:
            if large:
                img = _reduced(img, image_size)
            img = ImageOps.exif_transpose(img)
            img = _to_mode(img, channels, background)
            img = ImageOps.fit(img, (image_size, image_size), method=Image.Resampling.BICUBIC)
            arr = np.asarray(img, dtype=np.uint8)
        except MemoryError:
            raise TooLarge(f"{img_file.width:,} x {img_file.height:,} pixels, more than the free memory holds") from None
    return arr[None] if channels == 1 else arr.transpose(2, 0, 1)


def _reduced(img: Image.Image, image_size: int) -> Image.Image:
    """A large image at a whole fraction of its size that keeps at least twice the size asked: a JPEG decoded so
    (the decoder scales by 1/2..1/8 at no cost), any other reduced by box averages once decoded, before the
    copies that converting and cropping make."""
    if img.format == "JPEG":
        img.draft(img.mode, (2 * image_size, 2 * image_size))
    factor = min(img.size) // (2 * image_size)
    if factor < 2:
        return img
    img.load()
    try:
        return img.reduce(factor)
    except ValueError:  # a mode reduce does not take (palette, 16-bit): converted at full size
        return img


def read_image_folder(root: str | Path, image_size: int, channels: int,
                      background: str | None = None) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """Read every image under `root`.

    Args:
        root: the folder, searched recursively.
        image_size: side of the square output images.
        channels: 1 or 3.
        background: the colour transparent pixels are laid on (None: BACKGROUND).
    Returns:
        images uint8 (N, C, S, S); labels int64 (N,) or None; class names (first-level subfolders).
    Unreadable images are skipped with one warning giving their count and the first one.
    """
    root = Path(root)
    if not root.is_dir():
        raise GankitError(f"image folder {root} does not exist")
    paths = list_images(root)
    if not paths:
        raise GankitError(f"image folder {root} holds no images ({', '.join(EXTENSIONS)}); point --data at a folder of images")

    def load(path: Path, large_here: bool = False) -> np.ndarray | str | None:
        try:
            return load_image(path, image_size, channels, background or BACKGROUND, large_here)
        except Large:
            return None
        except TooLarge as exc:
            return f"too large to decode ({exc})"
        except Exception:  # Pillow raises many types for broken files; all mean "skip this one"
            return "unreadable"

    with ThreadPoolExecutor(max_workers=8) as pool:
        arrays = list(phase(pool.map(load, paths), f"reading {root.name}", len(paths), "image"))
    large = [i for i, a in enumerate(arrays) if a is None]
    for i in phase(large, f"reading {len(large)} large images of {root.name}", len(large), "image"):
        arrays[i] = load(paths[i], large_here=True)
    bad = [(p, a) for p, a in zip(paths, arrays) if isinstance(a, str)]
    if len(bad) == len(paths):
        raise GankitError(f"image folder {root}: none of its {len(paths)} images could be read (e.g. {bad[0][0]}: "
                          f"{bad[0][1]})")
    for why in sorted({a for _, a in bad}):
        which = [p for p, a in bad if a == why]
        warnings.warn(f"skipped {len(which)} image(s) in {root}, {why}, e.g. {which[0]}", stacklevel=2)
    kept = [(p, a) for p, a in zip(paths, arrays) if not isinstance(a, str)]
    images = np.stack([a for _, a in kept])
    return (images, *labels_from_subfolders(root, [p for p, _ in kept]))


def labels_from_subfolders(root: Path, paths: list[Path]) -> tuple[np.ndarray | None, list[str]]:
    """When every file lies in a first-level subfolder, that folder's name is its class: int64 labels (N,)
    and the sorted class names; else (None, [])."""
    top_level = [p.relative_to(root).parts for p in paths]
    if not all(len(parts) >= 2 for parts in top_level):
        return None, []
    classes = sorted({parts[0] for parts in top_level})
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index[parts[0]] for parts in top_level], dtype=np.int64), classes
