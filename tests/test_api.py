"""The public API (``import synthesis``) and the numerics fixed on fresh data.

Reference values: ``tests/reference/influence_reference.json``, written by metafor
3.8.1 through ``tests/reference/influence_reference.R`` (BCG vaccine data, log risk
ratios); R is not needed here.
"""

from __future__ import annotations

import doctest
import json
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import synthesis
from synthesis import stats
from synthesis.errors import UserInputError
from synthesis.warnings import ConvergenceWarning
from tests.tolerances import CLOSED_FORM, ITERATIVE

ROOT = Path(__file__).resolve().parents[1]
REF = json.loads((ROOT / "tests/reference/influence_reference.json").read_text(encoding="utf-8"))
YI = np.array(REF["data"]["yi"])
VI = np.array(REF["data"]["vi"])
CTRL = REF["control"]


def _fits() -> dict[str, stats.MetaResult]:
    return {
        "bcg_REML_z": stats.rma(YI, VI, control=CTRL),
        "bcg_DL_knha": stats.rma(YI, VI, method="DL", test="knha"),
        "bcg_REML_ablat": stats.rma(YI, VI, mods=REF["data"]["ablat"], control=CTRL),
    }


@pytest.mark.parametrize("case", REF["influence"], ids=lambda c: c["name"])
def test_influence_matches_metafor(case):
    frame = synthesis.influence(_fits()[case["name"]]).to_frame()
    tol = CLOSED_FORM if "DL" in case["name"] else ITERATIVE
    for ours, theirs in [
        ("rstudent", "rstudent"),
        ("dffits", "dffits"),
        ("cook.d", "cook_d"),
        ("cov.r", "cov_r"),
        ("tau2.del", "tau2_del"),
        ("QE.del", "QE_del"),
        ("hat", "hat"),
        ("weight", "weight"),
    ]:
        np.testing.assert_allclose(frame[ours], case[theirs], rtol=tol, atol=tol, err_msg=ours)
    dfbs = [c for c in frame.columns if c.startswith("dfbs")]
    for col, values in zip(dfbs, case["dfbs"].values(), strict=True):
        np.testing.assert_allclose(frame[col], values, rtol=tol, atol=tol, err_msg=col)
    assert frame["inf"].tolist() == case["inf"]


def test_confint_and_predict_match_metafor():
    fit = stats.rma(YI, VI, control=CTRL)
    ci = synthesis.confint(fit).to_frame()
    np.testing.assert_allclose(ci.to_numpy(), REF["confint"]["random"], rtol=ITERATIVE)
    pr = synthesis.predict(fit, transf=np.exp)
    ref = REF["predict"]
    got = [pr.pred, pr.ci_lb, pr.ci_ub, pr.pi_lb, pr.pi_ub]
    want = [ref[k] for k in ("pred", "ci_lb", "ci_ub", "pi_lb", "pi_ub")]
    np.testing.assert_allclose(got, want, rtol=ITERATIVE)
    assert np.isnan(pr.se)


@pytest.mark.parametrize("method", ["REML", "ML", "EB"])
def test_metafor_default_control_is_reproduced(method):
    con = {"threshold": 1e-5, "relative": False, "maxiter": 100}
    fit = stats.rma(YI, VI, method=method, control=con)
    # same stopping rule, same iterates: agreement to rounding, not just to 1e-5
    assert fit.tau2 == pytest.approx(REF["default_control"][method]["tau2"], abs=CLOSED_FORM)


def test_public_api_from_the_package_and_its_repr():
    df = pd.DataFrame(
        {"study": ["A", "B", "A", "C"], "r": [0.3, 0.5, 0.2, 0.4], "n": [50, 80, 40, 60]}
    )
    dat = synthesis.escalc("ZCOR", df, ri="r", ni="n", slab="study")
    assert list(dat.columns) == ["study", "r", "n", "yi", "vi"]
    assert list(dat.index) == ["A.1", "B", "A.2", "C"]  # metafor's unique labels
    res = synthesis.rma(data=dat)
    assert res.measure == "ZCOR" and res.slab == ("A.1", "B", "A.2", "C")
    assert synthesis.forest(res).svg().startswith("<svg")
    assert synthesis.forest(res, transf=np.tanh).svg().startswith("<svg")
    assert synthesis.funnel(res).svg().startswith("<svg")
    results = [
        res,
        synthesis.regtest(res),
        synthesis.trimfill(res),
        synthesis.influence(res),
        synthesis.predict(res),
        synthesis.confint(res),
        synthesis.subgroup(dat["yi"], dat["vi"], ["x", "x", "y", "y"]),
    ]
    for r in results:
        assert "<" in r._repr_html_()
        assert isinstance(r.to_frame(), pd.DataFrame)
        assert str(r) and "object at 0x" not in str(r)
    assert str(results[1]).startswith("Regression Test for Funnel Plot Asymmetry")
    assert synthesis.leave1out(res).shape == (4, 11)
    assert synthesis.cumul(res).shape == (4, 11)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        synthesis.nope  # noqa: B018


