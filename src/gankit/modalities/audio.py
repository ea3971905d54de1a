"""Sound: float32 (N, 1, L) waveforms in [-1, 1] at a sample rate; previews are WAV files and a picture of
their log-mel spectrograms.

The mel filterbank (gankit.modalities.spectrogram's) is librosa's default (Slaney's mel scale and area
normalisation), built on torch.stft so that librosa is no dependency; tests check it against librosa where it is
installed.
"""

from __future__ import annotations

import io
import wave
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from gankit.atomic import atomic_path
from gankit.errors import GankitError
from gankit.modalities import MODALITIES, Modality
from gankit.modalities.image import grid, save_png
from gankit.modalities.image import spread as picture_spread
from gankit.modalities.spectrogram import NUMPY_INVERSION, SpectrogramView, mel_filterbank

# spectrogram settings for 16 kHz speech: 32 ms windows every 8 ms, 64 mel bands
N_FFT = 512
HOP = 128
N_MELS = 64
# the pictures show 80 dB from -15 dB down: with librosa's unit-area mel filters a full-scale 300 Hz sine
# peaks at -17.6 dB and peak-normalised speech at -32..-22 dB (spoken-digits' 5th..95th percentile)
TOP_DB, RANGE_DB = -15.0, 80.0
# clips written as WAV per preview (the picture shows them all)
PREVIEW_CLIPS = 16
MAX_RATE = 384_000


def log_mel(clips: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """float (N, 1, L) in [-1, 1] -> (N, N_MELS, frames) mel power in dB (librosa's melspectrogram, power 2,
    of the waveform over the window's gain), floored at -100 dB."""
    window = torch.hann_window(N_FFT, device=clips.device)
    spec = torch.stft(clips.reshape(-1, clips.shape[-1]).float(), N_FFT, HOP, window=window, center=True,
                      pad_mode="constant", return_complex=True)
    # over the window's gain, so the level does not depend on N_FFT
    power = spec.abs().square() / (window.sum() / 2) ** 2
    mel = mel_filterbank(sample_rate, N_FFT, N_MELS).to(clips.device) @ power
    return 10.0 * torch.log10(mel.clamp_min(1e-10))


def spectrogram_pictures(clips: torch.Tensor, sample_rate: int, scale: int = 2) -> torch.Tensor:
    """float (N, 1, L) -> uint8 (N, 3, scale * N_MELS, scale * frames): low frequencies at the bottom, magma
    colours, each bin `scale` pixels a side (64 mel bands alone are too small to read)."""
    from matplotlib import colormaps  # heavy, and only previews draw

    db = log_mel(clips, sample_rate).flip(1).cpu()
    level = ((db - (TOP_DB - RANGE_DB)) / RANGE_DB).clamp(0, 1).numpy()
    rgb = colormaps["magma"](level)[..., :3]  # (N, mels, frames, 3)
    pictures = torch.from_numpy((rgb * 255 + 0.5).astype(np.uint8)).permute(0, 3, 1, 2)
    return pictures.repeat_interleave(scale, dim=2).repeat_interleave(scale, dim=3)


def pcm16(clips: torch.Tensor) -> np.ndarray:
    """Float sound in [-1, 1] as 16-bit PCM samples, in the same shape."""
    return (clips.float().clamp(-1, 1) * 32767).round().to(torch.int16).cpu().numpy()


def wav_bytes(clip: torch.Tensor, sample_rate: int) -> bytes:
    """One float clip (1, L) or (L,) in [-1, 1] as the bytes of a 16-bit PCM mono WAV file."""
    pcm = pcm16(clip.reshape(-1))
    buffer = io.BytesIO()  # made in memory: a wave writer on a file that fails complains again when collected
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.astype("<i2").tobytes())
    return buffer.getvalue()


def write_wav(clip: torch.Tensor, sample_rate: int, path: str | Path) -> Path:
    """One float clip (1, L) or (L,) in [-1, 1] as 16-bit PCM mono WAV, atomically."""
    data = wav_bytes(clip, sample_rate)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_sequence(clips: torch.Tensor, sample_rate: int, path: str | Path, gap_seconds: float = 0.15) -> Path:
    """clips (N, 1, L) as one WAV, one after another with `gap_seconds` of silence between (a latent walk)."""
    gap = torch.zeros(1, round(gap_seconds * sample_rate), device=clips.device)
    parts = [part for clip in clips for part in (clip, gap)][:-1]
    return write_wav(torch.cat(parts, dim=-1), sample_rate, path)


