"""gankit eval: score a run's checkpoint, or samples from anywhere, against held-out real images."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from gankit.atomic import write_atomically
from gankit.conditions import asked_pitches, class_ids
from gankit.config import MAX_SAMPLES, MAX_SEED
from gankit.data.kinds import load_samples
from gankit.device import resolve_device
from gankit.errors import GankitError
from gankit.metrics import BETTER, COMPARABLE_ONLY
from gankit.metrics.evaluate import (
    labels_like_data,
    parse_metrics,
    prepare_reference,
    save_closest_pairs,
    score,
)
from gankit.metrics.yardsticks import MEANING, yardsticks
from gankit.pipeline import Pipeline
from gankit.resolve import resolve_data
from gankit.runlog import read_eval_result
from gankit.runs import run_or_bundle
from gankit.smoke import smoke_samples

NAME = "eval"
HELP = "score a run (or a file of samples): FID, KID, IS, precision/recall, ...; n-gram scores for text"
DESCRIPTION = """Generate N images from a run's checkpoint (or read them with --samples) and score them
against the dataset's held-out split (its test split, else a seeded 10% of the training data).
The result, with the feature extractor's name and content hash, the reference split and the seed,
goes to RUN/eval/<checkpoint>.json; the samples closest to a training image go to
RUN/eval/<checkpoint>-closest.png.

metrics (--metrics, comma-separated, default all):
  fid             Fréchet distance of features (lower is better)
  kid             kernel distance, unbiased, mean and std over 100 subsets of 1000
  is              Inception Score on the classifier's class probabilities (higher is better)
  pr              precision and recall, k=3 (Kynkäänniemi et al. 2019)
  dc              density and coverage, k=5 (Naeem et al. 2020)
  class_coverage  share of classes given at least half their real share of the samples
  memorisation    share of samples closer to a training image than 99% of new real images are

Text is scored by character n-gram statistics against the held-out items instead (--metrics and
--extractor do not apply): js_1..js_4 (Jensen-Shannon divergence in bits, each beside its floor: as
many real training items score that), distinct_n (beside the real items'), unique, empty (samples G
ended at once), and on samples of 3 characters or more (one letter is a word by chance): novelty
(distinct samples that are not training items), validity (new samples that are held-out items: for
words, new real words) and memorisation_rate (samples that copy a training item).

Samples are scored beside yardsticks, scored the same way: real data (as many training samples: as good as it
gets), and random pixels (images), silence and white noise (sound) or random characters in the data's proportions
(text): as bad as it gets. They are printed as columns and kept in the result under "yardsticks".

The classifier extractor is refused when it cannot tell its classes apart on the held-out images
(accuracy not clearly above chance): scores from its features would mean nothing. Scores compare
only with scores from the same extractor on the same held-out samples.

examples:
  gankit eval runs/my-run
  gankit eval runs/my-run --n 2000 --metrics fid,kid --json
  gankit eval --samples out.npy --data fashion-mnist
  gankit eval runs/my-run --compare runs/other/eval/final.json"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", nargs="?", help="run folder to evaluate, or a bundle that gankit export "
                        "wrote (its result is printed, not saved)")
    parser.add_argument("--samples", metavar="PATH", help="score these instead: a uint8 .npy or a folder of images, "
                        "a float .npy or a folder of sound files, a .txt of lines")
    parser.add_argument("--data", help="dataset to score --samples against (with --samples; default fashion-mnist)")
    parser.add_argument("--data-dir", help="a folder holding the dataset's files (with --samples)")
    parser.add_argument("--checkpoint", metavar="NAME", help="checkpoint name or step (default: final, else newest)")
    parser.add_argument("--n", type=int, default=10_000, help="images to generate and score (default: 10000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the latents and KID subsets (default: 0)")
    parser.add_argument("--metrics", default="all", help="comma-separated metrics (default: all)")
    parser.add_argument("--extractor", default="auto", help="feature extractor: classifier, inception, or auto: "
                        "classifier for small grey images, inception for others when its weights are on disk "
                        "(default: auto)")
    parser.add_argument("--compare", metavar="JSON", action="append", default=[],
                        help="an earlier result to show side by side (refused if made with another extractor)")
    parser.add_argument("--json", action="store_true", help="print the whole result as one JSON object")
    parser.add_argument("--temperature", type=float, metavar="T", help="sampling temperature of a model that writes "
                        "text a character at a time (charlm, ngram; arae, where 0 is greedy; default: its run's); the "
                        "result goes to RUN/eval/<checkpoint>-T<T>.json")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default: auto)")


