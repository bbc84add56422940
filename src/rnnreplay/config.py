"""The typed view of config.yaml: resolving one (task, variant, seed) into each stage's job
(:mod:`rnnreplay.jobs`), and checking a config before any job runs.

Precedence of the cell's knobs, lowest first: ``model`` defaults, the task's ``model``
overrides, the ``model_from`` variant's knobs (replay-only variants), the variant's own knobs.
"""

from __future__ import annotations

import hashlib
import math
import sys
from pathlib import Path
import yaml

from .jobs import (CONFIG_ENV, MetricsJob, MetricsSettings, Mechanisms, ReplayJob, ReplaySettings, SynthesisJob, TaskSetup,
                   TrainJob, TrainSettings, pick_fields, to_json)  # noqa: F401 (to_json: for the workflow)
from .params import CellParams

MECHANISM_KEYS = ("adaptation_in", "momentum_in")  # "both" (train + replay) or "replay" only
VARIANT_META_KEYS = ("model_from", "description", "train")  # not cell knobs
REPLAY_KEYS = ("replay_noise_multiplier",)  # per-variant override of replay.noise_multiplier


def export_to_jobs(src: str | Path, config: dict) -> None:
    """Put into this process's environment, which every job of the workflow inherits, what a job
    needs but what changes no output: ``src`` first on ``PYTHONPATH`` (so ``python -m rnnreplay``
    runs this checkout's package in any environment) and the resolved ``config`` as JSON under
    ``RNNREPLAY_CONFIG`` (the provenance every output records; see :func:`rnnreplay.jobs.run_config`).
    Neither is a rule's params, so neither makes Snakemake rerun a job."""
    import json
    import os

    os.environ["PYTHONPATH"] = os.pathsep.join([str(src), *filter(None, [os.environ.get("PYTHONPATH")])])
    os.environ[CONFIG_ENV] = json.dumps(config, sort_keys=True)


def load_yaml(path: str | Path) -> dict:
    """Read a YAML file with the safe loader; a clear error names the file if it is not a mapping."""
    with open(path) as fh:
        data = yaml.safe_load(fh)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a YAML mapping at the top level, got {type(data).__name__}")
    return data


def derive_seed(*parts) -> int:
    """A 63-bit seed from the given parts (e.g. task, seed, stream), stable across runs and
    machines and independent of which other variants or tasks the config lists."""
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def trained_variant(config: dict, variant: str) -> str:
    """The variant whose trained model ``variant`` replays (itself unless it has ``model_from``)."""
    spec = _variant(config, variant)
    source = spec.get("model_from", variant)
    if source != variant and "model_from" in _variant(config, source):
        raise ValueError(f"variant {variant!r}: model_from {source!r} must name a trained variant")
    return source


def trained_variants(config: dict) -> list[str]:
    """Variants that need a training job of their own."""
    return [v for v in config["variants"] if "model_from" not in (config["variants"][v] or {})]


def task_variants(config: dict, task: str) -> list[str]:
    """The variants run on ``task``: its ``variants`` list, or every variant when it has none."""
    names = _task(config, task).get("variants") or list(config["variants"])
    for name in names:
        _variant(config, name)
    return list(names)


def task_trained_variants(config: dict, task: str) -> list[str]:
    """The variants trained for ``task``: the trained models its variants replay."""
    return list(dict.fromkeys(trained_variant(config, v) for v in task_variants(config, task)))


def _variant(config: dict, variant: str) -> dict:
    if variant not in config["variants"]:
        raise ValueError(f"unknown variant {variant!r}; config lists {sorted(config['variants'])}")
    return config["variants"][variant] or {}


def _task(config: dict, task: str) -> dict:
    if task not in config["tasks"]:
        raise ValueError(f"unknown task {task!r}; config lists {sorted(config['tasks'])}")
    return config["tasks"][task]


def cell_knobs(config: dict, task: str, variant: str) -> dict:
    """Merged cell knobs and mechanism switches for (task, variant), following the precedence."""
    knobs = dict(config["model"])
    knobs.update(_task(config, task).get("model", {}) or {})
    source = trained_variant(config, variant)
    if source != variant:
        knobs.update({k: v for k, v in _variant(config, source).items() if k not in VARIANT_META_KEYS})
    knobs.update({k: v for k, v in _variant(config, variant).items() if k not in VARIANT_META_KEYS})
    return knobs


