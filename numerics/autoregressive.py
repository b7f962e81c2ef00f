"""Numerical bridges for spec 2 (in-context autoregressive learning): Monte Carlo with
standard errors and exact enumeration of population losses on phase grids through the torch
models (autograd); the training loops of the raw-token and positional models are
:mod:`numerics.train_autoregressive`.

Exact enumeration: for i.i.d. phases uniform on the full circle, the expectation
of a trigonometric polynomial whose frequencies are below ``M`` in every phase
equals its average over the grid ``θ ∈ (2π/M)·{0..M-1}`` (discrete orthogonality
of characters).  The losses below are polynomials of bounded degree in the
tokens, so a grid with ``M`` above that degree gives the population loss exactly,
through the torch model, with autograd.  Float64 / complex128 throughout.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch

from model.autoregressive import AugmentedLinearAttention, raw_token_prediction
from numerics.runtime import single_thread
from theory import autoregressive as ar
from theory import validate
from theory.estimates import Estimate, mean_and_stderr
from theory.validate import (choice, even_dimension, finite_float, positional_weights, positive_int,
                             rng as as_rng, square_matrix)

__all__ = ["KINDS", "single_threaded", "z_score", "gd_step_samples", "eigen_tokens", "raw_token_scores",
           "raw_token_samples", "mc_raw_token_loss", "phase_grid", "orthogonal_grid_sequences",
           "grid_eigen_tokens", "gd_step_loss_exact", "raw_token_loss_exact"]

KINDS = ("unitary", "orthogonal")  # the context families of the eigen-coordinate bridges


def single_threaded(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with single_thread():
            return fn(*args, **kwargs)
    return wrapper


# ---------------------------------------------------------------------------
# Monte Carlo with standard errors
# ---------------------------------------------------------------------------

def z_score(closed: float, estimate: Estimate) -> float:
    """``|closed - mean| / se`` of a scalar Monte Carlo :class:`theory.estimates.Estimate`.

    Unlike :meth:`Estimate.z_scores` it is 0 when both agree to round-off (``1e-12`` relative: a
    deterministic quantity, e.g. ``d = 1`` or ``η = 0``, whose ``se`` is round-off too) and a finite
    sentinel ``1e12`` for a disagreement with ``se = 0``.
    """
    closed = finite_float(closed, "closed")
    if not isinstance(estimate, Estimate) or np.ndim(estimate.value) != 0:
        raise ValueError(f"estimate: expected a scalar Estimate, got {validate.short_repr(estimate)}")
    mean, se = float(estimate.value), float(estimate.stderr)
    diff = abs(closed - mean)
    if diff <= 1e-12 * (1 + abs(closed)):  # deterministic quantities (d = 1, η = 0): no sampling error
        return 0.0
    return 1e12 if se == 0 else diff / se  # a finite sentinel: a disagreement with no sampling error


def gd_step_samples(t: int, d: int, size: int, rng: Any = None, kind: str = "unitary",
                    Q: Any = None) -> dict[str, np.ndarray]:
    """Per-sequence ``a_i = ||G_t s_t||², b_i = Re<G_t s_t, s_{t+1}>, c_i = ||s_{t+1}||²``, each ``(size,)``.

    ``kind``: 'unitary' (``s_0 = Q·1/√d``) or 'orthogonal' (real blocks, ``s_0`` of
    :func:`theory.autoregressive.default_s0`) or 'haar'.
    """
    t = positive_int(t, "t")
    kind = choice(kind, "kind", ar.CONTEXT_KINDS)
    d = even_dimension(d) if kind == "orthogonal" else positive_int(d, "d")
    size = positive_int(size, "size")
    if Q is not None and kind != "unitary":
        raise ValueError(f"Q: the eigenbasis Q applies to kind='unitary' only, got kind={kind!r}")
    validate.memory(4 * 16 * size * (t + 2) * d + 16 * size * d * d + 3 * 16 * size * t * (t + d),
                    validate.largest(t=t, size=size, d=d),
                    f"{size:,} sequences of length {t + 2:,} in dimension {d:,}")
    rng = as_rng(rng)
    if kind == "unitary":
        W, _ = ar.commuting_unitary_contexts(d, size, rng, Q=Q)
        s0 = ar.default_s0(d, "unitary") if Q is None else np.asarray(Q) @ ar.default_s0(d, "unitary")
        seqs = ar.sequences(W, s0, t + 1)
    else:
        seqs, _ = ar.sample_sequences(kind, d, t + 1, size, rng)
    pred = ar.one_step_gd_prediction(seqs[:, : t + 1], 1.0)[:, -1]  # G_t s_t, (size, d)
    target = seqs[:, t + 1]
    return {"a": np.sum(np.abs(pred) ** 2, axis=1), "b": np.real(np.sum(pred * target.conj(), axis=1)),
            "c": np.sum(np.abs(target) ** 2, axis=1)}


def eigen_tokens(kind: str, d: int, n: int, size: int, rng: Any = None, nu: float = 1.0) -> np.ndarray:
    """Complex eigen-coordinates ``x_j[k] = λ_k^j`` (``s_0 = 1``), ``j = 0..n+1``: ``(size, n+2, d)``.

    'orthogonal': coordinates ``2m, 2m+1`` carry ``(λ_m, conj λ_m)``.  ``16·size·(n+2)·d`` bytes (twice
    while the powers are formed), refused above 2 GiB before drawing.
    """
    kind = choice(kind, "kind", KINDS)
    d = even_dimension(d) if kind == "orthogonal" else positive_int(d, "d")
    n = positive_int(n, "n", minimum=0)
    size = positive_int(size, "size")
    validate.memory(2 * 16 * size * (n + 2) * d, validate.largest(n=n, size=size, d=d),
                    f"{size:,} token sequences of length {n + 2:,} in dimension {d:,}")
    if kind == "orthogonal":
        theta = ar.sample_phases(d // 2, size, rng, nu)
        theta = np.repeat(theta, 2, axis=1) * np.tile([1.0, -1.0], d // 2)
    else:
        theta = ar.sample_phases(d, size, rng, nu)
    return np.exp(1j * theta[:, None, :] * np.arange(n + 2)[None, :, None])


def raw_token_scores(C: np.ndarray, queries: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Scores of the raw-token model in NumPy: ``scores[..., j, k] = Σ_l C_kl conj(q[l]) x_j[l]``.

    ``C (d, d)``, ``queries (..., d)`` (the query tokens, conjugated here), ``keys (..., n+1, d)``,
    broadcast over the leading axes → ``(..., n+1, d)``.  The prediction is
    ``ŝ[k] = Σ_j p_j scores[j, k] x_j[k]`` (:func:`model.autoregressive.raw_token_prediction` in torch).
    All finite; the last axis of ``queries`` and ``keys`` is ``d``.
    """
    d = square_matrix(C).shape[0]
    queries, keys = validate.finite_numeric_array(queries, "queries"), validate.finite_numeric_array(keys, "keys")
    if queries.ndim < 1 or queries.shape[-1] != d:
        raise ValueError(f"queries: expected shape (..., {d}), got {queries.shape}")
    if keys.ndim < 2 or keys.shape[-1] != d or queries.ndim - 1 != keys.ndim - 2 or any(
            a != b and 1 not in (a, b) for a, b in zip(queries.shape[:-1], keys.shape[:-2])):
        raise ValueError(f"keys: expected shape (..., n+1, {d}) with the leading axes of queries "
                         f"{queries.shape[:-1]}, got {keys.shape}")
    return np.einsum("kl,...l,...jl->...jk", C, queries.conj(), keys)


