"""Many independent meta-analyses at once: vectorised ``rma`` for simulations and sweeps.

:func:`synthesis.meta.rma` fits one model and returns a rich
:class:`~synthesis.meta.MetaResult`. This module fits *many* intercept-only
random-effects (or equal-effects) models in one go and returns a
:class:`pandas.DataFrame` with one row per analysis and the numbers ``rma`` would
give for each (same estimators, same conventions, same edge cases), computed with
numpy on 2-D arrays — one row per analysis, NaN padding for unequal ``k`` — as
PyMARE's batched estimators do :cite:`salo2023pymare`.

* :func:`fit_arrays` takes 2-D arrays ``yi``/``vi`` of shape ``(n, k_max)``.
* :func:`fit_many` takes a long-format table with a group column: a pandas
  DataFrame (fitted in this process) or a Dask DataFrame (fitted partition by
  partition on the Dask workers, e.g. a ``dask.distributed`` cluster), so a
  simulation of millions of meta-analyses scales out without changing user code.

Every estimator of :data:`synthesis.meta.METHODS` is vectorised here in numpy:
closed forms for EE, DL :cite:`dersimonian1986meta`, HE
:cite:`hedges1985statistical` and SJ :cite:`sidik2005simple`; Fisher scoring for
ML and REML :cite:`viechtbauer2005bias` and the empirical-Bayes iteration for EB
:cite:`morris1983parametric`, run for all analyses together with each one stopping
at its own convergence; and a safeguarded Newton-bisection root search of the
generalised Q statistic for PM :cite:`paule1982consensus` and for the optional
Q-profile CI of τ² :cite:`viechtbauer2007confidence`. PyMARE's batched estimators
are not used: they default to Knapp-Hartung standard errors, return arbitrary τ²
for REML at k = 1 and compute I²/H² from Q, unlike metafor.

Conventions (as :func:`synthesis.meta.rma`)
--------------------------------------------
* ``level`` is a percentage; ``test`` is ``"z"`` or ``"knha"`` :cite:`knapp2003improved`.
* An analysis with k = 1 is the study itself: τ² = 0, QE = 0, QEp = 1, I² = 0,
  H² = 1, NaN ``se_tau2`` and τ² CI, and the z test even under ``"knha"`` (its
  ``df`` is NaN), as metafor. An analysis with k = 0 is all NaN (with a warning).
* Convergence is reported per analysis (``converged``, ``iterations``) and a
  :class:`~synthesis.warnings.ConvergenceWarning` says how many did not converge;
  ``ll0_reset`` marks ML/REML fits whose τ² was set to 0 because the likelihood is
  larger there (metafor's ``ll0check``), also with a warning.
* The Q-profile CI of τ² costs two more root searches and is off by default
  (``tau2_ci=False``: ``tau2_ci_lb``/``tau2_ci_ub`` are NaN); ``tau2_ci=True``
  computes it as ``rma`` does.
* Meta-regression (``mods``) is not batched; use :func:`synthesis.meta.rma`.

Nothing here seeds a random generator or rounds a number.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import special

from synthesis import vocabulary
from synthesis.errors import UserInputError
from synthesis.meta import _check_control, _check_level, _check_method, _check_test
from synthesis.warnings import ConvergenceWarning, DataQualityWarning

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["COLUMNS", "fit_arrays", "fit_many"]

_Array = np.ndarray

#: Columns of the result of :func:`fit_arrays` (``fit_many`` adds ``k_excluded``).
#: ``zval`` is the t statistic and ``df = k − 1`` under knha (NaN under z).
COLUMNS = vocabulary.RESULT_FIELDS

#: Cells (analyses × k_max) fitted per block: bounds the memory of temporaries.
_BLOCK_CELLS = 1 << 18
_EPS = float(np.finfo(float).eps)


# ====================================================================== core ====


class _Rows:
    """A block of analyses stored by column: arrays of shape ``(k_max, n)``.

    ``Y`` is 0 and ``V`` is +inf where a study is absent, so that the weight
    ``1/(V + τ²)`` is exactly 0 there; ``V0`` is ``V`` with 0 instead of inf and
    ``M`` the mask of present studies. Sums run over axis 0 (the studies), which
    numpy does as vector additions of length ``n``.
    """

    def __init__(self, Y: _Array, V: _Array, M: _Array, V0: _Array) -> None:
        self.Y = Y
        self.V = V
        self.M = M
        self.V0 = V0
        self.k = M.sum(axis=0)

    def take(self, idx: _Array) -> _Rows:
        return _Rows(self.Y[:, idx], self.V[:, idx], self.M[:, idx], self.V0[:, idx])


def _weights(d: _Rows, tau2: _Array) -> _Array:
    return 1.0 / (d.V + tau2[None, :])


def _q_and_deriv(d: _Rows, tau2: _Array) -> tuple[_Array, _Array]:
    """``Q(τ²)`` and ``dQ/dτ² = −Σ wᵢ² rᵢ²`` (envelope theorem), row-wise."""
    w = _weights(d, tau2)
    sw = w.sum(axis=0)
    r = d.Y - ((w * d.Y).sum(axis=0) / sw)[None, :]
    wr2 = w * r * r
    return wr2.sum(axis=0), -(w * wr2).sum(axis=0)


def _q(d: _Rows, tau2: _Array) -> _Array:
    w = _weights(d, tau2)
    sw = w.sum(axis=0)
    r = d.Y - ((w * d.Y).sum(axis=0) / sw)[None, :]
    return (w * r * r).sum(axis=0)


def _tr_pdpd(w: _Array, sw: _Array, d1: _Array | float, d2: _Array | float) -> _Array:
    """Row-wise ``tr(P D₁ P D₂)`` for the intercept-only ``P`` (see ``meta._tr_pdpd``)."""
    w2 = w * w
    return (
        (w2 * d1 * d2).sum(axis=0)
        - 2.0 * (w2 * w * d1 * d2).sum(axis=0) / sw
        + (w2 * d1).sum(axis=0) * (w2 * d2).sum(axis=0) / (sw * sw)
    )


def _solve_q(
    d: _Rows, target: _Array, lo: _Array, hi: _Array, tol: float, maxiter: int = 200
) -> _Array:
    """Row-wise root of ``Q(τ²) = target`` on ``[lo, hi]`` (``Q(lo) ≥ target ≥ Q(hi)``).

    Safeguarded Newton: a Newton step from the current point when it stays inside
    the bracket, otherwise bisection; stops when the step is below
    ``tol + 4 ε |τ²|`` (the tolerance of the ``brentq`` search in ``rma``).
    """
    lo = lo.astype(float).copy()
    hi = hi.astype(float).copy()
    x = lo.copy()
    out = np.full(lo.shape, np.nan)
    active = np.arange(lo.size)
    for _ in range(maxiter):
        if active.size == 0:
            break
        sub = d.take(active)
        q, dq = _q_and_deriv(sub, x[active])
        f = q - target[active]
        xa, la, ha = x[active], lo[active], hi[active]
        la = np.where(f > 0, xa, la)
        ha = np.where(f <= 0, xa, ha)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = xa - f / dq
        ok = np.isfinite(newton) & (newton > la) & (newton < ha)
        nx = np.where(ok, newton, 0.5 * (la + ha))
        step = np.abs(nx - xa)
        done = (f == 0) | (step <= tol + 4 * _EPS * np.abs(nx)) | (ha - la <= tol)
        nx = np.where(f == 0, xa, nx)
        x[active], lo[active], hi[active] = nx, la, ha
        out[active[done]] = nx[done]
        active = active[~done]
    out[active] = x[active]  # not reached for a monotone Q: bisection alone needs < 200 steps
    return out


def _hedges(d: _Rows) -> tuple[_Array, _Array, _Array]:
    """Hedges τ² (floored), and ``tr(P_OLS V)``, ``tr(P_OLS V P_OLS V)`` row-wise."""
    k = d.k
    ybar = d.Y.sum(axis=0) / k
    rss = (d.M * (d.Y - ybar[None, :]) ** 2).sum(axis=0)
    sv = d.V0.sum(axis=0)
    sv2 = (d.V0 * d.V0).sum(axis=0)
    trpv = sv - sv / k
    trpvpv = sv2 - 2.0 * sv2 / k + sv * sv / (k * k)
    return np.maximum(0.0, (rss - trpv) / (k - 1)), trpv, trpvpv


def _tau2(
    d: _Rows, method: str, con: Mapping[str, Any]
) -> tuple[_Array, _Array, _Array, _Array, _Array]:
    """τ², its SE, converged, iterations and ll0_reset for rows with k ≥ 2."""
    n = d.k.size
    k = d.k.astype(float)
    dfr = k - 1.0
    conv = np.ones(n, dtype=bool)
    iters = np.zeros(n, dtype=np.int64)
    reset = np.zeros(n, dtype=bool)
    if method == "EE":
        return np.zeros(n), np.full(n, np.nan), conv, iters, reset
    if method == "DL":
        w0 = 1.0 / d.V
        s1 = w0.sum(axis=0)
        s2 = (w0 * w0).sum(axis=0)
        trp = s1 - s2 / s1
        tau2 = np.maximum(0.0, (_q(d, np.zeros(n)) - dfr) / trp)
        trpp = s2 - 2.0 * (w0 * w0 * w0).sum(axis=0) / s1 + s2 * s2 / (s1 * s1)
        se = np.sqrt((2 * dfr + 4 * tau2 * trp + 2 * tau2 * tau2 * trpp) / trp**2)
        return tau2, se, conv, iters, reset
    if method == "HE":
        tau2, trpv, trpvpv = _hedges(d)
        se = np.sqrt((2 * trpvpv + 4 * tau2 * trpv + 2 * tau2 * tau2 * dfr) / dfr**2)
        return tau2, se, conv, iters, reset
    if method == "SJ":
        if con["tau2_init"] is None:
            ybar = d.Y.sum(axis=0) / k
            t0 = (d.M * (d.Y - ybar[None, :]) ** 2).sum(axis=0) / k
        else:
            t0 = np.full(n, float(con["tau2_init"]))
        w = _weights(d, t0)
        sw = w.sum(axis=0)
        tau2 = np.maximum(0.0, t0 * _q(d, t0) / dfr)
        se = np.sqrt(
            t0**2
            / dfr**2
            * (
                2 * _tr_pdpd(w, sw, d.V0, d.V0)
                + 4 * tau2 * _tr_pdpd(w, sw, d.V0, 1.0)
                + 2 * tau2 * tau2 * _tr_pdpd(w, sw, 1.0, 1.0)
            )
        )
        return tau2, se, conv, iters, reset
    if method == "PM":
        tau2 = np.zeros(n)
        q0 = _q(d, np.zeros(n))
        pos = np.flatnonzero(q0 >= dfr)
        if pos.size:
            sub = d.take(pos)
            kp = sub.k
            ybar = sub.Y.sum(axis=0) / kp
            var = (sub.M * (sub.Y - ybar[None, :]) ** 2).sum(axis=0) / kp
            hi = np.maximum(100.0, 10.0 * var)
            target = dfr[pos]
            while True:  # Q(τ²) → 0 as τ² → ∞
                above = _q(sub, hi) > target
                if not above.any():
                    break
                hi = np.where(above, hi * 10.0, hi)
            tau2[pos] = _solve_q(sub, target, np.zeros(pos.size), hi, float(con["tol"]))
        w = _weights(d, tau2)
        se = np.sqrt(2 * k**2 / dfr / w.sum(axis=0) ** 2)
        return tau2, se, conv, iters, reset

    # ML, REML, EB: Fisher scoring for every row at once, each stopping on its own
    tau2 = _hedges(d)[0] if con["tau2_init"] is None else np.full(n, float(con["tau2_init"]))
    threshold = float(con["threshold"])
    maxiter = int(con["maxiter"])
    stepadj = float(con["stepadj"])
    # ``rows``: the analyses held in ``sub``; ``live``: which of them still iterate.
    # ``sub`` is compacted only when fewer than half of its analyses still iterate.
    rows = np.arange(n)
    sub = d
    live = np.ones(n, dtype=bool)
    while live.any():
        if live.sum() < 0.5 * live.size:
            rows, sub = rows[live], sub.take(np.flatnonzero(live))
            live = np.ones(rows.size, dtype=bool)
        t = tau2[rows]
        iters[rows[live]] += 1
        w = _weights(sub, t)
        sw = w.sum(axis=0)
        r = sub.Y - (np.einsum("ij,ij->j", w, sub.Y) / sw)[None, :]
        py = w * r
        with np.errstate(divide="ignore", invalid="ignore"):
            if method == "ML":
                adj = (np.einsum("ij,ij->j", py, py) - sw) / np.einsum("ij,ij->j", w, w)
            elif method == "REML":
                w2 = w * w
                s2 = w2.sum(axis=0)
                trp = sw - s2 / sw
                trpp = s2 - 2.0 * np.einsum("ij,ij->j", w2, w) / sw + s2 * s2 / (sw * sw)
                adj = (np.einsum("ij,ij->j", py, py) - trp) / trpp
            else:  # EB
                ka = sub.k.astype(float)
                adj = (np.einsum("ij,ij->j", sub.Y, py) * ka / (ka - 1) - ka) / sw
        adj = adj * stepadj
        adj[~np.isfinite(adj) | ~live] = 0.0
        neg = t + adj < 0.0
        if neg.any():
            # metafor halves the step until τ² stays >= 0 (0 when τ² is already 0);
            # halving j times is exact in binary floating point, so jump close to the
            # final j and finish by halving.
            adj = np.where(neg & (t == 0.0), 0.0, adj)
            big = neg & (t > 0.0)
            if big.any():
                with np.errstate(divide="ignore", invalid="ignore"):
                    j = np.floor(np.log2(-adj[big] / t[big])) - 1.0
                adj[big] = np.ldexp(adj[big], -np.maximum(j, 0.0).astype(np.int64))
            neg = t + adj < 0.0
            while neg.any():
                adj = np.where(neg, adj / 2.0, adj)
                neg = t + adj < 0.0
        new = t + adj
        change = np.abs(t - new)
        tau2[rows] = new
        over = live & (iters[rows] > maxiter)
        conv[rows[over]] = False
        live &= ~over & (change > threshold)

    if method in ("ML", "REML") and con["ll0check"]:
        chk = np.flatnonzero(conv & (tau2 > threshold))
        if chk.size:
            sub = d.take(chk)
            reml = method == "REML"
            ll0 = _loglik(sub, np.zeros(chk.size), reml)
            ll = _loglik(sub, tau2[chk], reml)
            bad = ll0 - ll > float(con["tol"])
            tau2[chk[bad]] = 0.0
            reset[chk[bad]] = True
    tau2 = np.maximum(0.0, tau2)
    w = _weights(d, tau2)
    sw = w.sum(axis=0)
    if method == "ML":
        se = np.sqrt(2.0 / (w * w).sum(axis=0))
    elif method == "REML":
        se = np.sqrt(2.0 / _tr_pdpd(w, sw, 1.0, 1.0))
    else:
        se = np.sqrt(2 * k**2 / dfr / sw**2)
    return tau2, se, conv, iters, reset


def _loglik(d: _Rows, tau2: _Array, reml: bool) -> _Array:
    """Row-wise (restricted) log-likelihood, as ``meta._loglik``."""
    k = d.k.astype(float)
    w = _weights(d, tau2)
    sw = w.sum(axis=0)
    r = d.Y - ((w * d.Y).sum(axis=0) / sw)[None, :]
    rss = (w * r * r).sum(axis=0)
    logv = np.log(np.where(d.M, d.V0 + tau2[None, :], 1.0)).sum(axis=0)
    ll = -0.5 * logv - 0.5 * rss
    if reml:
        return -0.5 * (k - 1) * math.log(2 * math.pi) + ll - 0.5 * np.log(sw)
    return -0.5 * k * math.log(2 * math.pi) + ll


def _q_profile(
    d: _Rows, tau2: _Array, level: float, con: Mapping[str, Any]
) -> tuple[_Array, _Array]:
    """Row-wise Q-profile CI of τ², with the edge rules of ``meta.tau2_q_profile_ci``."""
    n = tau2.size
    dfr = (d.k - 1).astype(float)
    alpha = 1.0 - level / 100.0
    crit_u = special.chdtri(dfr, alpha / 2)
    crit_l = 2 * special.gammaincinv(dfr / 2, alpha / 2)
    tmax = (
        np.maximum(100.0, 10.0 * tau2)
        if con["tau2_max"] is None
        else np.full(n, float(con["tau2_max"]))
    )
    tol = float(con["tol"])
    q_min = _q(d, np.zeros(n))
    q_max = _q(d, tmax)
    lb = np.zeros(n)
    ub = np.zeros(n)
    some = q_min >= crit_l
    ub_beyond = some & (q_max > crit_l)
    ub[ub_beyond] = tmax[ub_beyond]
    need = np.flatnonzero(some & ~ub_beyond)
    if need.size:
        ub[need] = _solve_q(d.take(need), crit_l[need], np.zeros(need.size), tmax[need], tol)
    all_beyond = some & (q_max > crit_u)
    lb[all_beyond] = ub[all_beyond] = tmax[all_beyond]
    need = np.flatnonzero(some & ~all_beyond & (q_min >= crit_u))
    if need.size:
        lb[need] = _solve_q(d.take(need), crit_u[need], np.zeros(need.size), tmax[need], tol)
    return lb, ub


def _fit_block(
    Y: _Array,
    V: _Array,
    method: str,
    test: str,
    level: float,
    con: Mapping[str, Any],
    tau2_ci: bool,
) -> dict[str, _Array]:
    """Fit a block of analyses (rows of ``Y``/``V``, NaN = absent); no warnings."""
    M = ~(np.isnan(Y) | np.isnan(V)).T
    d_all = _Rows(np.where(M, Y.T, 0.0), np.where(M, V.T, np.inf), M, np.where(M, V.T, 0.0))
    n = Y.shape[0]
    k = d_all.k
    out = {c: np.full(n, np.nan) for c in COLUMNS}
    out["k"] = k.astype(np.int64)
    out["converged"] = np.ones(n, dtype=bool)
    out["iterations"] = np.zeros(n, dtype=np.int64)
    out["ll0_reset"] = np.zeros(n, dtype=bool)
    multi = np.flatnonzero(k >= 2)
    tau2 = np.zeros(n)
    se_tau2 = np.full(n, np.nan)
    if multi.size:
        dm = d_all.take(multi)
        t, s, cv, it, rs = _tau2(dm, method, con)
        tau2[multi], se_tau2[multi] = t, s
        out["converged"][multi], out["iterations"][multi], out["ll0_reset"][multi] = cv, it, rs
    has = np.flatnonzero(k >= 1)
    d = d_all.take(has)
    kk = k[has].astype(float)
    t = tau2[has]
    w = _weights(d, t)
    sw = w.sum(axis=0)
    b = (w * d.Y).sum(axis=0) / sw
    vb = 1.0 / sw
    knha = np.full(has.size, test == "knha") & (kk > 1)
    df = np.where(knha, kk - 1, np.nan)
    if knha.any():
        r = d.Y - b[None, :]
        rss = (w * r * r).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            s2w = np.where(rss <= _EPS, 0.0, rss / (kk - 1))
        vb = np.where(knha, s2w * vb, vb)
    se = np.sqrt(vb)
    with np.errstate(divide="ignore", invalid="ignore"):
        zval = b / se
    alpha = 1.0 - level / 100.0
    dfk = np.where(knha, df, 1.0)
    pval = np.where(
        knha, 2.0 * special.stdtr(dfk, -np.abs(zval)), 2.0 * special.ndtr(-np.abs(zval))
    )
    crit = np.where(knha, -special.stdtrit(dfk, alpha / 2), -special.ndtri(alpha / 2))
    q0 = np.maximum(0.0, _q(d, np.zeros(has.size)))
    qe = np.where(kk > 1, q0, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        qep = np.where(kk > 1, special.chdtrc(np.maximum(kk - 1, 1), qe), 1.0)
        if method == "EE":
            i2 = np.where(qe <= 0, 0.0, np.maximum(0.0, 100.0 * (qe - (kk - 1)) / qe))
            h2 = qe / (kk - 1)
        else:
            w0 = 1.0 / d.V
            s1 = w0.sum(axis=0)
            vt = (kk - 1) / (s1 - (w0 * w0).sum(axis=0) / s1)
            i2 = 100.0 * t / (vt + t)
            h2 = t / vt + 1.0
    i2 = np.where(kk > 1, i2, 0.0)
    h2 = np.where(kk > 1, h2, 1.0)
    if method == "EE":
        pi_lb = pi_ub = np.full(has.size, np.nan)
    else:
        spred = np.sqrt(se**2 + t)
        pi_lb, pi_ub = b - crit * spred, b + crit * spred
    for name, val in (
        ("estimate", b),
        ("se", se),
        ("zval", zval),
        ("pval", pval),
        ("ci_lb", b - crit * se),
        ("ci_ub", b + crit * se),
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
    if tau2_ci and method != "EE" and multi.size:
        lb, ub = _q_profile(d_all.take(multi), tau2[multi], level, con)
        out["tau2_ci_lb"][multi], out["tau2_ci_ub"][multi] = lb, ub
    return out


def _check_values(Y: _Array, V: _Array, where: Any) -> None:
    """Refuse what ``rma`` refuses: infinite ``yi``, non-positive or infinite ``vi``."""
    bad_y = np.isinf(Y)
    bad_v = ~np.isnan(V) & ~(np.isfinite(V) & (V > 0))
    for bad, name, rule in (
        (bad_y, "yi", "estimates must be finite numbers (or NaN)"),
        (bad_v, "vi", "sampling variances must be finite and > 0 (or NaN)"),
    ):
        if bad.any():
            pos = np.argwhere(bad)
            i, j = (int(x) for x in pos[0])
            val = float((Y if name == "yi" else V)[i, j])
            raise UserInputError(
                f"{name} = {val!r} in {where(i, j)}; {rule} ({len(pos)} offending value(s))."
            )


def _fit_arrays_raw(
    Y: _Array,
    V: _Array,
    method: str,
    test: str,
    level: float,
    con: Mapping[str, Any],
    tau2_ci: bool,
) -> dict[str, _Array]:
    n, kmax = Y.shape
    rows = max(1, _BLOCK_CELLS // max(kmax, 1))
    if n <= rows:
        return _fit_block(Y, V, method, test, level, con, tau2_ci)
    parts = [
        _fit_block(Y[i : i + rows], V[i : i + rows], method, test, level, con, tau2_ci)
        for i in range(0, n, rows)
    ]
    return {c: np.concatenate([p[c] for p in parts]) for c in COLUMNS}


def _warn(res: Mapping[str, _Array], labels: Sequence[Any] | None, method: str) -> None:
    """One warning per kind of problem, naming the first few analyses."""

    def names(mask: _Array) -> str:
        idx = np.flatnonzero(mask)[:5]
        shown = [repr(labels[i]) if labels is not None else str(int(i)) for i in idx]
        more = ", …" if mask.sum() > idx.size else ""
        return ", ".join(shown) + more

    k = np.asarray(res["k"])
    conv = np.asarray(res["converged"], dtype=bool)
    reset = np.asarray(res["ll0_reset"], dtype=bool)
    if (k == 0).any():
        warnings.warn(
            f"{int((k == 0).sum())} analysis/analyses have no usable study (k = 0); their "
            f"results are NaN: {names(k == 0)}.",
            DataQualityWarning,
            stacklevel=3,
        )
    if (~conv).any():
        warnings.warn(
            f"{method}: Fisher scoring did not converge within maxiter in {int((~conv).sum())} "
            f"of {conv.size} analyses ({names(~conv)}); their τ² is the last iterate and "
            "everything computed from it is unreliable (see the 'converged' column).",
            ConvergenceWarning,
            stacklevel=3,
        )
    if reset.any():
        warnings.warn(
            f"{method}: in {int(reset.sum())} analyses ({names(reset)}) Fisher scoring stopped "
            "at a local maximum (the log-likelihood at τ² = 0 is larger); τ² set to 0 as "
            "metafor does (see the 'll0_reset' column).",
            ConvergenceWarning,
            stacklevel=3,
        )


def _settings(
    method: str, test: str, level: float, control: Mapping[str, Any] | None
) -> tuple[str, str, float, dict[str, Any]]:
    return _check_method(method), _check_test(test), _check_level(level), _check_control(control)


# =================================================================== public ====


def fit_arrays(
    yi: Any,
    vi: Any,
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 95,
    control: Mapping[str, Any] | None = None,
    tau2_ci: bool = False,
    index: Sequence[Any] | None = None,
) -> pd.DataFrame:
    r"""Fit one intercept-only model per row of 2-D ``yi``/``vi``, as ``rma`` would.

    Parameters
    ----------
    yi, vi : array-like of shape (n, k_max)
        Effect sizes and sampling variances, one analysis per row. A cell where
        ``yi`` or ``vi`` is NaN is absent (padding for unequal ``k``, or a missing
        value); it is left out silently and ``k`` says how many studies each
        analysis used. A 1-D input is one analysis.
    method : str, default "REML"
        τ² estimator, one of :data:`synthesis.meta.METHODS` (``"FE"`` = ``"EE"``).
    test : {"z", "knha"}, default "z"
        Wald-type z tests or Knapp-Hartung :cite:`knapp2003improved` t tests.
    level : float, default 95
        Confidence level in percent.
    control : mapping, optional
        As :data:`synthesis.meta.DEFAULT_CONTROL` (``threshold``, ``maxiter``,
        ``tol``, ``tau2_init``, ``tau2_max``, ``stepadj``, ``ll0check``).
    tau2_ci : bool, default False
        Also compute the Q-profile CI of τ² :cite:`viechtbauer2007confidence`
        (two more vectorised root searches); NaN columns otherwise.
    index : sequence, optional
        Labels of the analyses (the result's index); default ``0 … n−1``.

    Returns
    -------
    pandas.DataFrame
        One row per analysis with the columns :data:`COLUMNS`: ``k``, the pooled
        ``estimate``, ``se``, ``zval`` (t under knha), ``pval``, ``ci_lb``,
        ``ci_ub``, prediction interval ``pi_lb``/``pi_ub`` (NaN for EE), ``tau2``,
        ``se_tau2``, ``tau2_ci_lb``/``tau2_ci_ub``, ``I2``, ``H2``, ``QE``,
        ``QEp``, ``df`` (``k − 1`` under knha, else NaN), ``converged``,
        ``iterations`` (Fisher scoring; 0 for closed forms) and ``ll0_reset``.

    Raises
    ------
    UserInputError
        Unknown method/test/control, bad level, shapes that differ, an infinite
        ``yi`` or a non-positive/infinite ``vi``.

    Warns
    -----
    ConvergenceWarning
        When some analyses did not converge (``converged`` False) or had τ² reset
        to 0 by the log-likelihood check (``ll0_reset`` True).
    DataQualityWarning
        When an analysis has no usable study (k = 0).

    Notes
    -----
    The formulas are those of :func:`synthesis.meta.tau2_estimate` and
    :func:`synthesis.meta.rma` for ``X = 1``, written with row sums: with
    ``wᵢ = 1/(vᵢ + τ²)`` and ``S_j = Σ wᵢʲ``, ``tr P = S₁ − S₂/S₁`` and
    ``tr PP = S₂ − 2S₃/S₁ + S₂²/S₁²``. Rows are processed in blocks of about
    2¹⁸ cells to bound memory.
    """
    method, test, level, con = _settings(method, test, level, control)
    if not isinstance(tau2_ci, bool):
        raise UserInputError(f"tau2_ci={tau2_ci!r} must be True or False.")
    try:
        Y = np.asarray(yi, dtype=float)
        V = np.asarray(vi, dtype=float)
    except (TypeError, ValueError) as exc:
        raise UserInputError("yi and vi must be numeric arrays.") from exc
    if Y.ndim == 1:
        Y, V = Y[None, :], V.reshape(1, -1) if V.ndim == 1 else V
    if Y.ndim != 2 or Y.shape != V.shape:
        raise UserInputError(
            f"yi and vi must be 2-D arrays of the same shape (analyses × studies); got "
            f"{np.shape(yi)} and {np.shape(vi)}."
        )
    _check_values(Y, V, lambda i, j: f"row {i}, column {j}")
    if index is not None and len(index) != Y.shape[0]:
        raise UserInputError(f"index has {len(index)} labels but there are {Y.shape[0]} rows.")
    res = _fit_arrays_raw(Y, V, method, test, level, con, tau2_ci)
    _warn(res, list(index) if index is not None else None, method)
    return _frame(res, index)


def _frame(res: Mapping[str, _Array], index: Any) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({c: res[c] for c in COLUMNS}, index=index)


def _pack(
    frame: pd.DataFrame, yi: str, vi: str, by: str | list[str]
) -> tuple[Any, _Array, _Array, _Array]:
    """Long format → group labels, rows per group and NaN-padded ``(groups, k_max)`` arrays."""
    grouped = frame.groupby(by, sort=True, dropna=True)
    codes = grouped.ngroup().to_numpy(dtype=float, na_value=np.nan)
    size = grouped.size()
    labels = size.index
    keep = ~np.isnan(codes)
    if not keep.all():
        warnings.warn(
            f"{int((~keep).sum())} row(s) without a group label ({by!r} missing) were left out.",
            DataQualityWarning,
            stacklevel=4,
        )
    c = codes[keep].astype(np.int64)
    y = frame[yi].to_numpy(dtype=float, na_value=np.nan)[keep]
    v = frame[vi].to_numpy(dtype=float, na_value=np.nan)[keep]
    order = np.argsort(c, kind="stable")
    c, y, v = c[order], y[order], v[order]
    g = len(labels)
    counts = np.bincount(c, minlength=g)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.arange(c.size) - start[c]
    kmax = int(counts.max()) if g else 0
    Y = np.full((g, kmax), np.nan)
    V = np.full((g, kmax), np.nan)
    Y[c, pos] = y
    V[c, pos] = v
    return labels, size.to_numpy(), Y, V


def _fit_pandas(
    frame: pd.DataFrame,
    yi: str,
    vi: str,
    by: str | list[str],
    method: str,
    test: str,
    level: float,
    con: Mapping[str, Any],
    tau2_ci: bool,
) -> tuple[pd.DataFrame, dict[str, _Array], Any]:
    labels, sizes, Y, V = _pack(frame, yi, vi, by)
    lab = list(labels)
    _check_values(Y, V, lambda i, j: f"group {lab[i]!r}")
    res = _fit_arrays_raw(Y, V, method, test, level, con, tau2_ci)
    out = _frame(res, labels)
    out["k_excluded"] = sizes - res["k"]
    return out, res, lab


def _empty_result(by: str, index_dtype: Any) -> pd.DataFrame:
    import pandas as pd

    cols: dict[str, Any] = {c: pd.Series(dtype=float) for c in COLUMNS}
    cols["k"] = pd.Series(dtype=np.int64)
    cols["iterations"] = pd.Series(dtype=np.int64)
    cols["converged"] = pd.Series(dtype=bool)
    cols["ll0_reset"] = pd.Series(dtype=bool)
    cols["k_excluded"] = pd.Series(dtype=np.int64)
    return pd.DataFrame(cols, index=pd.Index([], dtype=index_dtype, name=by))


def _partition_fit(
    part: pd.DataFrame,
    yi: str,
    vi: str,
    by: str,
    method: str,
    test: str,
    level: float,
    con: Mapping[str, Any],
    tau2_ci: bool,
) -> pd.DataFrame:
    """Fit the groups of one Dask partition (runs on a worker; warnings are
    re-raised on the client from the result columns)."""
    if len(part) == 0:
        return _empty_result(by, part[by].dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        out, _res, _lab = _fit_pandas(part, yi, vi, by, method, test, level, con, tau2_ci)
    return out


def _is_dask(frame: Any) -> bool:
    return type(frame).__module__.split(".")[0] in ("dask", "dask_expr")


def fit_many(
    frame: Any,
    yi: str = "yi",
    vi: str = "vi",
    by: str | list[str] = "group",
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 95,
    control: Mapping[str, Any] | None = None,
    tau2_ci: bool = False,
    client: Any = None,
    npartitions: int | None = None,
    shuffle: bool = True,
    compute: bool = True,
) -> pd.DataFrame:
    r"""Fit one intercept-only model per group of a long-format table.

    Parameters
    ----------
    frame : pandas.DataFrame or dask.dataframe.DataFrame
        One row per study with the effect size, its sampling variance and the
        analysis it belongs to. A Dask DataFrame is fitted partition by partition
        on the Dask scheduler in use (or on ``client``); it is first shuffled on
        ``by`` so that no group is split across partitions.
    yi, vi : str
        Column names of the effect sizes and sampling variances.
    by : str or list of str
        Group column(s): one meta-analysis per distinct value (a single column for
        Dask input). Rows with a missing label are left out with a warning.
    method, test, level, control, tau2_ci
        As for :func:`fit_arrays`.
    client : dask.distributed.Client, optional
        Run on this cluster. A pandas ``frame`` is then split into ``npartitions``
        (default: two per worker) before shuffling.
    npartitions : int, optional
        Partitions of a pandas ``frame`` sent to ``client``.
    shuffle : bool, default True
        Shuffle a Dask frame on ``by``. With ``shuffle=False`` the frame must
        already be partitioned by group (e.g. ``set_index(by)``); a group found
        in two partitions raises :class:`~synthesis.errors.UserInputError`.
    compute : bool, default True
        Return a pandas DataFrame; ``False`` returns the lazy Dask DataFrame
        (group order not sorted, no warnings raised, no split check).

    Returns
    -------
    pandas.DataFrame
        Indexed by group (sorted), the columns of :func:`fit_arrays` plus
        ``k_excluded``: rows of the group left out because ``yi`` or ``vi`` is NaN.

    Warns
    -----
    DataQualityWarning
        When rows were left out (``k_excluded > 0``, as ``rma`` warns) or a group
        has k = 0.
    ConvergenceWarning
        As :func:`fit_arrays`.

    Examples
    --------
    >>> import pandas as pd
    >>> from synthesis.batch import fit_many
    >>> df = pd.DataFrame({"group": [1, 1, 1, 2, 2],
    ...                    "yi": [0.1, 0.3, 0.2, 0.5, 0.4],
    ...                    "vi": [0.01, 0.02, 0.015, 0.03, 0.02]})
    >>> fit_many(df, method="DL")[["k", "estimate", "tau2"]].round(4)  # doctest: +SKIP
    """
    method, test, level, con = _settings(method, test, level, control)
    if not isinstance(tau2_ci, bool):
        raise UserInputError(f"tau2_ci={tau2_ci!r} must be True or False.")
    dask_input = _is_dask(frame)
    if client is not None and not dask_input:
        import dask.dataframe as dd

        parts = npartitions or 2 * max(1, len(client.scheduler_info().get("workers", {})))
        frame = dd.from_pandas(frame, npartitions=parts)
        dask_input = True
    if not dask_input:
        import pandas as pd

        if not isinstance(frame, pd.DataFrame):
            raise UserInputError(
                f"frame must be a pandas or Dask DataFrame; got {type(frame).__name__}."
            )
        _check_columns(frame.columns, yi, vi, by)
        out, res, lab = _fit_pandas(frame, yi, vi, by, method, test, level, con, tau2_ci)
        _warn_excluded(out)
        _warn(res, lab, method)
        return out

    if not isinstance(by, str):
        raise UserInputError("fit_many on a Dask DataFrame needs a single group column (by=str).")
    _check_columns(frame.columns, yi, vi, by)
    ddf = frame[[by, yi, vi]]
    if shuffle:
        ddf = ddf.shuffle(on=by)
    meta = _empty_result(by, frame[by].dtype)
    lazy = ddf.map_partitions(
        _partition_fit, yi, vi, by, method, test, level, con, tau2_ci, meta=meta
    )
    if not compute:
        return lazy
    out = client.compute(lazy).result() if client is not None else lazy.compute()
    if out.index.has_duplicates:
        dup = out.index[out.index.duplicated()].unique()[:5].tolist()
        raise UserInputError(
            f"groups {dup} were found in more than one partition: with shuffle=False the "
            f"Dask frame must be partitioned by {by!r} (e.g. set_index({by!r}))."
        )
    out = out.sort_index()
    out.index.name = by
    _warn_excluded(out)
    _warn({c: out[c].to_numpy() for c in ("k", "converged", "ll0_reset")}, list(out.index), method)
    return out


def _check_columns(columns: Any, yi: str, vi: str, by: str | list[str]) -> None:
    need = [yi, vi, *([by] if isinstance(by, str) else list(by))]
    missing = [c for c in need if c not in columns]
    if missing:
        raise UserInputError(f"frame has no column(s) {missing}; its columns: {list(columns)}.")


def _warn_excluded(out: pd.DataFrame) -> None:
    exc = out["k_excluded"].to_numpy()
    if (exc > 0).any():
        groups = out.index[exc > 0][:5].tolist()
        warnings.warn(
            f"{int(exc.sum())} row(s) in {int((exc > 0).sum())} group(s) excluded because yi "
            f"or vi is missing (first groups: {groups}); see the 'k_excluded' column.",
            DataQualityWarning,
            stacklevel=3,
        )
