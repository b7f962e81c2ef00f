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

import torch
import torch.nn as nn

from theory.validate import positive_int


def augmented_tokens(seqs: torch.Tensor) -> torch.Tensor:
    """seqs (B, T+1, d) = s_0..s_T  ->  E (B, T, 3d) with rows e_t = (0, s_t, s_{t-1}), t = 1..T."""
    zeros = torch.zeros_like(seqs[:, 1:])
    return torch.cat([zeros, seqs[:, 1:], seqs[:, :-1]], dim=-1)


def gd_step_weights(d: int, eta: float, dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, ...]:
    """Q, K, V (each (3d, 3d)) making the output η G_t s_t (claim 1).

    Q e_t = (s_t, 0, 0) and K e_j = (s_{j-1}, 0, 0), so the score is s_{j-1}ᵀ s_t;
    V e_j = (η s_j, 0, 0), so out_t[:d] = η Σ_{j<=t} s_j s_{j-1}ᵀ s_t = η G_t s_t.
    """
    d = positive_int(d, "d")
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
        self.normalize = normalize
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
        """seqs (B, T+1, d) real -> predictions (B, T, d); row t-1 predicts s_{t+1}."""
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
        self.A = nn.Parameter(init_scale * torch.randn(H, d, generator=generator, dtype=dtype))
        self.B = nn.Parameter(init_scale * torch.randn(H, d, generator=generator, dtype=dtype))
        self.p = nn.Parameter(init_scale * torch.randn(n + 1, generator=generator, dtype=dtype))

    def C(self) -> torch.Tensor:
        """(d, d) = Σ_h b_h a_hᵀ."""
        return self.B.T @ self.A

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """X (N, n+1, d) complex eigen-coordinates x_0..x_n -> ŝ_{n+1} (N, d) complex."""
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
        self.register_buffer("Cmat", torch.as_tensor(C, dtype=dtype))
        self.P = nn.Parameter(torch.zeros(T, T + 1, dtype=dtype))
        mask = torch.tril(torch.ones(T, T + 1, dtype=torch.bool), diagonal=1)  # j <= n = row + 1
        self.register_buffer("mask", mask)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """X (N, T+2, d) complex x_0..x_{T+1} -> predictions of x_2..x_{T+1}, (N, T, d)."""
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
        self.normalize = normalize
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
        """seqs (B, T+1, d) complex -> predictions (B, T, d); row t-1 predicts s_{t+1}."""
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
