"""A commented template study record for students (``synthesis new-study``)."""

from __future__ import annotations

import re
from pathlib import Path

from synthesis.errors import UserInputError

TEMPLATE = """\
# Study record: one file per study report. Run `synthesis validate` after every edit.
# Every number needs a source: a name from `sources:` below (or an inline locator)
# given on the number, on its data block, or on the outcome. A number you computed
# rather than read is written {{value: 36, derived: "86% of 42, rounded"}}.
# A number the source does not give is left out, and `not_found:` says so.
id: {id}
citation: {citation}          # key of the entry in references.bib
label: null                   # short label for tables, e.g. "Smith 2024" (optional)
design: cross-sectional       # one of: {designs}
status: published             # one of: {statuses}
setting: null                 # e.g. "NHS mental health trust, London"
country: null
population:
  description: FILL IN who took part
  n: null                     # number of participants (delete if not reported)
  source: abstract
intervention: null            # for trials: what was given
exposure: null                # for correlational studies: what was measured
comparator: null
sources:                      # where the numbers were read; names are yours
  abstract:
    doi: FILL IN              # or url:
    where: abstract           # abstract / Table 2 / p. 5 ...
cohort: null                  # an id shared by reports of the same people (never pooled twice)
outcomes:
  - question: q1_alliance     # a file name in evidence/questions/
    outcome: alliance         # an outcome id defined in that question
    name: FILL IN the outcome as the study names it
    instrument: null
    timepoint: null
    source: abstract
    data:                     # kind: {kinds}
      kind: correlation
      r: 0.0                  # FILL IN
      n: 0                    # FILL IN
    # A result the source gives only as a direction and a p value (for example
    # "p = .032 between groups, n 25 and 23") is written as a narrative block:
    #   data:
    #     kind: narrative
    #     direction: favours intervention  # one of: {directions}
    #     p: 0.032
    #     p_bound: "="                     # "<" when the source says p < .05
    #     p_sided: two-sided               # or one-sided
    #     test: two-sample t               # one of: {tests}
    #     n1: 25                           # per group; or n: total
    #     n2: 23
    #     missing: group means and SDs     # what would be needed and was not found
    # It counts in the vote on the direction of effect, the combined p values and the
    # albatross plot; with test two-sample t, paired t or correlation t and an exact p
    # it also gives an effect size marked "derived from p". Any data kind may carry
    # direction, p, p_bound, p_sided and test.
risk_of_bias:
  tool: JBI                   # RoB 2 (randomised), ROBINS-I (non-randomised), JBI (others)
  checklist: JBI analytical cross-sectional
  basis: abstract only        # abstract only / abstract and tables / full text
  domains:
    - domain: FILL IN
      judgement: unclear
      reason: FILL IN one line drawn from the design as the source describes it
  overall: unclear
  overall_reason: FILL IN
notes: []                     # conflicts between sources, caveats
not_found: []                 # numbers searched for and not found
"""


def write_study_template(root: Path, study_id: str, citation: str, *, force: bool = False) -> Path:
    """Write ``evidence/studies/<study_id>.yaml`` from :data:`TEMPLATE`; return its path."""
    from synthesis import records

    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", study_id):
        raise UserInputError(
            f"study id {study_id!r} is not allowed: use lower-case letters, digits, - and _ "
            "(e.g. smith2024)"
        )
    folder = root / "evidence" / "studies"
    if not folder.is_dir():
        raise UserInputError(f"{folder}: folder not found; run from the project root")
    path = folder / f"{study_id}.yaml"
    if path.exists() and not force:
        raise UserInputError(f"{path} exists already; choose another id or pass --force")
    text = TEMPLATE.format(
        id=study_id,
        citation=citation,
        designs=", ".join(records.DESIGNS),
        statuses=", ".join(records.STATUSES),
        kinds=", ".join(records.DATA_KINDS),
        directions=", ".join(records.DIRECTIONS),
        tests=", ".join(records.TESTS),
    )
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
