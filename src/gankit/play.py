"""A melody played by a GAN-made instrument, as GANSynth's demo plays one: every note of a MIDI file a clip G makes at
that note's pitch and its track's instrument family, shaped to the note's length and velocity and mixed at its onset.

One z for the whole tune (its seed is the instrument's "voice"), or with a morph, z and the family's code moving from
one to the other across the tune. The MIDI file is read by mido; its percussion channel is left out (drums have no
pitch to ask for).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from gankit import conditions
from gankit.errors import GankitError, one_line
from gankit.music import note_name
from gankit.pipeline import Pipeline, slerp

# bounds on what a MIDI file may ask for: a tune of ten minutes and 10,000 notes renders in minutes on a CPU
MAX_MIDI_BYTES = 2 * 2**20
MAX_SECONDS = 600.0
MAX_NOTES = 10_000
# General MIDI's percussion channel (10, counting from 1)
DRUMS = 9
# where a note ends before its clip does: the clip is faded out over this long, as a key let go
RELEASE_SECONDS = 0.05
# the mix's peak, under full scale (-1 dBFS)
PEAK = 0.89


@dataclass(frozen=True)
class TuneNote:
    onset: float  # seconds from the start
    duration: float  # seconds the key is down
    pitch: int  # MIDI note number
    velocity: int  # 1..127
    program: int  # General-MIDI program of its channel when it began, 0-based


def _general_midi_families() -> dict[int, str]:
    """General MIDI's 128 programs as NSynth's instrument families (the classes of `gankit data notes`): by GM's
    groups of eight, and the instruments within a group that belong elsewhere (a choir is a voice, a harp a string)."""
    groups = ("keyboard", "mallet", "organ", "guitar", "bass", "string", "string", "brass", "reed", "flute",
              "synth_lead", "synth_lead", "synth_lead", "guitar", "mallet", "synth_lead")
    families = {program: groups[program // 8] for program in range(128)}
    families |= {21: "reed", 22: "reed", 23: "reed",  # accordions and harmonica: free reeds
                 47: "mallet", 52: "vocal", 53: "vocal", 54: "vocal", 55: "brass",  # timpani, voices, orchestra hit
                 108: "mallet", 109: "reed", 110: "string", 111: "reed"}  # kalimba, bagpipe, fiddle, shanai
    return families


GM_FAMILIES = _general_midi_families()


def read_midi(path: str | Path) -> tuple[list[TuneNote], int]:
    """The pitched notes of a standard MIDI file, in order of onset, and how many drum notes were left out."""
    import mido

    path = Path(path)
    if not path.is_file():
        raise GankitError(f"MIDI file {path} does not exist")
    size = path.stat().st_size
    if size > MAX_MIDI_BYTES:
        raise GankitError(f"{path} is {size / 2**20:.1f} MiB, more than the {MAX_MIDI_BYTES // 2**20} MiB a tune may be")
    try:
        messages = list(mido.MidiFile(path, clip=True))  # every track merged, each message's time in seconds since the last
    except (OSError, EOFError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise GankitError(f"{path} is not a standard MIDI file gankit can read ({one_line(exc)})") from None
    notes: list[TuneNote] = []
    sounding: dict[tuple[int, int], tuple[float, int, int]] = {}  # (channel, pitch) -> onset, velocity, program
    programs = [0] * 16
    now, drums = 0.0, 0

    def end(key: tuple[int, int]) -> None:
        onset, velocity, program = sounding.pop(key)
        if len(notes) >= MAX_NOTES:
            raise GankitError(f"{path} has more than {MAX_NOTES:,} notes, the most a tune may have")
        notes.append(TuneNote(onset, now - onset, key[1], velocity, program))

    for message in messages:
        now += message.time
        if now > MAX_SECONDS:
            raise GankitError(f"{path} lasts more than {MAX_SECONDS:g} s, the longest tune gankit plays; cut it")
        if message.type == "program_change":
            programs[message.channel] = message.program
        elif message.type in ("note_on", "note_off"):
            key = (message.channel, message.note)
            if message.channel == DRUMS:
                drums += message.type == "note_on" and message.velocity > 0
            elif key in sounding:  # its note-off, or the same key struck again
                end(key)
            if message.channel != DRUMS and message.type == "note_on" and message.velocity > 0:
                sounding[key] = (now, message.velocity, programs[message.channel])
    for key in list(sounding):  # held to the end of the file
        end(key)
    notes.sort(key=lambda n: (n.onset, n.pitch))
    if not notes:
        found = f"only drum notes ({drums}), which have no pitch to play" if drums else "no notes"
        raise GankitError(f"{path} has {found}: give a MIDI file with a melody")
    return notes, drums


# what a notes run's report plays (and its test writes as a MIDI file): a C-major scale up, then the first bars of
# Beethoven's "Ode to Joy", at 150 beats a minute: (MIDI pitch, beats)
MELODY = ((60, 0.5), (62, 0.5), (64, 0.5), (65, 0.5), (67, 0.5), (69, 0.5), (71, 0.5), (72, 1.5),
          (64, 1), (64, 1), (65, 1), (67, 1), (67, 1), (65, 1), (64, 1), (62, 1),
          (60, 1), (60, 1), (62, 1), (64, 1), (64, 1.5), (62, 0.5), (62, 2))
BEAT_SECONDS = 0.4


def melody(program: int = 0) -> list[TuneNote]:
    """MELODY as notes played legato at velocity 100 by a General-MIDI program."""
    notes, onset = [], 0.0
    for pitch, beats in MELODY:
        notes.append(TuneNote(onset, beats * BEAT_SECONDS, pitch, 100, program))
        onset += beats * BEAT_SECONDS
    return notes


def write_midi(notes: list[TuneNote], path: str | Path, ticks_per_beat: int = 480) -> Path:
    """Notes as a type-0 MIDI file, a channel per General-MIDI program (10 left to drums), at BEAT_SECONDS a beat:
    what the report's melody is as a file (the tests and benchmarks/notes_play.py play it through gankit play)."""
    import mido

    programs = sorted({n.program for n in notes})
    channels = {p: c + (c >= DRUMS) for c, p in enumerate(programs)}
    if len(programs) > 15:
        raise GankitError("a MIDI file holds at most 15 programs at once besides drums")
    per_second = ticks_per_beat / BEAT_SECONDS
    events = sorted([(round(n.onset * per_second), 1, n) for n in notes]
                    + [(round((n.onset + n.duration) * per_second), 0, n) for n in notes],
                    key=lambda e: (e[0], e[1]))  # at the same tick a key is let go before one is struck
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=round(BEAT_SECONDS * 1e6))])
    track += [mido.Message("program_change", channel=channels[p], program=p) for p in programs]
    now = 0
    for tick, struck, note in events:
        kind = "note_on" if struck else "note_off"
        track.append(mido.Message(kind, channel=channels[note.program], note=note.pitch,
                                  velocity=note.velocity if struck else 0, time=tick - now))
        now = tick
    song = mido.MidiFile(type=0, ticks_per_beat=ticks_per_beat)
    song.tracks.append(track)
    song.save(path)
    return Path(path)


