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

import numpy as np
import pandas as pd
from scipy import stats

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


PART_KEY = ["claim", "task", "metric", "comparison"]  # what identifies a claim part across runs
