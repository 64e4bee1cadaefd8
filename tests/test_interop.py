"""Word output and open data: the DOCX writer, `synthesis sof --format docx`, `synthesis export`.

The end-to-end checks on a real build (a DOCX brief per question, reports/data/) are in
tests/test_build_repo.py, which builds the repository once for all its tests.
"""

from __future__ import annotations

import csv
import json
import math

import pytest
from docx import Document

from synthesis.analysis import analyse_question
from synthesis.cli import main
from synthesis.errors import UserInputError
from synthesis.export import TABLES, export_package
from synthesis.swim_outcomes import outcome_swim
from synthesis.validate import load_evidence
from synthesis.wordbrief import html_to_docx

from .conftest import ROOT

SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="200pt" height="100pt" viewBox="0 0 200 100" '
    'role="img" aria-label="Forest plot of 3 studies"><rect width="200" height="100" '
    'fill="#fff"/><line x1="0" y1="50" x2="200" y2="50" stroke="#000"/></svg>'
)
PAGE = f"""<html><head><title>Q9 brief</title></head><body>
<nav><a href="../index.html">All reports</a></nav>
<main>
<h1>Q9. A question</h1>
<h2>Key messages</h2>
<ul><li>Training <strong>may reduce</strong> burnout (low certainty).</li>
<li>Nothing is known about harms.</li></ul>
<p>See <a href="https://doi.org/10.1000/x">the study</a> and
<a href="javascript:alert(1)">this</a>.</p>
<table><tr><th>Outcome</th><th colspan="2">Effect</th></tr>
<tr><td>Burnout</td><td>-0.5</td><td>low<sup>a</sup></td></tr></table>
<figure>{SVG}<figcaption>Figure 1</figcaption></figure>
<script>alert('x')</script>
</main>
<footer class="provenance"><p>Built from commit <code>abc123</code></p></footer>
</body></html>"""


def test_html_to_docx_keeps_structure_tables_links_and_figures(tmp_path):
    target = tmp_path / "brief.docx"
    html_to_docx(PAGE, target)
    doc = Document(str(target))
    assert doc.core_properties.title == "Q9 brief"
    styles = [(p.style.name, p.text) for p in doc.paragraphs if p.text]
    assert ("Heading 1", "Q9. A question") in styles
    assert ("Heading 2", "Key messages") in styles
    bullets = [t for s, t in styles if s == "List Bullet"]
    assert bullets == [
        "Training may reduce burnout (low certainty).",
        "Nothing is known about harms.",
    ]
    bold = [r.text for p in doc.paragraphs for r in p.runs if r.bold]
    assert "may reduce" in bold
    # the navigation and the script are not content; the provenance line is
    text = "\n".join(t for _, t in styles)
    assert "All reports" not in text and "alert" not in text
    assert "Built from commit abc123" in text
    # only http(s) links become hyperlinks; a javascript: link stays plain text
    xml = doc.element.xml
    assert xml.count("<w:hyperlink") == 1
    rels = [r.target_ref for r in doc.part.rels.values() if r.is_external]
    assert rels == ["https://doi.org/10.1000/x"]
    # a real Word table, the colspan merged, the footnote letter superscript
    (table,) = doc.tables
    assert len(table.rows) == 2 and len(table.columns) == 3
    assert table.cell(0, 1).text == "Effect" and table.cell(0, 1)._tc is table.cell(0, 2)._tc
    assert any(r.font.superscript for r in table.cell(1, 2).paragraphs[0].runs)
    # the SVG became a picture with the figure's own text alternative
    (shape,) = list(doc.inline_shapes)
    assert shape._inline.docPr.get("descr") == "Forest plot of 3 studies"


def test_same_page_gives_the_same_bytes(tmp_path):
    html_to_docx(PAGE, tmp_path / "a.docx")
    html_to_docx(PAGE, tmp_path / "b.docx")
    assert (tmp_path / "a.docx").read_bytes() == (tmp_path / "b.docx").read_bytes()
    assert Document(str(tmp_path / "a.docx")).core_properties.author == "synthesis"


def test_figure_without_alt_takes_its_caption(tmp_path):
    page = f"<figure>{SVG.replace('aria-label=', 'data-x=')}<figcaption>Risk of bias</figcaption></figure>"
    html_to_docx(page, tmp_path / "x.docx")
    (shape,) = list(Document(str(tmp_path / "x.docx")).inline_shapes)
    assert shape._inline.docPr.get("descr") == "Risk of bias"


def test_raster_cache_reuses_figures_and_recovers_from_damage(tmp_path, monkeypatch):
    """A rebuild rasterises only changed figures; a damaged PNG is rasterised again."""
    import cairosvg

    cache = tmp_path / "png"
    html_to_docx(PAGE, tmp_path / "plain.docx")
    html_to_docx(PAGE, tmp_path / "first.docx", raster_cache=cache)
    (kept,) = cache.glob("*.png")
    calls = []
    real = cairosvg.svg2png

    def counting(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(cairosvg, "svg2png", counting)
    html_to_docx(PAGE, tmp_path / "second.docx", raster_cache=cache)
    assert calls == []  # the same figure: taken from the cache
    # the document is the same with or without the cache
    for name in ("first", "second"):
        assert (tmp_path / f"{name}.docx").read_bytes() == (tmp_path / "plain.docx").read_bytes()
    kept.write_bytes(kept.read_bytes()[:40])  # truncated: never used
    html_to_docx(PAGE, tmp_path / "third.docx", raster_cache=cache)
    assert len(calls) == 1
    assert (tmp_path / "third.docx").read_bytes() == (tmp_path / "plain.docx").read_bytes()
    changed = PAGE.replace('y1="50" x2="200" y2="50"', 'y1="40" x2="200" y2="40"')
    html_to_docx(changed, tmp_path / "fourth.docx", raster_cache=cache)
    assert len(calls) == 2 and len(list(cache.glob("*.png"))) == 2  # a changed figure


def test_unwritable_target_is_a_user_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserInputError, match="cannot write the Word file"):
        html_to_docx("<p>x</p>", tmp_path / "file" / "brief.docx")


