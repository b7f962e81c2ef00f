"""Random sequences with a latent causal graph (spec 1, sections 1-2).

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
"""

from __future__ import annotations

import itertools
import numbers
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from theory import validate

ROOTS = ("stationary", "uniform")


# --------------------------------------------------------------------------- graphs
@dataclass(frozen=True)
class CausalGraph:
    """A DAG on context positions ``0..n-1`` whose edges point forward.

    ``parents[i]`` is the sorted tuple of parents of position ``i`` (empty for
    a root).
    """

    parents: tuple[tuple[int, ...], ...]

    @classmethod
    def from_parents(cls, parents: Sequence[Any]) -> "CausalGraph":
        """Entry ``i``: ``None`` (root), an ``int < i``, or a sequence of distinct ints ``< i``."""
        if isinstance(parents, (str, bytes)) or not isinstance(parents, Sequence):
            raise ValueError(f"parents: expected a sequence with one entry per position, got {type(parents).__name__}")
        if len(parents) < 1:
            raise ValueError("parents: expected at least one position, got an empty sequence")
        out = []
        for i, p in enumerate(parents):
            if p is None:
                ps: tuple[int, ...] = ()
            elif isinstance(p, numbers.Integral) and not isinstance(p, bool):
                ps = (int(p),)
            elif isinstance(p, Sequence) and not isinstance(p, (str, bytes)):
                ps = tuple(p)
            else:
                raise ValueError(f"parents[{i}]: expected None, an int or a sequence of ints, got {p!r}")
            for q in ps:
                if isinstance(q, bool) or not isinstance(q, numbers.Integral):
                    raise ValueError(f"parents[{i}]: expected integer parents, got {q!r}")
                if not 0 <= q < i:
                    raise ValueError(f"parents[{i}]: a parent must be an earlier position in 0..{i - 1}, got {q}")
            if len(set(ps)) != len(ps):
                raise ValueError(f"parents[{i}]: parents must be distinct, got {ps}")
            out.append(tuple(sorted(int(q) for q in ps)))
        return cls(tuple(out))

    @classmethod
    def chain(cls, n: int) -> "CausalGraph":
        """The in-context Markov chain ``p(i) = i - 1``."""
        n = validate.positive_int(n, "n")
        return cls.from_parents([None] + list(range(n - 1)))

    @classmethod
    def icl_pairs(cls, n: int) -> "CausalGraph":
        """Pairs ``x, f(x), x', f(x'), ...``: odd ``i`` has parent ``i - 1``; even ``i`` are roots."""
        n = validate.positive_int(n, "n")
        return cls.from_parents([i - 1 if i % 2 else None for i in range(n)])

    @classmethod
    def random_forest(cls, n: int, rng: Any = None) -> "CausalGraph":
        """Each ``p(i)`` uniform on ``{∅, 0, ..., i-1}`` independently."""
        n = validate.positive_int(n, "n")
        gen = validate.rng(rng)
        draws = gen.integers(-1, np.arange(n))  # -1 means root; upper bound exclusive: i options + root
        return cls.from_parents([None if d < 0 else int(d) for d in draws])

    @classmethod
    def from_networkx(cls, graph: Any) -> "CausalGraph":
        """From a ``networkx.DiGraph`` on nodes ``0..n-1`` with edges parent → child."""
        nodes = sorted(graph.nodes)
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
        self._require_forest("parent")
        return self.parents[i][0] if self.parents[i] else None

    def parent_array(self) -> np.ndarray:
        """``(n,)`` int array: parent of each position, ``-1`` for roots (forests only)."""
        self._require_forest("parent_array")
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
        anc = np.eye(self.n, dtype=bool)
        for i, ps in enumerate(self.parents):
            for p in ps:
                anc[i] |= anc[p]
        return anc

    def lowest_common_ancestors(self) -> np.ndarray:
        """``(n, n)`` int: the lowest common ancestor of ``i`` and ``j``, ``-1`` if in different trees.

        Forests only; ``lca[i, i] = i``.
        """
        self._require_forest("lowest_common_ancestors")
        anc = self.ancestor_matrix()
        common = anc[:, None, :] & anc[None, :, :]  # (n, n, n)
        depth = self.depths()
        score = np.where(common, depth[None, None, :], -1)
        lca = np.argmax(score, axis=2)
        return np.where(common.any(axis=2), lca, -1)

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

    def _require_forest(self, what: str) -> None:
        if not self.is_forest:
            raise ValueError(f"graph: {what} needs a forest (every position has at most one parent), "
                             f"got in-degree {self.max_in_degree}")


