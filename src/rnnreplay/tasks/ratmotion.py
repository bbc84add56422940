"""A vectorised re-implementation of RatInABox's random motion model in a rectangular box.

RatInABox (George et al. 2024, eLife) moves one agent per Python call; this module moves a
whole batch with numpy, following ``Agent.update`` of ratinabox 1.15 step by step:

1. rotational velocity: Ornstein-Uhlenbeck (OU) with std ``rotational_velocity_std`` and
   coherence time ``rotational_velocity_coherence_time``; the velocity turns by omega * dt;
2. speed: mapped from its Rayleigh law (scale ``speed_mean``) to a standard normal, moved by an
   OU with std 1 and coherence ``speed_coherence_time``, and mapped back;
3. walls within ``wall_repel_distance``: a spring acceleration on the velocity, weighted
   3 (1 - thigmotaxis)^2, and a "conveyor belt" shift of the position, weighted
   6 thigmotaxis^2 (so higher thigmotaxis makes the agent hug the walls);
4. position += velocity * dt; a step that leaves the box bounces off the wall it crosses
   (normal component reversed, speed reset to 0.5 * speed_mean, step retaken from the old
   position); a last safety clip keeps the agent 1 cm inside.

The module is checked against RatInABox itself in tests/test_ratinabox.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class RatMotionParams:
    """RatInABox's ``Agent`` defaults (2D). Units: m, s, rad.

    Attributes:
        dt: time step (s).
        speed_mean: Rayleigh scale sigma_v of the speed (m/s); mean speed = sigma_v sqrt(pi/2).
        speed_coherence_time: OU time constant of the speed (s).
        rotational_velocity_std: OU std of the rotational velocity (rad/s).
        rotational_velocity_coherence_time: OU time constant of the rotational velocity (s).
        thigmotaxis: wall hugging in [0, 1].
        wall_repel_distance: distance (m) within which walls repel.
        wall_repel_strength: repulsion strength (0 = off).
    """

    dt: float = 0.05
    speed_mean: float = 0.08
    speed_coherence_time: float = 0.7
    rotational_velocity_std: float = 120 * np.pi / 180
    rotational_velocity_coherence_time: float = 0.08
    thigmotaxis: float = 0.5
    wall_repel_distance: float = 0.1
    wall_repel_strength: float = 1.0


def _ou_step(x, tau, std, dt, rng):
    """RatInABox's ``ornstein_uhlenbeck`` increment with zero drift."""
    sigma = np.sqrt(2 * std**2 / (tau * dt))
    return -x / tau * dt + sigma * dt * rng.standard_normal(x.shape)


def _rayleigh_to_normal(speed, sigma):
    from scipy import special  # here: importing the tasks (every stage does) stays cheap

    u = np.clip(1 - np.exp(-(speed**2) / (2 * sigma**2)), 1e-6, 1 - 1e-6)
    return special.ndtri(u)


def _normal_to_rayleigh(z, sigma):
    from scipy import special

    return sigma * np.sqrt(-2 * special.log_ndtr(-z))  # log(1 - Phi(z)) = log Phi(-z)


def random_motion(
    n: int, steps: int, rng: np.random.Generator, params: RatMotionParams,
    low=(0.0, 0.0), high=(1.0, 1.0), return_velocity: bool = False,
):
    """Simulate ``n`` agents for ``steps`` steps in the box [low, high].

    Args:
        n: number of agents (trajectories).
        steps: number of updates.
        rng: numpy generator (start positions uniform in the box, headings uniform).
        params: motion parameters.
        low, high: box corners (m).
        return_velocity: also return the measured velocity (n, steps, 2) in m/s, i.e.
            (x_{t+1} - x_t) / dt as RatInABox records it.

    Returns:
        positions (n, steps+1, 2) in m (and the measured velocity if asked).
    """
    p = params
    low, high = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    dt = p.dt
    pos = rng.uniform(low, high, (n, 2))
    heading = rng.uniform(0, 2 * np.pi, n)
    vel = p.speed_mean * np.stack([np.cos(heading), np.sin(heading)], -1)
    omega = np.zeros(n)
    out = np.empty((n, steps + 1, 2))
    out[:, 0] = pos
    d, v0 = p.wall_repel_distance, p.wall_repel_strength * p.speed_mean
    # inward normals of the walls x = low, x = high, y = low, y = high
    normals = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    for t in range(steps):
        prev = pos
        # 1. rotational velocity, then turn the velocity
        omega = omega + _ou_step(omega, p.rotational_velocity_coherence_time, p.rotational_velocity_std, dt, rng)
        c, s = np.cos(omega * dt), np.sin(omega * dt)
        vel = np.stack([c * vel[:, 0] - s * vel[:, 1], s * vel[:, 0] + c * vel[:, 1]], -1)
        # 2. speed through its normal transform
        speed = np.linalg.norm(vel, axis=-1)
        zero = speed == 0
        vel = np.where(zero[:, None], [1e-8, 0.0], vel)
        speed = np.where(zero, 1e-8, speed)
        z = _rayleigh_to_normal(speed, p.speed_mean)
        z = z + _ou_step(z, p.speed_coherence_time, 1.0, dt, rng)
        vel = vel * (_normal_to_rayleigh(z, p.speed_mean) / speed)[:, None]
        # 3. wall repulsion: spring on the velocity, conveyor belt on the position
        if p.wall_repel_strength > 0:
            dist = np.stack([pos[:, 0] - low[0], high[0] - pos[:, 0], pos[:, 1] - low[1], high[1] - pos[:, 1]], -1)
            close = dist <= d
            acc = np.where(close, v0**2 / d**2 * (d - dist), 0.0) @ normals  # (n, 2)
            belt = np.where(close, v0 * (1 - np.sqrt(np.clip(1 - (d - dist) ** 2 / d**2, 0, None))), 0.0) @ normals
            vel = vel + 3 * (1 - p.thigmotaxis) ** 2 * acc * dt
            pos = pos + 6 * p.thigmotaxis**2 * belt * dt
        # 4. move; bounce off crossed walls (RatInABox handles one wall per pass)
        pos = pos + vel * dt
        for _ in range(4):
            out_x = (pos[:, 0] < low[0]) | (pos[:, 0] > high[0])
            out_y = (pos[:, 1] < low[1]) | (pos[:, 1] > high[1])
            hit = out_x | out_y
            if not hit.any():
                break
            flip = np.where(out_x[:, None], [-1.0, 1.0], [1.0, -1.0])
            bounced = vel * flip
            bounced = 0.5 * p.speed_mean * bounced / np.linalg.norm(bounced, axis=-1, keepdims=True)
            vel = np.where(hit[:, None], bounced, vel)
            pos = np.where(hit[:, None], prev + vel * dt, pos)
        pos = np.clip(pos, np.where(pos < low, low + 0.01, -np.inf), np.where(pos > high, high - 0.01, np.inf))
        out[:, t + 1] = pos
    if return_velocity:
        return out, np.diff(out, axis=1) / dt
    return out
