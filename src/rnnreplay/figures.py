"""Figures (seaborn/matplotlib), each saved as PNG and PDF atomically."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from .io import atomic_target  # noqa: E402
from .tasks import Task  # noqa: E402

sns.set_theme(context="paper", style="whitegrid")


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


def replay_examples(task: Task, replays: dict[str, np.ndarray], path, n_show: int = 4) -> None:
    """Example replay trajectories, one panel per variant.

    Args:
        task: the task (for its outline).
        replays: variant -> decoded positions (B, T, 2) of one seed.
        path: output PNG (a PDF is written beside it).
        n_show: trajectories drawn per panel.
    """
    names = list(replays)
    cols = min(4, len(names))
    rows = int(np.ceil(len(names) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 3 * rows), squeeze=False)
    colours = sns.color_palette("viridis", n_show)
    for ax, name in zip(axes.flat, names):
        _draw_outline(ax, task)
        for i, c in enumerate(colours[: len(replays[name])]):
            xy = replays[name][i]
            ax.plot(xy[:, 0], xy[:, 1], color=c, lw=0.6, alpha=0.8)
            ax.plot(*xy[0], "o", color=c, ms=3)
        ax.set_title(name)
        ax.set_aspect("equal")
        ax.set_xlim(-1.3, 1.3)
        ax.set_ylim(-1.3, 1.0)
    for ax in axes.flat[len(names):]:
        ax.axis("off")
    fig.suptitle(f"{task.name}: decoded replay, {n_show} trajectories per variant (dot = start)")
    save(fig, path)


def metrics_by_variant(table: pd.DataFrame, task: str, metrics: list[str], path) -> None:
    """One panel per metric: seeds as points, mean with 95% CI (t) per variant.

    Args:
        table: long table with columns task, variant, seed, metric, value.
        task: which task to plot.
        metrics: metric names, in panel order.
        path: output PNG.
    """
    data = table[(table["task"] == task) & table["metric"].isin(metrics)]
    cols = 4
    rows = int(np.ceil(len(metrics) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.2 * rows), squeeze=False)
    order = list(dict.fromkeys(data["variant"]))
    for ax, metric in zip(axes.flat, metrics):
        d = data[data["metric"] == metric]
        sns.stripplot(d, x="variant", y="value", order=order, ax=ax, color="0.4", size=4, alpha=0.7)
        sns.pointplot(d, x="variant", y="value", order=order, ax=ax, errorbar=("ci", 95),
                      color="C3", linestyle="none", markers="_", markersize=14, capsize=0.2)
        ax.set_title(metric)
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.tick_params(axis="x", rotation=60)
    for ax in axes.flat[len(metrics):]:
        ax.axis("off")
    fig.suptitle(f"{task}: metrics per variant (points = seeds, red = mean ± 95% CI)")
    fig.tight_layout()
    save(fig, path)


def momentum_sweep(table: pd.DataFrame, friction: dict[str, float], metrics: list[str], path) -> None:
    """Metrics against the momentum friction lambda_v, one line per task.

    Args:
        table: long table (task, variant, seed, metric, value).
        friction: variant name -> its lambda_v.
        metrics: metrics to show, one panel each.
        path: output PNG.
    """
    data = table[table["variant"].isin(friction) & table["metric"].isin(metrics)].copy()
    data["lambda_v"] = data["variant"].map(friction)
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.4 * len(metrics), 3.2), squeeze=False)
    for ax, metric in zip(axes.flat, metrics):
        sns.lineplot(data[data["metric"] == metric], x="lambda_v", y="value", hue="task",
                     marker="o", errorbar=("ci", 95), ax=ax)
        ax.invert_xaxis()
        ax.set_title(metric)
        ax.set_xlabel("friction λ_v (1 = no momentum)")
        ax.set_ylabel("")
    fig.suptitle("Momentum sweep (mean ± 95% CI over seeds)")
    fig.tight_layout()
    save(fig, path)


def loss_curves(curves: pd.DataFrame, path) -> None:
    """Training loss against step, one panel per task, one line per variant (mean ± CI over seeds).

    Args:
        curves: columns task, variant, seed, step, loss.
        path: output PNG.
    """
    tasks = list(dict.fromkeys(curves["task"]))
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.5 * len(tasks), 3.4), squeeze=False)
    for ax, task in zip(axes.flat, tasks):
        d = curves[curves["task"] == task]
        sns.lineplot(d, x="step", y="loss", hue="variant", errorbar=("ci", 95), ax=ax, lw=1)
        ax.set_yscale("log")
        ax.set_title(task)
    fig.suptitle("Training loss (MSE; mean ± 95% CI over seeds)")
    fig.tight_layout()
    save(fig, path)
