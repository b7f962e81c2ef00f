"""Figure 7 of the autoregressive paper: training the official raw-token model on Haar contexts, and the
references it is judged against.

Task (official ``non_augmented.py``): ``s_0 = (1, …, 1)/√d`` fixed, ``s_{t+1} = W s_t`` with ``W`` Haar on
``O(d)`` per sequence; the model reads ``s_0..s_{T-1}`` and predicts ``s_1..s_T``; loss the mean squared error
over all positions and coordinates (per-coordinate units: the zero predictor scores ``E||s||²/d = 1/d``).

References, all per coordinate:

- :func:`commuting_minimum_per_coordinate` — the commuting theory's minimum for real orthogonal contexts,
  ``(d - 2·min(H, ⌊d/2⌋)) / d²`` (the raw-token loss ``d - 2 min(H, ⌊d/2⌋)`` of eigen-coordinates of modulus
  1, i.e. ``||s||² = d``, rescaled to ``||s|| = 1`` and divided by the ``d`` coordinates);
- :func:`commuting_construction_prediction` — the theory's minimiser read in real coordinates: one head per
  rotation plane ``U_m`` (and one on the leftover axis when ``d`` is odd), query ``s_{n-1}``, positional weights
  ``p_n = 1, p_{n-1} = -1/2``: ``ŝ_{n+1} = Σ_m (2/ρ_m²)(⟨s_{n-1}, s_n⟩_m Π_m s_n - ½ ⟨s_{n-1}, s_{n-1}⟩_m Π_m s_{n-1})``
  with ``ρ_m² = ||Π_m s_0||²`` (exact for every block-rotation ``W`` in those planes; on the axis, ``W = ±1``
  gives ``s_{n+1} = s_{n-1}`` exactly);
- :func:`best_cubic_predictor` — the best predictor of the theory's form (a trilinear map of the query
  ``s_{n-1}`` and each key ``s_j``, twice, weighted by positional weights ``p_j``: any number of full heads),
  fitted by alternating least squares (an upper bound on that class's minimum, measured on held-out data);
- :func:`ridge_ar1_predictions` — in-context least squares: ``Ŵ_t = (Σ_{j<t} s_{j+1}s_jᵀ)(Σ_{j<t} s_j s_jᵀ + λI)⁻¹``
  applied to ``s_t`` (exact once ``s_0..s_t`` span ``R^d``);
- the zero predictor.

Training (:func:`train_official_raw_tokens`) runs in float32 on one thread; every evaluation is float64.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from model.official_raw_tokens import OfficialRawTokens, head_maps
from numerics.runtime import Progress, intra_op_threads, require_finite, training_device
from theory import autoregressive as ar
from theory import validate
from theory.validate import finite_float, positive_int

__all__ = ["RawHaarConfig", "haar_raw_dataset", "train_official_raw_tokens", "per_position_mse",
           "commuting_minimum_per_coordinate", "commuting_construction_prediction", "commuting_contexts_with_axis",
           "best_cubic_predictor", "least_squares", "ridge_ar1_predictions", "head_cosines", "positional_mass"]


@dataclass(frozen=True)
class RawHaarConfig:
    """One training run of Figure 7: ``d``, ``heads``, ``T`` predicted positions, ``train``/``test`` sequences
    drawn once, ``epochs`` over the training set in shuffled batches of ``batch``, Adam at ``lr``; ``repeat``
    copies of each token (width ``repeat·d``)."""

    d: int = 5
    heads: int = 64
    T: int = 50
    train: int = 16384
    test: int = 1024
    epochs: int = 200
    batch: int = 1024
    lr: float = 1e-2
    repeat: int = 2

    def __post_init__(self) -> None:
        for name in ("d", "heads", "T", "train", "test", "epochs", "batch", "repeat"):
            positive_int(getattr(self, name), name)
        finite_float(self.lr, "lr", positive=True)
        if self.T > 100:
            raise ValueError(f"T: expected at most 100 positions (the official position table), got {self.T}")
        E = self.repeat * self.d  # the model's parameters and optimiser state (OfficialRawTokens), before any draw
        validate.memory(8.0 * 3 * (3 * self.heads * E * (E + 1) + 100 * E + E * (E + 1) + (E + 1) * self.d),
                        validate.largest(d=self.d * self.d, heads=self.heads,
                                         repeat=self.repeat * self.repeat),
                        f"a raw-token model with d = {self.d:,}, {self.heads:,} heads, width {E:,}")

    @property
    def steps(self) -> int:
        return self.epochs * -(-self.train // self.batch)


def haar_raw_dataset(d: int, T: int, size: int, rng: Any = None) -> np.ndarray:
    """``size`` sequences ``s_0..s_T`` (``(size, T+1, d)``, float64), ``s_0 = 1/√d``, ``W`` Haar on ``O(d)``."""
    d, T, size = positive_int(d, "d"), positive_int(T, "T"), positive_int(size, "size")
    W = ar.haar_orthogonal_contexts(d, size, rng)
    return ar.sequences(W, np.full(d, 1 / np.sqrt(d)), T)


def per_position_mse(pred: Any, target: Any) -> np.ndarray:
    """Mean over sequences and coordinates of ``(ŝ - s)²``, per position: ``(N, T, d) × 2 → (T,)``."""
    pred, target = validate.finite_array(pred, "pred", ndim=3), validate.finite_array(target, "target", ndim=3)
    if pred.shape != target.shape:
        raise ValueError(f"target: expected the shape of pred {pred.shape} (N, T, d), got {target.shape}")
    return ((pred - target) ** 2).mean(axis=(0, 2))


def _planes(d: int) -> list[np.ndarray]:
    """Coordinate planes (0, 1), (2, 3), … and, for odd ``d``, the last axis: index arrays."""
    return [np.arange(2 * m, 2 * m + 2) for m in range(d // 2)] + ([np.array([d - 1])] if d % 2 else [])


def commuting_minimum_per_coordinate(d: int, H: int) -> float:
    """``(d - 2·min(H, ⌊d/2⌋)) / d²``: the real-orthogonal raw-token minimum of
    :func:`theory.autoregressive.raw_token_global_minimum_real_orthogonal` (stated for even ``d``, the leftover
    axis of odd ``d`` counted as unpredicted), in per-coordinate units of unit-norm tokens."""
    d, H = positive_int(d, "d"), positive_int(H, "H")
    return (d - 2 * min(H, d // 2)) / d ** 2


def commuting_contexts_with_axis(d: int, size: int, rng: Any = None) -> np.ndarray:
    """Commuting real orthogonal contexts in the coordinate planes of :func:`commuting_construction_prediction`:
    ``R(θ_1) ⊕ … ⊕ R(θ_{⌊d/2⌋})`` (θ uniform) ``⊕ (±1)`` for odd ``d`` (random sign): ``(size, d, d)``."""
    d, size = positive_int(d, "d"), positive_int(size, "size")
    validate.memory(8.0 * 3 * size * d * d, validate.largest(size=size, d=d * d), f"{size:,} contexts ({d:,}, {d:,})")
    rng = validate.rng(rng)
    W = np.zeros((size, d, d))
    if d >= 2:
        W[:, : 2 * (d // 2), : 2 * (d // 2)] = ar.commuting_orthogonal_contexts(2 * (d // 2), size, rng)[0]
    if d % 2:
        W[:, d - 1, d - 1] = rng.choice([-1.0, 1.0], size=size)
    return W


def commuting_construction_prediction(seqs: Any, heads: int | None = None) -> np.ndarray:
    """The commuting theory's construction in real coordinates (module docstring), one head per block
    (planes first, then the axis) for the first ``heads`` blocks (default all); unused blocks predict 0.

    ``seqs (N, T+1, d)`` → ``(N, T-1, d)``: row ``n-1`` predicts ``s_{n+1}`` from ``s_{n-1}, s_n`` (``n = 1..T-1``);
    ``ρ_m²`` is read from ``s_0``.
    """
    seqs = validate.finite_array(seqs, "seqs")
    if seqs.ndim != 3 or seqs.shape[1] < 3:
        raise ValueError(f"seqs: expected (N, T+1, d) with T >= 2, got {seqs.shape}")
    blocks = _planes(seqs.shape[2])
    heads = len(blocks) if heads is None else positive_int(heads, "heads")
    prev, last = seqs[:, :-2], seqs[:, 1:-1]
    out = np.zeros_like(last)
    rho2s = [np.sum(seqs[:, :1, idx] ** 2, axis=-1, keepdims=True) for idx in blocks[:heads]]
    if any(np.any(rho2 == 0) for rho2 in rho2s):
        raise ValueError("seqs: expected a start s_0 with a nonzero component in every block the heads read "
                         "(the construction divides by ||Π_m s_0||²)")
    for idx, rho2 in zip(blocks[:heads], rho2s):  # at most ⌈d/2⌉ blocks
        qk_last = np.sum(prev[..., idx] * last[..., idx], axis=-1, keepdims=True)
        qk_prev = np.sum(prev[..., idx] ** 2, axis=-1, keepdims=True)
        out[..., idx] = (2 / rho2) * (qk_last * last[..., idx] - 0.5 * qk_prev * prev[..., idx])
    return out


def _cubic_features(seqs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Query ``s_{n-1}`` (N, d) and key monomials ``s_j[m] s_j[o]``, ``m ≤ o`` (N, n+1, K) at the last step."""
    d = seqs.shape[2]
    m, o = np.triu_indices(d)
    keys = seqs[:, :-1]
    return seqs[:, -3], keys[..., m] * keys[..., o]


