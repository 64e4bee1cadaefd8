"""Forest, funnel and risk-of-bias plots (matplotlib), rendered as deterministic SVG.

Every function returns a :class:`SvgFigure`: notebooks display it as inline SVG, and the
same inputs always give byte-identical SVG (fixed ``svg.hashsalt``, no date metadata,
text as SVG text), so two builds of a report are identical.

matplotlib is slow to import, so it is imported inside the functions that draw:
``import synthesis`` and the command line do not load it until a figure is made.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from synthesis.errors import UserInputError
from synthesis.stats.results import MetaResult
from synthesis.stats.swim import ALBATROSS_DESIGNS, albatross_n
from synthesis.vocabulary import NULL_VALUES, PROPORTION_MEASURES

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from synthesis.analysis import OutcomeAnalysis
    from synthesis.evidence import EvidenceBase
    from synthesis.swim_outcomes import OutcomeSwim

_RC: Any = {"svg.hashsalt": "synthesis", "svg.fonttype": "none", "font.size": 9}

#: Risk-of-bias levels (worst first) with robvis's colour-blind palette [mcguinness2021robvis]_
#: and a symbol, so no judgement is told by colour alone.
ROB_LEVELS = {
    "critical": ("#993404", "!"),
    "high": ("#d95f0e", "×"),
    "some concerns": ("#fe9929", "−"),
    "low": ("#fed98e", "+"),
    "unclear": ("#ffffff", "?"),
    "not applicable": ("#cccccc", ""),
}
#: Legend names of the levels: each tool's words that map to a level.
ROB_LEVEL_NAMES = {
    "critical": "critical",
    "high": "high / serious / no",
    "some concerns": "some concerns / moderate / partly",
    "low": "low / yes",
    "unclear": "unclear / no information",
    "not applicable": "not applicable",
}
#: A judgement (any tool's wording, lower case) -> its level.
ROB_JUDGEMENTS = {
    "low": "low", "yes": "low",
    "some concerns": "some concerns", "moderate": "some concerns",
    "partial yes": "some concerns", "partly": "some concerns",
    "serious": "high", "high": "high", "no": "high",
    "critical": "critical",
    "unclear": "unclear", "no information": "unclear", "not assessed": "unclear",
    "not applicable": "not applicable",
}  # fmt: skip
#: Colours of risk-of-bias judgements (kept for callers of the earlier palette).
ROB_COLOURS = {j: ROB_LEVELS[level][0] for j, level in ROB_JUDGEMENTS.items()}


class SvgFigure:
    """A matplotlib figure shown as SVG; ``svg()`` gives the same bytes for the same figure."""

    def __init__(self, figure: Figure, title: str = "", description: str = "") -> None:
        self.figure = figure
        self.title = title
        #: text alternative: what the figure shows, for readers who cannot see it
        self.description = description
        self.alt = description
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
            self._svg = _label_svg(text[text.index("<svg") :], self.title, self.description)
        return self._svg

    def _repr_svg_(self) -> str:
        return self.svg()


def _label_svg(svg: str, title: str, description: str) -> str:
    """Give the SVG an accessible name and description: ``role="img"`` with
    ``aria-label``, and ``<title>`` and ``<desc>`` as its first children."""
    from html import escape

    # matplotlib numbers its groups text_1, patch_2 ... in every figure: on a page with
    # several figures the ids would repeat, so groups lose them (nothing refers to them)
    svg = re.sub(r'<g id="[^"]*"', "<g", svg)
    end = svg.index(">")
    head, rest = svg[:end], svg[end + 1 :]
    attrs = f' role="img" aria-label="{escape(title or "Figure")}"'
    children = f"<title>{escape(title or 'Figure')}</title>"
    if description:  # an SVG's <desc> is its accessible description
        children += f"<desc>{escape(description)}</desc>"
    return f"{head}{attrs}>{children}{rest}"


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


#: Measures that compare two groups (their "favours" labels name the groups).
_COMPARISONS = ("SMD", "MD", "OR", "RR", "RD")


def favours_labels(analysis: OutcomeAnalysis) -> tuple[str, str]:
    """Labels under the left and right ends of the x axis, from the outcome's direction.

    Two-group comparisons say which group a side favours; before-after changes say
    improvement or worsening; correlations and proportions say better or worse.
    """
    direction = analysis.outcome.direction
    if direction not in ("higher is better", "lower is better"):
        return ("lower", "higher")
    low_good = direction == "lower is better"
    if analysis.measure in _COMPARISONS:
        good, bad = "favours intervention", "favours comparator"
    elif analysis.measure in ("SMCC", "SMCR"):
        good, bad = "improvement", "worsening"
    else:
        good, bad = "better", "worse"
    left, right = (good, bad) if low_good else (bad, good)
    return (f"← {left}", f"{right} →")


def _p(p: float) -> str:
    if not math.isfinite(p):
        return "p not available"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}" if p < 0.01 else f"p = {p:.2f}"


def heterogeneity_text(analysis: OutcomeAnalysis, *, plain: bool = False) -> tuple[str, str]:
    """The heterogeneity line and the overall-effect line printed under a forest plot's
    diamond, as RevMan prints them (``plain``: without statistical symbols for τ²)."""
    fit = analysis.fit
    if fit is None:
        return ("", "")
    df = fit.k - 1
    tau2 = f"between-study variance {fit.tau2:.3g}" if plain else f"τ² = {fit.tau2:.3g}"
    het = f"Heterogeneity: {tau2}; I² = {fit.I2:.0f}%; Q = {fit.QE:.2f} ({df} df), {_p(fit.QEp)}"
    if fit.test == "knha" and fit.df is not None:
        stat = f"t = {fit.zval:.2f} ({fit.df} df)"
    else:
        stat = f"z = {fit.zval:.2f}"
    return het, f"Test for overall effect: {stat}, {_p(fit.pval)}"


def forest_description(analysis: OutcomeAnalysis) -> str:
    """A text alternative of the forest plot, built from the same numbers."""
    table = analysis.study_table()
    shown = table[table["estimate"].notna()]
    m = analysis.measure
    level = f"{analysis.settings.level:g}%"
    parts = [f"Forest plot of {analysis.outcome.name} ({analysis.natural_name})."]
    for r in shown.itertuples():
        if r.status != "pooled":
            what = f"not pooled ({r.status}: {r.reason})"
        else:
            what = "pooled" if analysis.fit is not None else "shown on its own, not pooled"
        weight = f", weight {r.weight:.1f}%" if math.isfinite(r.weight) else ""
        parts.append(
            f"{r.label}: {_fmt(r.estimate, m)} ({level} CI {_fmt(r.ci_lb, m)} to "
            f"{_fmt(r.ci_ub, m)}){weight}, {what}."
        )
    nat = analysis.natural()
    if nat is not None:
        het, overall = heterogeneity_text(analysis, plain=True)
        parts.append(
            f"Pooled estimate of {analysis.k} studies: {_fmt(nat.estimate, m)} ({level} CI "
            f"{_fmt(nat.ci_lb, m)} to {_fmt(nat.ci_ub, m)})"
            + (
                f", prediction interval {_fmt(nat.pi_lb, m)} to {_fmt(nat.pi_ub, m)}"
                if math.isfinite(nat.pi_lb)
                else ""
            )
            + f". {het}. {overall}."
        )
    else:
        parts.append(f"No pooled estimate: {analysis.reason}.")
    left, right = favours_labels(analysis)
    parts.append(f"Left of the line of no effect: {left.strip('← ')}; right: {right.strip(' →')}.")
    return " ".join(parts)


def _wrap_lines(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width) or [""]


def _forest_label(label: str, from_p: bool) -> str:
    """A study's forest-plot label; effect sizes derived from a p value say so."""
    return f"{label} (derived from p)" if from_p else label


