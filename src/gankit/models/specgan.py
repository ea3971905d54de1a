"""`specgan` and `cspecgan`: sound as spectrogram pictures (Donahue et al. 2019's SpecGAN), on the image recipe.

G makes a (1, rows, frames) picture of log magnitudes, normalised per frequency as the audio modality's spectrogram
view computes them from the training clips; D judges such pictures; the modality turns G's pictures back into
clips by Griffin-Lim (gankit.modalities.spectrogram). The nets are dcgan's (specgan) and cgan's (cspecgan: G sees
a label code, D projects the label), at the picture's size: 28, 32, 64 or 128 frames, and as many frequency rows
or twice as many. The view's settings are the family's own (model.n_fft, model.hop, model.mels, model.scale,
model.griffin_lim, model.log_eps), saved with the run like any other.
"""

from __future__ import annotations

from dataclasses import dataclass

from gankit.config import Config, opt, require
from gankit.data.audio import DEFAULT_CLIP, DEFAULT_RATE
from gankit.errors import GankitError
from gankit.modalities.spectrogram import MAX_BINS, MAX_N_FFT, SCALES, SpectrogramView
from gankit.models import cgan, dcgan
from gankit.models.dcgan import PLANS, ConvParams, batch_norm_in_d
from gankit.models.spec import MODELS, ModelSpec


@dataclass(frozen=True)
class SpecParams(ConvParams):
    """dcgan's settings, and the spectrogram G makes."""

    n_fft: int = opt(512, "STFT window in samples (Hann)")
    hop: int = opt(256, "STFT hop in samples: the picture has clip_samples / hop frames")
    mels: int = opt(64, "frequency bands (the picture's rows) on model.scale; 0: the STFT's n_fft / 2 linear bins")
    scale: str = opt("mel", "the bands' frequency scale: mel, or log (single STFT bins at the bottom, then equal steps "
                            "in pitch up to Nyquist: it keeps a note's pitch; docs/benchmarks.md)")
    griffin_lim: int = opt(32, "Griffin-Lim iterations (with momentum) that turn a picture back into a clip")
    log_eps: float = opt(1e-4, "added to the STFT magnitude before the log: the level of silence (SpecGAN's 1e-6 "
                               "squeezed speech into a sixth of [-1, 1] under the silence of spoken-digits' padding)")


def view(config: Config) -> SpectrogramView:
    """The spectrogram view (without statistics) this config trains on."""
    p, data = config.model.params, config.data
    return SpectrogramView(n_fft=p.n_fft, hop=p.hop, mels=p.mels, sample_rate=data.sample_rate or DEFAULT_RATE,
                           clip_samples=data.clip_samples or DEFAULT_CLIP, iterations=p.griffin_lim, log_eps=p.log_eps,
                           scale=p.scale)


def check(config: Config, sample_shape: tuple[int, ...]) -> None:
    p = config.model.params
    require(16 <= p.n_fft <= MAX_N_FFT, "model.n_fft", f"must be in 16..{MAX_N_FFT}", p.n_fft)
    require(1 <= p.hop <= p.n_fft, "model.hop", "must be in 1..model.n_fft", p.hop)
    require(0 <= p.mels <= MAX_BINS, "model.mels", f"must be in 0..{MAX_BINS}", p.mels)
    require(0 <= p.griffin_lim <= 1000, "model.griffin_lim", "must be in 0..1000", p.griffin_lim)
    require(0 < p.log_eps <= 1, "model.log_eps", "must be in (0, 1]", p.log_eps)
    require(p.scale in SCALES, "model.scale", f"must be {' or '.join(SCALES)}", p.scale)
    picture = view(config)
    picture.check()
    _, rows, frames = picture.shape
    if rows not in (frames, 2 * frames) or frames not in PLANS:
        sides = ", ".join(str(s) for s in PLANS)
        raise GankitError(f"model {config.model.name} makes spectrograms of {sides} frames and as many rows or twice "
                          f"as many; n_fft {p.n_fft}, hop {p.hop} and mels {p.mels} on clips of {picture.clip_samples} samples "
                          f"make {rows} x {frames}: change model.mels (rows; 0: n_fft / 2) or model.hop (frames)")
    dcgan.check(config, picture.shape, tall=True)
    # the data's clips (when a run starts), or G's pictures (a checkpoint or bundle, whose shape may have been edited)
    if tuple(sample_shape) not in ((1, picture.clip_samples), tuple(picture.shape)):
        raise GankitError(f"model {config.model.name} at these settings makes {list(picture.shape)} spectrograms of "
                          f"{picture.clip_samples}-sample clips, and the samples are {list(sample_shape)}")


def build(config: Config, sample_shape: tuple[int, ...], label_sizes: tuple[int, ...] = ()):
    return dcgan.build(config, sample_shape, label_sizes)


def build_conditional(config: Config, sample_shape: tuple[int, ...], label_sizes: tuple[int, ...] = ()):
    return cgan.build(config, sample_shape, label_sizes)


MODELS.add("specgan", ModelSpec(build=build, params=SpecParams, check=check, batch_norm_in_d=batch_norm_in_d,
                                defaults={"train.beta1": 0.5}, modalities=("audio",), spectrogram=view,
                                summary="SpecGAN: dcgan's nets on spectrograms, Griffin-Lim back to sound"))
MODELS.add("cspecgan", ModelSpec(build=build_conditional, params=SpecParams, check=check, conditional=True, auxiliary=True,
                                 batch_norm_in_d=batch_norm_in_d, defaults={"train.beta1": 0.5},
                                 modalities=("audio",), spectrogram=view,
                                 summary="class-conditional SpecGAN: cgan's nets on spectrograms"))
