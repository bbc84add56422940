"""Replay dynamics as experimenters measure them: displacement against lag, best-model shares,
coverage, temporal compression. Each reads the long metrics table (results/tables/metrics.csv):
its curves are rows named {metric}_{dim}{coordinate} (rnnreplay.stats.metrics_table)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .common import _colours, save, task_grid


ALPHA_RANGES = (  # published displacement exponents [Stella et al. 2019]: (label, low, high, colour)
    ("sleep replay 0.45–0.53", 0.45, 0.53, "C0"),
    ("awake ripples 0.54–0.68", 0.54, 0.68, "C1"),
    ("behaviour 0.67–0.72", 0.67, 0.72, "C2"),
)
AWAKE_SHARES = {"stationary": 0.045, "diffusion": 0.05, "momentum": 0.85}  # [Krause & Drugowitsch 2022]
COMPRESSION_BAND = (10.0, 20.0)  # replay / behavioural speed, rodents [Nádasdy 1999; Lee & Wilson 2002; Davidson 2009]


def _curve(table: pd.DataFrame, metric: str, dim: str) -> pd.DataFrame:
    """Rows of a curve metric with its coordinate parsed: columns task, variant, seed, x, value."""
    prefix = f"{metric}_{dim}"
    d = table[table["metric"].astype(str).str.startswith(prefix)].copy()
    d["x"] = d["metric"].str[len(prefix):].astype(float)
    return d[["task", "variant", "seed", "x", "value"]]


def _figure_legend(fig, axes, ncol: int = 5) -> None:
    """One legend for the whole figure, below the panels: each label once, from every panel."""
    unique = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            unique.setdefault(label, handle)
    if unique:
        fig.legend(unique.values(), unique.keys(), loc="lower center", ncol=min(ncol, len(unique)), fontsize=7,
                   frameon=False)


def replay_displacement(table: pd.DataFrame, path) -> None:
    """Mean displacement against lag, log-log, one column per task and one line per variant (mean
    over seeds), with slopes 0.5 (Brownian) and 1 (ballistic) and Stella et al.'s published
    exponents as wedges (top); the local slope d log <|dx|> / d log k against lag with the same
    ranges as bands (bottom).

    Args:
        table: long metrics table with ``mean_displacement_lag*`` and ``displacement_slope_lag*`` rows.
        path: output PNG.
    """
    md, slope = _curve(table, "mean_displacement", "lag"), _curve(table, "displacement_slope", "lag")
    tasks = list(dict.fromkeys(md["task"]))
    fig, axes = task_grid(len(tasks), rows=2)
    colours = _colours(md["variant"])  # one colour per variant across tasks: one legend for the figure
    for col, task in enumerate(tasks):
        top, bottom = axes[0, col], axes[1, col]
        d, s = md[md["task"] == task], slope[slope["task"] == task]
        for variant, v in d.groupby("variant", sort=False):
            mean = v.groupby("x")["value"].mean()
            mean = mean[mean > 0]
            top.plot(mean.index, mean.values, "o-", ms=2.5, lw=1.2, color=colours[variant], label=variant)
            ls = s[s["variant"] == variant].groupby("x")["value"].mean()
            bottom.plot(ls.index, ls.values, "o-", ms=2.5, lw=1.2, color=colours[variant])
        first = d[d["x"] == d["x"].min()]["value"]
        if len(d) and np.isfinite(first).any() and (first > 0).any():
            k = np.geomspace(d["x"].min(), d["x"].max(), 50)
            anchor = float(np.median(first[first > 0]))
            for label, lo, hi, colour in ALPHA_RANGES:
                top.fill_between(k, anchor * k**lo, anchor * k**hi, color=colour, alpha=0.15, lw=0, label=label)
            top.plot(k, anchor * k**0.5, color="0.3", ls="--", lw=0.8, label="slope 0.5 (Brownian)")
            top.plot(k, anchor * k**1.0, color="0.3", ls=":", lw=0.8, label="slope 1 (ballistic)")
        for label, lo, hi, colour in ALPHA_RANGES:
            bottom.axhspan(lo, hi, color=colour, alpha=0.15, lw=0)
        for level, ls_ in ((0.5, "--"), (1.0, ":"), (0.0, "-")):
            bottom.axhline(level, color="0.3", ls=ls_, lw=0.8)
        top.set_xscale("log")
        top.set_yscale("log")
        bottom.set_xscale("log")
        bottom.set_ylim(-0.3, 1.3)
        top.set_title(f"{task}: displacement")
        top.set_ylabel("mean displacement ⟨‖x(t+k) − x(t)‖⟩\n(task length unit)")
        top.set_xlabel("lag k (replay steps)")
        bottom.set_title(f"{task}: local slope")
        bottom.set_ylabel("local slope d log⟨‖Δx‖⟩ / d log k\n(dimensionless)")
        bottom.set_xlabel("lag k (replay steps)")
    _figure_legend(fig, [a for a in axes.flat])
    fig.suptitle("Replay displacement against lag (mean over seeds); bands: published exponents (Stella et al. 2019)")
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    save(fig, path)


def replay_model_shares(table: pd.DataFrame, path) -> None:
    """Best-model shares (stationary / diffusion / momentum, by BIC) per variant, one panel per task,
    as stacked bars (mean over seeds) beside Krause & Drugowitsch's awake ripples (85 / 5 / 4.5%);
    the momentum model's median fitted persistence phi (mean over seeds) is written on each bar."""
    models = ("stationary", "diffusion", "momentum")
    colours = {"stationary": "0.6", "diffusion": "C0", "momentum": "C3", "other": "0.9"}
    data = table[table["metric"].isin([f"share_{m}" for m in models] + ["momentum_persistence"])]
    tasks = list(dict.fromkeys(data["task"]))
    n_rows = data.groupby("task")["variant"].nunique().max() if len(data) else 4
    fig, axes = task_grid(len(tasks), width=4.6, height=0.4 * max(4, n_rows) + 1.4)
    for ax, task in zip(axes.flat, tasks):
        d = data[data["task"] == task]
        mean = d.groupby(["variant", "metric"], sort=False)["value"].mean().unstack("metric")
        rows = [("awake ripples (K&D 2022)", {**AWAKE_SHARES, "other": 1 - sum(AWAKE_SHARES.values())}, None)]
        for variant in dict.fromkeys(d["variant"]):
            r = mean.loc[variant]
            rows.append((variant, {m: r.get(f"share_{m}", np.nan) for m in models}, r.get("momentum_persistence")))
        for y, (label, shares, phi) in enumerate(rows):
            left = 0.0
            for name, value in shares.items():
                if np.isfinite(value) and value > 0:
                    ax.barh(y, value, left=left, color=colours[name], edgecolor="white", lw=0.5,
                            label=name if (y in (0, 1) and ax is axes.flat[0]) else None)
                    left += value
            if phi is not None and np.isfinite(phi):
                ax.text(1.01, y, f"φ={phi:.2f}", va="center", fontsize=6)
        ax.set_yticks(range(len(rows)), [r[0] for r in rows], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of replay events (best by BIC; dimensionless)")
        ax.set_ylabel("variant")
        ax.set_title(task)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    fig.legend(unique.values(), unique.keys(), loc="lower center", ncol=4, fontsize=7, bbox_to_anchor=(0.5, -0.02))
    fig.suptitle("Best model per replay event (Kalman filter, maximum likelihood, BIC) beside awake ripples "
                 "(Krause & Drugowitsch 2022); φ: fitted persistence")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    save(fig, path)


def replay_coverage(table: pd.DataFrame, path) -> None:
    """Coverage curves: fraction of the environment's grid cells visited against distance travelled
    (environment extents), one panel per task, one line per variant: mean over seeds, seeds thin."""
    d = _curve(table, "coverage_curve", "distance")
    tasks = list(dict.fromkeys(d["task"]))
    fig, axes = task_grid(len(tasks))
    colours = _colours(d["variant"])  # one colour per variant across tasks: one legend for the figure
    for ax, task in zip(axes.flat, tasks):
        t = d[d["task"] == task]
        for variant, v in t.groupby("variant", sort=False):
            for _, seed in v.groupby("seed"):
                ax.plot(seed["x"], seed["value"], color=colours[variant], lw=0.4, alpha=0.4)
            mean = v.groupby("x")["value"].mean()
            ax.plot(mean.index, mean.values, color=colours[variant], lw=1.6, label=variant)
        ax.set_ylim(0, 1)
        ax.set_xlabel("distance travelled (environment extents)")
        ax.set_ylabel("fraction of the environment visited")
        ax.set_title(task)
    _figure_legend(fig, list(axes.flat))
    fig.suptitle("Coverage against distance travelled (McNamee et al. 2021; thin: seeds, thick: mean)")
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    save(fig, path)


def replay_compression(table: pd.DataFrame, path) -> None:
    """Compression (replay speed / speed on the real paths) per task and variant, seeds as points and
    the mean as a bar, on a log axis beside the 10–20x of rodent replay and real time (1x)."""
    d = table[table["metric"] == "compression"].copy()
    d["condition"] = d["task"] + "/" + d["variant"]
    order = list(dict.fromkeys(d["condition"]))
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(order) + 2), 4))
    ax.axhspan(*COMPRESSION_BAND, color="C2", alpha=0.2, lw=0,
               label="rodent replay 10–20× (Nádasdy 1999; Lee & Wilson 2002; Davidson 2009)")
    ax.axhline(1.0, color="0.3", lw=0.8, ls="--", label="real time (1×)")
    mean = d.groupby("condition", sort=False)["value"].mean().reindex(order)
    ax.bar(range(len(order)), mean.values, color="0.8")
    positions = {c: i for i, c in enumerate(order)}
    ax.plot(d["condition"].map(positions), d["value"], "o", color="C3", ms=3)
    ax.set_xticks(range(len(order)), order, rotation=75, fontsize=7)
    ax.set_yscale("log")
    values = d["value"][np.isfinite(d["value"]) & (d["value"] > 0)]
    low = min(values.min() if len(values) else 0.1, 0.5)
    ax.set_ylim(low / 1.5, 40)
    ax.set_ylabel("compression (replay speed / behavioural speed)")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_title("Temporal compression of replay (bars: mean over seeds, points: seeds)")
    fig.tight_layout()
    save(fig, path)
