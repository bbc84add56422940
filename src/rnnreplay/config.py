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


def load_yaml(path: str | Path) -> dict:
    """Read a YAML file with the safe loader; a clear error names the file if it is not a mapping
    or if a mapping repeats a key (PyYAML would keep the later value without a word)."""
    with open(path) as fh:
        root, data = _compose(fh.read())
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a YAML mapping at the top level, got {type(data).__name__}")
    repeated = _repeated_key_lines(root, path)
    if repeated:
        more = f" (and {len(repeated) - 1} more)" if len(repeated) > 1 else ""
        raise ValueError(repeated[0] + more)
    return data


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: the same result, faster


def _compose(text: str):
    """(the YAML node graph, the data it makes) of ``text``, parsed once with the safe loader."""
    loader = _LOADER(text)
    try:
        root = loader.get_single_node()
        return root, (loader.construct_document(root) if root is not None else None)
    finally:
        loader.dispose()


def _repeated_keys(node, path=(), seen_nodes=None) -> list[tuple[tuple, int, int]]:
    """(key path, line, line of its first occurrence) of every key that a mapping of the composed
    YAML ``node`` repeats, at any depth (lines count from 1)."""
    seen_nodes = set() if seen_nodes is None else seen_nodes
    if id(node) in seen_nodes:  # an alias of a node already walked
        return []
    seen_nodes.add(id(node))
    found = []
    if isinstance(node, yaml.MappingNode):
        first = {}
        for key_node, value_node in node.value:
            key = (key_node.tag, key_node.value) if isinstance(key_node, yaml.ScalarNode) else None
            name = key_node.value if key is not None else "?"
            if key is not None and key in first:
                found.append(((*path, name), key_node.start_mark.line + 1, first[key]))
            elif key is not None:
                first[key] = key_node.start_mark.line + 1
            found += _repeated_keys(value_node, (*path, name), seen_nodes)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            found += _repeated_keys(item, (*path, i), seen_nodes)
    return found


def duplicate_key_errors(text: str, source: str | Path = "config") -> list[str]:
    """One line per key that a mapping of the YAML ``text`` repeats, naming the file ``source``,
    the line and the key path (the later value would silently win); [] when there is none."""
    from .config_checks import MAX_VALUES, node_size, too_large

    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        return [f"{source}: not valid YAML ({_short(' '.join(str(exc).split()))})"]
    if node_size(root) > MAX_VALUES:
        return [too_large(source)]
    return _repeated_key_lines(root, source)


def _repeated_key_lines(root, source) -> list[str]:
    """:func:`_repeated_keys` of the composed YAML ``root`` as lines naming the file ``source``."""
    return [f"{source}:{line}: {_where(key)}: key repeated (first at line {first}); YAML would silently keep "
            "the later value" for key, line, first in _repeated_keys(root)]


def config_file_errors(path: str | Path) -> list[str]:
    """Problems of a config file that loading it hides (repeated keys), one line each; Snakemake
    reads ``--configfile`` files itself, so the workflow checks each file again with this."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        return [f"{path}: cannot read ({exc.strerror or exc})"]
    return duplicate_key_errors(text, path)


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
    variant is a cell mapping or null) is reported through its mapping branch's own errors. An
    integer field refuses a float, even a whole one (``data.steps: 20.0``)."""
    import jsonschema

    base = jsonschema.Draft202012Validator  # JSON Schema counts 20.0 as an integer; a job would not
    strict = base.TYPE_CHECKER.redefine("integer", lambda _, x: isinstance(x, int) and not isinstance(x, bool))
    validator = jsonschema.validators.extend(base, type_checker=strict)(schema)
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


