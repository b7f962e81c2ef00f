"""Training the standard transformer of the causal paper's Figure 8 (:mod:`model.standard`) by AdamW.

The figure's run: a two-layer residual transformer (width ``S + T``) on the chain
``p(i) = i - 1`` with ``S = 10``, ``n = 19``, Dirichlet(``α = 0.1``) rows, stationary roots,
a uniform query and the soft target ``π(x_n, ·)``; cross-entropy, AdamW at ``lr = 0.01``,
weight decay ``2·10⁻⁴``, cosine decay over ``2^12`` steps of 1,024 fresh sequences.  It
learns the induction head: layer 1 attends to the previous token, and the test loss
approaches the count estimator's.

Training runs in ``precision`` (float32 by default) on every core; every check is float64
on the CPU, on a held-out sample drawn by :func:`theory.sampling.sample_sequences` (numpy,
independent of the torch sampler that feeds training).
"""

from __future__ import annotations

import copy
import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from model.standard import StandardTransformer
from numerics.evaluation import (EstimatorGap, cross_entropy_of, estimator_alpha, gap_to_count_estimator,
                                 held_out_sample, parent_weights)
from numerics.runtime import intra_op_threads, Progress, require_finite, training_device
from numerics.sampling_torch import sample_sequences_torch
from numerics.train_disentangled import TrainingSchedule
from theory import validate
from theory.graphs import CausalGraph
from theory.priors import alphabet_size

__all__ = ["SAMPLER_CHUNK", "StandardRun", "train_standard_transformer"]

# Sequences drawn per call of the torch sampler: one vectorised draw serves many steps.
SAMPLER_CHUNK = 16384


@dataclass
class StandardRun:
    """A standard-transformer run.

    ``model``: the float64 CPU copy every check reads; ``history``: one dict per evaluation
    (``step``, ``sequences``, ``seconds`` of training so far, ``test_loss``, ``gap`` and
    ``gap_stderr`` to the count estimator, ``previous_token_min`` / ``previous_token_mean``:
    layer 1's weight ``a[i, i-1]`` over the graph's edges); ``previous_token_weight (T-1,)``:
    ``a[i, i-1]`` for ``i = 1..T-1`` (the query row included) of layer 1's attention
    ``attention (T, T)`` averaged over the held-out sample; ``estimator_loss``: the count
    estimator's cross-entropy on that sample; ``seconds``: training wall time (sampling
    included, evaluations excluded).
    """

    graph: CausalGraph
    model: StandardTransformer
    settings: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    attention: np.ndarray | None = None
    previous_token_weight: np.ndarray | None = None
    gap: EstimatorGap | None = None
    estimator_loss: float = float("nan")
    sequences: int = 0
    seconds: float = 0.0
    eval_seconds: float = 0.0

    @property
    def final_test_loss(self) -> float:
        return float(self.history[-1]["test_loss"]) if self.history else float("nan")


