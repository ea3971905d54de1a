"""Training: state (what a checkpoint holds), steps (D and G), the Trainer (the one readable loop) and its
callbacks (previews, evaluation, diagnosis, TensorBoard, the end-of-run pictures)."""

from gankit.train.trainer import Trainer, TrainResult, preflight, train

__all__ = ["TrainResult", "Trainer", "preflight", "train"]
