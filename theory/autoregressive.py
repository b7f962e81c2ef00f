"""In-context autoregressive learning (Sander et al., 2024): the numeric closed forms and samplers.

Notation of ``shared/spec/autoregressive.md``.  Sequences ``s_{t+1} = W s_t``
with a context matrix ``W`` drawn per sequence:

- commuting unitary: ``W = Q diag(λ) Q*``, ``λ_k = e^{iθ_k}``, ``θ_k`` i.i.d.
  uniform on ``[0, 2π/ν)``;
- commuting orthogonal (real, ``d`` even): ``W = P diag(R(θ_1), ..., R(θ_{d/2})) Pᵀ``
  with 2×2 rotations ``R(θ)``; in the complex eigenbasis its eigenvalues come in
  conjugate pairs ``(λ_m, conj λ_m)`` (coordinates ``2m, 2m+1`` below);
- general orthogonal: Haar on ``O(d)``.

Phase-moment rule (full circle, ν = 1): ``E[Π_k λ_k^{m_k}] = 1`` if every
``m_k = 0`` else ``0``; for a range ν the factor of each independent phase is
``φ_ν(m) = E[e^{imθ}] = (e^{2πim/ν} - 1) / (2πim/ν)`` (``φ_ν(0) = 1``).

Here: the context and sequence samplers, the one-step-GD predictor ``η G_t s_t`` and its
population loss, the raw-token population losses and their global minimisers.  The
positional-weight quadratic (Gram matrices, minimiser, gradient-descent path) is
:mod:`theory.positional`, re-exported here.  The losses
are derived by sympy from the model in :mod:`theory.autoregressive_symbolic` (the
one-step-GD coefficients are evaluated from there; the raw-token formulas are checked
against it).

Names: a single sequence is ``s`` with rows ``s_0..s_T``; a stack of sequences is ``seqs``,
shape ``(size, T+1, d)``, ``seqs[:, t] = s_t``; ``S`` is never used here (in this project it is
the causal paper's alphabet size).  The sum of positional weights is ``P_sum = Σ_j p_j`` (beside
``P = ||p||²``; ``σ`` is the conjugate-partner permutation ``σ(k)``).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from theory import validate
from theory.autoregressive_symbolic import gd_step_loss_coefficient_functions
from theory.validate import (angle_range, choice, even_dimension, finite_array, finite_float, int_array,
                             nonzero_float, positional_weights, positive_int, rng as as_rng, square_matrix)

__all__ = ["CONTEXT_KINDS", "phase_moment", "phase_moment_rule", "sample_phases", "haar_unitary",
           "commuting_unitary_contexts", "rotation_blocks", "commuting_orthogonal_contexts",
           "haar_orthogonal_contexts", "default_s0", "sequences", "sample_sequences",
           "one_step_gd_prediction", "gd_step_loss_coefficients", "gd_step_population_loss",
           "optimal_gd_step", "raw_token_population_loss", "raw_token_population_loss_real_orthogonal",
           "raw_token_loss_and_gradient_real_orthogonal", "max_head_cosine", "raw_token_global_minimum",
           "raw_token_minimiser", "raw_token_global_minimum_real_orthogonal",
           "raw_token_minimiser_real_orthogonal", "POSITIONAL_NAMES"]

CONTEXT_KINDS = ("unitary", "orthogonal", "haar")  # the families of context matrices W


# ---------------------------------------------------------------------------
# context matrices and sequences
# ---------------------------------------------------------------------------

def phase_moment(m: Any, nu: float = 1.0) -> np.ndarray:
    """``φ_ν(m) = E[e^{imθ}]`` for ``θ ~ U[0, 2π/ν)``; ``φ_1(m) = [m = 0]``.

    ``m``: integer array of any shape (whole-number floats accepted; a fraction such as 0.5 is no
    moment order and is refused); returns complex128 of the same shape.
    """
    nu = angle_range(nu)
    validate.integer_array(m, "m")
    m = np.asarray(m, dtype=np.float64)
    x = 2 * np.pi * m / nu
    safe = np.where(m == 0, 1.0, x)
    out = (np.exp(1j * safe) - 1) / (1j * safe)
    out = np.where(m == 0, 1.0 + 0j, out)
    if nu == 1.0:  # exact zeros instead of 1e-17 round-off
        out = np.where(m == 0, 1.0 + 0j, 0j)
    return out


def phase_moment_rule(exponents: Any) -> int:
    """Full-circle rule: ``E[Π_k λ_k^{m_k}] = 1`` iff every ``m_k = 0``, else 0."""
    try:
        m = np.asarray(exponents)
    except (TypeError, ValueError):
        raise ValueError(f"exponents: expected integers, got {type(exponents).__name__}") from None
    if m.dtype.kind not in "iu":
        raise ValueError(f"exponents: expected integers, got dtype {m.dtype}")
    return int(np.all(m == 0))


def sample_phases(d: int, size: int, rng: Any = None, nu: float = 1.0, *,
                  max_bytes: int | None = None) -> np.ndarray:
    """i.i.d. phases ``θ ~ U[0, 2π/ν)``, shape ``(size, d)`` (``8·size·d`` bytes, refused above
    ``max_bytes``, default 2 GiB, before drawing)."""
    d = positive_int(d, "d")
    size = positive_int(size, "size")
    nu = angle_range(nu)
    validate.memory(8 * size * d, validate.largest(size=size, d=d), f"{size:,} × {d:,} phases", max_bytes)
    return as_rng(rng).uniform(0.0, 2 * np.pi / nu, size=(size, d))


def haar_unitary(d: int, rng: Any = None, real: bool = False, *, max_bytes: int | None = None) -> np.ndarray:
    """One Haar unitary (or orthogonal if ``real``) ``(d, d)`` matrix (QR with sign fix); about
    ``64 d²`` bytes, refused above ``max_bytes`` (default 2 GiB) before drawing."""
    d = positive_int(d, "d")
    real = validate.boolean(real, "real")
    validate.memory(64 * d * d, "d", f"a Haar matrix of size {d:,}", max_bytes)
    rng = as_rng(rng)
    if real:
        Z = rng.standard_normal((d, d))
    else:
        Z = (rng.standard_normal((d, d)) + 1j * rng.standard_normal((d, d))) / np.sqrt(2)
    Qm, R = np.linalg.qr(Z)
    return Qm * (np.diagonal(R) / np.abs(np.diagonal(R)))


def commuting_unitary_contexts(d: int, size: int, rng: Any = None, nu: float = 1.0,
                               Q: Any = None, *, max_bytes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``W = Q diag(e^{iθ}) Q*`` with ``θ_k ~ U[0, 2π/ν)`` i.i.d.

    Returns ``(W, lam)``: ``W`` of shape ``(size, d, d)`` complex, ``lam`` of shape ``(size, d)``.
    ``Q`` defaults to the identity; it must be unitary (``max |QᴴQ - I| <= 1e-8``,
    :data:`theory.validate.UNITARY_TOL`), else ``W`` would not be a unitary context.
    ``W`` takes ``16·size·d²`` bytes, refused above ``max_bytes`` (default 2 GiB) before drawing.
    """
    d = positive_int(d, "d")
    size = positive_int(size, "size")
    validate.memory(16 * size * d * d, validate.largest(size=size, d=d), f"{size:,} contexts of size {d:,}",
                    max_bytes)
    if Q is not None:
        validate.unitary_matrix(Q, "Q", d)
    theta = sample_phases(d, size, rng, nu)
    lam = np.exp(1j * theta)
    Qm = np.eye(d, dtype=complex) if Q is None else np.asarray(Q, dtype=complex)
    W = np.einsum("ik,nk,jk->nij", Qm, lam, Qm.conj())
    return W, lam


