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
from theory.graphs import CausalGraph, as_causal_graph
from theory.laws import root_laws, stationary_distribution, stationary_laws
from theory.priors import DirichletPrior, FinitePrior

__all__ = ["sequence_probabilities", "all_sequences", "guard_enumeration", "brute_force_pairwise_joint",
           "Population", "enumerate_population", "likelihood_ratio_by_enumeration",
           "context_likelihood_ratio_by_enumeration", "information_by_enumeration",
           "positional_gd_path_by_iteration"]


# --------------------------------------------------------------------------- sequences and their law
def sequence_probabilities(graph: CausalGraph, pi: Any, roots: str = "stationary",
                           max_sequences: int = 2_000_000, *,
                           max_bytes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Every context ``x_0..x_{n-1}`` and its probability, for a forest and fixed ``π``.

    Returns ``(contexts (S^n, n) int, probabilities (S^n,))``.  Refuses with a
    ``ValueError`` when ``S^n > max_sequences``, or when the
    ``(S^n, n)`` tables exceed ``max_bytes`` (default 2 GiB).
    """
    graph = as_causal_graph(graph)
    graph.require_forest("sequence_probabilities")
    pi = validate.transition_matrix(pi)
    roots = validate.choice(roots, "roots", ("stationary", "uniform"))
    max_sequences = validate.positive_int(max_sequences, "max_sequences")
    S, n = pi.shape[0], graph.n
    guard_enumeration(_power(S, n), max_sequences, f"S^n = {S}^{n}")
    validate.memory(8 * S ** n * (4 * n + 2), "max_sequences", f"the {S}^{n} contexts", max_bytes)
    contexts = all_sequences(S, n)
    start = root_laws(pi[None], roots)[0]
    par = graph.parent_array()
    factors = np.where(par[None, :] < 0, start[contexts],
                       pi[contexts[:, np.maximum(par, 0)], contexts])
    return contexts, np.prod(factors, axis=1)


def _power(S: int, n: int) -> int:
    """``S^n`` as an int, capped (a 20,000-digit count only needs to read as too large)."""
    return S ** n if n * np.log2(S) < 4000 else 2 ** 4000


def all_sequences(S: int, length: int, *, max_bytes: int | None = None) -> np.ndarray:
    """``(S^length, length)`` every sequence over ``[S]`` in lexicographic order (``max_bytes``: 2 GiB)."""
    S = validate.positive_int(S, "S", maximum=validate.MAX_STATES)
    length = validate.positive_int(length, "length", maximum=validate.MAX_POSITIONS)
    validate.memory(16 * length * np.exp(min(length * np.log(S), np.log(np.finfo(float).max) - 60)), "length", f"every sequence of length {length} over {S} "
                    f"states", max_bytes)
    grids = np.indices((S,) * length).reshape(length, -1)
    return np.ascontiguousarray(grids.T)


def guard_enumeration(count: int, budget: int, what: str) -> None:
    """Refuse an enumeration of ``count`` terms above ``budget`` (an integer ``>= 1``), naming the count."""
    budget = validate.positive_int(budget, "budget")
    if count > budget:
        raise ValueError(f"max_sequences: exact enumeration needs {validate.format_count(count)} terms ({what}), "
                         f"above the budget of {budget:,}; use the Monte Carlo estimator or raise the budget")


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


def enumerate_population(graph: CausalGraph, prior: Any, roots: str = "stationary",
                         max_sequences: int = 2_000_000, *, max_bytes: int | None = None) -> Population:
    """Every (context, query) pair with its probability, for ``prior`` a fixed ``π`` or a ``FinitePrior``.

    ``P(x_0..x_n) = Π_roots law(x_i) · Π_{i non-root} π(x_{p(i)}, x_i) · 1/S``.
    Refuses with a ``ValueError`` naming the count when ``m·S^T > max_sequences``
    (``m`` matrices in the prior), or when its arrays (``≈ 8 m S^T (2T + 3S + 2)`` bytes) exceed
    ``max_bytes`` (default 2 GiB).
    """
    graph = as_causal_graph(graph)
    graph.require_forest("enumerate_population")
    roots = validate.choice(roots, "roots", ("stationary", "uniform"))
    if isinstance(prior, DirichletPrior):
        raise ValueError("prior: exact enumeration needs a fixed matrix or a FinitePrior, got a DirichletPrior")
    if not isinstance(prior, FinitePrior):
        prior = FinitePrior(validate.transition_matrix(prior, "prior")[None])
    max_sequences = validate.positive_int(max_sequences, "max_sequences")
    S, m, T = prior.S, len(prior.weights), graph.n + 1
    guard_enumeration(m * _power(S, T), max_sequences, f"{m} matrices × S^T = {S}^{T}")
    validate.memory(8 * m * S ** T * (2 * T + 3 * S + 2), "max_sequences",
                    f"the population of {validate.format_count(m * S ** T)} sequences", max_bytes)
    parts = []
    for weight, p in zip(prior.weights, prior.matrices):
        contexts, prob = sequence_probabilities(graph, p, roots, max_sequences)
        tokens = np.concatenate([np.repeat(contexts, S, axis=0), np.tile(np.arange(S), len(contexts))[:, None]], axis=1)
        mu = np.broadcast_to(stationary_laws(p[None])[0], (len(tokens), S))
        parts.append((tokens, np.repeat(prob, S) * weight / S, p[tokens[:, -1]], mu))
    return Population(*(np.concatenate(arrays) for arrays in zip(*parts)))


# --------------------------------------------------------------------------- oracles
def likelihood_ratio_by_enumeration(graph: CausalGraph, prior: Any) -> np.ndarray:
    """The definition ``N[m, j] = S·E[π(x_n, x_m)/μ_π(x_m) · 1[x_j = x_n]]`` summed over every sequence; ``(T, T)``.

    ``prior``: a fixed π or a ``FinitePrior`` (stationary roots; at most 200,000 sequences).
    The oracle for :func:`theory.gradients.likelihood_ratio_matrix`.
    """
    graph = as_causal_graph(graph)
    if not isinstance(prior, FinitePrior):
        prior = validate.transition_matrix(prior, "prior")
    pop = enumerate_population(graph, prior, "stationary", max_sequences=200_000)
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
    pi = validate.transition_matrix(pi)
    ratio = pi / stationary_distribution(pi)[None, :]
    return np.einsum("mjab,ba->mj", joint, ratio)


def information_by_enumeration(joint: np.ndarray, kind: str) -> np.ndarray:
    """``[I(x_i; x_j)]`` from pairwise joint tables ``(n, n, S, S)`` one pair at a time; ``(n, n)``.

    ``kind="shannon"``: ``H(X) + H(Y) - H(X, Y)`` (``scipy.stats.entropy``, nats);
    ``kind="chi2"``: ``Σ_{p(a) q(b) > 0} P(a, b)² / (p(a) q(b)) - 1``.  The oracle for
    :func:`theory.information.mutual_information_matrix` on the joints of
    :func:`brute_force_pairwise_joint`.
    """
    kind = validate.choice(kind, "kind", ("shannon", "chi2"))
    joint = validate.finite_array(joint, "joint", ndim=4, nonnegative=True)
    if joint.shape[0] != joint.shape[1]:
        raise ValueError(f"joint: expected pairwise tables (n, n, S, S), got shape {joint.shape}")
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


def positional_gd_path_by_iteration(C: Any, n_max: int, nu: float, lr: float, steps: int) -> np.ndarray:
    """Oracle for :func:`theory.positional.positional_gd_path`: the explicit iteration
    ``p_n ← p_n - lr·(2/n_max)(G_n p_n - g_n)``, row by row and step by step from ``P = 0``;
    ``(n_max, n_max + 1)``.  Loops on purpose: clarity over speed."""
    from theory.positional import positional_gram

    n_max = validate.positive_int(n_max, "n_max", maximum=validate.MAX_POSITIONS)
    steps = validate.positive_int(steps, "steps", minimum=0)
    lr = validate.finite_float(lr, "lr", positive=True)
    validate.seconds(steps * n_max / validate.MAX_STATES, "steps", f"{steps:,} steps over {n_max:,} rows")
    P = np.zeros((n_max, n_max + 1))
    grams = [positional_gram(C, n, nu) for n in range(1, n_max + 1)]
    for _ in range(steps):
        for n, (G, g, _) in enumerate(grams, start=1):
            P[n - 1, : n + 1] -= lr * 2.0 / n_max * (G @ P[n - 1, : n + 1] - g)
    return P
