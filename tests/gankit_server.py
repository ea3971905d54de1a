"""Runs `python -m gankit ARGS` for the tests without paying for its imports each time.

`python -m gankit` spends about 2.5 of its first seconds importing what gankit/__main__.py imports (torch among
it) and a second more tearing torch down at exit, which over the suite's few hundred commands was half of
`make test`. This process imports that once, then
for each request forks a child that becomes `python -m gankit ARGS` as a fresh process would: its own argv,
environment, working folder, stdin (/dev/null), stdout and stderr (files the caller names), run as __main__,
exit code, threads joined and atexit run (exit_as_python_does). Requests come one JSON object a line on stdin; for
each, two replies on stdout: {"pid": ...} when the child starts, {"returncode": ...} when it has ended (negative:
killed by that signal, as subprocess reports it).

Not for commands whose interpreter must differ from this one's (PYTHONPATH and the like): conftest spawns those.
"""

from __future__ import annotations

import atexit
import io
import json
import os
import runpy
import sys
import threading
from collections.abc import Callable
from typing import NoReturn

# What gankit/__main__.py imports before it reads its arguments (gankit.cli.main), and what nearly every command
# imports next: torch's optimizers import dynamo when the first is made (2.3 s), the run's plots pyplot (0.6 s).
# Importing them earlier changes nothing they do; neither reads the environment the tests set.
import matplotlib.pyplot  # noqa: F401
import torch._dynamo  # noqa: F401

import gankit.cli.main  # noqa: F401


def serve() -> dict:
    """Forks a child per request and reports on it; returns the request in the child (there only)."""
    replies = io.TextIOWrapper(io.FileIO(os.dup(sys.stdout.fileno()), "w"), write_through=True)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            replies.close()
            return request
        replies.write(json.dumps({"pid": pid}) + "\n")
        _, status = os.waitpid(pid, 0)
        replies.write(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}) + "\n")
    raise SystemExit(0)


def become_the_command(request: dict) -> None:
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    for fd, path, flags in ((0, os.devnull, os.O_RDONLY),
                            (1, request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                            (2, request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)):
        opened = os.open(path, flags, 0o600)
        os.dup2(opened, fd)
        os.close(opened)
    # as PYTHONUNBUFFERED=1 makes them (the tests set it): text written through at once
    encoding = sys.stdout.encoding
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding=encoding)
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding=encoding, write_through=True)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding=encoding, errors="backslashreplace",
                                  write_through=True)
    if "numpy" in sys.modules:  # a fresh process seeds numpy's global generator from the OS, not from its parent
        sys.modules["numpy"].random.seed()
    sys.argv = ["-m", *request["args"]]


def exit_as_python_does(command: Callable[[], object]) -> NoReturn:
    """Runs command and ends the process with the exit code Python would give, after what Python's shutdown does
    that anyone can see (threads joined, atexit run, output flushed), but without tearing down torch's modules
    and libraries: a second that changes nothing on disk or in the output."""
    try:
        command()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
        if not isinstance(exc.code, int) and exc.code is not None:
            print(exc.code, file=sys.stderr)
    except BaseException:
        sys.excepthook(*sys.exc_info())
        code = 1
    threading._shutdown()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    become_the_command(serve())
    exit_as_python_does(lambda: runpy._run_module_as_main("gankit"))  # what `python -m gankit` calls
