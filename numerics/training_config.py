"""The settings of a fast training run of spec 1's disentangled transformer, checked once where they enter.

A :class:`TrainingSchedule` is an optimiser with its learning-rate curve (the paper's is the preset
``SCHEDULES["paper"]``); a :class:`FastTrainingConfig` is every other knob of
:func:`numerics.train_disentangled.train_disentangled_fast` (heads, precision, device, threads,
held-out size, evaluation steps, seed...).  Both are frozen and validated in ``__post_init__``
(``ValueError`` naming the field), so the trainer and everything it calls take them as checked.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from numerics.runtime import MAX_THREADS, training_device
from theory import validate

__all__ = ["FastTrainingConfig", "SCHEDULES", "TrainingSchedule"]


@dataclass(frozen=True)
class TrainingSchedule:
    """An optimiser and its learning-rate curve: ``optimizer`` ``"sgd"`` (plain), ``"adam"`` or ``"adamw"``,
    peak ``lr``, ``lr_schedule`` ``"constant"`` or ``"cosine"`` (``lr·(1 + cos(π t/steps))/2`` at
    update ``t = 0..steps-1``, decaying to 0 at ``t = steps``), ``steps`` updates of ``batch`` sequences."""

    optimizer: str
    lr: float
    lr_schedule: str
    steps: int
    batch: int

    def __post_init__(self) -> None:
        validate.choice(self.optimizer, "optimizer", ("sgd", "adam", "adamw"))
        object.__setattr__(self, "lr", validate.finite_float(self.lr, "lr", positive=True))
        validate.choice(self.lr_schedule, "lr_schedule", ("constant", "cosine"))
        object.__setattr__(self, "steps", validate.positive_int(self.steps, "steps"))
        object.__setattr__(self, "batch", validate.positive_int(self.batch, "batch"))

    def learning_rate(self, step: int) -> float:
        """The learning rate of update ``step`` (0-based)."""
        if self.lr_schedule == "constant":
            return self.lr
        return self.lr * 0.5 * (1.0 + math.cos(math.pi * min(step, self.steps) / self.steps))

    @property
    def sequences(self) -> int:
        return self.steps * self.batch


SCHEDULES: dict[str, TrainingSchedule] = {
    # the causal paper's experiment (its JAX code): plain SGD, lr 1, cosine to 0 over 2^17 steps of 1,024
    "paper": TrainingSchedule("sgd", 1.0, "cosine", 2 ** 17, 1024),
    # today's quick settings (causal.train_disentangled_graph, the benchmark)
    "quick": TrainingSchedule("adam", 0.03, "constant", 600, 256),
}


@dataclass(frozen=True)
class FastTrainingConfig:
    """Every setting of :func:`numerics.train_disentangled.train_disentangled_fast` but the graph and the prior.

    ``schedule``: a :class:`TrainingSchedule` with optimiser ``"sgd"`` or ``"adam"`` (a name in
    :data:`SCHEDULES` is looked up); ``heads``: two positive head counts; ``precision``: ``"float32"`` or
    ``"float64"`` (the training step only: every check is float64); ``device``: ``"cpu"`` or ``"cuda"``
    (refused when CUDA is absent); ``threads``: intra-op threads (``None``: ``os.cpu_count()``);
    ``compile``: ``torch.compile`` the step; ``prefetch``: draw the next chunk of batches on a background
    thread (``None``: when ``torch.get_num_threads() > 1`` at run time); ``roots``: ``"stationary"`` or
    ``"uniform"``; ``alpha``: the count estimator's pseudo-count (``None``: the prior's); ``init_noise``:
    Gaussian noise on layer 1 at the start (``None``: ``1e-2`` with several layer-1 heads, else 0);
    ``test_size``: held-out sequences (``>= 2``); ``eval_steps``: ``"log"`` (powers of two and the last
    step) or step counts in ``[1, steps]``; ``seed``; ``progress``: a progress bar.

    Values are normalised on the way in (``heads`` and ``eval_steps`` to tuples of ``int``, ``threads``
    and ``init_noise`` resolved), so two configs that train alike compare equal.
    """

    schedule: TrainingSchedule = SCHEDULES["quick"]
    heads: tuple[int, int] = (1, 1)
    precision: str = "float32"
    device: str = "cpu"
    threads: int | None = None
    compile: bool = False
    prefetch: bool | None = None
    roots: str = "stationary"
    alpha: float | None = None
    init_noise: float | None = None
    test_size: int = 8192
    eval_steps: Any = "log"
    seed: int = 0
    progress: bool = False

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        schedule = self.schedule
        if isinstance(schedule, str):
            schedule = SCHEDULES[validate.choice(schedule, "schedule", tuple(SCHEDULES))]
        if not isinstance(schedule, TrainingSchedule):
            raise ValueError(f"schedule: expected a name in {sorted(SCHEDULES)} or a TrainingSchedule, "
                             f"got {validate.short_repr(schedule)}")
        if schedule.optimizer not in ("sgd", "adam"):
            raise ValueError(f"schedule: expected the optimizer 'sgd' or 'adam' (this trainer's), "
                             f"got {schedule.optimizer!r}")
        put("schedule", schedule)
        heads = tuple(self.heads) if isinstance(self.heads, (tuple, list)) else (self.heads,)
        if len(heads) != 2 or any(isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in heads):
            raise ValueError(f"heads: expected two positive head counts (a two-layer model), got {self.heads!r}")
        put("heads", tuple(int(h) for h in heads))
        validate.choice(self.precision, "precision", ("float32", "float64"))
        training_device(self.device)
        put("threads", (os.cpu_count() or 1) if self.threads is None else validate.positive_int(
            self.threads, "threads", maximum=MAX_THREADS))
        put("compile", validate.boolean(self.compile, "compile"))
        if self.prefetch is not None:
            put("prefetch", validate.boolean(self.prefetch, "prefetch"))
        validate.choice(self.roots, "roots", ("stationary", "uniform"))
        if self.alpha is not None:
            put("alpha", validate.finite_float(self.alpha, "alpha", positive=True))
        put("init_noise", (1e-2 if self.heads[0] > 1 else 0.0) if self.init_noise is None else validate.finite_float(
            self.init_noise, "init_noise", nonnegative=True))
        put("test_size", validate.positive_int(self.test_size, "test_size", minimum=2))
        put("eval_steps", self._checked_eval_steps())
        put("seed", validate.seed(self.seed))
        put("progress", validate.boolean(self.progress, "progress"))

    def _checked_eval_steps(self) -> Any:
        steps = self.eval_steps
        if isinstance(steps, str):
            return validate.choice(steps, "eval_steps", ("log",))
        if not isinstance(steps, (tuple, list, range, np.ndarray)):
            raise ValueError(f"eval_steps: expected 'log' or a sequence of step counts, got {validate.short_repr(steps)}")
        return tuple(validate.positive_int(s, "eval_steps", maximum=self.schedule.steps) for s in steps)

    @classmethod
    def of(cls, schedule: str | TrainingSchedule = "quick", *, steps: int | None = None, batch: int | None = None,
           lr: float | None = None, **settings: Any) -> "FastTrainingConfig":
        """The config of keyword settings: ``schedule`` (a name in :data:`SCHEDULES` or a
        :class:`TrainingSchedule`) with ``steps``, ``batch`` and ``lr`` overriding its fields, and the other
        fields of :class:`FastTrainingConfig` as keywords."""
        if isinstance(schedule, str):
            schedule = SCHEDULES[validate.choice(schedule, "schedule", tuple(SCHEDULES))]
        if not isinstance(schedule, TrainingSchedule):
            raise ValueError(f"schedule: expected a name in {sorted(SCHEDULES)} or a TrainingSchedule, "
                             f"got {validate.short_repr(schedule)}")
        overrides = {name: value for name, value in (("steps", steps), ("batch", batch), ("lr", lr))
                     if value is not None}
        return cls(replace(schedule, **overrides) if overrides else schedule, **settings)

    def eval_marks(self) -> set[int]:
        """The steps after which the model is evaluated: ``eval_steps`` and the last step."""
        steps = self.schedule.steps
        marks = ({2 ** k for k in range(steps.bit_length()) if 2 ** k <= steps} if self.eval_steps == "log"
                 else set(self.eval_steps))
        return marks | {steps}
