"""The model card: a bundle's README.md, written from its model.json (what G makes, how it was trained and scored,
how to use it with gankit, onnxruntime or TorchScript)."""

from __future__ import annotations

import re
from typing import Any

from gankit import bundle, conditions
from gankit.errors import printable
from gankit.metrics import BETTER
from gankit.modalities import modality_from_info
from gankit.music import note_name

WEIGHTS_KIND = {"G_ema": "the exponential moving average of G's weights", "G": "G's weights as trained"}


def onnx_script(model: dict[str, Any], folder: str, n: int = 16) -> str:
    """Python that samples the bundle in `folder` with onnxruntime and numpy alone, and decodes the samples."""
    feeds = '{"z": z}'
    lines = ["import json", "", "import numpy as np", "import onnxruntime as ort", "",
             f'info = json.load(open("{folder}/model.json"))',
             f'session = ort.InferenceSession("{folder}/{bundle.ONNX}")',
             f'z = np.random.default_rng(0).standard_normal(({n}, info["latent_dim"]), dtype=np.float32)']
    if "labels" in model["inputs"]:
        lines.append(f'labels = np.stack([np.arange({n}) % len(c["values"]) for c in info["conditions"]], axis=1)'
                     '  # a column per condition; names: info["conditions"]')
        feeds = '{"z": z, "labels": labels}'
    shape = ", ".join(str(n) if d == "N" else str(d) for d in model["output"]["x"])
    lines.append(f"x = session.run(None, {feeds})[0]  # ({shape})")
    lines.append(model["decode"]["numpy"].replace("; ", "\n"))
    lines.append(modality_from_info(model["modality"]).keep_decoded)
    return "\n".join(lines) + "\n"


def _values(condition: dict[str, Any]) -> str:
    """A condition's values as the card lists them: a pitch's as its range."""
    if condition["name"] == conditions.PITCH:
        low, high = min(map(int, condition["values"])), max(map(int, condition["values"]))
        return (f"{len(condition['values'])} MIDI note numbers from {low} to {high} ({note_name(low)}..{note_name(high)}), "
                "label i being the i-th in `conditions` (gankit takes note numbers or names)")
    return ", ".join(map(md_text, condition["values"]))


def _pitched(model: dict[str, Any]) -> str | None:
    """The first class of a model conditioned on class and pitch (the card shows how to ask for both), else None."""
    named = {c["name"]: c["values"] for c in model.get("conditions", [])}
    if conditions.PITCH in named and conditions.CLASS in named:
        return md_text(named[conditions.CLASS][0])
    return None


def model_card(model: dict[str, Any], name: str) -> str:
    """README.md of the bundle in a folder called `name` (as its commands and scripts refer to it)."""
    source, config, files = model["source"], model["config"], model["files"]
    modality = modality_from_info(model["modality"])
    out = [f"# {md_text(source['run'])}: {a_or_an(model['family'])} {model['family']} generator of "
           f"{modality.describe(model['sample_shape'])}", "",
           f"Exported by gankit {model['versions']['gankit']} (torch {model['versions']['torch']}) from run "
           f"`{code_text(source['run'])}`, checkpoint `{code_text(source['checkpoint'])}` (step {model['step']}), with "
           f"{WEIGHTS_KIND.get(source['weights'], source['weights'])}.", ""]
    out += [f"![samples from seed 0]({bundle.PREVIEW})", ""] + ([modality.preview_note, ""] if modality.preview_note
                                                                  else [])
    out += ["## What it makes", "",
            f"- input `z`: {model['inputs']['z']}"]
    if "labels" in model["inputs"]:
        out.append(f"- input `labels`: {model['inputs']['labels']}")
        out += [f"  - {md_text(c['name'])}: {_values(c)}" for c in model["conditions"]]
    out += [f"- output `x`: {model['decode']['output']}",
            f"- decoded: {model['decode']['data']}", ""]
    out += _training(model, config, source)
    out += _evaluation(model.get("evaluation"))
    pitched = _pitched(model)
    out += ["## Use it", "", "With gankit (`pip install gankit`), from this folder as from a run:", "", "```sh",
            f"gankit sample {name} --n 16 --out {modality.example_output}"]
    if pitched:
        out += [f"gankit sample {name} --n 4 --class {pitched} --pitch C4 --out {pitched}-c4  # or --pitch 60",
                f"gankit play {name} tune.mid --out tune.wav  # a MIDI file, a note made for each of its notes"]
    out.append(f"gankit demo {name}  # a page to steer it: seed, {'conditions, ' if 'labels' in model['inputs'] else ''}"
               "variety, a walk (pip install 'gankit[demo]')")
    out += ["```", "", "```python", "import gankit", "", f'pipe = gankit.Pipeline.from_run("{name}")',
            f"samples = pipe.sample(16, seed=0)  # decoded: {modality.decoded}"]
    if pitched:
        out.append(f'notes = pipe.sample(4, conditions={{"class": "{pitched}", "pitch": 60}})  # MIDI 60 is C4')
    out += ["```", ""]
    if bundle.ONNX in files:
        out += ["With onnxruntime and numpy only:", "", "```python", onnx_script(model, name).rstrip(), "```", ""]
    if bundle.TORCHSCRIPT in files:
        args = "z, labels" if "labels" in model["inputs"] else "z"
        out += ["With TorchScript (`torch.jit.load` in Python, or `torch::jit::load` in C++ with libtorch):", "",
                "```python", "import torch", "", f'g = torch.jit.load("{name}/{bundle.TORCHSCRIPT}")',
                f"z = torch.randn(16, {model['latent_dim']})"]
        if "labels" in model["inputs"]:
            sizes = ", ".join(str(len(c["values"])) for c in model["conditions"])
            out.append(f"labels = torch.stack([torch.arange(16) % k for k in ({sizes},)], dim=1)")
        out += [f"x = g({args})  # decode as above", "```", ""]
    out += ["## Files", "", "| file | bytes | sha256 | checked |", "|---|---|---|---|"]
    for file, record in files.items():
        out.append(f"| {file} | {record['bytes']:,} | `{record['sha256'][:16]}…` | {_parity(record)} |")
    out += ["", "model.json holds the full digests, the training configuration and how to decode `x`."]
    return "\n".join(out) + "\n"


