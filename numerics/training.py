"""Training dynamics of spec 1 (sections 3 and 5, items 6-7): the graph emerges in layer 1.

Reduced model, the paper's two stages::

    stage 1:  A1 <- A1 - lr1 · ∂L/∂A1     with A2 = β·I_S frozen
    stage 2:  A2 <- A2 - lr2 · ∂L/∂A2     with A1 frozen

Gradient sources (``source=``):

``"sgd"``         plain minibatch SGD on freshly sampled ``(π, sequence)`` pairs.
``"population"``  the population gradient.  Stage 1 with ``stage1_loss="linearized"``
                  uses the small-β closed form below (any size; exact for a fixed ``π``
                  or a ``FinitePrior``; for a ``DirichletPrior``, Monte Carlo over ``draws``
                  draws of ``π`` with the inner expectation exact).  Otherwise a fixed ``π``
                  or a ``FinitePrior`` is enumerated exactly and refused above
                  ``max_sequences`` (``ValueError``); a ``DirichletPrior`` is Monte Carlo over
                  ``π``: the finite prior of ``draws`` draws, enumerated when
                  ``draws·S^T <= max_sequences``, else one fixed sample of
                  ``population_size`` ``(π, sequence)`` pairs with full-batch descent (a
                  sample-average approximation, reported as ``"fixed-sample"`` in
                  ``ReducedRun.stage1_gradient`` / ``stage2_gradient``).

Small-β closed form (derived here from the section-4 expansion, checked against
autograd in the tests).  With ``A2 = β·I`` the layer-2 weights are
``b_i = 1/T + (β/T)(h_i[x_n] - mean_m h_m[x_n]) + O(β²)`` and ``h_i[x_n] = Σ_j a_ij 1[x_j = x_n]``,
so for *every* ``A1`` the linearised loss is linear in the attention::

    L_lin = const - β/(S T) · Σ_{i, j<=i} a_ij M[i, j] + O(β²),   M[i, j] = N[i, j] - (1/T) Σ_m N[m, j],
    ∂L_lin/∂A1[i, j] = -β/(S T) · a_ij (M[i, j] - Σ_l a_il M[i, l]) + O(β²).

Each row is a softmax bandit driven to ``argmax_j M[i, j]``; at ``A1 = 0`` this is
``theory.gradients.attention_gradient_from_N``.

Losses.  ``"linearized"`` is ``-Σ_s y_s ŷ_s / μ_π(s)``; ``"cross_entropy"`` is
``-Σ_s y_s log((1-ε) ŷ_s + ε/S)`` (``numerics.population.per_sequence_loss``).  The
reduced model's ``ŷ`` lives on the tokens present in the sequence, so ``ŷ_s = 0``
for absent ones; this module trains and tests with ``ε = REDUCED_SMOOTHING = 1e-2``
(the gradient does not depend on ``ε`` at absent tokens, and the reported loss is
a readable number instead of ``-log 1e-12`` terms).  Because of that support
restriction the reduced model cannot reach the count estimator's loss: when the
query never occurs as a parent the estimator falls back to the uniform law and
the model to the context's unigram law.  :func:`induction_head_excess` splits the
gap accordingly (at ``S = 10, n = 19, α = 0.1`` about 0.8 nats overall, nearly all of
it from the ~40% of sequences with an unseen query; the claim
``causal.induction_head_vs_estimator`` measures how the rest shrinks with ``n``).  The
test loss of training is therefore compared with the *induction-head reference*
(``A1`` one-hot on the parents, ``A2 = c*·I``, ``c*`` the best multiple on the test
sample), and the count-estimator gap is reported beside it.
The disentangled transformer has a softmax readout and is compared with the
count estimator itself.

Recovery (issue 5): every non-root row of the layer-1 attention puts weight
``>= 0.9`` on its parent, and the test loss is within ``0.02`` nats of the reference.

Settings that recover the graph quickly at ``S = 10, n = 19, α = 0.1`` (documented
defaults, ``PAPER_SETTINGS``): ``β = 1`` (a moderate β; at ``β = 1e-3`` the stage-1
gradient is a thousand times smaller and needs a thousand times the learning
rate), stage-1 learning rate 100 (the gradient is ``O(β/(S T (i+1)))``), stage-2
learning rate 20, batches of 1024.

All torch work is float64 and runs on one thread (these tensors are small; a
second thread costs more in synchronisation than it gains).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from model.disentangled import DisentangledTransformer
from model.reduced import ReducedTransformer
from numerics.population import per_sequence_loss, population_loss
from numerics.threads import single_thread
from theory import validate
from theory.causal import (Batch, CausalGraph, DirichletPrior, FinitePrior, _stationary, count_estimator,
                           enumerate_population, is_prior, sample_sequences)
from theory.estimates import Estimate, mean_and_stderr
from theory.gradients import LOSSES, likelihood_ratio_matrix

REDUCED_SMOOTHING = 1e-2
RECOVERY_WEIGHT = 0.9
RECOVERY_LOSS_GAP = 0.02
SOURCES = ("sgd", "population")

PAPER_SETTINGS = dict(beta=1.0, lr1=100.0, lr2=50.0, batch=1024)


class TrainingDiverged(ArithmeticError):
    """A training run produced a non-finite loss; the message names the step."""


# --------------------------------------------------------------------------- helpers
class _Progress:
    """A rich progress bar that can be switched off (``enabled=False``)."""

    def __init__(self, enabled: bool, description: str, total: int):
        self.bar = None
        if enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), transient=True)
            self.task = self.bar.add_task(description, total=total)

    def __enter__(self) -> "_Progress":
        if self.bar is not None:
            self.bar.start()
        return self

    def advance(self, k: int = 1) -> None:
        if self.bar is not None:
            self.bar.advance(self.task, k)

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.stop()


def _check_finite(loss: float, step: int, stage: str) -> None:
    if not np.isfinite(loss):
        raise TrainingDiverged(f"step {step} ({stage}): the loss is {loss}; lower the learning rate")


def _forest(graph: Any) -> CausalGraph:
    if not isinstance(graph, CausalGraph):
        raise ValueError(f"graph: expected a CausalGraph, got {type(graph).__name__}")
    graph._require_forest("reduced-model training")
    if not graph.parents or all(not ps for ps in graph.parents):
        raise ValueError("graph: expected at least one non-root position (nothing to recover otherwise)")
    return graph


def _prior_S(prior: Any) -> int:
    if is_prior(prior):
        return prior.S
    return validate.transition_matrix(prior, "prior").shape[0]


def _sample(graph: CausalGraph, prior: Any, size: int, gen: np.random.Generator, roots: str) -> Batch:
    """``sample_sequences`` with a redraw when a Dirichlet(α < 1) draw of ``π`` is numerically reducible.

    ``theory.causal`` refuses such a ``π`` (condition number above 1e12) under
    stationary roots; at ``α = 0.1, S = 3`` that happens about once per 10^5
    draws.  The batch is redrawn (a rejection of those rare matrices); after
    ten refusals in a row the error is raised.
    """
    for attempt in range(10):
        try:
            return sample_sequences(graph, prior, size, gen, roots)
        except ValueError as exc:
            if "stationary law" not in str(exc) or attempt == 9:
                raise
    raise AssertionError("unreachable")


def _estimator_alpha(prior: Any, alpha: float | None) -> float:
    if alpha is not None:
        return validate.finite_float(alpha, "alpha", positive=True)
    return prior.alpha if isinstance(prior, DirichletPrior) else 0.1


def parent_weights(attention: np.ndarray, graph: CausalGraph) -> np.ndarray:
    """Layer-1 weight ``a[i, p(i)]`` on the parent of every non-root ``i``; ``(#non-roots,)``."""
    par = graph.parent_array()
    child = np.flatnonzero(par >= 0)
    return np.asarray(attention)[child, par[child]]


def attention_argmax_matches(attention: np.ndarray, graph: CausalGraph) -> np.ndarray:
    """``(#non-roots,)`` bool: row ``i``'s argmax (over ``j <= i``) is ``p(i)``."""
    par = graph.parent_array()
    child = np.flatnonzero(par >= 0)
    return np.argmax(np.asarray(attention)[child], axis=1) == par[child]


def cross_entropies(yhat: np.ndarray, target: np.ndarray, smoothing: float = 0.0) -> np.ndarray:
    """Per-sequence ``-Σ_s y_s log((1-ε) ŷ_s + ε/S)``; ``(B,)`` from ``(B, S)`` arrays (numpy; ``ε = 0``
    for the count estimator, which is positive everywhere)."""
    S = yhat.shape[1]
    with np.errstate(divide="ignore"):
        return -(target * np.log((1 - smoothing) * yhat + smoothing / S)).sum(axis=1)


def cross_entropy_of(yhat: np.ndarray, target: np.ndarray, smoothing: float = 0.0) -> float:
    """Mean of :func:`cross_entropies` over the batch."""
    return float(cross_entropies(yhat, target, smoothing).mean())


# --------------------------------------------------------------------------- the small-β closed form
def small_beta_attention_gradient(M: np.ndarray, A1: np.ndarray, beta: float) -> np.ndarray:
    """``∂L_lin/∂A1`` to first order in β at any ``A1`` (module docstring); ``(T, T)``.

    ``M (T, T)``: the drift matrix ``M / (S T)`` of :func:`drift_matrix`; ``A1 (T, T)``.
    """
    T = M.shape[0]
    lower = np.tril(np.ones((T, T), dtype=bool))
    logits = np.where(lower, A1, -np.inf)
    a = np.exp(logits - logits.max(axis=1, keepdims=True))
    a /= a.sum(axis=1, keepdims=True)
    Mz = np.where(lower, M, 0.0)
    return -beta * a * (Mz - (a * Mz).sum(axis=1, keepdims=True))


def drift_matrix(graph: CausalGraph, prior: Any, *, roots: str = "stationary", draws: int = 2000,
                 rng: Any = None) -> np.ndarray:
    """``M / (S T)``, ``M[i, j] = N[i, j] - (1/T) Σ_m N[m, j]``, averaged over the prior; ``(T, T)``.

    Exact for a fixed ``π`` or a ``FinitePrior``; for a ``DirichletPrior`` the
    average of ``N`` over ``draws`` draws of ``π`` (each ``N`` exact).
    """
    if isinstance(prior, DirichletPrior):
        draws = validate.positive_int(draws, "draws")
        prior = FinitePrior(prior.sample(draws, validate.rng(rng)))
    N = likelihood_ratio_matrix(graph, prior, roots)
    T = N.shape[0]
    S = _prior_S(prior)
    return (N - N.sum(axis=0, keepdims=True) / T) / (S * T)


# --------------------------------------------------------------------------- results
@dataclass
class ReducedRun:
    """Everything a reduced-model run measured.

    ``A1 (T, T)``, ``A2 (S, S)``: final parameters.  ``snapshots``: ``(step, A1)``
    copies at the recorded stage-1 steps.  ``history``: one dict per evaluation
    (``stage``, ``step``, ``seconds``, ``test_loss``, ``min_parent_weight``).
    ``estimator_loss``: the count estimator's cross-entropy on the test sample;
    ``reference_loss``: the induction-head reference's (same ``ε``).
    """

    graph: CausalGraph
    A1: np.ndarray
    A2: np.ndarray
    settings: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    snapshots: list[tuple[int, np.ndarray]] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    estimator_loss: float = float("nan")
    reference_loss: float = float("nan")
    reference_scale: float = float("nan")
    stage1_recovered_s: float | None = None
    recovered_s: float | None = None
    sequences: int = 0
    seconds: float = 0.0
    stage1_gradient: str = ""
    stage2_gradient: str = ""

    def attention(self) -> np.ndarray:
        return _softmax_rows(self.A1)

    def model(self) -> ReducedTransformer:
        """A fresh ``ReducedTransformer`` holding the run's final ``A1`` and ``A2``."""
        model = _head_model(self.graph, self.A2.shape[0], self.A1)
        with torch.no_grad():
            model.A2.copy_(torch.as_tensor(self.A2))
        return model

    def test_loss(self, test: "TestSample") -> float:
        """The run's cross-entropy (``ε`` of the run) on another test sample."""
        return _reduced_test_loss(self.model(), test, self.settings["smoothing"])

    @property
    def min_parent_weight(self) -> float:
        return float(parent_weights(self.attention(), self.graph).min())

    @property
    def final_test_loss(self) -> float:
        return float(self.history[-1]["test_loss"]) if self.history else float("nan")


def _softmax_rows(A1: np.ndarray) -> np.ndarray:
    T = A1.shape[0]
    logits = np.where(np.tril(np.ones((T, T), dtype=bool)), A1, -np.inf)
    a = np.exp(logits - logits.max(axis=1, keepdims=True))
    return a / a.sum(axis=1, keepdims=True)


# --------------------------------------------------------------------------- test sample and references
@dataclass(frozen=True)
class TestSample:
    batch: Batch
    tokens: torch.Tensor
    target: torch.Tensor
    estimator_loss: float


def make_test_sample(graph: CausalGraph, prior: Any, size: int, rng: Any, roots: str,
                     alpha: float) -> TestSample:
    return test_sample_of(graph, _sample(graph, prior, size, validate.rng(rng), roots), alpha)


def test_sample_of(graph: CausalGraph, batch: Batch, alpha: float) -> TestSample:
    """A :class:`TestSample` of a given batch, with the count estimator's (``α``) cross-entropy."""
    est = count_estimator(graph, batch.tokens, alpha, batch.target.shape[1])
    return TestSample(batch, torch.as_tensor(batch.tokens), torch.as_tensor(batch.target),
                      cross_entropy_of(est, batch.target))


def _reduced_test_loss(model: ReducedTransformer, test: TestSample, smoothing: float) -> float:
    with torch.no_grad():
        yhat = model(test.tokens)
        ones = torch.ones_like(yhat)
        return float(per_sequence_loss(yhat, test.target, ones, "cross_entropy", smoothing).mean())


def _head_model(graph: CausalGraph, S: int, A1: np.ndarray | None = None) -> ReducedTransformer:
    """The reduced model with the given ``A1`` or, by default, ``A1`` one-hot on the parents
    (logit 60 on ``p(i)``, other rows uniform): the ideal first layer of an induction head."""
    model = ReducedTransformer(S, graph.n + 1)
    with torch.no_grad():
        if A1 is not None:
            model.A1.copy_(torch.as_tensor(A1))
        else:
            for i, p in enumerate(graph.parent_array()):
                if p >= 0:
                    model.A1[i, p] = 60.0
    return model


def _set_identity_multiple(model: ReducedTransformer, c: float) -> None:
    with torch.no_grad():
        model.A2.copy_(float(c) * torch.eye(model.S, dtype=torch.float64))


def induction_reference(graph: CausalGraph, test: TestSample, smoothing: float = REDUCED_SMOOTHING,
                        scales: np.ndarray | None = None, A1: np.ndarray | None = None) -> tuple[float, float]:
    """``(loss, c*)``: the reduced model with ``A1`` one-hot on the parents (other rows
    uniform; or the given ``A1``) and ``A2 = c·I``, ``c*`` the best of ``scales`` on the test sample."""
    model = _head_model(graph, test.batch.target.shape[1], A1)

    def loss_at(c: float) -> float:
        _set_identity_multiple(model, c)
        return _reduced_test_loss(model, test, smoothing)

    with single_thread():
        coarse = np.arange(0.0, 13.0, 1.0) if scales is None else np.asarray(scales, dtype=np.float64)
        best = min((loss_at(c), float(c)) for c in coarse)
        if scales is None:  # refine around the coarse optimum
            best = min([best] + [(loss_at(c), float(c)) for c in best[1] + np.linspace(-0.75, 0.75, 7)])
    return best


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
    graph = _forest(graph)
    size = validate.positive_int(size, "size", minimum=2)
    roots = validate.choice(roots, "roots", ("stationary", "uniform"))
    est_alpha = _estimator_alpha(prior, alpha)
    gen = validate.rng(rng)
    _, c_star = induction_reference(graph, make_test_sample(graph, prior, size, gen, roots, est_alpha), smoothing)
    batch = _sample(graph, prior, size, gen, roots)
    model = _head_model(graph, batch.target.shape[1])
    _set_identity_multiple(model, c_star)
    with torch.no_grad(), single_thread():
        yhat = model(torch.as_tensor(batch.tokens)).numpy()
    return gap_to_count_estimator(graph, yhat, batch, est_alpha, smoothing), c_star


def query_seen_as_parent(graph: CausalGraph, tokens: np.ndarray) -> np.ndarray:
    """``(B,)`` bool: the query ``x_n`` equals ``x_{p(i)}`` for some non-root ``i`` (the count estimator
    has at least one match); ``tokens (B, n + 1)``."""
    par = graph.parent_array()
    return (tokens[:, par[par >= 0]] == tokens[:, -1:]).any(axis=1)


# --------------------------------------------------------------------------- reduced-model training
def _validate_common(lr1: float, steps1: int, lr2: float, steps2: int) -> tuple[float, int, float, int]:
    lr1 = validate.finite_float(lr1, "lr1", positive=True)
    lr2 = validate.finite_float(lr2, "lr2", positive=True)
    steps1 = validate.positive_int(steps1, "steps1")
    if isinstance(steps2, bool) or not isinstance(steps2, int) or steps2 < 0:
        raise ValueError(f"steps2: expected an integer >= 0 (0 skips stage 2), got {steps2!r}")
    return lr1, steps1, lr2, steps2


def _gradient_step(param: torch.Tensor, loss: torch.Tensor, lr: float) -> None:
    """One plain gradient-descent step ``param -= lr · ∂loss/∂param``."""
    param.grad = None
    loss.backward()
    with torch.no_grad():
        param -= lr * param.grad


def train_reduced(graph: CausalGraph, prior: Any, *, source: str = "sgd", beta: float = 1.0,
                  lr1: float = 100.0, steps1: int = 200, lr2: float = 50.0, steps2: int = 200,
                  stage1_loss: str = "cross_entropy", stage2_loss: str = "cross_entropy",
                  batch: int = 1024, roots: str = "stationary", smoothing: float = REDUCED_SMOOTHING,
                  draws: int = 2000, population_size: int = 16384, max_sequences: int = 2_000_000,
                  test_size: int = 4096, eval_every: int = 10, snapshot_steps: tuple[int, ...] = (),
                  alpha: float | None = None, stop_at_recovery: bool = False, seed: int = 0,
                  progress: bool = True) -> ReducedRun:
    """Train the reduced model in the paper's two stages; returns a :class:`ReducedRun`.

    ``prior``: a ``DirichletPrior``, a ``FinitePrior`` or one fixed ``(S, S)`` matrix.
    ``source``: ``"sgd"`` or ``"population"`` (module docstring).  ``stop_at_recovery``
    ends stage 1 once every parent weight reaches 0.9 and stage 2 once the test
    loss is within 0.02 nats of the induction-head reference (``recovered_s`` is
    the wall time, sampling included).  ``snapshot_steps``: stage-1 steps after
    which ``A1`` is copied (step 0 is the initialisation).
    Raises ``ValueError`` on bad settings and :class:`TrainingDiverged` naming the step.
    """
    graph = _forest(graph)
    source = validate.choice(source, "source", SOURCES)
    stage1_loss = validate.choice(stage1_loss, "stage1_loss", LOSSES)
    stage2_loss = validate.choice(stage2_loss, "stage2_loss", LOSSES)
    roots = validate.choice(roots, "roots", ("stationary", "uniform"))
    beta = validate.finite_float(beta, "beta", positive=True)
    lr1, steps1, lr2, steps2 = _validate_common(lr1, steps1, lr2, steps2)
    batch = validate.positive_int(batch, "batch")
    smoothing = validate.finite_float(smoothing, "smoothing", positive=True)
    if smoothing >= 1:
        raise ValueError(f"smoothing: expected a mixing weight in (0, 1), got {smoothing}")
    eval_every = validate.positive_int(eval_every, "eval_every")
    test_size = validate.positive_int(test_size, "test_size", minimum=2)
    est_alpha = _estimator_alpha(prior, alpha)
    if not is_prior(prior):
        prior = validate.transition_matrix(prior, "prior")
    S, T = _prior_S(prior), graph.n + 1
    gen = np.random.default_rng(seed)

    # Decide the population-gradient machinery before any work, so bad sizes fail at once.
    population = None
    stage1_closed = source == "population" and stage1_loss == "linearized"
    if source == "population":
        dirichlet = isinstance(prior, DirichletPrior)
        m = (validate.positive_int(draws, "draws") if dirichlet else
             len(prior.weights) if isinstance(prior, FinitePrior) else 1)
        if m * S ** T <= max_sequences:
            finite = FinitePrior(prior.sample(draws, gen)) if dirichlet else prior
            population = enumerate_population(graph, finite, roots, max_sequences)
        elif not dirichlet and (steps2 > 0 or not stage1_closed):
            raise ValueError(f"max_sequences: exact population training needs {m * S ** T:,} weighted sequences "
                             f"({m} matrices × S^T = {S}^{T}), above the budget of {max_sequences:,}; use "
                             f"stage1_loss='linearized' with steps2=0 (closed form at any size), source='sgd', "
                             f"or raise the budget")
    population_size = validate.positive_int(population_size, "population_size")
    M = drift_matrix(graph, prior, roots=roots, draws=draws, rng=gen) if stage1_closed else None
    test = make_test_sample(graph, prior, test_size, gen, roots, est_alpha)
    ref_loss, ref_scale = induction_reference(graph, test, smoothing)
    run = ReducedRun(graph, np.zeros((T, T)), beta * np.eye(S),
                     dict(source=source, beta=beta, lr1=lr1, steps1=steps1, lr2=lr2, steps2=steps2,
                          stage1_loss=stage1_loss, stage2_loss=stage2_loss, batch=batch, roots=roots,
                          smoothing=smoothing, draws=draws, seed=seed, S=S, n=graph.n),
                     estimator_loss=test.estimator_loss, reference_loss=ref_loss, reference_scale=ref_scale)
    model = ReducedTransformer(S, T, beta=beta)
    start = time.perf_counter()
    snaps = set(snapshot_steps)
    if 0 in snaps:
        run.snapshots.append((0, model.A1.detach().numpy().copy()))

    fixed_sample = None

    def batch_loss(loss_kind: str, stage: str) -> torch.Tensor:
        nonlocal fixed_sample
        if population is not None:
            return population_loss(model, population, loss_kind, smoothing)
        if source == "population":  # Dirichlet above the enumeration budget: one fixed Monte Carlo sample
            if fixed_sample is None:
                fixed_sample = _sample(graph, prior, population_size, gen, roots)
            draw = fixed_sample
        else:
            draw = _sample(graph, prior, batch, gen, roots)
            run.sequences += batch
        yhat = model(torch.as_tensor(draw.tokens))
        mu = (torch.as_tensor(_stationary(draw.pi)) if loss_kind == "linearized"
              else torch.ones(len(draw.tokens), S, dtype=torch.float64))
        return per_sequence_loss(yhat, torch.as_tensor(draw.target), mu, loss_kind, smoothing).mean()

    def evaluate(stage: str, step: int) -> dict[str, Any]:
        entry = dict(stage=stage, step=step, seconds=time.perf_counter() - start,
                     test_loss=_reduced_test_loss(model, test, smoothing),
                     min_parent_weight=float(parent_weights(model.layer1_attention().detach().numpy(), graph).min()))
        run.history.append(entry)
        return entry

    with single_thread(), _Progress(progress, f"reduced model ({source})", steps1 + steps2) as bar:
        model.A2.requires_grad_(False)
        evaluate("stage1", 0)
        for step in range(1, steps1 + 1):
            if stage1_closed:
                A1 = model.A1.detach().numpy()
                grad = small_beta_attention_gradient(M, A1, beta)
                value = float("nan")  # the closed form has no loss value; the test loss is tracked instead
                with torch.no_grad():
                    model.A1 -= lr1 * torch.as_tensor(grad)
                _check_finite(float(np.abs(grad).sum()), step, "stage 1")
            else:
                loss = batch_loss(stage1_loss, "stage1")
                value = float(loss.detach())
                _check_finite(value, step, "stage 1")
                _gradient_step(model.A1, loss, lr1)
            run.train_loss.append(value)
            bar.advance()
            if step in snaps:
                run.snapshots.append((step, model.A1.detach().numpy().copy()))
            if step % eval_every == 0 or step == steps1:
                entry = evaluate("stage1", step)
                if not np.all(np.isfinite(model.A1.detach().numpy())):
                    raise TrainingDiverged(f"step {step} (stage 1): A1 is no longer finite; lower lr1")
                if entry["min_parent_weight"] >= RECOVERY_WEIGHT and run.stage1_recovered_s is None:
                    run.stage1_recovered_s = entry["seconds"]
                    if stop_at_recovery:
                        break
        model.A1.requires_grad_(False)
        model.A2.requires_grad_(True)
        run.stage1_gradient = ("closed-form" if stage1_closed else "exact" if population is not None else
                               "fixed-sample" if source == "population" else "sgd")
        run.stage2_gradient = ("exact" if population is not None else
                               "fixed-sample" if source == "population" else "sgd")
        for step in range(1, steps2 + 1):
            loss = batch_loss(stage2_loss, "stage2")
            value = float(loss.detach())
            _check_finite(value, step, "stage 2")
            _gradient_step(model.A2, loss, lr2)
            run.train_loss.append(value)
            bar.advance()
            if step % eval_every == 0 or step == steps2:
                entry = evaluate("stage2", step)
                if (run.recovered_s is None and entry["min_parent_weight"] >= RECOVERY_WEIGHT
                        and entry["test_loss"] <= ref_loss + RECOVERY_LOSS_GAP):
                    run.recovered_s = entry["seconds"]
                    if stop_at_recovery:
                        break
    run.A1 = model.A1.detach().numpy().copy()
    run.A2 = model.A2.detach().numpy().copy()
    run.seconds = time.perf_counter() - start
    return run


# --------------------------------------------------------------------------- k-parent sequences with a random table
def sample_k_parent_sequences(graph: CausalGraph, S: int, alpha: float, size: int, rng: Any = None) -> Batch:
    """Sequences on a k-parent graph with a fresh conditional table per sequence (vectorised).

    Table rows ``π(c_1..c_k, ·) ~ Dirichlet(α·1_S)`` i.i.d.; roots uniform; non-roots
    ``x_i ~ π(x_{p_1(i)}, ..., x_{p_k(i)}, ·)``; query ``x_n`` uniform.  The target is the
    law of the next token ``x_{n+1}``, whose parents sit at the offsets of position
    ``n-1``'s parents: ``y = π(x_{n+1-d_1}, ..., x_{n+1-d_k}, ·)``, ``d_r = n-1 - p_r(n-1)``
    (for the k-gram graph, the last ``k`` tokens, query included).
    Returns ``Batch(tokens (B, T), pi (B, S^k, S), target (B, S))``.
    """
    S = validate.positive_int(S, "S", minimum=2)
    alpha = validate.finite_float(alpha, "alpha", positive=True)
    size = validate.positive_int(size, "size")
    gen = validate.rng(rng)
    k = graph.max_in_degree
    last = graph.parents[-1]
    if len(last) != k or any(ps and len(ps) != k for ps in graph.parents):
        raise ValueError(f"graph: expected every non-root, including position n-1, to have exactly {k} parents")
    n = graph.n
    table = gen.dirichlet(np.full(S, alpha), size=(size, S ** k))  # (B, S^k, S)
    cum = np.cumsum(table, axis=2)
    radix = S ** np.arange(k - 1, -1, -1)
    tokens = np.empty((size, n + 1), dtype=np.int64)
    u = gen.random((size, n))
    rows = np.arange(size)
    for i, ps in enumerate(graph.parents):
        if not ps:
            tokens[:, i] = np.minimum((u[:, i] * S).astype(np.int64), S - 1)
        else:
            row = tokens[:, list(ps)] @ radix
            tokens[:, i] = np.minimum((u[:, i, None] >= cum[rows, row]).sum(axis=1), S - 1)
    tokens[:, n] = gen.integers(0, S, size=size)
    offsets = [n - 1 - p for p in last]
    ctx = np.stack([tokens[:, n + 1 - d] for d in offsets], axis=1) @ radix
    return Batch(tokens, table, table[rows, ctx])


# --------------------------------------------------------------------------- the disentangled transformer
@dataclass
class DisentangledRun:
    """A disentangled-transformer run: the final ``model``, ``history`` (one dict per
    evaluation: ``step``, ``seconds``, ``test_loss``, ``min_parent_weight``),
    ``attention (H, T, T)``: layer-1 attention averaged over the test sample,
    ``estimator_loss`` (forests; ``nan`` otherwise) and the time to recovery."""

    graph: CausalGraph
    model: DisentangledTransformer
    settings: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    attention: np.ndarray | None = None
    estimator_loss: float = float("nan")
    recovered_s: float | None = None
    sequences: int = 0
    seconds: float = 0.0

    @property
    def final_test_loss(self) -> float:
        return float(self.history[-1]["test_loss"]) if self.history else float("nan")


def head_parent_assignment(attention: np.ndarray, graph: CausalGraph) -> tuple[float, bool]:
    """``(min weight, distinct)`` for layer-1 attention ``(H, T, T)``.

    For each non-root ``i`` with parents ``P`` (``|P| = k <= H``): the best one-to-one
    assignment of ``k`` heads to ``P`` (greedy on the weights, which is exact when
    each head concentrates); ``min weight`` is the smallest weight a head puts on
    its assigned parent over all ``i``; ``distinct`` says whether every head's
    argmax lands on a different parent for every ``i``.
    """
    worst, distinct = 1.0, True
    H = attention.shape[0]
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


def train_disentangled(graph: CausalGraph, prior: Any, *, heads: tuple[int, ...] | None = None,
                       lr: float = 0.01, steps: int = 500, batch: int = 256, roots: str = "stationary",
                       alpha: float | None = None, init_noise: float | None = None, test_size: int = 2048,
                       eval_every: int = 50, stop_at_recovery: bool = False, seed: int = 0,
                       lr_schedule: str = "constant", progress: bool = True) -> DisentangledRun:
    """Train the disentangled transformer by minibatch Adam on sampled sequences.

    ``prior``: for a forest, anything :func:`theory.causal.sample_sequences` takes;
    for a k-parent graph, a ``DirichletPrior`` whose ``S`` and ``α`` drive
    :func:`sample_k_parent_sequences` (a fresh table per sequence; roots uniform).
    ``heads``: heads per layer, default ``(max(1, k), 1)``; fewer layer-1 heads
    than the graph's in-degree is refused.  All parameters start at zero as in
    the spec; with several layer-1 heads that start is a fixed point of the
    head-permutation symmetry (identical heads get identical gradients forever),
    so ``init_noise`` (default ``1e-2`` when ``heads[0] > 1``, else 0) adds
    Gaussian noise of that scale to layer 1.  ``lr_schedule``: ``"constant"`` or
    ``"cosine"`` (``lr·(1 + cos(π t/steps))/2`` at step ``t``).  Recovery: every head-assigned
    parent weight ``>= 0.9`` and (forests) test loss within 0.02 nats of the
    count estimator.
    """
    if not isinstance(graph, CausalGraph):
        raise ValueError(f"graph: expected a CausalGraph, got {type(graph).__name__}")
    k = graph.max_in_degree
    heads = (max(1, k), 1) if heads is None else tuple(heads)
    if len(heads) < 1 or any(isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in heads):
        raise ValueError(f"heads: expected positive head counts per layer, got {heads!r}")
    if heads[0] < k:
        raise ValueError(f"heads: layer 1 needs at least the graph's in-degree {k} heads, got {heads[0]}")
    lr = validate.finite_float(lr, "lr", positive=True)
    steps = validate.positive_int(steps, "steps")
    lr_schedule = validate.choice(lr_schedule, "lr_schedule", ("constant", "cosine"))
    batch = validate.positive_int(batch, "batch")
    eval_every = validate.positive_int(eval_every, "eval_every")
    test_size = validate.positive_int(test_size, "test_size", minimum=2)
    roots = validate.choice(roots, "roots", ("stationary", "uniform"))
    gen = np.random.default_rng(seed)
    if graph.is_forest:
        S = _prior_S(prior)
        est_alpha = _estimator_alpha(prior, alpha)
        draw = lambda size: _sample(graph, prior, size, gen, roots)  # noqa: E731
    else:
        if not isinstance(prior, DirichletPrior):
            raise ValueError("prior: a k-parent graph needs a DirichletPrior (a fresh table per sequence)")
        S = prior.S
        draw = lambda size: sample_k_parent_sequences(graph, S, prior.alpha, size, gen)  # noqa: E731
    T = graph.n + 1
    noise = (1e-2 if heads[0] > 1 else 0.0) if init_noise is None else validate.finite_float(
        init_noise, "init_noise", nonnegative=True)
    torch.manual_seed(seed)
    model = DisentangledTransformer(S, T, heads)
    if noise > 0:
        with torch.no_grad():
            model.A[0].normal_(0.0, noise)
    test = draw(test_size)
    x_test, y_test = torch.as_tensor(test.tokens), torch.as_tensor(test.target)
    run = DisentangledRun(graph, model, dict(heads=heads, lr=lr, lr_schedule=lr_schedule, steps=steps, batch=batch,
                                             roots=roots, init_noise=noise, seed=seed, S=S, n=graph.n))
    if graph.is_forest:
        run.estimator_loss = cross_entropy_of(count_estimator(graph, test.tokens, est_alpha, S), test.target)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps) if lr_schedule == "cosine" else None
    start = time.perf_counter()

    def evaluate(step: int) -> dict[str, Any]:
        with torch.no_grad():
            loss = float(-(y_test * torch.log(model(x_test))).sum(dim=1).mean())
            att = model.first_layer(x_test[:512])[0].mean(dim=0).numpy()
        worst, distinct = head_parent_assignment(att, graph)
        run.attention = att
        entry = dict(step=step, seconds=time.perf_counter() - start, test_loss=loss,
                     min_parent_weight=worst, distinct_heads=distinct)
        run.history.append(entry)
        return entry

    with single_thread(), _Progress(progress, "disentangled transformer (Adam)", steps) as bar:
        evaluate(0)
        for step in range(1, steps + 1):
            b = draw(batch)
            run.sequences += batch
            yhat = model(torch.as_tensor(b.tokens))
            loss = -(torch.as_tensor(b.target) * torch.log(yhat)).sum(dim=1).mean()
            value = float(loss.detach())
            _check_finite(value, step, "Adam")
            opt.zero_grad()
            loss.backward()
            opt.step()
            if schedule is not None:
                schedule.step()
            run.train_loss.append(value)
            bar.advance()
            if step % eval_every == 0 or step == steps:
                entry = evaluate(step)
                _check_finite(entry["test_loss"], step, "Adam, test loss")
                ok = entry["min_parent_weight"] >= RECOVERY_WEIGHT and (
                    not graph.is_forest or entry["test_loss"] <= run.estimator_loss + RECOVERY_LOSS_GAP)
                if ok and run.recovered_s is None:
                    run.recovered_s = entry["seconds"]
                    if stop_at_recovery:
                        break
    run.seconds = time.perf_counter() - start
    return run


