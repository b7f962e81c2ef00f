"""Benchmarks: ``python -m numerics.bench [--out FILE] [--budget SECONDS] [--skip PART]``.

Writes one JSON object with every figure side by side:
  - ``initial_gradient``: S = 10, chain n = 19, Dirichlet α = 0.1, stationary roots.
    The closed-form prior-averaged gradient over 1,000 draws of π (inner
    expectation exact) against the Monte Carlo autograd estimate of the torch
    model run until its standard error (RMS over the context rows) reaches the
    closed form's; if that needs more than ``--budget`` seconds the time is
    projected from ``stderr ∝ 1/√batches`` and marked ``"projected": true``.
  - ``autoregressive`` and ``training``: the figures of those modules.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

from numerics.population import monte_carlo_gradient_A1
from theory.causal import CausalGraph, DirichletPrior
from theory.estimates import pooled
from theory.gradients import attention_gradient_at_init


def _context_rows(shape: tuple) -> np.ndarray:
    """Lower-triangular entries of the context rows ``i < n``.

    The query row ``i = n`` involves ``N[n, n] = Σ_a π(a, a)/μ_π(a)``, whose prior
    mean is infinite for Dirichlet rows with α <= 1 (``E[1/μ_π(a)] = ∞``), so
    no standard error exists there; the context rows are bounded by ``S``.
    """
    mask = np.tril(np.ones(shape, dtype=bool))
    mask[-1] = False
    return mask


def _rms(stderr: np.ndarray) -> float:
    return float(np.sqrt(np.mean(stderr[_context_rows(stderr.shape)] ** 2)))


def initial_gradient_benchmark(budget: float = 120.0, seed: int = 0) -> dict:
    graph, prior = CausalGraph.chain(19), DirichletPrior(10, 0.1)
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    closed = attention_gradient_at_init(graph, prior, draws=1000, rng=rng)
    closed_seconds = time.perf_counter() - start
    target = _rms(closed.stderr)

    chunks, start = [], time.perf_counter()
    batch = 1024
    while True:
        chunks.append(monte_carlo_gradient_A1(graph, prior, 1e-6, batch=batch, batches=2, rng=rng))
        est = pooled(chunks)
        elapsed = time.perf_counter() - start
        # at least 16 batches, so that the standard error itself is estimated with some accuracy
        if (est.draws >= 16 and _rms(est.stderr) <= target) or elapsed > budget:
            break
    reached = _rms(est.stderr)
    projected = reached > target
    mc_seconds = elapsed * (reached / target) ** 2 if projected else elapsed
    gap = np.abs(est.value - closed.value)
    lower = _context_rows(gap.shape) & (closed.stderr > 0)
    z = gap[lower] / np.sqrt(closed.stderr[lower] ** 2 + est.stderr[lower] ** 2)
    return {
        "setting": "S=10, chain n=19, Dirichlet alpha=0.1, stationary roots, linearised loss",
        "accuracy": "RMS standard error over the context rows i < n (the query row has no finite prior mean)",
        "closed_form": {"draws": closed.draws, "seconds": closed_seconds, "rms_stderr": target},
        "monte_carlo_autograd": {"sequences": est.draws * batch, "seconds": mc_seconds,
                                 "measured_seconds": elapsed, "rms_stderr": reached, "projected": bool(projected)},
        "speedup_at_equal_stderr": mc_seconds / closed_seconds,
        "agreement_max_z": float(z.max()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m numerics.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", help="write the JSON here as well as to standard output")
    parser.add_argument("--budget", type=float, default=120.0, help="seconds for the Monte Carlo run (default 120)")
    parser.add_argument("--skip", action="append", default=[], choices=["autoregressive", "training"],
                        help="leave a part out (repeatable)")
    args = parser.parse_args(argv)
    if args.budget <= 0:
        print("error: --budget must be positive", file=sys.stderr)
        return 2
    report: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                    "initial_gradient": initial_gradient_benchmark(args.budget)}
    if "autoregressive" not in args.skip:
        from numerics.autoregressive import benchmark as autoregressive_benchmark

        report["autoregressive"] = autoregressive_benchmark()
    if "training" not in args.skip:
        from numerics.training import benchmark as training_benchmark

        report["training"] = training_benchmark()
    text = json.dumps(report, indent=2, default=float)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
