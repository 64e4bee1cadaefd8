"""Exchange with PyMARE :cite:`salo2023pymare`: a fitted model's data as a PyMARE
``Dataset`` and back, for users who want PyMARE's other estimators.

PyMARE is imported only here (and by the synthesis-without-meta-analysis combination
tests); fitting a model never imports it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from synthesis.errors import UserInputError
from synthesis.stats.results import MetaResult
from synthesis.stats.rma import rma

__all__ = ["from_pymare", "to_pymare"]


def to_pymare(fit: MetaResult) -> Any:
    """The studies of ``fit`` as a ``pymare.Dataset`` (``y``, ``v``, moderators, names).

    Examples
    --------
    >>> from synthesis.stats import rma, to_pymare
    >>> from pymare.estimators import DerSimonianLaird
    >>> fit = rma([0.10, 0.30, 0.35, 0.65], [0.010, 0.020, 0.015, 0.030], method="DL")
    >>> est = DerSimonianLaird().fit_dataset(to_pymare(fit)).summary()
    >>> round(float(est.tau2.ravel()[0]), 6) == round(fit.tau2, 6)
    True
    """
    from pymare import Dataset  # lazy: PyMARE (with sympy) takes seconds to import

    if not isinstance(fit, MetaResult):
        raise UserInputError(f"to_pymare needs a fitted model; got {type(fit).__name__}.")
    names = [c.name for c in fit.coefficients]
    if fit.X is None:
        return Dataset(y=np.asarray(fit.yi), v=np.asarray(fit.vi))
    X = np.asarray(fit.X)[:, 1:]
    return Dataset(y=np.asarray(fit.yi), v=np.asarray(fit.vi), X=X, X_names=names[1:])


def from_pymare(dataset: Any, **rma_kwargs: Any) -> MetaResult:
    """Fit :func:`synthesis.stats.rma` to a ``pymare.Dataset`` (its ``y``, ``v`` and ``X``).

    Only a single-outcome dataset (one column of ``y``) with an intercept column in
    ``X`` is accepted; ``rma_kwargs`` go to :func:`~synthesis.stats.rma`.

    Examples
    --------
    >>> from pymare import Dataset
    >>> from synthesis.stats import from_pymare
    >>> fit = from_pymare(Dataset(y=[0.1, 0.3, 0.35, 0.65], v=[0.01, 0.02, 0.015, 0.03]))
    >>> fit.k, fit.method
    (4, 'REML')
    """
    y = np.asarray(getattr(dataset, "y", None), dtype=float)
    v = np.asarray(getattr(dataset, "v", None), dtype=float)
    X = np.asarray(getattr(dataset, "X", None), dtype=float)
    if y.ndim != 2 or y.shape[1] != 1 or v.shape != y.shape:
        raise UserInputError(
            "from_pymare needs a pymare.Dataset with one outcome (y of shape (k, 1))."
        )
    names = list(getattr(dataset, "X_names", []) or [])
    if X.ndim != 2 or X.shape[0] != y.shape[0] or not np.allclose(X[:, 0], 1.0):
        raise UserInputError(
            "from_pymare needs a Dataset whose X starts with the intercept column."
        )
    mods = None
    if X.shape[1] > 1:
        cols = names[1:] if len(names) == X.shape[1] else [f"mod{j}" for j in range(1, X.shape[1])]
        mods = {name: X[:, j + 1] for j, name in enumerate(cols)}
    return rma(y[:, 0], v[:, 0], mods=mods, **rma_kwargs)
