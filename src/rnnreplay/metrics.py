"""Replay metrics (SCIENCE.md section 5), each a function of decoded positions.

Positions are arrays (B, T, D): B trajectories of T steps in D spatial dimensions, in the
task's length unit. Times are in steps.
"""

from __future__ import annotations

import math
import os
import sys

import numpy as np

from .tasks import Task


def _ot():
    """POT, imported on first use without its PyTorch backend: the metrics stage hands it numpy
    arrays only, and importing torch would double the stage's start-up time."""
    if "ot" not in sys.modules:
        key = "POT_BACKEND_DISABLE_PYTORCH"
        before = os.environ.get(key)
        os.environ.setdefault(key, "1")
        try:
            import ot  # noqa: F401
        finally:
            if before is None:
                os.environ.pop(key, None)
    return sys.modules["ot"]


def wasserstein(replay: np.ndarray, reference: np.ndarray, n_samples: int = 1000, seed: int = 0) -> float:
    """Exact W1 (earth mover's) distance between two point clouds, on fixed-seed subsamples.

    Args:
        replay: (..., D) replay positions (pooled over all leading axes).
        reference: (..., D) positions of the true distribution.
        n_samples: points drawn (without replacement when possible) from each cloud.
        seed: subsampling seed.

    Returns:
        W1 in the positions' length unit (POT's exact ``emd2`` with Euclidean cost).
    """
    rng = np.random.default_rng(seed)
    x = _subsample(np.asarray(replay, dtype=np.float64).reshape(-1, replay.shape[-1]), n_samples, rng)
    y = _subsample(np.asarray(reference, dtype=np.float64).reshape(-1, reference.shape[-1]), n_samples, rng)
    ot = _ot()
    cost = ot.dist(x, y, metric="euclidean")
    return float(ot.emd2(ot.unif(len(x)), ot.unif(len(y)), cost, numItermax=1_000_000))


def _subsample(points, n, rng):
    if len(points) <= n:
        return points
    return points[rng.choice(len(points), size=n, replace=False)]


def reach_time(
    position: np.ndarray, start: np.ndarray, goals: np.ndarray, radius: float, min_start_distance: float
) -> tuple[np.ndarray, np.ndarray]:
    """First replay step (1-based) at which each trajectory comes within ``radius`` of a goal
    that lies at least ``min_start_distance`` from its start.

    Args:
        position: (B, T, D) decoded positions; position[:, t] is the state after step t + 1.
        start: (B, D) start positions.
        goals: (G, D) goal points.

    Returns:
        times (B,) censored at T for trajectories that never reach, and reached (B,) booleans.
    """
    steps = position.shape[1]
    eligible = np.linalg.norm(start[:, None, :] - goals[None], axis=-1) >= min_start_distance  # (B, G)
    dist = np.linalg.norm(position[:, :, None, :] - goals[None, None], axis=-1)  # (B, T, G)
    hit = ((dist < radius) & eligible[:, None, :]).any(-1)  # (B, T)
    reached = hit.any(1)
    times = np.where(reached, hit.argmax(1) + 1, steps)
    return times, reached


def speed(position: np.ndarray, lag: int = 10) -> float:
    """Mean ||x_{t+lag} - x_t|| / lag over trajectories and times: travel per step, robust to
    the per-step jitter that the injected noise adds."""
    lag = min(lag, position.shape[1] - 1)
    return float(np.linalg.norm(position[:, lag:] - position[:, :-lag], axis=-1).mean() / lag)


def step_length(position: np.ndarray) -> float:
    """Mean one-step distance ||x_{t+1} - x_t|| [KR24 "distance"]."""
    return float(np.linalg.norm(np.diff(position, axis=1), axis=-1).mean())


def path_length(position: np.ndarray) -> float:
    """Mean over trajectories of the total distance travelled."""
    return float(np.linalg.norm(np.diff(position, axis=1), axis=-1).sum(1).mean())


def off_track(position: np.ndarray, task: Task) -> float:
    """Fraction of positions farther than the task's tolerance from its support."""
    return float((task.distance_to_support(position) > task.off_track_tolerance).mean())


def occupancy(labels: np.ndarray, n_regions: int) -> np.ndarray:
    """Fraction of time in each region: labels (B, T) ints -> (n_regions,) summing to 1."""
    counts = np.bincount(np.asarray(labels).ravel(), minlength=n_regions).astype(float)
    return counts / max(counts.sum(), 1.0)


