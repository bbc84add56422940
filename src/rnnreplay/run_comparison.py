"""The claims of several runs side by side: runs that differ in one setting (network width,
training budget; :data:`RUN_AXES`) or the universes of a robustness map
(:mod:`rnnreplay.robustness`). One row per claim part, the part's verdict, effect and learned
seeds in each run; as markdown, and the ``compare`` stage that writes it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .checks import stage_outputs
from .claims import PART_KEY
from .claims_report import learning_table, mean_ci_text, number_text

@dataclass(frozen=True)
class RunAxis:
    """What sets apart the runs that :func:`compare_runs` puts side by side, and how it is written."""

    name: str  # in headings: "Claims at each {name}", "changes with {name}"
    label: str  # a run's column label, "{}" its value: "N {}" -> "N 128"
    title: str  # the figure's x axis


RUN_AXES = {
    "width": RunAxis("width", "N {}", "network width (hidden units N)"),
    "budget": RunAxis("budget", "{}× budget", "training budget (× config.yaml's steps)"),
}


def run_value_text(value) -> str:
    """A run's value as written in column names and labels: 128, 2, 1.5."""
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def run_label(key) -> str:
    """A run's label in column names: a number as :func:`run_value_text` writes it (runs that
    differ in one setting), a name as it is (the universes of a robustness map)."""
    return key if isinstance(key, str) else run_value_text(key)


def compare_runs(claims: dict) -> pd.DataFrame:
    """The claims of several runs side by side, one row per claim part: runs that differ in one
    setting (network width, training budget; see :data:`RUN_AXES`), or the universes of a
    robustness map (:mod:`rnnreplay.robustness`).

    Args:
        claims: the run's value of that setting (hidden units N, budget multiplier; runs are
            ordered by it) or the universe's name (runs keep the mapping's order) -> that run's
            claims table (``claims.csv`` of :func:`rnnreplay.claims_report.claims_files`). Parts
            are matched on (claim, task, metric, comparison); a part missing from a run has empty
            cells for that run.

    Returns:
        Columns claim, task, metric, comparison, statement, then per run value v (written as
        :func:`run_value_text`): ``verdict_v`` (the part's), ``claim_verdict_v``, ``effect_v`` (mean
        per-seed difference or Spearman rho with its 95% CI, as text), ``learned_v`` (seeds that
        passed the learning gate per side), and ``changed`` (the part's verdict differs between runs).
    """
    keys = list(claims) if any(isinstance(k, str) for k in claims) else sorted(claims)
    values = [run_label(k) for k in keys]
    if len(set(values)) != len(values):
        raise ValueError(f"runs: one distinct value per run, got {keys}")
    merged = None
    for v, key in zip(values, keys):
        t = claims[key].copy()
        if t.duplicated(PART_KEY).any():
            raise ValueError(f"claims of run {v}: a claim part (claim, task, metric, comparison) appears twice")
        t[f"effect_{v}"] = [mean_ci_text(m, lo, hi) for m, lo, hi in zip(t["mean"], t["ci_low"], t["ci_high"])]
        t = t.rename(columns={"verdict": f"verdict_{v}", "claim_verdict": f"claim_verdict_{v}",
                              "learned": f"learned_{v}", "statement": f"statement_{v}"})
        keep = PART_KEY + [f"statement_{v}", f"verdict_{v}", f"claim_verdict_{v}", f"effect_{v}", f"learned_{v}"]
        t = t[keep].fillna({c: "" for c in PART_KEY})
        merged = t if merged is None else merged.merge(t, on=PART_KEY, how="outer", sort=False)
    statements = merged[[f"statement_{v}" for v in values]].bfill(axis=1).iloc[:, 0]
    merged = merged.drop(columns=[f"statement_{v}" for v in values])
    merged.insert(len(PART_KEY), "statement", statements)
    verdicts = merged[[f"verdict_{v}" for v in values]]
    merged["changed"] = verdicts.notna().all(axis=1) & (verdicts.nunique(axis=1) > 1)
    return merged


def _values_of(table: pd.DataFrame, column: str = "verdict") -> list[str]:
    """The run values (as written) of a table with a ``{column}_v`` column per run: a
    :func:`compare_runs` table (``verdict_v``) or a :func:`learning_by_run` one (``seeds_v``)."""
    return [c[len(column) + 1:] for c in table.columns if c.startswith(f"{column}_")]


