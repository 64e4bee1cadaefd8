"""``build --scheduler``: notebooks executed on a Dask LocalCluster give the local pages."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from synthesis import report
from synthesis.errors import UserInputError
from synthesis.report import NotebookFailed, build_reports

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
