"""Stack kernels: the laws of a forest's tokens for a stack of transition matrices (spec 1, sections 1-2).

Contract, stated once for every function here.  ``pis`` is an already
validated stack ``(m, S, S)`` of row-stochastic matrices (``m`` draws or atoms
of a prior, ``S >= 2`` states): float64 arrays, or NumPy object arrays of sympy
expressions / ``QQ(p, q)`` elements where a docstring says "object arrays
too" (:mod:`theory.symbolic`).  Nothing here validates its input: the
validated single-π front ends (``theory.causal.stationary_distribution``,
``marginals``, ``pairwise_joint``) and the prior dispatch
(``theory.causal.prior_stack``) do, once, at the public boundary.  Graphs are
``theory.causal.CausalGraph`` forests (only ``depths()`` and
``lca_distances()`` are used).

Notation: ``μ_π`` the stationary law (``μ π = μ``), ``law_root`` the law of a
root token (``μ_π`` or uniform), ``depth(i)`` the distance of position ``i``
to its root, ``c`` the lowest common ancestor of ``i`` and ``j`` and
``d_i, d_j`` their distances to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from theory import validate

if TYPE_CHECKING:
    from theory.causal import CausalGraph

ROOTS = ("stationary", "uniform")


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
    with np.errstate(divide="ignore", invalid="ignore"):
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
    return np.full(pis.shape[:2], 1.0 / pis.shape[1])


# --------------------------------------------------------------------------- powers and marginals
def transition_powers(pis: np.ndarray, depth: int) -> np.ndarray:
    """``π^k`` for ``k = 0..depth``: ``(m, S, S)`` → ``(depth+1, m, S, S)``.  Object arrays too."""
    powers = [np.broadcast_to(np.eye(pis.shape[-1], dtype=pis.dtype), pis.shape).copy()]
    for _ in range(depth):
        powers.append(powers[-1] @ pis)
    return np.stack(powers)


def marginal_laws(start: np.ndarray, powers: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """``P(x_i = a) = (law_root π^{depth(i)})[a]``; ``(m, n, S)``.  Object arrays too.

    ``start (m, S)``: the root laws; ``powers (D+1, m, S, S)`` from
    :func:`transition_powers`; ``depth (n,)`` int, each ``<= D``.
    """
    return np.einsum("mz,imza->mia", start, powers[depth])


def pairwise_joints(graph: "CausalGraph", pis: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Pairwise joint laws of a forest's context, one per matrix; ``(m, n, n, S, S)``.  Object arrays too.

        P(x_i = a, x_j = b) = Σ_z law(x_c = z) (π^{d_i})[z, a] (π^{d_j})[z, b]   (same tree),
        P(x_i = a, x_j = b) = P(x_i = a) P(x_j = b)                              (different trees);

    the diagonal blocks are ``diag(P(x_i = ·))``.  ``graph`` a forest,
    ``pis (m, S, S)``, ``start (m, S)`` the root laws.
    """
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
