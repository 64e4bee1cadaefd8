"""synthesis.stats.many against single ``rma`` fits and metafor; Dask scale-out; fast CLI start.

The batched engine must give, for every analysis, the numbers ``synthesis.stats.rma``
gives for that analysis alone (``CLOSED_FORM`` for closed-form estimators,
``ITERATIVE`` for ML/REML/PM/EB and the Q-profile CI), and through it metafor's
numbers (tests/reference/rma_reference.json).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from synthesis import stats, vocabulary
from synthesis.errors import UserInputError
from synthesis.warnings import ConvergenceWarning, DataQualityWarning
from tests.tolerances import CLOSED_FORM, ITERATIVE

REFERENCE = Path(__file__).parent / "reference" / "rma_reference.json"
CASES: dict[str, dict[str, Any]] = {
    c["name"]: c for c in json.loads(REFERENCE.read_text(encoding="utf-8"))["cases"]
}
#: pure-noise simulations put many τ² on the boundary 0, which Fisher scoring approaches
#: slowly at the 1e-12 threshold: allow more iterations (as the metafor references do)
CONTROL = {"maxiter": 1000}
ITERATIVE_METHODS = frozenset({"ML", "REML", "PM", "EB"})
KEYS = (
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


def _tol(method: str) -> float:
    return ITERATIVE if method in ITERATIVE_METHODS else CLOSED_FORM


def _num(x: Any) -> np.ndarray:
    return np.array([math.nan if v is None else float(v) for v in np.atleast_1d(x)])


def _random_batch(seed: int, n: int, kmax: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n analyses with k from 1 to kmax (NaN padding), τ² = 0 for a third of them."""
    rng = np.random.default_rng(seed)
    vi = rng.uniform(0.005, 0.3, (n, kmax))
    true_tau2 = np.where(rng.random(n) < 1 / 3, 0.0, rng.uniform(0.0, 0.2, n))
    yi = rng.normal(rng.normal(0.2, 0.3, n)[:, None], np.sqrt(vi + true_tau2[:, None]))
    k = rng.integers(1, kmax + 1, n)
    k[:3] = (1, 2, kmax)
    pad = np.arange(kmax)[None, :] >= k[:, None]
    yi[pad] = np.nan
    vi[pad] = np.nan
    return yi, vi, k


def _compare_with_rma(
    res: pd.DataFrame, yi: np.ndarray, vi: np.ndarray, method: str, test: str, ci: bool
) -> None:
    tol = _tol(method)
    for i in range(yi.shape[0]):
        keep = ~np.isnan(yi[i])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            single = stats.rma(yi[i][keep], vi[i][keep], method=method, test=test)
        row = res.iloc[i]
        assert row["k"] == single.k
        assert bool(row["converged"]) == single.converged, f"row {i} converged"
        assert row["iterations"] == single.iterations, f"row {i} iterations"
        assert (math.isnan(row["df"]) and single.df is None) or row["df"] == single.df
        keys = KEYS + (("tau2_ci_lb", "tau2_ci_ub") if ci else ())
        for key in keys:
            np.testing.assert_allclose(
                row[key],
                getattr(single, key),
                rtol=ITERATIVE if key.startswith("tau2_ci") else tol,
                atol=ITERATIVE if key.startswith("tau2_ci") else tol,
                equal_nan=True,
                err_msg=f"{method}/{test} row {i} (k = {single.k}): {key}",
            )
    if not ci:
        assert res["tau2_ci_lb"].isna().all()


@pytest.mark.parametrize("method", stats.METHODS)
@pytest.mark.parametrize("test", stats.TESTS)
def test_fit_arrays_equals_single_fits(method: str, test: str) -> None:
    yi, vi, k = _random_batch(seed=11, n=60, kmax=15)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = stats.fit_arrays(yi, vi, method=method, test=test, tau2_ci=method == "REML")
    assert list(res.columns) == list(stats.COLUMNS)
    assert res["k"].tolist() == k.tolist()
    _compare_with_rma(res, yi, vi, method, test, ci=method == "REML")


@pytest.mark.parametrize("method", ["REML", "PM", "DL", "SJ"])
def test_tau2_ci_and_level(method: str) -> None:
    yi, vi, _ = _random_batch(seed=5, n=40, kmax=30)
    res = stats.fit_arrays(yi, vi, method=method, test="knha", level=90, tau2_ci=True)
    for i in range(yi.shape[0]):
        keep = ~np.isnan(yi[i])
        single = stats.rma(yi[i][keep], vi[i][keep], method=method, test="knha", level=90)
        for key in ("tau2_ci_lb", "tau2_ci_ub", "ci_lb", "pi_ub"):
            np.testing.assert_allclose(
                res.iloc[i][key], getattr(single, key), rtol=ITERATIVE, atol=ITERATIVE
            )


