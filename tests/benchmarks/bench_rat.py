"""Rat-path synthesis throughput (agent-steps per second), against RatInABox on the same
parameters when it is installed (goal: >= 1000x RatInABox's rate, the statistics test passing).

A hook for the ``rat`` task that another branch is writing: until ``rnnreplay.tasks`` has a
``rat`` task this prints 'not available' and writes a row saying so.

    python tests/benchmarks/bench_rat.py [--repeats 3] [--out DIR]
"""

from __future__ import annotations

import importlib.util
import statistics
import time

import common
import numpy as np

from rnnreplay import tasks


def ratinabox_rate(steps: int = 2000) -> float | None:
    """Agent-steps per second of RatInABox's own Agent.update (one agent), if installed."""
    if importlib.util.find_spec("ratinabox") is None:
        return None
    from ratinabox.Agent import Agent
    from ratinabox.Environment import Environment

    agent = Agent(Environment())
    t0 = time.perf_counter()
    for _ in range(steps):
        agent.update()
    return steps / (time.perf_counter() - t0)


def main():
    args = common.parser(__doc__.splitlines()[0]).parse_args()
    common.setup(args)
    if "rat" not in getattr(tasks, "TASKS", {}):
        rows = [{"stage": "rat_synthesis", "status": "not available",
                 "note": "rnnreplay.tasks has no 'rat' task in this checkout"}]
        common.report("rat", rows, args, ["stage", "status", "note"])
        return
    task = tasks.make_task("rat")
    n, steps = (4096, 100) if not args.quick else (256, 50)
    rng = np.random.default_rng(0)
    times = common.time_it(lambda: task.sample_positions(n, steps, rng), args.repeats)
    t = statistics.median(times)
    ours = n * steps / t
    reference = ratinabox_rate(200 if args.quick else 2000)
    rows = [{"stage": "rat_synthesis", "status": "ok", "shape": f"{n} paths x {steps} steps", "seconds": t,
             "seconds_min": min(times), "agent_steps_per_s": ours,
             "ratinabox_agent_steps_per_s": reference if reference is not None else "not installed",
             "speedup_vs_ratinabox": ours / reference if reference else "n/a"}]
    common.report("rat", rows, args, ["stage", "status", "shape", "seconds", "agent_steps_per_s",
                                      "ratinabox_agent_steps_per_s", "speedup_vs_ratinabox"])


if __name__ == "__main__":
    main()
