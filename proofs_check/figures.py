"""Every figure of the proof check: one function per figure, named after what it draws (matplotlib, Agg, PNG).

Each function takes the data a claim measured and the PNG ``path`` last or after the data; a claim hands
``functools.partial(figures.<name>, data...)`` to :class:`proofs_check.registry.Outcome` as its
``figure``, and the report calls it with the path.

Causal-structure paper (spec 1), training:
    ``training_summary``            A1 beside the true parents, A2, the loss curve, -g against χ²-MI
    ``layer1_attention_maps``       layer-1 attention maps with the true parents circled, a loss curve
    ``excess_over_count_estimator`` the induction head's excess over the count estimator against n
    ``parent_weight_by_position_band``  Figure 9: layer-1 position softmax on the parent, by position
    ``official_bayes_offsets``      the published "Bayes" line minus the count estimator, per graph
    ``disentangled_graph_panels``   Figures 2 and 6: attention, layer 2's induction block, loss with both lines
    ``architecture_gap_bars``       the best gap to the count estimator of each search, query seen / unseen
    ``two_parent_heads``            Figures 5 and 7: each head's weight on the two parents, loss against references
Autoregressive paper (spec 2):
    ``raw_token_minima``             trained raw-token loss against d - min(H, d), BᵀA and p per H
    ``positional_weights_rows``      trained positional rows against the closed form p* = G⁺g, per ν
    ``positional_path_rows_and_spectrum``  GD path rows and the Gram spectrum reached, per ν
    ``real_orthogonal_minima``       constructed, BFGS and random losses against d - 2 min(H, d/2)
    ``trained_vs_constructed_bars``  L*, trained full Q, K, V and B G_t A s_t per setting
    ``haar_augmented_loss_by_position``  Figure 5: MSE by position, GD references against trained models
    ``haar_raw_token_heads``         Figure 7: per-head positional mass, head |cos| trained vs init, loss vs references
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from theory import positional

__all__ = ["architecture_gap_bars", "disentangled_graph_panels", "excess_over_count_estimator", "layer1_attention_maps",
           "haar_augmented_loss_by_position", "haar_raw_token_heads", "official_bayes_offsets", "parent_weight_by_position_band",
           "positional_path_rows_and_spectrum",
           "positional_weights_rows", "raw_token_minima", "real_orthogonal_minima", "trained_vs_constructed_bars",
           "training_summary", "two_parent_heads"]


def _pyplot() -> Any:
    """``matplotlib.pyplot`` on the off-screen Agg backend: the one backend set-up of the toolkit's figures."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _integer_ticks_on_images(fig: Any) -> None:
    """Integer ticks on every heatmap of ``fig`` (its indices are positions or tokens)."""
    from matplotlib.ticker import MaxNLocator

    for ax in fig.axes:
        if ax.images:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def _write(fig: Any, path: str) -> None:
    """Tight layout, then the PNG at ``path`` (90 dpi; its folder created), then close ``fig``."""
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=90)
    _pyplot().close(fig)


def _signed_heatmap(fig: Any, ax: Any, M: np.ndarray, title: str) -> None:
    """A signed matrix on a symmetric diverging scale, with a colour bar and integer ticks."""
    from matplotlib.ticker import MaxNLocator

    scale = float(np.abs(M).max()) or 1.0
    im = ax.imshow(M, cmap="RdBu_r", vmin=-scale, vmax=scale)
    ax.set_title(title)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.colorbar(im, ax=ax, fraction=0.046)


# ---------------------------------------------------------------------------
# causal-structure paper: training
# ---------------------------------------------------------------------------

def training_summary(run: Any, path: str, gradient: np.ndarray | None = None,
                     mi: np.ndarray | None = None) -> str:
    """The summary of a :class:`numerics.train_reduced.ReducedRun`; PNG at ``path``, returns ``path``.

    Panels: the layer-1 attention ``softmax(A1)`` (T, T); the true adjacency (row i, column p(i)); ``A2``
    (S, S); the test loss over the steps (stage 2 counted after the last stage-1 step) with the count
    estimator's and the induction-head reference's losses; and, when ``gradient`` (T, T) and ``mi`` (n, n)
    are given, ``-g[i, j]`` against the χ² mutual information ``I(x_i; x_j)`` over ``j < i < n``.
    """
    plt = _pyplot()
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
    _integer_ticks_on_images(fig)
    _write(fig, path)
    return path


