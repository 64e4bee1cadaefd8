r"""The model fit for a block of analyses: coefficients, tests, heterogeneity, intervals.

:func:`fit_block` is the one fit of the package: :func:`synthesis.stats.rma` calls it
with a block of one analysis (with any design), the many-analyses API with blocks of
thousands of intercept-only analyses. It returns plain arrays (no checks, no
warnings, no printing): the columns of :data:`synthesis.vocabulary.RESULT_FIELDS`
plus the coefficient arrays.

With τ² from :func:`synthesis.stats.tau2.estimate_tau2`, ``wᵢ = 1/(vᵢ + τ²)`` and
``A = (X'WX)⁻¹``: ``b = A X'Wy`` and ``Var(b) = A`` (``test="z"``), or
``Var(b) = s² A`` with ``s² = Σwᵢrᵢ²/(k − p)`` and t/F tests on ``k − p`` degrees of
freedom (``test="knha"``, :cite:`knapp2003improved`; ``s² = 0`` when every residual
is 0, as metafor). I² and H² follow :cite:`higgins2002quantifying` with metafor's
"typical" sampling variance ``s² = (k − p)/tr(P_EE)`` (Q-based for EE). The
prediction interval :cite:`riley2011interpretation` is ``b ± crit √(SE² + τ²)``
(intercept-only random-effects models).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import special

from synthesis.stats.tau2 import Block, estimate_tau2, q_profile, q_stat, tr_pd, weights, wls
from synthesis.vocabulary import RESULT_FIELDS

__all__ = ["fit_block"]

_Array = np.ndarray
_EPS = float(np.finfo(float).eps)


def _omnibus(b: _Array, vb: _Array, p: int) -> _Array:
    """Wald statistic of the moderators (of the intercept when there are none)."""
    if p == 1:
        with np.errstate(divide="ignore", invalid="ignore"):
            return b[:, 0] ** 2 / vb[:, 0, 0]
    bt = b[:, 1:]
    out = np.full(b.shape[0], np.nan)
    for i in range(b.shape[0]):  # p > 1 only for single fits (n = 1)
        try:
            out[i] = float(bt[i] @ np.linalg.solve(vb[i, 1:, 1:], bt[i]))
        except np.linalg.LinAlgError:
            out[i] = np.nan
    return out


def fit_block(
    d: Block,
    method: str,
    test: str,
    level: float,
    con: Mapping[str, Any],
    tau2_ci: bool,
) -> dict[str, Any]:
    """Fit every analysis of ``d``; see :func:`_fit_block` (floating-point warnings off)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return _fit_block(d, method, test, level, con, tau2_ci)


