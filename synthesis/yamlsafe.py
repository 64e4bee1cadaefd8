"""Safe, located YAML loading for evidence records.

Records are plain data. This loader builds Python values straight from the YAML event
stream (no constructor runs, so no tag can create a Python object), refuses anchors and
aliases (so an alias "billion laughs" bomb cannot expand), bounds file size and nesting
depth, and remembers the line of every key and item so that problems can name it.

Plain scalars are read with the YAML 1.2 core schema, not PyYAML's YAML 1.1 one: there
are no timestamps (``2021-02-30`` is text), no sexagesimal numbers (``1:10`` and ``12:30``
are text) and ``yes``/``no`` are words. Integers that YAML 1.1 and YAML 1.2 tools read as
different numbers (``012`` is 10 in YAML 1.1 and 12 in YAML 1.2), and hexadecimal or octal
integers, are refused with their line, so a number never changes between readers. Text
holding control characters (``"\\0"``, ``"\\e[31m"``) is refused: it would reach terminals
and reports.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

#: Largest record file accepted, in bytes (the largest real record is a few KiB).
MAX_BYTES = 1_000_000
#: Deepest nesting of mappings and sequences accepted.
MAX_DEPTH = 32

_STANDARD_TAGS = {
    None,
    "!",
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}

try:  # libyaml is much faster; both parsers emit the same events
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


class YamlError(ValueError):
    """The file cannot be read as a YAML record: ``line`` says where, when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


Path_ = tuple[str | int, ...]


