"""The stack kernels of theory.laws: stationary and root laws, transition powers, marginals, pairwise joints,
on float stacks and on sympy object arrays."""

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

from theory.graphs import CausalGraph
from theory.laws import (ROOTS, marginal_laws, marginals, pairwise_joint, pairwise_joints, root_laws,
                         stationary_distribution, stationary_laws, transition_powers)
from theory.strategies import finite_priors, forests

FAST = settings(max_examples=25, deadline=None)


@given(finite_priors(st.integers(2, 5), size=4))
@FAST
def test_stationary_laws_of_a_stack_are_invariant(prior):
    mu = stationary_laws(prior.matrices)
    assert mu.shape == (len(prior.weights), prior.S)
    assert np.allclose(np.einsum("ma,mab->mb", mu, prior.matrices), mu, rtol=1e-9, atol=0)
    assert np.array_equal(mu[0], stationary_distribution(prior.matrices[0]))  # same kernel, same ops per matrix


def test_state_reduction_keeps_relative_accuracy_for_nearly_reducible_chains():
    p, q = 1e-14, 3e-15  # μ = (q, p) / (p + q) exactly
    pi = np.array([[[1 - p, p], [q, 1 - q]]])
    # subtraction-free (GTH): a few roundings per entry, however small; 1 - p and 1 - q are never used
    np.testing.assert_allclose(stationary_laws(pi)[0], [q / (p + q), p / (p + q)], rtol=1e-14)


def test_stationary_laws_fall_back_on_transient_states_and_refuse_several_classes():
    transient = np.array([[[0.5, 0.5, 0.0], [0.0, 0.2, 0.8], [0.0, 0.6, 0.4]]])
    mu = stationary_laws(transient)[0]
    # the transient state's 0 comes from a linear solve (GTH has a zero pivot here), so only up to its
    # round-off: n κ∞ ε |μ| with n = 3, κ∞ = 9.4, i.e. 6e-15 (LAPACK's solve gives -5.6e-17, clipped to 0;
    # lstsq gives +5.4e-16)
    assert 0 <= mu[0] <= 3 * 9.4 * np.finfo(np.float64).eps
    assert np.allclose(mu @ transient[0], mu, atol=1e-15)
    with pytest.raises(ValueError, match="pi: expected a chain with a unique stationary law; matrix 1"):
        stationary_laws(np.stack([transient[0], np.eye(3)]))


def test_root_laws():
    pis = np.array([[[0.9, 0.1], [0.4, 0.6]], [[0.5, 0.5], [0.5, 0.5]]])
    assert np.array_equal(root_laws(pis, "stationary"), stationary_laws(pis))  # the same kernel call
    assert np.array_equal(root_laws(pis, "uniform"), np.full((2, 2), 0.5))  # 1/2 is exact
    assert ROOTS == ("stationary", "uniform")
    with pytest.raises(ValueError, match="^roots:"):
        root_laws(pis, "cold")


def test_transition_powers_float_and_object():
    pi = np.array([[[0.7, 0.3], [0.2, 0.8]]])
    powers = transition_powers(pi, 4)
    assert powers.shape == (5, 1, 2, 2)
    for k in range(5):
        np.testing.assert_allclose(powers[k, 0], np.linalg.matrix_power(pi[0], k), atol=1e-15)
    p, q = sp.symbols("p q", positive=True)
    sym = np.array([[[1 - p, p], [q, 1 - q]]], dtype=object)
    assert sp.simplify(transition_powers(sym, 2)[2, 0, 0, 1] - (p * (1 - p) + p * (1 - q))) == 0


@given(forests(st.integers(1, 6)), finite_priors(st.integers(2, 3)), st.sampled_from(ROOTS))
@FAST
def test_stack_kernels_agree_with_the_single_pi_front_ends(graph, prior, roots):
    pis = prior.matrices
    start = root_laws(pis, roots)
    depth = graph.depths()
    law = marginal_laws(start, transition_powers(pis, int(depth.max())), depth)
    joints = pairwise_joints(graph, pis, start)
    assert law.shape == (len(pis), graph.n, prior.S) and joints.shape == (len(pis), graph.n, graph.n) + (prior.S,) * 2
    for k, pi in enumerate(pis):
        np.testing.assert_allclose(law[k], marginals(graph, pi, roots), atol=1e-15)
        np.testing.assert_allclose(joints[k], pairwise_joint(graph, pi, roots), atol=1e-15)
        np.testing.assert_allclose(np.einsum("iiab->ia", joints[k]), law[k], atol=1e-14)


def test_pairwise_joints_on_sympy_object_arrays_match_floats_at_a_point():
    p, q = sp.symbols("p q", positive=True)
    graph = CausalGraph.from_parents([None, 0, 0, None])
    sym = np.array([[[1 - p, p], [q, 1 - q]]], dtype=object)
    start = np.array([[q / (p + q), p / (p + q)]], dtype=object)
    joint = pairwise_joints(graph, sym, start)
    point = {p: sp.Rational(1, 3), q: sp.Rational(1, 5)}
    value = np.vectorize(lambda e: float(sp.sympify(e).subs(point)))(joint)
    exact = pairwise_joint(graph, np.array([[2 / 3, 1 / 3], [1 / 5, 4 / 5]]))
    np.testing.assert_allclose(value[0], exact, atol=1e-15)
