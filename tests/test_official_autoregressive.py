"""The official Figure 5 model against a literal port of the published code (augmented.py: SelfAttention,
TransformerBlock, Decoder, Transformer with embed_size = 3d, one head), and the training bridge."""

import math

import numpy as np
import pytest
import torch

from model.official_autoregressive import AugmentedLinearAttentionOfficial, official_augmented_tokens
from numerics.haar_references import haar_sequences
from numerics.train_haar import HaarTrainingConfig, train_on_haar_task


def literal_official_forward(model: AugmentedLinearAttentionOfficial, seqs: torch.Tensor) -> torch.Tensor:
    """The published forward pass, step by step: tokens built as in train() (jnp.pad of s[:, :-1], then
    concatenate [0, s, shifted]), inputs = tokens[:, :-1], heads reshape, einsum energies, masked_fill with the
    tril mask, / embed_size ** 0.5, einsum with values, sum over heads, fc_out, norm1, residual, final fc_out."""
    N, L, d = seqs.shape
    shifted = torch.cat([torch.zeros(N, 1, d, dtype=seqs.dtype), seqs[:, :-1]], dim=1)
    tokens = torch.cat([torch.zeros_like(seqs), seqs, shifted], dim=-1)       # (N, L, 3d)
    x = tokens[:, :-1]                                                          # CustomDataset: sample = data[:, :-1]
    E = x.shape[-1]
    heads = 1
    values = model.value(x).reshape(N, L - 1, heads, E)
    keys = model.key(x).reshape(N, L - 1, heads, E)
    queries = model.query(x).reshape(N, L - 1, heads, E)
    energy = torch.einsum("nqhd,nkhd->nhqk", [queries, keys])
    mask = torch.tril(torch.ones((L - 1, L - 1))).expand(N, 1, L - 1, L - 1)
    energy = energy.masked_fill(mask == 0, float("0."))
    attention = energy / (E ** (1 / 2))
    out = torch.einsum("nhql,nlhd->nqhd", [attention, values]).sum(2)
    out = model.out(out)
    out = x + model.norm(out)
    return model.readout(out)[:, :, :d]


def test_matches_literal_port():
    torch.manual_seed(0)
    for d in (2, 5):
        model = AugmentedLinearAttentionOfficial(d, generator=torch.Generator().manual_seed(d), dtype=torch.float64)
        seqs = torch.from_numpy(haar_sequences(d, 7, 4, "fixed", np.random.default_rng(d)))
        assert torch.allclose(model(seqs), literal_official_forward(model, seqs), atol=1e-12)


def test_tokens_and_causality():
    seqs = torch.arange(2 * 4 * 2, dtype=torch.float64).reshape(2, 4, 2)
    E = official_augmented_tokens(seqs)
    assert E.shape == (2, 3, 6)
    assert torch.equal(E[:, 0, 2:4], seqs[:, 0]) and torch.equal(E[:, 0, 4:], torch.zeros(2, 2))
    assert torch.equal(E[:, 2, 2:4], seqs[:, 2]) and torch.equal(E[:, 2, 4:], seqs[:, 1])
    model = AugmentedLinearAttentionOfficial(2, dtype=torch.float64)
    out = model(seqs)
    changed = seqs.clone()
    changed[:, 3] += 1.0                              # s_T is only a target: no output may move
    assert torch.allclose(model(changed), out)
    changed[:, 2] += 1.0                              # s_2 enters position 2 only
    assert torch.allclose(model(changed)[:, :2], out[:, :2]) and not torch.allclose(model(changed)[:, 2], out[:, 2])


def test_default_init_bounds():
    model = AugmentedLinearAttentionOfficial(5, generator=torch.Generator().manual_seed(0))
    bound = 1 / math.sqrt(15)
    for lin in (model.query, model.key, model.value, model.out, model.readout):
        assert lin.weight.abs().max() <= bound and lin.bias.abs().max() <= bound


