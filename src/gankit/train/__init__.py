"""Training: state (what a checkpoint holds), steps (D and G), loop (the one readable loop)."""

from gankit.train.loop import TrainResult, train

__all__ = ["TrainResult", "train"]
