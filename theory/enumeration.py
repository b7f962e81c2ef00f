"""Exact laws by enumeration of every sequence, and the brute-force oracles the closed forms are checked against.

Everything here sums over all ``S^n`` contexts (or ``m·S^T`` sequences of a
finite prior): a Python-level clarity that the vectorised closed forms of
:mod:`theory.laws`, :mod:`theory.information` and :mod:`theory.gradients`
are tested against.  Each enumeration refuses above a budget
(:func:`guard_enumeration`), naming the count.

    P(x_0..x_n) = Π_roots law(x_i) · Π_{i non-root} π(x_{p(i)}, x_i) · 1/S   (query last, uniform).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import entropy

from theory import validate
from theory.causal import CausalGraph, DirichletPrior, FinitePrior, as_causal_graph, stationary_distribution
from theory.laws import root_laws, stationary_laws


# --------------------------------------------------------------------------- sequences and their law
def sequence_probabilities(graph: CausalGraph, pi: Any, roots: str = "stationary",
                           max_sequences: int = 2_000_000) -> tuple[np.ndarray, np.ndarray]:
    """Every context ``x_0..x_{n-1}`` and its probability, for a forest and fixed ``π``.

    Returns ``(contexts (S^n, n) int, probabilities (S^n,))``.  Refuses with a
    ``ValueError`` when ``S^n > max_sequences``.
    """
    graph = as_causal_graph(graph)
    graph.require_forest("sequence_probabilities")
    pi = validate.transition_matrix(pi)
    S, n = pi.shape[0], graph.n
    guard_enumeration(S ** n, max_sequences, f"S^n = {S}^{n}")
    contexts = all_sequences(S, n)
    start = root_laws(pi[None], roots)[0]
    par = graph.parent_array()
    factors = np.where(par[None, :] < 0, start[contexts],
                       pi[contexts[:, np.maximum(par, 0)], contexts])
    return contexts, np.prod(factors, axis=1)


def all_sequences(S: int, length: int) -> np.ndarray:
    """``(S^length, length)`` every sequence over ``[S]`` in lexicographic order."""
    grids = np.indices((S,) * length).reshape(length, -1)
    return np.ascontiguousarray(grids.T)


def guard_enumeration(count: int, budget: int, what: str) -> None:
    """Refuse an enumeration of ``count`` terms above ``budget``, naming the count."""
    if count > budget:
        raise ValueError(f"max_sequences: exact enumeration needs {count:,} terms ({what}), above the budget of "
                         f"{budget:,}; use the Monte Carlo estimator or raise the budget")


def brute_force_pairwise_joint(graph: CausalGraph, pi: Any, roots: str = "stationary") -> np.ndarray:
    """The oracle for :func:`pairwise_joint`: sum the probabilities of every sequence.

    ``(n, n, S, S)``; a loop over position pairs, clarity being the point.
    """
    contexts, prob = sequence_probabilities(graph, pi, roots)
    S, n = np.asarray(pi).shape[0], graph.n
    joint = np.zeros((n, n, S, S))
    for i, j in itertools.product(range(n), repeat=2):
        np.add.at(joint[i, j], (contexts[:, i], contexts[:, j]), prob)
    return joint


@dataclass(frozen=True)
class Population:
    """The whole population as weighted sequences.

    ``tokens (N, T)`` int (query last), ``probability (N,)`` summing to 1,
    ``target (N, S)`` the soft labels ``π(x_n, ·)``, ``stationary (N, S)`` the
    law ``μ_π`` of the sequence's ``π``.
    """

    tokens: np.ndarray
    probability: np.ndarray
    target: np.ndarray
    stationary: np.ndarray


def enumerate_population(graph: CausalGraph, pi: Any, roots: str = "stationary",
                         max_sequences: int = 2_000_000) -> Population:
    """Every (context, query) pair with its probability, for a fixed ``π`` or a ``FinitePrior``.

    ``P(x_0..x_n) = Π_roots law(x_i) · Π_{i non-root} π(x_{p(i)}, x_i) · 1/S``.
    Refuses with a ``ValueError`` naming the count when ``m·S^T > max_sequences``
    (``m`` matrices in the prior).
    """
    graph = as_causal_graph(graph)
    if isinstance(pi, DirichletPrior):
        raise ValueError("pi: exact enumeration needs a fixed matrix or a FinitePrior, got a DirichletPrior")
    prior = pi if isinstance(pi, FinitePrior) else FinitePrior(validate.transition_matrix(pi)[None])
    S, m, T = prior.S, len(prior.weights), graph.n + 1
    guard_enumeration(m * S ** T, max_sequences, f"{m} matrices × S^T = {S}^{T}")
    parts = []
    for weight, p in zip(prior.weights, prior.matrices):
        contexts, prob = sequence_probabilities(graph, p, roots, max_sequences)
        tokens = np.concatenate([np.repeat(contexts, S, axis=0), np.tile(np.arange(S), len(contexts))[:, None]], axis=1)
        mu = np.broadcast_to(stationary_laws(p[None])[0], (len(tokens), S))
        parts.append((tokens, np.repeat(prob, S) * weight / S, p[tokens[:, -1]], mu))
    return Population(*(np.concatenate(arrays) for arrays in zip(*parts)))


# --------------------------------------------------------------------------- oracles
def likelihood_ratio_by_enumeration(graph: CausalGraph, source: Any) -> np.ndarray:
    """The definition ``N[m, j] = S·E[π(x_n, x_m)/μ_π(x_m) · 1[x_j = x_n]]`` summed over every sequence; ``(T, T)``.

    ``source``: a fixed π or a ``FinitePrior`` (stationary roots; at most 200,000 sequences).
    The oracle for :func:`theory.gradients.likelihood_ratio_matrix`.
    """
    pop = enumerate_population(graph, source, "stationary", max_sequences=200_000)
    x, S = pop.tokens, pop.target.shape[1]
    rows = np.arange(len(x))[:, None]
    w = pop.target[rows, x] / pop.stationary[rows, x]  # (B, T): π(x_n, x_m) / μ(x_m)
    match = (x == x[:, -1:]).astype(np.float64)  # (B, T): 1[x_j = x_n]
    return S * np.einsum("b,bm,bj->mj", pop.probability, w, match)


def context_likelihood_ratio_by_enumeration(graph: CausalGraph, pi: Any, roots: str) -> np.ndarray:
    """The context block of ``N``, ``N[m, j] = E[π(x_j, x_m)/μ_π(x_m)] = Σ_{a,b} P(x_m=a, x_j=b) π(b, a)/μ_π(a)``,
    from the brute-force pairwise laws of :func:`brute_force_pairwise_joint`; ``(n, n)``.

    ``pi``: a fixed ``(S, S)`` matrix; either root law.
    """
    joint = brute_force_pairwise_joint(graph, pi, roots)
    ratio = pi / stationary_distribution(pi)[None, :]
    return np.einsum("mjab,ba->mj", joint, ratio)


def information_by_enumeration(joint: np.ndarray, kind: str) -> np.ndarray:
    """``[I(x_i; x_j)]`` from pairwise joint tables ``(n, n, S, S)`` one pair at a time; ``(n, n)``.

    ``kind="shannon"``: ``H(X) + H(Y) - H(X, Y)`` (``scipy.stats.entropy``, nats);
    ``kind="chi2"``: ``Σ_{p(a) q(b) > 0} P(a, b)² / (p(a) q(b)) - 1``.  The oracle for
    :func:`theory.information.mutual_information_matrix` on the joints of
    :func:`brute_force_pairwise_joint`.
    """
    n = joint.shape[0]
    out = np.empty((n, n))
    for i, j in itertools.product(range(n), repeat=2):
        P = joint[i, j]
        p, q = P.sum(1), P.sum(0)
        if kind == "shannon":
            out[i, j] = entropy(p) + entropy(q) - entropy(P.ravel())
        else:
            mask = np.outer(p, q) > 0
            out[i, j] = np.sum(P[mask] ** 2 / np.outer(p, q)[mask]) - 1.0
    return out