@dataclass
class Located:
    """A loaded document and the 1-based line of each field path within it."""

    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)
    #: The text of every scalar that reads as a number, as printed in the file
    #: (``"2.20"`` keeps its trailing zero; ``"86%"`` its sign), by field path: the
    #: printed digits of each number, kept at load so no later stage reads the file again.
    printed: dict[Path_, str] = field(default_factory=dict)

    def line_of(self, path: Path_) -> int | None:
        """Line of ``path``, or of its nearest located ancestor."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())

    def printed_at(self, path: Path_) -> str | None:
        """The number at ``path`` as printed in the file (``None`` if it is not a number).

        >>> located = loads("sd: 2.20\\nci: [0.10, '0.50']\\n")
        >>> located.printed_at(("sd",)), located.printed_at(("ci", 1))
        ('2.20', '0.50')
        """
        return self.printed.get(tuple(path))


# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#103-core-schema), for plain scalars
_NULL = re.compile(r"~|null|Null|NULL|")
_TRUE = re.compile(r"true|True|TRUE")
_FALSE = re.compile(r"false|False|FALSE")
_INT = re.compile(r"[-+]?[0-9]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_INF = re.compile(r"([-+]?)\.(inf|Inf|INF)")
_NAN = re.compile(r"\.(nan|NaN|NAN)")
_OCT_HEX = re.compile(r"[-+]?0(o[0-7]+|x[0-9a-fA-F]+)")
_LEADING_ZERO = re.compile(r"[-+]?0[0-9]+")
#: First characters of the plain scalars that are not text: null (~, null), booleans and
#: numbers (digits, signs, .5, .inf, .nan).
_SPECIAL_START = frozenset("0123456789+-.~nNtTfF")
#: Longest integer accepted, in digits (no count or measurement needs more).
MAX_DIGITS = 30
#: Format characters that reorder or hide text (bidirectional overrides and isolates).
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


#: Unicode category Cc (U+0000-U+001F, U+007F-U+009F) except tab and newline, and _BIDI.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f" + "".join(sorted(_BIDI)) + "]")


def _check_text(value: str, line: int | None) -> None:
    """Refuse control characters (other than tab and newline) and bidi overrides."""
    found = _CONTROL.search(value)
    if found is not None:
        where = value[: found.start()].count("\n")
        raise YamlError(
            f"control character U+{ord(found.group()):04X} in text {value[:40]!r}: records "
            "hold printable text only (remove it; escapes like \\0 or \\e are not allowed)",
            None if line is None else line + where,
        )


def plain_value(text: str, line: int | None = None) -> Any:
    """The value of an unquoted scalar under the YAML 1.2 core schema.

    >>> plain_value("012.5"), plain_value("1:10"), plain_value("2021-02-30"), plain_value("no")
    (12.5, '1:10', '2021-02-30', 'no')
    >>> plain_value("012")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    synthesis.yamlsafe.YamlError: integer '012' has a leading zero: ...
    """
    if text and text[0] not in _SPECIAL_START:
        return text  # no null, bool or number starts otherwise
    if _NULL.fullmatch(text):
        return None
    if _TRUE.fullmatch(text):
        return True
    if _FALSE.fullmatch(text):
        return False
    if _INT.fullmatch(text):
        digits = text.lstrip("+-")
        if _LEADING_ZERO.fullmatch(text):
            octal = set(digits) <= set("01234567")
            old = f"as octal ({int(digits, 8)})" if octal else "differently"
            raise YamlError(
                f"integer {text!r} has a leading zero: YAML 1.1 tools read it {old} and "
                f"YAML 1.2 tools as {int(digits)}; write {int(text)} (or quote it if it is text)",
                line,
            )
        if len(digits) > MAX_DIGITS:
            raise YamlError(
                f"integer of {len(digits)} digits is too long (at most {MAX_DIGITS}): "
                "no count or measurement needs more",
                line,
            )
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    inf = _INF.fullmatch(text)
    if inf:
        return float(f"{inf.group(1)}inf")
    if _NAN.fullmatch(text):
        return float("nan")
    if _OCT_HEX.fullmatch(text):
        raise YamlError(
            f"{text!r} is a hexadecimal or octal integer: write the number in decimal "
            "(or quote it if it is text)",
            line,
        )
    return text


def _scalar(event: yaml.ScalarEvent, printable: bool = False) -> Any:
    """The value of a scalar event; ``printable`` when the whole file has no control
    character and no backslash, so no value can hold one (see :func:`loads`)."""
    line = event.start_mark.line + 1 if event.start_mark else None
    if event.tag not in _STANDARD_TAGS:
        raise YamlError(
            f"YAML tag {event.tag!r} is not allowed: records hold plain data only (remove the tag)",
            line,
        )
    if not printable:
        _check_text(event.value, line)
    if event.tag in ("!", "tag:yaml.org,2002:str") or (
        event.tag is None and event.style in ("'", '"', "|", ">")
    ):
        return event.value  # quoted, block or explicitly tagged as a string
    value = plain_value(event.value, line)
    if event.tag is None:
        return value
    wanted = {
        "tag:yaml.org,2002:int": (int,),
        "tag:yaml.org,2002:float": (int, float),
        "tag:yaml.org,2002:bool": (bool,),
        "tag:yaml.org,2002:null": (type(None),),
    }[event.tag]
    if (isinstance(value, bool) and bool not in wanted) or not isinstance(value, wanted):
        raise YamlError(
            f"cannot read value {event.value!r} as {event.tag.rsplit(':', 1)[-1]}", line
        )
    return float(value) if isinstance(value, int | float) and event.tag.endswith("float") else value


def loads(text: str) -> Located:
    """Parse one YAML document from ``text``.

    Raises
    ------
    YamlError
        On a syntax error, a tag, an anchor/alias, nesting deeper than ``MAX_DEPTH``,
        a duplicate key, a non-scalar key, or more than one document.
    """
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise YamlError(f"file is larger than {MAX_BYTES} bytes; a study record is a few KiB")
    located = Located(data=None)
    # stack items: [container, path, pending_key, key_line]
    stack: list[list[Any]] = []
    documents = 0
    root: Any = None
    printed = located.printed
    # A value is the file's characters, with line breaks made "\n" and folds made spaces,
    # except for the escapes of double-quoted text: without a control character (\r and
    # \x85 included) and a backslash in the file, no value can hold one.
    printable = _CONTROL.search(text) is None and "\\" not in text
    try:
        for event in yaml.parse(text, Loader=_Loader):
            kind = type(event)
            if kind is yaml.ScalarEvent:  # most events: test it first
                if event.anchor:
                    raise _alias_error(event)
                value = _scalar(event, printable)
                top = stack[-1] if stack else None
                if top is not None and top[2] is _NO_KEY and type(top[0]) is dict:
                    line = event.start_mark.line + 1 if event.start_mark else None
                    if not isinstance(value, (str, int, float, bool)) or value is None:
                        raise YamlError(f"key {value!r} is not a plain name", line)
                    key = str(value) if not isinstance(value, str) else value
                    if key in top[0]:
                        raise YamlError(f"duplicate key {key!r} in the same mapping", line)
                    top[2] = key
                    top[3] = line
                    continue
                path = _child_path(stack, event, located)
                if _is_number_text(event.value, value):
                    printed[path] = event.value
                if top is None:
                    root = value
                else:
                    _attach(top, value)
                continue
            line = event.start_mark.line + 1 if event.start_mark else None
            if kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                if event.anchor:
                    raise _alias_error(event)
                if event.tag not in _STANDARD_TAGS:
                    raise YamlError(
                        f"YAML tag {event.tag!r} is not allowed: records hold plain data only",
                        line,
                    )
                if len(stack) >= MAX_DEPTH:
                    raise YamlError(f"nesting deeper than {MAX_DEPTH} levels", line)
                container: Any = {} if kind is yaml.MappingStartEvent else []
                if stack and type(stack[-1][0]) is dict and stack[-1][2] is _NO_KEY:
                    raise YamlError("a mapping or list cannot be used as a key", line)
                path = _child_path(stack, event, located)
                if stack:
                    _attach(stack[-1], container)
                stack.append([container, path, _NO_KEY, None])
                continue
            if kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                done = stack.pop()
                if not stack:
                    root = done[0]
                continue
            if kind is yaml.AliasEvent:
                raise _alias_error(event)
            if kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise YamlError(
                        "more than one YAML document ('---'): one record per file", line
                    )
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = exc.problem or exc.context or "syntax error"
        raise YamlError(f"YAML syntax error: {reason}", mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:  # pragma: no cover - reader errors etc.
        raise YamlError(f"YAML error: {exc}") from None
    located.data = root
    return located


class _NoKey:
    def __repr__(self) -> str:  # pragma: no cover
        return "<no key>"


_NO_KEY = _NoKey()


def _alias_error(event: yaml.Event) -> YamlError:
    line = event.start_mark.line + 1 if event.start_mark else None
    return YamlError(
        "YAML anchors and aliases (&name, *name) are not allowed in records: write the value out",
        line,
    )


def _is_number_text(text: str, value: Any) -> bool:
    """Whether a scalar is a number as printed (plain, or quoted like ``"0.50"``, ``"86%"``)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return bool(text.lstrip()[:1] in _NUMBER_START and _NUMBER_TEXT.fullmatch(text))


