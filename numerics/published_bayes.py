"""How far the published "Bayes" line sits from the count estimator: a paired Monte Carlo estimate.

The official code of Nichani, Damian & Lee (2024) draws its "Bayes" reference line
(Figures 2, 6 and 9) with :func:`theory.published.count_estimator_as_published`, which
counts every root as a child of the last context token.  The offset

    Δ = E[ ℓ(ŷ_published) - ℓ(ŷ_count) ],   ℓ(ŷ) = -Σ_s y_s log ŷ_s,  y = π(x_n, ·),

says how much higher (Δ > 0) the published line sits than the paper's estimator
(:func:`theory.estimators.count_estimator`); a trained model that "reaches Bayes" in a
published figure is compared with ``ℓ_count + Δ``.  Both losses are taken on the same
sequences, so the estimate is paired and its standard error is that of the per-sequence
difference.
"""

from __future__ import annotations

from typing import Any

from numerics.evaluation import cross_entropies, estimator_alpha, sample_sequences_redrawn
from theory import validate
from theory.estimates import Estimate, mean_and_stderr
from theory.estimators import count_estimator
from theory.graphs import as_causal_graph
from theory.laws import ROOTS
from theory.published import count_estimator_as_published

__all__ = ["official_bayes_offset"]


def official_bayes_offset(graph: Any, prior: Any, size: int, rng: Any = None, roots: str = "stationary", *,
                          alpha: float | None = None) -> Estimate:
    """``Δ`` (module docstring) with its standard error, over ``size`` held-out sequences.

    ``Δ̂ = (1/B) Σ_b [ℓ_b(published) - ℓ_b(count)]``, ``stderr = sd_b / √B`` (the differences
    are bounded, since both estimators are at least ``α / (S·α + n)`` everywhere: the
    variance is finite).  Sequences are drawn by :func:`theory.sampling.sample_sequences`
    (a Dirichlet draw refused as numerically reducible is redrawn, as for every held-out
    sample); both estimators use the pseudo-count ``alpha`` (default: the Dirichlet prior's ``α``,
    as the official code does).  ``size >= 2``; forests only.
    """
    graph = as_causal_graph(graph)
    graph.require_forest("official_bayes_offset")
    size = validate.positive_int(size, "size", minimum=2)
    roots = validate.choice(roots, "roots", ROOTS)
    est_alpha = estimator_alpha(prior, alpha)
    batch = sample_sequences_redrawn(graph, prior, size, validate.rng(rng), roots)
    S = batch.target.shape[1]
    published = cross_entropies(count_estimator_as_published(graph, batch.tokens, est_alpha, S), batch.target)
    correct = cross_entropies(count_estimator(graph, batch.tokens, est_alpha, S), batch.target)
    return mean_and_stderr(published - correct)
