"""Training grouped per task (issue 24): with ``device: cuda`` (or ``train_group: task``) one job
trains every seed of a task's trained variants that share training settings and cell shape, as one
ensemble; on CPU the workflow keeps one job per (task, variant), which is faster there."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from conftest import snakemake
from rnnreplay import config as rc
from rnnreplay import config_files as rcf
from test_workflow import job_counts

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "configs" / "tiny.yaml"


def test_groups_share_settings_and_cell_shape():
    cfg = rcf.load_yaml(ROOT / "config.yaml")
    assert rc.train_groups(cfg, "tmaze") == [rc.task_trained_variants(cfg, "tmaze")]
    assert rc.train_groups(cfg, "openfield_biased") == [["noisy"]]
    paper = rcf.load_config(ROOT / "workflow" / "configs" / "paper.yaml")
    groups = rc.train_groups(paper, "tmaze")  # the masking sweep's k changes the settings
    assert sorted(v for g in groups for v in g) == sorted(rc.task_trained_variants(paper, "tmaze"))
    assert all(len({repr(rc.train_settings(paper, "tmaze", v)) for v in g}) == 1 for g in groups)
    assert any("noleak_k3" in g and "leak_k3_leak" in g for g in groups)
    assert ["gru"] in rc.train_groups(paper, "openfield")  # another cell: its own job


@pytest.mark.parametrize("device, grouping, grouped", [("cpu", "auto", False), ("cuda", "auto", True),
                                                        ("auto", "auto", False), ("cpu", "task", True),
                                                        ("cuda", "variant", False)])
def test_grouping_follows_device_and_train_group(device, grouping, grouped):
    assert rc.groups_training({"device": device, "train_group": grouping}) is grouped


@pytest.mark.workflow
def test_dry_run_groups_training_per_task_when_asked(tmp_path):
    """The default config's dry run: one training job per variant, or, grouped (train_group task,
    what device cuda chooses; a local dry run with device cuda is refused on a machine without a
    GPU), one per group of a task's variants. Which device groups: the unit test above."""
    counts = {g: job_counts(snakemake("-n", "--cores", "2", "--configfile", str(ROOT / "config.yaml"), "--config",
                                      f"train_group={g}", "--directory", str(tmp_path / g)).stdout)
              for g in ("variant", "task")}
    assert counts["variant"]["train"] == 16 and not any(k.startswith("train_") for k in counts["variant"])
    assert counts["task"]["train"] == 3  # the variants alone in their group
    assert {k for k in counts["task"] if k.startswith("train_")} == {
        "train_tmaze_group0", "train_triangle_group0", "train_openfield_group0", "train_rat_group0"}


@pytest.mark.workflow
def test_a_group_job_trains_each_member_as_its_own_job_would(tmp_path):
    """The tiny config's T-maze, trained per variant and per task (on CPU: train_group task): the
    same files, each model file with its own job, the loss curves equal to float32 tolerance."""
    targets = [f"results/models/tmaze/{v}/seed{s}_loss.nc" for v in ("noleak", "leak_adapt_mom") for s in (0, 1)]
    runs = {}
    for grouping in ("variant", "task"):
        proc = snakemake("--cores", "2", "--configfile", str(TINY), "--config", f"train_group={grouping}",
                         "--directory", str(tmp_path / grouping), *targets)
        assert ("train_tmaze_group0" in proc.stderr + proc.stdout) is (grouping == "task")
        runs[grouping] = {t: xr.load_dataset(tmp_path / grouping / t) for t in targets}
    for target in targets:
        a, b = runs["variant"][target], runs["task"][target]
        assert json.loads(a.attrs["job_json"]) == json.loads(b.attrs["job_json"]), target
        np.testing.assert_allclose(b["loss"].values, a["loss"].values, rtol=1e-4, err_msg=target)
    log = (tmp_path / "task" / "results" / "logs" / "train" / "tmaze" / "group0.log").read_text()
    assert re.search(r"seeds 0 1 0 1", log)
