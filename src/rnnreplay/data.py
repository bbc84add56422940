"""Data synthesis: a task's paths as an xarray Dataset (the ``synthesize`` stage)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from .io import provenance
from .tasks import Task, make_task


def task_from_spec(task_spec: dict) -> Task:
    """Build the task described by a task spec (see :func:`rnnreplay.config.task_spec`)."""
    return make_task(task_spec["kind"], **task_spec["params"])


def synthesize(task_spec: dict, split: str, seed: int | None, stream_seed: int) -> xr.Dataset:
    """Draw a split's paths.

    Args:
        task_spec: the task spec (``kind``, ``params``, ``data`` sizes).
        split: ``train`` (``data.train_trajectories`` paths of ``data.steps`` steps) or ``test``
            (``data.test_trajectories`` paths of ``data.test_steps`` steps).
        seed: the experiment seed recorded in the file (None for the shared test split).
        stream_seed: the generator's seed (derived, see :func:`rnnreplay.config.derive_seed`).

    Returns:
        Dataset with ``position`` (trajectory, step, space).
    """
    task = task_from_spec(task_spec)
    data = task_spec["data"]
    n, steps = (
        (data["train_trajectories"], data["steps"])
        if split == "train"
        else (data["test_trajectories"], data["test_steps"])
    )
    position = task.sample_positions(n, steps, np.random.default_rng(stream_seed))
    return paths_dataset(task, position, f"{task_spec['task']} {split} paths", task_spec, seed)


def paths_dataset(task: Task, position: np.ndarray, title: str, spec: dict, seed) -> xr.Dataset:
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
        attrs=provenance(title, spec, seed),
    )
    return ds
