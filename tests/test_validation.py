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
import warnings

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.autoregressive import (AugmentedLinearAttention, ComplexAugmentedLinearAttention, PositionalOnly,
                                  RawTokenMultiHead, augmented_tokens, gd_step_weights, raw_token_prediction)
from model.disentangled import DisentangledTransformer
from model.official_autoregressive import AugmentedLinearAttentionOfficial, official_augmented_tokens
from model.official_raw_tokens import OfficialRawTokens, head_maps
from model.reduced import ReducedTransformer
from model.standard import Block, StandardTransformer
from numerics import ar1_reconstruction as ar1
from numerics import architecture_gap as gap
from numerics import augmented as na
from numerics import autoregressive as nar
from numerics import train_autoregressive as tar
from numerics import figure9, haar_references as hr, position_attention, published_bayes
from numerics import train_haar, train_multi_parent as tmp, train_raw_haar as trh, train_standard
from numerics import evaluation, population, runtime, sampling_torch
from numerics import train_disentangled as td
from numerics.runtime import TrainingDiverged
from numerics.train_disentangled import train_disentangled
from numerics.train_reduced import ReducedTrainingConfig, train_reduced
from theory import (autoregressive_symbolic, enumeration, estimates, estimators, gradients, graphs, information,
                    laws, positional, priors, sampling, strategies, symbolic, validate)
from theory import autoregressive as ar
from theory import haar_moments as hm, multi_parent as mp, published, published_autoregressive
from theory import random_graphs
from theory.graphs import CausalGraph
from theory.priors import DirichletPrior, FinitePrior

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
    ("stationary_distribution", laws.stationary_distribution, {"pi": "matrix"}, dict(pi=PI2)),
    ("prior_stack", lambda prior, draws, rng: priors.prior_stack(prior, draws=draws, rng=rng),
     {"prior": "matrix", "draws": "int+huge", "rng": "rng"}, dict(prior=DIRICHLET, draws=3, rng=0)),
    ("sample_sequences", sampling.sample_sequences,
     {"graph": "graph", "prior": "matrix", "size": "int+huge", "rng": "rng", "roots": "choice"},
     dict(graph=CHAIN, prior=PI2, size=4, rng=0, roots="stationary")),
    ("sample_k_parent_sequences", sampling.sample_k_parent_sequences,
     {"graph": "graph", "S": "int2", "alpha": "positive", "size": "int+huge", "rng": "rng"},
     dict(graph=DAG, S=2, alpha=0.5, size=4, rng=0)),
    ("count_estimator", estimators.count_estimator,
     {"graph": "graph+forest", "tokens": "tokens", "alpha": "positive", "S": "int2"},
     dict(graph=CHAIN, tokens=TOKENS, alpha=0.1, S=2)),
    ("marginals", laws.marginals, {"graph": "graph+forest", "pi": "matrix", "roots": "choice"},
     dict(graph=CHAIN, pi=PI2, roots="stationary")),
    ("pairwise_joint", laws.pairwise_joint, {"graph": "graph+forest", "pi": "matrix", "roots": "choice"},
     dict(graph=CHAIN, pi=PI2, roots="stationary")),
    ("ranking_pairs", graphs.ranking_pairs, {"graph": "graph+forest", "keys": "choice"}, dict(graph=CHAIN, keys="all")),
    ("likelihood_ratio_matrix", gradients.likelihood_ratio_matrix,
     {"graph": "graph+forest", "prior": "matrix", "roots": "choice"}, dict(graph=CHAIN, prior=PI2, roots="stationary")),
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
     {"graph": "graph+forest", "prior": "matrix", "loss": "choice", "roots": "choice", "draws": "int2",
      "rng": "rng", "max_sequences": "int"},
     dict(graph=CHAIN, prior=PI2, loss="cross_entropy", roots="stationary", draws=2, rng=0, max_sequences=1000)),
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
     {"graph": "graph+forest", "prior": "matrix", "kind": "choice", "roots": "choice", "draws": "int2+huge",
      "rng": "rng"}, dict(graph=CHAIN, prior=DIRICHLET, kind="chi2", roots="stationary", draws=2, rng=0)),
    ("mixture_information", information.mixture_information,
     {"graph": "graph+forest", "prior": [PI2, None, DIRICHLET, "x"], "roots": "choice"},
     dict(graph=CHAIN, prior=FINITE, roots="stationary")),
    ("sequence_probabilities", enumeration.sequence_probabilities,
     {"graph": "graph+forest", "pi": "matrix", "roots": "choice", "max_sequences": "int"},
     dict(graph=CHAIN, pi=PI2, roots="stationary", max_sequences=100)),
    ("all_sequences", enumeration.all_sequences, {"S": "int+huge", "length": "int+huge"}, dict(S=2, length=3)),
    ("guard_enumeration", enumeration.guard_enumeration, {"budget": "int"}, dict(count=3, budget=10, what="x")),
    ("enumerate_population", enumeration.enumerate_population,
     {"graph": "graph+forest", "prior": "matrix", "roots": "choice", "max_sequences": "int"},
     dict(graph=CHAIN, prior=PI2, roots="stationary", max_sequences=1000)),
    ("information_by_enumeration", enumeration.information_by_enumeration,
     {"joint": ["abc", np.ones((2, 2)), None], "kind": "choice"},
     dict(joint=laws.pairwise_joint(CHAIN, PI2), kind="chi2")),
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
    ("SequenceLoss", population.SequenceLoss, {"loss": "choice", "smoothing": [0.0, 1.0, -1.0, NAN, None, "x"]},
     dict(loss="cross_entropy", smoothing=1e-3)),
    ("per_sequence_loss", population.per_sequence_loss,
     {"loss": "choice", "smoothing": [0.0, 1.0, -1.0, NAN, None, "x"], "yhat": [np.ones((2, 2)), None],
      "target": [torch.ones(3, 2, dtype=torch.float64)]},
     dict(yhat=torch.full((2, 2), 0.5, dtype=torch.float64), target=torch.full((2, 2), 0.5, dtype=torch.float64),
          stationary=torch.full((2, 2), 0.5, dtype=torch.float64), loss="linearized", smoothing=1e-3)),
    ("population_gradient_A1", population.population_gradient_A1,
     {"graph": "graph+forest", "prior": "matrix", "beta": "positive", "loss": "choice", "max_sequences": "int"},
     dict(graph=CHAIN, prior=PI2, beta=1e-3, loss="linearized", max_sequences=1000)),
    ("absent_target_probability", population.absent_target_probability,
     {"graph": "graph+forest", "prior": "matrix", "roots": "choice", "max_sequences": "int"},
     dict(graph=CHAIN, prior=PI2, roots="stationary", max_sequences=1000)),
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
    ("ReducedTrainingConfig", ReducedTrainingConfig,
     {"source": "choice", "beta": "positive", "lr1": "positive", "steps1": "int", "lr2": "positive",
      "steps2": [-1, 1.5, True, "3", None], "stage1_loss": "choice", "stage2_loss": "choice", "batch": "int",
      "roots": "choice", "smoothing": [0.0, 1.0, NAN, None], "draws": "int", "population_size": "int",
      "max_sequences": "int", "test_size": [1, 0, None], "eval_every": "int", "snapshot_steps": [[-1], "ab", [1.5]],
      "alpha": [0.0, NAN, "x"], "stop_at_recovery": "bool", "seed": "seed", "progress": "bool"},
     dict(source="sgd", steps1=1, steps2=0)),
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


# ----------------------------------------------------------------------------- issue 21: spec 2 and the models
# Bad values of the autoregressive code and the torch models: non-finite entries, broken promises
# (unitary, orthogonal, stochastic, a law), fractional orders, indices out of range, wrong widths and
# dtypes, and sizes that only a byte budget refuses (no MemoryError, no OverflowError).
F64, C128 = torch.float64, torch.complex128
ETA = [NAN, INF, -INF, None, "0.5", 1j]
NU = [0.5, 0.0, NAN, INF, None, "2"]
C_BAD = [np.full((2, 2), NAN), np.ones((2, 3)), np.ones(2), "ab", None, np.eye(2) * 1j]
P_BAD = [np.ones(1), np.array([1.0, NAN]), np.ones((2, 2)), "ab", None]
NOT_UNITARY = [np.zeros((2, 2)), 2 * np.eye(2), np.array([[1.0, 1.0], [0.0, 1.0]]), np.full((2, 2), NAN), "ab",
               np.eye(3), np.array([[1, 0], [0, 1 + 1e-6]])]
STACK_BAD = [PI2, np.full((1, 2, 2), NAN), np.array([[[0.5, 0.6], [0.4, 0.6]]]), np.array([[[1.5, -0.5], [0.4, 0.6]]]),
             "ab", None, np.ones((1, 1, 1))]
SEQS_BAD = [torch.full((1, 3, 2), NAN, dtype=F64), torch.ones(1, 3, 3, dtype=F64), torch.ones(1, 1, 2, dtype=F64),
            torch.ones(3, 2, dtype=F64), np.ones((1, 3, 2)), None, torch.ones(1, 3, 2, dtype=torch.int64)]
MOM = na.population_moments(na.Setting("complex", "fixed", 1, 1))
MOM_BAD = [None, "x", 1.0]
TINY_SETTING = na.Setting("complex", "gaussian", 1, 1)
POWERS = laws.transition_powers(PI2[None], 2)


def _model_call(make, method, **fixed):
    """A method of a freshly built model, called with keyword arguments (the table's form)."""
    return lambda **kw: getattr(make(), method)(**{**fixed, **kw})


