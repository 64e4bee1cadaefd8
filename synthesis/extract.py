"""From study records to effect sizes: one row per study result for a question's outcome.

:func:`effect_rows` looks at every outcome record serving one outcome of one question,
turns its data into the inputs of metafor's ``escalc`` for the question's measure (using
the conversions of :mod:`synthesis.stats.conversions`), and says for each row whether it is pooled,
and if not, why. Nothing is dropped silently: excluded, narrative and not-poolable rows
stay in the table with their reason, so the evidence map and reports can show them.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from synthesis import pooling_rules, records
from synthesis.bib import short_label
from synthesis.errors import UserInputError
from synthesis.vocabulary import NULL_VALUES

# synthesis.stats and synthesis.integrity (numpy, scipy) are imported inside the functions
# that compute, so validation and the evidence map load without them.
if TYPE_CHECKING:
    from synthesis.evidence import EvidenceBase

#: Row status values, in the order reports list them.
STATUSES = ("pooled", "excluded", "not poolable", "narrative", "awaiting results")


@dataclass(frozen=True)
class EffectRow:
    """One study result for one question outcome, with how its effect size was obtained."""

    study: str
    label: str
    citation: str
    design: str
    outcome_name: str
    timepoint: str
    n: float
    status: str
    reason: str
    yi: float
    vi: float
    es_method: str
    derived: bool
    assumed: bool
    cohort: str
    rob: str
    data_kind: str
    n_basis: str = "result"
    comparative: bool = False
    #: +1 favours the intervention (or the favourable direction of an association),
    #: -1 the comparator, 0 no difference, None not known (see ``direction_how``)
    direction: int | None = None
    direction_how: str = ""
    #: p value of the result (reported, or computed from the estimate: ``p_how``)
    p: float = math.nan
    p_bound: str = "="
    p_sided: str = "two-sided"
    p_how: str = ""
    #: True when the effect size was derived from a p value (:mod:`synthesis.stats.from_p`)
    from_p: bool = False

    @property
    def key(self) -> str:
        """The group of people behind this result: its cohort id, else the record id."""
        return self.cohort or self.study


_MEASURE_WORDS = {
    "SMD": "standardised mean difference",
    "MD": "mean difference",
    "OR": "odds ratio",
    "RR": "risk ratio",
    "RD": "risk difference",
}


def _words(kind: str) -> str:
    """A data kind as readers write it: 'reported_effect' -> 'reported-effect'."""
    return kind.replace("_", "-")


class _NotPoolable(Exception):
    """Raised inside conversions: the data cannot give the question's measure."""


def _v(num: records.Num | None) -> float:
    return float("nan") if num is None else float(num.value)


def _flag(*nums: records.Num | None) -> bool:
    return any(n is not None and n.derived for n in nums)


#: (yi, vi, es_method, assumed) of one row of :func:`synthesis.stats.escalc_table`.
_Escalced = tuple[float, float, str, bool]


def _escalc_one(measure: str, cols: dict[str, float]) -> _Escalced:
    from synthesis import stats

    frame = stats.escalc_table(measure, {k: [v] for k, v in cols.items()})
    row = frame.iloc[0]
    return float(row["yi"]), float(row["vi"]), str(row["es_method"]), bool(row["assumed"])


