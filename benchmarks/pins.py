"""Behaviour pins for a redesign: a few training steps of every family on its kind of data, then `gankit sample`,
all seeded, and a digest of the final weights and of the samples. Record them before code moves, check them after:
a digest that changes means training or sampling changed.

    python benchmarks/pins.py --out before.json                 (record; the code on PYTHONPATH, else the installed)
    python benchmarks/pins.py --against before.json [--out after.json]

Digests hold only for one kind of CPU, one torch and one thread count (kernels round by vector width, a reduction
split two ways rounds otherwise), so the file records all three and a check on another machine refuses to compare.
Conditional families draw their fakes' labels, so a change to that draw changes their digests by design: they are
listed apart from the families that must stay bit-identical.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file

THREADS = "2"
FASHION = ["--data", "fashion-mnist", "--max-steps", "20", "--batch-size", "64"]
WORDS = ["--data", "words", "--max-steps", "10", "--batch-size", "32"]


def sound(folder: Path) -> list[str]:
    return ["--data", "spoken-digits", "--data-dir", str(folder), "--max-steps", "4", "--batch-size", "7"]


def families(digits: Path) -> dict[str, list[str]]:
    """Family -> its `gankit train` arguments (unconditional first, then those that draw labels)."""
    return {
        "classic": FASHION, "dcgan": FASHION, "wgan-gp": FASHION, "sngan": FASHION,
        "wavegan": sound(digits), "specgan": sound(digits),
        "textgan": WORDS, "charlm": WORDS, "ngram": WORDS, "arae": WORDS,
        "cgan": FASHION, "cwavegan": sound(digits), "cspecgan": sound(digits),
    }


CONDITIONAL = {"cgan", "cwavegan", "cspecgan"}


def gankit(*args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "gankit", *args], capture_output=True, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": THREADS})
    if result.returncode != 0:
        sys.exit(f"gankit {' '.join(args)} failed:\n{result.stderr[-2000:]}")


def digest_weights(path: Path) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(load_file(str(path)).items()):
        digest.update(name.encode())
        digest.update(tensor.contiguous().numpy().tobytes())
    return digest.hexdigest()


def pin(name: str, args: list[str], out: Path) -> dict[str, str]:
    gankit("train", "--model", name, *args, "--seed", "1", "--device", "cpu", "--no-progress", "--no-report",
           "--out", str(out), "--name", name)
    run = out / name
    gankit("sample", str(run), "--n", "16", "--seed", "3", "--npy", str(out / f"{name}.npy"), "--device", "cpu")
    return {"weights": digest_weights(run / "checkpoints" / "final" / "weights.safetensors"),
            "samples": hashlib.sha256(np.load(out / f"{name}.npy").tobytes()).hexdigest()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="write the digests here (JSON)")
    parser.add_argument("--against", type=Path, help="digests recorded before (JSON) to compare with")
    parser.add_argument("--only", nargs="+", help="these families only")
    args = parser.parse_args()
    machine = {"cpu": torch.backends.cpu.get_cpu_capability(), "torch": torch.__version__, "threads": THREADS}
    before = json.loads(args.against.read_text()) if args.against else None
    if before is not None and before["machine"] != machine:
        sys.exit(f"{args.against} was recorded on {before['machine']}, this is {machine}: digests do not compare")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        gankit("data", "spoken-digits", "--out", str(tmp / "digits"), "--clips-per-digit", "8")
        pins = {}
        for name, train_args in families(tmp / "digits").items():
            if args.only and name not in args.only:
                continue
            pins[name] = pin(name, train_args, tmp / "runs")
            verdict = ""
            if before is not None and name in before["pins"]:
                same = pins[name] == before["pins"][name]
                verdict = "same" if same else ("changed (draws labels)" if name in CONDITIONAL else "CHANGED")
            print(f"{name:<10} weights {pins[name]['weights'][:12]} samples {pins[name]['samples'][:12]} {verdict}",
                  flush=True)
    if args.out:
        args.out.write_text(json.dumps({"machine": machine, "pins": pins}, indent=1) + "\n")
    changed = [n for n in pins if before and n in before["pins"] and n not in CONDITIONAL and pins[n] != before["pins"][n]]
    if changed:
        sys.exit(f"changed: {', '.join(changed)}")


if __name__ == "__main__":
    main()
