"""Random sequences with a latent causal graph (spec 1, sections 1-2): graphs, priors on π, sampling.

Notation: vocabulary ``[S] = {0..S-1}``; context positions ``0..n-1``; query
position ``n``; ``T = n + 1``.  Each context position ``i`` has parents
``p(i) ⊂ {0..i-1}``.  ``π`` is a row-stochastic ``(S, S)`` transition matrix and
``μ_π`` its stationary law.

Sequence law, for a fixed ``π``:
    roots ``x_i ~ μ_π`` ("stationary") or ``Uniform([S])`` ("uniform");
    single-parent ``x_i ~ π(x_{p(i)}, ·)``;
    k-parent ``x_i ~ π(x_{p_1(i)}, ..., x_{p_k(i)}, ·)`` with ``π`` of shape
    ``(S,)*(k+1)`` (sampler and brute force only);
    query ``x_n ~ Uniform([S])``, target ``y = π(x_n, ·)``.

This module owns the graphs (:class:`CausalGraph`), the priors and their one
dispatch (:func:`prior_stack`), the samplers (:func:`sample_sequences`,
:func:`sample_k_parent_sequences`), the count estimator, and the validated
single-π front ends of the exact laws (:func:`stationary_distribution`,
:func:`marginals`, :func:`pairwise_joint`), whose stack kernels live in
:mod:`theory.laws`.  Exact laws by enumeration and the brute-force oracles
live in :mod:`theory.enumeration` (``all_sequences``, ``enumerate_population``,
... are still importable from here).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from theory import validate
from theory.laws import ROOTS, marginal_laws, pairwise_joints, root_laws, stationary_laws, transition_powers

# --------------------------------------------------------------------------- graphs
@dataclass(frozen=True)
class CausalGraph:
    """A DAG on context positions ``0..n-1`` whose edges point forward.

    ``parents[i]`` is the sorted tuple of parents of position ``i`` (empty for
    a root).
    """

    parents: tuple[tuple[int, ...], ...]

    def __post_init__(self) -> None:
        """The constructor takes the canonical form only (what :meth:`from_parents` builds): a
        non-empty tuple of sorted tuples of distinct ints, entry ``i`` inside ``0..i-1``; so a cycle,
        a self-loop or an out-of-range parent is refused here too, naming ``parents``."""
        parents = self.parents
        if not isinstance(parents, tuple) or not 1 <= len(parents) <= validate.MAX_POSITIONS:
            raise ValueError(f"parents: expected a tuple of 1..{validate.MAX_POSITIONS:,} tuples (one per position; "
                             f"or use CausalGraph.from_parents), got {type(parents).__name__}"
                             f"{' of length ' + str(len(parents)) if isinstance(parents, tuple) else ''}")
        for i, ps in enumerate(parents):
            if not isinstance(ps, tuple) or any(isinstance(q, bool) or not isinstance(q, int) for q in ps):
                raise ValueError(f"parents[{i}]: expected a tuple of ints (use CausalGraph.from_parents for other "
                                 f"forms), got {validate.short_repr(ps)}")
            if any(not 0 <= q < i for q in ps) or list(ps) != sorted(set(ps)):
                raise ValueError(f"parents[{i}]: expected sorted distinct earlier positions in 0..{i - 1} "
                                 f"(edges point forward, so no cycle), got {validate.short_repr(ps)}")

    @classmethod
    def from_parents(cls, parents: Sequence[Any]) -> "CausalGraph":
        """Entry ``i``: ``None`` (root), an ``int < i``, or a sequence of distinct ints ``< i``."""
        if isinstance(parents, (str, bytes)) or not isinstance(parents, Sequence):
            raise ValueError(f"parents: expected a sequence with one entry per position, got {type(parents).__name__}")
        if len(parents) < 1:
            raise ValueError("parents: expected at least one position, got an empty sequence")
        if len(parents) > validate.MAX_POSITIONS:
            raise ValueError(f"parents: expected at most {validate.MAX_POSITIONS:,} positions, got {len(parents):,}")
        out = []
        for i, p in enumerate(parents):
            if p is None:
                ps: tuple[int, ...] = ()
            elif isinstance(p, numbers.Integral) and not isinstance(p, bool):
                ps = (int(p),)
            elif isinstance(p, (Sequence, np.ndarray)) and not isinstance(p, (str, bytes)):
                ps = tuple(q.item() if isinstance(q, np.integer) else q for q in p)
            else:
                raise ValueError(f"parents[{i}]: expected None, an int or a sequence of ints, "
                                 f"got {validate.short_repr(p)}")
            for q in ps:
                if isinstance(q, bool) or not isinstance(q, numbers.Integral):
                    raise ValueError(f"parents[{i}]: expected integer parents, got {validate.short_repr(q)}")
                if not 0 <= q < i:
                    raise ValueError(f"parents[{i}]: a parent must be an earlier position in 0..{i - 1}, got {q}")
            if len(set(ps)) != len(ps):
                raise ValueError(f"parents[{i}]: parents must be distinct, got {ps}")
            out.append(tuple(sorted(int(q) for q in ps)))
        return cls(tuple(out))

    @classmethod
    def chain(cls, n: int) -> "CausalGraph":
        """The in-context Markov chain ``p(i) = i - 1``."""
        n = validate.positive_int(n, "n", maximum=validate.MAX_POSITIONS)
        return cls.from_parents([None] + list(range(n - 1)))

    @classmethod
    def icl_pairs(cls, n: int) -> "CausalGraph":
        """Pairs ``x, f(x), x', f(x'), ...``: odd ``i`` has parent ``i - 1``; even ``i`` are roots."""
        n = validate.positive_int(n, "n", maximum=validate.MAX_POSITIONS)
        return cls.from_parents([i - 1 if i % 2 else None for i in range(n)])

    @classmethod
    def random_forest(cls, n: int, rng: Any = None) -> "CausalGraph":
        """Each ``p(i)`` uniform on ``{∅, 0, ..., i-1}`` independently."""
        n = validate.positive_int(n, "n", maximum=validate.MAX_POSITIONS)
        gen = validate.rng(rng)
        draws = gen.integers(-1, np.arange(n))  # -1 means root; upper bound exclusive: i options + root
        return cls.from_parents([None if d < 0 else int(d) for d in draws])

    @classmethod
    def from_networkx(cls, graph: Any) -> "CausalGraph":
        """From a ``networkx.DiGraph`` on nodes ``0..n-1`` with edges parent → child."""
        if not hasattr(graph, "nodes") or not hasattr(graph, "predecessors"):
            raise ValueError(f"graph: expected a networkx.DiGraph, got {type(graph).__name__}")
        try:
            nodes = sorted(graph.nodes)
        except TypeError:
            raise ValueError("graph: expected integer nodes 0..n-1") from None
        if nodes != list(range(len(nodes))):
            raise ValueError(f"graph: expected nodes 0..n-1, got {nodes}")
        return cls.from_parents([sorted(graph.predecessors(i)) for i in nodes])

    def to_networkx(self):
        import networkx as nx

        g = nx.DiGraph()
        g.add_nodes_from(range(self.n))
        g.add_edges_from((p, i) for i, ps in enumerate(self.parents) for p in ps)
        return g

    # ---- derived structure
    @property
    def n(self) -> int:
        """Number of context positions."""
        return len(self.parents)

    @property
    def max_in_degree(self) -> int:
        return max(len(ps) for ps in self.parents)

    @property
    def is_forest(self) -> bool:
        return self.max_in_degree <= 1

    @property
    def roots(self) -> tuple[int, ...]:
        return tuple(i for i, ps in enumerate(self.parents) if not ps)

    def parent(self, i: int) -> int | None:
        """The single parent of ``i`` (``None`` for a root); forests only."""
        self.require_forest("parent")
        return self.parents[i][0] if self.parents[i] else None

    def parent_array(self) -> np.ndarray:
        """``(n,)`` int array: parent of each position, ``-1`` for roots (forests only)."""
        self.require_forest("parent_array")
        return np.array([ps[0] if ps else -1 for ps in self.parents], dtype=np.int64)

    def adjacency(self) -> np.ndarray:
        """``(n, n)`` 0/1 matrix with ``[i, j] = 1`` iff ``j ∈ p(i)``."""
        a = np.zeros((self.n, self.n))
        for i, ps in enumerate(self.parents):
            a[i, list(ps)] = 1.0
        return a

    def depths(self) -> np.ndarray:
        """``(n,)`` distance of each position to its root (forests only)."""
        par = self.parent_array()
        depth = np.zeros(self.n, dtype=np.int64)
        for i in range(self.n):  # parents come first, so one pass suffices
            depth[i] = 0 if par[i] < 0 else depth[par[i]] + 1
        return depth

    def ancestor_matrix(self) -> np.ndarray:
        """``(n, n)`` bool, ``[i, c]`` true iff ``c`` is ``i`` or an ancestor of ``i``."""
        validate.memory(2.0 * self.n ** 2, "graph", f"the (n, n) ancestor matrix at n = {self.n:,}")
        anc = np.eye(self.n, dtype=bool)
        for i, ps in enumerate(self.parents):
            for p in ps:
                anc[i] |= anc[p]
        return anc

    def lowest_common_ancestors(self) -> np.ndarray:
        """``(n, n)`` int: the lowest common ancestor of ``i`` and ``j``, ``-1`` if in different trees.

        Forests only; ``lca[i, i] = i``.
        """
        self.require_forest("lowest_common_ancestors")
        validate.memory(40 * self.n ** 2, "graph", f"the (n, n) lowest common ancestors at n = {self.n:,}")
        anc = self.ancestor_matrix()
        par = self.parent_array()
        lca = np.full((self.n, self.n), -1, dtype=np.int64)
        # Parents come first.  For j <= i: lca(i, j) = j if j is i or an ancestor of i, else
        # lca(p(i), j) (-1 at a root i: j then lies in another tree).  O(n²) memory, not O(n³).
        for i in range(self.n):  # positions, not sequences
            row = np.arange(i + 1)
            inherited = lca[par[i], : i + 1] if par[i] >= 0 else np.full(i + 1, -1)
            lca[i, : i + 1] = np.where(anc[i, : i + 1], row, inherited)
            if par[i] >= 0:
                lca[i, par[i]] = par[i]
            lca[: i, i] = lca[i, : i]
        return lca

    def lca_distances(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Four ``(n, n)`` arrays for every pair ``(i, j)``: ``same`` (one tree), the lowest common
        ancestor ``c`` (0 across trees) and the distances ``d_i, d_j`` from ``c`` (0 across trees).

        Forests only.
        """
        depth = self.depths()
        lca = self.lowest_common_ancestors()
        same = lca >= 0
        c = np.where(same, lca, 0)
        d_i = np.where(same, depth[:, None] - depth[c], 0)
        d_j = np.where(same, depth[None, :] - depth[c], 0)
        return same, c, d_i, d_j

    def require_forest(self, what: str) -> None:
        """Raise ``ValueError`` (naming ``graph`` and ``what`` needs it) unless every position has <= 1 parent."""
        if not self.is_forest:
            raise ValueError(f"graph: {what} needs a forest (every position has at most one parent), "
                             f"got in-degree {self.max_in_degree}")


