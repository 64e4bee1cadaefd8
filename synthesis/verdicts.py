"""Claims checked against the records: each check's status and the claim's verdict.

The check kinds and the verdict rule are described in :mod:`synthesis.claims`. This
module is light (no pandas): ``synthesis validate`` runs every check but ``pooled``,
which needs the analysis layer and never changes a verdict.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from synthesis import records
from synthesis.analysis import analyse
from synthesis.claims import (
    OPPOSITE,
    STATUSES,
    Claim,
    Comparison,
    NotInRecord,
    OutcomeRef,
    Pooled,
    ReportedValue,
    ResultsPublished,
)
from synthesis.plain import fmt_interval, fmt_value

if TYPE_CHECKING:
    from synthesis.evidence import EvidenceBase


# ----------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class CheckResult:
    """What one check found: its status and a sentence saying why."""

    says: str
    kind: str
    role: str
    status: str
    detail: str


@dataclass(frozen=True)
class ClaimResult:
    """A claim with its computed check results and verdict."""

    claim: Claim
    checks: tuple[CheckResult, ...]
    computed: str

    @property
    def verdict(self) -> str:
        return self.claim.verdict

    @property
    def agrees(self) -> bool:
        return self.computed == self.claim.verdict or self.claim.override_reason is not None

    def to_dict(self, base: EvidenceBase | None = None) -> dict[str, object]:
        """Plain data for JSON output (``synthesis claims --format json``)."""
        c = self.claim
        bib = base.bibliography if base is not None else None
        reference = (
            bib.format(c.cites)
            if bib is not None and c.cites is not None and c.cites in bib
            else None
        )
        return {
            "id": c.id,
            "label": c.label,
            "question": c.question,
            "source": c.source,
            "says": c.says,
            "quote": c.quote,
            "cites": c.cites,
            "reference": reference,
            "cites_note": c.cites_note,
            "records": list(c.records),
            "verdict": c.verdict,
            "computed_verdict": self.computed,
            "override_reason": c.override_reason,
            "reasons": list(c.reasons),
            "commissioner": c.commissioner,
            "checks": [
                {
                    "says": r.says,
                    "kind": r.kind,
                    "role": r.role,
                    "status": r.status,
                    "detail": r.detail,
                }
                for r in self.checks
            ],
        }

    def to_text(self) -> str:
        """The claim, its verdict, each check and the reasons, as ``synthesis claims`` prints."""
        c = self.claim
        lines = [f"{c.label}  [{c.question}]", f"  verdict: {c.verdict.upper()}"]
        if self.computed != c.verdict:
            lines.append(f"  (checks alone give {self.computed!r}; reviewers: {c.override_reason})")
        lines.append(f"  claim: {c.says}")
        note = f" ({c.cites_note})" if c.cites_note else ""
        lines.append(f"  cites: {c.cites or 'no reference'}{note}")
        for r in self.checks:
            tag = r.status if r.role == "evidence" else "context"
            lines.append(f"  - {r.says}: {tag}")
            lines.append(f"      {r.detail}")
        lines.extend(f"  * {reason}" for reason in c.reasons)
        return "\n".join(lines)


def verdict_from(statuses: Iterable[str]) -> str:
    """The verdict that a set of evidence-check statuses implies.

    Examples
    --------
    >>> verdict_from(["supports", "supports"])
    'supported'
    >>> verdict_from(["supports", "no public data"])
    'partly supported'
    >>> verdict_from(["contradicts", "no public data"])
    'not supported'
    >>> verdict_from(["no public data"])
    'cannot be checked from public data'
    """
    found = list(statuses)
    if not found:
        raise ValueError("a verdict needs at least one evidence check")
    for s in found:
        if s not in STATUSES:
            raise ValueError(f"unknown check status {s!r} (allowed: {', '.join(STATUSES)})")
    if all(s == "supports" for s in found):
        return "supported"
    if all(s == "no public data" for s in found):
        return "cannot be checked from public data"
    if "contradicts" in found and not {"supports", "partly supports"} & set(found):
        return "not supported"
    return "partly supported"


def combine(statuses: Iterable[str]) -> str:
    """One status for several outcomes of one check: all alike keep it, a mixture is partial.

    Examples
    --------
    >>> combine(["supports", "supports"])
    'supports'
    >>> combine(["supports", "no public data"])
    'partly supports'
    """
    found = set(statuses)
    return found.pop() if len(found) == 1 else "partly supports"


def find_outcomes(
    study: records.Study, question: str, ref: OutcomeRef
) -> list[tuple[int, records.Outcome]]:
    """The outcomes of ``study`` that ``ref`` selects (ideally exactly one)."""
    out = []
    for i, oc in enumerate(study.outcomes):
        if oc.question != question or oc.outcome != ref.outcome:
            continue
        if ref.timepoint and ref.timepoint.lower() not in (oc.timepoint or "").lower():
            continue
        if ref.name_contains and ref.name_contains.lower() not in oc.name.lower():
            continue
        out.append((i, oc))
    return out


def _percent_of(data: records.OutcomeData) -> float | None:
    percent = getattr(data, "percent", None)
    if percent is not None:
        return percent.value
    if isinstance(data, records.Proportion) and data.events is not None:
        return 100 * data.events.value / data.n.value
    return None


def _label(base: EvidenceBase, record: str) -> str:
    study = base.studies[record]
    return study.label or study.id


def _reported_value(base: EvidenceBase, claim: Claim, check: ReportedValue) -> tuple[str, str]:
    (_, oc), *_ = find_outcomes(base.studies[check.at.record], claim.question, check.at)
    where = f"{_label(base, check.at.record)} ({oc.name})"
    reported = _percent_of(oc.data)
    if reported is None:
        return "no public data", f"{where} reports no percentage"
    diff = abs(reported - check.claimed)
    if diff <= check.tolerance:
        return "supports", f"{where} reports {reported:g}%; the claim says {check.claimed:g}%"
    return (
        "contradicts",
        f"{where} reports {reported:g}%, {diff:g} points from the claimed {check.claimed:g}%",
    )


_RATIO_METRICS = ("OR", "RR", "HR", "APR")


def _effect_direction(d: records.ReportedEffect, better: str) -> tuple[str, bool | None]:
    """Direction and significance (at 5%) of a reported effect; None when not stated."""
    null = 1.0 if d.metric in _RATIO_METRICS else 0.0
    est = d.estimate.value
    if d.ci is not None:
        significant: bool | None = not d.ci[0].value <= null <= d.ci[1].value
    elif d.p is not None:
        significant = (
            d.p.value <= 0.05
            if d.p_bound == "<"
            else (False if d.p_bound == ">" and d.p.value >= 0.05 else d.p.value < 0.05)
        )
    else:
        significant = None
    if est == null:
        return "no difference", significant
    up = est > null
    if d.metric == "r":
        return ("positive association" if up else "negative association"), significant
    if better == "not applicable":
        return "unclear", significant
    favours = up == (better == "higher is better")
    return ("favours intervention" if favours else "favours comparator"), significant


def _one_direction(oc: records.Outcome, check: Comparison, better: str) -> tuple[str, str]:
    d = oc.data
    if isinstance(d, records.Narrative):
        direction, significant = d.direction, d.significant
    elif isinstance(d, records.ReportedEffect):
        direction, significant = _effect_direction(d, better)
    else:
        return "no public data", "numbers without a stated comparison (see the pooled analysis)"
    sig = {True: "significant", False: "not significant", None: "significance not stated"}
    said = f"{direction}, {sig[significant]}"
    if direction == check.expected:
        if check.expected == "no difference" or not check.significant or significant:
            return "supports", said
        if significant is False:
            return "contradicts", said
        return "partly supports", said
    if direction == "no difference" or direction == OPPOSITE.get(check.expected):
        return "contradicts", said
    return "no public data", said


def _comparison(base: EvidenceBase, claim: Claim, check: Comparison) -> tuple[str, str]:
    statuses, parts = [], []
    question = base.questions[claim.question]
    for ref in check.at:
        better = next(o.direction for o in question.outcomes if o.id == ref.outcome)
        for _, oc in find_outcomes(base.studies[ref.record], claim.question, ref):
            status, said = _one_direction(oc, check, better)
            statuses.append(status)
            parts.append(f"{_label(base, ref.record)} ({oc.name}): {said} [{status}]")
    return combine(statuses), "; ".join(parts)


def _has_results(study: records.Study) -> bool:
    for oc in study.outcomes:
        d = oc.data
        if not (isinstance(d, records.Narrative) and d.direction == "unclear"):
            return True
    return False


def _year(base: EvidenceBase, study: records.Study) -> int | None:
    bib = base.bibliography
    if bib is None or study.citation not in bib:
        return None
    ref = bib[study.citation]
    text = ref.get("year") or ref.get("date")[:4]
    return int(text) if text[:4].isdigit() else None


def _results_published(
    base: EvidenceBase, claim: Claim, check: ResultsPublished
) -> tuple[str, str]:
    with_results = []
    for rid in check.records:
        study = base.studies[rid]
        if _has_results(study):
            with_results.append((_year(base, study), _label(base, rid)))
    latest = max((_year(base, base.studies[r]) or 0 for r in check.records), default=0)
    if not with_results:
        shown = f"; the latest record is dated {latest}" if latest else ""
        return "contradicts", f"no record has results{shown}"
    on_time = [
        (y, lab) for y, lab in with_results if y is not None and y <= check.by_year + check.slack
    ]
    if on_time:
        y, lab = min(on_time)
        return "supports", f"{lab} has results, dated {y}"
    y, lab = min((y or 9999, lab) for y, lab in with_results)
    return "partly supports", f"results first appear in {lab}, dated {y}, after {check.by_year}"


def _not_in_record(base: EvidenceBase, claim: Claim, check: NotInRecord) -> tuple[str, str]:
    return "no public data", f"{_label(base, check.record)}: {check.reason}"


def pooled_result(base: EvidenceBase, claim: Claim, check: Pooled) -> str:
    """The pooled estimate of the check's outcome in words (imports the analysis layer)."""
    a = analyse(base, claim.question, check.outcome)
    nat = a.natural()
    if nat is None:
        return f"{a.outcome.name}: not pooled ({a.reason})"
    shown = (
        f"{a.outcome.name}: pooled {fmt_value(nat.estimate, a.measure)} "
        f"({a.settings.level:g}% CI {fmt_interval(nat.ci_lb, nat.ci_ub, a.measure)}) "
        f"from {a.k} studies, {a.participants} participants"
    )
    return shown


