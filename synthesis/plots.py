"""Forest, funnel and risk-of-bias plots (matplotlib), rendered as deterministic SVG.

Every function returns a :class:`SvgFigure`: notebooks display it as inline SVG, and the
same inputs always give byte-identical SVG (fixed ``svg.hashsalt``, no date metadata,
text as SVG text), so two builds of a report are identical.
"""

from __future__ import annotations

import io
import math
import re
from typing import TYPE_CHECKING

from synthesis.vocabulary import NULL_VALUES, PROPORTION_MEASURES

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from synthesis.analysis import OutcomeAnalysis
    from synthesis.evidence import EvidenceBase

_RC = {"svg.hashsalt": "synthesis", "svg.fonttype": "none", "font.size": 9}

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

    def save(self, path: str) -> None:
        """Write the SVG to ``path``."""
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(self.svg())


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


def forest(analysis: OutcomeAnalysis, *, plain: bool = False) -> SvgFigure:
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
        y = n_rows
        labels: list[tuple[float, str, str, str, dict]] = []
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


def funnel(analysis: OutcomeAnalysis) -> SvgFigure | None:
    """Funnel plot (effect against standard error, pseudo-confidence region); None if unpooled."""
    import numpy as np
    from matplotlib import rc_context
    from scipy.stats import norm

    fit = analysis.fit
    if fit is None:
        return None
    fig = _new_figure(5.0, 4.0)
    with rc_context(_RC):
        ax = fig.add_subplot(1, 1, 1)
        se = np.sqrt(np.asarray(fit.vi))
        top = float(se.max()) * 1.1
        z = norm.ppf(0.5 + analysis.settings.level / 200)
        grid = np.linspace(0, top, 50)
        ax.fill_betweenx(grid, fit.estimate - z * grid, fit.estimate + z * grid, color="#eeeeee")
        ax.axvline(fit.estimate, color="#666666", lw=0.8)
        ax.scatter(fit.yi, se, color="black", s=20, zorder=3)
        ax.set_ylim(top, 0)
        ax.set_xlabel(f"{analysis.measure} (analysis scale)")
        ax.set_ylabel("standard error")
        ax.set_title(f"Funnel plot: {analysis.outcome.name}", loc="left", fontsize=10)
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
