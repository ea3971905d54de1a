"""gankit data: find a named dataset locally or download it, and say where it is."""

from __future__ import annotations

import argparse

from gankit.config import DataConfig
from gankit.data import load_dataset
from gankit.data.sources import NAMED_DATASETS, find_local, locate

NAME = "data"
HELP = "find or download a dataset (fashion-mnist, mnist, cifar10)"
DESCRIPTION = """Look for a named dataset in --data-dir, ~/.cache/gankit/datasets/<name> and
/usr/share/datasets/<name>; download it (SHA-256 checked) when it is nowhere. Prints where it is and
how many images it has.

examples:
  gankit data fashion-mnist
  gankit data mnist --no-download       exit 1 when there is no local copy"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", choices=list(NAMED_DATASETS), help="dataset name")
    parser.add_argument("--data-dir", help="a folder holding the dataset's files")
    parser.add_argument("--download-url", help="a mirror's base URL to download from")
    parser.add_argument("--no-download", action="store_true", help="only look locally; exit 1 if not found")


def run(args: argparse.Namespace) -> int:
    if args.no_download and not all(find_local(args.name, split, args.data_dir) for split in ("train", "test")):
        print(f"{args.name}: no local copy")
        return 1
    files = {**locate(args.name, "train", args.data_dir, args.download_url),
             **locate(args.name, "test", args.data_dir, args.download_url)}
    train = load_dataset(DataConfig(name=args.name, data_dir=args.data_dir, download_url=args.download_url))
    folders = sorted({str(p.parent) for p in files.values()})
    print(f"{args.name}: {len(train)} training images of shape {tuple(train.sample_shape)} in {', '.join(folders)}")
    return 0