_NUMBER_START = frozenset("0123456789+-.")
_NUMBER_TEXT = re.compile(r"\s*[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\s*%?\s*")


def _child_path(stack: list[list[Any]], event: yaml.Event, located: Located) -> Path_:
    """Path of the node about to be attached, recording its line."""
    line = event.start_mark.line + 1 if event.start_mark else None
    if not stack:
        path: Path_ = ()
    else:
        container, parent, key, key_line = stack[-1]
        if type(container) is dict:
            path = (*parent, key)
            line = key_line or line
        else:
            path = (*parent, len(container))
    if line is not None:
        located.lines[path] = line
    return path


def _attach(top: list[Any], value: Any) -> None:
    if type(top[0]) is dict:
        top[0][top[2]] = value
        top[2] = _NO_KEY
    else:
        top[0].append(value)


def read_record(path: Path) -> bytes:
    """The bytes of ``path``, refused when larger than ``MAX_BYTES``."""
    size = os.stat(path).st_size  # Path.stat and Path.read_bytes, at less cost
    if size > MAX_BYTES:
        raise YamlError(f"file is {size} bytes, larger than the {MAX_BYTES} allowed")
    with open(path, "rb") as handle:
        return handle.read()


def loads_bytes(raw: bytes) -> Located:
    """Parse the bytes of a record file (UTF-8)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlError(
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            "save the file as UTF-8",
            line,
        ) from None
    return loads(text)


def load(path: Path) -> Located:
    """Read and parse ``path`` (UTF-8, at most ``MAX_BYTES``)."""
    return loads_bytes(read_record(path))
