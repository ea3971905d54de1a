"""Music: notes rendered by the real FluidSynth (labels, split, the files), the pitch score on tones of known pitch,
and a short run on notes through the real command, scored by family and pitch and played in the report."""

import json
import math

import numpy as np
import pytest
import soundfile
import torch

from conftest import assert_clean_error, gankit
from gankit.config import DataConfig
from gankit.data import load_dataset
from gankit.data.notes import (
    FAMILIES,
    INSTRUMENTS,
    PITCHES,
    SOUNDFONT,
    TEST_EVERY,
    VELOCITIES,
    Note,
    note_pitches,
    plan,
    render_instrument,
)
from gankit.metrics.classifier import SHIPPED
from gankit.metrics.pitch import load_pitch_classifier, pitch_distance, pitch_scores
from gankit.play import RELEASE_SECONDS, melody, write_midi

RATE = 16_000


@pytest.fixture(scope="session")
def pitch_classifier():
    return load_pitch_classifier(SHIPPED / "notes-pitch.safetensors")


def tone(midi: float, harmonics: int = 8, seconds: float = 16_384 / RATE) -> torch.Tensor:
    """A plucked harmonic tone (partials at 1/k, decaying): synthetic, of exactly known pitch."""
    t = torch.arange(round(seconds * RATE)) / RATE
    f0 = 440 * 2 ** ((midi - 69) / 12)
    wave = sum(torch.sin(2 * math.pi * f0 * k * t) / k for k in range(1, harmonics + 1) if f0 * k < RATE / 2)
    wave = wave * torch.exp(-2 * t)
    return (wave / wave.abs().max()).reshape(1, 1, -1)


def test_the_plan_holds_out_one_note_in_eight_and_hears_every_pitch_in_training():
    notes = plan()
    assert len(notes) == 4224 and len({n.path for n in notes}) == 4224
    test = [n for n in notes if n.split == "test"]
    assert len(test) == 4224 // TEST_EVERY
    for family in FAMILIES:  # every family held out in the same share
        assert sum(n.instrument.family == family for n in test) == 2 * 48 * len(VELOCITIES) // TEST_EVERY
    for inst in INSTRUMENTS:  # every note of an instrument is held out at one velocity and heard at the others
        for pitch in inst.pitches:
            splits = [n.split for n in notes if n.instrument == inst and n.pitch == pitch]
            assert splits.count("test") in (0, 1) and "train" in splits
        assert {n.velocity for n in test if n.instrument == inst} == set(VELOCITIES)
    assert {n.pitch for n in test} <= set(PITCHES) and min(PITCHES) == 28 and len(FAMILIES) == 11
    assert Note(INSTRUMENTS[0], 40, 75, "train").path == "train/bass/032_040_075.flac"


def test_fluidsynth_renders_each_note_the_same_twice_at_its_pitch(notes, pitch_classifier):
    """The files the real FluidSynth made: families as classes in order, pitches from the names in the order the
    clips are read, identical renders, and the shipped pitch classifier hears the named pitch."""
    data = DataConfig(name="notes", data_dir=str(notes))
    test = load_dataset(data, split="test")
    assert test.classes == FAMILIES and sorted(set(test.labels.tolist())) == list(range(11))
    assert test.samples.shape == (66, 1, 16_384) and test.samples.abs().amax() == 1  # peak-normalised on reading
    pitches = note_pitches(notes / "test")
    assert len(pitches) == 66 and pitches[0] == int(sorted((notes / "test" / "bass").iterdir())[0].name[4:7])
    heard = pitch_classifier.probabilities(test.samples).argmax(1)
    named = torch.tensor([pitch_classifier.pitches.index(p) for p in pitches])
    assert (heard == named).float().mean() > 0.95

    played = [Note(INSTRUMENTS[2], p, 100, "train") for p in (52, 60, 99)]
    first, second = render_instrument(played, SOUNDFONT), render_instrument(played, SOUNDFONT)
    assert all(np.array_equal(a, b) and a.shape == (16_384,) and np.abs(a).max() > 0.01 for a, b in zip(first, second))
    assert np.abs(first[0][14_000:]).max() < np.abs(first[0][:12_000]).max()  # released after 0.75 s


