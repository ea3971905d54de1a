"""gankit play: a MIDI file played by a run's instrument, one generated note per MIDI note, as one WAV."""

from __future__ import annotations

import argparse
from pathlib import Path

from gankit.config import MAX_SEED
from gankit.errors import GankitError
from gankit.modalities.audio import write_wav
from gankit.pipeline import Pipeline
from gankit.play import describe, play, read_midi
from gankit.runs import run_or_bundle

NAME = "play"
HELP = "play a MIDI file with a notes run's instrument (one generated note per MIDI note) as a WAV"
DESCRIPTION = """Play a standard MIDI file with the instrument a GAN learnt: every note a clip G makes at the
note's pitch and the family of its track's General-MIDI program (piano: keyboard, trumpet: brass, ...),
cut to the note's length, scaled by its velocity and mixed at its onset. The model must be conditioned
on family and pitch (`gankit train --data notes --model auto` is). Drums (channel 10) are left out;
notes outside the model's pitches are moved by octaves into them.

--seed picks the instrument's voice (one latent vector for the whole tune); --morph brass,string moves
the voice and the family from one to the other across the tune.

examples:
  gankit play runs/my-notes tune.mid --out tune.wav
  gankit play runs/my-notes tune.mid --class brass --seed 3
  gankit play runs/my-notes tune.mid --morph brass,string"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="run folder, or a bundle that gankit export wrote")
    parser.add_argument("midi", metavar="MIDI", help="a standard MIDI file (.mid)")
    parser.add_argument("--out", metavar="FILE", help="the WAV to write (default: RUN/samples/<MIDI name>.wav; for a "
                        "bundle, <MIDI name>.wav in the current folder)")
    parser.add_argument("--class", dest="label", metavar="FAMILY", help="play every note as this family instead of "
                        "its track's instrument")
    parser.add_argument("--morph", metavar="A,B", help="move from family A to family B (and from the voice of --seed "
                        "to the next seed's) across the tune")
    parser.add_argument("--seed", type=int, default=0, help="the instrument's voice: the latent vector's seed "
                        "(default: 0)")
    parser.add_argument("--checkpoint", metavar="NAME", help="checkpoint name or step (default: final, else the newest)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default: auto)")


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.seed < MAX_SEED:  # the morph's second voice is the next seed's
        raise GankitError(f"--seed must be in 0..{MAX_SEED - 1}, got {args.seed}")
    morph = None
    if args.morph is not None:
        morph = tuple(name.strip() for name in args.morph.split(","))
        if len(morph) != 2 or not all(morph) or args.label is not None:
            raise GankitError(f"--morph takes two families, like brass,string, without --class; got {args.morph!r}")
    run_dir = run_or_bundle(args.run)
    notes, drums = read_midi(args.midi)
    pipe = Pipeline.from_run(args.run, args.checkpoint, args.device)
    heard = pipe.spec.modality.sequence_suffix or ""  # a tune is heard as the run's sound files are
    out = Path(args.out) if args.out else None
    if out is not None and out.suffix.lower() != heard:
        raise GankitError(f"--out {out} must end in {heard}")
    played = play(pipe, notes, args.seed, args.label, morph)
    out = out or (run_dir / "samples" if run_dir is not None else Path()) / f"{Path(args.midi).stem}{heard}"
    out.parent.mkdir(parents=True, exist_ok=True)
    write_wav(played.wave, played.sample_rate, out)
    left = f"; {drums} drum note(s) left out" if drums else ""
    print(f"wrote {out} ({describe(played)}{left}; {pipe.checkpoint.name}, seed {args.seed})")
    return 0
