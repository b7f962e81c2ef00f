"""How a trained model of spec 1 is judged: parent weights, held-out losses and the references.

Measures.  :func:`parent_weights` reads the layer-1 weight ``a[i, p(i)]`` on each
parent (:func:`head_parent_assignment` for several heads); recovery (issue 5) is
every such weight ``>= RECOVERY_WEIGHT = 0.9`` with the held-out loss within
``RECOVERY_LOSS_GAP = 0.02`` nats of the reference.

Held-out samples.  A :class:`HeldOutSample` is a batch of sequences with the count
estimator's cross-entropy on it.  Losses are ``-Σ_s y_s log((1-ε) ŷ_s + ε/S)``
(:func:`cross_entropies`); the reduced model is scored with
``ε = REDUCED_SMOOTHING = 1e-2``, since its ``ŷ`` is zero on tokens absent from the
context.

References.  Because of that support restriction the reduced model cannot reach
the count estimator's loss: when the query never occurs as a parent the estimator
falls back to the uniform law and the model to the context's unigram law.  The
reduced model is therefore compared with the *induction-head reference*
(:func:`induction_reference`: ``A1`` one-hot on the parents, ``A2 = c*·I``, ``c*`` the
best multiple on the held-out sample), and :func:`induction_head_excess` splits the
gap to the count estimator by whether the query was seen as a parent (at
``S = 10, n = 19, α = 0.1`` about 0.8 nats overall, nearly all of it from the ~40% of
sequences with an unseen query; the claim ``causal.induction_head_vs_estimator``
measures how the rest shrinks with ``n``).  The disentangled transformer has a
softmax readout and is compared with the count estimator itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from model.reduced import ReducedTransformer
from numerics.population import SequenceLoss, smoothing_weight
from numerics.runtime import single_thread
from theory import validate
from theory.estimates import Estimate, mean_and_stderr
from theory.estimators import count_estimator
from theory.graphs import CausalGraph, as_causal_graph
from theory.priors import DirichletPrior
from theory.sampling import Batch, sample_sequences

__all__ = ["REDUCED_SMOOTHING", "RECOVERY_WEIGHT", "RECOVERY_LOSS_GAP", "forest_with_edges",
           "estimator_alpha", "graph_of_length", "sample_sequences_redrawn", "attention_matrix",
           "parent_weights", "attention_argmax_matches", "head_parent_assignment", "cross_entropies",
           "cross_entropy_of", "query_seen_as_parent", "HeldOutSample", "held_out_sample",
           "held_out_sample_of", "held_out_loss_and_gap", "held_out_loss", "induction_head_model",
           "induction_reference", "EstimatorGap", "gap_to_count_estimator", "induction_head_excess",
           "identity_multiple_fit"]

REDUCED_SMOOTHING = 1e-2
RECOVERY_WEIGHT = 0.9
RECOVERY_LOSS_GAP = 0.02


# --------------------------------------------------------------------------- arguments
def forest_with_edges(graph: Any) -> CausalGraph:
    """``graph`` checked to be a :class:`CausalGraph` forest with at least one non-root position."""
    graph = as_causal_graph(graph)
    graph.require_forest("reduced-model training")
    if not graph.parents or all(not ps for ps in graph.parents):
        raise ValueError("graph: expected at least one non-root position (nothing to recover otherwise)")
    return graph


def estimator_alpha(prior: Any, alpha: float | None) -> float:
    """The count estimator's pseudo-count: ``alpha`` if given, else the Dirichlet prior's ``α``, else 0.1."""
    if alpha is not None:
        return validate.finite_float(alpha, "alpha", positive=True)
    return prior.alpha if isinstance(prior, DirichletPrior) else 0.1


def graph_of_length(graph: Any, T: int, whose: str) -> CausalGraph:
    """``graph`` checked to have ``n = T - 1`` context positions (those of a sample of sequences of length ``T``)."""
    graph = as_causal_graph(graph)
    if graph.n + 1 != T:
        raise ValueError(f"graph: expected n = {T - 1} context positions ({whose}), got n = {graph.n}")
    return graph


def sample_sequences_redrawn(graph: CausalGraph, prior: Any, size: int, rng: np.random.Generator,
                             roots: str) -> Batch:
    """``sample_sequences`` with a redraw when a Dirichlet(α < 1) draw of ``π`` is numerically reducible.

    ``theory.laws`` refuses such a ``π`` (condition number above 1e12) under
    stationary roots; at ``α = 0.1, S = 3`` that happens about once per 10^5
    draws.  The batch is redrawn (a rejection of those rare matrices); after
    ten refusals in a row the error is raised.
    """
    for attempt in range(10):
        try:
            return sample_sequences(graph, prior, size, rng, roots)
        except ValueError as exc:
            if "stationary law" not in str(exc) or attempt == 9:
                raise
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------- measures
def attention_matrix(attention: Any, graph: CausalGraph, name: str = "attention", heads: bool = False) -> np.ndarray:
    """``attention`` checked: finite, shape ``(T, T)`` (or ``(H, T, T)`` with ``heads``), ``T = n + 1``."""
    T = graph.n + 1
    arr = validate.finite_array(attention, name, ndim=3 if heads else 2)
    if arr.shape[-2:] != (T, T) or (heads and arr.shape[0] < 1):
        raise ValueError(f"{name}: expected shape {'(H, ' if heads else '('}{T}, {T}) for n = {graph.n}, got {arr.shape}")
    return arr


def parent_weights(attention: np.ndarray, graph: CausalGraph) -> np.ndarray:
    """Layer-1 weight ``a[i, p(i)]`` on the parent of every non-root ``i``; ``(#non-roots,)``."""
    graph = as_causal_graph(graph)
    attention = attention_matrix(attention, graph)
    par = graph.parent_array()
    child = np.flatnonzero(par >= 0)
    return np.asarray(attention)[child, par[child]]


def attention_argmax_matches(attention: np.ndarray, graph: CausalGraph) -> np.ndarray:
    """``(#non-roots,)`` bool: row ``i``'s argmax (over ``j <= i``) is ``p(i)``."""
    graph = as_causal_graph(graph)
    attention = attention_matrix(attention, graph)
    par = graph.parent_array()
    child = np.flatnonzero(par >= 0)
    return np.argmax(np.asarray(attention)[child], axis=1) == par[child]


def head_parent_assignment(attention: np.ndarray, graph: CausalGraph) -> tuple[float, bool]:
    """``(min weight, distinct)`` for layer-1 attention ``(H, T, T)``.

    For each non-root ``i`` with parents ``P`` (``|P| = k <= H``): the best one-to-one
    assignment of ``k`` heads to ``P`` (greedy on the weights, which is exact when
    each head concentrates); ``min weight`` is the smallest weight a head puts on
    its assigned parent over all ``i``; ``distinct`` says whether every head's
    argmax lands on a different parent for every ``i``.
    """
    graph = as_causal_graph(graph)
    attention = attention_matrix(attention, graph, heads=True)
    worst, distinct = 1.0, True
    H = attention.shape[0]
    if H < graph.max_in_degree:
        raise ValueError(f"attention: expected at least the graph's in-degree {graph.max_in_degree} heads, got {H}")
    for i, ps in enumerate(graph.parents):
        if not ps:
            continue
        W = attention[:, i, list(ps)]  # (H, k)
        free_h, free_p, weights = set(range(H)), set(range(len(ps))), []
        for _ in range(len(ps)):
            h, p = max(((h, p) for h in free_h for p in free_p), key=lambda hp: W[hp])
            weights.append(W[h, p])
            free_h.discard(h)
            free_p.discard(p)
        worst = min(worst, min(weights))
        argmaxes = [int(np.argmax(attention[h, i, : i + 1])) for h in range(H)]
        distinct &= set(ps) <= set(argmaxes) and len(set(a for a in argmaxes if a in ps)) == len(ps)
    return float(worst), bool(distinct)


def cross_entropies(yhat: np.ndarray, target: np.ndarray, smoothing: float = 0.0) -> np.ndarray:
    """Per-sequence ``-Σ_s y_s log((1-ε) ŷ_s + ε/S)``; ``(B,)`` from ``(B, S)`` arrays (numpy; ``ε = 0``
    for the count estimator, which is positive everywhere).  Each row of ``yhat`` and of ``target`` is a
    law on ``[S]`` (non-negative, summing to 1 within :data:`theory.validate.ROW_SUM_TOL`): a row of
    zeros is no prediction (its cross-entropy would be ``inf``) and no target."""
    yhat = validate.finite_array(yhat, "yhat", ndim=2, nonnegative=True)
    target = validate.finite_array(target, "target", shape=yhat.shape, nonnegative=True)
    _require_laws("yhat", yhat)
    _require_laws("target", target)
    smoothing = validate.finite_float(smoothing, "smoothing", nonnegative=True)
    if smoothing >= 1:
        raise ValueError(f"smoothing: expected a mixing weight in [0, 1), got {smoothing}")
    return _cross_entropies(yhat, target, smoothing)


def _require_laws(name: str, law: np.ndarray) -> None:
    worst = float(np.max(np.abs(law.sum(axis=1) - 1.0))) if law.size else 0.0
    if worst > validate.ROW_SUM_TOL:
        raise ValueError(f"{name}: expected one law on [S] per row (rows summing to 1 within "
                         f"{validate.ROW_SUM_TOL:g}), worst row is off by {worst:.3g}")


def _cross_entropies(yhat: np.ndarray, target: np.ndarray, smoothing: float) -> np.ndarray:
    S = yhat.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):  # 0·log 0 = 0: a token the target never gives
        return -np.where(target > 0, target * np.log((1 - smoothing) * yhat + smoothing / S), 0.0).sum(axis=1)