def config_errors(config, schema_path: str | Path, memory_mb: float | None = None) -> list[str]:
    """Every problem with ``config`` as one-line messages naming the key path; [] when valid.

    In order (a later check needs the earlier ones to pass): the schema (types, ranges, known
    keys; integers refuse floats), finite numbers and safe names; then references between
    entries; then lengths (burn-in and lags against the replay and test paths) and sizes (each
    job's memory estimate against ``memory_mb``: None = this machine's memory, ``math.inf`` = no
    check)."""
    from . import config_checks as more

    if not isinstance(config, dict):
        return [f"(top level): expected a mapping, got {type(config).__name__}"]
    if more.size_error(config):  # before anything walks it
        return [more.size_error(config, "(top level)")]
    original, config = config, more.selected(config)  # a partial run (only_tasks, only_claims)
    errors = sorted(set(_schema_errors(config, load_yaml(schema_path)) + _nonfinite_errors(config)))
    errors += _name_errors(config) + more.long_name_errors(config) + more.selection_errors(config, original)
    return errors or _reference_errors(config) or (_length_errors(config) + more.training_errors(config)
                                                   + more.claim_errors(config) + _size_errors(config, memory_mb))


def exit_if_invalid(config, schema_path: str | Path, source: str = "config", files=(),
                    memory_mb: float | None = None, argv: list[str] | None = None) -> None:
    """Stop with exit status 1 and a readable list of problems (no traceback) if ``config`` is
    invalid or one of the config ``files`` it was read from repeats a key; called from the
    workflow before any job is planned. ``memory_mb``: see :func:`config_errors`. ``argv``: the
    Snakemake command line, given to check ``device: cuda`` on this machine for a local run
    (:func:`rnnreplay.config_checks.device_errors`)."""
    from . import config_checks as more

    errors = [e for path in files for e in config_file_errors(path)]
    if not any(e == more.too_large(path) for path in files for e in errors):  # else one line says it
        errors += config_errors(config, schema_path, memory_mb)
    if not errors and argv is not None:
        errors = more.device_errors(config, more.cluster_executor(argv))
    if errors:
        lines = "\n".join(f"  - {e}" for e in errors)
        sys.exit(f"rnnreplay: invalid {source} ({len(errors)} problem{'s' * (len(errors) > 1)}):\n{lines}")


# ---------------------------------------------------------------------------------------------
# Checks that need the names to resolve: safe folder names, lengths the metrics use, and sizes.


def _name_errors(config: dict) -> list[str]:
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


def _length_errors(config: dict) -> list[str]:
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
            short.setdefault(_key_of(config, task, None, "data", "test_steps"), (test_steps, []))[1].append(task)
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


def _key_of(config: dict, task: str, variant: str | None, section: str, key: str) -> str:
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


def machine_memory() -> float:
    """Bytes of memory a job may use on this machine: its physical memory, or the cgroup's limit
    (a container's) when lower; ``math.inf`` when unknown."""
    import os

    try:
        total = float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return math.inf
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            total = min(total, float(Path(limit_file).read_text().split()[0]))
        except (OSError, ValueError, IndexError):  # absent, or "max" (no limit)
            continue
    return total


