"""The published "Bayes" line: theory.published against a literal loop of the official code's logic,
its agreement with the count estimator where it must agree, and numerics.published_bayes's offset."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from numerics.published_bayes import official_bayes_offset
from theory.estimators import count_estimator
from theory.graphs import CausalGraph
from theory.priors import DirichletPrior
from theory.published import count_estimator_as_published, published_parent_positions
from theory.random_graphs import bernoulli_root_forest
from theory.sampling import sample_sequences
from theory.strategies import forests

LEVEL = 1e-3  # level of every statistical test here


def published_bayes_loop(dag: list[int], seq: list[int], alpha: float, S: int) -> list[float]:
    """The official ``InContextTree.bayes``, one sequence at a time in plain Python: split off the
    query, then for every context position add ``[ctx[dag[i]] == query]`` to the count of ``ctx[i]``,
    where ``dag[i] = -1`` for a root reads ``ctx[-1]`` (Python's negative index, as JAX's)."""
    query, ctx = seq[-1], list(seq[:-1])
    counts = [0.0] * S
    for i, parent in enumerate(dag):
        if ctx[parent] == query:
            counts[ctx[i]] += 1.0
    counts = [c + alpha for c in counts]
    total = sum(counts)
    return [c / total for c in counts]


@settings(max_examples=60, deadline=None)
@given(graph=forests(st.integers(1, 9)), S=st.integers(2, 4), alpha=st.sampled_from([0.01, 0.1, 1.0, 3.0]),
       seed=st.integers(0, 2 ** 32 - 1))
def test_published_estimator_matches_a_literal_loop_of_the_official_code(graph, S, alpha, seed):
    tokens = np.random.default_rng(seed).integers(0, S, size=(40, graph.n + 1))
    dag = [p[0] if p else -1 for p in graph.parents]
    expected = np.array([published_bayes_loop(dag, row.tolist(), alpha, S) for row in tokens])
    np.testing.assert_allclose(count_estimator_as_published(graph, tokens, alpha, S), expected, rtol=1e-13, atol=0)


def test_published_parent_positions_send_roots_to_the_last_context_token():
    graph = CausalGraph.from_parents([None, 0, None, 2, None])
    assert published_parent_positions(graph).tolist() == [4, 0, 4, 2, 4]


@pytest.mark.parametrize("graph", [CausalGraph.chain(12), bernoulli_root_forest(12, 5, root_probability=0.0),
                                   bernoulli_root_forest(12, 6, root_probability=0.0)],
                         ids=["chain", "recursive-tree-5", "recursive-tree-6"])
def test_equals_the_count_estimator_when_only_position_0_is_a_root_and_the_last_token_is_not_the_query(graph):
    assert graph.roots == (0,)
    S, alpha = 3, 0.1
    tokens = sample_sequences(graph, DirichletPrior(S, alpha), 4000, np.random.default_rng(7)).tokens
    differs = tokens[:, graph.n - 1] != tokens[:, graph.n]
    assert 0 < differs.sum() < len(differs)
    published = count_estimator_as_published(graph, tokens, alpha, S)
    correct = count_estimator(graph, tokens, alpha, S)
    np.testing.assert_array_equal(published[differs], correct[differs])
    # where x_{n-1} = x_n the one root adds one count at x_0: ŷ = (α + c + e_{x_0}) / (S·α + N + 1), with
    # c = ŷ_count·(S·α + N) - α the correct counts and N the number of children whose parent is the query
    same = ~differs
    par = graph.parent_array()
    N = (tokens[same][:, par[1:]] == tokens[same, -1:]).sum(axis=1, keepdims=True)
    counts = correct[same] * (S * alpha + N) - alpha
    counts[np.arange(same.sum()), tokens[same, 0]] += 1.0
    np.testing.assert_allclose(published[same], (alpha + counts) / (S * alpha + N + 1), rtol=1e-12)
    assert not np.allclose(published[same], correct[same])


def test_offset_standard_error_matches_the_spread_of_independent_replicates():
    """K replicates of the offset on m sequences each: ``(K-1)·s²/σ̂²`` with ``σ̂² = mean(stderr²)`` is
    ``χ²_{K-1}`` (the replicate means are nearly normal at m = 1500); two-sided test at level 1e-3."""
    graph, prior, K, m = CausalGraph.icl_pairs(9), DirichletPrior(3, 0.1), 60, 1500
    ss = np.random.SeedSequence(11).spawn(K)
    reps = [official_bayes_offset(graph, prior, m, np.random.default_rng(s)) for s in ss]
    values = np.array([float(e.value) for e in reps])
    claimed = np.mean([float(e.stderr) ** 2 for e in reps])
    statistic = (K - 1) * values.var(ddof=1) / claimed
    assert stats.chi2.ppf(LEVEL / 2, K - 1) < statistic < stats.chi2.ppf(1 - LEVEL / 2, K - 1)
    assert all(e.draws == m for e in reps)


def test_offset_is_positive_and_grows_with_the_number_of_roots():
    prior, m = DirichletPrior(10, 0.1), 8192
    chain = official_bayes_offset(CausalGraph.chain(19), prior, m, 1)
    pairs = official_bayes_offset(CausalGraph.icl_pairs(19), prior, m, 2)
    z = stats.norm.ppf(1 - LEVEL / 2)
    assert float(chain.value) > z * float(chain.stderr)
    assert float(pairs.value) - float(chain.value) > z * np.hypot(float(pairs.stderr), float(chain.stderr))


def test_offset_is_reproducible_from_its_seed():
    graph, prior = CausalGraph.chain(6), DirichletPrior(3, 0.1)
    a, b = (official_bayes_offset(graph, prior, 256, 3) for _ in range(2))
    assert float(a.value) == float(b.value) and float(a.stderr) == float(b.stderr)


# --------------------------------------------------------------------------- bad inputs
DAG2 = CausalGraph.from_parents([None, None, [0, 1]])


@pytest.mark.parametrize("kwargs, name", [
    (dict(graph="chain"), "graph"),
    (dict(graph=DAG2), "graph"),
    (dict(tokens=np.zeros((2, 4), dtype=int)), "tokens"),
    (dict(tokens=np.full((2, 5), 3)), "tokens"),
    (dict(tokens=np.zeros((2, 5))), "tokens"),
    (dict(alpha=0.0), "alpha"),
    (dict(alpha=float("nan")), "alpha"),
    (dict(S=1), "S"),
])
def test_published_estimator_refuses_bad_arguments(kwargs, name):
    args = dict(graph=CausalGraph.chain(4), tokens=np.zeros((2, 5), dtype=int), alpha=0.1, S=3) | kwargs
    with pytest.raises(ValueError, match=f"^{name}"):
        count_estimator_as_published(**args)


@pytest.mark.parametrize("kwargs, name", [
    (dict(graph=None), "graph"),
    (dict(graph=DAG2), "graph"),
    (dict(size=1), "size"),
    (dict(size=2.5), "size"),
    (dict(roots="root"), "roots"),
    (dict(rng="seed"), "rng"),
    (dict(alpha=-1.0), "alpha"),
    (dict(prior=np.eye(2) * 2), "prior"),
])
def test_offset_refuses_bad_arguments(kwargs, name):
    args = dict(graph=CausalGraph.chain(4), prior=DirichletPrior(3, 0.1), size=16, rng=0) | kwargs
    with pytest.raises(ValueError, match=f"^{name}"):
        official_bayes_offset(**args)
