"""Notebooks are committed without outputs, are thin, and expose their analytic choices."""

from __future__ import annotations

import json

import pytest

from .conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_expected_notebooks_exist():
    names = {p.name for p in NOTEBOOKS}
    assert {"00_evidence_base.ipynb", "_template_question.ipynb"} <= names
    # question notebooks are generated from the template, never copied (tests/test_jobs.py)
    assert not [n for n in names if n[:1] == "q" or n[:2] in ("01", "02", "03")]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{path.name}: strip outputs"
            assert cell["execution_count"] is None, f"{path.name}: strip execution counts"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_are_thin(path):
    """Logic lives in synthesis/: no code cell longer than 8 lines, no def or class."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"])
        assert len(src.splitlines()) <= 8, f"{path.name}: move logic into synthesis/"
        assert "def " not in src and "class " not in src


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.name.startswith("_")],
                         ids=lambda p: p.name)  # fmt: skip
def test_question_notebooks_have_parameters(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    params = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1
    src = "".join(params[0]["source"])
    for name in ("QUESTION", "METHOD", "TEST", "LEVEL", "PREPOST_R"):
        assert f"{name} = " in src