def evaluate(base: EvidenceBase, claim: Claim, *, pooled: bool = True) -> ClaimResult:
    """Run every check of ``claim`` against ``base`` and compute its verdict.

    ``pooled=False`` skips the pooled-context checks (no pandas/scipy import), which never
    change the verdict. ``claim`` must have passed :func:`claim_problems`.
    """
    results = []
    for check in claim.checks:
        if isinstance(check, ReportedValue):
            status, detail = _reported_value(base, claim, check)
        elif isinstance(check, Comparison):
            status, detail = _comparison(base, claim, check)
        elif isinstance(check, NotInRecord):
            status, detail = _not_in_record(base, claim, check)
        elif isinstance(check, ResultsPublished):
            status, detail = _results_published(base, claim, check)
        elif pooled:
            status, detail = "context", pooled_result(base, claim, check)
        else:
            continue
        results.append(CheckResult(check.says, check.kind, check.role, status, detail))
    evidence = [r.status for r in results if r.role == "evidence"]
    return ClaimResult(claim, tuple(results), verdict_from(evidence))


# ----------------------------------------------------------------------------- loading


def _serves(base: EvidenceBase, study: records.Study, question: str) -> bool:
    """A record serves a question when an outcome does, or (a record without outcomes,
    such as a feasibility report) when it shares a cohort with one that does."""
    if any(oc.question == question for oc in study.outcomes):
        return True
    if study.outcomes or not study.cohort:
        return False
    return any(
        s.cohort == study.cohort and any(oc.question == question for oc in s.outcomes)
        for s in base.studies.values()
    )


