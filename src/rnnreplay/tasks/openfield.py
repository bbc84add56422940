"""Open field [KR24 paper + code]: the Sorscher et al. random walk in a 2.2 m box.

Each step the agent draws a Rayleigh speed and a Gaussian turn; within ``border_region`` of a
wall and heading into it, it slows down (x ``border_slow_factor``) and turns to run along the
wall. ``biased: true`` adds a pull ``drift_const * (anchor - x)`` per step, which keeps the agent
on a ring of radius about 0.33 m round the anchor. The target is the firing of softmax place
cells (512, sigma 0.2 m); decoding averages the centres of the 3 most active cells.
"""

from __future__ import annotations

import numpy as np

from .box import BoxArena
from .cells import wrap_angle


class OpenField(BoxArena):
    """KR24's spatial-navigation task.

    Args:
        box_width: side of the square box (m), centred on the origin.
        dt: time step (s).
        turn_std: std of the rotation velocity (rad/s); the turn per step is dt times a draw.
        turn_mean: mean rotation velocity (rad/s).
        speed_scale: Rayleigh scale b of the speed (m/s).
        border_region: distance to a wall (m) within which the agent slows and turns.
        border_slow_factor: speed factor within the border region when heading into a wall.
        biased: pull the agent towards ``anchor`` by ``drift_const * (anchor - x)`` each step.
        drift_const: strength of the pull (per step).
        anchor: (x, y) point of the pull (m).
        init: ``uniform`` start in the box, or ``zero`` (start at the origin).
        n_cells: number of place cells; cell_sigma: their width (m); top_k: decoding cells.
        centres_seed: seed of the random place-cell centres (fixed, so the code is a property of
            the task, not of the experiment seed).
        grid: K of the K x K occupancy grid.
    """

    name = "openfield"

    def __init__(
        self,
        box_width: float = 2.2,
        dt: float = 0.02,
        turn_std: float = 11.52,
        turn_mean: float = 0.0,
        speed_scale: float = 0.26 * np.pi,
        border_region: float = 0.03,
        border_slow_factor: float = 0.25,
        biased: bool = False,
        drift_const: float = 0.05,
        anchor: tuple = (0.0, 0.0),
        init: str = "uniform",
        n_cells: int = 512,
        cell_sigma: float = 0.2,
        top_k: int = 3,
        centres_seed: int = 0,
        grid: int = 4,
    ):
        if init not in ("uniform", "zero"):
            raise ValueError(f"init must be 'uniform' or 'zero', got {init!r}")
        half = box_width / 2
        self._setup_box((-half, -half), (half, half), n_cells, cell_sigma, "softmax", top_k, centres_seed, grid)
        self.half, self.dt, self.turn_std, self.turn_mean = half, dt, turn_std, turn_mean
        self.speed_scale, self.border_region, self.border_slow_factor = speed_scale, border_region, border_slow_factor
        self.biased, self.drift_const, self.anchor = biased, drift_const, np.asarray(anchor, dtype=float)
        self.init = init

    def _avoid_wall(self, pos: np.ndarray, heading: np.ndarray):
        """Near-wall mask (B,) and the turn (B,) that sets the heading parallel to the wall."""
        dists = np.stack([self.half - pos[:, 0], self.half - pos[:, 1],
                          self.half + pos[:, 0], self.half + pos[:, 1]], -1)  # (B, 4): E, N, W, S
        wall = np.argmin(dists, -1)
        a_wall = wrap_angle(heading - wall * np.pi / 2)  # heading relative to the wall's normal
        near = (dists.min(-1) < self.border_region) & (np.abs(a_wall) < np.pi / 2)
        turn = np.where(near, np.sign(a_wall) * (np.pi / 2 - np.abs(a_wall)), 0.0)
        return near, turn

    def sample_positions(self, n: int, steps: int, rng: np.random.Generator) -> np.ndarray:
        """(n, steps+1, 2) paths in m."""
        pos = rng.uniform(-self.half, self.half, (n, 2)) if self.init == "uniform" else np.zeros((n, 2))
        heading = rng.uniform(0, 2 * np.pi, n)
        turns = rng.normal(self.turn_mean, self.turn_std, (n, steps))
        speeds = rng.rayleigh(self.speed_scale, (n, steps))
        out = np.empty((n, steps + 1, 2))
        out[:, 0] = pos
        for t in range(steps):
            near, turn = self._avoid_wall(pos, heading)
            v = np.where(near, speeds[:, t] * self.border_slow_factor, speeds[:, t])
            step = (v * self.dt)[:, None] * np.stack([np.cos(heading), np.sin(heading)], -1)
            if self.biased:
                step = step + self.drift_const * (self.anchor - pos)
            pos = pos + step
            heading = heading + turn + self.dt * turns[:, t]
            out[:, t + 1] = pos
        return out.astype(np.float32)
