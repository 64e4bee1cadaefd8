"""Models of a study record and a review question (pydantic v2).

A study record (``evidence/studies/<id>.yaml``) holds what one published report says:
design, population, and one entry per outcome whose ``data`` is of exactly one kind
(correlation, two-group binary, single-group proportion, two-group continuous,
single-group pre-post, reported effect, or narrative: a direction with perhaps a p
value). Every kind may also carry a direction, a p value and the test behind it.

Every number may be written bare (``n: 76``) or as a mapping that says where it was read
and whether it was computed rather than reported::

    events: {value: 36, derived: "86% of 42, rounded to a whole person"}

A bare number takes its source from the nearest enclosing ``source`` (of the data block,
then of the outcome). ``source`` is either the name of an entry in the study's ``sources``
or an inline locator ``{doi: ..., url: ..., where: "abstract"}``.

These models check structure and types; range and cross-field checks (``r`` in [-1, 1],
events not above n, ...) live in :mod:`synthesis.validate`, which reports every problem
with its file, line and field path.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from synthesis import vocabulary
from synthesis.claims import Claim
from synthesis.vocabulary import (
    LEVEL_MAX,
    LEVEL_MIN,
    METHODS,
    QUESTION_MEASURES,
    level_problem,
)

# ----------------------------------------------------------------------------- vocabulary

DESIGNS = (
    "cross-sectional",
    "pre-post",
    "non-randomised controlled",
    "randomised controlled",
    "cluster randomised controlled",
    "crossover randomised",
    "cohort",
    "historical cohort comparison",
    "register cohort",
    "case series",
    "qualitative",
    "mixed methods",
    "systematic review",
    "narrative review",
    "protocol",
    "commentary",
)
Design = Literal[DESIGNS]  # type: ignore[valid-type]

#: Reference points a time point is counted from: the record's ``timepoint_from`` and a
#: question outcome's ``timepoint_window.timepoint_from`` (:mod:`synthesis.pooling_rules`).
TIMEPOINT_FROM = ("baseline", "end of intervention")
TimepointFrom = Literal[TIMEPOINT_FROM]  # type: ignore[valid-type]

#: What the analysis plan does with a result whose record gives no ``timepoint_weeks``.
NOT_REPORTED_RULES = ("exclude", "include")

STATUSES = ("published", "preprint", "protocol", "ongoing")
Status = Literal[STATUSES]  # type: ignore[valid-type]

#: Effect measures a question may ask for (metafor's measure codes).
MEASURES = QUESTION_MEASURES
Measure = Literal[MEASURES]  # type: ignore[valid-type]
Method = Literal[METHODS]  # type: ignore[valid-type]
Test = Literal[vocabulary.TESTS]  # type: ignore[valid-type]

#: Effect metrics a paper may report directly (``reported_effect.metric``).
REPORTED_METRICS = ("r", "d", "g", "SMD", "SMCC", "MD", "OR", "RR", "HR", "RD", "APR")
ReportedMetric = Literal[REPORTED_METRICS]  # type: ignore[valid-type]

DIRECTIONS = (
    "favours intervention",
    "favours comparator",
    "positive association",
    "negative association",
    "no difference",
    "mixed",
    "unclear",
)

#: Tests behind a reported p value. Those in :data:`CONVERTIBLE_TESTS` let a p value and
#: the group sizes give an effect size (:mod:`synthesis.stats.from_p`).
TESTS = (
    "two-sample t",
    "Welch t",
    "paired t",
    "correlation t",
    "chi2",
    "Fisher exact",
    "Mann-Whitney",
    "Wilcoxon signed-rank",
    "ANOVA",
    "regression",
    "log-rank",
    "other",
)
CONVERTIBLE_TESTS = ("two-sample t", "paired t", "correlation t")

ROB_TOOLS = ("RoB 2", "ROBINS-I", "JBI", "NOS", "AMSTAR 2", "not applicable")
ROB_JUDGEMENTS: dict[str, tuple[str, ...]] = {
    "RoB 2": ("low", "some concerns", "high"),
    "ROBINS-I": ("low", "moderate", "serious", "critical", "no information"),
    "JBI": ("yes", "no", "unclear", "not applicable"),
    "NOS": ("yes", "no", "unclear", "not applicable"),
    "AMSTAR 2": ("yes", "partial yes", "no"),
    "not applicable": ("not applicable",),
}
#: Overall risk of bias, on one scale across tools (used by GRADE and the RoB plot).
OVERALL_ROB = ("low", "some concerns", "moderate", "serious", "high", "critical", "unclear")


#: What a new-study template writes where the student must fill in a value; any text
#: holding it is refused by ``synthesis validate`` (a template is never pooled).
PLACEHOLDER = "FILL IN"


class _Model(BaseModel):
    """Strict about unknown fields; lenient about int/float; every number finite."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, allow_inf_nan=False
    )


