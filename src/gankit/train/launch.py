"""`gankit train --nproc N`: this process becomes torchrun's agent and starts N training processes.

The same as `torchrun --standalone --nproc_per_node N -m gankit train ...`, except that a failed
process is reported in one line (its own error is already above it) instead of torchrun's traceback.
"""

from __future__ import annotations

import logging
import os
import sys


def without_nproc(argv: list[str]) -> list[str]:
    """argv minus its --nproc option (both `--nproc N` and `--nproc=N`)."""
    out, skip = [], False
    for item in argv:
        if skip:
            skip = False
        elif item == "--nproc":
            skip = True
        elif not item.startswith("--nproc="):
            out.append(item)
    return out


def launch(nproc: int, argv: list[str]) -> int:
    """Run `gankit <argv>` in `nproc` processes on this machine; returns the exit status to use.

    Args:
        nproc: processes to start (one per GPU, or CPU processes with the gloo backend).
        argv: the gankit arguments without --nproc (they start with the subcommand).
    """
    # torch's elastic agent is only needed by --nproc, and slow to import
    from torch.distributed.elastic.multiprocessing import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    # torchrun would set 1 thread per process and warn; share this machine's cores out instead
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    # the agent logs each failed process at ERROR level; the line below says it once, plainly
    logging.getLogger("torch.distributed.elastic.multiprocessing.api").setLevel(logging.CRITICAL)
    try:
        run(parse_args(["--standalone", f"--nproc_per_node={nproc}", "-m", "gankit", *argv]))
    except ChildFailedError as exc:
        rank, failure = exc.get_first_failure()  # the others were stopped because of it
        code = failure.exitcode if failure.exitcode > 0 else 1
        print(f"gankit: training process {rank} of {nproc} exited with status {failure.exitcode}; "
              "the others were stopped (their messages are above)", file=sys.stderr)
        return code
    except SignalException as exc:
        # Ctrl-C or SIGTERM: the agent passed it on and waited for the processes, whose main one
        # finished its step, saved a checkpoint and said how to resume
        return 128 + int(exc.sigval)
    return 0
