"""The argument contract of the public API, under a fuzzer (issue 12).

Part 1, bad input: every public function, constructor and strategy refuses a bad argument with a
``ValueError`` whose message starts with the argument's name (``"size: ..."``, ``"parents[2]: ..."``),
before allocating: huge sizes are refused by the memory budget, not by a ``MemoryError``.  A fixed
table of bad values per kind of argument is thrown at every (entry point, argument) pair, then
hypothesis throws generated ones.

Part 2, valid edge input: small and large Dirichlet concentrations, chains with zero transitions,
``S = 2``, ``n = 1, 2``, isolated roots, tiny entries and the README's sizes give finite numbers; the
same seed gives the same bits in another process.
"""

from __future__ import annotations

import hashlib
import math
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.disentangled import DisentangledTransformer
from model.reduced import ReducedTransformer
from numerics import evaluation, population
from numerics.train_disentangled import train_disentangled
from numerics.train_reduced import train_reduced
from theory import (autoregressive_symbolic, causal, enumeration, estimates, gradients, information, strategies,
                    symbolic, validate)
from theory.causal import CausalGraph, DirichletPrior, FinitePrior

torch.set_num_threads(1)

PI2 = np.array([[0.7, 0.3], [0.4, 0.6]])
PI3 = np.array([[0.5, 0.3, 0.2], [0.1, 0.6, 0.3], [0.3, 0.3, 0.4]])
CHAIN = CausalGraph.chain(3)
DAG = CausalGraph.from_parents([None, None, [0, 1]])
FINITE = FinitePrior(np.stack([PI2, PI2.T / PI2.T.sum(1, keepdims=True)]))
DIRICHLET = DirichletPrior(2, 0.5)
TOKENS = np.array([[0, 1, 1, 0], [1, 1, 0, 0]])
NAN, INF = float("nan"), float("inf")

# ----------------------------------------------------------------------------- bad values by kind
HUGE = 10 ** 9
BAD = {
    "int": [0, -1, 1.5, NAN, INF, None, "3", True, 2 + 0j, [2]],
    "int2": [1, 0, -3, 2.5, NAN, None, "2", False, 3j],
    "positive": [0.0, -1.0, NAN, INF, -INF, None, "0.1", True, 1 + 1j, [0.1]],
    "float": [NAN, INF, -INF, None, "1", 1j],
    "matrix": [PI2.astype(complex) + 1e-3j, PI2 > 0.5, np.array([0.5, 0.5]), np.ones((1, 1)),
               np.array([[0.5, 0.6], [0.4, 0.6]]), np.array([[1.5, -0.5], [0.4, 0.6]]),
               np.array([[NAN, 0.5], [0.4, 0.6]]), "abc", None, np.ones((2, 2, 2, 2)) / 2],
    "choice": ["bogus", None, 1, "", ["linearized"]],
    "rng": [-1, 1.5, "seed", -(2 ** 70), True],
    "seed": [-1, 1.5, "0", None, True],
    "graph": [None, [None, 0], "chain", 3, PI2],
    "forest": [DAG],
    "tokens": [np.array([[0, 1, 5, 0]]), np.array([[0, -1, 1, 0]]), TOKENS.astype(float), np.array([0, 1, 1, 0]),
               "0110", None],
    "bool": [None, 1, "yes"],
    "huge": [HUGE, 10 ** 12],
}


def _case(name, call, **kinds):
    return name, call, kinds


def _reduced_forward(tokens):
    return ReducedTransformer(2, 4)(tokens)


def _disentangled_forward(tokens):
    return DisentangledTransformer(2, 4)(tokens)


def _sym(kwargs, key):
    return kwargs


