"""Batched sampling of spec 1's sequences in torch (the fast training path's data source).

The same law as :func:`theory.sampling.sample_sequences` on forests (spec 1, section 2):
``π ~ prior`` per sequence, roots ``~ μ_π`` (or uniform), ``x_i ~ π(x_{p(i)}, ·)``,
query ``x_n ~ Uniform([S])``, target ``y = π(x_n, ·)``; drawn with a torch
generator on any device so that sampling is a few vectorised tensor operations
per position instead of a fifth of a training step.

- Dirichlet rows: ``π(a, ·) = G / ΣG`` with ``G_b ~ Gamma(α)`` i.i.d.
  (:func:`gamma_draws`: Marsaglia-Tsang for ``Gamma(α + 1)`` times ``U^{1/α}``, which
  is 3-5x faster on CPU than ``torch._standard_gamma`` at ``α = 0.1``).
- Stationary laws: :func:`stationary_laws_torch`, the Grassmann-Taksar-Heyman
  state reduction of :func:`theory.laws.stationary_laws` batched in torch.  It has
  no subtractions, so it stays accurate on the nearly reducible chains that
  ``α = 0.1`` produces (power iteration would not converge on them).  Matrices
  where a pivot vanishes (no unique law, or underflow) are redrawn, as the numpy
  path redraws a refused batch.

Float64 throughout (the caller casts the target to its training precision).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from numerics.runtime import torch_device
from theory import validate
from theory.graphs import CausalGraph, as_causal_graph
from theory.priors import DirichletPrior, FinitePrior

__all__ = ["gamma_draws", "dirichlet_transitions", "stationary_laws_torch", "transitions_with_laws",
           "sample_sequences_torch", "BatchStream"]

_MAX_REDRAWS = 10


def _sampler(generator: Any, device: Any) -> tuple[torch.Generator, torch.device]:
    """``(generator, device)`` checked: a ``torch.Generator`` and a device torch can parse."""
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator: expected a torch.Generator, got {validate.short_repr(generator)}")
    return generator, torch_device(device)


def gamma_draws(alpha: float, shape: tuple[int, ...], generator: torch.Generator,
                device: torch.device | str = "cpu") -> torch.Tensor:
    """``shape`` i.i.d. ``Gamma(α, 1)`` draws, float64.

    ``Gamma(α) = Gamma(α + 1)·U^{1/α}`` (Stuart's boost, for ``α < 1``); ``Gamma(a)``, ``a >= 1``,
    by Marsaglia and Tsang (2000): with ``d = a - 1/3``, ``c = 1/√(9d)``, ``x ~ N(0, 1)``,
    ``v = (1 + c x)³``, accept ``d·v`` when ``v > 0`` and ``log U < x²/2 + d - d v + d log v``
    (acceptance above 95% for ``a >= 1``); rejected entries are redrawn.  ``shape``: sizes ``>= 1``,
    refused above the memory budget; ``generator`` a ``torch.Generator`` on ``device``.
    """
    alpha = validate.finite_float(alpha, "alpha", positive=True)
    if isinstance(shape, (str, bytes)) or not isinstance(shape, (tuple, list)) or not shape:
        raise ValueError(f"shape: expected a tuple of sizes >= 1, got {validate.short_repr(shape)}")
    shape = tuple(validate.positive_int(m, f"shape[{k}]", maximum=validate.MAX_INT64) for k, m in enumerate(shape))
    validate.memory(48.0 * math.prod(shape), "shape", f"{math.prod(shape):,} Gamma draws")
    return _gamma_draws(alpha, shape, *_sampler(generator, device))


def _gamma_draws(alpha: float, shape: tuple[int, ...], generator: torch.Generator, device: Any) -> torch.Tensor:
    base, log_boost = _gamma_factors(alpha, shape, generator, device)
    return base if log_boost is None else base * torch.exp(log_boost)  # U^{1/α}, float64: its tail reaches 1e-300


def _gamma_factors(alpha: float, shape: tuple[int, ...], generator: torch.Generator,
                   device: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(Gamma(a) draws, log U/α or None)`` of shape ``shape``: the draws are their product (``α < 1``)."""
    a = alpha + 1.0 if alpha < 1.0 else alpha
    d = a - 1.0 / 3.0
    c = 1.0 / np.sqrt(9.0 * d)
    count = int(np.prod(shape))
    # one oversampled round (acceptance >= 0.95 at a >= 1), then the rare shortfall again;
    # the proposal and the acceptance test run in float32: their rounding moves the
    # acceptance boundary by ~1e-7 relative, far below any Monte Carlo resolution here
    accepted = []
    missing = count
    while missing > 0:
        m = int(missing * 1.08) + 64
        x = torch.randn(m, generator=generator, device=device)
        u = torch.rand(m, generator=generator, device=device)
        v = (1.0 + c * x) ** 3
        ok = (v > 0) & (torch.log(u) < 0.5 * x * x + d - d * v + d * torch.log(v.clamp_min(1e-30)))
        good = v[ok][:missing]
        accepted.append(good)
        missing -= good.numel()
    out = (d * torch.cat(accepted).to(torch.float64)).reshape(shape)
    if alpha < 1.0:
        u = torch.rand(count, generator=generator, dtype=torch.float64, device=device)
        return out, (torch.log(u) / alpha).reshape(shape)
    return out, None


def dirichlet_transitions(S: int, alpha: float, size: int, generator: torch.Generator,
                          device: torch.device | str = "cpu") -> torch.Tensor:
    """``(size, S, S)`` transition matrices with rows i.i.d. ``Dirichlet(α·1_S)``, float64."""
    S = validate.positive_int(S, "S", minimum=2, maximum=validate.MAX_STATES)
    alpha = validate.finite_float(alpha, "alpha", positive=True)
    size = validate.positive_int(size, "size")
    validate.memory(56.0 * size * S * S, validate.largest(size=size, S=S * S), f"{size:,} ({S}, {S}) matrices")
    return _dirichlet_transitions(S, alpha, size, *_sampler(generator, device))


def _dirichlet_transitions(S: int, alpha: float, size: int, generator: torch.Generator, device: Any) -> torch.Tensor:
    base, log_boost = _gamma_factors(alpha, (size, S, S), generator, device)
    g = base if log_boost is None else base * torch.exp(log_boost)
    total = g.sum(dim=2, keepdim=True)
    under = total[..., 0] == 0
    # every draw of a row underflowed (probability ~ (1e-308)^{Sα}: a quarter of the rows at α = 0.001, S = 2):
    # the row is the normalised exponential of its log-draws, exactly as the Dirichlet law has it
    if log_boost is not None and bool(under.any()):
        g = g.clone()
        g[under] = torch.softmax(torch.log(base[under]) + log_boost[under], dim=-1)
        total = g.sum(dim=2, keepdim=True)
    return g / total


def stationary_laws_torch(pis: torch.Tensor) -> torch.Tensor:
    """``μ_π`` for a stack ``(m, S, S)`` → ``(m, S)`` by GTH state reduction (float64).

    Censor the chain on ``{0..k-1}`` for ``k = S-1..1`` (``P[:k, :k] += P[:k, k] P[k, :k] / out_k``,
    ``out_k = Σ_{j<k} P[k, j]``), then back-substitute ``μ_k = Σ_{i<k} μ_i P[i, k]`` from ``μ_0 = 1``
    and normalise.  Rows where a pivot ``out_k`` is zero come back as ``nan``.  ``pis``: a finite
    real torch stack of row-stochastic matrices (rows summing to 1 within ``theory.validate.ROW_SUM_TOL``).
    """
    if not isinstance(pis, torch.Tensor) or pis.is_complex() or not pis.is_floating_point():
        raise ValueError(f"pis: expected a real floating-point torch tensor, got {validate.short_repr(pis)}")
    validate.transition_stack(pis.detach().cpu().numpy(), "pis")
    return _stationary_laws_torch(pis)


def _stationary_laws_torch(pis: torch.Tensor) -> torch.Tensor:
    P = pis.to(torch.float64).clone()
    m, S, _ = P.shape
    for k in range(S - 1, 0, -1):  # states, not sequences
        out = P[:, k, :k].sum(dim=1)
        out = torch.where(out > 0, out, torch.full_like(out, float("nan")))
        P[:, :k, k] /= out[:, None]
        P[:, :k, :k] += P[:, :k, k, None] * P[:, k, None, :k]
    mu = torch.zeros(m, S, dtype=torch.float64, device=P.device)
    mu[:, 0] = 1.0
    for k in range(1, S):
        mu[:, k] = (mu[:, :k] * P[:, :k, k]).sum(dim=1)
    return mu / mu.sum(dim=1, keepdim=True)


def _transitions(prior: Any, size: int, generator: torch.Generator, device: Any) -> torch.Tensor:
    if isinstance(prior, DirichletPrior):
        return _dirichlet_transitions(prior.S, prior.alpha, size, generator, device)
    stack = torch.as_tensor(prior.matrices, dtype=torch.float64, device=device)
    weights = torch.as_tensor(prior.weights, dtype=torch.float64, device=device)
    return stack[torch.multinomial(weights, size, replacement=True, generator=generator)]


def transitions_with_laws(prior: Any, size: int, generator: torch.Generator, device: Any = "cpu",
                          roots: str = "stationary") -> tuple[torch.Tensor, torch.Tensor]:
    """``(pis (size, S, S), root laws (size, S))``: draws of ``π`` and the law of a root token.

    Under stationary roots, draws whose state reduction fails (no unique stationary law, or
    an underflowed row) are redrawn; more than ten rounds raise ``ValueError``.  ``prior``: a
    ``DirichletPrior`` or a ``FinitePrior``.
    """
    if not isinstance(prior, (DirichletPrior, FinitePrior)):
        raise ValueError(f"prior: expected a DirichletPrior or a FinitePrior, got {validate.short_repr(prior)}")
    size = validate.positive_int(size, "size")
    roots = validate.choice(roots, "roots", ("stationary", "uniform"))
    validate.memory(64.0 * size * prior.S ** 2, "size", f"{size:,} draws of π")
    return _transitions_with_laws(prior, size, *_sampler(generator, device), roots)


def _transitions_with_laws(prior: Any, size: int, generator: torch.Generator, device: Any,
                           roots: str) -> tuple[torch.Tensor, torch.Tensor]:
    pis = _transitions(prior, size, generator, device)
    if roots == "uniform":
        return pis, torch.full((size, pis.shape[1]), 1.0 / pis.shape[1], dtype=torch.float64, device=device)
    for _ in range(_MAX_REDRAWS):
        mu = _stationary_laws_torch(pis)
        bad = ~torch.isfinite(mu).all(dim=1) | ~torch.isfinite(pis).all(dim=(1, 2))
        if not bool(bad.any()):
            return pis, mu
        redo = torch.nonzero(bad).flatten()
        pis[redo] = _transitions(prior, redo.numel(), generator, device)
    raise ValueError("prior: draws of π without a unique stationary law persisted over ten redraws; "
                     "use roots='uniform' or a prior whose chains are irreducible")


def sample_sequences_torch(graph: CausalGraph, prior: Any, size: int, generator: torch.Generator,
                           device: Any = "cpu", roots: str = "stationary"
                           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(tokens (B, T) long, target (B, S) float64, pis (B, S, S))`` on ``device`` for a forest.

    ``prior``: a ``DirichletPrior``, a ``FinitePrior`` or one fixed ``(S, S)`` matrix.  Tokens
    by inverse CDF, ``x_i = #{s : U_i·F(S-1) >= F(s)}`` with ``F`` the cumulative row of the
    parent's token (or of the root law), as :func:`theory.sampling.sample_sequences` does.
    """
    graph = as_causal_graph(graph)
    graph.require_forest("sample_sequences_torch")
    size = validate.positive_int(size, "size")
    roots = validate.choice(roots, "roots", ("stationary", "uniform"))
    if not isinstance(prior, (DirichletPrior, FinitePrior)):
        prior = FinitePrior(validate.transition_matrix(prior, "prior")[None])
    validate.memory(8.0 * size * (8 * prior.S ** 2 + 3 * (graph.n + 1)), "size", f"{size:,} sequences")
    return _sample_sequences(graph, prior, size, *_sampler(generator, device), roots)


def _sample_sequences(graph: CausalGraph, prior: Any, size: int, generator: torch.Generator, device: torch.device,
                      roots: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    pis, start = _transitions_with_laws(prior, size, generator, device, roots)
    S, n = pis.shape[1], graph.n
    cum_rows = torch.cumsum(pis, dim=2).reshape(size * S, S)  # row b·S + a: F of π_b(a, ·)
    cum_start = torch.cumsum(start, dim=1)
    u = torch.rand(size, n, 1, generator=generator, dtype=torch.float64, device=device)
    base = torch.arange(size, device=device) * S
    tokens = torch.empty(size, n + 1, dtype=torch.long, device=device)
    for i, p in enumerate(graph.parent_array().tolist()):  # positions, not sequences
        cdf = cum_start if p < 0 else cum_rows[base + tokens[:, p]]
        tokens[:, i] = (u[:, i] * cdf[:, -1:] >= cdf).sum(dim=1).clamp_max(S - 1)
    tokens[:, n] = torch.randint(0, S, (size,), generator=generator, device=device)
    target = pis.reshape(size * S, S)[base + tokens[:, n]]
    return tokens, target, pis


class BatchStream:
    """Training batches ``(tokens (batch, T) long, target (batch, S) dtype)`` of :func:`sample_sequences_torch`'s
    law on ``device``, for a loop of ``steps`` updates.

    Drawn ``chunk = min(steps, 16384 // batch)`` batches at a time (one vectorised draw) and, with
    ``prefetch``, one chunk ahead on a background thread (torch releases the GIL, so sampling overlaps
    the training step).  Every argument is checked once, here; each chunk is then drawn without
    checking them again.  Call :meth:`next` once per step and :meth:`close` at the end.
    """

    def __init__(self, graph: CausalGraph, prior: Any, batch: int, steps: int, generator: torch.Generator,
                 device: Any = "cpu", roots: str = "stationary", dtype: torch.dtype = torch.float64,
                 prefetch: bool = False):
        graph = as_causal_graph(graph)
        graph.require_forest("BatchStream")
        batch, steps = validate.positive_int(batch, "batch"), validate.positive_int(steps, "steps")
        roots = validate.choice(roots, "roots", ("stationary", "uniform"))
        if not isinstance(prior, (DirichletPrior, FinitePrior)):
            prior = FinitePrior(validate.transition_matrix(prior, "prior")[None])
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype: expected torch.float32 or torch.float64, got {validate.short_repr(dtype)}")
        prefetch = validate.boolean(prefetch, "prefetch")
        generator, device = _sampler(generator, device)
        self.chunk = max(1, min(steps, 16384 // batch))
        size = self.chunk * batch
        validate.memory(8.0 * size * (8 * prior.S ** 2 + 3 * (graph.n + 1)), "batch",
                        f"chunks of {size:,} sequences")
        self.batch, self.pool, self.pending, self.current, self.used = batch, None, None, None, 0

        def draw() -> tuple[torch.Tensor, torch.Tensor]:
            tokens, target, _ = _sample_sequences(graph, prior, size, generator, device, roots)
            return tokens, target.to(dtype)

        self.draw = draw
        if prefetch:
            from concurrent.futures import ThreadPoolExecutor

            self.pool = ThreadPoolExecutor(max_workers=1)
            self.pending = self.pool.submit(draw)

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The next batch ``(tokens, target)``."""
        if self.current is None or self.used == self.chunk:
            if self.pool is not None:
                self.current = self.pending.result()
                self.pending = self.pool.submit(self.draw)
            else:
                self.current = self.draw()
            self.used = 0
        lo = self.used * self.batch
        self.used += 1
        return self.current[0][lo:lo + self.batch], self.current[1][lo:lo + self.batch]

    def close(self) -> None:
        """Stop the background thread (a pending draw is cancelled or waited for)."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
