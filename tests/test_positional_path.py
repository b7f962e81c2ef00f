"""Positional weights only (spec 2, claim 7): the gradient-descent path of the paper's experiment,
ill-conditioning detection, the closed-form minimiser, and the torch model on sampled sequences."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import sympy as sp
import torch

from model.autoregressive import PositionalOnly
from theory.enumeration import positional_gd_path_by_iteration
from numerics import autoregressive as nar
from numerics import train_autoregressive as tar
from theory import positional
from theory import autoregressive_symbolic as ars


def mean_loss(P, C, nu):
    return np.mean([positional.positional_population_loss(P[n - 1, : n + 1], C, nu) for n in range(1, P.shape[0] + 1)])


@pytest.mark.parametrize("C, nu, n_max, lr", [
    (np.array([[1.0]]), 50.0, 29, 0.5),
    (np.array([[0.7]]), 3.0, 6, 0.3),
    (np.array([[1.0, 0.3], [-0.2, 0.8]]), 4.0, 5, 0.4),
    (np.array([[1.0, 0.3], [-0.2, 0.8]]), 1.0, 4, 0.4),
])
def test_path_equals_plain_iteration(C, nu, n_max, lr):
    for steps in (0, 1, 7, 120):
        P, taken = positional.positional_gd_path(C, n_max, nu, lr, steps=steps)
        assert taken == steps
        np.testing.assert_allclose(P, positional_gd_path_by_iteration(C, n_max, nu, lr, steps), atol=1e-12)
        assert np.all(P[np.triu_indices(n_max, k=2, m=n_max + 1)] == 0)  # weights a row never has: never touched


@pytest.mark.parametrize("d, nu, n_max", [(1, 50, 3), (2, 4, 2)])
def test_path_equals_gd_on_the_sympy_loss(d, nu, n_max):
    """Independent oracle: the loss derived by sympy from the model (φ_ν symbolic), gradient by sympy,
    a plain loop of gradient steps on the mean over rows."""
    C = np.array([[0.9]]) if d == 1 else np.array([[1.0, 0.3], [-0.2, 0.8]])
    lr, steps = 0.4, 25
    grads = []
    for n in range(1, n_max + 1):
        Cs, ps = ars.raw_token_symbols(d, n)
        expr = ars.raw_token_loss_symbolic(d, n, "unitary", sp.Integer(nu)).subs(dict(zip(list(Cs), C.ravel())))
        grads.append(sp.lambdify(ps, [sp.diff(expr, v) for v in ps], "numpy"))
    P = np.zeros((n_max, n_max + 1))
    for _ in range(steps):
        for n, grad in enumerate(grads, start=1):
            P[n - 1, : n + 1] -= lr / n_max * np.real(np.array(grad(*P[n - 1, : n + 1]), dtype=complex))
    np.testing.assert_allclose(positional.positional_gd_path(C, n_max, float(nu), lr, steps=steps)[0], P, atol=1e-10)


def test_stop_rule_is_one_step_after_the_loss_falls_below():
    C, nu, n_max, lr, stop = np.array([[1.0]]), 50.0, 8, 0.5, 1e-2
    P, taken = positional.positional_gd_path(C, n_max, nu, lr, stop_loss=stop)
    Q, t = np.zeros((n_max, n_max + 1)), 0
    while mean_loss(Q, C, nu) >= stop:          # the paper's loop: loss of the current P, then the step
        Q, t = positional_gd_path_by_iteration(C, n_max, nu, lr, t + 1), t + 1
    assert taken == t + 1
    np.testing.assert_allclose(P, positional_gd_path_by_iteration(C, n_max, nu, lr, t + 1), atol=1e-12)
    assert mean_loss(positional_gd_path_by_iteration(C, n_max, nu, lr, taken - 2), C, nu) >= stop
    # a threshold above the initial loss: one step is still taken
    P1, one = positional.positional_gd_path(C, n_max, nu, lr, stop_loss=10.0)
    assert one == 1 and np.allclose(P1, positional_gd_path_by_iteration(C, n_max, nu, lr, 1))


def test_torch_training_on_samples_is_the_path_on_the_empirical_gram():
    C, nu, n_max, lr = np.array([[1.0]]), 20.0, 6, 0.5
    run = tar.train_positional_gd(C, n_max, nu, 300, lr, stop_loss=5e-2, seed=3)
    G, g, c = tar.empirical_positional_grams(run.X, C, n_max)
    P, taken = positional.quadratic_gd_path(G, g, c, lr, stop_loss=5e-2)
    assert taken == run.steps == len(run.history)
    np.testing.assert_allclose(run.P, P, atol=1e-12)
    # the empirical quadratic is the torch model's empirical loss at any P
    model = PositionalOnly(torch.from_numpy(C), n_max)
    Pr = np.random.default_rng(0).standard_normal((n_max, n_max + 1)) * np.tril(np.ones((n_max, n_max + 1)), 1)
    with torch.no_grad():
        model.P.copy_(torch.from_numpy(Pr))
        L = (model(torch.from_numpy(run.X)) - torch.from_numpy(run.X[:, 2:])).abs().pow(2).sum(-1).mean(0)
    quad = np.einsum("ni,nij,nj->n", Pr, G, Pr) - 2 * np.einsum("ni,ni->n", g, Pr) + c
    np.testing.assert_allclose(L.numpy(), quad, rtol=1e-12, atol=1e-12)


def test_monte_carlo_path_approaches_the_population_path():
    C, nu, n_max, lr, steps = np.array([[1.0]]), 50.0, 10, 0.5, 200
    P, _ = positional.positional_gd_path(C, n_max, nu, lr, steps=steps)
    run = tar.train_positional_gd(C, n_max, nu, 4000, lr, steps=steps, seed=11)
    # se: delete-a-group jackknife of sqrt E||P̂ - P||² over 40 groups.  Worst case, the error is one Gaussian
    # direction and se an estimate with 39 degrees of freedom: ||P̂ - P|| / se is then |t_39|, and 5 se has
    # level 1.3e-5.  The GD path's bias is O(1/size), below se = O(1/√size) (0.0005 against an rms error of
    # 0.0081 over 40 independent samples).  With 8 groups the jackknife came out at 0.0038, half that rms
    # (20 to 200 groups: 0.0068 to 0.0078).
    se = tar.jackknife_positional_path_se(run.X, C, n_max, lr, steps, groups=40)
    assert 0 < se < 0.05 * np.linalg.norm(P)  # the sample is large enough for the comparison to mean something
    assert np.linalg.norm(run.P - P) <= 5 * se


def test_positional_only_forward_matches_the_formula():
    rng = np.random.default_rng(1)
    d, T = 2, 3
    C = rng.standard_normal((d, d))
    X = nar.eigen_tokens("unitary", d, T, 5, rng, 3.0)
    model = PositionalOnly(torch.from_numpy(C), T)
    with torch.no_grad():
        model.P.copy_(torch.from_numpy(rng.standard_normal((T, T + 1))))
        out = model(torch.from_numpy(X)).numpy()
    P = model.P.detach().numpy()
    ref = np.zeros((5, T, d), dtype=complex)
    for b in range(5):
        for n in range(1, T + 1):
            for k in range(d):
                score = [sum(C[k, l] * np.conj(X[b, n - 1, l]) * X[b, j, l] for l in range(d)) for j in range(n + 1)]
                ref[b, n - 1, k] = sum(P[n - 1, j] * score[j] * X[b, j, k] for j in range(n + 1))
    np.testing.assert_allclose(out, ref, atol=1e-12)


def test_closed_form_minimiser_and_ill_conditioning_warning():
    with pytest.warns(positional.IllConditionedGramWarning, match="exact closed-form"):
        p, L = positional.optimal_positional_weights(np.array([[2.0]]), 29, 50.0)
    np.testing.assert_array_equal(p, np.eye(30)[29] / 2.0)  # p*_n = tr C/||C||² = 2/4 and L* = 1 - 2²/4: exact
    assert L == 0.0 and positional.positional_population_loss(p, np.array([[2.0]]), 50.0) == pytest.approx(0, abs=1e-12)
    # diagonal C: p* = tr(C)/||C||_F² e_n solves G p = g, any ν, and is the lstsq point when well conditioned
    C = np.diag([1.0, 2.0])
    for nu, n in ((3.0, 2), (1.0, 4), (50.0, 3)):
        G, g, _ = positional.positional_gram(C, n, nu)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", positional.IllConditionedGramWarning)
            p, L = positional.optimal_positional_weights(C, n, nu)
        np.testing.assert_allclose(G @ p, g, atol=1e-12)
        assert p[n] == pytest.approx(3 / 5) and L == pytest.approx(2 - 9 / 5)
    G, g, _ = positional.positional_gram(C, 2, 3.0)
    np.testing.assert_allclose(np.linalg.solve(G, g), positional.optimal_positional_weights(C, 2, 3.0)[0], atol=1e-9)
    # full-circle, any C: closed form of claim 4
    Cg = np.array([[1.0, 0.3], [-0.2, 0.8]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p, L = positional.optimal_positional_weights(Cg, 3, 1.0)
    assert L == pytest.approx(2 - np.trace(Cg) ** 2 / np.sum(Cg ** 2))
    # general C, ill-conditioned: the warning says the point depends on the cutoff; one warning per matrix
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        positional.optimal_positional_matrix(Cg, 12, 40.0)
    ill = [w for w in caught if issubclass(w.category, positional.IllConditionedGramWarning)]
    assert len(ill) == 1 and "cutoff" in str(ill[0].message)


def test_condition_number_in_extended_precision():
    C = np.array([[1.0]])
    # moderately conditioned: agrees with float64
    G, _, _ = positional.positional_gram(C, 4, 6.0)
    assert positional.positional_gram_condition_number(C, 4, 6.0) == pytest.approx(np.linalg.cond(G), rel=1e-6)
    # the paper's regime: far beyond float64, stable under more digits
    kappa = positional.positional_gram_condition_number(C, 29, 300.0)
    ev = positional.positional_gram_spectrum(C, 29, 300.0, digits=400)
    assert kappa > 1e100 and ev[-1] / ev[0] == pytest.approx(kappa, rel=1e-8)
    # a singular Gram (C = 0) has an infinite condition number
    assert positional.positional_gram_condition_number(np.zeros((1, 1)), 3, 4.0) == float("inf")


def test_path_is_not_the_minimiser_and_keeps_the_leading_spectrum():
    C, nu, n_max, lr = np.array([[1.0]]), 50.0, 29, 0.5
    P, t = positional.positional_gd_path(C, n_max, nu, lr, stop_loss=1e-3)
    before = [mean_loss(positional.positional_gd_path(C, n_max, nu, lr, steps=k)[0], C, nu) for k in (t - 2, t - 1)]
    assert before[1] < 1e-3 <= before[0]        # P(t-1) is the first below; P(t) is one step later
    # d = 1: p_n(t) = (I - (I - κG)^t) e_n, computed here by matrix powers
    G, _, _ = positional.positional_gram(C, n_max, nu)
    kappa = 2 * lr / n_max
    row = (np.eye(n_max + 1) - np.linalg.matrix_power(np.eye(n_max + 1) - kappa * G, t))[:, n_max]
    np.testing.assert_allclose(P[-1], row, atol=1e-12)
    assert np.linalg.norm(P[-1] - np.eye(n_max + 1)[n_max]) > 0.3


@pytest.mark.parametrize("call, name", [
    (lambda: positional.positional_gd_path(np.eye(1), 5, 50.0, 0.0, steps=3), "lr"),
    (lambda: positional.positional_gd_path(np.eye(1), 5, 50.0, -0.5, steps=3), "lr"),
    (lambda: positional.positional_gd_path(np.eye(1), 5, 50.0, 0.5), "stop_loss"),
    (lambda: positional.positional_gd_path(np.eye(1), 5, 50.0, 0.5, stop_loss=1e-3, steps=3), "stop_loss"),
    (lambda: positional.positional_gd_path(np.eye(1), 5, 50.0, 0.5, stop_loss=-1.0), "stop_loss"),
    (lambda: positional.positional_gd_path(np.diag([1.0, 2.0]), 3, 4.0, 0.5, stop_loss=0.1), "stop_loss"),
    (lambda: positional.positional_gd_path(np.eye(1), 5, 50.0, 0.5, steps=-1), "steps"),
    (lambda: positional.positional_gd_path(np.eye(1), 5, 50.0, 0.5, steps=2.5), "steps"),
    (lambda: positional.positional_gd_path(np.eye(1), 5, 50.0, 50.0, stop_loss=1e-3), "lr"),
    (lambda: positional.positional_gd_path(np.eye(1), 0, 50.0, 0.5, steps=3), "n_max"),
    (lambda: positional.positional_gd_path(np.eye(1), 5, 0.5, 0.5, steps=3), "nu"),
    (lambda: positional.positional_gd_path(np.ones((1, 2)), 5, 50.0, 0.5, steps=3), "C"),
    (lambda: positional.quadratic_gd_path(np.ones((2, 3, 3)), np.ones((2, 4)), 1.0, 0.5, steps=1), "g"),
    (lambda: positional.quadratic_gd_path(np.ones((2, 3, 3)), np.ones((2, 3)), np.ones(3), 0.5, steps=1), "c"),
    (lambda: positional.positional_gram_spectrum(np.eye(1), 3, 4.0, digits=5), "digits"),
    (lambda: tar.train_positional_gd(np.eye(1), 3, 4.0, 10, 0.5), "stop_loss"),
    (lambda: tar.jackknife_positional_path_se(np.ones((3, 5, 1)), np.eye(1), 3, 0.5, 2, groups=4), "groups"),
])
def test_bad_arguments(call, name):
    with pytest.raises(ValueError, match=f"^{name}"):
        call()
