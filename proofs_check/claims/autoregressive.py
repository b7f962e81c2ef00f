"""Claims 1-7 of spec 2 (Sander et al., in-context autoregressive learning)."""

from __future__ import annotations

import functools

import numpy as np
import sympy as sp
import torch
from scipy.optimize import minimize

from model.autoregressive import AugmentedLinearAttention, gd_step_weights
from numerics import autoregressive as nar
from numerics import train_autoregressive as tar
from proofs_check import figures
from proofs_check.references import REFERENCES
from proofs_check.registry import Outcome, Param, Profile, claim
from proofs_check.verdicts import Z_LIMIT
from theory import autoregressive as ar
from theory import positional
from theory import autoregressive_symbolic as ars
from theory.estimates import mean_and_stderr

__all__ = ["PAPER", "CHUNK", "check_identity", "check_gd_step_loss", "check_raw_token_loss", "check_global_minima",
           "check_real_orthogonal", "check_positional_weights"]

CHUNK = 50_000  # Monte Carlo sequences per call of gd_step_samples (its memory budget holds 10^5 at t = 10)

PAPER = "autoregressive"


# ---------------------------------------------------------------------------
# claim 1
# ---------------------------------------------------------------------------

@claim("ar.identity",
       paper=PAPER,
       formulas=("model.autoregressive.gd_step_weights",
                 "theory.autoregressive.one_step_gd_prediction",
                 "theory.autoregressive_symbolic.one_step_gd_identity_residual"),
       statement="With Q e_t = (s_t,0,0), K e_j = (s_{j-1},0,0), V e_j = (η s_j,0,0) the causal linear-attention "
                 "output on augmented tokens e_t = (0, s_t, s_{t-1}) equals η G_t s_t, G_t = Σ_{j≤t} s_j s_{j-1}ᵀ.",
       hypotheses="Any real sequence s_0..s_T (no autoregressive structure needed); no 1/t normalisation.",
       method="sympy: the forward formula with the constructed matrices on generic symbols (d = 2, T = 3) minus "
              "η G_t s_t expands to 0; numeric: the torch model vs theory.one_step_gd_prediction for d = 64.",
       kind="theorem", measured="max relative error of the torch model against η G_t s_t (d = 64)", direction="<=",
       tolerance=1e-12, conditions={"symbolic_nonzero_residual_entries": ("==", 0)},
       parameters={"d": Param(64, 64, "dimension of the numeric check"), "T": Param(20, 20, "sequence length"),
                   "symbolic_T": Param(3, 3, "sequence length of the sympy proof (d = 2)")},
       reference=REFERENCES["ar.identity"],
       proof_idea="e_jᵀ Kᵀ Q e_t = s_{j-1}ᵀ s_t and V e_j keeps η s_j in the first block.")
def check_identity(profile: Profile) -> Outcome:
    d, T = 2, profile.params["symbolic_T"]
    eta = sp.Symbol("eta", real=True)
    Qt, Kt, Vt = (sp.Matrix(m.numpy().astype(int)) for m in gd_step_weights(d, 1.0))
    residual = ars.one_step_gd_identity_residual(Qt, Kt, eta * Vt, eta, T)
    residual_terms = sum(1 for x in residual if x != 0)
    rng = profile.rng("ar.identity")
    dn, Tn, eta_n = profile.params["d"], profile.params["T"], 0.37
    S = rng.standard_normal((8, Tn + 1, dn))
    model = AugmentedLinearAttention.from_gd_step(dn, eta_n)
    with torch.no_grad():
        out = model(torch.from_numpy(S)).numpy()
    ref = ar.one_step_gd_prediction(S, eta_n)
    rel = float(np.max(np.abs(out - ref)) / np.max(np.abs(ref)))
    return Outcome(rel, conditions={"symbolic_nonzero_residual_entries": residual_terms},
                   details={"numeric_rel_error_d64": rel})


# ---------------------------------------------------------------------------
# claim 2
# ---------------------------------------------------------------------------

