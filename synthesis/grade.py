"""GRADE certainty of evidence per outcome, and the summary-of-findings table.

Certainty starts **high** when every contributing study is randomised and **low**
otherwise, is rated down for risk of bias, inconsistency, indirectness, imprecision and
publication bias, and may be rated up for a large effect when nothing was rated down
[higgins2023cochrane]_. Every step records its reason; a reviewer can replace any step
in the question file (``grade_overrides``), and the override and its reason are shown.

The rules are deliberately simple and explicit (GRADE is a judgement; these are the
defaults a reviewer starts from):

* risk of bias: -1 when studies at high/serious/critical overall risk carry at least half
  of the weight (or of the studies, when not pooled); -2 when all do and one is critical;
* inconsistency: -1 when I² >= 75%, or I² >= 50% and the prediction interval crosses the
  null while the confidence interval does not (only assessable with k >= 2);
* indirectness: -1 (or -2) when studies judged serious (very serious) indirect for the
  question carry at least half of the weight;
* imprecision, judged against the outcome's decision thresholds [santesso2020grade]_:
  -2 when the interval is uninformative or includes both an important benefit and an
  important harm; -1 when it includes both an important effect and little or no
  difference, or (single-group proportions) spans more than one band; -1 for fewer
  participants than the optimal information size (400 for continuous and correlation
  outcomes, 300 otherwise); at most -2 in all. With no effect estimate at all: -2. A
  single study, or studies the plan shows side by side (judged on the range their
  intervals cover): at least -1;
* publication bias: assessed with Egger's test when k >= 10 (p < 0.10: -1); otherwise not
  assessed, and said so;
* large effect (observational evidence only, nothing rated down): +1 for |r| >= 0.5,
  |SMD| >= 0.8, or a ratio >= 2 or <= 0.5.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from synthesis.analysis import small_study
from synthesis.plain import (
    cuts_for,
    effect_text,
    fmt_interval,
    fmt_value,
    informative_statement,
    side_by_side_text,
    verdict,
    votes_sentence,
)
from synthesis.plain import statement as plain_statement
from synthesis.records import Narrative
from synthesis.swim_outcomes import outcome_swim
from synthesis.vocabulary import NULL_VALUES

if TYPE_CHECKING:
    import pandas as pd

    from synthesis.analysis import OutcomeAnalysis
    from synthesis.evidence import EvidenceBase
    from synthesis.extract import EffectRow

LEVELS = ("very low", "low", "moderate", "high")
SYMBOLS = {"high": "⊕⊕⊕⊕", "moderate": "⊕⊕⊕◯", "low": "⊕⊕◯◯", "very low": "⊕◯◯◯"}
#: The GRADE Working Group's definitions of the four certainty levels, as GRADEpro prints
#: them under a summary-of-findings table [higgins2023cochrane]_.
LEVEL_DEFINITIONS = {
    "high": "We are very confident that the true effect lies close to that of the estimate "
    "of the effect.",
    "moderate": "We are moderately confident in the effect estimate: the true effect is likely "
    "to be close to the estimate of the effect, but there is a possibility that it is "
    "substantially different.",
    "low": "Our confidence in the effect estimate is limited: the true effect may be "
    "substantially different from the estimate of the effect.",
    "very low": "We have very little confidence in the effect estimate: the true effect is "
    "likely to be substantially different from the estimate of effect.",
}
RANDOMISED = ("randomised controlled", "cluster randomised controlled", "crossover randomised")
HIGH_RISK = ("serious", "high", "critical")


@dataclass(frozen=True)
class GradeStep:
    """One GRADE domain: how many levels it moves certainty, and why."""

    domain: str
    change: int
    reason: str
    overridden: bool = False


@dataclass(frozen=True)
class Certainty:
    """The certainty of the evidence for one outcome, with every step and its reason.

    ``studies`` and ``participants`` are distinct studies and people
    (:func:`synthesis.counts.count_rows`): those pooled, or when nothing is pooled, all
    those reporting the outcome.
    """

    question: str
    outcome: str
    start: str
    steps: tuple[GradeStep, ...]
    level: str
    studies: int
    participants: int

    @property
    def symbols(self) -> str:
        return SYMBOLS.get(self.level, "")

    def reasons(self) -> list[str]:
        """The steps that moved certainty, as footnote sentences."""
        out = []
        for s in self.steps:
            if s.change:
                sign = "rated down" if s.change < 0 else "rated up"
                levels = "one level" if abs(s.change) == 1 else "two levels"
                who = " (reviewers' judgement)" if s.overridden else ""
                out.append(f"{s.domain.capitalize()}: {sign} {levels}{who}: {s.reason}")
        return out


def _contributing(analysis: OutcomeAnalysis) -> list[EffectRow]:
    pooled = list(analysis.pooled_rows)
    if pooled:
        return pooled
    return [r for r in analysis.rows if r.status in ("narrative", "not poolable")]


def _weights(analysis: OutcomeAnalysis, rows: list) -> list[float]:
    """Each contributing row's weight: the fit's weights (same order as the pooled rows),
    or equal weights when nothing was pooled."""
    if analysis.fit is not None:
        return [float(w) for w in analysis.fit.weights]
    return [1.0] * len(rows)


def _share(
    rows: list[EffectRow], weights: list[float], predicate: Callable[[EffectRow], bool]
) -> float:
    total = sum(weights)
    if not total:
        return 0.0
    return sum(w for r, w in zip(rows, weights, strict=True) if predicate(r)) / total


def grade_outcome(base: EvidenceBase, analysis: OutcomeAnalysis) -> Certainty:
    """GRADE certainty for one analysed outcome (see the module docstring for the rules)."""
    rows = _contributing(analysis)
    q, spec = analysis.question, analysis.outcome
    count = analysis.count
    pooled = bool(analysis.pooled_rows)
    participants = count.pooled_participants if pooled else count.other_participants
    studies = count.pooled_studies if pooled else count.other_studies
    if not rows:
        awaiting = any(r.status == "awaiting results" for r in analysis.rows)
        reason = "results awaited" if awaiting else "no study reports this outcome"
        step = GradeStep("imprecision", 0, reason)
        return Certainty(q.id, spec.id, "none", (step,), "no evidence", 0, 0)
    weights = _weights(analysis, rows)
    randomised = all(r.design in RANDOMISED for r in rows)
    start = "high" if randomised else "low"
    steps = [
        _risk_of_bias(rows, weights),
        _inconsistency(analysis),
        _indirectness(base, analysis, rows, weights),
        _imprecision(analysis, participants),
        _publication_bias(analysis),
    ]
    down = sum(s.change for s in steps)
    steps.append(_large_effect(analysis, randomised, down))
    overrides = {o.domain: o for o in q.grade_overrides if o.outcome == spec.id}
    steps = [
        GradeStep(s.domain, overrides[s.domain].change, overrides[s.domain].reason, True)
        if s.domain in overrides
        else s
        for s in steps
    ]
    score = LEVELS.index(start) + sum(s.change for s in steps)
    level = LEVELS[min(max(score, 0), len(LEVELS) - 1)]
    return Certainty(q.id, spec.id, start, tuple(steps), level, studies, participants)


def _risk_of_bias(rows: list, weights: list[float]) -> GradeStep:
    high = _share(rows, weights, lambda r: r.rob in HIGH_RISK)
    unclear = _share(rows, weights, lambda r: r.rob in ("unclear", "not assessed"))
    if high >= 0.999 and any(r.rob == "critical" for r in rows):
        return GradeStep(
            "risk of bias", -2, "all studies at serious or high risk of bias, at least one critical"
        )
    if high >= 0.5:
        return GradeStep(
            "risk of bias",
            -1,
            f"{high:.0%} of the evidence (by weight) from studies at serious or high risk of bias",
        )
    if high + unclear >= 0.5:
        return GradeStep(
            "risk of bias",
            -1,
            f"{high + unclear:.0%} of the evidence from studies at high or unclear risk of bias",
        )
    return GradeStep(
        "risk of bias", 0, "most of the evidence from studies at low or moderate risk of bias"
    )


def _crosses(lo: float, hi: float, null: float | None) -> bool:
    return null is not None and lo <= null <= hi


def _inconsistency(analysis: OutcomeAnalysis) -> GradeStep:
    fit = analysis.fit
    if fit is None or fit.k < 2:
        return GradeStep("inconsistency", 0, "not assessable with a single study")
    null = NULL_VALUES.get(analysis.measure)
    pi_crosses = math.isfinite(fit.pi_lb) and _crosses(fit.pi_lb, fit.pi_ub, null)
    ci_crosses = _crosses(fit.ci_lb, fit.ci_ub, null)
    if fit.I2 >= 75:
        return GradeStep("inconsistency", -1, f"considerable heterogeneity (I² = {fit.I2:.0f}%)")
    if fit.I2 >= 50 and pi_crosses and not ci_crosses:
        return GradeStep(
            "inconsistency",
            -1,
            f"substantial heterogeneity (I² = {fit.I2:.0f}%) "
            "and the prediction interval includes no effect",
        )
    return GradeStep("inconsistency", 0, f"I² = {fit.I2:.0f}%, τ² = {fit.tau2:.3g}")


def _indirectness(
    base: EvidenceBase, analysis: OutcomeAnalysis, rows: list, weights: list[float]
) -> GradeStep:
    judgements = {}
    for r in rows:
        for oc in base.studies[r.study].outcomes:
            same = (oc.question, oc.outcome) == (analysis.question.id, analysis.outcome.id)
            if same and oc.indirectness is not None:
                judgements[r.study] = oc.indirectness
    very = _share(
        rows, weights, lambda r: getattr(judgements.get(r.study), "judgement", "") == "very serious"
    )
    serious = _share(
        rows,
        weights,
        lambda r: getattr(judgements.get(r.study), "judgement", "") in ("serious", "very serious"),
    )
    reasons = "; ".join(
        f"{s}: {j.reason}" for s, j in sorted(judgements.items()) if j.judgement != "none"
    )
    if very >= 0.5:
        return GradeStep("indirectness", -2, reasons)
    if serious >= 0.5:
        return GradeStep("indirectness", -1, reasons)
    return GradeStep(
        "indirectness",
        0,
        "populations, interventions and outcomes match the "
        "question" + (f" (minor: {reasons})" if reasons else ""),
    )


def _imprecision(analysis: OutcomeAnalysis, participants: int) -> GradeStep:
    nat = analysis.natural()
    if nat is None and not analysis.pooled_rows:
        return _imprecision_direction_only(analysis)
    m = analysis.measure
    ois = 400 if m in ("SMD", "SMCC", "SMCR", "MD", "ZCOR", "COR") else 300
    problems = []
    if nat is None and analysis.side_by_side:
        # not pooled by the plan: the range the studies' own intervals cover
        table = analysis.study_table()
        side = table[table.status == "pooled"]
        lo, hi = float(side.ci_lb.min()), float(side.ci_ub.max())
        problems.append("too few studies to pool")
    elif nat is None:
        table = analysis.study_table()
        row = table[table.status == "pooled"].iloc[0]
        lo, hi = row.ci_lb, row.ci_ub
        problems.append("a single study")
    else:
        lo, hi = nat.ci_lb, nat.ci_ub
    # GRADE's minimally contextualised approach: where the whole interval lies against
    # the outcome's thresholds [santesso2020grade]_.
    category = verdict(lo, hi, analysis.outcome).category
    levels = len(problems)
    wide = {
        "uninformative": (2, "the interval spans (nearly) the whole scale: uninformative"),
        "benefit or harm": (
            2,
            "the interval includes both an important benefit and an important harm",
        ),
        "benefit or no important difference": (
            1,
            "the interval includes both an important effect and little or no difference",
        ),
        "harm or no important difference": (
            1,
            "the interval includes both an important effect and little or no difference",
        ),
        "several bands": (1, f"the interval ({100 * lo:.0f}% to {100 * hi:.0f}%) spans more "
                          "than one band of the scale"),
    }  # fmt: skip
    null = NULL_VALUES.get(m)
    if category in wide:
        extra, why = wide[category]
        levels += extra
        problems.append(why)
    elif category == "no thresholds" and null is not None and _crosses(lo, hi, null):
        levels += 1
        problems.append("the confidence interval includes no effect")
    if participants < ois:
        levels += 1
        problems.append(
            f"{participants} participants, fewer than the optimal information size of about {ois}"
        )
    if problems and cuts_for(analysis.outcome).assumed:
        problems.append(f"thresholds: {cuts_for(analysis.outcome).source}")
    change = -min(levels, 2)
    reason = "; ".join(problems) if problems else "narrow interval and enough participants"
    return GradeStep("imprecision", change, reason)


def _imprecision_direction_only(analysis: OutcomeAnalysis) -> GradeStep:
    """Imprecision when no study gives an estimate: two levels down.

    GRADE's guidance for synthesis without meta-analysis [campbell2020swim]_
    [higgins2023cochrane]_: with only the direction of effect known there is no estimate
    of the size of the effect nor of its precision, so imprecision is rated down (very
    serious), whatever the vote count; the reason states the vote count and sign test.
    """
    v = outcome_swim(analysis).votes
    if v is None:
        said = "the studies report the direction of the result only"
    else:
        said = f"{v.positive} of {v.k} studies favour the intervention"
        if v.positive + v.negative:
            said += f", sign test p = {v.sign_test_p:.2g}"
    return GradeStep(
        "imprecision",
        -2,
        f"only the direction of effect is known ({said}): no estimate of the size of the "
        "effect or of its precision",
    )


def _publication_bias(analysis: OutcomeAnalysis) -> GradeStep:
    need = analysis.question.analysis.small_study_min_k
    if analysis.fit is None or analysis.k < need:
        return GradeStep(
            "publication bias",
            0,
            f"not assessed statistically (fewer than {need} "
            "studies); undetected publication bias cannot be excluded",
        )
    result = small_study(analysis)
    assert result.regtest is not None
    if result.regtest.pval < 0.10:
        return GradeStep(
            "publication bias",
            -1,
            f"funnel-plot asymmetry (Egger's test p = {result.regtest.pval:.3f})",
        )
    return GradeStep(
        "publication bias",
        0,
        f"no funnel-plot asymmetry detected (Egger's test p = {result.regtest.pval:.3f})",
    )


def _large_effect(analysis: OutcomeAnalysis, randomised: bool, down: int) -> GradeStep:
    nat = analysis.natural()
    if randomised or down < 0 or nat is None:
        return GradeStep(
            "large effect",
            0,
            "not applicable"
            if randomised or nat is None
            else "not considered: certainty was rated down",
        )
    m, est = analysis.measure, nat.estimate
    large = (
        (m in ("ZCOR", "COR") and abs(est) >= 0.5)
        or (m in ("SMD", "SMCC", "SMCR") and abs(est) >= 0.8)
        or (m in ("OR", "RR") and (est >= 2 or est <= 0.5))
    )
    if large:
        return GradeStep("large effect", 1, f"large effect ({est:.2f})")
    return GradeStep("large effect", 0, "effect not large enough to rate up")


# ----------------------------------------------------------------------------- wording


def statement(analysis: OutcomeAnalysis, certainty: Certainty) -> str:
    """GRADE informative statement for the finding at its certainty
    (:func:`synthesis.plain.statement`, the one place sentences are written)."""
    return plain_statement(analysis, certainty.level)


def describe(analysis: OutcomeAnalysis, base: EvidenceBase | None = None) -> str:
    """One or two plain sentences on one outcome: what was found and how sure we are.

    With ``base`` the certainty (:func:`grade_outcome`) hedges the statement; an
    uninformative interval headlines no number. The sentences are those of
    :mod:`synthesis.plain`.
    """
    m = analysis.measure
    level = f"{analysis.settings.level:g}%"
    name = analysis.outcome.name[0].lower() + analysis.outcome.name[1:]
    certainty = None
    if base is not None and analysis.pooled_rows:
        certainty = grade_outcome(base, analysis).level
    nat = analysis.natural()
    if nat is not None:
        k, n = analysis.k, analysis.participants
        who = f"{k} studies" + (f" ({n} participants)" if n else "")
        words = informative_statement(nat.ci_lb, nat.ci_ub, analysis, certainty)
        if not verdict(nat.ci_lb, nat.ci_ub, analysis.outcome).informative:
            return f"Across {who}: {words}"
        text = (
            f"Across {who}, the combined {analysis.natural_name} for {name} was "
            f"{fmt_value(nat.estimate, m)} ({level} confidence interval "
            f"{fmt_interval(nat.ci_lb, nat.ci_ub, m)}). {words}"
        )
        if math.isfinite(nat.pi_lb):
            text += (
                f" In a new setting like these, the true value would probably lie "
                f"{fmt_interval(nat.pi_lb, nat.pi_ub, m, between=True)}."
            )
        return text
    single = analysis.pooled_rows
    table = analysis.study_table()
    if len(single) == 1:
        row = table[table.status == "pooled"].iloc[0]
        people = f", {row.n:.0f} participants" if math.isfinite(row.n) else ""
        words = informative_statement(row.ci_lb, row.ci_ub, analysis, certainty)
        number = (
            f"{fmt_value(row.estimate, m)} ({level} CI {fmt_interval(row.ci_lb, row.ci_ub, m)}). "
        )
        if not verdict(row.ci_lb, row.ci_ub, analysis.outcome).informative:
            number = ""
        return (
            f"Only one study ({row.label}{people}) gives usable numbers for {name}: {number}"
            f"{words} One study cannot be pooled, and its result may not hold elsewhere."
        )
    narrative = [r for r in analysis.rows if r.status == "narrative"]
    awaiting = [r for r in analysis.rows if r.status == "awaiting results"]
    parts = [f"No pooled estimate for {name}: {analysis.reason}."]
    if analysis.side_by_side:  # the plan does not pool this few studies
        parts.append(f"The studies side by side: {side_by_side_text(analysis)}.")
    said_votes = votes_sentence(analysis)
    if said_votes:
        parts.append(said_votes)
    if narrative and base is not None:
        said = []
        for r in narrative:
            data = _narrative_data(base, r.study, analysis)
            if data is not None:
                sig = {True: ", statistically significant", False: ", not significant", None: ""}[
                    data.significant
                ]
                number = ""
                if data.percent is not None:
                    number = f", {data.percent.value:g}% with the denominator not reported"
                elif data.value is not None:
                    number = f", {data.value.value:g} {data.unit or ''}".rstrip()
                said.append(f"{r.label} ({data.direction}{sig}{number})")
        if said:
            parts.append(
                "Studies reporting only the direction of the result: " + "; ".join(said) + "."
            )
    if awaiting:
        parts.append("Results awaited: " + ", ".join(r.label for r in awaiting) + ".")
    return " ".join(parts)


def _narrative_data(base: EvidenceBase, study: str, analysis: OutcomeAnalysis) -> Narrative | None:
    for oc in base.studies[study].outcomes:
        if (oc.question, oc.outcome) == (analysis.question.id, analysis.outcome.id) and isinstance(
            oc.data, Narrative
        ):
            return oc.data
    return None


def summary_of_findings(base: EvidenceBase, analyses: list[OutcomeAnalysis]) -> pd.DataFrame:
    """One row per outcome: participants (studies), effect, certainty, reasons, statement."""
    import pandas as pd

    rows = []
    for a in analyses:
        c = grade_outcome(base, a)
        effect = effect_text(a)
        rows.append(
            {
                "outcome": a.outcome.name,
                "participants (studies)": a.count.text(),
                "effect (95% CI)"
                if a.settings.level == 95
                else f"effect ({a.settings.level:g}% CI)": effect,
                "certainty": f"{c.symbols} {c.level}".strip(),
                "reasons": " | ".join(c.reasons()) or "not rated down",
                "what this means": statement(a, c),
            }
        )
    return pd.DataFrame(rows)
