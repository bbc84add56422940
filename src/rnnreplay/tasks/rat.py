"""Rat [CR26: "high-dimensional paths of synthetic rat place cell activity"; details are our
reconstruction]: a RatInABox-style random walk in a 1 m box, seen through Gaussian place cells.

The latent path lives in place-cell space: the target is the firing of ``n_cells`` Gaussian
place cells (peak 1, width ``cell_sigma``) and, with ``input: activity`` (the default), the
network's input is the change of that firing vector each step, so the network path-integrates
in place-cell space. ``input: velocity`` gives it the 2D displacement instead (KR24-style).
Positions (m) are kept for the metrics and decoded from the readout by the top-k centres.
"""

from __future__ import annotations

import numpy as np

from .box import BoxArena
from .ratmotion import RatMotionParams, random_motion


class Rat(BoxArena):
    """CR26's rat task.

    Args:
        box_width: side of the square box [0, box_width]^2 (m).
        n_cells: number of place cells; cell_sigma: field width (m); top_k: decoding cells.
        centres_seed: seed of the random place-cell centres.
        input: ``activity`` (change of place-cell firing, D_in = n_cells) or ``velocity``
            (displacement, D_in = 2).
        grid: K of the K x K occupancy grid.
        **motion: fields of :class:`~rnnreplay.tasks.ratmotion.RatMotionParams` (dt, speed_mean,
            thigmotaxis, ...); RatInABox's defaults otherwise.
    """

    name = "rat"

    def __init__(
        self,
        box_width: float = 1.0,
        n_cells: int = 128,
        cell_sigma: float = 0.2,
        top_k: int = 3,
        centres_seed: int = 0,
        input: str = "activity",
        grid: int = 4,
        **motion,
    ):
        if input not in ("activity", "velocity"):
            raise ValueError(f"input must be 'activity' or 'velocity', got {input!r}")
        self._setup_box((0.0, 0.0), (box_width, box_width), n_cells, cell_sigma, "peak", top_k, centres_seed, grid)
        self.input = input
        self.motion = RatMotionParams(**motion)

    def sample_positions(self, n: int, steps: int, rng: np.random.Generator) -> np.ndarray:
        """(n, steps+1, 2) paths in m."""
        return random_motion(n, steps, rng, self.motion, self.low, self.high).astype(np.float32)

    def inputs_of(self, position: np.ndarray, code: np.ndarray) -> np.ndarray:
        """Change of place-cell firing (B, T, n_cells), or the displacement (B, T, 2) in m."""
        return np.diff(code if self.input == "activity" else position, axis=1)

    def inputs_of_torch(self, position, code):
        """:meth:`inputs_of` in torch: (B, T, n_cells) or (B, T, 2)."""
        x = code if self.input == "activity" else position
        return x[:, 1:] - x[:, :-1]

    @property
    def input_dim(self) -> int:
        return self.cells.n if self.input == "activity" else 2
