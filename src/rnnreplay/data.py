"""Data synthesis: a task's paths as an xarray Dataset (the ``synthesize`` stage)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from .checks import stage_outputs
from .io import provenance, write_dataset
from .jobs import SynthesisJob
from .tasks import Task


def synthesize(job: SynthesisJob) -> xr.Dataset:
    """Draw the paths of ``job``: ``job.trajectories`` paths of ``job.steps`` steps, from a
    generator seeded by (task, seed, "train_paths") for a training pool, (task, "test") for the
    shared held-out test split.

    Returns:
        Dataset with ``position`` (trajectory, step, space).
    """
    from .config import derive_seed

    task = job.task.build()
    stream = derive_seed(job.task.name, "test") if job.split == "test" else derive_seed(job.task.name, job.seed,
                                                                                          "train_paths")
    position = task.sample_positions(job.trajectories, job.steps, np.random.default_rng(stream))
    return paths_dataset(task, position, f"{job.task.name} {job.split} paths", job, job.seed)


@stage_outputs("out")
def synthesize_file(job: SynthesisJob, out: str | Path) -> str:
    """The synthesize stage: :func:`synthesize` written to ``out``; returns a line for the log."""
    ds = synthesize(job)
    write_dataset(ds, out)
    return f"{job.task.name} {job.split}: {ds.sizes['trajectory']} paths x {ds.sizes['step'] - 1} steps -> {out}"


def paths_dataset(task: Task, position: np.ndarray, title: str, job, seed) -> xr.Dataset:
    """Wrap positions (B, T+1, D) as a CF-style dataset."""
    ds = xr.Dataset(
        {
            "position": (
                ("trajectory", "step", "space"),
                position.astype(np.float32),
                {"units": task.length_unit, "long_name": "latent position s_t"},
            )
        },
        coords={
            "trajectory": ("trajectory", np.arange(position.shape[0]), {"long_name": "trajectory index", "units": "1"}),
            "step": ("step", np.arange(position.shape[1]), {"long_name": "time step (0 = start)", "units": "1"}),
            # names as a CF label (auxiliary coordinate): CF coordinate variables must be numeric
            "space_name": ("space", ["x", "y", "z"][: position.shape[2]] if position.shape[2] <= 3
                           else [f"d{i}" for i in range(position.shape[2])], {"long_name": "spatial axis"}),
        },
        attrs=provenance(title, job, seed),
    )
    return ds
