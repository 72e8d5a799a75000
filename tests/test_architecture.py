"""The package's shape: layers that import downwards only, no cycle, no long module.

The import graph is read from the source with ``ast`` (function-level imports
count: an import inside a function to dodge a cycle is still a cycle), so the
test needs nothing imported. ARCHITECTURE.md describes the same layers.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "autofuture"

#: Lowest first. A module may import its own layer and the layers before it.
LAYERS = ["foundation", "language", "worker", "executors", "runtime", "observe", "entrypoints",
          "api"]
FOUNDATION = {"autofuture._errors", "autofuture._config", "autofuture._version"}
API = {"autofuture", "autofuture.__main__", "autofuture._api"}

MAX_LINES = 600


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _layer(module: str) -> str:
    if module in FOUNDATION:
        return "foundation"
    if module in API:
        return "api"
    return module.split(".")[1]


def _resolve(module: str, path: Path, node: ast.ImportFrom | ast.Import) -> set[str]:
    """The package modules an import statement loads (a name may be a submodule)."""
    found = set()
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name.split(".")[0] == "autofuture":
                found.add(alias.name)
        return {m for m in found if m in MODULES}
    if node.level:
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{node.module}" if node.module else package
    else:
        base = node.module or ""
    if base.split(".")[0] != "autofuture":
        return set()
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        found.add(submodule if submodule in MODULES else base)
    return found


def import_graph() -> dict[str, set[str]]:
    graph = {}
    for module, path in MODULES.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges |= _resolve(module, path, node)
        edges.discard(module)
        graph[module] = edges
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_graph_sees_function_level_and_relative_imports():
    graph = import_graph()
    # entrypoints/cli.py imports the report module inside main(); run.py at the top.
    assert "autofuture.observe.report" in graph["autofuture.entrypoints.cli"]
    assert "autofuture.entrypoints.run" in graph["autofuture.entrypoints.cli"]
    assert "autofuture.worker.serialize" in graph["autofuture.runtime.scheduler"] \
        or "autofuture.worker.serialize" in graph["autofuture.runtime.sending"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_cycle_anywhere_in_the_package():
    assert _cycle(import_graph()) is None


def test_imports_point_down_the_layers():
    upward = []
    for module, edges in import_graph().items():
        for target in edges:
            if LAYERS.index(_layer(target)) > LAYERS.index(_layer(module)):
                upward.append(f"{module} -> {target}")
    assert upward == []


def test_every_module_belongs_to_a_layer_and_layer_packages_import_nothing():
    for module, path in MODULES.items():
        assert _layer(module) in LAYERS, module
        if path.name == "__init__.py" and module != "autofuture":
            tree = ast.parse(path.read_text())
            assert not [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
                        and not (isinstance(n, ast.ImportFrom) and n.module == "__future__")], \
                f"{module}: a layer's __init__ imports nothing, so importing one module of " \
                "the layer does not load the others"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_longer_than_the_limit(module):
    lines = MODULES[module].read_text().count("\n")
    assert lines <= MAX_LINES, f"{module} has {lines} lines; split it by responsibility"


def test_architecture_md_names_the_modules_of_the_tree():
    """Every module is named by its path under ``autofuture/``; every name is real."""
    text = (PACKAGE.parent / "ARCHITECTURE.md").read_text()
    named = {n for n in re.findall(r"`([a-z_]+(?:/[a-z_]+)*\.py)`", text)
             if not n.startswith("tests/")}
    paths = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")
             if p.name != "__init__.py"}
    basenames = {path.rpartition("/")[2] for path in paths} | {"__init__.py", "__main__.py"}
    assert sorted(n for n in named if n not in paths and n not in basenames) == [], \
        "ARCHITECTURE.md names modules that do not exist"
    assert sorted(paths - named) == [], "ARCHITECTURE.md does not name these modules"
