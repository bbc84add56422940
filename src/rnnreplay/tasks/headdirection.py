"""Head direction [KR24 paper + code]: an angular random walk read out by von Mises cells.

The latent path is the heading theta_t in [-pi, pi) (rad); each step turns by dt times a
Gaussian draw (mean ``turn_mean``, std ``turn_std`` rad/s); ``biased: true`` takes the absolute
value of every draw, so the agent only turns counter-clockwise [KR24 code]. The input is the
turn per step; the target is the firing of 512 von Mises cells (sigma pi/6, peak 1); decoding is
the circular mean of the 3 most active cells' preferred angles.
"""

from __future__ import annotations

import numpy as np

from .base import CellCodedTask
from .cells import HeadDirectionCells, wrap_angle


class HeadDirection(CellCodedTask):
    """KR24's head-direction task (positions are angles, space_dim 1, unit rad).

    Args:
        dt: time step (s).
        turn_std, turn_mean: std and mean of the angular velocity (rad/s).
        biased: counter-clockwise turns only (|draw|).
        n_cells: number of head-direction cells; spread: their sigma (rad); top_k: decoding cells.
        sectors: number of equal angular sectors used as occupancy regions.
    """

    name = "headdirection"
    space_dim = 1
    length_unit = "rad"
    circular = True

    def __init__(
        self,
        dt: float = 0.02,
        turn_std: float = 11.52,
        turn_mean: float = 0.0,
        biased: bool = False,
        n_cells: int = 512,
        spread: float = np.pi / 6,
        top_k: int = 3,
        sectors: int = 8,
    ):
        self.dt, self.turn_std, self.turn_mean, self.biased = dt, turn_std, turn_mean, biased
        self.cells = HeadDirectionCells(n_cells, spread, top_k)
        self.sectors = int(sectors)
        self.region_names = tuple(f"sector_{k}" for k in range(self.sectors))

    def sample_positions(self, n: int, steps: int, rng: np.random.Generator) -> np.ndarray:
        """(n, steps+1, 1) headings in rad, wrapped to [-pi, pi)."""
        start = rng.uniform(-np.pi, np.pi, (n, 1))
        turns = rng.normal(self.turn_mean, self.turn_std, (n, steps))
        if self.biased:
            turns = np.abs(turns)
        theta = np.concatenate([start, start + np.cumsum(self.dt * turns, axis=1)], axis=1)
        return wrap_angle(theta)[..., None].astype(np.float32)

    def inputs_of(self, position: np.ndarray, code: np.ndarray) -> np.ndarray:
        """The turn per step (B, T, 1) in rad: the heading's change, unwrapped."""
        return wrap_angle(np.diff(position, axis=1))

    def inputs_of_torch(self, position, code):
        """:meth:`inputs_of` in torch: the unwrapped turn (B, T, 1), rad (remainder as numpy's %)."""
        import torch

        return torch.remainder(position[:, 1:] - position[:, :-1] + np.pi, 2 * np.pi) - np.pi

    def distance_to_support(self, points: np.ndarray) -> np.ndarray:
        """Every heading is on the ring: zeros (...)."""
        return np.zeros(np.asarray(points).shape[:-1])

    def region_of(self, points: np.ndarray) -> np.ndarray:
        """Sector index (...) of headings (..., 1)."""
        frac = (wrap_angle(np.asarray(points)[..., 0]) + np.pi) / (2 * np.pi)
        return np.clip(np.floor(frac * self.sectors).astype(int), 0, self.sectors - 1)
