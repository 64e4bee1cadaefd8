"""Pooling rules of the analysis plan: which time points and designs one outcome pools,
and how few studies are shown side by side rather than pooled.

Each outcome of a question file may set (:class:`synthesis.records.QuestionOutcome`):

* ``timepoint_window``: the time points pooled, in weeks from ``baseline`` or from the
  ``end of intervention``. A record gives each result's time point as
  ``timepoint_weeks`` with the same ``timepoint_from``. Results outside the window, or
  counted from another reference point, are excluded with the reason. A result whose
  record gives no time point in weeks is excluded ("time point not reported") unless the
  window says ``not_reported: include``: it cannot be shown to lie in the window, and a
  time point is never guessed.
* ``designs``: the designs pooled for this outcome (among the question's ``designs``).
* ``min_k`` with ``min_k_reason``: the fewest studies pooled (else the plan's
  ``analysis.min_k``). With fewer, each study's estimate and interval are shown side by
  side, with no pooled number. The Cochrane Handbook defines a meta-analysis as the
  combination of two or more studies, so the default stays 2; it also warns that with
  very few studies the between-study variance is estimated with poor precision
  :cite:`higgins2023cochrane` (section 10.10.4), and a Knapp-Hartung interval on k - 1 = 1
  degree of freedom reaches 12.7 standard errors either side of the estimate at 95%
  :cite:`knapp2003improved`, so a plan pooling heterogeneous studies with ``test: knha``
  may ask for 3.

Excluded results stay in the outcome's rows with ``status`` "excluded" and their reason,
so the pages list them and :mod:`synthesis.counts` counts them as "also reporting, not
pooled".

Unit conversions into weeks use the Julian year of 365.25 days:
``WEEKS_PER_YEAR`` = 365.25 / 7 = 52.18 and ``WEEKS_PER_MONTH`` = 52.18 / 12 = 4.348; a
day is 1/7 week. A record that converts marks ``timepoint_weeks`` as derived with the
conversion (``{value: 260.89, derived: "5 years x 52.18 weeks per year"}``).

Examples
--------
>>> round(5 * WEEKS_PER_YEAR, 2), round(6 * WEEKS_PER_MONTH, 2)
(260.89, 26.09)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from synthesis.records import Outcome, Question, QuestionOutcome

#: Weeks in a (Julian) year of 365.25 days, and in a twelfth of it.
WEEKS_PER_YEAR = 365.25 / 7
WEEKS_PER_MONTH = WEEKS_PER_YEAR / 12


def allowed_designs(question: Question, spec: QuestionOutcome) -> tuple[str, ...]:
    """The designs pooled for one outcome: its own ``designs``, else the question's."""
    return tuple(spec.designs if spec.designs is not None else question.designs)


def min_k(question: Question, spec: QuestionOutcome) -> tuple[int, str]:
    """(fewest studies pooled, why) for one outcome: its own ``min_k``, else the plan's."""
    if spec.min_k is not None:
        return spec.min_k, spec.min_k_reason or ""
    return question.analysis.min_k, question.analysis.min_k_reason or ""


def design_exclusion(question: Question, spec: QuestionOutcome, design: str) -> str:
    """Why a result of this design is not pooled for the outcome ("" when it may be)."""
    if design not in question.designs:
        return f"design '{design}' is not among the question's designs"
    if design not in allowed_designs(question, spec):
        return (
            f"design '{design}' is not among the designs pooled for this outcome "
            f"({', '.join(allowed_designs(question, spec))})"
        )
    return ""


def _weeks(value: float) -> str:
    return f"{value:.4g} weeks"


def window_text(spec: QuestionOutcome) -> str:
    """'0 to 26 weeks after the end of intervention' ('' without a window)."""
    w = spec.timepoint_window
    if w is None:
        return ""
    start = "baseline" if w.timepoint_from == "baseline" else "the end of the intervention"
    if w.max_weeks is None:
        return f"{_weeks(w.min_weeks)} or more after {start}"
    unit, per = (
        ("years", WEEKS_PER_YEAR)
        if w.max_weeks >= 2 * WEEKS_PER_YEAR
        else (
            "months",
            WEEKS_PER_MONTH,
        )
    )
    about = f"about {w.min_weeks / per:.0f} to {w.max_weeks / per:.0f} {unit}"
    return f"{w.min_weeks:.4g} to {_weeks(w.max_weeks)} after {start} ({about})"


