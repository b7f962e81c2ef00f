"""theory.edge_ranking (the drift of N, the rankings' margins, the S = 2 Dirichlet means) and numerics.edge_ranking
(the ensembles over random π and forests), against definitions, brute force, quadrature and Monte Carlo."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from numerics import edge_ranking as ner
from theory import edge_ranking as er
from theory.graphs import CausalGraph, ranking_pairs
from theory.laws import stationary_distribution
from theory.priors import FinitePrior
from theory.gradients import attention_gradient_at_init, drift_matrix, likelihood_ratio_matrix
from theory.strategies import forests, transition_matrices

PERSISTENT = np.array([[0.9, 0.1], [0.2, 0.8]])


# ------------------------------------------------------------------ theory
def test_drift_centres_every_column_and_is_the_scaled_drift_matrix():
    rng = np.random.default_rng(0)
    stack = rng.standard_normal((3, 5, 5))
    M = er.drift_from_likelihood_ratio(stack)
    np.testing.assert_allclose(M.sum(axis=-2), 0.0, atol=1e-14)
    for k in range(3):  # the stack is the stack of its matrices
        np.testing.assert_array_equal(M[k], er.drift_from_likelihood_ratio(stack[k]))
    graph = CausalGraph.from_parents([None, 0, 1, 0])
    N = likelihood_ratio_matrix(graph, PERSISTENT, "stationary")
    assert np.array_equal(er.drift_from_likelihood_ratio(N) / (2 * 5), drift_matrix(graph, PERSISTENT))


@settings(max_examples=40, deadline=None)
@given(forests(st.integers(1, 6)), st.integers(0, 2**31))
def test_margins_by_definition(graph, seed):
    N = np.random.default_rng(seed).standard_normal((graph.n + 1, graph.n + 1))
    scale = np.max(np.abs(N))
    rows = [i for i in range(graph.n) if graph.parents[i]]
    expected = max((N[i, i] - N[i, graph.parents[i][0]] for i in rows), default=-np.inf) / scale
    assert er.diagonal_violation(N, graph) == pytest.approx(expected, rel=1e-14)
    n = graph.n
    assert er.query_self_margin(N) == pytest.approx((N[n, n] - max(N[n, j] for j in range(n))) / scale, rel=1e-14)


@settings(max_examples=30, deadline=None)
@given(transition_matrices(st.just(2)))
def test_two_state_margins_are_the_closed_form_integrands(pi):
    """S = 2, chain: N[i,p] - N[i,i] = λ² - λ (λ = tr π - 1) and N[n,n] - N[n,0] = π00 π01/π10 + π11 π10/π01."""
    N = likelihood_ratio_matrix(CausalGraph.chain(2), pi, "stationary")
    lam = np.trace(pi) - 1
    assert N[1, 0] - N[1, 1] == pytest.approx(lam ** 2 - lam, abs=1e-11)
    expected = pi[0, 0] * pi[0, 1] / pi[1, 0] + pi[1, 1] * pi[1, 0] / pi[0, 1]
    assert N[2, 2] - N[2, 0] == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("alpha", [0.1, 0.5, 1.0, 3.0, 10.0])
def test_dirichlet_means_by_quadrature(alpha):
    beta = stats.beta(alpha, alpha)  # π00 and π11, independent
    assert er.dirichlet_parent_minus_diagonal_mean(alpha) == pytest.approx(2 * beta.var(), rel=1e-12)  # E λ²
    if alpha <= 1:
        assert er.dirichlet_query_self_margin_mean(alpha) == np.inf
        return
    inverse = integrate.quad(lambda b: beta.pdf(b) / (1 - b), 0, 1)[0]  # E[1/π10]
    product = integrate.quad(lambda a: beta.pdf(a) * a * (1 - a), 0, 1)[0]  # E[π00 π01]
    assert er.dirichlet_query_self_margin_mean(alpha) == pytest.approx(2 * product * inverse, rel=1e-8)


@pytest.mark.parametrize("call, name", [
    (lambda: er.drift_from_likelihood_ratio(np.ones(3)), "N"),
    (lambda: er.drift_from_likelihood_ratio(np.ones((2, 3))), "N"),
    (lambda: er.drift_from_likelihood_ratio("ab"), "N"),
    (lambda: er.diagonal_violation(np.ones((3, 3)), CausalGraph.chain(3)), "N"),
    (lambda: er.diagonal_violation(np.ones((3, 3)), [None, 0]), "graph"),
    (lambda: er.query_self_margin(np.ones((1, 1))), "N"),
    (lambda: er.dirichlet_parent_minus_diagonal_mean(0.0), "alpha"),
    (lambda: er.dirichlet_query_self_margin_mean(np.nan), "alpha"),
    (lambda: ner.dirichlet_draws(1, 1.0, 10, 0), "S"),
    (lambda: ner.batch_means_of_likelihood_ratio(CausalGraph.chain(2), np.stack([PERSISTENT] * 3), 4), "batches"),
    (lambda: ner.edge_ranking_violation_rates(0, (), (2,), 3, 3, 4, tie=0.0), "alphas"),
    (lambda: ner.edge_ranking_violation_rates(0, (1.0,), (1,), 3, 3, 4, tie=0.0), "states"),
    (lambda: ner.edge_ranking_violation_rates(0, (1.0,), (2,), 3, 3, 1, tie=0.0), "n_max"),
    (lambda: ner.edge_ranking_violation_rates(0, (1.0,), (2,), 3, 3, 4, tie=-1.0), "tie"),
    (lambda: ner.dirichlet_average_ranking(0, (1.0,), (2,), 10, 3, batches=20), "batches"),
    (lambda: ner.initial_gradient_race(0, 0), "draws"),
    (lambda: ner.initial_gradient_race(0, 2, chains=((2,),)), "chains"),
    (lambda: ner.query_row_tail_index(0, 2, 1.0, 100, 100), "tail"),
    (lambda: ner.query_row_tail_index("seed", 2, 1.0, 100, 10), "rng"),
])
def test_bad_input_is_refused_by_name(call, name):
    with pytest.raises(ValueError, match=f"^{name}"):
        call()


# ------------------------------------------------------------------ numerics
def test_dirichlet_draws_keep_the_draws_with_a_positive_law():
    pis, skipped = ner.dirichlet_draws(3, 0.05, 400, 1)
    assert len(pis) + skipped == 400 and pis.shape[1:] == (3, 3)
    assert np.all(stationary_distribution(pis) > 0)


def test_batch_means_average_to_the_finite_prior_of_all_draws():
    graph = CausalGraph.chain(3)
    pis, _ = ner.dirichlet_draws(2, 1.0, 60, 2)
    pis = pis[:40]
    means = ner.batch_means_of_likelihood_ratio(graph, pis, 4)  # equal batches of 10
    assert means.shape == (4, 4, 4)
    np.testing.assert_allclose(means.mean(axis=0), likelihood_ratio_matrix(graph, FinitePrior(pis), "stationary"),
                               rtol=1e-12)


def test_violation_rates_are_fractions_and_repeat_with_the_seed():
    run = lambda: ner.edge_ranking_violation_rates(np.random.default_rng(3), (1.0,), (2, 3), 20, 5, 5, tie=1e-12)
    first, second = run(), run()
    assert first == second
    for entry in first["by_alpha_S"]:
        for label in ("fixed_pi", "finite_prior"):
            rates = entry[label]
            assert all(0 <= rates[k] <= 1 for k in rates if k not in ("sources", "non_root_rows"))
    # S = 2, α = 1: the diagonal key beats the parent iff 0 < λ < 1 (probability 1/2 for λ = π00 + π11 - 1)
    assert 0 < first["by_alpha_S"][0]["fixed_pi"]["diagonal_beats_parent_row_term"] < 1


def test_dirichlet_average_matches_the_two_state_closed_form():
    out = ner.dirichlet_average_ranking(np.random.default_rng(4), (1.0,), (2,), 20000, 4, batches=40)
    entry = out["by_alpha_S"][0]
    z = abs(entry["parent_minus_diagonal_mean"] - er.dirichlet_parent_minus_diagonal_mean(1.0))
    assert z < 5 * entry["parent_minus_diagonal_stderr"]
    assert entry["parent_minus_diagonal_closed_form"] == er.dirichlet_parent_minus_diagonal_mean(1.0)


def test_initial_gradient_race_counts_the_rows_by_hand():
    out = ner.initial_gradient_race(np.random.default_rng(5), 4, chains=((2, 3),))
    pis, _ = ner.dirichlet_draws(2, 1.0, 4, np.random.default_rng(5))
    graph, rows = CausalGraph.chain(3), np.arange(1, 3)
    for loss in ("linearized", "cross_entropy"):
        wins = sum(int(np.sum(attention_gradient_at_init(graph, pi, loss=loss)[rows, rows]
                              < attention_gradient_at_init(graph, pi, loss=loss)[rows, rows - 1])) for pi in pis)
        assert out["by_S_n"][0][f"diagonal_wins_{loss}"] == wins / (len(pis) * 2)


@pytest.mark.parametrize("S, alpha", [(2, 0.5), (3, 0.5)])
def test_query_row_tail_index_is_near_its_prediction(S, alpha):
    estimate = ner.query_row_tail_index(np.random.default_rng(6), S, alpha, 40000, 400)
    assert abs(estimate - (S - 1) * alpha) < 0.25 * (S - 1) * alpha
    assert len(ranking_pairs(CausalGraph.chain(2), "diagonal")) == 1
