"""Plain-language wording of results for commissioners (no statistical jargon).

Magnitude words follow Cohen's conventions (r: 0.1 small, 0.3 moderate, 0.5 large;
standardised differences: 0.2 small, 0.5 moderate, 0.8 large) [borenstein2009introduction]_.
Every sentence states the numbers it rests on, with their interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, overload

from synthesis.pooling_rules import min_k
from synthesis.swim_outcomes import outcome_swim
from synthesis.vocabulary import NULL_VALUES, PROPORTION_MEASURES

if TYPE_CHECKING:
    from synthesis.analysis import OutcomeAnalysis
    from synthesis.records import Question, QuestionOutcome
    from synthesis.robustness import Variant


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


#: Conventional boundaries used when a question file sets no thresholds (flagged as such).
DEFAULT_THRESHOLDS: dict[str, tuple[float, float, float]] = {
    "ZCOR": (0.1, 0.3, 0.5),
    "COR": (0.1, 0.3, 0.5),
    "SMD": (0.2, 0.5, 0.8),
    "SMCC": (0.2, 0.5, 0.8),
    "SMCR": (0.2, 0.5, 0.8),
}
DEFAULT_BANDS = (0.25, 0.5, 0.75)
RATIO_MEASURES = ("OR", "RR")

#: Verdict categories of an interval (comparisons, then proportions).
CATEGORIES = (
    "benefit",
    "harm",
    "no important difference",
    "benefit or no important difference",
    "harm or no important difference",
    "uninformative",
    "one band",
    "several bands",
    "no thresholds",
)


def long_date(d: date) -> str:
    """A date as readers write it: "1 December 2026".

    >>> long_date(date(2026, 12, 1))
    '1 December 2026'
    """
    return f"{d.day} {d:%B %Y}"


@dataclass(frozen=True)
class Cuts:
    """Decision thresholds in effect for one outcome, and where they come from."""

    small: float | None
    moderate: float | None
    large: float | None
    bands: tuple[float, ...]
    source: str
    assumed: bool


def cuts_for(outcome: QuestionOutcome) -> Cuts:
    """The outcome's thresholds, or conventional ones flagged as not set in the question."""
    t = outcome.thresholds
    if t is not None:
        return Cuts(t.small, t.moderate, t.large, tuple(t.bands or ()), t.source, t.assumed)
    why = "not set in the question file: conventional values used"
    if outcome.measure in PROPORTION_MEASURES:
        return Cuts(None, None, None, DEFAULT_BANDS, why, True)
    if outcome.measure in DEFAULT_THRESHOLDS:
        return Cuts(*DEFAULT_THRESHOLDS[outcome.measure], (), why, True)
    return Cuts(None, None, None, (), "not set in the question file", True)


@dataclass(frozen=True)
class Verdict:
    """Where a whole interval lies against the outcome's thresholds [santesso2020grade]_.

    ``category`` is one of :data:`CATEGORIES`; ``low``/``high`` describe the two ends of
    the interval ("a large reduction", "little or no difference", "below 25%").
    """

    category: str
    low: str
    high: str

    @property
    def informative(self) -> bool:
        return self.category not in ("uninformative", "no thresholds")


def _size(distance: float, cuts: Cuts, measure: str) -> str:
    """'little or no', 'a small', 'a moderate', 'a large' (or 'an important') effect for a
    distance from no effect >= 0 (log scale for ratios)."""
    small, moderate, large = (_cut(c, measure) for c in (cuts.small, cuts.moderate, cuts.large))
    if small is None or distance < small:
        return "little or no"
    if moderate is None:
        return "a large" if large is not None and distance >= large else "an important"
    if distance < moderate:
        return "a small"
    if large is None or distance < large:
        return "a moderate"
    return "a large"


def _distance(x: float, measure: str) -> float:
    """Signed distance from no effect (log scale for ratios)."""
    if measure in RATIO_MEASURES:
        return math.log(x)
    return x - NULL_VALUES.get(measure, 0.0)