def forest(
    x: OutcomeAnalysis | MetaResult,
    *,
    transf: Callable[[float], float] | None = None,
    plain: bool = False,
) -> SvgFigure:
    """Forest plot: each study's estimate and CI, its weight, the pooled diamond and the
    prediction interval.

    ``x`` is any fitted model (:func:`synthesis.stats.rma`; study CIs ``yᵢ ± z√vᵢ`` at
    the model's level, on the analysis scale or mapped by ``transf``, e.g.
    ``numpy.exp``, as metafor's ``forest(res, atransf=exp)``), or an evidence-base
    outcome analysis (natural scale; excluded studies below in grey with the reason,
    "favours" labels from the outcome's direction, heterogeneity and the overall test
    under the plot; ``plain`` words them for readers without statistical training).

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
    return _forest_analysis(x, plain=plain)


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


def _forest_analysis(analysis: OutcomeAnalysis, *, plain: bool = False) -> SvgFigure:
    """Forest plot: each study's estimate and CI on the natural scale, its weight, the
    pooled diamond with the prediction interval, heterogeneity and the overall test under
    it; studies not pooled below in grey with the reason. ``plain`` words the pooled row
    and the heterogeneity line for readers without statistical training."""
    from matplotlib import rc_context

    table = analysis.study_table()
    shown = table[table["estimate"].notna()]
    pooled = shown[shown.status == "pooled"]
    other = shown[shown.status != "pooled"]
    nat = analysis.natural()
    m = analysis.measure
    reasons = {r.Index: _wrap_lines(f"{r.status}: {r.reason}", 48) for r in other.itertuples()}
    n_rows = (
        len(pooled)
        + (2.5 if nat else 0)
        + (1 + sum(1 + 0.6 * (len(v) - 1) for v in reasons.values()) if len(other) else 0)
    )
    fig = _new_figure(9.0, 1.5 + 0.3 * max(n_rows, 2))
    with rc_context(_RC):
        ax = fig.add_subplot(1, 1, 1)
        y: float = n_rows
        labels: list[tuple[float, str, str, str, dict[str, Any]]] = []
        wmax = max(pooled["weight"].max(), 1.0) if len(pooled) and nat else 1.0
        for r in pooled.itertuples():
            y -= 1
            size = 40 + 160 * (r.weight / wmax if math.isfinite(r.weight) else 0.3)
            ax.plot([r.ci_lb, r.ci_ub], [y, y], color="black", lw=1)
            ax.scatter([r.estimate], [y], s=size, marker="s", color="#1f4e79", zorder=3)
            weight = f"{r.weight:.1f}%" if math.isfinite(r.weight) else ""
            ci = f"{_fmt(r.estimate, m)} [{_fmt(r.ci_lb, m)}, {_fmt(r.ci_ub, m)}]"
            labels.append((y, _forest_label(r.label, r.from_p), ci, weight, {}))
        if nat is not None:
            y -= 1.5
            xs = [nat.ci_lb, nat.estimate, nat.ci_ub, nat.estimate]
            ys = [y, y + 0.3, y, y - 0.3]
            ax.fill(xs, ys, color="#9e1b32", zorder=3)
            if math.isfinite(nat.pi_lb):
                ax.plot([nat.pi_lb, nat.pi_ub], [y - 0.5, y - 0.5], color="#9e1b32", lw=1, ls="--")
            fit = analysis.fit
            assert fit is not None
            name = (
                f"Pooled estimate ({fit.k} studies, {analysis.participants} participants)"
                if plain
                else f"Pooled ({fit.method}, {fit.test}; k = {fit.k}, n = {analysis.participants})"
            )
            ci = f"{_fmt(nat.estimate, m)} [{_fmt(nat.ci_lb, m)}, {_fmt(nat.ci_ub, m)}]"
            labels.append((y, name, ci, "100%", {"weight": "bold"}))
            if math.isfinite(nat.pi_lb):
                pi = f"[{_fmt(nat.pi_lb, m)}, {_fmt(nat.pi_ub, m)}]"
                labels.append((y - 0.5, "Prediction interval", pi, "", {"style": "italic"}))
        if len(other):
            y -= 1.2
            labels.append((y, "Not pooled:", "", "", {"weight": "bold"}))
            for r in other.itertuples():
                y -= 1
                ax.plot([r.ci_lb, r.ci_ub], [y, y], color="#8c8c8c", lw=1)
                ax.scatter(
                    [r.estimate], [y], s=40, marker="s", facecolors="white",
                    edgecolors="#6e6e6e", zorder=3,
                )  # fmt: skip
                ci = f"{_fmt(r.estimate, m)} [{_fmt(r.ci_lb, m)}, {_fmt(r.ci_ub, m)}]"
                labels.append((y, _forest_label(r.label, r.from_p), ci, "", {"color": "#595959"}))
                note = {"size": 7.5, "color": "#595959", "style": "italic", "align": "right"}
                for i, line in enumerate(reasons[r.Index]):
                    y -= 0.45 if i == 0 else 0.6
                    labels.append((y, line, "", "", note))
                y -= 0.3
        null = NULL_VALUES.get(m)
        if null is not None:
            ax.axvline(null, color="#666666", lw=0.8, ls=":")
        if m in ("OR", "RR"):
            ax.set_xscale("log")
        ax.set_ylim(y - 0.8, n_rows + 0.5)
        ax.set_yticks([])
        for side in ("left", "right", "top"):
            ax.spines[side].set_visible(False)
        left, right = favours_labels(analysis)
        ax.set_xlabel(analysis.natural_name if not plain else analysis.natural_name.split(" (")[0])
        below: dict[str, Any] = {
            "xycoords": "axes fraction",
            "textcoords": "offset points",
            "va": "top",
        }
        ax.annotate(left, (0.0, 0.0), xytext=(0, -32), ha="left", fontsize=8, **below)
        ax.annotate(right, (1.0, 0.0), xytext=(0, -32), ha="right", fontsize=8, **below)
        if nat is not None:  # under the plot, as RevMan prints them
            het, overall = heterogeneity_text(analysis, plain=plain)
            for i, line in enumerate((het, overall)):
                ax.annotate(line, (-0.62, 0.0), xytext=(0, -48 - 12 * i), ha="left", fontsize=8,
                            **below)  # fmt: skip
        trans = ax.get_yaxis_transform()
        for yy, label, text, weight, style in labels:
            kw = {k: v for k, v in style.items() if k in ("weight", "color", "style", "size")}
            if style.get("align") == "right":  # a note in the right-hand columns
                ax.text(1.02, yy, label, transform=trans, ha="left", va="center", **kw)
                continue
            ax.text(-0.02, yy, label, transform=trans, ha="right", va="center", **kw)
            ax.text(1.02, yy, text, transform=trans, ha="left", va="center", **kw)
            ax.text(1.75, yy, weight, transform=trans, ha="right", va="center", **kw)
        ax.text(-0.02, n_rows + 0.3, "Study", transform=trans, ha="right", va="bottom",
                weight="bold")  # fmt: skip
        ax.text(
            1.02, n_rows + 0.3, f"Estimate [{analysis.settings.level:g}% CI]",
            transform=trans, ha="left", va="bottom", weight="bold",
        )  # fmt: skip
        ax.text(
            1.75, n_rows + 0.3, "Weight", transform=trans, ha="right", va="bottom", weight="bold"
        )
        fig.subplots_adjust(left=0.30, right=0.60)
    title = f"Forest plot: {analysis.outcome.name}"
    return SvgFigure(fig, title, forest_description(analysis))


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


def rob_level(judgement: str) -> str:
    """The level of a judgement in any tool's words ('partial yes' -> 'some concerns')."""
    return ROB_JUDGEMENTS.get(judgement.strip().lower(), "unclear")


