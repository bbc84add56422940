"""Checking a config before any job runs: every problem as one line naming its key path, and
the workflow's exit (status 1, the list of problems, no traceback) when there is any.

In order (a later check needs the earlier ones to pass): size (:mod:`rnnreplay.config_files`),
the schema and finite numbers (:mod:`rnnreplay.config_schema`), safe and short names, the
partial-run selection; then references between entries; then lengths, training lengths, claims
(:mod:`rnnreplay.config_checks`) and memory (:mod:`rnnreplay.config_memory`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from . import config_checks as more
from .config import cell_knobs, data_sizes, key_of, split_knobs, trained_variants
from .config_files import config_file_errors, load_yaml, size_error, too_large
from .config_memory import size_errors
from .config_schema import nonfinite_errors, schema_errors, shortened


def config_errors(config, schema_path: str | Path, memory_mb: float | None = None) -> list[str]:
    """Every problem with ``config`` as one-line messages naming the key path; [] when valid.

    In order (a later check needs the earlier ones to pass): the schema (types, ranges, known
    keys; integers refuse floats), finite numbers and safe names; then references between
    entries; then lengths (burn-in and lags against the replay and test paths) and sizes (each
    job's memory estimate against ``memory_mb``: None = this machine's memory, ``math.inf`` = no
    check)."""
    if not isinstance(config, dict):
        return [f"(top level): expected a mapping, got {type(config).__name__}"]
    if size_error(config):  # before anything walks it
        return [size_error(config, "(top level)")]
    original, config = config, more.selected(config)  # a partial run (only_tasks, only_claims)
    errors = sorted(set(schema_errors(config, load_yaml(schema_path)) + nonfinite_errors(config)))
    errors += name_errors(config) + more.long_name_errors(config) + more.selection_errors(config, original)
    return errors or reference_errors(config) or (length_errors(config) + more.training_errors(config)
                                                   + more.claim_errors(config) + size_errors(config, memory_mb))


def exit_if_invalid(config, schema_path: str | Path, source: str = "config", files=(),
                    memory_mb: float | None = None, argv: list[str] | None = None) -> None:
    """Stop with exit status 1 and a readable list of problems (no traceback) if ``config`` is
    invalid or one of the config ``files`` it was read from repeats a key; called from the
    workflow before any job is planned. ``memory_mb``: see :func:`config_errors`. ``argv``: the
    Snakemake command line, given to check ``device: cuda`` on this machine for a local run
    (:func:`rnnreplay.config_checks.device_errors`)."""
    errors = [e for path in files for e in config_file_errors(path)]
    if not any(e == too_large(path) for path in files for e in errors):  # else one line says it
        errors += config_errors(config, schema_path, memory_mb)
    if not errors and argv is not None:
        errors = more.device_errors(config, more.cluster_executor(argv))
    if errors:
        lines = "\n".join(f"  - {e}" for e in errors)
        sys.exit(f"rnnreplay: invalid {source} ({len(errors)} problem{'s' * (len(errors) > 1)}):\n{lines}")


def reference_errors(config: dict) -> list[str]:
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
            errors.append(f"tasks.{task}.params: {shortened(str(exc))}")
    if errors:  # knob checks below assume the names resolve
        return errors
    for task in config["tasks"]:
        for variant in variants:
            try:
                split_knobs(cell_knobs(config, task, variant))
            except (TypeError, ValueError) as exc:
                errors.append(f"variants.{variant} (task {task}): {shortened(str(exc))}")
    return errors


# ---------------------------------------------------------------------------------------------
# Checks that need the names to resolve: safe folder names and lengths the metrics use.


def name_errors(config: dict) -> list[str]:
    """Task and variant names become folders (``results/models/<task>/<variant>/``): each must be
    a safe path component (not ``.`` or ``..``, no leading or trailing dot) and no two may differ
    only in case (on a case-insensitive file system, macOS or Windows, they would share a folder)."""
    examples = {"tasks": "results/data/{}/test.nc", "variants": "results/models/<task>/{}/seed0.pt"}
    errors = []
    for section, example in examples.items():
        names = config.get(section)
        if not isinstance(names, dict):
            continue
        folded: dict[str, str] = {}
        for name in map(str, names):
            if not name.strip(".") or name.startswith(".") or name.endswith("."):
                errors.append(f"{section}: {name!r} is not a safe folder name ({example.format(name)} would "
                              f"{'leave its folder' if set(name) == {'.'} else 'be hidden or renamed'}); use "
                              "letters, digits and _, with dots only inside the name")
            first = folded.setdefault(name.casefold(), name)
            if first != name:
                errors.append(f"{section}: {first!r} and {name!r} differ only in case; on a case-insensitive file "
                              f"system (macOS, Windows) both would write {example.format(first)}")
    return errors


def length_errors(config: dict) -> list[str]:
    """Lengths the metrics would otherwise clamp without a word: ``metrics.burn_in`` must leave at
    least 2 replay steps, ``metrics.speed_lag`` must be shorter than the replay and at most each
    task's test-path length (speed compares replay and test paths at the same lag), and
    ``replay.hidden_every`` at most the replay length. A replay-only variant (``model_from``) must
    keep its model's shape (``hidden``, ``cell``)."""
    errors = []
    steps, every = config["replay"]["steps"], config["replay"].get("hidden_every", 0) or 0
    burn_in, lag = config["metrics"]["burn_in"], config["metrics"]["speed_lag"]
    if burn_in > steps - 2:
        errors.append(f"metrics.burn_in: {burn_in} leaves fewer than 2 of the replay.steps {steps} replay steps "
                      f"(at most {steps - 2}); the metrics would silently drop {max(steps - 2, 0)} steps instead")
    if lag > steps - 1:
        errors.append(f"metrics.speed_lag: {lag} is not shorter than the replay (replay.steps {steps}); speed would "
                      f"silently be measured at lag {steps - 1}")
    if every > steps:
        errors.append(f"replay.hidden_every: {every} is longer than the replay (replay.steps {steps}): no hidden "
                      "state would be stored (0 = none)")
    short = {}
    for task in config["tasks"]:
        test_steps = data_sizes(config, task)["test_steps"]
        if lag > test_steps:
            short.setdefault(key_of(config, task, None, "data", "test_steps"), (test_steps, []))[1].append(task)
    for key, (test_steps, tasks) in short.items():
        errors.append(f"metrics.speed_lag: {lag} is longer than the test paths of {', '.join(tasks)} ({key} "
                      f"{test_steps}); speed and compression would compare replay at lag {lag} with test paths "
                      f"at lag {test_steps}")
    for name, spec in config["variants"].items():
        source = (spec or {}).get("model_from")
        for knob in ("hidden", "cell") if source else ():
            if knob in spec and any(cell_knobs(config, t, name)[knob] != cell_knobs(config, t, source)[knob]
                                    for t in config["tasks"]):
                errors.append(f"variants.{name}.{knob}: a replay-only variant (model_from {source}) cannot change "
                              f"its model's shape; the model of {source} has {knob} "
                              f"{cell_knobs(config, next(iter(config['tasks'])), source)[knob]}")
    return errors
