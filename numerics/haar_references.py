"""Monte Carlo references for Figure 5's task (augmented tokens, W Haar on O(d)): sequences, one-step-GD
coefficients with standard errors (the oracle of :mod:`theory.haar_moments`), the best preconditioned
one-step predictor ``B G_t A s_t`` (A, B shared by all positions), and the block structure of a
trained augmented layer.

Positions are the official ones (:mod:`theory.haar_moments`): ``t = 0..T-1``, position ``t`` predicts
``s_{t+1}`` with ``G_t = Σ_{j<t} s_{j+1} s_jᵀ``.  Losses are squared norms ``E||ŝ - s_{t+1}||²`` unless a
name says ``mse`` (the official ``nn.MSELoss``: the squared norm divided by ``d``).  Float64 throughout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from numerics.runtime import lbfgs_minimum, single_thread
from theory import autoregressive as ar
from theory import validate
from theory.validate import choice, positive_int, rng as as_rng

__all__ = ["START_LAWS", "haar_sequences", "gd_step_terms", "mc_gd_step_coefficients", "Estimate",
           "mc_gd_step_loss_by_position", "mc_gd_step_errors", "preconditioned_features", "PreconditionedMoments",
           "preconditioned_moments", "PreconditionedFit", "fit_preconditioned", "preconditioned_errors",
           "normalised_gd_errors", "block_structure", "mean_and_stderr", "gd_directions",
           "figure5_references"]

START_LAWS = ("fixed", "sphere")


def haar_sequences(d: int, T: int, size: int, law: str = "fixed", rng: Any = None) -> np.ndarray:
    """``size`` sequences ``s_0..s_T`` (``(size, T+1, d)`` float64), ``s_{t+1} = W s_t``, ``W`` Haar on ``O(d)``
    per sequence; ``s_0 = (1..1)/√d`` ('fixed', the official start) or uniform on ``S^{d-1}`` ('sphere')."""
    d, T, size = positive_int(d, "d"), positive_int(T, "T"), positive_int(size, "size")
    law = choice(law, "law", START_LAWS)
    _sequences_fit(d, T, size, "size")
    rng = as_rng(rng)
    W = ar.haar_orthogonal_contexts(d, size, rng)
    if law == "fixed":
        s0 = np.full(d, 1 / np.sqrt(d))
    else:
        x = rng.standard_normal((size, d))
        s0 = x / np.linalg.norm(x, axis=1, keepdims=True)
    return ar.sequences(W, s0, T)


def _sequences_fit(d: int, T: int, size: int, size_name: str) -> None:
    """Refuse, before drawing, ``size`` Haar matrices ``(d, d)`` and sequences ``(T+1, d)`` above the memory
    budget, naming the size that drives it (``size_name`` for the number of sequences)."""
    validate.memory(8.0 * 4 * size * d * (d + T + 1), validate.largest(**{size_name: size, "d": d * d, "T": T}),
                    f"{size:,} Haar sequences of length {T + 1:,} in dimension {d:,}")


def _check_seqs(seqs: Any) -> np.ndarray:
    seqs = validate.finite_array(seqs, "seqs", ndim=3)
    if seqs.shape[0] < 2 or seqs.shape[1] < 2:
        raise ValueError(f"seqs: expected (N, T+1, d) with N >= 2 sequences and T >= 1, got {seqs.shape}")
    return seqs


def gd_step_terms(seqs: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per sequence and position: ``(||G_t s_t||², ⟨G_t s_t, s_{t+1}⟩)``, each ``(N, T)``, positions ``t = 0..T-1``."""
    seqs = _check_seqs(seqs)
    g = gd_directions(seqs)
    return (g ** 2).sum(-1), (g * seqs[:, 1:]).sum(-1)


def gd_directions(seqs: np.ndarray) -> np.ndarray:
    """``G_t s_t`` (N, T, d) at positions ``t = 0..T-1``: ``Σ_{j<t} s_{j+1} ⟨s_j, s_t⟩``."""
    seqs = _check_seqs(seqs)
    N, T1, d = seqs.shape
    T = T1 - 1
    validate.memory(4 * 8 * N * T * (T + d), "seqs", f"the scores of {N:,} sequences of length {T1:,}")
    scores = np.einsum("njd,ntd->ntj", seqs[:, :T], seqs[:, :T])       # [t, j] = ⟨s_j, s_t⟩
    scores = scores * np.tril(np.ones((T, T)), k=-1)                  # j < t
    return np.einsum("ntj,njd->ntd", scores, seqs[:, 1:])


