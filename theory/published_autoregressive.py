"""The autoregressive paper's population loss as its published code computes it, where that differs
from the loss of the model it trains.

One concern, as in :mod:`theory.published`: reproducing a published formula exactly, deviation
included, so that the deviation can be measured.  The correct loss stays with its owner,
:func:`theory.autoregressive.raw_token_population_loss` (derived symbolically from the model in
:func:`theory.autoregressive_symbolic.raw_token_loss_symbolic`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from theory.validate import positional_weights, square_matrix

__all__ = ["raw_token_population_loss_as_published"]


def raw_token_population_loss_as_published(C: Any, p: Any) -> float:
    """The raw-token population loss typed into the official code of Figure 3 (left, unitary contexts):

        L_off(C, p) = ||p||² ||C||_F² + p_{n-1}² ||C·1||² - 2 tr(C) p_n + d.

    Source: ``loss_function`` in ``unitary.py`` of the authors' repository (github.com/michaelsdr/ical),
    with ``p_T_minus_1_squared = p[-2]**2`` and
    ``sum_C_transpose_C = jnp.sum(C.T @ C) = 1ᵀCᵀC1 = ||C·1||²``; it is summed over the rows of a
    positional matrix and trained by gradient descent there.

    The loss of the model it trains (commuting unitary contexts, i.i.d. uniform phases,
    ``s_0 = 1``, query ``s_{n-1}``) is :func:`theory.autoregressive.raw_token_population_loss`:

        L(C, p) = ||p||² ||C||_F² + p_{n-1}² (||C·1||² - ||C||_F²) - 2 tr(C) p_n + d,

    so ``L_off - L = p_{n-1}² ||C||_F² >= 0``: the published formula counts the key ``j = n-1`` twice
    (once in ``||p||²||C||_F²``, the ``l = l'`` pattern, and again inside ``||C·1||²``, the
    ``j = j' = n-1`` pattern, which already contains ``l = l'``).  The two agree wherever
    ``p_{n-1} = 0`` (or ``C = 0``), in particular at the minimisers of
    :func:`theory.autoregressive.raw_token_minimiser` (``p`` on the last key), and share the
    minimum value ``d - min(H, d)``.

    ``C``: ``(d, d)`` real; ``p``: ``(n+1,)`` with ``n >= 1``.
    """
    C = square_matrix(C)
    p = positional_weights(p)
    return float(p @ p * np.sum(C ** 2) + p[-2] ** 2 * np.sum(C.sum(axis=1) ** 2) - 2 * np.trace(C) * p[-1]
                 + C.shape[0])
