"""Monte Carlo over random π and random forests: how often each key of the edge ranking wins (spec 1, sections 4, 5.4).

Each row ``i`` of the likelihood-ratio matrix ``N`` (:func:`theory.gradients.likelihood_ratio_matrix`, exact per
draw) and of its drift ``M = N - colmean(N)`` (:func:`theory.edge_ranking.drift_from_likelihood_ratio`) ranks the
keys ``j <= i``; the closed forms of the rankings are :mod:`theory.edge_ranking`.  Here the side studies that
measure them over ensembles:

- :func:`edge_ranking_violation_rates`: how often the diagonal key beats the parent, and the query row ranks its
  own key first, over random forests with fixed Dirichlet(α·1) π or finite priors of such draws;
- :func:`dirichlet_average_ranking`: the Dirichlet prior average of ``N[i, p(i)] - N[i, i]`` (batch means) and
  the argmax rows of the averaged drift;
- :func:`initial_gradient_race`: how often the diagonal key's initial gradient entry beats the parent's;
- :func:`query_row_tail_index`: Hill's estimate of the tail index of ``N[n, n] = Σ_a π(a,a)/μ(a)``.

Every function takes its generator and draws from it in a fixed order (the same seed gives the same numbers).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from theory import validate
from theory.graphs import CausalGraph, as_causal_graph, ranking_pairs
from theory.laws import stationary_distribution
from theory.priors import DirichletPrior, FinitePrior
from theory.edge_ranking import dirichlet_parent_minus_diagonal_mean, drift_from_likelihood_ratio
from theory.estimates import hill_tail_index, mean_and_stderr
from theory.gradients import attention_gradient_at_init, likelihood_ratio_matrix

__all__ = ["dirichlet_draws", "batch_means_of_likelihood_ratio", "edge_ranking_violation_rates",
           "dirichlet_average_ranking", "initial_gradient_race", "query_row_tail_index", "RACE_CHAINS"]

RACE_CHAINS = ((2, 5), (2, 7), (3, 4))  # (S, n) of the chains of the initial-gradient race


# ------------------------------------------------------------------ arguments
def _alphas(alphas: Any) -> tuple[float, ...]:
    if isinstance(alphas, (str, bytes)) or not isinstance(alphas, Sequence) or len(alphas) == 0:
        raise ValueError(f"alphas: expected a non-empty sequence of concentrations > 0, got "
                         f"{validate.short_repr(alphas)}")
    return tuple(validate.finite_float(a, "alphas", positive=True) for a in alphas)


def _states(states: Any) -> tuple[int, ...]:
    if isinstance(states, (str, bytes)) or not isinstance(states, Sequence) or len(states) == 0:
        raise ValueError(f"states: expected a non-empty sequence of alphabet sizes >= 2, got "
                         f"{validate.short_repr(states)}")
    return tuple(validate.positive_int(S, "states", minimum=2) for S in states)


# ------------------------------------------------------------------ draws of π and batch means of N
def _dirichlet_draws(S: int, alpha: float, size: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    pis = DirichletPrior(S, alpha).sample(size, rng)
    try:
        keep = np.all(stationary_distribution(pis) > 0, axis=1)
    except ValueError:  # some draw has no unique law: sort them out one by one
        keep = np.array([_has_positive_law(p) for p in pis])
    return pis[keep], int((~keep).sum())


def _has_positive_law(pi: np.ndarray) -> bool:
    try:
        return bool(np.all(stationary_distribution(pi) > 0))
    except ValueError:
        return False


def dirichlet_draws(S: int, alpha: float, size: int, rng: Any) -> tuple[np.ndarray, int]:
    """``size`` draws of π with rows i.i.d. Dirichlet(α·1), keeping those with a unique, positive stationary law
    (the linearised loss divides by μ): ``(kept (m, S, S), skipped count)``, ``m + skipped = size``."""
    S = validate.positive_int(S, "S", minimum=2)
    alpha = validate.finite_float(alpha, "alpha", positive=True)
    size = validate.positive_int(size, "size")
    return _dirichlet_draws(S, alpha, size, validate.rng(rng))


def _batch_means(graph: CausalGraph, pis: np.ndarray, batches: int) -> np.ndarray:
    return np.stack([likelihood_ratio_matrix(graph, FinitePrior(chunk), "stationary")
                     for chunk in np.array_split(pis, batches)])


def batch_means_of_likelihood_ratio(graph: CausalGraph, pis: np.ndarray, batches: int) -> np.ndarray:
    """``(batches, T, T)``: ``N`` (stationary roots) averaged over disjoint, nearly equal batches of the draws
    ``pis (m, S, S)``, ``m >= batches``: i.i.d. batch means, whose spread gives the Monte Carlo standard error
    without a per-draw loop."""
    graph = as_causal_graph(graph)
    pis = validate.transition_stack(pis, "pis")
    batches = validate.positive_int(batches, "batches", maximum=len(pis))
    return _batch_means(graph, pis, batches)


# ------------------------------------------------------------------ the rates over a random ensemble
def edge_ranking_violation_rates(rng: Any, alphas: Sequence[float], states: Sequence[int], draws: int,
                                 priors: int, n_max: int, *, tie: float) -> dict:
    """Violation rates of the diagonal-key and query-row rankings over random forests, ``n`` uniform in
    ``2..n_max`` (each ``p(i)`` uniform on ``{root, 0..i-1}``), stationary roots.

    For each ``(α, S)``: ``draws`` fixed ``π ~ Dirichlet(α·1)`` rows, and ``priors`` finite priors of 2-3 such
    draws with Dirichlet(1) weights, each with its own random forest.  For the row term ``N`` and the drift ``M``:
    the fraction of non-root rows with ``X[i, i] > X[i, p(i)] + tie·max|N|``, and of sources with
    ``X[n, n] > max_{j<n} X[n, j] + tie·max|N|`` (strict wins beyond the round-off of ``N``).
    """
    rng = validate.rng(rng)
    alphas, states = _alphas(alphas), _states(states)
    draws = validate.positive_int(draws, "draws")
    priors = validate.positive_int(priors, "priors")
    n_max = validate.positive_int(n_max, "n_max", minimum=2)
    tie = validate.finite_float(tie, "tie", nonnegative=True)
    out = []
    for alpha in alphas:
        for S in states:
            pis, skipped = _dirichlet_draws(S, alpha, draws + 3 * priors, rng)
            fixed, pool = pis[:draws], pis[draws:]
            entry = {"alpha": alpha, "S": S, "skipped_draws": skipped}
            for label, sources in (("fixed_pi", list(fixed)), ("finite_prior", _finite_priors(pool, priors, rng))):
                entry[label] = _rates(sources, rng, n_max, tie)
            out.append(entry)
    return {"ensemble": f"per (α, S): Dirichlet(α·1) rows; random forests with n uniform in 2..{n_max} "
                        f"(each p(i) uniform on {{root, 0..i-1}}); stationary roots; strict wins beyond "
                        f"{tie:g}·max|N|", "by_alpha_S": out}


def _finite_priors(pool: np.ndarray, count: int, rng: np.random.Generator) -> list[FinitePrior]:
    priors, k = [], 0
    while len(priors) < count and k + 3 <= len(pool):
        m = int(rng.integers(2, 4))
        priors.append(FinitePrior(pool[k:k + m], rng.dirichlet(np.ones(m))))
        k += m
    return priors


def _rates(sources: list, rng: np.random.Generator, n_max: int, tie_scale: float) -> dict:
    rows = diag_row = diag_drift = 0
    query_row = query_drift = 0
    for source in sources:
        graph = CausalGraph.random_forest(int(rng.integers(2, n_max + 1)), rng)
        N = likelihood_ratio_matrix(graph, source, "stationary")
        M = drift_from_likelihood_ratio(N)
        tie = tie_scale * np.max(np.abs(N))
        pairs = ranking_pairs(graph, "diagonal")
        i, p = pairs[:, 0], pairs[:, 1]
        rows += len(pairs)
        diag_row += int(np.sum(N[i, i] > N[i, p] + tie))
        diag_drift += int(np.sum(M[i, i] > M[i, p] + tie))
        query_row += int(N[-1, -1] > np.max(N[-1, :-1]) + tie)
        query_drift += int(M[-1, -1] > np.max(M[-1, :-1]) + tie)
    count = max(len(sources), 1)
    return {"sources": len(sources), "non_root_rows": rows,
            "diagonal_beats_parent_row_term": diag_row / max(rows, 1),
            "diagonal_beats_parent_drift": diag_drift / max(rows, 1),
            "query_self_first_row_term": query_row / count,
            "query_self_first_drift": query_drift / count}


# ------------------------------------------------------------------ the Dirichlet prior average
def dirichlet_average_ranking(rng: Any, alphas: Sequence[float], states: Sequence[int], draws: int, n_max: int,
                              *, batches: int) -> dict:
    """The Dirichlet(α·1) prior average on the chain of ``n_max`` positions: the Monte Carlo mean of
    ``N[i, p(i)] - N[i, i]`` over the non-root rows (``batches`` batch means of ``draws`` draws; the ``S = 2``
    closed form :func:`theory.edge_ranking.dirichlet_parent_minus_diagonal_mean` beside it), and the rows where
    the averaged drift ``M`` puts the diagonal key above the parent."""
    rng = validate.rng(rng)
    alphas, states = _alphas(alphas), _states(states)
    draws = validate.positive_int(draws, "draws")
    n_max = validate.positive_int(n_max, "n_max", minimum=2)
    batches = validate.positive_int(batches, "batches", maximum=draws)
    out = []
    graph = CausalGraph.chain(n_max)
    pairs = ranking_pairs(graph, "diagonal")
    i, p = pairs[:, 0], pairs[:, 1]
    for alpha in alphas:
        for S in states:
            pis, skipped = _dirichlet_draws(S, alpha, draws, rng)
            means = _batch_means(graph, pis, batches)
            margin = mean_and_stderr(means[:, i, p] - means[:, i, i])  # N[i, p(i)] - N[i, i], every row
            M = drift_from_likelihood_ratio(means.mean(axis=0))
            entry = {"alpha": alpha, "S": S, "draws": len(pis), "skipped_draws": skipped,
                     "parent_minus_diagonal_mean": float(margin.value.mean()),
                     "parent_minus_diagonal_stderr": float(margin.stderr.max()),
                     "averaged_drift_parent_minus_diagonal_min_over_rows": float(np.min(M[i, p] - M[i, i])),
                     "averaged_drift_diagonal_beats_parent_rows": int(np.sum(M[i, i] > M[i, p])),
                     "query_row_finite_mean": bool((S - 1) * alpha > 1)}
            if S == 2:
                entry["parent_minus_diagonal_closed_form"] = dirichlet_parent_minus_diagonal_mean(alpha)
            out.append(entry)
    return {"graph": f"chain on {n_max} positions, {n_max - 1} non-root rows (N[i,p(i)] and N[i,i] do not depend "
                     f"on the forest; the drift M does)",
            "note": "context rows only: where (S-1)·α <= 1, N[n, n] = Σ_a π(a,a)/μ(a) has no finite prior mean "
                    "(tail index (S-1)·α, measured by causal.edge_ranking_query_row_boundary), so the averaged "
                    "query row is not reported",
            "by_alpha_S": out}


# ------------------------------------------------------------------ the initial-gradient race
def initial_gradient_race(rng: Any, draws: int, chains: Sequence[tuple[int, int]] = RACE_CHAINS) -> dict:
    """How often the diagonal key's initial gradient entry is more negative than the parent's (it wins the race):
    the fraction of rows ``i >= 1`` with ``g[i, i] < g[i, i-1]`` at ``A1 = 0`` (β -> 0 coefficient,
    :func:`theory.gradients.attention_gradient_at_init`), for the linearised loss and the exact cross-entropy
    (all ``S^T`` sequences enumerated), over ``draws`` fixed π ~ Dirichlet(1) rows on each chain ``(S, n)``."""
    rng = validate.rng(rng)
    draws = validate.positive_int(draws, "draws")
    if isinstance(chains, (str, bytes)) or not isinstance(chains, Sequence) or not chains \
            or not all(isinstance(c, tuple) and len(c) == 2 for c in chains):
        raise ValueError(f"chains: expected a non-empty sequence of (S, n) pairs, got {validate.short_repr(chains)}")
    chains = [(validate.positive_int(S, "chains", minimum=2), validate.positive_int(n, "chains", minimum=2))
              for S, n in chains]
    out = []
    for S, n in chains:
        graph, rows = CausalGraph.chain(n), np.arange(1, n)
        pis, _ = _dirichlet_draws(S, 1.0, draws, rng)
        wins = {loss: 0 for loss in ("linearized", "cross_entropy")}
        for pi in pis:
            for loss in wins:
                g = attention_gradient_at_init(graph, pi, loss=loss)
                wins[loss] += int(np.sum(g[rows, rows] < g[rows, rows - 1]))
        out.append({"S": S, "n": n, "alpha": 1.0, "draws": len(pis),
                    **{f"diagonal_wins_{loss}": w / (len(pis) * len(rows)) for loss, w in wins.items()}})
    return {"ensemble": "chain, fixed π ~ Dirichlet(1) rows, stationary roots; fraction of rows i >= 1 with "
                        "g[i, i] < g[i, i-1] at A1 = 0 (β -> 0 coefficient)", "by_S_n": out}


# ------------------------------------------------------------------ the tail of the query row
def query_row_tail_index(rng: Any, S: int, alpha: float, draws: int, tail: int) -> float:
    """Hill's estimate (:func:`theory.estimates.hill_tail_index`, the ``tail`` largest values) of the tail index
    of ``N[n, n] = Σ_a π(a,a)/μ(a)`` under rows of π i.i.d. Dirichlet(α·1), from ``draws`` draws (those without a
    positive stationary law dropped); the predicted index is ``(S - 1)·α``."""
    rng = validate.rng(rng)
    S = validate.positive_int(S, "S", minimum=2)
    alpha = validate.finite_float(alpha, "alpha", positive=True)
    draws = validate.positive_int(draws, "draws", minimum=2)
    tail = validate.positive_int(tail, "tail", maximum=draws - 1)
    pis = DirichletPrior(S, alpha).sample(draws, rng)
    mu = stationary_distribution(pis)
    ok = np.all(mu > 0, axis=1)
    return hill_tail_index(np.einsum("maa->m", pis[ok] / mu[ok][:, None, :]), tail)
