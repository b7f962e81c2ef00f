"""Priors on the transition matrix π (spec 1, section 2), and the one dispatch over what may stand for π.

A prior is a ``DirichletPrior`` (rows of ``π`` i.i.d. ``Dirichlet(α·1_S)``) or a ``FinitePrior`` (``π = π_k``
with probability ``w_k``).  An argument named ``prior`` accepts either, or one fixed ``(S, S)`` matrix;
:func:`prior_stack` turns any of the three into the stack ``(m, S, S)`` and weights ``(m,)`` that a prior
average ``E_π[f(π)] = Σ_k w_k f(π_k)`` needs (exact, or a Monte Carlo estimate for a Dirichlet prior).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from theory import validate

__all__ = ["PROBABILITY_FLOOR", "DirichletPrior", "FinitePrior", "is_prior", "alphabet_size", "prior_stack"]

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
