"""Which notebooks a build runs, generated from one template, and what each one reads.

A build runs two kinds of notebook:

- every ``notebooks/*.ipynb`` whose name does not start with ``_`` (the evidence-base
  notebook, and any notebook a reviewer adds), as it is;
- one notebook per review question, generated from the single template
  ``notebooks/_template_question.ipynb``: its cell tagged ``question-title`` becomes the
  question's heading, and a cell tagged ``injected-parameters`` is inserted after the
  cell tagged ``parameters`` with ``QUESTION`` and any build parameters, papermill's
  convention, so ``papermill notebooks/_template_question.ipynb
  out.ipynb -p QUESTION q2_mindfulness_training`` gives the same notebook. A new
  question file in ``evidence/questions/`` therefore needs no notebook; a committed
  notebook whose ``parameters`` cell sets ``QUESTION = "<id>"`` replaces the generated
  one for that question.

:func:`notebook_inputs` lists what a notebook reads (its question file, the records
that serve the question, the bibliography entries they cite, its parameters), each with
a content digest: the build's cache key is made of them, and comparing them with the
previous build's says why a notebook ran.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthesis import vocabulary
from synthesis.bib import STYLES
from synthesis.errors import UserInputError
from synthesis.files import write_atomic
from synthesis.notebook import cite_markdown

if TYPE_CHECKING:
    from synthesis.evidence import EvidenceBase

__all__ = [
    "PARAMETERS",
    "TEMPLATE",
    "NotebookSpec",
    "generate_question_notebook",
    "notebook_inputs",
    "parse_params",
    "plan_notebooks",
    "variant_name",
]

#: The question template, relative to the project root.
TEMPLATE = "notebooks/_template_question.ipynb"
#: Build parameters a question notebook takes: option name -> notebook variable.
PARAMETERS = {
    "method": "METHOD",
    "test": "TEST",
    "level": "LEVEL",
    "prepost_r": "PREPOST_R",
    "style": "STYLE",
}
_TITLE_TAG = "question-title"
_PARAMS_TAG = "parameters"
_INJECTED_TAG = "injected-parameters"
_QUESTION_ASSIGNMENT = re.compile(r"""^QUESTION\s*=\s*["']([^"']+)["']""", re.MULTILINE)


@dataclass
class NotebookSpec:
    """One notebook of the build.

    Attributes
    ----------
    name : str
        Stem of the pages it becomes, e.g. ``00_evidence_base`` or
        ``q2_mindfulness_training``.
    origin : str
        The file it comes from, relative to the project root.
    notebook : dict
        Notebook JSON to execute (generated for a question).
    question : str or None
        The question it reports on; ``None`` for notebooks about the whole evidence base.
    params : dict
        Build parameters injected into it (option name -> value).
    """

    name: str
    origin: str
    notebook: dict[str, Any]
    question: str | None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def source(self) -> str:
        """The notebook as JSON text (what nbclient reads)."""
        return json.dumps(self.notebook, ensure_ascii=False, indent=1)


def _cells_tagged(nb: Mapping[str, Any], tag: str) -> list[int]:
    return [
        i for i, c in enumerate(nb.get("cells", [])) if tag in c.get("metadata", {}).get("tags", [])
    ]


def _source(cell: Mapping[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _read_notebook(path: Path, root: Path) -> dict[str, Any]:
    rel = path.relative_to(root).as_posix()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UserInputError(f"{rel}: cannot read the notebook ({exc})") from None
    except json.JSONDecodeError as exc:
        raise UserInputError(
            f"{rel}: not a valid notebook (JSON error at line {exc.lineno}: {exc.msg})"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise UserInputError(f"{rel}: not a Jupyter notebook (no list of cells)")
    return data


def question_number_title(question_id: str, title: str) -> str:
    """``"Q2. Title"`` for ``q2_...``; the title alone when the id has no number."""
    match = re.match(r"[qQ](\d+)", question_id)
    return f"Q{int(match.group(1))}. {title}" if match else title


def generate_question_notebook(
    template: Mapping[str, Any],
    question_id: str,
    title: str,
    params: Mapping[str, Any] | None = None,
    *,
    origin: str = TEMPLATE,
) -> dict[str, Any]:
    """The notebook of one question, made from the template.

    Parameters
    ----------
    template : dict
        Notebook JSON with one cell tagged ``parameters`` and at most one tagged
        ``question-title``.
    question_id, title : str
        The question's id and title (from its file in ``evidence/questions/``).
    params : dict, optional
        Build parameters (keys of :data:`PARAMETERS`), injected after ``QUESTION``.
    origin : str
        The template's path, for messages.

    Returns
    -------
    dict
        A new notebook: the title cell holds ``# Q<n>. <title>`` and an
        ``injected-parameters`` cell follows the ``parameters`` cell, as papermill
        writes it.

    Examples
    --------
    >>> tpl = {"cells": [
    ...     {"cell_type": "markdown", "metadata": {"tags": ["question-title"]},
    ...      "source": "# Title"},
    ...     {"cell_type": "code", "metadata": {"tags": ["parameters"]},
    ...      "source": "QUESTION = None", "outputs": [], "execution_count": None}]}
    >>> nb = generate_question_notebook(tpl, "q2_x", "Training", {"method": "DL"})
    >>> nb["cells"][0]["source"].splitlines()[0]
    '# Q2. Training'
    >>> print(nb["cells"][2]["source"])
    # Parameters (injected by synthesis build)
    QUESTION = 'q2_x'
    METHOD = 'DL'
    """
    params = dict(params or {})
    found = _cells_tagged(template, _PARAMS_TAG)
    if len(found) != 1:
        raise UserInputError(
            f"{origin}: needs exactly one code cell tagged 'parameters' (found {len(found)})"
        )
    assignments = {"QUESTION": question_id, **{PARAMETERS[k]: v for k, v in params.items()}}
    nb = _inject(dict(template), assignments)
    heading = question_number_title(question_id, title)
    for i in _cells_tagged(nb, _TITLE_TAG):
        rest = _source(nb["cells"][i]).split("\n", 1)
        body = rest[1] if len(rest) > 1 else ""
        nb["cells"][i]["source"] = f"# {heading}\n{body}"
    meta = dict(nb.get("metadata", {}))
    meta["title"] = heading
    nb["metadata"] = meta
    return nb


def _declared_question(nb: Mapping[str, Any]) -> str | None:
    for i in _cells_tagged(nb, _PARAMS_TAG):
        match = _QUESTION_ASSIGNMENT.search(_source(nb["cells"][i]))
        if match:
            return match.group(1)
    return None


def plan_notebooks(
    root: Path, base: EvidenceBase, params: Mapping[str, Any] | None = None
) -> list[NotebookSpec]:
    """Every notebook of a build, in page order.

    Parameters
    ----------
    root : pathlib.Path
        Project root.
    base : EvidenceBase
        The validated evidence (its questions say which notebooks to generate).
    params : dict, optional
        Build parameters (:func:`parse_params`), given to every notebook with a
        ``parameters`` cell.

    Returns
    -------
    list of NotebookSpec
        The committed notebooks (sorted by file name), then one per question without
        its own notebook (sorted by question id).
    """
    params = dict(params or {})
    folder = root / "notebooks"
    specs: list[NotebookSpec] = []
    covered: set[str] = set()
    paths = sorted(folder.glob("*.ipynb")) if folder.is_dir() else []
    for path in paths:
        if path.name.startswith("_") or not path.is_file():
            continue
        data = _read_notebook(path, root)
        question = _declared_question(data)
        if question is not None and question in base.questions:
            covered.add(question)
        else:
            question = None
        if params and _cells_tagged(data, _PARAMS_TAG):
            data = _inject(data, {PARAMETERS[k]: v for k, v in params.items()})
        specs.append(
            NotebookSpec(
                name=path.stem,
                origin=path.relative_to(root).as_posix(),
                notebook=data,
                question=question,
                params=params if _cells_tagged(data, _INJECTED_TAG) else {},
            )
        )
    missing = sorted(q for q in base.questions if q not in covered)
    if missing:
        template_path = root / TEMPLATE
        if not template_path.is_file():
            raise UserInputError(
                f"{TEMPLATE}: not found; it generates the notebooks of questions "
                f"{', '.join(missing)}"
            )
        template = _read_notebook(template_path, root)
        for qid in missing:
            specs.append(
                NotebookSpec(
                    name=qid,
                    origin=TEMPLATE,
                    notebook=generate_question_notebook(
                        template, qid, base.questions[qid].title, params
                    ),
                    question=qid,
                    params=params,
                )
            )
    style = (params or {}).get("style")
    for spec in specs:  # [@key] in markdown cells, in the page's reference style
        spec.notebook = cite_markdown(spec.notebook, base, spec.question, style)
    return specs


def _inject(nb: dict[str, Any], assignments: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``nb`` with an ``injected-parameters`` cell after its parameters cell."""
    nb = copy.deepcopy(nb)
    at = _cells_tagged(nb, _PARAMS_TAG)[0]
    lines = ["# Parameters (injected by synthesis build)"]
    lines += [f"{name} = {value!r}" for name, value in assignments.items()]
    nb["cells"].insert(
        at + 1,
        {
            "cell_type": "code",
            "execution_count": None,
            "id": _INJECTED_TAG,
            "metadata": {"tags": [_INJECTED_TAG, "academic"]},
            "outputs": [],
            "source": "\n".join(lines),
        },
    )
    return nb


