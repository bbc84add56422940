"""Claims machinery (claims.py, claims_report.py, run_comparison.py) on synthetic metrics tables with known answers."""

import numpy as np
import pandas as pd
import pytest
import yaml

from rnnreplay import claims as st
from rnnreplay import claims_report as report

DECISION = dict(st.DECISION_DEFAULTS, n_resamples=999)


def table(effects: dict[str, np.ndarray], base: np.ndarray, task="tmaze", metric="reach_time") -> pd.DataFrame:
    """A long table: variant B has ``base`` per seed; each other variant has base + effect."""
    rows = [dict(task=task, variant="B", seed=s, metric=metric, value=v) for s, v in enumerate(base)]
    for name, eff in effects.items():
        rows += [dict(task=task, variant=name, seed=s, metric=metric, value=v + e)
                 for s, (v, e) in enumerate(zip(base, eff))]
    return pd.DataFrame(rows)


def claims(a, direction, metric="reach_time", margin=None):
    comp = dict(tasks=["tmaze"], metric=metric, a=a, b="B", direction=direction)
    if margin is not None:
        comp["margin"] = margin
    return {"decision": DECISION, "X1": dict(statement="test", comparisons=[comp])}


@pytest.fixture
def synthetic():
    rng = np.random.default_rng(0)
    base = rng.uniform(400, 600, 8)
    return table({"faster": -100 + rng.normal(0, 10, 8), "slower": 100 + rng.normal(0, 10, 8),
                  "noise": rng.normal(0, 100, 8), "same": rng.normal(0, 2, 8)}, base)


@pytest.mark.parametrize("a, expected", [("faster", "reproduced"), ("slower", "not reproduced"),
                                         ("noise", "inconclusive"), ("same", "not reproduced")])
def test_verdicts_on_known_effects(synthetic, a, expected):
    result = st.evaluate_claims(synthetic, claims(a, "decrease"))
    assert result["verdict"].iloc[0] == expected
    assert result["claim_verdict"].iloc[0] == expected
    assert result["n"].iloc[0] == 8


def test_clear_effect_statistics(synthetic):
    r = st.evaluate_claims(synthetic, claims("faster", "decrease")).iloc[0]
    assert r["ci_low"] < r["mean"] < r["ci_high"] < 0
    assert r["mean"] == pytest.approx(-100, abs=15)
    assert r["p_value"] == pytest.approx(1 / 2**8)  # all 8 seeds agree: the exact minimum
    assert r["p_min"] == pytest.approx(1 / 2**8)
    assert r["effect_size"] < -3


def test_three_seeds_cannot_reach_alpha():
    base = np.array([500.0, 520.0, 480.0])
    t = table({"faster": np.array([-100.0, -120.0, -90.0])}, base)
    r = st.evaluate_claims(t, claims("faster", "decrease")).iloc[0]
    assert r["p_value"] == pytest.approx(0.125) and r["verdict"] == "inconclusive"
    assert "smallest p" in r["note"]


def test_too_few_seeds_and_missing_data_are_inconclusive(synthetic):
    two = synthetic[synthetic["seed"] < 2]
    assert st.evaluate_claims(two, claims("faster", "decrease"))["verdict"].iloc[0] == "inconclusive"
    r = st.evaluate_claims(synthetic, claims("absent", "decrease")).iloc[0]
    assert r["n"] == 0 and r["verdict"] == "inconclusive"


def test_seeds_are_paired_not_pooled():
    # A large between-seed spread, a small consistent within-seed effect: paired gives it.
    base = np.array([100.0, 300.0, 500.0, 700.0, 900.0, 1100.0])
    t = table({"faster": np.full(6, -20.0) + np.linspace(-1, 1, 6)}, base)
    assert st.evaluate_claims(t, claims("faster", "decrease"))["verdict"].iloc[0] == "reproduced"


