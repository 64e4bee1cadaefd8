"""What changed since the last build: the results of each report, and their differences.

:func:`collect_results` gathers every result a question's report states (per outcome:
the pooled estimate and its interval on the natural scale, studies and participants,
the GRADE certainty and the verdict) from its analyses. It runs inside the question
notebook (:func:`publish_results` hands the results to the build as a hidden output),
and in :func:`question_results` for ``synthesis diff``, so both see the same numbers.
A new kind of result is one more function in :data:`RESULT_KINDS`.

:func:`compare` sets two builds side by side: records added, removed or changed
(from the content hashes of the notebook's inputs), estimates that moved, verdicts,
certainty and counts that changed. :func:`sentences` says it in plain words; the build
puts them in an "Updated on ...: what changed" box at the top of each page, and writes
the same as JSON into ``reports/manifest.json``.
"""

from __future__ import annotations

import datetime as _dt
import html
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from synthesis.analysis import analyse_question
from synthesis.grade import grade_outcome
from synthesis.plain import fmt_interval, fmt_value, long_date
from synthesis.verdicts import claim_results
from synthesis.vocabulary import NULL_VALUES

if TYPE_CHECKING:
    from synthesis.analysis import OutcomeAnalysis
    from synthesis.evidence import EvidenceBase

__all__ = [
    "MIME_TYPE",
    "RESULT_KINDS",
    "Changes",
    "box_markdown",
    "collect_results",
    "compare",
    "publish_results",
    "question_results",
    "sentences",
]

#: MIME type of the output through which a notebook hands its results to the build.
MIME_TYPE = "application/vnd.synthesis.results+json"

ResultKind = Callable[["EvidenceBase", "OutcomeAnalysis"], dict[str, Any]]


def _number(x: Any) -> float | None:
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _pooled(base: EvidenceBase, a: OutcomeAnalysis) -> dict[str, Any]:
    """Pooled estimate, CI and prediction interval (natural scale), studies, people."""
    count = a.count
    out: dict[str, Any] = {
        "name": a.outcome.name,
        "measure": a.measure,
        "level": a.settings.level,
        "method": a.settings.method,
        "test": a.settings.test,
        "k": a.k,
        "studies": count.studies,
        "participants": count.pooled_participants,
        "estimate": None,
        "ci_lb": None,
        "ci_ub": None,
        "pi_lb": None,
        "pi_ub": None,
        "not_pooled": a.reason or None,
    }
    nat = a.natural()
    if nat is not None:
        out.update(
            estimate=_number(nat.estimate),
            ci_lb=_number(nat.ci_lb),
            ci_ub=_number(nat.ci_ub),
            pi_lb=_number(getattr(nat, "pi_lb", None)),
            pi_ub=_number(getattr(nat, "pi_ub", None)),
        )
    return out


def _certainty(base: EvidenceBase, a: OutcomeAnalysis) -> dict[str, Any]:
    """GRADE certainty of the evidence (high, moderate, low, very low, no evidence)."""
    return {"certainty": grade_outcome(base, a).level}


def _verdict(base: EvidenceBase, a: OutcomeAnalysis) -> dict[str, Any]:
    """Which way the evidence points: the CI against no effect and the outcome's direction."""
    nat = a.natural()
    null = NULL_VALUES.get(a.measure)
    if nat is None:
        verdict = "not pooled"
    elif null is None:
        verdict = "estimate only (no null value)"
    elif nat.ci_lb <= null <= nat.ci_ub:
        verdict = "no clear effect (the interval includes no effect)"
    else:
        higher = nat.ci_lb > null
        direction = a.outcome.direction or ""
        if direction.startswith("higher"):
            verdict = "benefit" if higher else "harm"
        elif direction.startswith("lower"):
            verdict = "harm" if higher else "benefit"
        else:
            verdict = "higher" if higher else "lower"
    return {"verdict": verdict}


#: Every kind of result a report states, per outcome; each returns fields to store.
#: Add a function here to track a new kind (a vote count, a combined p-value ...).
RESULT_KINDS: list[ResultKind] = [_pooled, _certainty, _verdict]


def _claims(base: EvidenceBase, question: str) -> dict[str, dict[str, Any]]:
    """Each claim about the question: its label, the reviewers' verdict and the computed one."""
    return {
        r.claim.id: {"name": r.claim.label, "verdict": r.verdict, "computed": r.computed}
        for r in claim_results(base, question)
    }