# Each entry: (name, function of keyword arguments, {argument: [bad-value kinds]}, valid keyword arguments).
ENTRY_POINTS = [
    ("CausalGraph.from_parents", lambda parents: CausalGraph.from_parents(parents),
     {"parents": [[None, 5], [None, 0, 2], [None, "a"], [0], [None, [0, 0]], "abc", None, [], [None, -1]]},
     dict(parents=[None, 0])),
    ("CausalGraph", lambda parents: CausalGraph(parents),
     {"parents": [((), (5,)), ((), (1,)), ((1,), ()), [(), (0,)], ((), (0, 0)), ((), ("a",)), (), None, ((), (-1,))]},
     dict(parents=((), (0,)))),
    ("CausalGraph.chain", CausalGraph.chain, {"n": "int+huge"}, dict(n=3)),
    ("CausalGraph.icl_pairs", CausalGraph.icl_pairs, {"n": "int+huge"}, dict(n=3)),
    ("CausalGraph.random_forest", CausalGraph.random_forest, {"n": "int+huge", "rng": "rng"}, dict(n=3, rng=0)),
    ("DirichletPrior", DirichletPrior, {"S": "int2+huge", "alpha": "positive"}, dict(S=2, alpha=0.1)),
    ("DirichletPrior.sample", lambda size, rng: DIRICHLET.sample(size, rng), {"size": "int+huge", "rng": "rng"},
     dict(size=3, rng=0)),
    ("FinitePrior", FinitePrior, {"matrices": ["abc", None, np.ones((1, 2, 3)), PI2[None] > 0.5, PI2[None] * 1j,
                                               np.array([[[0.5, 0.6], [0.4, 0.6]]])],
                                  "weights": [np.array([1.0]), np.array([0.2, 0.7]), np.array([1.5, -0.5]),
                                              "ab", np.array([0.5 + 0j, 0.5])]},
     dict(matrices=FINITE.matrices, weights=None)),
    ("FinitePrior.sample", lambda size, rng: FINITE.sample(size, rng), {"size": "int+huge", "rng": "rng"},
     dict(size=3, rng=0)),
    ("stationary_distribution", causal.stationary_distribution, {"pi": "matrix"}, dict(pi=PI2)),
    ("prior_stack", lambda prior, draws, rng: causal.prior_stack(prior, draws=draws, rng=rng),
     {"prior": "matrix", "draws": "int+huge", "rng": "rng"}, dict(prior=DIRICHLET, draws=3, rng=0)),
    ("sample_sequences", causal.sample_sequences,
     {"graph": "graph", "prior": "matrix", "size": "int+huge", "rng": "rng", "roots": "choice"},
     dict(graph=CHAIN, prior=PI2, size=4, rng=0, roots="stationary")),
    ("sample_k_parent_sequences", causal.sample_k_parent_sequences,
     {"graph": "graph", "S": "int2", "alpha": "positive", "size": "int+huge", "rng": "rng"},
     dict(graph=DAG, S=2, alpha=0.5, size=4, rng=0)),
    ("count_estimator", causal.count_estimator,
     {"graph": "graph+forest", "tokens": "tokens", "alpha": "positive", "S": "int2"},
     dict(graph=CHAIN, tokens=TOKENS, alpha=0.1, S=2)),
    ("marginals", causal.marginals, {"graph": "graph+forest", "pi": "matrix", "roots": "choice"},
     dict(graph=CHAIN, pi=PI2, roots="stationary")),
    ("pairwise_joint", causal.pairwise_joint, {"graph": "graph+forest", "pi": "matrix", "roots": "choice"},
     dict(graph=CHAIN, pi=PI2, roots="stationary")),
    ("ranking_pairs", causal.ranking_pairs, {"graph": "graph+forest", "keys": "choice"}, dict(graph=CHAIN, keys="all")),
    ("likelihood_ratio_matrix", gradients.likelihood_ratio_matrix,
     {"graph": "graph+forest", "pi": "matrix", "roots": "choice"}, dict(graph=CHAIN, pi=PI2, roots="stationary")),
    ("attention_gradient_from_N", gradients.attention_gradient_from_N,
     {"N": ["abc", np.ones(3), np.ones((2, 3)), np.full((3, 3), NAN), np.ones((3, 3)) * 1j, None], "S": "int2"},
     dict(N=np.ones((3, 3)), S=2)),
    ("attention_gradient_integrand", gradients.attention_gradient_integrand,
     {"tokens": "tokens", "target": "matrix", "reference": "matrix"},
     dict(tokens=TOKENS, target=PI2, reference=PI2)),
    ("empirical_law", gradients.empirical_law, {"tokens": "tokens", "S": "int2+huge"}, dict(tokens=TOKENS, S=2)),
    ("attention_gradient_defined", gradients.attention_gradient_defined,
     {"graph": "graph", "prior": "matrix", "loss": "choice", "roots": "choice", "order": "int"},
     dict(graph=CHAIN, prior=DIRICHLET, loss="linearized", roots="stationary", order=1)),
    ("attention_gradient_at_init", gradients.attention_gradient_at_init,
     {"graph": "graph+forest", "pi": "matrix", "loss": "choice", "roots": "choice", "draws": "int2",
      "rng": "rng", "max_sequences": "int"},
     dict(graph=CHAIN, pi=PI2, loss="cross_entropy", roots="stationary", draws=2, rng=0, max_sequences=1000)),
    ("causal_softmax", gradients.causal_softmax, {"A": ["abc", np.ones(3), np.ones((2, 3)), np.full((2, 2), NAN),
                                                       np.ones((2, 2)) * 1j, None]}, dict(A=np.zeros((3, 3)))),
    ("small_beta_attention_gradient", gradients.small_beta_attention_gradient,
     {"M": [np.ones(3), np.full((3, 3), NAN), None], "A1": [np.ones((2, 2)), np.full((3, 3), INF), "x"],
      "beta": "float"}, dict(M=np.ones((3, 3)), A1=np.zeros((3, 3)), beta=0.1)),
    ("drift_matrix", gradients.drift_matrix,
     {"graph": "graph+forest", "prior": "matrix", "roots": "choice", "draws": "int+huge", "rng": "rng"},
     dict(graph=CHAIN, prior=DIRICHLET, roots="stationary", draws=3, rng=0)),
    ("mutual_information", information.mutual_information,
     {"joint": ["abc", np.ones((2, 2)), np.full((2, 2), 0.25) * 1j, np.eye(2) > 0, np.full((2, 2), NAN), None],
      "kind": "choice"}, dict(joint=np.full((2, 2), 0.25), kind="chi2")),
    ("information_of_pairwise_joints", information.information_of_pairwise_joints,
     {"joint": ["abc", np.ones(2), np.ones((2, 2)), None], "kind": "choice"},
     dict(joint=np.full((2, 2), 0.25), kind="shannon")),
    ("pairwise_information_matrix", information.pairwise_information_matrix,
     {"joint": ["abc", np.ones((2, 2)), None, np.full((2, 2), 0.25) + 0j], "kind": "choice"},
     dict(joint=np.full((2, 2), 0.25), kind="shannon")),
    ("mutual_information_matrix", information.mutual_information_matrix,
     {"graph": "graph+forest", "pi": "matrix", "kind": "choice", "roots": "choice", "draws": "int2+huge",
      "rng": "rng"}, dict(graph=CHAIN, pi=DIRICHLET, kind="chi2", roots="stationary", draws=2, rng=0)),
    ("mixture_information", information.mixture_information,
     {"graph": "graph+forest", "prior": [PI2, None, DIRICHLET, "x"], "roots": "choice"},
     dict(graph=CHAIN, prior=FINITE, roots="stationary")),
    ("sequence_probabilities", enumeration.sequence_probabilities,
     {"graph": "graph+forest", "pi": "matrix", "roots": "choice", "max_sequences": "int"},
     dict(graph=CHAIN, pi=PI2, roots="stationary", max_sequences=100)),
    ("all_sequences", enumeration.all_sequences, {"S": "int+huge", "length": "int+huge"}, dict(S=2, length=3)),
    ("guard_enumeration", enumeration.guard_enumeration, {"budget": "int"}, dict(count=3, budget=10, what="x")),
    ("enumerate_population", enumeration.enumerate_population,
     {"graph": "graph+forest", "pi": "matrix", "roots": "choice", "max_sequences": "int"},
     dict(graph=CHAIN, pi=PI2, roots="stationary", max_sequences=1000)),
    ("information_by_enumeration", enumeration.information_by_enumeration,
     {"joint": ["abc", np.ones((2, 2)), None], "kind": "choice"},
     dict(joint=causal.pairwise_joint(CHAIN, PI2), kind="chi2")),
    ("mean_and_stderr", estimates.mean_and_stderr,
     {"samples": [np.ones(1), np.ones(3) * 1j, "abc", np.array([True, False])], "axis": [5, 1.5, None, "0"]},
     dict(samples=np.ones((3, 2)), axis=0)),
    ("pooled", estimates.pooled, {"chunks": [[], None, [1, 2], "ab"]},
     dict(chunks=[estimates.mean_and_stderr(np.ones((3, 2)))])),
    ("symbolic_population", symbolic.symbolic_population,
     {"graph": ["graph", "forest", CausalGraph.chain(6)], "roots": "choice"}, dict(graph=CausalGraph.chain(2), roots="stationary")),
    ("attention_symbols", symbolic.attention_symbols, {"T": ["int2", 30, HUGE]}, dict(T=3)),
    ("symbolic_beta_series", symbolic.symbolic_beta_series, {"graph": "graph+forest", "order": ["int", 30],
                                                             "roots": "choice"},
     dict(graph=CausalGraph.chain(1), order=1, roots="stationary")),
    ("symbolic_pairwise_joint", symbolic.symbolic_pairwise_joint,
     {"graph": "graph+forest", "i": [-1, 5, 1.5, None], "j": [-1, 5, "0"], "roots": "choice"},
     dict(graph=CausalGraph.chain(2), i=0, j=1, roots="stationary")),
    ("gd_step_loss_symbolic", autoregressive_symbolic.gd_step_loss_symbolic,
     {"t": "int", "d": ["int", HUGE], "kind": "choice"}, dict(t=1, d=2, kind="unitary")),
    ("raw_token_loss_symbolic", autoregressive_symbolic.raw_token_loss_symbolic,
     {"d": ["int", 30, HUGE], "n": "int", "kind": "choice"}, dict(d=2, n=1, kind="unitary")),
    ("sequence_symbols", autoregressive_symbolic.sequence_symbols, {"T": "int+huge", "d": "int+huge"},
     dict(T=2, d=2)),
    ("forests", strategies.forests, {"n": "int+huge"}, dict(n=3)),
    ("trees", strategies.trees, {"n": "int+huge"}, dict(n=3)),
    ("k_parent_dags", strategies.k_parent_dags, {"n": [2, 0, -1, 1.5, None], "k": "int"}, dict(n=4, k=2)),
    ("transition_matrices", strategies.transition_matrices, {"S": "int2+huge", "kind": ["bogus", 1, "", ["generic"]]},
     dict(S=2, kind=None)),
    ("finite_priors", strategies.finite_priors, {"S": "int2+huge", "size": "int+huge"}, dict(S=2, size=2)),
    ("dirichlet_priors", strategies.dirichlet_priors, {"S": "int2+huge", "alpha": "positive"}, dict(S=2, alpha=0.1)),
    ("joint_distributions", strategies.joint_distributions, {"n": "int+huge", "alphabet": "int2+huge"},
     dict(n=2, alphabet=2)),
    ("per_sequence_loss", population.per_sequence_loss,
     {"loss": "choice", "smoothing": [0.0, 1.0, -1.0, NAN, None, "x"], "yhat": [np.ones((2, 2)), None],
      "target": [torch.ones(3, 2, dtype=torch.float64)]},
     dict(yhat=torch.full((2, 2), 0.5, dtype=torch.float64), target=torch.full((2, 2), 0.5, dtype=torch.float64),
          stationary=torch.full((2, 2), 0.5, dtype=torch.float64), loss="linearized", smoothing=1e-3)),
    ("population_gradient_A1", population.population_gradient_A1,
     {"graph": "graph+forest", "pi": "matrix", "beta": "positive", "loss": "choice", "max_sequences": "int"},
     dict(graph=CHAIN, pi=PI2, beta=1e-3, loss="linearized", max_sequences=1000)),
    ("absent_target_probability", population.absent_target_probability,
     {"graph": "graph+forest", "pi": "matrix", "roots": "choice", "max_sequences": "int"},
     dict(graph=CHAIN, pi=PI2, roots="stationary", max_sequences=1000)),
    ("monte_carlo_gradient_A1", population.monte_carlo_gradient_A1,
     {"graph": "graph+forest", "prior": "matrix", "beta": "positive", "batch": "int+huge", "batches": "int2",
      "rng": "rng", "loss": "choice"},
     dict(graph=CHAIN, prior=PI2, beta=0.1, batch=8, batches=2, rng=0, loss="linearized")),
    ("relative_error", population.relative_error, {"approx": [np.ones(3), None, np.ones((2, 2)) * 1j],
                                                   "exact": [np.full((2, 2), NAN), "x"]},
     dict(approx=np.ones((2, 2)), exact=np.ones((2, 2)))),
    ("parent_weights", evaluation.parent_weights, {"attention": [np.ones((2, 2)), None, "x"], "graph": "graph+forest"},
     dict(attention=np.eye(4), graph=CHAIN)),
    ("cross_entropies", evaluation.cross_entropies,
     {"yhat": [np.ones(2), None, np.full((2, 2), NAN)], "target": [np.ones((3, 2))], "smoothing": [1.0, -1.0, NAN]},
     dict(yhat=np.full((2, 2), 0.5), target=np.full((2, 2), 0.5), smoothing=0.0)),
    ("held_out_sample", evaluation.held_out_sample,
     {"graph": "graph+forest", "prior": "matrix", "size": "int+huge", "rng": "rng", "roots": "choice",
      "alpha": "positive"}, dict(graph=CHAIN, prior=PI2, size=4, rng=0, roots="stationary", alpha=0.1)),
    ("train_reduced", lambda **kw: train_reduced(CausalGraph.chain(2), kw.pop("prior"), progress=False, **kw),
     {"prior": "matrix", "source": "choice", "beta": "positive", "lr1": "positive", "steps1": "int", "batch": "int+huge",
      "stage1_loss": "choice", "roots": "choice", "smoothing": [0.0, 1.0, NAN], "draws": "int",
      "max_sequences": "int", "seed": "seed", "stop_at_recovery": "bool", "snapshot_steps": [[-1], "ab", [1.5]]},
     dict(prior=PI2, source="sgd", beta=1.0, lr1=1.0, steps1=1, steps2=0, batch=8, test_size=8, eval_every=1,
          stage1_loss="cross_entropy", roots="stationary", smoothing=1e-2, draws=2, max_sequences=1000, seed=0,
          stop_at_recovery=False, snapshot_steps=())),
    ("train_disentangled", lambda **kw: train_disentangled(CausalGraph.chain(2), kw.pop("prior"), progress=False,
                                                           **kw),
     {"prior": "matrix", "lr": "positive", "steps": "int", "batch": "int+huge", "seed": "seed", "roots": "choice",
      "heads": [(0,), (1.5, 1), "ab", (10 ** 6, 10 ** 6)]},
     dict(prior=PI2, lr=0.01, steps=1, batch=8, test_size=8, eval_every=1, seed=0, roots="stationary", heads=(1, 1))),
    ("ReducedTransformer", ReducedTransformer, {"S": "int2", "T": "int2+huge", "beta": "float"}, dict(S=2, T=4)),
    ("ReducedTransformer.forward", _reduced_forward,
     {"tokens": [torch.tensor([[0, 1, 5, 0]]), torch.tensor([[0, 1, 1]]), torch.zeros(1, 4), None,
                 torch.tensor([[0, -1, 1, 0]])]}, dict(tokens=torch.tensor([[0, 1, 1, 0]]))),
    ("DisentangledTransformer", DisentangledTransformer,
     {"S": "int2", "T": "int2", "heads": [(), (0, 1), (True,), "ab", (10 ** 4, 10 ** 4)]}, dict(S=2, T=4)),
    ("DisentangledTransformer.forward", _disentangled_forward,
     {"tokens": [torch.tensor([[0, 1, 5, 0]]), torch.tensor([[0, 1, 1]]), torch.zeros(1, 4), None]},
     dict(tokens=torch.tensor([[0, 1, 1, 0]]))),
]


