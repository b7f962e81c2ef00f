"""The "disentangled" transformer of spec 1, section 3 (the paper's experiments).

The residual stream at position i starts as ``[e_{x_i}; e_i]`` (width ``d0 = S + T``).
Each attention layer has ``H`` heads; head ``h`` has one matrix ``A_h (d, d)``:

    scores_ij = s_iᵀ A_h s_j   (causal mask, diagonal included),  out_i = Σ_{j<=i} softmax_j(scores_ij) s_j

and the layer *appends* its heads' outputs to the stream: ``d -> d·(1 + H)``.
A linear readout of the query's final stream gives the logits; ``ŷ = softmax``.
All parameters start at zero.  Float64 by default.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from model.reduced import MAX_PARAMETER_BYTES, check_token_shape, check_tokens
from theory import validate
from theory.validate import positive_int

__all__ = ["DisentangledTransformer"]


class DisentangledTransformer(nn.Module):
    def __init__(self, S: int, T: int, heads: Sequence[int] = (1, 1), dtype: torch.dtype = torch.float64,
                 max_bytes: int = MAX_PARAMETER_BYTES):
        super().__init__()
        S, T = positive_int(S, "S", minimum=2), positive_int(T, "T", minimum=2)  # T: context plus query
        if isinstance(heads, (str, bytes)) or not isinstance(heads, Sequence) or len(heads) < 1 or any(
                isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in heads):
            raise ValueError(f"heads: expected a non-empty sequence of positive head counts per layer, got {heads!r}")
        if dtype not in (torch.float64, torch.float32):
            raise ValueError(f"dtype: expected torch.float64 or torch.float32, got {dtype!r}")
        max_bytes = validate.max_bytes(max_bytes)
        widths = [S + T]
        for h in heads:  # the stream widens d -> d (1 + H) per layer: check the size before allocating
            widths.append(widths[-1] * (1 + h))
        size = 8 * 3 * (sum(h * d * d for h, d in zip(heads, widths)) + widths[-1] * S)
        if size > max_bytes:
            raise ValueError(f"heads: {tuple(heads)} heads at S = {S}, T = {T} need about {size / 2 ** 30:.3g} GiB of "
                             f"parameters (stream width {widths[-1]:,}), above the budget of "
                             f"{max_bytes / 2 ** 30:.3g} GiB (max_bytes)")
        self.S, self.T, self.heads = S, T, tuple(heads)
        widths = [S + T]
        for h in self.heads:
            widths.append(widths[-1] * (1 + h))
        self.widths = widths
        self.A = nn.ParameterList(
            [nn.Parameter(torch.zeros(h, d, d, dtype=dtype)) for h, d in zip(self.heads, widths[:-1])])
        self.readout = nn.Parameter(torch.zeros(widths[-1], S, dtype=dtype))
        self.register_buffer("causal", torch.tril(torch.ones(T, T, dtype=torch.bool)))

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (B, T) -> stream (B, T, S + T) = [e_{x_i}; e_i]."""
        check_tokens(tokens, self.S, self.T)
        B = tokens.shape[0]
        X = F.one_hot(tokens, self.S).to(self.readout.dtype)
        P = torch.eye(self.T, dtype=self.readout.dtype).expand(B, self.T, self.T)
        return torch.cat([X, P], dim=-1)

    def attention(self, layer: int, stream: torch.Tensor) -> torch.Tensor:
        """(B, H, T, T) attention weights of ``layer`` on ``stream (B, T, d)``, ``d = widths[layer]``."""
        layer = validate.index(layer, "layer", len(self.heads), f"the model's {len(self.heads)} layers")
        d = self.widths[layer]
        if not isinstance(stream, torch.Tensor) or stream.ndim != 3 or stream.shape[1:] != (self.T, d) \
                or stream.shape[0] < 1:
            raise ValueError(f"stream: expected a (B, {self.T}, {d}) tensor (layer {layer}'s input), got "
                             f"{tuple(getattr(stream, 'shape', ())) or type(stream).__name__}")
        if not (stream.is_floating_point() and bool(torch.isfinite(stream).all())):
            raise ValueError(f"stream: expected finite real entries, got dtype {stream.dtype}")
        queries = torch.matmul(stream.unsqueeze(1), self.A[layer])  # (B, H, T, d): s_iᵀ A_h
        scores = torch.matmul(queries, stream.unsqueeze(1).transpose(-1, -2))  # (B, H, T, T)
        return torch.softmax(scores.masked_fill(~self.causal, float("-inf")), dim=-1)

    def first_layer(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Layer 1 through the embedding's structure: ``(attention (B, H, T, T), stream (B, T, d1))``.

        With ``s_i = [e_{x_i}; e_i]`` and ``A_h = [[A_xx, A_xp], [A_px, A_pp]]`` (token / position
        blocks), ``s_iᵀ A_h s_j = A_xx[x_i, x_j] + A_xp[x_i, j] + A_px[i, x_j] + A_pp[i, j]``, i.e.
        ``scores = (X A_xx + A_px) Xᵀ + X A_xp + A_pp`` with ``X (B, T, S)`` the one-hot tokens, and
        the head output ``Σ_j a_ij s_j = [a X; a]``.  The same numbers as :meth:`attention` on
        :meth:`embed` at ``O(T² S)`` per head instead of ``O(T (S + T)²)``.
        """
        check_tokens(tokens, self.S, self.T)
        S, T, B = self.S, self.T, tokens.shape[0]
        X = F.one_hot(tokens, S).to(self.readout.dtype).unsqueeze(1)  # (B, 1, T, S)
        A = self.A[0]  # (H, S + T, S + T)
        H, d = A.shape[0], A.shape[1]
        # token rows of every head in one product: XA[b, h, i] = A_h[x_i, :]  (B, H, T, S + T)
        XA = (X.reshape(B * T, S) @ A[:, :S, :].transpose(0, 1).reshape(S, H * d)).reshape(B, T, H, d).transpose(1, 2)
        scores = torch.matmul(XA[..., :S] + A[:, S:, :S], X.transpose(-1, -2)) + XA[..., S:] + A[:, S:, S:]
        att = torch.softmax(scores.masked_fill(~self.causal, float("-inf")), dim=-1)
        outs = torch.cat([torch.matmul(att, X), att], dim=-1)  # (B, H, T, S + T) = Σ_j a_ij s_j
        P = torch.eye(self.T, dtype=X.dtype).expand(X.shape[0], self.T, self.T)
        stream = torch.cat([X.squeeze(1), P, outs.transpose(1, 2).flatten(2)], dim=-1)  # (B, T, d·(1+H))
        return att, stream

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (B, T) long, query last -> ŷ (B, S).

        Layer 1 uses :meth:`first_layer`; every later layer but the last updates all
        positions; the readout reads only the query's final stream, so the last layer
        is evaluated at the query alone (the same output at a ``T``-th of its cost).
        """
        check_tokens(tokens, self.S, self.T)
        layers = len(self.heads)
        s = self.first_layer(tokens)[1] if layers > 1 else self.embed(tokens)  # (B, T, d)
        for layer in range(1, layers - 1):
            att = self.attention(layer, s)  # (B, H, T, T)
            outs = torch.matmul(att, s.unsqueeze(1)).transpose(1, 2).flatten(2)  # (B, T, H·d)
            s = torch.cat([s, outs], dim=-1)  # (B, T, d·(1+H))
        A = self.A[-1]  # (H, d, d)
        H, d = A.shape[0], A.shape[1]
        queries = (s[:, -1] @ A.transpose(0, 1).reshape(d, H * d)).reshape(-1, H, d)  # (B, H, d): s_nᵀ A_h
        att = torch.softmax(torch.bmm(queries, s.transpose(1, 2)), dim=-1)  # (B, H, T); the query sees every j
        out = torch.bmm(att, s).flatten(1)  # (B, H·d)
        final = torch.cat([s[:, -1], out], dim=-1)  # (B, d·(1+H))
        return torch.softmax(final @ self.readout, dim=-1)  # (B, S)

    def position_block(self, layer: int = 0, head: int = 0) -> torch.Tensor:
        """(T, T) block of ``A[layer][head]`` acting position -> position (layer 0: rows/cols S..S+T)."""
        if isinstance(layer, bool) or layer != 0:
            raise ValueError("layer: only layer 0's stream has a plain position block")
        head = validate.index(head, "head", self.heads[0], f"layer 0's {self.heads[0]} heads")
        return self.A[0][head, self.S:, self.S:]

    def query_logits(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (B, T) long -> the readout's logits (B, S) of a two-layer model, without the stream.

        The same numbers as ``log`` of :meth:`forward` up to a per-row constant, by gathers and
        scatters instead of products with one-hot matrices (batches of tiny matrix products
        are what makes :meth:`forward` slow on a CPU).  With ``a_h (B, T, T)`` layer 1's
        attention, the stream is ``s_j = [e_{x_j}; e_j; (a_h X)_j; a_h[j]]_h``; layer 2's head
        ``g`` at the query has ``w = s_nᵀ A_g = [w_x; w_p; w_ax,h; w_ap,h]_h`` and

            score_j = w_x[x_j] + w_p[j] + Σ_h a_h[j] · (w_ax,h[x_·] + w_ap,h),
            out_g   = Σ_j b_j s_j = [scatter_x(b); b; scatter_x(b a_h); b a_h]_h,   b = softmax_j(score).
        """
        if len(self.heads) != 2:
            raise ValueError(f"query_logits: expected a two-layer model, got {len(self.heads)} layers")
        check_token_shape(tokens, self.T)  # the width only: this is the fast path's step, no device sync
        S, T, B = self.S, self.T, tokens.shape[0]
        A1, A2 = self.A[0], self.A[1]  # (H, S + T, S + T), (G, d1, d1)
        H, G, d0 = A1.shape[0], A2.shape[0], S + T
        # layer 1: scores[b, h, i, j] = (A_xx[x_i] + A_px[i])[x_j] + A_xp[x_i, j] + A_pp[i, j]
        X = F.one_hot(tokens, S).to(A1.dtype).reshape(B * T, S)
        rows = (X @ A1[:, :S, :].transpose(0, 1).reshape(S, H * d0)).reshape(B, T, H, d0).transpose(1, 2)  # A_h[x_i]
        token_part = torch.gather(rows[..., :S] + A1[:, S:, :S], -1, tokens[:, None, None, :].expand(B, H, T, T))
        # the causal mask as an additive -inf on A_pp: one pass over (B, H, T, T) instead of two
        position_part = A1[:, S:, S:].masked_fill(~self.causal, float("-inf"))
        att = torch.softmax(token_part + rows[..., S:] + position_part, dim=-1)  # (B, H, T, T)
        idx = tokens[:, None, :]  # (B, 1, T)

        def scatter_tokens(weights: torch.Tensor) -> torch.Tensor:  # (B, K, T) -> (B, K, S): Σ_j w_j e_{x_j}
            out = weights.new_zeros(weights.shape[0], weights.shape[1], S)
            return out.scatter_add(-1, idx.expand_as(weights), weights)

        a_n = att[:, :, -1, :]  # (B, H, T): layer 1 at the query
        s_n = torch.cat([F.one_hot(tokens[:, -1], S).to(A1.dtype), A1.new_zeros(B, T).index_fill(1, torch.tensor(
            [T - 1], device=tokens.device), 1.0), torch.cat([scatter_tokens(a_n), a_n], dim=-1).flatten(1)], dim=-1)
        w = (s_n @ A2.transpose(0, 1).reshape(A2.shape[1], G * A2.shape[2])).reshape(B, G, -1)  # (B, G, d1)
        w_x, w_p = w[..., :S], w[..., S:d0]
        w_h = w[..., d0:].reshape(B, G, H, d0)  # per layer-1 head: [w_ax (S); w_ap (T)]
        score = torch.gather(w_x, -1, idx.expand(B, G, T)) + w_p  # (B, G, T)
        v = torch.gather(w_h[..., :S], -1, tokens[:, None, None, :].expand(B, G, H, T)) + w_h[..., S:]  # (B,G,H,T)
        score = score + (att.unsqueeze(1) * v.unsqueeze(-2)).sum(-1).sum(2)  # Σ_h a_h v_h: (B, G, T)
        b = torch.softmax(score, dim=-1)  # (B, G, T)
        ba = (b[:, :, None, :, None] * att.unsqueeze(1)).sum(-2)  # (B, G, H, T): Σ_j b_j a_h[j]
        ba_x = scatter_tokens(ba.reshape(B, G * H, T)).reshape(B, G, H, S)
        out = torch.cat([scatter_tokens(b), b, torch.cat([ba_x, ba], dim=-1).flatten(2)], dim=-1)  # (B, G, d1)
        return torch.cat([s_n, out.flatten(1)], dim=-1) @ self.readout
