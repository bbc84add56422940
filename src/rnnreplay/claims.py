"""Claims as verdicts across seeds, by a decision rule fixed in the config
(docs/methods.md#claims-and-the-decision-rule).

A claim (config.yaml, ``claims:``) is a list of comparisons combined by ``combine`` (all | any).
Each comparison reduces to one number per seed, d_i, signed so that the claim predicts the sign:
  paired: d_i = metric(A, seed i) - metric(B, seed i) on one task; direction decrease: A < B.
  trend:  d_i = Spearman rho between x (e.g. lambda_v) and the metric across the listed
          variants, within seed i; direction increase: the metric rises with x.
  theory: the rows of the theory checks CSV whose name starts with one of ``checks``.
  range:  x_i = metric(variant, seed i) on one task, one part per (task, variant); the claim is
          that the mean lies within ``bounds`` [lo, hi] (either may be null: one-sided), e.g. a
          displacement exponent within the published range of sleep replay.
On d the same machinery runs: the mean with a bootstrap CI (scipy.stats.bootstrap, fixed seed),
an exact paired sign-flip permutation test of the mean (scipy.stats.permutation_test, one-sided
in the claimed direction), and the paired effect size d_z = mean(d) / sd(d).
The permutation test was chosen over Wilcoxon because it tests the same statistic the CI is
about (the mean difference); both are exact over the 2^n sign flips, and with n seeds neither
can give a one-sided p below 1 / 2^n (0.125 for 3 seeds, 0.031 for 5): with fewer than
5 seeds no claim can be "reproduced" or refuted by direction at alpha = 0.05.

The decision rule (``claims.decision`` in the config, fixed before the run):
  reproduced      n >= min_seeds, the CI lies entirely on the claimed side of 0, and the
                  one-sided p (claimed direction) <= alpha;
  not reproduced  n >= min_seeds and either the CI lies entirely on the opposite side with the
                  one-sided p (opposite direction) <= alpha, or the CI lies inside
                  [-margin, +margin] (a negligible effect): margin = ``margin`` * |mean of B|
                  for paired comparisons, ``trend_margin`` (in units of rho) for trends
                  (a comparison may set its own ``margin``, in the same units);
  inconclusive    otherwise.
A range part is judged as two one-sided tests (TOST) on x - lo and hi - x with the same CI and
sign-flip test: reproduced when the CI lies inside [lo, hi] and each one-sided p (mean above lo,
mean below hi) <= alpha; not reproduced when the CI lies wholly below lo (or above hi) with the
one-sided p in that direction <= alpha; inconclusive otherwise (there is no negligible band).
A claim with combine ``all`` is reproduced when every part is, not reproduced when any part is
not, inconclusive otherwise; with ``any``, reproduced when some part is, not reproduced when
every part is not, inconclusive otherwise. A theory part is reproduced when all its checks pass.
A claim's source is read off its id (:func:`claim_source`): K* KR24, C* CR26, others the project's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .checks import stage_outputs

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE, INVALID = "reproduced", "not reproduced", "inconclusive", "invalid"
DECISION_DEFAULTS = dict(ci_level=0.95, alpha=0.05, n_resamples=9999, seed=0, min_seeds=3, margin=0.05,
                         trend_margin=0.2, ci_method="percentile",
                         learned_metrics=("pi_ratio", "pi_ratio_last"), learned_max_error_ratio=None)


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


def learned_seeds(table: pd.DataFrame, task: str, variant: str, decision: dict) -> tuple[set, int]:
    """The learning gate of one (task, variant): the seeds whose network path-integrates, i.e.
    each of whose ``learned_metrics`` (the active-run decoding error over chance: over the whole
    test path, and at its last step) is at most ``learned_max_error_ratio``, and the number of
    seeds that have the metrics. A replay-only variant's files carry the gate metrics of the model
    they replay, so it inherits its gate. With no gate (``learned_max_error_ratio`` None) every
    seed of the variant counts as learned.

    Returns:
        (set of learned seeds, number of seeds with the metrics).
    """
    gate = decision.get("learned_max_error_ratio")
    if gate is None:
        seeds = set(table.loc[(table["task"] == task) & (table["variant"] == variant), "seed"])
        return seeds, len(seeds)
    ratios = pd.concat([_by_seed(table, task, variant, m) for m in decision["learned_metrics"]], axis=1).dropna()
    return set(ratios.index[(ratios <= gate).all(axis=1)]), len(ratios)


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


def range_summary(x, lo: float | None, hi: float | None, decision: dict | None = None) -> dict:
    """Statistics of per-seed values x (1-D; NaNs dropped) for a claim that their mean lies within
    [lo, hi] (a bound of None is absent).

    Returns:
        n, mean, ci_low, ci_high (bootstrap CI of the mean of x, x's unit), p_min (as
        :func:`paired_summary`), p_value (the larger of the one-sided p's that the mean lies above
        lo and below hi: the TOST p), effect_size (the smaller standardised distance from the mean
        to a bound, (mean - lo) / sd or (hi - mean) / sd; negative when outside), and per bound
        ``p_<side>_in`` / ``p_<side>_out`` (side lo or hi) for :func:`range_verdict`.
    """
    if lo is None and hi is None:
        raise ValueError("a range needs at least one bound")
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    base = paired_summary(x, "increase", decision)
    out = {k: base[k] for k in ("n", "mean", "ci_low", "ci_high", "p_min")}
    inside, sizes = [], []
    for side, bound, sign in (("lo", lo, 1.0), ("hi", hi, -1.0)):
        if bound is None:
            continue
        part = paired_summary(sign * (x - bound), "increase", decision)
        out[f"p_{side}_in"], out[f"p_{side}_out"] = part["p_value"], part["p_opposite"]
        inside.append(part["p_value"])
        sizes.append(part["effect_size"])
    out["p_value"] = float(np.max(inside))
    out["effect_size"] = float(np.min(sizes))
    return out


def range_verdict(summary: dict, lo: float | None, hi: float | None, decision: dict | None = None) -> tuple[str, str]:
    """The verdict of a range part (see the module comment) and a short reason."""
    dec = {**DECISION_DEFAULTS, **(decision or {})}
    n, ci_lo, ci_hi, alpha = summary["n"], summary["ci_low"], summary["ci_high"], dec["alpha"]
    if n < dec["min_seeds"]:
        return INCONCLUSIVE, f"{n} seeds < min_seeds {dec['min_seeds']}"
    above_lo = lo is None or (ci_lo > lo and summary["p_lo_in"] <= alpha)
    below_hi = hi is None or (ci_hi < hi and summary["p_hi_in"] <= alpha)
    if above_lo and below_hi:
        return REPRODUCED, f"CI within {bounds_text(lo, hi)} and each one-sided p <= alpha"
    if lo is not None and ci_hi < lo and summary["p_lo_out"] <= alpha:
        return NOT_REPRODUCED, f"CI below {lo:g} and p <= alpha"
    if hi is not None and ci_lo > hi and summary["p_hi_out"] <= alpha:
        return NOT_REPRODUCED, f"CI above {hi:g} and p <= alpha"
    if summary["p_min"] > alpha:
        return INCONCLUSIVE, f"with {n} seeds the smallest p is {summary['p_min']:.3g} > alpha {alpha}"
    return INCONCLUSIVE, f"CI or p does not settle {bounds_text(lo, hi)}"


def bounds_text(lo: float | None, hi: float | None) -> str:
    """[lo, hi] as text, with an open side shown as -inf or inf."""
    return f"[{'-inf' if lo is None else f'{lo:g}'}, {'inf' if hi is None else f'{hi:g}'}]"


def _range_part(table: pd.DataFrame, task: str, variant: str, comp: dict, decision: dict) -> dict:
    """One (task, variant) part of a ``range`` comparison, learning gate included."""
    lo, hi = comp["bounds"]
    seeds, total = learned_seeds(table, task, variant, decision)
    values = _by_seed(table, task, variant, comp["metric"])
    summ = range_summary(values[values.index.isin(seeds)].values, lo, hi, decision)
    learned = f"{len(seeds)}/{total}"
    if decision.get("learned_max_error_ratio") is not None and len(seeds) < decision["min_seeds"]:
        v, note = INVALID, _too_few_seeds([total], learned, decision) or (
            f"the networks did not learn: {len(seeds)} seed(s) pass the learning gate ({learned}) "
            f"< min_seeds {decision['min_seeds']}")
    else:
        v, note = range_verdict(summ, lo, hi, decision)
    summ = {k: summ[k] for k in ("n", "mean", "ci_low", "ci_high", "p_value", "p_min", "effect_size")}
    return dict(kind="range", task=task, metric=comp["metric"], comparison=f"{variant} within {bounds_text(lo, hi)}",
                direction="within", learned=learned, verdict=v, note=note, **summ)


def _too_few_seeds(totals: list[int], learned: str, decision: dict) -> str | None:
    """Why a part is *invalid* when it is not that the networks failed the learning gate: a side
    with fewer seeds measured than ``min_seeds`` (too few seeds run, or a variant or metric
    missing from the table). None when every side has enough seeds measured."""
    fewest = min(totals) if totals else 0
    if fewest >= decision["min_seeds"]:
        return None
    return (f"too few seeds measured: {fewest} seed(s) on a side have the learning gate's metrics "
            f"({', '.join(decision['learned_metrics'])}; {learned}) < min_seeds {decision['min_seeds']}; "
            "learning was not judged")


def combine(verdicts: list[str], rule: str = "all") -> str:
    """A claim's verdict from its parts' verdicts: rule "all" or "any" (see the module comment)."""
    if not verdicts:
        return INCONCLUSIVE
    if rule == "all":
        if all(v == REPRODUCED for v in verdicts):
            return REPRODUCED
        if NOT_REPRODUCED in verdicts:  # a part judged on networks that learned failed
            return NOT_REPRODUCED
        return INVALID if INVALID in verdicts else INCONCLUSIVE
    if rule == "any":
        if REPRODUCED in verdicts:
            return REPRODUCED
        if all(v == NOT_REPRODUCED for v in verdicts):
            return NOT_REPRODUCED
        return INVALID if INVALID in verdicts else INCONCLUSIVE
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
        ci_high, p_value, p_min, effect_size, learned, verdict, note, combine, claim_verdict, baseline
        (paired parts: the mean of side B over the seeds compared, B's unit, which the negligible
        band and the verdict figure scale by; NaN for other kinds).
        ``learned``: per side (A vs B; every variant of a trend), the seeds passing the learning
        gate over the seeds with a gate metric, e.g. ``5/5 vs 3/5``; only seeds that learned on
        every side enter the comparison, and fewer than ``min_seeds`` of them make the part
        ``invalid`` (a verdict on networks that do not path-integrate is not a result).
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
            if kind == "range":
                parts += [_range_part(table, task, variant, comp, decision)
                          for task in comp["tasks"] for variant in comp["variants"]]
                continue
            for task in comp["tasks"]:
                if kind == "paired":
                    sides = [(task, comp["a"]), (comp.get("task_b") or task, comp["b"])]
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
                    base = np.nan
                    sides = [(task, v) for v in comp["x"]]
                    d = trend_statistics(table, task, comp["metric"], comp["x"])
                    margin = comp.get("margin", decision["trend_margin"])
                    label = "Spearman ρ(x, metric) per seed over " + ", ".join(f"{v}={x}" for v, x in comp["x"].items())
                else:
                    raise ValueError(f"claim {claim}: unknown comparison kind {kind!r}")
                gates = [learned_seeds(table, t, v, decision) for t, v in dict.fromkeys(sides)]
                usable = set.intersection(*(seeds for seeds, _ in gates))
                learned = " vs ".join(f"{len(seeds)}/{total}" for seeds, total in gates)
                if kind == "paired" and decision.get("learned_max_error_ratio") is not None:
                    _, base = paired_differences(table[table["seed"].isin(usable)], task, comp["metric"], comp["a"],
                                                 comp["b"], comp.get("metric_b"), comp.get("task_b"))
                    margin = comp.get("margin", decision["margin"]) * abs(base) if np.isfinite(base) else 0.0
                d = d[d.index.isin(usable)]
                summ = paired_summary(d.values, comp["direction"], decision)
                if decision.get("learned_max_error_ratio") is not None and len(usable) < decision["min_seeds"]:
                    v, note = INVALID, _too_few_seeds([total for _, total in gates], learned, decision) or (
                        f"the networks did not learn: {len(usable)} seed(s) pass the learning gate "
                        f"on every side ({learned}) < min_seeds {decision['min_seeds']}")
                else:
                    v, note = verdict(summ, comp["direction"], margin, decision)
                summ.pop("p_opposite")
                parts.append(dict(kind=kind, task=task, metric=comp["metric"], comparison=label,
                                  direction=comp["direction"], learned=learned, verdict=v, note=note, **summ,
                                  baseline=float(base)))
        rule = spec.get("combine", "all")
        overall = combine([p["verdict"] for p in parts], rule)
        for i, p in enumerate(parts, 1):
            rows.append(dict(claim=claim, statement=spec.get("statement", ""), part=i, **p, combine=rule,
                             claim_verdict=overall))
    columns = ["claim", "statement", "part", "kind", "task", "metric", "comparison", "direction", "n", "mean",
               "ci_low", "ci_high", "p_value", "p_min", "effect_size", "learned", "verdict", "note", "combine",
               "claim_verdict", "baseline"]
    return pd.DataFrame(rows).reindex(columns=columns)


CLAIM_SOURCES = {"K": "KR24", "C": "CR26"}  # claim id prefix -> paper; any other prefix: the project's own
PROJECT_SOURCE = "project"
SOURCE_ORDER = ("KR24", "CR26", PROJECT_SOURCE)


def claim_source(claim: str) -> str:
    """Where a claim comes from, read off its id's first letter: ``K*`` KR24 (Krishna et al. 2024),
    ``C*`` CR26 (Casco-Rodriguez et al. 2026), any other (``D*``, ``E*``: analyses this project
    adds) ``project``. config.yaml names its claims by this convention."""
    return CLAIM_SOURCES.get(str(claim)[:1].upper(), PROJECT_SOURCE)


ZERO_VARIANCE_DZ = 1e6  # |d_z| above this (or infinite) means the per-seed values do not vary (rounding)


def effect_size_text(d_z) -> str:
    """d_z as the claims table prints it: 3 significant digits; ``n/a (zero variance)`` where the
    per-seed values do not vary (d_z infinite, or above :data:`ZERO_VARIANCE_DZ` from rounding in
    the SD); empty for NaN."""
    if pd.isna(d_z):
        return ""
    return "n/a (zero variance)" if not np.isfinite(d_z) or abs(d_z) > ZERO_VARIANCE_DZ else f"{d_z:.3g}"


def parts_text(combine_rule: str, n_parts: int) -> str:
    """How a claim's verdict combines its parts, e.g. ``all of 4 parts``, ``any of 2 parts``, ``1 part``."""
    return "1 part" if n_parts == 1 else f"{combine_rule} of {n_parts} parts"


