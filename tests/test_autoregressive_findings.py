"""Tests of theory.published_autoregressive and numerics.ar1_reconstruction (the two findings on the
autoregressive paper's published code), each against an independent computation."""

from __future__ import annotations

import numpy as np
import pytest

from numerics import autoregressive as nar
from numerics.ar1_reconstruction import ar1_fit_transposed, ar1_reconstruction_errors, normalised_windows
from theory import autoregressive as ar
from theory.published_autoregressive import raw_token_population_loss_as_published

Z = 4.0  # two-sided, P(|z| > 4) = 6.3e-5 per comparison


def _mc_model_loss(C, p, size, rng):
    """Independent Monte Carlo of the raw-token model's loss, one loop over keys (not numerics' einsum):
    x_j[k] = λ_k^j, ŝ[k] = Σ_j p_j (Σ_l C_kl conj(x_{n-1}[l]) x_j[l]) x_j[k], error |ŝ - x_{n+1}|²."""
    d, n = C.shape[0], len(p) - 1
    lam = np.exp(1j * rng.uniform(0, 2 * np.pi, (size, d)))
    x = lambda j: lam ** j
    pred = np.zeros((size, d), dtype=complex)
    for j in range(n + 1):
        pred += p[j] * ((x(n - 1).conj() * x(j)) @ C.T) * x(j)
    err = np.sum(np.abs(pred - x(n + 1)) ** 2, axis=1)
    return err.mean(), err.std(ddof=1) / np.sqrt(size)


@pytest.mark.parametrize("d,n,seed", [(2, 2, 0), (3, 3, 1), (4, 2, 2)])
def test_published_loss_is_refuted_by_monte_carlo_where_p_n_minus_1_is_nonzero(d, n, seed):
    rng = np.random.default_rng(seed)
    C, p = rng.standard_normal((d, d)) / np.sqrt(d), rng.standard_normal(n + 1)
    p[-2] = 1.0
    mean, se = _mc_model_loss(C, p, 40000, rng)
    assert abs(ar.raw_token_population_loss(C, p) - mean) / se < Z            # the model's loss: toolkit's
    assert abs(raw_token_population_loss_as_published(C, p) - mean) / se > 10  # not the published one


def test_published_loss_differs_by_p_n_minus_1_squared_frobenius():
    rng = np.random.default_rng(3)
    for _ in range(20):
        d, n = rng.integers(1, 6), rng.integers(1, 6)
        C, p = rng.standard_normal((d, d)), rng.standard_normal(n + 1)
        gap = raw_token_population_loss_as_published(C, p) - ar.raw_token_population_loss(C, p)
        assert gap == pytest.approx(p[-2] ** 2 * np.sum(C ** 2), rel=1e-12, abs=1e-12)


def test_published_loss_agrees_with_the_model_where_p_n_minus_1_is_zero():
    rng = np.random.default_rng(4)
    d, n = 3, 3
    C, p = rng.standard_normal((d, d)) / np.sqrt(d), rng.standard_normal(n + 1)
    p[-2] = 0.0
    est = nar.mc_raw_token_loss(C, p, 40000, rng)
    assert nar.z_score(raw_token_population_loss_as_published(C, p), est) < Z
    for H in (1, 2, 3):
        A, B, q = ar.raw_token_minimiser(d, H, rng, p_last=-0.8)
        assert raw_token_population_loss_as_published(B.T @ A, q) == pytest.approx(d - H, abs=1e-12)


@pytest.mark.parametrize("C,p,name", [(np.ones((2, 3)), [0.0, 1.0], "C"), (np.eye(2), [1.0], "p"),
                                      (np.eye(2), [np.nan, 1.0], "p")])
def test_published_loss_refuses_bad_arguments(C, p, name):
    with pytest.raises(ValueError, match=name):
        raw_token_population_loss_as_published(C, p)


# ---------------------------------------------------------------------------
# AR(1) reconstruction (Figure 4)
# ---------------------------------------------------------------------------

