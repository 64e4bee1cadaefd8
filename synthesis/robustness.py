"""The robustness grid: each pooled conclusion recomputed under the choices a reviewer varies.

For one pooled outcome the grid refits the model with

* each test (``z``, ``knha``, ``adhoc`` [knapp2003improved]_),
* each τ² estimator (EE, DL, HE, SJ, PM, ML, REML, EB),
* each pooled study left out,
* a range of assumed pre-post correlations, and the assumed r instead of the r the
  studies' own numbers imply (SMCC/SMCR outcomes),
* the studies at high (or serious, critical) risk of bias left out,

and computes for each the verdict category of the wording (:func:`synthesis.plain.verdict`).
A row whose category differs from the main analysis's is ``changed``; the commissioner
page then says that the conclusion depends on that choice and which way
(:func:`synthesis.plain.robustness_sentence`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from synthesis.analysis import analyse
from synthesis.plain import verdict
from synthesis.vocabulary import METHODS, TESTS

if TYPE_CHECKING:
    import pandas as pd

    from synthesis.analysis import OutcomeAnalysis
    from synthesis.evidence import EvidenceBase

#: Pre-post correlations tried for SMCC/SMCR outcomes (besides the plan's own list).
PREPOST_RANGE = (0.1, 0.3, 0.5, 0.7, 0.9)
HIGH_RISK = ("serious", "high", "critical")


@dataclass(frozen=True)
class Variant:
    """One cell of the grid: a choice, its value, the result and its verdict category."""

    choice: str
    value: str
    k: int
    estimate: float
    ci_lb: float
    ci_ub: float
    category: str
    changed: bool


def _fit(analysis: OutcomeAnalysis, rows: list, *, method: str, test: str):  # type: ignore[no-untyped-def]
    from synthesis.stats import rma

    return rma(
        [r.yi for r in rows],
        [r.vi for r in rows],
        method=method,
        test=test if len(rows) > 1 else "z",
        level=analysis.settings.level,
        measure=analysis.measure,
    )


def _variant(analysis: OutcomeAnalysis, main: str, choice: str, value: str, other) -> Variant:  # type: ignore[no-untyped-def]
    """``other`` is an OutcomeAnalysis, or (fit, rows) refitted on a subset."""
    if isinstance(other, tuple):
        fit, rows = other
        ni = [r.n for r in rows] if analysis.measure == "PFT" else None
        from synthesis.stats import backtransform

        def nat(x: float) -> float:
            import numpy as np

            return float(np.ravel(backtransform(analysis.measure, [x], ni=ni))[0])

        est, lo, hi, k = nat(fit.estimate), nat(fit.ci_lb), nat(fit.ci_ub), fit.k
    else:
        n = other.natural()
        if n is None:
            return Variant(choice, value, other.k, math.nan, math.nan, math.nan, "not pooled", True)
        est, lo, hi, k = n.estimate, n.ci_lb, n.ci_ub, other.k
    lo, hi = min(lo, hi), max(lo, hi)
    category = verdict(lo, hi, analysis.outcome).category
    return Variant(choice, value, k, est, lo, hi, category, category != main)


def grid(base: EvidenceBase, analysis: OutcomeAnalysis) -> list[Variant]:
    """Every variant of one pooled analysis (empty when the outcome is not pooled)."""
    nat = analysis.natural()
    if nat is None:
        return []
    s, q, o = analysis.settings, analysis.question.id, analysis.outcome.id
    main = verdict(nat.ci_lb, nat.ci_ub, analysis.outcome).category
    rows = list(analysis.pooled_rows)
    out = [_variant(analysis, main, "main analysis", f"{s.method}, {s.test}", analysis)]
    for test in TESTS:
        if test != s.test:
            fit = _fit(analysis, rows, method=s.method, test=test)
            out.append(_variant(analysis, main, "test", test, (fit, rows)))
    for method in METHODS:
        if method != s.method:
            fit = _fit(analysis, rows, method=method, test=s.test)
            out.append(_variant(analysis, main, "τ² estimator", method, (fit, rows)))
    if len(rows) > 1:
        for i, r in enumerate(rows):
            rest = rows[:i] + rows[i + 1 :]
            fit = _fit(analysis, rest, method=s.method, test=s.test)
            out.append(_variant(analysis, main, "leave one out", f"without {r.label}", (fit, rest)))
    low_risk = [r for r in rows if r.rob not in HIGH_RISK]
    if len(low_risk) < len(rows):
        if low_risk:
            fit = _fit(analysis, low_risk, method=s.method, test=s.test)
            value = f"{len(rows) - len(low_risk)} at high risk left out"
            out.append(_variant(analysis, main, "risk of bias", value, (fit, low_risk)))
        else:
            out.append(
                Variant(
                    "risk of bias",
                    "all at high risk",
                    0,
                    math.nan,
                    math.nan,
                    math.nan,
                    "none left",
                    True,
                )
            )
    if analysis.measure in ("SMCC", "SMCR"):
        values = dict.fromkeys((*PREPOST_RANGE, *analysis.question.analysis.prepost_r_sensitivity))
        uses_r = any("pre-post r" in r.es_method for r in rows)
        if uses_r:
            for prepost_r in sorted(values):
                other = analyse(
                    base, q, o, method=s.method, test=s.test, level=s.level, prepost_r=prepost_r
                )
                out.append(_variant(analysis, main, "assumed pre-post r", f"{prepost_r:g}", other))
        if any("DERIVED from" in r.es_method and "pre-post r" in r.es_method for r in rows):
            other = analyse(
                base, q, o, method=s.method, test=s.test, level=s.level, implied_r=False
            )
            value = f"{s.prepost_r:g} assumed instead of the studies' own r"
            out.append(_variant(analysis, main, "pre-post r", value, other))
    return out


def grid_table(base: EvidenceBase, analysis: OutcomeAnalysis) -> pd.DataFrame:
    """:func:`grid` as a DataFrame (one row per variant), for the academic page."""
    import pandas as pd

    cells = grid(base, analysis)
    return pd.DataFrame([c.__dict__ for c in cells], columns=list(Variant.__dataclass_fields__))