def _rob_cell(ax: Axes, x: float, y: float, level: str, size: float = 150) -> None:
    colour, symbol = ROB_LEVELS[level]
    ax.scatter([x], [y], s=size, color=colour, edgecolors="#444444", linewidths=0.6, zorder=3)
    if symbol:
        ax.text(x, y, symbol, ha="center", va="center", fontsize=8, weight="bold",
                color="#000000" if level in ("low", "some concerns", "unclear") else "#ffffff",
                zorder=4)  # fmt: skip


def rob_summary(base: EvidenceBase, study_ids: list[str]) -> SvgFigure:
    """Risk of bias as robvis draws it [mcguinness2021robvis]_: a traffic-light panel per
    tool (each with its own domains D1, D2, ... and the overall judgement), then a summary
    bar per tool: the share of studies at each level in each domain. Every judgement has
    a colour from robvis's colour-blind palette and a symbol; the legend lists every level."""
    from matplotlib import rc_context

    studies = [base.studies[s] for s in dict.fromkeys(study_ids)]
    by_tool: dict[str, list] = {}
    for st in studies:
        tool = st.risk_of_bias.tool if st.risk_of_bias else "not assessed"
        by_tool.setdefault(tool, []).append(st)
    tools = sorted(by_tool, key=lambda t: (t == "not assessed", t))
    n_dom = {t: max([len(s.risk_of_bias.domains) for s in by_tool[t] if s.risk_of_bias] or [0])
             for t in tools}  # fmt: skip
    rows = sum(len(by_tool[t]) + 2.2 for t in tools)
    bars = sum(n_dom[t] + 1 + 1.6 for t in tools if n_dom[t])
    height = 1.2 + 0.28 * rows + 0.22 * bars + 0.6
    fig = _new_figure(8.0, height)
    lines: list[str] = []
    with rc_context(_RC):
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.set_xlim(0, 100)
        total = rows * 0.28 + bars * 0.22 + 1.8
        ax.set_ylim(0, total)
        ax.axis("off")
        y = total - 0.2
        ax.text(1, y, "Risk of bias of each study, by tool", weight="bold", fontsize=10, va="top")
        y -= 0.55
        x0, step = 46.0, 4.6
        for tool in tools:
            group = sorted(by_tool[tool], key=lambda s: s.label or s.id)
            k = n_dom[tool]
            y -= 0.35
            ax.text(1, y, f"{tool} ({len(group)} stud{'y' if len(group) == 1 else 'ies'})",
                    weight="bold", va="center")  # fmt: skip
            for j in range(k):
                ax.text(x0 + j * step, y, f"D{j + 1}", ha="center", va="center", fontsize=8)
            ax.text(x0 + k * step + 5, y, "Overall", ha="center", va="center", fontsize=8)
            for st in group:
                y -= 0.28
                rob = st.risk_of_bias
                ax.text(x0 - 3, y, st.label or st.id, ha="right", va="center", fontsize=8)
                if rob is None:
                    ax.text(x0, y, "not assessed", va="center", fontsize=8, style="italic")
                    lines.append(f"{st.label or st.id}: not assessed.")
                    continue
                for j, d in enumerate(rob.domains):
                    _rob_cell(ax, x0 + j * step, y, rob_level(d.judgement))
                overall = rob_level(rob.overall)
                _rob_cell(ax, x0 + k * step + 5, y, overall, 190)
                doms = "; ".join(f"D{j + 1} {d.judgement}" for j, d in enumerate(rob.domains))
                lines.append(f"{st.label or st.id} ({tool}): overall {rob.overall}; {doms}.")
            y -= 0.3
        # summary bars: share of studies at each level, per domain, per tool (robvis)
        y -= 0.3
        ax.text(1, y, "Summary: share of studies at each level", weight="bold", fontsize=10,
                va="center")  # fmt: skip
        y -= 0.2
        order = list(ROB_LEVELS)
        for tool in tools:
            k = n_dom[tool]
            if not k:
                continue
            group = [s for s in by_tool[tool] if s.risk_of_bias]
            y -= 0.4
            ax.text(1, y, tool, weight="bold", va="center")
            labels = ["Overall"] + [f"D{j + 1}" for j in range(k)]
            for label in labels:
                y -= 0.22
                if label == "Overall":
                    levels = [rob_level(s.risk_of_bias.overall) for s in group]
                else:
                    j = int(label[1:]) - 1
                    levels = [rob_level(s.risk_of_bias.domains[j].judgement)
                              for s in group if j < len(s.risk_of_bias.domains)]  # fmt: skip
                ax.text(x0 - 3, y, label, ha="right", va="center", fontsize=8,
                        weight="bold" if label == "Overall" else "normal")  # fmt: skip
                start, width = x0, 50.0
                for level in ("low", "some concerns", "high", "critical", "unclear",
                              "not applicable"):  # robvis: low on the left  # fmt: skip
                    share = levels.count(level) / len(levels) if levels else 0
                    if not share:
                        continue
                    colour, symbol = ROB_LEVELS[level]
                    ax.barh([y], [width * share], left=[start], height=0.17, color=colour,
                            edgecolor="#444444", linewidth=0.5)  # fmt: skip
                    if width * share > 4:
                        ax.text(start + width * share / 2, y, f"{symbol} {100 * share:.0f}%",
                                ha="center", va="center", fontsize=6.5,
                                color="#000000" if level in ("low", "some concerns", "unclear")
                                else "#ffffff")  # fmt: skip
                    start += width * share
                if label == "Overall":
                    counts = ", ".join(f"{levels.count(lv)} {lv}" for lv in order
                                       if levels.count(lv))  # fmt: skip
                    lines.append(f"{tool}, overall: {counts}.")
            y -= 0.1
        # legend: every level, its colour and symbol
        y -= 0.45
        x = 1.0
        for level in order:
            _rob_cell(ax, x + 1, y, level, 110)
            name = ROB_LEVEL_NAMES[level]
            ax.text(x + 2.6, y, name, va="center", fontsize=7.5)
            x += 3.6 + 1.25 * len(name)
        ax.text(1, y - 0.35, "D1, D2, ...: each tool's domains in its own order (see the table "
                "in the full report).", fontsize=7, va="center", style="italic")  # fmt: skip
    return SvgFigure(
        fig,
        "Risk of bias by study and tool, with a summary per domain",
        "Risk-of-bias judgements, one panel per tool. " + " ".join(lines),
    )


