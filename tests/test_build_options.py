"""Build options on a tiny project: --no-pdf, a failing PDF step, --question and --param.

The project has two small question files and a three-cell
question template, so each build runs real kernels on tiny notebooks (about a second each).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from synthesis import pages, report
from synthesis.cli import main
from synthesis.errors import UserInputError
from synthesis.report import build_reports

from .conftest import ROOT

QUESTION = """\
id: {id}
title: A test question
short_title: Test
plain_question: Do more mindful clinicians have better alliances?
pico:
  population: Clinicians
  intervention: Higher mindfulness
  comparator: Lower mindfulness
  outcomes: Alliance
outcomes:
  - id: alliance
    name: Therapeutic alliance
    measure: ZCOR
    scale: Pearson r
    direction: higher is better
inclusion:
  - Clinicians
designs: [cross-sectional]
"""


def make_project(root: Path) -> Path:
    questions = root / "evidence" / "questions"
    questions.mkdir(parents=True)
    (root / "evidence" / "studies").mkdir()
    for qid in ("q1_first", "q2_second"):
        (questions / f"{qid}.yaml").write_text(QUESTION.format(id=qid), encoding="utf-8")
    shutil.copy(ROOT / "references.bib", root / "references.bib")
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Title\n\nA page.", metadata={"tags": ["question-title"]}),
            new_code_cell(
                "QUESTION = None\nMETHOD = None\nTEST = None\nLEVEL = None\nPREPOST_R = None",
                metadata={"tags": ["parameters"]},
            ),
            new_code_cell('print(f"RAN {QUESTION} WITH METHOD={METHOD} LEVEL={LEVEL}")'),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    )
    (root / "notebooks").mkdir()
    nbformat.write(nb, root / "notebooks" / "_template_question.ipynb")
    return root


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(report, "package_digest", lambda: "0" * 64)
    return make_project(tmp_path)


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_no_pdf_writes_html_only_then_pdf_without_executing(project: Path) -> None:
    first = build_reports(project, pdf=False)
    assert first.executed == ("q1_first.ipynb", "q2_second.ipynb")
    reports = project / "reports"
    assert not list(reports.rglob("*.pdf"))
    assert (reports / "commissioner" / "q1_first.html").is_file()
    index = read(reports / "index.html")
    assert ".pdf" not in index and "Summary (PDF)" not in index  # it says what was built
    assert "summary for commissioners (web page and Word document, without code)" in index
    assert "PDF version" not in read(reports / "commissioner" / "q1_first.html")
    manifest = json.loads(read(reports / "manifest.json"))
    assert all("commissioner_pdf" not in e["outputs"] for e in manifest["notebooks"])
    # asking for PDFs later renders them from the cache: nothing is executed again
    second = build_reports(project)
    assert second.executed == ()
    assert (reports / "commissioner" / "q1_first.pdf").read_bytes()[:4] == b"%PDF"
    index = read(reports / "index.html")
    assert "summary for commissioners (web page, PDF and Word document, without code)" in index
    assert 'href="q1_first.pdf">PDF version' in read(reports / "commissioner" / "q1_first.html")


def test_failing_pdf_step_keeps_html_and_says_what_to_install(
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Without Pango, importing WeasyPrint raises OSError. The pages are rendered in worker
    # processes, which start with this process's sys.path: a stand-in package that fails
    # the same way, first on the path, simulates the missing libraries there.
    fake = tmp_path / "no_pango" / "weasyprint"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        "raise OSError(\"cannot load library 'libpango-1.0-0': No such file\")\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(fake.parent))
    assert main(["build", "--root", str(project)]) == 0
    err = capsys.readouterr().err
    assert "PDFs not written: WeasyPrint cannot run (cannot load library 'libpango-1.0-0'" in err
    assert "apt-get install libpango-1.0-0 libpangoft2-1.0-0" in err and "--no-pdf" in err
    reports = project / "reports"
    assert (reports / "commissioner" / "q2_second.html").is_file()
    assert not list(reports.rglob("*.pdf"))
    for name in ("q1_first", "q2_second"):  # no link to a PDF that is not there
        assert "PDF version" not in read(reports / "commissioner" / f"{name}.html")
    assert "(web page and Word document, without code)" in read(reports / "index.html")
    manifest = json.loads(read(reports / "manifest.json"))
    assert "libpango" in manifest["pdf_error"]
    # the next build (libraries installed) tries the PDFs again
    monkeypatch.undo()
    monkeypatch.setattr(report, "package_digest", lambda: "0" * 64)
    again = build_reports(project)
    assert again.executed == () and again.notes == ()
    assert (reports / "commissioner" / "q2_second.pdf").is_file()


def test_question_builds_one_question_and_keeps_the_others(project: Path) -> None:
    build_reports(project, pdf=False)
    reports = project / "reports"
    q2_page = read(reports / "commissioner" / "q2_second.html")
    for qid in ("q1_first", "q2_second"):
        path = project / "evidence" / "questions" / f"{qid}.yaml"
        path.write_text(read(path).replace("Do more", "Do all"), encoding="utf-8")
    lines: list[str] = []
    result = build_reports(project, pdf=False, question="q1_first", progress=lines.append)
    assert result.executed == ("q1_first.ipynb",)
    assert read(reports / "commissioner" / "q2_second.html") == q2_page  # kept as it was
    manifest = json.loads(read(reports / "manifest.json"))
    reasons = {e["name"]: e["reasons"] for e in manifest["notebooks"]}
    assert reasons == {
        "q1_first.ipynb": ["question q1_first changed"],
        "q2_second.ipynb": ["not rebuilt: --question q1_first"],
    }
    assert 'href="commissioner/q2_second.html"' in read(reports / "index.html")
    assert any("executing q1_first.ipynb" in line for line in lines)


def test_unknown_question_names_the_allowed_ones(project: Path) -> None:
    with pytest.raises(UserInputError, match=r"--question 'q9': no such question .allowed: "
                       r"q1_first, q2_second\)"):  # fmt: skip
        build_reports(project, question="q9")


def test_param_builds_a_variant_folder(project: Path) -> None:
    build_reports(project, pdf=False)
    before = read(project / "reports" / "manifest.json")
    assert main(["build", "--root", str(project), "--no-pdf", "--param", "method=dl",
                 "--param", "level=90"]) == 0  # fmt: skip
    variant = project / "reports-variants" / "DL_level90"
    page = read(variant / "academic" / "q1_first.html")
    assert "RAN q1_first WITH METHOD=DL LEVEL=90.0" in page
    manifest = json.loads(read(variant / "manifest.json"))
    assert manifest["provenance"]["parameters"] == {"method": "DL", "level": 90.0}
    assert read(project / "reports" / "manifest.json") == before  # reports/ untouched
    default = read(project / "reports" / "academic" / "q1_first.html")
    assert "RAN q1_first WITH METHOD=None LEVEL=None" in default


def test_bad_param_is_a_user_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "--root", str(project), "--param", "estimator=DL"]) == 1
    assert "unknown key 'estimator' (allowed: method, test, level, prepost_r, style)" in (
        capsys.readouterr().err
    )


def test_summary_formats_examples_run() -> None:
    import doctest

    assert doctest.testmod(pages, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0


def test_an_unchanged_build_stops_before_validating(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import synthesis.validate

    def build() -> str:
        assert main(["build", "--root", str(project), "--no-pdf"]) == 0
        return capsys.readouterr().out

    assert "validating" in build()
    manifest = project / "reports" / "manifest.json"
    written = read(manifest)
    assert json.loads(written)["stamp"]["digest"]
    with monkeypatch.context() as m:
        m.setattr(synthesis.validate, "validate", lambda *a, **k: pytest.fail("validated"))
        out = build()
        assert "nothing changed since the build of" in out and "is up to date" in out
        assert read(manifest) == written  # nothing was rewritten
    # a page edited or deleted, a changed question file, other options: a real build
    page = project / "reports" / "commissioner" / "q1_first.html"
    page.write_text(read(page) + " ", encoding="utf-8")
    assert "validating" in build() and "up to date" in build()
    question = project / "evidence" / "questions" / "q2_second.yaml"
    question.write_text(read(question).replace("A test question", "Another"), encoding="utf-8")
    assert "validating" in build() and "up to date" in build()
    assert main(["build", "--root", str(project)]) == 0  # with PDFs
    assert "validating" in capsys.readouterr().out
    assert main(["build", "--root", str(project), "--no-pdf", "--force"]) == 0
    assert "validating" in capsys.readouterr().out
