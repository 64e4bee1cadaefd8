"""The bibliography: load ``references.bib`` (bibtexparser 2.x), check it, format references.

bibtexparser 2 never raises: it keeps the first of duplicate keys and puts problems in
``library.failed_blocks``. It also accepts, silently, a missing comma between fields (the
next field is swallowed into the value), an undefined ``@string`` macro (kept as the macro
name) and misspelt field names. :func:`check_library` reports all of these.
"""

from __future__ import annotations

import difflib
import functools
import html
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pylatexenc.latex2text import LatexNodes2Text

from synthesis.problems import Problem

_LATEX = LatexNodes2Text(math_mode="verbatim", strict_latex_spaces=False)

#: Fields every entry must have (``editor`` may stand for ``author``; ``date`` for ``year``).
REQUIRED = ("author", "title", "year")

#: Field names recognised without a warning (BibTeX, biblatex and common tools).
KNOWN_FIELDS = frozenset(
    """address annote author booktitle chapter crossref doi edition editor eprint
    eprinttype howpublished institution isbn issn journal journaltitle key keywords language
    month note number organization pages pmid pmcid publisher school series title type url
    urldate volume year date abstract file issue location subtitle shorttitle langid
    """.split()
)
_MONTHS = frozenset(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
)

_SWALLOWED = re.compile(r"[}\"]\s*,?\s*([A-Za-z][\w-]*)\s*=\s*[{\"\d]")
_BARE_VALUE = re.compile(
    r"(?m)(?:^|[,{])\s*([A-Za-z][\w-]*)\s*=\s*([A-Za-z][\w:.-]*)\s*(?=[,}#\s])"
)

#: Reference styles (CSL files in ``synthesis/csl``): APA 7th edition, and Vancouver as
#: the NLM "Citing Medicine" citation-sequence style.
STYLES = {"apa": "apa.csl", "vancouver": "nlm-citation-sequence.csl"}
DEFAULT_STYLE = "apa"

#: Fields that hold identifiers, not text: no LaTeX conversion (a % in a URL is not a comment).
_VERBATIM = frozenset({"doi", "url", "eprint", "pmid", "pmcid", "isbn", "issn", "file"})


@dataclass(frozen=True)
class Person:
    """One author or editor, split as BibTeX does (bibtexparser): given names, the
    particle ("van der"), the family name and a suffix ("Jr."); ``literal`` for a
    brace-protected corporate name ("{World Health Organization}")."""

    family: str
    given: str = ""
    particle: str = ""
    suffix: str = ""
    literal: bool = False

    @property
    def surname(self) -> str:
        """Particle and family name, as written in a short citation ("van der Berg")."""
        return f"{self.particle} {self.family}".strip()


@dataclass(frozen=True)
class Reference:
    """One bibliography entry with its fields as plain text (LaTeX markup removed) and its
    authors and editors split into :class:`Person` parts."""

    key: str
    entry_type: str
    fields: dict[str, str]
    line: int
    persons: dict[str, tuple[Person, ...]] = field(default_factory=dict)
    others: frozenset[str] = frozenset()

    def get(self, name: str, default: str = "") -> str:
        return self.fields.get(name, default)


@dataclass
class Bibliography:
    """Parsed entries keyed by citation key, plus problems found while reading."""

    path: str
    entries: dict[str, Reference] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def __contains__(self, key: object) -> bool:
        return key in self.entries

    def __getitem__(self, key: str) -> Reference:
        return self.entries[key]

    def format(self, key: str, *, html_output: bool = False, style: str = DEFAULT_STYLE) -> str:
        """The reference of ``key`` in ``style`` (see :func:`format_reference`)."""
        return format_reference(self.entries[key], html_output=html_output, style=style)


def clean_latex(text: str) -> str:
    r"""Turn BibTeX/LaTeX markup into plain Unicode text (pylatexenc): accents
    (``Sch\"{o}n`` -> Schön, ``\v{S}koda`` -> Škoda), dashes, ties, braces, whitespace.

    Examples
    --------
    >>> clean_latex(r'Sch\"{o}n and \v{S}koda, pp. 1--10')
    'Schön and Škoda, pp. 1–10'
    """
    if _LATEX_MARKUP.search(text):
        text = _LATEX.latex_to_text(text, latex_context=_latex_context())
    return re.sub(r"\s+", " ", text.replace("\xa0", " ")).strip()


