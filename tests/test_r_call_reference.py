"""The R call each academic page prints reproduces the model in metafor (issue #12, item 7).

tests/reference/r_call_reference.R ran, in R with metafor, the very calls that
:func:`synthesis.notebook.r_code` prints for every pooled model of this repository's
evidence (tests/reference/r_calls.py lists them) and kept each call verbatim with what
metafor returned. Here the package's fits must agree with metafor's, the package must
still print exactly the calls that were run, and the built academic pages must show them.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest

from synthesis.analysis import analyse, analyse_question
from synthesis.notebook import r_code
from synthesis.stats.influence import influence

from .conftest import ROOT, without_pooling_rules
from .reference.r_calls import pooled_calls
from .tolerances import METAFOR_DEFAULT_CONTROL

REFERENCE = json.loads(
    (Path(__file__).parent / "reference" / "r_call_reference.json").read_text(encoding="utf-8")
)
CASES = {(c["question"], c["outcome"]): c for c in REFERENCE["cases"]}


@pytest.fixture(scope="module")
def base():
    from synthesis.validate import load_evidence

    # the reference models are those pooled without the plan's pooling rules (the real
    # plan pools none of them): the check is of the printed call, not of the plan
    return without_pooling_rules(load_evidence(ROOT))


def test_reference_records_its_versions():
    source = REFERENCE["source"]
    assert source["R_version"].startswith("R version")
    assert source["metafor_version"].count(".") == 2
    assert source["script"] == "tests/reference/r_call_reference.R"


def test_every_printed_call_is_the_one_metafor_ran(base):
    """The calls the package prints now are exactly those the reference script ran."""
    now = {
        (q, a.outcome.id): r_code(a)
        for q in sorted(base.questions)
        for a in analyse_question(base, q)
        if a.fit is not None
    }
    assert set(now) == set(CASES)  # a model added or dropped: run the R script again
    for key, call in now.items():
        assert call == CASES[key]["call"], key


@pytest.mark.parametrize("key", sorted(CASES), ids=lambda k: f"{k[0]}-{k[1]}")
def test_python_fit_matches_metafor_running_the_printed_call(base, key):
    case = CASES[key]
    analysis = analyse(base, *key)
    fit = analysis.fit
    assert fit is not None
    assert r_code(analysis) == case["call"]
    assert (fit.k, fit.method, fit.test) == (case["k"], case["method"], case["test"])
    assert list(fit.slab) == case["study"]
    for name in ("estimate", "se", "ci_lb", "ci_ub", "pval", "tau2", "QE", "QEp"):
        assert getattr(fit, name) == pytest.approx(case[name], abs=METAFOR_DEFAULT_CONTROL), name
    i_squared = fit.I2  # a percentage
    assert i_squared == pytest.approx(case["I2"], abs=100 * METAFOR_DEFAULT_CONTROL)
    if fit.k >= 3:
        ours = influence(fit).to_frame()
        for column, theirs in (
            ("rstudent", "rstudent"),
            ("dffits", "dffits"),
            ("cook.d", "cook_d"),
            ("hat", "hat"),
            ("weight", "weight"),
        ):
            scale = 100 if column == "weight" else 1  # weights are percentages
            assert list(ours[column]) == pytest.approx(
                case["influence"][theirs], abs=scale * METAFOR_DEFAULT_CONTROL
            ), column
    else:
        assert "influence" not in case


def test_academic_pages_print_the_calls(repo_reports):
    """Each real pooled model's call is on its page, and no page prints a call for a model
    that is not pooled (the real plan pools none today)."""
    now = pooled_calls(ROOT)
    for question in ("q1_alliance", "q2_mindfulness_training", "q3_open_dialogue"):
        page = (repo_reports / "academic" / f"{question}.html").read_text(encoding="utf-8")
        calls = [c["call"] for c in now if c["question"] == question]
        for call in calls:
            assert html.escape(str(call), quote=False) in page
        assert page.count("library(metafor)") == len(calls)
