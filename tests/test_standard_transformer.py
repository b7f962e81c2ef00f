"""The standard transformer of Figure 8 (model/standard.py) and its trainer (numerics/train_standard.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from model.standard import StandardTransformer
from numerics.runtime import TrainingDiverged
from numerics.train_standard import StandardRun, train_standard_transformer
from theory.graphs import CausalGraph
from theory.priors import DirichletPrior

LEVEL = 1e-6  # family-wise level of the initialisation tests (Bonferroni over the tests of one model)
S, T = 10, 20


def _model(seed: int = 0, **kwargs) -> StandardTransformer:
    torch.manual_seed(seed)
    return StandardTransformer(S, T, **kwargs)


def _tokens(B: int, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, S, (B, T), generator=torch.Generator().manual_seed(seed))


def test_shapes_and_the_uniform_output_at_start():
    model = _model()
    tokens = _tokens(7)
    assert model.d == S + T and model.E.dtype == torch.float64
    assert model.first_layer_attention(tokens).shape == (7, T, T)
    yhat = model(tokens)
    assert yhat.shape == (7, S)
    assert torch.equal(model.query_logits(tokens), torch.zeros(7, S, dtype=torch.float64))  # zero readout
    assert torch.allclose(yhat, torch.full((7, S), 1.0 / S, dtype=torch.float64), rtol=0, atol=1e-15)
    assert StandardTransformer(S, T, layers=3, width=8, mlp=False).query_logits(tokens).shape == (7, S)


def _literal_forward(model: StandardTransformer, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(layer-1 attention (B, T, T), logits (B, S)) by loops over sequences and positions: the formulas as written."""
    B = tokens.shape[0]
    att1 = torch.zeros(B, T, T, dtype=torch.float64)
    logits = torch.zeros(B, S, dtype=torch.float64)
    for b in range(B):
        x = [model.E[tokens[b, i]] + model.P[i] for i in range(T)]
        for layer, block in enumerate(model.blocks):
            new = []
            for i in range(T):
                scores = torch.stack([x[i] @ block.A @ x[j] for j in range(i + 1)])
                a = torch.exp(scores - scores.max())
                a = a / a.sum()
                if layer == 0:
                    att1[b, i, : i + 1] = a
                u = sum(a[j] * x[j] for j in range(i + 1)) @ block.V
                mlp = torch.relu(u @ block.W1 + block.b1) @ block.W2 + block.b2 if model.mlp else u
                new.append(x[i] + mlp)
            x = new
        logits[b] = x[-1] @ model.readout
    return att1, logits


def test_attention_and_logits_match_a_literal_recomputation():
    model = _model(3)
    with torch.no_grad():  # move every zero-initialised parameter off zero so each term is exercised
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    tokens = _tokens(3, seed=4)
    with torch.no_grad():
        att, logits = _literal_forward(model, tokens)
        fast_att, fast_logits = model.first_layer_attention(tokens), model.query_logits(tokens)
    assert torch.allclose(fast_att.sum(-1), torch.ones(3, T, dtype=torch.float64))
    # round-off: a few ulps per operation over sums of T·d = 600 terms of size O(1..10)
    assert torch.allclose(fast_att, att, rtol=0, atol=1e-12)
    assert torch.allclose(fast_logits, logits, rtol=1e-10, atol=1e-10)
    assert torch.equal(torch.triu(fast_att, diagonal=1), torch.zeros_like(fast_att))  # causal


def _gaussian_1_over_d(w: torch.Tensor, d: int, tests: int) -> None:
    """Entries of ``w`` i.i.d. N(0, 1/d): a z-test of the mean and a χ² test of the variance, each two-sided
    at ``LEVEL / (2 tests)``, so that ``tests`` matrices together are refused wrongly with probability <= LEVEL."""
    x = w.detach().numpy().ravel() * np.sqrt(d)  # N(0, 1) under the hypothesis
    N = x.size
    assert abs(x.mean() * np.sqrt(N)) < stats.norm.ppf(1 - LEVEL / (4 * tests))
    chi2 = float((x ** 2).sum())  # χ²_N
    assert stats.chi2.ppf(LEVEL / (4 * tests), N) < chi2 < stats.chi2.ppf(1 - LEVEL / (4 * tests), N)


