"""Stopping on request: Ctrl-C and SIGTERM finish the step in flight, checkpoint, and say how to resume."""

from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager
from pathlib import Path


def exit_status(signal_name: str) -> int:
    """The shell's convention, 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM)."""
    return 128 + signal.Signals[signal_name].value


class Interrupted(Exception):
    """Ctrl-C or SIGTERM: a checkpoint was written; the run can be resumed."""

    def __init__(self, run: Path, step: int, signal_name: str | None = None):
        by = f" by {signal_name}" if signal_name else ""
        super().__init__(f"interrupted{by} at step {step}; checkpoint saved. Resume with: gankit train --resume {run}")
        self.run, self.step, self.signal_name = run, step, signal_name

    @property
    def exit_status(self) -> int:
        return exit_status(self.signal_name or "SIGINT")


class StopRequests:
    """While active, Ctrl-C and SIGTERM only raise a flag, so the step in flight finishes cleanly.

    A second Ctrl-C stops at once (the newest checkpoint on disk stays intact).
    """

    def __init__(self, say: bool = True):
        self.received: str | None = None
        self._previous: dict = {}
        self.say = say

    def _handle(self, signum, frame):
        if self.received is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.received = signal.Signals(signum).name
        if self.say:  # a step can take minutes (a long text GAN's); os.write, as print may be mid-line in the bar's
            again = "; Ctrl-C again stops at once" if signum == signal.SIGINT else ""
            os.write(2, f"\ngankit: {self.received} received: finishing the step in flight, then a checkpoint{again}\n"
                        .encode())

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()


class StoppedBeforeStart(BaseException):
    """Ctrl-C or SIGTERM where nothing of the run could be kept yet: while it is prepared (its data loaded,
    clustered, measured), or during a maximum-likelihood fit, whose only checkpoint comes at its end."""

    def __init__(self, signal_name: str):
        super().__init__(signal_name)
        self.signal_name = signal_name

    @property
    def exit_status(self) -> int:
        return exit_status(self.signal_name)


@contextmanager
def stops_raise():
    """While active, Ctrl-C and SIGTERM raise StoppedBeforeStart at once: preparing a run can take minutes, and
    SIGTERM's default ends the process without a word, leaving a run folder no one can use."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum, frame):
        raise StoppedBeforeStart(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