def least_squares(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``argmin_β ||X β - y||²`` (minimum norm), float64, by LAPACK through torch on one thread (NumPy's
    threaded BLAS pool can take a second for a 256 × 75 solve on a shared 2-core machine)."""
    X = validate.finite_array(X, "X", ndim=2)
    y = validate.finite_array(y, "y")
    if y.ndim not in (1, 2) or y.shape[0] != X.shape[0]:
        raise ValueError(f"y: expected shape ({X.shape[0]},) or ({X.shape[0]}, k) (the rows of X), got {y.shape}")
    with intra_op_threads(1):
        Xt, yt = torch.as_tensor(X, dtype=torch.float64), torch.as_tensor(y, dtype=torch.float64)
        vector = yt.ndim == 1
        beta = torch.linalg.lstsq(Xt, yt[:, None] if vector else yt, driver="gelsd").solution
    return beta[:, 0].numpy() if vector else beta.numpy()


def best_cubic_predictor(train: Any, test: Any, sweeps: int = 30) -> dict[str, Any]:
    """Best ``ŝ_{n+1} = Σ_j p_j Θ(s_{n-1}, s_j ⊗ s_j)`` (``Θ`` linear, ``p ∈ R^{n+1}``) for the last step of
    ``train (N, n+2, d)``, by alternating least squares from the construction's ``p`` (``p_n = 1,
    p_{n-1} = -1/2``); returns the per-coordinate MSE on ``train`` and on ``test`` and ``p``."""
    train, test = validate.finite_array(train, "train"), validate.finite_array(test, "test")
    if train.ndim != 3 or train.shape[1] < 3:
        raise ValueError(f"train: expected (N, T+1, d) sequences with T >= 2, got {train.shape}")
    if train.shape[1:] != test.shape[1:] or test.ndim != 3:
        raise ValueError(f"test: expected the shape (·, T+1, d) of train {train.shape[1:]}, got {test.shape}")
    sweeps = positive_int(sweeps, "sweeps")
    q, y = _cubic_features(train)
    target = train[:, -1]
    p = np.zeros(y.shape[1])
    p[-1], p[-2] = 1.0, -0.5
    for _ in range(sweeps):
        X = np.einsum("nl,nk->nlk", q, np.einsum("j,njk->nk", p, y)).reshape(len(q), -1)
        Theta = least_squares(X, target)                    # (d·K, d)
        F = y @ np.einsum("nl,lkc->nkc", q, Theta.reshape(q.shape[1], y.shape[2], -1))  # (N, n+1, d)
        p = least_squares(F.transpose(0, 2, 1).reshape(-1, len(p)), target.ravel())

    def mse(seqs: np.ndarray) -> float:
        qq, yy = _cubic_features(seqs)
        pred = np.einsum("nl,nk->nlk", qq, np.einsum("j,njk->nk", p, yy)).reshape(len(qq), -1) @ Theta
        return float(np.mean((pred - seqs[:, -1]) ** 2))

    return {"train_mse": mse(train), "test_mse": mse(test), "p": p}


def ridge_ar1_predictions(seqs: Any, ridge: float = 1e-6) -> np.ndarray:
    """In-context ridge least squares: ``(N, T+1, d)`` → ``(N, T, d)``, row ``t`` is
    ``(Σ_{j<t} s_{j+1} s_jᵀ)(Σ_{j<t} s_j s_jᵀ + λ I)⁻¹ s_t`` (``t = 0``: no transition seen, 0)."""
    seqs = validate.finite_array(seqs, "seqs")
    ridge = finite_float(ridge, "ridge", positive=True)
    if seqs.ndim != 3 or seqs.shape[1] < 2:
        raise ValueError(f"seqs: expected (N, T+1, d) with T >= 1, got {seqs.shape}")
    N, T1, d = seqs.shape
    validate.memory(8.0 * 5 * N * T1 * d * d, "seqs", f"the in-context Gram matrices of {N:,} sequences")
    x, nxt = seqs[:, :-1], seqs[:, 1:]
    zero = np.zeros((N, 1, d, d))
    cross = np.concatenate([zero, np.cumsum(np.einsum("nti,ntj->ntij", nxt, x), axis=1)[:, :-1]], axis=1)
    gram = np.concatenate([zero, np.cumsum(np.einsum("nti,ntj->ntij", x, x), axis=1)[:, :-1]], axis=1)
    z = np.linalg.solve(gram + ridge * np.eye(d), x[..., None])
    return (cross @ z)[..., 0]


def head_cosines(maps: Any) -> dict[str, Any]:
    """Normalised Gram of per-head maps ``(H, …)`` (flattened): ``|cos|`` of distinct heads, its max and mean
    (absolute: a head is unchanged by ``(M_h, V_h) → (-M_h, -V_h)``), and the heads' norms."""
    X = validate.finite_array(maps, "maps")
    if X.ndim < 1:
        raise ValueError("maps: expected per-head maps (H, ...), got a scalar")
    X = X.reshape(X.shape[0], -1)
    if len(X) < 2:
        raise ValueError(f"maps: expected at least 2 heads, got {len(X)}")
    norms = np.linalg.norm(X, axis=1)
    if np.any(norms == 0):
        raise ValueError("maps: a head's map is zero; its direction is undefined")
    U = X / norms[:, None]
    cos = np.abs(U @ U.T)[~np.eye(len(X), dtype=bool)]
    return {"max": float(cos.max()), "mean": float(cos.mean()), "values": cos, "norms": norms}


