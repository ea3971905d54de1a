"""The README's code blocks, run as written and in order, as a reader on a fresh clone would after `make`.

GANKIT_SMOKE_TEST=1 keeps every command short (1 G step a training run, 100 samples a score); the reader's own data
the README names (./my_images, ./my_icons, ./my_sounds, ./poems.txt, ./tune.mid) is made here, and the install lines (apt, pip) are make's.
Sections whose run names count from 0001 start in a folder of their own, as a reader starting there would.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import gankit

README = Path(__file__).parent.parent / "README.md"
FRESH_FOLDER = ("## Colour", "## Sound", "## Music", "## Text")  # their commands name runs/0001-...
INSTALLS = ("apt ", "pip ", "make ")


def readme_blocks() -> list[tuple[str, str, str]]:
    """(section heading, language, code) of every fenced block, in order."""
    blocks, section = [], ""
    for part in re.split(r"^(## .*|```\w*\n[\s\S]*?^```)$", README.read_text(), flags=re.M):
        if part.startswith("## "):
            section = part
        elif part.startswith("```"):
            language, code = part[3:].split("\n", 1)
            blocks.append((section, language, code.rsplit("```", 1)[0]))
    return blocks


def make_own_data(folder: Path, spoken_digits: Path, emoji: Path) -> None:
    """What the README calls the reader's own data: a folder of images, one of colour icons, one of sounds, a text
    file, a MIDI file."""
    from gankit.config import DataConfig
    from gankit.data import load_dataset
    from gankit.play import melody, write_midi

    images = folder / "my_images"
    images.mkdir()
    for i, image in enumerate(load_dataset(DataConfig(name="fashion-mnist")).samples[:120, 0].numpy()):
        Image.fromarray(image).save(images / f"{i:03d}.png")
    shutil.copytree(emoji / "train", folder / "my_icons")
    shutil.copytree(spoken_digits / "train", folder / "my_sounds")
    words = np.random.default_rng(0).choice(["moon", "river", "night", "rain", "pine", "hill", "cloud"], (100, 5))
    (folder / "poems.txt").write_text("".join(" ".join(line) + "\n" for line in words))
    write_midi(melody(program=56), folder / "tune.mid")


@pytest.mark.slow
def test_readme_blocks_run_as_written(tmp_path, fashion_dir, fashion_cache, notes, emoji):
    cache = fashion_cache  # the reference features other eval tests extract
    spoken_digits = cache / "datasets" / "spoken-digits"  # where `gankit data` looks: a batch of 100 clips and more
    if not spoken_digits.exists():
        made = gankit("data", "spoken-digits", "--out", str(spoken_digits), "--clips-per-digit", "14")
        assert made.returncode == 0, made.stderr
    for name, made in (("notes", notes), ("emoji", emoji)):  # small sets where `gankit data NAME` finds them
        if not (cache / "datasets" / name).exists():
            shutil.copytree(made, cache / "datasets" / name)
    env = {"GANKIT_SMOKE_TEST": "1", "GANKIT_CACHE_DIR": str(cache),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    main = tmp_path / "reader"
    main.mkdir()
    make_own_data(main, spoken_digits, emoji)
    walked = []
    for index, (section, language, code) in enumerate(readme_blocks()):
        if language not in ("bash", "python") or code.startswith("make demo"):
            continue  # plain blocks are listings and sketches (torchrun on several machines); make is this suite
        here = main
        if section.startswith(FRESH_FOLDER):
            here = tmp_path / f"block{index}"
            shutil.copytree(main, here, ignore=shutil.ignore_patterns("runs"))
        if language == "python":
            script = here / f"block{index}.py"
            script.write_text(code)
            result = subprocess.run([sys.executable, script.name], cwd=here, env={**os.environ, **env},
                                    capture_output=True, text=True, timeout=600)
            assert result.returncode == 0, f"{section}: the python block fails:\n{result.stderr[-3000:]}"
            walked.append(script.name)
            continue
        for line in code.splitlines():
            words = shlex.split(line, comments=True)
            if not words or line.startswith(INSTALLS):
                continue
            assert words[0] == "gankit", f"{section}: a command the walk cannot run: {line}"
            result = gankit(*words[1:], cwd=here, env=env)
            assert result.returncode == 0, f"{section}: `{line.split('  #')[0]}` fails:\n{result.stderr[-3000:]}"
            walked.append(" ".join(words[:2]))
    # what the blocks say they make
    assert (main / "grid.png").is_file() and (main / "samples.npy").is_file() and (main / "pixels.npy").is_file()
    assert np.load(main / "pixels.npy").shape == (16, 1, 28, 28)
    assert (main / "fashion-dcgan" / "generator.onnx").is_file() and (main / "cmp.html").is_file()
    assert len(walked) > 30, walked
