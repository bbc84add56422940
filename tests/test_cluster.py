"""The SLURM path for real: a single-node SLURM cluster on localhost (tests/cluster/slurm_local.sh)
runs the tiny config through `--workflow-profile workflow/profiles/slurm`, unedited.

It installs Debian packages and starts daemons as root, so it runs only when asked
(`make test-cluster`, or RNNREPLAY_CLUSTER_TEST=1) and always under CI (CI=true); otherwise it
is skipped with the reason. Under CI a machine that cannot run it fails the test, not skips it.
The config it submits is checked on every run, cluster or not: a config the workflow refuses
would otherwise surface only where the cluster runs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.workflow
ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "cluster" / "slurm_local.sh"
PROFILE = ROOT / "workflow" / "profiles" / "slurm"
ASKED = os.environ.get("RNNREPLAY_CLUSTER_TEST") == "1" or os.environ.get("CI", "").lower() == "true"

NOT_ASKED = ("SLURM cluster test: installs Debian packages and starts daemons as root; "
             "run it with `make test-cluster` or RNNREPLAY_CLUSTER_TEST=1 (always on under CI=true)")


def sh(*cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


@pytest.fixture(scope="module")
def cluster():
    """Bring the local cluster up (idempotent) and stop, afterwards, only what this test started."""
    if not ASKED:
        pytest.skip(NOT_ASKED)
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.fail("the SLURM cluster test needs root on a Debian/Ubuntu machine (apt-get)")
    state = Path("/run/rnnreplay-slurm-local.pids")
    had_state = state.exists()
    up = sh("bash", str(SCRIPT), "up", timeout=900)
    assert up.returncode == 0, up.stdout + up.stderr
    yield
    if not had_state:  # daemons started by an earlier `up` outside this test are left running
        down = sh("bash", str(SCRIPT), "down", timeout=120)
        assert down.returncode == 0, down.stdout + down.stderr


def tiny_cluster_config() -> dict:
    """tests/configs/tiny.yaml cut to one task and two seeds (the fewest claims accept): every rule
    and all three group jobs run, in 7 SLURM jobs instead of about 30 (each costs two Snakemake
    start-ups and a poll)."""
    cfg = yaml.safe_load((ROOT / "tests" / "configs" / "tiny.yaml").read_text())
    cfg["seeds"] = [0, 1]
    cfg["tasks"] = {"tmaze": cfg["tasks"]["tmaze"]}
    cfg["figures"]["examples_seed"] = 0
    for key in ("kr24", "rat_task"):  # figures of tasks this cut drops
        cfg["figures"].pop(key, None)
    for claim in cfg.get("claims", {}).values():  # claims restricted to the one task
        for comp in claim.get("comparisons", []):
            if "tasks" in comp:
                comp["tasks"] = [t for t in comp["tasks"] if t in cfg["tasks"]]
    return cfg


@pytest.mark.parametrize("profile", [None, PROFILE], ids=["no profile", "slurm profile"])
def test_cluster_config_is_accepted(tmp_path, profile):
    """The workflow accepts the cut config (a dry run, no cluster): it refused it once, with one
    seed under ``min_seeds`` 2, and only the cluster test, which runs only under CI, could tell."""
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(tiny_cluster_config()))
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--configfile",
           "config.yaml", "--cores", "1", "--dry-run", "--quiet", "--directory", str(tmp_path)]
    if profile is not None:  # the SLURM executor is only named, nothing is submitted in a dry run
        cmd[3:3] = ["--workflow-profile", str(profile)]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]


@pytest.mark.cluster
def test_tiny_workflow_runs_on_slurm(cluster, tmp_path):
    cfg = tiny_cluster_config()
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    t0 = time.monotonic()
    # The profile as committed (partition `debug`, account `testacct` are the local cluster's);
    # the command line only speeds polling up (first status check after 5 s, not 40 s) and sizes
    # jobs to this 2-CPU node.
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"),
         "--workflow-profile", str(PROFILE), "--configfile", "config.yaml",
         "--jobs", "2", "--cores", "2", "--slurm-init-seconds-before-status-checks", "5",
         "--directory", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1500,
    )
    wall = time.monotonic() - t0
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    print(f"SLURM workflow wall time: {wall:.0f} s")
    print("\n".join(line for line in out.splitlines() if "submitted with SLURM jobid" in line))

    # every output of the DAG exists
    res = tmp_path / "results"
    expected = [res / "tables" / "summary.md", res / "figures" / "loss_curves.png",
                res / "figures" / "momentum_sweep.png", res / "figures" / "examples_tmaze.png",
                res / "figures" / "metrics_tmaze.png"]
    expected += [res / "models" / "tmaze" / v / f"seed{s}.pt" for v in ("noleak", "leak_adapt_mom")
                 for s in cfg["seeds"]]
    for stage in ("replay", "metrics"):
        expected += [res / stage / "tmaze" / v / f"seed{s}.nc" for v in cfg["tasks"]["tmaze"]["variants"]
                     for s in cfg["seeds"]]
    missing = [str(p) for p in expected if not p.exists() or p.stat().st_size == 0]
    assert not missing, missing
    assert not any((res / "checkpoints").rglob("*.ckpt")), "checkpoints are removed after training"

    # every SLURM job Snakemake submitted ran to COMPLETED, as sacct saw it
    submitted = [line for line in out.splitlines() if "submitted with SLURM jobid" in line]
    ids = [re.search(r"SLURM jobid (\d+)", line).group(1) for line in submitted]
    # grouped: 1 data group job, 4 trainings (2 variants x 2 seeds), 1 group job of the 6 replays
    # with their metrics, 1 group job for tables/figures/claims (ungrouped: about 30 SLURM jobs)
    assert len(ids) == 7, "\n".join(submitted)
    deadline = time.monotonic() + 60  # a finished job reaches the accounting DB a few s late
    while True:
        acct = sh("sacct", "-n", "-X", "-P", "--format=JobID,State", "-j", ",".join(ids))
        states = dict(line.split("|") for line in acct.stdout.split())
        if set(states) == set(ids) and set(states.values()) == {"COMPLETED"} or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert set(states) == set(ids), (ids, acct.stdout, acct.stderr)
    assert set(states.values()) == {"COMPLETED"}, states
    assert sum("slurm_logs/group_" in line for line in submitted) == 3, "\n".join(submitted)
    assert "torch threads 1" in (res / "logs" / "train" / "tmaze" / "noleak.log").read_text()