@claim("ar.gd_step_loss",
       paper=PAPER,
       formulas=("theory.autoregressive.gd_step_population_loss",
                 "theory.autoregressive.optimal_gd_step",
                 "theory.autoregressive_symbolic.gd_step_loss_coefficients_symbolic"),
       statement="E||η G_t s_t - s_{t+1}||² = a η² - 2bη + c with a = t(t+d-1)/d², b = t/d, c = 1 (derived); "
                 "η* = d/(t+d-1), L* = (d-1)/(t+d-1): for d = 1 η* = 1/t and L* = 0; t·η* increases to d.",
       hypotheses="Commuting unitary W = Q diag(e^{iθ}) Q*, θ_k i.i.d. U[0, 2π); s_0 = Q·1/√d; t, d ≥ 1. "
                  "Same coefficients for real block rotations with s_0 = √(2/d)(1,0,1,0,…).",
       method="sympy over index coincidences (generic t, d) vs full expansion for concrete (t, d); Monte Carlo "
              "z-scores at η ∈ {0, η*, 2η*} (pass if every |z| ≤ 4.5, measured = max |z|); unitary invariance "
              "(random Q vs Q = I, same phases); exact grid enumeration of the torch model and autograd dL/dη.",
       kind="theorem", measured="max |z| of Monte Carlo losses against the closed form", direction="<=",
       tolerance=Z_LIMIT,
       conditions={"symbolic_mismatches": ("==", 0), "unitary_invariance_max_diff": ("<=", 1e-12),
                   "grid_autograd_max_err": ("<=", 1e-10),
                   # d = 1: η* = 1/t and L* = 0, up to round-off
                   "d1_eta_and_loss_max_err": ("<=", 1e-12),
                   # t·η* increases with t, stays below d, and reaches d (d = 8, t up to 10^6)
                   "t_eta_min_increase": (">", 0.0), "d_minus_t_eta_min": (">", 0.0),
                   "d_minus_t_eta_at_largest_t": ("<", 1e-3)},
       parameters={"samples": Param(40000, 400000, "Monte Carlo sequences per (t, d, η)"),
                   "symbolic_cases": Param(("1:1:unitary", "2:2:unitary", "3:3:unitary", "2:2:orthogonal",
                                            "3:4:orthogonal"),
                                           ("1:1:unitary", "2:2:unitary", "3:3:unitary", "2:2:orthogonal",
                                            "3:4:orthogonal", "4:3:unitary", "2:6:orthogonal"),
                                           "cases t:d:kind of the full sympy expansion"),
                   "invariance_samples": Param(2000, 2000, "sequences of the unitary-invariance comparison"),
                   "t_eta_t": Param((1, 10, 100, 1000, 10 ** 6), (1, 10, 100, 1000, 10 ** 6),
                                    "context lengths t of the t·η* -> d check (d = 8)"),
                   "loss_star_t": Param((10, 100, 1000), (10, 100, 1000), "context lengths of the reported L*")},
       reference=REFERENCES["ar.gd_step_loss"],
       proof_idea="In the eigenbasis s_j[k] = λ_k^j/√d; only index patterns (l = l') with j = j' and "
                  "(k = l = l') survive in a, only k = l in b.")