AUTOREGRESSIVE_ENTRY_POINTS = [
    # theory.autoregressive
    ("phase_moment", ar.phase_moment,
     {"m": [0.5, [0, 0.5], NAN, INF, "a", [1 + 1j], None, True, [True, False]], "nu": NU},
     dict(m=np.array([0, 1, 2]), nu=1.0)),
    ("phase_moment_rule", ar.phase_moment_rule, {"exponents": [[0.5], "ab", [[1], [1, 2]], None, [NAN]]},
     dict(exponents=[0, 0])),
    ("sample_phases", ar.sample_phases, {"d": "int+huge", "size": "int+huge", "nu": NU, "rng": "rng"},
     dict(d=2, size=3, rng=0, nu=1.0)),
    ("haar_unitary", ar.haar_unitary, {"d": "int+huge", "real": "bool", "rng": "rng"}, dict(d=2, rng=0, real=False)),
    ("commuting_unitary_contexts", ar.commuting_unitary_contexts,
     {"d": "int+huge", "size": "int+huge", "Q": NOT_UNITARY, "nu": NU, "rng": "rng"},
     dict(d=2, size=3, rng=0, nu=1.0, Q=np.array([[0, 1j], [1, 0]]))),
    ("rotation_blocks", ar.rotation_blocks,
     {"theta": [np.full((2, 1), NAN), np.ones(3), "ab", None, np.ones((2, 1)) * 1j, np.array([["a"]])]},
     dict(theta=np.zeros((2, 1)))),
    ("commuting_orthogonal_contexts", ar.commuting_orthogonal_contexts,
     {"d": [3, 0, -2, 1.5, None, "2", HUGE], "size": "int+huge", "P": NOT_UNITARY + [np.eye(2) * 1j, np.eye(4)],
      "nu": NU, "rng": "rng"},
     dict(d=2, size=3, rng=0, nu=1.0, P=np.array([[0.0, 1.0], [1.0, 0.0]]))),
    ("haar_orthogonal_contexts", ar.haar_orthogonal_contexts, {"d": "int+huge", "size": "int+huge", "rng": "rng"},
     dict(d=2, size=3, rng=0)),
    ("default_s0", ar.default_s0, {"d": "int+huge", "kind": "choice"}, dict(d=2, kind="unitary")),
    ("sequences", ar.sequences,
     {"W": [np.full((1, 2, 2), NAN), np.ones((2, 2)), np.array([[["a", "b"], ["c", "d"]]]), None, np.ones((1, 2, 3)),
            np.ones((1, 2, 2)) > 0],
      "s0": [np.full(2, INF), np.ones(3), "ab", None, np.array(["a", "b"])], "T": "int+huge"},
     dict(W=np.eye(2)[None], s0=np.ones(2) / np.sqrt(2), T=3)),
    ("autoregressive.sample_sequences", ar.sample_sequences,
     {"kind": "choice", "d": "int+huge", "T": "int+huge", "size": "int+huge", "rng": "rng", "nu": NU,
      "s0": [np.full(2, NAN), np.ones(3), "ab", np.array(["a", "b"])]},
     dict(kind="unitary", d=2, T=3, size=2, rng=0, nu=1.0, s0=None)),
    ("one_step_gd_prediction", ar.one_step_gd_prediction,
     {"seqs": [np.full((1, 3, 2), NAN), np.ones(2), np.ones((1, 1, 2)), np.array([["a", "b"], ["c", "d"]]), None,
               np.broadcast_to(0.0, (1, 10 ** 5, 1))],
      "eta": ETA}, dict(seqs=np.ones((1, 3, 2)), eta=0.5)),
    ("gd_step_loss_coefficients", ar.gd_step_loss_coefficients,
     {"t": [0, -1, 1.5, NAN, None, "3", 10 ** 30, np.array([0, 1]), np.array([1.0, 2.0])],
      "d": [0, np.array([1.5]), 10 ** 30, np.arange(1, 4).reshape(3, 1), "2"]},
     dict(t=np.array([[1], [2]]), d=np.array([1, 2, 3]))),
    ("gd_step_population_loss", ar.gd_step_population_loss,
     {"eta": [NAN, INF, "a", None, np.ones(5), 1j], "t": [0, 10 ** 30], "d": [0, 1.5]},
     dict(eta=np.array([0.1, 0.2]), t=np.array([1, 2]), d=3)),
    ("optimal_gd_step", ar.optimal_gd_step, {"t": [0, -1, 1.5, NAN, None, 10 ** 30], "d": [0, 2.5, "2", 10 ** 19]},
     dict(t=1, d=2)),
    ("raw_token_population_loss", ar.raw_token_population_loss, {"C": C_BAD, "p": P_BAD},
     dict(C=np.eye(2), p=np.array([0.0, 1.0]))),
    ("raw_token_population_loss_real_orthogonal", ar.raw_token_population_loss_real_orthogonal,
     {"C": C_BAD + [np.eye(3)], "p": P_BAD}, dict(C=np.eye(2), p=np.array([0.0, 1.0]))),
    ("raw_token_global_minimum", ar.raw_token_global_minimum, {"d": "int", "H": "int"}, dict(d=2, H=1)),
    ("raw_token_minimiser", ar.raw_token_minimiser,
     {"d": "int+huge", "H": "int+huge", "p_last": [0.0, NAN, INF, None, "1"], "rng": "rng"},
     dict(d=2, H=1, rng=0, p_last=1.0)),
    ("raw_token_global_minimum_real_orthogonal", ar.raw_token_global_minimum_real_orthogonal,
     {"d": [3, 0, None, 1.5], "H": "int"}, dict(d=2, H=1)),
    ("raw_token_minimiser_real_orthogonal", ar.raw_token_minimiser_real_orthogonal,
     {"d": [3, 0, 1.5, None, HUGE], "H": "int+huge", "n": "int+huge", "p_last": [0.0, NAN, None], "rng": "rng"},
     dict(d=2, H=1, n=2, rng=0, p_last=1.0)),
    # theory.positional
    ("positional_gram", positional.positional_gram, {"C": C_BAD, "n": "int+huge", "nu": NU},
     dict(C=np.eye(1), n=2, nu=2.0)),
    ("positional_gram_spectrum", positional.positional_gram_spectrum,
     {"C": C_BAD, "n": "int+huge", "nu": NU, "digits": [0, 15, 1.5, "x", 10 ** 6, True]},
     dict(C=np.eye(1), n=1, nu=2.0, digits=30)),
    ("positional_gram_condition_number", positional.positional_gram_condition_number,
     {"C": C_BAD, "n": "int+huge", "nu": NU}, dict(C=np.eye(1), n=1, nu=1.0)),
    ("positional_population_loss", positional.positional_population_loss,
     {"p": P_BAD + [np.zeros(10 ** 5)], "C": C_BAD, "nu": NU}, dict(p=np.array([0.0, 1.0]), C=np.eye(1), nu=1.0)),
    ("optimal_positional_weights", positional.optimal_positional_weights, {"C": C_BAD, "n": "int+huge", "nu": NU},
     dict(C=np.eye(1), n=2, nu=1.0)),
    ("optimal_positional_matrix", positional.optimal_positional_matrix, {"C": C_BAD, "T": "int+huge", "nu": NU},
     dict(C=np.eye(1), T=2, nu=1.0)),
    ("positional_row_grams", positional.positional_row_grams, {"C": C_BAD, "n_max": "int+huge", "nu": NU},
     dict(C=np.eye(1), n_max=2, nu=1.0)),
    ("gd_spectral_filter", positional.gd_spectral_filter,
     {"lam": [np.array([NAN]), "ab", None, np.array([1j])], "kappa": "positive",
      "t": [-1, 0.5, NAN, 2 ** 60, "3", None, np.array([1, -2]), True]},
     dict(lam=np.array([0.0, 0.5]), kappa=0.1, t=3)),
    ("quadratic_gd_path", positional.quadratic_gd_path,
     {"G": [np.full((1, 2, 2), NAN), np.ones((2, 2)), np.array([[[1.0, 2.0], [0.0, 1.0]]]), "ab"],
      "g": [np.ones((1, 3)), np.full((1, 2), INF)], "c": [NAN, np.ones(3)], "lr": "positive",
      "steps": [-1, 1.5, 2 ** 60, "3", True]},
     dict(G=np.eye(2)[None], g=np.ones((1, 2)), c=1.0, lr=0.1, steps=3)),
    ("positional_gd_path", positional.positional_gd_path,
     {"C": C_BAD, "n_max": "int+huge", "nu": NU, "lr": "positive", "steps": [-1, 1.5, 2 ** 60]},
     dict(C=np.eye(1), n_max=2, nu=2.0, lr=0.5, steps=3)),
    # theory.autoregressive_symbolic
    ("phase_expectation", autoregressive_symbolic.phase_expectation,
     {"expr": ["x", None, [1]], "lambdas": ["ab", [1, 2], None, [sp.Symbol("x") + 1]],
      "nu": [0.5, 0, NAN, INF, sp.Rational(1, 2), sp.nan, sp.oo, "2", None]},
     dict(expr=sp.Symbol("l") + 1 / sp.Symbol("l"), lambdas=[sp.Symbol("l")], nu=1)),
    ("gd_step_loss_symbolic (int64)", autoregressive_symbolic.gd_step_loss_symbolic,
     {"t": [10 ** 30, 10 ** 400], "d": [10 ** 30]}, dict(t=1, d=2, kind="unitary")),
    ("raw_token_loss_symbolic (nu)", autoregressive_symbolic.raw_token_loss_symbolic,
     {"n": [10 ** 30, 10 ** 400], "nu": [0.5, NAN, sp.Rational(1, 2), sp.zoo, [1]]},
     dict(d=1, n=1, kind="unitary", nu=1)),
    ("raw_token_loss_function", autoregressive_symbolic.raw_token_loss_function,
     {"d": ["int", 30, HUGE], "n": "int+huge", "kind": "choice"}, dict(d=1, n=1, kind="unitary")),
    ("augmented_attention_output_symbolic", autoregressive_symbolic.augmented_attention_output_symbolic,
     {"Q": ["ab", None, np.ones((3, 3)), [[1, 2], [3]], np.full((6, 6), NAN)], "K": [np.ones((5, 5)), None],
      "V": [np.full((6, 6), INF)], "s": ["ab", np.ones((1, 2)), None, np.full((3, 2), NAN), [[1, 2], [3]]]},
     dict(Q=np.eye(6), K=np.eye(6), V=np.eye(6), s=np.ones((3, 2)))),
    ("one_step_gd_prediction_symbolic", autoregressive_symbolic.one_step_gd_prediction_symbolic,
     {"s": ["ab", np.ones((1, 2)), None, np.full((3, 2), INF)], "eta": [NAN, INF, "x", sp.zoo, None, 1j]},
     dict(s=np.ones((3, 2)), eta=0.5)),
    ("one_step_gd_identity_residual", autoregressive_symbolic.one_step_gd_identity_residual,
     {"Q": [np.ones((4, 4)), "ab", None, np.ones((6, 3))], "eta": [NAN, sp.oo, None], "T": "int+huge"},
     dict(Q=np.eye(6), K=np.eye(6), V=np.eye(6), eta=1, T=2)),
    # theory.information: generators
    ("squared_hellinger", information.squared_hellinger,
     {"t": [np.array([-1.0]), np.array([NAN]), "ab", None, np.array([1j])]}, dict(t=np.array([0.0, 1.0, 4.0]))),
    ("mutual_information (generator)", information.mutual_information,
     {"kind": [lambda t: (t - 1) ** 2 + 0j, lambda t: (t - 1) ** 2 * (1 + 1e-3j), lambda t: np.full(np.shape(t), NAN),
               lambda t: -np.log(t), lambda t: np.exp(t) - np.e, lambda t: np.array(["a"] * np.size(t))]},
     dict(joint=np.array([[0.4, 0.1], [0.1, 0.4]]), kind=information.squared_hellinger)),
    ("mutual_information_matrix (generator)", information.mutual_information_matrix,
     {"kind": [lambda t: (t - 1) ** 2 + 0j]}, dict(graph=CHAIN, prior=PI2, kind=lambda t: (t - 1) ** 2)),
    # theory.laws: the stack kernels
    ("stationary_laws", laws.stationary_laws, {"pis": STACK_BAD + [PI2[None].astype(object)]}, dict(pis=PI2[None])),
    ("root_laws", laws.root_laws, {"pis": STACK_BAD, "roots": "choice"}, dict(pis=PI2[None], roots="uniform")),
    ("transition_powers", laws.transition_powers,
     {"pis": STACK_BAD, "depth": [-1, 1.5, None, "2", True, HUGE, 10 ** 12]}, dict(pis=PI2[None], depth=2)),
    ("marginal_laws", laws.marginal_laws,
     {"start": [np.ones((2, 2)), "ab", None], "powers": [np.ones((2, 2)), None, "ab"],
      "depth": [np.array([3]), np.array([-1]), np.array([0.5]), "ab", None]},
     dict(start=np.array([[0.5, 0.5]]), powers=POWERS, depth=np.array([0, 1, 2]))),
    ("pairwise_joints", laws.pairwise_joints,
     {"graph": "graph+forest", "pis": STACK_BAD, "start": [np.ones((2, 2)), None, np.ones((1, 3))]},
     dict(graph=CHAIN, pis=PI2[None], start=laws.stationary_laws(PI2[None]))),
    # theory.gradients
    ("likelihood_ratio_from_joint", gradients.likelihood_ratio_from_joint,
     {"joint": [np.full((1, 3, 3, 2, 2), NAN), "ab", None, np.ones((2, 2)), -laws.pairwise_joint(CHAIN, PI2)[None]],
      "pis": [np.full((1, 2, 2), NAN), "ab", np.array([[[0.5, 0.6], [0.4, 0.6]]])],
      "mu": [np.array([[1.0, 0.0]]), np.array([[0.5, 0.6]]), np.array([[NAN, 0.5]]), "ab",
             np.array([[0, 1]], dtype=object), np.array([[1e-320, 1.0]])]},
     dict(joint=laws.pairwise_joint(CHAIN, PI2)[None], pis=PI2[None], mu=laws.stationary_laws(PI2[None]))),
    ("inverse_stationary_moment_finite", gradients.inverse_stationary_moment_finite,
     {"prior": "matrix", "order": "int"}, dict(prior=DIRICHLET, order=1)),
    ("drift_matrix_defined", gradients.drift_matrix_defined, {"graph": "graph", "prior": "matrix", "roots": "choice"},
     dict(graph=CHAIN, prior=DIRICHLET, roots="stationary")),
    ("drift_matrix (masked)", gradients.drift_matrix, {"masked": "bool"},
     dict(graph=CHAIN, prior=DIRICHLET, draws=3, rng=0, masked=True)),
    # numerics.population, numerics.evaluation: laws promised
    ("per_sequence_loss (laws)", population.per_sequence_loss,
     {"stationary": [torch.zeros(2, 2, dtype=F64), torch.full((2, 2), NAN, dtype=F64), torch.full((2, 2), -0.5, dtype=F64)],
      "target": [torch.full((2, 2), NAN, dtype=F64), torch.full((2, 2), -0.5, dtype=F64)],
      "yhat": [torch.ones(2, 2, dtype=torch.int64), torch.ones(2, 2, dtype=C128)]},
     dict(yhat=torch.full((2, 2), 0.5, dtype=F64), target=torch.full((2, 2), 0.5, dtype=F64),
          stationary=torch.full((2, 2), 0.5, dtype=F64), loss="linearized", smoothing=1e-3)),
    ("cross_entropies (laws)", evaluation.cross_entropies,
     {"yhat": [np.zeros((2, 2)), np.full((2, 2), 0.4)], "target": [np.zeros((2, 2)), np.full((2, 2), 0.6)]},
     dict(yhat=np.full((2, 2), 0.5), target=np.full((2, 2), 0.5), smoothing=0.0)),
    # model.autoregressive
    ("gd_step_weights", gd_step_weights,
     {"d": "int+huge", "eta": ETA + [torch.tensor([1.0, 2.0]), torch.tensor(NAN)]}, dict(d=2, eta=0.5)),
    ("AugmentedLinearAttention", AugmentedLinearAttention,
     {"d": "int+huge", "init_scale": [NAN, INF, -1.0, None, "0.1"], "normalize": "bool",
      "dtype": [torch.int64, None, "float"]}, dict(d=2)),
    ("AugmentedLinearAttention.from_gd_step", AugmentedLinearAttention.from_gd_step, {"d": "int", "eta": ETA},
     dict(d=2, eta=0.5)),
    ("AugmentedLinearAttention.forward", _model_call(lambda: AugmentedLinearAttention(2), "forward"),
     {"seqs": SEQS_BAD + [torch.ones(1, 3, 2, dtype=torch.float32)]}, dict(seqs=torch.ones(1, 3, 2, dtype=F64))),
    ("ComplexAugmentedLinearAttention", ComplexAugmentedLinearAttention,
     {"d": "int+huge", "init_scale": [NAN, -1.0, None], "normalize": "bool"}, dict(d=2)),
    ("ComplexAugmentedLinearAttention.forward", _model_call(lambda: ComplexAugmentedLinearAttention(2), "forward"),
     {"seqs": SEQS_BAD + [torch.full((1, 3, 2), complex(NAN, 0), dtype=C128)]},
     dict(seqs=torch.ones(1, 3, 2, dtype=C128))),
    ("raw_token_prediction", raw_token_prediction,
     {"C": [torch.full((2, 2), NAN, dtype=F64), torch.ones(2, 3, dtype=F64), np.eye(2), None],
      "p": [torch.ones(1, dtype=F64), torch.tensor([NAN, 1.0], dtype=F64), None, torch.ones(2, 2, dtype=F64)],
      "X": [torch.ones(4, 3, 3, dtype=C128), torch.ones(4, 1, 2, dtype=C128), torch.full((4, 3, 2), INF, dtype=F64),
            None, np.ones((4, 3, 2))]},
     dict(C=torch.eye(2, dtype=F64), p=torch.tensor([0.0, 1.0], dtype=F64), X=torch.ones(4, 3, 2, dtype=C128))),
    ("RawTokenMultiHead", RawTokenMultiHead,
     {"d": "int+huge", "H": "int+huge", "n": "int+huge", "init_scale": [NAN, -1.0, None], "dtype": [torch.int64]},
     dict(d=2, H=1, n=1)),
    ("RawTokenMultiHead.forward", _model_call(lambda: RawTokenMultiHead(2, 1, 1), "forward"),
     {"X": [torch.ones(4, 2, 3, dtype=C128), torch.ones(4, 3, 2, dtype=C128), torch.full((4, 2, 2), NAN, dtype=C128),
            None]}, dict(X=torch.ones(4, 2, 2, dtype=C128))),
    ("PositionalOnly", PositionalOnly,
     {"C": [np.full((2, 2), NAN), np.ones((2, 3)), "ab", None], "T": "int+huge", "dtype": [torch.int64]},
     dict(C=torch.eye(2, dtype=F64), T=2)),
    ("PositionalOnly.forward", _model_call(lambda: PositionalOnly(torch.eye(2, dtype=F64), 2), "forward"),
     {"X": [torch.ones(4, 4, 3, dtype=C128), torch.ones(4, 2, 2, dtype=C128), torch.full((4, 4, 2), NAN, dtype=C128),
            None]}, dict(X=torch.ones(4, 4, 2, dtype=C128))),
    # model.reduced and model.disentangled
    ("ReducedTransformer (sizes)", ReducedTransformer, {"S": ["huge"], "max_bytes": [0, -1, "x", 1.5]},
     dict(S=2, T=4)),
    ("DisentangledTransformer.query_logits",
     _model_call(lambda: DisentangledTransformer(2, 4), "query_logits"),
     {"tokens": [torch.tensor([[0, 1, 1]]), torch.zeros(1, 4), None, np.array([[0, 1, 1, 0]]), torch.tensor([0, 1, 1, 0])]},
     dict(tokens=torch.tensor([[0, 1, 1, 0]]))),
    ("DisentangledTransformer.position_block", _model_call(lambda: DisentangledTransformer(2, 4), "position_block"),
     {"layer": [1, -1, None, 1.5, True], "head": [1, -1, None, 1.5, "0", True]}, dict(layer=0, head=0)),
    ("DisentangledTransformer.attention", _model_call(lambda: DisentangledTransformer(2, 4), "attention"),
     {"layer": [2, -1, None, 1.5], "stream": [torch.ones(1, 4, 5, dtype=F64), torch.full((1, 4, 6), NAN, dtype=F64), None,
                                             torch.ones(1, 3, 6, dtype=F64), torch.ones(1, 4, 6, dtype=torch.int64)]},
     dict(layer=0, stream=torch.ones(1, 4, 6, dtype=F64))),
    # numerics.autoregressive
    ("z_score", nar.z_score, {"closed": "float", "estimate": [None, 1.0, estimates.mean_and_stderr(np.ones((3, 2)))]},
     dict(closed=1.0, estimate=estimates.mean_and_stderr(np.array([1.0, 2.0, 3.0])))),
    ("gd_step_samples", nar.gd_step_samples,
     {"t": "int+huge", "d": "int+huge", "size": "int+huge", "kind": "choice", "Q": NOT_UNITARY, "rng": "rng"},
     dict(t=1, d=2, size=3, rng=0, kind="unitary", Q=None)),
    ("eigen_tokens", nar.eigen_tokens,
     {"kind": "choice", "d": "int+huge", "n": [-1, 1.5, None, HUGE, 10 ** 12], "size": "int+huge", "nu": NU,
      "rng": "rng"}, dict(kind="unitary", d=2, n=1, size=3, rng=0, nu=1.0)),
    ("raw_token_scores", nar.raw_token_scores,
     {"C": C_BAD, "queries": [np.full((3, 2), NAN), np.ones((3, 3)), "ab", None],
      "keys": [np.ones((3, 2, 3)), np.full((3, 2, 2), INF), np.ones((4, 2, 2)), np.ones(2), None]},
     dict(C=np.eye(2), queries=np.ones((3, 2)), keys=np.ones((3, 2, 2)))),
    ("raw_token_samples", nar.raw_token_samples,
     {"C": C_BAD, "p": P_BAD, "size": "int+huge", "kind": "choice", "nu": NU, "rng": "rng"},
     dict(C=np.eye(2), p=np.array([0.0, 1.0]), size=3, rng=0, kind="unitary", nu=1.0)),
    ("mc_raw_token_loss", nar.mc_raw_token_loss, {"size": [1, 0, None, HUGE]},
     dict(C=np.eye(2), p=np.array([0.0, 1.0]), size=3, rng=0)),
    ("phase_grid", nar.phase_grid, {"D": "int+huge", "M": "int+huge"}, dict(D=2, M=3)),
    ("orthogonal_grid_sequences", nar.orthogonal_grid_sequences,
     {"d": [3, 0, None, HUGE], "T": "int+huge", "M": "int+huge"}, dict(d=2, T=2, M=3)),
    ("grid_eigen_tokens", nar.grid_eigen_tokens,
     {"kind": "choice", "d": "int+huge", "n": [-1, None, HUGE], "M": "int+huge"}, dict(kind="unitary", d=1, n=1, M=3)),
    ("gd_step_loss_exact", nar.gd_step_loss_exact, {"eta": "float", "t": "int+huge", "d": [3, 0, None, HUGE]},
     dict(eta=0.5, t=1, d=2)),
    ("raw_token_loss_exact", nar.raw_token_loss_exact, {"C": C_BAD + [np.eye(64)], "p": P_BAD, "kind": "choice"},
     dict(C=np.eye(2), p=np.array([0.0, 1.0]), kind="unitary")),
    ("train_raw_token", tar.train_raw_token,
     {"d": "int", "H": "int", "n": "int", "kind": "choice", "steps": "int+huge", "lr": "positive",
      "init_scale": [NAN, -1.0, None], "seed": "seed", "optimizer": "choice"}, dict(d=1, H=1, n=1, steps=1)),
    ("train_positional", tar.train_positional,
     {"C": C_BAD, "T": "int+huge", "nu": NU, "size": "int+huge", "seed": "seed", "steps": "int"},
     dict(C=np.eye(1), T=1, nu=1.0, size=8, steps=1)),
    ("train_positional_gd", tar.train_positional_gd,
     {"C": C_BAD, "n_max": "int+huge", "nu": NU, "size": "int+huge", "lr": "positive",
      "steps": [-1, 1.5, 10 ** 20, "3"], "seed": "rng"},
     dict(C=np.eye(1), n_max=1, nu=1.0, size=8, lr=0.5, steps=1, seed=0)),
    ("train_positional_gd (stop_loss)", tar.train_positional_gd,
     {"stop_loss": [NAN, INF, -1.0, "x"], "max_steps": [0, 10 ** 20, None]},
     dict(C=np.eye(1), n_max=1, nu=1.0, size=8, lr=0.5, stop_loss=10.0, max_steps=5)),
    ("empirical_positional_grams", tar.empirical_positional_grams,
     {"X": [np.full((4, 3, 1), NAN), np.ones((4, 2, 1)), "ab", None, np.ones((4, 3, 2))], "C": C_BAD, "n_max": "int"},
     dict(X=np.ones((4, 3, 1), dtype=complex), C=np.eye(1), n_max=1)),
    ("jackknife_positional_path_se", tar.jackknife_positional_path_se,
     {"X": [np.full((4, 3, 1), NAN), "ab", None], "groups": [1, 0, None, 10 ** 6], "lr": "positive",
      "steps": [-1, 2 ** 60]},
     dict(X=np.exp(1j * np.arange(12.0)).reshape(4, 3, 1), C=np.eye(1), n_max=1, lr=0.5, steps=2, groups=2)),
    # numerics.augmented
    ("sample_start_tokens", na.sample_start_tokens,
     {"law": "choice", "d": "int+huge", "size": "int+huge", "real": "bool", "rng": "rng"},
     dict(law="gaussian", d=2, size=3, rng=0, real=False)),
    ("Setting", na.Setting, {"field": "choice", "law": "choice", "d": "int", "t": "int+huge"},
     dict(field="complex", law="fixed", d=2, t=1)),
    ("population_moments", na.population_moments,
     {"setting": [None, "x", na.Setting("complex", "fixed", 20, 1), na.Setting("real", "signs", 64, 1)],
      "batch": "int"}, dict(setting=na.Setting("complex", "fixed", 1, 1), batch=64)),
    ("start_token_cubature", na.start_token_cubature, {"setting": [None, na.Setting("real", "signs", 64, 1)]},
     dict(setting=TINY_SETTING)),
    ("eigen_sequences", na.eigen_sequences,
     {"w0": [np.full((2, 1), NAN), "ab", None, np.ones(3)], "theta": [np.ones((3, 1)), np.full((2, 1), INF), None],
      "T": [-1, 1.5, None, HUGE], "real": "bool"},
     dict(w0=np.ones((2, 1), dtype=complex), theta=np.zeros((2, 1)), T=2, real=False)),
    ("augmented_features", na.augmented_features,
     {"seqs": [torch.full((2, 3, 1), NAN, dtype=F64), torch.ones(2, 3, dtype=F64), None, np.ones((2, 3, 1))],
      "t": [0, 3, -1, None, 1.5]}, dict(seqs=torch.ones(2, 3, 1, dtype=F64), t=2)),
    ("feature_charges", na.feature_charges, {"d": "int+huge"}, dict(d=1)),
    ("empirical_moments", na.empirical_moments,
     {"seqs": [torch.full((2, 3, 1), NAN, dtype=F64), torch.ones(2, 2, 1, dtype=F64), None], "t": [0, 2, None]},
     dict(seqs=torch.ones(2, 3, 1, dtype=F64), t=1)),
    ("sample_setting_sequences", na.sample_setting_sequences, {"setting": [None, "x"], "size": "int+huge", "rng": "rng"},
     dict(setting=TINY_SETTING, size=3, rng=0)),
    ("attention_tensor", na.attention_tensor,
     {"V": [torch.ones(2, 3, dtype=F64), torch.full((1, 2), NAN, dtype=F64), None, np.ones((1, 2))],
      "A": [torch.ones(3, 3, dtype=F64), torch.full((2, 2), INF, dtype=F64), None]},
     dict(V=torch.ones(1, 2, dtype=F64), A=torch.ones(2, 2, dtype=F64))),
    ("model_tensor", na.model_tensor,
     {"Q": [torch.ones(4, 4, dtype=F64), torch.full((3, 3), NAN, dtype=F64), None], "K": [torch.ones(6, 6, dtype=F64)],
      "V": [None]}, dict(Q=torch.eye(3, dtype=F64), K=torch.eye(3, dtype=F64), V=torch.eye(3, dtype=F64))),
    ("tensor_loss", na.tensor_loss,
     {"T": [torch.ones(1, 3, dtype=C128), torch.full((1, 8), NAN, dtype=C128), None, torch.zeros(1, 8, dtype=F64)],
      "mom": MOM_BAD}, dict(T=torch.zeros(1, 8, dtype=C128), mom=MOM)),
    ("preconditioned_tensor", na.preconditioned_tensor,
     {"B": [torch.ones(2, 3, dtype=F64), None, torch.full((2, 2), NAN, dtype=F64)], "A": [torch.ones(3, 3, dtype=F64), None]},
     dict(B=torch.eye(2, dtype=F64), A=torch.eye(2, dtype=F64))),
    ("one_step_gd_optimum", na.one_step_gd_optimum, {"mom": MOM_BAD}, dict(mom=MOM)),
    ("linear_predictor_bound", na.linear_predictor_bound, {"mom": MOM_BAD}, dict(mom=MOM)),
    ("full_parameter_loss", na.full_parameter_loss, {"mom": MOM_BAD}, dict(mom=MOM)),
    ("best_preconditioned", na.best_preconditioned,
     {"mom": MOM_BAD, "restarts": [-1, 1.5, None], "iters": [0, None], "rng": "rng"},
     dict(mom=MOM, restarts=0, iters=1, rng=0)),
    ("best_in_model_class", na.best_in_model_class, {"mom": MOM_BAD, "restarts": [0, None], "iters": [0, 1.5]},
     dict(mom=MOM, restarts=1, iters=1, rng=0)),
    ("train_full_attention", na.train_full_attention,
     {"mom": MOM_BAD, "steps": "int+huge", "lr": "positive", "seed": "seed", "init_scale": [NAN, -1.0, None]},
     dict(mom=MOM, steps=1)),
    ("gd_construction_point", na.gd_construction_point, {"mom": MOM_BAD, "eta": ETA}, dict(mom=MOM, eta=0.5)),
    ("gradient_and_hessian", na.gradient_and_hessian,
     {"f": [None, 1], "x": [torch.full((2,), NAN, dtype=F64), torch.ones(2, 2, dtype=F64), None,
                           torch.ones(10 ** 5, dtype=F64)]},
     dict(f=lambda x: (x ** 2).sum(), x=torch.ones(2, dtype=F64))),
    ("critical_point_analysis", na.critical_point_analysis, {"mom": MOM_BAD, "eta": ETA}, dict(mom=MOM, eta=0.5)),
    ("map_setting", na.map_setting,
     {"setting": [None, "x"], "restarts": [0, None], "hessian": "bool", "model_class": "bool", "lr": "positive",
      "steps": "int"},
     dict(setting=TINY_SETTING, restarts=1, steps=1, hessian=False, model_class=False)),
    # theory.strategies: the strategies of bad values refuse bad parameters too
    ("non_finite_arrays", strategies.non_finite_arrays, {"shape": [(0,), (-1,), ("a",), (10 ** 4, 10 ** 4), None]},
     dict(shape=(2, 2))),
    ("non_unitary_matrices", strategies.non_unitary_matrices, {"d": [0, 1000, None, 1.5], "real": "bool"},
     dict(d=2, real=False)),
    ("non_stochastic_matrices", strategies.non_stochastic_matrices, {"S": [1, None, 1000, 2.5]}, dict(S=2)),
    ("bad_integers", strategies.bad_integers, {"minimum": [NAN, None, "1"], "maximum": [0, -1, 1.5]},
     dict(minimum=1, maximum=10)),
    ("bad_reals", strategies.bad_reals, {"minimum_exclusive": [NAN, INF, "x"]}, dict(minimum_exclusive=0.0)),
]
ENTRY_POINTS += AUTOREGRESSIVE_ENTRY_POINTS