def _graph(graph: Any) -> CausalGraph:
    if not isinstance(graph, CausalGraph):
        raise ValueError(f"graph: expected a CausalGraph, got {type(graph).__name__}")
    return graph


# --------------------------------------------------------------------------- stationary law
def stationary_distribution(pi: Any) -> np.ndarray:
    """The stationary law ``μ_π``: ``μ π = μ``, ``Σ_a μ(a) = 1``.

    ``pi``: ``(S, S)`` or a stack ``(m, S, S)``; returns ``(S,)`` or ``(m, S)``.
    Raises ``ValueError`` if some chain has no unique stationary law.
    """
    arr = np.asarray(pi, dtype=np.float64)
    stack = validate.transition_stack(arr[None] if arr.ndim == 2 else arr, "pi")
    return _stationary(stack)[0] if arr.ndim == 2 else _stationary(stack)


def _stationary(pis: np.ndarray) -> np.ndarray:
    """Stationary laws of a validated stack ``(m, S, S)`` → ``(m, S)``.

    The Grassmann-Taksar-Heyman state reduction has no subtractions, so it
    keeps every entry to high relative accuracy even for nearly reducible
    chains (Dirichlet draws with small α).  When all its pivots are positive,
    every state reaches state 0, so there is one recurrent class and the law is
    unique.  Otherwise (transient states, or several classes) the law is
    solved from ``(I - πᵀ) μ = 0`` with the last equation replaced by
    ``1ᵀ μ = 1``, a system that is non-singular exactly when the law is unique.
    """
    m, S, _ = pis.shape
    mu = _state_reduction(pis)
    fallback = np.flatnonzero(~np.all(np.isfinite(mu), axis=1))
    if len(fallback):
        system = np.eye(S)[None] - np.swapaxes(pis[fallback], 1, 2)
        system[:, -1, :] = 1.0
        cond = np.linalg.cond(system)
        bad = ~np.isfinite(cond) | (cond > 1e12)
        if np.any(bad):
            k = int(fallback[np.flatnonzero(bad)[0]])
            raise ValueError(f"pi: expected a chain with a unique stationary law; matrix {k} has several (or is "
                             f"numerically too close to having several: condition number {cond[bad][0]:.3g})")
        rhs = np.zeros((len(fallback), S))
        rhs[:, -1] = 1.0
        solved = np.clip(np.linalg.solve(system, rhs[..., None])[..., 0], 0.0, None)
        mu[fallback] = solved / solved.sum(axis=1, keepdims=True)
    return mu


def _state_reduction(pis: np.ndarray) -> np.ndarray:
    """GTH: censor the chain on ``{0..k-1}`` for ``k = S-1..1``, then back-substitute; ``(m, S)``.

    Rows where some pivot vanishes come back as ``nan`` (the caller falls back).
    """
    P = pis.copy()
    m, S, _ = P.shape
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in range(S - 1, 0, -1):  # states, not sequences
            out = P[:, k, :k].sum(axis=1)  # rate of leaving k towards {0..k-1}
            out = np.where(out > 0, out, np.nan)
            P[:, :k, k] /= out[:, None]
            P[:, :k, :k] += P[:, :k, k][:, :, None] * P[:, k, :k][:, None, :]
        mu = np.zeros((m, S))
        mu[:, 0] = 1.0
        for k in range(1, S):
            mu[:, k] = np.einsum("mi,mi->m", mu[:, :k], P[:, :k, k])
        mu = mu / mu.sum(axis=1, keepdims=True)
    return np.where(np.all(np.isfinite(mu), axis=1, keepdims=True), mu, np.nan)


def root_law(pi: np.ndarray, roots: str) -> np.ndarray:
    """Law of a root token: ``μ_π`` or uniform; ``pi`` a validated ``(m, S, S)`` stack → ``(m, S)``."""
    roots = validate.choice(roots, "roots", ROOTS)
    if roots == "stationary":
        return _stationary(pi)
    return np.full(pi.shape[:2], 1.0 / pi.shape[1])


# --------------------------------------------------------------------------- priors
class DirichletPrior:
    """Rows of ``π`` i.i.d. ``Dirichlet(α·1_S)``."""

    def __init__(self, S: int, alpha: float = 0.1):
        self.S = validate.positive_int(S, "S", minimum=2)
        self.alpha = validate.finite_float(alpha, "alpha", positive=True)

    def sample(self, size: int, rng: Any = None) -> np.ndarray:
        """``(size, S, S)`` independent draws of ``π``."""
        size = validate.positive_int(size, "size")
        gen = validate.rng(rng)
        return gen.dirichlet(np.full(self.S, self.alpha), size=(size, self.S))

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

    def sample(self, size: int, rng: Any = None) -> np.ndarray:
        size = validate.positive_int(size, "size")
        gen = validate.rng(rng)
        return self.matrices[gen.choice(len(self.weights), size=size, p=self.weights)]

    def __repr__(self) -> str:
        return f"FinitePrior(S={self.S}, size={len(self.weights)})"


