"""From records to pooled numbers: conversions, statuses, and agreement with `synthesis pool`."""

from __future__ import annotations

import json
import math

import pytest

from synthesis.analysis import analyse, prepost_sensitivity
from synthesis.cli import main
from synthesis.extract import effect_rows
from synthesis.validate import load_evidence

from .conftest import MINI_STUDY, ROOT, without_pooling_rules
from .tolerances import CLOSED_FORM, ITERATIVE


@pytest.fixture(scope="module")
def base():
    return load_evidence(ROOT)


@pytest.fixture(scope="module")
def lifted(base):
    """The real records pooled without the plan's pooling rules (three EE studies)."""
    return without_pooling_rules(base)


def test_q2_emotional_exhaustion_matches_synthesis_pool(lifted, tmp_path, capsys):
    """The notebooks' pooled numbers are exactly what `synthesis pool` gives on the same yi/vi."""
    a = analyse(lifted, "q2_mindfulness_training", "emotional_exhaustion")
    assert a.fit is not None
    rows = a.pooled_rows
    csv = "study,yi,vi\n" + "".join(f"{r.label},{r.yi!r},{r.vi!r}\n" for r in rows)
    (tmp_path / "ee.csv").write_text(csv, encoding="utf-8")
    s = a.settings
    assert main(["pool", str(tmp_path / "ee.csv"), "--method", s.method, "--test", s.test,
                 "--level", str(s.level), "--json"]) == 0  # fmt: skip
    pooled = json.loads(capsys.readouterr().out)
    for key in ("estimate", "ci_lb", "ci_ub", "pi_lb", "pi_ub", "tau2", "I2", "QE"):
        assert pooled[key] == pytest.approx(getattr(a.fit, key), rel=CLOSED_FORM, abs=CLOSED_FORM)


def test_krasner_smcc_from_change_and_its_ci(base, lifted):
    """Krasner 2009 abstract: EE change -6.8 (95% CI -8.8 to -4.8), n = 70.

    SD of change = sqrt(70) * 4.0 / (2 * t(0.975, 69)); SMCC = c(69) * -6.8 / SD, with
    c(m) = exp(lgamma(m/2) - log(sqrt(m/2)) - lgamma((m-1)/2)) (metafor's exact correction);
    vi = 1/70 + yi^2/140. Computed independently here from those formulas.
    """
    from scipy.stats import t

    row = next(r for r in effect_rows(lifted, "q2_mindfulness_training", "emotional_exhaustion")
               if r.study == "krasner2009")  # fmt: skip
    sd = math.sqrt(70) * 4.0 / (2 * t.ppf(0.975, 69))
    c = math.exp(math.lgamma(69 / 2) - math.log(math.sqrt(69 / 2)) - math.lgamma(68 / 2))
    yi = c * -6.8 / sd
    assert row.status == "pooled"
    assert row.yi == pytest.approx(yi, rel=CLOSED_FORM)
    assert row.vi == pytest.approx(1 / 70 + yi**2 / 140, rel=CLOSED_FORM)
    assert row.derived and not row.assumed
    assert "derived from the 95% CI of the mean change" in row.es_method
    # under the plan's window the same numbers are excluded: the month is not reported
    real = next(r for r in effect_rows(base, "q2_mindfulness_training", "emotional_exhaustion")
                if r.study == "krasner2009")  # fmt: skip
    assert (real.status, real.yi) == ("excluded", row.yi)
    assert real.reason.startswith("time point not reported in weeks")


def test_odap_work_or_study_events_derived_from_percentage(base):
    """Seikkula 2006: 86% of n = 42 returned to work or study -> 36/42 (85.71%), derived."""
    row = next(r for r in effect_rows(base, "q3_open_dialogue", "work_or_study")
               if r.study == "seikkula2006")  # fmt: skip
    assert row.status == "pooled" and row.derived
    assert row.yi == pytest.approx(math.log(36 / 6), rel=CLOSED_FORM)  # logit(36/42)
    assert row.vi == pytest.approx(1 / 36 + 1 / 6, rel=CLOSED_FORM)
    assert "36 events = 86% of 42" in row.es_method


