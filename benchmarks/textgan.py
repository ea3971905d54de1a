"""textgan's training speed by width and precision, on the `words` shapes (28 symbols x 16 positions).

    .venv/bin/python benchmarks/textgan.py
    .venv/bin/python benchmarks/textgan.py --widths 512,128 --precisions fp32,bf16 --repeats 5 --device cuda

One G step is what the trainer does for it: 10 critic steps with the gradient penalty, then one G step, at
batch 64 (step_speed.py). Each repeat runs every variant once, one after another, so a drift in the machine's
speed hits them alike; the table gives the median G steps/s, the items/s D consumes (real ones), and the
ratio to the first variant (the paper's width 512 in fp32 unless --widths leaves it out).
"""

from __future__ import annotations

import argparse
import statistics

import torch
from step_speed import g_steps_per_second, parameters

from gankit.device import resolve_device
from gankit.modalities.text import one_hot
from gankit.resolve import resolve_config
from gankit.train.state import new_state

SYMBOLS, SEQ_LEN = 28, 16


def config_for(width: int, precision: str = "fp32", batch: int = 64):
    return resolve_config(overrides={"model.name": "textgan", "model.width": width, "train.precision": precision,
                                     "data.name": "words", "train.batch_size": batch}, saved=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--widths", default="512,256,128,64")
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument("--steps", type=int, default=3, help="timed G steps per repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    device = resolve_device(args.device)
    real = one_hot(torch.randint(0, SYMBOLS, (args.batch, SEQ_LEN)), SYMBOLS).to(device)
    variants = [(int(w), p) for w in args.widths.split(",") for p in args.precisions.split(",")]
    runs: dict[tuple[int, str], list[float]] = {v: [] for v in variants}
    for _ in range(args.repeats):
        for width, precision in variants:
            runs[(width, precision)].append(g_steps_per_second(config_for(width, precision, args.batch), real, device,
                                                               args.steps))
    n_critic = config_for(64).train.n_critic
    print(f"device {device}, torch {torch.__version__}, batch {args.batch}, {SYMBOLS} symbols x {SEQ_LEN} positions, "
          f"WGAN-GP, {n_critic} critic steps per G step; median of {args.repeats} repeats of {args.steps} G steps")
    base = statistics.median(runs[variants[0]])
    print(f"{'width':>6} {'precision':>9} {'G params':>9} {'G steps/s':>10} {'items/s':>8} {'vs first':>9}")
    for width, precision in variants:
        rate = statistics.median(runs[(width, precision)])
        params = parameters(new_state(config_for(width), (SYMBOLS, SEQ_LEN), torch.device("cpu")).g)
        print(f"{width:>6} {precision:>9} {params / 1e6:>8.2f}M {rate:>10.3f} {rate * args.batch * n_critic:>8.0f} "
              f"{rate / base:>8.2f}x")


if __name__ == "__main__":
    main()
