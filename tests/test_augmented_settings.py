"""numerics.augmented and the complex augmented layer: exact moments vs closed form and Monte Carlo,
complex layer vs real layers on realified data, autograd helpers vs finite differences."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from model.autoregressive import AugmentedLinearAttention, ComplexAugmentedLinearAttention
from numerics import augmented as na
from theory import autoregressive as ar


def realify(X: np.ndarray) -> np.ndarray:
    """Complex (n, n) → real (2n, 2n) acting on interleaved (Re, Im) coordinates."""
    return np.kron(X.real, np.eye(2)) + np.kron(X.imag, np.array([[0.0, -1.0], [1.0, 0.0]]))


def realify_tokens(x: np.ndarray) -> np.ndarray:
    return np.stack([x.real, x.imag], -1).reshape(*x.shape[:-1], -1)


@pytest.mark.parametrize("field,d", [("complex", 1), ("complex", 2), ("real", 2), ("real", 4)])
@pytest.mark.parametrize("law", ["fixed", "phases", "signs"])
@pytest.mark.parametrize("t", [1, 2, 3])
def test_L_star_matches_closed_form(field, d, law, t):
    """|s_0[k]| = 1/√D in the eigenbasis: η*, L* of theory.optimal_gd_step (coefficients of dimension d)."""
    eta, L = na.one_step_gd_optimum(na.population_moments(na.Setting(field, law, d, t)))
    eta_cf, L_cf = ar.optimal_gd_step(t, d)
    assert eta == pytest.approx(eta_cf, abs=1e-12) and L == pytest.approx(L_cf, abs=1e-12)


@pytest.mark.parametrize("setting", [na.Setting("complex", "gaussian", 2, 2), na.Setting("complex", "sphere", 2, 3),
                                     na.Setting("complex", "phases", 2, 2), na.Setting("complex", "signs", 2, 2),
                                     na.Setting("complex", "fixed", 2, 2), na.Setting("real", "gaussian", 2, 2),
                                     na.Setting("real", "sphere", 4, 1), na.Setting("real", "signs", 4, 1),
                                     na.Setting("real", "phases", 2, 3)])
def test_exact_loss_matches_monte_carlo_at_random_tensors(setting):
    """The exact quadratic form at a random (non-GD) tensor T vs the Monte Carlo mean of |TΦ - s_{t+1}|²."""
    rng = np.random.default_rng(hash(setting.label) % 2**32)
    mom = na.population_moments(setting)
    F = (2 * setting.d) ** 3
    T = rng.standard_normal((setting.d, F)) * 0.3
    if not setting.real:
        T = T + 1j * rng.standard_normal((setting.d, F)) * 0.3
    T = torch.from_numpy(T)
    seqs = na.sample_setting_sequences(setting, 40000, rng)
    Phi = na.augmented_features(seqs, setting.t)
    err = ((Phi @ T.T - seqs[:, setting.t + 1]).abs() ** 2).sum(-1).numpy()
    exact = float(na.tensor_loss(T, mom))
    assert abs(exact - err.mean()) <= 4.5 * err.std(ddof=1) / np.sqrt(err.size)


def test_gaussian_L_star_by_monte_carlo():
    """L* of the Gaussian law (no closed form here): Monte Carlo of the one-step-GD loss at η*."""
    s = na.Setting("complex", "gaussian", 3, 2)
    eta, L = na.one_step_gd_optimum(na.population_moments(s))
    seqs = na.sample_setting_sequences(s, 200000, 5).numpy()
    err = np.sum(np.abs(ar.one_step_gd_prediction(seqs[:, :3], eta)[:, -1] - seqs[:, 3]) ** 2, -1)
    assert abs(L - err.mean()) <= 4.5 * err.std(ddof=1) / np.sqrt(err.size)


@pytest.mark.parametrize("real,d", [(True, 4), (False, 2)])
def test_quadratic_form_equals_forward_loss(real, d):
    """tr(T M T*) - 2 Re tr(T m) + c on a sample's moments = the layer's mean loss on that sample."""
    s = na.Setting("real" if real else "complex", "gaussian", d, 3)
    seqs = na.sample_setting_sequences(s, 50, 1)
    cls = AugmentedLinearAttention if real else ComplexAugmentedLinearAttention
    model = cls(d, init_scale=0.7, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        direct = (model(seqs[:, :4])[:, -1] - seqs[:, 4]).abs().pow(2).sum(-1).mean()
        quad = na.tensor_loss(na.model_tensor(model.Q, model.K, model.V), na.empirical_moments(seqs, 3))
    assert float(quad) == pytest.approx(float(direct), rel=1e-12)


def test_complex_layer_constructs_one_gd_step():
    seqs = torch.randn(4, 6, 3, dtype=torch.complex128)
    out = ComplexAugmentedLinearAttention.from_gd_step(3, 0.4)(seqs).detach().numpy()
    assert np.allclose(out, ar.one_step_gd_prediction(seqs.numpy(), 0.4), atol=1e-13)


def test_complex_layer_is_two_tied_real_heads_on_realified_tokens():
    """Re and Im of the Hermitian score: out_R = head(Q_R, K_R, V_R) + head((-iQ)_R, K_R, (iV)_R)."""
    d = 2
    cmodel = ComplexAugmentedLinearAttention(d, init_scale=1.0, generator=torch.Generator().manual_seed(0))
    Q, K, V = (p.detach().numpy() for p in (cmodel.Q, cmodel.K, cmodel.V))
    seqs = na.sample_setting_sequences(na.Setting("complex", "gaussian", d, 3), 7, 2)
    out_c = realify_tokens(cmodel(seqs).detach().numpy())
    seqs_R = torch.from_numpy(realify_tokens(seqs.numpy()))

    def head(Qc, Kc, Vc):
        m = AugmentedLinearAttention(2 * d, init_scale=0.0)
        with torch.no_grad():
            for p, X in zip((m.Q, m.K, m.V), (Qc, Kc, Vc)):
                p.copy_(torch.from_numpy(realify(X)))
        return m(seqs_R).detach().numpy()

    assert np.allclose(out_c, head(Q, K, V) + head(-1j * Q, K, 1j * V), atol=1e-12)
    assert not np.allclose(out_c, head(Q, K, V), atol=1e-3)   # one real head is not the complex layer


def test_real_blocks_are_the_realified_complex_sequences():
    """Real rotation-block data of dimension 2D and complex data of dimension D: same cubature moments
    for the real-part quantity c = E||s_{t+1}||², and the real sampler's blocks rotate as e^{iθ}."""
    W, theta = ar.commuting_orthogonal_contexts(4, 3, 0)
    s0 = na.sample_start_tokens("phases", 4, 3, 1, real=True)
    seqs = ar.sequences(W, s0, 2)
    w = (s0[:, 0::2] + 1j * s0[:, 1::2])[:, None, :] * np.exp(1j * theta[:, None, :] * np.arange(3)[None, :, None])
    assert np.allclose(seqs, realify_tokens(w), atol=1e-13)