def raw_token_samples(C: Any, p: Any, size: int, rng: Any = None, kind: str = "unitary",
                      nu: float = 1.0) -> np.ndarray:
    """Per-sequence squared error ``Σ_k |ŝ_{n+1}[k] - x_{n+1}[k]|²`` of the raw-token model, ``(size,)``
    (the NumPy Monte Carlo oracle, independent of the torch model)."""
    C = square_matrix(C)
    p = positional_weights(p)
    n = p.shape[0] - 1
    X = eigen_tokens(kind, C.shape[0], n, size, rng, nu)
    keys = X[:, : n + 1]
    scores = raw_token_scores(C, X[:, n - 1], keys)                    # (size, n+1, d)
    pred = np.einsum("j,njk,njk->nk", p, scores, keys)
    return np.sum(np.abs(pred - X[:, n + 1]) ** 2, axis=1)


def mc_raw_token_loss(C: Any, p: Any, size: int, rng: Any = None, kind: str = "unitary",
                      nu: float = 1.0) -> Estimate:
    """Monte Carlo raw-token population loss over ``size >= 2`` sampled sequences: a scalar
    :class:`theory.estimates.Estimate` (mean, standard error)."""
    positive_int(size, "size", minimum=2)
    return mean_and_stderr(raw_token_samples(C, p, size, rng, kind, nu))


# ---------------------------------------------------------------------------
# exact enumeration on phase grids (torch, autograd)
# ---------------------------------------------------------------------------

def phase_grid(D: int, M: int) -> torch.Tensor:
    """All ``M^D`` phase vectors ``(2π/M)·r``, shape ``(M^D, D)``, float64 (refused above 2 GiB)."""
    D = positive_int(D, "D")
    M = positive_int(M, "M")
    validate.memory(2 * 8 * validate.float_power(M, D) * D, validate.largest(M=M, D=D),
                    f"a phase grid of {M:,}^{D:,} points")
    axes = [torch.arange(M, dtype=torch.float64) * (2 * np.pi / M)] * D
    return torch.cartesian_prod(*axes).reshape(-1, D)


