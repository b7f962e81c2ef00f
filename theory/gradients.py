"""Closed forms of the gradient of the first attention matrix (spec 1, section 4): at initialisation,
and to first order in β at any ``A1``.

Reduced model at ``A1 = 0``, ``A2 = β·I_S``: the loss gradient is
``∂L/∂A1 = β·g + O(β²)``.  Differentiating the model (layer-2 softmax
``b ≈ 1/T``, ``∂h_i/∂A1[i, j] = (e_{x_j} - h_i)/(i+1)``) gives, for ``j <= i``,

    g[i, j] = -1/(T (i+1)) · E[ (w_i - w̄) (1[x_j = x_n] - h_i[x_n]) ],
    w_m = y(x_m) / r(x_m),  w̄ = mean_{m=0..n} w_m,  h_i[x_n] = mean_{l<=i} 1[x_l = x_n],

where ``y = π(x_n, ·)`` is the target and ``r`` the law the loss is
linearised around: ``r = μ_π`` for the linearised loss
``L_lin = -E[Σ_s y_s ŷ_s / μ_π(s)]``, and ``r = ĉ``, the empirical law of the
``T`` tokens (the model's output at ``β = 0``), for the cross-entropy.

For the linearised loss the expectation closes on the ``T×T`` matrix
``N[m, j] = S·E[w_m 1[x_j = x_n]]`` (:func:`likelihood_ratio_matrix`):

    g[i, j] = -1/(S T (i+1)) · [ (N[i, j] - N̄(i, i)) - (1/T) Σ_m (N[m, j] - N̄(m, i)) ],
    N̄(m, i) = mean_{l<=i} N[m, l].

Away from ``A1 = 0`` (the small-β form of stage-1 training, ``numerics.training``).  With
``A2 = β·I`` the layer-2 weights are ``b_i = 1/T + (β/T)(h_i[x_n] - mean_m h_m[x_n]) + O(β²)``
and ``h_i[x_n] = Σ_j a_ij 1[x_j = x_n]``, ``a = causal_softmax(A1)``, so for *every* ``A1`` the
linearised loss is linear in the attention:

    L_lin = const - β/(S T) · Σ_{i, j<=i} a_ij M[i, j] + O(β²),   M[i, j] = N[i, j] - (1/T) Σ_m N[m, j],
    ∂L_lin/∂A1[i, j] = -β/(S T) · a_ij (M[i, j] - Σ_l a_il M[i, l]) + O(β²)

(:func:`drift_matrix`, :func:`small_beta_attention_gradient`).  Each row is a softmax bandit
driven to ``argmax_j M[i, j]``; at ``A1 = 0`` this is :func:`attention_gradient_from_N`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from theory import validate
from theory.edge_ranking import drift_from_likelihood_ratio
from theory.enumeration import enumerate_population
from theory.estimates import Estimate, mean_and_stderr
from theory.graphs import CausalGraph, as_causal_graph
from theory.laws import ROOTS, marginal_laws, root_laws, stationary_laws, transition_powers
from theory.priors import DirichletPrior, FinitePrior, alphabet_size, prior_stack

__all__ = ["LOSSES", "MIN_STATIONARY", "likelihood_ratio_matrix", "likelihood_ratio_from_joint",
           "attention_gradient_from_N", "attention_gradient_integrand", "empirical_law",
           "inverse_stationary_moment_finite", "attention_gradient_defined", "attention_gradient_at_init",
           "INTEGRAND_BLOCK_BYTES", "causal_softmax", "small_beta_attention_gradient",
           "drift_matrix_defined", "drift_matrix"]

LOSSES = ("linearized", "cross_entropy")

# The smallest stationary probability the linearised loss divides by: below it the ratios
# π(b, a)/μ_π(a) (and N) may exceed the float64 range.  Draws of a DirichletPrior always clear it
# (their entries are >= theory.priors.PROBABILITY_FLOOR ≈ 1e-289, so μ_π >= 1e-289).
MIN_STATIONARY = 1e-300


def _require_full_support(mu: np.ndarray) -> None:
    if not np.all(mu >= MIN_STATIONARY):
        raise ValueError(f"prior: the linearised loss divides by the stationary law μ_π, which must have full support "
                         f"(every μ_π(a) >= {MIN_STATIONARY:g}, so that π/μ_π is a float64 number); "
                         f"got min μ_π = {mu.min():.3g}")


def _ratio_bytes(graph: CausalGraph, S: int) -> tuple[float, float]:
    """``(fixed, per matrix)`` peak bytes of :func:`_likelihood_ratio_stack`: the ``(n, n)`` graph tables
    and, per matrix, the ``(n, n, S)`` gathers and the ``(D+1, S, S)`` powers."""
    n, depth = graph.n, int(graph.depths().max()) if graph.is_forest else graph.n
    return 80 * n * n, 8 * (3 * n * n * S + 3 * (depth + 2) * S * S + 4 * (n + 1) ** 2)


def _draw_chunk(graph: CausalGraph, S: int, m: int, max_bytes: int | None, name: str, chunk: int) -> int:
    """Matrices per block so that one block fits the memory budget (``chunk`` when it does)."""
    fixed, per = _ratio_bytes(graph, S)
    budget = validate.max_bytes(max_bytes)
    validate.memory(fixed + per + 8 * m * (graph.n + 1) ** 2 * 2, name,
                    f"N at n = {graph.n:,}, S = {S} ({m:,} matrices)", budget)
    return int(max(1, min(chunk, (budget - fixed) // per)))


def likelihood_ratio_matrix(graph: CausalGraph, prior: Any, roots: str = "stationary", *,
                            max_bytes: int | None = None) -> np.ndarray:
    """The ``(T, T)`` matrix ``N`` of spec section 4, ``N[m, j] = S·E[ π(x_n, x_m)/μ_π(x_m) · 1[x_j = x_n] ]``.

    With the query ``x_n`` uniform and independent of the context:
      - context ``m, j``:  ``N[m, j] = E[π(x_j, x_m) / μ_π(x_m)]`` (``m = j`` included);
      - ``N[n, j] = Σ_a P(x_j = a) π(a, a)/μ_π(a)``  (``= tr π`` under stationary roots);
      - ``N[m, n] = Σ_a P(x_m = a) Σ_c π(c, a)/μ_π(a)``  (``= S`` under stationary roots);
      - ``N[n, n] = Σ_a π(a, a)/μ_π(a)``.
    For a parent under stationary roots, ``N[i, p(i)] = 1 + I_χ²(x_i; x_{p(i)})``.

    ``prior``: a fixed ``(S, S)`` matrix or a ``FinitePrior`` (exact average).
    Forests only; the stationary law must have full support (``μ_π >= MIN_STATIONARY = 1e-300``,
    else ``N`` is not a float64 number).  Peak memory ``≈ 96 n² + m (32 n² S + 24 D S²)`` bytes for
    ``m`` matrices and depth ``D``, refused above ``max_bytes`` (default 2 GiB) before allocating.
    """
    graph = as_causal_graph(graph)
    graph.require_forest("likelihood_ratio_matrix")
    validate.choice(roots, "roots", ROOTS)
    if isinstance(prior, DirichletPrior):
        raise ValueError("prior: N is exact only for a fixed matrix or a FinitePrior; "
                         "use attention_gradient_at_init for a Monte Carlo average over a DirichletPrior")
    pis, weights, _ = prior_stack(prior, name="prior")
    chunk = _draw_chunk(graph, pis.shape[1], len(pis), max_bytes, "graph", len(pis))
    stack = np.concatenate([_likelihood_ratio_stack(graph, pis[k:k + chunk], roots, max_bytes)
                            for k in range(0, len(pis), chunk)])
    return np.einsum("k,kij->ij", weights, stack)


def _likelihood_ratio_stack(graph: CausalGraph, pis: np.ndarray, roots: str,
                            budget: int | None = None) -> np.ndarray:
    """``(m, T, T)`` matrices ``N`` for a validated stack ``pis (m, S, S)``, without forming the joints.

    Same tree, lowest common ancestor ``c``, distances ``d_i, d_j``:
        N[i, j] = Σ_z law_c(z) Σ_b A_{d_i}[z, b] π^{d_j}[z, b],   A_d = π^d Rᵀ,  R[b, a] = π(b, a)/μ(a);
    different trees: ``N[i, j] = Σ_{a,b} P(x_i=a) P(x_j=b) R[b, a]``.  Cost
    ``O(D S³ + n² S²)`` per matrix instead of the joints' ``O(n² S³)``;
    :func:`likelihood_ratio_from_joint` is the definition it is tested against.
    """
    mu = stationary_laws(pis)
    _require_full_support(mu)
    start = mu if roots == "stationary" else root_laws(pis, roots)
    n = graph.n
    depth = graph.depths()
    same, c, d_i, d_j = graph.lca_distances()
    ratio = pis / mu[:, None, :]
    powers = transition_powers(pis, int(depth.max()), max_bytes=budget)  # (D+1, m, S, S)
    A = powers @ np.swapaxes(ratio, 1, 2)[None]  # A_d = π^d Rᵀ
    law = marginal_laws(start, powers, depth)  # (m, n, S)
    # Σ_b A_{d_i}[z,b] π^{d_j}[z,b], once per distinct distance pair (a chain has 2n - 1 of them)
    pairs, index = np.unique(np.stack([d_i.ravel(), d_j.ravel()]), axis=1, return_inverse=True)
    kernel = (A[pairs[0]] * powers[pairs[1]]).sum(axis=-1)  # (U, m, S)
    N = np.empty((len(pis), n + 1, n + 1))
    N[:, :n, :n] = np.einsum("mijz,ijmz->mij", law[:, c], kernel[index.reshape(n, n)], optimize=True)
    if not np.all(same):  # Σ_{a,b} P(x_i=a) P(x_j=b) R[b, a] across trees
        across = law @ np.swapaxes(law @ ratio, 1, 2)
        N[:, :n, :n] = np.where(same[None], N[:, :n, :n], across)
    N[:, n, :n] = np.einsum("mja,maa->mj", law, ratio)
    N[:, :n, n] = np.einsum("mia,mca->mi", law, ratio)
    N[:, n, n] = np.einsum("maa->m", ratio)
    return N


def likelihood_ratio_from_joint(joint: np.ndarray, pis: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """``N`` from pairwise joints ``(m, n, n, S, S)``, ``pis (m, S, S)``, ``μ (m, S)`` → ``(m, T, T)``.

    Works for object (sympy) arrays.  ``N`` divides by ``μ``: a zero entry of ``μ`` (or, for float
    arrays, one below :data:`MIN_STATIONARY`, where ``π/μ`` leaves the float64 range) is refused naming
    ``mu``; float arrays must also be finite, ``joint`` non-negative, ``pis`` row-stochastic and ``μ`` a
    law (within :data:`theory.validate.ROW_SUM_TOL`).
    """
    joint, pis, mu = (validate.numbers_or_objects(v, name) for v, name in ((joint, "joint"), (pis, "pis"), (mu, "mu")))
    if joint.ndim != 5 or pis.ndim != 3 or mu.ndim != 2 or joint.shape[1] != joint.shape[2] or \
            joint.shape[0] != pis.shape[0] or joint.shape[3:] != pis.shape[1:] or mu.shape != pis.shape[:2]:
        raise ValueError(f"joint: expected shapes joint (m, n, n, S, S), pis (m, S, S), mu (m, S); got "
                         f"{joint.shape}, {pis.shape}, {mu.shape}")
    if mu.dtype == object:
        if any(x == 0 for x in mu.ravel()):
            raise ValueError("mu: N divides by the stationary law; got a zero entry")
    else:
        validate.finite_array(joint, "joint", nonnegative=True)
        validate.transition_stack(pis, "pis")
        law = validate.finite_array(mu, "mu", nonnegative=True)
        if np.max(np.abs(law.sum(axis=1) - 1.0)) > validate.ROW_SUM_TOL:
            raise ValueError(f"mu: expected one law per matrix (rows summing to 1 within {validate.ROW_SUM_TOL:g})")
        if not np.all(law >= MIN_STATIONARY):
            raise ValueError(f"mu: N divides by the stationary law, which must have full support (every entry "
                             f">= {MIN_STATIONARY:g}); got min {law.min():.3g}")
    m, n = joint.shape[:2]
    ratio = pis / mu[:, None, :]  # R[b, a] = π(b, a) / μ(a)
    marg = np.einsum("miiab->mia", joint) if joint.dtype != object else _diag_marginals(joint)
    N = np.empty((m, n + 1, n + 1), dtype=joint.dtype)
    N[:, :n, :n] = np.einsum("mijab,mba->mij", joint, ratio)
    N[:, n, :n] = np.einsum("mja,maa->mj", marg, ratio)
    N[:, :n, n] = np.einsum("mia,mca->mi", marg, ratio)
    N[:, n, n] = np.einsum("maa->m", ratio)
    return N


def _diag_marginals(joint: np.ndarray) -> np.ndarray:
    n = joint.shape[1]
    return np.stack([joint[:, i, i].sum(axis=2) for i in range(n)], axis=1)


def attention_gradient_from_N(N: np.ndarray, S: int) -> np.ndarray:
    """``g`` from ``N``: the closed form above, zero above the diagonal.

    ``N``: ``(..., T, T)`` (float or object/sympy entries) → ``(..., T, T)``; ``S >= 2`` the alphabet size.
    """
    S = validate.positive_int(S, "S", minimum=2)
    if not isinstance(N, np.ndarray) or N.dtype != object:
        N = validate.finite_array(N, "N")
    if N.ndim < 2 or N.shape[-1] != N.shape[-2] or N.shape[-1] < 2:
        raise ValueError(f"N: expected a (..., T, T) array with T >= 2, got shape {N.shape}")
    T = N.shape[-1]
    count = np.arange(1, T + 1)
    Nbar = np.cumsum(N, axis=-1) / count  # Nbar[..., m, i] = mean_{l<=i} N[m, l]
    row = N - np.diagonal(Nbar, axis1=-2, axis2=-1)[..., :, None]
    column = N.sum(axis=-2)[..., None, :] / T - Nbar.sum(axis=-2)[..., :, None] / T
    lower = np.tril(np.ones((T, T), dtype=bool))
    g = -(row - column) / (S * T * count[:, None])
    return np.where(lower, g, 0 * g)


def attention_gradient_integrand(tokens: Any, target: Any, reference: Any) -> np.ndarray:
    """Per-sequence integrand of ``g``: ``(B, T, T)``, its mean over sequences is ``g``.

        G[b, i, j] = -1/(T (i+1)) · (w_i - w̄) (1[x_j = x_n] - h_i[x_n]),  j <= i,
        w_m = target[b, x_m] / reference[b, x_m].

    ``tokens (B, T)`` int with the query last; ``target (B, S)`` the soft label;
    ``reference (B, S)`` the law the loss is linearised around (``μ_π`` or the
    empirical law ``ĉ``); it must be positive on every token present.
    """
    y = validate.finite_array(target, "target", ndim=2, nonnegative=True)
    if y.shape[1] < 2 or y.shape[0] < 1:
        raise ValueError(f"target: expected shape (B, S) with S >= 2 (one law per sequence), got {y.shape}")
    r = validate.finite_array(reference, "reference", shape=y.shape, nonnegative=True)
    for name, law in (("target", y), ("reference", r)):
        if np.max(np.abs(law.sum(axis=1) - 1.0)) > validate.ROW_SUM_TOL:
            raise ValueError(f"{name}: expected rows summing to 1 (one law on [S] per sequence)")
    x = validate.token_array(tokens, "tokens", y.shape[1])
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"tokens: expected {y.shape[0]} sequences (the rows of target), got shape {x.shape}")
    B, T = x.shape
    validate.memory(4 * 8 * B * T * T, "tokens", f"the (B, T, T) integrand of {B:,} sequences of length {T:,}")
    rows = np.arange(B)[:, None]
    r_tok = r[rows, x]
    if np.any(r_tok <= 0):
        raise ValueError("reference: must be positive at every token present in the sequence")
    w = y[rows, x] / r_tok  # (B, T)
    match = (x == x[:, -1:]).astype(np.float64)  # 1[x_j = x_n]
    count = np.arange(1, T + 1)
    h_query = np.cumsum(match, axis=1) / count  # h_i[x_n]
    G = -((w - w.mean(axis=1, keepdims=True))[:, :, None] * (match[:, None, :] - h_query[:, :, None])
          / (T * count[None, :, None]))
    return G * np.tril(np.ones((T, T)))


def empirical_law(tokens: Any, S: int) -> np.ndarray:
    """``ĉ (B, S)``: the frequency of each token among the ``T`` tokens (query included)."""
    S = validate.positive_int(S, "S", minimum=2, maximum=validate.MAX_STATES)
    x = validate.token_array(tokens, "tokens", S)
    validate.memory(8 * x.shape[0] * S, "tokens", f"the empirical laws of {x.shape[0]:,} sequences")
    counts = np.zeros((x.shape[0], S))
    np.add.at(counts, (np.repeat(np.arange(x.shape[0]), x.shape[1]), x.ravel()), 1.0)
    return counts / x.shape[1]


def inverse_stationary_moment_finite(prior: Any, order: int = 1) -> bool:
    """Whether ``E[μ_π(a)^{-order}] < ∞`` for every state ``a`` under ``prior``.

    For rows i.i.d. ``Dirichlet(α·1_S)``: finite iff ``α (S - 1) > order``.  A finite prior (or
    one fixed ``π`` with full support) always gives True.

    Tail: ``P(μ_π(a) < ε) ≍ ε^{α(S-1)}`` up to powers of ``log(1/ε)``.  Lower bound: the event
    ``π(b, a) ≤ ε`` for the ``S - 1`` states ``b ≠ a`` (independent rows, each ``≍ ε^α``) gives
    ``μ_π(a) ≤ ε/(1 - π(a, a))``.  Upper bound: order the states by ``μ``, ``c_1, .., c_S`` decreasing,
    ``r_l = μ(c_l)/μ(c_{l-1})``; stationarity bounds the inflow ``μ(c_j) π(c_j, c_k) ≤ μ(c_k)`` for
    ``j < k``, i.e. ``π(c_j, c_k) ≤ r_{j+1}···r_k``, so ``r_l`` is paid ``(l-1)(S-l+1) >= S - 1``
    times, at cost ``r_l^α`` each; ``μ(a) < ε`` needs ``Π_{l<=pos(a)} r_l <= Sε``.
    (For ``S = 2`` exactly: ``1/μ(0) = 1 + π(0,1)/π(1,0)`` and ``E[1/Beta(α, α)] < ∞`` iff ``α > 1``.)
    """
    order = validate.positive_int(order, "order")
    if isinstance(prior, DirichletPrior):
        return prior.alpha * (prior.S - 1) > order
    if not isinstance(prior, FinitePrior):
        validate.transition_matrix(prior, "prior")
    return True


def attention_gradient_defined(graph: CausalGraph, prior: Any, *, loss: str = "linearized",
                               roots: str = "stationary", order: int = 1) -> np.ndarray:
    """``(T, T)`` bool: True where the prior average ``E_π[|g[i, j]|^order]`` is finite.

    Only the linearised loss under a ``DirichletPrior`` with ``α (S - 1) <= order`` has entries
    without a finite moment (:func:`inverse_stationary_moment_finite`); the cross-entropy
    integrand is bounded (``ĉ >= 1/T``), as is everything under a finite prior.

    Which entries, from ``g`` linear in ``N``:
      - stationary roots: every context entry of ``N`` is bounded (``N[m, j] <= S``,
        ``N[n, j] = tr π``, ``N[m, n] = S``), so rows ``i < n`` are bounded; only
        ``N[n, n] = Σ_a π(a, a)/μ_π(a) >= 0`` has a heavy tail, and it enters the query row ``i = n``
        with coefficient ``-(1 - 1/T)/(S T²)`` at ``j < n`` and ``-(1 - 1/T)²/(S T)`` at ``j = n``,
        never zero: the whole query row is undefined, every other entry is defined.
      - uniform roots: a root token is ``a`` with probability ``1/S`` however small ``μ_π(a)``; as
        state ``a`` becomes unreachable (``π(b, a) -> 0``, ``π(a, a) = ρ``) the leading term
        ``N ≈ K(ρ)/μ_π(a)`` reaches every context entry, and ``g(K(ρ))`` is nonzero in every
        lower-triangular entry but ``g[0, 0]`` (identically 0: one key): all of those are undefined.
    """
    graph = as_causal_graph(graph)
    validate.choice(loss, "loss", LOSSES)
    validate.choice(roots, "roots", ROOTS)
    order = validate.positive_int(order, "order")
    if not isinstance(prior, (DirichletPrior, FinitePrior)):
        alphabet_size(prior, "prior")
    T = graph.n + 1
    defined = np.ones((T, T), dtype=bool)
    if loss == "linearized" and not inverse_stationary_moment_finite(prior, order):
        if roots == "stationary":
            defined[T - 1] = False
        else:
            defined[np.tril_indices(T)] = False
            defined[0, 0] = True
    return defined


def attention_gradient_at_init(graph: CausalGraph, prior: Any, *, loss: str = "linearized", roots: str = "stationary",
                               draws: int = 1000, rng: Any = None, max_sequences: int = 2_000_000,
                               max_bytes: int | None = None) -> np.ndarray | Estimate:
    """The coefficient ``g`` with ``∂L/∂A1 = β·g + O(β²)`` at ``A1 = 0, A2 = β·I_S``; ``(T, T)``.

    ``prior``: a fixed ``(S, S)`` matrix or a ``FinitePrior`` (exact), or a
    ``DirichletPrior`` (Monte Carlo over ``draws`` draws of ``π`` with the inner
    expectation exact, returned as an ``Estimate`` with standard errors).

    For a ``DirichletPrior`` with ``α (S - 1) <= 1`` the linearised loss has entries with no prior
    mean (``E[1/μ_π] = ∞``; the query row under stationary roots): the ``Estimate`` masks them
    (``defined`` False, shown as ``--``) instead of returning a sample mean that grows with
    ``draws``; with ``α (S - 1) <= 2`` their ``stderr`` is masked too (infinite variance).  See
    :func:`attention_gradient_defined`.

    ``loss="linearized"``: the closed form through ``N`` (forests).
    ``loss="cross_entropy"``: the exact expectation of the integrand with
    ``r = ĉ`` by enumerating all ``S^T`` sequences (refused above
    ``max_sequences``); finite at every ``β -> 0`` because ``ĉ >= 1/T`` on every
    token present.  The ``(B, T, T)`` integrand is summed in blocks of sequences, so the peak is
    the enumerated population (``≈ 8 B (T + 3S)`` bytes), checked against ``max_bytes``
    (default 2 GiB) before enumerating; the linearised path is checked like
    :func:`likelihood_ratio_matrix`.
    """
    graph = as_causal_graph(graph)
    graph.require_forest("attention_gradient_at_init")
    loss = validate.choice(loss, "loss", LOSSES)
    validate.choice(roots, "roots", ROOTS)
    max_sequences = validate.positive_int(max_sequences, "max_sequences")
    budget = validate.max_bytes(max_bytes)
    pis, weights, monte_carlo = prior_stack(prior, draws=draws, rng=rng, min_draws=2, name="prior",
                                            max_bytes=budget)
    samples = _gradient_stack(graph, pis, loss, roots, max_sequences, budget=budget)
    if not monte_carlo:
        return np.einsum("k,kij->ij", weights, samples)
    defined = attention_gradient_defined(graph, prior, loss=loss, roots=roots, order=1)
    finite_variance = attention_gradient_defined(graph, prior, loss=loss, roots=roots, order=2)
    note = ""
    if not finite_variance.all():
        note = (f"{prior!r}: α(S-1) = {prior.alpha * (prior.S - 1):.3g}; E[1/μ_π] is finite iff α(S-1) > 1 and "
                f"E[1/μ_π²] iff α(S-1) > 2, so under {roots} roots "
                f"{'the query row' if roots == 'stationary' else 'every entry but g[0, 0]'} of the "
                f"linearised gradient has "
                f"{'no prior mean (masked)' if not defined.all() else 'infinite prior variance (stderr masked)'}")
    return mean_and_stderr(samples, defined=defined, finite_variance=finite_variance, note=note)


def _gradient_stack(graph: CausalGraph, pis: np.ndarray, loss: str, roots: str, max_sequences: int,
                    chunk: int = 256, budget: int | None = None) -> np.ndarray:
    """``(m, T, T)`` coefficients ``g`` for a validated stack ``(m, S, S)``."""
    S = pis.shape[1]
    if loss == "cross_entropy":
        return np.stack([_cross_entropy_gradient(graph, p, roots, max_sequences, budget) for p in pis])
    chunk = _draw_chunk(graph, S, len(pis), budget, "graph", chunk)
    blocks = [attention_gradient_from_N(_likelihood_ratio_stack(graph, pis[k:k + chunk], roots, budget), S)
              for k in range(0, len(pis), chunk)]  # chunks of draws bound the (m, n, n, S, S) memory
    return np.concatenate(blocks)


# Sequences per block of the cross-entropy integrand: its (B, T, T) temporaries stay near 256 MiB.
INTEGRAND_BLOCK_BYTES = 2 ** 28


def _cross_entropy_gradient(graph: CausalGraph, pi: np.ndarray, roots: str, max_sequences: int,
                            budget: int | None = None) -> np.ndarray:
    pop = enumerate_population(graph, pi, roots, max_sequences=max_sequences, max_bytes=budget)
    T = graph.n + 1
    block = max(1, INTEGRAND_BLOCK_BYTES // (48 * T * T))
    g = np.zeros((T, T))
    for k in range(0, len(pop.tokens), block):  # blocks of sequences bound the (B, T, T) integrand
        x, y = pop.tokens[k:k + block], pop.target[k:k + block]
        G = attention_gradient_integrand(x, y, empirical_law(x, pi.shape[0]))
        g = g + np.einsum("b,bij->ij", pop.probability[k:k + block], G)
    return g


# --------------------------------------------------------------------------- away from A1 = 0: the small-β form
def causal_softmax(A: np.ndarray) -> np.ndarray:
    """Row-wise softmax over the keys each row may attend to: ``a[i, j] = exp(A[i, j]) / Σ_{l<=i} exp(A[i, l])``
    for ``j <= i``, ``0`` for ``j > i``.  ``A (T, T)`` float → ``(T, T)``, rows summing to 1.

    NumPy (the torch models mask their own logits in ``model/``).
    """
    A = validate.square_matrix(A, "A")
    T = A.shape[0]
    logits = np.where(np.tril(np.ones((T, T), dtype=bool)), A, -np.inf)
    a = np.exp(logits - logits.max(axis=1, keepdims=True))
    return a / a.sum(axis=1, keepdims=True)


def small_beta_attention_gradient(M: np.ndarray, A1: np.ndarray, beta: float) -> np.ndarray:
    """``∂L_lin/∂A1`` to first order in β at any ``A1`` (module docstring); ``(T, T)``.

        ∂L_lin/∂A1[i, j] = -β · a_ij (M[i, j] - Σ_{l<=i} a_il M[i, l]),   a = causal_softmax(A1),

    zero above the diagonal.  ``M (T, T)``: the drift matrix ``M / (S T)`` of
    :func:`drift_matrix`; ``A1 (T, T)``.
    """
    M = validate.square_matrix(M, "M")
    A1 = validate.square_matrix(A1, "A1")
    if A1.shape != M.shape:
        raise ValueError(f"A1: expected shape {M.shape} (that of M), got {A1.shape}")
    beta = validate.finite_float(beta, "beta")
    T = M.shape[0]
    lower = np.tril(np.ones((T, T), dtype=bool))
    a = causal_softmax(A1)
    Mz = np.where(lower, M, 0.0)
    return -beta * a * (Mz - (a * Mz).sum(axis=1, keepdims=True))


def drift_matrix_defined(graph: CausalGraph, prior: Any, *, roots: str = "stationary") -> np.ndarray:
    """``(T, T)`` bool: True where the prior mean of the drift ``M[i, j] = N[i, j] - (1/T) Σ_m N[m, j]``
    is declared finite, i.e. where every entry of ``N`` it is made of (column ``j``) has a finite prior mean.

    Only a ``DirichletPrior`` with ``α (S - 1) <= 1`` has entries of ``N`` without a finite mean
    (:func:`inverse_stationary_moment_finite`, as in :func:`attention_gradient_defined`):
      - stationary roots: only ``N[n, n] = Σ_a π(a, a)/μ_π(a)``; it lies in column ``n``, so column ``n``
        of ``M`` (every row) is undefined, every other column defined;
      - uniform roots: every entry of ``N`` carries ``1/μ_π`` (a root token is ``a`` with probability
        ``1/S`` however small ``μ_π(a)``), so every entry of ``M`` is undefined.  (A difference of two
        infinite means may still cancel: for ``n = 1`` column 0 of ``M`` is identically 0, since
        ``N[0, 0] = N[1, 0]``; the rule is stated on the entries of ``N`` and masks it too.)
    """
    graph = as_causal_graph(graph)
    validate.choice(roots, "roots", ROOTS)
    if not isinstance(prior, (DirichletPrior, FinitePrior)):
        validate.transition_matrix(prior, "prior")
    T = graph.n + 1
    defined = np.ones((T, T), dtype=bool)
    if not inverse_stationary_moment_finite(prior, 1):
        if roots == "stationary":
            defined[:, T - 1] = False
        else:
            defined[:] = False
    return defined


def drift_matrix(graph: CausalGraph, prior: Any, *, roots: str = "stationary", draws: int = 2000,
                 rng: Any = None, max_bytes: int | None = None, masked: bool = True) -> np.ndarray:
    """``M / (S T)``, ``M[i, j] = N[i, j] - (1/T) Σ_m N[m, j]``, averaged over the prior; ``(T, T)``.

    Exact for a fixed ``π`` or a ``FinitePrior``; for a ``DirichletPrior`` the
    average of ``N`` over ``draws`` draws of ``π`` (each ``N`` exact).

    Undefined entries (:func:`drift_matrix_defined`; the column ``n`` under stationary roots, which only
    the query row of :func:`small_beta_attention_gradient` uses): there the draws-average is a random
    number that grows with ``draws`` (near 1e289 at α = 0.01), not an estimate, and it is masked (a
    ``numpy.ma.MaskedArray``, NaN under the mask, as in :class:`theory.estimates.Estimate`).  Where
    every entry is defined the result is a plain array.

    ``masked=False`` returns the plain draws-average everywhere, undefined entries included: the
    signal a training loop that follows it step by step actually used
    (:func:`numerics.train_reduced.train_reduced`, whose recorded runs depend on those numbers).
    """
    graph = as_causal_graph(graph)
    graph.require_forest("drift_matrix")
    validate.choice(roots, "roots", ROOTS)
    if not isinstance(prior, (DirichletPrior, FinitePrior)):
        validate.transition_matrix(prior, "prior")
    masked = validate.boolean(masked, "masked")
    defined = drift_matrix_defined(graph, prior, roots=roots)
    if isinstance(prior, DirichletPrior):
        pis, weights, _ = prior_stack(prior, draws=draws, rng=rng, max_bytes=max_bytes)
        prior = FinitePrior(pis, weights)
    N = likelihood_ratio_matrix(graph, prior, roots, max_bytes=max_bytes)
    T, S = N.shape[0], alphabet_size(prior)
    M = drift_from_likelihood_ratio(N) / (S * T)
    if not masked or defined.all():
        return M
    return np.ma.masked_array(np.where(defined, M, np.nan), mask=~defined)
