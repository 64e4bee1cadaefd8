"""The built commissioner pages of this repository read as an evidence brief (issue #12).

Every question page: plain words outside the glossary (no ``[@``, no internal id, no
jargon term of :data:`synthesis.brief.JARGON`), at most 700 words above the detail,
headings that never skip a level, figures with a real text alternative; its PDF is tagged,
has page numbers and the provenance line in every footer, and the brief fills at most
its first two pages. Browser checks (screenshots, overflow) are in test_commissioner_browser.py.
"""

from __future__ import annotations

import contextlib
import re
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from synthesis import brief
from synthesis.validate import load_evidence

from .conftest import ROOT

QUESTION_PAGES = (
    "q1_alliance",
    "q2_mindfulness_training",
    "q3_open_dialogue",
)
ALL_PAGES = ("00_evidence_base", *QUESTION_PAGES)
#: The heading where the detail starts: the brief is everything above it.
DETAIL = "In detail"
#: nbconvert's alt text for an image without one.
DEFAULT_ALT = "No description has been provided for this image"


class _Outline(HTMLParser):
    """Heading levels, images and SVGs (with their accessible names) of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.levels: list[int] = []
        self.images: list[str | None] = []
        self.svgs: list[str] = []
        self._svg_depth = 0
        self._in_title = False
        self._title = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if re.fullmatch(r"h[1-6]", tag):
            self.levels.append(int(tag[1]))
        elif tag == "img":
            self.images.append(a.get("alt"))
        elif tag == "svg":
            self._svg_depth += 1
            if self._svg_depth == 1:
                self._title = a.get("aria-label") or ""
        elif tag == "title" and self._svg_depth:
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag == "svg" and self._svg_depth:
            self._svg_depth -= 1
            if not self._svg_depth:
                self.svgs.append(self._title.strip())

    def handle_data(self, data: str) -> None:
        if self._in_title and self._svg_depth == 1 and not self._title:
            self._title = data


def outline(page: str) -> _Outline:
    parser = _Outline()
    parser.feed(page)
    return parser


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def record_ids() -> set[str]:
    return set(load_evidence(ROOT).studies)


@pytest.mark.parametrize("name", ALL_PAGES)
def test_commissioner_page_is_in_plain_words(repo_reports, record_ids, name):
    page = read(repo_reports / "commissioner" / f"{name}.html")
    assert brief.plain_problems(page, record_ids) == []


@pytest.mark.parametrize("name", QUESTION_PAGES)
def test_brief_above_the_detail_is_at_most_700_words(repo_reports, name):
    page = read(repo_reports / "commissioner" / f"{name}.html")
    assert f">{DETAIL}" in page
    words = brief.brief_words(page, DETAIL)
    assert 150 < words <= 700, words
    # the brief comes first: key messages before the table, the table before "about"
    order = [page.index(x) for x in ("Key messages", "Summary of findings", "About this evidence")]
    assert order == sorted(order)


@pytest.mark.parametrize("kind", ["commissioner", "academic"])
@pytest.mark.parametrize("name", ALL_PAGES)
def test_headings_never_skip_a_level_and_figures_are_described(repo_reports, kind, name):
    page = read(repo_reports / kind / f"{name}.html")
    found = outline(page)
    assert found.levels and found.levels[0] == 1
    for before, after in zip(found.levels, found.levels[1:], strict=False):
        assert after <= before + 1, (before, after)
    assert DEFAULT_ALT not in page
    for alt in found.images:
        assert alt and alt.strip() and alt != DEFAULT_ALT
    for title in found.svgs:
        assert len(title) > 10  # e.g. "Forest plot: Emotional exhaustion (MBI), ..."


def test_forest_plots_carry_favours_labels_heterogeneity_and_reasons(repo_reports):
    page = read(repo_reports / "commissioner" / "q2_mindfulness_training.html")
    assert "← improvement" in page and "worsening →" in page  # pre-post, lower is better
    assert "← favours intervention" in page and "favours comparator →" in page
    # no Q2 outcome reaches the plan's 3 studies (tests/test_pooling_rules.py): no pooled
    # line; the two emotional-exhaustion studies are side by side on both pages (pooled
    # pages' heterogeneity lines: tests/test_build_repo.py, where a third study is added)
    assert "Heterogeneity:" not in page and "Test for overall effect" not in page
    assert "not combined" in page and "The studies side by side: Fortney 2013: " in page
    # Fendel 2020 is plotted in grey with its reason, and the text says why it is not pooled
    assert "excluded: within-subject d with an unstated" in page
    assert "no study reports usable numbers" not in page.split("Self-compassion, change")[1][:3000]
    academic = read(repo_reports / "academic" / "q2_mindfulness_training.html")
    assert academic.count('<table class="side-by-side">') == 2  # EE; self-compassion vs control
    assert "Pooling rules of the analysis plan" in academic


def _inflate(data: bytes) -> list[bytes]:
    """Every Flate stream of a PDF, decompressed (the rest of the file is ignored)."""
    out = []
    for m in re.finditer(rb"stream\r?\n", data):
        with contextlib.suppress(zlib.error):
            out.append(zlib.decompressobj().decompress(data[m.end() :]))
    return out


def _pdf_pages(pdf: Path, html: Path) -> list[str]:
    """Text of each page of the PDF as WeasyPrint lays the page out (same CSS)."""
    import weasyprint

    document = weasyprint.HTML(filename=str(html)).render()
    pages = []
    for page in document.pages:
        texts: list[str] = []

        def walk(box, texts=texts):  # type: ignore[no-untyped-def]
            if getattr(box, "text", None):
                texts.append(box.text)
            for child in getattr(box, "children", ()):
                walk(child)

        walk(page._page_box)
        pages.append(" ".join(texts))
    return pages


def test_pdf_brief_fits_two_pages_with_footer_and_tags(repo_reports):
    name = "q2_mindfulness_training"
    pdf = repo_reports / "commissioner" / f"{name}.pdf"
    data = pdf.read_bytes()
    objects = data + b"".join(_inflate(data))  # the catalog sits in an object stream
    assert b"/StructTreeRoot" in objects and b"/Marked true" in objects  # tagged: PDF/UA-1
    assert b"pdfuaid" in objects  # the PDF/UA identification in its XMP metadata
    pages = _pdf_pages(pdf, repo_reports / "commissioner" / f"{name}.html")
    assert len(pages) == len(re.findall(rb"/Type\s*/Page\b", objects))  # same layout
    first_two = " ".join(pages[:2])
    for text in ("Key messages", "Summary of findings", "About this evidence", "Main gaps"):
        assert text in first_two
    assert DETAIL not in first_two or pages[1].index(DETAIL) > pages[1].index("Main gaps")
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in text
        assert "evidence sha256" in text and "commit" in text
