"""Figures of learning: training loss and path-integration error of every trained network."""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns

from .common import _panel_grid, save


def loss_curves(curves: pd.DataFrame, path) -> None:
    """Training loss against step, one panel per task, one line per variant: the geometric mean
    over seeds with a 95% t interval of log loss (a band only with two or more seeds).

    Args:
        curves: columns task, variant, seed, step, loss.
        path: output PNG.
    """
    from ..stats import mean_ci

    tasks = list(dict.fromkeys(curves["task"]))
    fig, axes = _panel_grid(len(tasks))
    for ax, task in zip(axes, tasks):
        d = curves[curves["task"] == task]
        for colour, (variant, v) in zip(sns.color_palette(n_colors=d["variant"].nunique()),
                                        d.groupby("variant", sort=False)):
            # geometric mean and a t interval of log loss over seeds at every step, the natural
            # summary on a log axis (a per-step bootstrap, as seaborn draws it, took 90 s for the
            # default run's 95 curves of 600 steps)
            log_loss = np.log(v["loss"].clip(lower=np.finfo(np.float32).tiny)).groupby(v["step"])
            steps = np.array(list(log_loss.groups))
            mean, low, high = np.array([mean_ci(g) for _, g in log_loss]).T
            ax.plot(steps, np.exp(mean), color=colour, lw=1, label=variant)
            ax.fill_between(steps, np.exp(low), np.exp(high), color=colour, alpha=0.2, lw=0)
        last = d["step"].max()
        ax.axvspan(0.8 * last, last, color="0.9", lw=0, zorder=0)  # the plateau criterion's window
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.legend(fontsize=7)
        ax.set_title(task)
    fig.suptitle("Training loss (MSE; geometric mean over seeds ± 95% t interval of log loss; "
                 "grey: the last fifth, where a converged loss is flat)")
    fig.tight_layout()
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
