"""Run the build's notebooks, and their many-analyses fits, on a Dask distributed cluster.

``synthesis build --scheduler ADDRESS`` uses the cluster twice.

Each notebook that must be executed becomes one task on the cluster: the worker starts
the kernel and executes the notebook exactly as a local build does (same kernel
options and environment, working directory ``notebooks/`` of the project), and sends
the executed notebook back; caching, the "what changed" box and rendering stay on the
machine running ``synthesis build``. The kernel of such a notebook finds the
cluster's address in :data:`SCHEDULER_ENV`, and the robustness grids it computes
(:func:`synthesis.robustness.grid`) send their batched fits to the same cluster
(:func:`kernel_client`); while a notebook task waits for its kernel it leaves the
worker's thread pool (:func:`notebook_task`), so those fits always find a thread.
Workers must see the project at the same path
(a shared file system, or a cluster on this machine) and have this package installed.

Dask and distributed are optional: ``pip install "synthesis[dask]"``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

from synthesis.errors import UserInputError

__all__ = ["SCHEDULER_ENV", "connect", "execute_on_cluster", "kernel_client", "notebook_task"]

#: Environment variable giving a notebook's kernel the address of the build's Dask
#: scheduler (set only for notebooks executed on the cluster).
SCHEDULER_ENV = "SYNTHESIS_SCHEDULER"

_CLIENTS: dict[str, Any] = {}


def connect(address: str) -> Any:
    """A ``distributed.Client`` for the scheduler at ``address`` (e.g. ``tcp://host:8786``).

    Raises
    ------
    UserInputError
        Dask is not installed, or the scheduler cannot be reached.
    """
    try:
        import distributed  # optional (the dask extra); loaded only when a cluster is used
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


async def execute_on_cluster(client: Any, run: Callable[..., dict[str, Any]], *args: Any) -> Any:
    """Run ``run(*args)`` on the cluster (one task) and return its result.

    ``run`` is the build's executor of one notebook
    (:func:`synthesis.kernel.execute_on_worker`): it returns the executed notebook or
    the fields of its failure, both picklable, so nothing raised on a worker needs
    unpickling here.
    """
    future = client.submit(run, *args, pure=False)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, future.result)


def kernel_client() -> Any:
    """The client of the build's cluster in a kernel run by ``build --scheduler``, else None.

    One client per process and address, made on first use.
    """
    address = os.environ.get(SCHEDULER_ENV)
    if not address:
        return None
    if address not in _CLIENTS:
        _CLIENTS[address] = connect(address)
    return _CLIENTS[address]


@contextlib.contextmanager
def notebook_task() -> Iterator[None]:
    """Context of a notebook executed as a task on a Dask worker.

    The kernels started inside get the scheduler's address (:data:`SCHEDULER_ENV`),
    and the task secedes from the worker's thread pool until the kernel is done, so
    that the tasks the kernel submits to the same cluster are not left waiting for
    the thread this task holds (with one worker thread they would never run).
    """
    import distributed

    os.environ[SCHEDULER_ENV] = distributed.get_worker().scheduler.address
    distributed.secede()
    try:
        yield
    finally:
        distributed.rejoin()
