"""What a stage reads and writes, checked before its work.

Every output file carries the job that made it (``job_json``, see :mod:`rnnreplay.jobs`; a model
file its :class:`~rnnreplay.jobs.TrainJob`). A stage reads its inputs through the functions here,
which compare that provenance with what its own job expects: the kind of file (paths, model, loss
curve, replay, metrics), the task (name, kind, parameters), the variant and seed, and the shapes
(the paths' spatial dimension, the weights' sizes, lengths the metrics need). A mismatch is one
line naming the file, what it is and what was expected.

Outputs are checked before the work too (:func:`stage_outputs`, a decorator of each stage
function): no output path is a directory and each one's folder can be written; if the stage fails
anyway (a full disk), what it had written is removed, so nothing partial is left.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import functools
import inspect
import os
import tempfile
from pathlib import Path

import xarray as xr

from .io import job_of, read_dataset
from .jobs import MetricsJob, ReplayJob, SynthesisJob, TaskSetup, TrainJob

# What each kind of job makes, in words (a TrainJob makes a model file and its loss curve).
FILE_KINDS = {SynthesisJob: "paths", TrainJob: "loss curve", ReplayJob: "replay", MetricsJob: "metrics"}


def describe(kind: str, task: TaskSetup, variant: str | None = None, seed: int | None = None) -> str:
    """A file in words: ``the replay of tmaze/leak seed 0 (task kind tmaze)``."""
    who = task.name + (f"/{variant}" if variant else "")
    return f"the {kind} of {who}" + (f" seed {seed}" if seed is not None else "") + f" (task kind {task.kind})"


def _describe_job(job, kind: str | None = None) -> str:
    """What the file whose stored job is ``job`` holds, in words."""
    if isinstance(job, SynthesisJob):
        return describe(f"{job.split} paths", job.task, seed=job.seed)
    return describe(kind or FILE_KINDS[type(job)], job.task, job.variant, job.seed)


def _differences(found, expected, prefix: str = "", limit: int = 3) -> str:
    """The first ``limit`` fields where two jobs (or parts of them) differ, as ``key: X in the
    file, Y expected`` joined by ``; ``."""
    def flat(value, path):
        if dataclasses.is_dataclass(value):
            value = dataclasses.asdict(value)
        if isinstance(value, dict):
            return {k: v for key, sub in value.items() for k, v in flat(sub, f"{path}{key}.").items()}
        return {path[:-1]: value}

    a, b = flat(found, prefix), flat(expected, prefix)
    lines = [f"{k}: {a.get(k)!r} in the file, {b.get(k)!r} expected" for k in sorted(set(a) | set(b), key=str)
             if a.get(k) != b.get(k)]
    return "; ".join(lines[:limit]) + (f"; and {len(lines) - limit} more" if len(lines) > limit else "")


def mismatch(path, found: str, expected: str, detail: str = "") -> ValueError:
    """The one-line error for an input file that is not what the job needs; ``detail`` (the
    fields that differ) is added when the two descriptions read the same."""
    more = f" ({detail})" if detail and found == expected else ""
    return ValueError(f"{path}: this is {found}; the job needs {expected}{more}")


def read_job_file(path, job_type: type, required: tuple[str, ...] = (), expected: str | None = None):
    """Open the NetCDF output ``path`` and check it was made by a job of ``job_type`` (else an
    error saying what it is and that ``expected``, in words, was needed) and holds the
    ``required`` variables. Returns (its job, the dataset)."""
    ds = read_dataset(path)
    job = job_of(ds, None, path)
    if not isinstance(job, job_type):
        raise mismatch(path, _describe_job(job), expected or f"a {FILE_KINDS[job_type]} file ({job_type.__name__})")
    missing = [v for v in required if v not in ds.variables]
    if missing:
        raise ValueError(f"{path}: missing variables {missing}; is this the right kind of file?")
    return job, ds


def _check_space(path, ds: xr.Dataset, task: TaskSetup) -> None:
    """The positions' spatial dimension is the task's."""
    dim = task.build().space_dim
    if ds.sizes.get("space") != dim:
        raise ValueError(f"{path}: positions have {ds.sizes.get('space')} spatial dimensions; task {task.name} "
                         f"(kind {task.kind}) has {dim}")


def read_paths(path, task: TaskSetup, split: str, seed: int | None = None, min_steps: int = 1,
               reason: str = "the job") -> xr.Dataset:
    """The ``split`` paths (``train``: the pool of ``seed``; ``test``: the held-out paths) of
    ``task`` from ``path``, with at least ``min_steps`` steps (which ``reason`` needs, e.g.
    ``metrics.speed_lag 10``). Dataset with ``position`` (trajectory, step, space)."""
    expected = describe(f"{split} paths", task, seed=seed if split == "train" else None)
    job, ds = read_job_file(path, SynthesisJob, ("position",), expected)
    if job.task != task or job.split != split or (split == "train" and job.seed != seed):
        raise mismatch(path, _describe_job(job), expected, _differences(job.task, task, "task."))
    _check_space(path, ds, task)
    if ds.sizes["step"] - 1 < min_steps:
        raise ValueError(f"{path}: paths of {ds.sizes['step'] - 1} steps; {reason} needs at least {min_steps}")
    return ds


def read_model(path, job: TrainJob, cell=None) -> dict:
    """The weights (``state_dict``) of the model file ``path``, trained by exactly ``job`` and
    shaped for ``cell`` (the replay knobs; default the training knobs ``job.cell``)."""
    from .io import load_model_file

    state, trained = load_model_file(path)
    if trained != job:
        raise mismatch(path, _describe_job(trained, "model"), _describe_job(job, "model"),
                       _differences(trained, job))
    _check_weights(path, state, job, cell or job.cell)
    return state


def _check_weights(path, state: dict, job: TrainJob, cell) -> None:
    """Every weight of ``state`` has the shape the cell ``cell`` of ``job``'s task has (built on
    torch's meta device: no memory is allocated)."""
    import torch

    from .model import make_cell

    task = job.task.build()
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in make_cell(task.input_dim, task.code_dim, cell).state_dict().items()}
    found = {k: tuple(v.shape) for k, v in state.items()}
    if found != expected:
        key = next((k for k in expected if found.get(k) != expected[k]), next(iter(set(found) - set(expected)), ""))
        raise ValueError(f"{path}: weights {key} have shape {found.get(key)}; the job's cell ({cell.cell}, hidden "
                         f"{cell.hidden}) on task {job.task.name} needs {expected.get(key)}")