def _learned_text(cells) -> str:
    """``learned`` cells of a claim's parts ("5/5 vs 4/5", ...) in a few words: every side's
    seeds passing the gate, or the parts where some side lost seeds."""
    cells = [c for c in cells if isinstance(c, str) and c]
    if not cells:
        return ""
    short = [c for c in cells if any(a != b for a, b in (side.split("/") for side in c.split(" vs ")))]
    if not short:
        total = cells[0].split(" vs ")[0].split("/")[1]
        return f"all {total}/{total}"
    sides = [side for c in short for side in c.split(" vs ")]
    fewest = min(sides, key=lambda side: int(side.split("/")[0]) / int(side.split("/")[1]))
    return f"{fewest} on a side in {len(short)} of {len(cells)} parts, else all"


def runs_markdown(comparison: pd.DataFrame, axis: RunAxis = RUN_AXES["width"], changed_only: bool = False) -> str:
    """:func:`compare_runs` as a markdown table: claim (its verdict in each run), part, the part's
    verdict (bold where it changes), effect [95% CI] and learned seeds in each run, runs labelled
    by ``axis``. ``changed_only``: only the parts whose verdict changes between runs."""
    values = _values_of(comparison)
    labels = [axis.label.format(v) for v in values]
    cell = lambda x: "" if pd.isna(x) else str(x)  # noqa: E731
    head = (["claim (verdict " + " → ".join(labels) + ")", "part"]
            + [f"verdict, {lab}" for lab in labels] + [f"effect [95% CI], {lab}" for lab in labels]
            + [f"learned, {lab}" for lab in labels])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    rows = comparison[comparison["changed"]] if changed_only else comparison
    for _, r in rows.iterrows():
        claim = f"{r['claim']} ({' → '.join(cell(r[f'claim_verdict_{v}']) or '–' for v in values)})"
        part = " ".join(x for x in (r["task"], r["metric"] + ":" if r["metric"] else "", r["comparison"]) if x)
        verdicts = [(f"**{cell(r[f'verdict_{v}'])}**" if r["changed"] else cell(r[f"verdict_{v}"])) or "–"
                    for v in values]
        lines.append("| " + " | ".join([claim, part] + verdicts + [cell(r[f"effect_{v}"]) for v in values]
                                       + [cell(r[f"learned_{v}"]) for v in values]) + " |")
    return "\n".join(lines) + "\n"


def runs_claims_markdown(comparison: pd.DataFrame, axis: RunAxis = RUN_AXES["width"]) -> str:
    """One row per claim of :func:`compare_runs`: its verdict in each run, how many of its parts
    change verdict, and the seeds that passed the learning gate in each run."""
    values = _values_of(comparison)
    labels = [axis.label.format(v) for v in values]
    head = (["claim", "statement"] + [f"verdict, {lab}" for lab in labels] + ["parts whose verdict changes"]
            + [f"learned, {lab}" for lab in labels])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for claim, g in comparison.groupby("claim", sort=False):
        verdicts = [g[f"claim_verdict_{v}"].dropna() for v in values]
        both = g.dropna(subset=[f"verdict_{v}" for v in values])
        shown = [f"**{x.iloc[0]}**" if x.size else "– (not run)" for x in verdicts]
        lines.append("| " + " | ".join([claim, str(g["statement"].iloc[0])] + shown
                                       + [f"{int(both['changed'].sum())} of {len(both)}"]
                                       + [_learned_text(g[f"learned_{v}"]) for v in values]) + " |")
    return "\n".join(lines) + "\n"


def runs_report(comparison: pd.DataFrame, axis: RunAxis = RUN_AXES["width"]) -> str:
    """The comparison as a markdown document: the claims, the parts whose verdict changes, then
    every part."""
    return (f"## Claims at each {axis.name}\n\n" + runs_claims_markdown(comparison, axis)
            + f"\n## Parts whose verdict changes with {axis.name}\n\n"
            + runs_markdown(comparison, axis, changed_only=True)
            + "\n## Every part\n\n" + runs_markdown(comparison, axis))


