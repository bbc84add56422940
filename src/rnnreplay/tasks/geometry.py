"""Vectorised plane geometry shared by the tasks: walking along polylines, distances to segments."""

from __future__ import annotations

import numpy as np


def walk_polyline(waypoints: np.ndarray, distance: np.ndarray) -> np.ndarray:
    """Positions at given arc lengths along per-trajectory polylines.

    Args:
        waypoints: (B, K+1, D) corners of each trajectory's polyline.
        distance: (B, T) arc length travelled from the first waypoint at each step; values
            past the polyline's end stay at its last point.

    Returns:
        (B, T, D) positions.
    """
    seg = np.diff(waypoints, axis=1)  # (B, K, D)
    seg_len = np.linalg.norm(seg, axis=-1)  # (B, K)
    cum = np.concatenate([np.zeros_like(seg_len[:, :1]), np.cumsum(seg_len, axis=1)], axis=1)
    total = cum[:, -1:]
    d = np.clip(distance, 0.0, total)
    idx = (d[:, :, None] >= cum[:, None, 1:]).sum(-1)  # (B, T) segment index
    idx = np.minimum(idx, seg.shape[1] - 1)
    start = np.take_along_axis(cum, idx, axis=1)
    length = np.take_along_axis(seg_len, idx, axis=1)
    frac = np.where(length > 0, (d - start) / np.where(length > 0, length, 1.0), 0.0)
    origin = np.take_along_axis(waypoints, idx[..., None], axis=1)
    direction = np.take_along_axis(seg, idx[..., None], axis=1)
    return origin + frac[..., None] * direction


def distance_to_segments(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance from each point to the nearest of S segments.

    Args:
        points: (..., 2) query points.
        a, b: (S, 2) segment end points.

    Returns:
        (..., S) distances to every segment.
    """
    p = np.asarray(points, dtype=np.float64)[..., None, :]  # (..., 1, 2)
    ab = b - a
    t = np.clip(((p - a) * ab).sum(-1) / (ab * ab).sum(-1), 0.0, 1.0)
    nearest = a + t[..., None] * ab
    return np.linalg.norm(p - nearest, axis=-1)


def cumulative_distance(speed: np.ndarray) -> np.ndarray:
    """Arc length travelled at each step from per-step speeds (B, T) -> (B, T+1), starting at 0."""
    zero = np.zeros_like(speed[:, :1])
    return np.concatenate([zero, np.cumsum(speed, axis=1)], axis=1)
