"""`notes`: an offline stand-in for NSynth (GANSynth's musical notes), rendered on this machine by FluidSynth.

Twenty-two General-MIDI instruments, two from each of NSynth's eleven instrument families, play every semitone of
four octaves of their range at four velocities: a note held for 0.75 s, then released, cut at 16,384 samples of
16 kHz mono (4,224 clips). The family is the class a conditional model takes; the MIDI pitch is in each file's
name, for scoring. One note in eight (spread evenly over instruments, pitches and velocities) is held out.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from gankit.atomic import made_in_place
from gankit.data.audio import (
    DEFAULT_CLIP,
    DEFAULT_RATE,
    SILENCE,
    audio_libraries,
    list_sounds,
    write_flac,
)
from gankit.errors import GankitError

# NSynth's instrument families (General MIDI's choir and voice presets stand for its sung notes)
FAMILIES = ("bass", "brass", "flute", "guitar", "keyboard", "mallet", "organ", "reed", "string", "synth_lead", "vocal")
OCTAVES = 4
VELOCITIES = (50, 75, 100, 127)
HOLD = 12_000  # samples the key is down (0.75 s); the rest of the clip is the release
# one note in TEST_EVERY is held out
TEST_EVERY = 8
# Debian's fluid-soundfont-gm; --soundfont names another General-MIDI soundfont
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
# FluidSynth's master gain: at 0.5 the loudest note here peaks near -12 dBFS, none clips
GAIN = 0.5


@dataclass(frozen=True)
class Instrument:
    family: str
    program: int  # General MIDI program, 0-based
    name: str
    # MIDI note: it plays OCTAVES octaves from here, about where the real instrument plays and within where the
    # soundfont has samples (FluidR3 has no alto sax above MIDI 84, no violin at 94: such notes are silence)
    lowest: int

    @property
    def pitches(self) -> range:
        return range(self.lowest, self.lowest + 12 * OCTAVES)


INSTRUMENTS = (
    Instrument("bass", 32, "acoustic bass", 28), Instrument("bass", 33, "electric bass (finger)", 28),
    Instrument("brass", 56, "trumpet", 52), Instrument("brass", 57, "trombone", 40),
    Instrument("flute", 73, "flute", 55), Instrument("flute", 75, "pan flute", 55),
    Instrument("guitar", 24, "nylon guitar", 40), Instrument("guitar", 25, "steel guitar", 40),
    Instrument("keyboard", 0, "acoustic grand piano", 36), Instrument("keyboard", 4, "electric piano 1", 36),
    Instrument("mallet", 11, "vibraphone", 48), Instrument("mallet", 12, "marimba", 45),
    Instrument("organ", 16, "drawbar organ", 36), Instrument("organ", 19, "church organ", 36),
    Instrument("reed", 65, "alto sax", 37), Instrument("reed", 71, "clarinet", 46),
    Instrument("string", 40, "violin", 46), Instrument("string", 42, "cello", 36),
    Instrument("synth_lead", 80, "square lead", 36), Instrument("synth_lead", 81, "sawtooth lead", 36),
    Instrument("vocal", 52, "choir aahs", 43), Instrument("vocal", 53, "voice oohs", 48),
)
# every pitch any instrument plays, lowest first: the pitch classifier's classes
PITCHES = tuple(range(min(i.lowest for i in INSTRUMENTS), max(i.pitches[-1] for i in INSTRUMENTS) + 1))


@dataclass(frozen=True)
class Note:
    instrument: Instrument
    pitch: int
    velocity: int
    split: str

    @property
    def path(self) -> str:
        return f"{self.split}/{self.instrument.family}/{self.instrument.program:03d}_{self.pitch:03d}_{self.velocity:03d}.flac"


def plan(instruments: tuple[Instrument, ...] = INSTRUMENTS, velocities: tuple[int, ...] = VELOCITIES) -> list[Note]:
    """Every note to render. The held-out ones: for each instrument and velocity, every TEST_EVERY-th pitch, starting
    one further along for each, so every pitch, velocity and instrument is held out somewhere and heard elsewhere."""
    return [Note(inst, pitch, velocity, "test" if (k + i + v) % TEST_EVERY == 0 else "train")
            for i, inst in enumerate(instruments) for v, velocity in enumerate(velocities)
            for k, pitch in enumerate(inst.pitches)]


def pitch_of(path: Path) -> int:
    """The MIDI pitch in a note file's name (<program>_<pitch>_<velocity>.flac)."""
    parts = path.stem.split("_")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise GankitError(f"{path} is not named as `gankit data notes` names notes (program_pitch_velocity); "
                          "make the set again")
    return int(parts[1])


def note_pitches(folder: Path) -> np.ndarray:
    """The MIDI pitch of every clip in a split's folder, in the order the folder's clips are read."""
    return np.array([pitch_of(p) for p in list_sounds(folder)], dtype=np.int64)


