"""Records -> effect sizes (synthesis.extract): the study's own information before assumptions.

Reference values: metafor 3.8.1 ``escalc("SMCC", ...)`` run by hand for these inputs
(R 4.2; the call is written beside each number), and the Cochrane Handbook 6.5.2.8
formulas for the pre-post correlation worked by hand.
"""

from __future__ import annotations

import math

import pytest

from synthesis.extract import effect_rows, implied_prepost_r
from synthesis.records import PrePost
from synthesis.validate import load_evidence

from .conftest import MINI_STUDY


def prepost(**kw):
    return PrePost(kind="pre_post", **kw)


def test_r_from_the_sd_of_change():
    # SD_change^2 = 4^2 + 4^2 - 2 r 4 4 = 16 -> r = 0.5
    d = prepost(n=20, mean_pre=10, sd_pre=4, mean_post=8, sd_post=4, sd_change=4)
    r, how = implied_prepost_r(d, 4.0, 4.0)
    assert r == pytest.approx(0.5, abs=1e-12)
    assert "SD of change 4" in how and "6.5.2.8" in how


def test_r_from_a_paired_t():
    # SD_change = |8 - 10| sqrt(16) / 4 = 2; r = (4 + 4 - 4) / (2 * 2 * 2) = 0.5
    d = prepost(n=16, mean_pre=10, sd_pre=2, mean_post=8, sd_post=2,
                statistic={"kind": "t", "value": -4, "df": 15})  # fmt: skip
    assert implied_prepost_r(d, 2.0, 2.0)[0] == pytest.approx(0.5, abs=1e-12)


def test_r_from_an_exact_p_fortney_emotional_exhaustion():
    # Fortney 2013 EE (Table): means 31.9 -> 28.9, 95% CIs [28.4, 35.4] (n = 30) and
    # [25.3, 32.5] (n = 28), p = .046. In R: s <- 3*sqrt(28)/qt(1-.046/2, 27);
    # sp <- sqrt(30)*7/(2*qt(.975,29)); so <- sqrt(28)*7.2/(2*qt(.975,27));
    # (sp^2+so^2-s^2)/(2*sp*so) = 0.6691218347
    sp = math.sqrt(30) * 7 / (2 * 2.045229642132703)
    so = math.sqrt(28) * 7.2 / (2 * 2.0518305164802833)
    d = prepost(n=28, mean_pre=31.9, mean_post=28.9, ci_pre=(28.4, 35.4), ci_post=(25.3, 32.5),
                n_pre=30, p=0.046)  # fmt: skip
    assert implied_prepost_r(d, sp, so)[0] == pytest.approx(0.6691218347, abs=1e-8)


def test_no_r_from_a_bounded_p_or_numbers_that_do_not_fit():
    d = prepost(n=28, mean_pre=38.5, sd_pre=4.7, mean_post=41, sd_post=4.6, p=0.001, p_bound="<")
    assert implied_prepost_r(d, 4.7, 4.6) is None
    # an SD of change larger than SD_pre + SD_post implies r < -1
    d = prepost(n=20, mean_pre=10, sd_pre=1, mean_post=8, sd_post=1, sd_change=3)
    assert implied_prepost_r(d, 1.0, 1.0) is None
    assert (
        implied_prepost_r(prepost(n=20, mean_pre=1, sd_pre=1, mean_post=2, sd_post=1), 1, 1) is None
    )


PREPOST = (
    MINI_STUDY.replace("design: cross-sectional", "design: pre-post")
    .replace(
        "    outcome: alliance\n    name: Working alliance\n    source: abstract\n    data:\n"
        "      kind: correlation\n      r: 0.30\n      n: 50\n",
        "    outcome: emotional_exhaustion\n    name: EE\n    source: abstract\n    data:\n"
        "      kind: pre_post\n      n: 25\n      mean_pre: 14\n      sd_pre: 5\n"
        "      mean_post: 12\n      sd_post: 4\nEXTRA",
    )
    .replace("question: q1_alliance", "question: q2_mindfulness_training")
)


