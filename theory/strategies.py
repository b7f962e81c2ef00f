"""Hypothesis strategies for the objects of the theory, for users' own property tests.

    from hypothesis import given
    from theory.strategies import forests, transition_matrices

    @given(forests(6), transition_matrices(3))
    def test_my_claim(graph, pi): ...

Every strategy draws float64 objects that pass the toolkit's validation.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from theory.causal import CausalGraph, DirichletPrior, FinitePrior

KINDS = ("generic", "near_degenerate", "self_looping", "sparse")


def _normalise_rows(weights: np.ndarray) -> np.ndarray:
    return weights / weights.sum(axis=-1, keepdims=True)


@st.composite
def forests(draw, n: int | st.SearchStrategy[int] = st.integers(1, 6)) -> CausalGraph:
    """Forests on ``n`` positions: each ``p(i)`` is a root or any earlier position."""
    size = draw(n) if isinstance(n, st.SearchStrategy) else n
    parents = [None] + [draw(st.one_of(st.none(), st.integers(0, i - 1))) for i in range(1, size)]
    return CausalGraph.from_parents(parents)


@st.composite
def trees(draw, n: int | st.SearchStrategy[int] = st.integers(1, 6)) -> CausalGraph:
    """Single trees rooted at 0: every ``i >= 1`` has a parent in ``0..i-1``."""
    size = draw(n) if isinstance(n, st.SearchStrategy) else n
    return CausalGraph.from_parents([None] + [draw(st.integers(0, i - 1)) for i in range(1, size)])


@st.composite
def k_parent_dags(draw, n: int | st.SearchStrategy[int] = st.integers(2, 6), k: int = 2) -> CausalGraph:
    """DAGs where each position ``i >= k`` has exactly ``k`` distinct earlier parents, earlier ones are roots."""
    size = draw(n) if isinstance(n, st.SearchStrategy) else n
    parents: list = []
    for i in range(size):
        if i < k:
            parents.append(None)
        else:
            parents.append(draw(st.lists(st.integers(0, i - 1), min_size=k, max_size=k, unique=True)))
    return CausalGraph.from_parents(parents)


@st.composite
def transition_matrices(draw, S: int | st.SearchStrategy[int] = st.integers(2, 4),
                        kind: str | None = None) -> np.ndarray:
    """Row-stochastic ``(S, S)`` float64 matrices with full support (a unique, positive stationary law).

    ``kind``: ``"generic"`` (entries bounded away from 0), ``"near_degenerate"``
    (rows close to one-hot, smallest entries down to ~1e-6), ``"self_looping"``
    (diagonal weight up to 0.999), ``"sparse"`` (Dirichlet-like, many small
    entries); ``None`` mixes them.
    """
    size = draw(S) if isinstance(S, st.SearchStrategy) else S
    kind = draw(st.sampled_from(KINDS)) if kind is None else kind
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {KINDS} or None, got {kind!r}")
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


@st.composite
def finite_priors(draw, S: int | st.SearchStrategy[int] = st.integers(2, 3), size: int = 3) -> FinitePrior:
    """Finite priors: 1..size transition matrices with random positive weights."""
    s = draw(S) if isinstance(S, st.SearchStrategy) else S
    m = draw(st.integers(1, size))
    mats = np.stack([draw(transition_matrices(s)) for _ in range(m)])
    w = np.array(draw(st.lists(st.floats(0.1, 1.0), min_size=m, max_size=m)))
    return FinitePrior(mats, w / w.sum())


@st.composite
def dirichlet_priors(draw, S: int | st.SearchStrategy[int] = st.integers(2, 10)) -> DirichletPrior:
    """Dirichlet priors ``Dirichlet(α·1_S)`` with ``α`` in ``[0.05, 5]``."""
    s = draw(S) if isinstance(S, st.SearchStrategy) else S
    return DirichletPrior(s, draw(st.floats(0.05, 5.0)))


@st.composite
def joint_distributions(draw, n: int = 3, alphabet: int = 2) -> np.ndarray:
    """A full joint law of ``n`` variables on ``[alphabet]``: an array with ``n`` axes, positive entries."""
    cells = alphabet ** n
    w = np.array(draw(st.lists(st.floats(1e-3, 1.0), min_size=cells, max_size=cells)))
    w = w ** draw(st.floats(1.0, 6.0))
    return (w / w.sum()).reshape((alphabet,) * n)
