"""Display helpers that keep the notebooks thin.

Each function returns an object the notebook shows (:class:`IPython.display.HTML`, a
DataFrame, or an SVG figure). Every piece of text that comes from a record is
HTML-escaped here, so a note containing ``<script>`` shows as text.
"""

from __future__ import annotations

import html
import math
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthesis.analysis import alternative_estimators, leave_one_out, prepost_sensitivity
from synthesis.analysis import small_study as assess
from synthesis.bib import (
    DEFAULT_STYLE,
    STYLES,
    author_year,
    cited_keys,
    format_references,
    render_citations,
)
from synthesis.brief import (
    about_evidence_html,
    brief_html,
    certainty_badge,
    glossary_html,
    plain_reason,
    pooling_rules_sentence,
    sof_html,
)
from synthesis.errors import UserInputError
from synthesis.evidence_map import data_still_needed as evidence_gaps
from synthesis.evidence_map import map_rows, map_summary, study_counts
from synthesis.flow import prisma_flow
from synthesis.flow_plot import flow_diagram
from synthesis.grade import describe, grade_outcome
from synthesis.plain import (
    fmt_interval,
    fmt_p,
    fmt_value,
    robustness_sentence,
    verdict,
    votes_sentence,
)
from synthesis.pooling_rules import plan_text
from synthesis.robustness import grid, grid_table
from synthesis.swim_outcomes import question_swim
from synthesis.validate import load_evidence
from synthesis.verdicts import claim_results

# synthesis.plots, synthesis.stats.influence and synthesis.integrity (numpy, scipy, and
# matplotlib when drawing) are imported by the cells that use them, so planning a build
# (synthesis.jobs imports this module) loads without them.
if TYPE_CHECKING:
    import pandas as pd

    from synthesis.analysis import OutcomeAnalysis
    from synthesis.evidence import EvidenceBase

_E = html.escape


def _html(text: str) -> Any:
    from IPython.display import HTML

    return HTML(text)


def project_root(start: Path | None = None) -> Path:
    """The project root, found from any folder inside the project.

    Parameters
    ----------
    start : pathlib.Path, optional
        Where to start looking (default: the current folder).

    Returns
    -------
    pathlib.Path
        ``$SYNTHESIS_ROOT`` when set (``synthesis build`` sets it), else the nearest of
        ``start`` and its parents holding ``evidence/questions/`` (the evidence folder
        of this layout), so a notebook copied into a sub-folder still finds it.

    Raises
    ------
    UserInputError
        No such folder above ``start``; the message says where it looked.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     root = Path(tmp).resolve()
    ...     (root / "evidence" / "questions").mkdir(parents=True)
    ...     (root / "notebooks" / "mine").mkdir(parents=True)
    ...     project_root(root / "notebooks" / "mine") == root
    True
    """
    env = os.environ.get("SYNTHESIS_ROOT")
    if env:
        return Path(env)
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "evidence" / "questions").is_dir():
            return folder
    raise UserInputError(
        f"no project found from {here}: none of it and its parent folders holds "
        "evidence/questions/; open the notebook inside the project, or set "
        "SYNTHESIS_ROOT to the project root"
    )


def load(root: Path | None = None) -> EvidenceBase:
    """Validate and load the evidence base (raises with the full report on any error).

    Under ``synthesis build`` the evidence the build validated is read from the file
    named by ``$SYNTHESIS_EVIDENCE_PICKLE`` (written by the build into its cache), so
    each kernel does not validate every record again.
    """
    shared = os.environ.get("SYNTHESIS_EVIDENCE_PICKLE")
    if root is None and shared and os.environ.get("SYNTHESIS_ROOT"):
        import pickle

        try:
            with open(shared, "rb") as fh:
                return pickle.load(fh)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            pass  # validate instead
    return load_evidence(root or project_root())


def question_intro(base: EvidenceBase, question: str) -> Any:
    """The question in plain words, and its PICO."""
    q = base.questions[question]
    rows = "".join(
        f"<tr><th>{_E(k)}</th><td>{_E(v)}</td></tr>"
        for k, v in (
            ("Population", q.pico.population),
            ("Intervention / exposure", q.pico.intervention),
            ("Comparator", q.pico.comparator),
            ("Outcomes", q.pico.outcomes),
        )
    )
    return _html(
        f'<p class="plain-question"><strong>The question:</strong> {_E(q.plain_question)}</p>'
        f'<table class="pico">{rows}</table>'
    )


def settings_note(analyses: list[OutcomeAnalysis]) -> Any:
    """Which analytic choices produced the numbers below."""
    s = analyses[0].settings
    test = {"knha": "Knapp-Hartung t", "adhoc": "Knapp-Hartung t (ad hoc, s² >= 1)"}.get(
        s.test, "Wald z"
    )
    return _html(
        f"<p>Random-effects meta-analysis: τ² estimator {_E(s.method)}, {_E(test)} tests, "
        f"{s.level:g}% intervals; pre-post correlation assumed where not reported: "
        f"{s.prepost_r:g}. Pooling needs at least "
        f"{analyses[0].question.analysis.min_k} independent studies.</p>" + pooling_plan(analyses)
    )


def pooling_plan(analyses: list[OutcomeAnalysis]) -> str:
    """The plan's pooling rules per outcome (time-point window, designs, fewest studies;
    :mod:`synthesis.pooling_rules`), as an HTML list."""
    items = "".join(
        f"<li><strong>{_E(a.outcome.name)}</strong>: {_E(plan_text(a.question, a.outcome))}</li>"
        for a in analyses
    )
    return f'<p>Pooling rules of the analysis plan:</p><ul class="pooling-plan">{items}</ul>'


def side_by_side_table(analysis: OutcomeAnalysis) -> str:
    """Each study's estimate and interval for an outcome the plan does not pool: no
    diamond, no pooled number ('' when the outcome is pooled or has one study)."""
    if not analysis.side_by_side:
        return ""
    table = analysis.study_table()
    m, level = analysis.measure, f"{analysis.settings.level:g}%"
    body = "".join(
        f'<tr><th scope="row">{_E(r.label)}</th><td>{_E(r.design)}</td>'
        f"<td>{'' if not math.isfinite(r.n) else f'{r.n:.0f}'}</td><td>{_E(r.timepoint)}</td>"
        f"<td>{_E(fmt_value(r.estimate, m))} ({_E(fmt_interval(r.ci_lb, r.ci_ub, m))})</td></tr>"
        for r in table[table.status == "pooled"].itertuples()
    )
    return (
        f'<table class="side-by-side"><caption>{_E(analysis.outcome.name)}: the studies side '
        f"by side, not pooled ({_E(analysis.reason)})</caption><thead><tr>"
        '<th scope="col">Study</th><th scope="col">Design</th><th scope="col">n</th>'
        f'<th scope="col">Time point</th><th scope="col">{_E(analysis.natural_name)} '
        f"({level} CI)</th></tr></thead><tbody>{body}</tbody></table>"
    )


