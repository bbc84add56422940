"""The Snakemake workflow: lint, dry runs of the default config, and a tiny end-to-end run."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest
import xarray as xr

from conftest import snakemake  # the tiny_run fixture lives in conftest.py too
from rnnreplay.config import task_trained_variants, task_variants
from rnnreplay.config_files import load_yaml

pytestmark = pytest.mark.workflow
ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "configs" / "tiny.yaml"


def job_counts(output: str) -> dict[str, int]:
    table = output.split("Job stats:")[1]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


def test_lint_is_clean():
    proc = snakemake("--lint", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_snakefmt_leaves_the_rules_unchanged():
    """The rule files are formatted: `snakefmt --check` passes (line length 120, pyproject.toml [tool.snakefmt])."""
    proc = subprocess.run([sys.executable, "-m", "snakefmt", "--check", "Snakefile", "workflow/rules"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_default_dry_run_lists_one_job_per_variant(tmp_path):
    """Training, replay and metrics run every seed of a (task, variant) in one job (an ensemble)."""
    cfg = load_yaml(ROOT / "config.yaml")
    proc = snakemake("-n", "--cores", "2", "--configfile", str(ROOT / "config.yaml"), "--directory", str(tmp_path))
    counts = job_counts(proc.stdout)
    n_tasks, n_seeds = len(cfg["tasks"]), len(cfg["seeds"])
    assert counts["synthesize_train"] == n_tasks * n_seeds
    assert counts["synthesize_test"] == n_tasks
    assert counts["train"] == sum(len(task_trained_variants(cfg, t)) for t in cfg["tasks"])
    assert counts["replay"] == counts["metrics"] == sum(len(task_variants(cfg, t)) for t in cfg["tasks"])


def test_tiny_run_produces_every_output(tiny_run):
    cfg = load_yaml(TINY)
    results = tiny_run / "results"
    for task in cfg["tasks"]:
        for name in ("examples", "metrics"):
            assert (results / "figures" / f"{name}_{task}.png").stat().st_size > 1000
            assert (results / "figures" / f"{name}_{task}.pdf").exists()
    for name in ("momentum_sweep", "loss_curves", "pi_error", "kr24_kl", "kr24_densities", "kr24_summary", "hd_ring",
                 "rat_code", "replay_displacement", "replay_model_shares", "replay_coverage", "replay_compression"):
        assert (results / "figures" / f"{name}.png").stat().st_size > 1000, name
    summary = (results / "tables" / "summary.md").read_text()
    assert "leak_replay_lv0.5" in summary and "wasserstein" in summary
    assert (results / "figures" / "theory.png").stat().st_size > 1000
    checks = pd.read_csv(results / "tables" / "theory_checks.csv")
    assert len(checks) >= 10
    claims = pd.read_csv(results / "claims.csv")
    assert list(claims["claim"].unique()) == ["C1", "C2"] and len(claims) == 4
    assert set(claims["verdict"]) <= {"reproduced", "not reproduced", "inconclusive"}
    assert (claims["n"][claims["kind"] == "paired"] == 2).all()
    assert "| C2 |" in (results / "claims.md").read_text()
    for log in (results / "logs" / "train").rglob("*.log"):
        assert "final loss" in log.read_text().splitlines()[-1]


def test_tiny_run_netcdf_outputs_open_cleanly(tiny_run):
    files = sorted((tiny_run / "results").rglob("*.nc"))
    assert len(files) > 20
    for path in files:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with xr.open_dataset(path) as ds:
                assert ds.attrs["Conventions"] == "CF-1.8"
                assert "config_json" in ds.attrs and "git" in ds.attrs["source"]
                for name, var in ds.data_vars.items():
                    assert {"units", "long_name"} <= set(var.attrs), (path, name)
    with xr.open_dataset(tiny_run / "results/replay/tmaze/leak_replay_lv0.5/seed1.nc") as ds:
        assert ds["position"].dims == ("trajectory", "step", "space")
        assert ds["hidden"].dims == ("trajectory", "hidden_step", "unit")
        assert ds.attrs["seed"] == 1
    with xr.open_dataset(tiny_run / "results/replay/openfield/gru/seed0.nc") as ds:
        assert ds["active_position"].dims == ("active_trajectory", "active_step", "space")
        assert ds["untrained_position"].shape == ds["position"].shape
        assert ds["readout"].dims == ("trajectory", "hidden_step", "code") and ds.sizes["code"] == 16
    with xr.open_dataset(tiny_run / "results/metrics/openfield/noisy/seed0.nc") as ds:
        assert {"kl", "kl_untrained", "kl_uniform", "variance", "mean_radius"} <= set(ds.data_vars)
        assert ds["variance"].attrs["units"] == "m2" and "reach_time" not in ds
    with xr.open_dataset(tiny_run / "results/metrics/headdirection/noisy/seed0.nc") as ds:
        assert {"angular_drift", "circular_variance"} <= set(ds.data_vars) and "kl" not in ds
        assert ds["angular_drift"].attrs["units"] == "rad"


def test_deleting_one_replay_reruns_only_it_and_dependents(tiny_run):
    target = tiny_run / "results/replay/triangle/noleak/seed1.nc"
    target.unlink()
    proc = snakemake("-n", "--cores", "1", "--configfile", "config.yaml", "--directory", str(tiny_run), cwd=tiny_run)
    counts = job_counts(proc.stdout)
    assert counts.get("train", 0) == 0 and counts.get("synthesize_train", 0) == 0
    assert counts["replay"] == 1 and counts["metrics"] == 1  # the variant's job (every seed)
    assert set(counts) <= {"replay", "metrics", "summarise", "figure_examples", "figure_metrics",
                           "figure_momentum_sweep", "figure_kr24_summary", "figure_kr24_kl", "figure_pi_error", "claims",
                           "report_pages", "figure_replay_displacement", "figure_replay_model_shares",
                           "figure_replay_coverage", "figure_replay_compression", "figure_verdicts",
                           "report_claims", "all", "total"}
    snakemake("--cores", "1", "--configfile", "config.yaml", "--directory", str(tiny_run), cwd=tiny_run)
    assert target.exists()


def test_cli_help_for_every_stage():
    for stage in ("synthesize", "train", "replay", "metrics", "summarise", "figure", "theory", "claims"):
        proc = subprocess.run([sys.executable, "-m", "rnnreplay", stage, "--help"], capture_output=True, text=True)
        assert proc.returncode == 0 and "usage" in proc.stdout


@pytest.mark.parametrize("configfile", sorted((ROOT / "workflow" / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_other_experiments_dry_run(configfile, tmp_path):
    proc = snakemake("-n", "--cores", "2", "--configfile", str(configfile), "--directory", str(tmp_path))
    assert job_counts(proc.stdout)["train"] > 0
