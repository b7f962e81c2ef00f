"""The disentangled transformer against a loop-by-loop reading of spec 1, section 3."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from model.disentangled import DisentangledTransformer


def _spec_forward(tokens: np.ndarray, S: int, mats: list[np.ndarray], readout: np.ndarray) -> np.ndarray:
    """Brute force, one sequence: stream [e_{x_i}; e_i]; each layer appends, per head, the causal softmax
    average of the stream with scores s_iᵀ A_h s_j; softmax of the readout of the query's stream."""
    T = len(tokens)
    stream = [np.concatenate([np.eye(S)[x], np.eye(T)[i]]) for i, x in enumerate(tokens)]
    for heads in mats:
        new = []
        for i in range(T):
            parts = [stream[i]]
            for A in heads:
                scores = np.array([stream[i] @ A @ stream[j] for j in range(i + 1)])
                w = np.exp(scores - scores.max())
                w /= w.sum()
                parts.append(sum(w[j] * stream[j] for j in range(i + 1)))
            new.append(np.concatenate(parts))
        stream = new
    logits = stream[-1] @ readout
    p = np.exp(logits - logits.max())
    return p / p.sum()


@pytest.mark.parametrize("heads", [(1, 1), (2, 1), (1, 2), (2, 1, 1)])
def test_forward_matches_the_spec_loop(heads):
    rng = np.random.default_rng(len(heads) * 10 + heads[0])
    S, T = 3, 5
    model = DisentangledTransformer(S, T, heads)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.as_tensor(rng.normal(0.0, 0.3, size=tuple(p.shape))))
    tokens = rng.integers(0, S, size=(6, T))
    with torch.no_grad():
        got = model(torch.as_tensor(tokens)).numpy()
    mats = [[A[h].detach().numpy() for h in range(A.shape[0])] for A in model.A]
    want = np.stack([_spec_forward(x, S, mats, model.readout.detach().numpy()) for x in tokens])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    with torch.no_grad():  # the structured first layer and the generic attention on the embedding agree
        x = torch.as_tensor(tokens)
        att, stream = model.first_layer(x)
        generic = model.attention(0, model.embed(x))
        np.testing.assert_allclose(att.numpy(), generic.numpy(), rtol=0, atol=1e-13)
        assert stream.shape == (6, T, model.widths[1])


def test_zero_parameters_give_the_uniform_law():
    model = DisentangledTransformer(4, 6, (2, 1))
    with torch.no_grad():
        out = model(torch.zeros((3, 6), dtype=torch.long)).numpy()
    np.testing.assert_allclose(out, 0.25, atol=1e-15)


def test_bad_sizes():
    with pytest.raises(ValueError, match="S"):
        DisentangledTransformer(1, 5)
    with pytest.raises(ValueError, match="heads"):
        DisentangledTransformer(3, 5, (0, 1))
