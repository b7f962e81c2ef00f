"""Monte Carlo estimates with their standard errors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Estimate:
    """A Monte Carlo mean ``value`` with its standard error ``stderr`` (same shape) over ``draws`` samples."""

    value: np.ndarray
    stderr: np.ndarray
    draws: int

    def z_scores(self, exact: np.ndarray) -> np.ndarray:
        """``|value - exact| / stderr`` entrywise (0 where both the gap and the stderr vanish)."""
        gap = np.abs(np.asarray(self.value) - exact)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(self.stderr > 0, gap / np.where(self.stderr > 0, self.stderr, 1.0),
                         np.where(gap > 0, np.inf, 0.0))
        return z


def mean_and_stderr(samples: np.ndarray, axis: int = 0) -> Estimate:
    """Sample mean and standard error ``sd / sqrt(k)`` along ``axis`` (``k >= 2`` samples)."""
    samples = np.asarray(samples, dtype=np.float64)
    k = samples.shape[axis]
    if k < 2:
        raise ValueError(f"samples: expected at least 2 samples along axis {axis}, got {k}")
    return Estimate(samples.mean(axis=axis), samples.std(axis=axis, ddof=1) / np.sqrt(k), int(k))


def pooled(chunks: list[Estimate]) -> Estimate:
    """Combine estimates of the same mean over disjoint samples (weights by draws)."""
    draws = sum(c.draws for c in chunks)
    value = sum(c.value * c.draws for c in chunks) / draws
    # total variance from per-chunk sums of squares around the pooled mean
    ss = sum((c.stderr ** 2 * c.draws) * (c.draws - 1) + c.draws * (c.value - value) ** 2 for c in chunks)
    return Estimate(value, np.sqrt(ss / (draws - 1) / draws), draws)
