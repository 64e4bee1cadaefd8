"""Fixed- and random-effects meta-analysis that agrees with metafor's ``rma.uni``.

The module has three layers, like PyMARE :cite:`salo2023pymare`:

1. pure array functions on ``yi``/``vi`` (and a design matrix ``X``): the τ²
   estimators (:func:`tau2_estimate`), Cochran's Q (:func:`q_statistic`), the
   generalised Q (:func:`generalized_q`), the Q-profile interval for τ²
   (:func:`tau2_q_profile_ci`) and I²/H² (:func:`heterogeneity_indices`);
2. a fit function, :func:`rma`, returning a frozen :class:`MetaResult` shaped like
   metafor's ``rma.uni`` object :cite:`viechtbauer2010metafor`;
3. analyses built on repeated fits: :func:`subgroup`, :func:`leave1out`,
   :func:`cumul`, :func:`regtest` and :func:`trimfill`.

This is the only module of the toolkit that imports PyMARE, and it does so lazily
inside the functions that use it (``import pymare`` takes seconds). PyMARE supplies
the closed-form DerSimonian-Laird and Hedges τ² estimates of ``method="DL"``/``"HE"``
(the Hedges start of Fisher scoring is computed here, so likelihood fits do not
import PyMARE); everything else —
Sidik-Jonkman, Paule-Mandel, empirical Bayes, and ML/REML solved by Fisher scoring
to a 1e-12 threshold as metafor does — is written here, because PyMARE 0.0.13's
likelihood estimators stop at a bounded scalar search, default to Knapp-Hartung
standard errors, return arbitrary τ² for REML at k = 1, give NaN Q/I² at k = 1,
compute I²/H² from Q rather than from τ², and give NaN under Knapp-Hartung when all
``yi`` are equal. Those quantities are computed here exactly as ``rma.uni`` computes
them.

Model
-----
``yi = X β + u_i + e_i`` with ``e_i ~ N(0, vi)`` and ``u_i ~ N(0, τ²)``. With
``W = diag(1/(vi + τ²))``::

    b = (X'WX)⁻¹ X'W y,    Var(b) = (X'WX)⁻¹,
    P = W − W X (X'WX)⁻¹ X'W,

and ``y'Py = Σ wᵢ (yᵢ − xᵢ'b)²`` is the generalised Q statistic.

Performance
-----------
No ``k × k`` matrix is formed: traces such as ``tr P`` and ``tr(P D₁ P D₂)`` are
computed in O(k p²) (:func:`_tr_pd`, :func:`_tr_pdpd`), with closed forms for the
intercept-only model, and distribution functions come from :mod:`scipy.special`
rather than :mod:`scipy.stats`. :func:`leave1out` and :func:`cumul` fit all their
models at once with the vectorised engine of :mod:`synthesis.batch`, which also
fits many independent meta-analyses (:func:`synthesis.batch.fit_many`).

Conventions
-----------
* ``level`` is a percentage, as in metafor (95, not 0.95).
* Rows with NaN in ``yi``, ``vi`` (or a moderator) are dropped with a
  :class:`~synthesis.warnings.DataQualityWarning` and listed in ``excluded``.
* Nothing is rounded except in ``__str__`` and ``_repr_html_``.
"""

from __future__ import annotations

import html
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from scipy import special

from synthesis import vocabulary
from synthesis.errors import UserInputError
from synthesis.warnings import ConvergenceWarning, DataQualityWarning

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "METHODS",
    "TESTS",
    "Coefficient",
    "MetaResult",
    "RegtestResult",
    "SubgroupResult",
    "Tau2Estimate",
    "TransformedResult",
    "TrimfillResult",
    "cumul",
    "generalized_q",
    "heterogeneity_indices",
    "leave1out",
    "q_statistic",
    "regtest",
    "rma",
    "subgroup",
    "tau2_estimate",
    "tau2_q_profile_ci",
    "trimfill",
]

#: τ² estimators, with metafor's codes. ``"FE"`` is accepted as an alias of ``"EE"``.
METHODS = vocabulary.METHODS
_METHOD_ALIASES = vocabulary.METHOD_ALIASES
#: Tests of the coefficients: Wald-type ``"z"`` or Knapp-Hartung ``"knha"`` (t and F).
TESTS = vocabulary.TESTS

#: Defaults of the ``control`` argument of :func:`rma`.
#:
#: ``threshold``
#:     Fisher scoring (ML, REML, EB) stops when τ² changes by less than this.
#:     metafor's default is 1e-5; we solve to 1e-12 so τ² agrees to ~1e-10.
#: ``maxiter``
#:     Maximum Fisher-scoring iterations (metafor: 100).
#: ``tol``
#:     Absolute tolerance of the root searches (PM, Q-profile CI) and of the
#:     likelihood check at τ² = 0 after ML/REML.
#: ``tau2_init``
#:     Starting value of Fisher scoring (default: the Hedges estimate, as metafor)
#:     and the initial τ² of the Sidik-Jonkman estimator (default: the mean squared
#:     deviation of ``yi`` from its mean).
#: ``tau2_max``
#:     Upper end of the Q-profile search (default ``max(100, 10 τ̂²)``, as
#:     metafor's ``confint``). A bound beyond it is reported as ``tau2_max`` with a
#:     note.
#: ``stepadj``
#:     Step length factor of Fisher scoring (metafor's ``stepadj``).
#: ``ll0check``
#:     After ML/REML, compare the (restricted) log-likelihood at τ² = 0 with the one
#:     at the estimate and fall back to 0 (with a warning) if it is larger, as
#:     metafor does.
DEFAULT_CONTROL: Mapping[str, Any] = MappingProxyType(
    {
        "threshold": 1e-12,
        "maxiter": 100,
        "tol": 1e-12,
        "tau2_init": None,
        "tau2_max": None,
        "stepadj": 1.0,
        "ll0check": True,
    }
)

_Array = np.ndarray


# ============================================================ pure array layer ====


def _wls(y: _Array, w: _Array, X: _Array) -> tuple[_Array, _Array]:
    """Weighted least squares: ``b = (X'WX)⁻¹X'Wy`` and ``(X'WX)⁻¹``."""
    if X.shape[1] == 1 and _is_intercept(X):
        sw = float(w.sum())
        return np.array([float(w @ y) / sw]), np.array([[1.0 / sw]])
    xtw = X.T * w
    vb = np.linalg.inv(xtw @ X)
    return vb @ (xtw @ y), vb


def _intercept(k: int) -> _Array:
    """The intercept-only design: a read-only (k, 1) view of a single 1.0 (stride 0).

    The zero stride lets :func:`_is_intercept` recognise it without scanning ``k``
    values on every call of the hot loops.
    """
    return np.broadcast_to(np.ones((1, 1)), (k, 1))


def _is_intercept(X: _Array) -> bool:
    """True for the intercept-only design (one column of ones)."""
    if X.shape[1] != 1:
        return False
    if X.strides[0] == 0:
        return bool(X[0, 0] == 1.0)
    return bool(np.all(X == 1.0))


def _p_matrix(w: _Array, X: _Array) -> _Array:
    """``P = W − W X (X'WX)⁻¹ X'W`` (k × k; only for small k, the fits avoid it)."""
    wx = X * w[:, None]
    vb = np.linalg.inv(X.T @ wx)
    return np.diag(w) - wx @ vb @ wx.T


def _tr_pd(w: _Array, X: _Array, d: _Array | float = 1.0) -> float:
    """``tr(P D)`` for a diagonal ``D = diag(d)`` in O(k p²), without forming ``P``.

    ``tr(P D) = Σ wᵢdᵢ − Σ hᵢdᵢ`` with ``hᵢ = wᵢ² xᵢ'(X'WX)⁻¹xᵢ``.
    """
    if _is_intercept(X):
        sw = float(w.sum())
        return float(np.sum(w * d) - np.sum(w * w * d) / sw)
    wx = X * w[:, None]
    a = np.linalg.inv(X.T @ wx)
    h = np.einsum("ij,jk,ik->i", wx, a, wx)
    return float(np.sum(w * d) - np.sum(h * d))


def _tr_pdpd(w: _Array, X: _Array, d1: _Array | float = 1.0, d2: _Array | float = 1.0) -> float:
    """``tr(P D₁ P D₂)`` for diagonal ``D₁, D₂`` in O(k p²), without forming ``P``.

    With ``B = W X A X'W`` (``A = (X'WX)⁻¹``), ``P = W − B`` and diagonal matrices
    commuting::

        tr(P D₁ P D₂) = Σ wᵢ² d₁ᵢ d₂ᵢ − 2 Σ Bᵢᵢ wᵢ d₁ᵢ d₂ᵢ + tr(A M₁ A M₂),
        Mⱼ = X'W Dⱼ W X.

    Used for ``tr(PP)`` (``D₁ = D₂ = I``), ``tr(PVPV)`` and ``tr(PVP)``.
    """
    if _is_intercept(X):
        sw = float(w.sum())
        w2 = w * w
        w2d1 = w2 * d1
        w2d1d2 = w2d1 * d2
        return float(
            w2d1d2.sum()
            - 2.0 * float(w2d1d2 @ w) / sw
            + float(w2d1.sum()) * float((w2 * d2).sum()) / (sw * sw)
        )
    d1 = np.broadcast_to(np.asarray(d1, dtype=float), w.shape)
    d2 = np.broadcast_to(np.asarray(d2, dtype=float), w.shape)
    wx = X * w[:, None]
    a = np.linalg.inv(X.T @ wx)
    h = np.einsum("ij,jk,ik->i", wx, a, wx)
    m1 = wx.T @ (wx * d1[:, None])
    m2 = wx.T @ (wx * d2[:, None])
    return float(
        np.sum(w * w * d1 * d2) - 2.0 * np.sum(h * w * d1 * d2) + np.trace(a @ m1 @ a @ m2)
    )


