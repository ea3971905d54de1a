"""Training: state (what a checkpoint holds), steps (D and G), the set-up before the first step, the Trainer (the one
readable loop) and its callbacks (previews, evaluation, diagnosis, TensorBoard, the end-of-run pictures)."""

from gankit.train.setup import preflight
from gankit.train.trainer import Trainer, TrainResult, train

__all__ = ["TrainResult", "Trainer", "preflight", "train"]
