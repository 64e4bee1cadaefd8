"""Leave-one-out, cumulative and case-influence analyses, as metafor's functions."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import special

from synthesis.errors import UserInputError
from synthesis.stats.control import check_settings
from synthesis.stats.many import refits
from synthesis.stats.results import InfluenceResult, MetaResult
from synthesis.stats.rma import as_vector, fit_prepared, model_data, plain, prepare
from synthesis.warnings import ConvergenceWarning

if TYPE_CHECKING:
    import pandas as pd

_Array = np.ndarray


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

    Examples
    --------
    >>> from synthesis.stats import leave1out, rma
    >>> fit = rma([0.10, 0.30, 0.35, 0.65, 0.45, 0.15],
    ...           [0.010, 0.020, 0.015, 0.030, 0.025, 0.012], slab=list("ABCDEF"))
    >>> leave1out(fit).round(4)[["estimate", "tau2"]].loc[["A", "D"]]
             estimate    tau2
    omitted
    A          0.3503  0.0127
    D          0.2417  0.0055
    """
    import pandas as pd

    yi, v, slab, kw = model_data(data, vi, rma_kwargs)
    method, test, level, con, _measure = check_settings(kw)
    if yi.size < 2:
        raise UserInputError(f"leave1out needs at least 2 studies; got k = {yi.size}.")
    k = yi.size
    cols = np.arange(k - 1)

    def omit(rows: _Array) -> _Array:  # analysis i uses every study but i
        return cols[None, :] + (cols[None, :] >= rows[:, None])

    index = pd.Index(slab, name="omitted")
    return refits(yi, v, omit, k, method, test, level, con, index)


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

    Examples
    --------
    >>> from synthesis.stats import cumul, rma
    >>> fit = rma([0.10, 0.30, 0.35, 0.65, 0.45, 0.15],
    ...           [0.010, 0.020, 0.015, 0.030, 0.025, 0.012], slab=list("ABCDEF"))
    >>> cumul(fit).round(4)[["estimate", "ci_lb", "ci_ub"]].tail(2)
           estimate   ci_lb   ci_ub
    added
    E        0.3413  0.1633  0.5192
    F        0.3017  0.1492  0.4541
    """
    import pandas as pd

    if isinstance(data, MetaResult):
        yi, v, slab, kw = model_data(data, vi, rma_kwargs)
        keys = None if order is None else as_vector(order, "order")
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
        prep = prepare(data, vi, None, slab_in, stacklevel=4)
        yi, v, slab = prep.yi, prep.vi, prep.slab
        keys = None
        if order is not None:
            full = as_vector(order, "order")
            n_in = as_vector(data, "yi").size
            if full.size != n_in:
                raise UserInputError(f"order has {full.size} values but yi has {n_in}.")
            keys = full[list(prep.index)]
    method, test, level, con, _measure = check_settings(kw)
    idx = np.arange(yi.size) if keys is None else np.argsort(keys, kind="stable")

    def first(rows: _Array) -> _Array:  # step s uses the first s + 1 studies in order
        return np.where(np.arange(idx.size)[None, :] <= rows[:, None], idx[None, :], -1)

    index = pd.Index([slab[j] for j in idx], name="added")
    return refits(yi, v, first, yi.size, method, test, level, con, index)


def influence(fit: MetaResult) -> InfluenceResult:
    r"""Outlier and influential-case diagnostics of every study, as metafor's ``influence()``.

    Each study is left out in turn and the model refitted with the same method, test
    and level :cite:`viechtbauer2010metafor`. With ``b``, ``Var(b)`` the full fit,
    ``b₍ᵢ₎``, ``Var(b₍ᵢ₎)``, τ²₍ᵢ₎ and ``s²₍ᵢ₎`` (the Knapp-Hartung factor, 1 under z)
    the fit without study ``i``, and ``hᵢ`` its leverage in the full fit:

    * ``rstudent = (yᵢ − xᵢ'b₍ᵢ₎) / √(s²₍ᵢ₎(vᵢ + τ²₍ᵢ₎) + xᵢ'Var(b₍ᵢ₎)xᵢ)``;
    * ``dffits = xᵢ'(b − b₍ᵢ₎) / √(s²₍ᵢ₎ hᵢ (τ²₍ᵢ₎ + vᵢ))``;
    * ``cook.d = (b − b₍ᵢ₎)'Var(b)⁻¹(b − b₍ᵢ₎)`` over all coefficients;
    * ``cov.r = det Var(b₍ᵢ₎) / det Var(b)``;
    * ``dfbs = (b − b₍ᵢ₎) / √(s²₍ᵢ₎ diag((X'W₍ᵢ₎X)⁻¹))`` with ``W₍ᵢ₎`` the weights of
      all k studies at τ²₍ᵢ₎;
    * ``inf`` marks ``|dffits| > 3√(p/(k−p))``, ``P(χ²_m ≤ cook.d) > 0.5``,
      ``hat > 3p/k`` or any ``|dfbs| > 1``, as metafor.

    Parameters
    ----------
    fit : MetaResult
        A fitted model with k >= 2 (moderators allowed).

    Returns
    -------
    InfluenceResult

    Examples
    --------
    >>> from synthesis.stats import influence, rma
    >>> fit = rma([0.10, 0.30, 0.35, 0.65, 1.20], [0.010, 0.020, 0.015, 0.030, 0.020])
    >>> influence(fit).to_frame()["inf"].tolist()
    ['', '', '', '', '*']
    """
    import pandas as pd

    if not isinstance(fit, MetaResult):
        raise UserInputError(
            f"influence needs a fitted model (rma result); got {type(fit).__name__}."
        )
    k, p = fit.k, fit.p
    if k - 1 < p + (0 if fit.method == "EE" else 1) and not (k == 2 and p == 1):
        raise UserInputError(
            f"influence needs more studies than coefficients; got k = {k}, p = {p}."
        )
    yi, vi = np.asarray(fit.yi), np.asarray(fit.vi)
    X = np.ones((k, 1)) if fit.X is None else np.asarray(fit.X)
    b = np.array([c.estimate for c in fit.coefficients])
    vb = np.asarray(fit.vb)
    btt = np.arange(p)  # every coefficient, as metafor's influence() (int.incl=FALSE)
    w_full = 1.0 / (vi + fit.tau2)
    hat = w_full * np.einsum("ij,jk,ik->i", X, np.linalg.inv((X.T * w_full) @ X), X)
    con = dict(fit.control)
    con["ll0check"] = con.get("ll0check", True)
    names = ("rstudent", "dffits", "cook.d", "cov.r", "tau2.del", "QE.del")
    out = {n: np.full(k, np.nan) for n in names}
    dfbs = np.full((k, p), np.nan)
    svb = np.linalg.inv(vb[np.ix_(btt, btt)])
    for i in range(k):
        keep = np.arange(k) != i
        names_b = tuple(c.name for c in fit.coefficients)
        sub = plain(yi[keep], vi[keep], [""] * (k - 1), None if fit.X is None else X[keep], names_b)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            res = fit_prepared(sub, fit.method, fit.test, fit.level, con, None, with_ci=False)
        bd = np.array([c.estimate for c in res.coefficients])
        vbd = np.asarray(res.vb)
        w = 1.0 / (vi[keep] + res.tau2)
        r = yi[keep] - X[keep] @ bd
        rss = float(np.sum(w * r * r))
        s2w = 1.0
        if res.test == "knha":
            s2w = 0.0 if rss <= np.finfo(float).eps else rss / (k - 1 - p)
        xi = X[i]
        resid = yi[i] - float(xi @ bd)
        if abs(resid) < 100 * np.finfo(float).eps:
            resid = 0.0
        out["rstudent"][i] = resid / np.sqrt(vi[i] * s2w + float(xi @ vbd @ xi) + res.tau2 * s2w)
        out["dffits"][i] = float(xi @ (b - bd)) / np.sqrt(s2w * hat[i] * (res.tau2 + vi[i]))
        w_all = 1.0 / (vi + res.tau2)
        vb_del = np.linalg.inv((X.T * w_all) @ X)
        dfbs[i] = (b - bd) / np.sqrt(s2w * np.diag(vb_del))
        dfb = (b - bd)[btt]
        out["cook.d"][i] = float(dfb @ svb @ dfb)
        out["cov.r"][i] = float(
            np.linalg.det(vbd[np.ix_(btt, btt)]) / np.linalg.det(vb[np.ix_(btt, btt)])
        )
        out["tau2.del"][i] = res.tau2
        out["QE.del"][i] = res.QE
    frame = pd.DataFrame(out, index=pd.Index(fit.slab, name="slab"))
    frame["hat"] = hat
    frame["weight"] = np.asarray(fit.weights)
    dfbs_names = [f"dfbs.{c.name}" for c in fit.coefficients] if p > 1 else ["dfbs"]
    for j, name in enumerate(dfbs_names):
        frame[name] = dfbs[:, j]
    m = btt.size
    infl = (
        (np.abs(frame["dffits"]) > 3 * np.sqrt(p / (k - p)))
        | (special.chdtr(m, frame["cook.d"].to_numpy()) > 0.5)
        | (frame["hat"] > 3 * p / k)
        | (np.abs(dfbs) > 1).any(axis=1)
    )
    frame["inf"] = np.where(infl, "*", "")
    return InfluenceResult(frame)
