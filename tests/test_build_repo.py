"""End to end: `synthesis build` on (a copy of) this repository's evidence and notebooks.

One build serves every test here (about 15-25 s on 2 cores). It checks that reports carry
the same numbers as the analysis (and so as `synthesis pool`), that text from records is
escaped, that a student's new study appears in the reports, and, in Chromium, that the
pages render the pooled numbers without script errors.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from synthesis.analysis import analyse, analyse_question
from synthesis.cli import main
from synthesis.plain import fmt_interval, fmt_value
from synthesis.validate import load_evidence

from .conftest import ROOT
from .test_report_browser import chromium, dump_dom  # noqa: F401 - fixture reuse

NEW_STUDY = """\
id: student2026
citation: student2026mindful
design: cross-sectional
status: published
population:
  description: Psychotherapists
  n: 120
  source: abstract
sources:
  abstract:
    doi: 10.1000/student.2026
    where: abstract
outcomes:
  - question: q1_alliance
    outcome: alliance
    name: Working alliance (WAI)
    source: abstract
    data:
      kind: correlation
      r: 0.25
      n: 120
notes:
  - "<script>alert('note')</script> must show as text"
"""
#: A student's result reported only as "p = .032 between groups, n 25 and 23".
P_ONLY_STUDY = """\
id: student2026p
citation: student2026ponly
label: Student 2026 (p only)
design: randomised controlled
status: published
population:
  description: Ward nurses
  n: 48
  source: abstract
sources:
  abstract:
    doi: 10.1000/student.2026p
    where: abstract
outcomes:
  - question: q2_mindfulness_training
    outcome: self_compassion_controlled
    name: Self-compassion, training versus waitlist
    timepoint: end of the course
    timepoint_weeks: {value: 0, derived: "the end of the course: 0 weeks after it"}
    timepoint_from: end of intervention
    source: abstract
    data:
      kind: narrative
      direction: favours intervention
      p: 0.032
      test: two-sample t
      n1: 25
      n2: 23
      missing: group means and SDs
"""
NEW_BIB = """
@article{student2026mindful,
  author = {Student, Ann},
  title = {A Test Study Added by a Student},
  journal = {Journal of Tests}, year = {2026}, doi = {10.1000/student.2026}}
@article{student2026ponly,
  author = {Student, Bea},
  title = {A Trial Reported by Its p Value},
  journal = {Journal of Tests}, year = {2026}, doi = {10.1000/student.2026p}}
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("repo")
    for name in ("evidence", "notebooks"):
        shutil.copytree(ROOT / name, root / name)
    shutil.copy(ROOT / "references.bib", root / "references.bib")
    (root / "evidence/studies/student2026.yaml").write_text(NEW_STUDY, encoding="utf-8")
    (root / "evidence/studies/student2026p.yaml").write_text(P_ONLY_STUDY, encoding="utf-8")
    with open(root / "references.bib", "a", encoding="utf-8") as fh:
        fh.write(NEW_BIB)
    assert main(["build", "--root", str(root)]) == 0
    return root


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_reports_exist(built):
    reports = built / "reports"
    for name in ("00_evidence_base", "q1_alliance", "q2_mindfulness_training",
                 "q3_open_dialogue"):  # fmt: skip
        assert (reports / "academic" / f"{name}.html").is_file()
        assert (reports / "commissioner" / f"{name}.html").is_file()
        assert (reports / "commissioner" / f"{name}.pdf").read_bytes()[:4] == b"%PDF"
    assert not (reports / "academic" / "_template_question.html").exists()
    manifest = json.loads(read(reports / "manifest.json"))
    prov = manifest["provenance"]
    assert prov["package_version"] and prov["git_commit"] and len(prov["evidence_sha256"]) == 64
    assert {"python", "pandas", "PyMARE", "nbconvert"} <= set(prov["versions"])


