"""Images: uint8 (N, C, H, W) pixels, the model's range [-1, 1] (G's Tanh), previews as PNG grids."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from gankit.atomic import atomic_path
from gankit.cache import inception_weights_path
from gankit.errors import GankitError
from gankit.modalities import MODALITIES, Modality


def to_model_range(images_u8: torch.Tensor) -> torch.Tensor:
    """uint8 0..255 -> float -1..1, the range of G's Tanh output (the tutorial's Normalize(0.5, 0.5))."""
    return images_u8.float().div_(127.5).sub_(1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """float -1..1 -> uint8 0..255 (inverse of to_model_range, clamped)."""
    return images.add(1.0).mul_(127.5).round_().clamp_(0, 255).to(torch.uint8)


def conform(images: torch.Tensor, channels: int, size: int) -> torch.Tensor:
    """uint8 (N, C, H, W) -> uint8 (N, channels, size, size): grey<->RGB and antialiased resizing."""
    if images.shape[1] == 1 and channels == 3:
        images = images.expand(-1, 3, -1, -1)
    elif images.shape[1] == 3 and channels == 1:
        weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)  # ITU-R BT.601 luma
        images = (images.float() * weights).sum(1, keepdim=True).round().to(torch.uint8)
    if images.shape[-1] != size or images.shape[-2] != size:
        resized = []
        for chunk in images.split(4096):
            x = F.interpolate(chunk.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
            resized.append(x.round().clamp(0, 255).to(torch.uint8))
        images = torch.cat(resized)
    return images.contiguous()


def grid(images: torch.Tensor, nrow: int | None = None, padding: int = 2) -> np.ndarray:
    """Tile uint8 (N, C, H, W) images into one uint8 (rows*H, cols*W, C) picture, padded in black."""
    n, c, h, w = images.shape
    cols = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    canvas = torch.zeros(c, rows * (h + padding) + padding, cols * (w + padding) + padding, dtype=torch.uint8)
    for i in range(n):
        top, left = padding + (i // cols) * (h + padding), padding + (i % cols) * (w + padding)
        canvas[:, top : top + h, left : left + w] = images[i]
    return canvas.permute(1, 2, 0).numpy()


def picture_image(picture: np.ndarray):
    """A PIL image of a uint8 (H, W, 1|3) picture (grey pictures lose their channel axis)."""
    return Image.fromarray(picture[..., 0] if picture.shape[-1] == 1 else picture)


def save_png(picture: np.ndarray, path: str | Path) -> Path:
    """Write an (H, W, 1|3) uint8 array as PNG, atomically."""
    with atomic_path(path) as tmp:
        picture_image(picture).save(tmp, format="PNG")
    return Path(path)


def spread(images: torch.Tensor) -> float:
    """Mean pairwise L2 distance of images in -1..1 (or other pictures on a fixed scale: spectrograms), compared at
    no more than 32 x 32."""
    if max(images.shape[-2:]) > 32:
        images = F.adaptive_avg_pool2d(images, 32)
    return float(torch.pdist(images.flatten(1).float()).mean())


class ImageModality(Modality):
    name = "image"
    augmentations = ("color", "translation", "cutout")
    file_extensions = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
    words = "images"

    def to_model(self, raw: torch.Tensor) -> torch.Tensor:
        return to_model_range(raw)

    def from_model(self, x: torch.Tensor) -> torch.Tensor:
        return to_uint8(x)

    def picture(self, samples: torch.Tensor, nrow: int | None = None) -> np.ndarray:
        return grid(samples, nrow)

    def preview(self, samples: torch.Tensor, path: str | Path, nrow: int | None = None) -> Path:
        return save_png(grid(samples, nrow), path)

    output_suffix = ".png"
    stored = "uint8 images (N, C, H, W)"
    noun = "image"
    labelled_folder_hint = "put images in one subfolder per class, or use --extractor inception"
    pretrained_extractor = "inception"
    example_output = "samples.png"
    decoded = "uint8 pixels"
    keep_decoded = 'np.save("pixels.npy", pixels)'
    decoded_as = "pixels"

    def describe(self, shape: tuple[int, ...] | list[int]) -> str:
        return f"{shape[1]}x{shape[2]} {'grey' if shape[0] == 1 else 'colour'} images"

    collapse_advice = ("add --augment translation on small datasets",
                       "use a model with a stronger D (dcgan, sngan)")

    def classifier_input(self, height: int, width: int) -> str:
        return f"{height}x{width} px"

    def baselines(self, like: torch.Tensor, count: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        return {"noise": torch.randint(0, 256, (count, *like.shape[1:]), dtype=torch.uint8, generator=generator)}

    def classifier_view(self, samples: torch.Tensor) -> torch.Tensor:
        return samples

    def thumbnails(self, samples: torch.Tensor) -> torch.Tensor:
        return samples

    def write_samples(self, samples: torch.Tensor, out: Path, nrow: int | None = None) -> str:
        if out.suffix.lower() != ".png":
            raise GankitError(f"--out {out} must end in .png")
        return str(self.preview(samples, out, nrow))

    def as_array(self, samples: torch.Tensor) -> np.ndarray:
        """uint8 (N, H, W) for grey, (N, H, W, 3) for colour."""
        array = samples.permute(0, 2, 3, 1).numpy()
        return np.ascontiguousarray(array[..., 0] if array.shape[-1] == 1 else array, dtype=np.uint8)

    def spread(self, x: torch.Tensor) -> float:
        return spread(x)

    def decoding(self) -> dict[str, str]:
        return {"output": "float32 (N, C, H, W) in [-1, 1]",
                "data": "uint8 pixels (N, C, H, W): round((x + 1) * 127.5), clipped to 0..255; C = 1 grey, 3 RGB",
                "numpy": "pixels = np.clip(np.round((x + 1) * 127.5), 0, 255).astype(np.uint8)"}

    def default_extractor(self, sample_shape: tuple[int, ...]) -> str:
        """classifier for small grey images (as in the MNIST literature); for colour or larger images the
        papers' Inception-v3 when its weights are on disk, else the classifier."""
        channels, size = sample_shape[0], sample_shape[-1]
        if channels == 1 and size <= 32:
            return "classifier"
        return "inception" if inception_weights_path().is_file() else "classifier"


MODALITIES.add("image", ImageModality)