def _gate_text(dec: dict) -> str:
    if dec.get("learned_max_error_ratio") is None:
        return ("Learning gate: none (every seed's network counts as having learned the task; the config sets no "
                "`claims.decision.learned_max_error_ratio`).")
    return (f"Learning gate (fixed in the config before the run): a seed enters a comparison only if the networks "
            f"on every side path-integrate, i.e. their decoding error when driven by held-out paths, over chance "
            f"({', '.join(f'`{m}`' for m in dec['learned_metrics'])}: over the whole path and at its last step), "
            f"is at most {dec['learned_max_error_ratio']}; *learned* gives "
            f"the passing seeds per side. Fewer than {dec['min_seeds']} seeds passing on every side make a part "
            f"*invalid*: the networks did not learn, so the comparison says nothing about the mechanisms.")


def _num(x) -> str:
    """A number as the reports print it (3 significant digits); empty for NaN."""
    return "" if pd.isna(x) else f"{x:.3g}"


def _mean_ci(mean, low, high) -> str:
    """``mean [low, high]`` as the reports print an effect and its CI; empty without a mean."""
    return "" if pd.isna(mean) else f"{_num(mean)} [{_num(low)}, {_num(high)}]"


def claims_markdown(result: pd.DataFrame, decision: dict | None = None, robustness: dict | None = None) -> str:
    """A readable report of :func:`evaluate_claims`: one verdict line per claim, then its parts.
    With ``robustness`` (:func:`robustness_columns` of a robustness map), both tables gain a
    column with each claim's and part's class across the map's universes."""
    dec = {**DECISION_DEFAULTS, **(decision or {})}
    mapped = robustness is not None
    claim_class = (lambda c: robustness["claims"].get(c, "not mapped")) if mapped else None  # noqa: E731
    part_class = (lambda r: robustness["parts"].get(tuple("" if pd.isna(r[k]) else str(r[k]) for k in PART_KEY),  # noqa: E731
                                                     "not mapped")) if mapped else None
    lines = ["# Claims", "",
             f"Decision rule (fixed in the config before the run): per part, *reproduced* when the "
             f"{dec['ci_level']:.0%} bootstrap CI of the mean per-seed difference lies on the claimed side of 0 "
             f"and the one-sided exact sign-flip permutation test gives p ≤ {dec['alpha']}; *not reproduced* "
             f"when the same holds in the opposite direction, or when the CI lies within ±{dec['margin']:.0%} "
             f"of the baseline's mean (±{dec['trend_margin']} in Spearman ρ for trends); *inconclusive* otherwise. "
             f"With n seeds the smallest one-sided p is 1/2^n (0.125 for 3 seeds, 0.031 for 5).", "",
             "Range parts (claimed: *within* [lo, hi]): *reproduced* when the CI of the mean lies inside the range "
             "and each one-sided sign-flip test (mean above lo, mean below hi) gives p ≤ alpha (two one-sided tests; "
             "p is the larger); *not reproduced* when the CI lies wholly outside one bound with p ≤ alpha in that "
             "direction; *inconclusive* otherwise.", "",
             _gate_text(dec), "",
             "Source: KR24 (Krishna et al. 2024), CR26 (Casco-Rodriguez et al. 2026) or project (analyses this "
             "project adds), read off the claim id (K\\*, C\\*, others).", "",
             *(["Robustness (map): the claim's or part's class across the universes of the kept robustness map "
                "(docs/robustness.md): robust (the same verdict wherever the networks learned), fragile, reversed, "
                "untested; *not mapped* where the map does not judge it.", ""] if mapped else []),
             "| claim | source | verdict | " + ("robustness (map) | " if mapped else "") + "statement |",
             "|---|---|---|---|" + ("---|" if mapped else "")]
    groups = list(result.groupby("claim", sort=False))
    groups.sort(key=lambda item: SOURCE_ORDER.index(claim_source(item[0])))  # stable: config order within a source
    for claim, g in groups:
        lines.append(f"| {claim} | {claim_source(claim)} | **{g['claim_verdict'].iloc[0]}** "
                     f"({parts_text(g['combine'].iloc[0], len(g))}) | "
                     + (f"{claim_class(claim)} | " if mapped else "") + f"{g['statement'].iloc[0]} |")
    lines += ["", "## Parts", "",
              "| claim | task | metric | comparison | claimed | learned | n | mean [95% CI] | p | p_min | d_z | verdict "
              "| " + ("robustness (map) | " if mapped else "") + "why |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|" + ("---|" if mapped else "")]
    for _, r in result.iterrows():
        ci = _mean_ci(r["mean"], r["ci_low"], r["ci_high"])
        learned = "" if pd.isna(r.get("learned")) else r["learned"]
        lines.append(f"| {r['claim']} | {r['task']} | {r['metric']} | {r['comparison']} | {r['direction']} | {learned} "
                     f"| {r['n']} "
                     f"| {ci} | {_num(r['p_value'])} | {_num(r['p_min'])} | {effect_size_text(r['effect_size'])} | {r['verdict']} "
                     + (f"| {part_class(r)} " if mapped else "") + f"| {r['note']} |")
    return "\n".join(lines) + "\n"


