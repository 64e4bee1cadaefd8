"""Many meta-analyses at once: arrays, long tables (pandas or Dask) and refits of one model.

:func:`fit_arrays` fits one intercept-only model per row of 2-D arrays,
:func:`fit_many` one per group of a long table (a Dask frame partition by partition,
locally or on a cluster), :func:`fit_models` a list of models each with its own data,
τ² estimator and test (one block per estimator and test, locally or one task each on
a cluster), and :func:`refits` the re-analyses of one data set that
leave-one-out and cumulative meta-analysis need. All of them call the one fit,
:func:`synthesis.stats.fit.fit_block`, on blocks of analyses, so each gives exactly
the numbers :func:`synthesis.stats.rma` gives for that analysis.

* ``level`` is a percentage; ``test`` is ``"z"`` or ``"knha"`` :cite:`knapp2003improved`.
* An analysis with k = 1 gets τ² = 0, I² = 0, H² = 1, NaN ``se_tau2`` and τ² CI, and
  the z test even under ``"knha"`` (as ``rma``).
* Not converging is not an error: the analysis gets ``converged = False`` and one
  :class:`~synthesis.warnings.ConvergenceWarning` says how many did not converge;
  likewise ``ll0_reset`` and a truncated Q-profile upper bound of τ².
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from synthesis import vocabulary
from synthesis.errors import UserInputError
from synthesis.stats.control import check_control, check_level, check_method, check_test
from synthesis.stats.fit import fit_block
from synthesis.stats.tau2 import Block
from synthesis.warnings import ConvergenceWarning, DataQualityWarning

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["COLUMNS", "fit_arrays", "fit_many", "fit_models", "refits"]

_Array = np.ndarray

#: Columns of the result of :func:`fit_arrays` (``fit_many`` adds ``k_excluded``).
COLUMNS = vocabulary.RESULT_FIELDS

#: Cells (analyses × k_max) fitted per block: bounds the memory of temporaries.
_BLOCK_CELLS = 1 << 18


def _check_values(Y: _Array, V: _Array, where: Any) -> None:
    """Refuse what ``rma`` refuses: infinite ``yi``, non-positive or infinite ``vi``."""
    bad_y = np.isinf(Y)
    bad_v = ~np.isnan(V) & ~(np.isfinite(V) & (V > 0))
    for bad, name, rule in (
        (bad_y, "yi", "estimates must be finite numbers (or NaN)"),
        (bad_v, "vi", "sampling variances must be finite and > 0 (or NaN)"),
    ):
        if bad.any():
            pos = np.argwhere(bad)
            i, j = (int(x) for x in pos[0])
            val = float((Y if name == "yi" else V)[i, j])
            raise UserInputError(
                f"{name} = {val!r} in {where(i, j)}; {rule} ({len(pos)} offending value(s))."
            )


def _fit_arrays_raw(
    Y: _Array,
    V: _Array,
    method: str,
    test: str,
    level: float,
    con: Mapping[str, Any],
    tau2_ci: bool,
) -> dict[str, _Array]:
    n, kmax = Y.shape
    rows = max(1, _BLOCK_CELLS // max(kmax, 1))
    parts = [
        fit_block(
            Block.from_rows(Y[i : i + rows], V[i : i + rows]), method, test, level, con, tau2_ci
        )
        for i in range(0, n, rows)
    ]
    return {c: np.concatenate([p[c] for p in parts]) for c in COLUMNS}


def _warn(res: Mapping[str, _Array], labels: Sequence[Any] | None, method: str) -> None:
    """One warning per kind of problem, naming the first few analyses."""

    def names(mask: _Array) -> str:
        idx = np.flatnonzero(mask)[:5]
        shown = [repr(labels[i]) if labels is not None else str(int(i)) for i in idx]
        more = ", …" if mask.sum() > idx.size else ""
        return ", ".join(shown) + more

    k = np.asarray(res["k"])
    conv = np.asarray(res["converged"], dtype=bool)
    reset = np.asarray(res["ll0_reset"], dtype=bool)
    if (k == 0).any():
        warnings.warn(
            f"{int((k == 0).sum())} analysis/analyses have no usable study (k = 0); their "
            f"results are NaN: {names(k == 0)}.",
            DataQualityWarning,
            stacklevel=3,
        )
    if (~conv).any():
        warnings.warn(
            f"{method}: Fisher scoring did not converge within maxiter in {int((~conv).sum())} "
            f"of {conv.size} analyses ({names(~conv)}); their τ² is the last iterate and "
            "everything computed from it is unreliable (see the 'converged' column).",
            ConvergenceWarning,
            stacklevel=3,
        )
    if reset.any():
        warnings.warn(
            f"{method}: in {int(reset.sum())} analyses ({names(reset)}) Fisher scoring stopped "
            "at a local maximum (the log-likelihood at τ² = 0 is larger); τ² set to 0 as "
            "metafor does (see the 'll0_reset' column).",
            ConvergenceWarning,
            stacklevel=3,
        )


def _settings(
    method: str, test: str, level: float, control: Mapping[str, Any] | None
) -> tuple[str, str, float, dict[str, Any]]:
    return check_method(method), check_test(test), check_level(level), check_control(control)


# =================================================================== public ====


def fit_arrays(
    yi: Any,
    vi: Any,
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 95,
    control: Mapping[str, Any] | None = None,
    tau2_ci: bool = False,
    index: Sequence[Any] | None = None,
) -> pd.DataFrame:
    r"""Fit one intercept-only model per row of 2-D ``yi``/``vi``, as ``rma`` would.

    Parameters
    ----------
    yi, vi : array-like of shape (n, k_max)
        Effect sizes and sampling variances, one analysis per row. A cell where
        ``yi`` or ``vi`` is NaN is absent (padding for unequal ``k``, or a missing
        value); it is left out silently and ``k`` says how many studies each
        analysis used. A 1-D input is one analysis.
    method : str, default "REML"
        τ² estimator, one of :data:`synthesis.vocabulary.METHODS` (``"FE"`` = ``"EE"``).
    test : {"z", "knha"}, default "z"
        Wald-type z tests or Knapp-Hartung :cite:`knapp2003improved` t tests.
    level : float, default 95
        Confidence level in percent.
    control : mapping, optional
        As :data:`synthesis.stats.control.DEFAULT_CONTROL` (``threshold``, ``maxiter``,
        ``tol``, ``tau2_init``, ``tau2_max``, ``stepadj``, ``ll0check``).
    tau2_ci : bool, default False
        Also compute the Q-profile CI of τ² :cite:`viechtbauer2007confidence`
        (two more vectorised root searches); NaN columns otherwise.
    index : sequence, optional
        Labels of the analyses (the result's index); default ``0 … n−1``.

    Returns
    -------
    pandas.DataFrame
        One row per analysis with the columns :data:`COLUMNS`: ``k``, the pooled
        ``estimate``, ``se``, ``zval`` (t under knha), ``pval``, ``ci_lb``,
        ``ci_ub``, prediction interval ``pi_lb``/``pi_ub`` (NaN for EE), ``tau2``,
        ``se_tau2``, ``tau2_ci_lb``/``tau2_ci_ub``, ``I2``, ``H2``, ``QE``,
        ``QEp``, ``df`` (``k − 1`` under knha, else NaN), ``converged``,
        ``iterations`` (Fisher scoring; 0 for closed forms) and ``ll0_reset``.

    Raises
    ------
    UserInputError
        Unknown method/test/control, bad level, shapes that differ, an infinite
        ``yi`` or a non-positive/infinite ``vi``.

    Warns
    -----
    ConvergenceWarning
        When some analyses did not converge (``converged`` False) or had τ² reset
        to 0 by the log-likelihood check (``ll0_reset`` True).
    DataQualityWarning
        When an analysis has no usable study (k = 0).

    Notes
    -----
    The formulas are those of :mod:`synthesis.stats.tau2` and
    :func:`synthesis.stats.rma` for ``X = 1``, written with row sums: with
    ``wᵢ = 1/(vᵢ + τ²)`` and ``S_j = Σ wᵢʲ``, ``tr P = S₁ − S₂/S₁`` and
    ``tr PP = S₂ − 2S₃/S₁ + S₂²/S₁²``. Rows are processed in blocks of about
    2¹⁸ cells to bound memory.

    Examples
    --------
    >>> import numpy as np
    >>> from synthesis.stats import fit_arrays
    >>> nan = np.nan  # padding: the second analysis has two studies
    >>> yi = np.array([[0.10, 0.30, 0.35, 0.65, 0.45, 0.15],
    ...                [0.20, 0.10, nan, nan, nan, nan]])
    >>> vi = np.array([[0.010, 0.020, 0.015, 0.030, 0.025, 0.012],
    ...                [0.010, 0.020, nan, nan, nan, nan]])
    >>> fit_arrays(yi, vi, index=["six", "two"]).round(4)[["k", "estimate", "tau2"]]
         k  estimate    tau2
    six  6    0.3017  0.0189
    two  2    0.1667  0.0000
    """
    method, test, level, con = _settings(method, test, level, control)
    if not isinstance(tau2_ci, bool):
        raise UserInputError(f"tau2_ci={tau2_ci!r} must be True or False.")
    try:
        Y = np.asarray(yi, dtype=float)
        V = np.asarray(vi, dtype=float)
    except (TypeError, ValueError) as exc:
        raise UserInputError("yi and vi must be numeric arrays.") from exc
    if Y.ndim == 1:
        Y, V = Y[None, :], V.reshape(1, -1) if V.ndim == 1 else V
    if Y.ndim != 2 or Y.shape != V.shape:
        raise UserInputError(
            f"yi and vi must be 2-D arrays of the same shape (analyses × studies); got "
            f"{np.shape(yi)} and {np.shape(vi)}."
        )
    _check_values(Y, V, lambda i, j: f"row {i}, column {j}")
    if index is not None and len(index) != Y.shape[0]:
        raise UserInputError(f"index has {len(index)} labels but there are {Y.shape[0]} rows.")
    res = _fit_arrays_raw(Y, V, method, test, level, con, tau2_ci)
    _warn(res, list(index) if index is not None else None, method)
    return _frame(res, index)


def _frame(res: Mapping[str, _Array], index: Any) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({c: res[c] for c in COLUMNS}, index=index)


def _pack(
    frame: pd.DataFrame, yi: str, vi: str, by: str | list[str]
) -> tuple[Any, _Array, _Array, _Array]:
    """Long format → group labels, rows per group and NaN-padded ``(groups, k_max)`` arrays."""
    grouped = frame.groupby(by, sort=True, dropna=True)
    codes = grouped.ngroup().to_numpy(dtype=float, na_value=np.nan)
    size = grouped.size()
    labels = size.index
    keep = ~np.isnan(codes)
    if not keep.all():
        warnings.warn(
            f"{int((~keep).sum())} row(s) without a group label ({by!r} missing) were left out.",
            DataQualityWarning,
            stacklevel=4,
        )
    c = codes[keep].astype(np.int64)
    y = frame[yi].to_numpy(dtype=float, na_value=np.nan)[keep]
    v = frame[vi].to_numpy(dtype=float, na_value=np.nan)[keep]
    order = np.argsort(c, kind="stable")
    c, y, v = c[order], y[order], v[order]
    g = len(labels)
    counts = np.bincount(c, minlength=g)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.arange(c.size) - start[c]
    kmax = int(counts.max()) if g else 0
    Y = np.full((g, kmax), np.nan)
    V = np.full((g, kmax), np.nan)
    Y[c, pos] = y
    V[c, pos] = v
    return labels, size.to_numpy(), Y, V


def _fit_pandas(
    frame: pd.DataFrame,
    yi: str,
    vi: str,
    by: str | list[str],
    method: str,
    test: str,
    level: float,
    con: Mapping[str, Any],
    tau2_ci: bool,
) -> tuple[pd.DataFrame, dict[str, _Array], Any]:
    labels, sizes, Y, V = _pack(frame, yi, vi, by)
    lab = list(labels)
    _check_values(Y, V, lambda i, j: f"group {lab[i]!r}")
    res = _fit_arrays_raw(Y, V, method, test, level, con, tau2_ci)
    out = _frame(res, labels)
    out["k_excluded"] = sizes - res["k"]
    return out, res, lab


def _empty_result(by: str, index_dtype: Any) -> pd.DataFrame:
    import pandas as pd

    cols: dict[str, Any] = {c: pd.Series(dtype=float) for c in COLUMNS}
    cols["k"] = pd.Series(dtype=np.int64)
    cols["iterations"] = pd.Series(dtype=np.int64)
    cols["converged"] = pd.Series(dtype=bool)
    cols["ll0_reset"] = pd.Series(dtype=bool)
    cols["tau2_ci_truncated"] = pd.Series(dtype=bool)
    cols["k_excluded"] = pd.Series(dtype=np.int64)
    return pd.DataFrame(cols, index=pd.Index([], dtype=index_dtype, name=by))


def _partition_fit(
    part: pd.DataFrame,
    yi: str,
    vi: str,
    by: str,
    method: str,
    test: str,
    level: float,
    con: Mapping[str, Any],
    tau2_ci: bool,
) -> pd.DataFrame:
    """Fit the groups of one Dask partition (runs on a worker; warnings are
    re-raised on the client from the result columns)."""
    if len(part) == 0:
        return _empty_result(by, part[by].dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        out, _res, _lab = _fit_pandas(part, yi, vi, by, method, test, level, con, tau2_ci)
    return out


def _is_dask(frame: Any) -> bool:
    return type(frame).__module__.split(".")[0] in ("dask", "dask_expr")


def fit_many(
    frame: Any,
    yi: str = "yi",
    vi: str = "vi",
    by: str | list[str] = "group",
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 95,
    control: Mapping[str, Any] | None = None,
    tau2_ci: bool = False,
    client: Any = None,
    npartitions: int | None = None,
    shuffle: bool = True,
    compute: bool = True,
) -> pd.DataFrame:
    r"""Fit one intercept-only model per group of a long-format table.

    Parameters
    ----------
    frame : pandas.DataFrame or dask.dataframe.DataFrame
        One row per study with the effect size, its sampling variance and the
        analysis it belongs to. A Dask DataFrame is fitted partition by partition
        on the Dask scheduler in use (or on ``client``); it is first shuffled on
        ``by`` so that no group is split across partitions.
    yi, vi : str
        Column names of the effect sizes and sampling variances.
    by : str or list of str
        Group column(s): one meta-analysis per distinct value (a single column for
        Dask input). Rows with a missing label are left out with a warning.
    method, test, level, control, tau2_ci
        As for :func:`fit_arrays`.
    client : dask.distributed.Client, optional
        Run on this cluster. A pandas ``frame`` is then split into ``npartitions``
        (default: two per worker) before shuffling.
    npartitions : int, optional
        Partitions of a pandas ``frame`` sent to ``client``.
    shuffle : bool, default True
        Shuffle a Dask frame on ``by``. With ``shuffle=False`` the frame must
        already be partitioned by group (e.g. ``set_index(by)``); a group found
        in two partitions raises :class:`~synthesis.errors.UserInputError`.
    compute : bool, default True
        Return a pandas DataFrame; ``False`` returns the lazy Dask DataFrame
        (group order not sorted, no warnings raised, no split check).

    Returns
    -------
    pandas.DataFrame
        Indexed by group (sorted), the columns of :func:`fit_arrays` plus
        ``k_excluded``: rows of the group left out because ``yi`` or ``vi`` is NaN.

    Warns
    -----
    DataQualityWarning
        When rows were left out (``k_excluded > 0``, as ``rma`` warns) or a group
        has k = 0.
    ConvergenceWarning
        As :func:`fit_arrays`.

    Examples
    --------
    >>> import pandas as pd
    >>> from synthesis.stats import fit_many
    >>> df = pd.DataFrame({"group": [1, 1, 1, 2, 2],
    ...                    "yi": [0.1, 0.3, 0.2, 0.5, 0.4],
    ...                    "vi": [0.01, 0.02, 0.015, 0.03, 0.02]})
    >>> fit_many(df, method="DL")[["k", "estimate", "tau2"]].round(4)  # doctest: +SKIP
    """
    method, test, level, con = _settings(method, test, level, control)
    if not isinstance(tau2_ci, bool):
        raise UserInputError(f"tau2_ci={tau2_ci!r} must be True or False.")
    dask_input = _is_dask(frame)
    if client is not None and not dask_input:
        import dask.dataframe as dd  # optional (the dask extra): only with a client

        parts = npartitions or 2 * max(1, len(client.scheduler_info().get("workers", {})))
        frame = dd.from_pandas(frame, npartitions=parts)
        dask_input = True
    if not dask_input:
        import pandas as pd

        if not isinstance(frame, pd.DataFrame):
            raise UserInputError(
                f"frame must be a pandas or Dask DataFrame; got {type(frame).__name__}."
            )
        _check_columns(frame.columns, yi, vi, by)
        out, res, lab = _fit_pandas(frame, yi, vi, by, method, test, level, con, tau2_ci)
        _warn_excluded(out)
        _warn(res, lab, method)
        return out

    if not isinstance(by, str):
        raise UserInputError("fit_many on a Dask DataFrame needs a single group column (by=str).")
    _check_columns(frame.columns, yi, vi, by)
    ddf = frame[[by, yi, vi]]
    if shuffle:
        ddf = ddf.shuffle(on=by)
    meta = _empty_result(by, frame[by].dtype)
    lazy = ddf.map_partitions(
        _partition_fit, yi, vi, by, method, test, level, con, tau2_ci, meta=meta
    )
    if not compute:
        return lazy
    out = client.compute(lazy).result() if client is not None else lazy.compute()
    if out.index.has_duplicates:
        dup = out.index[out.index.duplicated()].unique()[:5].tolist()
        raise UserInputError(
            f"groups {dup} were found in more than one partition: with shuffle=False the "
            f"Dask frame must be partitioned by {by!r} (e.g. set_index({by!r}))."
        )
    out = out.sort_index()
    out.index.name = by
    _warn_excluded(out)
    _warn({c: out[c].to_numpy() for c in ("k", "converged", "ll0_reset")}, list(out.index), method)
    return out


def _check_columns(columns: Any, yi: str, vi: str, by: str | list[str]) -> None:
    need = [yi, vi, *([by] if isinstance(by, str) else list(by))]
    missing = [c for c in need if c not in columns]
    if missing:
        raise UserInputError(f"frame has no column(s) {missing}; its columns: {list(columns)}.")


def _warn_excluded(out: pd.DataFrame) -> None:
    exc = out["k_excluded"].to_numpy()
    if (exc > 0).any():
        groups = out.index[exc > 0][:5].tolist()
        warnings.warn(
            f"{int(exc.sum())} row(s) in {int((exc > 0).sum())} group(s) excluded because yi "
            f"or vi is missing (first groups: {groups}); see the 'k_excluded' column.",
            DataQualityWarning,
            stacklevel=3,
        )


def refits(
    yi: _Array,
    vi: _Array,
    columns: Callable[[_Array], _Array],
    n: int,
    method: str,
    test: str,
    level: float,
    con: dict[str, Any],
    index: pd.Index,
) -> pd.DataFrame:
    """Fit ``n`` intercept-only re-analyses of one data set at once.

    ``columns(rows)`` gives, for analysis numbers ``rows``, the study positions of
    each analysis as a ``(len(rows), m)`` integer array (−1 = absent). Blocks of
    analyses bound the memory to about 2¹⁸ cells. Returns the columns of
    :data:`synthesis.vocabulary.MANY_FIELDS`.
    """
    import pandas as pd

    step = max(1, _BLOCK_CELLS // max(yi.size, 1))
    parts = []
    for start in range(0, n, step):
        pos = columns(np.arange(start, min(n, start + step)))
        absent = pos < 0
        Y = np.where(absent, np.nan, yi[pos])
        V = np.where(absent, np.nan, vi[pos])
        parts.append(fit_block(Block.from_rows(Y, V), method, test, level, con, False))
    res = {c: np.concatenate([part[c] for part in parts]) for c in COLUMNS}
    _warn(res, list(index), method)
    renamed = {"Q": "QE", "Qp": "QEp"}
    out = {c: res[renamed.get(c, c)] for c in vocabulary.MANY_FIELDS}
    return pd.DataFrame(out, index=index, columns=list(vocabulary.MANY_FIELDS))


def fit_models(
    models: Sequence[tuple[Any, Any, str, str]],
    *,
    level: float = 95,
    control: Mapping[str, Any] | None = None,
    client: Any = None,
) -> pd.DataFrame:
    r"""Fit intercept-only models that differ in data, τ² estimator and test, in batches.

    The models sharing an estimator and a test are fitted as one block of the batch
    engine (:func:`synthesis.stats.fit.fit_block`), in the order given; with
    ``client`` each block is one task on that Dask cluster. The blocks, and so the
    numbers, are the same either way.

    Parameters
    ----------
    models : sequence of (yi, vi, method, test)
        Each model's effect sizes and sampling variances (1-D, NaN = left out), its
        τ² estimator (:data:`synthesis.vocabulary.METHODS`) and its test
        (:data:`synthesis.vocabulary.TESTS`; a model with k = 1 gets the z test, as
        :func:`synthesis.stats.rma`).
    level : float, default 95
        Confidence level in percent.
    control : mapping, optional
        As :data:`synthesis.stats.control.DEFAULT_CONTROL`.
    client : distributed.Client, optional
        Fit the blocks on this cluster.

    Returns
    -------
    pandas.DataFrame
        One row per model (index ``0 … n−1``) with the columns :data:`COLUMNS`.

    Raises
    ------
    UserInputError
        Unknown method/test/control, bad level, ``yi`` and ``vi`` of different
        lengths, an infinite ``yi`` or a non-positive/infinite ``vi``.

    Warns
    -----
    ConvergenceWarning, DataQualityWarning
        As :func:`fit_arrays`.

    Examples
    --------
    >>> from synthesis.stats import fit_models
    >>> y, v = [0.10, 0.30, 0.35, 0.65], [0.010, 0.020, 0.015, 0.030]
    >>> res = fit_models([(y, v, "REML", "z"), (y, v, "DL", "knha"), (y[1:], v[1:], "REML", "z")])
    >>> res["k"].tolist(), round(float(res.loc[1, "tau2"]), 4)
    ([4, 4, 3], 0.029)
    """
    level, con = check_level(level), check_control(control)
    groups: dict[tuple[str, str], list[int]] = {}
    data: list[tuple[_Array, _Array]] = []
    for i, (yi, vi, method, test) in enumerate(models):
        try:
            y = np.atleast_1d(np.asarray(yi, dtype=float))
            v = np.atleast_1d(np.asarray(vi, dtype=float))
        except (TypeError, ValueError) as exc:
            raise UserInputError(f"model {i}: yi and vi must be numeric.") from exc
        if y.ndim != 1 or y.shape != v.shape:
            raise UserInputError(
                f"model {i}: yi and vi must be 1-D of the same length; got {y.shape} and {v.shape}."
            )
        data.append((y, v))
        groups.setdefault((check_method(method), check_test(test)), []).append(i)
    tasks = []
    for (method, test), idx in groups.items():
        Y = np.full((len(idx), max(data[i][0].size for i in idx)), np.nan)
        V = Y.copy()
        for row, i in enumerate(idx):
            Y[row, : data[i][0].size], V[row, : data[i][1].size] = data[i]
        _check_values(Y, V, lambda r, j, idx=idx: f"model {idx[r]}, study {j}")
        tasks.append((Y, V, method, test, level, con, False))
    if client is None:
        parts = [_fit_arrays_raw(*task) for task in tasks]
    else:
        parts = client.gather([client.submit(_fit_arrays_raw, *t, pure=False) for t in tasks])
    res: dict[str, _Array] = {}
    for ((method, _test), idx), part in zip(groups.items(), parts, strict=True):
        _warn(part, idx, method)
        for c in COLUMNS:
            if c not in res:
                res[c] = np.empty(len(models), dtype=part[c].dtype)
            res[c][idx] = part[c]
    if not models:
        return _empty_result("model", np.int64).drop(columns="k_excluded").reset_index(drop=True)
    return _frame(res, None)
