"""The analysis plan's pooling rules (synthesis.pooling_rules): time-point windows, designs
per outcome and the fewest studies pooled, from the question file to the pages.

Small projects: the real questions with the pooling rules lifted (``project``), then the
rule under test written into Q3's ``work_or_study`` (a single-group proportion): three
cohorts at 1, 2 and 5 years after the start of treatment.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from synthesis.analysis import analyse
from synthesis.cli import main
from synthesis.pooling_rules import WEEKS_PER_MONTH, WEEKS_PER_YEAR, plan_text
from synthesis.validate import load_evidence
from tests.conftest import ROOT, without_pooling_rules

QUESTION = "evidence/questions/q3_open_dialogue.yaml"

COHORT = """\
id: {id}
citation: smith2020mind
design: {design}
status: published
cohort: {id}
population:
  description: People with first-episode psychosis
  n: {n}
  source: abstract
sources:
  abstract:
    doi: 10.1000/test.1
    where: abstract
outcomes:
  - question: q3_open_dialogue
    outcome: work_or_study
    name: Working or studying
    timepoint: {timepoint}
{weeks}    source: abstract
    data:
      kind: proportion
      events: {events}
      n: {n}
"""


def cohort(
    project: Path,
    sid: str,
    years: float | None,
    events: int,
    n: int,
    design: str = "cohort",
) -> None:
    weeks = ""
    if years is not None:
        weeks = (
            f"    timepoint_weeks: {{value: {years * WEEKS_PER_YEAR:.2f}, derived: "
            f'"{years:g} years x 52.18 weeks per year"}}\n    timepoint_from: baseline\n'
        )
    text = COHORT.format(
        id=sid,
        design=design,
        n=n,
        events=events,
        timepoint=f"{years:g} years" if years is not None else "not stated",
        weeks=weeks,
    )
    (project / "evidence" / "studies" / f"{sid}.yaml").write_text(text, encoding="utf-8")


def set_rules(project: Path, outcome: str = "work_or_study", **rules: object) -> None:
    """Write pooling rules into one outcome of Q3 (and ``analysis`` keys with a dot)."""
    path = project / QUESTION
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    spec = next(o for o in data["outcomes"] if o["id"] == outcome)
    for key, value in rules.items():
        if key.startswith("analysis."):
            data["analysis"][key.removeprefix("analysis.")] = value
        else:
            spec[key] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


WINDOW = {
    "timepoint_from": "baseline",
    "min_weeks": 104,
    "max_weeks": 261,
    "reason": "two to five years after the start of treatment",
}


@pytest.fixture
def three(project: Path) -> Path:
    (project / "evidence" / "studies" / "smith2020.yaml").unlink()
    cohort(project, "early", 1, 9, 14, design="case series")
    cohort(project, "mid", 2, 30, 40)
    cohort(project, "late", 5, 36, 42)
    return project


def test_weeks_per_month_and_year():
    assert (round(WEEKS_PER_YEAR, 2), round(WEEKS_PER_MONTH, 3)) == (52.18, 4.348)


def test_a_row_outside_the_window_is_excluded_with_its_reason(three):
    set_rules(three, timepoint_window=WINDOW)
    a = analyse(load_evidence(three), "q3_open_dialogue", "work_or_study")
    early = next(r for r in a.rows if r.study == "early")
    assert early.status == "excluded"
    assert early.reason == (
        "time point outside the window: 1 years (52.18 weeks after baseline); the plan pools "
        "104 to 261 weeks after baseline (about 2 to 5 years) (two to five years after the "
        "start of treatment)"
    )
    assert [r.study for r in a.pooled_rows] == ["late", "mid"] and a.fit is not None
    # still visible: counted as also reporting, not pooled
    assert a.count.text() == "82 (2); also reporting, not pooled: 14 (1)"


def test_ignoring_the_window_would_pool_it(three):
    """The same project without the window pools all three: the window is what differs."""
    a = analyse(load_evidence(three), "q3_open_dialogue", "work_or_study")
    assert a.k == 3 and a.count.text() == "96 (3)"


def test_a_time_point_not_reported_is_excluded_unless_the_window_includes_it(three):
    cohort(three, "unknown", None, 20, 30)
    set_rules(three, timepoint_window=WINDOW)
    a = analyse(load_evidence(three), "q3_open_dialogue", "work_or_study")
    row = next(r for r in a.rows if r.study == "unknown")
    assert row.status == "excluded"
    assert row.reason.startswith("time point not reported in weeks ('not stated'); the plan")
    set_rules(three, timepoint_window={**WINDOW, "not_reported": "include"})
    a = analyse(load_evidence(three), "q3_open_dialogue", "work_or_study")
    assert {r.study for r in a.pooled_rows} == {"late", "mid", "unknown"}


def test_a_time_point_from_another_reference_point_is_excluded(three):
    path = three / "evidence" / "studies" / "mid.yaml"
    path.write_text(
        path.read_text().replace("from: baseline", "from: end of intervention"), encoding="utf-8"
    )
    set_rules(three, timepoint_window=WINDOW)
    row = next(
        r
        for r in analyse(load_evidence(three), "q3_open_dialogue", "work_or_study").rows
        if r.study == "mid"
    )
    assert row.status == "excluded"
    assert row.reason.startswith("time point counted from another reference point: 2 years")


def test_a_design_not_allowed_for_the_outcome_is_excluded(three):
    set_rules(three, designs=["cohort", "historical cohort comparison"])
    a = analyse(load_evidence(three), "q3_open_dialogue", "work_or_study")
    early = next(r for r in a.rows if r.study == "early")
    assert (early.status, early.reason) == (
        "excluded",
        "design 'case series' is not among the designs pooled for this outcome "
        "(cohort, historical cohort comparison)",
    )
    assert a.k == 2


def test_below_min_k_the_studies_are_shown_side_by_side(three):
    set_rules(
        three,
        timepoint_window=WINDOW,
        min_k=3,
        min_k_reason="two cohorts give a t on 1 df under Knapp-Hartung",
    )
    base = load_evidence(three)
    a = analyse(base, "q3_open_dialogue", "work_or_study")
    assert a.fit is None and a.side_by_side and a.natural() is None
    assert a.reason == (
        "2 studies with usable numbers, shown side by side: the analysis plan pools at least 3 "
        "(two cohorts give a t on 1 df under Knapp-Hartung)"
    )
    from synthesis.brief import sof_rows
    from synthesis.grade import describe
    from synthesis.notebook import pooled_details
    from synthesis.plain import effect_text, statement

    # academic page: a table of each study, no pooled number
    html = pooled_details(a).data
    assert 'class="side-by-side"' in html and "diamond" not in html
    assert html.count('<tr><th scope="row">') == 2
    assert "<td>86% (" in html and "<td>75% (" in html  # 36/42 and 30/40
    text = describe(a, base)
    assert "The studies side by side: " in text and "combined" not in text
    assert effect_text(a).startswith("not pooled, side by side: ")
    # commissioner page: no combined number is headlined
    words = statement(a, "very low")
    assert "no combined result" in words and "%" not in words
    row = next(r for r in sof_rows(base, [a])[0] if r.analysis is a)
    assert row.absolute == "not combined"  # each study: in the detail (forest plot, text)
    assert "Too few studies to combine" in row.comments


def test_plan_text_states_every_rule(three):
    set_rules(three, timepoint_window=WINDOW, designs=["cohort"])
    q = load_evidence(three).questions["q3_open_dialogue"]
    spec = next(o for o in q.outcomes if o.id == "work_or_study")
    assert plan_text(q, spec) == (
        "Time points 104 to 261 weeks after baseline (about 2 to 5 years) are pooled; results "
        "without a time point are not (two to five years after the start of treatment); "
        "designs pooled: cohort; at least 2 studies are pooled, fewer are shown side by side."
    )


# ----------------------------------------------------------------------- validation


def run(project: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["validate", str(project)])
    out = capsys.readouterr()
    text = out.out + out.err
    assert "Traceback" not in text
    return code, text


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ({"timepoint_window": {**WINDOW, "timepoint_from": "start"}},
         r"q3_open_dialogue.yaml:\d+: outcomes\[0\].timepoint_window.timepoint_from: error: "
         r"Input should be 'baseline' or 'end of intervention'"),
        ({"timepoint_window": {**WINDOW, "max_weeks": 52}},
         r"q3_open_dialogue.yaml:\d+: outcomes\[0\].timepoint_window: error: max_weeks \(52\) "
         r"is below min_weeks \(104\)"),
        ({"timepoint_window": {"timepoint_from": "baseline", "min_weeks": 0}},
         r"outcomes\[0\].timepoint_window.reason: error: required field 'reason' is missing"),
        ({"designs": ["cohort", "pre-post"]},
         r"q3_open_dialogue.yaml:\d+: outcomes\[0\].designs\[1\]: error: design 'pre-post' is "
         r"not among the question's designs \(allowed: cohort, historical cohort comparison"),
        ({"designs": ["cohrt"]},
         r"outcomes\[0\].designs\[0\]: error: Input should be 'cross-sectional', 'pre-post'"),
        ({"min_k": 3},
         r"q3_open_dialogue.yaml:\d+: outcomes\[0\]: error: an outcome's min_k needs "
         r"min_k_reason saying why"),
    ],
    ids=["window-from", "window-order", "window-reason", "design-not-in-question",
         "design-unknown", "min-k-reason"],
)  # fmt: skip
def test_bad_rules_are_located(project, capsys, rules, expected):
    set_rules(project, **rules)
    code, text = run(project, capsys)
    assert code == 1
    assert re.search(expected, text), text


@pytest.mark.parametrize(
    ("weeks", "expected"),
    [
        ("    timepoint_weeks: 52.18\n",
         r"mid.yaml:\d+: outcomes\[0\]: error: timepoint_weeks and timepoint_from go together: "
         r"give both \(timepoint_from: baseline or end of intervention\) or neither"),
        ("    timepoint_weeks: -1\n    timepoint_from: baseline\n",
         r"outcomes\[0\]: error: timepoint_weeks must be 0 or more"),
        ("    timepoint_weeks: 52\n    timepoint_from: start of treatment\n",
         r"outcomes\[0\].timepoint_from: error: Input should be 'baseline' or 'end of "
         r"intervention'"),
    ],
    ids=["weeks-without-from", "negative-weeks", "unknown-from"],
)  # fmt: skip
def test_bad_record_time_points_are_located(three, capsys, weeks, expected):
    path = three / "evidence" / "studies" / "mid.yaml"
    text = re.sub(
        r"    timepoint_weeks: .*\n    timepoint_from: baseline\n", weeks, path.read_text()
    )
    path.write_text(text, encoding="utf-8")
    code, out = run(three, capsys)
    assert code == 1
    assert re.search(expected, out), out


# ----------------------------------------------------------------------- the real plan


@pytest.fixture(scope="module")
def base():
    return load_evidence(ROOT)


def test_real_q3_work_or_study_keeps_the_one_year_case_series_out(base):
    a = analyse(base, "q3_open_dialogue", "work_or_study")
    gordon = next(r for r in a.rows if r.study == "gordon2016")
    assert gordon.status == "excluded" and "52.18 weeks after baseline" in gordon.reason
    assert [r.study for r in a.pooled_rows] == ["seikkula2006"] and a.fit is None
    # without the plan's rules the two were pooled: 78% (0% to 100%) in the issue
    lifted = analyse(without_pooling_rules(base), "q3_open_dialogue", "work_or_study")
    assert lifted.k == 2 and round(lifted.natural().estimate, 2) == 0.78


def test_real_q2_emotional_exhaustion_pools_no_long_follow_up(base):
    a = analyse(base, "q2_mindfulness_training", "emotional_exhaustion")
    status = {(r.study, r.timepoint[:9]): r.status for r in a.rows}
    assert status[("fortney2013", "1 day pos")] == "pooled"
    assert status[("fortney2013", "9 months ")] == "excluded"
    assert status[("krasner2009", "over the ")] == "excluded"
    assert a.side_by_side and a.k == 2


def test_every_candidate_row_of_a_windowed_outcome_has_its_time_point_or_a_reason(base):
    """Each row that would otherwise be pooled either has timepoint_weeks in its record or
    is excluded as 'time point not reported' (never a guessed time point)."""
    lifted = without_pooling_rules(base)
    for qid, q in base.questions.items():
        for spec in q.outcomes:
            if spec.timepoint_window is None:
                continue
            real = {(r.study, r.timepoint): r for r in analyse(base, qid, spec.id).rows}
            for r in analyse(lifted, qid, spec.id).pooled_rows:
                oc = next(
                    o
                    for o in base.studies[r.study].outcomes
                    if (o.question, o.outcome, o.timepoint or "") == (qid, spec.id, r.timepoint)
                )
                got = real[(r.study, r.timepoint)]
                if oc.timepoint_weeks is None:
                    assert got.reason.startswith("time point not reported"), (qid, r.study)
                else:
                    assert oc.timepoint_from == spec.timepoint_window.timepoint_from


def test_the_module_examples_run():
    import doctest

    import synthesis.pooling_rules as module

    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 2 and result.failed == 0


def test_the_pages_state_the_plans_choice(base):
    from synthesis.analysis import analyse_question
    from synthesis.notebook import key_findings, settings_note

    analyses = analyse_question(base, "q3_open_dialogue")
    shared = key_findings(base, analyses).data  # on both pages, under the results
    assert "Results are combined only from about 2 to 5 years after baseline and when at " in shared
    academic = settings_note(analyses).data
    assert "104 to 261 weeks after baseline (about 2 to 5 years) are pooled" in academic
