"""How the training loops run: one torch thread, a progress display, finiteness checks.

Nothing here is mathematics; it is what every trainer in ``numerics`` needs around
its loop, and the one L-BFGS minimisation the fits share (:func:`lbfgs_minimum`).  ``single_thread`` is also used by the autoregressive and augmented
bridges (through ``numerics.threads``, which re-exports it).
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

import numpy as np
import torch

from theory.validate import finite_float, positive_int, short_repr

__all__ = ["MAX_THREADS", "intra_op_threads", "single_thread", "torch_device", "Progress", "progress_lines",
           "ProgressLines", "TrainingDiverged", "require_finite", "require_parameters_finite",
           "lbfgs_minimum", "TRAINING_DEVICES", "training_device"]

# Intra-op threads: far above any machine's cores, low enough that a typo (10**9) is refused by name.
MAX_THREADS = 4096


@contextlib.contextmanager
def intra_op_threads(threads: int) -> Iterator[None]:
    """Run torch on ``threads`` intra-op threads (an integer ``>= 1``), restoring the setting afterwards."""
    threads = positive_int(threads, "threads", maximum=MAX_THREADS)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Run torch on one intra-op thread, restoring the setting afterwards.

    The tensors in these training loops are tiny: extra threads only contend
    (about 10x slower on a busy 2-core machine).
    """
    with intra_op_threads(1):
        yield


def torch_device(device: Any) -> torch.device:
    """``device`` (a name or a ``torch.device``) as a ``torch.device``, refused by name when torch cannot parse it."""
    if isinstance(device, torch.device):
        return device
    if not isinstance(device, str):
        raise ValueError(f"device: expected a device name such as 'cpu' or 'cuda', got {short_repr(device)}")
    try:
        return torch.device(device)
    except (RuntimeError, ValueError):
        raise ValueError(f"device: expected a device name such as 'cpu' or 'cuda', got {device!r}") from None


class Progress:
    """A rich progress bar over ``total`` steps that can be switched off (``enabled=False``), and the
    :class:`ProgressLines` of the same loop (steps of ``batch`` sequences; silent unless
    :func:`progress_lines` is active).

    Use as a context manager and call :meth:`advance` once per step, with the step's loss when the
    loop has one.
    """

    def __init__(self, enabled: bool, description: str, total: int, batch: int = 1):
        self.lines, self.step = ProgressLines(description, total, batch), 0
        self.bar = None
        if enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            self.bar = RichProgress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                    TimeElapsedColumn(), transient=True)
            self.task = self.bar.add_task(description, total=total)

    def __enter__(self) -> "Progress":
        if self.bar is not None:
            self.bar.start()
        return self

    def advance(self, k: int = 1, loss: Any = None) -> None:
        self.step += k
        if self.bar is not None:
            self.bar.advance(self.task, k)
        if loss is not None:
            self.lines.update(self.step, loss)

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.stop()


_PROGRESS_LINES: dict[str, Any] = {"stream": None, "interval": 30.0}


@contextlib.contextmanager
def progress_lines(stream: Any = None, interval: float = 30.0) -> Iterator[None]:
    """While active, long training loops print one line to ``stream`` (default ``sys.stderr``) at most
    every ``interval`` seconds: the steps and sequences seen, the last training loss, the time elapsed
    and the time remaining at the current rate (:class:`ProgressLines`).  The runner turns it on for the
    paper profile."""
    import sys

    if stream is not None and not callable(getattr(stream, "write", None)):
        raise ValueError(f"stream: expected a text stream (an object with a write method) or None, "
                         f"got {short_repr(stream)}")
    interval = finite_float(interval, "interval", nonnegative=True)
    previous = dict(_PROGRESS_LINES)
    _PROGRESS_LINES.update(stream=sys.stderr if stream is None else stream, interval=interval)
    try:
        yield
    finally:
        _PROGRESS_LINES.update(previous)


