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
from typing import TYPE_CHECKING, Any

import numpy as np

from synthesis.analysis import plan_rows
from synthesis.cluster import kernel_client
from synthesis.plain import verdict
from synthesis.vocabulary import METHODS, TESTS

# synthesis.stats (numpy, scipy) is imported inside the functions that refit.
if TYPE_CHECKING:
    import pandas as pd

    from synthesis.analysis import OutcomeAnalysis
    from synthesis.evidence import EvidenceBase
    from synthesis.extract import EffectRow

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


def _variant(
    analysis: OutcomeAnalysis,
    main: str,
    choice: str,
    value: str,
    fit: dict[str, Any],
    rows: list[EffectRow],
) -> Variant:
    """The cell of a refit (``fit``: a row of :func:`synthesis.stats.fit_models`) of ``rows``."""
    from synthesis.stats import backtransform

    ni = [r.n for r in rows] if analysis.measure == "PFT" else None

    def nat(x: float) -> float:
        return float(np.ravel(backtransform(analysis.measure, [x], ni=ni))[0])

    est, lo, hi = nat(fit["estimate"]), nat(fit["ci_lb"]), nat(fit["ci_ub"])
    lo, hi = min(lo, hi), max(lo, hi)
    category = verdict(lo, hi, analysis.outcome).category
    return Variant(choice, value, int(fit["k"]), est, lo, hi, category, category != main)


def _empty(choice: str, value: str, k: int, category: str) -> Variant:
    """A cell with nothing to fit (no estimate; always a change from the main analysis)."""
    return Variant(choice, value, k, math.nan, math.nan, math.nan, category, True)


def grid(base: EvidenceBase, analysis: OutcomeAnalysis, *, client: Any = None) -> list[Variant]:
    """Every variant of one pooled analysis (empty when the outcome is not pooled).

    The refits are fitted together by :func:`synthesis.stats.fit_models` (one block
    of the batch engine per τ² estimator and test), on the Dask cluster of ``client``
    when given, else on the cluster of the build's ``--scheduler``
    (:func:`synthesis.cluster.kernel_client`), else here; the numbers are the same.
    """
    from synthesis.stats import fit_models

    nat = analysis.natural()
    if nat is None:
        return []
    s, q, o = analysis.settings, analysis.question.id, analysis.outcome.id
    main = verdict(nat.ci_lb, nat.ci_ub, analysis.outcome).category
    main_cell = Variant(
        "main analysis", f"{s.method}, {s.test}", analysis.k, nat.estimate,
        min(nat.ci_lb, nat.ci_ub), max(nat.ci_lb, nat.ci_ub), main, False,
    )  # fmt: skip
    rows = list(analysis.pooled_rows)
    # each cell: a fixed Variant, or (choice, value, rows) refitted with models[i]
    cells: list[Variant | tuple[str, str, list[EffectRow]]] = [main_cell]
    models: list[tuple[list[float], list[float], str, str]] = []

    def refit(choice: str, value: str, subset: list[EffectRow], method: str, test: str) -> None:
        cells.append((choice, value, subset))
        models.append(
            (
                [r.yi for r in subset],
                [r.vi for r in subset],
                method,
                test if len(subset) > 1 else "z",
            )
        )

    for test in TESTS:
        if test != s.test:
            refit("test", test, rows, s.method, test)
    for method in METHODS:
        if method != s.method:
            refit("τ² estimator", method, rows, method, s.test)
    if len(rows) > 1:
        for i, r in enumerate(rows):
            refit("leave one out", f"without {r.label}", rows[:i] + rows[i + 1 :], s.method, s.test)
    low_risk = [r for r in rows if r.rob not in HIGH_RISK]
    if len(low_risk) < len(rows):
        if low_risk:
            value = f"{len(rows) - len(low_risk)} at high risk left out"
            refit("risk of bias", value, low_risk, s.method, s.test)
        else:
            cells.append(_empty("risk of bias", "all at high risk", 0, "none left"))
    if analysis.measure in ("SMCC", "SMCR"):
        others: list[tuple[str, str, dict[str, Any]]] = []
        values = dict.fromkeys((*PREPOST_RANGE, *analysis.question.analysis.prepost_r_sensitivity))
        if any("pre-post r" in r.es_method for r in rows):
            others += [("assumed pre-post r", f"{r:g}", {"prepost_r": r}) for r in sorted(values)]
        if any("DERIVED from" in r.es_method and "pre-post r" in r.es_method for r in rows):
            value = f"{s.prepost_r:g} assumed instead of the studies' own r"
            others.append(("pre-post r", value, {"implied_r": False}))
        min_k = analysis.question.analysis.min_k
        for choice, value, override in others:
            plan, other = plan_rows(
                base, q, o, method=s.method, test=s.test, level=s.level, **override
            )
            pooled = [r for r in other if r.status == "pooled"]
            if pooled and len(pooled) >= min_k:
                refit(choice, value, pooled, plan.method, plan.test)
            else:
                cells.append(_empty(choice, value, len(pooled), "not pooled"))
    if not models:
        return [c for c in cells if isinstance(c, Variant)]
    fits = fit_models(
        models, level=s.level, client=client if client is not None else kernel_client()
    ).to_dict("records")
    out: list[Variant] = []
    for cell in cells:
        if isinstance(cell, Variant):
            out.append(cell)
        else:
            choice, value, subset = cell
            out.append(_variant(analysis, main, choice, value, fits.pop(0), subset))
    return out


def grid_table(base: EvidenceBase, analysis: OutcomeAnalysis) -> pd.DataFrame:
    """:func:`grid` as a DataFrame (one row per variant), for the academic page."""
    import pandas as pd

    cells = grid(base, analysis)
    return pd.DataFrame([c.__dict__ for c in cells], columns=list(Variant.__dataclass_fields__))
