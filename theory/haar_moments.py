"""Exact moments of Haar orthogonal contexts for one gradient step in context (Figure 5 of Sander et al.,
2024: ``W`` Haar on ``O(d)``, non-commuting; spec 2, claim 3, general orthogonal case).

Sequences ``s_{t+1} = W s_t`` with ``||s_0|| = 1`` (fixed, or uniform on the sphere: the losses below are
the same, see :func:`haar_gd_step_coefficients`).  Positions are the official ones: position ``t = 0..T-1``
predicts ``s_{t+1}`` from ``s_0..s_t``, and one gradient step from ``W' = 0`` on
``½ Σ_{j<t} ||s_{j+1} - W' s_j||²`` predicts ``η G_t s_t`` with ``G_t = Σ_{j<t} s_{j+1} s_jᵀ``
(``G_0 = 0``: position 0 predicts 0).

Reduction to class functions.  With ``c_k = s_0ᵀ W^k s_0`` (``c_0 = 1``, ``c_{-k} = c_k``) and ``W``
orthogonal, ``⟨s_j, s_t⟩ = c_{t-j}``, so

    G_t s_t = Σ_{k=1..t} c_k s_{t+1-k},
    b_t = E⟨G_t s_t, s_{t+1}⟩ = Σ_{k=1..t} E[c_k²],
    a_t = E||G_t s_t||²      = Σ_{k,k'=1..t} E[c_k c_{k'} c_{k-k'}],
    E||η G_t s_t - s_{t+1}||² = a_t η² - 2 b_t η + 1.

The Haar law is conjugation invariant, so ``s_0`` may be replaced by ``u`` uniform on ``S^{d-1}``
independent of ``W``.  Isserlis' rule on the sphere,
``E[u_{i_1}..u_{i_{2p}}] = Σ_{pairings} Π δ / (d (d+2) .. (d+2p-2))``, turns
``E[Π_i uᵀ W^{n_i} u]`` into a sum over the ``(2p-1)!!`` pairings of products of ``tr(W^m)``
(:func:`pairing_trace_exponents`), and ``E[Π_c tr(W^{m_c})]`` is an integral over the eigenangles
with the Weyl density of each component of ``O(d)`` (:func:`orthogonal_eigenangle_rule`).  The
integrand is a trigonometric polynomial, so a uniform grid of ``N > degree`` points per angle is an
exact rule: every number here is exact up to float64 round-off.

Weyl densities on ``[0, 2π)^m`` (uniform reference measure), each component of weight ½:
``SO(2m)``: ``Π_{i<j}(cos θ_i - cos θ_j)²``;  ``O⁻(2m+2)`` (eigenvalues ±1, e^{±iθ}):
``… · Π sin²θ_i``;  ``SO(2m+1)`` (eigenvalue 1): ``… · Π (1 - cos θ_i)``;  ``O⁻(2m+1)`` (eigenvalue
-1): ``… · Π (1 + cos θ_i)``.  NumPy only, float64.
"""

from __future__ import annotations

import functools
import itertools
import math
from typing import Any

import numpy as np

from theory import validate
from theory.validate import positive_int

__all__ = ["orthogonal_eigenangle_rule", "haar_power_traces", "pairing_trace_exponents",
           "sphere_haar_quadratic_form_moment", "start_overlap_moments", "haar_gd_step_coefficients",
           "haar_best_step_by_position", "haar_best_shared_step", "gd_step_loss_by_position"]