def check_gd_step_loss(profile: Profile) -> Outcome:
    a_s, b_s, c_s = ars.gd_step_loss_coefficients_symbolic()
    t_, d_ = sp.symbols("t d", positive=True, integer=True)
    eta = sp.Symbol("eta", real=True)
    generic = a_s * eta ** 2 - 2 * b_s * eta + c_s
    exact_mismatch = []
    cases = [(int(t), int(d), kind) for t, d, kind in (c.split(":") for c in profile.params["symbolic_cases"])]
    for t, d, kind in cases:
        if sp.expand(ars.gd_step_loss_symbolic(t, d, kind) - generic.subs({t_: t, d_: d})) != 0:
            exact_mismatch.append([t, d, kind])
    rng = profile.rng("ar.gd_step_loss")
    size = profile.params["samples"]
    zs = {}
    for t, d in [(1, 1), (5, 1), (3, 4), (10, 3), (4, 8)]:
        eta_s, _ = ar.optimal_gd_step(t, d)
        for kind in ("unitary", "orthogonal") if d % 2 == 0 else ("unitary",):
            # in chunks of at most CHUNK sequences, within the sampler's memory budget (one chunk at quick sizes)
            chunks = [nar.gd_step_samples(t, d, min(CHUNK, size - lo), rng, kind) for lo in range(0, size, CHUNK)]
            samples = {k: np.concatenate([c[k] for c in chunks]) for k in "abc"}
            for e in (0.0, eta_s, 2 * eta_s):
                est = mean_and_stderr(e ** 2 * samples["a"] - 2 * e * samples["b"] + samples["c"])
                zs[f"t={t},d={d},{kind},eta={e:.3g}"] = nar.z_score(ar.gd_step_population_loss(e, t, d), est)
    # unitary invariance: same phases, random Q
    t, d = 4, 3
    eta_s, _ = ar.optimal_gd_step(t, d)
    Qr = ar.haar_unitary(d, rng)
    size = profile.params["invariance_samples"]  # the same phases twice: two copies of one generator
    s_id = nar.gd_step_samples(t, d, size, profile.unit_rng("ar.gd_step_loss.invariance"))
    s_q = nar.gd_step_samples(t, d, size, profile.unit_rng("ar.gd_step_loss.invariance"), Q=Qr)
    invariance = float(max(np.max(np.abs(s_id[k] - s_q[k])) for k in "abc"))
    # exact enumeration through the torch model, autograd derivative
    grid_err = 0.0
    for t, d in [(2, 2), (3, 4)]:
        a, b, c = (float(x) for x in ar.gd_step_loss_coefficients(t, d))
        for e in (0.3, ar.optimal_gd_step(t, d)[0]):
            L, dL = nar.gd_step_loss_exact(e, t, d)
            grid_err = max(grid_err, abs(L - (a * e * e - 2 * b * e + c)), abs(dL - (2 * a * e - 2 * b)))
    d1_err = max(max(abs(e - 1 / t), abs(L)) for t in (1, 2, 7) for e, L in [ar.optimal_gd_step(t, 1)])
    teta = np.array([t * ar.optimal_gd_step(t, 8)[0] for t in profile.params["t_eta_t"]])
    zmax = float(max(zs.values()))
    L_star = {f"t={t},d=4": ar.optimal_gd_step(t, 4)[1] for t in profile.params["loss_star_t"]}
    conditions = {"symbolic_mismatches": len(exact_mismatch), "unitary_invariance_max_diff": invariance,
                  "grid_autograd_max_err": grid_err, "d1_eta_and_loss_max_err": float(d1_err),
                  "t_eta_min_increase": float(np.min(np.diff(teta))), "d_minus_t_eta_min": float(np.min(8 - teta)),
                  "d_minus_t_eta_at_largest_t": float(8 - teta[-1])}
    return Outcome(zmax, conditions=conditions, details={
        "derived": {"a": str(a_s), "b": str(b_s), "c": str(c_s), "eta_star": "d/(t+d-1)", "loss_star": "(d-1)/(t+d-1)"},
        "symbolic_mismatch_cases": exact_mismatch, "z_scores": zs, "t_eta_star_d8": teta.tolist(),
        "loss_star_examples": L_star,
        "note_vs_spec": "spec: optimal loss 'roughly like d/t'; derived L* = (d-1)/(t+d-1) ~ (d-1)/t "
                        "(equivalent up to d-1 vs d; exact at d = 1 where it is 0).",
    })


# claim 3 (trained equals constructed) lives in autoregressive_augmented.py

# ---------------------------------------------------------------------------
# claim 4
# ---------------------------------------------------------------------------