# ----------------------------------------------------------------------------- issue 21: the modules added since
# The Figure 5/7/8/9 code, the multi-parent task, the published formulas and the architecture gap.  Training
# functions get tiny valid budgets (one step of a few sequences) so that the valid call stays fast.

F32 = torch.float32
CHAIN2 = CausalGraph.chain(2)
SEQS_HAAR = hr.haar_sequences(2, 3, 4, rng=0)  # (4, 4, 2): s_0..s_3 of four Haar contexts
SEQS_BAD_NP = [np.full((4, 4, 2), NAN), np.ones((1, 4, 2)), np.ones((4, 1, 2)), np.ones((4, 4)), "ab", None,
               SEQS_HAAR + 0j]
TABLES = np.full((1, 4, 2), 0.5)
ROOT_LAWS = np.full((1, 2), 0.5)
EMBEDDINGS = np.random.default_rng(0).standard_normal((3, 4, 5))
EMB_BAD = [np.full((3, 4, 5), NAN), np.ones((3, 1, 5)), np.zeros((1, 2, 3)), "ab", None, np.ones((3, 4)),
           EMBEDDINGS + 1j]
MOD_T = 3  # the architecture-gap fixtures: chain(2), S = 2, T = n + 1 = 3
THETA = torch.zeros(MOD_T + 4, dtype=F64)
GAP_WEIGHTS = gap.induction_head_weights(CHAIN2, 2, THETA)
RAW_CONFIG = trh.RawHaarConfig(d=2, heads=1, T=2, train=4, test=2, epochs=1, batch=4)
RAW_TRAIN, RAW_TEST = trh.haar_raw_dataset(2, 2, 4, 0), trh.haar_raw_dataset(2, 2, 2, 1)
HAAR_CONFIG = train_haar.HaarTrainingConfig(model="official", d=2, T=3, train_size=4, test_size=2, epochs=1,
                                            batch=4)
THREADS_BAD = [0, -1, 1.5, "2", True, 2 + 0j]
DEVICE_BAD = ["gpu", None, 3, ""]
EVAL_STEPS_BAD = [[-1], "ab", [1.5], 5, [2], None]


