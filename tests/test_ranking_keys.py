"""The keys of the edge ranking: ``theory.graphs.ranking_pairs`` and the claims of
``proofs_check.claims.causal_ranking_keys`` (diagonal key, query row), checked against brute force."""

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from numerics.training import drift_matrix, train_reduced
from proofs_check.claims.causal_ranking_keys import PERSISTENT
from proofs_check.registry import Profile, all_claims
from proofs_check.runner import run_claim
from proofs_check.verdicts import judge
from theory.enumeration import brute_force_pairwise_joint
from theory.graphs import RANKING_KEYS, CausalGraph, ranking_pairs
from theory.laws import stationary_distribution
from theory.priors import FinitePrior
from theory.edge_ranking import diagonal_violation, drift_from_likelihood_ratio, query_self_margin
from theory.enumeration import likelihood_ratio_by_enumeration
from theory.gradients import likelihood_ratio_matrix
from theory.strategies import forests, transition_matrices

torch.set_num_threads(1)
CLAIMS = ("causal.edge_ranking_keys", "causal.edge_ranking_diagonal_key_boundary",
          "causal.edge_ranking_query_row_boundary")


# ------------------------------------------------------------------ the pair list
def brute_force_pairs(graph: CausalGraph, keys: str) -> list[tuple[int, int, int]]:
    """By the definition: every non-root row i, its parent p, and every key j the softmax at row i sees
    (j <= i) that the keys choose: earlier j < i, the diagonal j = i, or all, never the parent itself."""
    out = []
    for i in range(graph.n):
        if not graph.parents[i]:
            continue
        p = graph.parents[i][0]
        for j in range(i + 1):
            chosen = {"earlier": j < i, "diagonal": j == i, "all": True}[keys]
            if chosen and j != p:
                out.append((i, p, j))
    return out


@settings(max_examples=60, deadline=None)
@given(forests(st.integers(1, 8)), st.sampled_from(RANKING_KEYS))
def test_ranking_pairs_match_the_definition(graph, keys):
    pairs = ranking_pairs(graph, keys)
    assert pairs.shape[1] == 3 and pairs.dtype == np.int64
    assert [tuple(map(int, r)) for r in pairs] == brute_force_pairs(graph, keys)


def test_ranking_pairs_partition_the_keys():
    graph = CausalGraph.from_parents([None, 0, None, 1, 0, 2])
    union = sorted(map(tuple, np.concatenate([ranking_pairs(graph, "earlier"), ranking_pairs(graph, "diagonal")])))
    assert union == sorted(map(tuple, ranking_pairs(graph, "all")))
    assert ranking_pairs(CausalGraph.from_parents([None, None]), "all").shape == (0, 3)


def test_ranking_pairs_refuse_bad_arguments():
    with pytest.raises(ValueError, match="^keys"):
        ranking_pairs(CausalGraph.chain(3), "self")
    with pytest.raises(ValueError, match="^graph"):
        ranking_pairs([None, 0], "earlier")
    with pytest.raises(ValueError, match="^graph"):
        ranking_pairs(CausalGraph.from_parents([None, None, [0, 1]]), "earlier")


# ------------------------------------------------------------------ N from brute-force pairwise joints
def brute_force_N(graph: CausalGraph, pi: np.ndarray) -> np.ndarray:
    """``(T, T)`` N under stationary roots: context block ``Σ_{a,b} P(x_m=a, x_j=b) π(b,a)/μ(a)`` from the
    enumerated pairwise joints; query row and column from the spec's formulas on the enumerated marginals."""
    joint = brute_force_pairwise_joint(graph, pi, "stationary")
    mu = stationary_distribution(pi)
    n, S = graph.n, pi.shape[0]
    N = np.zeros((n + 1, n + 1))
    for m, j in itertools.product(range(n), repeat=2):
        N[m, j] = sum(joint[m, j, a, b] * pi[b, a] / mu[a] for a in range(S) for b in range(S))
    marginal = [joint[j, j].sum(axis=1) for j in range(n)]
    for j in range(n):
        N[n, j] = sum(marginal[j][a] * pi[a, a] / mu[a] for a in range(S))
        N[j, n] = sum(marginal[j][a] * pi[c, a] / mu[a] for a in range(S) for c in range(S))
    N[n, n] = sum(pi[a, a] / mu[a] for a in range(S))
    return N


SHRUNK = np.array([[0.5, 0.5], [1 / 3, 2 / 3]])  # the diagonal boundary's shrunk case: λ = 1/6


@pytest.mark.parametrize("graph, pi", [(CausalGraph.chain(2), SHRUNK), (CausalGraph.chain(4), PERSISTENT),
                                       (CausalGraph.from_parents([None, 0, 0, None, 2]), PERSISTENT)])
