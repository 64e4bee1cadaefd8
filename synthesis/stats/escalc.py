"""metafor's ``escalc``: effect sizes for a table whose columns are its argument names."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from synthesis.errors import UserInputError

if TYPE_CHECKING:
    import pandas as pd
from synthesis.stats._inputs import (
    _BINARY,
    _PREPOST,
    _REQUIRED,
    _TWO_GROUP,
    MEASURES,
    FloatArray,
    _check,
    _check_zero_options,
    _finish,
    _Result,
)
from synthesis.stats.labels import unique_labels
from synthesis.stats.measures import _binary, _cor, _md, _proportion, _smcc, _smcr, _smd, _zcor


def _column(data: Any, name: str, is_frame: bool) -> FloatArray:
    values = data[name]
    try:
        if is_frame or hasattr(values, "to_numpy"):  # DataFrame column or Series
            arr = values.to_numpy(dtype=float, na_value=np.nan)
        else:
            arr = np.asarray(
                [
                    np.nan if v is None else v
                    for v in np.atleast_1d(np.asarray(values, dtype=object))
                ],
                dtype=float,
            )
    except (TypeError, ValueError) as exc:
        raise UserInputError(f"column {name!r} must be numeric (missing values as NaN)") from exc
    return np.atleast_1d(arr)


def _binary_columns(measure: str, cols: set[str]) -> list[str] | None:
    """Columns used for a 2x2 table, or None if the table cannot be formed."""
    needed = ["ai", "ci"]
    needed.append("bi" if "bi" in cols else "n1i")
    needed.append("di" if "di" in cols else "n2i")
    if not all(c in cols for c in needed):
        return None
    extra = [c for c in ("bi", "di", "n1i", "n2i") if c in cols and c not in needed]
    return needed + extra


def _missing_message(measure: str, cols: set[str], ri_assumed: float | None) -> str:
    if measure in _BINARY:
        need = "ai, bi, ci, di or ai, n1i, ci, n2i"
        missing = [c for c in ("ai", "ci") if c not in cols]
        if "bi" not in cols and "n1i" not in cols:
            missing.append("bi (or n1i)")
        if "di" not in cols and "n2i" not in cols:
            missing.append("di (or n2i)")
    elif measure == "GEN":
        need = "yi and vi (or sei)"
        missing = [c for c in ("yi",) if c not in cols]
        if "vi" not in cols and "sei" not in cols:
            missing.append("vi (or sei)")
    else:
        req = _REQUIRED[measure]
        need = ", ".join(req)
        missing = [c for c in req if c not in cols and not (c == "ri" and ri_assumed is not None)]
        if measure in _PREPOST and "ri" in missing:
            missing[missing.index("ri")] = "ri (or pass ri_assumed=)"
    got = ", ".join(sorted(cols)) or "none"
    alt = "" if measure == "GEN" else "; or give yi and vi to use effect sizes as supplied"
    return (
        f"escalc(measure={measure!r}): missing column(s) {', '.join(missing)}; "
        f"{measure} needs {need}{alt} (columns given: {got})"
    )


_DESCRIPTION = {
    "ZCOR": "ZCOR: Fisher's z of the correlation ri (n = ni); vi = 1/(ni - 3)",
    "COR": "COR: raw correlation ri (n = ni); vi = (1 - ri^2)^2/(ni - 1)",
    "SMD": (
        "SMD: Hedges' g from group means, SDs and sizes (exact small-sample correction); "
        "vi = 1/n1i + 1/n2i + yi^2/(2(n1i + n2i))"
    ),
    "MD": "MD: m1i - m2i from group means, SDs and sizes; vi = sd1i^2/n1i + sd2i^2/n2i",
    "SMCC": "SMCC from pre/post means and SDs (standardized by the SD of change scores)",
    "SMCR": "SMCR from pre/post means and the first-occasion SD sd1i (raw-score standardized)",
    "OR": "OR: log odds ratio from 2x2 counts",
    "RR": "RR: log risk ratio from 2x2 counts",
    "RD": "RD: risk difference from 2x2 counts",
    "PLO": "PLO: logit of the proportion xi/ni",
    "PR": "PR: raw proportion xi/ni",
    "PFT": "PFT: Freeman-Tukey double arcsine of the proportion xi/ni; vi = 1/(4ni + 2)",
}


def escalc_table(
    measure: str,
    data: Mapping[str, ArrayLike] | pd.DataFrame,
    *,
    add: float | None = None,
    to: str = "only0",
    drop00: bool = False,
    ri_assumed: float | None = None,
) -> pd.DataFrame:
    """Effect sizes ``yi``, variances ``vi`` and a sentence per row saying how they were computed.

    The table form of :func:`escalc` that the evidence-base pipeline uses.

    Parameters
    ----------
    measure : str
        One of :data:`MEASURES` (metafor's codes).
    data : mapping of str to array_like, or pandas.DataFrame
        Columns named like metafor's ``escalc`` arguments:

        ========================  ================================================
        measure                   columns
        ========================  ================================================
        ZCOR, COR                 ``ri``, ``ni``
        SMD, MD                   ``m1i``, ``m2i``, ``sd1i``, ``sd2i``, ``n1i``, ``n2i``
        SMCC                      ``m1i``, ``m2i``, ``sd1i``, ``sd2i``, ``ni``, ``ri``
        SMCR                      ``m1i``, ``m2i``, ``sd1i``, ``ni``, ``ri``
        OR, RR, RD                ``ai``, ``bi``, ``ci``, ``di`` or ``ai``, ``n1i``,
                                  ``ci``, ``n2i``
        PLO, PR, PFT              ``xi``, ``ni``
        GEN                       ``yi`` and ``vi`` (or ``sei``)
        ========================  ================================================

        If the columns for ``measure`` are not all present but ``yi`` and ``vi`` (or
        ``sei``) are, the effect sizes are passed through as supplied (metafor: giving
        ``yi`` to ``escalc``). Missing values (NaN/None) are allowed.
    add : float, optional
        Continuity correction (metafor's ``add``). ``None`` means metafor's default:
        1/2, except 0 for PFT (which needs none). Used by OR, RR, RD, PLO, PR, PFT.
    to : {"only0", "all", "if0all", "none"}, default "only0"
        Which studies get ``add`` (metafor's ``to``).
    drop00 : bool, default False
        OR/RR/RD: give NaN for studies with no events, or only events, in both groups.
    ri_assumed : float, optional
        SMCC/SMCR only: the pre-post correlation to use where ``ri`` is missing (column
        absent or NaN). Such rows get ``assumed = True`` and say so in ``es_method``.

    Returns
    -------
    pandas.DataFrame
        Same index as ``data`` (a RangeIndex for a mapping), with columns ``yi``,
        ``vi``, ``measure``, ``es_method`` (one sentence per row: formula, inputs, any
        correction or assumption, or which input is missing) and ``assumed`` (bool),
        plus ``ri`` (the correlation used) for SMCC/SMCR.

    Raises
    ------
    UserInputError
        Unknown measure, missing columns, or an invalid value; the message names the
        column, the value, the row and what is allowed. A row with a missing input is
        not an error: its ``yi``/``vi`` are NaN and ``es_method`` says which input is
        missing.

    Notes
    -----
    Formulas, defaults and edge-case behaviour follow metafor :cite:`viechtbauer2010metafor`;
    see the ``es_*`` functions of this module for each formula.

    Examples
    --------
    >>> from synthesis.stats import escalc_table
    >>> tab = escalc_table("ZCOR", {"ri": [0.3, None], "ni": [50, 40]})
    >>> tab[["yi", "vi"]].round(4).values.tolist()  # a missing input gives NaN, not an error
    [[0.3095, 0.0213], [nan, nan]]
    >>> tab.loc[1, "es_method"]
    'ZCOR: missing input: ri; yi and vi not computed'
    """
    import pandas as pd

    if not isinstance(measure, str) or measure not in MEASURES:
        raise UserInputError(
            f"measure = {measure!r}: unknown measure; allowed: {', '.join(MEASURES)}"
        )
    if add is None:
        add = 0.0 if measure == "PFT" else 0.5
    _check_zero_options(add, to, drop00)
    if ri_assumed is not None:
        if measure not in _PREPOST:
            raise UserInputError(
                f"ri_assumed = {ri_assumed!r}: only used by SMCC and SMCR, not {measure}"
            )
        if (
            isinstance(ri_assumed, bool)
            or not isinstance(ri_assumed, int | float)
            or not (-1 <= ri_assumed <= 1)
        ):
            raise UserInputError(f"ri_assumed = {ri_assumed!r}: must be a number in [-1, 1]")

    is_frame = isinstance(data, pd.DataFrame)
    if not is_frame and not isinstance(data, Mapping):
        raise UserInputError(
            f"data must be a mapping of column names to values or a pandas DataFrame; "
            f"got {type(data).__name__}"
        )
    cols = {str(c) for c in data}
    if measure == "GEN":
        used: list[str] | None = None
    elif measure in _BINARY:
        used = _binary_columns(measure, cols)
    else:
        req = [c for c in _REQUIRED[measure] if c != "ri" or ri_assumed is None]
        used = list(req) if all(c in cols for c in req) else None
        if used is not None and measure in _PREPOST:
            used += [c for c in ("ri", "sd2i") if c in cols and c not in used]
    passthrough = used is None
    if passthrough and not ("yi" in cols and ("vi" in cols or "sei" in cols)):
        raise UserInputError(_missing_message(measure, cols, ri_assumed))
    if used is None:
        used = ["yi", "vi" if "vi" in cols else "sei"]

    arrays = {c: _column(data, c, is_frame) for c in used}
    lengths = {a.size for a in arrays.values()}
    if len(lengths) > 1:
        detail = ", ".join(f"{c}: {a.size}" for c, a in arrays.items())
        raise UserInputError(f"columns have different lengths ({detail})")
    k = lengths.pop() if lengths else 0
    index = data.index if isinstance(data, pd.DataFrame) else pd.RangeIndex(k)
    labels = list(index)

    assumed = np.zeros(k, dtype=bool)
    if measure in _PREPOST and not passthrough:
        ri = arrays.get("ri", np.full(k, np.nan))
        if ri_assumed is not None:
            assumed = np.isnan(ri)
            ri = np.where(assumed, float(ri_assumed), ri)
        arrays["ri"] = ri

    # rows with a missing input: computed as NaN, explained in es_method
    if passthrough or measure not in _BINARY:
        core = list(arrays)
        if measure == "SMCR":
            core = [c for c in core if c != "sd2i"]
        missing_by_row = [[c for c in core if np.isnan(arrays[c][i])] for i in range(k)]
    else:
        missing_by_row = []
        for i in range(k):
            miss = [c for c in ("ai", "ci") if np.isnan(arrays[c][i])]
            for pair in (("bi", "n1i"), ("di", "n2i")):
                given = [c for c in pair if c in arrays]
                if all(np.isnan(arrays[c][i]) for c in given):
                    miss.append(" or ".join(given))
            missing_by_row.append(miss)

    if passthrough:
        res = _passthrough(arrays, labels)
        base = ["as supplied" if "vi" in arrays else "as supplied; vi = sei^2"] * k
    else:
        res = _compute(measure, arrays, add, to, drop00, labels)
        base = [_DESCRIPTION[measure]] * k
        if measure in _BINARY:
            group1 = "bi" if "bi" in arrays else "n1i"
            group2 = "di" if "di" in arrays else "n2i"
            base = [f"{b} ai, {group1}, ci, {group2}" for b in base]

    methods = []
    for i in range(k):
        if missing_by_row[i]:
            head = measure if not passthrough else "as supplied"
            methods.append(
                f"{head}: missing input: {', '.join(missing_by_row[i])}; yi and vi not computed"
            )
            continue
        parts = [base[i]]
        if measure in _PREPOST and not passthrough:
            r = arrays["ri"][i]
            if assumed[i]:
                parts.append(f"pre-post r = {r:g} ASSUMED (not reported)")
            else:
                parts.append(f"pre-post r = {r:g} (reported)")
        if res.notes[i]:
            parts.append(res.notes[i])
        methods.append("; ".join(parts))

    out = pd.DataFrame(
        {
            "yi": res.yi,
            "vi": res.vi,
            "measure": [measure] * k,
            "es_method": methods,
            "assumed": assumed,
        },
        index=index,
    )
    if measure in _PREPOST and not passthrough:
        out["ri"] = arrays["ri"]
    return out


def _passthrough(arrays: dict[str, FloatArray], labels: Sequence[Any]) -> _Result:
    yi = arrays["yi"]
    if "vi" in arrays:
        vi = arrays["vi"]
        _check(
            np.isinf(vi) | (vi <= 0), "vi", vi, "a sampling variance must be > 0 and finite", labels
        )
    else:
        sei = arrays["sei"]
        _check(
            np.isinf(sei) | (sei <= 0),
            "sei",
            sei,
            "a standard error must be > 0 and finite",
            labels,
        )
        vi = sei**2
    _check(np.isinf(yi), "yi", yi, "an effect size must be finite", labels)
    yi, vi = _finish(yi, vi)
    return _Result(yi, vi, [""] * yi.size)


def _compute(
    measure: str,
    a: dict[str, FloatArray],
    add: float,
    to: str,
    drop00: bool,
    labels: Sequence[Any],
) -> _Result:
    if measure == "ZCOR":
        return _zcor(a["ri"], a["ni"], labels)
    if measure == "COR":
        return _cor(a["ri"], a["ni"], labels)
    if measure in _TWO_GROUP:
        fun = _smd if measure == "SMD" else _md
        return fun(a["m1i"], a["m2i"], a["sd1i"], a["sd2i"], a["n1i"], a["n2i"], labels)
    if measure == "SMCC":
        return _smcc(a["m1i"], a["m2i"], a["sd1i"], a["sd2i"], a["ni"], a["ri"], labels)
    if measure == "SMCR":
        return _smcr(a["m1i"], a["m2i"], a["sd1i"], a.get("sd2i"), a["ni"], a["ri"], labels)
    if measure in _BINARY:
        return _binary(
            measure,
            a["ai"],
            a.get("bi"),
            a["ci"],
            a.get("di"),
            a.get("n1i"),
            a.get("n2i"),
            add,
            to,
            drop00,
            labels,
        )
    return _proportion(measure, a["xi"], a["ni"], add, to, labels)


#: metafor's escalc argument names that :func:`escalc` accepts as keywords.
ARGUMENTS: tuple[str, ...] = (
    "ai", "bi", "ci", "di", "n1i", "n2i", "m1i", "m2i", "sd1i", "sd2i",
    "xi", "ni", "ri", "yi", "vi", "sei",
)  # fmt: skip


def escalc(
    measure: str,
    data: pd.DataFrame | Mapping[str, ArrayLike] | None = None,
    *,
    slab: str | Sequence[Any] | None = None,
    add: float | None = None,
    to: str = "only0",
    drop00: bool = False,
    ri_assumed: float | None = None,
    **columns: str | ArrayLike,
) -> pd.DataFrame:
    """Effect sizes as metafor's ``escalc``: ``data`` with ``yi`` and ``vi`` appended.

    Parameters
    ----------
    measure : str
        One of :data:`synthesis.vocabulary.MEASURES` (metafor's codes).
    data : pandas.DataFrame or mapping, optional
        The table. Without keyword arguments, its columns named like metafor's
        arguments are used (see :func:`escalc_table`).
    slab : str or sequence, optional
        Study labels, or the column of ``data`` holding them: they become the index
        of the result (repeated labels made unique as metafor does, ``Smith.1``,
        ``Smith.2``).
    add, to, drop00, ri_assumed
        As for :func:`escalc_table` (metafor's zero-cell options; the pre-post
        correlation assumed where none is reported).
    **columns : str or array-like
        metafor's arguments (:data:`ARGUMENTS`: ``ai``, ``n1i``, ``m1i``, ``ri``,
        ``xi``, ...), each the name of a column of ``data`` or the values.

    Returns
    -------
    pandas.DataFrame
        A copy of ``data`` (or of the given columns) with ``yi`` and ``vi``
        appended; ``attrs["measure"]`` carries the measure, so that
        :func:`synthesis.stats.rma` with ``data=`` knows it.

    Raises
    ------
    UserInputError
        An unknown argument or column name, or what :func:`escalc_table` refuses.

    Examples
    --------
    >>> import pandas as pd
    >>> from synthesis.stats import escalc
    >>> df = pd.DataFrame({"study": ["A", "B"], "r": [0.3, 0.5], "n": [50, 80]})
    >>> escalc("ZCOR", df, ri="r", ni="n", slab="study").round(4)
          study    r   n      yi      vi
    study
    A         A  0.3  50  0.3095  0.0213
    B         B  0.5  80  0.5493  0.0130
    """
    import pandas as pd

    unknown = sorted(set(columns) - set(ARGUMENTS))
    if unknown:
        raise UserInputError(
            f"escalc: unknown argument(s) {unknown}; allowed: {', '.join(ARGUMENTS)}"
        )
    if data is None:
        frame = pd.DataFrame(index=pd.RangeIndex(_length(columns)))
    elif isinstance(data, pd.DataFrame):
        frame = data.copy()
    elif isinstance(data, Mapping):
        frame = pd.DataFrame(dict(data))
    else:
        raise UserInputError(
            f"data must be a pandas DataFrame or a mapping; got {type(data).__name__}"
        )
    args: dict[str, Any] = {}
    for name, value in columns.items():
        if isinstance(value, str):
            if value not in frame.columns:
                raise UserInputError(
                    f"escalc: {name}={value!r} is not a column of data; columns: "
                    f"{list(frame.columns)}"
                )
            args[name] = frame[value].to_numpy()
        else:
            args[name] = np.atleast_1d(np.asarray(value, dtype=object))
    table_input: Any = (
        pd.DataFrame(args, index=frame.index)
        if args
        else frame[[c for c in frame.columns if c in ARGUMENTS]]
    )
    res = escalc_table(measure, table_input, add=add, to=to, drop00=drop00, ri_assumed=ri_assumed)
    frame["yi"] = res["yi"].to_numpy()
    frame["vi"] = res["vi"].to_numpy()
    if slab is not None:
        labels = frame[slab] if isinstance(slab, str) and slab in frame.columns else slab
        if isinstance(labels, str):
            raise UserInputError(f"escalc: slab={slab!r} is not a column of data")
        names = [str(s) for s in labels]
        if len(names) != len(frame):
            raise UserInputError(f"escalc: slab has {len(names)} labels for {len(frame)} rows")
        frame.index = pd.Index(unique_labels(names), name=slab if isinstance(slab, str) else None)
    frame.attrs["measure"] = measure
    return frame


def _length(columns: Mapping[str, Any]) -> int:
    sizes = {np.atleast_1d(np.asarray(v, dtype=object)).size for v in columns.values()}
    if len(sizes) > 1:
        raise UserInputError(f"escalc: the arguments have different lengths {sorted(sizes)}")
    return sizes.pop() if sizes else 0
