"""Exact Haar moments (theory.haar_moments) against independent computations: Monte Carlo with z-scores,
brute-force Isserlis on the sphere, closed forms at d = 1, 2; the Monte Carlo references of
numerics.haar_references against each other and against direct evaluations."""

import numpy as np
import pytest
import torch

from model.autoregressive import AugmentedLinearAttention, gd_step_weights
from numerics import haar_references as hr
from numerics.train_haar import bare_layer_predictions
from theory import autoregressive as ar
from theory import haar_moments as hm

Z = 4.5  # |z| bound for Monte Carlo agreement (two-sided, many comparisons)


def _mc_overlaps(d, exponents, n, rng, s0=None):
    W = ar.haar_orthogonal_contexts(d, n, rng)
    s0 = np.full(d, 1 / np.sqrt(d)) if s0 is None else s0
    vals = np.ones(n)
    for e in exponents:
        P = np.linalg.matrix_power(W if e >= 0 else np.transpose(W, (0, 2, 1)), abs(e))
        vals = vals * np.einsum("i,nij,j->n", s0, P, s0)
    return vals


@pytest.mark.parametrize("d", [2, 3, 4, 5])
def test_quadratic_form_moments_match_monte_carlo(d):
    rng = np.random.default_rng(d)
    for ex in [(1,), (2,), (1, 1), (2, -3), (1, 2, -3), (3, 3, 0), (4, 1, 3)]:
        vals = _mc_overlaps(d, ex, 60000, rng)
        exact = hm.sphere_haar_quadratic_form_moment(d, ex)
        z = (vals.mean() - exact) / (vals.std(ddof=1) / np.sqrt(vals.size))
        assert abs(z) < Z, (d, ex, exact, vals.mean())


def test_low_order_closed_forms():
    # E[tr W] = 0 and E[(tr W)^2] = 1 for d >= 2 (Diaconis–Shahshahani); E[c_1^2] = (1 + 1 + d)/(d(d+2)) there
    for d in (2, 3, 5):
        tau, w = hm.haar_power_traces(d, 4)
        assert abs(w @ tau[:, 5]) < 1e-12
        assert abs(w @ tau[:, 5] ** 2 - 1) < 1e-12
        assert abs(w @ tau[:, 6] - 1) < 1e-12          # E tr W^2 = 1
        assert hm.sphere_haar_quadratic_form_moment(d, (1, 1)) == pytest.approx((1 + 1 + d) / (d * (d + 2)), abs=1e-12)
    # d = 1: W = ±1, c_k = (±1)^k
    assert hm.sphere_haar_quadratic_form_moment(1, (1,)) == pytest.approx(0.0, abs=1e-12)
    assert hm.sphere_haar_quadratic_form_moment(1, (1, 2, 3)) == pytest.approx(1.0)


def test_pairings_brute_force_isserlis():
    # E_u[Π uᵀ W^{n_i} u] for one fixed orthogonal W by the pairing formula, against Monte Carlo over u
    rng = np.random.default_rng(3)
    d = 3
    u = rng.standard_normal((400000, d))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    assert len(hm.pairing_trace_exponents(3)) == 15 and len(hm.pairing_trace_exponents(2)) == 3
    # with X_i = W^{n_i} (commuting) the sign vectors must reproduce the Monte Carlo value
    W = ar.haar_orthogonal_contexts(d, 1, rng)[0]
    n = (1, 2, 3)
    Xs = [np.linalg.matrix_power(W, k) for k in n]
    mc = np.prod([np.einsum("ni,ij,nj->n", u, x, u) for x in Xs], axis=0)
    exact = sum(np.prod([np.trace(np.linalg.matrix_power(W if np.dot(s, n) >= 0 else W.T, abs(int(np.dot(s, n)))))
                         for s in cycles]) for cycles in hm.pairing_trace_exponents(3)) / (d * (d + 2) * (d + 4))
    z = (mc.mean() - exact) / (mc.std(ddof=1) / np.sqrt(mc.size))
    assert abs(z) < Z


@pytest.mark.parametrize("d,law", [(5, "fixed"), (3, "sphere"), (4, "fixed")])
def test_gd_coefficients_match_monte_carlo(d, law):
    T = 12
    a, b, c = hm.haar_gd_step_coefficients(d, T)
    seqs = hr.haar_sequences(d, T, 20000, law, np.random.default_rng(7))
    ma, mb = hr.mc_gd_step_coefficients(seqs)
    assert a[0] == 0 and b[0] == 0 and np.all(c == 1)
    for exact, est in ((a, ma), (b, mb)):
        z = np.abs(est.value[1:] - exact[1:]) / est.stderr[1:]
        assert z.max() < Z
    eta, L = hm.haar_best_step_by_position(d, T)
    mL = hr.mc_gd_step_loss_by_position(seqs, eta)
    assert (np.abs(mL.value[1:] - L[1:]) / mL.stderr[1:]).max() < Z
    assert L[0] == 1.0 and np.all(L[1:] < 1)


