"""Argument checks shared by every public function.

Each check raises ``ValueError`` naming the argument and what was expected, and
returns the argument converted to its canonical type.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Iterable

import numpy as np

__all__ = ["ROW_SUM_TOL", "DEFAULT_MAX_BYTES", "DEFAULT_MAX_SECONDS", "MAX_POSITIONS", "MAX_STATES",
           "MAX_INT64", "MAX_EXACT_FLOAT_INT", "UNITARY_TOL", "short_repr", "positive_int", "boolean",
           "seed", "format_bytes", "format_count", "max_bytes", "seconds", "float_power", "largest",
           "memory", "finite_float", "finite_array", "transition_matrix", "transition_stack",
           "probability_vector", "choice", "rng", "angle_range", "even_dimension", "square_matrix",
           "positional_weights", "int_array", "nonzero_float", "finite_numeric_array", "numbers_or_objects",
           "unitary_matrix", "integer_array", "index", "token_array"]

ROW_SUM_TOL = 1e-9

# Memory budget of one public call, in bytes: every function that allocates in proportion to its
# arguments (draws, sizes, enumerations, models) estimates the peak BEFORE allocating and refuses
# above the budget.  2 GiB fits a laptop; each such function takes ``max_bytes`` to override it.
DEFAULT_MAX_BYTES = 2 * 2 ** 30

# Time budget of one symbolic derivation, in seconds: sympy's cost grows like a power of the sizes
# (``gd_step_loss_symbolic(30, 30)`` would run for about half an hour), so derivations estimate
# their time from the sizes and refuse above the budget (``max_seconds`` overrides it).
DEFAULT_MAX_SECONDS = 60

# Positions of a graph, states of an alphabet: far above any size the toolkit computes with, low
# enough that a typo (10**9) is refused at once instead of building a Python list for minutes.
MAX_POSITIONS = 10 ** 6
MAX_STATES = 10 ** 5

# The largest int64: integer arguments that NumPy stores as int64 (orders, dimensions, positions)
# are refused above it by name, instead of an OverflowError from ``np.asarray``.
MAX_INT64 = int(np.iinfo(np.int64).max)

# Step counts and exponents that are carried as float64 (``t`` in ``(1 - κλ)^t``) are exact integers
# only up to 2^53; above it two different counts would give the same number.
MAX_EXACT_FLOAT_INT = 2 ** 53

# A matrix promised unitary (``QᴴQ = I``) or orthogonal (``PᵀP = I``) is accepted when
# ``max |QᴴQ - I| <= UNITARY_TOL``.  A float64 unitary from QR, ``expm`` or a product of a few
# factors is off by a few ``d·ε`` (about 1e-15 d); 1e-8 (half the float64 digits) leaves room for
# matrices built in several steps or read from text, and is far below what would show in the
# moments the claims check (an error δ in Q moves ``W^t`` by about ``t·δ``).  The matrices are
# unit-norm, so the tolerance is both absolute and relative.
UNITARY_TOL = 1e-8


def short_repr(value: Any) -> str:
    """``repr`` of a value cut to 80 characters (huge integers and arrays stay printable)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        digits = int(value).bit_length() * math.log10(2)
        if digits > 30:
            return f"an integer of about {digits:.0f} digits"
    text = repr(value) if not isinstance(value, np.ndarray) else f"array of shape {value.shape}"
    return text if len(text) <= 80 else text[:77] + "..."


def positive_int(value: Any, name: str, minimum: int = 1, maximum: int | None = None) -> int:
    """``value`` as an ``int`` in ``[minimum, maximum]`` (bools and non-integral floats refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {short_repr(value)}")
    if value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {short_repr(value)}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name}: expected an integer <= {maximum:,}, got {short_repr(value)}")
    return int(value)


def boolean(value: Any, name: str) -> bool:
    """``value`` as a ``bool`` (``True``/``False`` or NumPy bools only)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name}: expected True or False, got {short_repr(value)}")
    return bool(value)


