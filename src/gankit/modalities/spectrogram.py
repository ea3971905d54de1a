"""Sound as a picture: the spectrogram view a family can train on (SpecGAN, Donahue et al. 2019), and back.

Forward, computed once when the data is loaded: STFT magnitude (linear bins, or a filterbank over them: mel bands,
or log-frequency bands) -> log -> each frequency normalised with the training set's mean and std -> clipped at 3
std -> [-1, 1].
Back, for every sample G makes: the same steps undone, bands -> linear bins by the filterbank's least-squares
inverse, then fast Griffin-Lim (Perraudin et al. 2013: Griffin-Lim with momentum, as torchaudio and librosa
implement it) to find a phase, batched on torch.stft / torch.istft. The statistics and settings are saved with
every checkpoint (the audio modality's info), so a run turns its samples into sound without its data.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from gankit.errors import GankitError
from gankit.progress import phase
from gankit.smoke import smoke_griffin_lim

# SpecGAN's: log(|X| + eps), and the normalised values clipped at this many standard deviations (the specgan family
# sets its own eps, measured on spoken-digits)
LOG_EPS = 1e-6
CLIP_STD = 3.0
# Perraudin et al.'s momentum; torchaudio's and librosa's default
MOMENTUM = 0.99
# bounds on saved settings (a damaged or hostile meta.json must not size an allocation)
MAX_N_FFT, MAX_BINS = 8192, 1024
# the frequency scales of a filterbank's bands
SCALES = ("mel", "log")


@dataclass(frozen=True)
class SpectrogramView:
    """What a spectrogram family trains on, and how its pictures turn back into clips of `clip_samples`."""

    n_fft: int
    hop: int
    # 0: the STFT's linear bins (the top one dropped, so a picture has n_fft / 2 rows); else this many bands on `scale`
    mels: int
    sample_rate: int
    clip_samples: int
    # Griffin-Lim iterations when decoding
    iterations: int
    # added to |X| before the log: the level below which all is one silence
    log_eps: float = LOG_EPS
    # per frequency row: mean and std of log(|X| + eps) over the training set (empty until fitted)
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()
    # the bands' frequency scale: "mel" (Slaney's, librosa's) or "log" (log_filterbank)
    scale: str = "mel"

    @property
    def rows(self) -> int:
        return self.mels or self.n_fft // 2

    @property
    def frames(self) -> int:
        return self.clip_samples // self.hop

    @property
    def shape(self) -> tuple[int, int, int]:
        """One sample as the model sees it: (1, rows, frames)."""
        return (1, self.rows, self.frames)

    def info(self) -> dict[str, Any]:
        return asdict(self) | {"mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_info(cls, info: Any, sample_rate: int) -> SpectrogramView:
        """Read back info(), refusing what a damaged or hostile meta.json could hold."""
        def whole(key: str, low: int, high: int) -> int:
            value = info.get(key) if isinstance(info, dict) else None
            if not (type(value) is int and low <= value <= high):
                raise GankitError(f"meta.json records a spectrogram with an invalid {key} {value!r}")
            return value
        n_fft = whole("n_fft", 16, MAX_N_FFT)
        eps = info.get("log_eps", LOG_EPS)
        if not (type(eps) is float and 0 < eps <= 1):
            raise GankitError(f"meta.json records a spectrogram with an invalid log_eps {eps!r}")
        scale = info.get("scale", "mel")  # runs made before the log scale have none
        if scale not in SCALES:
            raise GankitError(f"meta.json records a spectrogram with an invalid scale {scale!r}")
        view = cls(n_fft=n_fft, hop=whole("hop", 1, n_fft), mels=whole("mels", 0, MAX_BINS), sample_rate=sample_rate,
                   clip_samples=whole("clip_samples", n_fft, 1 << 20), iterations=whole("iterations", 0, 1000),
                   log_eps=eps, scale=scale)
        mean, std = info.get("mean"), info.get("std")
        if not all(isinstance(v, list) and len(v) == view.rows
                   and all(type(x) in (int, float) and math.isfinite(x) for x in v) for v in (mean, std)) \
                or min(std) <= 0:
            raise GankitError("meta.json records a spectrogram without valid statistics (mean, std per row)")
        return cls(**{**asdict(view), "mean": tuple(mean), "std": tuple(std)})

    def check(self) -> None:
        """The settings describe a picture the STFT can make; raises GankitError naming the setting."""
        if self.hop > self.n_fft or self.n_fft > self.clip_samples:
            raise GankitError(f"a spectrogram of n_fft {self.n_fft} and hop {self.hop} needs hop <= n_fft <= the clip's "
                              f"{self.clip_samples} samples; set model.n_fft and model.hop accordingly")
        if self.scale == "log" and self.mels >= self.n_fft // 2:
            raise GankitError(f"model.mels {self.mels} log-frequency bands need n_fft over {2 * self.mels} (the bottom "
                              f"ones are single STFT bins); lower model.mels or raise model.n_fft")
        if self.mels > self.n_fft // 2:
            raise GankitError(f"model.mels {self.mels} is more bands than n_fft {self.n_fft} has bins "
                              f"({self.n_fft // 2 + 1}); lower model.mels or raise model.n_fft")

    # -- forward -------------------------------------------------------------------------------------

    def magnitude(self, clips: torch.Tensor) -> torch.Tensor:
        """float (N, 1, L) -> (N, rows, frames): |STFT| (Hann window, centred), or bands of it."""
        window = torch.hann_window(self.n_fft, device=clips.device)
        spec = torch.stft(clips.reshape(-1, clips.shape[-1]).float(), self.n_fft, self.hop, window=window,
                          center=True, pad_mode="constant", return_complex=True).abs()
        spec = spec[..., : self.frames]  # L / hop + 1 frames centred: the last starts past the clip's end
        if self.mels:
            return band_filters(self).to(clips.device) @ spec
        return spec[:, : self.rows]  # the Nyquist bin dropped: a square picture, as SpecGAN's

    def fitted(self, clips: torch.Tensor, chunk: int = 256) -> SpectrogramView:
        """The same view with the mean and std of each row's log magnitude over `clips` (N, 1, L)."""
        total = torch.zeros(self.rows, dtype=torch.float64)
        squares = torch.zeros(self.rows, dtype=torch.float64)
        count = 0
        for part in phase(clips.split(chunk), "measuring the spectrograms", unit="batch"):
            logs = torch.log(self.magnitude(part) + self.log_eps).double()
            total += logs.sum(dim=(0, 2)).cpu()
            squares += logs.square().sum(dim=(0, 2)).cpu()
            count += logs.shape[0] * logs.shape[2]
        mean = total / count
        std = (squares / count - mean.square()).clamp_min(1e-8).sqrt()
        return SpectrogramView(**{**asdict(self), "mean": tuple(mean.tolist()), "std": tuple(std.tolist())})

    def _statistics(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.mean:
            raise GankitError("the spectrogram view has no statistics yet: fit it on the training clips first")
        mean = torch.tensor(self.mean, dtype=torch.float32, device=device)[:, None]
        std = torch.tensor(self.std, dtype=torch.float32, device=device)[:, None]
        return mean, std

    def encode(self, clips: torch.Tensor, chunk: int = 256) -> torch.Tensor:
        """float (N, 1, L) clips -> (N, 1, rows, frames) in [-1, 1]: what the model trains on."""
        mean, std = self._statistics(clips.device)
        out = [((torch.log(self.magnitude(part) + self.log_eps) - mean) / std).clamp(-CLIP_STD, CLIP_STD) / CLIP_STD
               for part in phase(clips.split(chunk), "making spectrograms", unit="batch")]
        return torch.cat(out)[:, None]

    # -- back ------------------------------------------------------------------------------------------

    def decode_magnitude(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, rows, frames) in [-1, 1] -> the linear STFT magnitude (N, n_fft / 2 + 1, frames + 1)."""
        mean, std = self._statistics(x.device)
        magnitude = (torch.exp(x[:, 0].float().clamp(-1, 1) * CLIP_STD * std + mean) - self.log_eps).clamp_min(0)
        if self.mels:
            magnitude = (band_inverse(self).to(x.device) @ magnitude).clamp_min(0)
        else:
            magnitude = torch.nn.functional.pad(magnitude, (0, 0, 0, 1))  # the dropped Nyquist bin, silent
        return torch.nn.functional.pad(magnitude, (0, 1))  # and the dropped last frame

    def decode(self, x: torch.Tensor, iterations: int | None = None, chunk: int = 64) -> torch.Tensor:
        """(N, 1, rows, frames) in [-1, 1] -> float (N, 1, clip_samples) clips in [-1, 1].

        In chunks: Griffin-Lim is bound by memory traffic, and 64 clips at a time took a third of the time per
        clip that 500 did (2 CPU cores)."""
        steps = smoke_griffin_lim(self.iterations if iterations is None else iterations)
        waves = [griffin_lim(self.decode_magnitude(part), self.n_fft, self.hop, self.clip_samples, steps)
                 for part in phase(x.split(chunk), f"decoding {len(x)} clips (Griffin-Lim)", unit="batch")]
        return torch.cat(waves)[:, None].clamp(-1, 1)


def hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above (librosa's default, htk=False)."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / (200.0 / 3)
    log = 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, log, linear)


def mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    return np.where(mel >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0)), mel * (200.0 / 3))


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float = 0.0,
                   fmax: float | None = None) -> torch.Tensor:
    """(n_mels, n_fft // 2 + 1) triangular filters, each of unit area (librosa.filters.mel's defaults)."""
    fmax = sample_rate / 2 if fmax is None else fmax
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    return _triangles(sample_rate, n_fft, edges[:-2], edges[1:-1], edges[2:])


def log_filterbank(sample_rate: int, n_fft: int, bands: int) -> torch.Tensor:
    """(bands, n_fft // 2 + 1) triangular filters of unit area: one STFT bin apart at the bottom, then at equal
    steps in pitch (each a fixed ratio of the last) up to Nyquist, from where those steps are a bin wide or more.

    Mel's linear-then-log shape, with the bend where the STFT's resolution runs out: 128 bands of a 1,024-sample
    window are single bins up to 547 Hz and half a semitone apart above. Steps in pitch all the way down would
    make bands narrower than a bin, a rank-deficient filterbank whose inverse blows up what a G draws there."""
    nyquist, step = sample_rate / 2, sample_rate / n_fft
    for linear in range(1, bands + 1):  # the fewest single-bin steps after which a fixed ratio takes a bin or more
        ratio = (nyquist / (linear * step)) ** (1 / (bands + 1 - linear))
        if linear * (ratio - 1) >= 1:
            break
    edges = np.concatenate([np.arange(linear + 1) * step, linear * step * ratio ** np.arange(1, bands + 2 - linear)])
    return _triangles(sample_rate, n_fft, edges[:-2], edges[1:-1], edges[2:])


def _triangles(sample_rate: int, n_fft: int, low: np.ndarray, centre: np.ndarray, high: np.ndarray) -> torch.Tensor:
    """Triangles rising from `low` to 1 at `centre` and falling to `high` (Hz), scaled to unit area, at the STFT's
    bins."""
    bins = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    rising = (bins[None, :] - low[:, None]) / (centre - low)[:, None]
    falling = (high[:, None] - bins[None, :]) / (high - centre)[:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling)) * (2.0 / (high - low))[:, None]
    return torch.from_numpy(weights.astype(np.float32))


def band_filters(view: SpectrogramView) -> torch.Tensor:
    """(mels, n_fft / 2 + 1): the view's filterbank, on its scale."""
    return filterbank(view.scale, view.sample_rate, view.n_fft, view.mels)


def filterbank(scale: str, sample_rate: int, n_fft: int, bands: int) -> torch.Tensor:
    if scale == "log":
        return log_filterbank(sample_rate, n_fft, bands)
    return mel_filterbank(sample_rate, n_fft, bands)


def band_inverse(view: SpectrogramView) -> torch.Tensor:
    """(n_fft / 2 + 1, mels): the filterbank's least-squares inverse, in float64 for a stable solve; read-only."""
    return _band_inverse(view.scale, view.sample_rate, view.n_fft, view.mels)


@functools.lru_cache(maxsize=8)
def _band_inverse(scale: str, sample_rate: int, n_fft: int, mels: int) -> torch.Tensor:
    """Solved once a process: the solve took longer than the rest of decoding a preview's few clips."""
    filters = filterbank(scale, sample_rate, n_fft, mels).double()
    return torch.linalg.lstsq(filters, torch.eye(mels, dtype=torch.float64), driver="gelsd").solution.float()


def griffin_lim(magnitude: torch.Tensor, n_fft: int, hop: int, length: int, iterations: int,
                momentum: float = MOMENTUM) -> torch.Tensor:
    """Clips (N, length) whose STFT magnitude is near `magnitude` (N, n_fft / 2 + 1, frames).

    Fast Griffin-Lim: each iteration keeps the phase of the STFT of the current estimate, extrapolated by
    `momentum` (0: the plain algorithm of Griffin & Lim 1984). It starts from zero phase (librosa's init=None), so a
    spectrogram always gives the same clip, here and in NUMPY_INVERSION: random phases were 0.005 better in
    spectral convergence after 32 iterations on spoken-digits, and no program without torch could repeat them.
    """
    window = torch.hann_window(n_fft, device=magnitude.device)
    angles = torch.ones_like(magnitude, dtype=torch.complex64)
    previous = torch.zeros_like(angles)
    for _ in range(iterations):
        wave = torch.istft(magnitude * angles, n_fft, hop, window=window, center=True, length=length)
        rebuilt = torch.stft(wave, n_fft, hop, window=window, center=True, pad_mode="constant", return_complex=True)
        angles = rebuilt - previous * (momentum / (1 + momentum))
        angles = angles / (angles.abs() + 1e-16)
        previous = rebuilt
    return torch.istft(magnitude * angles, n_fft, hop, window=window, center=True, length=length)


def spectral_convergence(clips: torch.Tensor, magnitude: torch.Tensor, n_fft: int, hop: int) -> float:
    """|| |STFT(clips)| - magnitude ||_F / || magnitude ||_F: how far clips are from having that magnitude."""
    window = torch.hann_window(n_fft, device=clips.device)
    got = torch.stft(clips, n_fft, hop, window=window, center=True, pad_mode="constant", return_complex=True).abs()
    return float(torch.linalg.vector_norm(got - magnitude) / torch.linalg.vector_norm(magnitude))


# decode() in numpy alone, for an exported bundle's model card: x is G's output (N, 1, rows, frames), info the bundle's
# model.json; leaves the clips in `waves` (N, clip_samples)
NUMPY_INVERSION = '''s = info["modality"]["spectrogram"]  # G's pictures -> sound, as gankit.modalities.spectrogram does it
n_fft, hop, length = s["n_fft"], s["hop"], s["clip_samples"]
logs = np.clip(x[:, 0], -1, 1) * 3 * np.array(s["std"])[:, None] + np.array(s["mean"])[:, None]
mag = np.maximum(np.exp(logs) - s["log_eps"], 0)  # |STFT|, or its bands
if s["mels"]:  # triangular filters of unit area, undone by least squares
    nyquist, step = s["sample_rate"] / 2, s["sample_rate"] / n_fft
    if s.get("scale") == "log":  # single bins at the bottom, then equal steps in pitch of a bin or more
        for linear in range(1, s["mels"] + 1):
            ratio = (nyquist / (linear * step)) ** (1 / (s["mels"] + 1 - linear))
            if linear * (ratio - 1) >= 1:
                break
        above = linear * step * ratio ** np.arange(1, s["mels"] + 2 - linear)
        edges = np.concatenate([np.arange(linear + 1) * step, above])
    else:  # Slaney's mel scale (librosa's)
        def mel(f): return np.where(f >= 1000, 15 + np.log(np.maximum(f, 1e-10) / 1000) / (np.log(6.4) / 27), f * 0.015)
        def hz(m): return np.where(m >= 15, 1000 * np.exp((np.log(6.4) / 27) * (m - 15)), m / 0.015)
        edges = hz(np.linspace(0, mel(nyquist), s["mels"] + 2))
    bins, low, centre, high = np.linspace(0, nyquist, n_fft // 2 + 1), edges[:-2], edges[1:-1], edges[2:]
    filters = np.maximum(0, np.minimum((bins - low[:, None]) / (centre - low)[:, None],
                                       (high[:, None] - bins) / (high - centre)[:, None]))
    filters *= (2 / (high - low))[:, None]
    mag = np.maximum(np.linalg.pinv(filters) @ mag, 0)
else:
    mag = np.pad(mag, ((0, 0), (0, 1), (0, 0)))  # the Nyquist bin, silent
mag = np.pad(mag, ((0, 0), (0, 0), (0, 1)))  # and the last frame
window = np.hanning(n_fft + 1)[:-1]
def stft(w):
    w = np.pad(w, ((0, 0), (n_fft // 2, n_fft // 2)))
    frames = np.lib.stride_tricks.sliding_window_view(w, n_fft, axis=-1)[:, ::hop]
    return np.fft.rfft(frames * window, axis=-1).transpose(0, 2, 1)
def istft(spec):
    frames = np.fft.irfft(spec.transpose(0, 2, 1), n_fft, axis=-1) * window
    out, norm = np.zeros((len(spec), n_fft + hop * (frames.shape[1] - 1))), np.zeros(n_fft + hop * (frames.shape[1] - 1))
    for t in range(frames.shape[1]):
        out[:, t * hop : t * hop + n_fft] += frames[:, t]
        norm[t * hop : t * hop + n_fft] += window**2
    return (out / np.maximum(norm, 1e-11))[:, n_fft // 2 : n_fft // 2 + length]
angles, previous = np.ones(mag.shape, dtype=complex), 0  # fast Griffin-Lim from zero phase
for _ in range(s["iterations"]):
    rebuilt = stft(istft(mag * angles))
    angles = rebuilt - previous * (0.99 / 1.99)
    angles /= np.abs(angles) + 1e-16
    previous = rebuilt
waves = np.clip(istft(mag * angles), -1, 1)  # at s["sample_rate"] Hz'''
