"""WaveGAN's training speed by width and precision, and phase shuffle vectorised against a per-sample loop.

    .venv/bin/python benchmarks/wavegan.py
    .venv/bin/python benchmarks/wavegan.py --widths 16,64 --precisions fp32,bf16 --repeats 5 --device cuda

One G step here is what the trainer does for it: n_critic (5) D steps with the gradient penalty, then
one G step, at batch 64 on 16384-sample clips, through gankit's own d_step and g_step on the trainer's
networks and Adam. Clips are random (speed does not depend on what they say). Each repeat runs every
variant once, one after another (so a drift in the machine's speed hits them alike); the table gives
the median G steps/s and clips/s (real clips D consumes) and the ratio to the first variant, which is
the paper's width 64 in fp32 unless --widths leaves it out.

Phase shuffle: the layer as gankit runs it (one gather per batch) against the loop of a known PyTorch
port (one pad-and-slice per clip), on D's first feature map (batch 64, width 16: 16 x 4096).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from step_speed import g_steps_per_second, parameters, sync

from gankit.device import resolve_device
from gankit.models.wavegan import phase_shuffle
from gankit.resolve import resolve_config
from gankit.train.state import new_state


def wavegan_speed(width: int, precision: str, device: torch.device, steps: int, batch: int) -> float:
    config = resolve_config(overrides={"model.name": "wavegan", "model.width": width, "train.precision": precision,
                                       "data.name": "spoken-digits", "train.batch_size": batch}, saved=True)
    return g_steps_per_second(config, torch.rand(batch, 1, 16384, device=device) * 2 - 1, device, steps)


def loop_shuffle(x: torch.Tensor, shifts: torch.Tensor, radius: int) -> torch.Tensor:
    """The per-sample loop: pad and slice each clip on its own."""
    out = []
    for clip, k in zip(x, shifts.tolist()):
        padded = F.pad(clip[None], (radius, radius), mode="reflect")[0]
        out.append(padded[:, radius - k : radius - k + x.shape[-1]])
    return torch.stack(out)


def shuffle_seconds(device: torch.device, repeats: int) -> tuple[float, float]:
    x = torch.randn(64, 16, 4096, device=device)
    shifts = torch.randint(-2, 3, (64,), device=device)
    assert torch.equal(phase_shuffle(x, shifts, 2), loop_shuffle(x, shifts, 2))
    timings = {}
    for name, fn in (("gather", phase_shuffle), ("loop", loop_shuffle)):
        runs = []
        for _ in range(repeats):
            sync(device)
            started = time.perf_counter()
            for _ in range(20):
                fn(x, shifts, 2)
            sync(device)
            runs.append((time.perf_counter() - started) / 20)
        timings[name] = statistics.median(runs)
    return timings["gather"], timings["loop"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--widths", default="64,32,16,8")
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument("--steps", type=int, default=2, help="timed G steps per repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    device = resolve_device(args.device)
    variants = [(int(w), p) for w in args.widths.split(",") for p in args.precisions.split(",")]
    runs: dict[tuple[int, str], list[float]] = {v: [] for v in variants}
    for _ in range(args.repeats):
        for width, precision in variants:
            runs[(width, precision)].append(wavegan_speed(width, precision, device, args.steps, args.batch))
    print(f"device {device}, torch {torch.__version__}, batch {args.batch}, 16384-sample clips, WGAN-GP, 5 critic "
          f"steps per G step; median of {args.repeats} repeats of {args.steps} G steps")
    base = statistics.median(runs[variants[0]])
    print(f"{'width':>6} {'precision':>9} {'G params':>9} {'G steps/s':>10} {'clips/s':>8} {'vs first':>9}")
    for width, precision in variants:
        rate = statistics.median(runs[(width, precision)])
        config = resolve_config(overrides={"model.name": "wavegan", "model.width": width,
                                           "data.name": "spoken-digits"}, saved=True)
        params = parameters(new_state(config, (1, 16384), torch.device("cpu")).g)
        print(f"{width:>6} {precision:>9} {params / 1e6:>8.2f}M {rate:>10.3f} {rate * args.batch * 5:>8.0f} "
              f"{rate / base:>8.2f}x")
    gather, loop = shuffle_seconds(device, args.repeats)
    print(f"phase shuffle, batch 64 x 16 x 4096: gather {gather * 1e3:.3f} ms, per-clip loop {loop * 1e3:.3f} ms "
          f"({loop / gather:.1f}x)")


if __name__ == "__main__":
    main()
