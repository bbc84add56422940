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


def test_gpu_benchmark_runs_on_cpu_at_tiny_sizes(tmp_path):
    """--device cpu: every section of bench_gpu.py at tiny sizes, each in its own process, and the
    projections from the rows; the script the GPU run depends on works before a GPU sees it."""
    proc = subprocess.run([sys.executable, str(BENCH / "bench_gpu.py"), "--device", "cpu", "--out", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads((tmp_path / "gpu_summary.json").read_text())
    status = {r["section"]: r["status"] for r in summary["rows"] if r.get("measure") == "(section status)"}
    assert status == dict.fromkeys(("gemm", "agreement", "default", "kr24", "graphs", "process"), "ok")
    rows = summary["rows"]
    graphs = [r for r in rows if r["section"] == "graphs" and "speedup" in r]
    assert len(graphs) == 4 and all(r["bitwise"] for r in graphs)  # on CPU: the graph path without capture
    assert all(r["ok"] for r in rows if r["section"] == "agreement" and "check" in r)
    for section in ("default", "kr24"):
        assert {(r["measure"], r.get("members")) for r in rows if r["section"] == section} >= {
            ("model step", 1), ("model step", 5), ("data included (train_ensemble)", 1),
            ("data included (train_ensemble)", 5)}
    assert [r["members"] for r in rows if r["section"] == "process" and "ms_per_step" in r] == [1, 2]
    configs = {(p["config"], p["grouping"]): p for p in summary["projections"]}
    paper, kr24 = configs["paper.yaml", "per variant"], configs["kr24_paper.yaml", "per variant"]
    assert paper["training_jobs"] == 79 and paper["networks"] == 395 and kr24["networks"] == 50
    assert 0 < kr24["serial_training_min"] < paper["serial_training_min"]
    grouped = configs["paper.yaml", "per task (cuda)"]
    assert grouped["networks"] == 395 and grouped["training_jobs"] < 79