def read_loss(path, task: TaskSetup, variant: str, seed: int) -> xr.Dataset:
    """The training loss curve of ``task``/``variant`` at ``seed`` (dataset with ``loss``)."""
    expected = describe("loss curve", task, variant, seed)
    job, ds = read_job_file(path, TrainJob, ("loss",), expected)
    if (job.task, job.variant, job.seed) != (task, variant, seed):
        raise mismatch(path, _describe_job(job), expected,
                       _differences(job.task, task, "task."))
    return ds


def read_replay(path, job: MetricsJob) -> xr.Dataset:
    """The replay file the metrics ``job`` measures: its task, variant and seed, with enough steps
    for ``burn_in`` (2 steps after it) and ``speed_lag``."""
    expected = describe("replay", job.task, job.variant, job.seed)
    made, ds = read_job_file(path, ReplayJob, ("position", "start_position"), expected)
    if (made.task, made.variant, made.seed) != (job.task, job.variant, job.seed):
        raise mismatch(path, _describe_job(made), expected,
                       _differences(made.task, job.task, "task."))
    _check_space(path, ds, job.task)
    steps, need = ds.sizes["step"], max(job.settings.burn_in + 2, job.settings.speed_lag + 1)
    if steps < need:
        raise ValueError(f"{path}: replay of {steps} steps; metrics.burn_in {job.settings.burn_in} and "
                         f"metrics.speed_lag {job.settings.speed_lag} need at least {need}")
    return ds


# --- Outputs -----------------------------------------------------------------------------------


def writable(*paths) -> None:
    """Check, before any work, that each output path can be written: it is not a directory and
    its folder exists (or can be made) and takes a new file. An OSError naming the path otherwise."""
    for path in map(Path, paths):
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, "the output path is a directory", str(path))
        if path.exists() and not path.is_file():  # a device node, FIFO or socket: never replace it
            raise OSError(errno.EEXIST, f"the output path is {_special_kind(path)}, not a file; refusing to "
                          "replace it", str(path))
        folder = path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OSError(exc.errno, f"cannot create its folder {folder} ({exc.strerror or exc})", str(path)) from exc
        try:
            fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=folder)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise OSError(exc.errno, f"cannot write to its folder {folder} ({exc.strerror or exc})", str(path)) from exc