def commissioner_span(spec: QuestionOutcome) -> str:
    """The window in words, without weeks: 'from about 0 to 6 months after the end of the
    intervention' ('' without a window)."""
    w = spec.timepoint_window
    if w is None:
        return ""
    about = window_text(spec).rpartition(" (")[2].rstrip(")")
    start = "baseline" if w.timepoint_from == "baseline" else "the end of the intervention"
    if w.max_weeks is None:
        return f"from {_weeks(w.min_weeks)} after {start} on"
    return f"from {about} after {start}"


def window_exclusion(spec: QuestionOutcome, oc: Outcome) -> str:
    """Why a result's time point keeps it out of the pooled estimate ("" when inside).

    Examples
    --------
    >>> from synthesis.records import Outcome, QuestionOutcome
    >>> spec = QuestionOutcome.model_validate({"id": "x", "name": "x", "measure": "PLO",
    ...     "scale": "x", "direction": "higher is better", "timepoint_window": {
    ...     "timepoint_from": "baseline", "min_weeks": 104, "max_weeks": 261,
    ...     "reason": "two to five years"}})
    >>> oc = Outcome.model_validate({"question": "q", "outcome": "x", "name": "x",
    ...     "timepoint": "1 year", "timepoint_from": "baseline",
    ...     "timepoint_weeks": {"value": 52.18, "derived": "1 year x 52.18"},
    ...     "data": {"kind": "proportion", "events": 5, "n": 10}})
    >>> print(window_exclusion(spec, oc))  # doctest: +NORMALIZE_WHITESPACE
    time point outside the window: 1 year (52.18 weeks after baseline); the plan pools
    104 to 261 weeks after baseline (about 2 to 5 years) (two to five years)
    """
    w = spec.timepoint_window
    if w is None:
        return ""
    plan = f"the plan pools {window_text(spec)} ({w.reason})"
    if oc.timepoint_weeks is None:
        if w.not_reported == "include":
            return ""
        said = f" ('{oc.timepoint}')" if oc.timepoint else ""
        return f"time point not reported in weeks{said}; {plan}"
    weeks = oc.timepoint_weeks.value
    start = "baseline" if oc.timepoint_from == "baseline" else "the end of the intervention"
    when = f"{oc.timepoint + ' (' if oc.timepoint else '('}{_weeks(weeks)} after {start})"
    if oc.timepoint_from != w.timepoint_from:
        return f"time point counted from another reference point: {when}; {plan}"
    if weeks < w.min_weeks or (w.max_weeks is not None and weeks > w.max_weeks):
        return f"time point outside the window: {when}; {plan}"
    return ""


def exclusion(question: Question, spec: QuestionOutcome, design: str, oc: Outcome) -> str:
    """Why the plan keeps one result out of the outcome's pooled estimate ("" when it
    does not): its design (:func:`design_exclusion`), else its time point
    (:func:`window_exclusion`)."""
    return design_exclusion(question, spec, design) or window_exclusion(spec, oc)


def plan_text(question: Question, spec: QuestionOutcome) -> str:
    """The outcome's pooling rules in one sentence, for the pages' methods."""
    parts = []
    if spec.timepoint_window is not None:
        w = spec.timepoint_window
        unknown = "" if w.not_reported == "include" else "; results without a time point are not"
        parts.append(f"time points {window_text(spec)} are pooled{unknown} ({w.reason})")
    if spec.designs is not None:
        parts.append(f"designs pooled: {', '.join(spec.designs)}")
    k, why = min_k(question, spec)
    parts.append(
        f"at least {k} studies are pooled, fewer are shown side by side"
        + (f" ({why})" if why else "")
    )
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."
