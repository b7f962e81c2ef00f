"""--scheduler on a real dask.distributed LocalCluster (two worker processes on the loopback interface)."""

from __future__ import annotations

import json
import sys

import pytest

from proofs_check.cli import main
from proofs_check.records import RECORD_TOLERANCES, differences, run_differences

distributed = pytest.importorskip("dask.distributed")

FAST = ["ar.identity", "ar.raw_token_loss", "causal.symbolic_chi2_parent"]  # no hypothesis search (test_parallel)


@pytest.fixture(scope="module")
def scheduler():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address=None)
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


def _records(path):
    claims = json.load(open(path))["claims"]
    for c in claims:
        c.pop("seconds")
    return claims


def test_distributed_run_gives_the_local_records(scheduler, tmp_path, capsys):
    args = ["run", "--quick", *[a for i in FAST for a in ("--claim", i)]]
    assert main([*args, "--json", str(tmp_path / "local.json")]) == 0
    assert main([*args, "--scheduler", scheduler, "--json", str(tmp_path / "dask.json"),
                 "--jsonl", str(tmp_path / "dask.jsonl")]) == 0
    assert [c["id"] for c in _records(tmp_path / "dask.json")] == FAST
    assert run_differences(_records(tmp_path / "local.json"), _records(tmp_path / "dask.json")) == []
    assert sorted(json.loads(line)["id"] for line in open(tmp_path / "dask.jsonl")) == sorted(FAST)


def test_sweep_through_the_cluster(scheduler, tmp_path, capsys):
    common = ["sweep", "ar.gd_step_loss", "--grid", "samples=500,5000", "--seeds", "2", "--quick"]
    assert main([*common, "--out", str(tmp_path / "local")]) == 0
    assert main([*common, "--scheduler", scheduler, "--out", str(tmp_path / "dask")]) == 0

    def records(folder):
        rows = json.loads((tmp_path / folder / "sweep.json").read_text())["records"]
        return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]

    assert differences(records("local"), records("dask"), RECORD_TOLERANCES["ar.gd_step_loss"]) == []
    assert (tmp_path / "dask" / "sweep.png").exists()


def test_missing_dask_is_one_line_with_the_install_command(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # import fails as if not installed
    assert main(["run", "--quick", "--claim", FAST[0], "--scheduler", "tcp://127.0.0.1:8786"]) == 2
    err = capsys.readouterr().err
    assert "pip install -e '.[distributed]'" in err and len(err.strip().splitlines()) == 1
