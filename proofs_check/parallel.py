"""Run claims in other processes: local worker processes (``-j N``) or a Dask cluster (``--scheduler``).

A unit of work is a :class:`Task` (a claim id, a profile, a seed and typed
parameter overrides).  A worker imports the registry itself and runs
:func:`proofs_check.runner.run_claim`, so a claim's record is the one a serial
run gives with the same seed.  What comes back is a payload of plain data, the
fields :meth:`Result.as_json` is built from plus the outcome without its figure
callable (a closure cannot cross processes): when figures are asked for, the
worker draws the figure itself and sends the PNG bytes, and the parent's
:class:`Result` gets a figure callable that writes those bytes, so the report
works unchanged.  Details that cannot be pickled cross as their JSON form.

At most as many tasks are in flight as there are workers, submitted in the
given order, so the claims running are known (the progress bar names them)
and a stop (``-x``) or Ctrl-C leaves nothing queued: running workers are ended
and the finished results are kept.

A worker that dies (killed, out of memory, a crash in native code) costs the
claim it held and nothing else.  Each local worker is a pool of its own, so
its death is known to be that claim's: the claim gets an ``error`` verdict
naming how the process ended, the other workers run on, and a fresh process
takes the dead one's place.  On a Dask cluster the scheduler reruns the task
on another worker (the nanny restarts the dead one); the task errs only when
it has killed ``distributed.scheduler.allowed-failures`` workers.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from proofs_check.registry import Claim, Outcome, Profile, load_plugins, plugin_modules
from proofs_check.runner import Result, error_result, judged_result, run_claim

DASK_MISSING = "the Dask scheduler needs dask.distributed: pip install -e '.[distributed]'"


class ParallelError(Exception):
    """A backend that cannot be used (dask missing, scheduler unreachable); the message is one line."""


class WorkerDied(Exception):
    """A local worker process ended while it held a claim; the message says which process and how it ended."""


@dataclass(frozen=True)
class Task:
    """One claim run: ``run_claim(claims[claim_id], Profile(profile, seed), overrides)``."""

    claim_id: str
    profile: str = "quick"
    seed: int = 0
    overrides: Mapping[str, Any] = field(default_factory=dict)
    #: claims modules a worker loads first (``proofs-check -p``): a Dask worker does not share our environment
    plugins: tuple[str, ...] = field(default_factory=lambda: tuple(plugin_modules()))


# --------------------------------------------------------------------------- worker side

_WORKER_CLAIMS: dict[str, Claim] | None = None


def _worker_claims(plugins: tuple[str, ...] = ()) -> dict[str, Claim]:
    """The registry in this worker, with the claims modules ``plugins`` loaded."""
    global _WORKER_CLAIMS
    if _WORKER_CLAIMS is None or any(m not in sys.modules for m in plugins):
        from proofs_check.registry import all_claims

        load_plugins(plugins)
        _WORKER_CLAIMS = all_claims()
    return _WORKER_CLAIMS


def shared_cores(workers: int, cores: int | None = None) -> dict[str, int]:
    """The thread counts of one of ``workers`` processes sharing ``cores`` (default: this machine's):
    ``max(1, cores // workers)`` for torch's intra-op pool and for BLAS.

    Workers that each kept the parent's counts would run ``workers`` times as many threads as there are
    cores, and torch's intra-op pool oversubscribed is several times slower than one thread (the reason
    two Dask workers ran the full profile slower than one process).  Another thread count changes a
    reduction's last bits, never a record beyond :data:`proofs_check.records.RECORD_TOLERANCES` (measured
    over 1 and 2 threads and four BLAS kernel families)."""
    cores = (os.cpu_count() or 1) if cores is None else cores
    n = max(1, cores // max(1, workers))
    return {"torch": n, "blas": n}


#: glibc's mallopt parameters (malloc.h) and the values its dynamic threshold reaches for large blocks
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD_MAX = 32 * 2 ** 20


def restore_dynamic_malloc() -> bool:
    """Undo what Dask's nanny does to a worker's allocator, once per process; ``True`` if it was done.

    The nanny starts every worker with ``MALLOC_TRIM_THRESHOLD_=65536``, and setting that variable at all
    turns off glibc's dynamic mmap threshold: every block above 128 KiB (a training batch's tensors) is
    then mapped and unmapped at each step, page faults included.  Measured on 2 cores: Figure 9's graphs
    on two Dask workers took 24.8 s with the variable and 13.2 s without (two local workers: 13.9 s).
    This sets the thresholds where the dynamic rule would take them for such blocks (mmap above 32 MiB,
    trim above 64 MiB).  Nothing is done where the variable is not set or the C library is not glibc."""
    global _MALLOC_RESTORED
    if _MALLOC_RESTORED or "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        return False
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        done = bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX)) and bool(
            libc.mallopt(M_TRIM_THRESHOLD, 2 * MMAP_THRESHOLD_MAX))
    except (OSError, AttributeError):  # not glibc: leave the allocator alone
        return False
    _MALLOC_RESTORED = done
    return done


_MALLOC_RESTORED = False


def _torch_threads(threads: dict[str, Any] | None) -> None:
    """Set this worker's thread counts: ``{"torch": n, "blas": m}``, or ``{"share_by_host": {host: k}}`` on a
    Dask worker (``k`` worker threads on its host share the host's cores, :func:`shared_cores`)."""
    if not threads:
        return
    if "share_by_host" in threads:
        from dask.distributed import get_worker

        host = get_worker().address.rsplit(":", 1)[0]
        threads = shared_cores(threads["share_by_host"].get(host, 1))
        restore_dynamic_malloc()
    import torch

    if torch.get_num_threads() != threads["torch"]:
        torch.set_num_threads(max(1, threads["torch"]))
    if "blas" in threads:
        try:
            from threadpoolctl import threadpool_info, threadpool_limits
        except ImportError:
            return
        if any(pool.get("user_api") == "blas" and pool["num_threads"] != threads["blas"]
               for pool in threadpool_info()):
            threadpool_limits(limits=threads["blas"], user_api="blas")


def init_worker(torch_threads: dict[str, int] | None) -> None:
    """Set up a local worker: Ctrl-C goes to the parent only (it ends the workers), figures draw off-screen,
    torch and BLAS run on the worker's share of the cores."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import matplotlib

    matplotlib.use("Agg")
    _torch_threads(torch_threads)


def _draw_figure(outcome: Outcome) -> tuple[bytes | None, str]:
    """The PNG bytes of ``outcome.figure`` drawn into a temporary file, or ``(None, why not)``."""
    import tempfile

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with tempfile.TemporaryDirectory(prefix="proofs-check-figure-") as folder:
        path = os.path.join(folder, "figure.png")
        try:
            outcome.figure(path)
            with open(path, "rb") as fh:
                return fh.read(), ""
        except Exception as exc:  # reported in the report, as a serial run would
            return None, f"{type(exc).__name__}: {exc}".splitlines()[0]
        finally:
            plt.close("all")


def _plain(value: Any) -> Any:
    """``value`` through JSON: what a record keeps of a detail that cannot be pickled."""
    import json

    from proofs_check.markdown import jsonable, string_keys

    return json.loads(json.dumps(string_keys(value), default=jsonable))


def run_task(task: Task, figures: bool = False, torch_threads: dict[str, int] | None = None) -> dict[str, Any]:
    """Worker entry point: run one task and return its payload (see :func:`result_from_payload`)."""
    _torch_threads(torch_threads)
    claims = _worker_claims(task.plugins)
    result = run_claim(claims[task.claim_id], Profile(task.profile, task.seed), task.overrides)
    png, figure_error = None, ""
    outcome = result.outcome
    if outcome is not None:
        if figures and outcome.figure is not None:
            png, figure_error = _draw_figure(outcome)
        outcome = Outcome(outcome.measured, outcome.conditions, outcome.premises, outcome.details,
                          outcome.counterexamples, None, outcome.stderr, outcome.samples)
    payload = {"id": task.claim_id, "verdict": result.verdict, "measured": result.measured,
               "seconds": result.seconds, "outcome": outcome, "error": result.error, "tests": result.tests,
               "reason": result.reason, "parameters": result.parameters, "unit_seconds": result.unit_seconds,
               "has_figure": png is not None or
               bool(figure_error), "png": png, "figure_error": figure_error, "pid": os.getpid()}
    try:
        pickle.dumps(payload)
    except Exception:  # an unpicklable detail (a closure, a lock): send what the JSON record keeps
        from proofs_check.verdicts import Test

        payload["measured"], payload["parameters"] = _plain(result.measured), _plain(result.parameters)
        payload["tests"] = [Test(t.name, _plain(t.value), t.op, _plain(t.bound), t.ok, t.role) for t in result.tests]
        if outcome is not None:
            payload["outcome"] = Outcome(_plain(outcome.measured), _plain(outcome.conditions),
                                         _plain(outcome.premises), _plain(outcome.details),
                                         _plain(outcome.counterexamples), None, outcome.stderr, outcome.samples)
    return payload


@dataclass(frozen=True)
class UnitTask:
    """Unit ``index`` (in the order of ``claim.units.split``) of a unit claim's :class:`Task`."""

    task: Task
    index: int


def run_unit(unit: UnitTask, torch_threads: dict[str, int] | None = None) -> dict[str, Any]:
    """Worker entry point of one unit: ``{"measurement": ..., "seconds": ...}``, or ``{"error": exc}``
    when the unit's measure raised (the claim's verdict is then ``error``, as in a serial run)."""
    import contextlib

    from numerics.runtime import progress_lines

    _torch_threads(torch_threads)
    task = unit.task
    claim = _worker_claims(task.plugins)[task.claim_id]
    profile = Profile(task.profile, task.seed, claim.resolve(task.profile, task.overrides))
    start = time.perf_counter()
    lines = progress_lines() if profile.name == "paper" else contextlib.nullcontext()
    try:
        with lines:
            measurement = claim.units.measure(profile, claim.units.split(profile)[unit.index])
    except Exception as exc:  # reported as a serial run reports it
        failed = error_result(claim, exc, time.perf_counter() - start, profile.params)
        return {"error": failed.error, "reason": failed.reason, "seconds": failed.seconds, "pid": os.getpid()}
    return {"measurement": measurement, "seconds": time.perf_counter() - start, "pid": os.getpid()}


# --------------------------------------------------------------------------- parent side

class _SavedFigure:
    """A figure callable that writes the PNG a worker drew (or raises the error it met)."""

    def __init__(self, png: bytes | None, error: str):
        self.png, self.error = png, error

    def __call__(self, path: str) -> None:
        if self.png is None:
            raise FigureError(self.error)
        with open(path, "wb") as fh:
            fh.write(self.png)


class FigureError(Exception):
    """The figure could not be drawn in the worker; the message is the worker's error."""


def result_from_payload(payload: Mapping[str, Any], claim: Claim) -> Result:
    """The parent's :class:`Result` for a worker's payload (same record; the figure as saved PNG bytes)."""
    outcome = payload["outcome"]
    if outcome is not None and payload["has_figure"]:
        outcome.figure = _SavedFigure(payload["png"], payload["figure_error"])
    return Result(claim, payload["verdict"], payload["measured"], payload["seconds"], outcome,
                  error=payload["error"], tests=list(payload["tests"]), reason=payload["reason"],
                  parameters=dict(payload["parameters"]), unit_seconds=list(payload.get("unit_seconds", [])))


def _worker_failure(claim: Claim, exc: BaseException, seconds: float) -> Result:
    """A worker that died or could not import the claims: an ``error`` verdict naming why."""
    text = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return Result(claim, "error", None, seconds, error=text, reason=f"the worker failed: {text}")


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


class _Local:
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


class _Dask:
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


def _jobs_of(tasks: Sequence[Task], claims: Mapping[str, Claim]) -> tuple[list[tuple[int, int | None]],
                                                                         dict[int, Any], dict[int, float]]:
    """The scheduled jobs: ``(task index, unit index or None)``, longest first where a cost is known
    (a unit's declared cost, else the claim's estimate), the rest in the given order; and, per unit
    task, ``(resolved profile, unit count)``, or the error :class:`Result` of a ``split`` that raised."""
    from proofs_check.timings import estimate_seconds

    jobs, costs, split = [], {}, {}
    for i, task in enumerate(tasks):
        claim = claims[task.claim_id]
        params = claim.resolve(task.profile, task.overrides)
        if claim.units is None:
            jobs.append((i, None))
            costs[(i, None)] = estimate_seconds(claim, task.profile)[0]
            continue
        profile = Profile(task.profile, task.seed, params)
        try:
            keys = claim.units.split(profile)
        except Exception as exc:  # reported as the claim's error, as in a serial run
            split[i] = error_result(claim, exc, 0.0, params)
            continue
        split[i] = (profile, len(keys))
        for k, key in enumerate(keys):
            jobs.append((i, k))
            costs[(i, k)] = None if claim.units.cost is None else float(claim.units.cost(params, key))
    known = sorted((j for j in jobs if costs[j] is not None), key=lambda j: -costs[j])
    return known + [j for j in jobs if costs[j] is None], split, costs


def run_tasks(tasks: Sequence[Task], claims: Mapping[str, Claim], *, jobs: int = 1, client=None,
              figures: bool = False, on_start: Callable[[list[Task]], None] | None = None,
              on_result: Callable[[int, Result], None] | None = None,
              stop: Callable[[Result], bool] | None = None) -> list[Result | None]:
    """Run ``tasks`` on ``jobs`` local worker processes, or on the Dask cluster of ``client`` when given.

    A claim with units (``claim.units``) is scheduled unit by unit; its reduce runs here once its last
    unit is back, so its record is the serial run's (each unit's randomness derives from the seed and the
    unit alone).  Jobs whose cost is known (a unit's declared cost, a claim's estimate) start longest
    first.  Returns the results in the order of ``tasks`` (``None`` for a task not run because
    ``stop(result)`` was true for an earlier result).  ``on_start`` is called with the tasks running
    whenever that set changes, ``on_result`` with each task's index and result as it arrives.
    ``figures`` asks the workers to draw each outcome's figure (a unit claim's is drawn here, from its
    reduce).  On ``KeyboardInterrupt`` the workers are ended and the exception propagates; the results
    delivered so far stand.

    Each worker runs torch and BLAS on its share of its machine's cores (:func:`shared_cores`).
    """
    backend = _Dask(client) if client is not None else _Local(jobs, shared_cores(jobs))
    threads = backend.threads
    results: list[Result | None] = [None] * len(tasks)
    queue, split, _ = _jobs_of(tasks, claims)
    running: dict[Any, tuple[int, int | None]] = {}
    started: dict[int, float] = {}
    gathered: dict[int, dict[int, dict[str, Any]]] = {}
    stopped = False

    def finish(index: int, result: Result) -> None:
        nonlocal stopped
        results[index] = result
        if on_result is not None:
            on_result(index, result)
        if stop is not None and stop(result):
            stopped = True

    for index, failed in split.items():
        if isinstance(failed, Result):
            finish(index, failed)

    def unit_done(index: int, unit: int, payload: dict[str, Any]) -> None:
        task, (profile, count) = tasks[index], split[index]
        claim = claims[task.claim_id]
        if results[index] is not None:  # the claim already failed in another unit
            return
        if "error" in payload:
            finish(index, Result(claim, "error", None, time.perf_counter() - started[index], error=payload["error"],
                                 reason=payload["reason"], parameters=dict(profile.params)))
            return
        gathered.setdefault(index, {})[unit] = payload
        if len(gathered[index]) < count:
            return
        arrived = gathered.pop(index)
        done = [arrived[k] for k in range(count)]
        try:
            outcome = claim.reduce(profile, [d["measurement"] for d in done])
        except Exception as exc:
            finish(index, error_result(claim, exc, time.perf_counter() - started[index], profile.params))
            return
        # wall time from the first unit's start to the reduce's end; each unit's own time beside it
        finish(index, judged_result(claim, outcome, time.perf_counter() - started[index], profile.params,
                                    [d["seconds"] for d in done]))

    try:
        while (queue and not stopped) or running:
            while queue and len(running) < backend.slots and not stopped:
                index, unit = queue.pop(0)
                if results[index] is not None:  # a unit of a claim that already failed
                    continue
                task = tasks[index]
                started.setdefault(index, time.perf_counter())
                if unit is None:
                    future = backend.submit(run_task, (task, figures, threads), f"{task.claim_id}-{task.seed}")
                else:
                    future = backend.submit(run_unit, (UnitTask(task, unit), threads),
                                            f"{task.claim_id}-{task.seed}-unit{unit}")
                running[future] = (index, unit)
            if not running:
                break
            if on_start is not None:
                on_start([tasks[i] for i in sorted({i for i, _ in running.values()})])
            for future in backend.wait(list(running)):
                index, unit = running.pop(future)
                claim = claims[tasks[index].claim_id]
                try:
                    payload = backend.result(future)
                except Exception as exc:  # a worker that died or could not import the claims
                    if results[index] is None:
                        finish(index, _worker_failure(claim, exc, time.perf_counter() - started[index]))
                    continue
                if unit is None:
                    finish(index, result_from_payload(payload, claim))
                else:
                    unit_done(index, unit, payload)
            if stopped:
                queue.clear()
                if running:
                    backend.abort(list(running))
                    running.clear()
                break
    except BaseException:
        backend.abort(list(running))
        raise
    backend.close()
    return results
