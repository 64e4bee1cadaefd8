"""Render an executed notebook as the reports' pages: HTML for two audiences, PDF, Word.

:class:`Renderer` holds the nbconvert exporters (templates in ``synthesis/templates/``):
the academic page keeps the code; the commissioner page drops code, cells tagged
``academic`` and error output, and is also written as a PDF (WeasyPrint, offline,
PDF/UA-1) and a Word document (:func:`synthesis.wordbrief.html_to_docx`).
:func:`render_index` writes the reports' front page.

nbconvert, WeasyPrint and Jinja are imported inside the functions that use them, so
importing this module is cheap.
"""

from __future__ import annotations

import contextlib
import html
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthesis.wordbrief import html_to_docx

if TYPE_CHECKING:
    from synthesis.report import _Job

__all__ = [
    "ACADEMIC_TAGS",
    "COMMISSIONER_TAGS",
    "REMOVE_TAGS",
    "TEMPLATES",
    "Renderer",
    "render_index",
    "stack_tables",
    "summary_formats",
    "write_pdf",
]

#: The page templates and stylesheet (package data).
TEMPLATES = Path(__file__).resolve().parent / "templates"
# Flat files (package data is ``templates/*``), found through ``extra_template_paths``
# and built on nbconvert's ``lab`` template.
_ACADEMIC_TEMPLATE = "academic.html.j2"
_COMMISSIONER_TEMPLATE = "commissioner.html.j2"

# Tags: cells removed from every report, and cells removed from commissioner reports.
REMOVE_TAGS = frozenset({"remove"})
ACADEMIC_TAGS = frozenset({"academic"})
#: Cells shown on commissioner pages only (e.g. a plain-language version of a figure).
COMMISSIONER_TAGS = frozenset({"commissioner"})


class Renderer:
    """nbconvert exporters and WeasyPrint, created once per build (used from one thread)."""

    def __init__(
        self, prov: dict[str, Any], *, pdf: bool = True, raster_cache: Path | None = None
    ) -> None:
        from nbconvert import HTMLExporter
        from traitlets.config import Config

        self.prov = prov
        self.pdf = pdf
        #: Where the Word briefs' rasterised figures are kept between builds.
        self.raster_cache = raster_cache
        #: Why PDFs could not be written in this build (``None`` when they were).
        self.pdf_error: str | None = None
        self.css = (TEMPLATES / "report.css").read_text(encoding="utf-8")

        def exporter(template: str, remove: frozenset[str], **options: bool) -> Any:
            config = Config()
            config.TagRemovePreprocessor.enabled = True
            config.TagRemovePreprocessor.remove_cell_tags = set(remove)
            config.TagRemovePreprocessor.remove_input_tags = {"remove-input", "remove_input"}
            config.TagRemovePreprocessor.remove_all_outputs_tags = {
                "remove-output",
                "remove_output",
            }
            return HTMLExporter(
                config=config,
                template_name="lab",
                template_file=template,
                extra_template_paths=[str(TEMPLATES)],
                embed_images=True,
                **options,
            )

        self.academic = exporter(_ACADEMIC_TEMPLATE, REMOVE_TAGS | COMMISSIONER_TAGS)
        self.commissioner = exporter(
            _COMMISSIONER_TEMPLATE,
            REMOVE_TAGS | ACADEMIC_TAGS,
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
            exclude_anchor_links=True,
        )

    def _resources(self, job: _Job, prov: dict[str, Any], *, pdf: bool) -> dict[str, Any]:
        """What the templates show; ``pdf_name`` only when the page's PDF is written."""
        stem = job.path.stem
        return {
            "metadata": {"name": job.title, "path": str(job.path.parent)},
            "synthesis": {
                "title": job.title,
                "provenance": prov,
                "css": self.css,
                "html_name": f"{stem}.html",
                "pdf_name": f"{stem}.pdf" if pdf else None,
            },
        }

    def render(self, job: _Job, out: Path) -> dict[str, str]:
        """Write the three files of ``job`` under ``out``; return kind -> relative path."""
        import copy

        stem = job.path.stem
        prov = {**(job.shown or self.prov), "built_at": job.rendered_at}

        academic_nb = copy.deepcopy(job.notebook)
        academic_nb.metadata["title"] = job.title
        academic_html, _ = self.academic.from_notebook_node(
            academic_nb, resources=self._resources(job, prov, pdf=False)
        )

        commissioner_nb = copy.deepcopy(job.notebook)
        commissioner_nb.metadata["title"] = job.title
        cells = []
        for cell in commissioner_nb.cells:
            if cell.cell_type == "code":
                cell.outputs = [
                    o
                    for o in cell.outputs
                    if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
                ]
                if not cell.outputs:
                    continue
            cells.append(cell)
        commissioner_nb.cells = cells

        def commissioner_page(pdf: bool) -> str:
            page, _ = self.commissioner.from_notebook_node(
                commissioner_nb, resources=self._resources(job, prov, pdf=pdf)
            )
            return stack_tables(str(page))

        commissioner_html = commissioner_page(self.pdf and self.pdf_error is None)

        rel = {
            "academic_html": f"academic/{stem}.html",
            "commissioner_html": f"commissioner/{stem}.html",
            "commissioner_pdf": f"commissioner/{stem}.pdf",
            "commissioner_docx": f"commissioner/{stem}.docx",
        }
        (out / rel["academic_html"]).write_text(academic_html, encoding="utf-8")
        commissioner_path = out / rel["commissioner_html"]
        commissioner_path.write_text(commissioner_html, encoding="utf-8")
        if self.pdf and self.pdf_error is None:
            try:
                write_pdf(commissioner_html, out / rel["commissioner_pdf"], base=commissioner_path)
            except (OSError, ImportError) as exc:  # WeasyPrint's system libraries
                self.pdf_error = _pdf_advice(exc)
                commissioner_html = commissioner_page(False)  # no link to a missing PDF
                commissioner_path.write_text(commissioner_html, encoding="utf-8")
        if not self.pdf or self.pdf_error is not None:
            del rel["commissioner_pdf"]
            with contextlib.suppress(OSError):
                (out / f"commissioner/{stem}.pdf").unlink(missing_ok=True)
        html_to_docx(
            commissioner_html,
            out / rel["commissioner_docx"],
            title=job.title,
            raster_cache=self.raster_cache,
        )
        return rel


