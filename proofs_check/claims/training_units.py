"""The units of work of two map claims of :mod:`proofs_check.claims.training`: one stage-1 run per size and
graph of ``causal.train_argmax_parent``, one induction-head excess per context length of
``causal.induction_head_vs_estimator``.

Each claim draws every piece from one generator, in the order of its pieces; a unit draws again what the
earlier pieces draw (cheap: graphs, seeds and sequences, no training or evaluation), so it depends on the
seed and its key alone and gives the record of the sequential loop.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from numerics import training as tr
from numerics.evaluation import sample_sequences_redrawn
from proofs_check.registry import Params, Profile
from theory.graphs import CausalGraph
from theory.priors import DirichletPrior

__all__ = ["ARGMAX_GRAPHS", "argmax_parent_graphs", "argmax_parent_units", "argmax_parent_run",
           "argmax_parent_cost", "excess_lengths", "induction_excess_at_length", "induction_excess_cost"]

#: the graphs of ``causal.train_argmax_parent`` at each size, in the order they draw their seeds
ARGMAX_GRAPHS = ("chain", "icl_pairs", "random_forest")


# --------------------------------------------------------------------------- argmax = parent
def argmax_parent_graphs(n: int, rng: np.random.Generator) -> dict[str, CausalGraph]:
    """The graphs of one size ``n``, keyed as :data:`ARGMAX_GRAPHS`: the in-context chain, ICL pairs and a
    random forest with at least one edge (redrawn from ``rng`` until it has one)."""
    forest = CausalGraph.random_forest(n, rng)
    while all(not ps for ps in forest.parents):  # a forest without edges has nothing to recover
        forest = CausalGraph.random_forest(n, rng)
    return dict(zip(ARGMAX_GRAPHS, (CausalGraph.chain(n), CausalGraph.icl_pairs(n), forest)))


def argmax_parent_units(profile: Profile) -> list[tuple[int, str]]:
    """The claim's units: ``(size index, graph name)`` for every size ``(S[i], n[i])`` and graph."""
    if len(profile.params["S"]) != len(profile.params["n"]):
        raise ValueError("S: expected as many alphabet sizes as context lengths n")
    return [(i, name) for i in range(len(profile.params["n"])) for name in ARGMAX_GRAPHS]


def argmax_parent_run(profile: Profile, unit: tuple[int, str]) -> dict[str, Any]:
    """Unit ``(i, name)``: stage 1 on graph ``name`` at size ``(S[i], n[i])``, its non-root rows whose argmax
    is not the parent, and the attention ``softmax(A1) (T, T)``.  The claim's generator draws, size by size,
    the graphs then one training seed per graph; those before this unit's seed are drawn again here."""
    i, name = unit
    S, n = profile.params["S"][i], profile.params["n"][i]
    rng = profile.rng("causal.train_argmax_parent")
    for earlier in profile.params["n"][:i]:
        argmax_parent_graphs(earlier, rng)
        for _ in ARGMAX_GRAPHS:
            rng.integers(2**31)
    graph = argmax_parent_graphs(n, rng)[name]
    for _ in range(ARGMAX_GRAPHS.index(name) + 1):  # scalar draws, as the loop drew them
        seed = int(rng.integers(2**31))
    run = tr.train_reduced(graph, DirichletPrior(S, profile.params["alpha"]), source="sgd",
                           steps1=profile.params["max_steps"], steps2=0, stop_at_recovery=True, seed=seed,
                           progress=False, test_size=profile.params["test_size"], eval_every=5)
    attention = run.attention()
    bad = int((~tr.attention_argmax_matches(attention, graph)).sum())
    return dict(name=name, S=S, n=n, graph=graph, attention=attention,
                detail=dict(wrong_rows=bad, min_parent_weight=run.min_parent_weight, steps=run.history[-1]["step"],
                            seconds=round(run.seconds, 2), parents=graph.parent_array().tolist()))


def argmax_parent_cost(params: Params, unit: tuple[int, str]) -> float:
    """Estimated seconds of unit ``(i, name)`` on this machine, one thread: ``0.5 (S/10)^1.5 ((n+1)/20)^2``,
    times 1.7 for the random forest (it needs about 1.7 times the steps to recover).  Fitted on seed 0's units
    in the quick and full profiles (0.1 s at (5, 9) to 9 s at (20, 39)); the steps to recovery, not the
    step's cost, carry most of the growth in n, so ``max_steps`` bounds them but does not enter."""
    i, name = unit
    S, n = params["S"][i], params["n"][i]
    return 0.5 * (S / 10) ** 1.5 * ((n + 1) / 20) ** 2 * (1.7 if name == "random_forest" else 1.0)


# --------------------------------------------------------------------------- induction head against the estimator
def excess_lengths(profile: Profile) -> list[int]:
    """The claim's units: one per context length ``n`` (its index)."""
    return list(range(len(profile.params["n"])))


def induction_excess_at_length(profile: Profile, k: int) -> dict[str, Any]:
    """Unit ``k``: the per-sequence excess of the ideal induction head over the count estimator on the chain
    of the ``k``-th length (means over the sequences whose query is seen as a parent, the others and all),
    and its ``c*``.  Each length draws two samples of ``test_size`` sequences from the claim's generator
    (the one ``c*`` is fitted on, then the test sample: ``numerics.evaluation.induction_head_excess``); those
    of the earlier lengths are drawn again here."""
    S, lengths, size = profile.params["S"], profile.params["n"], profile.params["test_size"]
    prior = DirichletPrior(S, 0.1)
    rng = profile.rng("causal.induction_head_vs_estimator")
    for earlier in lengths[:k]:
        for _ in range(2):
            sample_sequences_redrawn(CausalGraph.chain(earlier), prior, size, rng, "stationary")
    n = lengths[k]
    gap, c_star = tr.induction_head_excess(CausalGraph.chain(n), prior, size=size, rng=rng)
    seen, unseen, overall = gap.mean("seen"), gap.mean("unseen"), gap.mean("all")
    return dict(n=n, seen=float(seen.value), seen_stderr=float(seen.stderr),
                unseen=float(unseen.value), unseen_stderr=float(unseen.stderr),
                all=float(overall.value), all_stderr=float(overall.stderr),
                query_seen_fraction=float(gap.query_seen.mean()), c_star=c_star)


def induction_excess_cost(params: Params, k: int) -> float:
    """Estimated seconds of unit ``k`` on this machine, one thread:
    ``0.3 + 0.00134 test_size (S/10) (n/159)^1.7``, fitted on seed 0's units in the quick and full profiles
    (0.1 s at S = 5, n = 9 to 19 s at S = 10, n = 319)."""
    return 0.3 + 0.00134 * params["test_size"] * (params["S"] / 10) * (params["n"][k] / 159) ** 1.7
