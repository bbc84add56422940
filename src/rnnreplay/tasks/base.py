"""The common task interface: paths, inputs, targets and the geometry metrics need.

A task turns a random generator into a batch of latent paths ``s`` and knows how to
encode a position into the network's target code, decode it back, and describe the
environment (regions for occupancy, goals for reach time, the support for off-track).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PathBatch:
    """A batch of latent paths and what the network sees of them.

    Attributes:
        position: (B, T+1, D) latent path s_0..s_T, in the task's length unit.
        inputs: (B, T, D_in) change-based input, by default u_t = s_{t+1} - s_t (per step);
            see :meth:`Task.inputs_of`.
        targets: (B, T, C) target code f(s_{t+1}) the readout must produce after step t.
        start_code: (B, C) code f(s_0) that the linear encoder maps to r_0.
    """

    position: np.ndarray
    inputs: np.ndarray
    targets: np.ndarray
    start_code: np.ndarray


class Task:
    """Base class of every task. Subclasses set the class attributes and implement
    :meth:`sample_positions`, :meth:`distance_to_support` and :meth:`region_of`.

    Positions are float arrays whose last axis is ``space`` (length :attr:`space_dim`).
    """

    name: str = "task"
    space_dim: int = 2
    length_unit: str = "1"  # CF `units` of positions ("1" for the dimensionless mazes, "m" for boxes)
    region_names: tuple[str, ...] = ()
    goal_radius: float = 0.1  # distance from a goal point that counts as reaching it
    goal_min_start_distance: float = 0.5  # goals closer than this to the start do not count
    off_track_tolerance: float = 0.1  # distance from the support beyond which a point is off track
    circular: bool = False  # positions are angles (rad, space_dim 1): metrics use circular geometry
    box: tuple | None = None  # ((x0, y0), (x1, y1)) of a rectangular arena, else None

    # --- paths ---------------------------------------------------------------------------------
    def sample_positions(self, n: int, steps: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` latent paths of ``steps`` steps: (n, steps+1, D)."""
        raise NotImplementedError

    def sample(self, n: int, steps: int, rng: np.random.Generator) -> PathBatch:
        """Draw ``n`` paths and build inputs and targets from them (see :class:`PathBatch`)."""
        return self.batch_from_positions(self.sample_positions(n, steps, rng))

    def batch_from_positions(self, position: np.ndarray) -> PathBatch:
        """Inputs, targets and start codes of given paths ``position`` (B, T+1, D)."""
        position = np.asarray(position, dtype=np.float32)
        code = self.encode(position)
        return PathBatch(
            position=position,
            inputs=self.inputs_of(position, code).astype(np.float32),
            targets=code[:, 1:].astype(np.float32),
            start_code=code[:, 0].astype(np.float32),
        )

    def inputs_of(self, position: np.ndarray, code: np.ndarray) -> np.ndarray:
        """Network inputs of paths: position (B, T+1, D), code (B, T+1, C) -> (B, T, D_in).
        Default: the displacement s_{t+1} - s_t."""
        return np.diff(position, axis=1)

    # --- the same batch in torch, on any device (training on a GPU builds its batches there) ----
    def torch_batch(self, position):
        """:meth:`batch_from_positions` in torch, on ``position``'s device: paths (B, T+1, D)
        float32 tensor -> (inputs (B, T, D_in), targets (B, T, C), start codes (B, C)), each a
        contiguous float32 tensor equal to the numpy batch's to float32 rounding
        (tests/test_torch_batches.py). Torch is imported only here: the metrics stay torch-free."""
        import torch

        position = position.to(torch.float32)
        code = self.encode_torch(position)
        return (self.inputs_of_torch(position, code).to(torch.float32).contiguous(), code[:, 1:].contiguous(),
                code[:, 0].contiguous())

    def inputs_of_torch(self, position, code):
        """:meth:`inputs_of` in torch: position (B, T+1, D), code (B, T+1, C) -> (B, T, D_in)."""
        return position[:, 1:] - position[:, :-1]

    def encode_torch(self, position):
        """:meth:`encode` in torch: (..., D) float32 tensor -> (..., C) on its device."""
        return position

    @property
    def input_dim(self) -> int:
        """Size D_in of the network input (D when the input is the displacement)."""
        return self.space_dim

    @property
    def area(self) -> float | None:
        """Area of the rectangular arena (length unit squared), None if the task has none."""
        if self.box is None:
            return None
        (x0, y0), (x1, y1) = self.box
        return float((x1 - x0) * (y1 - y0))

    # --- the code the network reads out ---------------------------------------------------------
    @property
    def code_dim(self) -> int:
        """Size C of the target code (D when the code is the position itself)."""
        return self.space_dim

    def encode(self, position: np.ndarray) -> np.ndarray:
        """Target code of positions: (..., D) -> (..., C). Default: the position itself."""
        return np.asarray(position, dtype=np.float32)

    def decode(self, code: np.ndarray) -> np.ndarray:
        """Position decoded from a code: (..., C) -> (..., D). Default: the code itself."""
        return np.asarray(code, dtype=np.float32)

    # --- geometry for metrics ------------------------------------------------------------------
    @property
    def goals(self) -> np.ndarray:
        """Goal points (G, D) for reach time; G = 0 (the default) skips the reach-time metrics."""
        return np.zeros((0, self.space_dim))

    def distance_to_support(self, points: np.ndarray) -> np.ndarray:
        """Distance (...) from points (..., D) to the region the agent may occupy."""
        raise NotImplementedError

    def region_of(self, points: np.ndarray) -> np.ndarray:
        """Region index (...) into :attr:`region_names` of points (..., D)."""
        raise NotImplementedError

    def outline(self) -> list[np.ndarray]:
        """Polylines (each (K, 2)) that draw the environment in figures."""
        return []


class CellCodedTask(Task):
    """A task whose target code is the firing of a cell population ``self.cells`` (an object
    with ``n``, ``encode`` (..., D) -> (..., n) and ``decode`` (..., n) -> (..., D)), set by the
    subclass: the place-cell boxes and the head-direction ring."""

    cells = None

    @property
    def code_dim(self) -> int:
        return self.cells.n

    def encode(self, position: np.ndarray) -> np.ndarray:
        """Cell firing (..., n_cells) at positions (..., D) in the task's length unit."""
        return self.cells.encode(position)

    def encode_torch(self, position):
        """:meth:`encode` in torch: firing (..., n_cells) of positions (..., D), a float32 tensor."""
        return self.cells.encode_torch(position)

    def decode(self, code: np.ndarray) -> np.ndarray:
        """Positions (..., D) decoded from firing (..., n_cells) (top-k cells)."""
        return self.cells.decode(code)
