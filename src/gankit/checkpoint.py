"""Checkpoints: tensors in safetensors, everything else in JSON, written atomically.

A checkpoint is a folder `checkpoints/<name>/` holding
    weights.safetensors      G.* and D.* parameters and buffers (all that sampling needs)
    train_state.safetensors  optimizer tensors and RNG states (what exact resume needs)
    meta.json                config, step, epoch, position in the epoch, optimizer hyper-parameters
It is written into a hidden temporary folder and renamed into place, so a crash at any moment
leaves either the old checkpoint or the new one, never half of one. Nothing here unpickles.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from gankit import __version__
from gankit.errors import GankitError, one_line, read_json

FORMAT = "gankit-checkpoint"
FORMAT_VERSION = 1
WEIGHTS = "weights.safetensors"
TRAIN_STATE = "train_state.safetensors"
META = "meta.json"
FINAL = "final"
# free space kept beyond a checkpoint's own size (file system metadata, the logs that follow)
DISK_MARGIN = 16 * 2**20
BEST = "best"
# the names gankit gives checkpoints; anything else in checkpoints/ is not one of them
CHECKPOINT_NAME = re.compile(r"step_\d{8}|final|best")
OWN_FILES = frozenset({WEIGHTS, TRAIN_STATE, META})


def step_name(step: int) -> str:
    return f"step_{step:08d}"


# ---------------------------------------------------------------------------------------------
# nested state dicts <-> (JSON tree, flat tensor dict)


def split_tensors(obj: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """Replace every tensor in a nested structure by a reference, collecting the tensors by key."""
    if isinstance(obj, torch.Tensor):
        tensors[prefix] = obj.detach().to("cpu").contiguous().clone()
        return {"__tensor__": prefix}
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return {k: split_tensors(v, f"{prefix}.{k}", tensors) for k, v in obj.items()}
        # optimizer state is keyed by parameter index (int); JSON keys are strings, so keep pairs
        return {"__pairs__": [[k, split_tensors(v, f"{prefix}.{k}", tensors)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return [split_tensors(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot store {type(obj).__name__} at {prefix} in a checkpoint")


def join_tensors(tree: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of split_tensors."""
    if isinstance(tree, dict):
        if set(tree) == {"__tensor__"}:
            return tensors[tree["__tensor__"]]
        if set(tree) == {"__pairs__"}:
            return {k: join_tensors(v, tensors) for k, v in tree["__pairs__"]}
        return {k: join_tensors(v, tensors) for k, v in tree.items()}
    if isinstance(tree, list):
        return [join_tensors(v, tensors) for v in tree]
    return tree


# ---------------------------------------------------------------------------------------------
# writing


