"""Where does a trained augmented-token layer equal one step of GD?  Exact population
moments per setting, training, the best one-step and preconditioned predictors, and the
critical-point analysis of the GD construction (spec 2, claim 3; Sander et al. 2024,
section 3; Zheng et al. 2024 for the role of the law of s_0).

The loss is a quadratic form in an effective tensor.  The augmented layer predicts

    ŝ_{t+1}[a] = Σ_{b,c,e} V'[a,b] A[c,e] Φ[b,c,e],   Φ[b,c,e] = Σ_{j=1..t} z_j[b] conj(z_j[c]) z_t[e],

with ``z_j = (s_j, s_{j-1}) ∈ F^{2d}``, ``V' = V[:d, d:]`` (d, 2d) and ``A = (K* Q)[d:, d:]``
(2d, 2d) (``K* = Kᵀ`` for the real layer).  With ``T = V' ⊗ A`` flattened to ``(d, F)``,
``F = (2d)³``, the population loss at position ``t`` is

    L(T) = tr(T M T*) - 2 Re tr(T m) + c,   M = E[Φ Φ*] (F, F),  m = E[Φ s_{t+1}*] (F, d),  c = E||s_{t+1}||²,

so every parameter of every predictor in the class is judged on the same exact moments.

Exact moments.  In eigen-coordinates ``w_j[k] = w_0[k] λ_k^j`` (``k < D``; D = d for complex
tokens, d/2 rotation blocks for real ones, the real token being ``(Re w, Im w)`` interleaved).
M and m are trigonometric polynomials in the context phases θ and the start phases φ, and
polynomials of degree ≤ 3 in the squared amplitudes ``|w_0[k]|²``.  Hence they are exact
averages over: a θ grid of ``3t+1`` (complex; ``6t+1`` real) points per phase, a φ grid of 7
points per phase (real tokens), and a 2-node Gauss–Laguerre rule in ``|w_0[k]|²`` for the
Gaussian law.  Complex tokens need no φ grid: each feature Φ_f has a definite charge
``q(f) = e_{k_b} - e_{k_c} + e_{k_e}`` (it is ``e^{i q·φ}`` times its value at φ = 0), so for
uniform phases ``M_{ff'} = [q(f) = q(f')]·M_{ff'}|_{φ=0}`` (and ``q ≡ q' mod 2`` for random signs).  The sphere law follows from the Gaussian one by homogeneity: M, m, c are
homogeneous of degree 6, 4, 2 in ``s_0`` and ``||s_0||²`` is independent of ``s_0/||s_0||``.
Float64 / complex128 throughout.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np
import torch

from model.autoregressive import AugmentedLinearAttention, ComplexAugmentedLinearAttention, gd_step_weights
from numerics.runtime import lbfgs_minimum, require_finite, require_parameters_finite, single_thread
from theory import autoregressive as ar
from theory import validate
from theory.validate import choice, even_dimension, finite_float, positive_int, rng as as_rng

__all__ = ["FIELDS", "LAWS", "sample_start_tokens", "Setting", "Moments", "require_setting",
           "cubature_points", "moments_bytes", "start_token_cubature", "eigen_sequences", "check_sequences",
           "augmented_features", "population_moments", "feature_charges", "empirical_moments",
           "sample_setting_sequences", "check_matrix", "attention_tensor", "model_tensor",
           "require_moments", "tensor_loss", "preconditioned_tensor", "one_step_gd_optimum",
           "linear_predictor_bound", "PreconditionedFit", "ModelClassFit", "AttentionTraining",
           "CriticalPoint", "flat_size", "best_preconditioned", "best_in_model_class",
           "train_full_attention", "full_parameter_loss", "gd_construction_point", "gradient_and_hessian",
           "critical_point_analysis", "map_setting"]

FIELDS = ("complex", "real")
LAWS = ("fixed", "phases", "signs", "gaussian", "sphere")


def sample_start_tokens(law: str, d: int, size: int, rng: Any = None, real: bool = False) -> np.ndarray:
    """``size`` start tokens ``s_0`` with ``E||s_0||² = 1``, in the eigenbasis (the Monte Carlo oracle).

    Complex (``real=False``, ``s_0 ∈ C^d``):
    'fixed' ``1/√d``; 'phases' ``e^{iφ_k}/√d``, ``φ_k`` i.i.d. ``U[0, 2π)``; 'signs' ``ε_k/√d``,
    ``ε_k = ±1``; 'gaussian' ``CN(0, I/d)``; 'sphere' uniform on the unit sphere of ``C^d``.
    Real (``real=True``, ``d`` even, coordinates ``2m, 2m+1`` are the 2×2 rotation block ``m``):
    'fixed' ``√(2/d)(1,0,1,0,…)`` (:func:`theory.autoregressive.default_s0`); 'phases' block ``m``
    is ``√(2/d)(cos φ_m, sin φ_m)``; 'signs' ``ε/√d``, ``ε ∈ {±1}^d``; 'gaussian' ``N(0, I/d)``;
    'sphere' uniform on ``S^{d-1}``.  Returns ``(size, d)``, complex128 or float64.
    """
    law = choice(law, "law", LAWS)
    real = validate.boolean(real, "real")
    d = even_dimension(d) if real else positive_int(d, "d")
    size = positive_int(size, "size")
    validate.memory(4 * 16 * size * d, validate.largest(size=size, d=d), f"{size:,} start tokens of dimension {d:,}")
    rng = as_rng(rng)
    if real:
        if law == "fixed":
            return np.tile(ar.default_s0(d, "orthogonal"), (size, 1))
        if law == "phases":
            phi = rng.uniform(0.0, 2 * np.pi, size=(size, d // 2))
            return np.sqrt(2.0 / d) * np.stack([np.cos(phi), np.sin(phi)], -1).reshape(size, d)
        if law == "signs":
            return rng.choice([-1.0, 1.0], size=(size, d)) / np.sqrt(d)
        x = rng.standard_normal((size, d))
        return x / np.sqrt(d) if law == "gaussian" else x / np.linalg.norm(x, axis=1, keepdims=True)
    if law == "fixed":
        return np.full((size, d), 1 / np.sqrt(d), dtype=complex)
    if law == "phases":
        return np.exp(1j * rng.uniform(0.0, 2 * np.pi, size=(size, d))) / np.sqrt(d)
    if law == "signs":
        return rng.choice([-1.0, 1.0], size=(size, d)).astype(complex) / np.sqrt(d)
    z = (rng.standard_normal((size, d)) + 1j * rng.standard_normal((size, d))) / np.sqrt(2)
    return z / np.sqrt(d) if law == "gaussian" else z / np.linalg.norm(z, axis=1, keepdims=True)


# ---------------------------------------------------------------------------
# settings and their exact moments
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Setting:
    """Tokens in ``C^d`` (field 'complex', commuting unitary contexts) or ``R^d`` (field 'real',
    2×2 rotation blocks, d even); ``s_0`` from ``law`` (:func:`sample_start_tokens`);
    the loss is the prediction of ``s_{t+1}`` at position ``t``."""

    field: str
    law: str
    d: int
    t: int

    def __post_init__(self) -> None:
        choice(self.field, "field", FIELDS)
        choice(self.law, "law", LAWS)
        positive_int(self.t, "t", maximum=validate.MAX_POSITIONS)
        if self.field == "real":
            even_dimension(self.d)
        else:
            positive_int(self.d, "d")

    @property
    def real(self) -> bool:
        return self.field == "real"

    @property
    def phases(self) -> int:
        """D: number of independent context phases."""
        return self.d // 2 if self.real else self.d

    @property
    def label(self) -> str:
        return f"{self.field} d={self.d} t={self.t} s0={self.law}"


@dataclass(frozen=True)
class Moments:
    """``M = E[Φ Φ*]`` (F, F), ``m = E[Φ s_{t+1}*]`` (F, d), ``c = E||s_{t+1}||²``; torch, float64/complex128."""

    M: torch.Tensor
    m: torch.Tensor
    c: float
    d: int
    real: bool


def _grid(n: int, count: int) -> np.ndarray:
    """All ``n^count`` phase vectors ``(2π/n)·r``: ``(n^count, count)``."""
    axes = [np.arange(n) * 2 * np.pi / n] * count
    return np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, count)


def require_setting(setting: Any) -> "Setting":
    """``setting`` if it is a :class:`Setting`."""
    if not isinstance(setting, Setting):
        raise ValueError(f"setting: expected a numerics.augmented.Setting, got {validate.short_repr(setting)}")
    return setting


def cubature_points(setting: Setting) -> float:
    """The number of weighted start tokens of :func:`start_token_cubature` (a float: ``inf`` beyond its range)."""
    return _cubature_points(require_setting(setting))


def _cubature_points(setting: Setting) -> float:
    D, real = setting.phases, setting.real
    if setting.law == "fixed" or (not real and setting.law in ("phases", "signs")):
        return 1
    if setting.law == "signs":
        return validate.float_power(2, setting.d if real else D)
    phi = validate.float_power(7, D) if real else 1.0
    return phi if setting.law == "phases" else validate.float_power(2, D) * phi


def moments_bytes(setting: Setting, batch: int = 8192) -> int:
    """Peak bytes of :func:`population_moments`: ``M (F, F)`` with ``F = (2d)³`` (three copies), for complex
    tokens the ``(F, F, d)`` charge differences and masks, the ``(P·Gθ, D)`` grid of points, and one batch
    of features ``(batch, F)`` (three copies)."""
    return _moments_bytes(require_setting(setting), positive_int(batch, "batch"))


def _moments_bytes(setting: Setting, batch: int) -> int:
    F = (2 * setting.d) ** 3
    points = validate.float_power(6 * setting.t + 1 if setting.real else 3 * setting.t + 1, setting.phases) \
        * _cubature_points(setting)
    item = 8 if setting.real else 16
    charges = 0 if setting.real else 9 * F * F * setting.d
    return 3 * item * F * F + charges + 5 * 16 * points * setting.phases + 3 * item * min(batch, points) * F


def start_token_cubature(setting: Setting) -> tuple[np.ndarray, np.ndarray]:
    """Weighted points ``(w_0 (P, D) complex, weights (P,))`` in eigen-coordinates, exact for every
    moment M, m, c needs ('sphere' returns the Gaussian rule; see :func:`population_moments`);
    refused above 2 GiB (``2^d`` sign patterns for real 'signs') before building them."""
    setting = require_setting(setting)
    validate.memory(3 * 16 * _cubature_points(setting) * setting.d, "setting",
                    f"the {_cubature_points(setting):.3g} cubature points of {setting.label}")
    D, real = setting.phases, setting.real
    if setting.law == "fixed" or (not real and setting.law in ("phases", "signs")):
        return np.full((1, D), 1 / np.sqrt(D), dtype=complex), np.ones(1)  # complex: φ by charge masks
    if setting.law == "signs":
        if real:  # ε ∈ {±1}^d: block k is (ε_2k + i ε_2k+1)/√d
            eps = np.array(list(itertools.product([-1.0, 1.0], repeat=setting.d)))
            w0 = (eps[:, 0::2] + 1j * eps[:, 1::2]) / np.sqrt(setting.d)
        else:
            w0 = np.array(list(itertools.product([-1.0, 1.0], repeat=D))).astype(complex) / np.sqrt(D)
        return w0, np.full(w0.shape[0], 1.0 / w0.shape[0])
    phi = _grid(7, D) if real else np.zeros((1, D))               # (G, D): exact, φ-degree ≤ 6
    if setting.law == "phases":
        return np.exp(1j * phi) / np.sqrt(D), np.full(phi.shape[0], 1.0 / phi.shape[0])
    nodes, weights = np.polynomial.laguerre.laggauss(2)           # ∫ e^{-u} f(u) du, exact to degree 3
    u = np.array(list(itertools.product(nodes, repeat=D)))         # |w_0[k]|² = u_k / D
    wu = np.prod(np.array(list(itertools.product(weights, repeat=D))), axis=1)
    w0 = np.sqrt(u / D)[:, None, :] * np.exp(1j * phi)[None, :, :]
    wt = wu[:, None] * np.full(phi.shape[0], 1.0 / phi.shape[0])[None, :]
    return w0.reshape(-1, D), wt.reshape(-1)


def eigen_sequences(w0: np.ndarray, theta: np.ndarray, T: int, real: bool) -> torch.Tensor:
    """``s_j``, ``j = 0..T``, from eigen-coordinates ``w_j = w_0 e^{ijθ}``: ``w0, theta (N, D)`` →
    ``(N, T+1, D)`` complex, or ``(N, T+1, 2D)`` real with ``(Re w, Im w)`` interleaved; refused above
    2 GiB before allocating."""
    w0 = validate.finite_numeric_array(w0, "w0", ndim=2)
    theta = validate.finite_numeric_array(theta, "theta", shape=w0.shape, complex_ok=False)
    T = positive_int(T, "T", minimum=0)
    real = validate.boolean(real, "real")
    validate.memory(4 * 16 * w0.shape[0] * (T + 1) * w0.shape[1], "T",
                    f"{w0.shape[0]:,} sequences of length {T + 1:,}")
    w = w0[:, None, :] * np.exp(1j * theta[:, None, :] * np.arange(T + 1)[None, :, None])
    if real:
        w = np.stack([w.real, w.imag], -1).reshape(w.shape[0], T + 1, -1)
    return torch.from_numpy(np.ascontiguousarray(w))


def check_sequences(seqs: Any, name: str) -> torch.Tensor:
    """``seqs`` if it is a finite real or complex torch tensor ``(N, T+1, d)`` with ``N, d >= 1``, ``T >= 1``."""
    if not isinstance(seqs, torch.Tensor) or not (seqs.is_floating_point() or seqs.is_complex()):
        raise ValueError(f"{name}: expected a floating-point torch tensor, got {validate.short_repr(seqs)}")
    if seqs.ndim != 3 or seqs.shape[0] < 1 or seqs.shape[1] < 2 or seqs.shape[2] < 1:
        raise ValueError(f"{name}: expected shape (N, T+1, d) with T >= 1, got {tuple(seqs.shape)}")
    if not bool(torch.isfinite(seqs).all()):
        raise ValueError(f"{name}: expected finite entries, found nan or inf")
    return seqs


def augmented_features(seqs: torch.Tensor, t: int) -> torch.Tensor:
    """``Φ[b,c,e] = Σ_{j=1..t} z_j[b] conj(z_j[c]) z_t[e]``, ``z_j = (s_j, s_{j-1})``:
    ``seqs (N, ≥t+1, d)`` finite → ``(N, (2d)³)`` with index order (b, c, e); ``t`` in ``1..len - 1``."""
    check_sequences(seqs, "seqs")
    t = positive_int(t, "t", maximum=seqs.shape[1] - 1)
    N, d = seqs.shape[0], seqs.shape[2]
    validate.memory(3 * 16 * N * (2 * d) ** 3, "seqs", f"the (2d)³ = {(2 * d) ** 3:,} features of {N:,} sequences")
    Z = torch.cat([seqs[:, 1: t + 1], seqs[:, :t]], dim=-1)       # (N, t, 2d)
    gram = torch.einsum("njb,njc->nbc", Z, Z.conj())               # (N, 2d, 2d)
    return torch.einsum("nbc,ne->nbce", gram, Z[:, t - 1]).reshape(seqs.shape[0], -1)


def population_moments(setting: Setting, batch: int = 8192) -> Moments:
    """Exact ``(M, m, c)`` of a setting (see the module docstring for why the rules are exact).

    Peak memory :func:`moments_bytes` (``M`` has ``(2d)⁶`` entries: 4 GiB at ``d = 10``), refused above
    2 GiB before anything is allocated."""
    setting = require_setting(setting)
    batch = positive_int(batch, "batch")
    validate.memory(_moments_bytes(setting, batch), "setting", f"the exact moments of {setting.label}")
    t, D, real = setting.t, setting.phases, setting.real
    theta = _grid(6 * t + 1 if real else 3 * t + 1, D)             # (Gθ, D)
    w0, ws = start_token_cubature(setting)                         # (P, D), (P,)
    theta_all = np.repeat(theta, w0.shape[0], axis=0)
    w0_all = np.tile(w0, (theta.shape[0], 1))
    weights = torch.from_numpy(np.tile(ws, theta.shape[0]) / theta.shape[0])
    F, d = (2 * setting.d) ** 3, setting.d
    dtype = torch.float64 if real else torch.complex128
    M = torch.zeros(F, F, dtype=dtype)
    m = torch.zeros(F, d, dtype=dtype)
    c = 0.0
    with single_thread():
        for start in range(0, theta_all.shape[0], batch):
            sl = slice(start, start + batch)
            seqs = eigen_sequences(w0_all[sl], theta_all[sl], t + 1, real)
            Phi, y, w = augmented_features(seqs, t), seqs[:, t + 1], weights[sl]
            Pw = Phi * w[:, None]
            M += Pw.T @ Phi.conj()
            m += Pw.T @ y.conj()
            c += float((w * (y.abs() ** 2).sum(-1)).sum())
    period = {"phases": 0, "gaussian": 0, "sphere": 0, "signs": 2}.get(setting.law)
    if not real and period is not None:
        q = feature_charges(d)                                     # (F, d)
        diff = q[:, None, :] - q[None, :, :]
        diff_y = q[:, None, :] - torch.eye(d, dtype=torch.int64)[None]
        keep = (diff == 0) if period == 0 else (diff % period == 0)
        keep_y = (diff_y == 0) if period == 0 else (diff_y % period == 0)
        M = M * keep.all(-1)
        m = m * keep_y.all(-1)
    if setting.law == "sphere":  # E||g||^{2k} for g ~ Gaussian law: rising factorial (D)_k / D^k
        rho = lambda k: float(np.prod(D + np.arange(k)) / D ** k)  # noqa: E731
        M, m, c = M / rho(3), m / rho(2), c / rho(1)
    return Moments(M, m, c, d, real)


def feature_charges(d: int) -> torch.Tensor:
    """``q(f) = e_{k_b} - e_{k_c} + e_{k_e}`` for every feature ``f = (b, c, e)`` of complex tokens,
    slot ``i`` of ``z = (s_j, s_{j-1})`` being coordinate ``i mod d``: ``(F, d)`` int64 (refused above 2 GiB)."""
    d = positive_int(d, "d")
    validate.memory(4 * 8 * (2 * d) ** 3 * d, "d", f"the charges of {(2 * d) ** 3:,} features")
    E = torch.eye(d, dtype=torch.int64).repeat(2, 1)                # (2d, d)
    q = E[:, None, None, :] - E[None, :, None, :] + E[None, None, :, :]
    return q.reshape(-1, d)


def empirical_moments(seqs: torch.Tensor, t: int) -> Moments:
    """The same moments averaged over given sequences ``seqs (N, ≥t+2, d)`` (for checks)."""
    check_sequences(seqs, "seqs")
    if seqs.shape[1] < 3:
        raise ValueError(f"seqs: expected s_0..s_(t+1) with t >= 1 (3 positions or more), got {tuple(seqs.shape)}")
    t = positive_int(t, "t", maximum=seqs.shape[1] - 2)
    F = (2 * seqs.shape[2]) ** 3
    validate.memory(2 * 16 * F * F, "seqs", f"moments of {F:,} features")
    Phi, y = augmented_features(seqs, t), seqs[:, t + 1]
    N = seqs.shape[0]
    return Moments(Phi.T @ Phi.conj() / N, Phi.T @ y.conj() / N, float((y.abs() ** 2).sum(-1).mean()),
                   seqs.shape[-1], not seqs.is_complex())


def sample_setting_sequences(setting: Setting, size: int, rng: Any = None) -> torch.Tensor:
    """Monte Carlo sequences ``s_0..s_{t+1}`` of a setting, ``(size, t+2, d)``, via the theory
    samplers (an oracle independent of the cubature)."""
    setting = require_setting(setting)
    size = positive_int(size, "size")
    validate.memory(3 * 16 * size * (setting.t + 2) * setting.d + 16 * size * setting.d ** 2, "size",
                    f"{size:,} sequences of {setting.label}")
    rng = as_rng(rng)
    s0 = sample_start_tokens(setting.law, setting.d, size, rng, real=setting.real)
    if setting.real:
        W, _ = ar.commuting_orthogonal_contexts(setting.d, size, rng)
    else:
        W, _ = ar.commuting_unitary_contexts(setting.d, size, rng)
    return torch.from_numpy(ar.sequences(W, s0, setting.t + 1))


# ---------------------------------------------------------------------------
# predictors as effective tensors, and their population loss
# ---------------------------------------------------------------------------

def check_matrix(M: Any, name: str, shape: tuple | None = None) -> torch.Tensor:
    """``M`` if it is a finite real or complex 2-d torch tensor (of ``shape`` if given); autograd flows on."""
    if not isinstance(M, torch.Tensor) or not (M.is_floating_point() or M.is_complex()) or M.ndim != 2 \
            or M.shape[0] < 1:
        raise ValueError(f"{name}: expected a 2-d floating-point torch tensor, got {validate.short_repr(M)}")
    if shape is not None and tuple(M.shape) != tuple(shape):
        raise ValueError(f"{name}: expected shape {tuple(shape)}, got {tuple(M.shape)}")
    if not bool(torch.isfinite(M.detach()).all()):
        raise ValueError(f"{name}: expected finite entries, found nan or inf")
    return M


def attention_tensor(V: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    """``T[a, (b,c,e)] = V'[a,b] A[c,e]``: ``V' (d, 2d)``, ``A (2d, 2d)`` → ``(d, (2d)³)``."""
    check_matrix(V, "V")
    d = V.shape[0]
    check_matrix(V, "V", (d, 2 * d))
    check_matrix(A, "A", (2 * d, 2 * d))
    validate.memory(16 * d * (2 * d) ** 3, "V", f"an effective tensor ({d:,}, {(2 * d) ** 3:,})")
    return (V[:, :, None, None] * A[None, None, :, :]).reshape(V.shape[0], -1)


def model_tensor(Q: torch.Tensor, K: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
    """Effective tensor of the layer with full ``Q, K, V`` (3d, 3d): ``V' = V[:d, d:]``, ``A = (K* Q)[d:, d:]``."""
    check_matrix(Q, "Q")
    if Q.shape[0] % 3 or Q.shape[0] != Q.shape[1]:
        raise ValueError(f"Q: expected a (3d, 3d) matrix, got shape {tuple(Q.shape)}")
    check_matrix(K, "K", tuple(Q.shape))
    check_matrix(V, "V", tuple(Q.shape))
    d = Q.shape[0] // 3
    return attention_tensor(V[:d, d:], (K.conj().T @ Q)[d:, d:])