def key_findings(base: EvidenceBase, analyses: list[OutcomeAnalysis]) -> Any:
    """One row per outcome: studies, participants, the result in plain numbers, a sentence
    (with how robust it is), and the certainty with every reason it was rated down or up."""
    body = []
    for a in analyses:
        nat = a.natural()
        count = a.count
        if nat is not None and not verdict(nat.ci_lb, nat.ci_ub, a.outcome).informative:
            result = "uninformative: no single number"
        elif nat is not None:
            result = (
                f"{_E(fmt_value(nat.estimate, a.measure))} "
                f"({a.settings.level:g}% CI {_E(fmt_interval(nat.ci_lb, nat.ci_ub, a.measure))})"
            )
        elif len(a.pooled_rows) == 1:
            result = "one study only"
        elif a.side_by_side:
            result = f"not pooled: {a.k} studies side by side"
        else:
            result = "not pooled"
        c = grade_outcome(base, a)
        reasons = "".join(f"<li>{_E(plain_reason(x, base))}</li>" for x in c.reasons())
        certainty = certainty_badge(c.level) + (f"<ul>{reasons}</ul>" if reasons else "")
        body.append(
            f'<tr><th scope="row">{_E(a.outcome.name)}</th><td>{_E(count.pooled_text())}</td>'
            f"<td>{_E(count.other_text())}</td><td>{result}</td>"
            f"<td>{_E(describe(a, base))} {_E(robustness_sentence(a, grid(base, a)))}</td>"
            f"<td>{certainty}</td></tr>"
        )
    return _html(
        '<div class="table-wrap"><table class="findings"><thead><tr><th scope="col">Outcome</th>'
        '<th scope="col">Pooled, or shown side by side: participants (studies)</th>'
        '<th scope="col">Also reporting, not in the result: participants (studies)</th>'
        '<th scope="col">Result</th><th scope="col">In plain words</th>'
        '<th scope="col">Certainty and why</th></tr>'
        f"</thead><tbody>{''.join(body)}</tbody></table></div>"
        + (
            f'<p class="pooling-rule">{_E(rule)}</p>'
            if (rule := pooling_rules_sentence(analyses))
            else ""
        )
    )