def test_trend_claim():
    rng = np.random.default_rng(1)
    x = {"lv1.0": 1.0, "lv0.8": 0.8, "lv0.6": 0.6, "lv0.4": 0.4}
    rows = []
    for seed in range(6):
        for v, lam in x.items():
            rows.append(dict(task="tmaze", variant=v, seed=seed, metric="reach_time", value=1000 * lam + rng.normal(0, 20)))
            rows.append(dict(task="tmaze", variant=v, seed=seed, metric="flat", value=rng.normal(0, 1)))
    t = pd.DataFrame(rows)
    rho = st.trend_statistics(t, "tmaze", "reach_time", x)
    assert len(rho) == 6 and (rho == 1).all()
    spec = {"decision": DECISION,
            "C4": dict(combine="all", comparisons=[dict(kind="trend", tasks=["tmaze"], metric="reach_time", x=x,
                                                        direction="increase")]),
            "Z": dict(comparisons=[dict(kind="trend", tasks=["tmaze"], metric="reach_time", x=x,
                                        direction="decrease")]),
            "F": dict(comparisons=[dict(kind="trend", tasks=["tmaze"], metric="flat", x=x, direction="increase")])}
    v = st.evaluate_claims(t, spec).drop_duplicates("claim").set_index("claim")["claim_verdict"]
    assert v["C4"] == "reproduced" and v["Z"] == "not reproduced"
    assert v["F"] in ("inconclusive", "not reproduced")  # 4 points per seed: rho is coarse


def test_combine_rules():
    R, N, I = st.REPRODUCED, st.NOT_REPRODUCED, st.INCONCLUSIVE
    assert st.combine([R, R], "all") == R and st.combine([R, I], "all") == I and st.combine([R, N], "all") == N
    assert st.combine([R, N], "any") == R and st.combine([N, N], "any") == N and st.combine([I, N], "any") == I
    with pytest.raises(ValueError):
        st.combine([R], "most")


def test_multi_task_claim_and_theory_part(synthetic):
    t = pd.concat([synthetic, synthetic.assign(task="triangle",
                                               value=synthetic["value"][::-1].values)], ignore_index=True)
    checks = pd.DataFrame(dict(check=["brownian_a", "ou_b", "mfpt_c"], passed=[True, True, False]))
    spec = {"decision": DECISION,
            "C9": dict(combine="all", comparisons=[dict(tasks=["tmaze", "triangle"], metric="reach_time",
                                                        a="faster", b="B", direction="decrease"),
                                                   dict(kind="theory", checks=["brownian", "ou_"])]),
            "C8": dict(comparisons=[dict(kind="theory", checks=["mfpt"])])}
    result = st.evaluate_claims(t, spec, checks)
    c9 = result[result["claim"] == "C9"]
    assert list(c9["task"]) == ["tmaze", "triangle", ""]
    assert list(c9["verdict"])[0] == "reproduced" and list(c9["verdict"])[2] == "reproduced"
    assert result[result["claim"] == "C8"]["claim_verdict"].iloc[0] == "not reproduced"
    md = report.claims_markdown(result, DECISION)
    assert "| C9 |" in md and "permutation" in md


def test_margin_override(synthetic):
    # "same" differs by ~0.4% of the baseline: negligible at 5%, not at a 0.01% margin.
    assert st.evaluate_claims(synthetic, claims("same", "decrease"))["verdict"].iloc[0] == "not reproduced"
    assert st.evaluate_claims(synthetic, claims("same", "decrease", margin=1e-4))["verdict"].iloc[0] != "not reproduced"


def test_paired_summary_rejects_bad_direction():
    with pytest.raises(ValueError, match="direction"):
        st.paired_summary([1.0, 2.0], "up")


def test_paired_across_metrics_and_tasks():
    rows = []
    for seed in range(5):
        rows += [dict(task="biased", variant="noisy", seed=seed, metric="kl", value=0.1 + 0.01 * seed),
                 dict(task="biased", variant="noisy", seed=seed, metric="kl_untrained", value=2.0),
                 dict(task="plain", variant="noisy", seed=seed, metric="kl", value=0.5)]
    table = pd.DataFrame(rows)
    d, base = st.paired_differences(table, "biased", "kl", "noisy", "noisy", metric_b="kl_untrained")
    assert np.allclose(d.values, [0.1 + 0.01 * s - 2.0 for s in range(5)]) and base == 2.0
    d, base = st.paired_differences(table, "biased", "kl", "noisy", "noisy", task_b="plain")
    assert np.allclose(d.values, [0.01 * s - 0.4 for s in range(5)]) and base == 0.5


def gated(effects: dict[str, np.ndarray], base: np.ndarray, ratios: dict[str, list[float]], gate=0.5):
    """The synthetic table plus each variant's learning-gate metric per seed, and claims with a gate."""
    t = table(effects, base)
    rows = [dict(task="tmaze", variant=v, seed=s, metric=m, value=r + 0.01 * (m == "pi_ratio_last"))
            for v, per_seed in ratios.items() for s, r in enumerate(per_seed) for m in ("pi_ratio", "pi_ratio_last")]
    c = claims("faster", "decrease")
    c["decision"] = dict(DECISION, learned_max_error_ratio=gate)
    return pd.concat([t, pd.DataFrame(rows)], ignore_index=True), c


