"""Training the reduced model of spec 1 (sections 3 and 5, items 6-7) in the paper's two stages.

    stage 1:  A1 <- A1 - lr1 · ∂L/∂A1     with A2 = β·I_S frozen
    stage 2:  A2 <- A2 - lr2 · ∂L/∂A2     with A1 frozen

Gradient sources (``source=``):

``"sgd"``         plain minibatch SGD on freshly sampled ``(π, sequence)`` pairs.
``"population"``  the population gradient.  Stage 1 with ``stage1_loss="linearized"``
                  uses the small-β closed form
                  ``∂L_lin/∂A1[i, j] = -β/(S T) · a_ij (M[i, j] - Σ_l a_il M[i, l]) + O(β²)``
                  (:func:`theory.gradients.small_beta_attention_gradient` with
                  :func:`theory.gradients.drift_matrix`; any size; exact for a fixed ``π``
                  or a ``FinitePrior``; for a ``DirichletPrior``, Monte Carlo over ``draws``
                  draws of ``π`` with the inner expectation exact; under a ``DirichletPrior`` with
                  ``α (S - 1) <= 1`` the drift entries of :func:`theory.gradients.drift_matrix_defined`
                  have no prior mean, and the rows of ``A1`` that use them (the query row under
                  stationary roots) follow the plain draws-average, ``drift_matrix(masked=False)``).
                  Otherwise a fixed ``π``
                  or a ``FinitePrior`` is enumerated exactly and refused above
                  ``max_sequences`` (``ValueError``); a ``DirichletPrior`` is Monte Carlo over
                  ``π``: the finite prior of ``draws`` draws, enumerated when
                  ``draws·S^T <= max_sequences``, else one fixed sample of
                  ``population_size`` ``(π, sequence)`` pairs with full-batch descent (a
                  sample-average approximation, reported as ``"fixed-sample"`` in
                  ``ReducedRun.stage1_gradient`` / ``stage2_gradient``).

Losses.  ``"linearized"`` is ``-Σ_s y_s ŷ_s / μ_π(s)``; ``"cross_entropy"`` is
``-Σ_s y_s log((1-ε) ŷ_s + ε/S)`` (``numerics.population.per_sequence_loss``), trained
and tested with ``ε = REDUCED_SMOOTHING = 1e-2`` (the reduced model's ``ŷ`` is zero on
absent tokens; the gradient does not depend on ``ε`` there, and the reported loss is a
readable number instead of ``-log 1e-12`` terms).  The held-out loss is compared with
the induction-head reference of :mod:`numerics.evaluation`.

Settings that recover the graph quickly at ``S = 10, n = 19, α = 0.1`` (the defaults):
``β = 1`` (at ``β = 1e-3`` the stage-1 gradient is a thousand times smaller and needs a
thousand times the learning rate), stage-1 learning rate 100 (the gradient is
``O(β/(S T (i+1)))``), stage-2 learning rate 50, batches of 1024.

All torch work is float64 and runs on one thread.
"""

from __future__ import annotations

import copy
import functools
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from model.reduced import ReducedTransformer
from numerics.evaluation import (RECOVERY_LOSS_GAP, RECOVERY_WEIGHT, REDUCED_SMOOTHING, HeldOutSample,
                                 estimator_alpha, forest_with_edges, held_out_loss, held_out_sample,
                                 induction_head_model, induction_reference, parent_weights,
                                 sample_sequences_redrawn)
from numerics.population import SequenceLoss
from numerics.runtime import Progress, require_finite, single_thread
from theory import validate
from theory.graphs import CausalGraph
from theory.priors import DirichletPrior, FinitePrior, alphabet_size, is_prior
from theory.enumeration import enumerate_population
from theory.gradients import LOSSES, causal_softmax, drift_matrix, small_beta_attention_gradient
from theory.laws import stationary_laws

__all__ = ["SOURCES", "ReducedTrainingConfig", "ReducedRun", "train_reduced", "chain_induction_run"]

SOURCES = ("sgd", "population")


