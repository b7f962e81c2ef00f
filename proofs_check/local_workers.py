"""Local worker processes (``-j N``): one spawned process per slot, each the one worker of a pool of its own.

A worker that dies (killed, out of memory, a crash in native code) costs the claim it held and nothing else:
its death is known to be that claim's, which gets an ``error`` verdict naming how the process ended (through
:class:`WorkerDied`), the other workers run on, and a fresh process takes the dead one's place.
"""

from __future__ import annotations

import signal
from typing import Any, Callable

from proofs_check.worker import init_worker

__all__ = ["WorkerDied", "LocalWorkers"]


class WorkerDied(Exception):
    """A local worker process ended while it held a claim; the message says which process and how it ended."""


class LocalWorkers:
    """``jobs`` spawned worker processes, each the one worker of a ``ProcessPoolExecutor`` of its own.

    One pool of ``jobs`` workers would not do: when one of its processes dies the whole pool is broken, every
    claim in flight fails with the same ``BrokenProcessPool`` and nothing tells which claim the dead process
    held.  A pool per worker holds one claim at a time, so a dead worker's claim is known and the other
    workers are untouched; the broken pool is replaced before the slot takes its next claim."""

    def __init__(self, jobs: int, threads: dict[str, int] | None):
        import multiprocessing

        self.slots, self.threads = jobs, threads
        self.context = multiprocessing.get_context("spawn")
        self.pools: list[Any] = [None] * jobs
        self.held: dict[Any, tuple[int, Any]] = {}  # future -> (slot, the worker process running it)

    def _fresh_pool(self, slot: int):
        from concurrent.futures import ProcessPoolExecutor

        if self.pools[slot] is not None:
            self.pools[slot].shutdown(wait=False, cancel_futures=True)
        self.pools[slot] = ProcessPoolExecutor(max_workers=1, mp_context=self.context, initializer=init_worker,
                                               initargs=(self.threads,))
        return self.pools[slot]

    def _worker(self, slot: int):
        """The process of the slot's pool (``None`` before its first task)."""
        processes = list((getattr(self.pools[slot], "_processes", None) or {}).values())
        return processes[0] if processes else None

    def submit(self, function: Callable[..., dict[str, Any]], args: tuple, name: str):
        from concurrent.futures.process import BrokenProcessPool

        busy = {slot for slot, _ in self.held.values()}
        slot = next(s for s in range(self.slots) if s not in busy)
        worker = self._worker(slot)
        pool = self.pools[slot]
        if pool is None or (worker is not None and worker.exitcode is not None):  # died idle: replace it now
            pool = self._fresh_pool(slot)
        try:
            future = pool.submit(function, *args)
        except BrokenProcessPool:  # died idle, and its pool saw it first
            future = self._fresh_pool(slot).submit(function, *args)
        self.held[future] = (slot, self._worker(slot))  # submit starts the process when there is none
        return future

    def wait(self, futures):
        from concurrent.futures import FIRST_COMPLETED, wait

        return wait(futures, return_when=FIRST_COMPLETED).done

    def result(self, future) -> dict[str, Any]:
        """The payload of a finished ``future``; :class:`WorkerDied` when its worker process died."""
        from concurrent.futures.process import BrokenProcessPool

        slot, worker = self.held.pop(future)
        try:
            return future.result()
        except BrokenProcessPool:
            # the pool's thread reaps the dead process; once it is done the exit status is there to read
            self.pools[slot].shutdown(wait=True)
            self._fresh_pool(slot)
            raise WorkerDied(_how_it_ended(worker)) from None

    def abort(self, futures) -> None:
        # ProcessPoolExecutor cannot end running calls (3.14 adds terminate_workers): end its processes
        processes = [self._worker(slot) for slot in range(self.slots)]
        for pool in self.pools:
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
        for p in processes:
            if p is not None and p.is_alive():
                p.terminate()
        for p in processes:
            if p is not None:
                p.join(timeout=5)
        self.held.clear()

    def close(self) -> None:
        for pool in self.pools:
            if pool is not None:
                pool.shutdown(wait=True)


def _how_it_ended(worker) -> str:
    """``the worker process (pid N) running this claim died: killed by SIGKILL`` (or its exit status)."""
    if worker is None:
        return "the worker process running this claim died before it started"
    code = worker.exitcode
    if code is None:
        how = "its exit status is unknown"
    elif code < 0:
        try:
            how = f"killed by {signal.Signals(-code).name}"
        except ValueError:
            how = f"killed by signal {-code}"
    else:
        how = f"exit status {code}"
    return f"the worker process (pid {worker.pid}) running this claim died: {how}"
