"""`arae`: text by a GAN played in a continuous space (Zhao et al. 2018, "Adversarially Regularized Autoencoders").

No gradient passes through drawing a character, which is why a GAN on characters (textgan) learns slowly. ARAE
plays the game where gradients flow: an autoencoder learns, by maximum likelihood (fast), to write an item back
from a code on the unit sphere; G learns to make codes from z, and a critic tells G's codes from the encoder's
(WGAN-GP on small MLPs: fast). The critic's verdict on the encoder's codes also reaches the encoder, scaled down
and reversed: the codes of real items are drawn toward what G can make (the "adversarial regularisation").
A sample is decode(G(z)).

The parts, as gankit holds them: G = the mapping from z to a code (`mapping`) and the decoder (what a sample needs, and all an exported
bundle carries besides the encoder), D = the critic on codes. The encoder sits in G too: the autoencoder's step
trains it with the decoder, from G's optimizer.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from gankit.config import MAX_WIDTH, Config, opt, require
from gankit.modalities.text import PAD, one_hot
from gankit.models.baselines import check_text_drawn_from_z, draw, end_at_first_pad, predicted, sharpen, uniforms
from gankit.models.spec import MODELS, ModelSpec, frozen, grad_norm
from gankit.regularizers import gradient_penalty

# the autoencoder's gradients are clipped to this norm, as ARAE's are
AE_CLIP = 1.0


@dataclass(frozen=True)
class ARAEParams:
    width: int = opt(256, "hidden units of the encoder's and decoder's GRUs, and the size of a code")
    mlp_width: int = opt(256, "hidden units of G's and the critic's two hidden layers")
    embedding: int = opt(64, "size of a character's embedding in the encoder and the decoder")
    noise: float = opt(0.1, "std of the Gaussian noise added to the encoder's codes while the autoencoder trains")
    lr_ae: float = opt(1e-3, "Adam learning rate of the autoencoder")
    critic_to_encoder: float = opt(0.1, "scale of the critic's gradient that reaches the encoder (0: none)")
    temperature: float = opt(0.0, "sampling temperature of the decoder: 0 writes the likeliest character "
                                  "(greedy), above 0 draws each one (below 1 safer, above 1 more varied)")


class Encoder(nn.Module):
    """Items (B, L) of character ids -> codes (B, width) on the unit sphere: the GRU's state at the item's end."""

    def __init__(self, vocabulary: int, embedding: int, width: int):
        super().__init__()
        self.embed = nn.Embedding(vocabulary, embedding)
        self.rnn = nn.GRU(embedding, width, batch_first=True)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        states, _ = self.rnn(self.embed(ids))  # (B, L, width)
        # the state after the item's last character, before its first padding (an item as long as L: at L - 1)
        last = ((ids != PAD).long().cumprod(dim=1).sum(dim=1) - 1).clamp(min=0)
        code = states[torch.arange(len(ids), device=ids.device), last]
        return F.normalize(code, dim=1)


class Decoder(nn.Module):
    """A GRU that writes an item from a code: the code starts its state and is read again at every step."""

    def __init__(self, vocabulary: int, seq_len: int, embedding: int, width: int):
        super().__init__()
        self.seq_len = seq_len
        self.embed = nn.Embedding(vocabulary, embedding)
        self.start = nn.Linear(width, width)
        self.rnn = nn.GRU(embedding + width, width, batch_first=True)
        self.head = nn.Linear(width, vocabulary)

    def nll(self, code: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood (nats per character) of items (B, L) given their codes, teacher-forced,
        the end (first padding) included."""
        previous = torch.cat([torch.full_like(ids[:, :1], PAD), ids[:, :-1]], dim=1)
        steps = torch.cat([self.embed(previous), code[:, None].expand(-1, ids.shape[1], -1)], dim=2)
        states, _ = self.rnn(steps, torch.tanh(self.start(code))[None].contiguous())
        logits = self.head(states)  # (B, L, V)
        counted = predicted(ids)
        return F.cross_entropy(logits[counted].float(), ids[counted])

    def write(self, code: torch.Tensor, u: torch.Tensor, temperature: float) -> torch.Tensor:
        """Codes (B, width) -> ids (B, L): the likeliest character at each step (temperature 0), or one drawn at
        the uniforms u (B, L)."""
        hidden = torch.tanh(self.start(code))[None].contiguous()
        previous, ids = torch.full_like(code[:, 0], PAD, dtype=torch.long), []
        for t in range(self.seq_len):
            out, hidden = self.rnn(torch.cat([self.embed(previous), code], dim=1)[:, None], hidden)
            probs = torch.softmax(self.head(out[:, 0]).float(), dim=1)
            previous = probs.argmax(dim=1) if temperature == 0 else draw(sharpen(probs, temperature), u[:, t])
            ids.append(previous)
        return end_at_first_pad(torch.stack(ids, dim=1))


