"""The layout's promises: gankit.config imports nothing of gankit, no import cycles, no hidden function-level
imports (that every kind of data goes through the modality layer, test_kinds_of_data.py checks)."""

import ast
import subprocess
import sys
from pathlib import Path

import gankit

SRC = Path(gankit.__file__).parent
# function-level gankit imports that stay, each for a reason stated next to it in the code
LAZY_ALLOWED = {"gankit/__init__.py": {"gankit.pipeline"}}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def gankit_imports(path: Path) -> tuple[set[str], set[str]]:
    """(module-level, function-level) gankit modules imported by a file; `if TYPE_CHECKING:` blocks are skipped."""
    tree = ast.parse(path.read_text())
    top, nested = set(), set()

    def names(node) -> set[str]:
        if isinstance(node, ast.Import):
            return {a.name for a in node.names if a.name.startswith("gankit")}
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gankit"):
            # `from gankit.cli import train` imports the module gankit.cli.train
            found = set()
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if (SRC.parent / (sub.replace(".", "/") + ".py")).is_file()
                          or (SRC.parent / sub.replace(".", "/")).is_dir() else node.module)
            return found
        return set()

    def visit(node, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            found = names(child)
            (nested if in_function else top).update(found)
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(tree, False)
    return top, nested


def test_config_imports_nothing_of_gankit():
    code = "import sys, gankit.config; print(sorted(m for m in sys.modules if m.startswith('gankit')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['gankit', 'gankit.config']"


def test_no_import_cycles_and_no_hidden_imports():
    graph, lazy = {}, {}
    for path in sorted(SRC.rglob("*.py")):
        name = module_name(path)
        top, nested = gankit_imports(path)
        graph[name] = {m for m in top if m != name}
        if nested:
            lazy[str(path.relative_to(SRC.parent))] = nested
    assert lazy == LAZY_ALLOWED
    assert len(graph) > 60 and graph["gankit.train.trainer"]  # the walk saw the package
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of imports (a depth-first search's back edge), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_walk_can_fail(tmp_path):
    """The checks above must be able to fail: a cycle is found, function-level imports are told apart."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("from gankit.runs import open_run\n\ndef f():\n    from gankit.config import Config\n")
    b.write_text("import gankit.pipeline\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import gankit.train\n")
    assert gankit_imports(a) == ({"gankit.runs"}, {"gankit.config"})
    assert gankit_imports(b) == ({"gankit.pipeline"}, set())


def test_no_function_is_longer_than_a_screen():
    """A function over 60 lines does more than one job: split it (DESIGN: small functions, one job each)."""
    long = [f"{path.relative_to(SRC)}:{node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for path in sorted(SRC.rglob("*.py")) for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 60]
    assert long == []
