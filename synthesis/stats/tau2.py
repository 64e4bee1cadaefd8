r"""The τ² estimators of metafor's ``rma.uni``, each written once, vectorised over analyses.

A :class:`Block` holds ``n`` analyses side by side: arrays of shape ``(k_max, n)``
with one column per analysis, and optionally a design matrix per analysis of shape
``(n, k_max, p)``. A single model is a block of one; the many-analyses API fits
thousands of intercept-only models in one block. Every function returns one value
per analysis.

With ``W = diag(wᵢ)``, ``wᵢ = 1/(vᵢ + τ²)``, ``A = (X'WX)⁻¹`` and
``P = W − W X A X'W``:

* EE: τ² = 0.
* DL :cite:`dersimonian1986meta`: ``τ² = max(0, (Q − (k−p)) / tr(P₀))`` with ``P₀`` at
  τ² = 0.
* HE :cite:`hedges1985statistical`: ``τ² = max(0, (RSS_OLS − tr(P_OLS V))/(k−p))``.
* SJ :cite:`sidik2005simple`: ``τ² = τ₀² y'P(τ₀²)y / (k−p)`` with
  ``τ₀² = Σ(yᵢ − ȳ)²/k``.
* PM :cite:`paule1982consensus`: the root of ``Q(τ²) = k − p`` (0 if ``Q(0) < k − p``).
* ML, REML :cite:`viechtbauer2005bias`: Fisher scoring from the HE estimate,
  ``τ² ← τ² + (y'PPy − Σw)/Σw²`` (ML) or ``(y'PPy − tr P)/tr(PP)`` (REML), halving
  any step that would make τ² negative, until the change is small (see
  :data:`synthesis.stats.control.DEFAULT_CONTROL`). Under the default relative rule,
  REML takes Newton's step (observed information ``2y'PPPy − tr(PP)``, when positive)
  once the change is below :data:`NEWTON_FROM` of ``τ² + v̄``: it converges in about
  half the iterations, and where Fisher scoring oscillates without converging it
  reaches the maximum of the restricted likelihood. metafor's absolute rule
  (``relative=False``) keeps pure Fisher scoring, as metafor.
* EB :cite:`morris1983parametric`: the same iteration with
  ``(y'Py · k/(k−p) − k)/Σw``.

Standard errors: ML ``√(2/Σw²)``, REML ``√(2/tr(PP))``, PM/EB ``√(2k²/(k−p)/(Σw)²)``
and the moment formulas of ``rma.uni`` for DL, HE and SJ. The Q-profile confidence
interval :cite:`viechtbauer2007confidence` inverts the generalised Q statistic.

The traces are computed without forming ``P``: ``tr(P D) = Σ wᵢdᵢ − Σ hᵢdᵢ`` with
``hᵢ = wᵢ² xᵢ'Axᵢ``, and ``tr(P D₁ P D₂) = Σ wᵢ²d₁ᵢd₂ᵢ − 2 Σ hᵢwᵢd₁ᵢd₂ᵢ +
tr(A M₁ A M₂)`` with ``Mⱼ = X'W Dⱼ W X``; for the intercept-only design these are
closed-form row sums.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import special

__all__ = ["Block", "Tau2", "estimate_tau2", "loglik", "q_profile", "q_stat", "wls"]

_Array = np.ndarray
_EPS = float(np.finfo(float).eps)


class Block:
    """``n`` analyses stored by column.

    ``Y`` is 0 and ``V`` is +inf where a study is absent, so that the weight
    ``1/(V + τ²)`` is exactly 0 there; ``V0`` is ``V`` with 0 instead of inf and ``M``
    the mask of present studies. ``X`` is None for the intercept-only design, else
    the designs, shape ``(n, k_max, p)``, with zero rows for absent studies.

    Examples
    --------
    >>> import numpy as np
    >>> b = Block.from_rows(np.array([[0.1, 0.3, np.nan]]), np.array([[0.01, 0.02, np.nan]]))
    >>> b.k.tolist(), b.p
    ([2], 1)
    """

    def __init__(
        self, Y: _Array, V: _Array, M: _Array, V0: _Array, X: _Array | None = None
    ) -> None:
        self.Y = Y
        self.V = V
        self.M = M
        self.V0 = V0
        self.X = X
        self.k = M.sum(axis=0)
        self.p = 1 if X is None else X.shape[2]

    @classmethod
    def from_rows(cls, Y: _Array, V: _Array, X: _Array | None = None) -> Block:
        """From ``(n, k_max)`` arrays (NaN = absent) and optional ``(n, k_max, p)`` designs."""
        M = ~(np.isnan(Y) | np.isnan(V)).T
        Xb = None if X is None else np.where(M.T[:, :, None], X, 0.0)
        return cls(np.where(M, Y.T, 0.0), np.where(M, V.T, np.inf), M, np.where(M, V.T, 0.0), Xb)

    def take(self, idx: _Array) -> Block:
        """The analyses ``idx`` (sorted, distinct positions; all of them: this block)."""
        if len(idx) == self.k.size:
            return self
        X = None if self.X is None else self.X[idx]
        return Block(self.Y[:, idx], self.V[:, idx], self.M[:, idx], self.V0[:, idx], X)


# ------------------------------------------------------------------ linear algebra ----


def weights(d: Block, tau2: _Array) -> _Array:
    """``wᵢ = 1/(vᵢ + τ²)`` (0 for absent studies)."""
    return 1.0 / (d.V + tau2[None, :])


def wls(d: Block, w: _Array) -> tuple[_Array, _Array, _Array]:
    """Weighted least squares per analysis: ``b`` (n, p), ``A = (X'WX)⁻¹`` (n, p, p), residuals."""
    if d.X is None:
        sw = w.sum(axis=0)
        b = (w * d.Y).sum(axis=0) / sw
        return b[:, None], (1.0 / sw)[:, None, None], d.Y - b[None, :]
    xtw = d.X.transpose(0, 2, 1) * w.T[:, None, :]
    A = np.linalg.inv(xtw @ d.X)
    b = (A @ (xtw @ d.Y.T[:, :, None]))[:, :, 0]
    return b, A, d.Y - np.einsum("nkp,np->kn", d.X, b)


def _h(d: Block, w: _Array, A: _Array) -> _Array:
    """``hᵢ = wᵢ² xᵢ'Axᵢ`` (the diagonal of ``W X A X'W``)."""
    if d.X is None:
        return w * w * A[:, 0, 0][None, :]
    return w * w * np.einsum("nkp,npq,nkq->kn", d.X, A, d.X)


def tr_pd(d: Block, w: _Array, A: _Array, dv: _Array | float = 1.0) -> _Array:
    """``tr(P D)`` for diagonal ``D = diag(dv)``."""
    wd = w * dv
    if d.X is None:  # h = w²/Σw
        return wd.sum(axis=0) - (w * wd).sum(axis=0) * A[:, 0, 0]
    return wd.sum(axis=0) - (_h(d, w, A) * dv).sum(axis=0)


def tr_pdpd(
    d: Block, w: _Array, A: _Array, d1: _Array | float = 1.0, d2: _Array | float = 1.0
) -> _Array:
    """``tr(P D₁ P D₂)`` for diagonal ``D₁, D₂``."""
    w2 = w * w
    if d.X is None:  # h = w²/Σw and tr(A M₁ A M₂) = (Σw²d₁)(Σw²d₂)/(Σw)²
        a = A[:, 0, 0]
        w2d1 = w2 * d1
        w2d1d2 = w2d1 * d2
        return (
            w2d1d2.sum(axis=0)
            - 2.0 * np.einsum("ij,ij->j", w2d1d2, w) * a
            + w2d1.sum(axis=0) * (w2 * d2).sum(axis=0) * a * a
        )
    first = (w2 * d1 * d2).sum(axis=0) - 2.0 * (_h(d, w, A) * w * d1 * d2).sum(axis=0)
    m1 = np.einsum("nkp,kn,nkq->npq", d.X, w2 * d1, d.X)
    m2 = np.einsum("nkp,kn,nkq->npq", d.X, w2 * d2, d.X)
    return first + np.einsum("nij,njk,nkl,nli->n", A, m1, A, m2)


def q_stat(d: Block, tau2: _Array) -> _Array:
    """The generalised Q statistic ``Q(τ²) = Σ wᵢ (yᵢ − xᵢ'b)²`` :cite:`paule1982consensus`."""
    w = weights(d, tau2)
    _b, _A, r = wls(d, w)
    return (w * r * r).sum(axis=0)


def _q_and_deriv(d: Block, tau2: _Array) -> tuple[_Array, _Array]:
    """``Q(τ²)`` and ``dQ/dτ² = −Σ wᵢ² rᵢ²`` (envelope theorem)."""
    w = weights(d, tau2)
    _b, _A, r = wls(d, w)
    wr2 = w * r * r
    return wr2.sum(axis=0), -(w * wr2).sum(axis=0)


def solve_q(
    d: Block, target: _Array, lo: _Array, hi: _Array, tol: float, maxiter: int = 200
) -> _Array:
    """Root of ``Q(τ²) = target`` on ``[lo, hi]`` (``Q(lo) ≥ target ≥ Q(hi)``) per analysis.

    Safeguarded Newton: a Newton step from the current point when it stays inside
    the bracket, otherwise bisection; stops when the step is below
    ``tol + 4 ε |τ²|`` (the tolerance of ``scipy.optimize.brentq(xtol=tol, rtol=4ε)``).
    """
    lo = lo.astype(float).copy()
    hi = hi.astype(float).copy()
    x = lo.copy()
    out = np.full(lo.shape, np.nan)
    active = np.arange(lo.size)
    whole = True  # ``active`` is every analysis: no copy of the block needed
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(maxiter):
            if active.size == 0:
                break
            sub = d if whole else d.take(active)
            q, dq = _q_and_deriv(sub, x[active])
            f = q - target[active]
            xa, la, ha = x[active], lo[active], hi[active]
            la = np.where(f > 0, xa, la)
            ha = np.where(f <= 0, xa, ha)
            newton = xa - f / dq
            ok = np.isfinite(newton) & (newton > la) & (newton < ha)
            nx = np.where(ok, newton, 0.5 * (la + ha))
            step = np.abs(nx - xa)
            done = (f == 0) | (step <= tol + 4 * _EPS * np.abs(nx)) | (ha - la <= tol)
            nx = np.where(f == 0, xa, nx)
            x[active], lo[active], hi[active] = nx, la, ha
            if done.any():
                out[active[done]] = nx[done]
                active = active[~done]
                whole = False
    out[active] = x[active]  # not reached for a monotone Q: bisection alone needs < 200 steps
    return out


def loglik(d: Block, tau2: _Array, reml: bool) -> _Array:
    """(Restricted) log-likelihood per analysis, as in ``rma.uni``'s ``ll0check``."""
    k = d.k.astype(float)
    w = weights(d, tau2)
    _b, A, r = wls(d, w)
    rss = (w * r * r).sum(axis=0)
    logv = np.log(np.where(d.M, d.V0 + tau2[None, :], 1.0)).sum(axis=0)
    ll = -0.5 * logv - 0.5 * rss
    if reml:
        # log det (X'WX)⁻¹ (slogdet of a 1 × 1 matrix is log |a|)
        logdet_a = np.log(np.abs(A[:, 0, 0])) if d.X is None else np.linalg.slogdet(A)[1]
        return -0.5 * (k - d.p) * math.log(2 * math.pi) + ll + 0.5 * logdet_a
    return -0.5 * k * math.log(2 * math.pi) + ll


def _mean_sq_dev(d: Block) -> _Array:
    k = d.k.astype(float)
    ybar = d.Y.sum(axis=0) / k
    return (d.M * (d.Y - ybar[None, :]) ** 2).sum(axis=0) / k


def _hedges(d: Block) -> tuple[_Array, _Array, _Array, _Array]:
    """Hedges τ² (floored), ``tr(P_OLS V)``, and the OLS weights and ``A`` for the SE."""
    ones = d.M.astype(float)
    _b, A, r = wls(d, ones)
    rss = (ones * r * r).sum(axis=0)
    trpv = tr_pd(d, ones, A, d.V0)
    return np.maximum(0.0, (rss - trpv) / (d.k - d.p)), trpv, ones, A


def _dot(a: _Array, b: _Array) -> _Array:
    """``Σᵢ aᵢbᵢ`` per analysis: columns of ``(k, n)`` arrays, or two vectors (one analysis)."""
    return a @ b if a.ndim == 1 else np.einsum("ij,ij->j", a, b)  # type: ignore[no-any-return]


def _traces1(w: _Array, sw: _Array) -> tuple[_Array, _Array]:
    """``tr P`` and ``tr(PP)`` of the intercept-only design, ``sw = Σw``.

    From the row sums ``S₁ = Σw``, ``S₂ = Σw²`` and ``S₃ = Σw³``: ``tr P = S₁ − S₂/S₁``
    and ``tr PP = S₂ − 2S₃/S₁ + S₂²/S₁²`` (:func:`tr_pd`, :func:`tr_pdpd` with ``D = I``).
    ``w`` is ``(k, n)`` or, for one analysis, a vector.
    """
    a = 1.0 / sw
    w2 = w * w
    s2 = w2.sum(axis=0)
    return sw - s2 * a, s2 - 2.0 * _dot(w2, w) * a + s2 * s2 * a * a


def traces(d: Block, w: _Array, A: _Array) -> tuple[_Array, _Array]:
    """``tr P`` and ``tr(PP)``."""
    if d.X is None:
        return _traces1(w, w.sum(axis=0))
    return tr_pd(d, w, A), tr_pdpd(d, w, A)


# ---------------------------------------------------------------------- estimators ----


class Tau2:
    """τ² per analysis with its SE, convergence flag, iterations, last change and ll0 reset."""

    def __init__(self, n: int) -> None:
        self.tau2 = np.zeros(n)
        self.se = np.full(n, np.nan)
        self.converged = np.ones(n, dtype=bool)
        self.iterations = np.zeros(n, dtype=np.int64)
        self.change = np.zeros(n)
        self.ll0_reset = np.zeros(n, dtype=bool)


def _fisher_scoring(d: Block, method: str, con: Mapping[str, Any], out: Tau2) -> None:
    """ML, REML, EB: Fisher scoring for every analysis at once, each stopping on its own."""
    with np.errstate(divide="ignore", invalid="ignore"):
        _scoring_loop(d, method, con, out)


def _score(d: Block, t: _Array, method: str, newton: _Array | None = None) -> _Array:
    """One Fisher-scoring step ``Δτ²`` per analysis (before step halving).

    A single intercept-only analysis is computed on its columns as vectors (sums as
    dot products), the same formulas without the overhead of the batch axis.

    For REML, where ``newton`` is True the step is Newton's instead,
    ``(y'PPy − tr P)/(2y'PPPy − tr(PP))``: twice the observed information in place of
    twice the expected, ``tr(PP)`` (:cite:`viechtbauer2005bias`), when it is positive (the
    restricted likelihood is concave there); Fisher's step otherwise.
    """
    Y, V = d.Y, d.V
    if d.X is None and Y.shape[1] == 1:
        Y, V = Y[:, 0], V[:, 0]
    w = 1.0 / (V + t)
    sw = w.sum(axis=0)
    if d.X is None:  # wls() for X = 1
        A = None
        r = Y - _dot(w, Y) / sw
    else:
        _b, A, r = wls(d, w)
    py = w * r
    if method == "REML":
        trp, trpp = _traces1(w, sw) if A is None else (tr_pd(d, w, A), tr_pdpd(d, w, A))
        score = _dot(py, py) - trp
        if newton is None or not newton.any():
            return score / trpp
        wpy = w * py  # y'PPPy = (Py)'P(Py) = Σ w u² − (X'Wu)'A(X'Wu), u = Py
        if d.X is None:
            pppy = _dot(wpy, py) - _dot(w, py) ** 2 / sw
        else:
            assert A is not None  # set by wls() whenever there is a design
            xwu = np.einsum("nkp,kn->np", d.X, wpy)
            pppy = _dot(wpy, py) - np.einsum("np,npq,nq->n", xwu, A, xwu)
        observed = 2.0 * pppy - trpp
        use = newton & (observed > 0.0)
        return np.where(use, score / np.where(use, observed, 1.0), score / trpp)
    if method == "ML":
        return (_dot(py, py) - sw) / _dot(w, w)
    ka = d.k.astype(float)  # EB
    return (_dot(Y, py) * ka / (ka - d.p) - ka) / sw


#: Relative change of τ² (to ``τ² + v̄``) below which REML takes Newton steps.
NEWTON_FROM = 1e-3


def _scoring_loop(d: Block, method: str, con: Mapping[str, Any], out: Tau2) -> None:
    n = d.k.size
    tau2 = _hedges(d)[0] if con["tau2_init"] is None else np.full(n, float(con["tau2_init"]))
    threshold = float(con["threshold"])
    maxiter = int(con["maxiter"])
    stepadj = float(con["stepadj"])
    vbar = d.V0.sum(axis=0) / d.k if con["relative"] else None
    # ``rows``: the analyses still iterating, held in ``sub`` with iterates ``t``; an
    # analysis leaves both when it stops, recording its iteration and last change.
    rows = np.arange(n)
    sub = d
    t = tau2.copy()
    vsub = vbar
    # REML under the relative rule: once Fisher's step is small (the iterate is near the
    # maximum), Newton's steps finish in a few iterations what Fisher scoring's linear
    # convergence takes many for; metafor's absolute rule keeps pure Fisher scoring
    polish = method == "REML" and vsub is not None and stepadj == 1.0
    near = np.zeros(n, dtype=bool)
    it = 0
    while rows.size:
        it += 1
        adj = _score(sub, t, method, near if polish else None)
        if stepadj != 1.0:
            adj = adj * stepadj
        new = t + adj
        if not (np.isfinite(adj).all() and (new >= 0.0).all()):
            adj = np.where(np.isfinite(adj), adj, 0.0) + np.zeros_like(t)
            neg = t + adj < 0.0
            if neg.any():
                # metafor halves the step until τ² stays >= 0 (0 when τ² is already 0);
                # halving j times is exact in binary floating point, so jump close to
                # the final j and finish by halving.
                adj = np.where(neg & (t == 0.0), 0.0, adj)
                big = neg & (t > 0.0)
                if big.any():
                    j = np.floor(np.log2(-adj[big] / t[big])) - 1.0
                    adj[big] = np.ldexp(adj[big], -np.maximum(j, 0.0).astype(np.int64))
                neg = t + adj < 0.0
                while neg.any():
                    adj = np.where(neg, adj / 2.0, adj)
                    neg = t + adj < 0.0
            new = t + adj
        change = np.abs(t - new)
        if it > maxiter:
            stop = np.ones(rows.size, dtype=bool)
            out.converged[rows] = False
        else:
            scale = threshold if vsub is None else threshold * (new + vsub)
            go_on = change > scale
            if polish:
                near = change <= NEWTON_FROM * (new + vsub)
            if go_on.all():
                t = new
                continue
            stop = ~go_on
        done = rows[stop]
        tau2[done], out.iterations[done], out.change[done] = new[stop], it, change[stop]
        if stop.all():
            break
        go = np.flatnonzero(~stop)
        rows, sub, t, near = rows[go], sub.take(go), new[go], near[go]
        vsub = None if vsub is None else vsub[go]

    conv = out.converged
    if method in ("ML", "REML") and con["ll0check"]:
        chk = np.flatnonzero(conv & (tau2 > 0.0))
        if chk.size:
            sub = d.take(chk)
            reml = method == "REML"
            ll0 = loglik(sub, np.zeros(chk.size), reml)
            ll = loglik(sub, tau2[chk], reml)
            bad = ll0 - ll > float(con["tol"])
            tau2[chk[bad]] = 0.0
            out.ll0_reset[chk[bad]] = True
    out.tau2 = np.maximum(0.0, tau2)


def estimate_tau2(d: Block, method: str, con: Mapping[str, Any]) -> Tau2:
    """τ² and its SE for analyses with ``k > p`` (checked by the caller).

    Examples
    --------
    >>> import numpy as np
    >>> from synthesis.stats.control import check_control
    >>> d = Block.from_rows(np.array([[0.1, 0.5, 0.3, 0.9]]), np.array([[0.02, 0.03, 0.01, 0.05]]))
    >>> round(float(estimate_tau2(d, "DL", check_control(None)).tau2[0]), 4)
    0.0533
    """
    n = d.k.size
    out = Tau2(n)
    k = d.k.astype(float)
    dfr = k - d.p
    if method == "EE":
        return out
    if method == "DL":
        w0 = 1.0 / d.V
        _b, A, r = wls(d, w0)
        trp, trpp = traces(d, w0, A)
        tau2 = np.maximum(0.0, ((w0 * r * r).sum(axis=0) - dfr) / trp)
        out.tau2 = tau2
        out.se = np.sqrt((2 * dfr + 4 * tau2 * trp + 2 * tau2 * tau2 * trpp) / trp**2)
        return out
    if method == "HE":
        tau2, trpv, ones, A = _hedges(d)
        trpvpv = tr_pdpd(d, ones, A, d.V0, d.V0)
        out.tau2 = tau2
        out.se = np.sqrt((2 * trpvpv + 4 * tau2 * trpv + 2 * tau2 * tau2 * dfr) / dfr**2)
        return out
    if method == "SJ":
        t0 = _mean_sq_dev(d) if con["tau2_init"] is None else np.full(n, float(con["tau2_init"]))
        w = weights(d, t0)
        _b, A, r = wls(d, w)
        tau2 = np.maximum(0.0, t0 * (w * r * r).sum(axis=0) / dfr)
        out.tau2 = tau2
        out.se = np.sqrt(
            t0**2
            / dfr**2
            * (
                2 * tr_pdpd(d, w, A, d.V0, d.V0)
                + 4 * tau2 * tr_pdpd(d, w, A, d.V0, 1.0)
                + 2 * tau2 * tau2 * tr_pdpd(d, w, A)
            )
        )
        return out
    if method == "PM":
        tau2 = np.zeros(n)
        pos = np.flatnonzero(q_stat(d, np.zeros(n)) >= dfr)
        if pos.size:
            sub = d.take(pos)
            hi = np.maximum(100.0, 10.0 * _mean_sq_dev(sub))
            target = dfr[pos]
            while True:  # Q(τ²) → 0 as τ² → ∞
                above = q_stat(sub, hi) > target
                if not above.any():
                    break
                hi = np.where(above, hi * 10.0, hi)
            tau2[pos] = solve_q(sub, target, np.zeros(pos.size), hi, float(con["tol"]))
        out.tau2 = tau2
        out.se = np.sqrt(2 * k**2 / dfr / weights(d, tau2).sum(axis=0) ** 2)
        return out
    _fisher_scoring(d, method, con, out)
    w = weights(d, out.tau2)
    if method == "ML":
        out.se = np.sqrt(2.0 / (w * w).sum(axis=0))
    elif method == "REML":
        _b, A, _r = wls(d, w)
        out.se = np.sqrt(2.0 / traces(d, w, A)[1])
    else:
        out.se = np.sqrt(2 * k**2 / dfr / w.sum(axis=0) ** 2)
    return out


def q_profile(
    d: Block, tau2: _Array, level: float, con: Mapping[str, Any]
) -> tuple[_Array, _Array, _Array, _Array]:
    """Q-profile CI of τ² :cite:`viechtbauer2007confidence` per analysis, as metafor's ``confint``.

    The bounds solve ``Q(τ²_lb) = χ²_{k−p; 1−α/2}`` and ``Q(τ²_ub) = χ²_{k−p; α/2}``.
    A bound whose equation has no root on ``[0, tau2_max]`` is set to the end of
    that interval (default ``tau2_max = max(100, 10 τ̂²)``, as metafor).

    Returns
    -------
    (lower, upper, ub_truncated, tau2_max)
        ``ub_truncated`` marks upper bounds reported as ``tau2_max`` although the
        true bound lies beyond it.
    """
    n = tau2.size
    dfr = (d.k - d.p).astype(float)
    alpha = 1.0 - level / 100.0
    crit_u = special.chdtri(dfr, alpha / 2)
    crit_l = 2 * special.gammaincinv(dfr / 2, alpha / 2)
    tmax = (
        np.maximum(100.0, 10.0 * tau2)
        if con["tau2_max"] is None
        else np.full(n, float(con["tau2_max"]))
    )
    tol = float(con["tol"])
    q_min = q_stat(d, np.zeros(n))
    q_max = q_stat(d, tmax)
    lb = np.zeros(n)
    ub = np.zeros(n)
    some = q_min >= crit_l
    ub_beyond = some & (q_max > crit_l)
    ub[ub_beyond] = tmax[ub_beyond]
    need = np.flatnonzero(some & ~ub_beyond)
    if need.size:
        ub[need] = solve_q(d.take(need), crit_l[need], np.zeros(need.size), tmax[need], tol)
    all_beyond = some & (q_max > crit_u)
    lb[all_beyond] = ub[all_beyond] = tmax[all_beyond]
    need = np.flatnonzero(some & ~all_beyond & (q_min >= crit_u))
    if need.size:
        lb[need] = solve_q(d.take(need), crit_u[need], np.zeros(need.size), tmax[need], tol)
    return lb, ub, ub_beyond, tmax
