"""The saved form of a causal counterexample: a forest and a fixed π or a finite prior as plain JSON.

One codec for every claim of spec 1 that saves cases (``Outcome.counterexamples``) and replays them
(``proofs-check replay``): ``{"parents": [[p] or [], ...], "pi": S×S}`` or ``{"parents": ..., "matrices":
m×S×S, "weights": m}``, plus the claim's own fields (``roots``, ``kind``, ``violation``...).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from theory.graphs import CausalGraph
from theory.priors import FinitePrior

__all__ = ["causal_case", "causal_from_case"]


def causal_case(graph: CausalGraph, source: Any, **extra: Any) -> dict:
    """The JSON case of ``graph`` with a fixed ``π`` (an ``(S, S)`` array) or a ``FinitePrior``, and ``extra``."""
    if isinstance(source, FinitePrior):
        law = {"matrices": source.matrices.tolist(), "weights": source.weights.tolist()}
    else:
        law = {"pi": np.asarray(source).tolist()}
    return {"parents": [list(ps) for ps in graph.parents], **law, **extra}


def causal_from_case(case: dict) -> tuple[CausalGraph, Any]:
    """Inverse of :func:`causal_case`: the graph and the fixed π (float64) or finite prior of a saved case."""
    graph = CausalGraph.from_parents([list(ps) if ps else None for ps in case["parents"]])
    if "matrices" in case:
        return graph, FinitePrior(case["matrices"], case["weights"])
    return graph, np.asarray(case["pi"], dtype=np.float64)