@overload
def _cut(value: float, measure: str) -> float: ...
@overload
def _cut(value: None, measure: str) -> None: ...
@overload
def _cut(value: float | None, measure: str) -> float | None: ...
def _cut(value: float | None, measure: str) -> float | None:
    if value is None:
        return None
    return math.log(value) if measure in RATIO_MEASURES else value


def _end(x: float, measure: str, cuts: Cuts) -> str:
    """One end of an interval in words: 'a large reduction', 'little or no difference'."""
    d = _distance(x, measure)
    size = _size(abs(d), cuts, measure)
    if size == "little or no":
        return (
            "little or no difference"
            if measure not in ("ZCOR", "COR")
            else "little or no association"
        )
    if measure in ("ZCOR", "COR"):
        return f"{size} {'positive' if d > 0 else 'negative'} association"
    return f"{size} {'increase' if d > 0 else 'reduction'}"


def _band(x: float, bands: tuple[float, ...]) -> int:
    return sum(x >= b for b in bands)


def _band_words(i: int, bands: tuple[float, ...]) -> str:
    if i == 0:
        return f"below {100 * bands[0]:g}%"
    if i == len(bands):
        return f"above {100 * bands[-1]:g}%"
    return f"{100 * bands[i - 1]:g}–{100 * bands[i]:g}%"


def verdict(lo: float, hi: float, outcome: QuestionOutcome) -> Verdict:
    """Classify the whole interval ``[lo, hi]`` (natural scale) against the thresholds.

    Comparisons: the interval, on the benefit scale (``direction``), lies wholly above the
    smallest important benefit ("benefit"), wholly below the smallest important harm
    ("harm"), wholly within ±small ("no important difference"), from no important
    difference to one side, or across both. An interval running from a large benefit to a
    large harm spans (nearly) the whole scale and is "uninformative". Proportions: the
    interval lies in one band, spans several, or covers every band (or 90 points of the
    0-100% scale): "uninformative" [santesso2020grade]_.

    Examples
    --------
    >>> from synthesis.records import QuestionOutcome
    >>> o = QuestionOutcome(id="x", name="X", measure="SMD", scale="g",
    ...                     direction="lower is better")
    >>> verdict(-0.9, -0.3, o).category
    'benefit'
    >>> verdict(-2.3, 1.46, o).category
    'uninformative'
    """
    m = outcome.measure
    cuts = cuts_for(outcome)
    lo, hi = min(lo, hi), max(lo, hi)
    if m in PROPORTION_MEASURES:
        bands = cuts.bands
        a, b = _band(lo, bands), _band(hi, bands)
        low, high = _band_words(a, bands), _band_words(b, bands)
        if (a == 0 and b == len(bands)) or hi - lo >= 0.9 - 1e-9:
            return Verdict("uninformative", low, high)
        return Verdict("one band" if a == b else "several bands", low, high)
    if cuts.small is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return Verdict("no thresholds", fmt_value(lo, m), fmt_value(hi, m))
    sign = -1.0 if outcome.direction == "lower is better" else 1.0
    b_lo, b_hi = sorted((sign * _distance(lo, m), sign * _distance(hi, m)))
    small, large = _cut(cuts.small, m), _cut(cuts.large, m)
    low, high = _end(lo, m, cuts), _end(hi, m, cuts)
    if large is not None and b_lo <= -large and b_hi >= large:
        category = "uninformative"
    elif b_lo >= small:
        category = "benefit"
    elif b_hi <= -small:
        category = "harm"
    elif b_lo > -small and b_hi < small:
        category = "no important difference"
    elif b_lo > -small:
        category = "benefit or no important difference"
    elif b_hi < small:
        category = "harm or no important difference"
    else:
        category = "benefit or harm"
    return Verdict(category, low, high)


#: How certainty hedges a statement [santesso2020grade]_: (prefix, verb form).
HEDGES = {
    "high": ("", "third"),
    "moderate": ("probably ", "third"),
    "low": ("may ", "base"),
    "very low": ("may ", "base"),
}


def subject(question: Question) -> str:
    """The intervention or exposure in a few words (from the PICO, up to the first comma)."""
    text = question.pico.intervention.split(",")[0].strip()
    if text.count("(") > text.count(")"):
        text = text[: text.rindex("(")].strip()
    return text


