"""One question outcome, analysed: effect sizes, pooled estimate, sensitivity, small-study checks.

This is the layer the notebooks call. Every analytic choice (estimator, test, confidence
level, assumed pre-post correlation) comes from the question's ``analysis`` plan and can
be overridden per call, so a reader can change it in a notebook parameter cell.

Pooling needs at least ``min_k`` independent, poolable studies (the outcome's, else the
plan's: :mod:`synthesis.pooling_rules`, which also keeps results outside the outcome's
time-point window or designs out, with the reason); otherwise the result says why it was
not pooled and reports the single study on its own, or the studies side by side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from synthesis import pooling_rules
from synthesis.counts import count_rows
from synthesis.extract import EffectRow, effect_rows

# synthesis.stats (numpy, scipy) is imported inside the functions that fit, so the modules
# that only read analyses (validation, claims, the wording) load without it.
if TYPE_CHECKING:
    import pandas as pd

    from synthesis.counts import OutcomeCount
    from synthesis.evidence import EvidenceBase
    from synthesis.records import Question, QuestionOutcome
    from synthesis.stats import MetaResult, RegtestResult, TransformedResult, TrimfillResult

#: What a pooled number is called on its natural (reporting) scale.
NATURAL_NAMES = {
    "ZCOR": "correlation r",
    "COR": "correlation r",
    "PLO": "proportion",
    "PR": "proportion",
    "PFT": "proportion",
    "SMD": "standardised mean difference",
    "SMCC": "standardised mean change",
    "SMCR": "standardised mean change",
    "MD": "mean difference",
    "OR": "odds ratio",
    "RR": "risk ratio",
    "RD": "risk difference",
}


@dataclass(frozen=True)
class Settings:
    """The analytic choices of one analysis."""

    method: str
    test: str
    level: float
    prepost_r: float
    implied_r: bool = True


@dataclass(frozen=True)
class OutcomeAnalysis:
    """Everything known about one outcome of one question, pooled or not.

    Attributes
    ----------
    question, outcome
        The question and the outcome definition (measure, scale, direction).
    settings
        Estimator, test, level and assumed pre-post r used.
    rows
        Every study result for this outcome, pooled or not, each with its reason.
    fit
        The random-effects fit (:class:`synthesis.stats.MetaResult`) when pooled, else None.
    reason
        Why there is no pooled estimate ("" when pooled).
    """

    question: Question
    outcome: QuestionOutcome
    settings: Settings
    rows: tuple[EffectRow, ...]
    fit: MetaResult | None
    reason: str

    @property
    def measure(self) -> str:
        return self.outcome.measure

    @property
    def pooled_rows(self) -> tuple[EffectRow, ...]:
        return tuple(r for r in self.rows if r.status == "pooled")

    @property
    def k(self) -> int:
        return len(self.pooled_rows)

    @property
    def side_by_side(self) -> bool:
        """True when two or more studies have usable numbers but fewer than the plan's
        ``min_k``: each is shown with its own interval and no pooled number."""
        return self.fit is None and self.k >= 2

    @property
    def count(self) -> OutcomeCount:
        """Distinct studies and participants, pooled apart from the rest
        (:func:`synthesis.counts.count_rows`)."""
        return count_rows(self.rows, self.measure)

    @property
    def participants(self) -> int:
        """Distinct participants in the pooled studies (:attr:`count`)."""
        return self.count.pooled_participants

    @property
    def natural_name(self) -> str:
        return NATURAL_NAMES[self.measure]

    def to_natural(self, values: Any) -> Any:
        """Map values on the analysis scale to the natural scale (r, proportion, ratio)."""
        from synthesis.stats import backtransform

        ni = [r.n for r in self.pooled_rows] if self.measure == "PFT" else None
        return backtransform(self.measure, values, ni=ni)

    def natural(self) -> TransformedResult | None:
        """Pooled estimate, CI and PI on the natural scale (None when not pooled)."""
        if self.fit is None:
            return None
        return _natural_of(self, self.fit)

    def study_table(self) -> pd.DataFrame:
        """One row per study result: natural-scale estimate and CI, weight, status, how."""
        import numpy as np
        import pandas as pd
        from scipy.stats import norm

        z = norm.ppf(0.5 + self.settings.level / 200)
        # the fit's weights are in the order of the pooled rows (labels may repeat)
        pooled_weights = iter(np.asarray(self.fit.weights) if self.fit is not None else ())
        out = []
        for r in self.rows:
            weight = next(pooled_weights, math.nan) if r.status == "pooled" else math.nan
            finite = math.isfinite(r.yi) and math.isfinite(r.vi)
            lo = r.yi - z * math.sqrt(r.vi) if finite else math.nan
            hi = r.yi + z * math.sqrt(r.vi) if finite else math.nan
            if finite and self.measure == "PFT":
                from synthesis.stats import transf_ipft_hm  # needs the study's own n

                est, lo_n, hi_n = (_one(transf_ipft_hm([v], [r.n])) for v in (r.yi, lo, hi))
            elif finite:
                est, lo_n, hi_n = (_one(self.to_natural(v)) for v in (r.yi, lo, hi))
            else:
                est = lo_n = hi_n = math.nan
            out.append(
                {
                    "study": r.study,
                    "label": r.label,
                    "design": r.design,
                    "n": r.n,
                    "timepoint": r.timepoint,
                    "status": r.status,
                    "reason": r.reason,
                    "yi": r.yi,
                    "vi": r.vi,
                    "estimate": est,
                    "ci_lb": min(lo_n, hi_n),
                    "ci_ub": max(lo_n, hi_n),
                    "weight": weight,
                    "es_method": r.es_method,
                    "derived": r.derived,
                    "assumed": r.assumed,
                    "from_p": r.from_p,
                    "risk_of_bias": r.rob,
                }
            )
        # the columns are fixed, so an outcome no study reports yet gives an empty table
        return pd.DataFrame(out, columns=STUDY_TABLE_COLUMNS)


#: Columns of :meth:`OutcomeAnalysis.study_table`.
STUDY_TABLE_COLUMNS = (
    "study", "label", "design", "n", "timepoint", "status", "reason", "yi", "vi", "estimate",
    "ci_lb", "ci_ub", "weight", "es_method", "derived", "assumed", "from_p", "risk_of_bias",
)  # fmt: skip


def _settings(question: Question, **overrides: Any) -> Settings:
    plan = question.analysis
    values = {
        "method": plan.method,
        "test": plan.test,
        "level": plan.level,
        "prepost_r": plan.prepost_r,
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)


def plan_rows(
    base: EvidenceBase, question: str, outcome: str, **overrides: Any
) -> tuple[Settings, tuple[EffectRow, ...]]:
    """The question's analysis plan with ``overrides`` (as :func:`analyse`) and the
    effect rows of the outcome under it (pooled or not), without fitting."""
    settings = _settings(base.questions[question], **overrides)
    rows = effect_rows(
        base, question, outcome, prepost_r=settings.prepost_r, use_implied_r=settings.implied_r
    )
    return settings, tuple(rows)


def analyse(
    base: EvidenceBase,
    question: str,
    outcome: str,
    *,
    method: str | None = None,
    test: str | None = None,
    level: float | None = None,
    prepost_r: float | None = None,
    implied_r: bool | None = None,
) -> OutcomeAnalysis:
    """Analyse one outcome of one question.

    Parameters
    ----------
    base : EvidenceBase
        The validated evidence base (:func:`synthesis.validate.load_evidence`).
    question, outcome : str
        Ids of the question and of one of its outcomes.
    method, test, level, prepost_r : optional
        Override the question's analysis plan (metafor's vocabulary: REML, DL, ...; z or
        knha; level in percent; the pre-post r assumed where a study reports none).
    implied_r : bool, optional
        False assumes ``prepost_r`` even where a study's own numbers imply its pre-post r
        (default True: the study's information before the assumption).

    Returns
    -------
    OutcomeAnalysis
        Pooled with :func:`synthesis.stats.rma` [viechtbauer2010metafor]_ when at least
        ``min_k`` independent studies are poolable (the outcome's, else the plan's);
        otherwise ``fit`` is None and ``reason`` says why (two or more studies are then
        shown side by side: :attr:`OutcomeAnalysis.side_by_side`).
    """
    from synthesis.stats import rma

    q = base.questions[question]
    spec = next(o for o in q.outcomes if o.id == outcome)
    settings, rows = plan_rows(
        base,
        question,
        outcome,
        method=method,
        test=test,
        level=level,
        prepost_r=prepost_r,
        implied_r=implied_r,
    )
    pooled = [r for r in rows if r.status == "pooled"]
    min_k, min_k_why = pooling_rules.min_k(q, spec)
    if not pooled:
        with_numbers = [r for r in rows if math.isfinite(r.yi)]
        if with_numbers:  # shown in grey on the forest plot: say why none is pooled
            why = "; ".join(f"{r.label}: {r.reason}" for r in with_numbers)
            reason = f"no study's numbers can be pooled ({why})"
        else:
            reason = "no study reports usable numbers"
        return OutcomeAnalysis(q, spec, settings, rows, None, reason)
    if len(pooled) < min_k:
        if len(pooled) == 1:
            reason = f"only 1 independent study with usable numbers; pooling needs at least {min_k}"
        else:  # shown side by side (synthesis.plain.describe, the pages' study tables)
            reason = (
                f"{len(pooled)} studies with usable numbers, shown side by side: the analysis "
                f"plan pools at least {min_k}" + (f" ({min_k_why})" if min_k_why else "")
            )
        return OutcomeAnalysis(q, spec, settings, rows, None, reason)
    fit = rma(
        [r.yi for r in pooled],
        [r.vi for r in pooled],
        method=settings.method,
        test=settings.test,
        level=settings.level,
        slab=[r.label for r in pooled],
        measure=spec.measure,
    )
    return OutcomeAnalysis(q, spec, settings, rows, fit, "")


def analyse_question(base: EvidenceBase, question: str, **overrides: Any) -> list[OutcomeAnalysis]:
    """:func:`analyse` for every outcome of ``question``, in the question's order."""
    q = base.questions[question]
    return [analyse(base, question, o.id, **overrides) for o in q.outcomes]


# ----------------------------------------------------------------------------- sensitivity


def leave_one_out(analysis: OutcomeAnalysis) -> pd.DataFrame | None:
    """Leave-one-out estimates on the natural scale (None when k < 3)."""
    from synthesis.stats import leave1out

    if analysis.fit is None or analysis.k < 3:
        return None
    frame = leave1out(analysis.fit)
    out = frame[["estimate", "ci_lb", "ci_ub", "tau2", "I2"]].copy()
    if analysis.measure != "PFT":
        for col in ("estimate", "ci_lb", "ci_ub"):
            out[col] = analysis.to_natural(out[col].to_numpy())
    return out


def alternative_estimators(analysis: OutcomeAnalysis) -> pd.DataFrame | None:
    """The pooled estimate under the main and each alternative τ² estimator."""
    import pandas as pd

    from synthesis.stats import rma

    if analysis.fit is None:
        return None
    methods = [analysis.settings.method]
    methods += [m for m in analysis.question.analysis.alternative_methods if m not in methods]
    rows = []
    for m in methods:
        fit = rma(
            analysis.fit.yi,
            analysis.fit.vi,
            method=m,
            test=analysis.settings.test,
            level=analysis.settings.level,
            slab=list(analysis.fit.slab),
            measure=analysis.measure,
        )
        nat = _natural_of(analysis, fit)
        rows.append(
            {
                "method": m,
                "estimate": nat.estimate,
                "ci_lb": nat.ci_lb,
                "ci_ub": nat.ci_ub,
                "tau2": fit.tau2,
                "I2": fit.I2,
            }
        )
    return pd.DataFrame(rows).set_index("method")


def _one(value: Any) -> float:
    """The single number of a back-transform (a float, or an array of one for PFT)."""
    import numpy as np

    return float(np.ravel(value)[0])


def _natural_of(analysis: OutcomeAnalysis, fit: MetaResult) -> TransformedResult:
    return fit.transformed(lambda x: _one(analysis.to_natural([x])))


def prepost_sensitivity(base: EvidenceBase, analysis: OutcomeAnalysis) -> pd.DataFrame | None:
    """Re-run the analysis with each pre-post r of the plan's sensitivity list.

    Only meaningful for SMCC/SMCR outcomes where some study's pre-post r was assumed;
    returns None otherwise.
    """
    import pandas as pd

    if analysis.measure not in ("SMCC", "SMCR") or not any(r.assumed for r in analysis.pooled_rows):
        return None
    values = [analysis.settings.prepost_r, *analysis.question.analysis.prepost_r_sensitivity]
    rows = []
    for r in dict.fromkeys(values):
        other = analyse(
            base,
            analysis.question.id,
            analysis.outcome.id,
            method=analysis.settings.method,
            test=analysis.settings.test,
            level=analysis.settings.level,
            prepost_r=r,
        )
        nat = other.natural()
        rows.append(
            {
                "assumed_r": r,
                "k": other.k,
                "estimate": nat.estimate if nat else math.nan,
                "ci_lb": nat.ci_lb if nat else math.nan,
                "ci_ub": nat.ci_ub if nat else math.nan,
            }
        )
    return pd.DataFrame(rows).set_index("assumed_r")


@dataclass(frozen=True)
class SmallStudyAssessment:
    """Egger's test and trim-and-fill, or the reason they were not run."""

    run: bool
    reason: str
    regtest: RegtestResult | None = None
    trimfill: TrimfillResult | None = None


def small_study(analysis: OutcomeAnalysis) -> SmallStudyAssessment:
    """Egger's regression test [egger1997bias]_ and trim-and-fill [duval2000trim]_.

    Run only when k reaches the plan's ``small_study_min_k`` (10 by default, as the
    Cochrane Handbook advises [higgins2023cochrane]_); otherwise says why not.
    """
    from synthesis.stats import regtest, trimfill

    need = analysis.question.analysis.small_study_min_k
    if analysis.fit is None or analysis.k < need:
        return SmallStudyAssessment(
            False,
            f"not assessed: {analysis.k} poolable studies, fewer than the {need} needed for "
            "a meaningful funnel-plot test",
        )
    return SmallStudyAssessment(True, "", regtest(analysis.fit), trimfill(analysis.fit))
