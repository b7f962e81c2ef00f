"""The multi-parent task of the causal paper (Nichani, Damian, Lee 2024, Figures 5 and 7).

Graph (:func:`halving_parents_graph`): positions ``0..T-1``; ``0`` and ``1`` are roots and every
``i >= 2`` has the two parents

    p(i) = ((i - 1) // 2,  i - 1)          ("halving" parent, previous token).

Law of one sequence: a root law ``ρ ~ Dirichlet(α·1_S)`` and a conditional table with one row per
ordered parent pair, ``π(c_1, c_2, ·) ~ Dirichlet(α·1_S)`` i.i.d. over the ``S²`` pairs, all drawn
afresh per sequence; then

    x_0, x_1 ~ ρ i.i.d.,        x_i ~ π(x_{(i-1)//2}, x_{i-1}, ·)   (i = 2..T-1).

Every one of the ``T`` input tokens comes from the graph (there is no uniform query).  The target is
the law of the next token ``x_T``, whose parents ``((T-1)//2, T-1)`` follow the same rule
(``(15, 31)`` at the paper's ``T = 32``):  ``y = π(x_{(T-1)//2}, x_{T-1}, ·)``.

A parent pair ``(c_1, c_2)`` is stored as the row index ``r = S·c_1 + c_2`` of a table ``(S², S)``.

This module owns the graph, the sampler (:func:`sample_two_parent_sequences`), the exact marginal law
of a sequence (:func:`two_parent_log_probability`) and the two reference predictors of the paper's
plots: the two-parent count estimator ("Bayes", the posterior mean of the target's row, hence the
Bayes-optimal predictor under cross-entropy against ``y``) and the previous-token bigram estimator.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from theory import validate
from theory.graphs import CausalGraph
from theory.sampling import Batch

__all__ = ["PAPER_T", "halving_parents", "halving_parents_graph", "parent_pair_rows",
           "sample_two_parent_tokens", "sample_two_parent_sequences", "two_parent_log_probability",
           "two_parent_count_estimator", "previous_token_estimator"]

PAPER_T = 32


# --------------------------------------------------------------------------- the graph
def halving_parents(i: int) -> tuple[int, int]:
    """The ordered parents ``((i - 1) // 2, i - 1)`` of position ``i >= 2`` (``i = T``: the target's)."""
    i = validate.positive_int(i, "i", minimum=2)
    return (i - 1) // 2, i - 1


def halving_parents_graph(T: int = PAPER_T) -> CausalGraph:
    """The :class:`theory.graphs.CausalGraph` on ``0..T-1``: roots ``0, 1``; ``p(i) = ((i-1)//2, i-1)``.

    The target's parents ``((T-1)//2, T-1)`` lie outside the graph: :func:`halving_parents` ``(T)``.
    """
    T = validate.positive_int(T, "T", minimum=3, maximum=validate.MAX_POSITIONS)
    return CausalGraph.from_parents([None, None] + [list(halving_parents(i)) for i in range(2, T)])


def parent_pair_rows(tokens: Any, S: int) -> np.ndarray:
    """``r_i = S·x_{(i-1)//2} + x_{i-1}`` for ``i = 2..T``: ``(B, T-1)`` from ``tokens (B, T)``.

    Column ``i - 2`` is position ``i``'s row of the table; the last column (``i = T``) is the target's.
    """
    S = validate.positive_int(S, "S", minimum=2, maximum=validate.MAX_STATES)
    x = validate.token_array(tokens, "tokens", S)
    T = x.shape[1]
    if T < 2:
        raise ValueError(f"tokens: expected at least 2 positions (the roots), got shape {x.shape}")
    i = np.arange(2, T + 1)
    return S * x[:, (i - 1) // 2] + x[:, i - 1]


# --------------------------------------------------------------------------- sampling
def _inverse_cdf(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Row-wise inverse CDF: ``cum (B, S)`` cumulative laws, ``u (B,)`` uniforms → ``(B,)``."""
    return np.minimum((u[:, None] * cum[:, -1:] >= cum).sum(axis=1), cum.shape[1] - 1)


def sample_two_parent_tokens(tables: Any, root_laws: Any, rng: Any = None, T: int = PAPER_T) -> np.ndarray:
    """Tokens ``(B, T)`` given each sequence's ``tables (B, S², S)`` and ``root_laws (B, S)``.

    ``x_0, x_1 ~ ρ``; ``x_i ~ π(r_i, ·)`` with ``r_i = S·x_{(i-1)//2} + x_{i-1}``, by inverse CDF
    from ``u = rng.random((B, T))`` (a loop over positions; the batch is vectorised).
    """
    T = validate.positive_int(T, "T", minimum=3, maximum=validate.MAX_POSITIONS)
    rho = validate.finite_array(root_laws, "root_laws", ndim=2, nonnegative=True)
    B, S = rho.shape
    if B < 1 or S < 2:
        raise ValueError(f"root_laws: expected shape (B, S) with B >= 1, S >= 2, got {rho.shape}")
    pi = validate.finite_array(tables, "tables", shape=(B, S * S, S), nonnegative=True)
    for name, arr in (("root_laws", rho), ("tables", pi)):
        worst = np.max(np.abs(arr.sum(axis=-1) - 1.0))
        if worst > validate.ROW_SUM_TOL:
            raise ValueError(f"{name}: expected laws summing to 1 within {validate.ROW_SUM_TOL:g}, "
                             f"worst is off by {worst:.3g}")
    gen = validate.rng(rng)
    validate.memory(8.0 * B * (2 * T + S * S * S), "tables", f"{B:,} sequences of length {T}")
    cum_pi, cum_rho = np.cumsum(pi, axis=2), np.cumsum(rho, axis=1)
    u = gen.random((B, T))
    x = np.empty((B, T), dtype=np.int64)
    rows = np.arange(B)
    x[:, 0] = _inverse_cdf(cum_rho, u[:, 0])
    x[:, 1] = _inverse_cdf(cum_rho, u[:, 1])
    for i in range(2, T):  # positions, not sequences
        r = S * x[:, (i - 1) // 2] + x[:, i - 1]
        x[:, i] = _inverse_cdf(cum_pi[rows, r], u[:, i])
    return x


def sample_two_parent_sequences(S: int, alpha: float, size: int, rng: Any = None, T: int = PAPER_T, *,
                                max_bytes: int | None = None) -> Batch:
    """``size`` independent sequences of the multi-parent task, vectorised over sequences.

    Per sequence: ``π (S², S)`` with rows ``π(c_1, c_2, ·) ~ Dirichlet(α·1_S)`` (row ``S·c_1 + c_2``),
    ``ρ ~ Dirichlet(α·1_S)``, tokens by :func:`sample_two_parent_tokens`, target
    ``y = π(x_{(T-1)//2}, x_{T-1}, ·)``.  Random stream: the tables ``rng.dirichlet(.., (B, S²))``,
    then ``ρ``, then the tokens' uniforms.
    Returns ``Batch(tokens (B, T), pi (B, S², S), target (B, S))``.
    """
    S = validate.positive_int(S, "S", minimum=2, maximum=validate.MAX_STATES)
    alpha = validate.finite_float(alpha, "alpha", positive=True)
    size = validate.positive_int(size, "size")
    T = validate.positive_int(T, "T", minimum=3, maximum=validate.MAX_POSITIONS)
    validate.memory(8.0 * size * (3 * S ** 3 + 3 * T + 2 * S), "size",
                    f"{size:,} tables of {S}^3 entries and sequences of length {T}", max_bytes)
    gen = validate.rng(rng)
    tables = gen.dirichlet(np.full(S, alpha), size=(size, S * S))  # (B, S², S)
    rho = gen.dirichlet(np.full(S, alpha), size=size)  # (B, S)
    tokens = sample_two_parent_tokens(tables, rho, gen, T)
    target = tables[np.arange(size), parent_pair_rows(tokens, S)[:, -1]]
    return Batch(tokens, tables, target)


# --------------------------------------------------------------------------- exact law and predictors
def _log_rising(a: float, n: np.ndarray) -> np.ndarray:
    """``log Γ(a + n) / Γ(a) = Σ_{k<n} log(a + k)`` for integer counts ``n`` (any shape), by a table."""
    table = np.concatenate([[0.0], np.cumsum(np.log(a + np.arange(int(n.max(initial=0)))))])
    return table[n]


def two_parent_log_probability(tokens: Any, alpha: float, S: int) -> np.ndarray:
    """The exact marginal law of a sequence, ``log P(x_0..x_{T-1})`` with ``π`` and ``ρ`` integrated out.

    Rows and root law are independent Dirichlet vectors, so (Pólya urns)

        P(x) = DM(n^ρ) · Π_r DM(n_r),   DM(n) = Γ(Sα) / Γ(Sα + Σ_s n_s) · Π_s Γ(α + n_s) / Γ(α),

    ``n^ρ_s = #{i < 2 : x_i = s}``, ``n_{r s} = #{i >= 2 : r_i = r, x_i = s}``.
    ``tokens (B, T)`` → ``(B,)``.  The ratio ``P(x, s) / P(x)`` (the same law one position longer) is
    :func:`two_parent_count_estimator`.
    """
    alpha = validate.finite_float(alpha, "alpha", positive=True)
    rows = parent_pair_rows(tokens, S)  # validates tokens and S
    x = np.asarray(tokens, dtype=np.int64)
    B, T = x.shape
    validate.memory(8.0 * B * (S ** 3 + 2 * S + 3 * T), validate.largest(S=S ** 3, tokens=B * T),
                    f"the transition counts of {B:,} sequences over {S:,}^3 (pair, token) cells")
    root = np.zeros((B, S), dtype=np.int64)
    np.add.at(root, (np.repeat(np.arange(B), 2), x[:, :2].ravel()), 1)
    table = np.zeros((B, S * S, S), dtype=np.int64)
    np.add.at(table, (np.repeat(np.arange(B), T - 2), rows[:, :-1].ravel(), x[:, 2:].ravel()), 1)
    log_dm = (lambda n: _log_rising(alpha, n).sum(axis=-1) - _log_rising(S * alpha, n.sum(axis=-1)))
    return log_dm(root) + log_dm(table).sum(axis=1)


def _smoothed_counts(match: np.ndarray, children: np.ndarray, alpha: float, S: int) -> np.ndarray:
    """``(α + Σ_i match_i [children_i = s]) / (Sα + Σ_i match_i)``: ``match, children (B, m)`` → ``(B, S)``."""
    B, m = children.shape
    validate.memory(8.0 * B * (S + 3 * m), validate.largest(S=S, tokens=B * m), f"counts of {B:,} sequences")
    counts = np.zeros((B, S))  # Σ_i match_i [children_i = s]: sums of 0/1, exact in any order
    np.add.at(counts, (np.repeat(np.arange(B), m), children.ravel()), match.ravel().astype(np.float64))
    return (alpha + counts) / (S * alpha + counts.sum(axis=1, keepdims=True))


def two_parent_count_estimator(tokens: Any, alpha: float, S: int) -> np.ndarray:
    """The two-parent count estimator ("Bayes" in the paper's Figures 5 and 7).

        ŷ_s = (α + #{i >= 2 : r_i = r_T, x_i = s}) / (S·α + #{i >= 2 : r_i = r_T}),   i <= T-1,

    ``r_i = S·x_{(i-1)//2} + x_{i-1}``; ``r_T`` is the target's parent pair ``(x_{(T-1)//2}, x_{T-1})``.
    It is the posterior mean ``E[π(r_T, ·) | x]`` under the Dirichlet prior (the root law is
    independent of ``π``), hence ``E[y | x]``, the minimiser of the expected cross-entropy against
    ``y``.  ``tokens (B, T)`` → ``(B, S)``.
    """
    alpha = validate.finite_float(alpha, "alpha", positive=True)
    rows = parent_pair_rows(tokens, S)  # validates tokens and S
    x = np.asarray(tokens, dtype=np.int64)
    return _smoothed_counts(rows[:, :-1] == rows[:, -1:], x[:, 2:], alpha, S)


def previous_token_estimator(tokens: Any, alpha: float, S: int) -> np.ndarray:
    """The in-context bigram estimator on the previous token alone ("one NN" in the paper's plots).

        ŷ_s = (α + #{1 <= i <= T-1 : x_{i-1} = x_{T-1}, x_i = s}) / (S·α + #{1 <= i <= T-1 : x_{i-1} = x_{T-1}})

    every transition ``x_{i-1} → x_i`` of the input (the root-to-root one ``x_0 → x_1`` included) whose
    source is the last token.  ``tokens (B, T)`` → ``(B, S)``.
    """
    alpha = validate.finite_float(alpha, "alpha", positive=True)
    S = validate.positive_int(S, "S", minimum=2, maximum=validate.MAX_STATES)
    x = validate.token_array(tokens, "tokens", S)
    if x.shape[1] < 2:
        raise ValueError(f"tokens: expected at least 2 positions, got shape {x.shape}")
    return _smoothed_counts(x[:, :-1] == x[:, -1:], x[:, 1:], alpha, S)
