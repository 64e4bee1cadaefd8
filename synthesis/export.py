"""Open data out: the evidence base's numbers as a Frictionless Data Package.

:func:`export_package` writes three tidy CSV files and a ``datapackage.json`` descriptor
(the Frictionless Tabular Data Package standard,
https://specs.frictionlessdata.io/tabular-data-package/) that names every column, its
type, its unit and what it means, so that an analyst can load the numbers in R, Stata,
a spreadsheet or any Frictionless tool without reading our code:

``effect_sizes.csv``
    one row per study result per question outcome: the effect size ``yi`` and its
    sampling variance ``vi`` on the analysis scale, how it was computed, whether any input
    was derived or assumed, and whether it was pooled (or why not);
``pooled_results.csv``
    one row per question outcome: the pooled estimate with its confidence and prediction
    intervals, heterogeneity, the model settings, the certainty of the evidence and the
    plain-language statement (empty numbers where nothing was pooled, with the reason);
``vote_counts.csv``
    one row per question outcome with studies that report a direction of effect: the vote
    count and the sign test (synthesis without meta-analysis).

The columns are declared once, in :data:`TABLES`; the CSV headers and the descriptor are
both generated from it. Floats are written with full precision (``repr``), so the numbers
equal the ones the reports show before rounding.

Examples
--------
>>> from synthesis.export import TABLES, descriptor
>>> list(TABLES)
['effect_sizes', 'pooled_results', 'vote_counts']
>>> [f["name"] for f in descriptor()["resources"][0]["schema"]["fields"]][:4]
['question', 'outcome', 'outcome_name', 'record']

``export_package(load_evidence("."), Path("out"))`` writes the package for a project
(``synthesis export --output out`` on the command line).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthesis.analysis import analyse_question
from synthesis.errors import UserInputError
from synthesis.files import write_atomic
from synthesis.grade import grade_outcome, statement
from synthesis.swim_outcomes import outcome_swim

if TYPE_CHECKING:
    from synthesis.analysis import OutcomeAnalysis
    from synthesis.evidence import EvidenceBase

__all__ = ["TABLES", "Column", "export_package", "package_rows"]


@dataclass(frozen=True)
class Column:
    """One column of an exported table: its name, Frictionless type, unit and meaning."""

    name: str
    type: str
    description: str
    unit: str = ""

    def descriptor(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type}
        out["description"] = self.description + (f" Unit: {self.unit}." if self.unit else "")
        if self.unit:
            out["unit"] = self.unit
        return out


_SCALE = "the analysis scale of the outcome's measure (see column measure)"

#: Every exported table and its columns, in order (the one place they are declared).
TABLES: dict[str, tuple[str, tuple[Column, ...]]] = {
    "effect_sizes": (
        "One row per study result per question outcome, pooled or not.",
        (
            Column("question", "string", "Question id (evidence/questions/<id>.yaml)."),
            Column("outcome", "string", "Outcome id within the question."),
            Column("outcome_name", "string", "Outcome as the question names it."),
            Column("record", "string", "Study record id (evidence/studies/<id>.yaml)."),
            Column("label", "string", "Study label as shown in tables and forest plots."),
            Column("citation", "string", "BibTeX key in references.bib."),
            Column("design", "string", "Study design."),
            Column("timepoint", "string", "Time point of the result."),
            Column("n", "number", "Participants analysed for this result.", "participants"),
            Column("measure", "string", "metafor measure code of yi (ZCOR, SMCC, SMD, PLO...)."),
            Column("yi", "number", "Effect size.", _SCALE),
            Column("vi", "number", "Sampling variance of yi.", f"squared units of {_SCALE}"),
            Column("how_computed", "string", "How yi and vi were computed from the record."),
            Column("derived", "boolean", "True when an input number was computed, not reported."),
            Column("assumed", "boolean", "True when an input number was assumed."),
            Column("status", "string", "pooled, excluded, not poolable, narrative, ..."),
            Column("reason", "string", "Why the result was not pooled (empty when pooled)."),
            Column("risk_of_bias", "string", "Overall risk-of-bias judgement of the record."),
        ),
    ),
    "pooled_results": (
        "One row per question outcome: the pooled random-effects estimate, or why none.",
        (
            Column("question", "string", "Question id."),
            Column("outcome", "string", "Outcome id within the question."),
            Column("outcome_name", "string", "Outcome as the question names it."),
            Column("measure", "string", "metafor measure code of the analysis scale."),
            Column("k", "integer", "Number of pooled study results.", "studies"),
            Column("participants", "integer", "Participants in the pooled studies.", "people"),
            Column("estimate", "number", "Pooled estimate.", _SCALE),
            Column("se", "number", "Standard error of the pooled estimate.", _SCALE),
            Column("ci_lb", "number", "Lower confidence bound.", _SCALE),
            Column("ci_ub", "number", "Upper confidence bound.", _SCALE),
            Column("pi_lb", "number", "Lower prediction bound.", _SCALE),
            Column("pi_ub", "number", "Upper prediction bound.", _SCALE),
            Column("natural_scale", "string", "What the natural-scale columns are (r, ...)."),
            Column("natural_estimate", "number", "Pooled estimate, natural scale."),
            Column("natural_ci_lb", "number", "Lower confidence bound, natural scale."),
            Column("natural_ci_ub", "number", "Upper confidence bound, natural scale."),
            Column("pval", "number", "p-value of the test of no effect."),
            Column("tau2", "number", "Between-study variance.", f"squared units of {_SCALE}"),
            Column("I2", "number", "I-squared: share of variability due to heterogeneity.", "%"),
            Column("QE", "number", "Cochran's Q statistic."),
            Column("QEp", "number", "p-value of Cochran's Q test."),
            Column("method", "string", "tau-squared estimator (metafor method)."),
            Column("test", "string", "Test and CI method: z, knha or adhoc."),
            Column("level", "number", "Confidence level of the intervals.", "%"),
            Column("certainty", "string", "GRADE certainty of the evidence."),
            Column("statement", "string", "The plain-language statement the reports print."),
            Column("reason", "string", "Why there is no pooled estimate (empty when pooled)."),
        ),
    ),
    "vote_counts": (
        "Synthesis without meta-analysis per question outcome: vote counting on the direction "
        "of effect with a sign test, and combined one-sided p-values (one result per study).",
        (
            Column("question", "string", "Question id."),
            Column("outcome", "string", "Outcome id within the question."),
            Column("outcome_name", "string", "Outcome as the question names it."),
            Column("k", "integer", "Studies with a known direction.", "studies"),
            Column("positive", "integer", "Studies whose result favours the intervention."),
            Column("negative", "integer", "Studies whose result favours the comparator."),
            Column("null", "integer", "Studies reporting no difference."),
            Column(
                "prop_positive",
                "number",
                "positive / (positive + negative).",
                "proportion",
            ),
            Column("prop_ci_lb", "number", "Lower Wilson bound of prop_positive (level)."),
            Column("prop_ci_ub", "number", "Upper Wilson bound of prop_positive (level)."),
            Column("level", "number", "Confidence level of the Wilson interval.", "%"),
            Column("sign_test_p", "number", "Two-sided exact sign (binomial) test p-value."),
            Column("combined_k", "integer", "Studies with a p-value that were combined."),
            Column("stouffer_z", "number", "Stouffer's z (unweighted), favourable direction."),
            Column("stouffer_p", "number", "One-sided p of stouffer_z."),
            Column("stouffer_weighted_z", "number", "Stouffer's z weighted by the root of n."),
            Column("stouffer_weighted_p", "number", "One-sided p of stouffer_weighted_z."),
            Column("fisher_chi2", "number", "Fisher's statistic, -2 times the sum of ln p."),
            Column("fisher_df", "integer", "Degrees of freedom of fisher_chi2 (2k)."),
            Column("fisher_p", "number", "Upper-tail p of fisher_chi2."),
            Column(
                "combined_p_bound",
                "string",
                "= when every p combined was exact; <= or >= when some were bounds "
                "(the combined p-values are then bounds too).",
            ),
        ),
    ),
}


def _cell(value: Any) -> str:
    """One CSV cell: floats in full precision, missing numbers empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "" if not math.isfinite(value) else repr(value)
    return str(value)