def as_causal_graph(graph: Any) -> CausalGraph:
    """``graph`` itself if it is a :class:`CausalGraph`, else ``ValueError`` naming ``graph``."""
    if not isinstance(graph, CausalGraph):
        raise ValueError(f"graph: expected a CausalGraph, got {type(graph).__name__}")
    return graph


# --------------------------------------------------------------------------- stationary law
def stationary_distribution(pi: Any) -> np.ndarray:
    """The stationary law ``μ_π``: ``μ π = μ``, ``Σ_a μ(a) = 1``.

    ``pi``: ``(S, S)`` or a stack ``(m, S, S)``; returns ``(S,)`` or ``(m, S)``.
    Raises ``ValueError`` if some chain has no unique stationary law.
    The kernel is :func:`theory.laws.stationary_laws` (GTH state reduction).
    """
    arr = validate.finite_array(pi, "pi")
    stack = validate.transition_stack(arr[None] if arr.ndim == 2 else arr, "pi")
    return stationary_laws(stack)[0] if arr.ndim == 2 else stationary_laws(stack)


# old names: ``root_law`` is :func:`theory.laws.root_laws`
root_law = root_laws


# --------------------------------------------------------------------------- priors
# The smallest entry a sampled π carries (2^-960 ≈ 1.0e-289); see DirichletPrior.sample.
PROBABILITY_FLOOR = float.fromhex("0x1p-960")


