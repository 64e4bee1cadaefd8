"""Result types of the fits, with metafor's printed layout, HTML and tables.

Every result has ``__str__`` laid out as metafor prints it, ``_repr_html_`` for
notebooks, ``to_frame()`` (a :class:`pandas.DataFrame`) and ``to_dict()`` where a
JSON form is useful. No fitting or checking happens here.
"""

from __future__ import annotations

import dataclasses
import html
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from synthesis import vocabulary
from synthesis.errors import UserInputError

if TYPE_CHECKING:
    import pandas as pd

_Array = np.ndarray


def readonly(a: _Array) -> _Array:
    """A read-only float copy of ``a``."""
    a = np.array(a, dtype=float, copy=True)
    a.setflags(write=False)
    return a


def _jsonable(x: Any) -> Any:
    if isinstance(x, float | np.floating):
        f = float(x)
        return f if math.isfinite(f) else None
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, np.ndarray):
        return [_jsonable(v) for v in x.tolist()]
    if isinstance(x, tuple | list):
        return [_jsonable(v) for v in x]
    if isinstance(x, Mapping):
        return {str(key): _jsonable(val) for key, val in x.items()}
    return x


def _fmt(x: float, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NA"
    if math.isinf(x):
        return "Inf" if x > 0 else "-Inf"
    return f"{x:.{digits}f}"


def _fmt_p(p: float) -> str:
    if math.isnan(p):
        return "NA"
    return "<.0001" if p < 1e-4 else f"{p:.4f}"


def _stars(p: float) -> str:
    if math.isnan(p):
        return ""
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else "." if p < 0.1 else ""


@dataclass(frozen=True)
class Coefficient:
    """One row of the coefficient table (``zval`` is the t statistic under knha).

    Examples
    --------
    >>> from synthesis.stats import Coefficient, rma
    >>> fit = rma([0.10, 0.30, 0.35, 0.65, 0.45, 0.15],
    ...           [0.010, 0.020, 0.015, 0.030, 0.025, 0.012], slab=list("ABCDEF"))
    >>> (b,) = fit.coefficients
    >>> isinstance(b, Coefficient), b.name, round(b.estimate, 4), round(b.se, 4)
    (True, 'intrcpt', 0.3017, 0.0778)
    """

    name: str
    estimate: float
    se: float
    zval: float
    pval: float
    ci_lb: float
    ci_ub: float


@dataclass(frozen=True)
class TransformedResult:
    """Estimate and intervals mapped to another scale (bounds sorted, as metafor).

    Examples
    --------
    >>> import numpy as np
    >>> from synthesis.stats import TransformedResult, rma
    >>> fit = rma([0.10, 0.30, 0.35, 0.65, 0.45, 0.15],
    ...           [0.010, 0.020, 0.015, 0.030, 0.025, 0.012])
    >>> ratio = fit.transformed(np.exp)  # metafor: predict(fit, transf=exp)
    >>> isinstance(ratio, TransformedResult)
    True
    >>> [round(v, 4) for v in (ratio.estimate, ratio.ci_lb, ratio.ci_ub, ratio.pi_lb, ratio.pi_ub)]
    [1.3521, 1.1609, 1.5748, 0.992, 1.843]
    """

    estimate: float
    ci_lb: float
    ci_ub: float
    pi_lb: float
    pi_ub: float


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if dataclasses.is_dataclass(a) and type(a) is type(b):
        return all(_same(getattr(a, f.name), getattr(b, f.name)) for f in fields(a) if f.compare)
    return bool(a == b)


@dataclass(frozen=True, eq=False)
class MetaResult:
    """A fitted ``rma``-type model, shaped like metafor's ``rma.uni`` object.

    For a meta-regression (``mods`` given), ``estimate``/``se``/``zval``/``pval``/
    ``ci_*`` describe the intercept; all coefficients are in ``coefficients``, and
    ``pi_lb``/``pi_ub`` are NaN (no prediction at a covariate value is implied).

    Attributes
    ----------
    k, k_excluded, excluded
        Studies used; studies dropped for missing values and, for each, its slab
        (or row index when no slab was given) and the reason.
    index
        Row positions (in the input) of the studies used.
    method, test, level
        τ² estimator, ``"z"`` or ``"knha"``, confidence level in percent.
    estimate, se, zval, pval, ci_lb, ci_ub
        The (intercept) coefficient. Under ``test="knha"`` ``se`` is the
        Knapp-Hartung standard error, ``zval`` the t statistic and ``df = k − p``.
    pi_lb, pi_ub
        Prediction interval as metafor's ``predict.rma``: ``b ± crit √(se² + τ²)``
        with ``crit`` the normal (z) or t(k − p) (knha) quantile. NaN for the EE
        model (metafor reports none) and for meta-regressions.
    tau2, se_tau2, tau2_ci_lb, tau2_ci_ub, tau2_ci_truncated
        τ², its standard error (metafor's formula per method; NaN for EE and k = 1)
        and the Q-profile CI (NaN for EE and k = 1, where metafor's ``confint``
        refuses); ``tau2_ci_truncated`` marks an upper bound reported as the search
        limit. Like metafor's ``rma``, the fit does not compute the CI: it is
        computed (by ``tau2_profile``) on the first access to any of the three or to
        ``notes``, printing or export, and kept.
    I2, H2, QE, QEp
        Heterogeneity statistics (see :func:`heterogeneity_indices`,
        :func:`q_statistic`).
    df
        ``k − p`` under knha, None under z (metafor's ``ddf``).
    converged, iterations
        Fisher scoring status (always True/0 for non-iterative estimators).
    weights
        Percentage weights ``100 wᵢ/Σw`` with ``wᵢ = 1/(vᵢ + τ²)``, as ``weights()``.
    yi, vi, slab, measure
        The data analysed (after exclusions) and the effect-size measure code.
    notes, fit_notes
        Human-readable remarks (k = 1, non-convergence, search limits, …);
        ``fit_notes`` are those of the fit alone, ``notes`` adds the remarks on the
        Q-profile CI of τ².
    coefficients, QM, QMdf, QMp
        Coefficient table and the omnibus test of the moderators (of the intercept
        for an intercept-only model): χ²(m) under z, F(m, k − p) under knha
        (``QMdf = (m, None)`` under z).
    p, control
        Number of coefficients; the control settings used.
    tau2_profile
        ``tau2_profile(result)`` returns ``(tau2_ci_lb, tau2_ci_ub,
        tau2_ci_truncated, notes)`` from the result's own data and settings; None:
        no CI (NaN bounds).

    Examples
    --------
    >>> from synthesis.stats import MetaResult, rma
    >>> fit = rma([0.10, 0.30, 0.35, 0.65, 0.45, 0.15],
    ...           [0.010, 0.020, 0.015, 0.030, 0.025, 0.012], slab=list("ABCDEF"))
    >>> isinstance(fit, MetaResult), fit.k, fit.method
    (True, 6, 'REML')
    >>> round(fit.estimate, 4), round(fit.tau2, 4), round(fit.I2, 2)
    (0.3017, 0.0189, 53.34)
    >>> fit.to_frame()[["k", "estimate", "ci_lb", "ci_ub", "tau2"]].round(4)  # one row
       k  estimate   ci_lb   ci_ub    tau2
    0  6    0.3017  0.1492  0.4541  0.0189
    """

    k: int
    k_excluded: int
    excluded: tuple[tuple[int | str, str], ...]
    method: str
    test: str
    level: float
    estimate: float
    se: float
    zval: float
    pval: float
    ci_lb: float
    ci_ub: float
    pi_lb: float
    pi_ub: float
    tau2: float
    se_tau2: float
    tau2_ci_lb: float = field(init=False)
    tau2_ci_ub: float = field(init=False)
    I2: float
    H2: float
    QE: float
    QEp: float
    df: int | None
    converged: bool
    iterations: int
    weights: _Array = field(compare=False, repr=False)
    yi: _Array = field(compare=False, repr=False)
    vi: _Array = field(compare=False, repr=False)
    slab: tuple[str, ...] = field(repr=False)
    measure: str | None
    notes: tuple[str, ...] = field(init=False)
    coefficients: tuple[Coefficient, ...] = field(repr=False)
    QM: float
    QMdf: tuple[int, int | None]
    QMp: float
    p: int
    index: tuple[int, ...] = field(repr=False)
    control: Mapping[str, Any] = field(compare=False, repr=False)
    vb: _Array = field(compare=False, repr=False, default_factory=lambda: np.zeros((1, 1)))
    X: _Array | None = field(compare=False, repr=False, default=None)
    tau2_ci_truncated: bool = field(init=False)
    fit_notes: tuple[str, ...] = field(default=(), compare=False, repr=False)
    tau2_profile: Callable[[MetaResult], tuple[float, float, bool, tuple[str, ...]]] | None = field(
        default=None, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        if self.tau2_profile is None:
            self._set_profile((math.nan, math.nan, False, ()))

    def _set_profile(self, profile: tuple[float, float, bool, tuple[str, ...]]) -> None:
        lb, ub, truncated, notes = profile
        for name, value in (
            ("tau2_ci_lb", lb),
            ("tau2_ci_ub", ub),
            ("tau2_ci_truncated", truncated),
            ("notes", (*self.fit_notes, *notes)),
        ):
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        """The Q-profile CI of τ² and the notes, computed on first access."""
        if name not in _LAZY or "tau2_profile" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        self._set_profile(self.tau2_profile(self))  # type: ignore[misc]
        return self.__dict__[name]

    def __eq__(self, other: object) -> bool:
        """Field-wise equality in which NaN equals NaN (the same on every Python version)."""
        if not isinstance(other, MetaResult):
            return NotImplemented
        return all(
            _same(getattr(self, f.name), getattr(other, f.name)) for f in fields(self) if f.compare
        )

    __hash__ = None  # type: ignore[assignment]

    # ------------------------------------------------------------------ export --
    _SUMMARY_KEYS: ClassVar[tuple[str, ...]] = vocabulary.SUMMARY_FIELDS

    def to_frame(self) -> pd.DataFrame:
        """One-row summary :class:`pandas.DataFrame` (no rounding)."""
        import pandas as pd

        return pd.DataFrame([{key: getattr(self, key) for key in self._SUMMARY_KEYS}])

    def coef_table(self) -> pd.DataFrame:
        """The coefficient table (``estimate, se, zval, pval, ci_lb, ci_ub``) by name."""
        import pandas as pd

        rows = [
            {
                "estimate": c.estimate,
                "se": c.se,
                "zval": c.zval,
                "pval": c.pval,
                "ci_lb": c.ci_lb,
                "ci_ub": c.ci_ub,
            }
            for c in self.coefficients
        ]
        return pd.DataFrame(rows, index=[c.name for c in self.coefficients])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: non-finite numbers become None, arrays become lists."""
        out: dict[str, Any] = {key: getattr(self, key) for key in self._SUMMARY_KEYS}
        out.update(
            excluded=[list(e) for e in self.excluded],
            weights=self.weights,
            yi=self.yi,
            vi=self.vi,
            slab=list(self.slab),
            notes=list(self.notes),
            QMdf=list(self.QMdf),
            coefficients=[
                {
                    "name": c.name,
                    "estimate": c.estimate,
                    "se": c.se,
                    "zval": c.zval,
                    "pval": c.pval,
                    "ci_lb": c.ci_lb,
                    "ci_ub": c.ci_ub,
                }
                for c in self.coefficients
            ],
        )
        return _jsonable(out)

    def transformed(self, transf: Callable[[float], float]) -> TransformedResult:
        """Estimate, CI and PI on another scale, e.g. ``math.exp`` for log ratios.

        ``transf`` is applied to each number; each pair of bounds is then sorted,
        as metafor's ``predict(..., transf=)`` does, so decreasing transformations
        work too. The standard error has no meaning on the new scale and is
        not returned.
        """
        if not callable(transf):
            raise UserInputError(f"transf={transf!r} must be a callable taking a float.")

        def f(x: float) -> float:
            return float(transf(x)) if not math.isnan(x) else math.nan

        ci = sorted((f(self.ci_lb), f(self.ci_ub)))
        pi = (math.nan, math.nan)
        if not (math.isnan(self.pi_lb) or math.isnan(self.pi_ub)):
            pi = tuple(sorted((f(self.pi_lb), f(self.pi_ub))))  # type: ignore[assignment]
        return TransformedResult(f(self.estimate), ci[0], ci[1], pi[0], pi[1])

    backtransform = transformed

    # ------------------------------------------------------------------ display --
    def heading_lines(self) -> list[str]:
        """The model line, heterogeneity and its test, as metafor prints them first."""
        lines: list[str] = []
        mr = self.p > 1
        if self.method == "EE":
            kind = "Equal-Effects Model" if not mr else "Equal-Effects with Moderators Model"
            lines.append(f"{kind} (k = {self.k})")
        else:
            kind = "Random-Effects Model" if not mr else "Mixed-Effects Model"
            lines.append(f"{kind} (k = {self.k}; tau^2 estimator: {self.method})")
        lines.append("")
        res = "residual " if mr else ""
        var_label = "unaccounted" if mr else "total"
        if self.method != "EE":
            lines.append(
                f"tau^2 (estimated amount of {res or 'total '}heterogeneity): "
                f"{_fmt(self.tau2)} (SE = {_fmt(self.se_tau2)})"
            )
            lines.append(
                f"tau (square root of estimated tau^2 value): {_fmt(math.sqrt(self.tau2))}"
            )
        lines.append(
            f"I^2 ({res or 'total '}heterogeneity / {var_label} variability): {_fmt(self.I2, 2)}%"
        )
        lines.append(f"H^2 ({var_label} variability / sampling variability): {_fmt(self.H2, 2)}")
        lines.append("")
        lines.append(f"Test for {'Residual ' if mr else ''}Heterogeneity:")
        qname = "QE" if mr else "Q"
        lines.append(f"{qname}(df = {self.k - self.p}) = {_fmt(self.QE)}, p-val {_p_eq(self.QEp)}")
        return lines

    def __str__(self) -> str:
        lines = self.heading_lines()
        mr = self.p > 1
        if mr:
            lines.append("")
            if self.test in ("knha", "adhoc"):
                lines.append(
                    f"Test of Moderators ({moderator_label(self.p)}):\n"
                    f"F(df1 = {self.QMdf[0]}, df2 = {self.QMdf[1]}) = {_fmt(self.QM)}, "
                    f"p-val {_p_eq(self.QMp)}"
                )
            else:
                lines.append(
                    f"Test of Moderators ({moderator_label(self.p)}):\n"
                    f"QM(df = {self.QMdf[0]}) = {_fmt(self.QM)}, p-val {_p_eq(self.QMp)}"
                )
        lines.append("")
        lines.append("Model Results:")
        lines.append("")
        stat = "tval" if self.test in ("knha", "adhoc") else "zval"
        header = ["", "estimate", "se", stat] + (["df"] if self.test in ("knha", "adhoc") else [])
        header += ["pval", "ci.lb", "ci.ub", ""]
        rows = [header]
        for c in self.coefficients:
            row = [c.name, _fmt(c.estimate), _fmt(c.se), _fmt(c.zval)]
            if self.test in ("knha", "adhoc"):
                row.append(str(self.df))
            row += [_fmt_p(c.pval), _fmt(c.ci_lb), _fmt(c.ci_ub), _stars(c.pval)]
            rows.append(row)
        if not mr:
            rows = [r[1:] for r in rows]
        widths = [max(len(r[j]) for r in rows) for j in range(len(rows[0]))]
        for r in rows:
            lines.append("  ".join(s.rjust(wd) for s, wd in zip(r, widths, strict=True)).rstrip())
        lines.append("")
        lines.append(SIGNIF_LEGEND)
        if not mr and not math.isnan(self.pi_lb):
            lines.append("")
            lines.append(
                f"{self.level:g}% prediction interval: [{_fmt(self.pi_lb)}, {_fmt(self.pi_ub)}]"
            )
        if self.k_excluded:
            lines.append(
                f"\n{self.k_excluded} stud{'y' if self.k_excluded == 1 else 'ies'} "
                "excluded for missing values."
            )
        for note in self.notes:
            lines.append(f"Note: {note}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        stat = "tval" if self.test in ("knha", "adhoc") else "zval"
        table = html_table(
            ("estimate", "se", stat, "pval", "ci.lb", "ci.ub"),
            [
                (
                    c.name,
                    (
                        _fmt(c.estimate),
                        _fmt(c.se),
                        _fmt(c.zval),
                        _fmt_p(c.pval),
                        _fmt(c.ci_lb),
                        _fmt(c.ci_ub),
                    ),
                )
                for c in self.coefficients
            ],
        )
        het = (
            f"k = {self.k}; method = {html.escape(self.method)}; test = {self.test}; "
            f"τ² = {_fmt(self.tau2)}; I² = {_fmt(self.I2, 2)}%; H² = {_fmt(self.H2, 2)}; "
            f"Q({self.k - self.p}) = {_fmt(self.QE)}, p {_p_eq(self.QEp)}"
        )
        pi = (
            ""
            if math.isnan(self.pi_lb)
            else f"<p>{self.level:g}% PI: [{_fmt(self.pi_lb)}, {_fmt(self.pi_ub)}]</p>"
        )
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return (
            f"<div><p>{html.escape(het)}</p>{table}{pi}"
            + (f"<ul>{notes}</ul>" if notes else "")
            + "</div>"
        )


#: Attributes of :class:`MetaResult` computed on first access.
_LAZY = frozenset({"tau2_ci_lb", "tau2_ci_ub", "tau2_ci_truncated", "notes"})


def _p_eq(p: float) -> str:
    return "< .0001" if p < 1e-4 else f"= {_fmt(p)}"


def moderator_label(p: int) -> str:
    """metafor's name of the tested coefficients: ``coefficient 2`` or ``coefficients 2:p``."""
    return "coefficient 2" if p == 2 else f"coefficients 2:{p}"


def html_table(header: Sequence[str], rows: Iterable[tuple[str, Sequence[str]]]) -> str:
    """An HTML coefficient table: ``header`` above the value columns, one row per name."""
    head = "".join(f"<th>{h}</th>" for h in ("", *header))
    body = "".join(
        f"<tr><th>{html.escape(name)}</th>" + "".join(f"<td>{v}</td>" for v in values) + "</tr>"
        for name, values in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


SIGNIF_LEGEND = "---\nSignif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1"


@dataclass(frozen=True)
class RegtestResult:
    """Egger-type regression test for funnel-plot asymmetry.

    ``zval`` is the test statistic of the ``sei`` coefficient (t under knha), ``df``
    its degrees of freedom (None under z, as metafor), and ``est``/``ci_lb``/``ci_ub``
    the limit estimate (the intercept: the expected effect as ``sei → 0``).

    Examples
    --------
    >>> from synthesis.stats import regtest, rma
    >>> fit = rma([0.10, 0.30, 0.35, 0.65, 0.45, 0.15],
    ...           [0.010, 0.020, 0.015, 0.030, 0.025, 0.012], slab=list("ABCDEF"))
    >>> test = regtest(fit)
    >>> type(test).__name__, round(test.zval, 4), round(test.pval, 4), test.df
    ('RegtestResult', 3.0866, 0.002, None)
    """

    zval: float
    pval: float
    df: int | None
    est: float
    ci_lb: float
    ci_ub: float
    fit: MetaResult = field(repr=False)
    model: str = "rma"
    predictor: str = "sei"

    def to_frame(self) -> pd.DataFrame:
        """One row: ``zval, pval, df, est, ci_lb, ci_ub``."""
        import pandas as pd

        keys = ("zval", "pval", "df", "est", "ci_lb", "ci_ub")
        return pd.DataFrame([{c: getattr(self, c) for c in keys}])

    def __str__(self) -> str:
        kind = (
            "meta-regression model"
            if self.fit.method == "EE"
            else "mixed-effects meta-regression model"
        )
        stat = "t" if self.df is not None else "z"
        df = f"(df = {self.df})" if self.df is not None else ""
        return "\n".join(
            [
                "Regression Test for Funnel Plot Asymmetry",
                "",
                f"Model:     {kind}",
                "Predictor: standard error",
                "",
                f"Test for Funnel Plot Asymmetry: {stat}{df} = {_fmt(self.zval)}, "
                f"p {_p_eq(self.pval)}",
                f"Limit Estimate (as sei -> 0):   b = {_fmt(self.est)} "
                f"(CI: {_fmt(self.ci_lb)}, {_fmt(self.ci_ub)})",
            ]
        )

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(str(self))}</pre>"


@dataclass(frozen=True)
class TrimfillResult:
    """Trim-and-fill result: ``k0`` imputed studies on ``side`` and the filled fit.

    ``yi``/``vi``/``slab`` hold the observed studies followed by the ``k0`` imputed
    ones; ``fill`` marks the imputed rows (``True``). ``se_k0`` is the standard
    error of the L0 estimator.

    Examples
    --------
    >>> from synthesis.stats import trimfill
    >>> tf = trimfill([0.1, 0.2, 0.3, 0.5, 0.7, 0.9], [0.01, 0.015, 0.02, 0.04, 0.06, 0.08])
    >>> type(tf).__name__, tf.k0, tf.fit.k, tf.fill.tolist()
    ('TrimfillResult', 2, 8, [False, False, False, False, False, False, True, True])
    """

    k0: int
    se_k0: float
    side: str
    fit: MetaResult
    original: MetaResult = field(repr=False)
    yi: _Array = field(compare=False, repr=False)
    vi: _Array = field(compare=False, repr=False)
    fill: _Array = field(compare=False, repr=False)
    slab: tuple[str, ...] = field(repr=False)
    iterations: int = 0
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """The observed and imputed studies: ``yi, vi, fill`` indexed by label."""
        import pandas as pd

        return pd.DataFrame(
            {"yi": self.yi, "vi": self.vi, "fill": self.fill},
            index=pd.Index(self.slab, name="slab"),
        )

    def __str__(self) -> str:
        head = (
            f"Estimated number of missing studies on the {self.side} side: {self.k0} "
            f"(SE = {_fmt(self.se_k0)})"
        )
        notes = "".join(f"\nNote: {n}" for n in self.notes)
        return head + notes + "\n\n" + str(self.fit)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(str(self))}</pre>"


@dataclass(frozen=True)
class SubgroupResult:
    """Subgroup analysis with the test for subgroup differences computed two ways.

    Attributes
    ----------
    groups
        Group labels in sorted order (the factor levels; the first is the reference
        of the meta-regression).
    fits
        Read-only mapping label → :class:`MetaResult` of the separate per-group fits
        (each with its own τ²).
    between
        Equal-effects fit to the subgroup estimates with their standard errors; its
        ``QE`` is the test for subgroup differences (way a).
    Qb, Qb_df, Qb_p
        That test: Q-between, ``df = G − 1`` and its χ² p-value.
    mixed
        Mixed-effects meta-regression with the group as a factor and a common τ²
        (way b); ``QM, QMdf, QMp`` are its omnibus test of the group dummies (F under
        knha).

    Examples
    --------
    >>> from synthesis.stats import subgroup
    >>> sg = subgroup([0.10, 0.30, 0.35, 0.65, 0.45, 0.15],
    ...               [0.010, 0.020, 0.015, 0.030, 0.025, 0.012], ["a", "a", "a", "b", "b", "b"])
    >>> type(sg).__name__, sg.groups, round(sg.Qb, 4), sg.Qb_df
    ('SubgroupResult', ('a', 'b'), 0.8532, 1)
    >>> round(sg.mixed.QM, 4), round(sg.mixed.QMp, 4)  # the common-tau^2 way
    (0.704, 0.4015)
    """

    groups: tuple[str, ...]
    fits: Mapping[str, MetaResult] = field(compare=False)
    between: MetaResult
    Qb: float
    Qb_df: int
    Qb_p: float
    mixed: MetaResult
    QM: float
    QMdf: tuple[int, int | None]
    QMp: float

    def to_frame(self) -> pd.DataFrame:
        """One row per subgroup (``k, estimate, se, ci_lb, ci_ub, tau2, I2, QE, QEp``)."""
        import pandas as pd

        cols = ("k", "estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "tau2", "I2", "QE", "QEp")
        return pd.DataFrame(
            [{c: getattr(self.fits[g], c) for c in cols} for g in self.groups],
            index=pd.Index(self.groups, name="group"),
        )

    def __str__(self) -> str:
        table = self.to_frame().to_string(float_format=lambda x: f"{x:.4f}")
        mixed = (
            f"F(df1 = {self.QMdf[0]}, df2 = {self.QMdf[1]})"
            if self.QMdf[1] is not None
            else f"QM(df = {self.QMdf[0]})"
        )
        return "\n".join(
            [
                "Subgroup analyses (separate tau^2 per subgroup)",
                "",
                table,
                "",
                "Test for Subgroup Differences (separate tau^2): "
                f"Q(df = {self.Qb_df}) = {_fmt(self.Qb)}, p-val {_p_eq(self.Qb_p)}",
                f"Test of Moderators (common tau^2): {mixed} = {_fmt(self.QM)}, "
                f"p-val {_p_eq(self.QMp)}",
            ]
        )

    def _repr_html_(self) -> str:
        tests = html.escape(str(self).split("\n\n")[-1]).replace("\n", "<br>")
        return (
            f"<div>{self.to_frame().to_html(float_format=lambda x: f'{x:.4f}')}<p>{tests}</p></div>"
        )


class _TableResult:
    """A result that is a table: printed, shown and exported as its frame."""

    def to_frame(self) -> pd.DataFrame:  # pragma: no cover - overridden
        raise NotImplementedError

    def __str__(self) -> str:
        return str(self.to_frame().to_string(float_format=lambda x: f"{x:.4f}"))

    def _repr_html_(self) -> str:
        return str(self.to_frame().to_html(float_format=lambda x: f"{x:.4f}"))


@dataclass(frozen=True, eq=False)
class InfluenceResult(_TableResult):
    """Case diagnostics of every study, as metafor's ``influence()``.

    Columns of :meth:`to_frame`: ``rstudent`` (externally studentized residual),
    ``dffits``, ``cook.d`` (Cook's distance), ``cov.r`` (covariance ratio),
    ``tau2.del`` and ``QE.del`` (τ² and QE without the study), ``hat`` (leverage),
    ``weight`` (in %), ``dfbs`` (DFBETAS, one column per coefficient) and ``inf``
    (``"*"`` for a study influential by metafor's criteria).

    Examples
    --------
    >>> from synthesis.stats import influence, rma
    >>> fit = rma([0.10, 0.30, 0.35, 0.65, 0.45, 0.15],
    ...           [0.010, 0.020, 0.015, 0.030, 0.025, 0.012], slab=list("ABCDEF"))
    >>> inf = influence(fit)
    >>> type(inf).__name__
    'InfluenceResult'
    >>> inf.to_frame()[["rstudent", "cook.d", "hat", "inf"]].round(4).loc[["A", "D"]]
          rstudent  cook.d     hat inf
    slab
    A      -1.4688  0.3911  0.2092
    D       2.0522  0.5942  0.1237   *
    """

    frame: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """The diagnostics, one row per study (a copy)."""
        return self.frame.copy()


@dataclass(frozen=True, eq=False)
class PredictResult(_TableResult):
    """Predicted (pooled) value with CI and prediction interval, as metafor's ``predict``.

    With ``transf`` the values are on the transformed scale (bounds sorted) and ``se``
    is NaN, as metafor.

    Examples
    --------
    >>> from synthesis.stats import predict, rma
    >>> fit = rma([0.10, 0.30, 0.35, 0.65, 0.45, 0.15],
    ...           [0.010, 0.020, 0.015, 0.030, 0.025, 0.012], slab=list("ABCDEF"))
    >>> print(predict(fit))  # as metafor's predict(fit)
        pred     se  ci.lb  ci.ub   pi.lb  pi.ub
    0 0.3017 0.0778 0.1492 0.4541 -0.0080 0.6114
    """

    pred: float
    se: float
    ci_lb: float
    ci_ub: float
    pi_lb: float
    pi_ub: float
    level: float

    def to_frame(self) -> pd.DataFrame:
        """One row ``pred, se, ci.lb, ci.ub, pi.lb, pi.ub``."""
        import pandas as pd

        return pd.DataFrame(
            [[self.pred, self.se, self.ci_lb, self.ci_ub, self.pi_lb, self.pi_ub]],
            columns=["pred", "se", "ci.lb", "ci.ub", "pi.lb", "pi.ub"],
        )


@dataclass(frozen=True, eq=False)
class ConfintResult(_TableResult):
    """Confidence intervals of τ², τ, I² and H², as metafor's ``confint``.

    Examples
    --------
    >>> from synthesis.stats import confint, rma
    >>> fit = rma([0.10, 0.30, 0.35, 0.65, 0.45, 0.15],
    ...           [0.010, 0.020, 0.015, 0.030, 0.025, 0.012], slab=list("ABCDEF"))
    >>> ci = confint(fit)
    >>> ci.to_frame().round(4).loc[["tau^2", "tau"]]
           estimate  ci.lb   ci.ub
    tau^2    0.0189    0.0  0.2235
    tau      0.1376    0.0  0.4728
    """

    frame: pd.DataFrame = field(repr=False)
    level: float = 95.0
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """Rows ``tau^2, tau, I^2(%), H^2``; columns ``estimate, ci.lb, ci.ub``."""
        return self.frame.copy()

    def __str__(self) -> str:
        text = "\n" + super().__str__()
        return text + "".join(f"\nNote: {n}" for n in self.notes)
