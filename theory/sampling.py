"""Sampling the sequences of spec 1, section 2, vectorised over the batch (numpy; the torch sampler is
:mod:`numerics.sampling_torch`).

Sequence law, for a fixed ``π``:
    roots ``x_i ~ μ_π`` ("stationary") or ``Uniform([S])`` ("uniform");
    single-parent ``x_i ~ π(x_{p(i)}, ·)``;
    k-parent ``x_i ~ π(x_{p_1(i)}, ..., x_{p_k(i)}, ·)`` with ``π`` of shape
    ``(S,)*(k+1)`` (sampler and brute force only);
    query ``x_n ~ Uniform([S])``, target ``y = π(x_n, ·)``.
``π`` is drawn from the prior once per sequence (:mod:`theory.priors`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from theory import validate
from theory.graphs import CausalGraph, as_causal_graph
from theory.laws import ROOTS, root_laws
from theory.priors import is_prior

__all__ = ["Batch", "sample_sequences", "sample_k_parent_sequences"]


@dataclass(frozen=True)
class Batch:
    """Sampled sequences: ``tokens (B, T)`` int (query last), ``pi (B, S, S)``, ``target (B, S)``."""

    tokens: np.ndarray
    pi: np.ndarray
    target: np.ndarray


def sample_sequences(graph: CausalGraph, prior: Any, size: int, rng: Any = None,
                     roots: str = "stationary", *, max_bytes: int | None = None) -> Batch:
    """Draw ``size`` independent ``(tokens, π, target)`` triples, vectorised over the batch.

    ``prior``: a ``DirichletPrior``, a ``FinitePrior`` or one fixed ``(S, S)`` matrix
    (forests).  For a k-parent graph ``prior`` must be one fixed ``(S,)*(k+1)``
    conditional table ``π(x_{p_1}, ..., x_{p_k}, ·)`` shared by every position
    with ``k`` parents; then ``target`` is ``π(x_n, ..., x_n, ·)``.
    Refuses before allocating above the memory budget (``max_bytes``).
    """
    graph = as_causal_graph(graph)
    size = validate.positive_int(size, "size")
    roots = validate.choice(roots, "roots", ROOTS)
    S = prior.S if is_prior(prior) else max(np.shape(prior)[-1:] or (2,))
    validate.memory(8 * size * (3 * (graph.n + 1) + 4 * S * S + 3 * S), "size",
                    f"{size:,} sequences of length {graph.n + 1} over {S} states", max_bytes)
    gen = validate.rng(rng)
    if is_prior(prior):
        pis = prior.sample(size, gen)
    else:
        table = validate.finite_array(prior, "prior")
        if table.ndim != graph.max_in_degree + 1 and not (graph.is_forest and table.ndim == 2):
            raise ValueError(f"prior: expected a prior or a conditional table with {max(graph.max_in_degree, 1) + 1} "
                             f"axes for this graph, got shape {table.shape}")
        if table.ndim == 2:
            pis = np.broadcast_to(validate.transition_matrix(table, "prior"), (size,) + table.shape)
        else:
            return _sample_fixed_table(graph, _conditional_table(table), size, gen, roots)
    S = pis.shape[1]
    n = graph.n
    tokens = np.empty((size, n + 1), dtype=np.int64)
    start = root_laws(pis, roots)  # (B, S)
    cum_pi = np.cumsum(pis, axis=2)
    cum_start = np.cumsum(start, axis=1)
    u = gen.random((size, n + 1))
    rows = np.arange(size)
    for i, ps in enumerate(graph.parents):  # positions, not sequences: the batch is vectorised
        cdf = cum_start if not ps else cum_pi[rows, tokens[:, ps[0]]]
        tokens[:, i] = _inverse_cdf(cdf, u[:, i])
    tokens[:, n] = gen.integers(0, S, size=size)
    target = pis[rows, tokens[:, n]]
    return Batch(tokens, np.ascontiguousarray(pis), target)


def _inverse_cdf(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Row-wise inverse CDF sampling: ``cdf (B, S)``, ``u (B,)`` → ``(B,)``."""
    idx = (u[:, None] * cdf[:, -1:] >= cdf).sum(axis=1)
    return np.minimum(idx, cdf.shape[1] - 1)


def _conditional_table(table: np.ndarray) -> np.ndarray:
    arr = validate.finite_array(table, "prior", nonnegative=True)
    S = arr.shape[-1]
    if S < 2 or any(s != S for s in arr.shape):
        raise ValueError(f"prior: expected a conditional table of shape (S, ..., S) with S >= 2, got {arr.shape}")
    worst = np.max(np.abs(arr.sum(axis=-1) - 1.0))
    if worst > validate.ROW_SUM_TOL:
        raise ValueError(f"prior: expected conditional laws summing to 1 within 1e-9, worst is off by {worst:.3g}")
    return arr