# ----------------------------------------------------------------------------- numbers


class Locator(_Model):
    """Where a number was read: a DOI or URL plus the place within it."""

    doi: str | None = Field(None, description="DOI without the https://doi.org/ prefix")
    url: str | None = Field(None, description="address of the page that shows the number")
    where: str = Field(
        ..., min_length=1, description="abstract, Table 2, p. 5, Figure 1, results text, ..."
    )

    @model_validator(mode="after")
    def _doi_or_url(self) -> Locator:
        if not (self.doi or self.url):
            raise PydanticCustomError(
                "locator", "a source locator needs a doi or a url (and where: abstract/table/page)"
            )
        return self


SourceRef = str | Locator


class Num(_Model):
    """A number with its provenance."""

    value: float
    source: SourceRef | None = Field(None, description="name in the study's sources, or a locator")
    derived: str | None = Field(
        None, description="how this number was computed from reported ones (absent if reported)"
    )
    assumed: str | None = Field(
        None, description="why this value is an assumption (not reported, not derived)"
    )
    note: str | None = None


#: A number written as text ("76", "-0.45", "1.2e3"); not "1_000", "nan" or "inf".
_DECIMAL = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")


def _coerce_number(value: Any) -> Any:
    if isinstance(value, bool):
        raise PydanticCustomError("number", f"expected a number, got {value!r}")
    if isinstance(value, (int, float)):
        return {"value": value}
    if isinstance(value, str):
        text = value.strip()
        if _DECIMAL.fullmatch(text):
            return {"value": float(text)}
        if PLACEHOLDER in text:
            raise PydanticCustomError("placeholder", "a template placeholder is not a number")
        raise PydanticCustomError(
            "number",
            f"expected a number, got {value!r}: write digits (76, 0.456), or a mapping "
            "like {value: 36, derived: how it was computed}",
        )
    return value


Number = Annotated[Num, BeforeValidator(_coerce_number)]


class PercentNum(Num):
    """A percentage (0-100). ``unit: "%"`` confirms a value of at most 1 is meant as percent."""

    unit: Literal["%"] | None = Field(
        None, description='"%" confirms that a value <= 1 is a percentage (0.5 means 0.5%)'
    )


def _coerce_percent(value: Any) -> Any:
    if isinstance(value, str) and value.strip().endswith("%"):
        number = _coerce_number(value.strip()[:-1])
        return {**number, "unit": "%"}
    return _coerce_number(value)


#: A percentage: ``86`` or ``"86%"``; a value <= 1 must be written ``0.5%`` (see validate).
Percent = Annotated[PercentNum, BeforeValidator(_coerce_percent)]


def _check_level(value: float) -> float:
    problem = level_problem(value)
    if problem:
        raise PydanticCustomError("level", f"confidence level {problem}")
    return value


#: A confidence level in percent, checked by :func:`synthesis.vocabulary.level_problem`.
Level = Annotated[
    float,
    AfterValidator(_check_level),
    Field(json_schema_extra={"exclusiveMinimum": LEVEL_MIN, "exclusiveMaximum": LEVEL_MAX}),
]


#: Test statistics whose p value :mod:`synthesis.integrity` can recompute.
STATISTIC_KINDS = ("t", "F", "chi2", "z", "r")


