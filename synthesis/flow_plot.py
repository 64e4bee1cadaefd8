"""The PRISMA 2020 flow diagram [page2021prisma]_ as a deterministic, accessible SVG.

The diagram is drawn as plain SVG (boxes, arrows and text), so the same counts always give
the same bytes, it scales in a browser and a PDF, and its text is selectable. It carries a
``<title>`` and a ``<desc>`` (the whole flow in words, :meth:`synthesis.flow.Flow.text`)
as its text alternative for screen readers.
"""

from __future__ import annotations

import html
import textwrap
from dataclasses import dataclass

from synthesis.flow import Flow

_WIDTH = 600  # px: 450 pt, inside an A4 page's text width
_LEFT_X, _LEFT_W = 10, 270
_RIGHT_X, _RIGHT_W = 310, 280
_LINE = 15
_PAD = 8
_GAP = 26
_CHARS_LEFT, _CHARS_RIGHT = 46, 47


def _wrap(lines: list[str], width: int) -> list[str]:
    out: list[str] = []
    for line in lines:
        out.extend(textwrap.wrap(line, width, subsequent_indent="  ") or [""])
    return out


def _box(x: int, y: int, w: int, lines: list[str], css: str) -> tuple[str, int]:
    h = len(lines) * _LINE + 2 * _PAD
    bold = ' font-weight="bold"'
    text = "".join(
        f'<tspan x="{x + _PAD}" y="{y + _PAD + (i + 1) * _LINE - 4}"'
        f"{bold if i == 0 else ''}>{html.escape(t)}</tspan>"
        for i, t in enumerate(lines)
    )
    return (
        f'<rect class="{css}" x="{x}" y="{y}" width="{w}" height="{h}" rx="4" />'
        f"<text>{text}</text>",
        h,
    )


def _arrow(x1: int, y1: int, x2: int, y2: int) -> str:
    return (
        f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#333" stroke-width="1.5" '
        'marker-end="url(#prisma-arrow)" />'
    )


def _listing(title: str, counts: dict[str, int]) -> list[str]:
    total = sum(counts.values())
    return [f"{title} (n = {total})", *(f"{reason} (n = {n})" for reason, n in counts.items())]


@dataclass(frozen=True)
class FlowDiagram:
    """The SVG of one flow; notebooks show it inline (``_repr_svg_``)."""

    flow: Flow
    title: str

    def svg(self) -> str:
        """The diagram as one ``<svg>`` element with ``<title>`` and ``<desc>``."""
        f = self.flow
        rows: list[tuple[list[str], list[str] | None]] = [
            (
                [f"Reports identified (n = {f.identified_total})"]
                + [f"{name}: {n}" for name, n in f.identified.items()],
                [f"Duplicates removed (n = {f.duplicates})",
                 "the same report named by two sources"],
            ),
            ([f"Reports screened (n = {f.screened})"],
             _listing("Excluded at screening", f.excluded_screening)),
            ([f"Reports sought for retrieval (n = {f.sought})"],
             _listing("Reports not retrieved", f.not_retrieved)),
            ([f"Reports assessed for eligibility (n = {f.assessed})"],
             _listing("Reports excluded, with reasons", f.excluded_eligibility)),
            ([f"Included: {f.included} reports of {f.studies} studies",
              f"with an outcome of the question: {f.with_outcome}",
              f"with numbers giving an effect size: {f.usable}",
              f"in a pooled estimate: {f.pooled}"], None),
        ]  # fmt: skip
        parts: list[str] = []
        y = 20
        previous_bottom: int | None = None
        for left, right in rows:
            left_lines = _wrap(left, _CHARS_LEFT)
            right_lines = _wrap(right, _CHARS_RIGHT) if right else []
            height = max(len(left_lines), len(right_lines)) * _LINE + 2 * _PAD
            box, h = _box(_LEFT_X, y, _LEFT_W, left_lines, "prisma-main")
            mid = _LEFT_X + _LEFT_W // 2
            if previous_bottom is not None:
                parts.append(_arrow(mid, previous_bottom, mid, y))
            parts.append(box)
            if right_lines:
                side, _ = _box(_RIGHT_X, y, _RIGHT_W, right_lines, "prisma-side")
                parts.append(_arrow(_LEFT_X + _LEFT_W, y + h // 2, _RIGHT_X, y + h // 2))
                parts.append(side)
            previous_bottom = y + h
            y += height + _GAP
        total_h = y - _GAP + 20
        desc = html.escape(f.text())
        title = html.escape(self.title)
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="prisma-flow" '
            f'viewBox="0 0 {_WIDTH} {total_h}" width="{_WIDTH}" height="{total_h}" '
            'aria-labelledby="prisma-title prisma-desc" font-family="sans-serif" '
            'font-size="11">'
            f'<title id="prisma-title">{title}</title><desc id="prisma-desc">{desc}</desc>'
            '<defs><marker id="prisma-arrow" viewBox="0 0 10 10" refX="9" refY="5" '
            'markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" '
            'fill="#333" /></marker></defs>'
            "<style>.prisma-main{fill:#eef3fb;stroke:#2b4c7e;stroke-width:1.2}"
            ".prisma-side{fill:#f7f7f7;stroke:#777;stroke-width:1}</style>"
            + "".join(parts)
            + "</svg>"
        )

    def _repr_svg_(self) -> str:
        return self.svg()


def flow_diagram(flow: Flow, title: str | None = None) -> FlowDiagram:
    """The PRISMA 2020 flow diagram of ``flow`` (see :func:`synthesis.flow.prisma_flow`)."""
    shown = title or (
        f"PRISMA 2020 flow of reports for {flow.question}"
        if flow.question
        else "PRISMA 2020 flow of reports, all questions"
    )
    return FlowDiagram(flow, shown)
