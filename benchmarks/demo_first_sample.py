"""Time to first sample of `gankit demo`: from the command's start to the first grid (or clips, or lines) a client
gets back, against `gankit sample` of the same run or bundle, the command-line way to the same samples.

    .venv/bin/python benchmarks/demo_first_sample.py RUN_OR_BUNDLE [RUN_OR_BUNDLE ...] [--repeats 3] [--n 16]

Each repeat times both, one after the other, from a new process (Python, torch, and for the demo Gradio, loaded
each time, as a person starting them would). The demo's time ends when its /sample endpoint has answered once,
through gradio_client, with no condition asked for (a grid through the classes); the client's own start is not
counted. Prints the medians, their ratio, and the median time of a second request (another seed) to the running page.
A bundle written by `gankit export --format space-onnx` is also timed as its own page, `python BUNDLE/app.py` (Gradio,
onnxruntime and numpy; no torch), from the start to its first /sample answer, in the column "space-onnx".
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gradio_client import Client

from gankit.pipeline import Pipeline

GANKIT = str(Path(sys.executable).parent / "gankit")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def time_sample(target: str, n: int, out: Path) -> float:
    start = time.perf_counter()
    subprocess.run([GANKIT, "sample", target, "--n", str(n), "--out", str(out), "--overwrite"], check=True,
                   capture_output=True)
    return time.perf_counter() - start


def time_page(command: list[str], port: int, n: int) -> tuple[float, float]:
    """(seconds from `command`'s start to its page's first sample, seconds of a second request with another seed)"""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               env={**os.environ, "GRADIO_SERVER_PORT": str(port)})
    try:
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None:
                    raise SystemExit(f"{' '.join(command)} ended with {process.returncode}") from None
                time.sleep(0.05)
        served = time.perf_counter()
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        inputs = [p for p in client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/sample"]
                  ["parameters"]]
        values = [0, n] + [p["parameter_default"] for p in inputs[2:]]
        asked = time.perf_counter()
        client.predict(*values, api_name="/sample")
        first = (served - start) + (time.perf_counter() - asked)
        again = time.perf_counter()
        client.predict(1, *values[1:], api_name="/sample")
        return first, time.perf_counter() - again
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="+", metavar="RUN_OR_BUNDLE")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n", type=int, default=8, help="samples asked for (default 8: a sound page's players)")
    args = parser.parse_args()
    print(f"{'run or bundle':<40} {'gankit sample':>14} {'gankit demo':>12} {'ratio':>6} {'next request':>13} "
          f"{'space-onnx':>11} {'next request':>13}")
    with tempfile.TemporaryDirectory() as scratch:
        for target in args.targets:
            cli, page, next_request, light, light_next = [], [], [], [], []
            suffix = Pipeline.from_run(target, device="cpu").spec.modality.output_suffix  # "": a folder (sound)
            app = Path(target) / "app.py" if (Path(target) / "space.json").is_file() else None
            for repeat in range(args.repeats):
                cli.append(time_sample(target, args.n, Path(scratch) / f"out{repeat}{suffix}"))
                port = free_port()
                first, again = time_page([GANKIT, "demo", target, "--port", str(port)], port, args.n)
                page.append(first)
                next_request.append(again)
                if app:
                    first, again = time_page([sys.executable, str(app)], free_port(), args.n)
                    light.append(first)
                    light_next.append(again)
            c, p, r = statistics.median(cli), statistics.median(page), statistics.median(next_request)
            row = f"{target[-40:]:<40} {c:>12.1f} s {p:>10.1f} s {p / c:>5.2f}x {r:>11.2f} s"
            if app:
                row += f" {statistics.median(light):>9.1f} s {statistics.median(light_next):>11.2f} s"
            print(row, flush=True)


if __name__ == "__main__":
    main()
