"""Behaviour and input checking of synthesis.stats (numbers vs metafor: test_meta_reference)."""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthesis import stats
from synthesis.errors import UserInputError
from synthesis.stats import tau2 as engine
from synthesis.stats.control import check_control
from synthesis.warnings import ConvergenceWarning, DataQualityWarning
from tests.tolerances import CLOSED_FORM, ITERATIVE

ROOT = Path(__file__).resolve().parents[1]

# dat.bcg, log risk ratios (metafor's escalc(measure="RR", ...)).
BCG_YI = np.array(
    [
        -0.8893113339202054,
        -1.5853886572014306,
        -1.3480731482996933,
        -1.4415511900213054,
        -0.2175473222112956,
        -0.7861155858188640,
        -1.6208982235983918,
        0.0119523335238405,
        -0.4694176487381494,
        -1.3713448034727844,
        -0.3393588283383906,
        0.4459134005713787,
        -0.0173139482168798,
    ]
)
BCG_VI = np.array(
    [
        0.3255847650039613,
        0.1945811213981438,
        0.4153679653679654,
        0.0200100319022476,
        0.0512101721696309,
        0.0069056184559088,
        0.2230172475723152,
        0.0039615792978177,
        0.0564342104632490,
        0.0730247936130289,
        0.0124122139715597,
        0.5325058452001528,
        0.0714046596839863,
    ]
)
BCG_ALLOC = [
    "random",
    "random",
    "random",
    "random",
    "alternate",
    "alternate",
    "random",
    "random",
    "systematic",
    "systematic",
    "systematic",
    "systematic",
    "random",
]
BCG_ABLAT = np.array([44, 55, 42, 52, 13, 44, 19, 13, 27, 42, 18, 33, 33], dtype=float)

REQUIRED_KEYS = {
    "k",
    "method",
    "test",
    "estimate",
    "se",
    "zval",
    "pval",
    "ci_lb",
    "ci_ub",
    "pi_lb",
    "pi_ub",
    "tau2",
    "tau2_ci_lb",
    "tau2_ci_ub",
    "I2",
    "H2",
    "QE",
    "QEp",
    "converged",
    "yi",
    "vi",
}


@pytest.fixture(scope="module")
def bcg() -> stats.MetaResult:
    return stats.rma(BCG_YI, BCG_VI, slab=[f"trial {i + 1}" for i in range(13)], measure="RR")


# ------------------------------------------------------------------ bad input ----


@pytest.mark.parametrize("method", ["XYZ", "reml", "", None, 3])
def test_unknown_method(method: object) -> None:
    with pytest.raises(UserInputError, match=r"method=.*allowed: 'EE', 'DL'.*'FE'"):
        stats.rma(BCG_YI, BCG_VI, method=method)  # type: ignore[arg-type]


@pytest.mark.parametrize("test", ["t", "Z", "ad hoc", None])
def test_unknown_test(test: object) -> None:
    with pytest.raises(UserInputError, match=r"test=.*allowed: 'z', 'knha', 'adhoc'"):
        stats.rma(BCG_YI, BCG_VI, test=test)  # type: ignore[arg-type]


@pytest.mark.parametrize("level", [0, 100, 150, -5, math.nan, math.inf, "95", True, None])
def test_level_outside_range(level: object) -> None:
    with pytest.raises(UserInputError, match=r"level=.*percentage between 1 and 100"):
        stats.rma(BCG_YI, BCG_VI, level=level)  # type: ignore[arg-type]


def test_level_as_proportion_is_refused_with_a_hint() -> None:
    with pytest.raises(UserInputError, match=r"level=0\.95 .*looks like a proportion; write 95"):
        stats.rma(BCG_YI, BCG_VI, level=0.95)


def test_mismatched_lengths() -> None:
    with pytest.raises(UserInputError, match=r"yi has 13 values but vi has 12"):
        stats.rma(BCG_YI, BCG_VI[:-1])


