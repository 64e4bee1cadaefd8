"""synthesis.stats against R's metafor.

Every case in ``tests/reference/escalc_reference.json`` was computed by metafor's
``escalc`` (or one of its back-transformations) in
``tests/reference/escalc_reference.R``; the JSON records the R call, the inputs and
the options. R is not needed here: re-run the script only to refresh the JSON.
Closed-form formulas, so agreement is to ``CLOSED_FORM`` (relative and absolute).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from synthesis.stats import (
    escalc_table,
    transf_exp,
    transf_ilogit,
    transf_ipft_hm,
    transf_ztor,
)
from tests.tolerances import CLOSED_FORM

REFERENCE = Path(__file__).parent / "reference" / "escalc_reference.json"
DATA = json.loads(REFERENCE.read_text(encoding="utf-8"))
CASES = {case["name"]: case for case in DATA["cases"]}

#: The full grid written by escalc_reference.R: a case dropped from the JSON (or
#: renamed) fails test_reference_case_names.
EXPECTED_CASE_NAMES = {
    "ZCOR_molloy2014",
    "COR_molloy2014",
    "SMD_normand1999",
    "MD_normand1999",
    "SMD_small_and_large_n",
    "MD_small_and_large_n",
    "SMCC_constructed",
    "SMCR_constructed",
    "SMCC_constructed_r0.5",
    "SMCR_constructed_r0.5",
    "OR_bcg",
    "OR_bcg_n1i_n2i",
    "RR_bcg",
    "RR_bcg_n1i_n2i",
    "RD_bcg",
    "RD_bcg_n1i_n2i",
    "OR_yusuf1985_tab6",
    "OR_yusuf1985_tab6_drop00",
    "RR_yusuf1985_tab6",
    "RR_yusuf1985_tab6_drop00",
    "RD_yusuf1985_tab6",
    "RD_yusuf1985_tab6_drop00",
    "OR_zero_only0",
    "OR_zero_only0_drop00",
    "OR_zero_all",
    "OR_zero_if0all",
    "OR_zero_none",
    "OR_zero_all_add1",
    "OR_zero_if0all_drop00",
    "RR_zero_only0",
    "RR_zero_only0_drop00",
    "RR_zero_all",
    "RR_zero_if0all",
    "RR_zero_none",
    "RR_zero_all_add1",
    "RR_zero_if0all_drop00",
    "RD_zero_only0",
    "RD_zero_only0_drop00",
    "RD_zero_all",
    "RD_zero_if0all",
    "RD_zero_none",
    "RD_zero_all_add1",
    "RD_zero_if0all_drop00",
    "OR_bcg_if0all",
    "PLO_pritz1997",
    "PR_pritz1997",
    "PFT_pritz1997",
    "PLO_zero_only0",
    "PLO_zero_all",
    "PLO_zero_if0all",
    "PLO_zero_none",
    "PLO_zero_only0_add0.5",
    "PR_zero_only0",
    "PR_zero_all",
    "PR_zero_if0all",
    "PR_zero_none",
    "PR_zero_only0_add0.5",
    "PFT_zero_only0",
    "PFT_zero_all",
    "PFT_zero_if0all",
    "PFT_zero_none",
    "PFT_zero_only0_add0.5",
    "GEN_supplied",
    "transf.ztor_molloy2014",
    "transf.ztor_grid",
    "transf.ilogit_pritz1997",
    "transf.ilogit_grid",
    "exp_grid",
    "transf.ipft.hm_pritz1997",
    "transf.ipft.hm_grid",
}


def _array(values: list[Any]) -> np.ndarray:
    """JSON list (null for R's NA) -> float array with NaN."""
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _close(actual: Any, expected: list[Any], what: str) -> None:
    np.testing.assert_allclose(
        np.asarray(actual, dtype=float),
        _array(expected),
        rtol=CLOSED_FORM,
        atol=CLOSED_FORM,
        equal_nan=True,
        err_msg=what,
    )


def test_reference_case_names() -> None:
    assert set(CASES) == EXPECTED_CASE_NAMES
    assert len(DATA["cases"]) == len(EXPECTED_CASE_NAMES)  # no duplicated name


def test_reference_source_block() -> None:
    source = DATA["source"]
    assert source["script"] == "tests/reference/escalc_reference.R"
    for key in ("R_version", "metafor_version", "date"):
        assert source[key]


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if c["kind"] == "escalc"))
def test_escalc_matches_metafor(name: str) -> None:
    case = CASES[name]
    data = {column: _array(values) for column, values in case["inputs"].items()}
    out = escalc_table(case["measure"], data, **case["options"])
    _close(out["yi"], case["yi"], f"{name}: yi ({case['call']})")
    _close(out["vi"], case["vi"], f"{name}: vi ({case['call']})")
    # a row metafor leaves NA is explained in es_method
    for method, yi in zip(out["es_method"], out["yi"], strict=True):
        if np.isnan(yi):
            assert "missing input" in method or "not" in method, method


TRANSFORMS = {
    "transf.ztor": transf_ztor,
    "transf.ilogit": transf_ilogit,
    "exp": transf_exp,
}


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if c["kind"] == "transf"))
def test_backtransform_matches_metafor(name: str) -> None:
    case = CASES[name]
    xi = _array(case["inputs"]["xi"])
    if case["function"] == "transf.ipft.hm":
        got = transf_ipft_hm(xi, _array(case["inputs"]["ni"]))
    else:
        got = TRANSFORMS[case["function"]](xi)
    _close(np.atleast_1d(got), case["values"], f"{name} ({case['call']})")
