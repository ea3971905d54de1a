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
from gankit.models.spec import MODELS, LabelEmbedding, ModelSpec, aux_columns, label_code

EMBEDDING = 50


class ConditionalGenerator(nn.Module):
    def __init__(self, latent_dim: int, label_sizes: tuple[int, ...], sample_shape, width: int, act: str, slope: float,
                 upsample: str = "transposed"):
        super().__init__()
        self.embed = label_code(label_sizes, EMBEDDING)
        self.net = DCGANGenerator(latent_dim + EMBEDDING, sample_shape, width, act, slope, upsample)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:  # (B, latent), (B, k) label rows
        return self.from_code(z, self.embed(y))

    def from_code(self, z: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """Samples for a label code (B, EMBEDDING): a mix of two labels' codes morphs one into the other."""
        return self.net(torch.cat([z, code], dim=1))


class ProjectionDiscriminator(nn.Module):
    def __init__(self, label_sizes: tuple[int, ...], sample_shape, width: int, act: str, slope: float, norm: str,
                 aux_sizes: tuple[int, ...] = ()):
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
        # AC-GAN's auxiliary classifier on the same features, for the conditions D also names (train.aux_conditions):
        # projection alone left notes' pitch at chance after 100 steps (0.02 of 75), with it 0.30 (docs/benchmarks.md)
        self.aux = nn.Linear(self.net.channels * rows * columns, sum(aux_sizes)) if aux_sizes else None

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None, classify: bool = False):
        """logits (B,); with `classify`, (logits, the auxiliary classifier's logits (B, sum of aux sizes))."""
        h = self.net.body(x).flatten(1)  # (B, channels * rows * columns of the last map)
        logits = self.linear(h).view(-1) + (self.embed(y) * h).sum(dim=1)
        return (logits, self.aux(h)) if classify else logits


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
    aux_sizes = tuple(label_sizes[i] for i in aux_columns(config))
    d = ProjectionDiscriminator(label_sizes, sample_shape, d_width(p), p.d_activation, p.negative_slope, p.d_norm,
                                aux_sizes)
    g.apply(init_weights)
    d.apply(init_weights)
    return g, d


MODELS.add("cgan", ModelSpec(build=build, params=ConvParams, check=dcgan_check, conditional=True, auxiliary=True,
                             batch_norm_in_d=batch_norm_in_d, defaults={"train.beta1": 0.5},
                             summary="class-conditional DCGAN with a projection discriminator"))
