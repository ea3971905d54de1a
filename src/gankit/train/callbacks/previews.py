"""Sample previews during training: the same latent batch after every epoch, in samples/."""

from __future__ import annotations

import torch

from gankit import conditions
from gankit.pipeline import Pipeline, class_grid_columns, latents
from gankit.seeds import GRID
from gankit.train.callbacks import Callback

# a sample no further than this share of the value range from the first, at every value, looks the same (two
# grey levels of an image, 1 % of a clip's amplitude, the same characters of a text)
ALIKE = 0.01


class Previews(Callback):
    """samples/epoch_NNNN.png after each epoch, and samples/step_NNNNNNNN.png when training stops mid-epoch.

    Conditional models go through their classes in turn, each class on rows of its own.
    """

    def __init__(self, trainer):
        t, spec = trainer.config.train, trainer.spec
        values = len(spec.conditions[0].values) if spec.conditions else 0  # the first condition's, row by row
        # the other conditions of each grid row, when there are others, drawn from the data's label rows
        self.labels = conditions.grid(spec.conditions, max(1, t.sample_count // values), trainer.device,
                                      trainer.fake_rows, torch.Generator().manual_seed(t.seed + GRID)) \
            if values else None
        count = len(self.labels) if self.labels is not None else t.sample_count
        self.z = latents(count, trainer.config.model.latent_dim, t.seed + GRID, trainer.device)
        self.nrow = class_grid_columns(values, count // values) if values else None

    def save(self, trainer, name: str) -> None:
        if not trainer.main:
            return
        pipe = Pipeline(trainer.sampler(), trainer.config.model.latent_dim, trainer.spec, trainer.device)
        samples = pipe.generate(self.z, self.labels)
        # how many samples look like the first: the diagnosis names a grid of one output at any step
        scale = 255.0 if samples.dtype == torch.uint8 else 1.0
        apart = (samples.float() - samples[:1].float()).abs().flatten(1).amax(1)
        trainer.emit("preview_alike", len(samples), int((apart <= ALIKE * scale).sum()))
        picture = pipe.picture(samples, self.nrow)
        trainer.spec.modality.preview(samples, trainer.run / "samples" / f"{name}.png", self.nrow)
        trainer.emit("preview", picture)

    def on_epoch_end(self, trainer) -> None:
        self.save(trainer, f"epoch_{trainer.state.epoch:04d}")

    def on_stopping(self, trainer) -> None:
        if trainer.state.batch_in_epoch:  # stopped mid-epoch by --max-steps or --time-limit
            self.save(trainer, f"step_{trainer.state.step:08d}")
