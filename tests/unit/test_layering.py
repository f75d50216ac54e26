"""The package's layers, checked on the source: no import cycle between packages, lower layers
never import higher ones, and what the DAG files and the decoder load stays light."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "skyscript"

# what each lower layer may import from the package (besides itself)
ALLOWED = {
    "errors": set(),
    "losses": set(),
    "ids": set(),
    "config": {"ids"},
    "schemas": set(),
    "imaging": {"errors"},
    "models": {"errors", "ids", "config", "imaging", "schemas"},
    "video": {"errors", "ids", "config", "imaging", "schemas", "models"},
    "keyinfo": {"errors", "ids", "config", "imaging", "schemas", "models", "losses", "video"},
    "scene": {"errors", "config", "schemas"},  # pure logic: clustering, geometry, VAD, highlight curve
    "scripts": {"ids", "schemas"},  # pure logic: Table 1, Fountain, FDX, restoration checks
}
NEVER_FROM_BELOW = {"steps", "orchestration", "cli", "pipeline", "context", "db", "store", "export", "quality"}


def unit_of(path: Path) -> str:
    rel = path.relative_to(PKG)
    return rel.parts[0].removesuffix(".py")


def package_imports() -> dict[str, dict[str, set[str]]]:
    """unit -> imported unit -> the files that import it (every import, lazy ones included)."""
    graph: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in PKG.rglob("*.py"):
        src = unit_of(path)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                parts = name.split(".")
                if parts[0] == "skyscript" and len(parts) > 1 and (PKG / parts[1]).exists() or (
                    parts[0] == "skyscript" and len(parts) > 1 and (PKG / f"{parts[1]}.py").exists()
                ):
                    dst = parts[1]
                    if dst != src:
                        graph[src][dst].add(str(path.relative_to(PKG.parent)))
    return graph


def find_cycle(graph: dict[str, dict[str, set[str]]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, {})):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state:
                found = visit(m)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None


def test_no_import_cycle_between_packages() -> None:
    graph = package_imports()
    cycle = find_cycle(graph)
    if cycle:
        edges = [f"{a} -> {b} ({', '.join(sorted(graph[a][b]))})" for a, b in zip(cycle, cycle[1:])]
        pytest.fail("import cycle between packages:\n  " + "\n  ".join(edges))


def test_the_cycle_finder_finds_one() -> None:
    assert find_cycle({"a": {"b": {"x"}}, "b": {"c": {"y"}}, "c": {"a": {"z"}}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b": {"x"}}, "b": {}}) is None


def test_lower_layers_import_only_what_they_may() -> None:
    graph = package_imports()
    wrong = [
        f"{src} imports {dst} ({', '.join(sorted(files))})"
        for src, allowed in ALLOWED.items()
        for dst, files in graph.get(src, {}).items()
        if dst not in allowed or dst in NEVER_FROM_BELOW
    ]
    assert not wrong, "\n".join(wrong)


def _fresh(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.strip()


def test_the_decoder_loads_no_database() -> None:
    out = _fresh("import sys, skyscript.video.decode, skyscript.video.probe; print('sqlalchemy' in sys.modules)")
    assert out == "False"


def test_the_registry_loads_every_step_class_without_sqlalchemy() -> None:
    out = _fresh(
        "import sys; from skyscript.steps import registry; "
        "print(len(registry.PIPELINE.classes), 'sqlalchemy' in sys.modules, 'cv2' in sys.modules, 'torch' in sys.modules)"
    )
    n, sqla, cv2, torch = out.split()
    assert int(n) >= 7 and (sqla, cv2, torch) == ("False", "False", "False")