def test_gate_two_of_five_learned_is_invalid():
    base = np.array([500.0, 520.0, 480.0, 510.0, 490.0])
    t, c = gated({"faster": np.full(5, -100.0)}, base,
                 {"faster": [0.2, 0.3, 0.9, 0.8, 0.95], "B": [0.2, 0.2, 0.2, 0.2, 0.2]})
    r = st.evaluate_claims(t, c).iloc[0]
    assert r["verdict"] == "invalid" and r["claim_verdict"] == "invalid"
    assert r["learned"] == "2/5 vs 5/5" and r["n"] == 2
    assert "did not learn" in r["note"]
    assert "| invalid |" in report.claims_markdown(st.evaluate_claims(t, c), c["decision"])


def test_gate_five_of_five_learned_gives_the_usual_rule():
    rng = np.random.default_rng(0)
    base = rng.uniform(400, 600, 5)
    effect = -100 + rng.normal(0, 10, 5)
    t, c = gated({"faster": effect}, base, {"faster": [0.1] * 5, "B": [0.3] * 5})
    gated_row = st.evaluate_claims(t, c).iloc[0]
    plain = st.evaluate_claims(table({"faster": effect}, base), claims("faster", "decrease")).iloc[0]
    assert gated_row["learned"] == "5/5 vs 5/5" and gated_row["verdict"] == plain["verdict"] == "reproduced"
    assert gated_row["mean"] == plain["mean"] and gated_row["p_value"] == plain["p_value"]


def test_gate_drops_the_seeds_that_did_not_learn_on_either_side():
    base = np.full(6, 500.0)
    effect = np.array([-100.0, -100.0, -100.0, -100.0, +900.0, -100.0])  # seed 4: A did not learn
    t, c = gated({"faster": effect}, base, {"faster": [0.1, 0.1, 0.1, 0.1, 0.9, 0.1], "B": [0.1] * 5 + [0.7]})
    r = st.evaluate_claims(t, c).iloc[0]
    assert r["n"] == 4 and r["learned"] == "5/6 vs 5/6" and r["mean"] == pytest.approx(-100)


def test_combine_with_invalid_parts():
    assert st.combine(["reproduced", "invalid"], "all") == "invalid"
    assert st.combine(["not reproduced", "invalid"], "all") == "not reproduced"
    assert st.combine(["reproduced", "invalid"], "any") == "reproduced"
    assert st.combine(["not reproduced", "invalid"], "any") == "invalid"


def test_gate_needs_every_gate_metric_below_the_threshold():
    """Learned = the mean error ratio and the last-step ratio both at most the threshold: a network
    that tracks on average but has lost track by the end does not pass."""
    base = np.full(5, 500.0)
    t, c = gated({"faster": np.full(5, -100.0)}, base, {"faster": [0.2] * 5, "B": [0.2] * 5})
    t.loc[(t["variant"] == "faster") & (t["metric"] == "pi_ratio_last") & (t["seed"] < 3), "value"] = 0.8
    r = st.evaluate_claims(t, c).iloc[0]
    assert r["learned"] == "2/5 vs 5/5" and r["verdict"] == "invalid"


def test_learning_table_counts_learned_and_plateaued_seeds():
    base = np.full(5, 500.0)
    t, c = gated({"faster": np.full(5, -100.0)}, base, {"faster": [0.2, 0.3, 0.9, 0.8, 0.95], "B": [0.2] * 5})
    plateau = [dict(task="tmaze", variant="B", seed=s, metric=m, value=v) for s in range(5)
               for m, v in (("loss_plateaued", float(s < 2)), ("loss_fall", 0.1))]
    learning = report.learning_table(pd.concat([t, pd.DataFrame(plateau)]), c["decision"]).set_index("variant")
    assert learning.loc["faster", "learned"] == 2 and learning.loc["B", "learned"] == 5
    assert learning.loc["B", "plateaued"] == 2 and learning.loc["B", "loss_fall"] == pytest.approx(0.1)
    md = report.learning_markdown(learning.reset_index(), c["decision"])
    assert "| tmaze | faster | 2/5 |" in md


