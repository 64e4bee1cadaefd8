"""Evidence-integrity checks: recompute what a record's numbers imply, flag contradictions.

A study record copies numbers from a paper; a typo in the paper or in the record makes
them contradict each other. :func:`check_evidence` recomputes, for every outcome, what
can be recomputed and reports every inconsistency as a located
:class:`~synthesis.problems.Problem` (file, line, field path, message), with severity

``error``
    the numbers cannot all be right (a decision error, an impossible mean, a count that
    does not give the percentage, an estimate outside its CI). The outcome is not
    pooled (:func:`synthesis.extract.effect_rows`) unless its ``integrity_note`` says
    why the flag does not matter.
``warning``
    an inconsistency that rounding cannot explain but that may have a benign cause (an
    adjusted or exact CI, an analysed subset). Reported only.
``note``
    worth knowing (arms summing to fewer than the population, a check that could not run).

Each message says which numbers disagree, by how much, and what rounding was allowed:
half a unit in the last printed digit of every reported number. The printed digits are
read from the record's YAML text, so ``2.20`` counts two decimals although the float
2.2 has one.

Checks (codes in brackets)
--------------------------
* p value from a reported test statistic (t, F, chi2, z; r with n) as statcheck does
  [nuijten2016prevalence]_: a reported p outside the range the rounded statistic allows
  is a warning [``statcheck-inconsistent``]; if it also changes the decision at
  alpha = .05 (statcheck's "gross inconsistency") it is an error
  [``statcheck-decision``]. ``p = 0`` is counted as inconsistent (write p < .001), as
  statcheck does by default.
* A confidence interval must contain its estimate [``ci-outside``, error] and be
  symmetric about it on the analysis scale [``ci-asymmetric``, warning]: log for OR,
  RR, HR and APR, Fisher's z for r, identity otherwise.
* A reported SE must match the width of the CI [``se-ci``, warning]; a reported SD must
  match the CI of the mean with n (t or normal quantile) [``sd-ci``, warning]; a mean
  change must equal post minus pre [``mean-change``, warning].
* A percentage must follow from the events and n [``percent-events``, error];
  a percentage given without events that no whole count out of n reproduces is
  a warning [``percent-n``] (:mod:`synthesis.extract` already leaves it unpooled).
* GRIM [brown2017grim]_: a mean of ``n`` whole-number answers (``integer_scale: true``,
  ``items`` answers averaged per score) must be a multiple of 1/(n x items) up to
  rounding [``grim``, error].
* A reported d/g/SMD with p and group sizes (an equal split of n assumed and said), or an
  MD/OR/RR/HR with CI or SE and p, must fit the p it implies (:mod:`synthesis.effect_p`)
  [``effect-p``, error].
* Group sizes: n1 + n2 above the population n is a warning, below it a note
  [``arms-total``]; a single-group n above the population n is a warning
  [``n-total``]; a reported total n that differs from n1 + n2 is a warning
  [``n-arms``].

References
----------
.. [nuijten2016prevalence] Nuijten MB, Hartgerink CHJ, van Assen MALM, Epskamp S,
   Wicherts JM (2016). The prevalence of statistical reporting errors in psychology
   (1985-2013). *Behavior Research Methods* 48(4), 1205-1226.
.. [brown2017grim] Brown NJL, Heathers JAJ (2017). The GRIM test: a simple technique
   detects numerous anomalies in the reporting of results in psychology. *Social
   Psychological and Personality Science* 8(4), 363-369.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import chdtrc, fdtrc, ndtr, ndtri, stdtr, stdtrit

from synthesis import records
from synthesis.effect_p import implied_p
from synthesis.errors import UserInputError
from synthesis.problems import Problem, ProblemReport, Severity, format_loc
from synthesis.stats.conversions import events_from_percent
from synthesis.yamlsafe import Located

if TYPE_CHECKING:
    from synthesis.evidence import EvidenceBase

#: Significance level of the decision check (statcheck's default).
ALPHA = 0.05
#: Test statistics :func:`p_from_statistic` knows.
STATISTIC_KINDS = records.STATISTIC_KINDS
#: Reported metrics whose CI is symmetric on the log scale.
RATIO_METRICS = ("OR", "RR", "HR", "APR")

_EPS = 1e-9
Loc = tuple[str | int, ...]

# ----------------------------------------------------------------------------- printed digits

_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.])")


def _token_decimals(token: str) -> int:
    mantissa, _, exponent = token.lower().partition("e")
    frac = mantissa.split(".")[1] if "." in mantissa else ""
    return max(0, len(frac) - (int(exponent) if exponent else 0))


def decimals_of(value: float | str) -> int:
    """Number of decimals of a number as printed.

    Parameters
    ----------
    value : float or str
        A string keeps trailing zeros (``"2.20"`` has 2 decimals); a float is read from
        its shortest representation (``2.2`` has 1).

    Returns
    -------
    int

    Raises
    ------
    UserInputError
        If ``value`` is not a finite number or numeric string.
    """
    if isinstance(value, str):
        text = value.strip().rstrip("%").strip()
        if not _NUMBER.fullmatch(text):
            raise UserInputError(f"value = {value!r}: not a number as printed (e.g. '2.20')")
        return _token_decimals(text.lstrip("+-"))
    number = _finite("value", value)
    text = np.format_float_positional(number, trim="-")
    return _token_decimals(text.lstrip("-"))


def _finite(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number | str):
        raise UserInputError(f"{name} = {value!r}: must be a number")
    try:
        number = float(value)
    except ValueError:
        raise UserInputError(f"{name} = {value!r}: not a number") from None
    if not math.isfinite(number):
        raise UserInputError(f"{name} = {value!r}: must be finite")
    return number


def _half(decimals: int) -> float:
    """Half a unit in the last printed digit: the rounding a printed number allows."""
    return 0.5 * 10.0 ** (-decimals)


def _resolve_decimals(value: float | str, decimals: int | None, name: str = "decimals") -> int:
    if decimals is None:
        return decimals_of(value)
    if isinstance(decimals, bool) or not isinstance(decimals, int | np.integer) or decimals < 0:
        raise UserInputError(f"{name} = {decimals!r}: must be a whole number >= 0")
    return int(decimals)


def _fmt(x: float, decimals: int | None = None) -> str:
    if decimals is not None:
        return f"{x:.{decimals}f}"
    return f"{x:.4g}" if abs(x) >= 1e-4 or x == 0 else f"{x:.2e}"


# ----------------------------------------------------------------------------- p values


def _check_statistic(kind: str, df: float | None, df2: float | None, two_sided: bool) -> None:
    if kind not in STATISTIC_KINDS:
        raise UserInputError(f"kind = {kind!r}: allowed values are {', '.join(STATISTIC_KINDS)}")
    for name, d in (("df", df), ("df2", df2)):
        if d is not None and not (_finite(name, d) > 0):
            raise UserInputError(f"{name} = {d!r}: degrees of freedom must be positive")
    if kind == "F" and (df is None or df2 is None):
        raise UserInputError("an F statistic needs df and df2: F(df, df2)")
    if kind in ("t", "chi2", "r") and df is None:
        hint = " (df = n - 2 for a correlation)" if kind == "r" else ""
        raise UserInputError(f"a {kind} statistic needs df{hint}")
    if kind == "z" and df is not None:
        raise UserInputError(f"df = {df!r}: a z statistic has no degrees of freedom")
    if kind != "F" and df2 is not None:
        raise UserInputError(f"df2 = {df2!r}: only an F statistic has df2")
    if kind in ("F", "chi2") and not two_sided:
        raise UserInputError(f"two_sided = False applies to t, z and r tests, not {kind}")


def _p_at(kind: str, x: float, df: float | None, df2: float | None, two_sided: bool) -> float:
    """p of a non-negative statistic (|t|, |z|, |r|, F, chi2); arguments already checked."""
    if kind == "r":
        if x >= 1:
            return 0.0
        x = x * math.sqrt(float(df) / (1 - x * x))  # type: ignore[arg-type]
        kind = "t"
    if kind == "t":
        p = 2 * float(stdtr(float(df), -x))  # type: ignore[arg-type]
    elif kind == "z":
        p = 2 * float(ndtr(-x))
    elif kind == "F":
        return float(fdtrc(float(df), float(df2), x))  # type: ignore[arg-type]
    else:
        return float(chdtrc(float(df), x))  # type: ignore[arg-type]
    return p if two_sided else p / 2


def p_from_statistic(
    kind: str,
    value: float | str,
    df: float | None = None,
    df2: float | None = None,
    two_sided: bool = True,
) -> float:
    r"""The p value of a test statistic, as statcheck recomputes it [nuijten2016prevalence]_.

    t: :math:`2\,P(T_{df} > |t|)`; z: :math:`2\,P(Z > |z|)`; r with df = n - 2: the t
    test of :math:`t = r\sqrt{df/(1 - r^2)}`; F: :math:`P(F_{df,df2} > F)`; chi2:
    :math:`P(\chi^2_{df} > x)`. A one-sided t, z or r test halves the two-sided p.

    Parameters
    ----------
    kind : {"t", "F", "chi2", "z", "r"}
    value : float or str
        The statistic (its sign does not matter for t, z and r).
    df, df2 : float, optional
        Degrees of freedom: t(df), chi2(df), r(df), F(df, df2); none for z.
    two_sided : bool, default True
        False for a one-sided t, z or r test.

    Returns
    -------
    float

    Raises
    ------
    UserInputError
        For an unknown kind, missing or non-positive df, a negative F or chi2, or
        ``|r| > 1``.

    Examples
    --------
    >>> round(p_from_statistic("t", 2.20, 28), 4)
    0.0362
    """
    _check_statistic(kind, df, df2, two_sided)
    x = _finite("value", value)
    if kind in ("F", "chi2") and x < 0:
        raise UserInputError(f"value = {value!r}: an {kind} statistic cannot be negative")
    if kind == "r" and abs(x) > 1:
        raise UserInputError(f"value = {value!r}: a correlation must lie in [-1, 1]")
    return _p_at(kind, abs(x), df, df2, two_sided)


def p_range_from_rounded(
    kind: str,
    value: float | str,
    df: float | None = None,
    df2: float | None = None,
    two_sided: bool = True,
    decimals: int | None = None,
) -> tuple[float, float]:
    """Smallest and largest p a rounded statistic allows [nuijten2016prevalence]_.

    A statistic printed with ``d`` decimals lies within half a unit in its last digit
    (2.20 within [2.195, 2.205]); p is monotone in the statistic, so the ends of that
    interval give the ends of the p range.

    Parameters
    ----------
    kind, value, df, df2, two_sided
        As in :func:`p_from_statistic`.
    decimals : int, optional
        Decimals the statistic was printed with; by default those of ``value`` (pass
        the value as a string, ``"2.20"``, to keep trailing zeros).

    Returns
    -------
    (float, float)
        ``(p_low, p_high)``.

    Raises
    ------
    UserInputError
        As :func:`p_from_statistic`, or for a negative ``decimals``.
    """
    p_from_statistic(kind, value, df, df2, two_sided)  # validates the arguments
    dec = _resolve_decimals(value, decimals)
    h = _half(dec)
    x = abs(_finite("value", value))
    low, high = max(0.0, x - h), x + h
    if kind == "r":
        high = min(1.0, high)
    return _p_at(kind, high, df, df2, two_sided), _p_at(kind, low, df, df2, two_sided)


@dataclass(frozen=True)
class PCheck:
    """A reported p value compared with the p recomputed from its statistic.

    Attributes
    ----------
    p, p_low, p_high : float
        The recomputed p and its range for the rounded statistic.
    consistent : bool
        The reported p (with its rounding, or as a bound) fits the recomputed range.
    decision_error : bool
        Inconsistent and on the other side of alpha (statcheck's gross inconsistency).
    gap : float
        How far the reported p (allowing its rounding) lies from the recomputed range.
    """

    p: float
    p_low: float
    p_high: float
    consistent: bool
    decision_error: bool
    gap: float


def _reported_significant(p: float, bound: str, alpha: float) -> bool | None:
    """statcheck's reading (``pEqualAlphaSig``): p <= alpha is significant."""
    if bound == "=":
        return p <= alpha
    if bound == "<":
        return True if p <= alpha else None
    return False if p >= alpha else None


def _computed_significant(p_low: float, p_high: float, alpha: float) -> bool | None:
    if p_high <= alpha:
        return True
    if p_low > alpha:
        return False
    return None


def check_p(
    kind: str,
    value: float | str,
    p: float | str,
    p_bound: str = "=",
    *,
    df: float | None = None,
    df2: float | None = None,
    two_sided: bool = True,
    decimals: int | None = None,
    p_decimals: int | None = None,
    alpha: float = ALPHA,
) -> PCheck:
    """Is a reported p consistent with its test statistic? [nuijten2016prevalence]_.

    The statistic's rounding gives a range of p (:func:`p_range_from_rounded`). An
    exact p (``p_bound="="``) is consistent when it lies in that range allowing half a
    unit in its own last printed digit; ``p < bound`` when some p of the range is below
    the bound; ``p > bound`` when some is above. ``p = 0`` is inconsistent (a p value is
    never zero). A decision error is an inconsistency for which the reported and the
    recomputed p fall on different sides of ``alpha`` (p <= alpha significant).

    Parameters
    ----------
    kind, value, df, df2, two_sided, decimals
        The statistic, as in :func:`p_range_from_rounded`.
    p : float or str
        The reported p value or bound, in [0, 1].
    p_bound : {"=", "<", ">"}, default "="
    p_decimals : int, optional
        Decimals ``p`` was printed with (default: those of ``p``).
    alpha : float, default 0.05

    Returns
    -------
    PCheck

    Raises
    ------
    UserInputError
        For bad statistic arguments, p outside [0, 1], an unknown bound or alpha
        outside (0, 1).
    """
    if p_bound not in ("=", "<", ">"):
        raise UserInputError(f"p_bound = {p_bound!r}: allowed values are '=', '<', '>'")
    pv = _finite("p", p)
    if not 0 <= pv <= 1:
        raise UserInputError(f"p = {p!r}: a p value must lie in [0, 1]")
    if not 0 < _finite("alpha", alpha) < 1:
        raise UserInputError(f"alpha = {alpha!r}: must lie in (0, 1)")
    p_low, p_high = p_range_from_rounded(kind, value, df, df2, two_sided, decimals)
    computed = p_from_statistic(kind, value, df, df2, two_sided)
    if p_bound == "=":
        hp = _half(_resolve_decimals(p, p_decimals, "p_decimals"))
        gap = max(p_low - (pv + hp), (pv - hp) - p_high, 0.0)
        consistent = gap <= _EPS and pv > 0
    elif p_bound == "<":
        gap = max(p_low - pv, 0.0)
        consistent = p_low < pv
    else:
        gap = max(pv - p_high, 0.0)
        consistent = p_high > pv
    reported = _reported_significant(pv, p_bound, alpha)
    recomputed = _computed_significant(p_low, p_high, alpha)
    decision = (
        not consistent
        and reported is not None
        and recomputed is not None
        and reported != recomputed
    )
    return PCheck(computed, p_low, p_high, consistent, decision, gap)


# ----------------------------------------------------------------------------- GRIM


def grim_consistent(mean: float | str, n: int, items: int = 1, decimals: int | None = None) -> bool:
    """GRIM: can ``n`` whole-number scores (each a mean of ``items`` answers) give ``mean``?

    The sum of ``n x items`` whole-number answers is a whole number ``S``, so the mean
    is ``S / (n x items)``; the printed mean must be within half a unit in its last
    digit of such a fraction [brown2017grim]_. When ``n x items >= 10**decimals`` every
    printed mean is possible and the test cannot fail.

    Parameters
    ----------
    mean : float or str
        The reported mean (a string keeps trailing zeros: ``"5.10"``).
    n : int
        Participants behind the mean, ``>= 1``.
    items : int, default 1
        Answers averaged per participant's score (1 when the score is a total).
    decimals : int, optional
        Decimals the mean was printed with (default: those of ``mean``).

    Returns
    -------
    bool

    Raises
    ------
    UserInputError
        If ``n`` or ``items`` is not a whole number >= 1, or ``mean`` is not finite.

    Examples
    --------
    >>> grim_consistent(5.19, 28)  # 145/28 = 5.1786, 146/28 = 5.2143
    False
    """
    return _grim(mean, n, items, decimals)[0]


def _whole(name: str, value: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise UserInputError(f"{name} = {value!r}: must be a whole number >= 1")
    return int(value)


def _grim(
    mean: float | str, n: int, items: int, decimals: int | None
) -> tuple[bool, float, float, int]:
    """(consistent, nearest possible mean below, above, decimals)."""
    m = _finite("mean", mean)
    total = _whole("n", n) * _whole("items", items)
    dec = _resolve_decimals(mean, decimals)
    h = _half(dec)
    s = m * total
    below, above = math.floor(s + _EPS) / total, math.ceil(s - _EPS) / total
    ok = min(abs(below - m), abs(above - m)) <= h * (1 + _EPS) + 1e-12
    return ok, below, above, dec


# ----------------------------------------------------------------------------- CIs


def _transform(scale: str) -> Callable[[float], float]:
    return {"identity": lambda x: x, "log": math.log, "fisher-z": math.atanh}[scale]


def _ci_decimals(
    values: tuple[float | str, float | str, float | str], decimals: int | Sequence[int] | None
) -> tuple[int, int, int]:
    if decimals is None:
        return tuple(decimals_of(v) for v in values)  # type: ignore[return-value]
    if isinstance(decimals, int | np.integer) and not isinstance(decimals, bool):
        d = _resolve_decimals(values[0], int(decimals))
        return d, d, d
    if isinstance(decimals, Sequence) and len(decimals) == 3:
        return tuple(_resolve_decimals(v, d) for v, d in zip(values, decimals, strict=True))  # type: ignore[return-value]
    raise UserInputError(
        f"decimals = {decimals!r}: give one whole number, or three (estimate, lower, upper)"
    )


def _ci_scale(log: bool, fisher_z: bool) -> str:
    if log and fisher_z:
        raise UserInputError("log and fisher_z cannot both be true: choose one scale")
    return "log" if log else "fisher-z" if fisher_z else "identity"


@dataclass(frozen=True)
class CICheck:
    """An estimate compared with the midpoint of its CI on the analysis scale.

    Attributes
    ----------
    scale : str
        "identity", "log" or "fisher-z".
    midpoint : float
        The CI's midpoint on that scale, back-transformed.
    contains : bool
        The estimate lies within the CI (allowing rounding).
    symmetric : bool
        The estimate's rounding interval meets the midpoint's.
    gap : float
        Distance on the analysis scale between the two intervals (0 when symmetric).
    """

    scale: str
    midpoint: float
    contains: bool
    symmetric: bool
    gap: float


def check_ci(
    estimate: float | str,
    lo: float | str,
    hi: float | str,
    log: bool = False,
    decimals: int | Sequence[int] | None = None,
    *,
    fisher_z: bool = False,
) -> CICheck:
    """Compare an estimate with its confidence interval; see :func:`ci_symmetric`.

    Raises
    ------
    UserInputError
        If ``lo > hi``, a bound is not positive on the log scale or outside (-1, 1) on
        Fisher's z scale, or the decimals are bad.
    """
    scale = _ci_scale(log, fisher_z)
    e, a, b = _finite("estimate", estimate), _finite("lo", lo), _finite("hi", hi)
    if a > b:
        raise UserInputError(f"lo = {lo!r} exceeds hi = {hi!r}: give the CI as (lower, upper)")
    de, da, db = _ci_decimals((estimate, lo, hi), decimals)
    he, ha, hb = _half(de), _half(da), _half(db)
    contains = a - ha - _EPS <= e <= b + hb + _EPS
    if scale == "log" and min(e, a) <= 0:
        raise UserInputError("log = True needs a positive estimate and CI (a ratio measure)")
    if scale == "fisher-z" and not (a > -1 and b < 1 and -1 < e < 1):
        raise UserInputError("fisher_z = True needs an estimate and CI inside (-1, 1)")
    f = _transform(scale)

    def clip(x: float) -> float:
        if scale == "log":
            return max(x, 1e-300)
        if scale == "fisher-z":
            return min(max(x, -1 + 1e-15), 1 - 1e-15)
        return x

    est_lo, est_hi = f(clip(e - he)), f(clip(e + he))
    mid_lo = (f(clip(a - ha)) + f(clip(b - hb))) / 2
    mid_hi = (f(clip(a + ha)) + f(clip(b + hb))) / 2
    gap = max(mid_lo - est_hi, est_lo - mid_hi, 0.0)
    mid = (f(a) + f(b)) / 2
    back = {"identity": mid, "log": math.exp(mid), "fisher-z": math.tanh(mid)}[scale]
    return CICheck(scale, back, contains, gap <= _EPS, gap)


def ci_symmetric(
    estimate: float | str,
    lo: float | str,
    hi: float | str,
    log: bool = False,
    decimals: int | Sequence[int] | None = None,
    *,
    fisher_z: bool = False,
) -> bool:
    """Is the estimate the midpoint of its CI on the analysis scale, up to rounding?

    A normal-theory CI is ``estimate +/- z x SE`` on the scale of analysis: the log
    scale for ratios (OR, RR, HR), Fisher's z for a correlation, the identity
    otherwise [higgins2023cochrane]_ (6.3). Each printed number may be off by half a
    unit in its last digit; the check passes when the estimate's rounding interval
    meets the interval of possible midpoints. Exact, profile-likelihood or bootstrap
    CIs may be legitimately asymmetric.

    Parameters
    ----------
    estimate, lo, hi : float or str
        The estimate and the CI bounds as printed (strings keep trailing zeros).
    log : bool, default False
        Analyse on the log scale (ratio measures).
    decimals : int or sequence of 3 int, optional
        Printed decimals of estimate, lower and upper (default: as printed).
    fisher_z : bool, default False
        Analyse on Fisher's z scale (correlations).

    Returns
    -------
    bool

    Raises
    ------
    UserInputError
        See :func:`check_ci`.

    Examples
    --------
    >>> ci_symmetric(4.14, 1.58, 10.86, log=True)  # sqrt(1.58 x 10.86) = 4.142
    True
    """
    return check_ci(estimate, lo, hi, log, decimals, fisher_z=fisher_z).symmetric


# ----------------------------------------------------------------------------- SD, SE, %


def sd_range_from_ci(
    lo: float | str,
    hi: float | str,
    n: int,
    level: float = 95.0,
    decimals: int | Sequence[int] | None = None,
) -> tuple[float, float]:
    r"""Range of the SD a rounded CI of a mean implies, t or normal quantile.

    :math:`\mathrm{SD} = \sqrt{n}\,(u - l) / (2q)` [higgins2023cochrane]_ (6.5.2.2),
    with :math:`q` the t quantile on n - 1 df (the smaller SD) or the normal one (the
    larger), the width widened and narrowed by the bounds' rounding.

    Parameters
    ----------
    lo, hi : float or str
        CI bounds of the mean, ``lo < hi``.
    n : int
        Group size, ``>= 2``.
    level : float, default 95
        Confidence level in percent.
    decimals : int or sequence of 2 int, optional
        Printed decimals of the bounds (default: as printed).

    Returns
    -------
    (float, float)

    Raises
    ------
    UserInputError
        For ``lo >= hi``, ``n < 2`` or a level outside (0, 100).
    """
    a, b = _finite("lo", lo), _finite("hi", hi)
    if not a < b:
        raise UserInputError(f"lo = {lo!r}, hi = {hi!r}: needs lo < hi")
    nn = _whole("n", n)
    if nn < 2:
        raise UserInputError(f"n = {n!r}: an SD needs n >= 2")
    q = _quantile(level)
    if decimals is None:
        da, db = decimals_of(lo), decimals_of(hi)
    elif isinstance(decimals, Sequence):
        if len(decimals) != 2:
            raise UserInputError(f"decimals = {decimals!r}: give one number or two (lo, hi)")
        da, db = (_resolve_decimals(v, d) for v, d in zip((lo, hi), decimals, strict=True))
    else:
        da = db = _resolve_decimals(lo, decimals)
    w_lo = max((b - _half(db)) - (a + _half(da)), 0.0)
    w_hi = (b + _half(db)) - (a - _half(da))
    q_t, q_z = float(stdtrit(nn - 1, q)), float(ndtri(q))
    return math.sqrt(nn) * w_lo / (2 * q_t), math.sqrt(nn) * w_hi / (2 * q_z)


def _quantile(level: float) -> float:
    lv = _finite("level", level)
    if not 1 <= lv < 100:
        raise UserInputError(f"level = {level!r}: a confidence level in percent, e.g. 95")
    return 1 - (1 - lv / 100) / 2


def sd_consistent_with_ci(
    sd: float | str,
    lo: float | str,
    hi: float | str,
    n: int,
    level: float = 95.0,
    decimals: int | None = None,
) -> bool:
    """Does a reported SD match the CI of the mean with n (:func:`sd_range_from_ci`)?

    Parameters
    ----------
    sd : float or str
        The reported SD, > 0.
    lo, hi, n, level
        As in :func:`sd_range_from_ci`.
    decimals : int, optional
        Printed decimals of the SD (default: as printed); the bounds' are read from them.

    Returns
    -------
    bool

    Raises
    ------
    UserInputError
        For a non-positive SD, or bad CI arguments.
    """
    s = _finite("sd", sd)
    if s <= 0:
        raise UserInputError(f"sd = {sd!r}: an SD must be positive")
    low, high = sd_range_from_ci(lo, hi, n, level)
    h = _half(_resolve_decimals(sd, decimals))
    return s + h >= low - _EPS and s - h <= high + _EPS


def se_range_from_ci(
    lo: float | str,
    hi: float | str,
    level: float = 95.0,
    log: bool = False,
    decimals: int | Sequence[int] | None = None,
) -> tuple[float, float]:
    r"""Range of the SE a rounded normal-theory CI implies: :math:`(u - l)/(2z)`.

    On the log scale for ratio measures (``log=True``) [higgins2023cochrane]_ (6.3.2).

    Raises
    ------
    UserInputError
        For ``lo >= hi``, non-positive bounds with ``log=True``, or a bad level.
    """
    a, b = _finite("lo", lo), _finite("hi", hi)
    if not a < b:
        raise UserInputError(f"lo = {lo!r}, hi = {hi!r}: needs lo < hi")
    if log and a <= 0:
        raise UserInputError(f"lo = {lo!r}: log = True needs positive bounds")
    z = float(ndtri(_quantile(level)))
    if decimals is None:
        da, db = decimals_of(lo), decimals_of(hi)
    elif isinstance(decimals, Sequence):
        da, db = (_resolve_decimals(v, d) for v, d in zip((lo, hi), decimals, strict=True))
    else:
        da = db = _resolve_decimals(lo, decimals)
    f = _transform("log" if log else "identity")
    a_lo, a_hi = a - _half(da), a + _half(da)
    if log:
        a_lo = max(a_lo, 1e-300)
    w_lo = max(f(b - _half(db)) - f(a_hi), 0.0)
    w_hi = f(b + _half(db)) - f(a_lo)
    return w_lo / (2 * z), w_hi / (2 * z)


def percent_consistent(
    events: int | float, n: int, percent: float | str, decimals: int | None = None
) -> bool:
    """Does ``events / n`` round to the printed percentage?

    Parameters
    ----------
    events : int or float
        Count, ``0 <= events <= n`` (a whole float such as ``12.0`` counts as 12).
    n : int
        Denominator, ``>= 1``.
    percent : float or str
        The percentage as printed (a string keeps trailing zeros: ``"12.50"``).
    decimals : int, optional
        Printed decimals of the percentage (default: as printed).

    Returns
    -------
    bool

    Raises
    ------
    UserInputError
        For counts that are not whole, ``events > n`` or a percentage outside [0, 100].
    """
    nn = _whole("n", n)
    if isinstance(events, float) and events.is_integer():
        events = int(events)
    if isinstance(events, bool) or not isinstance(events, int | np.integer) or events < 0:
        raise UserInputError(f"events = {events!r}: must be a whole number >= 0")
    if events > nn:
        raise UserInputError(f"events = {events} exceeds n = {nn}")
    pct = _finite("percent", percent)
    if not 0 <= pct <= 100:
        raise UserInputError(f"percent = {percent!r}: must lie in [0, 100]")
    h = _half(_resolve_decimals(percent, decimals))
    return abs(100 * int(events) / nn - pct) <= h * (1 + _EPS) + 1e-12


# ----------------------------------------------------------------------------- record text


@dataclass(frozen=True)
class RecordSource:
    """A record's file name and located YAML (field lines, numbers as printed)."""

    file: str
    located: Located | None = None

    def line(self, loc: Loc) -> int | None:
        """Line of ``loc`` (or its nearest located ancestor)."""
        return self.located.line_of(loc) if self.located is not None else None

    def decimals(self, loc: Loc, value: float) -> int:
        """Decimals of the number at ``loc`` as printed in the file (else as the float)."""
        if self.located is not None:
            for path in ((*loc, "value"), loc):
                text = self.located.printed_at(path)
                if text is None:
                    continue
                try:
                    if float(text.strip().rstrip("%")) == value:
                        return decimals_of(text)
                except (ValueError, UserInputError):
                    continue
        return decimals_of(value)


def record_source(base: EvidenceBase, study_id: str) -> RecordSource:
    """A study record's file and its located YAML, as kept at load (the file is not read)."""
    file = base.files.get(study_id, f"evidence/studies/{study_id}.yaml")
    return RecordSource(file, base.sources.get(study_id))


# ----------------------------------------------------------------------------- one outcome


class _OutcomeChecker:
    """Every integrity check of one outcome; flags are located Problems."""

    def __init__(self, study: records.Study, index: int, source: RecordSource) -> None:
        self.study = study
        self.index = index
        self.outcome = study.outcomes[index]
        self.source = source
        self.base: Loc = ("outcomes", index, "data")
        self.flags: list[Problem] = []
        self.comparisons = 0

    # -- helpers
    def add(self, severity: Severity, loc: Loc, message: str, code: str) -> None:
        self.flags.append(
            Problem(
                severity, self.source.file, self.source.line(loc), format_loc(loc), message, code
            )
        )

    def at(self, *parts: str | int) -> Loc:
        return (*self.base, *parts)

    def dec(self, loc: Loc, value: float) -> int:
        return self.source.decimals(loc, value)

    # -- p values
    def p_value(
        self,
        stat: tuple[str, float, float | None, float | None, bool, int, str] | None,
        p: records.Num | None,
        bound: str,
        significant: bool | None = None,
    ) -> None:
        """stat = (kind, value, df, df2, two_sided, decimals, text for messages)."""
        if p is not None and not 0 <= p.value <= 1:
            self.add("error", self.at("p"), f"p = {p.value:g} is not a p value (0 to 1)", "p-range")
            return
        if stat is None or (p is None and significant is None):
            return
        kind, value, df, df2, two_sided, dec, text = stat
        try:
            p_low, p_high = p_range_from_rounded(kind, value, df, df2, two_sided, dec)
            computed = p_from_statistic(kind, value, df, df2, two_sided)
        except UserInputError as exc:
            self.add("note", self.at("statistic"), f"p not recomputed: {exc}", "statcheck-input")
            return
        self.comparisons += 1
        sides = "" if two_sided else ", one-sided"
        h = _half(dec)
        recomputed = (
            f"{text} gives p = {_fmt(computed)}{sides} ({_fmt(p_low)} to {_fmt(p_high)} for "
            f"the statistic rounded to ±{_fmt(h)})"
        )
        if p is None:  # narrative: significance stated in words only
            sig = _computed_significant(p_low, p_high, ALPHA)
            if sig is not None and sig != significant:
                said = "significant" if significant else "not significant"
                self.add(
                    "error",
                    self.at("significant"),
                    f"decision error: the result is reported {said}, but {recomputed}, "
                    f"{'below' if sig else 'above'} alpha = {ALPHA:g} "
                    "(statcheck gross inconsistency)",
                    "statcheck-decision",
                )
            return
        p_dec = self.dec(self.at("p"), p.value)
        result = check_p(
            kind, value, p.value, bound, df=df, df2=df2, two_sided=two_sided, decimals=dec,
            p_decimals=p_dec,
        )  # fmt: skip
        if result.consistent:
            return
        if bound == "=":
            said = f"p = {_fmt(p.value, p_dec)} (±{_fmt(_half(p_dec))} for its rounding)"
        else:
            said = f"p {bound} {_fmt(p.value, p_dec)}"
        if p.value == 0 and bound == "=":
            why = "a p value is never 0 (write p < .001)"
        else:
            why = f"it lies {_fmt(result.gap)} outside the recomputed range"
        if result.decision_error:
            reported = _reported_significant(p.value, bound, ALPHA)
            self.add(
                "error",
                self.at("p"),
                f"decision error: reported {said} is "
                f"{'significant' if reported else 'not significant'} at {ALPHA:g} but "
                f"{recomputed} is {'not ' if reported else ''}significant; {why} "
                "(statcheck gross inconsistency)",
                "statcheck-decision",
            )
        else:
            self.add(
                "warning",
                self.at("p"),
                f"reported {said} does not match: {recomputed}; {why}",
                "statcheck-inconsistent",
            )

    def statistic_of(
        self, data: Any, r: records.Num | None = None, n: records.Num | None = None
    ) -> tuple[str, float, float | None, float | None, bool, int, str] | None:
        st: records.Statistic | None = getattr(data, "statistic", None)
        if st is not None:
            df = st.df
            if st.kind == "r" and df is None:
                if n is None:
                    self.add(
                        "note",
                        self.at("statistic"),
                        "p not recomputed: an r statistic needs df (n - 2) or the data's n",
                        "statcheck-input",
                    )
                    return None
                df = n.value - 2
            dec = self.dec(self.at("statistic", "value"), st.value)
            value = _fmt(st.value, dec)
            if st.kind == "F":
                text = f"F({st.df:g}, {st.df2:g}) = {value}"
            elif st.kind == "z":
                text = f"z = {value}"
            else:
                text = f"{'χ²' if st.kind == 'chi2' else st.kind}({df:g}) = {value}"
            return st.kind, st.value, df, st.df2, st.two_sided, dec, text
        if r is not None and n is not None and n.value > 2:
            loc = self.at("estimate") if isinstance(data, records.ReportedEffect) else self.at("r")
            dec = self.dec(loc, r.value)
            text = f"r = {_fmt(r.value, dec)} with n = {n.value:g} (t test on {n.value - 2:g} df)"
            return "r", r.value, n.value - 2, None, True, dec, text
        return None

    # -- confidence intervals
    def ci(
        self,
        est: records.Num | None,
        ci: tuple[records.Num, records.Num] | None,
        est_loc: Loc,
        ci_loc: Loc,
        scale: str,
        what: str,
    ) -> None:
        if est is None or ci is None:
            return
        e, a, b = est.value, ci[0].value, ci[1].value
        decs = (
            self.dec(est_loc, e),
            self.dec((*ci_loc, 0), a),
            self.dec((*ci_loc, 1), b),
        )
        try:
            res = check_ci(e, a, b, scale == "log", decs, fisher_z=scale == "fisher-z")
        except UserInputError:
            return  # order and range problems are validation's
        self.comparisons += 1
        shown_ci = f"[{_fmt(a, decs[1])}, {_fmt(b, decs[2])}]"
        shown_e = _fmt(e, decs[0])
        if not res.contains:
            self.add(
                "error",
                est_loc,
                f"{what} {shown_e} lies outside its confidence interval {shown_ci} "
                "(rounding of the bounds allowed)",
                "ci-outside",
            )
            return
        if not res.symmetric:
            on = {"identity": "", "log": " on the log scale", "fisher-z": " on Fisher's z scale"}
            self.add(
                "warning",
                est_loc,
                f"{what} {shown_e} is not the midpoint{on[scale]} of its CI {shown_ci} "
                f"(midpoint {_fmt(res.midpoint)}; off by {_fmt(res.gap)}{on[scale]} beyond "
                f"the rounding of ±{_fmt(_half(decs[0]))} on the estimate and "
                f"±{_fmt(_half(decs[1]))}/±{_fmt(_half(decs[2]))} on the bounds); "
                "a typo, or an exact/bootstrap/profile CI",
                "ci-asymmetric",
            )

    def sd_vs_ci(
        self,
        sd: records.Num | None,
        ci: tuple[records.Num, records.Num] | None,
        n: records.Num | None,
        sd_name: str,
        ci_name: str,
        level: float,
    ) -> None:
        if sd is None or ci is None or n is None or n.value < 2 or not n.value.is_integer():
            return
        a, b = ci[0].value, ci[1].value
        decs = (self.dec(self.at(ci_name, 0), a), self.dec(self.at(ci_name, 1), b))
        try:
            low, high = sd_range_from_ci(a, b, int(n.value), level, decs)
        except UserInputError:
            return
        self.comparisons += 1
        sdd = self.dec(self.at(sd_name), sd.value)
        h = _half(sdd)
        if sd.value + h >= low - _EPS and sd.value - h <= high + _EPS:
            return
        q = _quantile(level)
        t_sd = math.sqrt(n.value) * (b - a) / (2 * float(stdtrit(n.value - 1, q)))
        z_sd = math.sqrt(n.value) * (b - a) / (2 * float(ndtri(q)))
        self.add(
            "warning",
            self.at(sd_name),
            f"SD {_fmt(sd.value, sdd)} (±{_fmt(h)}) does not match the {level:g}% CI "
            f"[{_fmt(a, decs[0])}, {_fmt(b, decs[1])}] with n = {n.value:g}, which implies "
            f"SD {_fmt(t_sd)} (t) to {_fmt(z_sd)} (normal), {_fmt(low)} to {_fmt(high)} "
            "allowing the bounds' rounding; is the interval a CI of the mean (not a range "
            "or SD band), and n the right one?",
            "sd-ci",
        )

    # -- GRIM
    def grim(self, mean: records.Num | None, n: records.Num | None, name: str, items: int) -> None:
        if mean is None or n is None or n.value < 1 or not n.value.is_integer():
            return
        loc = self.at(name)
        dec = self.dec(loc, mean.value)
        ok, below, above, _ = _grim(mean.value, int(n.value), items, dec)
        self.comparisons += 1
        if ok:
            return
        total = int(n.value) * items
        per = f"n = {n.value:g}" + (f" x {items} items" if items > 1 else "")
        self.add(
            "error",
            loc,
            f"GRIM: mean {_fmt(mean.value, dec)} (±{_fmt(_half(dec))}) is impossible for "
            f"whole-number scores with {per}: {_fmt(mean.value, dec)} x {total} = "
            f"{mean.value * total:.4g} is not a whole number; the nearest possible means "
            f"are {round(below * total)}/{total} = {below:.{dec + 2}f} and "
            f"{round(above * total)}/{total} = {above:.{dec + 2}f}",
            "grim",
        )

    # -- sizes
    def arms(self, n1: records.Num | None, n2: records.Num | None, loc: Loc) -> None:
        total = self.study.population.n
        if n1 is None or n2 is None or total is None:
            return
        s = n1.value + n2.value
        self.comparisons += 1
        if s > total.value:
            self.add(
                "warning",
                loc,
                f"group sizes n1 + n2 = {n1.value:g} + {n2.value:g} = {s:g} exceed the "
                f"population n = {total.value:g} by {s - total.value:g}",
                "arms-total",
            )
        elif s < total.value:
            self.add(
                "note",
                loc,
                f"group sizes n1 + n2 = {s:g} are {total.value - s:g} fewer than the "
                f"population n = {total.value:g} (an analysed subset?)",
                "arms-total",
            )

    def single_n(self, n: records.Num | None) -> None:
        total = self.study.population.n
        if n is None or total is None:
            return
        self.comparisons += 1
        if n.value > total.value:
            self.add(
                "warning",
                self.at("n"),
                f"n = {n.value:g} exceeds the population n = {total.value:g} by "
                f"{n.value - total.value:g}",
                "n-total",
            )

    # -- data kinds
    def run(self) -> list[Problem]:
        d = self.outcome.data
        if isinstance(d, records.Correlation):
            self.p_value(self.statistic_of(d, d.r, d.n), d.p, d.p_bound)
            self.single_n(d.n)
        elif isinstance(d, records.ReportedEffect):
            self.reported_effect(d)
        elif isinstance(d, records.Narrative):
            stat = self.statistic_of(d)
            self.p_value(stat, d.p, d.p_bound, d.significant if d.p is None else None)
        elif isinstance(d, records.PrePost):
            self.pre_post(d)
        elif isinstance(d, records.Proportion):
            self.proportion(d)
            self.single_n(d.n)
        elif isinstance(d, records.TwoGroupContinuous):
            if d.integer_scale:
                self.grim(d.mean1, d.n1, "mean1", d.items or 1)
                self.grim(d.mean2, d.n2, "mean2", d.items or 1)
            self.arms(d.n1, d.n2, self.at("n1"))
        elif isinstance(d, records.TwoGroupBinary):
            self.arms(d.n1, d.n2, self.at("n1"))
        return self.flags

    def effect_vs_p(self, d: records.ReportedEffect) -> None:
        """A reported d/g/SMD (or MD, OR, RR, HR) against its reported p [``effect-p``]."""
        if d.p is None or d.statistic is not None or not 0 < d.p.value <= 1:
            return
        est, loc = d.estimate.value, self.at("estimate")
        h, df = _half(self.dec(loc, est)), None
        f: Callable[[float], float] = float
        if d.metric in ("d", "g", "SMD") and (d.n is not None or d.n1 is not None):
            if d.n1 is not None and d.n2 is not None:
                n1, n2 = d.n1.value, d.n2.value
                sizes = f"n1 = {n1:g}, n2 = {n2:g}"
            elif d.n is not None:
                n1 = n2 = d.n.value / 2
                sizes = f"n1 = n2 = {n1:g} (equal split of n = {d.n.value:g} ASSUMED)"
            else:
                return
            df, se_lo = n1 + n2 - 2, math.sqrt(1 / n1 + 1 / n2)
            se_hi, what = se_lo, f"{d.metric} = {_fmt(est, self.dec(loc, est))} with {sizes}"
        elif d.metric in ("MD", *RATIO_METRICS) and (d.ci is not None or d.se is not None):
            log = d.metric in RATIO_METRICS
            if log and est - h <= 0:
                return
            if d.se is not None:
                se_h = _half(self.dec(self.at("se"), d.se.value))
                se_lo, se_hi, src = max(d.se.value - se_h, 1e-300), d.se.value + se_h, "SE"
            else:
                a, b = d.ci[0].value, d.ci[1].value  # type: ignore[index]
                decs = (self.dec(self.at("ci", 0), a), self.dec(self.at("ci", 1), b))
                try:
                    se_lo, se_hi = se_range_from_ci(a, b, d.level, log, decs)
                except UserInputError:
                    return
                src = f"the {d.level:g}% CI [{a:g}, {b:g}]"
            f = math.log if log else float
            what = f"{d.metric} = {est:g} with {src}{' (log scale)' if log else ''}"
        else:
            return
        r = implied_p(est, h, se_lo, se_hi, df, f)
        self.comparisons += 1
        p_dec = self.dec(self.at("p"), d.p.value)
        ph = _half(p_dec) if d.p_bound == "=" else 0.0
        fits_low = r.p_low <= d.p.value + ph + _EPS or d.p_bound == ">"
        fits_high = r.p_high >= d.p.value - ph - _EPS or d.p_bound == "<"
        if fits_low and fits_high:
            return
        said = _reported_significant(d.p.value, d.p_bound, ALPHA)
        decision = split = ""
        if None is not said != _computed_significant(r.p_low, r.p_high, ALPHA) is not None:
            decision = f"; the reported p is {'' if said else 'not '}significant at {ALPHA:g} and "
            decision += "the recomputed one is not"
        if "ASSUMED" in what and not fits_low:
            split = "; no split of n fits (the equal split gives the largest t)"
        self.add(
            "error",
            self.at("p"),
            f"reported p {d.p_bound} {_fmt(d.p.value, p_dec)} does not fit the reported effect: "
            f"{what} gives {r.test} = {r.statistic:.2f}, p = {_fmt(r.p)} ({_fmt(r.p_low)} to "
            f"{_fmt(r.p_high)} allowing rounding){decision}{split}",
            "effect-p",
        )

    def reported_effect(self, d: records.ReportedEffect) -> None:
        r = d.estimate if d.metric == "r" else None
        self.p_value(self.statistic_of(d, r, d.n), d.p, d.p_bound)
        self.effect_vs_p(d)
        scale = (
            "log" if d.metric in RATIO_METRICS else "fisher-z" if d.metric == "r" else "identity"
        )
        self.ci(d.estimate, d.ci, self.at("estimate"), self.at("ci"), scale, f"{d.metric}")
        if d.se is not None and d.ci is not None and d.metric != "r":
            a, b = d.ci[0].value, d.ci[1].value
            decs = (self.dec(self.at("ci", 0), a), self.dec(self.at("ci", 1), b))
            try:
                low, high = se_range_from_ci(a, b, d.level, scale == "log", decs)
            except UserInputError:
                low = high = float("nan")
            if math.isfinite(low):
                self.comparisons += 1
                sed = self.dec(self.at("se"), d.se.value)
                h = _half(sed)
                if not (d.se.value + h >= low - _EPS and d.se.value - h <= high + _EPS):
                    log = "log " if scale == "log" else ""
                    self.add(
                        "warning",
                        self.at("se"),
                        f"SE {_fmt(d.se.value, sed)} (±{_fmt(h)}) does not match the "
                        f"{d.level:g}% CI [{_fmt(a, decs[0])}, {_fmt(b, decs[1])}], which "
                        f"implies a {log}SE of {_fmt(low)} to {_fmt(high)} allowing rounding",
                        "se-ci",
                    )
        if d.n is not None and d.n1 is not None and d.n2 is not None:
            self.comparisons += 1
            s = d.n1.value + d.n2.value
            if s != d.n.value:
                self.add(
                    "warning",
                    self.at("n"),
                    f"n = {d.n.value:g} but n1 + n2 = {d.n1.value:g} + {d.n2.value:g} = {s:g}",
                    "n-arms",
                )
        self.arms(d.n1, d.n2, self.at("n1"))
        if d.n1 is None:
            self.single_n(d.n)

    def pre_post(self, d: records.PrePost) -> None:
        self.p_value(self.statistic_of(d), d.p, d.p_bound)
        for m, ci, sd in (
            ("mean_pre", "ci_pre", "sd_pre"),
            ("mean_post", "ci_post", "sd_post"),
            ("mean_change", "ci_change", "sd_change"),
        ):
            what = m.replace("_", " ")
            self.ci(getattr(d, m), getattr(d, ci), self.at(m), self.at(ci), "identity", what)
            self.sd_vs_ci(getattr(d, sd), getattr(d, ci), d.n, sd, ci, d.level)
        if d.mean_pre is not None and d.mean_post is not None and d.mean_change is not None:
            self.comparisons += 1
            decs = [
                self.dec(self.at(k), getattr(d, k).value)
                for k in ("mean_pre", "mean_post", "mean_change")
            ]
            allowed = sum(_half(x) for x in decs)
            diff = d.mean_post.value - d.mean_pre.value
            gap = abs(diff - d.mean_change.value)
            if gap > allowed + _EPS:
                self.add(
                    "warning",
                    self.at("mean_change"),
                    f"mean change {_fmt(d.mean_change.value, decs[2])} differs from mean_post "
                    f"- mean_pre = {_fmt(d.mean_post.value, decs[1])} - "
                    f"{_fmt(d.mean_pre.value, decs[0])} = {_fmt(diff, max(decs[:2]))} by "
                    f"{_fmt(gap)} (rounding allows ±{_fmt(allowed)}); different samples "
                    "(completers vs all) or a typo",
                    "mean-change",
                )
        if d.integer_scale:
            for name in ("mean_pre", "mean_post", "mean_change"):
                self.grim(getattr(d, name), d.n, name, d.items or 1)
        self.single_n(d.n)

    def proportion(self, d: records.Proportion) -> None:
        if d.percent is None or not d.n.value.is_integer() or d.n.value < 1:
            return
        n = int(d.n.value)
        dec = self.dec(self.at("percent"), d.percent.value)
        text = _fmt(d.percent.value, dec)
        h = _half(dec)
        self.comparisons += 1
        try:
            fit, _ = events_from_percent(text, n)
        except UserInputError:
            fit = None
        if d.events is not None:
            ev = d.events.value
            if not ev.is_integer() or not 0 <= ev <= n:
                return  # validation reports it
            if percent_consistent(int(ev), n, text):
                return
            actual = 100 * ev / n
            if fit is None:
                near = _nearest_counts(d.percent.value, n, dec)
                alt = f"no count out of {n} gives {text}% ({near})"
            else:
                alt = f"{text}% of {n} would be {fit} (events differ by {abs(fit - ev):g})"
            self.add(
                "error",
                self.at("percent"),
                f"percent {text}% (±{_fmt(h)}) does not follow from events {ev:g} of n = {n}: "
                f"{ev:g}/{n} = {actual:.{dec + 2}f}%, off by "
                f"{abs(actual - d.percent.value):.{dec + 2}f} points; {alt}; the events, the "
                "percentage or its denominator is wrong",
                "percent-events",
            )
        elif fit is None:
            near = _nearest_counts(d.percent.value, n, dec)
            self.add(
                "warning",
                self.at("percent"),
                f"percent {text}% (±{_fmt(h)}) cannot be reproduced from n = {n}: {near}; the "
                "denominator is probably not n (the outcome is not poolable until counts "
                "or the right n are recorded)",
                "percent-n",
            )


def _nearest_counts(percent: float, n: int, dec: int) -> str:
    below = math.floor(percent * n / 100)
    parts = []
    for c in (below, below + 1):
        if 0 <= c <= n:
            parts.append(f"{c}/{n} = {100 * c / n:.{dec + 2}f}%")
    return ", ".join(parts)


def check_outcome(
    study: records.Study, index: int, source: RecordSource | None = None
) -> list[Problem]:
    """Every integrity flag of one outcome of a study record.

    Parameters
    ----------
    study : records.Study
        The parsed record.
    index : int
        Position of the outcome in ``study.outcomes``.
    source : RecordSource, optional
        The record's file and located text (:func:`record_source`), for lines and
        printed decimals. Without it flags have no line and decimals are read from the
        floats (trailing zeros lost: ``2.20`` counts one decimal).

    Returns
    -------
    list of Problem
        Flags with severity error, warning or note (codes in the module docstring).

    Raises
    ------
    UserInputError
        If ``index`` is not an outcome of the study.
    """
    if (
        isinstance(index, bool)
        or not isinstance(index, int)
        or not (0 <= index < len(study.outcomes))
    ):
        raise UserInputError(
            f"index = {index!r}: study {study.id!r} has outcomes 0 to {len(study.outcomes) - 1}"
        )
    src = source or RecordSource(f"evidence/studies/{study.id}.yaml")
    return _OutcomeChecker(study, index, src).run()


def blocking_flags(base: EvidenceBase, study: records.Study, index: int) -> list[Problem]:
    """Error-severity flags of one outcome: they keep it out of pooling unless explained.

    Used by :func:`synthesis.extract.effect_rows`; an outcome's ``integrity_note`` is
    the explanation (the caller decides).
    """
    flags = check_outcome(study, index, record_source(base, study.id))
    return [p for p in flags if p.severity == "error"]


# ----------------------------------------------------------------------------- report


@dataclass
class IntegrityReport(ProblemReport):
    """Integrity flags of an evidence base; errors explained by an ``integrity_note``.

    ``ok`` is true when every error-severity flag is explained.
    """

    explained: dict[Problem, str] = field(default_factory=dict)

    @property
    def unexplained_errors(self) -> list[Problem]:
        return [p for p in self.errors if p not in self.explained]

    @property
    def notes(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "note"]

    @property
    def ok(self) -> bool:
        """True when no error-severity flag is left unexplained."""
        return not self.unexplained_errors

    def summary(self) -> str:
        what = ", ".join(f"{n} {name}" for name, n in self.checked.items())
        verdict = "consistent" if self.ok else "INCONSISTENT"
        n_expl = len(self.errors) - len(self.unexplained_errors)
        expl = f" ({n_expl} explained by integrity_note)" if n_expl else ""
        return (
            f"{verdict}: {what}; {len(self.errors)} error(s){expl}, "
            f"{len(self.warnings)} warning(s), {len(self.notes)} note(s)"
        )

    def to_text(self) -> str:
        lines = []
        for p in self.sorted():
            note = self.explained.get(p)
            lines.append(f"{p} [explained: {note}]" if note else str(p))
        lines.append(self.summary())
        return "\n".join(lines)

    def to_json(self) -> str:
        payload = {
            "ok": self.ok,
            "checked": self.checked,
            "errors": len(self.errors),
            "unexplained_errors": len(self.unexplained_errors),
            "warnings": len(self.warnings),
            "notes": len(self.notes),
            "problems": [{**asdict(p), "explained": self.explained.get(p)} for p in self.sorted()],
        }
        return json.dumps(payload, indent=2, sort_keys=True)


def check_evidence(base: EvidenceBase) -> IntegrityReport:
    """Run every integrity check on every outcome of a validated evidence base.

    Parameters
    ----------
    base : EvidenceBase
        From :func:`synthesis.validate.load_evidence`.

    Returns
    -------
    IntegrityReport
        Every flag, located; error flags of outcomes with an ``integrity_note`` are
        listed in ``explained``.
    """
    report = IntegrityReport()
    n_outcomes = comparisons = 0
    for sid in sorted(base.studies):
        study = base.studies[sid]
        source = record_source(base, sid)
        for i, oc in enumerate(study.outcomes):
            checker = _OutcomeChecker(study, i, source)
            flags = checker.run()
            n_outcomes += 1
            comparisons += checker.comparisons
            report.extend(flags)
            if oc.integrity_note:
                for p in flags:
                    if p.severity == "error":
                        report.explained[p] = oc.integrity_note
    report.checked = {
        "studies": len(base.studies),
        "outcomes": n_outcomes,
        "comparisons": comparisons,
    }
    return report
