"""``predict`` and ``confint`` for a fitted model, as metafor's functions of those names."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy import special

from synthesis.errors import UserInputError
from synthesis.stats.results import ConfintResult, MetaResult, PredictResult

__all__ = ["confint", "predict"]


def _crit(fit: MetaResult) -> float:
    alpha = 1.0 - fit.level / 100.0
    if fit.df is not None:
        return float(-special.stdtrit(fit.df, alpha / 2)) if fit.df > 0 else math.nan
    return float(-special.ndtri(alpha / 2))


def predict(
    fit: MetaResult,
    newmods: Sequence[float] | None = None,
    *,
    transf: Callable[[float], float] | None = None,
) -> PredictResult:
    r"""The pooled (or predicted) value with its CI and prediction interval.

    ``pred = x'b``, ``se = √(x'Var(b)x)``, CI ``pred ± crit·se`` and prediction
    interval ``pred ± crit·√(se² + τ²)`` :cite:`riley2011interpretation`, with ``crit``
    the normal (z) or t(k − p) (knha) quantile, as metafor's ``predict.rma``. The
    equal-effects model has no prediction interval beyond the CI (metafor prints the
    CI for both).

    Parameters
    ----------
    fit : MetaResult
    newmods : sequence of float, optional
        Moderator values (without the intercept) for a meta-regression; required when
        the model has moderators.
    transf : callable, optional
        Applied to ``pred`` and every bound (bounds then sorted), e.g. ``numpy.exp``
        for log ratios; ``se`` is then NaN.

    Returns
    -------
    PredictResult

    Examples
    --------
    >>> import numpy as np
    >>> from synthesis.stats import predict, rma
    >>> fit = rma([-0.9, -1.6, -0.2, -0.8], [0.33, 0.19, 0.05, 0.01], method="DL")
    >>> round(predict(fit, transf=np.exp).pred, 4)
    0.4612
    """
    if not isinstance(fit, MetaResult):
        raise UserInputError(f"predict needs a fitted model; got {type(fit).__name__}.")
    b = np.array([c.estimate for c in fit.coefficients])
    if fit.p > 1:
        if newmods is None:
            raise UserInputError(
                f"predict: the model has {fit.p - 1} moderator(s); give newmods= with one "
                "value each."
            )
        x = np.concatenate([[1.0], np.asarray(newmods, dtype=float).ravel()])
        if x.size != fit.p:
            raise UserInputError(f"predict: newmods needs {fit.p - 1} value(s); got {x.size - 1}.")
    elif newmods is not None:
        raise UserInputError("predict: newmods= is only for a model with moderators.")
    else:
        x = np.ones(1)
    pred = float(x @ b)
    se = float(np.sqrt(x @ np.asarray(fit.vb) @ x))
    crit = _crit(fit)
    ci = (pred - crit * se, pred + crit * se)
    spred = math.sqrt(se**2 + (0.0 if fit.method == "EE" else fit.tau2))
    pi = (pred - crit * spred, pred + crit * spred)
    if transf is not None:
        if not callable(transf):
            raise UserInputError(f"transf={transf!r} must be a callable taking a float.")

        def f(v: float) -> float:
            return float(transf(v)) if math.isfinite(v) else math.nan

        ci = tuple(sorted((f(ci[0]), f(ci[1]))))  # type: ignore[assignment]
        pi = tuple(sorted((f(pi[0]), f(pi[1]))))  # type: ignore[assignment]
        pred, se = f(pred), math.nan
    return PredictResult(pred, se, ci[0], ci[1], pi[0], pi[1], fit.level)


def confint(fit: MetaResult) -> ConfintResult:
    r"""Confidence intervals of τ², τ, I² and H² :cite:`viechtbauer2007confidence`.

    τ²'s bounds are the Q-profile interval of the fit (marked truncated when cut at
    ``control["tau2_max"]``); τ's are their square roots, and I², H² are those of
    :cite:`higgins2002quantifying` at each bound, with metafor's typical sampling
    variance ``s² = (k − p)/tr(P_EE)``, as metafor's ``confint.rma.uni``.

    Examples
    --------
    >>> from synthesis.stats import confint, rma
    >>> fit = rma([0.10, 0.30, 0.35, 0.65], [0.010, 0.020, 0.015, 0.030])
    >>> confint(fit).to_frame().round(4).loc["tau^2"].tolist()
    [0.0291, 0.0, 0.6966]
    """
    import pandas as pd

    if not isinstance(fit, MetaResult):
        raise UserInputError(f"confint needs a fitted model; got {type(fit).__name__}.")
    if fit.method == "EE" or fit.k < 2:
        raise UserInputError(
            "confint: an equal-effects model, or one study, has no τ² to give an interval for."
        )
    vi = np.asarray(fit.vi)
    X = np.ones((fit.k, 1)) if fit.X is None else np.asarray(fit.X)
    w = 1.0 / vi
    a = np.linalg.inv((X.T * w) @ X)
    trp = float(w.sum() - np.sum(w * w * np.einsum("ij,jk,ik->i", X, a, X)))
    vt = (fit.k - fit.p) / trp
    t = np.array([fit.tau2, fit.tau2_ci_lb, fit.tau2_ci_ub])
    frame = pd.DataFrame(
        [t, np.sqrt(t), 100.0 * t / (vt + t), t / vt + 1.0],
        index=["tau^2", "tau", "I^2(%)", "H^2"],
        columns=["estimate", "ci.lb", "ci.ub"],
    )
    notes = tuple(n for n in fit.notes if "Q-profile" in n)
    return ConfintResult(frame, fit.level, notes)