def range_table(values, variant="V", task="tmaze", metric="displacement_exponent", ratio=0.1):
    """One variant's metric per seed, with gate metrics (error / chance) per seed."""
    rows = [dict(task=task, variant=variant, seed=s, metric=metric, value=v) for s, v in enumerate(values)]
    ratios = np.broadcast_to(ratio, len(values))
    for gate_metric in ("pi_ratio", "pi_ratio_last"):
        rows += [dict(task=task, variant=variant, seed=s, metric=gate_metric, value=r) for s, r in enumerate(ratios)]
    return pd.DataFrame(rows)


def range_claims(bounds, variants=("V",), gate=None):
    comp = dict(kind="range", tasks=["tmaze"], variants=list(variants), metric="displacement_exponent",
                bounds=list(bounds))
    return {"decision": dict(DECISION, learned_max_error_ratio=gate), "E1": dict(statement="range", comparisons=[comp])}


@pytest.mark.parametrize("values, bounds, expected", [
    ([0.49, 0.50, 0.48, 0.51, 0.50], (0.45, 0.53), "reproduced"),      # every seed inside, CI inside
    ([0.62, 0.60, 0.65, 0.61, 0.63], (0.45, 0.53), "not reproduced"),  # every seed above hi
    ([0.30, 0.35, 0.31, 0.33, 0.29], (0.45, 0.53), "not reproduced"),  # every seed below lo
    ([0.44, 0.56, 0.47, 0.58, 0.50], (0.45, 0.53), "inconclusive"),    # seeds on both sides of the bounds
    ([0.49, 0.50, 0.48], (0.45, 0.53), "inconclusive"),                # 3 seeds: p >= 1/8 > alpha
    ([0.9, 1.0, 0.8, 0.95, 0.85], (0.5, None), "reproduced"),          # one-sided: most events momentum
    ([0.2, 0.1, 0.3, 0.25, 0.0], (0.5, None), "not reproduced"),
    ([1.0, 1.0, 1.0, 1.0, 1.0], (0.5, None), "reproduced"),            # no spread: the CI is the mean
])
def test_range_verdicts(values, bounds, expected):
    result = st.evaluate_claims(range_table(values), range_claims(bounds))
    row = result.iloc[0]
    assert row["verdict"] == expected, row["note"]
    assert row["kind"] == "range" and row["direction"] == "within" and row["n"] == len(values)
    assert row["mean"] == pytest.approx(np.mean(values))


def test_range_summary_is_two_one_sided_tests():
    x = np.array([0.49, 0.50, 0.48, 0.51, 0.50])
    summ = st.range_summary(x, 0.45, 0.53, DECISION)
    assert summ["p_value"] == pytest.approx(1 / 32)  # all five seeds inside: each one-sided exact p is 2^-5
    assert summ["ci_low"] > 0.45 and summ["ci_high"] < 0.53
    assert summ["effect_size"] == pytest.approx(min(x.mean() - 0.45, 0.53 - x.mean()) / x.std(ddof=1))
    with pytest.raises(ValueError):
        st.range_summary(x, None, None)


def test_range_parts_per_task_and_variant_and_the_learning_gate():
    t = pd.concat([range_table([0.5, 0.49, 0.51, 0.5, 0.48], "A"),
                   range_table([0.5, 0.49, 0.51, 0.5, 0.48], "B", ratio=[0.1, 0.9, 0.9, 0.9, 0.1])])
    result = st.evaluate_claims(t, range_claims((0.45, 0.53), variants=("A", "B"), gate=0.5))
    assert result["comparison"].tolist() == ["A within [0.45, 0.53]", "B within [0.45, 0.53]"]
    assert result["verdict"].tolist() == ["reproduced", "invalid"] and result["learned"].tolist() == ["5/5", "2/5"]
    assert result["claim_verdict"].iloc[0] == "invalid"
    assert "Range parts" in report.claims_markdown(result, DECISION)


def test_config_declares_the_replay_dynamics_claims(default_config):
    """The replay-dynamics claims are declared in config.yaml before the run, on metrics the
    registry writes."""
    from rnnreplay.metrics import METRICS

    claims = default_config["claims"]
    assert {"D1", "D2", "D3", "E1", "E2"} <= set(claims)
    for claim in ("D1", "D2", "D3", "E1", "E2"):
        for comp in claims[claim]["comparisons"]:
            assert comp["metric"] in METRICS
    assert any(c.get("bounds") == [0.45, 0.53] for c in claims["E1"]["comparisons"])