def parse_params(items: list[str] | None) -> dict[str, Any]:
    """Build parameters from ``KEY=VALUE`` strings (``--param method=DL``).

    Parameters
    ----------
    items : list of str
        Keys ``method`` (:data:`synthesis.vocabulary.METHODS`), ``test``
        (:data:`synthesis.vocabulary.TESTS`), ``level`` (a percentage strictly between
        1 and 100), ``prepost_r`` (-1 to 1) and ``style`` (a reference style of
        :data:`synthesis.bib.STYLES`: ``apa`` or ``vancouver``).

    Returns
    -------
    dict
        Typed values in a fixed key order.

    Raises
    ------
    UserInputError
        An unknown key or a value that is not allowed; the message lists what is.

    Examples
    --------
    >>> parse_params(["test=knha", "method=dl", "level=90"])
    {'method': 'DL', 'test': 'knha', 'level': 90.0}
    """
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip().lower().replace("-", "_")
        value = value.strip()
        if not sep or not value:
            raise UserInputError(f"--param {item!r}: write KEY=VALUE, e.g. --param method=DL")
        if key not in PARAMETERS:
            raise UserInputError(
                f"--param {item!r}: unknown key {key!r} (allowed: {', '.join(PARAMETERS)})"
            )
        if key == "method":
            method = vocabulary.METHOD_ALIASES.get(value.upper(), value.upper())
            if method not in vocabulary.METHODS:
                raise UserInputError(
                    f"--param {item!r}: method must be one of {', '.join(vocabulary.METHODS)}"
                )
            out[key] = method
        elif key == "test":
            if value.lower() not in vocabulary.TESTS:
                raise UserInputError(
                    f"--param {item!r}: test must be one of {', '.join(vocabulary.TESTS)}"
                )
            out[key] = value.lower()
        elif key == "style":
            if value.lower() not in STYLES:
                raise UserInputError(f"--param {item!r}: style must be one of {', '.join(STYLES)}")
            out[key] = value.lower()
        else:
            try:
                number = float(value)
            except ValueError:
                number = float("nan")
            if key == "level":
                problem = vocabulary.level_problem(number)
                if problem:
                    raise UserInputError(f"--param {item!r}: level {problem}")
            elif not -1.0 <= number <= 1.0:
                raise UserInputError(f"--param {item!r}: prepost_r must be a number from -1 to 1")
            out[key] = number
    return {k: out[k] for k in PARAMETERS if k in out}


