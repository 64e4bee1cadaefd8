"""Shared fixtures: a small, valid project in a temporary folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

MINI_BIB = """\
@article{smith2020mind,
  author = {Smith, Jane and Doe, Kim},
  title = {Mindfulness and Alliance},
  journal = {Journal of Tests}, year = {2020}, volume = {1}, pages = {1--10},
  doi = {10.1000/test.1}}
"""

MINI_STUDY = """\
id: smith2020
citation: smith2020mind
design: cross-sectional
status: published
population:
  description: Therapists
  n: 50
  source: abstract
sources:
  abstract:
    doi: 10.1000/test.1
    where: abstract
outcomes:
  - question: q1_alliance
    outcome: alliance
    name: Working alliance
    source: abstract
    data:
      kind: correlation
      r: 0.30
      n: 50
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A valid project: the real questions, one study and its bibliography entry."""
    (tmp_path / "evidence" / "studies").mkdir(parents=True)
    shutil.copytree(ROOT / "evidence" / "questions", tmp_path / "evidence" / "questions")
    for path in (tmp_path / "evidence" / "questions").glob("*.yaml"):
        # the search sections name the repository's records, which this project lacks
        text = path.read_text(encoding="utf-8")
        path.write_text(text.split("\nsearch:\n")[0] + "\n", encoding="utf-8")
    (tmp_path / "references.bib").write_text(MINI_BIB, encoding="utf-8")
    (tmp_path / "evidence" / "studies" / "smith2020.yaml").write_text(MINI_STUDY, encoding="utf-8")
    return tmp_path


@pytest.fixture(scope="session")
def repo_reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``synthesis build`` of a copy of this repository (evidence, notebooks, bibliography):
    the reports folder, built once per test session for every test that reads the pages."""
    from synthesis.report import build_reports

    root = tmp_path_factory.mktemp("repo-reports")
    for name in ("evidence", "notebooks"):
        shutil.copytree(ROOT / name, root / name)
    shutil.copy(ROOT / "references.bib", root / "references.bib")
    return build_reports(root).reports_dir
