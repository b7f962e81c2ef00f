"""The multi-parent task of the causal paper (Figures 5 and 7): theory.multi_parent and numerics.train_multi_parent.

Oracles: exact enumeration of every sequence (small ``S``, ``T``), literal per-sequence loops (Pólya
urns, counting), and Monte Carlo tests at the stated level.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from scipy import stats

from numerics.train_multi_parent import (head_role_assignment, parent_role_weights,
                                         sample_two_parent_sequences_torch, train_multi_parent)
from theory.multi_parent import (halving_parents, halving_parents_graph, parent_pair_rows, previous_token_estimator,
                                 sample_two_parent_sequences, sample_two_parent_tokens, two_parent_count_estimator,
                                 two_parent_log_probability)

LEVEL = 1e-3  # family-wise level of every statistical test here (Bonferroni inside a test); all seeds fixed


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny tensors: one intra-op thread (extra threads only contend on a shared machine)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _parents(i: int) -> tuple[int, int]:  # the paper's rule, written out again
    return (i - 1) // 2, i - 1


def _all_sequences(S: int, T: int) -> np.ndarray:
    return np.array(list(itertools.product(range(S), repeat=T)), dtype=np.int64)


def _codes(tokens: np.ndarray, S: int) -> np.ndarray:
    return tokens @ (S ** np.arange(tokens.shape[1] - 1, -1, -1))


def _chi2_pvalue(observed: np.ndarray, prob: np.ndarray) -> float:
    return float(stats.chisquare(observed, prob * observed.sum()).pvalue)


# --------------------------------------------------------------------------- literal oracles
def _polya_probability(x, alpha: float, S: int) -> float:
    """P(x) with π and ρ integrated out, as a product of sequential urn predictives (a literal loop)."""
    urns: dict = {}
    p = 1.0
    for i, s in enumerate(x):
        key = "roots" if i < 2 else (x[_parents(i)[0]], x[_parents(i)[1]])
        urn = urns.setdefault(key, [0] * S)
        p *= (alpha + urn[s]) / (S * alpha + sum(urn))
        urn[s] += 1
    return p


def _product_probability(x, table: np.ndarray, rho: np.ndarray, S: int) -> float:
    """P(x | π, ρ) = ρ(x_0) ρ(x_1) Π_{i>=2} π(x_{(i-1)//2}, x_{i-1}, x_i) (a literal loop)."""
    p = rho[x[0]] * rho[x[1]]
    for i in range(2, len(x)):
        a, b = _parents(i)
        p *= table[x[a] * S + x[b], x[i]]
    return p


def _estimators_by_loop(x, alpha: float, S: int) -> tuple[np.ndarray, np.ndarray]:
    T = len(x)
    a, b = _parents(T)
    two, prev = np.zeros(S), np.zeros(S)
    for i in range(2, T):
        if (x[_parents(i)[0]], x[_parents(i)[1]]) == (x[a], x[b]):
            two[x[i]] += 1
    for i in range(1, T):
        if x[i - 1] == x[T - 1]:
            prev[x[i]] += 1
    return (alpha + two) / (S * alpha + two.sum()), (alpha + prev) / (S * alpha + prev.sum())


# --------------------------------------------------------------------------- the graph
def test_halving_parents_graph_is_the_papers_graph():
    g = halving_parents_graph()
    assert g.n == 32 and g.roots == (0, 1) and g.max_in_degree == 2
    assert g.parents[2] == (0, 1) and g.parents[3] == (1, 2) and g.parents[31] == (15, 30)
    assert all(g.parents[i] == _parents(i) for i in range(2, 32))
    assert halving_parents(32) == (15, 31)  # the target's parents
    rows = parent_pair_rows(np.arange(32)[None] % 5, 5)
    assert rows.shape == (1, 31) and rows[0, -1] == 5 * (15 % 5) + 31 % 5


# --------------------------------------------------------------------------- the exact law
@pytest.mark.parametrize("S, T", [(2, 5), (3, 4), (2, 7)])
def test_log_probability_is_the_polya_product_and_sums_to_one(S, T):
    alpha = 0.3
    xs = _all_sequences(S, T)
    p = np.exp(two_parent_log_probability(xs, alpha, S))
    oracle = np.array([_polya_probability(list(x), alpha, S) for x in xs])
    assert np.allclose(p, oracle, rtol=1e-12, atol=0)
    assert abs(p.sum() - 1) < 1e-12


def test_count_estimator_is_the_posterior_predictive():
    """ŷ_s = P(x, s) / P(x): the same law one position longer (Bayes, hence E[y | x])."""
    S, alpha = 3, 0.1
    x = sample_two_parent_sequences(S, alpha, 50, np.random.default_rng(0), T=12).tokens
    lp = two_parent_log_probability(x, alpha, S)
    ratio = np.stack([np.exp(two_parent_log_probability(np.column_stack([x, np.full(50, s)]), alpha, S) - lp)
                      for s in range(S)], axis=1)
    assert np.allclose(two_parent_count_estimator(x, alpha, S), ratio, rtol=1e-10, atol=0)


# --------------------------------------------------------------------------- the numpy sampler
@pytest.mark.parametrize("S, T", [(2, 5), (3, 4)])
def test_sampled_sequences_follow_the_exact_law(S, T):
    """Chi-square of the S^T sequence frequencies against the literal Pólya product, level 1e-3."""
    alpha, size = 0.5, 60_000
    x = sample_two_parent_sequences(S, alpha, size, np.random.default_rng(1), T=T).tokens
    observed = np.bincount(_codes(x, S), minlength=S ** T)
    exact = np.array([_polya_probability(list(c), alpha, S) for c in _all_sequences(S, T)])
    assert _chi2_pvalue(observed, exact) > LEVEL


def test_tokens_given_fixed_tables_follow_the_product_law():
    """Brute force for one fixed (π, ρ): chi-square over the 3^4 sequences, level 1e-3."""
    S, T, size = 3, 4, 60_000
    rng = np.random.default_rng(2)
    table, rho = rng.dirichlet(np.ones(S), size=S * S), rng.dirichlet(np.ones(S))
    x = sample_two_parent_tokens(np.broadcast_to(table, (size, S * S, S)), np.broadcast_to(rho, (size, S)), rng, T)
    observed = np.bincount(_codes(x, S), minlength=S ** T)
    exact = np.array([_product_probability(c, table, rho, S) for c in _all_sequences(S, T)])
    assert abs(exact.sum() - 1) < 1e-12
    assert _chi2_pvalue(observed, exact) > LEVEL


def test_target_is_the_tables_row_of_the_target_parents():
    S = 5
    b = sample_two_parent_sequences(S, 0.1, 200, np.random.default_rng(3))
    assert b.tokens.shape == (200, 32) and b.pi.shape == (200, 25, 5) and b.target.shape == (200, 5)
    assert np.allclose(b.pi.sum(axis=2), 1.0)
    for k in range(200):  # a literal loop over sequences
        assert np.array_equal(b.target[k], b.pi[k, S * b.tokens[k, 15] + b.tokens[k, 31]])


def _posterior_moment_z(tokens: np.ndarray, target: np.ndarray, alpha: float, S: int) -> np.ndarray:
    """z-scores of E[y_s - m_s] = 0 and E[y_s² - m2_s] = 0, with ``m``, ``m2`` the Dirichlet(α + n)
    posterior moments of the target's row: (2S,)."""
    rows = parent_pair_rows(tokens, S)
    match = rows[:, :-1] == rows[:, -1:]
    n = np.stack([(match & (tokens[:, 2:] == s)).sum(axis=1) for s in range(S)], axis=1) + alpha
    N = n.sum(axis=1, keepdims=True)
    m, m2 = n / N, n * (n + 1) / (N * (N + 1))
    assert np.allclose(m, two_parent_count_estimator(tokens, alpha, S))
    d = np.concatenate([target - m, target ** 2 - m2], axis=1)
    return d.mean(axis=0) / (d.std(axis=0, ddof=1) / math.sqrt(len(d)))


def test_target_given_tokens_has_the_posterior_moments_at_the_papers_settings():
    """Monte Carlo at S = 5, T = 32, α = 0.1: |z| of the first two posterior moments, Bonferroni level 1e-3."""
    b = sample_two_parent_sequences(5, 0.1, 40_000, np.random.default_rng(4))
    z = _posterior_moment_z(b.tokens, b.target, 0.1, 5)
    assert np.abs(z).max() < stats.norm.ppf(1 - LEVEL / (2 * z.size))


# --------------------------------------------------------------------------- the estimators
def test_estimators_match_a_literal_loop():
    S, alpha = 4, 0.1
    x = sample_two_parent_sequences(S, alpha, 300, np.random.default_rng(5), T=17).tokens
    two, prev = two_parent_count_estimator(x, alpha, S), previous_token_estimator(x, alpha, S)
    for k in range(len(x)):
        t, p = _estimators_by_loop(list(x[k]), alpha, S)
        assert np.allclose(two[k], t, rtol=1e-14) and np.allclose(prev[k], p, rtol=1e-14)


def test_bayes_beats_the_previous_token_estimator():
    """The count estimator is E[y | x], so its expected cross-entropy is the smallest (paired z > 3)."""
    b = sample_two_parent_sequences(5, 0.1, 4000, np.random.default_rng(6))
    ce = lambda y: -(b.target * np.log(y)).sum(axis=1)  # noqa: E731
    d = ce(previous_token_estimator(b.tokens, 0.1, 5)) - ce(two_parent_count_estimator(b.tokens, 0.1, 5))
    assert d.mean() / (d.std(ddof=1) / math.sqrt(len(d))) > 3


# --------------------------------------------------------------------------- the torch sampler
@pytest.mark.parametrize("S, T", [(2, 5), (3, 4)])
def test_torch_sampler_follows_the_exact_law(S, T):
    """Chi-square of the torch sampler's sequence frequencies against the exact law, level 1e-3."""
    alpha, size = 0.5, 60_000
    x, y = sample_two_parent_sequences_torch(S, alpha, size, torch.Generator().manual_seed(7), T=T)
    observed = np.bincount(_codes(x.numpy(), S), minlength=S ** T)
    exact = np.array([_polya_probability(list(c), alpha, S) for c in _all_sequences(S, T)])
    assert _chi2_pvalue(observed, exact) > LEVEL
    z = _posterior_moment_z(x.numpy(), y.numpy(), alpha, S)
    assert np.abs(z).max() < stats.norm.ppf(1 - LEVEL / (2 * z.size))


def test_torch_sampler_matches_the_numpy_sampler_in_law():
    """At the paper's settings: posterior moments of y | x (z-scores) and two-sample tests of the
    number of context positions sharing the target's parent pair (chi-square), of y_0 and of
    max_s y_s (Kolmogorov-Smirnov); Bonferroni over the tests at level 1e-3."""
    S, alpha, size = 5, 0.1, 20_000
    x, y = sample_two_parent_sequences_torch(S, alpha, size, torch.Generator().manual_seed(8))
    x, y = x.numpy(), y.numpy()
    b = sample_two_parent_sequences(S, alpha, size, np.random.default_rng(9))
    assert x.shape == b.tokens.shape and y.shape == b.target.shape and np.allclose(y.sum(axis=1), 1)
    tests = 2 * S + 3
    z = _posterior_moment_z(x, y, alpha, S)
    assert np.abs(z).max() < stats.norm.ppf(1 - LEVEL / (2 * tests))

    def matches(tokens):
        rows = parent_pair_rows(tokens, S)
        return (rows[:, :-1] == rows[:, -1:]).sum(axis=1)

    hist = np.stack([np.bincount(matches(t), minlength=31) for t in (x, b.tokens)])
    hist = hist[:, hist.sum(axis=0) >= 10]
    assert stats.chi2_contingency(hist).pvalue > LEVEL / tests
    assert stats.ks_2samp(y[:, 0], b.target[:, 0]).pvalue > LEVEL / tests
    assert stats.ks_2samp(y.max(axis=1), b.target.max(axis=1)).pvalue > LEVEL / tests


# --------------------------------------------------------------------------- attention summaries
def test_parent_role_weights_and_the_head_assignment():
    T = 8
    att = np.zeros((3, T, T))
    for i in range(T):
        att[2, i, _parents(i)[0] if i >= 2 else 0] = 1.0  # head 2 on the halving parent
        att[0, i, _parents(i)[1] if i >= 2 else 0] = 0.8  # head 0 mostly on the previous token
        att[0, i, i] += 0.2
        att[1, i, : i + 1] = 1.0 / (i + 1)
    W = parent_role_weights(att)
    assert W.shape == (3, T, 2) and np.isnan(W[:, :2]).all()
    assert np.allclose(W[2, 2:, 0], 1.0) and np.allclose(W[0, 3:, 1], 0.8)
    role = head_role_assignment(W)
    assert role.heads == (2, 0) and abs(role.min_weight - 0.8) < 1e-12


# --------------------------------------------------------------------------- training
def test_a_tiny_training_run_gives_finite_numbers_and_lowers_the_loss():
    run = train_multi_parent(S=3, T=8, steps=60, batch=64, lr=3e-2, test_size=512, seed=0, threads=1)
    first, last = run.history[0], run.history[-1]
    assert abs(first["test_loss"] - math.log(3)) < 1e-9  # the readout starts at zero: ŷ uniform
    assert last["test_loss"] < first["test_loss"] - 5 * last["test_loss_stderr"]
    assert [h["step"] for h in run.history] == [0, 1, 2, 4, 8, 16, 32, 60]
    for h in run.history:
        assert all(np.isfinite(h[k]) for k in ("test_loss", "gap_bayes", "gap_bayes_stderr",
                                               "gap_previous_token", "min_role_weight"))
    assert np.isfinite(run.bayes_loss) and run.bayes_loss < run.previous_token_loss < math.log(3)
    assert run.parent_weights.shape == (2, 8, 2) and np.isfinite(run.parent_weights[:, 2:]).all()
    assert run.assignment.heads in ((0, 1), (1, 0))
    assert run.model.A[0].dtype == torch.float64 and len(run.train_loss) == 60
    assert run.sequences == 60 * 64 and run.seconds > 0


BAD_CALLS = [
    (lambda: halving_parents_graph(2), "T"),
    (lambda: halving_parents(1), "i"),
    (lambda: sample_two_parent_sequences(1, 0.1, 10, 0), "S"),
    (lambda: sample_two_parent_sequences(5, 0.0, 10, 0), "alpha"),
    (lambda: sample_two_parent_sequences(5, 0.1, 0, 0), "size"),
    (lambda: sample_two_parent_sequences(5, 0.1, 10, "seed"), "rng"),
    (lambda: sample_two_parent_sequences(5, 0.1, 10 ** 9, 0), "size"),
    (lambda: sample_two_parent_tokens(np.ones((2, 4, 2)), np.full((2, 2), 0.5), 0), "tables"),
    (lambda: sample_two_parent_tokens(np.full((2, 4, 2), 0.5), np.ones((2, 2)), 0), "root_laws"),
    (lambda: two_parent_count_estimator(np.array([[0, 1, 5]]), 0.1, 5), "tokens"),
    (lambda: two_parent_count_estimator(np.array([[0, 1, 2]]), -1.0, 5), "alpha"),
    (lambda: previous_token_estimator(np.array([[0.5, 1.0]]), 0.1, 5), "tokens"),
    (lambda: two_parent_log_probability(np.array([[0, 1, 2]]), 0.1, 1), "S"),
    (lambda: sample_two_parent_sequences_torch(5, float("nan"), 10, torch.Generator()), "alpha"),
    (lambda: parent_role_weights(np.ones((2, 4, 3))), "attention"),
    (lambda: head_role_assignment(np.ones((1, 4, 2))), "weights"),
    (lambda: train_multi_parent(steps=0, batch=4, test_size=8, seed=0), "steps"),
    (lambda: train_multi_parent(steps=1, batch=4, test_size=8, seed=0, lr_schedule="linear"), "lr_schedule"),
    (lambda: train_multi_parent(steps=1, batch=4, test_size=1, seed=0), "test_size"),
    (lambda: train_multi_parent(steps=1, batch=4, test_size=8, seed=-1), "seed"),
    (lambda: train_multi_parent(steps=1, batch=4, test_size=8, seed=0, precision="float16"), "precision"),
    (lambda: train_multi_parent(steps=1, batch=4, test_size=8, seed=0, weight_decay=-1.0), "weight_decay"),
    (lambda: train_multi_parent(steps=4, batch=4, test_size=8, seed=0, eval_steps=[5]), "eval_steps"),
    (lambda: train_multi_parent(steps=1, batch=4, test_size=8, seed=0, threads=0), "threads"),
]


@pytest.mark.parametrize("call, name", BAD_CALLS, ids=[f"{k}-{n}" for k, (_, n) in enumerate(BAD_CALLS)])
def test_bad_arguments_raise_a_value_error_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=f"^{name}"):
        call()