class Statistic(_Model):
    """A reported test statistic, e.g. ``t(28) = 2.20`` or ``F(2, 45) = 3.10``.

    Used by ``synthesis check`` to recompute the reported p value (statcheck,
    [nuijten2016prevalence]_). The number of decimals of ``value`` is read from the
    record text as written (``2.20`` has two), so write it exactly as printed.
    ``df`` is the (first) degrees of freedom: t(df), chi2(df), F(df, df2), r(df) with
    df = n - 2 (for ``r`` it may be left out when the data block gives n); ``z`` has none.
    """

    kind: Literal[STATISTIC_KINDS]  # type: ignore[valid-type]
    value: float
    df: float | None = Field(None, gt=0, description="degrees of freedom (numerator df for F)")
    df2: float | None = Field(None, gt=0, description="denominator degrees of freedom (F only)")
    two_sided: bool = Field(True, description="false for a one-sided t, z or r test")
    source: SourceRef | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _df_fit_kind(self) -> Statistic:
        kind = self.kind
        if kind == "F" and (self.df is None or self.df2 is None):
            raise PydanticCustomError("statistic", "an F statistic needs df and df2: F(df, df2)")
        if kind in ("t", "chi2") and self.df is None:
            raise PydanticCustomError("statistic", f"a {kind} statistic needs df: {kind}(df)")
        if kind == "z" and (self.df is not None or self.df2 is not None):
            raise PydanticCustomError("statistic", "a z statistic has no degrees of freedom")
        if kind != "F" and self.df2 is not None:
            raise PydanticCustomError("statistic", f"df2 is for F statistics only, not {kind}")
        if kind in ("F", "chi2") and self.value < 0:
            raise PydanticCustomError(
                "statistic", f"an {kind} statistic cannot be negative, got {self.value:g}"
            )
        if kind == "r" and not -1 <= self.value <= 1:
            raise PydanticCustomError(
                "statistic", f"a correlation must lie in [-1, 1], got {self.value:g}"
            )
        if kind in ("F", "chi2") and not self.two_sided:
            raise PydanticCustomError(
                "statistic", f"two_sided: false applies to t, z and r tests, not {kind}"
            )
        return self


class _Data(_Model):
    """Fields shared by every data kind: the source, and the direction/p block.

    Every result may say which way it points (``direction``), its p value (exact or
    bounded, one- or two-sided) and the test behind it. These feed vote counting on the
    direction of effect, combined p values and the albatross plot
    (:mod:`synthesis.stats.swim`) [campbell2020swim]_, and, when the test is known,
    the conversions of :mod:`synthesis.stats.from_p`.
    """

    source: SourceRef | None = Field(None, description="default source of the numbers below")
    note: str | None = None
    direction: Literal[DIRECTIONS] | None = Field(  # type: ignore[valid-type]
        None,
        description="which way the result points, as the source reports it (leave out to "
        "take it from the estimate)",
    )
    p: Number | None = Field(None, description="p value of the comparison, as reported")
    p_bound: Literal["=", "<", ">"] = Field(
        "=", description="'<' when the paper gives p < value rather than an exact p"
    )
    p_sided: Literal["two-sided", "one-sided"] = Field(
        "two-sided", description="'one-sided' when the paper reports a one-sided p"
    )
    test: Literal[TESTS] | None = Field(  # type: ignore[valid-type]
        None, description="the test behind p, when the source names it"
    )


class Correlation(_Data):
    """A correlation coefficient between exposure and outcome (metafor: ri, ni)."""

    kind: Literal["correlation"]
    r: Number
    n: Number
    statistic: Statistic | None = Field(
        None, description="the reported test statistic, e.g. {kind: t, value: 2.20, df: 28}"
    )


class TwoGroupBinary(_Data):
    """Events and totals in two groups (metafor: ai, n1i, ci, n2i)."""

    kind: Literal["two_group_binary"]
    group1: str = "intervention"
    group2: str = "comparator"
    events1: Number
    n1: Number
    events2: Number
    n2: Number


class Proportion(_Data):
    """Events out of n in one group (metafor: xi, ni).

    Give ``events``; or give the reported ``percent`` and the toolkit derives the count
    (round(percent × n / 100)) and marks it as derived. Give both when both are reported.
    """

    kind: Literal["proportion"]
    events: Number | None = None
    percent: Percent | None = Field(
        None, description="reported percentage, 0-100 (86 for 86%); write 0.5% for one <= 1"
    )
    n: Number

    @model_validator(mode="after")
    def _events_or_percent(self) -> Proportion:
        if self.events is None and self.percent is None:
            raise PydanticCustomError("proportion", "give events, percent, or both")
        return self


