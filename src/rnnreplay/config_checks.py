"""Checks of a config that the schema cannot express, and of jobs given by hand, one line each.

A config (or a job) that passes them cannot fail later for a reason a dry run could have seen
(a config's size, an "alias bomb", is refused before any of them walks it:
:func:`rnnreplay.config_files.size_error`):

* names: task and variant names become file names, so they are at most :data:`MAX_NAME` characters;
* training lengths: a curriculum stage longer than the training paths, a curriculum longer than
  ``train.steps``, a warmup longer than ``train.steps``;
* claims: every metric a claim names is one the metrics stage writes, every variant one that the
  task runs, and ``min_seeds`` at most the number of seeds;
* device: ``cuda`` on a machine without one, for a local run.

It also holds the partial-run selection (``only_tasks``, ``only_claims``), the repair of list items
that Snakemake's ``--config`` passes as strings, and the validation of a hand-written ``--job``
against the same schema and rules as the config (:func:`job_errors`).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
from pathlib import Path

import yaml

from .config import data_sizes, key_of, task_trained_variants, task_variants, train_settings
from .config_files import MAX_VALUES, expanded_size, load_yaml
from .config_memory import machine_memory, memory_estimates, size_text
from .config_schema import nonfinite_errors, schema_errors, shortened
from .jobs import MetricsJob, ReplayJob, SynthesisJob, TrainJob

MAX_NAME = 100  # characters of a task or variant name (a file name holds at most 255 bytes)
SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


# --- Names ---------------------------------------------------------------------------------------


def long_name_errors(config: dict) -> list[str]:
    """Task and variant names longer than :data:`MAX_NAME` characters: they become file names
    (``results/figures/examples_<task>.png``), which most file systems limit to 255 bytes."""
    errors = []
    for section in ("tasks", "variants"):
        for name in config.get(section) or {}:
            if len(str(name).encode()) > MAX_NAME:
                errors.append(f"{section}: {str(name)[:20]!r}... is {len(str(name).encode())} characters long; names "
                              f"become file and folder names, so at most {MAX_NAME} are allowed")
    return errors


# --- Training lengths ----------------------------------------------------------------------------


def train_settings_errors(settings, data_steps: int | None, keys: dict[str, str], who: str) -> list[str]:
    """Lengths of one training job's ``settings`` (:class:`rnnreplay.jobs.TrainSettings`) that would
    silently do something else: a curriculum stage cutting paths longer than the training paths
    (``data_steps``; None = unknown), stages taking more optimiser steps than ``steps``, a warmup
    longer than ``steps``. ``keys``: the key path that sets each field (``steps``, ``curriculum``,
    ``lr_warmup``, ``data_steps``); ``who``: the job in words, e.g. ``tmaze/leak``."""
    errors = []
    stages = [tuple(stage) for stage in settings.curriculum or []]
    total = sum(int(n) for n, _ in stages) if stages else 0
    for i, (_, length) in enumerate(stages):
        if data_steps is not None and length > data_steps:
            errors.append(f"{keys['curriculum']}: stage {i} cuts the paths to {length} steps, longer than the training "
                          f"paths of {who} ({keys['data_steps']} {data_steps}); it would silently train on "
                          f"{data_steps}-step paths")
    if total > settings.steps:
        errors.append(f"{keys['curriculum']}: its stages take {total} optimiser steps, more than the {keys['steps']} "
                      f"{settings.steps} of {who}; the stages past step {settings.steps} would never run")
    if settings.lr_warmup > settings.steps:
        errors.append(f"{keys['lr_warmup']}: {settings.lr_warmup} warmup steps, more than the {keys['steps']} "
                      f"{settings.steps} of {who}; the learning rate would never reach train.lr")
    return errors


def training_errors(config: dict) -> list[str]:
    """:func:`train_settings_errors` of every training job of the config (each key once)."""
    found: dict[str, str] = {}
    for task in config["tasks"]:
        steps = data_sizes(config, task)["steps"]
        for variant in task_trained_variants(config, task):
            keys = {k: key_of(config, task, variant, "train", k) for k in ("steps", "curriculum", "lr_warmup")}
            keys["data_steps"] = key_of(config, task, None, "data", "steps")
            for line in train_settings_errors(train_settings(config, task, variant), steps, keys,
                                              f"{task}/{variant}"):
                found.setdefault(line.split(":")[0], line)  # one line per key: a shared key fails for many jobs
    return list(found.values())


# --- Claims against the run ------------------------------------------------------------------------


def written_metric(name: str) -> bool:
    """Whether the metrics stage writes a metric called ``name`` (a registered metric, or one
    row of a per-region metric or curve: ``occupancy_grid_0_1``, ``mean_displacement_lag10``)."""
    from .metrics import METRICS

    return name in METRICS or any(m.dims and name.startswith(f"{m.name}_") for m in METRICS.values())


def claim_errors(config: dict) -> list[str]:
    """Claims that could only be judged on no data: a metric that no stage writes, a variant a
    task does not run, or ``claims.decision.min_seeds`` above the number of seeds (every part
    on networks would be *invalid*). One line each, naming the claim and key."""
    claims = {k: v for k, v in (config.get("claims") or {}).items() if k != "decision"}
    decision = (config.get("claims") or {}).get("decision") or {}
    errors = []
    for i, name in enumerate(decision.get("learned_metrics") or []):
        if not written_metric(name):
            errors.append(f"claims.decision.learned_metrics.{i}: {name!r} is not a metric the metrics stage writes")
    on_networks = False
    for claim, spec in claims.items():
        for i, comp in enumerate(spec.get("comparisons") or []):
            where, kind = f"claims.{claim}.comparisons.{i}", comp.get("kind", "paired")
            if kind == "theory":
                continue
            on_networks = True
            for key in ("metric", "metric_b"):
                if comp.get(key) is not None and not written_metric(comp[key]):
                    errors.append(f"{where}.{key}: {comp[key]!r} is not a metric the metrics stage writes "
                                  "(see the metrics table, results/tables/metrics.csv)")
            for task in comp.get("tasks") or []:
                sides = {"paired": [("a", task, comp.get("a")), ("b", comp.get("task_b") or task, comp.get("b"))],
                         "trend": [("x", task, v) for v in comp.get("x") or {}],
                         "range": [("variants", task, v) for v in comp.get("variants") or []]}[kind]
                for key, on, variant in sides:
                    run = task_variants(config, on) if on in config["tasks"] else []
                    if variant is not None and on in config["tasks"] and variant not in run and not any(
                            e.startswith(f"{where}.{key}: variant {variant!r}") for e in errors):
                        errors.append(f"{where}.{key}: variant {variant!r} is not run on task {on!r} (tasks.{on}."
                                      f"variants: {run}); the claim would be judged on no data")
    seeds, need = len(config.get("seeds") or []), decision.get("min_seeds", 3)
    if on_networks and seeds < need:
        errors.append(f"claims.decision.min_seeds: {need} is more than the {seeds} seed{'s' * (seeds != 1)} of this "
                      f"run (seeds: {config.get('seeds')}); every claim on networks would be invalid. Run at least {need} "
                      "seeds, or run "
                      "without claims: --config 'only_claims=[]'")
    return list(dict.fromkeys(errors))


# --- Device ------------------------------------------------------------------------------------------


def cluster_executor(argv: list[str], environ=os.environ) -> str | None:
    """The executor a Snakemake command line (``argv``) runs its jobs with when it is not this
    machine (``--executor slurm``, or a ``--profile``/``--workflow-profile`` that sets
    ``executor:``), else None."""
    local = {None, "local", "dryrun", "touch"}
    given = _option(argv, "--executor", "-e")
    if given not in local:
        return given
    for profile in (_option(argv, "--profile"), _option(argv, "--workflow-profile"), environ.get("SNAKEMAKE_PROFILE")):
        if not profile:
            continue
        folder = Path(profile) if os.sep in profile or Path(profile).is_dir() else \
            Path.home() / ".config" / "snakemake" / profile
        for name in ("config.yaml", "profile.yaml"):
            try:
                executor = (yaml.safe_load((folder / name).read_text()) or {}).get("executor")
            except (OSError, yaml.YAMLError, AttributeError):
                continue
            if executor not in local:
                return executor
    return None


def _option(argv: list[str], *flags: str) -> str | None:
    for i, arg in enumerate(argv):
        for flag in flags:
            if arg == flag and i + 1 < len(argv):
                return argv[i + 1]
            if arg.startswith(flag + "="):
                return arg.split("=", 1)[1]
    return None


def device_errors(config: dict, executor: str | None) -> list[str]:
    """``device: cuda`` on a machine whose torch sees no CUDA device, for a local run (``executor``
    None). A cluster run (``executor`` set) is not checked here: its nodes may have GPUs that this
    machine lacks; the first training job on a node without one stops with one line instead."""
    if config.get("device") != "cuda" or executor is not None:
        return []
    import torch

    if torch.cuda.is_available():
        return []
    build = "a CPU-only build" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}"
    return [f"device: cuda, but torch {torch.__version__} ({build}) sees no CUDA device on this machine; use "
            "device: cpu or auto, or run on a GPU node (with --executor or a cluster profile this is checked there)"]


# --- Partial runs and the command line ---------------------------------------------------------------


def coerce_command_line(config: dict, overrides: dict) -> None:
    """Snakemake's ``--config KEY=[0,1]`` passes list items (and values inside a mapping) as
    strings; give those items their YAML type (``'0'`` -> 0, ``'0.5'`` -> 0.5, ``'true'`` -> True),
    in place, where ``config`` still holds the command line's value. A lone integer given for
    ``seeds`` becomes a list of one."""
    def parse(text):
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            return text
        return value if isinstance(value, (int, float, bool)) or value is None else text

    def fix(target, given):
        if isinstance(given, dict) and isinstance(target, dict):
            for key, value in given.items():
                if key in target:
                    if isinstance(value, str) and target[key] == value:
                        target[key] = parse(value)
                    else:
                        fix(target[key], value)
        elif isinstance(given, list) and isinstance(target, list) and len(given) == len(target):
            for i, value in enumerate(given):
                if isinstance(value, str) and target[i] == value:
                    target[i] = parse(value)
                else:
                    fix(target[i], value)

    if expanded_size(overrides) > MAX_VALUES:  # an alias bomb: left for the size check to refuse
        return
    for key, value in (overrides or {}).items():
        if key not in config:
            continue
        if isinstance(value, (dict, list)):
            fix(config[key], value)
        if key == "seeds" and isinstance(config[key], int) and not isinstance(config[key], bool):
            config[key] = [config[key]]


def selected(config: dict) -> dict:
    """The config of a partial run: ``only_tasks`` keeps those tasks (and the claims' parts, the
    KR24 figures and the rat figure of those tasks only); ``only_claims`` keeps those claims ([]:
    none). A claim left without parts is dropped; the momentum-sweep figure keeps the variants that
    a kept task runs. Names that match nothing are left for :func:`selection_errors`. Returns a copy
    (the config itself when nothing is selected)."""
    only_tasks, only_claims = config.get("only_tasks"), config.get("only_claims")
    if only_tasks is None and only_claims is None:
        return config
    if not isinstance(config.get("tasks"), dict):
        return config
    out = copy.deepcopy(config)
    if isinstance(only_tasks, list):
        out["tasks"] = {t: v for t, v in out["tasks"].items() if t in only_tasks} or out["tasks"]
    kept = set(out["tasks"])
    figures = out.get("figures") or {}
    for key in ("tasks", "hd_tasks"):
        if isinstance((figures.get("kr24") or {}).get(key), list):
            figures["kr24"][key] = [t for t in figures["kr24"][key] if t in kept]
    if figures.get("rat_task") is not None and figures["rat_task"] not in kept:
        del figures["rat_task"]
    if isinstance(figures.get("momentum_sweep"), dict) and isinstance(out.get("variants"), dict):
        run = {v for t in kept for v in (out["tasks"][t] or {}).get("variants") or out["variants"]}
        figures["momentum_sweep"] = {v: x for v, x in figures["momentum_sweep"].items() if v in run}
        if not figures["momentum_sweep"]:
            del figures["momentum_sweep"]
    claims = out.get("claims")
    if isinstance(claims, dict):
        names = [c for c in claims if c != "decision" and (not isinstance(only_claims, list) or c in only_claims)]
        trimmed = {"decision": claims["decision"]} if "decision" in claims else {}
        for name in names:
            spec = claims[name]
            comps = []
            for comp in (spec or {}).get("comparisons") or []:
                if comp.get("kind") != "theory":
                    comp = {**comp, "tasks": [t for t in comp.get("tasks") or []
                                              if t in kept and comp.get("task_b", t) in kept]}
                    if not comp["tasks"]:
                        continue
                comps.append(comp)
            if comps:
                trimmed[name] = {**spec, "comparisons": comps}
        out["claims"] = trimmed
    return out


def selection_errors(config: dict, original: dict) -> list[str]:
    """Names in ``only_tasks`` or ``only_claims`` that ``original`` (the config before
    :func:`selected`) does not have."""
    errors = []
    tasks, claims = original.get("tasks") or {}, original.get("claims") or {}
    for key, known in (("only_tasks", tasks), ("only_claims", [c for c in claims if c != "decision"])):
        for name in original.get(key) or []:
            if name not in known:
                errors.append(f"{key}: {name!r} is not a {key[5:-1]} of this config (it has {sorted(known)})")
    return errors


# --- Jobs given by hand -----------------------------------------------------------------------------


def job_errors(job, schema_path: str | Path = SCHEMA) -> list[str]:
    """Everything wrong with a job (:mod:`rnnreplay.jobs`; a list: each member), by the rules a
    config is checked with: its parts against the schema's sections (cell, train, replay, metrics,
    task kind), finite numbers, the task's parameters, training lengths and memory. One line each,
    naming the job's field (``cell.sigma``)."""
    if isinstance(job, list):
        return list(dict.fromkeys(e for member in job for e in job_errors(member, schema_path)))
    plain = dataclasses.asdict(job)
    errors = [e for e in nonfinite_errors(plain)]
    if errors:
        return errors
    schema = load_yaml(schema_path) if Path(schema_path).is_file() else None
    train = job.model if isinstance(job, ReplayJob) else job if isinstance(job, TrainJob) else None
    prefix = "model." if isinstance(job, ReplayJob) else ""
    parts = [(f"{prefix}task.kind", {"kind": job.task.kind}, "task")]
    if train is not None:
        parts += [(f"{prefix}cell", dataclasses.asdict(train.cell), "cell"),
                  (f"{prefix}settings", dataclasses.asdict(train.settings), "train")]
    if isinstance(job, ReplayJob):
        parts += [("cell", dataclasses.asdict(job.cell), "cell"),
                  ("settings", dataclasses.asdict(job.settings), "replay")]
    if isinstance(job, MetricsJob):
        parts += [("settings", dataclasses.asdict(job.settings), "metrics")]
    if schema is not None:
        for where, value, section in parts:
            sub = _section_schema(schema, section)
            errors += [f"{where}.{line}" if not line.startswith("(top") else f"{where}: {line.split(': ', 1)[1]}"
                       for line in schema_errors(value, {**sub, "$defs": schema.get("$defs", {})})]
    if isinstance(job, SynthesisJob):
        if job.split not in ("train", "test"):
            errors.append(f"split: must be 'train' or 'test', got {job.split!r}")
        if job.trajectories < 1 or job.steps < 2:
            errors.append(f"trajectories, steps: need at least 1 path of 2 steps, got {job.trajectories} of "
                          f"{job.steps}")
    seed = getattr(job, "seed", None)
    if seed is not None and seed < 0:
        errors.append(f"seed: must be at least 0, got {seed}")
    if errors:
        return errors
    try:
        built = job.task.build()
    except (TypeError, ValueError) as exc:
        return [f"{prefix}task.params: {shortened(str(exc))}"]
    if train is not None:
        keys = {k: f"{prefix}settings.{k}" for k in ("steps", "curriculum", "lr_warmup")}
        errors += train_settings_errors(train.settings, None, {**keys, "data_steps": "data.steps"},
                                        f"{job.task.name}/{train.variant}")
    return errors or _job_size_errors(job, built)


