"""Bibliography: method citations resolve, and references are formatted APA-like."""

from __future__ import annotations

import re

import pytest

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


def test_latex_to_unicode_with_pylatexenc():
    from synthesis.bib import clean_latex

    assert clean_latex(r"Sch\"{o}n") == "Schön"
    assert clean_latex(r"\v{S}koda") == "Škoda"
    assert clean_latex(r"Bergstr{\"o}m, Asbj{\o}rn, Mart{\'i}n, 1--10, a~b") == (
        "Bergström, Asbjørn, Martín, 1–10, a b"
    )
    bib = parse_bibliography(
        r"@misc{u, author = {Doe, J.}, title = {T}, year = {2020}, "
        r"url = {https://example.org/a%20b_c}, doi = {10.1000/x\_y}}"
    )
    # identifiers are not LaTeX: a % in a URL is not a comment
    assert bib["u"].get("url") == "https://example.org/a%20b_c"
    assert bib["u"].get("doi") == "10.1000/x_y"


def test_text_without_markup_skips_the_latex_parser_with_the_same_result():
    # clean_latex hands text to pylatexenc only when it holds something pylatexenc
    # changes; everywhere else the two must agree exactly (whitespace normalised)
    import string

    from synthesis.bib import _LATEX, _LATEX_MARKUP, clean_latex

    def parsed(text: str) -> str:
        return re.sub(r"\s+", " ", _LATEX.latex_to_text(text).replace("\xa0", " ")).strip()

    chars = [*string.punctuation, "a", "Z", "1", " ", "\n", "é", "\u2013", "\xa0"]
    samples = [f"x{a}{b}y {a}{b} {a}" for a in chars for b in chars]
    samples += ["O'Brien & Co.", "Smith, J. and van der Berg, A.", "1--10", "n = 30; 50%"]
    plain = [s for s in samples if not _LATEX_MARKUP.search(s)]
    assert len(plain) > 1000  # most samples take the fast path
    for text in plain:
        assert clean_latex(text) == parsed(text), text
    for text in samples:
        if _LATEX_MARKUP.search(text):
            assert clean_latex(text) == parsed(text), text


def test_name_splitting_with_bibtexparser():
    bib = parse_bibliography(
        "@article{b, author = {Jan van der Berg and Joiner, Jr., Thomas E. and "
        "{World Health Organization}}, title = {T}, journal = {J}, year = {2020}}"
    )
    people = bib["b"].persons["author"]
    assert [(p.particle, p.family, p.given, p.suffix, p.literal) for p in people] == [
        ("van der", "Berg", "Jan", "", False),
        ("", "Joiner", "Thomas E.", "Jr.", False),
        ("", "World Health Organization", "", "", True),
    ]
    assert short_label(bib["b"]) == "van der Berg et al. 2020"
    assert format_reference(bib["b"]).startswith(
        "van der Berg, J., Joiner, T. E., Jr., & World Health Organization. (2020)."
    )


def test_vancouver_style_and_order():
    from synthesis.bib import format_references

    bib = parse_bibliography(
        "@article{a, author = {Zeta, Anna and Beta, Ben}, title = {First}, journal = {J Test}, "
        "year = {2019}, volume = {3}, number = {2}, pages = {10--19}, doi = {10.1000/a}}\n"
        "@article{b, author = {Alpha, Al}, title = {Second}, journal = {J Test}, year = {2020}}"
    )
    refs = [bib["a"], bib["b"]]
    assert format_references(refs, style="vancouver") == [
        "1. Zeta A, Beta B. First. J Test. 2019;3(2):10–9. doi:10.1000/a",
        "2. Alpha A. Second. J Test. 2020.",
    ]
    # APA sorts alphabetically by author
    assert [t[:5] for t in format_references(refs)] == ["Alpha", "Zeta,"]
    with pytest.raises(
        ValueError, match="unknown reference style 'mla' \\(allowed: apa, vancouver\\)"
    ):
        format_references(refs, style="mla")