def learning_by_run(metrics: dict[float, pd.DataFrame], decision: dict | None = None) -> pd.DataFrame:
    """:func:`rnnreplay.claims_report.learning_table` of several runs side by side (runs that
    differ in one setting).

    Args:
        metrics: the run's value (see :func:`compare_runs`) -> that run's long metrics table
            (``metrics.csv``).
        decision: the learning gate (``claims.decision``), the same for every run.

    Returns:
        Columns task, variant, then per run value v: seeds_v, learned_v, pi_ratio_v,
        pi_ratio_last_v, plateaued_v, loss_fall_v, final_loss_v (see
        :func:`rnnreplay.claims_report.learning_table`); a (task, variant) missing from a run has
        empty cells for it.
    """
    merged = None
    for key in sorted(metrics):
        v = run_value_text(key)
        t = learning_table(metrics[key], decision)
        t = t.rename(columns={c: f"{c}_{v}" for c in t.columns if c not in ("task", "variant")})
        merged = t if merged is None else merged.merge(t, on=["task", "variant"], how="outer", sort=False)
    return merged


def runs_learning_markdown(learning: pd.DataFrame, axis: RunAxis = RUN_AXES["width"]) -> str:
    """:func:`learning_by_run` as a markdown table: per (task, variant), in each run, the seeds
    passing the gate, the mean error / chance over the path, the final loss, the loss's fall over
    the last fifth of training (plateaued seeds), and the final loss's change from the first run."""
    values = _values_of(learning, "seeds")
    labels = [axis.label.format(v) for v in values]
    head = (["task", "variant"] + [f"learned, {lab}" for lab in labels] + [f"error / chance, {lab}" for lab in labels]
            + [f"final loss, {lab}" for lab in labels] + [f"loss fall (plateaued), {lab}" for lab in labels]
            + [f"final loss vs {labels[0]}, {lab}" for lab in labels[1:]])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    count = lambda n, total: "" if pd.isna(total) else f"{int(n)}/{int(total)}"  # noqa: E731
    for _, r in learning.iterrows():
        first = r[f"final_loss_{values[0]}"]
        change = [f"{(r[f'final_loss_{v}'] - first) / first:+.0%}" if first > 0 and np.isfinite(r[f"final_loss_{v}"])
                  else "" for v in values[1:]]
        lines.append("| " + " | ".join(
            [r["task"], r["variant"]] + [count(r[f"learned_{v}"], r[f"seeds_{v}"]) for v in values]
            + [number_text(r[f"pi_ratio_{v}"]) for v in values] + [number_text(r[f"final_loss_{v}"]) for v in values]
            + [f"{number_text(r[f'loss_fall_{v}'])} ({count(r[f'plateaued_{v}'], r[f'seeds_{v}'])})" for v in values]
            + change) + " |")
    return "\n".join(lines) + "\n"


@stage_outputs("out_md")
def compare_files(inputs: list[str], values: list[float], out_md: str, axis: str = "width",
                  metrics: list[str] | None = None, gate: float | None = None) -> str:
    """Compare the ``claims.csv`` of runs that differ in one setting (``inputs[i]`` ran with
    ``values[i]``: hidden units for axis ``width``, budget multiplier for ``budget``): a markdown
    document (:func:`runs_report`); the figure of each part's effect against the setting is drawn
    by the figures package (``rnnreplay.figures.compare_stage``, which calls this). With ``metrics``
    (each run's ``metrics.csv``, in the order of ``inputs``) and the learning gate ``gate`` (the
    runs' ``claims.decision.learned_max_error_ratio``), the document opens with
    :func:`runs_learning_markdown`."""
    from .io import write_text

    if axis not in RUN_AXES:
        raise ValueError(f"--axis must be one of {sorted(RUN_AXES)}, got {axis!r}")
    if len(inputs) != len(values) or len({run_value_text(v) for v in values}) != len(values):
        raise ValueError(f"--values: one distinct value per input file ({len(inputs)} inputs, values {values})")
    if metrics is not None and (len(metrics) != len(inputs) or gate is None):
        raise ValueError(f"--metrics: one metrics.csv per input file ({len(inputs)} inputs, {len(metrics)} "
                         f"metrics files), and --gate with them")
    claims = {float(v): pd.read_csv(path) for path, v in zip(inputs, values)}
    comparison = compare_runs(claims)
    text = runs_report(comparison, RUN_AXES[axis])
    if metrics is not None:
        learning = learning_by_run({float(v): pd.read_csv(path) for path, v in zip(metrics, values)},
                                   {"learned_max_error_ratio": gate})
        text = (f"## Learning in each run (gate: error / chance <= {gate})\n\n"
                + runs_learning_markdown(learning, RUN_AXES[axis]) + "\n" + text)
    write_text(out_md, text)
    return (f"{len(comparison)} parts, the verdict changes with {axis} in {int(comparison['changed'].sum())} "
            f"-> {out_md}")

