"""The robustness grid (synthesis.robustness) and its commissioner sentence, on the real data.

Expected categories worked from the intervals: Q2 emotional exhaustion (Knapp-Hartung,
REML, Fortney's own r) is -0.61 (-1.19 to -0.03): from a large benefit to little or no
difference; under z the interval lies wholly beyond -0.2 (a benefit). These examples
are the issue's, pooled as before the plan's pooling rules (:func:`without_pooling_rules`:
under the rules Krasner 2009 is out of the window and Q2 pools no outcome).
"""

from __future__ import annotations

import pytest

from synthesis.analysis import analyse, analyse_question
from synthesis.notebook import key_findings
from synthesis.plain import robustness_sentence
from synthesis.robustness import grid
from synthesis.validate import load_evidence
from tests.conftest import ROOT, without_pooling_rules


@pytest.fixture(scope="module")
def real():
    return load_evidence(ROOT)


@pytest.fixture(scope="module")
def base(real):
    return without_pooling_rules(real)


def test_emotional_exhaustion_depends_on_the_test(base):
    a = analyse(base, "q2_mindfulness_training", "emotional_exhaustion")
    cells = grid(base, a)
    assert cells[0].category == "benefit or no important difference"
    z = next(c for c in cells if (c.choice, c.value) == ("test", "z"))
    assert z.changed and z.category == "benefit"
    adhoc = next(c for c in cells if (c.choice, c.value) == ("test", "adhoc"))
    assert adhoc.ci_ub - adhoc.ci_lb >= z.ci_ub - z.ci_lb
    text = robustness_sentence(a, cells)
    assert text.startswith("The conclusion on emotional exhaustion (MBI) depends on analytic")
    assert "test (z: a benefit (the whole interval favourable)" in text


def test_the_assumed_r_instead_of_the_studys_own_is_a_variant(base):
    a = analyse(base, "q2_mindfulness_training", "depersonalisation")
    cell = next(c for c in grid(base, a) if c.choice == "pre-post r")
    # r = 0.5 assumed for Fortney: -0.42 (-2.30 to 1.46), uninformative
    assert cell.category == "uninformative" and cell.changed
    assert cell.ci_lb == pytest.approx(-2.30, abs=0.005)


def test_every_changed_pooled_conclusion_is_flagged_on_the_commissioner_page(base):
    for q in base.questions:
        analyses = analyse_question(base, q)
        html = key_findings(base, analyses).data
        for a in analyses:
            cells = grid(base, a)
            if any(c.changed for c in cells):
                assert robustness_sentence(a, cells) in html.replace("&#x27;", "'")


def test_unpooled_outcomes_have_no_grid(real):
    for q, o in (("q3_open_dialogue", "hospitalisation"),
                 ("q2_mindfulness_training", "emotional_exhaustion")):  # fmt: skip
        a = analyse(real, q, o)  # EE: two studies side by side under the plan
        assert grid(real, a) == [] and robustness_sentence(a, []) == ""
