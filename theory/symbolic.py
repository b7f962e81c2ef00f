"""Symbolic proofs of the initial-gradient formula for tiny cases (spec 1, sections 3-5).

For ``S = 2`` and a forest on ``n <= 3`` context positions (``T = n + 1 <= 4``)
everything is exact in the two free entries of a symbolic transition matrix

    π = [[1 - p, p], [q, 1 - q]],  p, q > 0,   μ_π = (q/(p+q), p/(p+q)).

Two independent derivations of the O(β) coefficient ``g`` of ``∂L_lin/∂A1``
at ``A1 = 0``, ``A2 = β·I`` are compared identically in ``(p, q)``:

1. From the model.  The linearised population loss, by enumeration,

       L_lin(A1, β) = Σ_{x ∈ [S]^T} Σ_s c(x, s) ŷ_s(x; A1, β),
       c(x, s) = -P(x) π(x_n, s) / μ_π(s),
       P(x) = Π_{roots i} law(x_i) · Π_{non-roots i} π(x_{p(i)}, x_i) · 1/S,

   with ``ŷ`` the reduced model's forward pass written with sympy ``exp``
   (layer-1 softmax over ``A1[i, :i+1]``, layer-2 softmax of
   ``ℓ_i = e_{x_n}ᵀ A2 h_i``, ``ŷ = Σ_i b_i e_{x_i}``).  Then

       g[i, j] = ∂_β ∂_{A1[i, j]} L_lin |_{A1 = 0, β = 0}
               = Σ_x Σ_s c(x, s) · ∂_β ∂_{A1[i, j]} ŷ_s(x) |_0 .

   The weights ``c(x, s)`` carry all of π; the model factor is a rational
   number per sequence, obtained by differentiating the forward pass with
   sympy.  Nothing of the closed form is used.

2. The closed form of section 4 (:mod:`theory.gradients`) with symbolic π:
   pairwise joints from :func:`theory.laws.pairwise_joints`, ``N`` from
   :func:`theory.gradients.likelihood_ratio_from_joint` (the general
   ``N[m, j] = S·E[w_m 1[x_j = x_n]]``, valid for either root law), and

       g[i, j] = -1/(S T (i+1)) · [ (N[i, j] - N̄(i, i)) - (1/T) Σ_m (N[m, j] - N̄(m, i)) ],

   from :func:`theory.gradients.attention_gradient_from_N`, all on NumPy
   object arrays.

Exact arithmetic.  The entries of both derivations are rational functions of
``(p, q)``.  Internally they are elements of sympy's field ``QQ(p, q)``
(``sympy.field``), whose elements are always stored as a reduced fraction of
polynomials, i.e. what ``sympy.cancel`` returns; so an entry is identically
zero exactly when its field element is ``0``.  The theory functions run
unchanged on object arrays of these elements (and of plain sympy
expressions, which is slower); public results are sympy expressions.

The same machinery proves the χ² link ``N[i, p(i)] = 1 + I_χ²(x_i; x_{p(i)})``
under stationary roots (the joint of ``(x_i, x_{p(i)})`` from enumeration)
and shows that it fails under uniform roots.
"""

from __future__ import annotations

import functools
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from theory import validate
from theory.gradients import attention_gradient_from_N, likelihood_ratio_from_joint
from theory.graphs import CausalGraph, as_causal_graph
from theory.laws import ROOTS, pairwise_joints

__all__ = ["S_SYMBOLIC", "MAX_CONTEXT", "MAX_SYMBOLIC_TOKENS", "MAX_SYMBOLIC_STATES", "MAX_BETA_ORDER",
           "beta", "symbolic_transition_matrix", "symbolic_stationary_law", "symbolic_root_law",
           "attention_symbols", "symbolic_population", "reduced_model_output", "symbolic_linearized_loss",
           "symbolic_beta_series", "symbolic_initial_gradient", "closed_form_from_arrays",
           "symbolic_likelihood_ratio_matrix", "symbolic_closed_form_gradient", "SymbolicIdentity",
           "prove_initial_gradient", "symbolic_pairwise_joint", "symbolic_chi2_information",
           "prove_chi2_parent_identity"]

