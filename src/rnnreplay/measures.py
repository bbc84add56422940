"""Replay measures: pure functions of decoded positions, region labels and loss curves, each a
number or an array (docs/methods.md#metrics). The metrics stage (:mod:`rnnreplay.metrics`) registers
metrics built on them.

Positions are arrays (B, T, D): B trajectories of T steps in D spatial dimensions, in the
task's length unit. Times are in steps.
"""

from __future__ import annotations

import math
import os
import sys
from typing import TYPE_CHECKING

import numpy as np

from .tasks import Task
from .tasks.cells import wrap_angle

if TYPE_CHECKING:  # scipy.stats costs ~0.5 s to import: only KR24's KDE metrics load it
    from scipy import stats

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


def grid_cells(points: np.ndarray, low: np.ndarray, cell: float, shape: tuple[int, ...]) -> np.ndarray:
    """Flat index of the grid cell holding each point, every cell of the rectangle counting
    (not only the environment's); points beyond the grid count in its border cells.

    Args:
        points: (..., D) positions (length unit).
        low: (D,) the grid's lower corner; cell: a cell's side (length unit); shape: cells per axis.

    Returns:
        (...) int indices in [0, prod(shape)), C order.
    """
    ij = np.floor((np.asarray(points, dtype=np.float64) - low) / cell).astype(np.int64)
    ij = np.clip(ij, 0, np.asarray(shape) - 1)
    return np.ravel_multi_index(tuple(ij[..., i] for i in range(len(shape))), shape)


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


# --- KR24's metrics ------------------------------------------------------------------------------
def fit_kde(points: np.ndarray, max_points: int, rng: np.random.Generator) -> stats.gaussian_kde:
    """Gaussian KDE (Scott's bandwidth) of a point cloud (..., D), pooled over the leading axes
    and subsampled (fixed seed) to at most ``max_points`` points."""
    from scipy import stats

    x = np.asarray(points, dtype=np.float64).reshape(-1, points.shape[-1])
    return stats.gaussian_kde(_subsample(x, max_points, rng).T)


def kde_logpdf(kde: stats.gaussian_kde, x: np.ndarray, chunk: int = 512) -> np.ndarray:
    """log density of a scipy Gaussian KDE at points x (M, D) -> (M,), per unit length^D.

    The same sum as ``kde.logpdf(x.T)`` (a log-sum-exp over the kernels, in float64), computed
    in coordinates whitened by the kernel covariance with vectorised numpy, chunks of ``chunk``
    query points at a time (memory chunk x n_points x 8 bytes): about 4x faster than scipy's
    for 2D clouds of thousands of points; agrees with it to ~1e-12 relative
    (tests/test_metrics.py)."""
    from scipy import linalg

    chol = np.linalg.cholesky(kde.covariance)  # (D, D), covariance = chol chol^T
    centres = linalg.solve_triangular(chol, kde.dataset, lower=True)  # (D, n) whitened kernels
    queries = linalg.solve_triangular(chol, np.asarray(x, dtype=np.float64).T, lower=True)  # (D, M)
    dim = kde.d
    log_norm = -0.5 * dim * np.log(2 * np.pi) - np.log(np.diag(chol)).sum()
    centre_sq = 0.5 * (centres * centres).sum(0) - np.log(kde.weights)  # (n,)
    out = np.empty(queries.shape[1])
    for start in range(0, queries.shape[1], chunk):
        q = queries[:, start:start + chunk]  # (D, m)
        # -0.5 |q - c|^2 + log w = q.c - 0.5 |q|^2 - (0.5 |c|^2 - log w): one product per chunk
        e = q.T @ centres  # (m, n)
        e -= centre_sq
        top = e.max(axis=1, keepdims=True)
        np.exp(e - top, out=e)
        out[start:start + chunk] = np.log(e.sum(axis=1)) + top[:, 0] - 0.5 * (q * q).sum(0)
    return out + log_norm


def kl_monte_carlo(sample_p, logpdf_p, logpdf_q, n: int, rng: np.random.Generator,
                   clip: float = 1e7) -> float:
    """Monte-Carlo KL(P || Q) = E_P[log p(x) - log q(x)] from ``n`` draws of P [KR24 code].

    Args:
        sample_p: (n, rng) -> (n, D) draws from P.
        logpdf_p, logpdf_q: (n, D) -> (n,) log densities (per unit length^D).
        n: number of draws.
        rng: generator for the draws.
        clip: each density ratio p/q is clipped to [1/clip, clip] (KR24 uses 1e7), so a point
            where Q's KDE underflows counts as log(clip), not infinity.

    Returns:
        KL in nats.
    """
    x = sample_p(n, rng)
    log_ratio = np.clip(logpdf_p(x) - logpdf_q(x), -np.log(clip), np.log(clip))
    return float(np.mean(log_ratio))


