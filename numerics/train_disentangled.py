"""Training the disentangled transformer of spec 1 (section 3; the paper's experiment model) by Adam.

Forests draw sequences from any prior ``theory.sampling.sample_sequences`` takes;
k-parent graphs draw a fresh conditional table per sequence
(``theory.sampling.sample_k_parent_sequences``).  Recovery: every head-assigned
parent weight ``>= 0.9`` (``numerics.evaluation.head_parent_assignment``) and, on
forests, the held-out loss within 0.02 nats of the count estimator.  All torch
work of :func:`train_disentangled` is float64 and runs on one thread.

:func:`train_disentangled_fast` is the fast path beside it (forests, two layers): float32
training on every core with sequences drawn in torch, the paper's schedule as the named
preset ``SCHEDULES["paper"]``, every setting in one :class:`FastTrainingConfig` checked where it enters
(both in :mod:`numerics.training_config`), and every check still float64.
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
from numerics.runtime import intra_op_threads, Progress, require_finite, single_thread
from numerics.training_config import SCHEDULES, FastTrainingConfig, TrainingSchedule
from theory import validate
from theory.estimators import count_estimator
from theory.graphs import CausalGraph
from theory.priors import DirichletPrior, alphabet_size
from theory.sampling import Batch, sample_k_parent_sequences

# the schedule and the config live in numerics.training_config; they are re-exported for the callers of the trainer
__all__ = ["DisentangledRun", "FastDisentangledRun", "FastTrainingConfig", "SCHEDULES", "TrainingSchedule",
           "float64_copy", "train_disentangled", "train_disentangled_fast"]


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

    ``prior``: for a forest, anything :func:`theory.sampling.sample_sequences` takes;
    for a k-parent graph, a ``DirichletPrior`` whose ``S`` and ``α`` drive
    :func:`theory.sampling.sample_k_parent_sequences` (a fresh table per sequence; roots
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
    seed = validate.seed(seed)
    validate.memory(8 * max(batch, test_size) * (graph.n + 1) * (graph.n + 1) * 8, "batch",
                    f"activations of batches of {batch:,} (test {test_size:,}) sequences")
    stop_at_recovery = validate.boolean(stop_at_recovery, "stop_at_recovery")
    progress = validate.boolean(progress, "progress")
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



# --------------------------------------------------------------------------- the fast path (float32, all cores)
@dataclass
class FastDisentangledRun(DisentangledRun):
    """A :class:`DisentangledRun` of :func:`train_disentangled_fast`.  ``model`` is the float64
    copy every check reads; ``gap``: the final :class:`numerics.evaluation.EstimatorGap` on the
    held-out sample; ``seconds``: training wall time (sampling included, evaluations excluded);
    ``eval_seconds``: the float64 evaluations."""

    gap: Any = None
    eval_seconds: float = 0.0
    threads: int = 1
    device: str = "cpu"
    precision: str = "float32"
    compiled: bool = False



def float64_copy(model: DisentangledTransformer) -> DisentangledTransformer:
    """A float64 CPU copy of ``model`` (the model every check evaluates)."""
    if not isinstance(model, DisentangledTransformer):
        raise ValueError(f"model: expected a DisentangledTransformer, got {validate.short_repr(model)}")
    return _copy_parameters(DisentangledTransformer(model.S, model.T, model.heads), model)


def _copy_parameters(copy: DisentangledTransformer, model: DisentangledTransformer) -> DisentangledTransformer:
    with torch.no_grad():
        for target, source in zip(copy.parameters(), model.parameters()):
            target.copy_(source.detach().to("cpu", torch.float64))
    return copy


def train_disentangled_fast(graph: CausalGraph, prior: Any, config: FastTrainingConfig | None = None,
                            **settings: Any) -> FastDisentangledRun:
    """Train the two-layer disentangled transformer fast: the paper's schedule in minutes of CPU.

    ``config``: a :class:`numerics.training_config.FastTrainingConfig`, or instead its fields as keyword
    ``settings`` (:meth:`FastTrainingConfig.of`: ``schedule`` a :class:`TrainingSchedule` or a name in
    :data:`SCHEDULES`, with ``steps``, ``batch``, ``lr`` overriding its fields); both at once are refused.
    The settings are checked once, there; nothing below checks them again.  The same model, zero
    start and data law as :func:`train_disentangled` (forests), with the work arranged for speed:

    - the training step runs in ``precision`` (``"float32"`` or ``"float64"``) on ``device``
      (``"cpu"``, or ``"cuda"`` when present: refused with ``ValueError`` otherwise) with
      ``threads`` intra-op threads (default ``os.cpu_count()``, restored afterwards), through
      :meth:`model.disentangled.DisentangledTransformer.query_logits` (gathers and scatters, no
      batches of tiny matrix products) and, with ``compile``, ``torch.compile``;
    - sequences and ``π`` are drawn in torch (:class:`numerics.sampling_torch.BatchStream`), many batches
      per vectorised draw, one draw ahead on a background thread (``prefetch``; by default when this
      process may run more than one thread, ``torch.get_num_threads() > 1``: a worker of ``-j N`` given
      one core has no spare core for it, and the thread would only take turns with the step);
    - the training loss is read from the step's own forward pass (no second pass).

    Every check is float64: at each step of ``eval_steps`` (``"log"``: powers of two and the last
    step; or a sequence of step counts) the parameters are copied to a float64 model
    (:func:`float64_copy`) and scored on a held-out sample of ``test_size`` sequences drawn
    by :func:`theory.sampling.sample_sequences` (numpy, independent of the torch sampler): the
    test loss, the gap to the count estimator with its standard error, split by whether the
    query occurred as a parent (:func:`numerics.evaluation.held_out_loss_and_gap`), and the
    smallest layer-1 weight on a parent.
    """
    from numerics.evaluation import held_out_loss_and_gap, held_out_sample_of
    from numerics.sampling_torch import BatchStream

    if config is None:
        config = FastTrainingConfig.of(**settings)
    elif settings:
        raise ValueError(f"config: give a FastTrainingConfig or keyword settings, not both "
                         f"(got config and {', '.join(sorted(settings))})")
    elif not isinstance(config, FastTrainingConfig):
        raise ValueError(f"config: expected a FastTrainingConfig, got {validate.short_repr(config)}")
    if not isinstance(graph, CausalGraph):
        raise ValueError(f"graph: expected a CausalGraph, got {type(graph).__name__}")
    graph.require_forest("train_disentangled_fast")
    schedule, heads, roots, test_size = config.schedule, config.heads, config.roots, config.test_size
    T, S = graph.n + 1, alphabet_size(prior)
    # a training batch with autograd (up to 4 float64-sized copies of each activation) and the float64
    # evaluation of the whole test sample without autograd (one copy), per sequence E activations
    per_sequence = 2 * T * T * sum(heads) + 8 * T * (S + T) + 3 * S * S
    validate.memory(8.0 * schedule.steps + 32.0 * schedule.batch * per_sequence + 8.0 * test_size * per_sequence,
                    validate.largest(
        steps=schedule.steps, batch=schedule.batch, test_size=test_size),
        f"{schedule.steps:,} losses, batches of {schedule.batch:,} and {test_size:,} test sequences of length {T:,}")
    marks = config.eval_marks()
    dtype = {"float32": torch.float32, "float64": torch.float64}[config.precision]
    dev = torch.device(config.device)
    prefetch = torch.get_num_threads() > 1 if config.prefetch is None else config.prefetch

    rng = np.random.default_rng(config.seed)
    est_alpha = estimator_alpha(prior, None) if config.alpha is None else config.alpha
    test = held_out_sample_of(graph, sample_sequences_redrawn(graph, prior, test_size, rng, roots), est_alpha)
    torch.manual_seed(config.seed)
    model = DisentangledTransformer(S, T, heads, dtype=dtype).to(dev)
    if config.init_noise > 0:
        with torch.no_grad():
            model.A[0].normal_(0.0, config.init_noise)
    generator = torch.Generator(device=dev).manual_seed(config.seed)
    params = list(model.parameters())
    opt = (torch.optim.SGD(params, lr=schedule.lr) if schedule.optimizer == "sgd"
           else torch.optim.Adam(params, lr=schedule.lr))

    def loss_of(tokens: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return -(target * torch.log_softmax(model.query_logits(tokens), dim=-1)).sum(dim=1).mean()

    step_loss = torch.compile(loss_of, dynamic=False) if config.compile else loss_of
    run = FastDisentangledRun(graph, model, dict(heads=heads, schedule=schedule, roots=roots,
                                                 init_noise=config.init_noise, seed=config.seed, S=S, n=graph.n,
                                                 test_size=test_size),
                              estimator_loss=test.estimator_loss, threads=config.threads, device=str(dev),
                              precision=config.precision, compiled=config.compile)
    losses = torch.zeros(schedule.steps, dtype=dtype, device=dev)
    check = float64_copy(model)  # refreshed at each evaluation: the model every check reads

    def evaluate(step: int, train_seconds: float) -> None:
        start = time.perf_counter()
        _copy_parameters(check, model)
        with torch.no_grad():
            yhat = check(test.tokens).numpy()
            att = check.first_layer(test.tokens[:512])[0].mean(dim=0).numpy()
        test_loss, gap = held_out_loss_and_gap(test, yhat)
        worst, distinct = head_parent_assignment(att, graph)
        entry = dict(step=step, sequences=step * schedule.batch, seconds=train_seconds, test_loss=test_loss,
                     min_parent_weight=worst, distinct_heads=distinct)
        for subset in ("all", "seen", "unseen"):
            e = gap.mean(subset)
            key = "gap" if subset == "all" else f"gap_{subset}"
            entry[key], entry[key + "_stderr"] = float(e.value), float(e.stderr)
        require_finite(entry["test_loss"], step, schedule.optimizer, "the float64 test loss")
        run.history.append(entry)
        run.model, run.attention, run.gap = check, att, gap
        run.eval_seconds += time.perf_counter() - start

    train_seconds = 0.0
    with intra_op_threads(config.threads), Progress(config.progress, f"disentangled transformer ({schedule.optimizer})",
                                                    schedule.steps, schedule.batch) as bar:
        stream = BatchStream(graph, prior, schedule.batch, schedule.steps, generator, dev, roots, dtype, prefetch)
        try:
            evaluate(0, 0.0)
            start = time.perf_counter()
            for step in range(schedule.steps):
                tokens, target = stream.next()
                for group in opt.param_groups:
                    group["lr"] = schedule.learning_rate(step)
                loss = step_loss(tokens, target)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                losses[step] = loss.detach()
                bar.advance(loss=losses[step])
                if step + 1 in marks:
                    if dev.type == "cuda":
                        torch.cuda.synchronize()
                    train_seconds += time.perf_counter() - start
                    require_finite(float(losses[step]), step + 1, schedule.optimizer)
                    evaluate(step + 1, train_seconds)
                    start = time.perf_counter()
        finally:
            stream.close()
    run.sequences = schedule.steps * schedule.batch
    run.seconds = train_seconds
    run.train_loss = losses.cpu().double().tolist()
    return run
