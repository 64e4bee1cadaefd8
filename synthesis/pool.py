"""``synthesis pool``: pool a CSV whose columns are metafor's ``escalc`` argument names."""

from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthesis.errors import UserInputError
from synthesis.stats import MEASURES, escalc_table, rma
from synthesis.stats.transforms import backtransform
from synthesis.vocabulary import POOL_JSON_FIELDS, QUESTION_MEASURES

#: Keys of the JSON object ``synthesis pool --json`` prints (the CLI contract).
JSON_KEYS = POOL_JSON_FIELDS


#: Columns that label the rows (the first present is used as metafor's ``slab``).
LABEL_COLUMNS = ("study", "slab", "label", "author", "id")
#: metafor ``escalc`` argument names this command reads; other columns are ignored.
ESCALC_COLUMNS = (
    "ri", "ni", "m1i", "m2i", "sd1i", "sd2i", "n1i", "n2i", "ai", "bi", "ci", "di", "xi",
    "yi", "vi", "sei",
)  # fmt: skip
_DECIMAL_COMMA = re.compile(r"[-+]?[0-9]*,[0-9]+([eE][-+]?[0-9]+)?")


@dataclass
class Table:
    """A CSV read by :func:`read_csv`: the frame, the label column and what was noticed."""

    frame: Any
    label: str | None = None
    notes: list[str] = field(default_factory=list)


def _dialect(path: Path, lines: list[str]) -> tuple[str, str, list[str]]:
    """Delimiter and decimal mark of a CSV, and a note when they are not ``,`` and ``.``.

    A header with ``;`` (the export of spreadsheets set to a decimal comma) and no ``,``
    outside quotes is read as semicolon-separated; its numbers may then use decimal
    commas. A tab-separated header is read as such.
    """
    header = lines[0]
    counts = {sep: next(csv.reader([header], delimiter=sep)).__len__() for sep in ",;\t"}
    if counts[","] > 1:
        return ",", ".", []
    if counts[";"] > 1:
        body = [c.strip() for line in lines[1:] for c in next(csv.reader([line], delimiter=";"))]
        comma = any(_DECIMAL_COMMA.fullmatch(c) for c in body)
        dots = any(re.fullmatch(r"[-+]?[0-9]*\.[0-9]+", c) for c in body)
        if comma and dots:
            raise UserInputError(
                f"{path}: semicolon-separated with both decimal commas and decimal points; "
                "use one decimal mark throughout (or save the file as comma-separated)"
            )
        mark = "," if comma else "."
        note = "read as semicolon-separated" + (" with decimal commas" if comma else "")
        return ";", mark, [note]
    if counts["\t"] > 1:
        return "\t", ".", ["read as tab-separated"]
    return ",", ".", []


