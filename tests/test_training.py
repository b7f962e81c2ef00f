"""Training dynamics (numerics.train_reduced, train_disentangled, evaluation): closed form, bad input,
divergence, quick claims, the old numerics.training import path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from model.reduced import ReducedTransformer
from numerics import training
from numerics.evaluation import (attention_argmax_matches, gap_to_count_estimator, held_out_sample,
                                 induction_head_excess, sample_sequences_redrawn)
from numerics.population import population_loss
from numerics.runtime import TrainingDiverged
from numerics.train_disentangled import train_disentangled
from numerics.train_reduced import train_reduced
from proofs_check.registry import Profile, all_claims
from proofs_check.runner import run_claim
from theory.graphs import CausalGraph
from theory.priors import DirichletPrior, FinitePrior
from theory.sampling import sample_k_parent_sequences
from theory.enumeration import enumerate_population
from theory.gradients import drift_matrix, small_beta_attention_gradient


def test_small_beta_gradient_matches_autograd_at_random_A1():
    rng = np.random.default_rng(1)
    graph, S, T = CausalGraph.random_forest(4, rng), 3, 5
    pi = rng.dirichlet(np.ones(S), size=S)
    A1 = rng.normal(size=(T, T))
    population = enumerate_population(graph, pi)

    def autograd(beta):
        model = ReducedTransformer(S, T, beta=beta)
        with torch.no_grad():
            model.A1.copy_(torch.as_tensor(A1))
        population_loss(model, population, "linearized").backward()
        return model.A1.grad.numpy() * np.tril(np.ones((T, T)))

    beta = 1e-6
    closed = small_beta_attention_gradient(drift_matrix(graph, pi), A1, beta)  # the O(β) term: linear in β
    # autograd(β) = closed(β) + R β² + O(β³): the remainder is 6.8e-8 of max|closed| at β = 1e-6, and one
    # Richardson step, 2 autograd(β) - autograd(2β)/2, removes it, leaving O(β³) (3.6e-14 relative at
    # β = 1e-6; 3.6e-10 at β = 1e-4).  Round-off does not grow as β → 0 (every term of the gradient is O(β)):
    # <= n ε relative for the n = 243 enumerated sequences (5e-14), times 2.5 from the weights: 1.3e-13.
    richardson = 2 * autograd(beta) - autograd(2 * beta) / 2
    assert np.abs(richardson - closed).max() <= 1e-11 * np.abs(closed).max()


def test_exact_population_training_recovers_a_small_chain():
    rng = np.random.default_rng(0)
    prior = FinitePrior(DirichletPrior(3, 0.3).sample(2, rng))
    run = train_reduced(CausalGraph.chain(4), prior, source="population", steps1=200, steps2=5,
                           lr1=300.0, progress=False, test_size=64, eval_every=50)
    assert run.stage1_gradient == "exact" and run.stage2_gradient == "exact"
    assert np.all(attention_argmax_matches(run.attention(), run.graph))


def test_closed_form_stage1_recovers_at_any_size():
    run = train_reduced(CausalGraph.chain(12), DirichletPrior(6, 0.1), source="population",
                           stage1_loss="linearized", lr1=3000.0, steps1=100, steps2=0, draws=100,
                           progress=False, test_size=64, eval_every=10)
    assert run.stage1_gradient == "closed-form"
    assert run.min_parent_weight >= 0.9


def test_sgd_is_reproducible():
    kw = dict(source="sgd", steps1=3, steps2=2, batch=64, progress=False, test_size=32, seed=7)
    a = train_reduced(CausalGraph.chain(5), DirichletPrior(3, 0.1), **kw)
    b = train_reduced(CausalGraph.chain(5), DirichletPrior(3, 0.1), **kw)
    # exact by construction: the same seed, draws and float64 operations in the same order, in one process
    assert np.array_equal(a.A1, b.A1) and np.array_equal(a.A2, b.A2)


def test_k_parent_sampler_shapes():
    graph = CausalGraph.from_parents([None, None] + [(i - 2, i - 1) for i in range(2, 6)])
    batch = sample_k_parent_sequences(graph, 3, 0.5, 10, np.random.default_rng(0))
    assert batch.tokens.shape == (10, 7) and batch.pi.shape == (10, 9, 3)
    assert np.allclose(batch.target.sum(axis=1), 1.0)


@pytest.mark.parametrize("kwargs, name", [
    (dict(lr1=0.0), "lr1"), (dict(lr1=-1.0), "lr1"), (dict(lr2=0.0), "lr2"),
    (dict(steps1=0), "steps1"), (dict(steps2=-1), "steps2"), (dict(beta=0.0), "beta"),
    (dict(source="adam"), "source"), (dict(smoothing=1.5), "smoothing"),
])
def test_bad_reduced_settings(kwargs, name):
    with pytest.raises(ValueError, match=name):
        train_reduced(CausalGraph.chain(4), DirichletPrior(3, 0.1), progress=False, **kwargs)


def test_enumeration_budget_refused():
    pi = DirichletPrior(4, 1.0).sample(1, np.random.default_rng(0))[0]
    with pytest.raises(ValueError, match="max_sequences"):
        train_reduced(CausalGraph.chain(8), pi, source="population", progress=False, max_sequences=1000)


def test_bad_disentangled_settings():
    graph = CausalGraph.from_parents([None, None] + [(i - 2, i - 1) for i in range(2, 5)])
    with pytest.raises(ValueError, match="heads"):
        train_disentangled(graph, DirichletPrior(3, 0.5), heads=(1, 1), progress=False)
    with pytest.raises(ValueError, match="lr"):
        train_disentangled(CausalGraph.chain(4), DirichletPrior(3, 0.5), lr=0.0, progress=False)
    with pytest.raises(ValueError, match="steps"):
        train_disentangled(CausalGraph.chain(4), DirichletPrior(3, 0.5), steps=0, progress=False)


def test_learning_rate_schedules():
    with pytest.raises(ValueError, match="lr_schedule"):
        train_disentangled(CausalGraph.chain(4), DirichletPrior(3, 0.5), lr_schedule="step", progress=False)
    run = train_disentangled(CausalGraph.chain(4), DirichletPrior(3, 0.5), lr=0.05, steps=20, batch=32,
                                lr_schedule="cosine", eval_every=10, progress=False)
    assert run.settings["lr_schedule"] == "cosine" and np.isfinite(run.final_test_loss)


def test_divergence_names_the_step():
    with pytest.raises(TrainingDiverged, match=r"step \d+"):
        train_disentangled(CausalGraph.chain(4), DirichletPrior(3, 0.5), lr=1e300, steps=20, batch=16,
                              test_size=16, progress=False)


def test_quick_claims_pass():
    claims = {k: c for k, c in all_claims().items() if k.startswith("causal.train_") and c.quick}
    assert len(claims) >= 5
    for claim_ in claims.values():
        result = run_claim(claim_, Profile("quick"))
        assert result.status == "pass", (claim_.id, result.measured, result.error, result.outcome and
                                         result.outcome.details)


def test_induction_head_excess_splits_by_query_seen():
    graph = CausalGraph.chain(6)
    gap, c_star = induction_head_excess(graph, DirichletPrior(3, 0.3), size=400, rng=5)
    assert gap.excess.shape == gap.query_seen.shape == (400,)
    assert np.all(np.isfinite(gap.excess)) and c_star >= 0
    # query seen as a parent, by a plain loop over the parents x_0..x_{n-2}
    rng = np.random.default_rng(5)
    held_out_sample(graph, DirichletPrior(3, 0.3), 400, rng, "stationary", 0.3)  # the fitting sample
    batch = sample_sequences_redrawn(graph, DirichletPrior(3, 0.3), 400, rng, "stationary")
    loop = [any(seq[j] == seq[-1] for j in range(graph.n - 1)) for seq in batch.tokens]
    assert gap.query_seen.tolist() == loop
    total = gap.mean("all").value
    parts = gap.query_seen.mean() * gap.mean("seen").value + (1 - gap.query_seen.mean()) * gap.mean("unseen").value
    assert abs(total - parts) < 1e-12  # three means of <= 400 terms of size <= 5: ~10 ε × 5 each (pairwise sums)
    # the model cannot fall back to the uniform law: unseen queries cost far more than seen ones
    # independent subsets: the difference has se sqrt(se_u² + se_s²) <= se_u + se_s; one-sided, >= 4 se:
    # level < 3.2e-5
    assert gap.mean("unseen").value > gap.mean("seen").value + 4 * (gap.mean("unseen").stderr + gap.mean("seen").stderr)
    with pytest.raises(ValueError, match="subset"):
        gap.mean("some")
    # the count estimator against itself: no excess anywhere; the uniform law: log S - ℓ_count per sequence
    from theory.estimators import count_estimator

    est = count_estimator(graph, batch.tokens, 0.3, 3)
    # the same cross-entropies from the same numbers twice (smoothing 0 leaves ŷ's bits alone): an exact zero
    assert np.all(gap_to_count_estimator(graph, est, batch, 0.3).excess == 0.0)
    uniform = gap_to_count_estimator(graph, np.full_like(est, 1 / 3), batch, 0.3).excess
    np.testing.assert_allclose(uniform, np.log(3) + (batch.target * np.log(est)).sum(axis=1), atol=1e-12)


def test_old_import_path_keeps_working():
    for name in ("train_reduced", "train_disentangled", "ReducedRun", "DisentangledRun", "drift_matrix",
                 "small_beta_attention_gradient", "sample_k_parent_sequences", "induction_head_excess",
                 "REDUCED_SMOOTHING", "TrainingDiverged", "held_out_sample_of", "induction_reference"):
        assert hasattr(training, name), name


def test_chain_induction_run_is_one_run_per_arguments_and_a_copy_per_call():
    from numerics.train_reduced import chain_induction_run

    kwargs = dict(steps1=3, steps2=2, test_size=16, seed=11, eval_every=1)
    first = chain_induction_run(3, 4, **kwargs)
    direct = train_reduced(CausalGraph.chain(4), DirichletPrior(3, 0.1), source="sgd", steps1=3, lr2=50.0, steps2=2,
                           seed=11, progress=False, test_size=16, eval_every=1)
    assert np.array_equal(first.A1, direct.A1) and np.array_equal(first.A2, direct.A2)
    first.A1[:] = 0.0  # a caller's change stays with its copy
    first.history.clear()
    second = chain_induction_run(3, 4, **kwargs)
    assert np.array_equal(second.A1, direct.A1) and len(second.history) == len(direct.history)
    assert second.seconds == chain_induction_run(3, 4, **kwargs).seconds  # the cached run, not a new one
    other = chain_induction_run(3, 4, **{**kwargs, "seed": 12})  # another argument, another run
    assert not np.array_equal(other.A1, direct.A1)
    with pytest.raises(ValueError, match="^seed"):
        chain_induction_run(3, 4, **{**kwargs, "seed": -1})
