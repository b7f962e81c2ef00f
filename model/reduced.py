"""The reduced two-layer transformer of spec 1, section 3 (the theory's object).

    layer 1, every position i:  a_i = softmax_{j<=i}(A1[i, j]),  h_i = Σ_{j<=i} a_ij e_{x_j}
    layer 2, at the query:      ℓ_i = e_{x_n}ᵀ A2 h_i (i = 0..n),  b = softmax(ℓ)
    output:                     ŷ = Σ_i b_i e_{x_i}   (a point of the simplex)

Initialisation ``A1 = 0``, ``A2 = β·I_S``.  Float64 by default.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from theory import validate
from theory.validate import positive_int

__all__ = ["MAX_PARAMETER_BYTES", "check_token_shape", "check_tokens", "ReducedTransformer"]

# Parameter memory refused above this many bytes (2 GiB) unless ``max_bytes`` says otherwise.
MAX_PARAMETER_BYTES = 2 * 2 ** 30


def check_token_shape(tokens: torch.Tensor, T: int) -> None:
    """Refuse (``ValueError`` naming ``tokens``) anything but a ``(B, T)`` integer tensor; reads no entry,
    so it costs no device synchronisation (the fast training paths call it every step)."""
    if not isinstance(tokens, torch.Tensor) or tokens.dtype not in (torch.int64, torch.int32, torch.int16,
                                                                      torch.int8, torch.uint8):
        raise ValueError(f"tokens: expected an integer torch tensor, got {getattr(tokens, 'dtype', type(tokens).__name__)}")
    if tokens.ndim != 2 or tokens.shape[1] != T or tokens.shape[0] < 1:
        raise ValueError(f"tokens: expected shape (B, {T}) with B >= 1, got {tuple(tokens.shape)}")


def check_tokens(tokens: torch.Tensor, S: int, T: int) -> None:
    """Refuse (``ValueError`` naming ``tokens``) anything but a ``(B, T)`` integer tensor with entries in ``0..S-1``."""
    check_token_shape(tokens, T)
    if int(tokens.min()) < 0 or int(tokens.max()) >= S:
        raise ValueError(f"tokens: expected entries in 0..{S - 1}, got {int(tokens.min())}..{int(tokens.max())}")


class ReducedTransformer(nn.Module):
    def __init__(self, S: int, T: int, beta: float = 1e-3, dtype: torch.dtype = torch.float64,
                 max_bytes: int = MAX_PARAMETER_BYTES):
        super().__init__()
        S, T = positive_int(S, "S", minimum=2), positive_int(T, "T", minimum=2)  # T: context plus query
        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not math.isfinite(beta):
            raise ValueError(f"beta: expected a finite number, got {beta!r}")
        if dtype not in (torch.float64, torch.float32):
            raise ValueError(f"dtype: expected torch.float64 or torch.float32, got {dtype!r}")
        max_bytes = validate.max_bytes(max_bytes)
        if 8 * 3 * (T * T + S * S) > max_bytes:  # named after the size that drives it
            raise ValueError(f"{validate.largest(T=T, S=S)}: a reduced model with T = {T:,}, S = {S:,} needs about "
                             f"{24 * (T * T + S * S) / 2 ** 30:.3g} GiB, above the budget of "
                             f"{max_bytes / 2 ** 30:.3g} GiB (max_bytes)")
        self.S, self.T = S, T
        self.A1 = nn.Parameter(torch.zeros(T, T, dtype=dtype))  # position -> position
        self.A2 = nn.Parameter(beta * torch.eye(S, dtype=dtype))  # token -> token
        self.register_buffer("causal", torch.tril(torch.ones(T, T, dtype=torch.bool)))

    def layer1_attention(self) -> torch.Tensor:
        """(T, T) row-stochastic causal attention ``a_ij``."""
        return torch.softmax(self.A1.masked_fill(~self.causal, float("-inf")), dim=-1)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (B, T) long, query last -> ŷ (B, S)."""
        check_tokens(tokens, self.S, self.T)
        X = F.one_hot(tokens, self.S).to(self.A1.dtype)  # (B, T, S)
        h = self.layer1_attention() @ X  # (B, T, S)
        q = X[:, -1] @ self.A2  # (B, S): e_{x_n}ᵀ A2
        scores = torch.einsum("bs,bts->bt", q, h)  # (B, T)
        b = torch.softmax(scores, dim=-1)  # (B, T)
        return torch.einsum("bt,bts->bs", b, X)  # (B, S)
