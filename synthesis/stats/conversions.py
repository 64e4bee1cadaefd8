"""Conversions of reported statistics (SE from a CI or p, d and r, events from percentages)."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import ndtri, stdtrit

from synthesis.errors import UserInputError
from synthesis.stats._inputs import (
    FloatArray,
    _as_arrays,
    _check,
    _out,
)

# --------------------------------------------------------------------------------------
# layer 3: conversions of reported statistics
# --------------------------------------------------------------------------------------


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

    e.g. :math:`(u - l)/3.92` for a 95% CI :cite:`higgins2023cochrane` (6.3.1). For ratio
    measures (OR, RR, HR) pass ``log=True``: the CI bounds are log-transformed first
    and the SE is that of the log ratio :cite:`higgins2023cochrane` (6.3.2).

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

    Examples
    --------
    >>> from synthesis.stats import se_from_ci
    >>> round(se_from_ci(0.2, 0.6), 4)  # (0.6 - 0.2) / 3.92
    0.102
    >>> round(se_from_ci(0.5, 2.0, log=True), 4)  # a ratio's CI: SE of the log ratio
    0.3537
    >>> se_from_ci([0.1, 0.2], [0.5, 0.9]).round(4).tolist()
    [0.102, 0.1786]
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

    Examples
    --------
    >>> from synthesis.stats import var_from_ci
    >>> round(var_from_ci(0.2, 0.6), 5)
    0.01041
    """
    se = se_from_ci(lower, upper, level=level, log=log)
    return se**2


def se_from_p(estimate: ArrayLike, p: ArrayLike, two_sided: bool = True) -> float | FloatArray:
    r"""Standard error from an estimate and its p value (normal approximation).

    .. math:: z = \Phi^{-1}(1 - p/2)\ \text{(two-sided)},\qquad \mathrm{SE} = |\hat\theta|/z

    :cite:`higgins2023cochrane` (6.3.2). The estimate must be on the analysis scale (a log
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

    Examples
    --------
    >>> from synthesis.stats import se_from_p
    >>> round(se_from_p(0.4, 0.03), 4)  # 0.4 / 2.1701
    0.1843
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
    :cite:`borenstein2009introduction` (ch. 7).

    Parameters
    ----------
    d : array_like
        Standardized mean difference.
    n1, n2 : array_like, optional
        Group sizes (both or neither), ``>= 1``.

    Returns
    -------
    float or numpy.ndarray

    Examples
    --------
    >>> from synthesis.stats import d_to_r
    >>> round(d_to_r(0.5), 4), round(d_to_r(0.5, n1=20, n2=40), 4)
    (0.2425, 0.2294)
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

    :cite:`borenstein2009introduction` (ch. 7).

    Parameters
    ----------
    r : array_like
        Correlation, ``-1 < r < 1``.

    Returns
    -------
    float or numpy.ndarray

    Examples
    --------
    >>> from synthesis.stats import r_to_d
    >>> round(r_to_d(0.3), 4)
    0.629
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

    Examples
    --------
    >>> from synthesis.stats import r_from_r2
    >>> r_from_r2(0.09, sign=-1)  # a negative slope was reported
    -0.3
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

    Examples
    --------
    >>> from synthesis.stats import events_from_percent
    >>> events_from_percent("33.3", 36)
    (12, '12 events = 33.3% of 36 (12/36 = 33.333%)')
    """
    value, dec = _decimals(percent)
    if not (0 <= value <= 100):
        raise UserInputError(f"percent = {percent!r}: must be between 0 and 100")
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        if isinstance(n, float) and float(n).is_integer() and n >= 1:
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
    :cite:`higgins2023cochrane` (6.5.2.2).

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

    Examples
    --------
    >>> from synthesis.stats import sd_from_ci
    >>> round(sd_from_ci(4.1, 5.9, n=25), 4)  # t quantile with 24 df
    2.1803
    >>> round(sd_from_ci(4.1, 5.9, n=25, dist="normal"), 4)  # sqrt(25) * 1.8 / 3.92
    2.296
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

    metafor's SMD variance (``vtype="LS"``) :cite:`viechtbauer2010metafor`; use it for a
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

    Examples
    --------
    >>> from synthesis.stats import var_d
    >>> round(var_d(0.5, 20, 20), 4)  # 1/20 + 1/20 + 0.25/80
    0.1031
    """
    a = _as_arrays(d=d, n1=n1, n2=n2)
    for name in ("n1", "n2"):
        _check(a[name] < 2, name, a[name], "needs a group size >= 2", None)
    return _out(1 / a["n1"] + 1 / a["n2"] + a["d"] ** 2 / (2 * (a["n1"] + a["n2"])))
