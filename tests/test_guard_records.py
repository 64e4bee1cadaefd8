"""Issue 14: nothing wrong gets into the evidence base silently (record-level items).

Each test reproduces one numbered item of the issue (a loophole found by a student
walkthrough or a fuzzer) and checks that ``synthesis validate`` now refuses it with a
located message and exit 1, never a traceback or exit 2.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from synthesis.cli import main
from synthesis.validate import validate

from .conftest import MINI_STUDY, ROOT

STUDIES = Path("evidence/studies")


def run(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    command = [*args, "--root", str(root)] if args else ["validate", str(root)]
    code = main(command)
    out = capsys.readouterr()
    text = out.out + out.err
    assert "Traceback" not in text
    return code, text


def write(root: Path, text: str, name: str = "smith2020") -> Path:
    path = root / STUDIES / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of the real evidence base (records, questions, bibliography)."""
    shutil.copytree(ROOT / "evidence", tmp_path / "evidence")
    shutil.copy(ROOT / "references.bib", tmp_path / "references.bib")
    return tmp_path


# -- item 1: placeholders ---------------------------------------------------------------


@pytest.mark.parametrize("kind", ["correlation", "proportion", "two_group_binary", "narrative"])
def test_template_with_only_n_filled_is_refused(project, capsys, kind):
    assert main(["new-study", "doe2024", "--citation", "smith2020mind", "--kind", kind,
                 "--root", str(project)]) == 0  # fmt: skip
    path = project / STUDIES / "doe2024.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=../schema/study.schema.json\n")
    # the student fills in n and the DOI only, as in the walkthrough
    text = text.replace("n: FILL IN", "n: 50", 1).replace("doi: FILL IN", "doi: 10.1/x")
    path.write_text(text, encoding="utf-8")
    capsys.readouterr()
    code, out = run(project, capsys)
    assert code == 1
    assert "doe2024.yaml:" in out and "template placeholder 'FILL IN" in out
    base, report = validate(project)
    assert "doe2024" not in base.studies  # never pooled
    assert all(p.line for p in report.errors if p.code == "placeholder")


def test_every_kind_has_a_template_whose_fields_are_the_models(project):
    from synthesis import records
    from synthesis.template import kinds, study_template

    assert set(kinds()) == set(records.DATA_KINDS)
    for kind in kinds():
        text = study_template("doe2024", "smith2020mind", kind)
        assert f"kind: {kind}" in text and "FILL IN" in text


def test_unknown_kind_lists_the_kinds(project, capsys):
    code = main(["new-study", "doe2024", "--citation", "x", "--kind", "corr", "--root",
                 str(project)])  # fmt: skip
    assert code == 1
    assert "--kind 'corr' is not a data kind; allowed: correlation" in capsys.readouterr().err


# -- item 2: one study pooled twice -----------------------------------------------------


def test_copy_of_a_record_under_a_new_id_is_refused(repo, capsys):
    text = (repo / STUDIES / "krasner2009.yaml").read_text(encoding="utf-8")
    write(repo, text.replace("id: krasner2009", "id: krasner2009b"), "krasner2009b")
    code, out = run(repo, capsys)
    assert code == 1
    assert (
        "krasner2009b.yaml:23: outcomes[0]: error: citation key 'krasner2009association' "
        "would be pooled twice for q2_mindfulness_training/emotional_exhaustion "
        "(also in evidence/studies/krasner2009.yaml outcomes[0])"
    ) in out


def test_same_outcome_block_twice_in_one_record_is_refused(repo, capsys):
    path = repo / STUDIES / "krasner2009.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("  - question: q2_mindfulness_training")
    end = text.index("  - question:", start + 5)
    path.write_text(text[:end] + text[start:end] + text[end:], encoding="utf-8")
    code, out = run(repo, capsys)
    assert code == 1
    assert "outcomes[1] repeats outcomes[0] (the same outcome block twice): delete one" in out