def cross_entropy_of(yhat: np.ndarray, target: np.ndarray, smoothing: float = 0.0) -> float:
    """Mean of :func:`cross_entropies` over the batch."""
    return float(cross_entropies(yhat, target, smoothing).mean())


def query_seen_as_parent(graph: CausalGraph, tokens: np.ndarray) -> np.ndarray:
    """``(B,)`` bool: the query ``x_n`` equals ``x_{p(i)}`` for some non-root ``i`` (the count estimator
    has at least one match); ``tokens (B, n + 1)``."""
    graph = as_causal_graph(graph)
    tokens = validate.token_array(tokens, "tokens", validate.MAX_STATES, graph.n + 1)
    par = graph.parent_array()
    return (tokens[:, par[par >= 0]] == tokens[:, -1:]).any(axis=1)


# --------------------------------------------------------------------------- held-out samples
@dataclass(frozen=True)
class HeldOutSample:
    """Held-out sequences: the ``batch``, its ``tokens (B, T)`` and ``target (B, S)`` as torch
    tensors, the count estimator's mean cross-entropy on it, its per-sequence cross-entropies
    ``estimator_losses (B,)`` and ``query_seen (B,)`` (:func:`query_seen_as_parent`)."""

    batch: Batch
    tokens: torch.Tensor
    target: torch.Tensor
    estimator_loss: float
    estimator_losses: np.ndarray
    query_seen: np.ndarray