@dataclass(frozen=True)
class Estimate:
    """A Monte Carlo mean and its standard error (arrays of the same shape)."""

    value: np.ndarray
    stderr: np.ndarray


def mean_and_stderr(x: np.ndarray, axis: int = 0) -> Estimate:
    """Mean and standard error (``std(ddof=1)/√n``) along ``axis``."""
    x = validate.finite_array(x, "x")
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis: expected an axis of an array of shape {x.shape}, got {validate.short_repr(axis)}")
    n = x.shape[axis]
    if n < 2:
        raise ValueError(f"x: expected at least 2 samples along axis {axis}, got {n}")
    return Estimate(x.mean(axis), x.std(axis=axis, ddof=1) / np.sqrt(n))


def mc_gd_step_coefficients(seqs: Any) -> tuple[Estimate, Estimate]:
    """Monte Carlo ``(a_t, b_t)`` (each ``(T,)``) of :func:`theory.haar_moments.haar_gd_step_coefficients`."""
    a, b = gd_step_terms(seqs)
    return mean_and_stderr(a), mean_and_stderr(b)


def mc_gd_step_loss_by_position(seqs: Any, eta: Any) -> Estimate:
    """Monte Carlo ``E||η_t G_t s_t - s_{t+1}||²`` (``(T,)``) for one step (float) or one per position (``(T,)``)."""
    return mean_and_stderr(mc_gd_step_errors(seqs, eta))


def mc_gd_step_errors(seqs: Any, eta: Any) -> np.ndarray:
    """``||η_t G_t s_t - s_{t+1}||²`` per sequence and position, ``(N, T)``: one step (float) or one per position."""
    seqs = _check_seqs(seqs)
    T = seqs.shape[1] - 1
    eta = validate.finite_array(eta, "eta")
    if eta.shape not in ((), (1,), (T,)):
        raise ValueError(f"eta: expected one step or one per position, shape () or ({T},), got {eta.shape}")
    eta = np.broadcast_to(eta, (T,))
    return ((eta[None, :, None] * gd_directions(seqs) - seqs[:, 1:]) ** 2).sum(-1)


# ---------------------------------------------------------------------------------- preconditioned
def preconditioned_features(seqs: np.ndarray) -> np.ndarray:
    """``φ_t[a, b, c] = (G_t)_{ab} (s_t)_c`` flattened: ``(N, T, d³)``; ``(B G_t A s_t)_e = Σ B_{ea} A_{bc} φ_t[a,b,c]``."""
    seqs = _check_seqs(seqs)
    N, T1, d = seqs.shape
    T = T1 - 1
    validate.memory(3 * 8 * N * T * d ** 3, "seqs", f"the d³ features of {N:,} sequences")
    outer = np.einsum("nja,njb->njab", seqs[:, 1:], seqs[:, :-1])      # s_{j+1} s_jᵀ, j = 0..T-1
    G = np.cumsum(outer, axis=1) - outer                              # G_t = Σ_{j<t}
    return np.einsum("ntab,ntc->ntabc", G, seqs[:, :-1]).reshape(N, T, d ** 3)


@dataclass(frozen=True)
class PreconditionedMoments:
    """All-positions moments: ``M = Σ_t E[φ_t φ_tᵀ]`` (d³, d³), ``m = Σ_t E[φ_t s_{t+1}ᵀ]`` (d³, d),
    ``c = Σ_t E||s_{t+1}||²``, ``T`` positions; the loss of ``(A, B)`` is ``(tr(X M Xᵀ) - 2 tr(X m) + c) / T``."""

    M: np.ndarray
    m: np.ndarray
    c: float
    T: int
    d: int


