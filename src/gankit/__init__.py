"""gankit: train, watch, evaluate and sample Generative Adversarial Networks.

The Python API: `gankit.Pipeline` (sample from a trained run) and `gankit.train.train` (train one).
"""

__version__ = "0.1.0"


class GankitError(Exception):
    """A problem the user can fix; the message says how. The CLI prints it as one line and exits 2.

    Defined here, not in a module of its own, so that `gankit.config` needs no other gankit module.
    """


def __getattr__(name: str):
    # imported on first use: `import gankit` (and gankit.config, which every module needs) stays free of torch
    if name == "Pipeline":
        from gankit.pipeline import Pipeline

        return Pipeline
    raise AttributeError(f"module 'gankit' has no attribute {name!r}")
