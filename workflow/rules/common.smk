# Helpers only: job resolution, target lists, resources. No science here.
import json
import math
import re
import sys
from pathlib import Path

from snakemake.utils import validate

SRC = str(Path(workflow.basedir) / "src")
if SRC not in sys.path:
    sys.path.insert(0, SRC)
from rnnreplay import config as rc  # noqa: E402

SCHEMA = str(Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml")


def job_memory_mb():
    """The memory (MB) one job may use, which the config's sizes are checked against: ``mem_mb``
    of ``--resources`` (command line or a profile's ``resources:``) when given, else None (this
    machine's memory); no check inside a cluster job (the main process has checked)."""
    if getattr(workflow, "remote_exec", False):
        return math.inf
    given = workflow.global_resources.get("mem_mb")
    try:
        return float(getattr(given, "value", given))
    except (TypeError, ValueError):
        return None


# A config may derive from another: `extends: FILE` (relative to this folder) takes FILE's keys and
# merges the config's own over them (rnnreplay.config.with_base), e.g. paper.yaml = kr24_paper.yaml + CR26.
try:
    _BASE_FILES = rc.base_files(config, workflow.basedir)
    _WITH_BASE = rc.with_base(config, workflow.basedir)
except ValueError as exc:
    sys.exit(f"rnnreplay: invalid config: {exc}")
if _WITH_BASE is not config:
    config.clear()
    config.update(_WITH_BASE)

# Readable one-line errors and exit 1, no traceback, no job. Snakemake has read the config files
# itself (keeping the later of two equal keys); they are read again to refuse repeated keys.
rc.exit_if_invalid(config, SCHEMA, files=[*workflow.configfiles, *_BASE_FILES], memory_mb=job_memory_mb())
validate(config, SCHEMA)  # passes now; fills in the schema's defaults

TASKS = list(config["tasks"])
VARIANTS = list(config["variants"])
SEEDS = [int(s) for s in config["seeds"]]
TRAINED = rc.trained_variants(config)
THREADS = int(config.get("threads_per_job", 1))
CONDA_ENV = "../../envs/rnnreplay.yaml"

# What a job needs to know but that changes no output goes through the environment, never through
# params (Snakemake reruns a job whose params change): the path of this checkout's package, so that
# `python -m rnnreplay` runs this checkout's code in any environment (moving or copying a finished
# run reruns nothing), and the run's resolved config, which every output records as provenance and
# from which the CLI takes train.log_every, train.checkpoint_every and device. Local jobs inherit
# this process's environment; a cluster job's Snakemake parses this file again and sets them too.
rc.export_to_jobs(SRC, config)

TASK_VARIANTS = {t: rc.task_variants(config, t) for t in TASKS}
TASK_TRAINED = {t: rc.task_trained_variants(config, t) for t in TASKS}
FIGS = config.get("figures", {})
KR24_TASKS = FIGS.get("kr24", {}).get("tasks", [])
HD_TASKS = FIGS.get("kr24", {}).get("hd_tasks", [])
RAT_TASK = FIGS.get("rat_task")
EXAMPLES_SEED = FIGS.get("examples_seed", SEEDS[0])
LEARNING_GATE = (config.get("claims", {}).get("decision", {}) or {}).get("learned_max_error_ratio")


def _alternatives(names):
    return "|".join(re.escape(n) for n in names)


wildcard_constraints:
    task=_alternatives(TASKS),
    variant=_alternatives(VARIANTS),
    seed=r"\d+",


# Each rule's params hold its job description (rnnreplay.jobs) as JSON: exactly what changes its output.
def synthesis_job(split):
    """The synthesize job of ``split`` (train: per seed; test: shared), as JSON."""
    return lambda w: rc.to_json(rc.synthesis_job(config, w.task, split, int(w.seed) if split == "train" else None))


# Training, replay and metrics run all seeds of a (task, variant) in one job: an ensemble (the
# members are trained side by side, each bit for bit as alone), a list of jobs in one process.
def train_jobs(wildcards):
    return rc.to_json([rc.train_job(config, wildcards.task, wildcards.variant, s) for s in SEEDS])


def replay_jobs(wildcards):
    return rc.to_json([rc.replay_job(config, wildcards.task, wildcards.variant, s) for s in SEEDS])


def metrics_jobs(wildcards):
    return rc.to_json([rc.metrics_job(config, wildcards.task, wildcards.variant, s) for s in SEEDS])


def seeds_of(pattern):
    """``pattern`` (with {task}, {variant} wildcards and {seed}) for every seed of the config."""
    return expand(pattern.replace("{task}", "{{task}}").replace("{variant}", "{{variant}}"), seed=SEEDS)


def model_of(wildcards):
    """The model files (one per seed) a variant replays (its own, or its ``model_from`` variant's)."""
    source = rc.trained_variant(config, wildcards.variant)
    return [f"results/models/{wildcards.task}/{source}/seed{s}.pt" for s in SEEDS]


def loss_of(wildcards):
    source = rc.trained_variant(config, wildcards.variant)
    return [f"results/models/{wildcards.task}/{source}/seed{s}_loss.nc" for s in SEEDS]


# Resource estimates for cluster jobs (SLURM), from the config's sizes. Calibration: one Adam step
# at paper shapes (N=512, B=200, T=100) took 13.7 s on one thread of a loaded 2-core VM (torch
# 2.13 CPU), i.e. ~4e8 cell-units/s (a cell-unit = one of B*T*N^2), with a peak RSS of 0.83 GB.
CPU_RATE = 3e8  # cell-units per second per thread, on the slow side of that measurement
GPU_RATE = 2e10  # assumed, not measured here (no GPU was available when this was written)


def _sizes(wildcards):
    """(hidden units N, batch B, sequence length T, Adam steps) of the job's trained model: the
    task's and variant's own overrides of the config's sizes."""
    source = rc.trained_variant(config, wildcards.variant)
    hidden = rc.cell_knobs(config, wildcards.task, source)["hidden"]
    train = rc.train_settings(config, wildcards.task, source)
    return hidden, train.batch, rc.data_sizes(config, wildcards.task)["steps"], train.steps


def _rate():
    """Cell-units per second of one job: GPU_RATE on CUDA, else CPU_RATE per thread (threads scale
    as threads^0.75)."""
    return GPU_RATE if config.get("device") == "cuda" else CPU_RATE * THREADS**0.75


def train_mem_mb(wildcards, attempt):
    """MB for a training job (an ensemble of one member per seed): 1 GB for Python, torch and
    Snakemake in the job, what the heap may keep of freed buffers for reuse (at most
    rnnreplay.allocator.KEPT_MB), plus about 20 (B, T, N) float32 tensors per member kept for
    backprop; grows with each retry."""
    n, b, t, _ = _sizes(wildcards)
    return int(1000 + rc.KEPT_MB + 20 * b * t * n * 4 * len(SEEDS) / 1e6) * attempt


def train_runtime(wildcards, attempt):
    """Minutes for a training job: steps * B * T * N^2 cell-units per member at CPU_RATE per thread
    (threads scale as threads^0.75) or GPU_RATE, with a 1.5x margin (an ensemble is no slower than
    its members one after the other); at least 10; grows with each retry."""
    n, b, t, steps = _sizes(wildcards)
    work = steps * b * t * n * n * len(SEEDS)
    return max(10, math.ceil(1.5 * work / _rate() / 60)) * attempt


def replay_runtime(wildcards, attempt):
    """Minutes for a replay job (every seed): trajectories * steps * N^2 forward cell-units per seed
    (a third of a training unit's cost) at the training rate, with a 3x margin; at least 10."""
    n = _sizes(wildcards)[0]
    work = config["replay"]["trajectories"] * config["replay"]["steps"] * n * n / 3 * len(SEEDS)
    return max(10, math.ceil(3 * work / _rate() / 60)) * attempt


REPORT_PAGES = ["results/report/summary.html", "results/report/provenance.html"]


def per_task(pattern, tasks=None, trained=False, seeds=None):
    """``pattern`` (with {task}, {variant}, {seed}) expanded over each task's own variants
    (its trained variants if ``trained``) and the seeds."""
    table = TASK_TRAINED if trained else TASK_VARIANTS
    return [
        pattern.format(task=t, variant=v, seed=s)
        for t in (TASKS if tasks is None else tasks)
        for v in table[t]
        for s in (SEEDS if seeds is None else seeds)
    ]


def figure_targets():
    targets = [f"results/figures/examples_{t}.png" for t in TASKS]
    targets += [f"results/figures/metrics_{t}.png" for t in TASKS]
    targets += ["results/figures/loss_curves.png", "results/figures/pi_error.png"]
    targets += [f"results/figures/replay_{k}.png" for k in ("displacement", "model_shares", "coverage", "compression")]
    if FIGS.get("momentum_sweep"):
        targets.append("results/figures/momentum_sweep.png")
    if KR24_TASKS:
        targets += [
            "results/figures/kr24_kl.png",
            "results/figures/kr24_densities.png",
            "results/figures/kr24_summary.png",
        ]
    if HD_TASKS:
        targets.append("results/figures/hd_ring.png")
    if RAT_TASK:
        targets.append("results/figures/rat_code.png")
    return targets


def unit_targets():
    """Every per-(task, variant, seed) output, so that deleting one regenerates it (its job makes
    every seed of its variant) and its dependents."""
    units = per_task("results/models/{task}/{variant}/seed{seed}.pt", trained=True)
    for stage in ("replay", "metrics"):
        units += per_task(f"results/{stage}/{{task}}/{{variant}}/seed{{seed}}.nc")
    return units


def all_targets():
    return figure_targets() + ["results/tables/summary.md"] + REPORT_PAGES + unit_targets()
