"""Issue 14: the command line on awkward input (items 10 `synthesis pool`, 11 CLI conventions).

Reference numbers: tests/reference/rma_reference.json (metafor 3.8.1, written by
tests/reference/rma_reference.R). metafor's ``predict(fit, transf=exp)`` applies ``exp`` to
the estimate and to each bound, so the back-transformed values are ``exp`` of those numbers.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from synthesis.cli import main

from .conftest import ROOT
from .test_pool_cli import BCG, CASES, MOLLOY
from .tolerances import ITERATIVE


def pool(tmp_path: Path, capsys, csv: str, *args: str) -> tuple[int, str]:
    path = tmp_path / "data.csv"
    path.write_text(csv, encoding="utf-8")
    code = main(["pool", str(path), *args])
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    return code, out.out + out.err


def pool_json(tmp_path: Path, capsys, csv: str, *args: str) -> dict:
    code, text = pool(tmp_path, capsys, csv, *args, "--json")
    assert code == 0, text
    return json.loads(text.splitlines()[-1])


# -- item 10: synthesis pool ------------------------------------------------------------


def test_extra_cell_in_a_data_row_is_refused(tmp_path, capsys):
    csv = MOLLOY.replace("Axelsson 2009,0.187,109", "Axelsson 2009,0.187,109,12")
    code, text = pool(tmp_path, capsys, csv, "--measure", "ZCOR")
    assert code == 1
    assert "data.csv: line 2 has 4 cells but the header has 3 (study, ri, ni)" in text


def test_duplicate_column_is_refused(tmp_path, capsys):
    code, text = pool(tmp_path, capsys, "study,ri,ni,ri\nA,0.3,50,0.4\nB,0.2,40,0.1\n",
                      "--measure", "ZCOR")  # fmt: skip
    assert code == 1
    assert "line 1: column 'ri' appears twice (columns 2 and 4); keep one" in text


def test_hash_in_a_label_is_text_and_comment_lines_are_skipped(tmp_path, capsys):
    csv = "# molloy2014\n" + MOLLOY.replace("Cohen 2004", "Cohen #2 2004")
    result = pool_json(tmp_path, capsys, csv, "--measure", "ZCOR")
    expected = CASES["molloy2014_REML_z"]["outputs"]
    assert result["k"] == 16
    assert result["estimate"] == pytest.approx(expected["estimate"], rel=ITERATIVE)


def test_semicolon_csv_with_decimal_commas(tmp_path, capsys):
    lines = MOLLOY.strip().splitlines()
    european = "\n".join(line.replace(",", ";").replace(".", ",") for line in lines) + "\n"
    result = pool_json(tmp_path, capsys, european, "--measure", "ZCOR")
    expected = CASES["molloy2014_REML_z"]["outputs"]
    assert result["k"] == 16
    assert result["estimate"] == pytest.approx(expected["estimate"], rel=ITERATIVE)
    assert "read as semicolon-separated with decimal commas" in result["notes"]


def test_mixed_decimal_marks_are_refused(tmp_path, capsys):
    code, text = pool(tmp_path, capsys, "ri;ni\n0,3;50\n0.2;40\n", "--measure", "ZCOR")
    assert code == 1
    assert "both decimal commas and decimal points" in text


@pytest.mark.parametrize(
    ("csv", "expected"),
    [
        ("yi,vi\n0.3,1e-300\n0.2,0.1\n", r"vi[0] = 1e-300; sampling variances must lie in"),
        ("yi,vi\n1e300,0.1\n0.2,0.1\n", r"yi[0] = 1e+300; estimates must lie within ±1e+100"),
        ("yi,vi\ninf,0.1\n0.2,0.1\n", r"column 'yi', data row 1: 'inf' is not a number (line 2"),
    ],
)
def test_extreme_values_are_refused_clearly(tmp_path, capsys, csv, expected):
    code, text = pool(tmp_path, capsys, csv)
    assert code == 1
    assert "data.csv: " in text and expected in text


def test_columns_that_are_not_escalc_arguments_are_ignored_with_a_note(tmp_path, capsys):
    # metafor's dat.bcg as write.csv writes it: author, year, alloc (text), ablat
    lines = BCG.strip().splitlines()
    csv = "\n".join(
        [lines[0] + ",author,alloc,ablat"]
        + [f"{line},Author {i},{'random' if i % 2 else 'alternate'},{30 + i}"
           for i, line in enumerate(lines[1:], start=1)]
    ) + "\n"  # fmt: skip
    result = pool_json(tmp_path, capsys, csv, "--measure", "RR")
    expected = CASES["bcg_REML_z"]["outputs"]
    assert result["estimate"] == pytest.approx(expected["estimate"], rel=ITERATIVE)
    assert any(n.startswith("ignored column(s) trial, alloc, ablat: not escalc arguments")
               for n in result["notes"])  # fmt: skip


@pytest.mark.parametrize("measure", ["RR", "OR"])
def test_ratio_results_say_log_scale_and_give_back_transformed(tmp_path, capsys, measure):
    result = pool_json(tmp_path, capsys, BCG, "--measure", measure)
    t = result["transformed"]
    assert t["scale"] == f"log {'risk' if measure == 'RR' else 'odds'} ratio"
    for key in ("estimate", "ci_lb", "ci_ub", "pi_lb", "pi_ub"):
        assert t[key] == pytest.approx(math.exp(result[key]), rel=1e-12)
    if measure == "RR":  # metafor: predict(rma(yi, vi, data = escalc("RR", ...)), transf = exp)
        expected = CASES["bcg_REML_z"]["outputs"]
        assert t["estimate"] == pytest.approx(math.exp(expected["estimate"]), rel=ITERATIVE)
    assert any("on the log" in n and "transf=exp" in n for n in result["notes"])
    _, text = pool(tmp_path, capsys, BCG, "--measure", measure)
    assert f"log {'risk' if measure == 'RR' else 'odds'} ratio: estimate" in text
    assert f"as {'risk' if measure == 'RR' else 'odds'} ratio: " in text


# -- item 11: CLI conventions -----------------------------------------------------------


def _cli(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "synthesis", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize("command", ["check", "list"])
def test_closed_pipe_is_not_an_error(command):
    proc = _cli(command)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # `synthesis check | head -1`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) in (0, 1)
    assert "Traceback" not in err and "BrokenPipeError" not in err


def test_cp1252_console_gets_escapes_not_a_crash():
    proc = _cli("sof", "--question", "q2_mindfulness_training",
                env={"PYTHONIOENCODING": "cp1252"})  # fmt: skip
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    assert b"\\u2295" in out  # the GRADE symbol, escaped


def test_python_m_synthesis_is_the_cli():
    proc = _cli("--version")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and out.startswith(b"synthesis ")


@pytest.mark.parametrize("make", ["folder", "unreadable"])
def test_unusable_references_bib_is_a_user_error(project, capsys, make):
    bib = project / "references.bib"
    if make == "folder":
        bib.unlink()
        bib.mkdir()
        expected = "references.bib: error: bibliography is a folder, not a file"
    else:
        if os.geteuid() == 0:
            pytest.skip("root reads any file")
        bib.chmod(0)
        expected = "references.bib: error: bibliography cannot be read: Permission denied"
    for command in (["validate", "--root", str(project)], ["sof", "--root", str(project)]):
        code = main(command)
        out = capsys.readouterr()
        assert code == 1 and "Traceback" not in out.err
        assert expected in out.out + out.err


def test_validate_takes_root_like_every_command(project, capsys):
    assert main(["validate", "--root", str(project)]) == 0
    assert main(["validate", str(project)]) == 0  # the positional still works
    capsys.readouterr()
    assert main(["validate", str(project), "--root", str(project / "x")]) == 1
    assert "give the project root once" in capsys.readouterr().err