def a_or_an(word: str) -> str:
    """The article a family's name takes when read aloud as a word ("an arae", "a cgan")."""
    return "an" if word[:1].lower() in "aeio" else "a"


def md_text(text: str) -> str:
    """A name (a run's, a class folder's) as Markdown text that shows it as it is: no markup, no HTML, one line."""
    return re.sub(r"([\\`*_\[\]|#<>&])", r"\\\1", printable(str(text)))


def code_text(text: str) -> str:
    """A name inside a code span: one line, and no backtick to end the span early."""
    return printable(str(text)).replace("`", "'")


def _training(model: dict[str, Any], config: dict[str, Any], source: dict[str, Any]) -> list[str]:
    train, data = config["train"], config["data"]
    seen = f"{source['images_seen']:,} samples seen, " if "images_seen" in source else ""
    minutes = f", {source['train_seconds'] / 60:.1f} minutes of training" if "train_seconds" in source else ""
    out = ["## Training", "", f"- data: `{code_text(data['name'])}`; {seen}{model['step']:,} steps{minutes}"]
    if model["params"].get("temperature") is not None:
        out.append(f"- fitted by maximum likelihood; sampled at temperature {model['params']['temperature']}")
    else:
        ema = f", EMA decay {train['ema_decay']}" if train["ema_decay"] else ""
        if train["ema_decay"] and train.get("ema_rampup"):  # absent from configs of older gankits
            ema += f" (ramp-up {train['ema_rampup']}, BatchNorm statistics: {train.get('ema_batchnorm', 'copy')})"
        out.append(f"- loss `{train['loss']}`, {train['n_critic']} D step(s) per G step, Adam lr G {train['lr_g']} / "
                   f"D {train['lr_d']}, betas ({train['beta1']}, {train['beta2']}), batch {train['batch_size']}, "
                   f"precision {train['precision']}{ema}")
    settings = ", ".join(f"{k} {v}" for k, v in model["params"].items() if k != "name")
    out += [f"- model `{model['family']}`: {settings or 'its defaults'}; seed {train['seed']}", ""]
    return out


def _evaluation(result: dict[str, Any] | None) -> list[str]:
    if result is None:
        return ["## Evaluation", "", "Not evaluated: run `gankit eval RUN` before exporting to have its scores "
                "here.", ""]
    extractor, reference = result["extractor"], result["reference"]
    out = ["## Evaluation", "", f"{result.get('n', '?')} samples (seed {result.get('seed', '?')}) scored against "
           f"`{reference['dataset']}/{reference['split']}` ({reference.get('n', '?')} held-out samples) with "
           f"{extractor.get('description', extractor['name'])}, extractor `{extractor['name']}:{extractor['digest']}`. "
           "Scores compare only with scores from the same extractor against the same reference.", "",
           "| metric | value | better |", "|---|---|---|"]
    out += [f"| {key} | {value:.5g} | {BETTER.get(key, '')} |" for key, value in result["metrics"].items()]
    return out + [""]


def _parity(record: dict[str, Any]) -> str:
    parity = record.get("parity")
    if parity is None:
        return "weights (gankit checks the sha256 on load)"
    if not parity.get("checked"):
        return f"not checked: {parity.get('why')}"
    return (f"{parity['with']} vs torch: max abs diff {parity['max_abs_diff']:.2g} at batches "
            f"{', '.join(map(str, parity['batches']))}")