class DirichletPrior:
    """Rows of ``π`` i.i.d. ``Dirichlet(α·1_S)``, ``S >= 2``, ``α > 0`` (any size: 0.001 and 100 alike)."""

    def __init__(self, S: int, alpha: float = 0.1):
        self.S = validate.positive_int(S, "S", minimum=2, maximum=validate.MAX_STATES)
        self.alpha = validate.finite_float(alpha, "alpha", positive=True)

    def sample(self, size: int, rng: Any = None, *, max_bytes: int | None = None) -> np.ndarray:
        """``(size, S, S)`` independent draws of ``π``.

        A Dirichlet draw has every entry positive with probability 1, but for small ``α`` an entry is
        below the float64 range with positive probability (``P(π(a, b) < ε) ≈ ε^α``: at ``α = 0.01``
        most rows have one below ``10^-308``), and NumPy's sampler returns it as an exact ``0``: the
        stationary law may then vanish at a state and ``1/μ_π`` is infinite, for a chain that is
        irreducible with probability 1.  Entries below ``PROBABILITY_FLOOR = 2^-960`` (≈ 1e-289) are
        therefore raised to it.  Rows still sum to 1 to the last bit (the floor is far below one ulp
        of 1), the law of π moves by at most ``S·2^-960`` in total variation, every chain is
        irreducible with ``μ_π(a) >= min_b π(b, a) >= 2^-960``, and every ratio ``π/μ_π`` stays below
        ``2^960``: finite.  Draws with no entry below the floor (every draw at ``α >= 0.1`` in
        practice) are NumPy's bits, unchanged; the random stream is the same.
        Refuses before allocating when ``size·S²`` float64 exceed the memory budget (``max_bytes``).
        """
        size = validate.positive_int(size, "size")
        validate.memory(16 * size * self.S ** 2, "size", f"{size:,} draws of an ({self.S}, {self.S}) matrix",
                        max_bytes)
        gen = validate.rng(rng)
        draws = gen.dirichlet(np.full(self.S, self.alpha), size=(size, self.S))
        return np.maximum(draws, PROBABILITY_FLOOR, out=draws)

    def __repr__(self) -> str:
        return f"DirichletPrior(S={self.S}, alpha={self.alpha})"