def _q_root(yi: _Array, vi: _Array, X: _Array, target: float, hi: float, tol: float) -> float:
    """Root of ``Q(τ²) = target`` on ``[0, hi]`` with ``Q(0) ≥ target ≥ Q(hi)``.

    Safeguarded Newton (the step is used when it stays inside the bracket, bisection
    otherwise) with ``dQ/dτ² = −Σ wᵢ² rᵢ²`` (envelope theorem); stops when the step
    is below ``tol + 4 ε |τ²|``, the tolerance of ``scipy.optimize.brentq(xtol=tol,
    rtol=4ε)`` that it replaces (a handful of Q evaluations instead of ~15).
    """
    io = _is_intercept(X)
    lo, x = 0.0, 0.0
    eps4 = 4 * float(np.finfo(float).eps)
    for _ in range(1000):
        w = 1.0 / (vi + x)
        if io:
            r = yi - (w @ yi) / w.sum()
        else:
            b, _ = _wls(yi, w, X)
            r = yi - X @ b
        wr2 = w * r * r
        f = float(wr2.sum()) - target
        if f == 0.0:
            return x
        if f > 0.0:
            lo = x
        else:
            hi = x
        dq = -float(w @ wr2)
        nx = x - f / dq if dq < 0.0 else math.nan
        if not (lo < nx < hi):
            nx = 0.5 * (lo + hi)
        if abs(nx - x) <= tol + eps4 * abs(nx) or hi - lo <= tol:
            return nx
        x = nx
    return x


def _gq(tau2: float, yi: _Array, vi: _Array, X: _Array) -> float:
    """:func:`generalized_q` without argument checks."""
    return _q_function(yi, vi, X)(tau2)


def _q_function(yi: _Array, vi: _Array, X: _Array) -> Callable[[float], float]:
    """``τ² ↦ Q(τ²)`` with the design inspected once (the root searches call it often)."""
    if _is_intercept(X):

        def q(tau2: float) -> float:
            w = 1.0 / (vi + tau2)
            r = yi - (w @ yi) / w.sum()
            return float(w @ (r * r))

        return q

    def q_general(tau2: float) -> float:
        w = 1.0 / (vi + tau2)
        b, _ = _wls(yi, w, X)
        r = yi - X @ b
        return float(w @ (r * r))

    return q_general


def generalized_q(tau2: float, yi: _Array, vi: _Array, X: _Array) -> float:
    r"""Generalised Q statistic at a given τ².

    .. math:: Q(\tau^2) = \sum_i w_i (y_i - x_i'b)^2,\quad w_i = 1/(v_i + \tau^2),

    with ``b`` the weighted least-squares fit under the same weights. ``Q(0)`` is
    Cochran's Q; ``Q(τ²)`` decreases in τ² and follows χ²(k − p) at the true τ²,
    which the Paule-Mandel estimator and the Q-profile interval invert
    :cite:`paule1982consensus,viechtbauer2007confidence`.
    """
    return _gq(
        tau2,
        np.asarray(yi, dtype=float),
        np.asarray(vi, dtype=float),
        np.asarray(X, dtype=float),
    )


def q_statistic(yi: _Array, vi: _Array, X: _Array | None = None) -> tuple[float, int, float]:
    r"""Cochran's Q test for (residual) heterogeneity :cite:`hedges1985statistical`.

    .. math:: Q_E = \sum_i (y_i - x_i'\hat\beta_{EE})^2 / v_i \sim \chi^2_{k-p}.

    Returns
    -------
    (QE, df, QEp)
        ``QE`` floored at 0 against rounding; when ``k <= p`` there is no residual
        information and metafor's convention ``QE = 0``, ``QEp = 1`` is returned.
    """
    yi = np.asarray(yi, dtype=float)
    vi = np.asarray(vi, dtype=float)
    X = _intercept(yi.size) if X is None else np.asarray(X, dtype=float)
    k, p = X.shape
    if k <= p:
        return 0.0, k - p, 1.0
    qe = max(0.0, _gq(0.0, yi, vi, X))
    return qe, k - p, float(special.chdtrc(k - p, qe))


def heterogeneity_indices(
    tau2: float, vi: _Array, X: _Array | None, QE: float, method: str
) -> tuple[float, float]:
    r"""I² and H² as metafor computes them :cite:`higgins2002quantifying`.

    For random-effects models they are computed from τ² and the "typical" sampling
    variance of :cite:`higgins2002quantifying` generalised to meta-regression:

    .. math::
        s^2 = \frac{k-p}{\operatorname{tr}(P_{EE})},\qquad
        I^2 = 100\,\frac{\hat\tau^2}{\hat\tau^2 + s^2},\qquad
        H^2 = \frac{\hat\tau^2 + s^2}{s^2},

    where ``P_EE`` is ``P`` with weights ``1/vi``; without moderators
    ``s² = (k−1)Σw / ((Σw)² − Σw²)``. For the equal-effects model they are the
    Q-based ``I² = max(0, 100 (Q − (k−p))/Q)`` and ``H² = Q/(k−p)`` (so ``H² = 0``
    when ``Q = 0``, as in metafor). With ``k <= p``: ``I² = 0``, ``H² = 1``.
    """
    vi = np.asarray(vi, dtype=float)
    X = _intercept(vi.size) if X is None else np.asarray(X, dtype=float)
    k, p = X.shape
    if k <= p:
        return 0.0, 1.0
    if method == "EE":
        i2 = 0.0 if QE <= 0 else max(0.0, 100.0 * (QE - (k - p)) / QE)
        return i2, QE / (k - p)
    vt = (k - p) / _tr_pd(1.0 / vi, X)
    return 100.0 * tau2 / (vt + tau2), tau2 / vt + 1.0


@dataclass(frozen=True)
class Tau2Estimate:
    """A τ² estimate with its standard error and how it was obtained.

    ``se_tau2`` follows metafor's formulas for each estimator (NaN for EE and k = 1).
    ``converged`` is False only when Fisher scoring hit ``maxiter``; τ² is then the
    last iterate. ``notes`` explain anything unusual.
    """

    tau2: float
    se_tau2: float
    converged: bool = True
    iterations: int = 0
    notes: tuple[str, ...] = ()


def _hedges_tau2(yi: _Array, vi: _Array, X: _Array) -> float:
    """Hedges τ² :cite:`hedges1985statistical` in numpy (floored at 0), O(k p²).

    ``max(0, (RSS_OLS − tr(P_OLS V)) / (k − p))``: the same estimate PyMARE's
    ``Hedges`` returns, used as the Fisher-scoring start so that likelihood fits
    need not import PyMARE.
    """
    k, p = X.shape
    ones = np.ones(k)
    b, _ = _wls(yi, ones, X)
    r = yi - X @ b
    return max(0.0, (float(r @ r) - _tr_pd(ones, X, vi)) / (k - p))


def _chi2_crits(alpha: float, df: int) -> tuple[float, float]:
    """χ² quantiles ``(upper α/2, lower α/2)`` as ``scipy.stats.chi2.isf/ppf``."""
    return float(special.chdtri(df, alpha / 2)), float(2 * special.gammaincinv(df / 2, alpha / 2))


def _pymare_tau2(method: str, yi: _Array, vi: _Array, X: _Array) -> float:
    """DerSimonian-Laird or Hedges τ² from PyMARE :cite:`salo2023pymare` (floored at 0)."""
    from pymare.estimators import DerSimonianLaird, Hedges

    cls = DerSimonianLaird if method == "DL" else Hedges
    est = cls(small_sample_correction="wald").fit(yi[:, None], vi[:, None], X)
    return float(np.asarray(est.params_["tau2"], dtype=float).ravel()[0])


def _loglik(tau2: float, yi: _Array, vi: _Array, X: _Array, reml: bool) -> float:
    """(Restricted) log-likelihood as in ``rma.uni``'s ``ll0check``."""
    k, p = X.shape
    w = 1.0 / (vi + tau2)
    b, _vb = _wls(yi, w, X)
    rss = float(np.sum(w * (yi - X @ b) ** 2))
    ll = -0.5 * np.sum(np.log(vi + tau2)) - 0.5 * rss
    if reml:
        _sign, logdet = np.linalg.slogdet((X.T * w) @ X)
        return float(-0.5 * (k - p) * math.log(2 * math.pi) + ll - 0.5 * logdet)
    return float(-0.5 * k * math.log(2 * math.pi) + ll)


def _pm_root(yi: _Array, vi: _Array, X: _Array, target: float, tol: float) -> float:
    """Solve ``Q(τ²) = target`` for τ² >= 0 (0 when ``Q(0) < target``)."""
    q = _q_function(yi, vi, X)
    if q(0.0) < target:
        return 0.0
    hi = max(100.0, 10.0 * float(np.var(yi)))
    while q(hi) > target:  # Q(τ²) → 0 as τ² → ∞
        hi *= 10.0
    return _q_root(yi, vi, X, target, hi, tol)