S_SYMBOLIC = 2
MAX_CONTEXT = 3
# The symbolic forward pass has O(T² S) exp terms per sequence; sympy's time grows fast with it, so
# sizes are capped (T <= 8 tokens, S <= 4 states, order <= 6 in β) instead of running for hours.
MAX_SYMBOLIC_TOKENS = 8
MAX_SYMBOLIC_STATES = 4
MAX_BETA_ORDER = 6

p, q = sp.symbols("p q", positive=True)
beta = sp.Symbol("beta", real=True)
# QQ(p, q): every element is a reduced fraction of polynomials, so equality with 0 is exact.
RATIONAL_FUNCTIONS, _P, _Q = sp.field([p, q], sp.QQ)


# --------------------------------------------------------------------------- symbols and laws
def symbolic_transition_matrix() -> sp.Matrix:
    """``π = [[1 - p, p], [q, 1 - q]]`` with positive symbols ``p, q``; ``(2, 2)``."""
    return _as_matrix(_pi_field())


def symbolic_stationary_law() -> sp.Matrix:
    """``μ_π = (q/(p+q), p/(p+q))``, the solution of ``μ π = μ``, ``μ_0 + μ_1 = 1``; ``(1, 2)``."""
    return _as_matrix(_mu_field()[None])


def symbolic_root_law(roots: str = "stationary") -> sp.Matrix:
    """Law of a root token: ``μ_π`` or ``(1/2, 1/2)``; ``(1, 2)``."""
    return _as_matrix(_root_field(validate.choice(roots, "roots", ROOTS))[None])


def attention_symbols(T: int) -> sp.Matrix:
    """``(T, T)`` matrix of symbols ``A1_i_j`` for ``j <= i`` and ``0`` above the diagonal (masked anyway)."""
    T = validate.positive_int(T, "T", minimum=2, maximum=MAX_SYMBOLIC_TOKENS)
    return sp.Matrix(T, T, lambda i, j: sp.Symbol(f"A1_{i}_{j}", real=True) if j <= i else sp.S.Zero)


def _pi_field() -> np.ndarray:
    return np.array([[1 - _P, _P], [_Q, 1 - _Q]], dtype=object)  # (S, S)


def _mu_field() -> np.ndarray:
    return np.array([_Q / (_P + _Q), _P / (_P + _Q)], dtype=object)  # (S,)


def _root_field(roots: str) -> np.ndarray:
    if roots == "stationary":
        return _mu_field()
    return np.array([RATIONAL_FUNCTIONS(1) / S_SYMBOLIC] * S_SYMBOLIC, dtype=object)


def _as_expr(value: Any) -> sp.Expr:
    return value.as_expr() if hasattr(value, "as_expr") else sp.sympify(value)


def _as_matrix(array: np.ndarray) -> sp.Matrix:
    return sp.Matrix([[_as_expr(e) for e in row] for row in np.atleast_2d(array)])


def _to_field(expr: Any, name: str) -> Any:
    try:
        return RATIONAL_FUNCTIONS.from_expr(sp.sympify(expr))
    except (ValueError, TypeError, sp.SympifyError, sp.polys.polyerrors.CoercionFailed):
        raise ValueError(f"{name}: expected rational functions of p and q only, got {expr}") from None


def _check_graph(graph: Any) -> CausalGraph:
    graph = as_causal_graph(graph)
    graph.require_forest("symbolic enumeration")
    if graph.n > MAX_CONTEXT:
        raise ValueError(f"graph: symbolic enumeration is for tiny cases, expected n <= {MAX_CONTEXT} context "
                         f"positions, got n = {graph.n}")
    return graph


