"""PRISMA 2020 flow counts [page2021prisma]_, computed from the records.

Identification comes from each question's ``search`` section (the seed article's reference
list, then each search and the records it found) and from ``evidence/excluded.yaml`` (the
candidates found and not included). A report named by two sources is counted once after
"duplicates removed". The stages then follow PRISMA 2020: screened, excluded at screening,
sought for retrieval, not retrieved, assessed for eligibility, excluded with reasons, and
included. Beyond PRISMA, the included reports are split into those with an outcome of the
question, those with numbers that give an effect size, and those in a pooled estimate.

Counts are of reports (one record is one report); ``studies`` counts distinct studies,
reports of one cohort counting once.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from synthesis.analysis import analyse_question
from synthesis.plain import long_date
from synthesis.screening import listed, serving

if TYPE_CHECKING:
    from synthesis.evidence import EvidenceBase


@dataclass(frozen=True)
class Flow:
    """PRISMA 2020 counts for one question (or, with ``question=None``, all questions)."""

    question: str | None
    identified: dict[str, int]
    duplicates: int
    screened: int
    excluded_screening: dict[str, int]
    not_retrieved: dict[str, int]
    assessed: int
    excluded_eligibility: dict[str, int]
    included: int
    studies: int
    with_outcome: int
    usable: int
    pooled: int
    unattributed: tuple[str, ...] = field(default_factory=tuple)

    @property
    def identified_total(self) -> int:
        return sum(self.identified.values())

    @property
    def sought(self) -> int:
        return self.screened - sum(self.excluded_screening.values())

    def text(self) -> str:
        """The flow in words: the text alternative of the diagram."""

        def reasons(counts: dict[str, int]) -> str:
            return "; ".join(f"{reason} ({n})" for reason, n in counts.items()) or "none"

        sources = ", ".join(f"{name} {n}" for name, n in self.identified.items())
        return (
            f"Identified: {self.identified_total} reports ({sources}). "
            f"Duplicates removed: {self.duplicates}. Screened: {self.screened}; excluded at "
            f"screening: {sum(self.excluded_screening.values())} "
            f"({reasons(self.excluded_screening)}). Sought for retrieval: {self.sought}; "
            f"not retrieved: {sum(self.not_retrieved.values())} "
            f"({reasons(self.not_retrieved)}). Assessed for eligibility: {self.assessed}; "
            f"excluded: {sum(self.excluded_eligibility.values())} "
            f"({reasons(self.excluded_eligibility)}). Included: {self.included} reports of "
            f"{self.studies} studies; {self.with_outcome} with an outcome of the question, "
            f"{self.usable} with numbers that give an effect size, {self.pooled} in a pooled "
            "estimate."
        )


def _search_sources(base: EvidenceBase, qid: str) -> list[tuple[str, list[str]]]:
    """(source label, ids found) for the seed list and each search of ``qid``."""
    q = base.questions[qid]
    out: list[tuple[str, list[str]]] = []
    excluded = [e for e in base.excluded if e.question == qid]
    if q.search is None:
        return out
    if q.search.seed is not None:
        ids = [r.record for r in q.search.seed.references if r.record]
        ids += [e.id for e in excluded if e.found_by == "seed"]
        out.append(("seed article's references", ids))
    same_day = Counter(s.date for s in q.search.searches)
    nth: Counter[str] = Counter()
    for s in q.search.searches:
        ids = list(s.records) + [e.id for e in excluded if e.found_by == s.id]
        # readers see the date, not the search's id; searches of one day are numbered
        label = f"search on {long_date(date.fromisoformat(s.date))}"
        if same_day[s.date] > 1:
            nth[s.date] += 1
            label += f" ({nth[s.date]} of {same_day[s.date]})"
        out.append((label, ids))
    return out


def _usable_and_pooled(base: EvidenceBase, questions: list[str]) -> tuple[set[str], set[str]]:
    usable: set[str] = set()
    pooled: set[str] = set()
    for qid in questions:
        for a in analyse_question(base, qid):
            usable |= {r.study for r in a.rows if math.isfinite(r.yi) and math.isfinite(r.vi)}
            if a.fit is not None:
                pooled |= {r.study for r in a.pooled_rows}
    return usable, pooled


def prisma_flow(base: EvidenceBase, question: str | None = None) -> Flow:
    """PRISMA 2020 counts for ``question``, or for every question together when None.

    Parameters
    ----------
    base : EvidenceBase
        The validated evidence base, with question ``search`` sections and
        ``evidence/excluded.yaml`` loaded.
    question : str, optional
        A question id; None counts each report once across all questions.

    Returns
    -------
    Flow
        The counts at every stage. Records that serve the question but that no search
        names are added to identification as "not attributed to a search" (validation
        warns about each).
    """
    qids = [question] if question is not None else sorted(base.questions)
    identified: Counter[str] = Counter()
    named: list[str] = []
    for qid in qids:
        for label, ids in _search_sources(base, qid):
            identified[label if question else label.split(" (")[0]] += len(ids)
            named.extend(ids)
    records = set()
    for qid in qids:
        records |= set(listed(base.questions[qid])) | serving(base, qid)
    unattributed = sorted(records - set(named))
    if unattributed:
        identified["not attributed to a search"] += len(unattributed)
        named.extend(unattributed)
    excluded = {e.id: e for e in base.excluded if e.question in qids}
    distinct = set(named)
    stage: dict[str, Counter[str]] = {s: Counter() for s in ("screening", "not retrieved",
                                                             "eligibility")}  # fmt: skip
    for e in excluded.values():
        stage[e.stage][e.category] += 1
    included = sorted(distinct - set(excluded))
    served = set().union(*(serving(base, q) for q in qids))  # once, not per record
    with_outcome = [r for r in included if r in served]
    usable, pooled = _usable_and_pooled(base, qids)
    screened = len(distinct)
    sought = screened - sum(stage["screening"].values())
    return Flow(
        question=question,
        identified=dict(identified),
        duplicates=len(named) - screened,
        screened=screened,
        excluded_screening=dict(stage["screening"]),
        not_retrieved=dict(stage["not retrieved"]),
        assessed=sought - sum(stage["not retrieved"].values()),
        excluded_eligibility=dict(stage["eligibility"]),
        included=len(included),
        studies=len({base.studies[r].cohort or r for r in included}),
        with_outcome=len(with_outcome),
        usable=len(usable & set(included)),
        pooled=len(pooled & set(included)),
        unattributed=tuple(unattributed),
    )
