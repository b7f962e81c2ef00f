"""In-context estimators of the next-token law ``π(x_n, ·)`` from one sequence (spec 1): the count estimator.

The count estimator is the "Bayes" line of the paper's plots (as the published code computes it:
:func:`theory.published.count_estimator_as_published`); the two-parent estimators of Figures 5 and 7 are in
:mod:`theory.multi_parent`.  Not to be confused with :mod:`theory.estimates`, the type of a Monte Carlo
estimate.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from theory import validate
from theory.graphs import CausalGraph, as_causal_graph

__all__ = ["count_estimator"]


def count_estimator(graph: CausalGraph, tokens: Any, alpha: float, S: int) -> np.ndarray:
    """The in-context bigram estimate ("Bayes" in the paper's plots).

        ŷ_s = (α + #{i : x_{p(i)} = x_n, x_i = s}) / (S·α + #{i : x_{p(i)} = x_n})

    ``tokens``: ``(B, T)`` with the query last → ``(B, S)``.  It is the exact
    posterior mean of ``π(x_n, ·)`` under the Dirichlet prior only with uniform
    roots; with stationary roots the roots' likelihood also depends on ``π``.
    Forests only.
    """
    graph = as_causal_graph(graph)
    alpha = validate.finite_float(alpha, "alpha", positive=True)
    S = validate.positive_int(S, "S", minimum=2)
    graph.require_forest("count_estimator")
    x = validate.token_array(tokens, "tokens", S, graph.n + 1)
    par = graph.parent_array()
    child = np.flatnonzero(par >= 0)
    match = x[:, par[child]] == x[:, -1:]  # (B, #children): parent token equals the query
    counts = np.zeros((x.shape[0], S))
    np.add.at(counts, (np.repeat(np.arange(x.shape[0]), len(child)), x[:, child].ravel()), match.ravel())
    return (alpha + counts) / (S * alpha + counts.sum(axis=1, keepdims=True))
