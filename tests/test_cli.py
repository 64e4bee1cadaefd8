"""CLI behaviours not covered elsewhere: new-study, list, map, help, usage errors."""

from __future__ import annotations

import subprocess
import sys

from synthesis.cli import main


def test_new_study_writes_a_template_that_validation_then_explains(project, capsys):
    assert (
        main(["new-study", "doe2024", "--citation", "smith2020mind", "--root", str(project)]) == 0
    )
    path = project / "evidence/studies/doe2024.yaml"
    text = path.read_text(encoding="utf-8")
    assert "id: doe2024" in text and "citation: smith2020mind" in text
    capsys.readouterr()
    # the unfilled template is not valid: validation names each field still to fill
    assert main(["validate", str(project)]) == 1
    out = capsys.readouterr().out
    assert "doe2024.yaml" in out
    # issue 14 item 1: every FILL IN is an error, so an untouched template is never pooled
    assert "outcomes[0].data.r: error: template placeholder 'FILL IN' is still here" in out
    assert "outcomes[0].data.n: error: template placeholder 'FILL IN' is still here" in out


def test_new_study_refuses_to_overwrite_and_bad_ids(project, capsys):
    args = ["new-study", "smith2020", "--citation", "x", "--root", str(project)]
    assert main(args) == 1
    assert "exists already; choose another id or pass --force" in capsys.readouterr().err
    assert main(["new-study", "Bad Id", "--citation", "x", "--root", str(project)]) == 1
    assert "study id 'Bad Id' is not allowed" in capsys.readouterr().err


def test_list_and_map(project, capsys):
    assert main(["list", "--root", str(project)]) == 0
    out = capsys.readouterr().out
    assert "q1_alliance" in out and "smith2020" in out
    assert main(["map", "--root", str(project)]) == 0
    out = capsys.readouterr().out
    assert "alliance" in out and "pooled" in out
    assert main(["map", "--root", str(project), "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("question,outcome,measure,study")


def test_map_stops_on_invalid_evidence(project, capsys):
    study = project / "evidence/studies/smith2020.yaml"
    study.write_text(study.read_text().replace("r: 0.30", "r: 3"), encoding="utf-8")
    assert main(["map", "--root", str(project)]) == 1
    assert "a correlation r must lie in [-1, 1], got 3" in capsys.readouterr().err


def test_usage_error_exits_1(capsys):
    try:
        main(["pool"])
    except SystemExit as exc:
        assert exc.code == 1
    assert "the following arguments are required: file" in capsys.readouterr().err


def test_help_starts_without_heavy_imports():
    code = (
        "import sys, contextlib, io\n"
        "from synthesis.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n        main(['--help'])\n    except SystemExit:\n        pass\n"
        "print(','.join(m for m in ('pandas', 'pymare', 'matplotlib', 'nbconvert', 'scipy',"
        " 'numpy', 'pydantic') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
