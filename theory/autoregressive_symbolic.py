"""In-context autoregressive learning (Sander et al., 2024): the symbolic derivations (sympy).

Notation of ``shared/spec/autoregressive.md`` and :mod:`theory.autoregressive` (the numeric
closed forms, which evaluate the results derived here).

Phase-moment rule (full circle, ν = 1): ``E[Π_k λ_k^{m_k}] = 1`` if every ``m_k = 0`` else
``0``; for a range ν the factor of each independent phase is ``φ_ν(m) = E[e^{imθ}] =
(e^{2πim/ν} - 1) / (2πim/ν)`` (``φ_ν(0) = 1``).

Every population loss here is *derived* from the model: the prediction is written as a
Laurent polynomial in the eigenvalues, the squared error is expanded and the phase-moment
rule is applied monomial by monomial (:func:`phase_expectation`).  For the one-step-GD loss
with generic ``(t, d)`` the expansion is done over index coincidences: a sum over
eigen-indices ``k, l, l'`` in ``[d]`` is split by the set partition of equal indices
(``d(d-1)…`` assignments per partition) and the rule becomes linear equations on the
positions ``j, j'`` whose solutions in ``[1, t]`` are counted symbolically.  The forward pass
of the augmented layer (:func:`augmented_attention_output_symbolic`) proves the one-GD-step
identity on generic tokens.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import sympy as sp
from sympy.utilities.iterables import multiset_partitions

from theory import validate
from theory.validate import choice, even_dimension, positive_int

__all__ = ["phase_range", "phase_expectation", "gd_step_loss_coefficients_symbolic",
           "gd_step_loss_coefficient_functions", "gd_step_loss_symbolic", "raw_token_symbols",
           "raw_token_loss_symbolic", "raw_token_loss_closed_form_symbolic", "raw_token_loss_function",
           "sequence_symbols", "sympy_matrix", "SECONDS_PER_SYMBOLIC_PRODUCT",
           "augmented_attention_output_symbolic", "symbolic_scalar", "one_step_gd_prediction_symbolic",
           "one_step_gd_identity_residual"]


# ---------------------------------------------------------------------------
# the phase-moment rule on Laurent polynomials
# ---------------------------------------------------------------------------

def phase_range(nu: Any, name: str = "nu") -> Any:
    """``nu`` as the angle-range parameter of :func:`phase_expectation`: a real number ``>= 1`` (kept as
    given: an int, a float or a sympy number), or a sympy expression with free symbols (a generic range)."""
    if isinstance(nu, sp.Basic):
        if nu.free_symbols:
            return nu
        if not (nu.is_real and nu.is_finite) or bool(nu < 1):
            raise ValueError(f"{name}: expected a real angle-range parameter >= 1, got {nu}")
        return nu
    validate.angle_range(nu, name)
    return nu


def phase_expectation(expr: sp.Expr, lambdas: list[sp.Symbol], nu: Any = 1) -> sp.Expr:
    """``E[expr]`` for a Laurent polynomial in independent phases ``λ`` on the circle.

    Each monomial ``c Π λ_k^{m_k}`` becomes ``c Π φ_ν(m_k)``; with ``ν = 1`` this is
    the phase-moment rule (keep the monomials with every ``m_k = 0``).
    Complex conjugation must already be written as ``λ → 1/λ``.  ``nu``: a real number ``>= 1`` (or a
    sympy number, or a symbol for a generic range).
    """
    if not isinstance(expr, (sp.Basic, int, float)) or isinstance(expr, bool):
        raise ValueError(f"expr: expected a sympy expression, got {type(expr).__name__}")
    if isinstance(lambdas, (str, bytes)) or not hasattr(lambdas, "__iter__") or not all(
            isinstance(x, sp.Symbol) for x in lambdas):
        raise ValueError(f"lambdas: expected a list of sympy symbols, got {validate.short_repr(lambdas)}")
    nu = phase_range(nu)
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
def gd_step_loss_coefficient_functions() -> tuple:
    """The coefficients ``(a, b, c)`` of :func:`gd_step_loss_coefficients_symbolic` as NumPy
    functions ``f(t, d)`` of float arrays (broadcasting), lambdified once and cached."""
    a, b, c = gd_step_loss_coefficients_symbolic()
    t, d = sp.symbols("t d", positive=True, integer=True)
    return tuple(sp.lambdify((t, d), e + 0 * t, "numpy") for e in (a, b, c))


# ---------------------------------------------------------------------------
# concrete-size derivations (small d, t / n; generic parameter symbols)
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


def gd_step_loss_symbolic(t: int, d: int, kind: str = "unitary", *, max_seconds: float | None = None) -> sp.Expr:
    """``E||η G_t s_t - s_{t+1}||²`` as a polynomial in the symbol ``eta`` for concrete ``(t, d)``,
    by full expansion in the eigenbasis (eigen-coordinates of ``s_0`` all ``1/√d``).

    ``kind='orthogonal'`` uses conjugate eigenvalue pairs (real block rotations, ``d`` even).
    The expansion has ``O(t d³)`` terms (about ``t d³ / 512`` seconds, measured up to ``t = d = 6``):
    refused above ``max_seconds`` (default 60) before sympy starts.
    """
    t = positive_int(t, "t", maximum=validate.MAX_POSITIONS)
    kind = choice(kind, "kind", ("unitary", "orthogonal"))
    d = even_dimension(d) if kind == "orthogonal" else positive_int(d, "d", maximum=validate.MAX_STATES)
    validate.seconds(t * d ** 3 / (8 * 64), "d", f"the symbolic GD-step loss at t = {t}, d = {d}", max_seconds)
    return _gd_step_loss_symbolic(t, d, kind)


@functools.lru_cache(maxsize=None)
def _gd_step_loss_symbolic(t: int, d: int, kind: str) -> sp.Expr:
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
    d = positive_int(d, "d", maximum=validate.MAX_STATES)
    n = positive_int(n, "n", maximum=validate.MAX_POSITIONS)
    validate.seconds((d * d + n) / validate.MAX_STATES, "d", f"{d * d + n:,} sympy symbols")
    C = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"C_{i}_{j}", real=True))
    p = [sp.Symbol(f"p_{j}", real=True) for j in range(n + 1)]
    return C, p


def raw_token_loss_symbolic(d: int, n: int, kind: str = "unitary", nu: Any = 1, *,
                            max_seconds: float | None = None) -> sp.Expr:
    """Population loss of the raw-token model for concrete ``(d, n)``, generic ``C, p``.

    ``ŝ_{n+1}[k] = Σ_l C_{kl} Σ_{j=0..n} p_j conj(s_{n-1}[l]) s_j[l] s_j[k]`` with
    ``s_j[k] = λ_k^j`` (``s_0 = 1``); loss ``E Σ_k |ŝ_{n+1}[k] - λ_k^{n+1}|²`` by the
    phase-moment rule (``ν`` > 1 uses ``φ_ν``).  ``C = Σ_h b_h a_hᵀ`` (the heads enter
    only through ``C``).  ``kind='orthogonal'``: conjugate pairs, ``d`` even.  About ``d³ n / 320``
    seconds (measured up to ``d = n = 5``): refused above ``max_seconds`` (default 60) before sympy starts.
    """
    n = positive_int(n, "n", maximum=validate.MAX_POSITIONS)
    kind = choice(kind, "kind", ("unitary", "orthogonal"))
    d = even_dimension(d) if kind == "orthogonal" else positive_int(d, "d", maximum=validate.MAX_STATES)
    validate.seconds(d ** 3 * n / (5 * 64), validate.largest(d=d ** 3, n=n),
                     f"the symbolic raw-token loss at d = {d}, n = {n}", max_seconds)
    try:
        hash(nu)
    except TypeError:
        raise ValueError(f"nu: expected a number or a sympy number, got {type(nu).__name__}") from None
    nu = phase_range(nu)
    return _raw_token_loss_symbolic(d, n, kind, nu)


@functools.lru_cache(maxsize=None)
def _raw_token_loss_symbolic(d: int, n: int, kind: str, nu: Any) -> sp.Expr:
    C, p = raw_token_symbols(d, n)
    lams, ev = _eigen_symbols(d, kind)
    loss = 0
    for k in range(d):
        pred = sum(C[k, l] * sum(p[j] * ev[l] ** (j - n + 1) * ev[k] ** j for j in range(n + 1)) for l in range(d))
        pred_c = sum(C[k, l] * sum(p[j] * ev[l] ** (-(j - n + 1)) * ev[k] ** (-j) for j in range(n + 1)) for l in range(d))
        loss += (pred - ev[k] ** (n + 1)) * (pred_c - ev[k] ** (-(n + 1)))
    out = phase_expectation(loss, lams, nu)
    return sp.expand(out) if nu == 1 else out



def raw_token_loss_closed_form_symbolic(d: int, n: int) -> sp.Expr:
    """Spec 2's claimed closed form of the raw-token loss (commuting unitary, full circle) on the symbols of
    :func:`raw_token_symbols`: ``||p||² ||C||_F² + p_{n-1}² (||C·1||² - ||C||_F²) - 2 tr(C) p_n + d``
    (numerically :func:`theory.autoregressive.raw_token_population_loss`; against the derivation
    :func:`raw_token_loss_symbolic` in claim ``ar.raw_token_loss``)."""
    C, p = raw_token_symbols(d, n)
    fro = sum(x ** 2 for x in C)
    row = sum(sum(C[k, l] for l in range(d)) ** 2 for k in range(d))
    return sum(x ** 2 for x in p) * fro + p[n - 1] ** 2 * (row - fro) - 2 * C.trace() * p[n] + d

def raw_token_loss_function(d: int, n: int, kind: str = "unitary"):
    """The lambdified symbolic loss ``f(C (d,d), p (n+1,)) -> float`` (small sizes; the derivation is
    refused like :func:`raw_token_loss_symbolic`).  ``f`` refuses a ``C`` or ``p`` of another shape, or
    with entries that are not finite reals, naming ``C`` or ``p``."""
    kind = choice(kind, "kind", ("unitary", "orthogonal"))
    n = positive_int(n, "n", maximum=validate.MAX_POSITIONS)
    d = even_dimension(d) if kind == "orthogonal" else positive_int(d, "d", maximum=validate.MAX_STATES)
    validate.seconds(d ** 3 * n / (5 * 64), validate.largest(d=d ** 3, n=n),
                     f"the symbolic raw-token loss at d = {d}, n = {n}")
    f = _raw_token_loss_lambdified(d, n, kind)

    def loss(Cv: Any, pv: Any) -> float:
        validate.finite_array(Cv, "C", shape=(d, d))
        validate.finite_array(pv, "p", shape=(n + 1,))
        return float(f(*np.asarray(Cv, dtype=float).ravel(), *np.asarray(pv, dtype=float)))
    return loss


@functools.lru_cache(maxsize=None)
def _raw_token_loss_lambdified(d: int, n: int, kind: str):
    C, p = raw_token_symbols(d, n)
    return sp.lambdify(list(C) + p, raw_token_loss_symbolic(d, n, kind), "numpy")


# ---------------------------------------------------------------------------
# the augmented layer's forward pass (one GD step in context)
# ---------------------------------------------------------------------------

def sequence_symbols(T: int, d: int) -> sp.Matrix:
    """Generic real tokens ``s_0..s_T`` as a ``(T+1, d)`` matrix of symbols ``s_{t}_{i}``."""
    T = positive_int(T, "T", maximum=validate.MAX_POSITIONS)
    d = positive_int(d, "d", maximum=validate.MAX_STATES)
    validate.seconds((T + 1) * d / validate.MAX_STATES, "T", f"{(T + 1) * d:,} sympy symbols")
    return sp.Matrix(T + 1, d, lambda t, i: sp.Symbol(f"s_{t}_{i}", real=True))


def sympy_matrix(value: Any, name: str) -> sp.Matrix:
    """``value`` as a sympy matrix with at least one entry, none of them nan, ``zoo`` or ``±oo``; a
    ``ValueError`` naming ``name`` for anything else (strings, ragged lists, non-finite numbers)."""
    if isinstance(value, (str, bytes)):
        raise ValueError(f"{name}: expected a matrix, got a string")
    try:
        M = sp.Matrix(value)
    except (TypeError, ValueError, sp.SympifyError, AttributeError, IndexError):
        raise ValueError(f"{name}: expected a matrix, got {validate.short_repr(value)}") from None
    if M.rows < 1 or M.cols < 1:
        raise ValueError(f"{name}: expected a non-empty matrix, got shape {M.shape}")
    if any(x.has(sp.nan, sp.zoo, sp.oo, -sp.oo) for x in M):
        raise ValueError(f"{name}: expected finite entries, found nan or an infinity")
    return M


# Measured cost of the symbolic layers: about 2e-5 s per entry product, (3 T d)² of them for the augmented
# layer and (T d)² for the GD step (1.5e-5 to 3e-5 s measured at T = 3..10, d = 2..4).
SECONDS_PER_SYMBOLIC_PRODUCT = 2e-5


def augmented_attention_output_symbolic(Q: Any, K: Any, V: Any, s: Any, *,
                                        max_seconds: float | None = None) -> sp.Matrix:
    """The causal linear-attention layer on augmented tokens, in sympy (no ``1/t`` normalisation):

        ``e_t = (0_d, s_t, s_{t-1})``,  ``out_t = Σ_{j=1..t} ((K e_j)ᵀ (Q e_t)) · V e_j``,  ``t = 1..T``.

    ``Q, K, V``: ``(3d, 3d)``; ``s``: ``(T+1, d)`` rows ``s_0..s_T``.  Returns ``(T, 3d)``, row ``t-1``
    holding ``out_t`` (its first ``d`` entries predict ``s_{t+1}``).  About ``(3 T d)²`` sympy products
    (:data:`SECONDS_PER_SYMBOLIC_PRODUCT` each): refused above ``max_seconds`` (default 60) before sympy starts.
    """
    s = sympy_matrix(s, "s")
    T, d = s.rows - 1, s.cols
    Q, K, V = (sympy_matrix(M, name) for M, name in ((Q, "Q"), (K, "K"), (V, "V")))
    for M, name in ((Q, "Q"), (K, "K"), (V, "V")):
        if M.shape != (3 * d, 3 * d):
            raise ValueError(f"{name}: expected shape ({3 * d}, {3 * d}) for tokens of dimension {d}, got {M.shape}")
    if T < 1:
        raise ValueError(f"s: expected rows s_0..s_T with T >= 1, got shape {s.shape}")
    validate.seconds(SECONDS_PER_SYMBOLIC_PRODUCT * (T * 3 * d) ** 2, "s",
                     f"the symbolic layer on {T + 1} tokens of dimension {d}", max_seconds)
    e = [sp.Matrix.vstack(sp.zeros(d, 1), s[t, :].T, s[t - 1, :].T) for t in range(1, T + 1)]
    rows = []
    for t in range(1, T + 1):
        out = sum((((K * e[j - 1]).T * (Q * e[t - 1]))[0, 0] * (V * e[j - 1]) for j in range(1, t + 1)),
                  sp.zeros(3 * d, 1))
        rows.append(out.T)
    return sp.Matrix.vstack(*rows)


def symbolic_scalar(value: Any, name: str) -> Any:
    """``value`` if it is a finite real number or a sympy expression (no nan, ``zoo`` or ``±oo``)."""
    if isinstance(value, sp.Basic):
        if value.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
            raise ValueError(f"{name}: expected a finite expression, got {value}")
        return value
    validate.finite_float(value, name)
    return value


def one_step_gd_prediction_symbolic(s: Any, eta: Any) -> sp.Matrix:
    """``η G_t s_t`` with ``G_t = Σ_{j=1..t} s_j s_{j-1}ᵀ`` for real tokens, ``t = 1..T``, in sympy:
    ``s (T+1, d)`` → ``(T, d)`` (the symbolic twin of :func:`theory.autoregressive.one_step_gd_prediction`);
    ``eta`` a finite number or a sympy expression."""
    s = sympy_matrix(s, "s")
    T, d = s.rows - 1, s.cols
    if T < 1:
        raise ValueError(f"s: expected rows s_0..s_T with T >= 1, got shape {s.shape}")
    symbolic_scalar(eta, "eta")
    validate.seconds(SECONDS_PER_SYMBOLIC_PRODUCT * (T * d) ** 2, "s",
                     f"the symbolic GD step on {T + 1} tokens of dimension {d}")
    rows = [eta * sum((s[j, :].T * (s[j - 1, :] * s[t, :].T)[0, 0] for j in range(1, t + 1)), sp.zeros(d, 1))
            for t in range(1, T + 1)]
    return sp.Matrix.vstack(*[r.T for r in rows])


def one_step_gd_identity_residual(Q: Any, K: Any, V: Any, eta: Any, T: int) -> sp.Matrix:
    """``out_t - (η G_t s_t, 0_d, 0_d)`` expanded, for generic real tokens ``s_0..s_T``
    (:func:`sequence_symbols`): ``(T, 3d)``, identically zero iff the layer ``(Q, K, V)`` computes one
    gradient step ``η G_t s_t`` in its first block and nothing in the others (claim 1)."""
    Qm = sympy_matrix(Q, "Q")
    if Qm.rows % 3 or Qm.rows != Qm.cols:
        raise ValueError(f"Q: expected a (3d, 3d) matrix, got shape {Qm.shape}")
    symbolic_scalar(eta, "eta")
    d = Qm.rows // 3
    s = sequence_symbols(T, d)
    out = augmented_attention_output_symbolic(Q, K, V, s)
    target = sp.Matrix.hstack(one_step_gd_prediction_symbolic(s, eta), sp.zeros(T, 2 * d))
    return (out - target).applyfunc(sp.expand)
