"""Units of work inside a claim: a multi-unit claim gives the serial record on 2 local workers and on a
real Dask cluster (two worker processes on the loopback interface), and records each unit's time."""

from __future__ import annotations

import pytest

from proofs_check.parallel import Task, _jobs_of, run_tasks
from proofs_check.records import RECORD_TOLERANCES, record_differences, record_of
from proofs_check.registry import Outcome, Profile, Units, all_claims, claim, run_units_serially
from proofs_check.runner import run_claim

FIG9 = "causal.random_graphs_parent_attention"
#: four graphs at a tiny budget: four units of about a second each
SMALL = {"graphs": 4, "steps": 24, "batch": 64, "test_size": 256}


@pytest.fixture(scope="module")
def claims():
    return all_claims()


@pytest.fixture(scope="module")
def serial(claims):
    return run_claim(claims[FIG9], Profile("quick", 3), SMALL)


def test_a_serial_unit_claim_times_each_unit(claims, serial):
    assert serial.verdict in ("holds", "refuted") and len(serial.unit_seconds) == SMALL["graphs"]
    assert all(t > 0 for t in serial.unit_seconds) and sum(serial.unit_seconds) <= serial.seconds
    assert len(serial.outcome.details["graphs"]) == SMALL["graphs"]
    assert serial.as_json()["unit_seconds"] == [round(t, 3) for t in serial.unit_seconds]


def test_two_local_workers_give_the_serial_record(claims, serial):
    [result] = run_tasks([Task(FIG9, "quick", 3, SMALL)], claims, jobs=2)
    assert record_differences(record_of(serial), record_of(result), RECORD_TOLERANCES[FIG9]) == []
    assert [g["parents"] for g in result.outcome.details["graphs"]] == \
        [g["parents"] for g in serial.outcome.details["graphs"]]
    assert len(result.unit_seconds) == SMALL["graphs"]


def test_a_dask_cluster_gives_the_serial_record(claims, serial):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        [result] = run_tasks([Task(FIG9, "quick", 3, SMALL)], claims, client=client)
        units_ran_on = client.run(lambda: True)  # both workers alive after the run
    assert record_differences(record_of(serial), record_of(result), RECORD_TOLERANCES[FIG9]) == []
    assert [g["parents"] for g in result.outcome.details["graphs"]] == \
        [g["parents"] for g in serial.outcome.details["graphs"]]
    assert len(units_ran_on) == 2 and len(result.unit_seconds) == SMALL["graphs"]


def test_units_with_a_known_cost_start_longest_first(claims):
    tasks = [Task(FIG9, "quick", 0, {"graphs": 2}), Task("ar.identity", "quick", 0, {}),
             Task(FIG9, "paper", 0, {"graphs": 2})]
    jobs, split, costs = _jobs_of(tasks, claims)
    assert sorted(jobs) == [(0, 0), (0, 1), (1, None), (2, 0), (2, 1)]
    known = [costs[j] for j in jobs if costs[j] is not None]
    assert known == sorted(known, reverse=True) and jobs[0][0] == 2  # the paper budget's graphs first
    assert split[0][1] == 2 and split[2][1] == 2


def test_a_unit_that_raises_makes_the_claim_an_error_as_in_a_serial_run(claims):
    def split(profile):
        return [0, 1]

    def measure(profile, unit):
        if unit == 1:
            raise ArithmeticError("unit 1 failed")
        return unit

    def reduce(profile, measurements):
        return Outcome(measured=float(sum(measurements)))

    units = Units(split, measure)
    with pytest.raises(ArithmeticError, match="unit 1 failed"):
        run_units_serially(units, reduce, Profile("quick"))
    with pytest.raises(ValueError, match="^units"):
        claim("test.bad_units", paper="causal", kind="theorem", statement="s", hypotheses="h", method="m",
              measured="x", direction="<=", tolerance=0.0, units=(split, measure))
    with pytest.raises(ValueError, match="^measure"):
        Units(split, "not callable")


# ----------------------------------------------------------------------------- every unit claim, any order
QUICK_UNIT_CLAIMS = sorted(c.id for c in all_claims().values() if c.units is not None and c.quick)


@pytest.mark.parametrize("claim_id", QUICK_UNIT_CLAIMS)
def test_a_unit_claim_gives_its_serial_record_with_its_units_run_in_reverse(claims, claim_id):
    """Each unit's randomness derives from the seed and the unit alone: measuring the units last to first
    (in this process, after whatever ran before) and reducing them in their order gives the quick
    profile's committed serial record (tests/data/quick_records.json)."""
    import json
    from pathlib import Path

    from proofs_check.runner import judged_result

    snapshot = json.loads((Path(__file__).resolve().parent / "data" / "quick_records.json").read_text())
    claim_ = claims[claim_id]
    params = claim_.resolve("quick")
    profile = Profile("quick", 0, params)
    keys = claim_.units.split(profile)
    measured = {k: claim_.units.measure(profile, keys[k]) for k in reversed(range(len(keys)))}
    outcome = claim_.reduce(profile, [measured[k] for k in range(len(keys))])
    result = judged_result(claim_, outcome, 0.0, params)
    assert record_differences(snapshot["claims"][claim_id], record_of(result), RECORD_TOLERANCES[claim_id]) == []
