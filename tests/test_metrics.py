"""Metrics on hand-made trajectories with known answers."""

import numpy as np
import pytest


from rnnreplay import measures as ms
from rnnreplay import metrics as m
from rnnreplay.jobs import MetricsSettings
from rnnreplay.tasks import TMaze, Triangle


def line(start, velocity, steps):
    """(1, steps, 2) straight path."""
    t = np.arange(1, steps + 1)[:, None]
    return (np.asarray(start) + t * np.asarray(velocity))[None]


def test_wasserstein_of_shifted_cloud(rng):
    x = rng.normal(size=(500, 2))
    assert ms.wasserstein(x, x, n_samples=500) == pytest.approx(0.0, abs=1e-6)
    assert ms.wasserstein(x, x + [0.3, 0.4], n_samples=500) == pytest.approx(0.5, rel=1e-6)


def test_wasserstein_subsample_is_seeded(rng):
    x, y = rng.normal(size=(3000, 2)), rng.normal(size=(3000, 2)) + 1
    assert ms.wasserstein(x, y, 300, seed=1) == ms.wasserstein(x, y, 300, seed=1)


def test_reach_time_up_the_stem():
    maze = TMaze()
    d = 0.05 * np.arange(1, 61)  # distance walked after each step
    walk = np.stack([-np.clip(d - 1, 0, None), np.minimum(d - 1, 0)], -1)[None]  # up the stem, then left
    still = np.tile([[[0.0, -1.0]]], (1, 60, 1))
    times, reached = ms.reach_time(np.concatenate([walk, still]), np.array([[0, -1], [0, -1.0]]),
                                  maze.goals, radius=0.075, min_start_distance=0.5)
    # within 0.075 of (-1, 0) once d > 1.925: step 39 (d = 1.95); standing still never reaches
    assert times.tolist() == [39, 60]
    assert reached.tolist() == [True, False]


def test_reach_time_ignores_start_goal():
    tri = Triangle()
    still_at_vertex = np.tile(tri.goals[0], (1, 30, 1))
    times, reached = ms.reach_time(still_at_vertex, tri.goals[:1], tri.goals, 0.1, 0.5)
    assert not reached[0] and times[0] == 30


def test_speed_step_and_path_length():
    pos = line([0, 0], [0.03, 0.04], 21)  # 0.05 per step
    assert ms.speed(pos, lag=10) == pytest.approx(0.05)
    assert ms.step_length(pos) == pytest.approx(0.05)
    assert ms.path_length(pos) == pytest.approx(1.0)


def test_speed_is_robust_to_jitter(rng):
    still = np.zeros((50, 200, 2)) + 0.02 * rng.standard_normal((50, 200, 2))
    assert ms.step_length(still) > 0.02
    assert ms.speed(still, lag=10) < 0.5 * ms.step_length(still)


def test_off_track_fraction():
    maze = TMaze(off_track_tolerance=0.1)
    pos = np.array([[[0, -0.5], [0.5, 0.0], [0.5, 0.5], [0.3, -0.5]]])
    assert ms.off_track(pos, maze) == pytest.approx(0.5)


def test_occupancy_entropy_and_switches():
    labels = np.array([[0] * 10 + [2] * 10 + [3] * 10 + [2, 3] * 2 + [3] * 6])
    occ = ms.occupancy(labels, 4)
    assert occ.sum() == pytest.approx(1.0) and occ[1] == 0
    assert ms.entropy([0.5, 0.5, 0, 0]) == pytest.approx(np.log(2))
    assert ms.entropy([1, 0, 0, 0]) == 0
    # 0 -> 2 -> 3; the flicker 2,3,2,3 is shorter than min_dwell and is ignored
    assert ms.region_switches(labels, min_dwell=5).tolist() == [2]
    assert ms.region_switches(labels, min_dwell=1).tolist() == [6]


def test_replay_metrics_on_true_paths_is_faithful(rng):
    task = TMaze()
    paths = task.sample_positions(200, 150, rng)
    other = task.sample_positions(200, 150, np.random.default_rng(99))
    cfg = MetricsSettings(burn_in=0, speed_lag=10, w_samples=800, min_dwell=5)
    out = m.compute_metrics(m.ReplayRun(task, other[:, 1:], other[:, 0], paths, cfg))
    assert out["off_track"] == 0
    assert out["compression"] == pytest.approx(1.0, abs=0.1)
    assert out["wasserstein"] < 0.1
    assert out["reach_fraction"] > 0.9
    frozen = np.tile(other[:, :1], (1, 150, 1))
    frozen_out = m.compute_metrics(m.ReplayRun(task, frozen, other[:, 0], paths, cfg))
    assert frozen_out["reach_fraction"] == 0 and frozen_out["wasserstein"] > 5 * out["wasserstein"]


