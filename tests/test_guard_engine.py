"""Issue 14: what validate accepts, the engine and the reports accept too (items 8, 9)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from synthesis import notebook as nb
from synthesis.analysis import analyse, analyse_question
from synthesis.cli import main
from synthesis.grade import summary_of_findings
from synthesis.validate import load_evidence

from .conftest import ROOT, lift_pooling_rules

EMPATHY = """\
  - id: empathy
    name: Clinician empathy
    measure: ZCOR
    scale: Pearson correlation r between clinician mindfulness and empathy
    direction: higher is better
inclusion:"""


def copy_repo(root: Path, *, notebooks: bool = False) -> Path:
    shutil.copytree(ROOT / "evidence", root / "evidence")
    shutil.copy(ROOT / "references.bib", root / "references.bib")
    if notebooks:
        shutil.copytree(ROOT / "notebooks", root / "notebooks")
    return root


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, count), encoding="utf-8")


# -- item 8: a question outcome that no study reports yet -------------------------------


def test_outcome_no_study_reports_gives_empty_tables(tmp_path):
    root = copy_repo(tmp_path)
    edit(root / "evidence/questions/q1_alliance.yaml", "inclusion:", EMPATHY)
    base = load_evidence(root)
    a = analyse(base, "q1_alliance", "empathy")
    assert a.fit is None and a.rows == ()
    table = nb.effect_sizes(a)  # raised KeyError: the empty table had no columns
    assert table.empty and "estimate" in table.columns
    sof = summary_of_findings(base, analyse_question(base, "q1_alliance"))
    assert "empathy" in set(sof["outcome"]) or "Clinician empathy" in set(sof["outcome"])


@pytest.mark.slow
def test_build_with_an_outcome_no_study_reports(tmp_path, capsys):
    root = copy_repo(tmp_path, notebooks=True)
    edit(root / "evidence/questions/q1_alliance.yaml", "inclusion:", EMPATHY)
    code = main(["build", "--root", str(root), "--question", "q1_alliance", "--no-pdf"])
    out = capsys.readouterr()
    assert code == 0, out.err
    page = (root / "reports/academic/q1_alliance.html").read_text(encoding="utf-8")
    assert "Clinician empathy" in page
    # item 13: the commissioner page forbids script; item 17: reports/ follows the umask
    page = (root / "reports/commissioner/q1_alliance.html").read_text(encoding="utf-8")
    assert "script-src 'none'" in page
    mask = os.umask(0)
    os.umask(mask)
    assert (root / "reports").stat().st_mode & 0o777 == 0o777 & ~mask


# -- item 9: one vocabulary; what a question may ask, the engine can do -----------------


def test_pft_question_is_analysed(tmp_path, capsys):
    root = copy_repo(tmp_path)
    path = root / "evidence/questions/q3_open_dialogue.yaml"
    # the plan's pooling rules lifted, so that the two cohorts are pooled (the engine test)
    path.write_text(lift_pooling_rules(path.read_text(encoding="utf-8")), encoding="utf-8")
    edit(path, "measure: PLO", "measure: PFT", 99)
    assert main(["sof", "--root", str(root), "--question", "q3_open_dialogue"]) == 0
    out = capsys.readouterr().out
    assert "q3_open_dialogue / Returned to work or study" in out
    # pooled on the double-arcsine scale and back-transformed with the harmonic mean n
    # (metafor transf.ipft.hm): a proportion, inside its interval, inside [0, 1]
    a = analyse(load_evidence(root), "q3_open_dialogue", "work_or_study")
    nat = a.natural()
    assert a.k == 2 and nat is not None
    assert 0 <= nat.ci_lb <= nat.estimate <= nat.ci_ub <= 1
    table = a.study_table().dropna(subset=["estimate"])
    assert ((table["ci_lb"] <= table["estimate"]) & (table["estimate"] <= table["ci_ub"])).all()


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("level: 95", "level: 0.95", "analysis.level: error: confidence level 0.95 looks like "
                                     "a proportion; write 95"),
        ("method: REML", "method: FE2", "analysis.method: error: Input should be 'EE', 'DL'"),
        ("test: knha", "test: t", "analysis.test: error: Input should be 'z', 'knha' or 'adhoc'"),
        ("measure: ZCOR", "measure: ZZ", "outcomes[0].measure: error: Input should be 'ZCOR'"),
    ],
)  # fmt: skip
def test_question_vocabulary_is_refused_at_validate(tmp_path, capsys, old, new, expected):
    root = copy_repo(tmp_path)
    edit(root / "evidence/questions/q1_alliance.yaml", old, new)
    assert main(["validate", "--root", str(root)]) == 1
    out = capsys.readouterr().out
    assert "evidence/questions/q1_alliance.yaml:" in out and expected in out
    for command in ("sof", "map", "check"):
        assert main([command, "--root", str(root)]) == 1
        err = capsys.readouterr().err
        assert "Traceback" not in err and expected in err


def test_data_still_needed_is_shown_in_full():
    from synthesis.evidence_map import data_still_needed

    base = load_evidence(ROOT)
    gaps = data_still_needed(base)
    assert len(gaps) > 60  # more than pandas shows before truncating a table
    page = nb.data_still_needed(base).data
    assert f"<p>{len(gaps)} gaps.</p>" in page
    for needed in gaps["needed"]:
        assert __import__("html").escape(needed, quote=False) in page
