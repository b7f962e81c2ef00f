"""The training runs of Figure 5's task (augmented tokens, W Haar on O(d)), one unit of work each.

A unit trains one model of :mod:`numerics.train_haar` (a restart of the theory's bare layer, a seed of the
official model, one official run on another task of the grid) from a seed drawn off its own stream of
:meth:`Profile.unit_rng`, so its result depends on the profile's seed and the unit alone, and returns the
numbers the claims of :mod:`proofs_check.claims.autoregressive_haar_augmented` reduce: losses, the paired
terms against one gradient step on the run's own test sequences, and the attention's structure.  The claims
themselves (contracts and reduces) live in that module.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from numerics import haar_references as hr
from numerics.train_haar import HaarTrainingConfig, HaarTrainingRun, official_attention_structure, train_on_haar_task
from proofs_check.registry import Profile
from theory import haar_moments as hm

__all__ = ["paired_gap_terms", "mean_over_runs", "paired_gaps", "bare_restart", "bare_summary", "official_run",
           "official_other_case"]


def paired_gap_terms(run: HaarTrainingRun, eta: Any) -> tuple[float, float]:
    """One run's mean over its test sequences of (trained MSE - MSE of η G_t s_t) on the same sequences, and
    that mean's standard error (the paired test noise)."""
    d = run.test_seqs.shape[2]
    diff = (run.test_errors - hr.mc_gd_step_errors(run.test_seqs, eta) / d).mean(1)
    return float(diff.mean()), float(diff.std(ddof=1) / np.sqrt(diff.size))


def mean_over_runs(values: list[float], stderrs: list[float]) -> tuple[float, float]:
    """The mean of ``values`` (one per run) and its standard error: the larger of the spread across runs,
    std/√runs (0 for one run), and the runs' own test noise, √(mean stderr² / runs) (a spread of 2 or 3 runs
    can be small by chance)."""
    x = np.array(values)
    spread = float(x.std(ddof=1) / np.sqrt(x.size)) if x.size > 1 else 0.0
    return float(x.mean()), max(spread, float(np.sqrt(np.mean(np.square(stderrs)) / x.size)))


def paired_gaps(terms: list[tuple[float, float]]) -> tuple[float, float]:
    """Mean over runs of their paired gaps (:func:`paired_gap_terms`), and its standard error
    (:func:`mean_over_runs`: the larger of the spread across runs and the paired test noise)."""
    return mean_over_runs([gap for gap, _ in terms], [n for _, n in terms])


def bare_restart(profile: Profile, name: str, d: int, law: str, r: int) -> dict[str, Any]:
    """Restart ``r`` of the bare layer of claim ``name`` at dimension ``d``, law ``law`` of s_0 (seed: draw ``r`` of
    the stream ``name/d:law``): test MSE ± standard error, by position, its paired terms against the best shared
    step η_shared G_t s_t, the block structure of its Q, K, V, training seconds."""
    p = profile.params
    seed = int(profile.unit_rng(f"{name}/{d}:{law}", r).integers(2 ** 31))
    run = train_on_haar_task(HaarTrainingConfig(
        model="bare", d=d, T=p["T"], law=law, train_size=p["train_size"], test_size=p["test_size"],
        epochs=p["epochs"], batch=p["batch"], lr=p["lr"], init_scale=p["init_scale"], seed=seed,
        device=profile.device))
    m = run.model
    return {"test_mse": run.test_mse, "test_mse_stderr": run.test_mse_stderr,
            "test_mse_by_position": run.test_mse_by_position,
            "paired": paired_gap_terms(run, hm.haar_best_shared_step(d, p["T"])[0]),
            "structure": hr.block_structure(m.Q.detach().numpy(), m.K.detach().numpy(), m.V.detach().numpy(), d),
            "seconds": run.seconds}


def bare_summary(restarts: list[dict[str, Any]]) -> dict[str, Any]:
    """The bare layer's restarts (:func:`bare_restart`, in restart order) summarised: mean loss and its standard
    error (the larger of the spread across restarts and the test-set noise: a spread of 2 or 3 runs can be small
    by chance), the losses, the mean loss by position, the structure of the best restart."""
    losses = [r["test_mse"] for r in restarts]
    best = min(restarts, key=lambda r: r["test_mse"])
    mean, stderr = mean_over_runs(losses, [r["test_mse_stderr"] for r in restarts])
    return {"trained_loss_bare": mean, "trained_loss_bare_stderr": stderr, "trained_losses_bare": losses,
            "test_stderr_per_run": [r["test_mse_stderr"] for r in restarts],
            "trained_bare_by_position": np.mean([r["test_mse_by_position"] for r in restarts], 0).tolist(),
            "structure_best_run": best["structure"], "train_seconds": round(sum(r["seconds"] for r in restarts), 1)}


def _official_training(profile: Profile, d: int, law: str, seed: int) -> HaarTrainingRun:
    p = profile.params
    return train_on_haar_task(HaarTrainingConfig(
        model="official", d=d, T=p["T"], law=law, train_size=p["train_size"], test_size=p["test_size"],
        epochs=p["epochs"], batch=p["batch"], lr=p["lr"], seed=seed, device=profile.device))


def _official_structure(run: HaarTrainingRun) -> dict[str, Any]:
    return official_attention_structure(run.model, torch.from_numpy(run.test_seqs))


def official_run(profile: Profile, d: int, law: str, s: int, stream: str) -> dict[str, Any]:
    """Seed ``s`` of the official model (seed: draw ``s`` of ``stream``): test MSE ± standard error, by position,
    its paired terms against the per-position best step η*_t G_t s_t, the training history and seconds, and
    for ``s = 0`` the attention's structure (:func:`numerics.train_haar.official_attention_structure`)."""
    run = _official_training(profile, d, law, int(profile.unit_rng(stream, s).integers(2 ** 31)))
    eta, _ = hm.haar_best_step_by_position(d, profile.params["T"])
    return {"test_mse": run.test_mse, "test_mse_stderr": run.test_mse_stderr,
            "test_mse_by_position": run.test_mse_by_position, "paired": paired_gap_terms(run, eta),
            "train_history": run.train_history, "seconds": run.seconds,
            "structure": _official_structure(run) if s == 0 else None}


def official_other_case(profile: Profile, name: str, d: int, law: str) -> dict[str, Any]:
    """One official run of claim ``name`` on another task of the issue's grid (s_0 on the sphere, a smaller d;
    seed: draw 0 of the stream ``name/train/d:law``): its loss, paired gap to the per-position best step, the
    exact references and the attention's structure."""
    T = profile.params["T"]
    run = _official_training(profile, d, law, int(profile.unit_rng(f"{name}/train/{d}:{law}", 0).integers(2 ** 31)))
    eta, L = hm.haar_best_step_by_position(d, T)
    _, L_shared = hm.haar_best_shared_step(d, T)
    gap, gap_se = paired_gaps([paired_gap_terms(run, eta)])
    structure = _official_structure(run)
    return {"d": d, "law": law, "trained_loss_official": run.test_mse,
            "trained_loss_official_stderr": run.test_mse_stderr, "gap_paired": gap, "gap_paired_stderr": gap_se,
            "L_gd_by_position_mean": float(L.mean() / d), "L_gd_shared": L_shared / d,
            "gd_share_KtQ": structure["gd_share_KtQ"], "gd_share_V": structure["gd_share_V"],
            "score_bias_share": structure["score_bias_share"], "readout_energy": structure["readout_energy"]}
