"""Runs that survive a dying process: a killed local worker, a killed Dask worker, a killed run resumed.

Every fault is a real ``SIGKILL`` on a real process.  The claims are quick-profile ones with no hypothesis
search (a search's cases depend on which modules a process imported, see ``tests/test_parallel.py``), so
each survivor's record must be the serial run's, within :data:`proofs_check.records.RECORD_TOLERANCES`.
The kills wait on conditions (a worker computing, a task executing, a line in a file), never on a guessed
delay, and nothing asserts a time.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from proofs_check.cli import main
from proofs_check.parallel import Task, run_tasks
from proofs_check.records import run_differences
from proofs_check.registry import Profile, all_claims
from proofs_check.runner import jsonl_record, run_claim

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

# quick-profile seconds on the idle 2-core machine: 0.2-0.5 each for FAST, about 3 for LONG (20 under heavy
# load); a LONG claim outlasts a poll of the file it is about to be written to many times over
FAST = ["ar.identity", "ar.raw_token_loss", "causal.train_initial_direction"]
LONG = ["ar.global_minima", "ar.positional_gd_path"]
QUICK = Profile("quick", 0)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEADLINE = 120.0  # seconds to wait for a condition on a loaded machine before the test fails


def _claim_args(ids):
    return [a for i in ids for a in ("--claim", i)]


def _env():
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("CI", None)
    return env


def _record(result):
    """A result's ``--jsonl`` record (through JSON, as the command line writes it), without profile, seed and device."""
    record = json.loads(jsonl_record(result, QUICK))
    del record["profile"], record["seed"], record["device"]
    return record


@pytest.fixture(scope="module")
def serial():
    """Each claim's record from an uninterrupted serial run in this process, by claim id."""
    claims = all_claims()
    return {cid: _record(run_claim(claims[cid], QUICK)) for cid in FAST + LONG}


def _spawned_workers(psutil, known: set[int]) -> list:
    """This process's children started by ``multiprocessing`` spawn (the worker processes), not in ``known``."""
    workers = []
    for p in psutil.Process().children():
        try:
            if p.pid not in known and "spawn_main" in " ".join(p.cmdline()):
                workers.append(p)
        except psutil.Error:  # ended meanwhile
            pass
    return workers


def _busy(workers, steps: int = 5, step: float = 0.1):
    """The first of ``workers`` whose CPU time grows in each of ``steps`` steps of ``step`` seconds: one
    computing a claim, never one idle between claims (an idle worker blocks on its pipe; the threads of
    its last claim stop spinning within milliseconds)."""
    def cpu(w) -> float:
        return sum(w.cpu_times()[:2])  # user + system, all threads

    last, streak = {w.pid: cpu(w) for w in workers}, {w.pid: 0 for w in workers}
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        time.sleep(step)
        for w in workers:
            now = cpu(w)
            streak[w.pid] = streak[w.pid] + 1 if now > last[w.pid] else 0
            last[w.pid] = now
            if streak[w.pid] >= steps:
                return w
    pytest.fail(f"no worker computed for {steps * step:.1f} s on end within {DEADLINE:.0f} s")


def test_a_killed_local_worker_costs_its_claim_only(serial):
    psutil = pytest.importorskip("psutil")
    ids = [FAST[0], *LONG, *FAST[1:]]  # one fast claim, the long ones (side by side, mostly), two more
    before = {p.pid for p in psutil.Process().children()}
    finished: list[str] = []
    killed: list[tuple[int, list[str]]] = []  # the pid, the claims in flight when it was killed

    def kill_a_busy_worker(running):
        # after the first result both workers are warm: the one killed is computing a claim, not starting up
        if killed or not finished:
            return
        workers = _spawned_workers(psutil, before)
        assert len(workers) == 2, [w.cmdline() for w in workers]
        victim = _busy(workers)
        os.kill(victim.pid, signal.SIGKILL)
        killed.append((victim.pid, [t.claim_id for t in running]))

    results = run_tasks([Task(cid) for cid in ids], all_claims(), jobs=2, on_start=kill_a_busy_worker,
                        on_result=lambda index, result: finished.append(result.claim.id))
    assert killed, "the run ended before a second claim started"
    pid, in_flight = killed[0]
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE

    victims = [r for r in results if r.verdict == "error"]
    assert len(victims) == 1 and victims[0].claim.id in in_flight, [(r.claim.id, r.verdict) for r in results]
    victim = victims[0]
    assert victim.error == f"WorkerDied: the worker process (pid {pid}) running this claim died: killed by SIGKILL"
    assert victim.reason == f"the worker failed: {victim.error}" and victim.status == "error"
    # every other claim, those started after the kill included (on a fresh worker), is the serial run's
    survivors = [r for r in results if r is not victim]
    assert [r.status for r in survivors] == ["pass"] * (len(ids) - 1)
    assert run_differences([serial[r.claim.id] for r in survivors], [_record(r) for r in survivors]) == []