@claim("ar.raw_token_loss",
       paper=PAPER,
       formulas=("theory.autoregressive.raw_token_population_loss",
                 "theory.autoregressive_symbolic.raw_token_loss_symbolic"),
       statement="L(C, p) = ||p||²||C||_F² + p_{n-1}²(||C·1||² - ||C||_F²) - 2 tr(C) p_n + d, C = Σ_h b_h a_hᵀ.",
       hypotheses="Commuting unitary contexts, phases i.i.d. U[0, 2π), s_0 = 1 ∈ C^d, query s_{n-1}, n ≥ 1.",
       method="sympy derivation from the model (phase-moment rule) for small (d, n) minus the formula expands to 0; "
              "Monte Carlo z-scores at random (C, p) (measured = max |z|, pass ≤ 4.5); exact grid loss and torch "
              "autograd gradients vs the sympy gradient.",
       kind="theorem", measured="max |z| of Monte Carlo losses against the formula", direction="<=",
       tolerance=Z_LIMIT,
       conditions={"symbolic_mismatches": ("==", 0), "autograd_vs_sympy_grad_err": ("<=", 1e-9),
                   "grid_loss_err": ("<=", 1e-10)},
       parameters={"samples": Param(40000, 400000, "Monte Carlo sequences per (C, p)"),
                   "symbolic_sizes": Param(("1:1", "2:1", "2:2", "3:2", "2:3"),
                                           ("1:1", "2:1", "2:2", "3:2", "2:3", "3:3", "4:2"),
                                           "sizes d:n of the sympy derivation")},
       reference=REFERENCES["ar.raw_token_loss"],
       theory_for=('autoregressive:3',),
       proof_idea="Split Σ_{k,l,l'} by coincidences: all-distinct and (k=l or k=l') force j = j' = n-1; "
                  "(l = l') forces j = j'; the cross term needs l = k and j = n.")
def check_raw_token_loss(profile: Profile) -> Outcome:
    sizes = [tuple(int(x) for x in size.split(":")) for size in profile.params["symbolic_sizes"]]
    mismatch = [[d, n] for d, n in sizes if sp.expand(ars.raw_token_loss_symbolic(d, n) - ars.raw_token_loss_closed_form_symbolic(d, n)) != 0]
    rng = profile.rng("ar.raw_token_loss")
    size = profile.params["samples"]
    zs = []
    for d, n in [(3, 3), (5, 2), (2, 6)]:
        C, p = rng.standard_normal((d, d)) / d, rng.standard_normal(n + 1)
        zs.append(nar.z_score(ar.raw_token_population_loss(C, p), nar.mc_raw_token_loss(C, p, size, rng)))
    d, n = 2, 2
    C, p = rng.standard_normal((d, d)), rng.standard_normal(n + 1)
    L, gC, gp = nar.raw_token_loss_exact(C, p)
    expr = ars.raw_token_loss_symbolic(d, n)
    Cs, ps = ars.raw_token_symbols(d, n)
    sub = dict(zip(list(Cs) + ps, list(C.ravel()) + list(p)))
    grad_sym = np.array([float(sp.diff(expr, v).subs(sub)) for v in list(Cs) + ps])
    grad_err = float(np.max(np.abs(np.concatenate([gC.ravel(), gp]) - grad_sym)))
    loss_err = abs(L - ar.raw_token_population_loss(C, p))
    zmax = float(max(zs))
    return Outcome(zmax, conditions={"symbolic_mismatches": len(mismatch), "autograd_vs_sympy_grad_err": grad_err,
                                     "grid_loss_err": loss_err},
                   details={"symbolic_mismatch_sizes": mismatch, "sizes_derived": sizes, "z_scores": zs})


# ---------------------------------------------------------------------------
# claim 5
# ---------------------------------------------------------------------------