# ----------------------------------------------------------------------------- SWiM plots

#: Contour effect sizes per albatross design (Cohen's small, moderate, large).
ALBATROSS_CONTOURS = {
    "two-group": (0.2, 0.5, 0.8),
    "paired": (0.2, 0.5, 0.8),
    "correlation": (0.1, 0.3, 0.5),
}
#: Which albatross design fits a question's measure.
ALBATROSS_DESIGN_OF = {
    "SMD": "two-group",
    "MD": "two-group",
    "SMCC": "paired",
    "SMCR": "paired",
    "ZCOR": "correlation",
    "COR": "correlation",
}
_DIRECTION_COLOURS = {1: "#1f4e79", -1: "#c55a11", 0: "#7f7f7f"}
_MARKERS = ("o", "s", "D", "^", "v", "P", "X", "h", "*", "p")


#: Contour measures in readers' words (plot titles and text alternatives).
_CONTOUR_WORDS = {
    "SMD": "standardised mean difference",
    "SMCC": "standardised mean change",
    "ZCOR": "correlation",
}


def albatross_design(swims: list[OutcomeSwim]) -> str:
    """The contour design for a question: that of its most common measure (two-group SMD
    contours for outcomes such as proportions, whose studies compare two groups)."""
    from collections import Counter

    counts = Counter(ALBATROSS_DESIGN_OF.get(s.analysis.measure, "two-group") for s in swims)
    return counts.most_common(1)[0][0] if counts else "two-group"


