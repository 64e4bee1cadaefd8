"""Cluster-robust inference (``robust``) against metafor's ``robust()`` and clubSandwich.

Reference values: ``tests/reference/robust_reference.json``, written by metafor 3.8.1
with clubSandwich 0.5.8 through ``tests/reference/robust_reference.R`` (five datasets:
metafor's dat.bcg clustered by allocation, dat.kalaian1996, dat.assink2016 and
dat.berkey1998 clustered by study or trial, and a made-up unbalanced set with clusters of
one effect and an excluded row; REML, DL and EE fits, intercept-only and with moderators).
R is not needed here. Tolerance: :data:`tests.tolerances.ROBUST` (the reason is there).
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pymare import stats as pymare_stats

import synthesis
from synthesis import stats
from synthesis.errors import UserInputError
from tests.tolerances import CLOSED_FORM, ROBUST

ROOT = Path(__file__).resolve().parents[1]
REF = json.loads((ROOT / "tests/reference/robust_reference.json").read_text(encoding="utf-8"))
CASES = {c["name"]: c for c in REF["cases"]}
VARIANTS = {
    "CR2": {},
    "CR1": {"clubSandwich": False},
    "CR0": {"clubSandwich": False, "adjust": False},
}
COLUMNS = ("b", "se", "tval", "df", "pval", "ci_lb", "ci_ub")


def _nan(values: list[float | None]) -> list[float]:
    return [np.nan if v is None else v for v in values]


def _fit(case: dict, test: str | None = None) -> stats.MetaResult:
    d = case["data"]
    mods = {name: _nan(col) for name, col in d["X"].items()} if d["X"] else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rows with missing values are excluded, as in R
        return stats.rma(
            _nan(d["yi"]),
            d["vi"],
            mods=mods,
            method=case["method"],
            test=test or case["test"],
            control=REF["control"],
        )


def _close(got: object, want: object, what: str) -> None:
    np.testing.assert_allclose(
        np.asarray(got, dtype=float),
        np.asarray(want, dtype=float),
        rtol=ROBUST,
        atol=ROBUST,
        err_msg=what,
    )


def _check(res: stats.RobustResult, want: dict, scale: float = 1.0) -> None:
    """``res`` against one robust() call of R; ``scale`` multiplies our variance."""
    frame = res.to_frame()
    assert res.vcov_type == want["vbest"]
    assert res.n_clusters == want["n_clusters"]
    assert sorted(n for _, n in res.cluster_sizes) == sorted(want["cluster_sizes"])
    ours = {
        "b": frame["estimate"],
        "se": frame["se"] * np.sqrt(scale),
        "df": frame["df"],
    }
    # metafor's CR0/CR1 SE of a coefficient carried by one cluster is rounding noise
    # (~1e-9, so t ~ 1e8 and p ~ 1e-104); we report no test for it, and say why. Its
    # digits are noise on both sides: it is only checked to be zero up to rounding.
    lost = (np.asarray(want["se"]) < 1e-6) & (res.vcov_type != "CR2")
    for key, values in ours.items():
        expected = np.broadcast_to(want[key], values.shape)  # R: one df for CR1
        if key == "se":
            assert (np.asarray(values)[lost] < 1e-6).all()
            values, expected = np.asarray(values)[~lost], expected[~lost]
        _close(values, expected, key)
    _close(res.vb * scale, np.reshape(want["vb"], res.vb.shape), "vb")
    if lost.any():
        assert frame.loc[lost, ["tval", "pval", "ci_lb", "ci_ub"]].isna().all().all()
        assert any("zero up to rounding" in n for n in res.notes)
    if scale == 1.0:
        for key in ("tval", "pval", "ci_lb", "ci_ub"):
            _close(frame[key][~lost], np.asarray(want[key])[~lost], key)
        _close([res.QM, res.QMp], [want["QM"], want["QMp"]], "QM, QMp")
    assert res.QMdf[0] == want["QMdf"][0]
    _close(res.QMdf[1], want["QMdf"][1], "QMdf")


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", [n for n in CASES if CASES[n]["test"] == "z"])
def test_robust_matches_metafor_and_clubsandwich(name, variant):
    case = CASES[name]
    res = synthesis.robust(_fit(case), case["data"]["cluster"], **VARIANTS[variant])
    assert [c.name for c in res.coefficients] == case["names"]
    _check(res, case[variant])


def test_knapp_hartung_model():
    # clubSandwich does not depend on test=; metafor's CR0/CR1 without it uses the
    # Knapp-Hartung vb = s2 (X'WX)^-1 as bread, i.e. a variance s2^2 times ours.
    case = CASES["bcg_REML_intercept_knha"]
    knha, z = _fit(case), _fit(case, test="z")
    cluster = case["data"]["cluster"]
    _check(synthesis.robust(knha, cluster), case["CR2"])
    s2 = (knha.se / z.se) ** 2
    assert s2 == pytest.approx(1.01127, abs=1e-5)
    for variant in ("CR1", "CR0"):
        res = synthesis.robust(knha, cluster, **VARIANTS[variant])
        _check(res, case[variant], scale=s2**2)
        same = synthesis.robust(z, cluster, **VARIANTS[variant])
        _close(res.vb, same.vb, "independent of test")
        assert "Knapp-Hartung" in res.notes[0] and "Note: " in str(res)


def _constant_within(seed: int, vary: bool) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    sizes = [1, 2, 3, 4, 2, 1, 3, 5, 2, 2, 1, 3]
    cl = np.repeat(np.arange(len(sizes)), sizes)
    vi = rng.uniform(0.01, 0.1, len(sizes))[cl]
    if vary:
        vi = vi * rng.uniform(0.3, 3.0, cl.size)
    x = rng.uniform(0, 1, cl.size)
    yi = 0.2 + 0.3 * x + rng.normal(0, np.sqrt(vi + 0.02))
    return yi, vi, x, cl


def _pymare_cr2(fit: stats.MetaResult, cl: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    X = np.ones((fit.k, 1)) if fit.X is None else np.asarray(fit.X)
    beta = np.array([[c.estimate] for c in fit.coefficients])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyMARE warns at <= 10 clusters and df < 4
        vb = pymare_stats.cluster_robust_cov(
            np.asarray(fit.yi)[:, None],
            np.asarray(fit.vi)[:, None],
            X,
            beta,
            cl,
            tau2=fit.tau2,
            method="CR2",
        )[:, :, 0]
        dof = pymare_stats.satterthwaite_dof(X, 1.0 / (np.asarray(fit.vi) + fit.tau2), cl)[:, 0]
    return vb, dof


@pytest.mark.parametrize("with_mods", [False, True])
def test_agrees_with_pymare_where_both_cr2_forms_coincide(with_mods):
    # Equal weights within every cluster: PyMARE's whitened-symmetric CR2 adjustment and
    # clubSandwich's symmetric one are the same matrix, and so are the Satterthwaite df.
    yi, vi, x, cl = _constant_within(11, vary=False)
    fit = stats.rma(yi, vi, mods=x if with_mods else None)
    res = synthesis.robust(fit, cl)
    vb, dof = _pymare_cr2(fit, cl)
    np.testing.assert_allclose(res.vb, vb, rtol=CLOSED_FORM, atol=1e-15)
    np.testing.assert_allclose(res.to_frame()["df"], dof, rtol=CLOSED_FORM)


def test_pymare_cr2_is_not_clubsandwichs_when_weights_vary_within_a_cluster():
    # Why robust() does not call PyMARE: with unequal weights in a cluster its CR2 form
    # differs from clubSandwich's (and metafor's robust(clubSandwich=TRUE)).
    yi, vi, x, cl = _constant_within(11, vary=True)
    fit = stats.rma(yi, vi, mods=x)
    vb, _ = _pymare_cr2(fit, cl)
    ours = synthesis.robust(fit, cl).vb
    assert np.max(np.abs(np.sqrt(np.diag(vb)) / np.sqrt(np.diag(ours)) - 1)) > 1e-4


def test_printout_has_metafors_shape():
    case = CASES["bcg_REML_mods_z"]
    text = str(synthesis.robust(_fit(case), case["data"]["cluster"]))
    # metafor 3.8.1 prints (spacing aside; same tight control):
    expected = [
        "Mixed-Effects Model (k = 13; tau^2 estimator: REML)",
        "Number of estimates: 13",
        "Number of clusters: 3",
        "Estimates per cluster: 2-7 (mean: 4.33, median: 4)",
        "Test of Moderators (coefficient 2):¹",
        "F(df1 = 1, df2 = 1.52) = 41.6088, p-val = 0.0440",
        "estimate se¹ tval¹ df¹ pval¹ ci.lb¹ ci.ub¹",
        "intrcpt 0.2515 0.0917 2.7422 1.69 0.1332 -0.2217 0.7246",
        "ablat -0.0291 0.0045 -6.4505 1.52 0.0440 -0.0558 -0.0024 *",
        "1) results based on cluster-robust inference (var-cov estimator: CR2,",
        "approx t/F-tests and confidence intervals, df: Satterthwaite approx)",
    ]
    lines = [" ".join(line.split()) for line in text.splitlines()]
    for line in expected:
        assert line in lines, line
    cr1 = str(
        synthesis.robust(
            _fit(CASES["bcg_REML_intercept_z"]), case["data"]["cluster"], clubSandwich=False
        )
    )
    lines = [" ".join(line.split()) for line in cr1.splitlines()]
    assert "-0.7145 0.1878 -3.8044 2 0.0627 -1.5226 0.0936 ." in lines
    assert "approx t-test and confidence interval, df: residual method)" in lines
    assert "Test of Moderators" not in cr1


def test_result_forms_and_api():
    case = CASES["assink_REML_mods_z"]
    res = synthesis.robust(_fit(case), case["data"]["cluster"])
    frame = res.to_frame()
    assert list(frame.columns) == ["estimate", "se", "tval", "df", "pval", "ci_lb", "ci_ub"]
    assert list(frame.index) == case["names"]
    assert res.estimate == frame["estimate"].iloc[0] and res.df == frame["df"].iloc[0]
    assert res.QMdf[0] == 2 and res.k == 100 and res.n_clusters == 17
    json.dumps(res.to_dict())
    html = res._repr_html_()
    assert "<table>" in html and "CR2" in html and "Test of moderators" in html
    assert "Estimates per cluster: 1-22" in str(res)
    # the reference level of deltype occurs in one study only
    assert "intrcpt: the cluster-robust variance is zero up to rounding" in res.notes[0]
    # column name with data=, a pandas Series, numbers as labels
    df = pd.DataFrame(
        {"yi": _nan(case["data"]["yi"]), "vi": case["data"]["vi"], "study": case["data"]["cluster"]}
    )
    fit = stats.rma(data=df)
    a = synthesis.robust(fit, "study", data=df)
    b = synthesis.robust(fit, df["study"])
    c = synthesis.robust(fit, df["study"].astype(int).to_numpy())
    # labels as text ("study" holds "1", "10", ...) or as numbers order the clusters
    # differently, so the sums run in another order: equal up to rounding
    assert a.se == b.se == pytest.approx(c.se, rel=1e-13)
    _close(a.se, CASES["assink_REML_intercept_z"]["CR2"]["se"][0], "se")


def test_excluded_rows_need_no_cluster_label():
    case = CASES["unbalanced_REML_intercept_z"]
    fit = _fit(case)
    cluster = list(case["data"]["cluster"])
    missing = [i for i, y in enumerate(case["data"]["yi"]) if y is None]
    assert missing and fit.k_excluded == len(missing)
    for i in missing:
        cluster[i] = None  # metafor drops the cluster entries of excluded rows first
    _check(synthesis.robust(fit, cluster), case["CR2"])


def test_errors_say_what_is_wrong():
    case = CASES["unbalanced_REML_mods_z"]
    fit = _fit(case)
    cluster = case["data"]["cluster"]
    with pytest.raises(
        UserInputError,
        match=r"cluster has 14 values but the model was fitted "
        r"to 15 rows \(14 used, 1 excluded for missing values\)",
    ):
        synthesis.robust(fit, cluster[:-1])
    bad = list(cluster)
    bad[2] = np.nan
    with pytest.raises(
        UserInputError,
        match=r"cluster is missing for 1 of the 14 effects used: "
        r"row 2 \(Study 3\)",
    ):
        synthesis.robust(fit, bad)
    with pytest.raises(UserInputError, match=r"all 14 effects fall in a single cluster"):
        synthesis.robust(fit, ["A"] * 15)
    with pytest.raises(UserInputError, match=r"2 clusters for 2 coefficient\(s\)"):
        synthesis.robust(fit, ["A"] * 8 + ["B"] * 7)
    with pytest.raises(UserInputError, match=r"cluster must be one label per row .*got None"):
        synthesis.robust(fit, None)  # type: ignore[arg-type]
    with pytest.raises(UserInputError, match=r"names a column, but no data= was given"):
        synthesis.robust(fit, "cl")
    with pytest.raises(UserInputError, match=r"cluster='nope': no such column"):
        synthesis.robust(fit, "nope", data=pd.DataFrame({"cl": cluster}))
    with pytest.raises(UserInputError, match=r"needs a model fitted by rma\(\); got"):
        synthesis.robust(stats.regtest(stats.rma([0.1, 0.2, 0.3], [0.1, 0.2, 0.3])), cluster)


def test_robust_does_not_import_pymare():
    code = (
        "import sys, synthesis as s\n"
        "r = s.robust(s.rma([0.1, 0.3, 0.2, 0.5], [0.01, 0.02, 0.01, 0.03]), [1, 1, 2, 3])\n"
        "print('pymare' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
