# Helpers only: spec resolution, target lists, resources. No science here.
import json
import re
import sys
from pathlib import Path

SRC = str(Path(workflow.basedir) / "src")
if SRC not in sys.path:
    sys.path.insert(0, SRC)
from rnnreplay import config as rc  # noqa: E402

TASKS = list(config["tasks"])
VARIANTS = list(config["variants"])
SEEDS = [int(s) for s in config["seeds"]]
TRAINED = rc.trained_variants(config)
THREADS = int(config.get("threads_per_job", 1))
# The CLI of the package in src/, so a rule runs this checkout's code in any environment.
CLI = f"PYTHONPATH={SRC}${{PYTHONPATH:+:$PYTHONPATH}} python -m rnnreplay"
CONDA_ENV = "../../envs/rnnreplay.yaml"

for _v in VARIANTS:  # cross-references the schema cannot check
    rc.trained_variant(config, _v)
for _v in config.get("figures", {}).get("momentum_sweep", {}):
    if _v not in config["variants"]:
        raise ValueError(f"figures.momentum_sweep names unknown variant {_v!r}")
TASK_VARIANTS = {t: rc.task_variants(config, t) for t in TASKS}
TASK_TRAINED = {t: rc.task_trained_variants(config, t) for t in TASKS}
FIGS = config.get("figures", {})
KR24_TASKS = FIGS.get("kr24", {}).get("tasks", [])
HD_TASKS = FIGS.get("kr24", {}).get("hd_tasks", [])
RAT_TASK = FIGS.get("rat_task")
EXAMPLES_SEED = FIGS.get("examples_seed", SEEDS[0])
for _t in KR24_TASKS + HD_TASKS + ([RAT_TASK] if RAT_TASK else []):
    if _t not in config["tasks"]:
        raise ValueError(f"figures names unknown task {_t!r}")


def _alternatives(names):
    return "|".join(re.escape(n) for n in names)


wildcard_constraints:
    task=_alternatives(TASKS),
    variant=_alternatives(VARIANTS),
    seed=r"\d+",


def task_spec(wildcards):
    """The synthesize stage's spec for one task, as JSON."""
    return json.dumps(rc.task_spec(config, wildcards.task), sort_keys=True)


def job_spec(wildcards):
    """The resolved spec of one (task, variant, seed) job, as JSON."""
    return json.dumps(rc.job_spec(config, wildcards.task, wildcards.variant, int(wildcards.seed)), sort_keys=True)


def model_of(wildcards):
    """The model file a variant replays (its own, or its ``model_from`` variant's)."""
    source = rc.trained_variant(config, wildcards.variant)
    return f"results/models/{wildcards.task}/{source}/seed{wildcards.seed}.pt"


def loss_of(wildcards):
    source = rc.trained_variant(config, wildcards.variant)
    return f"results/models/{wildcards.task}/{source}/seed{wildcards.seed}_loss.nc"


def train_mem_mb(wildcards, attempt):
    """Rough peak memory of a training job: parameters, activations kept for backprop, margin."""
    n, b, t = config["model"]["hidden"], config["train"]["batch"], config["data"]["steps"]
    return int(1000 + 20 * b * t * n * 4 / 1e6 + 0) * attempt


def train_runtime(wildcards, attempt):
    """Minutes for a training job, from a CPU rate of about 2e8 cell-units per second."""
    n, b, t = config["model"]["hidden"], config["train"]["batch"], config["data"]["steps"]
    work = config["train"]["steps"] * b * t * n * n
    return max(10, int(work / 2e8 / 60 * 3)) * attempt


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
    targets.append("results/figures/loss_curves.png")
    if FIGS.get("momentum_sweep"):
        targets.append("results/figures/momentum_sweep.png")
    if KR24_TASKS:
        targets += ["results/figures/kr24_kl.png", "results/figures/kr24_densities.png", "results/figures/kr24_summary.png"]
    if HD_TASKS:
        targets.append("results/figures/hd_ring.png")
    if RAT_TASK:
        targets.append("results/figures/rat_code.png")
    return targets


def unit_targets():
    """Every per-(task, variant, seed) output, so that deleting one regenerates it and its dependents."""
    units = per_task("results/models/{task}/{variant}/seed{seed}.pt", trained=True)
    for stage in ("replay", "metrics"):
        units += per_task(f"results/{stage}/{{task}}/{{variant}}/seed{{seed}}.nc")
    return units


def all_targets():
    return figure_targets() + ["results/tables/summary.md"] + unit_targets()