def mlp(inputs: int, width: int, outputs: int, hidden: nn.Module, norm: bool) -> nn.Sequential:
    """Two hidden layers (ARAE's G: with BatchNorm, ReLU; its critic: LeakyReLU(0.2), no normalisation)."""
    layers: list[nn.Module] = []
    for size_in in (inputs, width):
        layers += [nn.Linear(size_in, width), *([nn.BatchNorm1d(width)] if norm else []), hidden]
    return nn.Sequential(*layers, nn.Linear(width, outputs))


class ARAEGenerator(nn.Module):
    """G(z) -> text (B, V, L) one-hot: decode(code(z)). Also holds the encoder, which the autoencoder's step
    trains with the decoder."""

    greedy = True  # temperature 0 writes the likeliest character at every step

    def __init__(self, latent_dim: int, vocabulary: int, seq_len: int, p: ARAEParams):
        super().__init__()
        self.vocabulary, self.seq_len, self.temperature, self.params = vocabulary, seq_len, p.temperature, p
        self.mapping = mlp(latent_dim, p.mlp_width, p.width, nn.ReLU(), norm=True)
        self.encoder = Encoder(vocabulary, p.embedding, p.width)
        self.decoder = Decoder(vocabulary, seq_len, p.embedding, p.width)

    def autoencoder_parameters(self) -> list[nn.Parameter]:
        return [*self.encoder.parameters(), *self.decoder.parameters()]

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:  # (B, latent) -> (B, V, L)
        # the draws read z's last seq_len coordinates (z's first ones, as the baselines read, feed the code as well)
        ids = self.decoder.write(self.mapping(z), uniforms(z[:, -self.seq_len:], self.seq_len), self.temperature)
        return one_hot(ids, self.vocabulary)