def _sample_fixed_table(graph: CausalGraph, table: np.ndarray, size: int, gen: np.random.Generator,
                        roots: str) -> Batch:
    """One fixed conditional table ``(S,)*(k+1)`` shared by every sequence; uniform roots."""
    S, k = table.shape[-1], table.ndim - 1
    if roots == "stationary":
        raise ValueError("roots: a k-parent conditional table has no stationary law; use roots='uniform'")
    for i, ps in enumerate(graph.parents):
        if ps and len(ps) != k:
            raise ValueError(f"graph: position {i} has {len(ps)} parents but the table takes {k}")
    cum = np.broadcast_to(np.cumsum(table.reshape(S ** k, S), axis=1), (size, S ** k, S))
    tokens = _k_parent_tokens(graph, cum, gen)
    target = table[tuple([tokens[:, graph.n]] * k)]
    return Batch(tokens, np.broadcast_to(table, (size,) + table.shape).copy(), target)


def _k_parent_tokens(graph: CausalGraph, cum: np.ndarray, gen: np.random.Generator) -> np.ndarray:
    """``tokens (B, T)`` from per-sequence cumulative tables ``cum (B, S^k, S)`` (row ``Σ_r x_{p_r} S^{k-1-r}``).

    Roots uniform, non-root ``i`` by inverse CDF of its parents' row, query uniform; the
    random stream is ``u = rng.random((B, n))`` then ``rng.integers`` for the query.
    """
    size, _, S = cum.shape
    n, k = graph.n, graph.max_in_degree
    radix = S ** np.arange(k - 1, -1, -1)
    tokens = np.empty((size, n + 1), dtype=np.int64)
    u = gen.random((size, n))
    rows = np.arange(size)
    for i, ps in enumerate(graph.parents):  # positions, not sequences: the batch is vectorised
        if not ps:
            tokens[:, i] = np.minimum((u[:, i] * S).astype(np.int64), S - 1)
        else:
            row = tokens[:, list(ps)] @ radix
            tokens[:, i] = np.minimum((u[:, i, None] >= cum[rows, row]).sum(axis=1), S - 1)
    tokens[:, n] = gen.integers(0, S, size=size)
    return tokens


def sample_k_parent_sequences(graph: CausalGraph, S: int, alpha: float, size: int, rng: Any = None, *,
                              max_bytes: int | None = None) -> Batch:
    """Sequences on a k-parent graph with a fresh conditional table per sequence (vectorised).

    Table rows ``π(c_1..c_k, ·) ~ Dirichlet(α·1_S)`` i.i.d.; roots uniform; non-roots
    ``x_i ~ π(x_{p_1(i)}, ..., x_{p_k(i)}, ·)``; query ``x_n`` uniform.  The target is the
    law of the next token ``x_{n+1}``, whose parents sit at the offsets of position
    ``n-1``'s parents: ``y = π(x_{n+1-d_1}, ..., x_{n+1-d_k}, ·)``, ``d_r = n-1 - p_r(n-1)``
    (for the k-gram graph, the last ``k`` tokens, query included).
    Returns ``Batch(tokens (B, T), pi (B, S^k, S), target (B, S))``.
    """
    graph = as_causal_graph(graph)
    S = validate.positive_int(S, "S", minimum=2, maximum=validate.MAX_STATES)
    alpha = validate.finite_float(alpha, "alpha", positive=True)
    size = validate.positive_int(size, "size")
    k = graph.max_in_degree
    validate.memory(8 * size * (3 * float(S) ** (k + 1) + 2 * (graph.n + 1)), "size",
                    f"{size:,} conditional tables of {S}^{k + 1} entries", max_bytes)
    gen = validate.rng(rng)
    last = graph.parents[-1]
    if len(last) != k or any(ps and len(ps) != k for ps in graph.parents):
        raise ValueError(f"graph: expected every non-root, including position n-1, to have exactly {k} parents")
    n = graph.n
    table = gen.dirichlet(np.full(S, alpha), size=(size, S ** k))  # (B, S^k, S)
    tokens = _k_parent_tokens(graph, np.cumsum(table, axis=2), gen)
    radix = S ** np.arange(k - 1, -1, -1)
    offsets = [n - 1 - p for p in last]
    ctx = np.stack([tokens[:, n + 1 - d] for d in offsets], axis=1) @ radix
    return Batch(tokens, table, table[np.arange(size), ctx])
