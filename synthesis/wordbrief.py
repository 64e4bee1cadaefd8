"""Word (DOCX) versions of the commissioner brief and of the summary-of-findings table.

Commissioners circulate Word documents, and GRADEpro exports its summary-of-findings
tables to Word. The DOCX brief is made **from the rendered commissioner HTML page**, so it
carries exactly the same content (key messages, the summary-of-findings table with its
footnotes, "about this evidence", the claims checked, the plots, references and the
provenance line) and cannot drift from it: headings stay headings, tables become real Word
tables, lists stay lists, and every figure becomes a PNG picture whose alternative text is
the figure's own (``aria-label``, ``<title>`` or ``alt``).

Built on python-docx; SVG figures are rasterised with CairoSVG.

Examples
--------
>>> import tempfile, pathlib
>>> from docx import Document
>>> from synthesis.wordbrief import html_to_docx
>>> target = pathlib.Path(tempfile.mkdtemp()) / "brief.docx"
>>> html_to_docx("<h1>Brief</h1><p>Key <strong>message</strong>.</p>"
...              "<table><tr><th>a</th></tr><tr><td>1</td></tr></table>", target)
>>> doc = Document(str(target))
>>> [p.text for p in doc.paragraphs]
['Brief', 'Key message.']
>>> len(doc.tables[0].rows)
2
"""

from __future__ import annotations

import base64
import contextlib
import io
import re
import urllib.parse
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthesis.errors import UserInputError
from synthesis.files import write_atomic

if TYPE_CHECKING:
    import pandas as pd
    from bs4 import Tag
    from docx.document import Document as DocxDocument
    from docx.text.paragraph import Paragraph

__all__ = ["frame_to_docx", "html_to_docx"]

#: Widest picture, in inches (A4/Letter portrait with 2.5 cm margins).
MAX_WIDTH_IN = 6.3
#: Pixels per inch used to rasterise SVG figures.
RASTER_DPI = 150
_BLOCK_SKIP = {"script", "style", "nav", "head", "template", "noscript", "button", "input"}
_HEADINGS = {f"h{i}": i for i in range(1, 7)}
_SAFE_LINK = re.compile(r"^(https?://|mailto:)", re.I)


def _colspan(cell: Tag) -> int:
    """How many columns a table cell spans (1 when ``colspan`` is absent or empty)."""
    return int(str(cell.get("colspan") or 1))


def _alt_text(el: Tag) -> str:
    """The text alternative of an image or SVG: aria-label, alt, <title>, or ''."""
    for attr in ("aria-label", "alt", "title"):
        value = el.get(attr)
        if isinstance(value, str) and value.strip():
            return value.strip()
    title = el.find("title")
    if title is not None and title.get_text(strip=True):
        return title.get_text(" ", strip=True)
    desc = el.find("desc")
    if desc is not None and desc.get_text(strip=True):
        return desc.get_text(" ", strip=True)
    figure = el.find_parent("figure")
    caption = figure.find("figcaption") if figure is not None else None
    return caption.get_text(" ", strip=True) if caption is not None else ""


def _cached_png(path: Path) -> bytes | None:
    """A PNG kept by an earlier build, or ``None`` when it is missing or unreadable."""
    from PIL import Image, UnidentifiedImageError

    try:
        data = path.read_bytes()
        with Image.open(io.BytesIO(data)) as im:
            im.verify()  # a truncated or altered file is raster again, never used
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError):
        return None
    return data


