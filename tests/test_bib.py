"""Bibliography: method citations resolve, and references are formatted APA-like."""

from __future__ import annotations

import re

from synthesis.bib import format_reference, load_bibliography, parse_bibliography, short_label
from synthesis.validate import METHOD_KEYS

from .conftest import ROOT


def _cited_in_package() -> set[str]:
    keys: set[str] = set()
    for path in (ROOT / "synthesis").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        keys |= set(re.findall(r"\[([a-z]+\d{4}[a-z]+)\]_", text))
        keys |= set(re.findall(r":cite:`([a-z]+\d{4}[a-z]+)`", text))
    return keys


def test_every_method_citation_is_in_references_bib():
    bib = load_bibliography(ROOT / "references.bib")
    cited = _cited_in_package()
    assert cited, "the package cites its methods by BibTeX key"
    assert cited <= set(bib.entries), cited - set(bib.entries)
    assert set(METHOD_KEYS) <= set(bib.entries), set(METHOD_KEYS) - set(bib.entries)
    # every key the package cites is known as a method key (so it is not warned as unused)
    assert cited <= set(METHOD_KEYS), cited - set(METHOD_KEYS)


def test_format_reference_apa_like():
    bib = parse_bibliography(
        "@article{s2006, author = {Seikkula, Jaakko and Aaltonen, Jukka and Alakare, "
        "Birgitta}, title = {Five-year experience of first-episode nonaffective psychosis.}, "
        "journal = {Psychotherapy Research}, year = {2006}, volume = {16}, number = {2}, "
        "pages = {214--228}, doi = {10.1080/10503300500268490}}"
    )
    ref = bib["s2006"]
    assert format_reference(ref) == (
        "Seikkula, J., Aaltonen, J., & Alakare, B. (2006). Five-year experience of "
        "first-episode nonaffective psychosis. Psychotherapy Research, 16(2), 214–228. "
        "https://doi.org/10.1080/10503300500268490"
    )
    html = format_reference(ref, html_output=True)
    assert "<em>Psychotherapy Research</em>" in html
    assert short_label(ref) == "Seikkula et al. 2006"


def test_format_escapes_html_and_cleans_latex():
    bib = parse_bibliography(
        "@article{x2020, author = {P{\\'e}rez, Ana}, title = {A <b>bold</b> claim}, "
        "journal = {J}, year = {2020}}"
    )
    html = format_reference(bib["x2020"], html_output=True)
    assert "Pérez, A." in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html and "<b>" not in html