def _finite_difference(f, x, h=1e-5):
    n = x.numel()
    grad = np.zeros(n)
    H = np.zeros((n, n))
    E = torch.eye(n, dtype=torch.float64)
    for i in range(n):
        grad[i] = (float(f(x + h * E[i])) - float(f(x - h * E[i]))) / (2 * h)
        for j in range(n):
            H[i, j] = (float(f(x + h * E[i] + h * E[j])) - float(f(x + h * E[i] - h * E[j]))
                       - float(f(x - h * E[i] + h * E[j])) + float(f(x - h * E[i] - h * E[j]))) / (4 * h * h)
    return grad, H


@pytest.mark.parametrize("field,d", [("complex", 1), ("real", 2)])
def test_gradient_and_hessian_match_finite_differences(field, d):
    """On a slice of the full parameters (tiny case), autograd vs central differences."""
    mom = na.population_moments(na.Setting(field, "gaussian", d, 2))
    full = na.full_parameter_loss(mom)
    x0 = torch.from_numpy(np.random.default_rng(0).standard_normal(na.flat_size([(3 * d, 3 * d)] * 3, field == "real")))
    idx = torch.arange(0, x0.numel(), max(1, x0.numel() // 8))[:8]

    def f(y):
        x = x0.clone()
        x[idx] = y
        return full(x)

    grad, H = na.gradient_and_hessian(f, x0[idx])
    g_fd, H_fd = _finite_difference(f, x0[idx].clone())
    assert np.allclose(grad, g_fd, rtol=1e-6, atol=1e-6)
    assert np.allclose(H, H_fd, rtol=1e-4, atol=1e-4)


def test_construction_is_critical_only_with_phase_symmetric_s0():
    """Complex tokens: at gd_step_weights(d, η*) the gradient vanishes for random phases, not for fixed s_0."""
    for law, critical in (("phases", True), ("fixed", False)):
        mom = na.population_moments(na.Setting("complex", law, 2, 2))
        eta, _ = na.one_step_gd_optimum(mom)
        x = na.gd_construction_point(mom, eta).requires_grad_(True)
        g = torch.autograd.grad(na.full_parameter_loss(mom)(x), x)[0]
        assert (float(g.norm()) < 1e-10) == critical


def test_construction_point_has_the_one_step_loss():
    mom = na.population_moments(na.Setting("real", "sphere", 4, 2))
    eta, L = na.one_step_gd_optimum(mom)
    assert float(na.full_parameter_loss(mom)(na.gd_construction_point(mom, eta))) == pytest.approx(L, abs=1e-12)


def test_preconditioned_never_worse_than_one_step():
    mom = na.population_moments(na.Setting("complex", "fixed", 2, 2))
    _, L = na.one_step_gd_optimum(mom)
    fit = na.best_preconditioned(mom, restarts=1, rng=0)
    assert fit.loss <= L + 1e-12 and fit.B.shape == fit.A.shape == (2, 2)
    assert na.linear_predictor_bound(mom) <= L


def test_start_token_laws_have_unit_mean_square_norm():
    for real in (False, True):
        for law in na.LAWS:
            s0 = na.sample_start_tokens(law, 4, 20000, 0, real=real)
            assert np.mean(np.sum(np.abs(s0) ** 2, -1)) == pytest.approx(1.0, abs=0.03)


def test_bad_arguments():
    with pytest.raises(ValueError, match="^d"):
        na.Setting("real", "phases", 3, 2)
    with pytest.raises(ValueError, match="^law"):
        na.Setting("complex", "uniform", 2, 2)
    with pytest.raises(ValueError, match="^field"):
        na.Setting("quaternion", "fixed", 2, 2)
    with pytest.raises(ValueError, match="^t"):
        na.Setting("complex", "fixed", 2, 0)
    with pytest.raises(ValueError, match="^law"):
        na.sample_start_tokens("cauchy", 2, 3)


def test_optimisers_return_their_records():
    mom = na.population_moments(na.Setting("real", "gaussian", 2, 2))
    eta, L = na.one_step_gd_optimum(mom)
    point = na.critical_point_analysis(mom, eta)
    assert point.loss == pytest.approx(L, abs=1e-12) and point.min_hessian_eigenvalue <= point.max_hessian_eigenvalue
    run = na.train_full_attention(mom, steps=3, seed=1)
    assert run.history.shape == (3,) and isinstance(run.model, AugmentedLinearAttention) and np.isfinite(run.loss)
    fit = na.best_in_model_class(mom, restarts=2, rng=0, iters=5)
    assert len(fit.losses) == 2 and fit.loss == min(fit.losses)