@pytest.mark.parametrize("bad", [0.0, -0.1, math.inf])
def test_non_positive_or_infinite_variance(bad: float) -> None:
    vi = BCG_VI.copy()
    vi[4] = bad
    with pytest.raises(UserInputError, match=r"vi\[4\] = .*finite and > 0"):
        stats.rma(BCG_YI, vi)


def test_infinite_estimate() -> None:
    yi = BCG_YI.copy()
    yi[2] = -math.inf
    with pytest.raises(UserInputError, match=r"yi\[2\] = -inf; estimates must be finite"):
        stats.rma(yi, BCG_VI)


def test_non_numeric_and_two_dimensional_input() -> None:
    with pytest.raises(UserInputError, match="yi must be a sequence of numbers"):
        stats.rma(["a", "b"], [0.1, 0.2])
    with pytest.raises(UserInputError, match="vi must be one-dimensional"):
        stats.rma([0.1, 0.2], [[0.1, 0.2]])


def test_k_zero() -> None:
    with pytest.raises(UserInputError, match="k = 0"):
        stats.rma([], [])
    with (
        pytest.warns(DataQualityWarning, match="2 of 2 studies excluded"),
        pytest.raises(UserInputError, match=r"k = 0 after excluding 2 of 2"),
    ):
        stats.rma([math.nan, 0.2], [0.1, math.nan])


def test_slab_length() -> None:
    with pytest.raises(UserInputError, match="slab has 2 labels but yi has 13"):
        stats.rma(BCG_YI, BCG_VI, slab=["a", "b"])


def test_bad_mods() -> None:
    with pytest.raises(UserInputError, match="mods has 3 rows but yi has 13"):
        stats.rma(BCG_YI, BCG_VI, mods=[1, 2, 3])
    with pytest.raises(UserInputError, match=r"rank 1 < 2 columns"):
        stats.rma(BCG_YI, BCG_VI, mods=np.ones(13))
    with pytest.raises(UserInputError, match=r"need k >= p \+ 1"):
        stats.rma(BCG_YI[:2], BCG_VI[:2], mods=[1.0, 2.0])
    with pytest.raises(UserInputError, match="at least 2"):
        stats.rma(BCG_YI, BCG_VI, mods=pd.DataFrame({"g": ["a"] * 13}))


@pytest.mark.parametrize(
    ("control", "pattern"),
    [
        ({"threshhold": 1e-8}, r"unknown key\(s\) \['threshhold'\]"),
        ({"maxiter": 0}, r"control\['maxiter'\]=0 must be a positive integer"),
        ({"maxiter": 2.5}, r"control\['maxiter'\]=2.5"),
        ({"threshold": -1}, r"control\['threshold'\]=-1 must be a positive number"),
        ({"tau2_init": -0.1}, r"control\['tau2_init'\]=-0.1"),
        ("fast", r"control='fast' must be a mapping"),
    ],
)
def test_bad_control(control: object, pattern: str) -> None:
    with pytest.raises(UserInputError, match=pattern):
        stats.rma(BCG_YI, BCG_VI, control=control)  # type: ignore[arg-type]


