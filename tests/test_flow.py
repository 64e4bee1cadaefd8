"""How the studies were found: search sections, evidence/excluded.yaml, the PRISMA 2020
flow counts (against hand counts) and the flow diagram."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from synthesis.cli import main
from synthesis.flow import prisma_flow
from synthesis.flow_plot import flow_diagram
from synthesis.validate import load_evidence, validate

from .conftest import MINI_BIB, MINI_STUDY, ROOT

SEARCH = """\
search:
  seed:
    source: Seed article
    references:
      - {ref: "[1]", record: smith2020}
      - {ref: "[2]", note: not identified}
  searches:
    - id: pass-one
      date: "2026-11-27"
      date_basis: the commit that added the records
      where: PubMed
      aim: alliance studies
      terms: [therapist mindfulness alliance]
      records: [smith2020, jones2021]
"""

EXCLUDED = """\
excluded:
  - id: blog
    question: q1_alliance
    citation: A blog post about mindfulness.
    found_by: pass-one
    stage: screening
    category: not a report of a study
    reason: a secondary summary
  - id: thesis
    question: q1_alliance
    citation: A thesis with no visible results.
    found_by: pass-one
    stage: not retrieved
    category: results not visible
    reason: only the title page was visible
  - id: client
    question: q1_alliance
    citation: A study of client mindfulness.
    found_by: seed
    stage: eligibility
    category: client, not clinician, mindfulness
    reason: the exclusion criterion of the question
  - id: empathy
    question: q1_alliance
    citation: A study of empathy.
    found_by: pass-one
    stage: eligibility
    category: outcome is not the alliance
    reason: empathy, not alliance
"""

JONES = (
    MINI_STUDY.replace("id: smith2020", "id: jones2021")
    .replace("citation: smith2020mind", "citation: jones2021")
    .replace("r: 0.30", "r: 0.10")
)
JONES_BIB = """
@article{jones2021,
  author = {Jones, Ann}, title = {Alliance again}, journal = {Journal of Tests},
  year = {2021}, doi = {10.1000/test.2}}
