"""Determinism: the same config and seed give identical NetCDF data and weights on CPU, whatever
the global random state; seeds derive from (task, seed, stream), so adding a variant (or a task)
changes no other job's spec or results."""

from __future__ import annotations

import copy
import random
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr

from rnnreplay import config as rc
from rnnreplay import config_files as rcf
from rnnreplay import config_validation as rcv
from rnnreplay import io
from rnnreplay.cli import main

ROOT = Path(__file__).resolve().parents[1]
TINY = rcf.load_yaml(ROOT / "tests" / "configs" / "tiny.yaml")


def run_job(cfg: dict, task: str, variant: str, seed: int, out: Path, scramble: int) -> Path:
    """synthesize -> train -> replay -> metrics for one job through the CLI, after scrambling the
    global random states (which the results must not depend on)."""
    random.seed(scramble)
    np.random.seed(scramble)
    torch.manual_seed(scramble)
    out.mkdir(parents=True, exist_ok=True)
    jobs = {"train": rc.train_job(cfg, task, variant, seed), "replay": rc.replay_job(cfg, task, variant, seed),
            "metrics": rc.metrics_job(cfg, task, variant, seed)}
    for name, job in jobs.items():
        (out / f"{name}.json").write_text(rc.to_json(job))
    steps = [
        ["synthesize", "--job", rc.to_json(rc.synthesis_job(cfg, task, "train", seed)), "--out", out / "train.nc"],
        ["synthesize", "--job", rc.to_json(rc.synthesis_job(cfg, task, "test")), "--out", out / "test.nc"],
        ["train", "--job", f"@{out / 'train.json'}", "--train-paths", out / "train.nc", "--out-model", out / "m.pt",
         "--out-loss", out / "loss.nc"],
        ["replay", "--job", f"@{out / 'replay.json'}", "--model", out / "m.pt", "--test-paths", out / "test.nc",
         "--out", out / "replay.nc"],
        ["metrics", "--job", f"@{out / 'metrics.json'}", "--replay", out / "replay.nc", "--test-paths",
         out / "test.nc", "--loss", out / "loss.nc", "--out", out / "metrics.nc"],
    ]
    for argv in steps:
        assert main([str(a) for a in argv]) == 0, argv
    return out


def assert_same_outputs(a: Path, b: Path) -> None:
    for name in ("train.nc", "test.nc", "loss.nc", "replay.nc", "metrics.nc"):
        da, db = io.read_dataset(a / name), io.read_dataset(b / name)
        assert set(da.variables) == set(db.variables), name
        for var in da.variables:  # bit for bit, not approximately
            np.testing.assert_array_equal(da[var].values, db[var].values, err_msg=f"{name}:{var}")
        same_attrs = {k: v for k, v in da.attrs.items() if k != "history"}  # history holds the time
        assert same_attrs == {k: v for k, v in db.attrs.items() if k != "history"}, name
    (sa, _), (sb, _) = io.load_model_file(a / "m.pt"), io.load_model_file(b / "m.pt")
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    return run_job(TINY, "tmaze", "leak_replay_lv0.5", 1, tmp_path_factory.mktemp("a"), scramble=1)


def test_same_config_and_seed_give_identical_files(first_run, tmp_path):
    second = run_job(TINY, "tmaze", "leak_replay_lv0.5", 1, tmp_path, scramble=2)
    assert_same_outputs(first_run, second)


def test_another_seed_gives_other_data(first_run, tmp_path):
    other = run_job(TINY, "tmaze", "leak_replay_lv0.5", 0, tmp_path, scramble=1)
    a, b = io.read_dataset(first_run / "replay.nc"), io.read_dataset(other / "replay.nc")
    assert not np.array_equal(a["position"].values, b["position"].values)


def with_more_entries(cfg: dict) -> dict:
    """The config with a variant and a task added, both listed first (dict order must not matter)."""
    more = copy.deepcopy(cfg)
    more["variants"] = {"aaa_new": {"leak": 0.5, "friction": 0.9}, **more["variants"]}
    more["tasks"] = {"another": {"kind": "triangle", "params": {"mode": "arena"}}, **more["tasks"]}
    return more


def test_adding_a_variant_or_task_changes_no_other_job():
    more = with_more_entries(TINY)
    assert rcv.config_errors(more, ROOT / "workflow/schemas/config.schema.yaml") == []
    for task in TINY["tasks"]:
        assert rc.synthesis_job(more, task, "test") == rc.synthesis_job(TINY, task, "test")
        for variant in TINY["variants"]:
            for seed in TINY["seeds"]:
                assert rc.synthesis_job(more, task, "train", seed) == rc.synthesis_job(TINY, task, "train", seed)
                for make in (rc.train_job, rc.replay_job, rc.metrics_job):
                    assert make(more, task, variant, seed) == make(TINY, task, variant, seed)


def test_adding_a_variant_changes_no_other_result(first_run, tmp_path):
    after = run_job(with_more_entries(TINY), "tmaze", "leak_replay_lv0.5", 1, tmp_path, scramble=3)
    assert_same_outputs(first_run, after)


def test_stream_seeds_depend_only_on_task_seed_and_stream():
    seeds = {rc.derive_seed(t, s, k) for t in ("tmaze", "triangle") for s in (0, 1)
             for k in ("init", "batches", "noise", "replay", "train_paths", "metrics")}
    assert len(seeds) == 24  # distinct streams
    assert rc.derive_seed("tmaze", 1, "replay") == rc.derive_seed("tmaze", "1", "replay")  # by value

