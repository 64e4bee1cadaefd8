"""Run the build's notebooks on a Dask distributed cluster (``synthesis build --scheduler``).

Each notebook that must be executed becomes one task on the cluster: the worker starts
the kernel and executes the notebook exactly as a local build does (same kernel
options and environment, working directory ``notebooks/`` of the project), and sends
the executed notebook back; caching, the "what changed" box and rendering stay on the
machine running ``synthesis build``. Workers must see the project at the same path
(a shared file system, or a cluster on this machine) and have this package installed.

Dask and distributed are optional: ``pip install "synthesis[dask]"``.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

from synthesis.errors import UserInputError

__all__ = ["connect", "execute_on_cluster"]


def connect(address: str) -> Any:
    """A ``distributed.Client`` for the scheduler at ``address`` (e.g. ``tcp://host:8786``).

    Raises
    ------
    UserInputError
        Dask is not installed, or the scheduler cannot be reached.
    """
    try:
        import distributed
    except ImportError:
        raise UserInputError(
            "--scheduler needs dask and distributed: pip install 'synthesis[dask]'"
        ) from None
    try:
        return distributed.Client(address, timeout=10, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise UserInputError(
            f"--scheduler {address}: cannot reach a Dask scheduler there ({exc}); start one "
            "with `dask scheduler` and workers with `dask worker ADDRESS`, or drop --scheduler"
        ) from None


def _run_on_worker(job: Any, root: str, timeout: int, failed_dir: str) -> dict[str, Any]:
    """Executed on a worker: the notebook, or the fields of its failure (picklable)."""
    from synthesis.report import NotebookFailed, _execute, _run_coroutine

    try:
        nb = _run_coroutine(
            lambda: _execute(job, root=Path(root), timeout=timeout, failed_dir=Path(failed_dir))
        )
    except NotebookFailed as exc:
        return {
            "failed": {
                "notebook": exc.notebook,
                "cell_index": exc.cell_index,
                "ename": exc.ename,
                "evalue": exc.evalue,
                "detail": exc.detail,
                "saved": str(exc.saved) if exc.saved else None,
                "origin": exc.origin,
            }
        }
    return {"notebook": nb}


async def execute_on_cluster(
    client: Any, job: Any, *, root: Path, timeout: int, failed_dir: Path
) -> Any:
    """Execute ``job`` (a build job) on the cluster; return the executed NotebookNode.

    Raises
    ------
    NotebookFailed
        As a local execution would.
    """
    import nbformat

    from synthesis.report import NotebookFailed

    slim = dataclasses.replace(job, previous=None, reused=None, notebook=None)
    future = client.submit(_run_on_worker, slim, str(root), timeout, str(failed_dir), pure=False)
    loop = asyncio.get_running_loop()
    result = await loop.run_in_executor(None, future.result)
    if "failed" in result:
        f = result["failed"]
        raise NotebookFailed(
            f["notebook"],
            f["cell_index"],
            f["ename"],
            f["evalue"],
            detail=f["detail"],
            saved=Path(f["saved"]) if f["saved"] else None,
            origin=f["origin"],
        )
    return nbformat.from_dict(result["notebook"])
