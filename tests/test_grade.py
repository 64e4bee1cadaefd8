"""GRADE certainty and the summary-of-findings table: each rule fires on data built for it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from synthesis.analysis import analyse, analyse_question
from synthesis.cli import main
from synthesis.grade import grade_outcome, statement, summary_of_findings
from synthesis.validate import load_evidence

from .conftest import MINI_STUDY


def add_study(project: Path, sid: str, r: float, n: int, *, design: str = "cross-sectional",
              rob: str | None = None, indirect: str | None = None) -> None:  # fmt: skip
    text = MINI_STUDY.replace("id: smith2020", f"id: {sid}\ncohort: {sid}").replace(
        "r: 0.30", f"r: {r}"
    )
    text = text.replace("      n: 50", f"      n: {n}").replace(
        "design: cross-sectional", f"design: {design}"
    )
    if indirect:
        text = text.replace("    source: abstract\n    data:", "    source: abstract\n"
                            f"    indirectness: {{judgement: {indirect}, reason: other population}}\n"
                            "    data:")  # fmt: skip
    if rob:
        text += (f"risk_of_bias:\n  tool: JBI\n  basis: abstract only\n  overall: {rob}\n"
                 "  overall_reason: built for a test\n")  # fmt: skip
    (project / "evidence" / "studies" / f"{sid}.yaml").write_text(text, encoding="utf-8")


def allow_designs(project: Path, *designs: str) -> None:
    path = project / "evidence" / "questions" / "q1_alliance.yaml"
    data = yaml.safe_load(path.read_text())
    data["designs"] = list(designs)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def certainty(project: Path, **kw):
    base = load_evidence(project)
    a = analyse(base, "q1_alliance", "alliance", **kw)
    return a, grade_outcome(base, a)


def step(c, domain):
    return next(s for s in c.steps if s.domain == domain)


def test_observational_starts_low_and_precise_consistent_evidence_stays_low(project):
    (project / "evidence/studies/smith2020.yaml").unlink()
    for i, r in enumerate((0.30, 0.31, 0.29)):
        add_study(project, f"s{i}", r, 300, rob="low")
    a, c = certainty(project)
    assert c.start == "low"
    assert [s.change for s in c.steps] == [0, 0, 0, 0, 0, 0]
    assert c.level == "low"
    assert statement(a, c) == (
        "Higher dispositional (trait) mindfulness of the clinician may go with higher "
        "therapeutic alliance / relationship quality. The 95% interval runs from a small "
        "positive association to a moderate positive association."
    )


def test_randomised_evidence_starts_high(project):
    allow_designs(project, "randomised controlled")
    (project / "evidence/studies/smith2020.yaml").unlink()
    for i, r in enumerate((0.30, 0.31, 0.29)):
        add_study(project, f"s{i}", r, 300, design="randomised controlled", rob="low")
    a, c = certainty(project)
    assert c.start == "high" and c.level == "high"
    assert statement(a, c).startswith(
        "Higher dispositional (trait) mindfulness of the clinician goes with higher"
    )


def test_risk_of_bias_rates_down(project):
    (project / "evidence/studies/smith2020.yaml").unlink()
    add_study(project, "s0", 0.3, 300, rob="high")
    add_study(project, "s1", 0.3, 300, rob="serious")
    add_study(project, "s2", 0.3, 300, rob="low")
    _, c = certainty(project)
    assert step(c, "risk of bias").change == -1
    assert "serious or high risk of bias" in step(c, "risk of bias").reason


def test_inconsistency_rates_down_on_considerable_heterogeneity(project):
    (project / "evidence/studies/smith2020.yaml").unlink()
    for i, r in enumerate((0.05, 0.6, 0.3, -0.2)):
        add_study(project, f"s{i}", r, 300, rob="low")
    a, c = certainty(project)
    assert a.fit.I2 >= 75
    assert step(c, "inconsistency").change == -1


def test_imprecision_single_small_study_is_two_levels(project):
    add_study(project, "smith2020", 0.1, 50, rob="low")
    _, c = certainty(project)
    imp = step(c, "imprecision")
    assert imp.change == -2
    # r = 0.1 (n = 50): the CI (about -0.18 to 0.37) runs from a small negative to a
    # moderate positive association, beyond the 0.1 threshold both ways
    assert "a single study" in imp.reason
    assert "both an important benefit and an important harm" in imp.reason
    assert c.level == "very low"


def test_indirectness_rates_down(project):
    (project / "evidence/studies/smith2020.yaml").unlink()
    for i in range(3):
        add_study(project, f"s{i}", 0.3, 300, rob="low", indirect="serious")
    _, c = certainty(project)
    assert step(c, "indirectness").change == -1
    assert "other population" in step(c, "indirectness").reason


def test_large_effect_rates_up_observational_evidence(project):
    (project / "evidence/studies/smith2020.yaml").unlink()
    for i, r in enumerate((0.6, 0.62, 0.58)):
        add_study(project, f"s{i}", r, 400, rob="low")
    _, c = certainty(project)
    assert step(c, "large effect").change == 1
    assert c.level == "moderate"


def test_override_from_question_file_replaces_the_step(project):
    (project / "evidence/studies/smith2020.yaml").unlink()
    for i, r in enumerate((0.30, 0.31, 0.29)):
        add_study(project, f"s{i}", r, 300, rob="low")
    path = project / "evidence" / "questions" / "q1_alliance.yaml"
    data = yaml.safe_load(path.read_text())
    data["grade_overrides"] = [{"outcome": "alliance", "domain": "publication bias",
                                "change": -1, "reason": "all studies from one research group"}]  # fmt: skip
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    _, c = certainty(project)
    pb = step(c, "publication bias")
    assert pb.overridden and pb.change == -1
    assert c.level == "very low"
    assert "(reviewers' judgement)" in " ".join(c.reasons())


def test_bad_override_is_a_validation_error(project, capsys):
    path = project / "evidence" / "questions" / "q1_alliance.yaml"
    data = yaml.safe_load(path.read_text())
    data["grade_overrides"] = [{"outcome": "alliance", "domain": "vibes", "change": -3,
                                "reason": "x"}]  # fmt: skip
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    assert main(["validate", str(project)]) == 1
    out = capsys.readouterr().out
    assert "grade_overrides[0].domain" in out and "grade_overrides[0].change" in out


def test_summary_of_findings_and_csv(project, capsys):
    base = load_evidence(project)
    table = summary_of_findings(base, analyse_question(base, "q1_alliance"))
    assert list(table.columns) == ["outcome", "participants (studies)", "effect (95% CI)",
                                   "certainty", "reasons", "what this means"]  # fmt: skip
    assert table.loc[0, "participants (studies)"] == "50 (1)"
    assert main(["sof", "--root", str(project), "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("question,outcome,participants (studies)")


def test_sof_unknown_question(project, capsys):
    assert main(["sof", "--root", str(project), "--question", "nope"]) == 1
    assert "question 'nope' does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("qid", ["q1_alliance", "q2_mindfulness_training", "q3_open_dialogue"])
def test_every_real_outcome_gets_a_certainty_with_reasons(qid):
    from .conftest import ROOT

    base = load_evidence(ROOT)
    table = summary_of_findings(base, analyse_question(base, qid))
    assert len(table) == len(base.questions[qid].outcomes)
    for row in table.to_dict("records"):
        assert row["certainty"].split()[-1] in ("high", "moderate", "low", "evidence")
        assert row["what this means"]
