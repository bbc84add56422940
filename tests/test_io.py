"""On-disk formats: CF attributes, provenance, atomic writes, clear errors on bad files."""

import dataclasses
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr

from rnnreplay import io
from rnnreplay.data import synthesize
from rnnreplay.jobs import SynthesisJob, TaskSetup, from_json, to_json
from rnnreplay.model import CellParams, NoisyRNN

TMAZE = TaskSetup("tmaze", "tmaze")
JOB = SynthesisJob(TMAZE, "train", trajectories=8, steps=10, seed=3)


def test_paths_file_has_named_dims_units_and_provenance(tmp_path):
    path = tmp_path / "paths.nc"
    io.write_dataset(synthesize(JOB), path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = xr.open_dataset(path)
    with ds:
        assert ds["position"].dims == ("trajectory", "step", "space")
        assert ds["position"].shape == (8, 11, 2)
        assert ds["position"].dtype == np.float32
        for var in ds.data_vars.values():
            assert {"units", "long_name"} <= set(var.attrs)
        assert ds.attrs["Conventions"] == "CF-1.8"
        assert ds.attrs["seed"] == 3
        assert "rnnreplay" in ds.attrs["source"] and "git" in ds.attrs["source"]
        assert from_json(ds.attrs["job_json"]) == JOB and io.job_of(ds) == JOB
        assert "config_json" not in ds.attrs  # the run's config: only when the workflow runs the job
        assert ds["position"].encoding["zlib"] and ds["position"].encoding["shuffle"]


def test_write_refuses_variables_without_units(tmp_path):
    ds = xr.Dataset({"x": ("t", np.zeros(3))})
    with pytest.raises(ValueError, match="lacks attributes"):
        io.write_dataset(ds, tmp_path / "x.nc")
    assert list(tmp_path.iterdir()) == []  # nothing half-written left behind


def test_read_dataset_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.nc"):
        io.read_dataset(tmp_path / "missing.nc")
    junk = tmp_path / "junk.nc"
    junk.write_bytes(b"not a netcdf file at all")
    with pytest.raises(ValueError, match="junk.nc"):
        io.read_dataset(junk)
    good = tmp_path / "good.nc"
    io.write_dataset(synthesize(dataclasses.replace(JOB, split="test", seed=None)), good)
    with pytest.raises(ValueError, match="missing variables"):
        io.read_dataset(good, required=("hidden",))


def test_model_roundtrip_is_weights_only(tmp_path):
    model = NoisyRNN(2, 2, CellParams(hidden=8))
    from rnnreplay.jobs import Mechanisms, TrainJob, TrainSettings

    job = TrainJob(TMAZE, "leak", 1, CellParams(hidden=8), Mechanisms(), TrainSettings())
    io.save_model(tmp_path / "m.pt", model, job)
    state, saved = io.load_model_file(tmp_path / "m.pt")
    assert saved == job and to_json(saved) == to_json(job)
    for k, v in model.state_dict().items():
        torch.testing.assert_close(state[k], v)
    torch.save({"state_dict": state, "evil": object()}, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="bad.pt"):
        io.load_model_file(tmp_path / "bad.pt")


def test_replay_file_stores_a_high_dimensional_readout_subsampled():
    """sample_replay keeps the readout of every k-th step (like the hidden states); the file
    stores it on the hidden_step axis, and not at all when no hidden states are kept."""
    from rnnreplay.model import CellParams, NoisyRNN
    from rnnreplay.jobs import ReplaySettings
    from rnnreplay.replay import replay_dataset, sample_replay
    from rnnreplay.tasks import Task

    class Code(Task):
        code_dim = 8

        def encode(self, position):
            return np.repeat(np.asarray(position, np.float32)[..., :1], 8, -1)

        def decode(self, code):
            return np.repeat(np.asarray(code)[..., :1], 2, -1)

    task, steps, every = Code(), 20, 5
    model = NoisyRNN(2, 8, CellParams(hidden=4, sigma=0.0))
    cfg = ReplaySettings(trajectories=3, steps=steps, noise_multiplier=1.0, hidden_every=every)
    result = sample_replay(model, task, np.zeros((1, 2), np.float32), cfg, ("t", 0))
    full = model(torch.zeros(3, steps, 2), torch.from_numpy(task.encode(np.zeros((3, 2), np.float32)))).detach()
    ds = replay_dataset(result, task, {})
    assert ds["readout"].dims == ("trajectory", "hidden_step", "code")
    np.testing.assert_allclose(ds["readout"].values, full.numpy()[:, every - 1::every], atol=1e-6)
    result = sample_replay(model, task, np.zeros((1, 2), np.float32), dataclasses.replace(cfg, hidden_every=0), ("t", 0))
    assert "readout" not in replay_dataset(result, task, {})


def _open_files() -> set[str]:
    fds = Path("/proc/self/fd")
    return {os.path.realpath(fd) for fd in fds.iterdir()} if fds.exists() else set()


def test_read_dataset_closes_its_file_so_it_can_be_overwritten(tmp_path):
    """HPC hygiene: no handle (and no HDF5 lock) stays on a file after it is read."""
    path = tmp_path / "paths.nc"
    io.write_dataset(synthesize(JOB), path)
    ds = io.read_dataset(path, required=("position",))
    assert str(path.resolve()) not in _open_files()
    io.write_dataset(synthesize(dataclasses.replace(JOB, seed=4)), path)  # overwrite while ``ds`` is alive
    new = io.read_dataset(path)
    assert not np.array_equal(ds["position"].values, new["position"].values)
    assert str(path.resolve()) not in _open_files()
