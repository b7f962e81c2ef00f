"""The causal paper's headline experiment against a training budget (spec 1, section 5, item 6).

The disentangled transformer's held-out loss approaches the count estimator's ("Bayes" in
Figure 2).  Trained on the fast path (:func:`numerics.train_disentangled.train_disentangled_fast`:
float32 steps, torch sampling) once per budget, each with a full cosine schedule; every number
reported is a float64 evaluation on a held-out numpy sample.
"""

from __future__ import annotations

import functools

import numpy as np

from numerics.train_disentangled import SCHEDULES, TrainingSchedule, train_disentangled_fast
from proofs_check.references import REFERENCES
from proofs_check.experiments import Rerun, causal_settings
from proofs_check.registry import Outcome, Param, Profile, Units, claim
from theory.graphs import CausalGraph
from theory.priors import DirichletPrior

__all__ = ["CURVE", "TARGET_GAP", "BUDGET_SEQUENCES_PER_SECOND", "EVALUATION_SECONDS_PER_SEQUENCE",
           "training_budgets", "train_at_budget", "check_approaches_count_estimator"]

CURVE = "causal.disentangled_approaches_count_estimator"
TARGET_GAP = 0.02  # nats: the recovery criterion's loss gap (numerics.evaluation.RECOVERY_LOSS_GAP)
#: the fast path's training throughput here on the 2-core machine (S = 10, T = 20, Adam, float32, one
#: intra-op thread, batches of 1,024): the full profile's five budgets at 29,400-32,200 sequences/s at load
#: 4.6 (up to 72,000 at load 3.5, so the rule errs long), and about 2.6 s per run for the float64
#: evaluation of 16,384 held-out sequences (measured 2026-12-06); the quick size (T = 10) trains about
#: twice as fast per sequence
BUDGET_SEQUENCES_PER_SECOND = 30_000.0
EVALUATION_SECONDS_PER_SEQUENCE = 2.6 / 2 ** 14


def training_budgets(profile: Profile) -> list[int]:
    """The learning curve's units: one training run per budget (its step count), in the declared order."""
    return [int(steps) for steps in profile.params["budgets"]]


def train_at_budget(profile: Profile, steps: int) -> dict:
    """Unit ``steps``: one run with a full cosine schedule over ``steps`` steps, scored on the held-out sample.

    Every budget trains from the same seed (so the same held-out sample), drawn from the profile's seed
    alone: the run does not depend on which other budgets run, or in what order."""
    p = profile.params
    graph, prior = CausalGraph.chain(p["n"]), DirichletPrior(p["S"], 0.1)
    seed = int(profile.rng(CURVE).integers(2 ** 31))
    run = train_disentangled_fast(graph, prior, schedule=TrainingSchedule(p["optimizer"], p["lr"], "cosine",
                                                                          steps, p["batch"]),
                                  test_size=p["test_size"], eval_steps=(), seed=seed, threads=1,
                                  device=profile.device)
    h = run.history[-1]
    row = dict(steps=steps, sequences=run.sequences, seconds=round(run.seconds, 2), gap=h["gap"],
               gap_stderr=h["gap_stderr"], gap_seen=h["gap_seen"], gap_seen_stderr=h["gap_seen_stderr"],
               gap_unseen=h["gap_unseen"], gap_unseen_stderr=h["gap_unseen_stderr"],
               min_parent_weight=h["min_parent_weight"], test_loss=h["test_loss"])
    return dict(row=row, estimator_loss=run.estimator_loss, attention=run.attention[0])  # attention (T, T)


def _budget_cost(p, steps: int) -> float:
    """Seconds of one budget's run: training at :data:`BUDGET_SEQUENCES_PER_SECOND` (proportional to T)
    and the evaluation (proportional to the held-out sample)."""
    return (steps * p["batch"] / BUDGET_SEQUENCES_PER_SECOND * (p["n"] + 1) / 20.0
            + p["test_size"] * EVALUATION_SECONDS_PER_SEQUENCE)


def _log_log_fit(x: np.ndarray, mean: np.ndarray, stderr: np.ndarray) -> tuple[float, float, float]:
    """``(slope, its standard error, intercept)`` of the weighted least-squares line ``log mean = a + b log x``
    (delta method ``sd(log m) ≈ stderr / m``, inverse-variance weights)."""
    lx, ly = np.log(x), np.log(mean)
    w = (mean / stderr) ** 2
    mx, my = np.sum(w * lx) / np.sum(w), np.sum(w * ly) / np.sum(w)
    sxx = np.sum(w * (lx - mx) ** 2)
    slope = float(np.sum(w * (lx - mx) * (ly - my)) / sxx)
    return slope, float(1.0 / np.sqrt(sxx)), float(my - slope * mx)


