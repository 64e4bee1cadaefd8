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

The pieces live beside it: :mod:`synthesis.buildinfo` (digests and provenance),
:mod:`synthesis.kernel` (executing a notebook), :mod:`synthesis.pages` (HTML, PDF and
Word pages, the index) and :mod:`synthesis.swap` (the build lock and replacing
``reports/``). Heavy libraries (nbclient, nbconvert, WeasyPrint) are imported inside
the functions that use them, so importing this module is cheap.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import functools
import json
import multiprocessing
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthesis import changes
from synthesis import jobs as planning
from synthesis.buildinfo import (
    digest_json,
    distribution_version,
    evidence_digest,
    package_digest,
    provenance,
    sha256_file,
    strip_for_key,
)
from synthesis.cluster import connect, execute_on_cluster
from synthesis.errors import UserInputError
from synthesis.export import export_package
from synthesis.files import write_atomic
from synthesis.kernel import (
    KERNEL_ENV,
    KERNEL_NAME,
    KERNEL_STARTUP,
    NotebookFailed,
    check_loopback,
    execute_notebook,
    execute_on_worker,
    from_worker,
    run_coroutine,
)
from synthesis.pages import Renderer, render_index, write_pdf
from synthesis.swap import build_lock, folder_mode, restore_killed_swap, swap_into_place
from synthesis.validate import validate

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
#: Folder (in the project root) the build writes.
REPORTS_DIRNAME = "reports"
#: Folder (in the project root) of builds with notebook parameters (``--param``).
VARIANTS_DIRNAME = "reports-variants"
# What each notebook becomes (the PDF is left out with ``pdf=False``).
_OUTPUT_KINDS = ("academic_html", "commissioner_html", "commissioner_docx", "commissioner_pdf")
#: Bump when the cache layout or the way notebooks are executed changes.
CACHE_FORMAT = 2
#: Version of ``manifest.json``'s layout.
MANIFEST_FORMAT = 2

# Libraries whose version can change a number in a report: part of the cache key.
_KEY_DISTRIBUTIONS = ("numpy", "scipy", "pandas", "PyMARE", "matplotlib", "ipykernel")

_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")

Progress = Callable[[str], None]


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


def _store_cached(cache_dir: Path, name: str, key: str, nb: Any) -> None:
    data = {"format": CACHE_FORMAT, "name": name, "cache_key": key, "notebook": nb}
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, indent=1)
    with contextlib.suppress(OSError):  # the cache is an optimisation only
        write_atomic(_cache_file(cache_dir, name), text.encode())


# ------------------------------------------------------------------------ the build


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
            if not path.is_file() or sha256_file(path) != item["sha256"]:
                return False
        except (KeyError, TypeError, OSError):
            return False
    return isinstance(entry.get("rendered_at"), str)


def _reusable(entry: dict[str, Any] | None, job: _Job, reports: Path) -> bool:
    """Whether the previous build's pages of ``job`` are current and intact."""
    if not entry or entry.get("render_key") != job.render_key:
        return False
    return set(entry.get("outputs") or ()) == set(job.kinds) and _intact(entry, reports)


def _cpus() -> int:
    """CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _default_jobs() -> int:
    # One kernel per CPU, at most 4 (memory): a page renders in a worker process beside
    # them, so the CPUs are busy while a kernel starts. A third kernel on two CPUs took
    # 10-15 % less time when pages rendered in a thread of the build, but with the render
    # worker it adds about 350 MB at the peak of a 2,000-record programme.
    return max(1, min(4, _cpus()))


async def _pipeline(
    jobs: list[_Job],
    *,
    root: Path,
    cache_dir: Path,
    tmp: Path,
    reports: Path,
    renderer: Callable[[], Renderer],
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
    # Pages are rendered in worker processes (nbconvert, python-docx and WeasyPrint are
    # pure Python for the most part: threads would share one CPU), one per CPU at most;
    # a thread per worker hands each its page and copies the pages that are kept.
    to_render = sum(1 for job in jobs if job.reused is None)
    workers = max(1, min(_cpus(), to_render))
    render_pool = concurrent.futures.ThreadPoolExecutor(
        workers, thread_name_prefix="synthesis-render"
    )
    # worker processes start at the first page submitted (none when every page is kept)
    page_pool = concurrent.futures.ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_renderer,
        initargs=(renderer,),
    )
    pdf_errors: list[str] = []
    # While notebooks still wait or execute, one page renders at a time (the kernels have
    # the CPUs, and each worker holds a page in memory); then every worker renders.
    executing = sum(1 for job in jobs if job.notebook is None and job.reused is None)
    rendering = 0
    turn = threading.Condition()

    def kernel_done() -> None:
        nonlocal executing
        with turn:
            executing -= 1
            turn.notify_all()

    def render(job: _Job) -> None:
        nonlocal rendering
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
        slim = dataclasses.replace(job, previous=None, reused=None)
        with turn:
            turn.wait_for(lambda: rendering < (1 if executing else workers))
            rendering += 1
        try:
            job.outputs, pdf_error = page_pool.submit(_render_page, slim, tmp).result()
        finally:
            with turn:
                rendering -= 1
                turn.notify_all()
        job.notebook = None  # written to the cache and rendered: free it
        seconds = time.monotonic() - started
        also = "and .pdf " if "commissioner_pdf" in job.outputs else ""
        say(f"[{job.number}/{total}] rendered {job.path.stem}.html {also}in {seconds:.1f} s")
        if pdf_error is not None:
            with turn:
                first = not pdf_errors
                pdf_errors.append(pdf_error)
            if first:  # said once, whichever worker found it first
                say(pdf_error)

    async def run(job: _Job) -> None:
        if job.notebook is None and job.reused is None:
            try:
                await execute(job)
            finally:
                kernel_done()
        await loop.run_in_executor(render_pool, render, job)

    async def execute(job: _Job) -> None:
        """Execute one notebook (a kernel here, or on the cluster)."""
        async with semaphore:
            if failures:
                return
            say(f"[{job.number}/{total}] executing {job.name}")
            started = time.monotonic()
            try:
                if client is not None:
                    slim = dataclasses.replace(job, previous=None, reused=None)
                    job.notebook = from_worker(
                        await execute_on_cluster(
                            client,
                            execute_on_worker,
                            slim,
                            str(root),
                            timeout,
                            str(cache_dir / "failed"),
                        )
                    )
                else:
                    job.notebook = await execute_notebook(
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

    try:
        results = await asyncio.gather(*(run(job) for job in jobs), return_exceptions=True)
    finally:
        render_pool.shutdown(wait=True)
        page_pool.shutdown(wait=True)
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
    return pdf_errors[0] if pdf_errors else None


#: The renderer of a page-rendering worker process (:func:`_start_renderer`).
_RENDERER: list[Renderer] = []


def _start_renderer(factory: Callable[[], Renderer]) -> None:
    """Create the worker process's renderer (nbconvert exporters, WeasyPrint) once."""
    _RENDERER.append(factory())


