"""Distinct studies and participants per outcome (synthesis.counts), against hand counts.

The hand counts below were made by reading the records in evidence/studies/ (population n,
the data block's n, cohort ids, time points), not by running the code: each comment names
the records counted. When a record is added or changed, recount by hand and update.
"""

from __future__ import annotations

import math

import pytest

from synthesis.analysis import analyse_question
from synthesis.counts import count_rows
from synthesis.extract import EffectRow
from synthesis.grade import summary_of_findings
from synthesis.validate import load_evidence
from tests.conftest import ROOT

#: SoF "participants (studies)" per question and outcome, counted by hand.
HAND_COUNTS = {
    "q1_alliance": {
        # pooled: Nurses' mindfulness 2025 (330). Also reporting (16 distinct studies):
        # Chang 220, Razzaque 2015 76, Beach 45 (3 results, counted once), French 25,
        # Grepmair 124, Leonard 96, Pereira 37, Razzaque 2016 26, Stanley 144, Swift 40
        # (2 results), presence 2019 178 = 1011; n not given: Dunn, Ryan 2012 / Padilla
        # 2010 (one cohort, counted once), Greason, Sampe, Simons (5).
        "alliance": "330 (1); also reporting, not pooled: 1011 (16; participants not known for 5)",
    },
    "q2_mindfulness_training": {
        # Shown side by side (two studies, the plan pools three or more): Fortney 28
        # (1-day result; its 9-month 23, outside the 0-26-week window, not added) +
        # MBCARE 12 = 40. Also reporting: Krasner 70 (its end value's month is not
        # reported, so the window excludes it), Goodman 93, Hamilton-West 21 (its T2
        # result, the larger of T2 n = 21 and T3 n = 13, counted once), Martín-Asuero
        # 87, Razzaque 2016 26 = 297 (5). Before the window: 110 (3); 227 (4).
        "emotional_exhaustion": "40 (2); also reporting, not pooled: 297 (5)",
        # Fortney 28; Krasner 70 (time point not reported) + Goodman 93 + Hamilton-West
        # 21 (T2) = 184 (3). Before the window: 98 (2); 114 (2).
        "depersonalisation": "28 (1); also reporting, not pooled: 184 (3)",
        # Fortney 28; Krasner 70 + MBCARE 12 + Goodman 93 + Hamilton-West 13 (only T3)
        # = 188 (4). Before the window: 98 (2); 118 (3).
        "personal_accomplishment": "28 (1); also reporting, not pooled: 188 (4)",
        # van Wietmarschen 54 people at two time points (once) + Fendel 9 + MBCARE 17
        # (its narrative self-compassion result has no n of its own, so the population n,
        # 17 enrolled, counts) = 80; Marx 2014 gives no n (participants not known).
        "self_compassion": (
            "none pooled; also reporting, not pooled: 80 (4; participants not known for 1)"
        ),
        "compassion": "28 (1)",
        # Verweij 2016 63 + Verweij 2018 148 (different studies) + Amutio 2015 42 +
        # Fraiman 2022 340 (baseline completers) = 593.
        "emotional_exhaustion_controlled": "none pooled; also reporting, not pooled: 593 (4)",
        # Verweij 2016 63 + Verweij 2018 148 (its null result) + West 2014 74 (two time
        # points, once) + Fraiman 2022 340 = 625.
        "depersonalisation_controlled": "none pooled; also reporting, not pooled: 625 (4)",
        "personal_accomplishment_controlled": "148 (1); also reporting, not pooled: 63 (1)",
        # Asuero 68; Ireland 44 + NIH MBSC 82 + Spragg 16 + Purdie 2023 66 = 208.
        "burnout_controlled": "68 (1); also reporting, not pooled: 208 (4)",
        # DBT Zen 212 (two subscales, once) + Verweij 2018 148; Aeschbach 147 +
        # Bartels-Velthuis 47, Shapiro n not given.
        "self_compassion_controlled": (
            "360 (2); also reporting, not pooled: 194 (3; participants not known for 1)"
        ),
    },
    "q3_open_dialogue": {
        # Seikkula 2006 42 at 5 years (the Western Lapland cohort once: Bergström 2020,
        # Seikkula 2003 and 2011 report the same people); Gordon 14 at 1 year, outside
        # the 2-5-year window, also reporting. Before the window: 56 (2).
        "work_or_study": "42 (1); also reporting, not pooled: 14 (1)",
        # Four Western Lapland reports, one cohort: Seikkula 2006's 42 counted.
        "no_residual_symptoms": "none pooled; also reporting, not pooled: 42 (1)",
        # Seikkula 2006 42; Bergström 2024's 56865 are all districts, not the OD arm.
        "disability_allowance": "42 (1); also reporting, not pooled: participants not known (1)",
        "relapse": "42 (1)",
        "neuroleptic_use": "42 (1); also reporting, not pooled: participants not known (1)",
        # Two cohorts: Finnish adolescents 2003-2008 (Bergström 2024 56865; Bergström
        # 2023's 44868 are the same cohort, two outcome rows, not added) and Western
        # Lapland (Bergström 2018 1871 of five reports) = 58736. Was 148596 (8).
        "hospitalisation": "none pooled; also reporting, not pooled: 58736 (2)",
        # Seikkula 2001 78 (its time point is not stated, so the window excludes it);
        # Bergström 2023 (suicide) 123765 are the whole comparison, so its participants
        # are not known. Before the window: 78 (1); participants not known (1).
        "poor_outcome": (
            "none pooled; also reporting, not pooled: 78 (2; participants not known for 1)"
        ),
        # ODDESSI: results awaited, not counted as reporting.
        "relapse_time": "—",
    },
}


