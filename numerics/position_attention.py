"""Figure 9's metric: the weight layer 1's position-to-position softmax puts on each parent.

For a trained disentangled transformer, ``A_pp = A^{(1)}[S:, S:]`` is the ``(T, T)``
position → position block of layer 1's matrix
(:meth:`model.disentangled.DisentangledTransformer.position_block`).  Figure 9 of
Nichani, Damian & Lee (2024) reads it without data:

    a[i, j] = exp(A_pp[i, j]) / Σ_{l<=i} exp(A_pp[i, l])   (j <= i; 0 for j > i),

takes ``a[i, p(i)]`` at every non-root ``i``, averages over the non-roots of each graph,
and reports the mean and the spread of those averages over twenty random graphs
(``theory.random_graphs.bernoulli_root_forest``).  This is not the data-averaged
attention of :func:`numerics.evaluation.parent_weights` applied to a model's forward
pass; the parent lookup itself is that function's.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from numerics.evaluation import parent_weights
from theory import validate
from theory.gradients import causal_softmax
from theory.graphs import as_causal_graph

__all__ = ["position_softmax", "parent_weight_by_position", "summarise_parent_weights"]


def _as_block(block: Any) -> np.ndarray:
    """``block`` (numpy or torch, gradients allowed) as a finite float64 ``(T, T)`` array."""
    if isinstance(block, torch.Tensor):
        block = block.detach().to("cpu", torch.float64).numpy()
    return validate.square_matrix(block, "block")


def position_softmax(block: Any) -> np.ndarray:
    """``a = softmax_{j<=i}(A_pp[i, j])`` row by row, ``0`` above the diagonal; ``(T, T)`` → ``(T, T)``.

    ``block``: a finite ``(T, T)`` array or torch tensor (float64 result).  The masked
    softmax is :func:`theory.gradients.causal_softmax`.
    """
    return causal_softmax(_as_block(block))


def parent_weight_by_position(block: Any, graph: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(positions (k,), weights (k,))``: the non-root positions ``i`` of ``graph`` (increasing) and
    ``a[i, p(i)]`` of :func:`position_softmax` there.  ``block`` is ``(n + 1, n + 1)``; forests only.
    A graph without edges gives two empty arrays."""
    graph = as_causal_graph(graph)
    graph.require_forest("parent_weight_by_position")
    a = position_softmax(block)
    if a.shape != (graph.n + 1, graph.n + 1):
        raise ValueError(f"block: expected shape ({graph.n + 1}, {graph.n + 1}) for n = {graph.n}, got {a.shape}")
    positions = np.flatnonzero(graph.parent_array() >= 0)
    return positions, parent_weights(a, graph)


def _checked_pair(pair: Any, k: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    name = f"per_graph[{k}]"
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise ValueError(f"{name}: expected a (positions, weights) pair, got {validate.short_repr(pair)}")
    positions = np.asarray(pair[0])
    if positions.ndim != 1 or (positions.size and positions.dtype.kind not in "iu"):
        raise ValueError(f"{name}: expected positions as a 1-d integer array, got {validate.short_repr(pair[0])}")
    positions = positions.astype(np.int64)
    weights = validate.finite_array(pair[1], name, ndim=1, shape=positions.shape)
    if positions.size < 1:
        raise ValueError(f"{name}: expected at least one non-root position (a graph's mean parent weight "
                         f"is undefined without one)")
    if positions.min() < 1 or positions.max() >= n or np.unique(positions).size != positions.size:
        raise ValueError(f"{name}: expected distinct positions in 1..{n - 1} (position 0 is always a root), "
                         f"got {positions.tolist()}")
    if weights.min() < 0 or weights.max() > 1:
        raise ValueError(f"{name}: expected attention weights in [0, 1], got values in "
                         f"{weights.min():.3g}..{weights.max():.3g}")
    return positions, weights


def summarise_parent_weights(per_graph: Sequence[tuple[Any, Any]], n: int) -> dict[str, Any]:
    """Figure 9's summary of :func:`parent_weight_by_position` over graphs on ``n`` context positions.

    With ``w_g(i)`` the weight on the parent of non-root ``i`` in graph ``g`` and ``E_g`` its
    non-roots, the graph's mean is ``m_g = (1/|E_g|) Σ_{i∈E_g} w_g(i)``; returned:

    - ``parent_weight_mean``: ``(1/G) Σ_g m_g``;
    - ``parent_weight_std``: ``√((1/G) Σ_g (m_g - mean)²)``, the population standard deviation
      (``ddof = 0``, as the official notebook's ``jnp.std``), a spread over graphs, not a
      standard error;
    - ``parent_weight_by_position``: a dict of ``positions (k,)`` (those that are a non-root in at
      least one graph, increasing), ``mean (k,)`` and ``std (k,)`` (``ddof = 0``) of ``w_g(i)``
      over the graphs where ``i`` is a non-root, and their ``count (k,)``;
    - ``graphs``: ``G``.

    ``per_graph``: a non-empty list of ``(positions, weights)`` pairs, each with at least one
    position (distinct, in ``1..n-1``) and weights in ``[0, 1]``.
    """
    n = validate.positive_int(n, "n", minimum=2, maximum=validate.MAX_POSITIONS)
    if not isinstance(per_graph, (list, tuple)) or len(per_graph) < 1:
        raise ValueError(f"per_graph: expected a non-empty list of (positions, weights) pairs, "
                         f"got {validate.short_repr(per_graph)}")
    pairs = [_checked_pair(pair, k, n) for k, pair in enumerate(per_graph)]
    graph_means = np.array([w.mean() for _, w in pairs])
    table = np.full((len(pairs), n), np.nan)  # [g, i] = w_g(i); NaN where i is a root of graph g
    for g, (positions, weights) in enumerate(pairs):  # graphs, not sequences
        table[g, positions] = weights
    count = np.sum(~np.isnan(table), axis=0)
    seen = np.flatnonzero(count)
    mean, std = np.nanmean(table[:, seen], axis=0), np.nanstd(table[:, seen], axis=0)
    return dict(parent_weight_mean=float(graph_means.mean()), parent_weight_std=float(graph_means.std()),
                parent_weight_by_position=dict(positions=seen, mean=mean, std=std, count=count[seen]),
                graphs=len(pairs))
