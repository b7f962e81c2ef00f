"""Population losses of the reduced model by exact enumeration, their autograd
gradients, the O(β) coefficient by extrapolation, and Monte Carlo estimators.

Losses (per sequence, ``y`` the soft label, ``ŷ`` the model's output):
    linearized:     -Σ_s y_s ŷ_s / μ_π(s)
    cross_entropy:  -Σ_s y_s log((1 - ε) ŷ_s + ε/S)

``ŷ_s = 0`` whenever token ``s`` is absent from the sequence, so the plain
cross-entropy is infinite with positive probability at finite ``n``.  The
toolkit mixes ``ŷ`` with the uniform law by ``ε = smoothing`` (default
``1e-12``, so the loss is finite) and reports the probability of that event
with :func:`absent_target_probability`.  The gradient is continuous at
``ε = 0``: absent tokens contribute nothing to it.  All torch work is float64.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from model.reduced import ReducedTransformer
from theory import validate
from theory.enumeration import Population, enumerate_population
from theory.estimates import Estimate, mean_and_stderr
from theory.gradients import LOSSES, attention_gradient_defined, inverse_stationary_moment_finite
from theory.graphs import CausalGraph, as_causal_graph
from theory.laws import stationary_laws
from theory.sampling import sample_sequences

__all__ = ["DEFAULT_SMOOTHING", "per_sequence_loss", "SequenceLoss", "smoothing_weight", "population_loss",
           "population_gradient_A1", "initial_gradient_by_extrapolation", "absent_target_probability",
           "monte_carlo_gradient_A1", "relative_error"]

DEFAULT_SMOOTHING = 1e-12


def per_sequence_loss(yhat: torch.Tensor, target: torch.Tensor, stationary: torch.Tensor, loss: str,
                      smoothing: float = DEFAULT_SMOOTHING) -> torch.Tensor:
    """(B,) loss of each sequence from ``yhat (B, S)``, ``target (B, S)``, ``stationary (B, S)``.

    ``loss`` one of :data:`theory.gradients.LOSSES`; ``smoothing`` the mixing weight ``ε`` in ``(0, 1)``.
    ``target`` must be finite and non-negative; for the linearised loss, which divides by it,
    ``stationary`` must be finite and positive (``yhat`` is the model's output: a non-finite one is a
    diverged model, which the trainers report as :class:`numerics.runtime.TrainingDiverged`).
    """
    criterion = SequenceLoss(loss, smoothing)
    for name, t in (("yhat", yhat), ("target", target), ("stationary", stationary)):
        if not isinstance(t, torch.Tensor) or t.ndim != 2:
            raise ValueError(f"{name}: expected a (B, S) torch tensor, got {getattr(t, 'shape', type(t).__name__)}")
    if target.shape != yhat.shape or stationary.shape != yhat.shape:
        raise ValueError(f"target: expected the shape of yhat {tuple(yhat.shape)}, got {tuple(target.shape)} "
                         f"(stationary {tuple(stationary.shape)})")
    for name, t in (("yhat", yhat), ("target", target), ("stationary", stationary)):
        if not (t.is_floating_point() and not t.is_complex()):
            raise ValueError(f"{name}: expected a real floating-point tensor, got dtype {t.dtype}")
    if not bool(torch.isfinite(target).all()) or bool((target < 0).any()):
        raise ValueError("target: expected finite non-negative entries (one law on [S] per sequence)")
    if loss == "linearized" and (not bool(torch.isfinite(stationary).all()) or bool((stationary <= 0).any())):
        raise ValueError("stationary: the linearised loss divides by the stationary law; expected finite "
                         "positive entries")
    return criterion(yhat, target, stationary)


@dataclass(frozen=True)
class SequenceLoss:
    """One loss of the module docstring, its settings checked once: ``loss`` in :data:`theory.gradients.LOSSES`,
    ``smoothing`` the mixing weight ``ε`` in ``(0, 1)``.

    Calling it on ``yhat``, ``target``, ``stationary`` ``(B, S)`` gives the ``(B,)`` losses, and
    :meth:`population` the exact population loss of a model, without checking the tensors: a trainer hands
    it its own model's output and its own sampled or enumerated sequences at every step
    (:func:`per_sequence_loss` and :func:`population_loss` are the checked calls for anything else).
    """

    loss: str
    smoothing: float = DEFAULT_SMOOTHING

    def __post_init__(self) -> None:
        validate.choice(self.loss, "loss", LOSSES)
        object.__setattr__(self, "smoothing", smoothing_weight(self.smoothing))

    def __call__(self, yhat: torch.Tensor, target: torch.Tensor, stationary: torch.Tensor) -> torch.Tensor:
        if self.loss == "linearized":
            return -(target * yhat / stationary).sum(dim=-1)
        S = yhat.shape[-1]
        return -(target * torch.log((1 - self.smoothing) * yhat + self.smoothing / S)).sum(dim=-1)

    def population(self, model: ReducedTransformer, population: Population) -> torch.Tensor:
        """``Σ_seq P(seq)·loss(seq)`` of ``model`` on ``population`` (a 0-d tensor, differentiable)."""
        yhat = model(torch.as_tensor(population.tokens))
        per = self(yhat, torch.as_tensor(population.target), torch.as_tensor(population.stationary))
        return (torch.as_tensor(population.probability) * per).sum()


def smoothing_weight(smoothing: float, name: str = "smoothing") -> float:
    """``smoothing`` as a mixing weight ``ε`` in ``(0, 1)``."""
    smoothing = validate.finite_float(smoothing, name, positive=True)
    if smoothing >= 1:
        raise ValueError(f"{name}: expected a mixing weight in (0, 1), got {smoothing}")
    return smoothing


def population_loss(model: ReducedTransformer, population: Population, loss: str = "cross_entropy",
                    smoothing: float = DEFAULT_SMOOTHING) -> torch.Tensor:
    """Exact population loss ``Σ_seq P(seq)·loss(seq)`` of ``model`` (a 0-d tensor, differentiable)."""
    criterion = SequenceLoss(loss, smoothing)
    if not isinstance(model, ReducedTransformer):
        raise ValueError(f"model: expected a ReducedTransformer, got {type(model).__name__}")
    if not isinstance(population, Population):
        raise ValueError(f"population: expected a theory.enumeration.Population, got {type(population).__name__}")
    if population.tokens.shape[1] != model.T or population.target.shape[1] != model.S:
        raise ValueError(f"population: expected sequences of length {model.T} over {model.S} states (the model's), "
                         f"got tokens {population.tokens.shape}, target {population.target.shape}")
    return criterion.population(model, population)


def population_gradient_A1(graph: CausalGraph, prior: Any, beta: float, *, loss: str = "linearized",
                           roots: str = "stationary", smoothing: float = DEFAULT_SMOOTHING,
                           max_sequences: int = 2_000_000, population: Population | None = None) -> np.ndarray:
    """Autograd ``∂L/∂A1`` of the exact population loss at ``A1 = 0, A2 = β·I``; ``(T, T)``.

    ``prior``: a fixed ``(S, S)`` matrix or a ``FinitePrior`` (the population is enumerated exactly), unused
    when ``population`` is given."""
    graph = as_causal_graph(graph)
    beta = validate.finite_float(beta, "beta", positive=True)
    if population is not None and not isinstance(population, Population):
        raise ValueError(f"population: expected a Population or None, got {type(population).__name__}")
    pop = population if population is not None else enumerate_population(graph, prior, roots, max_sequences)
    S = pop.target.shape[1]
    model = ReducedTransformer(S, graph.n + 1, beta=beta)
    population_loss(model, pop, loss, smoothing).backward()
    return model.A1.grad.detach().numpy().copy()


def initial_gradient_by_extrapolation(graph: CausalGraph, prior: Any, *, loss: str = "linearized",
                                      roots: str = "stationary", beta: float = 1e-4,
                                      smoothing: float = DEFAULT_SMOOTHING,
                                      max_sequences: int = 2_000_000) -> np.ndarray:
    """The O(β) coefficient ``g`` of ``∂L/∂A1`` by Richardson extrapolation in ``β``.

    With ``D(β) = ∂L/∂A1 / β = g + c₁β + c₂β² + O(β³)`` at ``β, β/2, β/4``:
        ``D₁(β) = 2 D(β/2) - D(β)``, ``D₂ = (4 D₁(β/2) - D₁(β)) / 3 = g + O(β³)``.
    ``prior``: a fixed ``(S, S)`` matrix or a ``FinitePrior`` (exact enumeration).
    """
    beta = validate.finite_float(beta, "beta", positive=True)
    validate.choice(loss, "loss", LOSSES)
    smoothing_weight(smoothing)
    pop = enumerate_population(graph, prior, roots, max_sequences)
    D = [population_gradient_A1(graph, None, b, loss=loss, smoothing=smoothing, population=pop) / b
         for b in (beta, beta / 2, beta / 4)]
    first = [2 * D[1] - D[0], 2 * D[2] - D[1]]
    return (4 * first[1] - first[0]) / 3


def absent_target_probability(graph: CausalGraph, prior: Any, roots: str = "stationary",
                              max_sequences: int = 2_000_000) -> float:
    """``P(∃ s: y_s > 0 and s absent from x_0..x_n)``: where the plain cross-entropy is infinite.

    ``prior``: a fixed ``(S, S)`` matrix or a ``FinitePrior`` (exact enumeration)."""
    pop = enumerate_population(graph, prior, roots, max_sequences)
    S = pop.target.shape[1]
    present = np.zeros((len(pop.tokens), S), dtype=bool)
    present[np.arange(len(pop.tokens))[:, None], pop.tokens] = True
    bad = np.any((pop.target > 0) & ~present, axis=1)
    return float(pop.probability[bad].sum())


def monte_carlo_gradient_A1(graph: CausalGraph, prior: Any, beta: float, *, loss: str = "linearized",
                            roots: str = "stationary", batch: int = 4096, batches: int = 32,
                            rng: Any = None, smoothing: float = DEFAULT_SMOOTHING,
                            max_bytes: int | None = None) -> Estimate:
    """Monte Carlo ``∂L/∂A1 / β`` at ``A1 = 0, A2 = β·I`` from sampled ``(π, sequence)`` pairs.

    Each of ``batches`` batches of ``batch`` sequences gives one autograd
    gradient of the batch-mean loss; the estimate is their mean with the
    standard error across batches.  ``prior`` may be a prior or one matrix.

    Linearised loss under a ``DirichletPrior`` with ``E[1/μ_π] = ∞`` (``α (S - 1) <= 1``): the entries
    with no prior mean are masked as in :func:`theory.gradients.attention_gradient_at_init`, and every
    ``stderr`` is masked: a sampled sequence carries ``w_m = y(x_m)/μ_π(x_m)``, whose second moment
    ``E[Σ_a y(a)²/μ_π(a)]`` is infinite there.
    """
    graph = as_causal_graph(graph)
    graph.require_forest("monte_carlo_gradient_A1")
    beta = validate.finite_float(beta, "beta", positive=True)
    batch = validate.positive_int(batch, "batch")
    batches = validate.positive_int(batches, "batches", minimum=2)
    validate.choice(loss, "loss", LOSSES)
    smoothing_weight(smoothing)
    S = prior.S if hasattr(prior, "S") else np.shape(prior)[-1] if np.ndim(prior) == 2 else 2
    validate.memory(8 * batch * (graph.n + 1) * (6 * S + graph.n + 1), "batch",
                    f"the model's activations on {batch:,} sequences", max_bytes)
    gen = validate.rng(rng)
    grads = np.empty((batches, graph.n + 1, graph.n + 1))
    for k in range(batches):
        draw = sample_sequences(graph, prior, batch, gen, roots)
        S = draw.target.shape[1]
        model = ReducedTransformer(S, graph.n + 1, beta=beta)
        yhat = model(torch.as_tensor(draw.tokens))
        mu = (torch.as_tensor(stationary_laws(draw.pi)) if loss == "linearized"
              else torch.ones(batch, S, dtype=torch.float64))
        per_sequence_loss(yhat, torch.as_tensor(draw.target), mu, loss, smoothing).mean().backward()
        grads[k] = model.A1.grad.numpy() / beta
    if loss == "linearized" and not inverse_stationary_moment_finite(prior, 1):
        defined = attention_gradient_defined(graph, prior, loss=loss, roots=roots, order=1)
        # Batch gradients reach ~1e289 here (w = y/μ_π with μ_π down to the Dirichlet floor); no stderr is
        # reported (finite_variance all False), so mean_and_stderr squares none of them.
        return mean_and_stderr(grads, defined=defined, finite_variance=np.zeros_like(defined),
                               note=f"{prior!r}: E[1/μ_π] = ∞ (α(S-1) <= 1): per-sequence variance is infinite")
    return mean_and_stderr(grads)


def relative_error(approx: np.ndarray, exact: np.ndarray) -> float:
    """``max |approx - exact| / max |exact|`` (the exact array must not vanish)."""
    exact = validate.finite_array(exact, "exact")
    approx = validate.finite_array(approx, "approx", shape=exact.shape)
    scale = np.max(np.abs(exact))
    if scale == 0:
        raise ValueError("exact: relative error of an all-zero reference is undefined")
    return float(np.max(np.abs(np.asarray(approx) - exact)) / scale)

