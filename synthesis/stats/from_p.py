"""Effect sizes from a p value, a direction and the group sizes, when the test is known.

A paper that gives only "p = .032 between groups, n 25 and 23" still says how large the
difference was, if the test is known: the p value fixes the test statistic, and the
statistic with the group sizes fixes a standardised effect :cite:`borenstein2009introduction`.

* two-sample t test: :math:`t = t^{-1}_{n_1+n_2-2}(1 - p/2)`,
  :math:`d = t\\sqrt{1/n_1 + 1/n_2}`, Hedges' :math:`g = J d` with metafor's exact
  correction :math:`J`, variance :math:`1/n_1 + 1/n_2 + g^2/(2(n_1+n_2))` (metafor SMD);
* paired t test: :math:`t = t^{-1}_{n-1}(1 - p/2)`, :math:`d_z = t/\\sqrt n`, SMCC
  :math:`= J(n-1)\\, d_z`, variance :math:`1/n + y^2/(2n)` (metafor SMCC, standardised by
  the SD of the change, so no pre-post correlation is needed; the raw-score standardised
  SMCR would need one: :math:`d_{rm} = d_z\\sqrt{2(1-r)}`, see :func:`smcr_from_smcc`);
* t test of a correlation: :math:`t = t^{-1}_{n-2}(1 - p/2)`,
  :math:`r = t / \\sqrt{t^2 + n - 2}`;
* any two-sided p and a direction: one-sided :math:`p_1 = p/2` in the direction found,
  :math:`1 - p/2` against it, and :math:`z = \\Phi^{-1}(1 - p_1)`.

The sign comes from the direction, never from the p value. A bounded p (p < .05) gives
only a bound (the effect is at least as large as the bound's), never a value:
:class:`FromP` says which, and a bound is never pooled.

Examples
--------
>>> res = smd_from_p(0.032, 25, 23, sign=+1)
>>> round(res.estimate, 4), round(res.variance, 4), res.bound
(0.6285, 0.0876, '=')
>>> round(r_from_p(0.01, 50, sign=-1).estimate, 4)
-0.361
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from synthesis.errors import UserInputError

#: What a bounded p says about the effect: p < b means |effect| > the bound's effect.
_EFFECT_BOUND = {"=": "=", "<": ">", ">": "<"}


@dataclass(frozen=True)
class FromP:
    """An effect size derived from a p value.

    Attributes
    ----------
    estimate : float
        The effect size (or, when ``bound`` is not ``"="``, the bound on it).
    variance : float
        Its sampling variance (NaN for a bound: a bound has no variance).
    bound : {"=", ">", "<"}
        ``"="`` for a value; ``">"`` when the true |effect| is larger than ``estimate``
        (from p < b), ``"<"`` when it is smaller (from p > b).
    measure : str
        metafor's measure code: SMD, SMCC or COR.
    method : str
        How it was derived, for the effect-size table.
    """

    estimate: float
    variance: float
    bound: str
    measure: str
    method: str

    @property
    def is_value(self) -> bool:
        """True when this is an estimate that may be pooled (not a bound)."""
        return self.bound == "="


def _check_p(p: float, p_bound: str) -> None:
    if p_bound not in _EFFECT_BOUND:
        raise UserInputError(f"p_bound = {p_bound!r}: allowed values are '=', '<', '>'")
    if not (isinstance(p, (int, float)) and 0 < p <= 1):
        raise UserInputError(f"p = {p!r}: a p value must lie in (0, 1]")


def _check_sign(sign: int) -> None:
    if sign not in (-1, 1):
        raise UserInputError(f"sign = {sign!r}: must be +1 or -1 (the direction of the effect)")


def _check_n(name: str, value: float, least: float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= least):
        raise UserInputError(f"{name} = {value!r}: needs a number of participants >= {least:g}")


def t_from_p(p: float, df: float) -> float:
    """The |t| statistic with ``df`` degrees of freedom whose two-sided p value is ``p``.

    >>> round(t_from_p(0.05, 30), 4)
    2.0423
    """
    from scipy.stats import t

    _check_p(p, "=")
    return float(t.isf(p / 2, df))


def _cmicalc(m: float) -> float:
    """metafor's exact small-sample correction J(m) = Γ(m/2) / (√(m/2) Γ((m-1)/2))."""
    return math.exp(math.lgamma(m / 2) - math.log(math.sqrt(m / 2)) - math.lgamma((m - 1) / 2))


def _bound_words(p: float, p_bound: str) -> str:
    return f"p {p_bound} {p:g}" if p_bound != "=" else f"p = {p:g}"


def smd_from_p(p: float, n1: float, n2: float, sign: int, *, p_bound: str = "=") -> FromP:
    """Hedges' g and its variance from the two-sided p of a two-sample t test.

    Parameters
    ----------
    p : float
        Two-sided p value (or its bound).
    n1, n2 : float
        Group sizes (intervention, comparator), >= 2 each.
    sign : {+1, -1}
        Sign of the mean difference group 1 - group 2, from the reported direction.
    p_bound : {"=", "<", ">"}
        How p was reported.

    Returns
    -------
    FromP
        The SMD (metafor's ``SMD``: bias-corrected g) :cite:`hedges1981distribution`.
    """
    _check_p(p, p_bound)
    _check_sign(sign)
    _check_n("n1", n1, 2)
    _check_n("n2", n2, 2)
    t = t_from_p(p, n1 + n2 - 2)
    d = sign * t * math.sqrt(1 / n1 + 1 / n2)
    g = _cmicalc(n1 + n2 - 2) * d
    bound = _EFFECT_BOUND[p_bound]
    vi = 1 / n1 + 1 / n2 + g**2 / (2 * (n1 + n2)) if bound == "=" else math.nan
    how = (
        f"derived from p: two-sample t test, {_bound_words(p, p_bound)} (two-sided), "
        f"n1 = {n1:g}, n2 = {n2:g}: |t({n1 + n2 - 2:g})| = {t:.4g}, "
        f"d = t·√(1/n1 + 1/n2), Hedges' g = J·d"
    )
    if bound != "=":
        how += f"; the p value is bounded, so |g| {bound} {abs(g):.4g} is a bound, not a value"
    return FromP(g, vi, bound, "SMD", how)


