"""The laws of a forest's tokens (spec 1, sections 1-2): stack kernels, and their validated front ends for one π.

Contract of the kernels, stated once.  ``pis`` is a stack
``(m, S, S)`` of row-stochastic matrices (``m`` draws or atoms of a prior,
``S >= 2`` states): float64 arrays, or NumPy object arrays of sympy
expressions / ``QQ(p, q)`` elements where a docstring says "object arrays
too" (:mod:`theory.symbolic`).  The validated single-π front ends at the end of
this module (:func:`stationary_distribution`, :func:`marginals`, :func:`pairwise_joint`)
and the prior dispatch (:func:`theory.priors.prior_stack`) validate the matrices
in full; the kernels themselves refuse (``ValueError`` naming the argument)
what would otherwise fail deep inside NumPy or return a silent wrong answer:
a stack of the wrong shape, a float stack with non-finite entries or rows not
summing to 1 (:func:`require_stack`, ``O(m S²)`` against the kernels'
``O(m S³)``), a negative power, a depth outside the powers computed, sizes
above the memory budget.  Graphs are :class:`theory.graphs.CausalGraph` forests
(only ``depths()`` and ``lca_distances()`` are used).

Notation: ``μ_π`` the stationary law (``μ π = μ``), ``law_root`` the law of a
root token (``μ_π`` or uniform), ``depth(i)`` the distance of position ``i``
to its root, ``c`` the lowest common ancestor of ``i`` and ``j`` and
``d_i, d_j`` their distances to it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from theory import validate
from theory.graphs import CausalGraph, as_causal_graph

__all__ = ["ROOTS", "require_stack", "stationary_laws", "root_laws", "transition_powers", "marginal_laws",
           "pairwise_joints", "stationary_distribution", "marginals", "pairwise_joint"]

ROOTS = ("stationary", "uniform")


def require_stack(pis: np.ndarray, name: str = "pis") -> np.ndarray:
    """``pis`` if it is a stack ``(m, S, S)``, ``m >= 1``, ``S >= 2``: for a float stack, finite,
    non-negative and row-stochastic within :data:`theory.validate.ROW_SUM_TOL`; an object stack
    (sympy, ``QQ``) is checked for its shape only."""
    if not isinstance(pis, np.ndarray) or pis.ndim != 3 or pis.shape[1] != pis.shape[2] or pis.shape[0] < 1 \
            or pis.shape[1] < 2:
        raise ValueError(f"{name}: expected a stack of shape (m, S, S) with m >= 1, S >= 2, got "
                         f"{getattr(pis, 'shape', type(pis).__name__)}")
    if pis.dtype != object:
        validate.transition_stack(pis, name)
    return pis


# --------------------------------------------------------------------------- stationary laws
def stationary_laws(pis: np.ndarray) -> np.ndarray:
    """``μ_π`` for each matrix of the stack: ``μ π = μ``, ``Σ_a μ(a) = 1``; ``(m, S, S)`` → ``(m, S)``.

    The Grassmann-Taksar-Heyman state reduction has no subtractions, so it
    keeps every entry to high relative accuracy even for nearly reducible
    chains (Dirichlet draws with small α).  When all its pivots are positive,
    every state reaches state 0, so there is one recurrent class and the law is
    unique.  Otherwise (transient states, or several classes) the law is
    solved from ``(I - πᵀ) μ = 0`` with the last equation replaced by
    ``1ᵀ μ = 1``, a system that is non-singular exactly when the law is unique.
    Raises ``ValueError`` (naming ``pi``) when some chain has no unique law.
    Float arrays only.
    """
    if getattr(pis, "dtype", None) == object:
        raise ValueError("pis: expected a float stack (m, S, S); object (sympy) stacks have no numeric law here")
    require_stack(pis)
    m, S, _ = pis.shape
    mu = _state_reduction(pis)
    fallback = np.flatnonzero(~np.all(np.isfinite(mu), axis=1))
    if len(fallback):
        system = np.eye(S)[None] - np.swapaxes(pis[fallback], 1, 2)
        system[:, -1, :] = 1.0
        cond = np.linalg.cond(system)
        bad = ~np.isfinite(cond) | (cond > 1e12)
        if np.any(bad):
            k = int(fallback[np.flatnonzero(bad)[0]])
            raise ValueError(f"pi: expected a chain with a unique stationary law; matrix {k} has several (or is "
                             f"numerically too close to having several: condition number {cond[bad][0]:.3g})")
        rhs = np.zeros((len(fallback), S))
        rhs[:, -1] = 1.0
        solved = np.clip(np.linalg.solve(system, rhs[..., None])[..., 0], 0.0, None)
        mu[fallback] = solved / solved.sum(axis=1, keepdims=True)
    return mu


def _state_reduction(pis: np.ndarray) -> np.ndarray:
    """GTH: censor the chain on ``{0..k-1}`` for ``k = S-1..1``, then back-substitute; ``(m, S)``.

    Rows where some pivot vanishes come back as ``nan`` (the caller falls back).
    """
    P = pis.copy()
    m, S, _ = P.shape
    # overflow too: a tiny outflow (floored Dirichlet draws, ~1e-289) may push a ratio past the float64
    # range; such a row comes back non-finite and is solved by the fallback, like a vanishing pivot
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for k in range(S - 1, 0, -1):  # states, not sequences
            out = P[:, k, :k].sum(axis=1)  # rate of leaving k towards {0..k-1}
            out = np.where(out > 0, out, np.nan)
            P[:, :k, k] /= out[:, None]
            P[:, :k, :k] += P[:, :k, k][:, :, None] * P[:, k, :k][:, None, :]
        mu = np.zeros((m, S))
        mu[:, 0] = 1.0
        for k in range(1, S):
            mu[:, k] = np.einsum("mi,mi->m", mu[:, :k], P[:, :k, k])
            # Unnormalised weights grow by up to 1/min(out) per state (2^960 for floored Dirichlet
            # draws): rescale rows above 2^32 by a power of two, which is exact, so the normalised law
            # keeps the same bits and never overflows.
            big = mu[:, k] > 2.0 ** 32
            if np.any(big):
                mu[big] = np.ldexp(mu[big], -np.frexp(mu[big].max(axis=1))[1][:, None])
        mu = mu / mu.sum(axis=1, keepdims=True)
    return np.where(np.all(np.isfinite(mu), axis=1, keepdims=True), mu, np.nan)


def root_laws(pis: np.ndarray, roots: str) -> np.ndarray:
    """Law of a root token for each matrix: ``μ_π`` (``roots="stationary"``) or ``Uniform([S])``; ``(m, S)``.

    ``roots`` is checked against :data:`ROOTS`.  Float arrays only.
    """
    roots = validate.choice(roots, "roots", ROOTS)
    if roots == "stationary":
        return stationary_laws(pis)
    require_stack(pis)
    return np.full(pis.shape[:2], 1.0 / pis.shape[1])


# --------------------------------------------------------------------------- powers and marginals
def transition_powers(pis: np.ndarray, depth: int, *, max_bytes: int | None = None) -> np.ndarray:
    """``π^k`` for ``k = 0..depth``: ``(m, S, S)`` → ``(depth+1, m, S, S)``.  Object arrays too.

    ``depth`` an integer ``>= 0`` (no negative powers); the powers take ``8 (depth+1) m S²`` bytes,
    refused above ``max_bytes`` (default 2 GiB) before allocating (the estimate of the front ends,
    :func:`marginals`; the list they are stacked from doubles it for a moment)."""
    require_stack(pis)
    depth = validate.positive_int(depth, "depth", minimum=0)
    m, S, _ = pis.shape
    validate.memory(8 * (depth + 1) * m * S * S, "depth", f"{depth + 1:,} powers of {m:,} matrices {S} × {S}",
                    max_bytes)
    powers = [np.broadcast_to(np.eye(pis.shape[-1], dtype=pis.dtype), pis.shape).copy()]
    for _ in range(depth):
        powers.append(powers[-1] @ pis)
    return np.stack(powers)


def marginal_laws(start: np.ndarray, powers: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """``P(x_i = a) = (law_root π^{depth(i)})[a]``; ``(m, n, S)``.  Object arrays too.

    ``start (m, S)``: the root laws; ``powers (D+1, m, S, S)`` from
    :func:`transition_powers`; ``depth (n,)`` int, each in ``0..D`` (a depth outside the powers
    computed is refused, not wrapped around by NumPy's negative indexing).
    """
    if not isinstance(powers, np.ndarray) or powers.ndim != 4 or powers.shape[2] != powers.shape[3]:
        got = getattr(powers, "shape", type(powers).__name__)
        raise ValueError(f"powers: expected an array (D+1, m, S, S), got {got}")
    if np.shape(start) != powers.shape[1:3]:
        raise ValueError(f"start: expected shape {powers.shape[1:3]} (one root law per matrix), got {np.shape(start)}")
    validate.integer_array(depth, "depth", minimum=0, maximum=powers.shape[0] - 1)
    return np.einsum("mz,imza->mia", start, powers[depth])


def pairwise_joints(graph: CausalGraph, pis: np.ndarray, start: np.ndarray, *,
                    max_bytes: int | None = None) -> np.ndarray:
    """Pairwise joint laws of a forest's context, one per matrix; ``(m, n, n, S, S)``.  Object arrays too.

        P(x_i = a, x_j = b) = Σ_z law(x_c = z) (π^{d_i})[z, a] (π^{d_j})[z, b]   (same tree),
        P(x_i = a, x_j = b) = P(x_i = a) P(x_j = b)                              (different trees);

    the diagonal blocks are ``diag(P(x_i = ·))``.  ``graph`` a forest,
    ``pis (m, S, S)``, ``start (m, S)`` the root laws.  The ``(m, n, n, S, S)`` joints and their
    temporaries (``48 m n² S²`` bytes) are refused above ``max_bytes`` (default 2 GiB) before allocating.
    """
    graph = as_causal_graph(graph)
    graph.require_forest("pairwise_joints")
    require_stack(pis)
    m, S, _ = pis.shape
    if np.shape(start) != (m, S):
        raise ValueError(f"start: expected shape {(m, S)} (one root law per matrix), got {np.shape(start)}")
    validate.memory(48 * m * graph.n ** 2 * S * S, "graph",
                    f"the pairwise joints of {m:,} matrices at n = {graph.n:,}, S = {S}", max_bytes)
    depth = graph.depths()
    same, c, d_i, d_j = graph.lca_distances()
    powers = transition_powers(pis, int(depth.max()))  # (D+1, m, S, S)
    law = marginal_laws(start, powers, depth)  # (m, n, S)
    law_c = law[:, c]  # (m, n, n, S)
    pi_i = np.moveaxis(powers[d_i], 2, 0)  # (m, n, n, S, S)
    pi_j = np.moveaxis(powers[d_j], 2, 0)
    joint_same = np.einsum("mijz,mijza,mijzb->mijab", law_c, pi_i, pi_j)
    joint_indep = law[:, :, None, :, None] * law[:, None, :, None, :]
    return np.where(same[None, :, :, None, None], joint_same, joint_indep)


# --------------------------------------------------------------------------- the validated front ends for one π
def stationary_distribution(pi: Any) -> np.ndarray:
    """The stationary law ``μ_π``: ``μ π = μ``, ``Σ_a μ(a) = 1``.

    ``pi``: ``(S, S)`` or a stack ``(m, S, S)``; returns ``(S,)`` or ``(m, S)``.
    Raises ``ValueError`` if some chain has no unique stationary law.
    The kernel is :func:`stationary_laws` (GTH state reduction).
    """
    arr = validate.finite_array(pi, "pi")
    stack = validate.transition_stack(arr[None] if arr.ndim == 2 else arr, "pi")
    return stationary_laws(stack)[0] if arr.ndim == 2 else stationary_laws(stack)


def marginals(graph: CausalGraph, pi: Any, roots: str = "stationary") -> np.ndarray:
    """``(n, S)``: ``P(x_i = a) = (law_root π^{depth(i)})[a]`` for a forest and fixed ``π``."""
    graph = as_causal_graph(graph)
    graph.require_forest("marginals")
    pi = validate.transition_matrix(pi)
    validate.memory(8 * pi.shape[0] ** 2 * (graph.n + 2), "graph", f"the laws of {graph.n:,} positions")
    depth = graph.depths()
    return marginal_laws(root_laws(pi[None], roots), transition_powers(pi[None], int(depth.max())), depth)[0]


def pairwise_joint(graph: CausalGraph, pi: Any, roots: str = "stationary") -> np.ndarray:
    """Pairwise joint laws of the context for a forest and a fixed ``π``.

    With ``c`` the lowest common ancestor of ``i`` and ``j`` and ``d_i, d_j``
    their distances to it:

        P(x_i = a, x_j = b) = Σ_z law(x_c = z) (π^{d_i})[z, a] (π^{d_j})[z, b],

    and ``P(x_i = a) P(x_j = b)`` when ``i`` and ``j`` lie in different trees.

    Returns ``(n, n, S, S)`` with ``[i, j, a, b] = P(x_i = a, x_j = b)``; the
    diagonal blocks are ``diag(P(x_i = ·))``.  Stack kernel:
    :func:`pairwise_joints`.
    """
    graph = as_causal_graph(graph)
    graph.require_forest("pairwise_joint")
    pi = validate.transition_matrix(pi)
    validate.memory(8 * 6 * graph.n ** 2 * pi.shape[0] ** 2, "graph",
                    f"the (n, n, S, S) pairwise joints at n = {graph.n:,}, S = {pi.shape[0]}")
    return pairwise_joints(graph, pi[None], root_laws(pi[None], roots))[0]