def test_reference_datasets_match_metafor() -> None:
    """The rma grid of the metafor reference, packed into one 2-D batch per method/test."""
    grid = [c for c in CASES.values() if c["kind"] == "rma"]
    by_setting: dict[tuple[str, str, float], list[dict[str, Any]]] = {}
    for case in grid:
        inp = case["inputs"]
        by_setting.setdefault((inp["method"], inp["test"], inp["level"]), []).append(case)
    assert len(grid) > 100
    for (method, test, level), cases in by_setting.items():
        kmax = max(_num(c["inputs"]["yi"]).size for c in cases)
        yi = np.full((len(cases), kmax), np.nan)
        vi = np.full((len(cases), kmax), np.nan)
        for i, c in enumerate(cases):
            y, v = _num(c["inputs"]["yi"]), _num(c["inputs"]["vi"])
            yi[i, : y.size], vi[i, : v.size] = y, v
        res = stats.fit_arrays(yi, vi, method=method, test=test, level=level, tau2_ci=True)
        tol = _tol(method)
        for i, c in enumerate(cases):
            out = c["outputs"]
            assert res.iloc[i]["k"] == out["k"], c["name"]
            for key in (*KEYS, "tau2_ci_lb", "tau2_ci_ub"):
                t = ITERATIVE if key.startswith("tau2_ci") else tol
                np.testing.assert_allclose(
                    res.iloc[i][key],
                    _num(out[key])[0],
                    rtol=t,
                    atol=t,
                    equal_nan=True,
                    err_msg=f"{c['name']}: {key}",
                )
            df = res.iloc[i]["df"]
            assert (out["df"] is None and math.isnan(df)) or df == out["df"], c["name"]


def test_fit_many_long_format_with_nan_row_matches_metafor() -> None:
    rows = []
    for name in ("nan_row_REML_z", "bcg_REML_z", "k1_REML_z", "k2_REML_z"):
        inp = CASES[name]["inputs"]
        for y, v in zip(_num(inp["yi"]), _num(inp["vi"]), strict=True):
            rows.append({"analysis": name, "yi": y, "vi": v})
    frame = pd.DataFrame(rows).sample(frac=1.0, random_state=1)  # order must not matter
    with pytest.warns(DataQualityWarning, match="1 row"):
        res = stats.fit_many(frame, by="analysis", method="REML", tau2_ci=True)
    assert list(res.index) == sorted({r["analysis"] for r in rows})
    assert res.loc["nan_row_REML_z", "k_excluded"] == 1
    assert res["k_excluded"].drop("nan_row_REML_z").eq(0).all()
    for name in res.index:
        out = CASES[name]["outputs"]
        assert res.loc[name, "k"] == out["k"]
        for key in (*KEYS, "tau2_ci_lb", "tau2_ci_ub"):
            np.testing.assert_allclose(
                res.loc[name, key],
                _num(out[key])[0],
                rtol=ITERATIVE,
                atol=ITERATIVE,
                equal_nan=True,
                err_msg=f"{name}: {key}",
            )


def test_k1_knha_uses_z_and_k0_is_nan() -> None:
    yi = np.array([[0.3, np.nan], [np.nan, np.nan], [0.1, 0.5]])
    vi = np.array([[0.1, np.nan], [np.nan, np.nan], [0.1, 0.2]])
    with pytest.warns(DataQualityWarning, match="k = 0"):
        res = stats.fit_arrays(yi, vi, test="knha", index=["one", "none", "two"])
    one = stats.rma([0.3], [0.1], test="knha")
    assert one.test == "z"
    assert res.loc["one", "tau2"] == 0.0
    assert math.isnan(res.loc["one", "df"])
    assert res.loc["one", "QEp"] == 1.0 and res.loc["one", "H2"] == 1.0
    assert res.loc["one", "pval"] == pytest.approx(one.pval, rel=CLOSED_FORM)
    assert res.loc["none", "k"] == 0 and math.isnan(res.loc["none", "estimate"])
    assert res.loc["two", "df"] == 1


def test_non_convergence_is_reported_per_analysis() -> None:
    yi, vi, _ = _random_batch(seed=3, n=30, kmax=10)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        res = stats.fit_arrays(yi, vi, method="REML", control={"maxiter": 2})
    assert not res["converged"].all()
    assert (res.loc[~res["converged"], "iterations"] == 3).all()
    for i in np.flatnonzero(~res["converged"].to_numpy())[:3]:
        keep = ~np.isnan(yi[i])
        with pytest.warns(ConvergenceWarning):
            single = stats.rma(yi[i][keep], vi[i][keep], control={"maxiter": 2})
        assert not single.converged
        assert res.iloc[i]["tau2"] == pytest.approx(single.tau2, rel=ITERATIVE, abs=ITERATIVE)


