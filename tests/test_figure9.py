"""Figure 9: the random-graph law (theory.random_graphs), the position-softmax metric
(numerics.position_attention) and the one-graph runner (numerics.figure9)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from model.disentangled import DisentangledTransformer
from numerics.figure9 import train_random_graph
from numerics.position_attention import parent_weight_by_position, position_softmax, summarise_parent_weights
from theory.graphs import CausalGraph
from theory.random_graphs import bernoulli_root_forest

LEVEL = 1e-3  # family-wise level of every statistical test here (Bonferroni inside a test)


# --------------------------------------------------------------------------- the random-graph law
def _draw(n: int, q: float, count: int, seed: int) -> list[CausalGraph]:
    rng = np.random.default_rng(seed)
    return [bernoulli_root_forest(n, rng, root_probability=q) for _ in range(count)]


@pytest.mark.parametrize("q", [0.5, 0.3])
def test_each_position_is_a_root_with_probability_q_else_a_child_of_a_uniform_earlier_position(q):
    """Chi-square of position ``i``'s outcome over ``{root, 0, ..., i-1}`` against
    ``(q, (1-q)/i, ..., (1-q)/i)``, Bonferroni over the positions, family level 1e-3."""
    n, count = 9, 6000
    parents = np.array([g.parent_array() for g in _draw(n, q, count, seed=int(q * 100))])  # (count, n), -1: root
    assert np.all(parents[:, 0] == -1)
    for i in range(1, n):
        observed = np.bincount(parents[:, i] + 1, minlength=i + 1)  # [root, 0, ..., i-1]
        expected = count * np.array([q] + [(1 - q) / i] * i)
        assert stats.chisquare(observed, expected).pvalue > LEVEL / (n - 1), i


def test_root_indicators_are_independent_the_number_of_roots_is_binomial():
    """Chi-square of the number of roots among positions ``1..n-1`` against ``Binomial(n-1, 1/2)``
    (cells with expectation below 5 pooled into the tails), level 1e-3."""
    n, count = 12, 6000
    roots = np.array([len(g.roots) - 1 for g in _draw(n, 0.5, count, seed=3)])
    k = np.arange(n)
    probs = stats.binom.pmf(k, n - 1, 0.5)
    lo, hi = k[count * probs >= 5][[0, -1]]
    observed = np.array([np.sum(roots <= lo)] + [np.sum(roots == j) for j in range(lo + 1, hi)] + [np.sum(roots >= hi)])
    expected = count * np.array([probs[: lo + 1].sum()] + list(probs[lo + 1: hi]) + [probs[hi:].sum()])
    assert stats.chisquare(observed, expected).pvalue > LEVEL


def test_random_graphs_pass_the_causal_graph_validators_and_depend_on_the_seed_alone():
    for g in _draw(19, 0.5, 200, seed=4):
        assert CausalGraph(g.parents) == g and g.is_forest and g.n == 19
        assert CausalGraph.from_parents([p if p >= 0 else None for p in g.parent_array()]) == g
    assert bernoulli_root_forest(19, 8) == bernoulli_root_forest(19, np.random.default_rng(8))
    rng = np.random.default_rng(9)
    assert len({bernoulli_root_forest(19, rng).parents for _ in range(20)}) == 20
    assert bernoulli_root_forest(7, 1, root_probability=1.0).roots == tuple(range(7))
    assert bernoulli_root_forest(7, 1, root_probability=0.0).roots == (0,)
    assert bernoulli_root_forest(1, 1).parents == ((),)


# --------------------------------------------------------------------------- the position softmax
def _softmax_loop(block: np.ndarray) -> np.ndarray:
    T = len(block)
    a = np.zeros((T, T))
    for i in range(T):
        top = max(block[i][j] for j in range(i + 1))
        z = sum(math.exp(block[i][j] - top) for j in range(i + 1))
        for j in range(i + 1):
            a[i][j] = math.exp(block[i][j] - top) / z
    return a


def test_position_softmax_matches_a_literal_loop():
    rng = np.random.default_rng(5)
    for T in (1, 2, 7, 20):
        block = rng.normal(scale=3.0, size=(T, T))
        np.testing.assert_allclose(position_softmax(block), _softmax_loop(block), rtol=1e-13, atol=1e-300)
    huge = np.array([[0.0, 0.0], [800.0, -800.0]])
    np.testing.assert_array_equal(position_softmax(huge), [[1.0, 0.0], [1.0, 0.0]])


def test_position_softmax_reads_a_model_block_with_gradients():
    model = DisentangledTransformer(3, 5)
    with torch.no_grad():
        model.A[0][0, 3:, 3:] = torch.as_tensor(np.random.default_rng(6).normal(size=(5, 5)))
    block = model.position_block(0, 0)
    assert block.requires_grad
    np.testing.assert_allclose(position_softmax(block), _softmax_loop(block.detach().numpy()), rtol=1e-13)


def test_parent_weight_by_position_on_a_hand_made_block():
    graph = CausalGraph.from_parents([None, 0, 1, None])  # T = 5
    block = np.zeros((5, 5))
    block[1, 0] = math.log(3.0)  # row 1: (3, 1)/4
    block[2, 1] = math.log(2.0)  # row 2: (1, 2, 1)/4
    positions, weights = parent_weight_by_position(block, graph)
    assert positions.tolist() == [1, 2]
    np.testing.assert_allclose(weights, [0.75, 0.5], rtol=1e-15)
    empty = parent_weight_by_position(np.zeros((3, 3)), CausalGraph.from_parents([None, None]))
    assert empty[0].size == 0 and empty[1].size == 0


def test_summary_of_parent_weights_on_a_hand_made_case():
    per_graph = [([1, 3], [0.5, 0.9]),  # graph mean 0.7
                 (np.array([1, 2]), np.array([0.7, 0.1])),  # 0.4
                 ([2], [0.4])]  # 0.4
    out = summarise_parent_weights(per_graph, n=4)
    assert out["graphs"] == 3
    assert out["parent_weight_mean"] == pytest.approx(0.5, abs=1e-15)
    assert out["parent_weight_std"] == pytest.approx(math.sqrt(0.02), rel=1e-12)  # ddof = 0
    by = out["parent_weight_by_position"]
    assert by["positions"].tolist() == [1, 2, 3] and by["count"].tolist() == [2, 2, 1]
    np.testing.assert_allclose(by["mean"], [0.6, 0.25, 0.9], rtol=1e-14)
    np.testing.assert_allclose(by["std"], [0.1, 0.15, 0.0], atol=1e-15)


# --------------------------------------------------------------------------- the runner
def test_a_tiny_training_run_returns_finite_numbers():
    graph = bernoulli_root_forest(6, 2)
    out = train_random_graph(graph, steps=3, batch=16, seed=0, test_size=64, threads=1)
    assert out["positions"].tolist() == [i for i, p in enumerate(graph.parent_array()) if p >= 0]
    assert out["positions"].size > 0
    assert np.all((out["parent_weights"] > 0) & (out["parent_weights"] < 1))
    for key in ("test_loss", "estimator_loss", "gap", "gap_stderr", "seconds", "eval_seconds"):
        assert np.isfinite(out[key]) and out[key] >= (0 if key != "gap" else -np.inf), key
    assert out["gap"] == pytest.approx(out["test_loss"] - out["estimator_loss"], abs=1e-12)
    assert out["sequences"] == 48 and (out["S"], out["alpha"], out["lr"], out["n"]) == (3, 0.1, 1.0, 6)
    summary = summarise_parent_weights([(out["positions"], out["parent_weights"])], graph.n)
    assert 0 < summary["parent_weight_mean"] < 1 and summary["parent_weight_std"] == 0.0


# --------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize("kwargs, name", [
    (dict(n=0), "n"), (dict(n=2.0), "n"), (dict(rng="0"), "rng"), (dict(rng=-1), "rng"),
    (dict(root_probability=1.5), "root_probability"), (dict(root_probability=-0.1), "root_probability"),
    (dict(root_probability=float("nan")), "root_probability"),
])
def test_bernoulli_root_forest_refuses_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=f"^{name}"):
        bernoulli_root_forest(**(dict(n=5, rng=0) | kwargs))


CHAIN = CausalGraph.chain(3)


@pytest.mark.parametrize("call, name", [
    (lambda: position_softmax(np.zeros((2, 3))), "block"),
    (lambda: position_softmax(np.array([[np.nan]])), "block"),
    (lambda: position_softmax("block"), "block"),
    (lambda: parent_weight_by_position(np.zeros((3, 3)), CHAIN), "block"),
    (lambda: parent_weight_by_position(np.zeros((4, 4)), "chain"), "graph"),
    (lambda: parent_weight_by_position(np.zeros((4, 4)), CausalGraph.from_parents([None, None, [0, 1]])), "graph"),
    (lambda: summarise_parent_weights([], 4), "per_graph"),
    (lambda: summarise_parent_weights(([1], [0.5]), 4), r"per_graph\[0\]"),
    (lambda: summarise_parent_weights([([1], [1.5])], 4), r"per_graph\[0\]"),
    (lambda: summarise_parent_weights([([0], [0.5])], 4), r"per_graph\[0\]"),
    (lambda: summarise_parent_weights([([1], [0.5]), ([4], [0.5])], 4), r"per_graph\[1\]"),
    (lambda: summarise_parent_weights([([1, 1], [0.5, 0.5])], 4), r"per_graph\[0\]"),
    (lambda: summarise_parent_weights([([], [])], 4), r"per_graph\[0\]"),
    (lambda: summarise_parent_weights([([1.0], [0.5])], 4), r"per_graph\[0\]"),
    (lambda: summarise_parent_weights([([1, 2], [0.5])], 4), r"per_graph\[0\]"),
    (lambda: summarise_parent_weights([([1], [0.5])], 1), "n"),
])
def test_position_attention_refuses_bad_arguments(call, name):
    with pytest.raises(ValueError, match=f"^{name}"):
        call()


@pytest.mark.parametrize("kwargs, name", [
    (dict(graph="chain"), "graph"), (dict(graph=CausalGraph.from_parents([None, None, [0, 1]])), "graph"),
    (dict(steps=0), "steps"), (dict(batch=0), "batch"), (dict(lr=-1.0), "lr"), (dict(S=1), "S"),
    (dict(alpha=0.0), "alpha"), (dict(seed=-1), "seed"), (dict(seed=None), "seed"), (dict(test_size=1), "test_size"),
])
def test_train_random_graph_refuses_bad_arguments(kwargs, name):
    args = dict(graph=CHAIN, steps=1, batch=4, seed=0, test_size=8, threads=1) | kwargs
    with pytest.raises(ValueError, match=f"^{name}"):
        train_random_graph(args.pop("graph"), **args)
