"""The bibliography: load ``references.bib`` (bibtexparser 2.x), check it, format references.

bibtexparser 2 never raises: it keeps the first of duplicate keys and puts problems in
``library.failed_blocks``. It also accepts, silently, a missing comma between fields (the
next field is swallowed into the value), an undefined ``@string`` macro (kept as the macro
name) and misspelt field names. :func:`check_library` reports all of these.
"""

from __future__ import annotations

import difflib
import html
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from synthesis.problems import Problem

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

_ACCENTS = {
    r"\"a": "ä",
    r"\"o": "ö",
    r"\"u": "ü",
    r"\"A": "Ä",
    r"\"O": "Ö",
    r"\"U": "Ü",
    r"\'e": "é",
    r"\'a": "á",
    r"\'i": "í",
    r"\'o": "ó",
    r"\'u": "ú",
    r"\`e": "è",
    r"\`a": "à",
    r"\~n": "ñ",
    r"\c c": "ç",
    r"\ss": "ß",
    r"\&": "&",
    r"\%": "%",
}


@dataclass(frozen=True)
class Reference:
    """One bibliography entry with its fields as plain text (LaTeX markup removed)."""

    key: str
    entry_type: str
    fields: dict[str, str]
    line: int

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

    def format(self, key: str, *, html_output: bool = False) -> str:
        """APA-like reference for ``key`` (see :func:`format_reference`)."""
        return format_reference(self.entries[key], html_output=html_output)


def clean_latex(text: str) -> str:
    """Turn BibTeX/LaTeX markup into plain text: accents, dashes, braces, whitespace."""
    for macro, char in _ACCENTS.items():
        text = text.replace("{" + macro + "}", char).replace(macro, char)
    text = re.sub(r"\\[a-zA-Z]+\{([^{}]*)\}", r"\1", text)  # \emph{x} -> x
    text = text.replace("---", "—").replace("--", "–").replace("~", " ")
    text = text.replace("{", "").replace("}", "")
    return re.sub(r"\s+", " ", text).strip()


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
        fields = {f.key.lower(): clean_latex(str(f.value)) for f in entry.fields}
        bib.entries[entry.key] = Reference(
            key=entry.key,
            entry_type=entry.entry_type.lower(),
            fields=fields,
            line=entry.start_line + 1,
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


def _authors(raw: str) -> str:
    people = [p.strip() for p in raw.split(" and ") if p.strip()]
    formatted = []
    for person in people:
        if person.lower() == "others":
            continue
        if "," in person:
            last, first = (s.strip() for s in person.split(",", 1))
        else:
            parts = person.split()
            last, first = parts[-1], " ".join(parts[:-1])
        initials = " ".join(f"{n[0]}." for n in re.split(r"[\s-]+", first) if n)
        formatted.append(f"{last}, {initials}".strip().rstrip(","))
    if "others" in (p.lower() for p in people):
        return ", ".join(formatted) + ", et al."
    if not formatted:
        return "Anonymous"
    if len(formatted) == 1:
        return formatted[0]
    if len(formatted) > 20:
        formatted = [*formatted[:19], "…", formatted[-1]]
    return ", ".join(formatted[:-1]) + ", & " + formatted[-1]


def short_label(ref: Reference) -> str:
    """'Razzaque et al. 2015' style label for tables and forest plots."""
    people = [p.strip() for p in ref.get("author").split(" and ") if p.strip()]
    surnames = [p.split(",")[0].strip() if "," in p else p.split()[-1] for p in people]
    year = ref.get("year") or ref.get("date")[:4]
    if not surnames:
        return f"{ref.key} {year}".strip()
    if len(surnames) == 1:
        return f"{surnames[0]} {year}"
    if len(surnames) == 2:
        return f"{surnames[0]} & {surnames[1]} {year}"
    return f"{surnames[0]} et al. {year}"


def format_reference(ref: Reference, *, html_output: bool = False) -> str:
    """An APA-like reference: Authors (Year). Title. *Journal*, vol(issue), pages. DOI.

    With ``html_output`` every field is HTML-escaped and the container is in ``<em>``.
    """
    esc = html.escape if html_output else (lambda s: s)
    year = ref.get("year") or ref.get("date")[:4] or "n.d."
    parts = [f"{esc(_authors(ref.get('author') or ref.get('editor')))} ({esc(year)})."]
    title = ref.get("title").rstrip(".")
    if title:
        parts.append(f"{esc(title)}.")
    container = ref.get("journal") or ref.get("journaltitle") or ref.get("booktitle")
    container = container or ref.get("publisher") or ref.get("howpublished")
    if container:
        shown = f"<em>{esc(container)}</em>" if html_output else container
        vol = ref.get("volume")
        issue = ref.get("number") or ref.get("issue")
        pages = ref.get("pages")
        tail = shown
        if vol:
            tail += f", {esc(vol)}"
            if issue:
                tail += f"({esc(issue)})"
        if pages:
            tail += f", {esc(pages)}"
        parts.append(tail + ".")
    doi = ref.get("doi")
    if doi:
        link = f"https://doi.org/{doi}"
        parts.append(f'<a href="{esc(link)}">{esc(link)}</a>' if html_output else link)
    elif ref.get("url"):
        url = ref.get("url")
        if html_output and link_allowed(url):
            parts.append(f'<a href="{esc(url)}">{esc(url)}</a>')
        else:  # javascript:, data:, file: ... are shown as text, never as a link
            parts.append(esc(url))
    return " ".join(parts)


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
