"""--tensorboard: the metrics rows as scalars and the sample previews as images, in RUN/tensorboard/."""

from __future__ import annotations

from gankit.report.tensorboard import TensorBoardLog
from gankit.train.callbacks import Callback


class TensorBoard(Callback):
    def __init__(self, trainer):
        self.board = TensorBoardLog(trainer.run / "tensorboard", trainer.state.step)

    def on_rows(self, trainer, rows: list[dict]) -> None:
        self.board.rows(rows)

    def on_preview(self, trainer, picture) -> None:
        self.board.image("samples", picture, trainer.state.step)

    def on_rewind(self, trainer, step: int) -> None:
        self.board.rewind(step)

    def on_close(self, trainer) -> None:
        self.board.close()