def test_claims_by_run_figure(tmp_path):
    """The comparison of runs draws one panel per paired or trend part judged in every run, for
    widths and for budgets."""
    from rnnreplay.run_comparison import RUN_AXES
    from rnnreplay.figures import claims_by_run

    def run(shift):
        rng = np.random.default_rng(shift)
        t = table({"faster": -100 + rng.normal(0, 10, 5)}, rng.uniform(400, 600, 5))
        return st.evaluate_claims(t, claims("faster", "decrease"))

    claims_by_run({128: run(0), 256: run(1)}, tmp_path / "w.png")
    assert (tmp_path / "w.png").stat().st_size > 1000 and (tmp_path / "w.pdf").exists()
    claims_by_run({1: run(0), 2: run(1)}, tmp_path / "b.png", RUN_AXES["budget"])
    assert (tmp_path / "b.png").stat().st_size > 1000


def test_compare_runs_by_budget_labels_the_runs(tmp_path):
    """Runs at several training budgets are labelled by their multiplier; a fractional value
    keeps its digits; values must be distinct and one per input."""
    from rnnreplay.run_comparison import RUN_AXES, compare_runs, runs_claims_markdown, runs_report
    from rnnreplay.cli import main

    rng = np.random.default_rng(1)
    base = rng.uniform(400, 600, 5)
    one = st.evaluate_claims(table({"faster": -100 + rng.normal(0, 10, 5)}, base), claims("faster", "decrease"))
    two = st.evaluate_claims(table({"faster": -1 + rng.normal(0, 10, 5)}, base), claims("faster", "decrease"))
    both = compare_runs({1.0: one, 2.0: two})
    assert "verdict_1" in both and "verdict_2" in both
    head = runs_claims_markdown(both, RUN_AXES["budget"]).splitlines()[0]
    assert "verdict, 1× budget | verdict, 2× budget" in head
    assert "verdict_1.5" in compare_runs({1.5: one, 2: two})
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    one.to_csv(a, index=False)
    two.to_csv(b, index=False)
    out = tmp_path / "b.md"
    assert main(["compare", "--axis", "budget", "--inputs", str(a), str(b), "--values", "1", "2",
                 "--out-md", str(out)]) == 0
    text = out.read_text()
    assert text == runs_report(compare_runs({1: one, 2: two}), RUN_AXES["budget"])
    assert text.startswith("## Claims at each budget") and "changes with budget" in text
    assert main(["compare", "--axis", "budget", "--inputs", str(a), str(b), "--values", "2", "2.0",
                 "--out-md", str(tmp_path / "c.md")]) == 1
    assert not (tmp_path / "c.md").exists()


def test_compare_runs_side_by_side(tmp_path):
    """Parts are matched across widths; a part whose verdict differs is flagged, a part present
    at one width only is not; the markdown has a row per part and the CLI writes it."""
    from rnnreplay.run_comparison import compare_runs, runs_claims_markdown, runs_markdown, runs_report
    from rnnreplay.cli import main

    rng = np.random.default_rng(0)
    base = rng.uniform(400, 600, 5)
    narrow = st.evaluate_claims(table({"faster": -100 + rng.normal(0, 10, 5)}, base), claims("faster", "decrease"))
    wide = st.evaluate_claims(table({"faster": 100 + rng.normal(0, 10, 5)}, base), claims("faster", "decrease"))
    assert narrow["verdict"].iloc[0] == "reproduced" and wide["verdict"].iloc[0] == "not reproduced"
    extra = wide.assign(claim="X9")
    both = compare_runs({128: narrow, 256: pd.concat([wide, extra], ignore_index=True)})
    assert len(both) == 2
    assert both.loc[both["claim"] == "X1", "changed"].item()
    assert not both.loc[both["claim"] == "X9", "changed"].item()
    assert both.loc[both["claim"] == "X9", "verdict_128"].isna().item()
    text = runs_markdown(both)
    assert len(text.strip().splitlines()) == 2 + 2
    assert "**reproduced** | **not reproduced**" in text
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    narrow.to_csv(a, index=False)
    wide.to_csv(b, index=False)
    assert main(["compare", "--inputs", str(a), str(b), "--values", "128", "256", "--out-md", str(tmp_path / "w.md")]) == 0
    assert (tmp_path / "w.md").read_text() == runs_report(compare_runs({128: narrow, 256: wide}))
    claim_rows = runs_claims_markdown(both).strip().splitlines()[2:]
    assert claim_rows[0].startswith("| X1 | test | **reproduced** | **not reproduced** | 1 of 1 | all 5/5 | all 5/5 |")
    assert claim_rows[1].startswith("| X9 | test | – (not run) | **not reproduced** | 0 of 0 |")
    assert len(runs_markdown(both, changed_only=True).strip().splitlines()) == 2 + 1
    assert main(["compare", "--inputs", str(a), str(b), "--values", "128", "--out-md", str(tmp_path / "x.md")]) == 1
    assert not (tmp_path / "x.md").exists()


