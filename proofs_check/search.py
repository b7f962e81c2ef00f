"""Property searches: the worst case of a quantity over a hypothesis strategy, and a shrunk counterexample."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from hypothesis import HealthCheck, Phase, given, seed, settings, target
from hypothesis.strategies import SearchStrategy

_QUIET = dict(database=None, deadline=None, suppress_health_check=list(HealthCheck), print_blob=False)


@dataclass
class SearchResult:
    worst: float  # the largest violation seen (-inf if no example was drawn)
    examples: int
    counterexample: Any = None  # shrunk by hypothesis, or None when no violation > tolerance was seen
    counterexample_violation: float | None = None


class _Violation(AssertionError):
    pass


def search(strategy: SearchStrategy, violation: Callable[[Any], float], tolerance: float, *,
           max_examples: int, seed_value: int = 0) -> SearchResult:
    """Draw up to ``max_examples`` examples, steering towards larger ``violation(example)``
    (hypothesis's targeting), and track its maximum.  The first example with
    ``violation > tolerance`` is shrunk by hypothesis; the shrunk one is returned.

    Deterministic for a given ``seed_value``.
    """
    seen: dict[str, Any] = {"worst": float("-inf"), "count": 0, "failing": None}

    @seed(seed_value)
    @settings(max_examples=max_examples, phases=(Phase.generate, Phase.target, Phase.shrink), **_QUIET)
    @given(strategy)
    def explore(example):
        seen["count"] += 1
        v = float(violation(example))
        seen["worst"] = max(seen["worst"], v)
        if v > float("-inf"):
            target(v)
        if v > tolerance:
            seen["failing"] = (example, v)  # the last one recorded is hypothesis's shrunk example
            raise _Violation

    try:
        explore()
    except _Violation:
        pass
    result = SearchResult(seen["worst"], seen["count"])
    if seen["failing"] is not None:
        result.counterexample, result.counterexample_violation = seen["failing"]
    return result
