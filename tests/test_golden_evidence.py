"""Golden tests on the real evidence base: every pooled estimate, CI, k and verdict category.

Expected values are computed independently of the package by
tests/reference/golden_evidence.R from the records' raw numbers typed into the script
(metafor 3.8.1 escalc and rma; versions and the call in the JSON). Counts are checked
against hand counts in tests/test_counts.py. When a record changes, update the R script's
list and re-run it.
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


def test_every_pooled_outcome_has_a_golden_value(base):
    pooled = {(q, a.outcome.id) for q in base.questions for a in analyse_question(base, q) if a.fit}
    assert pooled == set(CASES)


@pytest.mark.parametrize("key", sorted(CASES), ids=lambda k: k[1])
def test_pooled_estimate_ci_k_and_category(base, key):
    case = CASES[key]
    a = analyse(base, *key)
    assert a.k == case["k"]
    assert [r.study for r in a.pooled_rows] == case["studies"]
    for row, yi, vi in zip(a.pooled_rows, case["yi"], case["vi"], strict=True):
        assert (row.yi, row.vi) == (
            pytest.approx(yi, abs=ITERATIVE),
            pytest.approx(vi, abs=ITERATIVE),
        )
    nat = a.natural()
    got = [round(x, 4) for x in (nat.estimate, nat.ci_lb, nat.ci_ub)]
    assert got == [round(case[f], 4) for f in ("estimate", "ci_lb", "ci_ub")]
    assert verdict(nat.ci_lb, nat.ci_ub, a.outcome).category == case["category"]
