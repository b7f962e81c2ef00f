"""The standard residual transformer of the causal paper's Figure 8 (Nichani, Damian, Lee 2024, appendix).

Residual stream of width ``d`` (default ``S + T``), learned embeddings *added*:

    x_i = E[x_i] + P[i]                                   E (S, d), P (T, d) ~ N(0, 1/d)

each layer ``l`` (one head, no LayerNorm), at every position ``i``:

    a_ij = softmax_{j<=i}(x_iᵀ A x_j)                     A (d, d) = 0 at start; causal, diagonal included
    h_i  = Σ_{j<=i} a_ij x_j                              the softmax-weighted average of the stream
    u_i  = h_i V                                          V (d, d) ~ N(0, 1/d)
    x_i ← x_i + MLP(u_i),  MLP(u) = relu(u W1 + b1) W2 + b2    W1 ~ N(0, 1/d); b1, W2, b2 = 0 at start

i.e. exactly ``x ← x + MLP(attention(x)·V)``: the value matrix multiplies the *averaged* stream
(the same numbers as averaging ``x_j V``, by linearity), and the MLP reads the attention output,
not ``x + attention``.  With ``mlp=False`` the update is ``x ← x + attention(x)·V``.  Output at
the query (last position ``n = T - 1``): ``ŷ = softmax(x_n R)``, readout ``R (d, S) = 0`` at start,
so the model starts at the uniform law.  Row vectors throughout; float64 by default.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from model.autoregressive import check_tensor
from model.reduced import MAX_PARAMETER_BYTES, check_tokens
from theory import validate
from theory.validate import boolean, positive_int

__all__ = ["Block", "StandardTransformer"]


class Block(nn.Module):
    """One layer: ``x ← x + MLP(softmax(x A xᵀ) x V)`` with a causal mask."""

    def __init__(self, d: int, T: int, mlp: bool, dtype: torch.dtype):
        super().__init__()
        d, T = positive_int(d, "d"), positive_int(T, "T")
        mlp = boolean(mlp, "mlp")
        if dtype not in (torch.float64, torch.float32):
            raise ValueError(f"dtype: expected torch.float64 or torch.float32, got {dtype!r}")
        validate.memory(8.0 * 3 * 4 * d * d + T * T, validate.largest(d=d * d, T=T * T),
                        f"a layer of width {d:,} over {T:,} positions")
        self.d, self.T = d, T
        std = 1.0 / math.sqrt(d)
        self.A = nn.Parameter(torch.zeros(d, d, dtype=dtype))  # bilinear scores x_iᵀ A x_j
        self.V = nn.Parameter(torch.randn(d, d, dtype=dtype) * std)  # value
        self.mlp = mlp
        if mlp:
            self.W1 = nn.Parameter(torch.randn(d, d, dtype=dtype) * std)
            self.b1 = nn.Parameter(torch.zeros(d, dtype=dtype))
            self.W2 = nn.Parameter(torch.zeros(d, d, dtype=dtype))  # zero last layer: the block starts as the identity
            self.b2 = nn.Parameter(torch.zeros(d, dtype=dtype))
        self.register_buffer("causal", torch.tril(torch.ones(T, T, dtype=torch.bool)))

    def _check(self, x: torch.Tensor, length: int | None) -> None:
        """``x``: a finite real ``(B, length, d)`` tensor of the layer's dtype (``length=None``: any)."""
        check_tensor(x, "x", (None, length, self.d), complex_ok=False)
        if x.dtype != self.V.dtype:
            raise ValueError(f"x: expected dtype {self.V.dtype} (the layer's), got {x.dtype}")

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, d) -> a (B, T, T), row-stochastic over ``j <= i``."""
        self._check(x, self.T)
        scores = (x @ self.A) @ x.transpose(1, 2)  # (B, T, T): x_iᵀ A x_j
        return torch.softmax(scores.masked_fill(~self.causal, float("-inf")), dim=-1)

    def update(self, u: torch.Tensor) -> torch.Tensor:
        """u (..., d) -> MLP(u) (..., d), or ``u`` itself without an MLP."""
        if not self.mlp:
            return u
        return torch.relu(u @ self.W1 + self.b1) @ self.W2 + self.b2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, d) -> x + MLP(a x V) (B, T, d)."""
        return x + self.update(self.attention(x) @ x @ self.V)

    def at_query(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, d) -> the updated stream at the last position only (B, d); the query sees every j."""
        self._check(x, None)
        q = x[:, -1]  # (B, d)
        a = torch.softmax(torch.einsum("bd,bjd->bj", q @ self.A, x), dim=-1)  # (B, T)
        return q + self.update(torch.einsum("bj,bjd->bd", a, x) @ self.V)


class StandardTransformer(nn.Module):
    def __init__(self, S: int, T: int, layers: int = 2, width: int | None = None, mlp: bool = True,
                 dtype: torch.dtype = torch.float64, max_bytes: int = MAX_PARAMETER_BYTES):
        super().__init__()
        S, T = positive_int(S, "S", minimum=2), positive_int(T, "T", minimum=2)  # T: context plus query
        layers = positive_int(layers, "layers")
        d = S + T if width is None else positive_int(width, "width")
        mlp = boolean(mlp, "mlp")
        if dtype not in (torch.float64, torch.float32):
            raise ValueError(f"dtype: expected torch.float64 or torch.float32, got {dtype!r}")
        max_bytes = validate.max_bytes(max_bytes)
        # parameters, gradients, Adam moments; and each layer's (T, T) causal mask
        size = 8 * 3 * ((S + T) * d + layers * (4 * d * d + 2 * d) + d * S) + layers * T * T
        if size > max_bytes:  # named after the size that drives it
            drivers = dict(S=S, T=T, layers=layers) if width is None else dict(width=d, S=S, T=T, layers=layers)
            raise ValueError(f"{validate.largest(**drivers)}: {layers:,} layers of width {d:,} need about "
                             f"{size / 2 ** 30:.3g} GiB of parameters and optimiser state, above the budget of "
                             f"{max_bytes / 2 ** 30:.3g} GiB (max_bytes)")
        self.S, self.T, self.d, self.layers, self.mlp = S, T, d, layers, mlp
        self.E = nn.Parameter(torch.randn(S, d, dtype=dtype) / math.sqrt(d))  # token embedding
        self.P = nn.Parameter(torch.randn(T, d, dtype=dtype) / math.sqrt(d))  # position embedding
        self.blocks = nn.ModuleList([Block(d, T, mlp, dtype) for _ in range(layers)])
        self.readout = nn.Parameter(torch.zeros(d, S, dtype=dtype))

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (B, T) -> x (B, T, d) = E[x_i] + P[i]."""
        check_tokens(tokens, self.S, self.T)
        return self.E[tokens] + self.P

    def first_layer_attention(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (B, T) -> layer 1's attention ``a (B, T, T)`` on the embedded stream."""
        return self.blocks[0].attention(self.embed(tokens))

    def query_logits(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (B, T) long, query last -> the readout's logits ``x_n R`` (B, S).

        Every layer but the last updates all positions; the readout reads only the query,
        so the last layer is evaluated there alone (the same numbers at a ``T``-th of its cost).
        """
        x = self.embed(tokens)  # (B, T, d)
        for block in self.blocks[:-1]:
            x = block(x)
        return self.blocks[-1].at_query(x) @ self.readout  # (B, S)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (B, T) long, query last -> ŷ (B, S) = softmax(x_n R)."""
        return torch.softmax(self.query_logits(tokens), dim=-1)
