"""The training loops of spec 2's models (in-context autoregressive learning): the raw-token multi-head
model by Adam on Monte Carlo batches of eigen-coordinate tokens (:func:`train_raw_token`), the positional
matrix alone on fixed contexts (:func:`train_positional`), and the positional weights by plain gradient
descent on one fixed sample (:func:`train_positional_gd`) with its empirical Gram matrices and a jackknife
standard error of the path.  Float64 throughout; the samplers and the exact grids are
:mod:`numerics.autoregressive`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from model.autoregressive import PositionalOnly, RawTokenMultiHead
from numerics.autoregressive import KINDS, eigen_tokens, grid_eigen_tokens, raw_token_scores, single_threaded
from numerics.runtime import require_finite, require_parameters_finite
from theory import positional
from theory import validate
from theory.validate import choice, even_dimension, finite_float, positive_int, rng as as_rng, square_matrix

__all__ = ["RawTokenTraining", "PositionalFit", "PositionalGDRun", "train_raw_token", "train_positional",
           "train_positional_gd", "empirical_positional_grams", "jackknife_positional_path_se"]


@dataclass(frozen=True)
class RawTokenTraining:
    """A trained :class:`model.autoregressive.RawTokenMultiHead`, its loss before each step ``(steps,)`` and its
    initial parameters ``initial = (A_0 (H, d), B_0 (H, d), p_0 (n+1,))`` (copies)."""

    model: RawTokenMultiHead
    history: np.ndarray
    initial: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


@dataclass(frozen=True)
class PositionalFit:
    """The positional matrix ``P (T, T+1)`` (masked: lower triangular) learned by :func:`train_positional`
    and the loss at each L-BFGS evaluation."""

    P: np.ndarray
    history: np.ndarray


@dataclass(frozen=True)
class PositionalGDRun:
    """The gradient-descent run of :func:`train_positional_gd`: ``P (n_max, n_max+1)``, the number of
    steps taken, the loss before each step ``(steps,)`` and the tokens ``X (size, n_max+2, d)``."""

    P: np.ndarray
    steps: int
    history: np.ndarray
    X: np.ndarray


@single_threaded
def train_raw_token(d: int, H: int, n: int, kind: str = "unitary", steps: int = 1500, lr: float = 2e-2,
                    init_scale: float = 0.1, seed: int = 0, optimizer: str = "adam") -> RawTokenTraining:
    """Train the diagonal multi-head raw-token model on its exact population loss (phase grid).

    ``optimizer``:

    - ``"adam"``: Adam with step ``lr`` and a cosine schedule to 0 over ``steps``;
    - ``"gd"``: plain full-batch gradient descent with the constant step ``lr`` (``torch.optim.SGD``, no
      momentum), as the paper's official ``unitary.py`` trains Figure 3.  It is the Euler discretisation of
      gradient flow, which conserves the imbalances ``AAᵀ - BBᵀ`` and ``||A||² - ||p||²`` (the loss depends on
      ``C = BᵀA`` and ``p`` only and is invariant under ``A → cA, p → p/c``); a step of size ``lr`` moves
      ``AAᵀ - BBᵀ`` by ``lr²(g_A g_Aᵀ - g_B g_Bᵀ)`` (``g`` the gradients), so over a run of fixed length in
      flow time ``lr·steps`` the drift is ``O(lr)``.  Adam conserves neither.

    Stable for ``lr < 2/λ_max`` of the Hessian at the minimum (``λ_max ≈ 8.3`` for ``d = 3, n = 2, H = 3``).
    Raises :class:`numerics.runtime.TrainingDiverged` naming the step and ``lr`` once the loss or a parameter
    is not finite.
    """
    kind = choice(kind, "kind", KINDS)
    d = even_dimension(d) if kind == "orthogonal" else positive_int(d, "d")
    n = positive_int(n, "n")
    steps = positive_int(steps, "steps")
    lr = finite_float(lr, "lr", positive=True)
    seed = validate.seed(seed)
    optimizer = choice(optimizer, "optimizer", ("adam", "gd"))
    D = d // 2 if kind == "orthogonal" else d
    validate.memory(8 * steps, "steps", f"the loss history of {steps:,} steps")
    validate.memory(4 * 16 * validate.float_power(2 * n + 3, D) * (n + 2) * d, validate.largest(n=n, d=d),
                    f"the exact grid of {2 * n + 3:,}^{D:,} sequences")
    gen = torch.Generator().manual_seed(seed)
    model = RawTokenMultiHead(d, H, n, init_scale=init_scale, generator=gen)
    initial = tuple(w.detach().numpy().copy() for w in (model.A, model.B, model.p))
    X = grid_eigen_tokens(kind, d, n, M=2 * n + 3)
    if optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    else:
        opt, sched = torch.optim.SGD(model.parameters(), lr=lr), None
    name = "Adam" if optimizer == "adam" else "gradient descent"
    history = np.zeros(steps)
    for step in range(steps):
        loss = (model(X[:, : n + 1]) - X[:, n + 1]).abs().pow(2).sum(-1).mean()
        require_finite(loss.item(), step + 1, name, advice=f"lower the learning rate (lr = {lr:g})")
        opt.zero_grad()
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        history[step] = loss.item()
        require_parameters_finite(model, step + 1, name, lr)
    return RawTokenTraining(model, history, initial)


@single_threaded
def train_positional(C: Any, T: int, nu: float, size: int = 20000, seed: int = 0,
                     steps: int = 60) -> PositionalFit:
    """Learn the positional matrix P (T, T+1) with fixed heads ``C`` on a fixed Monte Carlo
    sample of ``size`` sequences (phases on ``[0, 2π/ν)``), by L-BFGS (the loss is quadratic; step
    1 with a strong-Wolfe line search).  Raises :class:`numerics.runtime.TrainingDiverged` if the loss
    or ``P`` stops being finite."""
    C = square_matrix(C)
    T = positive_int(T, "T")
    size = positive_int(size, "size")
    steps = positive_int(steps, "steps")
    seed = validate.seed(seed)
    validate.memory(3 * 16 * size * (T + 2) * C.shape[0] * C.shape[0], validate.largest(size=size, T=T),
                    f"{size:,} sequences of length {T + 2:,} and their key products")
    rng = np.random.default_rng(seed)
    X = torch.from_numpy(eigen_tokens("unitary", C.shape[0], T, size, rng, nu))   # (N, T+2, d)
    model = PositionalOnly(torch.from_numpy(C), T)
    opt = torch.optim.LBFGS(model.parameters(), lr=1.0, max_iter=steps, line_search_fn="strong_wolfe",
                            tolerance_grad=1e-12, tolerance_change=1e-14)
    history: list[float] = []

    def closure():
        opt.zero_grad()
        loss = (model(X) - X[:, 2:]).abs().pow(2).sum(-1).mean(0).sum()
        loss.backward()
        history.append(loss.item())
        return loss

    opt.step(closure)
    require_finite(np.array(history), len(history), "L-BFGS", advice="the L-BFGS step (lr = 1) diverged")
    require_parameters_finite(model, len(history), "L-BFGS", 1.0)
    return PositionalFit((model.P * model.mask).detach().numpy(), np.array(history))


@single_threaded
def train_positional_gd(C: Any, n_max: int, nu: float, size: int, lr: float = 0.5, *,
                        stop_loss: float | None = None, steps: int | None = None, seed: Any = 0,
                        max_steps: int = 100000) -> PositionalGDRun:
    """The paper's positional-weight experiment on sampled sequences, in torch (float64 / complex128).

    ``size`` sequences ``x_0..x_{n_max+1}`` (``x_j = λ^j``, ``s_0 = 1``, phases i.i.d. on ``[0, 2π/ν)``,
    drawn once); :class:`model.autoregressive.PositionalOnly` with fixed heads ``C`` starts from
    ``P = 0`` and takes full-batch gradient steps (``torch.optim.SGD``, step ``lr``) on the empirical
    mean over sequences and over the ``n_max`` rows of ``Σ_k |ŝ_{n+1}[k] - x_{n+1}[k]|²``.
    Stopping as :func:`theory.autoregressive.positional_gd_path`: with ``stop_loss``, the loss of the
    current ``P`` is computed, the step is taken, and training stops after the first step whose
    starting loss was below ``stop_loss`` (at most ``max_steps`` steps); with ``steps``, exactly that many.
    Raises :class:`numerics.runtime.TrainingDiverged` naming the step and ``lr`` as soon as the loss or
    ``P`` is not finite.

    Returns a :class:`PositionalGDRun` (``P (n_max, n_max+1)``, steps, losses before each step, tokens).
    """
    C = square_matrix(C)
    n_max = positive_int(n_max, "n_max")
    size = positive_int(size, "size")
    lr = finite_float(lr, "lr", positive=True)
    if (stop_loss is None) == (steps is None):
        raise ValueError(f"stop_loss: give exactly one of stop_loss and steps, got {stop_loss!r}, {steps!r}")
    if stop_loss is not None:
        finite_float(stop_loss, "stop_loss", positive=True)
    limit = positive_int(steps, "steps", minimum=0) if steps is not None else positive_int(max_steps, "max_steps")
    validate.memory(40 * limit, "steps" if steps is not None else "max_steps", f"the loss history of {limit:,} steps")
    validate.memory(3 * 16 * size * (n_max + 2) * C.shape[0] ** 2, validate.largest(size=size, n_max=n_max),
                    f"{size:,} sequences of length {n_max + 2:,} and their key products")
    X = torch.from_numpy(eigen_tokens("unitary", C.shape[0], n_max, size, as_rng(seed, "seed"), nu))  # (N, n_max+2, d)
    model = PositionalOnly(torch.from_numpy(C), n_max)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    history: list[float] = []
    for _ in range(limit):
        loss = (model(X) - X[:, 2:]).abs().pow(2).sum(-1).mean()
        require_finite(loss.item(), len(history) + 1, "SGD", advice=f"lower the learning rate (lr = {lr:g})")
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(loss.item())
        require_parameters_finite(model, len(history), "SGD", lr)
        if stop_loss is not None and history[-1] < stop_loss:
            break
    return PositionalGDRun((model.P * model.mask).detach().numpy().copy(), len(history), np.array(history),
                           X.numpy())


def empirical_positional_grams(X: Any, C: Any, n_max: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The empirical loss of :class:`model.autoregressive.PositionalOnly` on tokens ``X`` as stacked
    quadratics: ``mean_b Σ_k |ŝ_{n+1}[k] - x_{n+1}[k]|² = p_nᵀ Ĝ_n p_n - 2 ĝ_nᵀ p_n + ĉ_n``.

    Row ``n``: features ``F[b, k, j] = x_j[k] Σ_l C_kl conj(x_{n-1}[l]) x_j[l]`` (``j ≤ n``), target
    ``y = x_{n+1}``; ``Ĝ_n = mean_b Re(F^H F)``, ``ĝ_n = mean_b Re(F^H y)``, ``ĉ_n = mean_b ||y||²``.
    ``X``: ``(size, n_max+2, d)`` complex.  Returns ``(Ĝ (n_max, n_max+1, n_max+1), ĝ (n_max, n_max+1),
    ĉ (n_max,))`` padded like :func:`theory.autoregressive.positional_row_grams` (identity on ``j > n``).
    """
    C = square_matrix(C)
    n_max = positive_int(n_max, "n_max")
    X = validate.finite_numeric_array(X, "X")
    if X.ndim != 3 or X.shape[0] < 1 or X.shape[1] < n_max + 2 or X.shape[2] != C.shape[0]:
        raise ValueError(f"X: expected shape (size, {n_max + 2}, {C.shape[0]}), got {X.shape}")
    validate.memory(4 * 16 * X.shape[0] * n_max * (n_max + 1) * C.shape[0], validate.largest(X=X.shape[0], n_max=n_max),
                    f"the features of {X.shape[0]:,} sequences over {n_max:,} rows")
    size, m = X.shape[0], n_max + 1
    keys = X[:, :m]                                                        # (B, m, d)
    scores = raw_token_scores(C, X[:, :n_max], keys[:, None])             # (B, n_max, m, d)
    F = scores * keys[:, None]                                             # F[b, n-1, j, k]
    F = F * (np.arange(m)[None, :] <= np.arange(1, n_max + 1)[:, None])[None, :, :, None]
    y = X[:, 2: n_max + 2]                                                 # (B, n_max, d)
    G = np.einsum("bnjk,bnik->nji", F.conj(), F).real / size
    g = np.einsum("bnjk,bnk->nj", F.conj(), y).real / size
    c = np.sum(np.abs(y) ** 2, axis=(0, 2)) / size
    pad = np.arange(m)[None, :] > np.arange(1, n_max + 1)[:, None]         # (n_max, m): j > n
    G[:, np.arange(m), np.arange(m)] += pad
    return G, g, c


