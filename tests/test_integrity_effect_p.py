"""A reported effect size against its reported p (synthesis.integrity, code effect-p).

Reference p values computed in R 4.2 (printed beside each case):
f <- function(d, n1, n2) 2 * pt(-abs(d) / sqrt(1/n1 + 1/n2), n1 + n2 - 2)
f(0.24, 74, 74) = 0.146476 (0.138309 to 0.155011 for d = 0.245 and 0.235);
f(0.5, 40, 40) = 0.028205; MD 2 with 95% CI [0.5, 3.5]: 2 * pnorm(-2 / (1.5 / qnorm(.975)))
= 0.008968; OR 2 [1.2, 3.33]: 2 * pnorm(-log(2) / ((log(3.33) - log(1.2)) / (2 * qnorm(.975))))
= 0.007765.
"""

from __future__ import annotations

import pytest

from synthesis.analysis import analyse
from synthesis.integrity import check_evidence, check_outcome
from synthesis.records import Study
from synthesis.validate import load_evidence
from tests.conftest import ROOT


def study(**data):
    return Study.model_validate(
        {
            "id": "s", "citation": "s", "design": "randomised controlled", "status": "published",
            "population": {"description": "x", "n": 148},
            "outcomes": [{"question": "q", "outcome": "o", "name": "o",
                          "source": {"doi": "10.1/x", "where": "abstract"},
                          "data": {"kind": "reported_effect", **data}}],
        }
    )  # fmt: skip


def codes(**data):
    return [(p.code, p.severity) for p in check_outcome(study(**data), 0) if p.code == "effect-p"]


def test_verweij_like_d_and_p_disagree_on_significance():
    flags = check_outcome(study(metric="d", estimate=0.24, p=0.028, n=148), 0)
    (flag,) = [f for f in flags if f.code == "effect-p"]
    assert flag.severity == "error"
    assert "t(146) = 1.46, p = 0.1465 (0.1383 to 0.155 allowing rounding)" in flag.message
    assert "equal split of n = 148 ASSUMED" in flag.message
    assert "disagree" not in flag.message and "is significant at 0.05" in flag.message
    assert "no split of n fits" in flag.message


def test_consistent_effects_pass():
    assert codes(metric="d", estimate=0.5, p=0.028, n1=40, n2=40) == []  # p = 0.028205
    assert codes(metric="MD", estimate=2.0, ci=[0.5, 3.5], p=0.009) == []  # 0.008968
    assert codes(metric="OR", estimate=2.0, ci=[1.2, 3.33], p=0.008) == []  # 0.007765
    assert codes(metric="d", estimate=0.5, p=0.05, p_bound="<", n1=40, n2=40) == []


def test_inconsistent_md_and_ratio_and_bounded_p():
    # without the record text 2.0 counts as "2" (±0.5): z from 1.9 up, p at most 0.058
    assert ("effect-p", "error") in codes(metric="MD", estimate=2.0, ci=[0.5, 3.5], p=0.2)
    assert ("effect-p", "error") in codes(metric="OR", estimate=2.0, ci=[1.2, 3.33], p=0.2)
    assert ("effect-p", "error") in codes(
        metric="d", estimate=0.5, p=0.001, p_bound="<", n1=40, n2=40
    )


def test_without_group_sizes_or_p_there_is_nothing_to_check():
    assert codes(metric="d", estimate=0.24, p=0.028) == []
    assert codes(metric="d", estimate=0.24, n=148) == []


@pytest.fixture(scope="module")
def base():
    return load_evidence(ROOT)


def test_synthesis_check_flags_verweij_2018_and_the_record_explains_it(base):
    report = check_evidence(base)
    flags = [p for p in report.problems if "verweij2018" in p.file and p.code == "effect-p"]
    assert len(flags) == 2  # personal accomplishment (p .028) and self-compassion (p .010)
    pa = next(f for f in flags if "p = 0.028" in f.message)
    assert "is significant at 0.05 and the recomputed one is not" in pa.message
    assert pa in report.explained and "reported p is not used" in report.explained[pa]
    a = analyse(base, "q2_mindfulness_training", "personal_accomplishment_controlled")
    (row,) = a.pooled_rows
    assert row.study == "verweij2018" and "integrity: reported p = 0.028" in row.reason
