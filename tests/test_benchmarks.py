"""Every benchmark script runs (``--quick``: small sizes, a short GEMM reference), so ``make bench``
cannot silently break again; and the GPU benchmark skips cleanly where there is no GPU."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).parent / "benchmarks"


def test_every_benchmark_runs_quick(tmp_path):
    """run_all.py --quick runs each stage script in its own process and writes their results and
    the summary; a failing script fails it (check=True)."""
    proc = subprocess.run([sys.executable, str(BENCH / "run_all.py"), "--quick", "--repeats", "1", "--out",
                           str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for name in ("train", "replay", "metrics", "workflow", "rat", "widths"):
        rows = json.loads((tmp_path / f"{name}.json").read_text())["rows"]
        assert rows, name
    summary = json.loads((tmp_path / "summary.json").read_text())["rows"]
    measures = " ".join(r["measure"] for r in summary)
    for part in ("training step", "replay", "metrics CLI job", "snakemake -n", "rat-path"):
        assert part in measures


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the skip on a machine without a GPU")
def test_gpu_benchmark_skips_without_gpu(tmp_path):
    """bench_gpu.py on a machine without CUDA: exit 0, one line saying why, no output files."""
    proc = subprocess.run([sys.executable, str(BENCH / "bench_gpu.py"), "--out", str(tmp_path / "gpu")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1 and "skip" in lines[0].lower() and "cuda" in lines[0].lower()
    assert not (tmp_path / "gpu").exists() or not any((tmp_path / "gpu").iterdir())
