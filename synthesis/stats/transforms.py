"""Back-transformations for reporting, as metafor's ``transf.*`` functions."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import expit

from synthesis.errors import UserInputError
from synthesis.stats._inputs import (
    MEASURES,
    FloatArray,
    _as_float,
    _check,
    _out,
)

# --------------------------------------------------------------------------------------
# back-transformations for reporting
# --------------------------------------------------------------------------------------


def transf_ztor(xi: ArrayLike) -> float | FloatArray:
    r"""Fisher's z back to a correlation, :math:`r = \tanh z` (metafor ``transf.ztor``).

    Parameters
    ----------
    xi : array_like

    Returns
    -------
    float or numpy.ndarray

    Examples
    --------
    >>> from synthesis.stats import transf_ztor
    >>> transf_ztor([0.0, 0.5]).round(4).tolist()
    [0.0, 0.4621]
    """
    return _out(np.tanh(_as_float("xi", xi)))


def transf_ilogit(xi: ArrayLike) -> float | FloatArray:
    r"""Inverse logit, :math:`1/(1 + e^{-x})` (metafor ``transf.ilogit``).

    Parameters
    ----------
    xi : array_like

    Returns
    -------
    float or numpy.ndarray

    Examples
    --------
    >>> from synthesis.stats import transf_ilogit
    >>> round(transf_ilogit(-1.0), 4)
    0.2689
    """
    return _out(expit(_as_float("xi", xi)))


def transf_exp(xi: ArrayLike) -> float | FloatArray:
    """Exponential: log ratio back to a ratio (metafor ``transf=exp``).

    Parameters
    ----------
    xi : array_like

    Returns
    -------
    float or numpy.ndarray

    Examples
    --------
    >>> import math
    >>> from synthesis.stats import transf_exp
    >>> round(transf_exp(math.log(2.0)), 4)
    2.0
    """
    return _out(np.exp(_as_float("xi", xi)))


def _pft(p: float, n: float) -> float:
    x = p * n
    return 0.5 * (math.asin(math.sqrt(x / (n + 1))) + math.asin(math.sqrt((x + 1) / (n + 1))))


def transf_ipft_hm(yi: ArrayLike, ni: ArrayLike) -> float | FloatArray:
    r"""Inverse Freeman-Tukey transformation with the harmonic mean of ``ni``.

    With :math:`\tilde n = 1/\overline{(1/n_i)}` (harmonic mean, missing ``ni``
    ignored) :cite:`miller1978inverse` (metafor ``transf.ipft.hm``):

    .. math:: p = \tfrac12\left[1 - \operatorname{sign}(\cos 2t)
              \sqrt{1 - \left(\sin 2t + \frac{\sin 2t - 1/\sin 2t}{\tilde n}\right)^2}\,\right]

    Values above the transform of ``p = 1`` give 1, below that of ``p = 0`` give 0;
    undefined values give NaN, as in metafor.

    Parameters
    ----------
    yi : array_like
        Values on the double-arcsine scale (e.g. a pooled estimate and CI bounds).
    ni : array_like
        Sample sizes of the studies, ``> 0``.

    Returns
    -------
    float or numpy.ndarray

    Examples
    --------
    >>> from synthesis.stats import es_pft, transf_ipft_hm
    >>> yi, vi = es_pft([12, 3], [40, 25])
    >>> transf_ipft_hm(yi, ni=[40, 25]).round(4).tolist()  # metafor: 0.2986 0.1225
    [0.2986, 0.1225]
    """
    t = _as_float("yi", yi)
    n = _as_float("ni", ni)
    _check(n <= 0, "ni", n, "needs ni > 0", None)
    if np.all(np.isnan(n)):
        raise UserInputError("ni: needs at least one non-missing sample size")
    nhm = 1 / np.nanmean(1 / n)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.sin(2 * t)
        z = 0.5 * (1 - np.sign(np.cos(2 * t)) * np.sqrt(1 - (s + (s - 1 / s) / nhm) ** 2))
    z = np.where(np.isnan(z), np.nan, z)
    z[t > _pft(1.0, float(nhm))] = 1.0
    z[t < _pft(0.0, float(nhm))] = 0.0
    return _out(z)


_BACK: dict[str, Callable[[ArrayLike], float | FloatArray]] = {
    "ZCOR": transf_ztor,
    "PLO": transf_ilogit,
    "OR": transf_exp,
    "RR": transf_exp,
}


def backtransform(
    measure: str, values: ArrayLike, ni: ArrayLike | None = None
) -> float | FloatArray:
    """Back-transform values on the analysis scale of ``measure`` for reporting.

    ZCOR -> correlation (:func:`transf_ztor`), PLO -> proportion
    (:func:`transf_ilogit`), PFT -> proportion (:func:`transf_ipft_hm`, needs the
    studies' ``ni``), OR/RR -> ratio (:func:`transf_exp`); every other measure is
    already on its reporting scale and is returned unchanged.

    Parameters
    ----------
    measure : str
        One of :data:`MEASURES`.
    values : array_like
        Estimates or CI bounds on the analysis scale.
    ni : array_like, optional
        Study sample sizes; required for PFT.

    Returns
    -------
    float or numpy.ndarray

    Examples
    --------
    >>> from synthesis.stats import backtransform
    >>> backtransform("ZCOR", [0.2, 0.5]).round(4).tolist()  # Fisher's z to r
    [0.1974, 0.4621]
    >>> backtransform("MD", 1.5)  # already on its reporting scale
    1.5
    """
    if not isinstance(measure, str) or measure not in MEASURES:
        raise UserInputError(
            f"measure = {measure!r}: unknown measure; allowed: {', '.join(MEASURES)}"
        )
    if measure == "PFT":
        if ni is None:
            raise UserInputError(
                "backtransform(measure='PFT') needs ni (the studies' sample sizes)"
            )
        return transf_ipft_hm(values, ni)
    fun = _BACK.get(measure)
    if fun is None:
        return _out(_as_float("values", values))
    return fun(values)
