"""The evidence map: which studies serve which question and outcome, and what is missing.

Built from :func:`synthesis.extract.effect_rows`, so "poolable" here means exactly what
the analyses pool.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from synthesis import pooling_rules
from synthesis.counts import count_rows
from synthesis.extract import effect_rows

if TYPE_CHECKING:
    import pandas as pd

    from synthesis.evidence import EvidenceBase


def map_rows(base: EvidenceBase, question: str | None = None) -> pd.DataFrame:
    """One row per (question, outcome, study result) with its status and reason.

    ``question`` limits the rows to one question (a question's page needs no others).
    """
    import pandas as pd

    rows = []
    for qid, q in sorted(base.questions.items()):
        if question is not None and qid != question:
            continue
        for spec in q.outcomes:
            for r in effect_rows(base, qid, spec.id):
                rows.append(
                    {
                        "question": qid,
                        "outcome": spec.id,
                        "measure": spec.measure,
                        "study": r.study,
                        "label": r.label,
                        "design": r.design,
                        "n": r.n,
                        "status": r.status,
                        "reason": r.reason,
                    }
                )
    columns = [
        "question",
        "outcome",
        "measure",
        "study",
        "label",
        "design",
        "n",
        "status",
        "reason",
    ]
    return pd.DataFrame(rows, columns=columns)


def map_summary(base: EvidenceBase) -> pd.DataFrame:
    """Per question and outcome: distinct studies and participants
    (:func:`synthesis.counts.count_rows`), and counts of pooled, excluded, not-poolable and
    narrative results."""
    import pandas as pd

    out = []
    for qid, q in sorted(base.questions.items()):
        for spec in q.outcomes:
            found = effect_rows(base, qid, spec.id)
            counts = pd.Series([r.status for r in found], dtype=object).value_counts()
            count = count_rows(found, spec.measure)
            out.append(
                {
                    "question": qid,
                    "outcome": spec.id,
                    "measure": spec.measure,
                    "studies": count.studies,
                    "participants pooled (studies)": count.pooled_text(),
                    "also reporting, not pooled (studies)": count.other_text(),
                    "poolable": int(counts.get("pooled", 0)),
                    "excluded": int(counts.get("excluded", 0)),
                    "not_poolable": int(counts.get("not poolable", 0)),
                    "narrative": int(counts.get("narrative", 0)),
                    "awaiting": int(counts.get("awaiting results", 0)),
                    "pooled_estimate": "yes"
                    if counts.get("pooled", 0) >= pooling_rules.min_k(q, spec)[0]
                    else "no",
                }
            )
    return pd.DataFrame(out)


def data_still_needed(base: EvidenceBase, question: str | None = None) -> pd.DataFrame:
    """What would have to be found for each study to contribute (one row per gap).

    ``question`` limits the rows to the studies serving one question.
    """
    import pandas as pd

    rows = []
    serving = {s.id for s, _, _ in base.outcomes(question)} if question is not None else None
    for r in map_rows(base, question).itertuples():
        if r.status in ("narrative", "not poolable", "awaiting results"):
            rows.append(
                {
                    "study": r.study,
                    "label": r.label,
                    "question": r.question,
                    "outcome": r.outcome,
                    "needed": r.reason,
                }
            )
    for sid, study in sorted(base.studies.items()):
        if serving is not None and sid not in serving:
            continue
        for item in study.not_found:
            rows.append(
                {
                    "study": sid,
                    "label": study.label or sid,
                    "question": "",
                    "outcome": "",
                    "needed": f"not found: {item}",
                }
            )
    return pd.DataFrame(rows, columns=["study", "label", "question", "outcome", "needed"])


def study_counts(base: EvidenceBase) -> pd.DataFrame:
    """PRISMA-style counts: studies per question by publication status and by design."""
    import pandas as pd

    rows = []
    for qid in sorted(base.questions):
        studies = {s.id: s for s, _, _ in base.outcomes(qid)}
        by_status = pd.Series([s.status for s in studies.values()]).value_counts()
        pooled = {
            r.study
            for spec in base.questions[qid].outcomes
            for r in effect_rows(base, qid, spec.id)
            if r.status == "pooled"
        }
        rows.append(
            {
                "question": qid,
                "records": len(studies),
                "published": int(by_status.get("published", 0)),
                "preprint": int(by_status.get("preprint", 0)),
                "protocol or ongoing": int(
                    by_status.get("protocol", 0) + by_status.get("ongoing", 0)
                ),
                "with poolable numbers": len(pooled),
            }
        )
    without = [s for s in base.studies.values() if not s.outcomes]
    rows.append(
        {
            "question": "(no outcome data)",
            "records": len(without),
            "published": sum(s.status == "published" for s in without),
            "preprint": sum(s.status == "preprint" for s in without),
            "protocol or ongoing": sum(s.status in ("protocol", "ongoing") for s in without),
            "with poolable numbers": 0,
        }
    )
    return pd.DataFrame(rows)


def format_map(base: EvidenceBase) -> str:
    """The evidence map as plain text for the terminal (``synthesis map``)."""
    summary = map_summary(base)
    rows = map_rows(base)
    lines = []
    for qid, q in sorted(base.questions.items()):
        lines.append(f"{qid}: {q.title}")
        for s in summary[summary.question == qid].to_dict("records"):
            lines.append(
                f"  {s['outcome']:<36} {s['measure']:<5} studies {s['studies']:>2}  "
                f"participants pooled {s['participants pooled (studies)']}, also reporting "
                f"{s['also reporting, not pooled (studies)']}  results: poolable "
                f"{s['poolable']:>2}  excluded {s['excluded']:>2}  narrative {s['narrative']:>2}  "
                f"not poolable {s['not_poolable']:>2}  pooled estimate: {s['pooled_estimate']}"
            )
            sub = rows[(rows.question == qid) & (rows.outcome == s["outcome"])]
            for r in sub.itertuples():
                why = f" - {r.reason}" if r.reason else ""
                lines.append(f"      {r.status:<16} {r.label}{why}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
