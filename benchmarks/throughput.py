"""Throughput: the tutorial's training loop against gankit's trainer, same device, model, batch and data.

    .venv/bin/python benchmarks/throughput.py
    .venv/bin/python benchmarks/throughput.py --models classic --variants fp32,bf16,bf16+compile --repeats 5
    .venv/bin/python benchmarks/throughput.py --device cuda --variants bf16+compile+b1024 --steps 400

Three loops run in one process on Fashion-MNIST, one after another within each repeat (so a drift in
the machine's speed hits them alike), and the median images/s over repeats is reported:

  tutorial  the tutorial's loop, re-implemented faithfully: a DataLoader over a per-sample transform
            (uint8 -> float, normalised to [-1, 1]), Sigmoid + BCELoss, D trained on cat(fake, real)
            with the fakes not detached, a fresh z and a second G forward for the G step, zero_grad(),
            batch 100, Adam 2e-4.
  gankit    gankit's trainer (gankit.train.train) in each variant; images/s from the timestamps it
            writes into metrics.jsonl, after a warm-up that absorbs compilation.
  bare      the variant's bare model step on one batch already in place: forward, backward and Adam
            for D and then G, nothing else. gankit/bare shows the trainer's own overhead.

A variant is "+"-joined tokens: fp32 or bf16 (train.precision), compile (train.compile), graphs (train.compile
in mode reduce-overhead: CUDA graphs), bN (batch size
N for gankit and bare; the tutorial keeps 100), dwN (D's own width, model.d_width: dcgan, cgan, wgan-gp).
Images/s counts real images D consumed. Peak memory is the process's resident set (CPU: VmHWM, reset
before each loop) or torch.cuda.max_memory_allocated.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import torch
import torch.nn as nn

from gankit.data import load_dataset
from gankit.device import resolve_device
from gankit.losses import LOSSES
from gankit.models import MODELS, build_models
from gankit.resolve import resolve_config
from gankit.runs import create_run
from gankit.train import train
from gankit.train.log import LOG_BLOCK
from gankit.train.state import new_state
from gankit.train.steps import StepRules, autocast_dtype, uses_batch_statistics
from gankit.train.trainer import compile_networks, uses_cuda_graphs

TUTORIAL_BATCH = 100


def parse_variant(text: str) -> dict:
    variant = {"precision": "fp32", "compile": False, "compile_mode": "default", "batch": TUTORIAL_BATCH}
    for token in text.split("+"):
        if token in ("fp32", "bf16"):
            variant["precision"] = token
        elif token == "compile":
            variant["compile"] = True
        elif token == "graphs":  # torch.compile's reduce-overhead mode: CUDA graphs on a GPU
            variant["compile"], variant["compile_mode"] = True, "reduce-overhead"
        elif token.startswith("b") and token[1:].isdigit():
            variant["batch"] = int(token[1:])
        elif token.startswith("dw") and token[2:].isdigit():
            variant["d_width"] = int(token[2:])
        else:
            raise SystemExit(f"unknown variant token {token!r} in {text!r}: use fp32, bf16, compile, graphs, bN, dwN")
    return variant


class PeakMemory:
    """Peak memory of what runs inside the block: GPU max allocated, or the process's peak RSS on CPU."""

    def __init__(self, device: torch.device):
        self.device, self.mib = device, 0.0

    def __enter__(self):
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        else:
            Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS (Linux)
        return self

    def __exit__(self, *exc):
        if self.device.type == "cuda":
            self.mib = torch.cuda.max_memory_allocated(self.device) / 2**20
        else:
            status = Path("/proc/self/status").read_text()
            self.mib = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))) / 1024


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ---------------------------------------------------------------------------------------------
# (a) the tutorial's loop


class PerSampleDataset(torch.utils.data.Dataset):
    """What torchvision's MNIST + Compose([ToTensor(), Normalize((0.5,), (0.5,))]) hand the DataLoader."""

    def __init__(self, images_u8: torch.Tensor, labels: torch.Tensor | None):
        self.images, self.labels = images_u8, labels

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        x = self.images[i].float().div(255)  # ToTensor
        x = (x - 0.5) / 0.5  # Normalize
        return x, (int(self.labels[i]) if self.labels is not None else 0)


