"""Core theory of the causal-structure paper against independent oracles: brute force, pgmpy, dit,
Monte Carlo with confidence intervals, autograd."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from numerics.population import (absent_target_probability, initial_gradient_by_extrapolation,
                                 population_gradient_A1, relative_error)
from theory.enumeration import brute_force_pairwise_joint, enumerate_population
from theory.estimators import count_estimator
from theory.gradients import (attention_gradient_at_init, attention_gradient_integrand, causal_softmax, drift_matrix,
                              likelihood_ratio_matrix, small_beta_attention_gradient)
from theory.graphs import CausalGraph, as_causal_graph
from theory.information import (information_of_pairwise_joints, mixture_information, mutual_information,
                                mutual_information_matrix, pairwise_information_matrix, squared_hellinger)
from theory.laws import ROOTS, marginals, pairwise_joint, stationary_distribution
from theory.priors import DirichletPrior, FinitePrior, alphabet_size, prior_stack
from theory.sampling import sample_k_parent_sequences, sample_sequences
from theory.strategies import (finite_priors, forests, joint_distributions, k_parent_dags, transition_matrices,
                               trees)

FAST = settings(max_examples=25, deadline=None)


# ----------------------------------------------------------------- graphs
def test_named_graphs():
    assert CausalGraph.chain(4).parents == ((), (0,), (1,), (2,))
    assert CausalGraph.icl_pairs(5).parents == ((), (0,), (), (2,), ())
    g = CausalGraph.random_forest(30, np.random.default_rng(0))
    assert g.is_forest and all(all(p < i for p in ps) for i, ps in enumerate(g.parents))
    assert CausalGraph.from_networkx(g.to_networkx()) == g


def test_random_forest_parent_law():
    # p(i) is uniform on {root, 0..i-1}: position 3 has 4 options, each with probability 1/4
    draws = [CausalGraph.random_forest(4, np.random.default_rng(s)).parents[3] for s in range(4000)]
    freq = np.array([sum(d == opt for d in draws) for opt in [(), (0,), (1,), (2,)]]) / 4000
    # binomial standard error of each frequency; 5 se over the 4 options: family-wise level 2.3e-6
    assert np.all(np.abs(freq - 0.25) < 5 * math.sqrt(0.25 * 0.75 / 4000))


@given(k_parent_dags(st.integers(3, 6), k=2))
@FAST
def test_multi_parent_graphs_round_trip(graph):
    assert graph.max_in_degree == 2 and not graph.is_forest
    assert CausalGraph.from_networkx(graph.to_networkx()) == graph


# ----------------------------------------------------------------- stationary law
@given(transition_matrices(st.integers(2, 5)))
@FAST
def test_stationary_law_is_invariant(pi):
    mu = stationary_distribution(pi)
    assert np.all(mu > 0) and abs(mu.sum() - 1) < 1e-12
    assert np.allclose(mu @ pi, mu, rtol=1e-9, atol=0)


def test_stationary_law_with_transient_state_and_refusal_of_two_classes():
    assert np.allclose(stationary_distribution([[0.0, 1.0], [0.0, 1.0]]), [0.0, 1.0])
    with pytest.raises(ValueError, match="pi: expected a chain with a unique stationary law"):
        stationary_distribution(np.eye(3))


# ----------------------------------------------------------------- pairwise joints: pgmpy and Monte Carlo
def _pgmpy_pairwise(graph, pi, roots):
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.inference import VariableElimination
    from pgmpy.models import DiscreteBayesianNetwork

    S = pi.shape[0]
    net = DiscreteBayesianNetwork()
    net.add_nodes_from([f"x{i}" for i in range(graph.n)])
    net.add_edges_from([(f"x{p}", f"x{i}") for i, ps in enumerate(graph.parents) for p in ps])
    law = stationary_distribution(pi) if roots == "stationary" else np.full(S, 1 / S)
    for i, ps in enumerate(graph.parents):
        if ps:
            net.add_cpds(TabularCPD(f"x{i}", S, pi.T, evidence=[f"x{ps[0]}"], evidence_card=[S]))
        else:
            net.add_cpds(TabularCPD(f"x{i}", S, law[:, None]))
    infer = VariableElimination(net)
    out = np.zeros((graph.n, graph.n, S, S))
    for i, j in itertools.combinations(range(graph.n), 2):
        factor = infer.query([f"x{i}", f"x{j}"], joint=True, show_progress=False)
        table = factor.values if factor.variables == [f"x{i}", f"x{j}"] else factor.values.T
        out[i, j], out[j, i] = table, table.T
    for i in range(graph.n):
        out[i, i] = np.diag(infer.query([f"x{i}"], show_progress=False).values)
    return out


@given(forests(st.integers(2, 5)), transition_matrices(st.integers(2, 3)), st.sampled_from(ROOTS))
@settings(max_examples=10, deadline=None)
def test_pairwise_joint_matches_pgmpy(graph, pi, roots):
    assert np.max(np.abs(pairwise_joint(graph, pi, roots) - _pgmpy_pairwise(graph, pi, roots))) < 1e-10


def test_sampler_matches_pairwise_joint_within_confidence_interval():
    graph = CausalGraph.from_parents([None, 0, 0, 1, None, 4])
    pi = np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.3, 0.3, 0.4]])
    batch = sample_sequences(graph, pi, 200_000, np.random.default_rng(1))
    joint = pairwise_joint(graph, pi)
    for i, j in [(3, 0), (3, 2), (5, 4), (1, 5)]:
        empirical = np.zeros((3, 3))
        np.add.at(empirical, (batch.tokens[:, i], batch.tokens[:, j]), 1 / 200_000)
        se = np.sqrt(joint[i, j] * (1 - joint[i, j]) / 200_000)
        assert np.all(np.abs(empirical - joint[i, j]) <= 5 * se)  # 5 sd: family-wise level < 1e-4 over 36 cells
    # the query is uniform (binomial se, 5 se over 3 cells: 1.7e-6) and the target is pi's row at the query
    # (a gather of pi's rows: exact)
    assert np.all(np.abs(np.bincount(batch.tokens[:, -1], minlength=3) / 200_000 - 1 / 3) < 5 * math.sqrt(2 / 9 / 200_000))
    assert np.array_equal(batch.target, pi[batch.tokens[:, -1]])


def test_marginals_are_stationary_under_stationary_roots():
    graph, pi = CausalGraph.random_forest(8, np.random.default_rng(2)), np.array([[0.9, 0.1], [0.4, 0.6]])
    assert np.allclose(marginals(graph, pi), stationary_distribution(pi)[None], atol=1e-14)


def test_finite_prior_population_is_the_mixture():
    prior = FinitePrior([[[0.9, 0.1], [0.2, 0.8]], [[0.5, 0.5], [0.5, 0.5]]], [0.25, 0.75])
    pop = enumerate_population(CausalGraph.chain(3), prior)
    assert abs(pop.probability.sum() - 1) < 1e-14  # 32 products of 4 factors: <= (32 + 4) ε = 8e-15 at worst
    assert pop.tokens.shape == (2 * 2 ** 4, 4)


def test_enumeration_refuses_above_budget_with_count():
    with pytest.raises(ValueError, match=r"max_sequences: exact enumeration needs 1,048,576 terms"):
        enumerate_population(CausalGraph.chain(19), np.full((2, 2), 0.5), max_sequences=1000)


# ----------------------------------------------------------------- the prior dispatch
def test_prior_stack_and_alphabet_size():
    pi = np.array([[0.8, 0.2], [0.3, 0.7]])
    pis, weights, mc = prior_stack(pi)
    assert np.array_equal(pis, pi[None]) and np.array_equal(weights, [1.0]) and not mc  # copies, no arithmetic
    prior = FinitePrior([pi, np.full((2, 2), 0.5)], [0.25, 0.75])
    pis, weights, mc = prior_stack(prior)
    assert pis is prior.matrices and weights is prior.weights and not mc
    dirichlet = DirichletPrior(3, 0.5)
    pis, weights, mc = prior_stack(dirichlet, draws=7, rng=4)
    assert mc and np.array_equal(pis, dirichlet.sample(7, 4)) and np.allclose(weights, 1 / 7)  # same seed, same draws
    assert [alphabet_size(x) for x in (pi, prior, dirichlet)] == [2, 2, 3]
    with pytest.raises(ValueError, match="^draws:"):
        prior_stack(dirichlet, draws=1, min_draws=2)
    with pytest.raises(ValueError, match="^pi:"):
        prior_stack(np.eye(2) * 2, name="pi")
    with pytest.raises(ValueError, match="^prior:"):
        alphabet_size(np.ones((2, 3)))
    with pytest.raises(ValueError, match="^graph:"):
        as_causal_graph([None, 0])


# ----------------------------------------------------------------- the k-parent sampler
def _k_parent_reference(graph, S, alpha, size, rng):
    """The sampler as numerics.training had it before the re-cut: the random stream must not change."""
    k, n, last = graph.max_in_degree, graph.n, graph.parents[-1]
    table = rng.dirichlet(np.full(S, alpha), size=(size, S ** k))
    cum, radix = np.cumsum(table, axis=2), S ** np.arange(k - 1, -1, -1)
    tokens, u, rows = np.empty((size, n + 1), dtype=np.int64), rng.random((size, n)), np.arange(size)
    for i, ps in enumerate(graph.parents):
        if not ps:
            tokens[:, i] = np.minimum((u[:, i] * S).astype(np.int64), S - 1)
        else:
            tokens[:, i] = np.minimum((u[:, i, None] >= cum[rows, tokens[:, list(ps)] @ radix]).sum(axis=1), S - 1)
    tokens[:, n] = rng.integers(0, S, size=size)
    ctx = np.stack([tokens[:, n + 1 - (n - 1 - p)] for p in last], axis=1) @ radix
    return tokens, table, table[rows, ctx]


def test_k_parent_sampler_keeps_its_random_stream():
    graph = CausalGraph.from_parents([None, None, [0, 1], [1, 2], [2, 3]])
    batch = sample_k_parent_sequences(graph, 3, 0.5, 64, np.random.default_rng(5))
    tokens, table, target = _k_parent_reference(graph, 3, 0.5, 64, np.random.default_rng(5))
    # the same generator calls in the same order: bit-identical draws, and target is a gather of them
    assert np.array_equal(batch.tokens, tokens) and np.array_equal(batch.pi, table)
    assert np.array_equal(batch.target, target)
    with pytest.raises(ValueError, match="^graph:"):
        sample_k_parent_sequences(CausalGraph.from_parents([None, None, [0, 1], None]), 3, 0.5, 4)


def test_fixed_k_parent_table_matches_its_law():
    graph = CausalGraph.from_parents([None, None, [0, 1]])
    table = np.random.default_rng(0).dirichlet(np.ones(2), size=(2, 2))  # π(x_0, x_1, ·)
    batch = sample_sequences(graph, table, 200_000, np.random.default_rng(1), roots="uniform")
    for a, b in itertools.product(range(2), repeat=2):
        rows = (batch.tokens[:, 0] == a) & (batch.tokens[:, 1] == b)
        freq = batch.tokens[rows, 2].mean()
        # binomial se <= sqrt(1/4 / count); 5 se over the 4 contexts: family-wise level < 2.3e-6
        assert abs(freq - table[a, b, 1]) < 5 * math.sqrt(0.25 / rows.sum())
    assert np.array_equal(batch.target, table[batch.tokens[:, -1], batch.tokens[:, -1]])  # a gather: exact
    with pytest.raises(ValueError, match="^roots:"):
        sample_sequences(graph, table, 10)


# ----------------------------------------------------------------- information: dit
@given(joint_distributions(2, 3))
@FAST
def test_shannon_mutual_information_matches_dit(table):
    import dit

    P = table / table.sum()
    d = dit.Distribution.from_ndarray(P)
    bits = dit.shannon.mutual_information(d, [0], [1])
    assert abs(mutual_information(P, "shannon") - bits * math.log(2)) < 1e-10


@given(forests(st.integers(2, 5)), transition_matrices(st.integers(2, 3)))
@settings(max_examples=10, deadline=None)
def test_information_matrix_matches_dit_on_brute_force_joint(graph, pi):
    import dit

    M = mutual_information_matrix(graph, pi, "shannon")
    joint = brute_force_pairwise_joint(graph, pi)
    for i, j in itertools.combinations(range(graph.n), 2):
        d = dit.Distribution.from_ndarray(joint[i, j])
        assert abs(M[i, j] - dit.shannon.mutual_information(d, [0], [1]) * math.log(2)) < 1e-10
    assert np.allclose(np.diag(M), [dit.shannon.entropy(dit.Distribution.from_ndarray(np.diag(joint[i, i]).copy()))
                                    * math.log(2) for i in range(graph.n)], atol=1e-10)


def test_information_conventions_for_zero_probabilities():
    P = np.array([[0.5, 0.0, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, 0.0]])  # a state of probability zero
    # halves and quarters are exact; what is left is a few roundings of log 2 (1 ulp = 1.1e-16)
    assert mutual_information(P, "shannon") == pytest.approx(math.log(2), abs=1e-15)
    assert mutual_information(P, "chi2") == pytest.approx(1.0, abs=1e-15)
    assert np.isfinite(pairwise_information_matrix(np.array([[1.0, 0.0], [0.0, 0.0]]), "shannon")).all()


def test_mixture_information_and_squared_hellinger():
    graph, pi = CausalGraph.chain(4), np.array([[0.8, 0.2], [0.3, 0.7]])
    np.testing.assert_allclose(mixture_information(graph, FinitePrior(pi[None]), "stationary"),
                               mutual_information_matrix(graph, pi, "shannon"), atol=1e-14)
    P = np.array([[0.4, 0.1], [0.2, 0.3]])
    p, q = P.sum(1), P.sum(0)
    by_hand = sum((math.sqrt(P[a, b]) - math.sqrt(p[a] * q[b])) ** 2 for a in range(2) for b in range(2))
    assert mutual_information(P, squared_hellinger) == pytest.approx(by_hand, abs=1e-15)


def test_information_prior_averages():
    graph = CausalGraph.chain(3)
    prior = FinitePrior([[[0.9, 0.1], [0.2, 0.8]], [[0.6, 0.4], [0.3, 0.7]]], [0.3, 0.7])
    exact = mutual_information_matrix(graph, prior, "chi2")
    expected = sum(w * mutual_information_matrix(graph, p, "chi2") for w, p in zip(prior.weights, prior.matrices))
    assert np.allclose(exact, expected, atol=1e-14)
    est = mutual_information_matrix(graph, DirichletPrior(2, 1.0), "shannon", draws=400, rng=0)
    assert est.value.shape == (3, 3) and np.all(est.stderr[~np.eye(3, dtype=bool)] > 0)


# ----------------------------------------------------------------- the gradient
def test_gradient_matches_autograd_for_a_chain_and_icl_pairs():
    pi = np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.3, 0.3, 0.4]])
    for graph in (CausalGraph.chain(4), CausalGraph.icl_pairs(4)):
        for roots in ROOTS:
            closed = attention_gradient_at_init(graph, pi, roots=roots)
            # Richardson at β = 1e-4, β/2, β/4 leaves c₃β³: 1.8e-13 relative at β = 1e-3, so 2e-16 here.
            # Round-off does not grow as β → 0 (every term of ∂L/∂A1 is O(β)): each quotient ∂L/∂A1 / β
            # carries <= n ε relative error for the n = 3^5 enumerated sequences (5e-14), times
            # (8 + 6 + 1)/3 = 5 from the Richardson weights.
            assert relative_error(initial_gradient_by_extrapolation(graph, pi, roots=roots), closed) < 1e-11


def test_gradient_is_linear_in_beta_at_first_order():
    graph, pi = CausalGraph.chain(3), np.array([[0.8, 0.2], [0.3, 0.7]])
    closed = attention_gradient_at_init(graph, pi)
    beta = 1e-6
    D = [population_gradient_A1(graph, pi, b) / b for b in (beta, 2 * beta)]
    # D(β) = g + c₁β + c₂β² + ...: the remainder D(β) - g is first order (c₁β ≈ 6e-8 max|g| here) and one
    # Richardson step removes it, 2D(β) - D(2β) = g - 2c₂β², with 2c₂β² = 2.8e-14 relative at β = 1e-6 (it
    # is 2.8e-10 at β = 1e-4: it scales as β²).  Round-off does not grow as β → 0 (every term of ∂L/∂A1 is
    # O(β)): <= n ε relative for the n = 16 enumerated sequences, times 3 from the weights.  Tolerance 1e-11.
    assert relative_error(2 * D[0] - D[1], closed) < 1e-11


@given(forests(st.integers(1, 4)), transition_matrices(st.integers(2, 3)))
@settings(max_examples=15, deadline=None)
def test_closed_form_is_the_expectation_of_its_integrand(graph, pi):
    pop = enumerate_population(graph, pi)
    brute = np.einsum("b,bij->ij", pop.probability,
                      attention_gradient_integrand(pop.tokens, pop.target, pop.stationary))
    closed = attention_gradient_at_init(graph, pi)
    assert np.max(np.abs(brute - closed)) <= 1e-12 * max(1.0, np.max(np.abs(closed)))


@given(forests(st.integers(2, 6)), transition_matrices(st.integers(2, 4)))
@FAST
def test_gradient_is_finite_and_lower_triangular(graph, pi):
    g = attention_gradient_at_init(graph, pi)
    assert np.all(np.isfinite(g)) and np.all(np.triu(g, 1) == 0)  # causal mask: symbolic zeros


@given(forests(st.integers(2, 5)), finite_priors(st.integers(2, 3)))
@settings(max_examples=10, deadline=None)
def test_finite_prior_gradient_is_the_weighted_average(graph, prior):
    avg = sum(w * attention_gradient_at_init(graph, p) for w, p in zip(prior.weights, prior.matrices))
    assert np.allclose(attention_gradient_at_init(graph, prior), avg, atol=1e-14)


def test_dirichlet_gradient_standard_error_shrinks_like_root_draws():
    graph, prior = CausalGraph.chain(3), DirichletPrior(3, 0.5)
    small = attention_gradient_at_init(graph, prior, draws=200, rng=0)
    large = attention_gradient_at_init(graph, prior, draws=3200, rng=1)
    # α(S-1) = 1: the query row has no prior mean and is masked; the context rows are bounded
    assert not small.defined[-1].any() and small.finite_variance[:-1].all()
    random = np.asarray(small.finite_variance) & (np.ma.filled(small.stderr, 0.0) > 0)
    se_small, se_large = np.ma.getdata(small.stderr)[random], np.ma.getdata(large.stderr)[random]
    # sqrt(3200/200) = 4.  Each standard error is itself estimated, with relative sd sqrt((κ-1)/(4k)) for an
    # integrand of kurtosis κ: κ <= 4.6 for these entries (4,000 draws), so <= 0.07 at k = 200 and the window
    # 4 × (0.62, 1.62) is more than 5 sd on either side
    ratio = np.median(se_small / se_large)
    assert 2.5 < ratio < 6.5
    # two independent estimates: their difference has standard error sqrt(se_small² + se_large²), not
    # se_large alone; 5 se over the (5) random entries: family-wise level < 3e-6
    gap = np.abs(np.ma.getdata(small.value) - np.ma.getdata(large.value))[random]
    assert np.all(gap <= 5 * np.sqrt(se_small ** 2 + se_large ** 2))


def test_causal_softmax_rows():
    A = np.random.default_rng(0).normal(size=(4, 4))
    a = causal_softmax(A)
    assert np.all(np.triu(a, 1) == 0) and np.allclose(a.sum(axis=1), 1, atol=1e-15)  # masked: exp(-inf) = 0
    assert np.allclose(a[2, :3], np.exp(A[2, :3]) / np.exp(A[2, :3]).sum(), atol=1e-15)


def test_small_beta_gradient_at_zero_is_the_initial_gradient():
    graph, pi = CausalGraph.from_parents([None, 0, 0, 1]), np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.3, 0.3, 0.4]])
    T = graph.n + 1
    g = small_beta_attention_gradient(drift_matrix(graph, pi), np.zeros((T, T)), 1.0)
    np.testing.assert_allclose(g, attention_gradient_at_init(graph, pi), atol=1e-15)


def test_dirichlet_drift_is_the_finite_prior_of_its_draws():
    graph, prior = CausalGraph.chain(3), DirichletPrior(3, 1.0)
    exact = drift_matrix(graph, FinitePrior(prior.sample(50, 9)))
    # the Dirichlet branch builds this very FinitePrior from the same seed: the same operations, bit for bit
    assert np.array_equal(drift_matrix(graph, prior, draws=50, rng=9), exact)


def test_absent_target_probability_and_finite_smoothed_loss():
    graph, pi = CausalGraph.chain(2), np.array([[0.8, 0.2], [0.3, 0.7]])
    p = absent_target_probability(graph, pi)
    # brute force: the event needs one token missing from all three positions
    pop = enumerate_population(graph, pi)
    by_hand = sum(prob for toks, prob, y in zip(pop.tokens, pop.probability, pop.target)
                  if any(y[s] > 0 and s not in toks for s in range(2)))
    assert 0 < p == pytest.approx(by_hand, abs=1e-15)  # <= 8 terms summed in another order: <= 8 ε p = 7e-16
    g = attention_gradient_at_init(graph, pi, loss="cross_entropy")
    assert np.all(np.isfinite(g))


def test_linearized_loss_needs_full_support():
    with pytest.raises(ValueError, match="prior: the linearised loss"):
        attention_gradient_at_init(CausalGraph.chain(3), [[0.0, 1.0], [0.0, 1.0]])


def test_count_estimator_against_a_loop():
    graph = CausalGraph.from_parents([None, 0, 1, None, 3])
    tokens = np.random.default_rng(3).integers(0, 3, size=(50, 6))
    est = count_estimator(graph, tokens, 0.1, 3)
    for row, x in zip(est, tokens):
        hits = [x[i] for i in range(5) if graph.parents[i] and x[graph.parents[i][0]] == x[5]]
        expected = [(0.1 + hits.count(s)) / (0.3 + len(hits)) for s in range(3)]
        assert np.allclose(row, expected, atol=1e-15)


# ----------------------------------------------------------------- strategies
@given(transition_matrices(st.integers(2, 4)), trees(st.integers(1, 6)))
@FAST
def test_strategies_draw_valid_objects(pi, tree):
    assert np.allclose(pi.sum(1), 1, atol=1e-12) and np.all(pi >= 0)
    assert tree.roots == (0,)
    assert np.all(stationary_distribution(pi) > 0)


@given(joint_distributions(4, 2))
@FAST
def test_chi2_matrix_psd_on_random_laws(P):
    M = pairwise_information_matrix(P, "chi2")
    assert np.linalg.eigvalsh(M)[0] >= -1e-10 * max(1, np.trace(M))


def test_information_of_pairwise_joints_matches_matrix():
    graph, pi = CausalGraph.chain(4), np.array([[0.8, 0.2], [0.3, 0.7]])
    assert np.allclose(information_of_pairwise_joints(pairwise_joint(graph, pi), "chi2"),
                       mutual_information_matrix(graph, pi, "chi2"), atol=1e-14)


# ----------------------------------------------------------------- bad input
BAD_CALLS = [
    (lambda: CausalGraph.from_parents([None, 1]), "parents[1]"),
    (lambda: CausalGraph.from_parents([None, 0, [0, 0]]), "parents[2]"),
    (lambda: CausalGraph.from_parents("abc"), "parents"),
    (lambda: CausalGraph.chain(0), "n"),
    (lambda: CausalGraph.chain(2.5), "n"),
    (lambda: DirichletPrior(1, 0.1), "S"),
    (lambda: DirichletPrior(3, 0.0), "alpha"),
    (lambda: DirichletPrior(3, float("nan")), "alpha"),
    (lambda: FinitePrior([[[0.5, 0.6], [0.5, 0.5]]]), "matrices"),
    (lambda: FinitePrior([[[0.5, 0.5], [0.5, 0.5]]], [0.5]), "weights"),
    (lambda: pairwise_joint(CausalGraph.chain(3), [[0.5, 0.5], [0.2, 0.7]]), "pi"),
    (lambda: pairwise_joint(CausalGraph.chain(3), [[1.5, -0.5], [0.3, 0.7]]), "pi"),
    (lambda: pairwise_joint(CausalGraph.chain(3), [[np.nan, 1.0], [0.3, 0.7]]), "pi"),
    (lambda: pairwise_joint(CausalGraph.chain(3), [[1.0]]), "pi"),
    (lambda: pairwise_joint(CausalGraph.chain(3), np.ones((2, 3)) / 3), "pi"),
    (lambda: pairwise_joint(CausalGraph.chain(3), np.eye(2) * 0.5 + 0.25, roots="cold"), "roots"),
    (lambda: pairwise_joint(CausalGraph.from_parents([None, None, [0, 1]]), np.full((2, 2), 0.5)), "graph"),
    (lambda: pairwise_joint("chain", np.full((2, 2), 0.5)), "graph"),
    (lambda: mutual_information_matrix(CausalGraph.chain(2), np.full((2, 2), 0.5), "renyi"), "kind"),
    (lambda: mutual_information_matrix(CausalGraph.chain(2), np.full((2, 2), 0.5), lambda t: t), "kind"),
    (lambda: mutual_information_matrix(CausalGraph.chain(2), np.full((2, 2), 0.5), lambda t: -(t - 1) ** 2), "kind"),
    (lambda: mutual_information(np.full((2, 2), 0.3)), "joint"),
    (lambda: attention_gradient_at_init(CausalGraph.chain(2), np.full((2, 2), 0.5), loss="hinge"), "loss"),
    (lambda: attention_gradient_at_init(CausalGraph.chain(2), DirichletPrior(2), draws=1), "draws"),
    (lambda: attention_gradient_at_init(CausalGraph.chain(2), np.eye(2)), "pi"),
    (lambda: sample_sequences(CausalGraph.chain(2), np.full((2, 2), 0.5), 0), "size"),
    (lambda: sample_sequences(CausalGraph.chain(2), np.full((2, 2), 0.5), 5, rng="seed"), "rng"),
    (lambda: count_estimator(CausalGraph.chain(2), np.zeros((4, 2), dtype=int), 0.1, 2), "tokens"),
    (lambda: initial_gradient_by_extrapolation(CausalGraph.chain(2), np.full((2, 2), 0.5), beta=-1.0), "beta"),
]


@pytest.mark.parametrize("call, argument", BAD_CALLS)
def test_bad_input_names_the_argument(call, argument):
    with pytest.raises(ValueError) as info:
        call()
    assert str(info.value).startswith(argument), str(info.value)


@given(forests(st.integers(1, 7)), st.one_of(transition_matrices(st.integers(2, 4)), finite_priors(st.integers(2, 3))),
       st.sampled_from(ROOTS))
@FAST
def test_fast_N_equals_its_definition_through_the_joints(graph, pi, roots):
    from theory.gradients import likelihood_ratio_from_joint
    from theory.laws import pairwise_joints, root_laws, stationary_laws

    pis, weights, _ = prior_stack(pi)
    by_definition = np.einsum("k,kij->ij", weights,
                              likelihood_ratio_from_joint(pairwise_joints(graph, pis, root_laws(pis, roots)), pis,
                                                          stationary_laws(pis)))
    fast = likelihood_ratio_matrix(graph, pi, roots)
    assert np.max(np.abs(fast - by_definition)) <= 1e-12 * np.max(np.abs(by_definition))
