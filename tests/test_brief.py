"""The commissioner's evidence brief (synthesis.brief) on this repository's evidence.

Expected values are worked out independently of the code under test: counts by reading
the records' ``risk_of_bias.basis`` fields, typical SDs from the records' CIs with the
t quantile, and the GRADE layout from GRADE's rules for a summary-of-findings table.
"""

from __future__ import annotations

import math
import re
from collections import Counter

import pytest
import yaml
from scipy import stats

from synthesis import brief
from synthesis.analysis import analyse, analyse_question
from synthesis.validate import load_evidence

from .conftest import ROOT, without_pooling_rules


@pytest.fixture(scope="module")
def base():
    return load_evidence(ROOT)


@pytest.fixture(scope="module")
def analyses(base):
    return {q: analyse_question(base, q) for q in base.questions}


def _basis_from_files(question: str) -> Counter:
    """Risk-of-bias bases of the records serving ``question``, read straight from the YAML."""
    counts: Counter = Counter()
    for path in sorted((ROOT / "evidence" / "studies").glob("*.yaml")):
        record = yaml.safe_load(path.read_text(encoding="utf-8"))
        if any(o.get("question") == question for o in record.get("outcomes") or []):
            rob = record.get("risk_of_bias")
            counts[rob["basis"] if rob else "none"] += 1
    return counts


def test_appraisal_basis_counts_abstract_judgements(base):
    """Risk-of-bias judgements per question by what they rest on (issue #12 counted 49 of
    51 from abstracts only when it was filed; records added since change the numbers)."""
    for qid in base.questions:
        expected = _basis_from_files(qid)
        got, none = brief.appraisal_basis(base, qid)
        assert none == expected.pop("none", 0)
        assert dict(got) == dict(expected)
        assert got["abstract only"] / sum(got.values()) > 0.8  # nearly all from abstracts


def test_about_this_evidence_names_the_key_assumptions(base, analyses):
    q1 = " ".join(brief.key_assumptions(base, analyses["q1_alliance"]))
    assert "r = 0.339 is derived, not reported" in q1 and "R-squared 0.115" in q1
    q3 = " ".join(brief.key_assumptions(base, analyses["q3_open_dialogue"]))
    assert "Seikkula 2006 (ODAP)" in q3 and "denominator is assumed" in q3
    q2 = " ".join(brief.key_assumptions(base, analyses["q2_mindfulness_training"]))
    assert "Fortney 2013: the correlation of before and after scores is not reported" in q2
    assert "the review's assumption" in q2
    about = brief.about_evidence_html(base, analyses["q2_mindfulness_training"])
    counts = _basis_from_files("q2_mindfulness_training")
    total = sum(counts.values())
    abstract = counts["abstract only"]
    assert f"{abstract} of {total} risk-of-bias judgements were made from abstracts only" in about
    assert "Not a systematic search" in about and "targeted searches" in about


def test_short_gaps_are_one_line_per_study_and_counted(base):
    gaps, more = brief.short_gaps(base, "q2_mindfulness_training")
    labels = [g.split(":")[0] for g in gaps]
    assert len(gaps) == 2 and len(set(labels)) == 2
    assert more > 0


def test_typical_sd_is_krasner_change_sd_and_converts_to_mbi_points(base):
    """SD of change = sqrt(n) x CI width / (2 t(n-1)); Krasner 2009: n = 70, -8.8 to -4.8."""
    sd = math.sqrt(70) * 4.0 / (2 * stats.t.ppf(0.975, 69))
    q = base.questions["q2_mindfulness_training"]
    spec = next(o for o in q.outcomes if o.id == "emotional_exhaustion")
    assert spec.typical_sd is not None and spec.typical_sd.value == pytest.approx(sd, abs=0.05)
    base = without_pooling_rules(base)  # pooled as before the plan's rules (k = 3)
    a = analyse(base, "q2_mindfulness_training", "emotional_exhaustion")
    nat = a.natural()
    text = brief._absolute(a)
    assert f"{abs(nat.estimate):.2f} SD lower" in text
    assert f"about {abs(nat.estimate * spec.typical_sd.value):.1f} MBI points lower" in text


def test_sof_has_at_most_seven_outcomes_critical_first(base, analyses):
    rows, others = brief.sof_rows(base, analyses["q2_mindfulness_training"])
    assert len(rows) == brief.MAX_SOF_OUTCOMES and len(rows) + len(others) == 10
    assert all(r.analysis.outcome.critical for r in rows)
    assert "compassion" in [r.analysis.outcome.id for r in others]  # important, not critical
    # outcomes without any study come after those with evidence (Q3: time to relapse)
    rows3, others3 = brief.sof_rows(base, analyses["q3_open_dialogue"])
    levels = [r.certainty.level for r in rows3 + others3 if r.analysis.outcome.critical]
    assert "no evidence" in levels and levels[levels.index("no evidence") :] == ["no evidence"]


def test_sof_footnotes_are_lettered_and_shared(base, analyses):
    page = brief.sof_html(base, analyses["q2_mindfulness_training"])
    marks = re.findall(r'<sup class="fn">(.*?)</sup>', page)
    letters = [re.findall(r">([a-z]+)</a>", m) for m in marks if "href" in m]
    flat = [x for group in letters for x in group]
    assert flat and all(len(x) == 1 for x in flat)  # never "12" run together
    assert flat.count("a") >= 3  # the risk-of-bias footnote is shared by several rows
    notes = re.findall(r'<li id="sof-q2_mindfulness_training-([a-z])">', page)
    assert notes == sorted(set(notes)) and set(flat) == set(notes)
    for level in ("High", "Moderate", "Low", "Very low"):
        assert f"{level}</span>: " in page  # the four GRADE levels are defined
    assert '<th scope="col">Comments</th>' in page and "Relative effect" in page


