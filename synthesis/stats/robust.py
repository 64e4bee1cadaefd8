r"""Cluster-robust inference for dependent effect sizes, as metafor's ``robust()``.

When one study contributes several effect sizes to one analysis (time points,
subscales, several comparisons against one control group), the effects of a study are
not independent and the model-based standard errors are too small. Cluster-robust
("sandwich") variance estimation :cite:`hedges2010robust` keeps the model's estimates
and weights and replaces their variance by one that is valid whatever the dependence
within a cluster:

``V = M (Σⱼ Xⱼ' Wⱼ Aⱼ eⱼ eⱼ' Aⱼ' Wⱼ Xⱼ) M``,  ``M = (X'WX)⁻¹``,

with ``W`` the model's weights ``1/(vᵢ + τ²)``, ``eⱼ`` the residuals of cluster ``j`` and
``Aⱼ`` an adjustment:

* ``clubSandwich=True`` (default): CR2, the bias-reduced linearisation of
  :cite:`bell2002bias` as clubSandwich computes it for ``rma.uni`` models
  :cite:`pustejovsky2018small` (working model ``Φ = W⁻¹``,
  ``Aⱼ = Dⱼ (Dⱼ (Φⱼ − Xⱼ M Xⱼ') Dⱼ)^(−1/2) Dⱼ`` with ``Dⱼ = Φⱼ^(1/2)``, the inverse square
  root taken over eigenvalues > 1e-12 as clubSandwich's ``matrix_power``), t tests and
  confidence intervals with Satterthwaite degrees of freedom per coefficient
  :cite:`tipton2015small` and the HTZ test of the moderators (Hotelling's T²
  approximation of :cite:`tipton2015tests`). This is metafor's
  ``robust(x, cluster, clubSandwich=TRUE)``: ``vcovCR(type="CR2")``,
  ``coef_test(test="Satterthwaite")``, ``conf_int`` and ``Wald_test(test="HTZ")``.
* ``clubSandwich=False``: ``Aⱼ = I`` (CR0), times ``n/(n − p)`` with ``adjust=True``
  (CR1, metafor's default), and t/F tests on ``n − p`` degrees of freedom
  (``n`` clusters, ``p`` coefficients).

Why not PyMARE: PyMARE 0.0.13 has a CR2 estimator with Satterthwaite degrees of freedom
(``pymare.stats.cluster_robust_cov``, ``satterthwaite_dof``), but by its own
documentation it takes ``Aⱼ`` symmetric in the whitened metric rather than
clubSandwich's symmetric ``Aⱼ``; the two agree only when the weights are constant within
every cluster and otherwise differ by up to about 1e-2 in the standard errors. PyMARE
also floors the degrees of freedom at 1 and has no HTZ test. To reproduce metafor and
clubSandwich, the computation is written here in NumPy; ``tests/test_robust.py``
cross-checks it against PyMARE where the two agree by construction.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from scipy import special

from synthesis.errors import UserInputError
from synthesis.stats.results import MetaResult
from synthesis.stats.robust_result import RobustCoefficient, RobustResult

__all__ = ["robust"]

_Array = np.ndarray

#: Eigenvalues at or below this are dropped from matrix inverse square roots, as in
#: clubSandwich's ``matrix_power(x, p, tol = -12)`` (on the same normalised weights).
_EIGEN_TOL = 1e-12

#: A coefficient whose CR0 variance is at most this times its model-based variance is
#: not estimable from between-cluster variation (rounding noise is ~1e-16 relative).
_LOST = 1e-10


def _inv_sqrt(m: _Array) -> _Array:
    """``m^(-1/2)`` of a symmetric matrix over its eigenvalues > 1e-12 (others: 0)."""
    vals, vecs = np.linalg.eigh(m)
    keep = vals > _EIGEN_TOL
    scale = np.zeros_like(vals)
    scale[keep] = vals[keep] ** -0.5
    return (vecs * scale) @ vecs.T


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(float(value))
    if isinstance(value, str | int | np.integer):
        return False
    import pandas as pd

    try:
        return bool(pd.isna(value))  # pd.NA, NaT, ...
    except (TypeError, ValueError):  # a label that is itself a sequence
        return False


def _clusters(x: MetaResult, cluster: object, data: Any) -> tuple[list[object], _Array]:
    """Cluster label of every effect used by ``x`` and integer codes (sorted labels)."""
    if isinstance(cluster, str):
        if data is None:
            raise UserInputError(
                f"cluster={cluster!r} names a column, but no data= was given; pass the "
                "cluster values themselves or data=<the frame the model was fitted to>."
            )
        if cluster not in data:
            cols = list(data.columns) if hasattr(data, "columns") else list(data)
            raise UserInputError(f"cluster={cluster!r}: no such column in data; columns: {cols}.")
        cluster = data[cluster]
    if isinstance(cluster, np.ndarray):
        values = cluster.tolist() if cluster.ndim == 1 else [cluster]
    elif isinstance(cluster, Iterable) and not isinstance(cluster, str | bytes):
        values = list(cluster)
    else:
        raise UserInputError(
            f"cluster must be one label per row of the data (a list, array or Series) or a "
            f"column name with data=; got {cluster!r:.60}."
        )
    k_all = x.k + x.k_excluded
    if len(values) != k_all:
        extra = f" ({x.k} used, {x.k_excluded} excluded for missing values)" if x.k_excluded else ""
        raise UserInputError(
            f"cluster has {len(values)} values but the model was fitted to {k_all} rows"
            f"{extra}; give one cluster label per row of the data passed to rma(), as "
            "metafor's robust() requires."
        )
    used = [values[i] for i in x.index]
    missing = [j for j, v in enumerate(used) if _is_missing(v)]
    if missing:
        where = ", ".join(f"row {x.index[j]} ({x.slab[j]})" for j in missing[:10])
        raise UserInputError(
            f"cluster is missing for {len(missing)} of the {x.k} effects used: {where}; "
            "every effect in the model needs a cluster label (metafor: 'No missing values "
            "allowed in cluster')."
        )
    try:
        labels = sorted(set(used))
    except TypeError:  # labels of mixed types: order them by their text
        labels = sorted(set(used), key=str)
    code_of = {label: j for j, label in enumerate(labels)}
    return labels, np.array([code_of[v] for v in used], dtype=np.intp)


def _t_tests(
    b: _Array, se: _Array, df: _Array, level: float
) -> tuple[_Array, _Array, _Array, _Array]:
    """t statistics, two-sided p-values and CI bounds on (per-coefficient) ``df``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        tval = b / se
        ok = df > 0
        dfs = np.where(ok, df, 1.0)
        pval = np.where(ok, 2.0 * special.stdtr(dfs, -np.abs(tval)), np.nan)
        crit = np.where(ok, -special.stdtrit(dfs, (1.0 - level / 100.0) / 2.0), np.nan)
    return tval, pval, b - crit * se, b + crit * se