def albatross(swims: list[OutcomeSwim], *, design: str | None = None) -> SvgFigure | None:
    """Albatross plot [harrison2017albatross]_: p value against sample size, by direction.

    Each point is one study's result (one per study and outcome, as voted): its two-sided
    p value on the horizontal axis, on a log scale that runs from p = 1 in the middle to
    small p values on the right (favours the intervention) and on the left (favours the
    comparator); its total sample size on the vertical axis (log scale). Contours show
    where results of one effect size would lie (:func:`synthesis.stats.swim.albatross_n`):
    SMD 0.2, 0.5, 0.8 for two-group designs, SMCC for before-after designs, r 0.1, 0.3,
    0.5 for correlations. A p value reported only as a bound is drawn hollow with an arrow
    towards where the true value lies. Results of no difference are drawn at p = 1.
    Returns None when no result has both a p value and a sample size.
    """
    import numpy as np
    from matplotlib import rc_context

    design = design or albatross_design(swims)
    points = []
    missing = 0
    for i, s in enumerate(swims):
        for r in s.voters:
            if math.isfinite(r.p) and math.isfinite(r.n) and r.n > 0:
                p2 = min(1.0, 2 * r.p) if r.p_sided == "one-sided" else r.p
                points.append((i, r, p2))
            else:
                missing += 1
    if not points:
        return None
    p_min = min(p for _, _, p in points)
    top = max(4.0, math.ceil(-math.log10(max(p_min, 1e-12))) + 1)
    n_values = [r.n for _, r, _ in points]
    n_lo = 10 ** math.floor(math.log10(max(min(n_values), 2)))
    n_hi = 10 ** math.ceil(math.log10(max(n_values) * 1.5))
    fig = _new_figure(7.5, 5.2)
    with rc_context(_RC):
        ax = fig.add_subplot(1, 1, 1)
        ps = np.logspace(-top, -1e-3, 300)
        for effect in ALBATROSS_CONTOURS[design]:
            ns = np.array([albatross_n(float(p), effect, design) for p in ps])
            keep = (ns >= n_lo) & (ns <= n_hi)
            for side in (1, -1):
                ax.plot(side * -np.log10(ps[keep]), ns[keep], color="#bbbbbb", lw=0.8, zorder=1)
            if keep.any():
                j = int(np.flatnonzero(keep)[0])
                ax.text(
                    -np.log10(ps[j]),
                    ns[j],
                    f" {effect:g}",
                    color="#888888",
                    fontsize=7,
                    ha="left",
                    va="bottom",
                )
        for i, r, p2 in points:
            x = 0.0 if not r.direction else r.direction * -math.log10(p2)  # voters: never None
            colour = _DIRECTION_COLOURS[r.direction or 0]
            marker = _MARKERS[i % len(_MARKERS)]
            hollow = r.p_bound != "="
            ax.scatter(
                [x],
                [r.n],
                s=36,
                marker=marker,
                zorder=3,
                facecolors="white" if hollow else colour,
                edgecolors=colour,
            )
            if hollow and r.direction:
                further = (r.p_bound == "<") == (r.direction > 0)
                dx = 0.35 if further else -0.35
                ax.annotate(
                    "",
                    xy=(x + dx, r.n),
                    xytext=(x, r.n),
                    arrowprops={"arrowstyle": "->", "color": colour, "lw": 0.8},
                )
        ticks = list(range(-int(top), int(top) + 1))
        ax.set_xticks(ticks)
        ax.set_xticklabels([("1" if t == 0 else f"1e-{abs(t)}") for t in ticks], fontsize=7)
        ax.set_xlim(-top - 0.2, top + 0.2)
        ax.axvline(0, color="#666666", lw=0.6, ls=":")
        ax.set_yscale("log")
        ax.set_ylim(n_lo, n_hi)
        ax.set_ylabel("sample size (total n, log scale)")
        ax.set_xlabel("two-sided p value (log scale)")
        ax.text(0.01, 1.01, "◀ favours comparator", transform=ax.transAxes, fontsize=8)
        ax.text(
            0.99, 1.01, "favours intervention ▶", transform=ax.transAxes, fontsize=8, ha="right"
        )
        handles = []
        for i, s in enumerate(swims):
            if any(j == i for j, _, _ in points):
                handles.append(
                    ax.scatter(
                        [],
                        [],
                        marker=_MARKERS[i % len(_MARKERS)],
                        color="#444444",
                        label=s.analysis.outcome.name,
                    )
                )
        ax.legend(
            handles=handles,
            fontsize=7,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.14),
            ncol=2,
            frameon=False,
        )
        measure = ALBATROSS_DESIGNS[design]
        contours = _CONTOUR_WORDS.get(measure, measure)
        title = f"Albatross plot: {len(points)} results, contours of {contours}"
        ax.set_title(title, loc="left", fontsize=10, pad=16)
    alt = _albatross_alt(points, design, missing)
    return SvgFigure(fig, title, alt)


