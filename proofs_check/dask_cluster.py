"""A Dask cluster (``--scheduler ADDRESS``): the connected client, and one ``client.submit`` per task.

The scheduler reruns the task of a worker that died on another worker (the nanny restarts the dead one); the
task errs only when it has killed ``distributed.scheduler.allowed-failures`` workers.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import Any, Callable, Iterator

__all__ = ["DASK_MISSING", "ParallelError", "dask_client", "local_cluster", "DaskCluster"]

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


@contextlib.contextmanager
def local_cluster(workers: int) -> Iterator[Any]:
    """A client of a ``LocalCluster`` of ``workers`` single-thread worker processes on the loopback interface
    (no dashboard); once the block ends, the cluster is closed and this process's environment is what it was.

    A nanny writes its pre-spawn environment (``MALLOC_TRIM_THRESHOLD_=65536``, ``OMP_NUM_THREADS=1`` and
    the like, ``PYTHONHASHSEED``) into its own process's ``os.environ`` before it spawns a worker and never
    takes it back; with a ``LocalCluster`` that process is this one, and every process it spawns afterwards
    (``-j N`` workers, a benchmark's workload) would inherit that environment."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers: expected a positive integer, got {workers!r}")
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise ParallelError(DASK_MISSING) from None
    before = dict(os.environ)
    try:
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None) as cluster, Client(cluster, set_as_default=False) as client:
            yield client
    finally:
        for name in set(os.environ) - set(before):
            del os.environ[name]
        os.environ.update(before)


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