def robustness_columns(parts_csv: str, claims_csv: str) -> dict:
    """The classes of a robustness map for :func:`claims_markdown`: ``{"parts": {(claim, task,
    metric, comparison): text}, "claims": {claim: text}}``, text e.g. "robust (reproduced)",
    "fragile"; from the map's per-part and per-claim tables (``robustness_parts.csv``,
    ``robustness_claims.csv`` of ``rnnreplay robustness``)."""
    def text(r):
        holds = "" if pd.isna(r.get("holds")) or not r.get("holds") else f" ({r['holds']})"
        return f"{r['robustness']}{holds}"

    parts = pd.read_csv(parts_csv)
    claims = pd.read_csv(claims_csv)
    return {"parts": {tuple("" if pd.isna(r[k]) else str(r[k]) for k in PART_KEY): text(r) for _, r in parts.iterrows()},
            "claims": {str(r["claim"]): text(r) for _, r in claims.iterrows()}}


def learning_table(table: pd.DataFrame, decision: dict | None = None) -> pd.DataFrame:
    """Did the networks learn? Per (task, variant): seeds passing the learning gate, the mean
    active-run error ratios, and the seeds whose loss plateaued (docs/methods.md#did-the-networks-learn).

    Returns:
        Columns task, variant, seeds, learned (seeds passing the gate; all seeds without a gate),
        pi_ratio, pi_ratio_last (means over seeds), plateaued (seeds), loss_fall (mean relative fall
        over the last fifth of training), final_loss (mean over seeds of the last 50 steps' loss).
    """
    dec = {**DECISION_DEFAULTS, **(decision or {})}
    rows = []
    for (task, variant), g in table.groupby(["task", "variant"], sort=False):
        by_metric = g.groupby("metric")["value"]
        mean = lambda m: float(by_metric.get_group(m).mean()) if m in by_metric.groups else np.nan  # noqa: E731
        plateaued = by_metric.get_group("loss_plateaued") if "loss_plateaued" in by_metric.groups else pd.Series()
        learned, total = learned_seeds(table, task, variant, dec)
        rows.append(dict(task=task, variant=variant, seeds=total, learned=len(learned), pi_ratio=mean("pi_ratio"),
                         pi_ratio_last=mean("pi_ratio_last"), plateaued=int((plateaued > 0).sum()),
                         loss_fall=mean("loss_fall"), final_loss=mean("final_loss")))
    return pd.DataFrame(rows)