def orthogonal_eigenangle_rule(d: int, degree: int) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues and weights ``(λ (P, d) complex, w (P,))`` such that ``E_{W ~ Haar O(d)} f(W) = Σ_p w_p
    f(λ_p)`` exactly for every class function ``f`` that is a symmetric polynomial of degree ``<= degree``
    in each eigenvalue and its conjugate (e.g. a product of traces ``Π tr(W^{m_c})`` with ``Σ|m_c| <= degree``).

    The grid has ``N = degree + d + 2`` points per eigenangle (folded to ``⌊N/2⌋ + 1``: the integrands are
    even in each angle) and ``⌊(d-1)/2⌋`` or ``⌊d/2⌋`` angles per
    component; refused above 2 GiB."""
    d = positive_int(d, "d")
    degree = positive_int(degree, "degree", minimum=0)
    N = degree + d + 2                     # > degree of integrand times density in each angle
    # the larger component's grid, before any allocation (a float: it may be astronomically large)
    validate.memory(16 * 4 * validate.float_power(N // 2 + 1, d // 2) * d, validate.largest(d=d, degree=degree),
                    f"an eigenangle grid of {N // 2 + 1:,}^{d // 2:,} points")
    # every integrand is even in each angle (it depends on cos θ only): fold θ and 2π - θ together
    half = np.arange(N // 2 + 1)
    fold = np.where((half == 0) | (2 * half == N), 1.0, 2.0)
    comps = []
    for sign in (1, -1):                   # det W = +1 and det W = -1
        fixed = []                         # the real eigenvalues forced by d and det
        if d % 2 == 1:
            fixed = [float(sign)]
        elif sign == -1:
            fixed = [1.0, -1.0]
        m = (d - len(fixed)) // 2
        validate.memory(16 * 4 * float(half.size) ** m * d, "degree", f"an eigenangle grid of {half.size}^{m} points")
        # and symmetric in the angles: one point per multiset of grid indices, weighted by its orderings
        idx = np.array(list(itertools.combinations_with_replacement(half, m)), dtype=int) if m \
            else np.zeros((1, 0), dtype=int)
        theta = 2 * np.pi * idx / N
        orderings = np.array([math.factorial(m) / np.prod([math.factorial(c) for c in np.unique(r, return_counts=True)[1]])
                              for r in idx]) if m else np.ones(1)
        mult = orderings * (np.prod(fold[idx], axis=1) if m else np.ones(1))
        cos = np.cos(theta)
        dens = mult.copy()
        for i, j in itertools.combinations(range(m), 2):
            dens *= (cos[:, i] - cos[:, j]) ** 2
        if d % 2 == 1:
            dens *= np.prod(1 - sign * cos, axis=1)
        elif sign == -1:
            dens *= np.prod(1 - cos ** 2, axis=1)
        lam = np.concatenate([np.exp(1j * theta), np.exp(-1j * theta),
                              np.tile(np.array(fixed, dtype=complex), (theta.shape[0], 1))], axis=1)
        comps.append((lam, 0.5 * dens / dens.sum()))
    return np.concatenate([c[0] for c in comps]), np.concatenate([c[1] for c in comps])


def haar_power_traces(d: int, max_power: int, degree: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(τ (P, 2M+1), w (P,))`` with ``τ[p, M + m] = tr(W_p^m)``, ``m = -M..M`` (real: ``tr W^{-m} = tr W^m``),
    on :func:`orthogonal_eigenangle_rule` ``(d, degree)`` (default ``degree = max_power``)."""
    M = positive_int(max_power, "max_power", minimum=0)
    degree = M if degree is None else positive_int(degree, "degree", minimum=0)
    d = positive_int(d, "d")
    validate.memory(3 * 16 * (2.0 * M + 1), "max_power", f"power traces up to {M:,}")  # at least one point
    lam, w = orthogonal_eigenangle_rule(d, degree)
    validate.memory(3 * 16 * lam.shape[0] * (2 * M + 1), "max_power", f"power traces of {lam.shape[0]:,} points")
    powers = np.arange(-M, M + 1)
    tau = np.einsum("pk,pkm->pm", np.ones_like(lam.real), (lam[:, :, None] ** powers[None, None, :]).real)
    return tau, w


def pairing_trace_exponents(p: int) -> tuple[tuple[tuple[tuple[int, ...], ...], ...], ...]:
    """For ``p`` quadratic forms ``uᵀ X_i u`` (``X_i = W^{n_i}``), one entry per pairing of the ``2p``
    indices: the cycles it closes, each a tuple of signs ``(σ_1..σ_p)`` (0 when ``X_i`` is not on the cycle)
    with ``tr(Π_i X_i^{σ_i}) = tr(W^{Σ σ_i n_i})`` (``-1``: the factor is traversed transposed).

    ``E_u[Π_i uᵀ X_i u] = Σ_{pairings} Π_{cycles} tr(W^{σ·n}) / (d (d+2) .. (d+2p-2))``."""
    return _pairing_trace_exponents(positive_int(p, "p", maximum=6))