def positional_mass(P: Any, query: int = -1) -> dict[str, np.ndarray]:
    """Per head, at query position ``query``: positional softmax mass on the last key (``j = t``), on the one
    before (``j = t - 1``), their sum and the ratio ``prev / last``; ``P (H, T, T)``."""
    P = validate.finite_array(P, "P")
    if P.ndim != 3 or P.shape[1] != P.shape[2] or P.shape[1] < 2:
        raise ValueError(f"P: expected (H, T, T) with T >= 2, got {P.shape}")
    T = P.shape[1]
    if isinstance(query, bool) or not isinstance(query, (int, np.integer)) or not -T <= query < T:
        raise ValueError(f"query: expected a position in -{T}..{T - 1}, got {validate.short_repr(query)}")
    t = range(T)[query]
    if t < 1:
        raise ValueError(f"query: expected a position with a key before it, got {query}")
    last, prev = P[:, t, t], P[:, t, t - 1]
    return {"last": last, "prev": prev, "last_two": last + prev, "ratio": prev / last}


def _float64_state(model: OfficialRawTokens) -> OfficialRawTokens:
    twin = OfficialRawTokens(model.d, model.heads, model.repeat, model.max_length).double()
    twin.load_state_dict({k: v.to("cpu", torch.float64) for k, v in model.state_dict().items()})
    return twin


