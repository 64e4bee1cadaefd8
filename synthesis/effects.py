"""Effect sizes and their sampling variances, with metafor's measure codes.

The module has three layers.

1. Pure array functions, one per measure (:func:`es_zcor`, :func:`es_cor`,
   :func:`es_smd`, :func:`es_md`, :func:`es_smcc`, :func:`es_smcr`, :func:`es_or`,
   :func:`es_rr`, :func:`es_rd`, :func:`es_plo`, :func:`es_pr`, :func:`es_pft`).
   Each takes numbers or arrays named like the arguments of metafor's ``escalc`` and
   returns ``(yi, vi)`` computed with exactly metafor's formulas and default
   ``vtype`` [viechtbauer2010metafor]_. ``tests/test_effects_reference.py`` checks
   every measure and option against values written by R
   (``tests/reference/escalc_reference.R``).
2. :func:`escalc`, which takes a table whose columns carry metafor's argument names
   and returns a :class:`pandas.DataFrame` with ``yi``, ``vi``, ``measure``, a
   human-readable ``es_method`` per row and an ``assumed`` flag.
3. Conversions of reported statistics (:func:`se_from_ci`, :func:`se_from_p`,
   :func:`d_to_r`, :func:`r_to_d`, :func:`r_from_r2`, :func:`events_from_percent`,
   :func:`sd_from_ci`, :func:`var_d`, :func:`var_from_ci`) and back-transformations
   for reporting (:func:`transf_ztor`, :func:`transf_ilogit`, :func:`transf_exp`,
   :func:`transf_ipft_hm`, :func:`backtransform`).

Like metafor, a result that comes out infinite or NaN (for example a log odds ratio
with a zero cell and ``to="none"``) is returned as NaN for both ``yi`` and ``vi``,
and a negative variance is returned as NaN. A row with a missing input gives NaN
``yi``/``vi`` and says so in ``es_method``; every other bad input raises
:class:`~synthesis.errors.UserInputError` naming the argument, the value, the row
and what is allowed.

References
----------
.. [viechtbauer2010metafor] Viechtbauer W (2010). Conducting meta-analyses in R with
   the metafor package. *Journal of Statistical Software* 36(3).
.. [borenstein2009introduction] Borenstein M, Hedges LV, Higgins JPT, Rothstein HR
   (2009). *Introduction to Meta-Analysis*. Wiley.
.. [hedges1981distribution] Hedges LV (1981). Distribution theory for Glass's
   estimator of effect size and related estimators. *Journal of Educational
   Statistics* 6(2), 107-128.
.. [higgins2023cochrane] Higgins JPT et al. (eds) (2023). *Cochrane Handbook for
   Systematic Reviews of Interventions*, version 6.4.
.. [freeman1950transformations] Freeman MF, Tukey JW (1950). Transformations related
   to the angular and the square root. *Annals of Mathematical Statistics* 21(4).
.. [miller1978inverse] Miller JJ (1978). The inverse of the Freeman-Tukey double
   arcsine transformation. *The American Statistician* 32(4), 138.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import expit, gammaln, ndtri, stdtrit

from synthesis import vocabulary
from synthesis.errors import UserInputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MEASURES",
    "ZERO_CELL_TO",
    "backtransform",
    "d_to_r",
    "es_cor",
    "es_md",
    "es_or",
    "es_pft",
    "es_plo",
    "es_pr",
    "es_rd",
    "es_rr",
    "es_smcc",
    "es_smcr",
    "es_smd",
    "es_zcor",
    "escalc",
    "events_from_percent",
    "r_from_r2",
    "r_to_d",
    "sd_from_ci",
    "se_from_ci",
    "se_from_p",
    "transf_exp",
    "transf_ilogit",
    "transf_ipft_hm",
    "transf_ztor",
    "var_d",
    "var_from_ci",
]

#: Measure codes accepted by :func:`escalc` (metafor's codes). ``"GEN"`` is metafor's
#: code for effect sizes supplied directly as ``yi`` and ``vi`` (or ``sei``).
MEASURES = vocabulary.MEASURES

#: The value meaning "no effect" on each measure's natural (reporting) scale; measures
#: without one (single-group proportions) are absent.
NULL_VALUES = vocabulary.NULL_VALUES

#: Single-group proportion measures (reported as percentages).
PROPORTION_MEASURES = vocabulary.PROPORTION_MEASURES

#: Allowed values of the ``to`` option (where the continuity correction ``add`` goes).
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


# --------------------------------------------------------------------------------------
# helpers: input coercion and validation
# --------------------------------------------------------------------------------------


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
    """metafor's exact bias-correction factor c(m) [hedges1981distribution]_."""
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


# --------------------------------------------------------------------------------------
# layer 1: one pure array function per measure
# --------------------------------------------------------------------------------------


def _zcor(ri: ArrayLike, ni: ArrayLike, labels: Sequence[Any] | None = None) -> _Result:
    a = _as_arrays(ri=ri, ni=ni)
    r, n = a["ri"], a["ni"]
    _check(np.abs(r) >= 1, "ri", r, "ZCOR needs -1 < ri < 1", labels)
    _check(n <= 3, "ni", n, "ZCOR needs ni > 3 (vi = 1/(ni - 3))", labels)
    with np.errstate(divide="ignore", invalid="ignore"):
        yi = 0.5 * np.log((1 + r) / (1 - r))
        vi = 1 / (n - 3)
    yi, vi = _finish(yi, vi)
    return _Result(yi, vi, [""] * r.size)


def es_zcor(ri: ArrayLike, ni: ArrayLike) -> tuple[FloatArray, FloatArray]:
    r"""Fisher's r-to-z transformed correlation (metafor ``measure="ZCOR"``).

    .. math:: y_i = \tfrac12 \ln\frac{1 + r_i}{1 - r_i}, \qquad v_i = \frac{1}{n_i - 3}

    Parameters
    ----------
    ri : array_like
        Correlation coefficients, ``-1 < ri < 1``.
    ni : array_like
        Sample sizes, ``ni > 3``.

    Returns
    -------
    yi, vi : numpy.ndarray
        Effect sizes and sampling variances [viechtbauer2010metafor]_,
        [borenstein2009introduction]_ (ch. 6).
    """
    res = _zcor(ri, ni)
    return res.yi, res.vi


def _cor(ri: ArrayLike, ni: ArrayLike, labels: Sequence[Any] | None = None) -> _Result:
    a = _as_arrays(ri=ri, ni=ni)
    r, n = a["ri"], a["ni"]
    _check(np.abs(r) >= 1, "ri", r, "COR needs -1 < ri < 1 (ri = +-1 gives vi = 0)", labels)
    _check(n < 3, "ni", n, "COR needs ni >= 3", labels)
    yi = r.copy()
    vi = (1 - yi**2) ** 2 / (n - 1)
    yi, vi = _finish(yi, vi)
    return _Result(yi, vi, [""] * r.size)


def es_cor(ri: ArrayLike, ni: ArrayLike) -> tuple[FloatArray, FloatArray]:
    r"""Raw correlation coefficient (metafor ``measure="COR"``, default ``vtype="LS"``).

    .. math:: y_i = r_i, \qquad v_i = \frac{(1 - r_i^2)^2}{n_i - 1}

    Parameters
    ----------
    ri : array_like
        Correlation coefficients, ``-1 < ri < 1``.
    ni : array_like
        Sample sizes, ``ni >= 3``.

    Returns
    -------
    yi, vi : numpy.ndarray
        See [viechtbauer2010metafor]_.
    """
    res = _cor(ri, ni)
    return res.yi, res.vi


def _two_group_checks(measure: str, a: dict[str, FloatArray], labels: Sequence[Any] | None) -> None:
    for sd in ("sd1i", "sd2i"):
        _check(a[sd] <= 0, sd, a[sd], f"{measure} needs {sd} > 0", labels)
    for n in ("n1i", "n2i"):
        _check(a[n] < 2, n, a[n], f"{measure} needs {n} >= 2 (an SD needs two values)", labels)


