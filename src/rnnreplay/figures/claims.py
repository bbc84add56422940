"""Figures of the claims: each part's effect across runs that differ in one setting."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
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
        axis: :class:`rnnreplay.run_comparison.RunAxis` naming the setting (default: width).
    """
    from ..claims import PART_KEY as key
    from ..run_comparison import RUN_AXES, run_value_text

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
    (:func:`rnnreplay.run_comparison.compare_files`, which checks the arguments) and, with
    ``out_png``, the figure of each part's effect against the setting (:func:`claims_by_run`).
    Returns a line for the log."""
    from ..run_comparison import RUN_AXES, compare_files

    done = compare_files(inputs, values, out_md, axis=axis, metrics=metrics, gate=gate)
    if out_png:
        claims_by_run({float(v): pd.read_csv(path) for path, v in zip(inputs, values)}, out_png, RUN_AXES[axis])
    return done


SOURCE_TITLES = {"KR24": "KR24 (Krishna et al., ICLR 2024)", "CR26": "CR26 (Casco-Rodriguez et al. 2026)",
                 "project": "Project: analyses this repository adds"}
KIND_AXES = {  # kind -> x-axis label: the standardisation of that panel
    "paired": "paired: mean (A − B) / |mean B|, %\n(+ = the claimed direction)",
    "trend": "trend: mean Spearman ρ over seeds\n(+ = the claimed direction)",
    "range": "range: the metric's mean (dimensionless)\n(grey: the claimed range)",
}


def _claimed_sign(direction) -> float:
    return -1.0 if direction == "decrease" else 1.0


def standardised_effect(row) -> tuple[float, float, float]:
    """One claim part's (effect, CI low, CI high) on its panel's scale (:data:`KIND_AXES`): paired
    parts as a percentage of |mean of B| (the ``baseline`` column), trends as Spearman ρ, both
    signed so that + is the claimed direction; range parts as they are (the metric's unit). NaN
    where the part has no effect (theory) or no baseline."""
    mean, low, high = (float(row[k]) for k in ("mean", "ci_low", "ci_high"))
    if row["kind"] == "range":
        return mean, low, high
    if row["kind"] == "paired":
        base = float(row.get("baseline", np.nan))
        scale = 100.0 / abs(base) if np.isfinite(base) and base != 0 else np.nan
    elif row["kind"] == "trend":
        scale = 1.0
    else:
        return np.nan, np.nan, np.nan
    sign = _claimed_sign(row["direction"]) * scale
    low, high = sorted((sign * low, sign * high))
    return sign * mean, low, high


def _range_bounds(comparison: str) -> tuple[float, float]:
    """(lo, hi) of a range part, read off its comparison text ``VARIANT within [lo, hi]``
    (:func:`rnnreplay.claims.bounds_text`; an open side as -inf or inf)."""
    inside = str(comparison).rsplit("[", 1)[-1].rstrip("]")
    lo, hi = (float(v) for v in inside.split(","))
    return lo, hi


def _verdict_rows(claims: pd.DataFrame) -> list[tuple]:
    """The figure's rows, top to bottom: ("source", name), ("claim", id, verdict, statement) and
    ("part", row), the sources in the order KR24, CR26, project and the claims in file order."""
    from ..claims import SOURCE_ORDER, claim_source

    rows = []
    groups = list(claims.groupby("claim", sort=False))
    for source in SOURCE_ORDER:
        mine = [(c, g) for c, g in groups if claim_source(c) == source]
        if mine:
            rows.append(("source", SOURCE_TITLES[source]))
        for claim, g in mine:
            statement = g["statement"].iloc[0]
            rows.append(("claim", claim, g["claim_verdict"].iloc[0], "" if pd.isna(statement) else str(statement)))
            rows += [("part", r) for _, r in g.iterrows()]
    return rows


def _part_label(r) -> str:
    text = f"{r['task']}: {r['metric']}" if r["task"] and not pd.isna(r["task"]) else str(r["metric"])
    if r["kind"] in ("paired", "range"):
        text += f" ({r['comparison']})"
    return text if len(text) <= 62 else text[:60] + "…"


def verdicts(claims: pd.DataFrame, path) -> None:
    """Every claim part's effect with its 95% bootstrap CI, coloured by the part's verdict, in rows
    grouped by source (KR24, CR26, the project's analyses) and claim (its verdict beside its id),
    one panel per kind of part with the standardisation in its axis label (:func:`standardised_effect`):
    paired parts as % of the baseline's mean, trends as Spearman ρ (both + = claimed), range parts
    in the metric's unit beside the claimed range. Theory parts are written as their checks.

    Args:
        claims: the claims table (``results/claims.csv``: :func:`rnnreplay.claims.evaluate_claims`).
        path: output PNG (a PDF is written beside it).
    """
    from matplotlib.transforms import blended_transform_factory

    rows = _verdict_rows(claims)
    kinds = [k for k in KIND_AXES if (claims["kind"] == k).any()] or ["paired"]
    width = 4.8 + 3.2 * len(kinds)
    height = max(0.24 * len(rows) + 1.6, width / 1.8)  # no wider than 2.5 x its height once cropped
    fig, axes = plt.subplots(1, len(kinds), figsize=(width, height), sharey=True, squeeze=False,
                             gridspec_kw=dict(wspace=0.08))
    axes = list(axes.flat)
    by_kind = dict(zip(kinds, axes))
    y_parts, labels = [], []
    for y, row in enumerate(rows):
        if row[0] == "source":
            for ax in axes:
                ax.axhline(y + 0.5, color="0.2", lw=1.2) if y else None
            axes[0].text(-0.02, y, row[1], transform=blended_transform_factory(axes[0].transAxes, axes[0].transData),
                         ha="right", va="center", fontsize=9, weight="bold")
            continue
        if row[0] == "claim":
            _, claim, verdict, statement = row
            for ax in axes:
                ax.axhline(y - 0.5, color="0.6", lw=0.6)
            text = f"{claim}: {verdict}"
            axes[0].text(-0.02, y, text, transform=blended_transform_factory(axes[0].transAxes, axes[0].transData),
                         ha="right", va="center", fontsize=8, weight="bold", color=VERDICT_COLOURS.get(verdict, "k"))
            axes[-1].text(1.02, y, statement if len(statement) <= 70 else statement[:68] + "…", fontsize=6,
                          color="0.3", va="center", transform=blended_transform_factory(axes[-1].transAxes,
                                                                                        axes[-1].transData))
            continue
        r = row[1]
        y_parts.append(y)
        labels.append(_part_label(r))
        colour = VERDICT_COLOURS.get(r["verdict"], "k")
        if r["kind"] not in by_kind:  # theory: its checks, as text
            axes[0].text(0.02, y, f"theory: {r['note']} ({r['verdict']})", color=colour, fontsize=7, va="center",
                         transform=blended_transform_factory(axes[0].transAxes, axes[0].transData))
            continue
        ax = by_kind[r["kind"]]
        effect, low, high = standardised_effect(r)
        if r["kind"] == "range":
            lo, hi = _range_bounds(r["comparison"])
            ax.plot([max(lo, -1.0), min(hi, 2.0)], [y, y], color="0.8", lw=6, solid_capstyle="butt", zorder=1)
        if not np.isfinite(effect):
            ax.text(0.02, y, f"no effect size ({r['verdict']})", transform=blended_transform_factory(
                ax.transAxes, ax.transData), fontsize=6, va="center", color=colour)
            continue
        ax.plot([low, high], [y, y], color=colour, lw=1.6, zorder=2)
        ax.plot(effect, y, "o", color=colour, ms=4.5, zorder=3)
    axes[0].set_yticks(y_parts, labels, fontsize=6.5)
    axes[0].set_ylim(len(rows) - 0.5, -0.5)
    for kind, ax in by_kind.items():
        ax.set_xlabel(KIND_AXES[kind], fontsize=8)
        ax.axvline(0, color="0.3", lw=0.8, ls=":")
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="y", visible=False)
        if kind == "trend":
            ax.set_xlim(-1.1, 1.1)
        if kind == "paired":
            values = np.concatenate([standardised_effect(r)[1:] for _, r in claims[claims["kind"] == "paired"].iterrows()])
            values = values[np.isfinite(values)]
            if len(values) and np.abs(values).max() > 300:
                ax.set_xscale("symlog", linthresh=10)
    handles = [plt.Line2D([], [], marker="o", color=c, label=v, lw=1.6) for v, c in VERDICT_COLOURS.items()]
    fig.legend(handles=handles, loc="upper center", ncol=len(handles), fontsize=8, frameon=False,
               bbox_to_anchor=(0.5, 1 - 0.45 / height))
    fig.suptitle("Claims: each part's effect [95% bootstrap CI over seeds], coloured by the part's verdict; rows: "
                 "task: metric (comparison), grouped by source and claim (the claim's verdict beside its id)",
                 fontsize=10, y=1 - 0.1 / height)
    fig.subplots_adjust(top=1 - 0.9 / height, bottom=0.9 / height)
    save(fig, path)
