"""Findings on the autoregressive paper's published code: the population loss typed into the code of
Figure 3 (left), and the AR(1) reconstruction test of Figure 4."""

from __future__ import annotations

import numpy as np

from numerics import autoregressive as nar
from numerics.ar1_reconstruction import ar1_reconstruction_errors
from proofs_check.references import REFERENCES
from proofs_check.registry import Outcome, Param, Profile, claim
from proofs_check.verdicts import Z_LIMIT, z_level
from theory import autoregressive as ar
from theory.published_autoregressive import raw_token_population_loss_as_published

__all__ = ["PAPER", "OFFICIAL_LOSS", "FIGURE4", "OFFICIAL_LOSS_SIZES", "check_official_population_loss",
           "check_figure4_ar1_reconstruction"]

PAPER = "autoregressive"
OFFICIAL_LOSS = "ar.official_population_loss"
FIGURE4 = "ar.figure4_ar1_reconstruction"
# (d, n) of the random points: p_{n-1} is drawn away from 0 at each, where the two losses differ
OFFICIAL_LOSS_SIZES = ((3, 2), (4, 3), (2, 4), (5, 2))
# Figure 4's official setting: GPT-2-large token embeddings (1,280 dimensions), windows of 5 tokens
FIGURE4_DIM, FIGURE4_WINDOW = 1280, 5


# ---------------------------------------------------------------------------
# the official closed form of Figure 3 (left)
# ---------------------------------------------------------------------------

@claim(OFFICIAL_LOSS,
       paper=PAPER, kind="finding",
       formulas=("theory.published_autoregressive.raw_token_population_loss_as_published",
                 "theory.autoregressive.raw_token_population_loss"),
       statement="The population loss typed into the official code of Figure 3 (left), L_off(C, p) = "
                 "||p||²||C||_F² + p_{n-1}²||C·1||² - 2 tr(C) p_n + d, is the population loss of the model it "
                 "trains (diagonal multi-head raw-token attention with positional weights, unitary contexts).",
       hypotheses="Commuting unitary contexts, phases i.i.d. U[0, 2π), s_0 = 1 ∈ C^d, query s_{n-1}, n ≥ 1, "
                  "C = Σ_h b_h a_hᵀ real (d, d), p real (n+1); the points have p_{n-1} ≠ 0.",
       method="Monte Carlo of the model's squared error over sampled sequences (numerics mc_raw_token_loss, "
              "independent of both formulas) at 4 random (C, p) with |p_{n-1}| ∈ [0.5, 1.5]: measured = the "
              "largest |z| of L_off against the estimate; with 4 comparisons, P(max |z| > 4) ≤ 4·6.3e-5 "
              "= 2.5e-4 were the formula right.  Premise: the same estimates against the toolkit's "
              "L = ... + p_{n-1}²(||C·1||² - ||C||_F²) + ... (max |z| ≤ 4.5).",
       measured="max |z| of the model's Monte Carlo loss against L_off over 4 points with p_{n-1} ≠ 0",
       direction="<=", tolerance=z_level(4.0, reason="4 comparisons: P(max |z| > 4) <= 2.5e-4 were L_off right"),
       premises={"mc_vs_toolkit_loss_max_z": ("<=", Z_LIMIT)},
       parameters={"samples": Param(20000, 200000, help="Monte Carlo sequences per (C, p)")},
       reference=REFERENCES[OFFICIAL_LOSS],
       theory_for=("autoregressive:3",),
       proof_idea="L_off - L = p_{n-1}²||C||_F²: the key j = n-1 pattern (j = j' = n-1) already contains the "
                  "l = l' terms counted in ||p||²||C||_F², and the published formula counts them twice.  Both "
                  "vanish where p_{n-1} = 0, so they agree at the minimisers (p on the last key) and share the "
                  "minimum d - min(H, d): the published tensors, trained to the minimum, are unaffected.")
