"""The reports folder on disk: one build at a time, replaced whole or not at all.

:func:`build_lock` keeps two builds of a project apart; :func:`swap_into_place` puts a
finished build in place of the previous ``reports/`` with two renames (contents
copied in place where a rename is impossible, e.g. a mount point), and
:func:`restore_killed_swap` repairs a build killed between the renames.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from synthesis.errors import UserInputError

__all__ = ["build_lock", "folder_mode", "restore_killed_swap", "swap_into_place"]


@contextlib.contextmanager
def build_lock(root: Path) -> Iterator[None]:
    """Hold an exclusive lock on the project's build (POSIX; a no-op elsewhere).

    The lock is taken on the project folder itself, not on a file inside the cache, so
    deleting ``.synthesis-cache`` during a build cannot release it.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    fd = os.open(root, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise UserInputError(
                f"{root}: another `synthesis build` is running in this project; "
                "wait for it to finish"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def folder_mode() -> int:
    """The mode a new folder gets under the current umask (mkdtemp would give 0700)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o777 & ~mask


def restore_killed_swap(reports: Path, say: Callable[[str], None]) -> None:
    """Put back the previous reports if a build was killed between its two renames."""
    if reports.exists() or reports.is_symlink():
        return
    olds = sorted(reports.parent.glob(f"{reports.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if olds:
        os.rename(olds[-1], reports)
        say(f"restored the previous {reports.name}/ left by a build that was interrupted")


def swap_into_place(tmp: Path, reports: Path, say: Callable[[str], None] = print) -> None:
    """Replace ``reports`` by ``tmp`` with renames; the old folder survives a failure.

    When ``reports`` cannot be renamed (a mount point such as a Docker volume: EBUSY;
    or a folder whose parent forbids it: EPERM, EACCES, EXDEV), its contents are
    replaced in place instead, with a message: that is not atomic, but the build's
    work is kept. A folder that cannot be written at all is a user error.
    """
    if not reports.exists() and not reports.is_symlink():
        os.rename(tmp, reports)
        return
    old = Path(tempfile.mkdtemp(prefix=f"{reports.name}.old-", dir=reports.parent))
    old.rmdir()
    try:
        os.rename(reports, old)
    except OSError as exc:
        if exc.errno not in (errno.EBUSY, errno.EPERM, errno.EACCES, errno.EXDEV):
            raise
        say(
            f"note: {reports} cannot be replaced by a rename ({errno.errorcode[exc.errno]}: "
            "a mount point or a protected folder?); writing the new reports into it in place"
        )
        _replace_contents(tmp, reports)
        return
    try:
        os.rename(tmp, reports)
    except BaseException:
        os.rename(old, reports)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _replace_contents(tmp: Path, reports: Path) -> None:
    """Make ``reports`` hold exactly what ``tmp`` holds, writing inside it."""
    try:
        for child in list(reports.iterdir()):
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
        for child in sorted(tmp.iterdir()):
            target = reports / child.name
            if child.is_dir():
                shutil.copytree(child, target)
            else:
                shutil.copy2(child, target)
    except OSError as exc:
        raise UserInputError(
            f"{reports}: cannot write the reports into it ({exc.strerror}: {exc.filename}); "
            "make the folder writable (is it immutable or read-only?) and build again"
        ) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
