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


# ----------------------------------------------------------------- function-level imports

#: Third-party libraries that cost a noticeable share of a second (or seconds) to import.
HEAVY = frozenset(
    {
        "numpy", "scipy", "pandas", "matplotlib", "pymare", "dask", "distributed",
        "weasyprint", "nbconvert", "nbclient", "nbformat", "docx", "bs4", "bibtexparser",
        "citeproc", "cairosvg",
    }
)  # fmt: skip

#: Modules whose every function-level import of the package is deliberate, and why.
LAZY_MODULES = {
    "synthesis.cli": "each command imports its modules when it runs, so `synthesis --help` "
    "loads no numpy, pandas or pydantic",
}

#: (importer, imported) pairs imported inside a function because the imported module loads
#: a heavy library (numpy and scipy, through synthesis.stats or synthesis.integrity; or
#: matplotlib's callers in synthesis.plots) that the importer does not otherwise need: so
#: `synthesis validate`, `synthesis map` and the records layer start without them.
#: test_lazy_imports_defer_a_heavy_library checks that each still does.
LAZY_FOR_HEAVY = {
    ("synthesis.analysis", "synthesis.stats"),
    ("synthesis.extract", "synthesis.integrity"),
    ("synthesis.extract", "synthesis.stats"),
    ("synthesis.notebook", "synthesis.integrity"),
    ("synthesis.notebook", "synthesis.plots"),
    ("synthesis.notebook", "synthesis.stats.influence"),
    ("synthesis.robustness", "synthesis.stats"),
    ("synthesis.swim_outcomes", "synthesis.stats.swim"),
}


def _own_targets(node: ast.Import | ast.ImportFrom, modules: set[str]) -> set[str]:
    """The package's modules an import statement loads (``from synthesis import x``: x)."""
    if isinstance(node, ast.Import):
        return {a.name for a in node.names if a.name.split(".")[0] == "synthesis"}
    if node.level:  # relative imports are the package's own too
        return {"synthesis.<relative>"}
    if node.module == "synthesis":
        return {
            f"synthesis.{a.name}" if f"synthesis.{a.name}" in modules else "synthesis"
            for a in node.names
        }
    if node.module and node.module.split(".")[0] == "synthesis":
        return {node.module}
    return set()


def function_level_imports(source: str, modules: set[str]) -> list[tuple[int, str]]:
    """(line, module) of every import of the package's own modules inside a function."""
    found = []
    for fn in ast.walk(ast.parse(source)):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in fn.body:
                for child in ast.walk(node):
                    if isinstance(child, ast.Import | ast.ImportFrom):
                        found += [(child.lineno, m) for m in _own_targets(child, modules)]
    return sorted(set(found))  # a nested function's imports are seen from each def around it


def _all_function_level_imports() -> dict[tuple[str, str], list[str]]:
    """(importer, imported) -> the places (``file:line``) where it happens in a function."""
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    out: dict[tuple[str, str], list[str]] = {}
    for name, path in sorted(paths.items()):
        for line, target in function_level_imports(path.read_text(encoding="utf-8"), set(paths)):
            where = f"{path.relative_to(PACKAGE.parent)}:{line}"
            out.setdefault((name, target), []).append(where)
    return out


def _heavy_loaded(module: str, paths: dict[str, Path], seen: set[str] | None = None) -> set[str]:
    """Heavy libraries that importing ``module`` loads (its parents' and imports' too)."""
    seen = set() if seen is None else seen
    if module in seen or module not in paths:
        return set()
    seen.add(module)
    parts = module.split(".")
    found = set()
    for parent in (".".join(parts[:i]) for i in range(1, len(parts))):
        found |= _heavy_loaded(parent, paths, seen)
    tree = ast.parse(paths[module].read_text(encoding="utf-8"))
    for node in _runtime_nodes(tree.body, top_level_only=True):
        if isinstance(node, ast.Try):  # an optional import at module level still runs
            for inner in node.body:
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    node = inner
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names} & HEAVY
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found |= {node.module.split(".")[0]} & HEAVY
    for target in _imports(paths[module], top_level_only=True):
        found |= _heavy_loaded(target, paths, seen)
    return found


def test_own_modules_are_imported_at_module_level():
    """An import of the package's own module inside a function hides a dependency; with no
    cycle to dodge, it belongs at the top unless it defers a heavy library (listed above)."""
    hidden = [
        f"{where}: {importer} imports {imported} inside a function"
        for (importer, imported), places in _all_function_level_imports().items()
        if importer not in LAZY_MODULES and (importer, imported) not in LAZY_FOR_HEAVY
        for where in places
    ]
    assert not hidden, "\n".join(hidden)


def test_lazy_imports_defer_a_heavy_library():
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    found = _all_function_level_imports()
    for importer, imported in sorted(LAZY_FOR_HEAVY):
        assert (importer, imported) in found, f"{importer} -> {imported}: no longer lazy; unlist it"
        deferred = _heavy_loaded(imported, paths) - _heavy_loaded(importer, paths)
        assert deferred, f"{importer} -> {imported} defers nothing heavy: import it at the top"


def test_function_level_import_finder():
    source = (
        "from synthesis import records\n"
        "def f():\n"
        "    import json\n"
        "    from synthesis.stats import rma\n"
        "    def g():\n"
        "        from synthesis import plots\n"
        "    return rma\n"
    )
    modules = {"synthesis", "synthesis.plots", "synthesis.records", "synthesis.stats"}
    assert function_level_imports(source, modules) == [
        (4, "synthesis.stats"),
        (6, "synthesis.plots"),
    ]


def test_the_command_line_starts_without_heavy_libraries():
    code = "import sys, synthesis, synthesis.cli\nprint(' '.join(sorted(sys.modules)))\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = {m.split(".")[0] for m in out.stdout.split()}
    assert not loaded & (HEAVY | {"pydantic", "yaml"}), sorted(
        loaded & (HEAVY | {"pydantic", "yaml"})
    )