def layer1_attention_maps(panels: list[tuple[str, np.ndarray, Any]], path: str,
                          curve: tuple[list[float], list[float], float] | None = None) -> str:
    """Layer-1 attention maps with the true parents marked, optionally a loss curve; PNG at ``path``.

    ``panels``: ``(title, attention (T, T), graph)`` per map; every ``(i, j)`` with
    ``j ∈ p(i)`` is circled in red.  ``curve``: ``(steps, test losses, count
    estimator's loss)`` for a last panel.
    """
    plt = _pyplot()
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
    _integer_ticks_on_images(fig)
    _write(fig, path)
    return path


def excess_over_count_estimator(rows: list[dict[str, Any]], slope: float, slope_se: float, S: int,
                                path: str) -> str:
    """The ideal induction head's mean excess cross-entropy over the count estimator against ``n`` (log-log).

    ``rows``: per context length, ``n`` and the mean and standard error of the excess on the sequences whose
    query is seen as a parent (``seen``), on the others (``unseen``) and on all; 95% error bars; the dashed
    line is the weighted fit ``∝ n^slope`` through the geometric means of the ``seen`` points.
    """
    plt = _pyplot()
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
    _write(fig, path)
    return path


# ---------------------------------------------------------------------------
# autoregressive paper
# ---------------------------------------------------------------------------

def raw_token_minima(runs: dict[int, dict[str, Any]], d: int, n: int, path: str) -> str:
    """Trained raw-token models against the global minimum ``d - min(H, d)``; PNG at ``path``.

    ``runs[H]``: ``loss``, ``bound`` and the trained ``_A``, ``_B`` (H, d) and ``_p`` (n + 1,).  Top row:
    loss and bound against H, then ``BᵀA`` (d, d) per H; bottom row: ``|loss - bound|`` with the 1e-3
    tolerance, then the positional weights ``p`` per H.
    """
    plt = _pyplot()
    fig, axes = plt.subplots(2, 5, figsize=(17, 6))
    heads = list(runs)
    axes[0, 0].plot(heads, [runs[H]["loss"] for H in heads], "o", label="trained loss")
    axes[0, 0].plot(heads, [runs[H]["bound"] for H in heads], "k--", label="d - min(H, d)")
    axes[0, 0].set_xlabel("heads H"); axes[0, 0].set_ylabel("population loss")
    axes[0, 0].set_title(f"trained loss vs bound (d = {d}, n = {n})"); axes[0, 0].legend(fontsize=8)
    axes[1, 0].semilogy(heads, [max(abs(runs[H]["loss"] - runs[H]["bound"]), 1e-16) for H in heads], "o-")
    axes[1, 0].axhline(1e-3, color="k", ls="--", label="tolerance")
    axes[1, 0].set_xlabel("heads H"); axes[1, 0].set_ylabel("|loss - bound|"); axes[1, 0].legend(fontsize=8)
    for i, H in enumerate(runs, start=1):
        r = runs[H]
        _signed_heatmap(fig, axes[0, i], r["_B"].T @ r["_A"], f"BᵀA, H={H}")
        axes[1, i].bar(range(n + 1), r["_p"]); axes[1, i].set_title(f"positional weights p, H={H}")
        axes[1, i].set_xticks(range(n + 1)); axes[1, i].set_xlabel("key j")
    _write(fig, path)
    return path


def positional_weights_rows(trained_P: dict[float, tuple[np.ndarray, np.ndarray]], T: int, path: str) -> str:
    """Trained positional rows (crosses) against the closed form ``p* = G⁺g`` (lines), one panel per ν.

    ``trained_P[ν] = (P, P*)``, both (T, T + 1): row ``n - 1`` holds the weights over keys ``0..n``.
    """
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, (nu, (P, Ps)) in zip(axes, trained_P.items()):
        for row in range(T):
            ax.plot(range(row + 2), Ps[row, : row + 2], "o-", label=f"closed form, n={row + 1}")
            ax.plot(range(row + 2), P[row, : row + 2], "x", color="k")
        ax.set_title(f"positional weights, ν = {nu:g} (x: trained)"); ax.set_xlabel("key j")
        ax.set_xticks(range(T + 1))
    axes[0].legend(fontsize=7)
    _write(fig, path)
    return path


