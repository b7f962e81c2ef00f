"""numerics.architecture_gap against independent oracles: the group average over every token permutation,
the model's own forward pass, and the equivariance the token-symmetric family promises."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from model.disentangled import DisentangledTransformer
from numerics.architecture_gap import (STAGES, architecture_gap, induction_head_weights, logits_with,
                                       stream_token_blocks, token_symmetric_projection, token_symmetric_weights)
from theory.graphs import CausalGraph
from theory.priors import DirichletPrior

# float64 sums of a few hundred terms of size O(1): round-off far below 1e-12
ROUND_OFF = 1e-12


def _permuted(W: np.ndarray, sigma: np.ndarray, row_blocks, col_blocks, S: int) -> np.ndarray:
    """``W`` with the token values relabelled by ``sigma`` on every token block of both axes (brute force)."""
    rows, cols = np.arange(W.shape[0]), np.arange(W.shape[1])
    for r in row_blocks:
        rows[r:r + S] = r + sigma
    for c in col_blocks:
        cols[c:c + S] = c + sigma
    return W[np.ix_(rows, cols)]


@pytest.mark.parametrize("S, shape, row_blocks, col_blocks", [
    (3, (7, 7), (0,), (0,)),
    (3, (14, 14), (0, 7), (0, 7)),
    (3, (28, 3), (0, 7, 14, 21), (0,)),
    (4, (9, 4), (0, 5), (0,)),
])
def test_projection_is_the_group_average_over_all_token_permutations(S, shape, row_blocks, col_blocks):
    W = np.random.default_rng(0).normal(size=shape)
    perms = [np.array(p) for p in itertools.permutations(range(S))]
    average = sum(_permuted(W, p, row_blocks, col_blocks, S) for p in perms) / len(perms)
    projected = token_symmetric_projection(torch.as_tensor(W), row_blocks, col_blocks, S).numpy()
    assert np.max(np.abs(projected - average)) < ROUND_OFF
    again = token_symmetric_projection(torch.as_tensor(projected), row_blocks, col_blocks, S).numpy()
    assert np.max(np.abs(again - projected)) < ROUND_OFF  # a projection: idempotent


def _random_weights(model: DisentangledTransformer, rng: np.random.Generator) -> dict[str, torch.Tensor]:
    return {"A.0": torch.as_tensor(rng.normal(size=tuple(model.A[0].shape))),
            "A.1": torch.as_tensor(rng.normal(size=tuple(model.A[1].shape)) * 0.3),
            "readout": torch.as_tensor(rng.normal(size=tuple(model.readout.shape)))}


def test_logits_with_equals_the_models_forward_pass():
    S, T = 3, 6
    model = DisentangledTransformer(S, T)
    rng = np.random.default_rng(1)
    weights = _random_weights(model, rng)
    tokens = torch.as_tensor(rng.integers(0, S, size=(64, T)))
    with torch.no_grad():
        swapped = torch.softmax(logits_with(model, weights, tokens), dim=-1)
        model.A[0].copy_(weights["A.0"])
        model.A[1].copy_(weights["A.1"])
        model.readout.copy_(weights["readout"])
        direct = model(tokens)  # the slow forward: embed, attention, stream, readout
    assert torch.max(torch.abs(swapped - direct)) < ROUND_OFF


def test_token_symmetric_weights_make_the_model_equivariant_and_free_ones_do_not():
    S, T = 3, 6
    model = DisentangledTransformer(S, T)
    rng = np.random.default_rng(2)
    free = _random_weights(model, rng)
    symmetric = token_symmetric_weights(free, S, T)
    tokens = torch.as_tensor(rng.integers(0, S, size=(128, T)))
    sigma = torch.tensor([2, 0, 1])
    with torch.no_grad():
        def moved(w):  # relabel the input tokens, then undo the relabelling on the output
            return torch.softmax(logits_with(model, w, sigma[tokens]), dim=-1)[:, sigma]
        plain = {k: torch.softmax(logits_with(model, w, tokens), dim=-1) for k, w in
                 (("symmetric", symmetric), ("free", free))}
        assert torch.max(torch.abs(moved(symmetric) - plain["symmetric"])) < ROUND_OFF
        assert torch.max(torch.abs(moved(free) - plain["free"])) > 1e-3


def test_the_ideal_head_attends_to_the_parent_and_is_token_symmetric():
    S, graph = 3, CausalGraph.from_parents([None, 0, 0, 1, 2])
    T = graph.n + 1
    theta = torch.tensor([40.0, 3.0, 2.0, -1.0] + [0.5] * T, dtype=torch.float64)
    weights = induction_head_weights(graph, S, theta)
    model = DisentangledTransformer(S, T)
    with torch.no_grad():
        model.A[0].copy_(weights["A.0"])
        att = model.first_layer(torch.as_tensor(np.random.default_rng(3).integers(0, S, size=(8, T))))[0]
    par = graph.parent_array()
    for i, p in enumerate(par):
        if p >= 0:
            assert float(att[:, 0, i, p].min()) > 1 - 1e-12
    symmetric = token_symmetric_weights(weights, S, T)
    for k in weights:
        assert torch.max(torch.abs(symmetric[k] - weights[k])) < ROUND_OFF
    blocks = stream_token_blocks(S, T)
    assert blocks["final"] == (0, S + T, 2 * (S + T), 3 * (S + T))


def test_architecture_gap_reports_every_stage_on_one_held_out_sample():
    result = architecture_gap(CausalGraph.chain(5), DirichletPrior(3, 0.1), fit_size=256, lbfgs_iterations=10,
                              steps=5, batch=64, test_size=512, rng=np.random.default_rng(4))
    assert set(result.gaps) == set(STAGES) and set(result.free_runs) == {"from_symmetric", "from_perturbed"}
    for stage in STAGES:
        g = result.gaps[stage]
        assert g.excess.shape == (512,) and np.all(np.isfinite(g.excess))
        assert np.array_equal(g.query_seen, result.gaps["ideal_head"].query_seen)  # the same sequences
    best = min(float(result.free_runs[k].mean().value) for k in result.free_runs)
    assert float(result.gaps["free"].mean().value) == best
    d = result.difference("free", "ideal_head")
    assert np.allclose(d.excess, result.gaps["free"].excess - result.gaps["ideal_head"].excess, rtol=0, atol=0)


@pytest.mark.parametrize("name, value", [("fit_size", 1), ("steps", 0), ("batch", -1), ("lr", float("nan")),
                                         ("perturbation", -0.1), ("test_size", 2), ("roots", "sideways")])
def test_architecture_gap_refuses_bad_arguments_by_name(name, value):
    with pytest.raises(ValueError, match=f"^{name}"):
        architecture_gap(CausalGraph.chain(3), DirichletPrior(3, 0.1), **{name: value})