#: What pylatexenc changes in text (tested on every printable ASCII character and pair in
#: tests/test_bib.py): text without any of these is returned as it is, whitespace aside,
#: without parsing it (parsing every field made ``validate`` of 10,000 references
#: take a minute).
_LATEX_MARKUP = re.compile(r"[\\{}~%&$]|--|''|``|[!?]`")


@functools.lru_cache(maxsize=1)
def _latex_context() -> Any:
    """pylatexenc's default macro database, built once (it builds it per call otherwise)."""
    from pylatexenc.latexwalker import get_default_latex_context_db

    return get_default_latex_context_db()


def _verbatim(text: str) -> str:
    """An identifier field: braces and escaped underscores removed, nothing else."""
    return re.sub(r"\s+", "", text.replace("\\_", "_").replace("{", "").replace("}", ""))


def split_persons(raw: str) -> tuple[tuple[Person, ...], bool]:
    """Split a BibTeX name list with bibtexparser's name rules; return the people and
    whether it ends in ``and others``.

    Examples
    --------
    >>> people, others = split_persons("van der Berg, Jan and Joiner, Jr., Thomas E. and others")
    >>> [(p.particle, p.family, p.given, p.suffix) for p in people], others
    ([('van der', 'Berg', 'Jan', ''), ('', 'Joiner', 'Thomas E.', 'Jr.')], True)
    """
    from bibtexparser.middlewares.names import (
        parse_single_name_into_parts,
        split_multiple_persons_names,
    )

    people: list[Person] = []
    others = False
    for name in split_multiple_persons_names(raw):
        if name.strip().lower() == "others":
            others = True
            continue
        stripped = name.strip()
        if stripped.startswith("{") and stripped.endswith("}") and "," not in stripped:
            people.append(Person(family=clean_latex(stripped), literal=True))
            continue
        parts = parse_single_name_into_parts(name)
        people.append(
            Person(
                family=clean_latex(" ".join(parts.last)),
                given=clean_latex(" ".join(parts.first)),
                particle=clean_latex(" ".join(parts.von)),
                suffix=clean_latex(" ".join(parts.jr)),
            )
        )
    return tuple(people), others


def load_bibliography(path: Path, display_path: str | None = None) -> Bibliography:
    """Parse ``path`` and check it (see :func:`check_library`).

    Never raises for problems in the file; they are in ``Bibliography.problems``.
    A file that cannot be read at all (missing, not UTF-8) is one error problem.
    """
    shown = display_path or str(path)
    bib = Bibliography(path=shown)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        bib.problems.append(
            Problem("error", shown, None, "", "bibliography file not found", "bib-missing")
        )
        return bib
    except UnicodeDecodeError as exc:
        bib.problems.append(
            Problem(
                "error",
                shown,
                None,
                "",
                f"not UTF-8 text ({exc.reason}); save as UTF-8",
                "bib-encoding",
            )
        )
        return bib
    except OSError as exc:  # a folder, no read permission, an I/O error
        what = "is a folder, not a file" if path.is_dir() else f"cannot be read: {exc.strerror}"
        bib.problems.append(
            Problem("error", shown, None, "", f"bibliography {what}", "bib-unreadable")
        )
        return bib
    return parse_bibliography(text, shown)


