"""Issue 14: hostile content and faults during a build (items 12, 13, 15, 16, 17)."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from synthesis import swap
from synthesis.bib import parse_bibliography
from synthesis.cli import main
from synthesis.errors import UserInputError

from .conftest import ROOT

# -- item 12: only http, https and doi links ---------------------------------------------


@pytest.mark.parametrize(
    ("url", "linked"),
    [("javascript:alert(1)", False), (" JaVaScRiPt:alert(1)", False), ("java\tscript:x", False),
     ("data:text/html,<script>", False), ("file:///etc/passwd", False),
     ("https://example.org/a", True), ("http://example.org", True)],
)  # fmt: skip
def test_reference_links_are_http_https_or_doi(url, linked):
    bib = parse_bibliography(
        "@misc{x2020, author = {A, B}, title = {T}, year = {2020}, url = {" + url + "}}"
    )
    text = bib.format("x2020", html_output=True)
    assert ("<a href=" in text) is linked


def test_doi_is_always_an_https_link():
    bib = parse_bibliography("@misc{x2020, author={A, B}, title={T}, year={2020}, doi={10.1/x}}")
    assert '<a href="https://doi.org/10.1/x">' in bib.format("x2020", html_output=True)


# -- item 13: commissioner pages cannot run script ---------------------------------------


@pytest.mark.parametrize("template", ["commissioner.html.j2", "index.html.j2"])
def test_script_free_pages_forbid_script_by_policy(template):
    text = (ROOT / "synthesis/templates" / template).read_text(encoding="utf-8")
    assert "Content-Security-Policy" in text and "script-src 'none'" in text


# -- item 15: reports/ that cannot be renamed, a cache that is a file ---------------------


def _fake_rename(blocked: Path, code: int):
    real = os.rename

    def rename(src, dst):  # type: ignore[no-untyped-def]
        if Path(src) == blocked:
            raise OSError(code, os.strerror(code), str(src))
        return real(src, dst)

    return rename


@pytest.mark.parametrize("code", [errno.EBUSY, errno.EPERM, errno.EXDEV])
def test_reports_mount_point_is_written_in_place(tmp_path, monkeypatch, code):
    reports, tmp = tmp_path / "reports", tmp_path / "reports.tmp-1"
    (reports / "academic").mkdir(parents=True)
    (reports / "academic" / "old.html").write_text("old", encoding="utf-8")
    (tmp / "academic").mkdir(parents=True)
    (tmp / "academic" / "new.html").write_text("new", encoding="utf-8")
    (tmp / "index.html").write_text("index", encoding="utf-8")
    monkeypatch.setattr(swap.os, "rename", _fake_rename(reports, code))
    said: list[str] = []
    swap.swap_into_place(tmp, reports, said.append)
    assert sorted(p.relative_to(reports).as_posix() for p in reports.rglob("*")) == [
        "academic", "academic/new.html", "index.html"]  # fmt: skip
    assert not tmp.exists()
    assert "cannot be replaced by a rename" in said[0] and "in place" in said[0]


def test_reports_folder_that_cannot_be_written_is_a_user_error(tmp_path, monkeypatch):
    reports, tmp = tmp_path / "reports", tmp_path / "reports.tmp-1"
    reports.mkdir()
    (reports / "keep.html").write_text("x", encoding="utf-8")
    tmp.mkdir()
    monkeypatch.setattr(swap.os, "rename", _fake_rename(reports, errno.EPERM))

    def refuse(path, *a, **k):  # type: ignore[no-untyped-def]
        raise PermissionError(errno.EPERM, "Operation not permitted", str(path))

    monkeypatch.setattr(Path, "unlink", refuse)
    with pytest.raises(UserInputError, match=r"cannot write the reports into it .*immutable"):
        swap.swap_into_place(tmp, reports, lambda line: None)


def _project(root: Path) -> Path:
    for name in ("evidence", "notebooks"):
        shutil.copytree(ROOT / name, root / name)
    shutil.copy(ROOT / "references.bib", root / "references.bib")
    return root


def test_cache_that_is_a_file_is_a_user_error(tmp_path, capsys):
    root = _project(tmp_path)
    (root / ".synthesis-cache").write_text("not a folder", encoding="utf-8")
    assert main(["build", "--root", str(root), "--no-pdf"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert ".synthesis-cache is a file, not the build cache folder: delete or rename it" in err


# -- item 16: builds killed or racing ----------------------------------------------------


def test_reports_left_aside_by_a_killed_build_are_restored(tmp_path):
    old = tmp_path / "reports.old-abc"
    old.mkdir()
    (old / "index.html").write_text("previous", encoding="utf-8")
    said: list[str] = []
    swap.restore_killed_swap(tmp_path / "reports", said.append)
    assert (tmp_path / "reports/index.html").read_text(encoding="utf-8") == "previous"
    assert not old.exists() and "restored the previous reports/" in said[0]


def test_lock_survives_deleting_the_cache_folder(tmp_path):
    cache = tmp_path / ".synthesis-cache"
    cache.mkdir()
    with swap.build_lock(tmp_path):
        shutil.rmtree(cache)
        with (
            pytest.raises(UserInputError, match="another `synthesis build` is running"),
            swap.build_lock(tmp_path),
        ):
            pass  # pragma: no cover
    with swap.build_lock(tmp_path):  # released afterwards
        pass


# -- item 17: folder mode, loopback down -------------------------------------------------


def test_new_folders_respect_the_umask():
    old = os.umask(0o022)
    try:
        assert swap.folder_mode() == 0o755
    finally:
        os.umask(old)


def test_loopback_down_fails_fast_with_a_message():
    if (
        shutil.which("unshare") is None
        or subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0
    ):
        pytest.skip("needs unshare -n (a network namespace, whose loopback is down)")
    code = "from synthesis.kernel import check_loopback; check_loopback()"
    proc = subprocess.run(["unshare", "-n", sys.executable, "-c", code], capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 1
    assert "cannot reach 127.0.0.1" in proc.stderr and "ip link set lo up" in proc.stderr