#: One problem of a claim: field path, message, and a stable code.
ClaimProblem = tuple[tuple[str | int, ...], str, str]


def claim_problems(base: EvidenceBase, claim: Claim, file: str) -> list[ClaimProblem]:
    """Cross-reference and verdict problems of one parsed claim (``file`` is its path).

    Each problem is ``(field path, message, code)``; :func:`synthesis.validate.validate`
    locates it by line. The checks: the id equals the file stem; the question, the cited
    key, every record and every selected outcome exist; every record serves the claim's
    question; each check's selection picks exactly one outcome; a ``not_in_record``
    outcome is really absent; and the stated verdict is the computed one (or
    ``override_reason`` says why not).
    """
    problems: list[ClaimProblem] = []

    def add(loc: tuple[str | int, ...], message: str, code: str) -> None:
        problems.append((loc, message, code))

    path = PurePosixPath(file)
    if claim.cites is None and not claim.cites_note:
        add(
            ("cites",),
            "a claim without cites needs cites_note saying why no reference is "
            "given (e.g. 'the article cites no source for this sentence')",
            "missing-field",
        )
    if claim.id != path.stem:
        add(("id",), f"id {claim.id!r} must equal the file name stem {path.stem!r}", "id-stem")
    if claim.question not in base.questions:
        allowed = ", ".join(sorted(base.questions)) or "none defined"
        add(
            ("question",),
            f"question {claim.question!r} does not exist (allowed: {allowed})",
            "unknown-question",
        )
        return problems
    bib = base.bibliography
    if claim.cites and bib is not None and claim.cites not in bib:
        near = difflib.get_close_matches(claim.cites, list(bib.entries), n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else " (add the entry to references.bib)"
        add(
            ("cites",),
            f"citation key {claim.cites!r} is not in {bib.path}{hint}",
            "unknown-citation",
        )
    outcome_ids = [o.id for o in base.questions[claim.question].outcomes]
    known = set()
    for j, rid in enumerate(claim.records):
        if rid not in base.studies:
            near = difflib.get_close_matches(rid, list(base.studies), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            add(("records", j), f"record {rid!r} does not exist{hint}", "unknown-study")
        elif not _serves(base, base.studies[rid], claim.question):
            qs = sorted({oc.question for oc in base.studies[rid].outcomes}) or ["none"]
            add(
                ("records", j),
                f"record {rid!r} has no outcome for the claim's question "
                f"{claim.question!r} (it serves: {', '.join(qs)}): cite records that bear on "
                "the claim's question",
                "record-question",
            )
        else:
            known.add(rid)

    def record_ok(loc: tuple[str | int, ...], rid: str) -> bool:
        if rid not in claim.records:
            add(
                loc,
                f"record {rid!r} is checked but not listed in records ({', '.join(claim.records)})",
                "unlisted-record",
            )
            return False
        return rid in known

    def outcome_ok(loc: tuple[str | int, ...], oid: str) -> bool:
        if oid in outcome_ids:
            return True
        add(
            loc,
            f"outcome {oid!r} is not defined in question {claim.question!r} "
            f"(allowed: {', '.join(outcome_ids)})",
            "unknown-outcome",
        )
        return False

    def ref_ok(loc: tuple[str | int, ...], ref: OutcomeRef) -> bool:
        if not (
            record_ok((*loc, "record"), ref.record) and outcome_ok((*loc, "outcome"), ref.outcome)
        ):
            return False
        study = base.studies[ref.record]
        found = find_outcomes(study, claim.question, ref)
        if len(found) == 1:
            return True
        candidates = [
            f"outcomes[{i}] {oc.name!r} (timepoint {oc.timepoint!r})"
            for i, oc in enumerate(study.outcomes)
            if oc.question == claim.question and oc.outcome == ref.outcome
        ]
        what = "matches none" if not found else f"matches {len(found)}"
        add(
            loc,
            f"{ref.record} {ref.outcome}: the selection {what} of the record's outcomes "
            f"({'; '.join(candidates) or 'it has none for this outcome'}); give timepoint "
            "or name_contains to pick exactly one",
            "outcome-selection",
        )
        return False

    ok = True
    for i, check in enumerate(claim.checks):
        loc: tuple[str | int, ...] = ("checks", i)
        if isinstance(check, ReportedValue):
            ok &= ref_ok((*loc, "at"), check.at)
        elif isinstance(check, Comparison):
            ok &= all([ref_ok((*loc, "at", j), ref) for j, ref in enumerate(check.at)])
        elif isinstance(check, NotInRecord):
            good = record_ok((*loc, "record"), check.record) and outcome_ok(
                (*loc, "outcome"), check.outcome
            )
            if good and any(
                oc.question == claim.question and oc.outcome == check.outcome
                for oc in base.studies[check.record].outcomes
            ):
                add(
                    (*loc, "outcome"),
                    f"{check.record} now records outcome {check.outcome!r}: "
                    "replace this not_in_record check by a comparison or reported_value "
                    "check",
                    "stale-check",
                )
                good = False
            ok &= good
        elif isinstance(check, ResultsPublished):
            ok &= all([record_ok((*loc, "records", j), r) for j, r in enumerate(check.records)])
        elif isinstance(check, Pooled):
            ok &= outcome_ok((*loc, "outcome"), check.outcome)
    if not any(c.role == "evidence" for c in claim.checks):
        add(
            ("checks",),
            "a claim needs at least one evidence check (role: evidence) to compute its verdict",
            "no-evidence-check",
        )
        ok = False
    if ok and not problems:
        result = evaluate(base, claim, pooled=False)
        if not result.agrees:
            shown = "; ".join(
                f"{r.says}: {r.status}" for r in result.checks if r.role == "evidence"
            )
            add(
                ("verdict",),
                f"verdict {claim.verdict!r} does not follow from the checks "
                f"({shown}), which give {result.computed!r}: change the verdict, or give "
                "override_reason saying why the reviewers judge otherwise",
                "verdict-mismatch",
            )
    return problems


def claim_results(
    base: EvidenceBase, question: str | None = None, *, pooled: bool = True
) -> list[ClaimResult]:
    """Every claim about ``question`` (all when None) evaluated, commissioner-relevant first."""
    chosen = [c for c in base.claims.values() if question is None or c.question == question]
    chosen.sort(key=lambda c: (not c.commissioner, c.label, c.id))
    return [evaluate(base, c, pooled=pooled) for c in chosen]