def preconditioned_moments(seqs: Any, batch: int = 2048) -> PreconditionedMoments:
    """Monte Carlo :class:`PreconditionedMoments` from ``seqs (N, T+1, d)``, in batches of sequences."""
    seqs = _check_seqs(seqs)
    batch = positive_int(batch, "batch")
    N, T1, d = seqs.shape
    validate.memory(8.0 * (2 * d ** 6 + d ** 4 + 3 * min(batch, N) * (T1 - 1) * d ** 3), "seqs",
                    f"the moments of d³ = {d ** 3:,} features")
    M = torch.zeros(d ** 3, d ** 3, dtype=torch.float64)
    m = torch.zeros(d ** 3, d, dtype=torch.float64)
    with single_thread():
        for i in range(0, N, batch):
            part = torch.from_numpy(np.ascontiguousarray(seqs[i: i + batch]))
            outer = part[:, 1:, :, None] * part[:, :-1, None, :]            # (n, T, d, d)  s_{j+1} s_jᵀ
            G = torch.cumsum(outer, dim=1) - outer                             # G_t = Σ_{j<t}
            phi = (G[..., None] * part[:, :-1, None, None, :]).reshape(-1, d ** 3)
            M += phi.T @ phi
            m += phi.T @ part[:, 1:].reshape(-1, d)
    M, m = M.numpy(), m.numpy()
    c = float((seqs[:, 1:] ** 2).sum()) / N
    return PreconditionedMoments(M / N, m / N, c, T1 - 1, d)


