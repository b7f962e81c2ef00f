"""Benchmark of the run machinery: serial against ``-j 2`` and a two-worker Dask cluster.

:func:`benchmark_runs` measures wall times (worker start-up included) of

- ``sweep``: stage-1 recovery, ``causal.train_argmax_parent`` at S = 5 and
  n = 9, 19, 39 (one-element tuples) over seeds 0..4, serial and on 2 local
  workers, and whether the two give the same verdicts and measured values;
- ``quick_profile``: the quick profile serial, with ``-j 2`` and on a ``LocalCluster`` of 2 worker
  processes, and whether the records agree;
- ``unit_claim``: the same three for one claim of many units (Figure 9's 20 graphs, full profile);
- ``full_profile`` (opt-in, about 30 minutes on two cores): the same three for the full profile;
- ``concurrency_ceiling``: what two workers can gain at best on this machine: one fixed single-thread
  training workload (a Figure 9 unit) timed alone, then two copies at once in two processes; the ceiling
  of any two-worker speedup is ``2 t_alone / t_pair`` (shared memory bandwidth and caches, turbo);
- ``allocator_effect``: that workload in a worker started with and without ``MALLOC_TRIM_THRESHOLD_`` (a
  Dask nanny's environment, left in the process that ran a ``LocalCluster``), and with it undone;
- ``worker_start_up``: what a run on local workers pays once (spawning them, importing the registry).

The ``LocalCluster`` runs last for each workload and this process's environment is restored after it
(:func:`proofs_check.dask_cluster.local_cluster`): before that, every ``-j 2`` run after the first
cluster inherited the nanny's allocator setting, and the full profile's ``-j 2`` took 480 s instead of 300 s.

``python -m proofs_check.bench_runs [--full]`` prints the JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from typing import Any, Iterator

from proofs_check.dask_cluster import local_cluster
from proofs_check.parallel import Task, run_tasks
from proofs_check.records import RECORD_TOLERANCES, record_differences, record_of
from proofs_check.registry import Profile, all_claims
from proofs_check.runner import Result, run_claim, select

__all__ = ["SWEEP_CLAIM", "SWEEP_SIZES", "SWEEP_SEEDS", "sweep_benchmark", "compare_backends",
           "profile_benchmark", "UNIT_CLAIM", "unit_claim_benchmark", "concurrency_ceiling", "ALLOCATOR_WORKLOAD",
           "allocator_effect", "worker_start_up", "benchmark_runs", "main"]

SWEEP_CLAIM = "causal.train_argmax_parent"
SWEEP_SIZES = (9, 19, 39)
SWEEP_SEEDS = 5


def _serial(tasks: list[Task], claims) -> tuple[list[Result], float]:
    start = time.perf_counter()
    results = [run_claim(claims[t.claim_id], Profile(t.profile, t.seed), t.overrides) for t in tasks]
    return results, time.perf_counter() - start


def _timed(tasks: list[Task], claims, **backend) -> tuple[list[Result], float]:
    start = time.perf_counter()
    results = run_tasks(tasks, claims, **backend)
    return results, time.perf_counter() - start


def _same(a: list[Result], b: list[Result]) -> bool:
    """Same records (verdicts, measured values and tests) by each claim's rule of
    :mod:`proofs_check.records` (details hold run times, which differ)."""
    return len(a) == len(b) and all(
        x.claim.id == y.claim.id and not record_differences(record_of(x), record_of(y), RECORD_TOLERANCES[x.claim.id])
        for x, y in zip(a, b))


def sweep_benchmark(jobs: int = 2) -> dict[str, Any]:
    claims = all_claims()
    tasks = [Task(SWEEP_CLAIM, "full", seed, {"S": (5,), "n": (n,)}) for n in SWEEP_SIZES
             for seed in range(SWEEP_SEEDS)]
    serial, serial_s = _serial(tasks, claims)
    parallel, parallel_s = _timed(tasks, claims, jobs=jobs)
    return {"claim": SWEEP_CLAIM, "grid": {"S": [5], "n": list(SWEEP_SIZES)}, "seeds": SWEEP_SEEDS,
            "runs": len(tasks), "serial_s": serial_s, f"j{jobs}_s": parallel_s, "speedup": serial_s / parallel_s,
            "same_records": _same(serial, parallel),
            "recovered": sum(r.verdict == "holds" for r in serial)}


def compare_backends(tasks: list[Task], claims, jobs: int = 2) -> dict[str, Any]:
    """Wall times of ``tasks`` serial, on ``jobs`` local workers and on a ``LocalCluster`` of ``jobs``
    single-thread worker processes (its start-up excluded, its first task's imports included), side by
    side, and whether the records agree (by :mod:`proofs_check.records`)."""
    serial, serial_s = _serial(tasks, claims)
    parallel, parallel_s = _timed(tasks, claims, jobs=jobs)
    with local_cluster(jobs) as client:
        dask_results, dask_s = _timed(tasks, claims, client=client)
    return {"claims": len(tasks), "serial_s": serial_s, f"j{jobs}_s": parallel_s,
            "speedup": serial_s / parallel_s, f"dask_{jobs}_workers_s": dask_s, "dask_speedup": serial_s / dask_s,
            "dask_vs_j": dask_s / parallel_s,
            "same_records_j": _same(serial, parallel), "same_records_dask": _same(serial, dask_results),
            "longest_claims_s": sorted(((r.claim.id, round(r.seconds, 1)) for r in serial),
                                       key=lambda x: -x[1])[:5],
            "serial_seconds": {r.claim.id: round(r.seconds, 1) for r in serial},
            "unit_seconds": {r.claim.id: [round(t, 1) for t in r.unit_seconds] for r in serial if r.unit_seconds}}


def profile_benchmark(profile_name: str, jobs: int = 2) -> dict[str, Any]:
    """:func:`compare_backends` on every claim of a profile."""
    claims = all_claims()
    tasks = [Task(c.id, profile_name, 0, {}) for c in select(claims, Profile(profile_name, 0))]
    return {"profile": profile_name, **compare_backends(tasks, claims, jobs)}


UNIT_CLAIM = "causal.random_graphs_parent_attention"


def unit_claim_benchmark(jobs: int = 2) -> dict[str, Any]:
    """:func:`compare_backends` on one claim of many units: Figure 9's 20 graphs in the full profile."""
    claims = all_claims()
    return {"claim": UNIT_CLAIM, "profile": "full",
            "units": claims[UNIT_CLAIM].resolve("full")["graphs"],
            **compare_backends([Task(UNIT_CLAIM, "full", 0, {})], claims, jobs)}


def _ceiling_workload(seed: int, n: int = 6, steps: int = 400) -> float:
    """Seconds of one fixed Figure 9 unit (``n`` positions, S = 3, ``steps`` SGD steps of 256), on one thread."""
    from numerics.figure9 import train_random_graph
    from theory.random_graphs import bernoulli_root_forest
    import numpy as np
    graph = bernoulli_root_forest(n, np.random.default_rng(seed))
    start = time.perf_counter()
    train_random_graph(graph, steps=steps, batch=256, seed=seed, test_size=256, threads=1)
    return time.perf_counter() - start


def concurrency_ceiling(repeats: int = 3) -> dict[str, Any]:
    """The best two-worker speedup this machine allows: the workload alone (best of ``repeats``) against two
    copies started together in two spawned processes (best of ``repeats`` of the slower copy)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(_ceiling_workload, (0, 0)))                                 # imports, warm-up
        alone = min(pool.submit(_ceiling_workload, 0).result() for _ in range(repeats))
        pair = min(max(pool.map(_ceiling_workload, (0, 0))) for _ in range(repeats))
    return {"workload": "Figure 9 unit: n = 6, S = 3, 400 SGD steps of 256, one thread", "alone_s": alone,
            "pair_s": pair, "ceiling": 2 * alone / pair}


@contextlib.contextmanager
def _environment(**variables: str) -> Iterator[None]:
    """``os.environ`` with ``variables`` set for the block (processes spawned in it inherit them)."""
    before = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


#: the allocator workload: a Figure 9 unit at the full profile's context length, 300 steps
ALLOCATOR_WORKLOAD = {"n": 19, "steps": 300}


def _allocator_workload(seed: int) -> float:
    return _ceiling_workload(seed, **ALLOCATOR_WORKLOAD)


def _restored_workload(seed: int) -> float:
    """:func:`_allocator_workload` after :func:`proofs_check.worker.restore_dynamic_malloc`."""
    from proofs_check.worker import restore_dynamic_malloc

    restore_dynamic_malloc()
    return _allocator_workload(seed)


def allocator_effect(repeats: int = 3) -> dict[str, Any]:
    """A Figure 9 unit (:data:`ALLOCATOR_WORKLOAD`, one thread, best of ``repeats``) in a spawned process: started
    in a clean environment, started with ``MALLOC_TRIM_THRESHOLD_=65536`` (what a Dask nanny gives its
    workers, and leaves in its own process's environment for every process spawned after it), and started
    so but with the dynamic mmap threshold restored (what every worker now does first)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    def best(function, **variables: str) -> float:
        with _environment(**variables):
            pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
            pool.submit(function, 0).result()  # the process starts here, with the environment above
        with pool:
            return min(pool.submit(function, 0).result() for _ in range(repeats))

    clean = best(_allocator_workload)
    trimmed = best(_allocator_workload, MALLOC_TRIM_THRESHOLD_="65536")
    restored = best(_restored_workload, MALLOC_TRIM_THRESHOLD_="65536")
    n, steps = ALLOCATOR_WORKLOAD["n"], ALLOCATOR_WORKLOAD["steps"]
    workload = f"Figure 9 unit: n = {n}, S = 3, {steps} SGD steps of 256, one thread"
    return {"workload": workload, "clean_s": clean,
            "malloc_trim_threshold_s": trimmed, "restored_s": restored, "slowdown": trimmed / clean,
            "restored_vs_clean": restored / clean}


def worker_start_up(jobs: int = 2) -> dict[str, Any]:
    """What a run on ``jobs`` local workers pays once: spawning them and importing the registry, timed as
    ``jobs`` runs of a claim that takes no time (``ar.identity``, quick profile)."""
    claims = all_claims()
    _, seconds = _timed([Task("ar.identity", "quick", seed, {}) for seed in range(jobs)], claims, jobs=jobs)
    return {"jobs": jobs, "seconds": seconds}


def benchmark_runs(full: bool = False, jobs: int = 2) -> dict[str, Any]:
    """Wall times of the sweep, the quick profile and the unit claim (always), and of the full profile
    (``full=True``, ~30 minutes on two cores for its three runs)."""
    out: dict[str, Any] = {"cpus": os.cpu_count(), "load_average_before": os.getloadavg(), "jobs": jobs,
                           "concurrency_ceiling": concurrency_ceiling(), "allocator_effect": allocator_effect(),
                           "worker_start_up": worker_start_up(jobs), "sweep": sweep_benchmark(jobs),
                           "quick_profile": profile_benchmark("quick", jobs),
                           "unit_claim": unit_claim_benchmark(jobs)}
    if full:
        out["full_profile"] = profile_benchmark("full", jobs)
    out["load_average_after"] = os.getloadavg()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m proofs_check.bench_runs", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="also time the full profile (about 30 minutes)")
    args = parser.parse_args(argv)
    print(json.dumps(benchmark_runs(full=args.full), indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
