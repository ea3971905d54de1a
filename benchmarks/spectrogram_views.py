"""Which spectrogram keeps what a listener (and the shipped classifier) hears: real spoken-digits test clips taken
to each view and back (no GAN), scored like a GAN's clips.

    gankit data spoken-digits && .venv/bin/python benchmarks/spectrogram_views.py [--iterations 16,32]
    gankit data notes && .venv/bin/python benchmarks/spectrogram_views.py --data notes   (adds the pitch scores)

For each view: statistics fitted on the 3,360 training clips, the 480 test clips encoded, decoded by fast
Griffin-Lim, then FID / IS / class coverage with the shipped classifier against the untouched test clips (FID 0,
and their own IS, is the ceiling), the spectral convergence of the decoded clips against the view's magnitude, and
the decoding time per clip.
"""

from __future__ import annotations

import argparse
import time

from gankit.config import DataConfig
from gankit.metrics.evaluate import prepare_reference, score
from gankit.modalities.spectrogram import SpectrogramView, spectral_convergence

# name -> (n_fft, hop, bands, scale); 0 bands: the linear bins
VIEWS = {"linear 128 x 128 (256 / 128), the paper's": (256, 128, 0, "mel"),
         "64 mel x 64 (1024 / 256)": (1024, 256, 64, "mel"),
         "64 mel x 64 (512 / 256), specgan's": (512, 256, 64, "mel"),
         "64 mel x 128 (1024 / 128)": (1024, 128, 64, "mel"),
         "128 mel x 128 (1024 / 128)": (1024, 128, 128, "mel"),
         "128 mel x 64 (1024 / 256)": (1024, 256, 128, "mel"),
         "64 log x 64 (1024 / 256)": (1024, 256, 64, "log"),
         "128 log x 64 (1024 / 256), auto's for notes": (1024, 256, 128, "log")}
METRICS = ["fid", "is", "class_coverage", "pitch"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", default="16,32", help="Griffin-Lim iterations to try")
    parser.add_argument("--log-eps", type=float, default=1e-4, help="added to |X| before the log")
    parser.add_argument("--data", default="spoken-digits", help="spoken-digits or notes")
    args = parser.parse_args()
    reference = prepare_reference(DataConfig(name=args.data), "classifier", "cpu")
    test = reference.heldout.images
    real = score(test, reference, METRICS, seed=0)["metrics"]
    pitch = lambda m: f"{m['clear_pitch']:>8.3f}{m['pitch_distance']:>8.2f}" if "clear_pitch" in m else ""
    print(f"{len(test)} test clips, log eps {args.log_eps:g}; untouched: IS {real['is']:.3f}, FID {real['fid']:.2f}"
          + (f", clear pitch {real['clear_pitch']:.3f}" if "clear_pitch" in real else ""))
    print(f"{'view':<44}{'GL':>4}{'IS':>8}{'FID':>8}{'classes':>9}{'SC':>8}{'ms/clip':>9}"
          + (f"{'clear':>8}{'pitch':>8}" if "clear_pitch" in real else ""))
    for name, (n_fft, hop, bands, scale) in VIEWS.items():
        view = SpectrogramView(n_fft, hop, bands, 16000, 16384, 0, args.log_eps, scale=scale).fitted(reference.train.samples)
        pictures = view.encode(test)
        for iterations in (int(i) for i in args.iterations.split(",")):
            started = time.perf_counter()
            clips = view.decode(pictures, iterations)
            ms = (time.perf_counter() - started) / len(test) * 1e3
            sc = spectral_convergence(clips[:, 0], view.decode_magnitude(pictures), n_fft, hop)
            m = score(clips, reference, METRICS, seed=0)["metrics"]
            print(f"{name:<44}{iterations:>4}{m['is']:>8.3f}{m['fid']:>8.2f}{m['class_coverage']:>9.2f}{sc:>8.3f}"
                  f"{ms:>9.1f}{pitch(m)}", flush=True)


if __name__ == "__main__":
    main()