def _tensor(B: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    """``X[e, (a, b, c)] = B_{ea} A_{bc}``: (d, d³)."""
    d = B.shape[0]
    return torch.einsum("ea,bc->eabc", B, A).reshape(d, d ** 3)


@dataclass(frozen=True)
class PreconditionedFit:
    """The best ``(A, B)`` found on the fitting moments and its all-positions mean loss there (squared norm)."""

    loss: float
    A: np.ndarray
    B: np.ndarray


def fit_preconditioned(mom: PreconditionedMoments, starts: int = 3, rng: Any = None, eta: float = 0.1,
                       iters: int = 400) -> PreconditionedFit:
    """``min_{A, B} (1/T) Σ_t E||B G_t A s_t - s_{t+1}||²`` on ``mom`` by L-BFGS from ``(η I, I)`` and ``starts``
    random starts (the loss is quartic in ``(A, B)``, not convex: multi-start)."""
    if not isinstance(mom, PreconditionedMoments):
        raise ValueError(f"mom: expected PreconditionedMoments, got {validate.short_repr(mom)}")
    starts = positive_int(starts, "starts", minimum=0)
    iters = positive_int(iters, "iters")
    eta = validate.finite_float(eta, "eta")
    rng = as_rng(rng)
    d = mom.d
    M, m = torch.from_numpy(mom.M), torch.from_numpy(mom.m)

    def loss(x):
        X = _tensor(x[d * d:].reshape(d, d), x[: d * d].reshape(d, d))
        return ((X @ M * X).sum() - 2 * (X * m.T).sum() + mom.c) / mom.T

    inits = [np.concatenate([np.eye(d).ravel(), eta * np.eye(d).ravel()])]
    inits += [0.5 * rng.standard_normal(2 * d * d) for _ in range(starts)]
    best = None
    for x0 in inits:
        value, x = lbfgs_minimum(loss, torch.tensor(x0, dtype=torch.float64), iters)
        if best is None or value < best[0]:
            best = (value, x.numpy().copy())
    A, B = best[1][: d * d].reshape(d, d), best[1][d * d:].reshape(d, d)
    return PreconditionedFit(best[0], A, B)


def preconditioned_errors(seqs: Any, A: Any, B: Any) -> np.ndarray:
    """``||B G_t A s_t - s_{t+1}||²`` per sequence and position: ``(N, T)``."""
    seqs = _check_seqs(seqs)
    d = seqs.shape[2]
    A = validate.finite_array(A, "A", shape=(d, d))
    B = validate.finite_array(B, "B", shape=(d, d))
    N, T1, _ = seqs.shape
    T = T1 - 1
    scores = np.einsum("njd,ntd->ntj", seqs[:, :T], seqs[:, :T] @ A.T)   # [t, j] = s_jᵀ A s_t
    scores = scores * np.tril(np.ones((T, T)), k=-1)
    pred = np.einsum("ntj,njd->ntd", scores, seqs[:, 1:]) @ B.T
    return ((pred - seqs[:, 1:]) ** 2).sum(-1)


def normalised_gd_errors(seqs: Any, scale: float = 1.0) -> np.ndarray:
    """``||κ G_t s_t / ||G_t s_t|| - s_{t+1}||²`` per sequence and position (``(N, T)``; 0/0 := 0 at t = 0): the
    one-step direction at a fixed length ``κ``, what a LayerNorm after the attention can make of it."""
    seqs = _check_seqs(seqs)
    scale = validate.finite_float(scale, "scale")
    g = gd_directions(seqs)
    norm = np.linalg.norm(g, axis=-1, keepdims=True)
    unit = np.where(norm > 0, g / np.where(norm > 0, norm, 1.0), 0.0)
    return ((scale * unit - seqs[:, 1:]) ** 2).sum(-1)


# ---------------------------------------------------------------------------------- learned structure
def _shares_and_shape(X: np.ndarray, blocks: dict[str, tuple[slice, slice]]) -> dict[str, Any]:
    total = float((X ** 2).sum())
    out = {}
    for name, (r, c) in blocks.items():
        Y = X[r, c]
        e = float((Y ** 2).sum())
        n = Y.shape[0]
        fro = np.sqrt(e) if e > 0 else 1.0
        ident = np.trace(Y) / n * np.eye(n)
        U, S, Vt = np.linalg.svd(Y)
        orth = S.mean() * U @ Vt
        out[name] = {"share": e / total if total > 0 else 0.0,
                     "identity_residual": float(np.linalg.norm(Y - ident) / fro),
                     "orthogonal_residual": float(np.linalg.norm(Y - orth) / fro),
                     "scale": float(np.trace(Y) / n)}
    return out


def block_structure(Q: Any, K: Any, V: Any, d: int) -> dict[str, Any]:
    """Where the energy of an augmented layer's ``KᵀQ`` and ``V`` (each ``(3d, 3d)``) sits, on the coordinates
    the loss sees (tokens ``(0, s_t, s_{t-1})``, prediction ``out[:d]``): ``A = (KᵀQ)[d:, d:]`` (2d, 2d) in
    blocks ``[key slot, query slot]`` ∈ {s_j, s_{j-1}} × {s_t, s_{t-1}}, and ``V' = V[:d, d:]`` (d, 2d) in
    blocks {s_j, s_{j-1}}.  Per block: share of the Frobenius energy of A (of V'), relative residual to the
    nearest multiple of the identity and to the nearest multiple of an orthogonal matrix (polar factor
    times the mean singular value), and ``tr/d``.  The GD construction uses ``A[s_{j-1}, s_t]`` and
    ``V'[s_j]`` (:func:`model.autoregressive.gd_step_weights`)."""
    d = positive_int(d, "d")
    validate.memory(8.0 * 5 * (3 * d) ** 2, "d", f"three ({3 * d:,}, {3 * d:,}) maps")
    Q, K, V = (validate.finite_array(x, n, shape=(3 * d, 3 * d)) for x, n in ((Q, "Q"), (K, "K"), (V, "V")))
    A = (K.T @ Q)[d:, d:]
    Vp = V[:d, d:]
    cur, prev = slice(0, d), slice(d, 2 * d)
    a = _shares_and_shape(A, {"key s_j, query s_t": (cur, cur), "key s_j, query s_t-1": (cur, prev),
                              "key s_j-1, query s_t": (prev, cur), "key s_j-1, query s_t-1": (prev, prev)})
    v = _shares_and_shape(Vp, {"value s_j": (slice(0, d), cur), "value s_j-1": (slice(0, d), prev)})
    return {"KtQ": a, "V": v,
            "gd_share_KtQ": a["key s_j-1, query s_t"]["share"], "gd_share_V": v["value s_j"]["share"]}


def figure5_references(d: int, T: int, law: str = "fixed", fit_size: int = 4096, eval_size: int = 4096,
                       starts: int = 2, rng: Any = None, preconditioned: bool = True) -> dict[str, Any]:
    """Every reference of Figure 5's task, in the official unit (MSE = squared norm / d), positions ``0..T-1``:

    exact (:mod:`theory.haar_moments`): ``eta_by_position``, ``L_gd_by_position`` (best step per position),
    ``eta_shared``, ``L_gd_shared`` (one step for all positions, all-positions mean) and its by-position
    curve; Monte Carlo on ``eval_size`` fresh sequences, with standard errors: ``L_preconditioned`` (``(A, B)``
    fitted on ``fit_size`` other sequences, so the estimate is unbiased for the fitted pair) and
    ``L_gd_normalised`` (the unit direction ``G_t s_t / ||G_t s_t||``, length ``κ`` fitted likewise).
    ``preconditioned=False`` skips the fit (its entries are then nan)."""
    from theory import haar_moments as hm

    d, T = positive_int(d, "d"), positive_int(T, "T", minimum=2)
    law = choice(law, "law", START_LAWS)
    fit_size = positive_int(fit_size, "fit_size", minimum=2)
    eval_size = positive_int(eval_size, "eval_size", minimum=2)
    starts = positive_int(starts, "starts", minimum=0)
    preconditioned = validate.boolean(preconditioned, "preconditioned")
    for size, name in ((fit_size, "fit_size"), (eval_size, "eval_size")):
        _sequences_fit(d, T, size, name)
    rng = as_rng(rng)
    eta_t, L_t = hm.haar_best_step_by_position(d, T)
    eta_s, L_s = hm.haar_best_shared_step(d, T)
    fit_seqs = haar_sequences(d, T, positive_int(fit_size, "fit_size", minimum=2), law, rng)
    preconditioned = validate.boolean(preconditioned, "preconditioned")
    fit = fit_preconditioned(preconditioned_moments(fit_seqs), starts=starts, rng=rng, eta=eta_s) if preconditioned \
        else PreconditionedFit(np.nan, np.full((d, d), np.nan), np.full((d, d), np.nan))
    g = gd_directions(fit_seqs)
    norm = np.linalg.norm(g, axis=-1)
    on = norm > 0                                                           # κ = E⟨u, s_{t+1}⟩ / P(G_t s_t ≠ 0)
    kappa = float(((g * fit_seqs[:, 1:]).sum(-1)[on] / norm[on]).mean())
    ev = haar_sequences(d, T, positive_int(eval_size, "eval_size", minimum=2), law, rng)
    pre = preconditioned_errors(ev, fit.A, fit.B) / d if preconditioned else np.full((2, T), np.nan)  # (N, T)
    nrm = normalised_gd_errors(ev, kappa) / d
    P = np.full(d, 1 / np.sqrt(d))[:, None] * np.full(d, 1 / np.sqrt(d))[None, :]

    def _invariant_residual(X):  # distance to span{I, s_0 s_0ᵀ} (the commutant of the stabiliser of s_0)
        basis = np.stack([np.eye(d).ravel(), P.ravel()], 1)
        coef = np.linalg.lstsq(basis, X.ravel(), rcond=None)[0]
        return float(np.linalg.norm(X.ravel() - basis @ coef) / np.linalg.norm(X)) if preconditioned else np.nan
    return {"d": d, "T": T, "law": law, "positions": list(range(T)),
            "eta_by_position": eta_t.tolist(), "L_gd_by_position": (L_t / d).tolist(),
            "L_gd_by_position_mean": float(L_t.mean() / d),
            "eta_shared": eta_s, "L_gd_shared": L_s / d,
            "L_gd_shared_by_position": (hm.gd_step_loss_by_position(eta_s, d, T) / d).tolist(),
            "L_preconditioned": float(pre.mean()),
            "L_preconditioned_stderr": float(pre.mean(1).std(ddof=1) / np.sqrt(pre.shape[0])),
            "L_preconditioned_fit": fit.loss / d,
            "L_preconditioned_by_position": pre.mean(0).tolist(),
            "preconditioner_A": fit.A.tolist(), "preconditioner_B": fit.B.tolist(),
            "preconditioner_identity_residual": max(
                float(np.linalg.norm(X - np.trace(X) / d * np.eye(d)) / np.linalg.norm(X)) for X in (fit.A, fit.B))
            if preconditioned else np.nan,
            "preconditioner_invariant_residual": max(_invariant_residual(X) for X in (fit.A, fit.B)),
            "L_gd_normalised": float(nrm.mean()),
            "L_gd_normalised_stderr": float(nrm.mean(1).std(ddof=1) / np.sqrt(nrm.shape[0])),
            "gd_normalised_length": kappa, "L_gd_normalised_by_position": nrm.mean(0).tolist(),
            "zero_predictor": 1.0 / d}
