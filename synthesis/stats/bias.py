"""Small-study and publication-bias methods: Egger's regression test and trim-and-fill."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from synthesis.errors import UserInputError
from synthesis.stats.control import check_settings, check_test
from synthesis.stats.results import MetaResult, RegtestResult, TrimfillResult, readonly
from synthesis.stats.rma import fit_prepared, model_data, plain

if TYPE_CHECKING:
    pass

_Array = np.ndarray


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

    Examples
    --------
    >>> from synthesis.stats import regtest, rma
    >>> fit = rma([0.10, 0.30, 0.35, 0.65, 0.45, 0.15],
    ...           [0.010, 0.020, 0.015, 0.030, 0.025, 0.012], slab=list("ABCDEF"))
    >>> print(regtest(fit))
    Regression Test for Funnel Plot Asymmetry
    <BLANKLINE>
    Model:     mixed-effects meta-regression model
    Predictor: standard error
    <BLANKLINE>
    Test for Funnel Plot Asymmetry: z = 3.0866, p = 0.0020
    Limit Estimate (as sei -> 0):   b = -0.5544 (CI: -1.0872, -0.0217)
    """
    yi, v, slab, kw = model_data(data, vi, rma_kwargs)
    method, test, level, con, measure = check_settings(kw)
    X = np.column_stack([np.ones(yi.size), np.sqrt(v)])
    if np.linalg.matrix_rank(X) < 2:
        raise UserInputError(
            "regtest: all sampling variances are equal, so sei cannot be a predictor."
        )
    fit = fit_prepared(plain(yi, v, slab, X, ("intrcpt", "sei")), method, test, level, con, measure)
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


def trimfill(
    data: MetaResult | Sequence[float] | _Array,
    vi: object = None,
    *,
    side: str | None = None,
    maxiter: int = 100,
    refit_test: str | None = None,
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

    The refit keeps the model's ``test``. metafor 3.8.1's ``trimfill`` refits with its
    default ``test="z"`` unless told otherwise; ``refit_test="z"`` gives that. With
    equal sampling variances the side cannot be estimated (metafor stops); ``"left"``
    is then assumed with a note.

    Parameters
    ----------
    data, vi, **rma_kwargs
        As for :func:`leave1out`.
    side : {"left", "right"}, optional
        Side on which studies are assumed missing.
    maxiter : int, default 100
        Maximum number of trim-and-fill iterations.
    refit_test : {"z", "knha"}, optional
        Test of the fit to the filled data (default: the model's).

    Returns
    -------
    TrimfillResult

    Raises
    ------
    UserInputError
        For k < 3, an unknown ``side``, or no convergence within ``maxiter``
        (metafor stops with an error as well).

    Examples
    --------
    >>> from synthesis.stats import trimfill
    >>> tf = trimfill([0.1, 0.2, 0.3, 0.5, 0.7, 0.9], [0.01, 0.015, 0.02, 0.04, 0.06, 0.08])
    >>> tf.k0, tf.side, round(tf.se_k0, 4), round(tf.fit.estimate, 4)
    (2, 'left', 1.6942, 0.2439)
    >>> [round(float(y), 4) for y in tf.yi[tf.fill]]  # the two imputed studies
    [-0.2652, -0.4652]
    """
    yi, v, slab, kw = model_data(data, vi, rma_kwargs)
    method, test, level, con, measure = check_settings(kw)
    if side is not None and side not in ("left", "right"):
        raise UserInputError(f"side={side!r} is not allowed; use 'left', 'right' or None.")
    k = yi.size
    if k < 3:
        raise UserInputError(f"trimfill needs at least 3 studies; got k = {k}.")
    original = (
        data
        if isinstance(data, MetaResult) and not rma_kwargs
        else fit_prepared(plain(yi, v, slab), method, test, level, con, measure)
    )
    fill_test = test if refit_test is None else check_test(refit_test)
    notes: list[str] = []
    if side is None and np.ptp(v) == 0:
        side = "left"
        notes.append(
            "All sampling variances are equal, so the side cannot be estimated from the "
            "regression on sqrt(vi) (metafor stops here); 'left' assumed. Give side= to choose."
        )
    if side is None:
        X = np.column_stack([np.ones(k), np.sqrt(v)])
        sfit = fit_prepared(
            plain(yi, v, slab, X, ("intrcpt", "sei")),
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
        sub = plain(y[: k - k0], vs[: k - k0], [""] * (k - k0))
        b = fit_prepared(sub, method, "z", 95.0, con, None, with_ci=False).estimate
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
        fit = fit_prepared(plain(yi_f, vi_f, slab_f), method, fill_test, level, con, measure)
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
        yi=readonly(yi_f),
        vi=readonly(vi_f),
        fill=fill,
        slab=tuple(slab_f),
        iterations=it,
        notes=tuple(notes),
    )
