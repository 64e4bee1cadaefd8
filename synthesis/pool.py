"""``synthesis pool``: pool a CSV whose columns are metafor's ``escalc`` argument names."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from synthesis.errors import UserInputError
from synthesis.vocabulary import POOL_JSON_FIELDS, QUESTION_MEASURES

#: Keys of the JSON object ``synthesis pool --json`` prints (the CLI contract).
JSON_KEYS = POOL_JSON_FIELDS


def read_csv(path: Path) -> Any:
    """Read ``path`` as a DataFrame; columns are stripped and lower-cased except metafor names."""
    import pandas as pd

    if not path.is_file():
        raise UserInputError(f"{path}: file not found")
    try:
        frame = pd.read_csv(path, skipinitialspace=True, comment="#")
    except UnicodeDecodeError:
        raise UserInputError(f"{path}: not UTF-8 text; save the CSV as UTF-8") from None
    except pd.errors.EmptyDataError:
        raise UserInputError(f"{path}: the file is empty; it needs a header row and data") from None
    except pd.errors.ParserError as exc:
        raise UserInputError(f"{path}: cannot read as CSV: {exc}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise UserInputError(f"{path}: no data rows (k = 0); nothing to pool")
    for col in frame.columns:
        if col in ("study", "slab", "label", "author", "id"):
            continue
        converted = pd.to_numeric(frame[col], errors="coerce")
        bad = frame[col].notna() & converted.isna()
        if bad.any():
            row = int(bad.idxmax())
            raise UserInputError(
                f"{path}: column {col!r}, data row {row + 1}: {frame[col][row]!r} is not a "
                "number (leave the cell empty for a missing value)"
            )
        frame[col] = converted
    return frame


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
    from synthesis.stats import MEASURES, escalc_table, rma

    frame = read_csv(path)
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
    slab = None
    for name in ("study", "slab", "label", "author", "id"):
        if name in frame.columns:
            slab = [str(s) for s in frame[name]]
            break
    fit = rma(
        effects["yi"].to_numpy(),
        effects["vi"].to_numpy(),
        method=method,
        test=test,
        level=level,
        slab=slab,
        measure=None if measure == "GEN" else measure,
    )
    full = fit.to_dict()
    out = {key: full.get(key) for key in JSON_KEYS}
    out["measure"] = measure
    return out


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
    if not result["converged"]:
        lines.append("WARNING: the estimator did not converge")
    lines.extend(f"note: {n}" for n in result.get("notes") or [])
    return "\n".join(lines)


def to_json(result: dict[str, Any]) -> str:
    """One JSON object; NaN becomes null."""
    return json.dumps(result, allow_nan=False, default=float)
