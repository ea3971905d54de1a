"""The end-of-run pictures: losses.png, progress.gif and report.html (main process only)."""

from __future__ import annotations

from gankit.plots import save_loss_plot, save_progress_gif
from gankit.report.html import write_report
from gankit.runlog import METRICS_FILE
from gankit.train.callbacks import Callback


class Summary(Callback):
    def __init__(self, report: bool):
        self.report = report

    def on_finished(self, trainer) -> None:
        if not trainer.main:
            return
        save_loss_plot(trainer.run / METRICS_FILE, trainer.run / "losses.png", trainer.rules.loss)
        save_progress_gif(trainer.run / "samples", trainer.run / "progress.gif")
        if self.report:
            write_report(trainer.run)
