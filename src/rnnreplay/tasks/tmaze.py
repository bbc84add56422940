"""T-maze [CR26; geometry is our reconstruction]: run up the stem, turn left or right.

The maze is three unit segments: the stem from (0, -1) to the junction (0, 0) and the arms
to (-1, 0) and (+1, 0). Lengths are dimensionless (maze units).
"""

from __future__ import annotations

import numpy as np

from .base import Task
from .geometry import cumulative_distance, distance_to_segments, walk_polyline

STEM_BOTTOM = np.array([0.0, -1.0])
JUNCTION = np.array([0.0, 0.0])
ARM_ENDS = np.array([[-1.0, 0.0], [1.0, 0.0]])  # left, right


class TMaze(Task):
    """Paths along the T-maze's centre line.

    Args:
        speed_min, speed_max: range of each trajectory's mean speed (maze units per step).
        speed_jitter: relative std of the per-step speed around the trajectory's mean.
        returns: if True, after reaching an arm's end the agent runs back to the junction and
            takes an arm again (p = 0.5 each), so replay can alternate between arms; if False it
            stays at the arm's end.
        p_left: probability of turning left at the junction.
    """

    name = "tmaze"
    region_names = ("stem", "junction", "left_arm", "right_arm")
    junction_radius = 0.15  # points this close to the junction belong to the junction region

    def __init__(
        self,
        speed_min: float = 0.02,
        speed_max: float = 0.05,
        speed_jitter: float = 0.2,
        returns: bool = True,
        p_left: float = 0.5,
        goal_radius: float = 0.1,
        off_track_tolerance: float = 0.1,
    ):
        if not 0 < speed_min <= speed_max:
            raise ValueError(f"need 0 < speed_min <= speed_max, got {speed_min}, {speed_max}")
        self.speed_min, self.speed_max, self.speed_jitter = speed_min, speed_max, speed_jitter
        self.returns, self.p_left = returns, p_left
        self.goal_radius, self.off_track_tolerance = goal_radius, off_track_tolerance

    def sample_positions(self, n: int, steps: int, rng: np.random.Generator) -> np.ndarray:
        mean_speed = rng.uniform(self.speed_min, self.speed_max, size=(n, 1))
        speed = mean_speed * np.clip(1 + self.speed_jitter * rng.standard_normal((n, steps)), 0, None)
        distance = cumulative_distance(speed)  # (n, steps+1)
        # Enough arm visits to cover the longest path: stem, then arm / back pairs of length 1.
        visits = int(np.ceil(distance.max())) // 2 + 1 if self.returns else 1
        arm = np.where(rng.random((n, visits)) < self.p_left, -1.0, 1.0)  # x of each arm end
        corners = [np.broadcast_to(STEM_BOTTOM, (n, 2)), np.broadcast_to(JUNCTION, (n, 2))]
        for k in range(visits):
            corners.append(np.stack([arm[:, k], np.zeros(n)], axis=-1))
            if k < visits - 1:
                corners.append(np.broadcast_to(JUNCTION, (n, 2)))
        waypoints = np.stack(corners, axis=1)  # (n, K+1, 2)
        return walk_polyline(waypoints, distance).astype(np.float32)

    @property
    def goals(self) -> np.ndarray:
        return ARM_ENDS.copy()

    def _segments(self):
        a = np.array([STEM_BOTTOM, JUNCTION, JUNCTION])
        b = np.array([JUNCTION, ARM_ENDS[0], ARM_ENDS[1]])
        return a, b

    def distance_to_support(self, points: np.ndarray) -> np.ndarray:
        return distance_to_segments(points, *self._segments()).min(-1)

    def region_of(self, points: np.ndarray) -> np.ndarray:
        d = distance_to_segments(points, *self._segments())  # (..., 3): stem, left, right
        nearest = np.argmin(d, axis=-1)
        region = np.choose(nearest, [0, 2, 3])
        near_junction = np.linalg.norm(np.asarray(points) - JUNCTION, axis=-1) < self.junction_radius
        return np.where(near_junction, 1, region)

    def outline(self) -> list[np.ndarray]:
        return [np.array([STEM_BOTTOM, JUNCTION]), np.array([ARM_ENDS[0], JUNCTION, ARM_ENDS[1]])]
