"""The commissioner's evidence brief: key messages, summary of findings, about this evidence.

A brief follows the order of a Cochrane plain-language summary and of GRADE's
summary-of-findings table [higgins2023cochrane]_: the question in one line, two to four
key messages each with its certainty, what the evidence can and cannot support (no
recommendations), how up to date it is; then the summary-of-findings table; then how the
studies were found, what the appraisal rests on, the assumptions behind the numbers and
the main gaps. Every sentence is built from the analysed outcomes
(:class:`synthesis.analysis.OutcomeAnalysis`), their GRADE certainty
(:func:`synthesis.grade.grade_outcome`) and the records, so it changes when they do.

:func:`plain_problems` checks a commissioner page: no unrendered citation marker, no
internal id and no term of :data:`JARGON` outside the glossary.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

from synthesis.bib import short_label
from synthesis.evidence_map import data_still_needed
from synthesis.grade import RANDOMISED, SYMBOLS, grade_outcome, statement
from synthesis.plain import long_date, verdict
from synthesis.pooling_rules import commissioner_span, min_k
from synthesis.records import Num
from synthesis.vocabulary import PROPORTION_MEASURES

if TYPE_CHECKING:
    from synthesis.analysis import OutcomeAnalysis
    from synthesis.evidence import EvidenceBase
    from synthesis.grade import Certainty

__all__ = [
    "CERTAINTY_DEFINITIONS",
    "GLOSSARY",
    "JARGON",
    "MAX_SOF_OUTCOMES",
    "SofRow",
    "about_evidence_html",
    "brief_html",
    "brief_words",
    "certainty_badge",
    "glossary_html",
    "plain_problems",
    "render_citations",
    "sof_html",
    "sof_rows",
    "visible_text",
]

_E = html.escape

#: GRADE: a summary-of-findings table shows at most seven outcomes.
MAX_SOF_OUTCOMES = 7

#: What each GRADE level means (in our words; GRADE's definitions [higgins2023cochrane]_).
CERTAINTY_DEFINITIONS = {
    "high": "the true effect is very likely close to the estimate.",
    "moderate": "probably close.",
    "low": "may be markedly different.",
    "very low": "probably markedly different.",
}

#: Terms that stay on commissioner pages, each explained once in the glossary.
GLOSSARY = {
    "certainty of the evidence (GRADE)": "how sure we can be that a result is close to the "
    "truth: high, moderate, low or very low. It starts high for randomised trials and low "
    "for other designs, and goes down for risk of bias, inconsistent results, indirect "
    "evidence, imprecision or publication bias.",
    "confidence interval (CI)": "the range of values compatible with the data. A wide "
    "interval means an uncertain result; if it includes 'no effect', the data do not rule "
    "out that there is none.",
    "prediction interval": "where the result of a new, similar study would probably fall; "
    "it is wider than the confidence interval when studies disagree.",
    "standardised mean difference / change": "a difference (between groups, or from before "
    "to after training) divided by the spread (standard deviation, SD) of the scores, so "
    "that studies using different questionnaires can be combined. About 0.2 is small, 0.5 "
    "moderate and 0.8 large.",
    "correlation (r)": "how closely two measures go together, from -1 to 1; 0 means no "
    "association. About 0.1 is small, 0.3 moderate and 0.5 large.",
    "pooled estimate (meta-analysis)": "the studies' results combined, each weighted by "
    "its precision. We used a random-effects model, which allows the true effect to differ "
    "between settings.",
    "heterogeneity (I², Q)": "how much the studies' results differ beyond chance. I² is "
    "the share of the variation due to real differences between studies (0% none, 75% or "
    "more considerable); Q is the test of whether they differ, with its p-value. The "
    "between-study variance (called tau-squared, τ², by statisticians) measures the same "
    "on the scale of the effect.",
    "p-value": "how surprising the data would be if there were no effect; a small p-value "
    "(below 0.05) is called statistically significant. It does not say how large or "
    "important an effect is.",
    "risk of bias": "how likely it is that a study's design or conduct makes its result "
    "wrong, judged per domain (for example how groups were formed, or missing data) with "
    "a recognised tool: RoB 2 for randomised trials, ROBINS-I for other comparisons, JBI "
    "checklists for other designs.",
    "pre-post study": "a study that measures the same people before and after an "
    "intervention, without a control group; changes may be due to other things that "
    "happened at the same time.",
}

#: Terms a commissioner page must not use outside the glossary (statistical shorthand,
#: estimator and test names, internal scale names).
JARGON = (
    "REML",
    "τ²",
    "tau",
    "tau2",
    "tau^2",
    "knha",
    "Knapp",
    "Hartung",
    "logit",
    "SMD",
    "SMCC",
    "SMCR",
    "ZCOR",
    "PLO",
    "PFT",
    "Hedges",
    "Fisher's z",
    "DerSimonian",
    "escalc",
    "rma(",
    "optimal information size",
    "NaN",
)


def render_citations(text: str, base: EvidenceBase) -> str:
    """Replace ``[@key]`` (and ``[@a; @b]``) by '(Author et al. Year)' labels; plain text in,
    plain text out. A key not in the bibliography stays visible as '(key?)'."""
    bib = base.bibliography

    def label(key: str) -> str:
        key = key.strip().lstrip("@")
        if bib is not None and key in bib:
            ref = bib[key]
            if not ref.get("author") and ref.get("editor"):  # an edited book: its editors
                ref = replace(ref, fields={**ref.fields, "author": ref.get("editor")})
            return short_label(ref)
        return f"{key}?"

    def sub(match: re.Match[str]) -> str:
        keys = [k for k in match.group(1).split(";") if k.strip()]
        return "(" + "; ".join(label(k) for k in keys) + ")"

    text = re.sub(r"\s*\(?\[(@[^\]]+)\]\)?", lambda m: " " + sub(m), text)
    return text.replace("( (", "(").strip()


# ------------------------------------------------------------------------ the numbers


def _level_index(level: str) -> int:
    order = ("no evidence", "very low", "low", "moderate", "high")
    return order.index(level) if level in order else 0


def _effect_of(a: OutcomeAnalysis) -> tuple[float, float, float, int] | None:
    """(estimate, lower, upper, studies) on the natural scale: pooled, or the one study."""
    nat = a.natural()
    if nat is not None:
        return nat.estimate, nat.ci_lb, nat.ci_ub, a.k
    if len(a.pooled_rows) == 1:
        t = a.study_table()
        r = t[t.status == "pooled"].iloc[0]
        return float(r.estimate), float(r.ci_lb), float(r.ci_ub), 1
    return None


def _num(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}".replace("-", "−")


def _signed(x: float, unit: str, digits: int = 2) -> str:
    """'0.57 SD lower' / '0.20 SD higher' / 'no difference'."""
    if x == 0:
        return f"0 {unit}".strip()
    word = "higher" if x > 0 else "lower"
    return f"{abs(x):.{digits}f} {unit} {word}".replace("  ", " ")


def _range(lo: float, hi: float, unit: str, digits: int = 2) -> str:
    return f"{_signed(lo, unit, digits)} to {_signed(hi, unit, digits)}"


def _absolute(a: OutcomeAnalysis) -> str:
    """The absolute effect in GRADE's words, with a familiar instrument's points when the
    plan gives a typical SD."""
    eff = _effect_of(a)
    if eff is None:
        return ""
    est, lo, hi, _ = eff
    m = a.measure

    if not verdict(lo, hi, a.outcome).informative:  # no single number to headline
        if m in PROPORTION_MEASURES:
            return (
                f"no single number: the interval runs from {100 * lo:.0f} to {100 * hi:.0f} per 100"
            )
        return f"no single number: the interval runs from {_num(lo)} to {_num(hi)}"
    if m in PROPORTION_MEASURES:
        return f"{100 * est:.0f} per 100 people ({100 * lo:.0f} to {100 * hi:.0f})"
    if m in ("ZCOR", "COR"):
        return f"correlation r = {_num(est)} ({_num(lo)} to {_num(hi)})"
    if m in ("SMD", "SMCC", "SMCR"):
        text = f"{_signed(est, 'SD')} ({_range(lo, hi, '')})".replace("  ", " ")
        sd = a.outcome.typical_sd
        if sd is not None:
            unit = f"{_instrument_short(sd.instrument)} {sd.unit}"
            text += (
                f"; about {_signed(est * sd.value, unit, 1)} "
                f"({_range(lo * sd.value, hi * sd.value, '', 1)})".replace("  ", " ")
            )
        return text
    if m in ("MD", "RD"):
        return f"{_signed(est, '')} ({_range(lo, hi, '')})".replace("  ", " ")
    if m in ("OR", "RR"):
        return ""  # needs a baseline risk, which the plan does not give
    return f"{_num(est)} ({_num(lo)} to {_num(hi)})"


def _side_by_side(a: OutcomeAnalysis) -> str:
    """'not combined' for an outcome the plan does not pool ('' otherwise): no combined
    number; each study's result is in the page's detail (forest plot and text)."""
    if not a.side_by_side:
        return ""
    return "not combined"


def _relative(a: OutcomeAnalysis) -> str:
    eff = _effect_of(a)
    if eff is None or a.measure not in ("OR", "RR"):
        return "—"
    est, lo, hi, _ = eff
    name = "odds ratio" if a.measure == "OR" else "risk ratio"
    return f"{name} {_num(est)} ({_num(lo)} to {_num(hi)})"


def _instrument_short(instrument: str) -> str:
    """'Maslach Burnout Inventory, emotional exhaustion subscale' -> 'MBI' (initials of
    the capitalised words before the comma)."""
    head = instrument.partition(",")[0]
    words = head.split()
    return "".join(w[0] for w in words if w[:1].isupper()) if len(words) > 1 else head


@dataclass(frozen=True)
class SofRow:
    """One outcome of the summary-of-findings table."""

    analysis: OutcomeAnalysis
    certainty: Certainty
    statement: str
    relative: str
    absolute: str
    participants: str
    comments: str


def sof_rows(
    base: EvidenceBase, analyses: list[OutcomeAnalysis]
) -> tuple[list[SofRow], list[SofRow]]:
    """The rows of the table (at most :data:`MAX_SOF_OUTCOMES`) and the other outcomes.

    Critical outcomes come first and important ones after, each in the plan's order;
    within them outcomes with some evidence come before outcomes without any.
    """
    rows = []
    for i, a in enumerate(analyses):
        c = grade_outcome(base, a)
        eff = _effect_of(a)
        if eff is not None and c.level == "very low":
            comments = ["Very uncertain."]
        elif eff is not None:
            comments = [re.split(r"(?<=\.) ", statement(a, c))[0]]  # interval: in the table
        elif a.side_by_side:
            comments = ["Too few studies to combine."]
        elif c.studies:
            comments = ["Direction of the result only."]
        elif any(r.status == "awaiting results" for r in a.rows):
            comments = ["Results awaited."]
        else:
            comments = ["No study reports this outcome."]
        participants = f"{c.participants} ({c.studies})" if c.studies else "none (0)"
        row = SofRow(
            a,
            c,
            statement(a, c),
            _relative(a),
            _absolute(a) if eff is not None else _side_by_side(a) or "no numbers",
            participants,
            " ".join(comments),
        )
        rank = (not a.outcome.critical, c.level == "no evidence", i)
        rows.append((rank, row))
    rows.sort(key=lambda x: x[0])
    ordered = [r for _, r in rows]
    return ordered[:MAX_SOF_OUTCOMES], ordered[MAX_SOF_OUTCOMES:]


def _short_name(a: OutcomeAnalysis) -> str:
    return a.outcome.name


def _certainty_html(level: str, *, word: bool = False) -> str:
    sym = SYMBOLS.get(level, "")
    label = level[0].upper() + level[1:] if level else level
    label += " certainty" if word and sym else ""
    cls = level.replace(" ", "-")
    aria = ""
    symbols = f'<span class="symbols" aria-hidden="true">{sym}</span> ' if sym else ""
    return f'<span class="certainty certainty-{cls}"{aria}>{symbols}{_E(label)}</span>'


#: Phrases of GRADE reasons rewritten for commissioners (statistical shorthand out).
_PLAIN_PHRASES = (
    ("rated down one level", "−1 level"),
    ("rated down two levels", "−2 levels"),
    ("rated up one level", "+1 level"),
    ("rated up two levels", "+2 levels"),
    (
        " of the evidence (by weight) from studies at serious or high risk of bias",
        " of the weight from studies at high risk of bias",
    ),
)


def plain_reason(reason: str, base: EvidenceBase) -> str:
    """A GRADE reason as a footnote: record ids replaced by study labels, shorthand out."""
    for old, new in _PLAIN_PHRASES:
        reason = reason.replace(old, new)
    # the participant count is in the table: without it, rows share the footnote
    reason = re.sub(
        r"\d+ participants, fewer than the optimal information size of about (\d+)",
        r"fewer than about \1 participants",
        reason,
    )
    reason = reason.replace(
        "the confidence interval includes no effect", "the interval includes no effect"
    )
    # the interval itself is in the table: without it, rows share the footnote
    reason = re.sub(r" \(-?[\d.]+%? to -?[\d.]+%?\)", "", reason)
    reason = re.sub(r" \([^()]*sign test[^()]*\)", "", reason)  # the counts: in the detail
    reason = reason.replace(" (the studies report the direction of the result only)", "")
    reason = re.sub(r"^(Risk of bias: [^:]+: )\d+% of the weight", r"\1most of the weight", reason)
    for sid, study in base.studies.items():
        if sid in reason:
            reason = re.sub(rf"\b{re.escape(sid)}\b", study.label or sid, reason)
    return render_citations(reason, base)


def certainty_badge(level: str) -> str:
    """The certainty as a labelled badge (symbols and words), or 'no evidence'."""
    if level == "no evidence":
        return '<span class="certainty certainty-none">No evidence</span>'
    return _certainty_html(level)


def _letters(n: int) -> str:
    out = ""
    n += 1
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(97 + rem) + out
    return out


def sof_html(base: EvidenceBase, analyses: list[OutcomeAnalysis]) -> str:
    """The summary-of-findings table in GRADE's layout, lettered footnotes shared across rows,
    the other outcomes below it and the certainty levels defined."""
    shown, others = sof_rows(base, analyses)
    q = analyses[0].question
    notes: dict[str, str] = {}

    def marks(c: Certainty) -> str:
        letters = []
        for full in c.reasons():
            reason, _, thresholds = plain_reason(full, base).partition("; thresholds: ")
            domain, _, why = reason.partition(": ")  # "Imprecision: −2 levels: a; b"
            _, _, why = why.partition(": ") if re.match(r"[−+]\d level", why) else ("", "", why)
            pieces = why.split("; ") if domain == "Imprecision" else [why]
            if domain == "Indirectness" and why.count(": ") > 1:  # several studies: name them
                names = [x.split(": ")[0] for x in re.split(r"\.?; (?=[A-Z][^:;]*: )", why)]
                pieces = [f"differs from the question in {_names(names)} (reasons in the detail)"]
            parts = [f"{domain}: {x}" for x in pieces if x]
            thresholds = re.sub(r" \([^()]*\)$", "", thresholds)  # its aside: in the plan
            thresholds = re.sub(r", applied to [^:]*", "", thresholds)
            parts += [f"Thresholds used: {thresholds}"] if thresholds else []
            for part in parts:  # the thresholds' source is one footnote shared by all rows
                if part not in notes:
                    notes[part] = _letters(len(notes))
                letters.append(notes[part])
        if not letters:
            return ""
        links = ",".join(f'<a href="#sof-{_E(q.id)}-{x}">{x}</a>' for x in letters)
        return f'<sup class="fn">{links}</sup>'

    body = []
    groups: dict[str, list[SofRow]] = {}
    for r in shown:  # one block per comparison ('training versus control'), in plan order
        groups.setdefault(_comparison(r.analysis), []).append(r)
    star = False
    for comparison, members in groups.items():
        if comparison and len(groups) > 1:
            body.append(
                f'<tr class="group"><th colspan="6" scope="rowgroup">{_E(comparison)}</th></tr>'
            )
        for r in members:
            c = r.certainty
            certainty = (
                _certainty_html(c.level) + marks(c) if c.level != "no evidence" else "no evidence"
            )
            name = (
                r.analysis.outcome.name.split(",")[0]
                if len(groups) > 1
                else _short_name(r.analysis)
            )
            absolute = _E(r.absolute)
            if r.analysis.outcome.typical_sd is not None and "points" in r.absolute:
                absolute += '<sup class="fn">*</sup>'
                star = True
            body.append(
                f'<tr><th scope="row">{_E(name)}</th>'
                f"<td>{_E(r.relative)}</td><td>{absolute}</td>"
                f"<td>{_E(r.participants)}</td><td>{certainty}</td>"
                f"<td>{_E(r.comments)}</td></tr>"
            )
    level = analyses[0].settings.level
    caption = _E(q.short_title)
    table = (
        f'<div class="table-wrap"><table class="sof"><caption>{caption}</caption><thead><tr>'
        '<th scope="col">Outcome</th>'
        f'<th scope="col">Relative effect ({level:g}% CI)</th>'
        f'<th scope="col">Absolute effect ({level:g}% CI)</th>'
        '<th scope="col">Participants (studies)</th>'
        '<th scope="col">Certainty (GRADE)</th>'
        '<th scope="col">Comments</th></tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )
    other = ""
    if others:
        items = []
        for r in others:
            c = r.certainty
            cert = _certainty_html(c.level) if c.level != "no evidence" else "no evidence"
            items.append(f"<li>{_E(_short_name(r.analysis))}: {cert}</li>")
        other = (
            f'<p class="other-outcomes">{len(others)} more outcome{"s" if len(others) > 1 else ""}'
            " (certainty and reasons in the detail below): "
            + "; ".join(f"{_E(_topic(r.analysis))}" for r in others)
            + ".</p>"
        )
    foot = "".join(
        f'<li id="sof-{_E(q.id)}-{letter}"><span class="fn-letter">{letter}</span> '
        f"{_E(reason)}</li>"
        for reason, letter in notes.items()
    )
    footnotes = f'<ol class="sof-footnotes">{foot}</ol>' if foot else ""
    levels = "".join(
        f"<li>{_certainty_html(k)}: {_E(v)}</li>"
        for k, v in reversed(CERTAINTY_DEFINITIONS.items())
    )
    if star:
        table += '<p class="sof-star"><sup>*</sup> Points: from a typical SD (key assumptions).</p>'
    return (
        f'<div class="sof-block">{table}{other}'
        '<p class="sof-notes-title"><strong>Why the certainty is what it is</strong> '
        "</p>"
        f"{footnotes}"
        '<p class="grade-levels-title"><strong>GRADE certainty levels</strong></p>'
        f'<ul class="grade-levels">{levels}</ul></div>'
    )


# ------------------------------------------------------------------------ the brief


def _names(items: list[str]) -> str:
    items = list(dict.fromkeys(items))
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _lower_first(text: str) -> str:
    """``text`` with its first letter in lower case, unless it starts an abbreviation
    ("SD of change" stays as it is, "The SD" becomes "the SD")."""
    if text[1:2].isupper():
        return text
    return text[:1].lower() + text[1:]


def _comparison(a: OutcomeAnalysis) -> str:
    """'Training versus control' from 'Burnout (MBI), training versus control' ('' if none)."""
    _, _, tail = a.outcome.name.partition(",")
    tail = tail.strip()
    return tail[:1].upper() + tail[1:] if tail else ""


def _topic(a: OutcomeAnalysis) -> str:
    return _lower_first(a.outcome.name.split(",")[0])


def _finding(r: SofRow) -> str:
    """'Training versus control: the intervention may reduce burnout (1 study, 68 people).'"""
    comparison = _comparison(r.analysis)
    text = re.split(r"(?<=\.) ", r.statement)[0].rstrip(".")  # the interval is in the table
    if comparison:
        text = f"{comparison}: {_lower_first(text)}"
    c = r.certainty
    studies = f"{c.studies} stud{'y' if c.studies == 1 else 'ies'}"
    return f"{text} ({studies}, {c.participants} participants)."


def key_messages(base: EvidenceBase, analyses: list[OutcomeAnalysis]) -> list[tuple[str, str]]:
    """Two to four (message, certainty level) pairs, most certain findings first.

    Findings with a number and at least low certainty come first (up to three); when
    none reaches low, the best-informed outcome with a number is described with it. Then
    one message counts the outcomes whose evidence is very uncertain, one names those
    without any study, and, if there is room, one says how many of the studies found
    give usable numbers (its level is "": it is a count, not a finding).
    """
    shown, others = sof_rows(base, analyses)
    rows = shown + others
    with_numbers = [r for r in rows if _effect_of(r.analysis) is not None]
    lead = sorted(
        (r for r in with_numbers if _level_index(r.certainty.level) >= _level_index("low")),
        key=lambda r: (-_level_index(r.certainty.level), not r.analysis.outcome.critical),
    )[:3]
    messages = [(_finding(r), r.certainty.level) for r in lead]
    if not lead and with_numbers:
        best = max(
            with_numbers,
            key=lambda r: (
                r.analysis.outcome.critical,
                r.certainty.studies,
                r.certainty.participants,
            ),
        )
        lead = [best]
        c = best.certainty
        n_studies = f"{c.studies} stud{'y' if c.studies == 1 else 'ies'}"
        messages.append(
            (
                f"{best.analysis.outcome.name}: {best.absolute} ({n_studies}, "
                f"{c.participants} participants), but {_lower_first(best.statement)}",
                c.level,
            )
        )
    rest = [r for r in rows if not any(r is x for x in lead)]
    very_low = [r for r in rest if r.certainty.level == "very low"]
    none = [r for r in rest if r.certainty.level == "no evidence"]
    if very_low:
        n = len(very_low)
        topics = list(dict.fromkeys(_topic(r.analysis) for r in very_low))
        which = f" ({_names(topics)})" if len(topics) <= 3 else ""
        messages.append(
            (
                f"The evidence on the {'other ' if lead else ''}{n} outcome"
                f"{'s' if n > 1 else ''}{which} is very uncertain.",
                "very low",
            )
        )
    if none:
        messages.append(
            (
                "No study gives results yet for "
                f"{_names([r.analysis.outcome.name for r in none])}.",
                "no evidence",
            )
        )
    studies = {r.study for a in analyses for r in a.rows}
    usable = {r.study for a in analyses for r in a.rows if r.status == "pooled"}
    if len(messages) < 4 and studies:
        messages.append(
            (
                f"Of the {len(studies)} studies found, {len(usable)} "
                f"give{'s' if len(usable) == 1 else ''} numbers that could be used.",
                "",
            )
        )
    return messages[:4]


def _contributing_designs(analyses: list[OutcomeAnalysis]) -> list[str]:
    return [r.design for a in analyses for r in a.rows if r.status in ("pooled", "narrative")]


def can_and_cannot(
    base: EvidenceBase, analyses: list[OutcomeAnalysis]
) -> tuple[list[str], list[str]]:
    """What the evidence can support, and what it cannot, as plain sentences."""
    shown, others = sof_rows(base, analyses)
    rows = shown + others
    can, cannot = [], []
    usable = [
        r
        for r in rows
        if _effect_of(r.analysis) is not None
        and _level_index(r.certainty.level) >= _level_index("low")
    ]
    if usable:
        can.append(
            f"Cautious statements on the {len(usable)} low-certainty "
            f"finding{'s' if len(usable) > 1 else ''}."
        )
    else:
        can.append("Describing what the studies report; the answer is not yet known.")
    missing = [r for r in rows if _effect_of(r.analysis) is None]
    if missing:
        can.append(
            f"Showing where evidence is missing: {len(missing)} of {len(rows)} outcomes "
            "lack numbers."
        )
    designs = _contributing_designs(analyses)
    if designs and not any(d in RANDOMISED for d in designs):
        cannot.append(
            "Cause and effect: no study with numbers allocated people at random, so other "
            "differences can explain the results."
        )
    elif any(d not in RANDOMISED for d in designs):
        cannot.append("Cause and effect for the before-and-after or non-randomised results.")
    single = [r for r in rows if len(r.analysis.pooled_rows) == 1 and r.analysis.fit is None]
    if single:
        cannot.append(
            f"Generalising the {len(single)} single-study result{'s' if len(single) > 1 else ''}."
        )
    cannot.append(
        "A recommendation: none is made; decisions also weigh harms, costs, values and context."
    )
    return can, cannot


def last_searched(analyses: list[OutcomeAnalysis]) -> date | None:
    """The date of the question's latest search (its ``search.searches``), or None."""
    s = analyses[0].question.search
    dates = [date.fromisoformat(x.date) for x in s.searches] if s is not None else []
    return max(dates) if dates else None


