"""The Hugging Face Spaces a bundle can be (`gankit export --format space` or `space-onnx`): the README front matter
a Space reads, app.py and requirements.txt.

`space` serves gankit demo's own page, and so installs gankit and torch. `space-onnx` serves a lighter page on
onnxruntime and numpy alone: app.py is the same file for every model (templates/onnx_space_app.py), space.json says
what the page offers (made here, where gankit knows the model), and decode.py is model.json's numpy decoding as a
function.
"""

from __future__ import annotations

import importlib.metadata
import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from gankit import __version__, conditions
from gankit.card import a_or_an, code_text, md_text
from gankit.data.sources import NAMED_DATASETS
from gankit.demo import menus, scores_line
from gankit.errors import printable
from gankit.modalities import modality_from_info
from gankit.models import MODELS
from gankit.pipeline import Pipeline

APP, REQUIREMENTS, PAGE, DECODE = "app.py", "requirements.txt", "space.json", "decode.py"
GANKIT_APP = '''"""gankit demo's page over the generator in this folder: a Hugging Face Space as it is, or `python app.py`."""

import sys
from pathlib import Path

from gankit.demo import serve_folder

if __name__ == "__main__":
    sys.exit(serve_folder(Path(__file__).resolve().parent))
'''
# what the lighter page needs beyond Gradio: the versions gankit's own export extra asks for
ONNX_REQUIREMENTS = ("onnxruntime>=1.20", "numpy>=1.24")


def front_matter(model: dict[str, Any], light: bool) -> str:
    """The README front matter that makes the bundle a Hugging Face Space running app.py."""
    config = model["config"]
    tags = ["gankit", "gan", model["family"], model["modality"]["name"]] + (["onnx"] if light else [])
    if config["data"]["name"] in NAMED_DATASETS:  # a folder's path says nothing to others, and may say too much
        tags.append(config["data"]["name"])
    meta = {"title": printable(model["source"]["run"])[:60], "emoji": "🎛️", "colorFrom": "indigo", "colorTo": "gray",
            "sdk": "gradio", "app_file": APP, "pinned": False, "tags": tags,
            "short_description": f"a {model['family']} GAN trained with gankit: sample it, steer it"}
    gradio = installed("gradio")
    if gradio:  # the Gradio the page was made with; without one the Space takes its newest
        meta["sdk_version"] = gradio
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n\n"


def write_gankit_space(folder: Path) -> None:
    (folder / APP).write_text(GANKIT_APP)
    (folder / REQUIREMENTS).write_text(f"gankit[demo]=={__version__}\n")


def write_onnx_space(folder: Path, pipe: Pipeline, model: dict[str, Any]) -> None:
    """app.py, space.json, decode.py and requirements.txt of the page on onnxruntime (the bundle's generator.onnx)."""
    (folder / APP).write_bytes(files("gankit").joinpath("templates", "onnx_space_app.py").read_bytes())
    (folder / PAGE).write_text(json.dumps(page_settings(pipe, model), indent=1, ensure_ascii=False) + "\n")
    (folder / DECODE).write_text(decode_module(model))
    gradio = installed("gradio")
    (folder / REQUIREMENTS).write_text("\n".join([f"gradio=={gradio}" if gradio else "gradio>=6.0",
                                                  *ONNX_REQUIREMENTS]) + "\n")


def page_settings(pipe: Pipeline, model: dict[str, Any]) -> dict[str, Any]:
    """space.json: the page's header, its menus (a pitch's by note name too), the data's combinations of conditions
    (what a menu left at "(any)" draws from), whether z scales (variety), and what it shows of a sample."""
    spec, source = pipe.spec, model["source"]
    table = conditions.table_rows(spec.label_table)  # each combination as often as the data had it
    rows = table.tolist() if table is not None else [[i] for i in range(len(spec.conditions[0].values))] \
        if spec.conditions else []
    shows = spec.modality.demo_shows
    family = model["family"]
    # as gankit demo's header writes them: a run's name may hold markdown, a checkpoint's a backtick
    header = (f"## {md_text(source['run'])}: {a_or_an(family)} {family} generator of "
              f"{spec.modality.describe(list(spec.shape))}\n\nExported by gankit {__version__} from checkpoint "
              f"`{code_text(source['checkpoint'])}`, step {model['step']}; "
              "sampled with onnxruntime. Seeds are numpy's: they give other samples than the same seeds in gankit.")
    if model.get("evaluation"):
        header += f"\n\n{scores_line(model['evaluation'])}"
    return {"title": f"gankit: {printable(source['run'])[:60]}", "header": header,
            "menus": [{"name": name, "choices": choices} for name, choices in menus(spec.conditions)],
            "rows": rows,
            "variety": not MODELS.get(family).likelihood,
            "shows": "clips" if "clips" in shows else shows[0], "max_samples": spec.modality.demo_max}


def decode_module(model: dict[str, Any]) -> str:
    """decode.py: model.json's numpy decoding of G's output as a function of (x, info)."""
    body = model["decode"]["numpy"].replace("; ", "\n")
    name = modality_from_info(model["modality"]).decoded_as
    lines = "".join(f"    {line}\n" if line.strip() else "\n" for line in body.splitlines())
    return ('"""G\'s output -> samples, in numpy alone: model.json\'s decoding, written by gankit export."""\n\n'
            "import numpy as np\n\n\n"
            f"def decode(x, info):\n{lines}    return {name}\n")


def installed(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None
