"""Replay (quiescence): zero input, doubled noise variance, decoded every step (KR24)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch
import xarray as xr

from . import progress
from .checks import read_model, read_paths, stage_outputs
from .config import derive_seed
from .io import provenance, write_dataset
from .jobs import Mechanisms, ReplayJob, ReplaySettings
from .model import CellParams, make_cell
from .tasks import Task


def load_for_replay(state_dict: dict, task: Task, params: CellParams) -> torch.nn.Module:
    """A trained model's weights in a cell with the replay knobs ``params`` (which may differ
    from the training knobs for replay-only variants)."""
    model = make_cell(n_in=task.input_dim, n_out=task.code_dim, params=params)
    model.load_state_dict(state_dict)
    return model.eval()


def run_active(
    model: torch.nn.Module,
    task: Task,
    paths: np.ndarray,
    mechanisms: Mechanisms,
    seed_parts: tuple,
    device: torch.device = torch.device("cpu"),
) -> np.ndarray:
    """The "active" condition [KR24]: the network driven by real paths, with its training noise.

    Args:
        model: the model carrying its training knobs.
        task: the task (inputs, start codes, decoding).
        paths: (P, T+1, D) real paths (the held-out test split).
        mechanisms: the mechanisms that act in training (they act here too).
        seed_parts: (task, seed) from which the noise seed derives.
        device: where to run.

    Returns:
        (P, T, D) positions decoded from the readout after each step.
    """
    batch = task.batch_from_positions(paths)
    gen = torch.Generator(device=device).manual_seed(derive_seed(*seed_parts, "active") % 2**63)
    model = model.to(device)
    with torch.inference_mode():
        readout = model(torch.from_numpy(batch.inputs).to(device), torch.from_numpy(batch.start_code).to(device),
                        adaptation=mechanisms.adaptation, momentum=mechanisms.momentum, generator=gen)
    return task.decode(readout.cpu().numpy())


def sample_replay(
    model: torch.nn.Module,
    task: Task,
    start_positions: np.ndarray,
    settings: ReplaySettings,
    seed_parts: tuple,
    device: torch.device = torch.device("cpu"),
    log=None,
) -> dict:
    """Run the network without input from encoded start states.

    Args:
        model: trained model carrying the replay knobs.
        task: the task (encoding of starts, decoding of readouts).
        start_positions: (S, D) start positions; trajectory i starts from row i mod S.
        settings: ``trajectories``, ``steps``, ``noise_multiplier`` (sqrt 2 doubles the noise
            variance [KR24]) and ``hidden_every`` (store every k-th hidden state; 0 = none).
        seed_parts: (task, seed) from which the noise seed derives (shared by all variants).
        device: where to run.
        log: called with about ten plain progress lines when stderr is not a terminal (a tqdm
            bar is drawn when it is).

    Returns:
        dict with ``position`` (B, T, D) decoded positions, ``readout`` (B, T // k, C) and
        ``hidden`` (B, T // k, N) at every k-th step (None when k = 0), ``hidden_steps``
        (T // k,) and ``start`` (B, D).
    """
    n, steps = settings.trajectories, settings.steps
    start = np.asarray(start_positions)[np.arange(n) % len(start_positions)]
    start_code = torch.from_numpy(task.encode(start)).to(device)
    gen = torch.Generator(device=device).manual_seed(derive_seed(*seed_parts, "replay") % 2**63)
    model = model.to(device)
    with torch.inference_mode():
        readout, hidden = model(
            None, start_code, steps=steps, noise_multiplier=settings.noise_multiplier, generator=gen,
            return_hidden=True,
            progress=lambda n: progress.steps(n, "replay", log),
        )
    readout = readout.cpu().numpy()
    every = int(settings.hidden_every)
    hidden_steps = np.arange(every, steps + 1, every) if every > 0 else np.arange(0)
    return {
        "position": task.decode(readout),
        "readout": readout[:, hidden_steps - 1] if every > 0 else None,
        "hidden": hidden[:, hidden_steps - 1].cpu().numpy() if every > 0 else None,
        "hidden_steps": hidden_steps,
        "start": start.astype(np.float32),
    }


def replay(job: ReplayJob, state_dict: dict, test_paths: np.ndarray, device: torch.device = torch.device("cpu"),
           log=None) -> xr.Dataset:
    """The replay stage: ``job``'s trained weights ``state_dict`` run without input from the starts
    of the held-out ``test_paths`` (P, T+1, D), decoded every step, as a dataset (see
    :func:`replay_dataset`), with the active run: the network driven by the test paths with its
    training knobs (its path-integration error, and KR24's active distribution). With
    ``job.baselines``, also KR24's untrained-network replay."""
    task = job.task.build()
    seed_parts = job.model.seed_parts
    result = sample_replay(load_for_replay(state_dict, task, job.cell), task, test_paths[:, 0], job.settings,
                           seed_parts, device=device, log=log)
    active = run_active(load_for_replay(state_dict, task, job.model.cell), task, test_paths, job.model.mechanisms,
                        seed_parts, device=device)
    untrained = None
    if job.baselines:
        from .train import initial_model

        init = initial_model(job.model, task).state_dict()
        untrained = sample_replay(load_for_replay(init, task, job.cell), task, test_paths[:, 0],
                                  dataclasses.replace(job.settings, hidden_every=0), seed_parts,
                                  device=device)["position"]
    attrs = provenance(f"replay {job.task.name}/{job.variant}", job, job.seed)
    return replay_dataset(result, task, attrs, active, untrained)


@stage_outputs("outs")
def replay_file(jobs: list[ReplayJob], models: list, test_paths: str | Path, outs: list,
                device: torch.device = torch.device("cpu"), log=None) -> str:
    """The replay stage: :func:`replay` of each job (the seeds of one variant) from its model
    file in ``models``, starting from the test paths in ``test_paths``, written to its file in
    ``outs``. Returns a line for the log. Every input (against its job) and the output paths are
    checked before any replay (:mod:`rnnreplay.checks`)."""
    if not len(jobs) == len(models) == len(outs):
        raise ValueError(f"replay: {len(jobs)} jobs need as many --model and --out files "
                         f"(got {len(models)}, {len(outs)})")
    paths = read_paths(test_paths, jobs[0].task, "test")["position"].values
    states = [read_model(model, job.model, job.cell) for job, model in zip(jobs, models)]
    for job, state, out in zip(jobs, states, outs):
        ds = replay(job, state, paths, device=device, log=log)
        write_dataset(ds, out)
    return (f"{jobs[0].task.name}/{jobs[0].variant} seeds {' '.join(str(j.seed) for j in jobs)}: "
            f"{ds.sizes['trajectory']} x {ds.sizes['step']} steps each -> {', '.join(map(str, outs))}")


def replay_dataset(result: dict, task: Task, attrs: dict, active: np.ndarray | None = None,
                   untrained: np.ndarray | None = None) -> xr.Dataset:
    """The replay result as a CF-style dataset (dims trajectory, step, space, hidden_step, unit,
    code), with optional KL baselines: ``active`` (P, T', D) positions of the network driven by
    real paths, ``untrained`` (B, T, D) replay positions of the same network before training.

    Positions are stored every step; hidden states and (for tasks whose code is not the position)
    the readout only every ``replay.hidden_every`` steps, on the ``hidden_step`` axis, which keeps
    replay files small (<= 50 MB at 200 x 1000 steps and 512 units with hidden_every 10)."""
    n, steps, d = result["position"].shape
    pos_units = task.length_unit
    data = {
        "position": (("trajectory", "step", "space"), result["position"],
                     {"units": pos_units, "long_name": "decoded replay position"}),
        "start_position": (("trajectory", "space"), result["start"],
                           {"units": pos_units, "long_name": "position whose code seeded the replay"}),
    }
    if active is not None:
        data["active_position"] = (("active_trajectory", "active_step", "space"), active.astype(np.float32),
                                   {"units": pos_units, "long_name": "decoded position, network driven by test paths"})
    if untrained is not None:
        data["untrained_position"] = (("trajectory", "step", "space"), untrained.astype(np.float32),
                                      {"units": pos_units, "long_name": "decoded replay position of the untrained network"})
    coords = {
        "trajectory": ("trajectory", np.arange(n), {"units": "1", "long_name": "replay trajectory index"}),
        "step": ("step", np.arange(1, steps + 1), {"units": "1", "long_name": "replay step"}),
        "space_name": ("space", ["x", "y", "z"][:d], {"long_name": "spatial axis"}),  # a CF label
    }
    if result["hidden"] is not None:
        data["hidden"] = (("trajectory", "hidden_step", "unit"), result["hidden"],
                          {"units": "1", "long_name": "hidden state r_t (subsampled in time)"})
        coords["hidden_step"] = ("hidden_step", result["hidden_steps"],
                                 {"units": "1", "long_name": "replay step of stored hidden state"})
        coords["unit"] = ("unit", np.arange(result["hidden"].shape[-1]), {"units": "1", "long_name": "hidden unit"})
        if task.code_dim != task.space_dim or type(task).encode is not Task.encode:
            # Subsampled like the hidden states: every step of a 512-cell code is ~400 MB per file.
            data["readout"] = (("trajectory", "hidden_step", "code"), result["readout"],
                               {"units": "1", "long_name": "network readout in target-code space (subsampled in time)"})
    return xr.Dataset(data, coords=coords, attrs=attrs)