def _f(x: Any) -> float:
    return float(x) if x is not None else math.nan


def _effect_rows(a: OutcomeAnalysis) -> Iterable[dict[str, Any]]:
    for r in a.rows:
        yield {
            "question": a.question.id,
            "outcome": a.outcome.id,
            "outcome_name": a.outcome.name,
            "record": r.study,
            "label": r.label,
            "citation": r.citation,
            "design": r.design,
            "timepoint": r.timepoint,
            "n": float(r.n),
            "measure": a.measure,
            "yi": float(r.yi),
            "vi": float(r.vi),
            "how_computed": r.es_method,
            "derived": bool(r.derived),
            "assumed": bool(r.assumed),
            "status": r.status,
            "reason": r.reason,
            "risk_of_bias": r.rob,
        }


def _pooled_row(base: EvidenceBase, a: OutcomeAnalysis) -> dict[str, Any]:
    certainty = grade_outcome(base, a)
    fit, nat = a.fit, a.natural()
    return {
        "question": a.question.id,
        "outcome": a.outcome.id,
        "outcome_name": a.outcome.name,
        "measure": a.measure,
        "k": a.k,
        "participants": certainty.participants,
        "estimate": _f(fit.estimate) if fit else None,
        "se": _f(fit.se) if fit else None,
        "ci_lb": _f(fit.ci_lb) if fit else None,
        "ci_ub": _f(fit.ci_ub) if fit else None,
        "pi_lb": _f(fit.pi_lb) if fit else None,
        "pi_ub": _f(fit.pi_ub) if fit else None,
        "natural_scale": a.natural_name if nat else "",
        "natural_estimate": nat.estimate if nat else None,
        "natural_ci_lb": nat.ci_lb if nat else None,
        "natural_ci_ub": nat.ci_ub if nat else None,
        "pval": _f(fit.pval) if fit else None,
        "tau2": _f(fit.tau2) if fit else None,
        "I2": _f(fit.I2) if fit else None,
        "QE": _f(fit.QE) if fit else None,
        "QEp": _f(fit.QEp) if fit else None,
        "method": a.settings.method,
        "test": a.settings.test,
        "level": float(a.settings.level),
        "certainty": certainty.level,
        "statement": statement(a, certainty),
        "reason": a.reason,
    }