def _bad_values(spec):
    if not isinstance(spec, str):
        return [BAD[v][0] if isinstance(v, str) and v in BAD else v for v in spec] if False else [
            w for v in spec for w in (BAD[v] if isinstance(v, str) and v in BAD else [v])]
    out = []
    for kind in spec.split("+"):
        out.extend(BAD[kind])
    return out


CASES = [(name, fn, arg, bad, valid) for name, fn, args, valid in ENTRY_POINTS for arg, spec in args.items()
         for bad in _bad_values(spec)]


def _call(fn, valid, arg, bad):
    kwargs = dict(valid)
    kwargs[arg] = bad
    result = fn(**kwargs)
    if isinstance(result, st.SearchStrategy):  # a strategy with a bad size drawn from a strategy: draw it
        result.example()
    return result


def _refused_by_name(fn, valid, arg, bad) -> str | None:
    """None when the call refuses with a ValueError naming ``arg``; otherwise what happened instead."""
    started = time.perf_counter()
    try:
        _call(fn, valid, arg, bad)
    except ValueError as exc:
        msg = str(exc)
        if msg.startswith(arg) and msg[len(arg):len(arg) + 1] in (":", "[", " "):
            return None
        return f"ValueError not naming {arg!r}: {msg[:120]}"
    except Exception as exc:  # noqa: BLE001 - the point is to see what escapes
        return f"{type(exc).__name__}: {str(exc)[:120]}"
    return f"accepted ({time.perf_counter() - started:.2f} s)"


