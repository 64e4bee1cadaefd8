"""What a build is made from: digests of its inputs, and the provenance its pages show.

The build (:mod:`synthesis.report`) keys its cache on :func:`evidence_digest`,
:func:`package_digest` and the libraries' versions, and prints :func:`provenance` in
every footer and in ``manifest.json``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from synthesis import __version__
from synthesis.pages import TEMPLATES

__all__ = [
    "digest_json",
    "distribution_version",
    "evidence_digest",
    "git_state",
    "package_digest",
    "provenance",
    "sha256_file",
    "strip_for_key",
]

# Libraries whose version the provenance block shows.
_SHOWN_DISTRIBUTIONS = ("pandas", "PyMARE", "nbconvert")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _hidden(rel: Path) -> bool:
    return any(part.startswith(".") or part == "__pycache__" for part in rel.parts)


def _digest_files(base: Path, files: list[Path]) -> str:
    """Hash sorted relative paths, sizes and bytes of ``files`` (relative to ``base``)."""
    digest = hashlib.sha256()
    for rel, path in sorted((p.relative_to(base).as_posix(), p) for p in files):
        data = path.read_bytes()
        digest.update(f"{rel}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def evidence_digest(root: Path) -> str:
    """sha256 of the evidence: every file under ``evidence/`` and ``references.bib``.

    Parameters
    ----------
    root : pathlib.Path
        Project root.

    Returns
    -------
    str
        Hex digest over the sorted relative paths and bytes of the files (hidden files
        and folders, e.g. ``.DS_Store``, are left out). Missing files hash as absent.
    """
    files: list[Path] = []
    evidence = root / "evidence"
    if evidence.is_dir():
        files += [
            p for p in evidence.rglob("*") if p.is_file() and not _hidden(p.relative_to(root))
        ]
    bib = root / "references.bib"
    if bib.is_file():
        files.append(bib)
    return _digest_files(root, files)


def package_digest() -> str:
    """sha256 of the toolkit's source: ``synthesis/**/*.py`` and ``synthesis/templates/**``.

    Returns
    -------
    str
        Hex digest; it changes whenever code that may compute a reported number, or a
        template that renders it, changes.
    """
    package = Path(__file__).resolve().parent
    files = [
        p
        for p in package.rglob("*")
        if p.is_file()
        and not _hidden(p.relative_to(package))
        and (p.suffix == ".py" or TEMPLATES in p.parents)
    ]
    return _digest_files(package, files)


def strip_for_key(nb: dict[str, Any]) -> dict[str, Any]:
    """The notebook without outputs, execution counts and execution timing."""
    nb = dict(nb)
    cells = []
    for cell in nb.get("cells", []):
        cell = dict(cell)
        cell.pop("outputs", None)
        cell.pop("execution_count", None)
        meta = dict(cell.get("metadata", {}))
        meta.pop("execution", None)
        cell["metadata"] = meta
        cells.append(cell)
    nb["cells"] = cells
    return nb


def digest_json(obj: object) -> str:
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def distribution_version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def git_state(root: Path) -> tuple[str, bool | None]:
    """The commit checked out at ``root`` (``"unknown"`` outside git) and whether the
    tree has changes (``None`` when unknown)."""
    head = _git(root, "rev-parse", "HEAD")
    if not head:
        return "unknown", None
    status = _git(root, "status", "--porcelain")
    return head.strip(), None if status is None else bool(status.strip())


def _utc_now() -> str:
    now = _dt.datetime.now(_dt.UTC).replace(microsecond=0)
    return now.isoformat().replace("+00:00", "Z")


def provenance(root: Path) -> dict[str, Any]:
    """Provenance of a build from ``root``, as shown in every footer and the manifest.

    Parameters
    ----------
    root : pathlib.Path
        Project root.

    Returns
    -------
    dict
        ``package_version``, ``git_commit`` (``"unknown"`` outside a git checkout),
        ``git_dirty`` (``None`` when unknown), ``evidence_sha256``, ``versions``
        (``python``, ``pandas``, ``PyMARE``, ``nbconvert``, ``nbclient``) and
        ``built_at`` (UTC, ISO 8601, seconds).
    """
    commit, dirty = git_state(root)
    versions = {"python": platform.python_version()}
    versions.update(
        {name: distribution_version(name) for name in (*_SHOWN_DISTRIBUTIONS, "nbclient")}
    )
    return {
        "package_version": __version__,
        "git_commit": commit,
        "git_dirty": dirty,
        "evidence_sha256": evidence_digest(root),
        "versions": versions,
        "built_at": _utc_now(),
    }
