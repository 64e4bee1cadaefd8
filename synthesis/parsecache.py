"""A per-file cache of ``synthesis validate``'s parsed and checked files.

Reading 10,000 YAML records and a 10,000-entry bibliography costs seconds; most runs see
the same files as the run before. The cache keeps, for each file, what validation made of
it on its own: the parsed record (pydantic model and the line of every value), its
per-file problems (structure, placeholders, value ranges and provenance) and, for
``references.bib``, the parsed :class:`~synthesis.bib.Bibliography`. Everything that looks
across files (ids, citations, questions, pooled twice, unused references) runs every time.

An entry's key is the SHA-256 of the file's bytes, the file's name as shown in problems,
what kind of file it is, and the *code key*: a hash of every source file of this package
and of the versions of Python and of the libraries that read the files. Editing a file,
renaming it or changing the package therefore misses the cache. Files whose result holds
an error are never stored: an error is recomputed on every run.

The cache of a project is one file in the user's cache folder (``$SYNTHESIS_CACHE_DIR``,
else ``$XDG_CACHE_HOME/synthesis``, else ``~/.cache/synthesis``), named after a hash of the
project's absolute path: it is never inside the project, so it is never committed or
shipped with it, and a project from elsewhere cannot bring a cache of its own (entries are
Python pickles, which only this user writes). The file starts with a SHA-256 of its
content: a truncated or corrupted file is ignored and rewritten, as is an entry that does
not unpickle. Writing is atomic (a temporary file renamed into place) and a cache folder
that cannot be written only costs the speed. ``synthesis validate --no-cache`` or
``SYNTHESIS_NO_CACHE=1`` leaves the cache unread and unwritten.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pickle
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from synthesis.files import write_atomic

#: First bytes of a cache file: the format (a change of layout changes it).
MAGIC = b"synthesis-validate-cache 1\n"
#: Libraries whose version can change what a file parses to.
_LIBRARIES = ("pydantic", "pydantic_core", "PyYAML", "bibtexparser", "pylatexenc")


def cache_dir() -> Path:
    """The folder of the validation caches (see the module docstring)."""
    chosen = os.environ.get("SYNTHESIS_CACHE_DIR")
    if chosen:
        return Path(chosen)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "synthesis"


def disabled_by_environment() -> bool:
    """Whether ``SYNTHESIS_NO_CACHE`` is set to a non-empty value other than ``0``."""
    return os.environ.get("SYNTHESIS_NO_CACHE", "") not in ("", "0")


@functools.lru_cache(maxsize=1)
def code_key() -> bytes:
    """Hash of this package's source files and of the versions that read the files."""
    digest = hashlib.sha256(MAGIC)
    digest.update(sys.version.encode())
    for name in _LIBRARIES:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:  # pragma: no cover - all are dependencies
            version = "absent"
        digest.update(f"\0{name}={version}".encode())
    try:
        import yaml

        digest.update(b"\0libyaml" if yaml.__with_libyaml__ else b"\0pure")
    except ImportError:  # pragma: no cover - a dependency
        pass
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        digest.update(b"\0" + path.relative_to(package).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.digest()


class ParseCache:
    """The cache of one project: read at creation, written by :meth:`save`.

    Parameters
    ----------
    root : Path
        The project root (its absolute path names the cache file).
    folder : Path, optional
        Where the cache files are (default :func:`cache_dir`).
    """

    def __init__(self, root: Path, folder: Path | None = None) -> None:
        self.folder = folder if folder is not None else cache_dir()
        project = os.fsencode(os.path.abspath(root))
        self.path = self.folder / f"validate-{hashlib.sha256(project).hexdigest()[:24]}.bin"
        self.code = code_key()
        self._old: dict[bytes, bytes] = self._read()
        self._new: dict[bytes, bytes] = {}
        self._changed = False

    def _read(self) -> dict[bytes, bytes]:
        """The stored entries, or none when the file is missing, corrupted or stale."""
        try:
            raw = self.path.read_bytes()
        except OSError:
            return {}
        head = len(MAGIC)
        payload = raw[head + 32 :]
        if raw[:head] != MAGIC or hashlib.sha256(payload).digest() != raw[head : head + 32]:
            return {}
        try:
            stored = pickle.loads(payload)
        except Exception:  # any unreadable content is a miss
            return {}
        if not (isinstance(stored, tuple) and len(stored) == 2 and stored[0] == self.code):
            return {}
        entries = stored[1]
        return entries if isinstance(entries, dict) else {}

    def key(self, kind: str, file: str, raw: bytes) -> bytes:
        """The key of ``raw`` (a file's bytes) read as ``kind`` and shown as ``file``."""
        digest = hashlib.sha256(self.code)
        digest.update(f"\0{kind}\0{file}\0".encode("utf-8", "surrogateescape"))
        digest.update(raw)
        return digest.digest()

    def get(self, key: bytes) -> Any | None:
        """The value stored under ``key``, or None (missing, or does not unpickle)."""
        blob = self._old.get(key)
        if blob is None:
            return None
        try:
            value = pickle.loads(blob)
        except Exception:  # a broken entry is a miss, rebuilt by put()
            self._changed = True
            return None
        self._new[key] = blob
        return value

    def put(self, key: bytes, value: Any) -> None:
        """Store ``value`` (pickled now, so later changes to it are not stored)."""
        self._new[key] = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        self._changed = True

    def save(self) -> None:
        """Write the entries used in this run (the others are dropped), if any changed."""
        if not self._changed and self._new.keys() == self._old.keys():
            return
        payload = pickle.dumps((self.code, self._new), protocol=pickle.HIGHEST_PROTOCOL)
        data = MAGIC + hashlib.sha256(payload).digest() + payload
        with contextlib.suppress(OSError):  # a cache that cannot be written only costs speed
            write_atomic(self.path, data)
