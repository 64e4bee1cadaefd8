"""Input coercion and located checks shared by the effect-size functions."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import gammaln

from synthesis import vocabulary
from synthesis.errors import UserInputError

MEASURES = vocabulary.MEASURES

ZERO_CELL_TO: tuple[str, ...] = ("all", "only0", "if0all", "none")

_BINARY = ("OR", "RR", "RD")
_PROPORTION = ("PLO", "PR", "PFT")
_PREPOST = ("SMCC", "SMCR")
_TWO_GROUP = ("SMD", "MD")
_CORRELATION = ("ZCOR", "COR")

#: Columns each measure needs (binary measures: see ``_binary_columns``).
_REQUIRED: dict[str, tuple[str, ...]] = {
    "ZCOR": ("ri", "ni"),
    "COR": ("ri", "ni"),
    "SMD": ("m1i", "m2i", "sd1i", "sd2i", "n1i", "n2i"),
    "MD": ("m1i", "m2i", "sd1i", "sd2i", "n1i", "n2i"),
    "SMCC": ("m1i", "m2i", "sd1i", "sd2i", "ni", "ri"),
    "SMCR": ("m1i", "m2i", "sd1i", "ni", "ri"),
    "PLO": ("xi", "ni"),
    "PR": ("xi", "ni"),
    "PFT": ("xi", "ni"),
}

#: Argument names whose values are counts or sample sizes (printed as integers).
_COUNT_NAMES = frozenset({"ni", "n1i", "n2i", "ai", "bi", "ci", "di", "xi", "n", "n1", "n2"})

FloatArray = NDArray[np.float64]


def _fmt(name: str, value: float) -> str:
    """Format an offending value for an error message."""
    v = float(value)
    if name in _COUNT_NAMES and math.isfinite(v) and v.is_integer():
        return str(int(v))
    return repr(v)


def _as_float(name: str, value: ArrayLike) -> FloatArray:
    """Convert one argument to a 1-d float array; non-numeric input is a user error."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise UserInputError(f"{name} must be numeric; got {value!r}") from exc
    return np.atleast_1d(arr).astype(float, copy=False)


def _as_arrays(**named: ArrayLike | None) -> dict[str, FloatArray]:
    """Coerce the given (non-None) arguments to float arrays of one common length."""
    arrays = {k: _as_float(k, v) for k, v in named.items() if v is not None}
    if arrays:
        try:
            shapes = np.broadcast_shapes(*(a.shape for a in arrays.values()))
        except ValueError as exc:
            lengths = ", ".join(f"{k}: {a.size}" for k, a in arrays.items())
            raise UserInputError(
                f"inputs have different lengths ({lengths}); give one value per study"
            ) from exc
        arrays = {k: np.broadcast_to(a, shapes).astype(float) for k, a in arrays.items()}
    return arrays


def _labels_for(n: int, labels: Sequence[Any] | None) -> Sequence[Any]:
    return range(n) if labels is None else labels


def _check(
    bad: NDArray[np.bool_],
    name: str,
    values: FloatArray,
    requirement: str,
    labels: Sequence[Any] | None,
) -> None:
    """Raise UserInputError for the first row where ``bad`` is true.

    ``bad`` must be false where the input is missing (comparisons with NaN are false,
    so plain comparisons already satisfy this).
    """
    idx = np.flatnonzero(bad)
    if idx.size == 0:
        return
    first = int(idx[0])
    label = _labels_for(values.size, labels)[first]
    more = ""
    if idx.size > 1:
        more = f" (and {idx.size - 1} other row{'s' if idx.size > 2 else ''})"
    raise UserInputError(
        f"{name} = {_fmt(name, values[first])} in row {label}{more}: {requirement}"
    )


def _check_zero_options(add: float, to: str, drop00: bool) -> None:
    if to not in ZERO_CELL_TO:
        raise UserInputError(
            f"to = {to!r}: allowed values are {', '.join(map(repr, ZERO_CELL_TO))}"
        )
    if isinstance(add, bool) or not isinstance(add, int | float) or not math.isfinite(add):
        raise UserInputError(f"add = {add!r}: must be a finite number >= 0 (metafor's default 0.5)")
    if add < 0:
        raise UserInputError(f"add = {add!r}: must be >= 0 (metafor's default 0.5)")
    if not isinstance(drop00, bool | np.bool_):
        raise UserInputError(f"drop00 = {drop00!r}: must be True or False")


def _cmi(mi: FloatArray) -> FloatArray:
    """metafor's exact bias-correction factor c(m) :cite:`hedges1981distribution`."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.exp(gammaln(mi / 2) - np.log(np.sqrt(mi / 2)) - gammaln((mi - 1) / 2))
    return np.where(mi <= 1, np.nan, out)


def _finish(yi: FloatArray, vi: FloatArray) -> tuple[FloatArray, FloatArray]:
    """metafor's last step: +-Inf or NaN in yi or vi -> NA for both; vi < 0 -> NA."""
    yi = np.array(yi, dtype=float)
    vi = np.array(vi, dtype=float)
    bad = ~np.isfinite(yi) | ~np.isfinite(vi)
    yi[bad] = np.nan
    vi[bad] = np.nan
    vi[vi < 0] = np.nan
    return yi, vi


@dataclass(frozen=True)
class _Result:
    """Internal result of one measure: values plus per-row notes for ``es_method``."""

    yi: FloatArray
    vi: FloatArray
    notes: list[str]


def _out(x: FloatArray) -> float | FloatArray:
    """Return a Python float for a single value, else the array."""
    return float(x[0]) if x.size == 1 else x
