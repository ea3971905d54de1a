"""`gankit` command: parses, validates, calls the library. Bad input -> one line on stderr, exit 2."""

from __future__ import annotations

import argparse
import os
import sys
import warnings

from gankit import __version__
from gankit.cli import compare, data, eval, evaluator, import_tutorial, info, interpolate, report, sample, train
from gankit.errors import GankitError

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog):
        super().__init__(prog, max_help_position=32, width=100)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gankit", formatter_class=HelpFormatter,
        description="Train, watch and sample Generative Adversarial Networks.\n\n"
                    "  gankit train                      the tutorial's GAN on Fashion-MNIST\n"
                    "  gankit sample runs/NAME --n 64    a grid from a trained run\n"
                    "  gankit eval runs/NAME             FID, KID, IS, precision/recall, ...\n"
                    "  gankit report runs/NAME           one HTML page: curves, diagnosis, samples\n"
                    "  gankit compare runs/A runs/B      runs side by side\n"
                    "  gankit interpolate runs/NAME      a walk through latent space\n"
                    "  gankit info runs/NAME             what a run holds\n"
                    "  gankit data fashion-mnist         find or download a dataset\n"
                    "  gankit import-tutorial G.ckpt     the tutorial's own saved G (and D) as a run",
    )
    parser.add_argument("--version", action="version", version=f"gankit {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (train, sample, eval, report, compare, interpolate, info, data, evaluator, import_tutorial):
        sub = commands.add_parser(module.NAME, help=module.HELP, description=module.DESCRIPTION,
                                  formatter_class=HelpFormatter)
        module.add_arguments(sub)
        sub.set_defaults(handler=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # as given, for relaunching under torchrun
    warnings.formatwarning = lambda message, category, *rest: f"gankit: warning: {message}\n"
    try:
        return args.handler(args) or 0
    except GankitError as exc:
        print(f"gankit: error{_process()}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("gankit: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _process() -> str:
    """' (process N)' in the training processes torchrun started, except the main one."""
    rank = os.environ.get("RANK", "0")
    return f" (process {rank})" if int(os.environ.get("WORLD_SIZE", "1")) > 1 and rank != "0" else ""


if __name__ == "__main__":
    sys.exit(main())