def write_clips(clips: torch.Tensor, sample_rate: int, folder: Path) -> list[Path]:
    """clips (N, 1, L) as folder/000.wav, 001.wav, ..."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GankitError(f"cannot create {folder}: {exc.strerror}") from None
    digits = max(3, len(str(len(clips) - 1)))
    return [write_wav(clip, sample_rate, folder / f"{i:0{digits}d}.wav") for i, clip in enumerate(clips)]


def spread(clips: torch.Tensor, sample_rate: int) -> float:
    """Mean pairwise distance of clips' log-mel spectrograms (dB / 80, pooled to 32 x 32): sounds that differ
    only in phase or a small shift are the same sound, which the raw waveforms would not say."""
    return picture_spread(log_mel(clips, sample_rate)[:, None] / RANGE_DB)


def classifier_pictures(clips: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """float (N, 1, L) -> uint8 (N, 1, N_MELS / 2, frames / 2): the log-mel levels of the pictures in grey, pooled
    2 x 2 (a quarter of the work for a classifier, and digits are told apart at that resolution)."""
    db = F.avg_pool2d(log_mel(clips, sample_rate)[:, None], 2)
    return ((db - (TOP_DB - RANGE_DB)) / RANGE_DB * 255).round().clamp(0, 255).to(torch.uint8)


class AudioModality(Modality):
    """Clips at `sample_rate`; with a `spectrogram` view, G makes (and D judges) the view's pictures of them
    instead, which this modality computes from clips and turns back into clips (gankit.modalities.spectrogram)."""

    name = "audio"
    file_extensions = (".wav", ".flac", ".ogg")
    words = "sound"
    stored = "float32 clips (N, 1, L) in [-1, 1]"
    noun = "clip"
    labelled_folder_hint = "put the clips in one subfolder per class (without labels there is no extractor for sound)"

    def classifier_input(self, height: int, width: int) -> str:
        return f"{height}x{width} log-mel spectrograms"

    sequence_suffix = ".wav"
    example_output = "clips/"
    decoded = "float waveforms"
    preview_note = "The first clips are in `preview/` as WAV files."
    keep_decoded = 'np.save("waves.npy", waves)'
    decoded_as = "waves"

    def describe(self, shape: tuple[int, ...] | list[int]) -> str:
        if self.spectrogram is not None:  # G's shape is its picture's; the clips are what the picture turns into
            return (f"sound ({self.spectrogram.clip_samples / self.sample_rate:.2f} s clips at {self.sample_rate} Hz, "
                    f"made as {shape[-2]} x {shape[-1]} spectrograms)")
        return f"sound ({shape[-1] / self.sample_rate:.2f} s clips at {self.sample_rate} Hz)"

    def write_sequence(self, samples: torch.Tensor, path: Path) -> Path:
        return write_sequence(samples, self.sample_rate, path)

    def preview_clips(self, preview: Path) -> list[Path]:
        return sorted(preview.with_suffix("").glob("*.wav"))

    def baselines(self, like: torch.Tensor, count: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        return {"silence": torch.zeros(count, *like.shape[1:]),
                "white noise": torch.rand(count, *like.shape[1:], generator=generator) * 2 - 1}

    def __init__(self, sample_rate: int = 16_000, spectrogram: SpectrogramView | None = None):
        self.sample_rate = sample_rate
        self.spectrogram = spectrogram

    def info(self) -> dict[str, Any]:
        view = {"spectrogram": self.spectrogram.info()} if self.spectrogram else {}
        return {"sample_rate": self.sample_rate, **view}

    @classmethod
    def from_info(cls, info: dict[str, Any]) -> AudioModality:
        rate = info.get("sample_rate")
        if not (type(rate) is int and 1000 <= rate <= MAX_RATE):
            raise GankitError(f"meta.json records sound with an invalid sample_rate {rate!r}")
        view = info.get("spectrogram")
        return cls(rate, None if view is None else SpectrogramView.from_info(view, rate))

    def to_model(self, raw: torch.Tensor) -> torch.Tensor:
        return raw.float() if self.spectrogram is None else self.spectrogram.encode(raw)

    def from_model(self, x: torch.Tensor) -> torch.Tensor:
        return x.float().clamp(-1, 1) if self.spectrogram is None else self.spectrogram.decode(x)

    def model_shape(self, stored_shape: tuple[int, ...]) -> tuple[int, ...]:
        return stored_shape if self.spectrogram is None else self.spectrogram.shape

    def check_model_shape(self, shape: tuple[int, ...], where: str) -> None:
        if self.spectrogram is not None and shape != self.spectrogram.shape:
            raise GankitError(f"checkpoint {where}: meta.json's sample_shape {list(shape)} is not its spectrogram's "
                              f"{list(self.spectrogram.shape)}")

    def training_set(self, samples: torch.Tensor):
        if self.spectrogram is None:
            return super().training_set(samples)
        return self.spectrogram.encode(samples), identity

    def picture(self, samples: torch.Tensor, nrow: int | None = None) -> np.ndarray:
        return grid(spectrogram_pictures(samples, self.sample_rate), nrow)

    def preview(self, samples: torch.Tensor, path: str | Path, nrow: int | None = None) -> Path:
        """path (a .png): the spectrograms; beside it a folder of the same name with the first clips as WAV."""
        path = Path(path)
        write_clips(samples[:PREVIEW_CLIPS], self.sample_rate, path.with_suffix(""))
        return save_png(self.picture(samples, nrow), path)

    def classifier_view(self, samples: torch.Tensor) -> torch.Tensor:
        return classifier_pictures(samples, self.sample_rate)

    demo_shows = ("picture", "clips")
    demo_max = 8  # a player each

    def demo_parts(self, samples: torch.Tensor, nrow: int | None = None) -> dict[str, Any]:
        clips = pcm16(samples.reshape(len(samples), -1))
        return {"picture": self.picture(samples, nrow), "clips": [(self.sample_rate, clip) for clip in clips]}

    def thumbnails(self, samples: torch.Tensor) -> torch.Tensor:
        return spectrogram_pictures(samples, self.sample_rate)

    def write_samples(self, samples: torch.Tensor, out: Path, nrow: int | None = None) -> str:
        """out: a folder, for NNN.wav and spectrograms.png."""
        if out.suffix.lower() in (".png", ".wav", ".npy") or out.is_file():
            raise GankitError(f"--out {out} must be a folder for the clips (sound makes one WAV file per sample)")
        write_clips(samples, self.sample_rate, out)
        save_png(self.picture(samples, nrow), out / "spectrograms.png")
        return f"{out}/ ({len(samples)} WAV files at {self.sample_rate} Hz and spectrograms.png)"

    def as_array(self, samples: torch.Tensor) -> np.ndarray:
        """float32 (N, L) in [-1, 1]."""
        return np.ascontiguousarray(samples[:, 0].numpy(), dtype=np.float32)

    def spread(self, x: torch.Tensor) -> float:
        if self.spectrogram is not None:  # G's pictures are already log magnitudes on a fixed scale
            return picture_spread(x)
        return spread(x, self.sample_rate)

    def decoding(self) -> dict[str, str]:
        if self.spectrogram is not None:
            rows, frames = self.spectrogram.shape[1:]
            view = self.spectrogram
            kind = f"{view.mels} {view.scale}-frequency bands" if view.mels else "linear frequency bins"
            return {"output": f"float32 (N, 1, {rows}, {frames}) in [-1, 1]: log-magnitude spectrograms ({kind} x "
                              "frames), each row normalised by modality.spectrogram's mean and std (clipped at 3 std)",
                    "data": f"N mono waveforms of {self.spectrogram.clip_samples} samples at {self.sample_rate} Hz, "
                            f"their phase found by {self.spectrogram.iterations} iterations of fast Griffin-Lim",
                    "numpy": NUMPY_INVERSION}
        return {"output": "float32 (N, 1, L) in [-1, 1]",
                "data": f"N mono waveforms of L samples at {self.sample_rate} Hz (modality.sample_rate): x[:, 0], "
                        "clipped to [-1, 1]",
                "numpy": "waves = np.clip(x[:, 0], -1, 1)  # at info['modality']['sample_rate'] Hz"}

    def default_extractor(self, sample_shape: tuple[int, ...]) -> str:
        return "classifier"


def identity(x: torch.Tensor) -> torch.Tensor:
    return x


MODALITIES.add("audio", AudioModality)
