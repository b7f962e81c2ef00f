"""In-context autoregressive learning (Sander et al., 2024): the mathematics.

Notation of ``shared/spec/autoregressive.md``.  Sequences ``s_{t+1} = W s_t``
with a context matrix ``W`` drawn per sequence:

- commuting unitary: ``W = Q diag(λ) Q*``, ``λ_k = e^{iθ_k}``, ``θ_k`` i.i.d.
  uniform on ``[0, 2π/ν)``;
- commuting orthogonal (real, ``d`` even): ``W = P diag(R(θ_1), ..., R(θ_{d/2})) Pᵀ``
  with 2×2 rotations ``R(θ)``; in the complex eigenbasis its eigenvalues come in
  conjugate pairs ``(λ_m, conj λ_m)`` (coordinates ``2m, 2m+1`` below);
- general orthogonal: Haar on ``O(d)``.

Phase-moment rule (full circle, ν = 1): ``E[Π_k λ_k^{m_k}] = 1`` if every
``m_k = 0`` else ``0``; for a range ν the factor of each independent phase is
``φ_ν(m) = E[e^{imθ}] = (e^{2πim/ν} - 1) / (2πim/ν)`` (``φ_ν(0) = 1``).

Every population loss below is *derived* by sympy from the model: the
prediction is written as a Laurent polynomial in the eigenvalues, the squared
error is expanded and the phase-moment rule is applied monomial by monomial.
For the one-step-GD loss with generic ``(t, d)`` the expansion is done over
index coincidences: a sum over eigen-indices ``k, l, l'`` in ``[d]`` is split
by the set partition of equal indices (``d(d-1)…`` assignments per partition)
and the rule becomes linear equations on the positions ``j, j'`` whose
solutions in ``[1, t]`` are counted symbolically.
"""

from __future__ import annotations

import functools
import itertools
import warnings
from typing import Any

import numpy as np
import sympy as sp
from sympy.utilities.iterables import multiset_partitions

from theory.validate import choice, finite_array, finite_float, positive_int, rng as as_rng

KINDS = ("unitary", "orthogonal", "haar")


# ---------------------------------------------------------------------------
# argument checks specific to this paper
# ---------------------------------------------------------------------------

def _nu(nu: Any) -> float:
    x = finite_float(nu, "nu")
    if x < 1:
        raise ValueError(f"nu: expected an angle-range parameter >= 1, got {x}")
    return x


def _even_d(d: Any, name: str = "d") -> int:
    d = positive_int(d, name, minimum=2)
    if d % 2:
        raise ValueError(f"{name}: expected an even dimension for real orthogonal contexts, got {d}")
    return d


def _square(C: Any, name: str = "C") -> np.ndarray:
    C = finite_array(C, name, ndim=2)
    if C.shape[0] != C.shape[1] or C.shape[0] < 1:
        raise ValueError(f"{name}: expected a square (d, d) matrix, got shape {C.shape}")
    return C


def _weights(p: Any, name: str = "p") -> np.ndarray:
    p = finite_array(p, name, ndim=1)
    if p.shape[0] < 2:
        raise ValueError(f"{name}: expected positional weights of length n+1 with n >= 1, got length {p.shape[0]}")
    return p


def _int_array(x: Any, name: str, minimum: int = 1) -> np.ndarray:
    """``x`` (int or array of ints) as an int64 array, every entry >= minimum."""
    if np.isscalar(x):
        return np.asarray(positive_int(x, name, minimum), dtype=np.int64)
    arr = np.asarray(x)
    if arr.dtype.kind not in "iu" or arr.size == 0:
        raise ValueError(f"{name}: expected integers >= {minimum}, got an array of dtype {arr.dtype}")
    if np.any(arr < minimum):
        raise ValueError(f"{name}: expected integers >= {minimum}, min is {arr.min()}")
    return arr.astype(np.int64)


# ---------------------------------------------------------------------------
# context matrices and sequences
# ---------------------------------------------------------------------------

def phase_moment(m: Any, nu: float = 1.0) -> np.ndarray:
    """``φ_ν(m) = E[e^{imθ}]`` for ``θ ~ U[0, 2π/ν)``; ``φ_1(m) = [m = 0]``.

    ``m``: integer array of any shape; returns complex128 of the same shape.
    """
    nu = _nu(nu)
    m = np.asarray(m, dtype=np.float64)
    x = 2 * np.pi * m / nu
    safe = np.where(m == 0, 1.0, x)
    out = (np.exp(1j * safe) - 1) / (1j * safe)
    out = np.where(m == 0, 1.0 + 0j, out)
    if nu == 1.0:  # exact zeros instead of 1e-17 round-off
        out = np.where(m == 0, 1.0 + 0j, 0j)
    return out