def _phrase(
    category: str, name: str, outcome: QuestionOutcome, correlational: bool
) -> tuple[str, str]:
    """(base form, third-person form) of what the intervention does, by category."""
    higher = outcome.direction != "lower is better"
    if correlational:
        good = (f"go with {'higher' if higher else 'lower'} {name}",
                f"goes with {'higher' if higher else 'lower'} {name}")  # fmt: skip
        bad = (f"go with {'lower' if higher else 'higher'} {name}",
               f"goes with {'lower' if higher else 'higher'} {name}")  # fmt: skip
        none = ("have little or no association", "has little or no association")
        either = (f"go with higher or lower {name}", f"goes with higher or lower {name}")
        none_with = (f"{none[0]} with {name}", f"{none[1]} with {name}")
    else:
        up, down = ("increase", "increases"), ("reduce", "reduces")
        g, b = (up, down) if higher else (down, up)
        good, bad = (f"{g[0]} {name}", f"{g[1]} {name}"), (f"{b[0]} {name}", f"{b[1]} {name}")
        none = ("make little or no difference", "makes little or no difference")
        either = (f"increase or reduce {name}", f"increases or reduces {name}")
        none_with = (f"{none[0]} to {name}", f"{none[1]} to {name}")
    if category == "benefit":
        return good
    if category == "harm":
        return bad
    if category == "no important difference":
        return none_with
    if category == "benefit or no important difference":
        return f"{good[0]} or {none[0]}", f"{good[1]} or {none[1]}"
    if category == "harm or no important difference":
        return f"{bad[0]} or {none[0]}", f"{bad[1]} or {none[1]}"
    return either


def informative_statement(
    lo: float,
    hi: float,
    analysis: OutcomeAnalysis,
    certainty: str | None,
) -> str:
    """GRADE informative statement from the whole interval and the certainty.

    The first sentence says what the intervention does, hedged by certainty (high: no
    hedge; moderate: "probably"; low: "may"; very low: "the evidence is very
    uncertain") [santesso2020grade]_. The second says where the whole interval lies
    against the outcome's thresholds. An uninformative interval is said to be so and no
    number is given.
    """
    outcome, m = analysis.outcome, analysis.measure
    name = _name(analysis)
    level = f"{analysis.settings.level:g}%"
    v = verdict(lo, hi, outcome)
    if m in PROPORTION_MEASURES:
        what = f"the proportion “{name}”"
        if v.category == "uninformative":
            return (
                f"The evidence on {what} is uninformative: the {level} interval runs from "
                f"{fmt_value(lo, m)} to {fmt_value(hi, m)}, (nearly) the whole scale, so no "
                "single proportion can be given."
            )
        where = f"between {fmt_value(lo, m)} and {fmt_value(hi, m)}"
        band = (
            f"within the band {v.low}"
            if v.category == "one band"
            else f"spanning the bands from {v.low} to {v.high}"
        )
        if certainty == "very low":
            return (
                f"The evidence is very uncertain about {what}: the {level} interval lies "
                f"{where} ({band})."
            )
        hedge = {"high": "lies", "moderate": "probably lies", "low": "may lie"}.get(
            certainty or "", "lies"
        )
        return f"{what[0].upper() + what[1:]} {hedge} {where} ({band})."
    if v.category == "no thresholds":
        return (
            f"The {level} interval for {name} runs from {fmt_value(lo, m)} to "
            f"{fmt_value(hi, m)}; no decision thresholds are set for this outcome."
        )
    span = f"The {level} interval runs from {v.low} to {v.high}"
    if v.category == "uninformative":
        anything = ""
        if outcome.direction != "not applicable":
            anything = " (it could be anything from a large benefit to a large harm)"
        return (
            f"The evidence on {name} is uninformative: the {level} interval runs from "
            f"{v.low} to {v.high}{anything}, so no single number can be given."
        )
    correlational = m in ("ZCOR", "COR")
    who = subject(analysis.question)
    base, third = _phrase(v.category, name, outcome, correlational)
    if certainty == "very low":
        about = "the association between" if correlational else "the effect of"
        link = "and" if correlational else "on"
        return (
            f"The evidence is very uncertain about {about} {who[0].lower() + who[1:]} {link} "
            f"{name}. {span}."
        )
    prefix, form = HEDGES.get(certainty or "high", ("", "third"))
    verb = third if form == "third" else base
    cuts = cuts_for(outcome)
    after = ""
    if v.category == "no important difference":
        after = f", all within the smallest important difference ({cuts.small:g})"
    return f"{who} {prefix}{verb}. {span}{after}."


