"""The robustness map: universes as overrides of one config, jobs shared across universes, the
declared aggregation rule, and a two-universe run of the tiny config end to end."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from conftest import ROOT, TINY, snakemake
from rnnreplay import universes as ru
from rnnreplay.config_files import load_yaml
from rnnreplay.robustness import FRAGILE, REVERSED, ROBUST, UNTESTED, classify, robustness_map

SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


def _merged(*paths):
    """The config files merged in order, as Snakemake merges several --configfile, with the
    config each extends (rnnreplay.config_files.with_base, as the workflow applies it)."""
    from snakemake.utils import update_config

    from rnnreplay.config_files import with_base

    config = {}
    for path in paths:
        update_config(config, load_yaml(path))
    return with_base(config, ROOT)


@pytest.mark.parametrize("verdicts, expected", [
    (["reproduced", "reproduced", "invalid"], (ROBUST, "reproduced")),
    (["not reproduced", "not reproduced", ""], (ROBUST, "not reproduced")),
    (["reproduced", "inconclusive"], (FRAGILE, "")),
    (["inconclusive", "not reproduced", "inconclusive"], (FRAGILE, "")),
    (["reproduced", "inconclusive", "not reproduced"], (REVERSED, "")),
    (["invalid", "invalid", "reproduced"], (UNTESTED, "")),
    (["invalid", "reproduced"], (ROBUST, "reproduced")),  # valid in half: not untested at share 0.5
    ([None, float("nan")], (UNTESTED, "")),
])
def test_classify_follows_the_declared_rule(verdicts, expected):
    assert classify(verdicts, 0.5) == expected


def test_untested_share_is_the_declared_one():
    assert classify(["invalid", "reproduced"], 0.75) == (UNTESTED, "")


def test_override_merges_mappings_and_replaces_a_named_variant_whole():
    base = {"model": {"sigma": 0.03, "hidden": 128}, "variants": {"v": {"model_from": "w", "friction": 0.8}},
            "seeds": [0, 1]}
    out = ru.apply_override(base, {"model": {"sigma": 0.06}, "variants": {"v": {"leak": 0.2, "friction": 0.8}},
                                   "seeds": [5]})
    assert out["model"] == {"sigma": 0.06, "hidden": 128}
    assert out["variants"]["v"] == {"leak": 0.2, "friction": 0.8}  # model_from gone: a trained variant now
    assert out["seeds"] == [5] and base["seeds"] == [0, 1] and base["model"]["sigma"] == 0.03


def test_declared_universes_are_valid_and_share_identical_jobs():
    """Every universe of robustness.yaml is a valid config on the maze tasks; replay-only and
    metrics-only universes train nothing of their own, and an adaptation override retrains only
    the adapting variants."""
    config = _merged(ROOT / "config.yaml", ROOT / "workflow" / "configs" / "robustness.yaml")
    assert ru.universe_errors(config, SCHEMA) == []
    universes = ru.universe_configs(config)
    assert list(universes)[0] == "default"
    assert all(set(u["tasks"]) == {"tmaze", "triangle"} for u in universes.values())
    named = {t for u in universes.values() for k, c in u["claims"].items() if k != "decision"
             for comp in c["comparisons"] for t in comp.get("tasks", [])}
    assert named == {"tmaze", "triangle"}  # C6 (rat) and K1-K4 (KR24's tasks) dropped with their tasks
    assert "C6" not in universes["default"]["claims"] and "K1" not in universes["default"]["claims"]
    shared = ru.owners(universes)
    own = lambda stage, name: {k[1:] for k in ru.runs_of(universes, shared, stage) if k[0] == name}  # noqa: E731
    assert own("train", "replay_noise_x1") == set() and own("train", "exploration_grid") == set()
    assert own("replay", "exploration_grid") == set() and len(own("metrics", "exploration_grid")) == 14
    assert own("train", "momentum_replay_only") == set()
    assert own("train", "adapt_tau_4") == {(t, v) for t in ("tmaze", "triangle") for v in ("leak_adapt", "leak_adapt_mom")}
    assert own("train", "adapt_replay_only") == {("tmaze", "leak_mom"), ("triangle", "leak_mom")}
    assert len(own("train", "seeds_5_9")) == 8 and len(own("train", "sigma_x2")) == 8


def test_a_universe_naming_an_unknown_task_or_overlapping_seeds_is_refused():
    config = _merged(ROOT / "config.yaml")
    config["robustness"] = {"tasks": ["maze"], "universes": {"default": {}}}
    assert ru.universe_errors(config, SCHEMA) == ["robustness.tasks: unknown task 'maze' (config lists "
                                                  + str(sorted(config["tasks"])) + ")"]
    config["robustness"] = {"tasks": ["tmaze"], "universes": {"default": {}, "some": {"seeds": [4, 5, 6, 7, 8]}}}
    assert any("overlap" in e for e in ru.universe_errors(config, SCHEMA))
    config["robustness"] = {"tasks": ["tmaze"], "universes": {"default": {}, "bad": {"model": {"sigma": -1}}}}
    assert any(e.startswith("robustness.universes.bad: model.sigma") for e in ru.universe_errors(config, SCHEMA))


def _claims(verdicts):
    rows = [dict(claim="C9", statement="s", part=i, kind="paired", task="tmaze", metric=m, comparison="a − b",
                 direction="increase", n=5, mean=0.1, ci_low=0.0, ci_high=0.2, p_value=0.03, p_min=0.03,
                 effect_size=1.0, learned="5/5 vs 5/5", verdict=v, note="", combine="all",
                 claim_verdict="reproduced" if all(x == "reproduced" for x in verdicts) else "inconclusive")
            for i, (m, v) in enumerate(zip(("speed", "reach_time"), verdicts), 1)]
    return pd.DataFrame(rows)


def test_map_names_the_universes_that_change_a_part():
    parts, claims = robustness_map({"default": _claims(["reproduced", "reproduced"]),
                                    "other": _claims(["not reproduced", "reproduced"])})
    by_metric = parts.set_index("metric")
    assert by_metric.loc["speed", "robustness"] == REVERSED and by_metric.loc["reach_time", "robustness"] == ROBUST
    assert by_metric.loc["speed", "changed_in"] == "other: not reproduced" and by_metric.loc["reach_time", "changed_in"] == ""
    assert claims.iloc[0]["robustness"] == FRAGILE and claims.iloc[0]["parts_reversed"] == 1


@pytest.mark.workflow
def test_two_universe_tiny_map_end_to_end(tmp_path):
    """The tiny config with a replay-only universe: every output of the map, the override's
    claims made from the reference's trained models (no training of its own)."""
    for path in (TINY, ROOT / "tests" / "configs" / "tiny_robustness.yaml"):
        shutil.copy(path, tmp_path / path.name)
    snakemake("--cores", "2", "--configfile", "tiny.yaml", "tiny_robustness.yaml", "--directory", str(tmp_path),
              cwd=tmp_path)
    out = tmp_path / "results" / "robustness"
    for name in ("robustness.csv", "robustness_parts.csv", "robustness.md", "robustness.png", "robustness.pdf"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "default" / "models").is_dir() and not (out / "replay_noise_x1" / "models").exists()
    long = pd.read_csv(out / "robustness.csv")
    assert set(long["universe"]) == {"default", "replay_noise_x1"} and long["learned"].notna().any()
    assert "# Robustness map" in (out / "robustness.md").read_text()
    # The default run's claims report gains the map's classes (the claims rule passes a kept map).
    from rnnreplay.claims_report import claims_files

    claims = ru.universe_configs(_merged(tmp_path / "tiny.yaml", tmp_path / "tiny_robustness.yaml"))["default"]["claims"]
    md = tmp_path / "claims.md"
    claims_files(claims, str(out / "default" / "tables" / "metrics.csv"), str(tmp_path / "results/tables/theory_checks.csv"),
                 str(tmp_path / "claims.csv"), str(md), (str(out / "robustness_parts.csv"), str(out / "robustness_claims.csv")))
    text = md.read_text()
    assert "| robustness (map) |" in text and "robust (" in text


