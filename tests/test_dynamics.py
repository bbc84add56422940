"""Replay-dynamics estimators (rnnreplay.dynamics) on synthetic paths with known answers.

Tolerances, and why:
- Displacement exponent: for Gaussian increments the displacement at lag k is Gaussian with
  covariance proportional to k, so <||dx||> is exactly proportional to sqrt(k) and only sampling
  error remains: 200 x 1000 steps left alpha within 0.004 of 0.5 over lags 1-10 and within 0.011
  over lags 10-100 (five seeds, 1D and 2D); we allow 0.02. A ballistic path has <||dx||> = |v| k
  exactly (alpha 1 to rounding). A fixed point with white noise has the same displacement at
  every lag (alpha 0; measured within 0.002, allowed 0.02).
- Local slopes of AR(1)-velocity paths follow the closed form 0.5 d log MSD / d log k of a
  stationary AR(1) velocity (the displacement is Gaussian, so <||dx||> is proportional to
  sqrt(MSD)); with 200 x 2000 steps the estimate was within 0.015 of it at every lag (five
  seeds); we allow 0.03.
- Model comparison, 20 events of 100 steps: the three models are nested and BIC charges log n
  (~5.3 nats at n = 198) per extra parameter, so a simpler true model loses an event only when a
  likelihood-ratio statistic on the boundary exceeds ~5.3 (a few % of events): over five seeds
  fixed points chose stationary in 95-100% of events and random walks diffusion in 90-100%. We
  require >= 85% (at most 3 of 20 events wrong). Momentum paths (phi 0.5-0.9, observation noise
  std 0.3-0.5 against kicks of std 1) chose momentum in 95-100% of events in 2D and 85-100% in 1D
  (phi = 0.5: half the data, the weakest signal); we require >= 90% in 2D and >= 80% in 1D.
- Fitted persistence: the median over 20 events of 100 steps was within 0.03 of phi in 2D
  (0.49-0.52 for 0.5, 0.77-0.81 for 0.8, 0.88-0.90 for 0.9; five seeds) and within 0.10 in 1D;
  we allow 0.05 and 0.12. A short series' AR coefficient is biased low (about -(1 + 3 phi) / T);
  at T = 800 the median is within 0.01 of 0.8, and we allow 0.03.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

from rnnreplay import dynamics as dy
from rnnreplay import metrics as m
from rnnreplay.jobs import MetricsSettings
from rnnreplay.tasks import HeadDirection, Rat, TMaze


def brownian(rng, b=200, t=1000, d=2, step=1.0):
    return np.cumsum(step * rng.standard_normal((b, t, d)), axis=1)


def ar1_velocity(rng, phi, b, t, d=2, q=1.0, r=0.25):
    """Positions whose velocity is a stationary AR(1), v_t = phi v_(t-1) + N(0, q), observed with
    white noise of variance r."""
    v = rng.standard_normal((b, d)) * math.sqrt(q / (1 - phi**2))
    x, out = np.zeros((b, d)), np.empty((b, t, d))
    for i in range(t):
        v = phi * v + math.sqrt(q) * rng.standard_normal((b, d))
        x = x + v
        out[:, i] = x
    return out + math.sqrt(r) * rng.standard_normal((b, t, d))


def fixed_point(rng, b=20, t=100, d=2, noise=0.3):
    return 2.0 + noise * rng.standard_normal((b, t, d))


def random_walk(rng, b=20, t=100, d=2, noise=0.5):
    return np.cumsum(rng.standard_normal((b, t, d)), axis=1) + noise * rng.standard_normal((b, t, d))


# --- displacement exponent --------------------------------------------------------------------------

@pytest.mark.parametrize("d", [1, 2])
def test_brownian_exponent_is_one_half(rng, d):
    assert dy.displacement_exponent(brownian(rng, d=d), (1, 10)) == pytest.approx(0.5, abs=0.02)
    assert dy.displacement_exponent(brownian(rng, d=d), (10, 100)) == pytest.approx(0.5, abs=0.02)


def test_ballistic_exponent_is_one(rng):
    velocity = rng.normal(size=(50, 1, 2))
    path = np.cumsum(np.repeat(velocity, 500, axis=1), axis=1)
    assert dy.displacement_exponent(path, (1, 10)) == pytest.approx(1.0, abs=1e-9)


def test_fixed_point_exponent_is_zero(rng):
    assert dy.displacement_exponent(fixed_point(rng, b=200, t=1000), (1, 10)) == pytest.approx(0.0, abs=0.02)


def test_exponent_of_a_still_path_is_undefined():
    assert math.isnan(dy.displacement_exponent(np.ones((3, 50, 2)), (1, 10)))


def test_log_lags_and_short_paths():
    assert dy.log_lags(1, 10, 8).tolist() == [1, 2, 3, 4, 5, 7, 10]
    assert dy.log_lags(1, 200, 16)[[0, -1]].tolist() == [1, 200]
    md = dy.mean_displacement(np.zeros((2, 5, 1)), [1, 4, 5, 9])
    assert md[:2].tolist() == [0, 0] and np.isnan(md[2:]).all()  # lags >= T have no pairs


def test_local_slopes_follow_the_ar1_velocity_closed_form(rng):
    phi = 0.9
    lags = dy.log_lags(1, 300, 16)
    path = ar1_velocity(rng, phi, 200, 2000, q=1.0, r=0.0)
    slopes = dy.local_slopes(lags, dy.mean_displacement(path, lags))
    k = lags.astype(float)
    msd = k * (1 + phi) / (1 - phi) - 2 * phi * (1 - phi**k) / (1 - phi) ** 2  # Var of a sum of k AR(1) terms
    expected = 0.5 * np.gradient(np.log(msd), np.log(k))
    np.testing.assert_allclose(slopes, expected, atol=0.03)
    assert slopes[0] > 0.9 and slopes[-1] < 0.6  # ballistic below ~1 / (1 - phi) = 10 steps, diffusive beyond


# --- stationary vs diffusion vs momentum -----------------------------------------------------------

@pytest.mark.parametrize("d, min_share, tolerance", [(1, 0.8, 0.12), (2, 0.9, 0.05)])
def test_momentum_paths_choose_momentum_and_recover_phi(d, min_share, tolerance):
    for phi in (0.5, 0.8, 0.9):
        rng = np.random.default_rng(int(10 * phi))
        out = dy.classify_events(ar1_velocity(rng, phi, 20, 100, d=d, r=0.1 if phi == 0.5 else 0.25), 20, 100,
                                 np.random.default_rng(0))
        assert dy.model_shares(out["best"])["momentum"] >= min_share, phi
        assert np.median(out["persistence"]) == pytest.approx(phi, abs=tolerance)


def test_persistence_is_recovered_closely_from_long_events():
    rng = np.random.default_rng(3)
    out = dy.classify_events(ar1_velocity(rng, 0.8, 10, 800), 10, 800, np.random.default_rng(0))
    assert np.median(out["persistence"]) == pytest.approx(0.8, abs=0.03)


@pytest.mark.parametrize("d", [1, 2])
def test_fixed_point_chooses_stationary(rng, d):
    out = dy.classify_events(fixed_point(rng, d=d), 20, 100, np.random.default_rng(0))
    assert dy.model_shares(out["best"])["stationary"] >= 0.85


@pytest.mark.parametrize("d", [1, 2])
def test_random_walk_chooses_diffusion(rng, d):
    out = dy.classify_events(random_walk(rng, d=d), 20, 100, np.random.default_rng(0))
    assert dy.model_shares(out["best"])["diffusion"] >= 0.85


def test_nested_likelihoods_and_bic(rng):
    y = random_walk(rng, b=1)[0]
    fits = dy.compare_models(y)
    assert fits["stationary"].loglik <= fits["diffusion"].loglik <= fits["momentum"].loglik
    n = 2 * (len(y) - 1)
    for name, fit in fits.items():
        assert fit.bic == pytest.approx(-2 * fit.loglik + dy.N_PARAMS[name] * math.log(n))
    assert dy.best_model(fits) == "diffusion"
    assert fits["diffusion"].step_var == pytest.approx(1.0, rel=0.35)  # true q = 1 per coordinate


def test_diffusion_model_matches_statsmodels_local_level(rng):
    """Our random walk + noise model, 1D, reaches the same maximum likelihood as statsmodels' own
    local-level model (UnobservedComponents), in another parametrisation. UnobservedComponents
    drops the first observation (approximate diffuse start, loglikelihood_burn 1); our exact
    diffuse start keeps its diffuse term, -log(2 pi) / 2 (F_inf = 1), the same in all three of our
    models, so model comparisons are unaffected."""
    from statsmodels.tsa.statespace.structural import UnobservedComponents

    y = random_walk(rng, b=1, d=1)[0, :, 0]
    ours = dy.fit_event(y, "diffusion")
    reference = UnobservedComponents(y - y[0], level="llevel").fit(disp=False)
    assert ours.loglik + 0.5 * math.log(2 * math.pi) == pytest.approx(reference.llf, abs=0.02)
    q, r = reference.params[1], reference.params[0]  # sigma2.level, sigma2.irregular
    assert ours.step_var == pytest.approx(q, rel=0.05) and ours.obs_var == pytest.approx(r, rel=0.1, abs=0.01)


def test_events_are_a_fixed_seed_subsample(rng):
    x = random_walk(rng, b=30, t=300)
    a = dy.classify_events(x, 5, 50, np.random.default_rng(7))
    b = dy.classify_events(x, 5, 50, np.random.default_rng(7))
    assert a["events"] == b["events"] and a["best"] == b["best"] and len(set(r for r, _ in a["events"])) == 5
    assert all(0 <= s <= 250 for _, s in a["events"])


def test_still_events_are_stationary_and_short_runs_are_not_fitted():
    out = dy.classify_events(np.ones((4, 60, 2)), 4, 50, np.random.default_rng(0))
    assert out["best"] == ["stationary"] * 4 and np.isnan(out["persistence"]).all()
    short = dy.classify_events(np.zeros((4, 5, 2)), 4, 50, np.random.default_rng(0))
    assert short["best"] == [] and math.isnan(dy.model_shares(short["best"])["momentum"])


# --- coverage ----------------------------------------------------------------------------------------

def test_grid_of_a_box_and_of_a_maze():
    box = dy.environment_grid(Rat(n_cells=8), 10)
    assert box.shape == (10, 10) and box.n_inside == 100 and box.extent == pytest.approx(1.0)
    maze = TMaze()
    grid = dy.environment_grid(maze, 20)
    assert 30 <= grid.n_inside <= 80 < grid.inside.size  # the tracks' cells, not the whole bounding box
    on_track = maze.sample_positions(20, 100, np.random.default_rng(0))
    assert (grid.index(on_track) >= 0).all()
    assert grid.index(np.array([[0.5, -0.5]]))[0] == -1  # between the stem and an arm: no cell of the maze


def test_coverage_of_a_straight_sweep_is_exact():
    grid = dy.environment_grid(Rat(n_cells=8), 10)  # 1 m box, 0.1 m cells
    x = 0.005 + 0.01 * np.arange(100)  # 0.01 m per step along y = 0.05
    path = np.stack([x, np.full_like(x, 0.05)], -1)[None]
    cov = dy.coverage_curve(path, grid.index(path), 100, grid.n_inside, [0.25, 0.5, 2.0], lag=1)
    # after 0.5 m (step 50, x = 0.505) it has crossed cells 0..5 of one row: 6 of 100
    assert cov[1, 0] == pytest.approx(0.06) and cov[0, 0] == pytest.approx(0.03)
    assert np.isnan(cov[2, 0])  # never travels 2 m


def test_coverage_of_the_ring_and_of_a_still_heading():
    hd = HeadDirection(n_cells=8)
    grid = dy.environment_grid(hd, 36)
    turn = np.linspace(0, 2 * np.pi * 1.2, 400)[None, :, None]  # 1.2 turns, unwrapped
    wrapped = (turn + np.pi) % (2 * np.pi) - np.pi
    cov = dy.coverage_curve(turn, grid.index(wrapped), 36, grid.n_inside, [np.pi, 2 * np.pi], lag=1)
    assert cov[0, 0] == pytest.approx(0.5, abs=1 / 36 + 1e-9) and cov[1, 0] == pytest.approx(1.0)
    still = np.zeros((1, 100, 1))
    assert np.isnan(dy.coverage_curve(still, grid.index(still), 36, 36, [1.0], lag=1)[0, 0])


def test_coarse_distance_discounts_jitter(rng):
    still = 0.02 * rng.standard_normal((10, 1001, 2))
    _, fine = dy.coarse_distance(still, 1)
    _, coarse = dy.coarse_distance(still, 10)
    assert coarse[:, -1].mean() < 0.15 * fine[:, -1].mean()


# --- hover-and-jump ----------------------------------------------------------------------------------

def test_hover_fraction_of_pure_noise_matches_its_closed_form(rng):
    c = 0.5
    noise_2d = fixed_point(rng, b=100, t=1000, d=2)
    noise_1d = fixed_point(rng, b=100, t=1000, d=1)
    assert dy.noise_step(noise_2d) == pytest.approx(2 * 0.3, rel=0.02)  # sqrt(2 D r)
    assert dy.hover_fraction(noise_2d, c) == pytest.approx(1 - math.exp(-c**2), abs=0.01)
    assert dy.hover_fraction(noise_1d, c) == pytest.approx(special.erf(c / math.sqrt(2)), abs=0.01)


def test_hover_fraction_of_motion_and_of_hover_and_jump(rng):
    line = np.cumsum(np.tile([[[0.3, 0.4]]], (20, 500, 1)), axis=1) + 0.01 * rng.standard_normal((20, 500, 2))
    assert dy.hover_fraction(line) < 0.02
    jumps = np.repeat(np.cumsum(rng.normal(size=(20, 50, 2)), axis=1), 10, axis=1)  # stand 10 steps, jump
    assert dy.hover_fraction(jumps) == pytest.approx(0.9, abs=0.01)


# --- the registered metrics -------------------------------------------------------------------------

DYNAMICS = ["displacement_exponent", "mean_displacement", "displacement_slope", "share_stationary", "share_diffusion",
            "share_momentum", "momentum_persistence", "coverage", "coverage_reached", "coverage_curve",
            "hover_fraction"]


def test_dynamics_metrics_are_registered_for_every_task(rng):
    settings = MetricsSettings(burn_in=10, w_samples=50, dynamics_events=4, dynamics_steps=40)
    task = TMaze()
    paths = task.sample_positions(8, 200, rng)
    run = m.ReplayRun(task, paths[:, 1:], paths[:, 0], paths, settings, seed=1)
    values = m.compute_metrics(run)
    assert set(DYNAMICS) <= set(values)
    n_lags = len(dy.log_lags(1, settings.displacement_max_lag, dy.CURVE_POINTS))
    assert values["mean_displacement"].shape == values["displacement_slope"].shape == (n_lags,)
    assert values["coverage_curve"].shape == dy.COVERAGE_CURVE.shape
    assert sum(values[f"share_{k}"] for k in dy.MODELS) == pytest.approx(1.0)
    ds = m.metrics_dataset(values, task, {}, settings)
    assert ds["lag"].values.tolist() == dy.log_lags(1, 200, 16).tolist()
    assert ds["distance"].values.tolist() == dy.COVERAGE_CURVE.tolist()
    assert ds["mean_displacement"].attrs["units"] == task.length_unit


def test_head_direction_uses_the_unwrapped_ring(rng):
    """A heading random walk that crosses +-pi many times: unwrapped, alpha is 0.5 (wrapped
    positions would jump by 2 pi and fake long steps)."""
    walk = np.cumsum(0.2 * rng.standard_normal((50, 1000, 1)), axis=1)
    wrapped = (walk + np.pi) % (2 * np.pi) - np.pi
    hd = HeadDirection(n_cells=8)
    run = m.ReplayRun(hd, wrapped, wrapped[:, 0], wrapped[:, :150], MetricsSettings(burn_in=0), seed=0)
    values = m.compute_metrics(run)
    assert values["displacement_exponent"] == pytest.approx(0.5, abs=0.03)
    assert values["share_diffusion"] >= 0.9
    assert values["coverage_reached"] == 1.0 and 0 < values["coverage"] <= 1


def test_curves_become_named_rows_of_the_metrics_table(rng, tmp_path):
    from rnnreplay.io import provenance, write_dataset
    from rnnreplay.jobs import MetricsJob, TaskSetup
    from rnnreplay.stats import metrics_table

    settings = MetricsSettings(burn_in=5, w_samples=50, dynamics_events=3, dynamics_steps=30)
    task = TMaze()
    paths = task.sample_positions(6, 120, rng)
    values = m.compute_metrics(m.ReplayRun(task, paths[:, 1:], paths[:, 0], paths, settings, seed=2))
    job = MetricsJob(TaskSetup("tmaze", "tmaze"), "leak", "leak", 0, settings)
    write_dataset(m.metrics_dataset(values, task, provenance("test", job, 0), settings), tmp_path / "m.nc")
    table = metrics_table([str(tmp_path / "m.nc")])
    names = set(table["metric"])
    assert {"mean_displacement_lag1", "mean_displacement_lag200", "displacement_slope_lag12",
            "coverage_curve_distance0.25", "coverage_curve_distance4", "occupancy_stem"} <= names
    row = table[table["metric"] == "mean_displacement_lag1"]["value"].item()
    assert row == pytest.approx(values["mean_displacement"][0])


def test_dynamics_figures_draw_from_the_metrics_table(rng, tmp_path):
    """The four replay-dynamics figures draw from the long metrics table, also when a task's
    replay is too short for most lags and never travels the coverage distance (all-NaN curves)."""
    from rnnreplay.figures import draw
    from rnnreplay.io import provenance, write_dataset
    from rnnreplay.jobs import MetricsJob, TaskSetup
    from rnnreplay.stats import metrics_table

    settings = MetricsSettings(burn_in=5, w_samples=50, dynamics_events=3, dynamics_steps=30)
    files = []
    for name, task, steps in (("tmaze", TMaze(), 150), ("headdirection", HeadDirection(n_cells=8), 30)):
        for variant in ("leak", "leak_mom"):
            for seed in (0, 1):
                paths = task.sample_positions(6, steps, rng)
                values = m.compute_metrics(m.ReplayRun(task, paths[:, 1:], paths[:, 0], paths, settings, seed=seed))
                job = MetricsJob(TaskSetup(name, task.name if name == "tmaze" else "headdirection"), variant, variant,
                                 seed, settings)
                files.append(tmp_path / f"{name}_{variant}_{seed}.nc")
                write_dataset(m.metrics_dataset(values, task, provenance("test", job, seed), settings), files[-1])
    metrics_table([str(f) for f in files]).to_csv(tmp_path / "metrics.csv", index=False)
    for kind in ("displacement", "model_shares", "coverage", "compression"):
        draw(kind, [str(tmp_path / "metrics.csv")], str(tmp_path / f"replay_{kind}.png"))
        assert (tmp_path / f"replay_{kind}.png").stat().st_size > 0 and (tmp_path / f"replay_{kind}.pdf").exists()
