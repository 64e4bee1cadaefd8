"""test = "adhoc" (Knapp & Hartung's ad hoc truncation, s² >= 1) against metafor.

Reference values: tests/reference/adhoc_reference.json, made by
tests/reference/adhoc_reference.R (metafor 3.8.1, R 4.2; the call is in each case).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synthesis.stats import rma
from tests.tolerances import ITERATIVE

CASES = json.loads((Path(__file__).parent / "reference" / "adhoc_reference.json").read_text())[
    "cases"
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['data']}-{c['method']}-{c['test']}")
def test_rma_matches_metafor(case):
    fit = rma(case["yi"], case["vi"], method=case["method"], test=case["test"])
    for field in ("estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "tau2"):
        assert getattr(fit, field) == pytest.approx(case[field], rel=ITERATIVE, abs=ITERATIVE), (
            field
        )


def test_adhoc_is_never_narrower_than_z():
    for case in CASES:
        z = rma(case["yi"], case["vi"], method=case["method"], test="z")
        adhoc = rma(case["yi"], case["vi"], method=case["method"], test="adhoc")
        assert adhoc.ci_ub - adhoc.ci_lb >= z.ci_ub - z.ci_lb - 1e-12
        assert adhoc.df == len(case["yi"]) - 1
