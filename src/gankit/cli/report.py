"""gankit report: one self-contained HTML page about a run."""

from __future__ import annotations

import argparse

from gankit.report.html import write_report

NAME = "report"
HELP = "write RUN/report.html: curves, diagnosis, samples by epoch, latent walk, scores, config"
DESCRIPTION = """Write one HTML file that opens offline (everything inline): the loss curves with what
the tutorial says to expect, D(x) and D(G(z)), gradient norms, evaluation scores over time, every
diagnosis on the time axis, the sample grids with a slider over epochs, a latent walk, the closest
training images when the run was evaluated, and the config. `gankit train` writes it at the end.

examples:
  gankit report runs/my-run
  gankit report runs/my-run --out my-run.html"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="run folder")
    parser.add_argument("--out", metavar="HTML", help="where to write (default: RUN/report.html)")
    parser.add_argument("--no-walk", action="store_true", help="leave out the latent walk (no model is loaded)")


def run(args: argparse.Namespace) -> int:
    out = write_report(args.run, args.out, interpolation=not args.no_walk)
    print(f"wrote {out}")
    return 0