def _smd(
    m1i: ArrayLike,
    m2i: ArrayLike,
    sd1i: ArrayLike,
    sd2i: ArrayLike,
    n1i: ArrayLike,
    n2i: ArrayLike,
    labels: Sequence[Any] | None = None,
) -> _Result:
    a = _as_arrays(m1i=m1i, m2i=m2i, sd1i=sd1i, sd2i=sd2i, n1i=n1i, n2i=n2i)
    _two_group_checks("SMD", a, labels)
    n1, n2 = a["n1i"], a["n2i"]
    mi = n1 + n2 - 2
    sdpi = np.sqrt(((n1 - 1) * a["sd1i"] ** 2 + (n2 - 1) * a["sd2i"] ** 2) / mi)
    di = (a["m1i"] - a["m2i"]) / sdpi
    yi = _cmi(mi) * di
    vi = 1 / n1 + 1 / n2 + yi**2 / (2 * (n1 + n2))
    yi, vi = _finish(yi, vi)
    return _Result(yi, vi, [""] * yi.size)


def es_smd(
    m1i: ArrayLike,
    m2i: ArrayLike,
    sd1i: ArrayLike,
    sd2i: ArrayLike,
    n1i: ArrayLike,
    n2i: ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    r"""Standardized mean difference, Hedges' g (metafor ``measure="SMD"``).

    With :math:`m = n_{1i} + n_{2i} - 2` and the pooled SD
    :math:`s_{p} = \sqrt{((n_{1i}-1) s_{1i}^2 + (n_{2i}-1) s_{2i}^2)/m}`,

    .. math::

        c(m) = \exp\{\ln\Gamma(m/2) - \ln\sqrt{m/2} - \ln\Gamma((m-1)/2)\},\qquad
        y_i = c(m)\,\frac{\bar x_{1i} - \bar x_{2i}}{s_p},\qquad
        v_i = \frac{1}{n_{1i}} + \frac{1}{n_{2i}} + \frac{y_i^2}{2(n_{1i} + n_{2i})}

    i.e. the exact small-sample correction [hedges1981distribution]_ and metafor's
    default large-sample variance (``vtype="LS"``) [viechtbauer2010metafor]_.

    Parameters
    ----------
    m1i, m2i : array_like
        Group means.
    sd1i, sd2i : array_like
        Group standard deviations, ``> 0``.
    n1i, n2i : array_like
        Group sizes, ``>= 2`` each.

    Returns
    -------
    yi, vi : numpy.ndarray
    """
    res = _smd(m1i, m2i, sd1i, sd2i, n1i, n2i)
    return res.yi, res.vi


def _md(
    m1i: ArrayLike,
    m2i: ArrayLike,
    sd1i: ArrayLike,
    sd2i: ArrayLike,
    n1i: ArrayLike,
    n2i: ArrayLike,
    labels: Sequence[Any] | None = None,
) -> _Result:
    a = _as_arrays(m1i=m1i, m2i=m2i, sd1i=sd1i, sd2i=sd2i, n1i=n1i, n2i=n2i)
    _two_group_checks("MD", a, labels)
    yi = a["m1i"] - a["m2i"]
    vi = a["sd1i"] ** 2 / a["n1i"] + a["sd2i"] ** 2 / a["n2i"]
    yi, vi = _finish(yi, vi)
    return _Result(yi, vi, [""] * yi.size)


def es_md(
    m1i: ArrayLike,
    m2i: ArrayLike,
    sd1i: ArrayLike,
    sd2i: ArrayLike,
    n1i: ArrayLike,
    n2i: ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    r"""Raw mean difference (metafor ``measure="MD"``, default heteroscedastic variance).

    .. math:: y_i = \bar x_{1i} - \bar x_{2i}, \qquad
              v_i = \frac{s_{1i}^2}{n_{1i}} + \frac{s_{2i}^2}{n_{2i}}

    Parameters
    ----------
    m1i, m2i : array_like
        Group means.
    sd1i, sd2i : array_like
        Group standard deviations, ``> 0``.
    n1i, n2i : array_like
        Group sizes, ``>= 2`` each.

    Returns
    -------
    yi, vi : numpy.ndarray
        See [viechtbauer2010metafor]_.
    """
    res = _md(m1i, m2i, sd1i, sd2i, n1i, n2i)
    return res.yi, res.vi


def _prepost_checks(measure: str, a: dict[str, FloatArray], labels: Sequence[Any] | None) -> None:
    for sd in ("sd1i", "sd2i"):
        if sd in a:
            _check(a[sd] <= 0, sd, a[sd], f"{measure} needs {sd} > 0", labels)
    _check(np.abs(a["ri"]) > 1, "ri", a["ri"], f"{measure} needs -1 <= ri <= 1", labels)
    _check(
        a["ni"] < 3,
        "ni",
        a["ni"],
        f"{measure} needs ni >= 3 (the bias correction c(ni - 1) needs ni - 1 > 1)",
        labels,
    )


def _smcc(
    m1i: ArrayLike,
    m2i: ArrayLike,
    sd1i: ArrayLike,
    sd2i: ArrayLike,
    ni: ArrayLike,
    ri: ArrayLike,
    labels: Sequence[Any] | None = None,
) -> _Result:
    a = _as_arrays(m1i=m1i, m2i=m2i, sd1i=sd1i, sd2i=sd2i, ni=ni, ri=ri)
    _prepost_checks("SMCC", a, labels)
    sd1, sd2, r, n = a["sd1i"], a["sd2i"], a["ri"], a["ni"]
    var_change = sd1**2 + sd2**2 - 2 * r * sd1 * sd2
    _check(
        var_change <= 0,
        "ri",
        r,
        "SMCC needs a positive SD of change scores (ri = 1 with sd1i = sd2i gives 0)",
        labels,
    )
    sddi = np.sqrt(var_change)
    yi = _cmi(n - 1) * (a["m1i"] - a["m2i"]) / sddi
    vi = 1 / n + yi**2 / (2 * n)
    yi, vi = _finish(yi, vi)
    return _Result(yi, vi, [""] * yi.size)


def es_smcc(
    m1i: ArrayLike,
    m2i: ArrayLike,
    sd1i: ArrayLike,
    sd2i: ArrayLike,
    ni: ArrayLike,
    ri: ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    r"""Standardized mean change, change-score standardization (metafor ``"SMCC"``).

    For one group measured twice (means :math:`\bar x_{1i}, \bar x_{2i}`, SDs
    :math:`s_{1i}, s_{2i}`, correlation :math:`r_i` between the occasions), with
    :math:`s_{di} = \sqrt{s_{1i}^2 + s_{2i}^2 - 2 r_i s_{1i} s_{2i}}` and
    :math:`c(\cdot)` as in :func:`es_smd`,

    .. math:: y_i = c(n_i - 1)\,\frac{\bar x_{1i} - \bar x_{2i}}{s_{di}},\qquad
              v_i = \frac{1}{n_i} + \frac{y_i^2}{2 n_i}

    (metafor's default ``vtype="LS"``) [viechtbauer2010metafor]_. The sign is that of
    ``m1i - m2i``: pass the later occasion as ``m1i`` to get post minus pre.

    Parameters
    ----------
    m1i, m2i : array_like
        Means at the two occasions.
    sd1i, sd2i : array_like
        SDs at the two occasions, ``> 0``.
    ni : array_like
        Sample size, ``>= 3``.
    ri : array_like
        Correlation between the occasions, ``-1 <= ri <= 1``.

    Returns
    -------
    yi, vi : numpy.ndarray
    """
    res = _smcc(m1i, m2i, sd1i, sd2i, ni, ri)
    return res.yi, res.vi


def _smcr(
    m1i: ArrayLike,
    m2i: ArrayLike,
    sd1i: ArrayLike,
    sd2i: ArrayLike | None,
    ni: ArrayLike,
    ri: ArrayLike,
    labels: Sequence[Any] | None = None,
) -> _Result:
    a = _as_arrays(m1i=m1i, m2i=m2i, sd1i=sd1i, sd2i=sd2i, ni=ni, ri=ri)
    _prepost_checks("SMCR", a, labels)
    n, r = a["ni"], a["ri"]
    yi = _cmi(n - 1) * (a["m1i"] - a["m2i"]) / a["sd1i"]
    vi = 2 * (1 - r) / n + yi**2 / (2 * n)
    yi, vi = _finish(yi, vi)
    return _Result(yi, vi, [""] * yi.size)


def es_smcr(
    m1i: ArrayLike,
    m2i: ArrayLike,
    sd1i: ArrayLike,
    sd2i: ArrayLike | None,
    ni: ArrayLike,
    ri: ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    r"""Standardized mean change, raw-score standardization (metafor ``"SMCR"``).

    .. math:: y_i = c(n_i - 1)\,\frac{\bar x_{1i} - \bar x_{2i}}{s_{1i}},\qquad
              v_i = \frac{2(1 - r_i)}{n_i} + \frac{y_i^2}{2 n_i}

    with :math:`c(\cdot)` as in :func:`es_smd` (metafor's default ``vtype="LS"``)
    [viechtbauer2010metafor]_. Only ``sd1i`` standardizes; ``sd2i`` is not used by the
    formula (pass ``None``), but is validated when given.

    Parameters
    ----------
    m1i, m2i : array_like
        Means at the two occasions.
    sd1i : array_like
        SD at the first occasion (the standardizer), ``> 0``.
    sd2i : array_like or None
        SD at the second occasion (unused).
    ni : array_like
        Sample size, ``>= 3``.
    ri : array_like
        Correlation between the occasions, ``-1 <= ri <= 1``.

    Returns
    -------
    yi, vi : numpy.ndarray
    """
    res = _smcr(m1i, m2i, sd1i, sd2i, ni, ri)
    return res.yi, res.vi


# ---- 2x2 tables ----------------------------------------------------------------------


def _binary_counts(
    ai: ArrayLike,
    bi: ArrayLike | None,
    ci: ArrayLike,
    di: ArrayLike | None,
    n1i: ArrayLike | None,
    n2i: ArrayLike | None,
    labels: Sequence[Any] | None,
    measure: str,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Validate a 2x2 table given as (ai, bi, ci, di) and/or (ai, n1i, ci, n2i)."""
    if bi is None and n1i is None:
        raise UserInputError(f"{measure} needs bi or n1i (group 1 non-events or group size)")
    if di is None and n2i is None:
        raise UserInputError(f"{measure} needs di or n2i (group 2 non-events or group size)")
    a = _as_arrays(ai=ai, bi=bi, ci=ci, di=di, n1i=n1i, n2i=n2i)
    k = a["ai"].size
    nan = np.full(k, np.nan)
    A, C = a["ai"], a["ci"]
    B, D = a.get("bi", nan), a.get("di", nan)
    N1, N2 = a.get("n1i", nan), a.get("n2i", nan)
    for name, arr in (("ai", A), ("bi", B), ("ci", C), ("di", D)):
        _check(arr < 0, name, arr, f"{measure} needs counts {name} >= 0", labels)
    for name, arr in (("n1i", N1), ("n2i", N2)):
        _check(arr < 1, name, arr, f"{measure} needs group size {name} >= 1", labels)
    _check(A > N1, "ai", A, f"{measure} needs ai <= n1i (events cannot exceed group size)", labels)
    _check(C > N2, "ci", C, f"{measure} needs ci <= n2i (events cannot exceed group size)", labels)
    both1 = ~np.isnan(A) & ~np.isnan(B) & ~np.isnan(N1)
    _check(both1 & (A + B != N1), "n1i", N1, f"{measure} needs n1i = ai + bi", labels)
    both2 = ~np.isnan(C) & ~np.isnan(D) & ~np.isnan(N2)
    _check(both2 & (C + D != N2), "n2i", N2, f"{measure} needs n2i = ci + di", labels)
    B = np.where(np.isnan(B), N1 - A, B)
    D = np.where(np.isnan(D), N2 - C, D)
    _check(A + B < 1, "ai", A, f"{measure} needs ai + bi >= 1 (group 1 is empty)", labels)
    _check(C + D < 1, "ci", C, f"{measure} needs ci + di >= 1 (group 2 is empty)", labels)
    return A, B, C, D


def _zero_cell_adjust(
    cells: tuple[FloatArray, ...],
    zero_rows: NDArray[np.bool_],
    add: float,
    to: str,
) -> tuple[tuple[FloatArray, ...], NDArray[np.bool_], str]:
    """metafor's continuity correction: returns adjusted cells, rows adjusted, note."""
    k = cells[0].size
    if to == "all":
        adjusted = np.ones(k, dtype=bool)
        note = f"{add:g} added to every cell of every study (to='all')"
    elif to == "only0":
        adjusted = zero_rows.copy()
        note = f"{add:g} added to every cell (zero cell; to='only0')"
    elif to == "if0all":
        adjusted = np.full(k, bool(zero_rows.any()))
        note = (
            f"{add:g} added to every cell of every study "
            "since some study has a zero cell (to='if0all')"
        )
    else:
        adjusted = np.zeros(k, dtype=bool)
        note = ""
    if add == 0:
        adjusted = np.zeros(k, dtype=bool)
    out = tuple(np.where(adjusted, c + add, c) for c in cells)
    return out, adjusted, note


def _binary(
    measure: str,
    ai: ArrayLike,
    bi: ArrayLike | None,
    ci: ArrayLike,
    di: ArrayLike | None,
    n1i: ArrayLike | None,
    n2i: ArrayLike | None,
    add: float,
    to: str,
    drop00: bool,
    labels: Sequence[Any] | None = None,
) -> _Result:
    _check_zero_options(add, to, drop00)
    A, B, C, D = _binary_counts(ai, bi, ci, di, n1i, n2i, labels, measure)
    k = A.size
    id00 = ((A == 0) & (C == 0)) | ((B == 0) & (D == 0))
    dropped = id00 if drop00 else np.zeros(k, dtype=bool)
    A, B, C, D = (np.where(dropped, np.nan, x) for x in (A, B, C, D))
    zero_rows = (A == 0) | (B == 0) | (C == 0) | (D == 0)
    (A, B, C, D), adjusted, add_note = _zero_cell_adjust((A, B, C, D), zero_rows, add, to)
    n1, n2 = A + B, C + D
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = A / n1, C / n2
        if measure == "RR":
            yi = np.log(p1) - np.log(p2)
            vi = 1 / A - 1 / n1 + 1 / C - 1 / n2
        elif measure == "OR":
            yi = np.log(p1 / (1 - p1)) - np.log(p2 / (1 - p2))
            vi = 1 / A + 1 / B + 1 / C + 1 / D
        else:  # RD, vtype="LS"
            yi = p1 - p2
            vi = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
    yi, vi = _finish(yi, vi)
    notes = []
    for i in range(k):
        parts = []
        if dropped[i]:
            parts.append(
                "double-zero study (no events, or only events, in both groups): "
                "not computed (drop00=True)"
            )
        else:
            if adjusted[i]:
                parts.append(add_note)
            if zero_rows[i] and np.isnan(yi[i]) and not np.isnan(A[i] + B[i] + C[i] + D[i]):
                parts.append(
                    "not estimable: zero cell and no continuity correction "
                    f"(add={add:g}, to={to!r})"
                )
        notes.append("; ".join(parts))
    return _Result(yi, vi, notes)


def es_or(
    ai: ArrayLike,
    bi: ArrayLike | None = None,
    ci: ArrayLike | None = None,
    di: ArrayLike | None = None,
    *,
    n1i: ArrayLike | None = None,
    n2i: ArrayLike | None = None,
    add: float = 0.5,
    to: str = "only0",
    drop00: bool = False,
) -> tuple[FloatArray, FloatArray]:
    r"""Log odds ratio from a 2x2 table (metafor ``measure="OR"``).

    .. math:: y_i = \ln\frac{a_i d_i}{b_i c_i}, \qquad
              v_i = \frac1{a_i} + \frac1{b_i} + \frac1{c_i} + \frac1{d_i}

    after metafor's continuity correction [viechtbauer2010metafor]_.

    Parameters
    ----------
    ai, bi, ci, di : array_like
        Events and non-events in group 1 (``ai``, ``bi``) and group 2 (``ci``,
        ``di``). ``bi``/``di`` may be replaced by the group sizes ``n1i``/``n2i``.
    n1i, n2i : array_like, optional
        Group sizes.
    add : float, default 0.5
        Continuity correction added to the cells (metafor's ``add``), ``>= 0``.
    to : {"only0", "all", "if0all", "none"}, default "only0"
        Which studies get ``add`` (metafor's ``to``): only those with a zero cell, all,
        all if any study has a zero cell, or none.
    drop00 : bool, default False
        If true, studies with no events (or only events) in both groups give NaN
        (metafor's ``drop00``).

    Returns
    -------
    yi, vi : numpy.ndarray
        Rows whose result is infinite (zero cell without correction) or dropped
        (``drop00``) are NaN, as in metafor.
    """
    if ci is None:
        raise UserInputError("OR needs ci (events in group 2)")
    res = _binary("OR", ai, bi, ci, di, n1i, n2i, add, to, drop00)
    return res.yi, res.vi


def es_rr(
    ai: ArrayLike,
    bi: ArrayLike | None = None,
    ci: ArrayLike | None = None,
    di: ArrayLike | None = None,
    *,
    n1i: ArrayLike | None = None,
    n2i: ArrayLike | None = None,
    add: float = 0.5,
    to: str = "only0",
    drop00: bool = False,
) -> tuple[FloatArray, FloatArray]:
    r"""Log risk ratio from a 2x2 table (metafor ``measure="RR"``).

    .. math:: y_i = \ln\frac{a_i/n_{1i}}{c_i/n_{2i}}, \qquad
              v_i = \frac1{a_i} - \frac1{n_{1i}} + \frac1{c_i} - \frac1{n_{2i}}

    after metafor's continuity correction [viechtbauer2010metafor]_.

    Parameters
    ----------
    ai, bi, ci, di : array_like
        Events and non-events in group 1 and group 2 (``bi``/``di`` may be replaced
        by ``n1i``/``n2i``).
    n1i, n2i : array_like, optional
        Group sizes.
    add : float, default 0.5
        Continuity correction added to the cells (metafor's ``add``), ``>= 0``.
    to : {"only0", "all", "if0all", "none"}, default "only0"
        Which studies get ``add`` (metafor's ``to``): only those with a zero cell, all,
        all if any study has a zero cell, or none.
    drop00 : bool, default False
        If true, studies with no events (or only events) in both groups give NaN
        (metafor's ``drop00``).

    Returns
    -------
    yi, vi : numpy.ndarray
        Rows whose result is infinite (zero cell without correction) or dropped
        (``drop00``) are NaN, as in metafor.
    """
    if ci is None:
        raise UserInputError("RR needs ci (events in group 2)")
    res = _binary("RR", ai, bi, ci, di, n1i, n2i, add, to, drop00)
    return res.yi, res.vi


def es_rd(
    ai: ArrayLike,
    bi: ArrayLike | None = None,
    ci: ArrayLike | None = None,
    di: ArrayLike | None = None,
    *,
    n1i: ArrayLike | None = None,
    n2i: ArrayLike | None = None,
    add: float = 0.5,
    to: str = "only0",
    drop00: bool = False,
) -> tuple[FloatArray, FloatArray]:
    r"""Risk difference from a 2x2 table (metafor ``measure="RD"``, ``vtype="LS"``).

    .. math:: y_i = p_{1i} - p_{2i}, \qquad
              v_i = \frac{p_{1i}(1-p_{1i})}{n_{1i}} + \frac{p_{2i}(1-p_{2i})}{n_{2i}}

    Exactly as metafor, the continuity correction is applied to the risk difference
    too (``add=0.5, to="only0"`` by default), both to ``yi`` and ``vi``
    [viechtbauer2010metafor]_.

    Parameters
    ----------
    ai, bi, ci, di : array_like
        Events and non-events in group 1 and group 2 (``bi``/``di`` may be replaced
        by ``n1i``/``n2i``).
    n1i, n2i : array_like, optional
        Group sizes.
    add : float, default 0.5
        Continuity correction added to the cells (metafor's ``add``), ``>= 0``.
    to : {"only0", "all", "if0all", "none"}, default "only0"
        Which studies get ``add`` (metafor's ``to``): only those with a zero cell, all,
        all if any study has a zero cell, or none.
    drop00 : bool, default False
        If true, studies with no events (or only events) in both groups give NaN
        (metafor's ``drop00``).

    Returns
    -------
    yi, vi : numpy.ndarray
        Rows whose result is infinite (zero cell without correction) or dropped
        (``drop00``) are NaN, as in metafor.
    """
    if ci is None:
        raise UserInputError("RD needs ci (events in group 2)")
    res = _binary("RD", ai, bi, ci, di, n1i, n2i, add, to, drop00)
    return res.yi, res.vi


# ---- single proportions --------------------------------------------------------------


def _proportion(
    measure: str,
    xi: ArrayLike,
    ni: ArrayLike,
    add: float,
    to: str,
    labels: Sequence[Any] | None = None,
) -> _Result:
    _check_zero_options(add, to, False)
    a = _as_arrays(xi=xi, ni=ni)
    x, n = a["xi"], a["ni"]
    _check(x < 0, "xi", x, f"{measure} needs xi >= 0", labels)
    _check(n < 1, "ni", n, f"{measure} needs ni >= 1", labels)
    _check(x > n, "xi", x, f"{measure} needs xi <= ni (events cannot exceed sample size)", labels)
    m = n - x
    zero_rows = (x == 0) | (m == 0)
    (x, m), adjusted, add_note = _zero_cell_adjust((x, m), zero_rows, add, to)
    add_note = add_note.replace("every cell", "xi and ni - xi").replace(
        "zero cell", "xi = 0 or xi = ni"
    )
    n = x + m
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        if measure == "PR":
            yi = p
            vi = p * (1 - p) / n
        elif measure == "PLO":
            yi = np.log(p / (1 - p))
            vi = 1 / x + 1 / m
        else:  # PFT
            yi = 0.5 * (np.arcsin(np.sqrt(x / (n + 1))) + np.arcsin(np.sqrt((x + 1) / (n + 1))))
            vi = 1 / (4 * n + 2)
    yi, vi = _finish(yi, vi)
    notes = []
    for i in range(x.size):
        parts = []
        if adjusted[i]:
            parts.append(add_note)
        if zero_rows[i] and np.isnan(yi[i]) and not np.isnan(x[i] + m[i]):
            parts.append(
                f"not estimable: xi = 0 or xi = ni and no correction (add={add:g}, to={to!r})"
            )
        notes.append("; ".join(parts))
    return _Result(yi, vi, notes)


def es_plo(
    xi: ArrayLike, ni: ArrayLike, *, add: float = 0.5, to: str = "only0"
) -> tuple[FloatArray, FloatArray]:
    r"""Logit-transformed proportion (metafor ``measure="PLO"``).

    .. math:: y_i = \ln\frac{x_i}{n_i - x_i}, \qquad v_i = \frac1{x_i} + \frac1{n_i - x_i}

    As in metafor, ``add`` (default 1/2) is added to ``xi`` and ``ni - xi`` when
    ``xi = 0`` or ``xi = ni`` (``to="only0"``) [viechtbauer2010metafor]_.

    Parameters
    ----------
    xi : array_like
        Number of events, ``0 <= xi <= ni``.
    ni : array_like
        Sample size, ``>= 1``.
    add : float
        Added to ``xi`` and ``ni - xi`` (metafor's ``add``), ``>= 0``.
    to : {"only0", "all", "if0all", "none"}, default "only0"
        Which studies get ``add``: those with ``xi = 0`` or ``xi = ni``, all, all if any
        study has one, or none.

    Returns
    -------
    yi, vi : numpy.ndarray
        Rows whose result is infinite are NaN, as in metafor.
    """
    res = _proportion("PLO", xi, ni, add, to)
    return res.yi, res.vi


def es_pr(
    xi: ArrayLike, ni: ArrayLike, *, add: float = 0.5, to: str = "only0"
) -> tuple[FloatArray, FloatArray]:
    r"""Raw proportion (metafor ``measure="PR"``, ``vtype="LS"``).

    .. math:: y_i = p_i = x_i/n_i, \qquad v_i = \frac{p_i (1 - p_i)}{n_i}

    As in metafor 3.8, the default correction (``add=0.5, to="only0"``) is applied
    when ``xi = 0`` or ``xi = ni`` [viechtbauer2010metafor]_.

    Parameters
    ----------
    xi : array_like
        Number of events, ``0 <= xi <= ni``.
    ni : array_like
        Sample size, ``>= 1``.
    add : float
        Added to ``xi`` and ``ni - xi`` (metafor's ``add``), ``>= 0``.
    to : {"only0", "all", "if0all", "none"}, default "only0"
        Which studies get ``add``: those with ``xi = 0`` or ``xi = ni``, all, all if any
        study has one, or none.

    Returns
    -------
    yi, vi : numpy.ndarray
        Rows whose result is infinite are NaN, as in metafor.
    """
    res = _proportion("PR", xi, ni, add, to)
    return res.yi, res.vi


def es_pft(
    xi: ArrayLike, ni: ArrayLike, *, add: float = 0.0, to: str = "only0"
) -> tuple[FloatArray, FloatArray]:
    r"""Freeman-Tukey double-arcsine transformed proportion (metafor ``"PFT"``).

    .. math:: y_i = \tfrac12\left\{\arcsin\sqrt{\frac{x_i}{n_i+1}}
              + \arcsin\sqrt{\frac{x_i+1}{n_i+1}}\right\}, \qquad v_i = \frac{1}{4 n_i + 2}

    [freeman1950transformations]_. It is defined at ``xi = 0`` and ``xi = ni``, so
    metafor's default ``add`` for PFT is 0 [viechtbauer2010metafor]_.

    Parameters
    ----------
    xi : array_like
        Number of events, ``0 <= xi <= ni``.
    ni : array_like
        Sample size, ``>= 1``.
    add : float
        Added to ``xi`` and ``ni - xi`` (metafor's ``add``), ``>= 0``.
    to : {"only0", "all", "if0all", "none"}, default "only0"
        Which studies get ``add``: those with ``xi = 0`` or ``xi = ni``, all, all if any
        study has one, or none.

    Returns
    -------
    yi, vi : numpy.ndarray
        Rows whose result is infinite are NaN, as in metafor.
    """
    res = _proportion("PFT", xi, ni, add, to)
    return res.yi, res.vi


# --------------------------------------------------------------------------------------
# layer 2: escalc
# --------------------------------------------------------------------------------------


def _column(data: Any, name: str, is_frame: bool) -> FloatArray:
    values = data[name]
    try:
        if is_frame or hasattr(values, "to_numpy"):  # DataFrame column or Series
            arr = values.to_numpy(dtype=float, na_value=np.nan)
        else:
            arr = np.asarray(
                [
                    np.nan if v is None else v
                    for v in np.atleast_1d(np.asarray(values, dtype=object))
                ],
                dtype=float,
            )
    except (TypeError, ValueError) as exc:
        raise UserInputError(f"column {name!r} must be numeric (missing values as NaN)") from exc
    return np.atleast_1d(arr)


def _binary_columns(measure: str, cols: set[str]) -> list[str] | None:
    """Columns used for a 2x2 table, or None if the table cannot be formed."""
    needed = ["ai", "ci"]
    needed.append("bi" if "bi" in cols else "n1i")
    needed.append("di" if "di" in cols else "n2i")
    if not all(c in cols for c in needed):
        return None
    extra = [c for c in ("bi", "di", "n1i", "n2i") if c in cols and c not in needed]
    return needed + extra


def _missing_message(measure: str, cols: set[str], ri_assumed: float | None) -> str:
    if measure in _BINARY:
        need = "ai, bi, ci, di or ai, n1i, ci, n2i"
        missing = [c for c in ("ai", "ci") if c not in cols]
        if "bi" not in cols and "n1i" not in cols:
            missing.append("bi (or n1i)")
        if "di" not in cols and "n2i" not in cols:
            missing.append("di (or n2i)")
    elif measure == "GEN":
        need = "yi and vi (or sei)"
        missing = [c for c in ("yi",) if c not in cols]
        if "vi" not in cols and "sei" not in cols:
            missing.append("vi (or sei)")
    else:
        req = _REQUIRED[measure]
        need = ", ".join(req)
        missing = [c for c in req if c not in cols and not (c == "ri" and ri_assumed is not None)]
        if measure in _PREPOST and "ri" in missing:
            missing[missing.index("ri")] = "ri (or pass ri_assumed=)"
    got = ", ".join(sorted(cols)) or "none"
    alt = "" if measure == "GEN" else "; or give yi and vi to use effect sizes as supplied"
    return (
        f"escalc(measure={measure!r}): missing column(s) {', '.join(missing)}; "
        f"{measure} needs {need}{alt} (columns given: {got})"
    )


_DESCRIPTION = {
    "ZCOR": "ZCOR: Fisher's z of the correlation ri (n = ni); vi = 1/(ni - 3)",
    "COR": "COR: raw correlation ri (n = ni); vi = (1 - ri^2)^2/(ni - 1)",
    "SMD": (
        "SMD: Hedges' g from group means, SDs and sizes (exact small-sample correction); "
        "vi = 1/n1i + 1/n2i + yi^2/(2(n1i + n2i))"
    ),
    "MD": "MD: m1i - m2i from group means, SDs and sizes; vi = sd1i^2/n1i + sd2i^2/n2i",
    "SMCC": "SMCC from pre/post means and SDs (standardized by the SD of change scores)",
    "SMCR": "SMCR from pre/post means and the first-occasion SD sd1i (raw-score standardized)",
    "OR": "OR: log odds ratio from 2x2 counts",
    "RR": "RR: log risk ratio from 2x2 counts",
    "RD": "RD: risk difference from 2x2 counts",
    "PLO": "PLO: logit of the proportion xi/ni",
    "PR": "PR: raw proportion xi/ni",
    "PFT": "PFT: Freeman-Tukey double arcsine of the proportion xi/ni; vi = 1/(4ni + 2)",
}


def escalc(
    measure: str,
    data: Mapping[str, ArrayLike] | pd.DataFrame,
    *,
    add: float | None = None,
    to: str = "only0",
    drop00: bool = False,
    ri_assumed: float | None = None,
) -> pd.DataFrame:
    """Compute effect sizes ``yi`` and sampling variances ``vi`` like metafor's ``escalc``.

    Parameters
    ----------
    measure : str
        One of :data:`MEASURES` (metafor's codes).
    data : mapping of str to array_like, or pandas.DataFrame
        Columns named like metafor's ``escalc`` arguments:

        ========================  ================================================
        measure                   columns
        ========================  ================================================
        ZCOR, COR                 ``ri``, ``ni``
        SMD, MD                   ``m1i``, ``m2i``, ``sd1i``, ``sd2i``, ``n1i``, ``n2i``
        SMCC                      ``m1i``, ``m2i``, ``sd1i``, ``sd2i``, ``ni``, ``ri``
        SMCR                      ``m1i``, ``m2i``, ``sd1i``, ``ni``, ``ri``
        OR, RR, RD                ``ai``, ``bi``, ``ci``, ``di`` or ``ai``, ``n1i``,
                                  ``ci``, ``n2i``
        PLO, PR, PFT              ``xi``, ``ni``
        GEN                       ``yi`` and ``vi`` (or ``sei``)
        ========================  ================================================

        If the columns for ``measure`` are not all present but ``yi`` and ``vi`` (or
        ``sei``) are, the effect sizes are passed through as supplied (metafor: giving
        ``yi`` to ``escalc``). Missing values (NaN/None) are allowed.
    add : float, optional
        Continuity correction (metafor's ``add``). ``None`` means metafor's default:
        1/2, except 0 for PFT (which needs none). Used by OR, RR, RD, PLO, PR, PFT.
    to : {"only0", "all", "if0all", "none"}, default "only0"
        Which studies get ``add`` (metafor's ``to``).
    drop00 : bool, default False
        OR/RR/RD: give NaN for studies with no events, or only events, in both groups.
    ri_assumed : float, optional
        SMCC/SMCR only: the pre-post correlation to use where ``ri`` is missing (column
        absent or NaN). Such rows get ``assumed = True`` and say so in ``es_method``.

    Returns
    -------
    pandas.DataFrame
        Same index as ``data`` (a RangeIndex for a mapping), with columns ``yi``,
        ``vi``, ``measure``, ``es_method`` (one sentence per row: formula, inputs, any
        correction or assumption, or which input is missing) and ``assumed`` (bool),
        plus ``ri`` (the correlation used) for SMCC/SMCR.

    Raises
    ------
    UserInputError
        Unknown measure, missing columns, or an invalid value; the message names the
        column, the value, the row and what is allowed. A row with a missing input is
        not an error: its ``yi``/``vi`` are NaN and ``es_method`` says which input is
        missing.

    Notes
    -----
    Formulas, defaults and edge-case behaviour follow metafor [viechtbauer2010metafor]_;
    see the ``es_*`` functions of this module for each formula.
    """
    import pandas as pd

    if not isinstance(measure, str) or measure not in MEASURES:
        raise UserInputError(
            f"measure = {measure!r}: unknown measure; allowed: {', '.join(MEASURES)}"
        )
    if add is None:
        add = 0.0 if measure == "PFT" else 0.5
    _check_zero_options(add, to, drop00)
    if ri_assumed is not None:
        if measure not in _PREPOST:
            raise UserInputError(
                f"ri_assumed = {ri_assumed!r}: only used by SMCC and SMCR, not {measure}"
            )
        if (
            isinstance(ri_assumed, bool)
            or not isinstance(ri_assumed, int | float)
            or not (-1 <= ri_assumed <= 1)
        ):
            raise UserInputError(f"ri_assumed = {ri_assumed!r}: must be a number in [-1, 1]")

    is_frame = isinstance(data, pd.DataFrame)
    if not is_frame and not isinstance(data, Mapping):
        raise UserInputError(
            f"data must be a mapping of column names to values or a pandas DataFrame; "
            f"got {type(data).__name__}"
        )
    cols = {str(c) for c in data}
    if measure == "GEN":
        used: list[str] | None = None
    elif measure in _BINARY:
        used = _binary_columns(measure, cols)
    else:
        req = [c for c in _REQUIRED[measure] if c != "ri" or ri_assumed is None]
        used = list(req) if all(c in cols for c in req) else None
        if used is not None and measure in _PREPOST:
            used += [c for c in ("ri", "sd2i") if c in cols and c not in used]
    passthrough = used is None
    if passthrough and not ("yi" in cols and ("vi" in cols or "sei" in cols)):
        raise UserInputError(_missing_message(measure, cols, ri_assumed))
    if used is None:
        used = ["yi", "vi" if "vi" in cols else "sei"]

    arrays = {c: _column(data, c, is_frame) for c in used}
    lengths = {a.size for a in arrays.values()}
    if len(lengths) > 1:
        detail = ", ".join(f"{c}: {a.size}" for c, a in arrays.items())
        raise UserInputError(f"columns have different lengths ({detail})")
    k = lengths.pop() if lengths else 0
    index = data.index if is_frame else pd.RangeIndex(k)
    labels = list(index)

    assumed = np.zeros(k, dtype=bool)
    if measure in _PREPOST and not passthrough:
        ri = arrays.get("ri", np.full(k, np.nan))
        if ri_assumed is not None:
            assumed = np.isnan(ri)
            ri = np.where(assumed, float(ri_assumed), ri)
        arrays["ri"] = ri

    # rows with a missing input: computed as NaN, explained in es_method
    if passthrough or measure not in _BINARY:
        core = list(arrays)
        if measure == "SMCR":
            core = [c for c in core if c != "sd2i"]
        missing_by_row = [[c for c in core if np.isnan(arrays[c][i])] for i in range(k)]
    else:
        missing_by_row = []
        for i in range(k):
            miss = [c for c in ("ai", "ci") if np.isnan(arrays[c][i])]
            for pair in (("bi", "n1i"), ("di", "n2i")):
                given = [c for c in pair if c in arrays]
                if all(np.isnan(arrays[c][i]) for c in given):
                    miss.append(" or ".join(given))
            missing_by_row.append(miss)

    if passthrough:
        res = _passthrough(arrays, labels)
        base = ["as supplied" if "vi" in arrays else "as supplied; vi = sei^2"] * k
    else:
        res = _compute(measure, arrays, add, to, drop00, labels)
        base = [_DESCRIPTION[measure]] * k
        if measure in _BINARY:
            group1 = "bi" if "bi" in arrays else "n1i"
            group2 = "di" if "di" in arrays else "n2i"
            base = [f"{b} ai, {group1}, ci, {group2}" for b in base]

    methods = []
    for i in range(k):
        if missing_by_row[i]:
            head = measure if not passthrough else "as supplied"
            methods.append(
                f"{head}: missing input: {', '.join(missing_by_row[i])}; yi and vi not computed"
            )
            continue
        parts = [base[i]]
        if measure in _PREPOST and not passthrough:
            r = arrays["ri"][i]
            if assumed[i]:
                parts.append(f"pre-post r = {r:g} ASSUMED (not reported)")
            else:
                parts.append(f"pre-post r = {r:g} (reported)")
        if res.notes[i]:
            parts.append(res.notes[i])
        methods.append("; ".join(parts))

    out = pd.DataFrame(
        {
            "yi": res.yi,
            "vi": res.vi,
            "measure": [measure] * k,
            "es_method": methods,
            "assumed": assumed,
        },
        index=index,
    )
    if measure in _PREPOST and not passthrough:
        out["ri"] = arrays["ri"]
    return out


def _passthrough(arrays: dict[str, FloatArray], labels: Sequence[Any]) -> _Result:
    yi = arrays["yi"]
    if "vi" in arrays:
        vi = arrays["vi"]
        _check(
            np.isinf(vi) | (vi <= 0), "vi", vi, "a sampling variance must be > 0 and finite", labels
        )
    else:
        sei = arrays["sei"]
        _check(
            np.isinf(sei) | (sei <= 0),
            "sei",
            sei,
            "a standard error must be > 0 and finite",
            labels,
        )
        vi = sei**2
    _check(np.isinf(yi), "yi", yi, "an effect size must be finite", labels)
    yi, vi = _finish(yi, vi)
    return _Result(yi, vi, [""] * yi.size)


def _compute(
    measure: str,
    a: dict[str, FloatArray],
    add: float,
    to: str,
    drop00: bool,
    labels: Sequence[Any],
) -> _Result:
    if measure == "ZCOR":
        return _zcor(a["ri"], a["ni"], labels)
    if measure == "COR":
        return _cor(a["ri"], a["ni"], labels)
    if measure in _TWO_GROUP:
        fun = _smd if measure == "SMD" else _md
        return fun(a["m1i"], a["m2i"], a["sd1i"], a["sd2i"], a["n1i"], a["n2i"], labels)
    if measure == "SMCC":
        return _smcc(a["m1i"], a["m2i"], a["sd1i"], a["sd2i"], a["ni"], a["ri"], labels)
    if measure == "SMCR":
        return _smcr(a["m1i"], a["m2i"], a["sd1i"], a.get("sd2i"), a["ni"], a["ri"], labels)
    if measure in _BINARY:
        return _binary(
            measure,
            a["ai"],
            a.get("bi"),
            a["ci"],
            a.get("di"),
            a.get("n1i"),
            a.get("n2i"),
            add,
            to,
            drop00,
            labels,
        )
    return _proportion(measure, a["xi"], a["ni"], add, to, labels)


# --------------------------------------------------------------------------------------
# layer 3: conversions of reported statistics
# --------------------------------------------------------------------------------------


def _out(x: FloatArray) -> float | FloatArray:
    """Return a Python float for a single value, else the array."""
    return float(x[0]) if x.size == 1 else x


def _level_quantile(level: float) -> float:
    if isinstance(level, bool) or not isinstance(level, int | float) or not (0 < level < 100):
        raise UserInputError(
            f"level = {level!r}: must be a confidence level in percent, 0 < level < 100 (e.g. 95)"
        )
    if level < 1:
        raise UserInputError(
            f"level = {level!r}: give the confidence level in percent (e.g. 95, not 0.95)"
        )
    return 1 - (1 - level / 100) / 2


def se_from_ci(
    lower: ArrayLike, upper: ArrayLike, level: float = 95, log: bool = False
) -> float | FloatArray:
    r"""Standard error from a normal-theory confidence interval.

    .. math:: \mathrm{SE} = \frac{u - l}{2 z_{1 - \alpha/2}}

    e.g. :math:`(u - l)/3.92` for a 95% CI [higgins2023cochrane]_ (6.3.1). For ratio
    measures (OR, RR, HR) pass ``log=True``: the CI bounds are log-transformed first
    and the SE is that of the log ratio [higgins2023cochrane]_ (6.3.2).

    Parameters
    ----------
    lower, upper : array_like
        CI bounds, ``lower < upper`` (and ``> 0`` when ``log=True``).
    level : float, default 95
        Confidence level in percent.
    log : bool, default False
        Log-transform the bounds first (ratio measures).

    Returns
    -------
    float or numpy.ndarray
        es_method wording: "SE from the reported 95% CI (normal approximation)".
    """
    q = _level_quantile(level)
    a = _as_arrays(lower=lower, upper=upper)
    lo, hi = a["lower"], a["upper"]
    if log:
        _check(lo <= 0, "lower", lo, "log=True needs CI bounds > 0 (ratio scale)", None)
        lo, hi = np.log(lo), np.log(hi)
    _check(~(hi > lo), "upper", a["upper"], "needs upper > lower", None)
    return _out((hi - lo) / (2 * float(ndtri(q))))


def var_from_ci(
    lower: ArrayLike, upper: ArrayLike, level: float = 95, log: bool = False
) -> float | FloatArray:
    """Sampling variance from a confidence interval: ``se_from_ci(...) ** 2``.

    Parameters
    ----------
    lower, upper, level, log
        As in :func:`se_from_ci`.

    Returns
    -------
    float or numpy.ndarray
    """
    se = se_from_ci(lower, upper, level=level, log=log)
    return se**2


def se_from_p(estimate: ArrayLike, p: ArrayLike, two_sided: bool = True) -> float | FloatArray:
    r"""Standard error from an estimate and its p value (normal approximation).

    .. math:: z = \Phi^{-1}(1 - p/2)\ \text{(two-sided)},\qquad \mathrm{SE} = |\hat\theta|/z

    [higgins2023cochrane]_ (6.3.2). The estimate must be on the analysis scale (a log
    ratio for OR/RR). A p value reported as an inequality ("p < 0.05") cannot be used
    this way.

    Parameters
    ----------
    estimate : array_like
        The estimate, ``!= 0``.
    p : array_like
        Its exact p value, ``0 < p < 1`` (``p < 0.5`` when one-sided).
    two_sided : bool, default True

    Returns
    -------
    float or numpy.ndarray
    """
    a = _as_arrays(estimate=estimate, p=p)
    est, pv = a["estimate"], a["p"]
    _check(~((pv > 0) & (pv < 1)), "p", pv, "needs 0 < p < 1", None)
    if not two_sided:
        _check(pv >= 0.5, "p", pv, "a one-sided p must be < 0.5 to give a positive z", None)
    _check(est == 0, "estimate", est, "needs estimate != 0 (no SE follows from p at 0)", None)
    z = ndtri(1 - pv / 2) if two_sided else ndtri(1 - pv)
    return _out(np.abs(est) / z)


def d_to_r(
    d: ArrayLike, n1: ArrayLike | None = None, n2: ArrayLike | None = None
) -> float | FloatArray:
    r"""Convert a standardized mean difference to a (point-biserial) correlation.

    .. math:: r = \frac{d}{\sqrt{d^2 + a}},\qquad a = \frac{(n_1 + n_2)^2}{n_1 n_2}

    with :math:`a = 4` (equal group sizes) when ``n1``/``n2`` are not given
    [borenstein2009introduction]_ (ch. 7).

    Parameters
    ----------
    d : array_like
        Standardized mean difference.
    n1, n2 : array_like, optional
        Group sizes (both or neither), ``>= 1``.

    Returns
    -------
    float or numpy.ndarray
    """
    if (n1 is None) != (n2 is None):
        raise UserInputError("d_to_r needs both n1 and n2, or neither (then a = 4)")
    a = _as_arrays(d=d, n1=n1, n2=n2)
    if n1 is None:
        corr = np.full(a["d"].shape, 4.0)
    else:
        for name in ("n1", "n2"):
            _check(a[name] < 1, name, a[name], "needs a group size >= 1", None)
        corr = (a["n1"] + a["n2"]) ** 2 / (a["n1"] * a["n2"])
    return _out(a["d"] / np.sqrt(a["d"] ** 2 + corr))


def r_to_d(r: ArrayLike) -> float | FloatArray:
    r"""Convert a correlation to a standardized mean difference.

    .. math:: d = \frac{2r}{\sqrt{1 - r^2}}

    [borenstein2009introduction]_ (ch. 7).

    Parameters
    ----------
    r : array_like
        Correlation, ``-1 < r < 1``.

    Returns
    -------
    float or numpy.ndarray
    """
    a = _as_arrays(r=r)["r"]
    _check(~(np.abs(a) < 1), "r", a, "needs -1 < r < 1", None)
    return _out(2 * a / np.sqrt(1 - a**2))


def r_from_r2(r2: ArrayLike, sign: int = +1) -> float | FloatArray:
    r"""Correlation from the :math:`R^2` of a regression with ONE predictor.

    .. math:: r = \operatorname{sign} \cdot \sqrt{R^2}

    Only valid for a simple (one-predictor) regression, where :math:`R^2 = r^2`. A
    multiple :math:`R^2` (two or more predictors) must never be converted: its square
    root is the multiple correlation, which is not the bivariate correlation of any
    one predictor with the outcome and has no sign. The sign must come from the
    report (direction of the slope).

    Parameters
    ----------
    r2 : array_like
        Coefficient of determination, ``0 <= r2 <= 1``.
    sign : {+1, -1}
        Direction of the association.

    Returns
    -------
    float or numpy.ndarray
    """
    if sign not in (1, -1) or isinstance(sign, bool):
        raise UserInputError(f"sign = {sign!r}: must be +1 or -1")
    a = _as_arrays(r2=r2)["r2"]
    _check(~((a >= 0) & (a <= 1)), "r2", a, "needs 0 <= r2 <= 1", None)
    return _out(sign * np.sqrt(a))


def _decimals(percent: float | str) -> tuple[float, int]:
    if isinstance(percent, str):
        text = percent.strip().rstrip("%").strip()
        try:
            value = float(text)
        except ValueError as exc:
            raise UserInputError(f"percent = {percent!r}: not a number") from exc
        if not math.isfinite(value):
            raise UserInputError(f"percent = {percent!r}: must be finite")
        mantissa = text.lower().split("e")[0]
        dec = len(mantissa.split(".")[1]) if "." in mantissa else 0
        return value, dec
    if isinstance(percent, bool) or not isinstance(percent, int | float | np.number):
        raise UserInputError(f"percent = {percent!r}: must be a number or a numeric string")
    value = float(percent)
    if not math.isfinite(value):
        raise UserInputError(f"percent = {percent!r}: must be finite")
    text = np.format_float_positional(value, trim="-")
    dec = len(text.split(".")[1]) if "." in text else 0
    return value, dec


def events_from_percent(percent: float | str, n: int) -> tuple[int, str]:
    """Number of events behind a reported percentage of ``n`` participants.

    Finds the integer counts ``x`` in ``0..n`` for which ``100 x / n`` rounds to the
    reported percentage at its printed precision (half a unit in the last printed
    digit), and returns the one closest to ``percent * n / 100``.

    Parameters
    ----------
    percent : float or str
        The percentage as printed. Pass a string to keep trailing zeros ("12.50" has
        two decimals; the float 12.5 has one).
    n : int
        Denominator (number of participants), ``>= 1``.

    Returns
    -------
    count : int
    note : str
        For ``es_method``, e.g. "12 events = 33.3% of 36 (12/36 = 33.333%)"; says when
        several counts fit the percentage.

    Raises
    ------
    UserInputError
        If no integer count reproduces the percentage (a wrong ``n`` or a typo), or the
        inputs are out of range.
    """
    value, dec = _decimals(percent)
    if not (0 <= value <= 100):
        raise UserInputError(f"percent = {percent!r}: must be between 0 and 100")
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        if isinstance(n, float) and n.is_integer() and n >= 1:
            n = int(n)
        else:
            raise UserInputError(f"n = {n!r}: must be a whole number >= 1")
    n = int(n)
    half = 0.5 * 10.0 ** (-dec)
    counts = np.arange(n + 1)
    pct = 100.0 * counts / n
    fits = counts[np.abs(pct - value) <= half * (1 + 1e-9) + 1e-12]
    shown = f"{value:.{dec}f}%"
    if fits.size == 0:
        nearest = int(np.argmin(np.abs(pct - value)))
        raise UserInputError(
            f"percent = {percent!r} with n = {n}: no whole number of events out of {n} "
            f"gives {shown} at {dec} decimal(s) (nearest: {nearest}/{n} = "
            f"{100 * nearest / n:.{dec + 2}f}%); check n and the percentage"
        )
    target = value * n / 100
    count = int(fits[np.argmin(np.abs(fits - target))])
    events = "event" if count == 1 else "events"
    note = f"{count} {events} = {shown} of {n} ({count}/{n} = {100 * count / n:.{dec + 2}f}%)"
    if fits.size > 1:
        note += (
            f"; counts {int(fits[0])} to {int(fits[-1])} all round to {shown}, "
            f"the nearest to {shown} of {n} was taken"
        )
    return count, note


def sd_from_ci(
    lower: ArrayLike,
    upper: ArrayLike,
    n: ArrayLike,
    level: float = 95,
    dist: str = "t",
) -> float | FloatArray:
    r"""Standard deviation of one group from the CI of its mean.

    .. math:: \mathrm{SD} = \sqrt{n}\,\frac{u - l}{2\,q}

    with :math:`q` the :math:`1 - \alpha/2` quantile of the t distribution with
    :math:`n - 1` degrees of freedom (``dist="t"``, right for small samples) or of
    the standard normal (``dist="normal"``: 3.92 = 2 x 1.96 for 95%)
    [higgins2023cochrane]_ (6.5.2.2).

    Parameters
    ----------
    lower, upper : array_like
        CI bounds of the group mean, ``lower < upper``.
    n : array_like
        Group size, ``>= 2``.
    level : float, default 95
        Confidence level in percent.
    dist : {"t", "normal"}, default "t"

    Returns
    -------
    float or numpy.ndarray
    """
    q = _level_quantile(level)
    if dist not in ("t", "normal"):
        raise UserInputError(f"dist = {dist!r}: allowed values are 't', 'normal'")
    a = _as_arrays(lower=lower, upper=upper, n=n)
    lo, hi, nn = a["lower"], a["upper"], a["n"]
    _check(~(hi > lo), "upper", hi, "needs upper > lower", None)
    _check(nn < 2, "n", nn, "needs n >= 2", None)
    quant = stdtrit(nn - 1, q) if dist == "t" else np.full(nn.shape, float(ndtri(q)))
    return _out(np.sqrt(nn) * (hi - lo) / (2 * quant))


def var_d(d: ArrayLike, n1: ArrayLike, n2: ArrayLike) -> float | FloatArray:
    r"""Sampling variance of a reported d or g with its group sizes.

    .. math:: v = \frac1{n_1} + \frac1{n_2} + \frac{d^2}{2(n_1 + n_2)}

    metafor's SMD variance (``vtype="LS"``) [viechtbauer2010metafor]_; use it for a
    reported Hedges' g (and for a reported Cohen's d, which ideally should be
    bias-corrected first).

    Parameters
    ----------
    d : array_like
        Standardized mean difference.
    n1, n2 : array_like
        Group sizes, ``>= 2`` each.

    Returns
    -------
    float or numpy.ndarray
    """
    a = _as_arrays(d=d, n1=n1, n2=n2)
    for name in ("n1", "n2"):
        _check(a[name] < 2, name, a[name], "needs a group size >= 2", None)
    return _out(1 / a["n1"] + 1 / a["n2"] + a["d"] ** 2 / (2 * (a["n1"] + a["n2"])))


# --------------------------------------------------------------------------------------
# back-transformations for reporting
# --------------------------------------------------------------------------------------


def transf_ztor(xi: ArrayLike) -> float | FloatArray:
    r"""Fisher's z back to a correlation, :math:`r = \tanh z` (metafor ``transf.ztor``).

    Parameters
    ----------
    xi : array_like

    Returns
    -------
    float or numpy.ndarray
    """
    return _out(np.tanh(_as_float("xi", xi)))


def transf_ilogit(xi: ArrayLike) -> float | FloatArray:
    r"""Inverse logit, :math:`1/(1 + e^{-x})` (metafor ``transf.ilogit``).

    Parameters
    ----------
    xi : array_like

    Returns
    -------
    float or numpy.ndarray
    """
    return _out(expit(_as_float("xi", xi)))


def transf_exp(xi: ArrayLike) -> float | FloatArray:
    """Exponential: log ratio back to a ratio (metafor ``transf=exp``).

    Parameters
    ----------
    xi : array_like

    Returns
    -------
    float or numpy.ndarray
    """
    return _out(np.exp(_as_float("xi", xi)))


def _pft(p: float, n: float) -> float:
    x = p * n
    return 0.5 * (math.asin(math.sqrt(x / (n + 1))) + math.asin(math.sqrt((x + 1) / (n + 1))))


def transf_ipft_hm(yi: ArrayLike, ni: ArrayLike) -> float | FloatArray:
    r"""Inverse Freeman-Tukey transformation with the harmonic mean of ``ni``.

    With :math:`\tilde n = 1/\overline{(1/n_i)}` (harmonic mean, missing ``ni``
    ignored) [miller1978inverse]_ (metafor ``transf.ipft.hm``):

    .. math:: p = \tfrac12\left[1 - \operatorname{sign}(\cos 2t)
              \sqrt{1 - \left(\sin 2t + \frac{\sin 2t - 1/\sin 2t}{\tilde n}\right)^2}\,\right]

    Values above the transform of ``p = 1`` give 1, below that of ``p = 0`` give 0;
    undefined values give NaN, as in metafor.

    Parameters
    ----------
    yi : array_like
        Values on the double-arcsine scale (e.g. a pooled estimate and CI bounds).
    ni : array_like
        Sample sizes of the studies, ``> 0``.

    Returns
    -------
    float or numpy.ndarray
    """
    t = _as_float("yi", yi)
    n = _as_float("ni", ni)
    _check(n <= 0, "ni", n, "needs ni > 0", None)
    if np.all(np.isnan(n)):
        raise UserInputError("ni: needs at least one non-missing sample size")
    nhm = 1 / np.nanmean(1 / n)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.sin(2 * t)
        z = 0.5 * (1 - np.sign(np.cos(2 * t)) * np.sqrt(1 - (s + (s - 1 / s) / nhm) ** 2))
    z = np.where(np.isnan(z), np.nan, z)
    z[t > _pft(1.0, nhm)] = 1.0
    z[t < _pft(0.0, nhm)] = 0.0
    return _out(z)


_BACK: dict[str, Callable[[ArrayLike], float | FloatArray]] = {
    "ZCOR": transf_ztor,
    "PLO": transf_ilogit,
    "OR": transf_exp,
    "RR": transf_exp,
}


def backtransform(
    measure: str, values: ArrayLike, ni: ArrayLike | None = None
) -> float | FloatArray:
    """Back-transform values on the analysis scale of ``measure`` for reporting.

    ZCOR -> correlation (:func:`transf_ztor`), PLO -> proportion
    (:func:`transf_ilogit`), PFT -> proportion (:func:`transf_ipft_hm`, needs the
    studies' ``ni``), OR/RR -> ratio (:func:`transf_exp`); every other measure is
    already on its reporting scale and is returned unchanged.

    Parameters
    ----------
    measure : str
        One of :data:`MEASURES`.
    values : array_like
        Estimates or CI bounds on the analysis scale.
    ni : array_like, optional
        Study sample sizes; required for PFT.

    Returns
    -------
    float or numpy.ndarray
    """
    if not isinstance(measure, str) or measure not in MEASURES:
        raise UserInputError(
            f"measure = {measure!r}: unknown measure; allowed: {', '.join(MEASURES)}"
        )
    if measure == "PFT":
        if ni is None:
            raise UserInputError(
                "backtransform(measure='PFT') needs ni (the studies' sample sizes)"
            )
        return transf_ipft_hm(values, ni)
    fun = _BACK.get(measure)
    if fun is None:
        return _out(_as_float("values", values))
    return fun(values)