def variant_name(params: Mapping[str, Any]) -> str:
    """Folder name of a parameter variant: ``DL``, ``DL_knha``, ``REML_level90``.

    Examples
    --------
    >>> variant_name({"method": "DL", "test": "knha", "level": 90.0})
    'DL_knha_level90'
    """
    parts = []
    for key, value in params.items():
        if key in ("method", "test", "style"):
            parts.append(str(value))
        else:
            parts.append(f"{key.replace('_', '')}{value:g}")
    return "_".join(parts)


# --------------------------------------------------------------------------- inputs


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_digest(root: Path, rel: str) -> str:
    try:
        return _digest((root / rel).read_bytes())
    except OSError:
        return "absent"


def _bib_digest(base: EvidenceBase, key: str) -> str:
    bib = base.bibliography
    if bib is None or key not in bib:
        return "absent"
    ref = bib[key]
    text = json.dumps([ref.key, ref.entry_type, ref.fields], sort_keys=True, ensure_ascii=False)
    return _digest(text.encode())


def notebook_inputs(root: Path, base: EvidenceBase, spec: NotebookSpec) -> dict[str, str]:
    """What ``spec`` reads, each with a content digest.

    Parameters
    ----------
    root : pathlib.Path
        Project root.
    base : EvidenceBase
        The validated evidence.
    spec : NotebookSpec
        The notebook.

    Returns
    -------
    dict
        Label -> sha256. For a question notebook: ``"question <id>"`` (its file),
        ``"record <study>"`` for every record with an outcome serving the question and
        ``"claim <id>"`` for every claim about the question, and ``"reference <key>"``
        for the bibliography entries the records and claims cite. For any other
        notebook: every file under ``evidence/`` (``"record <study>"``,
        ``"question <id>"``, ``"file <path>"``) and ``"file references.bib"``; of a
        question file only the fields that decide which results exist and pool
        (id, title, outcomes, designs, analysis).
        Parameters, the notebook and the package code are added by the build.
    """
    inputs: dict[str, str] = {}
    if spec.question is not None:
        qid = spec.question
        inputs[f"question {qid}"] = _file_digest(
            root, base.files.get(f"question:{qid}", f"evidence/questions/{qid}.yaml")
        )
        studies = sorted({s.id for s, _, _ in base.outcomes(qid)})
        for sid in studies:
            inputs[f"record {sid}"] = _file_digest(
                root, base.files.get(sid, f"evidence/studies/{sid}.yaml")
            )
        claims = sorted(c.id for c in base.claims.values() if c.question == qid)
        for cid in claims:
            inputs[f"claim {cid}"] = _file_digest(
                root, base.files.get(f"claim:{cid}", f"evidence/claims/{cid}.yaml")
            )
        keys = {base.studies[sid].citation for sid in studies}
        keys |= {c.cites for c in base.claims.values() if c.question == qid and c.cites}
        for key in sorted(keys):
            inputs[f"reference {key}"] = _bib_digest(base, key)
        return inputs
    labels = {f: label for label, f in _file_labels(base).items()}
    evidence = root / "evidence"
    files = [p for p in evidence.rglob("*") if p.is_file()] if evidence.is_dir() else []
    for path in sorted(files):
        rel = path.relative_to(root).as_posix()
        if any(part.startswith(".") or part == "__pycache__" for part in Path(rel).parts):
            continue
        label = labels.get(rel, f"file {rel}")
        qid = label.removeprefix("question ")
        if label.startswith("question ") and qid in base.questions:
            # the evidence base reads only what decides which results exist and pool
            fields = base.questions[qid].model_dump(mode="json", include=_MAP_FIELDS)
            inputs[label] = _digest(json.dumps(fields, sort_keys=True).encode())
        else:
            inputs[label] = _file_digest(root, rel)
    inputs["file references.bib"] = _file_digest(root, "references.bib")
    return inputs


