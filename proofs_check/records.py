"""When two runs of a claim give the same record, on one machine or on two.

A record is what a run of a claim at a profile and seed returns: its verdict, the measured value and
the value of every declared test (condition or premise).  Two runs with the same seed draw the same
random numbers (NumPy's ``Generator`` and torch's CPU generator streams do not depend on the CPU), so
what may differ between machines, BLAS kernel families (OpenBLAS picks AVX-512, Haswell or generic
kernels by CPU), torch kernels (``ATEN_CPU_CAPABILITY``) and thread counts is the *order of floating-point
operations*: the last bits of every sum.  How far that moves a number depends on how the number is
computed, so each claim declares one :class:`RecordTolerance` in :data:`RECORD_TOLERANCES`, with the
reason.  What is exact by construction is compared exactly, whatever the claim: the verdict, integers
(counts of failures, of mismatches), booleans, strings and symbolic zeros.

Two values ``a`` (recorded) and ``b`` (new) agree when ``|a - b| <= atol + rtol·|a|``.  The tolerances
below are set from each computation's error model and stay far below anything that could change a
verdict: every declared test compares its value with a bound at least ``1e3`` times farther away.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

__all__ = ["RecordTolerance", "RECORD_TOLERANCES", "record_differences", "record_of", "ROUND_OFF",
           "MONTE_CARLO", "SEARCH", "differences", "TRAINING_FLOAT64", "TRAINING_FLOAT32", "CONVERGED_TRAINING",
           "run_differences"]


@dataclass(frozen=True)
class RecordTolerance:
    """``|a - b| <= atol + rtol·|a|`` for every floating-point value of a record, and why."""

    rtol: float
    atol: float
    reason: str

    def agree(self, a: float, b: float) -> bool:
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        if math.isinf(a) or math.isinf(b):
            return a == b  # an infinity is exact: it is a marked value, not a rounded one
        return abs(a - b) <= self.atol + self.rtol * abs(a)


ROUND_OFF = RecordTolerance(
    1e-9, 1e-11,
    "float64 closed forms, exact enumerations and dense linear algebra: another summation order changes "
    "an O(1) value by a few ulps times the computation's condition number (below 1e6 here), so relative "
    "1e-9; a measured *error* against an oracle is itself round-off (|x| <= 1e-12), so it moves by as much "
    "in absolute terms: absolute 1e-11 (about 5e4 ulps of an O(1) quantity), 1e3 times below the tightest "
    "tolerance a closed-form claim declares (1e-8); measured: at most 2e-11 relative and 3e-14 absolute "
    "under four kernel families and thread counts")
MONTE_CARLO = RecordTolerance(
    1e-9, 1e-11,
    "Monte Carlo with the same seed: the draws are the same numbers on every machine, so an estimate moves "
    "only by the round-off of its sums (relative 1e-12 of the estimate for 1e6 draws); a z-score, in units "
    "of its standard error, by that over the relative standard error.  1e-9 relative is a billionth of a "
    "standard error on a z-score of order 1, far below every z bound (>= 1.96); closed-form errors beside "
    "them are round-off, as for ROUND_OFF")
SEARCH = RecordTolerance(
    1e-9, 1e-11,
    "a seeded hypothesis search over float64 closed forms: the cases drawn are the same (the search depends "
    "on its seed alone), the values measured on them are closed forms (round-off as for ROUND_OFF); a "
    "different case would move the value by O(1e-3) or more, far outside this tolerance")
TRAINING_FLOAT64 = RecordTolerance(
    1e-6, 1e-9,
    "float64 training from the same draws and the same initialisation: a last-bit difference in one step "
    "(1e-16 relative) is carried along the trajectory and amplified at most by the product of the steps' "
    "Jacobian norms; over the few hundred to few thousand steps of these runs that stays below 1e-8 "
    "relative; measured under four BLAS/torch kernel families and thread counts: at most 1e-13 relative "
    "on O(1) figures and 3e-15 absolute on differences near 0.  Another seed moves every seed-dependent "
    "figure of these claims by 2e-3 relative or more (measured, quick profile: the spread behind their "
    "standard error), so 1e-6 relative is below a thousandth of a standard error")
CONVERGED_TRAINING = RecordTolerance(
    1e-9, 1e-11,
    "training run to a strict minimum: the end point is the minimum's, and a perturbation of the path "
    "contracts instead of growing (another seed moves the trained loss by 2e-8 relative only); round-off "
    "as for ROUND_OFF; measured under four kernel families and thread counts: 7e-15 relative")
TRAINING_FLOAT32 = RecordTolerance(
    1e-4, 1e-6,
    "float32 training on every core (the fast path), judged in float64: one step's round-off is 6e-8 "
    "relative and is carried along the trajectory (measured under four kernel families and thread counts: "
    "9e-8 relative); another seed moves the figures by 1e-1 relative or more, so 1e-4 relative is at most "
    "a thousandth of a standard error")

RECORD_TOLERANCES: dict[str, RecordTolerance] = {
    # the autoregressive paper
    "ar.identity": ROUND_OFF,
    "ar.gd_step_loss": MONTE_CARLO,  # z-scores of Monte Carlo losses; closed-form and autograd errors
    "ar.raw_token_loss": MONTE_CARLO,
    "ar.global_minima": TRAINING_FLOAT64,  # trained positional and head weights against the minimum
    "ar.real_orthogonal": MONTE_CARLO,
    "ar.positional_weights": TRAINING_FLOAT64,
    "ar.trained_equals_constructed_phase_invariant": TRAINING_FLOAT64,
    "ar.trained_equals_constructed": TRAINING_FLOAT64,
    "ar.trained_equals_constructed_real_blocks": CONVERGED_TRAINING,
    "ar.positional_gd_path": TRAINING_FLOAT64,  # torch gradient descent on sampled sequences, z-scores
    "ar.real_orthogonal_minimum": TRAINING_FLOAT64,  # BFGS from random starts, Monte Carlo z-scores
    "ar.haar_gd_step_references": MONTE_CARLO,  # exact Weyl-rule moments against seeded Monte Carlo z-scores
    "ar.haar_preconditioned_step": TRAINING_FLOAT64,  # L-BFGS (float64) on seeded Monte Carlo moments
    "ar.haar_bare_layer_fixed_start": TRAINING_FLOAT32,  # float32 Adam on one thread, float64 test losses
    "ar.haar_bare_layer_sphere_start": TRAINING_FLOAT32,  # float32 Adam on one thread, float64 test losses
    "ar.haar_official_figure5": TRAINING_FLOAT32,  # float32 Adam on one thread, float64 test losses
    "ar.haar_raw_tokens": TRAINING_FLOAT32,  # Figure 7: Adam in float32 on one thread, judged in float64
    "ar.official_population_loss": MONTE_CARLO,  # seeded Monte Carlo z-scores against two closed forms
    # float64 pseudo-inverses of seeded windows: errors at round-off (~1e-32, moved absolutely by far less than
    # atol) and O(1e-4) repeated-token errors and relative errors, ROUND_OFF's class
    "ar.figure4_ar1_reconstruction": ROUND_OFF,
    # the causal paper: closed forms and oracles
    "causal.pairwise_joint": SEARCH,
    "causal.mutual_information_matrix": SEARCH,
    "causal.data_processing": SEARCH,
    "causal.data_processing_mixture_boundary": SEARCH,
    "causal.initial_gradient_autograd": SEARCH,
    "causal.initial_gradient_dirichlet": MONTE_CARLO,
    "causal.edge_ranking": SEARCH,
    "causal.edge_ranking_uniform_roots_boundary": SEARCH,
    "causal.edge_ranking_full_gradient": SEARCH,
    "causal.parent_chi2_identity": SEARCH,
    "causal.cross_entropy_vs_linearized": ROUND_OFF,  # a log-log fit of exactly enumerated gradients
    "causal.chi2_information_psd": SEARCH,
    "causal.shannon_information_not_psd": SEARCH,
    "causal.edge_ranking_keys": SEARCH,
    "causal.edge_ranking_diagonal_key_boundary": SEARCH,
    "causal.edge_ranking_query_row_boundary": SEARCH,
    "causal.symbolic_gradient": ROUND_OFF,  # counts of nonzero symbolic residuals: exact
    "causal.symbolic_chi2_parent": ROUND_OFF,
    # the causal paper: training
    "causal.train_argmax_parent": TRAINING_FLOAT64,  # a count of rows: exact
    "causal.train_initial_direction": TRAINING_FLOAT64,
    "causal.train_induction_head": TRAINING_FLOAT64,
    "causal.train_loss_vs_estimator": TRAINING_FLOAT64,
    "causal.induction_head_vs_estimator": MONTE_CARLO,
    "causal.train_disentangled_graph": TRAINING_FLOAT64,
    "causal.train_ood_query": TRAINING_FLOAT64,
    "causal.disentangled_approaches_count_estimator": TRAINING_FLOAT32,
    "causal.train_k_parents": TRAINING_FLOAT64,
    # the causal paper's experiments
    "causal.random_graphs_parent_attention": TRAINING_FLOAT32,  # a fraction of positions: a count over a count
    "causal.official_bayes_line": MONTE_CARLO,
    "causal.standard_transformer_chain": TRAINING_FLOAT32,
    "causal.disentangled_graphs": TRAINING_FLOAT32,
    "causal.two_parent_graph": TRAINING_FLOAT32,
    "causal.architecture_gap": TRAINING_FLOAT64,  # L-BFGS and Adam in float64 on one thread
}


def record_of(result: Any) -> dict[str, Any]:
    """The record of a :class:`proofs_check.runner.Result`: verdict, measured value, every test's value."""
    return {"verdict": result.verdict, "measured": result.measured, "tests": [t.value for t in result.tests]}