@claim(CURVE,
       paper="causal", kind="theorem",
       formulas=("numerics.train_disentangled.train_disentangled_fast",
                 "numerics.train_disentangled.train_disentangled",
                 "model.disentangled.DisentangledTransformer.query_logits",
                 "numerics.sampling_torch.sample_sequences_torch",
                 "numerics.evaluation.gap_to_count_estimator"),
       statement="The disentangled transformer trained from zero approaches the count estimator: its held-out "
                 "excess cross-entropy over the count estimator decreases as a power of the number of training "
                 "sequences seen.",
       hypotheses="Chain p(i) = i-1, stationary roots, Dirichlet(0.1) prior, heads (1, 1), every parameter zero "
                  "at start; one run per budget with a cosine decay to 0 over its own steps; float32 training, "
                  "float64 evaluation on held-out sequences drawn by numpy (the same sample for every budget); "
                  "quick S = 5, n = 9, batches of 128, Adam lr 0.03, 32-256 steps; full S = 10, n = 19, batches "
                  "of 1,024, Adam lr 0.03, 128-2,048 steps.  The paper's own optimiser (plain SGD, lr 1) is the "
                  "parameter choice optimizer=sgd, lr=1: at budgets of minutes it is still on its initial "
                  "plateau, so its fitted rate says nothing about 1.34e8 sequences.",
       method="Per budget: paired per-sequence excess ℓ_model - ℓ_count on the held-out sample, its mean and "
              "standard error (also split by whether the query occurs as a parent); weighted least-squares "
              "slope of log(mean gap) on log(sequences) with its standard error; measured: the slope (< 0; "
              "inconclusive while its 95% interval contains 0); condition: the gap at the largest budget is "
              "below the gap at the smallest.  Reported: the budget where the fitted line crosses 0.02 nats, beside the paper's "
              "2^17 x 1,024 = 1.34e8 sequences.",
       measured="log-log slope of the gap to the count estimator against sequences seen", direction="<=",
       tolerance=0.0, conditions={"gap_largest_minus_smallest": ("<", 0.0)},
       parameters={"S": Param(5, 10, "alphabet size"), "n": Param(9, 19, "context length (T = n + 1)"),
                   "budgets": Param((32, 64, 128, 256), (128, 256, 512, 1024, 2048),
                                    "training steps of each run (one run per budget)"),
                   "batch": Param(128, 1024, "sequences per step"),
                   "optimizer": Param("adam", "adam", "'adam' or the paper's 'sgd'"),
                   "lr": Param(0.03, 0.03, "peak learning rate (cosine decay to 0)"),
                   "test_size": Param(4096, 16384, "held-out sequences (float64 evaluation)")},
       reference=REFERENCES["causal.disentangled_approaches_count_estimator"],
       reruns=(Rerun("causal:2", lambda p: causal_settings(
           graph="chain", S=p["S"], T=p["n"] + 1, alpha=0.1, optimizer=p["optimizer"], lr=p["lr"],
           schedule="cosine", steps=max(p["budgets"]), batch=p["batch"]),
           note="a learning curve: one run per budget, the longest compared"),),
       proof_idea="Once layer 1 attends to the parent and layer 2 to the positions whose parent token equals the "
                  "query, the readout sees the in-context bigram counts and can approach the count estimator's "
                  "smoothing; the remaining excess shrinks as the attention sharpens with training.",
       units=Units(training_budgets, train_at_budget, cost=_budget_cost))
def check_approaches_count_estimator(profile: Profile, measurements: list) -> Outcome:
    p = profile.params
    S, n, batch = p["S"], p["n"], p["batch"]
    graph = CausalGraph.chain(n)
    rows, last_run = [m["row"] for m in measurements], measurements[-1]
    x = np.array([r["sequences"] for r in rows], dtype=np.float64)
    gap = np.array([r["gap"] for r in rows])
    se = np.array([r["gap_stderr"] for r in rows])
    details = dict(S=S, n=n, batch=batch, optimizer=p["optimizer"], lr=p["lr"], per_budget=rows,
                   count_estimator_loss=last_run["estimator_loss"],
                   paper_sequences=SCHEDULES["paper"].sequences)
    conditions = dict(gap_largest_minus_smallest=float(gap[-1] - gap[0]))
    if np.any(gap <= 0):
        details["note"] = "a non-positive mean gap: the log-log fit is undefined"
        return Outcome(measured=float("nan"), conditions=conditions, details=details)
    slope, slope_se, intercept = _log_log_fit(x, gap, se)
    crossing = float(np.exp((np.log(TARGET_GAP) - intercept) / slope)) if slope < 0 else float("inf")
    # the curve bends (fast early drop, slower tail): the last three budgets alone, for the extrapolation
    tail_slope, tail_se, tail_intercept = _log_log_fit(x[-3:], gap[-3:], se[-3:])
    tail_crossing = (float(np.exp((np.log(TARGET_GAP) - tail_intercept) / tail_slope)) if tail_slope < 0
                     else float("inf"))
    details.update(slope=slope, slope_stderr=slope_se, intercept=intercept,
                   sequences_to_gap_0_02=crossing, tail_slope=tail_slope, tail_slope_stderr=tail_se,
                   tail_sequences_to_gap_0_02=tail_crossing,
                   gap_at_paper_budget_fitted=float(np.exp(intercept + slope * np.log(details["paper_sequences"]))))
    from proofs_check import figures

    figure = functools.partial(figures.disentangled_budget_curve, last_run["attention"], graph, rows,
                               last_run["estimator_loss"], slope, intercept, details["paper_sequences"])
    return Outcome(measured=slope, stderr=slope_se, samples=len(rows), conditions=conditions, details=details,
                   figure=figure)