class FinitePrior:
    """``π = matrices[k]`` with probability ``weights[k]``; population quantities are exact."""

    def __init__(self, matrices: Any, weights: Any = None):
        self.matrices = validate.transition_stack(matrices, "matrices")
        m = self.matrices.shape[0]
        if weights is None:
            weights = np.full(m, 1.0 / m)
        self.weights = validate.probability_vector(weights, "weights", S=m)
        self.S = self.matrices.shape[1]

    def sample(self, size: int, rng: Any = None, *, max_bytes: int | None = None) -> np.ndarray:
        """``(size, S, S)``: ``size`` independent draws of one of the matrices (by ``weights``)."""
        size = validate.positive_int(size, "size")
        validate.memory(16 * size * self.S ** 2, "size", f"{size:,} draws of an ({self.S}, {self.S}) matrix",
                        max_bytes)
        gen = validate.rng(rng)
        return self.matrices[gen.choice(len(self.weights), size=size, p=self.weights)]

    def __repr__(self) -> str:
        return f"FinitePrior(S={self.S}, size={len(self.weights)})"


def is_prior(obj: Any) -> bool:
    """Whether ``obj`` is a prior on π (a ``DirichletPrior`` or a ``FinitePrior``), not one fixed matrix."""
    return isinstance(obj, (DirichletPrior, FinitePrior))


