"""Figures of replay itself: example trajectories, head-direction replay, place-cell space, the
metrics per variant and the momentum sweep."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ..tasks import Task
from .common import FIGURE_SEED, _draw_outline, _limits, _panel_grid, metric_label, metric_unit, save, stripplot


def replay_examples(task: Task, replays: dict[str, np.ndarray], path, n_show: int = 4) -> None:
    """Example replay trajectories, one panel per variant.

    Args:
        task: the task (for its outline).
        replays: variant -> decoded positions (B, T, 2) of one seed.
        path: output PNG (a PDF is written beside it).
        n_show: trajectories drawn per panel.
    """
    names = list(replays)
    fig, axes = _panel_grid(len(names), size=(3.0, 3.0))
    colours = sns.color_palette("viridis", n_show)
    for ax, name in zip(axes, names):
        if task.space_dim == 1:  # headings: angle against step
            for i, c in enumerate(colours[: len(replays[name])]):
                ax.plot(replays[name][i, :, 0], ".", color=c, ms=0.8)
            ax.set_ylim(-np.pi, np.pi)
            ax.set_xlabel("replay step")
            ax.set_ylabel(f"heading ({task.length_unit})")
            ax.set_title(name)
            continue
        _draw_outline(ax, task)
        for i, c in enumerate(colours[: len(replays[name])]):
            xy = replays[name][i]
            ax.plot(xy[:, 0], xy[:, 1], color=c, lw=0.6, alpha=0.8)
            ax.plot(*xy[0], "o", color=c, ms=3)
        ax.set_title(name)
        ax.set_xlabel(f"x ({task.length_unit})")
        ax.set_ylabel(f"y ({task.length_unit})")
        ax.set_aspect("equal")
        (x0, y0), (x1, y1) = _limits(task)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
    fig.suptitle(f"{task.name}: decoded replay, {n_show} trajectories per variant (dot = start)")
    save(fig, path)


def metrics_by_variant(table: pd.DataFrame, task: str, metrics: list[str], path) -> None:
    """One panel per metric: seeds as points, mean with a 95% bootstrap CI per variant.

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
        stripplot(d, x="variant", y="value", order=order, ax=ax, color="0.4", size=4, alpha=0.7)
        sns.pointplot(d, x="variant", y="value", order=order, ax=ax, errorbar=("ci", 95), seed=FIGURE_SEED,
                      color="C3", linestyle="none", markers="_", markersize=14, capsize=0.2)
        ax.set_title(metric)
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.tick_params(axis="x", rotation=60)
    for ax in axes.flat[len(metrics):]:
        ax.axis("off")
    fig.suptitle(f"{task}: metrics per variant (points = seeds, red = mean ± 95% bootstrap CI)")
    fig.tight_layout()
    save(fig, path)


def momentum_sweep(table: pd.DataFrame, friction: dict[str, float], metrics: list[str], path) -> None:
    """Metrics against the momentum friction lambda_v, one line per task (mean over seeds with a
    95% bootstrap CI), at most 4 panels per row and one legend. A task with a single lambda_v among
    the sweep's variants has no line to draw and is left out (named in the title).

    Args:
        table: long table (task, variant, seed, metric, value).
        friction: variant name -> its lambda_v.
        metrics: metrics to show, one panel each.
        path: output PNG.
    """
    data = table[table["variant"].isin(friction) & table["metric"].isin(metrics)].copy()
    data["lambda_v"] = data["variant"].map(friction)
    swept = data.groupby("task")["lambda_v"].nunique()
    alone = sorted(swept.index[swept < 2])
    data = data[~data["task"].isin(alone)]
    tasks = list(dict.fromkeys(data["task"]))
    palette = dict(zip(tasks, sns.color_palette(n_colors=max(1, len(tasks)))))
    fig, axes = _panel_grid(len(metrics), size=(3.6, 3.1))
    for ax, metric in zip(axes, metrics):
        sns.lineplot(data[data["metric"] == metric], x="lambda_v", y="value", hue="task", hue_order=tasks,
                     palette=palette, marker="o", errorbar=("ci", 95), seed=FIGURE_SEED, ax=ax, legend=False)
        ax.invert_xaxis()
        ax.set_title(metric_label(metric))
        ax.set_xlabel("friction λ_v (1 = no momentum)")
        ax.set_ylabel(metric_unit(metric))
    handles = [plt.Line2D([], [], color=palette[t], marker="o", label=t) for t in tasks]
    fig.legend(handles=handles, loc="lower center", ncol=min(6, max(1, len(tasks))), fontsize=8, frameon=False)
    n = data.groupby(["task", "variant"])["seed"].nunique()
    seeds = f"n = {n.min()}–{n.max()} seeds per point" if len(n) and n.min() != n.max() else \
        f"n = {n.max() if len(n) else 0} seeds per point"
    left_out = f"; left out (one λ_v only): {', '.join(alone)}" if alone else ""
    fig.suptitle(f"Momentum sweep (mean ± 95% bootstrap CI over seeds, {seeds}{left_out})")
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    save(fig, path)


