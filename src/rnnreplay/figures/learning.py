"""Figures of learning: training loss and path-integration error of every trained network."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from .common import _panel_grid, save


def loss_curves(curves: pd.DataFrame, path) -> None:
    """Training loss against step, one panel per task (at most 4 per row), one line per variant:
    the geometric mean over seeds with a 95% t interval of log loss (a band only with two or more
    seeds). The y axis (log) spans the mean curves and the per-seed losses' 5th to 95th percentile,
    so a spiking seed or a wide interval from few seeds does not flatten the curves; one legend, with each variant's n.

    Args:
        curves: columns task, variant, seed, step, loss.
        path: output PNG.
    """
    from ..stats import mean_ci

    tasks = list(dict.fromkeys(curves["task"]))
    variants = list(dict.fromkeys(curves["variant"]))
    palette = dict(zip(variants, sns.color_palette(n_colors=max(1, len(variants)))))
    fig, axes = _panel_grid(len(tasks))
    labels = {}
    for ax, task in zip(axes, tasks):
        d = curves[curves["task"] == task]
        curve_low, curve_high = np.inf, 0.0
        for variant, v in d.groupby("variant", sort=False):
            colour = palette[variant]
            # geometric mean and a t interval of log loss over seeds at every step, the natural
            # summary on a log axis (a per-step bootstrap, as seaborn draws it, took 90 s for the
            # default run's 95 curves of 600 steps)
            log_loss = np.log(v["loss"].clip(lower=np.finfo(np.float32).tiny)).groupby(v["step"])
            steps = np.array(list(log_loss.groups))
            mean, low, high = np.array([mean_ci(g) for _, g in log_loss]).T
            ax.plot(steps, np.exp(mean), color=colour, lw=1.2)
            curve_low, curve_high = min(curve_low, np.exp(mean).min()), max(curve_high, np.exp(mean).max())
            ax.fill_between(steps, np.exp(low), np.exp(high), color=colour, alpha=0.2, lw=0)
            labels.setdefault(variant, set()).add(v["seed"].nunique())
        last = d["step"].max()
        ax.axvspan(0.8 * last, last, color="0.9", lw=0, zorder=0)  # the plateau criterion's window
        ax.set_yscale("log")
        positive = d["loss"][d["loss"] > 0]
        if len(positive):  # the bulk of the seeds and every mean curve; a spike or a wide band is clipped
            low, high = np.quantile(positive, [0.05, 0.95])
            ax.set_ylim(min(low, curve_low) / 1.5, max(high, curve_high) * 1.5)
        ax.set_xlabel("training step")
        ax.set_ylabel("loss (readout MSE, log axis)")
        ax.set_title(task)
    n_text = lambda ns: f"n={min(ns)}" if len(ns) == 1 else f"n={min(ns)}–{max(ns)}"  # noqa: E731
    handles = [plt.Line2D([], [], color=palette[v], lw=1.5, label=f"{v} ({n_text(labels[v])} seeds)")
               for v in variants if v in labels]
    fig.legend(handles=handles, loc="lower center", ncol=min(5, max(1, len(handles))), fontsize=8, frameon=False)
    fig.suptitle("Training loss: geometric mean over seeds ± 95% t interval of log loss\n(y axis: the mean curves "
                 "and the 5th–95th percentile of per-seed losses; grey: the last fifth, where a converged loss is flat)")
    fig.tight_layout(rect=(0, 0.06 + 0.02 * (len(handles) // 5), 1, 1))
    save(fig, path)


def pi_error(curves: pd.DataFrame, chance: dict[str, float], gate: float | None, units: dict[str, str],
             path) -> None:
    """Path integration of every trained model: decoding error of the network driven by held-out
    paths (the active run) against step, one panel per task, one colour per variant, seeds as thin
    lines and their mean thick; chance (always guessing the mean test position) dashed and the
    learning gate (``gate`` x chance) dotted.

    Args:
        curves: columns task, variant, seed, step, error (the task's length unit; rad for headings).
        chance: task -> chance level (same unit).
        gate: the learning gate's threshold on error / chance (None: not drawn).
        units: task -> length unit, for the axis labels.
        path: output PNG.
    """
    tasks = list(dict.fromkeys(curves["task"]))
    fig, axes = _panel_grid(len(tasks))
    for ax, task in zip(axes, tasks):
        d = curves[curves["task"] == task]
        for colour, (variant, v) in zip(sns.color_palette(n_colors=d["variant"].nunique()),
                                        d.groupby("variant", sort=False)):
            for _, seed in v.groupby("seed"):
                ax.plot(seed["step"], seed["error"], color=colour, lw=0.5, alpha=0.5)
            mean = v.groupby("step")["error"].mean()
            ax.plot(mean.index, mean.values, color=colour, lw=1.8, label=variant)
        ax.axhline(chance[task], color="0.3", ls="--", lw=1, label="chance")
        if gate is not None:
            ax.axhline(gate * chance[task], color="C3", ls=":", lw=1.2, label=f"gate ({gate:g} x chance)")
        ax.set_ylim(0, 1.6 * chance[task])
        ax.set_xlabel("step of the held-out path")
        ax.set_ylabel(f"decoding error ({units[task]})")
        ax.set_title(task)
        ax.legend(fontsize=6)
    fig.suptitle("Path integration: decoding error of each trained network driven by held-out paths "
                 "(thin: seeds, thick: mean)")
    fig.tight_layout()
    save(fig, path)