@claim("ar.global_minima",
       paper=PAPER,
       formulas=("theory.autoregressive.raw_token_global_minimum", "theory.autoregressive.raw_token_minimiser"),
       statement="min_{C,p} L = d - min(H, d); minimisers have p on the last key only and C a scaled orthogonal "
                 "projection of rank min(H, d); trained heads come out orthogonal (a_h ⊥ a_h', b_h ⊥ b_h', "
                 "1 < H ≤ d).",
       hypotheses="Setting of claim 4 with C = Σ_{h≤H} b_h a_hᵀ; training: plain full-batch gradient descent "
                  "(constant step lr, no momentum or schedule, as the official unitary.py of Figure 3) on the "
                  "exact population loss from small random initialisation N(0, 0.1²), d = 3, n = 2.",
       method="Closed-form minimiser attains the bound exactly; random (C, p) never go below it; trained "
              "models for H = 1..4: measured = max |L_trained - (d - min(H, d))|, pass ≤ 1e-3; "
              "structure reported (p off the last key, projection defect, rank); head orthogonality: the largest "
              "|cos| between distinct heads' a_h (and b_h) over 1 < H ≤ d, against the first-order balance bound "
              "(gradient descent keeps the balance of the initialisation up to an O(lr) drift, reported).",
       kind="theorem", measured="max over H of |trained loss - (d - min(H, d))|", direction="<=", tolerance=1e-3,
       conditions={"bound_violations": ("==", 0), "constructed_minimiser_err": ("<=", 1e-12),
                   # a_h ⊥ a_h' up to the initialisation: at a minimiser with H ≤ d, S = AAᵀ solves
                   # S - S⁻¹/p_n² = Δ, Δ = AAᵀ - BBᵀ, so Δ = 0 gives orthogonal heads and, to first order,
                   # cos(a_h, a_h') = |p_n| Δ_hh'/2 (the same for b_h).  Gradient flow conserves Δ (and
                   # ||A||² - ||p||²: |p_n|³ = H at the minimum); from init N(0, σ²), σ = 0.1, d = 3, Δ_hh' has
                   # sd σ²√(2d), so cos ≤ H^(1/3)·4σ²√(2d)/2 = 0.071 at H = 3 (4 sd): bound 0.07.
                   # Gradient descent with step lr moves Δ by lr²(g_A g_Aᵀ - g_B g_Bᵀ) per step: O(lr) over
                   # the flow time lr·steps.  Measured (seeds 0-9, 1 < H ≤ 3) its share of the cosine,
                   # |p_n|·max|Δ_final - Δ_0|/2, is ≤ 0.0044 at lr = 0.1 and ≤ 0.0012 at lr = 0.025 (∝ lr): the
                   # bound still sits at ≥ 3.7 sd of the initialisation term (details: cos_drift_from_gd).
                   "head_cos_a_max": ("<=", 0.07), "head_cos_b_max": ("<=", 0.07)},
       parameters={"steps": Param(300, 2000, "gradient-descent steps per head count"),
                   "lr": Param(0.1, 0.025, "constant gradient-descent step (stable below 2/λ_max ≈ 0.24 at the "
                                           "minimum; lr·steps ≥ 25 reaches it from scale 0.1)"),
                   "random_points": Param(2000, 2000, "random (A, B, p) tested against the bound")},
       reference=REFERENCES["ar.global_minima"],
       theory_for=('autoregressive:3',),
       proof_idea="L ≥ r²||C||_F² + q²||C1||² - 2r tr C + d ≥ ||rC - I||_F² ≥ d - rank(C) (Eckart–Young).")