def test_student_study_is_pooled_and_shown(built):
    """The new record makes Q1 poolable (it and the nurses' study): numbers match the analysis."""
    base = load_evidence(built)
    a = analyse(base, "q1_alliance", "alliance")
    assert a.fit is not None and "Student 2026" in a.fit.slab
    nat = a.natural()
    expected = (f"{fmt_value(nat.estimate, a.measure)} (95% CI "
                f"{fmt_interval(nat.ci_lb, nat.ci_ub, a.measure)})")  # fmt: skip
    page = read(built / "reports/commissioner/q1_alliance.html")
    assert expected in page
    assert "Student 2026" in page
    academic = read(built / "reports/academic/q1_alliance.html")
    assert "Student, A. (2026). A Test Study Added by a Student." in academic


@pytest.mark.parametrize("question", ["q2_mindfulness_training", "q3_open_dialogue"])
def test_swim_section_and_plots_on_academic_and_commissioner_pages(built, question):
    for side in ("academic", "commissioner"):
        page = read(built / f"reports/{side}/{question}.html")
        assert "Synthesis without meta-analysis" in page
        assert "<title>Albatross plot" in page and "<title>Effect direction plot" in page
        assert "Sign test p (two-sided)" in page  # the vote-count table
    academic = read(built / f"reports/academic/{question}.html")
    assert "9. Limitations of the synthesis" in academic
    commissioner = read(built / f"reports/commissioner/{question}.html")
    assert "9. Limitations of the synthesis" not in commissioner


def test_student_p_only_result_in_votes_albatross_and_as_derived_smd(built):
    academic = read(built / "reports/academic/q2_mindfulness_training.html")
    commissioner = read(built / "reports/commissioner/q2_mindfulness_training.html")
    for page in (academic, commissioner):
        assert "Student 2026 (p only): n = 48, p = 0.032." in page  # albatross text alternative
    assert "Student 2026 (p only) (derived from p)" in academic  # forest-plot label
    assert "derived from p: two-sample t test, p = 0.032" in academic  # effect-size table
    base = load_evidence(built)
    a = analyse(base, "q2_mindfulness_training", "self_compassion_controlled")
    row = next(r for r in a.rows if r.study == "student2026p")
    assert row.status == "pooled" and row.from_p and row.direction == 1
    assert "student2026p" in {
        r.study for r in __import__("synthesis.swim_outcomes").swim_outcomes.outcome_swim(a).voters
    }


def test_a_third_study_pools_self_compassion_with_the_heterogeneity_lines(built):
    """With the student's trial, self-compassion versus control reaches the plan's min_k
    of 3: pooled, with RevMan's lines under the diamond on both pages."""
    commissioner = read(built / "reports/commissioner/q2_mindfulness_training.html")
    academic = read(built / "reports/academic/q2_mindfulness_training.html")
    assert "Heterogeneity: between-study variance" in commissioner
    assert "Test for overall effect" in commissioner
    assert "Heterogeneity: τ² = " in academic
    a = analyse(load_evidence(built), "q2_mindfulness_training", "self_compassion_controlled")
    assert a.k == 3 and a.fit is not None


def test_record_text_is_escaped(built):
    # study notes are listed in full on the academic page (the brief keeps only key gaps)
    page = read(built / "reports/academic/q1_alliance.html")
    assert ("&lt;script&gt;alert('note')&lt;/script&gt;" in page
            or "&lt;script&gt;alert(&#x27;note&#x27;)&lt;/script&gt;" in page)  # fmt: skip
    assert "<script>alert(" not in page
    assert "<script>alert(" not in read(built / "reports/commissioner/q1_alliance.html")


def test_commissioner_pages_have_no_code(built):
    page = read(built / "reports/commissioner/q2_mindfulness_training.html")
    assert "analyse_question(" not in page
    assert "Certainty (GRADE)" in page
    assert "nb.per_outcome" not in page


QUESTION_PAGES = ("q1_alliance", "q2_mindfulness_training", "q3_open_dialogue")