def up_to_date(analyses: list[OutcomeAnalysis]) -> str:
    """'Evidence last searched on 1 December 2026' from the question file's searches."""
    when = last_searched(analyses)
    if when is None:
        return "The question file does not say when the evidence was last searched."
    return f"Evidence last searched on {long_date(when)}."


def brief_html(base: EvidenceBase, analyses: list[OutcomeAnalysis]) -> str:
    """The first screen: question, key messages, what the evidence can and cannot
    support, and how up to date it is."""
    q = analyses[0].question
    msgs = "".join(
        f'<li><span class="message">{_E(m)}</span> '
        + (
            ""
            if not level
            else f"{_certainty_html(level, word=True)}"
            if level != "no evidence"
            else '<span class="certainty certainty-none">No evidence</span>'
        )
        + "</li>"
        for m, level in key_messages(base, analyses)
    )
    can, cannot = can_and_cannot(base, analyses)
    can_html = "".join(f"<li>{_E(x)}</li>" for x in can)
    cannot_html = "".join(f"<li>{_E(x)}</li>" for x in cannot)
    return (
        '<section class="brief" aria-labelledby="key-messages">'
        f'<p class="brief-question"><strong>Question:</strong> {_E(q.plain_question)}</p>'
        '<h2 id="key-messages">Key messages</h2>'
        f'<ul class="key-messages">{msgs}</ul>'
        '<h2 id="can-support">What this evidence can and cannot support</h2>'
        '<div class="can-cannot"><div><p><strong>It can support:</strong></p>'
        f"<ul>{can_html}</ul></div><div><p><strong>It cannot support:</strong></p>"
        f"<ul>{cannot_html}</ul></div></div>"
        f'<p class="up-to-date"><strong>How up to date:</strong> {_E(up_to_date(analyses))}</p>'
        "</section>"
    )


