"""The robustness map: which claim verdicts hold across the universes of a robustness run.

Each universe (``workflow/configs/robustness.yaml``; :mod:`rnnreplay.universes`) judges the claims
with the same decision rule and learning gate; :func:`rnnreplay.run_comparison.compare_runs` puts
their ``claims.csv`` side by side, and :func:`classify` names what happens to each part's verdict
(and each claim's) across them, by the rule the robustness config declares before the run:

  robust    the same verdict in every universe where it is not ``invalid``;
  fragile   verdicts differ, never both ``reproduced`` and ``not reproduced``;
  reversed  ``reproduced`` in one universe and ``not reproduced`` in another;
  untested  valid (not ``invalid``) in fewer than ``min_valid_share`` of the universes that judge it.
"""

from __future__ import annotations

import pandas as pd

from .claims import INCONCLUSIVE, INVALID, NOT_REPRODUCED, PART_KEY, REPRODUCED, combine
from .run_comparison import compare_runs, run_label

ROBUST, FRAGILE, REVERSED, UNTESTED = "robust", "fragile", "reversed", "untested"
SHORT = {REPRODUCED: "R", NOT_REPRODUCED: "N", INCONCLUSIVE: "I", INVALID: "X"}  # verdicts in the wide table


def classify(verdicts: list, min_valid_share: float = 0.5) -> tuple[str, str]:
    """(robustness class, the verdict it holds when robust, else "") of one part's (or claim's)
    verdicts across universes; empty or missing entries (a universe that does not judge it) are
    left out.

    Examples: [reproduced, reproduced, invalid] -> robust (reproduced); [reproduced, inconclusive]
    -> fragile; [reproduced, not reproduced] -> reversed; [invalid, invalid, reproduced] with
    min_valid_share 0.5 -> untested.
    """
    judged = [v for v in verdicts if isinstance(v, str) and v]
    valid = [v for v in judged if v != INVALID]
    if not judged or len(valid) < min_valid_share * len(judged) or not valid:
        return UNTESTED, ""
    if len(set(valid)) == 1:
        return ROBUST, valid[0]
    if REPRODUCED in valid and NOT_REPRODUCED in valid:
        return REVERSED, ""
    return FRAGILE, ""


