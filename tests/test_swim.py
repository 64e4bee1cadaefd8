"""Synthesis without meta-analysis: `synthesis combine` against R, conversions from p,
albatross contours by hand.

Reference numbers come from tests/reference/swim_reference.json, written by R 4.2.2 with
metap 1.8 (sumz, sumlog), base binom.test and prop.test(correct = FALSE) (Wilson) through
tests/reference/swim_reference.R.
"""

from __future__ import annotations

import doctest
import json
import math

import pytest

from synthesis.cli import main
from synthesis.errors import UserInputError
from synthesis.stats import from_p, swim

from .conftest import ROOT
from .tolerances import CLOSED_FORM

REFERENCE = json.loads((ROOT / "tests/reference/swim_reference.json").read_text())


def _csv(tmp_path, case, *, with_n=True):
    lines = ["label,p,direction" + (",n" if with_n else "")]
    for i, (p, d, n) in enumerate(zip(case["p"], case["direction"], case["n"], strict=True)):
        lines.append(f"S{i + 1},{p!r},{int(d)}" + (f",{n!r}" if with_n else ""))
    path = tmp_path / f"{case['name']}.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("case", REFERENCE["cases"], ids=lambda c: c["name"])
def test_combine_cli_agrees_with_metap_and_binom_test(tmp_path, capsys, case):
    assert main(["combine", str(_csv(tmp_path, case)), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == list(swim.JSON_KEYS)  # exactly these keys, in this order
    for key, want in case["expected"].items():
        assert out[key] == pytest.approx(want, rel=CLOSED_FORM, abs=CLOSED_FORM), key


def test_one_sided_p_matches_the_reference_convention():
    for case in REFERENCE["cases"]:
        got = [
            from_p.one_sided(p, int(d)) for p, d in zip(case["p"], case["direction"], strict=True)
        ]
        assert got == pytest.approx(case["p_one_sided"], abs=1e-15)


def test_combine_without_n_leaves_the_weighted_test_out(tmp_path, capsys):
    case = REFERENCE["cases"][0]
    assert main(["combine", str(_csv(tmp_path, case, with_n=False)), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["stouffer_weighted_z"] is None and out["stouffer_weighted_p"] is None
    assert out["stouffer_z"] == pytest.approx(case["expected"]["stouffer_z"], abs=CLOSED_FORM)


def test_combine_text_output_says_what_a_combined_p_cannot_tell(tmp_path, capsys):
    assert main(["combine", str(_csv(tmp_path, REFERENCE["cases"][0]))]) == 0
    text = capsys.readouterr().out
    assert "3 favour the intervention, 1 the comparator" in text
    assert "not how large it is" in text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("p,direction\n0.03,1\n1.5,1\n", r"data row 2, column 'p': 1.5 is not a p value"),
        ("p,direction\n0.03,1\n0,1\n", r"data row 2, column 'p': 0 is not a p value"),
        ("p,direction\n0.03,1\n,1\n", r"data row 2, column 'p': empty"),
        ("p,direction\n0.03,2\n", r"data row 1, column 'direction': 2; allowed: \+1"),
        ("p,direction\n0.03,\n", r"data row 1, column 'direction': empty"),
        ("p,direction\n0.03,up\n", r"column 'direction', data row 1: 'up' is not a number"),
        ("p,direction,n\n0.03,1,0\n", r"data row 1, column 'n': 0; a sample size must be > 0"),
        ("p,direction,n\n0.03,1,\n", r"data row 1, column 'n': empty"),
        ("p,n\n0.03,10\n", r"missing column\(s\) direction"),
        ("p,direction,weight\n0.03,1,2\n", r"unknown column\(s\) weight"),
        ("p,direction\n", r"no data rows"),
    ],
)
def test_combine_refuses_bad_input_with_a_located_message(tmp_path, capsys, body, message):
    path = tmp_path / "bad.csv"
    path.write_text(body)
    assert main(["combine", str(path), "--json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing half-written
    assert str(path) in captured.err
    import re

    assert re.search(message, captured.err), captured.err
    assert "Traceback" not in captured.err


def test_vote_count_with_no_directions_is_nan_not_zero():
    v = swim.vote_count([0, 0])
    assert (v.k, v.null) == (2, 2)
    assert math.isnan(v.prop_positive) and math.isnan(v.sign_test_p)


def test_vote_count_refuses_a_bad_direction():
    with pytest.raises(UserInputError, match=r"direction\[1\] = 2: must be \+1, -1 or 0"):
        swim.vote_count([1, 2])


def test_single_result_combines_to_its_own_z():
    res = swim.combine([0.032], [1], [48])
    z = from_p.z_from_p(0.032, 1)
    assert res.combined.stouffer_z == pytest.approx(z, abs=CLOSED_FORM)
    assert res.combined.stouffer_weighted_z == pytest.approx(z, abs=CLOSED_FORM)
    assert res.combined.fisher_chi2 == pytest.approx(-2 * math.log(0.016), abs=CLOSED_FORM)


def test_bounded_p_gives_a_bound_on_the_combined_p():
    # p < .03 in the favourable direction: the one-sided p is below 0.015, so the combined
    # p computed at the bound is an upper bound
    c = swim.combine_p([0.03, 0.2], [1, 1], p_bound=["<", "="])
    assert c.bound == "<="
    exact = swim.combine_p([0.03, 0.2], [1, 1])
    assert c.stouffer_p == pytest.approx(exact.stouffer_p)
    # the same bound against the intervention moves the one-sided p up: a lower bound
    assert swim.combine_p([0.03, 0.2], [-1, 1], p_bound=["<", "="]).bound == ">="
    # bounds pointing both ways give no combined value at all
    mixed = swim.combine_p([0.03, 0.04], [1, -1], p_bound=["<", "<"])
    assert mixed.bound == "mixed" and math.isnan(mixed.stouffer_p)


# ----------------------------------------------------------------------------- from p


def test_smd_from_p_by_hand():
    # p = .032 two-sided, n 25 and 23 (values from R 4.2.2): qt(1 - .016, 46) = 2.211626;
    # sqrt(1/25 + 1/23) = 0.288926; d = 0.638995; metafor's exact correction
    # J(46) = gamma(23) / (sqrt(23) gamma(22.5)) = 0.983592; g = J d = 0.628512
    res = from_p.smd_from_p(0.032, 25, 23, sign=+1)
    assert from_p.t_from_p(0.032, 46) == pytest.approx(2.211626, abs=1e-6)
    assert from_p._cmicalc(46) == pytest.approx(0.9835915575, abs=1e-10)
    assert res.estimate == pytest.approx(0.983592 * 2.211626 * 0.288926, abs=1e-5)
    assert res.estimate == pytest.approx(0.628512, abs=1e-6)
    assert res.variance == pytest.approx(1 / 25 + 1 / 23 + res.estimate**2 / 96, abs=1e-12)
    assert res.is_value and res.measure == "SMD" and "derived from p" in res.method
    assert from_p.smd_from_p(0.032, 25, 23, sign=-1).estimate == pytest.approx(-res.estimate)


def test_a_bounded_p_gives_a_bound_never_a_value():
    res = from_p.smd_from_p(0.03, 47, 46, sign=+1, p_bound="<")
    assert res.bound == ">" and not res.is_value and math.isnan(res.variance)
    assert "is a bound, not a value" in res.method
    assert from_p.smcc_from_p(0.05, 30, sign=+1, p_bound=">").bound == "<"


def test_smcc_from_paired_p_matches_escalc_on_the_same_data():
    # a paired t test on change scores: mean change 2, SD of change 4, n 16 gives
    # t(15) = 2 / (4 / 4) = 2; its p, turned back, must give metafor's SMCC for these data
    from scipy.stats import t as tdist

    from synthesis.stats import escalc

    p = 2 * tdist.sf(2.0, 15)
    res = from_p.smcc_from_p(p, 16, sign=+1)
    half = 4 / math.sqrt(2)
    ref = escalc(
        "SMCC",
        {"m1i": [2.0], "m2i": [0.0], "sd1i": [half], "sd2i": [half], "ni": [16], "ri": [0.0]},
    )
    assert res.estimate == pytest.approx(float(ref["yi"][0]), abs=CLOSED_FORM)
    assert res.variance == pytest.approx(float(ref["vi"][0]), abs=CLOSED_FORM)


def test_r_from_p_inverts_the_t_test_of_r():
    # r = .3 with n = 50: t = r sqrt(48) / sqrt(1 - r^2) = 2.178819; p = 2 * pt(-t, 48)
    from scipy.stats import t as tdist

    t = 0.3 * math.sqrt(48) / math.sqrt(1 - 0.09)
    assert t == pytest.approx(2.178819, abs=1e-6)
    res = from_p.r_from_p(2 * tdist.sf(t, 48), 50, sign=+1)
    assert res.estimate == pytest.approx(0.3, abs=CLOSED_FORM)
    assert res.variance == pytest.approx(1 / 47)


def test_from_p_refuses_bad_arguments():
    with pytest.raises(UserInputError, match=r"p = 1.2: a p value must lie in \(0, 1\]"):
        from_p.smd_from_p(1.2, 10, 10, sign=1)
    with pytest.raises(UserInputError, match=r"sign = 0: must be \+1 or -1"):
        from_p.smd_from_p(0.2, 10, 10, sign=0)
    with pytest.raises(UserInputError, match=r"n1 = 1: needs a number of participants >= 2"):
        from_p.smd_from_p(0.2, 1, 10, sign=1)
    with pytest.raises(UserInputError, match=r"r = 1: a pre-post correlation"):
        from_p.smcr_from_smcc(0.5, 1)


# ----------------------------------------------------------------------------- albatross


def test_albatross_contours_by_hand():
    """Harrison et al. (2017), the SMD, paired and correlation contours, worked by hand.

    Two groups of equal size (ratio 1): var(d) = (1/n1 + 1/n2) + d^2 / (2N) = (4 + d^2/2)/N,
    so N = (4 + d^2/2) z^2 / d^2 with z = qnorm(1 - p/2). Harrison et al.'s general form
    has (1 + r)^2 / r in place of 4 for group ratio r; the same contour appears in public
    R code as N = (8 + d^2) / (2 d^2) * qnorm(p)^2 (identical for ratio 1).

    * d = 0.5, p = 0.05: z = 1.959964, N = 4.125 * 3.841459 / 0.25 = 63.384
    * d = 0.2, p = 0.01, ratio 2: z = 2.575829, (1 + 2)^2 / 2 = 4.5,
      N = (4.5 + 0.02) * 6.634897 / 0.04 = 749.74
    * paired d = 0.5, p = 0.05: N = 1.125 * 3.841459 / 0.25 = 17.287
    * r = 0.3, p = 0.01: atanh(0.3) = 0.3095196, N = 3 + 6.634897 / 0.0958024 = 72.256
    """
    assert swim.albatross_n(0.05, 0.5) == pytest.approx(63.384, abs=1e-3)
    assert swim.albatross_n(0.01, 0.2, ratio=2) == pytest.approx(749.74, abs=1e-2)
    assert swim.albatross_n(0.05, 0.5, "paired") == pytest.approx(17.287, abs=1e-3)
    assert swim.albatross_n(0.01, 0.3, "correlation") == pytest.approx(72.256, abs=1e-3)
    for design, effect in (("two-group", 0.5), ("paired", 0.3), ("correlation", 0.3)):
        n = swim.albatross_n(0.02, effect, design)
        assert swim.albatross_p(n, effect, design) == pytest.approx(0.02, rel=1e-12)
    with pytest.raises(UserInputError, match=r"design 'cluster': allowed are two-group"):
        swim.albatross_n(0.05, 0.5, "cluster")


def test_summaries_say_what_they_can_and_cannot_tell():
    res = swim.combine([0.01, 0.2], [1, -1], [20, 30])
    assert "favour the intervention" in res.votes.tells
    assert "no effect size" in res.votes.cannot_tell
    assert "how large" in res.combined.cannot_tell
    s = swim.summarise_estimates([0.1, float("nan"), 0.5])
    assert s is not None and s.k == 2 and "not an estimate" in s.cannot_tell
    assert swim.summarise_estimates([]) is None


@pytest.mark.parametrize("module", [swim, from_p])
def test_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
