"""theory.enumeration: exact laws by summing every sequence, and the brute-force oracles, against the
closed forms of theory.laws, theory.information and theory.gradients."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from theory.enumeration import (all_sequences, brute_force_pairwise_joint, context_likelihood_ratio_by_enumeration,
                                enumerate_population, guard_enumeration, information_by_enumeration,
                                likelihood_ratio_by_enumeration, sequence_probabilities)
from theory.gradients import likelihood_ratio_matrix
from theory.graphs import CausalGraph
from theory.information import mutual_information_matrix
from theory.laws import ROOTS, pairwise_joint
from theory.priors import DirichletPrior, FinitePrior
from theory.strategies import finite_priors, forests, transition_matrices

FAST = settings(max_examples=20, deadline=None)


def test_all_sequences_are_lexicographic():
    seqs = all_sequences(3, 2)
    assert seqs.shape == (9, 2) and seqs[:4].tolist() == [[0, 0], [0, 1], [0, 2], [1, 0]]


def test_guard_names_the_count():
    guard_enumeration(10, 10, "ok")
    with pytest.raises(ValueError, match=r"^max_sequences: exact enumeration needs 11 terms \(what\)"):
        guard_enumeration(11, 10, "what")


@given(forests(st.integers(1, 5)), transition_matrices(st.integers(2, 3)), st.sampled_from(ROOTS))
@FAST
def test_sequence_probabilities_sum_to_one_and_give_the_pairwise_joint(graph, pi, roots):
    contexts, prob = sequence_probabilities(graph, pi, roots)
    assert contexts.shape == (pi.shape[0] ** graph.n, graph.n) and abs(prob.sum() - 1) < 1e-12
    np.testing.assert_allclose(brute_force_pairwise_joint(graph, pi, roots), pairwise_joint(graph, pi, roots),
                               atol=1e-13)


@given(forests(st.integers(1, 4)), finite_priors(st.integers(2, 3), size=2))
@FAST
def test_population_is_the_weighted_mixture(graph, prior):
    pop = enumerate_population(graph, prior)
    S, T = prior.S, graph.n + 1
    assert pop.tokens.shape == (len(prior.weights) * S ** T, T) and abs(pop.probability.sum() - 1) < 1e-12
    np.testing.assert_allclose(pop.target, np.concatenate([p[pop.tokens[k * S ** T:(k + 1) * S ** T, -1]]
                                                           for k, p in enumerate(prior.matrices)]))


def test_population_refuses_a_dirichlet_prior():
    with pytest.raises(ValueError, match="^prior:"):
        enumerate_population(CausalGraph.chain(2), DirichletPrior(2))


@given(forests(st.integers(1, 4)), st.one_of(transition_matrices(st.integers(2, 3)), finite_priors(st.integers(2, 3))))
@FAST
def test_likelihood_ratio_oracles_agree_with_the_closed_form(graph, source):
    N = likelihood_ratio_matrix(graph, source, "stationary")
    np.testing.assert_allclose(likelihood_ratio_by_enumeration(graph, source), N, atol=1e-11 * np.abs(N).max())
    if not isinstance(source, FinitePrior):
        for roots in ROOTS:
            N = likelihood_ratio_matrix(graph, source, roots)
            np.testing.assert_allclose(context_likelihood_ratio_by_enumeration(graph, source, roots), N[:-1, :-1],
                                       atol=1e-11 * np.abs(N).max())


@given(forests(st.integers(1, 5)), transition_matrices(st.integers(2, 3)), st.sampled_from(ROOTS))
@FAST
def test_information_oracle_agrees_with_the_closed_form(graph, pi, roots):
    joint = brute_force_pairwise_joint(graph, pi, roots)
    for kind in ("shannon", "chi2"):
        np.testing.assert_allclose(information_by_enumeration(joint, kind),
                                   mutual_information_matrix(graph, pi, kind, roots), atol=1e-11)
