"""How long a claim takes, said before it runs.

``proofs-check list --profile P`` prints each claim's estimated wall time on this kind of machine
(2 cores, one claim at a time) and the total.  The estimate comes, in this order, from

- the wall time recorded for the claim in this profile (``claim_seconds.json`` beside this module,
  written from a run's ``--json`` by ``python -m proofs_check.timings --record FILE``): a measurement of
  these very settings on this kind of machine;
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

__all__ = ["RECORDED", "estimate_seconds", "format_seconds", "recorded_seconds"]

RECORDED = Path(__file__).resolve().parent / "claim_seconds.json"


def recorded_seconds() -> dict[str, dict[str, float]]:
    """``{profile: {claim id: seconds}}`` from the committed record (empty when there is none)."""
    if not RECORDED.exists():
        return {}
    return json.loads(RECORDED.read_text())["seconds"]


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


def format_seconds(seconds: float | None) -> str:
    """``42 s``, ``3.5 min``, ``2.1 h``; ``?`` when unknown."""
    if seconds is None:
        return "?"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _record(paths: list[str]) -> None:
    data: dict[str, Any] = {"note": "wall seconds per claim on the 2-core machine, one claim at a time; written "
                                    "by python -m proofs_check.timings --record RUN.json",
                            "seconds": recorded_seconds()}
    known = all_claims()
    for path in paths:
        run = json.loads(Path(path).read_text())
        profile = run["profile"]
        for c in run["claims"]:
            if c["id"] in known:
                data["seconds"].setdefault(profile, {})[c["id"]] = round(float(c["seconds"]), 1)
    RECORDED.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"recorded {sum(len(v) for v in data['seconds'].values())} timings in {RECORDED}")


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] != "--record":
        sys.exit("usage: python -m proofs_check.timings --record RUN.json [RUN.json ...]")
    _record(sys.argv[2:])
