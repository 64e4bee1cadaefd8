"""`synthesis validate`: every bad input of the foundation issue gives a located message.

Each case writes one broken file into a valid mini project and checks the exit code (1),
that the message names the file, line and field and says what is allowed, and that no
traceback is printed.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from synthesis.cli import main
from synthesis.errors import ValidationFailed
from synthesis.validate import load_evidence, validate

from .conftest import MINI_BIB, MINI_STUDY, ROOT

STUDY = "evidence/studies/smith2020.yaml"


def run(project: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = main(["validate", str(project), *extra])
    out = capsys.readouterr()
    text = out.out + out.err
    assert "Traceback" not in text
    return code, text


def write_study(project: Path, text: str, name: str = "smith2020") -> None:
    (project / "evidence" / "studies" / f"{name}.yaml").write_text(text, encoding="utf-8")


def test_valid_project_exits_zero_and_lists_studies(project, capsys):
    code, text = run(project, capsys)
    assert code == 0
    assert "smith2020" in text
    assert "valid: 1 studies" in text


def test_repository_evidence_is_valid(capsys):
    code, text = run(ROOT, capsys)
    assert code == 0, text
    for seed in ("razzaque2015", "seikkula2006"):
        assert seed in text


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        # YAML syntax error: unclosed bracket, located on its line
        (lambda s: s.replace("r: 0.30", "r: [0.30"), rf"{STUDY}:\d+: error: YAML syntax error"),
        # unknown field with a suggestion of the nearest valid name
        (lambda s: s.replace("  n: 50\n  source", "  nn: 50\n  source"),
         r"smith2020.yaml:7: population.nn: error: unknown field 'nn': did you mean 'n'\?"),
        # wrong type
        (lambda s: s.replace("  n: 50\n  source", "  n: seventy-six\n  source"),
         r"smith2020.yaml:7: population.n: error: expected a number, got 'seventy-six'"),
        # r outside [-1, 1]
        (lambda s: s.replace("r: 0.30", "r: 1.30"),
         r"smith2020.yaml:20: outcomes\[0\].data.r: error: a correlation r must lie in \[-1, 1\], got 1.3"),
        # n below what the measure needs (ZCOR needs n > 3)
        (lambda s: s.replace("      n: 50", "      n: 3"),
         r"outcomes\[0\].data.n: error: n for a correlation \(ZCOR needs n > 3\) must be at least 4, got 3"),
        # negative n
        (lambda s: s.replace("  n: 50\n  source", "  n: -5\n  source"),
         r"population.n: error: population n must be at least 1, got -5"),
        # unknown design lists the allowed ones
        (lambda s: s.replace("design: cross-sectional", "design: survey"),
         r"smith2020.yaml:3: design: error: Input should be 'cross-sectional', 'pre-post'"),
        # id not equal to the file stem
        (lambda s: s.replace("id: smith2020", "id: smith2021"),
         r"smith2020.yaml:1: id: error: id 'smith2021' must equal the file name stem 'smith2020'"),
        # citation not in references.bib, with a suggestion
        (lambda s: s.replace("citation: smith2020mind", "citation: smith2020min"),
         r"smith2020.yaml:2: citation: error: citation key 'smith2020min' is not in references.bib \(did you mean 'smith2020mind'\?\)"),
        # a number without any source locator
        (lambda s: s.replace("    source: abstract\n    data", "    data"),
         r"outcomes\[0\].data.r: error: number 0.3 has no source"),
        # source name not defined
        (lambda s: s.replace("    source: abstract\n    data", "    source: table9\n    data"),
         r"source 'table9' is not a name in this study's sources \(abstract\)"),
        # unknown question
        (lambda s: s.replace("question: q1_alliance", "question: q9"),
         r"outcomes\[0\].question: error: question 'q9' does not exist \(allowed: q1_alliance"),
        # YAML tag that would construct a Python object: refused, never executed
        (lambda s: s + "notes: !!python/object/apply:os.system ['echo pwned']\n",
         r"YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed"),
        # YAML 1.1 booleans stay words, but a real boolean is a wrong type for a string
        (lambda s: s.replace("description: Therapists", "description: true"),
         r"population.description: error: Input should be a valid string"),
    ],
    ids=[
        "yaml-syntax", "unknown-field", "wrong-type", "r-out-of-range", "n-too-small",
        "negative-n", "bad-design", "id-not-stem", "citation-missing", "no-locator",
        "unknown-source", "unknown-question", "python-tag", "bool-for-string",
    ],
)  # fmt: skip
def test_bad_study_input(project, capsys, edit, expected):
    write_study(project, edit(MINI_STUDY))
    code, text = run(project, capsys)
    assert code == 1
    assert re.search(expected, text), text


PROPORTION = MINI_STUDY.replace(
    """      kind: correlation
      r: 0.30
      n: 50""",
    """      kind: proportion
      events: 12
      percent: 24
      n: 50""",
)
BINARY = MINI_STUDY.replace(
    """      kind: correlation
      r: 0.30
      n: 50""",
    """      kind: two_group_binary
      events1: 12
      n1: 10
      events2: 3
      n2: 20""",
)
CONTINUOUS = MINI_STUDY.replace(
    """      kind: correlation
      r: 0.30
      n: 50""",
    """      kind: two_group_continuous
      mean1: 10
      sd1: -2
      n1: 20
      mean2: 12
      sd2: 3
      n2: 20""",
)
REPORTED = MINI_STUDY.replace(
    """      kind: correlation
      r: 0.30
      n: 50""",
    """      kind: reported_effect
      metric: OR
      estimate: 4.1
      ci: [10.9, 1.6]
      n: 50""",
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (PROPORTION.replace("events: 12", "events: 60"),
         r"outcomes\[0\].data.events: error: events \(60\) exceed the total \(50\)"),
        (PROPORTION.replace("percent: 24", "percent: 124"),
         r"outcomes\[0\].data.percent: error: a percentage must lie in \[0, 100\], got 124"),
        (PROPORTION.replace("events: 12", "events: 12.5"),
         r"outcomes\[0\].data.events: error: events must be a whole number, got 12.5"),
        (BINARY, r"outcomes\[0\].data.events1: error: events \(12\) exceed the total \(10\)"),
        (CONTINUOUS, r"outcomes\[0\].data.sd1: error: an SD must be positive, got -2"),
        (REPORTED, r"outcomes\[0\].data.ci: error: confidence interval lower bound 10.9 exceeds upper bound 1.6"),
    ],
    ids=["events-gt-n", "percent-gt-100", "events-not-integer", "binary-events-gt-n",
         "negative-sd", "ci-reversed"],
)  # fmt: skip
def test_bad_values(project, capsys, text, expected):
    write_study(project, text)
    code, out = run(project, capsys)
    assert code == 1
    assert re.search(expected, out), out


def test_every_problem_reported_at_once(project):
    write_study(project, MINI_STUDY.replace("design: cross-sectional", "design: x"))
    other = MINI_STUDY.replace("id: smith2020", "id: smith2020x").replace("r: 0.30", "r: 3")
    write_study(project, other, name="other")
    _, report = validate(project)
    fields = sorted((p.file.rsplit("/", 1)[-1], p.field) for p in report.errors)
    assert fields == [
        ("other.yaml", "id"),
        ("other.yaml", "outcomes[0].data.r"),
        ("smith2020.yaml", "design"),
    ]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", r"smith2020.yaml: error: file is empty"),
        (b"# only a comment\n", r"smith2020.yaml: error: file is empty"),
        (b"- a\n- b\n", r"smith2020.yaml:1: error: the file holds a list, not a mapping"),
        (b"just words\n", r"smith2020.yaml:1: error: the file holds a str, not a mapping"),
        (b"id: caf\xe9\n", r"smith2020.yaml:1: error: not UTF-8 text \(byte 0xe9 at offset 7\)"),
        (b"a: 1\na: 2\n", r"smith2020.yaml:2: error: duplicate key 'a'"),
        (b"a: &x [1, 2]\nb: *x\n", r"smith2020.yaml:1: error: YAML anchors and aliases"),
    ],
    ids=["empty", "comment-only", "list", "scalar", "not-utf8", "duplicate-key", "alias"],
)
def test_bad_files(project, capsys, content, expected):
    (project / STUDY).write_bytes(content)
    code, text = run(project, capsys)
    assert code == 1
    assert re.search(expected, text), text


def test_billion_laughs_fails_fast(project, capsys):
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    (project / STUDY).write_text("\n".join(lines) + "\n", encoding="utf-8")
    start = time.perf_counter()
    code, text = run(project, capsys)
    assert time.perf_counter() - start < 5  # a correctness bound (no expansion), not a benchmark
    assert code == 1
    assert "anchors and aliases" in text


def test_deeply_nested_file_is_refused(project, capsys):
    (project / STUDY).write_text("a: " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    code, text = run(project, capsys)
    assert code == 1
    assert re.search(r"nesting (deeper than 32 levels|depth)", text), text


def test_very_large_file_is_refused(project, capsys):
    (project / STUDY).write_text("notes:\n" + "  - x\n" * 300_000, encoding="utf-8")
    code, text = run(project, capsys)
    assert code == 1
    assert "larger than the 1000000 allowed" in text


def test_duplicate_study_id(project, capsys):
    write_study(project, MINI_STUDY.replace("id: smith2020", "id: a"), name="a")
    (project / "evidence" / "studies" / "b.yaml").write_text(
        MINI_STUDY.replace("id: smith2020", "id: a"), encoding="utf-8"
    )
    code, text = run(project, capsys)
    assert code == 1
    assert (
        "b.yaml:1: id: error: duplicate study id 'a', also used in evidence/studies/a.yaml" in text
    )


@pytest.mark.parametrize(
    ("bib", "expected"),
    [
        (MINI_BIB + MINI_BIB, r"references.bib:6: smith2020mind: error: duplicate citation key"),
        (
            MINI_BIB.replace(
                "title = {Mindfulness and Alliance},", "title = {Mindfulness and Alliance"
            ),
            r"references.bib:1: error: cannot parse this block",
        ),
        (
            MINI_BIB.replace("Kim},", "Kim}"),
            r"smith2020mind.author: error: field 'author' swallowed the next field 'title': a comma is missing",
        ),
        (
            MINI_BIB.replace("journal = {Journal of Tests}", "journal = jot"),
            r"smith2020mind.journal: error: @string macro 'jot' is not defined",
        ),
        (
            MINI_BIB.replace("  author = {Smith, Jane and Doe, Kim},\n", ""),
            r"smith2020mind: error: entry 'smith2020mind' is missing author",
        ),
    ],
    ids=["duplicate-key", "unclosed-brace", "missing-comma", "undefined-macro", "missing-author"],
)
def test_bad_bibliography(project, capsys, bib, expected):
    (project / "references.bib").write_text(bib, encoding="utf-8")
    code, text = run(project, capsys)
    assert code == 1
    assert re.search(expected, text), text


def test_misspelt_bib_field_is_a_warning_with_suggestion(project, capsys):
    (project / "references.bib").write_text(MINI_BIB.replace("volume", "volme"), encoding="utf-8")
    code, text = run(project, capsys)
    assert code == 0
    assert "warning: unknown field name 'volme' (did you mean 'volume'?)" in text


def test_unused_bib_entry_is_a_warning(project, capsys):
    extra = MINI_BIB.replace("smith2020mind", "unused2021")
    (project / "references.bib").write_text(MINI_BIB + extra, encoding="utf-8")
    code, text = run(project, capsys)
    assert code == 0
    assert "warning: entry 'unused2021' is not cited" in text


def test_json_format(project, capsys):
    write_study(project, MINI_STUDY.replace("r: 0.30", "r: 1.30"))
    code = main(["validate", str(project), "--format", "json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 1
    assert payload["ok"] is False
    (problem,) = payload["problems"]
    assert problem["field"] == "outcomes[0].data.r"
    assert problem["line"] == 20
    assert problem["code"] == "out-of-range"


def test_load_evidence_raises_at_the_boundary(project):
    write_study(project, MINI_STUDY.replace("r: 0.30", "r: 1.30"))
    with pytest.raises(ValidationFailed, match=r"a correlation r must lie in \[-1, 1\]"):
        load_evidence(project)


def test_cohort_pooled_twice_is_an_error(project, capsys):
    one = MINI_STUDY.replace("design: cross-sectional", "design: cross-sectional\ncohort: c1")
    write_study(project, one)
    write_study(project, one.replace("id: smith2020", "id: smith2020b"), name="smith2020b")
    code, text = run(project, capsys)
    assert code == 1
    assert "cohort 'c1' would be pooled twice for q1_alliance/alliance" in text


def test_not_a_project(tmp_path, capsys):
    code = main(["validate", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1
    assert "no evidence/ folder here" in err
