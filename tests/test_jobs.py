"""Question notebooks generated from one template; parameters; the project root."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from synthesis import jobs
from synthesis.errors import UserInputError
from synthesis.notebook import project_root
from synthesis.validate import load_evidence

from .conftest import ROOT


@pytest.fixture(scope="module")
def base():
    return load_evidence(ROOT)


def _code(nb: dict, tag: str) -> str:
    cells = [c for c in nb["cells"] if tag in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1
    src = cells[0]["source"]
    return "".join(src) if isinstance(src, list) else src


def test_one_notebook_per_question_from_the_template(base) -> None:
    specs = jobs.plan_notebooks(ROOT, base)
    assert [s.name for s in specs] == ["00_evidence_base", *sorted(base.questions)]
    template = json.loads((ROOT / jobs.TEMPLATE).read_text(encoding="utf-8"))
    for spec in specs[1:]:
        assert spec.origin == jobs.TEMPLATE and spec.question == spec.name
        injected = _code(spec.notebook, "injected-parameters")
        assert f"QUESTION = {spec.name!r}" in injected
        # the injected cell follows the template's parameters cell, as papermill does it
        tags = [c["metadata"].get("tags", []) for c in spec.notebook["cells"]]
        at = next(i for i, t in enumerate(tags) if "parameters" in t)
        assert "injected-parameters" in tags[at + 1]
        assert len(spec.notebook["cells"]) == len(template["cells"]) + 1
    q2 = next(s for s in specs if s.name == "q2_mindfulness_training")
    heading = "".join(q2.notebook["cells"][0]["source"]).splitlines()[0]
    assert heading == f"# Q2. {base.questions['q2_mindfulness_training'].title}"
    assert template["cells"][0]["source"] != q2.notebook["cells"][0]["source"]  # not mutated


def test_a_new_question_file_needs_no_notebook(tmp_path: Path, base) -> None:
    shutil.copytree(ROOT / "evidence", tmp_path / "evidence")
    shutil.copy(ROOT / "references.bib", tmp_path / "references.bib")
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    q = (tmp_path / "evidence/questions/q3_open_dialogue.yaml").read_text(encoding="utf-8")
    (tmp_path / "evidence/questions/q4_copy.yaml").write_text(
        q.replace("id: q3_open_dialogue", "id: q4_copy"), encoding="utf-8"
    )
    new_base = load_evidence(tmp_path)
    names = [s.name for s in jobs.plan_notebooks(tmp_path, new_base)]
    assert names[-1] == "q4_copy"


def test_a_committed_notebook_replaces_the_generated_one(tmp_path: Path, base) -> None:
    (tmp_path / "notebooks").mkdir()
    shutil.copy(ROOT / jobs.TEMPLATE, tmp_path / jobs.TEMPLATE)
    nb = json.loads((ROOT / jobs.TEMPLATE).read_text(encoding="utf-8"))
    nb["cells"][1]["source"] = ['QUESTION = "q2_mindfulness_training"\n', "METHOD = None\n"]
    (tmp_path / "notebooks/20_my_q2.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    specs = jobs.plan_notebooks(tmp_path, base, {"method": "DL"})
    names = [s.name for s in specs]
    assert "q2_mindfulness_training" not in names and "20_my_q2" in names
    mine = next(s for s in specs if s.name == "20_my_q2")
    assert mine.question == "q2_mindfulness_training" and mine.params == {"method": "DL"}
    assert "METHOD = 'DL'" in _code(mine.notebook, "injected-parameters")


def test_template_without_parameters_cell_is_a_user_error(tmp_path: Path, base) -> None:
    (tmp_path / "notebooks").mkdir()
    (tmp_path / jobs.TEMPLATE).write_text(json.dumps({"cells": []}), encoding="utf-8")
    with pytest.raises(UserInputError, match=r"_template_question.ipynb: needs exactly one"):
        jobs.plan_notebooks(tmp_path, base)


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["method"], "write KEY=VALUE"),
        (["estimator=DL"], "unknown key 'estimator' .allowed: method, test, level, prepost_r"),
        (["method=XX"], "method must be one of EE, DL"),
        (["test=t"], "test must be one of z, knha"),
        (["level=100"], "level 100.0 is not a percentage strictly between 1 and 100"),
        (["level=0.95"], "level 0.95 looks like a proportion; write 95"),
        (["prepost_r=2"], "prepost_r must be a number from -1 to 1"),
    ],
)
def test_bad_parameters_are_named(items: list[str], message: str) -> None:
    with pytest.raises(UserInputError, match=message):
        jobs.parse_params(items)


def test_variant_names() -> None:
    assert jobs.variant_name(jobs.parse_params(["method=DL"])) == "DL"
    assert jobs.variant_name(jobs.parse_params(["prepost_r=0.7", "test=knha"])) == (
        "knha_prepostr0.7"
    )


def test_why_names_inputs() -> None:
    assert jobs.why(None, {"a": "1"}) == ["not built before"]
    assert jobs.why({"record x": "1"}, {"record x": "1"}) == []


def test_project_root_from_a_subfolder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYNTHESIS_ROOT", raising=False)
    (tmp_path / "evidence" / "questions").mkdir(parents=True)
    deep = tmp_path / "notebooks" / "drafts" / "mine"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert project_root() == tmp_path.resolve()
    monkeypatch.chdir(tmp_path)
    assert project_root() == tmp_path.resolve()


def test_project_root_outside_a_project_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SYNTHESIS_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserInputError, match=r"no project found from .*set SYNTHESIS_ROOT"):
        project_root()
    monkeypatch.setenv("SYNTHESIS_ROOT", os.fspath(tmp_path))
    assert project_root() == tmp_path


def test_kernels_load_the_evidence_the_build_validated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, base
) -> None:
    import pickle

    from synthesis import notebook

    shared = tmp_path / "evidence.pickle"
    shared.write_bytes(pickle.dumps(base))
    monkeypatch.setenv("SYNTHESIS_ROOT", os.fspath(ROOT))
    monkeypatch.setenv("SYNTHESIS_EVIDENCE_PICKLE", os.fspath(shared))
    assert sorted(notebook.load().studies) == sorted(base.studies)
    shared.write_bytes(b"not a pickle")  # unreadable: the evidence is validated instead
    assert sorted(notebook.load().studies) == sorted(base.studies)
