"""Synthesis without meta-analysis in the review: votes per outcome, derived-from-p effect
sizes, the plain sentences, GRADE for direction-only outcomes, and the two SWiM plots.

Hand counts: a sign test of k favourable out of k has two-sided p = 2 * 0.5**k (6 of 6:
0.03125; 2 of 2: 0.5); 1 of 2: p = 1.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from synthesis import notebook as nb
from synthesis.analysis import analyse, analyse_question
from synthesis.grade import describe, grade_outcome, summary_of_findings
from synthesis.plain import votes_sentence
from synthesis.plots import albatross, effect_direction, forest
from synthesis.swim_outcomes import outcome_swim, question_swim
from synthesis.validate import load_evidence

from .conftest import MINI_BIB, ROOT

STUDENT = """\
id: {sid}
citation: {sid}trial
label: {label}
design: randomised controlled
status: published
population:
  description: Ward nurses
  n: {n}
  source: abstract
sources:
  abstract:
    doi: 10.1000/{sid}
    where: abstract
outcomes:
  - question: q2_mindfulness_training
    outcome: self_compassion_controlled
    name: Self-compassion, training versus waitlist
    source: abstract
    data:
      kind: narrative
      direction: {direction}
      p: {p}
      test: two-sample t
      n1: {n1}
      n2: {n2}
      missing: group means and SDs
"""


def _bib(sid: str) -> str:
    return (
        f"@article{{{sid}trial,\n  author = {{Lee, Ann}},\n  title = {{A trial}},\n"
        f"  journal = {{J Tests}}, year = {{2024}}, volume = {{1}}, pages = {{1--9}},\n"
        f"  doi = {{10.1000/{sid}}}}}\n"
    )


def _student_project(project: Path, *, from_p: bool = True) -> Path:
    """The student's p-only two-group result (p = .032, n 25 and 23) and a second study."""
    studies = project / "evidence" / "studies"
    (studies / "lee2024.yaml").write_text(
        STUDENT.format(sid="lee2024", label="Lee 2024", n=48, direction="favours intervention",
                       p=0.032, n1=25, n2=23),
        encoding="utf-8",
    )  # fmt: skip
    (studies / "kim2023.yaml").write_text(
        STUDENT.format(sid="kim2023", label="Kim 2023", n=60, direction="favours comparator",
                       p=0.4, n1=30, n2=30),
        encoding="utf-8",
    )  # fmt: skip
    (project / "references.bib").write_text(
        MINI_BIB + _bib("lee2024") + _bib("kim2023"), encoding="utf-8"
    )
    path = project / "evidence" / "questions" / "q2_mindfulness_training.yaml"
    data = yaml.safe_load(path.read_text())
    data.setdefault("analysis", {})["effects_from_p"] = from_p
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return project


def test_student_p_only_result_votes_plots_and_becomes_a_derived_smd(project):
    base = load_evidence(_student_project(project))
    a = analyse(base, "q2_mindfulness_training", "self_compassion_controlled")
    row = next(r for r in a.rows if r.study == "lee2024")
    # the vote count: Lee favours the intervention, Kim the comparator -> 1 of 2, p = 1
    swim = outcome_swim(a)
    assert {r.study: r.direction for r in swim.voters} == {"lee2024": 1, "kim2023": -1}
    assert (swim.votes.positive, swim.votes.negative, swim.votes.sign_test_p) == (1, 1, 1.0)
    assert "1 of 2 studies found benefit (1 harm)" in votes_sentence(a)
    # the albatross plot draws it at its p and n
    fig = albatross([swim])
    assert fig is not None and "Lee 2024: n = 48, p = 0.032." in fig.alt
    assert "<desc>" in fig.svg() and "Albatross plot" in fig.svg()
    # and, with effects_from_p in the plan, a derived SMD (hand value in test_swim.py:
    # g = 0.628512 from qt(0.984, 46) = 2.211626 and J(46) = 0.983592)
    assert row.status == "pooled" and row.from_p and row.derived
    assert row.yi == pytest.approx(0.628512, abs=1e-6)
    assert row.vi == pytest.approx(1 / 25 + 1 / 23 + row.yi**2 / 96, abs=1e-12)
    assert row.es_method.startswith("derived from p: two-sample t test, p = 0.032")
    kim = next(r for r in a.rows if r.study == "kim2023")
    assert kim.yi < 0  # favours the comparator: the sign comes from the direction
    assert a.fit is not None and a.k == 2
    # the academic table and the forest plot say "derived from p"
    assert bool(nb.effect_sizes(a).loc["Lee 2024", "derived from p"]) is True
    assert "Lee 2024 (derived from p)" in forest(a).svg()