def test_initialisation_follows_the_figure_8_settings():
    model = _model(5)
    d = model.d
    assert torch.equal(model.readout, torch.zeros(d, S, dtype=torch.float64))
    random = [model.E, model.P]
    for block in model.blocks:
        assert torch.equal(block.A, torch.zeros(d, d, dtype=torch.float64))
        assert torch.equal(block.W2, torch.zeros(d, d, dtype=torch.float64))
        assert torch.equal(block.b1, torch.zeros(d, dtype=torch.float64))
        assert torch.equal(block.b2, torch.zeros(d, dtype=torch.float64))
        random += [block.V, block.W1]
    for w in random:
        _gaussian_1_over_d(w, d, len(random))


def test_float32_model_and_bad_arguments():
    assert StandardTransformer(S, T, dtype=torch.float32).readout.dtype == torch.float32
    for kwargs, name in [(dict(S=1, T=T), "S"), (dict(S=S, T=1), "T"), (dict(S=S, T=T, layers=0), "layers"),
                         (dict(S=S, T=T, width=0), "width"), (dict(S=S, T=T, mlp=1), "mlp"),
                         (dict(S=S, T=T, dtype=torch.float16), "dtype"),
                         (dict(S=S, T=T, width=10 ** 6), "width")]:
        with pytest.raises(ValueError, match=f"^{name}:"):
            StandardTransformer(**kwargs)
    model = _model()
    for bad in [_tokens(2).float(), _tokens(2)[:, :-1], _tokens(2) + S, -_tokens(2) - 1]:
        with pytest.raises(ValueError, match="^tokens:"):
            model(bad)


CHAIN, PRIOR = CausalGraph.chain(T - 1), DirichletPrior(S, 0.1)


def test_a_short_run_lowers_the_test_loss_and_reports_finite_numbers():
    run = train_standard_transformer(CHAIN, PRIOR, steps=48, batch=128, test_size=512, seed=0, threads=1,
                                     eval_steps=[16, 48])
    assert isinstance(run, StandardRun) and run.model.E.dtype == torch.float64
    first, last = run.history[0], run.history[-1]
    assert first["step"] == 0 and last["step"] == 48 and last["sequences"] == 48 * 128
    assert first["test_loss"] == pytest.approx(np.log(S), abs=1e-12)  # the uniform start
    assert last["test_loss"] < first["test_loss"] - 0.01
    assert len(run.train_loss) == 48 and np.all(np.isfinite(run.train_loss))
    for entry in run.history:
        assert all(np.isfinite(v) for v in entry.values())
    assert run.previous_token_weight.shape == (T - 1,) and np.all((run.previous_token_weight > 0)
                                                                  & (run.previous_token_weight < 1))
    assert run.attention.shape == (T, T) and np.isfinite(run.estimator_loss)
    assert last["gap"] == pytest.approx(last["test_loss"] - run.estimator_loss, abs=1e-12)


def test_the_trainer_refuses_bad_arguments_and_reports_divergence():
    base = dict(steps=2, batch=8, test_size=8, seed=0, threads=1)
    for change, name in [(dict(steps=0), "steps"), (dict(batch=0), "batch"), (dict(lr=-1.0), "lr"),
                         (dict(weight_decay=-1.0), "weight_decay"), (dict(lr_schedule="step"), "lr_schedule"),
                         (dict(test_size=1), "test_size"), (dict(seed=-1), "seed"), (dict(threads=0), "threads"),
                         (dict(device="tpu"), "device"), (dict(precision="float16"), "precision"),
                         (dict(eval_steps="linear"), "eval_steps"), (dict(eval_steps=[3]), "eval_steps"),
                         (dict(roots="fixed"), "roots"), (dict(progress=1), "progress")]:
        with pytest.raises(ValueError, match=f"^{name}:"):
            train_standard_transformer(CHAIN, PRIOR, **{**base, **change})
    with pytest.raises(ValueError, match="^graph:"):
        train_standard_transformer("chain", PRIOR, **base)
    huge = dict(steps=50, batch=64, test_size=8, seed=0, threads=1, lr=1e6, lr_schedule="constant")
    with pytest.raises(TrainingDiverged, match=r"AdamW\): the loss is nan"):  # the training loss, every update
        train_standard_transformer(CHAIN, PRIOR, **huge, eval_steps=[50])
    with pytest.raises(TrainingDiverged, match="step 1 .* the float64 test loss"):  # ŷ underflows to 0 on a target
        train_standard_transformer(CHAIN, PRIOR, **huge)
