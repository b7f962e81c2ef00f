"""Figure 7 of the autoregressive paper: raw tokens, W Haar on O(d), the official 64-head model, against the
commuting theory's minimum for real orthogonal contexts and against in-context least squares."""

from __future__ import annotations

import functools

import numpy as np

from numerics import train_raw_haar as raw
from proofs_check import figures
from proofs_check.experiments import FIGURES, Rerun
from proofs_check.references import REFERENCES
from proofs_check.registry import Outcome, Param, Params, Profile, Units, claim
from theory import autoregressive as ar

__all__ = ["PAPER", "ID", "figure7_settings", "figure7_data", "seed_units", "train_seed", "seed_seconds",
           "check_haar_raw_tokens"]

PAPER = "autoregressive"
ID = "ar.haar_raw_tokens"


def _config(p) -> raw.RawHaarConfig:
    return raw.RawHaarConfig(d=p["d"], heads=p["heads"], T=p["T"], train=p["train"], test=p["test"],
                             epochs=p["epochs"], batch=p["batch"], lr=p["lr"])


def figure7_settings(p) -> dict[str, dict]:
    """The four parts of the run the claim makes at parameters ``p``, in the vocabulary of
    ``FIGURES["autoregressive:7"]`` (from the same :class:`RawHaarConfig` the check trains with)."""
    c = _config(p)
    official = FIGURES["autoregressive:7"]
    task = {**official.task, "d": c.d, "length": c.T + 1, "train sequences": c.train, "test sequences": c.test,
            "loss": "MSE at all 50 positions" if c.T == 50 else f"MSE at all {c.T} positions"}
    model = {**official.model, "heads": c.heads}
    return {"task": task, "model": model, "optimiser": dict(official.optimiser, lr=c.lr),
            "budget": {"steps": c.steps, "batch": c.batch}}


def figure7_data(profile: Profile) -> tuple[np.ndarray, np.ndarray]:
    """The training and test sequences ``(N, T+1, d)`` of the claim, drawn once from their own generators
    (every unit and the reduce draw the same ones)."""
    config = _config(profile.params)
    return (raw.haar_raw_dataset(config.d, config.T, config.train, profile.unit_rng(f"{ID}/data", 0)),
            raw.haar_raw_dataset(config.d, config.T, config.test, profile.unit_rng(f"{ID}/data", 1)))


def seed_units(profile: Profile) -> list[int]:
    """The claim's units: one per training run (its index ``k``)."""
    return list(range(profile.params["seeds"]))


def train_seed(profile: Profile, k: int) -> dict:
    """Unit ``k``: training run ``k`` (seed: draw ``k`` of the stream ``ID/train``) on the claim's sequences: its
    test MSE, by position, the gap of the vectorised to the literal forward, and its structure trained and at
    initialisation (positional mass at the last query, head cosines of the value and query-key maps)."""
    train, test = figure7_data(profile)
    seed = int(profile.unit_rng(f"{ID}/train", k).integers(2 ** 31))
    r = raw.train_official_raw_tokens(_config(profile.params), train, test, seed=seed, device=profile.device)
    return {"test_mse": r["test_mse"], "test_mse_by_position": r["test_mse_by_position"],
            "vectorised_vs_literal": r["vectorised_vs_literal"], "seconds": r["seconds"], "steps": r["steps"],
            "mass": raw.positional_mass(r["trained"]["P"]), "mass0": raw.positional_mass(r["init"]["P"]),
            "cos": raw.head_cosines(r["trained"]["value_maps"]), "cos0": raw.head_cosines(r["init"]["value_maps"]),
            "qk": raw.head_cosines(r["trained"]["qk_maps"]), "qk0": raw.head_cosines(r["init"]["qk_maps"])}


def seed_seconds(p: Params, k: int) -> float:
    """Seconds of one training run (one thread, this 2-core machine): 1.7e-9 s × steps · batch · heads · T²,
    fitted to the full profile's measured units (11 s); it gives about 15 min at the paper's sizes (the
    README's paper run: about 10.5 min a seed) and overestimates the quick profile's (0.06 s), where the
    per-step overhead dominates."""
    c = _config(p)
    return 1.7e-9 * c.steps * c.batch * c.heads * c.T ** 2


