"""Statistics across seeds: mean with a confidence interval per (task, variant, metric)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


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


# --- Claims: paired comparisons across seeds and a verdict by a rule fixed in the config --------
#
# A claim (config.yaml, ``claims:``) is a list of comparisons combined by ``combine`` (all | any).
# Each comparison reduces to one number per seed, d_i, signed so that the claim predicts the sign:
#   paired: d_i = metric(A, seed i) - metric(B, seed i) on one task; direction decrease: A < B.
#   trend:  d_i = Spearman rho between x (e.g. lambda_v) and the metric across the listed
#           variants, within seed i; direction increase: the metric rises with x.
#   theory: the rows of the theory checks CSV whose name starts with one of ``checks``.
# On d the same machinery runs: the mean with a bootstrap CI (scipy.stats.bootstrap, fixed seed),
# an exact paired sign-flip permutation test of the mean (scipy.stats.permutation_test, one-sided
# in the claimed direction), and the paired effect size d_z = mean(d) / sd(d).
# The permutation test was chosen over Wilcoxon because it tests the same statistic the CI is
# about (the mean difference); both are exact over the 2^n sign flips, and with n seeds neither
# can give a one-sided p below 1 / 2^n (0.125 for 3 seeds, 0.031 for 5): with fewer than
# 5 seeds no claim can be "reproduced" or refuted by direction at alpha = 0.05.
#
# The decision rule (``claims.decision`` in the config, fixed before the run):
#   reproduced      n >= min_seeds, the CI lies entirely on the claimed side of 0, and the
#                   one-sided p (claimed direction) <= alpha;
#   not reproduced  n >= min_seeds and either the CI lies entirely on the opposite side with the
#                   one-sided p (opposite direction) <= alpha, or the CI lies inside
#                   [-margin, +margin] (a negligible effect): margin = ``margin`` * |mean of B|
#                   for paired comparisons, ``trend_margin`` (in units of rho) for trends
#                   (a comparison may set its own ``margin``, in the same units);
#   inconclusive    otherwise.
# A claim with combine ``all`` is reproduced when every part is, not reproduced when any part is
# not, inconclusive otherwise; with ``any``, reproduced when some part is, not reproduced when
# every part is not, inconclusive otherwise. A theory part is reproduced when all its checks pass.

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = "reproduced", "not reproduced", "inconclusive"
DECISION_DEFAULTS = dict(ci_level=0.95, alpha=0.05, n_resamples=9999, seed=0, min_seeds=3, margin=0.05,
                         trend_margin=0.2, ci_method="percentile")


def _by_seed(table: pd.DataFrame, task: str, variant: str, metric: str) -> pd.Series:
    rows = table[(table["task"] == task) & (table["variant"] == variant) & (table["metric"] == metric)]
    return rows.groupby("seed")["value"].mean()


def paired_differences(table: pd.DataFrame, task: str, metric: str, a: str, b: str,
                       metric_b: str | None = None, task_b: str | None = None) -> tuple[pd.Series, float]:
    """Per-seed differences metric(task, a) - metric_b(task_b, b) (seeds where both are finite)
    from a long table (task, variant, seed, metric, value), and the mean of the B side over those
    seeds. ``metric_b`` and ``task_b`` default to ``metric`` and ``task``: set ``metric_b`` to
    compare a metric with its baseline in one run (KL vs KL of the untrained network), ``task_b``
    to compare two tasks (biased vs unbiased) at the same seed.

    Returns:
        (d indexed by seed, in the metric's unit; mean of B, or NaN when there are no pairs).
    """
    side_b = _by_seed(table, task_b or task, b, metric_b or metric)
    both = pd.concat([_by_seed(table, task, a, metric), side_b], axis=1, keys=["a", "b"]).dropna()
    return both["a"] - both["b"], float(both["b"].mean()) if len(both) else np.nan


def trend_statistics(table: pd.DataFrame, task: str, metric: str, x: dict[str, float]) -> pd.Series:
    """Per-seed Spearman rho between x[variant] and the metric across the variants of ``x``.

    Seeds with fewer than 3 finite points, or where the metric is constant (rho undefined), are
    dropped. Returns rho (dimensionless, in [-1, 1]) indexed by seed.
    """
    wide = pd.concat({v: _by_seed(table, task, v, metric) for v in x}, axis=1)
    xs = np.array([x[v] for v in wide.columns], dtype=float)
    out = {}
    for seed, row in wide.iterrows():
        ok = np.isfinite(row.values)
        if ok.sum() < 3 or np.ptp(row.values[ok]) == 0:
            continue
        out[seed] = stats.spearmanr(xs[ok], row.values[ok]).statistic
    return pd.Series(out, dtype=float).rename_axis("seed")


def paired_summary(d, direction: str, decision: dict | None = None) -> dict:
    """Statistics of per-seed values d (1-D; NaNs dropped) for a claim predicting their sign.

    Args:
        d: per-seed differences (or per-seed trend statistics).
        direction: "increase" (claim: d > 0) or "decrease" (claim: d < 0).
        decision: the config's ``claims.decision`` (defaults: DECISION_DEFAULTS).

    Returns:
        n, mean, ci_low, ci_high (bootstrap CI of the mean, d's unit), p_value (one-sided exact
        sign-flip permutation test in the claimed direction), p_opposite (the other side), p_min
        (smallest p the test can give with n seeds), effect_size (d_z = mean / sd, ddof 1).
    """
    dec = {**DECISION_DEFAULTS, **(decision or {})}
    if direction not in ("increase", "decrease"):
        raise ValueError(f"direction must be 'increase' or 'decrease', got {direction!r}")
    x = np.asarray(d, dtype=float)
    x = x[np.isfinite(x)]
    n = len(x)
    out = dict(n=n, mean=float(x.mean()) if n else np.nan, ci_low=np.nan, ci_high=np.nan, p_value=np.nan,
               p_opposite=np.nan, p_min=float(max(0.5**n, 1 / (dec["n_resamples"] + 1))) if n else np.nan,
               effect_size=np.nan)
    if n < 2:
        return out
    if np.ptp(x) == 0:
        out["ci_low"] = out["ci_high"] = out["mean"]
    else:
        ci = stats.bootstrap((x,), np.mean, confidence_level=dec["ci_level"], n_resamples=dec["n_resamples"],
                             method=dec["ci_method"], rng=np.random.default_rng(dec["seed"])).confidence_interval
        out["ci_low"], out["ci_high"] = float(ci.low), float(ci.high)
    claimed, opposite = ("greater", "less") if direction == "increase" else ("less", "greater")
    for key, alternative in (("p_value", claimed), ("p_opposite", opposite)):
        out[key] = float(stats.permutation_test((x,), np.mean, permutation_type="samples", alternative=alternative,
                                                n_resamples=dec["n_resamples"],
                                                rng=np.random.default_rng(dec["seed"])).pvalue)
    sd = x.std(ddof=1)
    out["effect_size"] = float(x.mean() / sd) if sd > 0 else float(np.sign(x.mean()) * np.inf)
    return out


def verdict(summary: dict, direction: str, margin: float, decision: dict | None = None) -> tuple[str, str]:
    """The verdict of one comparison by the decision rule above, and a short reason.

    Args:
        summary: the output of :func:`paired_summary`.
        direction: "increase" or "decrease" (the claimed sign of d).
        margin: half-width of the negligible-effect band, in d's unit (>= 0).
    """
    dec = {**DECISION_DEFAULTS, **(decision or {})}
    n, lo, hi = summary["n"], summary["ci_low"], summary["ci_high"]
    if n < dec["min_seeds"]:
        return INCONCLUSIVE, f"{n} seeds < min_seeds {dec['min_seeds']}"
    above, below = lo > 0, hi < 0  # the whole CI lies above / below 0
    claimed_side, opposite_side = (above, below) if direction == "increase" else (below, above)
    if claimed_side and summary["p_value"] <= dec["alpha"]:
        return REPRODUCED, "CI excludes 0 in the claimed direction and p <= alpha"
    if opposite_side and summary["p_opposite"] <= dec["alpha"]:
        return NOT_REPRODUCED, "CI excludes 0 in the opposite direction and p <= alpha"
    if -margin <= lo and hi <= margin:
        return NOT_REPRODUCED, f"CI within the negligible band ±{margin:.3g}"
    if summary["p_min"] > dec["alpha"]:
        return INCONCLUSIVE, f"with {n} seeds the smallest p is {summary['p_min']:.3g} > alpha {dec['alpha']}"
    if claimed_side or opposite_side:
        return INCONCLUSIVE, "CI excludes 0 but p > alpha"
    return INCONCLUSIVE, "CI includes 0"


def combine(verdicts: list[str], rule: str = "all") -> str:
    """A claim's verdict from its parts' verdicts: rule "all" or "any" (see the module comment)."""
    if not verdicts:
        return INCONCLUSIVE
    if rule == "all":
        if all(v == REPRODUCED for v in verdicts):
            return REPRODUCED
        return NOT_REPRODUCED if NOT_REPRODUCED in verdicts else INCONCLUSIVE
    if rule == "any":
        if REPRODUCED in verdicts:
            return REPRODUCED
        return NOT_REPRODUCED if all(v == NOT_REPRODUCED for v in verdicts) else INCONCLUSIVE
    raise ValueError(f"combine must be 'all' or 'any', got {rule!r}")


def _theory_part(checks: pd.DataFrame | None, prefixes: list[str]) -> dict:
    if checks is None:
        return dict(n=0, verdict=INCONCLUSIVE, note="no theory checks given")
    rows = checks[checks["check"].astype(str).apply(lambda c: any(c.startswith(p) for p in prefixes))]
    passed = rows["passed"].astype(str).str.lower().isin(["true", "1"])
    if rows.empty:
        return dict(n=0, verdict=INCONCLUSIVE, note=f"no theory check matches {prefixes}")
    v = REPRODUCED if passed.all() else NOT_REPRODUCED
    failed = ", ".join(rows.loc[~passed.values, "check"])
    return dict(n=len(rows), verdict=v, note=f"{int(passed.sum())}/{len(rows)} checks pass" + (f"; failed: {failed}" if failed else ""))


def evaluate_claims(table: pd.DataFrame, claims: dict, theory_checks: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every claim of the config's ``claims`` section, one row per part (comparison x task).

    Args:
        table: long metrics table (task, variant, seed, metric, value).
        claims: the ``claims`` section: ``decision`` plus claim id -> {statement, combine,
            comparisons}; see config.yaml.
        theory_checks: the theory rule's checks table (check, passed, ...), for ``kind: theory``.

    Returns:
        Columns claim, statement, part, kind, task, metric, comparison, direction, n, mean, ci_low,
        ci_high, p_value, p_min, effect_size, verdict, note, combine, claim_verdict.
    """
    decision = {**DECISION_DEFAULTS, **claims.get("decision", {})}
    rows = []
    for claim, spec in claims.items():
        if claim == "decision":
            continue
        parts = []
        for comp in spec["comparisons"]:
            kind = comp.get("kind", "paired")
            if kind == "theory":
                res = _theory_part(theory_checks, comp["checks"])
                parts.append(dict(kind=kind, task="", metric="theory checks", comparison="simulated vs closed form: "
                                  + ", ".join(comp["checks"]), direction="", **res))
                continue
            for task in comp["tasks"]:
                if kind == "paired":
                    d, base = paired_differences(table, task, comp["metric"], comp["a"], comp["b"],
                                                 comp.get("metric_b"), comp.get("task_b"))
                    margin = comp.get("margin", decision["margin"]) * abs(base) if np.isfinite(base) else 0.0
                    side_b = comp["b"]
                    if comp.get("metric_b") or comp.get("task_b"):
                        side_b = f"{comp.get('metric_b') or comp['metric']}({comp.get('task_b') or task}/{comp['b']})"
                        label = f"{comp['metric']}({task}/{comp['a']}) − {side_b}"
                    else:
                        label = f"{comp['a']} − {side_b}"
                elif kind == "trend":
                    d = trend_statistics(table, task, comp["metric"], comp["x"])
                    margin = comp.get("margin", decision["trend_margin"])
                    label = "Spearman ρ(x, metric) per seed over " + ", ".join(f"{v}={x}" for v, x in comp["x"].items())
                else:
                    raise ValueError(f"claim {claim}: unknown comparison kind {kind!r}")
                summ = paired_summary(d.values, comp["direction"], decision)
                v, note = verdict(summ, comp["direction"], margin, decision)
                summ.pop("p_opposite")
                parts.append(dict(kind=kind, task=task, metric=comp["metric"], comparison=label,
                                  direction=comp["direction"], verdict=v, note=note, **summ))
        rule = spec.get("combine", "all")
        overall = combine([p["verdict"] for p in parts], rule)
        for i, p in enumerate(parts, 1):
            rows.append(dict(claim=claim, statement=spec.get("statement", ""), part=i, **p, combine=rule,
                             claim_verdict=overall))
    columns = ["claim", "statement", "part", "kind", "task", "metric", "comparison", "direction", "n", "mean",
               "ci_low", "ci_high", "p_value", "p_min", "effect_size", "verdict", "note", "combine", "claim_verdict"]
    return pd.DataFrame(rows).reindex(columns=columns)


def claims_markdown(result: pd.DataFrame, decision: dict | None = None) -> str:
    """A readable report of :func:`evaluate_claims`: one verdict line per claim, then its parts."""
    dec = {**DECISION_DEFAULTS, **(decision or {})}
    lines = ["# Claims", "",
             f"Decision rule (fixed in the config before the run): per part, *reproduced* when the "
             f"{dec['ci_level']:.0%} bootstrap CI of the mean per-seed difference lies on the claimed side of 0 "
             f"and the one-sided exact sign-flip permutation test gives p ≤ {dec['alpha']}; *not reproduced* "
             f"when the same holds in the opposite direction, or when the CI lies within ±{dec['margin']:.0%} "
             f"of the baseline's mean (±{dec['trend_margin']} in Spearman ρ for trends); *inconclusive* otherwise. "
             f"With n seeds the smallest one-sided p is 1/2^n (0.125 for 3 seeds, 0.031 for 5).", "",
             "| claim | verdict | statement |", "|---|---|---|"]
    for claim, g in result.groupby("claim", sort=False):
        lines.append(f"| {claim} | **{g['claim_verdict'].iloc[0]}** ({g['combine'].iloc[0]} of {len(g)} parts) "
                     f"| {g['statement'].iloc[0]} |")
    lines += ["", "## Parts", "",
              "| claim | task | metric | comparison | claimed | n | mean [95% CI] | p | p_min | d_z | verdict | why |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    fmt = lambda x: "" if pd.isna(x) else f"{x:.3g}"  # noqa: E731
    for _, r in result.iterrows():
        ci = "" if pd.isna(r["mean"]) else f"{fmt(r['mean'])} [{fmt(r['ci_low'])}, {fmt(r['ci_high'])}]"
        lines.append(f"| {r['claim']} | {r['task']} | {r['metric']} | {r['comparison']} | {r['direction']} | {r['n']} "
                     f"| {ci} | {fmt(r['p_value'])} | {fmt(r['p_min'])} | {fmt(r['effect_size'])} | {r['verdict']} "
                     f"| {r['note']} |")
    return "\n".join(lines) + "\n"