def test_pitch_score_on_tones_of_known_pitch(pitch_classifier):
    """Synthetic tones (never heard in training) get their pitch; noise and silence none; the distance between
    sets of tones is how far apart their pitches are, in semitones."""
    midis = list(range(36, 92, 5))
    tones = torch.cat([tone(m) for m in midis])
    probs = pitch_classifier.probabilities(tones)
    heard = [pitch_classifier.pitches[i] for i in probs.argmax(1).tolist()]
    assert sum(h == m for h, m in zip(heard, midis)) >= len(midis) - 1, heard
    higher = pitch_classifier.probabilities(torch.cat([tone(m + 3) for m in midis]))
    scores = pitch_scores(higher, probs)
    assert scores["clear_pitch"] > 0.9 and 2.5 <= scores["pitch_distance"] <= 3.5
    assert pitch_scores(probs, probs)["pitch_distance"] == 0
    # asked for their own pitches, a semitone off, or a pitch the classifier lacks (-1)
    asked = torch.tensor([pitch_classifier.pitches.index(m) for m in midis])
    own, off = pitch_scores(probs, probs, asked), pitch_scores(probs, probs, asked + 1)
    assert own["pitch_accuracy"] >= (len(midis) - 1) / len(midis) and own["pitch_within_semitone"] >= own["pitch_accuracy"]
    assert off["pitch_accuracy"] <= 1 / len(midis) and off["pitch_within_semitone"] >= (len(midis) - 1) / len(midis)
    assert pitch_scores(probs, probs, torch.full_like(asked, -1))["pitch_within_semitone"] == 0

    generator = torch.Generator().manual_seed(0)
    noise = torch.rand(20, 1, 16_384, generator=generator) * 2 - 1
    nothing = pitch_classifier.probabilities(torch.cat([noise, torch.zeros(5, 1, 16_384)]))
    assert pitch_scores(nothing, probs) == {"clear_pitch": 0.0, "pitch_distance": len(pitch_classifier.pitches) - 1}
    assert pitch_scores(nothing, probs, torch.zeros(25, dtype=torch.long))["pitch_accuracy"] == 0  # none is no pitch
    # half the clips a semitone up, half two: 1.5 semitones of earth to move on average
    assert pitch_distance(torch.tensor([1, 1, 2, 2]), torch.tensor([0, 0, 0, 0]), 5) == 1.5


def test_missing_fluidsynth_or_soundfont_is_one_line_and_leaves_nothing(tmp_path, isolated_cache):
    out = tmp_path / "notes"
    missing = gankit("data", "notes", "--out", str(out), "--soundfont", str(tmp_path / "none.sf2"))
    assert_clean_error(missing, "no soundfont at", "--soundfont")
    assert_clean_error(gankit("data", "notes", "--soundfont", str(tmp_path / "none.sf2")), "no soundfont at")
    assert list(isolated_cache.iterdir()) == []  # not even the cache's datasets folder
    (tmp_path / "junk.sf2").write_text("junk")  # FluidSynth's own "fluidsynth: error: ..." lines came first
    junk = gankit("data", "notes", "--out", str(out), "--soundfont", str(tmp_path / "junk.sf2"))
    assert_clean_error(junk, "FluidSynth could not load", "as a soundfont (EOF while attempting to read")
    assert "fluidsynth: error" not in junk.stderr
    # pyfluidsynth raises this ImportError when it cannot find libfluidsynth
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "fluidsynth.py").write_text('raise ImportError("Couldn\'t find the FluidSynth library.")\n')
    unbound = gankit("data", "notes", "--out", str(out), env={"PYTHONPATH": str(fake)})
    assert_clean_error(unbound, "apt install fluidsynth fluid-soundfont-gm")
    assert_clean_error(gankit("data", "notes", "--clips-per-digit", "4"), "--clips-per-digit is for spoken-digits")
    assert_clean_error(gankit("data", "mnist", "--soundfont", "x.sf2"), "not mnist")
    assert not out.exists() and not (tmp_path / "notes.part").exists()


@pytest.mark.slow
def test_notes_made_by_the_command(tmp_path):
    """`gankit data notes` as a user runs it: the whole set, once."""
    out = tmp_path / "notes"
    made = gankit("data", "notes", "--out", str(out))
    assert made.returncode == 0, made.stderr
    assert "made notes: 3696 training and 528 test clips" in made.stdout
    assert sorted(p.name for p in (out / "train").iterdir()) == sorted(FAMILIES)
    again = gankit("data", "notes", "--out", str(out))  # there already: found, not made again
    assert again.returncode == 0 and "made notes" not in again.stdout and "3696 training samples" in again.stdout