@dataclass(frozen=True)
class ReducedTrainingConfig:
    """Every setting of :func:`train_reduced` but the graph and the prior, checked once here (``ValueError``
    naming the field).

    ``source``: ``"sgd"`` or ``"population"`` (module docstring); ``beta``: ``A2 = β·I`` during stage 1;
    ``lr1``, ``steps1`` (``>= 1``), ``lr2``, ``steps2`` (``>= 0``; 0 skips stage 2): the two stages;
    ``stage1_loss``, ``stage2_loss``: ``"linearized"`` or ``"cross_entropy"``; ``batch``: SGD batch;
    ``roots``: ``"stationary"`` or ``"uniform"``; ``smoothing``: the mixing weight ``ε`` in ``(0, 1)``;
    ``draws``: draws of ``π`` of a Dirichlet prior for the population gradient; ``population_size``:
    the fixed Monte Carlo sample above the enumeration budget ``max_sequences``; ``test_size``: held-out
    sequences (``>= 2``); ``eval_every``: steps between evaluations; ``snapshot_steps``: stage-1 steps
    after which ``A1`` is copied (normalised to a tuple of ``int``); ``alpha``: the count estimator's
    pseudo-count (``None``: the prior's); ``stop_at_recovery``; ``seed``; ``progress``: a progress bar.
    """

    source: str = "sgd"
    beta: float = 1.0
    lr1: float = 100.0
    steps1: int = 200
    lr2: float = 50.0
    steps2: int = 200
    stage1_loss: str = "cross_entropy"
    stage2_loss: str = "cross_entropy"
    batch: int = 1024
    roots: str = "stationary"
    smoothing: float = REDUCED_SMOOTHING
    draws: int = 2000
    population_size: int = 16384
    max_sequences: int = 2_000_000
    test_size: int = 4096
    eval_every: int = 10
    snapshot_steps: tuple[int, ...] = ()
    alpha: float | None = None
    stop_at_recovery: bool = False
    seed: int = 0
    progress: bool = True

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        put("seed", validate.seed(self.seed))
        put("max_sequences", validate.positive_int(self.max_sequences, "max_sequences"))
        put("draws", validate.positive_int(self.draws, "draws"))
        put("stop_at_recovery", validate.boolean(self.stop_at_recovery, "stop_at_recovery"))
        put("progress", validate.boolean(self.progress, "progress"))
        snaps = self.snapshot_steps
        if isinstance(snaps, (str, bytes)) or not hasattr(snaps, "__iter__") or any(
                isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0 for k in snaps):
            raise ValueError(f"snapshot_steps: expected a collection of integers >= 0, got {snaps!r}")
        put("snapshot_steps", tuple(int(k) for k in snaps))
        validate.choice(self.source, "source", SOURCES)
        validate.choice(self.stage1_loss, "stage1_loss", LOSSES)
        validate.choice(self.stage2_loss, "stage2_loss", LOSSES)
        validate.choice(self.roots, "roots", ("stationary", "uniform"))
        put("beta", validate.finite_float(self.beta, "beta", positive=True))
        put("lr1", validate.finite_float(self.lr1, "lr1", positive=True))
        put("lr2", validate.finite_float(self.lr2, "lr2", positive=True))
        put("steps1", validate.positive_int(self.steps1, "steps1"))
        if isinstance(self.steps2, bool) or not isinstance(self.steps2, int) or self.steps2 < 0:
            raise ValueError(f"steps2: expected an integer >= 0 (0 skips stage 2), got {self.steps2!r}")
        put("steps2", int(self.steps2))
        put("batch", validate.positive_int(self.batch, "batch"))
        put("smoothing", validate.finite_float(self.smoothing, "smoothing", positive=True))
        if self.smoothing >= 1:
            raise ValueError(f"smoothing: expected a mixing weight in (0, 1), got {self.smoothing}")
        put("eval_every", validate.positive_int(self.eval_every, "eval_every"))
        put("test_size", validate.positive_int(self.test_size, "test_size", minimum=2))
        put("population_size", validate.positive_int(self.population_size, "population_size"))
        if self.alpha is not None:
            put("alpha", validate.finite_float(self.alpha, "alpha", positive=True))