def collect_results(base: EvidenceBase, analyses: list[OutcomeAnalysis]) -> dict[str, Any]:
    """Every result of one question's analyses, as plain JSON values.

    Parameters
    ----------
    base : EvidenceBase
        The evidence the analyses came from.
    analyses : list of OutcomeAnalysis
        :func:`synthesis.analysis.analyse_question` for one question.

    Returns
    -------
    dict
        ``question``, ``outcomes`` (outcome id -> the fields of every
        :data:`RESULT_KINDS`) and ``claims`` (claim id -> ``name``, ``verdict`` and
        ``computed``, the verdict the checks give).
        Non-finite numbers are ``None``.
    """
    if not analyses:
        return {"question": None, "outcomes": {}}
    question = analyses[0].question.id
    outcomes: dict[str, Any] = {}
    for a in analyses:
        fields: dict[str, Any] = {}
        for kind in RESULT_KINDS:
            fields.update(kind(base, a))
        outcomes[a.outcome.id] = fields
    return {"question": question, "outcomes": outcomes, "claims": _claims(base, question)}


def publish_results(base: EvidenceBase, analyses: list[OutcomeAnalysis]) -> None:
    """Hand :func:`collect_results` to the build as a hidden output of the notebook."""
    from IPython.display import display

    display({MIME_TYPE: collect_results(base, analyses)}, raw=True)


def question_results(
    base: EvidenceBase, question: str, params: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """:func:`collect_results` of one question analysed with ``params`` (build options)."""
    params = dict(params or {})
    return collect_results(base, analyse_question(base, question, **params))


def results_from_notebook(nb: Any) -> dict[str, Any] | None:
    """The results an executed notebook published (:func:`publish_results`), if any."""
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []) or []:
            data = output.get("data") or {}
            if MIME_TYPE in data:
                return dict(data[MIME_TYPE])
    return None


# --------------------------------------------------------------------------- compare


