"""gankit demo: an interactive page over a run or a bundle (Gradio), to play with a model or show it to others."""

from __future__ import annotations

import argparse

from gankit.demo import DEMO_EXTRA, serve
from gankit.errors import GankitError

NAME = "demo"
HELP = "an interactive page over a run or bundle: sample by seed and condition, walk between seeds"
DESCRIPTION = f"""Serve a page (Gradio) on which a person steers a trained G: a seed, how many samples,
a menu for each of its conditions (a class, a pitch), a "variety" slider (z scaled toward its mean,
the truncation trick), a temperature for text drawn a character at a time, and a walk between two
seeds. Images show as a grid, sound as players with their spectrograms, text as lines. The page
says which checkpoint and step it shows, and the scores of its last `gankit eval`.

It serves on 127.0.0.1 (this machine only) unless --host says otherwise, and writes only into the
run's or bundle's demo/ folder. Needs the demo extra: {DEMO_EXTRA}.
`gankit export RUN --format space` makes a bundle that is a Hugging Face Space of this page.

examples:
  gankit demo runs/my-run
  gankit demo my-bundle --port 8000
  gankit demo runs/my-run --host 0.0.0.0       (other machines may open it: mind who can reach it)"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="run folder, or a bundle that gankit export wrote")
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: the first free one from 7860)")
    parser.add_argument("--share", action="store_true", help="also ask Gradio for a public link (needs the internet)")
    parser.add_argument("--checkpoint", metavar="NAME", help="checkpoint name or step (default: final, else the newest)")
    parser.add_argument("--device", default="cpu", help="cpu, auto, cuda, cuda:N or mps (default: cpu)")


def run(args: argparse.Namespace) -> int:
    if args.port is not None and not 1 <= args.port <= 65535:
        raise GankitError(f"--port must be in 1..65535, got {args.port}")
    serve(args.run, args.host, args.port, args.share, args.checkpoint, args.device)
    return 0