def is_prior(obj: Any) -> bool:
    return isinstance(obj, (DirichletPrior, FinitePrior))


# --------------------------------------------------------------------------- sampling
@dataclass(frozen=True)
class Batch:
    """Sampled sequences: ``tokens (B, T)`` int (query last), ``pi (B, S, S)``, ``target (B, S)``."""

    tokens: np.ndarray
    pi: np.ndarray
    target: np.ndarray


def sample_sequences(graph: CausalGraph, prior: Any, size: int, rng: Any = None,
                     roots: str = "stationary") -> Batch:
    """Draw ``size`` independent ``(tokens, π, target)`` triples, vectorised over the batch.

    ``prior``: a ``DirichletPrior``, a ``FinitePrior`` or one fixed ``(S, S)`` matrix
    (forests).  For a k-parent graph ``prior`` must be one fixed ``(S,)*(k+1)``
    conditional table ``π(x_{p_1}, ..., x_{p_k}, ·)`` shared by every position
    with ``k`` parents; then ``target`` is ``π(x_n, ..., x_n, ·)``.
    """
    graph = _graph(graph)
    size = validate.positive_int(size, "size")
    roots = validate.choice(roots, "roots", ROOTS)
    gen = validate.rng(rng)
    if is_prior(prior):
        pis = prior.sample(size, gen)
    else:
        table = np.asarray(prior, dtype=np.float64)
        if table.ndim != graph.max_in_degree + 1 and not (graph.is_forest and table.ndim == 2):
            raise ValueError(f"prior: expected a prior or a conditional table with {max(graph.max_in_degree, 1) + 1} "
                             f"axes for this graph, got shape {table.shape}")
        if table.ndim == 2:
            pis = np.broadcast_to(validate.transition_matrix(table, "prior"), (size,) + table.shape)
        else:
            return _sample_multi_parent(graph, _conditional_table(table), size, gen, roots)
    S = pis.shape[1]
    n = graph.n
    tokens = np.empty((size, n + 1), dtype=np.int64)
    start = root_law(pis, roots)  # (B, S)
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


def _sample_multi_parent(graph: CausalGraph, table: np.ndarray, size: int, gen: np.random.Generator,
                         roots: str) -> Batch:
    S, k = table.shape[-1], table.ndim - 1
    if roots == "stationary":
        raise ValueError("roots: a k-parent conditional table has no stationary law; use roots='uniform'")
    for i, ps in enumerate(graph.parents):
        if ps and len(ps) != k:
            raise ValueError(f"graph: position {i} has {len(ps)} parents but the table takes {k}")
    tokens = np.empty((size, graph.n + 1), dtype=np.int64)
    uniform_cdf = np.broadcast_to(np.cumsum(np.full(S, 1.0 / S)), (size, S))
    cum = np.cumsum(table, axis=-1)
    u = gen.random((size, graph.n + 1))
    for i, ps in enumerate(graph.parents):
        cdf = uniform_cdf if not ps else cum[tuple(tokens[:, p] for p in ps)]
        tokens[:, i] = _inverse_cdf(cdf, u[:, i])
    tokens[:, graph.n] = gen.integers(0, S, size=size)
    target = table[tuple([tokens[:, graph.n]] * k)]
    return Batch(tokens, np.broadcast_to(table, (size,) + table.shape).copy(), target)


