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
from collections.abc import Callable
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