def tutorial_loop(config, dataset, device: torch.device, warmup: int, steps: int) -> float:
    """The tutorial's loop for `steps` batches after `warmup`; returns images per second."""
    g, d = build_models(config, dataset.sample_shape)
    g, d = g.to(device), nn.Sequential(LogitsOnly(d), nn.Sigmoid()).to(device)
    criterion = nn.BCELoss()
    optimizer_g = torch.optim.Adam(g.parameters(), lr=2e-4)
    optimizer_d = torch.optim.Adam(d.parameters(), lr=2e-4)
    loader = torch.utils.data.DataLoader(PerSampleDataset(dataset.samples, dataset.labels),
                                         batch_size=TUTORIAL_BATCH, shuffle=True)
    latent = config.model.latent_dim
    done, started = 0, None
    while True:
        for i, (images, _) in enumerate(loader):
            if done == warmup:
                sync(device)
                started = time.perf_counter()
            z = torch.randn(images.size(0), latent).to(device)
            fake_images = g(z)
            images = images.to(device)
            combined_images = torch.cat([fake_images, images], dim=0)
            real_labels = torch.ones(images.size(0), 1).to(device)
            fake_labels = torch.zeros(images.size(0), 1).to(device)
            combined_labels = torch.cat([fake_labels, real_labels], dim=0)
            d.zero_grad()
            d_loss = criterion(d(combined_images), combined_labels)
            d_loss.backward()
            optimizer_d.step()
            g.zero_grad()
            z = torch.randn(images.size(0), latent).to(device)
            fake_images = g(z)
            g_loss = criterion(d(fake_images), real_labels)
            g_loss.backward()
            optimizer_g.step()
            if i % 100 == 0:
                print(f"    tutorial step {i}: d_loss {d_loss.item():.4f}, g_loss {g_loss.item():.4f}", file=sys.stderr)
            done += 1
            if done == warmup + steps:
                sync(device)
                return steps * TUTORIAL_BATCH / (time.perf_counter() - started)


class LogitsOnly(nn.Module):
    """gankit's D takes (x, labels) and returns (B,) logits; the tutorial calls D(x) and gets (B, 1)."""

    def __init__(self, d: nn.Module):
        super().__init__()
        self.d = d

    def forward(self, x):
        return self.d(x).view(-1, 1)


# ---------------------------------------------------------------------------------------------
# (b) gankit's trainer


def trainer_loop(config, device: torch.device, warmup: int, steps: int) -> float:
    """gankit.train.train for warmup + steps G steps; images/s between the timestamps of two log rows.

    Rows are stamped when a step is queued; right after a LOG_BLOCK flush (which waits for the device),
    so rows warmup + 1 and warmup + steps + 1, both one past a flush, time exactly `steps` steps.
    """
    assert warmup % LOG_BLOCK == 0 and steps % LOG_BLOCK == 0, f"warm-up and steps must be multiples of {LOG_BLOCK}"
    with tempfile.TemporaryDirectory() as tmp:
        run = create_run(tmp, "throughput", config)
        train(config, run, progress=False)
        rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    first, last = rows[warmup], rows[warmup + steps]
    return (last["images_seen"] - first["images_seen"]) / (last["seconds"] - first["seconds"])


# ---------------------------------------------------------------------------------------------
# (c) the bare model step


def bare_loop(config, dataset, device: torch.device, warmup: int, steps: int) -> float:
    """n_critic D steps then one G step, on one real batch already in place; no penalties, stats or logs."""
    t = config.train
    classes = len(dataset.classes) if MODELS.get(config.model.name).conditional else 0
    state = new_state(config, dataset.sample_shape, device, classes)  # the trainer's networks, layout and Adam
    g, d, opt_g, opt_d = state.g, state.d, state.opt_g, state.opt_d
    if t.compile:
        compile_networks(g, d, device, double_backward=False, mode=t.compile_mode)
    loss = LOSSES.get(t.loss)
    precision = partial(StepRules(loss=loss, autocast=autocast_dtype(t.precision)).forward_precision, device)

    real = dataset.samples[: t.batch_size].to(device).float().div(127.5).sub(1)
    # a conditional model's fakes take the real batch's labels (None for the others, which ignore them)
    y = dataset.labels[: t.batch_size].to(device) if classes else None
    both = torch.cat([y, y]) if classes else None
    joint = not uses_batch_statistics(d)
    graphs = uses_cuda_graphs(t, device)
    for i in range(warmup + steps):
        if i == warmup:
            sync(device)
            started = time.perf_counter()
        if graphs:  # as the trainer: the previous step's graph outputs are done with
            torch.compiler.cudagraph_mark_step_begin()
        for critic_step in range(t.n_critic):
            g_turn = critic_step == t.n_critic - 1
            z = torch.randn(t.batch_size, config.model.latent_dim, device=device)
            with precision(), torch.set_grad_enabled(g_turn):
                fake = g(z, y)
            with precision():
                if joint:  # as gankit's d_step: one pass over real + fake where D has no batch statistics
                    real_logits, fake_logits = d(torch.cat([real, fake.detach()]), both).split(len(real))
                else:
                    real_logits, fake_logits = d(real, y), d(fake.detach(), y)
            d_loss = loss.d(real_logits.float(), fake_logits.float())
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
        d.requires_grad_(False)
        with precision():
            g_loss = loss.g(d(fake, y).float())
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        d.requires_grad_(True)
    sync(device)
    return steps * t.n_critic * t.batch_size / (time.perf_counter() - started)