def _structure(model: OfficialRawTokens, T: int) -> dict[str, Any]:
    with torch.no_grad():
        M, V = head_maps(model)
        P = model.positional_attention(T)
    d = model.d
    return {"P": P.numpy(), "value_maps": V[..., :d].numpy(), "qk_maps": M[:, :d, :d].numpy()}


def train_official_raw_tokens(config: RawHaarConfig, train: Any, test: Any, seed: int, threads: int = 1,
                              progress: bool = False, device: str = "cpu") -> dict[str, Any]:
    """Train :class:`OfficialRawTokens` as the official script does (Adam, shuffled epochs, MSE at all
    positions) on ``train (N, T+1, d)`` in float32 on ``device`` (``"cpu"`` or ``"cuda"``); evaluate on
    ``test`` in float64 on the CPU.

    Returns the test MSE (all positions, and per position), the training-loss trace, and the structure at
    initialisation and trained (positional softmax ``P (H, T, T)``, value maps ``(H, E, d)``, query-key maps
    ``(H, d, d)``), plus the largest gap between the vectorised and the literal forward on 8 test sequences
    (float64, trained parameters).
    """
    if not isinstance(config, RawHaarConfig):
        raise ValueError(f"config: expected a RawHaarConfig, got {type(config).__name__}")
    train, test = validate.finite_array(train, "train"), validate.finite_array(test, "test")
    shape = (config.T + 1, config.d)
    for name, data in (("train", train), ("test", test)):
        if data.ndim != 3 or data.shape[1:] != shape or data.shape[0] < 1:
            raise ValueError(f"{name}: expected (N, {config.T + 1}, {config.d}) sequences, got {data.shape}")
    seed = validate.seed(seed)
    threads = positive_int(threads, "threads")
    progress = validate.boolean(progress, "progress")
    dev = training_device(device)
    with intra_op_threads(threads):
        torch.manual_seed(seed)
        model = OfficialRawTokens(config.d, config.heads, config.repeat)
        init = _structure(model, config.T)
        model = model.to(dev)                 # initialised on the CPU from the seed: the same start anywhere
        opt = torch.optim.Adam(model.parameters(), lr=config.lr)
        data = torch.as_tensor(train, dtype=torch.float32).to(dev)
        gen = torch.Generator().manual_seed(seed)
        trace, step, start = [], 0, time.perf_counter()
        with Progress(progress, "Figure 7 (raw tokens, Haar W)", config.steps, config.batch) as bar:
            for epoch in range(config.epochs):
                order = torch.randperm(len(data), generator=gen)
                for lo in range(0, len(data), config.batch):
                    batch = data[order[lo: lo + config.batch].to(dev)]
                    loss = torch.mean((model(batch[:, :-1]) - batch[:, 1:]) ** 2)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    step += 1
                    if step % 16 == 0 or step == config.steps:
                        require_finite(loss.item(), step, "Figure 7 training")
                        trace.append((step, float(loss.item())))
                    bar.advance(loss=loss.detach())
        seconds = time.perf_counter() - start
        twin = _float64_state(model)
        x = torch.as_tensor(test, dtype=torch.float64)
        with torch.no_grad():
            pred = twin(x[:, :-1]).numpy()
            few = x[:8, :-1]
            gap = float((twin(few) - twin.forward_literal(few)).abs().max())
        trained = _structure(twin, config.T)
    by_position = per_position_mse(pred, test[:, 1:])
    return {"test_mse": float(by_position.mean()), "test_mse_by_position": by_position, "trace": trace,
            "init": init, "trained": trained, "vectorised_vs_literal": gap, "seconds": seconds, "steps": step}
