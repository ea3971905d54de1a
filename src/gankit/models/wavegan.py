"""`wavegan` and `cwavegan`: Donahue et al. 2019, as in the authors' code, for raw waveforms.

G: z (100) -> dense to 16 x (16 d) -> ReLU, then five 1-D transposed convolutions (kernel 25, stride 4)
with ReLU, tanh out: 16 -> 64 -> 256 -> 1024 -> 4096 -> 16384 samples. D mirrors it: five 1-D
convolutions (kernel 25, stride 4) with LeakyReLU 0.2 and phase shuffle (radius 2) after the first four,
flattened to one logit. Trained as WGAN-GP (lambda 10, 5 critic steps, Adam 1e-4, betas 0.5, 0.9,
batch 64). Other clip lengths that are multiples of 1024 start from L / 1024 time steps instead of 16
(8192 samples: about 1 s at 8 kHz); 65536 takes a sixth layer, as the authors' long-clip model.

Phase shuffle moves each clip's feature maps by a random -2..2 samples (reflecting at the edges), so D
cannot judge by the periodic artefacts of G's transposed convolutions. The authors draw one shift per
batch; here each clip gets its own, in one gather instead of a known PyTorch port's per-clip Python loop (on
two CPU cores both take the same time; on a GPU the loop is a kernel launch per clip), drawn from the run's
noise generator so a resumed run repeats them exactly.

The paper's width d = 64 makes G 19M parameters; the CPU default is d = 16 (1.5M, 12.5x faster on two CPU
cores): see docs/benchmarks.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from gankit.config import MAX_WIDTH, Config, opt, require
from gankit.errors import GankitError
from gankit.models.spec import MODELS, LabelEmbedding, ModelSpec, label_code

KERNEL, STRIDE = 25, 4
LONG_CLIP = 65536
EMBEDDING = 50


def plan(clip_samples: int) -> tuple[int, int] | None:
    """(time steps G's dense layer makes, layers) for a clip length; None when the model cannot make it.
    Each layer multiplies the time steps by STRIDE."""
    layers = 6 if clip_samples == LONG_CLIP else 5
    start, rest = divmod(clip_samples, STRIDE**layers)
    return (start, layers) if start >= 1 and rest == 0 and clip_samples <= LONG_CLIP else None


@dataclass(frozen=True)
class WaveGANParams:
    width: int = opt(16, "d: channels of G's last and D's first layer, doubled per layer (the paper's 64 is 19M "
                         "parameters for G; 16, 1.5M, trains 12.5x faster on a CPU)")
    phase_shuffle: int = opt(2, "radius of D's phase shuffle in samples (0: none)")


def phase_shuffle(x: torch.Tensor, shifts: torch.Tensor, radius: int) -> torch.Tensor:
    """Move each clip (B, C, L) by its shift in -radius..radius, reflecting at the edges: out[t] = x[t - shift]."""
    length = x.shape[-1]
    padded = F.pad(x, (radius, radius), mode="reflect")
    index = torch.arange(length, device=x.device) + (radius - shifts)[:, None]  # (B, L)
    return padded.gather(2, index[:, None, :].expand(-1, x.shape[1], -1))


class PhaseShuffle(nn.Module):
    """Phase shuffle in training; the identity in eval mode. Draws from `generator` (the run's noise generator,
    bound by the trainer) when set."""

    draws_noise = True

    def __init__(self, radius: int):
        super().__init__()
        self.radius = radius
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.radius == 0:
            return x
        shifts = torch.randint(-self.radius, self.radius + 1, (x.shape[0],), device=x.device, generator=self.generator)
        return phase_shuffle(x, shifts, self.radius)


def _channels(width: int, layers: int) -> list[int]:
    """[16d, 8d, 4d, 2d, d] for five layers: the widest first in G, last in D."""
    return [width * 2 ** (layers - 1 - i) for i in range(layers)]


class WaveGANGenerator(nn.Module):
    def __init__(self, latent_dim: int, clip_samples: int, width: int, label_sizes: tuple[int, ...] = ()):
        super().__init__()
        self.start, layers = plan(clip_samples)
        channels = _channels(width, layers)
        self.embed = label_code(label_sizes, EMBEDDING) if label_sizes else None
        self.dense = nn.Linear(latent_dim + (EMBEDDING if label_sizes else 0), self.start * channels[0])
        self.start_channels = channels[0]
        ups: list[nn.Module] = []
        for c_in, c_out in zip(channels, channels[1:] + [1]):
            # padding 11 and output_padding 1: exactly 4x longer, as TensorFlow's "same" padding
            ups += [nn.ReLU(), nn.ConvTranspose1d(c_in, c_out, KERNEL, STRIDE, padding=11, output_padding=1)]
        self.net = nn.Sequential(*ups, nn.Tanh())

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:  # (B, latent) -> (B, 1, L)
        return self.from_code(z, self.embed(y) if self.embed is not None else None)

    def from_code(self, z: torch.Tensor, code: torch.Tensor | None) -> torch.Tensor:
        """Clips for a label code (B, EMBEDDING) (a mix of two labels' codes morphs one into the other)."""
        if code is not None:
            z = torch.cat([z, code], dim=1)
        return self.net(self.dense(z).view(-1, self.start_channels, self.start))


class WaveGANDiscriminator(nn.Module):
    def __init__(self, clip_samples: int, width: int, shuffle_radius: int, label_sizes: tuple[int, ...] = ()):
        super().__init__()
        start, layers = plan(clip_samples)
        channels = _channels(width, layers)[::-1]
        body: list[nn.Module] = []
        for i, (c_in, c_out) in enumerate(zip([1] + channels[:-1], channels)):
            body += [nn.Conv1d(c_in, c_out, KERNEL, STRIDE, padding=11), nn.LeakyReLU(0.2)]
            if i < layers - 1:
                body.append(PhaseShuffle(shuffle_radius))
        self.body = nn.Sequential(*body)
        self.features = start * channels[-1]
        self.head = nn.Linear(self.features, 1)
        # a projection discriminator for labelled clips, as cgan's: logit += <embed(y), h>
        self.embed = LabelEmbedding(label_sizes, self.features) if label_sizes else None
        if self.embed is not None:
            nn.init.normal_(self.embed.weight, 0.0, 0.02)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:  # (B, 1, L) -> logits (B,)
        h = self.body(x).flatten(1)
        logits = self.head(h).view(-1)
        if self.embed is not None:
            logits = logits + (self.embed(y) * h).sum(dim=1) / math.sqrt(self.features)
        return logits


def build(config: Config, sample_shape: tuple[int, ...],
          label_sizes: tuple[int, ...] = ()) -> tuple[nn.Module, nn.Module]:
    p, clip = config.model.params, sample_shape[-1]
    g = WaveGANGenerator(config.model.latent_dim, clip, p.width, label_sizes)
    d = WaveGANDiscriminator(clip, p.width, p.phase_shuffle, label_sizes)
    return g, d


def build_conditional(config: Config, sample_shape: tuple[int, ...], label_sizes: tuple[int, ...] = ()):
    if not label_sizes:
        raise GankitError(f"model cwavegan needs class labels, and {config.data.name} has none "
                          "(use spoken-digits, notes or a folder with one subfolder per class)")
    return build(config, sample_shape, label_sizes)


def check(config: Config, sample_shape: tuple[int, ...]) -> None:
    p = config.model.params
    require(1 <= p.width <= MAX_WIDTH // 64, "model.width", f"must be in 1..{MAX_WIDTH // 64}", p.width)
    require(0 <= p.phase_shuffle <= 64, "model.phase_shuffle", "must be in 0..64", p.phase_shuffle)
    if len(sample_shape) != 2 or sample_shape[0] != 1 or plan(sample_shape[1]) is None:
        raise GankitError(f"model {config.model.name} makes mono clips of a multiple of 1024 samples up to 65536, got "
                          f"{sample_shape}; pass --clip-samples 16384 (or 8192, ...)")


# the paper's training: WGAN-GP, 5 critic steps, Adam 1e-4 (0.5, 0.9), batch 64
DEFAULTS = {"train.loss": "wgan-gp", "train.n_critic": 5, "train.lr_g": 1e-4, "train.lr_d": 1e-4,
            "train.beta1": 0.5, "train.beta2": 0.9, "train.batch_size": 64, "train.sample_count": 16}
MODELS.add("wavegan", ModelSpec(build=build, params=WaveGANParams, check=check, defaults=DEFAULTS,
                                modalities=("audio",), summary="WaveGAN: 1-D transposed-conv G, phase-shuffle D"))
MODELS.add("cwavegan", ModelSpec(build=build_conditional, params=WaveGANParams, check=check, defaults=DEFAULTS,
                                 conditional=True, modalities=("audio",),
                                 summary="class-conditional WaveGAN with a projection discriminator"))