def test_valid_arguments_of_the_table_are_accepted():
    """The table's valid arguments pass (so a refusal below is caused by the bad argument alone)."""
    for name, fn, _, valid in ENTRY_POINTS:
        _call(fn, valid, next(iter(valid)), valid[next(iter(valid))])


def test_every_bad_argument_is_refused_by_name(capsys):
    failures, counts = [], {}
    for name, fn, arg, bad, valid in CASES:
        outcome = _refused_by_name(fn, valid, arg, bad)
        thrown, refused = counts.get(name, (0, 0))
        counts[name] = (thrown + 1, refused + (outcome is None))
        if outcome is not None:
            failures.append(f"{name}({arg}={validate.short_repr(bad)}): {outcome}")
    with capsys.disabled():
        total = sum(t for t, _ in counts.values())
        print(f"\n{total} bad inputs over {len(counts)} entry points, "
              f"{sum(r for _, r in counts.values())} refused by name")
    assert not failures, "\n".join(failures)


# hypothesis: generated bad scalars for every integer, positive-real and choice argument of the table
_INT_CASES = [(n, f, a, v) for n, f, args, v in ENTRY_POINTS for a, s in args.items()
              if isinstance(s, str) and s.split("+")[0] in ("int", "int2")]
_FLOAT_CASES = [(n, f, a, v) for n, f, args, v in ENTRY_POINTS for a, s in args.items()
                if isinstance(s, str) and s.split("+")[0] == "positive"]