def rows(project, extra=""):
    path = project / "evidence" / "studies" / "smith2020.yaml"
    path.write_text(PREPOST.replace("EXTRA", extra), encoding="utf-8")
    base = load_evidence(project)
    return [r for r in effect_rows(base, "q2_mindfulness_training", "emotional_exhaustion")]


def test_a_reported_prepost_r_is_used(project):
    # metafor: escalc("SMCC", m1i=12, m2i=14, sd1i=4, sd2i=5, ni=25, ri=0.8)
    # yi = -0.6455768223, vi = 0.0483353887
    (row,) = rows(project, "      r_prepost: 0.8\n")
    assert (row.yi, row.vi) == (pytest.approx(-0.6455768223, abs=1e-9),
                                pytest.approx(0.0483353887, abs=1e-9))  # fmt: skip
    assert not row.assumed and "pre-post r = 0.8 reported" in row.es_method


def test_without_r_the_plan_assumes_it(project):
    # metafor: escalc("SMCC", m1i=12, m2i=14, sd1i=4, sd2i=5, ni=25, ri=0.5)
    # yi = -0.4226292364, vi = 0.0435723094 (post minus pre: the sign is not swapped)
    (row,) = rows(project)
    assert (row.yi, row.vi) == (pytest.approx(-0.4226292364, abs=1e-9),
                                pytest.approx(0.0435723094, abs=1e-9))  # fmt: skip
    assert row.assumed and "ASSUMED" in row.es_method


def test_the_study_implied_r_comes_before_the_assumption(project):
    # SD of change 4 with SDs 5 and 4: r = (25 + 16 - 16) / 40 = 0.625
    (row,) = rows(project, "      sd_change: 4\n")
    assert not row.assumed and row.derived
    assert "pre-post r = 0.625 DERIVED from the SD of change 4" in row.es_method


@pytest.mark.parametrize("implied", [True, False])
def test_batched_escalc_gives_the_numbers_of_one_call_per_row(implied):
    # effect_rows computes escalc once per measure and input set; each row must hold
    # exactly what a one-row escalc call gives, and the pooled ones the golden values
    import json
    from pathlib import Path

    from synthesis import extract, records

    from .conftest import ROOT

    golden = json.loads((Path(__file__).parent / "reference" / "golden_evidence.json").read_text())
    cases = {(c["question"], c["outcome"]): c for c in golden["outcomes"]}
    base = load_evidence(ROOT)
    checked = 0
    for qid, q in sorted(base.questions.items()):
        for spec in q.outcomes:
            found = effect_rows(base, qid, spec.id, use_implied_r=implied)
            rows: dict[str, list] = {}
            for r in found:  # a study may give several results (time points)
                rows.setdefault(r.study, []).append(r)
            for study, _, oc in base.outcomes(qid):
                if oc.outcome != spec.id or isinstance(oc.data, records.Narrative):
                    continue
                try:
                    yi, vi, how, *_ = extract._convert(
                        oc.data, spec.measure, q.analysis.prepost_r, implied, extract._escalc_one
                    )
                except extract._NotPoolable:
                    continue
                same = [
                    r
                    for r in rows[study.id]
                    if (r.yi, r.vi) == (yi, vi) or (math.isnan(r.yi) and math.isnan(yi))
                ]
                assert same and any(r.es_method.startswith(how) for r in same)
                checked += 1
            case = cases.get((qid, spec.id))
            if case and implied:
                pooled = [r for r in found if r.status == "pooled"]
                pairs = [(r.yi, r.vi) for r in sorted(pooled, key=lambda r: r.study)]
                # jsonlite writes a one-study vector as a scalar
                studies, yis, vis = (
                    [v] if not isinstance(v, list) else v
                    for v in (case["studies"], case["yi"], case["vi"])
                )
                expected = sorted(zip(studies, yis, vis, strict=True))
                assert pairs == [
                    (pytest.approx(yi, abs=1e-8), pytest.approx(vi, abs=1e-8))
                    for _, yi, vi in expected
                ]
    assert checked > 25  # every non-narrative result of the real base
