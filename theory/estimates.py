"""Monte Carlo estimates with their standard errors, and the entries that have no finite mean; the fits read
off estimates: a log-log slope, a tail index."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory import validate

__all__ = ["Estimate", "mean_and_stderr", "pooled", "log_log_slope", "hill_tail_index"]


@dataclass(frozen=True)
class Estimate:
    """A Monte Carlo mean ``value`` with its standard error ``stderr`` (same shape) over ``draws`` samples.

    ``defined`` (bool, same shape; default all True) is False where the estimated expectation does
    not exist (the integrand has ``E|X| = ∞``): a sample mean there is a random number that grows
    with ``draws``, not an estimate.  ``finite_variance`` is False where ``E[X²] = ∞`` (implied by
    ``not defined``): the sample mean converges but ``stderr`` is no standard error.  ``note`` says why.

    Where every entry is defined with finite variance, ``value`` and ``stderr`` are plain arrays.
    Otherwise they are masked arrays (``numpy.ma.MaskedArray``): ``value`` masked where not ``defined``, ``stderr``
    masked where not ``finite_variance`` (printed as ``--``; arithmetic and reductions keep or skip
    the masked entries; the data under a mask is NaN, never a number).
    """

    value: np.ndarray
    stderr: np.ndarray
    draws: int
    defined: np.ndarray | None = None
    finite_variance: np.ndarray | None = None
    note: str = ""

    def __post_init__(self) -> None:
        value, stderr = np.ma.getdata(self.value), np.ma.getdata(self.stderr)
        if np.shape(stderr) != np.shape(value):
            raise ValueError(f"stderr: expected the shape of value {np.shape(value)}, got {np.shape(stderr)}")
        if isinstance(self.draws, bool) or not isinstance(self.draws, (int, np.integer)) or self.draws < 1:
            raise ValueError(f"draws: expected an integer >= 1, got {self.draws!r}")
        full = np.ones(np.shape(value), dtype=bool)
        defined = full if self.defined is None else np.asarray(self.defined, dtype=bool)
        finite_variance = full if self.finite_variance is None else np.asarray(self.finite_variance, dtype=bool)
        if defined.shape != full.shape or finite_variance.shape != full.shape:
            raise ValueError(f"defined: expected masks of shape {full.shape}, got {defined.shape} and "
                             f"{finite_variance.shape}")
        finite_variance = finite_variance & defined
        object.__setattr__(self, "defined", defined)
        object.__setattr__(self, "finite_variance", finite_variance)
        if not defined.all():
            value = np.ma.masked_array(np.where(defined, value, np.nan), mask=~defined)
        if not finite_variance.all():
            stderr = np.ma.masked_array(np.where(finite_variance, stderr, np.nan), mask=~finite_variance)
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "stderr", stderr)

    def z_scores(self, exact: np.ndarray) -> np.ndarray:
        """``|value - exact| / stderr`` entrywise (0 where both the gap and the stderr vanish);
        masked where ``stderr`` is not a standard error (not ``finite_variance``)."""
        value, stderr = np.ma.getdata(self.value), np.ma.getdata(self.stderr)
        gap = np.abs(value - np.asarray(exact))
        ok = self.finite_variance
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(stderr > 0, gap / np.where(stderr > 0, stderr, 1.0), np.where(gap > 0, np.inf, 0.0))
        if ok.all():
            return z
        return np.ma.masked_array(np.where(ok, z, np.nan), mask=~ok)


def mean_and_stderr(samples: np.ndarray, axis: int = 0, *, defined: np.ndarray | None = None,
                    finite_variance: np.ndarray | None = None, note: str = "") -> Estimate:
    """Sample mean and standard error ``sd / sqrt(k)`` along ``axis`` (``k >= 2`` samples).

    ``defined`` / ``finite_variance``: optional masks (shape of the mean) of the entries whose
    expectation / second moment exists, known from the mathematics (see :class:`Estimate`).
    """
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ValueError(f"axis: expected an integer axis, got {axis!r}")
    samples = np.asarray(samples)
    if samples.dtype.kind not in "fiu":
        raise ValueError(f"samples: expected an array of real numbers, got dtype {samples.dtype}")
    samples = samples.astype(np.float64, copy=False)
    if not -samples.ndim <= axis < samples.ndim:
        raise ValueError(f"axis: expected an axis of an array with {samples.ndim} dimensions, got {axis}")
    k = samples.shape[axis]
    if k < 2:
        raise ValueError(f"samples: expected at least 2 samples along axis {axis}, got {k}")
    mean = samples.mean(axis=axis)
    spread = samples
    if finite_variance is not None or defined is not None:
        known = np.ones(mean.shape, dtype=bool)
        for mask in (defined, finite_variance):
            if mask is not None and np.shape(mask) == mean.shape:
                known &= np.asarray(mask, dtype=bool)
        if not known.all():
            # No stderr is reported where the variance is infinite (it is masked, NaN under the mask), and the
            # samples there may be huge (~1e289): their squares would overflow.  The spread is taken on the
            # entries with a finite variance only; the mean keeps every sample.
            spread = samples.copy(order="K")  # the same memory layout: the same order of summation, the same bits
            np.copyto(spread, 0.0, where=~np.expand_dims(known, axis))
    return Estimate(mean, spread.std(axis=axis, ddof=1) / np.sqrt(k), int(k), defined, finite_variance, note)


def pooled(chunks: list[Estimate]) -> Estimate:
    """Combine estimates of the same mean over disjoint samples (weights by draws); an entry is
    defined (has finite variance) only if it is in every chunk."""
    if not isinstance(chunks, (list, tuple)) or not chunks or not all(isinstance(c, Estimate) for c in chunks):
        raise ValueError("chunks: expected a non-empty list of Estimate")
    if len({np.shape(c.value) for c in chunks}) != 1:
        raise ValueError(f"chunks: expected estimates of one shape, got {sorted({np.shape(c.value) for c in chunks})}")
    draws = sum(c.draws for c in chunks)
    values = [np.ma.getdata(c.value) for c in chunks]
    stderrs = [np.ma.getdata(c.stderr) for c in chunks]
    value = sum(v * c.draws for v, c in zip(values, chunks)) / draws
    # total variance from per-chunk sums of squares around the pooled mean
    ss = sum((s ** 2 * c.draws) * (c.draws - 1) + c.draws * (v - value) ** 2
             for v, s, c in zip(values, stderrs, chunks))
    defined = np.logical_and.reduce([c.defined for c in chunks])
    finite_variance = np.logical_and.reduce([c.finite_variance for c in chunks])
    notes = list(dict.fromkeys(c.note for c in chunks if c.note))
    return Estimate(value, np.sqrt(ss / (draws - 1) / draws), draws, defined, finite_variance, " ".join(notes))


def _positive_sample(value: np.ndarray, name: str) -> np.ndarray:
    arr = validate.finite_array(value, name, ndim=1)
    if arr.size < 2 or np.any(arr <= 0):
        raise ValueError(f"{name}: expected at least 2 positive values, got {validate.short_repr(value)}")
    return arr


def log_log_slope(x: np.ndarray, y: np.ndarray, stderr: np.ndarray | None = None) -> tuple[float, float]:
    """The least-squares slope ``b`` of ``log y ≈ a + b log x`` and its standard error; ``x``, ``y``, ``stderr``
    ``(m,)`` positive, ``m >= 2`` with two distinct ``x``.

    Without ``stderr``: ordinary least squares (``numpy.polyfit``), standard error from the residuals,
    ``se² = Σ r² / (m - 2) / Σ (log x - mean)²`` (NaN for ``m = 2``).
    With ``stderr`` (of each ``y``): weighted least squares with the inverse variances of ``log y``, by the delta
    method ``sd(log y) ≈ stderr / y``, so ``w = (y / stderr)²``, ``b = Σ w x_c log y / Σ w x_c²`` with
    ``x_c = log x - Σ w log x / Σ w``, and ``se = 1 / sqrt(Σ w x_c²)``.
    """
    x = _positive_sample(x, "x")
    if np.all(x == x[0]):
        raise ValueError(f"x: expected at least two distinct values, got {validate.short_repr(x)}")
    y = _positive_sample(y, "y")
    if y.shape != x.shape:
        raise ValueError(f"y: expected the shape of x {x.shape}, got {y.shape}")
    if stderr is None:
        lx, ly = np.log(x), np.log(y)
        slope, intercept = np.polyfit(lx, ly, 1)
        xc = lx - lx.mean()
        residual = ly - (intercept + slope * lx)
        se = float(np.sqrt(np.sum(residual ** 2) / (len(x) - 2) / np.sum(xc ** 2))) if len(x) > 2 else float("nan")
        return float(slope), se
    stderr = _positive_sample(stderr, "stderr")
    if stderr.shape != x.shape:
        raise ValueError(f"stderr: expected the shape of x {x.shape}, got {stderr.shape}")
    lx, ly = np.log(x), np.log(y)
    w = (y / stderr) ** 2
    xc = lx - np.sum(w * lx) / np.sum(w)
    slope = float(np.sum(w * xc * ly) / np.sum(w * xc ** 2))
    return slope, float(1.0 / np.sqrt(np.sum(w * xc ** 2)))


def hill_tail_index(values: np.ndarray, tail: int) -> float:
    """Hill's estimate of the tail index ``κ`` (``P(X > x) ~ x^-κ``) from the ``tail`` largest of ``values``:
    ``1 / κ̂ = (1/k) Σ_{i<k} log(X_(i) / X_(k))``, ``X_(0) >= X_(1) >= ...`` the sample sorted downwards,
    ``k = tail``; ``values`` ``(m,)`` non-negative with ``X_(k) > 0``, ``1 <= tail < m``."""
    values = validate.finite_array(values, "values", ndim=1, nonnegative=True)
    if len(values) < 2:
        raise ValueError(f"values: expected at least 2 values, got {len(values)}")
    tail = validate.positive_int(tail, "tail", maximum=len(values) - 1)
    ordered = np.sort(values)[::-1]
    if ordered[tail] <= 0:
        raise ValueError(f"values: expected the {tail + 1} largest values positive, got {ordered[tail]!r}")
    return float(1.0 / np.mean(np.log(ordered[:tail] / ordered[tail])))
