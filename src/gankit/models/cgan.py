"""`cgan`: class-conditional DCGAN. G sees z next to a learned code of the label; D is a
projection discriminator (Miyato & Koyama 2018): logit = w.h + <embed(y), h>, where h is D's
flattened feature map, so the label enters as an inner product instead of an extra input channel.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from gankit.config import Config
from gankit.errors import GankitError
from gankit.models.dcgan import (
    ConvParams,
    DCGANDiscriminator,
    DCGANGenerator,
    batch_norm_in_d,
    d_width,
    init_weights,
    plan,
)
from gankit.models.dcgan import check as dcgan_check
from gankit.models.spec import MODELS, LabelEmbedding, ModelSpec, label_code

EMBEDDING = 50


class ConditionalGenerator(nn.Module):
    def __init__(self, latent_dim: int, label_sizes: tuple[int, ...], sample_shape, width: int, act: str, slope: float,
                 upsample: str = "transposed"):
        super().__init__()
        self.embed = label_code(label_sizes, EMBEDDING)
        self.net = DCGANGenerator(latent_dim + EMBEDDING, sample_shape, width, act, slope, upsample)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:  # (B, latent), (B, k) label rows
        return self.net(torch.cat([z, self.embed(y)], dim=1))


class ProjectionDiscriminator(nn.Module):
    def __init__(self, label_sizes: tuple[int, ...], sample_shape, width: int, act: str, slope: float, norm: str):
        super().__init__()
        self.net = DCGANDiscriminator(sample_shape, width, act, slope, norm)
        # dcgan's head is not used here: unused parameters stop DistributedDataParallel (--nproc), so it goes, made
        # first all the same so that the weights drawn after it stay what they were
        self.net.head = None
        self.register_load_state_dict_pre_hook(_drop_unused_head)
        (rows, columns), _ = plan(sample_shape)
        # h is D's whole last feature map, as dcgan's head sees it. Pooling it over space, as SNGAN's deep
        # ResNet D does, left this two- or three-layer D blind to where things are: G drew one kind of
        # image per class (recall 0.06 against 0.73 flattened, 3 minutes of --model auto's recipe).
        self.linear = nn.Linear(self.net.channels * rows * columns, 1)
        self.embed = LabelEmbedding(label_sizes, self.net.channels * rows * columns)
        nn.init.normal_(self.embed.weight, 0.0, 0.02)  # start near an unconditional D

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:  # -> logits (B,)
        h = self.net.body(x).flatten(1)  # (B, channels * rows * columns of the last map)
        return self.linear(h).view(-1) + (self.embed(y) * h).sum(dim=1)


def _drop_unused_head(module, state_dict, prefix, *args) -> None:
    """Checkpoints written before 2026-12-02 hold the unused head's weights: they are ignored."""
    state_dict.pop(f"{prefix}net.head.weight", None)


def build(config: Config, sample_shape: tuple[int, ...],
          label_sizes: tuple[int, ...] = ()) -> tuple[nn.Module, nn.Module]:
    if not label_sizes:
        raise GankitError(f"model cgan needs class labels, and {config.data.name} has none "
                          "(use a labelled dataset or a folder with one subfolder per class)")
    p = config.model.params
    g = ConditionalGenerator(config.model.latent_dim, label_sizes, sample_shape, p.width, p.g_activation,
                             p.negative_slope, p.upsample)
    d = ProjectionDiscriminator(label_sizes, sample_shape, d_width(p), p.d_activation, p.negative_slope, p.d_norm)
    g.apply(init_weights)
    d.apply(init_weights)
    return g, d


MODELS.add("cgan", ModelSpec(build=build, params=ConvParams, check=dcgan_check, conditional=True,
                             batch_norm_in_d=batch_norm_in_d, defaults={"train.beta1": 0.5},
                             summary="class-conditional DCGAN with a projection discriminator"))
