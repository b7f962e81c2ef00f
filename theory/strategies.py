"""Hypothesis strategies for the objects of the theory, for users' own property tests.

    from hypothesis import given
    from theory.strategies import forests, transition_matrices

    @given(forests(6), transition_matrices(3))
    def test_my_claim(graph, pi): ...

Every strategy draws float64 objects that pass the toolkit's validation, and refuses, with a
``ValueError`` naming the parameter, parameters that would make invalid objects (``forests(0)``,
``transition_matrices(1)``): fixed sizes are checked when the strategy is built, sizes drawn from
a strategy when they are drawn.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from theory import validate
from theory.graphs import CausalGraph
from theory.priors import DirichletPrior, FinitePrior

__all__ = ["TRANSITION_MATRIX_KINDS", "MAX_STRATEGY_POSITIONS", "MAX_STRATEGY_STATES", "forests", "trees",
           "k_parent_dags", "transition_matrices", "finite_priors", "dirichlet_priors",
           "joint_distributions", "NON_FINITE", "non_finite_floats", "bad_reals", "bad_integers",
           "non_finite_arrays", "non_unitary_matrices", "non_stochastic_matrices"]

TRANSITION_MATRIX_KINDS = ("generic", "near_degenerate", "self_looping", "sparse")

# Strategies draw small objects: sizes above these are refused (a property test of 10^6 positions
# would draw a million hypothesis choices per example).
MAX_STRATEGY_POSITIONS = 1000
MAX_STRATEGY_STATES = 100


def _size(value, name: str, minimum: int, maximum: int):
    """A fixed size checked now, or a strategy whose draws are checked when drawn."""
    if isinstance(value, st.SearchStrategy):
        return value
    return validate.positive_int(value, name, minimum=minimum, maximum=maximum)


def _draw_size(draw, value, name: str, minimum: int, maximum: int) -> int:
    size = draw(value) if isinstance(value, st.SearchStrategy) else value
    return validate.positive_int(size, name, minimum=minimum, maximum=maximum)


def _normalise_rows(weights: np.ndarray) -> np.ndarray:
    return weights / weights.sum(axis=-1, keepdims=True)


def forests(n: int | st.SearchStrategy[int] = st.integers(1, 6)) -> st.SearchStrategy[CausalGraph]:
    """Forests on ``n >= 1`` positions: each ``p(i)`` is a root or any earlier position."""
    return _forests(_size(n, "n", 1, MAX_STRATEGY_POSITIONS))


@st.composite
def _forests(draw, n) -> CausalGraph:
    size = _draw_size(draw, n, "n", 1, MAX_STRATEGY_POSITIONS)
    parents = [None] + [draw(st.one_of(st.none(), st.integers(0, i - 1))) for i in range(1, size)]
    return CausalGraph.from_parents(parents)


def trees(n: int | st.SearchStrategy[int] = st.integers(1, 6)) -> st.SearchStrategy[CausalGraph]:
    """Single trees rooted at 0 on ``n >= 1`` positions: every ``i >= 1`` has a parent in ``0..i-1``."""
    return _trees(_size(n, "n", 1, MAX_STRATEGY_POSITIONS))


@st.composite
def _trees(draw, n) -> CausalGraph:
    size = _draw_size(draw, n, "n", 1, MAX_STRATEGY_POSITIONS)
    return CausalGraph.from_parents([None] + [draw(st.integers(0, i - 1)) for i in range(1, size)])


def k_parent_dags(n: int | st.SearchStrategy[int] = st.integers(2, 6), k: int = 2) -> st.SearchStrategy[CausalGraph]:
    """DAGs where each position ``i >= k`` has exactly ``k >= 1`` distinct earlier parents, earlier ones
    are roots; ``n >= k + 1`` (at least one position with parents)."""
    k = validate.positive_int(k, "k", maximum=MAX_STRATEGY_POSITIONS)
    return _k_parent_dags(_size(n, "n", k + 1, MAX_STRATEGY_POSITIONS), k)


@st.composite
def _k_parent_dags(draw, n, k: int) -> CausalGraph:
    size = _draw_size(draw, n, "n", k + 1, MAX_STRATEGY_POSITIONS)
    parents: list = []
    for i in range(size):
        if i < k:
            parents.append(None)
        else:
            parents.append(draw(st.lists(st.integers(0, i - 1), min_size=k, max_size=k, unique=True)))
    return CausalGraph.from_parents(parents)


def transition_matrices(S: int | st.SearchStrategy[int] = st.integers(2, 4),
                        kind: str | None = None) -> st.SearchStrategy[np.ndarray]:
    """Row-stochastic ``(S, S)`` float64 matrices with full support (a unique, positive stationary law).

    ``kind``: ``"generic"`` (entries bounded away from 0), ``"near_degenerate"``
    (rows close to one-hot, smallest entries down to ~1e-6), ``"self_looping"``
    (diagonal weight up to 0.999), ``"sparse"`` (Dirichlet-like, many small
    entries); ``None`` mixes them.  ``S >= 2``.
    """
    if kind is not None:
        validate.choice(kind, "kind", TRANSITION_MATRIX_KINDS)
    return _transition_matrices(_size(S, "S", 2, MAX_STRATEGY_STATES), kind)


@st.composite
def _transition_matrices(draw, S, kind: str | None) -> np.ndarray:
    size = _draw_size(draw, S, "S", 2, MAX_STRATEGY_STATES)
    kind = draw(st.sampled_from(TRANSITION_MATRIX_KINDS)) if kind is None else kind
    unit = st.floats(0.05, 1.0, allow_nan=False)
    w = np.array(draw(st.lists(unit, min_size=size * size, max_size=size * size))).reshape(size, size)
    if kind == "near_degenerate":
        eps = draw(st.floats(1e-6, 1e-2))
        peak = np.zeros((size, size))
        peak[np.arange(size), draw(st.lists(st.integers(0, size - 1), min_size=size, max_size=size))] = 1.0
        w = peak + eps * w
    elif kind == "self_looping":
        stay = draw(st.floats(0.5, 0.999))
        w = (1 - stay) * _normalise_rows(w) + stay * np.eye(size)
    elif kind == "sparse":
        w = w ** draw(st.floats(4.0, 12.0))
    return _normalise_rows(w)


def finite_priors(S: int | st.SearchStrategy[int] = st.integers(2, 3), size: int = 3) -> st.SearchStrategy[FinitePrior]:
    """Finite priors: 1..size (``>= 1``) transition matrices on ``S >= 2`` states with random positive weights."""
    size = validate.positive_int(size, "size", maximum=MAX_STRATEGY_POSITIONS)
    return _finite_priors(_size(S, "S", 2, MAX_STRATEGY_STATES), size)


@st.composite
def _finite_priors(draw, S, size: int) -> FinitePrior:
    s = _draw_size(draw, S, "S", 2, MAX_STRATEGY_STATES)
    m = draw(st.integers(1, size))
    mats = np.stack([draw(transition_matrices(s)) for _ in range(m)])
    w = np.array(draw(st.lists(st.floats(0.1, 1.0), min_size=m, max_size=m)))
    return FinitePrior(mats, w / w.sum())


def dirichlet_priors(S: int | st.SearchStrategy[int] = st.integers(2, 10),
                     alpha: float | st.SearchStrategy[float] = st.floats(0.05, 5.0)) -> st.SearchStrategy[DirichletPrior]:
    """Dirichlet priors ``Dirichlet(α·1_S)``, ``S >= 2``, ``α > 0`` (default ``α`` in ``[0.05, 5]``;
    small ``α`` such as ``0.001`` is valid: draws carry entries down to ``PROBABILITY_FLOOR``)."""
    if not isinstance(alpha, st.SearchStrategy):
        alpha = st.just(validate.finite_float(alpha, "alpha", positive=True))
    return _dirichlet_priors(_size(S, "S", 2, MAX_STRATEGY_STATES), alpha)


@st.composite
def _dirichlet_priors(draw, S, alpha) -> DirichletPrior:
    s = _draw_size(draw, S, "S", 2, MAX_STRATEGY_STATES)
    return DirichletPrior(s, draw(alpha))


def joint_distributions(n: int = 3, alphabet: int = 2) -> st.SearchStrategy[np.ndarray]:
    """A full joint law of ``n >= 1`` variables on ``[alphabet]`` (``alphabet >= 2``, at most 4096
    cells): an array with ``n`` axes, positive entries."""
    n = validate.positive_int(n, "n", maximum=12)
    alphabet = validate.positive_int(alphabet, "alphabet", minimum=2, maximum=64)
    if alphabet ** n > 4096:
        raise ValueError(f"n: alphabet^n = {alphabet}^{n} cells, expected at most 4096")
    return _joint_distributions(n, alphabet)


@st.composite
def _joint_distributions(draw, n: int, alphabet: int) -> np.ndarray:
    cells = alphabet ** n
    w = np.array(draw(st.lists(st.floats(1e-3, 1.0), min_size=cells, max_size=cells)))
    w = w ** draw(st.floats(1.0, 6.0))
    return (w / w.sum()).reshape((alphabet,) * n)


# --------------------------------------------------------------------------- bad values, by kind of argument
# For fuzzing the argument contract: every value drawn here must be refused (a ``ValueError`` whose
# message starts with the argument's name) by an argument of that kind.  Each strategy shrinks towards
# the simplest bad value of its kind (the first alternative of its ``one_of``).
NON_FINITE = (float("nan"), float("inf"), float("-inf"))


def non_finite_floats() -> st.SearchStrategy[float]:
    """``nan``, ``inf`` or ``-inf``."""
    return st.sampled_from(NON_FINITE)


def bad_reals(minimum_exclusive: float | None = None) -> st.SearchStrategy:
    """Values that are no finite real number (``> minimum_exclusive`` when given): non-finite floats, numbers
    at or below the minimum, complex numbers, booleans, strings, ``None``, lists."""
    options = [non_finite_floats(), st.complex_numbers(allow_nan=False).filter(lambda z: z.imag != 0),
               st.booleans(), st.text(max_size=3), st.none(), st.lists(st.floats(0.1, 1.0), min_size=1, max_size=2)]
    if minimum_exclusive is not None:
        bound = validate.finite_float(minimum_exclusive, "minimum_exclusive")
        options.insert(0, st.floats(max_value=bound, allow_nan=False, allow_infinity=False))
    return st.one_of(*options)


def bad_integers(minimum: int = 1, maximum: int | None = None) -> st.SearchStrategy:
    """Values that are no integer in ``[minimum, maximum]``: integers below the range (and above it when
    ``maximum`` is given: ``maximum = validate.MAX_INT64`` for arguments stored as int64), fractions,
    non-finite floats, booleans, strings, ``None``, complex numbers."""
    minimum = int(validate.finite_float(minimum, "minimum"))
    options = [st.integers(max_value=minimum - 1)]
    if maximum is not None:
        maximum = validate.positive_int(maximum, "maximum", minimum=minimum)
        options.append(st.integers(min_value=maximum + 1, max_value=max(maximum + 1, 2 ** 200)))
    options += [st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: x != int(x)),
               non_finite_floats(), st.booleans(), st.text(max_size=3), st.none(),
               st.complex_numbers(allow_nan=False).filter(lambda z: z.imag != 0)]
    return st.one_of(*options)


def non_finite_arrays(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    """Float64 arrays of ``shape`` (every size ``>= 1``, at most 4096 entries) with finite entries but at
    least one ``nan`` or ``±inf``."""
    if not isinstance(shape, tuple):
        raise ValueError(f"shape: expected a tuple of sizes, got {validate.short_repr(shape)}")
    shape = tuple(validate.positive_int(n, "shape", maximum=4096) for n in shape)
    if int(np.prod(shape)) > 4096:
        raise ValueError(f"shape: expected at most 4096 entries, got {shape}")
    return _non_finite_arrays(shape)


@st.composite
def _non_finite_arrays(draw, shape: tuple[int, ...]) -> np.ndarray:
    size = int(np.prod(shape))
    arr = np.array(draw(st.lists(st.floats(-10.0, 10.0), min_size=size, max_size=size)), dtype=np.float64)
    cells = draw(st.lists(st.integers(0, size - 1), min_size=1, max_size=size, unique=True))
    arr[cells] = [draw(non_finite_floats()) for _ in cells]
    return arr.reshape(shape)


def non_unitary_matrices(d: int, real: bool = False) -> st.SearchStrategy[np.ndarray]:
    """Finite ``(d, d)`` matrices (``d >= 1``; float64 if ``real``, else complex128) that are not unitary
    (orthogonal) within :data:`theory.validate.UNITARY_TOL`: the zero matrix, scaled or perturbed
    identities, random matrices."""
    d = validate.positive_int(d, "d", maximum=64)
    real = validate.boolean(real, "real")
    return _non_unitary_matrices(d, real)


@st.composite
def _non_unitary_matrices(draw, d: int, real: bool) -> np.ndarray:
    kind = draw(st.sampled_from(("zero", "scaled", "perturbed", "random")))
    if kind == "zero":
        M = np.zeros((d, d))
    elif kind == "scaled":
        M = draw(st.sampled_from((0.5, 2.0, -1.5, 1 + 1e-6))) * np.eye(d)
    else:
        entries = np.array(draw(st.lists(st.floats(-1.0, 1.0), min_size=d * d, max_size=d * d))).reshape(d, d)
        M = np.eye(d) + (draw(st.floats(1e-6, 1.0)) * np.sign(entries) + entries) if kind == "perturbed" else entries
    M = M.astype(np.float64 if real else np.complex128)
    if np.max(np.abs(M.conj().T @ M - np.eye(d))) <= validate.UNITARY_TOL:  # a random draw may be orthogonal
        M = 2 * M
    return M


def non_stochastic_matrices(S: int) -> st.SearchStrategy[np.ndarray]:
    """Finite ``(S, S)`` matrices (``S >= 2``) that are no transition matrix: a row not summing to 1
    (zeros among them), or a negative entry."""
    S = validate.positive_int(S, "S", minimum=2, maximum=MAX_STRATEGY_STATES)
    return _non_stochastic_matrices(S)


@st.composite
def _non_stochastic_matrices(draw, S: int) -> np.ndarray:
    pi = draw(transition_matrices(S))
    row = draw(st.integers(0, S - 1))
    kind = draw(st.sampled_from(("zeros", "scaled", "negative")))
    if kind == "zeros":
        pi[row] = 0.0
    elif kind == "scaled":
        pi[row] *= draw(st.sampled_from((0.5, 2.0, 1 + 1e-6)))
    else:
        pi[row] = 0.0
        pi[row, 0], pi[row, 1] = 1.5, -0.5
    return pi