def train_standard_transformer(graph: CausalGraph, prior: Any, *, steps: int, batch: int, lr: float = 0.01,
                               weight_decay: float = 2e-4, lr_schedule: str = "cosine", test_size: int, seed: int,
                               roots: str = "stationary", layers: int = 2, threads: int | None = None,
                               device: str = "cpu", precision: str = "float32", eval_steps: Any = "log",
                               progress: bool = False) -> StandardRun:
    """Train :class:`model.standard.StandardTransformer` (``layers`` layers, width ``S + T``) on a forest.

    ``steps`` AdamW updates (torch's decoupled decay: ``θ ← θ - lr_t·(weight_decay·θ + Adam step)``,
    on every parameter) of ``batch`` fresh sequences drawn by
    :func:`numerics.sampling_torch.sample_sequences_torch` from ``prior`` with ``roots``; the loss is
    ``-Σ_s π(x_n, s) log ŷ_s`` averaged over the batch.  ``lr_schedule``: ``"constant"`` or
    ``"cosine"``, ``lr·(1 + cos(π t/steps))/2`` at update ``t = 0..steps-1``
    (:meth:`numerics.train_disentangled.TrainingSchedule.learning_rate`).  The model is initialised
    from ``seed`` (without touching torch's global generator), and so are the training and
    held-out draws.

    Training runs in ``precision`` (``"float32"`` or ``"float64"``) on ``device`` (``"cpu"``, or
    ``"cuda"`` when present) with ``threads`` intra-op threads (default ``os.cpu_count()``, restored
    afterwards).  At step 0 and each step of ``eval_steps`` (``"log"``: powers of two and the last
    step; or a sequence of step counts) a float64 CPU copy is scored on ``test_size`` held-out
    sequences: test loss, gap to the count estimator (pseudo-count the prior's ``α``) with its
    standard error (:func:`numerics.evaluation.gap_to_count_estimator`), and layer 1's
    previous-token weights.  Raises :class:`numerics.runtime.TrainingDiverged` at the first
    update whose loss is not finite.
    """
    if not isinstance(graph, CausalGraph):
        raise ValueError(f"graph: expected a CausalGraph, got {type(graph).__name__}")
    graph.require_forest("train_standard_transformer")
    S, T = alphabet_size(prior), graph.n + 1
    schedule = TrainingSchedule("adamw", validate.finite_float(lr, "lr", positive=True),
                                validate.choice(lr_schedule, "lr_schedule", ("constant", "cosine")),
                                validate.positive_int(steps, "steps"), validate.positive_int(batch, "batch"))
    weight_decay = validate.finite_float(weight_decay, "weight_decay", nonnegative=True)
    test_size = validate.positive_int(test_size, "test_size", minimum=2)
    seed = validate.seed(seed)
    roots = validate.choice(roots, "roots", ("stationary", "uniform"))
    layers = validate.positive_int(layers, "layers")
    threads = (os.cpu_count() or 1) if threads is None else validate.positive_int(threads, "threads")
    device = str(training_device(device))
    dtype = {"float32": torch.float32, "float64": torch.float64}[
        validate.choice(precision, "precision", ("float32", "float64"))]
    if isinstance(eval_steps, str):
        validate.choice(eval_steps, "eval_steps", ("log",))
        marks = {2 ** k for k in range(schedule.steps.bit_length())}
    elif isinstance(eval_steps, (list, tuple, range, np.ndarray)):
        marks = {validate.positive_int(s, "eval_steps", maximum=schedule.steps) for s in eval_steps}
    else:
        raise ValueError(f"eval_steps: expected 'log' or a sequence of step counts, "
                         f"got {validate.short_repr(eval_steps)}")
    marks.add(schedule.steps)
    progress = validate.boolean(progress, "progress")
    d = S + T  # activations of one layer per sequence: scores and softmax (2 T²), about eight (T, d) tensors
    validate.memory(8 * max(batch, test_size) * layers * (2 * T * T + 8 * T * d) + 8 * SAMPLER_CHUNK * S * S * 3,
                    validate.largest(batch=batch, test_size=test_size, layers=layers),
                    f"activations of batches of {batch:,} (test {test_size:,}) sequences")

    est_alpha = estimator_alpha(prior, None)
    test = held_out_sample(graph, prior, test_size, np.random.default_rng(seed), roots, est_alpha)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = StandardTransformer(S, T, layers=layers, dtype=dtype)
    dev = torch.device(device)
    model = model.to(dev)
    generator = torch.Generator(device=dev).manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=schedule.lr, weight_decay=weight_decay)
    run = StandardRun(graph, model, dict(schedule=schedule, weight_decay=weight_decay, roots=roots, layers=layers,
                                         seed=seed, S=S, n=graph.n, test_size=test_size, threads=threads,
                                         device=device, precision=precision),
                      estimator_loss=test.estimator_loss)

    def evaluate(step: int, train_seconds: float) -> None:
        start = time.perf_counter()
        check = copy.deepcopy(model).to("cpu", torch.float64)
        with torch.no_grad():
            yhat = check(test.tokens).numpy()
            att = check.first_layer_attention(test.tokens).mean(dim=0).numpy()  # (T, T)
        test_loss = cross_entropy_of(yhat, test.batch.target)
        require_finite(test_loss, step, "AdamW", "the float64 test loss")
        gap = gap_to_count_estimator(graph, yhat, test.batch, est_alpha)
        excess, edges = gap.mean(), parent_weights(att, graph)  # edges: a[i, p(i)] over the graph's edges
        entry = dict(step=step, sequences=step * schedule.batch, seconds=train_seconds, test_loss=test_loss,
                     gap=float(excess.value), gap_stderr=float(excess.stderr),
                     previous_token_min=float(edges.min()), previous_token_mean=float(edges.mean()))
        run.history.append(entry)
        run.model, run.attention, run.gap = check, att, gap
        run.previous_token_weight = np.diagonal(att, offset=-1).copy()  # a[i, i-1], i = 1..T-1
        run.eval_seconds += time.perf_counter() - start

    chunk = max(1, min(schedule.steps, SAMPLER_CHUNK // schedule.batch))
    losses = []
    train_seconds = 0.0
    with intra_op_threads(threads), Progress(progress, "standard transformer (AdamW)", schedule.steps,
                                             schedule.batch) as bar:
        evaluate(0, 0.0)
        start = time.perf_counter()
        for step in range(schedule.steps):
            if step % chunk == 0:
                tokens, target, _ = sample_sequences_torch(graph, prior, chunk * schedule.batch, generator,
                                                           dev, roots)
                tokens, target = tokens.split(schedule.batch), target.to(dtype).split(schedule.batch)
            x, y = tokens[step % chunk], target[step % chunk]
            for group in opt.param_groups:
                group["lr"] = schedule.learning_rate(step)
            loss = -(y * torch.log_softmax(model.query_logits(x), dim=-1)).sum(dim=1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
            require_finite(losses[-1], step + 1, "AdamW")
            bar.advance(loss=losses[-1])
            if step + 1 in marks:
                train_seconds += time.perf_counter() - start
                evaluate(step + 1, train_seconds)
                start = time.perf_counter()
    run.sequences = schedule.steps * schedule.batch
    run.seconds = train_seconds
    run.train_loss = losses
    return run
