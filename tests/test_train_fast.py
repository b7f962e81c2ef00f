"""The fast training path: torch sampler against theory, the query-only logits, the paper's schedule."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from model.disentangled import DisentangledTransformer
from numerics.sampling_torch import (dirichlet_transitions, gamma_draws, sample_sequences_torch,
                                     stationary_laws_torch)
from numerics.train_disentangled import SCHEDULES, TrainingSchedule, train_disentangled_fast
from theory.graphs import CausalGraph
from theory.laws import pairwise_joint, stationary_laws
from theory.priors import DirichletPrior, FinitePrior

LEVEL = 1e-3  # family-wise level of every statistical test here (Bonferroni inside a test)
EPS32 = torch.finfo(torch.float32).eps


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("alpha", [0.1, 1.1, 3.0])
def test_gamma_draws_follow_the_gamma_law(alpha):
    x = gamma_draws(alpha, (100_000,), _generator(1)).numpy()
    assert stats.kstest(x, stats.gamma(alpha).cdf).pvalue > LEVEL


def test_dirichlet_rows_sum_to_one_and_have_the_dirichlet_moments():
    S, alpha, m = 4, 0.1, 50_000
    pis = dirichlet_transitions(S, alpha, m, _generator(2)).numpy()
    assert np.allclose(pis.sum(axis=2), 1.0, atol=1e-12)
    entry = pis[:, 0, 0]  # Beta(α, (S-1)α): mean 1/S, variance (S-1)/(S²(Sα+1))
    var = (S - 1) / (S ** 2 * (S * alpha + 1))
    z = (entry.mean() - 1 / S) / np.sqrt(var / m)
    assert abs(z) < stats.norm.ppf(1 - LEVEL / 2)
    assert stats.kstest(entry, stats.beta(alpha, (S - 1) * alpha).cdf).pvalue > LEVEL


def test_stationary_laws_match_theory_on_nearly_reducible_chains():
    pis = dirichlet_transitions(10, 0.1, 4000, _generator(3))
    mu = stationary_laws_torch(pis).numpy()
    ref = stationary_laws(pis.numpy())
    # both are GTH state reductions, subtraction-free: every entry to relative error O(S³ ε) = 2e-13 at
    # worst for S = 10, however small it is (measured: 1e-15)
    assert np.all(np.abs(mu - ref) <= 1e-10 * ref + 1e-300)
    residual = np.abs(np.einsum("ma,mab->mb", mu, pis.numpy()) - mu)  # μ π = μ, independent of the kernel
    assert residual.max() < 1e-12  # a sum of S = 10 products of numbers <= 1: round-off <= 10 ε = 2e-15


def _chi2_pvalue(observed: np.ndarray, expected_prob: np.ndarray) -> float:
    keep = expected_prob > 0
    assert observed[~keep].sum() == 0, "a cell of probability zero was sampled"
    expected = expected_prob[keep] * observed.sum()
    return float(stats.chisquare(observed[keep], expected * observed[keep].sum() / expected.sum()).pvalue)


@pytest.mark.parametrize("roots", ["stationary", "uniform"])
def test_sampled_pairs_follow_the_exact_pairwise_joint(roots):
    """Chi-square test of every pair's joint law against the prior average of
    ``theory.laws.pairwise_joint`` (Bonferroni over pairs at level 1e-3)."""
    rng = np.random.default_rng(4)
    S = 3
    mats = rng.dirichlet(np.full(S, 0.7), size=(2, S))
    prior = FinitePrior(mats, [0.3, 0.7])
    graph = CausalGraph.from_parents([None, 0, 1, 0, None, 4])
    size = 60_000
    tokens, target, pis = sample_sequences_torch(graph, prior, size, _generator(5), roots=roots)
    tokens = tokens.numpy()
    exact = sum(w * pairwise_joint(graph, m, roots) for m, w in zip(prior.matrices, prior.weights))
    pairs = [(i, j) for i in range(graph.n) for j in range(i)]
    for i, j in pairs:
        observed = np.zeros((S, S))
        np.add.at(observed, (tokens[:, i], tokens[:, j]), 1)
        assert _chi2_pvalue(observed.ravel(), exact[i, j].ravel()) > LEVEL / len(pairs), (i, j)
    # query uniform and independent of the context; target the query's row of the sequence's π
    assert _chi2_pvalue(np.bincount(tokens[:, -1], minlength=S).astype(float), np.full(S, 1 / S)) > LEVEL
    rows = pis.numpy()[np.arange(size), tokens[:, -1]]
    assert np.array_equal(rows, target.numpy())  # a gather of the same numbers: exact


def test_float32_query_logits_match_the_float64_forward():
    torch.manual_seed(0)
    for heads in [(1, 1), (2, 1), (2, 2)]:
        ref = DisentangledTransformer(6, 9, heads)
        with torch.no_grad():
            for p in ref.parameters():
                p.normal_(0.0, 0.5)
        fast = DisentangledTransformer(6, 9, heads, dtype=torch.float32)
        fast.load_state_dict({k: v.float() for k, v in ref.state_dict().items() if k != "causal"}, strict=False)
        tokens = torch.randint(0, 6, (128, 9))
        with torch.no_grad():
            yhat = ref(tokens)
            logits = ref.query_logits(tokens)
            assert torch.allclose(torch.softmax(logits, -1), yhat, atol=1e-13, rtol=0)
            yhat32 = torch.softmax(fast.query_logits(tokens), -1).double()
        # float32 round-off: Σ_j |∂p_k/∂z_j| = 2 p_k (1 - p_k) <= 1/2, so |δp| <= max|δz| / 2, and each logit
        # is a chain of about 3 dot products of <= 60 float32 terms (parameters rounded once on the way in),
        # terms within a few |z|: |δz| <= 64 ε32 max|z| at worst.  Tolerance 32 ε32 max|z| (8e-6 to 2e-5
        # here; the errors are 1-3 ε32).
        assert torch.allclose(yhat32, yhat, atol=32 * EPS32 * float(logits.abs().max()), rtol=0)


def test_query_logits_refuse_other_depths():
    with pytest.raises(ValueError, match="two-layer"):
        DisentangledTransformer(3, 4, (1,)).query_logits(torch.zeros(2, 4, dtype=torch.long))


def test_paper_schedule_is_the_cosine_of_the_official_code():
    paper = SCHEDULES["paper"]
    assert (paper.optimizer, paper.lr, paper.lr_schedule, paper.steps, paper.batch) == ("sgd", 1.0, "cosine",
                                                                                        2 ** 17, 1024)
    assert paper.sequences == 2 ** 17 * 1024
    small = TrainingSchedule("sgd", 1.0, "cosine", 100, 8)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, 100)  # independent oracle
    for t in range(100):
        assert small.learning_rate(t) == pytest.approx(opt.param_groups[0]["lr"], abs=1e-12)
        opt.step()
        sched.step()
    assert small.learning_rate(0) == 1.0 and small.learning_rate(50) == pytest.approx(0.5)  # (1 + cos 0)/2: exact
    assert small.learning_rate(100) == pytest.approx(0.0, abs=1e-15)
    assert SCHEDULES["quick"].learning_rate(12345) == SCHEDULES["quick"].lr  # constant schedule: the number itself


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is present here")
def test_cuda_is_refused_when_absent():
    with pytest.raises(ValueError, match="CUDA is not available"):
        train_disentangled_fast(CausalGraph.chain(4), DirichletPrior(3, 0.1), steps=1, batch=4, device="cuda")


def test_fast_run_reports_float64_gaps_and_restores_threads():
    before = torch.get_num_threads()
    run = train_disentangled_fast(CausalGraph.chain(5), DirichletPrior(3, 0.1), schedule="quick", steps=20,
                                  batch=32, test_size=256, threads=2, seed=1)
    assert torch.get_num_threads() == before
    assert run.model.A[0].dtype == torch.float64 and run.sequences == 20 * 32
    last = run.history[-1]
    assert last["step"] == 20 and set(last) >= {"gap", "gap_stderr", "gap_seen", "gap_unseen", "min_parent_weight"}
    assert np.isfinite(run.train_loss).all() and len(run.train_loss) == 20
    again = train_disentangled_fast(CausalGraph.chain(5), DirichletPrior(3, 0.1), schedule="quick", steps=20,
                                    batch=32, test_size=256, threads=1, prefetch=False, seed=1)
    # Same draws, same float32 arithmetic; only how the kernels split their sums over threads may differ: a
    # float32 round-off (ε32 relative) per step, which 20 Adam steps carry to the gap as about 20 ε32 × O(1)
    # (all float32 round-off together moves this gap by 6e-9: the float64 run of the same draws).  Tolerance
    # 4 × 20 ε32 = 1e-5; other draws would move the gap by ~gap_stderr = 0.03.
    assert again.history[-1]["gap"] == pytest.approx(last["gap"], abs=4 * 20 * EPS32)