class _EscalcBatch:
    """The escalc rows of one outcome, computed in one ``escalc_table`` call per measure
    and set of inputs instead of one pandas frame per row.

    :func:`effect_rows` runs its conversions twice: first with :meth:`record`, which
    notes every row's measure and inputs (and returns NaN: no conversion branches on
    escalc's result), then with :meth:`lookup`, after :meth:`compute`. escalc's rows
    are independent (``to="only0"``), so a row's numbers and sentence are those of a
    one-row call; a group whose call fails (a bad value) is left to :meth:`lookup`,
    which computes it alone and raises the same error for the same row.
    """

    def __init__(self) -> None:
        self.wanted: dict[tuple[str, tuple[str, ...]], list[tuple[float, ...]]] = {}
        self.done: dict[tuple[str, tuple[str, ...], tuple[float, ...]], _Escalced] = {}

    def record(self, measure: str, cols: dict[str, float]) -> _Escalced:
        keys = tuple(cols)
        self.wanted.setdefault((measure, keys), []).append(tuple(cols.values()))
        return math.nan, math.nan, "", False

    def compute(self) -> None:
        from synthesis import stats

        for (measure, keys), rows in self.wanted.items():
            unique = list(dict.fromkeys(rows))
            columns = {k: [row[i] for row in unique] for i, k in enumerate(keys)}
            try:
                frame = stats.escalc_table(measure, columns)
            except UserInputError:
                continue
            for row, yi, vi, how, assumed in zip(
                unique, frame["yi"], frame["vi"], frame["es_method"], frame["assumed"], strict=True
            ):
                self.done[(measure, keys, row)] = (float(yi), float(vi), str(how), bool(assumed))

    def lookup(self, measure: str, cols: dict[str, float]) -> _Escalced:
        found = self.done.get((measure, tuple(cols), tuple(cols.values())))
        return found if found is not None else _escalc_one(measure, cols)


def _convert(
    data: Any,
    measure: str,
    prepost_r: float,
    use_implied_r: bool = True,
    one: Callable[[str, dict[str, float]], _Escalced] = _escalc_one,
) -> tuple[float, float, str, bool, bool]:
    """(yi, vi, es_method, derived, assumed) for one data block, or raise _NotPoolable.

    ``one(measure, inputs)`` computes escalc's row (:class:`_EscalcBatch` batches it).
    """
    from synthesis import stats

    kind = data.kind
    if measure in ("ZCOR", "COR"):
        if kind == "correlation":
            yi, vi, how, assumed = one(measure, {"ri": _v(data.r), "ni": _v(data.n)})
            return yi, vi, how, _flag(data.r, data.n), assumed
        if kind == "reported_effect" and data.metric == "r" and data.n is not None:
            yi, vi, how, assumed = one(measure, {"ri": _v(data.estimate), "ni": _v(data.n)})
            return yi, vi, how, _flag(data.estimate, data.n), assumed
        raise _NotPoolable(f"{_words(kind)} data cannot give a correlation (needs r and n)")

    if measure == "SMCC":
        if kind == "pre_post":
            return _smcc_from_prepost(data, prepost_r, one, use_implied_r)
        if kind == "reported_effect" and data.metric in ("SMCC", "d", "g") and data.n is not None:
            # a within-group standardised change reported by the paper; metafor's SMCC
            # variance 1/n + yi^2/(2n). The paper's standardiser is not always stated.
            est, n = _v(data.estimate), _v(data.n)
            vi = 1 / n + est**2 / (2 * n)
            assumed = data.metric != "SMCC"
            how = (
                f"reported within-group {data.metric} {est:g} (n = {n:g}) used as SMCC; "
                "variance 1/n + yi^2/(2n)"
            )
            if assumed:
                how += (
                    "; ASSUMED standardised by the SD of change "
                    "(the paper's standardiser is not stated)"
                )
            return est, vi, how, _flag(data.estimate, data.n), assumed
        raise _NotPoolable(f"{_words(kind)} data cannot give a pre-post standardised mean change")

    if measure in ("SMD", "MD"):
        if kind == "two_group_continuous":
            cols = {
                "m1i": _v(data.mean1),
                "sd1i": _v(data.sd1),
                "n1i": _v(data.n1),
                "m2i": _v(data.mean2),
                "sd2i": _v(data.sd2),
                "n2i": _v(data.n2),
            }
            yi, vi, how, assumed = one(measure, cols)
            derived = _flag(data.mean1, data.sd1, data.n1, data.mean2, data.sd2, data.n2)
            return yi, vi, how, derived, assumed
        if kind == "reported_effect":
            return _reported_difference(data, measure)
        raise _NotPoolable(
            f"{_words(kind)} data cannot give a {_MEASURE_WORDS.get(measure, measure)}"
        )

    if measure in stats.PROPORTION_MEASURES:
        if kind != "proportion":
            raise _NotPoolable(f"{_words(kind)} data cannot give a single-group proportion")
        n = _v(data.n)
        derived = _flag(data.events, data.n)
        if data.events is not None:
            events = _v(data.events)
            note = ""
        else:
            try:
                count, note = stats.events_from_percent(_percent_text(data.percent), int(n))
            except UserInputError as exc:
                raise _NotPoolable(
                    f"the reported percentage does not fit the reported n ({exc}); the "
                    "denominator of this outcome is probably not the cohort n"
                ) from None
            events, derived = float(count), True
            note = f"events derived from the reported percentage: {note}; "
        yi, vi, how, assumed = one(measure, {"xi": events, "ni": n})
        return yi, vi, note + how, derived, assumed

    if measure in ("OR", "RR", "RD"):
        if kind == "two_group_binary":
            cols = {
                "ai": _v(data.events1),
                "n1i": _v(data.n1),
                "ci": _v(data.events2),
                "n2i": _v(data.n2),
            }
            yi, vi, how, assumed = one(measure, cols)
            derived = _flag(data.events1, data.n1, data.events2, data.n2)
            return yi, vi, how, derived, assumed
        if kind == "reported_effect" and data.metric == measure and data.ci is not None:
            log = measure != "RD"
            est = _v(data.estimate)
            yi = math.log(est) if log else est
            vi = float(stats.var_from_ci(_v(data.ci[0]), _v(data.ci[1]), data.level, log=log))
            how = (
                f"reported {measure} {est:g} with {data.level:g}% CI "
                f"[{_v(data.ci[0]):g}, {_v(data.ci[1]):g}]; "
                f"{'log scale, ' if log else ''}variance from the CI width"
            )
            return yi, vi, how, _flag(data.estimate, *data.ci), False
        raise _NotPoolable(
            f"{_words(kind)} data cannot give a {_MEASURE_WORDS.get(measure, measure)}"
        )

    raise _NotPoolable(f"measure {measure} is not supported for study records")


