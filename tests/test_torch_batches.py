"""Training batches built in torch (rnnreplay.batches, what a GPU run uses) are the numpy batches:
the same paths and masks from the same numpy stream, and every task's encoding (place cells,
head-direction cells, the rat's activity code) equal to numpy's to float32 rounding. Run on CPU.

Tolerance: |torch - numpy| <= 4 float32 ulps of the code's largest value (the exponentials,
cosines and the softmax's sum round differently in torch and numpy; measured at most 2.5 ulps).
The rat's activity input is a difference of codes, so it carries the code's rounding too."""

import numpy as np
import pytest
import torch

from rnnreplay.batches import DeviceBatches, use_torch_batches
from rnnreplay.jobs import Mechanisms, TaskSetup, TrainJob, TrainSettings
from rnnreplay.model import CellParams
from rnnreplay.tasks import make_task
from rnnreplay.train import _batch, set_precision, train_ensemble

CASES = {  # every task kind, with each option that changes its code or input
    "tmaze": ("tmaze", {}), "triangle_track": ("triangle", {"mode": "track"}),
    "triangle_arena": ("triangle", {"mode": "arena"}), "openfield": ("openfield", {}),
    "openfield_biased": ("openfield", {"biased": True}), "headdirection": ("headdirection", {}),
    "headdirection_biased": ("headdirection", {"biased": True}), "rat": ("rat", {}),
    "rat_velocity": ("rat", {"input": "velocity"}),
}
CELL_CODED = {"openfield", "openfield_biased", "headdirection", "headdirection_biased", "rat", "rat_velocity"}


def tolerance(code: np.ndarray) -> float:
    return 4 * float(np.spacing(np.float32(np.abs(code).max())))


@pytest.mark.parametrize("case", CASES)
def test_torch_encoding_equals_numpy_to_float32_rounding(case):
    kind, params = CASES[case]
    task = make_task(kind, **params)
    position = task.sample_positions(32, 40, np.random.default_rng(3))
    ref = task.batch_from_positions(position)
    got = task.torch_batch(torch.from_numpy(position))
    atol = tolerance(ref.targets)
    for name, a, b in zip(("inputs", "targets", "start_code"), (ref.inputs, ref.targets, ref.start_code), got):
        b = b.numpy()
        assert b.shape == a.shape and b.dtype == np.float32 and b.flags.c_contiguous, name
        if case in CELL_CODED:
            np.testing.assert_allclose(b, a, rtol=0, atol=atol, err_msg=f"{case} {name}")
        else:  # the position is the code: plain subtraction, bit for bit
            assert np.array_equal(a, b), (case, name)


def _settings(**kw):
    return TrainSettings(steps=4, batch=8, masking=3.0, curriculum=[[2, 10]], **kw)


@pytest.mark.parametrize("case", ["openfield", "headdirection", "rat"])
def test_device_batches_draw_the_numpy_paths_and_masks(case):
    """Step by step, each member's torch batch has the numpy batch's shape (curriculum cut), zeros
    (mask) and values, and leaves its generator in the same state."""
    kind, params = CASES[case]
    task = make_task(kind, **params)
    pools = [task.sample_positions(50, 20, np.random.default_rng(s)) for s in range(3)]
    settings = _settings()
    batches = DeviceBatches(task, pools, settings, torch.device("cpu"))
    rngs_np = [np.random.default_rng(10 + s) for s in range(3)]
    rngs_t = [np.random.default_rng(10 + s) for s in range(3)]
    for step in range(4):
        got = batches(rngs_t, step)
        for pool, rng, member in zip(pools, rngs_np, got):
            ref = _batch(task, pool, rng, settings, step, settings.batch, torch.device("cpu"))
            for a, b in zip(ref, member):
                assert a.shape == b.shape
                np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=0, atol=tolerance(ref[1].numpy()))
            assert torch.equal(ref[0] == 0, member[0] == 0)  # the same inputs withheld
    for a, b in zip(rngs_np, rngs_t):
        assert a.bit_generator.state == b.bit_generator.state


def _jobs(kind, params, **settings):
    task = TaskSetup(kind, kind, params)
    cell = CellParams(hidden=16, leak=0.2, sigma=0.05)
    return [TrainJob(task, "leak", s, cell, Mechanisms(), _settings(**settings)) for s in range(2)]


def test_torch_batches_train_the_tmaze_bit_for_bit_as_numpy():
    """A position-coded task: the torch batches are the numpy batches exactly, so training is too."""
    jobs = _jobs("tmaze", {})
    pools = [jobs[0].task.build().sample_positions(40, 20, np.random.default_rng(s)) for s in range(2)]
    ref_models, ref_losses = train_ensemble(jobs, pools, log=lambda m: None, batches="numpy")
    models, losses = train_ensemble(jobs, pools, log=lambda m: None, batches="torch")
    for a, b in zip(ref_losses, losses):
        assert np.array_equal(a["loss"].values, b["loss"].values)
    for a, b in zip(ref_models, models):
        assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_torch_batches_train_the_open_field_as_numpy_to_rounding():
    jobs = _jobs("openfield", {"n_cells": 32})
    pools = [jobs[0].task.build().sample_positions(40, 20, np.random.default_rng(s)) for s in range(2)]
    _, ref = train_ensemble(jobs, pools, log=lambda m: None, batches="numpy")
    _, got = train_ensemble(jobs, pools, log=lambda m: None, batches="torch")
    for a, b in zip(ref, got):
        np.testing.assert_allclose(b["loss"].values, a["loss"].values, rtol=1e-4)


def test_auto_uses_torch_batches_on_cuda_only():
    assert not use_torch_batches("auto", torch.device("cpu"))
    assert use_torch_batches("auto", torch.device("cuda"))
    assert use_torch_batches("torch", torch.device("cpu")) and not use_torch_batches("numpy", torch.device("cuda"))
    with pytest.raises(ValueError, match="batch encoding"):
        use_torch_batches("gpu", torch.device("cpu"))


def test_precision_changes_nothing_on_cpu():
    before = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32,
              torch.get_float32_matmul_precision())
    set_precision("tf32", torch.device("cpu"))
    assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32,
            torch.get_float32_matmul_precision()) == before
    with pytest.raises(ValueError, match="precision"):
        set_precision("bf16", torch.device("cpu"))


