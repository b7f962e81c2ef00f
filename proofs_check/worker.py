"""What one worker process does with a task: its share of the cores, its allocator, the claim run, and the
payload of plain data it sends back (local worker processes and Dask workers alike).

A worker imports the registry itself and runs :func:`proofs_check.runner.run_claim`, so a claim's record is
the one a serial run gives with the same seed.  The payload holds the fields :meth:`Result.as_json` is built
from plus the outcome without its figure callable (a closure cannot cross processes): when figures are asked
for, the worker draws the figure itself and sends the PNG bytes.  Details that cannot be pickled cross as
their JSON form.  :mod:`proofs_check.parallel` schedules the tasks and turns payloads back into results.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

from proofs_check.registry import Claim, Outcome, Profile, load_plugins, plugin_modules
from proofs_check.runner import error_result, run_claim

__all__ = ["Task", "shared_cores", "MMAP_THRESHOLD_MAX", "restore_dynamic_malloc", "init_worker",
           "run_task", "UnitTask", "run_unit"]


@dataclass(frozen=True)
class Task:
    """One claim run: ``run_claim(claims[claim_id], Profile(profile, seed, device=device), overrides)``."""

    claim_id: str
    profile: str = "quick"
    seed: int = 0
    overrides: Mapping[str, Any] = field(default_factory=dict)
    #: where the claim's float32 training runs (``Profile.device``)
    device: str = "cpu"
    #: claims modules a worker loads first (``proofs-check -p``): a Dask worker does not share our environment
    plugins: tuple[str, ...] = field(default_factory=lambda: tuple(plugin_modules()))


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
    The variable also reaches local workers: a nanny writes its environment (this variable among it) into
    its own process's ``os.environ`` before it spawns a worker and leaves it there, so every process
    spawned after a ``LocalCluster`` has run in the same process inherits it (the full profile on two
    local workers took 480 s after one, 300 s without).  Dask workers and local workers both call this.
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
    the allocator keeps its dynamic mmap threshold (:func:`restore_dynamic_malloc`), torch and BLAS run on
    the worker's share of the cores."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    restore_dynamic_malloc()
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
    result = run_claim(claims[task.claim_id], Profile(task.profile, task.seed, device=task.device), task.overrides)
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
    profile = Profile(task.profile, task.seed, claim.resolve(task.profile, task.overrides), task.device)
    start = time.perf_counter()
    lines = progress_lines() if profile.name == "paper" else contextlib.nullcontext()
    try:
        with lines:
            measurement = claim.units.measure(profile, claim.units.split(profile)[unit.index])
    except Exception as exc:  # reported as a serial run reports it
        failed = error_result(claim, exc, time.perf_counter() - start, profile.params)
        return {"error": failed.error, "reason": failed.reason, "seconds": failed.seconds, "pid": os.getpid()}
    return {"measurement": measurement, "seconds": time.perf_counter() - start, "pid": os.getpid()}
