"""gankit data: find a named dataset locally or download it, and say where it is."""

from __future__ import annotations

import argparse
from pathlib import Path

from gankit.cache import cache_dir
from gankit.config import DataConfig
from gankit.data import load_dataset
from gankit.data.download import find_local, locate
from gankit.data.emoji import make_emoji
from gankit.data.notes import SOUNDFONT, make_notes
from gankit.data.sources import DIGITS, NAMED_DATASETS
from gankit.data.spoken_digits import make_spoken_digits
from gankit.errors import GankitError

NAME = "data"
HELP = "find or download a dataset (fashion-mnist, mnist, cifar10), find words, or make spoken-digits, notes or emoji"
DESCRIPTION = """Look for a named dataset in --data-dir, ~/.cache/gankit/datasets/<name> and
/usr/share/datasets/<name>; download it (SHA-256 checked) when it is nowhere. Prints where it is and
how many samples it has.

spoken-digits is made on this machine instead: espeak-ng says "zero" ... "nine" in 8 accents x 24
voices, twice each at seeded speeds and pitches (3,840 clips of 16 kHz FLAC, about a minute); the
voices of the test split are never heard in training. It needs espeak-ng (apt install espeak-ng).

notes is made here too: FluidSynth plays 22 General-MIDI instruments (two of each of NSynth's 11
families) over four octaves at four velocities, a note held 0.75 s then released (4,224 clips of
16 kHz FLAC, under a minute); the family is the class, the MIDI pitch is in each file's name; one
note in eight is held out. It needs FluidSynth and a soundfont (apt install fluidsynth
fluid-soundfont-gm; pip install 'gankit[audio]').

emoji is drawn here from Debian's Noto Color Emoji font: every fully-qualified emoji of Unicode's
emoji-test.txt (3,655), cropped to the glyph, centred, 64 px RGBA PNG, in one folder per Unicode group
(9 classes); one emoji in ten, with all its skin tones, is held out (about 15 s). It needs apt install
unicode-data fonts-noto-color-emoji.

words is Debian's American English word list (apt install wamerican): its 73,000 words of the
letters a-z only, lower-cased; one in ten (by a hash of the word) is held out for scoring.

examples:
  gankit data fashion-mnist
  gankit data mnist --no-download       exit 1 when there is no local copy
  gankit data spoken-digits             then: gankit train --data spoken-digits --model wavegan
  gankit data notes                     then: gankit train --data notes --model auto
  gankit data emoji                     then: gankit train --data emoji --model auto
  gankit data words                     then: gankit train --data words --model textgan"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", choices=list(NAMED_DATASETS), help="dataset name")
    parser.add_argument("--data-dir", help="a folder holding the dataset's files")
    parser.add_argument("--download-url", help="a mirror's base URL to download from")
    parser.add_argument("--no-download", action="store_true", help="only look locally; exit 1 if not found")
    parser.add_argument("--out", metavar="DIR", help="spoken-digits, notes, emoji: make it here (then pass --data-dir DIR) "
                        "instead of ~/.cache/gankit/datasets/NAME")
    parser.add_argument("--clips-per-digit", type=int, metavar="N", help="spoken-digits: a smaller set, N clips "
                        "of each digit spread over the voices (default: all 384)")
    parser.add_argument("--soundfont", metavar="SF2", help=f"notes: the General-MIDI soundfont to play them with "
                        f"(default: {SOUNDFONT})")


def run(args: argparse.Namespace) -> int:
    spec = NAMED_DATASETS[args.name]
    if (args.out or args.clips_per_digit or args.soundfont) and not spec.made_by:
        raise GankitError(f"--out, --clips-per-digit and --soundfont are for datasets made here ({', '.join(MAKERS)}), "
                          f"not {args.name}")
    if args.clips_per_digit is not None and args.name != "spoken-digits":
        raise GankitError("--clips-per-digit is for spoken-digits")
    if args.soundfont is not None and args.name != "notes":
        raise GankitError("--soundfont is for notes")
    if spec.made_by and not args.no_download:
        _make_unless_there(args)
    if args.no_download and not all(find_local(NAMED_DATASETS[args.name], split, args.data_dir) for split in ("train", "test")):
        print(f"{args.name}: no local copy")
        return 1
    files = {**locate(NAMED_DATASETS[args.name], "train", args.data_dir, args.download_url),
             **locate(NAMED_DATASETS[args.name], "test", args.data_dir, args.download_url)}
    train = load_dataset(DataConfig(name=args.name, data_dir=args.data_dir, download_url=args.download_url))
    folders = sorted({str(p.parent) for p in files.values()})
    print(f"{args.name}: {len(train)} training samples of shape {tuple(train.sample_shape)} in {', '.join(folders)}")
    return 0


def _make_unless_there(args: argparse.Namespace) -> None:
    if args.clips_per_digit is not None and not 2 <= args.clips_per_digit <= 384:
        raise GankitError(f"--clips-per-digit must be in 2..384, got {args.clips_per_digit}")
    if args.out:
        out = Path(args.out).absolute()
        args.data_dir = str(out)
        if all((out / split).is_dir() for split in ("train", "test")):
            return
    elif args.data_dir or find_local(NAMED_DATASETS[args.name], "train"):
        return
    else:
        out = cache_dir() / "datasets" / args.name
    counts, unit = MAKERS[args.name](out, args)
    print(f"made {args.name}: {counts['train']} training and {counts['test']} test {unit} in {out}")


# dataset -> (folder, options) -> (samples per split, what a sample is called)
MAKERS = {
    "spoken-digits": lambda out, args: (make_spoken_digits(out, DIGITS, args.clips_per_digit), "clips"),
    "notes": lambda out, args: (make_notes(out, Path(args.soundfont) if args.soundfont else SOUNDFONT), "clips"),
    "emoji": lambda out, args: (make_emoji(out), "pictures"),
}
