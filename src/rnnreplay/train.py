"""Training: Adam on the MSE between readout and target code at every step (KR24)."""

from __future__ import annotations

import hashlib
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import xarray as xr
from tqdm.auto import tqdm

from .config import derive_seed
from .io import load_checkpoint, save_checkpoint
from .model import CellParams, make_cell
from .tasks import Task


def select_device(name: str) -> torch.device:
    """``cpu``, ``cuda`` (error if absent) or ``auto`` (CUDA when present)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device: cuda was asked for but torch sees no CUDA device")
    return torch.device(name)


def mask_inputs(inputs: np.ndarray, difficulty: float, rng: np.random.Generator) -> np.ndarray:
    """Masking difficulty k [reconstruction]: withhold (zero) each step's input independently
    with probability k / 10. inputs (B, T, D) -> (B, T, D)."""
    if difficulty <= 0:
        return inputs
    keep = rng.random(inputs.shape[:2] + (1,)) >= difficulty / 10.0
    return inputs * keep


def build_model(task: Task, params: CellParams, seed: int) -> torch.nn.Module:
    """A freshly initialised model (input size ``task.input_dim``, readout ``task.code_dim``);
    the seed fixes the initial weights."""
    torch.manual_seed(seed)
    return make_cell(n_in=task.input_dim, n_out=task.code_dim, params=params)


# train keys that do not change the result: a checkpoint stays valid when only these differ
_NOT_IDENTITY = ("log_every", "checkpoint_every")


def checkpoint_key(train_positions: np.ndarray, params: CellParams, mechanisms: dict, train_cfg: dict,
                   seed_parts: tuple, device: torch.device, identity=None) -> str:
    """A digest of everything that determines a training run's result (the data pool's bytes, the
    cell, mechanisms, train settings, seeds, device type and the caller's ``identity``), so a
    checkpoint is resumed only by the run that wrote it."""
    blob = json.dumps(
        [params.to_dict(), mechanisms, {k: v for k, v in train_cfg.items() if k not in _NOT_IDENTITY},
         list(map(str, seed_parts)), device.type, identity],
        sort_keys=True, default=str,
    ).encode()
    h = hashlib.sha256(blob)
    h.update(np.ascontiguousarray(train_positions).tobytes())
    return h.hexdigest()


def train(
    task: Task,
    train_positions: np.ndarray,
    params: CellParams,
    mechanisms: dict,
    train_cfg: dict,
    seed_parts: tuple,
    device: torch.device = torch.device("cpu"),
    log=print,
    checkpoint: str | Path | None = None,
    identity=None,
) -> tuple[torch.nn.Module, xr.Dataset]:
    """Train a model on batches drawn from a pool of paths.

    Args:
        task: the task (its encoding makes the targets).
        train_positions: (P, T+1, D) pool of training paths.
        params: the cell's knobs during training.
        mechanisms: ``adaptation_in``/``momentum_in`` ("both" = active in training).
        train_cfg: ``steps``, ``batch``, ``lr``, ``masking`` (k), ``grad_clip`` (None = off),
            ``log_every``, ``checkpoint_every`` (steps between checkpoints; 0 = none).
        seed_parts: (task, seed) from which the init, batch, mask and noise seeds derive; the
            variant is deliberately not part of it, so variants at one seed are paired.
        device: where to train.
        log: called with a plain progress line every ``log_every`` steps.
        checkpoint: file for periodic checkpoints (None = none). Every ``checkpoint_every``
            steps it is rewritten atomically with the model and Adam state, the numpy state of the
            batch/mask stream, the torch noise generator's state, the losses so far and the step
            count. If it exists when training starts and its key (:func:`checkpoint_key` of these
            arguments and ``identity``) matches, training resumes from it; the resumed run's
            weights and losses equal an uninterrupted run's. The caller deletes it once the final
            outputs are written.
        identity: extra JSON-able data that must match for a checkpoint to be resumed (the CLI
            passes the task spec).

    Returns:
        The trained model (on CPU) and a Dataset of the loss per step (dim ``step``).
    """
    model = build_model(task, params, derive_seed(*seed_parts, "init")).to(device)
    rng = np.random.default_rng(derive_seed(*seed_parts, "batches"))
    noise_gen = torch.Generator(device=device).manual_seed(derive_seed(*seed_parts, "noise") % 2**63)
    optimiser = torch.optim.Adam(model.parameters(), lr=train_cfg["lr"])
    steps, batch_size = train_cfg["steps"], train_cfg["batch"]
    clip = train_cfg.get("grad_clip")
    adaptation = mechanisms["adaptation_in"] == "both"
    momentum = mechanisms["momentum_in"] == "both"
    losses = np.empty(steps, dtype=np.float32)
    log_every = max(1, int(train_cfg.get("log_every", 100)))
    every = int(train_cfg.get("checkpoint_every", 0) or 0) if checkpoint else 0
    key = checkpoint_key(train_positions, params, mechanisms, train_cfg, seed_parts, device, identity)
    first = 0
    saved = load_checkpoint(checkpoint) if checkpoint else None
    if saved is not None and saved.get("key") == key and 0 < saved["step"] < steps:
        first = int(saved["step"])
        model.load_state_dict(saved["model"])
        optimiser.load_state_dict(saved["optimiser"])
        rng.bit_generator.state = json.loads(saved["batch_rng"])
        noise_gen.set_state(saved["noise_rng"])
        losses[:first] = saved["losses"].numpy()
        log(f"resuming from checkpoint {checkpoint} at step {first}/{steps}")
    elif saved is not None:
        log(f"ignoring checkpoint {checkpoint}: it belongs to a different run")
    bar = tqdm(range(first, steps), desc="train", disable=not sys.stderr.isatty(), leave=False,
               initial=first, total=steps)
    start = time.perf_counter()
    for step in bar:
        batch = task.batch_from_positions(train_positions[rng.integers(0, len(train_positions), batch_size)])
        inputs = torch.from_numpy(mask_inputs(batch.inputs, train_cfg.get("masking", 0), rng)).to(device)
        targets = torch.from_numpy(batch.targets).to(device)
        start_code = torch.from_numpy(batch.start_code).to(device)
        outputs = model(inputs, start_code, adaptation=adaptation, momentum=momentum, generator=noise_gen)
        loss = torch.nn.functional.mse_loss(outputs, targets)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"training loss became {loss.item()} at step {step + 1} of {steps}; "
                                     "no output written")
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        if clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimiser.step()
        losses[step] = loss.item()
        if step % log_every == 0 or step == steps - 1:
            bar.set_postfix(loss=f"{losses[step]:.4g}")
            if bar.disable:
                log(f"step {step + 1}/{steps} loss {losses[step]:.5g} ({time.perf_counter() - start:.1f} s)")
        if every and (step + 1) % every == 0 and step + 1 < steps:
            save_checkpoint(checkpoint, {
                "key": key, "step": step + 1,
                "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                "optimiser": optimiser.state_dict(),
                "batch_rng": json.dumps(rng.bit_generator.state),
                "noise_rng": noise_gen.get_state(),
                "losses": torch.from_numpy(losses[: step + 1].copy()),
            })
    loss_ds = xr.Dataset(
        {"loss": ("step", losses, {"units": "1", "long_name": "training MSE between readout and target"})},
        coords={"step": ("step", np.arange(1, steps + 1), {"units": "1", "long_name": "optimiser step"})},
    )
    return model.cpu(), loss_ds


def final_loss(loss_ds: xr.Dataset, window: int = 50) -> float:
    """Mean loss over the last ``window`` steps."""
    values = loss_ds["loss"].values
    return float(np.mean(values[-min(window, len(values)):])) if len(values) else math.nan
