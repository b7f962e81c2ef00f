"""Causal graphs on the context positions (spec 1, section 1): the DAG, its forest structure, its key comparisons.

Notation: context positions ``0..n-1``, query position ``n``, ``T = n + 1``.  Each context position ``i`` has
parents ``p(i) ⊂ {0..i-1}`` (edges point forward); a root has none.  A forest has ``|p(i)| <= 1``; then
``depth(i)`` is the distance of ``i`` to its root, and two positions of one tree have a lowest common ancestor
``c`` at distances ``d_i, d_j``.

Here: :class:`CausalGraph` (constructors, derived structure: depths, ancestors, lowest common ancestors),
:func:`as_causal_graph` (the argument check every function taking a ``graph`` uses), and the comparisons the
edge ranking makes between a row's parent and its other keys (:data:`RANKING_KEYS`, :func:`ranking_pairs`).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from theory import validate

__all__ = ["CausalGraph", "as_causal_graph", "RANKING_KEYS", "ranking_pairs"]


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
