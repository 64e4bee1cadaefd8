"""The report build: execution, caching, rendering, provenance, failure and escaping.

Builds run real Jupyter kernels on tiny notebooks in a temporary project (about a
second per notebook executed); the whole file takes roughly half a minute.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from synthesis import buildinfo, pages, report
from synthesis.errors import UserInputError
from synthesis.report import BuildResult, NotebookFailed, build_reports

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
SCRIPT_TEXT = "<script>alert(1)</script>"


def write_notebook(path: Path, cells: list) -> None:
    nb = new_notebook(
        cells=cells,
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def alpha_cells(heading: str = 'Alpha & "friends" < 3 <em>tagged</em>') -> list:
    return [
        new_markdown_cell(f"# {heading}\n\nThe answer is below."),
        new_code_cell("import os\nprint(6 * 7)"),
        new_code_cell('print("ROOT=" + os.environ["SYNTHESIS_ROOT"])\nprint("CWD=" + os.getcwd())'),
        new_code_cell('print("ACADEMIC-ONLY-OUTPUT")', metadata={"tags": ["academic"]}),
        new_markdown_cell("ACADEMIC-ONLY-MARKDOWN", metadata={"tags": ["academic"]}),
        new_code_cell('print("REMOVED-EVERYWHERE")', metadata={"tags": ["remove"]}),
        new_code_cell(
            f"from IPython.display import HTML\nimport html\nHTML(html.escape({SCRIPT_TEXT!r}))"
        ),
        new_code_cell('import sys\nprint("STDERR-NOISE", file=sys.stderr)'),
        new_code_cell(
            "%config InlineBackend.figure_formats = ['svg']\n"
            "import matplotlib.pyplot as plt\n"
            "fig, ax = plt.subplots(figsize=(2, 2))\n"
            "ax.plot([0, 1], [0, 1])\n"
            "plt.show()"
        ),
    ]


def beta_cells(note: str = "First version.") -> list:
    return [new_markdown_cell(f"# Beta\n\n{note}"), new_code_cell("print('beta', 40 + 2)")]


def make_project(root: Path) -> Path:
    """A project with two notebooks to build and a template that must not be built."""
    (root / "evidence" / "studies").mkdir(parents=True)
    (root / "evidence" / "studies" / "a.yaml").write_text("id: a\n", encoding="utf-8")
    (root / "references.bib").write_text("@article{a, title={A}}\n", encoding="utf-8")
    write_notebook(root / "notebooks" / "01_alpha.ipynb", alpha_cells())
    write_notebook(root / "notebooks" / "02_beta.ipynb", beta_cells())
    write_notebook(
        root / "notebooks" / "_template_question.ipynb",
        [new_code_cell("raise RuntimeError('templates are not built')")],
    )
    return root


@pytest.fixture
def stable_package(monkeypatch: pytest.MonkeyPatch) -> None:
    """Freeze the package hash: other work on synthesis/ must not invalidate the cache."""
    monkeypatch.setattr(report, "package_digest", lambda: "0" * 64)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BuildResult, list[str]]:
    """One project built once, shared by the read-only tests."""
    root = make_project(tmp_path_factory.mktemp("built"))
    lines: list[str] = []
    result = build_reports(root, progress=lines.append)
    return root, result, lines


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- outputs


def test_build_writes_every_report(built: tuple[Path, BuildResult, list[str]]) -> None:
    root, result, lines = built
    reports = root / "reports"
    assert result.reports_dir == reports
    assert result.executed == ("01_alpha.ipynb", "02_beta.ipynb")
    assert result.cached == ()
    assert result.seconds > 0
    expected = {
        reports / "academic" / "01_alpha.html",
        reports / "academic" / "02_beta.html",
        reports / "commissioner" / "01_alpha.html",
        reports / "commissioner" / "02_beta.html",
        reports / "commissioner" / "01_alpha.pdf",
        reports / "commissioner" / "02_beta.pdf",
        reports / "commissioner" / "01_alpha.docx",
        reports / "commissioner" / "02_beta.docx",
        reports / "index.html",
        reports / "manifest.json",
    }
    assert set(result.outputs) == expected
    assert {p for p in reports.rglob("*") if p.is_file()} == expected
    assert not any("template" in p.name for p in reports.rglob("*"))
    assert "[1/2] executing 01_alpha.ipynb" in lines
    assert not list(root.glob("reports.tmp-*"))


def test_notebooks_see_root_and_run_in_notebooks_folder(
    built: tuple[Path, BuildResult, list[str]],
) -> None:
    root, _, _ = built
    html = read(root / "reports" / "academic" / "01_alpha.html")
    assert f"ROOT={root.resolve()}" in html
    assert f"CWD={(root / 'notebooks').resolve()}" in html
    assert "42" in html


def test_academic_report_has_code(built: tuple[Path, BuildResult, list[str]]) -> None:
    root, _, _ = built
    html = read(root / "reports" / "academic" / "01_alpha.html")
    assert "SYNTHESIS_ROOT" in html  # the code
    assert "ACADEMIC-ONLY-OUTPUT" in html
    assert "ACADEMIC-ONLY-MARKDOWN" in html
    assert "REMOVED-EVERYWHERE" not in html
    assert "commit" in html and "nbconvert" in html  # provenance footer


def test_commissioner_report_has_no_code_and_no_academic_cells(
    built: tuple[Path, BuildResult, list[str]],
) -> None:
    root, _, _ = built
    html = read(root / "reports" / "commissioner" / "01_alpha.html")
    assert "42" in html
    assert "The answer is below." in html
    for absent in (
        "print(",
        "SYNTHESIS_ROOT",
        "ACADEMIC-ONLY-OUTPUT",
        "ACADEMIC-ONLY-MARKDOWN",
        "REMOVED-EVERYWHERE",
        "STDERR-NOISE",
        "jp-InputPrompt",
        "jp-OutputPrompt",
        "In&nbsp;[",
    ):
        assert absent not in html, absent
    assert "<script" not in html.lower()
    assert "http://" not in html and "https://" not in html  # nothing fetched from a CDN
    assert "<svg" in html or "data:image/svg+xml" in html  # the figure is embedded
    assert 'href="../index.html"' in html


def test_pdf_is_written(built: tuple[Path, BuildResult, list[str]]) -> None:
    root, _, _ = built
    for name in ("01_alpha", "02_beta"):
        data = (root / "reports" / "commissioner" / f"{name}.pdf").read_bytes()
        assert data.startswith(b"%PDF")
        assert len(data) > 1000


def test_index_links_every_report_with_titles(built: tuple[Path, BuildResult, list[str]]) -> None:
    root, _, _ = built
    html = read(root / "reports" / "index.html")
    for name in ("01_alpha", "02_beta"):
        for link in (
            f"academic/{name}.html",
            f"commissioner/{name}.html",
            f"commissioner/{name}.pdf",
        ):
            assert f'href="{link}"' in html
    # the heading, as text: tags dropped, everything else escaped
    assert "Alpha &amp; &#34;friends&#34; &lt; 3 tagged" in html
    assert "<title>Reports</title>" in html
    assert "Beta" in html
    assert "<script" not in html.lower()
    assert TIMESTAMP.search(html)


def test_manifest_records_provenance_and_hashes(
    built: tuple[Path, BuildResult, list[str]],
) -> None:
    root, _, _ = built
    reports = root / "reports"
    manifest = json.loads(read(reports / "manifest.json"))
    prov = manifest["provenance"]
    assert set(prov) == {
        "package_version",
        "git_commit",
        "git_dirty",
        "evidence_sha256",
        "versions",
        "built_at",
    }
    assert prov["evidence_sha256"] == report.evidence_digest(root)
    assert {"python", "pandas", "PyMARE", "nbconvert"} <= set(prov["versions"])
    assert TIMESTAMP.fullmatch(prov["built_at"])
    assert [nb["name"] for nb in manifest["notebooks"]] == ["01_alpha.ipynb", "02_beta.ipynb"]
    for entry in manifest["notebooks"]:
        assert entry["status"] == "executed"
        assert re.fullmatch(r"[0-9a-f]{64}", entry["cache_key"])
        assert set(entry["outputs"]) == {
            "academic_html",
            "commissioner_html",
            "commissioner_pdf",
            "commissioner_docx",
        }
        for item in entry["outputs"].values():
            assert item["sha256"] == buildinfo.sha256_file(reports / item["path"])
    assert manifest["index"]["sha256"] == buildinfo.sha256_file(reports / "index.html")
    text = read(reports / "manifest.json")
    assert text == json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def test_output_text_is_escaped(built: tuple[Path, BuildResult, list[str]]) -> None:
    root, _, _ = built
    for audience in ("academic", "commissioner"):
        html = read(root / "reports" / audience / "01_alpha.html")
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<script>alert(1)" not in html


def test_footer_shows_provenance(built: tuple[Path, BuildResult, list[str]]) -> None:
    root, _, _ = built
    manifest = json.loads(read(root / "reports" / "manifest.json"))
    prov = manifest["provenance"]
    for page in ("academic/02_beta.html", "commissioner/02_beta.html", "index.html"):
        html = read(root / "reports" / page)
        footer = html[html.index('<footer class="provenance">') :]
        assert prov["evidence_sha256"] in footer
        assert f"synthesis {prov['package_version']}" in footer
        assert f"PyMARE {prov['versions']['PyMARE']}" in footer
        assert f"pandas {prov['versions']['pandas']}" in footer
        assert TIMESTAMP.search(footer)


# --------------------------------------------------------------------------- caching


def test_cache_reexecutes_only_what_changed(tmp_path: Path, stable_package: None) -> None:
    root = make_project(tmp_path)
    first = build_reports(root)
    assert first.executed == ("01_alpha.ipynb", "02_beta.ipynb")
    page_before = read(root / "reports" / "commissioner" / "01_alpha.html")

    lines: list[str] = []
    second = build_reports(root, progress=lines.append)
    assert second.executed == ()
    assert second.cached == ("01_alpha.ipynb", "02_beta.ipynb")
    assert any("02_beta.ipynb: cached" in line for line in lines)
    # unchanged pages are kept byte for byte
    assert read(root / "reports" / "commissioner" / "01_alpha.html") == page_before

    # a markdown edit re-executes that notebook only
    write_notebook(root / "notebooks" / "02_beta.ipynb", beta_cells("Second version."))
    third = build_reports(root)
    assert third.executed == ("02_beta.ipynb",)
    assert "Second version." in read(root / "reports" / "commissioner" / "02_beta.html")
    manifest = json.loads(read(root / "reports" / "manifest.json"))
    assert [e["status"] for e in manifest["notebooks"]] == ["cached", "executed"]

    # the evidence changes every notebook's inputs
    (root / "evidence" / "studies" / "b.yaml").write_text("id: b\n", encoding="utf-8")
    assert build_reports(root).executed == ("01_alpha.ipynb", "02_beta.ipynb")
    (root / "references.bib").write_text("@article{b, title={B}}\n", encoding="utf-8")
    assert build_reports(root).executed == ("01_alpha.ipynb", "02_beta.ipynb")

    assert build_reports(root, force=True).executed == ("01_alpha.ipynb", "02_beta.ipynb")


def test_cache_key_inputs(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    before = report.evidence_digest(root)
    (root / "evidence" / ".DS_Store").write_bytes(b"junk")
    assert report.evidence_digest(root) == before  # hidden files do not count
    (root / "evidence" / "studies" / "a.yaml").write_text("id: a2\n", encoding="utf-8")
    assert report.evidence_digest(root) != before
    assert re.fullmatch(r"[0-9a-f]{64}", report.package_digest())

    nb = json.loads(read(root / "notebooks" / "02_beta.ipynb"))
    stripped = buildinfo.strip_for_key(nb)
    nb["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "x"}]
    nb["cells"][1]["execution_count"] = 7
    assert buildinfo.strip_for_key(nb) == stripped  # outputs do not count
    nb["cells"][0]["source"] = "# Beta\n\nChanged."
    assert buildinfo.strip_for_key(nb) != stripped  # markdown does


# ----------------------------------------------------------------------- determinism


def mask(text: str) -> str:
    return TIMESTAMP.sub("<TIMESTAMP>", text)


def test_forced_builds_are_identical_apart_from_the_time(
    tmp_path: Path, stable_package: None
) -> None:
    root = make_project(tmp_path)
    build_reports(root, force=True)
    reports = root / "reports"
    pages = sorted(p.relative_to(reports) for p in reports.rglob("*.html"))
    first = {p: read(reports / p) for p in pages}
    manifest1 = json.loads(read(reports / "manifest.json"))
    build_reports(root, force=True)
    assert sorted(p.relative_to(reports) for p in reports.rglob("*.html")) == pages
    for page in pages:
        assert mask(read(reports / page)) == mask(first[page]), page
    assert "data:image/svg+xml" in first[Path("academic/01_alpha.html")]  # SVG ids are salted
    manifest2 = json.loads(read(reports / "manifest.json"))
    for entry1, entry2 in zip(manifest1["notebooks"], manifest2["notebooks"], strict=True):
        assert entry1["cache_key"] == entry2["cache_key"]


# --------------------------------------------------------------------------- failure


def test_failing_notebook_leaves_previous_reports(tmp_path: Path, stable_package: None) -> None:
    root = make_project(tmp_path)
    build_reports(root)
    reports = root / "reports"
    before = {p: p.read_bytes() for p in reports.rglob("*") if p.is_file()}

    write_notebook(
        root / "notebooks" / "03_broken.ipynb",
        [
            new_markdown_cell("# Broken"),
            new_code_cell("x = 1"),
            new_code_cell("raise ValueError('the effect size is negative zero')"),
            new_code_cell("print('never')"),
        ],
    )
    write_notebook(root / "notebooks" / "04_also_broken.ipynb", [new_code_cell("1 / 0")])
    with pytest.raises(NotebookFailed) as info:
        build_reports(root, jobs=2)  # 03 and 04 run side by side: both fail
    error = info.value
    assert isinstance(error, UserInputError)
    assert error.notebook == "03_broken.ipynb"
    assert error.cell_index == 2
    assert error.ename == "ValueError"
    message = str(error)
    assert "03_broken.ipynb" in message
    assert "cell 2" in message
    assert "ValueError: the effect size is negative zero" in message
    assert error.saved is not None and error.saved.is_file()
    assert "also failed: 04_also_broken.ipynb (ZeroDivisionError)" in message

    after = {p: p.read_bytes() for p in reports.rglob("*") if p.is_file()}
    assert after == before
    assert not list(root.glob("reports.tmp-*"))
    assert not list(root.glob("reports.old-*"))


def test_timeout_is_reported(tmp_path: Path, stable_package: None) -> None:
    write_notebook(
        tmp_path / "notebooks" / "01_slow.ipynb",
        [new_code_cell("import time\ntime.sleep(30)")],
    )
    with pytest.raises(NotebookFailed, match=r"01_slow\.ipynb.*cell 0.*longer than 1 s"):
        build_reports(tmp_path, timeout=1)
    assert not (tmp_path / "reports").exists()


def test_no_notebooks_is_a_user_error(tmp_path: Path) -> None:
    write_notebook(tmp_path / "notebooks" / "_template_question.ipynb", beta_cells())
    with pytest.raises(UserInputError, match="no notebooks to build"):
        build_reports(tmp_path)


def test_invalid_notebook_is_a_user_error(tmp_path: Path) -> None:
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "01_bad.ipynb").write_text("{not json", encoding="utf-8")
    with pytest.raises(UserInputError, match=r"01_bad\.ipynb: not a valid notebook"):
        build_reports(tmp_path)


# ------------------------------------------------------------------------ small parts


@pytest.mark.parametrize(
    ("cells", "title"),
    [
        ([new_markdown_cell("# Does **it** work?\n\ntext")], "Does it work?"),
        ([new_code_cell("1"), new_markdown_cell("intro\n\n## Second `level`")], "Second level"),
        ([new_markdown_cell("Setext title\n============")], "Setext title"),
        ([new_markdown_cell("# x < 3 and y > 2 [link](http://e.org)")], "x < 3 and y > 2 link"),
        ([new_markdown_cell("no heading")], "fallback"),
    ],
)
def test_notebook_title(cells: list, title: str) -> None:
    assert report.notebook_title(new_notebook(cells=cells), "fallback") == title


def test_discover_skips_underscore_notebooks(tmp_path: Path) -> None:
    for name in ("02_b.ipynb", "01_a.ipynb", "_template_question.ipynb"):
        write_notebook(tmp_path / "notebooks" / name, [])
    (tmp_path / "notebooks" / "notes.txt").write_text("x", encoding="utf-8")
    assert [p.name for p in report.discover_notebooks(tmp_path)] == ["01_a.ipynb", "02_b.ipynb"]


def test_pdf_renderer_never_fetches_remote_urls(tmp_path: Path) -> None:
    fetcher = pages._offline_fetcher((tmp_path,))
    call: Callable[[str], object] = fetcher.fetch if hasattr(fetcher, "fetch") else fetcher
    for url in ("https://example.org/x.png", "http://127.0.0.1:1/x.css", "ftp://e.org/x"):
        with pytest.raises(ValueError, match="offline"):
            call(url)
    with pytest.raises(ValueError, match="outside the project"):
        call("file:///etc/passwd")
    (tmp_path / "a.css").write_text("p {}", encoding="utf-8")
    call((tmp_path / "a.css").as_uri())  # a local file inside the project is fine


def test_provenance_outside_git(tmp_path: Path) -> None:
    prov = report.provenance(tmp_path)
    assert prov["git_commit"] == "unknown"
    assert prov["git_dirty"] is None
    assert prov["versions"]["python"].count(".") == 2


def test_importing_the_module_is_cheap() -> None:
    code = (
        "import sys, synthesis.report\n"
        "heavy = [m for m in ('nbclient', 'nbconvert', 'weasyprint', 'pandas', 'jinja2')"
        " if m in sys.modules]\n"
        "print(heavy)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_build_from_a_running_event_loop(tmp_path: Path) -> None:
    """Called from Jupyter (an event loop is running), the build still works."""
    import asyncio

    write_notebook(tmp_path / "notebooks" / "01_beta.ipynb", beta_cells())

    async def main() -> BuildResult:
        return build_reports(tmp_path, jobs=1)

    result = asyncio.run(main())
    assert result.executed == ("01_beta.ipynb",)
    assert "beta 42" in read(tmp_path / "reports" / "commissioner" / "01_beta.html")
