"""train.lr_decay: learning rates that fall to zero over the training the run plans.

At a constant learning rate a GAN's last steps leave G wherever the game's noise put it; falling linearly to zero
over the planned run (as in the SNGAN family's reference recipes: Miyato and Koyama's chainer code, Mimicry) lets
G settle. The plan is what ends the run: its last G step (--epochs or --max-steps) or its --time-limit, whichever
is nearer. A time limit makes the schedule follow the clock, so such a run, like its length, is not repeatable
step for step; a resume's time limit extends the plan by that much, so the rates start again at the plan's share
still to come.
"""

from __future__ import annotations

import torch


def decay_factor(steps_done: float, clock_done: float) -> float:
    """The multiplier of the learning rates (1 down to 0) when the run is `steps_done` of the way to its last G
    step and `clock_done` of the way to its time limit (each a fraction; 0 where there is no such limit)."""
    return max(0.0, 1.0 - max(steps_done, clock_done))


def set_learning_rates(optimizers: tuple[torch.optim.Optimizer, ...], factor: float) -> None:
    """Each group's rate becomes `factor` times its initial rate, which the group keeps (and checkpoints keep)."""
    for opt in optimizers:
        for group in opt.param_groups:
            group["lr"] = group.setdefault("initial_lr", group["lr"]) * factor
