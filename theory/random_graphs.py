"""Random causal graphs: laws on forests over the context positions ``0..n-1``.

One concern: drawing a :class:`theory.graphs.CausalGraph` from a stated law.  The
uniform-parent-or-root law of spec 1 is :meth:`theory.graphs.CausalGraph.random_forest`;
the laws here are those of the papers' experiments.  A caller that needs a fixed set of
graphs (Figure 9's twenty) derives them from its own seed; nothing here holds a set.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from theory import validate
from theory.graphs import CausalGraph

__all__ = ["bernoulli_root_forest"]


def bernoulli_root_forest(n: int, rng: Any = None, root_probability: float = 0.5) -> CausalGraph:
    """A forest on ``0..n-1`` where each position after the first is a root with probability ``q``.

    The law of Figure 9 of Nichani, Damian & Lee (2024) (``q = 0.5``; their ``get_random_DAG``):
    position 0 is a root, and independently for ``i = 1..n-1``

        p(i) = ∅                       with probability q,
        p(i) = j,  j ∈ {0, ..., i-1}   with probability (1 - q) / i each,

    so ``P(G) = Π_{i=1}^{n-1} (q·[p(i) = ∅] + (1 - q)/i·[p(i) ≠ ∅])`` and the expected number of
    edges is ``(1 - q)(n - 1)``.  ``q = root_probability`` in ``[0, 1]`` (``q = 0``: a random
    recursive tree rooted at 0; ``q = 1``: no edges).

    Random stream: ``u = rng.random(n - 1)`` (position ``i`` is a root iff ``u[i-1] < q``), then
    ``rng.integers(0, [1, ..., n-1])`` (the candidate parent of ``i``, drawn for every ``i`` so
    that the stream does not depend on which positions are roots).  The result is built by
    :meth:`CausalGraph.from_parents`, whose validators it passes.
    """
    n = validate.positive_int(n, "n", maximum=validate.MAX_POSITIONS)
    q = validate.finite_float(root_probability, "root_probability", nonnegative=True)
    if q > 1:
        raise ValueError(f"root_probability: expected a probability in [0, 1], got {q}")
    gen = validate.rng(rng)
    is_root = gen.random(n - 1) < q
    candidate = gen.integers(0, np.arange(1, n))  # (n - 1,): uniform on {0..i-1} for i = 1..n-1
    return CausalGraph.from_parents([None] + [None if r else int(p) for r, p in zip(is_root, candidate)])
