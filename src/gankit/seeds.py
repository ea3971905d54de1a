"""Every seed gankit derives from a run's `train.seed`, in one place.

Each use gets its own stream so none disturbs another: the grid previews do not shift evaluation's
latents, the diversity probe does not touch training noise, and a resumed run redraws nothing.
"""

# the fixed latent batch of the per-epoch sample previews
GRID = 1_000_000
# the latents (and labels) of evaluations during training
EVAL = 2_000_000
# the diversity probe of the mode-collapse diagnosis (its latents and the real images it compares with)
DIVERSITY = 3_000_000
# the latents on which the EMA G's BatchNorm statistics are measured (plus the step they are measured at)
EMA_STATISTICS = 4_000_000_000


def epoch_order_seed(seed: int, epoch: int) -> int:
    """The seed of one epoch's shuffle: the order depends on (seed, epoch) alone, so resume is exact."""
    return seed * 1_000_003 + epoch