def positional_path_rows_and_spectrum(runs: dict[float, tuple[np.ndarray, np.ndarray, np.ndarray, float, int]],
                                      rows_shown: tuple[int, ...], path: str) -> str:
    """The gradient-descent path of the positional matrix and the part of the Gram spectrum it reaches.

    ``runs[ν] = (P closed-form path (n_max, n_max + 1), P torch, eigenvalues of G_{n_max} ascending,
    κ, steps t)``.  Top: rows ``n ∈ rows_shown`` of the closed-form path (lines) and of torch (crosses);
    bottom: the eigenvalues λ_i (descending) with the line ``1/(κt)`` and the kept fraction
    ``1 - (1 - κλ_i)^t`` (:func:`theory.positional.gd_spectral_filter`) on a twin axis.
    """
    plt = _pyplot()
    k = len(runs)
    fig, axes = plt.subplots(2, k, figsize=(4.2 * k + 0.6, 7.2), squeeze=False)
    for i, (nu, (P, Pt, spectrum, kappa, steps)) in enumerate(runs.items()):
        ax = axes[0, i]
        for n, colour in zip(rows_shown, ("C0", "C1", "C2")):
            if n > P.shape[0]:
                continue
            ax.plot(range(n + 1), P[n - 1, : n + 1], "-", color=colour, label=f"closed-form path, n = {n}")
            ax.plot(range(n + 1), Pt[n - 1, : n + 1], "x", color=colour, ms=4, label=f"torch (sampled), n = {n}")
        ax.axhline(0.0, color="k", lw=0.5)
        ax.set_title(f"ν = {nu:g}: learned rows after {steps} steps")
        ax.set_xlabel("key position j")
        ax.set_ylabel("positional weight P[n, j]")
        ax.legend(fontsize=6)
        ax = axes[1, i]
        order = spectrum[::-1]
        ax.semilogy(np.arange(1, order.size + 1), np.maximum(order, 1e-300), "o-", ms=3,
                    label=f"eigenvalues λ_i of G_{P.shape[0]} (extended precision)")
        ax.axhline(1.0 / (kappa * steps), color="r", ls="--", label="1/(κt): reached by GD")
        ax.set_xlabel("eigen-index i (descending)")
        ax.set_ylabel("λ_i")
        ax.set_title(f"ν = {nu:g}: κ(G) = {order[0] / order[-1]:.2g}")
        twin = ax.twinx()
        twin.plot(np.arange(1, order.size + 1), order * positional.gd_spectral_filter(order, kappa, steps), "s-",
                  color="C3", ms=3, label="kept fraction 1 - (1 - κλ_i)^t")
        twin.set_ylim(-0.05, 1.05)
        twin.set_ylabel("fraction of u_iᵀp* reached")
        lines = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
        labels = ax.get_legend_handles_labels()[1] + twin.get_legend_handles_labels()[1]
        ax.legend(lines, labels, fontsize=6, loc="upper right")
    _write(fig, path)
    return path


