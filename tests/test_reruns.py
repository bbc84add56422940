"""A run reruns exactly what a change touched (issue 12): after the tiny config has run, each edit of
the config is dry-run and the rules Snakemake would rerun are compared with what the edit changes;
a finished run copied (checkout and results) to another folder reruns nothing."""

from __future__ import annotations

import copy
import shutil

import pytest
import yaml

from conftest import ROOT, TINY, snakemake
from rnnreplay.config_files import load_yaml

pytestmark = pytest.mark.workflow

# What follows every change of the metrics table: the tables, the figures drawn from them, the claims
# with the verdict figure and the report's claims page, and the report pages (and the `all` target).
CLAIMS = {"claims": 1, "figure_verdicts": 1, "report_claims": 1}
DOWNSTREAM = {"summarise", "figure_metrics", "figure_momentum_sweep", "figure_kr24_summary", *CLAIMS,
              "report_pages", "all", "figure_replay_displacement", "figure_replay_model_shares",
              "figure_replay_coverage", "figure_replay_compression"}
REPLAY_FIGURES = {"figure_examples", "figure_kr24_kl", "figure_kr24_densities", "figure_hd_ring", "figure_rat_code",
                  "figure_pi_error"}


def set_key(cfg: dict, path: str, value) -> None:
    node = cfg
    *parents, last = path.split(".")
    for key in parents:
        node = node[key]
    node[last] = value


def dry_run_counts(run_dir, cfg: dict) -> dict[str, int]:
    """Rule -> number of jobs a dry run of ``cfg`` in ``run_dir`` would run ({} if nothing)."""
    path = run_dir / "edited.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    proc = snakemake("-n", "--cores", "1", "--configfile", path.name, "--directory", str(run_dir), cwd=run_dir)
    if "Nothing to be done" in proc.stdout + proc.stderr:
        return {}
    counts = {}
    for line in proc.stdout.split("Job stats:")[1].splitlines()[3:]:  # after the header and its rule
        rule, jobs = line.split()
        if rule == "total":
            return counts
        counts[rule] = int(jobs)
    raise AssertionError(f"no job stats table in:\n{proc.stdout[-2000:]}")


NOTHING = {}
METRICS = {"metrics": 10, **dict.fromkeys(DOWNSTREAM, 1), "figure_metrics": 5}  # a job per (task, variant)
METRICS_AND_KL = {**METRICS, "figure_kr24_kl": 1}  # the KL heatmap computes cross pairs with these settings
REPLAY = {"replay": 10, **METRICS, **dict.fromkeys(REPLAY_FIGURES, 1), "figure_examples": 5}

EDITS = [  # (config key, new value, rule -> jobs that must rerun; nothing else may)
    ("train.log_every", 7, NOTHING),
    ("train.checkpoint_every", 3, NOTHING),
    ("threads_per_job", 2, NOTHING),
    ("device", "auto", NOTHING),
    ("metrics.burn_in", 6, {**METRICS_AND_KL, "figure_kr24_densities": 1}),
    ("metrics.speed_lag", 4, METRICS_AND_KL),
    ("metrics.w_samples", 101, METRICS_AND_KL),
    ("metrics.min_dwell", 4, METRICS_AND_KL),
    ("metrics.kl_samples", 201, METRICS_AND_KL),
    ("metrics.kde_points", 301, METRICS_AND_KL),
    ("metrics.alpha_lags", [1, 5], METRICS_AND_KL),
    ("metrics.dynamics_events", 5, METRICS_AND_KL),
    ("metrics.coverage_distance", 0.5, METRICS_AND_KL),
    ("replay.trajectories", 5, REPLAY),
    ("replay.steps", 41, REPLAY),
    # the GRU variant replaces replay.noise_multiplier with its own (1.0): its replay stays
    ("replay.noise_multiplier", 1.5, {**REPLAY, "replay": 9, "metrics": 9}),
    ("replay.hidden_every", 4, REPLAY),
    # leak_adapt_mom is trained on tmaze and triangle; leak_replay_lv0.5 replays its model
    ("variants.leak_adapt_mom.adapt_strength", 0.4,
     {"train": 2, "replay": 4, "metrics": 4, **dict.fromkeys(DOWNSTREAM, 1), "figure_metrics": 5, "figure_kr24_kl": 1,
      "figure_examples": 2, "figure_loss_curves": 1, "figure_pi_error": 1}),
    ("tasks.rat.params.n_cells", 12,
     {"synthesize_train": 2, "synthesize_test": 1, "train": 1, "replay": 1, "metrics": 1, **dict.fromkeys(DOWNSTREAM, 1),
      "figure_metrics": 5, "figure_kr24_kl": 1, "figure_examples": 1, "figure_loss_curves": 1, "figure_rat_code": 1,
      "figure_pi_error": 1}),
    ("claims.C2.statement", "another wording", {**CLAIMS, "all": 1}),
]


@pytest.mark.parametrize("key,value,expected", EDITS, ids=[e[0] for e in EDITS])
def test_an_edit_reruns_exactly_what_it_changes(tiny_run, key, value, expected):
    cfg = copy.deepcopy(load_yaml(TINY))
    set_key(cfg, key, value)
    assert dry_run_counts(tiny_run, cfg) == expected


def test_a_copied_run_reruns_nothing(tiny_run, tmp_path):
    """The project folder (checkout and results, with Snakemake's metadata) copied elsewhere: the
    rules' params hold no path of the checkout, so nothing reruns there."""
    moved = tmp_path / "elsewhere" / "project"
    moved.mkdir(parents=True)
    for name in ("Snakefile", "workflow", "src"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, moved / name)
    for name in ("results", ".snakemake", "config.yaml"):
        src = tiny_run / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, moved / name, **({"symlinks": True} if src.is_dir() else {}))
    proc = snakemake("-n", "--cores", "1", "--configfile", "config.yaml", "--directory", str(moved), cwd=moved,
                     snakefile=moved / "Snakefile")
    assert "Nothing to be done" in proc.stdout + proc.stderr, proc.stdout[-3000:]