# --------------------------------------------------------------------------- the population by enumeration
def _population_field(graph: CausalGraph, roots: str) -> list[tuple[tuple[int, ...], Any]]:
    """``[(x, P(x))]`` over all ``S^T`` sequences, ``P(x)`` in ``QQ(p, q)``."""
    pi, start = _pi_field(), _root_field(roots)
    par = graph.parent_array()
    out = []
    for x in itertools.product(range(S_SYMBOLIC), repeat=graph.n + 1):
        prob = RATIONAL_FUNCTIONS(1) / S_SYMBOLIC
        for i in range(graph.n):
            prob *= start[x[i]] if par[i] < 0 else pi[x[par[i]], x[i]]
        out.append((x, prob))
    return out


def symbolic_population(graph: CausalGraph, roots: str = "stationary") -> list[tuple[tuple[int, ...], sp.Expr]]:
    """Every sequence ``x = (x_0..x_n)`` (query last) with its symbolic probability.

        P(x) = Π_{roots i} law(x_i) · Π_{non-roots i} π(x_{p(i)}, x_i) · 1/S.

    Returns ``S^T`` pairs ``(tokens, P(x))``; the probabilities sum to 1 identically.
    """
    graph = _check_graph(graph)
    roots = validate.choice(roots, "roots", ROOTS)
    return [(x, prob.as_expr()) for x, prob in _population_field(graph, roots)]


def _loss_weights(graph: CausalGraph, roots: str) -> list[tuple[tuple[int, ...], int, Any]]:
    """``[(x, s, c(x, s))]`` with ``c(x, s) = -P(x) π(x_n, s)/μ_π(s)`` in ``QQ(p, q)``: ``L_lin = Σ c ŷ_s(x)``."""
    pi, mu = _pi_field(), _mu_field()
    return [(x, s, -prob * pi[x[-1], s] / mu[s])
            for x, prob in _population_field(graph, roots) for s in range(S_SYMBOLIC)]


def reduced_model_output(tokens: Any, A1: sp.Matrix, A2: sp.Matrix) -> list[sp.Expr]:
    """The reduced model's forward pass with sympy ``exp``; returns ``ŷ`` as ``S`` expressions.

        a_ij = exp(A1[i, j]) / Σ_{l<=i} exp(A1[i, l]),   h_i = Σ_{j<=i} a_ij e_{x_j},
        ℓ_i = e_{x_n}ᵀ A2 h_i,   b = softmax(ℓ),   ŷ = Σ_i b_i e_{x_i}.

    ``tokens``: ``T`` ints (query last); ``A1 (T, T)``, ``A2 (S, S)`` sympy matrices.
    """
    if isinstance(tokens, (str, bytes)) or not hasattr(tokens, "__len__") or not all(
            isinstance(t, (int, np.integer)) and not isinstance(t, bool) for t in tokens):
        raise ValueError(f"tokens: expected a sequence of ints, got {validate.short_repr(tokens)}")
    x = tuple(int(t) for t in tokens)
    if not 2 <= len(x) <= MAX_SYMBOLIC_TOKENS:
        raise ValueError(f"tokens: expected 2..{MAX_SYMBOLIC_TOKENS} tokens (symbolic forward pass), got {len(x)}")
    for name, M in (("A1", A1), ("A2", A2)):
        if not isinstance(M, sp.MatrixBase):
            raise ValueError(f"{name}: expected a sympy Matrix, got {type(M).__name__}")
    if A2.shape[0] != A2.shape[1] or not 2 <= A2.shape[0] <= MAX_SYMBOLIC_STATES:
        raise ValueError(f"A2: expected a square (S, S) sympy Matrix with 2 <= S <= {MAX_SYMBOLIC_STATES}, "
                         f"got shape {A2.shape}")
    T, S = len(x), A2.shape[0]
    if A1.shape != (T, T):
        raise ValueError(f"A1: expected shape ({T}, {T}) for {T} tokens, got {A1.shape}")
    if min(x) < 0 or max(x) >= S:
        raise ValueError(f"tokens: expected integers in 0..{S - 1}, got {x}")
    scores = []
    for i in range(T):
        weights = [sp.exp(A1[i, j]) for j in range(i + 1)]
        h_i = [sp.Add(*[w for w, xj in zip(weights, x) if xj == s]) / sp.Add(*weights) for s in range(S)]
        scores.append(sp.Add(*[A2[x[-1], s] * h_i[s] for s in range(S)]))
    exps = [sp.exp(score) for score in scores]
    b = [e / sp.Add(*exps) for e in exps]
    return [sp.Add(*[b_i for b_i, xi in zip(b, x) if xi == s]) for s in range(S)]