#: Fields of a question file the evidence-base notebook reads (the evidence map, counts
#: and poolability); its wording (PICO, plain question, notes, GRADE overrides) is read
#: only by the question's own notebook.
_MAP_FIELDS = {"id", "title", "outcomes", "designs", "analysis"}


def _file_labels(base: EvidenceBase) -> dict[str, str]:
    out = {}
    for key, rel in base.files.items():
        if key.startswith("question:"):
            out[f"question {key.removeprefix('question:')}"] = rel
        elif key.startswith("claim:"):
            out[f"claim {key.removeprefix('claim:')}"] = rel
        else:
            out[f"record {key}"] = rel
    return out


def why(
    previous: Mapping[str, str] | None, current: Mapping[str, str], *, prefix: str = ""
) -> list[str]:
    """Why a notebook must run again: its inputs that were added, removed or changed.

    Examples
    --------
    >>> why({"record a": "1", "record b": "2"}, {"record a": "9", "record c": "3"},
    ...     prefix="q2 ")
    ['q2 record a changed', 'q2 record b removed', 'q2 record c added']
    """
    if previous is None:
        return ["not built before"]
    reasons = []
    for label in sorted(set(previous) | set(current)):
        if label not in current:
            reasons.append(f"{prefix}{label} removed")
        elif label not in previous:
            reasons.append(f"{prefix}{label} added")
        elif previous[label] != current[label]:
            reasons.append(f"{prefix}{label} changed")
    return reasons


#: Labels of the notebook inputs that are evidence (see :func:`notebook_inputs`).
DATA_LABELS = ("question", "record", "claim", "reference", "file")


def data_provenance(question: str | None, inputs: Mapping[str, str]) -> dict[str, str]:
    """The data hash a page shows: of the evidence it reads (a question page: its own)."""
    if question is None:
        return {}
    data = {k: v for k, v in inputs.items() if k.split(" ", 1)[0] in DATA_LABELS}
    counted = []
    for kind, word in (("record", "study record"), ("claim", "claim"), ("reference", "reference")):
        n = sum(1 for k in data if k.startswith(f"{kind} "))
        if n or kind != "claim":
            counted.append(f"{n} {word}{'s' * (n != 1)}")
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return {
        "evidence_sha256": _digest(text.encode()),
        "evidence_scope": (
            f"Evidence this page reads (evidence/questions/{question}.yaml, "
            f"{', '.join(counted[:-1])} and {counted[-1]})"
        ),
    }


def share_evidence(folder: Path, base: EvidenceBase, root: Path, key: str) -> str:
    """Pickle the validated evidence for the kernels (each would validate it again).

    ``key`` names the file by the evidence and package digests, so a kernel only ever
    reads the evidence of its build, loaded by the same code. Returns the file's path,
    or ``""`` when it cannot be written.
    """
    import dataclasses
    import pickle

    path = folder / f"{key}.pickle"
    if path.is_file():
        return str(path)
    try:
        data = pickle.dumps(dataclasses.replace(base, root=root), protocol=pickle.HIGHEST_PROTOCOL)
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.pickle"):  # one build's evidence is kept
            old.unlink(missing_ok=True)
        write_atomic(path, data)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        return ""
    return str(path)