def _percent_text(num: records.Num | None) -> str:
    """The percentage as printed (so '86' keeps 0 decimals and '33.3' keeps 1)."""
    assert num is not None  # the model guarantees events or percent
    return f"{num.value:g}"


def implied_prepost_r(
    data: records.PrePost, sd_pre: float, sd_post: float
) -> tuple[float, str] | None:
    """The pre-post correlation a study's own numbers imply, with how; None if they don't.

    From the SD of change (reported, or from its CI), else from a paired t statistic,
    else from an exact two-sided p (t on n - 1 df), with the pre and post means and SDs
    (Cochrane Handbook 6.5.2.8 [higgins2023cochrane]_)::

        SD_change = |mean_post - mean_pre| sqrt(n) / t
        r = (SD_pre^2 + SD_post^2 - SD_change^2) / (2 SD_pre SD_post)

    An implied r outside (-1, 1) means the numbers do not fit together: None.

    Examples
    --------
    >>> from synthesis.records import PrePost
    >>> d = PrePost(kind="pre_post", n=20, mean_pre=10, sd_pre=4, mean_post=8, sd_post=4,
    ...             sd_change=4)
    >>> implied_prepost_r(d, 4.0, 4.0)[0]
    0.5
    """
    from scipy import stats

    n = _v(data.n)
    diff = (
        abs(_v(data.mean_post) - _v(data.mean_pre))
        if data.mean_pre is not None and data.mean_post is not None
        else math.nan
    )
    if data.sd_change is not None:
        sdc, how = _v(data.sd_change), f"from the SD of change {_v(data.sd_change):g}"
    elif data.ci_change is not None:
        lo, hi = _v(data.ci_change[0]), _v(data.ci_change[1])
        from synthesis import stats

        sdc = float(stats.sd_from_ci(lo, hi, n, level=data.level, dist="t"))
        how = f"from the SD of change {sdc:.4g} (from its {data.level:g}% CI [{lo:g}, {hi:g}])"
    elif data.statistic is not None and data.statistic.kind == "t" and math.isfinite(diff):
        t = abs(data.statistic.value)
        sdc = diff * math.sqrt(n) / t if t > 0 else math.nan
        how = (
            f"from the paired t = {data.statistic.value:g} with the means (SD of change {sdc:.4g})"
        )
    elif data.p is not None and data.p_bound == "=" and math.isfinite(diff) and n > 1:
        p = _v(data.p)
        t = float(stats.t.isf(p / 2, n - 1))
        sdc = diff * math.sqrt(n) / t if 0 < p < 1 else math.nan
        how = (
            f"from the reported p = {p:g} (two-sided paired t on n - 1 = {n - 1:g} df assumed, "
            f"t = {t:.4g}, SD of change {sdc:.4g})"
        )
    else:
        return None
    if not (math.isfinite(sdc) and sd_pre > 0 and sd_post > 0):
        return None
    r = (sd_pre**2 + sd_post**2 - sdc**2) / (2 * sd_pre * sd_post)
    if not -1 < r < 1:
        return None
    return float(r), how + " with the pre and post SDs (Cochrane Handbook 6.5.2.8)"