@claim(ID,
       paper=PAPER, kind="boundary",
       formulas=("numerics.train_raw_haar.commuting_minimum_per_coordinate",
                 "numerics.train_raw_haar.commuting_construction_prediction",
                 "numerics.train_raw_haar.best_cubic_predictor", "numerics.train_raw_haar.ridge_ar1_predictions",
                 "numerics.train_raw_haar.train_official_raw_tokens",
                 "model.official_raw_tokens.OfficialRawTokens"),
       statement="The commuting theory generalises to non-commuting contexts (the paper: 'on the experimental side, "
                 "we consider the general case of non-commuting orthogonal matrices and generalize our "
                 "theoretical findings'): with W Haar on O(d), the raw-token model of Figure 7 trained as the "
                 "paper trains it reaches the commuting theory's minimum for real orthogonal contexts, "
                 "(d - 2·min(H, ⌊d/2⌋))/d² per coordinate (0.04 at d = 5).",
       hypotheses="Figure 7 (the official non_augmented.py): d = 5, s_0 = (1, …, 1)/√d, s_{t+1} = W s_t, W Haar on "
                  "O(d) per sequence, 16,384 training and 1,024 test sequences drawn once, tokens repeated to "
                  "width 2d; 64 heads, each a linear token score (q·k/√(2d), causal) times the softmax of the "
                  "position embedding passed through the same Q, K; biases; heads summed, output map, LayerNorm, "
                  "no residual, readout 2d → d; MSE at all 50 positions; Adam 1e-2, 200 epochs of 1,024 (paper "
                  "profile; quick and full profiles fewer heads, positions, sequences and epochs).  Trained in "
                  "float32 on one thread, evaluated in float64.  Per-coordinate units: the zero predictor "
                  "scores 1/d.",
       method="Train the vectorised model (model.official_raw_tokens.OfficialRawTokens.forward: positional softmax "
              "once per batch, all heads in one contraction), checked against the literal port of the official "
              "forward on the trained parameters (premise).  Measured: the test MSE at all positions, mean over "
              "seeds (standard error over seeds), minus the commuting minimum.  References on the same test "
              "sequences: the zero predictor; in-context ridge least squares (ridge_ar1_predictions); the "
              "commuting construction read in real coordinates (one head per rotation plane, p_n = 1, "
              "p_{n-1} = -1/2; exact on commuting contexts: premise) applied to Haar W; the best predictor of "
              "the theory's form at the last position (query s_{n-1}, any heads, any positional weights; "
              "alternating least squares on the training sequences).  Structure: every head's positional "
              "softmax at the last query (mass on the last key and the one before, their ratio); the "
              "normalised Gram of the heads' value maps, trained and at initialisation.",
       measured="trained all-positions test MSE (per coordinate, mean over seeds) minus (d - 2·min(H, ⌊d/2⌋))/d²",
       direction="<=", tolerance=0.0,
       premises={"vectorised_vs_literal_max_err": ("<=", 1e-9),
                 "construction_commuting_max_err": ("<=", 1e-10),
                 "construction_half_heads_vs_stated_minimum": ("<=", 1e-10)},
       parameters={"d": Param(5, 5, "token dimension"),
                   "heads": Param(4, 64, "attention heads", paper=64),
                   "T": Param(12, 50, "predicted positions (sequences s_0..s_T)", paper=50),
                   "train": Param(256, 2048, "training sequences, drawn once", paper=16384),
                   "test": Param(128, 1024, "test sequences, drawn once", paper=1024),
                   "epochs": Param(3, 20, "epochs over the training sequences", paper=200),
                   "batch": Param(64, 256, "sequences per Adam step", paper=1024),
                   "lr": Param(1e-2, 1e-2, "Adam learning rate"),
                   "seeds": Param(2, 2, "training runs (initialisation and batch order)", paper=3),
                   "ridge": Param(1e-6, 1e-6, "ridge of the in-context least-squares fit"),
                   "als_sweeps": Param(5, 20, "alternating least-squares sweeps of the best cubic predictor")},
       reference=REFERENCES[ID],
       reruns=(Rerun("autoregressive:7", figure7_settings),),
       proof_idea="Commuting contexts share their rotation planes, so one head per plane with the Chebyshev "
                  "weights (p_n, p_{n-1}) = (1, -1/2) predicts exactly; Haar contexts have a plane pair and angles "
                  "of their own per sequence, which a fixed cubic map of (s_{n-1}, s_j) weighted by fixed "
                  "positional weights cannot read off.  In-context least squares reads W off s_0..s_d exactly.",
       units=Units(seed_units, train_seed, cost=seed_seconds))
