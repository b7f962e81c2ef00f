"""Symbolic proofs on π = [[1-p, p], [q, 1-q]] (theory.symbolic)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from theory import symbolic
from theory.enumeration import enumerate_population
from theory.gradients import attention_gradient_at_init, empirical_law
from theory.graphs import CausalGraph
from theory.symbolic import beta, p, q

GRAPHS = [CausalGraph.chain(3), CausalGraph.icl_pairs(3)]
ROOTS = ["stationary", "uniform"]
POINT = {p: sp.Rational(1, 3), q: sp.Rational(1, 5)}


def _pi_at_point() -> np.ndarray:
    return np.array(symbolic.symbolic_transition_matrix().subs(POINT).tolist(), dtype=np.float64)


@pytest.mark.parametrize("graph", GRAPHS, ids=["chain", "icl_pairs"])
@pytest.mark.parametrize("roots", ROOTS)
def test_initial_gradient_is_proved(graph, roots):
    result = symbolic.prove_initial_gradient(graph, roots)
    assert result.proved
    assert result.nonzero == ()
    assert all(e == 0 for e in result.difference)
    assert result.details["model"] != sp.zeros(4, 4)  # not vacuous


@pytest.mark.parametrize("roots", ROOTS)
def test_wrong_closed_forms_are_not_proved(roots):
    graph = CausalGraph.chain(3)
    T, S = 4, 2
    good = symbolic.symbolic_closed_form_gradient(graph, roots)
    N = symbolic.symbolic_likelihood_ratio_matrix(graph, roots)
    row_only = sp.zeros(T, T)  # the closed form without its O(1/T) column correction
    for i in range(T):
        mean_row = sum(N[i, l] for l in range(i + 1)) / (i + 1)
        for j in range(i + 1):
            row_only[i, j] = -(N[i, j] - mean_row) / (S * T * (i + 1))
    for wrong in (row_only, -good):
        result = symbolic.prove_initial_gradient(graph, roots, closed_form=wrong)
        assert not result.proved
        assert result.nonzero
    assert symbolic.prove_initial_gradient(graph, roots, closed_form=good).proved


@pytest.mark.parametrize("graph", GRAPHS, ids=["chain", "icl_pairs"])
@pytest.mark.parametrize("roots", ROOTS)
def test_beta_series_constant_term_matches_numeric_enumeration(graph, roots):
    # At A1 = 0, β = 0 the model outputs the empirical law ĉ of the T tokens.
    pop = enumerate_population(graph, _pi_at_point(), roots)
    yhat = empirical_law(pop.tokens, 2)
    numeric = -np.sum(pop.probability * np.sum(pop.target * yhat / pop.stationary, axis=1))
    series = symbolic.symbolic_beta_series(graph, order=2, roots=roots)
    constant = series.removeO().coeff(beta, 0)
    assert float(constant.subs(POINT)) == pytest.approx(numeric, rel=1e-12, abs=1e-14)
    assert series.removeO().coeff(beta, 1) != 0


def test_symbolic_gradient_matches_the_float_closed_form_at_a_point():
    graph = CausalGraph.icl_pairs(3)
    for roots in ROOTS:
        g = np.array(symbolic.symbolic_initial_gradient(graph, roots).subs(POINT).tolist(), dtype=np.float64)
        numeric = attention_gradient_at_init(graph, _pi_at_point(), roots=roots)
        np.testing.assert_allclose(g, numeric, rtol=1e-12, atol=1e-15)


def test_shortcut_equals_literal_differentiation_of_the_loss():
    # symbolic_initial_gradient differentiates term by term; here the whole loss, entry by entry.
    graph = CausalGraph.chain(2)
    loss = symbolic.symbolic_linearized_loss(graph, "uniform")
    A1 = symbolic.attention_symbols(3)
    at_zero = {a: 0 for a in A1 if a != 0}
    fast = symbolic.symbolic_initial_gradient(graph, "uniform")
    for i in range(3):
        for j in range(i + 1):
            literal = loss.diff(A1[i, j]).xreplace(at_zero).diff(beta).xreplace({beta: 0})
            assert sp.cancel(literal - fast[i, j]) == 0


def test_theory_functions_run_on_plain_sympy_expressions_too():
    graph = CausalGraph.chain(2)
    pis = np.array(symbolic.symbolic_transition_matrix().tolist(), dtype=object)[None]
    mu = np.array(symbolic.symbolic_stationary_law().tolist(), dtype=object)
    N, g = symbolic.closed_form_from_arrays(graph, pis, mu, mu)
    assert all(isinstance(e, sp.Basic) for e in g.ravel())
    expected = symbolic.symbolic_closed_form_gradient(graph, "stationary")
    assert all(sp.cancel(a - b) == 0 for a, b in zip(sp.Matrix(g.tolist()), expected))


def test_population_probabilities_sum_to_one():
    for graph in GRAPHS:
        for roots in ROOTS:
            total = sum(prob for _, prob in symbolic.symbolic_population(graph, roots))
            assert sp.cancel(total) == 1


def test_chi2_parent_identity_holds_for_stationary_roots_only():
    for graph in GRAPHS:
        assert symbolic.prove_chi2_parent_identity(graph, "stationary").proved
        uniform = symbolic.prove_chi2_parent_identity(graph, "uniform")
        assert not uniform.proved
        i = uniform.nonzero[0][0]
        assert uniform.difference[i, 0].subs(POINT) != 0


def test_chi2_information_of_an_independent_table_is_zero():
    joint = sp.Matrix([[p * q, p * (1 - q)], [(1 - p) * q, (1 - p) * (1 - q)]])
    assert symbolic.symbolic_chi2_information(joint) == 0


@pytest.mark.parametrize("call, name", [
    (lambda: symbolic.prove_initial_gradient("chain"), "graph"),
    (lambda: symbolic.prove_initial_gradient(CausalGraph.chain(4)), "graph"),
    (lambda: symbolic.symbolic_linearized_loss(CausalGraph.from_parents([None, None, [0, 1]])), "graph"),
    (lambda: symbolic.symbolic_initial_gradient(CausalGraph.chain(3), roots="gaussian"), "roots"),
    (lambda: symbolic.symbolic_beta_series(CausalGraph.chain(3), order=0), "order"),
    (lambda: symbolic.prove_initial_gradient(CausalGraph.chain(3), closed_form=sp.zeros(3, 3)), "closed_form"),
    (lambda: symbolic.prove_initial_gradient(CausalGraph.chain(3), closed_form=sp.ones(4, 4) * sp.Symbol("r")),
     "closed_form"),
    (lambda: symbolic.symbolic_pairwise_joint(CausalGraph.chain(3), 3, 0), "i"),
    (lambda: symbolic.symbolic_chi2_information([[1, 0], [0, 1]]), "joint"),
])
def test_bad_input_raises_value_error_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=rf"^{name}:"):
        call()


def test_symbolic_model_gradient_matches_torch_autograd_at_a_point():
    numerics = pytest.importorskip("numerics.population")
    graph = CausalGraph.chain(3)
    g = np.array(symbolic.symbolic_initial_gradient(graph, "uniform").subs(POINT).tolist(), dtype=np.float64)
    autograd = numerics.initial_gradient_by_extrapolation(graph, _pi_at_point(), roots="uniform", beta=1e-3)
    # Richardson in β leaves c₃β³: 4.5e-12 at β = 1e-2, 4.5e-15 here (max|g| = 0.014); round-off is ε-relative
    # at any β (every term of ∂L/∂A1 is O(β)), times 5 from the Richardson weights
    np.testing.assert_allclose(autograd, g, rtol=0, atol=1e-11)
