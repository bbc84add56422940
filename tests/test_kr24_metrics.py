"""KR24's metrics on inputs with known answers."""

import numpy as np
import pytest


from rnnreplay import measures as ms
from rnnreplay import metrics as m
from rnnreplay.jobs import MetricsSettings
from rnnreplay.tasks import HeadDirection, OpenField


def test_kde_kl_of_shifted_gaussians(rng):
    # KDEs of N(0, I) and N(mu, I) in 2D: each KDE is ~N(., (1 + h^2) I) with Scott's h = n^(-1/6),
    # so KL ~ |mu|^2 / (2 (1 + h^2)); n = 5000: h^2 = 0.058
    p, q = rng.normal(size=(5000, 2)), rng.normal(size=(5000, 2)) + [0.6, 0.8]
    expected = 1.0 / (2 * (1 + 5000 ** (-1 / 3)))
    assert ms.kde_kl(p, q, n=4000, max_points=5000, seed=1) == pytest.approx(expected, rel=0.1)
    same = rng.normal(size=(5000, 2))
    assert abs(ms.kde_kl(p, same, n=4000, seed=1)) < 0.03


def test_kde_kl_is_seeded_and_subsamples(rng):
    p, q = rng.normal(size=(20, 300, 2)), rng.normal(size=(20, 300, 2)) * 1.5
    assert ms.kde_kl(p, q, n=500, max_points=1000, seed=3) == ms.kde_kl(p, q, n=500, max_points=1000, seed=3)


def test_uniform_box_kl_against_a_gaussian(rng):
    # KL(U || N(0, s^2 I)) on the square [-a, a]^2 = -log(4 a^2) + log(2 pi s^2) + E|x|^2 / (2 s^2),
    # E|x|^2 = 2 a^2 / 3. Q is the KDE of 20000 draws: s^2 = 0.25 (1 + h^2), h^2 = 20000^(-1/3).
    # Monte-Carlo standard error with 8000 draws ~0.013 nats: tolerance 0.04 (3 SE)
    a, s2 = 1.1, 0.25 * (1 + 20000 ** (-1 / 3))
    expected = -np.log(4 * a**2) + np.log(2 * np.pi * s2) + (2 * a**2 / 3) / (2 * s2)
    q = 0.5 * rng.normal(size=(20000, 2))
    got = ms.uniform_box_kl(((-a, -a), (a, a)), q, n=8000, max_points=20000, seed=2)
    assert got == pytest.approx(expected, abs=0.04)
    # KR24's code used the 1D density 1/2.2 and would report log(2.2) = 0.79 nats more
    assert got < expected + 0.1


def test_total_variance_of_known_trajectories():
    t = np.arange(200)
    x = np.stack([np.where(t % 2 == 0, 1.0, -1.0), np.zeros(200)], -1)  # +-1 in x: var 1 (ddof 0)
    position = np.stack([x, 2 * x])  # second trajectory: var 4
    expected = np.mean([1.0, 4.0]) * 200 / 199  # ddof 1
    assert ms.total_variance(position) == pytest.approx(expected)
    assert ms.total_variance(np.zeros((3, 50, 2))) == 0
    # burn-in drops the first steps: a jump that ends before burn-in does not count
    jump = np.concatenate([np.full((1, 10, 2), 5.0), np.zeros((1, 90, 2))], 1)
    assert ms.total_variance(jump, burn_in=10) == 0 and ms.total_variance(jump) > 1


@pytest.mark.parametrize("omega", [0.05, -0.2, 0.0])
def test_angular_drift_of_steady_rotation(omega):
    theta = (0.3 + omega * np.arange(500) + np.pi) % (2 * np.pi) - np.pi  # wraps round the circle
    assert ms.angular_drift(np.tile(theta, (4, 1))[..., None]) == pytest.approx(omega, abs=1e-9)


def test_circular_variance():
    assert ms.circular_variance(np.full((2, 100, 1), 1.3)) == pytest.approx(0.0, abs=1e-12)
    even = np.linspace(-np.pi, np.pi, 400, endpoint=False)[None, :, None]
    assert ms.circular_variance(even) == pytest.approx(1.0, abs=1e-9)


def test_mean_radius_of_a_ring():
    phi = np.linspace(0, 2 * np.pi, 100)
    ring = 0.33 * np.stack([np.cos(phi), np.sin(phi)], -1)[None]
    assert ms.mean_radius(ring) == pytest.approx(0.33)


def test_kr24_metrics_per_task(rng):
    cfg = MetricsSettings(burn_in=10, kl_samples=300, kde_points=500, w_samples=100)
    kr24 = set(m.metric_names(figure="kr24_summary")) | {"angular_drift_untrained", "circular_variance"}
    box = OpenField(n_cells=8)
    pos = rng.uniform(-1.1, 1.1, (5, 100, 2))
    active = rng.uniform(-1.1, 1.1, (5, 100, 2))
    out = m.compute_metrics(m.ReplayRun(box, pos, pos[:, 0], active, cfg, active=active))
    assert set(out) & kr24 == {"variance", "mean_radius"}  # the KL metrics: on tasks with baselines
    untrained = rng.uniform(-1.1, 1.1, (5, 100, 2))
    out = m.compute_metrics(m.ReplayRun(box, pos, pos[:, 0], active, cfg, active=active, untrained=untrained))
    assert set(out) & kr24 == {"variance", "mean_radius", "kl", "kl_untrained", "kl_uniform"}
    # uniform replay vs uniform activity: both KLs are small (KDE edge effects only)
    assert out["kl"] < 0.3 and out["kl_uniform"] < 0.3
    # a variance of uniform on [-1.1, 1.1]^2: 2 * 2.2^2 / 12
    assert out["variance"] == pytest.approx(2 * 2.2**2 / 12, rel=0.1)
    hd = HeadDirection(n_cells=8)
    theta = ((0.1 * np.arange(100) + np.pi) % (2 * np.pi) - np.pi)[None, :, None]
    out = m.compute_metrics(m.ReplayRun(hd, theta, theta[:, 0], theta, cfg))
    assert set(out) & kr24 == {"angular_drift", "circular_variance"} and out["angular_drift"] == pytest.approx(0.1)


def test_replay_metrics_skip_reach_time_without_goals(rng):
    task = OpenField(n_cells=8)
    paths = task.sample_positions(50, 60, rng)
    cfg = MetricsSettings(burn_in=0, speed_lag=5, w_samples=200, min_dwell=3)
    out = m.compute_metrics(m.ReplayRun(task, paths[:, 1:], paths[:, 0], paths, cfg))
    assert "reach_time" not in out and out["off_track"] < 0.05
    hd = HeadDirection(n_cells=8)
    turns = hd.sample_positions(50, 60, rng)
    out = m.compute_metrics(m.ReplayRun(hd, turns[:, 1:], turns[:, 0], turns, cfg))
    # the wrap at +-pi is not a jump: the step length is the turn size (std 0.23 rad/step)
    assert out["step_length"] == pytest.approx(0.2304 * np.sqrt(2 / np.pi), rel=0.15)


def test_kde_kl_of_a_collapsed_cloud_is_nan(rng):
    from rnnreplay.measures import kde_kl

    fixed_point = np.zeros((50, 2)) + [0.3, -0.2]
    assert np.isnan(kde_kl(fixed_point, rng.normal(size=(500, 2)), n=200))
