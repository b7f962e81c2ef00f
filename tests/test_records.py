"""Same seed, same records: the quick profile's verdicts and measured values against a committed snapshot.

The snapshot (tests/data/quick_records.json) was taken before the re-cut of the code by role
(one owner per formula); moving code must not move a number.  When a claim's mathematics changes
on purpose, regenerate it with ``python tests/test_records.py --write`` and say why in the commit.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from proofs_check.registry import Profile, all_claims
from proofs_check.runner import run_claims, select

SNAPSHOT = Path(__file__).resolve().parent / "data" / "quick_records.json"


def quick_records() -> dict[str, dict]:
    profile = Profile("quick", seed=0)
    results = run_claims(select(all_claims(), profile), profile)
    return {r.claim.id: {"verdict": r.verdict, "measured": r.measured, "tests": [t.value for t in r.tests]}
            for r in results}


@pytest.fixture(scope="module")
def records() -> dict[str, dict]:
    return quick_records()


def test_every_snapshot_claim_gives_the_same_record(records):
    snapshot = json.loads(SNAPSHOT.read_text())["claims"]
    changed = {cid: (old, records.get(cid)) for cid, old in snapshot.items() if records.get(cid) != old}
    assert not changed, f"records moved for {sorted(changed)}: {changed}"


def test_the_snapshot_covers_every_quick_claim(records):
    snapshot = json.loads(SNAPSHOT.read_text())["claims"]
    assert set(records) == set(snapshot), sorted(set(records) ^ set(snapshot))


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/test_records.py --write")
    data = json.loads(SNAPSHOT.read_text())
    data["claims"] = quick_records()
    SNAPSHOT.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {len(data['claims'])} records to {SNAPSHOT}")
