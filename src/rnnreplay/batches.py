"""Training batches built on the training device (a GPU): the pools uploaded once, each step's
gather, masking and the task's encoding done in torch there.

Each member's batch indices and input masks are still drawn from its own numpy generator, in the
order :func:`rnnreplay.train._batch` draws them (indices, then the mask), so the batches are the
same paths and masks as the numpy path's; only the encoding (place cells, head-direction cells,
the rat's activity code) runs in torch, equal to the numpy encoding to float32 rounding
(tests/test_torch_batches.py). On CPU the numpy path stays the default: its results are the
reference, bit for bit.
"""

from __future__ import annotations

import numpy as np
import torch

from .jobs import TrainSettings
from .tasks import Task

BATCH_ENCODINGS = ("auto", "numpy", "torch")


def sequence_length(settings: TrainSettings, step: int, full: int) -> int:
    """Path length (steps) of optimiser step ``step``: the curriculum stage's, else ``full``."""
    end = 0
    for stage_steps, length in settings.curriculum:
        end += int(stage_steps)
        if step < end:
            return min(int(length), full)
    return full


def use_torch_batches(choice: str, device: torch.device) -> bool:
    """Whether training builds its batches in torch: ``torch`` yes, ``numpy`` no, ``auto`` on a
    CUDA device only (on CPU the numpy batches are the bitwise reference)."""
    if choice not in BATCH_ENCODINGS:
        raise ValueError(f"batch encoding must be one of {BATCH_ENCODINGS}, got {choice!r}")
    return choice == "torch" or (choice == "auto" and device.type == "cuda")


class DeviceBatches:
    """The members' pools on ``device`` and their batches built there.

    Args:
        task: the task (its :meth:`~rnnreplay.tasks.Task.torch_batch` encodes the paths).
        pools: S pools (P, T+1, D) float32, one per member (uploaded once here).
        settings: the training settings (batch size, masking k, curriculum).
        device: where the batches are built and the model trains.
    """

    def __init__(self, task: Task, pools: list[np.ndarray], settings: TrainSettings, device: torch.device):
        self.task, self.settings, self.device = task, settings, device
        self.pools = [torch.as_tensor(np.ascontiguousarray(pool, dtype=np.float32), device=device) for pool in pools]

    def __call__(self, rngs: list[np.random.Generator], step: int) -> list[tuple[torch.Tensor, ...]]:
        """Every member's batch of optimiser step ``step``, drawn with its own ``rngs[i]``: S tuples
        of (inputs (B, T, D_in) masked, targets (B, T, C), start codes (B, C)) on the device. The
        members' paths are encoded in one call (the encoding is row by row, so a member's batch
        does not depend on the others')."""
        s = self.settings
        paths = []
        for pool, rng in zip(self.pools, rngs):
            index = rng.integers(0, len(pool), s.batch)  # the numpy path's draw, same stream
            chosen = pool[torch.from_numpy(index).to(self.device, non_blocking=True)]  # (B, T+1, D)
            if s.curriculum:
                chosen = chosen[:, : sequence_length(s, step, pool.shape[1] - 1) + 1]
            paths.append(chosen)
        inputs, targets, start = self.task.torch_batch(torch.cat(paths) if len(paths) > 1 else paths[0])
        b = s.batch
        batches = []
        for i, rng in enumerate(rngs):
            member_inputs = inputs[i * b:(i + 1) * b]
            if s.masking > 0:  # the numpy path's mask draw (after the indices), same stream
                keep = rng.random(member_inputs.shape[:2] + (1,)) >= s.masking / 10.0
                member_inputs = member_inputs * torch.from_numpy(keep).to(self.device, non_blocking=True)
            batches.append((member_inputs, targets[i * b:(i + 1) * b], start[i * b:(i + 1) * b]))
        return batches