def seed(value: Any, name: str = "seed") -> int:
    """``value`` as a seed: an ``int >= 0`` (NumPy and torch refuse negative seeds)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name}: expected an integer seed >= 0, got {short_repr(value)}")
    if value < 0:
        raise ValueError(f"{name}: expected an integer seed >= 0, got {short_repr(value)}")
    return int(value)


def format_bytes(nbytes: float) -> str:
    """``nbytes`` as ``'7.5 GiB'`` (any size, floats included)."""
    for unit, scale in (("TiB", 2.0 ** 40), ("GiB", 2.0 ** 30), ("MiB", 2.0 ** 20), ("KiB", 2.0 ** 10)):
        if nbytes >= scale:
            return f"{nbytes / scale:.3g} {unit}"
    return f"{nbytes:.0f} B"


def format_count(count: Any) -> str:
    """An integer count as ``'1,048,576'``, or ``'about 10^6021'`` when it has more than 15 digits."""
    count = int(count)
    if count < 10 ** 15:
        return f"{count:,}"
    return f"about 10^{count.bit_length() * math.log10(2):.0f}"


def max_bytes(value: Any, name: str = "max_bytes") -> int:
    """``value`` as a memory budget in bytes: ``None`` means :data:`DEFAULT_MAX_BYTES`."""
    if value is None:
        return DEFAULT_MAX_BYTES
    return positive_int(value, name)


def seconds(estimate: float, name: str, what: str, budget: Any = None) -> None:
    """Refuse, naming ``name``, when the estimated run time ``estimate`` (seconds) exceeds the budget
    (``None``: :data:`DEFAULT_MAX_SECONDS`).  Called before the work starts."""
    limit = DEFAULT_MAX_SECONDS if budget is None else finite_float(budget, "max_seconds", positive=True)
    if not estimate <= limit:
        raise ValueError(f"{name}: {what} is estimated to take about {estimate:.3g} s, above the budget of "
                         f"{limit:g} s; use smaller sizes or raise max_seconds")


def float_power(base: int, exponent: int) -> float:
    """``base ** exponent`` as a float, ``inf`` beyond the float range: a size estimate such as the ``M^D``
    points of a grid, without building a Python integer of millions of digits for a huge ``D``."""
    try:
        return float(base) ** float(exponent)
    except OverflowError:
        return math.inf


def largest(**sizes: Any) -> str:
    """The name of the largest of the keyword sizes (``largest(size=10, d=10**9)`` is ``'d'``): the argument
    a memory refusal names when several sizes drive an allocation (the first one wins a tie)."""
    return max(sizes, key=lambda name: sizes[name])


def memory(nbytes: float, name: str, what: str, budget: Any = None) -> None:
    """Refuse, naming the argument ``name`` that drives the size, when ``nbytes`` exceeds the budget.

    ``nbytes``: the estimated peak of the allocation (a float: it may be astronomically large);
    ``budget``: bytes or ``None`` (:data:`DEFAULT_MAX_BYTES`).  Called before allocating.
    """
    limit = max_bytes(budget)
    try:
        nbytes = float(nbytes)
    except OverflowError:
        nbytes = math.inf
    if not nbytes <= limit:
        raise ValueError(f"{name}: {what} needs about {format_bytes(float(nbytes))} of memory, above the budget of "
                         f"{format_bytes(limit)}; use smaller sizes or raise max_bytes")


def finite_float(value: Any, name: str, *, positive: bool = False, nonnegative: bool = False) -> float:
    """``value`` as a finite float, optionally ``> 0`` or ``>= 0``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name}: expected a real number, got {value!r}")
    try:
        x = float(value)
    except OverflowError:
        raise ValueError(f"{name}: expected a finite number, got {short_repr(value)}") from None
    if not np.isfinite(x):
        raise ValueError(f"{name}: expected a finite number, got {x}")
    if positive and x <= 0:
        raise ValueError(f"{name}: expected a number > 0, got {x}")
    if nonnegative and x < 0:
        raise ValueError(f"{name}: expected a number >= 0, got {x}")
    return x


def finite_array(value: Any, name: str, *, ndim: int | None = None, shape: tuple | None = None,
                 nonnegative: bool = False) -> np.ndarray:
    """``value`` as a finite float64 array with the given rank or shape.

    Refused: complex arrays (never cast to their real part), booleans (not probabilities),
    strings, ragged or non-numeric objects.
    """
    if isinstance(value, (str, bytes)):
        raise ValueError(f"{name}: expected an array of real numbers, got a string")
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected an array of real numbers, got {type(value).__name__}") from None
    if raw.dtype.kind in "cbUSVMm" or (raw.dtype.kind == "O" and any(
            isinstance(v, (bool, np.bool_, complex, str, bytes)) for v in raw.ravel()[:10 ** 4])):
        raise ValueError(f"{name}: expected an array of real numbers, got dtype {raw.dtype}"
                         f"{' (complex)' if raw.dtype.kind == 'c' else ' (booleans)' if raw.dtype.kind == 'b' else ''}")
    try:
        arr = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
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
    """``value`` if it is one of the strings ``options``."""
    options = tuple(options)
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name}: expected one of {', '.join(map(repr, options))}, got {short_repr(value)}")
    return value


def rng(seed_or_rng: Any, name: str = "rng") -> np.random.Generator:
    """A ``numpy.random.Generator`` from a generator, an int seed, or None."""
    if isinstance(seed_or_rng, np.random.Generator):
        return seed_or_rng
    if seed_or_rng is None:
        return np.random.default_rng()
    if isinstance(seed_or_rng, numbers.Integral) and not isinstance(seed_or_rng, bool):
        return np.random.default_rng(seed(seed_or_rng, name))
    raise ValueError(f"{name}: expected a numpy Generator, an int seed >= 0 or None, got {short_repr(seed_or_rng)}")


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
    if np.isscalar(value):  # above int64 NumPy would raise OverflowError: refuse by name instead
        return np.asarray(positive_int(value, name, minimum, maximum=MAX_INT64), dtype=np.int64)
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected integers >= {minimum}, got {type(value).__name__}") from None
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


