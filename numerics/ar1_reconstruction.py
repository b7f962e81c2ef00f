"""The AR(1) reconstruction test of the autoregressive paper's Figure 4, on any embedding sequences.

Figure 4 (official notebook ``gpt2.ipynb`` of github.com/michaelsdr/ical) normalises GPT-2 token
embeddings (1,280 dimensions) to unit norm, cuts them into windows of 5 consecutive tokens, fits an
AR(1) map to each window by least squares (``torch.linalg.lstsq(inputs, outputs)``: the
minimum-norm solution, the system being underdetermined), rolls it out from the window's first token
and plots the histogram of the mean squared reconstruction error (only errors above 1e-12), against
windows of shuffled tokens.  The functions here take the embeddings as an array, so the same analysis
runs on synthetic vectors or, for a user who has them, on GPT-2's (no weights are needed here).

Why the test cannot separate structure from noise: with ``w = window - 1`` transitions in ``D >= w``
dimensions, the minimum-norm fit ``Wᵀ = X⁺ Y`` (``X (w, D)`` the inputs ``s_0..s_{w-1}``, ``Y`` the
outputs ``s_1..s_w``) satisfies ``X Wᵀ = X X⁺ Y = Y`` whenever the ``w`` inputs are linearly
independent: every such window is reconstructed exactly (error at round-off), whatever the sequence.
Only a window whose inputs are dependent, e.g. one with a repeated token among ``s_0..s_{w-1}``, leaves a
residual: an input ``x`` that occurs at steps ``i`` and ``j`` must be sent to both ``s_{i+1}`` and
``s_{j+1}``, and the least-squares compromise sends it to their mean, a one-step residual of
``||s_{i+1} - s_{j+1}||²/2`` (when the distinct inputs are independent).  Float64 throughout.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from theory import validate

__all__ = ["normalised_windows", "ar1_fit_transposed", "ar1_reconstruction_errors"]


def normalised_windows(embeddings: Any) -> np.ndarray:
    """``embeddings (N, window, D)`` as float64 with every vector scaled to unit norm (Figure 4's
    normalisation); ``window >= 2``, ``D >= 1``, every vector finite and nonzero."""
    X = validate.finite_array(embeddings, "embeddings", ndim=3)
    N, window, D = X.shape
    if N < 1 or window < 2 or D < 1:
        raise ValueError(f"embeddings: expected shape (N, window, D) with N >= 1, window >= 2, D >= 1, got {X.shape}")
    validate.memory(8 * 4 * X.size, validate.largest(N=N, window=window, D=D),
                    f"{N:,} windows of {window:,} embeddings in dimension {D:,}")
    norms = np.linalg.norm(X, axis=-1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError("embeddings: every embedding must be nonzero to be normalised, got a zero vector")
    return X / norms


def ar1_fit_transposed(windows: Any, rcond: float | None = None) -> np.ndarray:
    """``X⁺ (N, D, window-1)`` of each window's inputs ``X = (s_0..s_{window-2})``: the minimum-norm
    least-squares AR(1) map of a window is ``Wᵀ = X⁺ Y`` with ``Y = (s_1..s_{window-1})``, so
    ``s Wᵀ = (s X⁺) Y`` never forms the ``(D, D)`` matrix.  ``rcond``: singular values below
    ``rcond·σ_max`` are treated as zero; default LAPACK's ``eps·max(window-1, D)`` (NumPy's ``lstsq``).
    ``windows (N, window, D)`` as given (not normalised here)."""
    S = validate.finite_array(windows, "windows", ndim=3)
    if S.shape[1] < 2:
        raise ValueError(f"windows: expected shape (N, window, D) with window >= 2, got {S.shape}")
    if rcond is None:
        rcond = np.finfo(np.float64).eps * max(S.shape[1] - 1, S.shape[2])
    rcond = validate.finite_float(rcond, "rcond", nonnegative=True)
    return np.linalg.pinv(S[:, :-1], rcond=rcond)


def ar1_reconstruction_errors(embeddings: Any, *, rollout: bool = True, rcond: float | None = None) -> np.ndarray:
    """Each window's AR(1) reconstruction error, ``(N,)``, after unit normalisation.

    ``rollout=True`` (Figure 4's definition): ``ŝ_0 = s_0``, ``ŝ_{t+1} = W ŝ_t``, error
    ``(1/(window·D)) Σ_{t<window} ||ŝ_t - s_t||²``.  ``rollout=False``: the one-step residual of the
    fit, ``(1/((window-1)·D)) Σ_{t<window-1} ||W s_t - s_{t+1}||²``.  ``W`` is the minimum-norm
    least-squares fit of :func:`ar1_fit_transposed`.  ``embeddings (N, window, D)``.
    """
    rollout = validate.boolean(rollout, "rollout")
    S = normalised_windows(embeddings)
    N, window, D = S.shape
    pinv = ar1_fit_transposed(S, rcond)                      # (N, D, w)
    Y = S[:, 1:]                                             # (N, w, D)
    if not rollout:
        fitted = np.einsum("ntk,nke->nte", np.einsum("ntd,ndk->ntk", S[:, :-1], pinv), Y)
        return np.mean((fitted - Y) ** 2, axis=(1, 2))
    s = S[:, 0]
    err = np.zeros(N)
    for t in range(1, window):  # window - 1 matrix-vector steps; the windows are vectorised
        s = np.einsum("nk,nke->ne", np.einsum("nd,ndk->nk", s, pinv), Y)
        err += np.sum((s - S[:, t]) ** 2, axis=1)
    return err / (window * D)
