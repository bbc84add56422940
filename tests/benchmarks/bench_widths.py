"""Training cost against network width: what `workflow/configs/scale.yaml`'s width rests on.

A 5-member T-maze training ensemble (the seeds of one variant, as a workflow training job runs
them: `train_ensemble`, batch 64, 150-step paths as in the default's T-maze budget) at 128, 256
and 512 hidden units, the widths timed in turn within each repeat (a load change hits all alike),
with the same-run GEMM rate. Reported per optimiser step of the whole ensemble and as a ratio to
128 units; a run's training job-seconds at one width times the ratio estimate them at another.

    python tests/benchmarks/bench_widths.py [--threads 1] [--repeats 3] [--quick] [--out DIR]
"""

from __future__ import annotations

import statistics

import common
import numpy as np

WIDTHS = (128, 256, 512)


def main():
    from rnnreplay.jobs import Mechanisms, TaskSetup, TrainJob, TrainSettings
    from rnnreplay.model import CellParams
    from rnnreplay.train import train_ensemble

    args = common.parser(__doc__.splitlines()[0]).parse_args()
    common.setup(args)
    members, batch, length = 5, 64, 150
    steps = 4 if not args.quick else 1  # optimiser steps per timed call
    widths = WIDTHS if not args.quick else (32, 64)
    task = TaskSetup("tmaze", "tmaze", {"returns": True})
    pools = [task.build().sample_positions(512, length, np.random.default_rng(s)) for s in range(members)]

    def ensemble(hidden: int):
        jobs = [TrainJob(task, "leak", s, CellParams(hidden=hidden, leak=0.2, sigma=0.03 * (128 / hidden) ** 0.5),
                         Mechanisms(), TrainSettings(steps=steps, batch=batch)) for s in range(members)]
        return lambda: train_ensemble(jobs, pools, log=lambda m: None)

    fns = {n: ensemble(n) for n in widths}
    for fn in fns.values():
        fn()  # warm-up

    def interleaved():
        times = {n: [] for n in fns}
        for _ in range(args.repeats):
            for n, fn in fns.items():
                times[n] += common.time_it(fn, 1, warmup=0)
        return times

    timed, gemm = common.bracket_gemm(interleaved)
    per_step = {n: statistics.median(t) / steps for n, t in timed.items()}
    rows = [{"stage": "train_ensemble_width", "variant": f"leak, {members} members, T-maze",
             "shape": f"N{n} B{batch} T{length}", "seconds": per_step[n],
             "ratio_to_smallest": per_step[n] / per_step[widths[0]], **gemm, "peak_rss_mb": common.peak_rss_mb()}
            for n in widths]
    common.report("widths", rows, args,
                  ["variant", "shape", "seconds", "ratio_to_smallest", "gemm_gflops", "peak_rss_mb"])


if __name__ == "__main__":
    main()