def test_without_the_plan_the_p_only_result_is_not_converted(project):
    base = load_evidence(_student_project(project, from_p=False))
    a = analyse(base, "q2_mindfulness_training", "self_compassion_controlled")
    row = next(r for r in a.rows if r.study == "lee2024")
    assert row.status == "narrative" and not row.from_p and math.isnan(row.yi)
    assert outcome_swim(a).votes.positive == 1  # it still votes


def test_a_bounded_p_is_never_pooled(project):
    _student_project(project)
    path = project / "evidence" / "studies" / "lee2024.yaml"
    path.write_text(path.read_text().replace("p: 0.032", 'p: 0.05\n      p_bound: "<"'))
    base = load_evidence(project)
    a = analyse(base, "q2_mindfulness_training", "self_compassion_controlled")
    row = next(r for r in a.rows if r.study == "lee2024")
    assert row.status == "not poolable" and "is a bound, not a value" in row.reason
    assert math.isnan(row.yi)


@pytest.fixture(scope="module")
def real():
    base = load_evidence(ROOT)
    return base, {q: analyse_question(base, q) for q in sorted(base.questions)}


def test_every_outcome_with_two_directions_shows_a_vote_count_and_sign_test(real):
    _, analyses = real
    shown = 0
    for qid, an in analyses.items():
        html = nb.vote_counts(an).data
        for s in question_swim(an):
            if len(s.voters) >= 2:
                shown += 1
                assert s.votes is not None
                v = s.votes
                assert math.isfinite(v.sign_test_p) or v.positive + v.negative == 0
                assert s.analysis.outcome.name in html, (qid, s.analysis.outcome.id)
            else:
                assert s.votes is None
    assert shown >= 10


def test_hand_counted_votes_on_the_real_evidence(real):
    _, analyses = real
    by_id = {s.analysis.outcome.id: s for s in question_swim(analyses["q2_mindfulness_training"])}
    ee = by_id["emotional_exhaustion"].votes  # six pre-post studies, all lower after training
    assert (ee.positive, ee.negative, ee.null) == (6, 0, 0)
    assert ee.sign_test_p == pytest.approx(2 * 0.5**6)
    q3 = {s.analysis.outcome.id: s for s in question_swim(analyses["q3_open_dialogue"])}
    hosp = q3["hospitalisation"]
    # Western Lapland (one cohort: Seikkula 2006 counted, p < .001) and Bergström 2023
    # (HR 0.61 for out-of-home care, adolescents): both favour Open Dialogue
    assert (hosp.votes.positive, hosp.votes.k) == (2, 2)
    assert hosp.votes.sign_test_p == pytest.approx(0.5)
    assert hosp.combined is not None and hosp.combined.bound == "<="


def test_commissioner_words_and_grade_for_a_direction_only_outcome(real):
    base, analyses = real
    a = next(x for x in analyses["q3_open_dialogue"] if x.outcome.id == "hospitalisation")
    assert a.fit is None and not a.pooled_rows
    text = describe(a, base)
    assert "2 of 2 studies found benefit; this could be chance with probability 0.50" in text
    sof = summary_of_findings(base, [a])
    assert sof.iloc[0, 2].startswith("direction only: 2 of 2 studies found benefit")
    step = next(s for s in grade_outcome(base, a).steps if s.domain == "imprecision")
    assert step.change == -2 and "only the direction of effect is known" in step.reason


@pytest.mark.parametrize("qid", ["q2_mindfulness_training", "q3_open_dialogue"])
def test_q2_and_q3_have_both_swim_plots_with_text_alternatives(real, qid):
    _, analyses = real
    swims = question_swim(analyses[qid])
    for fig in (albatross(swims), effect_direction(swims)):
        assert fig is not None and fig.title and fig.alt
        svg = fig.svg()
        assert svg.startswith("<svg") and 'role="img"' in svg and "<title>" in svg
    # deterministic: the same inputs give the same bytes
    assert albatross(swims).svg() == albatross(question_swim(analyses[qid])).svg()


def test_swim_items_answer_all_nine(real):
    base, analyses = real
    html = nb.swim_items(base, analyses["q2_mindfulness_training"]).data
    for i in range(1, 10):
        assert f"<th>{i}. " in html
    assert "Emotional exhaustion" in html and "sign test p = 0.031" in html


def test_no_direction_gives_no_plot(project):
    base = load_evidence(project)
    an = analyse_question(base, "q3_open_dialogue")
    assert effect_direction(question_swim(an)) is None
    assert albatross(question_swim(an)) is None
    assert "No result has both a p value" in nb.albatross_plot(an).data