def tau2_estimate(
    yi: _Array,
    vi: _Array,
    method: str = "REML",
    X: _Array | None = None,
    control: Mapping[str, Any] | None = None,
) -> Tau2Estimate:
    r"""Estimate the between-study variance τ² as metafor's ``rma.uni`` does.

    Parameters
    ----------
    yi, vi : array of shape (k,)
        Estimates and their sampling variances (finite, ``vi > 0``, no NaN).
    method : {"EE", "DL", "HE", "SJ", "PM", "ML", "REML", "EB"}
        The estimator.
    X : array of shape (k, p), optional
        Design matrix including the intercept column; default intercept only.
    control : mapping, optional
        See :data:`DEFAULT_CONTROL`.

    Returns
    -------
    Tau2Estimate

    Notes
    -----
    With ``W = diag(1/(vᵢ+τ²))``, ``P`` as in the module docstring and ``V = diag(v)``:

    * EE: τ² = 0.
    * DL :cite:`dersimonian1986meta`: ``τ² = max(0, (Q − (k−p)) / tr(P₀))`` with
      ``P₀`` at τ² = 0 (computed by PyMARE).
    * HE :cite:`hedges1985statistical`: ``τ² = max(0, (RSS_OLS − tr(P_OLS V))/(k−p))``
      (computed by PyMARE).
    * SJ :cite:`sidik2005simple`: ``τ² = τ₀² y'P(τ₀²)y / (k−p)`` with
      ``τ₀² = Σ(yᵢ − ȳ)²/k``.
    * PM :cite:`paule1982consensus`: the root of ``Q(τ²) = k − p`` (0 if
      ``Q(0) < k − p``).
    * ML, REML :cite:`viechtbauer2005bias`: Fisher scoring from the HE estimate,
      ``τ² ← τ² + (y'PPy − Σw)/Σw²`` (ML) or ``(y'PPy − tr P)/tr(PP)`` (REML),
      halving any step that would make τ² negative, until the change is below
      ``threshold``.
    * EB :cite:`morris1983parametric`: the same iteration with
      ``(y'Py · k/(k−p) − k)/Σw``; its fixed point is the PM estimate.

    Standard errors: ML ``√(2/Σw²)``, REML ``√(2/tr(PP))``, PM/EB
    ``√(2k²/(k−p)/(Σw)²)``, and the moment formulas of ``rma.uni`` for DL, HE and SJ.
    """
    method = _check_method(method)
    yi = np.asarray(yi, dtype=float)
    vi = np.asarray(vi, dtype=float)
    X = _intercept(yi.size) if X is None else np.asarray(X, dtype=float)
    con = _check_control(control)
    k, p = X.shape
    if method == "EE":
        return Tau2Estimate(0.0, math.nan)
    if k == 1:
        return Tau2Estimate(0.0, math.nan, notes=("k = 1: τ² fixed at 0.",))
    notes: list[str] = []
    converged = True
    iterations = 0
    ones = np.ones(k)

    if method == "DL":
        tau2 = _pymare_tau2("DL", yi, vi, X)
        w0 = 1.0 / vi
        trp = _tr_pd(w0, X)
        t = max(tau2, 0.0)
        se = math.sqrt((2 * (k - p) + 4 * t * trp + 2 * t * t * _tr_pdpd(w0, X)) / trp**2)
        return Tau2Estimate(tau2, se)

    if method == "HE":
        tau2 = _pymare_tau2("HE", yi, vi, X)
        t = max(tau2, 0.0)
        se = math.sqrt(
            (2 * _tr_pdpd(ones, X, vi, vi) + 4 * t * _tr_pd(ones, X, vi) + 2 * t * t * (k - p))
            / (k - p) ** 2
        )
        return Tau2Estimate(tau2, se)

    if method == "SJ":
        tau2_0 = (
            float(np.mean((yi - yi.mean()) ** 2))
            if con["tau2_init"] is None
            else float(con["tau2_init"])
        )
        w0 = 1.0 / (vi + tau2_0)
        rss = _gq(tau2_0, yi, vi, X)  # y'P(τ₀²)y
        tau2 = max(0.0, tau2_0 * rss / (k - p))
        t = tau2
        se = math.sqrt(
            tau2_0**2
            / (k - p) ** 2
            * (
                2 * _tr_pdpd(w0, X, vi, vi)
                + 4 * t * _tr_pdpd(w0, X, vi, 1.0)
                + 2 * t * t * _tr_pdpd(w0, X)
            )
        )
        return Tau2Estimate(tau2, se)

    if method == "PM":
        tau2 = _pm_root(yi, vi, X, float(k - p), float(con["tol"]))
        w = 1.0 / (vi + tau2)
        return Tau2Estimate(tau2, math.sqrt(2 * k**2 / (k - p) / np.sum(w) ** 2))

    # ML, REML, EB: Fisher scoring as in rma.uni
    tau2 = _hedges_tau2(yi, vi, X) if con["tau2_init"] is None else float(con["tau2_init"])
    threshold = float(con["threshold"])
    maxiter = int(con["maxiter"])
    change = threshold + 1.0
    io = _is_intercept(X)
    while change > threshold:
        iterations += 1
        old = tau2
        w = 1.0 / (vi + tau2)
        if io:  # closed forms of the traces for X = 1 (see _tr_pdpd)
            sw = float(w.sum())
            py = w * (yi - float(w @ yi) / sw)  # P y
            w2 = w * w
            s2 = float(w2.sum())
            if method == "ML":
                adj = (py @ py - sw) / s2
            elif method == "REML":
                trpp = s2 - 2.0 * float(w2 @ w) / sw + s2 * s2 / (sw * sw)
                adj = (py @ py - (sw - s2 / sw)) / trpp
            else:  # EB
                adj = (yi @ py * k / (k - p) - k) / sw
        else:
            b, _vb = _wls(yi, w, X)
            py = w * (yi - X @ b)  # P y
            if method == "ML":
                adj = (py @ py - np.sum(w)) / np.sum(w * w)
            elif method == "REML":
                adj = (py @ py - _tr_pd(w, X)) / _tr_pdpd(w, X)
            else:  # EB
                adj = (yi @ py * k / (k - p) - k) / np.sum(w)
        adj = float(adj) * float(con["stepadj"])
        if not math.isfinite(adj):
            adj = 0.0
        while tau2 + adj < 0.0:
            adj = 0.0 if tau2 == 0.0 else adj / 2.0
        tau2 = tau2 + adj
        change = abs(old - tau2)
        if iterations > maxiter:
            converged = False
            break
    if not converged:
        msg = (
            f"{method}: Fisher scoring did not converge in maxiter={maxiter} iterations "
            f"(last change in τ² = {change:.3g} > threshold={threshold:g}); τ² = {tau2!r} "
            "is the last iterate and everything computed from it is unreliable."
        )
        warnings.warn(msg, ConvergenceWarning, stacklevel=3)
        notes.append(msg)
    elif method in ("ML", "REML") and con["ll0check"] and tau2 > threshold:
        reml = method == "REML"
        ll0 = _loglik(0.0, yi, vi, X, reml)
        ll = _loglik(tau2, yi, vi, X, reml)
        if ll0 - ll > float(con["tol"]):
            msg = (
                f"{method}: Fisher scoring stopped at a local maximum (log-likelihood at "
                f"τ² = 0 is larger by {ll0 - ll:.3g}); τ² set to 0 as metafor does."
            )
            warnings.warn(msg, ConvergenceWarning, stacklevel=3)
            notes.append(msg)
            tau2 = 0.0
    tau2 = max(0.0, tau2)
    w = 1.0 / (vi + tau2)
    if method == "ML":
        se = math.sqrt(2.0 / np.sum(w * w))
    elif method == "REML":
        se = math.sqrt(2.0 / _tr_pdpd(w, X))
    else:
        se = math.sqrt(2 * k**2 / (k - p) / np.sum(w) ** 2)
    return Tau2Estimate(tau2, se, converged, iterations, tuple(notes))


def tau2_q_profile_ci(
    yi: _Array,
    vi: _Array,
    X: _Array | None = None,
    level: float = 95,
    tau2: float = 0.0,
    control: Mapping[str, Any] | None = None,
) -> tuple[float, float, tuple[str, ...]]:
    r"""Q-profile confidence interval for τ² :cite:`viechtbauer2007confidence`.

    The bounds solve

    .. math::
        Q(\tau^2_{lb}) = \chi^2_{k-p;\,1-\alpha/2},\qquad
        Q(\tau^2_{ub}) = \chi^2_{k-p;\,\alpha/2},

    with :func:`generalized_q` decreasing in τ², exactly as metafor's
    ``confint.rma.uni``. A bound whose equation has no root on
    ``[0, tau2_max]`` is set to the end of that interval (0 or ``tau2_max``, default
    ``max(100, 10 τ̂²)``), as metafor does, and a note says so.

    Returns
    -------
    (lower, upper, notes)
    """
    yi = np.asarray(yi, dtype=float)
    vi = np.asarray(vi, dtype=float)
    X = _intercept(yi.size) if X is None else np.asarray(X, dtype=float)
    con = _check_control(control)
    k, p = X.shape
    alpha = 1.0 - level / 100.0
    crit_u, crit_l = _chi2_crits(alpha, k - p)
    tmax = con["tau2_max"]
    tmax = max(100.0, 10.0 * tau2) if tmax is None else float(tmax)
    tol = float(con["tol"])
    q = _q_function(yi, vi, X)
    q_min = q(0.0)
    q_max = q(tmax)
    notes: list[str] = []

    def root(target: float) -> float:
        return _q_root(yi, vi, X, target, tmax, tol)

    if q_min < crit_l:
        lb = ub = 0.0
        notes.append("Q-profile CI for τ² is the null set {0}: Q(0) is below both critical values.")
    else:
        if q_max > crit_l:
            ub = tmax
            notes.append(
                f"Q-profile upper bound for τ² lies beyond the search limit tau2_max = {tmax:g}; "
                "reported as that limit (as metafor). Raise control['tau2_max'] to find it."
            )
        else:
            ub = root(crit_l)
        if q_max > crit_u:
            lb = ub = tmax
            notes.append(
                f"Q-profile CI for τ² lies entirely beyond tau2_max = {tmax:g}; both bounds "
                "reported as that limit."
            )
        elif q_min < crit_u:
            lb = 0.0
        else:
            lb = root(crit_u)
    return lb, ub, tuple(notes)


# ================================================================== validation ====


def _check_method(method: object) -> str:
    if isinstance(method, str):
        m = _METHOD_ALIASES.get(method, method)
        if m in METHODS:
            return m
    raise UserInputError(
        f"method={method!r} is not a known τ² estimator; allowed: "
        f"{', '.join(repr(m) for m in METHODS)} (and 'FE' as an alias of 'EE')."
    )


def _check_test(test: object) -> str:
    if isinstance(test, str) and test in TESTS:
        return test
    raise UserInputError(
        f"test={test!r} is not a known test; allowed: {', '.join(repr(t) for t in TESTS)}."
    )


def _check_level(level: object) -> float:
    """Confidence level as a percentage in [1, 100).

    metafor reads ``level`` < 1 as a proportion (0.95 means 95 %); we accept only
    percentages and refuse values <= 1 rather than silently disagree with it.
    """
    ok = isinstance(level, int | float | np.integer | np.floating) and not isinstance(level, bool)
    value = float(level) if ok else math.nan  # type: ignore[arg-type]
    if math.isfinite(value) and vocabulary.LEVEL_MIN < value < vocabulary.LEVEL_MAX:
        return value
    hint = ""
    if math.isfinite(value) and 0.0 < value <= 1.0:
        hint = (
            f" {value!r} looks like a proportion; write {100 * value:g} (metafor would read "
            "it as a proportion, this toolkit refuses rather than disagree silently)."
        )
    raise UserInputError(
        f"level={level!r} is not allowed; give the confidence level as a percentage "
        f"between 1 and 100 exclusive (e.g. 95), as metafor does.{hint}"
    )


