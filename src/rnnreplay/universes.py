"""Universes of a robustness map: named overrides of one config, each run by the same workflow.

A config with a ``robustness`` section (``workflow/configs/robustness.yaml``, given after
``config.yaml``) declares its universes: each a named override of that config, applied by
:func:`apply_override`, and run on the tasks ``robustness.tasks`` only (:func:`select_tasks`). The
workflow runs every universe's jobs under ``results/robustness/<universe>/``; a job whose
description is the same in an earlier universe (e.g. the trained model of a replay-only override,
the replay of a metrics-only override) is not run again: :func:`owners` names the universe whose
output it reuses.

How an override merges into the config: mappings merge key by key at any depth, except that a
variant named under ``variants`` is replaced whole (so that an override can turn a replay-only
variant into a trained one, or the reverse, without leftovers); any other value (a number, a list)
replaces the config's.
"""

from __future__ import annotations

import copy

from . import config as rc
from . import config_validation as rcv

SECTION = "robustness"  # the config key that declares the universes


def apply_override(config: dict, override: dict) -> dict:
    """``config`` with ``override`` merged in (see the module's docstring); neither is modified."""
    merged = copy.deepcopy(config)
    _merge(merged, override or {}, ())
    return merged


def _merge(target: dict, override: dict, path: tuple) -> None:
    for key, value in override.items():
        whole_variant = path == ("variants",)
        if isinstance(value, dict) and isinstance(target.get(key), dict) and not whole_variant:
            _merge(target[key], value, (*path, key))
        else:
            target[key] = copy.deepcopy(value)


def select_tasks(config: dict, tasks: list[str]) -> dict:
    """``config`` restricted to ``tasks``: the other tasks dropped, with the claim parts and the
    figure entries that name them (a claim left without parts is dropped; a theory claim stays),
    as a partial run's ``only_tasks`` does (:func:`rnnreplay.config_checks.selected`)."""
    from .config_checks import selected

    out = selected({**config, "only_tasks": list(tasks)})
    out.pop("only_tasks", None)
    return out


def universe_configs(config: dict) -> dict[str, dict]:
    """Each universe's whole config, in the declared order (the first is the reference, drawn
    first): ``config`` without its ``robustness`` and ``figures`` sections (a universe's run ends
    at its claims), restricted to ``robustness.tasks``, with the universe's override applied."""
    section = config.get(SECTION) or {}
    base = {k: v for k, v in config.items() if k not in (SECTION, "figures")}  # a universe makes claims, no figures
    if section.get("tasks"):
        base = select_tasks(base, section["tasks"])
    return {name: apply_override(base, override) for name, override in (section.get("universes") or {}).items()}


def universe_errors(config: dict, schema_path, memory_mb: float | None = None) -> list[str]:
    """Problems of the ``robustness`` section: unknown tasks, names that are not safe folder names,
    and every universe's config checked as a config of its own (its problems prefixed with
    ``robustness.universes.<name>``); [] when valid or when there is no such section."""
    section = config.get(SECTION)
    if not section:
        return []
    errors = [f"{SECTION}.tasks: unknown task {t!r} (config lists {sorted(config['tasks'])})"
              for t in section.get("tasks") or [] if t not in config["tasks"]]
    if errors:
        return errors
    names = list(section.get("universes") or {})
    if not names:
        return [f"{SECTION}.universes: declare at least one universe (the first is the reference)"]
    for name in names:
        if not name.replace("_", "").replace(".", "").replace("-", "").isalnum() or name.startswith("."):
            errors.append(f"{SECTION}.universes.{name}: use letters, digits, '_', '-' and '.' (it names a folder)")
    if errors:
        return errors
    for name, universe in universe_configs(config).items():
        errors += [f"{SECTION}.universes.{name}: {e}" for e in rcv.config_errors(universe, schema_path, memory_mb)]
    seed_sets = {tuple(u["seeds"]) for u in universe_configs(config).values()}
    for a in seed_sets:
        for b in seed_sets:
            if a != b and set(a) & set(b):
                errors.append(f"{SECTION}.universes: seed sets {list(a)} and {list(b)} overlap; universes' seed sets "
                              "must be equal or disjoint (a seed's files are made by one ensemble job)")
                return errors
    return errors


def _jobs_json(fn, config: dict, task: str, variant: str) -> str:
    return rc.to_json([fn(config, task, variant, s) for s in config["seeds"]])


def owners(universes: dict[str, dict]) -> dict[str, dict]:
    """Which universe's output each universe's job reuses: for stage ``synthesize`` (per task),
    ``train`` (per trained variant), ``replay`` and ``metrics`` (per variant), a mapping
    (universe, task[, variant]) -> the first universe, in declared order, whose job (every seed's
    description, and for replay and metrics the outputs it reads) is the same.

    Args:
        universes: :func:`universe_configs`.
    """
    first: dict = {}
    out = {"synthesize": {}, "train": {}, "replay": {}, "metrics": {}}

    def owner(stage, key, universe):
        return first.setdefault((stage, key), universe)

    for name, cfg in universes.items():
        for task in cfg["tasks"]:
            data = rc.to_json([rc.synthesis_job(cfg, task, "train", s) for s in cfg["seeds"]]
                              + [rc.synthesis_job(cfg, task, "test")])
            data_owner = out["synthesize"][(name, task)] = owner("synthesize", data, name)
            for variant in rc.task_variants(cfg, task):
                source = rc.trained_variant(cfg, variant)
                # A training job reads its data; a replay job reads its model and the test paths; a
                # metrics job reads the replay, the loss curve and the test paths: each is the same
                # job only where what it reads is the same output too.
                train = owner("train", (data_owner, _jobs_json(rc.train_job, cfg, task, source)), name)
                out["train"][(name, task, source)] = train
                replay = owner("replay", (train, data_owner, _jobs_json(rc.replay_job, cfg, task, variant)), name)
                out["replay"][(name, task, variant)] = replay
                metrics_key = (replay, train, data_owner, _jobs_json(rc.metrics_job, cfg, task, variant))
                out["metrics"][(name, task, variant)] = owner("metrics", metrics_key, name)
    return out


def runs_of(universes: dict[str, dict], shared: dict[str, dict], stage: str) -> list[tuple]:
    """The (universe, task[, variant]) of ``stage`` whose job each universe runs itself (it owns it)."""
    return [key for key, owner_name in shared[stage].items() if owner_name == key[0]]
