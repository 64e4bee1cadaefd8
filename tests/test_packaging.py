"""Packaging contracts: environment.yml and pyproject.toml agree; schemas are in sync;
the CLI starts without heavy imports."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

import yaml

from synthesis.records import json_schemas

from .conftest import ROOT


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ]", requirement.strip(), maxsplit=1)[0].lower()


#: Runtime dependencies that conda-forge lacks (or carries only in an unusable version), so
#: environment.yml installs them from PyPI under `pip:` (its comments say why).
PIP_ONLY = {"pymare", "bibtexparser"}


def test_environment_yml_matches_pyproject():
    # conda cannot run here (no channel reachable), so the file is checked by parsing
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    runtime = {_name(r): r for r in project["project"]["dependencies"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    conda = {_name(d): d for d in env["dependencies"] if isinstance(d, str) and _name(d) != "pip"}
    conda.pop("python")
    (pip_section,) = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    assert "-e ." in pip_section, "conda users install the package itself from the checkout"
    pip = {_name(d): d for d in pip_section if not d.startswith("-")}
    assert set(pip) == PIP_ONLY, "only what conda-forge lacks goes under pip:"
    assert not set(pip) & set(conda), "each dependency is listed once"
    interactive = {"jupyterlab"}  # the [lab] extra, for people who open notebooks
    assert (set(conda) - interactive) | set(pip) == set(runtime)
    for name, spec in runtime.items():
        # same lower bounds, written the same way
        assert {**conda, **pip}[name].replace(" ", "") == spec.replace(" ", ""), name


def test_pinned_lower_bounds_that_matter():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    deps = project["project"]["dependencies"]
    assert "pymare>=0.0.13" in deps  # earlier versions have wrong effect-size variances
    assert any(d.startswith("bibtexparser>=2") for d in deps)
    # the jupyter metapackage slows every nbformat import by ~2 s: an extra only
    assert not any(_name(d) in ("jupyter", "jupyterlab", "notebook") for d in deps)
    assert project["project"]["requires-python"] == ">=3.11"


def test_json_schemas_are_in_sync():
    folder = ROOT / "evidence" / "schema"
    for name, text in json_schemas().items():
        committed = (folder / name).read_text(encoding="utf-8")
        assert committed == text, f"{name} is stale: run `synthesis schema`"


def test_help_and_validate_do_not_import_heavy_libraries():
    code = (
        "import sys\n"
        "from synthesis.cli import main\n"
        "import contextlib, io\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    main(['validate', {str(ROOT)!r}, '--quiet'])\n"
        "heavy = [m for m in ('pandas', 'pymare', 'matplotlib', 'nbconvert', 'scipy') "
        "if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""


def _fenced_commands(text: str) -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    return [line.strip() for b in blocks for line in b.splitlines() if line.strip()]


def test_readme_has_two_setup_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    setup = _fenced_commands(readme.split("## Set-up and use", 1)[1].split("##", 1)[0])
    assert len(setup) == 2, setup
    build, test = setup
    assert build.endswith("synthesis build")
    assert "pytest" in test
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test in ci.splitlines(), ".ci/run must run the README's test command verbatim"


def test_supported_python_versions_are_stated_once_and_agree():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    classified = [
        c.rsplit(" :: ", 1)[1]
        for c in project["project"]["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    ]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    stated = re.search(r"Supported Python versions: ([\d., and]+?) \(", readme)
    assert stated, "README says which Python versions are supported"
    assert re.findall(r"3\.\d+", stated.group(1)) == classified
    assert classified[0] == project["project"]["requires-python"].removeprefix(">=")
