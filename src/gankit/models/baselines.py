"""Text baselines trained by maximum likelihood instead of a game: a character GRU language model (`charlm`) and
a character n-gram model (`ngram`; order 1 is the unigram sampler). Caccia et al. 2020 ("Language GANs falling
short") found such models, swept over sampling temperature, ahead of text GANs on quality and diversity
together; gankit trains them on the same data so a user sees where textgan stands.

Both are generators in gankit's sense: G(z) is one sample, written left to right, the character at position t
drawn from the model's distribution (sharpened or flattened by the temperature) by inverse-CDF sampling at
u_t = Phi(z_t), the normal CDF of z's t-th coordinate. A seed picks a sample as it does for a GAN, so `gankit
sample`, `eval`, `interpolate` and the report work unchanged. They have no D: `gankit train` fits them with
gankit.train.likelihood, not with the GAN trainer.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
import torch.nn as nn
import torch.nn.functional as F

from gankit.config import MAX_WIDTH, Config, TrainConfig, opt, require
from gankit.errors import GankitError
from gankit.modalities.text import PAD, one_hot
from gankit.models.spec import MODELS, ModelSpec

# the n-gram tables hold vocabulary ** order counts: beyond this they no longer fit in memory comfortably
MAX_TABLE = 2**24


def draw(probs: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Inverse-CDF sampling: (B, V) distributions, (B,) uniforms -> (B,) ids."""
    cdf = probs.cumsum(dim=1)
    # the first id whose CDF reaches u, counted rather than searched (torch.searchsorted): the same ids, as the
    # CDF never decreases, and a graph that ONNX and TorchScript export
    return (cdf < (u * cdf[:, -1])[:, None]).sum(dim=1).clamp(max=probs.shape[1] - 1)


def sharpen(probs: torch.Tensor, temperature: float) -> torch.Tensor:
    """p ** (1 / T), normalised: T < 1 favours likely characters, T > 1 flattens the distribution."""
    probs = probs.double().pow(1.0 / temperature)
    return (probs / probs.sum(dim=1, keepdim=True)).float()


def uniforms(z: torch.Tensor, seq_len: int) -> torch.Tensor:
    """(B, latent) Gaussian z -> (B, seq_len) uniforms in (0, 1), one per position."""
    # in float32: onnxruntime has no double-precision erf, and a graph that computed u otherwise than torch could
    # draw another character where u falls within a rounding error of a CDF step
    return torch.special.ndtr(z[:, :seq_len].float()).clamp(min=1e-12)


def predicted(ids: torch.Tensor) -> torch.Tensor:
    """bool (N, L): the positions a model predicts, an item's characters and its end (the first padding)."""
    return torch.cat([torch.ones_like(ids[:, :1], dtype=torch.bool), ids[:, :-1] != PAD], dim=1)


def end_at_first_pad(ids: torch.Tensor) -> torch.Tensor:
    """Padding after an item's first padding id: what is drawn after the end is not part of the item."""
    ended = (ids == PAD).int().cumsum(dim=1) > 0
    return ids.masked_fill(ended, PAD)


@dataclass(frozen=True)
class CharLMParams:
    width: int = opt(256, "hidden units of the GRU")
    layers: int = opt(1, "stacked GRU layers")
    temperature: float = opt(1.0, "sampling temperature: below 1 safer, more common text; above 1 more varied")