def phase_moment_rule(exponents: Any) -> int:
    """Full-circle rule: ``E[Π_k λ_k^{m_k}] = 1`` iff every ``m_k = 0``, else 0."""
    m = np.asarray(exponents)
    if m.dtype.kind not in "iu":
        raise ValueError(f"exponents: expected integers, got dtype {m.dtype}")
    return int(np.all(m == 0))


def sample_phases(d: int, size: int, rng: Any = None, nu: float = 1.0) -> np.ndarray:
    """i.i.d. phases ``θ ~ U[0, 2π/ν)``, shape ``(size, d)``."""
    d = positive_int(d, "d")
    size = positive_int(size, "size")
    nu = _nu(nu)
    return as_rng(rng).uniform(0.0, 2 * np.pi / nu, size=(size, d))


def haar_unitary(d: int, rng: Any = None, real: bool = False) -> np.ndarray:
    """One Haar unitary (or orthogonal if ``real``) ``(d, d)`` matrix (QR with sign fix)."""
    d = positive_int(d, "d")
    g = as_rng(rng)
    Z = g.standard_normal((d, d)) if real else (g.standard_normal((d, d)) + 1j * g.standard_normal((d, d))) / np.sqrt(2)
    Qm, R = np.linalg.qr(Z)
    return Qm * (np.diagonal(R) / np.abs(np.diagonal(R)))


