"""Shared fixtures: a small, valid project in a temporary folder."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


_TEST_CACHE: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    """Validation caches of this test run go to a fresh folder, never the user's own
    (``synthesis validate`` subprocesses inherit it); it is deleted at the end."""
    if "SYNTHESIS_CACHE_DIR" not in os.environ:
        folder = tempfile.mkdtemp(prefix="synthesis-test-cache-")
        _TEST_CACHE.append(folder)
        os.environ["SYNTHESIS_CACHE_DIR"] = folder


def pytest_unconfigure(config: pytest.Config) -> None:
    for folder in _TEST_CACHE:
        shutil.rmtree(folder, ignore_errors=True)
        if os.environ.get("SYNTHESIS_CACHE_DIR") == folder:
            del os.environ["SYNTHESIS_CACHE_DIR"]


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


def lift_pooling_rules(text: str) -> str:
    """A question file's text without the outcomes' pooling rules (time-point window,
    designs, min_k) and with ``analysis.min_k: 2``: the small projects of the tests pool
    what they hold; tests of the rules (tests/test_pooling_rules.py) set their own."""
    import re

    text = re.sub(r"\n    timepoint_window:\n(      .*\n)+", "\n", text)
    text = re.sub(r"\n    (designs|min_k|min_k_reason): .*", "", text)
    text = re.sub(r"\n  min_k_reason: .*", "", text)
    return re.sub(r"\n  min_k: \d+", "\n  min_k: 2", text)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A valid project: the real questions (pooling rules lifted: :func:`lift_pooling_rules`),
    one study and its bibliography entry."""
    (tmp_path / "evidence" / "studies").mkdir(parents=True)
    shutil.copytree(ROOT / "evidence" / "questions", tmp_path / "evidence" / "questions")
    for path in (tmp_path / "evidence" / "questions").glob("*.yaml"):
        # the search sections name the repository's records, which this project lacks
        text = path.read_text(encoding="utf-8")
        path.write_text(lift_pooling_rules(text.split("\nsearch:\n")[0]) + "\n", encoding="utf-8")
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


def without_pooling_rules(base):  # type: ignore[no-untyped-def]
    """A copy of ``base`` whose questions pool as before the plan's pooling rules
    (:mod:`synthesis.pooling_rules`): no time-point window or per-outcome designs, and
    ``min_k`` 2. Tests of the machinery that needs a pooled fit on real records (the
    robustness grid, the implied pre-post r, the pages' pooled sections) use it; the
    real plan's results are checked in tests/test_golden_evidence.py."""
    import dataclasses

    questions = {}
    for qid, q in base.questions.items():
        outcomes = [
            o.model_copy(update={"timepoint_window": None, "designs": None, "min_k": None})
            for o in q.outcomes
        ]
        analysis = q.analysis.model_copy(update={"min_k": 2})
        questions[qid] = q.model_copy(update={"outcomes": outcomes, "analysis": analysis})
    return dataclasses.replace(base, questions=questions)