def test_percentage_that_no_count_reproduces_is_not_pooled(base):
    """Seikkula 2006: 82% with n = 42 is impossible (34/42 = 80.95%, 35/42 = 83.33%)."""
    row = next(r for r in effect_rows(base, "q3_open_dialogue", "no_residual_symptoms")
               if r.study == "seikkula2006")  # fmt: skip
    assert row.status == "not poolable"
    assert "does not fit the reported n" in row.reason


def test_assumed_prepost_r_is_recorded_and_varied(project):
    study = MINI_STUDY.replace(
        "  - question: q1_alliance\n    outcome: alliance\n    name: Working alliance\n"
        "    source: abstract\n    data:\n      kind: correlation\n      r: 0.30\n      n: 50\n",
        "".join(
            f"  - question: q2_mindfulness_training\n    outcome: emotional_exhaustion\n"
            f"    name: EE\n    source: abstract\n    data:\n      kind: pre_post\n"
            f"      n: 40\n      mean_pre: {pre}\n      sd_pre: 10\n      mean_post: 20\n"
            f"      sd_post: 9\n"
            for pre in (26,)
        ),
    ).replace("design: cross-sectional", "design: pre-post")
    (project / "evidence/studies/smith2020.yaml").write_text(study, encoding="utf-8")
    other = study.replace("id: smith2020", "id: other\ncohort: other").replace(
        "mean_pre: 26", "mean_pre: 24"
    )
    (project / "evidence/studies/other.yaml").write_text(other, encoding="utf-8")
    base = load_evidence(project)
    a = analyse(base, "q2_mindfulness_training", "emotional_exhaustion")
    assert a.k == 2 and all(r.assumed for r in a.pooled_rows)
    assert "ASSUMED" in a.pooled_rows[0].es_method
    table = prepost_sensitivity(base, a)
    assert list(table.index) == [0.5, 0.3, 0.7]
    # a higher assumed r gives a smaller SD of change and so a larger |SMCC|
    assert (
        abs(table.loc[0.7, "estimate"])
        > abs(table.loc[0.5, "estimate"])
        > abs(table.loc[0.3, "estimate"])
    )


def test_single_study_is_not_pooled_and_says_why(project):
    base = load_evidence(project)
    a = analyse(base, "q1_alliance", "alliance")
    assert a.fit is None
    assert a.reason == ("only 1 independent study with usable numbers; pooling needs at least 2")


def test_override_of_method_and_level(project):
    other = MINI_STUDY.replace("id: smith2020", "id: b\ncohort: b").replace("r: 0.30", "r: 0.5")
    (project / "evidence/studies/b.yaml").write_text(other, encoding="utf-8")
    base = load_evidence(project)
    a = analyse(base, "q1_alliance", "alliance", method="DL", test="z", level=90)
    assert (a.fit.method, a.fit.test, a.fit.level) == ("DL", "z", 90)
    nat = a.natural()
    assert nat.ci_lb < nat.estimate < nat.ci_ub
    assert nat.estimate == pytest.approx(math.tanh(a.fit.estimate), rel=ITERATIVE)


def test_question_measures_are_the_engines_measures():
    """records.MEASURES (kept import-light for fast validation) must match stats.MEASURES."""
    from synthesis import records, stats

    assert set(records.MEASURES) == set(stats.MEASURES) - {"GEN"}
    assert set(stats.NULL_VALUES) | set(stats.PROPORTION_MEASURES) == set(records.MEASURES)


def test_sd_from_ci_uses_the_n_behind_each_mean(base):
    """Fortney 2013 table: baseline mean 31.9 (28.4-35.4) from N = 30; 1-day mean from n = 28."""
    a = analyse(base, "q2_mindfulness_training", "emotional_exhaustion")
    row = next(r for r in a.pooled_rows if r.study == "fortney2013")
    assert "[28.4, 35.4] with n = 30" in row.es_method
    assert "[25.3, 32.5] with n = 28" in row.es_method


def test_only_pooled_rows_carry_weights(lifted):
    a = analyse(lifted, "q2_mindfulness_training", "emotional_exhaustion")
    table = a.study_table()
    assert table[table.status == "pooled"].weight.sum() == pytest.approx(100)
    assert table[table.status != "pooled"].weight.isna().all()