def commuting_unitary_contexts(d: int, size: int, rng: Any = None, nu: float = 1.0,
                               Q: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """``W = Q diag(e^{iθ}) Q*`` with ``θ_k ~ U[0, 2π/ν)`` i.i.d.

    Returns ``(W, lam)``: ``W`` of shape ``(size, d, d)`` complex, ``lam`` of shape ``(size, d)``.
    ``Q`` defaults to the identity.
    """
    theta = sample_phases(d, size, rng, nu)
    lam = np.exp(1j * theta)
    Qm = np.eye(d, dtype=complex) if Q is None else np.asarray(Q, dtype=complex)
    if Qm.shape != (d, d):
        raise ValueError(f"Q: expected shape ({d}, {d}), got {Qm.shape}")
    W = np.einsum("ik,nk,jk->nij", Qm, lam, Qm.conj())
    return W, lam


def rotation_blocks(theta: np.ndarray) -> np.ndarray:
    """Block-diagonal rotations: ``theta (size, d/2)`` → ``(size, d, d)``."""
    size, D = theta.shape
    W = np.zeros((size, 2 * D, 2 * D))
    c, s = np.cos(theta), np.sin(theta)
    idx = np.arange(D)
    W[:, 2 * idx, 2 * idx] = c
    W[:, 2 * idx, 2 * idx + 1] = -s
    W[:, 2 * idx + 1, 2 * idx] = s
    W[:, 2 * idx + 1, 2 * idx + 1] = c
    return W


def commuting_orthogonal_contexts(d: int, size: int, rng: Any = None, nu: float = 1.0,
                                  P: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """``W = P diag(R(θ_1..θ_{d/2})) Pᵀ`` (real, ``d`` even), ``θ_m ~ U[0, 2π/ν)``.

    Returns ``(W (size, d, d), theta (size, d/2))``; ``P`` defaults to the identity.
    """
    d = _even_d(d)
    theta = sample_phases(d // 2, size, rng, nu)
    W = rotation_blocks(theta)
    if P is not None:
        Pm = finite_array(P, "P", shape=(d, d))
        W = Pm @ W @ Pm.T
    return W, theta


def haar_orthogonal_contexts(d: int, size: int, rng: Any = None) -> np.ndarray:
    """``size`` i.i.d. Haar orthogonal matrices, shape ``(size, d, d)`` (non-commuting)."""
    d = positive_int(d, "d")
    size = positive_int(size, "size")
    g = as_rng(rng)
    Z = g.standard_normal((size, d, d))
    Qm, R = np.linalg.qr(Z)
    sign = np.sign(np.diagonal(R, axis1=1, axis2=2))
    return Qm * sign[:, None, :]


def default_s0(d: int, kind: str = "unitary") -> np.ndarray:
    """Unit-norm start token whose eigen-coordinates are all ``1/√d``.

    unitary: ``1/√d ∈ C^d`` (basis Q = I); orthogonal: ``√(2/d)·(1,0,1,0,…)``, whose
    coordinates in the complex eigenbasis ``(1, ∓i)/√2`` of each block are ``1/√d``;
    haar: ``e_1``.
    """
    kind = choice(kind, "kind", KINDS)
    if kind == "unitary":
        d = positive_int(d, "d")
        return np.full(d, 1 / np.sqrt(d), dtype=complex)
    if kind == "orthogonal":
        d = _even_d(d)
        s0 = np.zeros(d)
        s0[0::2] = np.sqrt(2.0 / d)
        return s0
    d = positive_int(d, "d")
    return np.eye(d)[0]


def sequences(W: Any, s0: Any, T: int) -> np.ndarray:
    """``s_t = W^t s_0`` for ``t = 0..T``: ``W (size, d, d)``, ``s0 (d,)`` or ``(size, d)`` → ``(size, T+1, d)``.

    Vectorised by doubling: the block ``s_{0..2^k-1}`` is extended by ``W^{2^k}``,
    so only ``log2(T)`` matrix products are taken.
    """
    T = positive_int(T, "T")
    W = np.asarray(W)
    if W.ndim != 3 or W.shape[1] != W.shape[2]:
        raise ValueError(f"W: expected a stack (size, d, d), got shape {W.shape}")
    size, d, _ = W.shape
    s0 = np.asarray(s0)
    if s0.shape not in ((d,), (size, d)):
        raise ValueError(f"s0: expected shape ({d},) or ({size}, {d}), got {s0.shape}")
    dtype = np.result_type(W, s0)
    S = np.broadcast_to(s0, (size, d)).astype(dtype)[:, None, :]  # (size, 1, d)
    P = W.astype(dtype)
    while S.shape[1] < T + 1:
        S = np.concatenate([S, np.einsum("nij,ntj->nti", P, S)], axis=1)
        P = P @ P
    return S[:, : T + 1]


def sample_sequences(kind: str, d: int, T: int, size: int, rng: Any = None, nu: float = 1.0,
                     s0: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Seeded sampler: ``(S (size, T+1, d), W (size, d, d))`` for a context family ``kind``."""
    kind = choice(kind, "kind", KINDS)
    g = as_rng(rng)
    if kind == "unitary":
        W, _ = commuting_unitary_contexts(d, size, g, nu)
    elif kind == "orthogonal":
        W, _ = commuting_orthogonal_contexts(d, size, g, nu)
    else:
        W = haar_orthogonal_contexts(d, size, g)
    start = default_s0(d, kind) if s0 is None else np.asarray(s0)
    return sequences(W, start, T), W


def one_step_gd_prediction(S: Any, eta: float) -> np.ndarray:
    """``η G_t s_t`` for every ``t = 1..T``, ``G_t = Σ_{j=1..t} s_j s_{j-1}*``.

    ``S``: ``(..., T+1, d)`` (real or complex) → ``(..., T, d)``; row ``t-1`` holds the
    prediction of ``s_{t+1}``.
    """
    eta = finite_float(eta, "eta")
    S = np.asarray(S)
    if S.ndim < 2 or S.shape[-2] < 2:
        raise ValueError(f"S: expected shape (..., T+1, d) with T >= 1, got {S.shape}")
    prev, cur = S[..., :-1, :], S[..., 1:, :]  # s_{j-1}, s_j for j = 1..T
    scores = np.einsum("...jd,...td->...tj", prev.conj(), cur)  # [t, j] = s_{j-1}* s_t
    T = cur.shape[-2]
    scores = scores * np.tril(np.ones((T, T)))
    return eta * np.einsum("...tj,...jd->...td", scores, cur)


# ---------------------------------------------------------------------------
# symbolic engine: the phase-moment rule on Laurent polynomials
# ---------------------------------------------------------------------------

def phase_expectation(expr: sp.Expr, lambdas: list[sp.Symbol], nu: Any = 1) -> sp.Expr:
    """``E[expr]`` for a Laurent polynomial in independent phases ``λ`` on the circle.

    Each monomial ``c Π λ_k^{m_k}`` becomes ``c Π φ_ν(m_k)``; with ``ν = 1`` this is
    the phase-moment rule (keep the monomials with every ``m_k = 0``).
    Complex conjugation must already be written as ``λ → 1/λ``.
    """
    expr = sp.expand(expr)
    lam_set = set(lambdas)
    out = []
    for term in sp.Add.make_args(expr):
        powers = term.as_powers_dict()
        ms = {b: e for b, e in powers.items() if b in lam_set}
        coeff = term / sp.Mul(*[b ** e for b, e in ms.items()])
        if nu == 1:
            if all(e == 0 for e in ms.values()):
                out.append(coeff)
        else:
            fac = sp.Integer(1)
            for e in ms.values():
                if e != 0:
                    x = 2 * sp.pi * sp.I * e / nu
                    fac *= (sp.exp(x) - 1) / x
            out.append(coeff * fac)
    return sp.Add(*out)


def _count_positions(equations: list[sp.Expr], positions: list[sp.Symbol],
                     ranges: dict[sp.Symbol, tuple[sp.Expr, sp.Expr]], t: sp.Symbol) -> sp.Expr:
    """Number of integer points of ``positions`` in their ``ranges`` solving ``equations = 0``.

    Supports what the phase-moment rule produces here: after elimination every
    remaining range constraint involves at most one free position with
    coefficient ±1; constraints free of positions are decided for all ``t >= 1``.
    """
    eqs = [e for e in equations if e != 0]
    if eqs:
        sol = sp.linsolve(eqs, positions)
        if sol == sp.EmptySet:
            return sp.Integer(0)
        (values,) = tuple(sol)
    else:
        values = tuple(positions)
    free = [v for v, val in zip(positions, values) if val == v]
    bounds = {f: ([ranges[f][0]], [ranges[f][1]]) for f in free}
    for v, val in zip(positions, values):
        if val == v:
            continue
        lo, hi = ranges[v]
        inner = [f for f in free if val.has(f)]
        if not inner:
            for gap in (val - lo, hi - val):
                ok = sp.ask(sp.Q.nonnegative(gap), sp.Q.positive(t) & sp.Q.integer(t))
                if ok is False:
                    return sp.Integer(0)
                if ok is None:
                    raise NotImplementedError(f"undecidable range constraint {gap} >= 0")
            continue
        if len(inner) > 1:
            raise NotImplementedError(f"constraint on {val} couples several positions")
        f = inner[0]
        coef = sp.diff(val, f)
        rest = sp.expand(val - coef * f)
        if not (val.is_polynomial(f) and sp.degree(val, f) == 1 and coef in (1, -1)):
            raise NotImplementedError(f"constraint {val} is not unimodular in {f}")
        if coef == 1:
            bounds[f][0].append(lo - rest)
            bounds[f][1].append(hi - rest)
        else:
            bounds[f][0].append(rest - hi)
            bounds[f][1].append(rest - lo)
    count = sp.Integer(1)
    for f, (los, his) in bounds.items():
        n = sp.Min(*his) - sp.Max(*los) + 1
        count *= sp.Max(0, sp.simplify(n))
    return sp.simplify(count)


def _expect_index_sum(term: sp.Expr, lam: sp.IndexedBase, indices: list[sp.Symbol],
                      positions: list[sp.Symbol], ranges: dict, t: sp.Symbol, d: sp.Symbol) -> sp.Expr:
    """``Σ_{indices ∈ [d]} Σ_{positions} E[term]`` for a product ``term`` of powers of ``lam[i]``.

    Splits the index sum by the set partition of coincident indices: a partition
    with ``b`` blocks has ``d(d-1)…(d-b+1)`` assignments, and on it the
    phase-moment rule asks that the exponents of each block add up to zero.
    """
    powers = sp.powsimp(sp.expand_power_base(term, force=True), force=True).as_powers_dict()
    exps = {i: sp.Integer(0) for i in indices}
    coeff = sp.Integer(1)
    for base, e in powers.items():
        if isinstance(base, sp.Indexed) and base.base == lam:
            exps[base.indices[0]] += e
        else:
            coeff *= base ** e
    total = sp.Integer(0)
    for partition in multiset_partitions(list(indices)):
        eqs = [sp.expand(sum(exps[i] for i in block)) for block in partition]
        total += sp.ff(d, len(partition)) * _count_positions(eqs, positions, ranges, t)
    return sp.expand(coeff * total)


@functools.lru_cache(maxsize=None)
def gd_step_loss_coefficients_symbolic() -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """``(a, b, c)`` with ``E||η G_t s_t - s_{t+1}||² = a η² - 2 b η + c`` (symbols ``t, d``).

    Derived from the model: in the eigenbasis ``s_j[k] = λ_k^j / √d``, so
    ``(G_t s_t)[k] = Σ_{j=1..t} Σ_l s_j[k] conj(s_{j-1}[l]) s_t[l]``;
    ``a = E Σ_k |(G_t s_t)[k]|²``, ``b = E Σ_k (G_t s_t)[k] conj(s_{t+1}[k])``,
    ``c = E Σ_k |s_{t+1}[k]|²``, each summed over index coincidences.
    """
    t, d = sp.symbols("t d", positive=True, integer=True)
    j, jp = sp.symbols("j jp", integer=True)
    k, l, lp = sp.symbols("k l lp", integer=True)
    lam = sp.IndexedBase("lam")

    def s(pos, idx):  # s_pos[idx] in the eigenbasis
        return lam[idx] ** pos / sp.sqrt(d)

    def s_conj(pos, idx):  # conj(λ) = 1/λ on the unit circle
        return lam[idx] ** (-pos) / sp.sqrt(d)

    ranges = {j: (sp.Integer(1), t), jp: (sp.Integer(1), t)}
    pred = s(j, k) * s_conj(j - 1, l) * s(t, l)          # summand of (G_t s_t)[k]
    pred_conj = s_conj(jp, k) * s(jp - 1, lp) * s_conj(t, lp)
    a = _expect_index_sum(pred * pred_conj, lam, [k, l, lp], [j, jp], ranges, t, d)
    b = _expect_index_sum(pred * s_conj(t + 1, k), lam, [k, l], [j], ranges, t, d)
    c = _expect_index_sum(s(t + 1, k) * s_conj(t + 1, k), lam, [k], [], ranges, t, d)
    return sp.factor(a), sp.factor(b), sp.factor(c)


@functools.lru_cache(maxsize=None)
def _gd_coefficient_functions():
    a, b, c = gd_step_loss_coefficients_symbolic()
    t, d = sp.symbols("t d", positive=True, integer=True)
    return tuple(sp.lambdify((t, d), e + 0 * t, "numpy") for e in (a, b, c))


def gd_step_loss_coefficients(t: Any, d: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Numeric ``(a, b, c)`` of ``L(η) = a η² - 2 b η + c`` (commuting unitary, full circle,
    ``s_0 = Q·1/√d``); ``t, d`` ints or broadcastable int arrays, ``>= 1``."""
    t = _int_array(t, "t")
    d = _int_array(d, "d")
    fa, fb, fc = _gd_coefficient_functions()
    tf, df = np.broadcast_arrays(t.astype(np.float64), d.astype(np.float64))
    return tuple(np.asarray(f(tf, df), dtype=np.float64) + 0 * tf for f in (fa, fb, fc))


def gd_step_population_loss(eta: Any, t: Any, d: Any) -> Any:
    """``E||η G_t s_t - s_{t+1}||² = a(t,d) η² - 2 b(t,d) η + c(t,d)`` (see
    :func:`gd_step_loss_coefficients`); broadcasts over ``eta, t, d``."""
    e = finite_array(eta, "eta")
    a, b, c = gd_step_loss_coefficients(t, d)
    out = a * e ** 2 - 2 * b * e + c
    return float(out) if out.ndim == 0 else out


def optimal_gd_step(t: Any, d: Any) -> tuple[Any, Any]:
    """``(η*, L*)`` with ``η* = b/a`` and ``L* = c - b²/a``: the best step of one
    gradient-descent step in context; ints give floats, arrays broadcast."""
    a, b, c = gd_step_loss_coefficients(t, d)
    eta, loss = b / a, c - b ** 2 / a
    if eta.ndim == 0:
        return float(eta), float(loss)
    return eta, loss


# ---------------------------------------------------------------------------
# concrete-size symbolic derivations (small d, t / n; generic parameter symbols)
# ---------------------------------------------------------------------------

def _eigen_symbols(d: int, kind: str) -> tuple[list[sp.Symbol], list[sp.Expr]]:
    """Independent phase symbols and the eigenvalue of each coordinate.

    unitary: ``λ_0..λ_{d-1}``; orthogonal: coordinates ``2m, 2m+1`` carry ``(λ_m, 1/λ_m)``.
    """
    if kind == "unitary":
        lams = list(sp.symbols(f"lam0:{d}"))
        return lams, lams
    lams = list(sp.symbols(f"lam0:{d // 2}"))
    return lams, [lams[k // 2] if k % 2 == 0 else 1 / lams[k // 2] for k in range(d)]


@functools.lru_cache(maxsize=None)
def gd_step_loss_symbolic(t: int, d: int, kind: str = "unitary") -> sp.Expr:
    """``E||η G_t s_t - s_{t+1}||²`` as a polynomial in the symbol ``eta`` for concrete ``(t, d)``,
    by full expansion in the eigenbasis (eigen-coordinates of ``s_0`` all ``1/√d``).

    ``kind='orthogonal'`` uses conjugate eigenvalue pairs (real block rotations, ``d`` even).
    """
    t = positive_int(t, "t")
    kind = choice(kind, "kind", ("unitary", "orthogonal"))
    d = _even_d(d) if kind == "orthogonal" else positive_int(d, "d")
    eta = sp.Symbol("eta", real=True)
    lams, ev = _eigen_symbols(d, kind)
    s = [[ev[k] ** j / sp.sqrt(d) for k in range(d)] for j in range(t + 2)]
    sc = [[ev[k] ** (-j) / sp.sqrt(d) for k in range(d)] for j in range(t + 2)]
    loss = 0
    for k in range(d):
        pred = sum(s[j][k] * sum(sc[j - 1][m] * s[t][m] for m in range(d)) for j in range(1, t + 1))
        pred_c = sum(sc[j][k] * sum(s[j - 1][m] * sc[t][m] for m in range(d)) for j in range(1, t + 1))
        loss += (eta * pred - s[t + 1][k]) * (eta * pred_c - sc[t + 1][k])
    return sp.expand(phase_expectation(loss, lams))


def raw_token_symbols(d: int, n: int) -> tuple[sp.Matrix, list[sp.Symbol]]:
    """Generic real symbols ``C_{kl}`` (d×d) and ``p_0..p_n``."""
    C = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"C_{i}_{j}", real=True))
    p = [sp.Symbol(f"p_{j}", real=True) for j in range(n + 1)]
    return C, p


@functools.lru_cache(maxsize=None)
def raw_token_loss_symbolic(d: int, n: int, kind: str = "unitary", nu: Any = 1) -> sp.Expr:
    """Population loss of the raw-token model for concrete ``(d, n)``, generic ``C, p``.

    ``ŝ_{n+1}[k] = Σ_l C_{kl} Σ_{j=0..n} p_j conj(s_{n-1}[l]) s_j[l] s_j[k]`` with
    ``s_j[k] = λ_k^j`` (``s_0 = 1``); loss ``E Σ_k |ŝ_{n+1}[k] - λ_k^{n+1}|²`` by the
    phase-moment rule (``ν`` > 1 uses ``φ_ν``).  ``C = Σ_h b_h a_hᵀ`` (the heads enter
    only through ``C``).  ``kind='orthogonal'``: conjugate pairs, ``d`` even.
    """
    n = positive_int(n, "n")
    kind = choice(kind, "kind", ("unitary", "orthogonal"))
    d = _even_d(d) if kind == "orthogonal" else positive_int(d, "d")
    C, p = raw_token_symbols(d, n)
    lams, ev = _eigen_symbols(d, kind)
    loss = 0
    for k in range(d):
        pred = sum(C[k, l] * sum(p[j] * ev[l] ** (j - n + 1) * ev[k] ** j for j in range(n + 1)) for l in range(d))
        pred_c = sum(C[k, l] * sum(p[j] * ev[l] ** (-(j - n + 1)) * ev[k] ** (-j) for j in range(n + 1)) for l in range(d))
        loss += (pred - ev[k] ** (n + 1)) * (pred_c - ev[k] ** (-(n + 1)))
    out = phase_expectation(loss, lams, nu)
    return sp.expand(out) if nu == 1 else out


def raw_token_loss_function(d: int, n: int, kind: str = "unitary"):
    """The lambdified symbolic loss ``f(C (d,d), p (n+1,)) -> float`` (small sizes)."""
    expr = raw_token_loss_symbolic(d, n, kind)
    C, p = raw_token_symbols(d, n)
    f = _lambdified(d, n, kind)
    return lambda Cv, pv: float(f(*np.asarray(Cv, dtype=float).ravel(), *np.asarray(pv, dtype=float)))


@functools.lru_cache(maxsize=None)
def _lambdified(d, n, kind):
    C, p = raw_token_symbols(d, n)
    return sp.lambdify(list(C) + p, raw_token_loss_symbolic(d, n, kind), "numpy")


# ---------------------------------------------------------------------------
# raw-token population losses (numeric, any d, n)
# ---------------------------------------------------------------------------

def raw_token_population_loss(C: Any, p: Any) -> float:
    """Claim 4, commuting unitary, full circle, ``s_0 = 1``, query ``s_{n-1}``:

    ``L(C, p) = ||p||² ||C||_F² + p_{n-1}² (||C·1||² - ||C||_F²) - 2 tr(C) p_n + d``.

    ``C``: ``(d, d)`` real, ``p``: ``(n+1,)``.  (Checked against :func:`raw_token_loss_symbolic`.)
    """
    C = _square(C)
    p = _weights(p)
    fro = np.sum(C ** 2)
    return float(p @ p * fro + p[-2] ** 2 * (np.sum(C.sum(axis=1) ** 2) - fro) - 2 * np.trace(C) * p[-1] + C.shape[0])


def raw_token_population_loss_real_orthogonal(C: Any, p: Any) -> float:
    """Real commuting orthogonal contexts (``d`` even; coordinates ``2m, 2m+1`` carry the
    conjugate eigenvalues ``λ_m, conj λ_m``), same model in the complex eigenbasis.

    With ``P = ||p||², q = p_{n-1}, r = p_n, S = Σ_j p_j`` and, for row ``k`` with partner
    ``σ(k)``: ``u = C_{kk}``, ``v = C_{kσ(k)}``, ``R = Σ_{l∉{k,σ(k)}} C_{kl}``:

    ``L = Σ_k [q² R² + (P - q²) Σ_{l∉{k,σ(k)}} C_{kl}² + 2R(q² u + q S v) + P u² + 2 q S u v + S² v²]
    - 2 r tr(C) + d``.

    The conjugate pairs add the terms in ``S`` (the unitary loss is the case ``v = 0``,
    ``S → q`` in the cross terms).  Checked against :func:`raw_token_loss_symbolic`.
    """
    C = _square(C)
    d = _even_d(C.shape[0], "C (dimension d)")
    p = _weights(p)
    P, q, r, S = p @ p, p[-2], p[-1], p.sum()
    k = np.arange(d)
    sig = k ^ 1
    u, v = C[k, k], C[k, sig]
    rest_sum = C.sum(axis=1) - u - v
    rest_sq = np.sum(C ** 2, axis=1) - u ** 2 - v ** 2
    rows = (q ** 2 * rest_sum ** 2 + (P - q ** 2) * rest_sq + 2 * rest_sum * (q ** 2 * u + q * S * v)
            + P * u ** 2 + 2 * q * S * u * v + S ** 2 * v ** 2)
    return float(rows.sum() - 2 * r * np.trace(C) + d)


def raw_token_global_minimum(d: int, H: int) -> int:
    """``min_{C = Σ_{h≤H} b_h a_hᵀ, p} L(C, p) = d - min(H, d)`` (claim 5).

    Proof: ``L ≥ r²||C||_F² + q²||C1||² - 2 r tr C + d ≥ ||rC - I||_F²`` and Eckart–Young
    on ``rank(rC) ≤ H``."""
    d = positive_int(d, "d")
    H = positive_int(H, "H")
    return d - min(H, d)


def _nonzero_weight(x: Any, name: str) -> float:
    x = finite_float(x, name)
    if x == 0:
        raise ValueError(f"{name}: expected a nonzero positional weight (either sign), got 0")
    return x


def raw_token_minimiser(d: int, H: int, rng: Any = None, p_last: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A global minimiser with orthogonal heads: ``a_h = u_h / √|p_n|``, ``b_h = sign(p_n)·a_h`` for an
    orthonormal family ``u_1..u_min(H,d)`` (random if ``rng`` given, else coordinate vectors); extra heads zero.

    Returns ``(A (H, d), B (H, d), p)`` with ``p`` of length 3 (``n = 2``) supported on ``p_n = p_last``.
    ``C = Bᵀ A = U Uᵀ / p_n`` is a scaled orthogonal projection of rank ``min(H, d)``, so ``r C = U Uᵀ``
    and ``L = ||U Uᵀ - I||_F² = d - min(H, d)``.  ``p_last`` may have either sign (``L`` is invariant
    under ``(C, p) → (-C, -p)``); it must be nonzero.
    """
    d = positive_int(d, "d")
    H = positive_int(H, "H")
    p_last = _nonzero_weight(p_last, "p_last")
    r = min(H, d)
    U = np.eye(d)[:, :r] if rng is None else haar_unitary(d, rng, real=True)[:, :r]
    A = np.zeros((H, d))
    A[:r] = U.T / np.sqrt(abs(p_last))
    return A, np.sign(p_last) * A, np.array([0.0, 0.0, p_last])


def raw_token_global_minimum_real_orthogonal(d: int, H: int) -> int:
    """``min_{C = Σ_{h≤H} b_h a_hᵀ, p} L_orth(C, p) = d - 2·min(H, d/2)`` (real commuting orthogonal
    contexts, ``d`` even, any ``n >= 1``; :func:`raw_token_population_loss_real_orthogonal`).

    Lower bound: with ``q = p_{n-1}, r = p_n, P = ||p||²`` each row of ``L_orth`` is
    ``(q u + S v + q R)² + (P - q² - r²)(u² + Σ_{l∉{k,σ(k)}} C_kl²) + (1 - r u)² + r² Σ_{l∉{k,σ(k)}} C_kl²``,
    so ``L ≥ ||M ⊙ (rC - I)||_F²`` where ``M`` masks the in-block partner entries ``(k, σ(k))``.
    That is ``min_J ||rC - B_J||_F²`` over block-diagonal ``B_J`` with unit diagonal and free
    partner entries; by Eckart–Young it is at least the sum of the squared singular values of
    ``B_J`` left after removing ``H`` of them; a 2×2 block that loses none keeps
    ``σ₁² + σ₂² = ||block||_F² ≥ 2``, and at most ``H`` blocks lose one, hence ``≥ 2(d/2 - H)⁺``.
    Attained by :func:`raw_token_minimiser_real_orthogonal`.
    """
    d = _even_d(d)
    H = positive_int(H, "H")
    return d - 2 * min(H, d // 2)


def raw_token_minimiser_real_orthogonal(d: int, H: int, n: int, rng: Any = None,
                                        p_last: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A global minimiser of the real-orthogonal raw-token loss: one head per 2×2 rotation block.

    Head ``h`` on block ``m`` (eigen-coordinates ``2m, 2m+1`` carrying ``λ_m, conj λ_m``):
    ``a_h = c_h (e_{2m} + e_{2m+1}) / √|p_n|``, ``b_h = sign(p_n) (e_{2m} + e_{2m+1}) / (c_h √|p_n|)``,
    so the block of ``C = Bᵀ A`` is ``(1/p_n)·[[1, 1], [1, 1]]`` (rank one); positional weights
    ``p_n = p_last``, ``p_{n-1} = -p_last/2``, every other ``p_j = 0``.  Then, exactly, for every
    sequence, ``ŝ_{n+1}[2m] = (1/p_n)(p_n λ^{n+1} + p_{n-1} λ^{n-1}) + (1/p_n)(p_{n-1} + p_n) λ^{n-1}
    = λ^{n+1}`` — the Chebyshev relation ``s_{n+1} = 2cos θ s_n - s_{n-1}`` read in the eigenbasis
    (the partner coordinate contributes ``conj(λ^{-1})^{n-1} λ^{-j} λ^j = λ^{n-1}`` for every key ``j``).
    ``min(H, d/2)`` blocks are predicted without error, each other coordinate costs 1:
    ``L = d - 2·min(H, d/2)`` (:func:`raw_token_global_minimum_real_orthogonal`).  Valid for every
    ``n >= 1`` (for ``n = 1`` the query is ``s_0`` and ``p_{n-1} = p_0``).  Extra heads are zero.

    ``rng``: if given, the blocks, the rows of the used heads and the balance ``c_h`` (random sign,
    log-normal size) are drawn at random; else blocks ``0..`` on heads ``0..`` with ``c_h = 1``.
    Returns ``(A (H, d), B (H, d), p (n+1,))``.
    """
    d = _even_d(d)
    H = positive_int(H, "H")
    n = positive_int(n, "n")
    p_last = _nonzero_weight(p_last, "p_last")
    r = min(H, d // 2)
    if rng is None:
        blocks, rows, c = np.arange(r), np.arange(r), np.ones(r)
    else:
        g = as_rng(rng)
        blocks = g.choice(d // 2, size=r, replace=False)
        rows = g.choice(H, size=r, replace=False)
        c = g.choice([-1.0, 1.0], size=r) * np.exp(0.5 * g.standard_normal(r))
    A, B = np.zeros((H, d)), np.zeros((H, d))
    pair = np.zeros((r, d))
    pair[np.arange(r), 2 * blocks] = pair[np.arange(r), 2 * blocks + 1] = 1.0 / np.sqrt(abs(p_last))
    A[rows] = c[:, None] * pair
    B[rows] = np.sign(p_last) * pair / c[:, None]
    p = np.zeros(n + 1)
    p[n], p[n - 1] = p_last, -p_last / 2
    return A, B, p


# ---------------------------------------------------------------------------
# positional weights only (heads fixed), angle range ν
# ---------------------------------------------------------------------------

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
    C = _square(C)
    n = positive_int(n, "n")
    nu = _nu(nu)
    G, g = _positional_gram_terms(C, n, lambda m: phase_moment(m, nu))
    return G.real, g.real, float(C.shape[0])


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

    C = _square(C)
    n = positive_int(n, "n")
    nu = _nu(nu)
    adaptive = digits is None
    digits = 60 if adaptive else positive_int(digits, "digits", minimum=16)
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
    p = _weights(p)
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
    C = _square(C)
    n = positive_int(n, "n")
    nu = _nu(nu)
    p, loss, kappa, exact = _optimal_positional(C, n, nu)
    _warn_ill_conditioned([(n, kappa, exact)] if kappa > ILL_CONDITIONED else [], nu)
    return p, loss


def optimal_positional_matrix(C: Any, T: int, nu: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Full positional matrix: row ``n`` (query position, ``n = 1..T``) weights keys ``0..n``
    to predict ``s_{n+1}``; the loss summed over rows decouples, so row ``n`` is
    :func:`optimal_positional_weights` ``(C, n, ν)``.  Returns ``(P (T, T+1)`` lower
    triangular, ``losses (T,))``; one :class:`IllConditionedGramWarning` lists the ill-conditioned rows."""
    C = _square(C)
    T = positive_int(T, "T")
    nu = _nu(nu)
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
    C = _square(C)
    n_max = positive_int(n_max, "n_max")
    nu = _nu(nu)
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
    """
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
    if steps is not None:
        steps = positive_int(steps, "steps", minimum=0)
    else:
        stop_loss = finite_float(stop_loss, "stop_loss", positive=True)
    R = G.shape[0]
    lam, U = np.linalg.eigh(G)                                   # (R, m), (R, m, m)
    b = np.einsum("rji,rj->ri", U, g)                            # u_iᵀ g_r
    kappa = 2.0 * lr / R

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
    C = _square(C)
    n_max = positive_int(n_max, "n_max")
    nu = _nu(nu)
    lr = finite_float(lr, "lr", positive=True)
    G, g, d = positional_row_grams(C, n_max, nu)
    P, taken = quadratic_gd_path(G, g, d, lr, stop_loss=stop_loss, steps=steps)
    return P * np.tril(np.ones((n_max, n_max + 1)), k=1), taken  # padded coordinates are exactly zero