@pytest.fixture(scope="module")
def base():
    return load_evidence(ROOT)


@pytest.mark.parametrize("question", sorted(HAND_COUNTS))
def test_sof_counts_match_hand_counts(base, question):
    analyses = analyse_question(base, question)
    table = summary_of_findings(base, analyses)
    got = dict(zip([a.outcome.id for a in analyses], table["participants (studies)"], strict=True))
    assert got == HAND_COUNTS[question]


def test_key_findings_and_forest_use_the_same_count(base):
    from synthesis.notebook import key_findings

    analyses = analyse_question(base, "q2_mindfulness_training")
    html = key_findings(base, analyses).data
    assert "<td>40 (2)</td><td>297 (5)</td>" in html
    ee = analyses[0]
    assert ee.participants == 40 and ee.count.pooled_studies == ee.k == 2 and ee.side_by_side


def _row(study, n, status="narrative", cohort="", basis="result", comparative=False):
    return EffectRow(
        study=study, label=study.title(), citation=study, design="cohort", outcome_name="x",
        timepoint="", n=n, status=status, reason="", yi=math.nan, vi=math.nan, es_method="",
        derived=False, assumed=False, cohort=cohort, rob="low", data_kind="narrative",
        n_basis=basis, comparative=comparative,
    )  # fmt: skip


def test_one_report_per_cohort_the_pooled_one_first():
    rows = [_row("a", 40, "pooled", cohort="c1"), _row("b", 900, cohort="c1"), _row("d", 10)]
    count = count_rows(rows, "PLO")
    assert (count.pooled_participants, count.pooled_studies) == (40, 1)
    assert (count.other_participants, count.other_studies) == (10, 1)
    assert "one report of cohort 'c1' counted (2 report it)" in count.pooled[0].why


def test_unpooled_cohort_counts_its_largest_report_once():
    rows = [_row("a", 40, cohort="c1"), _row("b", 90, cohort="c1"), _row("b", 90, cohort="c1")]
    count = count_rows(rows, "MD")
    assert count.text() == "none pooled; also reporting, not pooled: 90 (1)"
    assert count.other[0].study == "b"


def test_time_points_of_one_study_count_once():
    count = count_rows([_row("a", 28, "pooled"), _row("a", 23, "excluded")], "SMCC")
    assert count.text() == "28 (1)"


def test_an_arm_is_not_counted_with_its_comparison_group():
    arm = _row("a", 1871, basis="study", comparative=True)
    assert count_rows([arm], "PLO").text() == (
        "none pooled; also reporting, not pooled: participants not known (1)"
    )
    # a comparison (MD) counts both groups; a result's own n is the arm's n
    assert count_rows([arm], "MD").other_participants == 1871
    own = _row("a", 42, basis="result", comparative=True)
    assert count_rows([own], "PLO").other_participants == 42


def test_awaited_results_are_not_counted():
    assert count_rows([_row("a", 100, "awaiting results")], "MD").text() == "—"
