"""G's resize doubling (`model.upsample=resize`) computed as one transposed convolution (gankit.models.dcgan.ResizeConv)
against what it computes, nearest-neighbour upsampling then a 3x3 convolution, and DCGAN's own transposed G, at the
colour recipe of `--model auto` (64 px RGB, width 32, batch 50; 28-px grey at width 64 with --image-size 28).

    .venv/bin/python benchmarks/resize_conv.py [--repeats 5] [--steps 10] [--image-size 64]

Rows, medians over the repeats (the three ways alternate within a repeat): G's forward pass without gradients
(sampling), G's forward and backward pass, and whole training steps per second (the trainer's d_step and g_step,
dcgan's nets and Adam: benchmarks/step_speed.py); then each row's ratio to upsampling's. First, the largest
difference between the two resize ways' samples (the same weights): they compute the same numbers to rounding.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from step_speed import g_steps_per_second

from gankit.models.dcgan import ResizeConv
from gankit.resolve import resolve_config
from gankit.train.state import new_state


def upsample_then_conv(self: ResizeConv, x: torch.Tensor) -> torch.Tensor:
    """What ResizeConv stands for, step by step: the 4x map, then the 3x3 convolution on it."""
    return F.conv2d(F.interpolate(x, scale_factor=2, mode="nearest"), self.weight, padding=1)


WAYS = {"upsample then conv": ("resize", upsample_then_conv), "resize conv": ("resize", ResizeConv.forward),
        "transposed (dcgan)": ("transposed", ResizeConv.forward)}


def milliseconds(work, repeats: int) -> float:
    work()
    started = time.perf_counter()
    for _ in range(repeats):
        work()
    return (time.perf_counter() - started) / repeats * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10, help="training steps timed per repeat")
    parser.add_argument("--image-size", type=int, default=64, choices=(28, 64))
    args = parser.parse_args()
    channels, width, batch = (3, 32, 50) if args.image_size == 64 else (1, 64, 100)
    shape, device = (channels, args.image_size, args.image_size), torch.device("cpu")

    def config(upsample: str):
        return resolve_config(overrides={"model.name": "dcgan", "model.width": width, "model.upsample": upsample,
                                         "data.image_size": args.image_size, "data.channels": channels,
                                         "train.batch_size": batch, "train.lr_g": 1e-3, "train.lr_d": 1e-3})

    z = torch.randn(batch, 100, generator=torch.Generator().manual_seed(0))
    real = torch.rand(batch, *shape, generator=torch.Generator().manual_seed(1)) * 2 - 1
    nets = {name: new_state(config(upsample), shape, device).g for name, (upsample, _) in WAYS.items()}
    times: dict[str, dict[str, list[float]]] = {name: {"sample ms": [], "fwd+bwd ms": [], "steps/s": []}
                                                for name in WAYS}
    with torch.no_grad():
        ResizeConv.forward = upsample_then_conv
        upsampled = nets["resize conv"](z)
        ResizeConv.forward = WAYS["resize conv"][1]
        print(f"{args.image_size} px, {channels} channels, width {width}, batch {batch}, "
              f"{torch.get_num_threads()} threads; largest difference of the two resize ways' samples: "
              f"{(nets['resize conv'](z) - upsampled).abs().max().item():.2e}")
    for _ in range(args.repeats):
        for name, (upsample, forward) in WAYS.items():
            ResizeConv.forward = forward
            g = nets[name]
            with torch.no_grad():
                times[name]["sample ms"].append(milliseconds(lambda g=g: g(z), 5))
            times[name]["fwd+bwd ms"].append(milliseconds(lambda g=g: g(z).square().mean().backward(), 5))
            times[name]["steps/s"].append(g_steps_per_second(config(upsample), real, device, args.steps))
    ResizeConv.forward = WAYS["resize conv"][1]
    baseline = {row: statistics.median(values) for row, values in times["upsample then conv"].items()}
    print(f"{'':20s}" + "".join(f"{row:>14s}{'ratio':>7s}" for row in baseline))
    for name, rows in times.items():
        cells = ""
        for row, values in rows.items():
            median = statistics.median(values)
            cells += f"{median:14.2f}{median / baseline[row]:7.2f}"
        print(f"{name:20s}{cells}")


if __name__ == "__main__":
    main()