def _check_control(control: Mapping[str, Any] | None) -> dict[str, Any]:
    con = dict(DEFAULT_CONTROL)
    if control is None:
        return con
    if not isinstance(control, Mapping):
        raise UserInputError(f"control={control!r} must be a mapping (dict) or None.")
    unknown = sorted(set(control) - set(con))
    if unknown:
        raise UserInputError(
            f"control has unknown key(s) {unknown}; allowed: {sorted(DEFAULT_CONTROL)}."
        )
    con.update(control)
    for key in ("threshold", "tol"):
        v = con[key]
        if not (isinstance(v, int | float) and not isinstance(v, bool) and v > 0):
            raise UserInputError(f"control[{key!r}]={v!r} must be a positive number.")
    mi = con["maxiter"]
    if not (isinstance(mi, int | np.integer) and not isinstance(mi, bool) and mi >= 1):
        raise UserInputError(f"control['maxiter']={mi!r} must be a positive integer.")
    for key in ("tau2_init", "tau2_max"):
        v = con[key]
        if v is not None and not (
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v >= 0
        ):
            raise UserInputError(f"control[{key!r}]={v!r} must be None or a finite number >= 0.")
    sa = con["stepadj"]
    if not (isinstance(sa, int | float) and not isinstance(sa, bool) and sa > 0):
        raise UserInputError(f"control['stepadj']={sa!r} must be a positive number.")
    return con


def _as_vector(x: object, name: str) -> _Array:
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise UserInputError(f"{name} must be a sequence of numbers; got {x!r:.80}.") from exc
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise UserInputError(f"{name} must be one-dimensional; got shape {arr.shape}.")
    return arr


def _design(mods: object, k: int) -> tuple[_Array | None, tuple[str, ...]]:
    """Turn ``mods`` into a (k, m) float matrix (no intercept) and column names.

    Accepts a 1-D or 2-D array, a mapping of name → column, a pandas Series or
    DataFrame. Non-numeric columns (strings, categoricals, booleans) become
    treatment dummies with the first level in sorted order as reference, as R's
    ``factor()`` does.
    """
    if mods is None:
        return None, ()
    import pandas as pd

    if isinstance(mods, pd.Series):
        frame = mods.to_frame(name=str(mods.name) if mods.name is not None else "mod1")
    elif isinstance(mods, pd.DataFrame):
        frame = mods
    elif isinstance(mods, Mapping):
        frame = pd.DataFrame({str(key): list(val) for key, val in mods.items()})
    else:
        arr = np.asarray(mods)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise UserInputError(f"mods must be 1- or 2-dimensional; got shape {arr.shape}.")
        frame = pd.DataFrame(arr, columns=[f"mod{j + 1}" for j in range(arr.shape[1])])
    if len(frame) != k:
        raise UserInputError(f"mods has {len(frame)} rows but yi has {k} values; they must match.")
    cols: list[_Array] = []
    names: list[str] = []
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            cols.append(col.to_numpy(dtype=float))
            names.append(str(name))
            continue
        missing = col.isna().to_numpy()
        levels = sorted({str(v) for v, m in zip(col, missing, strict=True) if not m})
        if len(levels) < 2:
            raise UserInputError(
                f"mods column {name!r} has {len(levels)} level(s) {levels}; a factor "
                "moderator needs at least 2."
            )
        labels = np.array([str(v) for v in col], dtype=object)
        for lev in levels[1:]:
            dummy = (labels == lev).astype(float)
            dummy[missing] = np.nan
            cols.append(dummy)
            names.append(f"{name}{lev}")
    return np.column_stack(cols), tuple(names)


@dataclass(frozen=True)
class _Prepared:
    yi: _Array
    vi: _Array
    X: _Array
    names: tuple[str, ...]
    slab: tuple[str, ...]
    index: tuple[int, ...]
    excluded: tuple[tuple[int | str, str], ...]


#: Range of estimates and sampling variances a fit accepts: beyond it the weights and
#: sums of squares over- or underflow in double precision.
MAX_ABS_YI = 1e100
MIN_VI, MAX_VI = 1e-100, 1e100


def _prepare(
    yi: object, vi: object, mods: object, slab: object, *, stacklevel: int = 4
) -> _Prepared:
    y = _as_vector(yi, "yi")
    v = _as_vector(vi, "vi")
    if y.size != v.size:
        raise UserInputError(
            f"yi has {y.size} values but vi has {v.size}; they must have the same length."
        )
    k_all = y.size
    if slab is None:
        slabs = tuple(f"Study {i + 1}" for i in range(k_all))
        slab_given = False
    else:
        slabs = tuple(str(s) for s in (slab if not isinstance(slab, str) else [slab]))
        if len(slabs) != k_all:
            raise UserInputError(
                f"slab has {len(slabs)} labels but yi has {k_all} values; they must match."
            )
        slab_given = True
    Xm, names = _design(mods, k_all)
    reasons: list[tuple[int, str]] = []
    keep = np.ones(k_all, dtype=bool)
    missing = np.isnan(y) | np.isnan(v)
    if Xm is not None:
        missing |= np.isnan(Xm).any(axis=1)
    for i in np.flatnonzero(missing).tolist():  # a Python loop only over the missing rows
        why = []
        if np.isnan(y[i]):
            why.append("yi is missing")
        if np.isnan(v[i]):
            why.append("vi is missing")
        if Xm is not None and np.isnan(Xm[i]).any():
            why.append("a moderator is missing")
        if why:
            keep[i] = False
            reasons.append((i, "; ".join(why)))
    bad_y = np.flatnonzero(keep & ~np.isfinite(y))
    if bad_y.size:
        i = int(bad_y[0])
        raise UserInputError(
            f"yi[{i}] = {float(y[i])!r}; estimates must be finite numbers (or NaN)."
        )
    bad_v = np.flatnonzero(keep & ~(np.isfinite(v) & (v > 0)))
    if bad_v.size:
        i = int(bad_v[0])
        raise UserInputError(
            f"vi[{i}] = {float(v[i])!r}; sampling variances must be finite and > 0 "
            f"({bad_v.size} offending value(s) at positions {bad_v.tolist()[:10]})."
        )
    # Weights 1/vi and terms yi^2/vi must stay finite in double precision.
    with np.errstate(invalid="ignore"):
        huge_y = np.flatnonzero(keep & ~(np.abs(y) <= MAX_ABS_YI))
        odd_v = np.flatnonzero(keep & ~((v >= MIN_VI) & (v <= MAX_VI)))
    if huge_y.size:
        i = int(huge_y[0])
        raise UserInputError(
            f"yi[{i}] = {float(y[i])!r}; estimates must lie within ±{MAX_ABS_YI:g} "
            "(no effect size is that large: check the column)."
        )
    if odd_v.size:
        i = int(odd_v[0])
        raise UserInputError(
            f"vi[{i}] = {float(v[i])!r}; sampling variances must lie in "
            f"[{MIN_VI:g}, {MAX_VI:g}] so that the weights 1/vi can be computed "
            "(check the column)."
        )
    excluded = tuple((slabs[i] if slab_given else i, why) for i, why in reasons)
    if reasons:
        warnings.warn(
            f"{len(reasons)} of {k_all} studies excluded because of missing values: "
            + ", ".join(f"{lab} ({why})" for lab, why in excluded),
            DataQualityWarning,
            stacklevel=stacklevel,
        )
    k = int(keep.sum())
    if k == 0:
        raise UserInputError(
            f"no studies left to analyse: k = 0 after excluding {len(reasons)} of {k_all} "
            "rows with missing yi/vi/moderators."
        )
    X = _intercept(k)
    if Xm is not None:
        X = np.column_stack([X, Xm[keep]])
        if np.linalg.matrix_rank(X) < X.shape[1]:
            raise UserInputError(
                f"mods {list(names)} with the intercept give a design matrix of rank "
                f"{np.linalg.matrix_rank(X)} < {X.shape[1]} columns; drop redundant "
                "or constant moderators."
            )
    return _Prepared(
        yi=y[keep],
        vi=v[keep],
        X=X,
        names=("intrcpt", *names),
        slab=tuple(s for s, kp in zip(slabs, keep, strict=True) if kp),
        index=tuple(int(i) for i in np.flatnonzero(keep)),
        excluded=excluded,
    )


# ================================================================ result types ====


def _readonly(a: _Array) -> _Array:
    a = np.array(a, dtype=float, copy=True)
    a.setflags(write=False)
    return a


def _jsonable(x: Any) -> Any:
    if isinstance(x, float | np.floating):
        f = float(x)
        return f if math.isfinite(f) else None
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, np.ndarray):
        return [_jsonable(v) for v in x.tolist()]
    if isinstance(x, tuple | list):
        return [_jsonable(v) for v in x]
    if isinstance(x, Mapping):
        return {str(key): _jsonable(val) for key, val in x.items()}
    return x