# --------------------------------------------------------------------------- the count estimator
def count_estimator(graph: CausalGraph, tokens: Any, alpha: float, S: int) -> np.ndarray:
    """The in-context bigram estimate ("Bayes" in the paper's plots).

        ŷ_s = (α + #{i : x_{p(i)} = x_n, x_i = s}) / (S·α + #{i : x_{p(i)} = x_n})

    ``tokens``: ``(B, T)`` with the query last → ``(B, S)``.  It is the exact
    posterior mean of ``π(x_n, ·)`` under the Dirichlet prior only with uniform
    roots; with stationary roots the roots' likelihood also depends on ``π``.
    Forests only.
    """
    graph = _graph(graph)
    alpha = validate.finite_float(alpha, "alpha", positive=True)
    S = validate.positive_int(S, "S", minimum=2)
    x = np.asarray(tokens)
    if x.ndim != 2 or x.shape[1] != graph.n + 1:
        raise ValueError(f"tokens: expected shape (B, {graph.n + 1}), got {x.shape}")
    if not np.issubdtype(x.dtype, np.integer) or x.min() < 0 or x.max() >= S:
        raise ValueError(f"tokens: expected integers in 0..{S - 1}")
    par = graph.parent_array()
    child = np.flatnonzero(par >= 0)
    match = x[:, par[child]] == x[:, -1:]  # (B, #children): parent token equals the query
    counts = np.zeros((x.shape[0], S))
    np.add.at(counts, (np.repeat(np.arange(x.shape[0]), len(child)), x[:, child].ravel()), match.ravel())
    return (alpha + counts) / (S * alpha + counts.sum(axis=1, keepdims=True))


# --------------------------------------------------------------------------- exact laws
def transition_powers(pi: np.ndarray, max_power: int) -> np.ndarray:
    """``π^k`` for ``k = 0..max_power``: ``(m, S, S)`` stack → ``(max_power+1, m, S, S)``.

    Works for object (sympy) arrays too.
    """
    powers = [np.broadcast_to(np.eye(pi.shape[-1], dtype=pi.dtype), pi.shape).copy()]
    for _ in range(max_power):
        powers.append(powers[-1] @ pi)
    return np.stack(powers)


def marginals(graph: CausalGraph, pi: Any, roots: str = "stationary") -> np.ndarray:
    """``(n, S)``: ``P(x_i = a) = (law_root π^{depth(i)})[a]`` for a forest and fixed ``π``."""
    graph = _graph(graph)
    pi = validate.transition_matrix(pi)
    depth = graph.depths()
    return _marginals(root_law(pi[None], roots), transition_powers(pi[None], int(depth.max())), depth)[0]


