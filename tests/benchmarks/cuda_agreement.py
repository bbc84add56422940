"""CUDA against CPU: the same networks, batches and training give the same numbers to float32
tolerance. Used by bench_gpu.py (a section of its report) and tests/test_cuda_agreement.py (which
runs it on CUDA where there is one, and on CPU against CPU everywhere, so the code path is tested).

Three checks, each a row with the largest difference, its tolerance and whether it holds:

- ``encoding``: every task's torch batch on the device against the numpy batch on the CPU;
  tolerance 8 float32 ulps of the code's largest value (exp, cos and the softmax's sum round
  differently on a GPU; on CPU 2.5 ulps were measured).
- ``step``: one forward + MSE + backward of each cell (leak, adaptation, momentum, both, no leak,
  GRU) with noise off (the two devices' random streams differ), outputs and every gradient against
  the CPU's; tolerance 1e-4 of the largest value (float32 sums in another order, through 30 steps
  of recurrence).
- ``training``: 30 Adam steps of a noiseless open-field network, batches built as
  ``rnnreplay train`` builds them on each device (numpy on CPU, torch on CUDA): the loss curves
  agree to a relative 1e-3 (rounding differences grow through training; a wrong batch, mask or
  gradient gives differences of order 1).

Float32 arithmetic throughout (``precision: float32``): TF32 would need looser tolerances.
"""

from __future__ import annotations

import numpy as np
import torch

from rnnreplay.jobs import Mechanisms, TaskSetup, TrainJob, TrainSettings
from rnnreplay.model import CellParams, make_cell
from rnnreplay.tasks import make_task
from rnnreplay.train import train_ensemble

TASKS = {"tmaze": ("tmaze", {}), "triangle_arena": ("triangle", {"mode": "arena"}),
         "openfield": ("openfield", {"n_cells": 64}),
         "openfield_biased": ("openfield", {"n_cells": 64, "biased": True}),
         "headdirection": ("headdirection", {"n_cells": 64}),
         "headdirection_biased": ("headdirection", {"n_cells": 64, "biased": True}),
         "rat": ("rat", {"n_cells": 64}), "rat_velocity": ("rat", {"n_cells": 64, "input": "velocity"})}
CELLS = {"leak": dict(leak=0.2), "leak_adapt": dict(leak=0.2, adapt_strength=0.3),
         "leak_mom": dict(leak=0.2, friction=0.6), "leak_adapt_mom": dict(leak=0.2, adapt_strength=0.3, friction=0.6),
         "noleak": dict(leak=1.0), "gru": dict(cell="gru", activation="tanh", leak=0.2)}
ENCODING_ULPS, STEP_RTOL, TRAINING_RTOL = 8, 1e-4, 1e-3


def _row(check: str, case: str, diff: float, tolerance: float, unit: str) -> dict:
    return {"check": check, "case": case, "max_diff": diff, "tolerance": tolerance, "unit": unit,
            "ok": bool(diff <= tolerance)}


def encoding_rows(device: torch.device) -> list[dict]:
    rows = []
    for name, (kind, params) in TASKS.items():
        task = make_task(kind, **params)
        position = task.sample_positions(64, 50, np.random.default_rng(0))
        ref = task.batch_from_positions(position)
        got = [x.cpu().numpy() for x in task.torch_batch(torch.from_numpy(position).to(device))]
        scale = float(np.abs(ref.targets).max())
        diff = max(float(np.abs(a - b).max()) for a, b in zip((ref.inputs, ref.targets, ref.start_code), got))
        rows.append(_row("encoding", name, diff / float(np.spacing(np.float32(scale))), ENCODING_ULPS,
                         "ulps of the code's max"))
    return rows


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.detach().cpu() - b.detach().cpu()).abs().max() / b.detach().abs().max().clamp_min(1e-30))


def step_rows(device: torch.device) -> list[dict]:
    task = make_task("openfield", n_cells=32)
    batch = task.sample(16, 30, np.random.default_rng(1))
    data = [torch.from_numpy(x) for x in (batch.inputs, batch.targets, batch.start_code)]
    rows = []
    for name, knobs in CELLS.items():
        params = CellParams(hidden=64, sigma=0.0, **knobs)
        results = []
        for dev in (torch.device("cpu"), device):
            torch.manual_seed(0)
            model = make_cell(task.input_dim, task.code_dim, params).to(dev)
            inputs, targets, start = (x.to(dev) for x in data)
            out = model(inputs, start)
            torch.nn.functional.mse_loss(out, targets).backward()
            results.append([out] + [p.grad for p in model.parameters()])
        diff = max(_relative(b, a) for a, b in zip(*results))
        rows.append(_row("step", name, diff, STEP_RTOL, "of the largest value"))
    return rows


def training_rows(device: torch.device, steps: int = 30) -> list[dict]:
    setup = TaskSetup("openfield", "openfield", {"n_cells": 64})
    job = TrainJob(setup, "noiseless", 0, CellParams(hidden=64, leak=0.2, sigma=0.0), Mechanisms(),
                   TrainSettings(steps=steps, batch=32, lr=0.003, masking=2.0))
    pool = setup.build().sample_positions(256, 40, np.random.default_rng(2))
    _, (cpu,) = train_ensemble([job], [pool], device=torch.device("cpu"), log=lambda m: None)
    _, (dev,) = train_ensemble([job], [pool], device=device, log=lambda m: None)
    a, b = cpu["loss"].values, dev["loss"].values
    return [_row("training", f"openfield noiseless, {steps} steps, batches on {device.type}",
                 float(np.abs(b - a).max() / np.abs(a).max()), TRAINING_RTOL, "of the largest loss")]


def agreement_rows(device: torch.device) -> list[dict]:
    """Every check above on ``device`` against the CPU (float32 matmuls on CUDA)."""
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    return encoding_rows(device) + step_rows(device) + training_rows(device)
