"""Triangle [CR26; geometry is our reconstruction]: an equilateral triangle of side 1.

``mode: track`` walks along the edges from a random vertex in a random direction;
``mode: arena`` is a smooth random walk inside the triangle, starting near a random vertex.
"""

from __future__ import annotations

import numpy as np

from .base import Task
from .geometry import cumulative_distance, distance_to_segments, walk_polyline

# Vertices of a unit-side equilateral triangle centred on the origin (counter-clockwise).
VERTICES = np.array(
    [[0.0, 1 / np.sqrt(3)], [-0.5, -0.5 / np.sqrt(3)], [0.5, -0.5 / np.sqrt(3)]]
)


class Triangle(Task):
    """Paths on (track) or inside (arena) an equilateral triangle.

    Args:
        mode: "track" (along the edges) or "arena" (random walk inside).
        speed_min, speed_max: range of each trajectory's mean speed (units per step).
        speed_jitter: relative std of the per-step speed.
        turn_std: arena only, std of the heading change per step (rad).
    """

    name = "triangle"
    region_names = ("vertex_0", "vertex_1", "vertex_2", "edge_01", "edge_12", "edge_20")
    vertex_radius = 0.15  # points this close to a vertex belong to its vertex zone

    def __init__(
        self,
        mode: str = "track",
        speed_min: float = 0.02,
        speed_max: float = 0.05,
        speed_jitter: float = 0.2,
        turn_std: float = 0.3,
        goal_radius: float = 0.1,
        off_track_tolerance: float = 0.1,
    ):
        if mode not in ("track", "arena"):
            raise ValueError(f"triangle mode must be 'track' or 'arena', got {mode!r}")
        self.mode = mode
        self.speed_min, self.speed_max, self.speed_jitter = speed_min, speed_max, speed_jitter
        self.turn_std = turn_std
        self.goal_radius, self.off_track_tolerance = goal_radius, off_track_tolerance

    def _speeds(self, n, steps, rng):
        mean_speed = rng.uniform(self.speed_min, self.speed_max, size=(n, 1))
        return mean_speed * np.clip(1 + self.speed_jitter * rng.standard_normal((n, steps)), 0, None)

    def sample_positions(self, n: int, steps: int, rng: np.random.Generator) -> np.ndarray:
        start = rng.integers(0, 3, size=n)
        speed = self._speeds(n, steps, rng)
        if self.mode == "track":
            direction = rng.choice([-1, 1], size=n)
            distance = cumulative_distance(speed)
            corners = int(np.ceil(distance.max())) + 2
            order = (start[:, None] + direction[:, None] * np.arange(corners)) % 3  # (n, K+1)
            return walk_polyline(VERTICES[order], distance).astype(np.float32)
        return self._arena_walk(start, speed, rng)

    def _arena_walk(self, start, speed, rng) -> np.ndarray:
        n, steps = speed.shape
        centroid = VERTICES.mean(0)
        pos = VERTICES[start] + 0.1 * (centroid - VERTICES[start])
        heading = np.arctan2(*(centroid - pos).T[::-1]) + rng.normal(0, 0.5, n)
        out = np.empty((n, steps + 1, 2))
        out[:, 0] = pos
        for t in range(steps):
            heading = heading + rng.normal(0, self.turn_std, n)
            step = speed[:, t, None] * np.stack([np.cos(heading), np.sin(heading)], -1)
            proposal = pos + step
            outside = ~self.contains(proposal)
            # At a wall: turn to face the centroid (with noise) and stand still this step.
            to_centre = centroid - pos
            heading = np.where(
                outside, np.arctan2(to_centre[:, 1], to_centre[:, 0]) + rng.normal(0, 0.5, n), heading
            )
            pos = np.where(outside[:, None], pos, proposal)
            out[:, t + 1] = pos
        return out.astype(np.float32)

    def contains(self, points: np.ndarray) -> np.ndarray:
        """Whether points (..., 2) lie inside the triangle (boundary included)."""
        p = np.asarray(points)
        inside = np.ones(p.shape[:-1], dtype=bool)
        for i in range(3):
            a, b = VERTICES[i], VERTICES[(i + 1) % 3]
            cross = (b[0] - a[0]) * (p[..., 1] - a[1]) - (b[1] - a[1]) * (p[..., 0] - a[0])
            inside &= cross >= -1e-9
        return inside

    @property
    def goals(self) -> np.ndarray:
        return VERTICES.copy()

    def _edges(self):
        return VERTICES, np.roll(VERTICES, -1, axis=0)  # edges 0-1, 1-2, 2-0

    def distance_to_support(self, points: np.ndarray) -> np.ndarray:
        d = distance_to_segments(points, *self._edges()).min(-1)
        if self.mode == "arena":
            d = np.where(self.contains(points), 0.0, d)
        return d

    def region_of(self, points: np.ndarray) -> np.ndarray:
        p = np.asarray(points)
        edge = 3 + np.argmin(distance_to_segments(p, *self._edges()), axis=-1)
        to_vertex = np.linalg.norm(p[..., None, :] - VERTICES, axis=-1)  # (..., 3)
        nearest_vertex = np.argmin(to_vertex, axis=-1)
        return np.where(to_vertex.min(-1) < self.vertex_radius, nearest_vertex, edge)

    def outline(self) -> list[np.ndarray]:
        return [np.vstack([VERTICES, VERTICES[:1]])]
