"""GANKIT_SMOKE_TEST=N: every command in its shortest form, to check that a walk of commands runs (the README's
own blocks are tested this way), not to train anything. Training stops N G steps after where it starts and writes
no report at its end (`gankit report` still writes one), and
sampling and scoring make at most SMOKE_SAMPLES samples; each command says so on stderr. Sound is decoded from
spectrograms with at most SMOKE_GRIFFIN_LIM iterations (rougher clips of the same length)."""

from __future__ import annotations

import os
import sys

from gankit.errors import GankitError

SMOKE_ENV = "GANKIT_SMOKE_TEST"
SMOKE_SAMPLES = 100
SMOKE_GRIFFIN_LIM = 2


def smoke_steps() -> int | None:
    """The G steps a training command may take under GANKIT_SMOKE_TEST (None: not set)."""
    value = os.environ.get(SMOKE_ENV)
    if not value:
        return None
    if not value.isdigit() or not 1 <= int(value) <= 10**6:
        raise GankitError(f"{SMOKE_ENV}={value!r} must be a number of G steps, 1 to 1000000; unset it to train fully")
    return int(value)


def smoke_samples(n: int) -> int:
    """n, or at most SMOKE_SAMPLES under GANKIT_SMOKE_TEST (said once)."""
    if smoke_steps() is None or n <= SMOKE_SAMPLES:
        return n
    print(f"gankit: {SMOKE_ENV} is set: {SMOKE_SAMPLES} samples, not {n}", file=sys.stderr)
    return SMOKE_SAMPLES


def smoke_griffin_lim(iterations: int) -> int:
    """iterations, or at most SMOKE_GRIFFIN_LIM under GANKIT_SMOKE_TEST: decoding was most of a sound command's
    time in the README walk."""
    return iterations if smoke_steps() is None else min(iterations, SMOKE_GRIFFIN_LIM)