def study_table(base: EvidenceBase, question: str, style: str | None = None) -> Any:
    """Every study serving the question, with design, size, status and formatted citation
    (in the page's reference style, :func:`page_style`)."""
    chosen = page_style(base, question, style)
    seen: dict[str, Any] = {}
    for study, _, _ in base.outcomes(question):
        seen.setdefault(study.id, study)
    rows = []
    for study in sorted(seen.values(), key=lambda s: s.label or s.id):
        bib = base.bibliography
        cite = (
            bib.format(study.citation, html_output=True, style=chosen)
            if bib and study.citation in bib
            else ""
        )
        n = study.population.n
        rows.append(
            f"<tr><td>{_E(study.label or study.id)}</td><td>{_E(study.design)}</td>"
            f"<td>{_E(study.country or '')}</td><td>{'' if n is None else f'{n.value:g}'}</td>"
            f"<td>{_E(study.status)}</td><td>{cite}</td></tr>"
        )
    return _html(
        '<table class="studies"><thead><tr><th>Study</th><th>Design</th><th>Country</th>'
        "<th>n</th><th>Status</th><th>Reference</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def effect_sizes(analysis: OutcomeAnalysis) -> pd.DataFrame:
    """Every study result for the outcome: status, effect size, and how it was obtained."""
    table = analysis.study_table()
    cols = ["label", "status", "reason", "n", "yi", "vi", "estimate", "ci_lb", "ci_ub",
            "weight", "es_method", "derived", "assumed", "from_p"]  # fmt: skip
    table = table[cols].set_index("label").rename(columns={"from_p": "derived from p"})
    table["n"] = table["n"].round().astype("Int64")  # participants are whole people
    return table


def pooled_details(analysis: OutcomeAnalysis) -> Any:
    """The fit as metafor prints it, or why there is none."""
    if analysis.fit is None:
        return _html(
            f"<p><em>Not pooled:</em> {_E(analysis.reason)}.</p>" + side_by_side_table(analysis)
        )
    nat = analysis.natural()
    extra = ""
    if nat is not None and analysis.measure not in ("SMD", "SMCC", "SMCR", "MD", "RD"):
        extra = (
            f"<p>On the natural scale ({_E(analysis.natural_name)}): {nat.estimate:.4f} "
            f"[{nat.ci_lb:.4f}, {nat.ci_ub:.4f}], prediction interval "
            f"[{nat.pi_lb:.4f}, {nat.pi_ub:.4f}].</p>"
        )
    parts = [f'<pre class="metafor">{_E(str(analysis.fit))}</pre>{extra}']
    infl = influence_table(analysis)
    if infl:
        parts.append(infl)
    parts.append(
        "<p>The same model in R (metafor) [viechtbauer2010metafor]:</p>"
        f'<pre class="r-code"><code>{_E(r_code(analysis))}</code></pre>'
    )
    return _html("".join(parts))


def r_code(analysis: OutcomeAnalysis) -> str:
    """The metafor calls that reproduce the pooled model: ``escalc`` on the effect sizes
    and sampling variances used here (full precision), then ``rma`` with the same choices,
    then ``influence``.

    Examples
    --------
    The first lines for an outcome pooled from yi and vi::

        library(metafor)
        dat <- data.frame(study = c("A", "B"), yi = c(...), vi = c(...))
    """
    fit = analysis.fit
    if fit is None:
        return ""

    def num(values: Any) -> str:
        return ", ".join(repr(float(v)) for v in values)

    studies = ", ".join(
        '"' + str(x).replace("\\", "\\\\").replace('"', '\\"') + '"' for x in fit.slab
    )
    s = analysis.settings
    lines = [
        "library(metafor)",
        f"dat <- data.frame(study = c({studies}),",
        f"                  yi = c({num(fit.yi)}),",
        f"                  vi = c({num(fit.vi)}))",
        f'dat <- escalc(measure = "{analysis.measure}", yi = yi, vi = vi, data = dat, '
        "slab = study)",
        f'res <- rma(yi, vi, data = dat, method = "{s.method}", test = "{s.test}", '
        f"level = {s.level:g})",
        "res",
    ]
    if fit.k >= 3:
        lines.append("influence(res)")
    return "\n".join(lines)


def influence_table(analysis: OutcomeAnalysis) -> str:
    """Case diagnostics as metafor's ``influence()`` (k >= 3): studentized residuals,
    DFFITS, Cook's distance, covariance ratio, τ² and QE without the study, hat values,
    weights; '*' marks an influential study by metafor's criteria. '' when k < 3."""
    from synthesis.stats.influence import influence

    fit = analysis.fit
    if fit is None or fit.k < 3:
        return ""
    frame = influence(fit).to_frame()
    frame.index = list(fit.slab)
    html_table = frame.to_html(float_format=lambda x: f"{x:.4f}", border=0, na_rep="")
    return (
        "<p>Influence diagnostics (metafor's <code>influence()</code>):</p>"
        f'<div class="table-wrap">{html_table}</div>'
    )


def effect_size_table(analysis: OutcomeAnalysis, *, name: str = "") -> Any:
    """:func:`effect_sizes` as a full table with a CSV download of it (yi, vi and how each
    was computed); ``name`` prefixes the file name (e.g. the question id)."""
    from urllib.parse import quote

    frame = effect_sizes(analysis)
    csv = frame.to_csv(float_format="%.10g")
    stem = "_".join(x for x in (name or analysis.question.id, analysis.outcome.id) if x)
    link = (
        f'<p><a download="{_E(stem)}_effect_sizes.csv" '
        f'href="data:text/csv;charset=utf-8,{quote(csv)}">Download this table (CSV)</a></p>'
    )
    text = frame.to_html(float_format=lambda x: f"{x:.4f}", border=0, na_rep="")
    return _html(f'{link}<div class="table-wrap">{text}</div>')


def sensitivity(base: EvidenceBase, analysis: OutcomeAnalysis) -> Any:
    """Leave-one-out, alternative τ² estimators and assumed pre-post correlations."""
    parts = []
    if analysis.fit is None:
        return _html(f"<p>No sensitivity analysis: {_E(analysis.reason)}.</p>")
    alt = alternative_estimators(analysis)
    if alt is not None:
        parts.append("<h4>Alternative τ² estimators</h4>" + alt.to_html(float_format="%.4f"))
    loo = leave_one_out(analysis)
    if loo is not None:
        parts.append("<h4>Leave one study out</h4>" + loo.to_html(float_format="%.4f"))
    else:
        parts.append("<p>Leave-one-out needs at least 3 pooled studies.</p>")
    pre = prepost_sensitivity(base, analysis)
    if pre is not None:
        parts.append("<h4>Assumed pre-post correlation</h4>" + pre.to_html(float_format="%.4f"))

    table = grid_table(base, analysis)
    parts.append(
        "<h4>Robustness grid: verdict category under each analytic choice</h4>"
        + table.to_html(index=False, float_format="%.4f")
        + f"<p>{_E(robustness_sentence(analysis, grid(base, analysis)))}</p>"
    )
    return _html("".join(parts))


def small_study(analysis: OutcomeAnalysis) -> Any:
    """Egger's test and trim-and-fill, or why they were not run."""
    result = assess(analysis)
    if not result.run:
        return _html(f"<p>Small-study effects {_E(result.reason)}.</p>")
    reg, tf = result.regtest, result.trimfill
    assert reg is not None and tf is not None
    return _html(
        f"<p>Egger's regression test: statistic {reg.zval:.3f}, p = {reg.pval:.4f}; "
        f"limit estimate {reg.est:.4f}. Trim-and-fill (L0): {tf.k0} studies imputed on the "
        f"{_E(tf.side)}; adjusted estimate {tf.fit.estimate:.4f} "
        f"[{tf.fit.ci_lb:.4f}, {tf.fit.ci_ub:.4f}].</p>"
    )


def rob_table(base: EvidenceBase, question: str) -> Any:
    """Risk-of-bias judgement per study: tool, basis, overall and each domain with its reason."""
    seen: dict[str, Any] = {}
    for study, _, _ in base.outcomes(question):
        seen.setdefault(study.id, study)
    rows = []
    for s in sorted(seen.values(), key=lambda s: s.label or s.id):
        rob = s.risk_of_bias
        if rob is None:
            rows.append(f"<tr><td>{_E(s.label or s.id)}</td><td colspan=4>not assessed</td></tr>")
            continue
        domains = "<br>".join(
            f"{_E(d.domain)}: <strong>{_E(d.judgement)}</strong> ({_E(d.reason)})"
            for d in rob.domains
        )
        rows.append(
            f"<tr><td>{_E(s.label or s.id)}</td><td>{_E(rob.tool)}"
            f"{' (' + _E(rob.checklist) + ')' if rob.checklist else ''}</td>"
            f"<td>{_E(rob.basis)}</td><td><strong>{_E(rob.overall)}</strong>: "
            f"{_E(rob.overall_reason)}</td><td>{domains}</td></tr>"
        )
    return _html(
        '<table class="rob"><thead><tr><th>Study</th><th>Tool</th><th>Judged from</th>'
        "<th>Overall</th><th>Domains</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def rob_plot(base: EvidenceBase, question: str) -> Any:
    """Traffic-light plot of the studies serving the question."""
    from synthesis.plots import rob_summary

    ids = sorted({s.id for s, _, _ in base.outcomes(question)})
    # inline SVG with its own title and description (an SVG output would be shown as an
    # <img> with nbconvert's default alt text)
    return _html(_render(rob_summary(base, ids)))


def caveats(base: EvidenceBase, question: str, style: str | None = None) -> Any:
    """What is missing and what to keep in mind: data still needed, conflicts, notes
    (``[@key]`` citations in them rendered in the page's style)."""
    cite = _citer(base, question, style)
    q = base.questions[question]
    needed = evidence_gaps(base, question)
    ids = {s.id for s, _, _ in base.outcomes(question)}
    needed = needed[needed.study.isin(ids) & needed.question.isin([question, ""])]
    items = "".join(f"<li>{cite(n)}</li>" for n in q.notes)
    notes = "".join(
        f"<li><strong>{_E(base.studies[s].label or s)}</strong>: {cite(n)}</li>"
        for s in sorted(ids)
        for n in base.studies[s].notes
    )
    gaps = "".join(
        f"<li><strong>{_E(r.label)}</strong>: {_E(r.needed)}</li>" for r in needed.itertuples()
    )
    return _html(
        f"<h3>About this question</h3><ul>{items}</ul>"
        f"<h3>Data still needed</h3><ul>{gaps or '<li>none</li>'}</ul>"
        f"<h3>Notes and conflicts between sources</h3><ul>{notes or '<li>none</li>'}</ul>"
    )


def page_style(base: EvidenceBase, question: str | None, style: str | None = None) -> str:
    """The reference style of a page: ``style`` when given (the notebook's ``STYLE``
    parameter, ``synthesis build --param style=vancouver``), else the question file's
    ``reference_style``, else APA."""
    if style is not None:
        if style not in STYLES:
            raise ValueError(f"unknown reference style {style!r} (allowed: {', '.join(STYLES)})")
        return style
    return base.questions[question].reference_style if question else DEFAULT_STYLE


def _page_keys(base: EvidenceBase, question: str | None) -> list[str]:
    """The references of a page: the studies' citations, the claims' references and every
    ``[@key]`` in the question's notes and claims, in author-year order."""
    bib = base.bibliography
    assert bib is not None
    studies = (
        {s.citation for s, _, _ in base.outcomes(question)}
        if question
        else {s.citation for s in base.studies.values()}
    )
    claims = [c for c in base.claims.values() if question is None or c.question == question]
    texts = [t for c in claims for t in (c.says, *c.reasons, c.cites_note or "")]
    if question:
        texts += list(base.questions[question].notes)
    keys = studies | {c.cites for c in claims if c.cites} | set(cited_keys(" ".join(texts)))
    return sorted((k for k in keys if k in bib), key=lambda k: (author_year(bib[k]).lower(), k))


def _citer(base: EvidenceBase, question: str | None, style: str | None) -> Any:
    """A function: record text -> HTML-escaped text with ``[@key]`` citations rendered in
    the page's style (Vancouver numbers follow the page's reference list)."""
    chosen = page_style(base, question, style)
    numbers = {k: i for i, k in enumerate(_page_keys(base, question), 1)}

    def cite(text: str) -> str:
        return render_citations(_E(text), base.bibliography, style=chosen, numbers=numbers)

    return cite


def cite_markdown(nb: dict[str, Any], base: EvidenceBase, question: str | None,
                  style: str | None = None) -> dict[str, Any]:  # fmt: skip
    """A copy of notebook JSON ``nb`` whose markdown cells have their ``[@key]`` citations
    rendered in the page's style (``synthesis build`` calls it on every notebook)."""
    import copy

    chosen = page_style(base, question, style)
    numbers = {k: i for i, k in enumerate(_page_keys(base, question), 1)}
    out = copy.deepcopy(nb)
    for cell in out.get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        text = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        if "[@" in text:
            cell["source"] = render_citations(
                text, base.bibliography, style=chosen, numbers=numbers
            )
    return out


def references(base: EvidenceBase, question: str | None = None, style: str | None = None) -> Any:
    """Formatted references of the page (studies serving ``question``, all if None, and
    the references its claims and notes cite), in the page's style (:func:`page_style`)."""
    bib = base.bibliography
    assert bib is not None
    chosen = page_style(base, question, style)
    items = format_references([bib[k] for k in _page_keys(base, question)], style=chosen,
                              html_output=True)  # fmt: skip
    if chosen == "vancouver":  # the number is the list's own
        items = [re.sub(r"^\d+\. ", "", i) for i in items]
    method_keys = ["viechtbauer2010metafor", "higgins2023cochrane"]
    methods = format_references([bib[k] for k in method_keys if k in bib], style="apa",
                                html_output=True)  # fmt: skip
    return _html(
        f'<ol class="references references-{chosen}">'
        + "".join(f"<li>{i}</li>" for i in items)
        + "</ol><p>Methods:</p><ul>"
        + "".join(f"<li>{m}</li>" for m in methods)
        + "</ul>"
    )


def evidence_map_table(base: EvidenceBase) -> pd.DataFrame:
    """Counts per question and outcome (for the evidence-base notebook)."""
    return map_summary(base).set_index(["question", "outcome"])


def _render(obj: Any) -> str:
    """HTML for one displayable object (HTML, DataFrame, SvgFigure, str)."""
    if obj is None:
        return ""
    if hasattr(obj, "svg"):
        return f'<div class="figure">{obj.svg()}</div>'
    if hasattr(obj, "to_html"):
        return obj.to_html(float_format="%.4f")
    if hasattr(obj, "data") and isinstance(obj.data, str):  # IPython HTML
        return obj.data
    return f"<p>{_E(str(obj))}</p>"


def forest_plots(analyses: list[OutcomeAnalysis], *, plain: bool = False) -> Any:
    """A forest plot per outcome with study estimates (``plain``: commissioner wording)."""
    from synthesis.plots import forest

    return per_outcome(analyses, lambda a: forest(a, plain=plain), only_with_data=True)


def per_outcome(analyses: list[OutcomeAnalysis], fn: Any, *, only_with_data: bool = False) -> Any:
    """Apply ``fn`` to each outcome's analysis and show the results under outcome headings.

    ``only_with_data`` skips outcomes without any study estimate (e.g. for forest plots).
    """
    parts = []
    for a in analyses:
        if only_with_data and not any(math.isfinite(r.yi) for r in a.rows):
            continue
        parts.append(f"<h3>{_E(a.outcome.name)}</h3>{_render(fn(a))}")
    if not parts:
        return _html("<p>No outcome of this question has study estimates yet.</p>")
    return _html("".join(parts))


def summary_of_findings(base: EvidenceBase, analyses: list[OutcomeAnalysis]) -> Any:
    """GRADE summary-of-findings table (:func:`synthesis.brief.sof_html`)."""
    return _html(sof_html(base, analyses))


def brief(base: EvidenceBase, analyses: list[OutcomeAnalysis]) -> Any:
    """The first screen of a question's page (:func:`synthesis.brief.brief_html`)."""
    return _html(brief_html(base, analyses))


def about_evidence(base: EvidenceBase, analyses: list[OutcomeAnalysis]) -> Any:
    """How studies were found, appraisal basis, assumptions, main gaps."""
    return _html(about_evidence_html(base, analyses))


def glossary() -> Any:
    """The glossary of the technical terms that stay on commissioner pages."""
    return _html(glossary_html())


def integrity(base: EvidenceBase, question: str) -> Any:
    """Integrity flags (``synthesis check``) of the studies serving ``question``."""
    from synthesis.integrity import check_outcome, record_source

    items = []
    for study, index, _ in base.outcomes(question):
        for p in check_outcome(study, index, record_source(base, study.id)):
            items.append(
                f"<li><strong>{_E(p.severity)}</strong> {_E(p.location())}: {_E(p.message)}</li>"
            )
    if not items:
        return _html("<p>No inconsistency found in the extracted numbers.</p>")
    return _html(
        "<p>Recomputed from the extracted numbers (errors keep an outcome out of pooling "
        "unless its record explains them):</p><ul>" + "".join(items) + "</ul>"
    )


# ------------------------------------------------------------------ evidence-base page


def _question_name(base: EvidenceBase, qid: str) -> str:
    q = base.questions.get(qid)
    return q.short_title if q is not None else qid


def _outcome_name(base: EvidenceBase, qid: str, oid: str) -> str:
    q = base.questions.get(qid)
    spec = next((o for o in q.outcomes if o.id == oid), None) if q is not None else None
    return spec.name if spec is not None else oid


def table(frame: pd.DataFrame, *, caption: str = "", index: bool = False) -> Any:
    """A DataFrame as a complete HTML table (every row, no pandas footer or '...' row)."""
    text = frame.to_html(index=index, border=0, na_rep="", float_format=lambda x: f"{x:.4g}")
    if caption:
        text = text.replace(">", f"><caption>{_E(caption)}</caption>", 1)
    return _html(f'<div class="table-wrap">{text}</div>')


def evidence_counts(base: EvidenceBase) -> Any:
    """Study records per question by publication status, with the distinct total."""
    counts = study_counts(base)
    rows = []
    for r in counts.to_dict("records"):
        name = r["question"]
        name = "No outcome data yet" if name.startswith("(") else _question_name(base, name)
        rows.append(
            f'<tr><th scope="row">{_E(name)}</th><td>{r["records"]}</td><td>{r["published"]}</td>'
            f"<td>{r['preprint']}</td><td>{r['protocol or ongoing']}</td>"
            f"<td>{r['with poolable numbers']}</td></tr>"
        )
    total = len(base.studies)
    listed = int(counts["records"].sum())
    note = f"{total} distinct study records in all" + (
        f"; {listed - total} record{'s serve' if listed - total > 1 else ' serves'} more "
        "than one question and is counted under each."
        if listed > total
        else "."
    )
    return _html(
        '<div class="table-wrap"><table class="counts"><caption>Study records by question '
        'and status</caption><thead><tr><th scope="col">Question</th>'
        '<th scope="col">Records</th><th scope="col">Published</th><th scope="col">Preprint</th>'
        '<th scope="col">Protocol or ongoing</th><th scope="col">With numbers that can be '
        f"pooled</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div><p>{_E(note)}</p>"
    )


#: Columns of the evidence map: status of a study result -> heading.
MAP_STATUSES = {
    "pooled": "Pooled",
    "excluded": "Excluded (reason given)",
    "not poolable": "Numbers cannot be combined",
    "narrative": "Direction only",
    "awaiting results": "Results awaited",
}


def evidence_map_grid(base: EvidenceBase) -> Any:
    """The evidence map as a compact grid: per question and outcome, the studies and
    their results by status (the status counts add up to the results column)."""
    rows = map_rows(base)
    head = "".join(f'<th scope="col">{_E(v)}</th>' for v in MAP_STATUSES.values())
    body = []
    for qid in sorted(base.questions):
        q = base.questions[qid]
        body.append(
            f'<tr class="group"><th colspan="{3 + len(MAP_STATUSES)}" scope="rowgroup">'
            f"{_E(q.short_title)}</th></tr>"
        )
        for spec in q.outcomes:
            sub = rows[(rows.question == qid) & (rows.outcome == spec.id)]
            cells = []
            for status in MAP_STATUSES:
                n = int((sub.status == status).sum())
                shade = f' class="n{min(n, 4)}"' if n else ' class="n0"'
                cells.append(f"<td{shade}>{n or '·'}</td>")
            body.append(
                f'<tr><th scope="row">{_E(spec.name)}</th><td>{sub.study.nunique()}</td>'
                f"<td>{len(sub)}</td>{''.join(cells)}</tr>"
            )
    return _html(
        '<div class="table-wrap"><table class="evidence-map"><caption>Evidence map: study '
        "results per outcome (a study may report several results, e.g. two time points)"
        '</caption><thead><tr><th scope="col">Outcome</th><th scope="col">Studies</th>'
        f'<th scope="col">Results</th>{head}</tr></thead><tbody>{"".join(body)}</tbody>'
        "</table></div><p>· none</p>"
    )


def data_needed(base: EvidenceBase) -> Any:
    """Every number still needed, by study (nothing cut off)."""
    needed = evidence_gaps(base)
    body = []
    for label, group in needed.groupby("label", sort=True):
        items = []
        for r in group.itertuples():
            where = ""
            if r.question:
                outcome = _outcome_name(base, r.question, r.outcome)
                where = f"{_question_name(base, r.question)}, {outcome}: "
            items.append(f"<li>{_E(where)}{_E(str(r.needed))}</li>")
        body.append(f'<tr><th scope="row">{_E(label)}</th><td><ul>{"".join(items)}</ul></td></tr>')
    return _html(
        '<div class="table-wrap"><table class="data-needed"><caption>Data still needed, by '
        f"study ({len(needed)} items, {needed.study.nunique()} studies)</caption><thead><tr>"
        '<th scope="col">Study</th><th scope="col">What is needed</th></tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


_VERDICT_CLASS = {
    "supported": "verdict-supported",
    "partly supported": "verdict-partly",
    "not supported": "verdict-not",
    "cannot be checked from public data": "verdict-unknown",
}


def _verdict_badge(verdict: str) -> str:
    return f'<strong class="verdict {_VERDICT_CLASS[verdict]}">{_E(verdict)}</strong>'


def claims_lead(base: EvidenceBase, question: str | None = None) -> Any:
    """The claims a commissioner is likely to quote, each with its verdict and main reason.

    Shown at the top of the commissioner brief; the full checks are in
    :func:`claims_checked`. Empty when no such claim concerns ``question``.
    """
    quoted = [r for r in claim_results(base, question, pooled=False) if r.claim.commissioner]
    if not quoted:
        return _html("")
    items = "".join(
        f"<li><em>{_E(r.claim.says)}</em> {_verdict_badge(r.verdict)}. "
        f"{_E(r.claim.reasons[0])}</li>"
        for r in quoted
    )
    return _html(
        '<div class="claims-lead"><h3>Claims you may have read</h3>'
        f"<ul>{items}</ul><p>Each claim is checked against the studies below "
        "(section “Claims checked”).</p></div>"
    )


def claims_checked(
    base: EvidenceBase, question: str | None = None, style: str | None = None
) -> Any:
    """Every claim about ``question`` (all when None): what it says, what it cites, each
    check against the records, the verdict and the reviewers' reasons."""
    cite = _citer(base, question, style)
    chosen = page_style(base, question, style)
    results = claim_results(base, question)
    if not results:
        return _html("<p>No claim about this question has been recorded.</p>")
    bib = base.bibliography
    parts = []
    for r in results:
        c = r.claim
        cited = (
            bib.format(c.cites, html_output=True, style=chosen)
            if c.cites and bib is not None and c.cites in bib
            else "no reference given"
        )
        note = f" <span class='note'>({cite(c.cites_note)})</span>" if c.cites_note else ""
        quote = f" Quoted: “{_E(c.quote)}”." if c.quote else ""
        checks = "".join(
            f"<tr><td>{_E(x.says)}</td><td>{_E(x.status if x.role == 'evidence' else 'context')}"
            f"</td><td>{_E(x.detail)}</td></tr>"
            for x in r.checks
        )
        override = (
            f"<p>The checks alone give “{_E(r.computed)}”; the reviewers judge otherwise: "
            f"{_E(c.override_reason or '')}</p>"
            if r.computed != c.verdict
            else ""
        )
        reasons = "".join(f"<li>{cite(x)}</li>" for x in c.reasons)
        records = ", ".join(_E(base.studies[s].label or s) for s in c.records if s in base.studies)
        parts.append(
            f'<div class="claim"><h3>{_E(c.label)}</h3>'
            f"<p><strong>Verdict:</strong> {_verdict_badge(c.verdict)}</p>"
            f"<p><strong>The claim</strong> ({_E(c.source)}): {cite(c.says)}{quote}</p>"
            f"<p><strong>It cites:</strong> {cited}{note}</p>"
            f"<p><strong>Records that bear on it:</strong> {records}</p>"
            '<table class="claim-checks"><thead><tr><th>Part of the claim</th>'
            "<th>Finding</th><th>From the records</th></tr></thead>"
            f"<tbody>{checks}</tbody></table>{override}"
            f"<p><strong>Why:</strong></p><ul>{reasons}</ul></div>"
        )
    return _html(
        "<p>Verdicts: supported, partly supported, not supported, or cannot be checked from "
        "public data. Each part of a claim is checked against the study records; parts marked "
        "“context” are shown but do not change the verdict.</p>" + "".join(parts)
    )


# ----------------------------------------------------------------------------- SWiM


def _swims(analyses: list[OutcomeAnalysis]) -> list:
    return question_swim(analyses)


def vote_counts(analyses: list[OutcomeAnalysis]) -> Any:
    """Vote count on the direction of effect and sign test per outcome [campbell2020swim]_.

    One row per outcome with at least two studies reporting a direction (one vote per
    study or cohort), with the plain sentence that reports it.
    """
    body = []
    for s in _swims(analyses):
        v = s.votes
        if v is None:
            continue
        m = v.positive + v.negative
        prop = (
            f"{100 * v.prop_positive:.0f}% ({v.level:g}% CI {100 * v.prop_ci_lb:.0f}% to "
            f"{100 * v.prop_ci_ub:.0f}%)"
            if m
            else "not defined"
        )
        body.append(
            f"<tr><td>{_E(s.analysis.outcome.name)}</td><td>{v.k}</td><td>{v.positive}</td>"
            f"<td>{v.negative}</td><td>{v.null}</td><td>{prop}</td>"
            f"<td>{_E(fmt_p(v.sign_test_p)) if m else ''}</td>"
            f"<td>{_E(votes_sentence(s.analysis))}</td></tr>"
        )
    if not body:
        return _html("<p>No outcome has two or more studies reporting a direction.</p>")
    return _html(
        '<table class="votes"><thead><tr><th>Outcome</th><th>Studies with a direction</th>'
        "<th>Favour the intervention</th><th>Favour the comparator</th><th>No difference</th>"
        "<th>Proportion favourable (Wilson CI)</th><th>Sign test p (two-sided)</th>"
        f"<th>In plain words</th></tr></thead><tbody>{''.join(body)}</tbody></table>"
        "<p>Vote counting on the direction of effect, not on statistical significance: each "
        "study (cohort) counts once. It shows whether there is any evidence of an effect, "
        "not how large it is; a small study counts as much as a large one.</p>"
    )


def swim_details(analyses: list[OutcomeAnalysis]) -> Any:
    """Per outcome: the results counted, combined p values and the spread of estimates."""
    words: dict[int | None, str] = {1: "favourable", -1: "unfavourable", 0: "no difference"}
    parts = []
    for s in _swims(analyses):
        a = s.analysis
        if not s.voters and not s.unknown:
            continue
        rows = "".join(
            f"<tr><td>{_E(r.label)}</td><td>{'' if not math.isfinite(r.n) else f'{r.n:.0f}'}"
            f"</td><td>{_E(words.get(r.direction, 'not known'))}"
            f"</td><td>{_E(r.direction_how)}</td>"
            f"<td>{'' if not math.isfinite(r.p) else _E(f'p {r.p_bound} {r.p:.3g}')}"
            f"{' (one-sided)' if r.p_sided == 'one-sided' and math.isfinite(r.p) else ''}</td>"
            f"<td>{_E(r.p_how)}</td><td>{_E(r.status)}</td></tr>"
            for r in (*s.voters, *s.unknown)
        )
        html_ = (
            f"<h4>{_E(a.outcome.name)}</h4><table class='swim'><thead><tr><th>Study</th>"
            "<th>n</th><th>Direction</th><th>How known</th><th>p</th><th>p from</th>"
            f"<th>Pooling status</th></tr></thead><tbody>{rows}</tbody></table>"
        )
        c = s.combined
        if c is not None:
            rel = {"=": "=", "<=": "≤", ">=": "≥"}.get(c.bound)
            if rel is None:
                html_ += "<p>Combined p values not computed: bounded p values point both ways.</p>"
            else:
                weighted = (
                    f"z = {c.stouffer_weighted_z:.3f}, p {rel} {c.stouffer_weighted_p:.4g}"
                    if math.isfinite(c.stouffer_weighted_z)
                    else "not computed (a sample size is missing)"
                )
                html_ += (
                    f"<p>Combined one-sided p values in the favourable direction ({c.k} "
                    f"studies): Stouffer z = {c.stouffer_z:.3f}, p {rel} {c.stouffer_p:.4g}; "
                    f"Stouffer weighted by √n: {weighted}; Fisher χ² = {c.fisher_chi2:.3f} "
                    f"on {c.fisher_df} df, p {rel} {c.fisher_p:.4g}"
                    + (
                        f" (bounds: {len(s.bounded)} p value(s) were reported only as bounds)"
                        if c.bound != "="
                        else ""
                    )
                    + f". This shows {_E(c.tells)}; it does not show {_E(c.cannot_tell)}.</p>"
                )
        est = s.estimates
        if est is not None:
            m = a.measure

            html_ += (
                f"<p>Effect estimates not pooled ({est.k} studies, {_E(a.natural_name)}): "
                f"median {_E(fmt_value(est.median, m))}, interquartile range "
                f"{_E(fmt_value(est.q1, m))} to {_E(fmt_value(est.q3, m))}, range "
                f"{_E(fmt_value(est.minimum, m))} to {_E(fmt_value(est.maximum, m))}. "
                f"This shows {_E(est.tells)}; it gives no {_E(est.cannot_tell)}.</p>"
            )
        if s.votes is not None:
            html_ += (
                f"<p>The vote count shows {_E(s.votes.tells)}; it cannot show "
                f"{_E(s.votes.cannot_tell.removeprefix('it '))}.</p>"
            )
        parts.append(html_)
    if not parts:
        return _html("<p>No study reports a direction for any outcome of this question.</p>")
    return _html("".join(parts))


def swim_items(base: EvidenceBase, analyses: list[OutcomeAnalysis]) -> Any:
    """The nine SWiM reporting items [campbell2020swim]_, answered from the analysis plan
    and the results of this question."""
    q = analyses[0].question
    plan = q.analysis
    swims = _swims(analyses)
    fits = [(a.outcome.name, a.fit) for a in analyses if a.fit is not None]
    voted = [s for s in swims if s.votes is not None]
    measures = ", ".join(f"{a.outcome.name}: {a.measure}" for a in analyses)
    hetero = (
        "; ".join(f"{name}: I² = {fit.I2:.0f}%, τ² = {fit.tau2:.3g}" for name, fit in fits)
        or "no outcome was pooled"
    )
    results = (
        " ".join(
            f"{s.analysis.outcome.name}: {s.votes.positive} of {s.votes.k} favourable"
            + (
                f" (sign test p = {s.votes.sign_test_p:.2g})."
                if s.votes.positive + s.votes.negative
                else "."
            )
            for s in voted
        )
        or "No outcome has two or more studies reporting a direction."
    )
    unknown = sum(len(s.unknown) for s in swims)
    bounded = sum(len(s.bounded) for s in swims)
    items = [
        (
            "1. Grouping studies for synthesis",
            f"By the question's outcomes ({', '.join(a.outcome.name for a in analyses)}); "
            f"designs pooled: {', '.join(q.designs)}. One result per study: results of the "
            "same people (one cohort) or of one record (several time points) count once.",
        ),
        (
            "2. Standardised metric and transformation",
            f"Effect sizes per outcome ({measures}; metafor's measures). Where no effect "
            "size can be computed, the direction of effect (favours the intervention, the "
            "comparator, no difference) is the metric, as reported or from the sign of the "
            "estimate; p values as reported, or from the estimate and its variance. Effect "
            "sizes derived from p values (two-sample t, paired t, correlation t) are "
            + ("used" if plan.effects_from_p else "not used")
            + " in this question's plan.",
        ),
        (
            "3. Synthesis methods",
            f"Random-effects meta-analysis ({plan.method}, {plan.test} test, "
            f"{plan.level:g}% intervals) when at least {plan.min_k} independent studies give "
            "usable numbers; otherwise vote counting on the direction of effect with a Wilson "
            "interval and a two-sided sign test, one-sided p values combined by Stouffer's "
            "method (unweighted and weighted by √n) and Fisher's method (PyMARE), and the "
            "median, interquartile range and range of unpooled estimates.",
        ),
        (
            "4. Criteria used to prioritise results",
            "Within a study or cohort, a result with a known direction is counted first, then "
            "the pooled result, then one not excluded, then the one with most participants. "
            "Protocols and results whose numbers contradict each other are not counted.",
        ),
        (
            "5. Investigation of heterogeneity in reported effects",
            f"Pooled outcomes: {hetero}. Outcomes without a pooled estimate: the effect "
            "direction plot shows directions by study, sample size and risk of bias; too few "
            "studies for a formal investigation.",
        ),
        (
            "6. Certainty of evidence",
            "GRADE per outcome (summary of findings above); where only the direction of effect "
            "is known, imprecision is rated down two levels.",
        ),
        (
            "7. Data presentation methods",
            "Forest plots of effect sizes; the albatross plot (p value against sample size, "
            "with effect-size contours); the effect direction plot (studies by outcome, arrows "
            "sized by n, rows shaded by risk of bias, sign test per outcome); tables of every "
            "result with how it was obtained.",
        ),
        ("8. Reporting results", results),
        (
            "9. Limitations of the synthesis",
            "A vote count ignores the size and precision of each result, and the sign test "
            "treats every study as equally likely to point either way under no effect; "
            f"combined p values show that some study has an effect, not its size. {unknown} "
            f"study result(s) have no known direction and {bounded} p value(s) are reported "
            "only as bounds (they give bounds, never values). Studies reporting only a "
            "direction may do so selectively.",
        ),
    ]
    rows = "".join(f"<tr><th>{_E(k)}</th><td>{_E(v)}</td></tr>" for k, v in items)
    return _html(f'<table class="swim-items"><tbody>{rows}</tbody></table>')


def albatross_plot(analyses: list[OutcomeAnalysis]) -> Any:
    """Albatross plot of every outcome's results (or a sentence when none can be drawn)."""
    from synthesis.plots import albatross

    fig = albatross(_swims(analyses))
    if fig is None:
        return _html("<p>No result has both a p value and a sample size.</p>")
    return _html(_render(fig))  # inline SVG: its title and text alternative stay readable


def effect_direction_plot(analyses: list[OutcomeAnalysis]) -> Any:
    """Effect direction plot (revised form) of the question's outcomes."""
    from synthesis.plots import effect_direction

    fig = effect_direction(_swims(analyses))
    if fig is None:
        return _html("<p>No study reports a direction for any outcome.</p>")
    return _html(_render(fig))


def search_methods(base: EvidenceBase) -> Any:
    """How the studies of each question were found: the seed's references, then each
    search with its date (and where the date comes from), where it ran, its aim and terms."""
    parts = []
    for _, q in sorted(base.questions.items()):
        search = q.search
        if search is None:
            parts.append(f"<h3>{_E(q.short_title)}</h3><p>No search recorded.</p>")
            continue
        rows = []
        if search.seed is not None:
            refs = []
            for r in search.seed.references:
                found = base.studies[r.record].label or r.record if r.record else "not identified"
                note = f" ({r.note})" if r.note else ""
                refs.append(_E(f"{r.ref} {found}{note}"))
            n_found = len([r for r in search.seed.references if r.record])
            rows.append(
                f"<tr><td>seed</td><td colspan=2>{_E(search.seed.source)}</td>"
                f"<td>{'; '.join(refs)}</td><td>{n_found}</td></tr>"
            )
        for s in search.searches:
            terms = _E("; ".join(s.terms)) if s.terms else f"<em>{_E(s.terms_note or '')}</em>"
            rows.append(
                f"<tr><td>{_E(s.id)}</td><td>{_E(s.date)}<br><small>{_E(s.date_basis)}</small>"
                f"</td><td>{_E(s.where)}</td><td>{_E(s.aim)}<br><small>Terms: {terms}</small>"
                f"</td><td>{len(s.records)}</td></tr>"
            )
        parts.append(
            f"<h3>{_E(q.short_title)}</h3><table class='searches'><thead><tr><th>Source</th>"
            "<th>Date</th><th>Where</th><th>What it looked for</th><th>Records found</th>"
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
    return _html("".join(parts))


def flow(base: EvidenceBase) -> Any:
    """The PRISMA 2020 flow diagram of all questions, and the counts per question."""
    overall = prisma_flow(base)
    rows = []
    for qid in sorted(base.questions):
        f = prisma_flow(base, qid)
        rows.append(
            f"<tr><td>{_E(base.questions[qid].short_title)}</td><td>{f.identified_total}</td>"
            f"<td>{f.screened}</td><td>{sum(f.excluded_screening.values())}</td>"
            f"<td>{sum(f.not_retrieved.values())}</td>"
            f"<td>{sum(f.excluded_eligibility.values())}</td><td>{f.included}</td>"
            f"<td>{f.studies}</td><td>{f.with_outcome}</td><td>{f.usable}</td>"
            f"<td>{f.pooled}</td></tr>"
        )
    table = (
        "<table class='flow-counts'><thead><tr><th>Question</th><th>Identified</th>"
        "<th>Screened</th><th>Excluded at screening</th><th>Not retrieved</th>"
        "<th>Excluded at eligibility</th><th>Included reports</th><th>Studies</th>"
        "<th>With an outcome</th><th>With usable numbers</th><th>Pooled</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    diagram = flow_diagram(overall)
    return _html(
        f'<figure class="figure">{diagram.svg()}<figcaption>{_E(diagram.title)}. '
        f"{_E(overall.text())}</figcaption></figure>{table}"
        "<p>A report can serve more than one question, so the per-question rows add up to "
        "more than the diagram, where each report counts once.</p>"
    )


def excluded_table(base: EvidenceBase) -> pd.DataFrame:
    """Every candidate found and not included: question, stage, reason, where it was seen."""
    import pandas as pd

    rows = [
        {
            "question": e.question,
            "candidate": e.citation,
            "found by": e.found_by,
            "stage": e.stage,
            "reason": e.reason,
            "seen at": (e.seen_at.url or f"https://doi.org/{e.seen_at.doi}") if e.seen_at else "",
        }
        for e in base.excluded
    ]
    return pd.DataFrame(rows, columns=["question", "candidate", "found by", "stage", "reason",
                                       "seen at"])  # fmt: skip


def excluded_candidates(base: EvidenceBase) -> Any:
    """:func:`excluded_table` for readers: question names and study labels, not ids."""
    import re

    frame = excluded_table(base).copy()
    frame["question"] = [_question_name(base, q) for q in frame["question"]]
    labels = {sid: s.label or sid for sid, s in base.studies.items()}
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(labels, key=len)[::-1])) + r")\b")
    for col in frame.columns:
        if any(isinstance(v, str) for v in frame[col]):
            frame[col] = [
                pattern.sub(lambda m: labels[m.group(1)], v) if isinstance(v, str) else v
                for v in frame[col]
            ]
    return table(frame, caption="Candidates found and not included")


def data_still_needed(base: EvidenceBase) -> Any:
    """Every number still to be found, one row per gap: the whole list, never truncated.

    A DataFrame longer than pandas' ``display.max_rows`` is shown cut to its first and
    last rows; this list is what a reader acts on, so it is rendered in full.
    """
    table = evidence_gaps(base).drop(columns="study")
    if table.empty:
        return _html("<p>No numbers are missing: every record can contribute.</p>")
    import pandas as pd

    with pd.option_context("display.max_colwidth", None):  # whole sentences, every row
        body = table.to_html(index=False, escape=True, na_rep="", max_rows=None, border=0)
    return _html(f'<p>{len(table)} gaps.</p><div class="data-still-needed">{body}</div>')
