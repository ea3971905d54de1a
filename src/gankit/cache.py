"""Where gankit keeps what it downloads or computes once: datasets, trained evaluators, reference features,
and where it looks for the Inception-v3 FID weights."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "GANKIT_CACHE_DIR"
INCEPTION_WEIGHTS_ENV = "GANKIT_INCEPTION_WEIGHTS"
INCEPTION_FILE = "pt_inception-2015-12-05-6726825d.pth"
INCEPTION_URL = f"https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/{INCEPTION_FILE}"


def cache_dir() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "gankit"


def inception_weights_path() -> Path:
    return Path(os.environ.get(INCEPTION_WEIGHTS_ENV) or cache_dir() / "weights" / INCEPTION_FILE)
