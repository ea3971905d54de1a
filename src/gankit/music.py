"""Names musicians use: MIDI note numbers and note names (C4 is MIDI 60, as in General MIDI and most DAWs)."""

from __future__ import annotations

import re

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_STEPS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_NAME = re.compile(r"([A-Ga-g])([#♯b♭]?)(-?\d)")
MIDI_RANGE = range(128)


def note_name(midi: int) -> str:
    """60 -> "C4"; 61 -> "C#4"."""
    return f"{NOTE_NAMES[midi % 12]}{midi // 12 - 1}"


def midi_number(asked: str | int) -> int | None:
    """A MIDI note number from one (60, "60") or a note name ("C4", "c#4", "Db4", "B♭2"); None when it is neither
    or lies outside MIDI's 0..127."""
    if isinstance(asked, bool):
        return None
    if isinstance(asked, int):
        midi = asked
    else:
        text = str(asked).strip()
        if text.isdigit():
            midi = int(text)
        elif found := _NAME.fullmatch(text):
            letter, accidental, octave = found.groups()
            shift = 1 if accidental in ("#", "♯") else -1 if accidental in ("b", "♭") else 0
            midi = (int(octave) + 1) * 12 + _STEPS[letter.upper()] + shift
        else:
            return None
    return midi if midi in MIDI_RANGE else None