class CodeCritic(nn.Module):
    """D: codes (B, width) -> one score each (WGAN critic)."""

    def __init__(self, p: ARAEParams):
        super().__init__()
        self.net = mlp(p.width, p.mlp_width, 1, nn.LeakyReLU(0.2), norm=False)

    def forward(self, code: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(code).view(-1)


def code_game(state, real: torch.Tensor, z: torch.Tensor, rules, g_turn: bool) -> dict:
    """One critic step on codes, and on G's turn the autoencoder's step and G's (the trainer's steps 2-5).

    `real` is the batch as the text modality gives it, one-hot (B, V, L). The critic's loss is the run's
    (train.loss, WGAN-GP by default) on its scores of the encoder's codes and G's; its gradient reaches the encoder
    reversed and scaled by model.critic_to_encoder. Random draws come from the run's noise generator, for the global
    batch, so a resumed run and a run in several processes draw the same."""
    g, critic, p, replicas = state.g, state.d, state.g.params, rules.replicas
    ids = real.argmax(dim=1)
    with rules.forward_precision(real.device):
        codes = g.encoder(ids)
        if p.critic_to_encoder > 0:
            codes.register_hook(lambda grad: -p.critic_to_encoder * grad)
        with torch.no_grad():
            fake = g.mapping(z)                                                                               # 2
        real_scores, fake_scores = critic(codes).float(), critic(fake).float()
    d_loss = rules.loss.d(real_scores, fake_scores)                                                        # 3
    stats = {"d_loss": d_loss.detach()}
    if rules.gp_weight > 0:
        mix = replicas.local(torch.rand(len(ids) * replicas.world, device=ids.device, generator=state.noise))
        penalty = gradient_penalty(critic, codes.detach().float(), fake.float(), mix)
        d_loss = d_loss + rules.gp_weight * penalty
        stats["gp"] = penalty.detach()
    state.opt_g.zero_grad(set_to_none=True)
    state.opt_d.zero_grad(set_to_none=True)
    d_loss.backward()                                                                                      # 4
    replicas.average_gradients(critic)
    replicas.average_gradients(g)  # the encoder's share
    stats["d_grad_norm"] = grad_norm(critic)
    state.opt_d.step()
    if p.critic_to_encoder > 0:
        state.opt_g.step()  # only the encoder has gradients: G's mapping and the decoder are left as they are
    stats["d_real"] = rules.loss.beliefs(real_scores.detach())
    stats["d_fake"] = rules.loss.beliefs(fake_scores.detach())
    if not g_turn:
        return stats
    # the autoencoder: each item written back from its code, noised
    noise = replicas.local(torch.randn(len(ids) * replicas.world, codes.shape[1], device=ids.device,
                                       generator=state.noise))
    with rules.forward_precision(real.device):
        ae_loss = g.decoder.nll(g.encoder(ids) + p.noise * noise, ids)
    state.opt_g.zero_grad(set_to_none=True)
    ae_loss.backward()
    replicas.average_gradients(g)
    nn.utils.clip_grad_norm_(g.autoencoder_parameters(), AE_CLIP)
    state.opt_g.step()
    # G against the fixed critic, on the same z                                                            # 5
    with frozen(critic), rules.forward_precision(real.device):
        g_loss = rules.loss.g(critic(g.mapping(z)).float())
    state.opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    replicas.average_gradients(g)
    stats |= {"g_loss": g_loss.detach(), "g_grad_norm": grad_norm(g), "ae_loss": ae_loss.detach()}
    state.opt_g.step()
    return stats


def g_param_groups(g: ARAEGenerator, p: ARAEParams) -> list[dict]:
    """The mapping from z to codes at train.lr_g with the game's betas; the autoencoder at model.lr_ae with Adam's usual
    betas (the game's 0.5 is for an adversary that moves; the autoencoder's target does not)."""
    return [{"params": list(g.mapping.parameters())},
            {"params": g.autoencoder_parameters(), "lr": p.lr_ae, "betas": (0.9, 0.999)}]


def build(config: Config, sample_shape: tuple[int, ...],
          label_sizes: tuple[int, ...] = ()) -> tuple[nn.Module, nn.Module]:
    p, (vocabulary, seq_len) = config.model.params, sample_shape
    return ARAEGenerator(config.model.latent_dim, vocabulary, seq_len, p), CodeCritic(p)


def check(config: Config, sample_shape: tuple[int, ...]) -> None:
    p = config.model.params
    for key in ("width", "mlp_width", "embedding"):
        require(1 <= getattr(p, key) <= MAX_WIDTH, f"model.{key}", f"must be in 1..{MAX_WIDTH}", getattr(p, key))
    require(0 <= p.noise <= 10, "model.noise", "must be in 0..10", p.noise)
    require(0 < p.lr_ae <= 1, "model.lr_ae", "must be in (0, 1]", p.lr_ae)
    require(0 <= p.critic_to_encoder <= 10, "model.critic_to_encoder", "must be in 0..10", p.critic_to_encoder)
    require(p.temperature == 0 or 0.05 <= p.temperature <= 20, "model.temperature", "must be 0 (greedy) or in "
            "0.05..20", p.temperature)
    t = config.train
    require(t.r1_gamma == 0, "train.r1_gamma", "is not for arae (its critic judges codes; use the gradient penalty)",
            t.r1_gamma)
    require(not t.compile, "train.compile", "is not for arae: its steps call the networks' parts, which torch.compile "
            "of whole networks does not reach", t.compile)
    check_text_drawn_from_z(config, sample_shape)


# ARAE's game in code space: WGAN-GP, 5 critic steps per G step, Adam (0.5, 0.9), z of 100, batch 64
DEFAULTS = {"train.loss": "wgan-gp", "train.n_critic": 5, "train.lr_g": 1e-4, "train.lr_d": 1e-4,
            "train.beta1": 0.5, "train.beta2": 0.9, "train.batch_size": 64, "model.latent_dim": 100,
            "train.sample_count": 32}
MODELS.add("arae", ModelSpec(build=build, params=ARAEParams, check=check, defaults=DEFAULTS, modalities=("text",),
                             game=code_game, g_param_groups=g_param_groups, summary="ARAE: an autoencoder on text and a WGAN-GP on its codes; decode(G(z))"))
