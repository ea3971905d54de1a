"""Reader for a folder of sound files (recursive): wav, flac, ogg, through soundfile (libsndfile).

Each file is mixed to mono, resampled to the sample rate (scipy.signal.resample_poly), cut to the
clip length from its start or padded with silence, and peak-normalised to [-1, 1]. Files whose
first-level subfolder names a class get that class as label, as for images. Unreadable, empty and
silent files are skipped and counted.
"""

from __future__ import annotations

import math
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from gankit.data.folder import labels_from_subfolders
from gankit.errors import GankitError
from gankit.modalities.audio import AudioModality
from gankit.progress import phase

EXTENSIONS = AudioModality.file_extensions
DEFAULT_RATE = 16_000
# 2**14: about 1 s at 16 kHz, the WaveGAN paper's clip
DEFAULT_CLIP = 16_384
# quieter than this at its loudest (about -80 dBFS) a clip is silence, and normalising it would only amplify noise
SILENCE = 1e-4
# what a file's header may declare before anything is read: the resampling filter grows with the rate, the frames
# read with the channels (a 4 KB file claiming 10 MHz once took 9 GiB); real recordings sit well inside
RATES = (1_000, 384_000)
MAX_CHANNELS = 32
# why a file was skipped, as the warning says it
SKIPPED = {"unreadable": "{n} unreadable sound file(s)", "silent": "{n} empty or silent sound file(s)",
           "bounds": "{n} sound file(s) declaring a sample rate outside "
                     f"{RATES[0]:,}..{RATES[1]:,} Hz or over {MAX_CHANNELS} channels"}


def audio_libraries():
    """soundfile and scipy.signal, or one line saying how to get them (they are the `audio` extra)."""
    try:
        import scipy.signal
        import soundfile
    except ImportError:
        raise GankitError("sound needs soundfile and scipy: pip install 'gankit[audio]'") from None
    return soundfile, scipy.signal


def list_sounds(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if AudioModality.holds(p) and p.is_file())


def resample(wave: np.ndarray, source_rate: int, rate: int) -> np.ndarray:
    """Polyphase resampling from source_rate to rate (anti-aliased), float32 out."""
    if source_rate == rate:
        return wave.astype(np.float32, copy=False)
    _, signal = audio_libraries()
    g = math.gcd(source_rate, rate)
    return signal.resample_poly(wave, rate // g, source_rate // g).astype(np.float32)


def fit_clip(wave: np.ndarray, clip_samples: int) -> np.ndarray:
    """Cut to clip_samples from the start, or pad with silence at the end."""
    out = np.zeros(clip_samples, dtype=np.float32)
    out[: min(len(wave), clip_samples)] = wave[:clip_samples]
    return out


def load_clip(path: Path, rate: int, clip_samples: int) -> np.ndarray | str:
    """One file as float32 (1, clip_samples) in [-1, 1], or why it was skipped (a key of SKIPPED)."""
    soundfile, _ = audio_libraries()
    try:
        with soundfile.SoundFile(path) as f:
            source_rate = f.samplerate
            if not (RATES[0] <= source_rate <= RATES[1] and 1 <= f.channels <= MAX_CHANNELS):
                return "bounds"
            # only what the clip needs: a long recording is not read whole
            frames = f.read(frames=math.ceil(clip_samples * source_rate / rate) + 64, dtype="float32", always_2d=True)
    except Exception:  # libsndfile reports every broken file as some error: all mean "skip this one"
        return "unreadable"
    if frames.size == 0:
        return "silent"
    # mixed in float64: channels near float32's largest value would add up to inf
    wave = fit_clip(resample(frames.mean(axis=1, dtype=np.float64), source_rate, rate), clip_samples)
    if not np.isfinite(wave).all():
        return "unreadable"
    peak = float(np.abs(wave).max())
    if peak < SILENCE:
        return "silent"
    return (wave / peak)[None]


def read_audio_folder(root: str | Path, rate: int, clip_samples: int) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """Read every sound file under `root`.

    Returns:
        clips float32 (N, 1, clip_samples) in [-1, 1]; labels int64 (N,) or None; class names
        (first-level subfolders, when every file is in one).
    """
    root = Path(root)
    if not root.is_dir():
        raise GankitError(f"sound folder {root} does not exist")
    paths = list_sounds(root)
    if not paths:
        raise GankitError(f"sound folder {root} holds no sound files ({', '.join(EXTENSIONS)})")
    audio_libraries()
    with ThreadPoolExecutor(max_workers=4) as pool:
        loaded = list(phase(pool.map(lambda p: load_clip(p, rate, clip_samples), paths), f"reading {root.name}",
                            len(paths), "file"))
    skipped = {why: [p for p, c in zip(paths, loaded) if isinstance(c, str) and c == why] for why in SKIPPED}
    kept = [(p, c) for p, c in zip(paths, loaded) if not isinstance(c, str)]
    if not kept:
        counts = ", ".join(SKIPPED[why].format(n=len(bad)) for why, bad in skipped.items() if bad)
        raise GankitError(f"sound folder {root}: none of its {len(paths)} files could be used ({counts})")
    for why, bad in skipped.items():
        if bad:
            warnings.warn(f"skipped {SKIPPED[why].format(n=len(bad))} in {root}, e.g. {bad[0]}", stacklevel=2)
    return (np.stack([c for _, c in kept]), *labels_from_subfolders(root, [p for p, _ in kept]))


def write_flac(path: Path, clip: np.ndarray, rate: int = DEFAULT_RATE) -> None:
    """One float clip in [-1, 1] as 16-bit FLAC, its folder made as needed."""
    soundfile, _ = audio_libraries()
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, clip, rate, format="FLAC", subtype="PCM_16")