def _name(analysis: OutcomeAnalysis) -> str:
    raw = analysis.outcome.name.split(",")[0]
    return raw[0].lower() + raw[1:]


def statement(analysis: OutcomeAnalysis, certainty: str) -> str:
    """The summary-of-findings sentence for one outcome at its certainty level.

    Built from the whole interval against the outcome's thresholds
    (:func:`informative_statement`) [santesso2020grade]_.
    """
    name = _name(analysis)
    if certainty == "no evidence":
        return f"No evidence yet on {name}."
    if analysis.side_by_side:
        return side_by_side_statement(analysis)
    ends = interval(analysis)
    if ends is None:
        table = analysis.study_table()
        said = dict.fromkeys(table[table.status.isin(["narrative", "not poolable"])].label)
        return (
            f"No effect size can be calculated for {name}: the studies ("
            f"{', '.join(said)}) give directions or numbers that cannot be combined, so "
            "the effect is uncertain."
        )
    return informative_statement(ends[1], ends[2], analysis, certainty)


def side_by_side_text(analysis: OutcomeAnalysis) -> str:
    """Each study's own estimate and interval, for an outcome the plan does not pool
    (:attr:`synthesis.analysis.OutcomeAnalysis.side_by_side`): 'A 2013: −0.15 (95% CI
    −0.55 to 0.25); B 2025: uninformative'. No pooled number."""
    m = analysis.measure
    level = f"{analysis.settings.level:g}%"
    table = analysis.study_table()
    return "; ".join(
        f"{r.label}: {fmt_value(r.estimate, m)} ({level} CI {fmt_interval(r.ci_lb, r.ci_ub, m)})"
        if verdict(r.ci_lb, r.ci_ub, analysis.outcome).informative
        else f"{r.label}: uninformative"
        for r in table[table.status == "pooled"].itertuples()
    )


def side_by_side_statement(analysis: OutcomeAnalysis) -> str:
    """The summary-of-findings sentence of an outcome shown side by side: why there is no
    pooled number, and where to find each study's result."""
    k, _ = min_k(analysis.question, analysis.outcome)
    return (
        f"{analysis.k} studies report {_name(analysis)}; the analysis plan combines at "
        f"least {k}, so there is no combined result and each study's result is shown on "
        "its own."
    )


def interval(analysis: OutcomeAnalysis) -> tuple[float, float, float] | None:
    """(estimate, lower, upper) on the natural scale: pooled, else the single study's."""
    nat = analysis.natural()
    if nat is not None:
        return nat.estimate, nat.ci_lb, nat.ci_ub
    if len(analysis.pooled_rows) == 1:
        table = analysis.study_table()
        row = table[table.status == "pooled"].iloc[0]
        return float(row.estimate), float(row.ci_lb), float(row.ci_ub)
    return None


def effect_text(analysis: OutcomeAnalysis) -> str:
    """The SoF 'effect' cell: estimate and interval; no headline number when uninformative."""
    m = analysis.measure
    if analysis.side_by_side:
        return f"not pooled, side by side: {side_by_side_text(analysis)}"
    ends = interval(analysis)
    if ends is None:
        return votes_effect_text(analysis)
    est, lo, hi = ends
    ci = fmt_interval(lo, hi, m)
    if not verdict(lo, hi, analysis.outcome).informative:
        return f"uninformative (interval {ci}): no single number"
    if analysis.fit is None:
        return f"one study: {fmt_value(est, m)} ({ci})"
    text = f"{analysis.natural_name} {fmt_value(est, m)} ({ci})"
    if m in PROPORTION_MEASURES:
        text += f"; about {100 * est:.0f} per 100 people"
    return text


# ----------------------------------------------------------------------------- SWiM


