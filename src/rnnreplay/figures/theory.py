"""The theory figure and the theory stage (simulate, write the checks, draw)."""

from __future__ import annotations

import numpy as np

from ..checks import stage_outputs
from .common import _panel_grid, save


def theory(sim, path) -> None:
    """The theory oracles, three panels drawn from the simulations that the
    theory checks test (:func:`rnnreplay.theory.simulate`; times in steps).

    (a) The leak coefficient of the Gaussian score, -d score / dr, against time: Brownian path with
    noise, 1 / (q t + rho), and OU path, 1 / var_t, which tends to 2 theta / sigma^2; lines closed
    form, points 1 / (simulated variance). (b) Stationary variance of the momentum Langevin sampler
    of N(0, 1) against friction lambda_v at two step sizes. (c) Mean first-passage time (steps) from
    0 to 1.5 standard deviations against lambda_v: simulated (± SE), the overdamped closed form at
    lambda_v = 1 and the high-friction asymptote lambda_v * T_od / eps.

    Args:
        sim: :class:`rnnreplay.theory.Simulations`.
        path: output PNG (a PDF is written beside it).
    """
    from .. import theory as th

    fig, axes = _panel_grid(3, size=(5.2, 3.9))
    ax = axes[0]
    b, o = th.BROWNIAN, th.OU
    t = np.arange(1, 201)
    ax.plot(t, 1 / th.brownian_variance(t, b["q"], b["rho"]), color="C0", label="Brownian + noise: 1/(qt+ρ)")
    ax.plot(t, 1 / th.ou_variance(t, o["theta"], o["sigma_s"]), color="C1", label="OU: 1/var_t")
    ax.axhline(th.ou_stationary_leak(o["theta"], o["sigma_s"]), color="C1", ls=":", label="OU limit 2θ/σ²")
    ts = np.array([2, 5, 10, 20, 50, 100, 200])
    ax.plot(ts, 1 / sim.brownian[:, ts].var(axis=0, ddof=1), "o", color="C0", ms=4)
    ax.plot(ts, 1 / sim.ou[:, ts].var(axis=0, ddof=1), "s", color="C1", ms=4)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("time since start t (steps)")
    ax.set_ylabel("leak coefficient of the score")
    ax.set_title("(a) the score is a time-varying leak")
    ax.legend(fontsize=7)

    ax = axes[1]
    grid = np.linspace(0.05, 1.0, 100)
    for i, eps in enumerate(th.LANGEVIN_EPS):
        ax.plot(grid, [th.underdamped_stationary_variance(1.0, eps, lam) for lam in grid], color=f"C{i}",
                label=f"closed form, ε={eps}")
        sim_var = [sim.langevin[(eps, lam)][:, th.LANGEVIN_BURN:].var() for lam in th.LANGEVIN_FRICTIONS]
        ax.plot(th.LANGEVIN_FRICTIONS, sim_var, "o", color=f"C{i}", ms=4)
    ax.axhline(1.0, color="0.5", ls=":", label="target v = 1")
    ax.invert_xaxis()
    ax.set_xlabel("friction λ_v (1 = overdamped)")
    ax.set_ylabel("stationary variance of x")
    ax.set_title("(b) momentum keeps the marginal")
    ax.legend(fontsize=7)

    ax = axes[2]
    eps, c, sweep = th.MFPT["eps"], th.MFPT["threshold"], sim.mfpt
    ax.errorbar(sweep["friction"], sweep["mfpt"], yerr=sweep["sem"], fmt="o-", color="C2", ms=4, label="simulated")
    ax.plot(sweep["friction"], sweep["high_friction"], "--", color="0.4", label="λ_v · T_od / ε (high friction)")
    ax.plot([1.0], [th.overdamped_mfpt_steps(th.MFPT["v"], eps, c)], "*", color="k", ms=9,
            label="overdamped closed form")
    ax.axvline(np.sqrt(eps), color="0.7", ls=":", label="λ_v = √ε (turnover)")
    ax.set_xscale("log")
    ax.invert_xaxis()
    ax.set_xlabel("friction λ_v")
    ax.set_ylabel("mean first-passage time (steps)")
    ax.set_title(f"(c) first passage to {c}σ, ε={eps}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    save(fig, path)


@stage_outputs("out_png", "checks_csv")
def write_theory(out_png: str, checks_csv: str, seed: int = 0, n: int = 4000) -> str:
    """The theory stage: simulate once (:func:`rnnreplay.theory.simulate`), write the checks
    (:func:`rnnreplay.theory.checks_table`) as CSV and draw the same simulations as the theory
    figure. Returns a line for the log."""
    from .. import theory as th
    from ..io import write_text

    sim = th.simulate(seed, n)
    checks = th.checks_table(sim)
    write_text(checks_csv, checks.to_csv(index=False))
    theory(sim, out_png)
    return f"{int(checks['passed'].sum())}/{len(checks)} checks pass -> {checks_csv}, {out_png}"
