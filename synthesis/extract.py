"""From study records to effect sizes: one row per study result for a question's outcome.

:func:`effect_table` looks at every outcome record serving one outcome of one question,
turns its data into the inputs of metafor's ``escalc`` for the question's measure (using
the conversions of :mod:`synthesis.effects`), and says for each row whether it is pooled,
and if not, why. Nothing is dropped silently: excluded, narrative and not-poolable rows
stay in the table with their reason, so the evidence map and reports can show them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from synthesis import records

if TYPE_CHECKING:
    import pandas as pd

    from synthesis.validate import EvidenceBase

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


def _convert(data: Any, measure: str, prepost_r: float) -> tuple[float, float, str, bool, bool]:
    """(yi, vi, es_method, derived, assumed) for one data block, or raise _NotPoolable."""
    from synthesis import effects
    from synthesis.errors import UserInputError

    def one(measure_: str, cols: dict[str, float], **kw: Any) -> tuple[float, float, str, bool]:
        frame = effects.escalc(measure_, {k: [v] for k, v in cols.items()}, **kw)
        row = frame.iloc[0]
        return float(row["yi"]), float(row["vi"]), str(row["es_method"]), bool(row["assumed"])

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
            return _smcc_from_prepost(data, prepost_r, one)
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
            nums = (data.mean1, data.sd1, data.n1, data.mean2, data.sd2, data.n2)
            return yi, vi, how, _flag(*nums), assumed
        if kind == "reported_effect":
            return _reported_difference(data, measure)
        raise _NotPoolable(
            f"{_words(kind)} data cannot give a {_MEASURE_WORDS.get(measure, measure)}"
        )

    if measure in effects.PROPORTION_MEASURES:
        if kind != "proportion":
            raise _NotPoolable(f"{_words(kind)} data cannot give a single-group proportion")
        n = _v(data.n)
        derived = _flag(data.events, data.n)
        if data.events is not None:
            events = _v(data.events)
            note = ""
        else:
            try:
                count, note = effects.events_from_percent(_percent_text(data.percent), int(n))
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
            nums = (data.events1, data.n1, data.events2, data.n2)
            return yi, vi, how, _flag(*nums), assumed
        if kind == "reported_effect" and data.metric == measure and data.ci is not None:
            log = measure != "RD"
            est = _v(data.estimate)
            yi = math.log(est) if log else est
            vi = float(effects.var_from_ci(_v(data.ci[0]), _v(data.ci[1]), data.level, log=log))
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


def _smcc_from_prepost(
    data: records.PrePost, prepost_r: float, one: Any
) -> tuple[float, float, str, bool, bool]:
    from synthesis import effects

    n = _v(data.n)
    level = data.level
    if data.mean_change is not None and (data.sd_change or data.ci_change):
        # Change scores with their SD need no pre-post correlation: SMCC = c(n-1) * mean
        # change / SD of change. escalc is given sd1i = sd2i = SD/sqrt(2) with ri = 0, so
        # that its SD of change sqrt(sd1^2 + sd2^2 - 2 ri sd1 sd2) equals the SD exactly.
        if data.sd_change is not None:
            sd = _v(data.sd_change)
            note = f"SD of change {sd:g} as reported"
            derived = _flag(data.mean_change, data.sd_change, data.n)
        else:
            lo, hi = _v(data.ci_change[0]), _v(data.ci_change[1])
            sd = float(effects.sd_from_ci(lo, hi, n, level=level, dist="t"))
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
    notes = []
    sds = []
    for which, sd, ci, n_ci in (
        ("pre", data.sd_pre, data.ci_pre, data.n_pre),
        ("post", data.sd_post, data.ci_post, data.n_post),
    ):
        m = n if n_ci is None else _v(n_ci)  # the CI of a mean reflects its own n
        if sd is not None:
            sds.append(_v(sd))
        elif ci is not None:
            value = float(effects.sd_from_ci(_v(ci[0]), _v(ci[1]), m, level=level, dist="t"))
            sds.append(value)
            notes.append(
                f"SD {which} {value:.4g} derived from the {level:g}% CI of the mean "
                f"[{_v(ci[0]):g}, {_v(ci[1]):g}] with n = {m:g}"
            )
            derived = True
        else:
            raise _NotPoolable(f"no SD or CI of the {which} mean, and no SD of change")
    assumed = data.r_prepost is None
    r = prepost_r if assumed else _v(data.r_prepost)
    cols = {
        "m1i": _v(data.mean_post),
        "m2i": _v(data.mean_pre),
        "sd1i": sds[1],
        "sd2i": sds[0],
        "ni": n,
        "ri": r,
    }
    yi, vi, how, _ = one("SMCC", cols)
    how = f"SMCC from pre and post means and SDs; pre-post r = {r:g}" + (
        " ASSUMED (not reported; the question's analysis plan sets it)" if assumed else " reported"
    )
    if notes:
        how += "; " + "; ".join(notes)
    return yi, vi, how, derived, assumed


def _reported_difference(
    data: records.ReportedEffect, measure: str
) -> tuple[float, float, str, bool, bool]:
    from synthesis import effects

    est = _v(data.estimate)
    derived = _flag(data.estimate, data.n, data.n1, data.n2)
    if measure == "MD":
        if data.metric != "MD":
            raise _NotPoolable(f"a reported {data.metric} is not a mean difference")
        if data.ci is not None:
            vi = float(effects.var_from_ci(_v(data.ci[0]), _v(data.ci[1]), data.level))
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
        vi = float(effects.var_d(yi, n1, n2))
        how = f"{conv}; variance from group sizes ({sizes})"
    elif data.ci is not None:
        vi = float(effects.var_from_ci(_v(data.ci[0]), _v(data.ci[1]), data.level))
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


def _analysed_n(data: Any, study: records.Study) -> float:
    """Participants behind this result: the data's own n, else the study's population n."""
    for names in (("n",), ("n1", "n2")):
        values = [getattr(data, name, None) for name in names]
        if all(v is not None for v in values):
            return float(sum(v.value for v in values))
    return _v(study.population.n)


def effect_rows(
    base: EvidenceBase, question: str, outcome: str, *, prepost_r: float | None = None
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
    """
    from synthesis import integrity
    from synthesis.bib import short_label
    from synthesis.errors import UserInputError

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
    rows = []
    for study, index, oc in base.outcomes(question):
        if oc.outcome != outcome:
            continue
        bib = base.bibliography
        label = study.label or (
            short_label(bib[study.citation]) if bib and study.citation in bib else study.id
        )
        n = _analysed_n(oc.data, study)
        yi = vi = float("nan")
        how, derived, assumed = "", False, False
        data = oc.data
        if isinstance(data, records.Narrative):
            status, reason = "narrative", f"numbers not available: {data.missing}"
            if study.status in ("protocol", "ongoing"):
                status = "awaiting results"
        else:
            try:
                yi, vi, how, derived, assumed = _convert(data, spec.measure, r_assumed)
                marked_derived, marked_assumed = _marks(data)
                derived, assumed = derived or marked_derived, assumed or marked_assumed
                if marked_assumed:
                    how += "; assumed input: " + "; ".join(_assumptions(data))
                status, reason = "pooled", ""
            except _NotPoolable as exc:
                status, reason = "not poolable", str(exc)
            if status == "pooled":
                if not oc.pool:
                    status, reason = "excluded", oc.exclude_reason or ""
                elif study.design not in q.designs:
                    status = "excluded"
                    reason = f"design '{study.design}' is not among the question's designs"
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
            )
        )
    order = {s: i for i, s in enumerate(STATUSES)}
    rows.sort(key=lambda r: (order[r.status], r.label, r.study))
    return rows


def effect_table(
    base: EvidenceBase, question: str, outcome: str, *, prepost_r: float | None = None
) -> pd.DataFrame:
    """:func:`effect_rows` as a DataFrame (one row per study result)."""
    import pandas as pd

    rows = effect_rows(base, question, outcome, prepost_r=prepost_r)
    columns = list(EffectRow.__dataclass_fields__)
    return pd.DataFrame([asdict(r) for r in rows], columns=columns)