def note_pitch_names(files: dict[str, Path], split: str) -> list[str]:
    """The MIDI pitch of every clip of a split, as the values of a `pitch` condition ("60"), in reading order."""
    return [str(p) for p in note_pitches(files[split])]


def synthesizer_library():
    """pyfluidsynth, bound to the FluidSynth library, or one line saying what to install."""
    try:
        import fluidsynth
    except (ImportError, OSError):  # the binding missing, or it cannot find libfluidsynth
        raise GankitError("notes are played by FluidSynth: apt install fluidsynth fluid-soundfont-gm (Debian, "
                          "Ubuntu) or brew install fluid-synth (macOS), and pip install 'gankit[audio]'") from None
    return fluidsynth


def check_soundfont(soundfont: Path) -> Path:
    if not soundfont.is_file():
        fix = ("apt install fluid-soundfont-gm (Debian, Ubuntu)" if soundfont == SOUNDFONT
               else "pass --soundfont a General-MIDI .sf2 file")
        raise GankitError(f"no soundfont at {soundfont}: {fix}")
    return soundfont


@contextlib.contextmanager
def _c_stderr_captured():
    """While active, what C code writes to file descriptor 2 goes to a temporary file, whose lines the yielded list
    holds afterwards: gankit's one line is then all a refused soundfont prints. One thread at a time, as the
    instruments render in threads and the descriptor is the process's."""
    lines: list[str] = []
    with _STDERR_LOCK, tempfile.TemporaryFile() as caught:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(caught.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            lines.extend(caught.read(4096).decode("utf-8", "replace").splitlines())


_STDERR_LOCK = threading.Lock()


def render_instrument(notes: list[Note], soundfont: Path) -> list[np.ndarray]:
    """Each note of one instrument as float32 mono at DEFAULT_RATE, DEFAULT_CLIP samples.

    One fresh synthesizer plays them in order: FluidSynth's state drifts with time played (the same note rendered
    after a pause differs by -35 dB), and a fresh one renders the same notes bit for bit."""
    fluidsynth = synthesizer_library()
    synth = fluidsynth.Synth(gain=GAIN, samplerate=float(DEFAULT_RATE),
                             **{"synth.reverb.active": 0, "synth.chorus.active": 0})
    try:
        with _c_stderr_captured() as said:  # FluidSynth's C logger writes "fluidsynth: error: ..." on its own
            font = synth.sfload(str(soundfont))
        if font < 0:
            why = next((line.split("error:", 1)[-1].strip() for line in said if "error" in line), "")
            raise GankitError(f"FluidSynth could not load {soundfont} as a soundfont{f' ({why})' if why else ''}; "
                              "pass --soundfont a .sf2 file")
        clips = []
        for note in notes:
            if synth.program_select(0, font, 0, note.instrument.program) != 0:
                raise GankitError(f"{soundfont} has no General-MIDI program {note.instrument.program} "
                                  f"({note.instrument.name}); use a General-MIDI soundfont")
            synth.noteon(0, note.pitch, note.velocity)
            held = synth.get_samples(HOLD)
            synth.noteoff(0, note.pitch)
            released = synth.get_samples(DEFAULT_CLIP - HOLD)
            synth.all_sounds_off(0)
            stereo = np.concatenate([held, released]).reshape(-1, 2)
            clip = stereo.mean(axis=1, dtype=np.float32) / 32768.0
            if np.abs(clip).max() < SILENCE:
                raise GankitError(f"{soundfont} played {note.instrument.name} at MIDI {note.pitch} as silence; use a "
                                  "General-MIDI soundfont")
            clips.append(clip)
        return clips
    finally:
        synth.delete()


def make_notes(out: Path, soundfont: Path = SOUNDFONT, instruments: tuple[Instrument, ...] = INSTRUMENTS,
               velocities: tuple[int, ...] = VELOCITIES, progress: bool = True) -> dict[str, int]:
    """Write out/<split>/<family>/<program>_<pitch>_<velocity>.flac; returns clips per split.

    Made in a sibling folder and renamed into place, so a stopped run leaves no half-made dataset.
    """
    synthesizer_library()
    soundfont = check_soundfont(soundfont)
    audio_libraries()
    notes = plan(instruments, velocities)
    by_instrument = [[n for n in notes if n.instrument == inst] for inst in instruments]
    with made_in_place(out) as building, ThreadPoolExecutor(max_workers=4) as pool, \
            tqdm(total=len(notes), desc="playing notes", unit="clip", disable=not progress) as bar:

        def make(group: list[Note]) -> None:
            for note, clip in zip(group, render_instrument(group, soundfont)):
                write_flac(building / note.path, clip)
            bar.update(len(group))

        list(pool.map(make, by_instrument))
    return {split: sum(n.split == split for n in notes) for split in ("train", "test")}