def parse_bibliography(text: str, display_path: str = "references.bib") -> Bibliography:
    """Parse BibTeX ``text`` into a :class:`Bibliography` and check it."""
    import bibtexparser  # imported here: costs ~0.1 s and only bib commands need it

    logger = logging.getLogger("bibtexparser")
    level = logger.level
    logger.setLevel(logging.CRITICAL)  # its messages become our located problems instead
    try:
        library = bibtexparser.parse_string(text)
    finally:
        logger.setLevel(level)
    bib = Bibliography(path=display_path)
    bib.problems.extend(check_library(library, display_path))
    for entry in library.entries:
        fields, persons, others = {}, {}, set()
        for f in entry.fields:
            name, raw = f.key.lower(), str(f.value)
            fields[name] = _verbatim(raw) if name in _VERBATIM else clean_latex(raw)
            if name in ("author", "editor"):
                persons[name], etal = split_persons(raw)
                if etal:
                    others.add(name)
        bib.entries[entry.key] = Reference(
            key=entry.key,
            entry_type=entry.entry_type.lower(),
            fields=fields,
            # start_line is None only for blocks built in code, never for parsed ones
            line=(entry.start_line or 0) + 1,
            persons=persons,
            others=frozenset(others),
        )
    return bib


def check_library(library: object, path: str) -> list[Problem]:
    """Every problem bibtexparser reported or silently accepted, located by line."""
    problems: list[Problem] = []

    def add(line: int | None, fld: str, message: str, code: str, severity: str = "error") -> None:
        problems.append(Problem(severity, path, line, fld, message, code))  # type: ignore[arg-type]

    for block in library.failed_blocks:  # type: ignore[attr-defined]
        line = block.start_line + 1
        kind = type(block).__name__
        if kind == "DuplicateBlockKeyBlock":
            add(
                line,
                block.key,
                f"duplicate citation key {block.key!r}: the first entry "
                "with this key is used; rename or delete this one",
                "bib-duplicate",
            )
        else:
            reason = str(getattr(block, "error", "") or "") or "an unclosed brace or quote"
            raw_head = block.raw.strip().splitlines()[0][:60] if block.raw.strip() else ""
            add(
                line,
                "",
                f"cannot parse this block ({reason}): {raw_head!r}; check that every "
                "{ has its } and fields are separated by commas",
                "bib-syntax",
            )
    macros = {s.key.lower() for s in library.strings} | _MONTHS  # type: ignore[attr-defined]
    for entry in library.entries:  # type: ignore[attr-defined]
        line = entry.start_line + 1
        names = {f.key.lower() for f in entry.fields}
        for f in entry.fields:
            name = f.key.lower()
            value = str(f.value)
            if name not in KNOWN_FIELDS:
                near = difflib.get_close_matches(name, KNOWN_FIELDS, n=1)
                hint = f" (did you mean {near[0]!r}?)" if near else ""
                add(
                    line,
                    f"{entry.key}.{f.key}",
                    f"unknown field name {f.key!r}{hint}",
                    "bib-field",
                    "warning",
                )
            swallowed = _SWALLOWED.search(value)
            if swallowed:
                add(
                    line,
                    f"{entry.key}.{f.key}",
                    f"field {f.key!r} swallowed the next field "
                    f"{swallowed.group(1)!r}: a comma is missing between them",
                    "bib-comma",
                )
        for m in _BARE_VALUE.finditer(entry.raw):
            fld, macro = m.group(1).lower(), m.group(2).lower()
            if fld != entry.key.lower() and macro not in macros and not macro.isdigit():
                add(
                    line,
                    f"{entry.key}.{fld}",
                    f"@string macro {m.group(2)!r} is not defined; "
                    "put the value in braces or define the macro",
                    "bib-macro",
                )
        missing = [
            req
            for req in REQUIRED
            if req not in names
            and not (req == "author" and "editor" in names)
            and not (req == "year" and "date" in names)
        ]
        note = next((str(f.value) for f in entry.fields if f.key.lower() == "note"), "").lower()
        for req in missing:
            if "not seen" in note and req[:4] in note:
                add(
                    line,
                    entry.key,
                    f"entry {entry.key!r} has no {req}; its note says it was "
                    "not seen in the source",
                    "bib-required",
                    "warning",
                )
            else:
                add(
                    line,
                    entry.key,
                    f"entry {entry.key!r} is missing {req} (required: "
                    f"{', '.join(REQUIRED)}; if the source does not show it, say so in "
                    f"note = {{{req.capitalize()} not seen}})",
                    "bib-required",
                )
    return problems