def test_bad_input_is_refused() -> None:
    with pytest.raises(UserInputError, match=r"vi = -0\.1 in row 0, column 1"):
        stats.fit_arrays([[0.1, 0.2]], [[0.1, -0.1]])
    with pytest.raises(UserInputError, match="same shape"):
        stats.fit_arrays([[0.1, 0.2]], [[0.1]])
    with pytest.raises(UserInputError, match="not a known"):
        stats.fit_arrays([[0.1, 0.2]], [[0.1, 0.1]], method="XX")
    with pytest.raises(UserInputError, match="no column"):
        stats.fit_many(pd.DataFrame({"g": [1], "yi": [0.1], "vi": [0.1]}))
    frame = pd.DataFrame({"group": ["a", "a"], "yi": [0.1, math.inf], "vi": [0.1, 0.1]})
    with pytest.raises(UserInputError, match="group 'a'"):
        stats.fit_many(frame)


def _old_leave1out(yi: np.ndarray, vi: np.ndarray, **kw: Any) -> pd.DataFrame:
    rows = []
    for i in range(yi.size):
        r = stats.rma(np.delete(yi, i), np.delete(vi, i), **kw)
        rows.append([r.estimate, r.se, r.zval, r.pval, r.ci_lb, r.ci_ub])
        rows[-1] += [r.QE, r.QEp, r.tau2, r.I2, r.H2]
    return pd.DataFrame(rows, columns=list(vocabulary.MANY_FIELDS))


@pytest.mark.parametrize(("method", "test"), [("REML", "z"), ("DL", "knha"), ("PM", "z")])
def test_leave1out_and_cumul_equal_refitting(method: str, test: str) -> None:
    rng = np.random.default_rng(7)
    vi = rng.uniform(0.01, 0.2, 25)
    yi = rng.normal(0.3, np.sqrt(vi + 0.05))
    l1o = stats.leave1out(yi, vi, method=method, test=test)
    np.testing.assert_allclose(
        l1o.to_numpy(),
        _old_leave1out(yi, vi, method=method, test=test).to_numpy(),
        rtol=_tol(method),
        atol=_tol(method),
    )
    cum = stats.cumul(yi, vi, method=method, test=test, order=-vi)
    order = np.argsort(-vi, kind="stable")
    for step in (0, 1, 12, 24):
        sel = order[: step + 1]
        r = stats.rma(yi[sel], vi[sel], method=method, test=test)
        assert cum.iloc[step]["tau2"] == pytest.approx(r.tau2, rel=_tol(method), abs=_tol(method))
        assert cum.iloc[step]["ci_ub"] == pytest.approx(r.ci_ub, rel=_tol(method))
    assert stats.leave1out(yi[:2], vi[:2], test="knha")["pval"].notna().all()  # k = 1 fits


def test_fit_many_on_a_local_dask_cluster() -> None:
    distributed = pytest.importorskip(
        "distributed", reason="dask.distributed not installed (pip install '.[dask]')"
    )
    dd = pytest.importorskip("dask.dataframe", reason="dask[dataframe] not installed")
    rng = np.random.default_rng(2024)
    n, k = 400, 8
    frame = pd.DataFrame(
        {
            "sim": np.repeat(np.arange(n), k),
            "yi": rng.normal(0.2, 0.4, n * k),
            "vi": rng.uniform(0.01, 0.1, n * k),
        }
    ).sample(frac=1.0, random_state=3)  # groups scattered over the partitions
    local = stats.fit_many(frame, by="sim", method="REML", test="knha", control=CONTROL)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster, timeout="60s") as client,
    ):
        remote = stats.fit_many(
            frame, by="sim", method="REML", test="knha", client=client, control=CONTROL
        )
        ddf = dd.from_pandas(frame, npartitions=4, sort=False)
        lazy_user_code = stats.fit_many(ddf, by="sim", method="REML", test="knha", control=CONTROL)
        with pytest.raises(UserInputError, match="more than one partition"):
            stats.fit_many(ddf, by="sim", shuffle=False, control=CONTROL)
    for other in (remote, lazy_user_code):
        pd.testing.assert_index_equal(other.index, local.index, check_names=False)
        np.testing.assert_allclose(
            other[list(KEYS)].to_numpy(), local[list(KEYS)].to_numpy(), rtol=1e-12, atol=1e-12
        )
        assert other["k"].eq(k).all()


def test_help_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys, contextlib, io\n"
        "from synthesis.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = [m for m in ('pandas', 'pymare', 'matplotlib', 'nbconvert', 'scipy', 'dask') "
        "if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""


def test_batch_import_does_not_import_pandas_or_dask() -> None:
    code = (
        "import sys, synthesis.stats\n"
        "print(','.join(m for m in ('pandas', 'dask', 'pymare') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""