def _png_of_svg(svg_markup: str, cache: Path | None = None) -> bytes:
    """The SVG rasterised at :data:`RASTER_DPI` (CairoSVG).

    With ``cache`` (a folder), each PNG is kept under the SHA-256 of the SVG, the
    resolution and CairoSVG's version, so a rebuild rasterises only the figures that
    changed (rasterising is most of the time of a Word brief). A missing or damaged
    file is rasterised again.
    """
    import hashlib
    import importlib.metadata

    import cairosvg

    markup = svg_markup.encode("utf-8")
    path = None
    if cache is not None:
        tag = f"{RASTER_DPI}:{importlib.metadata.version('cairosvg')}:".encode()
        path = cache / f"{hashlib.sha256(tag + markup).hexdigest()}.png"
        kept = _cached_png(path)
        if kept is not None:
            return kept
    data = bytes(cairosvg.svg2png(bytestring=markup, dpi=RASTER_DPI))
    if path is not None:
        with contextlib.suppress(OSError):  # the cache only saves time
            write_atomic(path, data)
    return data


def _image_bytes(el: Tag, cache: Path | None = None) -> bytes | None:
    """PNG/JPEG bytes of an <img> with a data: URI, or of an inline <svg>."""
    if el.name == "svg":
        markup = str(el)
        if 'xmlns="' not in markup.split(">", 1)[0]:  # bs4 sorts attributes: look at the tag
            markup = markup.replace("<svg", '<svg xmlns="http://www.w3.org/2000/svg"', 1)
        return _png_of_svg(markup, cache)
    src = el.get("src")
    if not isinstance(src, str) or not src.startswith("data:"):
        return None  # only embedded images: reports never load external files
    header, _, payload = src.partition(",")
    data = (
        base64.b64decode(payload) if ";base64" in header else urllib.parse.unquote_to_bytes(payload)
    )
    if "image/svg" in header:
        return _png_of_svg(data.decode("utf-8"), cache)
    return data


def _set_alt(doc_picture: Any, alt: str) -> None:
    """Write the picture's alternative text (``wp:docPr/@descr``), as Word's dialog does."""
    doc_pr = doc_picture._inline.docPr
    doc_pr.set("descr", alt)
    doc_pr.set("title", alt[:250])


def _add_hyperlink(paragraph: Paragraph, url: str, text: str) -> None:
    from docx.opc.constants import RELATIONSHIP_TYPE
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    rel = paragraph.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), rel)
    run = OxmlElement("w:r")
    props = OxmlElement("w:rPr")
    style = OxmlElement("w:rStyle")
    style.set(qn("w:val"), "Hyperlink")
    props.append(style)
    underline = OxmlElement("w:u")
    underline.set(qn("w:val"), "single")
    props.append(underline)
    run.append(props)
    t = OxmlElement("w:t")
    t.text = text
    t.set(qn("xml:space"), "preserve")
    run.append(t)
    link.append(run)
    paragraph._p.append(link)