@pytest.mark.slow
def test_notes_train_sample_eval_report(notes, tmp_path, browser):
    """--model auto on notes: a family-conditional spectrogram GAN on the picture that keeps pitch; its clips sampled for a family, scored by family
    (asked_class) and pitch beside the real notes' own scores, and played in the report."""
    runs = tmp_path / "runs"
    trained = gankit("train", "--data", "notes", "--data-dir", str(notes), "--model", "auto", "--batch-size", "8",
                     "--set", "model.width=8", "--set", "model.griffin_lim=4", "--max-steps", "3", "--out", str(runs),
                     "--name", "n", "--no-progress")
    assert trained.returncode == 0, trained.stderr
    assert "cspecgan" in trained.stderr and "11 classes, and on each note's pitch" in trained.stderr
    assert "on 128 log-frequency rows that keep the notes' pitch" in trained.stderr
    run = runs / "n"
    meta = json.loads((run / "checkpoints" / "final" / "meta.json").read_text())
    assert meta["sample_shape"] == [1, 128, 64] and [c["name"] for c in meta["conditions"]] == ["class", "pitch"]
    pitches = [int(v) for v in meta["conditions"][1]["values"]]  # MIDI numbers, lowest first (not as text: 100 last)
    assert pitches == sorted(pitches) and pitches[0] < 30 and pitches[-1] > 100

    sampled = gankit("sample", str(run), "--n", "2", "--class", "brass", "--pitch", "C4", "--out", str(tmp_path / "c4"))
    assert sampled.returncode == 0, sampled.stderr
    assert len(list((tmp_path / "c4").glob("*.wav"))) == 2
    outside = gankit("sample", str(run), "--class", "brass", "--pitch", "C9", "--out", str(tmp_path / "c9"))
    assert_clean_error(outside, "pitch C9 (MIDI 120) is outside the pitches this model was trained on: MIDI",
                       f"{pitches[0]}..102 (")

    scored = gankit("eval", str(run), "--n", "40", "--metrics", "fid,is,class_coverage,asked_class,pitch", "--json")
    assert scored.returncode == 0, scored.stderr
    result = json.loads(scored.stdout)
    metrics, real = result["metrics"], result["yardsticks"]["real data"]["metrics"]
    assert {"asked_class", "clear_pitch", "pitch_distance", "pitch_accuracy", "pitch_within_semitone"} <= set(metrics)
    assert real["asked_class"] > 0.9 and real["clear_pitch"] > 0.9 and real["pitch_distance"] < 6
    assert real["pitch_accuracy"] > 0.9  # real notes asked for their own pitch
    silence = result["yardsticks"]["silence"]["metrics"]
    assert silence["clear_pitch"] == 0 and silence["asked_class"] < 0.3 and silence["pitch_accuracy"] == 0
    table = gankit("eval", str(run), "--n", "40", "--metrics", "asked_class,pitch")
    assert table.returncode == 0, table.stderr
    assert all(f"\n{name} " in table.stdout for name in ("asked_class", "clear_pitch", "pitch_distance", "pitch_accuracy"))

    # the report's melody as a MIDI file, played by the run's brass and by a morph: one clip per note at one voice,
    # so a repeated note sounds the same each time; pitches are measured at 30 minutes (docs/benchmarks.md)
    tune = write_midi(melody(program=56), tmp_path / "ode.mid")
    played = gankit("play", str(run), str(tune), "--out", str(tmp_path / "ode.wav"))
    assert played.returncode == 0, played.stderr
    assert "23 notes, 8.4 s, C4..C5, played as brass" in played.stdout
    wave, rate = soundfile.read(tmp_path / "ode.wav", dtype="float32")
    notes = melody()
    assert rate == 16_000 and len(wave) == round((notes[-1].onset + notes[-1].duration + RELEASE_SECONDS) * rate)
    assert np.abs(wave).max() == pytest.approx(0.89, abs=1e-3)
    # E4, E4 again, F4: 0.4 s each, from where the last note's 50-ms release has faded
    first, second, third = (wave[round((notes[i].onset + RELEASE_SECONDS) * rate):][:5000] for i in (8, 9, 10))
    assert np.allclose(first, second, atol=1e-3) and not np.allclose(first, third, atol=1e-2)
    morphed = gankit("play", str(run), str(tune), "--morph", "brass,string", "--out", str(tmp_path / "m.wav"))
    assert morphed.returncode == 0 and "played as brass to string" in morphed.stdout
    assert_clean_error(gankit("play", str(run), str(tmp_path / "c4" / "000.wav")), "not a standard MIDI file")

    report = gankit("report", str(run), "--out", str(tmp_path / "r.html"))
    assert report.returncode == 0, report.stderr
    browser.get((tmp_path / "r.html").as_uri())
    players = browser.execute_script("return Array.from(document.querySelectorAll('#clips audio'))"
                                     ".map(a => a.src.slice(0, 22));")
    assert players and set(players) == {"data:audio/wav;base64,"}
    assert "<th>clear pitch<br>" in (tmp_path / "r.html").read_text()
    melodies = browser.execute_script("return Array.from(document.querySelectorAll('#melody audio')).length;")
    assert melodies == 3
