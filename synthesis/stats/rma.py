"""``rma``: fit an equal-, random- or mixed-effects model, as metafor's ``rma.uni``.

This module turns user input (vectors, a data frame and column names, moderators,
labels) into a one-analysis :class:`~synthesis.stats.tau2.Block`, calls the one fit
(:func:`synthesis.stats.fit.fit_block`) and wraps its arrays in a
:class:`~synthesis.stats.results.MetaResult`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from synthesis.errors import UserInputError
from synthesis.stats.control import check_control, check_level, check_method, check_test
from synthesis.stats.fit import fit_block
from synthesis.stats.labels import unique_labels
from synthesis.stats.results import Coefficient, MetaResult, readonly
from synthesis.stats.tau2 import Block, q_profile
from synthesis.warnings import ConvergenceWarning, DataQualityWarning

__all__ = ["rma"]

_Array = np.ndarray


def as_vector(x: object, name: str) -> _Array:
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise UserInputError(f"{name} must be a sequence of numbers; got {x!r:.80}.") from exc
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise UserInputError(f"{name} must be one-dimensional; got shape {arr.shape}.")
    return arr


def design(mods: object, k: int) -> tuple[_Array | None, tuple[str, ...]]:
    """Turn ``mods`` into a (k, m) float matrix (no intercept) and column names.

    Accepts a 1-D or 2-D array, a mapping of name → column, a pandas Series or
    DataFrame. Non-numeric columns (strings, categoricals, booleans) become
    treatment dummies with the first level in sorted order as reference, as R's
    ``factor()`` does.
    """
    if mods is None:
        return None, ()
    import pandas as pd

    if isinstance(mods, pd.Series):
        frame = mods.to_frame(name=str(mods.name) if mods.name is not None else "mod1")
    elif isinstance(mods, pd.DataFrame):
        frame = mods
    elif isinstance(mods, Mapping):
        frame = pd.DataFrame({str(key): list(val) for key, val in mods.items()})
    else:
        arr = np.asarray(mods)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise UserInputError(f"mods must be 1- or 2-dimensional; got shape {arr.shape}.")
        frame = pd.DataFrame(arr, columns=[f"mod{j + 1}" for j in range(arr.shape[1])])
    if len(frame) != k:
        raise UserInputError(f"mods has {len(frame)} rows but yi has {k} values; they must match.")
    cols: list[_Array] = []
    names: list[str] = []
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            cols.append(col.to_numpy(dtype=float))
            names.append(str(name))
            continue
        missing = col.isna().to_numpy()
        levels = sorted({str(v) for v, m in zip(col, missing, strict=True) if not m})
        if len(levels) < 2:
            raise UserInputError(
                f"mods column {name!r} has {len(levels)} level(s) {levels}; a factor "
                "moderator needs at least 2."
            )
        labels = np.array([str(v) for v in col], dtype=object)
        for lev in levels[1:]:
            dummy = (labels == lev).astype(float)
            dummy[missing] = np.nan
            cols.append(dummy)
            names.append(f"{name}{lev}")
    return np.column_stack(cols), tuple(names)


@dataclass(frozen=True)
class Prepared:
    """Checked data of one model: the studies used, the design and what was excluded."""

    yi: _Array
    vi: _Array
    X: _Array | None  # None: intercept only
    names: tuple[str, ...]
    slab: tuple[str, ...]
    index: tuple[int, ...]
    excluded: tuple[tuple[int | str, str], ...]


#: Range of estimates and sampling variances a fit accepts: beyond it the weights and
#: sums of squares over- or underflow in double precision.
MAX_ABS_YI = 1e100
MIN_VI, MAX_VI = 1e-100, 1e100


def prepare(yi: object, vi: object, mods: object, slab: object, *, stacklevel: int = 4) -> Prepared:
    y = as_vector(yi, "yi")
    v = as_vector(vi, "vi")
    if y.size != v.size:
        raise UserInputError(
            f"yi has {y.size} values but vi has {v.size}; they must have the same length."
        )
    k_all = y.size
    if slab is None:
        slabs = tuple(f"Study {i + 1}" for i in range(k_all))
        slab_given = False
    else:
        given = [slab] if isinstance(slab, str) else list(slab)  # type: ignore[call-overload]
        slabs = unique_labels([str(s) for s in given])
        if len(slabs) != k_all:
            raise UserInputError(
                f"slab has {len(slabs)} labels but yi has {k_all} values; they must match."
            )
        slab_given = True
    Xm, names = design(mods, k_all)
    reasons: list[tuple[int, str]] = []
    keep = np.ones(k_all, dtype=bool)
    missing = np.isnan(y) | np.isnan(v)
    if Xm is not None:
        missing |= np.isnan(Xm).any(axis=1)
    for i in np.flatnonzero(missing).tolist():  # a Python loop only over the missing rows
        why = []
        if np.isnan(y[i]):
            why.append("yi is missing")
        if np.isnan(v[i]):
            why.append("vi is missing")
        if Xm is not None and np.isnan(Xm[i]).any():
            why.append("a moderator is missing")
        if why:
            keep[i] = False
            reasons.append((i, "; ".join(why)))
    bad_y = np.flatnonzero(keep & ~np.isfinite(y))
    if bad_y.size:
        i = int(bad_y[0])
        raise UserInputError(
            f"yi[{i}] = {float(y[i])!r}; estimates must be finite numbers (or NaN)."
        )
    bad_v = np.flatnonzero(keep & ~(np.isfinite(v) & (v > 0)))
    if bad_v.size:
        i = int(bad_v[0])
        raise UserInputError(
            f"vi[{i}] = {float(v[i])!r}; sampling variances must be finite and > 0 "
            f"({bad_v.size} offending value(s) at positions {bad_v.tolist()[:10]})."
        )
    # Weights 1/vi and terms yi^2/vi must stay finite in double precision.
    with np.errstate(invalid="ignore"):
        huge_y = np.flatnonzero(keep & ~(np.abs(y) <= MAX_ABS_YI))
        odd_v = np.flatnonzero(keep & ~((v >= MIN_VI) & (v <= MAX_VI)))
    if huge_y.size:
        i = int(huge_y[0])
        raise UserInputError(
            f"yi[{i}] = {float(y[i])!r}; estimates must lie within ±{MAX_ABS_YI:g} "
            "(no effect size is that large: check the column)."
        )
    if odd_v.size:
        i = int(odd_v[0])
        raise UserInputError(
            f"vi[{i}] = {float(v[i])!r}; sampling variances must lie in "
            f"[{MIN_VI:g}, {MAX_VI:g}] so that the weights 1/vi can be computed "
            "(check the column)."
        )
    excluded = tuple((slabs[i] if slab_given else i, why) for i, why in reasons)
    if reasons:
        warnings.warn(
            f"{len(reasons)} of {k_all} studies excluded because of missing values: "
            + ", ".join(f"{lab} ({why})" for lab, why in excluded),
            DataQualityWarning,
            stacklevel=stacklevel,
        )
    k = int(keep.sum())
    if k == 0:
        raise UserInputError(
            f"no studies left to analyse: k = 0 after excluding {len(reasons)} of {k_all} "
            "rows with missing yi/vi/moderators."
        )
    X = None
    if Xm is not None:
        X = np.column_stack([np.ones(k), Xm[keep]])
        if np.linalg.matrix_rank(X) < X.shape[1]:
            raise UserInputError(
                f"mods {list(names)} with the intercept give a design matrix of rank "
                f"{np.linalg.matrix_rank(X)} < {X.shape[1]} columns; drop redundant "
                "or constant moderators."
            )
    return Prepared(
        yi=y[keep],
        vi=v[keep],
        X=X,
        names=("intrcpt", *names),
        slab=tuple(s for s, kp in zip(slabs, keep, strict=True) if kp),
        index=tuple(int(i) for i in np.flatnonzero(keep)),
        excluded=excluded,
    )


def _check_size(k: int, p: int, method: str) -> None:
    if method == "EE":
        if k < p:
            raise UserInputError(
                f"mods: {p} coefficients cannot be estimated from k = {k} studies (need k >= p)."
            )
    elif p + 1 > k and not (k == 1 and p == 1):
        raise UserInputError(
            f"mods: {p} coefficients plus τ² cannot be estimated from k = {k} studies "
            f"(need k >= p + 1 for method={method!r}; use method='EE' or fewer moderators)."
        )


def _convergence_notes(res: Mapping[str, Any], method: str, con: Mapping[str, Any]) -> list[str]:
    notes = []
    if not bool(res["converged"][0]):
        rule = "relative to τ² + mean vi" if con["relative"] else "absolute"
        notes.append(
            f"{method}: Fisher scoring did not converge in maxiter={con['maxiter']} iterations "
            f"(last change in τ² = {float(res['change'][0]):.3g}; threshold = "
            f"{con['threshold']:g}, {rule}); τ² = {float(res['tau2'][0])!r} is the last "
            "iterate and everything computed from it is unreliable. Raise control['maxiter'] "
            "or try control['stepadj'] < 1."
        )
    elif bool(res["ll0_reset"][0]):
        notes.append(
            f"{method}: Fisher scoring stopped at a local maximum (the log-likelihood at "
            "τ² = 0 is larger); τ² set to 0 as metafor does."
        )
    return notes


def fit_prepared(
    prep: Prepared,
    method: str,
    test: str,
    level: float,
    con: Mapping[str, Any],
    measure: str | None,
    *,
    with_ci: bool = True,
    stacklevel: int = 3,
) -> MetaResult:
    """Fit a checked, prepared data set (no argument checks; warns on convergence)."""
    yi, vi, X = prep.yi, prep.vi, prep.X
    k = yi.size
    p = 1 if X is None else X.shape[1]
    _check_size(k, p, method)
    notes: list[str] = []
    if k == 1:
        notes.append(
            "k = 1: the result is the single study itself; τ² is fixed at 0 and no "
            "heterogeneity can be estimated (as metafor)."
        )
        if test in ("knha", "adhoc"):
            notes.append(f'k = 1: test="{test}" is not possible; test="z" used (as metafor).')
            test = "z"
    if method == "EE" and test in ("knha", "adhoc"):
        notes.append(
            "The Knapp-Hartung method is not meant to be used with the equal-effects model "
            "(metafor warns likewise); results computed as requested."
        )
    d = Block.from_rows(yi[None, :], vi[None, :], None if X is None else X[None, :, :])
    res = fit_block(d, method, test, level, con, False)
    for note in _convergence_notes(res, method, con):
        warnings.warn(note, ConvergenceWarning, stacklevel=stacklevel)
        notes.append(note)
    coefs = tuple(
        Coefficient(
            prep.names[j],
            float(res["b"][0, j]),
            float(res["se_b"][0, j]),
            float(res["zval_b"][0, j]),
            float(res["pval_b"][0, j]),
            float(res["ci_lb_b"][0, j]),
            float(res["ci_ub_b"][0, j]),
        )
        for j in range(p)
    )
    df = int(res["df"][0]) if test in ("knha", "adhoc") else None
    w = res["weights"][:, 0]
    return MetaResult(
        k=k,
        k_excluded=len(prep.excluded),
        excluded=prep.excluded,
        method=method,
        test=test,
        level=level,
        estimate=coefs[0].estimate,
        se=coefs[0].se,
        zval=coefs[0].zval,
        pval=coefs[0].pval,
        ci_lb=coefs[0].ci_lb,
        ci_ub=coefs[0].ci_ub,
        pi_lb=float(res["pi_lb"][0]),
        pi_ub=float(res["pi_ub"][0]),
        tau2=float(res["tau2"][0]),
        se_tau2=float(res["se_tau2"][0]),
        I2=float(res["I2"][0]),
        H2=float(res["H2"][0]),
        QE=float(res["QE"][0]),
        QEp=float(res["QEp"][0]),
        df=df,
        converged=bool(res["converged"][0]),
        iterations=int(res["iterations"][0]),
        weights=readonly(100.0 * w / np.sum(w)),
        yi=readonly(yi),
        vi=readonly(vi),
        slab=prep.slab,
        measure=measure,
        coefficients=coefs,
        QM=float(res["QM"][0]),
        QMdf=(int(res["QMdf"]), df),
        QMp=float(res["QMp"][0]),
        p=p,
        index=prep.index,
        control=MappingProxyType(dict(con)),
        vb=readonly(res["vb"][0]),
        X=None if X is None else readonly(X),
        fit_notes=tuple(notes),
        tau2_profile=tau2_profile if with_ci and p < k and method != "EE" else None,
    )


def tau2_profile(fit: MetaResult) -> tuple[float, float, bool, tuple[str, ...]]:
    """Q-profile CI of τ² of ``fit`` :cite:`viechtbauer2007confidence`, with its notes.

    Computed by :class:`~synthesis.stats.results.MetaResult` on first access (as
    metafor's ``confint``; its ``rma`` does not compute it), from the fit's data,
    τ², level and control.

    Returns
    -------
    (tau2_ci_lb, tau2_ci_ub, tau2_ci_truncated, notes)
    """
    X = fit.X
    d = Block.from_rows(fit.yi[None, :], fit.vi[None, :], None if X is None else X[None, :, :])
    with np.errstate(divide="ignore", invalid="ignore"):
        lb_a, ub_a, trunc_a, tmax_a = q_profile(d, np.array([fit.tau2]), fit.level, fit.control)
    lb, ub, truncated, tmax = float(lb_a[0]), float(ub_a[0]), bool(trunc_a[0]), float(tmax_a[0])
    notes: tuple[str, ...] = ()
    if truncated:
        if lb == tmax:
            notes = (
                f"Q-profile CI for τ² lies entirely beyond tau2_max = {tmax:g}; both bounds "
                "reported as that limit (truncated). Raise control['tau2_max'] to find them.",
            )
        else:
            notes = (
                f"Q-profile upper bound for τ² lies beyond the search limit tau2_max = "
                f"{tmax:g}; reported as that limit (truncated, as metafor). Raise "
                "control['tau2_max'] to find it.",
            )
    elif ub == 0.0:
        notes = ("Q-profile CI for τ² is the null set {0}: Q(0) is below both critical values.",)
    return lb, ub, truncated, notes


def _column(data: Any, value: object, name: str) -> object:
    """``value`` itself, or the column of ``data`` it names."""
    if isinstance(value, str):
        if data is None:
            raise UserInputError(f"{name}={value!r} names a column, but no data= was given.")
        if value not in data:
            cols = list(data.columns) if hasattr(data, "columns") else list(data)
            raise UserInputError(f"{name}={value!r}: no such column in data; columns: {cols}.")
        return data[value]
    return value


def _mods_from(data: Any, mods: object) -> object:
    if data is None or mods is None:
        return mods
    if isinstance(mods, str):
        return data[[mods]] if hasattr(data, "columns") else {mods: _column(data, mods, "mods")}
    if isinstance(mods, list | tuple) and mods and all(isinstance(m, str) for m in mods):
        for m in mods:
            _column(data, m, "mods")
        return data[list(mods)] if hasattr(data, "columns") else {m: data[m] for m in mods}
    return mods


def rma(
    yi: Sequence[float] | _Array | str | None = None,
    vi: Sequence[float] | _Array | str | None = None,
    *,
    data: Any = None,
    method: str = "REML",
    test: str = "z",
    level: float = 95,
    mods: object = None,
    slab: Sequence[object] | str | None = None,
    measure: str | None = None,
    control: Mapping[str, Any] | None = None,
) -> MetaResult:
    r"""Fit an equal-, random- or mixed-effects model, as metafor's ``rma.uni``.

    Parameters
    ----------
    yi, vi : array-like of shape (k,) or str
        Observed effect sizes and their sampling variances, or the names of columns
        of ``data`` (default ``"yi"`` and ``"vi"`` when ``data`` is given, as
        returned by :func:`synthesis.stats.escalc`). Rows with NaN are excluded
        (with a :class:`~synthesis.warnings.DataQualityWarning`).
    data : pandas.DataFrame or mapping, optional
        Where column names in ``yi``, ``vi``, ``mods`` and ``slab`` are looked up.
        Without ``slab``, a non-default index of ``data`` labels the studies.
    method : str, default "REML"
        τ² estimator: ``"EE"`` (alias ``"FE"``), ``"DL"``, ``"HE"``, ``"SJ"``,
        ``"PM"``, ``"ML"``, ``"REML"``, ``"EB"``; see :mod:`synthesis.stats.tau2`.
    test : {"z", "knha", "adhoc"}, default "z"
        Wald-type z tests, or the Knapp-Hartung method :cite:`knapp2003improved`:
        ``Var(b) = s² (X'WX)⁻¹`` with ``s² = y'Py/(k−p)`` (not truncated at 1), t
        and F tests with ``k − p`` degrees of freedom. When all residuals are zero
        (identical ``yi``) ``s² = 0``: se = 0, p = 0 and a zero-width CI, as metafor.
        ``"adhoc"`` is Knapp and Hartung's ad hoc variant (metafor ``test="adhoc"``):
        ``s²`` truncated below at 1, so the interval is never narrower than under z.
    level : float, default 95
        Confidence level in percent, strictly between 1 and 100. Values <= 1 are
        refused because metafor would read them as proportions.
    mods : array-like, mapping, DataFrame, str or list of str, optional
        Moderators (without intercept column; the intercept is always included), or
        column name(s) of ``data``. Non-numeric columns become treatment dummies
        (first sorted level as reference), as ``factor()`` in R.
    slab : sequence or str, optional
        Study labels (default ``"Study 1"``, …), or a column of ``data``. Repeated
        labels are made unique as metafor does (``Smith.1``, ``Smith.2``).
    measure : str, optional
        Effect-size measure code (e.g. ``"RR"``), carried into the result (a frame
        from :func:`synthesis.stats.escalc` carries its own).
    control : mapping, optional
        Algorithm settings, see :data:`synthesis.stats.control.DEFAULT_CONTROL`.
        ``{"threshold": 1e-5, "relative": False, "maxiter": 100}`` is metafor's default.

    Returns
    -------
    MetaResult

    Raises
    ------
    UserInputError
        Unknown ``method``/``test``/control key; ``level`` outside (1, 100);
        mismatched lengths; non-finite ``yi``; non-positive or infinite ``vi``;
        k = 0 after exclusions; more coefficients than studies allow; a
        rank-deficient moderator matrix (metafor drops redundant columns with a
        warning; we refuse rather than change the model silently).

    Warns
    -----
    DataQualityWarning
        When rows with missing values are excluded.
    ConvergenceWarning
        When Fisher scoring (ML/REML/EB) does not converge within ``maxiter``
        (metafor stops with an error instead). The result then has
        ``converged=False`` and τ² is the last iterate, recorded in ``notes``.

    Notes
    -----
    With k = 1 the result is the study itself: τ² = 0, QE = 0, QEp = 1, I² = 0,
    H² = 1, no standard error or CI for τ², and ``test="z"``, all as metafor.
    The prediction interval is :cite:`riley2011interpretation`'s
    ``b ± crit √(SE² + τ²)`` with metafor's choice of ``crit`` (normal under z,
    t(k − p) under knha).

    Examples
    --------
    >>> from synthesis.stats import rma
    >>> fit = rma([0.10, 0.30, 0.35, 0.65], [0.010, 0.020, 0.015, 0.030], method="DL")
    >>> round(fit.estimate, 4), round(fit.tau2, 4), fit.k
    (0.3226, 0.029, 4)
    """
    method = check_method(method)
    test = check_test(test)
    level = check_level(level)
    con = check_control(control)
    if data is not None:
        yi = "yi" if yi is None else yi
        vi = "vi" if vi is None else vi
        if measure is None and hasattr(data, "attrs"):
            measure = data.attrs.get("measure")
        if slab is None and hasattr(data, "index") and not _is_default_index(data.index):
            slab = [str(s) for s in data.index]
    if yi is None or vi is None:
        raise UserInputError("rma needs yi and vi (values, or column names with data=).")
    prep = prepare(
        _column(data, yi, "yi"),
        _column(data, vi, "vi"),
        _mods_from(data, mods),
        _column(data, slab, "slab"),
    )
    return fit_prepared(prep, method, test, level, con, measure)


def _is_default_index(index: Any) -> bool:
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency
        return True
    return isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1


def plain(
    yi: _Array,
    vi: _Array,
    slab: Sequence[str],
    X: _Array | None = None,
    names: tuple[str, ...] = ("intrcpt",),
) -> Prepared:
    """Already-clean arrays as a :class:`Prepared` (no exclusions)."""
    k = yi.size
    return Prepared(
        yi=np.asarray(yi, dtype=float),
        vi=np.asarray(vi, dtype=float),
        X=X,
        names=names,
        slab=tuple(slab),
        index=tuple(range(k)),
        excluded=(),
    )


def model_data(
    data: MetaResult | Sequence[float] | _Array, vi: object, rma_kwargs: dict[str, Any]
) -> tuple[_Array, _Array, tuple[str, ...], dict[str, Any]]:
    """Data and fit settings from a :class:`MetaResult` or from ``yi, vi, **kwargs``."""
    if isinstance(data, MetaResult):
        if vi is not None:
            raise UserInputError("vi must not be given together with a fitted MetaResult.")
        if data.p > 1:
            raise UserInputError("this analysis needs a model without moderators (mods=None).")
        kw = {
            "method": data.method,
            "test": data.test,
            "level": data.level,
            "control": dict(data.control),
            "measure": data.measure,
        }
        kw.update(rma_kwargs)
        return np.asarray(data.yi), np.asarray(data.vi), data.slab, kw
    if vi is None:
        raise UserInputError("vi is required when the first argument is not a MetaResult.")
    if rma_kwargs.get("mods") is not None:
        raise UserInputError("this analysis needs a model without moderators (mods=None).")
    kw = dict(rma_kwargs)
    slab = kw.pop("slab", None)
    prep = prepare(data, vi, None, slab, stacklevel=5)
    return prep.yi, prep.vi, prep.slab, kw
