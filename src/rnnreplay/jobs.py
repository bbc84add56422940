"""Typed descriptions of the workflow's jobs: each holds exactly what changes its stage's output.

A rule passes its job to the CLI as JSON, and Snakemake records that JSON as the rule's params, so
a job reruns when (and only when) something it depends on changes: a metrics setting reruns the
metrics, not the training; a log interval, a thread count or the checkout's path reruns nothing.
:mod:`rnnreplay.config` resolves config.yaml into these objects; every output file stores its job
(``job_json``) beside the run's whole resolved config (``config_json``, see :func:`rnnreplay.io.provenance`).

Seeds of the random streams derive from ``(task name, seed)`` (:attr:`TrainJob.seed_parts`), never
from the variant: every variant at one seed shares initial weights, batches, masks and noise.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields

from .params import CellParams

CONFIG_ENV = "RNNREPLAY_CONFIG"  # the run's resolved config as JSON, set by the workflow (common.smk)


def run_config() -> dict:
    """The resolved config of the workflow run this job belongs to (from the environment), or {}
    when the CLI runs by hand. Outputs record it as provenance; the CLI takes from it the settings
    that change no output (log and checkpoint intervals, device)."""
    import os

    text = os.environ.get(CONFIG_ENV)
    return json.loads(text) if text else {}


def pick_fields(cls, mapping: dict | None) -> dict:
    """The entries of ``mapping`` that are fields of dataclass ``cls`` (others belong elsewhere)."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in (mapping or {}).items() if k in names}


@dataclass(frozen=True)
class TaskSetup:
    """A task as the config names it: ``name`` (the config key, e.g. ``tmaze``), ``kind`` (the
    generator, see :data:`rnnreplay.tasks.TASKS`) and the generator's keyword ``params``."""

    name: str
    kind: str
    params: dict = field(default_factory=dict)

    def build(self):
        """The :class:`rnnreplay.tasks.Task` object."""
        from .tasks import make_task

        return make_task(self.kind, **self.params)


@dataclass(frozen=True)
class SynthesisJob:
    """Drawing one split of a task's paths: ``trajectories`` paths of ``steps`` steps; ``seed`` is
    the experiment seed of a training pool, None for the shared held-out test split."""

    task: TaskSetup
    split: str  # "train" | "test"
    trajectories: int
    steps: int
    seed: int | None = None


@dataclass(frozen=True)
class Mechanisms:
    """Which mechanisms act while the network is trained (and in its active run); a mechanism
    that does not act in training acts in replay only (config ``adaptation_in``/``momentum_in``)."""

    adaptation: bool = True
    momentum: bool = True


@dataclass(frozen=True)
class TrainSettings:
    """Settings that change a trained model (log and checkpoint intervals do not: they are CLI flags)."""

    steps: int = 600  # Adam steps
    batch: int = 64  # paths per batch, drawn from the training pool
    lr: float = 1e-3  # Adam learning rate
    masking: float = 0.0  # difficulty k: each input withheld with probability k / 10 [reconstruction]
    grad_clip: float | None = 10.0  # max gradient norm; None = off
    lr_schedule: str = "constant"  # constant | cosine (from lr down to lr * lr_final_ratio at the last step)
    lr_final_ratio: float = 0.1  # cosine: the last step's learning rate over lr
    lr_warmup: int = 0  # steps over which the learning rate ramps linearly up to lr
    curriculum: list = field(default_factory=list)  # [[steps, length], ...]: paths cut to their first
    #   `length` steps for the next `steps` optimiser steps, stage after stage; then the full pool length


@dataclass(frozen=True)
class ReplaySettings:
    """Quiescence: zero input, noise std x ``noise_multiplier`` (sqrt 2 doubles the variance [KR24])."""

    trajectories: int = 100  # replay trajectories, started from held-out paths' starts
    steps: int = 1000  # replay steps per trajectory
    noise_multiplier: float = math.sqrt(2)  # factor on the hidden noise std
    hidden_every: int = 10  # store every k-th hidden state (and readout); 0 = none


@dataclass(frozen=True)
class MetricsSettings:
    """Settings of the metrics stage (docs/methods.md#metrics)."""

    burn_in: int = 100  # replay steps dropped for distributional metrics
    speed_lag: int = 10  # lag L of the speed metric (steps)
    w_samples: int = 1000  # points per cloud for the exact W1 distance
    min_dwell: int = 5  # region stays shorter than this (steps) do not count as switches
    kl_samples: int = 2500  # Monte-Carlo draws per KL estimate [KR24 code]
    kde_points: int = 5000  # points each Gaussian KDE is fitted to (fixed-seed subsample)
    # Replay dynamics (docs/replay-dynamics.md; rnnreplay.dynamics), all on replay after burn-in:
    alpha_lags: list = field(default_factory=lambda: [1, 10])  # [k0, k1]: lags (steps) of the
    #   displacement exponent's log-log fit (8 log-spaced lags; short lags [Stella et al. 2019])
    displacement_max_lag: int = 200  # longest lag (steps) of the mean-displacement / local-slope curve
    dynamics_events: int = 20  # replay events fitted by the three state-space models (fixed-seed
    #   subsample of trajectories, one window each) [Krause & Drugowitsch 2022]
    dynamics_steps: int = 100  # steps per fitted event (a window at a random start)
    coverage_bins: int = 20  # coverage grid: square cells along the environment's longer side
    coverage_distance: float = 1.0  # distance travelled at which coverage is read, in environment
    #   extents (its longer side; the circumference for headings) [McNamee et al. 2021]
    hover_threshold: float = 0.5  # a step is near zero when at most this x the noise's RMS step
    #   (the lag-0 intercept of the mean squared displacement) [Pfeiffer & Foster 2015]
    occupancy_grid_bins: int = 0  # what occupancy_entropy measures: 0 = the task's coarse regions
    #   (T-maze 4, triangle 6, box K x K); n = square cells of a grid with n cells along the
    #   environment's longer side over its whole extent (positions beyond it count in the border cells)