def test_bad_arguments_of_the_analyses(bcg: stats.MetaResult) -> None:
    with pytest.raises(UserInputError, match="leave1out needs at least 2 studies"):
        stats.leave1out(BCG_YI[:1], BCG_VI[:1])
    with pytest.raises(UserInputError, match="trimfill needs at least 3 studies"):
        stats.trimfill(BCG_YI[:2], BCG_VI[:2])
    with pytest.raises(UserInputError, match="side='up' is not allowed"):
        stats.trimfill(bcg, side="up")
    with pytest.raises(UserInputError, match="order has 3 values but the model has k = 13"):
        stats.cumul(bcg, order=[1, 2, 3])
    with pytest.raises(UserInputError, match="order has 3 values but yi has 13"):
        stats.cumul(BCG_YI, BCG_VI, order=[1, 2, 3])
    with pytest.raises(UserInputError, match="vi must not be given together"):
        stats.leave1out(bcg, BCG_VI)
    with pytest.raises(UserInputError, match="vi is required"):
        stats.regtest(BCG_YI)
    with pytest.raises(UserInputError, match=r"unknown keyword argument\(s\) \['metod'\]"):
        stats.leave1out(BCG_YI, BCG_VI, metod="DL")
    with pytest.raises(UserInputError, match="sei cannot be a predictor"):
        stats.regtest(BCG_YI, np.full(13, 0.1))
    with pytest.raises(UserInputError, match="model without moderators"):
        stats.leave1out(stats.rma(BCG_YI, BCG_VI, mods=BCG_ABLAT))
    with pytest.raises(UserInputError, match="groups has 1 distinct label"):
        stats.subgroup(BCG_YI, BCG_VI, ["a"] * 13)
    with pytest.raises(UserInputError, match="groups has 2 labels but yi has 13"):
        stats.subgroup(BCG_YI, BCG_VI, ["a", "b"])
    with pytest.raises(UserInputError, match=r"transf=.* must be a callable"):
        bcg.transformed(2.0)  # type: ignore[arg-type]


# ---------------------------------------------------------------- behaviour ----


def test_fe_is_an_alias_of_ee() -> None:
    fe = stats.rma(BCG_YI, BCG_VI, method="FE")
    ee = stats.rma(BCG_YI, BCG_VI, method="EE")
    assert fe.method == "EE"
    assert fe == ee


def test_defaults_are_reml_and_z(bcg: stats.MetaResult) -> None:
    assert (bcg.method, bcg.test, bcg.level, bcg.df) == ("REML", "z", 95.0, None)
    assert bcg.converged
    assert bcg.iterations > 0
    assert bcg.k == 13
    assert bcg.measure == "RR"


def test_missing_rows_are_dropped_and_reported() -> None:
    yi = BCG_YI.copy()
    vi = BCG_VI.copy()
    yi[2] = math.nan
    vi[5] = math.nan
    slab = [f"trial {i + 1}" for i in range(13)]
    with pytest.warns(DataQualityWarning, match=r"2 of 13 studies excluded.*trial 3"):
        res = stats.rma(yi, vi, slab=slab)
    assert res.k == 11
    assert res.k_excluded == 2
    assert res.excluded == (("trial 3", "yi is missing"), ("trial 6", "vi is missing"))
    assert res.index == (0, 1, 3, 4, 6, 7, 8, 9, 10, 11, 12)
    assert "trial 3" not in res.slab
    assert math.isfinite(res.estimate)
    assert res.weights.shape == (11,)
    keep = np.isfinite(yi) & np.isfinite(vi)
    same = stats.rma(yi[keep], vi[keep])
    assert res.estimate == pytest.approx(same.estimate, rel=CLOSED_FORM)
    with pytest.warns(DataQualityWarning):
        unlabeled = stats.rma(yi, vi)
    assert unlabeled.excluded[0] == (2, "yi is missing")


def test_k_equal_one_is_the_study_itself() -> None:
    res = stats.rma(BCG_YI[:1], BCG_VI[:1], test="knha")
    assert res.k == 1
    assert res.estimate == BCG_YI[0]
    assert res.se == pytest.approx(math.sqrt(BCG_VI[0]), rel=CLOSED_FORM)
    assert (res.tau2, res.QE, res.QEp, res.I2, res.H2) == (0.0, 0.0, 1.0, 0.0, 1.0)
    assert math.isnan(res.se_tau2)
    assert math.isnan(res.tau2_ci_lb)
    assert res.test == "z"
    assert (res.pi_lb, res.pi_ub) == (res.ci_lb, res.ci_ub)
    assert any("k = 1" in n for n in res.notes)
    assert any('test="z" used' in n for n in res.notes)


def test_k_equal_two_works() -> None:
    for method in stats.METHODS:
        res = stats.rma(BCG_YI[:2], BCG_VI[:2], method=method, test="knha")
        assert res.k == 2
        assert res.df == 1
        assert math.isfinite(res.estimate)


