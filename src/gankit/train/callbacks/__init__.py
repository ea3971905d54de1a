"""Side outputs of training, each a small Callback in its own file, so the Trainer's loop stays the
tutorial's six steps. The Trainer calls `on_<event>(trainer, ...)` on each callback, in list order:

    rows(rows)       every batch of metrics.jsonl rows written (per-step rows, evaluations, probes)
    step()           after every G step
    epoch_end()      an epoch ended, before its checkpoint (sample previews)
    epoch_saved()    after that checkpoint (evaluation, which may keep a `best` checkpoint)
    preview(picture) a sample preview was made (TensorBoard shows it)
    stopping()       training is about to write its final checkpoint (a mid-epoch preview)
    rewind(step)     --on-nan rollback went back to a checkpoint of `step`
    finished()       training ended normally, everything is saved (plots, report)
    close()          always, last
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # callbacks are handed the Trainer; they never import it
    from gankit.train.trainer import Trainer


class Callback:
    def on_rows(self, trainer: Trainer, rows: list[dict]) -> None:
        pass

    def on_step(self, trainer: Trainer) -> None:
        pass

    def on_epoch_end(self, trainer: Trainer) -> None:
        pass

    def on_epoch_saved(self, trainer: Trainer) -> None:
        pass

    def on_preview(self, trainer: Trainer, picture) -> None:
        pass

    def on_preview_alike(self, trainer: Trainer, samples: int, alike: int) -> None:
        """Of the preview's `samples`, `alike` look like its first (gankit.train.callbacks.previews)."""

    def on_stopping(self, trainer: Trainer) -> None:
        pass

    def on_rewind(self, trainer: Trainer, step: int) -> None:
        pass

    def on_finished(self, trainer: Trainer) -> None:
        pass

    def on_close(self, trainer: Trainer) -> None:
        pass
