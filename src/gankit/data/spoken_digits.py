"""`spoken-digits`: an offline stand-in for SC09 (the WaveGAN paper's spoken digits), made on this machine.

espeak-ng says "zero" ... "nine" in 8 English accents x 24 voice variants, twice each at a speed and
pitch drawn from a fixed seed: 384 clips per digit, 3,840 in all, 16 kHz mono FLAC. Like SC09's
speakers, the test split's voices are never heard in training: the clips of 3 of the 24 variants
(480 clips) are held out.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from gankit.atomic import made_in_place
from gankit.data.audio import DEFAULT_RATE, audio_libraries, resample, write_flac
from gankit.errors import GankitError

ACCENTS = ("en", "en-us", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd", "en-029", "en-us-nyc")
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt2", "klatt3",
            "Andy", "Annie", "david", "ed", "linda", "max", "paul", "robert", "steph")
# voices only the test split has: never heard in training
TEST_VARIANTS = ("m7", "f5", "linda")
TAKES = 2
SEED = 0
SPEEDS = (120, 200)  # words per minute
PITCHES = (25, 75)  # espeak-ng's 0..99


@dataclass(frozen=True)
class Take:
    word: str
    accent: str
    variant: str
    speed: int
    pitch: int
    take: int

    @property
    def split(self) -> str:
        return "test" if self.variant in TEST_VARIANTS else "train"

    @property
    def filename(self) -> str:
        return f"{self.accent}_{self.variant}_{self.take}.flac"


def plan(words: tuple[str, ...], per_word: int | None = None) -> list[Take]:
    """Every clip to make, with speeds and pitches drawn from a fixed seed; `per_word` (at least 2) keeps that
    many of each word, evenly spread over the voices, with the test split's share of held-out voices."""
    rng = np.random.default_rng(SEED)
    takes = [Take(word, accent, variant, int(rng.integers(*SPEEDS)), int(rng.integers(*PITCHES)), take)
             for word in words for accent in ACCENTS for variant in VARIANTS for take in range(TAKES)]
    if per_word is None:
        return takes
    tests = max(1, round(per_word * len(TEST_VARIANTS) / len(VARIANTS)))
    kept = []
    for word in words:
        for split, count in (("train", per_word - tests), ("test", tests)):
            pool = [t for t in takes if t.word == word and t.split == split]
            kept += [pool[i] for i in np.linspace(0, len(pool) - 1, count).round().astype(int)]
    return kept


def espeak() -> str:
    path = shutil.which("espeak-ng")
    if path is None:
        raise GankitError("spoken-digits is spoken by espeak-ng, which is not installed: apt install espeak-ng "
                          "(Debian, Ubuntu), brew install espeak-ng (macOS)")
    return path


def say(take: Take, program: str) -> np.ndarray:
    """One clip as float32 mono at DEFAULT_RATE."""
    soundfile, _ = audio_libraries()
    result = subprocess.run([program, "-v", f"{take.accent}+{take.variant}", "-s", str(take.speed), "-p",
                             str(take.pitch), "--stdout", take.word], capture_output=True, timeout=60)
    if result.returncode != 0 or not result.stdout:
        raise GankitError(f"espeak-ng failed on {take}: {result.stderr.decode(errors='replace').strip()[:200]}")
    wave, rate = soundfile.read(io.BytesIO(result.stdout), dtype="float32")
    return resample(wave, rate, DEFAULT_RATE)


def make_spoken_digits(out: Path, words: tuple[str, ...], per_word: int | None = None,
                       progress: bool = True) -> dict[str, int]:
    """Write out/<split>/<word>/<accent>_<variant>_<take>.flac; returns clips per split.

    Made in a sibling folder and renamed into place, so a stopped run leaves no half-made dataset.
    """
    program = espeak()
    audio_libraries()
    takes = plan(words, per_word)
    with made_in_place(out) as building, ThreadPoolExecutor(max_workers=4) as pool:
        make = lambda take: write_flac(building / take.split / take.word / take.filename, say(take, program))
        list(tqdm(pool.map(make, takes), total=len(takes), desc="speaking digits", unit="clip", disable=not progress))
    return {split: sum(t.split == split for t in takes) for split in ("train", "test")}
