"""Leave-one-out, cumulative and case-influence analyses, as metafor's functions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from synthesis.errors import UserInputError
from synthesis.stats.control import check_settings
from synthesis.stats.many import refits
from synthesis.stats.results import MetaResult
from synthesis.stats.rma import as_vector, model_data, prepare

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