def fmt_p(p: float) -> str:
    """A p value for readers: two decimals, three below 0.01, 'less than 0.001' below that."""
    if not math.isfinite(p):
        return "not available"
    if p >= 0.01:
        return f"{p:.2f}"
    if p >= 0.001:
        return f"{p:.3f}"
    return "less than 0.001"


def _benefit(analysis: OutcomeAnalysis) -> tuple[str, str]:
    """How a favourable and an unfavourable result are called for this outcome."""
    if analysis.measure in ("ZCOR", "COR"):
        return "found a favourable association", "the opposite"
    return "found benefit", "harm"


def votes_sentence(analysis: OutcomeAnalysis) -> str:
    """'k of n studies found benefit; this could be chance with probability p.' ('' when
    fewer than two studies report a direction) [campbell2020swim]_.

    The probability is the two-sided sign test's: how often a split at least this uneven
    would arise if the intervention made no difference. Studies of no difference are
    counted in n but, as ties, not in the test.
    """
    v = outcome_swim(analysis).votes
    if v is None:
        return ""
    good, bad = _benefit(analysis)
    text = f"{v.positive} of {v.k} studies {good}"
    others = []
    if v.negative:
        others.append(f"{v.negative} {bad}")
    if v.null:
        others.append(f"{v.null} no difference")
    if others:
        text += f" ({', '.join(others)})"
    if v.positive + v.negative == 0:
        return text + "; with no study pointing either way, chance cannot be judged."
    return (
        f"{text}; this could be chance with probability {fmt_p(v.sign_test_p)} (how often a "
        "split at least this uneven would arise if it made no difference). These studies do "
        "not tell how large any effect is."
    )


def votes_effect_text(analysis: OutcomeAnalysis) -> str:
    """The SoF 'effect' cell of an outcome without an estimate: its vote count and sign
    test when at least two studies report a direction, else 'no numbers'."""
    v = outcome_swim(analysis).votes
    if v is None:
        return "no numbers"
    good, _ = _benefit(analysis)
    test = f"; sign test p = {fmt_p(v.sign_test_p)}" if v.positive + v.negative else ""
    return f"direction only: {v.positive} of {v.k} studies {good}{test}; no effect size"


#: What each verdict category means, for robustness sentences.
CATEGORY_WORDS = {
    "benefit": "a benefit (the whole interval favourable)",
    "harm": "a harm (the whole interval unfavourable)",
    "no important difference": "little or no difference",
    "benefit or no important difference": "a benefit or little or no difference",
    "harm or no important difference": "a harm or little or no difference",
    "benefit or harm": "anything from a benefit to a harm",
    "uninformative": "uninformative",
    "one band": "an interval within one band",
    "several bands": "an interval spanning several bands",
    "no thresholds": "an interval without thresholds",
    "not pooled": "no pooled estimate",
    "none left": "no studies left to pool",
}


def robustness_sentence(analysis: OutcomeAnalysis, cells: list[Variant]) -> str:
    """The commissioner's sentence: does the conclusion hang on an analytic choice?

    ``cells`` is :func:`synthesis.robustness.grid`; "" when nothing is pooled. Names each
    choice that changes the verdict category and which way.
    """
    if not cells:
        return ""
    main = cells[0]
    changed = [c for c in cells[1:] if c.changed]
    name = _name(analysis)
    if not changed:
        return (
            f"This reading of {name} holds under every analytic choice checked ({len(cells) - 1} "
            "alternatives: tests, τ² estimators, leaving out each study, risk of bias"
            + (", pre-post correlations" if analysis.measure in ("SMCC", "SMCR") else "")
            + ")."
        )
    by_choice: dict[str, list[str]] = {}
    for c in changed:
        by_choice.setdefault(c.choice, []).append(f"{c.value}: {CATEGORY_WORDS[c.category]}")
    parts = [f"{choice} ({'; '.join(items)})" for choice, items in by_choice.items()]
    return (
        f"The conclusion on {name} depends on analytic choices: the main analysis reads as "
        f"{CATEGORY_WORDS[main.category]}, but it changes with the " + ", the ".join(parts) + "."
    )