def check_haar_raw_tokens(profile: Profile, runs: list[dict]) -> Outcome:
    p = profile.params
    config = _config(p)
    d, T = config.d, config.T
    train, test = figure7_data(profile)
    losses = np.array([r["test_mse"] for r in runs])
    stderr = float(losses.std(ddof=1) / np.sqrt(len(losses))) if len(losses) > 1 else float("nan")
    minimum = raw.commuting_minimum_per_coordinate(d, config.heads)

    # references on the same test sequences
    target = test[:, 1:]
    ols_by_position = raw.per_position_mse(raw.ridge_ar1_predictions(test, p["ridge"]), target)
    zero_by_position = raw.per_position_mse(np.zeros_like(target), target)
    construction = raw.commuting_construction_prediction(test)                       # predicts s_2..s_T
    per_sequence = ((construction - test[:, 2:]) ** 2).mean(axis=(1, 2))
    cubic = raw.best_cubic_predictor(train, test, p["als_sweeps"])
    commuting = raw.commuting_contexts_with_axis(d, config.test, profile.unit_rng(f"{ID}/commuting", 0))
    comm_seqs = ar.sequences(commuting, np.full(d, 1 / np.sqrt(d)), T)
    exact = raw.commuting_construction_prediction(comm_seqs)
    # the stated minimum is the construction with min(H, ⌊d/2⌋) heads, the planes only (d >= 2)
    half = raw.commuting_construction_prediction(comm_seqs, heads=min(config.heads, max(d // 2, 1)))
    half_loss = float(raw.per_position_mse(half, comm_seqs[:, 2:]).mean())

    # structure: positional mass at the last query, head cosines trained and at initialisation
    mass, mass0 = [r["mass"] for r in runs], [r["mass0"] for r in runs]
    cos, cos0 = [r["cos"] for r in runs], [r["cos0"] for r in runs]
    qk, qk0 = [r["qk"] for r in runs], [r["qk0"] for r in runs]
    by_position = np.mean([r["test_mse_by_position"] for r in runs], axis=0)
    mean = lambda rows, key: float(np.mean([r[key] for r in rows]))  # noqa: E731
    details = {
        "trained_loss_official": float(losses.mean()), "trained_loss_official_stderr": stderr,
        "trained_loss_by_seed": losses.tolist(), "trained_loss_by_position": by_position.tolist(),
        "trained_loss_last_position": float(by_position[-1]),
        "commuting_minimum": minimum,
        "commuting_minimum_with_axis_head": float(raw.per_position_mse(exact, comm_seqs[:, 2:]).mean()),
        "zero_loss": float(zero_by_position.mean()),
        "ols_loss": float(ols_by_position.mean()), "ols_loss_by_position": ols_by_position.tolist(),
        "ols_loss_last_position": float(ols_by_position[-1]),
        "construction_loss_haar": float(per_sequence.mean()),
        "construction_loss_haar_stderr": float(per_sequence.std(ddof=1) / np.sqrt(len(per_sequence))),
        "best_cubic_loss_last_position": cubic["test_mse"], "best_cubic_loss_last_position_train": cubic["train_mse"],
        "best_cubic_p_last_two": cubic["p"][-2:].tolist(),
        "positional_mass_last_two": float(np.mean([m["last_two"].mean() for m in mass])),
        "positional_mass_last": float(np.mean([m["last"].mean() for m in mass])),
        "positional_mass_prev": float(np.mean([m["prev"].mean() for m in mass])),
        "positional_ratio_prev_over_last_median": float(np.median(np.concatenate([m["ratio"] for m in mass]))),
        "positional_mass_last_two_init": float(np.mean([m["last_two"].mean() for m in mass0])),
        "head_cos_max": mean(cos, "max"), "head_cos_mean": mean(cos, "mean"),
        "head_cos_max_init": mean(cos0, "max"), "head_cos_mean_init": mean(cos0, "mean"),
        "head_qk_cos_max": mean(qk, "max"), "head_qk_cos_mean": mean(qk, "mean"),
        "head_qk_cos_max_init": mean(qk0, "max"), "head_qk_cos_mean_init": mean(qk0, "mean"),
        "per_head_seed0": {"mass_last": mass[0]["last"].tolist(), "mass_prev": mass[0]["prev"].tolist(),
                           "value_map_norm": cos[0]["norms"].tolist()},
        "train_seconds": round(sum(r["seconds"] for r in runs), 1), "steps": runs[0]["steps"],
    }
    figure_data = {"mass_last": mass[0]["last"], "mass_prev": mass[0]["prev"], "cos": cos[0]["values"],
                   "cos_init": cos0[0]["values"],
                   "losses": {"trained": details["trained_loss_official"], "zero": details["zero_loss"],
                              "in-context LS": details["ols_loss"], "commuting min.": minimum,
                              "construction (Haar)": details["construction_loss_haar"]},
                   "by_position": by_position, "ols_by_position": ols_by_position}
    return Outcome(measured=float(losses.mean() - minimum), stderr=stderr, samples=len(losses),
                   premises={"vectorised_vs_literal_max_err": max(r["vectorised_vs_literal"] for r in runs),
                             "construction_commuting_max_err": float(np.abs(exact - comm_seqs[:, 2:]).max()),
                             "construction_half_heads_vs_stated_minimum": abs(half_loss - minimum)},
                   details=details, figure=functools.partial(figures.haar_raw_token_heads, figure_data))