def check_official_population_loss(profile: Profile) -> Outcome:
    size = profile.params["samples"]
    points, z_off, z_ours = [], [], []
    for k, (d, n) in enumerate(OFFICIAL_LOSS_SIZES):
        rng = profile.unit_rng(OFFICIAL_LOSS, k)
        C, p = rng.standard_normal((d, d)) / np.sqrt(d), rng.standard_normal(n + 1)
        p[-2] = rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 1.5)
        est = nar.mc_raw_token_loss(C, p, size, rng)
        L_off, L = raw_token_population_loss_as_published(C, p), ar.raw_token_population_loss(C, p)
        z_off.append(nar.z_score(L_off, est))
        z_ours.append(nar.z_score(L, est))
        points.append({"d": d, "n": n, "p_n_minus_1": float(p[-2]), "L_official": L_off, "L_toolkit": L,
                       "difference": L_off - L, "p_{n-1}²||C||_F²": float(p[-2] ** 2 * np.sum(C ** 2)),
                       "mc_mean": float(est.value), "mc_stderr": float(est.stderr),
                       "z_official": z_off[-1], "z_toolkit": z_ours[-1]})
    # at the minimiser (p on the last key, p_{n-1} = 0) the two formulas coincide
    rng = profile.unit_rng(OFFICIAL_LOSS, len(OFFICIAL_LOSS_SIZES))
    at_minimum = []
    for d, H in ((3, 1), (3, 2), (4, 4)):
        A, B, p = ar.raw_token_minimiser(d, H, rng, p_last=0.7)
        C = B.T @ A
        at_minimum.append({"d": d, "H": H, "L_official": raw_token_population_loss_as_published(C, p),
                           "L_toolkit": ar.raw_token_population_loss(C, p),
                           "minimum": ar.raw_token_global_minimum(d, H)})
    return Outcome(measured=float(max(z_off)), samples=size,
                   premises={"mc_vs_toolkit_loss_max_z": float(max(z_ours))},
                   details={"points": points, "comparisons": len(points), "z_level": 4.0,
                            "at_minimiser": at_minimum,
                            "note": "L_off - L = p_{n-1}²||C||_F² ≥ 0; both agree where p_{n-1} = 0, in particular "
                                    "at the minimisers (p on the last key), and share the minimum d - min(H, d), so "
                                    "the published tensors (trained to the minimum) are unaffected; the training "
                                    "path, and any unconverged iterate with p_{n-1} ≠ 0, are not."})


# ---------------------------------------------------------------------------
# Figure 4: AR(1) reconstruction of token-embedding windows
# ---------------------------------------------------------------------------