"""


@pytest.fixture
def flow_project(project: Path) -> Path:
    q = project / "evidence" / "questions" / "q1_alliance.yaml"
    q.write_text(q.read_text(encoding="utf-8") + SEARCH, encoding="utf-8")
    (project / "evidence" / "studies" / "jones2021.yaml").write_text(JONES, encoding="utf-8")
    (project / "evidence" / "excluded.yaml").write_text(EXCLUDED, encoding="utf-8")
    (project / "references.bib").write_text(MINI_BIB + JONES_BIB, encoding="utf-8")
    return project


def test_flow_counts_match_a_hand_count(flow_project):
    f = prisma_flow(load_evidence(flow_project), "q1_alliance")
    # identified: seed 1 record + 1 excluded (client); pass-one 2 records + 3 excluded
    assert f.identified == {"seed article's references": 2, "search on 27 November 2026": 5}
    assert f.duplicates == 1  # smith2020 is named by the seed list and by pass-one
    assert f.screened == 6
    assert f.excluded_screening == {"not a report of a study": 1}
    assert f.sought == 5
    assert f.not_retrieved == {"results not visible": 1}
    assert f.assessed == 4
    assert f.excluded_eligibility == {
        "client, not clinician, mindfulness": 1,
        "outcome is not the alliance": 1,
    }
    assert (f.included, f.studies, f.with_outcome, f.usable, f.pooled) == (2, 2, 2, 2, 2)
    assert "Included: 2 reports of 2 studies" in f.text()


def test_unattributed_record_warns_and_is_counted(flow_project):
    q = flow_project / "evidence" / "questions" / "q1_alliance.yaml"
    q.write_text(q.read_text(encoding="utf-8").replace(", jones2021]", "]"), encoding="utf-8")
    base, report = validate(flow_project)
    assert report.ok
    assert any(
        "record 'jones2021' serves this question but no search lists it" in str(p)
        and p.severity == "warning"
        for p in report.problems
    )
    f = prisma_flow(base, "q1_alliance")
    assert f.identified["not attributed to a search"] == 1
    assert f.unattributed == ("jones2021",)


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        ("q", "records: [smith2020, jones2021]", "records: [smith2020, jones2022]",
         r"q1_alliance.yaml:\d+: search.searches\[0\].records\[1\]: error: record 'jones2022' "
         r"does not exist \(did you mean 'jones2021'\?\)"),
        ("q", '{ref: "[1]", record: smith2020}', '{ref: "[1]", record: smyth2020}',
         r"search.seed.references\[0\].record: error: record 'smyth2020' does not exist"),
        ("q", '      terms: [therapist mindfulness alliance]\n', "",
         r"search.searches\[0\]: error: give the search terms, or terms_note saying they were "
         r"not recorded"),
        ("q", 'date: "2026-11-27"', "date: last week",
         r"search.searches\[0\].date: error: String should match pattern"),
        ("x", "found_by: seed", "found_by: pass-two",
         r"excluded.yaml:\d+: excluded\[2\].found_by: error: found_by 'pass-two' is not a "
         r"search of question 'q1_alliance' \(allowed: seed, pass-one\)"),
        ("x", "stage: screening", "stage: triage",
         r"excluded.yaml:6: excluded\[0\].stage: error: Input should be 'screening', "
         r"'not retrieved' or 'eligibility'"),
        ("x", "id: thesis", "id: blog",
         r"excluded.yaml:\d+: excluded\[1\].id: error: duplicate id 'blog'"),
        ("x", "id: thesis", "id: jones2021",
         r"excluded\[1\].id: error: 'jones2021' is also a study record"),
        ("x", "question: q1_alliance\n    citation: A blog", "question: q7\n    citation: A blog",
         r"excluded\[0\].question: error: question 'q7' does not exist"),
        ("x", "    category: not a report of a study\n", "",
         r"excluded.yaml:2: excluded\[0\].category: error: required field 'category' is missing"),
    ],
)  # fmt: skip
def test_search_and_excluded_errors_are_located(flow_project, capsys, file, old, new, expected):
    path = (
        flow_project / "evidence" / "questions" / "q1_alliance.yaml"
        if file == "q"
        else flow_project / "evidence" / "excluded.yaml"
    )
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    code = main(["validate", str(flow_project), "--quiet"])
    out = capsys.readouterr()
    assert code == 1 and "Traceback" not in out.out + out.err
    assert re.search(expected, out.out), out.out


def test_repository_flow_matches_a_hand_count():
    """Q3 counted by hand from evidence/questions/q3_open_dialogue.yaml and excluded.yaml."""
    base = load_evidence(ROOT)
    f = prisma_flow(base, "q3_open_dialogue")
    # seed: [3], [4], [5] resolved to records, plus the [6] guess (excluded) = 4;
    # first pass: 12 records + the National Elf and HOPEnDialogue pages; second: 2; issue 13: 7
    assert f.identified == {
        "seed article's references": 4,
        # labelled by date (ids like "issue-13" mean nothing to a reader): first-pass and
        # second-pass ran the same day
        "search on 27 November 2026 (1 of 2)": 14,
        "search on 27 November 2026 (2 of 2)": 2,
        "search on 1 December 2026": 7,
    }
    assert (f.duplicates, f.screened, f.sought, f.assessed, f.included) == (0, 27, 25, 25, 24)
    assert f.excluded_screening == {"not a report of a study": 2}
    assert f.excluded_eligibility == {"no outcomes of treated people": 1}
    # 10 included reports have no Q3 outcome (reviews, protocol, feasibility, qualitative);
    # numbers giving an effect size: Seikkula 2006, Seikkula 2001, Gordon 2016; none is in a
    # pooled estimate: the plan pools 3 or more cohorts at 2 to 5 years, which leaves
    # Seikkula 2006 alone in each outcome (Gordon 2016 is at 1 year, Seikkula 2001 gives no
    # follow-up). Before the pooling rules: Seikkula 2006 and Gordon 2016 (2).
    assert (f.with_outcome, f.usable, f.pooled) == (14, 3, 0)
    # the Western Lapland reports are one study (cohort western-lapland-fep)
    assert f.studies == 12
    overall = prisma_flow(base)
    assert overall.included == len(base.studies)  # every record is attributed to a search
    assert overall.duplicates == 1  # Razzaque & Wood 2016 is seed [2] for Q1 and for Q2


def test_flow_diagram_svg_is_accessible_and_deterministic(flow_project):
    base = load_evidence(flow_project)
    d = flow_diagram(prisma_flow(base, "q1_alliance"))
    svg = d.svg()
    assert svg == flow_diagram(prisma_flow(base, "q1_alliance")).svg()
    assert svg.startswith("<svg") and 'role="img"' in svg
    assert '<title id="prisma-title">PRISMA 2020 flow of reports for q1_alliance</title>' in svg
    desc = re.search(r'<desc id="prisma-desc">(.*?)</desc>', svg).group(1)
    assert "Identified: 7 reports" in desc and "Included: 2 reports of 2 studies" in desc
    assert "Reports screened (n = 6)" in svg
    assert "client, not clinician, mindfulness (n = 1)" in svg


def test_flow_diagram_escapes_record_text(flow_project):
    path = flow_project / "evidence" / "excluded.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "category: results not visible", "category: <b>hidden</b> & gone"), encoding="utf-8")  # fmt: skip
    svg = flow_diagram(prisma_flow(load_evidence(flow_project), "q1_alliance")).svg()
    assert "<b>" not in svg and "&lt;b&gt;hidden&lt;/b&gt; &amp; gone" in svg


def test_evidence_base_helpers_show_searches_flow_and_exclusions():
    from synthesis import notebook as nb

    base = load_evidence(ROOT)
    methods = nb.search_methods(base).data
    assert "2026-12-01" in methods and "[3] Seikkula 2011" in methods
    assert "[6] not identified" in methods
    shown = nb.flow(base).data
    assert '<svg xmlns="http://www.w3.org/2000/svg" role="img"' in shown
    table = nb.excluded_table(base)
    assert len(table) == len(base.excluded) == 20
    assert set(table.stage) == {"screening", "not retrieved", "eligibility"}