# ------------------------------------------------------------------ about this evidence


def _question_studies(base: EvidenceBase, question: str) -> list[Any]:
    seen: dict[str, Any] = {}
    for study, _, _ in base.outcomes(question):
        seen.setdefault(study.id, study)
    return list(seen.values())


def appraisal_basis(base: EvidenceBase, question: str) -> tuple[Counter[str], int]:
    """How many risk-of-bias judgements were made from abstracts only, tables, full text;
    and how many studies have none."""
    studies = _question_studies(base, question)
    counts = Counter(s.risk_of_bias.basis for s in studies if s.risk_of_bias is not None)
    return counts, sum(1 for s in studies if s.risk_of_bias is None)


def _nums(data: Any) -> list[tuple[str, Any]]:
    """(field, Num) for every number of a data block (tuples such as CIs included)."""
    out = []
    for name in type(data).model_fields:
        value = getattr(data, name)
        values = value if isinstance(value, tuple) else (value,)
        for v in values:
            if isinstance(v, Num):
                out.append((name, v))
    return out


#: Fields whose derivation changes what an effect size means (a correlation from R²,
#: events from a percentage, an estimate converted from another metric).
_KEY_FIELDS = ("r",)


def key_assumptions(base: EvidenceBase, analyses: list[OutcomeAnalysis]) -> list[str]:
    """Assumptions behind the numbers that were combined or shown: numbers a record marks
    assumed, key numbers derived rather than reported, and the assumed pre-post correlation."""
    q = analyses[0].question
    items: dict[str, None] = {}
    prepost: list[str] = []
    for a in analyses:
        used = {r.study for r in a.rows if r.status == "pooled"}
        for r in a.rows:
            if r.status == "pooled" and r.assumed and "pre-post r" in r.es_method:
                prepost.append(r.label)
        for sid in sorted(used):
            study = base.studies[sid]
            label = study.label or sid
            for oc in study.outcomes:
                if (oc.question, oc.outcome) != (q.id, a.outcome.id) or not oc.pool:
                    continue
                for name, num in _nums(oc.data):
                    if num.assumed:
                        items[f"{label}: {render_citations(num.assumed, base)}."] = None
                    elif num.derived and name in _KEY_FIELDS:
                        items[
                            f"{label}: {name} = {num.value:g} is derived, not reported "
                            f"({render_citations(num.derived, base)})."
                        ] = None
    if prepost:
        items[
            f"{_names(list(dict.fromkeys(prepost)))}: the correlation of before and after "
            f"scores is not reported; {analyses[0].settings.prepost_r:g} was assumed (other "
            "values in the full report)."
        ] = None
    sds = [
        a.outcome.typical_sd
        for a in analyses
        if a.outcome.typical_sd is not None
        and a.outcome.typical_sd.assumption
        and _effect_of(a) is not None
    ]
    if sds:
        where = _names(list(dict.fromkeys(sd.source.split("(")[0].strip() for sd in sds)))
        values = _names(
            [
                f"{sd.value:g} ({sd.instrument.partition(',')[2].replace('subscale', '').strip()})"
                for sd in sds
            ]
        )
        items[
            f"{_instrument_short(sds[0].instrument)} {sds[0].unit} use typical SDs of "
            f"{values} {sds[0].unit}, each the {_lower_first(where)}: the review's assumption."
        ] = None
    return list(items)


