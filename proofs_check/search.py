"""Property searches: the worst case of a quantity over a hypothesis strategy, and a shrunk counterexample."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from hypothesis import HealthCheck, Phase, given, seed, settings, target
from hypothesis.strategies import SearchStrategy

__all__ = ["SearchResult", "search"]

_QUIET = dict(database=None, deadline=None, suppress_health_check=list(HealthCheck), print_blob=False)


@dataclass
class SearchResult:
    worst: float  # the largest violation seen (-inf if no example was drawn)
    examples: int
    counterexample: Any = None  # shrunk by hypothesis, or None when no violation > tolerance was seen
    counterexample_violation: float | None = None


class _Violation(AssertionError):
    pass


@contextmanager
def _source_literals_ignored() -> Iterator[None]:
    """Hypothesis (6.130 on) also draws literal constants harvested from every *local* module loaded in
    the process, so the same seed would give a different case depending on which of the project's
    modules are imported (a test module, a new constant in an unrelated file).  A search must depend on
    its seed alone: for its duration the local-constant pool is empty (the global pool stays)."""
    try:
        from hypothesis.internal.conjecture import providers
        empty = providers.Constants()
        original = providers._get_local_constants
    except (ImportError, AttributeError):  # an older or newer hypothesis without that pool
        yield
        return
    providers.CONSTANTS_CACHE.cache.clear()
    providers._get_local_constants = lambda: empty
    try:
        yield
    finally:
        providers._get_local_constants = original
        providers.CONSTANTS_CACHE.cache.clear()


def search(strategy: SearchStrategy, violation: Callable[[Any], float], tolerance: float, *,
           max_examples: int, seed_value: int = 0) -> SearchResult:
    """Draw up to ``max_examples`` examples, steering towards larger ``violation(example)``
    (hypothesis's targeting), and track its maximum.  The first example with
    ``violation > tolerance`` is shrunk by hypothesis; the shrunk one is returned.

    Deterministic for a given ``seed_value``, whatever else the process has imported.
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
        with _source_literals_ignored():
            explore()
    except _Violation:
        pass
    result = SearchResult(seen["worst"], seen["count"])
    if seen["failing"] is not None:
        result.counterexample, result.counterexample_violation = seen["failing"]
    return result
