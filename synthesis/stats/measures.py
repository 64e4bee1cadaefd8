"""Effect sizes and their sampling variances, one function per metafor measure code.

The module has three layers.

1. Pure array functions, one per measure (:func:`es_zcor`, :func:`es_cor`,
   :func:`es_smd`, :func:`es_md`, :func:`es_smcc`, :func:`es_smcr`, :func:`es_or`,
   :func:`es_rr`, :func:`es_rd`, :func:`es_plo`, :func:`es_pr`, :func:`es_pft`).
   Each takes numbers or arrays named like the arguments of metafor's ``escalc`` and
   returns ``(yi, vi)`` computed with exactly metafor's formulas and default
   ``vtype`` :cite:`viechtbauer2010metafor`. ``tests/test_effects_reference.py`` checks
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
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from synthesis.errors import UserInputError
from synthesis.stats._inputs import (
    FloatArray,
    _as_arrays,
    _check,
    _check_zero_options,
    _cmi,
    _finish,
    _Result,
)

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
        Effect sizes and sampling variances :cite:`viechtbauer2010metafor`,
        :cite:`borenstein2009introduction` (ch. 6).

    Examples
    --------
    >>> from synthesis.stats import es_zcor
    >>> yi, vi = es_zcor(ri=[0.3, 0.5], ni=[50, 40])
    >>> yi.round(4).tolist(), vi.round(4).tolist()  # as metafor's escalc
    ([0.3095, 0.5493], [0.0213, 0.027])
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
        See :cite:`viechtbauer2010metafor`.

    Examples
    --------
    >>> from synthesis.stats import es_cor
    >>> yi, vi = es_cor(ri=[0.3, 0.5], ni=[50, 40])
    >>> yi.round(4).tolist(), vi.round(4).tolist()  # as metafor's escalc
    ([0.3, 0.5], [0.0169, 0.0144])
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

    i.e. the exact small-sample correction :cite:`hedges1981distribution` and metafor's
    default large-sample variance (``vtype="LS"``) :cite:`viechtbauer2010metafor`.

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

    Examples
    --------
    >>> from synthesis.stats import es_smd
    >>> yi, vi = es_smd(10.0, 8.5, 3.0, 3.5, 20, 22)
    >>> yi.round(4).tolist(), vi.round(4).tolist()  # as metafor's escalc
    ([0.4498], [0.0979])
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
        See :cite:`viechtbauer2010metafor`.

    Examples
    --------
    >>> from synthesis.stats import es_md
    >>> yi, vi = es_md(10.0, 8.5, 3.0, 3.5, 20, 22)
    >>> yi.round(4).tolist(), vi.round(4).tolist()  # as metafor's escalc
    ([1.5], [1.0068])
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

    (metafor's default ``vtype="LS"``) :cite:`viechtbauer2010metafor`. The sign is that of
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

    Examples
    --------
    >>> from synthesis.stats import es_smcc
    >>> yi, vi = es_smcc(12.0, 10.0, 4.0, 3.5, ni=30, ri=0.6)
    >>> yi.round(4).tolist(), vi.round(4).tolist()  # as metafor's escalc
    ([0.5756], [0.0389])
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
    :cite:`viechtbauer2010metafor`. Only ``sd1i`` standardizes; ``sd2i`` is not used by the
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

    Examples
    --------
    >>> from synthesis.stats import es_smcr
    >>> yi, vi = es_smcr(12.0, 10.0, 4.0, None, ni=30, ri=0.6)
    >>> yi.round(4).tolist(), vi.round(4).tolist()  # as metafor's escalc
    ([0.4869], [0.0306])
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

    after metafor's continuity correction :cite:`viechtbauer2010metafor`.

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

    Examples
    --------
    >>> from synthesis.stats import es_or
    >>> yi, vi = es_or(ai=[12, 4], bi=[38, 46], ci=[20, 0], di=[30, 50])
    >>> yi.round(4).tolist(), vi.round(4).tolist()  # as metafor's escalc
    ([-0.7472, 2.2797], [0.193, 2.2635])
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

    after metafor's continuity correction :cite:`viechtbauer2010metafor`.

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

    Examples
    --------
    >>> from synthesis.stats import es_rr
    >>> yi, vi = es_rr(ai=[12, 4], bi=[38, 46], ci=[20, 0], di=[30, 50])
    >>> yi.round(4).tolist(), vi.round(4).tolist()  # as metafor's escalc
    ([-0.5108, 2.1972], [0.0933, 2.183])
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
    :cite:`viechtbauer2010metafor`.

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

    Examples
    --------
    >>> from synthesis.stats import es_rd
    >>> yi, vi = es_rd(ai=[12, 4], bi=[38, 46], ci=[20, 0], di=[30, 50])
    >>> yi.round(4).tolist(), vi.round(4).tolist()  # as metafor's escalc
    ([-0.16, 0.0784], [0.0084, 0.0018])
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
    ``xi = 0`` or ``xi = ni`` (``to="only0"``) :cite:`viechtbauer2010metafor`.

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

    Examples
    --------
    >>> from synthesis.stats import es_plo
    >>> yi, vi = es_plo(xi=[12, 0], ni=[40, 25])
    >>> yi.round(4).tolist(), vi.round(4).tolist()  # as metafor's escalc
    ([-0.8473, -3.9318], [0.119, 2.0392])
    """
    res = _proportion("PLO", xi, ni, add, to)
    return res.yi, res.vi


def es_pr(
    xi: ArrayLike, ni: ArrayLike, *, add: float = 0.5, to: str = "only0"
) -> tuple[FloatArray, FloatArray]:
    r"""Raw proportion (metafor ``measure="PR"``, ``vtype="LS"``).

    .. math:: y_i = p_i = x_i/n_i, \qquad v_i = \frac{p_i (1 - p_i)}{n_i}

    As in metafor 3.8, the default correction (``add=0.5, to="only0"``) is applied
    when ``xi = 0`` or ``xi = ni`` :cite:`viechtbauer2010metafor`.

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

    Examples
    --------
    >>> from synthesis.stats import es_pr
    >>> yi, vi = es_pr(xi=[12, 0], ni=[40, 25])
    >>> yi.round(4).tolist(), vi.round(4).tolist()  # as metafor's escalc
    ([0.3, 0.0192], [0.0052, 0.0007])
    """
    res = _proportion("PR", xi, ni, add, to)
    return res.yi, res.vi


def es_pft(
    xi: ArrayLike, ni: ArrayLike, *, add: float = 0.0, to: str = "only0"
) -> tuple[FloatArray, FloatArray]:
    r"""Freeman-Tukey double-arcsine transformed proportion (metafor ``"PFT"``).

    .. math:: y_i = \tfrac12\left\{\arcsin\sqrt{\frac{x_i}{n_i+1}}
              + \arcsin\sqrt{\frac{x_i+1}{n_i+1}}\right\}, \qquad v_i = \frac{1}{4 n_i + 2}

    :cite:`freeman1950transformations`. It is defined at ``xi = 0`` and ``xi = ni``, so
    metafor's default ``add`` for PFT is 0 :cite:`viechtbauer2010metafor`.

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

    Examples
    --------
    >>> from synthesis.stats import es_pft
    >>> yi, vi = es_pft(xi=[12, 0], ni=[40, 25])
    >>> yi.round(4).tolist(), vi.round(4).tolist()  # as metafor's escalc
    ([0.5849, 0.0987], [0.0062, 0.0098])
    """
    res = _proportion("PFT", xi, ni, add, to)
    return res.yi, res.vi
