"""Figures of the training dynamics (matplotlib, Agg backend, PNG).

``training_summary_figure(run, path)``: A1's layer-1 attention beside the true
adjacency, A2, the test-loss curve with the count estimator's and the
induction-head reference's lines, and (when given) the closed-form initial
gradient against the χ² mutual information per row.
``layer1_attention_figure(panels, path)``: layer-1 attention maps (one per graph or
per head) with the true parents circled, and optionally a test-loss curve.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np


def training_summary_figure(run: Any, path: str, gradient: np.ndarray | None = None,
                            mi: np.ndarray | None = None) -> str:
    """Write the summary PNG of a :class:`numerics.training.ReducedRun` to ``path``; returns ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = 5 if gradient is not None and mi is not None else 4
    fig, axes = plt.subplots(1, panels, figsize=(4.2 * panels, 4))
    n = run.graph.n
    att = run.attention()
    im = axes[0].imshow(att, cmap="viridis", vmin=0, vmax=1)
    axes[0].set_title("layer-1 attention softmax(A1)")
    axes[0].set_xlabel("j")
    axes[0].set_ylabel("i")
    fig.colorbar(im, ax=axes[0], fraction=0.046)
    adjacency = np.zeros_like(att)  # (T, T): the query row n has no parent
    adjacency[:n, :n] = run.graph.adjacency()
    axes[1].imshow(adjacency, cmap="Greys", vmin=0, vmax=1)
    axes[1].set_title(f"true parents (row i, column p(i)), n = {n}")
    axes[1].set_xlabel("j")
    im = axes[2].imshow(run.A2, cmap="RdBu_r", vmin=-np.abs(run.A2).max(), vmax=np.abs(run.A2).max())
    axes[2].set_title("A2")
    fig.colorbar(im, ax=axes[2], fraction=0.046)
    # x axis: training steps, stage 2 counted after the last stage-1 step
    last1 = max((h["step"] for h in run.history if h["stage"] == "stage1"), default=0)
    steps = [h["step"] + (last1 if h["stage"] == "stage2" else 0) for h in run.history]
    axes[3].plot(steps, [h["test_loss"] for h in run.history], label="test loss")
    axes[3].axhline(run.estimator_loss, color="k", ls="--", label="count estimator")
    axes[3].axhline(run.reference_loss, color="C3", ls=":", label="induction-head reference")
    if any(h["stage"] == "stage2" for h in run.history):
        axes[3].axvline(last1, color="grey", lw=0.5)
    axes[3].set_xlabel("step (stage 1, then stage 2)")
    axes[3].set_ylabel("cross-entropy (nats)")
    axes[3].legend(fontsize=7)
    axes[3].set_title("loss (stage 1 | stage 2)")
    if panels == 5:
        lower = np.tril(np.ones_like(gradient, dtype=bool), k=-1)[:n, :n]
        axes[4].scatter(mi[lower], -gradient[:n, :n][lower], s=6)
        axes[4].set_xlabel("χ² mutual information I(x_i; x_j)")
        axes[4].set_ylabel("-g[i, j] (closed form)")
        axes[4].set_title("initial gradient vs χ²-MI")
    _save(fig, path)
    return path


def layer1_attention_figure(panels: list[tuple[str, np.ndarray, Any]], path: str,
                            curve: tuple[list[float], list[float], float] | None = None) -> str:
    """Layer-1 attention maps with the true parents marked, optionally a loss curve; PNG at ``path``.

    ``panels``: ``(title, attention (T, T), graph)`` per map; every ``(i, j)`` with
    ``j ∈ p(i)`` is circled in red.  ``curve``: ``(steps, test losses, count
    estimator's loss)`` for a last panel.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    count = len(panels) + (curve is not None)
    fig, axes = plt.subplots(1, count, figsize=(4.2 * count, 4), squeeze=False)
    axes = axes[0]
    for ax, (title, att, graph) in zip(axes, panels):
        im = ax.imshow(att, cmap="viridis", vmin=0, vmax=1)
        rows, cols = np.nonzero(graph.adjacency())
        ax.scatter(cols, rows, s=30, facecolors="none", edgecolors="red", linewidths=0.8, label="true parent")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("j (key)")
        ax.set_ylabel("i (query position)")
        fig.colorbar(im, ax=ax, fraction=0.046)
    axes[0].legend(loc="upper right", fontsize=7)
    if curve is not None:
        steps, losses, estimator = curve
        ax = axes[-1]
        ax.plot(steps, losses, label="test loss")
        if np.isfinite(estimator):
            ax.axhline(estimator, color="k", ls="--", label="count estimator")
        ax.set_xlabel("step")
        ax.set_ylabel("cross-entropy (nats)")
        ax.set_title("test loss")
        ax.legend(fontsize=7)
    _save(fig, path)
    return path


def _save(fig: Any, path: str) -> None:
    """Integer ticks on every heatmap (indices are positions or tokens), then write the PNG."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    for ax in fig.axes:
        if ax.images:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