def read_csv(
    path: Path,
    columns: tuple[str, ...] | None = ESCALC_COLUMNS,
    labels: tuple[str, ...] = LABEL_COLUMNS,
) -> Table:
    """Read ``path``: one header row, then one row per study, every row as long as the header.

    Lines starting with ``#`` are comments; a ``#`` inside a cell is text. Columns that are
    not in ``columns`` (default: the escalc arguments, :data:`ESCALC_COLUMNS`; ``None``
    keeps every column) or ``labels`` are ignored and named in the notes; label columns
    are text, every other column numbers. Raises :class:`~synthesis.errors.UserInputError`
    naming the line and column of anything it cannot read.
    """
    import pandas as pd

    if not path.is_file():
        what = "is a folder, not a CSV file" if path.is_dir() else "file not found"
        raise UserInputError(f"{path}: {what}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise UserInputError(f"{path}: not UTF-8 text; save the CSV as UTF-8") from None
    except OSError as exc:
        raise UserInputError(f"{path}: cannot be read: {exc.strerror}") from None
    numbered = [
        (i, line)
        for i, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not numbered:
        raise UserInputError(f"{path}: the file is empty; it needs a header row and data")
    sep, mark, notes = _dialect(path, [line for _, line in numbered])
    rows = [(i, next(csv.reader([line], delimiter=sep))) for i, line in numbered]
    header_line, header = rows[0]
    header = [h.strip() for h in header]
    seen: dict[str, int] = {}
    for j, name in enumerate(header):
        if not name:
            raise UserInputError(f"{path}: line {header_line}: column {j + 1} has no name")
        if name in seen:
            raise UserInputError(
                f"{path}: line {header_line}: column {name!r} appears twice "
                f"(columns {seen[name] + 1} and {j + 1}); keep one"
            )
        seen[name] = j
    for line, cells in rows[1:]:
        if len(cells) != len(header):
            raise UserInputError(
                f"{path}: line {line} has {len(cells)} cells but the header has "
                f"{len(header)} ({', '.join(header)}): every row needs one cell per column "
                "(quote a label that holds the delimiter)"
            )
    if len(rows) == 1:
        raise UserInputError(f"{path}: no data rows (k = 0); nothing to pool")
    label = next((c for c in labels if c in header), None)
    ignored: list[str] = []
    if columns is not None:
        ignored = [c for c in header if c not in (*columns, *labels)]
    if ignored and columns is not None:
        what = "escalc arguments" if columns == ESCALC_COLUMNS else "read by this command"
        notes.append(f"ignored column(s) {', '.join(ignored)}: not {what} ({', '.join(columns)})")
    data: dict[str, list[Any]] = {}
    for j, name in enumerate(header):
        if name in ignored:
            continue
        values: list[Any] = []
        for row, (line, cells) in enumerate(rows[1:], start=1):
            cell = cells[j].strip()
            if name in labels:
                values.append(cell)
                continue
            if mark == ",":
                cell = cell.replace(",", ".")
            if cell == "" or cell.upper() in ("NA", "NAN"):
                values.append(math.nan)
                continue
            try:
                number = float(cell)
            except ValueError:
                number = math.nan
            if not _NUMBER.fullmatch(cell) or not math.isfinite(number):
                raise UserInputError(
                    f"{path}: column {name!r}, data row {row}: {cells[j].strip()!r} is not a "
                    f"number (line {line}; leave the cell empty, or write NA, for a missing "
                    "value)"
                )
            values.append(number)
        data[name] = values
    return Table(pd.DataFrame(data), label, notes)


_NUMBER = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")


def pool_csv(
    path: Path,
    *,
    measure: str | None,
    method: str = "REML",
    test: str = "z",
    level: float = 95,
) -> dict[str, Any]:
    """Compute effect sizes with :func:`synthesis.stats.escalc_table` and pool them with
    :func:`synthesis.stats.rma`; return the JSON-ready result (keys :data:`JSON_KEYS`)."""
    table = read_csv(path)
    frame = table.frame
    if measure is None:
        if not {"yi", "vi"} <= set(frame.columns):
            raise UserInputError(
                f"{path}: --measure is required unless the CSV has columns yi and vi "
                f"(allowed measures: {', '.join(QUESTION_MEASURES)})"
            )
        measure = "GEN"
    if measure not in MEASURES:
        raise UserInputError(f"--measure {measure!r} is not known; allowed: {', '.join(MEASURES)}")
    try:
        effects = escalc_table(measure, frame)
    except UserInputError as exc:
        raise UserInputError(f"{path}: {exc}") from None
    slab = list(frame[table.label]) if table.label else None
    try:
        fit = rma(
            effects["yi"].to_numpy(),
            effects["vi"].to_numpy(),
            method=method,
            test=test,
            level=level,
            slab=slab,
            measure=None if measure == "GEN" else measure,
        )
    except UserInputError as exc:
        raise UserInputError(f"{path}: {exc}") from None
    full = fit.to_dict()
    out: dict[str, Any] = {key: full.get(key) for key in JSON_KEYS}
    out["measure"] = measure
    out["notes"] = [*table.notes, *(out.get("notes") or [])]
    out["transformed"] = _natural_scale(fit, measure, frame)
    if out["transformed"] is not None:
        t = out["transformed"]
        out["notes"].append(
            f"estimate, CI and PI are on the {t['scale']} scale; 'transformed' gives them as "
            f"{t['name']} (metafor predict(fit, transf={t['transf']}))"
        )
    return out


#: Measures whose analysis scale is not the reporting scale: (scale, name, metafor transf).
_SCALES = {
    "OR": ("log odds ratio", "odds ratio", "exp"),
    "RR": ("log risk ratio", "risk ratio", "exp"),
    "ZCOR": ("Fisher's z", "correlation r", "transf.ztor"),
    "PLO": ("log odds (logit)", "proportion", "transf.ilogit"),
    "PFT": ("double-arcsine", "proportion", "transf.ipft.hm, targs=list(ni=ni)"),
}


def _natural_scale(fit: Any, measure: str, frame: Any) -> dict[str, Any] | None:
    """Estimate, CI and PI back-transformed to the reporting scale (as metafor's predict)."""
    import numpy as np

    if measure not in _SCALES:
        return None
    scale, name, transf = _SCALES[measure]
    ni = frame["ni"].to_numpy(dtype=float) if measure == "PFT" else None
    nat = fit.transformed(lambda x: float(np.ravel(backtransform(measure, [x], ni=ni))[0]))
    return {
        "scale": scale,
        "name": name,
        "transf": transf,
        "estimate": nat.estimate,
        "ci_lb": nat.ci_lb,
        "ci_ub": nat.ci_ub,
        "pi_lb": nat.pi_lb,
        "pi_ub": nat.pi_ub,
    }


def format_text(result: dict[str, Any]) -> str:
    """A short human summary of :func:`pool_csv`'s result."""

    def f(x: Any) -> str:
        return "NA" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.4f}"

    lines = [
        f"{result['method']} model, test {result['test']}, k = {result['k']}"
        + (f" ({result['k_excluded']} excluded)" if result["k_excluded"] else ""),
        f"estimate {f(result['estimate'])} (se {f(result['se'])}), "
        f"{result['level']:g}% CI [{f(result['ci_lb'])}, {f(result['ci_ub'])}], "
        f"p = {f(result['pval'])}",
        f"prediction interval [{f(result['pi_lb'])}, {f(result['pi_ub'])}]",
        f"tau2 = {f(result['tau2'])} [{f(result['tau2_ci_lb'])}, {f(result['tau2_ci_ub'])}], "
        f"I2 = {f(result['I2'])}%, H2 = {f(result['H2'])}, Q = {f(result['QE'])} "
        f"(p = {f(result['QEp'])})",
    ]
    t = result.get("transformed")
    if t is not None:
        lines[1] = f"{t['scale']}: " + lines[1]
        lines.insert(
            2,
            f"as {t['name']}: {f(t['estimate'])}, {result['level']:g}% CI "
            f"[{f(t['ci_lb'])}, {f(t['ci_ub'])}], prediction interval "
            f"[{f(t['pi_lb'])}, {f(t['pi_ub'])}]",
        )
    if not result["converged"]:
        lines.append("WARNING: the estimator did not converge")
    lines.extend(f"note: {n}" for n in result.get("notes") or [])
    return "\n".join(lines)


def to_json(result: dict[str, Any]) -> str:
    """One JSON object; NaN becomes null."""
    return json.dumps(result, allow_nan=False, default=float)
