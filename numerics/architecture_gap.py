"""The best the two-layer disentangled transformer can do on a causal-graph task: its gap to the count estimator.

The count estimator ``ŷ_s = (c_{q s} + α) / (c_q + S α)`` (``c_{q s}``: parent-child pairs of the context
whose parent token is the query ``q`` and child token ``s``) is the posterior mean of ``π(q, ·)``.  The
:class:`model.disentangled.DisentangledTransformer` with one head per layer reaches its logits only through
layer 2's softmax over positions, ``logit_s = Σ_j b_j β3 [x_j = s] + …``: linear in the *shares*
``c_{q s} / c_q`` where the estimator is ``log(c_{q s} + α)``, and the softmax leaks weight to
non-matching positions.  How much that costs is measured by three nested searches inside the exact
parametrisation (weights ``A1 (1, d0, d0)``, ``A2 (1, d1, d1)``, ``readout (2 d1, S)``; ``d0 = S + T``,
``d1 = 2 d0``; the stream layout of :mod:`model.disentangled`):

1. **the ideal induction head** (:func:`induction_head_weights`, ``T + 4`` scalars):
   layer 1 one-hot on the parent with logit ``β1`` (``A1[S+i, S+p(i)] = β1``); layer 2 matching the
   query's token with the parent's token aggregated by layer 1 (``A2[x, d0 + x'] = β2 [x = x']``), plus
   one logit ``v_j`` per key position from the query's position row (a sink on the query itself, a
   penalty on roots); the readout ``β3 I`` from layer 2's token output and ``δ I`` from the query's own
   token.  Fitted by L-BFGS on a fixed sample.
2. **token-symmetric weights** (:func:`token_symmetric_projection`): every weight invariant under one
   permutation of the token values applied to all token axes at once, the family that treats all tokens
   alike and contains 1.  Adam, fresh sequences, starting from 1.
3. **free weights**: Adam on fresh sequences from 2, and from 2 plus a Gaussian perturbation that
   breaks the token symmetry.

Every stage is scored on one held-out sample (paired per-sequence differences,
:class:`numerics.evaluation.EstimatorGap`, split by whether the query occurs as a parent).  Each stage's
gap is an upper bound on the architecture's: the best point of a search, not a proven optimum.
Everything is float64 on one thread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn as nn
from torch.func import functional_call

from model.autoregressive import check_tensor
from model.disentangled import DisentangledTransformer
from model.reduced import check_tokens
from numerics.evaluation import EstimatorGap, estimator_alpha, forest_with_edges, gap_to_count_estimator, \
    held_out_sample, sample_sequences_redrawn
from numerics.runtime import lbfgs_minimum, require_finite, single_thread
from numerics.sampling_torch import sample_sequences_torch
from theory import validate
from theory.graphs import CausalGraph, as_causal_graph
from theory.priors import alphabet_size

__all__ = ["STAGES", "stream_token_blocks", "induction_head_weights", "token_symmetric_projection",
           "token_symmetric_weights", "logits_with", "soft_cross_entropy", "ArchitectureGap",
           "architecture_gap"]

STAGES = ("ideal_head", "token_symmetric", "free")


# --------------------------------------------------------------------------- the weights of each family
def stream_token_blocks(S: int, T: int) -> dict[str, tuple[int, ...]]:
    """Where the token coordinates sit on each weight's axes (block starts, each block ``S`` wide).

    ``d0``: ``[e_x (S); e_i (T)]`` → ``(0,)``; ``d1``: ``[s; a X (S); a (T)]`` → ``(0, d0)``;
    the final stream ``[s_n (d1); out (d1)]`` → ``(0, d0, d1, d1 + d0)``; the logits → ``(0,)``.
    """
    S = validate.positive_int(S, "S", minimum=2)
    T = validate.positive_int(T, "T", minimum=2)
    d0 = S + T
    d1 = 2 * d0
    return {"d0": (0,), "d1": (0, d0), "final": (0, d0, d1, d1 + d0), "logits": (0,)}


def induction_head_weights(graph: CausalGraph, S: int, theta: torch.Tensor) -> dict[str, torch.Tensor]:
    """The ideal induction head's weights from ``theta = (β1, β2, β3, δ, v_0, …, v_{T-1})`` (``(T + 4,)``).

    ``A1[0, S+i, S+p(i)] = β1`` for every non-root ``i``; ``A2[0, :S, d0:d0+S] = β2 I`` (the query's
    token against the key's layer-1 token aggregate) and ``A2[0, S+T-1, S:S+T] = v`` (the query's
    position against every key position); ``readout[d1:d1+S] = β3 I`` (layer 2's token output),
    ``readout[:S] = δ I`` (the query's own token).  Differentiable in ``theta``; every other entry 0.
    """
    graph = as_causal_graph(graph)
    graph.require_forest("induction_head_weights")
    S = validate.positive_int(S, "S", minimum=2)
    T = graph.n + 1
    if not isinstance(theta, torch.Tensor) or not theta.is_floating_point() or theta.shape != (T + 4,):
        raise ValueError(f"theta: expected a real floating-point torch tensor of shape ({T + 4},) (T + 4 scalars), "
                         f"got {getattr(theta, 'dtype', type(theta).__name__)} of shape "
                         f"{tuple(getattr(theta, 'shape', ()))}")
    if not bool(torch.isfinite(theta).all()):
        raise ValueError("theta: expected finite entries, found nan or inf")
    validate.memory(8.0 * 2 * ((S + T) ** 2 + 4 * (S + T) ** 2 + 4 * (S + T) * S), validate.largest(S=S, graph=T),
                    f"the weights of a two-layer model of width {2 * (S + T):,}")
    d0, d1 = S + T, 2 * (S + T)
    par = graph.parent_array()
    child = torch.as_tensor(np.flatnonzero(par >= 0))
    eye = torch.eye(S, dtype=theta.dtype)
    A1 = torch.zeros(1, d0, d0, dtype=theta.dtype).index_put(
        (torch.zeros_like(child), S + child, S + torch.as_tensor(par[par >= 0])), theta[0].expand(child.numel()))
    A2 = torch.zeros(1, d1, d1, dtype=theta.dtype)
    A2 = A2.index_put((torch.zeros(S, dtype=torch.long), torch.arange(S), d0 + torch.arange(S)), theta[1].expand(S))
    A2 = A2.index_put((torch.zeros(T, dtype=torch.long), torch.full((T,), S + T - 1), S + torch.arange(T)),
                      theta[4:])
    readout = torch.cat([theta[3] * eye, torch.zeros(d1 - S, S, dtype=theta.dtype), theta[2] * eye,
                         torch.zeros(d1 - S, S, dtype=theta.dtype)])
    return {"A.0": A1, "A.1": A2, "readout": readout}


def token_symmetric_projection(W: torch.Tensor, row_blocks: tuple[int, ...], col_blocks: tuple[int, ...],
                               S: int) -> torch.Tensor:
    """The orthogonal projection of ``W (..., r, c)`` onto the weights invariant under every permutation
    ``σ`` of the token values applied to the token blocks of both axes at once (the group average).

    A token × token block becomes ``a I + b (J - I)`` (``a``: its diagonal mean, ``b``: its off-diagonal
    mean); a token × other block is replaced by its mean over the token axis; other × other is kept.
    """
    if not isinstance(W, torch.Tensor) or not W.is_floating_point() or W.ndim < 2:
        raise ValueError(f"W: expected a real floating-point torch tensor (..., r, c), got "
                         f"{getattr(W, 'dtype', type(W).__name__)} of shape {tuple(getattr(W, 'shape', ()))}")
    if not bool(torch.isfinite(W).all()):
        raise ValueError("W: expected finite entries, found nan or inf")
    S = validate.positive_int(S, "S", minimum=2)
    if S > min(W.shape[-2:]):
        raise ValueError(f"S: expected a token block that fits W of shape {tuple(W.shape)}, got S = {S}")
    for name, blocks, size in (("row_blocks", row_blocks, W.shape[-2]), ("col_blocks", col_blocks, W.shape[-1])):
        if not isinstance(blocks, (tuple, list)) or not all(
                isinstance(b, int) and not isinstance(b, bool) and 0 <= b <= size - S for b in blocks):
            raise ValueError(f"{name}: expected block starts in 0..{size - S} (blocks of {S} within {size}), "
                             f"got {validate.short_repr(blocks)}")
    rows = torch.zeros(W.shape[-2], dtype=torch.bool)
    cols = torch.zeros(W.shape[-1], dtype=torch.bool)
    for r in row_blocks:
        rows[r:r + S] = True
    for c in col_blocks:
        cols[c:c + S] = True
    out = W.clone()
    eye = torch.eye(S, dtype=W.dtype)
    off = 1.0 - eye
    for r in row_blocks:
        out[..., r:r + S, ~cols] = W[..., r:r + S, ~cols].mean(dim=-2, keepdim=True).expand_as(W[..., r:r + S, ~cols])
        for c in col_blocks:
            block = W[..., r:r + S, c:c + S]
            diag = torch.diagonal(block, dim1=-2, dim2=-1).mean(-1)[..., None, None]
            rest = (block * off).sum((-2, -1))[..., None, None] / (S * (S - 1))
            out[..., r:r + S, c:c + S] = diag * eye + rest * off
    for c in col_blocks:
        out[..., ~rows, c:c + S] = W[..., ~rows, c:c + S].mean(dim=-1, keepdim=True).expand_as(W[..., ~rows, c:c + S])
    return out


def token_symmetric_weights(weights: dict[str, torch.Tensor], S: int, T: int) -> dict[str, torch.Tensor]:
    """:func:`token_symmetric_projection` of each weight of a two-layer, one-head-per-layer model."""
    blocks = stream_token_blocks(S, T)
    S, T = int(S), int(T)
    d0, d1 = S + T, 2 * (S + T)
    _check_weights(weights, {"A.0": (d0, d0), "A.1": (d1, d1), "readout": (2 * d1, S)}, exact=True)
    return {"A.0": token_symmetric_projection(weights["A.0"], blocks["d0"], blocks["d0"], S),
            "A.1": token_symmetric_projection(weights["A.1"], blocks["d1"], blocks["d1"], S),
            "readout": token_symmetric_projection(weights["readout"], blocks["final"], blocks["logits"], S)}


def _check_weights(weights: Any, shapes: dict[str, tuple], exact: bool) -> None:
    """``weights``: a dict of finite floating-point tensors whose names are among ``shapes`` (all of them if
    ``exact``) and whose last two axes are the shape named there."""
    if not isinstance(weights, dict) or (exact and set(weights) != set(shapes)) or not set(weights) <= set(shapes):
        raise ValueError(f"weights: expected a dict of tensors named {sorted(shapes)}"
                         f"{'' if exact else ' (a subset)'}, got {validate.short_repr(weights)}")
    for name, W in weights.items():
        if not isinstance(W, torch.Tensor) or not W.is_floating_point() or tuple(W.shape[-2:]) != shapes[name] \
                or W.ndim < 2:
            raise ValueError(f"weights: expected {name!r} a floating-point tensor of shape (..., "
                             f"{', '.join(map(str, shapes[name]))}), got {getattr(W, 'dtype', type(W).__name__)} "
                             f"of shape {tuple(getattr(W, 'shape', ()))}")
        if not bool(torch.isfinite(W).all()):
            raise ValueError(f"weights: expected finite entries in {name!r}, found nan or inf")


class _QueryLogits(nn.Module):
    """``model.query_logits`` as a module's forward, so :func:`torch.func.functional_call` can swap weights."""

    def __init__(self, model: DisentangledTransformer):
        super().__init__()
        self.model = model

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.model.query_logits(tokens)


def logits_with(model: DisentangledTransformer, weights: dict[str, torch.Tensor],
                tokens: torch.Tensor) -> torch.Tensor:
    """The readout's logits ``(B, S)`` of ``model``'s architecture with ``weights`` (names ``A.0``, ``A.1``,
    ``readout``) on ``tokens (B, T)``; differentiable in the weights."""
    if not isinstance(model, DisentangledTransformer):
        raise ValueError(f"model: expected a DisentangledTransformer, got {validate.short_repr(model)}")
    _check_weights(weights, {name: tuple(p.shape[-2:]) for name, p in model.named_parameters()}, exact=False)
    check_tokens(tokens, model.S, model.T)
    return functional_call(_QueryLogits(model), {f"model.{k}": v for k, v in weights.items()}, (tokens,))


def soft_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-sequence ``-Σ_s y_s log softmax(logits)_s``: ``(B,)`` from ``(B, S)``; ``target`` rows are laws
    (non-negative, summing to 1 within 1e-9 in float64, 1e-5 in float32)."""
    check_tensor(logits, "logits", (None, None), complex_ok=False)
    check_tensor(target, "target", tuple(logits.shape), complex_ok=False)
    tol = validate.ROW_SUM_TOL if target.dtype == torch.float64 else 1e-5
    if bool((target < 0).any()) or not bool(((target.sum(dim=-1) - 1).abs() <= tol).all()):
        raise ValueError(f"target: expected rows that are laws (non-negative, summing to 1 within {tol:g})")
    return -(target * torch.log_softmax(logits, dim=-1)).sum(dim=-1)


# --------------------------------------------------------------------------- the three searches
@dataclass(frozen=True)
class ArchitectureGap:
    """The three stages' gaps to the count estimator on one held-out sample: ``gaps[stage]`` an
    :class:`numerics.evaluation.EstimatorGap` for each of :data:`STAGES` (``free``: the better of the two
    free runs on the held-out sample), ``free_runs`` both free runs' gaps (``from_symmetric``,
    ``from_perturbed``), ``weights[stage]`` the weights (float64 CPU), ``scales`` the ideal head's
    fitted ``(β1, β2, β3, δ)`` and ``position_logits`` its ``v (T,)``."""

    graph: CausalGraph
    gaps: dict[str, EstimatorGap]
    free_runs: dict[str, EstimatorGap]
    weights: dict[str, dict[str, torch.Tensor]]
    scales: tuple[float, float, float, float]
    position_logits: np.ndarray
    estimator_loss: float

    @property
    def architecture_gap(self) -> str:
        """The stage with the smallest mean gap (the best point found)."""
        return min(STAGES, key=lambda s: float(self.gaps[s].mean().value))

    def difference(self, stage: str, other: str) -> EstimatorGap:
        """The paired per-sequence difference ``ℓ_stage - ℓ_other`` as an :class:`EstimatorGap`."""
        a, b = self.gaps[validate.choice(stage, "stage", STAGES)], self.gaps[validate.choice(other, "other", STAGES)]
        return EstimatorGap(a.excess - b.excess, a.query_seen)


def _fit_ideal_head(model: DisentangledTransformer, graph: CausalGraph, S: int, tokens: torch.Tensor,
                    target: torch.Tensor, iterations: int) -> torch.Tensor:
    """L-BFGS (strong Wolfe) on the mean cross-entropy of a fixed sample over ``theta (T + 4,)``."""
    T = graph.n + 1
    start = torch.cat([torch.tensor([6.0, 4.0, 4.0, 0.0], dtype=torch.float64), torch.zeros(T, dtype=torch.float64)])

    def mean_loss(theta: torch.Tensor) -> torch.Tensor:
        return soft_cross_entropy(logits_with(model, induction_head_weights(graph, S, theta), tokens), target).mean()

    final, theta = lbfgs_minimum(mean_loss, start, iterations, tolerance_grad=1e-10, tolerance_change=1e-13,
                                 history_size=20)
    require_finite(final, iterations, "L-BFGS", "the ideal head's fitted loss", "fit on a larger sample")
    return theta


def _adam_from(model: DisentangledTransformer, graph: CausalGraph, prior: Any, start: dict[str, torch.Tensor],
               project: bool, steps: int, batch: int, lr: float, generator: torch.Generator,
               roots: str) -> dict[str, torch.Tensor]:
    """Adam (cosine to 0 over ``steps``) on fresh batches from ``start``; with ``project`` the weights are
    the token-symmetric projection of the free tensors.  Returns the final (projected) weights."""
    S, T = model.S, model.T
    raw = {k: v.detach().clone().requires_grad_(True) for k, v in start.items()}
    opt = torch.optim.Adam(list(raw.values()), lr=lr)

    def weights() -> dict[str, torch.Tensor]:
        return token_symmetric_weights(raw, S, T) if project else raw

    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr * 0.5 * (1.0 + math.cos(math.pi * step / steps))
        tokens, target, _ = sample_sequences_torch(graph, prior, batch, generator, "cpu", roots)
        loss = soft_cross_entropy(logits_with(model, weights(), tokens), target).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        require_finite(float(loss.detach()), step + 1, "adam")
    return {k: v.detach() for k, v in weights().items()}


def architecture_gap(graph: Any, prior: Any, *, fit_size: int = 16384, lbfgs_iterations: int = 200,
                     steps: int = 2000, batch: int = 1024, lr: float = 0.01, perturbation: float = 0.1,
                     test_size: int = 16384, roots: str = "stationary", alpha: float | None = None,
                     rng: Any = None, max_bytes: Any = None) -> ArchitectureGap:
    """The three nested searches of this module on ``graph`` (a forest with at least one edge) under
    ``prior``: the ideal head fitted by ``lbfgs_iterations`` L-BFGS iterations on ``fit_size`` sequences;
    the token-symmetric and the two free searches each ``steps`` Adam steps of ``batch`` fresh sequences
    at peak learning rate ``lr`` (cosine to 0); the perturbed free start adds ``perturbation`` times
    ``N(0, 1)`` noise scaled by each weight's RMS.  All scored on ``test_size`` held-out sequences
    against the count estimator (pseudo-count ``alpha``, default the prior's ``α``).  Float64, one
    thread; every random draw from ``rng``."""
    graph = forest_with_edges(graph)
    S = alphabet_size(prior)
    fit_size = validate.positive_int(fit_size, "fit_size", minimum=2)
    lbfgs_iterations = validate.positive_int(lbfgs_iterations, "lbfgs_iterations")
    steps = validate.positive_int(steps, "steps")
    batch = validate.positive_int(batch, "batch")
    lr = validate.finite_float(lr, "lr", positive=True)
    perturbation = validate.finite_float(perturbation, "perturbation", nonnegative=True)
    test_size = validate.positive_int(test_size, "test_size", minimum=4)
    roots = validate.choice(roots, "roots", ("stationary", "uniform"))
    est_alpha = estimator_alpha(prior, alpha)
    rng = validate.rng(rng)
    T = graph.n + 1
    # the largest forward pass (its activations and scores, float64, with autograd), before any draw
    d1 = 2 * (S + T)
    # the fit and the Adam batches with autograd (up to 4 copies of each activation), the test sample without
    # (one copy); ``max_bytes`` (bytes, None: theory.validate.DEFAULT_MAX_BYTES) is the budget
    per_sequence = T * (2 * T + 4 * d1)
    validate.memory(8.0 * (4 * max(fit_size, batch) + test_size) * per_sequence,
                    validate.largest(fit_size=fit_size, batch=batch, test_size=test_size),
                    f"forward passes of {max(fit_size, batch):,} and {test_size:,} sequences of length {T:,}",
                    max_bytes)
    with single_thread():
        test = held_out_sample(graph, prior, test_size, rng, roots, est_alpha)
        fit = sample_sequences_redrawn(graph, prior, fit_size, rng, roots)
        generator = torch.Generator().manual_seed(int(rng.integers(2 ** 63)))
        noise = torch.Generator().manual_seed(int(rng.integers(2 ** 63)))
        model = DisentangledTransformer(S, T, (1, 1))
        theta = _fit_ideal_head(model, graph, S, torch.as_tensor(fit.tokens), torch.as_tensor(fit.target),
                                lbfgs_iterations)
        ideal = {k: v.detach() for k, v in induction_head_weights(graph, S, theta).items()}
        symmetric = _adam_from(model, graph, prior, ideal, True, steps, batch, lr, generator, roots)
        perturbed = {k: v + perturbation * v.pow(2).mean().sqrt() * torch.randn(v.shape, generator=noise,
                                                                                 dtype=v.dtype)
                     for k, v in symmetric.items()}
        free = {name: _adam_from(model, graph, prior, start, False, steps, batch, lr, generator, roots)
                for name, start in (("from_symmetric", symmetric), ("from_perturbed", perturbed))}

        def gap_of(weights: dict[str, torch.Tensor]) -> EstimatorGap:
            with torch.no_grad():
                yhat = torch.softmax(logits_with(model, weights, test.tokens), dim=-1).numpy()
            return gap_to_count_estimator(graph, yhat, test.batch, est_alpha)

        free_gaps = {name: gap_of(w) for name, w in free.items()}
        best_free = min(free_gaps, key=lambda name: float(free_gaps[name].mean().value))
        gaps = {"ideal_head": gap_of(ideal), "token_symmetric": gap_of(symmetric), "free": free_gaps[best_free]}
    return ArchitectureGap(graph, gaps, free_gaps,
                           {"ideal_head": ideal, "token_symmetric": symmetric, "free": free[best_free]},
                           tuple(float(x) for x in theta[:4]), theta[4:].numpy().copy(), test.estimator_loss)