@dataclass(frozen=True)
class TrainJob:
    """Training one model: the trained ``variant`` of ``task`` at ``seed``, with the knobs ``cell``
    it is trained with and the ``mechanisms`` that act in training."""

    task: TaskSetup
    variant: str
    seed: int
    cell: CellParams
    mechanisms: Mechanisms
    settings: TrainSettings

    @property
    def seed_parts(self) -> tuple:
        """(task name, seed): what the init, batch, mask, noise, replay and metrics seeds derive from."""
        return (self.task.name, self.seed)


@dataclass(frozen=True)
class ReplayJob:
    """Replay of ``variant``: the trained ``model`` (its own training, or its ``model_from``
    variant's) run with the replay knobs ``cell``. With ``baselines``, the file also stores the
    untrained network's replay (KR24's KL baseline)."""

    model: TrainJob
    variant: str
    cell: CellParams
    settings: ReplaySettings
    baselines: bool = False

    @property
    def task(self) -> TaskSetup:
        return self.model.task

    @property
    def seed(self) -> int:
        return self.model.seed


@dataclass(frozen=True)
class MetricsJob:
    """The metrics of one replay file; ``trained_variant`` names the model the replay came from and
    ``train_length`` its training sequence length (steps; the path-integration error is also
    reported there)."""

    task: TaskSetup
    variant: str
    trained_variant: str
    seed: int
    settings: MetricsSettings
    train_length: int | None = None


JOB_TYPES = {cls.__name__: cls for cls in (SynthesisJob, TrainJob, ReplayJob, MetricsJob)}


def to_json(job) -> str:
    """A job as canonical JSON (sorted keys), with its type under ``"job"``; a list of jobs (the
    members of an ensemble job) as a JSON array of them."""
    return json.dumps(_plain(job), sort_keys=True)


def _plain(job):
    if isinstance(job, (list, tuple)):
        return [_plain(j) for j in job]
    return {"job": type(job).__name__, **asdict(job)}


def from_json(text: str, expected: type | None = None, strict: bool = False):
    """The job, or list of jobs, encoded by :func:`to_json`. ``expected``: the job type the caller
    needs (a ValueError names what was found instead). ``strict``: a field the job type does not
    have is an error (a job given by hand), not ignored (a file written by another version)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc}") from exc
    if isinstance(data, list):
        if not data:
            raise ValueError("an empty list of jobs")
        return [_from_plain(item, expected, strict) for item in data]
    return _from_plain(data, expected, strict)


def _from_plain(data, expected: type | None, strict: bool = False):
    kind = data.pop("job", None) if isinstance(data, dict) else None
    if kind not in JOB_TYPES:
        raise ValueError(f"not a job description (job type {kind!r}; known: {sorted(JOB_TYPES)})")
    if expected is not None and JOB_TYPES[kind] is not expected:
        raise ValueError(f"a {kind} was given where a {expected.__name__} is needed")
    return _build(JOB_TYPES[kind], data, strict)


def _build(cls, data: dict, strict: bool = False):
    """Rebuild dataclass ``cls`` (and its nested job parts) from plain data; an integer field
    refuses anything but an integer, a nested part anything but a mapping (ValueError)."""
    nested = {"task": TaskSetup, "cell": CellParams, "mechanisms": Mechanisms, "model": TrainJob}
    settings = {TrainJob: TrainSettings, ReplayJob: ReplaySettings, MetricsJob: MetricsSettings}
    values = {}
    unknown = sorted(set(data) - {f.name for f in fields(cls)}, key=str)
    if strict and unknown:
        raise ValueError(f"{cls.__name__}: unknown field {unknown[0]!r} (it has {[f.name for f in fields(cls)]})")
    for f in fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        if f.type in INT_TYPES and not _is_int(value) and not (value is None and f.type in INT_TYPES[2:]):
            raise ValueError(f"{cls.__name__}.{f.name}: expected an integer, got {value!r}")
        part = None if cls not in JOB_TYPES.values() else (  # a job's parts have no parts of their own
            settings.get(cls) if f.name == "settings" else nested.get(f.name))
        if part is not None and not isinstance(value, dict):
            raise ValueError(f"{cls.__name__}.{f.name}: expected a mapping, got {type(value).__name__}")
        values[f.name] = _build(part, value, strict) if part is not None else value
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:  # a part's own checks (CellParams: leak in (0, 1], ...)
        raise ValueError(f"{cls.__name__}: {exc}") from exc


INT_TYPES = ("int", int, "int | None", int | None)  # a field's annotation, as a string or a type


def _is_int(value) -> bool:
    """An integer (not a bool, not a whole float such as 20.0: numpy and torch refuse those as sizes)."""
    return isinstance(value, int) and not isinstance(value, bool)
