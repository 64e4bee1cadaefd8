"""Load and validate the evidence base: every problem at once, each located.

:func:`validate` reads ``references.bib``, ``evidence/questions/*.yaml`` and
``evidence/studies/*.yaml``, checks structure (pydantic models in :mod:`synthesis.records`),
values (ranges, counts, confidence intervals, provenance of every number) and
cross-references (ids, citations, questions, cohorts), and returns the loaded
:class:`EvidenceBase` together with a :class:`~synthesis.problems.ProblemReport`.
It never raises for problems in the input; :func:`load_evidence` does, at the boundary.
"""

from __future__ import annotations

import contextlib
import difflib
import gc
import io
import math
import os
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from synthesis import records
from synthesis.bib import Bibliography, load_bibliography, parse_bibliography
from synthesis.claims import CHECK_KINDS, Claim
from synthesis.errors import ValidationFailed
from synthesis.evidence import EvidenceBase
from synthesis.parsecache import ParseCache, disabled_by_environment
from synthesis.problems import Problem, ProblemReport, format_loc
from synthesis.screening import excluded_problems, search_problems
from synthesis.verdicts import claim_problems
from synthesis.yamlsafe import Located, YamlError, loads_bytes, read_record
from synthesis.yamlsafe import load as load_yaml

Loc = tuple[str | int, ...]

#: Largest count (n, events) accepted: more than any study's participants.
MAX_COUNT = 1e9
#: Largest magnitude of any number in a record (means, SDs, estimates, statistics).
MAX_VALUE = 1e12


