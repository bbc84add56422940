"""The typed view of config.yaml: resolving one (task, variant, seed) into a job spec.

Precedence of the cell's knobs, lowest first: ``model`` defaults, the task's ``model``
overrides, the ``model_from`` variant's knobs (replay-only variants), the variant's own knobs.
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path

import yaml

from .model import CellParams

MECHANISM_KEYS = ("adaptation_in", "momentum_in")  # "both" (train + replay) or "replay" only
VARIANT_META_KEYS = ("model_from", "description")
REPLAY_KEYS = ("replay_noise_multiplier",)  # per-variant override of replay.noise_multiplier


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


def split_knobs(knobs: dict) -> tuple[CellParams, dict]:
    """Separate the cell's parameters from the mechanism switches."""
    mechanisms = {k: knobs.get(k, "both") for k in MECHANISM_KEYS}
    for key, value in mechanisms.items():
        if value not in ("both", "replay"):
            raise ValueError(f"{key} must be 'both' or 'replay', got {value!r}")
    params = CellParams(**{k: v for k, v in knobs.items() if k not in MECHANISM_KEYS + REPLAY_KEYS})
    return params, mechanisms


def task_spec(config: dict, task: str) -> dict:
    """What the synthesize stage needs for ``task``."""
    entry = _task(config, task)
    return {
        "task": task,
        "kind": entry["kind"],
        "params": dict(entry.get("params", {}) or {}),
        "data": dict(config["data"]),
        "baselines": bool(entry.get("baselines", False)),
    }


def job_spec(config: dict, task: str, variant: str, seed: int) -> dict:
    """Everything one train, replay or metrics job needs, as plain JSON-able data.

    ``train_cell`` holds the knobs the model was trained with (of ``model_from`` when set),
    ``cell`` those it replays with; ``mechanisms`` says which act in training; the task's
    ``train`` entries (e.g. ``steps``) override the ``train`` section. A variant's
    ``replay_noise_multiplier`` replaces ``replay.noise_multiplier`` (e.g. 1 for KR24's GRU,
    which it replayed without doubling the noise variance).
    """
    source = trained_variant(config, variant)
    train_params, train_mechanisms = split_knobs(cell_knobs(config, task, source))
    replay_knobs = cell_knobs(config, task, variant)
    replay_params, replay_mechanisms = split_knobs(replay_knobs)
    replay = copy.deepcopy(config["replay"])
    if replay_knobs.get("replay_noise_multiplier") is not None:
        replay["noise_multiplier"] = float(replay_knobs["replay_noise_multiplier"])
    return {
        "task": task_spec(config, task),
        "variant": variant,
        "trained_variant": source,
        "seed": int(seed),
        "train_cell": train_params.to_dict(),
        "train_mechanisms": train_mechanisms,
        "cell": replay_params.to_dict(),
        "train": {**copy.deepcopy(config["train"]), **(_task(config, task).get("train") or {})},
        "replay": replay,
        "metrics": copy.deepcopy(config["metrics"]),
        "device": config.get("device", "cpu"),
    }