def _smcc_from_prepost(
    data: records.PrePost, prepost_r: float, one: Any, use_implied_r: bool = True
) -> tuple[float, float, str, bool, bool]:
    from synthesis import stats

    n = _v(data.n)
    level = data.level
    if data.mean_change is not None and (data.sd_change or data.ci_change):
        # Change scores with their SD need no pre-post correlation: SMCC = c(n-1) * mean
        # change / SD of change. escalc is given sd1i = sd2i = SD/sqrt(2) with ri = 0, so
        # that its SD of change sqrt(sd1^2 + sd2^2 - 2 ri sd1 sd2) equals the SD exactly.
        if data.sd_change is not None:
            sd = _v(data.sd_change)
            if data.sd_change.derived:
                note = f"SD of change {sd:g} derived in the record: {data.sd_change.derived}"
            elif data.sd_change.assumed:
                note = f"SD of change {sd:g} assumed in the record: {data.sd_change.assumed}"
            else:
                note = f"SD of change {sd:g} as reported"
            derived = _flag(data.mean_change, data.sd_change, data.n)
        else:
            ci_change = data.ci_change
            assert ci_change is not None  # the test above: an SD or a CI of the change
            lo, hi = _v(ci_change[0]), _v(ci_change[1])
            sd = float(stats.sd_from_ci(lo, hi, n, level=level, dist="t"))
            note = (
                f"SD of change {sd:.4g} derived from the {level:g}% CI of the mean change "
                f"[{lo:g}, {hi:g}] with n = {n:g} (t distribution)"
            )
            derived = True
        half = sd / math.sqrt(2)
        cols = {
            "m1i": _v(data.mean_change),
            "m2i": 0.0,
            "sd1i": half,
            "sd2i": half,
            "ni": n,
            "ri": 0.0,
        }
        yi, vi, _, _ = one("SMCC", cols)
        how = f"SMCC from the mean change {_v(data.mean_change):g} and its SD; {note}"
        return yi, vi, how, derived, False

    if data.mean_pre is None or data.mean_post is None:
        raise _NotPoolable("pre-post data need both means, or the mean change with its SD or CI")
    derived = _flag(data.mean_pre, data.mean_post, data.n, data.sd_pre, data.sd_post)
    notes: list[str] = []
    sds: list[float] = []
    for which, sd_num, ci, n_ci in (
        ("pre", data.sd_pre, data.ci_pre, data.n_pre),
        ("post", data.sd_post, data.ci_post, data.n_post),
    ):
        m = n if n_ci is None else _v(n_ci)  # the CI of a mean reflects its own n
        if sd_num is not None:
            sds.append(_v(sd_num))
        elif ci is not None:
            value = float(stats.sd_from_ci(_v(ci[0]), _v(ci[1]), m, level=level, dist="t"))
            sds.append(value)
            notes.append(
                f"SD {which} {value:.4g} derived from the {level:g}% CI of the mean "
                f"[{_v(ci[0]):g}, {_v(ci[1]):g}] with n = {m:g}"
            )
            derived = True
        else:
            raise _NotPoolable(f"no SD or CI of the {which} mean, and no SD of change")
    implied = implied_prepost_r(data, sds[0], sds[1]) if data.r_prepost is None else None
    if data.r_prepost is not None:
        r, assumed, r_note = _v(data.r_prepost), False, " reported"
        derived = derived or _flag(data.r_prepost)
    elif implied is not None and use_implied_r:
        r, assumed, derived = implied[0], False, True
        r_note = f" DERIVED {implied[1]}"
    else:
        r, assumed = prepost_r, True
        r_note = " ASSUMED (not reported; the question's analysis plan sets it)"
        if implied is not None:
            r_note += f"; the study's own numbers imply {implied[0]:.4g} ({implied[1]})"
    cols = {
        "m1i": _v(data.mean_post),
        "m2i": _v(data.mean_pre),
        "sd1i": sds[1],
        "sd2i": sds[0],
        "ni": n,
        "ri": r,
    }
    yi, vi, how, _ = one("SMCC", cols)
    how = f"SMCC from pre and post means and SDs; pre-post r = {r:.4g}{r_note}"
    if notes:
        how += "; " + "; ".join(notes)
    return yi, vi, how, derived, assumed