def _unit(rng, shape):
    x = rng.standard_normal(shape)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _brute_force_errors(window, rollout):
    """One window by the explicit (D, D) map: W = Yᵀ (Xᵀ)⁺ from numpy's lstsq (LAPACK gelsd, minimum norm)."""
    S = window / np.linalg.norm(window, axis=-1, keepdims=True)
    X, Y = S[:-1], S[1:]
    Wt = np.linalg.lstsq(X, Y, rcond=None)[0]                 # (D, D): X Wᵀ ≈ Y, minimum norm
    if not rollout:
        return np.mean((X @ Wt - Y) ** 2)
    s, err = S[0], 0.0
    for t in range(1, len(S)):
        s = s @ Wt
        err += np.sum((s - S[t]) ** 2)
    return err / S.size


@pytest.mark.parametrize("rollout", [True, False])
def test_reconstruction_errors_match_the_explicit_least_squares_map(rollout):
    rng = np.random.default_rng(5)
    windows = _unit(rng, (4, 5, 40)) * rng.uniform(0.5, 2, (4, 5, 1))
    windows[1, 2] = windows[1, 0]
    windows[3, 3] = 2 * windows[3, 1]                          # dependent after normalisation
    got = ar1_reconstruction_errors(windows, rollout=rollout)
    want = [_brute_force_errors(w, rollout) for w in windows]
    assert got == pytest.approx(want, rel=1e-8, abs=1e-25)


def test_an_explicit_ar1_sequence_reconstructs_exactly():
    rng = np.random.default_rng(6)
    D = 64
    W = ar.haar_unitary(D, rng, real=True)
    s = [_unit(rng, (D,))]
    for _ in range(4):
        s.append(W @ s[-1])
    assert ar1_reconstruction_errors(np.stack(s)[None])[0] < 1e-28


def test_structureless_windows_reconstruct_exactly_in_high_dimension():
    """Interpolation: 4 independent inputs in D >= 4 dimensions are mapped exactly, whatever the outputs."""
    rng = np.random.default_rng(7)
    errors = ar1_reconstruction_errors(_unit(rng, (50, 5, 1280)))
    assert np.max(errors) < 1e-28


def test_a_repeated_input_token_leaves_the_closed_form_residual():
    """s_2 = s_0: the fit sends s_0 to the mean of s_1 and s_3, one-step residual ||s_1 - s_3||²/(2·4·D)."""
    rng = np.random.default_rng(8)
    D = 1280
    S = _unit(rng, (30, 5, D))
    S[:, 2] = S[:, 0]
    residual = ar1_reconstruction_errors(S, rollout=False)
    closed = np.sum((S[:, 1] - S[:, 3]) ** 2, axis=1) / (2 * 4 * D)
    assert residual == pytest.approx(closed, rel=1e-9)
    assert np.min(ar1_reconstruction_errors(S)) > 1e-5        # the rollout error is of order 1e-4 too


def test_a_repeat_among_outputs_only_still_interpolates():
    rng = np.random.default_rng(9)
    S = _unit(rng, (10, 5, 200))
    S[:, 4] = S[:, 1]                                          # s_4 = s_1: inputs s_0..s_3 still independent
    assert np.max(ar1_reconstruction_errors(S)) < 1e-28


def test_fit_is_the_pseudo_inverse_of_the_inputs():
    rng = np.random.default_rng(10)
    S = _unit(rng, (3, 5, 20))
    P = ar1_fit_transposed(S)
    assert P.shape == (3, 20, 4)
    assert np.einsum("ntd,ndk->ntk", S[:, :-1], P) == pytest.approx(np.broadcast_to(np.eye(4), (3, 4, 4)), abs=1e-12)


@pytest.mark.parametrize("bad", [np.ones((5, 3)), np.ones((2, 1, 3)), np.zeros((1, 3, 4)),
                                 np.full((1, 3, 4), np.inf)])
def test_reconstruction_refuses_bad_embeddings(bad):
    with pytest.raises(ValueError, match="embeddings"):
        normalised_windows(bad)
    with pytest.raises(ValueError, match="embeddings"):
        ar1_reconstruction_errors(bad)


def test_reconstruction_refuses_a_bad_rollout_flag():
    with pytest.raises(ValueError, match="rollout"):
        ar1_reconstruction_errors(np.ones((1, 3, 4)), rollout="yes")