def test_every_brief_is_also_a_word_document_with_the_same_content(built):
    """The DOCX brief: the page's headings, its SoF table row for row, its figures with alt text."""
    from bs4 import BeautifulSoup
    from docx import Document

    index = read(built / "reports/index.html")
    for name in QUESTION_PAGES:
        assert f"commissioner/{name}.docx" in index
        soup = BeautifulSoup(read(built / f"reports/commissioner/{name}.html"), "html.parser")
        doc = Document(str(built / f"reports/commissioner/{name}.docx"))
        headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
        page_headings = [h.get_text(" ", strip=True) for h in soup.main.find_all(
            ["h1", "h2", "h3", "h4", "h5", "h6"])]  # fmt: skip
        assert headings == [h.rstrip("¶").strip() for h in page_headings if h]
        text = "\n".join(p.text for p in doc.paragraphs)
        assert "Key" in text and "certainty" in text.lower()
        # the summary-of-findings table: as many rows as the page's, one per outcome
        (page_sof,) = soup.find_all("table", class_="sof")
        (sof,) = [t for t in doc.tables if "outcome" in t.rows[0].cells[0].text.lower()
                  and "relative effect" in " ".join(c.text.lower() for c in t.rows[0].cells)]  # fmt: skip
        assert len(sof.rows) == len(page_sof.find_all("tr"))
        base = load_evidence(built)
        outcomes = page_sof.find("tbody").find_all("th", scope="row")
        assert len(outcomes) == min(len(analyse_question(base, name)), 7)  # GRADE: at most 7
        # every figure of the page is a picture with a text alternative
        figures = soup.main.find_all(["svg", "img"])
        shapes = list(doc.inline_shapes)
        assert len(shapes) == len(figures) > 0
        assert all(s._inline.docPr.get("descr") for s in shapes)
        assert "Built by synthesis" in text  # the provenance line


def test_build_writes_the_open_data_package(built):
    import csv

    data = built / "reports/data"
    assert {p.name for p in data.iterdir()} == {
        "datapackage.json", "effect_sizes.csv", "pooled_results.csv", "vote_counts.csv"}  # fmt: skip
    manifest = json.loads(read(built / "reports/manifest.json"))
    assert set(manifest["data"]["files"]) == {f"data/{p.name}" for p in data.iterdir()}
    with open(data / "pooled_results.csv", encoding="utf-8") as fh:
        rows = {r["outcome"]: r for r in csv.DictReader(fh) if r["question"] == "q1_alliance"}
    a = analyse(load_evidence(built), "q1_alliance", "alliance")
    assert float(rows["alliance"]["estimate"]) == a.fit.estimate  # the student's study pooled
    # an unchanged rebuild carries the package over (same key, same bytes)
    before = {p.name: p.read_bytes() for p in data.iterdir()}
    assert main(["build", "--root", str(built)]) == 0
    again = json.loads(read(built / "reports/manifest.json"))
    assert again["data"] == manifest["data"] and again["data"]["key"]
    assert {p.name: p.read_bytes() for p in data.iterdir()} == before


@pytest.mark.browser
def test_pages_render_pooled_numbers_in_chromium(built, chromium, tmp_path):  # noqa: F811
    base = load_evidence(built)
    # pooled here: DBT Zen, Verweij 2018 and the student's p-only trial (the plan's min_k 3)
    a = analyse(base, "q2_mindfulness_training", "self_compassion_controlled")
    nat = a.natural()
    number = fmt_value(nat.estimate, a.measure)
    dom, log = dump_dom(chromium, built / "reports/commissioner/q2_mindfulness_training.html",
                        tmp_path / "p1")  # fmt: skip
    assert number in dom
    assert "Uncaught" not in log
    dom, log = dump_dom(chromium, built / "reports/index.html", tmp_path / "p2")
    assert "Q2. Mindfulness training" in dom
    assert "Uncaught" not in log
