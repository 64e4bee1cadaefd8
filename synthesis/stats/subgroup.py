"""Subgroup analysis with the test for subgroup differences, both ways."""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from synthesis.errors import UserInputError
from synthesis.stats.control import check_settings
from synthesis.stats.results import MetaResult, SubgroupResult
from synthesis.stats.rma import as_vector, fit_prepared, plain, prepare

if TYPE_CHECKING:
    pass

_Array = np.ndarray


def subgroup(
    yi: Sequence[float] | _Array,
    vi: Sequence[float] | _Array,
    groups: Sequence[object],
    **rma_kwargs: Any,
) -> SubgroupResult:
    r"""Per-subgroup fits and the test for subgroup differences, both ways.

    (a) Separate τ² per subgroup: each subgroup is fitted with ``rma_kwargs``; the
    subgroup estimates ``θ̂_g`` with standard errors ``SE_g`` are then combined in an
    equal-effects model, whose
    :math:`Q_b = \sum_g (\hat\theta_g - \bar\theta)^2 / SE_g^2 \sim \chi^2_{G-1}`
    is RevMan's "test for subgroup differences" (metafor:
    ``rma(est, sei=se, method="FE")``).

    (b) Common τ²: the mixed-effects meta-regression ``rma(yi, vi, mods=~factor(group))``
    and its omnibus test ``QM`` of the group dummies (χ²(G − 1) under z, F under knha).

    Parameters
    ----------
    yi, vi : array-like of shape (k,)
    groups : sequence of shape (k,)
        Group label per study (converted to ``str``; None/NaN labels are excluded
        with a :class:`~synthesis.warnings.DataQualityWarning`).
    **rma_kwargs
        ``method``, ``test``, ``level``, ``control``, ``slab``, ``measure`` for the
        per-group fits and the meta-regression.

    Returns
    -------
    SubgroupResult

    Examples
    --------
    >>> from synthesis.stats import subgroup
    >>> sg = subgroup([0.10, 0.30, 0.35, 0.65, 0.45, 0.15],
    ...               [0.010, 0.020, 0.015, 0.030, 0.025, 0.012], ["a", "a", "a", "b", "b", "b"])
    >>> print(sg)  # doctest: +ELLIPSIS
    Subgroup analyses (separate tau^2 per subgroup)
    ...
    Test for Subgroup Differences (separate tau^2): Q(df = 1) = 0.8532, p-val = 0.3556
    Test of Moderators (common tau^2): QM(df = 1) = 0.7040, p-val = 0.4015
    >>> round(sg.fits["b"].estimate, 4), round(sg.Qb_p, 4)
    (0.393, 0.3556)
    """
    import pandas as pd

    kw = dict(rma_kwargs)
    if kw.get("mods") is not None:
        raise UserInputError("subgroup builds its own moderator from groups; do not pass mods.")
    kw.pop("mods", None)
    slab = kw.pop("slab", None)
    method, test, level, con, measure = check_settings(kw)
    g = pd.Series(list(groups), dtype=object)
    y_arr = as_vector(yi, "yi")
    if len(g) != y_arr.size:
        raise UserInputError(f"groups has {len(g)} labels but yi has {y_arr.size} values.")
    labels = g.where(~g.isna(), other=None)
    distinct = sorted({str(v) for v in labels if v is not None})
    if len(distinct) < 2:
        raise UserInputError(f"groups has {len(distinct)} distinct label(s) {distinct}; need >= 2.")
    frame = pd.DataFrame({"group": [None if v is None else str(v) for v in labels]})
    prep = prepare(yi, vi, frame.astype({"group": object}), slab, stacklevel=3)
    lab_kept = [str(labels[i]) for i in prep.index]
    levels = tuple(sorted(set(lab_kept)))
    if len(levels) < 2:
        raise UserInputError(
            f"groups has {len(levels)} distinct label(s) {list(levels)}; need >= 2."
        )
    fits: dict[str, MetaResult] = {}
    lab_arr = np.array(lab_kept, dtype=object)
    for lev in levels:
        sel = lab_arr == lev
        sub = plain(
            prep.yi[sel], prep.vi[sel], [s for s, m in zip(prep.slab, sel, strict=True) if m]
        )
        fits[lev] = fit_prepared(sub, method, test, level, con, measure)
    est = np.array([fits[lev].estimate for lev in levels])
    se = np.array([fits[lev].se for lev in levels])
    if not np.all(np.isfinite(se) & (se > 0)):
        raise UserInputError(
            "subgroup: a subgroup estimate has a zero or undefined standard error "
            f"({dict(zip(levels, se.tolist(), strict=True))}); the test for subgroup "
            "differences cannot be computed."
        )
    between = fit_prepared(plain(est, se**2, levels), "EE", "z", level, con, measure)
    mixed = fit_prepared(prep, method, test, level, con, measure)
    return SubgroupResult(
        groups=levels,
        fits=MappingProxyType(fits),
        between=between,
        Qb=between.QE,
        Qb_df=len(levels) - 1,
        Qb_p=between.QEp,
        mixed=mixed,
        QM=mixed.QM,
        QMdf=mixed.QMdf,
        QMp=mixed.QMp,
    )
