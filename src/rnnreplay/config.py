"""The typed view of config.yaml: resolving one (task, variant, seed) into each stage's job
(:mod:`rnnreplay.jobs`), the key path that sets each of a job's values, and the training groups.

Precedence of the cell's knobs, lowest first: ``model`` defaults, the task's ``model``
overrides, the ``model_from`` variant's knobs (replay-only variants), the variant's own knobs.

Reading config files (``extends``, repeated keys, alias bombs) is :mod:`rnnreplay.config_files`;
checking a config before any job runs is :mod:`rnnreplay.config_validation`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from .allocator import KEPT_MB  # noqa: F401  (for the workflow's memory requests)
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


def key_of(config: dict, task: str, variant: str | None, section: str, key: str) -> str:
    """The key path that sets ``key`` of ``section`` (``data``, ``train``, ``model`` or
    ``replay``) for ``task`` and ``variant``: the most specific config entry that holds it, as
    :func:`data_sizes`, :func:`train_settings` and :func:`cell_knobs` resolve it."""
    entry = config["tasks"][task]
    if section == "model" and variant is not None:
        source = trained_variant(config, variant)
        places = [("variants", variant, config["variants"].get(variant) or {}),
                  ("variants", source, config["variants"].get(source) or {}),
                  ("tasks", task, "model", entry.get("model") or {})]
    elif section == "train" and variant is not None:
        places = [("variants", variant, "train", (config["variants"].get(variant) or {}).get("train") or {}),
                  ("tasks", task, "train", entry.get("train") or {})]
    elif section == "data":
        places = [("tasks", task, "data", entry.get("data") or {})]
    else:
        places = []
    for *path, mapping in places:
        if key in mapping:
            return ".".join(map(str, (*path, key)))
    return f"{section}.{key}"


# --- training groups (one process trains several variants of a task side by side) --------------

TRAIN_GROUPINGS = ("auto", "variant", "task")


def groups_training(config: dict) -> bool:
    """Whether the workflow trains each task's variants in groups (:func:`train_groups`, one job
    each) rather than one job per variant: ``train_group: task``, or ``auto`` (the default) with
    ``device: cuda`` (a GPU is kept busy by many members at once; on CPU one job per variant is
    faster: 4 T-maze variants x 5 seeds took 1.5-1.9 s per step as four ensembles one after the
    other and 2.7-2.8 s as one, on one thread)."""
    grouping = config.get("train_group", "auto")
    return grouping == "task" or (grouping == "auto" and config.get("device") == "cuda")


def train_groups(config: dict, task: str) -> list[list[str]]:
    """``task``'s trained variants in groups that train as one ensemble: equal training settings
    (one optimiser schedule, the same batches' shapes) and one cell shape (kind, width, activation,
    noise kind: one batched loop), in the order the variants first appear."""
    groups: dict[tuple, list[str]] = {}
    for variant in task_trained_variants(config, task):
        knobs = cell_knobs(config, task, variant)
        key = (repr(train_settings(config, task, variant)), knobs.get("cell", "rnn"), knobs["hidden"],
               knobs.get("activation"), knobs.get("noise"))
        groups.setdefault(key, []).append(variant)
    return list(groups.values())
