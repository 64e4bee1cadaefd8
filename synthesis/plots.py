"""Forest, funnel and risk-of-bias plots (matplotlib), rendered as deterministic SVG.

Every function returns a :class:`SvgFigure`: notebooks display it as inline SVG, and the
same inputs always give byte-identical SVG (fixed ``svg.hashsalt``, no date metadata,
text as SVG text), so two builds of a report are identical.
"""

from __future__ import annotations

import io
import math
import re
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
        self.description = description
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
    """Give the SVG an accessible name and description: ``role="img"``, ``<title>`` and
    ``<desc>`` as its first children, referenced by ``aria-labelledby``/``describedby``."""
    import hashlib
    from html import escape

    key = hashlib.sha256(f"{title}\0{description}".encode()).hexdigest()[:10]
    # matplotlib numbers its groups text_1, patch_2 ... in every figure: on a page with
    # several figures the ids would repeat, so groups lose them (nothing refers to them)
    svg = re.sub(r'<g id="[^"]*"', "<g", svg)
    end = svg.index(">")
    head, rest = svg[:end], svg[end + 1 :]
    attrs = f' role="img" aria-labelledby="t-{key}"'
    children = f'<title id="t-{key}">{escape(title or "Figure")}</title>'
    if description:
        attrs += f' aria-describedby="d-{key}"'
        children += f'<desc id="d-{key}">{escape(description)}</desc>'
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
        what = "pooled" if r.status == "pooled" else f"not pooled ({r.status}: {r.reason})"
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


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width) or [""]


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
    reasons = {r.Index: _wrap(f"{r.status}: {r.reason}", 48) for r in other.itertuples()}
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
            labels.append((y, r.label, ci, weight, {}))
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
                labels.append((y, r.label, ci, "", {"color": "#595959"}))
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
        below = {"xycoords": "axes fraction", "textcoords": "offset points", "va": "top"}
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


def _rob_cell(ax, x: float, y: float, level: str, size: float = 150) -> None:  # type: ignore[no-untyped-def]
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