def test_sof_docx_has_one_table_per_question_with_a_row_per_outcome(tmp_path, capsys):
    target = tmp_path / "sof.docx"
    assert main(["sof", "--root", str(ROOT), "--format", "docx", "--output", str(target)]) == 0
    doc = Document(str(target))
    base = load_evidence(ROOT)
    headings = [p.text for p in doc.paragraphs if p.style.name == "Heading 2"]
    assert headings == sorted(base.questions)
    for qid, table in zip(headings, doc.tables, strict=True):
        assert len(table.rows) == 1 + len(analyse_question(base, qid))
        header = [c.text for c in table.rows[0].cells]
        assert "outcome" in header and "certainty" in header
    # the GRADE definitions of the four levels are printed under the tables
    notes = " ".join(p.text for p in doc.paragraphs)
    for level in ("High certainty", "Moderate certainty", "Low certainty", "Very low certainty"):
        assert level in notes


def test_sof_docx_needs_an_output_file(capsys):
    assert main(["sof", "--root", str(ROOT), "--format", "docx"]) == 1
    assert "--output FILE.docx" in capsys.readouterr().err


def _rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_export_writes_a_valid_data_package_whose_numbers_equal_the_analysis(tmp_path):
    frictionless = pytest.importorskip("frictionless")
    out = tmp_path / "data"
    assert main(["export", "--root", str(ROOT), "--output", str(out)]) == 0
    report = frictionless.validate(str(out / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    package = json.loads((out / "datapackage.json").read_text(encoding="utf-8"))
    for resource in package["resources"]:
        name = resource["path"].removesuffix(".csv")
        declared = [f["name"] for f in resource["schema"]["fields"]]
        assert declared == [c.name for c in TABLES[name][1]]
        assert all(f.get("description") for f in resource["schema"]["fields"])
        with open(out / resource["path"], encoding="utf-8") as fh:
            assert fh.readline().strip().split(",") == declared

    base = load_evidence(ROOT)
    pooled = {(r["question"], r["outcome"]): r for r in _rows(out / "pooled_results.csv")}
    effects = _rows(out / "effect_sizes.csv")
    vote_rows = _rows(out / "vote_counts.csv")
    n_rows = 0
    for qid in base.questions:
        for a in analyse_question(base, qid):
            row = pooled[(qid, a.outcome.id)]
            assert int(row["k"]) == a.k
            if a.fit is None:
                assert row["estimate"] == "" and row["reason"] == a.reason
            else:
                # written with full precision: the same floats as the analysis
                assert float(row["estimate"]) == a.fit.estimate
                assert float(row["ci_lb"]) == a.fit.ci_lb and float(row["ci_ub"]) == a.fit.ci_ub
                assert float(row["tau2"]) == a.fit.tau2
                assert row["method"] == a.settings.method and row["test"] == a.settings.test
            mine = [e for e in effects if e["question"] == qid and e["outcome"] == a.outcome.id]
            assert [e["record"] for e in mine] == [r.study for r in a.rows]
            for e, r in zip(mine, a.rows, strict=True):
                assert e["status"] == r.status
                if math.isfinite(r.yi):
                    assert float(e["yi"]) == r.yi and float(e["vi"]) == r.vi
                else:
                    assert e["yi"] == ""
            n_rows += len(mine)
            # vote counts: the same numbers the SWiM sections of the reports show
            swim = outcome_swim(a)
            votes = [v for v in vote_rows if (v["question"], v["outcome"]) == (qid, a.outcome.id)]
            if swim.votes is None:
                assert votes == []
            else:
                (v,) = votes
                assert (int(v["positive"]), int(v["negative"]), int(v["null"])) == (
                    swim.votes.positive, swim.votes.negative, swim.votes.null)  # fmt: skip
                assert float(v["sign_test_p"]) == swim.votes.sign_test_p
                if swim.combined is not None:
                    assert float(v["fisher_p"]) == swim.combined.fisher_p
                    assert v["combined_p_bound"] == swim.combined.bound
    assert n_rows == len(effects)
    assert vote_rows, "the evidence base has outcomes with a vote count"


def test_export_one_question_and_bad_input(tmp_path, capsys):
    out = tmp_path / "q3"
    export_package(load_evidence(ROOT), out, questions=["q3_open_dialogue"])
    assert {r["question"] for r in _rows(out / "effect_sizes.csv")} == {"q3_open_dialogue"}
    assert main(["export", "--root", str(ROOT), "--output", str(out), "--question", "q9"]) == 1
    assert "question 'q9' does not exist" in capsys.readouterr().err
    (tmp_path / "afile").write_text("x")
    assert main(["export", "--root", str(ROOT), "--output", str(tmp_path / "afile")]) == 1
    assert "cannot create the output folder" in capsys.readouterr().err
