"""Run claims in other processes: schedule :class:`Task` runs on local worker processes (``-j N``,
:mod:`proofs_check.local_workers`) or a Dask cluster (``--scheduler``, :mod:`proofs_check.dask_cluster`), and
turn the workers' payloads (:mod:`proofs_check.worker`) back into :class:`Result` records.

A unit of work is a :class:`Task` (a claim id, a profile, a seed and typed
parameter overrides).  A worker runs :func:`proofs_check.runner.run_claim`, so
a claim's record is the one a serial run gives with the same seed.  When
figures are asked for, the worker sends the PNG bytes it drew, and the
parent's :class:`Result` gets a figure callable that writes those bytes, so
the report works unchanged.

At most as many tasks are in flight as there are workers, submitted in the
given order, so the claims running are known (the progress bar names them)
and a stop (``-x``) or Ctrl-C leaves nothing queued: running workers are ended
and the finished results are kept.

A worker that dies (killed, out of memory, a crash in native code) costs the
claim it held and nothing else (see :mod:`proofs_check.local_workers`; on a
Dask cluster the scheduler reruns the task on another worker).

A backend (:class:`LocalWorkers`, :class:`DaskCluster`) has ``slots`` (tasks in flight at most),
``threads`` (what a worker is told of its share of the cores), ``submit``, ``wait``, ``result``, ``abort``
and ``close``.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping, Sequence

from proofs_check.dask_cluster import DASK_MISSING, DaskCluster, ParallelError, dask_client
from proofs_check.local_workers import LocalWorkers, WorkerDied
from proofs_check.registry import Claim, Profile
from proofs_check.runner import Result, error_result, judged_result
from proofs_check.worker import Task, UnitTask, restore_dynamic_malloc, run_task, run_unit, shared_cores

__all__ = ["DASK_MISSING", "DaskCluster", "FigureError", "LocalWorkers", "ParallelError", "Task", "UnitTask",
           "WorkerDied", "dask_client", "restore_dynamic_malloc", "result_from_payload", "run_task", "run_tasks",
           "run_unit", "shared_cores"]


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


def _jobs_of(tasks: Sequence[Task], claims: Mapping[str, Claim]) -> tuple[list[tuple[int, int | None]],
                                                                         dict[int, Any], dict[int, float]]:
    """The scheduled jobs: ``(task index, unit index or None)``, longest first where a cost is known
    (a unit's declared cost, else the claim's estimate), the rest in the given order; and, per unit
    task, ``(resolved profile, unit count)``, or the error :class:`Result` of a ``split`` that raised."""
    from proofs_check.timings import estimate_seconds, recorded_seconds

    recorded = recorded_seconds()  # read once, not once per task
    jobs, costs, split = [], {}, {}
    for i, task in enumerate(tasks):
        claim = claims[task.claim_id]
        params = claim.resolve(task.profile, task.overrides)
        if claim.units is None:
            jobs.append((i, None))
            costs[(i, None)] = estimate_seconds(claim, task.profile, recorded)[0]
            continue
        profile = Profile(task.profile, task.seed, params, task.device)
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
    backend = DaskCluster(client) if client is not None else LocalWorkers(jobs, shared_cores(jobs))
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
