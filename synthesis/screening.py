"""How the studies were found: cross-checks of each question's ``search`` section and of
``evidence/excluded.yaml`` against the study records.

A question file says how its studies were found (PRISMA 2020 identification): the seed
article's reference list, then each search with its date, where it ran, its terms and the
records it found. ``evidence/excluded.yaml`` lists the candidates that were found and not
included, each with the question, the search that found it, the stage at which it was
excluded (screening, not retrieved, eligibility) and the reason.

:func:`search_problems` and :func:`excluded_problems` return ``(field path, message,
code, severity)`` tuples; :func:`synthesis.validate.validate` locates them by line.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from synthesis import records

if TYPE_CHECKING:
    from synthesis.evidence import EvidenceBase

Loc = tuple[str | int, ...]
SearchProblem = tuple[Loc, str, str, str]


def _unknown(base: EvidenceBase, rid: str) -> str:
    near = difflib.get_close_matches(rid, list(base.studies), n=1)
    hint = f" (did you mean {near[0]!r}?)" if near else ""
    return f"record {rid!r} does not exist{hint}"


def serving(base: EvidenceBase, question: str) -> set[str]:
    """Ids of the records with at least one outcome serving ``question``."""
    return {s.id for s, _, _ in base.outcomes(question)}


def listed(question: records.Question) -> list[str]:
    """Every record named by the question's seed list and searches (with repeats)."""
    search = question.search
    if search is None:
        return []
    out = [r.record for r in (search.seed.references if search.seed else []) if r.record]
    for s in search.searches:
        out.extend(s.records)
    return out


def search_problems(base: EvidenceBase, question: records.Question) -> list[SearchProblem]:
    """Problems of one question's ``search`` section.

    Errors: a named record that does not exist, two searches with one id. Warning: a
    record that serves the question but that no search (and not the seed list) names, so
    the flow diagram cannot say how it was found.
    """
    out: list[SearchProblem] = []
    search = question.search
    if search is None:
        return out
    if search.seed is not None:
        for j, ref in enumerate(search.seed.references):
            if ref.record is not None and ref.record not in base.studies:
                loc: Loc = ("search", "seed", "references", j, "record")
                out.append((loc, _unknown(base, ref.record), "unknown-study", "error"))
    ids: list[str] = []
    for i, s in enumerate(search.searches):
        if s.id in ids:
            out.append((("search", "searches", i, "id"), f"duplicate search id {s.id!r}",
                        "duplicate-id", "error"))  # fmt: skip
        ids.append(s.id)
        for j, rid in enumerate(s.records):
            if rid not in base.studies:
                loc = ("search", "searches", i, "records", j)
                out.append((loc, _unknown(base, rid), "unknown-study", "error"))
    named = set(listed(question))
    for rid in sorted(serving(base, question.id) - named):
        out.append(
            (
                ("search",),
                f"record {rid!r} serves this question but no search lists it: add it to the "
                "records of the search that found it (search.searches[].records)",
                "unattributed-record",
                "warning",
            )
        )
    return out


def excluded_problems(base: EvidenceBase, excluded: records.ExcludedList) -> list[SearchProblem]:
    """Problems of ``evidence/excluded.yaml``: unknown question or search, repeated ids,
    an id that is also a study record (a candidate is either included or excluded)."""
    out: list[SearchProblem] = []
    seen: set[str] = set()
    for i, item in enumerate(excluded.excluded):
        at: Loc = ("excluded", i)
        if item.id in seen:
            out.append(((*at, "id"), f"duplicate id {item.id!r}", "duplicate-id", "error"))
        seen.add(item.id)
        if item.id in base.studies:
            out.append(((*at, "id"), f"{item.id!r} is also a study record: a candidate is "
                        "either included (a record) or excluded, not both", "excluded-included",
                        "error"))  # fmt: skip
        q = base.questions.get(item.question)
        if q is None:
            allowed = ", ".join(sorted(base.questions)) or "none defined"
            out.append(((*at, "question"), f"question {item.question!r} does not exist "
                        f"(allowed: {allowed})", "unknown-question", "error"))  # fmt: skip
            continue
        searches = [s.id for s in q.search.searches] if q.search else []
        allowed_by = (["seed"] if q.search and q.search.seed else []) + searches
        if item.found_by not in allowed_by:
            shown = ", ".join(allowed_by) or f"none: {q.id} has no search section"
            out.append(((*at, "found_by"), f"found_by {item.found_by!r} is not a search of "
                        f"question {q.id!r} (allowed: {shown})", "unknown-search",
                        "error"))  # fmt: skip
    return out
