"""`synthesis pool`: the CLI contract on CSVs a user writes by hand, checked against metafor.

Reference numbers come from tests/reference/rma_reference.json (written by metafor 3.8.1
through tests/reference/rma_reference.R); the CSV inputs are metafor's dat.molloy2014
(ri, ni) and dat.bcg (tpos, tneg, cpos, cneg) as printed in metafor's documentation.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synthesis.cli import main

from .conftest import ROOT
from .tolerances import CLOSED_FORM, ITERATIVE

REFERENCE = json.loads((ROOT / "tests/reference/rma_reference.json").read_text())
CASES = {c["name"]: c for c in REFERENCE["cases"]}

MOLLOY = """\
study,ri,ni
Axelsson 2009,0.187,109
Axelsson 2011,0.162,749
Bruce 2010,0.34,55
Christensen 1995,0.32,107
Christensen 1999,0.27,72
Cohen 2004,0,65
Dobbels 2005,0.175,174
Ediger 2007,0.05,326
Insel 2006,0.26,58
Jerant 2011,0.01,771
Moran 1997,-0.09,56
O'Cleirigh 2007,0.37,91
Penedo 2003,0,116
Quine 2012,0.15,537
Stilley 2004,0.24,158
Wiebe 2010,0.04,65
"""

BCG = """\
trial,ai,bi,ci,di
1,4,119,11,128
2,6,300,29,274
3,3,228,11,209
4,62,13536,248,12619
5,33,5036,47,5761
6,180,1361,372,1079
7,8,2537,10,619
8,505,87886,499,87892
9,29,7470,45,7232
10,17,1699,65,1600
11,186,50448,141,27197
12,5,2493,3,2338
13,27,16886,29,17825
"""

KEYS = {"k", "method", "test", "estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "pi_lb",
        "pi_ub", "tau2", "tau2_ci_lb", "tau2_ci_ub", "I2", "H2", "QE", "QEp", "converged",
        "yi", "vi"}  # fmt: skip


def pool(tmp_path: Path, capsys, csv: str, *args: str) -> tuple[int, dict | str]:
    path = tmp_path / "data.csv"
    path.write_text(csv, encoding="utf-8")
    code = main(["pool", str(path), *args])
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    if "--json" in args and code == 0:
        return code, json.loads(out.out)
    return code, out.out + out.err


@pytest.mark.parametrize(
    ("csv", "measure", "case", "method", "test"),
    [
        (MOLLOY, "ZCOR", "molloy2014_REML_knha", "REML", "knha"),
        (MOLLOY, "ZCOR", "molloy2014_DL_z", "DL", "z"),
        (BCG, "RR", "bcg_REML_z", "REML", "z"),
        (BCG, "RR", "bcg_PM_knha", "PM", "knha"),
    ],
)
def test_pool_json_agrees_with_metafor(tmp_path, capsys, csv, measure, case, method, test):
    code, result = pool(tmp_path, capsys, csv, "--measure", measure, "--method", method,
                        "--test", test, "--json")  # fmt: skip
    assert code == 0
    assert set(result) >= KEYS
    expected = CASES[case]["outputs"]
    tol = CLOSED_FORM if method == "DL" else ITERATIVE
    for key in ("estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "pi_lb", "pi_ub", "tau2",
                "tau2_ci_lb", "tau2_ci_ub", "I2", "H2", "QE", "QEp"):  # fmt: skip
        assert result[key] == pytest.approx(expected[key], rel=tol, abs=tol), key
    assert result["k"] == expected["k"]
    assert result["converged"] is True
    assert result["yi"] == pytest.approx(CASES[case]["inputs"]["yi"], rel=CLOSED_FORM)


def test_pool_yi_vi_without_measure(tmp_path, capsys):
    case = CASES["molloy2014_REML_z"]
    rows = "\n".join(f"{y!r},{v!r}" for y, v in zip(case["inputs"]["yi"], case["inputs"]["vi"],
                                                     strict=True))  # fmt: skip
    code, result = pool(tmp_path, capsys, "yi,vi\n" + rows + "\n", "--json")
    assert code == 0
    assert result["estimate"] == pytest.approx(case["outputs"]["estimate"], rel=ITERATIVE)
    assert result["tau2"] == pytest.approx(case["outputs"]["tau2"], rel=ITERATIVE)


def test_pool_text_output(tmp_path, capsys):
    code, text = pool(tmp_path, capsys, MOLLOY, "--measure", "ZCOR")
    assert code == 0
    assert "REML model, test z, k = 16" in text
    assert "prediction interval" in text


def test_missing_value_row_is_excluded_with_warning(tmp_path, capsys):
    csv = MOLLOY.replace("Cohen 2004,0,65", "Cohen 2004,,65")
    code, result = pool(tmp_path, capsys, csv, "--measure", "ZCOR", "--json")
    assert code == 0
    assert result["k"] == 15
    assert result["k_excluded"] == 1
    assert result["excluded"][0][0] == "Cohen 2004"


def test_missing_value_warning_is_one_readable_line(tmp_path, capsys):
    csv = MOLLOY.replace("Cohen 2004,0,65", "Cohen 2004,,65")
    code, text = pool(tmp_path, capsys, csv, "--measure", "ZCOR")
    assert code == 0
    assert (
        "synthesis pool: warning: 1 of 16 studies excluded because of missing values: Cohen 2004"
        in text
    )


def test_k1_returns_the_study_itself(tmp_path, capsys):
    code, result = pool(tmp_path, capsys, "ri,ni\n0.3,50\n", "--measure", "ZCOR", "--json")
    assert code == 0
    assert result["k"] == 1
    assert result["tau2"] == 0
    assert result["estimate"] == pytest.approx(0.30951960420311175, rel=CLOSED_FORM)  # atanh(0.3)
    assert any("k = 1" in n or "single" in n.lower() for n in result["notes"])


@pytest.mark.parametrize(
    ("csv", "args", "expected"),
    [
        ("ri,ni\n", ("--measure", "ZCOR"), r"no data rows \(k = 0\)"),
        ("", ("--measure", "ZCOR"), r"the file is empty"),
        (MOLLOY, ("--measure", "XYZ"), r"--measure 'XYZ' is not known; allowed: ZCOR, COR"),
        (MOLLOY, ("--measure", "ZCOR", "--method", "FOO"), r"method.*'FOO'.*(REML|allowed)"),
        (MOLLOY, ("--measure", "SMD"), r"(m1i|missing|needs)"),
        ("ri,ni\n1.0,50\n0.2,40\n", ("--measure", "ZCOR"), r"ri = 1.*ZCOR needs -1 < ri < 1"),
        ("xi,ni\n12,10\n3,20\n", ("--measure", "PLO"), r"xi.*(exceed|<= ni|greater)"),
        ("ri,ni\n0.3,1\n0.2,40\n", ("--measure", "ZCOR"), r"ni.*(> 3|ni > 3|at least)"),
        ("yi,vi\n0.3,0\n0.2,0.1\n", (), r"vi.*(positive|> 0)"),
        ("ri,ni\nabc,50\n", ("--measure", "ZCOR"), r"column 'ri', data row 1: 'abc' is not a number"),
        (MOLLOY, (), r"--measure is required unless the CSV has columns yi and vi"),
    ],
    ids=["k0", "empty", "unknown-measure", "unknown-method", "missing-columns", "r-is-1",
         "events-gt-n", "n-too-small", "zero-variance", "not-a-number", "no-measure"],
)  # fmt: skip
def test_bad_input(tmp_path, capsys, csv, args, expected):
    code, text = pool(tmp_path, capsys, csv, *args)
    assert code == 1
    assert __import__("re").search(expected, text), text


def test_file_not_found(tmp_path, capsys):
    code = main(["pool", str(tmp_path / "nope.csv"), "--measure", "ZCOR"])
    assert code == 1
    assert "file not found" in capsys.readouterr().err