def test_learning_by_run_side_by_side():
    """Learning in runs at two budgets: the gate counts, the final loss and its change from the
    first run per (task, variant); a variant missing from a run has empty cells."""
    from rnnreplay.run_comparison import RUN_AXES, learning_by_run, runs_learning_markdown

    def run(ratio, loss, variants=("leak",)):
        return pd.DataFrame([dict(task="tmaze", variant=v, seed=s, metric=m, value=x) for v in variants
                             for s in range(5) for m, x in (("pi_ratio", ratio[s]), ("pi_ratio_last", ratio[s]),
                                                            ("final_loss", loss), ("loss_fall", 0.1),
                                                            ("loss_plateaued", 0.0))])

    one = run([0.2, 0.3, 0.9, 0.8, 0.95], 0.004, ("leak", "noleak"))
    two = run([0.2] * 5, 0.002)
    learning = learning_by_run({1: one, 2: two}, {"learned_max_error_ratio": 0.5}).set_index("variant")
    assert learning.loc["leak", "learned_1"] == 2 and learning.loc["leak", "learned_2"] == 5
    assert learning.loc["leak", "final_loss_2"] == pytest.approx(0.002)
    assert pd.isna(learning.loc["noleak", "learned_2"])
    md = runs_learning_markdown(learning.reset_index(), RUN_AXES["budget"])
    assert "| tmaze | leak | 2/5 | 5/5 |" in md and "| -50% |" in md
    assert "final loss vs 1× budget, 2× budget" in md.splitlines()[0]


def test_scale_page_tables_are_the_two_runs_claims():
    """The width comparison on docs/scale/index.md (claims at 128 and 256 units) is what `rnnreplay compare`
    writes from the two runs' claims.csv kept in docs/scale, and so is docs/scale/claims_by_width.md."""
    from pathlib import Path

    from rnnreplay.run_comparison import compare_runs, runs_claims_markdown, runs_markdown, runs_report

    root = Path(__file__).resolve().parents[1]
    runs = {w: pd.read_csv(root / "docs" / "scale" / f"claims_{w}.csv") for w in (128, 256)}
    comparison = compare_runs(runs)
    readme = (root / "docs" / "scale" / "index.md").read_text()
    block = readme.split("<!-- widths:begin -->\n")[1].split("<!-- widths:end -->")[0]
    assert block == (runs_claims_markdown(comparison) + "\nThe parts whose verdict changes with width:\n\n"
                     + runs_markdown(comparison, changed_only=True))
    assert (root / "docs" / "scale" / "claims_by_width.md").read_text() == runs_report(comparison)
    assert (root / "docs" / "scale" / "claims_by_width.png").stat().st_size > 10_000
    assert f"Eleven of the {comparison.dropna(subset=['verdict_128', 'verdict_256']).shape[0]} parts" in readme
    assert int(comparison["changed"].sum()) == 11


