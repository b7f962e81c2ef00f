"""What every figure of the toolkit shares: pyplot on the off-screen Agg backend, integer ticks on heatmaps, a
signed heatmap on a symmetric scale, and the PNG written at the path the report gives.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

__all__ = ["integer_ticks_on_images", "pyplot", "signed_heatmap", "write_png"]


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the off-screen Agg backend: the one backend set-up of the toolkit's figures."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def integer_ticks_on_images(fig: Any) -> None:
    """Integer ticks on every heatmap of ``fig`` (its indices are positions or tokens)."""
    from matplotlib.ticker import MaxNLocator

    for ax in fig.axes:
        if ax.images:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def write_png(fig: Any, path: str) -> None:
    """Tight layout, then the PNG at ``path`` (90 dpi; its folder created), then close ``fig``."""
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=90)
    pyplot().close(fig)


def signed_heatmap(fig: Any, ax: Any, M: np.ndarray, title: str) -> None:
    """A signed matrix on a symmetric diverging scale, with a colour bar and integer ticks."""
    from matplotlib.ticker import MaxNLocator

    scale = float(np.abs(M).max()) or 1.0
    im = ax.imshow(M, cmap="RdBu_r", vmin=-scale, vmax=scale)
    ax.set_title(title)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.colorbar(im, ax=ax, fraction=0.046)