RECENT_ENTRY_POINTS = [
    # numerics.runtime
    ("lbfgs_minimum", runtime.lbfgs_minimum,
     {"f": [None, 3, "f"], "x0": [np.zeros(2), torch.zeros(2, dtype=torch.float32), torch.zeros(2, 2, dtype=F64),
                                  torch.tensor([NAN, 0.0], dtype=F64), torch.zeros(0, dtype=F64), None],
      "iters": "int", "tolerance_grad": "positive", "tolerance_change": "positive", "history_size": "int"},
     dict(f=lambda x: (x ** 2).sum(), x0=torch.ones(2, dtype=F64), iters=2, tolerance_grad=1e-12,
          tolerance_change=1e-15, history_size=5)),
    # theory.published, theory.published_autoregressive, theory.random_graphs
    ("published_parent_positions", published.published_parent_positions, {"graph": "graph+forest"},
     dict(graph=CHAIN)),
    ("count_estimator_as_published", published.count_estimator_as_published,
     {"graph": "graph+forest", "tokens": "tokens", "alpha": "positive", "S": "int2+huge"},
     dict(graph=CHAIN, tokens=TOKENS, alpha=0.1, S=2)),
    ("raw_token_population_loss_as_published", published_autoregressive.raw_token_population_loss_as_published,
     {"C": C_BAD, "p": P_BAD}, dict(C=np.eye(2), p=np.array([0.0, 1.0]))),
    ("bernoulli_root_forest", random_graphs.bernoulli_root_forest,
     {"n": "int+huge", "rng": "rng", "root_probability": [-0.1, 1.5, NAN, INF, None, "0.5", 1j, True]},
     dict(n=3, rng=0, root_probability=0.5)),
    # theory.multi_parent
    ("halving_parents", mp.halving_parents, {"i": [1, 0, -1, 1.5, NAN, None, "3", True, [2]]}, dict(i=2)),
    ("halving_parents_graph", mp.halving_parents_graph, {"T": [2, 0, -1, 1.5, None, "32", True, HUGE]}, dict(T=3)),
    ("parent_pair_rows", mp.parent_pair_rows, {"tokens": ["tokens", np.array([[0]])], "S": "int2+huge"},
     dict(tokens=TOKENS, S=2)),
    ("sample_two_parent_tokens", mp.sample_two_parent_tokens,
     {"tables": [np.full((1, 4, 2), NAN), np.full((1, 4, 2), 0.7), np.full((1, 2, 2), 0.5), "ab", None,
                 TABLES + 0j, np.tile([[[1.5, -0.5]]], (1, 4, 1))],
      "root_laws": [np.full((1, 2), NAN), np.array([[0.7, 0.7]]), np.ones((1, 1)), "ab", None, np.array([0.5, 0.5]),
                    np.array([[1.5, -0.5]])],
      "rng": "rng", "T": [2, 0, 1.5, None, "3", HUGE]},
     dict(tables=TABLES, root_laws=ROOT_LAWS, rng=0, T=3)),
    ("sample_two_parent_sequences", mp.sample_two_parent_sequences,
     {"S": "int2+huge", "alpha": "positive", "size": "int+huge", "rng": "rng", "T": [2, 0, 1.5, None, HUGE],
      "max_bytes": [0, -1, 1.5, "x"]},
     dict(S=2, alpha=0.5, size=3, rng=0, T=3, max_bytes=None)),
    ("two_parent_log_probability", mp.two_parent_log_probability,
     {"tokens": "tokens", "alpha": "positive", "S": ["int2", "huge", 10 ** 5]}, dict(tokens=TOKENS, alpha=0.1, S=2)),
    ("two_parent_count_estimator", mp.two_parent_count_estimator,
     {"tokens": "tokens", "alpha": "positive", "S": "int2+huge"}, dict(tokens=TOKENS, alpha=0.1, S=2)),
    ("previous_token_estimator", mp.previous_token_estimator,
     {"tokens": ["tokens", np.array([[0]])], "alpha": "positive", "S": "int2+huge"},
     dict(tokens=TOKENS, alpha=0.1, S=2)),
    # theory.haar_moments
    ("orthogonal_eigenangle_rule", hm.orthogonal_eigenangle_rule,
     {"d": "int+huge", "degree": [-1, 1.5, NAN, None, "3", True, HUGE]}, dict(d=2, degree=2)),
    ("haar_power_traces", hm.haar_power_traces,
     {"d": "int+huge", "max_power": [-1, 1.5, None, "2", True, HUGE], "degree": [-1, 1.5, "x", HUGE]},
     dict(d=2, max_power=2, degree=None)),
    ("pairing_trace_exponents", hm.pairing_trace_exponents, {"p": ["int", 7, HUGE]}, dict(p=2)),
    ("sphere_haar_quadratic_form_moment", hm.sphere_haar_quadratic_form_moment,
     {"d": "int+huge", "exponents": [[0.5], "ab", None, [NAN], [1] * 7, [], [[1]], [10 ** 30], [HUGE]]},
     dict(d=2, exponents=[1, 1])),
    ("start_overlap_moments", hm.start_overlap_moments,
     {"d": "int+huge", "T": [-1, 1.5, None, "2", True, HUGE]}, dict(d=2, T=2)),
    ("haar_gd_step_coefficients", hm.haar_gd_step_coefficients, {"d": "int+huge", "T": "int+huge"}, dict(d=2, T=2)),
    ("haar_best_step_by_position", hm.haar_best_step_by_position, {"d": "int+huge", "T": "int+huge"},
     dict(d=2, T=2)),
    ("haar_best_shared_step", hm.haar_best_shared_step, {"d": "int+huge", "T": ["int", 1, HUGE]}, dict(d=2, T=2)),
    ("gd_step_loss_by_position", hm.gd_step_loss_by_position,
     {"eta": [NAN, INF, "a", None, np.ones(5), 1j, np.ones((2, 2))], "d": "int+huge", "T": "int+huge"},
     dict(eta=0.5, d=2, T=2)),
    # model.official_autoregressive, model.official_raw_tokens, model.standard
    ("official_augmented_tokens", official_augmented_tokens,
     {"seqs": [s for s in SEQS_BAD if s is not SEQS_BAD[1]] + [torch.ones(1, 1, 2, dtype=F64)]},
     dict(seqs=torch.ones(1, 3, 2, dtype=F64))),
    ("AugmentedLinearAttentionOfficial", AugmentedLinearAttentionOfficial,
     {"d": "int+huge", "dtype": [torch.int64, None, "float", C128], "generator": [0, "x"]}, dict(d=2)),
    ("AugmentedLinearAttentionOfficial.forward", _model_call(lambda: AugmentedLinearAttentionOfficial(2), "forward"),
     {"seqs": SEQS_BAD + [torch.ones(1, 3, 2, dtype=F64), torch.ones(1, 1, 2, dtype=F32),
                          torch.ones(1, 3, 3, dtype=F32)]}, dict(seqs=torch.ones(1, 3, 2, dtype=F32))),
    ("OfficialRawTokens", OfficialRawTokens,
     {"d": "int+huge", "heads": "int+huge", "repeat": "int+huge", "max_length": "int+huge"},
     dict(d=2, heads=2, repeat=2, max_length=8)),
    ("OfficialRawTokens.forward", _model_call(lambda: OfficialRawTokens(2, 2, 2, 8), "forward"),
     {"seqs": SEQS_BAD + [torch.ones(1, 3, 2, dtype=F64), torch.ones(1, 9, 2, dtype=F32),
                          torch.ones(1, 3, 3, dtype=F32)], "block": "int"},
     dict(seqs=torch.ones(1, 3, 2, dtype=F32), block=10)),
    ("OfficialRawTokens.forward_literal", _model_call(lambda: OfficialRawTokens(2, 2, 2, 8), "forward_literal"),
     {"seqs": SEQS_BAD + [torch.ones(1, 3, 2, dtype=F64), torch.ones(1, 9, 2, dtype=F32)]},
     dict(seqs=torch.ones(1, 3, 2, dtype=F32))),
    ("OfficialRawTokens.positional_attention",
     _model_call(lambda: OfficialRawTokens(2, 2, 2, 8), "positional_attention"), {"T": ["int", 9, HUGE]}, dict(T=3)),
    ("OfficialRawTokens.score_value_tensor",
     _model_call(lambda: OfficialRawTokens(2, 2, 2, 8), "score_value_tensor"),
     {"T": ["int", 9], "queries": ["x", slice(0, 9), slice(2, 1), slice(0, 3, 2), 1, slice(-1, 2)]},
     dict(T=3, queries=None)),
    ("head_maps", head_maps, {"model": [None, "x", torch.nn.Linear(2, 2)]},
     dict(model=OfficialRawTokens(2, 2, 2, 8))),
    ("Block", Block, {"d": "int+huge", "T": "int+huge", "mlp": "bool", "dtype": [torch.int64, None, "float"]},
     dict(d=4, T=3, mlp=True, dtype=F64)),
    ("Block.forward", _model_call(lambda: Block(4, 3, True, F64), "forward"),
     {"x": [torch.ones(1, 3, 5, dtype=F64), torch.ones(1, 4, 4, dtype=F64), torch.full((1, 3, 4), NAN, dtype=F64),
            None, torch.ones(1, 3, 4, dtype=torch.int64), torch.ones(1, 3, 4, dtype=F32), np.ones((1, 3, 4))]},
     dict(x=torch.ones(1, 3, 4, dtype=F64))),
    ("Block.attention", _model_call(lambda: Block(4, 3, True, F64), "attention"),
     {"x": [torch.ones(1, 3, 5, dtype=F64), torch.ones(1, 4, 4, dtype=F64), None]},
     dict(x=torch.ones(1, 3, 4, dtype=F64))),
    ("Block.at_query", _model_call(lambda: Block(4, 3, True, F64), "at_query"),
     {"x": [torch.ones(1, 3, 5, dtype=F64), torch.full((1, 3, 4), INF, dtype=F64), None]},
     dict(x=torch.ones(1, 3, 4, dtype=F64))),
    ("StandardTransformer", StandardTransformer,
     {"S": "int2+huge", "T": "int2+huge", "layers": "int+huge", "width": [0, -1, 1.5, NAN, "3", True, "huge"],
      "mlp": "bool",
      "dtype": [torch.int64, None, "float"], "max_bytes": [0, -1, "x", 1.5]}, dict(S=2, T=4, width=None)),
    ("StandardTransformer.forward", _model_call(lambda: StandardTransformer(2, 4), "forward"),
     {"tokens": [torch.tensor([[0, 1, 5, 0]]), torch.tensor([[0, 1, 1]]), torch.zeros(1, 4), None,
                 torch.tensor([[0, -1, 1, 0]]), np.array([[0, 1, 1, 0]])]}, dict(tokens=torch.tensor([[0, 1, 1, 0]]))),
    ("StandardTransformer.first_layer_attention",
     _model_call(lambda: StandardTransformer(2, 4), "first_layer_attention"),
     {"tokens": [torch.tensor([[0, 1, 5, 0]]), torch.tensor([[0, 1, 1]]), None]},
     dict(tokens=torch.tensor([[0, 1, 1, 0]]))),
    # numerics.ar1_reconstruction
    ("normalised_windows", ar1.normalised_windows, {"embeddings": EMB_BAD}, dict(embeddings=EMBEDDINGS)),
    ("ar1_fit_transposed", ar1.ar1_fit_transposed,
     {"windows": EMB_BAD[:2] + EMB_BAD[3:], "rcond": [-1.0, NAN, INF, "x", 1j, True]},
     dict(windows=EMBEDDINGS, rcond=None)),
    ("ar1_reconstruction_errors", ar1.ar1_reconstruction_errors,
     {"embeddings": EMB_BAD, "rollout": "bool", "rcond": [-1.0, NAN, "x"]},
     dict(embeddings=EMBEDDINGS, rollout=True, rcond=None)),
    # numerics.haar_references
    ("haar_sequences", hr.haar_sequences,
     {"d": "int+huge", "T": "int+huge", "size": "int+huge", "law": "choice", "rng": "rng"},
     dict(d=2, T=3, size=2, law="fixed", rng=0)),
    ("gd_step_terms", hr.gd_step_terms, {"seqs": SEQS_BAD_NP}, dict(seqs=SEQS_HAAR)),
    ("gd_directions", hr.gd_directions, {"seqs": SEQS_BAD_NP}, dict(seqs=SEQS_HAAR)),
    ("haar_references.mean_and_stderr", hr.mean_and_stderr,
     {"x": [np.ones(1), np.full(3, NAN), "ab", None, np.ones(3) * 1j], "axis": [5, 1.5, None, "0", -3]},
     dict(x=np.ones((3, 2)), axis=0)),
    ("mc_gd_step_coefficients", hr.mc_gd_step_coefficients, {"seqs": SEQS_BAD_NP}, dict(seqs=SEQS_HAAR)),
    ("mc_gd_step_loss_by_position", hr.mc_gd_step_loss_by_position,
     {"seqs": SEQS_BAD_NP, "eta": [NAN, INF, "a", None, np.ones(5), 1j]}, dict(seqs=SEQS_HAAR, eta=0.5)),
    ("mc_gd_step_errors", hr.mc_gd_step_errors, {"seqs": SEQS_BAD_NP, "eta": [NAN, np.ones(5), "a"]},
     dict(seqs=SEQS_HAAR, eta=np.array([0.1, 0.2, 0.3]))),
    ("preconditioned_features", hr.preconditioned_features,
     {"seqs": SEQS_BAD_NP + [np.broadcast_to(0.0, (10 ** 4, 3, 60))]}, dict(seqs=SEQS_HAAR)),
    ("preconditioned_moments", hr.preconditioned_moments,
     {"seqs": SEQS_BAD_NP + [np.broadcast_to(0.0, (2, 3, 300))], "batch": "int"}, dict(seqs=SEQS_HAAR, batch=2)),
    ("fit_preconditioned", hr.fit_preconditioned,
     {"mom": [None, "x", MOM], "starts": [-1, 1.5, None, "2", True], "iters": "int", "eta": "float", "rng": "rng"},
     dict(mom=hr.preconditioned_moments(SEQS_HAAR), starts=0, iters=1, eta=0.1, rng=0)),
    ("preconditioned_errors", hr.preconditioned_errors,
     {"seqs": SEQS_BAD_NP, "A": [np.eye(3), np.full((2, 2), NAN), "ab", None], "B": [np.ones(2), np.eye(2) * 1j]},
     dict(seqs=SEQS_HAAR, A=np.eye(2), B=np.eye(2))),
    ("normalised_gd_errors", hr.normalised_gd_errors, {"seqs": SEQS_BAD_NP, "scale": "float"},
     dict(seqs=SEQS_HAAR, scale=1.0)),
    ("block_structure", hr.block_structure,
     {"Q": [np.eye(5), np.full((6, 6), NAN), "ab", None], "K": [np.eye(6) * 1j], "V": [np.ones(6)], "d": "int+huge"},
     dict(Q=np.eye(6), K=np.eye(6), V=np.eye(6), d=2)),
    ("figure5_references", hr.figure5_references,
     {"d": "int+huge", "T": [1, 0, 1.5, None, HUGE], "law": "choice", "fit_size": [1, 0, None, HUGE],
      "eval_size": [1, None, HUGE], "starts": [-1, None, 1.5], "rng": "rng", "preconditioned": "bool"},
     dict(d=2, T=2, law="fixed", fit_size=2, eval_size=2, starts=0, rng=0, preconditioned=False)),
    # numerics.train_haar
    ("HaarTrainingConfig", train_haar.HaarTrainingConfig,
     {"model": "choice", "d": "int+huge", "T": "int+huge", "law": "choice", "train_size": "int+huge",
      "test_size": [1, 0, None, 1.5, HUGE], "epochs": "int", "batch": "int", "lr": "positive",
      "init_scale": [-1.0, NAN, None, "0"], "seed": "seed"},
     dict(model="official", d=2, T=3, law="fixed", train_size=4, test_size=2, epochs=1, batch=4)),
    ("bare_layer_predictions", train_haar.bare_layer_predictions,
     {"layer": [None, "x", AugmentedLinearAttentionOfficial(2, dtype=F64)],
      "seqs": SEQS_BAD + [torch.ones(1, 1, 2, dtype=F64)]},
     dict(layer=AugmentedLinearAttention(2), seqs=torch.ones(1, 3, 2, dtype=F64))),
    ("train_on_haar_task", train_haar.train_on_haar_task, {"config": [None, "x", {}, RAW_CONFIG]},
     dict(config=HAAR_CONFIG)),
    ("official_attention_structure", train_haar.official_attention_structure,
     {"model": [None, "x", AugmentedLinearAttention(2)],
      "seqs": SEQS_BAD + [torch.ones(1, 1, 2, dtype=F64), torch.ones(1, 3, 2)]},
     dict(model=AugmentedLinearAttentionOfficial(2, dtype=F64), seqs=torch.ones(1, 3, 2, dtype=F64))),
    # numerics.train_raw_haar
    ("RawHaarConfig", trh.RawHaarConfig,
     {"d": "int+huge", "heads": "int+huge", "T": ["int", 101], "train": "int", "test": "int", "epochs": "int",
      "batch": "int", "lr": "positive", "repeat": "int+huge"},
     dict(d=2, heads=1, T=2, train=4, test=2, epochs=1, batch=4)),
    ("haar_raw_dataset", trh.haar_raw_dataset, {"d": "int+huge", "T": "int+huge", "size": "int+huge", "rng": "rng"},
     dict(d=2, T=2, size=2, rng=0)),
    ("per_position_mse", trh.per_position_mse,
     {"pred": [np.full((2, 3, 2), NAN), "ab", None, np.ones((2, 3)), np.ones((2, 3, 2)) * 1j],
      "target": [np.full((2, 3, 2), INF), "ab", np.ones((2, 2, 3))]},
     dict(pred=np.zeros((2, 3, 2)), target=np.ones((2, 3, 2)))),
    ("commuting_minimum_per_coordinate", trh.commuting_minimum_per_coordinate, {"d": "int", "H": "int"},
     dict(d=2, H=1)),
    ("commuting_contexts_with_axis", trh.commuting_contexts_with_axis,
     {"d": "int+huge", "size": "int+huge", "rng": "rng"}, dict(d=3, size=2, rng=0)),
    ("commuting_construction_prediction", trh.commuting_construction_prediction,
     {"seqs": [np.full((2, 4, 2), NAN), np.ones((2, 2, 2)), "ab", None, np.ones((2, 3)), np.zeros((2, 4, 2))],
      "heads": [0, -1, 1.5, "2", True]}, dict(seqs=np.ones((2, 4, 2)), heads=None)),
    ("least_squares", trh.least_squares,
     {"X": [np.full((3, 3), NAN), "ab", None, np.ones(3), np.eye(3) * 1j],
      "y": [np.full(3, NAN), np.ones(5), "ab", None, np.ones((3, 1, 1))]},
     dict(X=np.eye(3), y=np.ones(3))),
    ("best_cubic_predictor", trh.best_cubic_predictor,
     {"train": [np.full((8, 4, 2), NAN), np.ones((8, 2, 2)), "ab", None],
      "test": [np.ones((4, 4, 3)), np.full((4, 4, 2), NAN), None], "sweeps": "int"},
     dict(train=np.random.default_rng(1).standard_normal((8, 4, 2)),
          test=np.random.default_rng(2).standard_normal((4, 4, 2)), sweeps=1)),
    ("ridge_ar1_predictions", trh.ridge_ar1_predictions,
     {"seqs": [np.full((2, 3, 2), NAN), np.ones((2, 1, 2)), "ab", None, np.ones((2, 3)),
               np.broadcast_to(0.0, (1, 10 ** 5, 100))], "ridge": "positive"},
     dict(seqs=np.ones((2, 3, 2)), ridge=1e-6)),
    ("head_cosines", trh.head_cosines,
     {"maps": [np.ones((1, 4)), np.zeros((2, 3)), np.full((2, 3), NAN), "ab", None, np.ones(()), np.ones((2, 2)) * 1j]},
     dict(maps=np.array([[1.0, 0.0], [1.0, 1.0]]))),
    ("positional_mass", trh.positional_mass,
     {"P": [np.full((2, 3, 3), NAN), np.ones((2, 3, 4)), np.ones((2, 1, 1)), "ab", None],
      "query": [0, 5, -5, 1.5, None, "1", True, -3]}, dict(P=np.full((2, 3, 3), 1 / 3), query=-1)),
    ("train_official_raw_tokens", trh.train_official_raw_tokens,
     {"config": [None, "x", HAAR_CONFIG], "train": [np.full((4, 3, 2), NAN), np.ones((4, 4, 2)), "ab", None],
      "test": [np.ones((2, 3, 3)), None], "seed": "seed", "threads": THREADS_BAD, "progress": "bool"},
     dict(config=RAW_CONFIG, train=RAW_TRAIN, test=RAW_TEST, seed=0, threads=1, progress=False)),
    # numerics.architecture_gap
    ("stream_token_blocks", gap.stream_token_blocks, {"S": "int2", "T": "int2"}, dict(S=2, T=3)),
    ("induction_head_weights", gap.induction_head_weights,
     {"graph": "graph+forest", "S": "int2+huge",
      "theta": [torch.zeros(6, dtype=F64), torch.full((7,), NAN, dtype=F64), None, np.zeros(7),
                torch.zeros(7, dtype=torch.int64), torch.zeros(7, 1, dtype=F64)]},
     dict(graph=CHAIN2, S=2, theta=THETA)),
    ("token_symmetric_projection", gap.token_symmetric_projection,
     {"W": [None, np.ones((4, 4)), torch.full((4, 4), NAN, dtype=F64), torch.ones(4, dtype=F64),
            torch.ones(4, 4, dtype=torch.int64)],
      "row_blocks": [(3,), (-1,), "ab", (1.5,), None, 0], "col_blocks": [(3,), None, (True,)],
      "S": [1, 0, 1.5, None, "2", 5]},
     dict(W=torch.ones(4, 4, dtype=F64), row_blocks=(0,), col_blocks=(0,), S=2)),
    ("token_symmetric_weights", gap.token_symmetric_weights,
     {"weights": [None, {}, "ab", {**GAP_WEIGHTS, "A.0": torch.ones(2, dtype=F64)},
                  {**GAP_WEIGHTS, "readout": torch.full((10, 2), NAN, dtype=F64)}],
      "S": "int2", "T": "int2"}, dict(weights=GAP_WEIGHTS, S=2, T=MOD_T)),
    ("logits_with", gap.logits_with,
     {"model": [None, "x", ReducedTransformer(2, 3)],
      "weights": [None, "ab", {"A.0": torch.ones(2, dtype=F64)}, {"bogus": torch.ones(2, dtype=F64)}],
      "tokens": [torch.tensor([[0, 1, 5]]), torch.tensor([[0, 1]]), None, np.array([[0, 1, 1]])]},
     dict(model=DisentangledTransformer(2, MOD_T, (1, 1)), weights=GAP_WEIGHTS, tokens=torch.tensor([[0, 1, 1]]))),
    ("soft_cross_entropy", gap.soft_cross_entropy,
     {"logits": [None, np.zeros((2, 2)), torch.full((2, 2), NAN, dtype=F64), torch.zeros(2, dtype=F64)],
      "target": [torch.ones(3, 2, dtype=F64), None, torch.full((2, 2), NAN, dtype=F64),
                 torch.zeros(2, 2, dtype=F64), torch.full((2, 2), -0.5, dtype=F64)]},
     dict(logits=torch.zeros(2, 2, dtype=F64), target=torch.full((2, 2), 0.5, dtype=F64))),
    ("architecture_gap", gap.architecture_gap,
     {"graph": ["graph", "forest", CausalGraph.from_parents([None, None])], "prior": "matrix",
      "fit_size": [1, 0, None, 1.5, HUGE], "lbfgs_iterations": "int", "steps": "int", "batch": "int+huge",
      "lr": "positive", "perturbation": [-1.0, NAN, None], "test_size": [3, None, HUGE], "roots": "choice",
      "alpha": [0.0, NAN, "x"], "rng": "rng"},
     dict(graph=CHAIN2, prior=PI2, fit_size=2, lbfgs_iterations=1, steps=1, batch=2, test_size=4, rng=0,
          roots="stationary")),
    ("ArchitectureGap.difference", lambda stage, other: _tiny_gap().difference(stage, other),
     {"stage": "choice", "other": "choice"}, dict(stage="free", other="ideal_head")),
    # numerics.figure9, numerics.position_attention, numerics.published_bayes
    ("train_random_graph", figure9.train_random_graph,
     {"graph": "graph+forest", "steps": "int", "batch": "int+huge", "lr": "positive", "S": "int2+huge",
      "alpha": "positive", "seed": "seed", "test_size": [1, 0, None, HUGE], "threads": THREADS_BAD},
     dict(graph=CHAIN2, steps=1, batch=2, S=2, seed=0, test_size=4, threads=1)),
    ("position_softmax", position_attention.position_softmax,
     {"block": [np.full((3, 3), NAN), np.ones(3), np.ones((2, 3)), "ab", None, np.eye(3) * 1j,
                torch.full((3, 3), NAN)]}, dict(block=np.zeros((4, 4)))),
    ("parent_weight_by_position", position_attention.parent_weight_by_position,
     {"block": [np.zeros((3, 3)), np.full((4, 4), NAN), None], "graph": "graph+forest"},
     dict(block=np.zeros((4, 4)), graph=CHAIN)),
    ("summarise_parent_weights", position_attention.summarise_parent_weights,
     {"per_graph": [[], None, "ab", [(np.array([1]), np.array([1.5]))], [(np.array([0]), np.array([0.5]))],
                    [(np.array([1.5]), np.array([0.5]))], [1], [(np.array([1]), np.array([NAN]))]],
      "n": [1, 0, 1.5, None, HUGE]},
     dict(per_graph=[(np.array([1, 2]), np.array([0.5, 0.7]))], n=3)),
    ("official_bayes_offset", published_bayes.official_bayes_offset,
     {"graph": "graph+forest", "prior": "matrix", "size": [1, 0, None, 1.5, "huge"], "rng": "rng", "roots": "choice",
      "alpha": [0.0, -1.0, NAN, "x"]},
     dict(graph=CHAIN, prior=PI2, size=4, rng=0, roots="stationary", alpha=None)),
    # numerics.train_multi_parent, numerics.train_standard
    ("sample_two_parent_sequences_torch", tmp.sample_two_parent_sequences_torch,
     {"S": "int2+huge", "alpha": "positive", "size": "int+huge", "generator": [0, "x", np.random.default_rng(0)],
      "T": [2, 0, None, HUGE], "device": DEVICE_BAD},
     dict(S=2, alpha=0.5, size=3, generator=torch.Generator().manual_seed(0), T=3, device="cpu")),
    ("parent_role_weights", tmp.parent_role_weights,
     {"attention": [np.full((1, 3, 3), NAN), np.ones((1, 2, 2)), np.ones((1, 3, 4)), "ab", None, np.ones((3, 3))]},
     dict(attention=np.full((1, 3, 3), 1 / 3))),
    ("head_role_assignment", tmp.head_role_assignment,
     {"weights": [np.ones((1, 3, 2)), np.full((2, 3, 2), NAN), "ab", None, np.ones((2, 3, 2)) * 1j,
                  np.ones((2, 3, 3))]},
     dict(weights=np.ones((2, 3, 2)))),
    ("train_multi_parent", tmp.train_multi_parent,
     {"S": "int2+huge", "T": [2, 0, 1.5, None, 5000], "alpha": "positive", "steps": "int", "batch": "int+huge",
      "lr": "positive", "weight_decay": [-1.0, NAN, "x", None], "init_scale": [-1.0, NAN, None],
      "lr_schedule": "choice", "test_size": [1, 0, None, HUGE], "seed": "seed", "threads": THREADS_BAD,
      "device": DEVICE_BAD, "precision": ["float16", None, 32], "eval_steps": EVAL_STEPS_BAD, "progress": "bool"},
     dict(S=2, T=3, steps=1, batch=2, test_size=2, seed=0, threads=1, eval_steps=())),
    ("train_standard_transformer", train_standard.train_standard_transformer,
     {"graph": "graph+forest", "prior": "matrix", "steps": "int", "batch": "int+huge", "lr": "positive",
      "weight_decay": [-1.0, NAN, "x", None], "lr_schedule": "choice", "test_size": [1, 0, None, HUGE],
      "seed": "seed", "roots": "choice", "layers": "int+huge", "threads": THREADS_BAD, "device": DEVICE_BAD,
      "precision": ["float16", None], "eval_steps": EVAL_STEPS_BAD, "progress": "bool"},
     dict(graph=CHAIN2, prior=PI2, steps=1, batch=2, test_size=2, seed=0, threads=1, eval_steps=())),
]


