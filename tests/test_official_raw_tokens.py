"""Figure 7's official raw-token model (model/official_raw_tokens.py) and its training bridge and references
(numerics/train_raw_haar.py), each against an independent computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from model.official_raw_tokens import OfficialRawTokens, head_maps
from numerics import train_raw_haar as raw
from proofs_check.experiments import FIGURES, PARTS, compare_settings
from theory import autoregressive as ar


def _model(d=5, heads=6, repeat=2, seed=0):
    torch.manual_seed(seed)
    m = OfficialRawTokens(d, heads, repeat).double()
    with torch.no_grad():  # move the biases and the LayerNorm off their initial values so every term is tested
        for p in m.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return m


@pytest.mark.parametrize("d,heads,repeat,T,block", [(5, 6, 2, 17, 10), (3, 2, 1, 9, 4), (4, 3, 3, 12, 1),
                                                      (5, 64, 2, 50, 10), (2, 1, 2, 5, 100)])
def test_vectorised_forward_equals_literal_port_float64(d, heads, repeat, T, block):
    m = _model(d, heads, repeat)
    x = torch.randn(4, T, d, dtype=torch.float64)
    assert torch.allclose(m(x, block=block), m.forward_literal(x), rtol=0, atol=1e-12)


def test_vectorised_gradients_equal_literal_gradients():
    m = _model(4, 5)
    x = torch.randn(3, 11, 4, dtype=torch.float64)
    target = torch.randn(3, 11, 4, dtype=torch.float64)
    grads = []
    for forward in (m.forward, m.forward_literal):
        m.zero_grad()
        torch.mean((forward(x) - target) ** 2).backward()
        grads.append({k: p.grad.clone() for k, p in m.named_parameters() if p.grad is not None})
    assert grads[0].keys() == grads[1].keys()
    for k in grads[0]:
        assert torch.allclose(grads[0][k], grads[1][k], rtol=1e-9, atol=1e-12), k


def test_forward_is_causal():
    m = _model(3, 4)
    x = torch.randn(2, 10, 3, dtype=torch.float64)
    y = x.clone()
    y[:, 6:] = torch.randn(2, 4, 3, dtype=torch.float64)
    for forward in (m.forward, m.forward_literal):
        assert torch.allclose(forward(x)[:, :6], forward(y)[:, :6], atol=1e-13)
        assert not torch.allclose(forward(x)[:, 6:], forward(y)[:, 6:])


def test_positional_attention_rows_are_causal_distributions():
    m = _model(3, 5)
    P = m.positional_attention(8)
    assert P.shape == (5, 8, 8)
    assert torch.allclose(P.sum(-1), torch.ones(5, 8, dtype=torch.float64))
    assert float(P.detach().triu(1).abs().max()) == 0.0


def test_head_maps_give_the_official_per_head_score_and_value():
    m = _model(3, 4, repeat=2)
    H, E = 4, 6
    s = torch.randn(2, 3, dtype=torch.float64)
    x = s.repeat(1, 2)
    q = m.queries(x).view(2, H, E)
    k = m.keys(x).view(2, H, E)
    v = m.values(x).view(2, H, E)
    M, V = head_maps(m)
    st = torch.cat([s, torch.ones(2, 1, dtype=torch.float64)], 1)
    official = torch.einsum("hd,hd->h", q[0], k[1]) / math.sqrt(E)
    assert torch.allclose(torch.einsum("a,hab,b->h", st[0], M, st[1]), official, atol=1e-12)
    assert torch.allclose(torch.einsum("hoc,c->ho", V, st[1]), v[1], atol=1e-12)


def test_model_refuses_bad_input():
    m = OfficialRawTokens(3, 2)
    with pytest.raises(ValueError, match="seqs"):
        m(torch.randn(2, 5, 4))
    with pytest.raises(ValueError, match="seqs"):
        m(torch.randn(2, 101, 3))
    with pytest.raises(ValueError, match="seqs"):
        m(torch.full((1, 4, 3), float("nan")))
    with pytest.raises(ValueError, match="heads"):
        OfficialRawTokens(3, 0)
    with pytest.raises(ValueError, match="block"):
        m(torch.randn(1, 4, 3), block=0)


# ---------------------------------------------------------------------------------------------- references
def test_haar_dataset_has_unit_tokens_and_the_fixed_start():
    seqs = raw.haar_raw_dataset(5, 7, 300, np.random.default_rng(0))
    assert seqs.shape == (300, 8, 5)
    assert np.allclose(np.linalg.norm(seqs, axis=-1), 1.0)
    assert np.allclose(seqs[:, 0], 1 / np.sqrt(5))
    # zero predictor: per coordinate exactly 1/d (W orthogonal keeps ||s|| = 1)
    assert raw.per_position_mse(np.zeros_like(seqs[:, 1:]), seqs[:, 1:]) == pytest.approx(np.full(7, 0.2))


def test_haar_second_moment_by_monte_carlo():
    # E[s_1 s_1ᵀ] = I/d for W Haar on O(d) (s_1 = W s_0 uniform on the sphere): z-scores of the entries
    seqs = raw.haar_raw_dataset(3, 1, 40000, np.random.default_rng(1))
    outer = np.einsum("ni,nj->nij", seqs[:, 1], seqs[:, 1])
    z = (outer.mean(0) - np.eye(3) / 3) / (outer.std(0, ddof=1) / np.sqrt(len(outer)))
    assert np.abs(z).max() < 4.5


def test_ridge_ar1_equals_a_loop_of_ridge_fits():
    rng = np.random.default_rng(2)
    seqs = rng.standard_normal((3, 9, 4))
    pred = raw.ridge_ar1_predictions(seqs, 0.1)
    for n in range(3):
        for t in range(8):
            X, Y = seqs[n, :t], seqs[n, 1:t + 1]  # pairs (s_j, s_{j+1}), j < t
            W = np.linalg.solve(X.T @ X + 0.1 * np.eye(4), X.T @ Y).T if t else np.zeros((4, 4))
            assert np.allclose(pred[n, t], W @ seqs[n, t], atol=1e-12)


def test_ridge_ar1_is_exact_once_the_tokens_span_the_space():
    seqs = raw.haar_raw_dataset(4, 12, 50, np.random.default_rng(3))
    err = raw.per_position_mse(raw.ridge_ar1_predictions(seqs, 1e-10), seqs[:, 1:])
    assert err[0] == pytest.approx(0.25)
    assert err[4:].max() < 1e-8


@pytest.mark.parametrize("d", [2, 4, 5, 7])
def test_commuting_construction_is_exact_on_commuting_contexts(d):
    W = raw.commuting_contexts_with_axis(d, 200, np.random.default_rng(d))
    assert np.allclose(np.einsum("nij,nkj->nik", W, W), np.eye(d))
    seqs = ar.sequences(W, np.full(d, 1 / np.sqrt(d)), 9)
    assert np.abs(raw.commuting_construction_prediction(seqs) - seqs[:, 2:]).max() < 1e-12
    # with H heads on the planes only: exactly the stated minimum
    for H in range(1, d // 2 + 1):
        half = raw.commuting_construction_prediction(seqs, heads=H)
        assert raw.per_position_mse(half, seqs[:, 2:]).mean() == pytest.approx(
            raw.commuting_minimum_per_coordinate(d, H), abs=1e-12)


@pytest.mark.parametrize("d,H", [(2, 1), (4, 1), (4, 2), (6, 2), (6, 5)])
def test_commuting_minimum_is_the_theory_minimum_rescaled(d, H):
    assert raw.commuting_minimum_per_coordinate(d, H) == pytest.approx(
        ar.raw_token_global_minimum_real_orthogonal(d, H) / d ** 2)


def test_best_cubic_predictor_recovers_the_construction_on_commuting_contexts():
    # the construction is of the class's form, so alternating least squares reaches loss 0
    rng = np.random.default_rng(4)
    seqs = ar.sequences(raw.commuting_contexts_with_axis(4, 400, rng), np.full(4, 0.5), 6)
    res = raw.best_cubic_predictor(seqs[:300], seqs[300:], sweeps=2)
    assert res["train_mse"] < 1e-20 and res["test_mse"] < 1e-20


def test_best_cubic_predictor_beats_nothing_it_contains_on_haar_contexts():
    rng = np.random.default_rng(5)
    tr, te = raw.haar_raw_dataset(3, 6, 2000, rng), raw.haar_raw_dataset(3, 6, 500, rng)
    res = raw.best_cubic_predictor(tr, te, sweeps=5)
    construction = raw.commuting_construction_prediction(tr)[:, -1]
    # ALS starts from the construction's positional weights, then fits the map: never worse on train
    assert res["train_mse"] <= np.mean((construction - tr[:, -1]) ** 2) + 1e-12
    assert res["train_mse"] <= 1 / 3 + 1e-12  # the zero map is in the class


def test_head_cosines_and_positional_mass():
    Q = np.linalg.qr(np.random.default_rng(6).standard_normal((12, 12)))[0]
    cos = raw.head_cosines(Q[:4].reshape(4, 3, 4))
    assert cos["max"] < 1e-12 and cos["values"].shape == (12,)
    same = raw.head_cosines(np.stack([Q[0], -2 * Q[0]]))
    assert same["max"] == pytest.approx(1.0)
    P = np.zeros((2, 3, 3))
    P[:, 0, 0] = 1
    P[0, 1, :2], P[0, 2] = [0.5, 0.5], [0.2, 0.3, 0.5]
    P[1, 1, :2], P[1, 2] = [0.5, 0.5], [0.6, 0.2, 0.2]
    m = raw.positional_mass(P)
    assert np.allclose(m["last"], [0.5, 0.2]) and np.allclose(m["prev"], [0.3, 0.2])
    assert np.allclose(m["ratio"], [0.6, 1.0]) and np.allclose(m["last_two"], [0.8, 0.4])


def test_references_refuse_bad_input():
    with pytest.raises(ValueError, match="ridge"):
        raw.ridge_ar1_predictions(np.zeros((1, 3, 2)), 0.0)
    with pytest.raises(ValueError, match="seqs"):
        raw.ridge_ar1_predictions(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="maps"):
        raw.head_cosines(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="query"):
        raw.positional_mass(np.ones((1, 3, 3)), query=0)
    with pytest.raises(ValueError, match="heads"):
        raw.commuting_construction_prediction(np.ones((1, 4, 2)), heads=0)
    with pytest.raises(ValueError, match="d"):
        raw.RawHaarConfig(d=0)
    with pytest.raises(ValueError, match="lr"):
        raw.RawHaarConfig(lr=-1.0)
    with pytest.raises(ValueError, match="T"):
        raw.RawHaarConfig(T=120)
    with pytest.raises(ValueError, match="pred"):
        raw.per_position_mse(np.zeros((1, 2, 3)), np.zeros((1, 3, 3)))


# ---------------------------------------------------------------------------------------------- training
def test_training_run_learns_and_keeps_the_two_forwards_equal():
    cfg = raw.RawHaarConfig(d=3, heads=3, T=6, train=128, test=64, epochs=15, batch=32, lr=1e-2)
    rng = np.random.default_rng(7)
    tr, te = raw.haar_raw_dataset(3, 6, 128, rng), raw.haar_raw_dataset(3, 6, 64, rng)
    res = raw.train_official_raw_tokens(cfg, tr, te, seed=0)
    assert res["steps"] == cfg.steps == 60
    assert res["vectorised_vs_literal"] < 1e-12
    assert res["trace"][-1][1] < res["trace"][0][1]
    assert res["test_mse_by_position"].shape == (6,)
    assert res["init"]["P"].shape == res["trained"]["P"].shape == (3, 6, 6)
    assert res["trained"]["value_maps"].shape == (3, 6, 3)
    with pytest.raises(ValueError, match="train"):
        raw.train_official_raw_tokens(cfg, tr[:, :4], te, seed=0)


def test_paper_profile_settings_are_figure_7():
    from proofs_check.claims.autoregressive_haar_raw import ID, figure7_settings
    from proofs_check.registry import all_claims

    c = all_claims()[ID]
    actual = figure7_settings(c.resolve("paper"))
    fig = FIGURES["autoregressive:7"]
    assert {part: compare_settings(fig.part(part), actual[part]) for part in PARTS} == dict.fromkeys(PARTS, "same")