def check_global_minima(profile: Profile) -> Outcome:
    d, n = 3, 2
    rng = profile.rng("ar.global_minima")
    bound_violations = []
    for _ in range(profile.params["random_points"]):
        H = int(rng.integers(1, 5))
        A, B, p = rng.standard_normal((H, d)), rng.standard_normal((H, d)), rng.standard_normal(n + 1)
        L = ar.raw_token_population_loss(B.T @ A, p)
        if L < ar.raw_token_global_minimum(d, H) - 1e-12:
            bound_violations.append({"H": H, "loss": L})
    constructed = max(abs(ar.raw_token_population_loss(B.T @ A, p) - ar.raw_token_global_minimum(d, H))
                      for H in (1, 2, 3, 4) for A, B, p in [ar.raw_token_minimiser(d, H, rng, p_last=0.7)])
    steps = profile.params["steps"]
    runs, gaps = {}, []
    for H in (1, 2, 3, 4):
        run = tar.train_raw_token(d, H, n, steps=steps, lr=profile.params["lr"], seed=profile.seed + H,
                                  optimizer="gd")
        m = run.model
        C, p = m.C().detach().numpy(), m.p.detach().numpy()
        A = m.A.detach().numpy()
        L = ar.raw_token_population_loss(C, p)
        target = ar.raw_token_global_minimum(d, H)
        gaps.append(abs(L - target))
        Pn = C * p[-1]
        sym = 0.5 * (Pn + Pn.T)
        B = m.B.detach().numpy()
        cos_a, cos_b = ar.max_head_cosine(A), ar.max_head_cosine(B)
        imbalance = A @ A.T - B @ B.T  # conserved by gradient flow; gradient descent moves it by O(lr)
        A0, B0, _ = run.initial
        drift = np.triu(imbalance - (A0 @ A0.T - B0 @ B0.T), 1)
        runs[H] = {"loss": L, "bound": target,
                   "p_off_last_rel": float(np.max(np.abs(p[:-1])) / abs(p[-1])),
                   "projection_defect": float(np.linalg.norm(Pn @ Pn - Pn) + np.linalg.norm(Pn - sym)),
                   "rank": int(np.linalg.matrix_rank(Pn, tol=1e-3)),
                   "max_head_cosine": cos_a, "max_head_cosine_b": cos_b, "p_n": float(p[-1]),
                   "imbalance_offdiag_max": float(np.max(np.abs(np.triu(imbalance, 1)))) if H > 1 else 0.0,
                   "head_cos_first_order_from_imbalance":
                       float(abs(p[-1]) * np.max(np.abs(np.triu(imbalance, 1))) / 2) if H > 1 else 0.0,
                   "cos_drift_from_gd": float(abs(p[-1]) * np.max(np.abs(drift)) / 2) if H > 1 else 0.0,
                   "_C": C, "_p": p, "_A": A, "_B": B}
    ortho = {H: runs[H]["max_head_cosine"] for H in runs}
    # H > d heads cannot all be orthogonal in R^d; H = 1 has no pair
    head_cos_a = max((runs[H]["max_head_cosine"] for H in runs if 1 < H <= d), default=0.0)
    head_cos_b = max((runs[H]["max_head_cosine_b"] for H in runs if 1 < H <= d), default=0.0)
    measured = float(max(gaps))
    details = {H: {k: v for k, v in r.items() if not k.startswith("_")} for H, r in runs.items()}
    details = {"runs": details,
               "head_cos_by_H": {H: c for H, c in ortho.items() if 1 < H <= d},
               "note": "H > d heads cannot all be orthogonal in R^d; the bound is d - min(H, d) = 0 there. "
                       "Orthogonality is not forced by the minimum (A → GA, B → G⁻ᵀB keeps C): it is the balance "
                       "AAᵀ = BBᵀ that small-init gradient flow keeps (Adam does not conserve it); gradient descent "
                       "keeps it up to cos_drift_from_gd = O(lr), and the measured cosine follows the final "
                       "imbalance (head_cos_first_order_from_imbalance)."}
    return Outcome(measured, conditions={"bound_violations": len(bound_violations),
                                         "constructed_minimiser_err": constructed,
                                         "head_cos_a_max": head_cos_a, "head_cos_b_max": head_cos_b},
                   details={**details, "first_bound_violations": bound_violations[:5]},
                   figure=functools.partial(figures.raw_token_minima, runs, d, n))


# ---------------------------------------------------------------------------
# claim 6
# ---------------------------------------------------------------------------