def test_diagonal_key_counterexample_by_brute_force(graph, pi):
    N = brute_force_N(graph, pi)
    lam = float(np.sort(np.linalg.eigvals(pi).real)[0])  # the second eigenvalue of a 2-state chain
    for i, p, j in ranking_pairs(graph, "diagonal"):
        assert N[i, i] == pytest.approx(np.trace(pi), abs=1e-13)
        assert N[i, p] == pytest.approx(1 + lam ** 2, abs=1e-13)  # 1 + I_χ², I_χ² = λ² for S = 2
        assert N[i, i] > N[i, p] + 0.05  # 0 < λ < 1: the row's own key outranks the parent
    closed = likelihood_ratio_matrix(graph, pi, "stationary")
    np.testing.assert_allclose(closed, N, atol=1e-13)
    assert diagonal_violation(N, graph) > 0.04


@settings(max_examples=40, deadline=None)
@given(forests(st.integers(2, 5)), transition_matrices(st.integers(2, 3)))
def test_diagonal_condition_is_trace_against_one_plus_chi2(graph, pi):
    """Parent beats the diagonal key iff tr π <= ||Q||_F², Q = D^{1/2} π D^{-1/2}, on every non-root row."""
    N = brute_force_N(graph, pi)
    mu = stationary_distribution(pi)
    Q = np.sqrt(mu)[:, None] * pi / np.sqrt(mu)[None, :]
    for i, p, _ in ranking_pairs(graph, "diagonal"):
        assert N[i, p] - N[i, i] == pytest.approx(np.sum(Q ** 2) - np.trace(Q), abs=1e-11)


@pytest.mark.parametrize("graph, pi", [(CausalGraph.chain(2), np.full((2, 2), 0.5)),
                                       (CausalGraph.chain(3), PERSISTENT),
                                       (CausalGraph.from_parents([None, None, 1]), np.array([[0.2, 0.5, 0.3],
                                                                                             [0.6, 0.1, 0.3],
                                                                                             [0.3, 0.3, 0.4]]))])
def test_query_row_ranks_its_own_key_first_by_brute_force(graph, pi):
    N = brute_force_N(graph, pi)
    assert N[-1, -1] > np.max(N[-1, :-1])
    np.testing.assert_allclose(likelihood_ratio_by_enumeration(graph, pi), N, atol=1e-12)
    assert query_self_margin(likelihood_ratio_matrix(graph, pi, "stationary")) > 0


def test_enumerated_N_of_a_finite_prior_is_the_average():
    graph, mats = CausalGraph.chain(3), np.stack([PERSISTENT, SHRUNK])
    prior = FinitePrior(mats, [0.3, 0.7])
    expected = 0.3 * brute_force_N(graph, PERSISTENT) + 0.7 * brute_force_N(graph, SHRUNK)
    np.testing.assert_allclose(likelihood_ratio_by_enumeration(graph, prior), expected, atol=1e-12)


def test_drift_is_the_training_drift_matrix():
    graph = CausalGraph.from_parents([None, 0, 1, 0])
    N = likelihood_ratio_matrix(graph, PERSISTENT, "stationary")
    np.testing.assert_allclose(drift_from_likelihood_ratio(N), 2 * 5 * drift_matrix(graph, PERSISTENT), atol=1e-13)


def test_stage1_training_puts_the_argmax_on_the_diagonal_key():
    """Persistent chain: the linearised population gradient drives every non-root row to its own key."""
    graph = CausalGraph.chain(4)
    run = train_reduced(graph, PERSISTENT, source="population", stage1_loss="linearized", steps1=150, steps2=0,
                        test_size=64, progress=False)
    assert np.argmax(run.attention(), axis=1).tolist() == [0, 1, 2, 3, 4]


# ------------------------------------------------------------------ the claims
@pytest.mark.parametrize("claim_id", CLAIMS)
def test_quick_claims_give_the_expected_verdict(claim_id):
    result = run_claim(all_claims()[claim_id], Profile("quick", seed=0))
    assert result.status == "pass", (result.verdict, result.reason, result.error)


@pytest.mark.parametrize("claim_id", CLAIMS[1:])
def test_boundary_cases_replay_to_the_recorded_verdict(claim_id):
    claim = all_claims()[claim_id]
    outcome = claim.check(Profile("quick", seed=0, params=claim.resolve("quick")))
    case = outcome.counterexamples[0]
    replayed = claim.replay(case)
    assert judge(claim, replayed).verdict == judge(claim, outcome).verdict == "refuted"
    # the replay repeats the check's own float64 computation on the same case: equal up to the last bits a
    # kernel may change between two calls (work split, alignment): <= 16 ε relative
    assert replayed.measured == pytest.approx(case["violation"], rel=16 * np.finfo(np.float64).eps, abs=0)
    graph = CausalGraph.from_parents([list(ps) if ps else None for ps in case["parents"]])
    N = brute_force_N(graph, np.asarray(case["pi"])) if "pi" in case else None
    if N is not None:  # an independent recomputation of the violation from brute-force pairwise joints
        own = diagonal_violation(N, graph) if "diagonal" in claim_id else query_self_margin(N)
        assert own == pytest.approx(case["violation"], abs=1e-12) and own > 1e-3