def test_claims_of_a_whole_run_cut_to_the_maze_tasks():
    """A whole-config run's claims read as those of its maze jobs: parts on other tasks dropped,
    each claim's verdict combined again over the parts kept."""
    from rnnreplay.claims import combine
    from rnnreplay.robustness import restrict_to_tasks

    whole = pd.read_csv(ROOT / "docs" / "budget" / "claims_1.csv")
    cut = restrict_to_tasks(whole, ["tmaze", "triangle"])
    assert set(cut["task"].dropna()) == {"tmaze", "triangle"} and "C1" in set(cut["claim"])
    assert not {"K1", "K2", "K3", "K4", "C6"} & set(cut["claim"])
    e1 = cut[cut["claim"] == "E1"]
    assert len(e1) == 12 and (e1["claim_verdict"] == combine(e1["verdict"].tolist(), "all")).all()
    kept = whole.merge(cut[["claim", "task", "metric", "comparison"]])
    assert (kept["verdict"].values == cut["verdict"].values).all()


KEPT_RUNS = {"budget_x2": "docs/budget/claims_2.csv", "width_256": "docs/scale/claims_256.csv"}  # whole-config runs


def test_kept_map_is_the_commands_output_on_the_kept_claims(tmp_path):
    """docs/robustness/ holds the output of `rnnreplay robustness` on the kept claims tables (the
    declared universes, in order; budget_x2 and width_256 from the kept whole-config runs), and the
    robustness page shows its claims table."""
    from rnnreplay.cli import main

    declared = list(load_yaml(ROOT / "workflow" / "configs" / "robustness.yaml")["robustness"]["universes"])
    inputs = {u: ROOT / KEPT_RUNS.get(u, f"docs/robustness/claims/{u}.csv") for u in declared}
    kept = {u: p for u, p in inputs.items() if p.exists()}
    assert len(kept) >= 14 and list(kept)[0] == "default"
    out = {name: tmp_path / name for name in ("robustness.csv", "robustness_parts.csv", "robustness_claims.csv",
                                              "robustness.md")}
    assert main(["robustness", "--tasks", "tmaze", "triangle", "--min-valid-share", "0.5", "--universes", *kept,
                 "--inputs", *map(str, kept.values()), "--out-csv", str(out["robustness.csv"]),
                 "--out-parts", str(out["robustness_parts.csv"]), "--out-claims", str(out["robustness_claims.csv"]),
                 "--out-md", str(out["robustness.md"])]) == 0
    for name, path in out.items():
        assert path.read_text() == (ROOT / "docs" / "robustness" / name).read_text(), name
    generated = out["robustness.md"].read_text()
    table = generated.split("## Claims\n\n", 1)[1].split("\n\n## Parts", 1)[0].strip()
    assert table in (ROOT / "docs" / "robustness.md").read_text()