_CHOICE_CASES = [(n, f, a, v) for n, f, args, v in ENTRY_POINTS for a, s in args.items() if s == "choice"]
_FUZZ = settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))


@_FUZZ
@given(st.sampled_from(_INT_CASES), st.one_of(st.integers(max_value=0), st.floats().filter(lambda x: x != int(x)
                                                                                             if math.isfinite(x)
                                                                                             else True),
                                              st.text(max_size=3), st.none(), st.complex_numbers()))
def test_generated_bad_integers_are_refused_by_name(case, bad):
    name, fn, arg, valid = case
    assert _refused_by_name(fn, valid, arg, bad) is None


@_FUZZ
@given(st.sampled_from(_FLOAT_CASES), st.one_of(st.floats(max_value=0.0), st.just(NAN), st.just(INF),
                                                st.text(max_size=3), st.none(), st.complex_numbers(allow_nan=False)
                                                .filter(lambda z: z.imag != 0)))
def test_generated_bad_reals_are_refused_by_name(case, bad):
    name, fn, arg, valid = case
    assert _refused_by_name(fn, valid, arg, bad) is None


@_FUZZ
@given(st.sampled_from(_CHOICE_CASES), st.one_of(st.text(max_size=8), st.integers(), st.none()))
def test_generated_bad_choices_are_refused_by_name(case, bad):
    name, fn, arg, valid = case
    if bad in ("stationary", "uniform", "linearized", "cross_entropy", "sgd", "population", "earlier", "diagonal",
               "all", "shannon", "chi2", "generic", "near_degenerate", "self_looping", "sparse"):
        return
    assert _refused_by_name(fn, valid, arg, bad) is None


