"""How long a claim takes, said before it runs.

``proofs-check list --profile P`` prints each claim's estimated wall time on this kind of machine
(2 cores, one claim at a time) and the total.  The estimate comes, in this order, from

- the wall time recorded for the claim in this profile (``claim_seconds.json`` beside this module,
  written from a run's ``--json`` by ``python -m proofs_check.timings --record FILE``; a claim run with
  ``--param`` is not recorded): a measurement of these very settings on this kind of machine;
- the claim's declared ``cost(params)`` (training claims: the sequences a run trains on divided by the
  throughput measured on this kind of machine, recorded in ``numerics.bench`` figures; it ignores the
  fixed costs that dominate small runs, so it overestimates the quick profile about twofold);
- for the paper profile, the full profile's recorded time when the claim's paper parameters are its
  full ones (nothing grows);

and is ``None`` (printed ``?``) otherwise.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from proofs_check.registry import PROFILES, Claim, all_claims

__all__ = ["RECORDED", "estimate_seconds", "job_seconds", "workers_estimate", "workers_line", "format_seconds",
           "recorded_seconds", "record_timings"]

RECORDED = Path(__file__).resolve().parent / "claim_seconds.json"


def recorded_seconds(path: Path = RECORDED) -> dict[str, dict[str, float]]:
    """``{profile: {claim id: seconds}}`` from the record at ``path`` (by default the committed one; empty
    when there is none)."""
    if not path.exists():
        return {}
    return json.loads(path.read_text())["seconds"]


def estimate_seconds(claim: Claim, profile_name: str,
                     recorded: dict[str, dict[str, float]] | None = None) -> tuple[float | None, str]:
    """``(seconds, source)``: the estimated wall time of ``claim`` at ``profile_name`` and where it
    comes from (``"throughput"``, ``"recorded"``, ``"recorded, full profile"`` or ``"unknown"``)."""
    if profile_name not in PROFILES:
        raise ValueError(f"profile_name: expected one of {PROFILES}, got {profile_name!r}")
    params = claim.resolve(profile_name)
    recorded = recorded_seconds() if recorded is None else recorded
    if claim.id in recorded.get(profile_name, {}):
        return float(recorded[profile_name][claim.id]), "recorded"
    if claim.cost is not None:
        return float(claim.cost(params)), "throughput"
    if profile_name == "paper" and params == claim.resolve("full") and claim.id in recorded.get("full", {}):
        return float(recorded["full"][claim.id]), "recorded, full profile"
    return None, "unknown"


def job_seconds(claim: Claim, profile_name: str,
                recorded: dict[str, dict[str, float]] | None = None) -> list[float] | None:
    """The estimated seconds of each job ``claim`` is scheduled as: one per unit for a unit claim (its
    estimate shared in proportion to the units' declared costs, equally where none is declared), else one;
    ``None`` when the claim has no estimate.  A ``split`` that raises leaves the claim one job."""
    seconds, _ = estimate_seconds(claim, profile_name, recorded)
    if seconds is None:
        return None
    if claim.units is None:
        return [seconds]
    from proofs_check.registry import Profile

    params = claim.resolve(profile_name)
    try:
        keys = claim.units.split(Profile(profile_name, 0, params))
    except Exception:  # the run reports it as the claim's error; here it is one job
        return [seconds]
    if not keys:
        return [seconds]
    costs = [float(claim.units.cost(params, k)) for k in keys] if claim.units.cost is not None else [1.0] * len(keys)
    total = sum(costs)
    return [seconds * c / total for c in costs] if total > 0 else [seconds / len(keys)] * len(keys)


def workers_estimate(claims: list[Claim], profile_name: str, workers: int,
                     recorded: dict[str, dict[str, float]] | None = None) -> tuple[float, int]:
    """``(seconds, unknown)``: the estimated wall time of ``claims`` on ``workers`` workers that do not slow
    each other, and how many claims have no estimate (left out).  The jobs (:func:`job_seconds`) go longest
    first to the worker that frees first, as :func:`proofs_check.parallel.run_tasks` schedules them: the
    makespan of that list schedule, never below the longest job nor below the sum over ``workers``.  Two
    single-thread workers on this 2-core machine each run slower than one alone (1.14 times in
    ``bench_runs.concurrency_ceiling``, benchmarks/2026-12-06-runs.json), which this does not include."""
    import heapq

    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers: expected a positive integer, got {workers!r}")
    recorded = recorded_seconds() if recorded is None else recorded
    jobs, unknown = [], 0
    for claim in claims:
        seconds = job_seconds(claim, profile_name, recorded)
        if seconds is None:
            unknown += 1
        else:
            jobs += seconds
    free = [0.0] * workers
    for seconds in sorted(jobs, reverse=True):
        heapq.heapreplace(free, free[0] + seconds)
    return max(free), unknown


def workers_line(claims: list[Claim], profile_name: str, workers: int,
                 recorded: dict[str, dict[str, float]] | None = None) -> str:
    """The sentence a run or a listing prints for :func:`workers_estimate`."""
    seconds, unknown = workers_estimate(claims, profile_name, workers, recorded)
    return (f"on {workers} workers, longest jobs first (a unit claim's units apart): about {format_seconds(seconds)} "
            f"if the workers do not slow each other" + (f", plus {unknown} claim(s) without an estimate"
                                                         if unknown else ""))


def format_seconds(seconds: float | None) -> str:
    """``42 s``, ``3.5 min``, ``2.1 h``; ``?`` when unknown."""
    if seconds is None:
        return "?"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _profile_parameters(claim: Claim, profile_name: str) -> dict[str, Any]:
    """The claim's parameters at ``profile_name`` as a run's ``--json`` writes them."""
    from proofs_check.markdown import jsonable, string_keys

    return json.loads(json.dumps(string_keys(dict(claim.resolve(profile_name))), default=jsonable))


def record_timings(paths: list[str], target: Path = RECORDED) -> None:
    """Add each claim's wall time from the runs' ``--json`` files at ``paths`` to the record ``target``
    (``{profile: {claim id: seconds}}``); a claim run with parameters other than its profile's is skipped."""
    data: dict[str, Any] = {"note": "wall seconds per claim on the 2-core machine, one claim at a time; written "
                                    "by python -m proofs_check.timings --record RUN.json",
                            "seconds": recorded_seconds(target)}
    known = all_claims()
    for path in paths:
        run = json.loads(Path(path).read_text())
        profile = run["profile"]
        for c in run["claims"]:
            if c["id"] in known and c.get("parameters") == _profile_parameters(known[c["id"]], profile):
                data["seconds"].setdefault(profile, {})[c["id"]] = round(float(c["seconds"]), 1)
            elif c["id"] in known:  # run with --param: not this profile's settings
                print(f"not recorded: {c['id']} ran with parameters other than the {profile} profile's")
    target.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"recorded {sum(len(v) for v in data['seconds'].values())} timings in {target}")


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] != "--record":
        sys.exit("usage: python -m proofs_check.timings --record RUN.json [RUN.json ...]")
    record_timings(sys.argv[2:])
