"""The models of spec 2 (in-context autoregressive learning), in torch, float64.

Augmented tokens (section 2), one causal linear-attention layer, full Q, K, V:

    e_t   = (0_d, s_t, s_{t-1}) ∈ R^{3d},                t = 1..T
    out_t = Σ_{j<=t} (e_jᵀ Kᵀ Q e_t) · V e_j   (optionally / t)
    ŝ_{t+1} = out_t[:d]

The augmented model is real: it is trained on real sequences (commuting
orthogonal contexts, i.e. 2×2 rotation blocks — the realification of the
commuting unitary family — or Haar orthogonal ones).  A single real head cannot
multiply by the complex score ``s_{j-1}* s_t``, which is why complex unitary
contexts are not fed to it; their one-step-GD predictor is computed directly.

Raw tokens (section 3), H diagonal heads in the eigenbasis, positional weights p:

    ŝ_{n+1}[k] = Σ_h b_h[k] Σ_{j=0..n} p_j (Σ_l a_h[l] conj(x_{n-1}[l]) x_j[l]) x_j[k]

on complex eigen-coordinates ``x_j`` (complex128 inputs, real float64 weights).
For real orthogonal contexts the same model runs on the complex eigen-coordinates
of the rotation blocks (conjugate pairs).  The heads enter only through
``C = Σ_h b_h a_hᵀ``: :func:`raw_token_prediction` is the forward pass in ``(C, p)``,
:class:`RawTokenMultiHead` the one in heads, :class:`PositionalOnly` the one with fixed
``C`` and a positional matrix over all query positions.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn

from theory import validate
from theory.validate import positive_int

__all__ = ["check_tensor", "init_scale_of", "augmented_tokens", "gd_step_weights",
           "AugmentedLinearAttention", "raw_token_prediction", "RawTokenMultiHead", "PositionalOnly",
           "ComplexAugmentedLinearAttention"]


def check_tensor(x: Any, name: str, shape: tuple, *, complex_ok: bool = True, min_length: int = 1) -> None:
    """Refuse (``ValueError`` naming ``name``) anything but a finite floating (or complex) torch tensor
    of ``shape``: ``None`` entries are free sizes, and axis 1 needs at least ``min_length`` entries.
    Reading every entry is the price of a NaN refused at the door instead of a NaN prediction."""
    if not isinstance(x, torch.Tensor) or not (x.is_floating_point() or (complex_ok and x.is_complex())):
        kind = "a real or complex" if complex_ok else "a real"
        raise ValueError(f"{name}: expected {kind} floating-point torch tensor, got "
                         f"{getattr(x, 'dtype', type(x).__name__)}")
    want = "(" + ", ".join("·" if n is None else str(n) for n in shape) + ")"
    if x.ndim != len(shape) or any(n is not None and m != n for m, n in zip(x.shape, shape)) \
            or x.shape[0] < 1 or (x.ndim > 1 and x.shape[1] < min_length):
        raise ValueError(f"{name}: expected shape {want} (axis 1 of length >= {min_length}), got {tuple(x.shape)}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name}: expected finite entries, found nan or inf")


def init_scale_of(value: Any) -> float:
    """``init_scale`` as a finite number ``>= 0`` (the standard deviation of the initial weights)."""
    return validate.finite_float(value, "init_scale", nonnegative=True)


def augmented_tokens(seqs: torch.Tensor) -> torch.Tensor:
    """seqs (B, T+1, d) = s_0..s_T  ->  E (B, T, 3d) with rows e_t = (0, s_t, s_{t-1}), t = 1..T."""
    check_tensor(seqs, "seqs", (None, None, None), min_length=2)
    zeros = torch.zeros_like(seqs[:, 1:])
    return torch.cat([zeros, seqs[:, 1:], seqs[:, :-1]], dim=-1)


def gd_step_weights(d: int, eta: float, dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, ...]:
    """Q, K, V (each (3d, 3d)) making the output η G_t s_t (claim 1).

    Q e_t = (s_t, 0, 0) and K e_j = (s_{j-1}, 0, 0), so the score is s_{j-1}ᵀ s_t;
    V e_j = (η s_j, 0, 0), so out_t[:d] = η Σ_{j<=t} s_j s_{j-1}ᵀ s_t = η G_t s_t.
    ``η`` finite; the three matrices take ``3 (3d)²`` numbers, refused above 2 GiB.
    """
    d = positive_int(d, "d")
    if isinstance(eta, torch.Tensor):  # a 0-d tensor keeps autograd through V
        if eta.numel() != 1 or eta.is_complex() or not bool(torch.isfinite(eta).all()):
            raise ValueError(f"eta: expected one finite real step, got a tensor of shape {tuple(eta.shape)}")
    else:
        validate.finite_float(eta, "eta")
    validate.memory(3 * 16 * (3 * d) ** 2, "d", f"three ({3 * d:,}, {3 * d:,}) matrices")
    I = torch.eye(d, dtype=dtype)
    Q = torch.zeros(3 * d, 3 * d, dtype=dtype)
    K = torch.zeros_like(Q)
    V = torch.zeros_like(Q)
    Q[:d, d:2 * d] = I
    K[:d, 2 * d:] = I
    V[:d, d:2 * d] = eta * I
    return Q, K, V


class AugmentedLinearAttention(nn.Module):
    """One causal linear-attention layer on augmented tokens, full Q, K, V (3d × 3d)."""

    def __init__(self, d: int, init_scale: float = 1e-2, normalize: bool = False,
                 generator: torch.Generator | None = None, dtype: torch.dtype = torch.float64):
        super().__init__()
        self.d = positive_int(d, "d")
        init_scale = init_scale_of(init_scale)
        self.normalize = validate.boolean(normalize, "normalize")
        if dtype not in (torch.float64, torch.float32):
            raise ValueError(f"dtype: expected torch.float64 or torch.float32, got {dtype!r}")
        validate.memory(3 * 8 * (3 * d) ** 2, "d", f"three ({3 * d:,}, {3 * d:,}) weight matrices")
        D = 3 * d

        def init():
            return nn.Parameter(init_scale * torch.randn(D, D, generator=generator, dtype=dtype))

        self.Q, self.K, self.V = init(), init(), init()

    @classmethod
    def from_gd_step(cls, d: int, eta: float, normalize: bool = False) -> "AugmentedLinearAttention":
        model = cls(d, init_scale=0.0, normalize=normalize)
        with torch.no_grad():
            for param, value in zip((model.Q, model.K, model.V), gd_step_weights(d, eta)):
                param.copy_(value)
        return model

    def forward(self, seqs: torch.Tensor) -> torch.Tensor:
        """seqs (B, T+1, d) real, finite -> predictions (B, T, d); row t-1 predicts s_{t+1}."""
        check_tensor(seqs, "seqs", (None, None, self.d), complex_ok=False, min_length=2)
        if seqs.dtype != self.Q.dtype:
            raise ValueError(f"seqs: expected dtype {self.Q.dtype} (the layer's), got {seqs.dtype}")
        E = augmented_tokens(seqs)                   # (B, T, 3d)
        q = E @ self.Q.T                             # (B, T, 3d)  Q e_t
        k = E @ self.K.T                             # (B, T, 3d)  K e_j
        v = E @ self.V.T                             # (B, T, 3d)  V e_j
        T = E.shape[1]
        scores = q @ k.transpose(1, 2)               # (B, T, T)  [t, j] = e_jᵀ Kᵀ Q e_t
        scores = scores * torch.tril(torch.ones(T, T, dtype=seqs.dtype, device=seqs.device))
        if self.normalize:
            scores = scores / torch.arange(1, T + 1, dtype=seqs.dtype, device=seqs.device)[:, None]
        out = scores @ v                             # (B, T, 3d)
        return out[..., : self.d]


def raw_token_prediction(C: torch.Tensor, p: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """The raw-token forward pass in ``(C, p)``, query ``x_{n-1}``, keys ``x_0..x_n`` (``n = len(p) - 1``):

        ŝ_{n+1}[k] = Σ_{j=0..n} p_j (Σ_l C_kl conj(x_{n-1}[l]) x_j[l]) x_j[k]

    C (d, d) and p (n+1,) real (autograd flows to both), X (N, >=n+1, d) complex -> (N, d) complex.
    """
    check_tensor(C, "C", (None, None), complex_ok=False)
    d = C.shape[0]
    check_tensor(C, "C", (d, d), complex_ok=False)
    check_tensor(p, "p", (None,), complex_ok=False)
    if p.shape[0] < 2:
        raise ValueError(f"p: expected positional weights p_0..p_n with n >= 1, got shape {tuple(p.shape)}")
    check_tensor(X, "X", (None, None, d), min_length=p.shape[0])
    n = p.shape[0] - 1
    keys = X[:, : n + 1]                                               # (N, n+1, d)
    query = X[:, n - 1].conj()                                         # (N, d)   conj(x_{n-1})
    scores = torch.einsum("kl,nl,njl->njk", C.to(X.dtype), query, keys)  # (N, n+1, d)
    return torch.einsum("j,njk,njk->nk", p.to(X.dtype), scores, keys)    # (N, d)


class RawTokenMultiHead(nn.Module):
    """H diagonal linear heads with positional weights; predicts s_{n+1} from s_0..s_n.

    Parameters: A (H, d) rows a_h, B (H, d) rows b_h, p (n+1,).  C = Σ_h b_h a_hᵀ = Bᵀ A;
    the output is :func:`raw_token_prediction` ``(C, p, X)`` (summed head by head here).
    """

    def __init__(self, d: int, H: int, n: int, init_scale: float = 1e-2,
                 generator: torch.Generator | None = None, dtype: torch.dtype = torch.float64):
        super().__init__()
        self.d, self.H, self.n = positive_int(d, "d"), positive_int(H, "H"), positive_int(n, "n")
        init_scale = init_scale_of(init_scale)
        if dtype not in (torch.float64, torch.float32):
            raise ValueError(f"dtype: expected torch.float64 or torch.float32, got {dtype!r}")
        validate.memory(8 * (2 * H * d + n + 1), validate.largest(H=H, d=d, n=n),
                        f"heads of size {H:,} × {d:,} and {n + 1:,} positional weights")
        self.A = nn.Parameter(init_scale * torch.randn(H, d, generator=generator, dtype=dtype))
        self.B = nn.Parameter(init_scale * torch.randn(H, d, generator=generator, dtype=dtype))
        self.p = nn.Parameter(init_scale * torch.randn(n + 1, generator=generator, dtype=dtype))

    def C(self) -> torch.Tensor:
        """(d, d) = Σ_h b_h a_hᵀ."""
        return self.B.T @ self.A

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """X (N, n+1, d) complex eigen-coordinates x_0..x_n -> ŝ_{n+1} (N, d) complex."""
        check_tensor(X, "X", (None, self.n + 1, self.d))
        query = X[:, self.n - 1].conj()                               # (N, d)   conj(x_{n-1})
        A, B, p = (w.to(X.dtype) for w in (self.A, self.B, self.p))
        scores = torch.einsum("hl,nl,njl->nhj", A, query, X)          # (N, H, n+1)
        weighted = scores * p                                         # (N, H, n+1)
        return torch.einsum("hk,nhj,njk->nk", B, weighted, X)         # (N, d)


class PositionalOnly(nn.Module):
    """Fixed heads C (d, d), learned positional matrix P (T, T+1), lower triangular:
    row n (n = 1..T) predicts s_{n+1} from keys s_0..s_n with query s_{n-1}:

        ŝ_{n+1}[k] = Σ_l C_kl Σ_{j<=n} P[n-1, j] conj(x_{n-1}[l]) x_j[l] x_j[k]
    """

    def __init__(self, C: torch.Tensor, T: int, dtype: torch.dtype = torch.float64):
        super().__init__()
        self.T = positive_int(T, "T")
        if dtype not in (torch.float64, torch.float32):
            raise ValueError(f"dtype: expected torch.float64 or torch.float32, got {dtype!r}")
        validate.square_matrix(C.detach().cpu().numpy() if isinstance(C, torch.Tensor) else C, "C")
        validate.memory(3 * 8 * T * (T + 1), "T", f"a positional matrix ({T:,}, {T + 1:,})")
        self.register_buffer("Cmat", torch.as_tensor(C, dtype=dtype))
        self.P = nn.Parameter(torch.zeros(T, T + 1, dtype=dtype))
        mask = torch.tril(torch.ones(T, T + 1, dtype=torch.bool), diagonal=1)  # j <= n = row + 1
        self.register_buffer("mask", mask)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """X (N, T+2, d) complex x_0..x_{T+1} -> predictions of x_2..x_{T+1}, (N, T, d)."""
        check_tensor(X, "X", (None, None, self.Cmat.shape[0]), min_length=self.T + 1)
        keys = X[:, : self.T + 1]                                     # (N, T+1, d)
        queries = X[:, : self.T].conj()                               # (N, T, d)   x_{n-1}, n = 1..T
        C = self.Cmat.to(X.dtype)
        P = (self.P * self.mask).to(X.dtype)                          # (T, T+1)
        # sum over keys first, one matmul: Z[n, l, k] = Σ_j P[n, j] x_j[l] x_j[k]
        pairs = keys[:, :, :, None] * keys[:, :, None, :]             # (N, T+1, d, d)
        Z = torch.einsum("nj,bjlk->bnlk", P, pairs)                   # (N, T, d, d)
        return torch.einsum("kl,bnl,bnlk->bnk", C, queries, Z)        # (N, T, d)


class ComplexAugmentedLinearAttention(nn.Module):
    """The augmented layer of section 2 on complex tokens, complex Q, K, V (3d × 3d, complex128):

        e_t   = (0_d, s_t, s_{t-1}) ∈ C^{3d}
        out_t = Σ_{j<=t} ((K e_j)* (Q e_t)) · V e_j        (Hermitian score, optionally / t)
        ŝ_{t+1} = out_t[:d]

    With real Q, K, V of :func:`gd_step_weights` the score is s_{j-1}* s_t and the output is
    η G_t s_t with G_t = Σ_j s_j s_{j-1}* (the paper's one GD step in C^d).  In realified
    coordinates the complex score splits into Re and Im parts, so this layer is a real layer
    with two tied heads (Q_R, K_R, V_R) and ((-iQ)_R, K_R, (iV)_R), not the one-head real layer.
    """

    def __init__(self, d: int, init_scale: float = 1e-2, normalize: bool = False,
                 generator: torch.Generator | None = None):
        super().__init__()
        self.d = positive_int(d, "d")
        init_scale = init_scale_of(init_scale)
        self.normalize = validate.boolean(normalize, "normalize")
        validate.memory(3 * 16 * (3 * d) ** 2, "d", f"three complex ({3 * d:,}, {3 * d:,}) weight matrices")
        D = 3 * d

        def init():  # circular complex Gaussian entries of variance init_scale²
            re = torch.randn(D, D, generator=generator, dtype=torch.float64)
            im = torch.randn(D, D, generator=generator, dtype=torch.float64)
            return nn.Parameter(init_scale * torch.complex(re, im) / 2 ** 0.5)

        self.Q, self.K, self.V = init(), init(), init()

    @classmethod
    def from_gd_step(cls, d: int, eta: float, normalize: bool = False) -> "ComplexAugmentedLinearAttention":
        model = cls(d, init_scale=0.0, normalize=normalize)
        with torch.no_grad():
            for param, value in zip((model.Q, model.K, model.V), gd_step_weights(d, eta)):
                param.copy_(value.to(torch.complex128))
        return model

    def forward(self, seqs: torch.Tensor) -> torch.Tensor:
        """seqs (B, T+1, d) complex, finite -> predictions (B, T, d); row t-1 predicts s_{t+1}."""
        check_tensor(seqs, "seqs", (None, None, self.d), min_length=2)
        E = augmented_tokens(seqs.to(torch.complex128))  # (B, T, 3d)
        q = E @ self.Q.T                             # (B, T, 3d)  Q e_t
        k = E @ self.K.T                             # (B, T, 3d)  K e_j
        v = E @ self.V.T                             # (B, T, 3d)  V e_j
        T = E.shape[1]
        scores = k.conj() @ q.transpose(1, 2)        # (B, T, T)  [j, t] = (K e_j)* Q e_t
        scores = scores.transpose(1, 2) * torch.tril(torch.ones(T, T, dtype=torch.float64))  # [t, j]
        if self.normalize:
            scores = scores / torch.arange(1, T + 1, dtype=torch.float64)[:, None]
        out = scores @ v                             # (B, T, 3d)
        return out[..., : self.d]
