"""Counting studies and participants per outcome: distinct studies and distinct people.

A summary-of-findings row's "participants (studies)" is a claim about how much evidence
there is, so it counts each group of people once [higgins2023cochrane]_:

* **one report per cohort**: records that share a cohort id (``cohort`` on the outcome or
  the study) describe the same people and count as one study. The report whose numbers
  are pooled is the one counted; when none is pooled, the report with the most known
  participants (the others describe the same people, or fewer of them).
* **one time point per study**: several results of one study (time points, subscales)
  count once, with the participants of the pooled result, else of its largest result.
* **arms counted as arms**: a single-group result (a proportion or a pre-post change)
  from a study with a comparison group counts the people of that arm. When the record
  gives only the whole study's n, the arm's participants are counted as not known rather
  than counting the comparison group too.
* **pooled apart from the rest**: participants and studies whose numbers enter the
  pooled estimate (or the single study shown) are counted apart from those "also
  reporting, not pooled" (narrative, excluded or not-poolable results). Results awaited
  (protocols) are not counted as reporting.

:func:`count_rows` is the one function behind every count a reader sees: key findings,
the summary-of-findings table, the evidence map and forest-plot totals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from synthesis.extract import EffectRow

#: Measures of a single group: a comparative study contributes one arm to them.
SINGLE_GROUP_MEASURES = ("PLO", "PR", "PFT", "SMCC", "SMCR")


@dataclass(frozen=True)
class CountedStudy:
    """One distinct study (cohort) counted for one outcome.

    Attributes
    ----------
    key
        The cohort id, or the record id when the record names no cohort.
    study, label
        The record (report) whose participants are counted.
    n
        Participants counted (NaN when not known for this result).
    pooled
        True when this study's numbers enter the pooled estimate.
    reports
        Every record of this study (cohort) reporting the outcome.
    why
        Which report and result were counted, and why.
    """

    key: str
    study: str
    label: str
    n: float
    pooled: bool
    reports: tuple[str, ...]
    why: str


@dataclass(frozen=True)
class OutcomeCount:
    """Distinct studies and participants for one outcome, pooled apart from the rest."""

    pooled: tuple[CountedStudy, ...]
    other: tuple[CountedStudy, ...]

    @property
    def pooled_studies(self) -> int:
        return len(self.pooled)

    @property
    def pooled_participants(self) -> int:
        return _total(self.pooled)

    @property
    def other_studies(self) -> int:
        return len(self.other)

    @property
    def other_participants(self) -> int:
        return _total(self.other)

    @property
    def studies(self) -> int:
        """All distinct studies reporting the outcome (pooled or not)."""
        return len(self.pooled) + len(self.other)

    def unknown(self, pooled: bool) -> int:
        """How many counted studies have no known participant number."""
        return sum(not math.isfinite(c.n) for c in (self.pooled if pooled else self.other))

    def pooled_text(self) -> str:
        """'110 (3)': participants (studies) behind the pooled estimate; '—' when none."""
        return _text(self.pooled) if self.pooled else "—"

    def other_text(self) -> str:
        """'228 (4)' for the studies also reporting, not pooled; '—' when none."""
        return _text(self.other) if self.other else "—"

    def text(self) -> str:
        """The SoF cell: pooled participants (studies), then those also reporting."""
        if not self.pooled and not self.other:
            return "—"
        pooled = _text(self.pooled) if self.pooled else "none pooled"
        if not self.other:
            return pooled
        return f"{pooled}; also reporting, not pooled: {_text(self.other)}"


def _total(items: Iterable[CountedStudy]) -> int:
    return int(sum(c.n for c in items if math.isfinite(c.n)))


def _text(items: tuple[CountedStudy, ...]) -> str:
    unknown = sum(not math.isfinite(c.n) for c in items)
    k = len(items)
    if unknown == k:
        return f"participants not known ({k})"
    text = f"{_total(items)} ({k})"
    if unknown:
        text = f"{_total(items)} ({k}; participants not known for {unknown})"
    return text


def counted_n(row: EffectRow, measure: str) -> float:
    """Participants behind one result: its own n, or NaN for an arm whose n is not given.

    A single-group measure (:data:`SINGLE_GROUP_MEASURES`) from a comparative study whose
    record gives only the whole study's n would count the comparison group too, so the
    arm's participants are not known.
    """
    if measure in SINGLE_GROUP_MEASURES and row.n_basis == "study" and row.comparative:
        return math.nan
    return row.n


def count_rows(rows: Iterable[EffectRow], measure: str) -> OutcomeCount:
    """Count distinct studies and participants of one outcome's rows (module docstring).

    Parameters
    ----------
    rows : iterable of EffectRow
        Every row of one outcome (:func:`synthesis.extract.effect_rows`).
    measure : str
        The outcome's measure (decides whether a comparative study counts one arm).

    Returns
    -------
    OutcomeCount
        Pooled studies (one per pooled row: validation keeps a cohort from being pooled
        twice) and the studies also reporting, each with the report counted and why.

    Examples
    --------
    >>> from synthesis.counts import count_rows
    >>> count_rows([], "SMD").text()
    '—'
    """
    rows = [r for r in rows if r.status != "awaiting results"]
    groups: dict[str, list[EffectRow]] = {}
    for r in rows:
        groups.setdefault(r.cohort or r.study, []).append(r)
    pooled: list[CountedStudy] = []
    other: list[CountedStudy] = []
    for key, members in groups.items():
        reports = tuple(dict.fromkeys(r.study for r in members))
        chosen = [r for r in members if r.status == "pooled"]
        if chosen:
            row, basis = chosen[0], "its pooled result"
        else:
            known = [r for r in members if math.isfinite(counted_n(r, measure))]
            if len(members) == 1:
                row, basis = members[0], "its only result, not pooled"
            elif known:
                row = max(known, key=lambda r: (counted_n(r, measure), r.label))
                basis = "its result with the most known participants"
            else:
                row, basis = members[0], "no result gives the participants of this group"
        n = counted_n(row, measure)
        why = f"{row.label}: {basis}"
        if len(reports) > 1:
            why += f"; one report of cohort {key!r} counted ({len(reports)} report it)"
        elif len(members) > 1:
            why += f"; one time point or result of {len(members)} counted"
        if measure in SINGLE_GROUP_MEASURES and not math.isfinite(n) and math.isfinite(row.n):
            why += f"; the record's n ({row.n:g}) includes the comparison group"
        item = CountedStudy(key, row.study, row.label, n, bool(chosen), reports, why)
        (pooled if chosen else other).append(item)
    return OutcomeCount(tuple(pooled), tuple(other))