def short_label(ref: Reference) -> str:
    """'Razzaque et al. 2015' style label for tables and forest plots.

    Examples
    --------
    >>> bib = parse_bibliography("@article{b, author = {van der Berg, Jan}, year = {2020}}")
    >>> short_label(bib["b"])
    'van der Berg 2020'
    """
    people = ref.persons.get("author") or ref.persons.get("editor") or ()
    surnames = [p.surname for p in people]
    year = ref.get("year") or ref.get("date")[:4]
    if not surnames:
        return f"{ref.key} {year}".strip()
    if len(surnames) == 1 and not ref.others:
        return f"{surnames[0]} {year}"
    if len(surnames) == 2 and not ref.others:
        return f"{surnames[0]} & {surnames[1]} {year}"
    return f"{surnames[0]} et al. {year}"


# ----------------------------------------------------------------------------- CSL styles

_CSL_TYPES = {
    "article": "article-journal",
    "book": "book",
    "inbook": "chapter",
    "incollection": "chapter",
    "inproceedings": "paper-conference",
    "phdthesis": "thesis",
    "mastersthesis": "thesis",
    "techreport": "report",
    "report": "report",
    "online": "webpage",
}


def _not_seen(ref: Reference, what: str) -> bool:
    note = ref.get("note").lower()
    return "not seen" in note and what in note


def csl_item(ref: Reference) -> dict[str, object]:
    """The entry as CSL-JSON for citeproc-py.

    Unknown authors and titles are said to be unknown (``[Authors not seen]``), never
    left blank or printed as "Anonymous"; ``and others`` becomes a last "et al.".
    """
    kind = ref.entry_type
    howpublished = ref.get("howpublished")
    csl_type = _CSL_TYPES.get(kind, "article")  # misc: a preprint or web document
    item: dict[str, object] = {"id": ref.key, "type": csl_type}
    for role in ("author", "editor"):
        people = [
            {"literal": p.family}
            if p.literal
            else {
                k: v
                for k, v in (
                    ("family", p.family),
                    ("given", p.given),
                    ("non-dropping-particle", p.particle),
                    ("suffix", p.suffix),
                )
                if v
            }
            for p in ref.persons.get(role, ())
        ]
        if role in ref.others:
            people.append({"literal": "et al."})
        if people:
            item[role] = people
    if "author" not in item and "editor" not in item:
        item["author"] = [
            {"literal": "[Authors not seen]" if _not_seen(ref, "author") else "[No author given]"}
        ]
    title = ref.get("title")
    item["title"] = title or ("[Title not seen]" if _not_seen(ref, "title") else "[No title]")
    container = ref.get("journal") or ref.get("journaltitle") or ref.get("booktitle")
    if container:
        item["container-title"] = container
    publisher = ref.get("publisher") or ref.get("school") or ref.get("institution")
    if publisher:
        item["publisher"] = publisher
    if howpublished and not container and "publisher" not in item:
        item["publisher"] = howpublished  # a preprint server or repository
    if kind == "phdthesis":
        item["genre"] = "Doctoral dissertation"
    elif kind == "mastersthesis":
        item["genre"] = "Master's thesis"
    for name, csl in (("volume", "volume"), ("number", "issue"), ("issue", "issue"),
                      ("edition", "edition"), ("doi", "DOI"), ("url", "URL")):  # fmt: skip
        if ref.get(name) and csl not in item:
            item[csl] = ref.get(name)
    if ref.get("pages"):
        item["page"] = ref.get("pages").replace("–", "-").replace("—", "-")
    year = ref.get("year") or ref.get("date")[:4]
    if year[:4].isdigit():
        item["issued"] = {"date-parts": [[int(year[:4])]]}
    if "DOI" in item and "URL" in item:
        del item["URL"]  # the DOI link is the stable one
    return item