def _region_switches_loop(labels, min_dwell):
    """The first, per-trajectory implementation of region_switches (the vectorised one must agree)."""
    counts = np.zeros(len(labels), dtype=int)
    for i, row in enumerate(np.asarray(labels)):
        change = np.flatnonzero(np.diff(row)) + 1
        bounds = np.concatenate([[0], change, [len(row)]])
        kept = [row[a] for a, b in zip(bounds[:-1], bounds[1:]) if b - a >= min_dwell]
        counts[i] = sum(1 for a, b in zip(kept[:-1], kept[1:]) if a != b)
    return counts


@pytest.mark.parametrize("shape,min_dwell,regions", [((50, 300), 5, 4), ((7, 40), 1, 2), ((20, 60), 3, 3),
                                                     ((1, 1), 1, 2), ((5, 12), 20, 3)])
def test_region_switches_matches_per_trajectory_loop(rng, shape, min_dwell, regions):
    # sticky random labels: runs of varied lengths, flicker included
    labels = np.zeros(shape, dtype=int)
    labels[:, 0] = rng.integers(0, regions, shape[0])
    for t in range(1, shape[1]):
        move = rng.random(shape[0]) < 0.2
        labels[:, t] = np.where(move, rng.integers(0, regions, shape[0]), labels[:, t - 1])
    np.testing.assert_array_equal(ms.region_switches(labels, min_dwell), _region_switches_loop(labels, min_dwell))


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_kde_logpdf_matches_scipy(rng, dim):
    """The vectorised KDE log density equals scipy's gaussian_kde.logpdf, also far from the
    cloud (where a plain sum of exponentials would underflow to -inf)."""
    cloud = rng.normal(size=(700, dim)) * np.linspace(1.0, 0.2, dim)
    kde = ms.fit_kde(cloud, 5000, rng)
    x = np.concatenate([kde.resample(300, seed=1).T, rng.normal(size=(20, dim)) * 40])
    ours = ms.kde_logpdf(kde, x, chunk=64)
    assert np.all(np.isfinite(ours))
    np.testing.assert_allclose(ours, kde.logpdf(x.T), rtol=1e-10, atol=1e-9)


def test_registry_declares_every_metric_once_with_units():
    """Every metric the stage writes is registered with units and a long name; the summary table's
    and the figures' metric lists come from the registry."""
    assert {"wasserstein", "reach_time", "kl", "occupancy", "final_loss"} <= set(m.METRICS)
    for metric in m.METRICS.values():
        assert metric.units in m.UNIT_KINDS and metric.long_name
    assert m.metric_names(table=True)[:4] == ["final_loss", "pi_ratio", "pi_ratio_last", "wasserstein"]
    assert set(m.metric_names(figure="kr24_summary")) >= {"variance", "kl", "angular_drift"}
    with pytest.raises(ValueError, match="twice"):
        m.metric("wasserstein", "1", "again")(lambda run: 0.0)


def test_a_new_metric_is_one_function_and_one_registration(rng, tmp_path):
    """Registering a function makes it a variable of the metrics dataset, with its units."""
    name = "test_mean_x"
    try:
        m.metric(name, "length", "mean decoded x", table=True)(lambda run: float(run.settled[..., 0].mean()))
        task = TMaze()
        paths = task.sample_positions(20, 60, rng)
        run = m.ReplayRun(task, paths[:, 1:], paths[:, 0], paths, MetricsSettings(burn_in=5, w_samples=50))
        values = m.compute_metrics(run)
        assert values[name] == pytest.approx(paths[:, 6:, 0].mean(), rel=1e-6)
        ds = m.metrics_dataset(values, task, {})
        assert ds[name].attrs == {"units": "1", "long_name": "mean decoded x"}
        assert name in m.metric_names(table=True)
    finally:
        m.METRICS.pop(name, None)


def test_path_integration_metrics_need_the_active_run(rng):
    """The pi_* metrics come from the active run against the test paths: a perfect decoder has
    error 0 and ratio 0; a run without an active run has none of them."""
    task = TMaze()
    paths = task.sample_positions(30, 40, rng)
    settings = MetricsSettings(burn_in=5, w_samples=50)
    perfect = m.compute_metrics(m.ReplayRun(task, paths[:, 1:], paths[:, 0], paths, settings, active=paths[:, 1:],
                                            train_length=20))
    assert perfect["pi_error"] == 0 and perfect["pi_ratio"] == 0 and perfect["pi_ratio_last"] == 0
    assert perfect["pi_chance"] > 0.1
    assert not any(k.startswith("pi_") for k in m.compute_metrics(m.ReplayRun(task, paths[:, 1:], paths[:, 0], paths,
                                                                              settings)))