def jackknife_positional_path_se(X: Any, C: Any, n_max: int, lr: float, steps: int,
                                 groups: int = 10) -> float:
    """Delete-a-group jackknife standard error (Frobenius, ``sqrt E||P̂ - E P̂||²``) of the GD path
    ``P̂(steps)`` on the empirical loss of the ``size`` sequences ``X``, as a Monte Carlo estimate of
    the population path :func:`theory.autoregressive.positional_gd_path`.

    ``P̂_{-b}`` is the path on the sequences outside group ``b``;
    ``se² = (B-1)/B · Σ_b ||P̂_{-b} - mean_b P̂_{-b}||²``.
    """
    X = validate.finite_numeric_array(X, "X", ndim=3)
    groups = positive_int(groups, "groups", minimum=2)
    lr = finite_float(lr, "lr", positive=True)
    positive_int(steps, "steps", minimum=0, maximum=validate.MAX_EXACT_FLOAT_INT // 2)
    if X.shape[0] < groups:
        raise ValueError(f"groups: expected at most {X.shape[0]} groups for {X.shape[0]} sequences, got {groups}")
    parts = np.array_split(np.arange(X.shape[0]), groups)
    stats = [empirical_positional_grams(X[idx], C, n_max) for idx in parts]
    Gs, gs, cs = (np.array([st[i] for st in stats]) for i in range(3))   # per-group means
    w = np.array([len(idx) for idx in parts], dtype=np.float64)
    paths = []
    for b in range(groups):
        keep = np.arange(groups) != b
        wk = w[keep] / w[keep].sum()                                        # pooled mean of the other groups
        G, g, c = (np.tensordot(wk, A[keep], axes=1) for A in (Gs, gs, cs))
        paths.append(positional.quadratic_gd_path(G, g, c, lr, steps=steps)[0])
    paths = np.array(paths)
    return float(np.sqrt((groups - 1) / groups * np.sum((paths - paths.mean(0)) ** 2)))