@functools.lru_cache(maxsize=8)
def _pairing_trace_exponents(p: int) -> tuple[tuple[tuple[tuple[int, ...], ...], ...], ...]:
    slots = [(i, s) for i in range(p) for s in (0, 1)]

    def pairings(items):
        if not items:
            yield []
            return
        first, rest = items[0], items[1:]
        for k in range(len(rest)):
            for tail in pairings(rest[:k] + rest[k + 1:]):
                yield [(first, rest[k])] + tail

    out = []
    for pairing in pairings(slots):
        partner = {}
        for x, y in pairing:
            partner[x], partner[y] = y, x
        seen, cycles = set(), []
        for i in range(p):
            if i in seen:
                continue
            signs = [0] * p
            slot = (i, 0)
            while True:                                # traverse factor from `slot` to its other end
                j, s = slot
                seen.add(j)
                signs[j] += 1 if s == 0 else -1
                slot = partner[(j, 1 - s)]
                if slot == (i, 0):
                    break
            cycles.append(tuple(signs))
        out.append(tuple(cycles))
    return tuple(out)


def sphere_haar_quadratic_form_moment(d: int, exponents: Any) -> float:
    """``E[Π_i uᵀ W^{n_i} u]`` for ``W`` Haar on ``O(d)`` and ``u`` uniform on ``S^{d-1}`` (equivalently any
    fixed unit ``s_0``): ``exponents`` = ``(n_1..n_p)`` integers, ``p <= 6``; exact (Isserlis on the sphere
    and the Weyl rule, see the module docstring)."""
    d = positive_int(d, "d")
    n = validate.integer_array(exponents, "exponents")
    if n.ndim != 1 or not 1 <= n.size <= 6:
        raise ValueError(f"exponents: expected 1 to 6 integers, got shape {n.shape}")
    p = n.size
    if np.abs(n).max() > validate.MAX_POSITIONS:  # the sum below stays far from int64 overflow
        raise ValueError(f"exponents: expected powers of magnitude <= {validate.MAX_POSITIONS:,}, "
                         f"got {np.abs(n).max():,}")
    M = int(np.abs(n).sum())
    validate.memory(3 * 16 * (2.0 * M + 1) + 16 * 4 * validate.float_power(M // 2 + d // 2 + 2, d // 2) * d,
                    validate.largest(exponents=M, d=d), f"a Weyl rule of degree {M:,} in dimension {d:,}")
    tau, w = haar_power_traces(d, M)
    total = np.zeros(tau.shape[0])
    for cycles in pairing_trace_exponents(p):
        term = np.ones(tau.shape[0])
        for signs in cycles:
            term = term * tau[:, M + int(np.dot(signs, n))]
        total += term
    return float(w @ total / np.prod(d + 2.0 * np.arange(p)))


def start_overlap_moments(d: int, T: int) -> tuple[np.ndarray, np.ndarray]:
    """``(E[c_k²] (T+1,), E[c_k c_{k'} c_{k-k'}] (T+1, T+1))`` for ``k, k' = 0..T``, ``c_k = s_0ᵀ W^k s_0``,
    ``W`` Haar on ``O(d)``, ``||s_0|| = 1``; exact (one Weyl rule of degree ``2T``, vectorised over
    ``k, k'``).  Peak memory about ``8 P (T+1)²`` bytes (``P`` rule points), refused above 2 GiB."""
    d = positive_int(d, "d")
    T = positive_int(T, "T", minimum=0)
    # the overlaps at one rule point (at least one), and the rule of degree 2T, before allocating
    validate.memory(4 * 8 * (T + 1.0) ** 2 + 16 * 4 * validate.float_power(T + d // 2 + 2, d // 2) * d,
                    validate.largest(T=T, d=d), f"overlap moments up to lag {T:,} in dimension {d:,}")
    tau, w = haar_power_traces(d, 2 * T)
    validate.memory(4 * 8 * tau.shape[0] * (T + 1) ** 2, "T", f"triple overlap moments up to lag {T:,}")
    M = 2 * T
    k = np.arange(T + 1)
    second = np.zeros(T + 1)
    for cycles in pairing_trace_exponents(2):
        term = np.ones((tau.shape[0], T + 1))
        for signs in cycles:
            term = term * tau[:, M + (signs[0] + signs[1]) * k]
        second += w @ term
    second /= d * (d + 2.0)
    # tr W^m = tr W^{-m}: pairings whose cycles agree up to each cycle's orientation give the same term
    canon: dict = {}
    for cycles in pairing_trace_exponents(3):
        key = tuple(sorted(tuple(-x for x in c) if next(x for x in c if x) < 0 else c for c in cycles))
        canon[key] = canon.get(key, 0) + 1
    signs3 = np.array([list(c) + [(0, 0, 0)] * (3 - len(c)) for c in canon])   # (G, 3 cycles, 3 factors)
    count = np.array(list(canon.values()), dtype=float)                    # (G,) pairings per class
    ones = np.ones(tau.shape[0])
    tau_w = np.concatenate([tau, ones[:, None]], axis=1)                    # column -1: an empty cycle
    third = np.zeros((T + 1, T + 1))
    for kk in range(T + 1):                                                 # row k: lags k' = 0..T, L = k - k'
        n = np.stack([np.full(T + 1, kk), k, kk - k], -1)                   # (T+1, 3)
        e = np.einsum("mcf,kf->mck", signs3, n) + M                         # (15, 3, T+1) exponent + M
        e = np.where((signs3 != 0).any(-1)[:, :, None], e, tau.shape[1])    # empty cycle -> the ones column
        term = tau_w[:, e[:, 0]] * tau_w[:, e[:, 1]] * tau_w[:, e[:, 2]]    # (P, G, T+1)
        third[kk] = np.einsum("p,m,pmk->k", w, count, term)
    third /= d * (d + 2.0) * (d + 4.0)
    return second, third


def haar_gd_step_coefficients(d: int, T: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(a, b, c)``, each ``(T,)``, of ``E||η G_t s_t - s_{t+1}||² = a_t η² - 2 b_t η + c_t`` at positions
    ``t = 0..T-1``: ``a_t = Σ_{k,k'=1..t} E[c_k c_{k'} c_{k-k'}]``, ``b_t = Σ_{k=1..t} E[c_k²]``, ``c_t = 1``
    (W Haar on O(d), ``||s_0|| = 1`` fixed or uniform on the sphere: rotating ``s_0`` by ``U`` maps the
    sequence to ``U s_t`` and ``G_t s_t`` to ``U G_t s_t``, so the law of ``s_0`` on the sphere does not
    enter).  Exact; sequences of length ``T + 1`` (``s_0..s_T``)."""
    T = positive_int(T, "T")
    second, third = start_overlap_moments(d, T)
    b = np.concatenate([[0.0], np.cumsum(second[1:T])])            # b_t, t = 0..T-1
    inner = third[1:, 1:]                                           # k, k' = 1..T
    a = np.array([inner[:t, :t].sum() for t in range(T)])
    return a, b, np.ones(T)


def haar_best_step_by_position(d: int, T: int) -> tuple[np.ndarray, np.ndarray]:
    """``(η*_t, L*_t)``, each ``(T,)``: ``η*_t = b_t / a_t``, ``L*_t = 1 - b_t²/a_t`` (squared norm, not
    per coordinate) at positions ``t = 0..T-1``; position 0 (``G_0 = 0``) has ``η* = 0``, ``L* = 1``."""
    a, b, c = haar_gd_step_coefficients(d, T)
    safe = np.where(a > 0, a, 1.0)
    eta = np.where(a > 0, b / safe, 0.0)
    return eta, c - np.where(a > 0, b * b / safe, 0.0)


def haar_best_shared_step(d: int, T: int) -> tuple[float, float]:
    """``(η, L)``: the one step shared by positions ``0..T-1`` minimising the all-positions mean
    ``(1/T) Σ_t (a_t η² - 2 b_t η + 1)``: ``η = Σ b_t / Σ a_t``, ``L = 1 - (Σ b_t)² / (T Σ a_t)`` (squared norm)."""
    a, b, c = haar_gd_step_coefficients(d, T)
    if not a.sum() > 0:
        raise ValueError(f"T: the shared step needs a position with G_t ≠ 0 (T >= 2), got T = {T}")
    eta = b.sum() / a.sum()
    return float(eta), float(c.mean() - b.sum() ** 2 / (T * a.sum()))


def gd_step_loss_by_position(eta: Any, d: int, T: int) -> np.ndarray:
    """``E||η G_t s_t - s_{t+1}||²`` at positions ``t = 0..T-1`` for one step ``η`` (float) or one step per
    position (``(T,)``): ``(T,)``, squared norm."""
    eta = validate.finite_array(eta, "eta")
    T = positive_int(T, "T")
    if eta.shape not in ((), (1,), (T,)):
        raise ValueError(f"eta: expected one step or one per position, shape () or ({T},), got {eta.shape}")
    a, b, c = haar_gd_step_coefficients(d, T)
    eta = np.broadcast_to(eta, (T,))
    return a * eta ** 2 - 2 * b * eta + c