def test_identical_estimates_under_knha() -> None:
    res = stats.rma([0.5] * 5, [0.1, 0.2, 0.05, 0.3, 0.15], test="knha")
    assert res.tau2 == 0.0
    assert res.se == 0.0
    assert res.pval == 0.0
    assert res.zval == math.inf
    assert res.ci_lb == res.ci_ub == res.estimate


def test_non_convergence_warns_and_flags() -> None:
    with pytest.warns(ConvergenceWarning, match=r"REML: Fisher scoring did not converge"):
        res = stats.rma(BCG_YI, BCG_VI, control={"maxiter": 1})
    assert res.converged is False
    assert any("last iterate" in n for n in res.notes)
    assert math.isfinite(res.tau2)


def test_reml_converges_where_fisher_scoring_oscillates() -> None:
    """Newton steps near the maximum (relative rule) reach the REML estimate on data where
    Fisher scoring oscillates: metafor 3.8.1 stops with an error at its default control,
    and with half steps converges to the values of tests/reference/newton_reference.json
    (tests/reference/newton_reference.R)."""
    ref = json.loads((ROOT / "tests/reference/newton_reference.json").read_text())
    assert "did not converge" in ref["default_error"]
    res = stats.rma(ref["yi"], ref["vi"], method="REML")
    assert res.converged is True and res.iterations < 20
    assert res.tau2 == pytest.approx(ref["tau2"], rel=CLOSED_FORM)
    assert res.estimate == pytest.approx(ref["beta"], rel=CLOSED_FORM)
    assert res.se == pytest.approx(ref["se"], rel=CLOSED_FORM)
    # metafor's own rule (pure Fisher scoring) oscillates here, as metafor does
    metafor_rule = {"threshold": 1e-5, "relative": False, "maxiter": 100}
    with pytest.warns(ConvergenceWarning, match=r"REML: Fisher scoring did not converge"):
        assert stats.rma(ref["yi"], ref["vi"], control=metafor_rule).converged is False
    # and under the relative rule without Newton steps it would not converge either
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(engine, "NEWTON_FROM", -1.0)
        with pytest.warns(ConvergenceWarning, match=r"did not converge"):
            assert stats.rma(ref["yi"], ref["vi"]).converged is False


def test_result_is_frozen_and_arrays_read_only(bcg: stats.MetaResult) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        bcg.tau2 = 0.0  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        bcg.weights[0] = 1.0
    with pytest.raises(TypeError):
        bcg.control["maxiter"] = 3  # type: ignore[index]


def test_weights_and_i2_formula(bcg: stats.MetaResult) -> None:
    w = 1 / BCG_VI
    s2 = (13 - 1) * w.sum() / (w.sum() ** 2 - (w**2).sum())
    assert pytest.approx(100 * bcg.tau2 / (bcg.tau2 + s2), rel=CLOSED_FORM) == bcg.I2
    assert pytest.approx((bcg.tau2 + s2) / s2, rel=CLOSED_FORM) == bcg.H2
    assert bcg.weights.sum() == pytest.approx(100.0, rel=CLOSED_FORM)
    wr = 1 / (BCG_VI + bcg.tau2)
    np.testing.assert_allclose(bcg.weights, 100 * wr / wr.sum(), rtol=CLOSED_FORM)


def test_prediction_interval_formula(bcg: stats.MetaResult) -> None:
    half = 1.959963984540054 * math.sqrt(bcg.se**2 + bcg.tau2)
    assert bcg.pi_lb == pytest.approx(bcg.estimate - half, rel=CLOSED_FORM)
    assert bcg.pi_ub == pytest.approx(bcg.estimate + half, rel=CLOSED_FORM)
    assert math.isnan(stats.rma(BCG_YI, BCG_VI, method="EE").pi_lb)


def test_eb_equals_pm() -> None:
    pm = stats.rma(BCG_YI, BCG_VI, method="PM")
    eb = stats.rma(BCG_YI, BCG_VI, method="EB")
    assert eb.tau2 == pytest.approx(pm.tau2, rel=ITERATIVE)