def test_same_study_at_two_time_points_both_pooled_is_refused(project, capsys):
    second = """
  - question: q1_alliance
    outcome: alliance
    name: Working alliance
    timepoint: 12 months
    source: abstract
    data:
      kind: correlation
      r: 0.20
      n: 48
"""
    write(project, MINI_STUDY.replace("    name: Working alliance\n",
                                      "    name: Working alliance\n    timepoint: baseline\n")
          + second)  # fmt: skip
    code, out = run(project, capsys)
    assert code == 1
    assert (
        "q1_alliance/alliance is pooled twice from this study: outcomes[0] and outcomes[1] "
        "(baseline and 12 months) are the same people"
    ) in out
    # one of them kept out of pooling, with a reason: valid
    fixed = second.replace("      n: 48\n", "      n: 48\n    pool: false\n"
                           "    exclude_reason: secondary time point\n")  # fmt: skip
    write(project, MINI_STUDY + fixed)
    assert run(project, capsys)[0] == 0


def test_identical_numbers_under_another_citation_are_a_warning(project, capsys):
    bib = (project / "references.bib").read_text(encoding="utf-8")
    (project / "references.bib").write_text(
        bib + bib.replace("smith2020mind", "smith2021mind").replace("test.1", "test.2"),
        encoding="utf-8",
    )
    write(project, MINI_STUDY.replace("smith2020", "smith2021").replace("test.1", "test.2"),
          "smith2021")  # fmt: skip
    code, out = run(project, capsys)
    assert code == 0
    assert "smith2021.yaml:14: outcomes[0]: warning: the numbers are identical to " in out


# -- item 3: percentages ----------------------------------------------------------------

PROPORTION = (
    MINI_STUDY.replace(
        "      kind: correlation\n      r: 0.30\n      n: 50\n",
        "      kind: proportion\n      percent: {percent}\n      n: 116\n",
    )
    .replace("q1_alliance", "q3_open_dialogue")
    .replace("outcome: alliance", "outcome: work_or_study")
)


def test_percentage_written_as_a_proportion_is_refused(project, capsys):
    write(project, PROPORTION.format(percent="0.86"))
    code, out = run(project, capsys)
    assert code == 1
    assert (
        "outcomes[0].data.percent: error: percent 0.86 is at most 1: percentages are written "
        "0-100 (86 for 86%, not 0.86)"
    ) in out


@pytest.mark.parametrize("written", ["86", "0.86%", "{value: 0.86, unit: '%'}", "0"])
def test_percentage_in_range_or_marked_is_accepted(project, capsys, written):
    write(project, PROPORTION.format(percent=written))
    assert run(project, capsys)[0] == 0


# -- item 4: YAML 1.1 numbers -----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("012", "integer '012' has a leading zero: YAML 1.1 tools read it as octal (10) and "
                "YAML 1.2 tools as 12; write 12"),
        ("070", "integer '070' has a leading zero"),
        ("0x46", "'0x46' is a hexadecimal or octal integer: write the number in decimal"),
        ("1:10", "expected a number, got '1:10'"),
        ("1_000", "expected a number, got '1_000'"),
    ],
)  # fmt: skip
def test_yaml_11_numbers_are_refused_not_changed(project, capsys, value, expected):
    write(project, MINI_STUDY.replace("  n: 50", f"  n: {value}"))
    code, out = run(project, capsys)
    assert code == 1
    assert "smith2020.yaml:7:" in out and expected in out


def test_sexagesimal_and_dates_are_text_as_in_yaml_12(project, capsys):
    write(project, MINI_STUDY.replace("    name: Working alliance\n",
                                      "    name: Working alliance\n    timepoint: 12:30\n")
          .replace("status: published", "status: published\nlabel: 2021-02-30"))  # fmt: skip
    assert run(project, capsys)[0] == 0
    base, _ = validate(project)
    study = base.studies["smith2020"]
    assert study.outcomes[0].timepoint == "12:30" and study.label == "2021-02-30"