def held_out_sample(graph: CausalGraph, prior: Any, size: int, rng: Any, roots: str,
                    alpha: float) -> HeldOutSample:
    """A fresh :class:`HeldOutSample` of ``size`` sequences (count estimator with pseudo-count ``alpha``)."""
    graph = as_causal_graph(graph)
    graph.require_forest("held_out_sample")
    size = validate.positive_int(size, "size")
    alpha = validate.finite_float(alpha, "alpha", positive=True)
    return held_out_sample_of(graph, sample_sequences_redrawn(graph, prior, size, validate.rng(rng), roots), alpha)


def held_out_sample_of(graph: CausalGraph, batch: Batch, alpha: float) -> HeldOutSample:
    """A :class:`HeldOutSample` of a given batch, with the count estimator's (``α``) cross-entropy."""
    if not isinstance(batch, Batch):
        raise ValueError(f"batch: expected a theory.sampling.Batch, got {type(batch).__name__}")
    graph = graph_of_length(graph, batch.tokens.shape[1], "the batch's")
    est = count_estimator(graph, batch.tokens, alpha, batch.target.shape[1])
    losses = cross_entropies(est, batch.target)
    return HeldOutSample(batch, torch.as_tensor(batch.tokens), torch.as_tensor(batch.target), float(losses.mean()),
                         losses, query_seen_as_parent(graph, batch.tokens))


def held_out_loss_and_gap(test: HeldOutSample, yhat: np.ndarray) -> tuple[float, EstimatorGap]:
    """``(loss, gap)`` of predictions ``yhat (B, S)`` on ``test``: the mean cross-entropy
    ``-Σ_s y_s log ŷ_s`` and the :class:`EstimatorGap` to the count estimator the sample was made with
    (:func:`cross_entropy_of` and :func:`gap_to_count_estimator` in one pass: ``yhat`` checked once, the
    estimator's losses read from the sample, which checked its own arguments when it was made)."""
    if not isinstance(test, HeldOutSample):
        raise ValueError(f"test: expected a HeldOutSample, got {type(test).__name__}")
    yhat = validate.finite_array(yhat, "yhat", shape=test.batch.target.shape, nonnegative=True)
    _require_laws("yhat", yhat)
    losses = _cross_entropies(yhat, np.asarray(test.batch.target, dtype=np.float64), 0.0)
    return float(losses.mean()), EstimatorGap(losses - test.estimator_losses, test.query_seen)