@claim("ar.real_orthogonal",
       formulas=("theory.autoregressive.raw_token_population_loss_real_orthogonal",), paper=PAPER,
       statement="For real commuting orthogonal contexts the conjugate eigenvalue pairs add terms to the loss "
                 "(derived: with P_sum = Σ_j p_j, v_k = C_{kσ(k)}: terms in q P_sum and P_sum² v²).",
       hypotheses="d even, θ_m i.i.d. U[0, 2π), eigen-coordinates of s_0 all 1, model of claim 4 in the complex "
                  "eigenbasis (coordinates 2m, 2m+1 carry λ_m, conj λ_m), query s_{n-1}.",
       method="sympy derivation for small (d, n) vs theory.raw_token_population_loss_real_orthogonal at random "
              "points (relative error, tolerance 1e-10) and Monte Carlo z-scores (≤ 4.5). Details only (the "
              "theorem is ar.real_orthogonal_minimum): minima by multi-start BFGS over (A, B, p) of the closed "
              "form, compared with d - min(H, d).",
       kind="theorem", measured="max relative error of the derived loss against the closed form", direction="<=",
       tolerance=1e-10, conditions={"max_z": ("<=", Z_LIMIT)},
       parameters={"restarts": Param(4, 12, "BFGS starts per head count"),
                   "symbolic_sizes": Param(("2:1", "2:2", "4:2"), ("2:1", "2:2", "4:2", "4:3", "6:2"),
                                           "sizes d:n of the sympy derivation"),
                   "mc_samples": Param(40000, 40000, "Monte Carlo sequences per (C, p)")},
       reference=REFERENCES["ar.real_orthogonal"],
       theory_for=('autoregressive:3',),
       proof_idea="λ_{σ(k)} = conj λ_k: patterns l = σ(k) or l' = σ(k) now survive for any j.")
