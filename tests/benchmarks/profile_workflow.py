"""Where a finished workflow run spent its time: job-seconds per stage, and how much of that is
process start-up (importing torch, xarray, POT, matplotlib) rather than the stage's own work.

Reads the ``benchmark:`` files every rule writes (``results/benchmarks/**/*.tsv``: the wall
seconds ``s`` of each job), then measures each stage's start-up on this machine: the wall
time of a fresh interpreter importing what that stage's command imports (median of 3). With
``--cores`` the ideal wall time is job-seconds / cores; ``--wall`` (the run's measured wall time,
e.g. from ``/usr/bin/time``) is printed beside it.

    python tests/benchmarks/profile_workflow.py [--results results] [--cores 2] [--wall SECONDS] [--no-startup]
"""

from __future__ import annotations

import csv
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import common

# What each stage's command imports before it does any work (rnnreplay.cli's cmd_* functions).
_CLI = "import rnnreplay.cli, rnnreplay.io, rnnreplay.config, rnnreplay.data; "
STARTUP = {
    "synthesize": _CLI,
    "train": _CLI + "import rnnreplay.model, rnnreplay.train",
    "replay": _CLI + "import rnnreplay.model, rnnreplay.replay, rnnreplay.train",
    "metrics": _CLI + "import rnnreplay.metrics, rnnreplay.measures as ms; ms._ot()",
    "figures": _CLI + "import rnnreplay.figures",
    "other": _CLI + "import rnnreplay.stats, rnnreplay.claims_report, rnnreplay.report",  # claims, summarise, report pages, theory
}
STAGES = ("synthesize", "train", "replay", "metrics", "figures", "other")  # benchmark folders, then the rest


def stage_of(tsv: Path, root: Path) -> str:
    """The stage a benchmark file belongs to: its first folder under ``root`` (train, replay, ...),
    or ``other`` for the one-off rules (claims, summarise, theory, report pages)."""
    parts = tsv.relative_to(root).parts
    if parts[0] == "perf":
        return ""
    return parts[0] if len(parts) > 1 and parts[0] in STAGES else "other"


def read_jobs(root: Path) -> dict[str, list[float]]:
    """stage -> the wall seconds of every job (its benchmark file's last line)."""
    jobs = defaultdict(list)
    for tsv in sorted(root.rglob("*.tsv")):
        stage = stage_of(tsv, root)
        if not stage:
            continue
        with open(tsv, newline="") as fh:
            rows = list(csv.DictReader(fh, delimiter="\t"))
        if rows:
            jobs[stage].append(float(rows[-1]["s"]))
    return jobs


def startup_seconds(snippet: str, repeats: int = 3) -> float:
    """Median wall seconds of ``python -c snippet`` with the package on the path."""
    code = f"import sys; sys.path.insert(0, {str(common.SRC)!r}); {snippet}"
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--results", type=Path, default=common.ROOT / "results", help="the run's results/ folder")
    p.add_argument("--cores", type=int, default=2, help="the run's --cores")
    p.add_argument("--wall", type=float, help="the run's measured wall seconds, printed beside the ideal")
    p.add_argument("--no-startup", action="store_true", help="skip measuring start-up (job-seconds only)")
    args = p.parse_args()
    common.setup(args)  # the table's header reports the thread count; jobs run with 1
    jobs = read_jobs(args.results / "benchmarks")
    if not jobs:
        raise SystemExit(f"no benchmark files under {args.results / 'benchmarks'}: run the workflow first")
    total = sum(map(sum, jobs.values()))
    rows = []
    for stage in STAGES:
        if stage not in jobs:
            continue
        walls = jobs[stage]
        start = float("nan") if args.no_startup else startup_seconds(STARTUP[stage])
        rows.append({"stage": stage, "jobs": len(walls), "job_seconds": sum(walls), "mean_s": statistics.mean(walls),
                     "max_s": max(walls), "startup_s": start, "startup_job_seconds": start * len(walls),
                     "share_of_all": sum(walls) / total})
    startup = sum(r["startup_job_seconds"] for r in rows)
    rows.append({"stage": "all", "jobs": sum(r["jobs"] for r in rows), "job_seconds": total,
                 "startup_job_seconds": startup, "share_of_all": 1.0,
                 "ideal_wall_s": total / args.cores, "startup_wall_s": startup / args.cores,
                 **({"measured_wall_s": args.wall} if args.wall else {})})
    common.report("workflow_profile", rows, args,
                  ["stage", "jobs", "job_seconds", "mean_s", "max_s", "startup_s", "startup_job_seconds",
                   "share_of_all", "ideal_wall_s", "startup_wall_s", "measured_wall_s"])


if __name__ == "__main__":
    main()
