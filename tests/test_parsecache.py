"""The validation cache (synthesis.parsecache): the same result with and without it, an
edited file misses, a corrupted cache or entry is ignored and rewritten, errors are
never stored."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from synthesis import parsecache
from synthesis.cli import main
from synthesis.parsecache import ParseCache
from synthesis.validate import validate


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("SYNTHESIS_CACHE_DIR", str(folder))
    monkeypatch.delenv("SYNTHESIS_NO_CACHE", raising=False)
    return folder


def _run(root: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    code = main(["validate", str(root), *extra])
    out, err = capsys.readouterr()
    return code, out, err


def _entries(root: Path) -> dict[bytes, bytes]:
    return ParseCache(root)._old


def _study(project: Path) -> Path:
    return project / "evidence" / "studies" / "smith2020.yaml"


def test_warm_run_prints_what_a_cold_run_prints(project, cache_dir, capsys):
    cold = _run(project, capsys, "--no-cache")
    assert not cache_dir.exists()  # --no-cache neither reads nor writes
    first = _run(project, capsys)
    assert list(cache_dir.glob("validate-*.bin"))
    entries = _entries(project)
    # the bibliography, the questions and the study
    assert len(entries) == 2 + len(list((project / "evidence/questions").glob("*.yaml")))
    assert _run(project, capsys) == first == cold
    base_cold, report_cold = validate(project)
    base_warm, report_warm = validate(project, cache=True)
    assert report_warm.to_json() == report_cold.to_json()
    assert base_warm.studies == base_cold.studies
    assert base_warm.sources["smith2020"].lines == base_cold.sources["smith2020"].lines
    assert base_warm.sources["smith2020"].printed == base_cold.sources["smith2020"].printed


def test_an_edited_file_is_read_again(project, cache_dir, capsys):
    assert _run(project, capsys)[0] == 0
    before = set(_entries(project))
    path = _study(project)
    path.write_text(path.read_text(encoding="utf-8").replace("r: 0.30", "r: 1.30"), "utf-8")
    code, out, _ = _run(project, capsys)
    assert code == 1
    assert "smith2020.yaml:20: outcomes[0].data.r: error: a correlation r must lie in" in out
    assert set(_entries(project)) < before  # the edited record's result is not stored
    path.write_text(path.read_text(encoding="utf-8").replace("r: 1.30", "r: 0.30"), "utf-8")
    assert _run(project, capsys)[0] == 0
    assert set(_entries(project)) == before


def test_errors_are_never_stored(project, cache_dir, capsys):
    path = _study(project)
    path.write_text(path.read_text(encoding="utf-8") + "design: twice\n", "utf-8")
    bib = project / "references.bib"
    bib.write_text(bib.read_text(encoding="utf-8") + "@article{broken, title = {x}\n", "utf-8")
    first = _run(project, capsys)
    assert first[0] == 1 and "duplicate key 'design'" in first[1]
    assert "cannot parse this block" in first[1]
    assert len(_entries(project)) == len(list((project / "evidence/questions").glob("*.yaml")))
    assert _run(project, capsys) == first


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty"])
def test_a_corrupted_cache_file_is_ignored_and_rewritten(project, cache_dir, capsys, damage):
    first = _run(project, capsys)
    (path,) = cache_dir.glob("validate-*.bin")
    data = path.read_bytes()
    damaged = {
        "truncate": data[: len(data) // 2],
        "flip": data[:-10] + bytes([data[-10] ^ 0xFF]) + data[-9:],
        "garbage": b"not a cache at all",
        "empty": b"",
    }[damage]
    path.write_bytes(damaged)
    assert ParseCache(project)._old == {}
    assert _run(project, capsys) == first
    assert path.read_bytes() != damaged
    assert len(_entries(project)) == len(ParseCache(project)._read()) > 0


def test_a_broken_entry_is_ignored_and_rebuilt(project, cache_dir, capsys):
    first = _run(project, capsys)
    cache = ParseCache(project)
    key = cache.key("Study", "evidence/studies/smith2020.yaml", _study(project).read_bytes())
    assert key in cache._old
    cache._old[key] = b"\x80\x05 not a pickle"
    cache._changed = True
    cache._new = dict(cache._old)
    cache.save()
    assert ParseCache(project)._old[key] == b"\x80\x05 not a pickle"
    assert _run(project, capsys) == first
    rebuilt = ParseCache(project)._old[key]
    assert rebuilt != b"\x80\x05 not a pickle"
    assert isinstance(pickle.loads(rebuilt), tuple)


def test_a_cache_of_other_code_is_not_used(project, cache_dir, capsys, monkeypatch):
    first = _run(project, capsys)
    monkeypatch.setattr(parsecache, "code_key", lambda: b"another version of the package")
    assert ParseCache(project)._old == {}
    assert _run(project, capsys) == first


def test_no_cache_environment_and_unwritable_folder(project, cache_dir, capsys, monkeypatch):
    monkeypatch.setenv("SYNTHESIS_NO_CACHE", "1")
    first = _run(project, capsys)
    assert not cache_dir.exists()
    monkeypatch.delenv("SYNTHESIS_NO_CACHE")
    cache_dir.write_text("a file where the cache folder would be", encoding="utf-8")
    assert _run(project, capsys) == first  # the cache cannot be written: only slower


def test_the_cache_is_in_the_users_cache_folder(project, capsys, monkeypatch, tmp_path_factory):
    home = tmp_path_factory.mktemp("xdg")
    monkeypatch.delenv("SYNTHESIS_CACHE_DIR")
    monkeypatch.delenv("SYNTHESIS_NO_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    assert parsecache.cache_dir() == home / "synthesis"
    before = sorted(p.relative_to(project) for p in project.rglob("*"))
    assert _run(project, capsys)[0] == 0
    assert sorted(p.relative_to(project) for p in project.rglob("*")) == before
    assert len(list((home / "synthesis").glob("validate-*.bin"))) == 1
