"""Figures of the claims: each part's effect across runs that differ in one setting."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from ..checks import stage_outputs
from .common import VERDICT_COLOURS, _panel_grid, save


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
    from ..claims import PART_KEY as key
    from ..claims import RUN_AXES, run_value_text

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


@stage_outputs("out_md", "out_png")
def compare_stage(inputs: list[str], values: list[float], out_md: str, out_png: str | None = None,
                  axis: str = "width", metrics: list[str] | None = None, gate: float | None = None) -> str:
    """The compare stage: the markdown comparison of runs that differ in one setting
    (:func:`rnnreplay.claims.compare_files`, which checks the arguments) and, with ``out_png``, the
    figure of each part's effect against the setting (:func:`claims_by_run`). Returns a line for the log."""
    from ..claims import RUN_AXES, compare_files

    done = compare_files(inputs, values, out_md, axis=axis, metrics=metrics, gate=gate)
    if out_png:
        claims_by_run({float(v): pd.read_csv(path) for path, v in zip(inputs, values)}, out_png, RUN_AXES[axis])
    return done
