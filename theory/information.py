"""Mutual information between tokens (spec 1, section 5, items 2 and 8).

For a joint table ``P (S, S')`` with marginals ``p = P 1``, ``q = Pᵀ 1`` and a
convex ``f`` with ``f(1) = 0``, the f-mutual information is

    I_f(X; Y) = Σ_{a,b : p(a) q(b) > 0} p(a) q(b) f( P(a, b) / (p(a) q(b)) ).

``kind="shannon"``: ``f(t) = t log t`` (nats); ``kind="chi2"``: ``f(t) = (t - 1)²``,
so ``I_χ² = Σ P(a, b)² / (p(a) q(b)) - 1``.  On the diagonal (``X = Y``) these
give the entropy ``H(X)`` and ``|supp X| - 1``.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from scipy.special import xlogy

from theory import validate
from theory.estimates import Estimate, mean_and_stderr
from theory.graphs import CausalGraph, as_causal_graph
from theory.laws import ROOTS, pairwise_joint, pairwise_joints, root_laws
from theory.priors import FinitePrior, prior_stack

__all__ = ["INFORMATION_KINDS", "squared_hellinger", "real_generator_values",
           "information_of_pairwise_joints", "mutual_information", "pairwise_information_matrix",
           "mutual_information_matrix", "mixture_information"]

INFORMATION_KINDS = ("shannon", "chi2")  # the named f: t log t (Shannon, nats) and (t - 1)² (χ²)


def squared_hellinger(t: np.ndarray) -> np.ndarray:
    """The squared-Hellinger generator ``f(t) = (√t - 1)²`` (convex, ``f(1) = 0``), usable as ``kind``;
    ``t`` finite and ``>= 0`` (a likelihood ratio)."""
    validate.finite_array(t, "t", nonnegative=True)
    return (np.sqrt(t) - 1.0) ** 2


def real_generator_values(values: Any, shape: tuple) -> np.ndarray:
    """The values of a callable generator ``f`` on an array of ``shape``, refused naming ``kind`` unless they
    are finite real numbers of that shape (a complex ``f`` is never cast to its real part)."""
    arr = np.asarray(values)
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"kind: a callable f must return real numbers, got dtype {arr.dtype}"
                         f"{' (complex)' if arr.dtype.kind == 'c' else ''}")
    if arr.shape != shape or not np.all(np.isfinite(arr)):
        raise ValueError("kind: a callable f must return finite values of the input's shape")
    return arr


def _check_f(f: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """A vectorised convex generator with ``f(1) = 0``, checked on a grid."""
    grid = np.concatenate([[0.0], np.geomspace(1e-3, 1e3, 61)])
    try:
        raw = f(grid)
    except Exception as exc:
        raise ValueError(f"kind: a callable f must accept a NumPy array; calling it raised {exc!r}") from None
    vals = np.asarray(real_generator_values(raw, grid.shape), dtype=np.float64)
    one = float(real_generator_values(f(np.array([1.0])), (1,))[0])
    if abs(one) > 1e-12:
        raise ValueError(f"kind: a callable f must satisfy f(1) = 0, got f(1) = {one:.3g}")
    t0, t1 = grid[:-1], grid[1:]
    mid = real_generator_values(f((t0 + t1) / 2), t0.shape)
    if np.any(mid > (vals[:-1] + vals[1:]) / 2 + 1e-9 * (1 + np.abs(vals[:-1]) + np.abs(vals[1:]))):
        raise ValueError("kind: a callable f must be convex (midpoint convexity fails on [0, 1000])")
    return f


def _generator(kind: Any) -> Callable[[np.ndarray], np.ndarray] | str:
    if callable(kind):
        return _check_f(kind)
    if kind not in INFORMATION_KINDS:
        raise ValueError(f"kind: expected 'shannon', 'chi2' or a callable f, got {kind!r}")
    return kind


def _f_information(joint: np.ndarray, kind: Any) -> np.ndarray:
    """f-MI of validated joint tables ``(..., S, S')`` → ``(...)``."""
    p = joint.sum(axis=-1, keepdims=True)
    q = joint.sum(axis=-2, keepdims=True)
    pq = p * q
    support = pq > 0
    ratio = np.divide(joint, pq, out=np.zeros_like(joint), where=support)
    if kind == "shannon":
        return np.sum(xlogy(joint, np.where(support, ratio, 1.0)), axis=(-2, -1))
    if kind == "chi2":
        return np.sum(joint * ratio, axis=(-2, -1)) - 1.0
    return np.sum(np.where(support, pq * real_generator_values(kind(ratio), ratio.shape), 0.0), axis=(-2, -1))


def information_of_pairwise_joints(joint: Any, kind: Any = "shannon") -> np.ndarray:
    """``[I_f(x_i; x_j)]`` from a stack of pairwise joint tables ``(..., S, S')`` → ``(...)``.

    For example the ``(n, n, S, S)`` output of ``pairwise_joint``, or a mixture of such.
    """
    table = validate.finite_array(joint, "joint", nonnegative=True)
    if table.ndim < 2:
        raise ValueError(f"joint: expected a stack of 2-dimensional tables, got shape {table.shape}")
    sums = table.sum(axis=(-2, -1))
    if np.max(np.abs(sums - 1.0)) > validate.ROW_SUM_TOL:
        raise ValueError("joint: expected every table to sum to 1 within 1e-9")
    return _f_information(table, _generator(kind))


def mutual_information(joint: Any, kind: Any = "shannon") -> float:
    """``I_f(X; Y)`` of one joint table ``(S, S')`` (entries >= 0 summing to 1 within 1e-9).

    ``kind``: ``"shannon"`` (nats), ``"chi2"``, or a convex callable ``f`` with ``f(1) = 0``.
    """
    table = validate.finite_array(joint, "joint", ndim=2, nonnegative=True)
    if abs(table.sum() - 1.0) > validate.ROW_SUM_TOL:
        raise ValueError(f"joint: expected entries summing to 1 within 1e-9, sum is {table.sum():.12g}")
    return float(_f_information(table, _generator(kind)))


def pairwise_information_matrix(joint: Any, kind: Any = "shannon") -> np.ndarray:
    """The ``(n, n)`` matrix ``[I_f(X_i; X_j)]`` of a joint law of ``n`` variables.

    ``joint``: an array with ``n`` axes of sizes ``S_1..S_n`` (a full joint law).
    Diagonal entries are ``I_f(X_i; X_i)``.
    """
    table = validate.finite_array(joint, "joint", nonnegative=True)
    if table.ndim < 1:
        raise ValueError("joint: expected an array with one axis per variable")
    if abs(table.sum() - 1.0) > validate.ROW_SUM_TOL:
        raise ValueError(f"joint: expected entries summing to 1 within 1e-9, sum is {table.sum():.12g}")
    kind = _generator(kind)
    n = table.ndim
    out = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            if i == j:
                p = table.sum(axis=tuple(k for k in range(n) if k != i))
                pair = np.diag(p)
            else:
                pair = table.sum(axis=tuple(k for k in range(n) if k not in (i, j)))
                pair = pair if i < j else pair.T
            out[i, j] = _f_information(pair, kind)
    return out


def mutual_information_matrix(graph: CausalGraph, prior: Any, kind: Any = "shannon", roots: str = "stationary",
                              *, draws: int = 1000, rng: Any = None,
                              max_bytes: int | None = None) -> np.ndarray | Estimate:
    """``(n, n)`` matrix ``[I_f(x_i; x_j)]`` of the context tokens of a forest.

    ``prior``: a fixed ``(S, S)`` matrix (exact); a ``FinitePrior`` (exact average
    ``Σ_k w_k I_f^{π_k}``); or a ``DirichletPrior`` (Monte Carlo average over
    ``draws`` draws of ``π``, the inner quantity exact, returned as an
    ``Estimate`` with standard errors).  The average is of the information
    under each ``π``, not the information of the ``π``-mixture.  The ``(n, n, S, S)`` joints of
    each ``π`` (``≈ 48 n² S²`` bytes) are formed in blocks of draws within ``max_bytes`` (default
    2 GiB); one ``π`` above it is refused before allocating.
    """
    graph = as_causal_graph(graph)
    graph.require_forest("mutual_information_matrix")
    kind = _generator(kind)
    validate.choice(roots, "roots", ROOTS)
    budget = validate.max_bytes(max_bytes)
    pis, weights, monte_carlo = prior_stack(prior, draws=draws, rng=rng, min_draws=2, name="prior",
                                            max_bytes=budget)
    per = 8 * 6 * graph.n ** 2 * pis.shape[1] ** 2
    validate.memory(per + 8 * len(pis) * graph.n ** 2, "graph",
                    f"the pairwise joints at n = {graph.n:,}, S = {pis.shape[1]}", budget)
    samples = _information_stack(graph, pis, kind, roots, chunk=int(max(1, min(64, budget // per))), budget=budget)
    if monte_carlo:
        return mean_and_stderr(samples)
    return np.einsum("k,kij->ij", weights, samples)


def mixture_information(graph: CausalGraph, prior: FinitePrior, roots: str = "stationary") -> np.ndarray:
    """Shannon MI of the π-mixture's pairwise laws (π integrated out before the information); ``(n, n)``.

        I(x_i; x_j) of  P(x_i = a, x_j = b) = Σ_k w_k P_{π_k}(x_i = a, x_j = b),

    not the average ``Σ_k w_k I^{π_k}`` of :func:`mutual_information_matrix`.  ``prior`` a
    ``FinitePrior``; forests.
    """
    if not isinstance(prior, FinitePrior):
        raise ValueError(f"prior: expected a FinitePrior, got {type(prior).__name__}")
    graph = as_causal_graph(graph)
    graph.require_forest("mixture_information")
    validate.choice(roots, "roots", ROOTS)
    joint = sum(w * pairwise_joint(graph, p, roots) for w, p in zip(prior.weights, prior.matrices))
    return information_of_pairwise_joints(joint, "shannon")


def _information_stack(graph: CausalGraph, pis: np.ndarray, kind: Any, roots: str, chunk: int = 64,
                       budget: int | None = None) -> np.ndarray:
    """``(m, n, n)`` information matrices for a validated stack ``(m, S, S)``."""
    out = []
    for start in range(0, len(pis), chunk):  # chunks of draws bound the (m, n, n, S, S) memory
        block = pis[start:start + chunk]
        out.append(_f_information(pairwise_joints(graph, block, root_laws(block, roots), max_bytes=budget), kind))
    return np.concatenate(out)