def split_knobs(knobs: dict) -> tuple[CellParams, Mechanisms]:
    """Separate the cell's parameters from the mechanism switches (``adaptation_in``/``momentum_in``:
    ``both`` = acts in training too, ``replay`` = in replay only)."""
    switches = {k: knobs.get(k, "both") for k in MECHANISM_KEYS}
    for key, value in switches.items():
        if value not in ("both", "replay"):
            raise ValueError(f"{key} must be 'both' or 'replay', got {value!r}")
    params = CellParams(**{k: v for k, v in knobs.items() if k not in MECHANISM_KEYS + REPLAY_KEYS})
    return params, Mechanisms(adaptation=switches["adaptation_in"] == "both",
                              momentum=switches["momentum_in"] == "both")


def task_setup(config: dict, task: str) -> TaskSetup:
    """The task ``task`` of the config: its name, generator kind and parameters."""
    entry = _task(config, task)
    return TaskSetup(name=task, kind=entry["kind"], params=dict(entry.get("params", {}) or {}))


def data_sizes(config: dict, task: str) -> dict:
    """The ``data`` section for ``task``: the config's, updated by the task's own ``data`` mapping."""
    return {**config["data"], **(_task(config, task).get("data", {}) or {})}


def synthesis_job(config: dict, task: str, split: str, seed: int | None = None) -> SynthesisJob:
    """Drawing ``task``'s training pool for ``seed`` (split ``train``) or its test paths (``test``)."""
    data = data_sizes(config, task)
    if split == "train":
        return SynthesisJob(task_setup(config, task), "train", data["train_trajectories"], data["steps"], int(seed))
    if split == "test":
        return SynthesisJob(task_setup(config, task), "test", data["test_trajectories"], data["test_steps"], None)
    raise ValueError(f"split must be 'train' or 'test', got {split!r}")


def train_settings(config: dict, task: str, variant: str) -> TrainSettings:
    """Training settings of a trained variant on a task: the config's ``train`` section, updated by
    the task's ``train`` mapping, then by the variant's (e.g. ``{masking: 3}`` for a masking sweep).
    Keys that change no model (``log_every``, ``checkpoint_every``) are left out."""
    merged = {**config["train"], **(_task(config, task).get("train", {}) or {}),
              **(_variant(config, variant).get("train", {}) or {})}
    return TrainSettings(**pick_fields(TrainSettings, merged))


def train_job(config: dict, task: str, variant: str, seed: int) -> TrainJob:
    """Training the model that ``variant`` replays (its own, or its ``model_from`` variant's)."""
    source = trained_variant(config, variant)
    cell, mechanisms = split_knobs(cell_knobs(config, task, source))
    return TrainJob(task=task_setup(config, task), variant=source, seed=int(seed), cell=cell,
                    mechanisms=mechanisms, settings=train_settings(config, task, source))


def replay_job(config: dict, task: str, variant: str, seed: int) -> ReplayJob:
    """Replaying ``variant`` on ``task`` at ``seed``. A variant's ``replay_noise_multiplier``
    replaces ``replay.noise_multiplier`` (e.g. 1 for KR24's GRU, replayed without doubling the
    noise variance)."""
    knobs = cell_knobs(config, task, variant)
    cell, _ = split_knobs(knobs)
    settings = pick_fields(ReplaySettings, config["replay"])
    if knobs.get("replay_noise_multiplier") is not None:
        settings["noise_multiplier"] = float(knobs["replay_noise_multiplier"])
    return ReplayJob(model=train_job(config, task, variant, seed), variant=variant, cell=cell,
                     settings=ReplaySettings(**settings), baselines=bool(_task(config, task).get("baselines", False)))


def metrics_job(config: dict, task: str, variant: str, seed: int) -> MetricsJob:
    """The metrics of ``variant``'s replay on ``task`` at ``seed``."""
    return MetricsJob(task=task_setup(config, task), variant=variant, trained_variant=trained_variant(config, variant),
                      seed=int(seed), settings=MetricsSettings(**pick_fields(MetricsSettings, config["metrics"])),
                      train_length=int(data_sizes(config, task)["steps"]))


# ---------------------------------------------------------------------------------------------
# Checking a config: every problem as one line naming its key path, before any job starts.


