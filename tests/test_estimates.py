"""theory.estimates: the fits read off estimates (log-log slope, Hill tail index) against independent computations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from theory.estimates import hill_tail_index, log_log_slope


def test_ordinary_log_log_slope_is_scipy_s_linear_regression():
    rng = np.random.default_rng(0)
    x = np.array([3.0, 5.0, 9.0, 12.0, 20.0])
    y = 2.0 * x ** -0.7 * np.exp(0.05 * rng.standard_normal(5))
    slope, se = log_log_slope(x, y)
    fit = stats.linregress(np.log(x), np.log(y))
    assert slope == pytest.approx(fit.slope, rel=1e-12) and se == pytest.approx(fit.stderr, rel=1e-10)
    assert slope == float(np.polyfit(np.log(x), np.log(y), 1)[0])  # the same computation as numpy's fit
    slope2, se2 = log_log_slope([1, 4], [2.0, 0.5])
    assert slope2 == pytest.approx(-1.0, rel=1e-12) and np.isnan(se2)  # two points: no residual degrees of freedom


def test_weighted_log_log_slope_is_numpy_s_weighted_fit():
    rng = np.random.default_rng(1)
    x = np.array([9.0, 19.0, 39.0, 79.0])
    y = 0.5 * x ** -0.4 * np.exp(0.1 * rng.standard_normal(4))
    se_y = y * rng.uniform(0.02, 0.2, 4)
    slope, se = log_log_slope(x, y, se_y)
    # numpy weights multiply the residuals: w = 1/sd(log y) = y/stderr (delta method); 'unscaled' covariance
    coef, cov = np.polyfit(np.log(x), np.log(y), 1, w=y / se_y, cov="unscaled")
    assert slope == pytest.approx(coef[0], rel=1e-10) and se == pytest.approx(np.sqrt(cov[0, 0]), rel=1e-10)


def test_exact_power_law_gives_its_exponent():
    x = np.array([2.0, 4.0, 8.0, 16.0])
    slope, se = log_log_slope(x, 3 * x ** 1.5, np.full(4, 0.1))
    assert slope == pytest.approx(1.5, rel=1e-12) and se > 0


def test_hill_tail_index_of_a_pareto_sample():
    rng = np.random.default_rng(2)
    kappa = 1.5
    values = rng.pareto(kappa, 200_000) + 1.0  # P(X > x) = x^-κ, x >= 1: Hill is unbiased with sd κ/√k
    k = 2000
    estimate = hill_tail_index(values, k)
    assert abs(estimate - kappa) < 5 * kappa / np.sqrt(k)
    # by the definition, on a small sample
    small = np.array([1.0, 8.0, 2.0, 4.0, 0.0])
    assert hill_tail_index(small, 2) == pytest.approx(1 / np.mean(np.log(np.array([8.0, 4.0]) / 2.0)))


@pytest.mark.parametrize("call, name", [
    (lambda: log_log_slope([1.0, -2.0], [1.0, 2.0]), "x"),
    (lambda: log_log_slope([1.0, 1.0], [1.0, 2.0]), "x"),
    (lambda: log_log_slope([1.0, 2.0], [1.0, 0.0]), "y"),
    (lambda: log_log_slope([1.0, 2.0, 3.0], [1.0, 2.0]), "y"),
    (lambda: log_log_slope([1.0, 2.0], [1.0, 2.0], [1.0]), "stderr"),
    (lambda: log_log_slope([1.0, 2.0], [1.0, 2.0], [1.0, np.nan]), "stderr"),
    (lambda: hill_tail_index([1.0, 2.0, 3.0], 3), "tail"),
    (lambda: hill_tail_index([1.0, 2.0, 3.0], 0), "tail"),
    (lambda: hill_tail_index([1.0, -2.0, 3.0], 1), "values"),
    (lambda: hill_tail_index([0.0, 0.0, 3.0], 1), "values"),
])
def test_bad_input_is_refused_by_name(call, name):
    with pytest.raises(ValueError, match=f"^{name}"):
        call()