def _rel(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` (both as given: files are globbed under root)."""
    text, prefix = str(path), str(root)
    if prefix != "." and text.startswith(prefix + os.sep) and os.sep == "/":
        return text[len(prefix) + 1 :]  # what relative_to gives, without its parsing
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


# ----------------------------------------------------------------------------- structure


def _fields_at(model: Any, loc: Loc) -> set[str]:
    """Field names allowed at ``loc`` (the mapping that holds the offending key)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        current = _field_type(current, part)
        if current is None:
            return set()
    models = [m for m in _models_in(current)]
    names: set[str] = set()
    for m in models:
        names.update(m.model_fields)
    return names


def _models_in(tp: Any) -> list[type[BaseModel]]:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [tp]
    out: list[type[BaseModel]] = []
    for arg in typing.get_args(tp):
        out.extend(_models_in(arg))
    return out


def _field_type(tp: Any, name: str) -> Any:
    for m in _models_in(tp):
        if name in m.model_fields:
            return m.model_fields[name].annotation
    if name in records.DATA_KINDS:  # discriminator tag in a loc: stay on that model
        for m in _models_in(tp):
            kind = m.model_fields.get("kind")
            if kind is not None and name in typing.get_args(kind.annotation):
                return m
    return None


def _clean_loc(loc: Loc) -> Loc:
    """Drop discriminator tags and the ``value`` of a bare number from a pydantic loc."""
    out: list[str | int] = []
    for i, part in enumerate(loc):
        if part in records.DATA_KINDS and i > 0 and loc[i - 1] == "data":
            continue
        if part in CHECK_KINDS and i > 1 and loc[i - 2] == "checks":
            continue  # the check kind tag of a claim's check
        if isinstance(part, str) and part.startswith("function-"):
            continue
        out.append(part)
    return tuple(out)


def _at(data: Any, loc: Loc) -> Any:
    """The raw value at ``loc`` in the loaded document (None when absent)."""
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _structure_problems(
    exc: ValidationError, model: type[BaseModel], located: Located, file: str
) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = _clean_loc(tuple(err["loc"]))
        if loc and loc[-1] == "value" and not isinstance(_at(located.data, loc[:-1]), dict):
            loc = loc[:-1]  # a bare number: its value is the field itself
        etype = err["type"]
        if etype == "finite_number":
            msg = (
                f"must be a finite number, got {err.get('input')!r} "
                "(write the number the source reports; delete the field if it gives none)"
            )
            code = "not-finite"
        elif etype == "extra_forbidden":
            key = str(loc[-1])
            allowed = sorted(_fields_at(model, tuple(err["loc"])[:-1]))
            near = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            hint = f"did you mean {near[0]!r}? " if near else ""
            msg = f"unknown field {key!r}: {hint}allowed here: {', '.join(allowed)}"
            code = "unknown-field"
        elif etype == "missing":
            msg = f"required field {loc[-1]!r} is missing"
            code = "missing-field"
        else:
            value = err.get("input")
            shown = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
            msg = err["msg"]
            if etype not in ("number",) and value is not None and not isinstance(value, dict):
                msg += f" (got {shown})"
            code = etype.replace("_", "-")
        problems.append(Problem("error", file, located.line_of(loc), format_loc(loc), msg, code))
    return problems


# ----------------------------------------------------------------------------- values


class _ValueChecker:
    """Range, count and provenance checks of one parsed study, each located."""

    def __init__(self, study: records.Study, located: Located, file: str) -> None:
        self.study = study
        self.located = located
        self.file = file
        self.problems: list[Problem] = []

    def add(self, loc: Loc, message: str, code: str, severity: str = "error") -> None:
        self.problems.append(
            Problem(severity, self.file, self.located.line_of(loc), format_loc(loc), message, code)  # type: ignore[arg-type]
        )

    # -- provenance
    def _source_ok(self, src: records.SourceRef | None, loc: Loc) -> bool:
        if src is None:
            return False
        if isinstance(src, str) and src not in self.study.sources:
            names = ", ".join(sorted(self.study.sources)) or "none defined"
            self.add(
                loc,
                f"source {src!r} is not a name in this study's sources ({names})",
                "unknown-source",
            )
        return True

    def provenance(self, num: records.Num, loc: Loc, *defaults: records.SourceRef | None) -> None:
        if num.derived and num.assumed:
            self.add(loc, "a number is either derived or assumed, not both", "provenance")
        if num.source is not None:
            self._source_ok(num.source, (*loc, "source"))
            return
        if num.assumed:
            return  # an assumption is not read from a source
        if not any(d is not None for d in defaults):
            self.add(
                loc,
                f"number {num.value:g} has no source: give source: on it, on its data "
                "block or on the outcome (a name from sources, or {doi|url, where})",
                "no-locator",
            )

    # -- ranges
    def count(
        self, num: records.Num | None, loc: Loc, *, minimum: int = 0, what: str = "a count"
    ) -> None:
        if num is None:
            return
        v = num.value
        if not math.isfinite(v) or v != int(v):
            self.add(loc, f"{what} must be a whole number, got {v:g}", "not-integer")
        elif v < minimum:
            self.add(loc, f"{what} must be at least {minimum}, got {v:g}", "out-of-range")
        elif v > MAX_COUNT:
            self.add(
                loc,
                f"{what} must be at most {MAX_COUNT:g} (more people than any study), got {v:g}",
                "out-of-range",
            )

    def percent(self, num: records.PercentNum | None, loc: Loc) -> None:
        """A percentage in [0, 100]; one in (0, 1] must say ``unit: "%"`` (0.86 is not 86%)."""
        if num is None:
            return
        self.between(num, loc, 0, 100, "a percentage")
        if 0 < num.value <= 1 and num.unit is None:
            self.add(
                loc,
                f"percent {num.value:g} is at most 1: percentages are written 0-100 "
                f"(86 for 86%, not 0.86). If the source really reports {num.value:g}%, "
                f"write percent: {num.value:g}% (or {{value: {num.value:g}, unit: '%'}})",
                "percent-scale",
            )

    def magnitude(self, num: records.Num, loc: Loc) -> None:
        if abs(num.value) > MAX_VALUE:
            self.add(
                loc,
                f"number {num.value:g} is out of range: numbers in a record lie within "
                f"±{MAX_VALUE:g}",
                "out-of-range",
            )

    def positive(self, num: records.Num | None, loc: Loc, what: str) -> None:
        if num is not None and not num.value > 0:
            self.add(loc, f"{what} must be positive, got {num.value:g}", "out-of-range")

    def between(self, num: records.Num | None, loc: Loc, lo: float, hi: float, what: str) -> None:
        if num is not None and not lo <= num.value <= hi:
            self.add(loc, f"{what} must lie in [{lo:g}, {hi:g}], got {num.value:g}", "out-of-range")

    def interval(
        self, ci: tuple[records.Num, records.Num] | None, loc: Loc, ratio: bool = False
    ) -> None:
        if ci is None:
            return
        lo, hi = ci[0].value, ci[1].value
        if lo > hi:
            self.add(
                loc,
                f"confidence interval lower bound {lo:g} exceeds upper bound {hi:g}: "
                "write [lower, upper]",
                "ci-order",
            )
        if ratio and lo <= 0:
            self.add(
                loc,
                f"a ratio's confidence interval must be positive, got lower bound {lo:g}",
                "out-of-range",
            )

    def events_le_n(self, events: records.Num | None, n: records.Num | None, loc: Loc) -> None:
        if events is not None and n is not None and events.value > n.value:
            self.add(
                loc, f"events ({events.value:g}) exceed the total ({n.value:g})", "events-gt-n"
            )

    def run(self) -> list[Problem]:
        s = self.study
        pop = s.population
        if pop.n is not None:
            self.count(pop.n, ("population", "n"), minimum=1, what="population n")
            self.provenance(pop.n, ("population", "n"), pop.source)
        if isinstance(pop.source, str):
            self._source_ok(pop.source, ("population", "source"))
        for i, oc in enumerate(s.outcomes):
            base: Loc = ("outcomes", i, "data")
            d = oc.data
            if isinstance(oc.source, str):
                self._source_ok(oc.source, ("outcomes", i, "source"))
            if isinstance(d.source, str):
                self._source_ok(d.source, (*base, "source"))
            if oc.timepoint_weeks is not None:
                self.provenance(oc.timepoint_weeks, ("outcomes", i, "timepoint_weeks"), oc.source)
            for name in type(d).model_fields:
                value = getattr(d, name)
                items = value if isinstance(value, tuple) else (value,)
                for j, item in enumerate(items):
                    if isinstance(item, records.Num):
                        loc = (*base, name, j) if isinstance(value, tuple) else (*base, name)
                        self.provenance(item, loc, d.source, oc.source)
                        self.magnitude(item, loc)
                    elif isinstance(item, records.Statistic):
                        for part in ("value", "df", "df2"):
                            number = getattr(item, part)
                            if number is not None:
                                self.magnitude(records.Num(value=number), (*base, name, part))
            self.check_data(d, base)
        return self.problems

    def check_data(self, d: Any, base: Loc) -> None:
        at = lambda *p: (*base, *p)  # noqa: E731
        if isinstance(d, records.Correlation):
            self.between(d.r, at("r"), -1, 1, "a correlation r")
            self.count(d.n, at("n"), minimum=4, what="n for a correlation (ZCOR needs n > 3)")
            self.between(d.p, at("p"), 0, 1, "a p-value")
        elif isinstance(d, records.TwoGroupBinary):
            for g in ("1", "2"):
                self.count(getattr(d, "events" + g), at("events" + g), what="events")
                self.count(getattr(d, "n" + g), at("n" + g), minimum=1, what="a group size")
                self.events_le_n(getattr(d, "events" + g), getattr(d, "n" + g), at("events" + g))
        elif isinstance(d, records.Proportion):
            self.count(d.events, at("events"), what="events")
            self.count(d.n, at("n"), minimum=1, what="n")
            self.events_le_n(d.events, d.n, at("events"))
            self.percent(d.percent, at("percent"))
        elif isinstance(d, records.TwoGroupContinuous):
            for g in ("1", "2"):
                self.positive(getattr(d, "sd" + g), at("sd" + g), "an SD")
                self.count(
                    getattr(d, "n" + g),
                    at("n" + g),
                    minimum=2,
                    what="a group size (an SD needs n >= 2)",
                )
        elif isinstance(d, records.PrePost):
            self.count(d.n, at("n"), minimum=2, what="n (a pre-post SD needs n >= 2)")
            for name in ("sd_pre", "sd_post", "sd_change"):
                self.positive(getattr(d, name), at(name), "an SD")
            for name in ("ci_pre", "ci_post", "ci_change"):
                self.interval(getattr(d, name), at(name))
            self.between(d.r_prepost, at("r_prepost"), -1, 1, "a pre-post correlation")
            has_means = d.mean_pre is not None and d.mean_post is not None
            has_change = d.mean_change is not None
            if not (has_means or has_change):
                self.add(
                    base,
                    "pre_post data need mean_pre and mean_post, or mean_change",
                    "missing-field",
                )
        elif isinstance(d, records.ReportedEffect):
            ratio = d.metric in ("OR", "RR", "HR", "APR")
            self.interval(d.ci, at("ci"), ratio=ratio)
            if ratio:
                self.positive(d.estimate, at("estimate"), f"a {d.metric}")
            if d.metric == "r":
                self.between(d.estimate, at("estimate"), -1, 1, "a correlation r")
            self.positive(d.se, at("se"), "a standard error")
            self.between(d.p, at("p"), 0, 1, "a p-value")
            for name in ("n", "n1", "n2"):
                self.count(getattr(d, name), at(name), minimum=1, what=name)
            if d.ci is not None and not d.ci[0].value <= d.estimate.value <= d.ci[1].value:
                self.add(
                    at("estimate"),
                    f"estimate {d.estimate.value:g} lies outside its "
                    f"confidence interval [{d.ci[0].value:g}, {d.ci[1].value:g}]",
                    "estimate-outside-ci",
                    "warning",
                )
        elif isinstance(d, records.Narrative):
            self.between(d.p, at("p"), 0, 1, "a p-value")
            self.percent(d.percent, at("percent"))


# ----------------------------------------------------------------------------- files


Model = TypeVar("Model", bound=BaseModel)


def _load_file(
    path: Path, model: type[Model], file: str
) -> tuple[tuple[Model, Located] | None, list[Problem]]:
    """The record in ``path`` with the lines of its values, or None; and its problems."""
    try:
        located = load_yaml(path)
    except YamlError as exc:
        return None, [Problem("error", file, exc.line, "", exc.message, "yaml")]
    except OSError as exc:
        return None, [Problem("error", file, None, "", f"cannot read: {exc.strerror}", "io")]
    return _checked(located, model, file)


def _checked(
    located: Located, model: type[Model], file: str
) -> tuple[tuple[Model, Located] | None, list[Problem]]:
    """The record of a loaded document, or None; and its problems (see :func:`_load_file`)."""
    if located.data is None:
        return (
            None,
            [
                Problem(
                    "error",
                    file,
                    None,
                    "",
                    "file is empty: a record is a mapping of fields (see `synthesis new-study`)",
                    "empty",
                )
            ],
        )
    if not isinstance(located.data, dict):
        kind = type(located.data).__name__
        return (
            None,
            [
                Problem(
                    "error",
                    file,
                    located.line_of(()),
                    "",
                    f"the file holds a {kind}, not a mapping of fields (field: value lines)",
                    "not-mapping",
                )
            ],
        )
    placeholders = _placeholders(located, file)
    try:
        parsed = model.model_validate(located.data)
    except ValidationError as exc:
        problems = _structure_problems(exc, model, located, file)
        problems = [p for p in problems if p.code != "placeholder"]
        return None, placeholders + problems
    return (None if placeholders else (parsed, located)), placeholders


Extra = TypeVar("Extra")


def _load_cached(
    path: Path,
    model: type[Model],
    file: str,
    cache: ParseCache | None,
    derive: Callable[[Model, Located, str], Extra],
) -> tuple[tuple[Model, Located] | None, list[Problem], Extra | None]:
    """:func:`_load_file`, plus ``derive(record, located, file)`` of a record that loaded
    (per-file work, such as its value checks), from ``cache`` when it holds this file.

    The result is the same with or without the cache: the cache is keyed by the file's
    bytes (:mod:`synthesis.parsecache`), and a result holding an error is not stored.
    """
    raw = None
    if cache is not None:
        with contextlib.suppress(YamlError, OSError):  # then reported as without the cache
            raw = read_record(path)
    if cache is None or raw is None:
        loaded, problems = _load_file(path, model, file)
        return loaded, problems, (None if loaded is None else derive(*loaded, file))
    key = cache.key(model.__name__, file, raw)
    hit = cache.get(key)
    if isinstance(hit, tuple) and len(hit) == 5:
        data, lines, printed, problems, extra = hit
        # stored only after this validation succeeded on the same data with the same code
        return (model.model_validate(data), Located(data, lines, printed)), problems, extra
    try:
        located = loads_bytes(raw)
    except YamlError as exc:
        return None, [Problem("error", file, exc.line, "", exc.message, "yaml")], None
    loaded, problems = _checked(located, model, file)
    extra = None if loaded is None else derive(*loaded, file)
    if loaded is not None and not _has_error(problems, extra):
        # plain data, not the model: rebuilding it is faster than unpickling it
        cache.put(key, (located.data, located.lines, located.printed, problems, extra))
    return loaded, problems, extra


def _has_error(*groups: Any) -> bool:
    """Whether any list of problems among ``groups`` (or in tuples of them) holds an error."""
    for group in groups:
        if isinstance(group, tuple) and _has_error(*group):
            return True
        if isinstance(group, list) and any(
            isinstance(p, Problem) and p.severity == "error" for p in group
        ):
            return True
    return False


def _no_extra(record: Any, located: Located, file: str) -> None:
    return None


def _study_extra(
    study: records.Study, located: Located, file: str
) -> tuple[list[Problem], list[str | None]]:
    """A study's value problems and the data key of each outcome (None if not pooled)."""
    keys = [
        None if not oc.pool or isinstance(oc.data, records.Narrative) else _data_key(oc.data)
        for oc in study.outcomes
    ]
    return _ValueChecker(study, located, file).run(), keys


def _bibliography(path: Path, shown: str, cache: ParseCache | None) -> Bibliography:
    """:func:`~synthesis.bib.load_bibliography`, from ``cache`` when it holds this file."""
    if cache is None:
        return load_bibliography(path, shown)
    try:
        raw = path.read_bytes()
        text = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8").read()  # as read_text
    except (OSError, UnicodeDecodeError):  # reported as without the cache
        return load_bibliography(path, shown)
    key = cache.key("references.bib", shown, raw)
    hit = cache.get(key)
    if isinstance(hit, Bibliography):
        return hit
    bib = parse_bibliography(text, shown)
    if not _has_error(bib.problems):
        cache.put(key, bib)
    return bib


def _placeholders(located: Located, file: str) -> list[Problem]:
    """Every text still holding the template's ``FILL IN``: a template is never a record."""
    found: list[Problem] = []

    def walk(value: Any, loc: Loc) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, (*loc, key))
        elif isinstance(value, list):
            for j, item in enumerate(value):
                walk(item, (*loc, j))
        elif isinstance(value, str) and records.PLACEHOLDER in value:
            found.append(
                Problem(
                    "error",
                    file,
                    located.line_of(loc),
                    format_loc(loc),
                    f"template placeholder {value[:60]!r} is still here: write what the "
                    "source reports, or delete the field when the source does not give it "
                    "(and say so in not_found)",
                    "placeholder",
                )
            )

    walk(located.data, ())
    return found


#: File endings a reader may take for a YAML record.
_YAML_SUFFIXES = (".yaml", ".yml")


def record_files(folder: Path, root: Path, report: ProblemReport) -> list[Path]:
    """The record files in ``folder`` (``*.yaml``, not in subfolders), sorted.

    A file that looks like a record but would not be read (``.yml``, ``.YAML``, or inside a
    subfolder) is an error, so no study is skipped silently; any other visible file is a
    warning. Hidden files (editor swap files, ``.DS_Store``) are ignored.
    """
    if not folder.is_dir():
        return []
    found = []
    depth = len(folder.parts)
    paths, no_folders = _listing(folder)
    for path in paths:
        rel = path.parts[depth:]  # path.relative_to(folder).parts: listed under folder
        if any(part.startswith(".") for part in rel) or (not no_folders and path.is_dir()):
            continue
        file = _rel(path, root)
        if len(rel) == 1 and path.suffix == ".yaml":
            found.append(path)
            continue
        if path.suffix.lower() in _YAML_SUFFIXES:
            if len(rel) > 1:
                why = (
                    f"records in subfolders are not read: move it to "
                    f"{_rel(folder, root)}/{path.stem}.yaml"
                )
            else:
                why = f"records end in .yaml (lower case): rename it to {path.stem}.yaml"
            report.add(Problem("error", file, None, "", f"not read: {why}", "file-name"))
        else:
            report.add(
                Problem(
                    "warning",
                    file,
                    None,
                    "",
                    f"not a record (records are {_rel(folder, root)}/<id>.yaml): ignored",
                    "not-a-record",
                )
            )
    return found


def _listing(folder: Path) -> tuple[list[Path], bool]:
    """``sorted(folder.rglob("*"))``, read with one ``os.scandir`` when ``folder`` has no
    subfolder (the usual case: thousands of records side by side); and whether that was
    so (then no path listed is a folder)."""
    try:
        with os.scandir(folder) as scan:
            entries = list(scan)
        # rglob also yields each subfolder's entries (is_dir follows links, as rglob does)
        subfolders = any(entry.is_dir() for entry in entries)
    except OSError:
        subfolders = True
    if subfolders or os.sep != "/":
        return sorted(folder.rglob("*")), False
    # posix paths in one folder sort as their names do
    return [folder / name for name in sorted(entry.name for entry in entries)], True


def validate(root: Path | str = ".", *, cache: bool = False) -> tuple[EvidenceBase, ProblemReport]:
    """Validate the evidence base under ``root``; return what loaded and every problem.

    With ``cache``, each file's own parse and checks are read from, and written to, the
    validation cache (:mod:`synthesis.parsecache`; not when ``SYNTHESIS_NO_CACHE`` is
    set). The result is the same with or without it.
    """
    root = Path(root)
    store = ParseCache(root) if cache and not disabled_by_environment() else None
    collect = gc.isenabled()
    gc.disable()  # many long-lived small objects: the collector's passes cost seconds
    try:
        result = _validate(root, store)
        if store is not None:
            store.save()
    finally:
        if collect:
            gc.enable()
    return result


def _validate(root: Path, cache: ParseCache | None) -> tuple[EvidenceBase, ProblemReport]:
    report = ProblemReport()
    base = EvidenceBase(root=root)
    bib_path = root / "references.bib"
    base.bibliography = _bibliography(bib_path, _rel(bib_path, root), cache)
    report.extend(base.bibliography.problems)

    question_lines: dict[str, Located] = {}
    for path in record_files(root / "evidence" / "questions", root, report):
        file = _rel(path, root)
        loaded_question, problems, _ = _load_cached(path, records.Question, file, cache, _no_extra)
        report.extend(problems)
        if loaded_question is None:
            continue
        q, located = loaded_question
        if q.id != path.stem:
            report.add(
                Problem(
                    "error",
                    file,
                    located.line_of(("id",)),
                    "id",
                    f"id {q.id!r} must equal the file name stem {path.stem!r}",
                    "id-stem",
                )
            )
        ids = [o.id for o in q.outcomes]
        for j, oid in enumerate(ids):
            if ids.index(oid) != j:
                report.add(
                    Problem(
                        "error",
                        file,
                        located.line_of(("outcomes", j, "id")),
                        f"outcomes[{j}].id",
                        f"duplicate outcome id {oid!r}",
                        "duplicate-id",
                    )
                )
        for j, o in enumerate(q.outcomes):
            for m, design in enumerate(o.designs or ()):
                if design not in q.designs:
                    report.add(
                        Problem(
                            "error",
                            file,
                            located.line_of(("outcomes", j, "designs", m)),
                            f"outcomes[{j}].designs[{m}]",
                            f"design {design!r} is not among the question's designs (allowed: "
                            f"{', '.join(q.designs)})",
                            "outcome-design",
                        )
                    )
        base.questions[q.id] = q
        base.files[f"question:{q.id}"] = file
        question_lines[q.id] = located

    seen: dict[str, str] = {}
    study_lines: dict[str, tuple[str, Located]] = {}
    data_keys: dict[str, list[str | None]] = {}
    for path in record_files(root / "evidence" / "studies", root, report):
        file = _rel(path, root)
        loaded_study, problems, extra = _load_cached(path, records.Study, file, cache, _study_extra)
        report.extend(problems)
        if loaded_study is None or extra is None:
            continue
        study, located = loaded_study
        value_problems, keys = extra
        report.extend(value_problems)
        if study.id != path.stem:
            report.add(
                Problem(
                    "error",
                    file,
                    located.line_of(("id",)),
                    "id",
                    f"id {study.id!r} must equal the file name stem {path.stem!r} "
                    f"(rename the file or change the id)",
                    "id-stem",
                )
            )
        if study.id in seen:
            report.add(
                Problem(
                    "error",
                    file,
                    located.line_of(("id",)),
                    "id",
                    f"duplicate study id {study.id!r}, also used in {seen[study.id]}",
                    "duplicate-id",
                )
            )
            continue
        seen[study.id] = file
        base.studies[study.id] = study
        base.files[study.id] = file
        study_lines[study.id] = (file, located)
        data_keys[study.id] = keys
        base.sources[study.id] = located

    _load_claims(root, base, report)
    _search_checks(root, base, report, question_lines)
    _cross_checks(base, report, study_lines, data_keys)
    report.checked = {
        "studies": len(base.studies),
        "questions": len(base.questions),
        "claims": len(base.claims),
        "references": len(base.bibliography.entries),
    }
    return base, report


def _search_checks(
    root: Path, base: EvidenceBase, report: ProblemReport, question_lines: dict[str, Located]
) -> None:
    """Each question's ``search`` section and ``evidence/excluded.yaml`` against the records
    (:mod:`synthesis.screening`)."""
    for qid, q in sorted(base.questions.items()):
        file, located = base.files[f"question:{qid}"], question_lines[qid]
        for loc, message, code, severity in search_problems(base, q):
            line = located.line_of(loc)
            report.add(Problem(severity, file, line, format_loc(loc), message, code))  # type: ignore[arg-type]
    path = root / "evidence" / "excluded.yaml"
    if not path.exists():
        return
    file = _rel(path, root)
    loaded, problems = _load_file(path, records.ExcludedList, file)
    report.extend(problems)
    if loaded is None:
        return
    excluded, located = loaded
    for loc, message, code, severity in excluded_problems(base, excluded):
        line = located.line_of(loc)
        report.add(Problem(severity, file, line, format_loc(loc), message, code))  # type: ignore[arg-type]
    base.excluded = list(excluded.excluded)
    base.files["excluded"] = file


def _load_claims(root: Path, base: EvidenceBase, report: ProblemReport) -> None:
    """Read ``evidence/claims/*.yaml`` into ``base.claims``, checking each against the
    records (:func:`synthesis.claims.claim_problems`)."""
    for path in sorted((root / "evidence" / "claims").glob("*.yaml")):
        file = _rel(path, root)
        loaded, problems = _load_file(path, Claim, file)
        report.extend(problems)
        if loaded is None:
            continue
        claim, located = loaded
        for loc, message, code in claim_problems(base, claim, file):
            report.add(Problem("error", file, located.line_of(loc), format_loc(loc), message, code))
        if claim.id in base.claims:
            report.add(
                Problem(
                    "error",
                    file,
                    located.line_of(("id",)),
                    "id",
                    f"duplicate claim id {claim.id!r}",
                    "duplicate-id",
                )
            )
            continue
        base.claims[claim.id] = claim
        base.files[f"claim:{claim.id}"] = file


def _cross_checks(
    base: EvidenceBase,
    report: ProblemReport,
    study_lines: dict[str, tuple[str, Located]],
    data_keys: dict[str, list[str | None]],
) -> None:
    bib = base.bibliography
    assert bib is not None  # set by validate()
    cited: set[str] = set()
    for sid, study in sorted(base.studies.items()):
        file, located = study_lines[sid]
        cited.add(study.citation)
        if study.citation not in bib:
            near = difflib.get_close_matches(study.citation, list(bib.entries), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else " (add the entry to references.bib)"
            report.add(
                Problem(
                    "error",
                    file,
                    located.line_of(("citation",)),
                    "citation",
                    f"citation key {study.citation!r} is not in {bib.path}{hint}",
                    "unknown-citation",
                )
            )
        for j, rel in enumerate(study.related):
            if rel not in base.studies:
                report.add(
                    Problem(
                        "error",
                        file,
                        located.line_of(("related", j)),
                        f"related[{j}]",
                        f"related study {rel!r} has no record",
                        "unknown-study",
                    )
                )
        for i, oc in enumerate(study.outcomes):
            q = base.questions.get(oc.question)
            if q is None:
                allowed = ", ".join(sorted(base.questions)) or "none defined"
                report.add(
                    Problem(
                        "error",
                        file,
                        located.line_of(("outcomes", i, "question")),
                        f"outcomes[{i}].question",
                        f"question {oc.question!r} does not exist (allowed: {allowed})",
                        "unknown-question",
                    )
                )
                continue
            outcome_ids = [o.id for o in q.outcomes]
            if oc.outcome not in outcome_ids:
                report.add(
                    Problem(
                        "error",
                        file,
                        located.line_of(("outcomes", i, "outcome")),
                        f"outcomes[{i}].outcome",
                        f"outcome {oc.outcome!r} is not defined in question "
                        f"{q.id!r} (allowed: {', '.join(outcome_ids)})",
                        "unknown-outcome",
                    )
                )
        if study.risk_of_bias is not None:
            judgements = records.ROB_JUDGEMENTS[study.risk_of_bias.tool]
            for j, dom in enumerate(study.risk_of_bias.domains):
                if dom.judgement not in judgements:
                    report.add(
                        Problem(
                            "error",
                            file,
                            located.line_of(("risk_of_bias", "domains", j, "judgement")),
                            f"risk_of_bias.domains[{j}].judgement",
                            f"judgement {dom.judgement!r} is not used by "
                            f"{study.risk_of_bias.tool} (allowed: {', '.join(judgements)})",
                            "rob-judgement",
                        )
                    )
    _pooled_twice(base, report, study_lines, data_keys)
    cited |= _cited_elsewhere(base)
    for key, ref in sorted(bib.entries.items()):
        if key not in cited:
            report.add(
                Problem(
                    "warning",
                    bib.path,
                    ref.line,
                    key,
                    f"entry {key!r} is not cited by any study or question",
                    "unused-reference",
                )
            )


def _identities(
    base: EvidenceBase, study: records.Study, oc: records.Outcome
) -> list[tuple[str, str]]:
    """What makes two pooled results the same people.

    A declared cohort (on the outcome or the record) says who the people are. Without one,
    a result belongs to its record and its report (citation key and DOI): two records of
    one report are the same people unless each names its own cohort.
    """
    cohort = oc.cohort or study.cohort
    tokens = [("record", study.id)] if oc.cohort is None else []
    if cohort:
        return [*tokens, ("cohort", cohort)]
    tokens.append(("citation", study.citation))
    bib = base.bibliography
    if bib is not None and study.citation in bib:
        doi = bib[study.citation].get("doi").strip().lower().removeprefix("https://doi.org/")
        if doi:
            tokens.append(("doi", doi))
    return tokens


def _data_key(data: Any) -> str:
    """The numbers of a data block, without provenance: equal keys mean identical data."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: strip(v)
                for k, v in sorted(value.items())
                if k not in ("source", "note", "derived", "assumed")
            }
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return repr(strip(data.model_dump()))


def _pooled_twice(
    base: EvidenceBase,
    report: ProblemReport,
    study_lines: dict[str, tuple[str, Located]],
    data_keys: dict[str, list[str | None]],
) -> None:
    """Refuse one study pooled twice for one question outcome.

    Two pooled results for the same question outcome are the same people when they come
    from one record (the same block pasted twice, or two time points), one report (the
    same citation key or DOI, as in a copied record), or one cohort. Identical numbers in
    two records are a warning: a copy under a new citation, or a coincidence.
    """
    claimed: dict[tuple[str, str, str, str], tuple[str, int, records.Outcome]] = {}
    same_data: dict[tuple[str, str, str], tuple[str, int]] = {}
    for sid, study in sorted(base.studies.items()):
        file, located = study_lines[sid]
        for i, oc in enumerate(study.outcomes):
            if not oc.pool or isinstance(oc.data, records.Narrative):
                continue
            where = (oc.question, oc.outcome)
            first = None
            for kind, token in _identities(base, study, oc):
                key = (*where, kind, token)
                if key in claimed and first is None:
                    first = (kind, token, *claimed[key])
                claimed.setdefault(key, (sid, i, oc))
            loc = located.line_of(("outcomes", i))
            field_ = f"outcomes[{i}]"
            fix = "set pool: false with an exclude_reason on all but one"
            if first is not None:
                kind, token, other, j, other_oc = first
                if other == sid and other_oc == oc:
                    msg = (
                        f"outcomes[{i}] repeats outcomes[{j}] (the same outcome block twice): "
                        "delete one"
                    )
                elif other == sid:
                    times = ""
                    if other_oc.timepoint != oc.timepoint:
                        times = f" ({other_oc.timepoint or '?'} and {oc.timepoint or '?'})"
                    msg = (
                        f"{oc.question}/{oc.outcome} is pooled twice from this study: "
                        f"outcomes[{j}] and outcomes[{i}]{times} are the same people; pool one "
                        f"(usually the primary time point) and {fix}"
                    )
                else:
                    what = {"cohort": "cohort", "citation": "citation key", "doi": "DOI"}[kind]
                    msg = (
                        f"{what} {token!r} would be pooled twice for {oc.question}/{oc.outcome}"
                        f" (also in {base.files[other]} outcomes[{j}]): {fix}"
                    )
                    if kind != "cohort":
                        msg += (
                            " (if the report holds separate samples, give each record its "
                            "own cohort: id)"
                        )
                code = "cohort-twice" if kind == "cohort" else "pooled-twice"
                report.add(Problem("error", file, loc, field_, msg, code))
                continue
            dkey = (*where, data_keys[sid][i] or _data_key(oc.data))
            if dkey in same_data and same_data[dkey][0] != sid:
                other, j = same_data[dkey]
                report.add(
                    Problem(
                        "warning",
                        file,
                        loc,
                        field_,
                        f"the numbers are identical to {base.files[other]} outcomes[{j}] "
                        f"({oc.question}/{oc.outcome}): if this is the same study, {fix}",
                        "identical-data",
                    )
                )
            same_data.setdefault(dkey, (sid, i))


def _cited_elsewhere(base: EvidenceBase) -> set[str]:
    """Keys cited outside study records: method references in question files and the package."""
    keys: set[str] = {c.cites for c in base.claims.values() if c.cites}
    for q in base.questions.values():
        sources = [o.thresholds.source for o in q.outcomes if o.thresholds is not None]
        for text in (*q.notes, *q.analysis.sensitivity, *sources):
            keys.update(_bracket_keys(text))
    keys.update(METHOD_KEYS)
    return keys


def _bracket_keys(text: str) -> set[str]:
    import re

    return set(re.findall(r"\[@([\w:-]+)\]", text))


#: Bibliography keys cited by the package's methods (docstrings and reports);
#: ``tests/test_bib.py`` checks each is in ``references.bib``.
METHOD_KEYS: frozenset[str] = frozenset(
    """viechtbauer2010metafor salo2023pymare borenstein2009introduction hedges1981distribution
    higgins2023cochrane freeman1950transformations miller1978inverse viechtbauer2005bias
    dersimonian1986meta hedges1985statistical sidik2005simple paule1982consensus
    morris1983parametric knapp2003improved higgins2002quantifying viechtbauer2007confidence
    riley2011interpretation egger1997bias duval2000trim nuijten2016prevalence
    brown2017grim santesso2020grade campbell2020swim harrison2017albatross thomson2013effect
    hiltonboon2021effect stouffer1949american fisher1932statistical wilson1927probable
    mcguinness2021robvis hedges2010robust bell2002bias tipton2015small tipton2015tests
    pustejovsky2018small
    page2021prisma""".split()
)


def load_evidence(root: Path | str = ".") -> EvidenceBase:
    """Validate and return the evidence base; raise :class:`ValidationFailed` on any error."""
    base, report = validate(root)
    if not report.ok:
        raise ValidationFailed(report, report.to_text())
    return base