def test_best_steps_are_minimisers():
    d, T = 5, 10
    eta, L = hm.haar_best_step_by_position(d, T)
    for dt in (-1e-3, 1e-3):
        assert np.all(hm.gd_step_loss_by_position(eta + dt, d, T)[1:] > L[1:])
    eta_s, L_s = hm.haar_best_shared_step(d, T)
    assert hm.gd_step_loss_by_position(eta_s, d, T).mean() == pytest.approx(L_s, abs=1e-12)
    for dt in (-1e-3, 1e-3):
        assert hm.gd_step_loss_by_position(eta_s + dt, d, T).mean() > L_s
    assert L_s >= L.mean() - 1e-12
    # t = 1: G_1 s_1 = s_1 c_1, so η*_1 = E[c_1²]/E[c_1²] = 1
    assert eta[1] == pytest.approx(1.0)


def test_gd_directions_equal_the_gd_construction_of_the_bare_layer():
    rng = np.random.default_rng(0)
    seqs = hr.haar_sequences(3, 6, 5, "sphere", rng)
    layer = AugmentedLinearAttention.from_gd_step(3, 0.7)
    pred = bare_layer_predictions(layer, torch.from_numpy(seqs)).detach().numpy()
    assert np.allclose(pred, 0.7 * hr.gd_directions(seqs), atol=1e-12)
    Q, K, V = (x.numpy() for x in gd_step_weights(3, 0.7))
    s = hr.block_structure(Q, K, V, 3)
    assert s["gd_share_KtQ"] == pytest.approx(1.0) and s["gd_share_V"] == pytest.approx(1.0)
    assert s["KtQ"]["key s_j-1, query s_t"]["identity_residual"] == pytest.approx(0.0, abs=1e-12)


def test_preconditioned_fit_and_evaluation_agree():
    rng = np.random.default_rng(1)
    d, T = 3, 6
    seqs = hr.haar_sequences(d, T, 3000, "fixed", rng)
    mom = hr.preconditioned_moments(seqs, batch=700)
    # the quadratic form at (A, B) = (I, η I) equals the direct per-sequence loss on the same sequences
    eta = 0.3
    X = np.einsum("ea,bc->eabc", eta * np.eye(d), np.eye(d)).reshape(d, d ** 3)
    quad = (np.einsum("ef,fg,eg->", X, mom.M, X) - 2 * np.trace(X @ mom.m) + mom.c) / T
    direct = hr.preconditioned_errors(seqs, np.eye(d), eta * np.eye(d)).mean()
    assert quad == pytest.approx(direct, rel=1e-10)
    assert direct == pytest.approx(hr.mc_gd_step_errors(seqs, eta).mean(), rel=1e-12)
    fit = hr.fit_preconditioned(mom, starts=1, rng=rng, eta=eta)
    assert fit.loss <= hr.preconditioned_errors(seqs, np.eye(d), hm.haar_best_shared_step(d, T)[0] * np.eye(d)).mean() + 1e-9
    assert fit.loss == pytest.approx(hr.preconditioned_errors(seqs, fit.A, fit.B).mean(), rel=1e-8)


def test_sphere_law_leaves_gd_loss_unchanged_but_not_preconditioned_invariance():
    rng = np.random.default_rng(2)
    ref = hr.figure5_references(3, 8, "sphere", 2000, 4000, 0, rng)
    # equivariance: with s_0 uniform the best preconditioner is a multiple of the identity
    assert ref["preconditioner_identity_residual"] < 0.1
    assert abs(ref["L_preconditioned"] - ref["L_gd_shared"]) < 5 * ref["L_preconditioned_stderr"] + 1e-3


def test_bad_arguments_raise_naming_them():
    with pytest.raises(ValueError, match="d"):
        hm.haar_gd_step_coefficients(0, 5)
    with pytest.raises(ValueError, match="exponents"):
        hm.sphere_haar_quadratic_form_moment(3, (0.5,))
    with pytest.raises(ValueError, match="law"):
        hr.haar_sequences(3, 4, 10, "gaussian")
    with pytest.raises(ValueError, match="seqs"):
        hr.gd_step_terms(np.zeros((1, 3, 2)))
    with pytest.raises(ValueError, match="T"):
        hm.haar_best_shared_step(3, 1)