def _wald(b: _Array, vb: _Array, rows: Sequence[int]) -> float:
    """``(Cb)'(C V C')⁻¹(Cb)`` for the coefficients ``rows`` (NaN if singular)."""
    idx = list(rows)
    try:
        return float(b[idx] @ np.linalg.solve(vb[np.ix_(idx, idx)], b[idx]))
    except np.linalg.LinAlgError:
        return math.nan


class _CR2:
    """clubSandwich's CR2 pieces for one model: variance and Satterthwaite/HTZ moments.

    In clubSandwich's notation (``get_GH``, ``get_P_array``), for cluster ``j``:
    ``Eⱼ = Xⱼ' Wⱼ Aⱼ``, ``Gⱼ = M Eⱼ Dⱼ`` and ``Hⱼ = M Eⱼ Xⱼ L`` with ``L L' = M_U``;
    for a constraint matrix ``C`` the moments of the robust variance under the working
    model are ``P[s,t,j,l] = δⱼₗ (C Gⱼ Gⱼ' C')[s,t] − (C Hⱼ)[s]·(C Hₗ)[t]``.
    Weights are normalised to mean 1 first, as clubSandwich does (the results do not
    depend on it, but the 1e-12 eigenvalue cut-off does).
    """

    def __init__(self, X: _Array, w: _Array, e: _Array, codes: _Array, n: int) -> None:
        p = X.shape[1]
        scale = float(np.mean(w))
        wn = w / scale
        theta = 1.0 / wn
        m_u = np.linalg.inv(X.T @ (wn[:, None] * X))
        m_raw = m_u / scale
        chol = np.linalg.cholesky(m_u)
        comps = np.empty((n, p))
        self.gg = np.empty((n, p, p))
        self.h = np.empty((n, p, p))
        for j in range(n):
            rows = codes == j
            xj, dj = X[rows], np.sqrt(theta[rows])
            inner = np.diag(theta[rows]) - xj @ m_u @ xj.T
            aj = dj[:, None] * _inv_sqrt(dj[:, None] * inner * dj[None, :]) * dj[None, :]
            ej = (xj * wn[rows, None]).T @ aj
            comps[j] = ej @ e[rows]
            me = m_raw @ ej
            gj = me * dj[None, :]
            self.gg[j] = gj @ gj.T
            self.h[j] = me @ xj @ chol
        self.vb = m_u @ (comps.T @ comps) @ m_u

    def nu(self, rows: Sequence[int]) -> float:
        """HTZ degrees of freedom ``q(q + 1)/Σ Var`` for the coefficients ``rows``.

        For one coefficient this is the Satterthwaite ``(tr P)²/tr(P²)``.
        """
        idx = list(rows)
        q = len(idx)
        gg = self.gg[:, idx][:, :, idx]  # (n, q, q)
        h = self.h[:, idx, :]  # (n, q, p)
        omega = gg.sum(axis=0) - np.einsum("jsa,jta->st", h, h)
        root = _inv_sqrt(omega)
        gg = np.einsum("ab,jbc,cd->jad", root, gg, root)
        h = np.einsum("ab,jbc->jac", root, h)

        def block(s: int, t: int) -> _Array:  # B[s, t, :, :], n x n
            return np.diag(gg[:, s, t]) - h[:, s, :] @ h[:, t, :].T

        total = 0.0
        for s in range(q):
            for t in range(q):
                total += float(np.sum(block(s, t) * block(t, s)))
                total += float(np.sum(block(s, s) * block(t, t)))
        return q * (q + 1) / total if total > 0 else math.nan