@dataclass
class Played:
    wave: torch.Tensor  # (1, samples) float in [-1, 1]
    sample_rate: int
    notes: list[TuneNote]
    families: list[str]  # each note's family, as played
    moved: int  # notes moved by octaves into the pitches the model knows
    seconds: float


def play(pipe: Pipeline, notes: list[TuneNote], seed: int = 0, family: str | None = None,
         morph: tuple[str, str] | None = None) -> Played:
    """Each note a clip G makes at its pitch, for its program's family (`family`: every note's), one z for the tune
    (`seed`); `morph`: from one family (and z) to another across the tune. Mixed at the run's sample rate."""
    spec = pipe.spec
    where = {name: conditions.column(spec.conditions, name) for name in (conditions.CLASS, conditions.PITCH)}
    if None in where.values():  # a pitch is a condition of notes alone: such a model makes sound
        raise GankitError("gankit play needs a sound model conditioned on instrument family and pitch (a notes run "
                          "with --model auto, or --set data.conditions=class,pitch); this one's conditions: "
                          f"{', '.join(c.name for c in spec.conditions) or 'none'}")
    families, pitches = spec.conditions[where[conditions.CLASS]], spec.conditions[where[conditions.PITCH]]
    # by name or index; one the model lacks is a line naming those it has
    family = families.values[families.index(family)] if family is not None else None
    morph = tuple(families.values[families.index(name)] for name in morph) if morph else None
    known = sorted(pitches.midi_numbers)
    rows, moved, played_families = [], 0, []
    for note in notes:
        pitch = note.pitch
        while pitch < known[0]:
            pitch += 12
        while pitch > known[-1]:
            pitch -= 12
        moved += pitch != note.pitch
        if str(pitch) not in pitches.values:  # a gap in a run's pitches: the nearest it knows
            pitch = min(known, key=lambda p: abs(p - pitch))
        name = family or GM_FAMILIES[note.program]
        if name not in families.values and not morph:
            raise GankitError(f"the tune's {_program_name(note.program)} notes are {name}, which this model was not "
                              f"trained on (its families: {', '.join(families.values)}); pass --class FAMILY")
        played_families.append(name)
        row = [0] * len(spec.conditions)
        row[where[conditions.CLASS]] = families.index(name) if name in families.values else 0
        row[where[conditions.PITCH]] = pitches.index(pitch)
        rows.append(row)
    labels = torch.tensor(rows, dtype=torch.long)
    if morph:
        clips = _morphed(pipe, labels, notes, seed, [families.index(name) for name in morph], where[conditions.CLASS])
        played_families = [f"{morph[0]} to {morph[1]}"] * len(notes)
    else:  # one clip for each (family, pitch) the tune has: a repeated note is the same instrument's same note
        unique, which = labels.unique(dim=0, return_inverse=True)
        made = pipe.generate(pipe.latents(1, seed).expand(len(unique), -1), unique)
        clips = made[which]
    rate = int(spec.modality.info()["sample_rate"])
    wave = mix(clips[:, 0], notes, rate)
    return Played(wave[None], rate, notes, played_families, moved, wave.shape[0] / rate)