@dataclass
class Changes:
    """Differences between two builds of one report (all lists empty: nothing changed).

    Attributes
    ----------
    records_added, records_removed, records_changed : list of str
        Study labels.
    other_inputs : list of str
        Other inputs that changed (question file, references, parameters, notebook,
        package code), as ``"<label> changed"``.
    estimates : list of dict
        ``outcome``, ``name``, ``measure``, ``level`` and ``from``/``to`` (each
        ``{"estimate", "ci_lb", "ci_ub"}`` or ``None`` when not pooled).
    verdicts, certainty, counts : list of dict
        ``outcome``, ``name``, ``field``, ``from``, ``to``.
    outcomes_added, outcomes_removed : list of str
        Outcome names.
    previous_at : str or None
        When the compared build was made (``None``: there was none).
    """

    records_added: list[str] = field(default_factory=list)
    records_removed: list[str] = field(default_factory=list)
    records_changed: list[str] = field(default_factory=list)
    other_inputs: list[str] = field(default_factory=list)
    estimates: list[dict[str, Any]] = field(default_factory=list)
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    certainty: list[dict[str, Any]] = field(default_factory=list)
    counts: list[dict[str, Any]] = field(default_factory=list)
    outcomes_added: list[str] = field(default_factory=list)
    outcomes_removed: list[str] = field(default_factory=list)
    previous_at: str | None = None

    def empty(self) -> bool:
        """Whether nothing changed."""
        return not any(v for k, v in asdict(self).items() if k != "previous_at")

    def to_json(self) -> dict[str, Any]:
        """The changes as plain JSON values."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Changes:
        """Inverse of :meth:`to_json` (unknown keys are ignored)."""
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


_SHOWN = ("estimate", "ci_lb", "ci_ub")


def _interval(r: Mapping[str, Any]) -> dict[str, Any] | None:
    if r.get("estimate") is None:
        return None
    return {k: r.get(k) for k in _SHOWN}


def _shown(r: Mapping[str, Any] | None, measure: str) -> str | None:
    """The estimate as the pages print it (so a change below the shown digits is none)."""
    if r is None or r.get("estimate") is None:
        return None
    lo, hi = r.get("ci_lb"), r.get("ci_ub")
    nan = float("nan")
    return (
        f"{fmt_value(r['estimate'], measure)} "
        f"({fmt_interval(nan if lo is None else lo, nan if hi is None else hi, measure)})"
    )


def compare(
    previous_inputs: Mapping[str, str] | None,
    inputs: Mapping[str, str],
    previous_results: Mapping[str, Any] | None,
    results: Mapping[str, Any] | None,
    *,
    labels: Mapping[str, str] | None = None,
    previous_at: str | None = None,
) -> Changes:
    """What changed between two builds of one report.

    Parameters
    ----------
    previous_inputs, inputs : dict
        Label -> content hash (:func:`synthesis.jobs.notebook_inputs`), before and now.
    previous_results, results : dict or None
        :func:`collect_results` before and now (``None`` for notebooks without results).
    labels : dict, optional
        Study id -> the label the pages show (default: the id).
    previous_at : str, optional
        Build time of the previous version.

    Returns
    -------
    Changes

    Examples
    --------
    >>> before = {"outcomes": {"x": {"name": "Burnout", "measure": "SMD", "estimate": -0.5,
    ...     "ci_lb": -0.8, "ci_ub": -0.2, "level": 95, "certainty": "low", "k": 3,
    ...     "studies": 3, "participants": 90, "verdict": "benefit"}}}
    >>> after = {"outcomes": {"x": dict(before["outcomes"]["x"], estimate=-0.4,
    ...     certainty="very low")}}
    >>> c = compare({"record s1": "a"}, {"record s1": "b"}, before, after,
    ...             labels={"s1": "Smith 2024"})
    >>> c.records_changed, [e["to"]["estimate"] for e in c.estimates], c.certainty[0]["to"]
    (['Smith 2024'], [-0.4], 'very low')
    """
    changes = Changes(previous_at=previous_at)
    previous_inputs = dict(previous_inputs or {})
    names = dict(labels or {})

    def label(sid: str) -> str:
        return str(names.get(sid, sid))

    for key in sorted(set(previous_inputs) | set(inputs)):
        kind, _, name = key.partition(" ")
        old, new = previous_inputs.get(key), inputs.get(key)
        if old == new:
            continue
        if kind == "record":
            target = (
                changes.records_added
                if old is None
                else changes.records_removed
                if new is None
                else changes.records_changed
            )
            target.append(label(name))
        elif old is not None and new is not None:
            changes.other_inputs.append(f"{key} changed")
        else:
            changes.other_inputs.append(f"{key} {'added' if old is None else 'removed'}")
    if previous_results is None or results is None:
        return changes
    before, after = previous_results.get("outcomes", {}), results.get("outcomes", {})
    for oid in after:
        if oid not in before:
            changes.outcomes_added.append(after[oid].get("name", oid))
    for oid in before:
        if oid not in after:
            changes.outcomes_removed.append(before[oid].get("name", oid))
    for oid, new in after.items():
        old = before.get(oid)
        if old is None:
            continue
        name, measure = new.get("name", oid), new.get("measure", "")
        if _shown(old, measure) != _shown(new, measure) or old.get("level") != new.get("level"):
            changes.estimates.append(
                {
                    "outcome": oid,
                    "name": name,
                    "measure": measure,
                    "level": new.get("level"),
                    "from": _interval(old),
                    "to": _interval(new),
                }
            )
        for fld, listed in (("verdict", changes.verdicts), ("certainty", changes.certainty)):
            if old.get(fld) != new.get(fld):
                listed.append(
                    {
                        "outcome": oid,
                        "name": name,
                        "field": fld,
                        "from": old.get(fld),
                        "to": new.get(fld),
                    }
                )
        for fld in ("k", "studies", "participants"):
            if old.get(fld) != new.get(fld):
                changes.counts.append(
                    {
                        "outcome": oid,
                        "name": name,
                        "field": fld,
                        "from": old.get(fld),
                        "to": new.get(fld),
                    }
                )
    return changes


#: Input labels that are content (what a reader would call a change of the report);
#: the notebook, the package code and the libraries are not.
CONTENT_INPUTS = ("record", "question", "claim", "reference", "file", "parameters")


def content_inputs(inputs: Mapping[str, str]) -> dict[str, str]:
    """The inputs that are evidence or parameters (see :data:`CONTENT_INPUTS`)."""
    return {k: v for k, v in inputs.items() if k.split(" ", 1)[0] in CONTENT_INPUTS}


def next_version(
    previous: Mapping[str, Any] | None,
    inputs: Mapping[str, str],
    results: Mapping[str, Any] | None,
    labels: Mapping[str, str],
    built_at: str,
) -> tuple[Changes | None, str]:
    """The changes a page states, and when it was last updated.

    Parameters
    ----------
    previous : dict or None
        The page's entry in the previous manifest (``inputs``, ``results``,
        ``changes``, ``updated_at``).
    inputs, results, labels
        This build's inputs, results and study labels of the page.
    built_at : str
        This build's time.

    Returns
    -------
    (Changes or None, str)
        ``None`` for a first version. When neither the evidence nor a result changed
        (the page was rebuilt for its code, say), the previous version's changes and
        date are kept: the box reports the last update of its content.
    """
    if not previous or not isinstance(previous.get("inputs"), dict):
        return None, built_at
    before_at = str(previous.get("updated_at") or previous.get("rendered_at") or "")
    changes = compare(
        content_inputs(previous["inputs"]),
        content_inputs(inputs),
        previous.get("results"),
        results,
        labels={**dict(previous.get("labels") or {}), **labels},
        previous_at=before_at or None,
    )
    if changes.empty():
        old = previous.get("changes")
        return (Changes.from_json(old) if isinstance(old, dict) else None), before_at or built_at
    return changes, built_at


# ------------------------------------------------------------------------- wording


def _date(stamp: str | None) -> str:
    if not stamp:
        return "an unknown date"
    try:
        when = _dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    return long_date(when)


def _names(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _records(n: int, verb: str, labels: list[str]) -> str:
    return f"{n} study record{'s' * (n != 1)} {verb}: {_names(labels)}."


_COUNT_WORDS = {
    "k": "studies pooled",
    "studies": "studies reporting it",
    "participants": "participants in the pooled studies",
}


def sentences(changes: Changes) -> list[str]:
    """The changes in plain words, one sentence each (empty when nothing changed).

    Examples
    --------
    >>> c = Changes(records_added=["Smith 2024"], certainty=[{"outcome": "x",
    ...     "name": "Burnout", "field": "certainty", "from": "low", "to": "very low"}])
    >>> for line in sentences(c):
    ...     print(line)
    1 study record added: Smith 2024.
    Burnout: certainty of the evidence changed from low to very low.
    """
    out = []
    if changes.records_added:
        out.append(_records(len(changes.records_added), "added", changes.records_added))
    if changes.records_removed:
        out.append(_records(len(changes.records_removed), "removed", changes.records_removed))
    if changes.records_changed:
        out.append(_records(len(changes.records_changed), "changed", changes.records_changed))
    for name in changes.outcomes_added:
        out.append(f"New outcome: {name}.")
    for name in changes.outcomes_removed:
        out.append(f"Outcome no longer reported: {name}.")

    def shown(r: Mapping[str, Any] | None, measure: str, level: Any) -> str:
        if r is None:
            return "no pooled estimate"
        ci = fmt_interval(r["ci_lb"], r["ci_ub"], measure)
        return f"{fmt_value(r['estimate'], measure)} ({level:g}% CI {ci})"

    phrases: dict[str, list[str]] = {}
    names: dict[str, str] = {}

    def add(item: Mapping[str, Any], phrase: str) -> None:
        names[item["outcome"]] = item["name"]
        phrases.setdefault(item["outcome"], []).append(phrase)

    for e in changes.estimates:
        level = e.get("level") or 95
        before, after = shown(e["from"], e["measure"], level), shown(e["to"], e["measure"], level)
        if e["from"] is None:
            add(e, f"now pooled, {after}")
        elif e["to"] is None:
            add(e, f"no longer pooled (it was {before})")
        else:
            add(e, f"the pooled estimate moved from {before} to {after}")
    for c in changes.verdicts:
        which = "the checks' verdict" if c["field"] == "computed" else "the verdict"
        add(c, f"{which} changed from {c['from']} to {c['to']}")
    for c in changes.certainty:
        add(c, f"certainty of the evidence changed from {c['from']} to {c['to']}")
    for c in changes.counts:
        add(c, f"{_COUNT_WORDS[c['field']]} went from {c['from']} to {c['to']}")
    for outcome, said in phrases.items():
        out.append(f"{names[outcome]}: {'; '.join(said)}.")
    return out


def box_markdown(changes: Changes | None, updated_at: str) -> str:
    """The "Updated on ...: what changed" box at the top of a page (HTML in markdown).

    Parameters
    ----------
    changes : Changes or None
        What changed at this version (``None``: the first version of the page).
    updated_at : str
        Build time (ISO 8601) of this version.
    """
    head = f"Updated on {_date(updated_at)}: what changed"
    if changes is None or changes.previous_at is None:
        items = ["This is the first version of this report."]
    else:
        items = sentences(changes) or [
            "No record, estimate, verdict or certainty changed "
            + (
                f"({_names(changes.other_inputs)})."
                if changes.other_inputs
                else "(the report was rebuilt)."
            )
        ]
        if changes.other_inputs and sentences(changes):
            items.append(f"Also changed: {_names(changes.other_inputs)}.")
        items.insert(0, f"Since the previous version of {_date(changes.previous_at)}:")
    body = "".join(f"<li>{html.escape(s)}</li>" for s in items[1:])
    first = html.escape(items[0])
    listing = f"<ul>{body}</ul>" if body else ""
    return (
        f'<div class="what-changed"><p><strong>{html.escape(head)}</strong>. {first}</p>'
        f"{listing}</div>"
    )


def with_box(nb: Any, changes: Changes | None, updated_at: str) -> Any:
    """A copy of an executed notebook with the :func:`box_markdown` cell after its title."""
    import json

    import nbformat

    box = nbformat.v4.new_markdown_cell(
        box_markdown(changes, updated_at), metadata={"tags": ["what-changed"]}
    )
    box["id"] = "what-changed"
    page = nbformat.from_dict(json.loads(json.dumps(nb)))
    at = next((i + 1 for i, c in enumerate(page.cells) if c.cell_type == "markdown"), 0)
    page.cells.insert(at, box)
    return page