def held_out_loss(model: ReducedTransformer, test: HeldOutSample, smoothing: float) -> float:
    """The reduced model's mean cross-entropy (mixing weight ``ε = smoothing``) on ``test``."""
    if not isinstance(test, HeldOutSample):
        raise ValueError(f"test: expected a HeldOutSample, got {type(test).__name__}")
    if not isinstance(model, ReducedTransformer) or (model.T, model.S) != (test.tokens.shape[1], test.target.shape[1]):
        raise ValueError(f"model: expected a ReducedTransformer of the test sample's T = {test.tokens.shape[1]}, "
                         f"S = {test.target.shape[1]}, got {validate.short_repr(model)}")
    return _held_out_loss(model, test, SequenceLoss("cross_entropy", smoothing))


def _held_out_loss(model: ReducedTransformer, test: HeldOutSample, criterion: SequenceLoss) -> float:
    with torch.no_grad():
        yhat = model(test.tokens)
        ones = torch.ones_like(yhat)
        return float(criterion(yhat, test.target, ones).mean())


# --------------------------------------------------------------------------- the induction-head reference
def induction_head_model(graph: CausalGraph, S: int, A1: np.ndarray | None = None) -> ReducedTransformer:
    """The reduced model with the given ``A1`` or, by default, ``A1`` one-hot on the parents
    (logit 60 on ``p(i)``, other rows uniform): the ideal first layer of an induction head."""
    graph = as_causal_graph(graph)
    graph.require_forest("induction_head_model")
    model = ReducedTransformer(validate.positive_int(S, "S", minimum=2, maximum=validate.MAX_STATES), graph.n + 1)
    with torch.no_grad():
        if A1 is not None:
            model.A1.copy_(torch.as_tensor(validate.finite_array(A1, "A1", shape=(graph.n + 1, graph.n + 1))))
        else:
            for i, p in enumerate(graph.parent_array()):
                if p >= 0:
                    model.A1[i, p] = 60.0
    return model


def _set_identity_multiple(model: ReducedTransformer, c: float) -> None:
    with torch.no_grad():
        model.A2.copy_(float(c) * torch.eye(model.S, dtype=torch.float64))


def induction_reference(graph: CausalGraph, test: HeldOutSample, smoothing: float = REDUCED_SMOOTHING,
                        scales: np.ndarray | None = None, A1: np.ndarray | None = None) -> tuple[float, float]:
    """``(loss, c*)``: the reduced model with ``A1`` one-hot on the parents (other rows
    uniform; or the given ``A1``) and ``A2 = c·I``, ``c*`` the best of ``scales`` on the held-out sample."""
    graph = as_causal_graph(graph)
    if not isinstance(test, HeldOutSample):
        raise ValueError(f"test: expected a HeldOutSample, got {type(test).__name__}")
    criterion = SequenceLoss("cross_entropy", smoothing)
    graph_of_length(graph, test.tokens.shape[1], "the test sample's")
    if scales is not None:
        scales = validate.finite_array(scales, "scales", ndim=1)
        if scales.size < 1:
            raise ValueError("scales: expected at least one scale")
    model = induction_head_model(graph, test.batch.target.shape[1], A1)

    def loss_at(c: float) -> float:
        _set_identity_multiple(model, c)
        return _held_out_loss(model, test, criterion)

    with single_thread():
        coarse = np.arange(0.0, 13.0, 1.0) if scales is None else np.asarray(scales, dtype=np.float64)
        best = min((loss_at(c), float(c)) for c in coarse)
        if scales is None:  # refine around the coarse optimum
            best = min([best] + [(loss_at(c), float(c)) for c in best[1] + np.linspace(-0.75, 0.75, 7)])
    return best


