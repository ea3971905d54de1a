"""`gankit` command: parses, validates, calls the library. Bad input -> one line on stderr, exit 2."""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

from gankit import __version__
from gankit.cache import cache_dir
from gankit.cli import (
    compare,
    data,
    demo,
    eval,
    evaluator,
    export,
    import_tutorial,
    info,
    interpolate,
    play,
    report,
    sample,
    train,
)
from gankit.errors import GankitError, printable
from gankit.progress import show_progress

# 0 done; 1 a bug in gankit (reported in one line, traceback saved); 2 bad input or environment, in one line
EXIT_BUG = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a Unix tool killed by a closed pipe reports


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
                    "  gankit play runs/NAME tune.mid    a MIDI file played by a notes run's instrument\n"
                    "  gankit export runs/NAME --out DIR the trained G on its own: bundle, ONNX, TorchScript\n"
                    "  gankit demo runs/NAME             an interactive page over a run or bundle (Gradio)\n"
                    "  gankit info runs/NAME             what a run holds\n"
                    "  gankit data fashion-mnist         find or download a dataset\n"
                    "  gankit import-tutorial G.ckpt     the tutorial's own saved G (and D) as a run",
    )
    parser.add_argument("--version", action="version", version=f"gankit {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (train, sample, eval, report, compare, interpolate, play, export, demo, info, data, evaluator,
                   import_tutorial):
        sub = commands.add_parser(module.NAME, help=module.HELP, description=module.DESCRIPTION,
                                  formatter_class=HelpFormatter)
        module.add_arguments(sub)
        sub.set_defaults(handler=module.run, parser=sub)
    return parser


def unknown_arguments(sub: argparse.ArgumentParser, extras: list[str]) -> str:
    """'unrecognized arguments: --batchsize 64 (did you mean --batch-size?)'."""
    options = [o for action in sub._actions for o in action.option_strings]
    guesses = [close for extra in extras if extra.startswith("-")
               for close in difflib.get_close_matches(extra.split("=")[0], options, n=1, cutoff=0.6)]
    guess = f" (did you mean {', '.join(guesses)}?)" if guesses else ""
    return f"unrecognized arguments: {' '.join(extras)}{guess}"


def condition_arguments(extras: list[str]) -> dict[str, str] | None:
    """`--pitch 60 --velocity=100` as {"pitch": "60", "velocity": "100"}; None when extras are not such pairs."""
    pairs: dict[str, str] = {}
    words = iter(extras)
    for word in words:
        name, equals, value = word.partition("=")
        if not re.fullmatch(r"--[a-z][a-z0-9_]{0,39}", name):
            return None
        value = value if equals else next(words, None)
        if value is None or name[2:] in pairs:
            return None
        pairs[name[2:]] = value
    return pairs


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    if extras and hasattr(args, "conditions"):  # --NAME VALUE for any condition the run has (--pitch 60)
        args.conditions = condition_arguments(extras)
        extras = [] if args.conditions is not None else extras
    if extras:  # refused by the subcommand's parser, so the usage line shown is the subcommand's
        args.parser.error(unknown_arguments(args.parser, extras))
    args.argv = list(sys.argv[1:] if argv is None else argv)  # as given, for relaunching under torchrun
    warnings.formatwarning = lambda message, category, *rest: f"gankit: warning: {printable(str(message))}\n"
    show_progress(not getattr(args, "no_progress", False))
    try:
        return args.handler(args) or 0
    except GankitError as exc:
        print(f"gankit: error{_process()}: {printable(str(exc))[:2000]}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("gankit: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader went away (`gankit info RUN | head -1`): end quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except Exception as exc:  # a bug in gankit: one line here, the whole traceback in a file
        first = (str(exc).splitlines() or [""])[0][:300]
        print(f"gankit: internal error{_process()}: {type(exc).__name__}: {first}; this is a bug in gankit, please "
              f"report it with {_save_traceback()}", file=sys.stderr)
        return EXIT_BUG


def _save_traceback() -> str:
    """Write the exception being handled to a file; returns where (or why it could not be kept)."""
    text = f"gankit {__version__}, python {sys.version.split()[0]}, argv {sys.argv}\n{traceback.format_exc()}"
    for folder in (cache_dir() / "crashes", Path(tempfile.gettempdir())):
        path = folder / f"gankit-crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.txt"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            return f"the traceback in {path}"
        except OSError:
            continue
    return "the command that failed (its traceback could not be saved: no writable folder)"


def _process() -> str:
    """' (process N)' in the training processes torchrun started, except the main one."""
    rank = os.environ.get("RANK", "0")
    return f" (process {rank})" if int(os.environ.get("WORLD_SIZE", "1")) > 1 and rank != "0" else ""


if __name__ == "__main__":
    sys.exit(main())
