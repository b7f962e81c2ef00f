"""Argument checks shared by every public function.

Each check raises ``ValueError`` naming the argument and what was expected, and
returns the argument converted to its canonical type.
"""

from __future__ import annotations

import numbers
from typing import Any, Iterable

import numpy as np

ROW_SUM_TOL = 1e-9


def positive_int(value: Any, name: str, minimum: int = 1) -> int:
    """``value`` as an ``int >= minimum`` (bools and non-integral floats refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value}")
    return int(value)


def finite_float(value: Any, name: str, *, positive: bool = False, nonnegative: bool = False) -> float:
    """``value`` as a finite float, optionally ``> 0`` or ``>= 0``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name}: expected a real number, got {value!r}")
    x = float(value)
    if not np.isfinite(x):
        raise ValueError(f"{name}: expected a finite number, got {x}")
    if positive and x <= 0:
        raise ValueError(f"{name}: expected a number > 0, got {x}")
    if nonnegative and x < 0:
        raise ValueError(f"{name}: expected a number >= 0, got {x}")
    return x


def finite_array(value: Any, name: str, *, ndim: int | None = None, shape: tuple | None = None,
                 nonnegative: bool = False) -> np.ndarray:
    """``value`` as a finite float64 array with the given rank or shape."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected an array of real numbers, got {type(value).__name__}") from None
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-dimensional array, got shape {arr.shape}")
    if shape is not None and arr.shape != tuple(shape):
        raise ValueError(f"{name}: expected shape {tuple(shape)}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: expected finite entries, found nan or inf")
    if nonnegative and np.any(arr < 0):
        raise ValueError(f"{name}: expected non-negative entries, min is {arr.min():.3g}")
    return arr


def transition_matrix(pi: Any, name: str = "pi", S: int | None = None) -> np.ndarray:
    """``pi`` as a row-stochastic ``(S, S)`` float64 matrix with ``S >= 2``."""
    arr = finite_array(pi, name, ndim=2, nonnegative=True)
    if arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{name}: expected a square (S, S) matrix, got shape {arr.shape}")
    if arr.shape[0] < 2:
        raise ValueError(f"{name}: expected S >= 2 states, got S = {arr.shape[0]}")
    if S is not None and arr.shape[0] != S:
        raise ValueError(f"{name}: expected shape ({S}, {S}), got {arr.shape}")
    worst = np.max(np.abs(arr.sum(axis=1) - 1.0))
    if worst > ROW_SUM_TOL:
        raise ValueError(f"{name}: expected rows summing to 1 within {ROW_SUM_TOL:g}, worst row is off by {worst:.3g}")
    return arr


def transition_stack(pis: Any, name: str = "matrices") -> np.ndarray:
    """``pis`` as a stack ``(m, S, S)`` of row-stochastic matrices, ``m >= 1``."""
    arr = finite_array(pis, name, ndim=3, nonnegative=True)
    if arr.shape[0] < 1 or arr.shape[1] != arr.shape[2] or arr.shape[1] < 2:
        raise ValueError(f"{name}: expected a stack of shape (m, S, S) with m >= 1, S >= 2, got {arr.shape}")
    worst = np.max(np.abs(arr.sum(axis=2) - 1.0))
    if worst > ROW_SUM_TOL:
        raise ValueError(f"{name}: expected rows summing to 1 within {ROW_SUM_TOL:g}, worst row is off by {worst:.3g}")
    return arr


def probability_vector(p: Any, name: str, S: int | None = None) -> np.ndarray:
    """``p`` as a probability vector (non-negative, summing to 1 within 1e-9)."""
    arr = finite_array(p, name, ndim=1, nonnegative=True)
    if S is not None and arr.shape != (S,):
        raise ValueError(f"{name}: expected length {S}, got {arr.shape[0]}")
    if abs(arr.sum() - 1.0) > ROW_SUM_TOL:
        raise ValueError(f"{name}: expected entries summing to 1 within {ROW_SUM_TOL:g}, sum is {arr.sum():.12g}")
    return arr


def choice(value: Any, name: str, options: Iterable[str]) -> str:
    options = tuple(options)
    if value not in options:
        raise ValueError(f"{name}: expected one of {', '.join(map(repr, options))}, got {value!r}")
    return value


def rng(seed_or_rng: Any, name: str = "rng") -> np.random.Generator:
    """A ``numpy.random.Generator`` from a generator, an int seed, or None."""
    if isinstance(seed_or_rng, np.random.Generator):
        return seed_or_rng
    if seed_or_rng is None or (isinstance(seed_or_rng, numbers.Integral) and not isinstance(seed_or_rng, bool)):
        return np.random.default_rng(seed_or_rng)
    raise ValueError(f"{name}: expected a numpy Generator, an int seed or None, got {seed_or_rng!r}")


def angle_range(value: Any, name: str = "nu") -> float:
    """``value`` as the angle-range parameter ``ν >= 1`` of phases drawn on ``[0, 2π/ν)``."""
    x = finite_float(value, name)
    if x < 1:
        raise ValueError(f"{name}: expected an angle-range parameter >= 1, got {x}")
    return x


def even_dimension(value: Any, name: str = "d") -> int:
    """``value`` as an even ``int >= 2`` (the dimension of real tokens made of 2×2 rotation blocks)."""
    d = positive_int(value, name, minimum=2)
    if d % 2:
        raise ValueError(f"{name}: expected an even dimension for real orthogonal contexts, got {d}")
    return d


def square_matrix(value: Any, name: str = "C") -> np.ndarray:
    """``value`` as a finite float64 ``(d, d)`` matrix, ``d >= 1``."""
    arr = finite_array(value, name, ndim=2)
    if arr.shape[0] != arr.shape[1] or arr.shape[0] < 1:
        raise ValueError(f"{name}: expected a square (d, d) matrix, got shape {arr.shape}")
    return arr


def positional_weights(value: Any, name: str = "p") -> np.ndarray:
    """``value`` as finite float64 positional weights ``p_0..p_n`` of shape ``(n+1,)``, ``n >= 1``."""
    arr = finite_array(value, name, ndim=1)
    if arr.shape[0] < 2:
        raise ValueError(f"{name}: expected positional weights of length n+1 with n >= 1, got length {arr.shape[0]}")
    return arr


def int_array(value: Any, name: str, minimum: int = 1) -> np.ndarray:
    """``value`` (an int or an array of ints) as an int64 array, every entry ``>= minimum``."""
    if np.isscalar(value):
        return np.asarray(positive_int(value, name, minimum), dtype=np.int64)
    arr = np.asarray(value)
    if arr.dtype.kind not in "iu" or arr.size == 0:
        raise ValueError(f"{name}: expected integers >= {minimum}, got an array of dtype {arr.dtype}")
    if np.any(arr < minimum):
        raise ValueError(f"{name}: expected integers >= {minimum}, min is {arr.min()}")
    return arr.astype(np.int64)


def nonzero_float(value: Any, name: str) -> float:
    """``value`` as a finite nonzero float (either sign)."""
    x = finite_float(value, name)
    if x == 0:
        raise ValueError(f"{name}: expected a nonzero number (either sign), got 0")
    return x
