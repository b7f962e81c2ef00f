"""A Dask cluster (``--scheduler ADDRESS``): the connected client, and one ``client.submit`` per task.

The scheduler reruns the task of a worker that died on another worker (the nanny restarts the dead one); the
task errs only when it has killed ``distributed.scheduler.allowed-failures`` workers.
"""

from __future__ import annotations

import time
from typing import Any, Callable

__all__ = ["DASK_MISSING", "ParallelError", "dask_client", "DaskCluster"]

DASK_MISSING = "the Dask scheduler needs dask.distributed: pip install -e '.[distributed]'"


class ParallelError(Exception):
    """A backend that cannot be used (dask missing, scheduler unreachable); the message is one line."""


def dask_client(address: str, timeout: float = 10.0):
    """A ``dask.distributed.Client`` connected to ``address``; :class:`ParallelError` when dask is
    missing or the scheduler cannot be reached within ``timeout`` seconds."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise ParallelError(DASK_MISSING) from None
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except Exception as exc:
        text = f"{type(exc).__name__}: {exc}".splitlines()[0] if str(exc) else type(exc).__name__
        raise ParallelError(f"--scheduler: cannot reach the Dask scheduler at {address!r}: {text}") from None


class DaskCluster:
    """A Dask cluster through a connected client, one ``client.submit`` per task (``pure=False``)."""

    def __init__(self, client):
        self.client = client
        nthreads = client.nthreads()  # {worker address: threads}
        self.slots = max(1, sum(nthreads.values()))
        share: dict[str, int] = {}
        for address, n in nthreads.items():
            host = address.rsplit(":", 1)[0]
            share[host] = share.get(host, 0) + n
        self.threads = {"share_by_host": share}

    def submit(self, function: Callable[..., dict[str, Any]], args: tuple, name: str):
        return self.client.submit(function, *args, pure=False, key=f"proofs-check-{name}-{time.monotonic_ns()}")

    def wait(self, futures):
        from dask.distributed import wait

        with self.client.as_current():  # wait() looks for a current client; this one is not the default
            return wait(list(futures), return_when="FIRST_COMPLETED").done

    def result(self, future) -> dict[str, Any]:
        """The payload of a finished ``future`` (``KilledWorker`` once the task has killed too many workers)."""
        return future.result()

    def abort(self, futures) -> None:
        if futures:
            self.client.cancel(list(futures), force=True)

    def close(self) -> None:
        pass