def alphabet_size(prior: Any, name: str = "prior") -> int:
    """``S`` of a prior, or of one fixed ``(S, S)`` matrix (validated; errors name ``name``)."""
    if is_prior(prior):
        return prior.S
    return validate.transition_matrix(prior, name).shape[0]


def prior_stack(prior: Any, *, draws: int = 1000, rng: Any = None, min_draws: int = 1,
                name: str = "prior", max_bytes: int | None = None) -> tuple[np.ndarray, np.ndarray, bool]:
    """The one dispatch over what may stand for π: ``(pis (m, S, S), weights (m,), is_monte_carlo)``.

    A prior average is ``E_π[f(π)] = Σ_k weights[k] f(pis[k])``:
      - one fixed ``(S, S)`` matrix (validated; errors name ``name``): ``m = 1``, weight 1;
      - a ``FinitePrior``: its matrices and weights, exact;
      - a ``DirichletPrior``: ``draws`` (an integer ``>= min_draws``) i.i.d. draws
        ``prior.sample(draws, rng)``, weights ``1/draws``; ``is_monte_carlo`` is True
        and the average is a Monte Carlo estimate.
    """
    draws = validate.positive_int(draws, "draws", minimum=min_draws)
    if rng is not None and not isinstance(rng, np.random.Generator):
        rng = validate.rng(rng)
    if isinstance(prior, DirichletPrior):
        validate.memory(16 * draws * prior.S ** 2, "draws", f"{draws:,} draws of π", max_bytes)
        return prior.sample(draws, validate.rng(rng), max_bytes=max_bytes), np.full(draws, 1.0 / draws), True
    if isinstance(prior, FinitePrior):
        return prior.matrices, prior.weights, False
    return validate.transition_matrix(prior, name)[None], np.ones(1), False


# --------------------------------------------------------------------------- sampling
@dataclass(frozen=True)
class Batch:
    """Sampled sequences: ``tokens (B, T)`` int (query last), ``pi (B, S, S)``, ``target (B, S)``."""

    tokens: np.ndarray
    pi: np.ndarray
    target: np.ndarray


def sample_sequences(graph: CausalGraph, prior: Any, size: int, rng: Any = None,
                     roots: str = "stationary", *, max_bytes: int | None = None) -> Batch:
    """Draw ``size`` independent ``(tokens, π, target)`` triples, vectorised over the batch.

    ``prior``: a ``DirichletPrior``, a ``FinitePrior`` or one fixed ``(S, S)`` matrix
    (forests).  For a k-parent graph ``prior`` must be one fixed ``(S,)*(k+1)``
    conditional table ``π(x_{p_1}, ..., x_{p_k}, ·)`` shared by every position
    with ``k`` parents; then ``target`` is ``π(x_n, ..., x_n, ·)``.
    Refuses before allocating above the memory budget (``max_bytes``).
    """
    graph = as_causal_graph(graph)
    size = validate.positive_int(size, "size")
    roots = validate.choice(roots, "roots", ROOTS)
    S = prior.S if is_prior(prior) else max(np.shape(prior)[-1:] or (2,))
    validate.memory(8 * size * (3 * (graph.n + 1) + 4 * S * S + 3 * S), "size",
                    f"{size:,} sequences of length {graph.n + 1} over {S} states", max_bytes)
    gen = validate.rng(rng)
    if is_prior(prior):
        pis = prior.sample(size, gen)
    else:
        table = validate.finite_array(prior, "prior")
        if table.ndim != graph.max_in_degree + 1 and not (graph.is_forest and table.ndim == 2):
            raise ValueError(f"prior: expected a prior or a conditional table with {max(graph.max_in_degree, 1) + 1} "
                             f"axes for this graph, got shape {table.shape}")
        if table.ndim == 2:
            pis = np.broadcast_to(validate.transition_matrix(table, "prior"), (size,) + table.shape)
        else:
            return _sample_fixed_table(graph, _conditional_table(table), size, gen, roots)
    S = pis.shape[1]
    n = graph.n
    tokens = np.empty((size, n + 1), dtype=np.int64)
    start = root_laws(pis, roots)  # (B, S)
    cum_pi = np.cumsum(pis, axis=2)
    cum_start = np.cumsum(start, axis=1)
    u = gen.random((size, n + 1))
    rows = np.arange(size)
    for i, ps in enumerate(graph.parents):  # positions, not sequences: the batch is vectorised
        cdf = cum_start if not ps else cum_pi[rows, tokens[:, ps[0]]]
        tokens[:, i] = _inverse_cdf(cdf, u[:, i])
    tokens[:, n] = gen.integers(0, S, size=size)
    target = pis[rows, tokens[:, n]]
    return Batch(tokens, np.ascontiguousarray(pis), target)