# --------------------------------------------------------------------------- benchmark
def benchmark(seed: int = 0) -> dict[str, Any]:
    """Issue-5 performance figures at ``S = 10, n = 19, α = 0.1`` (chain, stationary roots).

    ``*_recovery_s``: wall seconds of training (sampling included, the one-off
    test sample and reference excluded) until every parent weight is >= 0.9 and
    the test loss is within 0.02 nats of the induction-head reference;
    ``*_stage1_s``: until the attention criterion alone.  The population trainer
    here is the Dirichlet Monte Carlo one (a fixed sample of 8,192 ``(π, sequence)``
    pairs, cross-entropy); ``closed_form_stage1_s`` is the small-β linearised
    population gradient (exact inner expectation, 2,000 draws of ``π``).
    ``sgd_sequences_per_s``: SGD throughput over the run (sampling included).
    The count estimator's gap is reported: the reduced model cannot close it.
    ``disentangled_*``: the paper's experiment model (heads (1, 1), Adam lr 0.03,
    batches of 256, 600 steps): throughput, final parent weight and gap to the
    count estimator (a 600-step run, far from the paper's 2^17 steps).
    """
    graph, prior = CausalGraph.chain(19), DirichletPrior(10, 0.1)
    common = dict(steps1=300, steps2=300, stop_at_recovery=True, progress=False, seed=seed, eval_every=5)
    sgd = train_reduced(graph, prior, source="sgd", **common)
    pop = train_reduced(graph, prior, source="population", population_size=8192, **common)
    closed = train_reduced(graph, prior, source="population", stage1_loss="linearized", lr1=3000.0, steps1=300,
                           steps2=0, stop_at_recovery=True, progress=False, seed=seed, eval_every=1,
                           test_size=256)
    stage1_steps = sum(1 for h in sgd.history if h["stage"] == "stage1")
    dis = train_disentangled(graph, prior, lr=0.03, steps=600, batch=256, eval_every=100, seed=seed, progress=False)
    return {
        "training_S": 10, "training_n": 19, "training_alpha": 0.1,
        "recovery_criterion": ("every parent weight >= 0.9 and test loss within 0.02 nats of the induction-head "
                               "reference (A1 on the parents, A2 = c*·I); the count estimator is out of the reduced "
                               "model's reach, see the claim causal.induction_head_vs_estimator"),
        "sgd_recovery_s": sgd.recovered_s, "sgd_stage1_s": sgd.stage1_recovered_s,
        "sgd_sequences_per_s": sgd.sequences / sgd.seconds,
        "population_recovery_s": pop.recovered_s, "population_stage1_s": pop.stage1_recovered_s,
        "closed_form_stage1_s": closed.stage1_recovered_s,
        "sgd_final_test_loss": sgd.final_test_loss, "reference_loss": sgd.reference_loss,
        "count_estimator_loss": sgd.estimator_loss,
        "sgd_gap_to_count_estimator": sgd.final_test_loss - sgd.estimator_loss,
        "sgd_eval_points_stage1": stage1_steps,
        "disentangled_sequences_per_s": dis.sequences / dis.seconds,
        "disentangled_seconds": dis.seconds,
        "disentangled_min_parent_weight": dis.history[-1]["min_parent_weight"],
        "disentangled_gap_to_count_estimator": dis.final_test_loss - dis.estimator_loss,
    }