def learning_markdown(learning: pd.DataFrame, decision: dict | None = None) -> str:
    """:func:`learning_table` as a markdown section of the claims report."""
    dec = {**DECISION_DEFAULTS, **(decision or {})}
    gate = dec.get("learned_max_error_ratio")
    lines = ["## Did the networks learn?", "",
             f"Per task and variant: seeds whose network passes the learning gate "
             f"({'error / chance <= ' + str(gate) + ' over the path and at its last step' if gate else 'no gate'}), "
             "the mean error ratios of the network driven by held-out paths, and the seeds whose training loss "
             "fell by less than 5% over the last fifth of training (plateaued), with the mean fall.", "",
             "| task | variant | learned | error / chance (path) | error / chance (last step) | plateaued | loss fall |",
             "|---|---|---|---|---|---|---|"]
    for _, r in learning.iterrows():
        lines.append(f"| {r['task']} | {r['variant']} | {r['learned']}/{r['seeds']} | {_num(r['pi_ratio'])} "
                     f"| {_num(r['pi_ratio_last'])} | {r['plateaued']}/{r['seeds']} | {_num(r['loss_fall'])} |")
    return "\n".join(lines) + "\n"


PART_KEY = ["claim", "task", "metric", "comparison"]


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
            claims table (``claims.csv`` of :func:`claims_files`). Parts are matched on (claim,
            task, metric, comparison); a part missing from a run has empty cells for that run.

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
        t[f"effect_{v}"] = [_mean_ci(m, lo, hi) for m, lo, hi in zip(t["mean"], t["ci_low"], t["ci_high"])]
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
    """:func:`learning_table` of several runs side by side (runs that differ in one setting).

    Args:
        metrics: the run's value (see :func:`compare_runs`) -> that run's long metrics table
            (``metrics.csv``).
        decision: the learning gate (``claims.decision``), the same for every run.

    Returns:
        Columns task, variant, then per run value v: seeds_v, learned_v, pi_ratio_v,
        pi_ratio_last_v, plateaued_v, loss_fall_v, final_loss_v (see :func:`learning_table`);
        a (task, variant) missing from a run has empty cells for it.
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
            + [_num(r[f"pi_ratio_{v}"]) for v in values] + [_num(r[f"final_loss_{v}"]) for v in values]
            + [f"{_num(r[f'loss_fall_{v}'])} ({count(r[f'plateaued_{v}'], r[f'seeds_{v}'])})" for v in values]
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


@stage_outputs("out_csv", "out_md")
def claims_files(claims: dict, metrics: str, theory_checks: str | None, out_csv: str, out_md: str,
                 robustness: tuple[str, str] | None = None) -> str:
    """The claims stage: :func:`evaluate_claims` of the config's ``claims`` section on the long
    metrics table ``metrics`` (CSV) and the theory checks (CSV, or None), written as CSV and
    markdown; with ``robustness`` (a map's parts and claims tables), the markdown shows each
    claim's and part's class across its universes. Returns a line for the log (each claim's verdict)."""
    from .io import write_text

    checks = pd.read_csv(theory_checks) if theory_checks else None
    table = pd.read_csv(metrics)
    result = evaluate_claims(table, claims, checks)
    write_text(out_csv, result.to_csv(index=False))
    learning = learning_markdown(learning_table(table, claims.get("decision")), claims.get("decision"))
    classes = robustness_columns(*robustness) if robustness else None
    write_text(out_md, claims_markdown(result, claims.get("decision"), classes) + "\n" + learning)
    verdicts = result.drop_duplicates("claim").set_index("claim")["claim_verdict"]
    return ", ".join(f"{c} {v}" for c, v in verdicts.items()) + f" -> {out_csv}, {out_md}"