def orthogonal_grid_sequences(d: int, T: int, M: int) -> torch.Tensor:
    """Real sequences ``s_0..s_T`` of block rotations for every grid phase: ``(M^{d/2}, T+1, d)``,
    ``s_0 = √(2/d)(1,0,1,0,…)``; refused above 2 GiB before the grid is built."""
    d = even_dimension(d)
    T = positive_int(T, "T")
    M = positive_int(M, "M")
    validate.memory(4 * 8 * validate.float_power(M, d // 2) * (T + 1) * d, validate.largest(M=M, T=T, d=d),
                    f"{M:,}^{d // 2:,} grid sequences of length {T + 1:,}")
    theta = phase_grid(d // 2, M)                                    # (G, D)
    ang = theta[:, None, :] * torch.arange(T + 1, dtype=torch.float64)[None, :, None]  # (G, T+1, D)
    seqs = torch.stack([torch.cos(ang), torch.sin(ang)], dim=-1).reshape(theta.shape[0], T + 1, d)
    return seqs * np.sqrt(2.0 / d)


def grid_eigen_tokens(kind: str, d: int, n: int, M: int) -> torch.Tensor:
    """Complex eigen-coordinates on the full phase grid: ``(M^D, n+2, d)`` (refused above 2 GiB)."""
    kind = choice(kind, "kind", KINDS)
    d = even_dimension(d) if kind == "orthogonal" else positive_int(d, "d")
    n = positive_int(n, "n", minimum=0)
    M = positive_int(M, "M")
    D = d // 2 if kind == "orthogonal" else d
    validate.memory(3 * 16 * validate.float_power(M, D) * (n + 2) * d, validate.largest(M=M, n=n, d=d),
                    f"{M:,}^{D:,} grid sequences of length {n + 2:,}")
    theta = phase_grid(D, M)
    if kind == "orthogonal":
        theta = theta.repeat_interleave(2, dim=1) * torch.tensor([1.0, -1.0], dtype=torch.float64).repeat(D)
    ang = theta[:, None, :] * torch.arange(n + 2, dtype=torch.float64)[None, :, None]
    return torch.polar(torch.ones_like(ang), ang)


@single_threaded
def gd_step_loss_exact(eta: float, t: int, d: int) -> tuple[float, float]:
    """Population loss of the constructed augmented model at position ``t`` on real orthogonal
    contexts (``d`` even), exact by grid enumeration, and its autograd derivative ``dL/dη``."""
    t, d = positive_int(t, "t"), even_dimension(d)
    eta = finite_float(eta, "eta")
    validate.memory(6 * 8 * validate.float_power(6 * t + 3, d // 2) * (t + 2) * 3 * d, validate.largest(t=t, d=d),
                    f"the exact grid of {6 * t + 3:,}^{d // 2:,} sequences")
    eta_t = torch.tensor(float(eta), dtype=torch.float64, requires_grad=True)
    seqs = orthogonal_grid_sequences(d, t + 1, M=6 * t + 3)
    model = AugmentedLinearAttention.from_gd_step(d, 1.0)
    pred = eta_t * model(seqs[:, : t + 1])[:, -1]                    # (G, d)
    loss = ((pred - seqs[:, t + 1]) ** 2).sum(-1).mean()
    loss.backward()
    return float(loss.detach()), float(eta_t.grad)


@single_threaded
def raw_token_loss_exact(C: Any, p: Any, kind: str = "unitary") -> tuple[float, np.ndarray, np.ndarray]:
    """Raw-token population loss through the torch forward pass
    :func:`model.autoregressive.raw_token_prediction` on an exact phase grid (every phase exponent
    of the squared error is at most ``2n + 1`` in absolute value, so ``M = 2n + 3``), with autograd
    gradients: ``(L, dL/dC (d,d), dL/dp (n+1,))``."""
    C = square_matrix(C)
    p = positional_weights(p)
    kind = choice(kind, "kind", KINDS)
    d, n = C.shape[0], p.shape[0] - 1
    if kind == "orthogonal":
        even_dimension(d, "C (dimension d)")
    D = d // 2 if kind == "orthogonal" else d
    validate.memory(4 * 16 * validate.float_power(2 * n + 3, D) * (n + 2) * d, "C" if D >= n else "p",
                    f"the exact grid of {2 * n + 3:,}^{D:,} sequences")
    X = grid_eigen_tokens(kind, d, n, M=2 * n + 3)
    Ct = torch.tensor(C, requires_grad=True)
    pt = torch.tensor(p, requires_grad=True)
    loss = (raw_token_prediction(Ct, pt, X) - X[:, n + 1]).abs().pow(2).sum(-1).mean()
    loss.backward()
    return float(loss.detach()), Ct.grad.numpy(), pt.grad.numpy()