def test_key_messages_two_to_four_each_with_certainty(base, analyses):
    for qid, an in analyses.items():
        messages = brief.key_messages(base, an)
        assert 2 <= len(messages) <= 4, qid
        levels = {level for _, level in messages}
        assert levels <= {"high", "moderate", "low", "very low", "no evidence", ""}
    q1 = brief.key_messages(base, analyses["q1_alliance"])
    assert q1[-1][0].startswith("Of the 18 studies found, 1 gives")
    q2 = brief.key_messages(base, analyses["q2_mindfulness_training"])
    # the two low-certainty findings lead, with their comparison named
    assert q2[0][1] == q2[1][1] == "low"
    assert any("may reduce burnout" in m for m, _ in q2)
    q3 = brief.key_messages(base, analyses["q3_open_dialogue"])
    assert q3[0][0].startswith("Returned to work or study:")


def test_brief_says_how_up_to_date_and_recommends_nothing(base, analyses):
    page = brief.brief_html(base, analyses["q3_open_dialogue"])
    # the latest search of the question file (issue-13 search, 2026-12-01)
    assert "Evidence last searched on 1 December 2026." in page
    assert "A recommendation: none is made" in page
    assert "no study with numbers allocated people at random" in page
    assert "recommend " not in brief.visible_text(page).lower()


def test_citations_render_as_author_year(base):
    text = "a common default; see the Cochrane Handbook [@higgins2023cochrane]"
    out = brief.render_citations(text, base)
    assert "[@" not in out and re.search(r"\(Higgins .*2023\)", out)
    assert brief.render_citations("x [@nokey]", base) == "x (nokey?)"


def test_plain_problems_finds_what_a_commissioner_must_not_see():
    ok = "<main><p>The confidence interval is wide.</p></main>"
    assert brief.plain_problems(ok) == []
    bad = (
        "<main><p>REML with knha; see [@smith2020]; outcome emotional_exhaustion; "
        "from krasner2009.</p><svg><text>τ² = 0.1</text></svg>"
        '<section class="glossary"><dl><dt>tau</dt><dd>τ² is ...</dd></dl></section></main>'
    )
    problems = brief.plain_problems(bad, {"krasner2009"})
    assert "unrendered citation marker [@" in problems
    assert "internal id 'emotional_exhaustion'" in problems
    assert "record id 'krasner2009'" in problems
    assert {"jargon 'REML'", "jargon 'knha'", "jargon 'τ²'"} <= set(problems)
    assert "jargon 'tau'" not in problems  # inside the glossary only
    # a URL may hold underscores
    assert brief.plain_problems("<p>https://example.org/gscp_fac/74/</p>") == []


def test_brief_words_stop_at_the_detail_heading():
    page = "<main><h1>T</h1><p>one two 3 —</p><h2>Results in detail</h2><p>more words</p></main>"
    assert brief.brief_words(page, "Results in detail") == 4  # T, one, two, 3


def test_glossary_explains_the_terms_that_stay():
    text = brief.glossary_html()
    for term in ("confidence interval", "prediction interval", "I²", "risk of bias", "GRADE"):
        assert term in text


def test_r_code_reproduces_the_model_with_full_precision(base):
    """The metafor call carries the same yi, vi and choices as the fit (round-trip floats)."""
    from synthesis import notebook as nb

    base = without_pooling_rules(base)  # pooled as before the plan's rules (k = 3)
    a = analyse(base, "q2_mindfulness_training", "emotional_exhaustion")
    code = nb.r_code(a)
    yi = [float(x) for x in re.search(r"yi = c\(([^)]*)\)", code).group(1).split(",")]
    vi = [float(x) for x in re.search(r"vi = c\(([^)]*)\)", code).group(1).split(",")]
    assert yi == [float(x) for x in a.fit.yi] and vi == [float(x) for x in a.fit.vi]
    assert 'escalc(measure = "SMCC"' in code
    assert f'method = "{a.settings.method}", test = "{a.settings.test}"' in code
    assert "influence(res)" in code  # k >= 3
    table = nb.influence_table(a)
    assert "rstudent" in table and "cook.d" in table and "hat" in table


def test_rob_figure_has_a_panel_per_tool_symbols_and_every_level(base):
    from synthesis.plots import ROB_LEVELS, rob_level, rob_summary

    ids = sorted({s.id for s, _, _ in base.outcomes("q2_mindfulness_training")})
    svg = rob_summary(base, ids).svg()
    tools = {base.studies[i].risk_of_bias.tool for i in ids if base.studies[i].risk_of_bias}
    for tool in tools:
        assert f">{tool} (" in svg  # one panel per tool
    for level in ROB_LEVELS:
        assert level.split()[0] in svg  # every level in the legend, critical included
    assert "#fed98e" in svg.lower() and "#d95f0e" in svg.lower()  # robvis colour-blind
    assert "<title" in svg and "<desc" in svg
    assert rob_level("partial yes") == "some concerns" and rob_level("No") == "high"
