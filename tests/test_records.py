"""Same seed, same records: the quick profile's verdicts and measured values against a committed snapshot.

The snapshot (tests/data/quick_records.json) was taken before the re-cut of the code by role
(one owner per formula); moving code must not move a number.  "The same" is the rule of
:mod:`proofs_check.records`: verdicts, counts, booleans and symbolic zeros exactly (they are exact by
construction), floating-point values within the tolerance each claim's computation justifies
(``RECORD_TOLERANCES``, with the reason), so that the snapshot holds on any CPU, BLAS kernel family
and thread count.  When a claim's mathematics changes on purpose, regenerate it with
``python tests/test_records.py --write`` and say why in the commit.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from proofs_check.records import RECORD_TOLERANCES, ROUND_OFF, record_differences, record_of
from proofs_check.registry import Profile, all_claims
from proofs_check.runner import run_claims, select

SNAPSHOT = Path(__file__).resolve().parent / "data" / "quick_records.json"


def quick_records() -> dict[str, dict]:
    profile = Profile("quick", seed=0)
    return {r.claim.id: record_of(r) for r in run_claims(select(all_claims(), profile), profile)}


@pytest.fixture(scope="module")
def records() -> dict[str, dict]:
    return quick_records()


def test_every_snapshot_claim_gives_the_same_record(records):
    snapshot = json.loads(SNAPSHOT.read_text())["claims"]
    changed = {cid: record_differences(old, records.get(cid), RECORD_TOLERANCES[cid])
               for cid, old in snapshot.items()}
    changed = {cid: diff for cid, diff in changed.items() if diff}
    assert not changed, f"records moved for {sorted(changed)}: {changed}"


def test_the_snapshot_covers_every_quick_claim(records):
    snapshot = json.loads(SNAPSHOT.read_text())["claims"]
    assert set(records) == set(snapshot), sorted(set(records) ^ set(snapshot))


def test_every_claim_declares_how_its_record_may_move():
    assert set(RECORD_TOLERANCES) == set(all_claims()), sorted(set(RECORD_TOLERANCES) ^ set(all_claims()))


def test_the_rule_separates_round_off_from_a_real_change():
    old = {"verdict": "holds", "measured": 0.5, "tests": [0.5, 3, True, 4.4e-16]}
    moved = {"verdict": "holds", "measured": 0.5 * (1 + 1e-12), "tests": [0.5 * (1 + 1e-12), 3, True, 8.9e-16]}
    assert record_differences(old, moved, ROUND_OFF) == []
    # a real change: another value, another count, another verdict, a round-off error become a real error
    for key, value in (("measured", 0.5001), ("verdict", "refuted")):
        assert record_differences(old, {**moved, key: value}, ROUND_OFF)
    for k, value in ((1, 4), (2, False), (3, 1e-6)):
        tests = list(moved["tests"])
        tests[k] = value
        assert record_differences(old, {**moved, "tests": tests}, ROUND_OFF) == [
            f"tests[{k}]: {old['tests'][k]!r} -> {value!r}"]


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/test_records.py --write")
    data = json.loads(SNAPSHOT.read_text())
    data["claims"] = quick_records()
    SNAPSHOT.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {len(data['claims'])} records to {SNAPSHOT}")