def _size(nbytes: float) -> str:
    """Bytes in binary units, e.g. ``7.5 GiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if nbytes < 1024 or unit == "PiB":
            return f"{nbytes:.3g} {unit}"
        nbytes /= 1024
    return f"{nbytes:.3g} PiB"


def memory_estimates(config: dict, task: str, variant: str, built=None) -> dict[str, list[tuple[float, str, str]]]:
    """What the jobs of (``task``, ``variant``) would allocate, from the config's shapes, per stage
    (``synthesis``, ``training``, ``replay``): a list of terms (bytes, the key of its largest
    factor, the formula with each factor's key and value). Rough upper estimates (float32 = 4 B;
    a GRU has 3 weight blocks); they only need to catch sizes no machine could hold.

    Training, per seed (a training job holds every seed's network): weights with gradients and
    Adam's two moments (16 B x ~N^2); about 20 (B, T, N) tensors kept for backprop (the
    calibration of the training rule's mem_mb); the batch's inputs and targets; the pool of P
    paths. Replay: the weights (trained, replay and untrained copies); (R, S, N) hidden states and
    (R, S, C) readouts, twice with KR24's untrained baseline; the active run on the test paths.
    Synthesis: P x (T + 1) positions in float64 and float32."""
    task_obj = built or task_setup(config, task).build()
    d, n_in, n_code = task_obj.space_dim, task_obj.input_dim, task_obj.code_dim
    data = data_sizes(config, task)
    dkey = {k: _key_of(config, task, None, "data", k) for k in data}
    source = trained_variant(config, variant)

    def weights(cell):
        g = 3 if cell.cell == "gru" else 1
        return g, 4.0 * (g * cell.hidden * (cell.hidden + n_in + 1) + 2 * cell.hidden * n_code + n_code)

    trained = split_knobs(cell_knobs(config, task, source))[0]
    g, w = weights(trained)
    n, nkey = trained.hidden, _key_of(config, task, source, "model", "hidden")
    settings = train_settings(config, task, source)
    b, bkey = settings.batch, _key_of(config, task, source, "train", "batch")
    t, tkey = data["steps"], dkey["steps"]
    p, pkey = data["train_trajectories"], dkey["train_trajectories"]
    pt, ptkey, tt, ttkey = data["test_trajectories"], dkey["test_trajectories"], data["test_steps"], dkey["test_steps"]
    largest = lambda *kv: max(kv, key=lambda k: k[1])[0]  # noqa: E731
    members = len(config["seeds"])  # a training job trains every seed side by side (an ensemble)
    training = [(members * nbytes, key, f"{members} seeds x {what}") for nbytes, key, what in (
        (4 * w, nkey, f"weights, gradients and Adam moments: ~16 B x ({nkey} {n})^2"),
        (80.0 * g * b * t * n, largest((bkey, b), (tkey, t), (nkey, n)),
         f"~20 float32 tensors kept for backprop: {bkey} {b} x {tkey} {t} x {nkey} {n}"),
        (8.0 * b * (t + 1) * (n_in + 2 * n_code), largest((bkey, b), (tkey, t)),
         f"batch inputs and targets: {bkey} {b} x {tkey} {t} x {n_in + 2 * n_code} values x 8 B"),
        (8.0 * p * (t + 1) * d, largest((pkey, p), (tkey, t)),
         f"training pool: {pkey} {p} x {tkey} {t} x {d} dims x 8 B"),
    )]
    knobs = split_knobs(cell_knobs(config, task, variant))[0]
    gr, wr = weights(knobs)
    nr, nrkey = knobs.hidden, _key_of(config, task, variant, "model", "hidden")
    r, s = config["replay"]["trajectories"], config["replay"]["steps"]
    copies = 2 if _task(config, task).get("baselines") else 1
    replay = [
        (3.0 * wr + w, nrkey, f"weights (trained, replay and untrained copies): ~16 B x ({nrkey} {nr})^2"),
        (4.0 * r * s * (2 * gr * nr + 2 * n_code + 6 * d) * copies,
         largest(("replay.trajectories", r), ("replay.steps", s), (nrkey, nr)),
         f"replay states and readouts: replay.trajectories {r} x replay.steps {s} x ({nrkey} {nr} + {n_code} code "
         f"units) x {8 * gr if copies == 1 else 16 * gr} B"),
        (8.0 * pt * tt * (2 * g * n + 2 * n_code), largest((ptkey, pt), (ttkey, tt), (nkey, n)),
         f"active run: {ptkey} {pt} x {ttkey} {tt} x ({nkey} {n} + {n_code} code units) x 16 B"),
    ]
    synthesis = [(24.0 * p * (t + 1) * d, largest((pkey, p), (tkey, t)),
                  f"training pool: {pkey} {p} x {tkey} {t} x {d} dims x 24 B"),
                 (24.0 * pt * (tt + 1) * d, largest((ptkey, pt), (ttkey, tt)),
                  f"test paths: {ptkey} {pt} x {ttkey} {tt} x {d} dims x 24 B")]
    return {"synthesis": synthesis, "training": training, "replay": replay}


def _size_errors(config: dict, memory_mb: float | None = None) -> list[str]:
    """One line per (stage, task) whose largest job would need more memory than ``memory_mb``
    (None: :func:`machine_memory`), naming the key of the estimate's largest term and the estimate."""
    limit = machine_memory() if memory_mb is None else float(memory_mb) * 2**20
    if math.isinf(limit):
        return []
    where = "this machine's memory" if memory_mb is None else f"mem_mb {float(memory_mb):g} (--resources)"
    worst: dict[tuple[str, str], tuple[float, str, list]] = {}
    for task in config["tasks"]:
        built = task_setup(config, task).build()
        for variant in task_variants(config, task):
            for stage, terms in memory_estimates(config, task, variant, built).items():
                total = sum(nbytes for nbytes, *_ in terms)
                if total > worst.get((stage, task), (-1,))[0]:
                    worst[(stage, task)] = (total, variant, terms)
    over: dict[str, list] = {}  # key of the largest term -> [(bytes, stage, job, formula)]
    for (stage, task), (total, variant, terms) in worst.items():
        if total > limit:
            _, key, formula = max(terms, key=lambda term: term[0])
            shown = trained_variant(config, variant) if stage == "training" else variant
            job = task if stage == "synthesis" else f"{task}/{shown}"
            over.setdefault(key, []).append((total, stage, job, formula))
    errors = []
    for key, jobs in over.items():
        total, stage, job, formula = max(jobs)
        others = f"; so would {len(jobs) - 1} other job{'s' * (len(jobs) > 2)}" if len(jobs) > 1 else ""
        errors.append(f"{key}: {stage} of {job} would need about {_size(total)} of memory ({formula}), more than the "
                      f"{_size(limit)} of {where}{others}")
    return errors


# --- configs built on other configs --------------------------------------------------------------

BASE_KEY = "extends"  # a config's base config file: its keys, with this file's keys merged over them


def merge_configs(base: dict, over: dict) -> dict:
    """``over`` merged into a copy of ``base`` as Snakemake merges several --configfile files: a
    mapping in both is merged key by key (recursively), any other value of ``over`` replaces
    ``base``'s (lists included)."""
    import copy

    merged = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_configs(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def with_base(config: dict, root: str | Path, seen: tuple = ()) -> dict:
    """``config`` over its base: when it has ``extends: FILE`` (a path relative to the repository
    ``root``), the base file is read (its own ``extends`` first, recursively) and ``config``'s keys
    are merged over it (:func:`merge_configs`), so a config derives from another without copying
    its keys. Without ``extends``, ``config`` itself."""
    if BASE_KEY not in config:
        return config
    own = {k: v for k, v in config.items() if k != BASE_KEY}
    path = Path(root) / str(config[BASE_KEY])
    if not path.is_file():
        raise ValueError(f"{BASE_KEY}: {config[BASE_KEY]}: no such config file under {root}")
    if path.resolve() in seen:
        raise ValueError(f"{BASE_KEY}: {config[BASE_KEY]} extends itself (a loop of base configs)")
    base = with_base(load_yaml(path), root, seen + (path.resolve(),))
    return merge_configs(base, own)


def base_files(config: dict, root: str | Path) -> list[Path]:
    """The files ``config``'s ``extends`` chain reads, nearest first."""
    files = []
    while BASE_KEY in config:
        files.append(Path(root) / str(config[BASE_KEY]))
        config = load_yaml(files[-1])
    return files


def load_config(path: str | Path, root: str | Path | None = None) -> dict:
    """The config file ``path`` with its base configs merged in (:func:`with_base`); ``root``
    (default: the repository holding this package's ``src``) is where ``extends`` paths start."""
    return with_base(load_yaml(path), root or Path(__file__).resolve().parents[2])


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