class CharLM(nn.Module):
    """A GRU reading the previous character (padding id as the start) and predicting the next one; an item
    ends where it predicts padding."""

    def __init__(self, vocabulary: int, seq_len: int, width: int, layers: int, temperature: float):
        super().__init__()
        self.seq_len, self.temperature = seq_len, temperature
        self.embed = nn.Embedding(vocabulary, width)
        self.rnn = nn.GRU(width, width, num_layers=layers, batch_first=True)
        self.head = nn.Linear(width, vocabulary)

    def nll(self, ids: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood (nats per character) of int (B, L) items, their end (padding) included."""
        start = torch.full_like(ids[:, :1], PAD)
        logits = self.head(self.rnn(self.embed(torch.cat([start, ids[:, :-1]], dim=1)))[0])  # (B, L, V)
        counted = predicted(ids)  # what follows the end is not predicted
        return F.cross_entropy(logits[counted], ids[counted])

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:  # (B, latent) -> (B, V, L)
        u = uniforms(z, self.seq_len)
        previous, hidden, ids = torch.full_like(z[:, 0], PAD, dtype=torch.long), None, []
        for t in range(self.seq_len):
            out, hidden = self.rnn(self.embed(previous)[:, None], hidden)
            previous = draw(sharpen(torch.softmax(self.head(out[:, 0]).float(), dim=1), self.temperature), u[:, t])
            ids.append(previous)
        return one_hot(end_at_first_pad(torch.stack(ids, dim=1)), self.head.out_features)


@dataclass(frozen=True)
class NgramParams:
    order: int = opt(4, "n: each character is drawn given the n - 1 before it (1: the unigram sampler)")
    temperature: float = opt(1.0, "sampling temperature: below 1 safer, more common text; above 1 more varied")


class Ngram(nn.Module):
    """Counts of every (context, next character) for context lengths 0 .. order - 1; a character is drawn from
    the longest context seen in training (backing off to shorter ones), the start padded with padding ids."""

    def __init__(self, vocabulary: int, seq_len: int, order: int, temperature: float):
        super().__init__()
        self.vocabulary, self.seq_len, self.order, self.temperature = vocabulary, seq_len, order, temperature
        for k in range(order):  # counts_k: (V ** k contexts, V next characters)
            self.register_buffer(f"counts_{k}", torch.zeros(vocabulary**k, vocabulary))

    def table(self, k: int) -> torch.Tensor:
        return getattr(self, f"counts_{k}")

    def context_index(self, padded: torch.Tensor, t: int, k: int) -> torch.Tensor:
        """Index of the k characters before position t of (B, order - 1 + L) left-padded ids."""
        index = torch.zeros_like(padded[:, 0])
        for j in range(k):
            index = index * self.vocabulary + padded[:, self.order - 1 + t - k + j]
        return index

    def next_counts(self, padded: torch.Tensor, t: int) -> torch.Tensor:
        """(B, V) counts of the character at position t after each left-padded context, from the longest
        context seen in training."""
        counts = self.table(0).expand(padded.shape[0], -1)
        for k in range(1, self.order):
            rows = self.table(k)[self.context_index(padded, t, k)]
            counts = torch.where(rows.sum(dim=1, keepdim=True) > 0, rows, counts)
        return counts

    @torch.no_grad()
    def fit(self, ids: torch.Tensor) -> None:
        """Count the n-grams of int (N, L) items, their end (padding) included."""
        padded, counted = F.pad(ids, (self.order - 1, 0), value=PAD), predicted(ids)
        for t in range(self.seq_len):
            keep = counted[:, t]
            for k in range(self.order):
                index = self.context_index(padded[keep], t, k) * self.vocabulary + padded[keep, self.order - 1 + t]
                self.table(k).view(-1).index_add_(0, index, torch.ones_like(index, dtype=torch.float))

    @torch.no_grad()
    def nll(self, ids: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood (nats per character) of int (N, L) items, as CharLM.nll (no temperature)."""
        padded, counted = F.pad(ids, (self.order - 1, 0), value=PAD), predicted(ids)
        total = torch.zeros((), dtype=torch.float64, device=ids.device)
        for t in range(self.seq_len):
            keep = counted[:, t]
            counts = self.next_counts(padded[keep], t)
            chosen = counts.gather(1, ids[keep, t][:, None])[:, 0] / counts.sum(dim=1).clamp_min(1)
            total -= chosen.double().clamp_min(1e-12).log().sum()
        return (total / counted.sum()).float()

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:  # (B, latent) -> (B, V, L)
        """One item per z; a model never fitted (no counts) writes empty items."""
        u = uniforms(z, self.seq_len)
        padded = torch.full_like(z[:, :1], PAD, dtype=torch.long).repeat(1, self.order - 1 + self.seq_len)
        for t in range(self.seq_len):
            counts = self.next_counts(padded, t)
            padded[:, self.order - 1 + t] = draw(sharpen(counts / counts.sum(dim=1, keepdim=True), self.temperature),
                                                 u[:, t])
        return one_hot(end_at_first_pad(padded[:, self.order - 1 :]), self.vocabulary)


def build_charlm(config: Config, sample_shape: tuple[int, ...],
                 label_sizes: tuple[int, ...] = ()) -> tuple[nn.Module, None]:
    p, (vocabulary, seq_len) = config.model.params, sample_shape
    return CharLM(vocabulary, seq_len, p.width, p.layers, p.temperature), None


def build_ngram(config: Config, sample_shape: tuple[int, ...],
                label_sizes: tuple[int, ...] = ()) -> tuple[nn.Module, None]:
    p, (vocabulary, seq_len) = config.model.params, sample_shape
    return Ngram(vocabulary, seq_len, p.order, p.temperature), None


# what the GAN trainer does and a likelihood model has no use for: set, they would silently do nothing
GAN_ONLY = ("loss", "n_critic", "ema_decay", "augment", "r1_gamma", "gp_weight", "eval_every", "compile",
            "compile_mode", "sync_batchnorm", "on_nan")


def check_text_drawn_from_z(config: Config, sample_shape: tuple[int, ...]) -> None:
    """For a model that writes text drawing each character from one coordinate of z (uniforms): text data, and a z
    with a coordinate for every character."""
    name = config.model.name
    if len(sample_shape) != 2:
        raise GankitError(f"model {name} makes text, and {config.data.name} holds samples of shape {sample_shape}")
    seq_len = sample_shape[1]
    if config.model.latent_dim < seq_len:
        raise GankitError(f"model.latent_dim {config.model.latent_dim} is below the {seq_len} characters of an item: "
                          f"{name} draws each character from one coordinate of z; pass --latent-dim {seq_len}")


def check(config: Config, sample_shape: tuple[int, ...]) -> None:
    p, name = config.model.params, config.model.name
    defaults = {f.name: f.default for f in fields(TrainConfig)}
    for key in GAN_ONLY:
        require(getattr(config.train, key) == defaults[key], f"train.{key}",
                f"is for GANs, and {name} is trained by maximum likelihood (no D); leave it out", getattr(config.train, key))
    require(0.05 <= p.temperature <= 20, "model.temperature", "must be in 0.05..20", p.temperature)
    check_text_drawn_from_z(config, sample_shape)
    vocabulary = sample_shape[0]
    if name == "charlm":
        require(1 <= p.width <= MAX_WIDTH, "model.width", f"must be in 1..{MAX_WIDTH}", p.width)
        require(1 <= p.layers <= 16, "model.layers", "must be in 1..16", p.layers)
    else:
        require(1 <= p.order <= 8, "model.order", "must be in 1..8", p.order)
        if vocabulary**p.order > MAX_TABLE:
            raise GankitError(f"an order-{p.order} model of {vocabulary} symbols needs {vocabulary}**{p.order} counts, "
                              f"more than {MAX_TABLE:,}; lower --set model.order")


DEFAULTS = {"train.batch_size": 64, "train.lr_g": 2e-3, "train.sample_count": 32, "model.latent_dim": 128}
MODELS.add("charlm", ModelSpec(build=build_charlm, params=CharLMParams, check=check, defaults=DEFAULTS,
                               modalities=("text",), likelihood=True,
                               summary="baseline: a character GRU language model, trained by maximum likelihood"))
MODELS.add("ngram", ModelSpec(build=build_ngram, params=NgramParams, check=check, defaults=DEFAULTS,
                              modalities=("text",), likelihood=True,
                              summary="baseline: character n-gram counts (order 1: unigram), sampled left to right"))
