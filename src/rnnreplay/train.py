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

from .checks import read_paths, stage_outputs
from .config import derive_seed
from .io import load_checkpoint, provenance, save_checkpoint, save_model, write_dataset
from .jobs import TrainJob, TrainSettings, to_json
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


LR_SCHEDULES = ("constant", "cosine")


def learning_rate(settings: TrainSettings, step: int) -> float:
    """The learning rate of optimiser step ``step`` (0-based) of ``settings.steps``.

    ``lr_warmup`` steps ramp it linearly from lr / warmup up to ``lr``; after the warmup,
    ``lr_schedule`` ``constant`` keeps ``lr`` and ``cosine`` decays it along half a cosine from
    ``lr`` to ``lr * lr_final_ratio`` at the last step. A closed form of the step, so a resumed run
    follows the uninterrupted run's rates exactly."""
    if settings.lr_schedule not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {settings.lr_schedule!r}")
    lr, warmup = float(settings.lr), int(settings.lr_warmup)
    if step < warmup:
        return lr * (step + 1) / warmup
    if settings.lr_schedule == "constant":
        return lr
    final = lr * float(settings.lr_final_ratio)
    span = max(1, int(settings.steps) - warmup - 1)
    return final + 0.5 * (lr - final) * (1.0 + math.cos(math.pi * min(1.0, (step - warmup) / span)))


def sequence_length(settings: TrainSettings, step: int, full: int) -> int:
    """Path length (steps) of optimiser step ``step``: the curriculum stage's, else ``full``."""
    end = 0
    for stage_steps, length in settings.curriculum:
        end += int(stage_steps)
        if step < end:
            return min(int(length), full)
    return full


def initial_model(job: TrainJob, task: Task | None = None) -> torch.nn.Module:
    """The network ``job`` starts training from (its seed-derived initial weights): also KR24's
    untrained baseline, replayed beside the trained network."""
    task = task or job.task.build()
    return build_model(task, job.cell, derive_seed(*job.seed_parts, "init"))


def checkpoint_key(job: TrainJob, train_positions: np.ndarray, device: torch.device) -> str:
    """A digest of everything that determines a training run's result (the job, the data pool's
    bytes and the device type), so a checkpoint is resumed only by the run that wrote it."""
    h = hashlib.sha256(json.dumps([to_json(job), device.type]).encode())
    h.update(np.ascontiguousarray(train_positions).tobytes())
    return h.hexdigest()


def train(
    job: TrainJob,
    train_positions: np.ndarray,
    device: torch.device = torch.device("cpu"),
    log=print,
    checkpoint: str | Path | None = None,
    log_every: int = 100,
    checkpoint_every: int = 0,
) -> tuple[torch.nn.Module, xr.Dataset]:
    """Train a model on batches drawn from a pool of paths.

    Args:
        job: what to train: the task, the cell's knobs during training, the mechanisms acting in
            training, the settings (``steps``, ``batch``, ``lr`` and its schedule, ``masking`` k,
            ``grad_clip``, a ``curriculum`` of path lengths) and the seed; the init, batch, mask and noise seeds derive from ``job.seed_parts``
            (task, seed), deliberately not the variant, so variants at one seed are paired.
        train_positions: (P, T+1, D) pool of training paths.
        device: where to train.
        log: called with a plain progress line every ``log_every`` steps.
        checkpoint: file for periodic checkpoints (None = none). Every ``checkpoint_every``
            steps (0 = never) it is rewritten atomically with the model and Adam state, the numpy
            state of the batch/mask stream, the torch noise generator's state, the losses so far
            and the step count. If it exists when training starts and its key
            (:func:`checkpoint_key`) matches, training resumes from it; the resumed run's weights
            and losses equal an uninterrupted run's. The caller deletes it once the final outputs
            are written.
        log_every, checkpoint_every: intervals in steps; neither changes the result.

    Returns:
        The trained model (on CPU) and a Dataset of the loss per step (dim ``step``).
    """
    task = job.task.build()
    settings = job.settings
    seed_parts = job.seed_parts
    model = initial_model(job, task).to(device)
    rng = np.random.default_rng(derive_seed(*seed_parts, "batches"))
    noise_gen = torch.Generator(device=device).manual_seed(derive_seed(*seed_parts, "noise") % 2**63)
    optimiser = torch.optim.Adam(model.parameters(), lr=settings.lr)
    steps, batch_size, clip = settings.steps, settings.batch, settings.grad_clip
    scheduled = settings.lr_schedule != "constant" or settings.lr_warmup > 0
    learning_rate(settings, 0)  # an unknown schedule fails before any work
    full_length = train_positions.shape[1] - 1
    losses = np.empty(steps, dtype=np.float32)
    log_every = max(1, int(log_every))
    every = int(checkpoint_every or 0) if checkpoint else 0
    key = checkpoint_key(job, train_positions, device)
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
        paths = train_positions[rng.integers(0, len(train_positions), batch_size)]  # (B, T+1, D)
        if settings.curriculum:
            paths = paths[:, : sequence_length(settings, step, full_length) + 1]
        batch = task.batch_from_positions(paths)
        inputs = torch.from_numpy(mask_inputs(batch.inputs, settings.masking, rng)).to(device)
        targets = torch.from_numpy(batch.targets).to(device)
        start_code = torch.from_numpy(batch.start_code).to(device)
        outputs = model(inputs, start_code, adaptation=job.mechanisms.adaptation, momentum=job.mechanisms.momentum,
                        generator=noise_gen)
        loss = torch.nn.functional.mse_loss(outputs, targets)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"training loss became {loss.item()} at step {step + 1} of {steps}; "
                                     "no output written")
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        if clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        if scheduled:  # else Adam keeps lr untouched: training bitwise as without a schedule
            for group in optimiser.param_groups:
                group["lr"] = learning_rate(settings, step)
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


@stage_outputs("out_model", "out_loss", check_only=("checkpoint",))
def train_file(job: TrainJob, train_paths: str | Path, out_model: str | Path, out_loss: str | Path,
               device: torch.device = torch.device("cpu"), log=print, checkpoint: str | Path | None = None,
               log_every: int = 100, checkpoint_every: int = 0) -> str:
    """The train stage: :func:`train` on the pool in ``train_paths``; writes the model file and the
    loss curve, then deletes the checkpoint (the outputs are complete: a rerun starts afresh).
    Returns a line for the log. The pool (against ``job``) and the output paths are checked before
    training (:mod:`rnnreplay.checks`)."""
    from .metrics import final_loss

    pool = read_paths(train_paths, job.task, "train", job.seed)["position"].values
    log(f"train {job.task.name}/{job.variant} seed {job.seed}: device {device}, torch threads {torch.get_num_threads()}")
    model, loss = train(job, pool, device=device, log=log, checkpoint=checkpoint, log_every=log_every,
                        checkpoint_every=checkpoint_every)
    loss.attrs = provenance(f"training loss {job.task.name}/{job.variant}", job, job.seed)
    write_dataset(loss, out_loss)
    save_model(out_model, model, job)
    if checkpoint:
        Path(checkpoint).unlink(missing_ok=True)
    return f"{job.task.name}/{job.variant} seed {job.seed}: final loss {final_loss(loss['loss'].values):.5g}"
