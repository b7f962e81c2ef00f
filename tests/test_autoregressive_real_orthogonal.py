"""The real-orthogonal raw-token minimum (theory.autoregressive): constructor, value, lower bound, claim."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from numerics import autoregressive as nar
from proofs_check.claims.autoregressive_real_orthogonal import check_real_orthogonal_minimum
from proofs_check.registry import Profile, all_claims
from theory import autoregressive as ar

SETTINGS = settings(max_examples=30, deadline=None)


@SETTINGS
@given(D=st.integers(1, 4), H=st.integers(1, 6), n=st.integers(1, 5), seed=st.integers(0, 2**31),
       p_last=st.floats(0.1, 5.0) | st.floats(-5.0, -0.1))
def test_constructed_point_attains_the_minimum(D, H, n, seed, p_last):
    d = 2 * D
    A, B, p = ar.raw_token_minimiser_real_orthogonal(d, H, n, np.random.default_rng(seed), p_last=p_last)
    assert A.shape == B.shape == (H, d) and p.shape == (n + 1,)
    assert p[n] == p_last and p[n - 1] == -p_last / 2 and np.all(p[: n - 1] == 0)  # Chebyshev relation (exact)
    value = ar.raw_token_global_minimum_real_orthogonal(d, H)
    assert value == d - 2 * min(H, D)
    assert ar.raw_token_population_loss_real_orthogonal(B.T @ A, p) == pytest.approx(value, abs=1e-11)
    assert np.linalg.matrix_rank(B.T @ A) == min(H, D)  # one rank-one head per block


@pytest.mark.parametrize("d, H, n", [(2, 1, 1), (4, 1, 2), (6, 2, 3)])
def test_constructed_point_predicts_each_chosen_block_exactly(d, H, n):
    A, B, p = ar.raw_token_minimiser_real_orthogonal(d, H, n)
    errors = nar.raw_token_samples(B.T @ A, p, 500, np.random.default_rng(0), "orthogonal")
    np.testing.assert_allclose(errors, d - 2 * min(H, d // 2), atol=1e-10)  # zero variance: exact per sequence
    assert nar.raw_token_loss_exact(B.T @ A, p, "orthogonal")[0] == pytest.approx(d - 2 * min(H, d // 2), abs=1e-10)


@SETTINGS
@given(D=st.integers(1, 3), H=st.integers(1, 4), n=st.integers(1, 4), seed=st.integers(0, 2**31))
def test_no_point_below_the_minimum(D, H, n, seed):
    d, rng = 2 * D, np.random.default_rng(seed)
    A, B, p = rng.standard_normal((H, d)), rng.standard_normal((H, d)), rng.standard_normal(n + 1)
    bound = ar.raw_token_global_minimum_real_orthogonal(d, H)
    assert ar.raw_token_population_loss_real_orthogonal(B.T @ A, p) >= bound - 1e-10
    # the bound of the proof: L >= ||M ⊙ (rC - I)||_F² >= d - 2 min(H, d/2)
    C, k = B.T @ A, np.arange(d)
    M = np.ones((d, d), dtype=bool)
    M[k, k ^ 1] = False
    masked = np.sum(((p[-1] * C - np.eye(d)) * M) ** 2)
    assert ar.raw_token_population_loss_real_orthogonal(C, p) >= masked - 1e-9 and masked >= bound - 1e-9


def _flat_loss_and_gradient(x: np.ndarray, d: int, H: int) -> tuple[float, np.ndarray]:
    A, B, p = x[: H * d].reshape(H, d), x[H * d: 2 * H * d].reshape(H, d), x[2 * H * d:]
    L, gA, gB, gp = ar.raw_token_loss_and_gradient_real_orthogonal(A, B, p)
    return L, np.concatenate([gA.ravel(), gB.ravel(), gp])


def test_gradient_is_the_central_difference_of_the_theory_loss():
    rng = np.random.default_rng(0)
    d, H, n = 4, 2, 3
    x = rng.standard_normal(2 * H * d + n + 1)
    h = 0.5
    values = np.array([(_flat_loss_and_gradient(x + h * e, d, H)[0], _flat_loss_and_gradient(x - h * e, d, H)[0])
                       for e in np.eye(len(x))])
    numeric = (values[:, 0] - values[:, 1]) / (2 * h)
    # Error model.  C = BᵀA is linear in each entry of A and B, and p enters through |p|², p_{n-1}², p_{n-1}Σp
    # and p_n, so L has degree <= 2 in each single coordinate: the central difference is exact for every h (no
    # truncation; checked: its error stays at round-off, 0.4-0.8 ε max|L| / h, from h = 1e-6 to h = 1).  Round-off
    # only: L is a sum of a few dozen terms whose moduli add up to 1.1 |L| at this random point (far from the
    # minimum), each computed in a handful of roundings, so each value is off by <= ~16 ε max|L| and the
    # difference by <= 16 ε max|L| / h; the closed-form gradient's own round-off and the rounding of x ± h
    # (ε max|∂L| (|x| + h) / h ≈ 4e-14) are smaller.  Tolerance 100 ε max|L| / h ≈ 4e-12, which is 1e-11
    # of the smallest |∂L|.
    # (The former h = 1e-6 had round-off ≈ 1e-8 against atol = 1e-6.)
    tol = 100 * np.finfo(np.float64).eps * np.abs(values).max() / h
    np.testing.assert_allclose(_flat_loss_and_gradient(x, d, H)[1], numeric, rtol=0, atol=tol)


@pytest.mark.parametrize("d, H, n", [(2, 1, 1), (4, 2, 2), (4, 3, 3)])
def test_gradient_is_the_autograd_gradient_of_the_exact_grid_loss(d, H, n):
    """Independent side: the torch model's loss enumerated on an exact phase grid, differentiated by autograd
    in (C, p) (numerics.autoregressive.raw_token_loss_exact); the chain rule through C = BᵀA gives A and B."""
    rng = np.random.default_rng(d + H + n)
    A, B, p = rng.standard_normal((H, d)), rng.standard_normal((H, d)), rng.standard_normal(n + 1)
    L, gA, gB, gp = ar.raw_token_loss_and_gradient_real_orthogonal(A, B, p)
    L_grid, gC, gp_grid = nar.raw_token_loss_exact(B.T @ A, p, "orthogonal")
    scale = max(1.0, abs(L))
    assert L == pytest.approx(L_grid, rel=1e-10, abs=1e-10 * scale)
    np.testing.assert_allclose(gA, B @ gC, rtol=0, atol=1e-9 * scale)
    np.testing.assert_allclose(gB, A @ gC.T, rtol=0, atol=1e-9 * scale)
    np.testing.assert_allclose(gp, gp_grid, rtol=0, atol=1e-9 * scale)


def test_max_head_cosine_by_definition():
    rng = np.random.default_rng(3)
    M = rng.standard_normal((4, 5))
    M[2] = 0.0  # an unused head is skipped
    rows = [M[h] for h in (0, 1, 3)]
    pairs = [abs(u @ v) / (np.linalg.norm(u) * np.linalg.norm(v)) for k, u in enumerate(rows) for v in rows[k + 1:]]
    assert ar.max_head_cosine(M) == pytest.approx(max(pairs), rel=1e-14)
    assert ar.max_head_cosine(np.eye(3)) == 0.0 and ar.max_head_cosine(np.ones((1, 3))) == 0.0
    assert ar.max_head_cosine(np.array([[1.0, 0.0], [-2.0, 0.0]])) == pytest.approx(1.0)


@pytest.mark.parametrize("call, name", [
    (lambda: ar.raw_token_minimiser_real_orthogonal(3, 1, 2), "d"),
    (lambda: ar.raw_token_minimiser_real_orthogonal(4, 0, 2), "H"),
    (lambda: ar.raw_token_minimiser_real_orthogonal(4, 1, 0), "n"),
    (lambda: ar.raw_token_minimiser_real_orthogonal(4, 1, 2, p_last=0.0), "p_last"),
    (lambda: ar.raw_token_global_minimum_real_orthogonal(5, 1), "d"),
    (lambda: ar.raw_token_loss_and_gradient_real_orthogonal(np.ones((1, 3)), np.ones((1, 3)), np.ones(2)), "A"),
    (lambda: ar.raw_token_loss_and_gradient_real_orthogonal(np.ones((1, 2)), np.ones((2, 2)), np.ones(2)), "B"),
    (lambda: ar.raw_token_loss_and_gradient_real_orthogonal(np.ones((1, 2)), np.ones((1, 2)), np.ones(1)), "p"),
    (lambda: ar.max_head_cosine(np.ones(3)), "M"),
])
def test_bad_input(call, name):
    with pytest.raises(ValueError, match=f"^{name}"):
        call()


def test_claim_quick_profile_measures_the_minimum():
    c = all_claims()["ar.real_orthogonal_minimum"]
    out = check_real_orthogonal_minimum(Profile("quick", 0, params=c.resolve("quick")))
    assert out.measured <= c.tolerance and out.conditions["lowest_minus_minimum"] >= -1e-9
    assert set(out.conditions) == set(c.conditions) and set(out.premises) == set(c.premises)
    assert all(np.isfinite(v) for v in [*out.conditions.values(), *out.premises.values()])
