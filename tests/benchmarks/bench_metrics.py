"""Metrics of one replay file of 200 trajectories x 1000 steps (goal: <= 2 s per file).

Replay-like positions are the task's own paths plus per-step jitter (noise-driven flicker at
region boundaries included). Timed: reading the replay file, then ``replay_metrics`` as the
``metrics`` stage calls it, and each metric alone, so the table shows where the time goes.
No GEMM here; the GEMM rate is still recorded so that runs on loaded machines can be compared.

    python tests/benchmarks/bench_metrics.py [--repeats 3] [--out DIR]
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common
import numpy as np
import xarray as xr

from rnnreplay import measures as ms
from rnnreplay import metrics as m
from rnnreplay.config import metrics_job, replay_job, synthesis_job, to_json, train_job
from rnnreplay.config_files import load_yaml
from rnnreplay.data import paths_dataset
from rnnreplay.io import provenance, read_dataset, write_dataset
from rnnreplay.replay import replay_dataset
from rnnreplay.tasks import TMaze, Triangle

CFG = metrics_job(load_yaml(common.ROOT / "config.yaml"), "tmaze", "leak", 0).settings  # config.yaml's metrics


def replay_like(task, n, steps, rng):
    paths = task.sample_positions(n, steps, rng)
    return (paths[:, 1:] + 0.02 * rng.standard_normal(paths[:, 1:].shape)).astype(np.float32), paths[:, 0]


def cli_job(task, result, true_paths, folder: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one ``python -m rnnreplay metrics`` process (imports included)."""
    config = load_yaml(common.ROOT / "config.yaml")
    job = metrics_job(config, task.name, "leak", 0)
    # Each input file carries the job that makes it in the workflow, as the metrics stage's input
    # checks require (rnnreplay.checks): a replay job, the test split's synthesis job, a train job.
    write_dataset(replay_dataset(result, task, provenance("bench", replay_job(config, task.name, "leak", 0), 0)),
                  folder / "replay.nc")
    write_dataset(paths_dataset(task, true_paths, "bench test paths", synthesis_job(config, task.name, "test"), None),
                  folder / "test.nc")
    loss = {"units": "1", "long_name": "loss"}
    write_dataset(xr.Dataset({"loss": ("step", np.linspace(1, 0.1, 600), loss)},
                             attrs=provenance("bench", train_job(config, task.name, "leak", 0), 0)), folder / "loss.nc")
    env = dict(os.environ, PYTHONPATH=str(common.SRC))
    cmd = [sys.executable, "-m", "rnnreplay", "metrics", "--job", to_json(job), "--replay", str(folder / "replay.nc"),
           "--test-paths", str(folder / "test.nc"), "--loss", str(folder / "loss.nc"), "--out", str(folder / "m.nc")]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, capture_output=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    args = common.parser(__doc__.splitlines()[0]).parse_args()
    common.setup(args)
    n, steps = (200, 1000) if not args.quick else (50, 200)
    rows = []
    _, gemm = common.bracket_gemm(lambda: None)
    for task in (TMaze(), Triangle()):
        rng = np.random.default_rng(0)
        position, start = replay_like(task, n, steps, rng)
        true_paths = task.sample_positions(200, 150, rng)
        result = {"position": position, "readout": position, "hidden": None, "hidden_steps": np.arange(0),
                  "start": start.astype(np.float32)}
        settled = position[:, CFG.burn_in:]
        labels = task.region_of(settled)
        parts = {
            "read_file": None,
            "compute_metrics (all)": lambda: m.compute_metrics(m.ReplayRun(task, position, start, true_paths, CFG,
                                                                           seed=1, loss=np.ones(600))),
            "wasserstein": lambda: ms.wasserstein(settled, true_paths, CFG.w_samples, 1),
            "reach_time": lambda: ms.reach_time(position, start, task.goals, task.goal_radius,
                                               task.goal_min_start_distance),
            "region_of": lambda: task.region_of(settled),
            "region_switches": lambda: ms.region_switches(labels, CFG.min_dwell),
            "off_track": lambda: ms.off_track(settled, task),
            "speed+step+path": lambda: (ms.speed(position, 10), ms.step_length(position), ms.path_length(position)),
        }
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "replay.nc"
            write_dataset(replay_dataset(result, task, {"Conventions": "CF-1.8"}), path)
            parts["read_file"] = lambda: read_dataset(path, required=("position", "start_position"))
            for label, fn in parts.items():
                times = common.time_it(fn, args.repeats)
                rows.append({"stage": "metrics", "task": task.name, "part": label, "shape": f"B{n} T{steps}",
                             "seconds": statistics.median(times), "seconds_min": min(times), **gemm})
            runs = [cli_job(task, result, true_paths, Path(tmp)) for _ in range(args.repeats)]
            rows.append({"stage": "metrics", "task": task.name, "part": "metrics CLI job (process, imports incl.)",
                         "shape": f"B{n} T{steps}", "seconds": statistics.median(r[0] for r in runs),
                         "seconds_min": min(r[0] for r in runs), "cpu_seconds": statistics.median(r[1] for r in runs),
                         **gemm})
    common.report("metrics", rows, args, ["task", "part", "shape", "seconds", "seconds_min", "cpu_seconds",
                                          "gemm_gflops"])


if __name__ == "__main__":
    main()
