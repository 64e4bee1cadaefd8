"""The p value a reported effect size implies, allowing for rounding (``synthesis check``).

A standardised difference d (or g, SMD) with group sizes n1, n2 implies the two-sample
t statistic t = d / sqrt(1/n1 + 1/n2) on n1 + n2 - 2 df; an MD, or a ratio on the log
scale, with its SE implies z = estimate / SE [higgins2023cochrane]_ (6.3). Used by
:mod:`synthesis.integrity` (code ``effect-p``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from scipy.special import ndtr, stdtr


@dataclass(frozen=True)
class ImpliedP:
    """The statistic and two-sided p an effect implies, and their range under rounding."""

    test: str
    statistic: float
    p: float
    p_low: float
    p_high: float


def implied_p(
    estimate: float,
    half: float,
    se_low: float,
    se_high: float,
    df: float | None = None,
    transform: Callable[[float], float] = float,
) -> ImpliedP:
    """Two-sided p of ``transform(estimate) / SE`` over the rounding of estimate and SE.

    Parameters
    ----------
    estimate, half : float
        The reported estimate and half a unit of its last printed digit.
    se_low, se_high : float
        The range of its standard error (equal when it is exact).
    df : float, optional
        Degrees of freedom of a t test; None for a z test.
    transform : callable
        ``math.log`` for ratios.

    Examples
    --------
    >>> r = implied_p(0.24, 0.005, (2 / 74) ** 0.5, (2 / 74) ** 0.5, df=146)
    >>> round(r.statistic, 3), round(r.p, 4)
    (1.46, 0.1465)
    """
    ends = [transform(estimate - half), transform(estimate + half)]
    lo_end, hi_end = sorted(abs(x) for x in ends)
    if ends[0] * ends[1] <= 0:
        lo_end = 0.0
    mid = abs(transform(estimate)) / ((se_low + se_high) / 2)

    def p_of(t: float) -> float:
        return float(2 * (stdtr(df, -t) if df else ndtr(-t)))

    test = f"t({df:g})" if df else "z"
    return ImpliedP(test, mid, p_of(mid), p_of(hi_end / se_low), p_of(lo_end / se_high))


__all__ = ["ImpliedP", "implied_p"]