def _unit_vectors(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    x = rng.standard_normal(shape)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


@claim(FIGURE4,
       paper=PAPER, kind="finding",
       formulas=("numerics.ar1_reconstruction.ar1_reconstruction_errors",),
       statement="Figure 4: a small AR(1) reconstruction error of windows of consecutive token embeddings "
                 "(least-squares AR(1) fit, rolled out from the first token; errors below 1e-12 not plotted) "
                 "shows that token sequences follow an AR(1) process.",
       hypotheses="Figure 4's analysis (official notebook gpt2.ipynb): unit-normalised embeddings in dimension "
                  "1,280, windows of 5 tokens (4 transitions), minimum-norm least-squares fit "
                  "(torch.linalg.lstsq on an underdetermined system), rollout error (mean over the window and "
                  "the dimensions); run here on synthetic embeddings, GPT-2's weights being unavailable.",
       method="If a small error shows AR(1) structure, windows with no structure at all (i.i.d. uniform unit "
              "vectors in dimension 1,280) must have errors above the plot's threshold 1e-12: measured = the "
              "LARGEST error over such windows (the statement fails for every one of them if it is below).  "
              "Premises: explicit AR(1) sequences s_{t+1} = W s_t reconstruct to "
              "round-off (W: 2×2 rotation blocks, i.i.d. uniform angles: the paper's real commuting orthogonal "
              "contexts), and windows with a repeated input token (s_2 = s_0) do not: their one-step residual "
              "equals the closed form ||s_1 - s_3||²/(2·4·D) (the fit sends the repeated input to the mean of "
              "its two successors).",
       measured="largest AR(1) reconstruction error over random structureless windows (D = 1280, window 5)",
       direction=">=", tolerance=1e-12,
       premises={"explicit_ar1_max_error": ("<=", 1e-20),
                 "repeated_token_residual_max_rel_err": ("<=", 1e-9)},
       parameters={"windows": Param(500, 4000, help="random windows of each kind (dimension 1,280, 5 tokens: "
                                                    "Figure 4's, fixed)")},
       reference=REFERENCES[FIGURE4],
       theory_for=("autoregressive:4",),
       proof_idea="With 4 transitions in 1,280 dimensions the minimum-norm fit Wᵀ = X⁺Y satisfies XWᵀ = XX⁺Y = Y "
                  "whenever the 4 inputs are linearly independent, which random (and most real) tokens are: "
                  "every such window, whatever the sequence, is an exact AR(1) orbit of its own W.  The error "
                  "measures linear dependence among the inputs (repeated tokens), not autoregressive structure.")
def check_figure4_ar1_reconstruction(profile: Profile) -> Outcome:
    N, D, w = profile.params["windows"], FIGURE4_DIM, FIGURE4_WINDOW
    random_windows = _unit_vectors(profile.unit_rng(FIGURE4, 0), (N, w, D))
    err_random = ar1_reconstruction_errors(random_windows)

    repeated = _unit_vectors(profile.unit_rng(FIGURE4, 1), (N, w, D))
    repeated[:, 2] = repeated[:, 0]                                  # a repeated token among the inputs
    err_repeated = ar1_reconstruction_errors(repeated)
    residual = ar1_reconstruction_errors(repeated, rollout=False)
    closed = np.sum((repeated[:, 1] - repeated[:, 3]) ** 2, axis=1) / (2 * (w - 1) * D)
    rel_err = float(np.max(np.abs(residual - closed) / closed))

    # explicit AR(1) orbits s_{t+1} = W s_t, W a commuting orthogonal context of the paper (2×2 rotation
    # blocks R(θ_m) on coordinates 2m, 2m+1, θ_m i.i.d. U[0, 2π)), s_0 uniform on the sphere
    rng = profile.unit_rng(FIGURE4, 2)
    theta = rng.uniform(0, 2 * np.pi, (N, D // 2))
    c, s = np.cos(theta), np.sin(theta)
    x = _unit_vectors(rng, (N, D)).reshape(N, D // 2, 2)
    orbit = [x]
    for _ in range(w - 1):
        orbit.append(np.stack([c * orbit[-1][..., 0] - s * orbit[-1][..., 1],
                               s * orbit[-1][..., 0] + c * orbit[-1][..., 1]], axis=-1))
    orbit = np.stack(orbit, axis=1).reshape(N, w, D)
    err_ar1 = ar1_reconstruction_errors(orbit)

    shuffled = random_windows.reshape(-1, D)[profile.unit_rng(FIGURE4, 3).permutation(N * w)].reshape(N, w, D)
    err_shuffled = ar1_reconstruction_errors(shuffled)
    return Outcome(measured=float(np.max(err_random)), samples=N,
                   premises={"explicit_ar1_max_error": float(np.max(err_ar1)),
                             "repeated_token_residual_max_rel_err": rel_err},
                   details={"random_error_max": float(np.max(err_random)),
                            "random_error_median": float(np.median(err_random)),
                            "random_share_above_1e-12": float(np.mean(err_random > 1e-12)),
                            "shuffled_error_max": float(np.max(err_shuffled)),
                            "explicit_ar1_error_max": float(np.max(err_ar1)),
                            "repeated_token_error_min": float(np.min(err_repeated)),
                            "repeated_token_error_median": float(np.median(err_repeated)),
                            "repeated_token_error_max": float(np.max(err_repeated)),
                            "repeated_token_share_above_1e-12": float(np.mean(err_repeated > 1e-12)),
                            "plot_threshold": 1e-12, "dim": D, "window": w,
                            "note": "structureless windows reconstruct to round-off, as exactly as a true AR(1) "
                                    "orbit; only windows whose inputs are linearly dependent (a repeated token) "
                                    "get an error (order 1e-4): Figure 4's histogram above 1e-12 counts repeated "
                                    "tokens, not autoregressive structure."})