class TwoGroupContinuous(_Data):
    """Means, SDs and sizes in two groups (metafor: m1i, sd1i, n1i, m2i, sd2i, n2i)."""

    kind: Literal["two_group_continuous"]
    group1: str = "intervention"
    group2: str = "comparator"
    mean1: Number
    sd1: Number
    n1: Number
    mean2: Number
    sd2: Number
    n2: Number
    integer_scale: bool = Field(
        False,
        description="true when each score is a sum (or mean of `items`) of whole-number "
        "answers: enables the GRIM check of the means",
    )
    items: int | None = Field(
        None, ge=1, description="number of items averaged per score (1 for a total score)"
    )


class PrePost(_Data):
    """One group measured before and after (metafor SMCC/SMCR: m1i = post, m2i = pre).

    Either means and SDs at both times (or 95% CIs of the means, from which SDs are
    derived), or the mean change with its SD or CI. ``r_prepost`` is the correlation of
    pre and post scores; when absent the question's assumed value is used and recorded.
    """

    kind: Literal["pre_post"]
    n: Number
    mean_pre: Number | None = None
    sd_pre: Number | None = None
    ci_pre: tuple[Number, Number] | None = None
    mean_post: Number | None = None
    sd_post: Number | None = None
    ci_post: tuple[Number, Number] | None = None
    mean_change: Number | None = None
    sd_change: Number | None = None
    ci_change: tuple[Number, Number] | None = None
    level: Level = Field(95.0, description="confidence level of the CIs, percent")
    r_prepost: Number | None = None
    n_pre: Number | None = Field(
        None, description="participants behind the pre mean and its CI, when not n"
    )
    n_post: Number | None = Field(
        None, description="participants behind the post mean and its CI, when not n"
    )
    timepoint_pre: str | None = None
    timepoint_post: str | None = None
    statistic: Statistic | None = Field(
        None, description="the reported test statistic, e.g. {kind: t, value: 2.20, df: 28}"
    )
    integer_scale: bool = Field(
        False,
        description="true when each score is a sum (or mean of `items`) of whole-number "
        "answers: enables the GRIM check of the means",
    )
    items: int | None = Field(
        None, ge=1, description="number of items averaged per score (1 for a total score)"
    )


class ReportedEffect(_Data):
    """An effect size reported by the paper, with its uncertainty."""

    kind: Literal["reported_effect"]
    metric: ReportedMetric
    estimate: Number
    ci: tuple[Number, Number] | None = None
    level: Level = 95.0
    se: Number | None = None
    n: Number | None = None
    n1: Number | None = None
    n2: Number | None = None
    adjusted: bool = False
    contrast: str | None = Field(None, description="what is compared, e.g. 'MBSR vs waitlist'")
    statistic: Statistic | None = Field(
        None, description="the reported test statistic, e.g. {kind: t, value: 2.20, df: 28}"
    )


class Narrative(_Data):
    """A result with a direction and perhaps a p value, but no effect estimate.

    It counts in the vote on the direction of effect and, with a p value and n, in the
    combined p values and the albatross plot. With an exact p, the ``test`` (two-sample
    t, paired t, correlation t) and the group sizes it also gives an effect size,
    marked as derived from p (:mod:`synthesis.stats.from_p`); a bounded p gives only a
    bound, never a value.
    """

    kind: Literal["narrative"]
    direction: Literal[DIRECTIONS]  # type: ignore[valid-type]
    significant: bool | None = Field(None, description="true/false, or leave out if not stated")
    n: Number | None = Field(None, description="participants analysed in total (or give n1, n2)")
    n1: Number | None = Field(None, description="participants analysed in group 1 (intervention)")
    n2: Number | None = Field(None, description="participants analysed in group 2 (comparator)")
    missing: str = Field(
        ..., min_length=3, description="which numbers would be needed and were not found"
    )
    percent: Percent | None = Field(
        None, description="a reported percentage whose denominator is unknown (shown, not pooled)"
    )
    value: Number | None = Field(
        None, description="another descriptive number reported without what pooling needs"
    )
    unit: str | None = Field(None, description="unit of value, e.g. 'days in hospital'")
    statistic: Statistic | None = Field(
        None, description="the reported test statistic, e.g. {kind: t, value: 2.20, df: 28}"
    )