def test_unknown_authors_and_others_are_said_honestly():
    bib = parse_bibliography(
        "@article{n, title = {Nurses and mindfulness}, journal = {J}, year = {2025}, "
        "note = {Authors not seen}}\n"
        "@article{o, author = {Aaltonen, Jukka and others}, title = {Incidence}, journal = {J}, "
        "year = {2011}}"
    )
    text = format_reference(bib["n"])
    assert text.startswith("[Authors not seen]. (2025). Nurses and mindfulness.")
    assert "Anonymous" not in text
    assert format_reference(bib["o"]).startswith("Aaltonen, J., et al. (2011). Incidence.")
    assert format_reference(bib["o"], style="vancouver").startswith("Aaltonen J, et al.")


def test_repository_references_never_print_anonymous_or_empty():
    from synthesis.bib import format_references

    bib = load_bibliography(ROOT / "references.bib")
    for style in ("apa", "vancouver"):
        for text in format_references(list(bib.entries.values()), style=style):
            assert "Anonymous" not in text and "[No title]" not in text, text


def test_render_citations_apa_and_vancouver():
    from synthesis.bib import cited_keys, render_citations

    bib = parse_bibliography(
        "@article{a, author = {Seikkula, J. and Alakare, B. and Aaltonen, J.}, title = {T}, "
        "year = {2011}}\n@article{b, author = {Razzaque, R. and Wood, L.}, title = {U}, "
        "year = {2016}}\n@article{c, title = {Nurses and mindfulness at work today}, "
        "year = {2025}, note = {Authors not seen}}"
    )
    text = "84% [@a]; retreat [@b; @a]; nurses [@c]; unknown [@zzz]."
    assert cited_keys(text) == ["a", "b", "c", "zzz"]
    assert render_citations(text, bib) == (
        "84% (Seikkula et al., 2011); retreat (Razzaque & Wood, 2016; Seikkula et al., 2011); "
        "nurses (“Nurses and mindfulness at…”, 2025); unknown [@zzz]."
    )
    numbers = {"a": 1, "b": 2, "c": 3}
    assert render_citations(text, bib, style="vancouver", numbers=numbers) == (
        "84% [1]; retreat [2, 1]; nurses [3]; unknown [@zzz]."
    )
    with pytest.raises(ValueError, match="unknown reference style 'harvard'"):
        render_citations(text, bib, style="harvard")


def test_pages_use_the_question_style_or_the_build_parameter(tmp_path):
    import shutil

    from synthesis import notebook as nb
    from synthesis.jobs import parse_params
    from synthesis.validate import load_evidence

    shutil.copytree(ROOT / "evidence", tmp_path / "evidence")
    shutil.copy(ROOT / "references.bib", tmp_path / "references.bib")
    q3 = tmp_path / "evidence" / "questions" / "q3_open_dialogue.yaml"
    q3.write_text(
        q3.read_text(encoding="utf-8").replace(
            "notes:\n",
            "reference_style: vancouver\nnotes:\n  - The 84% comes from [@seikkula2011comprehensive].\n",
            1,
        ),
        encoding="utf-8",
    )
    base = load_evidence(tmp_path)
    assert nb.page_style(base, "q3_open_dialogue") == "vancouver"
    assert nb.page_style(base, "q3_open_dialogue", "apa") == "apa"
    refs = nb.references(base, "q3_open_dialogue").data
    assert 'class="references references-vancouver"' in refs
    assert "Seikkula J, Alakare B, Aaltonen J. The Comprehensive Open-Dialogue" in refs
    keys = nb._page_keys(base, "q3_open_dialogue")
    number = keys.index("seikkula2011comprehensive") + 1
    assert f"The 84% comes from [{number}]." in nb.caveats(base, "q3_open_dialogue").data
    apa = nb.caveats(base, "q3_open_dialogue", style="apa").data
    assert "The 84% comes from (Seikkula et al., 2011)." in apa
    md = {"cells": [{"cell_type": "markdown", "source": "See [@seikkula2011comprehensive]."}]}
    assert nb.cite_markdown(md, base, None)["cells"][0]["source"] == (
        "See (Seikkula et al., 2011)."
    )
    assert parse_params(["style=Vancouver"]) == {"style": "vancouver"}
    from synthesis.errors import UserInputError

    with pytest.raises(UserInputError, match="style must be one of apa, vancouver"):
        parse_params(["style=mla"])