def _rational(value: sp.Expr) -> Any:
    """An exact rational number (``QQ``) from a sympy expression that must evaluate to one."""
    if not value.is_Rational:
        value = sp.nsimplify(sp.simplify(value), rational=False)
    if not value.is_Rational:  # a model derivative at 0 is a rational number; anything else is a bug
        raise ArithmeticError(f"expected a rational number, got {value}")
    return sp.QQ.from_sympy(value)


@functools.lru_cache(maxsize=None)
def _output_mixed_derivatives(tokens: tuple[int, ...]) -> tuple[tuple[tuple[Any, ...], ...], ...]:
    """``D[s][i][j] = ∂_β ∂_{A1[i, j]} ŷ_s(x) |_{A1 = 0, β = 0}`` (exact rationals, ``j <= i``).

    The forward pass is written with every ``A1[i, j]`` symbolic; it is
    differentiated in ``β`` first (the smaller expression at ``β = 0``), then
    in each ``A1[i, j]``, and evaluated at ``A1 = 0``.
    """
    T = len(tokens)
    A1 = attention_symbols(T)
    at_zero = {a: sp.S.Zero for a in A1 if a != 0}
    D = [[[sp.QQ(0)] * T for _ in range(T)] for _ in range(S_SYMBOLIC)]
    for s, yhat in enumerate(reduced_model_output(tokens, A1, beta * sp.eye(S_SYMBOLIC))):
        slope = yhat.diff(beta).xreplace({beta: sp.S.Zero})  # ∂_β ŷ_s at β = 0, a function of A1
        for i in range(T):
            for j in range(i + 1):
                D[s][i][j] = _rational(slope.diff(A1[i, j]).xreplace(at_zero))
    return tuple(tuple(tuple(row) for row in block) for block in D)


@functools.lru_cache(maxsize=None)
def _output_beta_coefficients(tokens: tuple[int, ...], order: int) -> tuple[tuple[Any, ...], ...]:
    """``C[s][k] = (1/k!) ∂^k_β ŷ_s(x; A1 = 0, β) |_{β=0}`` for ``k < order`` (exact rationals)."""
    T = len(tokens)
    out = []
    for yhat in reduced_model_output(tokens, sp.zeros(T, T), beta * sp.eye(S_SYMBOLIC)):
        coefficients, derivative = [], yhat
        for k in range(order):
            coefficients.append(_rational(derivative.xreplace({beta: sp.S.Zero}) / sp.factorial(k)))
            derivative = derivative.diff(beta)
        out.append(tuple(coefficients))
    return tuple(out)


def symbolic_linearized_loss(graph: CausalGraph, roots: str = "stationary") -> sp.Expr:
    """The exact linearised population loss of the reduced model at ``A2 = β·I``, by enumeration.

        L_lin(A1, β) = -Σ_x P(x) Σ_s π(x_n, s) ŷ_s(x; A1, β) / μ_π(s),

    a sympy expression in the symbols ``A1_i_j`` (``j <= i``, see
    :func:`attention_symbols`), ``beta``, ``p`` and ``q`` (module attributes).
    Left unsimplified: a sum of ``S^T · S`` terms.
    """
    graph = _check_graph(graph)
    roots = validate.choice(roots, "roots", ROOTS)
    A1, A2 = attention_symbols(graph.n + 1), beta * sp.eye(S_SYMBOLIC)
    outputs = {}
    terms = []
    for x, s, weight in _loss_weights(graph, roots):
        if x not in outputs:
            outputs[x] = reduced_model_output(x, A1, A2)
        terms.append(weight.as_expr() * outputs[x][s])
    return sp.Add(*terms)