def _memoise_csl_xpath() -> None:
    """Make citeproc-py look up each XPath of a style once.

    citeproc-py evaluates an XPath query on the style's XML tree every time it expands a
    macro or looks up a term (``CitationStylesElement.xpath_search``): formatting the
    108 references of the repository ran about 14,000 of them. The style's tree never
    changes once parsed, so the result of a query on an element is always the same list
    of elements: it is kept (as a tuple, which no caller can alter) per element and
    query. The formatted references are identical (``tests/test_bib.py``).
    """
    from citeproc import model

    cls = model.CitationStylesElement
    if getattr(cls, "_synthesis_memoised", False):
        return
    search = cls.xpath_search
    found: dict[tuple[object, str], tuple[Any, ...]] = {}

    def xpath_search(self: Any, expression: str) -> tuple[Any, ...]:
        key = (self, expression)
        hit = found.get(key)
        if hit is None:
            hit = found[key] = tuple(search(self, expression))
        return hit

    cls.xpath_search = xpath_search
    cls._synthesis_memoised = True


@functools.lru_cache(maxsize=4)
def _csl_style(style: str) -> object:
    from citeproc import CitationStylesStyle

    _memoise_csl_xpath()

    if style not in STYLES:
        raise ValueError(f"unknown reference style {style!r} (allowed: {', '.join(STYLES)})")
    path = Path(__file__).with_name("csl") / STYLES[style]
    return CitationStylesStyle(str(path), validate=False)


_URL = re.compile(r"https?://[^\s<>\"]+[^\s<>\".,;)]")


def _link(html_text: str) -> str:
    """DOIs and URLs as links; italics as emphasis (``<em>``, as the reports style it)."""
    html_text = html_text.replace("<i>", "<em>").replace("</i>", "</em>")
    return _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', html_text)