def robust(
    x: MetaResult,
    cluster: Sequence[object] | _Array | str,
    *,
    adjust: bool = True,
    clubSandwich: bool = True,
    data: Any = None,
) -> RobustResult:
    r"""Cluster-robust tests and confidence intervals for a fitted model (metafor ``robust``).

    Use it when a cluster (usually a study) contributes more than one effect size to
    the model: several time points, subscales, or arms compared with one control. The
    coefficients and weights of ``x`` are kept; their variance, tests and intervals are
    replaced by cluster-robust ones :cite:`hedges2010robust`.

    Parameters
    ----------
    x : MetaResult
        A model fitted by :func:`synthesis.stats.rma` (intercept-only or with
        ``mods``; any ``method``). Its weights ``1/(vᵢ + τ²)`` are the working model.
    cluster : array-like or str
        One cluster label per row of the data given to ``rma`` (including rows it
        excluded for missing values, as metafor), or a column name of ``data``.
        Labels may be numbers or strings; a cluster may hold a single effect.
    adjust : bool, default True
        Without clubSandwich: multiply the CR0 estimator by ``n/(n − p)`` (CR1), as
        metafor's ``adjust=TRUE``. Ignored with ``clubSandwich=True`` (CR2 corrects
        for leverage itself).
    clubSandwich : bool, default True
        CR2 with Satterthwaite degrees of freedom and the HTZ test, as metafor's
        ``robust(..., clubSandwich=TRUE)`` :cite:`pustejovsky2018small`
        :cite:`tipton2015small` :cite:`tipton2015tests`. **metafor's default
        is FALSE**; ours is True because CR2 with Satterthwaite degrees of freedom is
        the small-sample method these papers recommend (CR1 with ``n − p`` degrees of
        freedom rejects too often with few clusters). The footnote of the printout
        names the estimator used. ``clubSandwich=False`` gives metafor's default.
    data : DataFrame or mapping, optional
        Where ``cluster`` is looked up when it is a column name.

    Returns
    -------
    RobustResult
        Coefficient table with cluster-robust SE, t, df, p and CI; the test of the
        moderators (CR2: HTZ ``F(q, ν − q + 1)``; CR0/CR1: ``F(m, n − p)``); the
        robust variance matrix ``vb``. Prints as metafor's ``robust()``.

    Raises
    ------
    UserInputError
        ``x`` is not an ``rma`` fit; ``cluster`` has the wrong length, a missing
        label on an effect in the model, or names an unknown column; there are no
        more clusters than coefficients (a single cluster, for instance).

    Notes
    -----
    For a model fitted with ``test="knha"`` (or ``"adhoc"``) the cluster-robust
    variance is built on ``M = (X'WX)⁻¹``, as clubSandwich does for every model, so the
    result does not depend on ``test``. metafor 3.8.1's ``robust()`` without
    clubSandwich builds it on the Knapp-Hartung ``vb = s² M`` instead, which multiplies
    its CR0/CR1 variance by ``s⁴``; the result says so in a note.

    Examples
    --------
    Two effect sizes (say, two subscales) from each of five studies:

    >>> from synthesis.stats import rma, robust
    >>> yi = [0.30, 0.42, 0.10, 0.18, 0.55, 0.61, 0.05, 0.20, 0.33, 0.25]
    >>> vi = [0.02, 0.03, 0.015, 0.02, 0.04, 0.05, 0.01, 0.012, 0.03, 0.02]
    >>> study = ["A", "A", "B", "B", "C", "C", "D", "D", "E", "E"]
    >>> fit = rma(yi, vi)
    >>> r = robust(fit, cluster=study)          # CR2, Satterthwaite df
    >>> round(r.estimate, 4), round(r.se, 4), round(r.df, 2), round(r.pval, 4)
    (0.2397, 0.0687, 3.48, 0.0314)
    >>> r1 = robust(fit, cluster=study, clubSandwich=False)   # metafor's default: CR1
    >>> round(r1.se, 4), r1.df
    (0.0676, 4.0)

    The same numbers as metafor 3.8.1 with clubSandwich 0.5.8
    (``robust(rma(yi, vi), cluster=study, clubSandwich=TRUE)``).
    """
    if not isinstance(x, MetaResult):
        raise UserInputError(f"robust() needs a model fitted by rma(); got {type(x).__name__}.")
    labels, codes = _clusters(x, cluster, data)
    n, p = len(labels), x.p
    if n <= p:
        what = "a single cluster" if n == 1 else f"{n} clusters"
        raise UserInputError(
            f"cluster: all {x.k} effects fall in {what} for {p} coefficient(s); "
            "cluster-robust inference needs more clusters than coefficients (metafor: "
            "'Number of clusters must be larger than the number of fixed effects')."
        )
    yi, vi = np.asarray(x.yi, dtype=float), np.asarray(x.vi, dtype=float)
    X = np.ones((x.k, 1)) if x.X is None else np.asarray(x.X, dtype=float)
    b = np.array([c.estimate for c in x.coefficients])
    w = 1.0 / (vi + x.tau2)
    e = yi - X @ b
    btt = list(range(1, p)) if p > 1 else [0]
    notes: list[str] = []
    m = np.linalg.inv(X.T @ (w[:, None] * X))
    scores = np.zeros((n, p))
    np.add.at(scores, codes, X * (w * e)[:, None])
    vb = m @ (scores.T @ scores) @ m  # CR0
    # A coefficient whose CR0 variance is zero up to rounding is carried by the effects
    # of one cluster only (its residual score there is zero by the normal equations).
    lost = np.flatnonzero(np.diag(vb) <= _LOST * np.diag(m))
    with np.errstate(divide="ignore", invalid="ignore"):
        if clubSandwich:
            cr2 = _CR2(X, w, e, codes, n)
            vb = cr2.vb
            df = np.array([cr2.nu([i]) for i in range(p)])
            se = np.sqrt(np.maximum(np.diag(vb), 0.0))
            tval, pval, lb, ub = _t_tests(b, se, df, x.level)
            if p == 1:
                qm, qmdf, qmp = max(0.0, float(tval[0]) ** 2), (1, float(df[0])), float(pval[0])
            else:
                q = len(btt)
                nu = cr2.nu(btt)
                df2 = nu - q + 1
                delta = max(df2 / nu, 0.0)
                qm = max(0.0, delta * _wald(b, vb, btt) / q)
                qmp = float(special.fdtrc(q, df2, qm)) if df2 > 0 else math.nan
                qmdf = (q, float(df2))
            vcov_type, df_method = "CR2", "Satterthwaite"
        else:
            if adjust:
                vb = vb * (n / (n - p))
            df = np.full(p, float(n - p))
            se = np.sqrt(np.maximum(np.diag(vb), 0.0))
            tval, pval, lb, ub = _t_tests(b, se, df, x.level)
            tval[lost] = pval[lost] = lb[lost] = ub[lost] = np.nan
            qm = _wald(b, vb, btt) / len(btt)
            qmdf = (len(btt), float(n - p))
            qmp = float(special.fdtrc(len(btt), n - p, qm))
            vcov_type, df_method = ("CR1" if adjust else "CR0"), "residual"
            if x.test in ("knha", "adhoc"):
                notes.append(
                    f'The model was fitted with test="{x.test}"; the sandwich uses (X\'WX)⁻¹ '
                    "as clubSandwich does. metafor's robust() without clubSandwich builds it "
                    "on the Knapp-Hartung vb instead, which multiplies its variance by the "
                    "squared Knapp-Hartung scale factor."
                )
    if lost.size:
        names = ", ".join(x.coefficients[i].name for i in lost)
        what = (
            "its t test and CI are not reported (metafor prints se ≈ 0 and p ≈ 0)"
            if not clubSandwich
            else "the CR2 numbers shown for it (clubSandwich's) rest on a cluster with full "
            "leverage and should not be read as a test"
        )
        notes.append(
            f"{names}: the cluster-robust variance is zero up to rounding because the "
            f"effects that estimate it come from a single cluster; {what}."
        )
    coefs = tuple(
        RobustCoefficient(
            c.name,
            float(b[i]),
            float(se[i]),
            float(tval[i]),
            float(df[i]),
            float(pval[i]),
            float(lb[i]),
            float(ub[i]),
        )
        for i, c in enumerate(x.coefficients)
    )
    vb_ro = np.array(vb, dtype=float)
    vb_ro.setflags(write=False)
    counts = np.bincount(codes, minlength=n)
    return RobustResult(
        fit=x,
        vcov_type=vcov_type,
        df_method=df_method,
        coefficients=coefs,
        QM=float(qm),
        QMdf=qmdf,
        QMp=qmp,
        vb=vb_ro,
        cluster=tuple(str(labels[c]) for c in codes),
        cluster_sizes=tuple((str(lab), int(counts[j])) for j, lab in enumerate(labels)),
        notes=tuple(notes),
    )