@dataclass
class ReducedRun:
    """Everything a reduced-model run measured.

    ``A1 (T, T)``, ``A2 (S, S)``: final parameters.  ``snapshots``: ``(step, A1)``
    copies at the recorded stage-1 steps.  ``history``: one dict per evaluation
    (``stage``, ``step``, ``seconds``, ``test_loss``, ``min_parent_weight``).
    ``estimator_loss``: the count estimator's cross-entropy on the held-out sample;
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
        """Layer-1 attention ``softmax_{j<=i}(A1[i, j])``; ``(T, T)``."""
        return causal_softmax(self.A1)

    def model(self) -> ReducedTransformer:
        """A fresh ``ReducedTransformer`` holding the run's final ``A1`` and ``A2``."""
        model = induction_head_model(self.graph, self.A2.shape[0], self.A1)
        with torch.no_grad():
            model.A2.copy_(torch.as_tensor(self.A2))
        return model

    def test_loss(self, test: HeldOutSample) -> float:
        """The run's cross-entropy (``ε`` of the run) on another held-out sample."""
        return held_out_loss(self.model(), test, self.settings["smoothing"])

    @property
    def min_parent_weight(self) -> float:
        return float(parent_weights(self.attention(), self.graph).min())

    @property
    def final_test_loss(self) -> float:
        return float(self.history[-1]["test_loss"]) if self.history else float("nan")


def _gradient_step(param: torch.Tensor, loss: torch.Tensor, lr: float) -> None:
    """One plain gradient-descent step ``param -= lr · ∂loss/∂param``."""
    param.grad = None
    loss.backward()
    with torch.no_grad():
        param -= lr * param.grad