class _Writer:
    """Walks the HTML tree and writes Word blocks and runs."""

    def __init__(self, doc: DocxDocument, raster_cache: Path | None = None) -> None:
        self.doc = doc
        self.raster_cache = raster_cache

    # -------------------------------------------------------------- inline --
    def inline(self, paragraph: Paragraph, node: Any, fmt: dict[str, bool]) -> None:
        from bs4 import NavigableString, Tag

        if isinstance(node, NavigableString):
            if type(node).__name__ in ("Comment", "Doctype", "Declaration"):
                return
            text = re.sub(r"\s+", " ", str(node))
            if text:
                run = paragraph.add_run(text)
                run.bold = fmt.get("b") or None
                run.italic = fmt.get("i") or None
                if fmt.get("sup"):  # one w:vertAlign: set only the one that applies
                    run.font.superscript = True
                elif fmt.get("sub"):
                    run.font.subscript = True
                if fmt.get("code"):
                    run.font.name = "Courier New"
            return
        if not isinstance(node, Tag) or node.name in _BLOCK_SKIP:
            return
        if node.name in ("svg", "img"):
            self.picture(node, paragraph)
            return
        if node.name == "br":
            paragraph.add_run().add_break()
            return
        if node.name == "a":
            href = node.get("href")
            text = node.get_text(" ", strip=True)
            if isinstance(href, str) and _SAFE_LINK.match(href) and text:
                _add_hyperlink(paragraph, href, text)
                return
        style = dict(fmt)
        style["b"] = fmt.get("b", False) or node.name in ("strong", "b", "th")
        style["i"] = fmt.get("i", False) or node.name in ("em", "i", "cite")
        style["sup"] = fmt.get("sup", False) or node.name == "sup"
        style["sub"] = fmt.get("sub", False) or node.name == "sub"
        style["code"] = fmt.get("code", False) or node.name in ("code", "kbd", "samp")
        for child in node.children:
            self.inline(paragraph, child, style)

    # -------------------------------------------------------------- blocks --
    def picture(self, el: Tag, paragraph: Paragraph | None = None) -> None:
        from docx.shared import Inches

        data = _image_bytes(el, self.raster_cache)
        if data is None:
            return
        from PIL import Image

        with Image.open(io.BytesIO(data)) as im:
            width_in = im.width / float(im.info.get("dpi", (RASTER_DPI, RASTER_DPI))[0] or 96)
        width = Inches(min(MAX_WIDTH_IN, max(width_in, 1.0)))
        if paragraph is None:
            paragraph = self.doc.add_paragraph()
        shape = paragraph.add_run().add_picture(io.BytesIO(data), width=width)
        _set_alt(shape, _alt_text(el) or "Figure")

    def table(self, el: Tag) -> None:
        rows = [tr for tr in el.find_all("tr") if tr.find_parent("table") is el]
        if not rows:
            return
        cells = [[c for c in tr.find_all(["th", "td"], recursive=False)] for tr in rows]
        ncols = max(sum(_colspan(c) for c in r) for r in cells)
        caption = el.find("caption")
        if caption is not None and caption.get_text(strip=True):
            self.paragraph(caption, style="Caption")
        table = self.doc.add_table(rows=len(rows), cols=ncols)
        table.style = "Table Grid"
        for row, grid in zip(cells, table.rows, strict=True):
            # the row's cells once (``table.cell(i, j)`` rebuilds every cell of the table
            # on each call); merging only joins cells to the right of ``j``
            slots = grid.cells
            j = 0
            for cell in row:
                span = _colspan(cell)
                target = slots[j]
                if span > 1:
                    target = target.merge(slots[min(j + span, ncols) - 1])
                p = target.paragraphs[0]
                self.inline(p, cell, {"b": cell.name == "th"})
                j += span

    def paragraph(self, el: Tag, style: str | None = None) -> None:
        p = self.doc.add_paragraph(style=style)
        self.inline(p, el, {})
        if not p.text.strip() and not p._p.xpath(".//w:drawing"):
            p._p.getparent().remove(p._p)

    def list(self, el: Tag) -> None:
        style = "List Number" if el.name == "ol" else "List Bullet"
        for li in el.find_all("li", recursive=False):
            nested = [c for c in li.find_all(["ul", "ol"], recursive=False)]
            for sub in nested:
                sub.extract()
            self.paragraph(li, style=style)
            for sub in nested:
                self.list(sub)

    def block(self, node: Any) -> None:
        from bs4 import NavigableString, Tag

        if isinstance(node, NavigableString):
            if str(node).strip() and type(node).__name__ == "NavigableString":
                p = self.doc.add_paragraph()
                self.inline(p, node, {})
            return
        if not isinstance(node, Tag) or node.name in _BLOCK_SKIP:
            return
        name = node.name
        if name in _HEADINGS:
            text = node.get_text(" ", strip=True).rstrip("¶").strip()
            if text:
                self.doc.add_heading(text, level=_HEADINGS[name])
        elif name == "p":
            self.paragraph(node)
        elif name in ("ul", "ol"):
            self.list(node)
        elif name == "table":
            self.table(node)
        elif name in ("svg", "img"):
            self.picture(node)
        elif name == "pre":
            p = self.doc.add_paragraph()
            run = p.add_run(node.get_text())
            run.font.name = "Courier New"
        elif name == "blockquote":
            self.paragraph(node, style="Quote")
        elif name == "figcaption":
            self.paragraph(node, style="Caption")
        elif name in ("dl",):
            for child in node.find_all(["dt", "dd"], recursive=False):
                self.paragraph(child)
        elif name == "hr":
            return
        else:  # containers (div, section, main, footer, figure, details, ...)
            if any(isinstance(c, Tag) for c in node.children) or name in ("span", "strong"):
                for element in node.children:
                    self.block(element)
            elif node.get_text(strip=True):
                self.paragraph(node)


