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
from rnnreplay import config_files as rcf  # noqa: E402
from rnnreplay import universes as ru  # noqa: E402

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
# merges the config's own over them (rnnreplay.config_files.with_base), e.g. paper.yaml = kr24_paper.yaml + CR26.
try:
    _BASE_FILES = rcf.base_files(config, workflow.basedir)
    _WITH_BASE = rcf.with_base(config, workflow.basedir)
except ValueError as exc:
    sys.exit(f"rnnreplay: invalid config: {exc}")
if _WITH_BASE is not config:
    config.clear()
    config.update(_WITH_BASE)

# Readable one-line errors and exit 1, no traceback, no job. Snakemake has read the config files
# itself (keeping the later of two equal keys); they are read again to refuse repeated keys.
# --- Before the check: list items of --config given their types; after it: a partial run's selection.
from rnnreplay import config_checks as rcc  # noqa: E402
from rnnreplay import config_validation as rcv  # noqa: E402
from rnnreplay import io as rio  # noqa: E402

REMOTE = getattr(workflow, "remote_exec", False)
rcc.coerce_command_line(config, dict(getattr(workflow.config_settings, "config", None) or {}))
ARGV = None if REMOTE else sys.argv  # a local run checks device: cuda on this machine
rcv.exit_if_invalid(config, SCHEMA, files=[*workflow.configfiles, *_BASE_FILES], memory_mb=job_memory_mb(), argv=ARGV)
config.update(rcc.selected(config))  # only_tasks / only_claims: the claims and figures of the tasks run
validate(config, SCHEMA)  # passes now; fills in the schema's defaults
# A finished output cut short later (a truncated copy, a full disk) is removed so the run rebuilds it.
if not REMOTE:
    for _line in rio.remove_damaged("results", dry_run=bool({"-n", "--dry-run", "--dryrun"} & set(sys.argv))):
        print(_line, file=sys.stderr)
# --- end

# A robustness map (workflow/configs/robustness.yaml given after config.yaml): the same rules run
# once per universe (a wildcard), each universe's outputs under results/robustness/<universe>/; a
# job that an earlier universe already runs identically is not run again (ru.owners: its
# dependents read the earlier universe's file). Without a map, paths are results/<stage>/... .
ROBUSTNESS = bool(config.get("robustness"))
if ROBUSTNESS:
    _errors = ru.universe_errors(config, SCHEMA, memory_mb=job_memory_mb())
    if _errors:
        sys.exit(
            f"rnnreplay: invalid robustness section ({len(_errors)} problem{'s' * (len(_errors) > 1)}):\n"
            + "\n".join(f"  - {e}" for e in _errors)
        )
    UNIVERSES = ru.universe_configs(config)
    SHARED = ru.owners(UNIVERSES)
    ROOT = "results/robustness/{universe}/"
else:
    UNIVERSES = {"": config}
    SHARED = None
    ROOT = "results/"
SEED_SETS = list(dict.fromkeys(tuple(int(s) for s in u["seeds"]) for u in UNIVERSES.values()))
if len(SEED_SETS) > 2:
    sys.exit(f"rnnreplay: the robustness universes use {len(SEED_SETS)} seed sets; at most two are supported")


def result(relative):
    """The output path pattern of ``relative`` (e.g. ``models/{task}/{variant}/seed{seed}.pt``):
    under ``results/``, or under ``results/robustness/{universe}/`` in a robustness map."""
    return f"{ROOT}{relative}"


def cfg(wildcards):
    """The config of the job's universe (the run's config without a robustness map)."""
    return UNIVERSES[wildcards.universe] if ROBUSTNESS else config


def at(universe, relative):
    """The path of ``relative`` (e.g. ``models/tmaze/leak/seed0.pt``) in ``universe``'s results."""
    return f"results/robustness/{universe}/{relative}" if ROBUSTNESS else f"results/{relative}"


def owner(stage, wildcards, *key):
    """The universe whose ``stage`` output (for (task, *key)) the job's universe reads."""
    return SHARED[stage][(wildcards.universe, wildcards.task, *key)] if ROBUSTNESS else ""


TASKS = list(dict.fromkeys(t for u in UNIVERSES.values() for t in u["tasks"]))
VARIANTS = list(dict.fromkeys(v for u in UNIVERSES.values() for v in u["variants"]))
SEEDS = list(SEED_SETS[0])
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

REFERENCE = next(iter(UNIVERSES.values()))  # the config (the reference universe of a robustness map)
TASK_VARIANTS = {t: rc.task_variants(REFERENCE, t) for t in TASKS}
TASK_TRAINED = {t: rc.task_trained_variants(REFERENCE, t) for t in TASKS}
FIGS = {} if ROBUSTNESS else config.get("figures", {})  # a robustness map draws no per-run figures
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
    universe=_alternatives(UNIVERSES) if ROBUSTNESS else "[^/]+",


# Each rule's params hold its job description (rnnreplay.jobs) as JSON: exactly what changes its output.
def synthesis_job(split):
    """The synthesize job of ``split`` (train: per seed; test: shared), as JSON."""
    return lambda w: rc.to_json(rc.synthesis_job(cfg(w), w.task, split, int(w.seed) if split == "train" else None))