def entropy(fractions: np.ndarray) -> float:
    """Shannon entropy (nats) of an occupancy vector."""
    p = np.asarray(fractions, dtype=float)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def region_switches(labels: np.ndarray, min_dwell: int = 5) -> np.ndarray:
    """Region changes per trajectory, counting only stays of at least ``min_dwell`` steps (so
    noise-driven flicker at a boundary does not count). labels (B, T) -> (B,) counts.

    Vectorised over all trajectories: runs of equal labels are found on the flattened array
    (every row starts a run), short runs dropped, and label changes between consecutive kept
    runs of the same row counted."""
    labels = np.asarray(labels)
    n, steps = labels.shape
    if n == 0 or steps == 0:
        return np.zeros(n, dtype=int)
    starts = np.ones((n, steps), dtype=bool)
    starts[:, 1:] = labels[:, 1:] != labels[:, :-1]
    first = np.flatnonzero(starts)  # flat index of every run's first step
    length = np.diff(np.append(first, n * steps))
    keep = length >= min_dwell
    run_label, run_row = labels.ravel()[first[keep]], first[keep] // steps
    switch = (run_label[1:] != run_label[:-1]) & (run_row[1:] == run_row[:-1])
    return np.bincount(run_row[1:][switch], minlength=n).astype(int)


def final_loss(loss_ds, window: int = 50) -> float:
    """Mean training loss over the last ``window`` steps of a loss dataset (as
    ``rnnreplay.train.final_loss``, without importing torch)."""
    values = loss_ds["loss"].values
    return float(np.mean(values[-min(window, len(values)):])) if len(values) else math.nan


def replay_metrics(
    task: Task, position: np.ndarray, start: np.ndarray, true_paths: np.ndarray, cfg: dict, seed: int = 0
) -> dict:
    """All scalar metrics of one replay run, plus the occupancy vector.

    Args:
        task: the task (geometry).
        position: (B, T, D) decoded replay positions.
        start: (B, D) replay start positions.
        true_paths: (P, T', D) the task's real paths (held-out test split).
        cfg: ``burn_in`` (steps dropped for distributional metrics), ``speed_lag``,
            ``w_samples``, ``min_dwell``.
        seed: subsampling seed for the W distance.

    Returns:
        dict of metric name -> float, and ``occupancy`` -> (R,) array.
    """
    burn = min(cfg["burn_in"], position.shape[1] - 1)
    settled = position[:, burn:]
    times, reached = reach_time(position, start, task.goals, task.goal_radius, task.goal_min_start_distance)
    labels = task.region_of(settled)
    occ = occupancy(labels, len(task.region_names))
    replay_speed = speed(position, cfg["speed_lag"])
    return {
        "wasserstein": wasserstein(settled, true_paths, cfg["w_samples"], seed),
        "reach_time": float(times.mean()),
        "reach_fraction": float(reached.mean()),
        "speed": replay_speed,
        "step_length": step_length(position),
        "path_length": path_length(position),
        "compression": replay_speed / speed(true_paths, cfg["speed_lag"]),
        "off_track": off_track(settled, task),
        "occupancy_entropy": entropy(occ),
        "region_switches": float(region_switches(labels, cfg["min_dwell"]).mean()),
        "occupancy": occ,
    }


METRIC_INFO = {
    # name: (units, long_name)
    "wasserstein": ("length", "W1 distance, replay (after burn-in) vs true positions"),
    "reach_time": ("step", "mean first step reaching a goal (censored at the replay length)"),
    "reach_fraction": ("1", "fraction of replay trajectories that reached a goal"),
    "speed": ("length/step", "mean displacement over the speed lag, per step"),
    "step_length": ("length", "mean one-step distance"),
    "path_length": ("length", "mean total distance per replay trajectory"),
    "compression": ("1", "replay speed / speed on the real paths"),
    "off_track": ("1", "fraction of replay positions off the task's support"),
    "occupancy_entropy": ("nat", "entropy of the region occupancy"),
    "region_switches": ("1", "region changes per trajectory (stays >= min_dwell steps)"),
    "final_loss": ("1", "training MSE, mean of the last 50 steps"),
}