def _albatross_alt(points: list, design: str, missing: int) -> str:
    fav = sum(1 for _, r, _ in points if r.direction == 1)
    unf = sum(1 for _, r, _ in points if r.direction == -1)
    parts = [
        f"Albatross plot of {len(points)} study results: {fav} favour the intervention, {unf} "
        f"the comparator, {len(points) - fav - unf} show no difference. Contours of "
        f"{_CONTOUR_WORDS.get(ALBATROSS_DESIGNS[design], ALBATROSS_DESIGNS[design])} for a "
        f"{design} design."
    ]
    for _, r, p2 in points:
        bound = "" if r.p_bound == "=" else f" (p {r.p_bound} bound)"
        parts.append(f"{r.label}: n = {r.n:.0f}, p = {p2:.3g}{bound}.")
    if missing:
        parts.append(f"{missing} result(s) without a p value or a sample size are not drawn.")
    return " ".join(parts)


#: Arrow size by total sample size, as in the effect direction plot
#: [thomson2013effect]_ [hiltonboon2021effect]_: large > 300, medium 50-300, small < 50.
def _arrow_size(n: float) -> float:
    if not math.isfinite(n):
        return 30.0
    return 150.0 if n > 300 else 75.0 if n >= 50 else 30.0


def effect_direction(swims: list[OutcomeSwim]) -> SvgFigure | None:
    """Effect direction plot, revised form [hiltonboon2021effect]_ [thomson2013effect]_.

    Rows are studies, columns outcome domains. ▲ the result favours the intervention,
    ▼ the comparator, ◀▶ no difference or mixed, ? direction not reported; no statistical
    significance is shown. Arrow size gives the sample size (large > 300, medium 50-300,
    small < 50). Rows are shaded by the study's overall risk of bias. The last row gives
    the vote count and the two-sided sign-test p per domain (with at least 2 studies).
    Returns None when no study gives a direction for any outcome.
    """
    from matplotlib import rc_context

    def told(s: OutcomeSwim) -> tuple:
        # results whose record gives a direction (mixed or unclear ones included)
        return (*s.voters, *(r for r in s.unknown if r.direction_how.startswith("reported")))

    cols = [s for s in swims if s.voters]
    if not any(s.voters for s in cols):
        return None
    studies: dict[str, tuple[str, str]] = {}
    for s in cols:
        for r in told(s):
            studies.setdefault(r.key, (r.label, r.rob))
    order = sorted(studies, key=lambda k: studies[k][0])
    n_rows, n_cols = len(order), len(cols)
    fig = _new_figure(3.2 + 1.25 * n_cols, 1.8 + 0.34 * (n_rows + 1))
    with rc_context(_RC):
        ax = fig.add_subplot(1, 1, 1)
        for i, key in enumerate(order):
            y = n_rows - i
            rob = studies[key][1]
            ax.axhspan(y - 0.5, y + 0.5, color=ROB_COLOURS.get(rob, "#BBBBBB"), alpha=0.18, lw=0)
            ax.text(-0.6, y, f"{studies[key][0]}  ({rob})", ha="right", va="center", fontsize=8)
        for j, s in enumerate(cols):
            cells = {r.key: r for r in told(s)}
            for i, key in enumerate(order):
                r = cells.get(key)
                if r is None:
                    continue
                y, size = n_rows - i, _arrow_size(r.n)
                if r.direction == 1:
                    ax.scatter([j], [y], marker="^", s=size, color="#1f4e79")
                elif r.direction == -1:
                    ax.scatter([j], [y], marker="v", s=size, color="#c55a11")
                elif r.direction == 0 or "mixed" in r.direction_how:
                    ax.scatter([j - 0.14], [y], marker="<", s=size, color="#7f7f7f")
                    ax.scatter([j + 0.14], [y], marker=">", s=size, color="#7f7f7f")
                else:
                    ax.text(j, y, "?", ha="center", va="center", fontsize=9, color="#7f7f7f")
            v = s.votes
            foot = (
                f"{v.positive} of {v.positive + v.negative}\np = {v.sign_test_p:.2g}"
                if v is not None and v.positive + v.negative
                else "fewer than 2"
            )
            ax.text(j, 0, foot, ha="center", va="center", fontsize=7)
        ax.axhline(0.5, color="#666666", lw=0.6)
        ax.text(
            -0.6,
            0,
            "favourable of those pointing either way;\nsign test p (two-sided)",
            ha="right",
            va="center",
            fontsize=7,
        )
        ax.set_xticks(range(n_cols))
        ax.set_xticklabels([_wrap(s.analysis.outcome.name) for s in cols], fontsize=7)
        ax.xaxis.tick_top()
        ax.set_yticks([])
        ax.set_xlim(-0.5, n_cols - 0.5)
        ax.set_ylim(-0.6, n_rows + 0.6)
        for side in ("left", "right", "top", "bottom"):
            ax.spines[side].set_visible(False)
        ax.text(
            0,
            -0.06,
            "▲ favours intervention   ▼ favours comparator   ◀▶ no difference or "
            "mixed   ? not reported. Large arrow n > 300, medium 50-300, small < 50. "
            "Row shade: overall risk of bias.",
            transform=ax.transAxes,
            fontsize=7,
            va="top",
        )
        title = (
            f"Effect direction plot: {n_rows} stud{'y' if n_rows == 1 else 'ies'}, "
            f"{n_cols} outcome{'' if n_cols == 1 else 's'}"
        )
        ax.set_title(title, loc="left", fontsize=10, pad=40)
        fig.subplots_adjust(left=0.35)
    return SvgFigure(fig, title, _effect_direction_alt(cols))


def _wrap(text: str, width: int = 15) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)[:4])


def _effect_direction_alt(cols: list[OutcomeSwim]) -> str:
    words: dict[int | None, str] = {
        1: "favours the intervention",
        -1: "favours the comparator",
        0: "no difference",
    }
    parts = []
    for s in cols:
        said = [
            f"{r.label} {words[r.direction]} (n = {r.n:.0f})"
            if math.isfinite(r.n)
            else f"{r.label} {words[r.direction]}"
            for r in s.voters
        ]
        v = s.votes
        test = (
            f"; sign test p = {v.sign_test_p:.2g}"
            if v is not None and v.positive + v.negative
            else ""
        )
        parts.append(f"{s.analysis.outcome.name}: {'; '.join(said) or 'no direction'}{test}.")
    return "Effect direction plot. " + " ".join(parts)