def finite_numeric_array(value: Any, name: str, *, ndim: int | None = None, shape: tuple | None = None,
                         complex_ok: bool = True) -> np.ndarray:
    """``value`` as a NumPy array of finite real (or, if ``complex_ok``, complex) numbers, its dtype KEPT
    (``np.asarray(value)``): for functions whose computation follows the caller's dtype.

    Refused: strings, booleans, object arrays (Python integers beyond int64, sympy numbers, ragged
    lists), nan and inf entries.
    """
    if isinstance(value, (str, bytes)):
        raise ValueError(f"{name}: expected an array of numbers, got a string")
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"{name}: expected an array of numbers, got {type(value).__name__}") from None
    kinds = "iufc" if complex_ok else "iuf"
    if arr.dtype.kind not in kinds:
        what = "real or complex numbers" if complex_ok else "real numbers"
        raise ValueError(f"{name}: expected an array of {what}, got dtype {arr.dtype}")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-dimensional array, got shape {arr.shape}")
    if shape is not None and arr.shape != tuple(shape):
        raise ValueError(f"{name}: expected shape {tuple(shape)}, got {arr.shape}")
    if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: expected finite entries, found nan or inf")
    return arr


def numbers_or_objects(value: Any, name: str) -> np.ndarray:
    """``np.asarray(value)`` if it holds numbers (integer, float) or objects (sympy expressions, ``QQ``
    elements: exact arithmetic, checked by the caller); strings, booleans, complex numbers and ragged
    lists refused naming ``name``."""
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected an array of numbers, got a ragged {type(value).__name__}") from None
    if isinstance(value, (str, bytes)) or arr.dtype.kind not in "iufO":
        raise ValueError(f"{name}: expected an array of numbers, got {short_repr(value)}")
    return arr


def unitary_matrix(value: Any, name: str, d: int, *, real: bool = False) -> np.ndarray:
    """``value`` as a ``(d, d)`` unitary (complex128) or, if ``real``, orthogonal (float64) matrix:
    finite, and ``max |QᴴQ - I| <= UNITARY_TOL`` (see :data:`UNITARY_TOL` for why 1e-8)."""
    arr = finite_numeric_array(value, name, shape=(d, d), complex_ok=not real)
    Q = arr.astype(np.float64 if real else np.complex128)
    off = float(np.max(np.abs(Q.conj().T @ Q - np.eye(d))))
    if not off <= UNITARY_TOL:
        kind, formula = ("an orthogonal", "PᵀP") if real else ("a unitary", "QᴴQ")
        raise ValueError(f"{name}: expected {kind} matrix (max |{formula} - I| <= {UNITARY_TOL:g}), "
                         f"got one off by {off:.3g}")
    return Q


def integer_array(value: Any, name: str, *, minimum: int | None = None, maximum: int | None = None) -> np.ndarray:
    """``value`` (a number or an array of any shape) as whole numbers in ``[minimum, maximum]``, returned as
    ``np.asarray(value)`` (dtype kept): an integer dtype, or floats whose entries are all whole numbers.

    Refused: fractions (an order 0.5), nan and inf, booleans, strings, complex numbers, Python
    integers beyond int64.
    """
    if isinstance(value, (str, bytes)) or isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name}: expected integers, got {short_repr(value)}")
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name}: expected integers, got {type(value).__name__}") from None
    if arr.dtype.kind not in "iuf":
        got = short_repr(value) if arr.ndim == 0 else f"dtype {arr.dtype}"
        raise ValueError(f"{name}: expected integers, got {got}")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name}: expected integers, found nan or inf")
        if np.any(arr != np.round(arr)):
            bad = arr[arr != np.round(arr)].ravel()[0]
            raise ValueError(f"{name}: expected integers, got the fraction {bad:g}")
    if arr.size and minimum is not None and arr.min() < minimum:
        raise ValueError(f"{name}: expected integers >= {minimum}, min is {arr.min():g}")
    if arr.size and maximum is not None and arr.max() > maximum:
        raise ValueError(f"{name}: expected integers <= {maximum:,}, max is {arr.max():g}")
    return arr


def index(value: Any, name: str, size: int, what: str = "") -> int:
    """``value`` as an index in ``0..size-1`` (negative indices, bools and non-integers refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 0 <= value < size:
        of = f" ({what})" if what else ""
        raise ValueError(f"{name}: expected an index in 0..{size - 1}{of}, got {short_repr(value)}")
    return int(value)


def token_array(value: Any, name: str, S: int, length: int | None = None) -> np.ndarray:
    """``value`` as an int64 ``(B, T)`` array of tokens in ``0..S-1`` with ``B >= 1`` (``T == length`` if given)."""
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a (B, T) integer array, got {type(value).__name__}") from None
    if arr.dtype.kind not in "iu":
        raise ValueError(f"{name}: expected integer tokens, got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1 or (length is not None and arr.shape[1] != length):
        want = "(B, T)" if length is None else f"(B, {length})"
        raise ValueError(f"{name}: expected shape {want} with B >= 1, got {arr.shape}")
    if arr.min() < 0 or arr.max() >= S:
        raise ValueError(f"{name}: expected tokens in 0..{S - 1}, got values in {arr.min()}..{arr.max()}")
    return arr.astype(np.int64, copy=False)