def symbolic_beta_series(graph: CausalGraph, order: int = 2, roots: str = "stationary") -> sp.Expr:
    """The β-series of :func:`symbolic_linearized_loss` at ``A1 = 0``:

        L_lin(0, β) = Σ_{k < order} c_k β^k + O(β^order),
        c_k = Σ_{x, s} c(x, s) · (1/k!) ∂^k_β ŷ_s(x; 0, β) |_{β=0},

    each ``c_k`` a reduced rational function of ``(p, q)``.  At ``β = 0`` the
    model outputs the empirical law ``ĉ`` of the ``T`` tokens, so
    ``c_0 = -E[Σ_s y_s ĉ_s / μ_π(s)]``.  Returned as a sympy expression with
    its ``O(β^order)`` term; ``.removeO().coeff(beta, k)`` gives ``c_k``.
    """
    graph = _check_graph(graph)
    order = validate.positive_int(order, "order", maximum=MAX_BETA_ORDER)
    roots = validate.choice(roots, "roots", ROOTS)
    coefficients = [RATIONAL_FUNCTIONS(0)] * order
    for x, s, weight in _loss_weights(graph, roots):
        model = _output_beta_coefficients(x, order)[s]
        coefficients = [c + weight * m for c, m in zip(coefficients, model)]
    return sp.Add(*[c.as_expr() * beta ** k for k, c in enumerate(coefficients)]) + sp.Order(beta ** order, beta)


# --------------------------------------------------------------------------- the two derivations of g
def _model_gradient_field(graph: CausalGraph, roots: str) -> np.ndarray:
    T = graph.n + 1
    g = np.array([[RATIONAL_FUNCTIONS(0)] * T for _ in range(T)], dtype=object)
    for x, s, weight in _loss_weights(graph, roots):
        D = _output_mixed_derivatives(x)[s]
        for i in range(T):
            for j in range(i + 1):
                if D[i][j]:
                    g[i, j] += weight * D[i][j]
    return g


def symbolic_initial_gradient(graph: CausalGraph, roots: str = "stationary") -> sp.Matrix:
    """``g`` from the model: ``g[i, j] = ∂_β ∂_{A1[i, j]} L_lin |_{A1 = 0, β = 0}``; ``(T, T)``.

    ``L_lin = Σ_{x,s} c(x, s) ŷ_s(x)`` is the enumerated loss of
    :func:`symbolic_linearized_loss`; by linearity the derivative is
    ``Σ c(x, s) ∂_β ∂_{A1[i, j]} ŷ_s(x) |_0``, with the model factor from
    sympy's derivative of the forward pass.  Entries above the diagonal are
    ``0`` (masked); each entry is a reduced rational function of ``(p, q)``.
    """
    graph = _check_graph(graph)
    roots = validate.choice(roots, "roots", ROOTS)
    return _as_matrix(_model_gradient_field(graph, roots))


