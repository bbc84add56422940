"""A rectangular arena read out by place cells: the common part of ``openfield`` and ``rat``.

Positions are (x, y) in metres; the target code is the place cells' firing; decoding takes the
mean centre of the most active cells; occupancy regions are the cells of a K x K grid.
"""

from __future__ import annotations

import numpy as np

from .base import CellCodedTask
from .cells import PlaceCells, random_centres


class BoxArena(CellCodedTask):
    """Base of the box tasks. Subclasses call :meth:`_setup_box` and implement
    :meth:`sample_positions`.
    """

    space_dim = 2
    length_unit = "m"
    off_track_tolerance = 0.05  # m outside the walls

    def _setup_box(self, low, high, n_cells: int, cell_sigma: float, normalise: str, top_k: int,
                   centres_seed: int, grid: int) -> None:
        if isinstance(n_cells, bool) or not isinstance(n_cells, int) or n_cells < 1:
            raise ValueError(f"n_cells must be a whole number of at least 1 place cell, got {n_cells!r}")
        self.box = (tuple(float(v) for v in low), tuple(float(v) for v in high))
        self.low, self.high = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
        centres = random_centres(n_cells, self.low, self.high, centres_seed)
        self.cells = PlaceCells(centres, cell_sigma, normalise=normalise, top_k=top_k)
        self.grid = int(grid)
        self.region_names = tuple(f"grid_{i}_{j}" for j in range(self.grid) for i in range(self.grid))

    def distance_to_support(self, points: np.ndarray) -> np.ndarray:
        """Distance (m) outside the box; 0 inside."""
        p = np.asarray(points, dtype=float)
        outside = np.maximum(self.low - p, 0) + np.maximum(p - self.high, 0)  # (..., 2)
        return np.linalg.norm(outside, axis=-1)

    def region_of(self, points: np.ndarray) -> np.ndarray:
        """Index of the K x K grid cell holding each point (points outside are clipped in)."""
        frac = (np.asarray(points, dtype=float) - self.low) / (self.high - self.low)
        ij = np.clip(np.floor(frac * self.grid).astype(int), 0, self.grid - 1)
        return ij[..., 0] + self.grid * ij[..., 1]

    def outline(self) -> list[np.ndarray]:
        (x0, y0), (x1, y1) = self.box
        return [np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]])]