def robustness_map(claims: dict[str, pd.DataFrame], min_valid_share: float = 0.5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The map of several universes' claims tables.

    Args:
        claims: universe name -> its ``claims.csv`` table, in the declared order (the first is the
            reference: changes are named against it).
        min_valid_share: the declared rule's share (see the module's docstring).

    Returns:
        (parts, claims_table). ``parts``: one row per claim part (claim, task, metric, comparison,
        statement), per universe u its ``verdict_u``, ``claim_verdict_u``, ``effect_u`` and
        ``learned_u`` (:func:`rnnreplay.run_comparison.compare_runs`), then ``robustness``, ``holds`` (the
        verdict of a robust part), ``valid`` and ``judged`` (universes), ``changed_in`` (the
        universes whose valid verdict differs from the reference's, ``name: verdict``, "; "-joined).
        ``claims_table``: one row per claim: statement, per-universe claim verdicts, the same
        classification of the claim verdicts, and the count of parts per class.
    """
    names = list(claims)
    parts = compare_runs(claims)
    labels = [run_label(n) for n in names]
    reference = labels[0]
    rows = []
    for _, r in parts.iterrows():
        verdicts = [r[f"verdict_{u}"] for u in labels]
        klass, holds = classify(verdicts, min_valid_share)
        judged = [v for v in verdicts if isinstance(v, str) and v]
        ref = r[f"verdict_{reference}"]
        changed = [f"{u}: {r[f'verdict_{u}']}" for u in labels[1:]
                   if isinstance(r[f"verdict_{u}"], str) and r[f"verdict_{u}"] not in ("", INVALID, ref)]
        rows.append(dict(robustness=klass, holds=holds, valid=sum(v != INVALID for v in judged), judged=len(judged),
                         changed_in="; ".join(changed)))
    parts = pd.concat([parts.drop(columns=["changed"]), pd.DataFrame(rows, index=parts.index)], axis=1)
    table = []
    for claim, g in parts.groupby("claim", sort=False):
        verdicts = [g[f"claim_verdict_{u}"].dropna().iloc[0] if g[f"claim_verdict_{u}"].notna().any() else ""
                    for u in labels]
        klass, holds = classify(verdicts, min_valid_share)
        ref = verdicts[0]
        changed = [f"{u}: {v}" for u, v in zip(labels[1:], verdicts[1:]) if v and v not in (INVALID, ref)]
        counts = g["robustness"].value_counts()
        table.append(dict(claim=claim, statement=g["statement"].iloc[0],
                          **{f"claim_verdict_{u}": v for u, v in zip(labels, verdicts)},
                          robustness=klass, holds=holds, changed_in="; ".join(changed),
                          **{f"parts_{c}": int(counts.get(c, 0)) for c in (ROBUST, FRAGILE, REVERSED, UNTESTED)}))
    return parts, pd.DataFrame(table)


def restrict_to_tasks(claims: pd.DataFrame, tasks: list[str]) -> pd.DataFrame:
    """A claims table cut to the parts on ``tasks`` (theory parts, which have no task, stay), each
    claim's verdict combined again over the parts kept (by its ``combine`` rule, as the claims
    stage does): the claims of a run of more tasks, read as those of a run of ``tasks`` alone. A
    part is judged on its own task's networks only, so the parts kept are what a run of ``tasks``
    alone gives when its jobs are the same."""
    keep = claims[claims["task"].isna() | (claims["task"].astype(str) == "") | claims["task"].isin(tasks)].copy()
    for claim, g in keep.groupby("claim", sort=False):
        keep.loc[g.index, "claim_verdict"] = combine(g["verdict"].tolist(), g["combine"].iloc[0])
        keep.loc[g.index, "part"] = range(1, len(g) + 1)
    return keep.reset_index(drop=True)


def long_table(claims: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every universe's claim parts stacked: claim, task, metric, comparison, universe, verdict,
    claim_verdict, n, mean, ci_low, ci_high (the effect: mean per-seed difference, Spearman rho
    for trends, the metric itself for ranges, with its 95% CI) and learned (seeds passing the
    learning gate per side)."""
    keep = PART_KEY + ["verdict", "claim_verdict", "n", "mean", "ci_low", "ci_high", "learned", "note"]
    frames = [t.reindex(columns=keep).assign(universe=name) for name, t in claims.items()]
    out = pd.concat(frames, ignore_index=True)
    return out[PART_KEY + ["universe"] + keep[len(PART_KEY):]]


def _cell(x) -> str:
    return "" if pd.isna(x) else str(x)


