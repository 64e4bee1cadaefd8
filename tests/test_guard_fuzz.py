"""Issue 14: a property-based test that mutates real records (hypothesis).

Each example takes one of five real study records (one of each common data kind, in a
small project with the real questions and bibliography) and mutates it (keys, types,
numbers, unicode, structure, or the raw text). It asserts that ``synthesis validate`` never exits 2 nor prints a
traceback, and that whatever ``validate`` accepts, ``check``, ``map`` and ``sof`` accept
too, and so does the code of every notebook (its code cells, executed in-process for each
question, as ``synthesis build`` would inject ``QUESTION``).

The ``ci`` profile (the default) keeps this well under a minute; ``HYPOTHESIS_PROFILE=long``
runs many more examples (``python benchmarks/fuzz_records.py``).
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthesis.cli import main
from synthesis.yamlsafe import loads

from .conftest import ROOT

settings.register_profile(
    "ci",
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "long",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

#: Records of every data kind (a correlation, pre-post, two-group, proportion, narrative).
RECORDS = ("krasner2009", "fortney2013", "seikkula2011", "grepmair2007", "razzaque2015")
TEXTS = {name: (ROOT / f"evidence/studies/{name}.yaml").read_text("utf-8") for name in RECORDS}

numbers = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 0.5, 1e300, -1e-300, 2**63, 10**20, 99999]),
)
texts = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", "FILL IN", "2021-02-30", "12:30", "012", "0x46", ".nan", "yes",
                     "<img src=x onerror=alert(1)>", "javascript:alert(1)", "\u202e", "r"]),
)  # fmt: skip
scalars = st.one_of(numbers, texts, st.booleans(), st.none())
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(data: Any, path: tuple = ()) -> list[tuple]:
    out = [path]
    if isinstance(data, dict):
        for key, value in data.items():
            out.extend(_paths(value, (*path, key)))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out.extend(_paths(value, (*path, i)))
    return out


def _parent(data: Any, path: tuple) -> Any:
    for part in path[:-1]:
        data = data[part]
    return data


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, str]:
    """(record id, mutated YAML text) of one real record."""
    name = draw(st.sampled_from(RECORDS))
    text = TEXTS[name]
    how = draw(st.sampled_from(["replace", "delete", "rename", "duplicate", "text"]))
    if how == "text":  # raw text: insert or replace a line
        lines = text.splitlines()
        i = draw(st.integers(0, len(lines) - 1))
        line = draw(st.text(max_size=40))
        indent = " " * draw(st.sampled_from([0, 2, 4, 6]))
        lines[i : i + draw(st.integers(0, 1))] = [indent + line]
        return name, "\n".join(lines) + "\n"
    data = loads(text).data
    paths = [p for p in _paths(data) if p]
    path = draw(st.sampled_from(paths))
    parent = _parent(data, path)
    key = path[-1]
    if how == "replace":
        parent[key] = draw(values)
    elif how == "delete":
        del parent[key]
    elif how == "rename" and isinstance(parent, dict):
        parent[draw(st.text(min_size=1, max_size=10))] = parent.pop(key)
    elif how == "duplicate" and isinstance(parent, list):
        parent.append(parent[key])
    elif how == "duplicate":
        parent[f"{key}_copy"] = parent[key]
    return name, yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def _standalone(text: str) -> str:
    """A record or question without its links to records outside this small project."""
    data = loads(text).data
    data.pop("search", None)  # a question's search log names every screened record
    data.pop("related", None)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


#: The records, standalone: the base every example mutates.
TEXTS = {name: _standalone(text) for name, text in TEXTS.items()}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The real questions and bibliography and the records of :data:`RECORDS`."""
    for folder in ("studies", "questions"):
        (tmp_path / "evidence" / folder).mkdir(parents=True)
    for path in (ROOT / "evidence/questions").glob("*.yaml"):
        (tmp_path / "evidence/questions" / path.name).write_text(
            _standalone(path.read_text("utf-8")), encoding="utf-8"
        )
    for name, text in TEXTS.items():
        (tmp_path / f"evidence/studies/{name}.yaml").write_text(text, encoding="utf-8")
    shutil.copy(ROOT / "references.bib", tmp_path / "references.bib")
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    return tmp_path


def _cli(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue() + err.getvalue()


def _notebook_cells(root: Path) -> list[tuple[str, list[str]]]:
    """(name, code cells) of every notebook the build runs, the template once per question."""
    cells = []
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text("utf-8"))
        cells.append((path.name, ["".join(c["source"]) for c in nb["cells"]
                                  if c["cell_type"] == "code"]))  # fmt: skip
    return cells


def _run_cell(source: str, name: str, namespace: dict[str, Any]) -> None:
    """Run a code cell as Jupyter does, rendering its last expression as HTML."""
    tree = ast.parse(source)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, name, "exec"), namespace)
    if last is not None:
        shown = eval(compile(ast.Expression(last.value), name, "eval"), namespace)
        html = getattr(shown, "_repr_html_", None)
        if html is not None:
            html()


def _run_notebooks(root: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    questions = sorted(p.stem for p in (root / "evidence/questions").glob("*.yaml"))
    old = os.environ.get("SYNTHESIS_ROOT")
    os.environ["SYNTHESIS_ROOT"] = str(root)
    try:
        for name, cells in _notebook_cells(root):
            for question in questions if name.startswith("_template") else [None]:
                namespace: dict[str, Any] = {}
                for source in cells:
                    _run_cell(source, name, namespace)
                    if question is not None and "QUESTION =" in source:
                        namespace["QUESTION"] = question  # as the build injects it
                plt.close("all")
    finally:
        if old is None:
            os.environ.pop("SYNTHESIS_ROOT", None)
        else:
            os.environ["SYNTHESIS_ROOT"] = old


@given(record=mutated())
def test_whatever_validate_accepts_every_command_and_notebook_accepts(project, record):
    name, text = record
    for other in RECORDS:  # undo the previous example's mutation
        (project / f"evidence/studies/{other}.yaml").write_text(TEXTS[other], encoding="utf-8")
    (project / f"evidence/studies/{name}.yaml").write_text(text, encoding="utf-8")
    code, out = _cli("validate", "--root", str(project))
    assert code in (0, 1), out
    assert "Traceback" not in out and "internal error" not in out, out
    if code != 0:
        return
    for command in ("check", "map", "sof"):
        code, out = _cli(command, "--root", str(project))
        assert code in (0, 1) and "Traceback" not in out, f"{command}: {out}"
        if command != "check":  # check exits 1 when it finds an inconsistency
            assert code == 0, f"{command}: {out}"
    _run_notebooks(project)


def test_the_unmutated_records_pass_every_notebook(project):
    assert _cli("validate", "--root", str(project))[0] == 0
    _run_notebooks(project)