def heading_ring(replays: dict[str, np.ndarray], path, n_show: int = 4) -> None:
    """Head-direction replay: decoded heading against step, and its unwrapped mean drift.

    Args:
        replays: name -> headings (B, T, 1) in rad.
        path: output PNG.
        n_show: trajectories drawn per panel.
    """
    names = list(replays)
    fig, axes = plt.subplots(2, len(names), figsize=(3.2 * len(names), 5.6), squeeze=False)
    colours = sns.color_palette("viridis", n_show)
    for col, name in enumerate(names):
        theta = replays[name][..., 0]
        for i, c in enumerate(colours[: len(theta)]):
            axes[0, col].plot(theta[i], ".", color=c, ms=0.8)
        axes[0, col].set_ylim(-np.pi, np.pi)
        axes[0, col].set_title(name, fontsize=9)
        unwrapped = np.unwrap(theta, axis=1) - theta[:, :1]
        steps = np.arange(1, theta.shape[1] + 1)
        axes[1, col].plot(steps, unwrapped[:n_show].T, lw=0.6, color="0.6")
        axes[1, col].plot(steps, unwrapped.mean(0), color="C3", lw=1.5, label="mean")
        axes[1, col].axhline(0, color="0.3", lw=0.8)
        axes[1, col].set_xlabel("replay step")
        drift = float(np.mean(np.diff(unwrapped, axis=1)))
        axes[1, col].set_title(f"drift {drift:+.4f} rad/step", fontsize=8)
    axes[0, 0].set_ylabel("heading (rad)")
    axes[1, 0].set_ylabel("unwrapped change (rad)")
    fig.suptitle("Head-direction replay (counter-clockwise = up)")
    fig.tight_layout()
    save(fig, path)


def code_space(task: Task, replays: dict[str, tuple[np.ndarray, np.ndarray]], true_code: np.ndarray, path,
               n_show: int = 3) -> None:
    """Replay in decoded position and in place-cell space (first two principal components of
    the true code).

    Args:
        task: the box task (outline).
        replays: name -> (decoded positions (B, T, 2), readout (B, T', C)).
        true_code: (P, T'', C) place-cell code of real paths (defines the PCA, drawn in grey).
        path: output PNG.
        n_show: trajectories per panel.
    """
    flat = true_code.reshape(-1, true_code.shape[-1])
    mean = flat.mean(0)
    _, _, vt = np.linalg.svd(flat[:: max(1, len(flat) // 5000)] - mean, full_matrices=False)
    project = lambda c: (c - mean) @ vt[:2].T  # noqa: E731
    names = list(replays)
    fig, axes = plt.subplots(len(names), 2, figsize=(6, 2.8 * len(names)), squeeze=False)
    colours = sns.color_palette("viridis", n_show)
    ref = project(flat[:: max(1, len(flat) // 3000)])
    (x0, y0), (x1, y1) = _limits(task)
    for row, name in zip(axes, names):
        position, readout = replays[name]
        _draw_outline(row[0], task)
        row[1].plot(ref[:, 0], ref[:, 1], ".", color="0.85", ms=1)
        for i, c in enumerate(colours[: len(position)]):
            row[0].plot(position[i, :, 0], position[i, :, 1], color=c, lw=0.5)
            pc = project(readout[i])
            row[1].plot(pc[:, 0], pc[:, 1], color=c, lw=0.6)
        row[0].set_xlim(x0, x1)
        row[0].set_ylim(y0, y1)
        row[0].set_aspect("equal")
        row[0].set_title(f"{name}: decoded position", fontsize=8)
        row[1].set_title(f"{name}: place-cell space (PC1, PC2)", fontsize=8)
    fig.tight_layout()
    save(fig, path)