OutcomeData = Annotated[
    Correlation
    | TwoGroupBinary
    | Proportion
    | TwoGroupContinuous
    | PrePost
    | ReportedEffect
    | Narrative,
    Field(discriminator="kind"),
]
DATA_KINDS = (
    "correlation",
    "two_group_binary",
    "proportion",
    "two_group_continuous",
    "pre_post",
    "reported_effect",
    "narrative",
)


class Indirectness(_Model):
    """How far this study's PICO is from the question's (for GRADE)."""

    judgement: Literal["none", "serious", "very serious"]
    reason: str = Field(..., min_length=3)


class Outcome(_Model):
    """One result of a study, serving one outcome of one review question."""

    question: str = Field(..., description="id of a file in evidence/questions/")
    outcome: str = Field(..., description="id of an outcome defined in that question")
    name: str = Field(..., description="the outcome as the study names it")
    instrument: str | None = None
    timepoint: str | None = None
    timepoint_weeks: Number | None = Field(
        None,
        description="the time point in weeks from timepoint_from, as the source gives it; "
        "a unit conversion is marked derived (months x 4.348, years x 52.18; "
        "synthesis.pooling_rules). Leave out when the source does not say",
    )
    timepoint_from: TimepointFrom | None = Field(
        None, description="what timepoint_weeks counts from: baseline or end of intervention"
    )
    source: SourceRef | None = None
    data: OutcomeData
    pool: bool = Field(True, description="false keeps it out of pooling (give exclude_reason)")
    exclude_reason: str | None = None
    cohort: str | None = Field(
        None, description="cohort id when the same people appear in other reports"
    )
    indirectness: Indirectness | None = None
    notes: str | None = None
    integrity_note: str | None = Field(
        None,
        min_length=3,
        description="why an error flagged by `synthesis check` does not stop pooling "
        "(e.g. 'the paper's percentages use the 40 responders as denominator')",
    )

    @model_validator(mode="after")
    def _reason_if_excluded(self) -> Outcome:
        if not self.pool and not self.exclude_reason:
            raise PydanticCustomError(
                "exclude_reason", "pool: false needs exclude_reason saying why"
            )
        if (self.timepoint_weeks is None) != (self.timepoint_from is None):
            raise PydanticCustomError(
                "timepoint_weeks",
                "timepoint_weeks and timepoint_from go together: give both (timepoint_from: "
                f"{' or '.join(TIMEPOINT_FROM)}) or neither",
            )
        if self.timepoint_weeks is not None and self.timepoint_weeks.value < 0:
            raise PydanticCustomError(
                "timepoint_weeks",
                f"timepoint_weeks must be 0 or more (weeks after {self.timepoint_from}), got "
                f"{self.timepoint_weeks.value:g}",
            )
        return self


class Population(_Model):
    description: str
    source: SourceRef | None = None
    n: Number | None = None
    n_note: str | None = Field(None, description="when n is not reported, say so here")


class RobDomain(_Model):
    domain: str
    judgement: str
    reason: str = Field(..., min_length=3)


class RiskOfBias(_Model):
    """A risk-of-bias judgement with the tool that fits the design."""

    tool: Literal[ROB_TOOLS]  # type: ignore[valid-type]
    checklist: str | None = Field(None, description="e.g. 'JBI analytical cross-sectional'")
    basis: Literal["abstract only", "abstract and tables", "full text"]
    domains: list[RobDomain] = Field(default_factory=list)
    overall: Literal[OVERALL_ROB]  # type: ignore[valid-type]
    overall_reason: str = Field(..., min_length=3)


class Study(_Model):
    """One study record (one published report of a study or cohort)."""

    id: str = Field(..., pattern=r"^[a-z0-9][a-z0-9_-]*$", description="equals the file stem")
    citation: str = Field(..., description="key in references.bib")
    label: str | None = Field(None, description="short label for tables, e.g. 'Krasner 2009'")
    design: Design
    status: Status
    setting: str | None = None
    country: str | None = None
    population: Population
    intervention: str | None = None
    exposure: str | None = None
    comparator: str | None = None
    sources: dict[str, Locator] = Field(default_factory=dict)
    cohort: str | None = None
    related: list[str] = Field(default_factory=list, description="ids of related records")
    outcomes: list[Outcome] = Field(default_factory=list)
    risk_of_bias: RiskOfBias | None = None
    notes: list[str] = Field(default_factory=list)
    not_found: list[str] = Field(
        default_factory=list, description="what was searched for and not found"
    )