@_FUZZ
@given(st.integers(1, 6), st.data())
def test_generated_bad_parents_are_refused_by_name(n, data):
    parents = [data.draw(st.one_of(st.none(), st.integers(-3, n + 2))) for _ in range(n)]
    if all(p is None or 0 <= p < i for i, p in enumerate(parents)):
        return
    for make in (CausalGraph.from_parents, lambda ps: CausalGraph(tuple(() if p is None else (p,) for p in ps))):
        with pytest.raises(ValueError, match=r"^parents"):
            make(parents)


def test_huge_sizes_are_refused_before_allocating():
    """Budgets in bytes: each refusal comes at once (no MemoryError, no minutes of work) and names the size."""
    calls = [
        ("size", lambda: DirichletPrior(10 ** 5).sample(10)),
        ("draws", lambda: gradients.attention_gradient_at_init(CHAIN, DirichletPrior(3, 0.1), draws=10 ** 9)),
        ("graph", lambda: gradients.likelihood_ratio_matrix(CausalGraph.chain(30000), PI2)),
        ("graph", lambda: information.mutual_information_matrix(CausalGraph.chain(5000), PI3)),
        ("max_sequences", lambda: gradients.attention_gradient_at_init(CausalGraph.chain(19), PI2,
                                                                       loss="cross_entropy", max_sequences=10 ** 9,
                                                                       max_bytes=2 ** 28)),
        ("max_sequences", lambda: enumeration.enumerate_population(CausalGraph.chain(20000), PI2)),
        ("heads", lambda: DisentangledTransformer(10, 20, (64, 64, 64))),
        ("T", lambda: ReducedTransformer(2, 10 ** 6)),
        ("size", lambda: causal.sample_sequences(CHAIN, PI2, 10 ** 10)),
        ("n", lambda: CausalGraph.chain(10 ** 9)),
        ("d", lambda: autoregressive_symbolic.gd_step_loss_symbolic(30, 30)),
        ("d", lambda: autoregressive_symbolic.raw_token_loss_symbolic(30, 30)),
        ("T", lambda: symbolic.attention_symbols(30)),
    ]
    for arg, call in calls:
        started = time.perf_counter()
        with pytest.raises(ValueError, match=rf"^{arg}\b"):
            call()
        assert time.perf_counter() - started < 5.0, arg