# ---------------------------------------------------------------------------------------------


def measure(model: str, args: argparse.Namespace, device: torch.device, variants: list[str], report: dict) -> None:
    """Every loop for one model, repeated; prints the table and adds the numbers to `report`."""
    data = {"data.image_size": args.image_size} if args.image_size else {}

    def config_for(variant: dict):
        return resolve_config(overrides={
            "model.name": model, "train.device": args.device, **data,
            "train.precision": variant["precision"], "train.compile": variant["compile"],
            "train.compile_mode": variant["compile_mode"],
            "train.batch_size": variant["batch"], "train.max_steps": args.warmup + args.steps + 1,
            "train.epochs": 10_000, "train.sample_count": 16,
            **({"model.d_width": variant["d_width"]} if "d_width" in variant else {})})

    base = config_for(parse_variant("fp32"))
    dataset = load_dataset(base.data)
    loops: dict[str, callable] = {}
    if not args.no_tutorial:
        loops["tutorial"] = lambda: tutorial_loop(base, dataset, device, args.warmup, args.steps)
    for name in variants:
        config = config_for(parse_variant(name))
        loops[f"gankit {name}"] = lambda c=config: trainer_loop(c, device, args.warmup, args.steps)
        if not args.no_bare:
            loops[f"bare {name}"] = lambda c=config: bare_loop(c, dataset, device, args.warmup, args.steps)
    measured: dict[str, list] = {name: [] for name in loops}
    peaks: dict[str, float] = {}
    for repeat in range(args.repeats):
        for name, loop in loops.items():
            with PeakMemory(device) as peak:
                measured[name].append(loop())
            peaks[name] = max(peaks.get(name, 0.0), peak.mib)
            print(f"{model} repeat {repeat + 1}/{args.repeats}: {name:<28} {measured[name][-1]:9.0f} img/s",
                  file=sys.stderr, flush=True)
    medians = {name: statistics.median(values) for name, values in measured.items()}
    report["models"][model] = {"images_per_s": measured, "median": medians, "peak_mib": peaks}
    # the ratios' baseline: the tutorial's loop, or without it the first variant
    against = "tutorial" if "tutorial" in medians else next(iter(medians))
    baseline = medians[against]
    where = report.get("gpu", f"{report['threads']} threads")
    print(f"\n{model} on {device.type} ({where}), "
          f"median of {args.repeats}, {args.steps} steps each")
    print(f"| loop | images/s | vs {against} | vs bare step | peak memory (MiB) |\n|---|---|---|---|---|")
    for name, value in medians.items():
        ratio = f"{value / baseline:.2f}x"
        bare = medians.get(name.replace("gankit", "bare")) if name.startswith("gankit") else None
        overhead = f"{value / bare:.2f}" if bare else "-"
        print(f"| {name} | {value:,.0f} | {ratio} | {overhead} | {peaks[name]:,.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="classic,dcgan")
    parser.add_argument("--variants", default="fp32,bf16", help="gankit variants, e.g. fp32,bf16,bf16+compile+b1024")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=200, help="timed steps per loop (a multiple of 25)")
    parser.add_argument("--warmup", type=int, default=25, help="untimed steps first (a multiple of 25)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--image-size", type=int, help="resize the data (e.g. 64 for dcgan, 32 for sngan)")
    parser.add_argument("--no-tutorial", action="store_true", help="skip the tutorial loop (e.g. for sngan)")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare step (halves the time: the trainer alone)")
    parser.add_argument("--json", help="write all measurements to this file")
    args = parser.parse_args()
    device = resolve_device(args.device)
    variants = [v.strip() for v in args.variants.split(",")]
    report = {"device": device.type, "torch": torch.__version__, "threads": torch.get_num_threads(),
              "steps": args.steps, "repeats": args.repeats, "models": {}}
    if device.type == "cuda":
        report["gpu"] = torch.cuda.get_device_name(device)
    for model in args.models.split(","):
        measure(model, args, device, variants, report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
