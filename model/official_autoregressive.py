"""The autoregressive paper's official experimental models (Sander et al., 2024, published code), in torch.

Figure 5 (augmented tokens, W Haar on O(d)): :class:`AugmentedLinearAttentionOfficial`, the official
one-layer model, with its tokens :func:`official_augmented_tokens`.  The official tokens include
position 0, ``e_0 = (0_d, s_0, 0_d)`` (``s_{-1} = 0``), so a sequence ``s_0..s_T`` gives ``T`` input
positions ``t = 0..T-1``, position ``t`` predicting ``s_{t+1}``.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from model.autoregressive import check_tensor
from theory import validate
from theory.validate import positive_int

__all__ = ["official_augmented_tokens", "AugmentedLinearAttentionOfficial"]


def official_augmented_tokens(seqs: torch.Tensor) -> torch.Tensor:
    """seqs (B, T+1, d) = s_0..s_T  ->  E (B, T, 3d), rows e_t = (0_d, s_t, s_{t-1}), t = 0..T-1, s_{-1} = 0
    (the official inputs: the last token s_T is only a target)."""
    check_tensor(seqs, "seqs", (None, None, None), min_length=2)
    prev = torch.cat([torch.zeros_like(seqs[:, :1]), seqs[:, :-2]], dim=1)   # (B, T, d)  s_{t-1}
    return torch.cat([torch.zeros_like(prev), seqs[:, :-1], prev], dim=-1)


class AugmentedLinearAttentionOfficial(nn.Module):
    """Figure 5's model as published: one layer, one head, embedding width D = 3d.

        q, k, v = Q e_t + b_Q, K e_j + b_K, V e_j + b_V                (nn.Linear, biases)
        a_t     = Σ_{j<=t} (k_j · q_t) / √D · v_j                      (linear causal attention)
        h_t     = e_t + LayerNorm(O a_t + b_O)                         (output map, LayerNorm, residual)
        y_t     = R h_t + b_R                                          (readout D -> D)
        ŝ_{t+1} = y_t[:d]

    Default (PyTorch) initialisation, as in the official code; float32 or float64.
    """

    def __init__(self, d: int, generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32):
        super().__init__()
        self.d = positive_int(d, "d")
        if dtype not in (torch.float64, torch.float32):
            raise ValueError(f"dtype: expected torch.float64 or torch.float32, got {dtype!r}")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise ValueError(f"generator: expected a torch.Generator or None, got {validate.short_repr(generator)}")
        validate.memory(6 * 8 * (3 * d + 1) ** 2, "d", f"five ({3 * d:,}, {3 * d:,}) linear maps")
        D = 3 * d
        self.query, self.key, self.value, self.out, self.readout = (nn.Linear(D, D, dtype=dtype) for _ in range(5))
        self.norm = nn.LayerNorm(D, dtype=dtype)
        if generator is not None:  # the default init, drawn from a seeded generator
            for lin in (self.query, self.key, self.value, self.out, self.readout):
                bound = 1 / math.sqrt(D)
                with torch.no_grad():
                    lin.weight.uniform_(-bound, bound, generator=generator)
                    lin.bias.uniform_(-bound, bound, generator=generator)

    def branches(self, seqs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """seqs (B, T+1, d) -> (E, scores, n): the tokens E (B, T, D), the causal scores (B, T, T) with
        ``scores[t, j] = (K e_j + b_K)·(Q e_t + b_Q)/√D`` for ``j <= t`` and 0 above the diagonal, and the
        attention branch ``n_t = LayerNorm(O a_t + b_O)`` (B, T, D) that the residual adds to ``e_t``."""
        check_tensor(seqs, "seqs", (None, None, self.d), complex_ok=False, min_length=2)
        if seqs.dtype != self.query.weight.dtype:
            raise ValueError(f"seqs: expected dtype {self.query.weight.dtype} (the model's), got {seqs.dtype}")
        E = official_augmented_tokens(seqs)                        # (B, T, D)
        T, D = E.shape[1], E.shape[2]
        q, k, v = self.query(E), self.key(E), self.value(E)        # (B, T, D) each
        scores = q @ k.transpose(1, 2) / math.sqrt(D)              # (B, T, T)  [t, j] = k_j · q_t / √D
        scores = scores * torch.tril(torch.ones(T, T, dtype=E.dtype, device=E.device))
        return E, scores, self.norm(self.out(scores @ v))          # n: (B, T, D)

    def forward(self, seqs: torch.Tensor) -> torch.Tensor:
        """seqs (B, T+1, d) -> predictions (B, T, d); row t predicts s_{t+1}."""
        E, _, n = self.branches(seqs)
        return self.readout(E + n)[..., : self.d]                  # (B, T, d)
