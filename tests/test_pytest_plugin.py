"""The pytest plugin, run as a user runs it: pytest in a fresh folder, as a subprocess, on the real claims.

Only fast claims are selected (``-k``): the symbolic ones, the pairwise joint law and the
Shannon boundary, a few seconds of checking in all.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from proofs_check.registry import all_claims

FAST = "symbolic or pairwise_joint or shannon"
SHANNON = "causal.shannon_information_not_psd"
USER_TEST = "def test_alone():\n    assert 1 + 1 == 2\n"


def _pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_XDIST", "PYTEST_CURRENT_TEST"))}
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "pytest", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def _cases(junit: Path) -> dict[str, ET.Element]:
    """``{classname::name: testcase}`` of a JUnit XML file."""
    return {f"{c.get('classname')}::{c.get('name')}": c for c in ET.parse(junit).iter("testcase")}


def _fast_ids() -> set[str]:
    words = [w.strip() for w in FAST.split(" or ")]
    return {cid for cid, c in all_claims().items() if c.quick and any(w in cid for w in words)}


def _shows(proc: subprocess.CompletedProcess) -> str:
    return f"exit {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"


def test_quick_claims_are_items_and_a_boundary_is_xfailed(tmp_path):
    (tmp_path / "test_user.py").write_text(USER_TEST)
    proc = _pytest(tmp_path, "--proofs-check=quick", "-k", FAST, "--proofs-check-seed", "3",
                   "--junitxml=junit.xml", "-ra")
    assert proc.returncode == 0, _shows(proc)
    assert "proofs-check: quick profile, seed 3" in proc.stdout
    cases = _cases(tmp_path / "junit.xml")
    # only the claims: with no path given, the folder's own test file is not collected
    assert set(cases) == {f"proofs-check::{cid}" for cid in _fast_ids()}
    assert len(cases) >= 3 and f"proofs-check::{SHANNON}" in cases
    for name, case in cases.items():
        outcome = [child.tag for child in case if child.tag != "properties"]
        properties = {p.get("name"): p.get("value") for p in case.iter("property")}
        if name.endswith(SHANNON):
            (skipped,) = case.iter("skipped")
            assert skipped.get("type") == "pytest.xfail"
            assert "refuted as expected" in skipped.get("message") and "required >=" in skipped.get("message")
            assert properties["verdict"] == "refuted" and properties["kind"] == "boundary"
        else:
            assert outcome == [], (name, outcome)
            assert properties["verdict"] == "holds"
    assert f"XFAIL proofs-check::{SHANNON}" in proc.stdout


def test_unexpected_verdict_fails_with_the_reason_and_last_failed_reruns_it(tmp_path):
    # with 3 variables no counterexample exists (PSD is proved for n <= 3): the boundary is not found
    proc = _pytest(tmp_path, "--proofs-check=quick", "-k", "shannon or pairwise_joint",
                   "--proofs-check-param", "variables=3")
    assert proc.returncode == 1, _shows(proc)
    assert "1 failed, 1 passed" in proc.stdout
    assert "verdict holds, expected refuted (boundary): the search found no counterexample" in proc.stdout
    assert f"reproduce: proofs-check run --quick --claim {SHANNON} --seed 0 --param variables=3" in proc.stdout
    assert "Traceback" not in proc.stdout and "pytest_plugin.py" not in proc.stdout
    assert f"FAILED proofs-check::{SHANNON} - verdict holds" in proc.stdout

    again = _pytest(tmp_path, "--proofs-check=quick", "--lf", "--junitxml=junit.xml")
    assert again.returncode == 0, _shows(again)
    assert "rerun previous 1 failure" in again.stdout
    (case,) = _cases(tmp_path / "junit.xml").values()
    assert case.get("name") == SHANNON and case.find("skipped") is not None


def test_without_the_option_a_user_test_runs_alone_and_with_a_path_both_run(tmp_path):
    (tmp_path / "test_user.py").write_text(USER_TEST)
    alone = _pytest(tmp_path, "--junitxml=alone.xml")
    assert alone.returncode == 0, _shows(alone)
    assert list(_cases(tmp_path / "alone.xml")) == ["test_user::test_alone"]
    assert "proofs-check" not in alone.stdout

    # a claim's node id, as a report prints it, names the claim beside a path
    both = _pytest(tmp_path, "--proofs-check=quick", "proofs-check::causal.pairwise_joint", "test_user.py",
                   "--junitxml=both.xml")
    assert both.returncode == 0, _shows(both)
    assert set(_cases(tmp_path / "both.xml")) == {"test_user::test_alone", "proofs-check::causal.pairwise_joint"}


def test_xdist_workers_collect_the_same_claims(tmp_path):
    proc = _pytest(tmp_path, "--proofs-check=quick", "-k", FAST, "-n", "2", "--junitxml=junit.xml")
    assert proc.returncode == 0, _shows(proc)
    cases = _cases(tmp_path / "junit.xml")
    assert set(cases) == {f"proofs-check::{cid}" for cid in _fast_ids()}
    assert cases[f"proofs-check::{SHANNON}"].find("skipped").get("type") == "pytest.xfail"


def test_undeclared_parameter_is_a_usage_error(tmp_path):
    proc = _pytest(tmp_path, "--proofs-check=quick", "--proofs-check-param", "no_such=3")
    assert proc.returncode == 4, _shows(proc)
    assert "--proofs-check-param: 'no_such' is not a parameter" in proc.stderr


def test_the_paper_profile_collects_every_claim(tmp_path):
    """In a fresh folder: the paper profile collects every registered claim (quick ones and the rest)."""
    from proofs_check.registry import all_claims

    proc = _pytest(tmp_path, "--proofs-check=paper", "--collect-only", "-q", "-p", "no:cacheprovider")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    collected = {line.split("::", 1)[1] for line in proc.stdout.splitlines() if line.startswith("proofs-check::")}
    assert collected == set(all_claims())
