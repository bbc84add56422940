"""The workflow profile (tests/benchmarks/profile_workflow.py) adds up a run's benchmark files per stage."""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parent / "benchmarks" / "profile_workflow.py"
HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def write_tsv(path: Path, seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{seconds}\t0:00:0{int(seconds)}\t100\t200\t90\t95\t0\t1\t90\t{seconds * 0.9}\n")


def test_profile_sums_job_seconds_per_stage(tmp_path):
    bench = tmp_path / "results" / "benchmarks"
    for seed, s in enumerate([10.0, 12.0]):
        write_tsv(bench / "train" / "tmaze" / "leak" / f"seed{seed}.tsv", s)
    write_tsv(bench / "replay" / "tmaze" / "leak" / "seed0.tsv", 3.0)
    write_tsv(bench / "claims.tsv", 1.0)
    write_tsv(bench / "perf" / "ignored.tsv", 99.0)  # make bench's own output, not a job
    out = tmp_path / "out"
    subprocess.run([sys.executable, str(SCRIPT), "--results", str(tmp_path / "results"), "--out", str(out),
                    "--cores", "2", "--no-startup"], check=True, capture_output=True)
    rows = {r["stage"]: r for r in json.loads((out / "workflow_profile.json").read_text())["rows"]}
    assert rows["train"]["jobs"] == 2 and rows["train"]["job_seconds"] == 22.0
    assert rows["replay"]["job_seconds"] == 3.0 and rows["other"]["job_seconds"] == 1.0
    assert rows["all"]["job_seconds"] == 26.0 and rows["all"]["ideal_wall_s"] == 13.0