def test_rma_with_data_and_column_names():
    df = pd.DataFrame({"y": YI, "v": VI, "lat": REF["data"]["ablat"]})
    a = stats.rma("y", "v", data=df, mods="lat", control=CTRL)
    b = stats.rma(YI, VI, mods=REF["data"]["ablat"], control=CTRL)
    assert [c.estimate for c in a.coefficients] == [c.estimate for c in b.coefficients]
    assert a.coefficients[1].name == "lat"
    with pytest.raises(UserInputError, match="no such column"):
        stats.rma("y", "nope", data=df)


def test_import_synthesis_is_cheap():
    code = "import sys, synthesis; print(sorted(m for m in ('numpy', 'pandas', 'scipy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_readme_python_api_example_runs():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Python API", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks, "the README's Python API section has no python example"
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    for block in blocks:
        test = parser.get_doctest(block, {}, "README", "README.md", 0)
        assert test.examples, "examples must be written as doctests (>>> lines)"
        runner.run(test)
    assert runner.failures == 0


# ---------------------------------------------------------------- fresh-data numerics ----


@pytest.mark.parametrize("method", ["ML", "REML", "EB"])
@pytest.mark.parametrize("scale", [1e-4, 1e-2, 1e2, 1e3])
def test_convergence_is_scale_free(method, scale):
    # raw-unit mean differences (tau2 ~ 1e5) and tiny variances (1e-9) converge like
    # the same data in other units: tau2 scales with scale**2, without any warning
    rng = np.random.default_rng(7)
    vi = rng.uniform(0.01, 0.2, 12)
    yi = rng.normal(0.3, np.sqrt(vi + 0.1))
    base = stats.rma(yi, vi, method=method)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = stats.rma(scale * yi, scale**2 * vi, method=method)
    assert fit.converged
    assert fit.tau2 / scale**2 == pytest.approx(base.tau2, rel=1e-8)
    assert fit.iterations == pytest.approx(base.iterations, abs=2)


def test_tiny_variances_do_not_stop_early_silently():
    # with an absolute threshold, vi ~ 1e-9 stops after a step of 1e-12 far from the root
    rng = np.random.default_rng(3)
    vi = rng.uniform(1, 5, 10) * 1e-9
    yi = rng.normal(0, np.sqrt(vi + 2e-9))
    for method in ("ML", "EB"):
        fit = stats.rma(yi, vi, method=method)
        again = stats.rma(yi * 1e4, vi * 1e8, method=method)
        assert fit.tau2 * 1e8 == pytest.approx(again.tau2, rel=1e-8)


def test_non_convergence_warns_with_what_to_do():
    with pytest.warns(
        ConvergenceWarning, match=r"last change in τ² = .*Raise control\['maxiter'\]"
    ):
        fit = stats.rma(YI, VI, control={"maxiter": 2})
    assert not fit.converged


@pytest.mark.parametrize("method", stats.METHODS)
def test_trimfill_on_equal_variances_neither_crashes_nor_leaks_numpy_warnings(method):
    r = np.array([0.1, 0.25, 0.3, 0.32, 0.4, 0.45, 0.6, 0.7])
    yi, vi = np.arctanh(r), np.full(r.size, 1 / 47)  # ZCOR with every n = 50
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a numpy RuntimeWarning fails the test
        tf = stats.trimfill(stats.rma(yi, vi, method=method))
    assert tf.side == "left"
    assert any("sampling variances are equal" in n for n in tf.notes)
    assert "sampling variances are equal" in str(tf)


def test_trimfill_refit_test_offers_metafors_z_refit():
    fit = stats.rma(YI, VI, test="knha")
    ours = stats.trimfill(fit)
    metafor_like = stats.trimfill(fit, refit_test="z")
    assert ours.fit.test == "knha" and metafor_like.fit.test == "z"
    assert ours.k0 == metafor_like.k0
    assert metafor_like.original is fit


def test_duplicated_labels_become_unique_as_in_metafor():
    with pytest.warns(match="Smith.2 \\(yi is missing\\)"):
        fit = stats.rma([0.1, np.nan, 0.3], [0.1, 0.1, 0.1], slab=["Smith", "Smith", "Jones"])
    assert fit.slab == ("Smith.1", "Jones")


def test_truncated_tau2_upper_bound_is_marked():
    fit = stats.rma(YI[:2], VI[:2])
    assert fit.tau2_ci_ub == 100.0 and fit.tau2_ci_truncated
    assert "truncated" in str(fit)
    wider = stats.rma(YI[:2], VI[:2], control={"tau2_max": 1e6})
    assert 100.0 < wider.tau2_ci_ub < 1e6 and not wider.tau2_ci_truncated
    many = stats.fit_arrays(YI[None, :2], VI[None, :2], tau2_ci=True)
    assert bool(many["tau2_ci_truncated"].iloc[0])
