"""-j N, --jsonl/--resume, -x, Ctrl-C, progress lines and the command line's guards, on fast real claims."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from proofs_check.cli import main
from proofs_check.records import run_differences
from proofs_check.report import PNG_MAGIC

FAST = ["ar.identity", "causal.data_processing", "causal.parent_chi2_identity", "causal.chi2_information_psd"]
# No hypothesis search among these: hypothesis mixes constants from the source of every loaded local module
# into its draws, so a search's case depends on which modules a process imported (see the lead's issue)
DETERMINISTIC = ["ar.identity", "ar.raw_token_loss", "ar.positional_weights", "causal.symbolic_chi2_parent"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _claim_args(ids):
    return [a for i in ids for a in ("--claim", i)]


def _records(path):
    """The --json records without run times (top-level and in details), which differ between any two runs."""
    claims = json.load(open(path))["claims"]
    for c in claims:
        c.pop("seconds")
    return claims


def _env(**extra):
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), **extra}
    env.pop("CI", None)
    return {**env, **extra}


def test_two_workers_give_the_serial_records_and_figures(tmp_path, capsys):
    serial, parallel = tmp_path / "serial.json", tmp_path / "parallel.json"
    claims = DETERMINISTIC  # in registry order; ar.positional_weights draws a figure
    assert main(["run", "--quick", *_claim_args(claims), "--json", str(serial), "--report", str(tmp_path / "a")]) == 0
    assert "workers" not in capsys.readouterr().out.splitlines()[1]
    assert main(["run", "--quick", *_claim_args(claims), "-j", "2", "--json", str(parallel),
                 "--report", str(tmp_path / "b")]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("on 2 workers, longest jobs first")
    assert [c["id"] for c in _records(parallel)] == claims  # registry order, whatever the arrival order
    assert run_differences(_records(serial), _records(parallel)) == []
    for folder in ("a", "b"):
        png = tmp_path / folder / "figures" / "ar.positional_weights.png"
        assert png.read_bytes()[:8] == PNG_MAGIC
    assert (tmp_path / "a/figures/ar.positional_weights.png").read_bytes() == \
        (tmp_path / "b/figures/ar.positional_weights.png").read_bytes()


def test_jsonl_then_resume_runs_only_the_missing_claims(tmp_path, capsys):
    log = tmp_path / "run.jsonl"
    assert main(["run", "--quick", *_claim_args(FAST[:2]), "--jsonl", str(log)]) == 0
    first = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["id"] for r in first] == FAST[:2] and all(r["profile"] == "quick" and r["seed"] == 0 for r in first)
    capsys.readouterr()
    out = tmp_path / "all.json"
    assert main(["run", "--quick", *_claim_args(FAST), "--resume", str(log), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "2 of these were read from" in text and "2 run now" in text
    assert all(cid in text for cid in FAST)  # the whole table
    assert [r["id"] for r in map(json.loads, log.read_text().splitlines())] == FAST
    # the resumed records are the recorded ones, exactly
    by_id = {r["id"]: r for r in _records(out)}
    for r in first:
        r = {k: v for k, v in r.items() if k not in ("profile", "seed", "device", "seconds")}
        assert by_id[r["id"]] == r


def test_resume_refuses_another_seed_or_a_broken_file(tmp_path, capsys):
    log = tmp_path / "run.jsonl"
    assert main(["run", "--quick", "--claim", FAST[0], "--jsonl", str(log)]) == 0
    capsys.readouterr()
    assert main(["run", "--quick", "--claim", FAST[0], "--seed", "1", "--resume", str(log)]) == 2
    assert "seed" in capsys.readouterr().err
    log.write_text("not json\n" + log.read_text())
    assert main(["run", "--quick", "--claim", FAST[0], "--resume", str(log)]) == 2
    assert "line 1" in capsys.readouterr().err
    assert main(["run", "--quick", "--claim", FAST[0], "--resume", str(tmp_path / "missing.jsonl")]) == 2


def test_exitfirst_stops_at_the_first_unexpected_verdict(tmp_path, capsys):
    # S=5 makes S a one-element tuple while n keeps two sizes: train_argmax_parent raises, verdict error
    ids = ["causal.train_argmax_parent", "causal.train_initial_direction"]
    out = tmp_path / "x.json"
    assert main(["run", "--quick", *_claim_args(ids), "--param", "S=5", "-x", "--json", str(out)]) == 1
    text = capsys.readouterr().out
    assert "1 claim(s) not run" in text
    assert [r["id"] for r in _records(out)] == ids[:1]


def test_progress_is_one_flushed_line_per_claim_when_piped(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "proofs_check", "run", "--quick", *_claim_args(FAST[:2])],
                          capture_output=True, text=True, cwd=tmp_path, env=_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    # the estimate first, then one line per claim, and the wall time beside the estimate at the end
    assert lines[0].startswith("2 claim(s) to run, estimated ") and "one at a time on 2 cores" in lines[0]
    assert lines[1].startswith("[1/2] ar.identity  holds  pass  ") and lines[1].endswith("s")
    assert lines[2].startswith("[2/2] causal.data_processing  holds  pass  ")
    assert any(line.startswith("wall time ") and "(estimated " in line for line in lines[3:])


def test_ctrl_c_keeps_the_finished_claims_and_exits_130(tmp_path):
    log = tmp_path / "run.jsonl"
    # two fast claims, then one that takes seconds: the interrupt (sent within 0.2 s of the second record)
    # always finds it running
    ids = ["ar.identity", "causal.data_processing", "ar.global_minima"]
    proc = subprocess.Popen([sys.executable, "-m", "proofs_check", "run", "--quick", "-j", "2",
                             *_claim_args(ids), "--jsonl", str(log)], cwd=tmp_path, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None and (not log.exists()
                                                                     or len(log.read_text().splitlines()) < 2):
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert len(err.strip().splitlines()) == 1 and "interrupted: 2 of 3 claims finished" in err
    # the file keeps each finished claim once, in the order they finished, which the two workers decide
    finished = [json.loads(line)["id"] for line in log.read_text().splitlines()]
    assert sorted(finished) == sorted(ids[:2])


def test_a_file_shadowing_a_package_is_refused(tmp_path):
    (tmp_path / "model.py").write_text("raise RuntimeError('the user model')\n")
    proc = subprocess.run([sys.executable, "-m", "proofs_check", "list"], capture_output=True, text=True,
                          cwd=tmp_path, env=_env(), timeout=120)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "model.py shadows the toolkit's package 'model'" in proc.stderr


def test_version(capsys):
    from importlib import metadata

    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"proofs-check {metadata.version('icl-theory-check')}"


def test_bad_backend_arguments_are_refused_before_any_work(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:
        main(["run", "--quick", "-j", "0"])
    assert stop.value.code == 2 and "positive integer" in capsys.readouterr().err
    for argv, message in ((["run", "--quick", "-j", "2", "--scheduler", "tcp://127.0.0.1:1"], "choose one"),
                          (["run", "--quick", "--jsonl", "a.jsonl", "--resume", "b.jsonl"], "different files")):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())
