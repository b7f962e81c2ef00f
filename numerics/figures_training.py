"""Figures of the training dynamics (matplotlib, Agg backend, PNG).

``training_summary_figure(run, path)``: A1's layer-1 attention beside the true
adjacency, A2, the test-loss curve with the count estimator's and the
induction-head reference's lines, and (when given) the closed-form initial
gradient against the χ² mutual information per row.
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
    axes[1].imshow(run.graph.adjacency(), cmap="Greys", vmin=0, vmax=1)
    axes[1].set_title(f"true adjacency (n = {n})")
    im = axes[2].imshow(run.A2, cmap="RdBu_r", vmin=-np.abs(run.A2).max(), vmax=np.abs(run.A2).max())
    axes[2].set_title("A2")
    fig.colorbar(im, ax=axes[2], fraction=0.046)
    steps = np.arange(len(run.history))
    axes[3].plot(steps, [h["test_loss"] for h in run.history], label="test loss")
    axes[3].axhline(run.estimator_loss, color="k", ls="--", label="count estimator")
    axes[3].axhline(run.reference_loss, color="C3", ls=":", label="induction-head reference")
    split = next((k for k, h in enumerate(run.history) if h["stage"] == "stage2"), None)
    if split is not None:
        axes[3].axvline(split, color="grey", lw=0.5)
    axes[3].set_xlabel("evaluation")
    axes[3].set_ylabel("cross-entropy (nats)")
    axes[3].legend(fontsize=7)
    axes[3].set_title("loss (stage 1 | stage 2)")
    if panels == 5:
        lower = np.tril(np.ones_like(gradient, dtype=bool), k=-1)[:n, :n]
        axes[4].scatter(mi[lower], -gradient[:n, :n][lower], s=6)
        axes[4].set_xlabel("χ² mutual information I(x_i; x_j)")
        axes[4].set_ylabel("-g[i, j] (closed form)")
        axes[4].set_title("initial gradient vs χ²-MI")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
