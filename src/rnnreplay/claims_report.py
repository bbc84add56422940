"""The claims stage's reports: the verdicts of :func:`rnnreplay.claims.evaluate_claims` as
markdown (one line per claim, then its parts, with the decision rule and the learning gate in
words), the "did the networks learn?" table, and the stage that writes ``claims.csv`` and
``claims.md``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .checks import stage_outputs
from .claims import DECISION_DEFAULTS, PART_KEY, SOURCE_ORDER, claim_source, evaluate_claims, learned_seeds

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


def gate_text(dec: dict) -> str:
    """The learning gate of the decision settings ``dec`` (``claims.decision`` over
    :data:`~rnnreplay.claims.DECISION_DEFAULTS`) in words, one paragraph of the claims report."""
    if dec.get("learned_max_error_ratio") is None:
        return ("Learning gate: none (every seed's network counts as having learned the task; the config sets no "
                "`claims.decision.learned_max_error_ratio`).")
    return (f"Learning gate (fixed in the config before the run): a seed enters a comparison only if the networks "
            f"on every side path-integrate, i.e. their decoding error when driven by held-out paths, over chance "
            f"({', '.join(f'`{m}`' for m in dec['learned_metrics'])}: over the whole path and at its last step), "
            f"is at most {dec['learned_max_error_ratio']}; *learned* gives "
            f"the passing seeds per side. Fewer than {dec['min_seeds']} seeds passing on every side make a part "
            f"*invalid*: the networks did not learn, so the comparison says nothing about the mechanisms.")


def number_text(x) -> str:
    """A number as the reports print it (3 significant digits); empty for NaN."""
    return "" if pd.isna(x) else f"{x:.3g}"


def mean_ci_text(mean, low, high) -> str:
    """``mean [low, high]`` as the reports print an effect and its CI; empty without a mean."""
    return "" if pd.isna(mean) else f"{number_text(mean)} [{number_text(low)}, {number_text(high)}]"


def claims_markdown(result: pd.DataFrame, decision: dict | None = None, robustness: dict | None = None) -> str:
    """A readable report of :func:`rnnreplay.claims.evaluate_claims`: one verdict line per claim,
    then its parts. With ``robustness`` (:func:`robustness_columns` of a robustness map), both tables gain a
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
             gate_text(dec), "",
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
        ci = mean_ci_text(r["mean"], r["ci_low"], r["ci_high"])
        learned = "" if pd.isna(r.get("learned")) else r["learned"]
        lines.append(f"| {r['claim']} | {r['task']} | {r['metric']} | {r['comparison']} | {r['direction']} | {learned} "
                     f"| {r['n']} "
                     f"| {ci} | {number_text(r['p_value'])} | {number_text(r['p_min'])} "
                     f"| {effect_size_text(r['effect_size'])} | {r['verdict']} "
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
        lines.append(f"| {r['task']} | {r['variant']} | {r['learned']}/{r['seeds']} | {number_text(r['pi_ratio'])} "
                     f"| {number_text(r['pi_ratio_last'])} | {r['plateaued']}/{r['seeds']} "
                     f"| {number_text(r['loss_fall'])} |")
    return "\n".join(lines) + "\n"


@stage_outputs("out_csv", "out_md")
def claims_files(claims: dict, metrics: str, theory_checks: str | None, out_csv: str, out_md: str,
                 robustness: tuple[str, str] | None = None) -> str:
    """The claims stage: :func:`rnnreplay.claims.evaluate_claims` of the config's ``claims`` section on the long
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