class ProgressLines:
    """Progress lines of one training loop of ``total`` steps of ``batch`` sequences (silent unless
    :func:`progress_lines` is active).  Call :meth:`update` once per step; it reads the loss only when a
    line is due."""

    def __init__(self, label: str, total: int, batch: int):
        import time

        self.label, self.total, self.batch = label, total, batch
        self.stream, self.interval = _PROGRESS_LINES["stream"], _PROGRESS_LINES["interval"]
        self.start = self.last = time.perf_counter()

    def update(self, step: int, loss: Any) -> None:
        if self.stream is None:
            return
        import time

        now = time.perf_counter()
        if now - self.last < self.interval and step != self.total:
            return
        self.last = now
        elapsed = now - self.start
        remaining = elapsed / max(step, 1) * (self.total - step)
        print(f"{self.label}: step {step:,}/{self.total:,}, {step * self.batch:,} sequences, loss {float(loss):.4f}, "
              f"{elapsed / 60:.1f} min elapsed, {remaining / 60:.1f} min remaining", file=self.stream, flush=True)


class TrainingDiverged(ArithmeticError):
    """A training run produced a non-finite loss or parameter; the message names the step."""


def require_finite(value: Any, step: int, stage: str, what: str = "the loss", advice: str = "lower the learning rate"
                   ) -> None:
    """Raise :class:`TrainingDiverged` naming ``step`` and ``stage`` unless every entry of ``value`` is finite."""
    if not np.all(np.isfinite(value)):
        shown = f" is {float(value)}" if np.ndim(value) == 0 else " is no longer finite"
        raise TrainingDiverged(f"step {step} ({stage}): {what}{shown}; {advice}")


def require_parameters_finite(model: torch.nn.Module, step: int, stage: str, lr: float) -> None:
    """Raise :class:`TrainingDiverged` naming ``step`` and the learning rate ``lr`` unless every parameter of
    ``model`` is finite (called after each optimiser step, before anything reads the parameters)."""
    for name, param in model.named_parameters():
        if not bool(torch.isfinite(param.detach()).all()):
            raise TrainingDiverged(f"step {step} ({stage}): the parameter {name} is no longer finite; "
                                   f"lower the learning rate (lr = {lr:g})")


def lbfgs_minimum(f: Any, x0: torch.Tensor, iters: int, *, tolerance_grad: float = 1e-12,
                  tolerance_change: float = 1e-15, history_size: int = 50) -> tuple[float, torch.Tensor]:
    """``(f(x*), x*)``: torch's L-BFGS with a strong-Wolfe line search from ``x0`` (a float64 tensor, not
    modified), at most ``iters`` iterations, on one thread; ``f`` maps the flat parameter tensor to a
    scalar tensor."""
    if not callable(f):
        raise ValueError(f"f: expected a callable from the parameter tensor to a scalar tensor, got {f!r}")
    if not isinstance(x0, torch.Tensor) or x0.dtype != torch.float64 or x0.ndim != 1 or x0.numel() < 1 \
            or not bool(torch.isfinite(x0).all()):
        raise ValueError(f"x0: expected a finite float64 torch vector, got "
                         f"{getattr(x0, 'dtype', type(x0).__name__)} of shape {tuple(getattr(x0, 'shape', ()))}")
    iters = positive_int(iters, "iters")
    tolerance_grad = finite_float(tolerance_grad, "tolerance_grad", positive=True)
    tolerance_change = finite_float(tolerance_change, "tolerance_change", positive=True)
    history_size = positive_int(history_size, "history_size")
    x = x0.detach().clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1.0, max_iter=iters, line_search_fn="strong_wolfe",
                            tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                            history_size=history_size)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        value = f(x)
        value.backward()
        return value

    with single_thread():
        opt.step(closure)
        with torch.no_grad():
            return float(f(x)), x.detach()


TRAINING_DEVICES = ("cpu", "cuda")


def training_device(device: Any) -> torch.device:
    """The device a float32 training loop runs on: ``"cpu"`` or ``"cuda"`` (refused by name when CUDA is not
    available).  Checks never use it: every trained model is judged on a float64 copy on the CPU."""
    if not isinstance(device, str) or device not in TRAINING_DEVICES:
        raise ValueError(f"device: expected one of {', '.join(map(repr, TRAINING_DEVICES))}, got {short_repr(device)}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device: 'cuda' was asked but CUDA is not available in this torch build or machine; "
                         "use device='cpu'")
    return torch.device(device)
