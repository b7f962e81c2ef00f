"""Prior averages that do not exist: the linearised gradient under a Dirichlet prior with α(S-1) <= 1.

Oracles: the stationary law solved here by a batched linear system (not the library's solver),
a Hill estimate of the tail index, the exact S = 2 moment E[1/μ(0)] = 1 + E[x] E[1/y], and the
blow-up of g as one state becomes unreachable.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest

from theory.estimates import Estimate, mean_and_stderr, pooled
from theory.gradients import attention_gradient_at_init, attention_gradient_defined, inverse_stationary_moment_finite
from theory.graphs import CausalGraph
from theory.priors import DirichletPrior, FinitePrior

README = Path(__file__).resolve().parents[1] / "README.md"


def stationary_by_solve(pis: np.ndarray) -> np.ndarray:
    """μ with μ π = μ, Σ μ = 1, for a stack (m, S, S): (I - πᵀ) with the last row replaced by 1ᵀ."""
    m, S, _ = pis.shape
    system = np.eye(S)[None] - np.swapaxes(pis, 1, 2)
    system[:, -1, :] = 1.0
    rhs = np.zeros((m, S, 1))
    rhs[:, -1] = 1.0
    return np.linalg.solve(system, rhs)[..., 0]


def hill_tail_index(x: np.ndarray, k: int) -> float:
    top = np.sort(x)[::-1]
    return float(1.0 / np.mean(np.log(top[:k] / top[k])))


@pytest.mark.parametrize("S, alpha", [(2, 0.5), (3, 0.25), (3, 0.5), (4, 0.2)])
def test_tail_index_of_query_entry_is_alpha_times_S_minus_1(S, alpha):
    pis = DirichletPrior(S, alpha).sample(100_000, np.random.default_rng(S))
    mu = stationary_by_solve(pis)
    N_nn = (np.einsum("maa->ma", pis) / mu).sum(axis=1)  # N[n, n] = Σ_a π(a,a)/μ(a)
    k, xi = 1000, alpha * (S - 1)
    index = hill_tail_index(N_nn, k)
    # Hill's estimate from the k largest of n = 1e5 draws: sampling sd ξ/√k (5 sd over the 4 cases:
    # family-wise level 2.3e-6).  The tail is x^-ξ only up to a slowly varying factor, which biases it
    # downwards by up to 10% of ξ (S >= 3: -8% to -10% at every k from 100 to 1000, 20 seeds; it decays
    # like 1/log n), so the interval is [ξ - 0.12 ξ - 5 sd, ξ + 5 sd].
    assert xi - 0.12 * xi - 5 * xi / np.sqrt(k) < index < xi + 5 * xi / np.sqrt(k), index
    assert not inverse_stationary_moment_finite(DirichletPrior(S, alpha), 1)


@pytest.mark.parametrize("alpha, finite", [(0.5, False), (1.0, False), (1.01, True), (3.0, True)])
def test_threshold_for_S2_is_alpha_greater_than_one(alpha, finite):
    assert inverse_stationary_moment_finite(DirichletPrior(2, alpha), 1) is finite
    assert inverse_stationary_moment_finite(DirichletPrior(2, alpha), 2) is (alpha > 2)


def test_S2_inverse_moment_matches_beta_formula():
    # π = [[1-x, x], [y, 1-y]], μ(0) = y/(x+y): E[1/μ(0)] = 1 + E[x]·E[1/y] = 1 + (1/2)(2α-1)/(α-1)
    alpha = 3.0
    pis = DirichletPrior(2, alpha).sample(400_000, np.random.default_rng(0))
    samples = 1.0 / stationary_by_solve(pis)[:, 0]
    est = mean_and_stderr(samples)
    exact = 1 + 0.5 * (2 * alpha - 1) / (alpha - 1)
    # 1/μ(0) has a finite variance for α > 2; 5 se, one comparison: level 5.7e-7
    assert abs(float(est.value) - exact) < 5 * float(est.stderr)


def test_stationary_roots_context_rows_bounded_query_row_heavy():
    graph, S = CausalGraph.chain(4), 3
    T = graph.n + 1
    pis = DirichletPrior(S, 0.1).sample(300, np.random.default_rng(1))
    g = np.stack([attention_gradient_at_init(graph, p) for p in pis])
    bound = 4.0 / (T * np.arange(1, T + 1))  # |N| <= S on context rows: |g[i, j]| <= 4/(T (i+1))
    assert np.all(np.abs(g[:, :-1]) <= bound[:-1, None] + 1e-12)
    assert np.abs(g[:, -1]).max() > 100 * bound[-1]


def near_trap(S: int, rho: float, eps: float) -> np.ndarray:
    """State 0 kept with probability ρ and entered from the others with probability ε: μ(0) ≍ ε."""
    pi = np.full((S, S), 0.0)
    pi[0] = (1 - rho) / (S - 1)
    pi[0, 0] = rho
    rest = np.linspace(1.0, 2.0, S - 1)
    for b in range(1, S):
        pi[b, 1:] = (1 - eps) * np.roll(rest, b) / rest.sum()
        pi[b, 0] = eps
    return pi


@pytest.mark.parametrize("graph", [CausalGraph.chain(4), CausalGraph.icl_pairs(4),
                                   CausalGraph.random_forest(5, np.random.default_rng(3)),
                                   CausalGraph.from_parents([None, None, None])])
@pytest.mark.parametrize("roots", ["stationary", "uniform"])
def test_masked_entries_are_exactly_those_that_blow_up(graph, roots):
    S = 3
    g1, g2 = (attention_gradient_at_init(graph, near_trap(S, 0.6, e), roots=roots) for e in (1e-4, 1e-7))
    blows_up = np.abs(g2) > 100 * np.abs(g1) + 1e-9
    stays = np.abs(g2) <= 10 * np.abs(g1) + 1e-9
    defined = attention_gradient_defined(graph, DirichletPrior(S, 0.2), roots=roots)
    assert np.all(blows_up | stays)
    np.testing.assert_array_equal(~defined, blows_up)
    assert np.all(attention_gradient_defined(graph, DirichletPrior(S, 0.6), roots=roots))  # α(S-1) > 1


def test_marking_in_the_estimate():
    graph = CausalGraph.chain(4)
    T = graph.n + 1
    est = attention_gradient_at_init(graph, DirichletPrior(2, 0.1), draws=200, rng=0)
    assert isinstance(est.value, np.ma.MaskedArray) and isinstance(est.stderr, np.ma.MaskedArray)
    np.testing.assert_array_equal(est.defined, np.repeat(np.arange(T)[:, None] < T - 1, T, axis=1))
    assert est.value.mask[-1].all() and not est.value.mask[:-1].any() and est.stderr.mask[-1].all()
    assert np.all(np.isnan(np.ma.getdata(est.value)[-1]))  # no number hides under the mask
    assert np.all(np.isfinite(est.value[:-1])) and "no prior mean" in est.note
    assert est.z_scores(np.zeros((T, T))).mask[-1].all()
    # 1 < α(S-1) <= 2: the mean exists, its standard error does not
    est = attention_gradient_at_init(graph, DirichletPrior(3, 0.75), draws=200, rng=0)
    assert est.defined.all() and not isinstance(est.value, np.ma.MaskedArray)
    assert est.stderr.mask[-1].all() and not est.finite_variance[-1].any() and "variance" in est.note
    # α(S-1) > 2: plain arrays
    est = attention_gradient_at_init(graph, DirichletPrior(3, 1.5), draws=200, rng=0)
    assert not isinstance(est.value, np.ma.MaskedArray) and not isinstance(est.stderr, np.ma.MaskedArray)
    # uniform roots: everything but g[0, 0]; the cross-entropy integrand is bounded
    est = attention_gradient_at_init(graph, DirichletPrior(2, 0.1), roots="uniform", draws=50, rng=0)
    assert est.defined.sum() == T * T - T * (T + 1) // 2 + 1
    est = attention_gradient_at_init(CausalGraph.chain(2), DirichletPrior(2, 0.1), loss="cross_entropy",
                                     draws=20, rng=0)
    assert est.defined.all()
    assert not isinstance(attention_gradient_at_init(graph, FinitePrior([np.full((2, 2), 0.5)])), np.ma.MaskedArray)


def test_pooled_keeps_the_masks():
    graph = CausalGraph.chain(3)
    a = attention_gradient_at_init(graph, DirichletPrior(2, 0.1), draws=50, rng=0)
    b = attention_gradient_at_init(graph, DirichletPrior(2, 0.1), draws=70, rng=1)
    both = pooled([a, b])
    assert both.draws == 120 and np.array_equal(both.defined, a.defined) and both.value.mask[-1].all()
    np.testing.assert_allclose(both.value[:-1], (50 * a.value[:-1] + 70 * b.value[:-1]) / 120, atol=1e-15)


def test_bad_masks():
    with pytest.raises(ValueError, match="^defined"):
        Estimate(np.zeros(3), np.zeros(3), 2, defined=np.ones(2, dtype=bool))
    with pytest.raises(ValueError, match="^order"):
        inverse_stationary_moment_finite(DirichletPrior(2, 0.1), 0)


def test_readme_example_prints_no_meaningless_number():
    text = README.read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "DirichletPrior(2, 0.1)" in b)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, "README.md", "exec"), {})
    printed = out.getvalue()
    numbers = [float(x) for x in re.findall(r"-?\d+\.\d+(?:e[-+]?\d+)?", printed)]
    assert "--" in printed and "no prior mean" in printed
    assert numbers and max(abs(x) for x in numbers) < 1.0  # before: entries like 4.7e25 ± 4.7e25