# ----------------------------------------------------------------------------- questions


class TypicalSd(_Model):
    """A typical standard deviation of a familiar instrument, with where it comes from."""

    value: float = Field(..., gt=0, description="the SD, in the instrument's points")
    instrument: str = Field(
        ..., description="e.g. 'Maslach Burnout Inventory, emotional exhaustion subscale'"
    )
    unit: str = Field("points", description="what one unit of the instrument is called")
    source: str = Field(..., min_length=3, description="study, locator and how it was obtained")
    assumption: bool = Field(
        True,
        description="true when the SD is the review's choice (e.g. from one included study), "
        "not a published norm",
    )


#: Measures of a single-group proportion (thresholds are bands of the 0-1 scale).
PROPORTION_CODES = ("PLO", "PR", "PFT")


class Thresholds(_Model):
    """Decision thresholds of one outcome, on the scale its result is reported on.

    For comparisons (SMD, SMCC, r, MD, ...): ``small`` is the smallest difference judged
    important (a minimal important difference, or the small-effect boundary); ``moderate``
    and ``large`` are optional further boundaries. All are distances from no effect, in
    the reported unit (SDs, r, days; a ratio such as 1.25 for OR/RR). For single-group
    proportions: ``bands`` are cut points between 0 and 1 (e.g. 0.25, 0.5, 0.75).
    ``source`` says where they come from; ``assumed: true`` flags the review's own choice.
    Used for informative statements [santesso2020grade]_ and for imprecision.
    """

    small: float | None = Field(None, gt=0, description="smallest important difference")
    moderate: float | None = Field(None, gt=0, description="moderate-effect boundary")
    large: float | None = Field(None, gt=0, description="large-effect boundary")
    bands: list[Annotated[float, Field(gt=0, lt=1)]] | None = Field(
        None, description="cut points of a proportion (0-1), in increasing order"
    )
    source: str = Field(..., min_length=3, description="where the thresholds come from")
    assumed: bool = Field(False, description="true when they are the review's own assumption")

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.bands is not None:
            if list(self.bands) != sorted(set(self.bands)):
                raise PydanticCustomError(
                    "thresholds", "bands must be distinct and in increasing order"
                )
            return self
        values = [v for v in (self.small, self.moderate, self.large) if v is not None]
        if self.small is None:
            raise PydanticCustomError("thresholds", "give small (and optionally moderate, large)")
        if values != sorted(set(values)):
            raise PydanticCustomError("thresholds", "need small < moderate < large")
        return self


class TimepointWindow(_Model):
    """The time points of one outcome that may be pooled (:mod:`synthesis.pooling_rules`).

    A result is pooled only when its record's ``timepoint_weeks``, counted from the same
    ``timepoint_from``, lies in [``min_weeks``, ``max_weeks``]. A result whose record
    gives no time point in weeks is excluded (``not_reported: exclude``, the default: it
    cannot be shown to lie in the window) or pooled (``not_reported: include``).
    """

    timepoint_from: TimepointFrom = Field(
        ..., description="what the weeks count from: baseline or end of intervention"
    )
    min_weeks: float = Field(0, ge=0, description="earliest time point pooled, in weeks")
    max_weeks: float | None = Field(
        None, gt=0, description="latest time point pooled, in weeks (absent: no upper limit)"
    )
    not_reported: Literal[NOT_REPORTED_RULES] = Field(  # type: ignore[valid-type]
        "exclude", description="exclude or include results whose time point is not reported"
    )
    reason: str = Field(..., min_length=10, description="why these time points are pooled together")

    @model_validator(mode="after")
    def _ordered(self) -> TimepointWindow:
        if self.max_weeks is not None and self.max_weeks < self.min_weeks:
            raise PydanticCustomError(
                "timepoint_window",
                f"max_weeks ({self.max_weeks:g}) is below min_weeks ({self.min_weeks:g})",
            )
        return self