def _reported_difference(
    data: records.ReportedEffect, measure: str
) -> tuple[float, float, str, bool, bool]:
    from synthesis import stats

    est = _v(data.estimate)
    derived = _flag(data.estimate, data.n, data.n1, data.n2)
    if measure == "MD":
        if data.metric != "MD":
            raise _NotPoolable(f"a reported {data.metric} is not a mean difference")
        if data.ci is not None:
            vi = float(stats.var_from_ci(_v(data.ci[0]), _v(data.ci[1]), data.level))
            return (
                est,
                vi,
                f"reported MD {est:g}; variance from its {data.level:g}% CI",
                derived,
                False,
            )
        if data.se is not None:
            return est, _v(data.se) ** 2, f"reported MD {est:g} with SE", derived, False
        raise _NotPoolable("a reported MD needs a CI or an SE")
    if data.metric not in ("d", "g", "SMD"):
        raise _NotPoolable(f"a reported {data.metric} is not a standardised mean difference")
    assumed = False
    if data.n1 is not None and data.n2 is not None:
        n1, n2 = _v(data.n1), _v(data.n2)
        sizes = f"n1 = {n1:g}, n2 = {n2:g}"
    elif data.n is not None:
        n1 = n2 = _v(data.n) / 2
        sizes = f"n1 = n2 = {n1:g} ASSUMED (equal split of the reported total {_v(data.n):g})"
        assumed = True
    else:
        n1 = n2 = float("nan")
        sizes = ""
    if data.metric == "d" and math.isfinite(n1):
        m = n1 + n2 - 2
        j = math.exp(math.lgamma(m / 2) - math.log(math.sqrt(m / 2)) - math.lgamma((m - 1) / 2))
        yi = j * est
        conv = f"reported d {est:g} converted to Hedges' g {yi:.4g} (exact correction, m = {m:g})"
    else:
        yi = est
        conv = f"reported {data.metric} {est:g} used as Hedges' g"
    if math.isfinite(n1):
        vi = float(stats.var_d(yi, n1, n2))
        how = f"{conv}; variance from group sizes ({sizes})"
    elif data.ci is not None:
        vi = float(stats.var_from_ci(_v(data.ci[0]), _v(data.ci[1]), data.level))
        how = f"{conv}; variance from its {data.level:g}% CI"
    else:
        raise _NotPoolable("a reported SMD needs group sizes (or a total n) or a CI")
    return yi, vi, how, derived, assumed


def _nums(data: Any) -> list[records.Num]:
    """Every number of a data block (tuples such as CIs included)."""
    out: list[records.Num] = []
    for name in type(data).model_fields:
        value = getattr(data, name)
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, records.Num):
                out.append(item)
    return out


def _marks(data: Any) -> tuple[bool, bool]:
    """Whether any number of the block is marked derived, or assumed, in the record."""
    nums = _nums(data)
    return any(n.derived for n in nums), any(n.assumed for n in nums)


def _assumptions(data: Any) -> list[str]:
    return [n.assumed for n in _nums(data) if n.assumed]


# ----------------------------------------------------------------------------- direction, p

