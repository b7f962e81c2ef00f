"""Formulas as the papers' published code computes them, where that differs from the formula in the paper.

One concern: reproducing a published number exactly, deviation included, so that a
measurement can be compared with the published figure line by line and the size of
the deviation can be measured (``numerics.published_bayes``).  Each function names the
published source, what it computes, what the paper's formula is, and why they differ.
The correct formulas stay with their owners (here: :func:`theory.estimators.count_estimator`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from theory import validate
from theory.graphs import CausalGraph, as_causal_graph

__all__ = ["published_parent_positions", "count_estimator_as_published"]


def published_parent_positions(graph: CausalGraph) -> np.ndarray:
    """``(n,)`` int: the position the published "Bayes" code reads as the parent of each context position.

        p̃(i) = p(i)     for a non-root i,
        p̃(i) = n - 1    for a root i,

    because the code stores a root's parent as ``-1`` and indexes the context
    ``x_0 .. x_{n-1}`` with it: NumPy/JAX negative indexing reads ``x_{n-1}``, the last context
    token (a root at ``n - 1`` reads itself).  Forests only.
    """
    graph = as_causal_graph(graph)
    graph.require_forest("published_parent_positions")
    par = graph.parent_array()
    return np.where(par >= 0, par, graph.n - 1)


def count_estimator_as_published(graph: CausalGraph, tokens: Any, alpha: float, S: int) -> np.ndarray:
    """The "Bayes" line of Nichani, Damian & Lee (2024) as its official code computes it; ``(B, S)``.

    Source: ``InContextTree.bayes`` in ``problems.py`` of the authors' repository
    (github.com/eshnich/transformers-learn-causal-structure), used for the Bayes lines of
    Figures 2, 6 and 9.  It splits a sequence into the query ``s = x_n`` and the context
    ``x_0 .. x_{n-1}``, and adds ``[x_{dag[i]} = s]`` to the count of ``x_i`` for every context
    position ``i``, with ``dag[i] = -1`` for a root.  Negative indexing turns ``-1`` into the
    last *context* token ``x_{n-1}`` (the array indexed is the context, not the whole sequence,
    so it is never the query itself).  With ``p̃`` of :func:`published_parent_positions`:

        c̃_s = #{i non-root : x_{p(i)} = x_n, x_i = s} + [x_{n-1} = x_n] · #{i root : x_i = s}
        ŷ_s = (α + c̃_s) / (S·α + Σ_t c̃_t)

    The paper's estimator (:func:`theory.estimators.count_estimator`) has only the first term: a
    root has no parent and is no sample of ``π(x_n, ·)``.  So the two agree exactly on every
    sequence whose last context token differs from the query, and otherwise the published one
    adds one spurious count for every root, at the root's token (drawn from ``μ_π``, not
    from ``π(x_n, ·)``).  On the in-context Markov chain only position 0 is a root, so the
    deviation is one count in about ``1/S`` of the sequences; on ``icl_pairs`` and on
    Figure 9's random graphs about half the positions are roots, and the deviation is large.

    ``tokens``: ``(B, T)`` ints in ``0..S-1`` with the query last (``T = n + 1``).  Forests only.
    """
    graph = as_causal_graph(graph)
    alpha = validate.finite_float(alpha, "alpha", positive=True)
    S = validate.positive_int(S, "S", minimum=2, maximum=validate.MAX_STATES)
    graph.require_forest("count_estimator_as_published")
    x = validate.token_array(tokens, "tokens", S, graph.n + 1)
    B, n = x.shape[0], graph.n
    match = x[:, published_parent_positions(graph)] == x[:, -1:]  # (B, n): "parent" token equals the query
    counts = np.zeros((B, S))
    np.add.at(counts, (np.repeat(np.arange(B), n), x[:, :n].ravel()), match.ravel())
    return (alpha + counts) / (S * alpha + counts.sum(axis=1, keepdims=True))
