"""Training on Figure 5's task (augmented tokens, W Haar on O(d)): the official model
(:class:`model.official_autoregressive.AugmentedLinearAttentionOfficial`) as the paper trains it, and the
theory's bare layer (:class:`model.autoregressive.AugmentedLinearAttention`: full Q, K, V, no bias, no
LayerNorm, no residual) from a small random initialisation.

As in the official code: a training set and a test set drawn once, Adam at a constant learning rate,
epochs of shuffled batches, the loss ``nn.MSELoss`` of the first d outputs against ``s_{t+1}`` at every
position ``t = 0..T-1`` (squared norm / d, mean over positions).  Training runs in float32 on one thread
(the fast path); the test losses are evaluated in float64 on a float64 copy of the trained model.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from model.autoregressive import AugmentedLinearAttention, check_tensor
from model.official_autoregressive import AugmentedLinearAttentionOfficial
from numerics.haar_references import START_LAWS, block_structure, haar_sequences
from numerics.runtime import require_finite, single_thread, training_device
from theory import validate
from theory.validate import choice, positive_int

__all__ = ["MODELS", "HaarTrainingConfig", "HaarTrainingRun", "bare_layer_predictions", "train_on_haar_task",
           "official_attention_structure"]

MODELS = ("official", "bare")


@dataclass(frozen=True)
class HaarTrainingConfig:
    """Every knob of one run (Figure 5's official values as defaults)."""

    model: str = "official"
    d: int = 5
    T: int = 50                      # sequences s_0..s_T, T positions
    law: str = "fixed"               # s_0: 'fixed' (1..1)/√d or 'sphere'
    train_size: int = 2 ** 14
    test_size: int = 2 ** 10
    epochs: int = 200
    batch: int = 1024
    lr: float = 1e-2
    init_scale: float = 1e-2         # bare layer only (the official model uses PyTorch's default init)
    seed: int = 0
    device: str = "cpu"              # where the float32 training runs ('cpu' or 'cuda'); tests stay float64 on CPU

    def __post_init__(self) -> None:
        choice(self.model, "model", MODELS)
        training_device(self.device)
        choice(self.law, "law", START_LAWS)
        for name in ("d", "T", "train_size", "test_size", "epochs", "batch"):
            positive_int(getattr(self, name), name)
        if self.test_size < 2:
            raise ValueError(f"test_size: expected at least 2 test sequences (a standard error), got {self.test_size}")
        validate.finite_float(self.lr, "lr", positive=True)
        validate.finite_float(self.init_scale, "init_scale", nonnegative=True)
        validate.seed(self.seed)
        # the training and test sets (drawn with their Haar matrices) and the model, before any draw
        validate.memory(8.0 * 4 * (self.train_size + self.test_size) * self.d * (self.d + self.T + 1)
                        + 8.0 * 6 * (3 * self.d + 1) ** 2,
                        validate.largest(d=self.d * self.d, T=self.T, train_size=self.train_size,
                                         test_size=self.test_size),
                        f"{self.train_size + self.test_size:,} Haar sequences of length {self.T + 1:,} in dimension "
                        f"{self.d:,}")

    @property
    def steps(self) -> int:
        return self.epochs * -(-self.train_size // self.batch)


@dataclass(frozen=True)
class HaarTrainingRun:
    """A finished run: test MSE (all positions) with its standard error over test sequences, the test MSE by
    position ``(T,)``, the training loss of the last batch of each epoch, the float64 model, seconds."""

    config: HaarTrainingConfig
    test_mse: float
    test_mse_stderr: float
    test_mse_by_position: np.ndarray
    train_history: np.ndarray
    model: torch.nn.Module = field(repr=False)
    seconds: float = 0.0
    test_seqs: np.ndarray = field(default=None, repr=False)        # (N, T+1, d) float64
    test_errors: np.ndarray = field(default=None, repr=False)      # (N, T) squared error / d per sequence


def bare_layer_predictions(layer: AugmentedLinearAttention, seqs: torch.Tensor) -> torch.Tensor:
    """The bare layer at the official positions: ``seqs (B, T+1, d)`` -> ``(B, T, d)``, row ``t`` predicting
    ``s_{t+1}`` from tokens ``e_0..e_t`` (``e_0 = (0, s_0, 0)``): the layer's own tokens start at ``e_1``, so
    the sequence is fed with a zero ``s_{-1}`` in front and without its last token."""
    if not isinstance(layer, AugmentedLinearAttention):
        raise ValueError(f"layer: expected an AugmentedLinearAttention, got {validate.short_repr(layer)}")
    check_tensor(seqs, "seqs", (None, None, layer.d), min_length=2)
    padded = torch.cat([torch.zeros_like(seqs[:, :1]), seqs[:, :-1]], dim=1)   # (B, T+1, d): 0, s_0..s_{T-1}
    return layer(padded)


def _predict(model: torch.nn.Module, seqs: torch.Tensor) -> torch.Tensor:
    if isinstance(model, AugmentedLinearAttention):
        return bare_layer_predictions(model, seqs)
    return model(seqs)


def train_on_haar_task(config: HaarTrainingConfig) -> HaarTrainingRun:
    """Draw the training and test sets from ``config.seed``, train, evaluate.  Raises
    :class:`numerics.runtime.TrainingDiverged` when the loss stops being finite."""
    if not isinstance(config, HaarTrainingConfig):
        raise ValueError(f"config: expected a HaarTrainingConfig, got {validate.short_repr(config)}")
    c = config
    rng = np.random.default_rng([c.seed, 17])
    train = torch.from_numpy(haar_sequences(c.d, c.T, c.train_size, c.law, rng)).float()
    test = torch.from_numpy(haar_sequences(c.d, c.T, c.test_size, c.law, rng))
    gen = torch.Generator().manual_seed(int(rng.integers(2 ** 31)))
    if c.model == "official":
        model = AugmentedLinearAttentionOfficial(c.d, generator=gen)
    else:
        model = AugmentedLinearAttention(c.d, init_scale=c.init_scale, generator=gen, dtype=torch.float32)
    device = training_device(c.device)      # initialised on the CPU from the seed, then moved: the same start anywhere
    model, train = model.to(device), train.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=c.lr)
    history = np.zeros(c.epochs)
    start = time.perf_counter()
    with single_thread():
        step = 0
        for epoch in range(c.epochs):
            order = torch.randperm(c.train_size, generator=gen)
            for i in range(0, c.train_size, c.batch):
                x = train[order[i: i + c.batch].to(device)]
                loss = ((_predict(model, x) - x[:, 1:]) ** 2).mean()
                step += 1
                require_finite(loss.item(), step, "Adam", advice=f"lower the learning rate (lr = {c.lr:g})")
                opt.zero_grad()
                loss.backward()
                opt.step()
            history[epoch] = loss.item()
        seconds = time.perf_counter() - start
        model64 = copy.deepcopy(model).to("cpu", torch.float64)
        with torch.no_grad():
            err = ((_predict(model64, test) - test[:, 1:]) ** 2).mean(-1).numpy()     # (N, T): squared norm / d
    per_sequence = err.mean(1)
    return HaarTrainingRun(c, float(per_sequence.mean()), float(per_sequence.std(ddof=1) / np.sqrt(c.test_size)),
                           err.mean(0), history, model64, seconds, test.numpy(), err)


def official_attention_structure(model: AugmentedLinearAttentionOfficial, seqs: torch.Tensor) -> dict:
    """What the official layer's attention does, read off its weights (the bare layer's
    :func:`numerics.haar_references.block_structure`) and, where biases and the residual enter, on ``seqs``
    (B, T+1, d) in the model's dtype.

    - ``weights``: ``block_structure(W_Q, W_K, V_eff)`` with ``V_eff[:d] = R[:d] diag(γ) C O W_V`` (rows d: zero),
      ``C = I - 11ᵀ/D`` the LayerNorm's centring, ``γ`` its gain, ``R`` the readout: the linear map from a value
      token to the prediction, up to the LayerNorm's positive per-token scale (LayerNorm keeps a direction
      and sets the length); ``gd_share_KtQ`` and ``gd_share_V`` are the shares of the blocks the GD
      construction uses.
    - ``score_bias_share = Σ b² / (Σ b² + Σ w²)`` over the causal pairs ``j <= t``, splitting each score into
      its weight part ``w = e_jᵀ W_Kᵀ W_Q e_t / √D`` and its bias part ``b = score - w``: the share of the
      scores' energy that the biases carry (0: none, 1: the scores ignore the tokens' bilinear form).
    - ``readout_energy``: mean ``||·||²/d`` (MSE units; ``||s_{t+1}||²/d = 1/d``) of the prediction's three
      terms, the skip path ``R[:d] e_t``, the attention branch ``R[:d] n_t`` and the bias ``b_R[:d]``."""
    if not isinstance(model, AugmentedLinearAttentionOfficial):
        raise ValueError(f"model: expected an AugmentedLinearAttentionOfficial, got {validate.short_repr(model)}")
    d = model.d
    with torch.no_grad():
        E, scores, n = model.branches(seqs)                    # (B, T, D), (B, T, T), (B, T, D)
        D = E.shape[2]
        score_w = (E @ model.query.weight.T) @ (E @ model.key.weight.T).transpose(1, 2) / D ** 0.5
        score_w = score_w * torch.tril(torch.ones_like(score_w[0]))  # [t, j] = e_jᵀ W_Kᵀ W_Q e_t / √D, j <= t
        bias_part, weight_part = float(((scores - score_w) ** 2).sum()), float((score_w ** 2).sum())
        total = bias_part + weight_part
        bias_share = bias_part / total if total > 0 else 0.0
        R = model.readout.weight[:d]                           # (d, D)
        centring = torch.eye(D, dtype=R.dtype) - 1.0 / D
        V_eff = torch.zeros(D, D, dtype=R.dtype)
        V_eff[:d] = R @ torch.diag(model.norm.weight) @ centring @ model.out.weight @ model.value.weight
        energy = {"skip": float(((E @ R.T) ** 2).sum(-1).mean()) / d,
                  "attention": float(((n @ R.T) ** 2).sum(-1).mean()) / d,
                  "bias": float((model.readout.bias[:d] ** 2).sum()) / d}
    weights = block_structure(model.query.weight.detach().numpy(), model.key.weight.detach().numpy(),
                              V_eff.numpy(), d)
    return {"weights": weights, "gd_share_KtQ": weights["gd_share_KtQ"], "gd_share_V": weights["gd_share_V"],
            "score_bias_share": bias_share, "readout_energy": energy}