# -- item 5: non-finite and absurd numbers ----------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "field", "expected"),
    [
        ("r: 0.30", "r: .nan", "outcomes[0].data.r", "finite number"),
        ("r: 0.30", "r: .inf", "outcomes[0].data.r", "finite number"),
        ("r: 0.30", "r: {value: -.inf}", "outcomes[0].data.r.value", "finite number"),
        ("r: 0.30", "r: 'nan'", "outcomes[0].data.r", "expected a number, got 'nan'"),
        ("      n: 50", "      n: 1e300", "outcomes[0].data.n", "must be at most 1e+09"),
        ("  n: 50", "  n: 9223372036854775808", "population.n", "must be at most 1e+09"),
        ("r: 0.30", "r: 0.3\n      statistic: {kind: t, value: 1e300, df: 48}",
         "outcomes[0].data.statistic.value", "out of range"),
    ],
)  # fmt: skip
def test_non_finite_and_absurd_numbers_are_refused(project, capsys, old, new, field, expected):
    write(project, MINI_STUDY.replace(old, new))
    code, out = run(project, capsys)
    assert code == 1
    assert "smith2020.yaml:" in out and f"{field}: error:" in out and expected in out
    # and later commands stop at the same located message instead of failing inside
    for command in ("check", "map", "sof"):
        code, out = run(project, capsys, command)
        assert code == 1 and f"{field}: error:" in out


# -- item 6: files that would be skipped ------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("doe2024.yml", "not read: records end in .yaml (lower case): rename it to doe2024.yaml"),
        ("doe2024.YAML", "not read: records end in .yaml (lower case): rename it to doe2024.yaml"),
        ("extra/doe2024.yaml", "not read: records in subfolders are not read: move it to "
                               "evidence/studies/doe2024.yaml"),
    ],
)  # fmt: skip
def test_record_files_that_would_be_skipped_are_errors(project, capsys, name, expected):
    path = project / STUDIES / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(MINI_STUDY, encoding="utf-8")
    code, out = run(project, capsys)
    assert code == 1
    assert f"evidence/studies/{name}: error: {expected}" in out


def test_hidden_files_are_ignored_and_others_warned(project, capsys):
    (project / STUDIES / ".doe.yaml.swp").write_text("x", encoding="utf-8")
    (project / STUDIES / "README.md").write_text("x", encoding="utf-8")
    code, out = run(project, capsys)
    assert code == 0
    assert "README.md: warning: not a record" in out and ".swp" not in out


# -- item 7: one bad file never stops the run -------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("status: published", "status: published\nlabel: 2021-02-30", None),
        ("  n: 50", "  n: " + "9" * 5000, "integer of 5000 digits is too long"),
        ("  n: 50", "  n: !!int 1:10", "cannot read value '1:10' as int"),
    ],
)
def test_odd_scalars_do_not_crash_and_other_files_are_still_checked(
    project, capsys, old, new, expected
):
    write(project, MINI_STUDY.replace(old, new))
    write(project, MINI_STUDY.replace("smith2020", "smith2021").replace("r: 0.30", "r: 3"),
          "smith2021")  # fmt: skip
    code, out = run(project, capsys)
    assert code == 1
    assert "smith2021.yaml:20: outcomes[0].data.r: error: a correlation r must lie in" in out
    if expected:
        assert f"smith2020.yaml:7: error: {expected}" in out


# -- item 14: control characters --------------------------------------------------------


@pytest.mark.parametrize("escape", [r"\0", r"\e[31m", r"\x07", r"\u202e", r"\x85"])
def test_control_characters_in_text_are_refused_with_the_line(project, capsys, escape):
    write(project, MINI_STUDY.replace("    name: Working alliance",
                                      f'    name: "Working{escape} alliance"'))  # fmt: skip
    code, out = run(project, capsys)
    assert code == 1
    assert "smith2020.yaml:16: error: control character U+" in out