def _section_schema(schema: dict, section: str) -> dict:
    """The schema of one config section, without its ``required`` list (a job holds every field)."""
    props = schema["properties"]
    if section == "cell":
        sub = schema["$defs"]["cell"]
    elif section == "task":
        sub = {"type": "object", "properties": {"kind": props["tasks"]["additionalProperties"]["properties"]["kind"]}}
    else:
        sub = props[section]
    return {k: v for k, v in sub.items() if k != "required"}


def _job_size_errors(job, built) -> list[str]:
    """The config's memory estimate (:func:`rnnreplay.config_memory.memory_estimates`) of the stage the
    job runs, against this machine's memory; sizes a job does not know (the training pool) as 1."""
    if not isinstance(job, (ReplayJob, TrainJob, SynthesisJob)):
        return []
    limit = machine_memory()
    train = job.model if isinstance(job, ReplayJob) else job if isinstance(job, TrainJob) else None
    data = {"train_trajectories": 1, "steps": 2, "test_trajectories": 1, "test_steps": 2}
    if isinstance(job, SynthesisJob):
        data.update({"train_trajectories": job.trajectories, "steps": job.steps} if job.split == "train"
                    else {"test_trajectories": job.trajectories, "test_steps": job.steps})
    cell = dataclasses.asdict(train.cell) if train else {}
    mech = {"adaptation_in": "both" if not train or train.mechanisms.adaptation else "replay",
            "momentum_in": "both" if not train or train.mechanisms.momentum else "replay"}
    variant = train.variant if train else "v"
    replay = dataclasses.asdict(job.settings) if isinstance(job, ReplayJob) else \
        {"trajectories": 1, "steps": 2, "noise_multiplier": 1.0}
    variants = {variant: {}}
    if isinstance(job, ReplayJob) and job.variant != variant:
        variants[job.variant] = {"model_from": variant, **dataclasses.asdict(job.cell)}
    config = {"seeds": [0], "tasks": {job.task.name: {"kind": job.task.kind, "params": job.task.params,
                                                      "baselines": bool(getattr(job, "baselines", False))}},
              "data": data, "model": {**(cell or {"hidden": 1}), **mech}, "variants": variants, "replay": replay,
              "train": dataclasses.asdict(train.settings) if train else {"steps": 1, "batch": 1, "lr": 1.0}}
    stage = "replay" if isinstance(job, ReplayJob) else "training" if train else "synthesis"
    terms = memory_estimates(config, job.task.name, getattr(job, "variant", variant), built)[stage]
    total = sum(nbytes for nbytes, *_ in terms)
    if math.isinf(limit) or total <= limit:
        return []
    _, key, formula = max(terms, key=lambda term: term[0])
    return [f"{key}: {stage} of {job.task.name}/{getattr(job, 'variant', variant)} would need about "
            f"{size_text(total)} of memory ({formula}), more than the {size_text(limit)} of this machine's memory"]