def _fit_block(
    d: Block,
    method: str,
    test: str,
    level: float,
    con: Mapping[str, Any],
    tau2_ci: bool,
) -> dict[str, Any]:
    """Fit every analysis of ``d`` (k ≥ 1 each; k ≤ p gives τ² = 0, as metafor).

    Returns
    -------
    dict
        The :data:`~synthesis.vocabulary.RESULT_FIELDS` as arrays of length ``n``
        (NaN where ``k = 0``), plus ``b``, ``se_b``, ``zval_b``, ``pval_b``,
        ``ci_lb_b``, ``ci_ub_b`` (shape ``(n, p)``), ``QM``, ``QMp``, ``QMdf``
        (degrees of freedom of the moderator test), ``weights`` (``(k_max, n)``),
        ``tau2_ci_truncated`` and ``tau2_max`` (the Q-profile search limit) and
        ``change`` (the last change of Fisher scoring).
    """
    n = d.k.size
    p = d.p
    k = d.k
    kk = k.astype(float)
    nan = np.full(n, np.nan)
    out: dict[str, Any] = {c: nan.copy() for c in RESULT_FIELDS}
    out["k"] = k.astype(np.int64)
    out["converged"] = np.ones(n, dtype=bool)
    out["iterations"] = np.zeros(n, dtype=np.int64)
    out["ll0_reset"] = np.zeros(n, dtype=bool)
    out["change"] = np.zeros(n)
    out["tau2_ci_truncated"] = np.zeros(n, dtype=bool)
    out["tau2_max"] = np.full(n, np.nan)
    tau2 = np.zeros(n)
    se_tau2 = np.full(n, np.nan)
    multi = np.flatnonzero(k > p)
    if multi.size and method != "EE":
        est = estimate_tau2(d.take(multi), method, con)
        tau2[multi], se_tau2[multi] = est.tau2, est.se
        out["converged"][multi], out["iterations"][multi] = est.converged, est.iterations
        out["ll0_reset"][multi], out["change"][multi] = est.ll0_reset, est.change
    has = np.flatnonzero(k >= 1)
    full = has.size == n
    dh = d if full else d.take(has)
    kh = kk[has]
    t = tau2[has]
    w = weights(dh, t)
    b, A, r = wls(dh, w)
    knha = np.full(has.size, test in ("knha", "adhoc")) & (kh > 1)
    df = np.where(knha, kh - p, np.nan)
    vb = A
    if knha.any():
        rss = (w * r * r).sum(axis=0)
        s2w = np.where(rss <= _EPS, 0.0, np.where(kh > p, rss / (kh - p), np.nan))
        if test == "adhoc":  # Knapp & Hartung's ad hoc truncation: never narrower than z
            s2w = np.where(np.isnan(s2w), s2w, np.maximum(s2w, 1.0))
        vb = np.where(knha[:, None, None], s2w[:, None, None] * A, A)
    se = np.sqrt(np.diagonal(vb, axis1=1, axis2=2))
    zval = b / se
    alpha = 1.0 - level / 100.0
    qm = _omnibus(b, vb, p)
    m = max(p - 1, 1)
    if knha.any():
        dfk = np.where(knha & (df > 0), df, 1.0)
        bad_df = knha & ~(df > 0)
        pval = np.where(
            knha[:, None],
            2.0 * special.stdtr(dfk[:, None], -np.abs(zval)),
            2.0 * special.ndtr(-np.abs(zval)),
        )
        crit = np.where(knha, -special.stdtrit(dfk, alpha / 2), -special.ndtri(alpha / 2))
        crit = np.where(bad_df, np.nan, crit)
        pval[bad_df] = np.nan
        qm = np.where(knha, qm / m, qm)
        qmp = np.where(
            knha,
            np.where(df > 0, special.fdtrc(m, np.where(df > 0, df, 1.0), qm), np.nan),
            special.chdtrc(m, qm),
        )
    else:
        pval = 2.0 * special.ndtr(-np.abs(zval))
        crit = np.full(has.size, -special.ndtri(alpha / 2))
        qmp = special.chdtrc(m, qm)
    resid = kh > p
    q0 = np.maximum(0.0, q_stat(dh, np.zeros(has.size)))
    qe = np.where(resid, q0, 0.0)
    dfr = np.where(resid, kh - p, 1.0)
    qep = np.where(resid, special.chdtrc(dfr, qe), 1.0)
    if method == "EE":
        i2 = np.where(qe <= 0, 0.0, np.maximum(0.0, 100.0 * (qe - dfr) / qe))
        h2 = qe / dfr
    else:
        w0 = 1.0 / dh.V
        _b0, a0, _r0 = wls(dh, w0)
        vt = dfr / tr_pd(dh, w0, a0)
        i2 = 100.0 * t / (vt + t)
        h2 = t / vt + 1.0
    i2 = np.where(resid, i2, 0.0)
    h2 = np.where(resid, h2, 1.0)
    b0, se0 = b[:, 0], se[:, 0]
    if method == "EE" or p > 1:
        pi_lb = pi_ub = np.full(has.size, np.nan)
    else:
        spred = np.sqrt(se0**2 + t)
        pi_lb, pi_ub = b0 - crit * spred, b0 + crit * spred
    coef = {
        "b": b,
        "se_b": se,
        "zval_b": zval,
        "pval_b": pval,
        "ci_lb_b": b - crit[:, None] * se,
        "ci_ub_b": b + crit[:, None] * se,
    }
    for name, val in coef.items():
        arr = np.full((n, p), np.nan)
        arr[has] = val
        out[name] = arr
    out["vb"] = vb if full else None
    for name, val in (
        ("estimate", b0),
        ("se", se0),
        ("zval", zval[:, 0]),
        ("pval", pval[:, 0]),
        ("ci_lb", b0 - crit * se0),
        ("ci_ub", b0 + crit * se0),
        ("pi_lb", pi_lb),
        ("pi_ub", pi_ub),
        ("tau2", t),
        ("se_tau2", se_tau2[has]),
        ("I2", i2),
        ("H2", h2),
        ("QE", qe),
        ("QEp", qep),
        ("df", df),
    ):
        out[name][has] = val
    out["QM"] = np.full(n, np.nan)
    out["QMp"] = np.full(n, np.nan)
    out["QM"][has], out["QMp"][has] = qm, qmp
    out["QMdf"] = m
    wfull = np.zeros(d.Y.shape)
    wfull[:, has] = w
    out["weights"] = wfull
    if tau2_ci and method != "EE" and multi.size:
        lb, ub, trunc, tmax = q_profile(d.take(multi), tau2[multi], level, con)
        out["tau2_ci_lb"][multi], out["tau2_ci_ub"][multi] = lb, ub
        out["tau2_ci_truncated"][multi], out["tau2_max"][multi] = trunc, tmax
    return out