def format_references(
    refs: list[Reference], *, style: str = DEFAULT_STYLE, html_output: bool = False
) -> list[str]:
    """The references formatted with a CSL style (citeproc-py), in the style's order: APA
    sorts by author and year; Vancouver numbers them in the order given.

    With ``html_output`` every field is HTML-escaped, titles of journals are in ``<i>``
    and DOIs and URLs are links.
    """
    import warnings

    from citeproc import Citation, CitationItem, CitationStylesBibliography, formatter
    from citeproc.source.json import CiteProcJSON

    data = [csl_item(r) for r in refs]
    if html_output:  # citeproc-py's HTML formatter does not escape field text
        data = [_escaped(item) for item in data]
    source = CiteProcJSON(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # citeproc warns about CSL features it skips
        bib = CitationStylesBibliography(
            _csl_style(style), source, formatter.html if html_output else formatter.plain
        )
        for r in refs:
            bib.register(Citation([CitationItem(r.key)]))
        items = [_tidy(str(item)) for item in bib.bibliography()]
    if style == "vancouver":  # numbered by the style ("1."), in the order given
        items = [re.sub(r"^(\d+)\.(?=\S)", r"\1. ", text) for text in items]
    else:  # author-date: alphabetical, as APA sorts (citeproc-py keeps the given order)
        items.sort(key=lambda text: html.unescape(re.sub(r"<[^>]+>", "", text)).lower())
    return [_link(text) if html_output else html.unescape(text) for text in items]


def _escaped(value: Any) -> Any:
    """``value`` with every string HTML-escaped (dicts and lists walked)."""
    if isinstance(value, str):
        return html.escape(value, quote=False)
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    if isinstance(value, dict):
        return {k: v if k in ("id", "type") else _escaped(v) for k, v in value.items()}
    return value


def _tidy(text: str) -> str:
    """Artefacts of citeproc-py with these styles: "& et al." for BibTeX's "and others", a
    label printed without its number
    ("(Publication)" for a thesis without a publication number) and a full stop after a
    title that ends in "?" or "!"."""
    text = text.replace(" (Publication)", "")
    text = re.sub(r",? &(?:amp;)? et al\.", ", et al.", text)  # "and others": no "& et al."
    return re.sub(r"([?!])\.", r"\1", text)


def format_reference(
    ref: Reference, *, html_output: bool = False, style: str = DEFAULT_STYLE
) -> str:
    r"""One reference in ``style`` (APA by default; see :func:`format_references`).

    Examples
    --------
    >>> bib = parse_bibliography(
    ...     r"@article{s, author = {Sch\"{o}n, Donald and van der Berg, Jan}, "
    ...     "title = {A title}, journal = {Psychosis}, year = {2011}, volume = {3}, "
    ...     "pages = {192--204}}")
    >>> format_reference(bib["s"])
    'Schön, D., & van der Berg, J. (2011). A title. Psychosis, 3, 192–204.'
    """
    text = format_references([ref], style=style, html_output=html_output)[0]
    return re.sub(r"^1\. ", "", text) if style == "vancouver" else text


# ----------------------------------------------------------------------------- citations

#: A Pandoc-style citation in text: ``[@key]`` or ``[@a; @b]``.
CITATION = re.compile(r"\[(@[\w:.-]+(?:\s*;\s*@[\w:.-]+)*)\]")


def cited_keys(text: str) -> list[str]:
    """The keys cited in ``text`` as ``[@key]``, in order of first appearance."""
    keys: list[str] = []
    for m in CITATION.finditer(text):
        for part in m.group(1).split(";"):
            key = part.strip().lstrip("@")
            if key not in keys:
                keys.append(key)
    return keys


def author_year(ref: Reference) -> str:
    """The in-text form APA uses: "Seikkula et al., 2011"; the title's first words when the
    authors are not known.

    Examples
    --------
    >>> bib = parse_bibliography("@article{b, author = {van der Berg, J. and Ng, A.}, year = 2020}")
    >>> author_year(bib["b"])
    'van der Berg & Ng, 2020'
    """
    people = ref.persons.get("author") or ref.persons.get("editor") or ()
    year = (ref.get("year") or ref.get("date")[:4]) or "n.d."
    names = [p.surname for p in people]
    if not names:
        words = ref.get("title").split()
        who = "“" + " ".join(words[:4]) + ("…" if len(words) > 4 else "") + "”"
    elif len(names) == 1 and not ref.others:
        who = names[0]
    elif len(names) == 2 and not ref.others:
        who = f"{names[0]} & {names[1]}"
    else:
        who = f"{names[0]} et al."
    return f"{who}, {year}"


def render_citations(
    text: str,
    bib: Bibliography | None,
    *,
    style: str = DEFAULT_STYLE,
    numbers: dict[str, int] | None = None,
) -> str:
    """Replace every ``[@key]`` in ``text`` by its in-text citation in ``style``.

    APA gives "(Seikkula et al., 2011; Razzaque & Wood, 2016)"; Vancouver gives the
    reference's number in the page's list, "[3, 5]" (``numbers``: key -> number; a key
    without a number falls back to author and year). A key missing from the bibliography
    is left as written, so the reader sees it.

    Examples
    --------
    >>> bib = parse_bibliography("@article{s, author = {Seikkula, J. and Olson, M.}, year = 2003}")
    >>> render_citations("as shown [@s].", bib)
    'as shown (Seikkula & Olson, 2003).'
    >>> render_citations("as shown [@s].", bib, style="vancouver", numbers={"s": 4})
    'as shown [4].'
    """
    if style not in STYLES:
        raise ValueError(f"unknown reference style {style!r} (allowed: {', '.join(STYLES)})")

    def one(m: re.Match[str]) -> str:
        keys = [k.strip().lstrip("@") for k in m.group(1).split(";")]
        if bib is None or any(k not in bib for k in keys):
            return m.group(0)
        if style == "vancouver" and numbers and all(k in numbers for k in keys):
            return "[" + ", ".join(str(numbers[k]) for k in keys) + "]"
        return "(" + "; ".join(author_year(bib[k]) for k in keys) + ")"

    return CITATION.sub(one, text)


#: URL schemes a reference may link to in the reports.
LINK_SCHEMES = ("http", "https", "doi")


def link_allowed(url: str) -> bool:
    """True when ``url`` is an http, https or doi address (safe to render as a link).

    >>> link_allowed("https://doi.org/10.1/x"), link_allowed(" JavaScript:alert(1)")
    (True, False)
    """
    from urllib.parse import urlsplit

    cleaned = "".join(ch for ch in url if ch.isprintable() and not ch.isspace())
    return urlsplit(cleaned).scheme.lower() in LINK_SCHEMES
