"""`--model auto`: the recipe that reached the best FID in the time-to-quality benchmark, for this device.

The recipe is fixed at start-up and saved in the run's config like any other settings; the user's own settings
still win. Measured on Fashion-MNIST (benchmarks/time_to_quality.py, docs/benchmarks.md); precision is chosen
by what was measured faster: bf16 on CPUs with bf16 arithmetic units, fp32 on GPUs and elsewhere.
"""

from __future__ import annotations

from typing import Any

from gankit.config import Config
from gankit.device import fast_bf16, resolve_device

# dcgan at learning rate 5e-4 for G and D; EMA of G with a ramp-up and its own BatchNorm statistics
# (gankit.train.ema)
RECIPE: dict[str, Any] = {"model.name": "dcgan", "train.lr_g": 5e-4, "train.lr_d": 5e-4, "train.ema_decay": 0.999,
                          "train.ema_rampup": 0.05, "train.ema_batchnorm": "measure"}
WHY = ("the lowest mean FID at 2, 5 and 10 minutes on 2 CPU cores of the configurations tried, 3 seeds "
       "(docs/benchmarks.md)")


def auto_settings(device: str = "auto") -> tuple[dict[str, Any], str]:
    """(the settings `--model auto` stands for on `device`, why it picked that precision)."""
    resolved = resolve_device(device)
    bf16 = fast_bf16(resolved)
    if bf16:
        return {**RECIPE, "train.precision": "bf16"}, bf16
    return {**RECIPE, "train.precision": "fp32"}, (
        "bf16 was slower on a GPU at batch 100, where the step is bound by kernel launches"
        if resolved.type == "cuda" else "no fast bf16 arithmetic is known on this device")


def auto_line(config: Config) -> str:
    """What `--model auto` trains, as resolved (the user's own settings included), and why, in one line."""
    settings, precision_reason = auto_settings(config.train.device)
    t = config.train
    ema = (f"EMA {t.ema_decay:g} (ramp-up {t.ema_rampup:g}, BatchNorm statistics: {t.ema_batchnorm})"
           if t.ema_decay else "no EMA")
    why = precision_reason if t.precision == settings["train.precision"] else "as you set it"
    return (f"--model auto is {config.model.name}, lr {t.lr_g:g}/{t.lr_d:g}, {ema}, batch {t.batch_size}, "
            f"{t.precision} ({why}): {WHY}")
