"""The figures of the causal-structure paper (spec 1): training runs, the count estimator, Figures 2, 5-7 and 9.

Each function takes the data a claim measured and the PNG ``path``; see :mod:`proofs_check.figures`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from proofs_check.figures.canvas import integer_ticks_on_images, pyplot, signed_heatmap, write_png

__all__ = ["architecture_gap_bars", "disentangled_budget_curve", "disentangled_graph_panels", "excess_over_count_estimator", "layer1_attention_maps", "official_bayes_offsets", "parent_weight_by_position_band", "training_summary", "two_parent_heads"]


def training_summary(run: Any, path: str, gradient: np.ndarray | None = None,
                     mi: np.ndarray | None = None) -> str:
    """The summary of a :class:`numerics.train_reduced.ReducedRun`; PNG at ``path``, returns ``path``.

    Panels: the layer-1 attention ``softmax(A1)`` (T, T); the true adjacency (row i, column p(i)); ``A2``
    (S, S); the test loss over the steps (stage 2 counted after the last stage-1 step) with the count
    estimator's and the induction-head reference's losses; and, when ``gradient`` (T, T) and ``mi`` (n, n)
    are given, ``-g[i, j]`` against the χ² mutual information ``I(x_i; x_j)`` over ``j < i < n``.
    """
    plt = pyplot()
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
    integer_ticks_on_images(fig)
    write_png(fig, path)
    return path


def layer1_attention_maps(panels: list[tuple[str, np.ndarray, Any]], path: str,
                          curve: tuple[list[float], list[float], float] | None = None) -> str:
    """Layer-1 attention maps with the true parents marked, optionally a loss curve; PNG at ``path``.

    ``panels``: ``(title, attention (T, T), graph)`` per map; every ``(i, j)`` with
    ``j ∈ p(i)`` is circled in red.  ``curve``: ``(steps, test losses, count
    estimator's loss)`` for a last panel.
    """
    plt = pyplot()
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
    integer_ticks_on_images(fig)
    write_png(fig, path)
    return path


def excess_over_count_estimator(rows: list[dict[str, Any]], slope: float, slope_se: float, S: int,
                                path: str) -> str:
    """The ideal induction head's mean excess cross-entropy over the count estimator against ``n`` (log-log).

    ``rows``: per context length, ``n`` and the mean and standard error of the excess on the sequences whose
    query is seen as a parent (``seen``), on the others (``unseen``) and on all; 95% error bars; the dashed
    line is the weighted fit ``∝ n^slope`` through the geometric means of the ``seen`` points.
    """
    plt = pyplot()
    n = np.array([r["n"] for r in rows], dtype=np.float64)
    fig, ax = plt.subplots(figsize=(6, 4))
    for key, label in (("seen", "query seen as a parent"), ("unseen", "query unseen"), ("all", "all")):
        ax.errorbar(n, [r[key] for r in rows], yerr=[1.96 * r[key + "_stderr"] for r in rows],
                    marker="o", capsize=3, label=label)
    seen = np.array([r["seen"] for r in rows])
    anchor = np.exp(np.mean(np.log(seen)) - slope * np.mean(np.log(n)))
    ax.plot(n, anchor * n ** slope, "k--", label=f"fit: slope {slope:.2f} ± {1.96 * slope_se:.2f} (< 0 claimed)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("context length n")
    ax.set_ylabel("excess over count estimator (nats)")
    ax.set_title(f"ideal induction head vs count estimator (S = {S}), 95% CI")
    ax.legend(fontsize=8)
    write_png(fig, path)
    return path


def disentangled_budget_curve(attention: np.ndarray, graph: Any, rows: list[dict[str, Any]], estimator_loss: float,
                              slope: float, intercept: float, paper_sequences: int, path: str) -> str:
    """Layer-1 attention of the largest budget with the true parents circled, beside the held-out loss
    and its gap to the count estimator against sequences seen (log axes; 95% error bars).

    ``rows``: per budget, ``sequences``, ``test_loss``, ``gap`` and ``gap_stderr``; the dashed line is the
    fitted gap ``exp(intercept)·sequences^slope`` extended to the paper's budget (dotted vertical line),
    the horizontal lines are the count estimator's loss and the 0.02-nat target.
    """
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    ax = axes[0]
    im = ax.imshow(attention, cmap="viridis", vmin=0, vmax=1)
    r, c = np.nonzero(graph.adjacency())
    ax.scatter(c, r, s=30, facecolors="none", edgecolors="red", linewidths=0.8, label="true parent")
    ax.set_title("layer-1 attention (largest budget, test average)", fontsize=9)
    ax.set_xlabel("j (key)")
    ax.set_ylabel("i (query position)")
    ax.legend(loc="upper right", fontsize=7)
    fig.colorbar(im, ax=ax, fraction=0.046)
    ax = axes[1]
    x = np.array([row["sequences"] for row in rows], dtype=np.float64)
    ax.plot(x, [row["test_loss"] for row in rows], "o-", label="test loss")
    ax.axhline(estimator_loss, color="k", ls="--", lw=0.8, label=f"count estimator ({estimator_loss:.3f})")
    ax.errorbar(x, [row["gap"] for row in rows], yerr=[1.96 * row["gap_stderr"] for row in rows], marker="s",
                capsize=3, label="gap to the count estimator")
    grid = np.geomspace(x.min(), max(x.max(), paper_sequences), 50)
    ax.plot(grid, np.exp(intercept) * grid ** slope, "C1--", lw=0.8, label=f"fitted gap ∝ N^{slope:.2f}")
    ax.axhline(0.02, color="0.5", ls=":", lw=0.8, label="0.02 nats")
    ax.axvline(paper_sequences, color="0.3", ls=":", label="paper's budget (2^17 x 1,024)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("sequences seen")
    ax.set_ylabel("nats")
    ax.set_title("held-out loss and gap (float64 evaluation)", fontsize=9)
    ax.legend(fontsize=7)
    integer_ticks_on_images(fig)
    write_png(fig, path)
    return path


__all__.append("disentangled_budget_curve")


def parent_weight_by_position_band(summary: dict[str, Any], path: str) -> str:
    """Figure 9: layer-1 position softmax on the parent, mean ± std over graphs at each position."""
    plt = pyplot()
    by = summary["parent_weight_by_position"]
    pos, mean, std = np.asarray(by["positions"]), np.asarray(by["mean"]), np.asarray(by["std"])
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(pos, mean, marker="o", label=f"mean over {summary['graphs']} random graphs")
    ax.fill_between(pos, np.clip(mean - std, 0, 1), np.clip(mean + std, 0, 1), alpha=0.3, label="± std over graphs")
    ax.plot(pos, 1.0 / (pos + 1), ls="--", color="grey", label="uniform over j <= i")
    ax.set_xlabel("position i (non-root)")
    ax.set_ylabel("softmax weight on p(i)")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"parent weight {summary['parent_weight_mean']:.3f} ± {summary['parent_weight_std']:.3f}")
    ax.legend(fontsize=8)
    write_png(fig, path)
    return path


def official_bayes_offsets(offsets: dict[str, float], stderrs: dict[str, float], path: str) -> str:
    """The published "Bayes" line minus the count estimator, in nats, per graph, with 95% intervals."""
    plt = pyplot()
    names = list(offsets)
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.bar(names, [offsets[k] for k in names], yerr=[1.96 * stderrs[k] for k in names], capsize=4,
           label="published estimator - count estimator")
    ax.axhline(0.0, color="black", lw=0.8, label="the count estimator (offset 0)")
    ax.set_ylabel("cross-entropy offset (nats)")
    ax.set_title("the dashed 'Bayes' line of Figures 2 and 6, as published")
    ax.legend(fontsize=8)
    write_png(fig, path)
    return path


def disentangled_graph_panels(rows: list[dict[str, Any]], path: str) -> str:
    """Figures 2 and 6, one row per graph: layer-1 attention (test average) with the true parents circled,
    layer 2's block reading the parent's token against the query's token, and the test loss against the
    count estimator and the published "Bayes" line."""
    plt = pyplot()
    fig, axes = plt.subplots(len(rows), 3, figsize=(12.6, 3.8 * len(rows)), squeeze=False)
    for (ax_att, ax_a2, ax_loss), r in zip(axes, rows):
        im = ax_att.imshow(r["attention"], cmap="viridis", vmin=0, vmax=1)
        rr, cc = np.nonzero(r["graph"].adjacency())
        ax_att.scatter(cc, rr, s=30, facecolors="none", edgecolors="red", linewidths=0.8, label="true parent")
        ax_att.set_title(f"{r['name']}: layer-1 attention (test average)", fontsize=9)
        ax_att.set_xlabel("j (key)")
        ax_att.set_ylabel("i (query position)")
        ax_att.legend(loc="upper right", fontsize=7)
        fig.colorbar(im, ax=ax_att, fraction=0.046)
        signed_heatmap(fig, ax_a2, r["a2_block"], "A2: query token (rows) x parent's token (cols)")
        ax_loss.plot(r["steps"], r["losses"], marker=".", label="test loss")
        ax_loss.axhline(r["estimator_loss"], color="k", ls="--", label="count estimator")
        ax_loss.axhline(r["published_bayes_loss"], color="tab:red", ls=":", label="'Bayes' as published")
        ax_loss.set_xscale("symlog", linthresh=1)
        ax_loss.set_xlim(left=0)
        ax_loss.set_xlabel("step")
        ax_loss.set_ylabel("cross-entropy (nats)")
        ax_loss.legend(fontsize=7)
    integer_ticks_on_images(fig)
    write_png(fig, path)
    return path


def two_parent_heads(weights: np.ndarray, test_loss: float, one_nn_loss: float, bayes_loss: float,
                     path: str) -> str:
    """Figures 5 and 7: each layer-1 head's weight on the parents (i-1)//2 and i-1 by position, and the
    test loss against the one-NN (previous-token) and two-parent 'Bayes' estimators."""
    plt = pyplot()
    H, T, _ = weights.shape
    fig, axes = plt.subplots(1, H + 1, figsize=(4.4 * (H + 1), 3.6))
    pos = np.arange(2, T)
    for h in range(H):
        ax = axes[h]
        ax.plot(pos, weights[h, 2:, 0], marker=".", label="on (i-1)//2")
        ax.plot(pos, weights[h, 2:, 1], marker=".", label="on i-1")
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("position i")
        ax.set_ylabel("layer-1 weight (test average)")
        ax.set_title(f"head {h}")
        ax.legend(fontsize=7)
    ax = axes[-1]
    ax.bar(["transformer", "one NN", "Bayes"], [test_loss, one_nn_loss, bayes_loss],
           color=["tab:blue", "tab:grey", "black"])
    ax.set_ylabel("held-out cross-entropy (nats)")
    write_png(fig, path)
    return path


def architecture_gap_bars(gaps: dict[str, float], stderrs: dict[str, float], split: dict[str, dict[str, float]],
                          path: str) -> str:
    """Each search's held-out gap to the count estimator (nats, 95% intervals), and the same gaps on the
    sequences whose query occurs as a parent (seen) or not (unseen)."""
    plt = pyplot()
    stages = list(gaps)
    x = np.arange(len(stages))
    fig, ax = plt.subplots(figsize=(6, 3.4))
    ax.bar(x - 0.27, [gaps[s] for s in stages], 0.27, yerr=[1.96 * stderrs[s] for s in stages], capsize=4,
           label="all sequences")
    for k, (subset, values) in enumerate(split.items()):
        ax.bar(x + 0.27 * k, [values[s] for s in stages], 0.27, label=f"query {subset}")
    ax.axhline(0.0, color="black", lw=0.8, label="the count estimator")
    ax.set_xticks(x, stages)
    ax.set_ylabel("held-out loss - count estimator (nats)")
    ax.set_title("the best the disentangled transformer reaches, per search", fontsize=9)
    ax.legend(fontsize=7)
    write_png(fig, path)
    return path
