"""Informative statements from the whole interval (synthesis.plain), every branch.

Wording follows GRADE guidance 26 (Santesso et al. 2020, J Clin Epidemiol 119:126-135):
high certainty states the effect, moderate says "probably", low "may", very low "the
evidence is very uncertain". Expected verdicts are worked by hand from the thresholds.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from synthesis.analysis import analyse
from synthesis.grade import describe
from synthesis.plain import effect_text, informative_statement, verdict
from synthesis.records import QuestionOutcome, Thresholds
from synthesis.validate import load_evidence
from tests.conftest import ROOT, without_pooling_rules

SMD_CUTS = Thresholds(small=0.2, moderate=0.5, large=0.8, source="a test")


def outcome(measure="SMD", direction="lower is better", thresholds=SMD_CUTS):
    return QuestionOutcome(
        id="x", name="Exhaustion, change", measure=measure, scale="s", direction=direction,
        thresholds=thresholds,
    )  # fmt: skip


# interval on the natural scale, lower is better (negative = benefit), cuts 0.2/0.5/0.8
@pytest.mark.parametrize(
    ("lo", "hi", "category", "low", "high"),
    [
        (-0.9, -0.3, "benefit", "a large reduction", "a small reduction"),
        (0.25, 0.6, "harm", "a small increase", "a moderate increase"),
        (-0.15, 0.19, "no important difference", "little or no difference", "little or no difference"),
        (-1.24, 0.09, "benefit or no important difference", "a large reduction", "little or no difference"),
        (-0.1, 0.6, "harm or no important difference", "little or no difference", "a moderate increase"),
        (-0.41, 0.33, "benefit or harm", "a small reduction", "a small increase"),
        (-2.30, 1.46, "uninformative", "a large reduction", "a large increase"),
        (-0.2, -0.2, "benefit", "a small reduction", "a small reduction"),  # boundary counts
        (-0.5, -0.5, "benefit", "a moderate reduction", "a moderate reduction"),  # boundary
        (-0.8, -0.8, "benefit", "a large reduction", "a large reduction"),  # boundary
    ],
)  # fmt: skip
def test_verdict_of_the_whole_interval(lo, hi, category, low, high):
    v = verdict(lo, hi, outcome())
    assert (v.category, v.low, v.high) == (category, low, high)
    assert v.informative == (category != "uninformative")


def test_direction_decides_benefit_and_harm():
    assert verdict(0.3, 0.9, outcome(direction="higher is better")).category == "benefit"
    assert verdict(0.3, 0.9, outcome(direction="lower is better")).category == "harm"
    # reversed ends are the same interval
    assert verdict(0.9, 0.3, outcome(direction="higher is better")).category == "benefit"


def test_ratio_thresholds_are_symmetric_on_the_log_scale():
    o = outcome("OR", thresholds=Thresholds(small=1.25, large=3, source="a test"))
    assert verdict(0.5, 0.79, o).category == "benefit"  # 1/0.79 = 1.27 > 1.25
    assert verdict(0.5, 0.81, o).category == "benefit or no important difference"
    assert verdict(0.3, 3.5, o).category == "uninformative"
    assert verdict(0.3, 3.5, o).low == "a large reduction"  # |log 0.3| > log 3
    assert verdict(0.5, 0.79, o).low == "an important reduction"
    assert verdict(0.3, 3.5, o).high == "a large increase"


BANDS = Thresholds(bands=[0.25, 0.5, 0.75], source="a test", assumed=True)


@pytest.mark.parametrize(
    ("lo", "hi", "category", "low", "high"),
    [
        (0.07, 0.20, "one band", "below 25%", "below 25%"),
        (0.07, 0.28, "several bands", "below 25%", "25–50%"),
        (0.0, 1.0, "uninformative", "below 25%", "above 75%"),
        (0.30, 0.80, "several bands", "25–50%", "above 75%"),
    ],
)
def test_proportion_bands(lo, hi, category, low, high):
    v = verdict(lo, hi, outcome("PLO", "higher is better", BANDS))
    assert (v.category, v.low, v.high) == (category, low, high)


def test_a_proportion_interval_of_90_points_is_uninformative():
    o = outcome("PLO", "higher is better", Thresholds(bands=[0.02, 0.98], source="a test"))
    assert verdict(0.05, 0.95, o).category == "uninformative"
    assert verdict(0.05, 0.94, o).category == "one band"


def fake(measure="SMD", direction="lower is better", thresholds=SMD_CUTS):
    return SimpleNamespace(
        outcome=outcome(measure, direction, thresholds),
        measure=measure,
        settings=SimpleNamespace(level=95.0),
        question=SimpleNamespace(
            pico=SimpleNamespace(intervention="Mindfulness training (MBSR-type courses, retreats)")
        ),
    )


@pytest.mark.parametrize(
    ("certainty", "start"),
    [
        ("high", "Mindfulness training reduces exhaustion."),
        ("moderate", "Mindfulness training probably reduces exhaustion."),
        ("low", "Mindfulness training may reduce exhaustion."),
        ("very low", "The evidence is very uncertain about the effect of mindfulness training on "
                     "exhaustion."),
        (None, "Mindfulness training reduces exhaustion."),
    ],
)  # fmt: skip
def test_certainty_hedges_the_statement(certainty, start):
    text = informative_statement(-0.9, -0.3, fake(), certainty)
    assert text == f"{start} The 95% interval runs from a large reduction to a small reduction."


def test_statement_for_each_category():
    a = fake()
    assert informative_statement(-0.15, 0.19, a, "moderate") == (
        "Mindfulness training probably makes little or no difference to exhaustion. The 95% "
        "interval runs from little or no difference to little or no difference, all within "
        "the smallest important difference (0.2)."
    )
    assert informative_statement(0.25, 0.6, a, "low").startswith(
        "Mindfulness training may increase exhaustion."
    )
    assert informative_statement(-1.24, 0.09, a, "low").startswith(
        "Mindfulness training may reduce exhaustion or make little or no difference."
    )
    assert informative_statement(-0.1, 0.6, a, "high").startswith(
        "Mindfulness training increases exhaustion or makes little or no difference."
    )
    assert informative_statement(-0.41, 0.33, a, "low").startswith(
        "Mindfulness training may increase or reduce exhaustion."
    )


def test_uninformative_interval_headlines_no_number():
    text = informative_statement(-2.30, 1.46, fake(), "low")
    assert text == (
        "The evidence on exhaustion is uninformative: the 95% interval runs from a large "
        "reduction to a large increase (it could be anything from a large benefit to a large "
        "harm), so no single number can be given."
    )
    assert "2.30" not in text and "1.46" not in text


def test_proportion_statements():
    a = fake("PLO", "higher is better", BANDS)
    assert informative_statement(0.07, 0.28, a, "low") == (
        "The proportion “exhaustion” may lie between 7% and 28% (spanning the bands from "
        "below 25% to 25–50%)."
    )
    assert informative_statement(0.07, 0.20, a, "moderate").endswith(
        "probably lies between 7% and 20% (within the band below 25%)."
    )
    assert informative_statement(0.07, 0.20, a, "very low").startswith(
        "The evidence is very uncertain about the proportion “exhaustion”"
    )
    text = informative_statement(0.0, 1.0, a, "very low")
    assert "uninformative" in text and "no single proportion" in text


def test_correlation_statement():
    a = fake(
        "ZCOR", "higher is better", Thresholds(small=0.1, moderate=0.3, large=0.5, source="a test")
    )
    assert informative_statement(0.24, 0.43, a, "low") == (
        "Mindfulness training may go with higher exhaustion. The 95% interval runs from a "
        "small positive association to a moderate positive association."
    )


def test_no_thresholds_gives_the_interval_only():
    a = fake("MD", thresholds=None)
    assert informative_statement(-3, 2, a, "low") == (
        "The 95% interval for exhaustion runs from -3.00 to 2.00; no decision thresholds are "
        "set for this outcome."
    )


# ------------------------------------------------------------ the examples (real data)


@pytest.fixture(scope="module")
def base():
    return load_evidence(ROOT)


def test_q2_depersonalisation_is_uninformative_under_the_assumed_r(base):
    base = without_pooling_rules(base)  # the examples, pooled as before the rules
    # the example: r = 0.5 assumed for Fortney 2013 gives -0.42 (-2.30 to 1.46)
    a = analyse(base, "q2_mindfulness_training", "depersonalisation", implied_r=False)
    text = describe(a, base)
    assert "uninformative" in text and "large reduction to a large increase" in text
    assert "-0.42" not in text and "compatible with no effect" not in text
    assert effect_text(a).startswith("uninformative (interval -2.30 to 1.46)")


def test_q2_depersonalisation_with_the_study_implied_r(base):
    base = without_pooling_rules(base)  # the examples, pooled as before the rules
    # Fortney's p = .07 implies r = 0.77: -0.48 (-1.58 to 0.63), large benefit to moderate harm
    a = analyse(base, "q2_mindfulness_training", "depersonalisation")
    text = describe(a, base)
    assert "runs from a large reduction to a moderate increase" in text
    assert "uninformative" not in text


def test_q3_work_or_study_headlines_no_number(base):
    base = without_pooling_rules(base)  # the examples, pooled as before the rules
    a = analyse(base, "q3_open_dialogue", "work_or_study")
    text = describe(a, base)
    assert "uninformative" in text and "78%" not in text
    assert "would probably lie" not in text
    assert "78%" not in effect_text(a)


def test_q2_emotional_exhaustion_reads_from_the_whole_interval(base):
    base = without_pooling_rules(base)  # the examples, pooled as before the rules
    a = analyse(base, "q2_mindfulness_training", "emotional_exhaustion")
    text = describe(a, base)
    assert "The evidence is very uncertain about the effect of mindfulness training" in text
    assert "runs from a large reduction to little or no difference" in text


def test_every_question_outcome_has_thresholds_with_a_source(base):
    for q in base.questions.values():
        for o in q.outcomes:
            if o.direction == "not applicable":
                continue
            assert o.thresholds is not None, (q.id, o.id)
            assert len(o.thresholds.source) > 10, (q.id, o.id)


def test_thresholds_must_fit_the_measure():
    with pytest.raises(ValueError, match=r"needs thresholds\.bands"):
        outcome("PLO", thresholds=SMD_CUTS)
    with pytest.raises(ValueError, match="bands are for proportions"):
        outcome("SMD", thresholds=BANDS)
    with pytest.raises(ValueError, match="small < moderate < large"):
        Thresholds(small=0.5, moderate=0.2, source="a test")
    with pytest.raises(ValueError, match="ratios above 1"):
        outcome("OR", thresholds=Thresholds(small=0.8, source="a test"))


def test_every_question_states_its_test_with_a_reason(base):
    for q in base.questions.values():
        assert q.analysis.test_reason, q.id


def test_when_the_plan_does_not_pool_two_studies_they_are_shown_side_by_side(project):
    import yaml

    from tests.conftest import MINI_STUDY

    path = project / "evidence" / "questions" / "q1_alliance.yaml"
    data = yaml.safe_load(path.read_text())
    data["analysis"]["min_k"] = 3  # Cochrane Handbook 10.10.4.4: few studies
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    other = MINI_STUDY.replace("id: smith2020", "id: other\ncohort: other")
    other = other.replace("r: 0.30", "r: 0.10")
    (project / "evidence" / "studies" / "other.yaml").write_text(other, encoding="utf-8")
    a = analyse(load_evidence(project), "q1_alliance", "alliance")
    assert a.fit is None and a.side_by_side and "plan pools at least 3" in a.reason
    text = describe(a)
    assert "The studies side by side: " in text
    assert text.count("95% CI") == 2
