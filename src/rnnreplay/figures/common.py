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
FIGURE_SEED = 0  # seaborn's random parts (the strip plots' jitter, bootstrap CIs): the same figure every run


def save(fig, path: str | Path) -> None:
    """Save ``fig`` to ``path`` (its suffix picks the format) and, for a .png, a .pdf beside it;
    each written under a temporary name and renamed into place. The PDF carries no creation date,
    so the same figure gives the same bytes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    targets = [path] + ([path.with_suffix(".pdf")] if path.suffix == ".png" else [])
    try:
        for target in targets:
            with atomic_target(target) as tmp:
                metadata = {"CreationDate": None} if target.suffix == ".pdf" else None
                fig.savefig(tmp, dpi=150, bbox_inches="tight", format=target.suffix[1:], metadata=metadata)
    finally:
        plt.close(fig)


def stripplot(*args, **kwargs):
    """``seaborn.stripplot`` with a fixed jitter: seaborn draws it from numpy's global random state,
    which is seeded with :data:`FIGURE_SEED` for the call and restored after."""
    state = np.random.get_state()
    np.random.seed(FIGURE_SEED)
    try:
        return sns.stripplot(*args, **kwargs)
    finally:
        np.random.set_state(state)


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


MAX_COLUMNS = 4  # panels per row, at most
MAX_ASPECT = 2.5  # width / height of a figure, at most (a wider one is unreadable at page width)


def grid_columns(n: int, width: float, height: float, cols: int = MAX_COLUMNS) -> int:
    """Columns for ``n`` panels of ``width`` x ``height`` inches: at most ``cols`` (and 4), the
    figure no wider than :data:`MAX_ASPECT` times its height where possible, and more than one
    column for more than one panel; among those, the fewest empty cells, then the most columns."""
    options = []
    for c in range(1, min(cols, MAX_COLUMNS, max(1, n)) + 1):
        rows = -(-n // c)
        aspect = c * width / (rows * height)
        options.append((aspect <= MAX_ASPECT and (c > 1 or n == 1), -(rows * c - n), c))
    return max(options)[2]


def _panel_grid(n: int, cols: int = MAX_COLUMNS, size: tuple[float, float] = (4.2, 3.3)):
    """A figure with ``n`` panels (each ``size`` inches) in rows of at most ``cols`` (and 4;
    :func:`grid_columns`), unused cells hidden; returns the figure and its first ``n`` axes."""
    cols = grid_columns(n, *size, cols=cols)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(size[0] * cols, size[1] * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    return fig, list(axes.flat[:n])


def _colours(variants) -> dict:
    variants = list(dict.fromkeys(variants))
    return dict(zip(variants, sns.color_palette("tab10", max(1, len(variants)))))


UNIT_TEXT = {"length": "task length unit", "length/step": "length unit / step", "length^2": "length unit²",
             "step": "steps", "nat": "nats", "1": "dimensionless"}


def metric_unit(name: str) -> str:
    """A metric's unit in words (``steps``, ``dimensionless``, ...) from the registry; ``value`` for
    an unregistered one."""
    from ..metrics import METRICS

    metric = METRICS.get(name)
    return UNIT_TEXT.get(metric.units, metric.units) if metric else "value"


def metric_label(name: str) -> str:
    """A metric's panel title with its unit, e.g. ``reach_time (steps)``, from the registry
    (:data:`rnnreplay.metrics.METRICS`); the name alone for an unregistered one."""
    from ..metrics import METRICS

    metric = METRICS.get(name)
    return f"{metric.title} ({UNIT_TEXT.get(metric.units, metric.units)})" if metric else name


def task_grid(n_tasks: int, rows: int = 1, width: float = 3.6, height: float = 3.2, cols: int = 4):
    """Axes for ``n_tasks`` tasks, each a column of ``rows`` panels, at most ``cols`` (and 4) tasks
    side by side (:func:`grid_columns`; further tasks wrap into a new band of rows; unused cells hidden). Returns the figure and an
    array (rows, n_tasks) of axes: ``axes[r, i]`` is task i's r-th panel."""
    n = max(1, n_tasks)
    cols = grid_columns(n, width, height * rows, cols=cols)
    bands = -(-n // cols)
    fig, grid = plt.subplots(rows * bands, cols, figsize=(width * cols, height * rows * bands), squeeze=False)
    axes = np.empty((rows, n), dtype=object)
    for i in range(n):
        for r in range(rows):
            axes[r, i] = grid[(i // cols) * rows + r, i % cols]
    used = {id(a) for a in axes.flat}
    for ax in grid.flat:
        if id(ax) not in used:
            ax.axis("off")
    return fig, axes