def closed_form_from_arrays(graph: CausalGraph, pis: np.ndarray, mu: np.ndarray,
                            start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(N, g)``, each ``(T, T)``, from :mod:`theory.gradients` on object arrays.

    ``pis (1, S, S)``, ``mu (1, S)``, ``start (1, S)`` (the root law): object
    arrays of sympy expressions or of ``QQ(p, q)`` elements.  Calls
    ``theory.laws.pairwise_joints`` → ``likelihood_ratio_from_joint`` → ``attention_gradient_from_N``.
    """
    joint = pairwise_joints(graph, pis, start)  # (1, n, n, S, S); checks graph, pis, start
    if np.shape(mu) != np.shape(start):
        raise ValueError(f"mu: expected shape {np.shape(start)} (one law per matrix, as start), got {np.shape(mu)}")
    N = likelihood_ratio_from_joint(joint, pis, mu)[0]  # (T, T)
    return N, attention_gradient_from_N(N, pis.shape[-1])


def _closed_form_field(graph: CausalGraph, roots: str) -> tuple[np.ndarray, np.ndarray]:
    return closed_form_from_arrays(graph, _pi_field()[None], _mu_field()[None], _root_field(roots)[None])


def symbolic_likelihood_ratio_matrix(graph: CausalGraph, roots: str = "stationary") -> sp.Matrix:
    """``N`` of spec section 4 with symbolic π, ``N[m, j] = S·E[π(x_n, x_m)/μ_π(x_m) · 1[x_j = x_n]]``; ``(T, T)``.

    From :func:`theory.gradients.likelihood_ratio_from_joint` and
    :func:`theory.laws.pairwise_joints` on object arrays (see
    :func:`closed_form_from_arrays`); entries are reduced rational functions.
    """
    graph = _check_graph(graph)
    return _as_matrix(_closed_form_field(graph, validate.choice(roots, "roots", ROOTS))[0])


def symbolic_closed_form_gradient(graph: CausalGraph, roots: str = "stationary") -> sp.Matrix:
    """``g`` from the closed form of section 4 with symbolic π; ``(T, T)``.

        g[i, j] = -1/(S T (i+1)) · [ (N[i, j] - N̄(i, i)) - (1/T) Σ_m (N[m, j] - N̄(m, i)) ],  j <= i,

    with ``N`` as in :func:`symbolic_likelihood_ratio_matrix` and ``g`` from
    :func:`theory.gradients.attention_gradient_from_N` on an object array.
    """
    graph = _check_graph(graph)
    return _as_matrix(_closed_form_field(graph, validate.choice(roots, "roots", ROOTS))[1])


# --------------------------------------------------------------------------- proofs
@dataclass(frozen=True)
class SymbolicIdentity:
    """The outcome of a symbolic identity check.

    ``difference``: left side minus right side as a sympy Matrix, each entry
    ``sympy.cancel``-ed (a reduced rational function of ``p, q``);
    ``proved``: every entry is exactly ``0``; ``nonzero``: the indices of the
    entries that are not; ``seconds``: wall time.
    """

    statement: str
    graph: CausalGraph
    roots: str
    difference: sp.Matrix
    proved: bool
    nonzero: tuple[tuple[int, int], ...]
    seconds: float
    details: dict[str, Any] = field(default_factory=dict)


def _identity(statement: str, graph: CausalGraph, roots: str, difference: np.ndarray, started: float,
              **details: Any) -> SymbolicIdentity:
    diff = _as_matrix(difference).applyfunc(sp.cancel)
    nonzero = tuple((i, j) for i in range(diff.rows) for j in range(diff.cols) if diff[i, j] != 0)
    return SymbolicIdentity(statement, graph, roots, diff, not nonzero, nonzero, time.perf_counter() - started,
                            details)


def prove_initial_gradient(graph: CausalGraph, roots: str = "stationary",
                           closed_form: sp.Matrix | None = None) -> SymbolicIdentity:
    """Prove ``symbolic_initial_gradient == symbolic_closed_form_gradient`` identically in ``(p, q)``.

    ``closed_form``: an optional ``(T, T)`` sympy Matrix of rational functions
    of ``p, q`` to test instead of the section-4 formula (so a wrong formula
    can be shown *not* to prove).  ``details`` holds ``model`` and
    ``closed_form`` as sympy Matrices.
    """
    started = time.perf_counter()
    graph = _check_graph(graph)
    roots = validate.choice(roots, "roots", ROOTS)
    T = graph.n + 1
    if closed_form is None:
        formula = _closed_form_field(graph, roots)[1]
    elif not isinstance(closed_form, sp.MatrixBase) or closed_form.shape != (T, T):
        raise ValueError(f"closed_form: expected a sympy Matrix of shape ({T}, {T}), got "
                         f"{getattr(closed_form, 'shape', type(closed_form).__name__)}")
    else:
        formula = np.array([[_to_field(e, "closed_form") for e in closed_form.row(i)] for i in range(T)],
                           dtype=object)
    model = _model_gradient_field(graph, roots)
    return _identity("∂_β ∂_{A1} L_lin |_0 = closed form of section 4", graph, roots, model - formula, started,
                     model=_as_matrix(model), closed_form=_as_matrix(formula))


def _pairwise_joint_by_enumeration(graph: CausalGraph, i: int, j: int, roots: str) -> np.ndarray:
    joint = np.array([[RATIONAL_FUNCTIONS(0)] * S_SYMBOLIC for _ in range(S_SYMBOLIC)], dtype=object)
    for x, prob in _population_field(graph, roots):
        joint[x[i], x[j]] += prob
    return joint


def symbolic_pairwise_joint(graph: CausalGraph, i: int, j: int, roots: str = "stationary") -> sp.Matrix:
    """``P(x_i = a, x_j = b)`` by summing :func:`symbolic_population` (not the LCA formula); ``(S, S)``."""
    graph = _check_graph(graph)
    roots = validate.choice(roots, "roots", ROOTS)
    for name, k in (("i", i), ("j", j)):
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k < graph.n:
            raise ValueError(f"{name}: expected a context position in 0..{graph.n - 1}, got {k!r}")
    return _as_matrix(_pairwise_joint_by_enumeration(graph, int(i), int(j), roots))


def _chi2_field(joint: np.ndarray) -> Any:
    row, col = joint.sum(axis=1), joint.sum(axis=0)
    return sum(joint[a, b] ** 2 / (row[a] * col[b]) for a in range(joint.shape[0]) for b in range(joint.shape[1])) - 1


def symbolic_chi2_information(joint: sp.Matrix) -> sp.Expr:
    """``I_χ²(X; Y) = Σ_{a,b} P(a, b)² / (P(a) P(b)) - 1`` of a symbolic ``(S, S')`` joint table.

    Entries must be rational functions of ``p, q`` with non-zero marginals; the
    result is a reduced rational function.
    """
    if not isinstance(joint, sp.MatrixBase):
        raise ValueError(f"joint: expected a sympy Matrix, got {type(joint).__name__}")
    table = np.array([[_to_field(e, "joint") for e in joint.row(a)] for a in range(joint.rows)], dtype=object)
    if any(m == 0 for m in list(table.sum(axis=1)) + list(table.sum(axis=0))):
        raise ValueError("joint: expected marginals that are not identically 0")
    return _chi2_field(table).as_expr()


def prove_chi2_parent_identity(graph: CausalGraph, roots: str = "stationary") -> SymbolicIdentity:
    """Check ``N[i, p(i)] = 1 + I_χ²(x_i; x_{p(i)})`` for every non-root ``i``, identically in ``(p, q)``.

    ``N`` from :func:`symbolic_likelihood_ratio_matrix`; the joint of
    ``(x_i, x_{p(i)})`` from enumeration.  True under stationary roots (both
    sides equal ``Σ_{c,a} μ(c) π(c,a)² / μ(a)``); under uniform roots the
    marginals are not ``μ_π`` and the identity fails.  ``difference`` is an
    ``(n, 1)`` Matrix, entry ``i`` the difference at child ``i`` (``0`` at roots).
    """
    started = time.perf_counter()
    graph = _check_graph(graph)
    roots = validate.choice(roots, "roots", ROOTS)
    N = _closed_form_field(graph, roots)[0]
    diff = np.array([[RATIONAL_FUNCTIONS(0)] for _ in range(graph.n)], dtype=object)
    for i, parent in enumerate(graph.parent_array()):
        if parent >= 0:
            chi2 = _chi2_field(_pairwise_joint_by_enumeration(graph, i, int(parent), roots))
            diff[i, 0] = N[i, parent] - (1 + chi2)
    return _identity("N[i, p(i)] = 1 + I_χ²(x_i; x_{p(i)})", graph, roots, diff, started)
