"""synthesis.stats.rma against metafor: every case in tests/reference/rma_reference.json.

The JSON is written by tests/reference/rma_reference.R (metafor with
``control=list(threshold=1e-12, maxiter=1000, tol=1e-12)``); R is not needed here.
Closed-form quantities are compared with ``CLOSED_FORM``; τ² from the iterative
estimators (ML, REML, PM, EB), everything computed from it, and the Q-profile CI
(a root search on both sides) with ``ITERATIVE``.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from synthesis import stats
from synthesis.warnings import DataQualityWarning
from tests.tolerances import CLOSED_FORM, ITERATIVE

REFERENCE = Path(__file__).parent / "reference" / "rma_reference.json"
DATA = json.loads(REFERENCE.read_text(encoding="utf-8"))
CASES: dict[str, dict[str, Any]] = {c["name"]: c for c in DATA["cases"]}

ITERATIVE_METHODS = frozenset({"ML", "REML", "PM", "EB"})
GRID_SETS = ("bcg", "molloy2014", "normand1999", "pritz1997", "hackshaw1998", "raudenbush1985")
METHODS = ("EE", "DL", "HE", "SJ", "PM", "ML", "REML", "EB")
TESTS = ("z", "knha")


def _expected_names() -> set[str]:
    names = {f"{d}_{m}_{t}" for d in GRID_SETS for m in METHODS for t in TESTS}
    names.add("bcg_REML_z_level90")
    names |= {f"k1_{m}_{t}" for m in ("REML", "DL", "EE") for t in TESTS}
    names |= {
        f"k2_{m}_{t}" for m in ("REML", "ML", "DL", "PM", "EB", "SJ", "HE", "EE") for t in TESTS
    }
    names |= {f"identical_{m}_{t}" for m in ("REML", "DL", "PM", "EE") for t in TESTS}
    names |= {f"nan_row_REML_{t}" for t in TESTS}
    names |= {
        "leave1out_bcg_REML_z",
        "leave1out_bcg_DL_knha",
        "leave1out_normand1999_EE_z",
        "leave1out_molloy2014_PM_z",
        "cumul_bcg_REML_z_year",
        "cumul_hackshaw1998_DL_knha_year",
        "cumul_pritz1997_EE_z_vi",
        "regtest_egger2001_REML_z",
        "regtest_egger2001_EE_z",
        "regtest_hackshaw1998_REML_z",
        "regtest_hackshaw1998_DL_knha",
        "regtest_bcg_ML_z",
        "trimfill_egger2001_EE_z",
        "trimfill_egger2001_REML_z",
        "trimfill_hackshaw1998_DL_z",
        "trimfill_hackshaw1998_EE_knha",
        "trimfill_bcg_REML_z",
        "trimfill_molloy2014_DL_z_right",
        "trimfill_molloy2014_DL_z_left",
        "subgroup_bcg_alloc_REML_z",
        "subgroup_bcg_alloc_DL_knha",
        "subgroup_raudenbush1985_tester_REML_z",
        "subgroup_raudenbush1985_tester_EE_z",
    }
    names |= {f"metareg_bcg_ablat_{m}_{t}" for m in METHODS for t in TESTS}
    for t in TESTS:
        names |= {
            f"metareg_bcg_alloc_REML_{t}",
            f"metareg_bcg_ablat_year_REML_{t}",
            f"metareg_raudenbush1985_weeks_REML_{t}",
            f"metareg_raudenbush1985_tester_DL_{t}",
        }
    return names


def _num(x: Any) -> Any:
    """JSON value → float/array: null → NaN, "Inf"/"-Inf"/"NaN" → float."""
    if isinstance(x, list):
        return np.array([_num(v) for v in x], dtype=float)
    if x is None:
        return math.nan
    if isinstance(x, str):
        return float(x)
    return float(x)


def _close(actual: Any, expected: Any, tol: float, what: str) -> None:
    exp = _num(expected)
    act = np.asarray(actual, dtype=float)
    exp_arr = np.atleast_1d(np.asarray(exp, dtype=float))
    act_arr = np.atleast_1d(act)
    np.testing.assert_allclose(
        act_arr, exp_arr, rtol=tol, atol=tol, equal_nan=True, err_msg=f"{what} differs"
    )


def _tol(method: str) -> float:
    return ITERATIVE if method in ITERATIVE_METHODS else CLOSED_FORM


def _df(value: Any) -> int | None:
    return None if value is None else int(value)


RMA_KEYS = (
    "estimate",
    "se",
    "zval",
    "pval",
    "ci_lb",
    "ci_ub",
    "pi_lb",
    "pi_ub",
    "tau2",
    "se_tau2",
    "I2",
    "H2",
    "QE",
    "QEp",
)


def _check_rma(res: stats.MetaResult, out: dict[str, Any], method: str, prefix: str = "") -> None:
    tol = _tol(method)
    assert res.k == out["k"], f"{prefix}k"
    assert res.method == out["method"]
    assert res.test == out["test"]
    assert res.df == _df(out["df"]), f"{prefix}df"
    for key in RMA_KEYS:
        _close(getattr(res, key), out[key], tol, prefix + key)
    for key in ("tau2_ci_lb", "tau2_ci_ub"):
        _close(getattr(res, key), out[key], ITERATIVE, prefix + key)
    _close(res.weights, out["weights"], tol, prefix + "weights")


def _fit(inputs: dict[str, Any], **extra: Any) -> stats.MetaResult:
    return stats.rma(
        _num(inputs["yi"]),
        _num(inputs["vi"]),
        method=inputs["method"],
        test=inputs["test"],
        level=inputs["level"],
        **extra,
    )


FRAME_COLUMNS = ("estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "Q", "Qp", "tau2", "I2", "H2")


def _check_frame(frame: Any, out: dict[str, Any], method: str) -> None:
    tol = _tol(method)
    assert list(frame.columns) == list(FRAME_COLUMNS)
    for col in FRAME_COLUMNS:
        if col == "tau2" and method == "EE":  # metafor omits the column for EE fits
            assert "tau2" not in out
            np.testing.assert_array_equal(frame[col].to_numpy(), 0.0)
            continue
        _close(frame[col].to_numpy(), out[col], tol, col)


def run_case(case: dict[str, Any]) -> None:
    kind = case["kind"]
    inp = case["inputs"]
    out = case["outputs"]
    method = inp["method"]
    if kind == "rma":
        yi = _num(inp["yi"])
        if np.isnan(np.atleast_1d(yi)).any():
            with pytest.warns(DataQualityWarning, match="excluded"):
                res = _fit(inp)
            assert res.k_excluded == out["k_excluded"]
        else:
            res = _fit(inp)
        _check_rma(res, out, method)
    elif kind == "metareg":
        mods = {name: _num(col) for name, col in inp["mods"].items()}
        res = _fit(inp, mods=mods)
        tol = _tol(method)
        assert [c.name for c in res.coefficients] == list(out["names"])
        table = res.coef_table()
        for key in ("b", "se", "zval", "pval", "ci_lb", "ci_ub"):
            col = "estimate" if key == "b" else key
            _close(table[col].to_numpy(), out[key], tol, key)
        _close(res.QM, out["QM"], tol, "QM")
        _close(res.QMp, out["QMp"], tol, "QMp")
        assert res.QMdf == tuple(_df(v) for v in out["QMdf"])
        for key in ("tau2", "se_tau2", "I2", "H2", "QE", "QEp"):
            _close(getattr(res, key), out[key], tol, key)
        for key in ("tau2_ci_lb", "tau2_ci_ub"):
            _close(getattr(res, key), out[key], ITERATIVE, key)
        assert res.df == _df(out["df"])
        _close(res.weights, out["weights"], tol, "weights")
    elif kind == "leave1out":
        frame = stats.leave1out(_fit(inp))
        _check_frame(frame, out, method)
    elif kind == "cumul":
        frame = stats.cumul(_fit(inp), order=_num(inp["order"]))
        _check_frame(frame, out, method)
    elif kind == "regtest":
        rt = stats.regtest(_fit(inp))
        tol = _tol(method)
        for key in ("zval", "pval", "est", "ci_lb", "ci_ub"):
            _close(getattr(rt, key), out[key], tol, key)
        _close(rt.fit.tau2, out["tau2"], tol, "tau2")
        assert rt.df == _df(out["df"])
    elif kind == "trimfill":
        tf = stats.trimfill(_fit(inp), side=inp["side"])
        assert tf.k0 == out["k0"]
        assert tf.side == out["side"]
        tol = _tol(method)
        _close(tf.yi, out["yi_filled"], tol, "yi_filled")
        _close(tf.vi, out["vi_filled"], CLOSED_FORM, "vi_filled")
        assert tf.fill.tolist() == list(np.atleast_1d(out["fill"]))
        _check_rma(tf.fit, out, method, prefix="filled ")
    elif kind == "subgroup":
        sg = stats.subgroup(
            _num(inp["yi"]),
            _num(inp["vi"]),
            list(inp["groups"]),
            method=method,
            test=inp["test"],
            level=inp["level"],
        )
        tol = _tol(method)
        assert list(sg.groups) == list(out["levels"])
        for g in sg.groups:
            _check_rma(sg.fits[g], out["groups"][g], method, prefix=f"group {g}: ")
        _close(sg.Qb, out["Qb"], tol, "Qb")
        assert sg.Qb_df == out["Qb_df"]
        _close(sg.Qb_p, out["Qb_p"], tol, "Qb_p")
        _close(sg.QM, out["QM"], tol, "QM")
        _close(sg.QMp, out["QMp"], tol, "QMp")
        assert sg.QMdf == tuple(_df(v) for v in out["QMdf"])
        _close(sg.mixed.tau2, out["mixed_tau2"], tol, "mixed tau2")
        _close([c.estimate for c in sg.mixed.coefficients], out["mixed_b"], tol, "mixed b")
        _close([c.se for c in sg.mixed.coefficients], out["mixed_se"], tol, "mixed se")
    else:  # pragma: no cover - a new kind in the JSON must be handled here
        pytest.fail(f"unknown case kind {kind!r}")


def test_source_block() -> None:
    src = DATA["source"]
    assert src["script"] == "tests/reference/rma_reference.R"
    assert src["metafor_version"]
    assert src["R_version"].startswith("R version")
    assert src["control"] == {"threshold": 1e-12, "maxiter": 1000, "tol": 1e-12}


def test_case_names_are_exactly_the_grid() -> None:
    assert set(CASES) == _expected_names()
    assert len(DATA["cases"]) == len(CASES)  # no duplicates


def test_every_case_records_its_r_call() -> None:
    for case in DATA["cases"]:
        assert case["call"].strip(), case["name"]
        assert case["kind"] in {
            "rma",
            "metareg",
            "leave1out",
            "cumul",
            "regtest",
            "trimfill",
            "subgroup",
        }


@pytest.mark.parametrize("name", sorted(CASES))
def test_case_matches_metafor(name: str) -> None:
    with warnings.catch_warnings():
        # ResourceWarnings from third-party imports are not ours to test here.
        warnings.simplefilter("ignore", ResourceWarning)
        run_case(CASES[name])
