"""`textgan`: the character-level WGAN-GP of Gulrajani et al. 2017 (Improved Training of Wasserstein GANs,
section 5; the authors' gan_language.py), for short text.

G: z (128) -> linear to L x d -> five residual blocks -> 1x1 convolution to the vocabulary -> softmax over the
characters at each of the L positions: (B, V, L), a distribution per position. D (the critic) reads that, or
real text one-hot: 1x1 convolution to d channels -> five residual blocks -> linear to one score. A residual
block is x + 0.3 * conv5(relu(conv5(relu(x)))). There is no sampling inside G: its softmax goes to D as it
is, which is what lets gradients through discrete text (and what D could in principle tell from one-hot;
the gradient penalty keeps it from exploiting it fast). Trained as WGAN-GP, lambda 10, 10 critic steps,
Adam 1e-4 (0.5, 0.9), batch 64.

The paper's width d = 512 is 4x slower than d = 128 on two CPU cores: see docs/benchmarks.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from gankit.config import MAX_WIDTH, Config, opt, require
from gankit.errors import GankitError
from gankit.models.spec import MODELS, ModelSpec

# the authors' scale of each block's residual branch
RESIDUAL_SCALE = 0.3


@dataclass(frozen=True)
class TextGANParams:
    width: int = opt(128, "d: channels of every residual block in G and D (the paper's 512 is 4x slower on a CPU)")
    blocks: int = opt(5, "residual blocks in G and in D (the paper's 5)")


class ResBlock(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.branch = nn.Sequential(nn.ReLU(), nn.Conv1d(width, width, 5, padding=2),
                                    nn.ReLU(), nn.Conv1d(width, width, 5, padding=2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, d, L)
        return x + RESIDUAL_SCALE * self.branch(x)


class TextGenerator(nn.Module):
    def __init__(self, latent_dim: int, vocabulary: int, seq_len: int, width: int, blocks: int):
        super().__init__()
        self.width, self.seq_len = width, seq_len
        self.dense = nn.Linear(latent_dim, width * seq_len)
        self.blocks = nn.Sequential(*(ResBlock(width) for _ in range(blocks)))
        self.out = nn.Conv1d(width, vocabulary, 1)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:  # (B, latent) -> (B, V, L)
        h = self.blocks(self.dense(z).view(-1, self.width, self.seq_len))
        return torch.softmax(self.out(h).float(), dim=1)


class TextCritic(nn.Module):
    def __init__(self, vocabulary: int, seq_len: int, width: int, blocks: int):
        super().__init__()
        self.inp = nn.Conv1d(vocabulary, width, 1)
        self.blocks = nn.Sequential(*(ResBlock(width) for _ in range(blocks)))
        self.head = nn.Linear(width * seq_len, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:  # (B, V, L) -> (B,)
        return self.head(self.blocks(self.inp(x)).flatten(1)).view(-1)


def build(config: Config, sample_shape: tuple[int, ...],
          label_sizes: tuple[int, ...] = ()) -> tuple[nn.Module, nn.Module]:
    p, (vocabulary, seq_len) = config.model.params, sample_shape
    return (TextGenerator(config.model.latent_dim, vocabulary, seq_len, p.width, p.blocks),
            TextCritic(vocabulary, seq_len, p.width, p.blocks))


def check(config: Config, sample_shape: tuple[int, ...]) -> None:
    p = config.model.params
    require(1 <= p.width <= MAX_WIDTH, "model.width", f"must be in 1..{MAX_WIDTH}", p.width)
    require(0 <= p.blocks <= 64, "model.blocks", "must be in 0..64", p.blocks)
    if len(sample_shape) != 2:
        raise GankitError(f"model {config.model.name} makes text, and {config.data.name} holds samples of shape "
                          f"{sample_shape}")


# the authors' training: WGAN-GP, 10 critic steps, Adam 1e-4 (0.5, 0.9), batch 64, z of 128
DEFAULTS = {"train.loss": "wgan-gp", "train.n_critic": 10, "train.lr_g": 1e-4, "train.lr_d": 1e-4,
            "train.beta1": 0.5, "train.beta2": 0.9, "train.batch_size": 64, "model.latent_dim": 128,
            "train.sample_count": 32}
MODELS.add("textgan", ModelSpec(build=build, params=TextGANParams, check=check, defaults=DEFAULTS,
                                modalities=("text",), summary="character-level WGAN-GP: residual 1-D convolutions, "
                                                              "softmax per position"))
