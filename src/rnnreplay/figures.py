"""Figures (seaborn/matplotlib), each saved as PNG and PDF atomically."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from .checks import stage_outputs  # noqa: E402
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


def _limits(task: Task, margin: float = 0.15):
    """Axis limits ((x0, y0), (x1, y1)) round the task's outline (the T-maze's if none)."""
    lines = task.outline()
    if not lines:
        return (-1.3, -1.3), (1.3, 1.0)
    pts = np.vstack(lines)
    pad = margin * (pts.max(0) - pts.min(0)).max()
    return tuple(pts.min(0) - pad), tuple(pts.max(0) + pad)


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
        ax.set_aspect("equal")
        (x0, y0), (x1, y1) = _limits(task)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
    for ax in axes.flat[len(names):]:
        ax.axis("off")
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
        sns.stripplot(d, x="variant", y="value", order=order, ax=ax, color="0.4", size=4, alpha=0.7)
        sns.pointplot(d, x="variant", y="value", order=order, ax=ax, errorbar=("ci", 95),
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
    fig.suptitle("Momentum sweep (mean ± 95% bootstrap CI over seeds)")
    fig.tight_layout()
    save(fig, path)


def _panel_grid(n: int, cols: int = 4, size: tuple[float, float] = (4.2, 3.3)):
    """A figure with ``n`` panels (each ``size`` inches) in rows of at most ``cols`` (unused cells
    hidden); returns the figure and its first ``n`` axes."""
    cols = min(cols, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(size[0] * cols, size[1] * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    return fig, list(axes.flat[:n])


def loss_curves(curves: pd.DataFrame, path) -> None:
    """Training loss against step, one panel per task, one line per variant: the geometric mean
    over seeds with a 95% t interval of log loss (a band only with two or more seeds).

    Args:
        curves: columns task, variant, seed, step, loss.
        path: output PNG.
    """
    from .stats import mean_ci

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


def theory(sim, path) -> None:
    """The theory oracles (docs/methods.md#theory-oracles), three panels drawn from the simulations that the
    theory checks test (:func:`rnnreplay.theory.simulate`; times in steps).

    (a) The leak coefficient of the Gaussian score, -d score / dr, against time: Brownian path with
    noise, 1 / (q t + rho), and OU path, 1 / var_t, which tends to 2 theta / sigma^2; lines closed
    form, points 1 / (simulated variance). (b) Stationary variance of the momentum Langevin sampler
    of N(0, 1) against friction lambda_v at two step sizes. (c) Mean first-passage time (steps) from
    0 to 1.5 standard deviations against lambda_v: simulated (± SE), the overdamped closed form at
    lambda_v = 1 and the high-friction asymptote lambda_v * T_od / eps.

    Args:
        sim: :class:`rnnreplay.theory.Simulations`.
        path: output PNG (a PDF is written beside it).
    """
    from . import theory as th

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    ax = axes[0]
    b, o = th.BROWNIAN, th.OU
    t = np.arange(1, 201)
    ax.plot(t, 1 / th.brownian_variance(t, b["q"], b["rho"]), color="C0", label="Brownian + noise: 1/(qt+ρ)")
    ax.plot(t, 1 / th.ou_variance(t, o["theta"], o["sigma_s"]), color="C1", label="OU: 1/var_t")
    ax.axhline(th.ou_stationary_leak(o["theta"], o["sigma_s"]), color="C1", ls=":", label="OU limit 2θ/σ²")
    ts = np.array([2, 5, 10, 20, 50, 100, 200])
    ax.plot(ts, 1 / sim.brownian[:, ts].var(axis=0, ddof=1), "o", color="C0", ms=4)
    ax.plot(ts, 1 / sim.ou[:, ts].var(axis=0, ddof=1), "s", color="C1", ms=4)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("time since start t (steps)")
    ax.set_ylabel("leak coefficient of the score")
    ax.set_title("(a) the score is a time-varying leak")
    ax.legend(fontsize=7)

    ax = axes[1]
    grid = np.linspace(0.05, 1.0, 100)
    for i, eps in enumerate(th.LANGEVIN_EPS):
        ax.plot(grid, [th.underdamped_stationary_variance(1.0, eps, lam) for lam in grid], color=f"C{i}",
                label=f"closed form, ε={eps}")
        sim_var = [sim.langevin[(eps, lam)][:, th.LANGEVIN_BURN:].var() for lam in th.LANGEVIN_FRICTIONS]
        ax.plot(th.LANGEVIN_FRICTIONS, sim_var, "o", color=f"C{i}", ms=4)
    ax.axhline(1.0, color="0.5", ls=":", label="target v = 1")
    ax.invert_xaxis()
    ax.set_xlabel("friction λ_v (1 = overdamped)")
    ax.set_ylabel("stationary variance of x")
    ax.set_title("(b) momentum keeps the marginal")
    ax.legend(fontsize=7)

    ax = axes[2]
    eps, c, sweep = th.MFPT["eps"], th.MFPT["threshold"], sim.mfpt
    ax.errorbar(sweep["friction"], sweep["mfpt"], yerr=sweep["sem"], fmt="o-", color="C2", ms=4, label="simulated")
    ax.plot(sweep["friction"], sweep["high_friction"], "--", color="0.4", label="λ_v · T_od / ε (high friction)")
    ax.plot([1.0], [th.overdamped_mfpt_steps(th.MFPT["v"], eps, c)], "*", color="k", ms=9,
            label="overdamped closed form")
    ax.axvline(np.sqrt(eps), color="0.7", ls=":", label="λ_v = √ε (turnover)")
    ax.set_xscale("log")
    ax.invert_xaxis()
    ax.set_xlabel("friction λ_v")
    ax.set_ylabel("mean first-passage time (steps)")
    ax.set_title(f"(c) first passage to {c}σ, ε={eps}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    save(fig, path)


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
    from .metrics import METRICS, metric_names

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


VERDICT_COLOURS = {"reproduced": "C2", "not reproduced": "C3", "inconclusive": "0.5", "invalid": "C1"}


def claims_by_run(claims: dict[float, pd.DataFrame], path, axis=None) -> None:
    """Each claim part's effect in runs that differ in one setting (network width, training
    budget): the mean per-seed difference (or Spearman rho for trends) with its 95% CI against the
    setting (log 2 axis), one small panel per part judged in every run, points coloured by the
    part's verdict in that run, 0 dotted.

    Args:
        claims: the run's value (hidden units N, budget multiplier) -> that run's claims table
            (``claims.csv``).
        path: output PNG.
        axis: :class:`rnnreplay.claims.RunAxis` naming the setting (default: width).
    """
    from .claims import PART_KEY as key
    from .claims import RUN_AXES, run_value_text

    axis = axis or RUN_AXES["width"]
    rows = pd.concat([t.assign(run=float(v)) for v, t in claims.items()], ignore_index=True)
    rows = rows[rows["kind"].isin(["paired", "trend"])]
    counts = rows.groupby(key, sort=False)["run"].nunique()
    parts = [part for part, n in counts.items() if n == len(claims)]  # parts judged in every run
    fig, axes = _panel_grid(len(parts), cols=6, size=(2.6, 2.1))
    for ax, part in zip(axes, parts):
        d = rows[(rows[key] == pd.Series(part, index=key)).all(axis=1)].sort_values("run")
        ax.errorbar(d["run"], d["mean"], yerr=[d["mean"] - d["ci_low"], d["ci_high"] - d["mean"]], color="0.6",
                    lw=1, capsize=3, zorder=1)
        for _, r in d.iterrows():
            ax.plot(r["run"], r["mean"], "o", color=VERDICT_COLOURS.get(r["verdict"], "k"), ms=6, zorder=2)
        ax.axhline(0, color="0.3", ls=":", lw=0.8)
        ax.set_xscale("log", base=2)
        ax.set_xticks(sorted(float(v) for v in claims), [run_value_text(v) for v in sorted(claims)])
        ax.set_title(f"{part[0]} {part[1]}: {part[2]}", fontsize=7)
        ax.tick_params(labelsize=6)
    handles = [plt.Line2D([], [], marker="o", ls="", color=c, label=v) for v, c in VERDICT_COLOURS.items()]
    fig.legend(handles=handles, loc="lower right", fontsize=8)
    fig.suptitle(f"Claim parts against {axis.title}: mean difference over seeds [95% CI]; "
                 "trends: Spearman ρ", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    save(fig, path)


# --- The figure stage: each figure from its input files ------------------------------------------

def _read_runs(paths: list[str], required: tuple[str, ...]):
    """(job, dataset) of each replay file, in order, and the task of the first file (the figures
    that use it draw one task's files)."""
    from .checks import read_job_file
    from .jobs import ReplayJob

    runs = [read_job_file(path, ReplayJob, required) for path in paths]
    return runs, runs[0][0].task.build() if runs else None


def _name(job) -> str:
    return f"{job.task.name}/{job.variant}"


def _examples(inputs, out, n_show, **_):
    runs, task = _read_runs(inputs, ("position",))
    replay_examples(task, {job.variant: ds["position"].values[:n_show] for job, ds in runs}, out, n_show=n_show)


def _metrics(inputs, out, task, metrics, **_):
    from .metrics import metric_names

    metrics_by_variant(pd.read_csv(inputs[0]), task, metrics or metric_names(table=True), out)


def _sweep(inputs, out, friction, metrics, **_):
    from .metrics import metric_names

    momentum_sweep(pd.read_csv(inputs[0]), friction, metrics or metric_names(figure="momentum_sweep"), out)


def _kl(inputs, out, metrics_table, settings, **_):
    from .jobs import MetricsSettings
    from .metrics import kl_matrix

    settings = MetricsSettings(**settings)
    runs = [dict(task=job.task.name, variant=job.variant, seed=job.seed,
                 quiescent=ds["position"].values[:, min(settings.burn_in, ds.sizes["step"] - 2):],
                 active=ds["active_position"].values)
            for job, ds in _read_runs(inputs, ("position", "active_position"))[0]]
    kl_heatmap(kl_matrix(runs, pd.read_csv(metrics_table), settings), out)


def _densities(inputs, out, settings, **_):
    runs, task = _read_runs(inputs, ("position", "active_position"))
    burn = settings["burn_in"]
    density_grid(task, {_name(job): (ds["active_position"].values, ds["position"].values[:, burn:])
                        for job, ds in runs}, out)


def _kr24(inputs, out, tasks, **_):
    kr24_summary(pd.read_csv(inputs[0]), tasks, out)


def _ring(inputs, out, n_show, **_):
    runs, _ = _read_runs(inputs, ("position",))
    heading_ring({_name(job): ds["position"].values for job, ds in runs}, out, n_show=n_show)


def _code(inputs, out, n_show, test_paths, **_):
    from .checks import read_paths

    runs, task = _read_runs(inputs, ("position", "readout"))
    replays = {job.variant: (ds["position"].values[:n_show], ds["readout"].values[:n_show]) for job, ds in runs}
    true_code = task.encode(read_paths(test_paths[0], runs[0][0].task, "test")["position"].values)
    code_space(task, replays, true_code, out, n_show=min(n_show, 3))


def _loss(inputs, out, **_):
    from .checks import read_job_file
    from .jobs import TrainJob

    frames = []
    for path in inputs:
        job, ds = read_job_file(path, TrainJob, ("loss",))
        frames.append(pd.DataFrame(dict(task=job.task.name, variant=job.variant, seed=job.seed,
                                        step=ds["step"].values, loss=ds["loss"].values)))
    loss_curves(pd.concat(frames, ignore_index=True), out)


def _pi_error(inputs, out, test_paths, gate=None, **_):
    from .checks import read_job_file, read_paths
    from .jobs import SynthesisJob
    from .learning import chance_error, path_integration_error

    runs = _read_runs(inputs, ("active_position",))[0]
    given = {read_job_file(path, SynthesisJob)[0].task.name: path for path in test_paths or []}
    tests = {}
    for name, task in {job.task.name: job.task for job, _ in runs}.items():
        if name not in given:
            raise ValueError(f"--test-paths: none of {list(map(str, test_paths or []))} holds the test paths of task "
                             f"{name}, which the replay files need")
        tests[name] = read_paths(given[name], task, "test")["position"].values
    frames, chance, units = [], {}, {}
    for job, ds in runs:
        task, true = job.task.build(), tests[job.task.name]
        error = path_integration_error(task, ds["active_position"].values, true).mean(0)  # (T,)
        frames.append(pd.DataFrame(dict(task=job.task.name, variant=job.model.variant, seed=job.seed,
                                        step=np.arange(1, len(error) + 1), error=error)))
        chance[job.task.name], units[job.task.name] = chance_error(task, true), task.length_unit
    pi_error(pd.concat(frames, ignore_index=True), chance, gate, units, out)


FIGURES = {"pi_error": _pi_error, "examples": _examples, "metrics": _metrics, "sweep": _sweep, "loss": _loss, "kl": _kl,
           "densities": _densities, "kr24": _kr24, "ring": _ring, "code": _code}


@stage_outputs("out")
def draw(kind: str, inputs: list[str], out: str, **options) -> str:
    """The figure stage: figure ``kind`` (a key of :data:`FIGURES`) from its input files, written
    to ``out`` (PNG, with a PDF beside it). ``options``: task, tasks, metrics, n_show,
    test_paths, metrics_table, friction, settings, as each figure needs. Returns a line for the log."""
    FIGURES[kind](inputs, out, **options)
    return f"{kind} from {len(inputs)} input files -> {out}"


# --- Replay dynamics as experimenters measure them (docs/replay-dynamics.md) -------------------------
# Each reads the long metrics table (results/tables/metrics.csv): its curves are rows named
# {metric}_{dim}{coordinate} (rnnreplay.stats.metrics_table).

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


def _task_axes(tasks: list[str], rows: int = 1, width: float = 3.6, height: float = 3.2):
    fig, axes = plt.subplots(rows, max(1, len(tasks)), figsize=(width * max(1, len(tasks)), height * rows),
                             squeeze=False)
    return fig, axes


def _colours(variants) -> dict:
    variants = list(dict.fromkeys(variants))
    return dict(zip(variants, sns.color_palette("tab10", max(1, len(variants)))))


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
    fig, axes = _task_axes(tasks, rows=2)
    for col, task in enumerate(tasks):
        top, bottom = axes[0, col], axes[1, col]
        d, s = md[md["task"] == task], slope[slope["task"] == task]
        colours = _colours(d["variant"])
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
        top.set_title(task)
        top.set_ylabel("mean displacement ⟨‖x(t+k) − x(t)‖⟩")
        bottom.set_ylabel("local slope d log⟨‖Δx‖⟩ / d log k")
        bottom.set_xlabel("lag k (replay steps)")
        top.legend(fontsize=5.5, loc="upper left")
    fig.suptitle("Replay displacement against lag (mean over seeds); bands: published exponents (Stella et al. 2019)")
    fig.tight_layout()
    save(fig, path)


def replay_model_shares(table: pd.DataFrame, path) -> None:
    """Best-model shares (stationary / diffusion / momentum, by BIC) per variant, one panel per task,
    as stacked bars (mean over seeds) beside Krause & Drugowitsch's awake ripples (85 / 5 / 4.5%);
    the momentum model's median fitted persistence phi (mean over seeds) is written on each bar."""
    models = ("stationary", "diffusion", "momentum")
    colours = {"stationary": "0.6", "diffusion": "C0", "momentum": "C3", "other": "0.9"}
    data = table[table["metric"].isin([f"share_{m}" for m in models] + ["momentum_persistence"])]
    tasks = list(dict.fromkeys(data["task"]))
    fig, axes = _task_axes(tasks, width=4.2, height=0.4 * max(4, data.groupby("task")["variant"].nunique().max()
                                                               if len(data) else 4) + 1.2)
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
        ax.set_xlabel("share of replay events (best by BIC)")
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
    fig, axes = _task_axes(tasks)
    for ax, task in zip(axes.flat, tasks):
        t = d[d["task"] == task]
        colours = _colours(t["variant"])
        for variant, v in t.groupby("variant", sort=False):
            for _, seed in v.groupby("seed"):
                ax.plot(seed["x"], seed["value"], color=colours[variant], lw=0.4, alpha=0.4)
            mean = v.groupby("x")["value"].mean()
            ax.plot(mean.index, mean.values, color=colours[variant], lw=1.6, label=variant)
        ax.set_ylim(0, 1)
        ax.set_xlabel("distance travelled (environment extents)")
        ax.set_ylabel("fraction of the environment visited")
        ax.set_title(task)
        ax.legend(fontsize=6)
    fig.suptitle("Coverage against distance travelled (McNamee et al. 2021; thin: seeds, thick: mean)")
    fig.tight_layout()
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


def _dynamics_figure(draw_fn):
    return lambda inputs, out, **_: draw_fn(pd.read_csv(inputs[0]), out)


FIGURES.update({"displacement": _dynamics_figure(replay_displacement),
                "model_shares": _dynamics_figure(replay_model_shares),
                "coverage": _dynamics_figure(replay_coverage),
                "compression": _dynamics_figure(replay_compression)})