def kde_kl(p_points: np.ndarray, q_points: np.ndarray, n: int = 2500, max_points: int = 5000,
           seed: int = 0) -> float:
    """KL(P || Q) between Gaussian KDEs of two point clouds (..., D) [KR24: P = quiescent
    (replay), Q = active]; nats. See :func:`kl_monte_carlo` and :func:`fit_kde`.

    NaN when either cloud is degenerate (its covariance is singular, e.g. a noiseless network
    whose replay settles on a fixed point): a KDE, and so this KL, is then undefined."""
    rng = np.random.default_rng(seed)
    try:
        kp, kq = fit_kde(p_points, max_points, rng), fit_kde(q_points, max_points, rng)
    except np.linalg.LinAlgError:
        return float("nan")
    return kl_monte_carlo(lambda m, r: kp.resample(m, seed=r).T, lambda x: kde_logpdf(kp, x),
                          lambda x: kde_logpdf(kq, x), n, rng)


def uniform_box_kl(box, q_points: np.ndarray, n: int = 2500, max_points: int = 5000, seed: int = 0) -> float:
    """KL(U || Q) from the uniform density on a rectangle, 1 / area, to the KDE of ``q_points``
    (..., 2): KR24's uniform baseline, with the true 2D density (KR24's code uses the 1D density
    1 / 2.2 and so overstates this baseline by log 2.2 nats).

    Args:
        box: ((x0, y0), (x1, y1)) corners, in the points' length unit.
        q_points: (..., 2) points whose KDE is Q (the active distribution).

    Returns:
        KL in nats.
    """
    rng = np.random.default_rng(seed)
    low, high = np.asarray(box[0], dtype=float), np.asarray(box[1], dtype=float)
    log_density = -np.log(np.prod(high - low))
    kq = fit_kde(q_points, max_points, rng)
    return kl_monte_carlo(lambda m, r: r.uniform(low, high, (m, len(low))),
                          lambda x: np.full(len(x), log_density), lambda x: kde_logpdf(kq, x), n, rng)


def total_variance(position: np.ndarray, burn_in: int = 0) -> float:
    """KR24's variance: the trace of each trajectory's position covariance over the steps after
    ``burn_in`` (ddof 1), averaged over trajectories. position (B, T, D) -> length unit^2."""
    x = np.asarray(position, dtype=np.float64)[:, burn_in:]
    return float(x.var(axis=1, ddof=1).sum(-1).mean())


def circular_variance(angle: np.ndarray, burn_in: int = 0) -> float:
    """1 - |mean resultant| of each trajectory's angles after ``burn_in``, averaged over
    trajectories: 0 = parked at one heading, 1 = spread evenly. angle (B, T, 1) or (B, T), rad."""
    a = np.asarray(angle, dtype=np.float64)
    a = a[..., 0] if a.ndim == 3 else a
    resultant = np.abs(np.exp(1j * a[:, burn_in:]).mean(axis=1))
    return float((1 - resultant).mean())


def angular_drift(angle: np.ndarray) -> float:
    """Mean signed angular velocity (rad/step) of heading trajectories (B, T, 1) or (B, T): the
    mean wrapped one-step change (positive = counter-clockwise)."""
    a = np.asarray(angle, dtype=np.float64)
    a = a[..., 0] if a.ndim == 3 else a
    return float(wrap_angle(np.diff(a, axis=1)).mean())


def mean_radius(position: np.ndarray, centre=(0.0, 0.0)) -> float:
    """Mean distance of positions (..., 2) from ``centre`` (length unit): the ring radius of
    the biased open-field task."""
    return float(np.linalg.norm(np.asarray(position) - np.asarray(centre), axis=-1).mean())


def final_loss(loss: np.ndarray, window: int = 50) -> float:
    """Mean of a training loss curve (S,) over its last ``window`` steps (NaN when empty)."""
    return float(np.mean(loss[-min(window, len(loss)):])) if len(loss) else math.nan