def smcc_from_p(p: float, n: float, sign: int, *, p_bound: str = "=") -> FromP:
    """Standardised mean change (metafor ``SMCC``) from the two-sided p of a paired t test.

    SMCC is standardised by the SD of the change scores, which the paired t statistic
    already contains (:math:`d_z = t/\\sqrt n`), so no pre-post correlation is needed.

    Parameters
    ----------
    p : float
        Two-sided p value (or its bound).
    n : float
        Participants with both measurements, >= 2.
    sign : {+1, -1}
        Sign of post - pre.
    p_bound : {"=", "<", ">"}

    Examples
    --------
    >>> res = smcc_from_p(0.01, 20, sign=+1)
    >>> round(res.estimate, 4), round(res.variance, 4)
    (0.6141, 0.0594)
    """
    _check_p(p, p_bound)
    _check_sign(sign)
    _check_n("n", n, 3)
    t = t_from_p(p, n - 1)
    y = _cmicalc(n - 1) * sign * t / math.sqrt(n)
    bound = _EFFECT_BOUND[p_bound]
    vi = 1 / n + y**2 / (2 * n) if bound == "=" else math.nan
    how = (
        f"derived from p: paired t test, {_bound_words(p, p_bound)} (two-sided), n = {n:g}: "
        f"|t({n - 1:g})| = {t:.4g}, SMCC = J·t/√n (standardised by the SD of change; "
        "no pre-post r needed)"
    )
    if bound != "=":
        how += f"; the p value is bounded, so |SMCC| {bound} {abs(y):.4g} is a bound, not a value"
    return FromP(y, vi, bound, "SMCC", how)


def smcr_from_smcc(d_z: float, r: float) -> float:
    """Raw-score standardised change from a change-score one: :math:`d_z\\sqrt{2(1-r)}`.

    >>> round(smcr_from_smcc(0.5, 0.5), 4)
    0.5
    """
    if not -1 < r < 1:
        raise UserInputError(f"r = {r!r}: a pre-post correlation must lie in (-1, 1)")
    return d_z * math.sqrt(2 * (1 - r))


def r_from_p(p: float, n: float, sign: int, *, p_bound: str = "=") -> FromP:
    """A correlation from the two-sided p of its t test (df = n - 2).

    The variance given is that of Fisher's z, 1/(n - 3) (metafor ``ZCOR``).
    """
    _check_p(p, p_bound)
    _check_sign(sign)
    _check_n("n", n, 4)
    t = t_from_p(p, n - 2)
    r = sign * t / math.sqrt(t**2 + n - 2)
    bound = _EFFECT_BOUND[p_bound]
    how = (
        f"derived from p: t test of a correlation, {_bound_words(p, p_bound)} (two-sided), "
        f"n = {n:g}: |t({n - 2:g})| = {t:.4g}, r = t/√(t² + n - 2)"
    )
    if bound != "=":
        how += f"; the p value is bounded, so |r| {bound} {abs(r):.4g} is a bound, not a value"
    return FromP(r, 1 / (n - 3) if bound == "=" else math.nan, bound, "COR", how)


def one_sided(p: float, direction: int, *, sided: str = "two-sided") -> float:
    """One-sided p in the favourable direction from a p value and the direction found.

    ``direction`` is +1 (the result favours the intervention), -1 (against) or 0 (no
    difference: taken as exactly null, one-sided p = 0.5). A two-sided p halves in the
    direction found and gives 1 - p/2 against it; a one-sided p is taken as given for
    its own direction.

    >>> one_sided(0.04, +1), one_sided(0.04, -1), one_sided(0.3, 0)
    (0.02, 0.98, 0.5)
    """
    if direction not in (-1, 0, 1):
        raise UserInputError(f"direction = {direction!r}: must be +1, -1 or 0")
    _check_p(p, "=")
    if direction == 0:
        return 0.5
    half = p / 2 if sided == "two-sided" else p
    return half if direction > 0 else 1 - half


def z_from_p(p: float, direction: int, *, sided: str = "two-sided") -> float:
    """The z score of :func:`one_sided`'s p: :math:`z = \\Phi^{-1}(1 - p_1)`.

    Computed from the tail that keeps full precision (sign × Φ⁻¹(1 − p/2)).

    >>> round(z_from_p(0.05, +1), 4), round(z_from_p(0.05, -1), 4)
    (1.96, -1.96)
    """
    from scipy.stats import norm

    if direction not in (-1, 0, 1):
        raise UserInputError(f"direction = {direction!r}: must be +1, -1 or 0")
    _check_p(p, "=")
    if direction == 0:
        return 0.0
    half = p / 2 if sided == "two-sided" else p
    return float(direction * norm.isf(half))
