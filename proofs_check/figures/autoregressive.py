"""The figures of the autoregressive paper (spec 2): raw-token and real-orthogonal minima, positional weights, the
augmented-token map, and Figures 5 and 7 with W Haar on O(d).

Each function takes the data a claim measured and the PNG ``path``; see :mod:`proofs_check.figures`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from theory import positional

from proofs_check.figures.canvas import pyplot, signed_heatmap, write_png

__all__ = ["haar_augmented_loss_by_position", "haar_raw_token_heads", "positional_path_rows_and_spectrum", "positional_weights_rows", "raw_token_minima", "real_orthogonal_minima", "trained_vs_constructed_bars"]


def raw_token_minima(runs: dict[int, dict[str, Any]], d: int, n: int, path: str) -> str:
    """Trained raw-token models against the global minimum ``d - min(H, d)``; PNG at ``path``.

    ``runs[H]``: ``loss``, ``bound`` and the trained ``_A``, ``_B`` (H, d) and ``_p`` (n + 1,).  Top row:
    loss and bound against H, then ``BᵀA`` (d, d) per H; bottom row: ``|loss - bound|`` with the 1e-3
    tolerance, then the positional weights ``p`` per H.
    """
    plt = pyplot()
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
        signed_heatmap(fig, axes[0, i], r["_B"].T @ r["_A"], f"BᵀA, H={H}")
        axes[1, i].bar(range(n + 1), r["_p"]); axes[1, i].set_title(f"positional weights p, H={H}")
        axes[1, i].set_xticks(range(n + 1)); axes[1, i].set_xlabel("key j")
    write_png(fig, path)
    return path


def positional_weights_rows(trained_P: dict[float, tuple[np.ndarray, np.ndarray]], T: int, path: str) -> str:
    """Trained positional rows (crosses) against the closed form ``p* = G⁺g`` (lines), one panel per ν.

    ``trained_P[ν] = (P, P*)``, both (T, T + 1): row ``n - 1`` holds the weights over keys ``0..n``.
    """
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, (nu, (P, Ps)) in zip(axes, trained_P.items()):
        for row in range(T):
            ax.plot(range(row + 2), Ps[row, : row + 2], "o-", label=f"closed form, n={row + 1}")
            ax.plot(range(row + 2), P[row, : row + 2], "x", color="k")
        ax.set_title(f"positional weights, ν = {nu:g} (x: trained)"); ax.set_xlabel("key j")
        ax.set_xticks(range(T + 1))
    axes[0].legend(fontsize=7)
    write_png(fig, path)
    return path


def positional_path_rows_and_spectrum(runs: dict[float, tuple[np.ndarray, np.ndarray, np.ndarray, float, int]],
                                      rows_shown: tuple[int, ...], path: str) -> str:
    """The gradient-descent path of the positional matrix and the part of the Gram spectrum it reaches.

    ``runs[ν] = (P closed-form path (n_max, n_max + 1), P torch, eigenvalues of G_{n_max} ascending,
    κ, steps t)``.  Top: rows ``n ∈ rows_shown`` of the closed-form path (lines) and of torch (crosses);
    bottom: the eigenvalues λ_i (descending) with the line ``1/(κt)`` and the kept fraction
    ``1 - (1 - κλ_i)^t`` (:func:`theory.positional.gd_spectral_filter`) on a twin axis.
    """
    plt = pyplot()
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
    write_png(fig, path)
    return path


def real_orthogonal_minima(rows: list[dict[str, Any]], path: str) -> str:
    """Real orthogonal contexts: losses against ``d - 2 min(H, d/2)`` (and the unitary ``d - min(H, d)``).

    ``rows``: per ``(d, H, n)``, the ``constructed`` minimiser's loss, the ``best_bfgs`` and the
    ``lowest_random`` losses; one panel per ``d``.
    """
    plt = pyplot()
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
    write_png(fig, path)
    return path


def trained_vs_constructed_bars(rows: list[dict[str, Any]], title: str, path: str) -> str:
    """Per setting: ``L*`` of the best one GD step, the trained full Q, K, V (mean ± 95% CI, runs as dots)
    and the best preconditioned ``B G_t A s_t``, as grouped bars of the population loss."""
    plt = pyplot()
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
    write_png(fig, path)
    return path


def haar_raw_token_heads(data: dict[str, Any], path: str) -> str:
    """Figure 7 (raw tokens, Haar W): every head's positional softmax mass on the last key and the one before
    (at the last query), the |cos| histogram of distinct heads' value maps trained against initialisation,
    the test loss by position against in-context least squares, and the all-positions loss against the
    references (zero predictor, in-context LS, commuting minimum, commuting construction on Haar W)."""
    plt = pyplot()
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
    write_png(fig, path)
    return path


def haar_augmented_loss_by_position(data: dict[str, Any], path: str) -> str:
    """Figure 5: test MSE by position for W Haar on O(d), augmented tokens: one GD step with the best step per
    position and with one shared step, the best preconditioned B G_t A s_t, the trained bare layer and (when
    measured) the trained official model."""
    plt = pyplot()
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
    write_png(fig, path)
    return path
