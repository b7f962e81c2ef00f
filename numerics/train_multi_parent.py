"""Training the disentangled transformer on the causal paper's multi-parent task (Figures 5 and 7).

The task is :mod:`theory.multi_parent` (``p(i) = ((i-1)//2, i-1)``, ``T = 32`` tokens, a fresh
table and root law per sequence, target ``π(x_15, x_31, ·)``); the model is
:class:`model.disentangled.DisentangledTransformer` with heads ``(2, 1)``.  The paper's settings
(:data:`PAPER`): ``S = 5``, ``α = 0.1``, AdamW at ``lr = 1e-2``, weight decay ``1e-4``, cosine decay over
``2^16`` steps of ``1,024`` sequences, every training sequence fresh (drawn ``2^15`` at a time),
cross-entropy against the soft target ``y``.

Training runs in ``precision`` (float32 by default) on every core, on sequences drawn by the torch
sampler :func:`sample_two_parent_sequences_torch` (the same law as
:func:`theory.multi_parent.sample_two_parent_sequences`, several times faster).  Every check is
float64 on a held-out sample drawn by the numpy sampler: the test loss, the losses of the two
references of the paper's plots (the two-parent count estimator, "Bayes", and the previous-token
estimator), the per-sequence gaps to each with standard errors, and the layer-1 weight every head
puts on each parent role (:func:`parent_role_weights`, :func:`head_role_assignment`).
"""

from __future__ import annotations

import itertools
import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from model.disentangled import DisentangledTransformer
from numerics.runtime import intra_op_threads, Progress, require_finite, torch_device, training_device
from numerics.sampling_torch import gamma_draws
from numerics.train_disentangled import TrainingSchedule, float64_copy
from theory import validate
from theory.estimates import mean_and_stderr
from theory.multi_parent import (PAPER_T, halving_parents, previous_token_estimator, sample_two_parent_sequences,
                                 two_parent_count_estimator)

__all__ = ["HEADS", "REDRAW_SEQUENCES", "PAPER", "sample_two_parent_sequences_torch", "parent_role_weights",
           "RoleAssignment", "head_role_assignment", "MultiParentRun", "train_multi_parent"]

HEADS = (2, 1)  # two layer-1 heads (one per parent role), one layer-2 head
REDRAW_SEQUENCES = 2 ** 15  # the paper redraws its data every 2^15 sequences; each is used once here
PAPER = dict(S=5, T=PAPER_T, alpha=0.1, steps=2 ** 16, batch=1024, lr=1e-2, weight_decay=1e-4, init_scale=1e-4,
             lr_schedule="cosine")