def run(args: argparse.Namespace) -> int:
    if (args.run is None) == (args.samples is None):
        raise GankitError("give a run folder or --samples PATH (one of them)")
    if not 2 <= args.n <= MAX_SAMPLES:
        raise GankitError(f"--n must be in 2..{MAX_SAMPLES:,}, got {args.n}")
    args.n = smoke_samples(args.n)
    if not 0 <= args.seed <= MAX_SEED:
        raise GankitError(f"--seed must be in 0..{MAX_SEED}, got {args.seed}")
    metrics = parse_metrics(args.metrics)
    earlier = [_read_result(path) for path in args.compare]
    device = resolve_device(args.device)
    if args.samples is not None:
        if args.temperature is not None:
            raise GankitError("--temperature goes with a run of a text model (charlm, ngram, arae), not with --samples")
        data = resolve_data(args.data or "fashion-mnist", args.data_dir)
        images = load_samples(args.samples, data)
        reference = prepare_reference(data, args.extractor, device)
        labels = asked_pitch = None
        label, out_dir = Path(args.samples).name, None
    else:

        if args.data or args.data_dir:
            raise GankitError("--data and --data-dir go with --samples; a run is scored against its own data")
        run_dir = run_or_bundle(args.run)
        pipe = Pipeline.from_run(args.run, args.checkpoint, device)
        if args.temperature is not None:
            pipe.set_temperature(args.temperature)
        reference = prepare_reference(pipe.config.data, args.extractor, device)
        pipe.check_room(args.n)
        rows = labels_like_data(reference.train, args.n, args.seed, device) if pipe.conditional else None
        images = pipe.generate(pipe.latents(args.n, args.seed), rows)
        labels = class_ids(pipe.spec.conditions, rows)  # the classes asked, for class-aware scores
        asked_pitch = asked_pitches(pipe.spec.conditions, rows)
        label, out_dir = pipe.checkpoint.name, run_dir / "eval" if run_dir is not None else None
        if args.temperature is not None:
            label += f"-T{args.temperature:g}"
    for other in earlier:
        if not _comparable_with(other, reference):
            raise GankitError(f"refusing to compare with {other['_path']}: it was scored with "
                              f"{other['extractor']['name']}:{other['extractor']['digest']} against "
                              f"{other['reference']}, this with {reference.extractor.id} against "
                              f"{reference.data.name}/{reference.heldout.split}")
    result = score(images, reference, metrics, seed=args.seed, labels=labels, asked_pitch=asked_pitch)
    if sticks := yardsticks(reference, metrics, len(images), args.seed):
        result["yardsticks"] = sticks
    result["samples"] = label if args.samples else {"run": str(args.run), "checkpoint": pipe.checkpoint.name}
    if args.temperature is not None:
        result["samples"]["temperature"] = args.temperature
    if out_dir is not None:
        out_dir.mkdir(exist_ok=True)
        pairs = save_closest_pairs(result, images, reference, out_dir / f"{label}-closest.png")
        if pairs is not None:
            result["closest_pairs_png"] = str(pairs)
        path = write_atomically(out_dir / f"{label}.json", json.dumps(result, indent=1) + "\n")
        result["written_to"] = str(path)
    if args.json:
        print(json.dumps(result))
    else:
        print(_table(result, earlier))
    return 0


def _read_result(path: str) -> dict:
    try:
        result = read_eval_result(Path(path))
    except GankitError as exc:
        raise GankitError(f"--compare {exc}") from None
    result["_path"] = path
    return result


def _label(path: str) -> str:
    """runs/NAME/eval/final.json -> NAME/final; any other file -> its name."""
    p = Path(path)
    return f"{p.parent.parent.name}/{p.stem}" if p.parent.name == "eval" else p.stem


def _comparable_with(other: dict, reference) -> bool:
    """An earlier result may sit beside this one only with the same extractor weights and reference."""
    return (other["extractor"]["digest"] == reference.extractor.digest
            and other["reference"].get("dataset") == reference.data.name
            and other["reference"].get("split") == reference.heldout.split)


def _table(result: dict, earlier: list[dict]) -> str:
    sticks = result.get("yardsticks", {})
    columns = ([("this", result)] + [(_label(o["_path"]), o) for o in earlier]
               + [(f"{name} ({stick['n']})", stick) for name, stick in sticks.items()])
    lines = [f"scored {result['n']} samples against {result['reference']['dataset']}/{result['reference']['split']} "
             f"({result['reference']['n']} held-out samples) with {result['extractor']['description']}, "
             f"extractor {result['extractor']['name']}:{result['extractor']['digest']}, seed {result['seed']}, "
             f"{result['seconds']:.1f} s"]
    lines.append(COMPARABLE_ONLY)
    widths = [max(12, len(name[-40:]) + 2) for name, _ in columns]
    header = f"{'metric':<20}{'better':<17}" + "".join(f"{name[-40:]:>{w}}" for (name, _), w in zip(columns, widths))
    lines += [header, "-" * len(header)]
    for key, value in result["metrics"].items():
        if not isinstance(value, (int, float)) or (sticks and key.endswith(("_floor", "_real"))):
            continue  # a text run's floors are its real-items column
        row = f"{key:<20}{BETTER.get(key, ''):<17}"
        for (_, res), w in zip(columns, widths):
            v = res["metrics"].get(key)
            row += f"{v:>{w}.5g}" if isinstance(v, (int, float)) else f"{'-':>{w}}"
        lines.append(row)
    if sticks:
        lines.append("yardsticks, scored as the samples are: " + "; ".join(f"{name}: {MEANING[name]}" for name in sticks))
    if "written_to" in result:
        lines.append(f"wrote {result['written_to']}")
    if "closest_pairs_png" in result:
        lines.append(f"closest samples to training images: {result['closest_pairs_png']}")
    return "\n".join(lines)
