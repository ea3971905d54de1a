"""Music by name: note names and the pitch condition, MIDI files as mido writes them (timing, programs, drums, the
files refused), General MIDI's programs as families, and how notes are cut and mixed."""

import mido
import pytest
import torch

from gankit.conditions import Condition, asked_pitches, from_meta, grid
from gankit.data.notes import FAMILIES
from gankit.errors import GankitError
from gankit.music import midi_number, note_name
from gankit.play import GM_FAMILIES, MAX_MIDI_BYTES, MAX_SECONDS, PEAK, RELEASE_SECONDS, TuneNote, mix, read_midi

PITCHES = Condition("pitch", tuple(str(p) for p in range(28, 103)))


def test_pitches_by_number_or_name_and_the_range_when_outside():
    assert [midi_number(x) for x in ("C4", "c#4", "Db4", "B♭2", "60", 60, "C-1", "G9")] == [60, 61, 61, 46, 60, 60, 0, 127]
    assert [midi_number(x) for x in ("G#9", "H4", "", "-3", True, 128, "C 4")] == [None] * 7
    assert [note_name(m) for m in (60, 61, 28, 102)] == ["C4", "C#4", "E1", "F#7"]
    assert PITCHES.index("C4") == PITCHES.index(60) == PITCHES.index("60") == 32 and PITCHES.index("E1") == 0
    with pytest.raises(GankitError, match=r"pitch C9 \(MIDI 120\) is outside .* MIDI 28\.\.102 \(E1\.\.F#7\)"):
        PITCHES.index("C9")
    with pytest.raises(GankitError, match="outside"):  # a small number is a MIDI pitch, never an index
        PITCHES.index(3)
    with pytest.raises(GankitError, match="neither a MIDI note number"):
        PITCHES.index("loud")
    conditions = (Condition("class", ("brass", "string")), PITCHES)
    assert asked_pitches(conditions, torch.tensor([[0, 0], [1, 32]])).tolist() == [28, 60]
    assert asked_pitches(conditions[:1], torch.tensor([[0]])) is None
    with pytest.raises(GankitError, match="MIDI note numbers"):  # a damaged meta.json's pitches
        from_meta([{"name": "pitch", "values": ["60", "C4"]}], "x")
    # a grid goes up through each family's own pitches, evenly, as a scale
    rows = torch.tensor([[0, p] for p in range(8)] * 2 + [[1, p] for p in range(4, 12)])
    assert grid(conditions, 4, rows=rows).tolist() == [[0, 0], [0, 2], [0, 5], [0, 7], [1, 4], [1, 6], [1, 9], [1, 11]]


def test_every_general_midi_program_is_a_family_of_notes():
    assert set(GM_FAMILIES) == set(range(128)) and set(GM_FAMILIES.values()) <= set(FAMILIES)
    assert [GM_FAMILIES[p] for p in (0, 11, 19, 21, 25, 33, 40, 52, 56, 65, 73, 80)] == [
        "keyboard", "mallet", "organ", "reed", "guitar", "bass", "string", "vocal", "brass", "reed", "flute",
        "synth_lead"]


def write_midi(path, *tracks, ticks=480):
    """A type-1 MIDI file of tracks given as lists of mido messages (times in ticks since the track's last)."""
    song = mido.MidiFile(ticks_per_beat=ticks)
    for messages in tracks:
        song.tracks.append(mido.MidiTrack(messages))
    song.save(path)
    return path


def test_midi_notes_in_seconds_with_programs_and_drums_left_out(tmp_path):
    tempo = [mido.MetaMessage("set_tempo", tempo=500_000)]  # 120 beats a minute: 480 ticks are 0.5 s
    melody = [mido.Message("program_change", program=56, time=0),  # trumpet
              mido.Message("note_on", note=60, velocity=100, time=0),
              mido.Message("note_off", note=60, time=480),
              mido.Message("note_on", note=64, velocity=80, time=240),
              mido.Message("note_on", note=64, velocity=0, time=960),  # velocity 0 is a note-off
              mido.Message("note_on", note=67, velocity=127, time=0)]  # held to the end of the file
    bass = [mido.Message("program_change", channel=1, program=33, time=0),
            mido.Message("note_on", channel=1, note=36, velocity=90, time=0),
            mido.Message("note_off", channel=1, note=36, time=1920),
            mido.Message("note_on", channel=9, note=38, velocity=100, time=0),  # a snare: no pitch
            mido.Message("note_off", channel=9, note=38, time=240)]
    notes, drums = read_midi(write_midi(tmp_path / "tune.mid", tempo, melody, bass))
    assert drums == 1
    got = [(round(n.onset, 3), round(n.duration, 3), n.pitch, n.velocity, n.program) for n in notes]
    assert got == [(0.0, 2.0, 36, 90, 33), (0.0, 0.5, 60, 100, 56), (0.75, 1.0, 64, 80, 56),
                   (1.75, 0.5, 67, 127, 56)]  # the held note ends with the file, at 2.25 s


@pytest.mark.parametrize("case, fragment", [
    ("damaged", "not a standard MIDI file"), ("empty", "has no notes"), ("drums", r"only drum notes \(2\)"),
    ("huge", f"more than the {MAX_MIDI_BYTES // 2**20} MiB"), ("long", f"more than {MAX_SECONDS:g} s"),
    ("missing", "does not exist")])
def test_midi_files_refused_in_one_line(tmp_path, case, fragment):
    path = tmp_path / f"{case}.mid"
    if case == "damaged":
        good = write_midi(tmp_path / "good.mid", [mido.Message("note_on", note=60, velocity=9, time=0)]).read_bytes()
        path.write_bytes(good[:20] + b"\xff\x7f" * 8)
    elif case == "empty":
        write_midi(path, [mido.MetaMessage("set_tempo", tempo=500_000)])
    elif case == "drums":
        write_midi(path, [mido.Message("note_on", channel=9, note=36, velocity=99, time=t) for t in (0, 240)])
    elif case == "huge":
        path.write_bytes(b"MThd" + b"\0" * MAX_MIDI_BYTES)
    elif case == "long":
        write_midi(path, [mido.Message("note_on", note=60, velocity=99, time=0),
                          mido.Message("note_off", note=60, time=int((MAX_SECONDS + 10) * 960))])
    with pytest.raises(GankitError, match=fragment) as refused:
        read_midi(path)
    assert "\n" not in str(refused.value)


def test_notes_are_cut_with_a_release_placed_at_onsets_and_scaled_by_velocity():
    rate, length = 1000, 500
    clips = torch.ones(3, length)
    notes = [TuneNote(0.0, 0.1, 60, 127, 0),  # short: 100 samples held, then a 50-sample fade
             TuneNote(1.0, 2.0, 62, 127, 0),  # longer than its clip: the whole clip
             TuneNote(2.0, 0.1, 64, 127 // 2, 0)]  # quieter
    out = mix(clips, notes, rate)
    release = round(RELEASE_SECONDS * rate)
    assert out.shape == (2000 + 100 + release,)
    assert torch.allclose(out[:100], torch.full((100,), PEAK)) and out[100 + release - 1] == 0 and out[200:1000].abs().max() == 0
    assert torch.allclose(out[1000:1500], torch.full((500,), PEAK)) and out[1500:2000].abs().max() == 0
    assert out[2000].item() == pytest.approx(PEAK * 63 / 127)