def rotation_blocks(theta: np.ndarray, *, max_bytes: int | None = None) -> np.ndarray:
    """Block-diagonal rotations: ``theta (size, d/2)`` finite → ``(size, d, d)`` (``32·size·(d/2)²`` bytes,
    refused above ``max_bytes``, default 2 GiB)."""
    validate.finite_numeric_array(theta, "theta", ndim=2, complex_ok=False)
    size, D = np.shape(theta)
    validate.memory(32 * size * D * D, "theta", f"{size:,} rotations of size {2 * D:,}", max_bytes)
    W = np.zeros((size, 2 * D, 2 * D))
    c, s = np.cos(theta), np.sin(theta)
    idx = np.arange(D)
    W[:, 2 * idx, 2 * idx] = c
    W[:, 2 * idx, 2 * idx + 1] = -s
    W[:, 2 * idx + 1, 2 * idx] = s
    W[:, 2 * idx + 1, 2 * idx + 1] = c
    return W


def commuting_orthogonal_contexts(d: int, size: int, rng: Any = None, nu: float = 1.0,
                                  P: Any = None, *, max_bytes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``W = P diag(R(θ_1..θ_{d/2})) Pᵀ`` (real, ``d`` even), ``θ_m ~ U[0, 2π/ν)``.

    Returns ``(W (size, d, d), theta (size, d/2))``; ``P`` defaults to the identity; it must be
    orthogonal (``max |PᵀP - I| <= 1e-8``, :data:`theory.validate.UNITARY_TOL`).  ``W`` and the
    products take ``24·size·d²`` bytes, refused above ``max_bytes`` (default 2 GiB) before drawing.
    """
    d = even_dimension(d)
    size = positive_int(size, "size")
    validate.memory(24 * size * d * d, validate.largest(size=size, d=d), f"{size:,} contexts of size {d:,}",
                    max_bytes)
    if P is not None:
        validate.unitary_matrix(P, "P", d, real=True)
    theta = sample_phases(d // 2, size, rng, nu)
    W = rotation_blocks(theta)
    if P is not None:
        Pm = finite_array(P, "P", shape=(d, d))
        W = Pm @ W @ Pm.T
    return W, theta


def haar_orthogonal_contexts(d: int, size: int, rng: Any = None, *, max_bytes: int | None = None) -> np.ndarray:
    """``size`` i.i.d. Haar orthogonal matrices, shape ``(size, d, d)`` (non-commuting); ``32·size·d²`` bytes
    with the QR factors, refused above ``max_bytes`` (default 2 GiB) before drawing."""
    d = positive_int(d, "d")
    size = positive_int(size, "size")
    validate.memory(32 * size * d * d, validate.largest(size=size, d=d), f"{size:,} Haar matrices of size {d:,}",
                    max_bytes)
    rng = as_rng(rng)
    Z = rng.standard_normal((size, d, d))
    Qm, R = np.linalg.qr(Z)
    sign = np.sign(np.diagonal(R, axis1=1, axis2=2))
    return Qm * sign[:, None, :]


def default_s0(d: int, kind: str = "unitary") -> np.ndarray:
    """Unit-norm start token whose eigen-coordinates are all ``1/√d``.

    unitary: ``1/√d ∈ C^d`` (basis Q = I); orthogonal: ``√(2/d)·(1,0,1,0,…)``, whose
    coordinates in the complex eigenbasis ``(1, ∓i)/√2`` of each block are ``1/√d``;
    haar: ``e_1``.
    """
    kind = choice(kind, "kind", CONTEXT_KINDS)
    d = even_dimension(d) if kind == "orthogonal" else positive_int(d, "d")
    validate.memory(16 * d if kind == "unitary" else 8 * d * (d if kind == "haar" else 1), "d",
                    f"a start token of dimension {d:,}")
    if kind == "unitary":
        return np.full(d, 1 / np.sqrt(d), dtype=complex)
    if kind == "orthogonal":
        d = even_dimension(d)
        s0 = np.zeros(d)
        s0[0::2] = np.sqrt(2.0 / d)
        return s0
    d = positive_int(d, "d")
    return np.eye(d)[0]


def sequences(W: Any, s0: Any, T: int, *, max_bytes: int | None = None) -> np.ndarray:
    """``s_t = W^t s_0`` for ``t = 0..T``: ``W (size, d, d)``, ``s0 (d,)`` or ``(size, d)`` → ``(size, T+1, d)``.

    Vectorised by doubling: the block ``s_{0..2^k-1}`` is extended by ``W^{2^k}``,
    so only ``log2(T)`` matrix products are taken.  ``W`` and ``s0`` finite real or complex numbers;
    the output (at most ``2·16·size·(T+1)·d`` bytes while doubling) is refused above ``max_bytes``
    (default 2 GiB) before allocating.
    """
    T = positive_int(T, "T")
    W = validate.finite_numeric_array(W, "W")
    if W.ndim != 3 or W.shape[1] != W.shape[2] or W.shape[0] < 1 or W.shape[1] < 1:
        raise ValueError(f"W: expected a stack (size, d, d), got shape {W.shape}")
    size, d, _ = W.shape
    s0 = validate.finite_numeric_array(s0, "s0")
    if s0.shape not in ((d,), (size, d)):
        raise ValueError(f"s0: expected shape ({d},) or ({size}, {d}), got {s0.shape}")
    validate.memory(2 * 16 * size * 2 * (T + 1) * d + 16 * size * d * d, "T",
                    f"{size:,} sequences of length {T + 1:,} in dimension {d:,}", max_bytes)
    dtype = np.result_type(W, s0)
    seqs = np.broadcast_to(s0, (size, d)).astype(dtype)[:, None, :]  # (size, 1, d)
    P = W.astype(dtype)
    while seqs.shape[1] < T + 1:
        seqs = np.concatenate([seqs, np.einsum("nij,ntj->nti", P, seqs)], axis=1)
        P = P @ P
    return seqs[:, : T + 1]


def sample_sequences(kind: str, d: int, T: int, size: int, rng: Any = None, nu: float = 1.0,
                     s0: Any = None, *, max_bytes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Seeded sampler: ``(seqs (size, T+1, d), W (size, d, d))`` for a context family ``kind``.

    Sizes are checked against ``max_bytes`` (default 2 GiB) and ``s0`` (finite, ``(d,)`` or
    ``(size, d)``) before anything is drawn."""
    kind = choice(kind, "kind", CONTEXT_KINDS)
    d = even_dimension(d) if kind == "orthogonal" else positive_int(d, "d")
    T = positive_int(T, "T")
    size = positive_int(size, "size")
    if s0 is not None and validate.finite_numeric_array(s0, "s0").shape not in ((d,), (size, d)):
        raise ValueError(f"s0: expected shape ({d},) or ({size}, {d}), got {np.shape(s0)}")
    validate.memory(2 * 16 * size * 2 * (T + 1) * d + 32 * size * d * d,
                    validate.largest(T=T, size=size, d=d),
                    f"{size:,} sequences of length {T + 1:,} in dimension {d:,}", max_bytes)
    rng = as_rng(rng)
    if kind == "unitary":
        W, _ = commuting_unitary_contexts(d, size, rng, nu, max_bytes=max_bytes)
    elif kind == "orthogonal":
        W, _ = commuting_orthogonal_contexts(d, size, rng, nu, max_bytes=max_bytes)
    else:
        W = haar_orthogonal_contexts(d, size, rng, max_bytes=max_bytes)
    start = default_s0(d, kind) if s0 is None else np.asarray(s0)
    return sequences(W, start, T, max_bytes=max_bytes), W


def one_step_gd_prediction(seqs: Any, eta: float, *, max_bytes: int | None = None) -> np.ndarray:
    """``η G_t s_t`` for every ``t = 1..T``, ``G_t = Σ_{j=1..t} s_j s_{j-1}*``.

    ``seqs``: ``(..., T+1, d)`` finite (real or complex) → ``(..., T, d)``; row ``t-1`` holds the
    prediction of ``s_{t+1}``.  The ``(..., T, T)`` scores are refused above ``max_bytes`` (default 2 GiB).
    """
    eta = finite_float(eta, "eta")
    seqs = validate.finite_numeric_array(seqs, "seqs")
    if seqs.ndim < 2 or seqs.shape[-2] < 2:
        raise ValueError(f"seqs: expected shape (..., T+1, d) with T >= 1, got {seqs.shape}")
    batch = int(np.prod(seqs.shape[:-2], dtype=object))
    T_ = seqs.shape[-2] - 1
    validate.memory(3 * 16 * batch * T_ * (T_ + seqs.shape[-1]), "seqs",
                    f"the scores of {batch:,} sequences of length {T_ + 1:,}", max_bytes)
    prev, cur = seqs[..., :-1, :], seqs[..., 1:, :]  # s_{j-1}, s_j for j = 1..T
    scores = np.einsum("...jd,...td->...tj", prev.conj(), cur)  # [t, j] = s_{j-1}* s_t
    T = cur.shape[-2]
    scores = scores * np.tril(np.ones((T, T)))
    return eta * np.einsum("...tj,...jd->...td", scores, cur)


# ---------------------------------------------------------------------------
# one gradient step in context: population loss and best step
# ---------------------------------------------------------------------------

def gd_step_loss_coefficients(t: Any, d: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Numeric ``(a, b, c)`` of ``L(η) = a η² - 2 b η + c`` (commuting unitary, full circle,
    ``s_0 = Q·1/√d``); ``t, d`` ints or broadcastable int arrays, ``>= 1``.  The coefficients are
    derived by :func:`theory.autoregressive_symbolic.gd_step_loss_coefficients_symbolic`:
    ``a = t(t+d-1)/d²``, ``b = t/d``, ``c = 1``."""
    t = int_array(t, "t")
    d = int_array(d, "d")
    try:
        shape = np.broadcast_shapes(t.shape, d.shape)
    except ValueError:
        raise ValueError(f"d: expected a shape that broadcasts with t's {t.shape}, got {d.shape}") from None
    validate.memory(8 * 8 * int(np.prod(shape, dtype=object)), validate.largest(t=t.size, d=d.size),
                    f"the coefficients on a grid of shape {shape}")
    fa, fb, fc = gd_step_loss_coefficient_functions()
    tf, df = np.broadcast_arrays(t.astype(np.float64), d.astype(np.float64))
    return tuple(np.asarray(f(tf, df), dtype=np.float64) + 0 * tf for f in (fa, fb, fc))


def gd_step_population_loss(eta: Any, t: Any, d: Any) -> Any:
    """``E||η G_t s_t - s_{t+1}||² = a(t,d) η² - 2 b(t,d) η + c(t,d)`` (see
    :func:`gd_step_loss_coefficients`); broadcasts over ``eta, t, d``."""
    e = finite_array(eta, "eta")
    a, b, c = gd_step_loss_coefficients(t, d)
    try:
        np.broadcast_shapes(e.shape, a.shape)
    except ValueError:
        raise ValueError(f"eta: expected a shape that broadcasts with (t, d)'s {a.shape}, got {e.shape}") from None
    out = a * e ** 2 - 2 * b * e + c
    return float(out) if out.ndim == 0 else out


def optimal_gd_step(t: Any, d: Any) -> tuple[Any, Any]:
    """``(η*, L*)`` with ``η* = b/a`` and ``L* = c - b²/a``: the best step of one
    gradient-descent step in context; ints give floats, arrays broadcast."""
    a, b, c = gd_step_loss_coefficients(t, d)
    eta, loss = b / a, c - b ** 2 / a
    if eta.ndim == 0:
        return float(eta), float(loss)
    return eta, loss


# ---------------------------------------------------------------------------
# raw-token population losses (numeric, any d, n)
# ---------------------------------------------------------------------------

def raw_token_population_loss(C: Any, p: Any) -> float:
    """Claim 4, commuting unitary, full circle, ``s_0 = 1``, query ``s_{n-1}``:

    ``L(C, p) = ||p||² ||C||_F² + p_{n-1}² (||C·1||² - ||C||_F²) - 2 tr(C) p_n + d``.

    ``C``: ``(d, d)`` real, ``p``: ``(n+1,)``.  (Checked against
    :func:`theory.autoregressive_symbolic.raw_token_loss_symbolic`.)
    """
    C = square_matrix(C)
    p = positional_weights(p)
    fro = np.sum(C ** 2)
    return float(p @ p * fro + p[-2] ** 2 * (np.sum(C.sum(axis=1) ** 2) - fro) - 2 * np.trace(C) * p[-1] + C.shape[0])


def raw_token_population_loss_real_orthogonal(C: Any, p: Any) -> float:
    """Real commuting orthogonal contexts (``d`` even; coordinates ``2m, 2m+1`` carry the
    conjugate eigenvalues ``λ_m, conj λ_m``), same model in the complex eigenbasis.

    With ``P = ||p||², q = p_{n-1}, r = p_n, P_sum = Σ_j p_j`` and, for row ``k`` with partner
    ``σ(k)``: ``u = C_{kk}``, ``v = C_{kσ(k)}``, ``R = Σ_{l∉{k,σ(k)}} C_{kl}``:

    ``L = Σ_k [q² R² + (P - q²) Σ_{l∉{k,σ(k)}} C_{kl}² + 2R(q² u + q P_sum v) + P u² + 2 q P_sum u v + P_sum² v²]
    - 2 r tr(C) + d``.

    The conjugate pairs add the terms in ``P_sum`` (the unitary loss is the case ``v = 0``,
    ``P_sum → q`` in the cross terms).  Checked against :func:`theory.autoregressive_symbolic.raw_token_loss_symbolic`.
    """
    C = square_matrix(C)
    d = even_dimension(C.shape[0], "C (dimension d)")
    p = positional_weights(p)
    P, q, r, P_sum = p @ p, p[-2], p[-1], p.sum()
    k = np.arange(d)
    sig = k ^ 1
    u, v = C[k, k], C[k, sig]
    rest_sum = C.sum(axis=1) - u - v
    rest_sq = np.sum(C ** 2, axis=1) - u ** 2 - v ** 2
    rows = (q ** 2 * rest_sum ** 2 + (P - q ** 2) * rest_sq + 2 * rest_sum * (q ** 2 * u + q * P_sum * v)
            + P * u ** 2 + 2 * q * P_sum * u * v + P_sum ** 2 * v ** 2)
    return float(rows.sum() - 2 * r * np.trace(C) + d)



def _heads(value: Any, name: str) -> np.ndarray:
    arr = finite_array(value, name, ndim=2)
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"{name}: expected heads of shape (H, d) with H, d >= 1, got {arr.shape}")
    return arr


def raw_token_loss_and_gradient_real_orthogonal(A: Any, B: Any, p: Any) -> tuple[float, np.ndarray, np.ndarray,
                                                                                      np.ndarray]:
    """The loss of :func:`raw_token_population_loss_real_orthogonal` at ``C = BᵀA`` and its gradient in
    ``(A, B, p)``: ``(L, ∂L/∂A (H, d), ∂L/∂B (H, d), ∂L/∂p (n+1,))``; ``A, B``: ``(H, d)``, ``d`` even.

    With ``P = ||p||², q = p_{n-1}, r = p_n, P_sum = Σ_j p_j``, ``v_k = C_{kσ(k)}`` and
    ``e_k = q (C1)_k + (P_sum - q) v_k``, the rows regroup to

    ``L = Σ_k e_k² + (P - q²)(||C||_F² - Σ_k v_k²) - 2 r tr C + d``, so

    ``∂L/∂C = 2q e 1ᵀ + 2(P - q²) C - 2r I``, plus ``2(P_sum - q) e_k - 2(P - q²) v_k`` at ``(k, σ(k))``;
    ``∂L/∂A = B ∂L/∂C``, ``∂L/∂B = A (∂L/∂C)ᵀ``;
    ``∂L/∂p = 2p (||C||_F² - Σ v²) + 2 eᵀv`` (every ``p_j``, through ``P`` and ``P_sum``), plus
    ``2 eᵀ(C1 - v) - 2q (||C||_F² - Σ v²)`` at ``q`` and ``-2 tr C`` at ``r``.
    ``L`` itself is the theory function's value (the regrouping serves the gradient only).
    """
    A = _heads(A, "A")
    d = even_dimension(A.shape[1], "A (dimension d)")
    B = _heads(B, "B")
    if B.shape != A.shape:
        raise ValueError(f"B: expected the shape of A {A.shape}, got {B.shape}")
    p = positional_weights(p)
    C = B.T @ A
    P, q, r, S = p @ p, p[-2], p[-1], p.sum()
    k = np.arange(d)
    v = C[k, k ^ 1]
    e = q * C.sum(axis=1) + (S - q) * v
    F, V = np.sum(C ** 2), np.sum(v ** 2)
    gC = 2 * q * e[:, None] + 2 * (P - q ** 2) * C - 2 * r * np.eye(d)
    gC[k, k ^ 1] += 2 * (S - q) * e - 2 * (P - q ** 2) * v
    gp = 2 * p * (F - V) + 2 * e @ v
    gp[-2] += 2 * e @ (C.sum(axis=1) - v) - 2 * q * (F - V)
    gp[-1] += -2 * np.trace(C)
    return raw_token_population_loss_real_orthogonal(C, p), B @ gC, A @ gC.T, gp


def max_head_cosine(M: Any) -> float:
    """``max_{h<h'} |<m_h, m_h'>| / (||m_h|| ||m_h'||)`` over the nonzero rows ``m_h`` of ``M (H, d)`` (the heads
    ``a_h`` or ``b_h``; a zero head is unused, as the minimisers' extra heads); 0 with fewer than two such rows.
    0 means pairwise orthogonal heads."""
    M = _heads(M, "M")
    M = M[np.linalg.norm(M, axis=1) > 0]
    norms = np.linalg.norm(M, axis=1)
    return float(np.max(np.abs(np.triu(M @ M.T / np.outer(norms, norms), 1)), initial=0.0))


def raw_token_global_minimum(d: int, H: int) -> int:
    """``min_{C = Σ_{h≤H} b_h a_hᵀ, p} L(C, p) = d - min(H, d)`` (claim 5).

    Proof: ``L ≥ r²||C||_F² + q²||C1||² - 2 r tr C + d ≥ ||rC - I||_F²`` and Eckart–Young
    on ``rank(rC) ≤ H``."""
    d = positive_int(d, "d")
    H = positive_int(H, "H")
    return d - min(H, d)


def raw_token_minimiser(d: int, H: int, rng: Any = None, p_last: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A global minimiser with orthogonal heads: ``a_h = u_h / √|p_n|``, ``b_h = sign(p_n)·a_h`` for an
    orthonormal family ``u_1..u_min(H,d)`` (random if ``rng`` given, else coordinate vectors); extra heads zero.

    Returns ``(A (H, d), B (H, d), p)`` with ``p`` of length 3 (``n = 2``) supported on ``p_n = p_last``.
    ``C = Bᵀ A = U Uᵀ / p_n`` is a scaled orthogonal projection of rank ``min(H, d)``, so ``r C = U Uᵀ``
    and ``L = ||U Uᵀ - I||_F² = d - min(H, d)``.  ``p_last`` may have either sign (``L`` is invariant
    under ``(C, p) → (-C, -p)``); it must be nonzero.
    """
    d = positive_int(d, "d")
    H = positive_int(H, "H")
    p_last = nonzero_float(p_last, "p_last")
    validate.memory(8 * (d * d * (1 if rng is None else 8) + 2 * H * d), validate.largest(d=d, H=H),
                    f"heads of size {H:,} × {d:,}")
    r = min(H, d)
    U = np.eye(d)[:, :r] if rng is None else haar_unitary(d, rng, real=True)[:, :r]
    A = np.zeros((H, d))
    A[:r] = U.T / np.sqrt(abs(p_last))
    return A, np.sign(p_last) * A, np.array([0.0, 0.0, p_last])


def raw_token_global_minimum_real_orthogonal(d: int, H: int) -> int:
    """``min_{C = Σ_{h≤H} b_h a_hᵀ, p} L_orth(C, p) = d - 2·min(H, d/2)`` (real commuting orthogonal
    contexts, ``d`` even, any ``n >= 1``; :func:`raw_token_population_loss_real_orthogonal`).

    Lower bound: with ``q = p_{n-1}, r = p_n, P = ||p||², P_sum = Σ_j p_j`` each row of ``L_orth`` is
    ``(q u + P_sum v + q R)² + (P - q² - r²)(u² + Σ_{l∉{k,σ(k)}} C_kl²) + (1 - r u)² + r² Σ_{l∉{k,σ(k)}} C_kl²``,
    so ``L ≥ ||M ⊙ (rC - I)||_F²`` where ``M`` masks the in-block partner entries ``(k, σ(k))``.
    That is ``min_J ||rC - B_J||_F²`` over block-diagonal ``B_J`` with unit diagonal and free
    partner entries; by Eckart–Young it is at least the sum of the squared singular values of
    ``B_J`` left after removing ``H`` of them; a 2×2 block that loses none keeps
    ``σ₁² + σ₂² = ||block||_F² ≥ 2``, and at most ``H`` blocks lose one, hence ``≥ 2(d/2 - H)⁺``.
    Attained by :func:`raw_token_minimiser_real_orthogonal`.
    """
    d = even_dimension(d)
    H = positive_int(H, "H")
    return d - 2 * min(H, d // 2)


def raw_token_minimiser_real_orthogonal(d: int, H: int, n: int, rng: Any = None,
                                        p_last: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A global minimiser of the real-orthogonal raw-token loss: one head per 2×2 rotation block.

    Head ``h`` on block ``m`` (eigen-coordinates ``2m, 2m+1`` carrying ``λ_m, conj λ_m``):
    ``a_h = c_h (e_{2m} + e_{2m+1}) / √|p_n|``, ``b_h = sign(p_n) (e_{2m} + e_{2m+1}) / (c_h √|p_n|)``,
    so the block of ``C = Bᵀ A`` is ``(1/p_n)·[[1, 1], [1, 1]]`` (rank one); positional weights
    ``p_n = p_last``, ``p_{n-1} = -p_last/2``, every other ``p_j = 0``.  Then, exactly, for every
    sequence, ``ŝ_{n+1}[2m] = (1/p_n)(p_n λ^{n+1} + p_{n-1} λ^{n-1}) + (1/p_n)(p_{n-1} + p_n) λ^{n-1}
    = λ^{n+1}`` — the Chebyshev relation ``s_{n+1} = 2cos θ s_n - s_{n-1}`` read in the eigenbasis
    (the partner coordinate contributes ``conj(λ^{-1})^{n-1} λ^{-j} λ^j = λ^{n-1}`` for every key ``j``).
    ``min(H, d/2)`` blocks are predicted without error, each other coordinate costs 1:
    ``L = d - 2·min(H, d/2)`` (:func:`raw_token_global_minimum_real_orthogonal`).  Valid for every
    ``n >= 1`` (for ``n = 1`` the query is ``s_0`` and ``p_{n-1} = p_0``).  Extra heads are zero.

    ``rng``: if given, the blocks, the rows of the used heads and the balance ``c_h`` (random sign,
    log-normal size) are drawn at random; else blocks ``0..`` on heads ``0..`` with ``c_h = 1``.
    Returns ``(A (H, d), B (H, d), p (n+1,))``.
    """
    d = even_dimension(d)
    H = positive_int(H, "H")
    n = positive_int(n, "n")
    p_last = nonzero_float(p_last, "p_last")
    validate.memory(8 * (3 * H * d + n + 1), validate.largest(n=n, d=d, H=H),
                    f"heads of size {H:,} × {d:,} and {n + 1:,} positional weights")
    r = min(H, d // 2)
    if rng is None:
        blocks, rows, c = np.arange(r), np.arange(r), np.ones(r)
    else:
        rng = as_rng(rng)
        blocks = rng.choice(d // 2, size=r, replace=False)
        rows = rng.choice(H, size=r, replace=False)
        c = rng.choice([-1.0, 1.0], size=r) * np.exp(0.5 * rng.standard_normal(r))
    A, B = np.zeros((H, d)), np.zeros((H, d))
    pair = np.zeros((r, d))
    pair[np.arange(r), 2 * blocks] = pair[np.arange(r), 2 * blocks + 1] = 1.0 / np.sqrt(abs(p_last))
    A[rows] = c[:, None] * pair
    B[rows] = np.sign(p_last) * pair / c[:, None]
    p = np.zeros(n + 1)
    p[n], p[n - 1] = p_last, -p_last / 2
    return A, B, p



POSITIONAL_NAMES = ("ILL_CONDITIONED", "IllConditionedGramWarning", "positional_gram", "positional_gram_spectrum", "positional_gram_condition_number", "positional_population_loss", "optimal_positional_weights", "optimal_positional_matrix", "positional_row_grams", "gd_spectral_filter", "quadratic_gd_path", "positional_gd_path")


def __getattr__(name: str) -> Any:
    """The positional-weight quadratic lives in :mod:`theory.positional`; its names stay importable from
    here (looked up lazily: theory.positional imports this module)."""
    if name in POSITIONAL_NAMES:
        from theory import positional

        return getattr(positional, name)
    raise AttributeError(f"module 'theory.autoregressive' has no attribute {name!r}")