def _inverse_cdf(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Row-wise inverse CDF sampling: ``cdf (B, S)``, ``u (B,)`` → ``(B,)``."""
    idx = (u[:, None] * cdf[:, -1:] >= cdf).sum(axis=1)
    return np.minimum(idx, cdf.shape[1] - 1)


def _conditional_table(table: np.ndarray) -> np.ndarray:
    arr = validate.finite_array(table, "prior", nonnegative=True)
    S = arr.shape[-1]
    if S < 2 or any(s != S for s in arr.shape):
        raise ValueError(f"prior: expected a conditional table of shape (S, ..., S) with S >= 2, got {arr.shape}")
    worst = np.max(np.abs(arr.sum(axis=-1) - 1.0))
    if worst > validate.ROW_SUM_TOL:
        raise ValueError(f"prior: expected conditional laws summing to 1 within 1e-9, worst is off by {worst:.3g}")
    return arr


def _sample_fixed_table(graph: CausalGraph, table: np.ndarray, size: int, gen: np.random.Generator,
                        roots: str) -> Batch:
    """One fixed conditional table ``(S,)*(k+1)`` shared by every sequence; uniform roots."""
    S, k = table.shape[-1], table.ndim - 1
    if roots == "stationary":
        raise ValueError("roots: a k-parent conditional table has no stationary law; use roots='uniform'")
    for i, ps in enumerate(graph.parents):
        if ps and len(ps) != k:
            raise ValueError(f"graph: position {i} has {len(ps)} parents but the table takes {k}")
    cum = np.broadcast_to(np.cumsum(table.reshape(S ** k, S), axis=1), (size, S ** k, S))
    tokens = _k_parent_tokens(graph, cum, gen)
    target = table[tuple([tokens[:, graph.n]] * k)]
    return Batch(tokens, np.broadcast_to(table, (size,) + table.shape).copy(), target)


def _k_parent_tokens(graph: CausalGraph, cum: np.ndarray, gen: np.random.Generator) -> np.ndarray:
    """``tokens (B, T)`` from per-sequence cumulative tables ``cum (B, S^k, S)`` (row ``Σ_r x_{p_r} S^{k-1-r}``).

    Roots uniform, non-root ``i`` by inverse CDF of its parents' row, query uniform; the
    random stream is ``u = rng.random((B, n))`` then ``rng.integers`` for the query.
    """
    size, _, S = cum.shape
    n, k = graph.n, graph.max_in_degree
    radix = S ** np.arange(k - 1, -1, -1)
    tokens = np.empty((size, n + 1), dtype=np.int64)
    u = gen.random((size, n))
    rows = np.arange(size)
    for i, ps in enumerate(graph.parents):  # positions, not sequences: the batch is vectorised
        if not ps:
            tokens[:, i] = np.minimum((u[:, i] * S).astype(np.int64), S - 1)
        else:
            row = tokens[:, list(ps)] @ radix
            tokens[:, i] = np.minimum((u[:, i, None] >= cum[rows, row]).sum(axis=1), S - 1)
    tokens[:, n] = gen.integers(0, S, size=size)
    return tokens


def sample_k_parent_sequences(graph: CausalGraph, S: int, alpha: float, size: int, rng: Any = None, *,
                              max_bytes: int | None = None) -> Batch:
    """Sequences on a k-parent graph with a fresh conditional table per sequence (vectorised).

    Table rows ``π(c_1..c_k, ·) ~ Dirichlet(α·1_S)`` i.i.d.; roots uniform; non-roots
    ``x_i ~ π(x_{p_1(i)}, ..., x_{p_k(i)}, ·)``; query ``x_n`` uniform.  The target is the
    law of the next token ``x_{n+1}``, whose parents sit at the offsets of position
    ``n-1``'s parents: ``y = π(x_{n+1-d_1}, ..., x_{n+1-d_k}, ·)``, ``d_r = n-1 - p_r(n-1)``
    (for the k-gram graph, the last ``k`` tokens, query included).
    Returns ``Batch(tokens (B, T), pi (B, S^k, S), target (B, S))``.
    """
    graph = as_causal_graph(graph)
    S = validate.positive_int(S, "S", minimum=2, maximum=validate.MAX_STATES)
    alpha = validate.finite_float(alpha, "alpha", positive=True)
    size = validate.positive_int(size, "size")
    k = graph.max_in_degree
    validate.memory(8 * size * (3 * float(S) ** (k + 1) + 2 * (graph.n + 1)), "size",
                    f"{size:,} conditional tables of {S}^{k + 1} entries", max_bytes)
    gen = validate.rng(rng)
    last = graph.parents[-1]
    if len(last) != k or any(ps and len(ps) != k for ps in graph.parents):
        raise ValueError(f"graph: expected every non-root, including position n-1, to have exactly {k} parents")
    n = graph.n
    table = gen.dirichlet(np.full(S, alpha), size=(size, S ** k))  # (B, S^k, S)
    tokens = _k_parent_tokens(graph, np.cumsum(table, axis=2), gen)
    radix = S ** np.arange(k - 1, -1, -1)
    offsets = [n - 1 - p for p in last]
    ctx = np.stack([tokens[:, n + 1 - d] for d in offsets], axis=1) @ radix
    return Batch(tokens, table, table[np.arange(size), ctx])


# --------------------------------------------------------------------------- the count estimator
def count_estimator(graph: CausalGraph, tokens: Any, alpha: float, S: int) -> np.ndarray:
    """The in-context bigram estimate ("Bayes" in the paper's plots).

        ŷ_s = (α + #{i : x_{p(i)} = x_n, x_i = s}) / (S·α + #{i : x_{p(i)} = x_n})

    ``tokens``: ``(B, T)`` with the query last → ``(B, S)``.  It is the exact
    posterior mean of ``π(x_n, ·)`` under the Dirichlet prior only with uniform
    roots; with stationary roots the roots' likelihood also depends on ``π``.
    Forests only.
    """
    graph = as_causal_graph(graph)
    alpha = validate.finite_float(alpha, "alpha", positive=True)
    S = validate.positive_int(S, "S", minimum=2)
    graph.require_forest("count_estimator")
    x = validate.token_array(tokens, "tokens", S, graph.n + 1)
    par = graph.parent_array()
    child = np.flatnonzero(par >= 0)
    match = x[:, par[child]] == x[:, -1:]  # (B, #children): parent token equals the query
    counts = np.zeros((x.shape[0], S))
    np.add.at(counts, (np.repeat(np.arange(x.shape[0]), len(child)), x[:, child].ravel()), match.ravel())
    return (alpha + counts) / (S * alpha + counts.sum(axis=1, keepdims=True))


# --------------------------------------------------------------------------- exact laws of one π
def marginals(graph: CausalGraph, pi: Any, roots: str = "stationary") -> np.ndarray:
    """``(n, S)``: ``P(x_i = a) = (law_root π^{depth(i)})[a]`` for a forest and fixed ``π``."""
    graph = as_causal_graph(graph)
    graph.require_forest("marginals")
    pi = validate.transition_matrix(pi)
    validate.memory(8 * pi.shape[0] ** 2 * (graph.n + 2), "graph", f"the laws of {graph.n:,} positions")
    depth = graph.depths()
    return marginal_laws(root_laws(pi[None], roots), transition_powers(pi[None], int(depth.max())), depth)[0]


def pairwise_joint(graph: CausalGraph, pi: Any, roots: str = "stationary") -> np.ndarray:
    """Pairwise joint laws of the context for a forest and a fixed ``π``.

    With ``c`` the lowest common ancestor of ``i`` and ``j`` and ``d_i, d_j``
    their distances to it:

        P(x_i = a, x_j = b) = Σ_z law(x_c = z) (π^{d_i})[z, a] (π^{d_j})[z, b],

    and ``P(x_i = a) P(x_j = b)`` when ``i`` and ``j`` lie in different trees.

    Returns ``(n, n, S, S)`` with ``[i, j, a, b] = P(x_i = a, x_j = b)``; the
    diagonal blocks are ``diag(P(x_i = ·))``.  Stack kernel:
    :func:`theory.laws.pairwise_joints`.
    """
    graph = as_causal_graph(graph)
    graph.require_forest("pairwise_joint")
    pi = validate.transition_matrix(pi)
    validate.memory(8 * 6 * graph.n ** 2 * pi.shape[0] ** 2, "graph",
                    f"the (n, n, S, S) pairwise joints at n = {graph.n:,}, S = {pi.shape[0]}")
    return pairwise_joints(graph, pi[None], root_laws(pi[None], roots))[0]


# --------------------------------------------------------------------------- the keys of the edge ranking
RANKING_KEYS = ("earlier", "diagonal", "all")


def ranking_pairs(graph: CausalGraph, keys: str = "earlier") -> np.ndarray:
    """The comparisons of the edge ranking (spec section 5.4): ``(K, 3)`` int rows ``(i, p(i), j)``.

    Layer-1 attention at context row ``i`` is ``softmax_{j<=i} A1[i, j]``, so the
    parent ``p(i)`` competes with every key ``j <= i``.  One row per non-root
    context position ``i`` and per competing key ``j``:

        keys="earlier":   j < i,  j != p(i)    (the keys the ranking of spec section 5.4 names)
        keys="diagonal":  j = i                 (the row's own key)
        keys="all":       j <= i, j != p(i)    (every key the softmax sees)

    Roots and the query row ``n`` have no parent and give no rows.  Rows are
    ordered by ``i``, then ``j``.  Forests only.
    """
    graph = as_causal_graph(graph)
    graph.require_forest("ranking_pairs")
    keys = validate.choice(keys, "keys", RANKING_KEYS)
    validate.memory(40 * graph.n ** 2, "graph", f"the key comparisons at n = {graph.n:,}")
    n = graph.n
    parent = graph.parent_array()
    i, j = np.nonzero(np.tril(np.ones((n, n), dtype=bool), k=0 if keys == "all" else -1))
    if keys == "diagonal":
        i = j = np.arange(n)
    keep = (parent[i] >= 0) & (j != parent[i])
    return np.stack([i[keep], parent[i[keep]], j[keep]], axis=1).astype(np.int64).reshape(-1, 3)


# --------------------------------------------------------------------------- moved to theory.enumeration
_MOVED_TO_ENUMERATION = ("all_sequences", "guard_enumeration", "sequence_probabilities",
                         "brute_force_pairwise_joint", "Population", "enumerate_population")


def __getattr__(name: str) -> Any:
    """Old import paths (``from theory.causal import enumerate_population``) keep working; loaded lazily
    because :mod:`theory.enumeration` itself imports this module."""
    if name in _MOVED_TO_ENUMERATION:
        from theory import enumeration

        return getattr(enumeration, name)
    raise AttributeError(f"module 'theory.causal' has no attribute {name!r}")