def test_training_reduces_the_loss_and_reports_float64():
    run = train_on_haar_task(HaarTrainingConfig(model="official", d=3, T=6, train_size=256, test_size=128,
                                                epochs=8, batch=64))
    assert run.model.query.weight.dtype == torch.float64
    assert run.test_mse_by_position.shape == (6,) and run.test_errors.shape == (128, 6)
    assert run.test_mse == pytest.approx(run.test_errors.mean(), rel=1e-12)
    assert run.test_mse < 0.5                           # the zero predictor scores 1/d = 0.33; init far above
    bare = train_on_haar_task(HaarTrainingConfig(model="bare", d=3, T=6, train_size=256, test_size=128,
                                                 epochs=8, batch=64))
    assert np.isfinite(bare.test_mse) and bare.train_history[-1] < bare.train_history[0]


def test_bad_arguments_raise_naming_them():
    with pytest.raises(ValueError, match="model"):
        HaarTrainingConfig(model="gpt")
    with pytest.raises(ValueError, match="lr"):
        HaarTrainingConfig(lr=-1.0)
    with pytest.raises(ValueError, match="seqs"):
        AugmentedLinearAttentionOfficial(3)(torch.zeros(2, 4, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="dtype"):
        AugmentedLinearAttentionOfficial(3, dtype=torch.int64)


def _gd_construction_official(d: int, eta: float) -> AugmentedLinearAttentionOfficial:
    """The official model set to the GD construction: Q, K, V = gd_step_weights, every bias 0, the output map,
    the LayerNorm gain and the readout the identity (the prediction is then R[:d](e_t + LN(η G_t s_t)))."""
    from model.autoregressive import gd_step_weights
    model = AugmentedLinearAttentionOfficial(d, dtype=torch.float64)
    Q, K, V = gd_step_weights(d, eta)
    with torch.no_grad():
        for lin, W in ((model.query, Q), (model.key, K), (model.value, V),
                       (model.out, torch.eye(3 * d, dtype=torch.float64)),
                       (model.readout, torch.eye(3 * d, dtype=torch.float64))):
            lin.weight.copy_(W)
            lin.bias.zero_()
        model.norm.weight.fill_(1.0)
        model.norm.bias.zero_()
    return model


def test_attention_structure_of_the_gd_construction_is_all_in_the_gd_blocks():
    from numerics.train_haar import official_attention_structure
    d = 3
    seqs = torch.from_numpy(haar_sequences(d, 6, 16, "fixed", np.random.default_rng(0)))
    s = official_attention_structure(_gd_construction_official(d, 0.7), seqs)
    assert s["gd_share_KtQ"] == pytest.approx(1.0, abs=1e-15)
    assert s["gd_share_V"] == pytest.approx(1.0, abs=1e-15)
    assert s["score_bias_share"] == 0.0
    assert s["readout_energy"]["bias"] == 0.0
    # the skip path R[:d] e_t = 0_d (the first d coordinates of every token are zero)
    assert s["readout_energy"]["skip"] == 0.0


def test_score_bias_share_against_the_model_without_its_score_biases():
    """The share from the weights against the scores of a copy whose b_Q, b_K are zeroed (the model's own
    forward computes both), and the two extremes: biases only (share 1)."""
    import copy
    from numerics.train_haar import official_attention_structure
    d = 3
    model = AugmentedLinearAttentionOfficial(d, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    seqs = torch.from_numpy(haar_sequences(d, 7, 16, "sphere", np.random.default_rng(1)))
    no_bias = copy.deepcopy(model)
    with torch.no_grad():
        no_bias.query.bias.zero_()
        no_bias.key.bias.zero_()
        full, weight_part = model.branches(seqs)[1], no_bias.branches(seqs)[1]
    b2, w2 = float(((full - weight_part) ** 2).sum()), float((weight_part ** 2).sum())
    share = official_attention_structure(model, seqs)["score_bias_share"]
    assert 0 < share < 1
    assert share == pytest.approx(b2 / (b2 + w2), rel=1e-12)
    with torch.no_grad():
        model.query.weight.zero_()
        model.key.weight.zero_()
    assert official_attention_structure(model, seqs)["score_bias_share"] == 1.0


def test_attention_structure_refuses_another_model():
    from model.autoregressive import AugmentedLinearAttention
    from numerics.train_haar import official_attention_structure
    with pytest.raises(ValueError, match="^model: "):
        official_attention_structure(AugmentedLinearAttention(2), torch.zeros(1, 3, 2, dtype=torch.float64))
