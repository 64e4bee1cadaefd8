"""Is ``reports/`` current? A check cheap enough to run before validating anything.

``synthesis build`` with nothing changed used to validate the evidence, plan every
notebook and copy every page into a new ``reports/`` (1.5-4 s). :func:`stamp` hashes
what a build is made from without parsing it: the bytes of every file under
``evidence/``, ``references.bib`` and ``notebooks/*.ipynb``, the package's code, the
installed distributions, the git commit and whether the tree is dirty (both are shown
on the pages), and the build options that change the pages. The build stores the stamp
in ``manifest.json``; :func:`unchanged` compares it and re-hashes every page the
manifest lists, so a deleted or edited page also means "build again".

Any difference, however small (a comment in a record, a newly installed package),
sends the build down the normal path, which decides per notebook what to re-execute:
this check may only ever say "nothing to do" when a full build would write the same
pages.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from synthesis.buildinfo import digest_json, evidence_digest, git_state, package_digest, sha256_file

__all__ = ["stamp", "unchanged"]

#: Bump when what the stamp covers changes.
STAMP_FORMAT = 1


def _environment() -> list[str]:
    """Names of the installed distributions with their versions (``numpy-2.4.6.dist-info``)."""
    found = []
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        found += [f"{entry}/{n}" for n in names if n.endswith((".dist-info", ".egg-info"))]
    return sorted(found)


def _notebooks(root: Path) -> dict[str, str]:
    folder = root / "notebooks"
    paths = sorted(folder.glob("*.ipynb")) if folder.is_dir() else []
    return {p.name: sha256_file(p) for p in paths if p.is_file()}


def stamp(root: Path, *, pdf: bool, params: Mapping[str, Any] | None = None) -> str:
    """Digest of everything a build of ``root`` with these options is made from.

    Parameters
    ----------
    root : pathlib.Path
        Project root.
    pdf : bool
        Whether the build writes PDFs.
    params : dict, optional
        Notebook parameters (a variant build).

    Returns
    -------
    str
        sha256 hex digest.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> stamp(root, pdf=True) == stamp(root, pdf=True) != stamp(root, pdf=False)
    True
    """
    commit, dirty = git_state(root)
    return digest_json(
        {
            "format": STAMP_FORMAT,
            "evidence": evidence_digest(root),
            "notebooks": _notebooks(root),
            "package": package_digest(),
            "python": sys.version,
            "environment": _environment(),
            "git": [commit, dirty],
            "pdf": pdf,
            "params": dict(params or {}),
        }
    )


def unchanged(reports: Path, current: str) -> dict[str, Any] | None:
    """The manifest of ``reports`` if it was built from ``current`` and is intact.

    Returns ``None`` when the stamps differ, the manifest is missing or unreadable, or a
    page it lists is missing or differs from what the build wrote.
    """
    try:
        manifest = json.loads((reports / "manifest.json").read_text(encoding="utf-8"))
        if manifest["stamp"]["digest"] != current:
            return None
        files = {manifest["index"]["path"]: manifest["index"]["sha256"]}
        files.update(manifest["data"]["files"])
        for entry in manifest["notebooks"]:
            files.update({item["path"]: item["sha256"] for item in entry["outputs"].values()})
        for rel, digest in files.items():
            if sha256_file(reports / rel) != digest:
                return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return manifest
