"""Positional weights only (heads fixed), angle range ν: the quadratic of spec 2, claim 7.

With the heads fixed (``C = Σ_h b_h a_hᵀ``) the raw-token loss of row ``n`` is a
quadratic in the positional weights ``p = (p_0..p_n)``:
``L_n(p) = pᵀ G_n p - 2 g_nᵀ p + d``, ``G_n`` and ``g_n`` built from the phase
moments ``φ_ν(m)`` of :func:`theory.autoregressive.phase_moment`.  Here: the
Gram matrices and their spectra (extended precision, for the paper's severely
ill-conditioned regime), the minimiser (exact where known in closed form),
and the gradient-descent path that the paper's experiment stops early
(Figure 6: ``d = 1``, ``ν ∈ {50, 100, 200, 300}``, rows ``n = 1..29``, lr 0.5,
stopped one step after the mean loss falls below 1e-3).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from theory import validate
from theory.autoregressive import phase_moment
from theory.validate import angle_range, finite_array, finite_float, positional_weights, positive_int, square_matrix

__all__ = ["GRAM_BYTES_PER_ENTRY", "ILL_CONDITIONED", "IllConditionedGramWarning", "positional_gram",
           "MAX_SPECTRUM_DIGITS", "positional_gram_spectrum", "positional_gram_condition_number",
           "positional_population_loss", "optimal_positional_weights", "optimal_positional_matrix",
           "positional_row_grams", "gd_spectral_filter", "quadratic_gd_path", "positional_gd_path"]



# Bytes per entry of one row's Gram computation: a dozen complex (n+1, n+1) temporaries of
# ``_positional_gram_terms`` (the phase moments of each of its five terms and their products).
GRAM_BYTES_PER_ENTRY = 16 * 12

ILL_CONDITIONED = 1e8
"""Condition number of a positional Gram matrix above which a float64 solve of ``G p = g`` keeps fewer
than half of its 16 digits: :func:`optimal_positional_weights` warns above it."""


class IllConditionedGramWarning(UserWarning):
    """The positional Gram matrix ``G`` has a condition number above :data:`ILL_CONDITIONED`."""


def _positional_gram_terms(C: np.ndarray, n: int, ph) -> tuple[np.ndarray, np.ndarray]:
    """Complex ``(G, g)`` before taking real parts, for a phase-moment function ``ph`` (float or
    mpmath); the formula of :func:`positional_gram`."""
    j = np.arange(n + 1)
    al = j - n + 1
    J, Jp = j[:, None], j[None, :]
    A, Ap = al[:, None], al[None, :]
    w5 = np.sum(np.diag(C) ** 2)
    w2 = np.sum(np.diag(C) * (C.sum(axis=1) - np.diag(C)))
    w4 = np.sum(C ** 2) - w5
    w1 = np.sum(C.sum(axis=1) ** 2) - w5 - 2 * w2 - w4
    G = (w1 * ph(J - Jp) * ph(A) * ph(-Ap) + w2 * ph(J - Jp + A) * ph(-Ap) + w2 * ph(J - Jp - Ap) * ph(A)
         + w4 * ph(J - Jp) * ph(A - Ap) + w5 * ph(J - Jp + A - Ap))
    g = (C.sum() - np.trace(C)) * ph(al) * ph(j - n - 1) + np.trace(C) * ph(2 * j - 2 * n)
    return G, g


def positional_gram(C: Any, n: int, nu: float = 1.0) -> tuple[np.ndarray, np.ndarray, float]:
    """``L(p) = pᵀ G p - 2 gᵀ p + d`` for fixed heads ``C`` and phases on ``[0, 2π/ν)``.

    With ``α_j = j - n + 1`` and ``φ = φ_ν``, split ``Σ_{k,l,l'}`` by coincidences:
    ``G_{jj'} = Re[w₁ φ(j-j')φ(α_j)φ(-α_j') + w₂ φ(j-j'+α_j)φ(-α_j') + w₂ φ(j-j'-α_j')φ(α_j)
    + w₄ φ(j-j')φ(α_j-α_j') + w₅ φ(j-j'+α_j-α_j')]`` with ``w₅ = Σ_k C_kk²``,
    ``w₂ = Σ_k C_kk(Σ_l C_kl - C_kk)``, ``w₄ = ||C||_F² - w₅``, ``w₁ = ||C1||² - w₅ - 2w₂ - w₄``;
    ``g_j = Re[(ΣC - tr C) φ(α_j) φ(j-n-1) + tr C φ(2j-2n)]``.  Shapes ``G (n+1, n+1)``, ``g (n+1,)``.
    """
    C = square_matrix(C)
    n = positive_int(n, "n")
    nu = angle_range(nu)
    validate.memory(GRAM_BYTES_PER_ENTRY * (n + 1) ** 2, "n", f"the positional Gram matrix of row n = {n:,}")
    G, g = _positional_gram_terms(C, n, lambda m: phase_moment(m, nu))
    return G.real, g.real, float(C.shape[0])


# Digits of the extended-precision spectrum: the adaptive loop stops at 2000; an explicit request
# above 10^5 digits would spend hours in one eigendecomposition.
MAX_SPECTRUM_DIGITS = 10 ** 5


def positional_gram_spectrum(C: Any, n: int, nu: float = 1.0, *, digits: int | None = None) -> np.ndarray:
    """Eigenvalues of the positional Gram matrix ``G (n+1, n+1)`` of :func:`positional_gram`,
    ascending, shape ``(n+1,)``, computed in ``digits``-digit arithmetic (mpmath) and rounded to float64.

    ``G`` is a Gram matrix of the functions ``θ ↦ ŝ`` contributed by each key, restricted to an arc
    ``[0, 2π/ν)``: for ν > 1 its eigenvalues decay super-exponentially (for ``d = 1``,
    ``G = C² [sinc(4π(j-j')/ν)]`` is a prolate matrix of bandwidth ``2/ν``), far below float64
    round-off ``1e-16·λ_max``.  ``digits=None`` starts at 60 and doubles until the smallest
    eigenvalue exceeds ``10^{15-digits}·λ_max`` (its absolute error bound times 10³).
    """
    import mpmath

    C = square_matrix(C)
    n = positive_int(n, "n")
    nu = angle_range(nu)
    adaptive = digits is None
    digits = 60 if adaptive else positive_int(digits, "digits", minimum=16, maximum=MAX_SPECTRUM_DIGITS)
    # mpmath numbers of ``digits`` digits: about 100 bytes plus ``digits / 2.4`` per real, a dozen
    # complex (n+1, n+1) object arrays of them (the adaptive loop may double up to 2000 digits)
    per = 2 * (100 + max(digits, 2000 if adaptive else digits) / 2.4)
    validate.memory(12 * per * (n + 1) ** 2, "n", f"the extended-precision Gram matrix of row n = {n:,}")
    while True:
        with mpmath.workdps(digits):
            mnu = mpmath.mpf(nu) if float(nu) != round(nu) else mpmath.mpf(int(round(nu)))

            def phi(m):  # φ_ν(m) in mpmath, elementwise
                def one(k):
                    if k == 0:
                        return mpmath.mpc(1)
                    if nu == 1.0:
                        return mpmath.mpc(0)
                    x = 2 * mpmath.pi * int(k) / mnu
                    return mpmath.mpc(mpmath.sin(x) / x, (1 - mpmath.cos(x)) / x)
                return np.vectorize(one, otypes=[object])(m)

            G, _ = _positional_gram_terms(C.astype(object), n, phi)
            Gm = mpmath.matrix([[mpmath.re(x) for x in row] for row in G])
            ev = sorted(mpmath.eigsy(Gm, eigvals_only=True))
            top = max(abs(ev[0]), abs(ev[-1]))
            resolved = top == 0 or ev[0] > mpmath.mpf(10) ** (15 - digits) * top
            out = np.array([float(x) for x in ev])
        if resolved or not adaptive or digits >= 2000:
            return out
        digits *= 2


def positional_gram_condition_number(C: Any, n: int, nu: float = 1.0) -> float:
    """``κ(G) = λ_max(G) / λ_min(G)`` of the positional Gram matrix, from
    :func:`positional_gram_spectrum` (extended precision); ``inf`` when ``G`` is singular."""
    ev = positional_gram_spectrum(C, n, nu)
    return float(ev[-1] / ev[0]) if ev[0] > 0 else float("inf")


def positional_population_loss(p: Any, C: Any, nu: float = 1.0) -> float:
    """``L(p) = pᵀ G p - 2 gᵀ p + d`` (see :func:`positional_gram`); ``p (n+1,)``."""
    p = positional_weights(p)
    validate.memory(GRAM_BYTES_PER_ENTRY * p.shape[0] ** 2, "p", f"the Gram matrix of {p.shape[0]:,} weights")
    G, g, c = positional_gram(C, p.shape[0] - 1, nu)
    return float(p @ G @ p - 2 * g @ p + c)


def _float_condition(G: np.ndarray) -> float:
    """Float64 estimate of ``κ(G)``, saturating near ``1/ε``; enough to compare with :data:`ILL_CONDITIONED`."""
    if not np.any(G):
        return float("inf")
    s = np.linalg.svd(G, compute_uv=False)
    return float(s[0] / s[-1]) if s[-1] > 0 else float("inf")


def _optimal_positional(C: np.ndarray, n: int, nu: float) -> tuple[np.ndarray, float, float, bool]:
    """``(p*, L*, float64 κ(G), exact)`` for one row; see :func:`optimal_positional_weights`."""
    G, g, c = positional_gram(C, n, nu)
    kappa = _float_condition(G)
    diagonal = not np.any(C - np.diag(np.diag(C)))
    fro2 = float(np.sum(C ** 2))
    if diagonal or nu == 1.0:
        p = np.zeros(n + 1)
        if fro2 > 0:
            p[n] = np.trace(C) / fro2
        return p, float(c - np.trace(C) ** 2 / fro2) if fro2 > 0 else float(c), kappa, True
    p = np.linalg.lstsq(G, g, rcond=None)[0]
    return p, float(c - g @ p), kappa, False


def _warn_ill_conditioned(rows: list[tuple[int, float, bool]], nu: float) -> None:
    if not rows:
        return
    exact = all(e for _, _, e in rows)
    worst = max(k for _, k, _ in rows)
    what = ("the exact closed-form minimiser tr(C)/||C||_F² e_n is returned" if exact else
            "the least-squares p* = G⁺g depends on the pseudo-inverse cutoff (L* is reliable, p* is not)")
    warnings.warn(f"positional Gram matrix ill-conditioned for n = {[r for r, _, _ in rows]} at nu = {nu:g}: "
                  f"condition number >= {min(worst, 1e17):.3g} > {ILL_CONDITIONED:g} (float64 estimate; "
                  f"positional_gram_condition_number gives the exact value); {what}",
                  IllConditionedGramWarning, stacklevel=3)


def optimal_positional_weights(C: Any, n: int, nu: float = 1.0) -> tuple[np.ndarray, float]:
    """Minimiser ``p* (n+1,)`` of ``L(p) = pᵀ G p - 2 gᵀ p + d`` and ``L* = L(p*)``.

    Exact closed form when ``C`` is diagonal (any ν; includes ``d = 1``) or ``ν = 1`` (any ``C``):
    ``p* = tr(C)/||C||_F² · e_n`` and ``L* = d - tr(C)²/||C||_F²`` (``p* = 0, L* = d`` if ``C = 0``).
    Proof (diagonal ``C``): ``ŝ[k] = C_kk Σ_j p_j λ_k^{2j-n+1}`` and the target ``λ_k^{n+1}`` is the
    ``j = n`` feature, so ``G = (Σ_k C_kk²) Γ`` and ``g = tr(C) Γ e_n`` with the same ``Γ_{jj'} =
    Re φ_ν(2(j-j'))``: ``G p* = g``.  (``ν = 1``: ``G = ||C||_F² I + (||C1||² - ||C||_F²) e_{n-1}e_{n-1}ᵀ``,
    ``g = tr(C) e_n``, claim 4.)  For ``d = 1`` this is ``p* = e_n / C``, ``L* = 0``: the last key
    ``s_n`` times the score ``conj(s_{n-1}) s_n = λ`` is ``s_{n+1}`` exactly.

    Otherwise ``p* = G⁺ g`` by float64 least squares.  When the condition number of ``G`` exceeds
    :data:`ILL_CONDITIONED` an :class:`IllConditionedGramWarning` says so (and whether ``p*`` is
    the closed form or cutoff-dependent).
    """
    C = square_matrix(C)
    n = positive_int(n, "n")
    nu = angle_range(nu)
    p, loss, kappa, exact = _optimal_positional(C, n, nu)
    _warn_ill_conditioned([(n, kappa, exact)] if kappa > ILL_CONDITIONED else [], nu)
    return p, loss


def optimal_positional_matrix(C: Any, T: int, nu: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Full positional matrix: row ``n`` (query position, ``n = 1..T``) weights keys ``0..n``
    to predict ``s_{n+1}``; the loss summed over rows decouples, so row ``n`` is
    :func:`optimal_positional_weights` ``(C, n, ν)``.  Returns ``(P (T, T+1)`` lower
    triangular, ``losses (T,))``; one :class:`IllConditionedGramWarning` lists the ill-conditioned rows."""
    C = square_matrix(C)
    T = positive_int(T, "T")
    nu = angle_range(nu)
    validate.memory(8 * T * (T + 1) + GRAM_BYTES_PER_ENTRY * (T + 1) ** 2, "T",
                    f"the positional matrix of {T:,} rows")
    P = np.zeros((T, T + 1))
    losses = np.zeros(T)
    bad = []
    for n in range(1, T + 1):  # rows have different sizes; T is small
        P[n - 1, : n + 1], losses[n - 1], kappa, exact = _optimal_positional(C, n, nu)
        if kappa > ILL_CONDITIONED:
            bad.append((n, kappa, exact))
    _warn_ill_conditioned(bad, nu)
    return P, losses


def positional_row_grams(C: Any, n_max: int, nu: float = 1.0) -> tuple[np.ndarray, np.ndarray, float]:
    """The Gram matrices of rows ``n = 1..n_max`` stacked and zero-padded: ``G (n_max, n_max+1, n_max+1)``
    with an identity block on the padding ``j > n``, ``g (n_max, n_max+1)`` zero there, and ``d``.

    The identity padding keeps the stack square for batched ``eigh`` while leaving the padded
    coordinates of gradient descent at zero (their gradient ``p_j - 0`` vanishes from ``p = 0``).
    """
    C = square_matrix(C)
    n_max = positive_int(n_max, "n_max")
    nu = angle_range(nu)
    validate.memory(8 * (n_max + 1) ** 3 + GRAM_BYTES_PER_ENTRY * (n_max + 1) ** 2, "n_max",
                    f"the Gram matrices of {n_max:,} rows")
    G = np.tile(np.eye(n_max + 1), (n_max, 1, 1))
    g = np.zeros((n_max, n_max + 1))
    for n in range(1, n_max + 1):
        G[n - 1, : n + 1, : n + 1], g[n - 1, : n + 1], _ = positional_gram(C, n, nu)
    return G, g, float(C.shape[0])


def gd_spectral_filter(lam: Any, kappa: float, t: Any) -> np.ndarray:
    """``f_t(λ) = (1 - (1 - κλ)^t) / λ`` (``= tκ`` at ``λ = 0``), broadcast over ``lam`` and ``t``.

    ``t`` steps ``p ← p - κ(Gp - g)`` from ``p = 0`` give ``p(t) = f_t(G) g``; ``λ f_t(λ) = 1 - (1 - κλ)^t``
    is the fraction of the eigen-component ``u_iᵀg/λ_i`` of the minimiser that is reached.
    ``-expm1(t·log1p(-κλ))/λ`` keeps every digit for tiny ``|λ|`` (where ``f_t ≈ tκ``), which is
    where ill-conditioned Gram matrices put most of their eigenvalues.

    ``lam`` finite reals, ``kappa`` a finite step factor ``> 0``, ``t`` whole step counts in
    ``0..2^53`` (a negative ``t`` is no number of steps; above ``2^53`` float64 counts are not exact).
    """
    validate.finite_numeric_array(lam, "lam", complex_ok=False)
    kappa = finite_float(kappa, "kappa", positive=True)
    validate.integer_array(t, "t", minimum=0, maximum=validate.MAX_EXACT_FLOAT_INT)
    lam = np.asarray(lam, dtype=np.float64)
    x = kappa * lam
    t = np.asarray(t, dtype=np.float64)
    safe = np.where(lam == 0, 1.0, lam)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        stable = -np.expm1(t * np.log1p(-np.minimum(x, 0.5))) / safe
        power = (1.0 - np.sign(1.0 - x) ** t * np.abs(1.0 - x) ** t) / safe
    out = np.where(x < 0.5, stable, power)
    return np.where(lam == 0, t * kappa, out)


def _quadratic_stack(G: Any, g: Any, c: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    G = finite_array(G, "G", ndim=3)
    R, m, m2 = G.shape
    if m != m2 or R < 1 or m < 1:
        raise ValueError(f"G: expected a stack (rows, m, m) of square matrices, got shape {G.shape}")
    if np.max(np.abs(G - G.transpose(0, 2, 1))) > 1e-12 * max(1.0, np.max(np.abs(G))):
        raise ValueError("G: expected symmetric matrices")
    g = finite_array(g, "g", shape=(R, m))
    c = finite_array(c, "c")
    if c.shape not in ((), (R,)):
        raise ValueError(f"c: expected a number or an array of shape ({R},), got shape {c.shape}")
    return G, g, np.broadcast_to(c, (R,)).astype(np.float64)


def quadratic_gd_path(G: Any, g: Any, c: Any, lr: float, *, stop_loss: float | None = None,
                      steps: int | None = None) -> tuple[np.ndarray, int]:
    """Full-batch gradient descent from ``P = 0`` on ``L̄(P) = (1/R) Σ_r (p_rᵀ G_r p_r - 2 g_rᵀ p_r + c_r)``.

    ``G (R, m, m)`` symmetric, ``g (R, m)``, ``c`` scalar or ``(R,)``.  Step: ``p_r ← p_r - lr·∇_{p_r} L̄
    = p_r - κ (G_r p_r - g_r)`` with ``κ = 2·lr/R``.  With ``G_r = U Λ Uᵀ`` the iterate is, exactly,

        ``p_r(t) = U f_t(Λ) Uᵀ g_r``  (:func:`gd_spectral_filter`),
        ``L̄(t) = mean_r [c_r - Σ_i (u_iᵀ g_r)² f_{2t}(λ_i)]``  (non-increasing when ``κλ_max < 2``).

    ``f_t`` is bounded by ``tκ`` near ``λ = 0``, so the float64 eigendecomposition gives the path to
    round-off even when ``κ(G_r)`` is far beyond ``1/ε`` (eigenvalues in a cluster at round-off level
    share ``f_t ≈ tκ``, so the ill-determined eigenvectors inside the cluster do not matter).

    Exactly one of ``steps`` (return ``P(steps)``) and ``stop_loss`` (the rule of Sander et al.'s
    experiment: with ``t*`` the first ``t ≥ 0`` with ``L̄(P(t)) < stop_loss``, the step from ``P(t*)``
    is still taken: return ``P(t*+1)`` and ``t*+1``).  Stop mode needs ``lr < R/λ_max`` (else the
    loss does not decrease monotonically) and a ``stop_loss`` above ``inf_t L̄``; ``t*`` is found by
    doubling and bisection on the closed-form ``L̄(t)``.

    Returns ``(P (R, m), steps_taken)``.
    """
    G, g, c = _quadratic_stack(G, g, c)
    lr = finite_float(lr, "lr", positive=True)
    if (stop_loss is None) == (steps is None):
        raise ValueError("stop_loss: give exactly one of stop_loss and steps, "
                         f"got stop_loss={stop_loss!r}, steps={steps!r}")
    if steps is not None:  # the filter takes 2·steps as a float64: exact integers up to 2^53
        steps = positive_int(steps, "steps", minimum=0, maximum=validate.MAX_EXACT_FLOAT_INT // 2)
    else:
        stop_loss = finite_float(stop_loss, "stop_loss", positive=True)
    R = G.shape[0]
    kappa = 2.0 * lr / R
    if not (np.isfinite(kappa) and kappa > 0):
        raise ValueError(f"lr: expected a step whose κ = 2·lr/rows is a positive float64 number, got lr = {lr}")
    lam, U = np.linalg.eigh(G)                                   # (R, m), (R, m, m)
    b = np.einsum("rji,rj->ri", U, g)                            # u_iᵀ g_r

    def mean_loss(t: int) -> float:
        return float(np.mean(c - np.sum(b ** 2 * gd_spectral_filter(lam, kappa, 2 * t), axis=1)))

    if stop_loss is not None:
        top = float(lam.max())
        if kappa * top >= 2.0:
            raise ValueError(f"lr: expected lr < rows/λ_max = {R / top:.6g} for gradient descent to "
                             f"decrease the loss, got {lr}")
        if mean_loss(0) < stop_loss:
            first = 0
        else:
            hi = 1
            while mean_loss(hi) >= stop_loss:
                if hi >= 2 ** 52:
                    raise ValueError(f"stop_loss: the mean loss never falls below {stop_loss:g} "
                                     f"(it is still {mean_loss(hi):.6g} after 2^52 steps)")
                hi *= 2
            lo = hi // 2                                          # L̄(lo) >= stop_loss > L̄(hi), monotone
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if mean_loss(mid) >= stop_loss else (lo, mid)
            first = hi
        steps = first + 1
    P = np.einsum("rij,rj,rj->ri", U, gd_spectral_filter(lam, kappa, steps), b)
    if not np.all(np.isfinite(P)):
        raise ValueError(f"lr: gradient descent overflows after {steps} steps with lr = {lr}")
    return P, int(steps)


def positional_gd_path(C: Any, n_max: int, nu: float, lr: float, *, stop_loss: float | None = None,
                       steps: int | None = None) -> tuple[np.ndarray, int]:
    """The positional-weight experiment of Sander et al. (Section 5, learned positional encodings;
    spec claim 7): full-batch gradient descent from ``P = 0`` on the mean over rows ``n = 1..n_max``
    of the population loss ``L_n(p) = pᵀ G_n p - 2 g_nᵀ p + d`` (:func:`positional_gram` of row ``n``:
    keys ``s_0..s_n``, query ``s_{n-1}``, target ``s_{n+1}``), step ``lr``.

    Computed in closed form by :func:`quadratic_gd_path` on :func:`positional_row_grams`:
    ``p_n(t) = U f_t(Λ) Uᵀ g_n`` with ``f_t(λ) = (1 - (1 - κλ)^t)/λ``, ``κ = 2·lr/n_max``.  GD keeps
    the eigen-components with ``κλt ≫ 1`` (they reach ``u_iᵀg/λ_i``) and damps the others to
    ``≈ tκ·u_iᵀg``: for ``d = 1`` (``p* = e_n/C``) the learned row is ``(I - (I - κG_n)^t) e_n / C``,
    the last-key indicator seen through the few leading (discrete prolate) eigenvectors of
    ``G_n ∝ [sinc(4π(j-j')/ν)]`` — a smooth trigonometric-looking row, not the minimiser.

    Exactly one of ``stop_loss`` (stop one step after the mean loss first falls below it, as in the
    paper) and ``steps``.  Returns ``(P (n_max, n_max+1), steps_taken)``; row ``n-1`` holds
    ``p_0..p_n``, zeros after.
    """
    C = square_matrix(C)
    n_max = positive_int(n_max, "n_max")
    nu = angle_range(nu)
    lr = finite_float(lr, "lr", positive=True)
    G, g, d = positional_row_grams(C, n_max, nu)
    P, taken = quadratic_gd_path(G, g, d, lr, stop_loss=stop_loss, steps=steps)
    return P * np.tril(np.ones((n_max, n_max + 1)), k=1), taken  # padded coordinates are exactly zero