def test_cross_entropy_gradient_at_the_readme_size_is_bounded():
    """``chain(19)`` at S = 2 (2^20 sequences) runs in blocks of sequences: its estimate is below the
    budget and a small ``max_bytes`` refuses it before enumerating, naming ``max_sequences``."""
    with pytest.raises(ValueError, match=r"^max_sequences: .* GiB|^max_sequences: .* MiB"):
        gradients.attention_gradient_at_init(CausalGraph.chain(19), PI2, loss="cross_entropy", max_bytes=2 ** 27)


# ----------------------------------------------------------------------------- part 2: valid edge inputs
ALPHAS = (0.001, 0.01, 0.1, 1.0, 100.0)


def _finite_defined(result) -> bool:
    if isinstance(result, estimates.Estimate):
        value = np.ma.getdata(result.value)[result.defined]
        stderr = np.ma.getdata(result.stderr)[result.finite_variance]
        return bool(np.all(np.isfinite(value)) and np.all(np.isfinite(stderr)))
    return bool(np.all(np.isfinite(np.asarray(result))))


@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("S", (2, 3, 6))
def test_small_and_large_concentrations_give_finite_numbers(alpha, S):
    prior = DirichletPrior(S, alpha)
    pis = prior.sample(1000, 1)
    assert np.all(pis > 0) and np.allclose(pis.sum(axis=2), 1.0, atol=1e-12)
    mu = causal.stationary_distribution(pis)
    assert np.all(np.isfinite(mu)) and np.all(mu >= gradients.MIN_STATIONARY)
    for roots in ("stationary", "uniform"):
        assert _finite_defined(gradients.attention_gradient_at_init(CHAIN, prior, draws=1000, rng=2, roots=roots))
        assert _finite_defined(gradients.drift_matrix(CHAIN, prior, draws=1000, rng=2, roots=roots))
    assert _finite_defined(gradients.attention_gradient_at_init(CausalGraph.chain(2), prior, draws=20, rng=2,
                                                                loss="cross_entropy"))
    assert _finite_defined(information.mutual_information_matrix(CHAIN, prior, draws=50, rng=3))
    batch = causal.sample_sequences(CausalGraph.chain(5), prior, 500, 4)
    assert np.all(np.isfinite(batch.target)) and batch.tokens.max() < S
    assert _finite_defined(population.monte_carlo_gradient_A1(CHAIN, prior, 0.1, batch=64, batches=2, rng=5))


@pytest.mark.parametrize("alpha", (0.001, 0.01, 100.0))
def test_population_training_with_the_closed_form_runs_at_any_concentration(alpha):
    run = train_reduced(CausalGraph.chain(3), DirichletPrior(2, alpha), source="population",
                        stage1_loss="linearized", steps1=3, steps2=0, draws=1000, test_size=64, eval_every=3,
                        progress=False)
    assert np.all(np.isfinite(run.A1[:-1])) and np.isfinite(run.final_test_loss)