# --------------------------------------------------------------------------- the gap to the count estimator
@dataclass(frozen=True)
class EstimatorGap:
    """Per-sequence excess cross-entropy of a predictor over the count estimator.

    ``excess (B,)``: ``ℓ_model - ℓ_count`` per test sequence; ``query_seen (B,)``: the
    query token occurs as some parent in the context (otherwise no position matches
    and the count estimator falls back to the uniform law, which the reduced model,
    whose ``ŷ`` lives on the tokens present, cannot do).
    """

    excess: np.ndarray
    query_seen: np.ndarray

    def mean(self, subset: str = "all") -> Estimate:
        """Mean excess with its standard error over ``"all"``, ``"seen"`` or ``"unseen"`` sequences."""
        subset = validate.choice(subset, "subset", ("all", "seen", "unseen"))
        mask = {"all": np.ones_like(self.query_seen), "seen": self.query_seen, "unseen": ~self.query_seen}[subset]
        if mask.sum() < 2:
            raise ValueError(f"subset: fewer than 2 {subset!r} sequences in the sample; draw a larger one")
        return mean_and_stderr(self.excess[mask])


def gap_to_count_estimator(graph: CausalGraph, yhat: np.ndarray, batch: Batch, alpha: float,
                           smoothing: float = 0.0) -> EstimatorGap:
    """:class:`EstimatorGap` of predictions ``yhat (B, S)`` on ``batch``: ``ℓ_model`` with the
    ``ε = smoothing`` mixture, ``ℓ_count`` the count estimator's with ``α = alpha``."""
    if not isinstance(batch, Batch):
        raise ValueError(f"batch: expected a theory.sampling.Batch, got {type(batch).__name__}")
    graph = graph_of_length(graph, batch.tokens.shape[1], "the batch's")
    yhat = validate.finite_array(yhat, "yhat", shape=batch.target.shape)
    alpha = validate.finite_float(alpha, "alpha", positive=True)
    S = batch.target.shape[1]
    excess = cross_entropies(yhat, batch.target, smoothing) - cross_entropies(
        count_estimator(graph, batch.tokens, alpha, S), batch.target)
    return EstimatorGap(excess, query_seen_as_parent(graph, batch.tokens))


def induction_head_excess(graph: CausalGraph, prior: Any, *, size: int = 2048, rng: Any = None,
                          roots: str = "stationary", smoothing: float = REDUCED_SMOOTHING,
                          alpha: float | None = None) -> tuple[EstimatorGap, float]:
    """``(gap, c*)``: how far the ideal induction head is from the count estimator, per sequence.

    The head is the reduced model with ``A1`` one-hot on the parents and ``A2 = c*·I``,
    ``c*`` fitted by :func:`induction_reference` on an independent sample of ``size``
    sequences; ``gap`` is :func:`gap_to_count_estimator` on ``size`` fresh ones (the
    head's loss with ``ε = smoothing``, the count estimator's with the prior's ``α``
    unless given).
    """
    graph = forest_with_edges(graph)
    size = validate.positive_int(size, "size", minimum=2)
    roots = validate.choice(roots, "roots", ("stationary", "uniform"))
    smoothing = smoothing_weight(smoothing)
    est_alpha = estimator_alpha(prior, alpha)
    rng = validate.rng(rng)
    _, c_star = induction_reference(graph, held_out_sample(graph, prior, size, rng, roots, est_alpha), smoothing)
    batch = sample_sequences_redrawn(graph, prior, size, rng, roots)
    model = induction_head_model(graph, batch.target.shape[1])
    _set_identity_multiple(model, c_star)
    with torch.no_grad(), single_thread():
        yhat = model(torch.as_tensor(batch.tokens)).numpy()
    return gap_to_count_estimator(graph, yhat, batch, est_alpha, smoothing), c_star


def identity_multiple_fit(B: Any) -> tuple[float, float]:
    """How close a token-to-token block ``B (S, S)`` is to ``c·I`` up to row constants.

    The block scores positions through ``e_{x_n}ᵀ B h_j`` with ``h_j`` on the simplex, so adding a
    constant to a row of ``B`` changes no softmax over positions; with ``P = I - 11ᵀ/S`` the centring,
    ``c = ⟨B P, P⟩ / ⟨P, P⟩`` and the relative residual ``‖B P - c P‖_F / ‖c P‖_F`` (0 for an exact
    induction head, ``inf`` when ``c = 0``).  Returns ``(c, residual)``.
    """
    B = validate.finite_array(B, "B", ndim=2)
    if B.shape[0] != B.shape[1] or B.shape[0] < 2:
        raise ValueError(f"B: expected a finite square (S, S) matrix with S >= 2, got shape {B.shape}")
    S = B.shape[0]
    P = np.eye(S) - np.full((S, S), 1.0 / S)
    centred = B @ P
    c = float(np.sum(centred * P) / np.sum(P * P))
    scale = np.linalg.norm(c * P)
    return c, (float(np.linalg.norm(centred - c * P) / scale) if scale > 0 else float("inf"))
