"""numerics.augmented and the complex augmented layer: exact moments vs closed form and Monte Carlo,
complex layer vs real layers on realified data, autograd helpers vs finite differences."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from model.autoregressive import AugmentedLinearAttention, ComplexAugmentedLinearAttention
from numerics import augmented as na
from theory import autoregressive as ar

EPS = np.finfo(np.float64).eps


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
    # sampling error of a mean of 40,000 i.i.d. squared errors (finite variance: polynomial in Gaussian or
    # bounded tokens), standard error from the sample; 4.5 se over the 9 settings and the next test:
    # family-wise level 10 × 6.8e-6 < 1e-4.  The exact value's own round-off (~1e-15) is negligible.
    assert abs(exact - err.mean()) <= 4.5 * err.std(ddof=1) / np.sqrt(err.size)


def test_gaussian_L_star_by_monte_carlo():
    """L* of the Gaussian law (no closed form here): Monte Carlo of the one-step-GD loss at η*."""
    s = na.Setting("complex", "gaussian", 3, 2)
    eta, L = na.one_step_gd_optimum(na.population_moments(s))
    seqs = na.sample_setting_sequences(s, 200000, 5).numpy()
    err = np.sum(np.abs(ar.one_step_gd_prediction(seqs[:, :3], eta)[:, -1] - seqs[:, 3]) ** 2, -1)
    assert abs(L - err.mean()) <= 4.5 * err.std(ddof=1) / np.sqrt(err.size)  # as above: 4.5 se, one of 10


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


def _finite_difference(f, x, h):
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


def _parameter_matrices(x, d, real):
    """Q, K, V from the flat layout of na.full_parameter_loss (complex: real part, then imaginary part)."""
    parts = x.reshape(3, 1 if real else 2, 3 * d, 3 * d)
    return [p[0] if real else torch.complex(p[0], p[1]) for p in parts]


def _loss_magnitude(x, mom):
    """Σ|terms| of the loss at x: tensor_loss∘model_tensor with every factor replaced by its modulus
    (|V'| ⊗ (|K|ᵀ|Q|) bounds the terms of K*Q as well).  Non-negative coefficients in |x|: it grows
    with every |x_i|, so its value at |x| + r bounds it on the box of radius r around x."""
    T = na.model_tensor(*(A.abs() for A in _parameter_matrices(x, mom.d, mom.real)))
    return float((T @ mom.M.abs() * T).sum() + 2 * (T * mom.m.abs().T).sum() + abs(mom.c))


@pytest.mark.parametrize("field,d", [("complex", 1), ("real", 2)])
def test_gradient_and_hessian_match_finite_differences(field, d):
    """On a slice of the full parameters (tiny case), autograd vs central differences."""
    real = field == "real"
    mom = na.population_moments(na.Setting(field, "gaussian", d, 2))
    full = na.full_parameter_loss(mom)
    D, F = 3 * d, (2 * d) ** 3
    # 8 entries spread over those the loss depends on, Q[:, d:], K[:, d:] and V[:d, d:] (real and imaginary parts)
    live = np.zeros((3, 1 if real else 2, D, D), dtype=bool)
    live[:2, :, :, d:] = True
    live[2, :, :d, d:] = True
    live = np.flatnonzero(live)
    idx = torch.from_numpy(live[np.linspace(0, live.size - 1, 8).astype(int)])
    # x0 on the 1/8 grid and h = 1/2: every point x0 ± h e_i ± h e_j is exact in binary
    x0 = torch.from_numpy(np.round(8 * np.random.default_rng(0).standard_normal(na.flat_size([(D, D)] * 3, real))) / 8)
    h = 0.5

    def f(y):
        x = x0.clone()
        x[idx] = y
        return full(x)

    grad, H = na.gradient_and_hessian(f, x0[idx])
    g_fd, H_fd = _finite_difference(f, x0[idx].clone(), h)
    # Error model.  T = V' ⊗ (K*Q)[d:, d:] is linear in each real parameter and L is quadratic in T, so L has
    # degree <= 2 in each parameter and in each pair: the central and the 4-point mixed differences are exact
    # for every h, with no truncation term (checked: the differences at h = 1e-2 and h = 1 agree to 1e-11
    # relative; a truncation term would show here at O(h²), h² = 1/4).  Only round-off is left.  One value of L
    # is off by at most n ε S: n roundings on the longest chain (a dot product of length 3d in K*Q, one of
    # length F in T M, a sum of d F terms, a few single operations), S = Σ|terms| <= its value at |x0| + 2h
    # on the slice, which bounds every evaluated point.  The differences are then off by <= n ε S / h
    # (gradient) and n ε S / h² (Hessian); autograd's own sums add at most as much again (their terms are
    # derivatives of those of S: <= S / h and S / h² for a polynomial with non-negative coefficients of
    # degree <= 2 in each variable).  Tolerance 3 n ε S / h^k: < 2e-9 of the smallest diagonal entry.
    # (The former h = 1e-5 had round-off ε max|L| / h² ≈ 1e-3 against atol = 1e-4: it failed on an AVX-512 Xeon.)
    n = 3 * d + F + d * F + 8
    corner = x0.abs()
    corner[idx] += 2 * h
    S = _loss_magnitude(corner, mom)
    np.testing.assert_allclose(grad, g_fd, rtol=0, atol=3 * n * EPS * S / h)
    np.testing.assert_allclose(H, H_fd, rtol=0, atol=3 * n * EPS * S / h ** 2)
    assert np.all(np.diag(H) > 3 * n * EPS * S / h ** 2)  # diag = 2 ∂T M ∂T*: every chosen entry moves L


def test_construction_is_critical_only_with_phase_symmetric_s0():
    """Complex tokens: at gd_step_weights(d, η*) the gradient vanishes for random phases, not for fixed s_0."""
    for law, critical in (("phases", True), ("fixed", False)):
        mom = na.population_moments(na.Setting("complex", law, 2, 2))
        eta, _ = na.one_step_gd_optimum(mom)
        x = na.gd_construction_point(mom, eta).requires_grad_(True)
        g = torch.autograd.grad(na.full_parameter_loss(mom)(x), x)[0]
        # a critical point's gradient is zero up to round-off, ε times O(1) terms (4e-16 here); at fixed s_0 it is 0.52
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
            norm2 = np.sum(np.abs(na.sample_start_tokens(law, 4, 20000, 0, real=real)) ** 2, -1)
            # 'gaussian': ||s_0||² has sd 1/√d (complex) or √(2/d) (real), the mean of 20,000 draws has
            # standard error se <= 0.005; 5 se over these 2 random cases: family-wise level 1.2e-6.  The other
            # laws have ||s_0||² = 1 in every draw (se = 0 up to round-off): only a few ε of round-off remain.
            se = norm2.std(ddof=1) / np.sqrt(norm2.size)
            assert abs(norm2.mean() - 1.0) <= 5 * se + 100 * EPS


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
    assert len(fit.losses) == 2 and fit.loss == min(fit.losses)  # the best restart's own number