def _special_kind(path: Path) -> str:
    """What a path that is neither a file nor a folder is, in words."""
    import stat

    mode = path.stat().st_mode
    kinds = [(stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket")]
    return next((name for test, name in kinds if test(mode)), "not a regular file")


# Each stage's file arguments (argparse names): (inputs, outputs). An output may be no input and no
# other output: it would overwrite it (the same path, a link to it, or a hard link).
STAGE_FILES = {
    "synthesize": ((), ("out",)),
    "train": (("train_paths",), ("out_model", "out_loss", "checkpoint")),
    "replay": (("model", "test_paths"), ("out",)),
    "metrics": (("replay", "test_paths", "loss"), ("out",)),
    "summarise": (("inputs",), ("table", "summary", "markdown")),
    "figure": (("inputs", "test_paths", "metrics_table"), ("out",)),
    "theory": ((), ("out", "checks")),
    "claims": (("metrics", "theory_checks"), ("out_csv", "out_md")),
    "compare": (("inputs", "metrics"), ("out_md", "out_png")),
    "report": (("summary", "metrics"), ("out_summary", "out_provenance")),
}
DISTINCT_INPUTS = {"summarise": ("inputs",), "compare": ("inputs",), "report": ("metrics",)}  # one file, one entry


def clash_errors(stage: str, args: dict) -> list[str]:
    """Output paths of ``stage`` (argument values ``args``, by argparse name) that are one of its
    inputs or another output, and inputs given twice where each must be distinct (summarise would
    count one seed twice): one line each, naming both flags. Paths are compared after resolving
    links and ``..``, and existing files by device and inode (a hard link is the same file)."""
    inputs, outputs = STAGE_FILES.get(stage, ((), ()))
    seen: dict = {}
    errors = []

    def identity(path: Path):
        try:
            st = path.stat()
            return st.st_dev, st.st_ino
        except OSError:
            return str(path.resolve())

    flag = lambda name: "--" + name.replace("_", "-")  # noqa: E731
    for role, names in (("input", inputs), ("output", outputs)):
        for name in names:
            for value in _listed(args.get(name)):
                path = Path(value)
                pdfs = [path.with_suffix(".pdf")] if role == "output" and path.suffix == ".png" else []
                for p in [path, *pdfs]:
                    key = identity(p)
                    if key in seen and (role == "output" or name in DISTINCT_INPUTS.get(stage, ())):
                        other_role, other = seen[key]
                        what = "given twice" if other == flag(name) else f"the same file as {other}"
                        harm = ("it would count twice" if role == "input"
                                else f"writing it would overwrite that {other_role}")
                        errors.append(f"{flag(name)} {p}: {what}; {harm}")
                    seen.setdefault(key, (role, flag(name)))
    return errors


def _stamp(path: Path):
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


@contextlib.contextmanager
def outputs(*paths):
    """Check the outputs ``paths`` (None entries are skipped) with :func:`writable` before the
    work; if the block fails, remove each output it had already written (a stage with two
    outputs never leaves just one), then re-raise."""
    paths = [Path(p) for p in paths if p is not None]
    writable(*paths)
    before = {p: _stamp(p) for p in paths}
    try:
        yield
    except BaseException:
        for p in paths:
            if _stamp(p) != before[p]:
                p.unlink(missing_ok=True)
        raise


def _listed(value) -> list:
    """A path argument as a list of paths: a list (an ensemble's outputs) as it is, one path as a
    list of one, None as none."""
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def stage_outputs(*names: str, check_only: tuple[str, ...] = ()):
    """Decorator of a stage function whose arguments ``names`` are its output paths (a path, or a
    list of paths: one per member of an ensemble job): they are
    checked (:func:`writable`) before it runs, and removed if it fails after writing some
    (:func:`outputs`); a ``.png`` output comes with the ``.pdf`` that :func:`rnnreplay.figures.save`
    writes beside it. ``check_only``: arguments naming paths that are checked but never removed
    (a training checkpoint, which a rerun resumes from). None values are skipped."""
    def decorate(func):
        signature = inspect.signature(func)

        @functools.wraps(func)
        def stage(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            paths = [Path(p) for n in names for p in _listed(bound.arguments[n])]
            paths += [p.with_suffix(".pdf") for p in paths if p.suffix == ".png"]
            writable(*[p for n in check_only for p in _listed(bound.arguments[n])])
            with outputs(*paths):
                return func(*args, **kwargs)

        return stage

    return decorate
