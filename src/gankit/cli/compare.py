"""gankit compare: several runs on one page."""

from __future__ import annotations

import argparse
from pathlib import Path

from gankit.errors import GankitError
from gankit.report.html import write_comparison

NAME = "compare"
HELP = "write one HTML page with several runs' curves overlaid and their scores side by side"
DESCRIPTION = """Overlay the losses, D(G(z)) and FID of several runs and tabulate their latest scores.
Runs scored with different feature extractors are refused: their numbers are not comparable.

examples:
  gankit compare runs/a runs/b --out a-vs-b.html"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", metavar="RUN", nargs="+", help="two or more run folders")
    parser.add_argument("--out", metavar="HTML", default="compare.html", help="where to write (default: compare.html)")


def run(args: argparse.Namespace) -> int:
    if len(args.runs) < 2:
        raise GankitError("compare needs two or more run folders")
    out = write_comparison([Path(p) for p in args.runs], Path(args.out))
    print(f"wrote {out}")
    return 0
