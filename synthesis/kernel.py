"""Execute a notebook in a fresh Jupyter kernel, locally or on a Dask worker.

:func:`execute_notebook` runs one notebook with nbclient (kernel ``python3``, working
directory the notebook's folder, ``SYNTHESIS_ROOT`` set to the project root) and
returns the executed notebook without timing metadata; a cell that raises, times out
or kills the kernel becomes :class:`NotebookFailed`, with the end of its traceback and
the partly executed notebook saved for inspection.

nbclient is imported inside the functions that use it, so importing this module is cheap.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthesis.cluster import notebook_task
from synthesis.errors import UserInputError

if TYPE_CHECKING:
    from synthesis.report import _Job

__all__ = [
    "EVIDENCE_ENV",
    "KERNEL_ENV",
    "KERNEL_NAME",
    "KERNEL_STARTUP",
    "NotebookFailed",
    "check_loopback",
    "execute_notebook",
    "execute_on_worker",
    "from_worker",
    "run_coroutine",
]

#: Environment variable naming the pickled, validated evidence a kernel may load
#: instead of validating ``evidence/`` again (:func:`synthesis.notebook.load`).
EVIDENCE_ENV = "SYNTHESIS_EVIDENCE_PICKLE"
#: Jupyter kernel every notebook runs in.
KERNEL_NAME = "python3"
#: Run in every kernel before the notebook: SVG ids from matplotlib derive from a fixed
#: salt instead of a random UUID, so figures are byte-identical from build to build.
KERNEL_STARTUP = "import matplotlib as _m; _m.rcParams['svg.hashsalt'] = 'synthesis'; del _m"
#: Environment of every kernel on top of the caller's: fixed hash seed (set/dict order of
#: strings), and a fixed date for libraries that stamp one into files (matplotlib SVG/PDF).
KERNEL_ENV = {"PYTHONHASHSEED": "0", "SOURCE_DATE_EPOCH": "0"}

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


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


async def execute_notebook(job: _Job, *, root: Path, timeout: int, failed_dir: Path) -> Any:
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
        extra_arguments=[f"--IPKernelApp.exec_lines={KERNEL_STARTUP}"],
        on_cell_start=on_cell_start,
    )
    env = {**os.environ, **KERNEL_ENV, "SYNTHESIS_ROOT": str(root)}
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


def execute_on_worker(job: _Job, root: str, timeout: int, failed_dir: str) -> dict[str, Any]:
    """:func:`execute_notebook` on a Dask worker: the notebook, or its failure's fields.

    The kernel may send its many-analyses fits to the same cluster
    (:func:`synthesis.cluster.notebook_task`).
    """
    try:
        with notebook_task():
            nb = run_coroutine(
                lambda: execute_notebook(
                    job, root=Path(root), timeout=timeout, failed_dir=Path(failed_dir)
                )
            )
    except NotebookFailed as exc:
        fields = ("notebook", "cell_index", "ename", "evalue", "detail", "origin")
        failed = {k: getattr(exc, k) for k in fields}
        failed["saved"] = str(exc.saved) if exc.saved else None
        return {"failed": failed}
    return {"notebook": nb}


def from_worker(result: dict[str, Any]) -> Any:
    """The executed notebook from :func:`execute_on_worker`; raise its failure here."""
    import nbformat

    if "failed" in result:
        f = result["failed"]
        raise NotebookFailed(**{**f, "saved": Path(f["saved"]) if f["saved"] else None})
    return nbformat.from_dict(result["notebook"])


def run_coroutine(make: Callable[[], Any]) -> Any:
    """Run a coroutine to completion, also when called from a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # e.g. called from Jupyter
        return pool.submit(lambda: asyncio.run(make())).result()


def check_loopback() -> None:
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
