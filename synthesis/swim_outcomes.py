"""Synthesis without meta-analysis per question outcome: one vote per distinct study.

:func:`outcome_swim` turns the effect rows of one analysed outcome
(:class:`synthesis.analysis.OutcomeAnalysis`) into the summaries of
:mod:`synthesis.stats.swim` [campbell2020swim]_:

* **one vote per study**: results that share a cohort (the same people) or come from one
  record (several time points) count once. The result counted is, in order, one with a
  known direction, the pooled one, one not excluded, one with a p value (for the combined
  tests and the albatross plot), the one with the most participants.
  Results awaited (protocols) and results excluded because their numbers contradict
  each other (integrity errors) do not vote.
* the vote count and sign test are shown when at least two studies report a direction;
* combined p values use the studies whose result has a p value (reported, or computed
  from the estimate and its variance); a bounded p makes them bounds;
* the median, IQR and range of the estimates are given when there are estimates but no
  pooled result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

# synthesis.stats.swim (numpy, scipy) is imported inside the function that computes.
if TYPE_CHECKING:
    from synthesis.analysis import OutcomeAnalysis
    from synthesis.extract import EffectRow
    from synthesis.stats.swim import CombinedP, EstimateSummary, VoteCount

#: Fewest studies with a direction for a vote count and sign test to be shown.
MIN_VOTES = 2


@dataclass(frozen=True)
class OutcomeSwim:
    """The SWiM summaries of one outcome.

    Attributes
    ----------
    analysis
        The analysed outcome these summaries belong to.
    voters
        One row per distinct study with a known direction (the result counted).
    unknown
        One row per distinct study whose direction is not known (mixed, unclear, or a
        single-group result that compares with nothing).
    votes
        The vote count and sign test (None when fewer than :data:`MIN_VOTES` studies
        report a direction).
    combined
        Combined p values of the voters with a p value (None when fewer than two).
    estimates
        Median, IQR and range of the study estimates when nothing was pooled.
    """

    analysis: OutcomeAnalysis
    voters: tuple[EffectRow, ...]
    unknown: tuple[EffectRow, ...]
    votes: VoteCount | None
    combined: CombinedP | None
    estimates: EstimateSummary | None

    @property
    def with_p(self) -> tuple[EffectRow, ...]:
        """The voters whose result has a p value (the ones combined)."""
        return tuple(r for r in self.voters if math.isfinite(r.p))

    @property
    def bounded(self) -> tuple[EffectRow, ...]:
        """The voters whose p value is only a bound."""
        return tuple(r for r in self.with_p if r.p_bound != "=")


def _priority(row: EffectRow) -> tuple:
    return (
        row.direction is None,
        row.status != "pooled",
        row.status == "excluded",
        not math.isfinite(row.p),
        -(row.n if math.isfinite(row.n) else -1),
        row.label,
        row.study,
    )


def _votes_from(rows: tuple[EffectRow, ...]) -> list[EffectRow]:
    """One row per distinct study (cohort, else record), chosen by :func:`_priority`."""
    groups: dict[str, list[EffectRow]] = {}
    for r in rows:
        if r.status == "awaiting results" or r.reason.startswith("integrity:"):
            continue
        groups.setdefault(r.key, []).append(r)
    chosen = [min(members, key=_priority) for members in groups.values()]
    return sorted(chosen, key=lambda r: (r.label, r.study))


def outcome_swim(analysis: OutcomeAnalysis) -> OutcomeSwim:
    """Vote count, sign test, combined p values and an estimate summary for one outcome."""
    from synthesis.stats.swim import combine_p, summarise_estimates, vote_count

    chosen = _votes_from(analysis.rows)
    voters = tuple(r for r in chosen if r.direction is not None)
    unknown = tuple(r for r in chosen if r.direction is None)
    level = analysis.settings.level
    directions = [r.direction for r in voters if r.direction is not None]  # all of them
    votes = vote_count(directions, level=level) if len(voters) >= 2 else None
    with_p = [r for r in voters if math.isfinite(r.p)]
    combined = None
    if len(with_p) >= 2:
        # a one-sided p reported in the direction found is doubled to a two-sided one
        p = [min(1.0, 2 * r.p) if r.p_sided == "one-sided" else r.p for r in with_p]
        n = [r.n for r in with_p]
        combined = combine_p(
            p,
            [r.direction for r in with_p if r.direction is not None],  # all of them
            n if all(math.isfinite(x) and x > 0 for x in n) else None,
            p_bound=[r.p_bound for r in with_p],
        )
    estimates = None
    if analysis.fit is None:
        table = analysis.study_table()
        if not table.empty:
            keys = {r.study for r in chosen}
            estimates = summarise_estimates(table[table.study.isin(keys)]["estimate"].tolist())
    return OutcomeSwim(analysis, voters, unknown, votes, combined, estimates)


def question_swim(analyses: list[OutcomeAnalysis]) -> list[OutcomeSwim]:
    """:func:`outcome_swim` for every outcome of a question, in the question's order."""
    return [outcome_swim(a) for a in analyses]