# Training, replay and metrics run all seeds of a (task, variant) in one job: an ensemble (the
# members are trained side by side, each bit for bit as alone), a list of jobs in one process.
def seeds_in(wildcards):
    """The seeds of the job's universe (the config's seeds without a robustness map)."""
    return [int(s) for s in cfg(wildcards)["seeds"]]


def train_jobs(wildcards):
    return rc.to_json([rc.train_job(cfg(wildcards), wildcards.task, wildcards.variant, s) for s in seeds_in(wildcards)])


def replay_jobs(wildcards):
    return rc.to_json(
        [rc.replay_job(cfg(wildcards), wildcards.task, wildcards.variant, s) for s in seeds_in(wildcards)]
    )


def metrics_jobs(wildcards):
    return rc.to_json(
        [rc.metrics_job(cfg(wildcards), wildcards.task, wildcards.variant, s) for s in seeds_in(wildcards)]
    )


def seeds_of(pattern, seeds=None):
    """``pattern`` (with {universe}, {task}, {variant} wildcards and {seed}) for every seed of
    ``seeds`` (default: the first seed set, the config's seeds without a robustness map)."""
    for name in ("universe", "task", "variant"):  # kept as wildcards: {task} -> {{task}} for expand
        pattern = pattern.replace(f"{{{name}}}", f"{{{{{name}}}}}")
    return expand(pattern, seed=SEEDS if seeds is None else seeds)


def data_of(split):
    """The synthesized paths a job reads: each seed's training pool, or the test paths."""

    def paths(wildcards):
        where = owner("synthesize", wildcards)
        if split == "test":
            return at(where, f"data/{wildcards.task}/test.nc")
        return [at(where, f"data/{wildcards.task}/train_seed{s}.nc") for s in seeds_in(wildcards)]

    return paths


def model_of(wildcards):
    """The model files (one per seed) a variant replays (its own, or its ``model_from`` variant's)."""
    source = rc.trained_variant(cfg(wildcards), wildcards.variant)
    where = owner("train", wildcards, source)
    return [at(where, f"models/{wildcards.task}/{source}/seed{s}.pt") for s in seeds_in(wildcards)]


def loss_of(wildcards):
    source = rc.trained_variant(cfg(wildcards), wildcards.variant)
    where = owner("train", wildcards, source)
    return [at(where, f"models/{wildcards.task}/{source}/seed{s}_loss.nc") for s in seeds_in(wildcards)]


def replay_of(wildcards):
    """The replay files (one per seed) of the job's variant."""
    where = owner("replay", wildcards, wildcards.variant)
    return [at(where, f"replay/{wildcards.task}/{wildcards.variant}/seed{s}.nc") for s in seeds_in(wildcards)]


def metrics_of(wildcards):
    """Every metrics file of the job's universe (each task's variants and seeds)."""
    u = cfg(wildcards)
    return [
        at(SHARED["metrics"][(wildcards.universe, t, v)] if ROBUSTNESS else "", f"metrics/{t}/{v}/seed{s}.nc")
        for t in u["tasks"]
        for v in rc.task_variants(u, t)
        for s in u["seeds"]
    ]


# Resource estimates for cluster jobs (SLURM), from the config's sizes. Calibration: one Adam step
# at paper shapes (N=512, B=200, T=100) took 13.7 s on one thread of a loaded 2-core VM (torch
# 2.13 CPU), i.e. ~4e8 cell-units/s (a cell-unit = one of B*T*N^2), with a peak RSS of 0.83 GB.
CPU_RATE = 3e8  # cell-units per second per thread, on the slow side of that measurement
GPU_RATE = 2e10  # assumed, not measured here (no GPU was available when this was written)


def _sizes(wildcards):
    """(hidden units N, batch B, sequence length T, Adam steps) of the job's trained model: the
    task's and variant's own overrides of the config's sizes."""
    c = cfg(wildcards)
    source = rc.trained_variant(c, wildcards.variant)
    hidden = rc.cell_knobs(c, wildcards.task, source)["hidden"]
    train = rc.train_settings(c, wildcards.task, source)
    return hidden, train.batch, rc.data_sizes(c, wildcards.task)["steps"], train.steps


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
    return int(1000 + rc.KEPT_MB + 20 * b * t * n * 4 * len(seeds_in(wildcards)) / 1e6) * attempt


def train_runtime(wildcards, attempt):
    """Minutes for a training job: steps * B * T * N^2 cell-units per member at CPU_RATE per thread
    (threads scale as threads^0.75) or GPU_RATE, with a 1.5x margin (an ensemble is no slower than
    its members one after the other); at least 10; grows with each retry."""
    n, b, t, steps = _sizes(wildcards)
    work = steps * b * t * n * n * len(seeds_in(wildcards))
    return max(10, math.ceil(1.5 * work / _rate() / 60)) * attempt


def replay_runtime(wildcards, attempt):
    """Minutes for a replay job (every seed): trajectories * steps * N^2 forward cell-units per seed
    (a third of a training unit's cost) at the training rate, with a 3x margin; at least 10."""
    n = _sizes(wildcards)[0]
    replay = cfg(wildcards)["replay"]
    work = replay["trajectories"] * replay["steps"] * n * n / 3 * len(seeds_in(wildcards))
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
    if ROBUSTNESS:
        return [at(u, "claims.csv") for u in UNIVERSES] + ROBUSTNESS_TARGETS
    return figure_targets() + ["results/tables/summary.md"] + REPORT_PAGES + unit_targets()
