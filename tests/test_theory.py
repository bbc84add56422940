"""Theory oracles (docs/methods.md#theory-oracles): each simulator against its closed form.

Tolerances are relative and stated per test; each is at least three Monte Carlo standard errors
at the sample size used (the variance of n Gaussian draws has relative SE sqrt(2 / n)), plus the
known discretisation bias where one exists. The whole file runs in about 10 s on one core.
"""

import numpy as np
import pytest

from rnnreplay import theory as th


def test_brownian_marginal_is_gaussian_with_growing_variance():
    q, rho, s0, n = 0.01, 0.04, 0.5, 4000  # variance relative SE sqrt(2/n) = 2.2%
    r = th.simulate_brownian_observed(s0, q, rho, steps=100, n=n, seed=1)
    assert r.shape == (n, 101)
    for t in (0, 10, 50, 100):
        assert r[:, t].mean() == pytest.approx(s0, abs=4 * np.sqrt(th.brownian_variance(t, q, rho) / n))
        assert r[:, t].var(ddof=1) == pytest.approx(th.brownian_variance(t, q, rho), rel=0.08)
        # Stein's identity for the closed-form score: E[score(r) * (r - s0)] = -1.
        assert np.mean(th.brownian_score(r[:, t], t, s0, q, rho) * (r[:, t] - s0)) == pytest.approx(-1, rel=0.08)


def test_brownian_score_is_a_leak_that_decays_in_time():
    t = np.arange(0, 200)
    leak = -th.brownian_score(1.0, t, 0.0, q=0.01, rho=0.04)  # coefficient of -(r - s0)
    assert np.all(np.diff(leak) < 0)
    assert leak[0] == pytest.approx(1 / 0.04) and leak[100] == pytest.approx(1 / 1.04)


def test_ou_marginal_and_its_score_tends_to_a_constant_leak():
    theta, sigma_s, s0, dt, n = 1.0, 0.5, 1.0, 0.05, 4000
    s = th.simulate_ou(s0, theta, sigma_s, dt, steps=200, n=n, seed=2)
    for k in (4, 20, 200):
        t = k * dt
        sd = np.sqrt(th.ou_variance(t, theta, sigma_s))
        assert s[:, k].mean() == pytest.approx(th.ou_mean(t, s0, theta), abs=4 * sd / np.sqrt(n))
        assert s[:, k].var(ddof=1) == pytest.approx(th.ou_variance(t, theta, sigma_s), rel=0.08)
    # Late-time score: the constant leak 2 theta / sigma^2 (closed form and simulation).
    x = np.linspace(-1, 1, 5)
    assert th.ou_score(x, 50.0, s0, theta, sigma_s) == pytest.approx(-th.ou_stationary_leak(theta, sigma_s) * x)
    assert 1 / s[:, 200].var(ddof=1) == pytest.approx(th.ou_stationary_leak(theta, sigma_s), rel=0.08)
    leaks = 1 / th.ou_variance(np.array([0.1, 0.5, 1.0, 5.0]), theta, sigma_s)
    assert np.all(np.diff(leaks) < 0)  # time-varying, decreasing towards the constant


@pytest.mark.parametrize("v, eps", [(1.0, 0.5), (2.0, 0.2)])
def test_overdamped_langevin_stationary_variance(v, eps):
    x = th.simulate_langevin(v, eps, friction=1.0, steps=1500, n=1000, seed=3)
    # 1000 chains x 1000 decorrelated-ish samples: relative SE well under 1%.
    assert x[:, 500:].var() == pytest.approx(th.overdamped_stationary_variance(v, eps), rel=0.03)
    assert th.overdamped_stationary_variance(v, eps) > v * 1.04  # the bias is visible, not noise


def test_underdamped_langevin_keeps_the_stationary_marginal():
    v = 1.0
    # Exact discrete stationary variance, reduced to the overdamped one at friction 1.
    assert th.underdamped_stationary_variance(v, 0.5, 1.0) == th.overdamped_stationary_variance(v, 0.5)
    x = th.simulate_langevin(v, 0.5, friction=0.3, steps=2000, n=1000, seed=4)
    assert x[:, 1000:].var() == pytest.approx(th.underdamped_stationary_variance(v, 0.5, 0.3), rel=0.03)
    # Small eps: the marginal is N(0, v) for any friction.
    for lam in (0.05, 0.3, 1.0):
        assert th.underdamped_stationary_variance(v, 1e-3, lam) == pytest.approx(v, rel=1e-3)
    x = th.simulate_langevin(v, 0.05, friction=0.2, steps=3000, n=1000, seed=5)
    assert x[:, 1000:].var() == pytest.approx(v, rel=0.05)


def test_overdamped_mfpt_matches_pontryagin_formula():
    eps, c = 0.01, 1.5
    t = th.simulate_langevin(1.0, eps, 1.0, steps=20000, n=1000, seed=6, threshold=c)
    assert np.all(t > 0)
    # MC SE about 3% (times are roughly exponential); the discrete-step correction is good to ~3%.
    assert t.mean() == pytest.approx(th.overdamped_mfpt_steps(1.0, eps, c), rel=0.08)
    # Without the correction the closed form is clearly too short: the correction matters.
    assert t.mean() > 1.05 * th.overdamped_mfpt(1.0, c) / eps


def test_mfpt_falls_with_friction_until_oscillation_dominates():
    sweep = th.mfpt_sweep([1.0, 0.5, 0.25, 0.1, 0.02], eps=0.02, threshold=1.5, n=1000, seed=7)
    m = sweep.set_index("friction")["mfpt"]
    assert (sweep["censored"] == 0).all()
    assert m[1.0] > 1.2 * m[0.5] > 1.2 * 1.2 * m[0.25]  # each step down in friction: >= 20% faster
    assert m.idxmin() in (0.25, 0.1)  # the turnover sits near friction ~ sqrt(eps / v) = 0.14
    assert m[0.02] > 1.3 * m.min()


def test_mfpt_high_friction_asymptote():
    # gamma = friction / sqrt(eps) = 11: deep in the high-friction regime.
    sweep = th.mfpt_sweep([0.8], eps=0.005, threshold=1.5, n=1000, seed=8)
    assert sweep["mfpt"][0] == pytest.approx(sweep["high_friction"][0], rel=0.10)


def test_workflow_checks_all_pass():
    checks = th.run_checks(seed=0, n=2000)
    assert len(checks) >= 10
    assert checks["passed"].all(), checks[~checks["passed"]].to_string()
