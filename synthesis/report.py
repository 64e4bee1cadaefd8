"""Build the reports: execute the notebooks (cached), render them for two audiences.

:func:`build_reports` is what ``synthesis build`` runs after validating the evidence:

1. every ``notebooks/*.ipynb`` whose name does not start with ``_`` is executed with
   nbclient (kernel ``python3``, working directory ``notebooks/``, environment variable
   ``SYNTHESIS_ROOT`` set to the project root), several at a time, each in its own
   kernel;
2. an executed notebook is cached in ``.synthesis-cache/`` under a key that hashes the
   notebook (outputs stripped), the evidence (``evidence/**`` and ``references.bib``),
   the toolkit's source and templates, and the versions of the libraries that compute
   the numbers; an unchanged notebook is not executed again;
3. each notebook becomes ``reports/academic/<name>.html`` (with code),
   ``reports/commissioner/<name>.html`` (no code, no cells tagged ``academic``, no
   scripts), ``reports/commissioner/<name>.pdf`` (WeasyPrint, offline) and
   ``reports/commissioner/<name>.docx`` (the same brief as a Word document), and the
   build writes ``reports/data/`` (the numbers as a Frictionless Data Package),
   ``reports/index.html`` and ``reports/manifest.json``;
4. everything is written to a temporary folder beside ``reports/`` that replaces it
   only when every notebook succeeded: a failing notebook raises
   :class:`NotebookFailed` and leaves the previous reports untouched.

Every page and the manifest carry the provenance of the build (toolkit version, git
commit, evidence hash, library versions, time). Two builds from the same inputs give
byte-identical pages apart from the build time. Pages whose inputs did not change are
carried over from the previous ``reports/`` unchanged (their footer keeps the time they
were rendered), so a build with nothing to do takes well under a second.

Heavy libraries (nbclient, nbconvert, WeasyPrint) are imported inside the functions
that use them, so importing this module is cheap.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import datetime as _dt
import errno
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthesis.cluster import connect, notebook_task
from synthesis.errors import UserInputError
from synthesis.export import export_package
from synthesis.wordbrief import html_to_docx

if TYPE_CHECKING:
    from synthesis.evidence import EvidenceBase

__all__ = [
    "CACHE_DIRNAME",
    "REPORTS_DIRNAME",
    "BuildResult",
    "NotebookFailed",
    "build_reports",
    "discover_notebooks",
    "evidence_digest",
    "notebook_title",
    "package_digest",
    "provenance",
    "write_pdf",
]

#: Folder (in the project root) holding executed notebooks; git-ignored.
CACHE_DIRNAME = ".synthesis-cache"
#: Environment variable naming the pickled, validated evidence a kernel may load
#: instead of validating ``evidence/`` again (:func:`synthesis.notebook.load`).
EVIDENCE_ENV = "SYNTHESIS_EVIDENCE_PICKLE"
#: Folder (in the project root) the build writes.
REPORTS_DIRNAME = "reports"
#: Folder (in the project root) of builds with notebook parameters (``--param``).
VARIANTS_DIRNAME = "reports-variants"
# What each notebook becomes (the PDF is left out with ``pdf=False``).
_OUTPUT_KINDS = ("academic_html", "commissioner_html", "commissioner_docx", "commissioner_pdf")
#: Jupyter kernel every notebook runs in.
KERNEL_NAME = "python3"
#: Bump when the cache layout or the way notebooks are executed changes.
CACHE_FORMAT = 2
#: Version of ``manifest.json``'s layout.
MANIFEST_FORMAT = 2

_TEMPLATES = Path(__file__).resolve().parent / "templates"
# Flat files (package data is ``templates/*``), found through ``extra_template_paths``
# and built on nbconvert's ``lab`` template.
_ACADEMIC_TEMPLATE = "academic.html.j2"
_COMMISSIONER_TEMPLATE = "commissioner.html.j2"

# Run in every kernel before the notebook: SVG ids from matplotlib derive from a fixed
# salt instead of a random UUID, so figures are byte-identical from build to build.
_KERNEL_STARTUP = "import matplotlib as _m; _m.rcParams['svg.hashsalt'] = 'synthesis'; del _m"
# Environment of every kernel on top of the caller's: fixed hash seed (set/dict order of
# strings), and a fixed date for libraries that stamp one into files (matplotlib SVG/PDF).
_KERNEL_ENV = {"PYTHONHASHSEED": "0", "SOURCE_DATE_EPOCH": "0"}

# Libraries whose version can change a number in a report: part of the cache key.
_KEY_DISTRIBUTIONS = ("numpy", "scipy", "pandas", "PyMARE", "matplotlib", "ipykernel")
# Libraries whose version the provenance block shows.
_SHOWN_DISTRIBUTIONS = ("pandas", "PyMARE", "nbconvert")

# Tags: cells removed from every report, and cells removed from commissioner reports.
REMOVE_TAGS = frozenset({"remove"})
ACADEMIC_TAGS = frozenset({"academic"})
#: Cells shown on commissioner pages only (e.g. a plain-language version of a figure).
COMMISSIONER_TAGS = frozenset({"commissioner"})

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")

Progress = Callable[[str], None]


class NotebookFailed(UserInputError):
    """A notebook raised an error, timed out or killed its kernel during the build.

    Attributes
    ----------
    notebook : str
        File name of the notebook, e.g. ``02_mindfulness_for_clinicians.ipynb``.
    cell_index : int or None
        Index of the failing cell, counting from 0 over all cells (markdown included);
        ``None`` when the kernel failed before a cell ran.
    ename, evalue : str
        Name and value of the error (``"ValueError"``, ``"boom"``).
    detail : str
        The end of the traceback (or the kernel's log), without colour codes.
    saved : pathlib.Path or None
        The partly executed notebook, saved for inspection.
    """

    def __init__(
        self,
        notebook: str,
        cell_index: int | None,
        ename: str,
        evalue: str,
        *,
        detail: str = "",
        saved: Path | None = None,
        origin: str | None = None,
    ) -> None:
        self.notebook = notebook
        self.origin = origin
        self.cell_index = cell_index
        self.ename = ename
        self.evalue = evalue
        self.detail = detail
        self.saved = saved
        where = (
            f"cell {cell_index} (counting from 0, markdown cells included)"
            if cell_index is not None
            else "before its first cell"
        )
        what = origin or f"notebooks/{notebook}"
        lines = [f"{what} failed at {where}: {ename}: {evalue}"]
        if detail:
            lines.append(detail)
        if saved is not None:
            lines.append(f"the partly executed notebook is saved as {saved}")
        lines.append("nothing was written: the previous reports/ are unchanged")
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class BuildResult:
    """What :func:`build_reports` did.

    Attributes
    ----------
    reports_dir : pathlib.Path
        The ``reports/`` folder now in place.
    executed : tuple of str
        Notebooks (file names) executed by this build.
    cached : tuple of str
        Notebooks taken from the cache without executing them.
    outputs : tuple of pathlib.Path
        Every file in ``reports_dir``: per notebook the academic HTML, commissioner HTML
        and PDF (unless left out), then ``index.html`` and ``manifest.json``.
    seconds : float
        Wall-clock duration of the build.
    notes : tuple of str
        Things the user must know, e.g. why the PDFs could not be written.
    """

    reports_dir: Path
    executed: tuple[str, ...]
    cached: tuple[str, ...]
    outputs: tuple[Path, ...]
    seconds: float
    notes: tuple[str, ...] = ()


@dataclass
class _Job:
    """One notebook to build."""

    number: int
    path: Path
    source: str
    title: str
    cache_key: str
    render_key: str
    origin: str = ""  # file it comes from, relative to the root
    question: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)  # label -> digest
    reasons: list[str] = field(default_factory=list)  # why it ran, or was reused
    cache_name: str = ""
    evidence_file: str = ""  # the validated evidence, pickled for the kernel
    kinds: tuple[str, ...] = ()  # pages to write
    shown: dict[str, Any] = field(default_factory=dict)  # provenance on its pages
    previous: dict[str, Any] | None = None  # its entry in the previous manifest
    labels: dict[str, str] = field(default_factory=dict)  # study id -> label shown
    results: dict[str, Any] | None = None  # what the notebook published
    changes: dict[str, Any] | None = None  # what changed at its last update (JSON)
    updated_at: str | None = None  # when its content last changed
    notebook: Any = None  # executed NotebookNode
    executed: bool = False
    reused: dict[str, Any] | None = None  # manifest entry of the previous build
    outputs: dict[str, str] = field(default_factory=dict)  # kind -> path relative to reports
    rendered_at: str = ""

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def origin_label(self) -> str | None:
        """How messages name the notebook when it is generated (else ``None``)."""
        if not self.origin or self.origin == f"notebooks/{self.path.name}":
            return None
        return f"{self.origin} (question {self.question})"


# --------------------------------------------------------------------------- hashing


def _sha256_file(path: Path) -> str:
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
        and (p.suffix == ".py" or _TEMPLATES in p.parents)
    ]
    return _digest_files(package, files)


def _strip_for_key(nb: dict[str, Any]) -> dict[str, Any]:
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


def _notebook_json(path: Path, text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserInputError(
            f"{path}: not a valid notebook (JSON error at line {exc.lineno}: {exc.msg})"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise UserInputError(f"{path}: not a Jupyter notebook (no list of cells)")
    return data


def _digest_json(obj: object) -> str:
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


# ------------------------------------------------------------------------ provenance


def _version(distribution: str) -> str:
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
    from synthesis import __version__

    head = _git(root, "rev-parse", "HEAD")
    commit = head.strip() if head else "unknown"
    dirty: bool | None = None
    if head:
        status = _git(root, "status", "--porcelain")
        dirty = None if status is None else bool(status.strip())
    versions = {"python": platform.python_version()}
    versions.update({name: _version(name) for name in (*_SHOWN_DISTRIBUTIONS, "nbclient")})
    return {
        "package_version": __version__,
        "git_commit": commit,
        "git_dirty": dirty,
        "evidence_sha256": evidence_digest(root),
        "versions": versions,
        "built_at": _utc_now(),
    }


# ------------------------------------------------------------------------- notebooks


def discover_notebooks(root: Path) -> list[Path]:
    """The notebooks the build executes: ``notebooks/*.ipynb`` not starting with ``_``.

    Parameters
    ----------
    root : pathlib.Path
        Project root.

    Returns
    -------
    list of pathlib.Path
        Sorted by file name.
    """
    folder = root / "notebooks"
    if not folder.is_dir():
        return []
    return sorted(
        (p for p in folder.glob("*.ipynb") if p.is_file() and not p.name.startswith("_")),
        key=lambda p: p.name,
    )


def _plain(text: str) -> str:
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links and images
    text = re.sub(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>", "", text)  # inline HTML tags
    text = re.sub(r"(\*\*|__|\*|`)", "", text)
    return " ".join(text.split())


def notebook_title(nb: dict[str, Any], default: str) -> str:
    """The first markdown heading of a notebook, as plain text (not escaped).

    Parameters
    ----------
    nb : dict
        Notebook JSON.
    default : str
        Returned when no markdown cell has a heading.

    Returns
    -------
    str
        Heading text without ``#`` marks, emphasis, code marks or link targets.
    """
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(source)
        lines = source.splitlines()
        for i, line in enumerate(lines):
            match = _HEADING.match(line)
            if match and _plain(match.group(1)):
                return _plain(match.group(1))
            if i + 1 < len(lines) and line.strip() and _SETEXT.match(lines[i + 1]) and _plain(line):
                return _plain(line)
    return default


def _clean_executed(nb: Any) -> Any:
    """Drop what varies between executions (timing) from an executed notebook."""
    for key in ("execution", "papermill", "widgets"):
        nb.metadata.pop(key, None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        for output in cell.get("outputs", []):
            output.pop("transient", None)
    return nb


def _kernel_log_tail(log: Any, lines: int = 20) -> str:
    try:
        log.flush()
        log.seek(0)
        text = log.read().decode("utf-8", "replace")
    except (OSError, ValueError):
        return ""
    kept = [ln for ln in text.splitlines() if ln.strip() and "running over TCP without" not in ln]
    return "\n".join(kept[-lines:])


def _traceback_tail(nb: Any, cell_index: int | None, fallback: str, lines: int = 15) -> str:
    """The end of the failing cell's traceback, as plain text."""
    text = fallback
    if cell_index is not None and cell_index < len(nb.cells):
        for output in nb.cells[cell_index].get("outputs", []):
            if output.get("output_type") == "error":
                text = "\n".join(output.get("traceback", []))
    kept = [ln.rstrip() for ln in _ANSI.sub("", text).splitlines()]
    kept = [ln for ln in kept if ln.strip("- ")]  # blank and separator lines
    return "\n".join(kept[-lines:])


async def _execute(job: _Job, *, root: Path, timeout: int, failed_dir: Path) -> Any:
    """Execute one notebook in a fresh kernel; return the executed NotebookNode."""
    import nbformat
    from jupyter_client.kernelspec import NoSuchKernel
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = nbformat.reads(job.source, as_version=4)
    current: dict[str, int | None] = {"cell": None}

    def on_cell_start(cell: Any, cell_index: int) -> None:
        current["cell"] = cell_index

    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=KERNEL_NAME,
        allow_errors=False,
        record_timing=False,
        shutdown_kernel="immediate",
        startup_timeout=120,
        resources={"metadata": {"path": str(job.path.parent)}},
        extra_arguments=[f"--IPKernelApp.exec_lines={_KERNEL_STARTUP}"],
        on_cell_start=on_cell_start,
    )
    env = {**os.environ, **_KERNEL_ENV, "SYNTHESIS_ROOT": str(root)}
    if job.evidence_file:
        env[EVIDENCE_ENV] = job.evidence_file

    def failed(ename: str, evalue: str, detail: str = "") -> NotebookFailed:
        saved: Path | None = None
        with contextlib.suppress(OSError):
            failed_dir.mkdir(parents=True, exist_ok=True)
            saved = failed_dir / job.name
            nbformat.write(nb, saved)
        return NotebookFailed(
            job.name,
            current["cell"],
            ename,
            evalue,
            detail=detail,
            saved=saved,
            origin=job.origin_label,
        )

    with tempfile.TemporaryFile() as log:
        try:
            await client.async_execute(env=env, stdout=log, stderr=log)
        except CellExecutionError as exc:
            detail = _traceback_tail(nb, current["cell"], exc.traceback or "")
            raise failed(exc.ename, exc.evalue, detail) from None
        except CellTimeoutError:
            raise failed(
                "TimeoutError",
                f"the cell ran longer than {timeout} s (raise the timeout or speed it up)",
            ) from None
        except DeadKernelError as exc:
            raise failed("DeadKernelError", str(exc), _kernel_log_tail(log)) from None
        except NoSuchKernel:
            raise UserInputError(
                f"{job.origin_label or 'notebooks/' + job.name}: Jupyter kernel "
                f"{KERNEL_NAME!r} not found; "
                "install ipykernel in this environment (pip install ipykernel)"
            ) from None
    return _clean_executed(nb)


def _execute_on_worker(job: _Job, root: str, timeout: int, failed_dir: str) -> dict[str, Any]:
    """:func:`_execute` on a Dask worker (:func:`~synthesis.cluster.notebook_task`)."""
    try:
        with notebook_task():
            nb = _run_coroutine(
                lambda: _execute(job, root=Path(root), timeout=timeout, failed_dir=Path(failed_dir))
            )
    except NotebookFailed as exc:
        fields = ("notebook", "cell_index", "ename", "evalue", "detail", "origin")
        failed = {k: getattr(exc, k) for k in fields}
        failed["saved"] = str(exc.saved) if exc.saved else None
        return {"failed": failed}
    return {"notebook": nb}


def _from_worker(result: dict[str, Any]) -> Any:
    """The executed notebook from :func:`_execute_on_worker`; raise its failure here."""
    import nbformat

    if "failed" in result:
        f = result["failed"]
        raise NotebookFailed(**{**f, "saved": Path(f["saved"]) if f["saved"] else None})
    return nbformat.from_dict(result["notebook"])


def _cache_file(cache_dir: Path, name: str) -> Path:
    return cache_dir / "notebooks" / f"{name}.json"


def _load_cached(cache_dir: Path, name: str, key: str) -> Any | None:
    import nbformat

    path = _cache_file(cache_dir, name)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("cache_key") != key:
        return None
    try:
        return nbformat.from_dict(data["notebook"])
    except (KeyError, TypeError, ValueError):
        return None


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _store_cached(cache_dir: Path, name: str, key: str, nb: Any) -> None:
    data = {"format": CACHE_FORMAT, "name": name, "cache_key": key, "notebook": nb}
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, indent=1)
    with contextlib.suppress(OSError):  # the cache is an optimisation only
        _write_atomic(_cache_file(cache_dir, name), text.encode())


# ------------------------------------------------------------------------- rendering


class _Renderer:
    """nbconvert exporters and WeasyPrint, created once per build (used from one thread)."""

    def __init__(self, prov: dict[str, Any], *, pdf: bool = True) -> None:
        from nbconvert import HTMLExporter
        from traitlets.config import Config

        self.prov = prov
        self.pdf = pdf
        #: Why PDFs could not be written in this build (``None`` when they were).
        self.pdf_error: str | None = None
        self.css = (_TEMPLATES / "report.css").read_text(encoding="utf-8")

        def exporter(template: str, remove: frozenset[str], **options: bool) -> Any:
            config = Config()
            config.TagRemovePreprocessor.enabled = True
            config.TagRemovePreprocessor.remove_cell_tags = set(remove)
            config.TagRemovePreprocessor.remove_input_tags = {"remove-input", "remove_input"}
            config.TagRemovePreprocessor.remove_all_outputs_tags = {
                "remove-output",
                "remove_output",
            }
            return HTMLExporter(
                config=config,
                template_name="lab",
                template_file=template,
                extra_template_paths=[str(_TEMPLATES)],
                embed_images=True,
                **options,
            )

        self.academic = exporter(_ACADEMIC_TEMPLATE, REMOVE_TAGS | COMMISSIONER_TAGS)
        self.commissioner = exporter(
            _COMMISSIONER_TEMPLATE,
            REMOVE_TAGS | ACADEMIC_TAGS,
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
            exclude_anchor_links=True,
        )

    def _resources(self, job: _Job, prov: dict[str, Any]) -> dict[str, Any]:
        stem = job.path.stem
        return {
            "metadata": {"name": job.title, "path": str(job.path.parent)},
            "synthesis": {
                "title": job.title,
                "provenance": prov,
                "css": self.css,
                "html_name": f"{stem}.html",
                "pdf_name": f"{stem}.pdf",
            },
        }

    def render(self, job: _Job, out: Path) -> dict[str, str]:
        """Write the three files of ``job`` under ``out``; return kind -> relative path."""
        import copy

        stem = job.path.stem
        prov = {**(job.shown or self.prov), "built_at": job.rendered_at}

        academic_nb = copy.deepcopy(job.notebook)
        academic_nb.metadata["title"] = job.title
        academic_html, _ = self.academic.from_notebook_node(
            academic_nb, resources=self._resources(job, prov)
        )

        commissioner_nb = copy.deepcopy(job.notebook)
        commissioner_nb.metadata["title"] = job.title
        cells = []
        for cell in commissioner_nb.cells:
            if cell.cell_type == "code":
                cell.outputs = [
                    o
                    for o in cell.outputs
                    if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
                ]
                if not cell.outputs:
                    continue
            cells.append(cell)
        commissioner_nb.cells = cells
        commissioner_html, _ = self.commissioner.from_notebook_node(
            commissioner_nb, resources=self._resources(job, prov)
        )

        rel = {
            "academic_html": f"academic/{stem}.html",
            "commissioner_html": f"commissioner/{stem}.html",
            "commissioner_pdf": f"commissioner/{stem}.pdf",
            "commissioner_docx": f"commissioner/{stem}.docx",
        }
        (out / rel["academic_html"]).write_text(academic_html, encoding="utf-8")
        commissioner_path = out / rel["commissioner_html"]
        commissioner_path.write_text(commissioner_html, encoding="utf-8")
        if self.pdf and self.pdf_error is None:
            try:
                write_pdf(commissioner_html, out / rel["commissioner_pdf"], base=commissioner_path)
            except (OSError, ImportError) as exc:  # WeasyPrint's system libraries
                self.pdf_error = _pdf_advice(exc)
        if not self.pdf or self.pdf_error is not None:
            del rel["commissioner_pdf"]
            with contextlib.suppress(OSError):
                (out / f"commissioner/{stem}.pdf").unlink(missing_ok=True)
        html_to_docx(commissioner_html, out / rel["commissioner_docx"], title=job.title)
        return rel


def _pdf_advice(exc: BaseException) -> str:
    """What to install when WeasyPrint cannot render (its Pango/HarfBuzz libraries)."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    return (
        f"PDFs not written: WeasyPrint cannot run ({first}). Install its system libraries "
        "(Debian/Ubuntu: apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b; "
        "macOS: brew install pango; conda: conda install -c conda-forge pango), "
        "or build with --no-pdf. The HTML pages were written."
    )


def _offline_fetcher(allowed_roots: tuple[Path, ...]) -> Any:
    """A WeasyPrint URL fetcher that serves ``data:`` URLs and local files only."""
    from weasyprint import urls

    def check(url: str) -> None:
        scheme = url.split(":", 1)[0].lower()
        if scheme == "data":
            return
        if scheme == "file":
            from urllib.request import url2pathname

            path = Path(url2pathname(url.split("?", 1)[0].removeprefix("file:"))).resolve()
            if any(path == r or r in path.parents for r in allowed_roots):
                return
            raise ValueError(f"refusing to read {path}: outside the project")
        raise ValueError(f"refusing to fetch {url[:80]!r}: reports are built offline")

    if hasattr(urls, "URLFetcher"):  # WeasyPrint >= 66

        class OfflineFetcher(urls.URLFetcher):  # type: ignore[misc, name-defined]
            def fetch(self, url: str, headers: Any = None) -> Any:
                check(url)
                return super().fetch(url, headers)

        return OfflineFetcher(allowed_protocols={"data", "file"})

    def fetcher(url: str, *args: Any, **kwargs: Any) -> Any:
        check(url)
        return urls.default_url_fetcher(url, *args, **kwargs)

    return fetcher


def write_pdf(html: str, target: Path, *, base: Path) -> None:
    """Render ``html`` to a PDF with WeasyPrint without touching the network.

    Parameters
    ----------
    html : str
        A self-contained page (images as data URIs).
    target : pathlib.Path
        PDF file to write.
    base : pathlib.Path
        Where the page lives; relative URLs resolve against it. Only ``data:`` URLs
        and files under ``base``'s folder's parent are read; anything else is refused.
    """
    import weasyprint

    base = base.resolve()
    fetcher = _offline_fetcher((base.parent.parent, _TEMPLATES))
    document = weasyprint.HTML(string=html, base_url=base.as_uri(), url_fetcher=fetcher)
    # PDF/UA-1: a tagged PDF (structure tree, language, title) for screen readers
    document.write_pdf(target, pdf_variant="pdf/ua-1")


def _render_index(prov: dict[str, Any], jobs: list[_Job]) -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
        autoescape=True,
        keep_trailing_newline=True,
    )
    rows = [
        {
            "name": job.name,
            "title": job.title,
            "academic_html": job.outputs["academic_html"],
            "commissioner_html": job.outputs["commissioner_html"],
            "commissioner_pdf": job.outputs.get("commissioner_pdf"),
            "commissioner_docx": job.outputs.get("commissioner_docx"),
        }
        for job in jobs
    ]
    css = (_TEMPLATES / "report.css").read_text(encoding="utf-8")
    return env.get_template("index.html.j2").render(provenance=prov, notebooks=rows, css=css)


# ------------------------------------------------------------------------ the build


@contextlib.contextmanager
def _build_lock(root: Path) -> Iterator[None]:
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


def _folder_mode() -> int:
    """The mode a new folder gets under the current umask (mkdtemp would give 0700)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o777 & ~mask


def _restore_killed_swap(reports: Path, say: Callable[[str], None]) -> None:
    """Put back the previous reports if a build was killed between its two renames."""
    if reports.exists() or reports.is_symlink():
        return
    olds = sorted(reports.parent.glob(f"{reports.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if olds:
        os.rename(olds[-1], reports)
        say(f"restored the previous {reports.name}/ left by a build that was interrupted")


def _check_loopback() -> None:
    """Fail fast when the loopback interface is down: kernels talk to the build over it."""
    import socket

    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
            server.bind(("127.0.0.1", 0))
            server.listen(1)
            with socket.create_connection(server.getsockname(), timeout=5):
                pass
    except OSError as exc:
        raise UserInputError(
            f"cannot reach 127.0.0.1 ({exc.strerror or exc}): Jupyter kernels talk to the "
            "build over the loopback interface; bring it up (e.g. `ip link set lo up`) "
            "and build again"
        ) from None


def _previous_manifest(reports: Path) -> dict[str, dict[str, Any]]:
    """Entries of the previous manifest by notebook name ({} when unusable)."""
    try:
        data = json.loads((reports / "manifest.json").read_text(encoding="utf-8"))
        if data.get("format") != MANIFEST_FORMAT:
            return {}
        return {e["name"]: e for e in data["notebooks"] if isinstance(e, dict) and "name" in e}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def _intact(entry: dict[str, Any], reports: Path) -> bool:
    """Whether the pages a manifest entry lists are in ``reports`` as written."""
    outputs = entry.get("outputs")
    if not isinstance(outputs, dict) or not outputs or not set(outputs) <= set(_OUTPUT_KINDS):
        return False
    for item in outputs.values():
        try:
            path = reports / item["path"]
            if not path.is_file() or _sha256_file(path) != item["sha256"]:
                return False
        except (KeyError, TypeError, OSError):
            return False
    return isinstance(entry.get("rendered_at"), str)


def _reusable(entry: dict[str, Any] | None, job: _Job, reports: Path) -> bool:
    """Whether the previous build's pages of ``job`` are current and intact."""
    if not entry or entry.get("render_key") != job.render_key:
        return False
    return set(entry.get("outputs") or ()) == set(job.kinds) and _intact(entry, reports)


def _default_jobs() -> int:
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    # One more kernel than CPUs: a starting kernel mostly waits on imports (disk), so a
    # third kernel on two CPUs measured 10-15 % faster than two; memory caps it at 4.
    return max(1, min(4, cpus + 1))


def _swap_into_place(tmp: Path, reports: Path, say: Callable[[str], None] = print) -> None:
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


def _run_coroutine(make: Callable[[], Any]) -> Any:
    """Run a coroutine to completion, also when called from a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # e.g. called from Jupyter
        return pool.submit(lambda: asyncio.run(make())).result()


async def _pipeline(
    jobs: list[_Job],
    *,
    root: Path,
    cache_dir: Path,
    tmp: Path,
    reports: Path,
    renderer: Callable[[], _Renderer],
    timeout: int,
    parallel: int,
    say: Progress,
    client: Any = None,
) -> str | None:
    """Execute and render every notebook into ``tmp``; return why PDFs failed, if so."""
    loop = asyncio.get_running_loop()
    total = len(jobs)
    # on a cluster the scheduler queues the notebooks: submit them all at once
    semaphore = asyncio.Semaphore(parallel if client is None else max(1, total))
    failures: list[NotebookFailed] = []
    render_pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="synthesis-render")
    holder: dict[str, _Renderer] = {}

    def render(job: _Job) -> None:
        if failures:  # the build is lost anyway
            return
        if job.reused is not None:
            for kind, item in job.reused["outputs"].items():
                shutil.copyfile(reports / item["path"], tmp / item["path"])
                job.outputs[kind] = item["path"]
            for key in ("results", "changes", "updated_at"):
                setattr(job, key, job.reused.get(key))
            say(f"[{job.number}/{total}] {job.name}: pages unchanged, kept")
            return
        _what_changed(job)
        started = time.monotonic()
        if "r" not in holder:
            holder["r"] = renderer()
        had_error = holder["r"].pdf_error is not None
        job.outputs = holder["r"].render(job, tmp)
        seconds = time.monotonic() - started
        pages = "and .pdf " if "commissioner_pdf" in job.outputs else ""
        say(f"[{job.number}/{total}] rendered {job.path.stem}.html {pages}in {seconds:.1f} s")
        if not had_error and holder["r"].pdf_error is not None:
            say(holder["r"].pdf_error)

    async def run(job: _Job) -> None:
        if job.notebook is None and job.reused is None:
            async with semaphore:
                if failures:
                    return
                say(f"[{job.number}/{total}] executing {job.name}")
                started = time.monotonic()
                try:
                    if client is not None:
                        from synthesis.cluster import execute_on_cluster

                        slim = dataclasses.replace(job, previous=None, reused=None)
                        job.notebook = _from_worker(
                            await execute_on_cluster(
                                client,
                                _execute_on_worker,
                                slim,
                                str(root),
                                timeout,
                                str(cache_dir / "failed"),
                            )
                        )
                    else:
                        job.notebook = await _execute(
                            job, root=root, timeout=timeout, failed_dir=cache_dir / "failed"
                        )
                except NotebookFailed as exc:
                    failures.append(exc)
                    where = "start" if exc.cell_index is None else f"cell {exc.cell_index}"
                    say(f"[{job.number}/{total}] {job.name} FAILED at {where}")
                    return
                job.executed = True
                _store_cached(cache_dir, job.cache_name, job.cache_key, job.notebook)
                with contextlib.suppress(OSError):  # a saved failure is now outdated
                    (cache_dir / "failed" / job.name).unlink(missing_ok=True)
                seconds = time.monotonic() - started
                say(f"[{job.number}/{total}] executed {job.name} in {seconds:.1f} s")
        await loop.run_in_executor(render_pool, render, job)

    try:
        results = await asyncio.gather(*(run(job) for job in jobs), return_exceptions=True)
    finally:
        render_pool.shutdown(wait=True)
    if failures:
        failures.sort(key=lambda f: f.notebook)
        first = failures[0]
        if len(failures) == 1:
            raise first
        others = ", ".join(f"{f.notebook} ({f.ename})" for f in failures[1:])
        raise NotebookFailed(
            first.notebook,
            first.cell_index,
            first.ename,
            first.evalue,
            detail=f"{first.detail}\nalso failed: {others}".strip(),
            saved=first.saved,
            origin=first.origin,
        )
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return holder["r"].pdf_error if "r" in holder else None


def build_reports(
    root: Path,
    *,
    force: bool = False,
    progress: Progress | None = None,
    timeout: int = 120,
    jobs: int | None = None,
    base: EvidenceBase | None = None,
    pdf: bool = True,
    question: str | None = None,
    params: dict[str, Any] | None = None,
    scheduler: str | None = None,
) -> BuildResult:
    """Execute the project's notebooks and write ``reports/``.

    Parameters
    ----------
    root : pathlib.Path
        Project root (holding ``notebooks/``, ``evidence/`` and ``references.bib``);
        the caller has validated the evidence.
    force : bool, default False
        Execute and render every notebook even when the cache is current.
    progress : callable, optional
        Called with one human-readable line per step, e.g.
        ``"[2/5] executing q2_mindfulness_training.ipynb"``. May be called from
        a worker thread (never from two at once).
    timeout : int, default 120
        Seconds one cell may run before the build fails.
    jobs : int, optional
        Notebooks executed at the same time (each in its own kernel); default: the
        number of CPUs plus one, at most 4.
    base : EvidenceBase, optional
        The evidence as validated by the caller; loaded (without raising) when omitted.
    pdf : bool, default True
        Write the commissioner PDFs.
    question : str, optional
        Build only this question's notebook (and the index); the other pages of the
        previous build are kept as they are.
    params : dict, optional
        Notebook parameters (:func:`synthesis.jobs.parse_params`); the build then
        writes ``reports-variants/<variant>/`` (e.g. ``reports-variants/DL/``) and
        leaves ``reports/`` alone.
    scheduler : str, optional
        Address of a Dask distributed scheduler (``tcp://host:8786``): the notebooks
        are executed on its workers (:mod:`synthesis.cluster`), which must see the
        project at the same path. Pages are the same as from a local build.

    Returns
    -------
    BuildResult
        The reports folder, what was executed and cached, the files written and the
        duration.

    Raises
    ------
    NotebookFailed
        A notebook raised an error, timed out or killed its kernel; ``reports/`` is
        left as it was.
    UserInputError
        No notebook to build, an unreadable notebook, an unknown question, or another
        build running.
    """
    from synthesis import jobs as planning

    started = time.monotonic()
    root = Path(root).resolve()
    lock = threading.Lock()

    def say(line: str) -> None:
        if progress is not None:
            with lock:
                progress(line)

    if timeout <= 0:
        raise UserInputError(f"timeout must be a positive number of seconds, got {timeout}")
    parallel = jobs if jobs is not None else _default_jobs()
    if parallel < 1:
        raise UserInputError(f"jobs must be at least 1, got {parallel}")
    valid = base is not None  # the caller validated it
    if base is None:
        from synthesis.validate import validate

        base, checked = validate(root)
        valid = checked.ok
    params = dict(params or {})
    specs = planning.plan_notebooks(root, base, params)
    if not specs:
        raise UserInputError(
            f"{root / 'notebooks'}: no notebooks to build (*.ipynb not starting with _, "
            f"or questions in evidence/questions/ with {planning.TEMPLATE})"
        )
    if question is not None and question not in {s.question for s in specs}:
        known = sorted(s.question for s in specs if s.question)
        raise UserInputError(
            f"--question {question!r}: no such question (allowed: {', '.join(known) or 'none'})"
        )

    variant = planning.variant_name(params) if params else ""
    cache_dir = root / CACHE_DIRNAME
    reports = root / VARIANTS_DIRNAME / variant if variant else root / REPORTS_DIRNAME
    if cache_dir.exists() and not cache_dir.is_dir():
        raise UserInputError(
            f"{cache_dir} is a file, not the build cache folder: delete or rename it "
            "and build again"
        )
    with _build_lock(root):
        _restore_killed_swap(reports, say)
        for stale in [
            *reports.parent.glob(f"{reports.name}.tmp-*"),
            *reports.parent.glob(f"{reports.name}.old-*"),
        ]:
            shutil.rmtree(stale, ignore_errors=True)  # left by a build that was killed

        prov = provenance(root)
        if params:
            prov["parameters"] = params
        built_at = prov["built_at"]
        package = package_digest()
        environment = {name: _version(name) for name in _KEY_DISTRIBUTIONS}
        environment["python"] = sys.version
        shown = {k: v for k, v in prov.items() if k != "built_at"}
        previous = _previous_manifest(reports)
        pdf_kinds = _OUTPUT_KINDS if pdf else _OUTPUT_KINDS[:3]

        job_list: list[_Job] = []
        for number, spec in enumerate(specs, start=1):
            path = root / "notebooks" / f"{spec.name}.ipynb"
            inputs = planning.notebook_inputs(root, base, spec)
            inputs["notebook " + spec.origin] = _digest_json(_strip_for_key(spec.notebook))
            if spec.params:
                inputs["parameters"] = _digest_json(spec.params)
            inputs["package code"] = package
            inputs["libraries"] = _digest_json(environment)
            cache_key = _digest_json(
                {
                    "format": CACHE_FORMAT,
                    "name": path.name,
                    "inputs": inputs,
                    "kernel": [KERNEL_NAME, _KERNEL_STARTUP, _KERNEL_ENV],
                }
            )
            page_prov = {**shown, **planning.data_provenance(spec.question, inputs)}
            job = _Job(
                number=number,
                path=path,
                source=spec.source,
                title=notebook_title(spec.notebook, spec.name),
                cache_key=cache_key,
                # git_dirty is left out: a kept page's footer states the tree as it was
                # at the time the footer shows, and edits elsewhere do not touch it.
                render_key=_digest_json(
                    {
                        "cache_key": cache_key,
                        "provenance": {k: v for k, v in page_prov.items() if k != "git_dirty"},
                        "outputs": pdf_kinds,
                    }
                ),
                shown=page_prov,
                rendered_at=built_at,
                origin=spec.origin,
                question=spec.question,
                params=spec.params,
                inputs=inputs,
                cache_name=f"{spec.name}@{variant}" if variant else spec.name,
                kinds=pdf_kinds,
            )
            entry = previous.get(path.name)
            job.previous = entry
            job.labels = {
                sid: base.studies[sid].label or sid
                for sid in (k.removeprefix("record ") for k in inputs if k.startswith("record "))
                if sid in base.studies
            }
            selected = question is None or spec.question == question
            if not selected:
                if entry is not None and _intact(entry, reports):
                    job.reused = entry
                    job.rendered_at = entry["rendered_at"]
                    job.reasons = [f"not rebuilt: --question {question}"]
                    job_list.append(job)
                continue
            old_inputs = entry.get("inputs") if entry else None
            changed = planning.why(old_inputs if isinstance(old_inputs, dict) else None, inputs)
            if not force:
                if _reusable(entry, job, reports):
                    job.reused = entry
                    job.rendered_at = entry["rendered_at"]  # type: ignore[index]
                    job.reasons = ["reused: none of its inputs changed"]
                else:
                    job.notebook = _load_cached(cache_dir, job.cache_name, cache_key)
                    if job.notebook is not None:
                        job.reasons = [
                            "from the cache: "
                            + (
                                "its inputs are unchanged; pages re-rendered"
                                if not changed
                                else "built before with these inputs"
                            )
                        ]
            if job.reused is None and job.notebook is None:
                job.reasons = ["forced (--force)"] if force else changed or ["not in the cache"]
            if job.reused is not None or job.notebook is not None:
                say(f"[{number}/{len(specs)}] {path.name}: cached")
            job_list.append(job)

        key = _digest_json([prov["evidence_sha256"], package_digest(), sys.version])[:24]
        evidence_file = planning.share_evidence(cache_dir / "evidence", base, root, key)
        evidence_file = evidence_file if valid else ""
        for job in job_list:
            job.evidence_file = evidence_file
        client = None
        if scheduler is not None and any(j.reused is None and j.notebook is None for j in job_list):
            client = connect(scheduler)
            say(f"executing notebooks on the Dask cluster at {scheduler}")
        reports.parent.mkdir(parents=True, exist_ok=True)  # reports-variants/
        tmp = Path(tempfile.mkdtemp(prefix=f"{reports.name}.tmp-", dir=reports.parent))
        os.chmod(tmp, _folder_mode())  # reports/ as any folder the user makes, not 0700
        try:
            (tmp / "academic").mkdir()
            (tmp / "commissioner").mkdir()
            if any(j.reused is None and j.notebook is None for j in job_list):
                _check_loopback()  # a kernel will start: fail now, not after 120 s
            pdf_error = _run_coroutine(
                lambda: _pipeline(
                    job_list,
                    root=root,
                    cache_dir=cache_dir,
                    tmp=tmp,
                    reports=reports,
                    renderer=lambda: _Renderer(shown, pdf=pdf),
                    timeout=timeout,
                    parallel=parallel,
                    say=say,
                    client=client,
                )
            )
            data = base if not params else None  # a variant's numbers are not the plan's
            data_key = _write_data(data, tmp, reports, shown, package, force=force)
            (tmp / "index.html").write_text(_render_index(prov, job_list), encoding="utf-8")
            manifest = _manifest(prov, job_list, tmp, data_key)
            if pdf_error:
                manifest["pdf_error"] = pdf_error
            (tmp / "manifest.json").write_text(
                json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False) + "\n",
                encoding="utf-8",
            )
            _swap_into_place(tmp, reports, say)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        finally:
            if client is not None:
                client.close()

    outputs: list[Path] = []
    for job in job_list:
        outputs += [reports / job.outputs[k] for k in sorted(job.outputs)]
    outputs += sorted((reports / "data").glob("*"))
    outputs += [reports / "index.html", reports / "manifest.json"]
    seconds = time.monotonic() - started
    executed = tuple(j.name for j in job_list if j.executed)
    say(
        f"wrote {reports} in {seconds:.1f} s "
        f"({len(executed)} executed, {len(job_list) - len(executed)} cached)"
    )
    return BuildResult(
        reports_dir=reports,
        executed=executed,
        cached=tuple(j.name for j in job_list if not j.executed),
        outputs=tuple(outputs),
        seconds=seconds,
        notes=(pdf_error,) if pdf_error else (),
    )


def _write_data(
    evidence: EvidenceBase | None,
    tmp: Path,
    reports: Path,
    shown: dict[str, Any],
    package: str,
    *,
    force: bool,
) -> str | None:
    """Write ``data/`` (the open data package) into ``tmp``; return its cache key.

    The package depends only on the evidence and the toolkit, so it is copied from the
    previous ``reports/data/`` when both are unchanged and the files are intact.
    """
    if evidence is None or not evidence.questions:
        return None
    key = _digest_json({"evidence": shown["evidence_sha256"], "package": package})
    try:
        old = json.loads((reports / "manifest.json").read_text(encoding="utf-8"))["data"]
        files = old["files"]
        if force or old["key"] != key or not files:
            raise KeyError("stale")
        for rel, digest in files.items():
            if _sha256_file(reports / rel) != digest:
                raise KeyError("changed")
    except (OSError, ValueError, KeyError, TypeError):
        export_package(evidence, tmp / "data", provenance=shown)
        return key
    (tmp / "data").mkdir()
    for rel in files:
        shutil.copyfile(reports / rel, tmp / rel)
    return key


def _what_changed(job: _Job) -> None:
    """Find the notebook's results and what changed; put the box at the top of its pages."""
    from synthesis import changes

    job.results = changes.results_from_notebook(job.notebook)
    found, job.updated_at = changes.next_version(
        job.previous, job.inputs, job.results, job.labels, job.rendered_at
    )
    job.changes = found.to_json() if found is not None else None
    job.notebook = changes.with_box(job.notebook, found, job.updated_at)


def _manifest(
    prov: dict[str, Any], jobs: list[_Job], out: Path, data_key: str | None
) -> dict[str, Any]:
    notebooks = []
    for job in jobs:
        notebooks.append(
            {
                "name": job.name,
                "title": job.title,
                "origin": job.origin,
                "question": job.question,
                "parameters": job.params,
                "inputs": job.inputs,
                "reasons": job.reasons,
                "cache_key": job.cache_key,
                "render_key": job.reused["render_key"] if job.reused else job.render_key,
                "status": "executed" if job.executed else "cached",
                "rendered_at": job.rendered_at,
                "updated_at": job.updated_at,
                "labels": job.labels,
                "results": job.results,
                "changes": job.changes,
                "outputs": {
                    kind: {"path": rel, "sha256": _sha256_file(out / rel)}
                    for kind, rel in job.outputs.items()
                },
            }
        )
    return {
        "format": MANIFEST_FORMAT,
        "provenance": prov,
        # what changed in this build, by page (pages whose content did not change: absent)
        "changes": {
            job.name: job.changes
            for job in jobs
            if job.changes is not None and job.updated_at == prov["built_at"]
        },
        "index": {"path": "index.html", "sha256": _sha256_file(out / "index.html")},
        "data": {
            "key": data_key,
            "files": {f"data/{p.name}": _sha256_file(p) for p in sorted((out / "data").glob("*"))},
        },
        "notebooks": notebooks,
    }