def require_moments(mom: Any) -> Moments:
    """``mom`` if it is a :class:`Moments`."""
    if not isinstance(mom, Moments):
        raise ValueError(f"mom: expected a numerics.augmented.Moments, got {validate.short_repr(mom)}")
    return mom


def tensor_loss(T: torch.Tensor, mom: Moments) -> torch.Tensor:
    """``L(T) = Re tr(T M T*) - 2 Re tr(T m) + c`` (a float64 scalar tensor)."""
    mom = require_moments(mom)
    check_matrix(T, "T", (mom.d, mom.M.shape[0]))
    if T.dtype != mom.M.dtype:
        raise ValueError(f"T: expected dtype {mom.M.dtype} (that of the moments), got {T.dtype}")
    quad = (T @ mom.M * T.conj()).sum()
    cross = (T * mom.m.T).sum()
    return quad.real - 2 * cross.real + mom.c


def preconditioned_tensor(B: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    """Tensor of ``B G_t A s_t`` (``B, A (d, d)``): ``V' = [B, 0]``, ``A``-block s_{j-1} × s_t."""
    check_matrix(B, "B")
    d = B.shape[0]
    check_matrix(B, "B", (d, d))
    check_matrix(A, "A", (d, d))
    Vp = torch.cat([B, torch.zeros_like(B)], dim=1)
    Ab = torch.zeros(2 * d, 2 * d, dtype=A.dtype)
    Ab[d:, :d] = A
    return attention_tensor(Vp, Ab)


def one_step_gd_optimum(mom: Moments) -> tuple[float, float]:
    """``(η*, L*)`` of ``E||η G_t s_t - s_{t+1}||² = a η² - 2 b η + c`` in exactly this setting:
    ``a = E||G_t s_t||²``, ``b = E Re<G_t s_t, s_{t+1}>``, ``η* = b/a``, ``L* = c - b²/a``."""
    mom = require_moments(mom)
    dtype = mom.M.dtype
    I = torch.eye(mom.d, dtype=dtype)
    T1 = preconditioned_tensor(I, I)
    a = float((T1 @ mom.M * T1.conj()).sum().real)
    b = float((T1 * mom.m.T).sum().real)
    if not a > 0:
        raise ValueError(f"mom: E||G_t s_t||² = {a:g}; the best step η* = b/a needs a positive one")
    return b / a, mom.c - b * b / a


def linear_predictor_bound(mom: Moments) -> float:
    """``min_T L(T) = c - Re tr(m* M⁺ m)``: the best predictor linear in the features Φ (no
    rank-one structure); a lower bound for every layer of this class."""
    mom = require_moments(mom)
    evals, U = torch.linalg.eigh(mom.M)
    keep = evals > evals.max() * 1e-12
    proj = U[:, keep].conj().T @ mom.m
    return float(mom.c - ((proj.abs() ** 2).sum(-1) / evals[keep]).sum())


# ---------------------------------------------------------------------------
# optimisation over parametrisations
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class PreconditionedFit:
    """The best preconditioned one-step predictor ``B G_t A s_t`` found: its loss and ``B, A (d, d)``."""

    loss: float
    B: torch.Tensor
    A: torch.Tensor


@dataclass(frozen=True)
class ModelClassFit:
    """The best loss of the layer class ``V' ⊗ A`` over restarts, and every restart's loss."""

    loss: float
    losses: list[float]


@dataclass(frozen=True)
class AttentionTraining:
    """Adam on the full ``Q, K, V``: the final exact loss, the loss before each step ``(steps,)``, the model."""

    loss: float
    history: np.ndarray
    model: torch.nn.Module


@dataclass(frozen=True)
class CriticalPoint:
    """The full parameter loss at the GD construction: value, gradient norm, extreme Hessian eigenvalues,
    and the loss drop along the eigen-direction of the smallest one (a saddle when it is > 0)."""

    loss: float
    gradient_norm: float
    min_hessian_eigenvalue: float
    max_hessian_eigenvalue: float
    loss_drop_along_min_direction: float


def _split(x: torch.Tensor, shapes: list[tuple[int, int]], real: bool) -> list[torch.Tensor]:
    """Flat real vector → matrices (complex ones take real and imaginary halves)."""
    out, i = [], 0
    for r, c in shapes:
        n = r * c
        if real:
            out.append(x[i: i + n].reshape(r, c))
            i += n
        else:
            out.append(torch.complex(x[i: i + n], x[i + n: i + 2 * n]).reshape(r, c))
            i += 2 * n
    return out


def flat_size(shapes: list[tuple[int, int]], real: bool) -> int:
    """The number of real parameters of matrices of ``shapes`` ``[(rows, cols), ...]`` (twice as many when
    complex, ``real=False``)."""
    if isinstance(shapes, (str, bytes)) or not isinstance(shapes, (list, tuple)) or not all(
            isinstance(rc, tuple) and len(rc) == 2 for rc in shapes):
        raise ValueError(f"shapes: expected a list of (rows, cols) pairs, got {validate.short_repr(shapes)}")
    shapes = [(positive_int(r, f"shapes[{k}]", maximum=validate.MAX_INT64),
               positive_int(c, f"shapes[{k}]", maximum=validate.MAX_INT64)) for k, (r, c) in enumerate(shapes)]
    return sum(r * c for r, c in shapes) * (1 if validate.boolean(real, "real") else 2)


def best_preconditioned(mom: Moments, restarts: int = 3, rng: Any = None, iters: int = 300) -> PreconditionedFit:
    """``min_{B, A} E||B G_t A s_t - s_{t+1}||²`` (``B, A (d, d)`` in the token field) by L-BFGS
    from ``(η* I, I)`` and ``restarts`` random starts; returns the best loss and ``(B, A)``."""
    mom = require_moments(mom)
    restarts = positive_int(restarts, "restarts", minimum=0)
    iters = positive_int(iters, "iters")
    rng = as_rng(rng)
    d, real = mom.d, mom.real
    shapes = [(d, d), (d, d)]
    f = lambda x: tensor_loss(preconditioned_tensor(*_split(x, shapes, real)), mom)  # noqa: E731
    eta, _ = one_step_gd_optimum(mom)
    start = torch.cat([eta * torch.eye(d).reshape(-1), torch.eye(d).reshape(-1)]).double()
    if not real:
        start = torch.cat([eta * torch.eye(d).reshape(-1), torch.zeros(d * d),
                           torch.eye(d).reshape(-1), torch.zeros(d * d)]).double()
    starts = [start] + [torch.from_numpy(0.5 * rng.standard_normal(flat_size(shapes, real))) for _ in range(restarts)]
    best = min((lbfgs_minimum(f, x0, iters) for x0 in starts), key=lambda r: r[0])
    B, A = _split(best[1], shapes, real)
    return PreconditionedFit(best[0], B, A)


def best_in_model_class(mom: Moments, restarts: int = 3, rng: Any = None, iters: int = 500) -> ModelClassFit:
    """``min_{V', A} L(V' ⊗ A)`` by multi-start L-BFGS: the best loss a one-layer augmented
    layer can reach (every ``A`` is some ``K* Q``)."""
    mom = require_moments(mom)
    restarts = positive_int(restarts, "restarts")
    iters = positive_int(iters, "iters")
    rng = as_rng(rng)
    d, real = mom.d, mom.real
    shapes = [(d, 2 * d), (2 * d, 2 * d)]
    f = lambda x: tensor_loss(attention_tensor(*_split(x, shapes, real)), mom)  # noqa: E731
    runs = [lbfgs_minimum(f, torch.from_numpy(0.5 * rng.standard_normal(flat_size(shapes, real))), iters)
            for _ in range(restarts)]
    best = min(runs, key=lambda r: r[0])
    return ModelClassFit(best[0], [r[0] for r in runs])


def train_full_attention(mom: Moments, steps: int = 1500, lr: float = 2e-2, seed: int = 0,
                         init_scale: float = 1e-2) -> AttentionTraining:
    """Adam (cosine schedule) on the full ``Q, K, V`` (3d × 3d, real or complex) of the augmented
    layer from a small random initialisation, on the exact population loss; returns the final
    exact loss (float64), the loss history and the model.  Raises
    :class:`numerics.runtime.TrainingDiverged` naming the step and ``lr`` as soon as the loss or a
    parameter is not finite."""
    mom = require_moments(mom)
    steps = positive_int(steps, "steps")
    lr = finite_float(lr, "lr", positive=True)
    seed = validate.seed(seed)
    validate.memory(8 * steps, "steps", f"the loss history of {steps:,} steps")
    gen = torch.Generator().manual_seed(seed)
    cls = AugmentedLinearAttention if mom.real else ComplexAugmentedLinearAttention
    model = cls(mom.d, init_scale=init_scale, generator=gen)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    history = np.zeros(steps)
    advice = f"lower the learning rate (lr = {lr:g})"
    with single_thread():
        for step in range(steps):
            loss = tensor_loss(model_tensor(model.Q, model.K, model.V), mom)
            require_finite(loss.item(), step + 1, "Adam", advice=advice)
            opt.zero_grad()
            loss.backward()
            for p in model.parameters():  # Adam views complex gradients as real: no lazy conjugates
                p.grad = p.grad.resolve_conj()
            opt.step()
            sched.step()
            history[step] = loss.item()
            require_parameters_finite(model, step + 1, "Adam", lr)
        final = float(tensor_loss(model_tensor(model.Q, model.K, model.V), mom).detach())
    return AttentionTraining(final, history, model)


# ---------------------------------------------------------------------------
# the GD construction as a point of the full parameter space
# ---------------------------------------------------------------------------

def full_parameter_loss(mom: Moments) -> Callable[[torch.Tensor], torch.Tensor]:
    """``x ↦ L(Q, K, V)`` on the flat real vector of the full parameters (real and imaginary
    parts for complex tokens), length ``3 (3d)²`` (real) or ``6 (3d)²`` (complex)."""
    mom = require_moments(mom)
    D = 3 * mom.d
    shapes = [(D, D)] * 3
    return lambda x: tensor_loss(model_tensor(*_split(x, shapes, mom.real)), mom)


def gd_construction_point(mom: Moments, eta: float) -> torch.Tensor:
    """The flat parameters of :func:`model.autoregressive.gd_step_weights` ``(d, η)``."""
    mom = require_moments(mom)
    Q, K, V = gd_step_weights(mom.d, eta)
    parts = [Q.reshape(-1), K.reshape(-1), V.reshape(-1)]
    if mom.real:
        return torch.cat(parts)
    return torch.cat([torch.cat([p, torch.zeros_like(p)]) for p in parts])


def gradient_and_hessian(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Autograd gradient ``(n,)`` and Hessian ``(n, n)`` of a scalar ``f`` at ``x`` (float64); the Hessian
    (``8 n²`` bytes, several copies while vectorised) is refused above 2 GiB."""
    if not callable(f):
        raise ValueError(f"f: expected a callable of a flat tensor, got {validate.short_repr(f)}")
    if not isinstance(x, torch.Tensor) or x.ndim != 1 or x.numel() < 1 or not x.is_floating_point() \
            or not bool(torch.isfinite(x.detach()).all()):
        raise ValueError(f"x: expected a finite 1-d floating-point tensor, got {validate.short_repr(x)}")
    validate.memory(4 * 8 * x.numel() ** 2, "x", f"the Hessian of {x.numel():,} parameters")
    with single_thread():
        x = x.detach().clone().requires_grad_(True)
        grad = torch.autograd.grad(f(x), x)[0]
        H = torch.autograd.functional.hessian(f, x.detach(), vectorize=True)
    return grad.numpy(), H.numpy()


def critical_point_analysis(mom: Moments, eta: float) -> CriticalPoint:
    """At the GD construction with step ``η``: loss, gradient norm, extreme Hessian eigenvalues,
    and the loss drop along the most negative eigen-direction (a saddle when it is > 0)."""
    eta = finite_float(eta, "eta")
    f = full_parameter_loss(mom)
    x = gd_construction_point(mom, eta)
    grad, H = gradient_and_hessian(f, x)
    evals, evecs = np.linalg.eigh(0.5 * (H + H.T))
    v = torch.from_numpy(evecs[:, 0])
    with torch.no_grad():
        L0 = float(f(x))
        drop = max(L0 - float(f(x + s * v)) for s in (1e-2, -1e-2, 5e-2, -5e-2))
    return CriticalPoint(L0, float(np.linalg.norm(grad)), float(evals[0]), float(evals[-1]), drop)


def map_setting(setting: Setting, restarts: int = 3, steps: int = 1500, lr: float = 2e-2, seed: int = 0,
                hessian: bool = True, model_class: bool = False) -> dict[str, Any]:
    """One row of the map: ``L*`` (one GD step, this setting), trained loss over ``restarts``
    seeds (mean, standard error across seeds, min, max), best preconditioned ``B G_t A s_t``,
    linear-predictor bound, optionally the best of the model class and the critical-point data."""
    setting = require_setting(setting)
    restarts = positive_int(restarts, "restarts")
    hessian = validate.boolean(hessian, "hessian")
    model_class = validate.boolean(model_class, "model_class")
    mom = population_moments(setting)
    eta, L_star = one_step_gd_optimum(mom)
    trained = np.array([train_full_attention(mom, steps, lr, seed + r).loss for r in range(restarts)])
    pre = best_preconditioned(mom, restarts=2, rng=seed)
    row = {"setting": setting.label, "field": setting.field, "law": setting.law, "d": setting.d, "t": setting.t,
           "eta_star": eta, "L_star": L_star, "trained_mean": float(trained.mean()),
           "trained_se": float(trained.std(ddof=1) / np.sqrt(restarts)) if restarts > 1 else 0.0,
           "trained_min": float(trained.min()), "trained_max": float(trained.max()),
           "trained_losses": trained.tolist(), "preconditioned": pre.loss,
           "linear_bound": linear_predictor_bound(mom)}
    if model_class:
        row["model_class_best"] = best_in_model_class(mom, restarts=3, rng=seed).loss
    if hessian:
        row.update({f"construction_{k}": v for k, v in asdict(critical_point_analysis(mom, eta)).items()})
    return row
