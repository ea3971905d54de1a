"""TensorBoard output (optional: pip install 'gankit[tensorboard]'): the rows of metrics.jsonl as scalars
and the per-epoch sample grids as images, in RUN/tensorboard/. metrics.jsonl stays the record."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from gankit.errors import GankitError
from gankit.runlog import row_kind

# metrics.jsonl keys that are positions, not measurements
NOT_SCALARS = {"kind", "step", "epoch", "images_seen", "seconds", "eval_n"}


def require_tensorboard() -> None:
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        raise GankitError("--tensorboard needs the tensorboard package: pip install 'gankit[tensorboard]' "
                          "(or pip install tensorboard)") from None


def tag(key: str, row: dict) -> str:
    if key in ("d_loss", "g_loss"):
        return f"loss/{key[0].upper()}"
    if key in ("d_real", "d_fake"):
        return "D/" + ("D(x)" if key == "d_real" else "D(G(z))")
    if row_kind(row) == "eval":
        return f"eval/{key}"
    return f"train/{key}"


class TensorBoardLog:
    def __init__(self, folder: Path, resume_step: int = 0):
        require_tensorboard()
        self.folder = folder
        self.writer = self._open(resume_step)

    def _open(self, step: int):
        from torch.utils.tensorboard import SummaryWriter  # the optional extra gankit[tensorboard]

        # purge_step drops what was logged after `step` (a crashed session, a rolled-back stretch)
        return SummaryWriter(str(self.folder), purge_step=step + 1 if step else None)

    def rewind(self, step: int) -> None:
        """Continue from `step` again (a rollback): later events are purged."""
        self.writer.close()
        self.writer = self._open(step)

    def rows(self, rows: list[dict]) -> None:
        for row in rows:
            for key, value in row.items():
                if key in NOT_SCALARS or isinstance(value, bool) or not isinstance(value, (int, float)):
                    continue
                if math.isfinite(value):
                    self.writer.add_scalar(tag(key, row), value, row["step"])

    def image(self, name: str, picture: np.ndarray, step: int) -> None:
        """uint8 (H, W, C) picture."""
        self.writer.add_image(name, picture, step, dataformats="HWC")

    def close(self) -> None:
        self.writer.close()
