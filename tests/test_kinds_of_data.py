"""What depends on the kind of data lives in its modality (src/gankit/modalities/): everywhere else, code asks the
data's modality (or its DataKind, or the family's declaration) for what it needs and never which kind it holds, so
adding a kind of data means adding files, not editing twenty (DESIGN principle 12)."""

import ast
from pathlib import Path

import gankit
from gankit.modalities import MODALITIES

SRC = Path(gankit.__file__).parent
KINDS = set(MODALITIES.names())
# the names of files of each kind (a guess of the kind from a name is the modality's to make: Modality.holds);
# ".png" is left out: pictures are what every kind previews as, an output format, not a guess of the kind
DATA_FILES = {ext for kind in MODALITIES.values() for ext in kind.file_extensions} - {".png"}


def strings(node: ast.AST) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, (ast.Tuple, ast.Set, ast.List)):
        return set().union(*(strings(e) for e in node.elts)) if node.elts else set()
    return set()


def kind_questions(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, code) of every place that asks which kind of data it holds."""
    found = []
    # a name a file is written under (an f-string's text) guesses nothing
    written = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values}
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and set().union(*map(strings, [node.left, *node.comparators])) & KINDS:
            found.append(node)  # kind == "audio", modality.name in ("image", "text")
        elif isinstance(node, ast.Dict) and len(set().union(*map(strings, filter(None, node.keys))) & KINDS) >= 2:
            found.append(node)  # {"image": ..., "audio": ...}[kind]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "isinstance"
              and any(word in ast.unparse(node.args[1]) for word in ("Modality", "TextReference"))):
            found.append(node)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in written and \
                (node.value in DATA_FILES or node.value.lstrip("*") in DATA_FILES):
            found.append(node)  # path.suffix == ".txt", glob("*.wav"): a guess from a file's name
    return sorted((node.lineno, ast.unparse(node)[:100]) for node in found)


def test_no_code_outside_modalities_asks_which_kind_of_data_it_holds():
    asked = {str(path.relative_to(SRC)): questions for path in sorted(SRC.rglob("*.py"))
             if "modalities" not in path.relative_to(SRC).parts
             and (questions := kind_questions(ast.parse(path.read_text())))}
    assert asked == {}


def test_the_check_finds_the_ways_of_asking():
    code = """
if kind == "text": pass
if modality.name in ("image", "audio"): pass
words = {"image": "images", "audio": "sound"}[kind]
sound = isinstance(pipe.spec.modality, AudioModality)
lines = path.with_suffix(".txt")
clips = folder.glob("*.wav")
plain = {"image": 1}, name == "fid", out.suffix == ".png", f"{take}.flac"
"""
    assert [line for line, _ in kind_questions(ast.parse(code))] == [2, 3, 4, 5, 6, 7]
