"""gankit: train, watch, evaluate and sample Generative Adversarial Networks."""

__version__ = "0.1.0"
