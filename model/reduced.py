"""The reduced two-layer transformer of spec 1, section 3 (the theory's object).

    layer 1, every position i:  a_i = softmax_{j<=i}(A1[i, j]),  h_i = Σ_{j<=i} a_ij e_{x_j}
    layer 2, at the query:      ℓ_i = e_{x_n}ᵀ A2 h_i (i = 0..n),  b = softmax(ℓ)
    output:                     ŷ = Σ_i b_i e_{x_i}   (a point of the simplex)

Initialisation ``A1 = 0``, ``A2 = β·I_S``.  Float64 by default.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class ReducedTransformer(nn.Module):
    def __init__(self, S: int, T: int, beta: float = 1e-3, dtype: torch.dtype = torch.float64):
        super().__init__()
        if not isinstance(S, int) or S < 2:
            raise ValueError(f"S: expected an integer >= 2, got {S!r}")
        if not isinstance(T, int) or T < 2:
            raise ValueError(f"T: expected an integer >= 2 (context plus query), got {T!r}")
        self.S, self.T = S, T
        self.A1 = nn.Parameter(torch.zeros(T, T, dtype=dtype))  # position -> position
        self.A2 = nn.Parameter(beta * torch.eye(S, dtype=dtype))  # token -> token
        self.register_buffer("causal", torch.tril(torch.ones(T, T, dtype=torch.bool)))

    def layer1_attention(self) -> torch.Tensor:
        """(T, T) row-stochastic causal attention ``a_ij``."""
        return torch.softmax(self.A1.masked_fill(~self.causal, float("-inf")), dim=-1)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (B, T) long, query last -> ŷ (B, S)."""
        X = F.one_hot(tokens, self.S).to(self.A1.dtype)  # (B, T, S)
        h = self.layer1_attention() @ X  # (B, T, S)
        q = X[:, -1] @ self.A2  # (B, S): e_{x_n}ᵀ A2
        scores = torch.einsum("bs,bts->bt", q, h)  # (B, T)
        b = torch.softmax(scores, dim=-1)  # (B, T)
        return torch.einsum("bt,bts->bs", b, X)  # (B, S)
