"""``synthesis combine``: vote count, sign test and combined p values from a CSV file.

Columns: ``p`` (two-sided p value), ``direction`` (+1 favours the intervention, -1 the
comparator, 0 no difference), optionally ``n`` (sample size, for the √n-weighted
Stouffer test) and ``label``. The file is read by the same reader as ``synthesis pool``
(:func:`synthesis.pool.read_csv`), so a cell that is not a number gets the same located
message; every row is then checked here, and the first bad one is named with its data
row and column.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, TypedDict

from synthesis.errors import UserInputError
from synthesis.pool import read_csv
from synthesis.stats.swim import combine

REQUIRED = ("p", "direction")
OPTIONAL = ("n", "label")


def _where(path: Path, row: int) -> str:
    return f"{path}: data row {row + 1}"


class CombineData(TypedDict):
    """The checked columns of a ``synthesis combine`` CSV."""

    p: list[float]
    direction: list[int]
    n: list[float] | None
    label: list[str]


def read_combine_csv(path: Path) -> CombineData:
    """Read and check the CSV; return lists ``p``, ``direction``, ``n`` (or None), ``label``."""
    frame = read_csv(path, columns=None, labels=("label",)).frame
    cols = set(frame.columns)
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        raise UserInputError(
            f"{path}: missing column(s) {', '.join(missing)}; the CSV needs p (two-sided) "
            f"and direction (+1, -1 or 0), optionally n and label (found: "
            f"{', '.join(frame.columns)})"
        )
    unknown = sorted(cols - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise UserInputError(
            f"{path}: unknown column(s) {', '.join(unknown)}; allowed: p, direction, n, label"
        )
    p: list[float] = []
    direction: list[int] = []
    n: list[float] = []
    has_n = "n" in cols
    for i, row in enumerate(frame.to_dict("records")):
        pv = row["p"]
        if pv is None or (isinstance(pv, float) and math.isnan(pv)):
            raise UserInputError(f"{_where(path, i)}, column 'p': empty; give a p value in (0, 1]")
        if not 0 < pv <= 1:
            raise UserInputError(
                f"{_where(path, i)}, column 'p': {pv:g} is not a p value; allowed: 0 < p <= 1 "
                "(two-sided)"
            )
        d = row["direction"]
        if d is None or (isinstance(d, float) and math.isnan(d)) or d not in (-1, 0, 1):
            shown = "empty" if d is None or (isinstance(d, float) and math.isnan(d)) else f"{d:g}"
            raise UserInputError(
                f"{_where(path, i)}, column 'direction': {shown}; allowed: +1 (favours the "
                "intervention), -1 (favours the comparator), 0 (no difference)"
            )
        p.append(float(pv))
        direction.append(int(d))
        if has_n:
            nv = row["n"]
            if nv is None or (isinstance(nv, float) and math.isnan(nv)):
                raise UserInputError(
                    f"{_where(path, i)}, column 'n': empty; give the sample size of every row, "
                    "or leave the n column out"
                )
            if not (nv > 0 and math.isfinite(nv)):
                raise UserInputError(
                    f"{_where(path, i)}, column 'n': {nv:g}; a sample size must be > 0"
                )
            n.append(float(nv))
    labels = [str(x) for x in frame["label"]] if "label" in cols else []
    return {"p": p, "direction": direction, "n": n if has_n else None, "label": labels}


def combine_csv(path: Path) -> dict[str, Any]:
    """:func:`synthesis.stats.swim.combine` on the CSV; the JSON-ready object."""
    data = read_combine_csv(path)
    result = combine(data["p"], data["direction"], data["n"], labels=data["label"])
    return result.to_dict()


def format_text(result: dict[str, Any]) -> str:
    """A short human summary of :func:`combine_csv`'s result."""

    def f(x: Any) -> str:
        return "NA" if x is None else f"{x:.4f}"

    m = result["positive"] + result["negative"]
    return "\n".join(
        [
            f"k = {result['k']}: {result['positive']} favour the intervention, "
            f"{result['negative']} the comparator, {result['null']} no difference",
            f"proportion favourable {f(result['prop_positive'])} of {m} "
            f"(95% Wilson CI {f(result['prop_ci_lb'])} to {f(result['prop_ci_ub'])}); "
            f"sign test p = {f(result['sign_test_p'])} (two-sided)",
            f"Stouffer z = {f(result['stouffer_z'])}, p = {f(result['stouffer_p'])}; "
            f"weighted by sqrt(n): z = {f(result['stouffer_weighted_z'])}, "
            f"p = {f(result['stouffer_weighted_p'])}",
            f"Fisher chi2 = {f(result['fisher_chi2'])} on {result['fisher_df']} df, "
            f"p = {f(result['fisher_p'])} (one-sided p values in the favourable direction)",
            "A combined p shows that some study probably has an effect in that direction, "
            "not how large it is; the vote count ignores size and precision.",
        ]
    )


def to_json(result: dict[str, Any]) -> str:
    """One JSON object."""
    return json.dumps(result, allow_nan=False)