def save_checkpoint(folder: Path, name: str, *, weights: dict[str, torch.Tensor], train_state: dict[str, Any],
                    meta: dict[str, Any]) -> Path:
    """Write checkpoint `folder/name` atomically, replacing one of the same name.

    Args:
        folder: the run's checkpoints folder.
        name: e.g. step_name(600) or FINAL.
        weights: flat name -> tensor (G.* and D.*).
        train_state: nested dict with tensors (optimizer state dicts, RNG states).
        meta: JSON-able values (config, step, ...).
    """
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / name
    weight_tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in weights.items()}
    state_tensors: dict[str, torch.Tensor] = {}
    state_tree = split_tensors(train_state, "state", state_tensors)
    full_meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "gankit_version": __version__,
                 "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **meta, "train_state": state_tree}
    meta_text = json.dumps(full_meta, indent=1)
    needed = sum(t.numel() * t.element_size() for t in [*weight_tensors.values(), *state_tensors.values()])
    _check_space(folder, final, needed + len(meta_text) + DISK_MARGIN)
    tmp = folder / f".tmp-{name}-{os.getpid()}"
    try:
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        save_file(weight_tensors, str(tmp / WEIGHTS))
        save_file(state_tensors, str(tmp / TRAIN_STATE))
        (tmp / META).write_text(meta_text)
        for file in tmp.iterdir():
            _fsync(file)
    except (OSError, SafetensorError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise GankitError(f"could not write checkpoint {final} ({reason}); the earlier checkpoints are intact: "
                          f"fix the cause and resume with gankit train --resume {folder.parent}") from None
    if final.exists():
        if not is_own(final):
            shutil.rmtree(tmp, ignore_errors=True)
            raise GankitError(foreign_line(folder, [name]))
        trash = folder / f".old-{name}-{os.getpid()}"
        os.replace(final, trash)
        os.replace(tmp, final)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(tmp, final)
    _fsync(folder)
    return final


def _check_space(folder: Path, final: Path, needed: int) -> None:
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise GankitError(f"not enough disk space for checkpoint {final}: it needs {needed / 2**20:.0f} MiB and "
                          f"{free / 2**20:.0f} MiB are free; the earlier checkpoints are intact: free some space "
                          f"(fewer --set train.keep_checkpoints) and resume with gankit train --resume {folder.parent}")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def prune(folder: Path, keep: int) -> None:
    """Keep the newest `keep` step checkpoints (the final one is never pruned); drop stale temp folders."""
    steps = sorted(p for p in folder.glob("step_*") if is_own(p))
    for old in steps[:-keep]:
        # renamed out of sight first: a crash mid-delete must not leave a listed, half-deleted checkpoint
        trash = folder / f".old-{old.name}-{os.getpid()}"
        os.replace(old, trash)
        shutil.rmtree(trash, ignore_errors=True)
    for tmp in list(folder.glob(".tmp-*")) + list(folder.glob(".old-*")):
        if not _owned_by_live_process(tmp):
            shutil.rmtree(tmp, ignore_errors=True)


def is_own(path: Path) -> bool:
    """A checkpoint gankit wrote, and nothing else: the only kind of folder that pruning or a save may replace."""
    try:
        return (CHECKPOINT_NAME.fullmatch(path.name) is not None and not path.is_symlink() and path.is_dir()
                and all(entry.name in OWN_FILES and entry.is_file(follow_symlinks=False) for entry in os.scandir(path)))
    except OSError:
        return False


def check_own_folder(folder: Path) -> None:
    """Refuse to train into a checkpoints/ that holds what gankit did not write (a user's step_00000001/ was pruned
    away; a link to a system folder would have had checkpoints written among its files). A link to an empty
    folder, on a larger disk say, is fine."""
    if not folder.is_dir():
        return
    foreign = sorted(entry.name for entry in folder.iterdir() if not is_own(entry) and not (
        entry.name.startswith((".tmp-", ".old-")) and entry.is_dir() and not entry.is_symlink()))
    if foreign:
        raise GankitError(foreign_line(folder, foreign))


def foreign_line(folder: Path, names: list[str]) -> str:
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    where = f" (a link to {folder.resolve()})" if folder.is_symlink() else ""
    fix = "point the link at an empty folder" if where else "move those out of it"
    return (f"{folder}{where} holds what gankit did not write ({', '.join(map(repr, names[:3]))}{more}): gankit "
            f"replaces and prunes checkpoints there, so it trains only into a folder of its own checkpoints; {fix} "
            "and resume")


def _owned_by_live_process(tmp: Path) -> bool:
    try:
        pid = int(tmp.name.rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


# ---------------------------------------------------------------------------------------------
# reading


def list_checkpoints(folder: Path) -> list[Path]:
    """Complete checkpoints whose meta.json reads, oldest first by step; `final` last on ties."""
    return scan_checkpoints(folder)[0]


def scan_checkpoints(folder: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """(readable checkpoints, oldest first; damaged ones with the reason, by name).

    A folder being written (hidden, `.tmp-*`) is neither, nor is anything not named as gankit names checkpoints;
    a checkpoint without meta.json is damaged.
    """
    found, damaged = [], []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if not path.is_dir() or not CHECKPOINT_NAME.fullmatch(path.name):
            continue
        try:
            found.append((read_meta(path)["step"], path.name == FINAL, path))
        except GankitError as exc:
            damaged.append((path, str(exc)))
    return [p for _, _, p in sorted(found)], damaged


def read_meta(path: Path) -> dict[str, Any]:
    meta = read_json(path / META, f"checkpoint {path} is incomplete: {META} is missing",
                     f"checkpoint {path}: {META} is unreadable")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise GankitError(f"checkpoint {path}: {META} is not a gankit checkpoint")
    version = meta.get("format_version", 0)
    if type(version) is not int:
        raise GankitError(f"checkpoint {path}: {META} has an invalid format_version")
    if version > FORMAT_VERSION:
        raise GankitError(f"checkpoint {path} was written by a newer gankit; upgrade gankit to read it")
    for key, kind in (("step", int), ("config", dict), ("epoch", int), ("batch_in_epoch", int), ("images_seen", int)):
        if type(meta.get(key)) is not kind or (kind is int and not 0 <= meta[key] <= 10**15):
            raise GankitError(f"checkpoint {path}: {META} lacks a valid {key!r}")
    for key, kinds in (("d_steps", (int,)), ("train_seconds", (int, float)), ("best_fid", (int, float, type(None))),
                       ("saved_at", (str,))):
        if key in meta and type(meta[key]) not in kinds:
            raise GankitError(f"checkpoint {path}: {META} has an invalid {key!r}")
    return meta


def load_tensors(path: Path, file: str, device: str | torch.device = "cpu", where: str = "") -> dict[str, torch.Tensor]:
    """The tensors of safetensors file `file` in folder `path` (`where` names the folder in errors)."""
    where = where or f"checkpoint {path}"
    target = path / file
    if not target.is_file():
        raise GankitError(f"{where} is incomplete: {file} is missing")
    try:
        return load_file(str(target), device=str(device))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise GankitError(f"{where}: {file} is not a valid safetensors file ({one_line(exc)})") from None


def network_weights(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The state dict of one network ("G", "D" or "G_ema") from a weights file's flat tensors."""
    start = f"{prefix}."
    return {k[len(start):]: v for k, v in tensors.items() if k.startswith(start)}


def load_train_state(path: Path, meta: dict[str, Any]) -> dict[str, Any]:
    tensors = load_tensors(path, TRAIN_STATE)
    try:
        return join_tensors(meta["train_state"], tensors)
    except (KeyError, TypeError, ValueError) as exc:
        raise GankitError(f"checkpoint {path}: train state does not match its meta.json ({one_line(exc)})") from None