def _where(path) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _schema_errors(config: dict, schema: dict) -> list[str]:
    """One line per JSON-schema violation, ``key.path: what is wrong``. An ``anyOf`` failure (a
    variant is a cell mapping or null) is reported through its mapping branch's own errors."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    lines = []
    stack = list(validator.iter_errors(config))
    while stack:
        err = stack.pop()
        branch = [e for e in err.context or () if e.relative_schema_path[0] == 0]
        if err.validator == "anyOf" and branch and isinstance(err.instance, dict):
            stack.extend(branch)
            continue
        types = [str(e.validator_value) for e in err.context or () if e.validator == "type"]
        if err.validator == "anyOf" and types:  # e.g. "0 is not of type 'object' or 'null'"
            lines.append(f"{_where(err.absolute_path)}: {_short(repr(err.instance))} is not of type "
                         + " or ".join(f"'{t}'" for t in types))
            continue
        lines.append(f"{_where(err.absolute_path)}: {_short(err.message)}")
    return sorted(set(lines))


def _reference_errors(config: dict) -> list[str]:
    """Problems a schema cannot see: names that refer to other entries, task parameters, knobs."""
    from .tasks import make_task

    errors = []
    variants, seeds = config["variants"], config["seeds"]
    for name, spec in variants.items():
        source = (spec or {}).get("model_from")
        if source is not None and (source not in variants or "model_from" in (variants[source] or {})):
            errors.append(f"variants.{name}.model_from: {source!r} is not a trained variant "
                          f"(one of {sorted(trained_variants(config))})")
    for name in config.get("figures", {}).get("momentum_sweep", {}) or {}:
        if name not in variants:
            errors.append(f"figures.momentum_sweep.{name}: unknown variant (config lists {sorted(variants)})")
    examples_seed = config.get("figures", {}).get("examples_seed")
    if examples_seed is not None and examples_seed not in seeds:
        errors.append(f"figures.examples_seed: {examples_seed} is not one of seeds {seeds}")
    figures = config.get("figures", {}) or {}
    kr24 = figures.get("kr24", {}) or {}
    named_tasks = {"figures.kr24.tasks": kr24.get("tasks", []), "figures.kr24.hd_tasks": kr24.get("hd_tasks", []),
                   "figures.rat_task": [figures["rat_task"]] if figures.get("rat_task") else []}
    for key, names in named_tasks.items():
        errors += [f"{key}: unknown task {t!r}" for t in names if t not in config["tasks"]]
    for task, entry in config["tasks"].items():
        errors += [f"tasks.{task}.variants: unknown variant {v!r}" for v in entry.get("variants") or []
                   if v not in variants]
    for claim, spec in (config.get("claims") or {}).items():
        for i, comp in enumerate([] if claim == "decision" else spec.get("comparisons", [])):
            where = f"claims.{claim}.comparisons.{i}"
            tasks = [*comp.get("tasks", []), *([comp["task_b"]] if "task_b" in comp else [])]
            errors += [f"{where}: unknown task {t!r}" for t in tasks if t not in config["tasks"]]
            errors += [f"{where}: unknown variant {v!r}" for v in [comp.get("a"), comp.get("b"), *comp.get("x", {}),
                                                                     *comp.get("variants", [])]
                       if v is not None and v not in variants]
    for task, entry in config["tasks"].items():
        try:
            make_task(entry["kind"], **(entry.get("params") or {}))
        except (TypeError, ValueError) as exc:
            errors.append(f"tasks.{task}.params: {_short(str(exc))}")
    if errors:  # knob checks below assume the names resolve
        return errors
    for task in config["tasks"]:
        for variant in variants:
            try:
                split_knobs(cell_knobs(config, task, variant))
            except (TypeError, ValueError) as exc:
                errors.append(f"variants.{variant} (task {task}): {_short(str(exc))}")
    return errors


def _nonfinite_errors(value, path=()) -> list[str]:
    """NaN and infinities (YAML ``.nan``, ``.inf``) slip past range checks; reject them anywhere."""
    if isinstance(value, dict):
        return [e for k, v in value.items() for e in _nonfinite_errors(v, (*path, k))]
    if isinstance(value, list):
        return [e for i, v in enumerate(value) for e in _nonfinite_errors(v, (*path, i))]
    if isinstance(value, float) and not math.isfinite(value):
        return [f"{_where(path)}: must be a finite number, got {value}"]
    return []


def config_errors(config, schema_path: str | Path) -> list[str]:
    """Every problem with ``config`` as one-line messages naming the key path; [] when valid."""
    if not isinstance(config, dict):
        return [f"(top level): expected a mapping, got {type(config).__name__}"]
    errors = sorted(set(_schema_errors(config, load_yaml(schema_path)) + _nonfinite_errors(config)))
    return errors or _reference_errors(config)


def exit_if_invalid(config, schema_path: str | Path, source: str = "config") -> None:
    """Stop with exit status 1 and a readable list of problems (no traceback) if ``config`` is
    invalid; called from the workflow before any job is planned."""
    errors = config_errors(config, schema_path)
    if errors:
        lines = "\n".join(f"  - {e}" for e in errors)
        sys.exit(f"rnnreplay: invalid {source} ({len(errors)} problem{'s' * (len(errors) > 1)}):\n{lines}")