#: The favourable direction (+1), the unfavourable (-1) or no difference (0) of each
#: reported direction, for an outcome where higher is better; None when not known.
_FAVOURS = {
    "favours intervention": 1,
    "favours comparator": -1,
    "no difference": 0,
    "mixed": None,
    "unclear": None,
}


def _favourable(direction: str, spec: records.QuestionOutcome) -> int | None:
    """+1/-1/0 in the favourable sense of the outcome, None when not known."""
    if direction in _FAVOURS:
        return _FAVOURS[direction]
    sign = 1 if direction == "positive association" else -1
    if spec.direction == "not applicable":
        return None
    return sign if spec.direction == "higher is better" else -sign


def _raw_sign(direction: str | None, spec: records.QuestionOutcome) -> int | None:
    """Sign of the effect on the measure's own scale (group 1 - group 2, post - pre, r)."""
    if direction == "positive association":
        return 1
    if direction == "negative association":
        return -1
    fav = _FAVOURS.get(direction or "")
    if not fav or spec.direction == "not applicable":
        return None
    return fav if spec.direction == "higher is better" else -fav


def _effect_from_p(
    data: records.Narrative, spec: records.QuestionOutcome
) -> tuple[float, float, str]:
    """(yi, vi, how) from a narrative result's p, direction, test and n; or _NotPoolable."""
    from synthesis.stats import from_p

    measure, test = spec.measure, data.test
    wanted = {"two-sample t": ("SMD",), "paired t": ("SMCC",), "correlation t": ("ZCOR", "COR")}
    if measure not in wanted.get(test or "", ()):
        raise _NotPoolable(f"a p value from a {test} test cannot give a {measure}")
    if data.p is None:
        raise _NotPoolable(f"a {test} test without its p value gives no effect size")
    if data.p_sided != "two-sided":
        raise _NotPoolable("the conversion needs a two-sided p; this one is one-sided")
    sign = _raw_sign(data.direction, spec)
    if sign is None:
        raise _NotPoolable(
            f"direction '{data.direction}' does not give the sign of the effect, so the p value "
            "cannot be turned into an effect size"
        )
    p, bound = float(data.p.value), data.p_bound
    try:
        if test == "two-sample t":
            if data.n1 is None or data.n2 is None:
                raise _NotPoolable("a two-sample t test needs both group sizes (n1, n2)")
            res = from_p.smd_from_p(p, _v(data.n1), _v(data.n2), sign, p_bound=bound)
        elif data.n is None:
            raise _NotPoolable(f"a {test} test needs n")
        elif test == "paired t":
            res = from_p.smcc_from_p(p, _v(data.n), sign, p_bound=bound)
        else:
            res = from_p.r_from_p(p, _v(data.n), sign, p_bound=bound)
    except UserInputError as exc:
        raise _NotPoolable(f"no effect size from p: {exc}") from None
    if not res.is_value:
        raise _NotPoolable(f"{res.method}; a bound is never pooled")
    if measure in ("ZCOR", "COR"):
        from synthesis import stats

        frame = stats.escalc_table(measure, {"ri": [res.estimate], "ni": [_v(data.n)]})
        return float(frame["yi"].iloc[0]), float(frame["vi"].iloc[0]), res.method
    return res.estimate, res.variance, res.method