def pooling_rules_sentence(analyses: list[OutcomeAnalysis]) -> str:
    """The analysis plan's pooling rules in one plain sentence ('' when it sets none):
    the follow-up combined and the fewest studies (:mod:`synthesis.pooling_rules`). Shown
    under the results for each outcome on both pages (the brief's word limit leaves no room
    above them)."""
    spans = list(
        dict.fromkeys(commissioner_span(a.outcome) for a in analyses if a.outcome.timepoint_window)
    )
    k = max(min_k(a.question, a.outcome)[0] for a in analyses)
    if not spans and k == 2:
        return ""
    span = f" {_names(spans)}" if spans else ""
    return (
        f"Results are combined only{span} and when at least {k} studies report them; "
        "other results are shown on their own, with the reason."
    )


def short_gaps(base: EvidenceBase, question: str, limit: int = 2) -> tuple[list[str], int]:
    """The main data still needed, one line per study (deduplicated), and how many more."""
    needed = data_still_needed(base)
    ids = {s.id for s in _question_studies(base, question)}
    needed = needed[needed.study.isin(ids) & needed.question.isin([question, ""])]
    per_study: dict[str, list[str]] = {}
    for r in needed.itertuples():
        per_study.setdefault(r.label, [])
        text = str(r.needed).strip().rstrip(".")
        if text and text not in per_study[r.label]:
            per_study[r.label].append(text)
    lines = [f"{label}: {texts[0]}" for label, texts in per_study.items()]
    lines.sort(key=len)
    return lines[:limit], max(len(lines) - limit, 0)


