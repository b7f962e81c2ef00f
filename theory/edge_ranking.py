"""Which key each row of ``N`` (or of its drift ``M``) ranks first: the edge ranking's keys (spec 1, sections 4, 5.4).

Layer-1 attention at context row ``i`` is ``softmax_{j<=i} A1[i, j]``: the parent ``p(i)`` competes with the
earlier keys, the row's own key ``j = i``, and at the query row ``n`` (no parent) with every ``j <= n``.  To first
order in β the stage-1 signal is the drift ``M = N - colmean(N)`` of the likelihood-ratio matrix ``N``
(:func:`theory.gradients.likelihood_ratio_matrix`), so these rankings decide where stage 1 puts each row's argmax.

Here: the drift of a given ``N`` (:func:`drift_from_likelihood_ratio`, the one formula behind
:func:`theory.gradients.drift_matrix`), the normalised margins of the diagonal key and of the query row, and the
``S = 2`` Dirichlet(α·1) prior means of those margins.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from theory import validate
from theory.graphs import CausalGraph, ranking_pairs

__all__ = ["drift_from_likelihood_ratio", "diagonal_violation", "query_self_margin",
           "dirichlet_parent_minus_diagonal_mean", "dirichlet_query_self_margin_mean"]


def _square_stack(N: Any, name: str = "N") -> np.ndarray:
    """``N`` as a real ``(..., T, T)`` array, ``T >= 1`` (its dtype kept; large or infinite entries allowed: a
    draws-average of an entry without a prior mean may be huge)."""
    if isinstance(N, (str, bytes)):
        raise ValueError(f"{name}: expected a real (..., T, T) array, got a string")
    try:
        arr = np.asarray(N)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a real (..., T, T) array, got {type(N).__name__}") from None
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"{name}: expected a real (..., T, T) array, got dtype {arr.dtype}")
    if arr.ndim < 2 or arr.shape[-1] != arr.shape[-2] or arr.shape[-1] < 1:
        raise ValueError(f"{name}: expected a (..., T, T) array, got shape {arr.shape}")
    return arr


def drift_from_likelihood_ratio(N: Any) -> np.ndarray:
    """The drift ``M[i, j] = N[i, j] - (1/T) Σ_m N[m, j]`` (each column of ``N`` centred); ``(..., T, T)``.

    :func:`theory.gradients.drift_matrix` is ``M / (S T)`` for the ``N`` of a graph and prior.
    """
    N = _square_stack(N)
    return N - N.mean(axis=-2, keepdims=True)


def diagonal_violation(N: Any, graph: CausalGraph) -> float:
    """``max_i (N[i, i] - N[i, p(i)]) / max|N|`` over the non-root context rows ``i`` (``-inf`` without one):
    > 0 means some row ranks its own key above its parent.  ``N``: ``(T, T)``, ``T = graph.n + 1``."""
    pairs = ranking_pairs(graph, "diagonal")
    N = _square_stack(N)
    if N.shape != (graph.n + 1, graph.n + 1):
        raise ValueError(f"N: expected shape {(graph.n + 1, graph.n + 1)} for a graph on {graph.n} positions, "
                         f"got {N.shape}")
    if len(pairs) == 0:
        return float("-inf")
    i, p = pairs[:, 0], pairs[:, 1]
    return float(np.max(N[i, i] - N[i, p]) / np.max(np.abs(N)))


def query_self_margin(N: Any) -> float:
    """``(N[n, n] - max_{j<n} N[n, j]) / max|N|``: > 0 means the query row ranks its own key first.
    ``N``: ``(T, T)``, ``T >= 2``."""
    N = _square_stack(N)
    if N.ndim != 2 or N.shape[0] < 2:
        raise ValueError(f"N: expected a (T, T) matrix with T >= 2, got shape {N.shape}")
    return float((N[-1, -1] - np.max(N[-1, :-1])) / np.max(np.abs(N)))


def dirichlet_parent_minus_diagonal_mean(alpha: float) -> float:
    """``E[N[i, p(i)] - N[i, i]] = E λ² = 1/(2(2α+1))`` for ``S = 2``, rows of π i.i.d. Dirichlet(α, α)
    (``λ = π00 + π11 - 1``, ``π00, π11`` i.i.d. Beta(α, α); stationary roots; every non-root context row)."""
    alpha = validate.finite_float(alpha, "alpha", positive=True)
    return 1 / (2 * (2 * alpha + 1))


def dirichlet_query_self_margin_mean(alpha: float) -> float:
    """``E[N[n, n] - N[n, j]] = α(2α-1)/((2α+1)(α-1))`` for ``S = 2``, rows of π i.i.d. Dirichlet(α, α),
    ``j < n``; ``+inf`` for ``α <= 1`` (``E[1/π(1,0)] = ∞``).  ``N[n, n] - tr π = π00 π01/π10 + π11 π10/π01``
    and ``E[1/Beta(α, α)] = (2α-1)/(α-1)``."""
    alpha = validate.finite_float(alpha, "alpha", positive=True)
    if alpha <= 1:
        return float("inf")
    return alpha * (2 * alpha - 1) / ((2 * alpha + 1) * (alpha - 1))
