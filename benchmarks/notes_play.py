"""How well `gankit play` plays a tune: the built-in melody (gankit.play.MELODY: a C-major scale, then the first bars
of the "Ode to Joy") written as a MIDI file, played by a notes run for each family through the real command, cut at
the MIDI onsets and scored by the shipped pitch classifier; beside the same MIDI file rendered by FluidSynth with a
General-MIDI instrument of each family (the ceiling of this way of measuring) and their spectrograms side by side.

    gankit data notes && .venv/bin/python benchmarks/notes_play.py RUN [--out runs/notes-play] [--seeds 0,1,2]

Prints, per family, the share of the tune's notes heard at their MIDI pitch (and within a semitone), for the run
(a median over the seeds' voices) and for FluidSynth; writes OUT/<family>.wav, OUT/<family>-fluidsynth.wav and
OUT/spectrograms.png.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile
import torch

from gankit.data.notes import GAIN, INSTRUMENTS, SOUNDFONT, synthesizer_library
from gankit.metrics.classifier import SHIPPED
from gankit.metrics.pitch import heard_in_tune, load_pitch_classifier
from gankit.pipeline import Pipeline
from gankit.play import melody, write_midi


def fluidsynth_tune(program: int, rate: int) -> np.ndarray:
    """The melody as FluidSynth plays it with a General-MIDI program, mono float at `rate`."""
    fluidsynth = synthesizer_library()
    synth = fluidsynth.Synth(gain=GAIN, samplerate=float(rate), **{"synth.reverb.active": 0, "synth.chorus.active": 0})
    try:
        synth.program_select(0, synth.sfload(str(SOUNDFONT)), 0, program)
        parts, now = [], 0
        for note in melody(program):
            start = round(note.onset * rate)
            if start > now:
                parts.append(synth.get_samples(start - now))
                now = start
            synth.noteon(0, note.pitch, note.velocity)
            length = round(note.duration * rate)
            parts.append(synth.get_samples(length))
            synth.noteoff(0, note.pitch)
            now += length
        parts.append(synth.get_samples(rate // 2))
    finally:
        synth.delete()
    return np.concatenate(parts).reshape(-1, 2).mean(axis=1, dtype=np.float32) / 32768.0


def heard_share(wave: np.ndarray, rate: int, classifier) -> tuple[float, float]:
    notes = melody()
    spans = [(n.onset, n.onset + n.duration) for n in notes]
    heard = heard_in_tune(torch.from_numpy(wave), spans, rate, classifier)
    exact = sum(h == n.pitch for h, n in zip(heard, notes)) / len(notes)
    near = sum(abs(h - n.pitch) <= 1 for h, n in zip(heard, notes)) / len(notes)
    return exact, near


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run")
    parser.add_argument("--out", default="runs/notes-play")
    parser.add_argument("--seeds", default="0,1,2")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    classifier = load_pitch_classifier(SHIPPED / "notes-pitch.safetensors")
    pipe = Pipeline.from_run(args.run, device="cpu")
    families = pipe.spec.conditions[0].values
    rate = int(pipe.spec.modality.info()["sample_rate"])
    programs = {}
    for instrument in INSTRUMENTS:  # the first General-MIDI instrument of each family that notes plays
        programs.setdefault(instrument.family, instrument.program)
    rows, pictures = [], []
    print(f"{'family':12} {'run: exact':>11} {'within 1':>9} {'FluidSynth: exact':>18} {'within 1':>9}")
    for family in families:
        tune = write_midi(melody(programs[family]), out / f"{family}.mid")
        exact, near = [], []
        for seed in args.seeds.split(","):
            wav = out / f"{family}-seed{seed}.wav"
            played = subprocess.run([sys.executable, "-m", "gankit", "play", args.run, str(tune), "--seed", seed,
                                     "--out", str(wav)], capture_output=True, text=True)
            if played.returncode:
                sys.exit(played.stderr)
            wave, _ = soundfile.read(wav, dtype="float32")
            e, n = heard_share(wave, rate, classifier)
            exact.append(e)
            near.append(n)
        real = fluidsynth_tune(programs[family], rate)
        soundfile.write(out / f"{family}-fluidsynth.wav", real, rate)
        real_exact, real_near = heard_share(real, rate, classifier)
        rows.append((family, statistics.median(exact), statistics.median(near), real_exact, real_near))
        print(f"{family:12} {rows[-1][1]:11.2f} {rows[-1][2]:9.2f} {real_exact:18.2f} {real_near:9.2f}", flush=True)
        pictures.append((family, soundfile.read(out / f"{family}-seed0.wav", dtype="float32")[0], real))
    means = [statistics.mean(r[i] for r in rows) for i in range(1, 5)]
    print(f"{'mean':12} {means[0]:11.2f} {means[1]:9.2f} {means[2]:18.2f} {means[3]:9.2f}")
    spectrograms(pictures, rate, out / "spectrograms.png")
    print(f"wrote {out}/")


def spectrograms(pictures, rate: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(pictures), 2, figsize=(12, 1.6 * len(pictures)), squeeze=False)
    for row, (family, played, real) in zip(axes, pictures):
        for ax, wave, title in zip(row, (played, real), (f"{family}: gankit play", f"{family}: FluidSynth")):
            ax.specgram(wave, NFFT=1024, Fs=rate, noverlap=768, cmap="magma", vmin=-120)
            ax.set_ylim(0, 4000)
            ax.set_title(title, fontsize=8)
            ax.tick_params(labelsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=80)


if __name__ == "__main__":
    main()