def test_the_dirichlet_stream_is_numpy_s_where_no_entry_underflows():
    """The floor changes only entries below 2^-960: at α = 0.1 every draw is NumPy's own."""
    ours = DirichletPrior(3, 0.1).sample(2000, 11)
    numpy_s = np.random.default_rng(11).dirichlet(np.full(3, 0.1), size=(2000, 3))
    assert np.array_equal(ours, numpy_s)
    tiny = DirichletPrior(3, 0.001).sample(200, 11)
    raw = np.random.default_rng(11).dirichlet(np.full(3, 0.001), size=(200, 3))
    assert np.array_equal(tiny[raw >= causal.PROBABILITY_FLOOR], raw[raw >= causal.PROBABILITY_FLOOR])
    assert np.all(tiny[raw < causal.PROBABILITY_FLOOR] == causal.PROBABILITY_FLOOR)


ZERO_TRANSITION_CHAINS = [
    np.array([[0.0, 1.0], [1.0, 0.0]]),  # periodic
    np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]),  # a 3-cycle
    np.array([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0], [0.5, 0.5, 0.0]]),
    np.array([[1.0 - 1e-300, 1e-300], [0.5, 0.5]]),  # tiny entry: μ(1) ≈ 2e-300
    np.array([[5e-324, 1.0], [0.5, 0.5]]),  # subnormal entry, full support
]
GRAPHS = [CausalGraph.chain(1), CausalGraph.chain(2), CausalGraph.from_parents([None, None, None]),
          CausalGraph.from_parents([None, 0, None, 2]), CausalGraph.icl_pairs(4)]


@pytest.mark.parametrize("pi", ZERO_TRANSITION_CHAINS, ids=range(len(ZERO_TRANSITION_CHAINS)))
@pytest.mark.parametrize("graph", GRAPHS, ids=lambda g: str(g.parents))
def test_edge_chains_and_graphs_give_finite_numbers(pi, graph):
    for roots in ("stationary", "uniform"):
        for f in (gradients.likelihood_ratio_matrix, causal.pairwise_joint, causal.marginals):
            assert _finite_defined(f(graph, pi, roots))
        assert _finite_defined(information.mutual_information_matrix(graph, pi, "chi2", roots))
        assert _finite_defined(gradients.attention_gradient_at_init(graph, pi, loss="cross_entropy", roots=roots))
        assert _finite_defined(gradients.attention_gradient_at_init(graph, pi, roots=roots))


def test_a_stationary_law_below_float64_is_refused_by_name_not_returned_as_inf():
    """μ_π(0) ≈ 1e-323: N[n, n] ≈ 5e322 is not a float64 number; the linearised loss refuses naming ``pi``,
    the cross-entropy (which does not divide by μ_π) answers."""
    pi = np.array([[0.5, 0.5], [5e-324, 1.0]])
    with pytest.raises(ValueError, match=r"^pi: .*full support"):
        gradients.likelihood_ratio_matrix(CHAIN, pi)
    assert _finite_defined(gradients.attention_gradient_at_init(CHAIN, pi, loss="cross_entropy"))


def test_readme_sizes_give_finite_numbers():
    prior = DirichletPrior(10, 0.1)
    graph = CausalGraph.chain(19)
    assert _finite_defined(gradients.attention_gradient_at_init(graph, prior, draws=200, rng=0))
    assert _finite_defined(gradients.drift_matrix(graph, prior, draws=200, rng=0))
    assert _finite_defined(gradients.likelihood_ratio_matrix(CausalGraph.chain(1500), PI3))


def test_same_seed_same_bits_across_processes():
    code = ("import hashlib, numpy as np; from theory.causal import CausalGraph, DirichletPrior, sample_sequences;"
            "from theory.gradients import attention_gradient_at_init as g;"
            "p = DirichletPrior(3, 0.01); a = p.sample(500, 7);"
            "b = np.ma.getdata(g(CausalGraph.chain(4), p, draws=300, rng=3, roots='uniform').value);"
            "c = sample_sequences(CausalGraph.chain(4), p, 300, 9).tokens;"
            "print(hashlib.sha256(a.tobytes() + b.tobytes() + c.tobytes()).hexdigest())")
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
            for _ in range(2)}
    assert len(runs) == 1
    local = {}
    exec(code.replace("print(", "local['h'] = ("), {"local": local})
    assert runs == {local["h"]}
    assert hashlib.sha256(b"").hexdigest()  # the module is used
