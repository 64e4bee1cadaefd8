"""``build --scheduler``: notebooks, and the robustness grids they fit, executed on a Dask
LocalCluster give the local numbers and pages."""

from __future__ import annotations

import dataclasses
import math
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from synthesis import report
from synthesis.analysis import analyse_question
from synthesis.errors import UserInputError
from synthesis.report import NotebookFailed, build_reports
from synthesis.robustness import grid
from synthesis.validate import load_evidence

from .conftest import ROOT, without_pooling_rules
from .test_build_options import make_project

distributed = pytest.importorskip("distributed")

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        host="127.0.0.1",
        dashboard_address=None,
        processes=True,
    ) as c:
        yield c


def pages(root: Path) -> dict[str, str]:
    out = {}
    for path in sorted((root / "reports").rglob("*.html")):
        out[path.relative_to(root).as_posix()] = TIMESTAMP.sub("TIME", path.read_text("utf-8"))
    return out


def test_cluster_build_gives_the_local_pages(
    tmp_path: Path, cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report, "package_digest", lambda: "0" * 64)
    local = make_project(tmp_path / "local")
    remote = tmp_path / "remote"
    shutil.copytree(local, remote)
    assert build_reports(local, pdf=False).executed == ("q1_first.ipynb", "q2_second.ipynb")
    lines: list[str] = []
    result = build_reports(
        remote, pdf=False, scheduler=cluster.scheduler_address, progress=lines.append
    )
    assert result.executed == ("q1_first.ipynb", "q2_second.ipynb")
    assert any("on the Dask cluster at tcp://127.0.0.1:" in line for line in lines)
    assert pages(remote) == pages(local)
    assert len(pages(local)) == 5  # two pages per question and the index


def test_a_failing_notebook_on_the_cluster_is_reported_as_locally(
    tmp_path: Path, cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report, "package_digest", lambda: "0" * 64)
    root = make_project(tmp_path)
    template = root / "notebooks" / "_template_question.ipynb"
    template.write_text(
        template.read_text("utf-8").replace('print(f\\"RAN', 'raise ValueError(f\\"RAN'),
        encoding="utf-8",
    )
    with pytest.raises(NotebookFailed, match=r"_template_question.ipynb \(question q1_first\) "
                       r"failed at cell 3 .*ValueError: RAN q1_first"):  # fmt: skip
        build_reports(root, pdf=False, scheduler=cluster.scheduler_address)
    assert not (root / "reports").exists()


def test_unreachable_scheduler_is_a_user_error(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    with pytest.raises(UserInputError, match=r"--scheduler tcp://127.0.0.1:9: cannot reach"):
        build_reports(root, pdf=False, scheduler="tcp://127.0.0.1:9")


def _same(a: object, b: object) -> bool:
    """Equal, NaN equal to NaN, field by field (exactly: no tolerance)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _fit_tasks(client) -> int:  # type: ignore[no-untyped-def]
    """How many batched fits the cluster's scheduler has run."""

    def count(dask_scheduler) -> int:  # type: ignore[no-untyped-def]
        prefix = dask_scheduler.task_prefixes.get("fit_arrays_raw")
        return 0 if prefix is None else sum(prefix.state_counts.values())

    return int(client.run_on_scheduler(count))


def test_robustness_grid_on_the_cluster_equals_the_local_grid(cluster) -> None:
    base = without_pooling_rules(load_evidence(ROOT))  # the real plan pools nothing
    analyses = [a for q in base.questions for a in analyse_question(base, q) if a.fit is not None]
    assert len(analyses) >= 5
    with distributed.Client(cluster, set_as_default=False) as client:
        before = _fit_tasks(client)
        for a in analyses:
            local = [dataclasses.astuple(c) for c in grid(base, a)]
            remote = [dataclasses.astuple(c) for c in grid(base, a, client=client)]
            assert len(local) > 10 and _same(tuple(remote), tuple(local)), a.outcome.id
        assert _fit_tasks(client) - before >= 2 * len(analyses)  # estimators x tests blocks


GRID_CELL = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
from synthesis.analysis import analyse
from synthesis.robustness import grid_table
from synthesis.validate import load_evidence
from tests.conftest import without_pooling_rules

# the real plan pools no Q2 outcome: lift its rules so that a grid is fitted
base = without_pooling_rules(load_evidence({str(ROOT)!r}))
a = analyse(base, "q2_mindfulness_training", "emotional_exhaustion", method=METHOD)
print(grid_table(base, a).to_string())
"""


def test_cluster_build_fits_the_robustness_grids_there_and_gives_the_local_pages(
    tmp_path: Path, cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report, "package_digest", lambda: "0" * 64)
    local = make_project(tmp_path / "local")
    template = local / "notebooks" / "_template_question.ipynb"
    nb = nbformat.read(template, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(GRID_CELL))
    nbformat.write(nb, template)
    remote = tmp_path / "remote"
    shutil.copytree(local, remote)
    assert build_reports(local, pdf=False).executed == ("q1_first.ipynb", "q2_second.ipynb")
    with distributed.Client(cluster, set_as_default=False) as client:
        before = _fit_tasks(client)
        build_reports(remote, pdf=False, scheduler=cluster.scheduler_address)
        # two notebooks at once on one worker with two threads: their grids ran there too
        assert _fit_tasks(client) - before >= 2 * 2
    assert pages(remote) == pages(local)
    page = pages(local)["reports/academic/q1_first.html"]
    assert "leave one out" in page and "without Fortney" in page
