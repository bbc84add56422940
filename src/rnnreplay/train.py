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

from .batches import DeviceBatches, sequence_length, use_torch_batches
from .cell_graphs import CellGraphs
from .checks import read_paths, stage_outputs
from .config import derive_seed
from .io import load_checkpoint, provenance, save_checkpoint, save_model, write_dataset
from .jobs import TrainJob, TrainSettings, to_json
from .model import CellParams, Ensemble, make_cell
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


PRECISIONS = ("float32", "tf32")


def set_precision(precision: str, device: torch.device) -> None:
    """The arithmetic of float32 matrix products and convolutions on CUDA: ``float32`` (full
    precision, the default) or ``tf32`` (TensorFloat-32 tensor cores: inputs rounded to a 10-bit
    mantissa, float32 accumulation). CPU arithmetic is never changed (nothing is set off CUDA)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if device.type != "cuda":
        return
    tf32 = precision == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32


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


def initial_model(job: TrainJob, task: Task | None = None) -> torch.nn.Module:
    """The network ``job`` starts training from (its seed-derived initial weights): also KR24's
    untrained baseline, replayed beside the trained network."""
    task = task or job.task.build()
    return build_model(task, job.cell, derive_seed(*job.seed_parts, "init"))


def checkpoint_key(jobs: list[TrainJob], pools: list[np.ndarray], device: torch.device,
                   torch_batches: bool | None = None) -> str:
    """A digest of everything that determines a training run's result (its jobs, the data pools'
    bytes, the device type and, where it is not the device's default, where the batches are
    encoded), so a checkpoint is resumed only by the run that wrote it."""
    parts = [[to_json(job) for job in jobs], device.type]
    if torch_batches is not None and torch_batches != (device.type == "cuda"):
        parts.append("torch batches" if torch_batches else "numpy batches")
    h = hashlib.sha256(json.dumps(parts).encode())
    for pool in pools:
        h.update(np.ascontiguousarray(pool).tobytes())
    return h.hexdigest()


def train(job: TrainJob, train_positions: np.ndarray, device: torch.device = torch.device("cpu"), log=print,
          checkpoint: str | Path | None = None, log_every: int = 100,
          checkpoint_every: int = 0, batches: str = "auto") -> tuple[torch.nn.Module, xr.Dataset]:
    """Train one network: :func:`train_ensemble` with one member. Returns the trained model (on
    CPU) and a Dataset of the loss per step (dim ``step``)."""
    models, losses = train_ensemble([job], [train_positions], device=device, log=log, checkpoint=checkpoint,
                                    log_every=log_every, checkpoint_every=checkpoint_every, batches=batches)
    return models[0], losses[0]


def train_ensemble(
    jobs: list[TrainJob],
    pools: list[np.ndarray],
    device: torch.device = torch.device("cpu"),
    log=print,
    checkpoint: str | Path | None = None,
    log_every: int = 100,
    checkpoint_every: int = 0,
    batches: str = "auto",
    cuda_graphs: bool = False,
) -> tuple[list[torch.nn.Module], list[xr.Dataset]]:
    """Train S networks side by side on batches drawn from their pools of paths: the seeds of one
    (task, variant), as one :class:`rnnreplay.model.Ensemble`. Each member has exactly the initial
    weights, batches, masks, noise stream, loss and gradient clipping it would have alone, and on
    CPU its weights and losses equal its single-network run bit for bit (tests/test_ensemble.py).
    Members may also be other variants of the task (other knobs and mechanisms, the same training
    settings): each then equals its single run to float32 rounding (tests/test_mixed_ensemble.py).

    Args:
        jobs: what to train, one job per member, equal but for the seed (or the variant): the task, the cell's
            knobs during training, the mechanisms acting in training, the settings (``steps``,
            ``batch``, ``lr`` and its schedule, ``masking`` k, ``grad_clip``, a ``curriculum`` of
            path lengths). Each member's init, batch, mask and noise seeds derive from its
            ``job.seed_parts`` (task, seed), deliberately not the variant, so variants at one seed
            are paired.
        pools: each member's (P, T+1, D) pool of training paths.
        device: where to train.
        log: called with a plain progress line every ``log_every`` steps.
        checkpoint: file for periodic checkpoints (None = none). Every ``checkpoint_every``
            steps (0 = never) it is rewritten atomically with every member's weights, the Adam
            state, each member's batch/mask stream and noise generator state, the losses so far
            and the step count. If it exists when training starts and its key
            (:func:`checkpoint_key`) matches, training resumes from it; the resumed run's weights
            and losses equal an uninterrupted run's. The caller deletes it once the final outputs
            are written.
        log_every, checkpoint_every: intervals in steps; neither changes the result.
        batches: where each step's batches are gathered, masked and encoded: ``numpy`` (on the
            CPU, then copied to ``device``), ``torch`` (on ``device``: :class:`rnnreplay.batches.
            DeviceBatches`; the same paths and masks, encodings equal to float32 rounding) or
            ``auto`` (torch on CUDA, numpy on CPU, where the numpy batches are the bitwise reference).
        cuda_graphs: run the recurrence's forward and backward loops as CUDA graphs
            (:class:`rnnreplay.cell_graphs.CellGraphs`; fused cells only). On CPU the same path runs
            without capture: the results are bitwise those without it (tests/test_cell_graphs.py).

    Returns:
        The trained models (on CPU) and, for each, a Dataset of its loss per step (dim ``step``).
    """
    first_job = jobs[0]
    if any((job.task, job.settings) != (first_job.task, first_job.settings) for job in jobs):
        raise ValueError("an ensemble's members must share the task and the training settings")
    task, settings = first_job.task.build(), first_job.settings
    models = [initial_model(job, task).to(device) for job in jobs]
    rngs = [np.random.default_rng(derive_seed(*job.seed_parts, "batches")) for job in jobs]
    noise_gens = [torch.Generator(device=device).manual_seed(derive_seed(*job.seed_parts, "noise") % 2**63)
                  for job in jobs]
    ensemble = Ensemble(models)
    if cuda_graphs:
        ensemble.graphs = CellGraphs()
    adaptations = [job.mechanisms.adaptation for job in jobs]  # each member's own (variants may differ)
    momenta = [job.mechanisms.momentum for job in jobs]
    optimiser = torch.optim.Adam(ensemble.parameters(), lr=settings.lr)
    steps, batch_size, clip = settings.steps, settings.batch, settings.grad_clip
    scheduled = settings.lr_schedule != "constant" or settings.lr_warmup > 0
    learning_rate(settings, 0)  # an unknown schedule fails before any work
    losses = np.empty((len(jobs), steps), dtype=np.float32)
    log_every = max(1, int(log_every))
    every = int(checkpoint_every or 0) if checkpoint else 0
    torch_batches = use_torch_batches(batches, device)
    device_batches = DeviceBatches(task, pools, settings, device) if torch_batches else None
    key = checkpoint_key(jobs, pools, device, torch_batches)
    first = 0
    saved = load_checkpoint(checkpoint) if checkpoint else None
    if saved is not None and saved.get("key") == key and 0 < saved["step"] < steps:
        first = int(saved["step"])
        for model, state in zip(models, saved["models"]):
            model.load_state_dict(state)
        optimiser.load_state_dict(saved["optimiser"])
        for rng, state in zip(rngs, saved["batch_rngs"]):
            rng.bit_generator.state = json.loads(state)
        for gen, state in zip(noise_gens, saved["noise_rngs"]):
            gen.set_state(state)
        losses[:, :first] = saved["losses"].numpy()
        log(f"resuming from checkpoint {checkpoint} at step {first}/{steps}")
    elif saved is not None:
        log(f"ignoring checkpoint {checkpoint}: it belongs to a different run")
    bar = tqdm(range(first, steps), desc="train", disable=not sys.stderr.isatty(), leave=False,
               initial=first, total=steps)
    start = time.perf_counter()
    for step in bar:
        if device_batches is not None:
            batches = device_batches(rngs, step)
        else:
            batches = [_batch(task, pool, rng, settings, step, batch_size, device) for pool, rng in zip(pools, rngs)]
        outputs = ensemble([b[0] for b in batches], [b[2] for b in batches], adaptation=adaptations,
                           momentum=momenta, generators=noise_gens)
        member_losses = [torch.nn.functional.mse_loss(out, b[1]) for out, b in zip(outputs, batches)]
        # one read-back of every member's loss per step (a GPU waits once, not twice per member)
        losses[:, step] = torch.stack([loss.detach() for loss in member_losses]).cpu().numpy()
        for job, loss in zip(jobs, losses[:, step]):
            if not np.isfinite(loss):
                raise FloatingPointError(f"training loss of seed {job.seed} became {float(loss)} at step {step + 1} "
                                         f"of {steps}; no output written")
        optimiser.zero_grad(set_to_none=True)
        torch.autograd.backward(member_losses)  # each member's loss, each its own gradient
        if clip:
            for model in models:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        if scheduled:  # else Adam keeps lr untouched: training bitwise as without a schedule
            for group in optimiser.param_groups:
                group["lr"] = learning_rate(settings, step)
        optimiser.step()
        if step % log_every == 0 or step == steps - 1:
            shown = " ".join(f"{x:.5g}" for x in losses[:, step])
            bar.set_postfix(loss=shown)
            if bar.disable:
                log(f"step {step + 1}/{steps} loss {shown} ({time.perf_counter() - start:.1f} s)")
        if every and (step + 1) % every == 0 and step + 1 < steps:
            save_checkpoint(checkpoint, {
                "key": key, "step": step + 1,
                "models": [{k: v.detach().cpu() for k, v in model.state_dict().items()} for model in models],
                "optimiser": optimiser.state_dict(),
                "batch_rngs": [json.dumps(rng.bit_generator.state) for rng in rngs],
                "noise_rngs": [gen.get_state() for gen in noise_gens],
                "losses": torch.from_numpy(losses[:, : step + 1].copy()),
            })
    return [model.cpu() for model in models], [_loss_dataset(row) for row in losses]


def _batch(task: Task, pool: np.ndarray, rng: np.random.Generator, settings: TrainSettings, step: int,
           batch_size: int, device: torch.device):
    """One member's training batch of optimiser step ``step``: (inputs (B, T, D_in) masked,
    targets (B, T, C), start codes (B, C)) from ``batch_size`` paths drawn from ``pool`` with its
    own ``rng`` (cut to the curriculum's length at this step)."""
    paths = pool[rng.integers(0, len(pool), batch_size)]  # (B, T+1, D)
    if settings.curriculum:
        paths = paths[:, : sequence_length(settings, step, pool.shape[1] - 1) + 1]
    batch = task.batch_from_positions(paths)
    inputs = torch.from_numpy(mask_inputs(batch.inputs, settings.masking, rng)).to(device)
    return inputs, torch.from_numpy(batch.targets).to(device), torch.from_numpy(batch.start_code).to(device)


def _loss_dataset(loss: np.ndarray) -> xr.Dataset:
    """A loss curve (S,) as a dataset on the ``step`` dim (optimiser steps from 1)."""
    return xr.Dataset(
        {"loss": ("step", loss, {"units": "1", "long_name": "training MSE between readout and target"})},
        coords={"step": ("step", np.arange(1, len(loss) + 1), {"units": "1", "long_name": "optimiser step"})},
    )


@stage_outputs("out_models", "out_losses", check_only=("checkpoint",))
def train_file(jobs: list[TrainJob], train_paths: list, out_models: list, out_losses: list,
               device: torch.device = torch.device("cpu"), log=print, checkpoint: str | Path | None = None,
               log_every: int = 100, checkpoint_every: int = 0, batches: str = "auto", cuda_graphs: bool = False) -> str:
    """The train stage: :func:`train_ensemble` of ``jobs`` (the seeds of one variant; one job is
    an ensemble of one) on the pools in ``train_paths``; writes each member's model file and loss
    curve, then deletes the checkpoint (the outputs are complete: a rerun starts afresh). Returns a
    line for the log. The pools (against each job) and the output paths are checked before
    training (:mod:`rnnreplay.checks`)."""
    from .measures import final_loss

    if not len(jobs) == len(train_paths) == len(out_models) == len(out_losses):
        raise ValueError(f"train: {len(jobs)} jobs need as many --train-paths, --out-model and --out-loss "
                         f"(got {len(train_paths)}, {len(out_models)}, {len(out_losses)})")
    pools = [read_paths(path, job.task, "train", job.seed)["position"].values for job, path in zip(jobs, train_paths)]
    name = f"{jobs[0].task.name}/{jobs[0].variant}"
    where = "torch" if use_torch_batches(batches, device) else "numpy"
    graphs = ", CUDA graphs" if cuda_graphs else ""
    log(f"train {name} seeds {' '.join(str(j.seed) for j in jobs)}: device {device}, "
        f"torch threads {torch.get_num_threads()}, batches {where}{graphs}")
    models, losses = train_ensemble(jobs, pools, device=device, log=log, checkpoint=checkpoint, log_every=log_every,
                                    checkpoint_every=checkpoint_every, batches=batches, cuda_graphs=cuda_graphs)
    for job, model, loss, out_model, out_loss in zip(jobs, models, losses, out_models, out_losses):
        loss.attrs = provenance(f"training loss {job.task.name}/{job.variant}", job, job.seed)
        write_dataset(loss, out_loss)
        save_model(out_model, model, job)
    if checkpoint:
        Path(checkpoint).unlink(missing_ok=True)
    finals = ", ".join(f"{final_loss(loss['loss'].values):.5g}" for loss in losses)
    return f"{name} seeds {' '.join(str(j.seed) for j in jobs)}: final loss {finals}"
