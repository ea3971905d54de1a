"""Sample previews during training: the same latent batch after every epoch, in samples/."""

from __future__ import annotations

from gankit.pipeline import Pipeline, grid_labels, latents
from gankit.seeds import GRID
from gankit.train.callbacks import Callback


class Previews(Callback):
    """samples/epoch_NNNN.png after each epoch, and samples/step_NNNNNNNN.png when training stops mid-epoch.

    Conditional models get one row per class.
    """

    def __init__(self, trainer):
        t, spec = trainer.config.train, trainer.spec
        self.labels = grid_labels(spec.num_classes, max(1, t.sample_count // spec.num_classes),
                                  trainer.device) if spec.num_classes else None
        count = len(self.labels) if self.labels is not None else t.sample_count
        self.z = latents(count, trainer.config.model.latent_dim, t.seed + GRID, trainer.device)
        self.nrow = count // spec.num_classes if spec.num_classes else None

    def save(self, trainer, name: str) -> None:
        if not trainer.main:
            return
        pipe = Pipeline(trainer.sampler(), trainer.config.model.latent_dim, trainer.spec, trainer.device)
        samples = pipe.generate(self.z, self.labels)
        picture = pipe.picture(samples, self.nrow)
        trainer.spec.modality.preview(samples, trainer.run / "samples" / f"{name}.png", self.nrow)
        trainer.emit("preview", picture)

    def on_epoch_end(self, trainer) -> None:
        self.save(trainer, f"epoch_{trainer.state.epoch:04d}")

    def on_stopping(self, trainer) -> None:
        if trainer.state.batch_in_epoch:  # stopped mid-epoch by --max-steps or --time-limit
            self.save(trainer, f"step_{trainer.state.step:08d}")
