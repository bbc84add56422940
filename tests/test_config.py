"""Resolving config.yaml into each stage's job; seed derivation."""

import copy

import pytest

from rnnreplay import config as rc
from rnnreplay import config_files as rcf
from rnnreplay import config_validation as rcv


def test_variant_overrides_task_overrides_default(default_config):
    cfg = copy.deepcopy(default_config)
    cfg["tasks"]["tmaze"]["model"] = {"sigma": 0.05, "leak": 0.7}
    job = rc.replay_job(cfg, "tmaze", "leak", 0)
    assert job.cell.sigma == 0.05  # task override
    assert job.cell.leak == 0.2  # variant beats task
    assert rc.replay_job(cfg, "triangle", "leak", 0).cell.sigma == cfg["model"]["sigma"]


def test_replay_only_variant_uses_trained_model_knobs(default_config):
    job = rc.replay_job(default_config, "tmaze", "leak_replay_lv0.4", 1)
    assert job.model.variant == "leak"
    assert job.model == rc.train_job(default_config, "tmaze", "leak", 1)
    assert job.cell.friction == 0.4 and job.cell.leak == 0.2
    assert job.model.cell.friction == 1.0
    assert "leak_replay_lv0.4" not in rc.trained_variants(default_config)


def test_unknown_names_are_errors(default_config):
    with pytest.raises(ValueError, match="unknown variant"):
        rc.replay_job(default_config, "tmaze", "nope", 0)
    with pytest.raises(ValueError, match="unknown task"):
        rc.train_job(default_config, "maze", "leak", 0)
    cfg = copy.deepcopy(default_config)
    cfg["variants"]["chain"] = {"model_from": "leak_replay_lv0.4"}
    with pytest.raises(ValueError, match="trained variant"):
        rc.trained_variant(cfg, "chain")


def test_each_job_holds_only_what_changes_its_output(default_config):
    """Intervals that change no result are in no job; each stage's settings only in its own job;
    every job survives its JSON round trip."""
    from rnnreplay.jobs import from_json, to_json

    cfg = copy.deepcopy(default_config)
    train, replay = rc.train_job(cfg, "tmaze", "leak", 0), rc.replay_job(cfg, "tmaze", "leak", 0)
    metrics, data = rc.metrics_job(cfg, "tmaze", "leak", 0), rc.synthesis_job(cfg, "tmaze", "train", 0)
    for job in (train, replay, metrics, data, rc.synthesis_job(cfg, "tmaze", "test")):
        assert from_json(to_json(job)) == job
    assert "log_every" not in to_json(train) and "checkpoint_every" not in to_json(train)
    cfg["train"].update(log_every=7, checkpoint_every=3)
    cfg["metrics"]["burn_in"] = 11
    cfg["data"]["test_steps"] = 99
    assert rc.train_job(cfg, "tmaze", "leak", 0) == train and rc.replay_job(cfg, "tmaze", "leak", 0) == replay
    assert rc.synthesis_job(cfg, "tmaze", "train", 0) == data
    assert rc.metrics_job(cfg, "tmaze", "leak", 0).settings.burn_in == 11
    cfg["tasks"]["tmaze"]["data"] = {"steps": 120}  # a task's own training sequence length
    assert rc.synthesis_job(cfg, "tmaze", "train", 0).steps == 120
    assert rc.synthesis_job(cfg, "triangle", "train", 0).steps == cfg["data"]["steps"]
    with pytest.raises(ValueError, match="TrainJob is needed"):
        from_json(to_json(replay), type(train))


def test_derive_seed_is_stable_and_distinct():
    assert rc.derive_seed("tmaze", 0, "init") == rc.derive_seed("tmaze", 0, "init")
    seeds = {rc.derive_seed(t, s, k) for t in ("tmaze", "triangle") for s in range(5) for k in ("init", "noise")}
    assert len(seeds) == 20
    assert 0 <= rc.derive_seed("x") < 2**63


def test_load_yaml_rejects_non_mapping(tmp_path):
    bad = tmp_path / "c.yaml"
    bad.write_text("- 1\n- 2\n")
    with pytest.raises(ValueError, match="mapping"):
        rcf.load_yaml(bad)


def test_variant_train_overrides(default_config):
    cfg = copy.deepcopy(default_config)
    cfg["variants"]["leak_k3"] = {"leak": 0.2, "train": {"masking": 3}}
    cfg["variants"]["leak_k3_replay"] = {"model_from": "leak_k3", "friction": 0.5}
    assert rc.train_job(cfg, "tmaze", "leak_k3", 0).settings.masking == 3
    assert rc.replay_job(cfg, "tmaze", "leak_k3_replay", 0).model.settings.masking == 3
    assert rc.train_job(cfg, "tmaze", "leak", 0).settings.masking == cfg["train"]["masking"]


def test_task_variant_lists_and_replay_noise_override(default_config):
    cfg = copy.deepcopy(default_config)
    cfg["variants"]["gru_x"] = {"cell": "gru", "replay_noise_multiplier": 1.0}
    cfg["tasks"]["tmaze"]["variants"] = ["gru_x", "leak_replay_lv0.4"]
    assert rc.task_variants(cfg, "tmaze") == ["gru_x", "leak_replay_lv0.4"]
    assert rc.task_trained_variants(cfg, "tmaze") == ["gru_x", "leak"]
    job = rc.replay_job(cfg, "tmaze", "gru_x", 0)
    assert job.settings.noise_multiplier == 1.0 and job.cell.cell == "gru"
    assert rc.replay_job(cfg, "tmaze", "leak", 0).settings.noise_multiplier == cfg["replay"]["noise_multiplier"]
    cfg["tasks"]["tmaze"]["variants"] = ["nope"]
    with pytest.raises(ValueError, match="unknown variant"):
        rc.task_variants(cfg, "tmaze")


def test_cross_references_give_one_line_errors(default_config, root):
    cfg = copy.deepcopy(default_config)
    cfg["figures"]["kr24"]["tasks"] = ["openfield", "nofield"]
    cfg["tasks"]["tmaze"]["variants"] = ["leak", "nope"]
    cfg["claims"]["C2"]["comparisons"][0]["tasks"] = ["tmaze", "maze9"]
    cfg["claims"]["K2"]["comparisons"][0]["task_b"] = "elsewhere"
    cfg["claims"]["C3"]["comparisons"][0]["a"] = "leak_adaptt"
    errors = rcv.config_errors(cfg, root / "workflow" / "schemas" / "config.schema.yaml")
    assert "figures.kr24.tasks: unknown task 'nofield'" in errors
    assert "tasks.tmaze.variants: unknown variant 'nope'" in errors
    assert "claims.C2.comparisons.0: unknown task 'maze9'" in errors
    assert "claims.K2.comparisons.0: unknown task 'elsewhere'" in errors
    assert "claims.C3.comparisons.0: unknown variant 'leak_adaptt'" in errors
    assert rcv.config_errors(default_config, root / "workflow" / "schemas" / "config.schema.yaml") == []