# ----------------------------------------------------------------------------- issue 21: the earlier modules
# Evaluation, population, the torch sampler, the fast trainer, enumeration oracles and the symbolic proofs: the
# modules written before this table; each refuses by name at its door (the symbolic ones on the tiny chain(1)).
EVAL_BATCH = sampling.sample_sequences(CHAIN, PI2, 4, 0)
HELD = evaluation.held_out_sample_of(CHAIN, EVAL_BATCH, 0.1)
POP2 = enumeration.enumerate_population(CHAIN2, PI2)
GEN = torch.Generator().manual_seed(0)
SYM_GRAPH = CausalGraph.chain(1)
SYM_FIELDS = (symbolic.RATIONAL_FUNCTIONS, [[[0.5, 0.5], [0.5, 0.5]]])
HALF = np.full((1, 2), 0.5)
SYM_BAD_GRAPH = ["graph", "forest", CausalGraph.chain(6)]
PIS_TORCH_BAD = [torch.full((1, 2, 2), NAN, dtype=F64), torch.tensor([[[0.5, 0.6], [0.4, 0.6]]], dtype=F64),
                 torch.ones(2, 2, dtype=F64) / 2, torch.ones(1, 2, 2, dtype=C128) / 2, np.full((1, 2, 2), 0.5), None,
                 torch.ones(1, 2, 2, dtype=torch.int64)]
TOKENS_ANY_S = [np.array([[0, -1, 1, 0]]), TOKENS.astype(float), np.array([0, 1, 1, 0]), "0110", None,
                np.array([[0, 1, 1]])]


def _entered(context_manager):
    """Enter and leave a context manager (its checks run on entry)."""
    with context_manager:
        pass