def train_reduced(graph: CausalGraph, prior: Any, config: ReducedTrainingConfig | None = None,
                  **settings: Any) -> ReducedRun:
    """Train the reduced model in the paper's two stages; returns a :class:`ReducedRun`.

    ``prior``: a ``DirichletPrior``, a ``FinitePrior`` or one fixed ``(S, S)`` matrix.
    ``config``: a :class:`ReducedTrainingConfig`, or instead its fields as keyword ``settings``
    (both at once are refused); they are checked once, there, and not again below.
    ``source``: ``"sgd"`` or ``"population"`` (module docstring).  ``stop_at_recovery``
    ends stage 1 once every parent weight reaches 0.9 and stage 2 once the held-out
    loss is within 0.02 nats of the induction-head reference (``recovered_s`` is
    the wall time, sampling included).  ``snapshot_steps``: stage-1 steps after
    which ``A1`` is copied (step 0 is the initialisation).
    Raises ``ValueError`` on bad settings and :class:`numerics.runtime.TrainingDiverged`
    naming the step and the learning rate as soon as a training loss, a closed-form gradient or a
    parameter (``A1`` after a stage-1 step, ``A2`` after a stage-2 step) is not finite.
    """
    if config is None:
        config = ReducedTrainingConfig(**settings)
    elif settings:
        raise ValueError(f"config: give a ReducedTrainingConfig or keyword settings, not both "
                         f"(got config and {', '.join(sorted(settings))})")
    elif not isinstance(config, ReducedTrainingConfig):
        raise ValueError(f"config: expected a ReducedTrainingConfig, got {validate.short_repr(config)}")
    graph = forest_with_edges(graph)
    source, beta, roots, seed = config.source, config.beta, config.roots, config.seed
    lr1, steps1, lr2, steps2 = config.lr1, config.steps1, config.lr2, config.steps2
    stage1_loss, stage2_loss, smoothing = config.stage1_loss, config.stage2_loss, config.smoothing
    batch, draws, population_size, test_size = config.batch, config.draws, config.population_size, config.test_size
    max_sequences, eval_every, stop_at_recovery = config.max_sequences, config.eval_every, config.stop_at_recovery
    est_alpha = estimator_alpha(prior, None) if config.alpha is None else config.alpha
    if not is_prior(prior):
        prior = validate.transition_matrix(prior, "prior")
    S, T = alphabet_size(prior), graph.n + 1
    validate.memory(8 * (T * T + S * S) * 4, "graph", f"a reduced model with T = {T:,}, S = {S:,}")
    rng = np.random.default_rng(seed)

    # Decide the population-gradient machinery before any work, so bad sizes fail at once.
    population = None
    stage1_closed = source == "population" and stage1_loss == "linearized"
    if source == "population":
        dirichlet = isinstance(prior, DirichletPrior)
        m = (draws if dirichlet else
             len(prior.weights) if isinstance(prior, FinitePrior) else 1)
        if m * S ** T <= max_sequences:
            finite = FinitePrior(prior.sample(draws, rng)) if dirichlet else prior
            population = enumerate_population(graph, finite, roots, max_sequences)
        elif not dirichlet and (steps2 > 0 or not stage1_closed):
            raise ValueError(f"max_sequences: exact population training needs {m * S ** T:,} weighted sequences "
                             f"({m} matrices × S^T = {S}^{T}), above the budget of {max_sequences:,}; use "
                             f"stage1_loss='linearized' with steps2=0 (closed form at any size), source='sgd', "
                             f"or raise the budget")
    validate.memory(8 * max(batch, test_size, population_size) * T * (6 * S + T) + 16 * draws * S * S, "batch",
                    f"training on batches of {batch:,} (test {test_size:,}, population {population_size:,}) "
                    f"sequences of length {T}")
    M = drift_matrix(graph, prior, roots=roots, draws=draws, rng=rng, masked=False) if stage1_closed else None
    test = held_out_sample(graph, prior, test_size, rng, roots, est_alpha)
    ref_loss, ref_scale = induction_reference(graph, test, smoothing)
    run = ReducedRun(graph, np.zeros((T, T)), beta * np.eye(S),
                     dict(source=source, beta=beta, lr1=lr1, steps1=steps1, lr2=lr2, steps2=steps2,
                          stage1_loss=stage1_loss, stage2_loss=stage2_loss, batch=batch, roots=roots,
                          smoothing=smoothing, draws=draws, seed=seed, S=S, n=graph.n),
                     estimator_loss=test.estimator_loss, reference_loss=ref_loss, reference_scale=ref_scale)
    model = ReducedTransformer(S, T, beta=beta)
    start = time.perf_counter()
    snaps = set(config.snapshot_steps)
    if 0 in snaps:
        run.snapshots.append((0, model.A1.detach().numpy().copy()))

    fixed_sample = None
    criteria = {kind: SequenceLoss(kind, smoothing) for kind in (stage1_loss, stage2_loss)}

    def batch_loss(loss_kind: str) -> torch.Tensor:
        nonlocal fixed_sample
        if population is not None:
            return criteria[loss_kind].population(model, population)
        if source == "population":  # Dirichlet above the enumeration budget: one fixed Monte Carlo sample
            if fixed_sample is None:
                fixed_sample = sample_sequences_redrawn(graph, prior, population_size, rng, roots)
            draw = fixed_sample
        else:
            draw = sample_sequences_redrawn(graph, prior, batch, rng, roots)
            run.sequences += batch
        yhat = model(torch.as_tensor(draw.tokens))
        mu = (torch.as_tensor(stationary_laws(draw.pi)) if loss_kind == "linearized"
              else torch.ones(len(draw.tokens), S, dtype=torch.float64))
        return criteria[loss_kind](yhat, torch.as_tensor(draw.target), mu).mean()

    def evaluate(stage: str, step: int) -> dict[str, Any]:
        entry = dict(stage=stage, step=step, seconds=time.perf_counter() - start,
                     test_loss=held_out_loss(model, test, smoothing),
                     min_parent_weight=float(parent_weights(model.layer1_attention().detach().numpy(), graph).min()))
        run.history.append(entry)
        return entry

    lower1, lower2 = f"lower lr1 (lr1 = {lr1:g})", f"lower lr2 (lr2 = {lr2:g})"
    with single_thread(), Progress(config.progress, f"reduced model ({source})", steps1 + steps2) as bar:
        model.A2.requires_grad_(False)
        evaluate("stage1", 0)
        for step in range(1, steps1 + 1):
            if stage1_closed:
                A1 = model.A1.detach().numpy()
                grad = small_beta_attention_gradient(M, A1, beta)
                value = float("nan")  # the closed form has no loss value; the held-out loss is tracked instead
                with torch.no_grad():
                    model.A1 -= lr1 * torch.as_tensor(grad)
                require_finite(float(np.abs(grad).sum()), step, "stage 1", "the closed-form gradient", lower1)
            else:
                loss = batch_loss(stage1_loss)
                value = float(loss.detach())
                require_finite(value, step, "stage 1", advice=lower1)
                _gradient_step(model.A1, loss, lr1)
            # before anything reads A1 (the evaluation's attention, the next gradient)
            require_finite(model.A1.detach().numpy(), step, "stage 1", what="A1", advice=lower1)
            run.train_loss.append(value)
            bar.advance()
            if step in snaps:
                run.snapshots.append((step, model.A1.detach().numpy().copy()))
            if step % eval_every == 0 or step == steps1:
                entry = evaluate("stage1", step)
                require_finite(entry["test_loss"], step, "stage 1", "the held-out loss", lower1)
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
            loss = batch_loss(stage2_loss)
            value = float(loss.detach())
            require_finite(value, step, "stage 2", advice=lower2)
            _gradient_step(model.A2, loss, lr2)
            require_finite(model.A2.detach().numpy(), step, "stage 2", what="A2", advice=lower2)
            run.train_loss.append(value)
            bar.advance()
            if step % eval_every == 0 or step == steps2:
                entry = evaluate("stage2", step)
                require_finite(entry["test_loss"], step, "stage 2", "the held-out loss", lower2)
                if (run.recovered_s is None and entry["min_parent_weight"] >= RECOVERY_WEIGHT
                        and entry["test_loss"] <= ref_loss + RECOVERY_LOSS_GAP):
                    run.recovered_s = entry["seconds"]
                    if stop_at_recovery:
                        break
    run.A1 = model.A1.detach().numpy().copy()
    run.A2 = model.A2.detach().numpy().copy()
    run.seconds = time.perf_counter() - start
    return run