def _fmt(x: float, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NA"
    if math.isinf(x):
        return "Inf" if x > 0 else "-Inf"
    return f"{x:.{digits}f}"


def _fmt_p(p: float) -> str:
    if math.isnan(p):
        return "NA"
    return "<.0001" if p < 1e-4 else f"{p:.4f}"


def _stars(p: float) -> str:
    if math.isnan(p):
        return ""
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else "." if p < 0.1 else ""


@dataclass(frozen=True)
class Coefficient:
    """One row of the coefficient table (``zval`` is the t statistic under knha)."""

    name: str
    estimate: float
    se: float
    zval: float
    pval: float
    ci_lb: float
    ci_ub: float


@dataclass(frozen=True)
class TransformedResult:
    """Estimate and intervals mapped to another scale (bounds sorted, as metafor)."""

    estimate: float
    ci_lb: float
    ci_ub: float
    pi_lb: float
    pi_ub: float


@dataclass(frozen=True)
class MetaResult:
    """A fitted ``rma``-type model, shaped like metafor's ``rma.uni`` object.

    For a meta-regression (``mods`` given), ``estimate``/``se``/``zval``/``pval``/
    ``ci_*`` describe the intercept; all coefficients are in ``coefficients``, and
    ``pi_lb``/``pi_ub`` are NaN (no prediction at a covariate value is implied).

    Attributes
    ----------
    k, k_excluded, excluded
        Studies used; studies dropped for missing values and, for each, its slab
        (or row index when no slab was given) and the reason.
    index
        Row positions (in the input) of the studies used.
    method, test, level
        τ² estimator, ``"z"`` or ``"knha"``, confidence level in percent.
    estimate, se, zval, pval, ci_lb, ci_ub
        The (intercept) coefficient. Under ``test="knha"`` ``se`` is the
        Knapp-Hartung standard error, ``zval`` the t statistic and ``df = k − p``.
    pi_lb, pi_ub
        Prediction interval as metafor's ``predict.rma``: ``b ± crit √(se² + τ²)``
        with ``crit`` the normal (z) or t(k − p) (knha) quantile. NaN for the EE
        model (metafor reports none) and for meta-regressions.
    tau2, se_tau2, tau2_ci_lb, tau2_ci_ub
        τ², its standard error (metafor's formula per method; NaN for EE and k = 1)
        and the Q-profile CI (NaN for EE and k = 1, where metafor's ``confint``
        refuses).
    I2, H2, QE, QEp
        Heterogeneity statistics (see :func:`heterogeneity_indices`,
        :func:`q_statistic`).
    df
        ``k − p`` under knha, None under z (metafor's ``ddf``).
    converged, iterations
        Fisher scoring status (always True/0 for non-iterative estimators).
    weights
        Percentage weights ``100 wᵢ/Σw`` with ``wᵢ = 1/(vᵢ + τ²)``, as ``weights()``.
    yi, vi, slab, measure
        The data analysed (after exclusions) and the effect-size measure code.
    notes
        Human-readable remarks (k = 1, non-convergence, search limits, …).
    coefficients, QM, QMdf, QMp
        Coefficient table and the omnibus test of the moderators (of the intercept
        for an intercept-only model): χ²(m) under z, F(m, k − p) under knha
        (``QMdf = (m, None)`` under z).
    p, control
        Number of coefficients; the control settings used.
    """

    k: int
    k_excluded: int
    excluded: tuple[tuple[int | str, str], ...]
    method: str
    test: str
    level: float
    estimate: float
    se: float
    zval: float
    pval: float
    ci_lb: float
    ci_ub: float
    pi_lb: float
    pi_ub: float
    tau2: float
    se_tau2: float
    tau2_ci_lb: float
    tau2_ci_ub: float
    I2: float
    H2: float
    QE: float
    QEp: float
    df: int | None
    converged: bool
    iterations: int
    weights: _Array = field(compare=False, repr=False)
    yi: _Array = field(compare=False, repr=False)
    vi: _Array = field(compare=False, repr=False)
    slab: tuple[str, ...] = field(repr=False)
    measure: str | None
    notes: tuple[str, ...]
    coefficients: tuple[Coefficient, ...] = field(repr=False)
    QM: float
    QMdf: tuple[int, int | None]
    QMp: float
    p: int
    index: tuple[int, ...] = field(repr=False)
    control: Mapping[str, Any] = field(compare=False, repr=False)

    # ------------------------------------------------------------------ export --
    _SUMMARY_KEYS: ClassVar[tuple[str, ...]] = vocabulary.SUMMARY_FIELDS

    def to_frame(self) -> pd.DataFrame:
        """One-row summary :class:`pandas.DataFrame` (no rounding)."""
        import pandas as pd

        return pd.DataFrame([{key: getattr(self, key) for key in self._SUMMARY_KEYS}])

    def coef_table(self) -> pd.DataFrame:
        """The coefficient table (``estimate, se, zval, pval, ci_lb, ci_ub``) by name."""
        import pandas as pd

        rows = [
            {
                "estimate": c.estimate,
                "se": c.se,
                "zval": c.zval,
                "pval": c.pval,
                "ci_lb": c.ci_lb,
                "ci_ub": c.ci_ub,
            }
            for c in self.coefficients
        ]
        return pd.DataFrame(rows, index=[c.name for c in self.coefficients])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: non-finite numbers become None, arrays become lists."""
        out: dict[str, Any] = {key: getattr(self, key) for key in self._SUMMARY_KEYS}
        out.update(
            excluded=[list(e) for e in self.excluded],
            weights=self.weights,
            yi=self.yi,
            vi=self.vi,
            slab=list(self.slab),
            notes=list(self.notes),
            QMdf=list(self.QMdf),
            coefficients=[
                {
                    "name": c.name,
                    "estimate": c.estimate,
                    "se": c.se,
                    "zval": c.zval,
                    "pval": c.pval,
                    "ci_lb": c.ci_lb,
                    "ci_ub": c.ci_ub,
                }
                for c in self.coefficients
            ],
        )
        return _jsonable(out)

    def transformed(self, transf: Callable[[float], float]) -> TransformedResult:
        """Estimate, CI and PI on another scale, e.g. ``math.exp`` for log ratios.

        ``transf`` is applied to each number; each pair of bounds is then sorted,
        as metafor's ``predict(..., transf=)`` does, so decreasing transformations
        work too. The standard error has no meaning on the new scale and is
        not returned.
        """
        if not callable(transf):
            raise UserInputError(f"transf={transf!r} must be a callable taking a float.")

        def f(x: float) -> float:
            return float(transf(x)) if not math.isnan(x) else math.nan

        ci = sorted((f(self.ci_lb), f(self.ci_ub)))
        pi = (math.nan, math.nan)
        if not (math.isnan(self.pi_lb) or math.isnan(self.pi_ub)):
            pi = tuple(sorted((f(self.pi_lb), f(self.pi_ub))))  # type: ignore[assignment]
        return TransformedResult(f(self.estimate), ci[0], ci[1], pi[0], pi[1])

    backtransform = transformed

    # ------------------------------------------------------------------ display --
    def __str__(self) -> str:
        lines: list[str] = []
        mr = self.p > 1
        if self.method == "EE":
            kind = "Equal-Effects Model" if not mr else "Equal-Effects with Moderators Model"
            lines.append(f"{kind} (k = {self.k})")
        else:
            kind = "Random-Effects Model" if not mr else "Mixed-Effects Model"
            lines.append(f"{kind} (k = {self.k}; tau^2 estimator: {self.method})")
        lines.append("")
        res = "residual " if mr else ""
        var_label = "unaccounted" if mr else "total"
        if self.method != "EE":
            lines.append(
                f"tau^2 (estimated amount of {res or 'total '}heterogeneity): "
                f"{_fmt(self.tau2)} (SE = {_fmt(self.se_tau2)})"
            )
            lines.append(
                f"tau (square root of estimated tau^2 value): {_fmt(math.sqrt(self.tau2))}"
            )
        lines.append(
            f"I^2 ({res or 'total '}heterogeneity / {var_label} variability): {_fmt(self.I2, 2)}%"
        )
        lines.append(f"H^2 ({var_label} variability / sampling variability): {_fmt(self.H2, 2)}")
        lines.append("")
        lines.append(f"Test for {'Residual ' if mr else ''}Heterogeneity:")
        qname = "QE" if mr else "Q"
        lines.append(f"{qname}(df = {self.k - self.p}) = {_fmt(self.QE)}, p-val {_p_eq(self.QEp)}")
        if mr:
            lines.append("")
            if self.test == "knha":
                lines.append(
                    f"Test of Moderators (coefficients 2:{self.p}):\n"
                    f"F(df1 = {self.QMdf[0]}, df2 = {self.QMdf[1]}) = {_fmt(self.QM)}, "
                    f"p-val {_p_eq(self.QMp)}"
                )
            else:
                lines.append(
                    f"Test of Moderators (coefficients 2:{self.p}):\n"
                    f"QM(df = {self.QMdf[0]}) = {_fmt(self.QM)}, p-val {_p_eq(self.QMp)}"
                )
        lines.append("")
        lines.append("Model Results:")
        lines.append("")
        stat = "tval" if self.test == "knha" else "zval"
        header = ["", "estimate", "se", stat] + (["df"] if self.test == "knha" else [])
        header += ["pval", "ci.lb", "ci.ub", ""]
        rows = [header]
        for c in self.coefficients:
            row = [c.name, _fmt(c.estimate), _fmt(c.se), _fmt(c.zval)]
            if self.test == "knha":
                row.append(str(self.df))
            row += [_fmt_p(c.pval), _fmt(c.ci_lb), _fmt(c.ci_ub), _stars(c.pval)]
            rows.append(row)
        if not mr:
            rows = [r[1:] for r in rows]
        widths = [max(len(r[j]) for r in rows) for j in range(len(rows[0]))]
        for r in rows:
            lines.append("  ".join(s.rjust(wd) for s, wd in zip(r, widths, strict=True)).rstrip())
        lines.append("")
        lines.append("---\nSignif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1")
        if not mr and not math.isnan(self.pi_lb):
            lines.append("")
            lines.append(
                f"{self.level:g}% prediction interval: [{_fmt(self.pi_lb)}, {_fmt(self.pi_ub)}]"
            )
        if self.k_excluded:
            lines.append(
                f"\n{self.k_excluded} stud{'y' if self.k_excluded == 1 else 'ies'} "
                "excluded for missing values."
            )
        for note in self.notes:
            lines.append(f"Note: {note}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        stat = "tval" if self.test == "knha" else "zval"
        head = "".join(
            f"<th>{h}</th>" for h in ("", "estimate", "se", stat, "pval", "ci.lb", "ci.ub")
        )
        body = "".join(
            "<tr>"
            + f"<th>{html.escape(c.name)}</th>"
            + "".join(
                f"<td>{v}</td>"
                for v in (
                    _fmt(c.estimate),
                    _fmt(c.se),
                    _fmt(c.zval),
                    _fmt_p(c.pval),
                    _fmt(c.ci_lb),
                    _fmt(c.ci_ub),
                )
            )
            + "</tr>"
            for c in self.coefficients
        )
        het = (
            f"k = {self.k}; method = {html.escape(self.method)}; test = {self.test}; "
            f"τ² = {_fmt(self.tau2)}; I² = {_fmt(self.I2, 2)}%; H² = {_fmt(self.H2, 2)}; "
            f"Q({self.k - self.p}) = {_fmt(self.QE)}, p {_p_eq(self.QEp)}"
        )
        pi = (
            ""
            if math.isnan(self.pi_lb)
            else f"<p>{self.level:g}% PI: [{_fmt(self.pi_lb)}, {_fmt(self.pi_ub)}]</p>"
        )
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return (
            f"<div><p>{html.escape(het)}</p><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>{pi}" + (f"<ul>{notes}</ul>" if notes else "") + "</div>"
        )


def _p_eq(p: float) -> str:
    return "< .0001" if p < 1e-4 else f"= {_fmt(p)}"


# ======================================================================= fit ====


def _fit(
    prep: _Prepared,
    method: str,
    test: str,
    level: float,
    con: dict[str, Any],
    measure: str | None,
    *,
    with_ci: bool = True,
) -> MetaResult:
    yi, vi, X = prep.yi, prep.vi, prep.X
    k, p = X.shape
    notes: list[str] = []
    if method == "EE":
        if k < p:
            raise UserInputError(
                f"mods: {p} coefficients cannot be estimated from k = {k} studies (need k >= p)."
            )
    elif p + 1 > k and not (k == 1 and p == 1):
        raise UserInputError(
            f"mods: {p} coefficients plus τ² cannot be estimated from k = {k} studies "
            f"(need k >= p + 1 for method={method!r}; use method='EE' or fewer moderators)."
        )
    if k == 1:
        notes.append(
            "k = 1: the result is the single study itself; τ² is fixed at 0 and no "
            "heterogeneity can be estimated (as metafor)."
        )
        if test == "knha":
            notes.append('k = 1: test="knha" is not possible; test="z" used (as metafor).')
            test = "z"
    if method == "EE" and test == "knha":
        notes.append(
            "The Knapp-Hartung method is not meant to be used with the equal-effects model "
            "(metafor warns likewise); results computed as requested."
        )

    est = tau2_estimate(yi, vi, method, X, con)
    if k > 1:  # the k = 1 note above already says that τ² is fixed at 0
        notes.extend(est.notes)
    tau2 = est.tau2
    w = 1.0 / (vi + tau2)
    b, vb = _wls(yi, w, X)
    df: int | None = None
    if test == "knha":
        rss = float(np.sum(w * (yi - X @ b) ** 2))
        s2w = 0.0 if rss <= np.finfo(float).eps else rss / (k - p) if k > p else math.nan
        vb = s2w * vb
        df = k - p
    se = np.sqrt(np.diag(vb))
    with np.errstate(divide="ignore", invalid="ignore"):
        zval = b / se
    alpha = 1.0 - level / 100.0
    if df is not None:
        if df > 0:
            pval = 2.0 * special.stdtr(df, -np.abs(zval))
            crit = float(-special.stdtrit(df, alpha / 2))
        else:
            pval = np.full(p, math.nan)
            crit = math.nan
    else:
        pval = 2.0 * special.ndtr(-np.abs(zval))
        crit = float(-special.ndtri(alpha / 2))
    ci_lb = b - crit * se
    ci_ub = b + crit * se

    # omnibus test of moderators (of the intercept when there are none)
    btt = np.arange(1, p) if p > 1 else np.array([0])
    m = btt.size
    try:
        qm = float(b[btt] @ np.linalg.solve(vb[np.ix_(btt, btt)], b[btt]))
    except np.linalg.LinAlgError:
        qm = math.nan
    if test == "knha":
        qm = qm / m
        qmdf: tuple[int, int | None] = (m, k - p)
        qmp = float(special.fdtrc(m, k - p, qm)) if k - p > 0 else math.nan
    else:
        qmdf = (m, None)
        qmp = float(special.chdtrc(m, qm))

    qe, _, qep = q_statistic(yi, vi, X)
    i2, h2 = heterogeneity_indices(tau2, vi, X, qe, method)

    if method == "EE" or p > 1:
        pi_lb = pi_ub = math.nan
    else:
        spred = math.sqrt(se[0] ** 2 + tau2)
        pi_lb, pi_ub = float(b[0] - crit * spred), float(b[0] + crit * spred)

    t_lb = t_ub = math.nan
    if with_ci and method != "EE" and k > 1:
        t_lb, t_ub, ci_notes = tau2_q_profile_ci(yi, vi, X, level, tau2, con)
        notes.extend(ci_notes)

    coefs = tuple(
        Coefficient(
            prep.names[j],
            float(b[j]),
            float(se[j]),
            float(zval[j]),
            float(pval[j]),
            float(ci_lb[j]),
            float(ci_ub[j]),
        )
        for j in range(p)
    )
    return MetaResult(
        k=k,
        k_excluded=len(prep.excluded),
        excluded=prep.excluded,
        method=method,
        test=test,
        level=level,
        estimate=coefs[0].estimate,
        se=coefs[0].se,
        zval=coefs[0].zval,
        pval=coefs[0].pval,
        ci_lb=coefs[0].ci_lb,
        ci_ub=coefs[0].ci_ub,
        pi_lb=pi_lb,
        pi_ub=pi_ub,
        tau2=float(tau2),
        se_tau2=float(est.se_tau2),
        tau2_ci_lb=float(t_lb),
        tau2_ci_ub=float(t_ub),
        I2=float(i2),
        H2=float(h2),
        QE=float(qe),
        QEp=float(qep),
        df=df,
        converged=est.converged,
        iterations=est.iterations,
        weights=_readonly(100.0 * w / np.sum(w)),
        yi=_readonly(yi),
        vi=_readonly(vi),
        slab=prep.slab,
        measure=measure,
        notes=tuple(notes),
        coefficients=coefs,
        QM=qm,
        QMdf=qmdf,
        QMp=qmp,
        p=p,
        index=prep.index,
        control=MappingProxyType(dict(con)),
    )


def rma(
    yi: Sequence[float] | _Array,
    vi: Sequence[float] | _Array,
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 95,
    mods: object = None,
    slab: Sequence[object] | None = None,
    measure: str | None = None,
    control: Mapping[str, Any] | None = None,
) -> MetaResult:
    r"""Fit an equal-, random- or mixed-effects model, as metafor's ``rma.uni``.

    Parameters
    ----------
    yi, vi : array-like of shape (k,)
        Observed effect sizes and their sampling variances. Rows with NaN are
        excluded (with a :class:`~synthesis.warnings.DataQualityWarning`).
    method : str, default "REML"
        τ² estimator: ``"EE"`` (alias ``"FE"``), ``"DL"``, ``"HE"``, ``"SJ"``,
        ``"PM"``, ``"ML"``, ``"REML"``, ``"EB"``; see :func:`tau2_estimate`.
    test : {"z", "knha"}, default "z"
        Wald-type z tests, or the Knapp-Hartung method :cite:`knapp2003improved`:
        ``Var(b) = s² (X'WX)⁻¹`` with ``s² = y'Py/(k−p)`` (not truncated at 1), t
        and F tests with ``k − p`` degrees of freedom. When all residuals are zero
        (identical ``yi``) ``s² = 0``: se = 0, p = 0 and a zero-width CI, as metafor.
    level : float, default 95
        Confidence level in percent, in (1, 100). Values <= 1 are refused because
        metafor would read them as proportions.
    mods : array-like, mapping or DataFrame, optional
        Moderators (without intercept column; the intercept is always included).
        Non-numeric columns become treatment dummies (first sorted level as
        reference), as ``factor()`` in R.
    slab : sequence, optional
        Study labels (default ``"Study 1"``, …).
    measure : str, optional
        Effect-size measure code (e.g. ``"RR"``), carried into the result.
    control : mapping, optional
        Algorithm settings, see :data:`DEFAULT_CONTROL`.

    Returns
    -------
    MetaResult

    Raises
    ------
    UserInputError
        Unknown ``method``/``test``/control key; ``level`` outside (0, 100);
        mismatched lengths; non-finite ``yi``; non-positive or infinite ``vi``;
        k = 0 after exclusions; more coefficients than studies allow; a
        rank-deficient moderator matrix (metafor drops redundant columns with a
        warning; we refuse rather than change the model silently).

    Warns
    -----
    DataQualityWarning
        When rows with missing values are excluded.
    ConvergenceWarning
        When Fisher scoring (ML/REML/EB) does not converge within ``maxiter``
        (metafor stops with an error instead). The result then has
        ``converged=False`` and τ² is the last iterate, recorded in ``notes``.

    Notes
    -----
    With k = 1 the result is the study itself: τ² = 0, QE = 0, QEp = 1, I² = 0,
    H² = 1, no standard error or CI for τ², and ``test="z"`` — all as metafor.
    The prediction interval is :cite:`riley2011interpretation`'s
    ``b ± crit √(SE² + τ²)`` with metafor's choice of ``crit`` (normal under z,
    t(k − p) under knha).
    """
    method = _check_method(method)
    test = _check_test(test)
    level = _check_level(level)
    con = _check_control(control)
    prep = _prepare(yi, vi, mods, slab)
    return _fit(prep, method, test, level, con, measure)


# ================================================================== analyses ====


def _split_args(
    data: MetaResult | Sequence[float] | _Array, vi: object, rma_kwargs: dict[str, Any]
) -> tuple[_Array, _Array, tuple[str, ...], dict[str, Any]]:
    """Data and fit settings from a :class:`MetaResult` or from ``yi, vi, **kwargs``."""
    if isinstance(data, MetaResult):
        if vi is not None:
            raise UserInputError("vi must not be given together with a fitted MetaResult.")
        if data.p > 1:
            raise UserInputError("this analysis needs a model without moderators (mods=None).")
        kw = {
            "method": data.method,
            "test": data.test,
            "level": data.level,
            "control": dict(data.control),
            "measure": data.measure,
        }
        kw.update(rma_kwargs)
        return np.asarray(data.yi), np.asarray(data.vi), data.slab, kw
    if vi is None:
        raise UserInputError("vi is required when the first argument is not a MetaResult.")
    if rma_kwargs.get("mods") is not None:
        raise UserInputError("this analysis needs a model without moderators (mods=None).")
    kw = dict(rma_kwargs)
    slab = kw.pop("slab", None)
    prep = _prepare(data, vi, None, slab, stacklevel=5)
    return prep.yi, prep.vi, prep.slab, kw


def _settings(kw: dict[str, Any]) -> tuple[str, str, float, dict[str, Any], str | None]:
    allowed = {"method", "test", "level", "control", "measure", "mods"}
    unknown = sorted(set(kw) - allowed)
    if unknown:
        raise UserInputError(f"unknown keyword argument(s) {unknown}; allowed: {sorted(allowed)}.")
    return (
        _check_method(kw.get("method", "REML")),
        _check_test(kw.get("test", "z")),
        _check_level(kw.get("level", 95)),
        _check_control(kw.get("control")),
        kw.get("measure"),
    )


def _plain(
    yi: _Array,
    vi: _Array,
    slab: Sequence[str],
    X: _Array | None = None,
    names: tuple[str, ...] = ("intrcpt",),
) -> _Prepared:
    k = yi.size
    return _Prepared(
        yi=np.asarray(yi, dtype=float),
        vi=np.asarray(vi, dtype=float),
        X=_intercept(k) if X is None else X,
        names=names,
        slab=tuple(slab),
        index=tuple(range(k)),
        excluded=(),
    )


_FRAME_COLUMNS = vocabulary.MANY_FIELDS


def _frame_row(r: MetaResult) -> dict[str, float]:
    return {
        "estimate": r.estimate,
        "se": r.se,
        "zval": r.zval,
        "pval": r.pval,
        "ci_lb": r.ci_lb,
        "ci_ub": r.ci_ub,
        "Q": r.QE,
        "Qp": r.QEp,
        "tau2": r.tau2,
        "I2": r.I2,
        "H2": r.H2,
    }


def _batched_frame(
    yi: _Array,
    vi: _Array,
    columns: Callable[[_Array], _Array],
    n: int,
    method: str,
    test: str,
    level: float,
    con: dict[str, Any],
    index: pd.Index,
) -> pd.DataFrame:
    """Fit ``n`` intercept-only models at once with :mod:`synthesis.batch`.

    ``columns(rows)`` gives, for analysis numbers ``rows``, the study positions of
    each analysis as a ``(len(rows), m)`` integer array (−1 = absent). Blocks of
    analyses bound the memory to about 2¹⁸ cells.
    """
    import pandas as pd

    from synthesis import batch

    step = max(1, (1 << 18) // max(yi.size, 1))
    parts = []
    for start in range(0, n, step):
        pos = columns(np.arange(start, min(n, start + step)))
        absent = pos < 0
        Y = np.where(absent, np.nan, yi[pos])
        V = np.where(absent, np.nan, vi[pos])
        parts.append(batch._fit_block(Y, V, method, test, level, con, False))
    res = {c: np.concatenate([part[c] for part in parts]) for c in batch.COLUMNS}
    batch._warn(res, list(index), method)
    out = {
        "estimate": res["estimate"],
        "se": res["se"],
        "zval": res["zval"],
        "pval": res["pval"],
        "ci_lb": res["ci_lb"],
        "ci_ub": res["ci_ub"],
        "Q": res["QE"],
        "Qp": res["QEp"],
        "tau2": res["tau2"],
        "I2": res["I2"],
        "H2": res["H2"],
    }
    return pd.DataFrame(out, index=index, columns=list(_FRAME_COLUMNS))


def leave1out(
    data: MetaResult | Sequence[float] | _Array, vi: object = None, **rma_kwargs: Any
) -> pd.DataFrame:
    """Leave-one-out analysis, as metafor's ``leave1out``.

    Refits the model ``k`` times, each time omitting one study.

    Parameters
    ----------
    data : MetaResult or array-like
        A fitted intercept-only model (its data and settings are reused), or ``yi``.
    vi : array-like, optional
        Sampling variances when ``data`` is ``yi``.
    **rma_kwargs
        ``method``, ``test``, ``level``, ``control``, ``slab``, ``measure`` as for
        :func:`rma` (override the model's when ``data`` is a MetaResult).

    Returns
    -------
    pandas.DataFrame
        One row per omitted study (indexed by its slab) with columns ``estimate, se,
        zval, pval, ci_lb, ci_ub, Q, Qp, tau2, I2, H2`` (``zval`` is t under knha).
    """
    import pandas as pd

    yi, v, slab, kw = _split_args(data, vi, rma_kwargs)
    method, test, level, con, _measure = _settings(kw)
    if yi.size < 2:
        raise UserInputError(f"leave1out needs at least 2 studies; got k = {yi.size}.")
    k = yi.size
    cols = np.arange(k - 1)

    def omit(rows: _Array) -> _Array:  # analysis i uses every study but i
        return cols[None, :] + (cols[None, :] >= rows[:, None])

    index = pd.Index(slab, name="omitted")
    return _batched_frame(yi, v, omit, k, method, test, level, con, index)


def cumul(
    data: MetaResult | Sequence[float] | _Array,
    vi: object = None,
    *,
    order: Sequence[float] | _Array | None = None,
    **rma_kwargs: Any,
) -> pd.DataFrame:
    """Cumulative meta-analysis, as metafor's ``cumul``.

    Studies are added one at a time in the order of ``order`` (ascending sort keys,
    ties kept in input order — R's ``order()``), or in input order when ``order`` is
    None, and the model is refitted after each addition.

    Parameters
    ----------
    data, vi, **rma_kwargs
        As for :func:`leave1out`.
    order : array-like, optional
        Sort keys, one per study (per *input* row when ``data`` is ``yi``, per
        included study when ``data`` is a MetaResult).

    Returns
    -------
    pandas.DataFrame
        One row per step, indexed by the slab of the study added, with the columns
        of :func:`leave1out`.
    """
    import pandas as pd

    if isinstance(data, MetaResult):
        yi, v, slab, kw = _split_args(data, vi, rma_kwargs)
        keys = None if order is None else _as_vector(order, "order")
        if keys is not None and keys.size != yi.size:
            raise UserInputError(
                f"order has {keys.size} values but the model has k = {yi.size} studies."
            )
    else:
        if vi is None:
            raise UserInputError("vi is required when the first argument is not a MetaResult.")
        kw = dict(rma_kwargs)
        slab_in = kw.pop("slab", None)
        if kw.get("mods") is not None:
            raise UserInputError("cumul needs a model without moderators (mods=None).")
        prep = _prepare(data, vi, None, slab_in, stacklevel=4)
        yi, v, slab = prep.yi, prep.vi, prep.slab
        keys = None
        if order is not None:
            full = _as_vector(order, "order")
            n_in = _as_vector(data, "yi").size
            if full.size != n_in:
                raise UserInputError(f"order has {full.size} values but yi has {n_in}.")
            keys = full[list(prep.index)]
    method, test, level, con, _measure = _settings(kw)
    idx = np.arange(yi.size) if keys is None else np.argsort(keys, kind="stable")

    def first(rows: _Array) -> _Array:  # step s uses the first s + 1 studies in order
        return np.where(np.arange(idx.size)[None, :] <= rows[:, None], idx[None, :], -1)

    index = pd.Index([slab[j] for j in idx], name="added")
    return _batched_frame(yi, v, first, yi.size, method, test, level, con, index)


@dataclass(frozen=True)
class RegtestResult:
    """Egger-type regression test for funnel-plot asymmetry.

    ``zval`` is the test statistic of the ``sei`` coefficient (t under knha), ``df``
    its degrees of freedom (None under z, as metafor), and ``est``/``ci_lb``/``ci_ub``
    the limit estimate (the intercept: the expected effect as ``sei → 0``).
    """

    zval: float
    pval: float
    df: int | None
    est: float
    ci_lb: float
    ci_ub: float
    fit: MetaResult = field(repr=False)
    model: str = "rma"
    predictor: str = "sei"


def regtest(
    data: MetaResult | Sequence[float] | _Array, vi: object = None, **rma_kwargs: Any
) -> RegtestResult:
    r"""Regression test for funnel-plot asymmetry, as metafor's default ``regtest``.

    Fits the meta-regression ``yᵢ = β₀ + β₁ √vᵢ + uᵢ + eᵢ`` with the model's
    ``method``/``test``/``level`` (``model="rma", predictor="sei"``) and tests
    ``β₁ = 0`` :cite:`egger1997bias`. ``β₀`` is the limit estimate.

    Parameters
    ----------
    data, vi, **rma_kwargs
        As for :func:`leave1out`.

    Returns
    -------
    RegtestResult
    """
    yi, v, slab, kw = _split_args(data, vi, rma_kwargs)
    method, test, level, con, measure = _settings(kw)
    X = np.column_stack([np.ones(yi.size), np.sqrt(v)])
    if np.linalg.matrix_rank(X) < 2:
        raise UserInputError(
            "regtest: all sampling variances are equal, so sei cannot be a predictor."
        )
    fit = _fit(_plain(yi, v, slab, X, ("intrcpt", "sei")), method, test, level, con, measure)
    c = fit.coefficients
    return RegtestResult(
        zval=c[1].zval,
        pval=c[1].pval,
        df=fit.df,
        est=c[0].estimate,
        ci_lb=c[0].ci_lb,
        ci_ub=c[0].ci_ub,
        fit=fit,
    )


@dataclass(frozen=True)
class TrimfillResult:
    """Trim-and-fill result: ``k0`` imputed studies on ``side`` and the filled fit.

    ``yi``/``vi``/``slab`` hold the observed studies followed by the ``k0`` imputed
    ones; ``fill`` marks the imputed rows (``True``). ``se_k0`` is the standard
    error of the L0 estimator.
    """

    k0: int
    se_k0: float
    side: str
    fit: MetaResult
    original: MetaResult = field(repr=False)
    yi: _Array = field(compare=False, repr=False)
    vi: _Array = field(compare=False, repr=False)
    fill: _Array = field(compare=False, repr=False)
    slab: tuple[str, ...] = field(repr=False)
    iterations: int = 0


def trimfill(
    data: MetaResult | Sequence[float] | _Array,
    vi: object = None,
    *,
    side: str | None = None,
    maxiter: int = 100,
    **rma_kwargs: Any,
) -> TrimfillResult:
    r"""Trim-and-fill :cite:`duval2000trim`, as metafor's ``trimfill`` (L0 estimator).

    If ``side`` is None, it is estimated as metafor does: regress ``yᵢ`` on
    ``√vᵢ`` with the model's ``method``; a negative slope means studies are missing
    on the ``"right"``, otherwise on the ``"left"``. Then, with ``yᵢ`` mirrored for
    ``"right"`` and sorted, iterate: fit the model to the ``k − k₀`` smallest values,
    centre all ``yᵢ`` at that estimate ``b``, rank ``|yᵢ − b|`` (ties by position),
    and set

    .. math:: k_0 = \max\left(0, \operatorname{round}\frac{4 S_r - k(k+1)}{2k-1}\right)

    with ``S_r`` the sum of the ranks of the positive centred values, until ``k₀``
    no longer changes. The ``k₀`` most extreme studies are mirrored about ``b`` and
    the model is refitted to the filled data with the same method, test and level.

    Parameters
    ----------
    data, vi, **rma_kwargs
        As for :func:`leave1out`.
    side : {"left", "right"}, optional
        Side on which studies are assumed missing.
    maxiter : int, default 100
        Maximum number of trim-and-fill iterations.

    Returns
    -------
    TrimfillResult

    Raises
    ------
    UserInputError
        For k < 3, an unknown ``side``, or no convergence within ``maxiter``
        (metafor stops with an error as well).
    """
    yi, v, slab, kw = _split_args(data, vi, rma_kwargs)
    method, test, level, con, measure = _settings(kw)
    if side is not None and side not in ("left", "right"):
        raise UserInputError(f"side={side!r} is not allowed; use 'left', 'right' or None.")
    k = yi.size
    if k < 3:
        raise UserInputError(f"trimfill needs at least 3 studies; got k = {k}.")
    original = (
        data
        if isinstance(data, MetaResult) and not rma_kwargs
        else _fit(_plain(yi, v, slab), method, test, level, con, measure)
    )
    if side is None:
        X = np.column_stack([np.ones(k), np.sqrt(v)])
        sfit = _fit(
            _plain(yi, v, slab, X, ("intrcpt", "sei")),
            method,
            "z",
            95.0,
            con,
            None,
            with_ci=False,
        )
        side = "right" if sfit.coefficients[1].estimate < 0 else "left"
    y = -yi if side == "right" else yi.copy()
    ix = np.argsort(y, kind="stable")
    y, vs = y[ix], v[ix]
    k0_prev, k0, it = -1, 0, 0
    se_k0 = math.nan
    b = math.nan
    while k0 != k0_prev:
        k0_prev = k0
        it += 1
        if it > maxiter:
            raise UserInputError(
                f"trimfill did not converge in maxiter={maxiter} iterations; raise maxiter."
            )
        sub = _plain(y[: k - k0], vs[: k - k0], [""] * (k - k0))
        b = _fit(sub, method, "z", 95.0, con, None, with_ci=False).estimate
        yc = y - b
        order = np.argsort(np.abs(yc), kind="stable")
        ranks = np.empty(k)
        ranks[order] = np.arange(1, k + 1)
        signed = np.sign(yc) * ranks
        sr = float(signed[signed > 0].sum())
        k0f = (4 * sr - k * (k + 1)) / (2 * k - 1)
        var_sr = (
            k * (k + 1) * (2 * k + 1)
            + 10 * k0f**3
            + 27 * k0f**2
            + 17 * k0f
            - 18 * k * k0f**2
            - 18 * k * k0f
            + 6 * k**2 * k0f
        ) / 24
        se_k0 = max(0.0, 4 * math.sqrt(var_sr) / (2 * k - 1)) if var_sr >= 0 else math.nan
        k0 = max(0, round(k0f))
    if k0 > 0:
        mirrored = 2 * b - y[k - k0 :]
        filled = -mirrored if side == "right" else mirrored
        yi_f = np.concatenate([yi, filled])
        vi_f = np.concatenate([v, vs[k - k0 :]])
        slab_f = (*slab, *(f"Filled {j + 1}" for j in range(k0)))
        fit = _fit(_plain(yi_f, vi_f, slab_f), method, test, level, con, measure)
    else:
        yi_f, vi_f, slab_f, fit = yi, v, tuple(slab), original
    fill = np.zeros(yi_f.size, dtype=bool)
    fill[k:] = True
    fill.setflags(write=False)
    return TrimfillResult(
        k0=int(k0),
        se_k0=float(se_k0),
        side=side,
        fit=fit,
        original=original,
        yi=_readonly(yi_f),
        vi=_readonly(vi_f),
        fill=fill,
        slab=tuple(slab_f),
        iterations=it,
    )


@dataclass(frozen=True)
class SubgroupResult:
    """Subgroup analysis with the test for subgroup differences computed two ways.

    Attributes
    ----------
    groups
        Group labels in sorted order (the factor levels; the first is the reference
        of the meta-regression).
    fits
        Read-only mapping label → :class:`MetaResult` of the separate per-group fits
        (each with its own τ²).
    between
        Equal-effects fit to the subgroup estimates with their standard errors; its
        ``QE`` is the test for subgroup differences (way a).
    Qb, Qb_df, Qb_p
        That test: Q-between, ``df = G − 1`` and its χ² p-value.
    mixed
        Mixed-effects meta-regression with the group as a factor and a common τ²
        (way b); ``QM, QMdf, QMp`` are its omnibus test of the group dummies (F under
        knha).
    """

    groups: tuple[str, ...]
    fits: Mapping[str, MetaResult] = field(compare=False)
    between: MetaResult
    Qb: float
    Qb_df: int
    Qb_p: float
    mixed: MetaResult
    QM: float
    QMdf: tuple[int, int | None]
    QMp: float

    def to_frame(self) -> pd.DataFrame:
        """One row per subgroup (``k, estimate, se, ci_lb, ci_ub, tau2, I2, QE, QEp``)."""
        import pandas as pd

        cols = ("k", "estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "tau2", "I2", "QE", "QEp")
        return pd.DataFrame(
            [{c: getattr(self.fits[g], c) for c in cols} for g in self.groups],
            index=pd.Index(self.groups, name="group"),
        )


def subgroup(
    yi: Sequence[float] | _Array,
    vi: Sequence[float] | _Array,
    groups: Sequence[object],
    **rma_kwargs: Any,
) -> SubgroupResult:
    r"""Per-subgroup fits and the test for subgroup differences, both ways.

    (a) Separate τ² per subgroup: each subgroup is fitted with ``rma_kwargs``; the
    subgroup estimates ``θ̂_g`` with standard errors ``SE_g`` are then combined in an
    equal-effects model, whose
    :math:`Q_b = \sum_g (\hat\theta_g - \bar\theta)^2 / SE_g^2 \sim \chi^2_{G-1}`
    is RevMan's "test for subgroup differences" (metafor:
    ``rma(est, sei=se, method="FE")``).

    (b) Common τ²: the mixed-effects meta-regression ``rma(yi, vi, mods=~factor(group))``
    and its omnibus test ``QM`` of the group dummies (χ²(G − 1) under z, F under knha).

    Parameters
    ----------
    yi, vi : array-like of shape (k,)
    groups : sequence of shape (k,)
        Group label per study (converted to ``str``; None/NaN labels are excluded
        with a :class:`~synthesis.warnings.DataQualityWarning`).
    **rma_kwargs
        ``method``, ``test``, ``level``, ``control``, ``slab``, ``measure`` for the
        per-group fits and the meta-regression.

    Returns
    -------
    SubgroupResult
    """
    import pandas as pd

    kw = dict(rma_kwargs)
    if kw.get("mods") is not None:
        raise UserInputError("subgroup builds its own moderator from groups; do not pass mods.")
    kw.pop("mods", None)
    slab = kw.pop("slab", None)
    method, test, level, con, measure = _settings(kw)
    g = pd.Series(list(groups), dtype=object)
    y_arr = _as_vector(yi, "yi")
    if len(g) != y_arr.size:
        raise UserInputError(f"groups has {len(g)} labels but yi has {y_arr.size} values.")
    labels = g.where(~g.isna(), other=None)
    distinct = sorted({str(v) for v in labels if v is not None})
    if len(distinct) < 2:
        raise UserInputError(f"groups has {len(distinct)} distinct label(s) {distinct}; need >= 2.")
    frame = pd.DataFrame({"group": [None if v is None else str(v) for v in labels]})
    prep = _prepare(yi, vi, frame.astype({"group": object}), slab, stacklevel=3)
    lab_kept = [str(labels[i]) for i in prep.index]
    levels = tuple(sorted(set(lab_kept)))
    if len(levels) < 2:
        raise UserInputError(
            f"groups has {len(levels)} distinct label(s) {list(levels)}; need >= 2."
        )
    fits: dict[str, MetaResult] = {}
    lab_arr = np.array(lab_kept, dtype=object)
    for lev in levels:
        sel = lab_arr == lev
        sub = _plain(
            prep.yi[sel], prep.vi[sel], [s for s, m in zip(prep.slab, sel, strict=True) if m]
        )
        fits[lev] = _fit(sub, method, test, level, con, measure)
    est = np.array([fits[lev].estimate for lev in levels])
    se = np.array([fits[lev].se for lev in levels])
    if not np.all(np.isfinite(se) & (se > 0)):
        raise UserInputError(
            "subgroup: a subgroup estimate has a zero or undefined standard error "
            f"({dict(zip(levels, se.tolist(), strict=True))}); the test for subgroup "
            "differences cannot be computed."
        )
    between = _fit(_plain(est, se**2, levels), "EE", "z", level, con, measure)
    mixed = _fit(prep, method, test, level, con, measure)
    return SubgroupResult(
        groups=levels,
        fits=MappingProxyType(fits),
        between=between,
        Qb=between.QE,
        Qb_df=len(levels) - 1,
        Qb_p=between.QEp,
        mixed=mixed,
        QM=mixed.QM,
        QMdf=mixed.QMdf,
        QMp=mixed.QMp,
    )