LEGACY_ENTRY_POINTS = [
    # numerics.evaluation
    ("attention_argmax_matches", evaluation.attention_argmax_matches,
     {"attention": [np.ones((2, 2)), None, "x", np.full((4, 4), NAN), np.ones((1, 4, 4))], "graph": "graph+forest"},
     dict(attention=np.eye(4), graph=CHAIN)),
    ("head_parent_assignment", evaluation.head_parent_assignment,
     {"attention": [np.ones((4, 4)), np.ones((0, 4, 4)), np.full((1, 4, 4), NAN), None, "x", np.ones((1, 3, 3))],
      "graph": "graph"}, dict(attention=np.full((1, 4, 4), 0.25), graph=CHAIN)),
    ("cross_entropy_of", evaluation.cross_entropy_of,
     {"yhat": [np.ones(2), None, np.full((2, 2), NAN), np.zeros((2, 2))], "target": [np.ones((3, 2)), np.zeros((2, 2))],
      "smoothing": [1.0, -1.0, NAN, None]}, dict(yhat=np.full((2, 2), 0.5), target=np.full((2, 2), 0.5), smoothing=0.0)),
    ("query_seen_as_parent", evaluation.query_seen_as_parent, {"graph": "graph+forest", "tokens": TOKENS_ANY_S},
     dict(graph=CHAIN, tokens=TOKENS)),
    ("sample_sequences_redrawn", evaluation.sample_sequences_redrawn,
     {"graph": "graph", "prior": "matrix", "size": "int+huge", "rng": "rng", "roots": "choice"},
     dict(graph=CHAIN, prior=PI2, size=4, rng=0, roots="stationary")),
    ("held_out_sample_of", evaluation.held_out_sample_of,
     {"graph": ["graph", "forest", CHAIN2], "batch": [None, "x", TOKENS], "alpha": "positive"},
     dict(graph=CHAIN, batch=EVAL_BATCH, alpha=0.1)),
    ("held_out_loss_and_gap", evaluation.held_out_loss_and_gap,
     {"test": [None, "x", EVAL_BATCH], "yhat": [np.ones(2), None, np.full((4, 2), NAN), np.ones((3, 2)) / 2,
                                                np.ones((4, 2)), np.full((4, 2), 0.5) * 1j]},
     dict(test=HELD, yhat=np.full((4, 2), 0.5))),
    ("held_out_loss", evaluation.held_out_loss,
     {"model": [None, "x", ReducedTransformer(2, 3), ReducedTransformer(3, 4)], "test": [None, "x", EVAL_BATCH],
      "smoothing": "positive+float"}, dict(model=ReducedTransformer(2, 4), test=HELD, smoothing=1e-2)),
    ("induction_head_model", evaluation.induction_head_model,
     {"graph": "graph+forest", "S": "int2+huge", "A1": [np.ones((3, 3)), np.full((4, 4), NAN), "ab", np.eye(4) * 1j]},
     dict(graph=CHAIN, S=2, A1=None)),
    ("induction_reference", evaluation.induction_reference,
     {"graph": ["graph", "forest", CHAIN2], "test": [None, "x", EVAL_BATCH], "smoothing": [0.0, 1.0, -1.0, NAN, None],
      "scales": [np.array([]), np.full(2, NAN), "ab", np.ones((2, 2))], "A1": [np.ones((3, 3)), np.full((4, 4), NAN)]},
     dict(graph=CHAIN, test=HELD, smoothing=1e-2, scales=np.array([0.0, 1.0]), A1=None)),
    ("gap_to_count_estimator", evaluation.gap_to_count_estimator,
     {"graph": ["graph", "forest", CHAIN2], "yhat": [np.ones(2), None, np.full((4, 2), NAN), np.ones((3, 2)) / 2],
      "batch": [None, "x", TOKENS], "alpha": "positive", "smoothing": [1.0, -1.0, NAN, None]},
     dict(graph=CHAIN, yhat=np.full((4, 2), 0.5), batch=EVAL_BATCH, alpha=0.1, smoothing=0.0)),
    ("induction_head_excess", evaluation.induction_head_excess,
     {"graph": ["graph", "forest", CausalGraph.from_parents([None, None])], "prior": "matrix",
      "size": [1, 0, None, 1.5, HUGE], "rng": "rng", "roots": "choice", "smoothing": [0.0, 1.0, NAN, None],
      "alpha": [0.0, NAN, "x"]},
     dict(graph=CHAIN2, prior=PI2, size=4, rng=0, roots="stationary", smoothing=1e-2, alpha=None)),
    ("identity_multiple_fit", evaluation.identity_multiple_fit,
     {"B": [np.ones((2, 3)), np.ones((1, 1)), np.full((2, 2), NAN), "ab", None, np.eye(2) * 1j, np.eye(2) > 0]},
     dict(B=np.eye(3))),
    # numerics.population
    ("population_loss", population.population_loss,
     {"model": [None, "x", DisentangledTransformer(2, 3)],
      "population": [None, "x", EVAL_BATCH, enumeration.enumerate_population(CHAIN, PI2)],
      "loss": "choice", "smoothing": [0.0, 1.0, NAN, None, "x"]},
     dict(model=ReducedTransformer(2, 3), population=POP2, loss="cross_entropy", smoothing=1e-12)),
    ("initial_gradient_by_extrapolation", population.initial_gradient_by_extrapolation,
     {"graph": "graph+forest", "prior": "matrix", "loss": "choice", "roots": "choice", "beta": "positive",
      "smoothing": [0.0, 1.0, NAN, None], "max_sequences": "int"},
     dict(graph=CHAIN2, prior=PI2, loss="linearized", roots="stationary", beta=1e-3, smoothing=1e-12,
          max_sequences=1000)),
    # numerics.runtime
    ("intra_op_threads", lambda threads: _entered(runtime.intra_op_threads(threads)),
     {"threads": THREADS_BAD + [None, HUGE]}, dict(threads=1)),
    ("progress_lines", lambda **kw: _entered(runtime.progress_lines(**kw)),
     {"stream": ["x", 3, [1]], "interval": [-1.0, NAN, INF, None, "30"]}, dict(stream=None, interval=30.0)),
    ("torch_device", runtime.torch_device, {"device": DEVICE_BAD}, dict(device="cpu")),
    ("training_device", runtime.training_device, {"device": DEVICE_BAD + ["cuda:0", "meta", torch.device("cpu")]},
     dict(device="cpu")),
    # numerics.sampling_torch
    ("gamma_draws", sampling_torch.gamma_draws,
     {"alpha": "positive", "shape": [(0,), (-1, 2), (1.5,), "ab", None, (), (HUGE, HUGE), 3],
      "generator": [0, "x", np.random.default_rng(0), None], "device": DEVICE_BAD},
     dict(alpha=0.5, shape=(2, 2), generator=GEN, device="cpu")),
    ("dirichlet_transitions", sampling_torch.dirichlet_transitions,
     {"S": "int2+huge", "alpha": "positive", "size": "int+huge", "generator": [0, "x", None], "device": DEVICE_BAD},
     dict(S=2, alpha=0.5, size=3, generator=GEN, device="cpu")),
    ("stationary_laws_torch", sampling_torch.stationary_laws_torch, {"pis": PIS_TORCH_BAD},
     dict(pis=torch.full((1, 2, 2), 0.5, dtype=F64))),
    ("transitions_with_laws", sampling_torch.transitions_with_laws,
     {"prior": [PI2, None, "x"], "size": "int+huge", "generator": [0, None], "device": DEVICE_BAD, "roots": "choice"},
     dict(prior=DIRICHLET, size=3, generator=GEN, device="cpu", roots="stationary")),
    ("sample_sequences_torch", sampling_torch.sample_sequences_torch,
     {"graph": "graph+forest", "prior": "matrix", "size": "int+huge", "generator": [0, "x", None],
      "device": DEVICE_BAD, "roots": "choice"},
     dict(graph=CHAIN, prior=PI2, size=3, generator=GEN, device="cpu", roots="stationary")),
    ("BatchStream", sampling_torch.BatchStream,
     {"graph": "graph+forest", "prior": "matrix", "batch": "int+huge", "steps": "int", "generator": [0, "x", None],
      "device": DEVICE_BAD, "roots": "choice", "dtype": [torch.int64, None, "float32"], "prefetch": [1, "yes", None]},
     dict(graph=CHAIN, prior=PI2, batch=2, steps=3, generator=GEN, device="cpu", roots="stationary",
          dtype=torch.float32, prefetch=False)),
    # numerics.training_config and numerics.train_disentangled: the fast path
    ("FastTrainingConfig", td.FastTrainingConfig,
     {"schedule": ["bogus", None, 3, {}, td.TrainingSchedule("adamw", 0.1, "constant", 1, 2)],
      "heads": [(1,), (0, 1), (1.5, 1), "ab", None, 2], "precision": ["float16", None], "device": DEVICE_BAD,
      "threads": THREADS_BAD + [HUGE], "compile": "bool", "prefetch": [1, "yes"], "roots": "choice",
      "alpha": [0.0, NAN, "x"], "init_noise": [-1.0, NAN, "x"], "test_size": [1, 0, None],
      "eval_steps": EVAL_STEPS_BAD, "seed": "seed", "progress": "bool"},
     dict(schedule=td.TrainingSchedule("adam", 0.01, "constant", 1, 2), threads=1, prefetch=False, test_size=16,
          eval_steps=())),
    ("TrainingSchedule", td.TrainingSchedule,
     {"optimizer": "choice", "lr": "positive", "lr_schedule": "choice", "steps": "int", "batch": "int"},
     dict(optimizer="adam", lr=0.01, lr_schedule="constant", steps=1, batch=2)),
    ("float64_copy", td.float64_copy, {"model": [None, "x", ReducedTransformer(2, 3)]},
     dict(model=DisentangledTransformer(2, 3))),
    ("train_disentangled_fast", td.train_disentangled_fast,
     {"graph": "graph+forest", "prior": "matrix", "schedule": ["bogus", None, 3, {}],
      "steps": [0, -1, 1.5, NAN, "3", True, HUGE], "batch": [0, -1, 1.5, "3", HUGE, 10 ** 12],
      "lr": [0.0, -1.0, NAN, INF, "0.1", 1j], "heads": [(1,), (0, 1), (1.5, 1), "ab", None, 2],
      "precision": ["float16", None], "device": DEVICE_BAD, "threads": THREADS_BAD, "compile": "bool",
      "prefetch": [1, "yes"], "roots": "choice",
      "alpha": [0.0, NAN, "x"], "init_noise": [-1.0, NAN, "x"], "test_size": [1, 0, None, HUGE],
      "eval_steps": EVAL_STEPS_BAD, "seed": "seed", "progress": "bool"},
     dict(graph=CHAIN2, prior=PI2, steps=1, batch=2, threads=1, prefetch=False, test_size=16, eval_steps=(), seed=0)),
    # numerics.augmented: sizes of a setting
    ("cubature_points", na.cubature_points, {"setting": [None, "x", 1.0]}, dict(setting=TINY_SETTING)),
    ("moments_bytes", na.moments_bytes, {"setting": [None, "x"], "batch": "int"}, dict(setting=TINY_SETTING, batch=8)),
    ("flat_size", na.flat_size, {"shapes": [None, "ab", [(2,)], [(1.5, 2)], [(-1, 2)], [(True, 2)], [[2, 2]]],
                                 "real": "bool"}, dict(shapes=[(2, 2)], real=True)),
    # model.autoregressive
    ("augmented_tokens", augmented_tokens, {"seqs": [s for s in SEQS_BAD if s is not SEQS_BAD[1]]},
     dict(seqs=torch.ones(1, 3, 2, dtype=F64))),
    # theory.enumeration
    ("brute_force_pairwise_joint", enumeration.brute_force_pairwise_joint,
     {"graph": "graph+forest", "pi": "matrix", "roots": "choice"}, dict(graph=CHAIN, pi=PI2, roots="stationary")),
    ("context_likelihood_ratio_by_enumeration", enumeration.context_likelihood_ratio_by_enumeration,
     {"graph": "graph+forest", "pi": "matrix", "roots": "choice"}, dict(graph=CHAIN, pi=PI2, roots="stationary")),
    ("likelihood_ratio_by_enumeration", enumeration.likelihood_ratio_by_enumeration,
     {"graph": "graph+forest", "prior": "matrix"}, dict(graph=CHAIN, prior=PI2)),
    ("positional_gd_path_by_iteration", enumeration.positional_gd_path_by_iteration,
     {"C": C_BAD, "n_max": "int+huge", "nu": NU, "lr": "positive", "steps": [-1, 1.5, 10 ** 20, "3", None]},
     dict(C=np.eye(1), n_max=2, nu=1.0, lr=0.5, steps=3)),
    # theory.autoregressive_symbolic
    ("raw_token_symbols", autoregressive_symbolic.raw_token_symbols, {"d": "int+huge", "n": "int+huge"},
     dict(d=2, n=1)),
    # theory.symbolic
    ("symbolic_root_law", symbolic.symbolic_root_law, {"roots": "choice"}, dict(roots="uniform")),
    ("symbolic_linearized_loss", symbolic.symbolic_linearized_loss, {"graph": SYM_BAD_GRAPH, "roots": "choice"},
     dict(graph=SYM_GRAPH, roots="stationary")),
    ("symbolic_initial_gradient", symbolic.symbolic_initial_gradient, {"graph": SYM_BAD_GRAPH, "roots": "choice"},
     dict(graph=SYM_GRAPH, roots="stationary")),
    ("symbolic_likelihood_ratio_matrix", symbolic.symbolic_likelihood_ratio_matrix,
     {"graph": SYM_BAD_GRAPH, "roots": "choice"}, dict(graph=SYM_GRAPH, roots="stationary")),
    ("symbolic_closed_form_gradient", symbolic.symbolic_closed_form_gradient,
     {"graph": SYM_BAD_GRAPH, "roots": "choice"}, dict(graph=SYM_GRAPH, roots="stationary")),
    ("prove_initial_gradient", symbolic.prove_initial_gradient,
     {"graph": SYM_BAD_GRAPH, "roots": "choice",
      "closed_form": [sp.zeros(3, 3), np.zeros((2, 2)), "x", sp.Matrix([[sp.Symbol("z"), 0], [0, 0]])]},
     dict(graph=SYM_GRAPH, roots="stationary", closed_form=None)),
    ("prove_chi2_parent_identity", symbolic.prove_chi2_parent_identity, {"graph": SYM_BAD_GRAPH, "roots": "choice"},
     dict(graph=SYM_GRAPH, roots="stationary")),
    ("symbolic_chi2_information", symbolic.symbolic_chi2_information,
     {"joint": [None, np.eye(2), "x", sp.Matrix([[sp.Symbol("z"), 0], [0, 1]]), sp.zeros(2, 2)]},
     dict(joint=sp.Matrix([[sp.Rational(1, 4)] * 2] * 2))),
    ("reduced_model_output", symbolic.reduced_model_output,
     {"tokens": [None, "01", [0, 2], [0.5, 1], [0], [True, False], [0] * 9],
      "A1": [None, np.zeros((2, 2)), sp.zeros(3, 3)], "A2": [None, sp.zeros(2, 3), sp.zeros(1, 1), sp.zeros(5, 5)]},
     dict(tokens=[0, 1], A1=sp.zeros(2, 2), A2=sp.eye(2))),
    ("closed_form_from_arrays", symbolic.closed_form_from_arrays,
     {"graph": "graph+forest", "pis": [None, "ab", np.ones((2, 2)), np.full((1, 2, 2), NAN)],
      "mu": [None, "ab", np.ones((1, 3)) / 3, np.full((1, 2), NAN)], "start": [None, "ab", np.ones((1, 3)) / 3]},
     dict(graph=CHAIN, pis=PI2[None], mu=laws.stationary_laws(PI2[None]), start=laws.stationary_laws(PI2[None]))),
]
ENTRY_POINTS += LEGACY_ENTRY_POINTS


def _tiny_gap():
    """An :class:`numerics.architecture_gap.ArchitectureGap` of the smallest run (built once, on first use)."""
    if "gap" not in _TINY:
        _TINY["gap"] = gap.architecture_gap(CHAIN2, PI2, fit_size=2, lbfgs_iterations=1, steps=1, batch=2,
                                            test_size=4, rng=0)
    return _TINY["gap"]


_TINY: dict = {}
ENTRY_POINTS += RECENT_ENTRY_POINTS

# issue 19: formulas and side studies moved out of claim files (theory.edge_ranking, numerics.edge_ranking,
# theory.estimates fits, the real-orthogonal gradient, the head cosine, the spec's symbolic closed form, the
# shared induction run)
from numerics import edge_ranking as ner  # noqa: E402
from numerics import train_reduced as trr  # noqa: E402
from theory import edge_ranking as ter  # noqa: E402

ALPHAS_BAD = [(), (0.0,), "ab", None, (NAN,)]
STATES_BAD = [(), (1,), "ab", None, (2.5,)]
ISSUE19_ENTRY_POINTS = [
    ("drift_from_likelihood_ratio", ter.drift_from_likelihood_ratio,
     {"N": [np.ones(3), np.ones((2, 3)), "ab", None, np.ones((2, 2)) * 1j]}, dict(N=np.eye(3))),
    ("diagonal_violation", ter.diagonal_violation,
     {"N": [np.ones((2, 2)), "ab", None, np.ones(4)], "graph": "graph"}, dict(N=np.eye(4) + 0.1, graph=CHAIN)),
    ("query_self_margin", ter.query_self_margin, {"N": [np.ones((1, 1)), np.ones((2, 2, 2)), "ab", None]},
     dict(N=np.eye(3))),
    ("dirichlet_parent_minus_diagonal_mean", ter.dirichlet_parent_minus_diagonal_mean, {"alpha": "positive"},
     dict(alpha=0.5)),
    ("dirichlet_query_self_margin_mean", ter.dirichlet_query_self_margin_mean, {"alpha": "positive"},
     dict(alpha=3.0)),
    ("log_log_slope", estimates.log_log_slope,
     {"x": [[1.0], [1.0, -1.0, 2.0], [1.0, 1.0, 1.0], "ab", None, [1.0, NAN, 2.0]],
      "y": [[1.0], [1.0, 0.0, 2.0], "ab", None], "stderr": [[1.0], [0.0, 1.0, 1.0], "ab"]},
     dict(x=[1.0, 2.0, 4.0], y=[1.0, 0.5, 0.3], stderr=None)),
    ("hill_tail_index", estimates.hill_tail_index,
     {"values": [[1.0], [-1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 0.0, 0.0], "ab", None, [NAN, 1.0, 2.0, 3.0]],
      "tail": "int+huge"},
     dict(values=[1.0, 2.0, 4.0, 8.0], tail=2)),
    ("raw_token_loss_and_gradient_real_orthogonal", ar.raw_token_loss_and_gradient_real_orthogonal,
     {"A": [np.ones((1, 3)), np.ones(2), np.full((1, 2), NAN), "ab", None],
      "B": [np.ones((2, 2)), np.full((1, 2), NAN), "ab", None], "p": P_BAD},
     dict(A=np.ones((1, 2)), B=np.ones((1, 2)), p=np.ones(2))),
    ("max_head_cosine", ar.max_head_cosine, {"M": [np.ones(3), np.full((2, 2), NAN), "ab", None, np.eye(2) * 1j]},
     dict(M=np.eye(2))),
    ("raw_token_loss_closed_form_symbolic", autoregressive_symbolic.raw_token_loss_closed_form_symbolic,
     {"d": "int", "n": "int"}, dict(d=1, n=1)),
    ("dirichlet_draws", ner.dirichlet_draws, {"S": "int2", "alpha": "positive", "size": "int", "rng": "rng"},
     dict(S=2, alpha=1.0, size=3, rng=0)),
    ("batch_means_of_likelihood_ratio", ner.batch_means_of_likelihood_ratio,
     {"graph": "graph", "pis": STACK_BAD, "batches": [0, -1, 1.5, None, "2", 3]},
     dict(graph=CHAIN, pis=np.stack([PI2, PI2]), batches=2)),
    ("edge_ranking_violation_rates", ner.edge_ranking_violation_rates,
     {"rng": "rng", "alphas": ALPHAS_BAD, "states": STATES_BAD, "draws": "int", "priors": "int", "n_max": "int2",
      "tie": [-1.0, NAN, None, "0"]},
     dict(rng=0, alphas=(1.0,), states=(2,), draws=2, priors=1, n_max=3, tie=1e-12)),
    ("dirichlet_average_ranking", ner.dirichlet_average_ranking,
     {"rng": "rng", "alphas": ALPHAS_BAD, "states": STATES_BAD, "draws": "int", "n_max": "int2",
      "batches": [0, -1, 1.5, None, "2", HUGE]},
     dict(rng=0, alphas=(1.0,), states=(2,), draws=4, n_max=3, batches=2)),
    ("initial_gradient_race", ner.initial_gradient_race,
     {"rng": "rng", "draws": "int", "chains": [(), ((2,),), "ab", None, ((1, 3),)]},
     dict(rng=0, draws=1, chains=((2, 2),))),
    ("query_row_tail_index", ner.query_row_tail_index,
     {"rng": "rng", "S": "int2", "alpha": "positive", "draws": "int", "tail": "int+huge"},
     dict(rng=0, S=2, alpha=1.0, draws=20, tail=2)),
    ("chain_induction_run", trr.chain_induction_run,
     {"S": "int2", "n": "int", "steps1": [-1, 1.5, None, "3"], "steps2": [-1, 1.5, None, "3"], "test_size": "int",
      "seed": "seed", "alpha": "positive", "lr2": "positive", "eval_every": "int"},
     dict(S=2, n=2, steps1=1, steps2=1, test_size=4, seed=0)),
]
ENTRY_POINTS += ISSUE19_ENTRY_POINTS


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
               "all", "shannon", "chi2", "generic", "near_degenerate", "self_looping", "sparse", "cosine", "constant",
               "fixed", "sphere", "official", "bare", "ideal_head", "token_symmetric", "free"):
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
        ("size", lambda: sampling.sample_sequences(CHAIN, PI2, 10 ** 10)),
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


