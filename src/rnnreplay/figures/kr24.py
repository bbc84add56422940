"""KR24's figures: the KL heatmap, decoded position densities, the summary of its metrics."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ..tasks import Task
from .common import _limits, _panel_grid, metric_label, metric_unit, save, stripplot


def kl_heatmap(matrix: pd.DataFrame, path) -> None:
    """KR24's KL heatmap: the mean over seeds of each (quiescent, active) cell, with the number of
    seeds n behind it written in the cell where the cells differ in n (else in the title).

    Args:
        matrix: columns quiescent, active, seed, kl (nats).
        path: output PNG.
    """
    cells = matrix.groupby(["quiescent", "active"], sort=False)["kl"]
    rows, cols = list(dict.fromkeys(matrix["quiescent"])), list(dict.fromkeys(matrix["active"]))
    mean = cells.mean().unstack("active").reindex(index=rows, columns=cols)
    count = cells.count().unstack("active").reindex(index=rows, columns=cols)
    same_n = count.stack().nunique() <= 1
    annot = mean.map(lambda v: "" if pd.isna(v) else f"{v:.2f}")
    if not same_n:
        annot = annot + count.map(lambda n: "" if pd.isna(n) else f"\nn={int(n)}")
    fig, ax = plt.subplots(figsize=(1.3 * mean.shape[1] + 3, 0.55 * mean.shape[0] + 1.6))
    sns.heatmap(mean, annot=annot.values, fmt="", cmap="magma_r", ax=ax, cbar_kws={"label": "KL (nats)"},
                annot_kws={"fontsize": 7})
    ax.set_xlabel("active (network driven by test paths)")
    ax.set_ylabel("quiescent (replay)")
    n_text = f"n = {int(count.max().max())} seeds per cell" if same_n else "n = seeds per cell, in the cell"
    ax.set_title(f"KL(quiescent || active) in nats, mean over seeds ({n_text})")
    save(fig, path)


def _smoothed_density(xy: np.ndarray, extent, bins: int, sigma_bins: float) -> np.ndarray:
    """A 2-D histogram of positions ``xy`` (N, 2) over ``extent`` ((x0, x1), (y0, y1)), smoothed by a
    Gaussian of ``sigma_bins`` bins and normalised to a density (per unit area); (bins, bins), x first."""
    from scipy.ndimage import gaussian_filter

    (x0, x1), (y0, y1) = extent
    xy = xy[np.isfinite(xy).all(axis=1)]
    counts, _, _ = np.histogram2d(xy[:, 0], xy[:, 1], bins=bins, range=[[x0, x1], [y0, y1]])
    smooth = gaussian_filter(counts, sigma_bins, mode="constant")
    area = (x1 - x0) * (y1 - y0) / bins**2
    return smooth / max(smooth.sum() * area, np.finfo(float).tiny)


def density_grid(task: Task, densities: dict[str, tuple[np.ndarray, np.ndarray]], path, bins: int = 60,
                 sigma_bins: float = 1.5) -> None:
    """Active vs quiescent densities of decoded positions (a 2-D histogram smoothed by a Gaussian),
    one row per condition, on one colour scale with one colour bar, axes in the task's unit.

    Args:
        task: a box task (its outline and limits).
        densities: name -> (active (..., 2), quiescent (..., 2)) positions.
        path: output PNG.
        bins: histogram bins per axis.
        sigma_bins: the smoothing Gaussian's standard deviation, in bins.
    """
    names = list(densities)
    (x0, y0), (x1, y1) = _limits(task, margin=0.05)
    extent = ((x0, x1), (y0, y1))
    maps = {(name, label): _smoothed_density(np.asarray(points, dtype=float).reshape(-1, 2), extent, bins, sigma_bins)
            for name in names for points, label in zip(densities[name], ("active", "quiescent"))}
    vmax = max(float(np.quantile(m, 0.995)) for m in maps.values()) or 1.0
    fig, axes = plt.subplots(len(names), 2, figsize=(6.6, 2.9 * len(names) + 0.6), squeeze=False)
    unit = task.length_unit
    for row, name in zip(axes, names):
        for ax, label in zip(row, ("active", "quiescent")):
            image = ax.imshow(maps[(name, label)].T, origin="lower", extent=(x0, x1, y0, y1), cmap="viridis",
                              vmin=0, vmax=vmax, interpolation="bilinear", aspect="equal")
            for line in task.outline():
                ax.plot(line[:, 0], line[:, 1], color="w", lw=0.6, alpha=0.6)
            ax.set_title(f"{name}: {label}", fontsize=8)
            ax.set_xlabel(f"x ({unit})", fontsize=7)
            ax.set_ylabel(f"y ({unit})", fontsize=7)
            ax.tick_params(labelsize=6)
            ax.grid(False)
    fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8, label=f"density (1 / {unit}²; clipped at the "
                                                                     "99.5th percentile)")
    fig.suptitle(f"Decoded position densities (Gaussian-smoothed histogram, σ = {sigma_bins:g} bins of "
                 f"{(x1 - x0) / bins:.2g} {unit})", fontsize=9)
    save(fig, path)


def kr24_summary(table: pd.DataFrame, tasks: list[str], path) -> None:
    """KR24's scalar metrics per (task, variant): one panel per metric, seeds as points.

    Args:
        table: long metrics table (task, variant, seed, metric, value).
        tasks: tasks to include.
        path: output PNG.
    """
    from ..metrics import metric_names

    panels = [(m, m) for m in metric_names(figure="kr24_summary")]
    data = table[table["task"].isin(tasks)].copy()
    data["condition"] = data["task"] + "/" + data["variant"]
    panels = [(m, t) for m, t in panels if (data["metric"] == m).any()]
    fig, axes = _panel_grid(max(1, len(panels)), size=(3.6, 4.0))
    for ax, (metric, _) in zip(axes, panels):
        d = data[data["metric"] == metric]
        order = list(dict.fromkeys(d["condition"]))
        sns.barplot(d, x="condition", y="value", order=order, ax=ax, color="0.8", errorbar=None)
        stripplot(d, x="condition", y="value", order=order, ax=ax, color="C3", size=4)
        if metric == "angular_drift":
            ax.axhline(0, color="0.3", lw=0.8)
        ax.set_title(metric_label(metric), fontsize=9)
        ax.set_xlabel("task/variant")
        ax.set_ylabel(metric_unit(metric))
        ax.tick_params(axis="x", rotation=70, labelsize=7)
    fig.suptitle("KR24 metrics (bars = mean over seeds, points = seeds)")
    fig.tight_layout()
    save(fig, path)
