"""Forest, funnel and risk-of-bias plots (matplotlib), rendered as deterministic SVG.

Every function returns a :class:`SvgFigure`: notebooks display it as inline SVG, and the
same inputs always give byte-identical SVG (fixed ``svg.hashsalt``, no date metadata,
text as SVG text), so two builds of a report are identical.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from synthesis.errors import UserInputError
from synthesis.stats.results import MetaResult
from synthesis.vocabulary import NULL_VALUES, PROPORTION_MEASURES

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from synthesis.analysis import OutcomeAnalysis
    from synthesis.evidence import EvidenceBase

_RC: Any = {"svg.hashsalt": "synthesis", "svg.fonttype": "none", "font.size": 9}

#: Colours of risk-of-bias judgements (colour-blind-safe, as in robvis).
ROB_COLOURS = {
    "low": "#02C100",
    "some concerns": "#E2DF07",
    "moderate": "#E2DF07",
    "serious": "#BF0000",
    "high": "#BF0000",
    "critical": "#820000",
    "unclear": "#4EA1F7",
    "not assessed": "#BBBBBB",
}


class SvgFigure:
    """A matplotlib figure shown as SVG; ``svg()`` gives the same bytes for the same figure."""

    def __init__(self, figure: Figure, title: str = "") -> None:
        self.figure = figure
        self.title = title
        self._svg: str | None = None

    def svg(self) -> str:
        """The figure as an SVG document (rendered once, then cached)."""
        if self._svg is None:
            import matplotlib.pyplot as plt
            from matplotlib import rc_context

            buf = io.StringIO()
            with rc_context(_RC):
                self.figure.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches="tight")
            plt.close(self.figure)
            text = buf.getvalue()
            self._svg = text[text.index("<svg") :]
        return self._svg

    def _repr_svg_(self) -> str:
        return self.svg()


def _new_figure(width: float, height: float) -> Figure:
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    with rc_context(_RC):
        return Figure(figsize=(width, height))


def _fmt(x: float, measure: str) -> str:
    if not math.isfinite(x):
        return "NA"
    if measure in PROPORTION_MEASURES:
        return f"{100 * x:.0f}%"
    return f"{x:.2f}"


def forest(
    x: OutcomeAnalysis | MetaResult, *, transf: Callable[[float], float] | None = None
) -> SvgFigure:
    """Forest plot: each study's estimate and CI, its weight, the pooled diamond and the
    prediction interval.

    ``x`` is any fitted model (:func:`synthesis.stats.rma`; study CIs ``yᵢ ± z√vᵢ`` at
    the model's level, on the analysis scale or mapped by ``transf``, e.g.
    ``numpy.exp``, as metafor's ``forest(res, atransf=exp)``), or an evidence-base
    outcome analysis (natural scale; excluded studies below in grey).

    Examples
    --------
    >>> from synthesis import forest, rma
    >>> fig = forest(rma([0.1, 0.3, 0.35], [0.01, 0.02, 0.015], slab=["A", "B", "C"]))
    >>> fig.svg().startswith("<svg")
    True
    """
    if isinstance(x, MetaResult):
        return _forest_fit(x, transf)
    if transf is not None:
        raise UserInputError(
            "forest: transf= is for rma results; analyses are on their natural scale."
        )
    return _forest_analysis(x)


def _forest_fit(fit: MetaResult, transf: Callable[[float], float] | None) -> SvgFigure:
    from matplotlib import rc_context
    from scipy.special import ndtri

    def f(v: float) -> float:
        return float(transf(v)) if transf is not None and math.isfinite(v) else v

    z = float(-ndtri((1 - fit.level / 100) / 2))
    rows = []
    for label, yv, v, w in zip(fit.slab, fit.yi, fit.vi, fit.weights, strict=True):
        lo, hi = sorted((f(yv - z * math.sqrt(v)), f(yv + z * math.sqrt(v))))
        rows.append((label, f(yv), lo, hi, w))
    n_rows = len(rows) + 2
    fig = _new_figure(8.0, 1.2 + 0.32 * max(n_rows, 2))
    with rc_context(_RC):
        ax = fig.add_subplot(1, 1, 1)
        trans = ax.get_yaxis_transform()
        y = float(n_rows)
        wmax = max(max(r[4] for r in rows), 1e-12)
        for label, est, lo, hi, w in rows:
            y -= 1
            ax.plot([lo, hi], [y, y], color="black", lw=1)
            ax.scatter([est], [y], s=40 + 160 * w / wmax, marker="s", color="#1f4e79", zorder=3)
            ax.text(-0.02, y, label, transform=trans, ha="right", va="center")
            ax.text(1.02, y, f"{est:.2f} [{lo:.2f}, {hi:.2f}]", transform=trans, va="center")
            ax.text(1.55, y, f"{w:.1f}%", transform=trans, ha="right", va="center")
        y -= 1.5
        est = f(fit.estimate)
        lo, hi = sorted((f(fit.ci_lb), f(fit.ci_ub)))
        ax.fill([lo, est, hi, est], [y, y + 0.3, y, y - 0.3], color="#c00000", zorder=3)
        name = "EE Model" if fit.method == "EE" else f"RE Model ({fit.method})"
        ax.text(-0.02, y, name, transform=trans, ha="right", va="center")
        ax.text(1.02, y, f"{est:.2f} [{lo:.2f}, {hi:.2f}]", transform=trans, va="center")
        if math.isfinite(fit.pi_lb):
            plo, phi = sorted((f(fit.pi_lb), f(fit.pi_ub)))
            ax.plot([plo, phi], [y - 0.45, y - 0.45], color="#c00000", lw=1, ls="--")
        if transf is None:
            ax.axvline(0.0, color="#666666", lw=0.8, ls=":")
        ax.set_ylim(y - 1, n_rows + 0.5)
        ax.set_yticks([])
        for side in ("left", "right", "top"):
            ax.spines[side].set_visible(False)
        ax.set_xlabel(fit.measure or "Observed outcome")
        fig.subplots_adjust(left=0.30, right=0.62)
    return SvgFigure(fig, "Forest plot")


def _forest_analysis(analysis: OutcomeAnalysis) -> SvgFigure:
    from matplotlib import rc_context

    table = analysis.study_table()
    shown = table[table["estimate"].notna()]
    pooled = shown[shown.status == "pooled"]
    other = shown[shown.status != "pooled"]
    nat = analysis.natural()
    n_rows = len(pooled) + len(other) + (2 if nat else 0) + (1 if len(other) else 0)
    fig = _new_figure(9.0, 1.2 + 0.32 * max(n_rows, 2))
    with rc_context(_RC):
        ax = fig.add_subplot(1, 1, 1)
        y: float = n_rows
        labels: list[tuple[float, str, str, str]] = []
        wmax = max(pooled["weight"].max(), 1.0) if len(pooled) and nat else 1.0
        for r in pooled.itertuples():
            y -= 1
            size = 40 + 160 * (r.weight / wmax if math.isfinite(r.weight) else 0.3)
            ax.plot([r.ci_lb, r.ci_ub], [y, y], color="black", lw=1)
            ax.scatter([r.estimate], [y], s=size, marker="s", color="#1f4e79", zorder=3)
            weight = f"{r.weight:.1f}%" if math.isfinite(r.weight) else ""
            labels.append(
                (
                    y,
                    r.label,
                    f"{_fmt(r.estimate, analysis.measure)} "
                    f"[{_fmt(r.ci_lb, analysis.measure)}, "
                    f"{_fmt(r.ci_ub, analysis.measure)}]",
                    weight,
                )
            )
        if nat is not None:
            y -= 1.5
            xs = [nat.ci_lb, nat.estimate, nat.ci_ub, nat.estimate]
            ys = [y, y + 0.3, y, y - 0.3]
            ax.fill(xs, ys, color="#c00000", zorder=3)
            if math.isfinite(nat.pi_lb):
                ax.plot(
                    [nat.pi_lb, nat.pi_ub], [y - 0.45, y - 0.45], color="#c00000", lw=1, ls="--"
                )
            fit = analysis.fit
            assert fit is not None
            labels.append(
                (
                    y,
                    f"Pooled ({fit.method}, {fit.test}; k = {fit.k}, n = {analysis.participants})",
                    f"{_fmt(nat.estimate, analysis.measure)} "
                    f"[{_fmt(nat.ci_lb, analysis.measure)}, "
                    f"{_fmt(nat.ci_ub, analysis.measure)}]",
                    "100%",
                )
            )
            if math.isfinite(nat.pi_lb):
                labels.append(
                    (
                        y - 0.45,
                        "  prediction interval",
                        f"[{_fmt(nat.pi_lb, analysis.measure)}, "
                        f"{_fmt(nat.pi_ub, analysis.measure)}]",
                        "",
                    )
                )
        if len(other):
            y -= 1
            labels.append((y, "Not pooled:", "", ""))
            for r in other.itertuples():
                y -= 1
                ax.plot([r.ci_lb, r.ci_ub], [y, y], color="#999999", lw=1)
                ax.scatter(
                    [r.estimate],
                    [y],
                    s=40,
                    marker="s",
                    facecolors="white",
                    edgecolors="#999999",
                    zorder=3,
                )
                labels.append(
                    (
                        y,
                        f"{r.label} ({r.status})",
                        f"{_fmt(r.estimate, analysis.measure)} "
                        f"[{_fmt(r.ci_lb, analysis.measure)}, "
                        f"{_fmt(r.ci_ub, analysis.measure)}]",
                        "",
                    )
                )
        null = NULL_VALUES.get(analysis.measure)
        if null is not None:
            ax.axvline(null, color="#666666", lw=0.8, ls=":")
        if analysis.measure in ("OR", "RR"):
            ax.set_xscale("log")
        ax.set_ylim(y - 1, n_rows + 0.5)
        ax.set_yticks([])
        for side in ("left", "right", "top"):
            ax.spines[side].set_visible(False)
        ax.set_xlabel(analysis.natural_name)
        trans = ax.get_yaxis_transform()
        for yy, label, text, weight in labels:
            ax.text(-0.02, yy, label, transform=trans, ha="right", va="center")
            ax.text(1.02, yy, text, transform=trans, ha="left", va="center")
            ax.text(1.75, yy, weight, transform=trans, ha="right", va="center")
        ax.text(
            1.02,
            n_rows + 0.3,
            f"Estimate [{analysis.settings.level:g}% CI]",
            transform=trans,
            ha="left",
            va="bottom",
            weight="bold",
        )
        ax.text(
            1.75, n_rows + 0.3, "Weight", transform=trans, ha="right", va="bottom", weight="bold"
        )
        ax.set_title(analysis.outcome.name, loc="left", fontsize=10, pad=18)
        fig.subplots_adjust(left=0.30, right=0.60)
    return SvgFigure(fig, f"Forest plot: {analysis.outcome.name}")


def funnel(x: OutcomeAnalysis | MetaResult) -> SvgFigure | None:
    """Funnel plot: effect against standard error with the pseudo-confidence region.

    ``x`` is any fitted model (:func:`synthesis.stats.rma`) or an evidence-base outcome
    analysis (None when it was not pooled).

    Examples
    --------
    >>> from synthesis import funnel, rma
    >>> funnel(rma([0.1, 0.3, 0.35], [0.01, 0.02, 0.015])).svg().startswith("<svg")
    True
    """
    import numpy as np
    from matplotlib import rc_context
    from scipy.stats import norm

    fit = x if isinstance(x, MetaResult) else x.fit
    if fit is None:
        return None
    level = fit.level
    title = "Funnel plot" if isinstance(x, MetaResult) else f"Funnel plot: {x.outcome.name}"
    fig = _new_figure(5.0, 4.0)
    with rc_context(_RC):
        ax = fig.add_subplot(1, 1, 1)
        se = np.sqrt(np.asarray(fit.vi))
        top = float(se.max()) * 1.1
        z = norm.ppf(0.5 + level / 200)
        grid = np.linspace(0, top, 50)
        ax.fill_betweenx(grid, fit.estimate - z * grid, fit.estimate + z * grid, color="#eeeeee")
        ax.axvline(fit.estimate, color="#666666", lw=0.8)
        ax.scatter(fit.yi, se, color="black", s=20, zorder=3)
        ax.set_ylim(top, 0)
        ax.set_xlabel(f"{fit.measure or 'effect'} (analysis scale)")
        ax.set_ylabel("standard error")
        ax.set_title(title, loc="left", fontsize=10)
    return SvgFigure(fig, "Funnel plot")


def rob_summary(base: EvidenceBase, study_ids: list[str]) -> SvgFigure:
    """Traffic-light plot of each study's risk-of-bias domains and overall judgement."""
    from matplotlib import rc_context

    studies = [base.studies[s] for s in dict.fromkeys(study_ids)]
    n_dom = max((len(s.risk_of_bias.domains) if s.risk_of_bias else 0) for s in studies)
    n_dom = max(n_dom, 1)
    fig = _new_figure(2.6 + 0.45 * (n_dom + 1), 0.8 + 0.34 * max(len(studies), 1))
    domain_map = {
        "yes": "low",
        "no": "high",
        "partial yes": "moderate",
        "no information": "unclear",
        "not applicable": "not assessed",
    }
    with rc_context(_RC):
        ax = fig.add_subplot(1, 1, 1)
        for i, s in enumerate(studies):
            yy = len(studies) - 1 - i
            rob = s.risk_of_bias
            label = s.label or s.id
            ax.text(
                -0.6,
                yy,
                f"{label} ({rob.tool if rob else 'not assessed'})",
                ha="right",
                va="center",
            )
            domains = rob.domains if rob else []
            for j in range(n_dom):
                if j < len(domains):
                    key = domain_map.get(domains[j].judgement, domains[j].judgement)
                    ax.scatter([j], [yy], s=120, color=ROB_COLOURS.get(key, "#BBBBBB"))
            overall = rob.overall if rob else "not assessed"
            ax.scatter(
                [n_dom + 0.5], [yy], s=160, marker="s", color=ROB_COLOURS.get(overall, "#BBBBBB")
            )
        ax.set_xticks([*range(n_dom), n_dom + 0.5])
        ax.set_xticklabels([f"D{j + 1}" for j in range(n_dom)] + ["Overall"])
        ax.set_yticks([])
        ax.set_xlim(-0.7, n_dom + 1.2)
        ax.set_ylim(-0.7, len(studies) - 0.3)
        for side in ("left", "right", "top", "bottom"):
            ax.spines[side].set_visible(False)
        ax.set_title(
            "Risk of bias by domain (D1, D2, ... in each tool's order)", loc="left", fontsize=9
        )
        ax.text(
            0,
            -0.12,
            "green: low / yes   yellow: moderate, some concerns   red: serious, "
            "high / no   blue: unclear, no information",
            transform=ax.transAxes,
            fontsize=7,
            va="top",
        )
        fig.subplots_adjust(left=0.55)
    return SvgFigure(fig, "Risk of bias")
