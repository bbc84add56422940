"""Helpers shared by the RatInABox comparison test and benchmark: run both motion models on the
same parameters and extract speed, rotational velocity and position samples."""

from __future__ import annotations

import time

import numpy as np

from rnnreplay.tasks.ratmotion import RatMotionParams, random_motion


def run_ratinabox(n: int, steps: int, params: RatMotionParams, seed: int = 0):
    """``n`` RatInABox agents, one after the other, each in its default 1 m box for ``steps``
    updates.

    Returns (positions (n, steps, 2) m, velocities (n, steps, 2) m/s, rotational velocities
    (n, steps) rad/s, agent-steps per second)."""
    import ratinabox
    from ratinabox.Agent import Agent
    from ratinabox.Environment import Environment

    ratinabox.verbose = False
    np.random.seed(seed)  # RatInABox draws from numpy's global generator
    histories, elapsed = [], 0.0
    for _ in range(n):
        agent = Agent(Environment(), params=dict(vars(params)))
        start = time.perf_counter()
        for _ in range(steps):
            agent.update()
        elapsed += time.perf_counter() - start
        histories.append(agent.history)
    get = lambda key: np.array([h[key] for h in histories])  # noqa: E731
    return get("pos"), get("vel"), get("rot_vel"), n * steps / elapsed


def run_ours(n: int, steps: int, params: RatMotionParams, seed: int = 0):
    """``n`` agents of our vectorised model; same returns as :func:`run_ratinabox` but with a
    leading agent axis ((n, steps, 2), (n, steps, 2), (n, steps))."""
    start = time.perf_counter()
    pos, vel = random_motion(n, steps, np.random.default_rng(seed), params, return_velocity=True)
    rate = n * steps / (time.perf_counter() - start)
    heading = np.arctan2(vel[..., 1], vel[..., 0])
    rot = np.concatenate([np.zeros((n, 1)), (np.diff(heading, axis=1) + np.pi) % (2 * np.pi) - np.pi], 1) / params.dt
    return pos[:, 1:], vel, rot, rate


def wall_distance(pos: np.ndarray) -> np.ndarray:
    """Distance (m) to the nearest wall of the unit box."""
    return np.minimum(np.minimum(pos[..., 0], 1 - pos[..., 0]), np.minimum(pos[..., 1], 1 - pos[..., 1]))
