"""Key extracted numbers of the evidence base, checked against their sources.

Each assertion names the source and the place in it where the number was read
(see /work/shared/sources/evidence-sources.md and evidence-gaps.md for the quotes).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from synthesis import records
from synthesis.validate import load_evidence

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def base():
    return load_evidence(ROOT)


def _outcomes(base, study_id, outcome_id, pooled=None):
    study = base.studies[study_id]
    found = [
        o
        for o in study.outcomes
        if o.outcome == outcome_id and (pooled is None or o.pool is pooled)
    ]
    assert found, f"{study_id} has no outcome {outcome_id!r}"
    return found


def _one(base, study_id, outcome_id, pooled=True):
    found = _outcomes(base, study_id, outcome_id, pooled)
    assert len(found) == 1, f"{study_id}/{outcome_id}: expected one outcome, got {len(found)}"
    return found[0]


def test_seikkula2006_odap(base):
    # Seikkula et al. 2006, Psychother Res 16(2), doi 10.1080/10503300500268490,
    # abstract/results (docplayer full text): ODAP group n = 42; 86% returned to studies
    # or a full-time job at 5 years; 82% no residual symptoms; 14% disability; 17% relapse 0-2 y.
    work = _one(base, "seikkula2006", "work_or_study").data
    assert isinstance(work, records.Proportion)
    assert work.n.value == 42
    assert work.percent.value == 86
    assert _one(base, "seikkula2006", "no_residual_symptoms").data.percent.value == 82
    assert _one(base, "seikkula2006", "disability_allowance").data.percent.value == 14
    assert _one(base, "seikkula2006", "relapse").data.percent.value == 17


def test_seikkula2011_84_percent(base):
    # Seikkula, Alakare & Aaltonen 2011, Psychosis 3(3), doi 10.1080/17522439.2011.595819,
    # abstract (econpapers): 84% returned to full-time employment or studies (2 years);
    # no denominator, so it is narrative and not pooled.
    found = _outcomes(base, "seikkula2011", "work_or_study", pooled=False)
    assert any(o.data.percent is not None and o.data.percent.value == 84 for o in found)
    assert all(isinstance(o.data, records.Narrative) for o in found)


def test_razzaque2015_n(base):
    # Razzaque, Okoro & Wood 2015, Mindfulness 6(2), doi 10.1007/s12671-013-0241-7,
    # abstract: seventy-six adult mental health professionals; R-squared .324 (not an r).
    study = base.studies["razzaque2015"]
    assert study.population.n.value == 76
    alliance = study.outcomes[0]
    assert alliance.pool is False


def test_krasner2009(base):
    # Krasner et al. 2009, JAMA 302(12), doi 10.1001/jama.2009.1384, abstract (PubMed 19773563):
    # 70 physicians; emotional exhaustion 26.8 to 20.0, change -6.8 (95% CI -4.8 to -8.8).
    assert base.studies["krasner2009"].population.n.value == 70
    ee = _one(base, "krasner2009", "emotional_exhaustion").data
    assert isinstance(ee, records.PrePost)
    assert ee.n.value == 70
    assert (ee.mean_pre.value, ee.mean_post.value) == (26.8, 20.0)
    assert ee.mean_change.value == pytest.approx(-6.8)
    assert (ee.ci_change[0].value, ee.ci_change[1].value) == (-8.8, -4.8)
    dp = _one(base, "krasner2009", "depersonalisation").data
    assert dp.mean_change.value == pytest.approx(-2.5)
    assert (dp.ci_change[0].value, dp.ci_change[1].value) == (-3.6, -1.4)


def test_fortney2013_baseline_ee(base):
    # Fortney et al. 2013, Ann Fam Med 11(5), doi 10.1370/afm.1511, outcomes table
    # (annfammed.org highwire expansion 5653): MBI-EE baseline 31.9 (28.4-35.4),
    # 1 day 28.9 (25.3-32.5), n = 28 at 1 day; change to 9 months -5.90 (-10.29 to -1.52).
    ee = _one(base, "fortney2013", "emotional_exhaustion").data
    assert ee.mean_pre.value == 31.9
    assert (ee.ci_pre[0].value, ee.ci_pre[1].value) == (28.4, 35.4)
    assert ee.mean_post.value == 28.9
    assert (ee.ci_post[0].value, ee.ci_post[1].value) == (25.3, 32.5)
    assert ee.n.value == 28
    later = _one(base, "fortney2013", "emotional_exhaustion", pooled=False)
    assert later.exclude_reason.startswith("other timepoint")
    assert later.data.mean_change.value == pytest.approx(-5.90)


def test_verweij2018_self_compassion(base):
    # Verweij et al. 2018, J Gen Intern Med 33(4), doi 10.1007/s11606-017-4249-x,
    # abstract (PMC5880763): self-compassion d = 0.35 (p = 0.010); 148 randomised.
    sc = _one(base, "verweij2018", "self_compassion_controlled").data
    assert isinstance(sc, records.ReportedEffect)
    assert sc.metric == "d"
    assert sc.estimate.value == 0.35
    assert sc.p.value == 0.010
    assert sc.n.value == 148


def test_verweij2016_not_pooled(base):
    # Verweij et al. 2016, BJGP 66(643), Table 2 (bjgp.org highwire expansion 26947):
    # depersonalisation d 0.41 with difference -1.42; waiting-list GPs counted in both arms.
    dp = _one(base, "verweij2016", "depersonalisation_controlled", pooled=False)
    assert dp.data.estimate.value == -0.41
    assert dp.data.estimate.derived
    assert (dp.data.n1.value, dp.data.n2.value) == (43, 20)


def test_asuero2014_and_gordon2016(base):
    # Asuero et al. 2014, J Contin Educ Health Prof 34(1), doi 10.1002/chp.21211, abstract:
    # 43 intervention vs 25 control; burnout SES 0.74 (difference -7).
    burnout = _one(base, "asuero2014", "burnout_controlled").data
    assert (burnout.n1.value, burnout.n2.value) == (43, 25)
    assert abs(burnout.estimate.value) == 0.74
    # Gordon et al. 2016, via Freeman et al. 2019 study table (psychiatryonline full text):
    # 9 of 14 working or in school at 1 year.
    work = _one(base, "gordon2016", "work_or_study").data
    assert (work.events.value, work.n.value) == (9, 14)


def test_nurse_r_is_marked_derived(base):
    # Nurses' mindfulness 2025, doi 10.19127/mbsjohs.1504490, abstract (DergiPark):
    # n = 330; mindful awareness explains 11.5% -> r = sqrt(.115) = .339 (derived).
    corr = _one(base, "nurses2025", "alliance").data
    assert corr.n.value == 330
    assert corr.r.value == pytest.approx(0.115**0.5, abs=5e-4)
    assert corr.r.derived


def test_oddessi_protocol(base):
    # Pilling et al. 2022, Contemp Clin Trials 113:106664, abstract: primary outcome time
    # to relapse; no results published.
    study = base.studies["pilling2022oddessi"]
    assert study.status == "protocol"
    assert study.design == "cluster randomised controlled"
    oc = study.outcomes[0]
    assert oc.outcome == "relapse_time"
    assert isinstance(oc.data, records.Narrative)
    assert oc.data.direction == "unclear"
    assert "not yet published" in oc.data.missing


def test_no_cohort_pooled_twice(base):
    counts: Counter[tuple[str, str, str]] = Counter()
    for study, _, oc in base.outcomes():
        cohort = oc.cohort or study.cohort
        if oc.pool and cohort and not isinstance(oc.data, records.Narrative):
            counts[(oc.question, oc.outcome, cohort)] += 1
    twice = {k: v for k, v in counts.items() if v > 1}
    assert not twice, f"cohorts pooled more than once: {twice}"


def test_no_study_pooled_twice_per_outcome(base):
    # One poolable estimate per study and question outcome (other timepoints, subscales
    # and overlapping reports are kept with pool: false).
    counts: Counter[tuple[str, str, str]] = Counter()
    for study, _, oc in base.outcomes():
        if oc.pool and not isinstance(oc.data, records.Narrative):
            counts[(study.id, oc.question, oc.outcome)] += 1
    assert not {k: v for k, v in counts.items() if v > 1}


def test_every_excluded_outcome_has_a_reason(base):
    for study, i, oc in base.outcomes():
        if not oc.pool:
            assert oc.exclude_reason and len(oc.exclude_reason.strip()) > 3, (
                f"{study.id} outcomes[{i}] has pool: false without a reason"
            )


def test_every_study_has_risk_of_bias_and_resolving_citation(base):
    for study in base.studies.values():
        assert study.risk_of_bias is not None, study.id
        assert study.citation in base.bibliography, study.id


def test_mbcare2025_abstract_numbers(base):
    # Charvin et al. 2025, BMC Psychol 13:523, doi 10.1186/s40359-025-02745-6, abstract
    # (Results; PubMed 40390101): emotional exhaustion M-delta = -4.27, t = 1.95, p = .04;
    # personal accomplishment M-delta = 2.73, z = 2.48, p = .007; 12 analysed of 17.
    ee = _one(base, "mbcare2025", "emotional_exhaustion").data
    assert (ee.mean_change.value, ee.statistic.value, ee.p.value) == (-4.27, 1.95, 0.04)
    pa = _one(base, "mbcare2025", "personal_accomplishment", pooled=False).data
    assert pa.mean_change.value == 2.73
    assert (pa.statistic.kind, pa.statistic.value, pa.p.value) == ("z", 2.48, 0.007)
    assert pa.n.value == 12


def test_derived_sd_of_change_is_not_called_reported(base):
    # MBCARE's SD of change is derived from t (4.27 x sqrt(12) / 1.95 = 7.59); the
    # effect-size table must say so rather than "as reported".
    from synthesis.extract import effect_rows

    row = next(
        r
        for r in effect_rows(base, "q2_mindfulness_training", "emotional_exhaustion")
        if r.study == "mbcare2025"
    )
    assert "as reported" not in row.es_method
    assert "derived" in row.es_method
    assert row.derived


def test_razzaque2015_has_no_p_the_abstract_does_not_give(base):
    # Razzaque, Okoro & Wood 2015, abstract (link.springer.com): subscales correlated
    # "significantly" with alliance; no p value is printed, so none is recorded.
    data = base.studies["razzaque2015"].outcomes[0].data
    assert data.p is None


def test_verweij2018_depersonalisation_null(base):
    # Verweij et al. 2018, PMC5880763 abstract (Main Measures, Key Results): depersonalisation
    # is a secondary outcome not among the significant ones; "no effects ... other measures".
    dp = _one(base, "verweij2018", "depersonalisation_controlled", pooled=False).data
    assert isinstance(dp, records.Narrative)
    assert dp.direction == "no difference"
    assert dp.significant is False


def test_new_reviews_and_protocols_are_not_pooled(base):
    # Reviews and protocols added for issue #13 are context records: no outcome data, so
    # nothing they summarise is pooled a second time.
    # Ong et al. 2024, Gen Psychiatr 37(3):e101115, abstract (PMC11086195): 27 RCTs, 2,506.
    # Lomas et al. 2019, Mindfulness 10(7), abstract: 2,101 participants.
    for sid in (
        "kriakous2021",
        "lomas2019",
        "ong2024",
        "kunzler2020",
        "pgy2025",
        "buus2017",
        "buus2021",
        "pavlovic2016",
    ):
        study = base.studies[sid]
        assert study.design in ("systematic review", "narrative review", "protocol"), sid
        assert not study.outcomes, sid
    assert base.studies["ong2024"].population.n.value == 2506
    assert base.studies["lomas2019"].population.n.value == 2101
    assert base.studies["pavlovic2016"].status == "protocol"


def test_west2014_and_amutio2015(base):
    # West et al. 2014, JAMA Intern Med 174(4):527-533, via Kunzler et al. 2020 (Cochrane
    # CD012527, PMC8121081), characteristics of West 2014: 74 randomised, 37 per arm.
    west = base.studies["west2014"]
    assert west.population.n.value == 74
    assert west.design == "randomised controlled"
    assert all(not o.pool for o in west.outcomes)
    # West 2014 abstract (Ovid abstract page), Results: high depersonalisation fell 15.5%
    # in the intervention arm vs a 0.8% rise in the control arm at 3 months (P = .004);
    # 9.6% vs 1.5% decrease at 12 months (P = .02).
    three, twelve = (o.data for o in west.outcomes)
    assert (three.value.value, three.p.value) == (-15.5, 0.004)
    assert (twelve.value.value, twelve.p.value) == (-9.6, 0.02)
    # Amutio et al. 2015, J Contin Educ Health Prof 35(4):255-260, abstract (PubMed 26953856):
    # 42 physicians; emotional exhaustion reduced after 8 weeks (no numbers).
    ee = _one(base, "amutio2015", "emotional_exhaustion_controlled", pooled=False).data
    assert base.studies["amutio2015"].population.n.value == 42
    assert (ee.direction, ee.significant) == ("favours intervention", True)


def test_register_cohorts_share_ids(base):
    # Bergström et al. 2022, Early Interv Psychiatry 16(12):1368-1375 (jultika record):
    # 780 OD vs 44,088 comparison, 2003-2008: the cohort of Bergström 2023 (out-of-home).
    # Bergström et al. 2022, Community Ment Health J 58(5):887-894 (PMC9187564): 20 people
    # from the original Western Lapland FEP cohort.
    eip = base.studies["bergstrom2022eip"]
    assert eip.population.n.value == 780 + 44088
    assert eip.cohort == base.studies["bergstrom2023outofhome"].cohort
    assert base.studies["bergstrom2022qual"].cohort == base.studies["bergstrom2018"].cohort
    assert base.studies["bergstrom2022qual"].population.n.value == 20


def test_null_trials_fraiman2022_purdie2023(base):
    # Fraiman et al. 2022, JAMA Pediatr 176(4):365-372, abstract (PMC8787682): 340 interns,
    # 194 vs 146; EE at 6 months 35.4 vs 32.4, not significantly different by arm.
    ee = _one(base, "fraiman2022", "emotional_exhaustion_controlled", pooled=False).data
    assert base.studies["fraiman2022"].population.n.value == 340
    assert (ee.direction, ee.significant, ee.value.value) == ("no difference", False, 35.4)
    # Purdie et al. 2023, J Clin Psychol Med Settings 30(2):425-434, abstract: 66 residents
    # (27 vs 39); no secondary outcome (burnout, MBI-9) differed between groups.
    bo = _one(base, "purdie2023", "burnout_controlled", pooled=False).data
    assert base.studies["purdie2023"].population.n.value == 66
    assert (bo.direction, bo.significant) == ("no difference", False)
