"""The claims register: claims made about the evidence, each checked against the records.

A claim (``evidence/claims/<id>.yaml``) is one statement of a source the review was
asked to check (the seed article's first). It says what the claim is (paraphrased), the
reference the claim rests on (a key in ``references.bib``, or none when the source cites
nothing), the study records that bear on it, and a **verdict** with reasons.

The verdict is not free text. Each claim lists ``checks``, and each check is computed from
the records (:func:`evaluate`):

``reported_value``
    A number the claim quotes (e.g. "84%") against the percentage recorded for one study
    outcome. Within ``tolerance`` percentage points (default 0.5: the claim rounds the
    source's whole percent) it *supports*; otherwise it *contradicts*.
``comparison``
    A direction the claim states (e.g. "lower rates than treatment as usual") against the
    direction and significance each named study outcome reports. An outcome in the
    stated direction and significant where the claim says "significantly" *supports*;
    in the stated direction without a significance statement it *partly supports*; "no
    difference" or the opposite direction *contradicts*; an unclear direction has *no
    public data*. Several outcomes combine: all alike give that status, a mixture
    *partly supports*.
``not_in_record``
    The claim reports an outcome that the record does not contain (e.g. self-compassion
    in a study whose public abstract does not mention it): *no public data*. Validation
    fails if the record later gains that outcome, so the check cannot go stale.
``results_published``
    A claim that results would be public by a year: *supports* when a named record has
    results (data other than "direction unclear") and its reference is dated no later
    than ``by_year`` + ``slack``; results dated later *partly support*; no results at all
    *contradict*.
``pooled``
    The pooled estimate of a question outcome (computed by :mod:`synthesis.analysis`),
    shown for context only: a claim about one study is judged on that study.

Checks with ``role: context`` are shown but do not enter the verdict. The verdict rule
(:func:`verdict_from`): every evidence check supports -> *supported*; none has public data
-> *cannot be checked from public data*; at least one contradicts and none supports or
partly supports -> *not supported*; anything else -> *partly supported*. A claim file
states its verdict, and validation fails when it differs from the computed one, unless
``override_reason`` says why the reviewers judge otherwise.

This module holds the models (records layer); :mod:`synthesis.verdicts` computes the checks
and cross-checks each claim against the study records.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

#: Verdicts a claim may carry, from strongest to weakest.
VERDICTS = (
    "supported",
    "partly supported",
    "not supported",
    "cannot be checked from public data",
)
Verdict = Literal[VERDICTS]  # type: ignore[valid-type]

#: What one check finds.
STATUSES = ("supports", "partly supports", "contradicts", "no public data")
Status = Literal[STATUSES]  # type: ignore[valid-type]

#: Directions a ``comparison`` check may expect (the record vocabulary, minus the vague ones).
EXPECTED_DIRECTIONS = (
    "favours intervention",
    "favours comparator",
    "positive association",
    "negative association",
    "no difference",
)
OPPOSITE = {
    "favours intervention": "favours comparator",
    "favours comparator": "favours intervention",
    "positive association": "negative association",
    "negative association": "positive association",
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class OutcomeRef(_Model):
    """One outcome of one study record, picked by question outcome id (and, if needed,
    a piece of its timepoint or name)."""

    record: str = Field(..., description="study record id (a file in evidence/studies/)")
    outcome: str = Field(..., description="outcome id in the claim's question")
    timepoint: str | None = Field(None, description="text the outcome's timepoint contains")
    name_contains: str | None = Field(None, description="text the outcome's name contains")


class _Check(_Model):
    role: Literal["evidence", "context"] = Field(
        "evidence", description="context checks are shown but do not enter the verdict"
    )
    says: str = Field(..., min_length=3, description="the part of the claim this checks")


class ReportedValue(_Check):
    """A number the claim quotes, against the percentage one record reports."""

    kind: Literal["reported_value"]
    at: OutcomeRef
    claimed: float = Field(..., ge=0, le=100, description="the claimed percentage")
    tolerance: float = Field(
        0.5, ge=0, le=100, description="largest difference that still agrees, in points"
    )


class Comparison(_Check):
    """A direction the claim states, against the direction each record outcome reports."""

    kind: Literal["comparison"]
    at: list[OutcomeRef] = Field(..., min_length=1)
    expected: Literal[EXPECTED_DIRECTIONS]  # type: ignore[valid-type]
    significant: bool = Field(
        True, description="true when the claim says the difference is significant"
    )


class NotInRecord(_Check):
    """The claim reports an outcome the record does not contain."""

    kind: Literal["not_in_record"]
    record: str
    outcome: str = Field(..., description="outcome id in the claim's question")
    reason: str = Field(..., min_length=10, description="what the source shows instead")


class ResultsPublished(_Check):
    """The claim says results would be public by a year."""

    kind: Literal["results_published"]
    records: list[str] = Field(..., min_length=1)
    by_year: int = Field(..., ge=1900, le=2100)
    slack: int = Field(1, ge=0, le=10, description="years late that still count as 'around'")


class Pooled(_Check):
    """The pooled estimate of a question outcome, for context."""

    kind: Literal["pooled"]
    outcome: str = Field(..., description="outcome id in the claim's question")
    role: Literal["context"] = "context"


Check = Annotated[
    ReportedValue | Comparison | NotInRecord | ResultsPublished | Pooled,
    Field(discriminator="kind"),
]
CHECK_KINDS = ("reported_value", "comparison", "not_in_record", "results_published", "pooled")


class Claim(_Model):
    """One claim about the evidence, with the records that bear on it and a verdict."""

    id: str = Field(..., pattern=r"^[a-z0-9][a-z0-9_-]*$", description="equals the file stem")
    label: str = Field(..., min_length=1, description="short handle, e.g. '(c) 84% at work'")
    source: str = Field(
        ..., min_length=3, description="where the claim is made, e.g. 'seed article, section 2'"
    )
    says: str = Field(..., min_length=10, description="the claim, paraphrased")
    quote: str | None = Field(
        None, max_length=160, description="the few words that must be quoted exactly, if any"
    )
    question: str = Field(..., description="id of the review question the claim is about")
    cites: str | None = Field(
        None, description="key in references.bib of the reference the claim rests on"
    )
    cites_note: str | None = Field(
        None, description="how the reference was identified, or why there is none"
    )
    records: list[str] = Field(..., min_length=1, description="study records bearing on it")
    checks: list[Check] = Field(..., min_length=1)
    verdict: Verdict
    override_reason: str | None = Field(
        None, min_length=20, description="why the verdict differs from the computed one"
    )
    reasons: list[str] = Field(..., min_length=1, description="the reviewers' reasons")
    commissioner: bool = Field(
        False, description="true when a commissioner is likely to quote it (shown first)"
    )
