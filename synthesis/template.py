"""Commented template study records for students (``synthesis new-study --kind KIND``).

One template per data kind, generated from the record models in :mod:`synthesis.records`,
so every kind (and every field a kind gains) has one. Every value the student must supply
is written as :data:`synthesis.records.PLACEHOLDER` (``FILL IN``), which
``synthesis validate`` refuses anywhere in a record: an untouched template can never be
pooled. The first line points editors that speak the YAML language server at the JSON
Schema of a record, so mistakes are underlined as the record is typed.
"""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any

from synthesis import records
from synthesis.errors import UserInputError

#: Schema line for editors (path relative to ``evidence/studies/<id>.yaml``).
SCHEMA_LINE = "# yaml-language-server: $schema=../schema/study.schema.json"

HEADER = """\
{schema}
# Study record: one file per study report. Run `synthesis validate` after every edit.
# Replace every FILL IN with what the source reports; `synthesis validate` refuses any
# FILL IN left. Every number needs a source: a name from `sources:` below (or an inline
# locator) given on the number, on its data block, or on the outcome. A number you
# computed rather than read is written {{value: 36, derived: "86% of 42, rounded"}}.
# A number the source does not give is deleted (with its line), and `not_found:` says so.
id: {id}
citation: {citation}          # key of the entry in references.bib
label: null                   # short label for tables, e.g. "Smith 2024" (optional)
design: FILL IN               # one of: {designs}
status: published             # one of: {statuses}
setting: null                 # e.g. "NHS mental health trust, London"
country: null
population:
  description: FILL IN who took part
  n: FILL IN                  # number of participants (delete the line if not reported)
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
  - question: FILL IN         # one of: {questions}
    outcome: FILL IN          # an outcome id defined in that question
    name: FILL IN the outcome as the study names it
    instrument: null
    timepoint: null
    source: abstract
    data:                     # {kind_doc}
      kind: {kind}
{data}risk_of_bias:
  tool: FILL IN               # RoB 2 (randomised), ROBINS-I (non-randomised), JBI (others)
  checklist: null             # e.g. JBI analytical cross-sectional
  basis: abstract only        # abstract only / abstract and tables / full text
  domains:
    - domain: FILL IN
      judgement: FILL IN
      reason: FILL IN one line drawn from the design as the source describes it
  overall: FILL IN            # one of: {overall}
  overall_reason: FILL IN
notes: []                     # conflicts between sources, caveats
not_found: []                 # numbers searched for and not found
"""

_SKIP = ("kind", "source", "note")
#: Optional fields a kind needs in the usual case (its model requires one of several).
_USUAL = {
    "proportion": ("events",),
    "pre_post": ("mean_pre", "sd_pre", "mean_post", "sd_post"),
}


def _allowed(annotation: Any) -> tuple[Any, ...]:
    """Literal values allowed by ``annotation`` (empty when it is not a Literal)."""
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)
    out: tuple[Any, ...] = ()
    for arg in typing.get_args(annotation):
        out += _allowed(arg)
    return out


def _is_pair(annotation: Any) -> bool:
    if typing.get_origin(annotation) is tuple:
        return True
    return any(_is_pair(a) for a in typing.get_args(annotation))


def data_block(kind: str, indent: int = 6) -> str:
    """The ``data:`` fields of ``kind``: required ones as ``FILL IN``, optional ones commented.

    >>> print(data_block("correlation", indent=0).splitlines()[0])
    r: FILL IN  # required
    """
    model = _models()[kind]
    pad = " " * indent
    lines = []
    for name, info in model.model_fields.items():
        if name in _SKIP:
            continue
        hint = info.description or ""
        allowed = _allowed(info.annotation)
        if allowed:
            hint = (hint + "; " if hint else "") + "one of: " + ", ".join(map(str, allowed))
        if info.is_required() or name in _USUAL.get(kind, ()):
            value = records.PLACEHOLDER
            need = "required" if info.is_required() else "usually needed"
            lines.append(f"{pad}{name}: {value}  # {need}" + (f"; {hint}" if hint else ""))
        else:
            example = "[lower, upper]" if _is_pair(info.annotation) else "..."
            if info.default not in (None, [], ()) and not _is_pair(info.annotation):
                example = (
                    str(info.default).lower()
                    if isinstance(info.default, bool)
                    else str(info.default)
                )
            lines.append(f"{pad}# {name}: {example}" + (f"  # {hint}" if hint else ""))
    return "\n".join(lines) + "\n"


def _models() -> dict[str, Any]:
    """Each data kind's model, keyed by its ``kind`` tag (from the ``OutcomeData`` union)."""
    union = typing.get_args(records.OutcomeData)[0]
    out = {}
    for model in typing.get_args(union):
        (tag,) = typing.get_args(model.model_fields["kind"].annotation)
        out[tag] = model
    return out


def kinds() -> tuple[str, ...]:
    """The data kinds a template can be written for."""
    return tuple(_models())


def study_template(
    study_id: str, citation: str, kind: str = "correlation", questions: tuple[str, ...] = ()
) -> str:
    """The text of a template record for one outcome of data kind ``kind``."""
    models = _models()
    if kind not in models:
        raise UserInputError(f"--kind {kind!r} is not a data kind; allowed: {', '.join(models)}")
    doc = (models[kind].__doc__ or "").strip().splitlines()[0]
    return HEADER.format(
        schema=SCHEMA_LINE,
        id=study_id,
        citation=citation,
        designs=", ".join(records.DESIGNS),
        statuses=", ".join(records.STATUSES),
        questions=", ".join(questions) or "a file name stem in evidence/questions/",
        overall=", ".join(records.OVERALL_ROB),
        kind=kind,
        kind_doc=doc,
        data=data_block(kind),
    )


def write_study_template(
    root: Path, study_id: str, citation: str, *, kind: str = "correlation", force: bool = False
) -> Path:
    """Write ``evidence/studies/<study_id>.yaml`` from :func:`study_template`; return its path."""
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
    questions = tuple(sorted(p.stem for p in (root / "evidence" / "questions").glob("*.yaml")))
    text = study_template(study_id, citation, kind, questions)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