def _direction_and_p(
    data: Any, spec: records.QuestionOutcome, yi: float, vi: float
) -> dict[str, Any]:
    """The direction and p fields of an :class:`EffectRow`.

    The direction is the one the record reports; else the sign of the estimate against
    the measure's null (none for single-group proportions, which compare with nothing).
    The p value is the reported one; else the Wald p of the estimate and its variance.
    """
    from scipy.stats import norm

    out: dict[str, Any] = {}
    null = NULL_VALUES.get(spec.measure)
    finite = math.isfinite(yi) and math.isfinite(vi) and vi > 0
    if data.direction is not None:
        out["direction"] = _favourable(data.direction, spec)
        out["direction_how"] = f"reported: {data.direction}"
    elif finite and null is not None and spec.direction != "not applicable":
        sign = (yi > null) - (yi < null)
        out["direction"] = sign if spec.direction == "higher is better" else -sign
        out["direction_how"] = "from the sign of the effect size"
    elif (own := _own_metric(data)) is not None and spec.direction != "not applicable":
        metric, est, _ = own
        ref = 1.0 if metric in _RATIO_METRICS else 0.0
        sign = (est > ref) - (est < ref)
        out["direction"] = sign if spec.direction == "higher is better" else -sign
        out["direction_how"] = (
            f"from the sign of the reported {metric} {est:g} against {ref:g} ({spec.direction})"
        )
    else:
        out["direction_how"] = (
            "not known: a single-group result has no comparator"
            if null is None
            else "not known: no direction or estimate reported"
        )
    if data.p is not None:
        out.update(
            p=float(data.p.value), p_bound=data.p_bound, p_sided=data.p_sided, p_how="reported"
        )
    elif finite and null is not None:
        out["p"] = float(2 * norm.sf(abs(yi - null) / math.sqrt(vi)))
        out["p_how"] = "computed from the effect size and its variance (Wald z)"
    elif (own := _own_metric(data)) is not None and math.isfinite(own[2]):
        metric, est, se = own
        centre = math.log(est) if metric in _RATIO_METRICS else est
        out["p"] = float(2 * norm.sf(abs(centre) / se))
        out["p_how"] = (
            f"computed from the reported {metric} and its {data.level:g}% CI"
            + (" (log scale)" if metric in _RATIO_METRICS else "")
            + " (Wald z)"
        )
    return out


_RATIO_METRICS = ("OR", "RR", "HR")


def _own_metric(data: Any) -> tuple[str, float, float] | None:
    """(metric, estimate, SE on the analysis scale) of a reported effect that the
    question's measure cannot use; SE is NaN without a CI or SE. None otherwise."""
    from synthesis import stats

    if not isinstance(data, records.ReportedEffect):
        return None
    est = _v(data.estimate)
    ratio = data.metric in _RATIO_METRICS
    if not math.isfinite(est) or (ratio and est <= 0):
        return None
    se = math.nan
    if data.ci is not None:
        lo, hi = _v(data.ci[0]), _v(data.ci[1])
        if not ratio or (lo > 0 and hi > 0):
            se = float(stats.se_from_ci(lo, hi, data.level, log=ratio))
    elif data.se is not None and not ratio:
        se = _v(data.se)
    return data.metric, est, se


def _analysed_n(data: Any, study: records.Study) -> tuple[float, str]:
    """Participants behind this result and where the number comes from.

    The data's own n (``"result"``), else the study's population n (``"study"``).
    """
    for names in (("n",), ("n1", "n2")):
        values = [v for name in names if (v := getattr(data, name, None)) is not None]
        if len(values) == len(names):
            return float(sum(v.value for v in values)), "result"
    return _v(study.population.n), "study"


#: Designs with a comparison group (their population n counts both groups).
COMPARATIVE_DESIGNS = (
    "non-randomised controlled",
    "randomised controlled",
    "cluster randomised controlled",
    "crossover randomised",
    "historical cohort comparison",
)


def _comparative(study: records.Study) -> bool:
    """Whether the study compares groups (so its population n is not one arm's n)."""
    if study.design in COMPARATIVE_DESIGNS:
        return True
    comparator = (study.comparator or "").lower()
    own = ("own baseline", "none", "lower mindfulness")
    return study.design == "register cohort" and bool(comparator) and not comparator.startswith(own)