def test_huge_sizes_of_the_autoregressive_code_are_refused_before_allocating():
    """Issue 21: a sequence length of 10^10, a positional matrix of size 10^6, a step count of 10^20, a
    grid of 3^(10^9) points: each is refused at once by a byte (or time) budget naming the size, never a
    MemoryError, an OverflowError or minutes of work."""
    eye30 = np.eye(30)
    calls = [
        ("T", lambda: ar.sequences(np.eye(2)[None], np.ones(2), 10 ** 10)),
        ("T", lambda: ar.sample_sequences("unitary", 2, 10 ** 10, 4, rng=0)),
        ("T", lambda: PositionalOnly(torch.eye(2, dtype=torch.float64), 10 ** 6)),
        ("T", lambda: positional.optimal_positional_matrix(np.eye(1), 10 ** 6)),
        ("n", lambda: positional.positional_gram(np.eye(1), 10 ** 6)),
        ("n_max", lambda: positional.positional_row_grams(np.eye(1), 10 ** 5)),
        ("steps", lambda: tar.train_positional_gd(np.eye(1), 2, 1.0, 8, steps=10 ** 20)),
        ("steps", lambda: positional.quadratic_gd_path(np.eye(2)[None], np.ones((1, 2)), 1.0, 0.1, steps=10 ** 20)),
        ("steps", lambda: tar.train_raw_token(1, 1, 1, steps=10 ** 20)),
        ("steps", lambda: na.train_full_attention(MOM, steps=10 ** 20)),
        ("t", lambda: positional.gd_spectral_filter(np.ones(2), 0.1, 10 ** 400)),
        ("D", lambda: nar.phase_grid(10 ** 9, 3)),
        ("d", lambda: nar.grid_eigen_tokens("unitary", 10 ** 9, 1, 3)),
        ("setting", lambda: na.population_moments(na.Setting("complex", "fixed", 20, 1))),
        ("setting", lambda: na.start_token_cubature(na.Setting("real", "signs", 10 ** 6, 1))),
        ("d", lambda: ar.haar_unitary(10 ** 6)),
        ("d", lambda: ar.default_s0(10 ** 10)),
        ("size", lambda: ar.commuting_unitary_contexts(2, 10 ** 10)),
        ("t", lambda: ar.gd_step_loss_coefficients(np.arange(1, 10 ** 5 + 1)[:, None], np.arange(1, 10 ** 5 + 1)[None])),
        ("t", lambda: ar.gd_step_loss_coefficients(10 ** 30, 2)),
        ("seqs", lambda: ar.one_step_gd_prediction(np.broadcast_to(0.0, (1, 10 ** 6, 1)), 0.5)),
        ("s", lambda: autoregressive_symbolic.augmented_attention_output_symbolic(eye30, eye30, eye30,
                                                                                  np.ones((301, 10)))),
        ("tokens", lambda: gradients.attention_gradient_integrand(np.zeros((20000, 300), dtype=int),
                                                                  np.full((20000, 2), 0.5), np.full((20000, 2), 0.5))),
        ("depth", lambda: laws.transition_powers(PI2[None], 10 ** 9)),
        ("graph", lambda: laws.pairwise_joints(CausalGraph.chain(10 ** 5), PI2[None], laws.stationary_laws(PI2[None]))),
        ("x", lambda: na.gradient_and_hessian(lambda x: (x ** 2).sum(), torch.ones(10 ** 5, dtype=torch.float64))),
        ("S", lambda: ReducedTransformer(10 ** 6, 4)),
    ]
    for arg, call in calls:
        started = time.perf_counter()
        with pytest.raises(ValueError, match=rf"^{arg}\b"):
            call()
        assert time.perf_counter() - started < 5.0, arg


@_FUZZ
@given(st.sampled_from([("Q", lambda M: ar.commuting_unitary_contexts(3, 2, 0, Q=M), False),
                        ("P", lambda M: ar.commuting_orthogonal_contexts(4, 2, 0, P=M), True),
                        ("Q", lambda M: nar.gd_step_samples(1, 3, 2, 0, Q=M), False)]), st.data())
def test_generated_matrices_that_break_the_promise_are_refused_by_name(case, data):
    """``Q`` is promised unitary and ``P`` orthogonal within 1e-8 (theory.validate.UNITARY_TOL): the zero
    matrix, scaled and perturbed identities, random matrices and non-finite ones are refused by name."""
    name, call, real = case
    d = 4 if name == "P" else 3
    bad = data.draw(st.one_of(strategies.non_unitary_matrices(d, real=real), strategies.non_finite_arrays((d, d))))
    with pytest.raises(ValueError, match=rf"^{name}: "):
        call(bad)


@_FUZZ
@given(st.sampled_from([
    ("W", lambda a: ar.sequences(a, np.ones(2), 2), (1, 2, 2)),
    ("s0", lambda a: ar.sequences(np.eye(2)[None], a, 2), (2,)),
    ("seqs", lambda a: ar.one_step_gd_prediction(a, 0.5), (1, 3, 2)),
    ("C", lambda a: ar.raw_token_population_loss(a, np.array([0.0, 1.0])), (2, 2)),
    ("p", lambda a: positional.positional_population_loss(a, np.eye(1)), (3,)),
    ("lam", lambda a: positional.gd_spectral_filter(a, 0.1, 2), (3,)),
    ("theta", lambda a: ar.rotation_blocks(a), (2, 1)),
    ("queries", lambda a: nar.raw_token_scores(np.eye(2), a, np.ones((3, 2, 2))), (3, 2)),
    ("X", lambda a: tar.empirical_positional_grams(a, np.eye(1), 1), (4, 3, 1)),
    ("pis", lambda a: laws.stationary_laws(a), (1, 2, 2)),
    ("joint", lambda a: gradients.likelihood_ratio_from_joint(a, PI2[None], laws.stationary_laws(PI2[None])),
     (1, 3, 3, 2, 2)),
    ("seqs", lambda a: AugmentedLinearAttention(2)(torch.from_numpy(a)), (1, 3, 2)),
    ("X", lambda a: raw_token_prediction(torch.eye(2, dtype=torch.float64), torch.tensor([0.0, 1.0],
                                                                                         dtype=torch.float64),
                                         torch.from_numpy(a)), (2, 3, 2)),
    ("seqs", lambda a: na.augmented_features(torch.from_numpy(a), 1), (2, 3, 1)),
]), st.data())
def test_generated_non_finite_arrays_are_refused_by_name(case, data):
    """NaN and ±inf anywhere in a context matrix, a sequence, a matrix of heads, positional weights, a
    spectrum or a stack of matrices: refused by name, never a NaN result."""
    name, call, shape = case
    with pytest.raises(ValueError, match=rf"^{name}: "):
        call(data.draw(strategies.non_finite_arrays(shape)))


@_FUZZ
@given(st.sampled_from([
    ("d", lambda v: ar.sample_phases(v, 2, 0), 1, None),
    ("size", lambda v: ar.haar_orthogonal_contexts(2, v, 0), 1, None),
    ("T", lambda v: ar.sequences(np.eye(2)[None], np.ones(2), v), 1, None),
    ("n", lambda v: positional.positional_gram(np.eye(1), v), 1, None),
    ("depth", lambda v: laws.transition_powers(PI2[None], v), 0, None),
    ("t", lambda v: ar.gd_step_loss_coefficients(v, 2), 1, validate.MAX_INT64),
    ("t", lambda v: positional.gd_spectral_filter(np.ones(2), 0.1, v), 0, validate.MAX_EXACT_FLOAT_INT),
    ("head", lambda v: DisentangledTransformer(2, 4, (2, 1)).position_block(0, v), 0, 1),
    ("layer", lambda v: DisentangledTransformer(2, 4).attention(v, torch.ones(1, 4, 6, dtype=torch.float64)), 0, 1),
]), st.data())
def test_generated_bad_integers_and_indices_are_refused_by_name(case, data):
    """Orders, sizes, powers and indices: negative, fractional, non-finite, beyond the range (an index
    past the last head or layer, an integer beyond int64, a step count beyond 2^53) are refused by name."""
    name, call, minimum, maximum = case
    with pytest.raises(ValueError, match=rf"^{name}: "):
        call(data.draw(strategies.bad_integers(minimum, maximum)))


@_FUZZ
@given(st.sampled_from([
    ("pis", lambda m: laws.stationary_laws(m[None])),
    ("pis", lambda m: laws.transition_powers(m[None], 2)),
    ("pis", lambda m: gradients.likelihood_ratio_from_joint(laws.pairwise_joint(CHAIN, PI2)[None], m[None],
                                                            laws.stationary_laws(PI2[None]))),
]), strategies.non_stochastic_matrices(2))
def test_generated_non_stochastic_stacks_are_refused_by_name(case, bad):
    name, call = case
    with pytest.raises(ValueError, match=rf"^{name}: "):
        call(bad)


def test_moment_orders_and_powers_are_whole_numbers():
    """φ_ν(0.5) used to return 0 and π^(-1) the identity; the moments of whole orders are unchanged."""
    with pytest.raises(ValueError, match=r"^m: expected integers, got the fraction 0.5"):
        ar.phase_moment(0.5)
    with pytest.raises(ValueError, match=r"^depth: "):
        laws.transition_powers(PI2[None], -1)
    with pytest.raises(ValueError, match=r"^t: "):
        positional.gd_spectral_filter(np.ones(2), 0.1, -1)
    assert np.array_equal(ar.phase_moment(np.array([0.0, 2.0]), 2.0), ar.phase_moment(np.array([0, 2]), 2.0))


def test_raw_token_loss_function_refuses_bad_heads_and_weights():
    f = autoregressive_symbolic.raw_token_loss_function(1, 1)
    assert f(np.eye(1), np.array([0.0, 1.0])) == 0.0
    for C, p, name in ((np.eye(2), [0.0, 1.0], "C"), ([[NAN]], [0.0, 1.0], "C"), (np.eye(1), [1.0], "p"),
                       (np.eye(1), [INF, 1.0], "p"), ("ab", [0.0, 1.0], "C")):
        with pytest.raises(ValueError, match=rf"^{name}: "):
            f(C, p)


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
    if isinstance(result, np.ma.MaskedArray):  # the undefined entries are masked (NaN under the mask)
        return bool(np.all(np.isfinite(result.compressed())))
    return bool(np.all(np.isfinite(np.asarray(result))))


@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("S", (2, 3, 6))
def test_small_and_large_concentrations_give_finite_numbers(alpha, S):
    prior = DirichletPrior(S, alpha)
    pis = prior.sample(1000, 1)
    assert np.all(pis > 0) and np.allclose(pis.sum(axis=2), 1.0, atol=1e-12)
    mu = laws.stationary_distribution(pis)
    assert np.all(np.isfinite(mu)) and np.all(mu >= gradients.MIN_STATIONARY)
    for roots in ("stationary", "uniform"):
        assert _finite_defined(gradients.attention_gradient_at_init(CHAIN, prior, draws=1000, rng=2, roots=roots))
        assert _finite_defined(gradients.drift_matrix(CHAIN, prior, draws=1000, rng=2, roots=roots))
    assert _finite_defined(gradients.attention_gradient_at_init(CausalGraph.chain(2), prior, draws=20, rng=2,
                                                                loss="cross_entropy"))
    assert _finite_defined(information.mutual_information_matrix(CHAIN, prior, draws=50, rng=3))
    batch = sampling.sample_sequences(CausalGraph.chain(5), prior, 500, 4)
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
    assert np.array_equal(tiny[raw >= priors.PROBABILITY_FLOOR], raw[raw >= priors.PROBABILITY_FLOOR])
    assert np.all(tiny[raw < priors.PROBABILITY_FLOOR] == priors.PROBABILITY_FLOOR)


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
        for f in (gradients.likelihood_ratio_matrix, laws.pairwise_joint, laws.marginals):
            assert _finite_defined(f(graph, pi, roots))
        assert _finite_defined(information.mutual_information_matrix(graph, pi, "chi2", roots))
        assert _finite_defined(gradients.attention_gradient_at_init(graph, pi, loss="cross_entropy", roots=roots))
        assert _finite_defined(gradients.attention_gradient_at_init(graph, pi, roots=roots))


def test_a_stationary_law_below_float64_is_refused_by_name_not_returned_as_inf():
    """μ_π(0) ≈ 1e-323: N[n, n] ≈ 5e322 is not a float64 number; the linearised loss refuses naming ``prior``,
    the cross-entropy (which does not divide by μ_π) answers."""
    pi = np.array([[0.5, 0.5], [5e-324, 1.0]])
    with pytest.raises(ValueError, match=r"^prior: .*full support"):
        gradients.likelihood_ratio_matrix(CHAIN, pi)
    assert _finite_defined(gradients.attention_gradient_at_init(CHAIN, pi, loss="cross_entropy"))


def test_readme_sizes_give_finite_numbers():
    prior = DirichletPrior(10, 0.1)
    graph = CausalGraph.chain(19)
    assert _finite_defined(gradients.attention_gradient_at_init(graph, prior, draws=200, rng=0))
    assert _finite_defined(gradients.drift_matrix(graph, prior, draws=200, rng=0))
    assert _finite_defined(gradients.likelihood_ratio_matrix(CausalGraph.chain(1500), PI3))


# ----------------------------------------------------------------------------- issue 21: two valid calls, the trainers
def test_drift_matrix_masks_the_entries_without_a_prior_mean():
    """α(S - 1) = 0.01 <= 1: the prior mean of N[n, n] = Σ_a π(a, a)/μ_π(a) is infinite.  Its column of
    the drift used to come back as a draws-average near 1e289; it is masked now, like the gradient of
    :func:`attention_gradient_at_init` (the convention of theory.estimates.Estimate: NaN under the mask)."""
    prior = DirichletPrior(2, 0.01)
    M = gradients.drift_matrix(CHAIN, prior, draws=300, rng=0)
    raw = gradients.drift_matrix(CHAIN, prior, draws=300, rng=0, masked=False)
    defined = gradients.drift_matrix_defined(CHAIN, prior)
    assert isinstance(M, np.ma.MaskedArray) and np.array_equal(np.ma.getmaskarray(M), ~defined)
    assert not defined[:, -1].any() and defined[:, :-1].all()  # stationary roots: the query column only
    assert np.all(np.isnan(np.ma.getdata(M)[~defined])) and np.all(np.isfinite(M.compressed()))
    assert np.array_equal(np.ma.getdata(M)[defined], raw[defined])  # the defined entries keep their bits
    assert np.max(np.abs(raw[~defined])) > 1e100  # what the mask hides: a random number growing with draws
    assert np.max(np.abs(M.compressed())) < 1.0  # |N[m, j]| <= S in the context columns: |M| <= 2S/(S T)
    uniform = gradients.drift_matrix(CHAIN, prior, roots="uniform", draws=30, rng=0)
    assert np.ma.getmaskarray(uniform).all()
    # where every entry has a prior mean the result is the plain array it always was
    plain = gradients.drift_matrix(CHAIN, DirichletPrior(3, 1.0), draws=30, rng=0)
    assert type(plain) is np.ndarray
    assert np.array_equal(plain, gradients.drift_matrix(CHAIN, DirichletPrior(3, 1.0), draws=30, rng=0, masked=False))