def test_a_killed_dask_worker_is_replaced_and_its_claim_rerun(serial):
    distributed = pytest.importorskip("dask.distributed")
    ids = [FAST[0], LONG[0], *FAST[1:]]
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address=None)
    client = distributed.Client(cluster, set_as_default=False)
    try:
        pids = client.run(os.getpid)  # worker address -> pid
        killed: list[int] = []

        def kill_the_long_claims_worker(running):
            if killed or LONG[0] not in {t.claim_id for t in running}:
                return
            deadline = time.monotonic() + DEADLINE
            while time.monotonic() < deadline:  # until a worker is executing it (the key names the claim)
                executing = client.run(lambda dask_worker: [str(ts.key) for ts in dask_worker.state.executing])
                holder = [a for a, keys in executing.items() if any(LONG[0] in k for k in keys)]
                if holder:
                    os.kill(pids[holder[0]], signal.SIGKILL)
                    killed.append(pids[holder[0]])
                    return
                time.sleep(0.05)
            pytest.fail(f"no worker started {LONG[0]} within {DEADLINE:.0f} s")

        results = run_tasks([Task(cid) for cid in ids], all_claims(), client=client,
                            on_start=kill_the_long_claims_worker)
        assert killed
        assert killed[0] not in client.run(os.getpid).values()  # that worker is gone, not merely idle
    finally:
        client.close()
        cluster.close()
    assert [r.claim.id for r in results] == ids
    assert [r.status for r in results] == ["pass"] * len(ids), [(r.claim.id, r.verdict, r.reason) for r in results]
    assert run_differences([serial[cid] for cid in ids], [_record(r) for r in results]) == []


def _lines(path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_a_killed_run_resumes_with_the_uninterrupted_records(serial, tmp_path):
    log, out = tmp_path / "run.jsonl", tmp_path / "all.json"
    # registry order, the order of a serial run: the kill comes after the first line, while the long claim runs
    ids = [FAST[0], LONG[0], FAST[2]]
    command = [sys.executable, "-m", "proofs_check", "run", "--quick", *_claim_args(ids)]
    proc = subprocess.Popen([*command, "--jsonl", str(log)], cwd=tmp_path, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + DEADLINE
    while proc.poll() is None and not _lines(log) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.kill()
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL, err

    text = log.read_text()
    assert text.endswith("\n")  # each line is written whole, newline included
    first = [json.loads(line) for line in text.splitlines()]
    assert 1 <= len(first) < len(ids) and [r["id"] for r in first] == ids[:len(first)]

    resumed = subprocess.run([*command, "--resume", str(log), "--json", str(out)], cwd=tmp_path, env=_env(),
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    missing = ids[len(first):]
    # one progress line per claim run now, and only for those
    assert [line.split()[1] for line in resumed.stdout.splitlines() if line.startswith("[")] == missing
    assert f"{len(first)} of these were read from" in resumed.stdout and f"{len(missing)} run now" in resumed.stdout
    assert [json.loads(line)["id"] for line in _lines(log)] == ids
    claims = json.loads(out.read_text())["claims"]
    assert run_differences([serial[cid] for cid in ids], claims) == []


def test_resume_drops_a_last_line_cut_short_and_reruns_its_claim(tmp_path, capsys):
    log = tmp_path / "run.jsonl"
    ids = [FAST[0], "causal.data_processing"]  # registry order; fast
    assert main(["run", "--quick", *_claim_args(ids), "--jsonl", str(log)]) == 0
    whole = log.read_text()
    log.write_text(whole[:len(whole) - len(whole.splitlines()[1]) // 2])  # killed halfway through line 2
    capsys.readouterr()
    assert main(["run", "--quick", *_claim_args(ids), "--resume", str(log)]) == 0
    out = capsys.readouterr().out
    assert f"--resume: the last line of {log} was cut short" in " ".join(out.split())
    assert "1 of these were read from" in out and "1 run now" in out
    # the fragment is gone, not glued to the new record: every line is whole
    assert [json.loads(line)["id"] for line in _lines(log)] == ids and log.read_text().endswith("\n")