def check_real_orthogonal(profile: Profile) -> Outcome:
    rng = profile.rng("ar.real_orthogonal")
    rel = 0.0
    for d, n in (tuple(int(x) for x in size.split(":")) for size in profile.params["symbolic_sizes"]):
        f = ars.raw_token_loss_function(d, n, "orthogonal")
        for _ in range(3):
            C, p = rng.standard_normal((d, d)), rng.standard_normal(n + 1)
            a, b = f(C, p), ar.raw_token_population_loss_real_orthogonal(C, p)
            rel = max(rel, abs(a - b) / abs(a))
    zs = []
    for d, n in [(4, 3), (6, 2)]:
        C, p = rng.standard_normal((d, d)) / d, rng.standard_normal(n + 1)
        est = nar.mc_raw_token_loss(C, p, profile.params["mc_samples"], rng, "orthogonal")
        zs.append(nar.z_score(ar.raw_token_population_loss_real_orthogonal(C, p), est))
    d, n = 4, 2
    minima = {}
    for H in (1, 2, 4):
        def obj(x):
            A, B, p = x[: H * d].reshape(H, d), x[H * d: 2 * H * d].reshape(H, d), x[2 * H * d:]
            return ar.raw_token_population_loss_real_orthogonal(B.T @ A, p)
        best = None
        for _ in range(profile.params["restarts"]):
            res = minimize(obj, 0.5 * rng.standard_normal(2 * H * d + n + 1), method="BFGS")
            if best is None or res.fun < best.fun:
                best = res
        p = best.x[2 * H * d:]
        minima[H] = {"min_loss": float(best.fun), "unitary_bound": d - min(H, d),
                     "p": [float(x) for x in p / np.max(np.abs(p))]}
    zmax = float(max(zs))
    below = {H: m["min_loss"] < m["unitary_bound"] - 1e-6 for H, m in minima.items()}
    paired = {H: abs(m["min_loss"] - (d - 2 * min(H, d // 2))) < 1e-4 for H, m in minima.items()}
    return Outcome(rel, conditions={"max_z": zmax}, details={
        "z_scores": zs, "minima_d4_n2": minima,
        "minimum_below_unitary_bound": below, "minimum_equals_d_minus_2min(H,d/2)": paired,
        "finding": "conjugate pairs let one head serve a whole rotation block: the numerical minima are "
                   "d - 2·min(H, d/2) (below the unitary d - min(H, d) for H < d), with p_{n-1} ≈ -p_n/2 "
                   "when H < d: the Chebyshev relation s_{n+1} = 2cos θ s_n - s_{n-1} (a trigonometric relation "
                   "learned by the positional weights)."})


# ---------------------------------------------------------------------------
# claim 7
# ---------------------------------------------------------------------------

@claim("ar.positional_weights",
       formulas=("theory.positional.positional_gram", "theory.positional.optimal_positional_matrix"), paper=PAPER,
       statement="With the heads fixed, the loss is quadratic in p: L = pᵀGp - 2gᵀp + d with G, g built from "
                 "φ_ν(m) = (e^{2πim/ν} - 1)/(2πim/ν); p* = G⁺g; trained positional weights (also a full "
                 "positional matrix over query positions) match p*.",
       hypotheses="Commuting unitary contexts, θ i.i.d. U[0, 2π/ν), ν ∈ {1, 2, 4}; fixed heads C (d = 2); "
                  "s_0 = 1; training: L-BFGS on 20,000 fixed Monte Carlo sequences.",
       method="G, g vs the sympy derivation with φ_ν (d = 2, n = 2); Monte Carlo z-score of L(p*) (≤ 4.5); "
              "measured = max relative error of the trained positional matrix vs the closed form, pass ≤ 0.1.",
       kind="theorem", measured="relative error of the trained positional matrix against the closed form",
       direction="<=", tolerance=0.1, conditions={"symbolic_vs_gram_err": ("<=", 1e-9), "max_z": ("<=", Z_LIMIT)},
       parameters={"size": Param(20000, 100000, "Monte Carlo training sequences"),
                   "mc_samples": Param(40000, 40000, "Monte Carlo sequences for the z-score of L(p*)")},
       reference=REFERENCES["ar.positional_weights"],
       theory_for=('autoregressive:6',),
       proof_idea="Independent phases factorise: each coincidence pattern of (k, l, l') contributes Π φ_ν.")
def check_positional_weights(profile: Profile) -> Outcome:
    rng = profile.rng("ar.positional_weights")
    d, T = 2, 3
    C = np.array([[1.0, 0.3], [-0.2, 0.8]])
    sym_err = 0.0
    Cs, ps = ars.raw_token_symbols(d, 2)
    for nu in (2, 4):
        expr = ars.raw_token_loss_symbolic(d, 2, "unitary", sp.Integer(nu))
        for _ in range(2):
            p = rng.standard_normal(3)
            val = complex(expr.subs(dict(zip(list(Cs) + ps, list(C.ravel()) + list(p)))).evalf())
            sym_err = max(sym_err, abs(val - positional.positional_population_loss(p, C, nu)))
    zs, rel, weights = {}, 0.0, {}
    trained_P = {}
    for nu in (1.0, 2.0, 4.0):
        P_star, losses = positional.optimal_positional_matrix(C, T, nu)
        p_star = P_star[-1, : T + 1]
        zs[nu] = nar.z_score(losses[-1], nar.mc_raw_token_loss(C, p_star, profile.params["mc_samples"], rng,
                                                               "unitary", nu))
        run = tar.train_positional(C, T, nu, size=profile.params["size"], seed=profile.seed)
        P = run.P
        rel = max(rel, float(np.linalg.norm(P - P_star) / np.linalg.norm(P_star)))
        weights[nu] = {"p_star_last_row": [float(x) for x in p_star], "trained_last_row": [float(x) for x in P[-1]],
                       "L_star_per_row": [float(x) for x in losses]}
        trained_P[nu] = (P, P_star)
    return Outcome(rel, conditions={"symbolic_vs_gram_err": sym_err, "max_z": float(max(zs.values()))},
                   details={"z_scores": zs, "weights": weights},
                   figure=functools.partial(figures.positional_weights_rows, trained_P, T))
