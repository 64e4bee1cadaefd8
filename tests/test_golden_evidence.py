"""Golden tests on the real evidence base: every pooled estimate, CI, k and verdict category.

Expected values are computed independently of the package by
tests/reference/golden_evidence.R from the records' raw numbers typed into the script
(metafor 3.8.1 escalc and rma; versions and the call in the JSON). The script applies the
analysis plan's pooling rules on its own (time-point window, designs, min_k): an outcome
left with fewer than min_k studies has each study's estimate and CI instead of a pooled
one (shown side by side). Counts are checked against hand counts in
tests/test_counts.py. When a record changes, update the R script's list and re-run it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synthesis.analysis import analyse, analyse_question
from synthesis.plain import verdict
from synthesis.validate import load_evidence
from tests.conftest import ROOT
from tests.tolerances import ITERATIVE

GOLDEN = json.loads((Path(__file__).parent / "reference" / "golden_evidence.json").read_text())
CASES = {(c["question"], c["outcome"]): c for c in GOLDEN["outcomes"]}


@pytest.fixture(scope="module")
def base():
    return load_evidence(ROOT)


def _list(value):
    """jsonlite writes a one-element vector as a scalar."""
    return value if isinstance(value, list) else [value]


def test_every_outcome_with_numbers_has_a_golden_value(base):
    with_numbers = {
        (q, a.outcome.id)
        for q in base.questions
        for a in analyse_question(base, q)
        if a.fit is not None or a.side_by_side
    }
    assert with_numbers <= set(CASES)
    pooled = {(q, a.outcome.id) for q in base.questions for a in analyse_question(base, q) if a.fit}
    assert pooled == {key for key, c in CASES.items() if c["pooled"]}


@pytest.mark.parametrize("key", sorted(CASES), ids=lambda k: k[1])
def test_pooled_estimate_ci_k_and_category(base, key):
    case = CASES[key]
    a = analyse(base, *key)
    assert a.k == case["k"]
    assert [r.study for r in a.pooled_rows] == _list(case["studies"])
    for row, yi, vi in zip(a.pooled_rows, _list(case["yi"]), _list(case["vi"]), strict=True):
        assert (row.yi, row.vi) == (
            pytest.approx(yi, abs=ITERATIVE),
            pytest.approx(vi, abs=ITERATIVE),
        )
    if case["pooled"]:
        nat = a.natural()
        got = [round(x, 4) for x in (nat.estimate, nat.ci_lb, nat.ci_ub)]
        assert got == [round(case[f], 4) for f in ("estimate", "ci_lb", "ci_ub")]
        assert verdict(nat.ci_lb, nat.ci_ub, a.outcome).category == case["category"]
        return
    # not pooled by the plan: no fit, each study's own estimate, CI and verdict
    assert a.fit is None and a.natural() is None
    table = a.study_table()
    shown = table[table.status == "pooled"]
    for col in ("estimate", "ci_lb", "ci_ub"):
        assert [round(x, 4) for x in shown[col]] == [round(x, 4) for x in _list(case[col])]
    cats = [verdict(r.ci_lb, r.ci_ub, a.outcome).category for r in shown.itertuples()]
    assert cats == _list(case["category"])


#: The words of each exclusion reason the R script names (synthesis.pooling_rules).
RULE_WORDS = {
    "time point not reported": "time point not reported",
    "outside window": "time point outside the window",
    "reference point": "counted from another reference point",
    "design": "is not among the designs",
}


@pytest.mark.parametrize("key", sorted(CASES), ids=lambda k: k[1])
def test_rows_the_plan_excludes_are_listed_with_the_reason(base, key):
    """Each study the R script keeps out under the plan's rules is excluded, with its
    reason, and still counted as also reporting, not pooled."""
    a = analyse(base, *key)
    other = {c.study for c in a.count.other}
    for study, rule in CASES[key]["excluded"].items():
        rows = [r for r in a.rows if r.study == study and RULE_WORDS[rule] in r.reason]
        assert rows and all(r.status == "excluded" for r in rows), (study, rule)
        assert study in other
