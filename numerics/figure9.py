"""One training run of Figure 9 (Nichani, Damian & Lee 2024): a random graph, plain SGD, the parent weights.

Figure 9 trains the two-layer disentangled transformer (heads ``(1, 1)``, zero start) on
each of twenty graphs of :func:`theory.random_graphs.bernoulli_root_forest` (``n = 19``,
root probability 1/2) at ``S = 3``, ``α = 0.1``, stationary roots, by plain SGD with a
constant learning rate 1 for ``2^14`` steps of ``2^10`` sequences (the official notebook
``many_graphs.ipynb``), and reads layer 1's position block through
:func:`numerics.position_attention.parent_weight_by_position`.  This module runs one graph;
the caller derives the graphs from its own seed and summarises them with
:func:`numerics.position_attention.summarise_parent_weights`.
"""

from __future__ import annotations

from typing import Any

from numerics.position_attention import parent_weight_by_position, position_softmax
from numerics.train_disentangled import TrainingSchedule, train_disentangled_fast
from theory import validate
from theory.graphs import as_causal_graph
from theory.priors import DirichletPrior

__all__ = ["FIGURE9_STEPS", "FIGURE9_BATCH", "train_random_graph"]

FIGURE9_STEPS = 2 ** 14
FIGURE9_BATCH = 2 ** 10


def train_random_graph(graph: Any, *, steps: int, batch: int, lr: float = 1.0,
                       S: int = 3, alpha: float = 0.1, seed: int, test_size: int = 8192,
                       threads: int | None = None, device: str = "cpu") -> dict[str, Any]:
    """Train on ``graph`` as Figure 9 does and return what the figure reads; a dict of

    - ``positions (k,)``, ``parent_weights (k,)``: :func:`parent_weight_by_position` of the
      float64 model's ``position_block(0, 0)`` after the last step; ``argmax_is_parent (k,)``: whether
      the parent is the largest entry of that row; ``position_softmax (n+1, n+1)``: the whole softmax;
    - ``test_loss``: the model's mean cross-entropy on ``test_size`` held-out sequences;
      ``estimator_loss``: the count estimator's (pseudo-count ``α``) on the same sequences;
      ``gap``, ``gap_stderr``: their paired difference ``test_loss - estimator_loss`` with its
      standard error;
    - ``seconds`` (training wall time, sampling included, evaluations excluded),
      ``eval_seconds``, ``sequences`` (``steps·batch``), ``threads``, and the settings
      ``steps``, ``batch``, ``lr``, ``S``, ``alpha``, ``n``, ``seed``, ``test_size``.

    Training is :func:`numerics.train_disentangled.train_disentangled_fast` with
    ``TrainingSchedule("sgd", lr, "constant", steps, batch)``, heads ``(1, 1)``, stationary
    roots, float32 steps on ``device`` (``"cpu"``: ``threads`` threads, default every core; or ``"cuda"``),
    judged on a float64 copy on the CPU; the model is
    evaluated at step 0 and after the last step only.  Figure 9's budget is
    ``steps = FIGURE9_STEPS = 2^14``, ``batch = FIGURE9_BATCH = 2^10`` (no default: a run at that
    budget takes tens of minutes on a laptop's CPU).
    """
    seed = validate.seed(seed)
    prior = DirichletPrior(S, alpha)
    graph = as_causal_graph(graph)
    batch = validate.positive_int(batch, "batch")
    test_size = validate.positive_int(test_size, "test_size", minimum=2)
    T = graph.n + 1  # a forward pass of the two-layer model (width 2(S + T)) and its draws, before any draw
    validate.memory(8.0 * 4 * max(batch, test_size) * (2 * T * T + 8 * T * (S + T) + 3 * S * S),
                    validate.largest(batch=batch, test_size=test_size),
                    f"batches of {batch:,} and a test sample of {test_size:,} sequences of length {T:,}")
    schedule = TrainingSchedule("sgd", lr, "constant", steps, batch)
    run = train_disentangled_fast(graph, prior, schedule=schedule, heads=(1, 1), test_size=test_size, seed=seed,
                                  eval_steps=(), threads=threads, alpha=prior.alpha, device=device)
    block = run.model.position_block(0, 0)
    positions, weights = parent_weight_by_position(block, graph)
    softmax = position_softmax(block)
    argmax_is_parent = softmax[positions].argmax(axis=1) == graph.parent_array()[positions]
    gap = run.gap.mean("all")
    settings = run.settings["schedule"]
    return dict(positions=positions, parent_weights=weights, argmax_is_parent=argmax_is_parent,
                position_softmax=softmax, test_loss=run.final_test_loss,
                estimator_loss=float(run.estimator_loss), gap=float(gap.value), gap_stderr=float(gap.stderr),
                seconds=run.seconds, eval_seconds=run.eval_seconds, sequences=run.sequences, threads=run.threads,
                steps=settings.steps, batch=settings.batch, lr=settings.lr, S=prior.S, alpha=prior.alpha,
                n=graph.n, seed=seed, test_size=test_size)
