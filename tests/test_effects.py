"""Unit tests of synthesis.stats: conversions, escalc's table and every bad input.

The agreement of each measure with metafor is in test_effects_reference.py; here
each expected number names its source (a textbook worked example, or the formula
evaluated by hand in the comment).
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from synthesis import stats
from synthesis.errors import UserInputError
from synthesis.stats import (
    MEASURES,
    backtransform,
    d_to_r,
    es_cor,
    es_md,
    es_or,
    es_pft,
    es_plo,
    es_pr,
    es_rd,
    es_rr,
    es_smcc,
    es_smcr,
    es_smd,
    es_zcor,
    escalc_table,
    events_from_percent,
    r_from_r2,
    r_to_d,
    sd_from_ci,
    se_from_ci,
    se_from_p,
    transf_exp,
    transf_ilogit,
    transf_ipft_hm,
    transf_ztor,
    var_d,
    var_from_ci,
)
from tests.tolerances import CLOSED_FORM, published


def close(actual: object, expected: object, tol: float = CLOSED_FORM) -> None:
    np.testing.assert_allclose(
        np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), rtol=tol, atol=tol
    )


# ------------------------------------------------------------------ worked examples


def test_d_to_r_borenstein_ch7() -> None:
    # Borenstein et al. (2009), ch. 7 "Converting among effect sizes": d = 1.1547
    # (equal groups, a = 4) converts to r = 0.5000, and r = 0.50 back to d = 1.1547.
    close(d_to_r(1.1547), 0.5000, published(4))
    close(r_to_d(0.50), 1.1547, published(4))


def test_d_to_r_unequal_groups() -> None:
    # a = (n1 + n2)^2 / (n1 n2) = 100^2 / (20 * 80) = 6.25, so
    # r = 0.5 / sqrt(0.25 + 6.25) = 0.5 / sqrt(6.5) (by hand).
    close(d_to_r(0.5, 20, 80), 0.5 / math.sqrt(6.5))
    # equal groups give a = 4 exactly, the same as no n's
    close(d_to_r(0.8, 30, 30), d_to_r(0.8))


def test_r_to_d_roundtrip() -> None:
    r = np.array([-0.9, -0.3, 0.0, 0.2, 0.75])
    close(d_to_r(r_to_d(r)), r)


def test_var_d_borenstein_ch4() -> None:
    # Borenstein et al. (2009), ch. 4: means 103 and 100, SDs 5.5 and 4.5, n = 50 + 50
    # give d = 0.5970 with V_d = 0.0418.
    close(var_d(0.5970, 50, 50), 0.0418, published(4))


def test_smd_borenstein_ch4() -> None:
    # Same example: Hedges' g = 0.5924 (J = 0.9923; metafor's exact c(m) agrees to 4 dp).
    yi, vi = es_smd(103, 100, 5.5, 4.5, 50, 50)
    close(yi, 0.5924, published(4))
    # metafor's LS variance uses g: 1/50 + 1/50 + g^2 / 200
    close(vi, 0.04 + yi**2 / 200)


def test_zcor_borenstein_ch6() -> None:
    # Borenstein et al. (2009), ch. 6: r = 0.50, n = 100 gives z = 0.5493, V_z = 0.0103.
    yi, vi = es_zcor(0.5, 100)
    close(yi, 0.5493, published(4))
    close(vi, 0.0103, published(4))
    close(transf_ztor(yi), 0.5)


def test_sd_from_ci_cochrane_6_5_2_2() -> None:
    # Cochrane Handbook 6.5.2.2: for a group of 25 the t value for a 95% CI (24 df) is
    # 2.0639, so the divisor 3.92 becomes 2 x 2.0639 = 4.128; SD = sqrt(N) x width / divisor.
    lower, upper, n = 7.0, 13.0, 25
    sd = sd_from_ci(lower, upper, n)
    close(math.sqrt(n) * (upper - lower) / sd, 4.128, published(3))
    # large-sample version: divisor 3.92 (= 2 x 1.96)
    sd_z = sd_from_ci(lower, upper, n, dist="normal")
    close(math.sqrt(n) * (upper - lower) / sd_z, 3.92, published(2))
    # 90% CI: divisor 3.29 (Handbook 6.5.2.2)
    sd_90 = sd_from_ci(lower, upper, n, level=90, dist="normal")
    close(math.sqrt(n) * (upper - lower) / sd_90, 3.29, published(2))


def test_se_from_ci_cochrane() -> None:
    # Cochrane Handbook 6.3.1: SE = (upper - lower) / 3.92 for a 95% CI.
    close((5.0 - 1.0) / se_from_ci(1.0, 5.0), 3.92, published(2))
    # ratio measures (6.3.2): on the log scale; here (ln 2 - ln 0.5) / (2 * 1.959964)
    z = 1.959963984540054  # standard normal 97.5% quantile
    close(se_from_ci(0.5, 2.0, log=True), (math.log(2.0) - math.log(0.5)) / (2 * z))
    close(var_from_ci(0.5, 2.0, log=True), se_from_ci(0.5, 2.0, log=True) ** 2)
    close(se_from_ci([1.0, 2.0], [5.0, 3.0]), [4 / (2 * z), 1 / (2 * z)])


def test_se_from_p() -> None:
    # By construction: two-sided p = erfc(2 / sqrt 2) is the p of z = 2, so SE = est / 2.
    p = math.erfc(2 / math.sqrt(2))
    close(se_from_p(0.8, p), 0.4)
    close(se_from_p(-0.8, p), 0.4)
    # one-sided p = p_two_sided / 2 gives the same z
    close(se_from_p(0.8, p / 2, two_sided=False), 0.4)


def test_r_from_r2() -> None:
    close(r_from_r2(0.25), 0.5)
    close(r_from_r2(0.25, sign=-1), -0.5)
    assert "multiple" in (r_from_r2.__doc__ or "").lower()


def test_events_from_percent() -> None:
    # 33.3% of 36: 12/36 = 33.33% is the only count that prints as 33.3%.
    count, note = events_from_percent(33.3, 36)
    assert count == 12
    assert "12 events" in note and "33.3%" in note
    # a string keeps the printed precision ("12.50" has two decimals)
    assert events_from_percent("12.50", 8)[0] == 1
    assert events_from_percent("12.50%", 8)[0] == 1
    # 0% and 100%
    assert events_from_percent(0, 17)[0] == 0
    assert events_from_percent(100, 17)[0] == 17
    # several counts print as 50% of 1000: the nearest is taken and the note says so
    count, note = events_from_percent(50, 1000)
    assert count == 500
    assert "495 to 505" in note


def test_transforms() -> None:
    close(transf_ilogit(0.0), 0.5)
    close(transf_ilogit(math.log(3)), 0.75)
    close(transf_exp(math.log(2.5)), 2.5)
    close(transf_ztor(np.arctanh([0.1, -0.4])), [0.1, -0.4])
    # the double-arcsine of p = 1/2 with n = 10 inverts back to 1/2 (nhm = 10)
    yi, _ = es_pft(5, 10)
    close(transf_ipft_hm(yi, [10, 10]), 0.5, 1e-3)


def test_backtransform_dispatch() -> None:
    close(backtransform("ZCOR", 0.5), math.tanh(0.5))
    close(backtransform("PLO", 0.0), 0.5)
    close(backtransform("OR", math.log(2)), 2.0)
    close(backtransform("RR", [0.0, math.log(3)]), [1.0, 3.0])
    ni = np.array([10, 20, 40])
    close(backtransform("PFT", 0.6, ni=ni), transf_ipft_hm(0.6, ni))
    for measure in ("COR", "SMD", "MD", "SMCC", "SMCR", "RD", "PR", "GEN"):
        close(backtransform(measure, [0.3, -0.2]), [0.3, -0.2])


# ----------------------------------------------------------------- escalc's table


def test_measures_tuple() -> None:
    assert MEASURES == (
        "ZCOR",
        "COR",
        "SMD",
        "MD",
        "SMCC",
        "SMCR",
        "OR",
        "RR",
        "RD",
        "PLO",
        "PR",
        "PFT",
        "GEN",
    )


def test_escalc_columns_and_index() -> None:
    data = pd.DataFrame({"ri": [0.1, 0.3], "ni": [50, 80]}, index=["Smith 2001", "Lee 2005"])
    out = escalc_table("ZCOR", data)
    assert list(out.columns) == ["yi", "vi", "measure", "es_method", "assumed"]
    assert list(out.index) == ["Smith 2001", "Lee 2005"]
    assert (out["measure"] == "ZCOR").all()
    assert not out["assumed"].any()
    assert out["es_method"].str.contains("Fisher's z").all()


def test_escalc_mapping_gives_range_index() -> None:
    out = escalc_table("COR", {"ri": [0.1, 0.3, 0.2], "ni": [50, 80, 30]})
    assert list(out.index) == [0, 1, 2]


def test_escalc_agrees_with_array_functions() -> None:
    cont = {"m1i": [5.0, 3.2], "m2i": [4.1, 3.9], "sd1i": [1.2, 2.0], "sd2i": [1.5, 1.7]}
    cont |= {"n1i": [20, 35], "n2i": [22, 31]}
    for measure, fun in (("SMD", es_smd), ("MD", es_md)):
        out = escalc_table(measure, cont)
        yi, vi = fun(**cont)
        close(out["yi"], yi)
        close(out["vi"], vi)
    pp = {"m1i": [5.0, 3.2], "m2i": [4.1, 3.9], "sd1i": [1.2, 2.0], "sd2i": [1.5, 1.7]}
    pp |= {"ni": [20, 35], "ri": [0.4, 0.7]}
    close(escalc_table("SMCC", pp)["yi"], es_smcc(**pp)[0])
    close(escalc_table("SMCR", pp)["vi"], es_smcr(**pp)[1])
    tab = {"ai": [3, 0], "bi": [17, 20], "ci": [6, 4], "di": [14, 16]}
    for measure, fun in (("OR", es_or), ("RR", es_rr), ("RD", es_rd)):
        close(escalc_table(measure, tab)["yi"], fun(**tab)[0])
        close(escalc_table(measure, tab, to="all", add=1)["vi"], fun(**tab, to="all", add=1)[1])
    prop = {"xi": [0, 4], "ni": [10, 12]}
    for measure, fun in (("PLO", es_plo), ("PR", es_pr), ("PFT", es_pft)):
        close(escalc_table(measure, prop)["yi"], fun(**prop)[0])
    close(escalc_table("COR", {"ri": [0.2], "ni": [30]})["vi"], es_cor(0.2, 30)[1])


def test_escalc_n1i_n2i_equals_bi_di() -> None:
    a = escalc_table("OR", {"ai": [4, 0], "bi": [16, 20], "ci": [6, 3], "di": [14, 17]})
    b = escalc_table("OR", {"ai": [4, 0], "n1i": [20, 20], "ci": [6, 3], "n2i": [20, 20]})
    close(a["yi"], b["yi"])
    close(a["vi"], b["vi"])
    assert "ai, n1i, ci, n2i" in b["es_method"][0]


def test_escalc_pft_default_add_is_zero() -> None:
    # metafor uses add = 0 for PFT unless add is given explicitly
    default = escalc_table("PFT", {"xi": [0], "ni": [10]})
    close(default["yi"], es_pft(0, 10, add=0)[0])
    assert "added" not in default["es_method"][0]
    explicit = escalc_table("PFT", {"xi": [0], "ni": [10]}, add=0.5)
    close(explicit["yi"], es_pft(0, 10, add=0.5)[0])
    assert "0.5 added" in explicit["es_method"][0]


def test_escalc_zero_cell_notes() -> None:
    tab = {"ai": [5, 0, 0], "bi": [15, 20, 25], "ci": [8, 3, 0], "di": [12, 17, 30]}
    out = escalc_table("OR", tab)
    assert "added" not in out["es_method"][0]
    assert "0.5 added to every cell (zero cell; to='only0')" in out["es_method"][1]
    dropped = escalc_table("OR", tab, drop00=True)
    assert np.isnan(dropped["yi"][2]) and np.isnan(dropped["vi"][2])
    assert "double-zero" in dropped["es_method"][2]
    none = escalc_table("OR", tab, to="none")
    assert np.isnan(none["yi"][1])
    assert "not estimable" in none["es_method"][1]


def test_escalc_missing_input_row_is_nan_not_error() -> None:
    out = escalc_table("SMD", {
        "m1i": [5.0, np.nan], "m2i": [4.0, 3.0], "sd1i": [1.0, 1.0],
        "sd2i": [1.0, 1.0], "n1i": [20, 20], "n2i": [20, None],
    })  # fmt: skip
    assert np.isfinite(out["yi"][0])
    assert np.isnan(out["yi"][1]) and np.isnan(out["vi"][1])
    assert out["es_method"][1] == "SMD: missing input: m1i, n2i; yi and vi not computed"
    tab = escalc_table(
        "RR", {"ai": [np.nan, 2], "n1i": [10, 10], "ci": [1, 2], "n2i": [10, np.nan]}
    )
    assert tab["yi"].isna().all()
    assert "missing input: ai" in tab["es_method"][0]
    assert "missing input: n2i" in tab["es_method"][1]


def test_escalc_prepost_assumed_r() -> None:
    data = {
        "m1i": [10.0, 12.0],
        "m2i": [8.0, 9.0],
        "sd1i": [3.0, 4.0],
        "sd2i": [3.5, 4.2],
        "ni": [20, 30],
        "ri": [0.7, np.nan],
    }
    out = escalc_table("SMCC", data, ri_assumed=0.5)
    assert list(out.columns) == ["yi", "vi", "measure", "es_method", "assumed", "ri"]
    assert list(out["assumed"]) == [False, True]
    close(out["ri"], [0.7, 0.5])
    assert out["es_method"][1] == (
        "SMCC from pre/post means and SDs (standardized by the SD of change scores); "
        "pre-post r = 0.5 ASSUMED (not reported)"
    )
    assert "pre-post r = 0.7 (reported)" in out["es_method"][0]
    close(out["yi"][1], es_smcc(12.0, 9.0, 4.0, 4.2, 30, 0.5)[0])
    # without ri_assumed the row with missing r is a missing input
    plain = escalc_table("SMCC", data)
    assert np.isnan(plain["yi"][1])
    assert "missing input: ri" in plain["es_method"][1]
    # the ri column may be absent altogether when ri_assumed is given
    no_ri = {k: v for k, v in data.items() if k != "ri"}
    smcr = escalc_table("SMCR", no_ri, ri_assumed=0.6)
    assert smcr["assumed"].all()
    close(smcr["ri"], [0.6, 0.6])


def test_escalc_passthrough() -> None:
    out = escalc_table("GEN", {"yi": [0.1, -0.2], "vi": [0.04, 0.09]})
    close(out["yi"], [0.1, -0.2])
    assert list(out["es_method"]) == ["as supplied", "as supplied"]
    se = escalc_table("SMD", {"yi": [0.1], "sei": [0.2]})
    close(se["vi"], 0.04)
    assert (se["measure"] == "SMD").all()
    prepost = escalc_table("SMCC", {"yi": [0.3], "vi": [0.05]})
    assert list(prepost.columns) == ["yi", "vi", "measure", "es_method", "assumed"]
    assert prepost["es_method"][0] == "as supplied"
    nan = escalc_table("GEN", {"yi": [np.nan], "vi": [0.1]})
    assert np.isnan(nan["yi"][0])
    assert "missing input: yi" in nan["es_method"][0]


def test_import_does_not_load_pandas() -> None:
    code = "import sys, synthesis.stats; print('pandas' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


# ----------------------------------------------------------------------- bad input


def test_unknown_measure() -> None:
    with pytest.raises(UserInputError, match=r"measure = 'SMDH': unknown measure; allowed: ZCOR"):
        escalc_table("SMDH", {"yi": [0.1], "vi": [0.1]})
    with pytest.raises(UserInputError, match="unknown measure"):
        backtransform("LOR", 0.1)


def test_missing_columns() -> None:
    with pytest.raises(UserInputError, match=r"missing column\(s\) ni; ZCOR needs ri, ni"):
        escalc_table("ZCOR", {"ri": [0.1]})
    with pytest.raises(UserInputError, match=r"missing column\(s\) sd2i, n2i"):
        escalc_table("SMD", {"m1i": [1], "m2i": [0], "sd1i": [1], "n1i": [10]})
    with pytest.raises(UserInputError, match=r"missing column\(s\) ci, di \(or n2i\)"):
        escalc_table("OR", {"ai": [1], "bi": [3]})
    with pytest.raises(UserInputError, match=r"ri \(or pass ri_assumed=\)"):
        escalc_table("SMCC", {"m1i": [1], "m2i": [0], "sd1i": [1], "sd2i": [1], "ni": [10]})
    with pytest.raises(UserInputError, match=r"missing column\(s\) vi \(or sei\)"):
        escalc_table("GEN", {"yi": [0.1]})


def test_r_plus_minus_one_for_zcor() -> None:
    data = {"ri": [0.1, 0.2, 0.3, 1.0], "ni": [20, 20, 20, 20]}
    with pytest.raises(UserInputError, match=r"^ri = 1\.0 in row 3: ZCOR needs -1 < ri < 1$"):
        escalc_table("ZCOR", data)
    with pytest.raises(UserInputError, match=r"ri = -1\.0 in row 0"):
        es_zcor([-1.0], [20])
    # a DataFrame's index labels name the row
    frame = pd.DataFrame({"ri": [1.0], "ni": [20]}, index=["Smith 2001"])
    with pytest.raises(UserInputError, match="in row Smith 2001"):
        escalc_table("ZCOR", frame)


def test_abs_r_above_one() -> None:
    with pytest.raises(UserInputError, match=r"ri = 1\.2 in row 0: COR needs -1 < ri < 1"):
        escalc_table("COR", {"ri": [1.2], "ni": [30]})
    with pytest.raises(UserInputError, match=r"ri = -1\.5 in row 1 \(and 1 other row\)"):
        escalc_table("ZCOR", {"ri": [0.1, -1.5, 2.0], "ni": [30, 30, 30]})
    pp = {"m1i": [1], "m2i": [0], "sd1i": [1], "sd2i": [1], "ni": [10], "ri": [1.1]}
    with pytest.raises(UserInputError, match=r"ri = 1\.1 in row 0: SMCC needs -1 <= ri <= 1"):
        escalc_table("SMCC", pp)
    with pytest.raises(UserInputError, match="SMCR needs -1 <= ri <= 1"):
        escalc_table("SMCR", pp)
    with pytest.raises(UserInputError, match=r"r = 1\.0 in row 0: needs -1 < r < 1"):
        r_to_d(1.0)
    with pytest.raises(UserInputError, match=r"r2 = 1\.2 in row 0: needs 0 <= r2 <= 1"):
        r_from_r2(1.2)


def test_events_exceed_n() -> None:
    with pytest.raises(UserInputError, match=r"ai = 12 in row 0: OR needs ai <= n1i"):
        escalc_table("OR", {"ai": [12], "n1i": [10], "ci": [1], "n2i": [10]})
    with pytest.raises(UserInputError, match=r"ci = 11 in row 1: RR needs ci <= n2i"):
        escalc_table("RR", {"ai": [1, 1], "n1i": [10, 10], "ci": [1, 11], "n2i": [10, 10]})
    with pytest.raises(UserInputError, match=r"xi = 6 in row 0: PLO needs xi <= ni"):
        escalc_table("PLO", {"xi": [6], "ni": [5]})
    with pytest.raises(UserInputError, match=r"xi = 6 in row 0: PFT needs xi <= ni"):
        es_pft(6, 5)


def test_inconsistent_group_size() -> None:
    with pytest.raises(UserInputError, match=r"n1i = 11 in row 0: OR needs n1i = ai \+ bi"):
        escalc_table("OR", {"ai": [1], "bi": [9], "n1i": [11], "ci": [1], "di": [9]})


def test_negative_counts() -> None:
    with pytest.raises(UserInputError, match=r"ai = -1 in row 0: RD needs counts ai >= 0"):
        escalc_table("RD", {"ai": [-1], "bi": [10], "ci": [1], "di": [10]})
    with pytest.raises(UserInputError, match=r"di = -2 in row 0: OR needs counts di >= 0"):
        es_or(1, 10, 1, -2)
    with pytest.raises(UserInputError, match=r"xi = -1 in row 0: PR needs xi >= 0"):
        escalc_table("PR", {"xi": [-1], "ni": [10]})


def test_sample_size_too_small() -> None:
    with pytest.raises(UserInputError, match=r"ni = 3 in row 0: ZCOR needs ni > 3"):
        escalc_table("ZCOR", {"ri": [0.2], "ni": [3]})
    with pytest.raises(UserInputError, match=r"ni = 2 in row 0: COR needs ni >= 3"):
        escalc_table("COR", {"ri": [0.2], "ni": [2]})
    cont = {"m1i": [1], "m2i": [0], "sd1i": [1], "sd2i": [1], "n1i": [1], "n2i": [10]}
    with pytest.raises(UserInputError, match=r"n1i = 1 in row 0: SMD needs n1i >= 2"):
        escalc_table("SMD", cont)
    cont |= {"n1i": [10], "n2i": [1]}
    with pytest.raises(UserInputError, match=r"n2i = 1 in row 0: MD needs n2i >= 2"):
        escalc_table("MD", cont)
    pp = {"m1i": [1], "m2i": [0], "sd1i": [1], "sd2i": [1], "ni": [2], "ri": [0.5]}
    with pytest.raises(UserInputError, match=r"ni = 2 in row 0: SMCC needs ni >= 3"):
        escalc_table("SMCC", pp)
    with pytest.raises(UserInputError, match=r"n1i = 0 in row 0: OR needs group size n1i >= 1"):
        escalc_table("OR", {"ai": [0], "n1i": [0], "ci": [1], "n2i": [10]})
    with pytest.raises(UserInputError, match=r"ai = 0 in row 0: RR needs ai \+ bi >= 1"):
        escalc_table("RR", {"ai": [0], "bi": [0], "ci": [1], "di": [9]})
    with pytest.raises(UserInputError, match=r"ni = 0 in row 0: PLO needs ni >= 1"):
        escalc_table("PLO", {"xi": [0], "ni": [0]})


def test_non_positive_sd() -> None:
    cont = {"m1i": [1], "m2i": [0], "sd1i": [0.0], "sd2i": [1], "n1i": [10], "n2i": [10]}
    with pytest.raises(UserInputError, match=r"sd1i = 0\.0 in row 0: SMD needs sd1i > 0"):
        escalc_table("SMD", cont)
    cont |= {"sd1i": [1.0], "sd2i": [-1.0]}
    with pytest.raises(UserInputError, match=r"sd2i = -1\.0 in row 0: MD needs sd2i > 0"):
        escalc_table("MD", cont)
    pp = {"m1i": [1], "m2i": [0], "sd1i": [1.0], "sd2i": [0.0], "ni": [10], "ri": [0.5]}
    with pytest.raises(UserInputError, match="SMCC needs sd2i > 0"):
        escalc_table("SMCC", pp)
    pp |= {"sd1i": [0.0], "sd2i": [1.0]}
    with pytest.raises(UserInputError, match="SMCR needs sd1i > 0"):
        escalc_table("SMCR", pp)
    # r = 1 with equal SDs leaves no variance of change scores
    pp |= {"sd1i": [1.0], "ri": [1.0]}
    with pytest.raises(UserInputError, match="SMCC needs a positive SD of change scores"):
        escalc_table("SMCC", pp)


def test_non_positive_supplied_variance() -> None:
    with pytest.raises(
        UserInputError, match=r"vi = 0\.0 in row 1: a sampling variance must be > 0"
    ):
        escalc_table("GEN", {"yi": [0.1, 0.2], "vi": [0.1, 0.0]})
    with pytest.raises(UserInputError, match=r"vi = -0\.1 in row 0"):
        escalc_table("SMD", {"yi": [0.1], "vi": [-0.1]})
    with pytest.raises(UserInputError, match=r"sei = 0\.0 in row 0: a standard error must be > 0"):
        escalc_table("GEN", {"yi": [0.1], "sei": [0.0]})
    with pytest.raises(UserInputError, match=r"yi = inf in row 0: an effect size must be finite"):
        escalc_table("GEN", {"yi": [np.inf], "vi": [0.1]})


def test_bad_options() -> None:
    tab = {"ai": [1], "bi": [9], "ci": [2], "di": [8]}
    with pytest.raises(UserInputError, match=r"to = 'some': allowed values are 'all', 'only0'"):
        escalc_table("OR", tab, to="some")
    with pytest.raises(UserInputError, match=r"add = -0\.5: must be >= 0"):
        escalc_table("OR", tab, add=-0.5)
    with pytest.raises(UserInputError, match="drop00 = 'yes': must be True or False"):
        escalc_table("OR", tab, drop00="yes")  # type: ignore[arg-type]
    with pytest.raises(UserInputError, match=r"ri_assumed = 0\.5: only used by SMCC and SMCR"):
        escalc_table("SMD", tab, ri_assumed=0.5)
    pp = {"m1i": [1], "m2i": [0], "sd1i": [1], "sd2i": [1], "ni": [10]}
    with pytest.raises(UserInputError, match=r"ri_assumed = 1\.5: must be a number in \[-1, 1\]"):
        escalc_table("SMCC", pp, ri_assumed=1.5)


def test_bad_data_container_and_values() -> None:
    with pytest.raises(UserInputError, match="data must be a mapping"):
        escalc_table("ZCOR", [[0.1, 20]])  # type: ignore[arg-type]
    with pytest.raises(UserInputError, match="column 'ri' must be numeric"):
        escalc_table("ZCOR", pd.DataFrame({"ri": ["high"], "ni": [20]}))
    with pytest.raises(UserInputError, match=r"columns have different lengths \(ri: 2, ni: 1\)"):
        escalc_table("ZCOR", {"ri": [0.1, 0.2], "ni": [20]})
    with pytest.raises(UserInputError, match="inputs have different lengths"):
        es_zcor([0.1, 0.2], [20, 30, 40])


def test_bad_conversion_inputs() -> None:
    with pytest.raises(UserInputError, match=r"upper = 1\.0 in row 0: needs upper > lower"):
        se_from_ci(2.0, 1.0)
    with pytest.raises(UserInputError, match="log=True needs CI bounds > 0"):
        se_from_ci(-0.1, 1.0, log=True)
    with pytest.raises(
        UserInputError, match=r"level = 0\.95: give the confidence level in percent"
    ):
        se_from_ci(1.0, 2.0, level=0.95)
    with pytest.raises(UserInputError, match="level = 100"):
        var_from_ci(1.0, 2.0, level=100)
    with pytest.raises(UserInputError, match=r"p = 0\.0 in row 0: needs 0 < p < 1"):
        se_from_p(0.5, 0.0)
    with pytest.raises(UserInputError, match=r"a one-sided p must be < 0\.5"):
        se_from_p(0.5, 0.7, two_sided=False)
    with pytest.raises(UserInputError, match=r"estimate = 0\.0 in row 0: needs estimate != 0"):
        se_from_p(0.0, 0.5)
    with pytest.raises(UserInputError, match="needs both n1 and n2, or neither"):
        d_to_r(0.5, n1=10)
    with pytest.raises(UserInputError, match=r"n2 = 0 in row 0: needs a group size >= 1"):
        d_to_r(0.5, 10, 0)
    with pytest.raises(UserInputError, match="sign = 2: must be"):
        r_from_r2(0.3, sign=2)
    with pytest.raises(UserInputError, match=r"n = 1 in row 0: needs n >= 2"):
        sd_from_ci(1.0, 2.0, 1)
    with pytest.raises(UserInputError, match="dist = 'z': allowed values are 't', 'normal'"):
        sd_from_ci(1.0, 2.0, 20, dist="z")
    with pytest.raises(UserInputError, match=r"n1 = 1 in row 0: needs a group size >= 2"):
        var_d(0.3, 1, 10)
    with pytest.raises(UserInputError, match="needs ni"):
        backtransform("PFT", 0.5)
    with pytest.raises(UserInputError, match=r"ni = 0 in row 0: needs ni > 0"):
        transf_ipft_hm(0.5, [0, 10])


def test_events_from_percent_bad_input() -> None:
    # no count out of 10 prints as 33.3% (3/10 = 30%, 4/10 = 40%)
    with pytest.raises(
        UserInputError, match=r"percent = 33\.3 with n = 10: no whole number of events"
    ):
        events_from_percent(33.3, 10)
    with pytest.raises(UserInputError, match="must be between 0 and 100"):
        events_from_percent(120, 10)
    with pytest.raises(UserInputError, match="n = 0: must be a whole number >= 1"):
        events_from_percent(10, 0)
    with pytest.raises(UserInputError, match=r"n = 10\.5: must be a whole number"):
        events_from_percent(10, 10.5)  # type: ignore[arg-type]
    with pytest.raises(UserInputError, match="percent = 'ten': not a number"):
        events_from_percent("ten", 10)


def test_no_asserts_for_user_input() -> None:
    source = (stats.__file__ or "").replace(".pyc", ".py")
    with open(source, encoding="utf-8") as handle:
        assert "\n    assert " not in handle.read()
