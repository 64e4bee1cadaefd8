"""Print, as JSON, the metafor call the academic page shows for every pooled model.

Run by tests/reference/r_call_reference.R (which evaluates each call in R and records
what it ran); tests/test_r_call_reference.py checks that the pages still print exactly
these calls. From the repository root::

    python tests/reference/r_calls.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def pooled_calls(root: Path = ROOT) -> list[dict[str, object]]:
    """Question, outcome and printed R call (:func:`synthesis.notebook.r_code`) of every
    pooled model of the evidence base in ``root``, in the questions' order."""
    from synthesis.analysis import analyse_question
    from synthesis.notebook import r_code
    from synthesis.validate import load_evidence

    base = load_evidence(root)
    return [
        {"question": q, "outcome": a.outcome.id, "call": r_code(a)}
        for q in sorted(base.questions)
        for a in analyse_question(base, q)
        if a.fit is not None
    ]


if __name__ == "__main__":
    json.dump(pooled_calls(), sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")