def real_orthogonal_minima(rows: list[dict[str, Any]], path: str) -> str:
    """Real orthogonal contexts: losses against ``d - 2 min(H, d/2)`` (and the unitary ``d - min(H, d)``).

    ``rows``: per ``(d, H, n)``, the ``constructed`` minimiser's loss, the ``best_bfgs`` and the
    ``lowest_random`` losses; one panel per ``d``.
    """
    plt = _pyplot()
    ds = sorted({r["d"] for r in rows})
    fig, axes = plt.subplots(1, len(ds), figsize=(4.2 * len(ds), 3.6), squeeze=False)
    for ax, d in zip(axes[0], ds):
        Hs = np.arange(1, d + 2)
        ax.plot(Hs, d - 2 * np.minimum(Hs, d // 2), "-", label="d - 2 min(H, d/2)")
        ax.plot(Hs, d - np.minimum(Hs, d), "--", color="grey", label="unitary d - min(H, d)")
        mine = [r for r in rows if r["d"] == d]
        ax.plot([r["H"] for r in mine], [r["constructed"] for r in mine], "o", label="constructed")
        ax.plot([r["H"] for r in mine], [r["best_bfgs"] for r in mine], "x", color="k", label="best BFGS")
        ax.plot([r["H"] for r in mine], [r["lowest_random"] for r in mine], "v", color="C3",
                label="lowest random point")
        ax.set_xlabel("heads H"); ax.set_ylabel("population loss"); ax.set_title(f"d = {d}")
    axes[0, 0].legend(fontsize=7)
    _write(fig, path)
    return path


def trained_vs_constructed_bars(rows: list[dict[str, Any]], title: str, path: str) -> str:
    """Per setting: ``L*`` of the best one GD step, the trained full Q, K, V (mean ± 95% CI, runs as dots)
    and the best preconditioned ``B G_t A s_t``, as grouped bars of the population loss."""
    plt = _pyplot()
    x = np.arange(len(rows))
    w = 0.27
    fig, ax = plt.subplots(figsize=(max(6.0, 1.6 * len(rows) + 2), 4.2))
    ax.bar(x - w, [r["L_star"] for r in rows], w, color="0.6", label="L*: best one GD step η* G_t s_t")
    ax.bar(x, [r["trained_mean"] for r in rows], w, yerr=[1.96 * r["trained_se"] for r in rows],
           capsize=3, color="tab:blue", label="trained full Q, K, V (mean ± 95% CI)")
    for i, r in enumerate(rows):
        ax.plot([i] * len(r["trained_losses"]), r["trained_losses"], "k.", ms=4)
    ax.bar(x + w, [r["preconditioned"] for r in rows], w, color="tab:orange", label="best B G_t A s_t")
    ax.set_xticks(x)
    ax.set_xticklabels([r["setting"].replace(" s0=", "\ns0=") for r in rows], fontsize=7)
    ax.set_ylabel("population loss E||ŝ_{t+1} - s_{t+1}||²")
    ax.set_xlabel("setting (tokens, d, t, law of s_0)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    _write(fig, path)
    return path


# ---------------------------------------------------------------------------
# causal-structure paper: the headline experiment against a training budget
# ---------------------------------------------------------------------------

def disentangled_budget_curve(attention: np.ndarray, graph: Any, rows: list[dict[str, Any]], estimator_loss: float,
                              slope: float, intercept: float, paper_sequences: int, path: str) -> str:
    """Layer-1 attention of the largest budget with the true parents circled, beside the held-out loss
    and its gap to the count estimator against sequences seen (log axes; 95% error bars).

    ``rows``: per budget, ``sequences``, ``test_loss``, ``gap`` and ``gap_stderr``; the dashed line is the
    fitted gap ``exp(intercept)·sequences^slope`` extended to the paper's budget (dotted vertical line),
    the horizontal lines are the count estimator's loss and the 0.02-nat target.
    """
    plt = _pyplot()
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
    _integer_ticks_on_images(fig)
    _write(fig, path)
    return path


__all__.append("disentangled_budget_curve")


def parent_weight_by_position_band(summary: dict[str, Any], path: str) -> str:
    """Figure 9: layer-1 position softmax on the parent, mean ± std over graphs at each position."""
    plt = _pyplot()
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
    _write(fig, path)
    return path


def official_bayes_offsets(offsets: dict[str, float], stderrs: dict[str, float], path: str) -> str:
    """The published "Bayes" line minus the count estimator, in nats, per graph, with 95% intervals."""
    plt = _pyplot()
    names = list(offsets)
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.bar(names, [offsets[k] for k in names], yerr=[1.96 * stderrs[k] for k in names], capsize=4,
           label="published estimator - count estimator")
    ax.axhline(0.0, color="black", lw=0.8, label="the count estimator (offset 0)")
    ax.set_ylabel("cross-entropy offset (nats)")
    ax.set_title("the dashed 'Bayes' line of Figures 2 and 6, as published")
    ax.legend(fontsize=8)
    _write(fig, path)
    return path


def disentangled_graph_panels(rows: list[dict[str, Any]], path: str) -> str:
    """Figures 2 and 6, one row per graph: layer-1 attention (test average) with the true parents circled,
    layer 2's block reading the parent's token against the query's token, and the test loss against the
    count estimator and the published "Bayes" line."""
    plt = _pyplot()
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
        _signed_heatmap(fig, ax_a2, r["a2_block"], "A2: query token (rows) x parent's token (cols)")
        ax_loss.plot(r["steps"], r["losses"], marker=".", label="test loss")
        ax_loss.axhline(r["estimator_loss"], color="k", ls="--", label="count estimator")
        ax_loss.axhline(r["published_bayes_loss"], color="tab:red", ls=":", label="'Bayes' as published")
        ax_loss.set_xscale("symlog", linthresh=1)
        ax_loss.set_xlim(left=0)
        ax_loss.set_xlabel("step")
        ax_loss.set_ylabel("cross-entropy (nats)")
        ax_loss.legend(fontsize=7)
    _integer_ticks_on_images(fig)
    _write(fig, path)
    return path


def two_parent_heads(weights: np.ndarray, test_loss: float, one_nn_loss: float, bayes_loss: float,
                     path: str) -> str:
    """Figures 5 and 7: each layer-1 head's weight on the parents (i-1)//2 and i-1 by position, and the
    test loss against the one-NN (previous-token) and two-parent 'Bayes' estimators."""
    plt = _pyplot()
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
    _write(fig, path)
    return path


def architecture_gap_bars(gaps: dict[str, float], stderrs: dict[str, float], split: dict[str, dict[str, float]],
                          path: str) -> str:
    """Each search's held-out gap to the count estimator (nats, 95% intervals), and the same gaps on the
    sequences whose query occurs as a parent (seen) or not (unseen)."""
    plt = _pyplot()
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
    _write(fig, path)
    return path


def haar_raw_token_heads(data: dict[str, Any], path: str) -> str:
    """Figure 7 (raw tokens, Haar W): every head's positional softmax mass on the last key and the one before
    (at the last query), the |cos| histogram of distinct heads' value maps trained against initialisation,
    the test loss by position against in-context least squares, and the all-positions loss against the
    references (zero predictor, in-context LS, commuting minimum, commuting construction on Haar W)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 4, figsize=(19, 3.8))
    ax = axes[0]
    order = np.argsort(-(data["mass_last"] + data["mass_prev"]))
    heads = np.arange(len(order))
    ax.bar(heads, data["mass_last"][order], label="last key (j = t)")
    ax.bar(heads, data["mass_prev"][order], bottom=data["mass_last"][order], label="key before (j = t - 1)")
    ax.set_xlabel("head (sorted)")
    ax.set_ylabel("positional softmax mass, last query")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7)
    ax = axes[1]
    bins = np.linspace(0, 1, 41)
    ax.hist(data["cos_init"], bins=bins, alpha=0.6, density=True, label="initialisation")
    ax.hist(data["cos"], bins=bins, alpha=0.6, density=True, label="trained")
    ax.set_xlabel("|cos| of two heads' value maps")
    ax.legend(fontsize=7)
    ax = axes[2]
    t = np.arange(len(data["by_position"]))
    ax.semilogy(t, data["by_position"], label="trained")
    ax.semilogy(t, np.maximum(data["ols_by_position"], 1e-12), label="in-context LS")
    ax.set_xlabel("position t (predicting s_{t+1})")
    ax.set_ylabel("test MSE per coordinate")
    ax.legend(fontsize=7)
    ax = axes[3]
    names = list(data["losses"])
    ax.bar(names, [data["losses"][k] for k in names],
           color=["tab:blue", "tab:grey", "tab:green", "black", "tab:red"][: len(names)])
    ax.set_ylabel("all-positions test MSE per coordinate")
    ax.tick_params(axis="x", labelrotation=30, labelsize=7)
    _write(fig, path)
    return path


def haar_augmented_loss_by_position(data: dict[str, Any], path: str) -> str:
    """Figure 5: test MSE by position for W Haar on O(d), augmented tokens: one GD step with the best step per
    position and with one shared step, the best preconditioned B G_t A s_t, the trained bare layer and (when
    measured) the trained official model."""
    plt = _pyplot()
    pos = np.asarray(data["positions"])
    fig, ax = plt.subplots(figsize=(6.5, 4))
    curves = [("L_gd_by_position", "one GD step, best step per position (exact)", "--"),
              ("L_gd_shared_by_position", f"one GD step, shared η = {data['eta_shared']:.3g} (exact)", ":"),
              ("L_preconditioned_by_position", "best preconditioned B G_t A s_t (Monte Carlo)", "-."),
              ("trained_bare_by_position", "bare layer, trained", "-"),
              ("trained_official_by_position", "official model, trained", "-")]
    for key, label, ls in curves:
        if key in data:
            ax.plot(pos, data[key], ls=ls, label=label)
    ax.axhline(1.0 / data["d"], color="grey", lw=0.8, label="zero predictor")
    ax.set_xlabel("position t (predicting s_{t+1})")
    ax.set_ylabel("MSE (squared norm / d)")
    ax.set_yscale("log")
    ax.set_title(f"W Haar on O({data['d']}), s_0 {data['law']}: augmented tokens")
    ax.legend(fontsize=7)
    _write(fig, path)
    return path
