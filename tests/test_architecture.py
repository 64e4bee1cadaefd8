"""The package's layout: no import cycles, modules of a readable size, PyMARE off the fit path."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "synthesis"


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _runtime_nodes(body: list[ast.stmt], top_level_only: bool) -> list[ast.AST]:
    """Statements run at import (or call) time: ``if TYPE_CHECKING:`` blocks left out."""
    out: list[ast.AST] = []
    for node in body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            out.extend(_runtime_nodes(node.orelse, top_level_only))
            continue
        if top_level_only:
            out.append(node)
        else:
            for child in ast.walk(node):
                if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                    continue
                out.append(child)
    return out


def _imports(path: Path, *, top_level_only: bool) -> set[str]:
    """``synthesis`` modules imported by ``path`` (``from synthesis import x`` counts x)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in _runtime_nodes(tree.body, top_level_only):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("synthesis")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "synthesis":
                found |= {f"synthesis.{a.name}" for a in node.names}
            elif node.module.startswith("synthesis."):
                found.add(node.module)
    return found


def _graph(*, top_level_only: bool) -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {
        name: {m for m in _imports(path, top_level_only=top_level_only) if m in modules}
        for name, path in modules.items()
    }


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt == node or nxt == "synthesis":
                continue
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle():
    assert _cycle(_graph(top_level_only=True)) is None


def test_no_function_level_import_closes_a_cycle():
    assert _cycle(_graph(top_level_only=False)) is None


def test_cycle_detector_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_largest_module_is_well_under_the_old_2077_lines():
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in PACKAGE.rglob("*.py")}
    biggest = max(sizes, key=sizes.__getitem__)
    assert sizes[biggest] < 1500, (biggest, sizes[biggest])
    stats_sizes = [
        n for p, n in sizes.items() if p in {f.name for f in (PACKAGE / "stats").glob("*.py")}
    ]
    assert max(stats_sizes) < 900


def test_the_fit_path_never_imports_pymare():
    code = (
        "import sys, warnings\n"
        "import synthesis.stats as s\n"
        "warnings.simplefilter('ignore')\n"
        "yi, vi = [0.1, 0.3, 0.35, 0.65, 0.2], [0.01, 0.02, 0.015, 0.03, 0.02]\n"
        "for m in s.METHODS:\n"
        "    for t in s.TESTS:\n"
        "        r = s.rma(yi, vi, method=m, test=t)\n"
        "s.leave1out(r); s.cumul(r); s.regtest(r); s.trimfill(r)\n"
        "s.subgroup(yi, vi, ['a', 'a', 'b', 'b', 'b'])\n"
        "s.fit_arrays([yi, yi], [vi, vi])\n"
        "print('pymare' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