@pytest.mark.parametrize("roots", ("stationary", "uniform"))
def test_tiny_concentrations_give_masked_estimates_without_overflow(roots):
    """α = 0.01: batch gradients near 1e289 used to overflow in the square of the sample variance; the
    entries without a finite variance report no stderr (masked), so none is squared, and the defined
    entries are finite."""
    prior = DirichletPrior(3, 0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        mc = population.monte_carlo_gradient_A1(CHAIN, prior, 0.1, batch=64, batches=4, rng=5, roots=roots)
        closed = gradients.attention_gradient_at_init(CHAIN, prior, draws=500, rng=2, roots=roots)
    for estimate in (mc, closed):
        assert np.all(np.isfinite(np.ma.getdata(estimate.value)[estimate.defined]))
        assert np.all(np.isfinite(np.ma.getdata(estimate.stderr)[estimate.finite_variance]))
    assert np.ma.getmaskarray(mc.stderr).all()


@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("S", (2, 3, 6))
def test_the_torch_sampler_gives_laws_at_small_and_large_concentrations(alpha, S):
    """At α = 0.001 a quarter of the Dirichlet rows underflow in every entry (S = 2): they are normalised in
    logs, so every draw is a law, with either root law; the tokens stay in [S]."""
    generator = torch.Generator().manual_seed(1)
    pis = sampling_torch.dirichlet_transitions(S, alpha, 1000, generator)
    assert bool(torch.isfinite(pis).all()) and float((pis.sum(dim=2) - 1).abs().max()) < 1e-12
    for roots in ("stationary", "uniform"):
        _, mu = sampling_torch.transitions_with_laws(DirichletPrior(S, alpha), 500, generator, roots=roots)
        assert bool(torch.isfinite(mu).all()) and float((mu.sum(dim=1) - 1).abs().max()) < 1e-12
        tokens, target, _ = sampling_torch.sample_sequences_torch(CausalGraph.chain(4), DirichletPrior(S, alpha), 300,
                                                                 generator, roots=roots)
        assert int(tokens.max()) < S and bool(torch.isfinite(target).all())
    assert np.all(np.isfinite(sampling_torch.stationary_laws_torch(torch.eye(S, dtype=torch.float64)[None].roll(1, 2))
                              .numpy()))


def test_the_evaluation_measures_are_finite_at_their_edges():
    """One-hot predictions and targets (0·log 0 = 0), S = 2, n = 1, a single head, an exact induction head."""
    one_hot = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert evaluation.cross_entropy_of(one_hot, one_hot) == 0.0
    assert np.all(np.isfinite(evaluation.cross_entropies(np.full((2, 2), 0.5), one_hot)))
    assert evaluation.identity_multiple_fit(3 * np.eye(2) + 1.0) == (3.0, 0.0)
    graph = CausalGraph.chain(1)
    worst, distinct = evaluation.head_parent_assignment(np.array([[[1.0, 0.0], [1.0, 0.0]]]), graph)
    assert worst == 1.0 and distinct
    batch = sampling.sample_sequences(graph, PI2, 64, 0)
    held = evaluation.held_out_sample_of(graph, batch, 0.1)
    loss, c = evaluation.induction_reference(graph, held)
    assert math.isfinite(loss) and math.isfinite(c) and math.isfinite(held.estimator_loss)
    gap = evaluation.gap_to_count_estimator(graph, np.full((64, 2), 0.5), batch, 0.1)
    assert np.all(np.isfinite(gap.excess))
    assert np.all(np.isfinite(population.initial_gradient_by_extrapolation(graph, PI2)))
    assert np.all(np.isfinite(enumeration.likelihood_ratio_by_enumeration(graph, np.array([[0.0, 1.0], [1.0, 0.0]]))))


def test_the_spread_of_finite_variance_entries_keeps_its_bits():
    """mean_and_stderr squares only the entries with a finite variance; theirs are the same bits as before,
    for C and Fortran layouts and any axis."""
    x = np.random.default_rng(0).standard_normal((40, 3, 4)) * 1e3
    x[:, 0, 0] = 1e300
    keep = np.ones((3, 4), dtype=bool)
    keep[0, 0] = False
    for samples in (x, np.asfortranarray(x)):
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            masked = estimates.mean_and_stderr(samples, finite_variance=keep)
        plain = estimates.mean_and_stderr(samples[:, 1:])
        assert np.array_equal(np.ma.getdata(masked.stderr)[1:], plain.stderr)
        assert np.array_equal(masked.value, samples.mean(axis=0))


@pytest.mark.parametrize("train, lr", [
    (lambda: train_reduced(CausalGraph.chain(5), DirichletPrior(3, 0.5), beta=1e3, source="population",
                           stage1_loss="linearized", lr1=1e308, steps1=3, steps2=0, draws=4, test_size=16,
                           eval_every=1, progress=False), "lr1 = 1e\\+308"),
    (lambda: train_reduced(CausalGraph.chain(5), DirichletPrior(3, 0.5), beta=1e200, source="sgd", lr1=1e308,
                           steps1=3, steps2=0, batch=16, test_size=16, eval_every=1, progress=False), "lr1 = 1e\\+308"),
    (lambda: tar.train_raw_token(1, 1, 1, steps=5, lr=1e308), "lr = 1e\\+308"),
    (lambda: tar.train_raw_token(2, 2, 2, steps=5, lr=1e300), "lr = 1e\\+300"),
    (lambda: tar.train_positional_gd(np.eye(1), 2, 1.0, 16, lr=1e300, steps=5), "lr = 1e\\+300"),
    (lambda: na.train_full_attention(MOM, steps=5, lr=1e308), "lr = 1e\\+308"),
    (lambda: na.train_full_attention(na.population_moments(na.Setting("real", "fixed", 2, 1)), steps=5, lr=1e308),
     "lr = 1e\\+308"),
], ids=["reduced-closed-form", "reduced-sgd", "raw-token-d1", "raw-token-d2", "positional-gd", "augmented-complex",
        "augmented-real"])
def test_every_trainer_reports_a_diverged_run_naming_the_learning_rate(train, lr):
    """A learning rate that overflows: TrainingDiverged naming the step and the learning rate, as soon as a
    loss or a parameter stops being finite (no run of zero or infinite matrices, no ValueError from the
    evaluation reading them)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(TrainingDiverged, match=rf"^step \d+ .*{lr}"):
            train()


def test_same_seed_same_bits_across_processes():
    code = ("import hashlib, numpy as np; from theory.graphs import CausalGraph;"
            "from theory.priors import DirichletPrior; from theory.sampling import sample_sequences;"
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


# ----------------------------------------------------------------------------- issue 21: coverage of the table
# Every public callable (no leading underscore, defined in the module itself, not imported) of every module of
# theory/, model/ and numerics/ is either an entry point of the table above or exempted below with its reason.
COVERED_PACKAGES = ("theory", "model", "numerics")
EXEMPT_MODULES = {
    "numerics.bench": "the benchmark module: fixed workloads timed for the record, not an API for users' inputs",
}
_RESULT = "a result record (dataclass) built by a validated call, not an entry point for users' inputs"
_CHECK = "a shared argument check: its refusals are exercised through every table entry that calls it"
_VALIDATE = "the validation layer itself: its `name` argument is the caller's, its refusals are what the table measures"
EXEMPT = {
    # result records (dataclasses filled by validated calls)
    "numerics.architecture_gap.ArchitectureGap": _RESULT,
    "numerics.augmented.AttentionTraining": _RESULT,
    "numerics.augmented.CriticalPoint": _RESULT,
    "numerics.augmented.ModelClassFit": _RESULT,
    "numerics.augmented.Moments": _RESULT,
    "numerics.augmented.PreconditionedFit": _RESULT,
    "numerics.train_autoregressive.PositionalFit": _RESULT,
    "numerics.train_autoregressive.PositionalGDRun": _RESULT,
    "numerics.train_autoregressive.RawTokenTraining": _RESULT,
    "numerics.evaluation.EstimatorGap": _RESULT,
    "numerics.evaluation.HeldOutSample": _RESULT,
    "numerics.haar_references.Estimate": _RESULT,
    "numerics.haar_references.PreconditionedFit": _RESULT,
    "numerics.haar_references.PreconditionedMoments": _RESULT,
    "numerics.train_disentangled.DisentangledRun": _RESULT,
    "numerics.train_disentangled.FastDisentangledRun": _RESULT,
    "numerics.train_haar.HaarTrainingRun": _RESULT,
    "numerics.train_multi_parent.MultiParentRun": _RESULT,
    "numerics.train_multi_parent.RoleAssignment": _RESULT,
    "numerics.train_reduced.ReducedRun": _RESULT,
    "numerics.train_standard.StandardRun": _RESULT,
    "theory.sampling.Batch": _RESULT,
    "theory.enumeration.Population": _RESULT,
    "theory.estimates.Estimate": _RESULT,
    "theory.symbolic.SymbolicIdentity": _RESULT,
    # shared argument checks
    "model.autoregressive.check_tensor": _CHECK,
    "model.autoregressive.init_scale_of": _CHECK,
    "model.reduced.check_token_shape": _CHECK,
    "model.reduced.check_tokens": _CHECK,
    "numerics.augmented.check_matrix": _CHECK,
    "numerics.augmented.check_sequences": _CHECK,
    "numerics.augmented.require_moments": _CHECK,
    "numerics.augmented.require_setting": _CHECK,
    "numerics.population.smoothing_weight": _CHECK,
    "theory.graphs.as_causal_graph": _CHECK,
    "theory.priors.alphabet_size": _CHECK,
    "theory.laws.require_stack": _CHECK,
    "numerics.evaluation.forest_with_edges": _CHECK,
    "numerics.evaluation.estimator_alpha": _CHECK,
    "numerics.evaluation.attention_matrix": _CHECK,
    "numerics.evaluation.graph_of_length": _CHECK,
    "theory.autoregressive_symbolic.phase_range": _CHECK,
    "theory.autoregressive_symbolic.symbolic_scalar": _CHECK,
    "theory.autoregressive_symbolic.sympy_matrix": _CHECK,
    "theory.information.real_generator_values": _CHECK,
    # the validation layer
    "theory.validate.angle_range": _VALIDATE,
    "theory.validate.boolean": _VALIDATE,
    "theory.validate.choice": _VALIDATE,
    "theory.validate.even_dimension": _VALIDATE,
    "theory.validate.finite_array": _VALIDATE,
    "theory.validate.finite_float": _VALIDATE,
    "theory.validate.finite_numeric_array": _VALIDATE,
    "theory.validate.float_power": _VALIDATE,
    "theory.validate.format_bytes": _VALIDATE,
    "theory.validate.format_count": _VALIDATE,
    "theory.validate.index": _VALIDATE,
    "theory.validate.int_array": _VALIDATE,
    "theory.validate.integer_array": _VALIDATE,
    "theory.validate.largest": _VALIDATE,
    "theory.validate.max_bytes": _VALIDATE,
    "theory.validate.memory": _VALIDATE,
    "theory.validate.nonzero_float": _VALIDATE,
    "theory.validate.numbers_or_objects": _VALIDATE,
    "theory.validate.positional_weights": _VALIDATE,
    "theory.validate.positive_int": _VALIDATE,
    "theory.validate.probability_vector": _VALIDATE,
    "theory.validate.rng": _VALIDATE,
    "theory.validate.seconds": _VALIDATE,
    "theory.validate.seed": _VALIDATE,
    "theory.validate.short_repr": _VALIDATE,
    "theory.validate.square_matrix": _VALIDATE,
    "theory.validate.token_array": _VALIDATE,
    "theory.validate.transition_matrix": _VALIDATE,
    "theory.validate.transition_stack": _VALIDATE,
    "theory.validate.unitary_matrix": _VALIDATE,
    # no users' inputs: classes of errors, guards, argument-free functions
    "theory.positional.IllConditionedGramWarning": "a warning class, raised by the library, never called with users' inputs",
    "numerics.runtime.TrainingDiverged": "an exception class, raised by the trainers, never called with users' inputs",
    "numerics.runtime.require_finite": "the divergence guard: refuses with TrainingDiverged (not ValueError) by design",
    "numerics.runtime.require_parameters_finite": "the divergence guard: refuses with TrainingDiverged (not ValueError) by design",
    "numerics.runtime.single_thread": "a context manager without arguments",
    "numerics.runtime.Progress": "the trainers' progress display: built inside each trainer from arguments it has "
                                 "already validated (its `progress` flag, step count, batch), never by users",
    "numerics.runtime.ProgressLines": "the progress lines of one training loop: built by Progress from the trainer's "
                                      "validated step count and batch, never by users",
    "numerics.autoregressive.single_threaded": "a decorator: its one argument is a function of the library",
    "theory.priors.is_prior": "a predicate: answers True or False for any object, refusing nothing by design",
    "theory.autoregressive_symbolic.gd_step_loss_coefficients_symbolic": "a function without arguments (a fixed derivation)",
    "theory.autoregressive_symbolic.gd_step_loss_coefficient_functions": "a function without arguments (a fixed derivation)",
    "theory.strategies.non_finite_floats": "a function without arguments (a hypothesis strategy)",
    "theory.symbolic.symbolic_transition_matrix": "a function without arguments (a matrix of symbols)",
    "theory.symbolic.symbolic_stationary_law": "a function without arguments (the symbolic stationary law)",
}


def _public_callables() -> dict[str, object]:
    """``{"package.module.name": callable}`` of every public callable defined in a module of the packages."""
    import importlib
    import pkgutil
    found = {}
    for package in COVERED_PACKAGES:
        for info in pkgutil.iter_modules(importlib.import_module(package).__path__):
            module_name = f"{package}.{info.name}"
            if module_name in EXEMPT_MODULES:
                continue
            module = importlib.import_module(module_name)
            for name, value in vars(module).items():
                if not name.startswith("_") and callable(value) and getattr(value, "__module__", None) == module_name:
                    found[f"{module_name}.{name}"] = value
    return found


def _table_coverage(public: dict[str, object]) -> set[str]:
    """The public callables the table exercises: an entry's function itself, or the function its name names
    (``"name"``, ``"module.name"``, a suffix in parentheses ignored) when that name is unambiguous; a
    ``"Class.method"`` entry covers the method, not the class (a class is covered by its constructor's row)."""
    by_identity = {id(value): qualified for qualified, value in public.items()}
    covered = set()
    for name, fn, _, _ in ENTRY_POINTS:
        if id(fn) in by_identity:
            covered.add(by_identity[id(fn)])
            continue
        base = name.split(" (")[0]
        matches = [q for q in public if q.endswith("." + base)]
        if len(matches) == 1:
            covered.add(matches[0])
    return covered


def test_every_public_callable_is_in_the_table_or_exempted():
    public = _public_callables()
    covered = _table_coverage(public)
    missing = sorted(set(public) - covered - set(EXEMPT))
    stale = sorted(set(EXEMPT) - set(public))
    both = sorted(set(EXEMPT) & covered)
    assert not missing, (f"{len(missing)} public callables are neither in the table of bad inputs nor exempted "
                         f"(with a reason) in EXEMPT: " + ", ".join(missing))
    assert not stale, "EXEMPT names callables that no longer exist: " + ", ".join(stale)
    assert not both, "EXEMPT names callables that the table covers (drop the exemption): " + ", ".join(both)
    assert all(isinstance(reason, str) and reason.strip() for reason in EXEMPT.values())