def test_level_changes_interval_width(bcg: stats.MetaResult) -> None:
    narrow = stats.rma(BCG_YI, BCG_VI, level=90)
    assert narrow.ci_ub - narrow.ci_lb < bcg.ci_ub - bcg.ci_lb
    assert narrow.estimate == bcg.estimate


def test_q_profile_search_limit_is_noted() -> None:
    res = stats.rma(BCG_YI[:2], BCG_VI[:2])
    assert res.tau2_ci_ub == 100.0
    assert any("tau2_max" in n for n in res.notes)
    wider = stats.rma(BCG_YI[:2], BCG_VI[:2], control={"tau2_max": 1e6})
    assert 100.0 < wider.tau2_ci_ub < 1e6


def test_large_heterogeneity_pm() -> None:
    res = stats.rma([0.0, 1000.0, -1000.0, 500.0], [1.0, 1.0, 1.0, 1.0], method="PM")
    assert res.tau2 > 100
    block = engine.Block.from_rows(np.asarray(res.yi)[None, :], np.asarray(res.vi)[None, :])
    assert engine.q_stat(block, np.array([res.tau2]))[0] == pytest.approx(3.0)


def test_export(bcg: stats.MetaResult) -> None:
    d = bcg.to_dict()
    assert set(d) >= REQUIRED_KEYS
    json.dumps(d, allow_nan=False)
    assert d["yi"] == BCG_YI.tolist()
    frame = bcg.to_frame()
    assert frame.shape[0] == 1
    assert frame.loc[0, "tau2"] == bcg.tau2
    assert list(bcg.coef_table().index) == ["intrcpt"]
    ee = stats.rma(BCG_YI, BCG_VI, method="EE").to_dict()
    assert ee["pi_lb"] is None
    json.dumps(ee, allow_nan=False)


def test_str_and_html(bcg: stats.MetaResult) -> None:
    text = str(bcg)
    assert text.startswith("Random-Effects Model (k = 13; tau^2 estimator: REML)")
    assert "tau^2 (estimated amount of total heterogeneity): 0.3132 (SE = 0.1664)" in text
    assert "Q(df = 12) = 152.2330, p-val < .0001" in text
    assert "-0.7145" in text
    assert "<table" in bcg._repr_html_()
    mr = str(stats.rma(BCG_YI, BCG_VI, mods={"ablat": BCG_ABLAT}, test="knha"))
    assert "Mixed-Effects Model" in mr
    assert "F(df1 = 1, df2 = 11)" in mr
    assert "ablat" in mr


def test_transformed(bcg: stats.MetaResult) -> None:
    t = bcg.transformed(math.exp)
    assert t.estimate == pytest.approx(math.exp(bcg.estimate), rel=CLOSED_FORM)
    assert t.ci_lb == pytest.approx(math.exp(bcg.ci_lb), rel=CLOSED_FORM)
    assert t.pi_ub == pytest.approx(math.exp(bcg.pi_ub), rel=CLOSED_FORM)
    neg = bcg.backtransform(lambda x: -x)
    assert neg.ci_lb == -bcg.ci_ub
    assert neg.ci_lb < neg.ci_ub


def test_factor_moderator_from_dataframe() -> None:
    res = stats.rma(BCG_YI, BCG_VI, mods=pd.DataFrame({"alloc": BCG_ALLOC}))
    assert [c.name for c in res.coefficients] == ["intrcpt", "allocrandom", "allocsystematic"]
    dummies = np.column_stack(
        [[a == "random" for a in BCG_ALLOC], [a == "systematic" for a in BCG_ALLOC]]
    ).astype(float)
    same = stats.rma(BCG_YI, BCG_VI, mods=dummies)
    assert pytest.approx(same.QM, rel=CLOSED_FORM) == res.QM
    assert res.QMdf == (2, None)


