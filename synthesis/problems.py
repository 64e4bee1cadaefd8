"""Problems found in user input, collected into one report.

Validation never stops at the first problem: every check adds :class:`Problem` objects
to a :class:`ProblemReport`, which the CLI prints all at once. Only the boundary (the CLI,
``synthesis build``) turns a report with errors into a non-zero exit.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Literal

Severity = Literal["error", "warning", "note"]
_ORDER = {"error": 0, "warning": 1, "note": 2}


@dataclass(frozen=True)
class Problem:
    """One problem, located as precisely as the input allows.

    Attributes
    ----------
    severity : {"error", "warning", "note"}
        Errors make validation fail; warnings and notes are shown but allowed.
    file : str
        Path of the offending file, relative to the project root where possible.
    line : int or None
        1-based line in ``file`` (None when the problem is about the whole file).
    field : str
        Dotted path of the field, e.g. ``outcomes[0].data.r`` (empty for the whole file).
    message : str
        What is wrong, with the offending value and what is allowed or how to fix it.
    code : str
        A short stable identifier of the check, e.g. ``unknown-field``.
    """

    severity: Severity
    file: str
    line: int | None
    field: str
    message: str
    code: str = "invalid"

    def location(self) -> str:
        """``file:line: field`` as editors and terminals understand it."""
        loc = self.file
        if self.line is not None:
            loc += f":{self.line}"
        if self.field:
            loc += f": {self.field}"
        return loc

    def __str__(self) -> str:
        return f"{self.location()}: {self.severity}: {self.message}"


@dataclass
class ProblemReport:
    """Every problem found in one validation run, plus what was checked."""

    problems: list[Problem] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)

    def add(self, problem: Problem) -> None:
        """Add one problem."""
        self.problems.append(problem)

    def extend(self, problems: list[Problem] | ProblemReport) -> None:
        """Add every problem of a list or another report."""
        items = problems.problems if isinstance(problems, ProblemReport) else problems
        self.problems.extend(items)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings and notes are allowed)."""
        return not self.errors

    def sorted(self) -> list[Problem]:
        """Problems ordered by file, line, then severity."""
        return sorted(
            self.problems,
            key=lambda p: (p.file, p.line or 0, _ORDER[p.severity], p.field, p.message),
        )

    def summary(self) -> str:
        """One line: counts of what was checked and found."""
        what = ", ".join(f"{n} {name}" for name, n in self.checked.items())
        n_err, n_warn = len(self.errors), len(self.warnings)
        verdict = "valid" if self.ok else "INVALID"
        return f"{verdict}: {what}; {n_err} error(s), {n_warn} warning(s)"

    def to_text(self) -> str:
        """Every problem on its own line, then the summary."""
        lines = [str(p) for p in self.sorted()]
        lines.append(self.summary())
        return "\n".join(lines)

    def to_json(self) -> str:
        """The report as one JSON object (stable key order)."""
        payload = {
            "ok": self.ok,
            "checked": self.checked,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "problems": [asdict(p) for p in self.sorted()],
        }
        return json.dumps(payload, indent=2, sort_keys=True)


def format_loc(loc: tuple[str | int, ...]) -> str:
    """``('outcomes', 0, 'data', 'r')`` -> ``outcomes[0].data.r``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