class QuestionOutcome(_Model):
    id: str = Field(..., pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str
    measure: Measure
    scale: str = Field(..., description="what the pooled number means for a reader")
    direction: Literal["higher is better", "lower is better", "not applicable"]
    description: str | None = None
    critical: bool = Field(True, description="GRADE: critical (true) or important (false)")
    typical_sd: TypicalSd | None = Field(
        None,
        description="SD of a familiar instrument, to re-express a standardised effect in its "
        "points (GRADE guideline 13; Cochrane Handbook ch. 15)",
    )
    thresholds: Thresholds | None = Field(
        None, description="decision thresholds for informative statements and imprecision"
    )
    timepoint_window: TimepointWindow | None = Field(
        None, description="the time points pooled (absent: any time point)"
    )
    designs: list[Design] | None = Field(
        None,
        min_length=1,
        description="designs pooled for this outcome, among the question's designs "
        "(absent: the question's designs)",
    )
    min_k: int | None = Field(
        None, ge=1, description="fewest studies to pool this outcome (absent: analysis.min_k)"
    )
    min_k_reason: str | None = Field(None, min_length=10, description="why this min_k")

    @model_validator(mode="after")
    def _thresholds_fit_measure(self) -> QuestionOutcome:
        if self.min_k is not None and self.min_k_reason is None:
            raise PydanticCustomError("min_k", "an outcome's min_k needs min_k_reason saying why")
        t = self.thresholds
        if t is None:
            return self
        proportion = self.measure in PROPORTION_CODES
        if proportion and t.bands is None:
            raise PydanticCustomError(
                "thresholds", f"a {self.measure} outcome needs thresholds.bands (0-1 cut points)"
            )
        if not proportion and t.bands is not None:
            raise PydanticCustomError(
                "thresholds", f"bands are for proportions; a {self.measure} outcome needs small"
            )
        if self.measure in ("OR", "RR") and t.small is not None and t.small <= 1:
            raise PydanticCustomError(
                "thresholds", "ratio thresholds are ratios above 1 (e.g. small: 1.25)"
            )
        return self


class Pico(_Model):
    population: str
    intervention: str
    comparator: str
    outcomes: str


class Analysis(_Model):
    """The analysis plan: every analytic choice a reader may want to change."""

    method: Method = "REML"
    test: Test = "z"
    test_reason: str | None = Field(
        None, min_length=10, description="why this test (z, knha or adhoc) was chosen"
    )
    level: Level = 95.0
    alternative_methods: list[Method] = [
        "DL",
        "EE",
    ]
    prepost_r: float = Field(
        0.5, ge=-1, le=1, description="assumed pre-post correlation when a study gives none"
    )
    prepost_r_sensitivity: list[Annotated[float, Field(ge=-1, le=1)]] = [0.3, 0.7]
    min_k: int = Field(
        2,
        ge=1,
        description="fewest independent studies to pool; with fewer, the studies are shown "
        "side by side",
    )
    min_k_reason: str | None = Field(None, min_length=10, description="why this min_k")
    effects_from_p: bool = Field(
        False,
        description="let an exact p value with its test (two-sample t, paired t, correlation "
        "t), direction and n give an effect size (marked derived from p) that may be pooled",
    )
    small_study_min_k: int = Field(10, ge=3, description="fewest studies for Egger/trim-and-fill")
    sensitivity: list[str] = Field(default_factory=list, description="planned sensitivity analyses")


GRADE_DOMAINS = (
    "risk of bias",
    "inconsistency",
    "indirectness",
    "imprecision",
    "publication bias",
    "large effect",
)


class GradeOverride(_Model):
    """A reviewer's judgement that replaces the automatic GRADE step for one outcome."""

    outcome: str = Field(..., description="outcome id in this question")
    domain: Literal[GRADE_DOMAINS]  # type: ignore[valid-type]
    change: int = Field(..., ge=-2, le=2, description="levels: -2, -1, 0, +1 or +2")
    reason: str = Field(..., min_length=10, description="why the automatic rule is overridden")


class SeedReference(_Model):
    """One entry of the seed article's reference list and the record it resolved to."""

    ref: str = Field(..., min_length=1, description="the reference as numbered, e.g. '[3]'")
    record: str | None = Field(None, description="study record id it resolved to")
    note: str | None = Field(None, description="how it was resolved, or why it was not")


class SeedList(_Model):
    """Stage one of the search: the reference list of the article that started the review."""

    source: str = Field(..., min_length=3, description="the article, e.g. 'seed article'")
    references: list[SeedReference] = Field(..., min_length=1)


class Search(_Model):
    """One search: when, where, with which terms, and which records it found."""

    id: str = Field(..., pattern=r"^[a-z0-9][a-z0-9_-]*$")
    date: str = Field(
        ..., pattern=r"^\d{4}-\d{2}-\d{2}$", description="ISO date (YYYY-MM-DD) of the search"
    )
    date_basis: str = Field(
        ..., min_length=10, description="where the date comes from (e.g. a commit date)"
    )
    where: str = Field(..., min_length=3, description="databases, registers or sites searched")
    aim: str = Field(..., min_length=3, description="what the search looked for")
    terms: list[str] = Field(default_factory=list, description="search terms as run")
    terms_note: str | None = Field(None, description="required when terms were not recorded")
    records: list[str] = Field(default_factory=list, description="study records it found")

    @model_validator(mode="after")
    def _terms_or_note(self) -> Search:
        if not self.terms and not self.terms_note:
            raise PydanticCustomError(
                "terms", "give the search terms, or terms_note saying they were not recorded"
            )
        return self


class SearchRecord(_Model):
    """How the studies of a question were found (PRISMA 2020 identification)."""

    seed: SeedList | None = None
    searches: list[Search] = Field(default_factory=list)


#: PRISMA 2020 stages at which a candidate report can be excluded.
EXCLUSION_STAGES = ("screening", "not retrieved", "eligibility")


class ExcludedReport(_Model):
    """A candidate report that was found and not included, with the reason."""

    id: str = Field(..., pattern=r"^[a-z0-9][a-z0-9_-]*$")
    question: str = Field(..., description="id of the question it was a candidate for")
    citation: str = Field(..., min_length=5, description="authors, year, title and venue")
    found_by: str = Field(..., description="'seed' or the id of a search in the question file")
    stage: Literal[EXCLUSION_STAGES]  # type: ignore[valid-type]
    category: str = Field(
        ..., min_length=3, max_length=60, description="short reason the flow diagram groups by"
    )
    reason: str = Field(..., min_length=5, description="why it was excluded, in full")
    seen_at: Locator | None = Field(None, description="the page where it was seen")


class ExcludedList(_Model):
    """``evidence/excluded.yaml``: every candidate found and not included."""

    excluded: list[ExcludedReport] = Field(default_factory=list)


class Question(_Model):
    id: str = Field(..., pattern=r"^[a-z0-9][a-z0-9_-]*$", description="equals the file stem")
    title: str
    short_title: str
    plain_question: str = Field(..., description="the question in words a commissioner uses")
    pico: Pico
    outcomes: list[QuestionOutcome] = Field(..., min_length=1)
    inclusion: list[str] = Field(..., min_length=1)
    exclusion: list[str] = Field(default_factory=list)
    designs: list[Design] = Field(..., min_length=1, description="designs that may be pooled")
    analysis: Analysis = Analysis()
    grade_overrides: list[GradeOverride] = Field(
        default_factory=list, description="GRADE steps the reviewers set by hand, with reasons"
    )
    notes: list[str] = Field(default_factory=list)
    reference_style: Literal["apa", "vancouver"] = Field(
        "apa", description="reference style of this question's pages: apa or vancouver"
    )
    search: SearchRecord | None = Field(
        None, description="how the studies were found: the seed's reference list, then searches"
    )


def json_schemas() -> dict[str, str]:
    """JSON Schema text of a study record and of a question, keyed by file name."""
    import json

    schemas = {
        "study.schema.json": Study.model_json_schema(),
        "question.schema.json": Question.model_json_schema(),
        "claim.schema.json": Claim.model_json_schema(),
        "excluded.schema.json": ExcludedList.model_json_schema(),
    }
    return {name: json.dumps(s, indent=2, sort_keys=True) + "\n" for name, s in schemas.items()}


def write_schemas(folder: Path) -> list[Path]:
    """Write :func:`json_schemas` into ``folder`` (``evidence/schema``); return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in json_schemas().items():
        path = folder / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