def _render_page(job: _Job, tmp: Path) -> tuple[dict[str, str], str | None]:
    """Render one page in a worker; its outputs and why PDFs failed in this worker, if so.

    A worker whose PDF step failed renders its later pages without PDFs and reports the
    error with each of them; the build says it once.
    """
    (renderer,) = _RENDERER
    return renderer.render(job, tmp), renderer.pdf_error


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
    stamp: dict[str, Any] | None = None,
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
        number of CPUs, at most 4.
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
    stamp : dict, optional
        ``{"digest": synthesis.uptodate.stamp(...), "warnings": [...]}``, taken before
        validating: stored in the manifest, so that the next ``synthesis build`` with
        nothing changed can stop at once (:func:`synthesis.uptodate.unchanged`).
        Left out of a ``question`` build, which does not rebuild every page.

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
    with build_lock(root):
        restore_killed_swap(reports, say)
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
        environment = {name: distribution_version(name) for name in _KEY_DISTRIBUTIONS}
        environment["python"] = sys.version
        shown = {k: v for k, v in prov.items() if k != "built_at"}
        previous = _previous_manifest(reports)
        pdf_kinds = _OUTPUT_KINDS if pdf else _OUTPUT_KINDS[:3]

        job_list: list[_Job] = []
        for number, spec in enumerate(specs, start=1):
            path = root / "notebooks" / f"{spec.name}.ipynb"
            inputs = planning.notebook_inputs(root, base, spec)
            inputs["notebook " + spec.origin] = digest_json(strip_for_key(spec.notebook))
            if spec.params:
                inputs["parameters"] = digest_json(spec.params)
            inputs["package code"] = package
            inputs["libraries"] = digest_json(environment)
            cache_key = digest_json(
                {
                    "format": CACHE_FORMAT,
                    "name": path.name,
                    "inputs": inputs,
                    "kernel": [KERNEL_NAME, KERNEL_STARTUP, KERNEL_ENV],
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
                render_key=digest_json(
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

        key = digest_json([prov["evidence_sha256"], package_digest(), sys.version])[:24]
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
        os.chmod(tmp, folder_mode())  # reports/ as any folder the user makes, not 0700
        try:
            (tmp / "academic").mkdir()
            (tmp / "commissioner").mkdir()
            if any(j.reused is None and j.notebook is None for j in job_list):
                check_loopback()  # a kernel will start: fail now, not after 120 s
            pdf_error = run_coroutine(
                lambda: _pipeline(
                    job_list,
                    root=root,
                    cache_dir=cache_dir,
                    tmp=tmp,
                    reports=reports,
                    renderer=functools.partial(
                        Renderer, shown, pdf=pdf, raster_cache=cache_dir / "png"
                    ),
                    timeout=timeout,
                    parallel=parallel,
                    say=say,
                    client=client,
                )
            )
            data = base if not params else None  # a variant's numbers are not the plan's
            data_key = _write_data(data, tmp, reports, shown, package, force=force)
            (tmp / "index.html").write_text(render_index(prov, job_list), encoding="utf-8")
            manifest = _manifest(prov, job_list, tmp, data_key)
            if pdf_error:
                manifest["pdf_error"] = pdf_error
            elif stamp is not None and question is None:  # a complete build: reusable
                manifest["stamp"] = stamp
            (tmp / "manifest.json").write_text(
                json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False) + "\n",
                encoding="utf-8",
            )
            swap_into_place(tmp, reports, say)
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
    key = digest_json({"evidence": shown["evidence_sha256"], "package": package})
    try:
        old = json.loads((reports / "manifest.json").read_text(encoding="utf-8"))["data"]
        files = old["files"]
        if force or old["key"] != key or not files:
            raise KeyError("stale")
        for rel, digest in files.items():
            if sha256_file(reports / rel) != digest:
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
                    kind: {"path": rel, "sha256": sha256_file(out / rel)}
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
        "index": {"path": "index.html", "sha256": sha256_file(out / "index.html")},
        "data": {
            "key": data_key,
            "files": {f"data/{p.name}": sha256_file(p) for p in sorted((out / "data").glob("*"))},
        },
        "notebooks": notebooks,
    }
