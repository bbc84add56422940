"""The figure stage: each figure drawn from its input files (:func:`draw`, :data:`FIGURES`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..checks import stage_outputs
from .claims import verdicts
from .kr24 import density_grid, kl_heatmap, kr24_summary
from .learning import loss_curves, pi_error
from .replay import code_space, heading_ring, metrics_by_variant, momentum_sweep, replay_examples
from .replay_dynamics import replay_compression, replay_coverage, replay_displacement, replay_model_shares


def _read_runs(paths: list[str], required: tuple[str, ...]):
    """(job, dataset) of each replay file, in order, and the task of the first file (the figures
    that use it draw one task's files)."""
    from ..checks import read_job_file
    from ..jobs import ReplayJob

    runs = [read_job_file(path, ReplayJob, required) for path in paths]
    return runs, runs[0][0].task.build() if runs else None


def _name(job) -> str:
    return f"{job.task.name}/{job.variant}"


def _examples(inputs, out, n_show, **_):
    runs, task = _read_runs(inputs, ("position",))
    replay_examples(task, {job.variant: ds["position"].values[:n_show] for job, ds in runs}, out, n_show=n_show)


def _metrics(inputs, out, task, metrics, **_):
    from ..metrics import metric_names

    metrics_by_variant(pd.read_csv(inputs[0]), task, metrics or metric_names(table=True), out)


def _sweep(inputs, out, friction, metrics, **_):
    from ..metrics import metric_names

    momentum_sweep(pd.read_csv(inputs[0]), friction, metrics or metric_names(figure="momentum_sweep"), out)


def _kl(inputs, out, metrics_table, settings, **_):
    from ..jobs import MetricsSettings
    from ..metrics import kl_matrix

    settings = MetricsSettings(**settings)
    runs = [dict(task=job.task.name, variant=job.variant, seed=job.seed,
                 quiescent=ds["position"].values[:, min(settings.burn_in, ds.sizes["step"] - 2):],
                 active=ds["active_position"].values)
            for job, ds in _read_runs(inputs, ("position", "active_position"))[0]]
    kl_heatmap(kl_matrix(runs, pd.read_csv(metrics_table), settings), out)


def _densities(inputs, out, settings, **_):
    runs, task = _read_runs(inputs, ("position", "active_position"))
    burn = settings["burn_in"]
    density_grid(task, {_name(job): (ds["active_position"].values, ds["position"].values[:, burn:])
                        for job, ds in runs}, out)


def _kr24(inputs, out, tasks, **_):
    kr24_summary(pd.read_csv(inputs[0]), tasks, out)


def _ring(inputs, out, n_show, **_):
    runs, _ = _read_runs(inputs, ("position",))
    heading_ring({_name(job): ds["position"].values for job, ds in runs}, out, n_show=n_show)


def _code(inputs, out, n_show, test_paths, **_):
    from ..checks import read_paths

    runs, task = _read_runs(inputs, ("position", "readout"))
    replays = {job.variant: (ds["position"].values[:n_show], ds["readout"].values[:n_show]) for job, ds in runs}
    true_code = task.encode(read_paths(test_paths[0], runs[0][0].task, "test")["position"].values)
    code_space(task, replays, true_code, out, n_show=min(n_show, 3))


def _loss(inputs, out, **_):
    from ..checks import read_job_file
    from ..jobs import TrainJob

    frames = []
    for path in inputs:
        job, ds = read_job_file(path, TrainJob, ("loss",))
        frames.append(pd.DataFrame(dict(task=job.task.name, variant=job.variant, seed=job.seed,
                                        step=ds["step"].values, loss=ds["loss"].values)))
    loss_curves(pd.concat(frames, ignore_index=True), out)


def _pi_error(inputs, out, test_paths, gate=None, **_):
    from ..checks import read_job_file, read_paths
    from ..jobs import SynthesisJob
    from ..learning import chance_error, path_integration_error

    runs = _read_runs(inputs, ("active_position",))[0]
    given = {read_job_file(path, SynthesisJob)[0].task.name: path for path in test_paths or []}
    tests = {}
    for name, task in {job.task.name: job.task for job, _ in runs}.items():
        if name not in given:
            raise ValueError(f"--test-paths: none of {list(map(str, test_paths or []))} holds the test paths of task "
                             f"{name}, which the replay files need")
        tests[name] = read_paths(given[name], task, "test")["position"].values
    frames, chance, units = [], {}, {}
    for job, ds in runs:
        task, true = job.task.build(), tests[job.task.name]
        error = path_integration_error(task, ds["active_position"].values, true).mean(0)  # (T,)
        frames.append(pd.DataFrame(dict(task=job.task.name, variant=job.model.variant, seed=job.seed,
                                        step=np.arange(1, len(error) + 1), error=error)))
        chance[job.task.name], units[job.task.name] = chance_error(task, true), task.length_unit
    pi_error(pd.concat(frames, ignore_index=True), chance, gate, units, out)


def _from_table(draw_fn):
    """A figure drawn from one CSV table (the first input)."""
    return lambda inputs, out, **_: draw_fn(pd.read_csv(inputs[0]), out)


FIGURES = {"pi_error": _pi_error, "examples": _examples, "metrics": _metrics, "sweep": _sweep, "loss": _loss, "kl": _kl,
           "densities": _densities, "kr24": _kr24, "ring": _ring, "code": _code,
           "displacement": _from_table(replay_displacement), "model_shares": _from_table(replay_model_shares),
           "coverage": _from_table(replay_coverage), "compression": _from_table(replay_compression),
           "verdicts": _from_table(verdicts)}


@stage_outputs("out")
def draw(kind: str, inputs: list[str], out: str, **options) -> str:
    """The figure stage: figure ``kind`` (a key of :data:`FIGURES`) from its input files, written
    to ``out`` (PNG, with a PDF beside it). ``options``: task, tasks, metrics, n_show,
    test_paths, metrics_table, friction, settings, as each figure needs. Returns a line for the log."""
    FIGURES[kind](inputs, out, **options)
    return f"{kind} from {len(inputs)} input files -> {out}"