def effect_rows(
    base: EvidenceBase,
    question: str,
    outcome: str,
    *,
    prepost_r: float | None = None,
    use_implied_r: bool = True,
) -> list[EffectRow]:
    """Every study result for ``question``/``outcome``, pooled or not, each with its reason.

    Parameters
    ----------
    base : EvidenceBase
        The validated evidence base.
    question, outcome : str
        Ids of the question and one of its outcomes.
    prepost_r : float, optional
        Pre-post correlation assumed where a pre-post study reports none (default: the
        question's ``analysis.prepost_r``).
    use_implied_r : bool, default True
        Use the pre-post r a study's own numbers imply (:func:`implied_prepost_r`) before
        the assumed one; False assumes ``prepost_r`` wherever no r is reported (for the
        robustness grid).
    """
    from synthesis import integrity

    q = base.questions.get(question)
    if q is None:
        raise UserInputError(
            f"question {question!r} does not exist (allowed: {', '.join(sorted(base.questions))})"
        )
    spec = next((o for o in q.outcomes if o.id == outcome), None)
    if spec is None:
        raise UserInputError(
            f"outcome {outcome!r} is not defined in {question!r} (allowed: "
            f"{', '.join(o.id for o in q.outcomes)})"
        )
    r_assumed = q.analysis.prepost_r if prepost_r is None else prepost_r
    serving = [(s, i, oc) for s, i, oc in base.outcomes(question) if oc.outcome == outcome]
    batch = _EscalcBatch()
    for _, _, oc in serving:  # note every escalc row, then compute them together
        if not isinstance(oc.data, records.Narrative):
            with contextlib.suppress(_NotPoolable, UserInputError):
                _convert(oc.data, spec.measure, r_assumed, use_implied_r, batch.record)
    batch.compute()
    rows = []
    for study, index, oc in serving:
        bib = base.bibliography
        label = study.label or (
            short_label(bib[study.citation]) if bib and study.citation in bib else study.id
        )
        n, n_basis = _analysed_n(oc.data, study)
        yi = vi = float("nan")
        how, derived, assumed = "", False, False
        data = oc.data
        from_p = False
        if isinstance(data, records.Narrative):
            status, reason = "narrative", f"numbers not available: {data.missing}"
            if study.status in ("protocol", "ongoing"):
                status = "awaiting results"
            elif q.analysis.effects_from_p and data.test in records.CONVERTIBLE_TESTS:
                try:
                    yi, vi, how = _effect_from_p(data, spec)
                    status, reason, derived, from_p = "pooled", "", True, True
                except _NotPoolable as exc:
                    status, reason = "not poolable", str(exc)
        else:
            try:
                yi, vi, how, derived, assumed = _convert(
                    data, spec.measure, r_assumed, use_implied_r, batch.lookup
                )
                marked_derived, marked_assumed = _marks(data)
                derived, assumed = derived or marked_derived, assumed or marked_assumed
                if marked_assumed:
                    how += "; assumed input: " + "; ".join(_assumptions(data))
                status, reason = "pooled", ""
            except _NotPoolable as exc:
                status, reason = "not poolable", str(exc)
        if status == "pooled":  # the same checks for every pooled candidate
            if not oc.pool:
                status, reason = "excluded", oc.exclude_reason or ""
            # the plan's pooling rules for this outcome (synthesis.pooling_rules)
            elif why := pooling_rules.exclusion(q, spec, study.design, oc):
                status, reason = "excluded", why
            elif not (math.isfinite(yi) and math.isfinite(vi) and vi > 0):
                status, reason = "not poolable", f"effect size could not be computed: {how}"
            # Integrity block (synthesis.integrity, `synthesis check`): a record whose
            # numbers contradict each other (an error-severity flag) is not pooled,
            # unless the outcome's integrity_note explains it; then it is pooled and
            # the note is kept in the reason. Flags are computed once, only here.
            elif errors := integrity.blocking_flags(base, study, index):
                flags = "; ".join(p.message for p in errors)
                if oc.integrity_note:
                    reason = f"integrity: {flags} (pooled: {oc.integrity_note})"
                else:
                    status, reason = "excluded", f"integrity: {flags}"
        rows.append(
            EffectRow(
                study=study.id,
                label=label,
                citation=study.citation,
                design=study.design,
                outcome_name=oc.name,
                timepoint=oc.timepoint or "",
                n=n,
                status=status,
                reason=reason,
                yi=yi,
                vi=vi,
                es_method=how,
                derived=derived,
                assumed=assumed,
                cohort=oc.cohort or study.cohort or "",
                rob=study.risk_of_bias.overall if study.risk_of_bias else "not assessed",
                data_kind=data.kind,
                n_basis=n_basis,
                comparative=_comparative(study),
                from_p=from_p,
                **_direction_and_p(data, spec, yi, vi),
            )
        )
    order = {s: i for i, s in enumerate(STATUSES)}
    rows.sort(key=lambda r: (order[r.status], r.label, r.study))
    return rows