def _vote_row(a: OutcomeAnalysis) -> dict[str, Any] | None:
    """The SWiM summaries of one outcome, or None when fewer than two studies give a direction."""
    swim = outcome_swim(a)
    if swim.votes is None:
        return None
    v, c = swim.votes, swim.combined
    row: dict[str, Any] = {
        "question": a.question.id,
        "outcome": a.outcome.id,
        "outcome_name": a.outcome.name,
        "k": v.k,
        "positive": v.positive,
        "negative": v.negative,
        "null": v.null,
        "prop_positive": v.prop_positive,
        "prop_ci_lb": v.prop_ci_lb,
        "prop_ci_ub": v.prop_ci_ub,
        "level": float(v.level),
        "sign_test_p": v.sign_test_p,
    }
    if c is not None:
        row.update(
            combined_k=c.k,
            stouffer_z=c.stouffer_z,
            stouffer_p=c.stouffer_p,
            stouffer_weighted_z=c.stouffer_weighted_z,
            stouffer_weighted_p=c.stouffer_weighted_p,
            fisher_chi2=c.fisher_chi2,
            fisher_df=c.fisher_df,
            fisher_p=c.fisher_p,
            combined_p_bound=c.bound,
        )
    return row


def package_rows(
    base: EvidenceBase, questions: Sequence[str] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """The rows of every exported table, as dictionaries keyed by column name.

    Parameters
    ----------
    base
        The loaded evidence base (:func:`synthesis.notebook.load`).
    questions
        Question ids to export; all questions when None.

    Returns
    -------
    dict
        Table name -> list of rows, in question and outcome order.
    """
    qids = list(questions) if questions else sorted(base.questions)
    unknown = [q for q in qids if q not in base.questions]
    if unknown:
        raise UserInputError(
            f"question {unknown[0]!r} does not exist (allowed: {', '.join(sorted(base.questions))})"
        )
    tables: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
    for qid in qids:
        for a in analyse_question(base, qid):
            tables["effect_sizes"].extend(_effect_rows(a))
            tables["pooled_results"].append(_pooled_row(base, a))
            votes = _vote_row(a)
            if votes is not None:
                tables["vote_counts"].append(votes)
    return tables


def _csv_text(columns: tuple[Column, ...], rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([c.name for c in columns])
    for row in rows:
        writer.writerow([_cell(row.get(c.name)) for c in columns])
    return buffer.getvalue()


def descriptor(provenance: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``datapackage.json`` descriptor of the exported tables."""
    resources = []
    for name, (description, columns) in TABLES.items():
        resources.append(
            {
                "name": name.replace("_", "-"),
                "path": f"{name}.csv",
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "description": description,
                "schema": {
                    "fields": [c.descriptor() for c in columns],
                    "missingValues": [""],
                },
            }
        )
    out: dict[str, Any] = {
        "profile": "tabular-data-package",
        "name": "synthesis-evidence",
        "title": "Effect sizes, pooled results and vote counts of the evidence base",
        "licenses": [{"name": "MIT", "path": "https://opensource.org/licenses/MIT"}],
        "resources": resources,
    }
    if provenance:
        out["synthesis_provenance"] = provenance
    return out


def export_package(
    base: EvidenceBase,
    out_dir: Path,
    *,
    questions: Sequence[str] | None = None,
    provenance: dict[str, Any] | None = None,
    write: Callable[[Path, bytes], None] | None = None,
) -> list[Path]:
    """Write the three CSV tables and ``datapackage.json`` into ``out_dir``.

    Parameters
    ----------
    base
        The loaded evidence base.
    out_dir
        Folder to write into (created when missing).
    questions
        Question ids to export; all when None.
    provenance
        Optional commit, data hash and versions to record in the descriptor.
    write
        Optional writer ``(path, bytes)``; the default writes each file atomically.

    Returns
    -------
    list of Path
        The files written, sorted by name.
    """
    tables = package_rows(base, questions)
    texts = {f"{name}.csv": _csv_text(TABLES[name][1], rows) for name, rows in tables.items()}
    texts["datapackage.json"] = json.dumps(descriptor(provenance), indent=2) + "\n"
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserInputError(
            f"{out_dir}: cannot create the output folder ({exc.strerror})"
        ) from exc
    writer = write or _write_atomic
    paths = []
    for name in sorted(texts):
        path = out_dir / name
        writer(path, texts[name].encode("utf-8"))
        paths.append(path)
    return paths


def _write_atomic(path: Path, data: bytes) -> None:
    try:
        write_atomic(path, data)
    except OSError as exc:
        raise UserInputError(f"{path}: cannot write ({exc.strerror})") from exc
