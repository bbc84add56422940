"""Theory oracles (docs/methods.md#theory-oracles): closed forms and seeded, vectorised simulators.

Everything is one-dimensional and in discrete time unless said otherwise; times are in steps
(Brownian) or in the OU process's own time unit, positions in arbitrary length units.

- Brownian path observed with noise: p_t = N(s0, q t + rho); score -(r - s0)/(q t + rho), a leak
  towards s0 whose coefficient 1/(q t + rho) decays with t (claim C1: the score is time-varying).
- OU path ds = -theta s dt + sigma_s dW: mean s0 e^{-theta t}, variance
  sigma_s^2 (1 - e^{-2 theta t}) / (2 theta); the score's leak tends to the constant 2 theta / sigma_s^2.
- Langevin sampling of N(0, v) with the cell's momentum form (docs/methods.md#the-model):
  u' = (1 - lam) u + eps * score(x) + sqrt(2 lam eps) xi,  x' = x + u'.
  lam = 1 is overdamped Langevin, stationary variance v / (1 - eps / (2 v)); for any lam in (0, 1]
  the stationary variance is v / (1 - eps / (2 v (2 - lam))) (solved from the discrete Lyapunov
  equation), so the marginal is kept as eps -> 0. (The kick is sometimes written
  sqrt(2 gamma eps) with lam = gamma eps, i.e. sqrt(2 lam): with x' = x + u' that would give the
  overdamped case a stationary variance of about v / eps, not v; the kick here is that one times
  sqrt(eps), as docs/methods.md#the-model writes it.) The mean first-passage time (MFPT) from 0
  to a distant threshold falls as lam falls (high friction: MFPT ~ lam * T_od / eps) until the
  dynamics become oscillatory (lam ~ sqrt(eps / v), the Kramers turnover) and it rises again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import integrate, stats


# Discrete-monitoring correction of a barrier: a walk checked every step crosses like the
# continuous process would cross a barrier shifted by BETA * (step std); BETA = -zeta(1/2)/sqrt(2 pi)
# (Broadie, Glasserman & Kou 1997; Siegmund 1979).
BETA = 0.5825971579390106


# --- Brownian path observed with noise ------------------------------------------------------

def brownian_variance(t, q: float, rho: float):
    """Variance q t + rho of p_t (t in steps, array-like) for increments of variance q per step
    and observation noise of variance rho."""
    return q * np.asarray(t, dtype=float) + rho


def brownian_score(r, t, s0: float, q: float, rho: float):
    """Score d/dr log p_t(r) = -(r - s0) / (q t + rho); r and t broadcast together."""
    return -(np.asarray(r, dtype=float) - s0) / brownian_variance(t, q, rho)


def simulate_brownian_observed(s0: float, q: float, rho: float, steps: int, n: int, seed: int) -> np.ndarray:
    """Observations r_t = s_t + sqrt(rho) eta_t of n Brownian paths s_t = s0 + sum of N(0, q) steps.

    Returns:
        (n, steps + 1) array; column t is time t (t = 0 is the start).
    """
    rng = np.random.default_rng(seed)
    increments = rng.normal(0.0, np.sqrt(q), size=(n, steps))
    s = s0 + np.concatenate([np.zeros((n, 1)), np.cumsum(increments, axis=1)], axis=1)
    return s + rng.normal(0.0, np.sqrt(rho), size=s.shape)


# --- Ornstein-Uhlenbeck path ----------------------------------------------------------------

def ou_mean(t, s0: float, theta: float):
    """Mean s0 e^{-theta t} of the OU process started at s0 (t in the process's time unit)."""
    return s0 * np.exp(-theta * np.asarray(t, dtype=float))


def ou_variance(t, theta: float, sigma_s: float):
    """Variance sigma_s^2 (1 - e^{-2 theta t}) / (2 theta) at time t of the OU process from a point."""
    return sigma_s**2 * (1.0 - np.exp(-2.0 * theta * np.asarray(t, dtype=float))) / (2.0 * theta)


def ou_score(s, t, s0: float, theta: float, sigma_s: float):
    """Score -(s - mean_t) / var_t of the OU marginal at time t > 0; s and t broadcast."""
    return -(np.asarray(s, dtype=float) - ou_mean(t, s0, theta)) / ou_variance(t, theta, sigma_s)


def ou_stationary_leak(theta: float, sigma_s: float) -> float:
    """The constant leak 2 theta / sigma_s^2 the OU score tends to: score -> -2 theta s / sigma_s^2."""
    return 2.0 * theta / sigma_s**2


def simulate_ou(s0: float, theta: float, sigma_s: float, dt: float, steps: int, n: int, seed: int) -> np.ndarray:
    """n OU paths sampled exactly on a grid of spacing dt (no discretisation error).

    Returns:
        (n, steps + 1) array; column k is time k * dt.
    """
    rng = np.random.default_rng(seed)
    decay = np.exp(-theta * dt)
    std = np.sqrt(ou_variance(dt, theta, sigma_s))
    s = np.empty((n, steps + 1))
    s[:, 0] = s0
    for k in range(steps):
        s[:, k + 1] = decay * s[:, k] + std * rng.standard_normal(n)
    return s


# --- Langevin sampling of N(0, v) -----------------------------------------------------------

def overdamped_stationary_variance(v: float, eps: float) -> float:
    """Stationary variance v / (1 - eps / (2 v)) of x' = x - eps x / v + sqrt(2 eps) xi (eps < 2 v)."""
    return v / (1.0 - eps / (2.0 * v))


def underdamped_stationary_variance(v: float, eps: float, friction: float) -> float:
    """Stationary variance of x under the momentum sampler with friction lam = ``friction``:
    v / (1 - eps / (2 v (2 - lam))); equals the overdamped value at lam = 1 and v as eps -> 0."""
    return v / (1.0 - eps / (2.0 * v * (2.0 - friction)))


def simulate_langevin(v: float, eps: float, friction: float, steps: int, n: int, seed: int,
                      x0: float = 0.0, threshold: float | None = None):
    """Momentum-form Langevin sampler of N(0, v), n chains in parallel.

    u' = (1 - friction) u - eps x / v + sqrt(2 friction eps) xi,  x' = x + u'  (u_0 = 0).

    Args:
        v: target variance; eps: step size; friction: lam in (0, 1] (1 = overdamped).
        steps: steps to run (the maximum when ``threshold`` is set).
        threshold: if given, stop each chain at its first step with x >= threshold.

    Returns:
        Without threshold: x, (n, steps) positions after each step.
        With threshold: first-passage times (n,) in steps (1-based), -1 for chains that never
        crossed within ``steps``.
    """
    rng = np.random.default_rng(seed)
    x = np.full(n, float(x0))
    u = np.zeros(n)
    kick = np.sqrt(2.0 * friction * eps)
    if threshold is None:
        out = np.empty((n, steps))
        for k in range(steps):
            u = (1.0 - friction) * u - eps * x / v + kick * rng.standard_normal(n)
            x = x + u
            out[:, k] = x
        return out
    times = np.full(n, -1)
    alive = np.ones(n, dtype=bool)
    for k in range(1, steps + 1):
        u = (1.0 - friction) * u - eps * x / v + kick * rng.standard_normal(n)
        x = x + u
        hit = alive & (x >= threshold)
        times[hit] = k
        alive &= ~hit
        if not alive.any():
            break
    return times


def overdamped_mfpt(v: float, threshold: float, x0: float = 0.0) -> float:
    """Continuous-time mean first-passage time from x0 to threshold of dx = -x/v dt + sqrt(2) dW:
    T = sqrt(2 pi v) * int_{x0}^{c} e^{y^2 / (2 v)} Phi(y / sqrt v) dy (Pontryagin), in time units."""
    f = lambda y: np.exp(y * y / (2.0 * v)) * stats.norm.cdf(y / np.sqrt(v))  # noqa: E731
    return float(np.sqrt(2.0 * np.pi * v) * integrate.quad(f, x0, threshold)[0])


def overdamped_mfpt_steps(v: float, eps: float, threshold: float, x0: float = 0.0) -> float:
    """MFPT in steps of the overdamped sampler (friction 1): T / eps, with the threshold shifted by
    BETA * sqrt(2 eps) for monitoring at discrete steps (accurate to a few percent at eps <= 0.02)."""
    return overdamped_mfpt(v, threshold + BETA * np.sqrt(2.0 * eps), x0) / eps


def high_friction_mfpt_steps(v: float, eps: float, friction: float, threshold: float, x0: float = 0.0) -> float:
    """High-friction asymptote friction * (overdamped MFPT in steps): with u = h p, eps = h^2 and
    friction = gamma h, the sampler is underdamped Langevin with friction gamma, whose overdamped
    limit runs gamma times slower. Valid for gamma = friction / sqrt(eps) >> 1 / sqrt(v)."""
    return friction * overdamped_mfpt_steps(v, eps, threshold, x0)


def mfpt_sweep(frictions, v: float = 1.0, eps: float = 0.02, threshold: float = 1.5, n: int = 2000,
               seed: int = 0, max_steps: int = 20000) -> pd.DataFrame:
    """Simulated MFPT (steps) from 0 to ``threshold`` for each friction, with its standard error.

    Returns:
        columns friction, mfpt, sem, censored (fraction that never crossed; their times count
        as max_steps, so mfpt is then a lower bound), high_friction (the asymptote).
    """
    rows = []
    for i, lam in enumerate(frictions):
        t = simulate_langevin(v, eps, lam, max_steps, n, seed + i, threshold=threshold).astype(float)
        censored = float(np.mean(t < 0))
        t[t < 0] = max_steps
        rows.append(dict(friction=float(lam), mfpt=float(t.mean()), sem=float(stats.sem(t)), censored=censored,
                         high_friction=high_friction_mfpt_steps(v, eps, lam, threshold)))
    return pd.DataFrame(rows)


# --- The workflow's theory stage: one set of simulations, checked and drawn -------------------

@dataclass
class Simulations:
    """The oracles simulated once (:func:`simulate`); the checks (:func:`checks_table`) and the
    theory figure (:func:`rnnreplay.figures.theory`) both read these, so the figure shows exactly
    what the checks test. Times are in steps throughout.

    Attributes:
        brownian: (n, 201) noisy observations of Brownian paths (:data:`BROWNIAN`).
        ou: (n, 201) OU paths, one step = one time unit (:data:`OU`).
        langevin: (eps, friction) -> (n // 4, steps) positions of the momentum sampler of N(0, 1).
        mfpt: the first-passage sweep (:func:`mfpt_sweep`) over :data:`MFPT_FRICTIONS`.
    """

    brownian: np.ndarray
    ou: np.ndarray
    langevin: dict
    mfpt: pd.DataFrame


BROWNIAN = dict(s0=0.5, q=0.01, rho=0.04)  # increments of variance q per step, observation noise rho
# per step: theta t = 1 at 20 steps; the process ds = -s dt + 0.5 dW in time units of 20 steps
OU = dict(s0=1.0, theta=0.05, sigma_s=0.5 / np.sqrt(20))
LANGEVIN_EPS, LANGEVIN_FRICTIONS, LANGEVIN_STEPS, LANGEVIN_BURN = (0.5, 0.05), (1.0, 0.7, 0.5, 0.3, 0.2, 0.1), 3000, 1000
MFPT = dict(v=1.0, eps=0.02, threshold=1.5)
MFPT_FRICTIONS = (1.0, 0.7, 0.5, 0.35, 0.25, 0.15, 0.1, 0.07, 0.05, 0.03, 0.02)


def simulate(seed: int = 0, n: int = 4000) -> Simulations:
    """Run every simulation of the theory stage: ``n`` chains each (``n // 4`` for the long
    Langevin chains, ``n // 2`` per friction for first passages), seeds derived from ``seed``."""
    b, o = BROWNIAN, OU
    langevin = {(eps, lam): simulate_langevin(1.0, eps, lam, LANGEVIN_STEPS, n // 4, seed + 2 + 10 * i + j)
                for i, eps in enumerate(LANGEVIN_EPS) for j, lam in enumerate(LANGEVIN_FRICTIONS)}
    return Simulations(
        brownian=simulate_brownian_observed(b["s0"], b["q"], b["rho"], 200, n, seed),
        ou=simulate_ou(o["s0"], o["theta"], o["sigma_s"], 1.0, 200, n, seed + 1),
        langevin=langevin,
        mfpt=mfpt_sweep(MFPT_FRICTIONS, n=n // 2, seed=seed + 100, **MFPT),
    )


def checks_table(sim: Simulations) -> pd.DataFrame:
    """Each simulated quantity against its closed form.

    Returns:
        One row per check: check, simulated, closed_form, rel_error, tolerance, passed. The
        tolerances are fixed here (several Monte Carlo standard errors at the default n, plus the
        known discretisation bias where there is one).
    """
    rows = []

    def add(check, simulated, closed, tol):
        rel = abs(simulated - closed) / abs(closed)
        rows.append(dict(check=check, simulated=float(simulated), closed_form=float(closed),
                         rel_error=float(rel), tolerance=tol, passed=bool(rel <= tol)))

    # Brownian: variance q t + rho at two times; the score's leak decays (time-varying score).
    b, r = BROWNIAN, sim.brownian
    for t in (10, 100):
        add(f"brownian_variance_t{t}", r[:, t].var(ddof=1), brownian_variance(t, b["q"], b["rho"]), 0.08)
    leak_early, leak_late = 1 / r[:, 10].var(ddof=1), 1 / r[:, 100].var(ddof=1)
    add("brownian_leak_ratio_t10_t100", leak_early / leak_late,
        brownian_variance(100, b["q"], b["rho"]) / brownian_variance(10, b["q"], b["rho"]), 0.12)
    # OU: mean and variance at theta t = 1 and the late-time leak 2 theta / sigma^2 (theta t = 10).
    o, s = OU, sim.ou
    add("ou_mean_t20", s[:, 20].mean(), ou_mean(20, o["s0"], o["theta"]), 0.05)
    add("ou_variance_t20", s[:, 20].var(ddof=1), ou_variance(20, o["theta"], o["sigma_s"]), 0.08)
    add("ou_late_leak_t200", 1 / s[:, 200].var(ddof=1), ou_stationary_leak(o["theta"], o["sigma_s"]), 0.08)
    # Langevin stationary variances (time average over the chains after the burn-in).
    for lam in (1.0, 0.3):
        x = sim.langevin[(0.5, lam)][:, LANGEVIN_BURN:]
        add(f"langevin_variance_eps0.5_lambda{lam}", x.var(), underdamped_stationary_variance(1.0, 0.5, lam), 0.03)
    # MFPT: overdamped closed form, then the fall with friction and the turnover.
    m = dict(zip(sim.mfpt["friction"], sim.mfpt["mfpt"]))
    add("mfpt_overdamped", m[1.0], overdamped_mfpt_steps(MFPT["v"], MFPT["eps"], MFPT["threshold"]), 0.12)
    falls = m[1.0] > m[0.5] > m[0.25]
    rows.append(dict(check="mfpt_falls_with_friction_1_0.5_0.25", simulated=m[0.25] / m[1.0], closed_form=np.nan,
                     rel_error=np.nan, tolerance=np.nan, passed=bool(falls)))
    rows.append(dict(check="mfpt_turnover_at_0.02", simulated=m[0.02] / m[0.25], closed_form=np.nan,
                     rel_error=np.nan, tolerance=np.nan, passed=bool(m[0.02] > m[0.25])))
    return pd.DataFrame(rows)


def run_checks(seed: int = 0, n: int = 4000) -> pd.DataFrame:
    """The checks of a fresh :func:`simulate` (see :func:`checks_table`)."""
    return checks_table(simulate(seed, n))