def test_leave1out_and_cumul_paths_agree(bcg: stats.MetaResult) -> None:
    a = stats.leave1out(bcg)
    b = stats.leave1out(BCG_YI, BCG_VI, slab=list(bcg.slab))
    pd.testing.assert_frame_equal(a, b)
    assert a.index[0] == "trial 1"
    assert a.loc["trial 1", "estimate"] == pytest.approx(
        stats.rma(BCG_YI[1:], BCG_VI[1:]).estimate, rel=CLOSED_FORM
    )
    c = stats.cumul(bcg, order=-np.arange(13))
    assert c.index[0] == "trial 13"
    assert c.iloc[-1]["estimate"] == pytest.approx(bcg.estimate, rel=CLOSED_FORM)


def test_cumul_order_refers_to_input_rows_when_rows_are_dropped() -> None:
    yi = BCG_YI.copy()
    yi[0] = math.nan
    with pytest.warns(DataQualityWarning):
        c = stats.cumul(yi, BCG_VI, order=np.arange(13)[::-1], method="DL")
    assert len(c) == 12
    assert c.index[0] == "Study 13"


def test_regtest_fit(bcg: stats.MetaResult) -> None:
    rt = stats.regtest(bcg)
    assert rt.df is None
    assert [c.name for c in rt.fit.coefficients] == ["intrcpt", "sei"]
    assert rt.est == rt.fit.coefficients[0].estimate
    assert stats.regtest(bcg, test="knha").df == 11


def test_trimfill_marks_imputed_rows(bcg: stats.MetaResult) -> None:
    tf = stats.trimfill(bcg)
    assert tf.k0 == 1
    assert tf.side == "right"
    assert tf.fill.tolist() == [False] * 13 + [True]
    assert tf.slab[-1] == "Filled 1"
    assert tf.fit.k == 14
    assert tf.original is bcg
    none = stats.trimfill(bcg, side="left")
    assert none.k0 == 0
    assert none.fit is bcg


def test_subgroup(bcg: stats.MetaResult) -> None:
    sg = stats.subgroup(BCG_YI, BCG_VI, BCG_ALLOC, method="DL")
    assert sg.groups == ("alternate", "random", "systematic")
    assert sg.Qb_df == 2
    assert sg.mixed.QMdf == (2, None)
    frame = sg.to_frame()
    assert list(frame.index) == list(sg.groups)
    assert frame.loc["random", "k"] == 7
    groups = list(BCG_ALLOC)
    groups[0] = None  # type: ignore[call-overload]
    with pytest.warns(DataQualityWarning, match="a moderator is missing"):
        sg2 = stats.subgroup(BCG_YI, BCG_VI, groups, method="DL")
    assert sum(f.k for f in sg2.fits.values()) == 12


def test_engine_functions() -> None:
    one = stats.rma([0.3], [0.1])
    assert (one.QE, one.QEp) == (0.0, 1.0)
    block = engine.Block.from_rows(BCG_YI[None, :], BCG_VI[None, :])
    qe = float(engine.q_stat(block, np.zeros(1))[0])
    assert qe == pytest.approx(stats.rma(BCG_YI, BCG_VI, method="EE").QE)
    con = check_control(None)
    assert engine.estimate_tau2(block, "EE", con).tau2[0] == 0.0
    est = float(engine.estimate_tau2(block, "DL", con).tau2[0])
    w = 1 / BCG_VI
    dl = (qe - 12) / (w.sum() - (w**2).sum() / w.sum())
    assert est == pytest.approx(dl, rel=CLOSED_FORM)
    lb, ub, truncated, _tmax = engine.q_profile(block, np.array([est]), 95.0, con)
    assert lb[0] < est < ub[0] and not truncated[0]


def test_import_is_cheap_and_pymare_lazy() -> None:
    code = (
        "import sys, synthesis.stats as m\n"
        "for method in m.METHODS:\n"
        "    m.rma([0.1, 0.3, 0.5], [0.1, 0.2, 0.1], method=method)\n"
        "m.trimfill(m.rma([0.1, 0.3, 0.5, 0.9], [0.1, 0.2, 0.1, 0.3]))\n"
        "assert 'pymare' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
