"""Figure 7's model (the authors' ``non_augmented.py``): raw tokens, H heads, linear token score times a
softmax positional score, then an output map, LayerNorm and a linear readout.

Tokens ``s_t ∈ R^d`` are repeated to width ``E = m·d`` (``m = 2`` in the paper): ``x_t = (s_t, s_t)``.  Head
``h`` has full maps ``Q_h, K_h, V_h : R^E → R^E`` with biases, and a learned position embedding
``π_t ∈ R^E`` goes through the *same* ``Q_h, K_h``:

    τ_h[t, j] = (Q_h x_t)·(K_h x_j) / √E                         (linear token score, j ≤ t)
    P_h[t, j] = softmax_{j ≤ t} ((Q_h π_t)·(K_h π_j) / √E)       (positional score, data independent)
    ŝ_{t+1}  = R · LN( O · Σ_h Σ_{j≤t} τ_h[t, j] P_h[t, j] V_h x_j + o )        (no residual)

with ``O`` (E × E, bias ``o``), LayerNorm over ``E`` and the readout ``R`` (E → d, bias).  Parameter names and
default initialisation are those of the official code (``queries``, ``keys``, ``values`` are
``Linear(E, H·E)``; the position table has ``max_length = 100`` rows).

Two forward passes of the same parameters:

- :meth:`OfficialRawTokens.forward_literal` — the official computation as written: the ``(N, H, T, T)``
  score tensors, masked with ``-1e20`` (the oracle; slow: about 13 s per step of 1,024 on 2 cores).
- :meth:`OfficialRawTokens.forward` — the same function rearranged.  With ``s̃ = (s, 1) ∈ R^{d+1}`` the
  repeated token and the biases fold into effective maps ``Q̃_h, K̃_h, Ṽ_h : R^{d+1} → R^E``, so the head sum is

      Σ_h Σ_j P_h[t,j] (s̃_tᵀ M_h s̃_j) Ṽ_h s̃_j = Σ_a s̃_t[a] Σ_j Σ_{b≤c} (s̃_j[b] s̃_j[c]) G[t, j, a, :, (b, c)],
      M_h = Q̃_hᵀ K̃_h / √E,   G[t, j, a, o, (b, c)] = Σ_h P_h[t, j] (M_h[a,b] Ṽ_h[o,c] + M_h[a,c] Ṽ_h[o,b])/(1 + [b=c]).

  ``G`` does not depend on the data: the positional softmax is taken once per batch and all heads enter in
  one contraction; the data enter through one matrix product of the monomials ``s̃_j ⊗ s̃_j`` (``(d+1)(d+2)/2``
  of them) with ``G``, blocked over query positions so that keys ``j > t`` are never multiplied.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from model.autoregressive import check_tensor
from theory import validate
from theory.validate import positive_int

__all__ = ["OfficialRawTokens", "head_maps", "MASK_VALUE"]

MASK_VALUE = -1e20  # the official code's fill value for masked scores (kept in the literal port)


class OfficialRawTokens(nn.Module):
    """The official raw-token transformer of Figure 7 (one layer).  ``d`` token dimension, ``heads`` H,
    ``repeat`` m (embedding width ``E = m·d``), ``max_length`` rows of the position table."""

    def __init__(self, d: int = 5, heads: int = 64, repeat: int = 2, max_length: int = 100):
        super().__init__()
        self.d, self.heads, self.repeat = positive_int(d, "d"), positive_int(heads, "heads"), positive_int(repeat, "repeat")
        self.max_length = positive_int(max_length, "max_length")
        E = self.width = self.repeat * self.d
        # parameters, gradients and Adam moments (float64 at most): three (E, H·E) maps and their biases, the
        # position table, the output map and the readout; named after the size that drives it
        count = 3.0 * heads * E * (E + 1) + max_length * E + E * (E + 1) + (E + 1) * d + 2 * E
        validate.memory(8.0 * 3 * count, validate.largest(d=d * d, heads=heads, repeat=repeat * repeat,
                                                          max_length=max_length),
                        f"a raw-token model with d = {d:,}, {heads:,} heads, width {E:,}")
        # created in the official order (readout, position table, values, keys, queries, output map, norm),
        # so that one torch seed gives the official initial draw of every parameter in use
        self.readout = nn.Linear(E, d)                       # Transformer.fc_out
        self.position_embedding = nn.Embedding(max_length, E)
        self.values = nn.Linear(E, E * heads)
        self.keys = nn.Linear(E, E * heads)
        self.queries = nn.Linear(E, E * heads)
        self.attn_out = nn.Linear(E, E)                      # SelfAttention.fc_out
        self.norm = nn.LayerNorm(E)

    # ------------------------------------------------------------------ shared pieces
    def _check(self, seqs: torch.Tensor) -> None:
        check_tensor(seqs, "seqs", (None, None, self.d), complex_ok=False)
        if seqs.dtype != self.readout.weight.dtype:
            raise ValueError(f"seqs: expected dtype {self.readout.weight.dtype} (the model's), got {seqs.dtype}")
        if seqs.shape[1] > self.max_length:
            raise ValueError(f"seqs: expected at most max_length = {self.max_length} positions, got {seqs.shape[1]}")

    def _head_tail(self, heads_sum: torch.Tensor) -> torch.Tensor:
        """(N, T, E) summed head outputs -> (N, T, d) predictions: output map, LayerNorm, readout."""
        return self.readout(self.norm(self.attn_out(heads_sum)))

    def positional_attention(self, T: int) -> torch.Tensor:
        """``P (H, T, T)``: the positional softmax of every head, ``P[h, t, j] = 0`` for ``j > t``."""
        T = positive_int(T, "T", maximum=self.max_length)
        H, E = self.heads, self.width
        pos = self.position_embedding.weight[:T]                               # (T, E)
        q = self.queries(pos).view(T, H, E)
        k = self.keys(pos).view(T, H, E)
        scores = torch.einsum("thd,jhd->htj", q, k) / math.sqrt(E)             # (H, T, T)
        future = torch.ones(T, T, dtype=torch.bool, device=pos.device).triu(1)
        return torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1)

    # ------------------------------------------------------------------ the official computation
    def forward_literal(self, seqs: torch.Tensor) -> torch.Tensor:
        """seqs (N, T, d) = s_0..s_{T-1} -> (N, T, d) predictions of s_1..s_T, as the official code computes
        them (score tensors (N, H, T, T), masked fill -1e20 before the scaling and the softmax)."""
        self._check(seqs)
        N, T, _ = seqs.shape
        H, E = self.heads, self.width
        x = seqs.repeat(1, 1, self.repeat)                                     # (N, T, E)
        mask = torch.tril(torch.ones(T, T, dtype=seqs.dtype, device=seqs.device)).expand(N, 1, T, T)
        v = self.values(x).reshape(N, T, H, E)
        k = self.keys(x).reshape(N, T, H, E)
        q = self.queries(x).reshape(N, T, H, E)
        energy = torch.einsum("nqhd,nkhd->nhqk", q, k).masked_fill(mask == 0, MASK_VALUE)
        attention_tok = energy / E ** 0.5
        pos = self.position_embedding(torch.arange(T, device=seqs.device).expand(N, T))
        k_pos = self.keys(pos).reshape(N, T, H, E)
        q_pos = self.queries(pos).reshape(N, T, H, E)
        energy_pos = torch.einsum("nqhd,nkhd->nhqk", q_pos, k_pos).masked_fill(mask == 0, MASK_VALUE)
        attention_pos = torch.softmax(energy_pos / E ** 0.5, dim=3)
        attention = attention_tok * attention_pos                              # (N, H, T, T)
        out = torch.einsum("nhql,nlhd->nqhd", attention, v).sum(2)            # (N, T, E)
        return self._head_tail(out)

    # ------------------------------------------------------------------ the same function, vectorised
    def score_value_tensor(self, T: int, queries: slice | None = None) -> torch.Tensor:
        """``G (T_keys, K, T_queries, (d+1)·E)`` of the module docstring, ``K = (d+1)(d+2)/2`` monomials
        ``s̃[b] s̃[c]``, ``b ≤ c``; the last axis is ``(a, o)``.  ``queries``: a slice of query positions
        (keys are then cut after the last of them)."""
        T = positive_int(T, "T", maximum=self.max_length)
        if queries is not None and not (isinstance(queries, slice) and queries.step in (None, 1)
                                        and isinstance(queries.start, int) and isinstance(queries.stop, int)
                                        and 0 <= queries.start < queries.stop <= T):
            raise ValueError(f"queries: expected None or a slice lo:hi of positions with 0 <= lo < hi <= T = {T}, "
                             f"got {validate.short_repr(queries)}")
        M, V = head_maps(self)                                                 # (H, A, A), (H, E, A)
        H, A, E = M.shape[0], M.shape[1], self.width
        q = slice(0, T) if queries is None else queries
        P = self.positional_attention(T)[:, q, : q.stop]                       # (H, Tq, Tk)
        Tq, Tk = P.shape[1:]
        MV = torch.einsum("hab,hoc->haobc", M, V)                              # (H, A, E, A, A)
        b, c = torch.triu_indices(A, A, device=M.device)
        sym = (MV[..., b, c] + MV[..., c, b]) / (1.0 + (b == c).to(M.dtype))   # (H, A, E, K)
        G = (P.reshape(H, Tq * Tk).T @ sym.reshape(H, -1)).view(Tq, Tk, A * E, b.numel())
        return G.permute(1, 3, 0, 2)                                            # (Tk, K, Tq, A·E)

    def forward(self, seqs: torch.Tensor, block: int = 10) -> torch.Tensor:
        """seqs (N, T, d) -> (N, T, d), equal to :meth:`forward_literal` (up to round-off); ``block`` query
        positions per matrix product (keys beyond a block's last query are skipped)."""
        self._check(seqs)
        block = positive_int(block, "block")
        N, T, d = seqs.shape
        A, E = d + 1, self.width
        s = torch.cat([seqs, torch.ones_like(seqs[..., :1])], dim=-1)          # (N, T, A)
        b, c = torch.triu_indices(A, A, device=seqs.device)
        y = s[..., b] * s[..., c]                                              # (N, T, K) monomials
        parts = []
        for lo in range(0, T, block):  # a blocking of one matrix product: keys j <= hi - 1 only
            hi = min(T, lo + block)
            G = self.score_value_tensor(T, slice(lo, hi))                      # (hi, K, hi - lo, A·E)
            parts.append(y[:, :hi].reshape(N, -1) @ G.reshape(hi * b.numel(), -1))
        Z = torch.cat(parts, dim=1).view(N, T, A, E)                           # (N, t, a, o)
        out = torch.einsum("nta,ntao->nto", s, Z)                              # Σ_h Σ_j τ P V, (N, T, E)
        return self._head_tail(out)


def head_maps(model: OfficialRawTokens) -> tuple[torch.Tensor, torch.Tensor]:
    """Each head's effective maps on ``s̃ = (s, 1)``: ``M (H, d+1, d+1)`` with ``τ_h[t, j] = s̃_tᵀ M_h s̃_j``
    (``M_h = Q̃_hᵀ K̃_h / √E``) and the value map ``Ṽ (H, E, d+1)`` (``V_h x_j + v_h = Ṽ_h s̃_j``); the
    repeated copies of the token are summed into one block, the bias is the last column."""
    if not isinstance(model, OfficialRawTokens):
        raise ValueError(f"model: expected an OfficialRawTokens, got {validate.short_repr(model)}")
    H, E, d, m = model.heads, model.width, model.d, model.repeat

    def folded(lin: nn.Linear) -> torch.Tensor:
        W = lin.weight.view(H, E, m, d).sum(2)                                 # (H, E, d)
        return torch.cat([W, lin.bias.view(H, E, 1)], dim=-1)                  # (H, E, d+1)

    Q, K = folded(model.queries), folded(model.keys)
    return torch.einsum("hea,heb->hab", Q, K) / math.sqrt(E), folded(model.values)
