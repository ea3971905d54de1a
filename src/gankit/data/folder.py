"""Reader for a folder of images (recursive): png, jpg, jpeg, webp, bmp.

Each image is centre-cropped to a square, resized to `image_size` and converted to 1 or 3 channels.
Images whose first-level subfolder names a class get that class as label (for conditional models).
"""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from gankit.errors import GankitError

EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


def list_images(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in EXTENSIONS and p.is_file())


def _to_mode(img: Image.Image, channels: int) -> Image.Image:
    """Convert any Pillow mode (palette, alpha, 16-bit, float) to L or RGB."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit and 32-bit greys: scale the used range down to 8 bits instead of clipping at 255
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if arr.max(initial=0) > 255 else 255.0
        img = Image.fromarray(np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):
        # transparent pixels become white, as most viewers show them on a light page
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img.convert("RGBA"))
    return img.convert("L" if channels == 1 else "RGB")


def load_image(path: Path, image_size: int, channels: int) -> np.ndarray:
    """One image as uint8 (C, H, W); raises OSError/ValueError for unreadable files."""
    with Image.open(path) as img:
        img = ImageOps.exif_transpose(img)
        img = _to_mode(img, channels)
        img = ImageOps.fit(img, (image_size, image_size), method=Image.Resampling.BICUBIC)
        arr = np.asarray(img, dtype=np.uint8)
    return arr[None] if channels == 1 else arr.transpose(2, 0, 1)


def read_image_folder(root: str | Path, image_size: int, channels: int) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """Read every image under `root`.

    Args:
        root: the folder, searched recursively.
        image_size: side of the square output images.
        channels: 1 or 3.
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

    def load(path: Path):
        try:
            return load_image(path, image_size, channels)
        except Exception:  # Pillow raises many types for broken files; all mean "skip this one"
            return None

    with ThreadPoolExecutor(max_workers=8) as pool:
        arrays = list(pool.map(load, paths))
    bad = [p for p, a in zip(paths, arrays) if a is None]
    if bad:
        if len(bad) == len(paths):
            raise GankitError(f"image folder {root}: none of its {len(paths)} images could be read (e.g. {bad[0]})")
        warnings.warn(f"skipped {len(bad)} unreadable image(s) in {root}, e.g. {bad[0]}", stacklevel=2)
    kept = [(p, a) for p, a in zip(paths, arrays) if a is not None]
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
