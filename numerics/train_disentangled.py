"""Training the disentangled transformer of spec 1 (section 3; the paper's experiment model) by Adam.

Forests draw sequences from any prior ``theory.causal.sample_sequences`` takes;
k-parent graphs draw a fresh conditional table per sequence
(``theory.causal.sample_k_parent_sequences``).  Recovery: every head-assigned
parent weight ``>= 0.9`` (``numerics.evaluation.head_parent_assignment``) and, on
forests, the held-out loss within 0.02 nats of the count estimator.  All torch
work is float64 and runs on one thread.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from model.disentangled import DisentangledTransformer
from numerics.evaluation import (RECOVERY_LOSS_GAP, RECOVERY_WEIGHT, cross_entropy_of, estimator_alpha,
                                 head_parent_assignment, sample_sequences_redrawn)
from numerics.runtime import Progress, require_finite, single_thread
from theory import validate
from theory.causal import (Batch, CausalGraph, DirichletPrior, alphabet_size, count_estimator,
                           sample_k_parent_sequences)


@dataclass
class DisentangledRun:
    """A disentangled-transformer run: the final ``model``, ``history`` (one dict per
    evaluation: ``step``, ``seconds``, ``test_loss``, ``min_parent_weight``),
    ``attention (H, T, T)``: layer-1 attention averaged over the held-out sample,
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


def train_disentangled(graph: CausalGraph, prior: Any, *, heads: tuple[int, ...] | None = None,
                       lr: float = 0.01, steps: int = 500, batch: int = 256, roots: str = "stationary",
                       alpha: float | None = None, init_noise: float | None = None, test_size: int = 2048,
                       eval_every: int = 50, stop_at_recovery: bool = False, seed: int = 0,
                       lr_schedule: str = "constant", progress: bool = True) -> DisentangledRun:
    """Train the disentangled transformer by minibatch Adam on sampled sequences.

    ``prior``: for a forest, anything :func:`theory.causal.sample_sequences` takes;
    for a k-parent graph, a ``DirichletPrior`` whose ``S`` and ``α`` drive
    :func:`theory.causal.sample_k_parent_sequences` (a fresh table per sequence; roots
    uniform).  ``heads``: heads per layer, default ``(max(1, k), 1)``; fewer layer-1 heads
    than the graph's in-degree is refused.  All parameters start at zero as in
    the spec; with several layer-1 heads that start is a fixed point of the
    head-permutation symmetry (identical heads get identical gradients forever),
    so ``init_noise`` (default ``1e-2`` when ``heads[0] > 1``, else 0) adds
    Gaussian noise of that scale to layer 1.  ``lr_schedule``: ``"constant"`` or
    ``"cosine"`` (``lr·(1 + cos(π t/steps))/2`` at step ``t``).  Recovery: every head-assigned
    parent weight ``>= 0.9`` and (forests) held-out loss within 0.02 nats of the
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
    rng = np.random.default_rng(seed)
    if graph.is_forest:
        S = alphabet_size(prior)
        est_alpha = estimator_alpha(prior, alpha)

        def draw(size: int) -> Batch:
            return sample_sequences_redrawn(graph, prior, size, rng, roots)
    else:
        if not isinstance(prior, DirichletPrior):
            raise ValueError("prior: a k-parent graph needs a DirichletPrior (a fresh table per sequence)")
        S = prior.S

        def draw(size: int) -> Batch:
            return sample_k_parent_sequences(graph, S, prior.alpha, size, rng)
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

    with single_thread(), Progress(progress, "disentangled transformer (Adam)", steps) as bar:
        evaluate(0)
        for step in range(1, steps + 1):
            b = draw(batch)
            run.sequences += batch
            yhat = model(torch.as_tensor(b.tokens))
            loss = -(torch.as_tensor(b.target) * torch.log(yhat)).sum(dim=1).mean()
            value = float(loss.detach())
            require_finite(value, step, "Adam")
            opt.zero_grad()
            loss.backward()
            opt.step()
            if schedule is not None:
                schedule.step()
            run.train_loss.append(value)
            bar.advance()
            if step % eval_every == 0 or step == steps:
                entry = evaluate(step)
                require_finite(entry["test_loss"], step, "Adam, test loss")
                ok = entry["min_parent_weight"] >= RECOVERY_WEIGHT and (
                    not graph.is_forest or entry["test_loss"] <= run.estimator_loss + RECOVERY_LOSS_GAP)
                if ok and run.recovered_s is None:
                    run.recovered_s = entry["seconds"]
                    if stop_at_recovery:
                        break
    run.seconds = time.perf_counter() - start
    return run