def map_markdown(parts: pd.DataFrame, claims_table: pd.DataFrame, names: list[str], min_valid_share: float) -> str:
    """The map as a markdown document: the rule, each claim's class with the universes that change
    it, each part's, and the wide verdict table (R reproduced, N not reproduced, I inconclusive,
    X invalid)."""
    labels = [run_label(n) for n in names]
    lines = ["# Robustness map", "",
             f"Universes ({len(names)}; the first is the reference): " + ", ".join(f"`{n}`" for n in names) + ".", "",
             "Rule (declared in workflow/configs/robustness.yaml before the run): a part is *robust* when its verdict "
             "is the same in every universe where it is not *invalid*; *fragile* when verdicts differ but never both "
             "*reproduced* and *not reproduced*; *reversed* when both occur; *untested* when valid in fewer than "
             f"{min_valid_share:.0%} of the universes that judge it. A claim is classified the same way over its "
             "claim verdicts.", "",
             "## Claims", "",
             "| claim | robustness | verdict, " + labels[0] + " | universes that change it | parts: robust / fragile / "
             "reversed / untested |", "|---|---|---|---|---|"]
    for _, r in claims_table.iterrows():
        klass = r["robustness"] + (f" ({r['holds']})" if r["holds"] else "")
        lines.append(f"| {r['claim']} | **{klass}** | {_cell(r[f'claim_verdict_{labels[0]}'])} | "
                     f"{_cell(r['changed_in']) or '–'} | {r['parts_robust']} / {r['parts_fragile']} / "
                     f"{r['parts_reversed']} / {r['parts_untested']} |")
    lines += ["", "## Parts", "",
              "| claim | part | robustness | verdict, " + labels[0] + " | universes that change it | valid / judged |",
              "|---|---|---|---|---|---|"]
    for _, r in parts.iterrows():
        klass = r["robustness"] + (f" ({r['holds']})" if r["holds"] else "")
        lines.append(f"| {r['claim']} | {_part_text(r)} | {klass} | {_cell(r[f'verdict_{labels[0]}'])} | "
                     f"{_cell(r['changed_in']) or '–'} | {r['valid']} / {r['judged']} |")
    lines += ["", "## Every part in every universe", "",
              "R reproduced, N not reproduced, I inconclusive, X invalid (networks did not learn), – not judged.", "",
              "| claim | part | " + " | ".join(labels) + " |", "|---|---|" + "---|" * len(labels)]
    for _, r in parts.iterrows():
        cells = [SHORT.get(r[f"verdict_{u}"], "–") for u in labels]
        lines.append(f"| {r['claim']} | {_part_text(r)} | " + " | ".join(cells) + " |")
    lines += ["", "## Learned seeds (per side) in each universe", "",
              "| claim | part | " + " | ".join(labels) + " |", "|---|---|" + "---|" * len(labels)]
    for _, r in parts.iterrows():
        lines.append(f"| {r['claim']} | {_part_text(r)} | " + " | ".join(_cell(r[f"learned_{u}"]) for u in labels) + " |")
    return "\n".join(lines) + "\n"


def _part_text(r) -> str:
    return " ".join(x for x in (r["task"], (r["metric"] + ":") if r["metric"] else "", r["comparison"]) if x)


def map_files(inputs: list[str], universes: list[str], out_csv: str, out_md: str, out_parts: str | None = None,
              min_valid_share: float = 0.5, tasks: list[str] | None = None,
              out_claims: str | None = None) -> tuple[str, dict, pd.DataFrame]:
    """The robustness stage: read each universe's ``claims.csv`` (``inputs[i]`` of ``universes[i]``),
    write the long table (``out_csv``), the per-part and per-claim classifications (``out_parts``,
    ``out_claims``, optional) and the markdown document (``out_md``). With ``tasks``, every table is first cut to the parts on
    those tasks (:func:`restrict_to_tasks`; e.g. the claims of an earlier whole-config run whose
    maze jobs are a universe's). Returns (a line for the log, the claims tables by universe, the
    parts table) so that the caller can draw the figure."""
    from .io import write_text

    if len(inputs) != len(universes) or len(set(universes)) != len(universes):
        raise ValueError(f"--universes: one distinct name per input file ({len(inputs)} inputs, {universes})")
    claims = {name: pd.read_csv(path) for name, path in zip(universes, inputs)}
    if tasks:
        claims = {name: restrict_to_tasks(t, tasks) for name, t in claims.items()}
    parts, table = robustness_map(claims, min_valid_share)
    write_text(out_csv, long_table(claims).to_csv(index=False))
    if out_parts:
        write_text(out_parts, parts.to_csv(index=False))
    if out_claims:
        write_text(out_claims, table.to_csv(index=False))
    write_text(out_md, map_markdown(parts, table, universes, min_valid_share))
    counts = parts["robustness"].value_counts()
    text = (f"{len(parts)} parts over {len(universes)} universes: "
            + ", ".join(f"{int(counts.get(c, 0))} {c}" for c in (ROBUST, FRAGILE, REVERSED, UNTESTED))
            + f" -> {out_csv}, {out_md}")
    return text, claims, parts
