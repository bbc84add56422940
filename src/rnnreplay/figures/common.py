"""Shared helpers of the figures: saving, panel grids, environment outlines, colours."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402

from ..io import atomic_target  # noqa: E402
from ..tasks import Task  # noqa: E402

sns.set_theme(context="paper", style="whitegrid")

VERDICT_COLOURS = {"reproduced": "C2", "not reproduced": "C3", "inconclusive": "0.5", "invalid": "C1"}


def save(fig, path: str | Path) -> None:
    """Save ``fig`` to ``path`` (its suffix picks the format) and, for a .png, a .pdf beside it;
    each written under a temporary name and renamed into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    targets = [path] + ([path.with_suffix(".pdf")] if path.suffix == ".png" else [])
    try:
        for target in targets:
            with atomic_target(target) as tmp:
                fig.savefig(tmp, dpi=150, bbox_inches="tight")
    finally:
        plt.close(fig)


def _draw_outline(ax, task: Task):
    for line in task.outline():
        ax.plot(line[:, 0], line[:, 1], color="0.75", lw=6, solid_capstyle="round", zorder=0)


def _limits(task: Task, margin: float = 0.15):
    """Axis limits ((x0, y0), (x1, y1)) round the task's outline (the T-maze's if none)."""
    lines = task.outline()
    if not lines:
        return (-1.3, -1.3), (1.3, 1.0)
    pts = np.vstack(lines)
    pad = margin * (pts.max(0) - pts.min(0)).max()
    return tuple(pts.min(0) - pad), tuple(pts.max(0) + pad)


def _panel_grid(n: int, cols: int = 4, size: tuple[float, float] = (4.2, 3.3)):
    """A figure with ``n`` panels (each ``size`` inches) in rows of at most ``cols`` (unused cells
    hidden); returns the figure and its first ``n`` axes."""
    cols = min(cols, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(size[0] * cols, size[1] * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    return fig, list(axes.flat[:n])


def _colours(variants) -> dict:
    variants = list(dict.fromkeys(variants))
    return dict(zip(variants, sns.color_palette("tab10", max(1, len(variants)))))