def how_found(search: Any) -> str:
    """One sentence from the question's search record: the seed list and the searches."""
    parts = []
    if search.seed is not None:
        resolved = sum(1 for r in search.seed.references if r.record)
        parts.append(
            f"the reference list of one article ({resolved} of {len(search.seed.references)} "
            "references traced to studies)"
        )
    if search.searches:
        n = len(search.searches)
        parts.append(
            f"{n} targeted search{'es' if n > 1 else ''} of public web pages and registers"
        )
    if not parts:
        return "The question file does not say how the studies were found."
    return (
        f"From {' and '.join(parts)}. Not a systematic search of bibliographic databases, so "
        "studies may have been missed."
    )


def about_evidence_html(base: EvidenceBase, analyses: list[OutcomeAnalysis]) -> str:
    """How the studies were found, what appraisal rests on, key assumptions, main gaps."""
    q = analyses[0].question
    parts = []
    s = q.search
    if s is not None:
        found = how_found(s)
        parts.append(f"<h3>How the studies were found</h3><p>{_E(found)}</p>")
    counts, none = appraisal_basis(base, q.id)
    total = sum(counts.values())
    abstract = counts.get("abstract only", 0)
    others = [
        f"{counts[k]} from {k.replace('abstract and tables', 'abstracts and tables')}"
        for k in ("abstract and tables", "full text")
        if counts.get(k)
    ]
    basis = f"{abstract} of {total} risk-of-bias judgements were made from abstracts only"
    basis += f" ({', '.join(others)})" if others else ""
    if none:
        basis += f"; {none} stud{'y has' if none == 1 else 'ies have'} none"
    if total and abstract / total >= 0.5:
        basis += ", so they are provisional"
    basis += "."
    parts.append(f"<h3>What the appraisal is based on</h3><p>{_E(basis)}</p>")
    assumptions = key_assumptions(base, analyses)
    if assumptions:
        parts.append(
            "<h3>Key assumptions</h3><ul>"
            + "".join(f"<li>{_E(x)}</li>" for x in assumptions)
            + "</ul>"
        )
    gaps, more = short_gaps(base, q.id)
    if gaps:
        extra = f" ({more} more in the full report)" if more else ""
        parts.append(
            f"<h3>Main gaps{extra}</h3><ul>" + "".join(f"<li>{_E(g)}</li>" for g in gaps) + "</ul>"
        )
    return '<section class="about-evidence">' + "".join(parts) + "</section>"