def chain_induction_run(S: int, n: int, *, steps1: int, steps2: int, test_size: int, seed: int,
                        alpha: float = 0.1, lr2: float = 50.0, eval_every: int = 10) -> ReducedRun:
    """The two-stage SGD run on the in-context chain of ``n`` positions under the Dirichlet(α·1) prior on ``S``
    tokens (:func:`train_reduced` with ``source="sgd"``, defaults otherwise), computed once per process for
    each set of arguments and shared by every caller (the induction-head claims read one run).

    A pure function of its arguments: the cache key is every argument, the seed included, so what a caller
    gets never depends on which caller ran first.  Each call returns its own deep copy of the cached run,
    so a caller cannot change what the next one reads.
    """
    S = validate.positive_int(S, "S", minimum=2)
    n = validate.positive_int(n, "n")
    steps1 = validate.positive_int(steps1, "steps1", minimum=0)
    steps2 = validate.positive_int(steps2, "steps2", minimum=0)
    test_size = validate.positive_int(test_size, "test_size")
    seed = validate.seed(seed)
    alpha = validate.finite_float(alpha, "alpha", positive=True)
    lr2 = validate.finite_float(lr2, "lr2", positive=True)
    eval_every = validate.positive_int(eval_every, "eval_every")
    return copy.deepcopy(_chain_induction_run(S, n, steps1, steps2, test_size, seed, alpha, lr2, eval_every))


@functools.lru_cache(maxsize=8)
def _chain_induction_run(S: int, n: int, steps1: int, steps2: int, test_size: int, seed: int, alpha: float,
                         lr2: float, eval_every: int) -> ReducedRun:
    return train_reduced(CausalGraph.chain(n), DirichletPrior(S, alpha), source="sgd", steps1=steps1, lr2=lr2,
                         steps2=steps2, seed=seed, progress=False, test_size=test_size, eval_every=eval_every)
