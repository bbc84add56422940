"""The workflow profiles: the SLURM profile's two user edits, and a paper-scale dry run through it
that sizes training jobs from the config (more memory and time than the default config's)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from rnnreplay.config import task_trained_variants
from rnnreplay.config_files import load_config
from test_workflow import ROOT, job_counts, snakemake

pytestmark = pytest.mark.workflow
PROFILES = ROOT / "workflow" / "profiles"


def test_slurm_profile_has_exactly_two_marked_edits():
    text = (PROFILES / "slurm" / "profile.yaml").read_text()
    edits = [line for line in text.splitlines() if "EDIT" in line and not line.lstrip().startswith("#")]
    assert len(edits) == 2
    assert {e.split(":")[0].strip() for e in edits} == {"slurm_partition", "slurm_account"}
    profile = yaml.safe_load(text)
    assert profile["executor"] == "slurm" and profile["retries"] >= 1 and profile["latency-wait"] >= 30
    assert {"mem_mb", "runtime"} <= set(profile["default-resources"])
    assert "train" not in profile.get("set-resources", {}), "training resources come from the config"


def test_default_profile_is_local():
    profile = yaml.safe_load((PROFILES / "default" / "profile.yaml").read_text())
    assert "executor" not in profile and profile["rerun-incomplete"] is True


def train_resources(output: str) -> list[dict]:
    """Threads and resources of every `rule train` job in a dry run's output."""
    jobs = []
    for block in output.split("rule train:")[1:]:
        block = block.split("Shell command:")[0]
        res = dict(re.findall(r"(\w+)=([^,\s]+)", re.search(r"resources: (.*)", block).group(1)))
        threads = re.search(r"threads: (\d+)", block)
        res["threads"] = int(threads.group(1)) if threads else 1
        res["task"] = re.search(r"wildcards: task=(\w+)", block).group(1)
        jobs.append(res)
    return jobs


def test_paper_dry_run_through_slurm_profile_sizes_training_from_config(tmp_path):
    pytest.importorskip("snakemake_executor_plugin_slurm", reason="the slurm extra: pip install -e '.[slurm]'")
    paper = load_config(ROOT / "workflow" / "configs" / "paper.yaml")  # with kr24_paper.yaml, which it extends
    proc = snakemake("-n", "--workflow-profile", str(PROFILES / "slurm"), "--configfile",
                     str(ROOT / "workflow" / "configs" / "paper.yaml"), "--directory", str(tmp_path))
    counts = job_counts(proc.stdout)
    trained = sum(len(task_trained_variants(paper, task)) for task in paper["tasks"])
    assert counts["train"] == trained  # one ensemble job (every seed) per (task, trained variant)
    assert set(paper["tasks"]) >= {"tmaze", "triangle", "openfield", "openfield_biased", "headdirection",
                                   "headdirection_biased", "rat"}  # every experiment of both papers
    assert "Group job data" in proc.stdout and "Group job summaries" in proc.stdout
    paper_jobs = train_resources(proc.stdout)
    assert len(paper_jobs) == counts["train"]
    default = train_resources(snakemake(
        "-n", "--workflow-profile", str(PROFILES / "slurm"), "--configfile", str(ROOT / "config.yaml"),
        "--directory", str(tmp_path / "default"), "results/models/tmaze/leak/seed0.pt").stdout)[0]
    for job in paper_jobs:
        assert job["threads"] == paper["threads_per_job"]
        assert int(job["mem_mb"]) > int(default["mem_mb"])
        assert job["gpu"] == "0" and job["slurm_partition"] == "debug"
        if job["task"] == "tmaze":  # 512 units, batch 200 against the default's 128 units, batch 64
            assert int(job["runtime"]) > 3 * int(default["runtime"])
    # sized per job: the 512-unit maze networks ask for more than the 128-unit head-direction ones
    assert max(int(j["runtime"]) for j in paper_jobs) > 10 * min(int(j["runtime"]) for j in paper_jobs)