def html_to_docx(
    html: str, target: Path, *, title: str | None = None, raster_cache: Path | None = None
) -> None:
    """Write an HTML page (a commissioner brief) as a Word document.

    Parameters
    ----------
    html
        The page. Only embedded images (inline SVG or ``data:`` URIs) are kept; links
        other than http(s) and mailto are written as plain text.
    target
        The ``.docx`` file to write (written whole, then moved into place).
    title
        Document title for the file's properties (default: the page's ``<title>``).
    raster_cache
        Folder where the PNGs of SVG figures are kept between builds (see
        :func:`_png_of_svg`); ``None`` rasterises every figure.
    """
    from bs4 import BeautifulSoup
    from docx import Document

    soup = BeautifulSoup(html, "html.parser")
    doc = Document()
    page_title = title or (soup.title.get_text(strip=True) if soup.title else "")
    doc.core_properties.title = page_title
    body = soup.body or soup
    writer = _Writer(doc, raster_cache)
    for child in body.children:
        writer.block(child)
    _save(doc, target)


def frame_to_docx(
    frame: pd.DataFrame,
    target: Path,
    *,
    title: str,
    notes: Sequence[str] = (),
    group_by: str | None = None,
) -> None:
    """Write a table (such as the summary of findings) as a Word document.

    Parameters
    ----------
    frame
        The rows; every column becomes a Word table column, in order.
    target
        The ``.docx`` file to write.
    title
        Heading above the table.
    notes
        Footnotes and explanations printed under the table, one paragraph each.
    group_by
        Optional column whose values start a new table each (one table per question);
        the column itself is not repeated inside the tables.
    """
    from docx import Document
    from docx.enum.section import WD_ORIENT

    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = section.page_height, section.page_width
    doc.core_properties.title = title
    doc.add_heading(title, level=1)
    groups: Iterable[tuple[Any, pd.DataFrame]]
    if group_by is not None:
        groups = (
            (key, part.drop(columns=[group_by]))
            for key, part in frame.groupby(group_by, sort=False)
        )
    else:
        groups = [(None, frame)]
    for key, part in groups:
        if key is not None:
            doc.add_heading(str(key), level=2)
        table = doc.add_table(rows=len(part) + 1, cols=len(part.columns))
        table.style = "Table Grid"
        for j, name in enumerate(part.columns):
            run = table.cell(0, j).paragraphs[0].add_run(str(name))
            run.bold = True
        for i, row in enumerate(part.itertuples(index=False), start=1):
            for j, value in enumerate(row):
                table.cell(i, j).paragraphs[0].add_run("" if value is None else str(value))
        doc.add_paragraph()
    for note in notes:
        doc.add_paragraph(note, style="List Bullet" if len(notes) > 1 else None)
    _save(doc, target)


def _save(doc: DocxDocument, target: Path) -> None:
    """Write ``doc`` atomically, byte-reproducibly (fixed zip timestamps, fixed author)."""
    import zipfile

    doc.core_properties.author = "synthesis"
    doc.core_properties.last_modified_by = "synthesis"
    raw = io.BytesIO()
    doc.save(raw)
    fixed = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            stable = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            stable.compress_type = zipfile.ZIP_DEFLATED
            stable.external_attr = 0o644 << 16
            dst.writestr(stable, src.read(info.filename))
    target = Path(target)
    try:
        write_atomic(target, fixed.getvalue())
    except OSError as exc:
        raise UserInputError(f"{target}: cannot write the Word file ({exc.strerror})") from exc
