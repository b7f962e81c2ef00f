"""Run claims and collect verdicts."""

from __future__ import annotations

import fnmatch

import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np

from proofs_check.registry import Claim, Outcome, Profile


@dataclass
class Result:
    claim: Claim
    status: str  # "pass", "fail" or "error"
    measured: float | None
    seconds: float
    outcome: Outcome | None = None
    error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        out = {
            "id": self.claim.id,
            "paper": self.claim.paper,
            "status": self.status,
            "measured": self.measured,
            "tolerance": self.claim.tolerance,
            "seconds": round(self.seconds, 3),
        }
        if self.outcome is not None:
            out["details"] = self.outcome.details
            out["counterexamples"] = self.outcome.counterexamples
        if self.error:
            out["error"] = self.error
        return out


def run_claim(claim: Claim, profile: Profile) -> Result:
    """Run one claim; an exception becomes status ``error`` with its message."""
    start = time.perf_counter()
    try:
        outcome = claim.check(profile)
        measured = float(outcome.measured)
    except Exception as exc:  # a crashing check is reported, not propagated
        return Result(claim, "error", None, time.perf_counter() - start,
                      error=f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}")
    seconds = time.perf_counter() - start
    if not np.isfinite(measured):  # a nan/inf measurement is never a verdict
        return Result(claim, "error", None, seconds, outcome, error=f"non-finite measured value {measured}")
    status = "pass" if outcome.passed else "fail"
    return Result(claim, status, measured, seconds, outcome)


def select(claims: dict[str, Claim], profile: Profile, ids: Iterable[str] | None = None) -> list[Claim]:
    """Claims to run: the named ``ids`` in registry order, else the profile's.

    An id may be a shell-style pattern (``causal.train_*``); a name or pattern that
    matches no claim raises ``ValueError``.  Named claims run whatever the profile.
    """
    if ids:
        unknown = [i for i in ids if not any(fnmatch.fnmatchcase(c, i) for c in claims)]
        if unknown:
            raise ValueError(f"claim: unknown claim id(s) {', '.join(unknown)}; see 'proofs-check list'")
        return [c for cid, c in claims.items() if any(fnmatch.fnmatchcase(cid, i) for i in ids)]
    return [c for c in claims.values() if c.quick or not profile.quick]


def run_claims(selected: list[Claim], profile: Profile,
               on_result: Callable[[Result], None] | None = None) -> list[Result]:
    results = []
    for claim in selected:
        result = run_claim(claim, profile)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results