# --------------------------------------------------------------------------- the torch sampler
def sample_two_parent_sequences_torch(S: int, alpha: float, size: int, generator: torch.Generator,
                                      T: int = PAPER_T, device: Any = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """``(tokens (B, T) long, target (B, S) float64)`` on ``device``: the joint law of ``(x, y)`` of
    :func:`theory.multi_parent.sample_two_parent_sequences`, with the tables integrated out.

    Dirichlet-multinomial conjugacy (the rows and ``ρ`` are independent Dirichlet(α·1_S) vectors)
    gives the same law by Pólya urns, one per table row and one for the roots:

        x_i | x_{<i} ~ (α + n_{r_i}(s)) / (Sα + Σ_s n_{r_i}(s)),      y | x ~ Dirichlet(α + n_{r_T}),

    ``n_r(s)`` the earlier positions with row ``r`` and token ``s`` (the roots share one urn).  The
    posterior draw is ``y ∝ G + Σ_{i >= 2: r_i = r_T} E_i e_{x_i}`` with ``G_s ~ Gamma(α)``
    (:func:`numerics.sampling_torch.gamma_draws`) and ``E_i ~ Exp(1)`` (``Gamma(α + n) = Gamma(α) +
    Gamma(n)``, a sum of ``n`` exponentials): ``S² + 1`` times fewer Gamma draws than drawing
    every table, which dominates the cost at ``α < 1`` on a CPU.
    """
    S = validate.positive_int(S, "S", minimum=2, maximum=validate.MAX_STATES)
    alpha = validate.finite_float(alpha, "alpha", positive=True)
    size = validate.positive_int(size, "size")
    T = validate.positive_int(T, "T", minimum=3, maximum=validate.MAX_POSITIONS)
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator: expected a torch.Generator, got {validate.short_repr(generator)}")
    device = torch_device(device)
    validate.memory(8.0 * size * (3 * S ** 3 + 4 * T), "size", f"{size:,} sequences with {S ** 2 + 1} urns each")
    urns = S * S + 1  # the table's rows r = S·c_1 + c_2, then the roots' urn
    counts = torch.zeros(size * urns, S, dtype=torch.float64, device=device)
    base = torch.arange(size, device=device) * urns
    ones = torch.ones(size, dtype=torch.float64, device=device)
    u = torch.rand(size, T, generator=generator, dtype=torch.float64, device=device)
    x = torch.empty(size, T, dtype=torch.long, device=device)
    rows = torch.empty(size, T - 1, dtype=torch.long, device=device)  # r_i for i = 2..T
    for i in range(T + 1):  # positions, not sequences; i = T: the target's row only
        if i < 2:
            r = base + S * S
        else:
            a, b = halving_parents(i)
            rows[:, i - 2] = S * x[:, a] + x[:, b]
            r = base + rows[:, i - 2]
        if i == T:
            break
        cum = counts.index_select(0, r).add_(alpha).cumsum_(dim=1)  # (B, S): unnormalised predictive CDF
        x[:, i] = (u[:, i, None] * cum[:, -1:] >= cum).sum(dim=1).clamp_max_(S - 1)
        counts.view(-1).index_add_(0, r * S + x[:, i], ones)
    match = (rows[:, :-1] == rows[:, -1:]).to(torch.float64)  # (B, T-2): context rows equal to the target's
    e = -torch.log1p(-torch.rand(size, T - 2, generator=generator, dtype=torch.float64, device=device))
    weight = gamma_draws(alpha, (size, S), generator, device).scatter_add_(1, x[:, 2:], match * e)
    return x, weight / weight.sum(dim=1, keepdim=True)


# --------------------------------------------------------------------------- what layer 1 attends to
def parent_role_weights(attention: Any) -> np.ndarray:
    """``W (H, T, 2)``: ``W[h, i, 0] = a_h[i, (i-1)//2]``, ``W[h, i, 1] = a_h[i, i-1]`` for ``i >= 2``
    (``nan`` at the roots ``i = 0, 1``), from layer-1 attention ``(H, T, T)``."""
    att = validate.finite_array(attention, "attention", ndim=3)
    H, T = att.shape[0], att.shape[1]
    if H < 1 or T < 3 or att.shape[2] != T:
        raise ValueError(f"attention: expected shape (H, T, T) with H >= 1, T >= 3, got {att.shape}")
    W = np.full((H, T, 2), np.nan)
    for i in range(2, T):  # positions
        W[:, i] = att[:, i, list(halving_parents(i))]
    return W


@dataclass(frozen=True)
class RoleAssignment:
    """Heads assigned to the parent roles: ``heads[0]`` to ``(i-1)//2``, ``heads[1]`` to ``i-1``;
    ``min_weight`` / ``mean_weight``: the smallest / mean weight an assigned head puts on its role's
    parent over positions ``i >= 2``; ``worst_position``: where the smallest sits."""

    heads: tuple[int, int]
    min_weight: float
    mean_weight: float
    worst_position: int


def head_role_assignment(weights: Any) -> RoleAssignment:
    """The best one-to-one assignment of layer-1 heads to the two parent roles, the same at every position.

    Over injective ``σ: {halving, previous} → heads`` maximise ``min_{i >= 2, r} W[σ(r), i, r]``
    (ties: the mean), ``W (H, T, 2)`` from :func:`parent_role_weights`.
    """
    try:
        raw = np.asarray(weights)
    except (TypeError, ValueError):
        raise ValueError(f"weights: expected an array of real numbers, got {type(weights).__name__}") from None
    if raw.dtype.kind not in "iuf":  # nan is allowed at the roots i = 0, 1 (parent_role_weights' convention)
        raise ValueError(f"weights: expected an array of real numbers, got dtype {raw.dtype}")
    W = raw.astype(np.float64)
    if W.ndim != 3 or W.shape[0] < 2 or W.shape[2] != 2 or W.shape[1] < 3:
        raise ValueError(f"weights: expected shape (H, T, 2) with H >= 2, T >= 3, got {W.shape}")
    body = W[:, 2:]
    if not np.all(np.isfinite(body)):
        raise ValueError("weights: expected finite weights at positions i >= 2")
    best = None
    for h0, h1 in itertools.permutations(range(W.shape[0]), 2):
        pair = np.stack([body[h0, :, 0], body[h1, :, 1]])  # (2, T-2)
        key = (pair.min(), pair.mean())
        if best is None or key > best[0]:
            best = (key, (h0, h1), int(np.argmin(pair.min(axis=0))) + 2)
    (worst, mean), heads, where = best
    return RoleAssignment(heads, float(worst), float(mean), where)


# --------------------------------------------------------------------------- the run
@dataclass
class MultiParentRun:
    """A run of :func:`train_multi_parent`.

    ``model``: the float64 copy every check reads; ``history``: one dict per evaluation (``step``,
    ``sequences``, ``seconds``, ``test_loss`` (± ``test_loss_stderr``), ``gap_bayes`` and
    ``gap_previous_token`` (model minus reference, per-sequence paired, ± ``*_stderr``),
    ``min_role_weight``, ``role_heads``); ``bayes_loss`` / ``previous_token_loss``: the references'
    held-out cross-entropies; ``parent_weights (H, T, 2)``: layer-1 weight per head and position on
    ``((i-1)//2, i-1)``, averaged over the held-out sample; ``assignment``: :class:`RoleAssignment`;
    ``seconds``: training wall time (sampling included, evaluations excluded).
    """

    model: DisentangledTransformer
    settings: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    bayes_loss: float = float("nan")
    previous_token_loss: float = float("nan")
    parent_weights: np.ndarray | None = None
    assignment: RoleAssignment | None = None
    sequences: int = 0
    seconds: float = 0.0
    eval_seconds: float = 0.0
    threads: int = 1
    device: str = "cpu"
    precision: str = "float32"

    @property
    def final_test_loss(self) -> float:
        return float(self.history[-1]["test_loss"]) if self.history else float("nan")



def _cross_entropies(log_yhat: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``-Σ_s y_s log ŷ_s`` per sequence (``0·log`` of a vanishing entry counts 0)."""
    return -np.where(target > 0, target * log_yhat, 0.0).sum(axis=1)


def train_multi_parent(*, S: int = 5, T: int = PAPER_T, alpha: float = 0.1, steps: int, batch: int,
                       lr: float = 1e-2, weight_decay: float = 1e-4, init_scale: float = 1e-4,
                       lr_schedule: str = "cosine", test_size: int, seed: int, threads: int | None = None,
                       device: str = "cpu", precision: str = "float32", eval_steps: Any = "log",
                       progress: bool = False) -> MultiParentRun:
    """Train the two-layer disentangled transformer (heads ``(2, 1)``) by AdamW on fresh sequences.

    Start: both attention layers ``N(0, init_scale²)`` entrywise (the noise breaks the symmetry of
    the two layer-1 heads), readout zero (so ``ŷ`` is uniform at step 0).  Step ``t = 0..steps-1``:
    ``batch`` fresh sequences of :func:`sample_two_parent_sequences_torch` (drawn ``2^15`` at a time),
    loss ``-Σ_s y_s log ŷ_s`` averaged over the batch, AdamW at ``lr·(1 + cos(π t/steps))/2``
    (``"cosine"``) or ``lr`` (``"constant"``).  ``threads``: torch intra-op threads (default
    ``os.cpu_count()``, restored afterwards); ``device`` ``"cpu"`` or ``"cuda"``.

    Evaluations at ``eval_steps`` (``"log"``: 0, the powers of two and the last step; or step counts):
    a float64 copy of the model (:func:`numerics.train_disentangled.float64_copy`) on ``test_size``
    held-out sequences of the numpy sampler (seeded by ``seed``; independent of the training stream).
    A non-finite loss raises :class:`numerics.runtime.TrainingDiverged`.
    """
    S = validate.positive_int(S, "S", minimum=2, maximum=64)
    T = validate.positive_int(T, "T", minimum=3, maximum=4096)
    alpha = validate.finite_float(alpha, "alpha", positive=True)
    schedule = TrainingSchedule("adamw", validate.finite_float(lr, "lr", positive=True),
                                validate.choice(lr_schedule, "lr_schedule", ("cosine", "constant")),
                                validate.positive_int(steps, "steps"), validate.positive_int(batch, "batch"))
    weight_decay = validate.finite_float(weight_decay, "weight_decay", nonnegative=True)
    init_scale = validate.finite_float(init_scale, "init_scale", nonnegative=True)
    test_size = validate.positive_int(test_size, "test_size", minimum=2)
    seed = validate.seed(seed)
    if seed >= 2 ** 63 - 1:  # the training stream is seeded by seed + 1
        raise ValueError(f"seed: expected an integer seed below 2^63 - 1, got {validate.short_repr(seed)}")
    threads = (os.cpu_count() or 1) if threads is None else validate.positive_int(threads, "threads")
    device = str(training_device(device))
    dtype = {"float32": torch.float32, "float64": torch.float64}[
        validate.choice(precision, "precision", ("float32", "float64"))]
    if isinstance(eval_steps, str):
        validate.choice(eval_steps, "eval_steps", ("log",))
        marks = {0} | {2 ** k for k in range(schedule.steps.bit_length())}
    elif isinstance(eval_steps, (list, tuple, range, np.ndarray)):
        marks = {validate.positive_int(s, "eval_steps", minimum=0, maximum=schedule.steps) for s in eval_steps}
    else:
        raise ValueError(f"eval_steps: expected 'log' or a sequence of step counts, "
                         f"got {validate.short_repr(eval_steps)}")
    marks.add(schedule.steps)
    progress = validate.boolean(progress, "progress")
    validate.memory(8.0 * min(test_size, 2048) * (2 * T * T * 4 + S ** 3 * 3)
                    + 8.0 * test_size * (3 * S ** 3 + 3 * T + 2 * S), "test_size",
                    f"float64 evaluation of {test_size:,} held-out sequences")
    draw = min(schedule.steps, max(1, REDRAW_SEQUENCES // schedule.batch)) * schedule.batch  # one training draw
    validate.memory(8.0 * draw * (3 * S ** 3 + 4 * T) + 8.0 * 4 * schedule.batch * (2 * T * T * 4 + 8 * T * S),
                    "batch", f"training draws of {draw:,} sequences and batches of {schedule.batch:,}")

    test = sample_two_parent_sequences(S, alpha, test_size, np.random.default_rng(seed), T)
    bayes = _cross_entropies(np.log(two_parent_count_estimator(test.tokens, alpha, S)), test.target)
    previous = _cross_entropies(np.log(previous_token_estimator(test.tokens, alpha, S)), test.target)
    test_tokens = torch.as_tensor(test.tokens)

    dev = torch.device(device)
    init = torch.Generator().manual_seed(seed)
    model = DisentangledTransformer(S, T, HEADS, dtype=dtype)
    with torch.no_grad():
        for A in model.A:  # the readout stays zero
            A.copy_(torch.randn(A.shape, generator=init, dtype=torch.float64) * init_scale)
    model = model.to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=schedule.lr, weight_decay=weight_decay)
    generator = torch.Generator(device=dev).manual_seed(seed + 1)
    run = MultiParentRun(model, dict(S=S, T=T, alpha=alpha, schedule=schedule, weight_decay=weight_decay,
                                     init_scale=init_scale, heads=HEADS, test_size=test_size, seed=seed,
                                     redraw_sequences=REDRAW_SEQUENCES),
                         bayes_loss=float(bayes.mean()), previous_token_loss=float(previous.mean()),
                         threads=threads, device=device, precision=precision)

    def evaluate(step: int, train_seconds: float) -> None:
        start = time.perf_counter()
        check = float64_copy(model)
        H = check.heads[0]
        att_sum, losses = torch.zeros(H, T, T, dtype=torch.float64), []
        with torch.no_grad():
            for lo in range(0, test_size, 2048):  # bounded memory: (2048, H, T, T) float64 at a time
                x = test_tokens[lo:lo + 2048]
                losses.append(torch.log_softmax(check.query_logits(x), dim=-1).numpy())
                att_sum += check.first_layer(x)[0].sum(dim=0)
        loss = _cross_entropies(np.concatenate(losses), test.target)
        require_finite(loss.mean(), step, "AdamW", "the float64 test loss")
        W = parent_role_weights((att_sum / test_size).numpy())
        role = head_role_assignment(W)
        entry = dict(step=step, sequences=step * schedule.batch, seconds=train_seconds)
        for key, values in (("test_loss", loss), ("gap_bayes", loss - bayes), ("gap_previous_token", loss - previous)):
            e = mean_and_stderr(values)
            entry[key], entry[key + "_stderr"] = float(e.value), float(e.stderr)
        entry.update(min_role_weight=role.min_weight, role_heads=role.heads)
        run.history.append(entry)
        run.model, run.parent_weights, run.assignment = check, W, role
        run.eval_seconds += time.perf_counter() - start

    def loss_of(tokens: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return -(target * torch.log_softmax(model.query_logits(tokens), dim=-1)).sum(dim=1).mean()

    chunk = max(1, min(schedule.steps, REDRAW_SEQUENCES // schedule.batch))  # batches per draw
    losses = torch.zeros(schedule.steps, dtype=dtype, device=dev)
    train_seconds = 0.0
    with intra_op_threads(threads), Progress(progress, "two-parent task (AdamW)", schedule.steps,
                                             schedule.batch) as bar:
        evaluate(0, 0.0)
        start = time.perf_counter()
        for step in range(schedule.steps):
            if step % chunk == 0:
                size = min(chunk, schedule.steps - step) * schedule.batch
                tokens, target = sample_two_parent_sequences_torch(S, alpha, size, generator, T, dev)
                target = target.to(dtype)
            lo = (step % chunk) * schedule.batch
            for group in opt.param_groups:
                group["lr"] = schedule.learning_rate(step)
            loss = loss_of(tokens[lo:lo + schedule.batch], target[lo:lo + schedule.batch])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses[step] = loss.detach()
            bar.advance(loss=losses[step])
            if (step + 1) % 256 == 0 and step + 1 not in marks:
                require_finite(float(losses[step]), step + 1, "AdamW")
            if step + 1 in marks:
                if dev.type == "cuda":
                    torch.cuda.synchronize()
                train_seconds += time.perf_counter() - start
                require_finite(float(losses[step]), step + 1, "AdamW")
                evaluate(step + 1, train_seconds)
                start = time.perf_counter()
    run.sequences = schedule.steps * schedule.batch
    run.seconds = train_seconds
    run.train_loss = losses.cpu().double().tolist()
    return run
