"""KR24's figures: the KL heatmap, decoded position densities, the summary of its metrics."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ..tasks import Task
from .common import _limits, save


def kl_heatmap(matrix: pd.DataFrame, path) -> None:
    """KR24's KL heatmap.

    Args:
        matrix: columns quiescent, active, seed, kl (nats); mean over seeds is drawn.
        path: output PNG.
    """
    mean = matrix.groupby(["quiescent", "active"], sort=False)["kl"].mean().unstack("active")
    mean = mean.reindex(index=list(dict.fromkeys(matrix["quiescent"])), columns=list(dict.fromkeys(matrix["active"])))
    fig, ax = plt.subplots(figsize=(1.2 * mean.shape[1] + 3, 0.5 * mean.shape[0] + 1.5))
    sns.heatmap(mean, annot=True, fmt=".2f", cmap="magma_r", ax=ax, cbar_kws={"label": "KL (nats)"})
    ax.set_xlabel("active (network driven by test paths)")
    ax.set_ylabel("quiescent (replay)")
    n_seeds = matrix["seed"].nunique()
    ax.set_title(f"KL(quiescent || active), mean over {n_seeds} seed(s)")
    save(fig, path)


def density_grid(task: Task, densities: dict[str, tuple[np.ndarray, np.ndarray]], path, bins: int = 40) -> None:
    """Active vs quiescent 2D histograms of decoded positions, one row per condition.

    Args:
        task: a box task (its outline and limits).
        densities: name -> (active (..., 2), quiescent (..., 2)) positions.
        path: output PNG.
        bins: histogram bins per axis.
    """
    names = list(densities)
    fig, axes = plt.subplots(len(names), 2, figsize=(5.4, 2.6 * len(names)), squeeze=False)
    (x0, y0), (x1, y1) = _limits(task, margin=0.05)
    for row, name in zip(axes, names):
        for ax, points, label in zip(row, densities[name], ("active", "quiescent")):
            xy = np.asarray(points).reshape(-1, 2)
            ax.hist2d(xy[:, 0], xy[:, 1], bins=bins, range=[[x0, x1], [y0, y1]], density=True, cmap="viridis")
            ax.set_aspect("equal")
            ax.set_title(f"{name}: {label}", fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle("Decoded position densities")
    fig.tight_layout()
    save(fig, path)


def kr24_summary(table: pd.DataFrame, tasks: list[str], path) -> None:
    """KR24's scalar metrics per (task, variant): one panel per metric, seeds as points.

    Args:
        table: long metrics table (task, variant, seed, metric, value).
        tasks: tasks to include.
        path: output PNG.
    """
    from ..metrics import METRICS, metric_names

    panels = [(m, METRICS[m].title) for m in metric_names(figure="kr24_summary")]
    data = table[table["task"].isin(tasks)].copy()
    data["condition"] = data["task"] + "/" + data["variant"]
    panels = [(m, t) for m, t in panels if (data["metric"] == m).any()]
    fig, axes = plt.subplots(1, max(1, len(panels)), figsize=(3.4 * max(1, len(panels)), 3.8), squeeze=False)
    for ax, (metric, title) in zip(axes.flat, panels):
        d = data[data["metric"] == metric]
        order = list(dict.fromkeys(d["condition"]))
        sns.barplot(d, x="condition", y="value", order=order, ax=ax, color="0.8", errorbar=None)
        sns.stripplot(d, x="condition", y="value", order=order, ax=ax, color="C3", size=4)
        if metric == "angular_drift":
            ax.axhline(0, color="0.3", lw=0.8)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.tick_params(axis="x", rotation=70, labelsize=7)
    fig.suptitle("KR24 metrics (bars = mean over seeds, points = seeds)")
    fig.tight_layout()
    save(fig, path)