def glossary_html() -> str:
    """The glossary: every technical term that stays on a commissioner page."""
    items = "".join(f"<dt>{_E(t)}</dt><dd>{_E(d)}</dd>" for t, d in GLOSSARY.items())
    return f'<section class="glossary" aria-labelledby="glossary"><dl>{items}</dl></section>'


# ------------------------------------------------------------------------ page checks


class _Text(HTMLParser):
    """Collect visible text, marking what lies in the glossary or the provenance footer
    (file names and hashes that document the build, not words of the brief)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[tuple[str, bool]] = []
        self._skip = 0
        self._glossary_depth: int | None = None
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self._skip += 1
        if tag in ("br", "img", "meta", "link", "input", "hr", "wbr"):
            return
        self._depth += 1
        cls = dict(attrs).get("class") or ""
        if self._glossary_depth is None and {"glossary", "provenance"} & set(cls.split()):
            self._glossary_depth = self._depth

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._skip = max(self._skip - 1, 0)
        if tag in ("br", "img", "meta", "link", "input", "hr", "wbr"):
            return
        if self._glossary_depth is not None and self._depth == self._glossary_depth:
            self._glossary_depth = None
        self._depth -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.parts.append((data, self._glossary_depth is not None))


def visible_text(page: str, *, glossary: bool = True) -> str:
    """The text a reader sees in ``page`` (SVG text included; styles and scripts not),
    with or without the glossary."""
    parser = _Text()
    parser.feed(page)
    return " ".join(t for t, in_glossary in parser.parts if glossary or not in_glossary)


def brief_words(page: str, stop: str) -> int:
    """Words in the page before the first heading whose text starts with ``stop``."""
    main = page[page.find("<main") :] if "<main" in page else page
    match = re.search(rf"<h[1-6][^>]*>\s*{re.escape(stop)}", main)
    head = main[: match.start()] if match else main
    return sum(1 for w in visible_text(head).split() if re.search(r"\w", w))


def plain_problems(page: str, ids: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """What a commissioner page must not show outside its glossary: an unrendered ``[@key]``,
    an internal id (a snake_case token or one of ``ids``) or a :data:`JARGON` term."""
    text = re.sub(r"\b(?:https?://|doi\.org/)\S+", " ", visible_text(page, glossary=False))
    problems = []
    if "[@" in text:
        problems.append("unrendered citation marker [@")
    for token in sorted(set(re.findall(r"\b[A-Za-z0-9]+(?:_[A-Za-z0-9]+)+\b", text))):
        problems.append(f"internal id {token!r}")
    words = set(re.findall(r"[\w-]+", text))
    for i in sorted(ids & words):
        problems.append(f"record id {i!r}")
    for term in JARGON:
        pattern = rf"(?<![\w]){re.escape(term)}" + (r"(?![\w])" if term[-1].isalnum() else "")
        if re.search(pattern, text):
            problems.append(f"jargon {term!r}")
    return problems
