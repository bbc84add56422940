"""The replay metrics (docs/methods.md#metrics): the registry of every metric the metrics stage
writes, each a function of one :class:`ReplayRun` built on the measures of
:mod:`rnnreplay.measures`, and the metrics stage itself.

Positions are arrays (B, T, D): B trajectories of T steps in D spatial dimensions, in the
task's length unit. Times are in steps.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .checks import stage_outputs
from .config import derive_seed
from .jobs import MetricsJob, MetricsSettings
from .measures import (angular_drift, circular_variance, entropy, final_loss, grid_cells, kde_kl, mean_radius,
                       occupancy, off_track, path_length, reach_time, region_switches, speed, step_length,
                       total_variance, uniform_box_kl, wasserstein)
from .tasks import Task

if TYPE_CHECKING:
    import xarray as xr


# --- The registry: every metric the metrics stage writes, declared once ----------------------------
# A metric is a function of a :class:`ReplayRun` (one replay file with what it is compared with)
# and one registration: its name, units, long name, which runs it applies to, and where it is
# shown. The metrics stage, the NetCDF attributes, the summary table, the figures' panels and
# the report all read this registry, so a new metric is one function and one decorator.

UNIT_KINDS = ("length", "length/step", "length^2", "step", "nat", "1")  # "length" = the task's unit


@dataclass
class ReplayRun:
    """One replay run and what its metrics compare it with.

    Attributes:
        task: the task (geometry, regions, goals, decoding).
        position: (B, T, D) decoded replay positions (length unit; rad for headings).
        start: (B, D) replay start positions.
        true_paths: (P, T'+1, D) the task's held-out real paths.
        settings: the metrics settings.
        seed: seed of every subsample and Monte-Carlo draw (a KL estimate and the W distance each
            start a generator from it).
        active: (P, T', D) positions decoded while the trained network is driven by the test
            paths (the "active" condition), or None.
        untrained: (B, T, D) replay positions of the untrained network, or None.
        loss: (S,) training loss per optimiser step, or None.
    """

    task: Task
    position: np.ndarray
    start: np.ndarray
    true_paths: np.ndarray
    settings: MetricsSettings
    seed: int = 0
    active: np.ndarray | None = None
    untrained: np.ndarray | None = None
    loss: np.ndarray | None = None
    train_length: int | None = None

    @functools.cached_property
    def path_integration(self) -> dict:
        """:func:`rnnreplay.learning.summary` of the active run against the test paths."""
        from .learning import summary

        return summary(self.task, self.active, self.true_paths, self.train_length)

    @functools.cached_property
    def loss_plateau(self) -> tuple[bool, float]:
        """:func:`rnnreplay.learning.loss_plateaued` of the training loss: (plateaued, fall)."""
        from .learning import loss_plateaued

        return loss_plateaued(self.loss)

    @functools.cached_property
    def burn(self) -> int:
        """Replay steps dropped before distributional metrics (``burn_in``, at most T - 2)."""
        return min(self.settings.burn_in, self.position.shape[1] - 2)

    @functools.cached_property
    def settled(self) -> np.ndarray:
        """(B, T - burn, D) positions after the burn-in."""
        return self.position[:, self.burn:]

    @functools.cached_property
    def labels(self) -> np.ndarray:
        """(B, T - burn) region index of each settled position."""
        return self.task.region_of(self.settled)

    @functools.cached_property
    def occupancy(self) -> np.ndarray:
        """(R,) fraction of settled time per region of ``task.region_names``."""
        return occupancy(self.labels, len(self.task.region_names))

    @functools.cached_property
    def travel(self) -> tuple[np.ndarray, np.ndarray]:
        """(replay, true paths) on which distances travelled are measured: unwrapped along the
        ring for headings, the positions themselves otherwise."""
        if self.task.circular:
            return np.unwrap(self.position, axis=1), np.unwrap(self.true_paths, axis=1)
        return self.position, self.true_paths

    @functools.cached_property
    def reach(self) -> tuple[np.ndarray, np.ndarray]:
        """(times (B,), reached (B,)) of :func:`rnnreplay.measures.reach_time` to the task's goals."""
        t = self.task
        return reach_time(self.position, self.start, t.goals, t.goal_radius, t.goal_min_start_distance)

    def kde_kl(self, p_points: np.ndarray, q_points: np.ndarray) -> float:
        """KL(P || Q) between KDEs of two clouds with this run's settings and seed
        (:func:`rnnreplay.measures.kde_kl`)."""
        return kde_kl(p_points, q_points, n=self.settings.kl_samples, max_points=self.settings.kde_points,
                      seed=self.seed)


def _always(run: ReplayRun) -> bool:
    return True


@dataclass(frozen=True)
class Metric:
    """A registered metric: see :func:`metric`."""

    name: str
    units: str
    long_name: str
    compute: Callable[[ReplayRun], float | np.ndarray]
    applies: Callable[[ReplayRun], bool] = _always
    table: bool = False
    figures: tuple[str, ...] = ()
    dims: tuple[str, ...] = ()
    title: str = ""


METRICS: dict[str, Metric] = {}


def metric(name: str, units: str, long_name: str, applies: Callable[[ReplayRun], bool] = _always,
           table: bool = False, figures: tuple[str, ...] = (), dims: tuple[str, ...] = (), title: str = ""):
    """Register the decorated function ``f(run: ReplayRun) -> value`` as the metric ``name``.

    Args:
        name: the variable name in metrics files and ``metrics.csv``.
        units: one of :data:`UNIT_KINDS` (``length`` means the task's length unit).
        long_name: the CF ``long_name`` (what it is, in words).
        applies: which runs have it (e.g. tasks with goals; runs that store the active run).
        table: a column of ``results/tables/summary.md`` and a panel of ``metrics_{task}.png``.
        figures: other figures that draw it (``momentum_sweep``, ``kr24_summary``).
        dims: ``()`` for a scalar; ``("region",)`` for a value per task region.
        title: a panel title where the name alone says too little.
    """
    if units not in UNIT_KINDS:
        raise ValueError(f"metric {name}: units must be one of {UNIT_KINDS}, got {units!r}")

    def register(compute):
        if name in METRICS:
            raise ValueError(f"metric {name!r} is registered twice")
        METRICS[name] = Metric(name, units, long_name, compute, applies, table, figures, dims, title or name)
        return compute

    return register


def metric_names(table: bool = False, figure: str | None = None) -> list[str]:
    """Registered metric names, in registration order: all, those of the summary table, or those
    drawn in ``figure``."""
    return [m.name for m in METRICS.values()
            if (not table or m.table) and (figure is None or figure in m.figures)]


def compute_metrics(run: ReplayRun) -> dict[str, float | np.ndarray]:
    """Every registered metric that applies to ``run``: name -> value (float, or an array over
    the metric's ``dims``)."""
    return {m.name: m.compute(run) for m in METRICS.values() if m.applies(run)}


# Curves: a metric with a dim other than ``region`` (e.g. ``lag``) takes that dim's coordinate
# from here: dim -> (coordinate values from the metrics settings, CF attributes).
AXES: dict[str, tuple[Callable[[MetricsSettings], np.ndarray], dict]] = {}


def metrics_dataset(values: dict, task: Task, attrs: dict, settings: MetricsSettings | None = None) -> xr.Dataset:
    """Metric values (from :func:`compute_metrics`) as a CF dataset: scalars, the per-region
    ones on a ``region`` dim labelled by ``region_name``, and curves on the dims of :data:`AXES`
    (coordinates from ``settings``, default :class:`MetricsSettings`); units resolved to the task's
    length unit."""
    import xarray as xr

    lu = task.length_unit
    unit = {"length": lu, "length/step": lu, "length^2": "1" if lu == "1" else f"{lu}2", "step": "1", "nat": "1"}
    data = {}
    for name, value in values.items():
        m = METRICS[name]
        data[name] = (m.dims, np.asarray(value, dtype=np.float64), {"units": unit.get(m.units, m.units),
                                                                     "long_name": m.long_name})
    coords = {"region_name": ("region", list(task.region_names), {"long_name": "task region"})}
    curves = list(dict.fromkeys(d for name in values for d in METRICS[name].dims if d in AXES))
    for dim in curves:
        axis, axis_attrs = AXES[dim]
        coords[dim] = (dim, axis(settings or MetricsSettings()), axis_attrs)
    ds = xr.Dataset(data, coords=coords, attrs=attrs)
    for dim in curves:  # CF: a coordinate variable has no fill value (xarray gives float ones NaN)
        ds[dim].encoding["_FillValue"] = None
    return ds


def _has_goals(run):
    return len(run.task.goals) > 0


def _planar(run):
    return not run.task.circular


def _has_active_2d(run):
    """KR24's KL metrics: planar tasks whose replay files carry KR24's baselines (``baselines: true``
    stores the untrained network's replay beside the active run, which every replay file has)."""
    return run.active is not None and run.untrained is not None and run.task.space_dim == 2 and not run.task.circular


@metric("final_loss", "1", "training MSE, mean of the last 50 steps", applies=lambda run: run.loss is not None,
        table=True)
def _final_loss(run):
    return final_loss(run.loss)


@metric("loss_fall", "1", "relative fall of the training loss over the last fifth of training (window means)",
        applies=lambda run: run.loss is not None)
def _loss_fall(run):
    return run.loss_plateau[1]


@metric("loss_plateaued", "1", "1 if the training loss fell by less than 5% over the last fifth, else 0",
        applies=lambda run: run.loss is not None)
def _loss_plateaued(run):
    return float(run.loss_plateau[0])


def _has_active(run):
    return run.active is not None and run.active.shape[1] == run.true_paths.shape[1] - 1


def _path_integration_metric(key: str, units: str, long_name: str, table: bool = False):
    """Register ``key`` of :attr:`ReplayRun.path_integration` as a metric."""
    metric(key, units, long_name, applies=_has_active, table=table)(lambda run: run.path_integration[key])


for _key, _units, _long_name, _table in (
    ("pi_error", "length", "mean decoding error of the network driven by the test paths (active run)", False),
    ("pi_error_train_length", "length", "active-run decoding error after the training sequence length", False),
    ("pi_error_last", "length", "active-run decoding error after the test paths' last step", False),
    ("pi_chance", "length", "error of always guessing the mean test position (chance)", False),
    ("pi_ratio", "1", "active-run mean decoding error / chance (the learning gate's metric)", True),
    ("pi_ratio_train_length", "1", "active-run decoding error after the training length / chance", False),
    ("pi_ratio_last", "1", "active-run decoding error after the last test step / chance", True),
):
    _path_integration_metric(_key, _units, _long_name, _table)


@metric("wasserstein", "length", "W1 distance, replay (after burn-in) vs true positions", table=True,
        figures=("momentum_sweep",))
def _wasserstein(run):
    s = run.settings
    if run.task.circular:  # distances along the ring: embed the headings on the circle
        ring = lambda a: np.concatenate([np.cos(a), np.sin(a)], -1)  # noqa: E731
        return wasserstein(ring(run.settled), ring(run.true_paths), s.w_samples, run.seed)
    return wasserstein(run.settled, run.true_paths, s.w_samples, run.seed)


@metric("reach_time", "step", "mean first step reaching a goal (censored at the replay length)",
        applies=_has_goals, table=True, figures=("momentum_sweep",))
def _reach_time(run):
    return float(run.reach[0].mean())


@metric("reach_fraction", "1", "fraction of replay trajectories that reached a goal", applies=_has_goals, table=True)
def _reach_fraction(run):
    return float(run.reach[1].mean())


@metric("speed", "length/step", "mean displacement over the speed lag, per step", table=True,
        figures=("momentum_sweep",))
def _speed(run):
    return speed(run.travel[0], run.settings.speed_lag)


@metric("step_length", "length", "mean one-step distance", table=True)
def _step_length(run):
    return step_length(run.travel[0])


@metric("path_length", "length", "mean total distance per replay trajectory")
def _path_length(run):
    return path_length(run.travel[0])


@metric("compression", "1", "replay speed / speed on the real paths", table=True)
def _compression(run):
    replay, real = run.travel
    return speed(replay, run.settings.speed_lag) / speed(real, run.settings.speed_lag)


@metric("off_track", "1", "fraction of replay positions off the task's support", table=True,
        figures=("momentum_sweep",))
def _off_track(run):
    return off_track(run.settled, run.task)


@metric("occupancy_entropy", "nat", "entropy of the occupancy of the task's regions (or, with "
        "occupancy_grid_bins, of a fine grid's cells)", table=True)
def _occupancy_entropy(run):
    bins = run.settings.occupancy_grid_bins
    if bins:
        from . import dynamics

        grid = dynamics.environment_grid(run.task, bins, run.true_paths)
        return entropy(occupancy(grid_cells(run.settled, grid.low, grid.cell, grid.shape), int(np.prod(grid.shape))))
    return entropy(run.occupancy)


@metric("region_switches", "1", "region changes per trajectory (stays >= min_dwell steps)", table=True)
def _region_switches(run):
    return float(region_switches(run.labels, run.settings.min_dwell).mean())


@metric("occupancy", "1", "fraction of time per region", dims=("region",))
def _occupancy(run):
    return run.occupancy


@metric("variance", "length^2", "trace of each replay trajectory's position covariance after burn-in, mean",
        applies=_planar, figures=("kr24_summary",), title="total variance (K3)")
def _variance(run):
    return total_variance(run.position, run.burn)


@metric("kl", "nat", "KL(quiescent || active) between Gaussian KDEs of decoded positions", applies=_has_active_2d,
        figures=("kr24_summary",), title="KL(quiescent || active) (K1)")
def _kl(run):
    return run.kde_kl(run.settled, run.active)


@metric("kl_untrained", "nat", "KL(untrained-network quiescent || active), baseline",
        applies=_has_active_2d, figures=("kr24_summary",),
        title="KL untrained baseline")
def _kl_untrained(run):
    return run.kde_kl(run.untrained[:, run.burn:], run.active)


@metric("kl_uniform", "nat", "KL(uniform on the arena || active), baseline",
        applies=lambda run: _has_active_2d(run) and run.task.box is not None, figures=("kr24_summary",),
        title="KL uniform baseline")
def _kl_uniform(run):
    s = run.settings
    return uniform_box_kl(run.task.box, run.active, n=s.kl_samples, max_points=s.kde_points, seed=run.seed)


@metric("mean_radius", "length", "mean distance of replay positions from the arena's centre",
        applies=lambda run: run.task.box is not None, figures=("kr24_summary",), title="mean radius (K2)")
def _mean_radius(run):
    return mean_radius(run.settled, np.mean(run.task.box, axis=0))


@metric("angular_drift", "length/step", "mean signed angular velocity of replay (counter-clockwise > 0)",
        applies=lambda run: run.task.circular, figures=("kr24_summary",), title="HD drift, rad/step (K4)")
def _angular_drift(run):
    return angular_drift(run.position)


@metric("angular_drift_untrained", "length/step", "mean signed angular velocity of untrained-network replay",
        applies=lambda run: run.task.circular and run.untrained is not None)
def _angular_drift_untrained(run):
    return angular_drift(run.untrained)


@metric("circular_variance", "1", "1 - mean resultant length of replay headings after burn-in, mean",
        applies=lambda run: run.task.circular)
def _circular_variance(run):
    return circular_variance(run.position, run.burn)


@stage_outputs("outs")
def metrics_file(jobs: list[MetricsJob], replays: list, test_paths: str | Path, losses: list, outs: list) -> str:
    """The metrics stage: every registered metric of each replay file in ``replays`` (the seeds of
    one variant; against the held-out paths in ``test_paths`` and its model's loss curve in
    ``losses``), written to its file in ``outs``. Each run's subsample and Monte-Carlo seed derives
    from (task, seed, "metrics"). Returns a line for the log. The inputs (against each job) and the
    output paths are checked first (:mod:`rnnreplay.checks`)."""
    from .checks import read_loss, read_paths, read_replay
    from .io import provenance, write_dataset

    if not len(jobs) == len(replays) == len(losses) == len(outs):
        raise ValueError(f"metrics: {len(jobs)} jobs need as many --replay, --loss and --out files "
                         f"(got {len(replays)}, {len(losses)}, {len(outs)})")
    lag = jobs[0].settings.speed_lag
    true_paths = read_paths(test_paths, jobs[0].task, "test", min_steps=lag,
                            reason=f"metrics.speed_lag {lag}")["position"].values
    inputs = [(read_replay(replay, job), read_loss(loss, job.task, job.trained_variant, job.seed)["loss"].values)
              for job, replay, loss in zip(jobs, replays, losses)]
    lines = []
    for job, (rep, loss), out in zip(jobs, inputs, outs):
        task = job.task.build()
        optional = {k: rep[k].values if k in rep else None for k in ("active_position", "untrained_position")}
        run = ReplayRun(task=task, position=rep["position"].values, start=rep["start_position"].values,
                        true_paths=true_paths, settings=job.settings,
                        seed=derive_seed(job.task.name, job.seed, "metrics"), active=optional["active_position"],
                        untrained=optional["untrained_position"], loss=loss, train_length=job.train_length)
        values = compute_metrics(run)
        attrs = provenance(f"metrics {job.task.name}/{job.variant}", job, job.seed)
        write_dataset(metrics_dataset(values, task, attrs, job.settings), out)
        lines.append(f"seed {job.seed}: " + ", ".join(f"{k} {values[k]:.3g}" for k in (
            "pi_ratio", "wasserstein", "reach_time", "speed", "off_track", "kl", "angular_drift") if k in values))
    return f"{jobs[0].task.name}/{jobs[0].variant}: " + "; ".join(lines)


def kl_matrix(runs: list[dict], table, settings: MetricsSettings):
    """KR24's KL heatmap data: KL(quiescent || active) for every pair of (task/variant) runs of the
    same seed, plus the untrained-network and uniform baselines as extra quiescent rows.

    Each run's own KL (the diagonal) and its baselines are the ``kl``, ``kl_untrained`` and
    ``kl_uniform`` of the metrics stage, read from ``table`` (not computed again); only the pairs
    across runs are computed here, with ``settings`` and a seed derived from the pair.

    Args:
        runs: dicts with ``task`` and ``variant`` (names), ``seed``, ``quiescent`` (B, T, 2) replay
            positions after burn-in and ``active`` (P, T', 2) active-run positions.
        table: long metrics table (task, variant, seed, metric, value).
        settings: the metrics settings (KL draws and KDE points).

    Returns:
        A long table with columns quiescent, active, seed, kl (nats).
    """
    import pandas as pd

    own = table.set_index(["task", "variant", "seed", "metric"])["value"]
    rows = []
    for act in runs:
        name = f"{act['task']}/{act['variant']}"
        for q in runs:
            if q["seed"] != act["seed"]:
                continue
            q_name = f"{q['task']}/{q['variant']}"
            if q is act:
                kl = float(own[(act["task"], act["variant"], act["seed"], "kl")])
            else:
                kl = kde_kl(q["quiescent"], act["active"], n=settings.kl_samples, max_points=settings.kde_points,
                            seed=derive_seed("kl_matrix", q_name, name, act["seed"]))
            rows.append(dict(quiescent=q_name, active=name, seed=act["seed"], kl=kl))
        for baseline in ("untrained", "uniform"):
            key = (act["task"], act["variant"], act["seed"], f"kl_{baseline}")
            if key in own.index:
                rows.append(dict(quiescent=baseline, active=name, seed=act["seed"], kl=float(own[key])))
    return pd.DataFrame(rows)


# --- Replay dynamics as experimenters measure them (docs/replay-dynamics.md; rnnreplay.dynamics) -----
# On replay after burn-in, for every task: positions as decoded, headings unwrapped along the ring
# (distances travelled), cells of the ring for the head-direction task's coverage.

def _cached(run: ReplayRun, key: str, compute: Callable):
    """A value computed once per run, kept on the run as its cached properties are."""
    if key not in run.__dict__:
        run.__dict__[key] = compute()
    return run.__dict__[key]


def _settled_travel(run: ReplayRun) -> np.ndarray:
    """(B, T - burn, D) float64 replay after burn-in on which displacements are measured."""
    return _cached(run, "_settled_travel", lambda: np.asarray(run.travel[0][:, run.burn:], dtype=np.float64))


def _curve_lags(settings: MetricsSettings) -> np.ndarray:
    from . import dynamics

    return dynamics.log_lags(1, settings.displacement_max_lag, dynamics.CURVE_POINTS)


def _coverage_axis(settings: MetricsSettings) -> np.ndarray:
    from . import dynamics

    return dynamics.COVERAGE_CURVE


AXES["lag"] = (_curve_lags, {"units": "1", "long_name": "lag (replay steps)"})
AXES["distance"] = (_coverage_axis, {"units": "1", "long_name": "distance travelled (environment extents)"})


def _events(run: ReplayRun) -> dict:
    """:func:`rnnreplay.dynamics.classify_events` of the run: ``dynamics_events`` windows of
    ``dynamics_steps`` steps, drawn from a generator seeded by (the run's seed, 9)."""
    from . import dynamics

    s = run.settings
    return _cached(run, "_events", lambda: dynamics.classify_events(
        _settled_travel(run), s.dynamics_events, s.dynamics_steps, np.random.default_rng([run.seed, 9])))


def _coverage(run: ReplayRun) -> np.ndarray:
    """(1 + K, B) coverage per trajectory at ``coverage_distance`` and along the coverage curve."""
    from . import dynamics

    def compute():
        s = run.settings
        grid = dynamics.environment_grid(run.task, s.coverage_bins, run.true_paths)
        distances = np.concatenate([[s.coverage_distance], dynamics.COVERAGE_CURVE]) * grid.extent
        return dynamics.coverage_curve(_settled_travel(run), grid.index(run.settled), int(np.prod(grid.shape)),
                                       grid.n_inside, distances, s.speed_lag)

    return _cached(run, "_coverage", compute)


def _nanmean(x, axis=None):
    """Mean over the finite values (NaN where there are none), without numpy's warning."""
    x = np.asarray(x, dtype=float)
    ok = np.isfinite(x)
    total, n = np.where(ok, x, 0.0).sum(axis), ok.sum(axis)
    return np.where(n > 0, total / np.maximum(n, 1), np.nan)


@metric("displacement_exponent", "1", "slope of log mean displacement against log lag over alpha_lags, after burn-in",
        table=True, title="displacement exponent α")
def _displacement_exponent(run):
    from .dynamics import displacement_exponent

    return displacement_exponent(_settled_travel(run), run.settings.alpha_lags)


@metric("mean_displacement", "length", "mean displacement ||x(t+k) - x(t)|| against lag k, after burn-in",
        dims=("lag",))
def _mean_displacement(run):
    from .dynamics import mean_displacement

    return _cached(run, "_md_curve", lambda: mean_displacement(_settled_travel(run), _curve_lags(run.settings)))


@metric("displacement_slope", "1", "local slope d log mean displacement / d log lag", dims=("lag",))
def _displacement_slope(run):
    from .dynamics import local_slopes

    return local_slopes(_curve_lags(run.settings), _mean_displacement(run))


def _share_metric(model: str, table: bool = False):
    metric(f"share_{model}", "1", f"fraction of fitted replay events whose best model (BIC) is {model}",
           table=table, title=f"{model} share")(lambda run: _share(run, model))


def _share(run, model):
    from .dynamics import model_shares

    return model_shares(_events(run)["best"])[model]


for _model in ("stationary", "diffusion", "momentum"):
    _share_metric(_model, table=_model == "momentum")


@metric("momentum_persistence", "1",
        "median over fitted events of the momentum model's persistence phi (= 1 - lambda_v)")
def _momentum_persistence(run):
    phi = _events(run)["persistence"]
    phi = phi[np.isfinite(phi)]
    return float(np.median(phi)) if len(phi) else math.nan


@metric("coverage", "1", "fraction of the environment's grid cells visited once the replay has travelled "
        "coverage_distance environment extents (mean over trajectories that travel that far)", table=True)
def _coverage_metric(run):
    return float(_nanmean(_coverage(run)[0]))


@metric("coverage_reached", "1", "fraction of replay trajectories that travel coverage_distance environment extents")
def _coverage_reached(run):
    return float(np.isfinite(_coverage(run)[0]).mean())


@metric("coverage_curve", "1", "fraction of the environment's grid cells visited against distance travelled "
        "(mean over trajectories that travel that far)", dims=("distance",))
def _coverage_curve(run):
    return _nanmean(_coverage(run)[1:], axis=1)


@metric("hover_fraction", "1", "fraction of one-step lengths at most hover_threshold x the noise's RMS step")
def _hover_fraction(run):
    from .dynamics import hover_fraction

    return hover_fraction(_settled_travel(run), run.settings.hover_threshold)
