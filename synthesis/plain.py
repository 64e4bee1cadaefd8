"""Plain-language wording of results for commissioners (no statistical jargon).

Magnitude words follow Cohen's conventions (r: 0.1 small, 0.3 moderate, 0.5 large;
standardised differences: 0.2 small, 0.5 moderate, 0.8 large) [borenstein2009introduction]_.
Every sentence states the numbers it rests on, with their interval.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from synthesis.vocabulary import NULL_VALUES, PROPORTION_MEASURES

if TYPE_CHECKING:
    from synthesis.analysis import OutcomeAnalysis
    from synthesis.validate import EvidenceBase


def fmt_value(x: float, measure: str) -> str:
    """A number on its natural scale as a reader sees it (percentages for proportions)."""
    if x is None or not math.isfinite(x):
        return "not available"
    if measure in PROPORTION_MEASURES:
        return f"{100 * x:.0f}%"
    if measure in ("OR", "RR"):
        return f"{x:.2f}"
    return f"{x:.2f}"


def fmt_interval(lo: float, hi: float, measure: str, *, between: bool = False) -> str:
    """'0.10 to 0.30' (or 'between 0.10 and 0.30')."""
    if between:
        return f"between {fmt_value(lo, measure)} and {fmt_value(hi, measure)}"
    return f"{fmt_value(lo, measure)} to {fmt_value(hi, measure)}"


def magnitude(value: float, measure: str) -> str:
    """'small', 'moderate', ... for correlations and standardised differences; '' otherwise."""
    a = abs(value)
    if measure in ("ZCOR", "COR"):
        cuts = (0.1, 0.3, 0.5)
    elif measure in ("SMD", "SMCC", "SMCR"):
        cuts = (0.2, 0.5, 0.8)
    else:
        return ""
    if a < cuts[0]:
        return "negligible"
    if a < cuts[1]:
        return "small"
    if a < cuts[2]:
        return "moderate"
    return "large"


def _direction_words(analysis: OutcomeAnalysis, value: float) -> str:
    measure = analysis.measure
    null = NULL_VALUES.get(measure)
    if null is None or value == null:
        return ""
    better = analysis.outcome.direction
    up = value > null
    if better == "higher is better":
        good = up
    elif better == "lower is better":
        good = not up
    else:
        return "higher" if up else "lower"
    return "in the favourable direction" if good else "in the unfavourable direction"


def describe(analysis: OutcomeAnalysis, base: EvidenceBase | None = None) -> str:
    """One or two plain sentences on one outcome: what was found and how sure we are."""
    m = analysis.measure
    level = f"{analysis.settings.level:g}%"
    name = analysis.outcome.name[0].lower() + analysis.outcome.name[1:]
    nat = analysis.natural()
    if nat is not None:
        k, n = analysis.k, analysis.participants
        who = f"{k} studies" + (f" ({n} participants)" if n else "")
        text = (
            f"Across {who}, the combined {analysis.natural_name} for {name} was "
            f"{fmt_value(nat.estimate, m)} ({level} confidence interval "
            f"{fmt_interval(nat.ci_lb, nat.ci_ub, m)})."
        )
        null = NULL_VALUES.get(m)
        if null is not None:
            size = magnitude(nat.estimate, m)
            direction = _direction_words(analysis, nat.estimate)
            if nat.ci_lb <= null <= nat.ci_ub:
                text += (
                    f" The interval includes no effect, so the data are compatible with "
                    f"no effect as well as with {size + ' ' if size else ''}effects "
                    f"{direction or 'in either direction'}."
                )
            else:
                text += (f" This is a {size + ' ' if size else ''}effect {direction}.").replace(
                    "  ", " "
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
        n = f", {row.n:.0f} participants" if math.isfinite(row.n) else ""
        return (
            f"Only one study ({row.label}{n}) gives usable numbers for {name}: "
            f"{fmt_value(row.estimate, m)} ({level} CI "
            f"{fmt_interval(row.ci_lb, row.ci_ub, m)}). One study cannot be pooled, "
            "and its result may not hold elsewhere."
        )
    narrative = [r for r in analysis.rows if r.status == "narrative"]
    awaiting = [r for r in analysis.rows if r.status == "awaiting results"]
    parts = [f"No pooled estimate for {name}: {analysis.reason}."]
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


def _narrative_data(base: EvidenceBase, study: str, analysis: OutcomeAnalysis):  # type: ignore[no-untyped-def]
    from synthesis.records import Narrative

    for oc in base.studies[study].outcomes:
        if (oc.question, oc.outcome) == (analysis.question.id, analysis.outcome.id) and isinstance(
            oc.data, Narrative
        ):
            return oc.data
    return None
