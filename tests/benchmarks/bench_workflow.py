"""Workflow overhead: ``snakemake -n`` (dry run) of the paper-scale config (goal: <= 5 s).

Runs in a fresh, empty working directory, so every job of the DAG is listed. Uses
workflow/configs/paper.yaml when the checkout has it, else tests/benchmarks/paper_scale.yaml.
Wall and CPU seconds (the child's user + system) are both reported: on a shared machine the CPU
time is the steadier number. A third row dry-runs the paper config through the SLURM profile (what a
cluster user runs; needs the ``slurm`` extra). On a machine with SLURM's client tools but no
reachable controller, the SLURM plugin's import-time ``scontrol show config`` waits about 9 s
for it (CPU idle): the script then puts a stand-in ``scontrol`` that fails at once first on the
PATH and notes it in the row, since neither a real cluster nor a machine without SLURM has
that wait.

    python tests/benchmarks/bench_workflow.py [--repeats 3] [--configfile FILE] [--snakefile FILE]
"""

from __future__ import annotations

import importlib.util
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common


def unreachable_scontrol() -> bool:
    """True when SLURM's ``scontrol`` is installed but no controller answers (it then retries for
    ~9 s; the SLURM executor plugin calls it when Snakemake loads its plugins, on every run)."""
    if shutil.which("scontrol") is None:
        return False
    try:
        subprocess.run(["scontrol", "show", "config"], capture_output=True, timeout=2)
    except subprocess.TimeoutExpired:
        return True
    return False


def dry_run(snakefile: Path, configfile: Path, extra=(), shim: str | None = None) -> tuple[float, float, int]:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    env = dict(os.environ, PATH=f"{shim}{os.pathsep}{path}" if shim else path)
    with tempfile.TemporaryDirectory() as work:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "2", "--snakefile", str(snakefile),
                               "--configfile", str(configfile), "--directory", work, *extra],
                              capture_output=True, text=True, env=env, cwd=work)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"snakemake -n failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    match = re.search(r"^total\s+(\d+)$", proc.stdout, re.M)
    return wall, cpu, int(match.group(1)) if match else -1


def main():
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--snakefile", type=Path, default=common.ROOT / "Snakefile")
    p.add_argument("--configfile", type=Path, default=None)
    args = p.parse_args()
    common.setup(args)
    config = args.configfile or next(c for c in (common.ROOT / "workflow/configs/paper.yaml",
                                                 Path(__file__).with_name("paper_scale.yaml")) if c.exists())
    rows = []
    cases = [("paper-scale", config, ()), ("default", common.ROOT / "config.yaml", ())]
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is not None:
        profile = common.ROOT / "workflow" / "profiles" / "slurm"
        cases.append(("paper-scale, slurm profile", config, ("--workflow-profile", str(profile))))
    # This machine's half-installed SLURM (client tools, no controller, as after `make test-cluster`)
    # adds ~9 s to every Snakemake start that no user sees (a cluster answers at once, a laptop has
    # no scontrol): measure with a stand-in scontrol that fails at once, and say so in the row.
    shim_note = ""
    with tempfile.TemporaryDirectory() as shim:
        if unreachable_scontrol():
            fake = Path(shim) / "scontrol"
            fake.write_text("#!/bin/sh\nexit 1\n")
            fake.chmod(0o755)
            shim_note = "scontrol without a controller replaced by one that fails at once"
        else:
            shim = None
        rows += measure(args, cases, shim, shim_note)
    common.report("workflow", rows, args, ["config", "file", "jobs", "seconds", "seconds_min", "cpu_seconds", "note"])


def measure(args, cases, shim, note) -> list[dict]:
    rows = []
    for label, cfg, extra in cases:
        runs = [dry_run(args.snakefile, cfg, extra, shim) for _ in range(args.repeats)]
        walls, cpus = [r[0] for r in runs], [r[1] for r in runs]
        rows.append({"stage": "dry_run", "config": label, "file": str(cfg.relative_to(common.ROOT))
                     if cfg.is_relative_to(common.ROOT) else str(cfg), "jobs": runs[0][2],
                     "seconds": statistics.median(walls), "seconds_min": min(walls),
                     "cpu_seconds": statistics.median(cpus), "load": common.load_info(), "note": note})
    return rows


if __name__ == "__main__":
    main()