def differences(recorded: Any, new: Any, tol: RecordTolerance, path: str = "") -> list[str]:
    """Where ``new`` differs from ``recorded`` beyond ``tol``: floats within ``tol``, everything else
    (verdicts, integer counts, booleans, strings, None, the keys of a mapping, the length of a list)
    exactly, through nested mappings and lists.  Empty when they agree."""
    where = path or "record"
    if isinstance(recorded, Mapping) and isinstance(new, Mapping):
        if set(recorded) != set(new):
            return [f"{where}: keys {sorted(set(recorded) ^ set(new))} in one record only"]
        return [d for k in recorded for d in differences(recorded[k], new[k], tol, f"{path}.{k}" if path else k)]
    if isinstance(recorded, (list, tuple)) and isinstance(new, (list, tuple)):
        if len(recorded) != len(new):
            return [f"{where}: {len(recorded)} values -> {len(new)}"]
        return [d for k, (a, b) in enumerate(zip(recorded, new)) for d in differences(a, b, tol, f"{where}[{k}]")]
    numbers = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (recorded, new))
    if numbers and (isinstance(recorded, float) or isinstance(new, float)):
        same = tol.agree(float(recorded), float(new))  # a symbolic 0 beside a rounded 0.0 compares as numbers
    else:
        same = type(recorded) is type(new) and recorded == new  # exact by construction
    return [] if same else [f"{where}: {recorded!r} -> {new!r}"]


def record_differences(recorded: Mapping[str, Any], new: Mapping[str, Any] | None,
                       tol: RecordTolerance) -> list[str]:
    """What differs between two records of one claim (:func:`record_of`) beyond ``tol``."""
    if new is None:
        return ["no record"]
    return differences(dict(recorded), dict(new), tol)


def run_differences(recorded: list[Mapping[str, Any]], new: list[Mapping[str, Any]]) -> list[str]:
    """Where two runs' ``--json`` claim lists differ (same claims in the same order, each claim's record
    by its own tolerance; wall times excluded).  Empty when the runs agree."""
    ids = [c["id"] for c in recorded], [c["id"] for c in new]
    if ids[0] != ids[1]:
        return [f"claims: {ids[0]} -> {ids[1]}"]
    return [f"{c['id']}: {d}" for c, n in zip(recorded, new)
            for d in differences({k: v for k, v in c.items() if k != "seconds"},
                                 {k: v for k, v in n.items() if k != "seconds"}, RECORD_TOLERANCES[c["id"]])]
