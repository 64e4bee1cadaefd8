"""The result type of :func:`synthesis.stats.robust.robust`, printed as metafor's ``robust()``.

Kept beside :mod:`synthesis.stats.results` (which holds the other result types and the
shared formatting helpers) so that neither module grows past the size limit. No fitting
or checking happens here.
"""

from __future__ import annotations

import html
import math
import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from synthesis.stats.results import (
    SIGNIF_LEGEND,
    MetaResult,
    _fmt,
    _fmt_p,
    _jsonable,
    _p_eq,
    _stars,
    html_table,
    moderator_label,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RobustCoefficient", "RobustResult"]

_Array = np.ndarray

#: metafor's footnote mark on the cluster-robust columns.
_MARK = "\N{SUPERSCRIPT ONE}"


@dataclass(frozen=True)
class RobustCoefficient:
    """One row of the cluster-robust coefficient table (t test on ``df``).

    Examples
    --------
    >>> from synthesis.stats import RobustCoefficient, rma, robust
    >>> fit = rma([0.30, 0.42, 0.10, 0.18, 0.55, 0.61], [0.02, 0.03, 0.015, 0.02, 0.04, 0.05])
    >>> (b,) = robust(fit, cluster=[1, 1, 2, 2, 3, 3]).coefficients
    >>> isinstance(b, RobustCoefficient), b.name, round(b.se, 4), round(b.df, 2)
    (True, 'intrcpt', 0.1208, 1.85)
    """

    name: str
    estimate: float
    se: float
    tval: float
    df: float
    pval: float
    ci_lb: float
    ci_ub: float


def _df_text(values: list[float]) -> list[str]:
    """Degrees of freedom as R prints ``round(df, 2)`` in a column (common decimals)."""
    rounded = [round(v, 2) if math.isfinite(v) else v for v in values]

    def decimals(v: float) -> int:
        if not math.isfinite(v):
            return 0
        return next(d for d in (0, 1, 2) if abs(v * 10**d - round(v * 10**d)) < 1e-9)

    d = max(decimals(v) for v in rounded)
    return [f"{v:.{d}f}" if math.isfinite(v) else "NA" for v in rounded]


def _first_coefficient(name: str, doc: str) -> Any:
    """A read-only attribute: ``name`` of the first (intercept) coefficient."""
    return property(lambda self: float(getattr(self.coefficients[0], name)), doc=doc)


@dataclass(frozen=True, eq=False)
class RobustResult:
    """Cluster-robust tests and confidence intervals of a fitted model.

    Attributes
    ----------
    fit
        The model (:class:`~synthesis.stats.results.MetaResult`) whose coefficients
        and weights are used; its estimates are unchanged.
    vcov_type
        ``"CR2"`` (clubSandwich's bias-reduced estimator), ``"CR1"`` (metafor's
        ``adjust=TRUE``: CR0 times ``n/(n − p)``) or ``"CR0"``.
    df_method
        ``"Satterthwaite"`` (a df per coefficient, HTZ test of the moderators) or
        ``"residual"`` (``df = n − p`` for every test, as metafor without clubSandwich).
    coefficients
        Estimate, cluster-robust SE, t, df, p and CI of each coefficient.
    QM, QMdf, QMp
        Test of the moderators (of the intercept for an intercept-only model):
        ``F(QMdf[0], QMdf[1])``; for CR2 the HTZ test, whose denominator df is not
        an integer.
    vb
        Cluster-robust variance-covariance matrix of the coefficients.
    cluster
        Cluster label of each effect used (in the order of ``fit.yi``).
    cluster_sizes
        Number of effects of each cluster, by label in sorted order.
    notes
        Remarks (how a Knapp-Hartung model was treated, ...).

    Examples
    --------
    >>> from synthesis.stats import RobustResult, rma, robust
    >>> fit = rma([0.30, 0.42, 0.10, 0.18, 0.55, 0.61], [0.02, 0.03, 0.015, 0.02, 0.04, 0.05])
    >>> r = robust(fit, cluster=["A", "A", "B", "B", "C", "C"])
    >>> isinstance(r, RobustResult), r.vcov_type, r.n_clusters, r.cluster_sizes
    (True, 'CR2', 3, (('A', 2), ('B', 2), ('C', 2)))
    >>> r.to_frame().round(4)   # doctest: +NORMALIZE_WHITESPACE
             estimate      se    tval      df    pval   ci_lb   ci_ub
    intrcpt    0.3089  0.1208  2.5572  1.8488  0.1349 -0.2537  0.8715

    metafor 3.8.1 with clubSandwich 0.5.8 gives the same numbers.
    """

    fit: MetaResult = field(repr=False)
    vcov_type: str
    df_method: str
    coefficients: tuple[RobustCoefficient, ...] = field(repr=False)
    QM: float
    QMdf: tuple[int, float]
    QMp: float
    vb: _Array = field(repr=False)
    cluster: tuple[str, ...] = field(repr=False)
    cluster_sizes: tuple[tuple[str, int], ...] = field(repr=False)
    notes: tuple[str, ...] = ()

    # ---------------------------------------------------------------- shortcuts --
    @property
    def n_clusters(self) -> int:
        """Number of clusters."""
        return len(self.cluster_sizes)

    @property
    def k(self) -> int:
        """Number of effects (estimates) analysed."""
        return self.fit.k

    @property
    def level(self) -> float:
        """Confidence level (percent) of the intervals, that of the fitted model."""
        return self.fit.level

    estimate = _first_coefficient("estimate", "The (intercept) coefficient.")
    se = _first_coefficient("se", "Its cluster-robust standard error.")
    tval = _first_coefficient("tval", "Its t statistic.")
    df = _first_coefficient("df", "Its degrees of freedom.")
    pval = _first_coefficient("pval", "Its two-sided p-value.")
    ci_lb = _first_coefficient("ci_lb", "Lower bound of its confidence interval.")
    ci_ub = _first_coefficient("ci_ub", "Upper bound of its confidence interval.")

    # ------------------------------------------------------------------ export --
    _COLUMNS = ("estimate", "se", "tval", "df", "pval", "ci_lb", "ci_ub")

    def to_frame(self) -> pd.DataFrame:
        """The coefficient table (``estimate, se, tval, df, pval, ci_lb, ci_ub``) by name."""
        import pandas as pd

        return pd.DataFrame(
            [[getattr(c, key) for key in self._COLUMNS] for c in self.coefficients],
            columns=list(self._COLUMNS),
            index=pd.Index([c.name for c in self.coefficients]),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: non-finite numbers become None, arrays become lists."""
        return _jsonable(
            {
                "vcov_type": self.vcov_type,
                "df_method": self.df_method,
                "k": self.k,
                "n_clusters": self.n_clusters,
                "level": self.level,
                "coefficients": [
                    {"name": c.name, **{key: getattr(c, key) for key in self._COLUMNS}}
                    for c in self.coefficients
                ],
                "QM": self.QM,
                "QMdf": list(self.QMdf),
                "QMp": self.QMp,
                "vb": self.vb,
                "cluster": list(self.cluster),
                "notes": list(self.notes),
            }
        )

    # ------------------------------------------------------------------ display --
    def _cluster_lines(self) -> list[str]:
        sizes = [n for _, n in self.cluster_sizes]
        if min(sizes) == max(sizes):
            per = str(sizes[0])
        else:
            median = round(statistics.median(sizes), 2)
            per = (
                f"{min(sizes)}-{max(sizes)} (mean: {statistics.mean(sizes):.2f}, "
                f"median: {median:g})"
            )
        return [
            f"Number of estimates:   {self.k}",
            f"Number of clusters:    {self.n_clusters}",
            f"Estimates per cluster: {per}",
        ]

    def legend(self) -> str:
        """metafor's footnote naming the estimator and the degrees of freedom."""
        tests = (
            "t-test and confidence interval"
            if self.fit.p == 1
            else "t/F-tests and confidence intervals"
        )
        df = "Satterthwaite approx" if self.df_method == "Satterthwaite" else "residual method"
        return (
            f"1) results based on cluster-robust inference (var-cov estimator: "
            f"{self.vcov_type},\n   approx {tests}, df: {df})"
        )

    def __str__(self) -> str:
        mr = self.fit.p > 1
        lines = self.fit.heading_lines()
        lines += ["", *self._cluster_lines()]
        if mr:
            lines += [
                "",
                f"Test of Moderators ({moderator_label(self.fit.p)}):{_MARK}",
                f"F(df1 = {self.QMdf[0]}, df2 = {_df_text([self.QMdf[1]])[0]}) = "
                f"{_fmt(self.QM)}, p-val {_p_eq(self.QMp)}",
            ]
        lines += ["", "Model Results:", ""]
        m = _MARK
        rows = [["", "estimate", f"se{m}", f"tval{m}", f"df{m}", f"pval{m}"]]
        rows[0] += [f"ci.lb{m}", f"ci.ub{m}", ""]
        for (name, values), c in zip(self._cells(), self.coefficients, strict=True):
            rows.append([name, *values, _stars(c.pval)])
        if not mr:
            rows = [r[1:] for r in rows]
        widths = [max(len(r[j]) for r in rows) for j in range(len(rows[0]))]
        for r in rows:
            padded = [s.rjust(wd) for s, wd in zip(r, widths, strict=True)]
            if mr:  # row names left-aligned, as R prints them
                padded[0] = r[0].ljust(widths[0])
            lines.append("  ".join(padded).rstrip())
        lines += ["", SIGNIF_LEGEND, "", self.legend()]
        lines += [f"Note: {note}" for note in self.notes]
        return "\n".join(lines)

    def _cells(self) -> list[tuple[str, tuple[str, ...]]]:
        """Each coefficient's name and formatted ``estimate, se, tval, df, pval, ci``."""
        dfs = _df_text([c.df for c in self.coefficients])
        return [
            (
                c.name,
                (
                    _fmt(c.estimate),
                    _fmt(c.se),
                    _fmt(c.tval),
                    df,
                    _fmt_p(c.pval),
                    _fmt(c.ci_lb),
                    _fmt(c.ci_ub),
                ),
            )
            for c, df in zip(self.coefficients, dfs, strict=True)
        ]

    def _repr_html_(self) -> str:
        header = ("estimate", "se", "tval", "df", "pval", "ci.lb", "ci.ub")
        table = html_table(header, self._cells())
        info = " · ".join(html.escape(" ".join(line.split())) for line in self._cluster_lines())
        test = ""
        if self.fit.p > 1:
            test = (
                f"<p>Test of moderators: F({self.QMdf[0]}, {_df_text([self.QMdf[1]])[0]}) = "
                f"{_fmt(self.QM)}, p {_p_eq(self.QMp)}</p>"
            )
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return (
            f"<div><p>{html.escape(self.fit.heading_lines()[0])}; {info}</p>{test}"
            f"{table}"
            f"<p>{html.escape(self.legend()[3:]).replace(chr(10), ' ')}</p>"
            + (f"<ul>{notes}</ul>" if notes else "")
            + "</div>"
        )
