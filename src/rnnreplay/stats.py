"""Statistics across seeds: the long metrics table, and the mean with a confidence interval per
(task, variant, metric). The claims' verdicts are in :mod:`rnnreplay.claims`."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .checks import stage_outputs


def mean_ci(values, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t confidence interval of ``values`` (1-D, NaNs dropped).

    Returns (mean, low, high); low = high = mean for a single value, all NaN for none.
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return (np.nan, np.nan, np.nan)
    m = float(x.mean())
    if len(x) == 1 or np.all(x == x[0]):
        return (m, m, m)
    half = stats.t.ppf(0.5 + level / 2, df=len(x) - 1) * stats.sem(x)
    return (m, m - half, m + half)


def metrics_table(paths: list[str]) -> pd.DataFrame:
    """Long table (task, variant, seed, metric, value) from per-job metrics files; a metric with a
    value per region becomes one row per region, named ``{metric}_{region}``, and a curve (e.g.
    against ``lag``) one row per point, named ``{metric}_{dim}{coordinate}`` (``mean_displacement_lag10``)."""
    from .checks import read_job_file
    from .jobs import MetricsJob

    rows = []
    for path in paths:
        job, ds = read_job_file(path, MetricsJob)
        key = dict(task=job.task.name, variant=job.variant, seed=job.seed)
        for name, var in ds.data_vars.items():
            if var.ndim == 0:
                rows.append(dict(**key, metric=name, value=float(var.values)))
            else:
                dim = var.dims[0]
                labels = ds["region_name"].values if dim == "region" else [f"{dim}{c:g}" for c in ds[dim].values]
                for label, value in zip(labels, var.values):
                    rows.append(dict(**key, metric=f"{name}_{label}", value=float(value)))
    return pd.DataFrame(rows)


def summarise(table: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Mean and CI per (task, variant, metric) from a long table with columns
    task, variant, seed, metric, value. Returns columns task, variant, metric, n, mean, ci_low,
    ci_high."""
    rows = []
    for (task, variant, metric), group in table.groupby(["task", "variant", "metric"], sort=False):
        m, lo, hi = mean_ci(group["value"], level)
        rows.append(dict(task=task, variant=variant, metric=metric, n=int(group["value"].notna().sum()),
                         mean=m, ci_low=lo, ci_high=hi))
    return pd.DataFrame(rows)


def markdown_table(summary: pd.DataFrame, metrics: list[str]) -> str:
    """A readable table: one row per (task, variant), one column per metric, ``mean ± half-CI``."""
    lines = ["| task | variant | " + " | ".join(metrics) + " |", "|---|---|" + "---|" * len(metrics)]
    for (task, variant), group in summary.groupby(["task", "variant"], sort=False):
        cells = []
        for metric in metrics:
            row = group[group["metric"] == metric]
            if row.empty:
                cells.append("")
                continue
            r = row.iloc[0]
            cells.append(f"{r['mean']:.3g} ± {(r['ci_high'] - r['ci_low']) / 2:.2g}")
        lines.append(f"| {task} | {variant} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


@stage_outputs("table", "summary", "markdown")
def summarise_files(inputs: list[str], table: str, summary: str, markdown: str) -> str:
    """The summarise stage: the long table of the metrics files ``inputs`` (CSV ``table``), its
    summary per (task, variant, metric) (CSV ``summary``) and the summary table's metrics as
    markdown (``markdown``). Returns a line for the log."""
    from .io import write_text
    from .metrics import metric_names

    long = metrics_table(inputs)
    summary_frame = summarise(long)
    write_text(table, long.to_csv(index=False))
    write_text(summary, summary_frame.to_csv(index=False))
    write_text(markdown, markdown_table(summary_frame, metric_names(table=True)))
    return f"{len(inputs)} metrics files, {len(summary_frame)} summary rows -> {table}, {summary}, {markdown}"