def _morphed(pipe: Pipeline, labels: torch.Tensor, notes: list[TuneNote], seed: int, ends: list[int],
             class_column: int) -> torch.Tensor:
    """Every note's clip, z and the family's code moved from the first family (and seed's z) to the second (seed+1's)
    as the tune goes on."""
    last = max(n.onset for n in notes) or 1.0
    t = torch.tensor([n.onset / last for n in notes])
    start, finish = labels.clone(), labels.clone()
    start[:, class_column], finish[:, class_column] = ends
    z = slerp(pipe.latents(1, seed)[0].cpu(), pipe.latents(1, seed + 1)[0].cpu(), t).to(pipe.device)
    return pipe.generate_morph(z, start, finish, t)


def mix(clips: torch.Tensor, notes: list[TuneNote], sample_rate: int) -> torch.Tensor:
    """clips (N, L), one per note, placed at their onsets: a note shorter than its clip is cut where the key is let
    go, with a RELEASE_SECONDS fade; a longer one keeps its whole clip (a clip holds the key as long as it can).
    Scaled by velocity, then the whole peak-normalised to PEAK."""
    length = clips.shape[1]
    release = max(1, round(RELEASE_SECONDS * sample_rate))
    spans = [min(length, round(n.duration * sample_rate) + release) for n in notes]
    starts = [round(n.onset * sample_rate) for n in notes]
    out = torch.zeros(max(s + span for s, span in zip(starts, spans)))
    fade = torch.linspace(1, 0, release)
    for clip, note, start, span in zip(clips, notes, starts, spans):
        part = clip[:span] * (note.velocity / 127)
        if span < length:
            part[-min(release, span):] *= fade[-min(release, span):]
        out[start : start + span] += part
    peak = out.abs().max()
    return out * (PEAK / peak) if peak > 0 else out


def _program_name(program: int) -> str:
    return f"General-MIDI program {program + 1}"


def describe(played: Played) -> str:
    """What was played, in a few words: notes, length, families, notes moved."""
    families = sorted(set(played.families))
    lowest, highest = min(n.pitch for n in played.notes), max(n.pitch for n in played.notes)
    words = (f"{len(played.notes)} notes, {played.seconds:.1f} s, {note_name(lowest)}..{note_name(highest)}, "
             f"played as {', '.join(families)}")
    if played.moved:
        words += f"; {played.moved} note(s) moved by octaves into the model's pitches"
    return words