def test_budget_page_tables_are_the_two_runs_claims():
    """The budget comparison on docs/budget/index.md (claims at 1x and 2x the training budget) is what
    `rnnreplay compare --axis budget` writes from the two runs' files kept in docs/budget, and so
    is docs/budget/claims_by_budget.md."""
    from pathlib import Path

    from rnnreplay.run_comparison import (RUN_AXES, compare_runs, learning_by_run, runs_claims_markdown,
                                          runs_learning_markdown, runs_markdown, runs_report)

    root = Path(__file__).resolve().parents[1]
    axis = RUN_AXES["budget"]
    runs = {v: pd.read_csv(root / "docs" / "budget" / f"claims_{v}.csv") for v in (1, 2)}
    comparison = compare_runs(runs)
    readme = (root / "docs" / "budget" / "index.md").read_text()
    block = readme.split("<!-- budget:begin -->\n")[1].split("<!-- budget:end -->")[0]
    assert block == (runs_claims_markdown(comparison, axis) + "\nThe parts whose verdict changes with budget:\n\n"
                     + runs_markdown(comparison, axis, changed_only=True))
    gate = yaml.safe_load((root / "config.yaml").read_text())["claims"]["decision"]["learned_max_error_ratio"]
    learning = learning_by_run({v: pd.read_csv(root / "docs" / "budget" / f"learning_{v}.csv") for v in (1, 2)},
                               {"learned_max_error_ratio": gate})
    expected = (f"## Learning in each run (gate: error / chance <= {gate})\n\n" + runs_learning_markdown(learning, axis)
                + "\n" + runs_report(comparison, axis))
    assert (root / "docs" / "budget" / "claims_by_budget.md").read_text() == expected
    assert (root / "docs" / "budget" / "claims_by_budget.png").stat().st_size > 10_000
    both = comparison.dropna(subset=["verdict_1", "verdict_2"])
    changed = int(comparison["changed"].sum())
    assert f"Twelve of the\n{len(both)} parts change verdict" in readme and changed == 12
    claim_verdicts = comparison.groupby("claim")[["claim_verdict_1", "claim_verdict_2"]].first()
    assert (claim_verdicts["claim_verdict_1"] == claim_verdicts["claim_verdict_2"]).all()
    assert "**No claim's verdict changes with the budget.**" in readme
    assert (learning["learned_2"] == learning["seeds_2"]).all()


def test_claims_table_display_zero_variance_plural_and_source():
    """The claims table prints d_z of per-seed values that do not vary as "n/a (zero variance)"
    (not ±inf or 1e15 from rounding), one part in the singular, and each claim's source, KR24 first."""
    base = np.array([500.0, 520.0, 480.0, 510.0, 490.0])
    t = table({"const": np.full(5, -100.0), "noisy": np.array([-90.0, -110.0, -95.0, -105.0, -100.0])}, base)
    comp = lambda a: dict(tasks=["tmaze"], metric="reach_time", a=a, b="B", direction="decrease")  # noqa: E731
    spec = {"decision": DECISION, "D7": dict(statement="project", comparisons=[comp("const")]),
            "C7": dict(statement="cr26", combine="any", comparisons=[comp("noisy"), comp("const")]),
            "K7": dict(statement="kr24", comparisons=[comp("noisy")])}
    result = st.evaluate_claims(t, spec)
    assert not np.isfinite(result["effect_size"].iloc[0]) or abs(result["effect_size"].iloc[0]) > 1e6
    md = report.claims_markdown(result, DECISION)
    summary = [line for line in md.splitlines() if line.startswith(("| K7", "| C7", "| D7"))][:3]
    assert [line.split(" | ")[:2] for line in summary] == [["| K7", "KR24"], ["| C7", "CR26"], ["| D7", "project"]]
    assert "(1 part)" in summary[0] and "(any of 2 parts)" in summary[1] and "of 1 parts" not in md
    const_rows = [line for line in md.splitlines() if line.startswith("| D7 | tmaze")]
    assert len(const_rows) == 1 and "| n/a (zero variance) |" in const_rows[0]
    assert "inf |" not in md and "e+15" not in md
    assert report.effect_size_text(-7.642862e15) == report.effect_size_text(np.inf) == "n/a (zero variance)"
    assert report.effect_size_text(-2.4746) == "-2.47" and report.effect_size_text(np.nan) == ""
    assert [st.claim_source(c) for c in ("K1", "C6", "D2", "E1")] == ["KR24", "CR26", "project", "project"]


def test_claims_csv_keeps_its_columns_and_adds_the_baseline(synthetic):
    """claims.csv keeps its columns in order; the paired parts' baseline (mean of B) is appended."""
    result = st.evaluate_claims(synthetic, claims("faster", "decrease"))
    assert list(result.columns)[:20] == ["claim", "statement", "part", "kind", "task", "metric", "comparison",
                                         "direction", "n", "mean", "ci_low", "ci_high", "p_value", "p_min",
                                         "effect_size", "learned", "verdict", "note", "combine", "claim_verdict"]
    base = synthetic[synthetic["variant"] == "B"]["value"].mean()
    assert list(result.columns)[20:] == ["baseline"] and result["baseline"].iloc[0] == pytest.approx(base)