def _pdf_advice(exc: BaseException) -> str:
    """What to install when WeasyPrint cannot render (its Pango/HarfBuzz libraries)."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    return (
        f"PDFs not written: WeasyPrint cannot run ({first}). Install its system libraries "
        "(Debian/Ubuntu: apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b; "
        "macOS: brew install pango; conda: conda install -c conda-forge pango), "
        "or build with --no-pdf. The HTML pages were written."
    )


def _offline_fetcher(allowed_roots: tuple[Path, ...]) -> Any:
    """A WeasyPrint URL fetcher that serves ``data:`` URLs and local files only."""
    from weasyprint import urls  # lazy: slow to import; only PDF pages need it

    def check(url: str) -> None:
        scheme = url.split(":", 1)[0].lower()
        if scheme == "data":
            return
        if scheme == "file":
            from urllib.request import url2pathname

            path = Path(url2pathname(url.split("?", 1)[0].removeprefix("file:"))).resolve()
            if any(path == r or r in path.parents for r in allowed_roots):
                return
            raise ValueError(f"refusing to read {path}: outside the project")
        raise ValueError(f"refusing to fetch {url[:80]!r}: reports are built offline")

    if hasattr(urls, "URLFetcher"):  # WeasyPrint >= 66

        class OfflineFetcher(urls.URLFetcher):  # type: ignore[misc, name-defined]
            def fetch(self, url: str, headers: Any = None) -> Any:
                check(url)
                return super().fetch(url, headers)

        return OfflineFetcher(allowed_protocols={"data", "file"})

    def fetcher(url: str, *args: Any, **kwargs: Any) -> Any:
        check(url)
        return urls.default_url_fetcher(url, *args, **kwargs)

    return fetcher


def write_pdf(html: str, target: Path, *, base: Path) -> None:
    """Render ``html`` to a PDF with WeasyPrint without touching the network.

    Parameters
    ----------
    html : str
        A self-contained page (images as data URIs).
    target : pathlib.Path
        PDF file to write.
    base : pathlib.Path
        Where the page lives; relative URLs resolve against it. Only ``data:`` URLs
        and files under ``base``'s folder's parent are read; anything else is refused.
    """
    import weasyprint  # lazy: slow to import; only PDF pages need it

    base = base.resolve()
    fetcher = _offline_fetcher((base.parent.parent, TEMPLATES))
    document = weasyprint.HTML(string=html, base_url=base.as_uri(), url_fetcher=fetcher)
    # PDF/UA-1: a tagged PDF (structure tree, language, title) for screen readers
    document.write_pdf(target, pdf_variant="pdf/ua-1")


def render_index(prov: dict[str, Any], jobs: list[_Job]) -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        keep_trailing_newline=True,
    )
    rows = [
        {
            "name": job.name,
            "title": job.title,
            "academic_html": job.outputs["academic_html"],
            "commissioner_html": job.outputs["commissioner_html"],
            "commissioner_pdf": job.outputs.get("commissioner_pdf"),
            "commissioner_docx": job.outputs.get("commissioner_docx"),
        }
        for job in jobs
    ]
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    return env.get_template("index.html.j2").render(
        provenance=prov, notebooks=rows, css=css, formats=summary_formats(rows)
    )


def summary_formats(rows: list[dict[str, Any]]) -> str:
    """The formats the commissioner summaries were written in, for the index's sentence.

    A format is named when every summary has it, and counted when only some have it
    (``--no-pdf``, or PDFs that WeasyPrint could not write, leave them out).

    Examples
    --------
    >>> summary_formats([{"commissioner_pdf": "a.pdf", "commissioner_docx": "a.docx"}])
    'web page, PDF and Word document'
    >>> summary_formats([{"commissioner_pdf": None, "commissioner_docx": "a.docx"}])
    'web page and Word document'
    >>> summary_formats([{"commissioner_pdf": "a.pdf"}, {"commissioner_pdf": None}])
    'web page and PDF (1 of 2)'
    """
    formats = ["web page"]
    for key, label in (("commissioner_pdf", "PDF"), ("commissioner_docx", "Word document")):
        have = sum(1 for row in rows if row.get(key))
        if have and have == len(rows):
            formats.append(label)
        elif have:
            formats.append(f"{label} ({have} of {len(rows)})")
    if len(formats) == 1:
        return formats[0]
    return ", ".join(formats[:-1]) + " and " + formats[-1]


_TABLE = re.compile(r"<table\b[^>]*>.*?</table>", re.S)
_HEAD = re.compile(r"<thead\b[^>]*>(.*?)</thead>", re.S)
_ROW = re.compile(r"<tr\b[^>]*>.*?</tr>", re.S)
_HEADER_CELL = re.compile(r"<th\b[^>]*>(.*?)</th>", re.S)
_CELL = re.compile(r"<(td|th)\b([^>]*)>")
_TAG = re.compile(r"<[^>]+>")


def stack_tables(page: str, *, min_columns: int = 4) -> str:
    """Let wide tables stack into one card per row on a narrow screen.

    Every table with one header row of at least ``min_columns`` columns gets the class
    ``stack`` and each body cell a ``data-label`` with its column's header; the
    stylesheet (``report.css``) then shows such a table, on screens under 40rem, as a
    list of rows whose cells each start with their label, instead of columns cut off
    at the right of a phone. Wider screens and print see the table unchanged.

    Examples
    --------
    >>> stack_tables("<table><thead><tr><th>A</th><th>B</th></tr></thead>"
    ...              "<tbody><tr><td>1</td><td>2</td></tr></tbody></table>", min_columns=2)
    '<table class="stack"><thead><tr><th>A</th><th>B</th></tr></thead><tbody><tr><td \
data-label="A">1</td><td data-label="B">2</td></tr></tbody></table>'
    """

    def one(match: re.Match[str]) -> str:
        table = match.group(0)
        head = _HEAD.search(table)
        if head is None or "<table" in table[1:]:
            return table
        rows = _ROW.findall(head.group(1))
        if len(rows) != 1 or "colspan" in rows[0]:
            return table
        labels = [
            " ".join(html.unescape(_TAG.sub("", c)).split()) for c in _HEADER_CELL.findall(rows[0])
        ]
        if len(labels) < min_columns:
            return table

        def label_row(row: re.Match[str]) -> str:
            column = 0

            def label_cell(cell: re.Match[str]) -> str:
                nonlocal column
                tag, attrs = cell.groups()
                column += 1
                if "colspan" in attrs or column > len(labels) or not labels[column - 1]:
                    return cell.group(0)
                return f'<{tag}{attrs} data-label="{html.escape(labels[column - 1])}">'

            return _CELL.sub(label_cell, row.group(0))

        body = _ROW.sub(label_row, table[head.end() :])
        opening = re.match(r"<table\b([^>]*)>", table)
        assert opening is not None
        attrs = opening.group(1)
        if re.search(r'\bclass="', attrs):
            attrs = re.sub(r'\bclass="', 'class="stack ', attrs, count=1)
        else:
            attrs += ' class="stack"'
        return f"<table{attrs}>" + table[opening.end() : head.end()] + body

    return _TABLE.sub(one, page)