def _marginals(start: np.ndarray, powers: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """``(m, n, S)`` marginals ``start π^{depth(i)}`` from root laws ``start (m, S)`` and
    ``powers (D+1, m, S, S)``; works for object (sympy) arrays."""
    return np.einsum("mz,imza->mia", start, powers[depth])


def pairwise_joint(graph: CausalGraph, pi: Any, roots: str = "stationary") -> np.ndarray:
    """Pairwise joint laws of the context for a forest and a fixed ``π``.

    With ``c`` the lowest common ancestor of ``i`` and ``j`` and ``d_i, d_j``
    their distances to it:

        P(x_i = a, x_j = b) = Σ_z law(x_c = z) (π^{d_i})[z, a] (π^{d_j})[z, b],

    and ``P(x_i = a) P(x_j = b)`` when ``i`` and ``j`` lie in different trees.

    Returns ``(n, n, S, S)`` with ``[i, j, a, b] = P(x_i = a, x_j = b)``; the
    diagonal blocks are ``diag(P(x_i = ·))``.
    """
    graph = _graph(graph)
    graph._require_forest("pairwise_joint")
    pi = validate.transition_matrix(pi)
    return _pairwise_joint(graph, pi[None], root_law(pi[None], roots))[0]


def _pairwise_joint(graph: CausalGraph, pis: np.ndarray, start: np.ndarray) -> np.ndarray:
    """``(m, n, n, S, S)`` joints for a stack ``pis (m, S, S)``, root laws ``start (m, S)``.

    No validation; works for object (sympy) arrays.
    """
    depth = graph.depths()
    same, c, d_i, d_j = graph.lca_distances()
    powers = transition_powers(pis, int(depth.max()))  # (D+1, m, S, S)
    law = _marginals(start, powers, depth)  # (m, n, S)
    law_c = law[:, c]  # (m, n, n, S)
    pi_i = np.moveaxis(powers[d_i], 2, 0)  # (m, n, n, S, S)
    pi_j = np.moveaxis(powers[d_j], 2, 0)
    joint_same = np.einsum("mijz,mijza,mijzb->mijab", law_c, pi_i, pi_j)
    joint_indep = law[:, :, None, :, None] * law[:, None, :, None, :]
    return np.where(same[None, :, :, None, None], joint_same, joint_indep)


def sequence_probabilities(graph: CausalGraph, pi: Any, roots: str = "stationary",
                           max_sequences: int = 2_000_000) -> tuple[np.ndarray, np.ndarray]:
    """Every context ``x_0..x_{n-1}`` and its probability, for a forest and fixed ``π``.

    Returns ``(contexts (S^n, n) int, probabilities (S^n,))``.  Refuses with a
    ``ValueError`` when ``S^n > max_sequences``.
    """
    graph = _graph(graph)
    graph._require_forest("sequence_probabilities")
    pi = validate.transition_matrix(pi)
    S, n = pi.shape[0], graph.n
    guard_enumeration(S ** n, max_sequences, f"S^n = {S}^{n}")
    contexts = all_sequences(S, n)
    start = root_law(pi[None], roots)[0]
    par = graph.parent_array()
    factors = np.where(par[None, :] < 0, start[contexts],
                       pi[contexts[:, np.maximum(par, 0)], contexts])
    return contexts, np.prod(factors, axis=1)


def all_sequences(S: int, length: int) -> np.ndarray:
    """``(S^length, length)`` every sequence over ``[S]`` in lexicographic order."""
    grids = np.indices((S,) * length).reshape(length, -1)
    return np.ascontiguousarray(grids.T)


def guard_enumeration(count: int, budget: int, what: str) -> None:
    """Refuse an enumeration of ``count`` terms above ``budget``, naming the count."""
    if count > budget:
        raise ValueError(f"max_sequences: exact enumeration needs {count:,} terms ({what}), above the budget of "
                         f"{budget:,}; use the Monte Carlo estimator or raise the budget")


def brute_force_pairwise_joint(graph: CausalGraph, pi: Any, roots: str = "stationary") -> np.ndarray:
    """The oracle for :func:`pairwise_joint`: sum the probabilities of every sequence.

    ``(n, n, S, S)``; a loop over position pairs, clarity being the point.
    """
    contexts, prob = sequence_probabilities(graph, pi, roots)
    S, n = np.asarray(pi).shape[0], graph.n
    joint = np.zeros((n, n, S, S))
    for i, j in itertools.product(range(n), repeat=2):
        np.add.at(joint[i, j], (contexts[:, i], contexts[:, j]), prob)
    return joint


@dataclass(frozen=True)
class Population:
    """The whole population as weighted sequences.

    ``tokens (N, T)`` int (query last), ``probability (N,)`` summing to 1,
    ``target (N, S)`` the soft labels ``π(x_n, ·)``, ``stationary (N, S)`` the
    law ``μ_π`` of the sequence's ``π``.
    """

    tokens: np.ndarray
    probability: np.ndarray
    target: np.ndarray
    stationary: np.ndarray


def enumerate_population(graph: CausalGraph, pi: Any, roots: str = "stationary",
                         max_sequences: int = 2_000_000) -> Population:
    """Every (context, query) pair with its probability, for a fixed ``π`` or a ``FinitePrior``.

    ``P(x_0..x_n) = Π_roots law(x_i) · Π_{i non-root} π(x_{p(i)}, x_i) · 1/S``.
    Refuses with a ``ValueError`` naming the count when ``m·S^T > max_sequences``
    (``m`` matrices in the prior).
    """
    graph = _graph(graph)
    if isinstance(pi, DirichletPrior):
        raise ValueError("pi: exact enumeration needs a fixed matrix or a FinitePrior, got a DirichletPrior")
    prior = pi if isinstance(pi, FinitePrior) else FinitePrior(validate.transition_matrix(pi)[None])
    S, m, T = prior.S, len(prior.weights), graph.n + 1
    guard_enumeration(m * S ** T, max_sequences, f"{m} matrices × S^T = {S}^{T}")
    parts = []
    for weight, p in zip(prior.weights, prior.matrices):
        contexts, prob = sequence_probabilities(graph, p, roots, max_sequences)
        tokens = np.concatenate([np.repeat(contexts, S, axis=0), np.tile(np.arange(S), len(contexts))[:, None]], axis=1)
        mu = np.broadcast_to(_stationary(p[None])[0], (len(tokens), S))
        parts.append((tokens, np.repeat(prob, S) * weight / S, p[tokens[:, -1]], mu))
    return Population(*(np.concatenate(arrays) for arrays in zip(*parts)))


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
    graph = _graph(graph)
    graph._require_forest("ranking_pairs")
    keys = validate.choice(keys, "keys", RANKING_KEYS)
    n = graph.n
    parent = graph.parent_array()
    i, j = np.nonzero(np.tril(np.ones((n, n), dtype=bool), k=0 if keys == "all" else -1))
    if keys == "diagonal":
        i = j = np.arange(n)
    keep = (parent[i] >= 0) & (j != parent[i])
    return np.stack([i[keep], parent[i[keep]], j[keep]], axis=1).astype(np.int64).reshape(-1, 3)
