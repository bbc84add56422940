"""Shared pieces of the benchmarks: the same-run GEMM reference, timing, tables and output files.

Every benchmark measures, in the same process and with the same torch thread count, the rate of
``torch.mm`` on a (200, 512) x (512, 512) float32 product (KR24's batch x hidden x hidden), and
reports its stage's throughput as a fraction of that rate, so numbers compare across machines and
survive a noisy, shared machine better than absolute times.

FLOPs are counted honestly: only the dense products a stage must do (2 m k n each); the
elementwise work, noise generation and Python overhead are what keeps a stage below 1.0.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# This checkout's code, or another tree's (e.g. an export of an older commit, to compare against).
SRC = Path(os.environ.get("RNNREPLAY_SRC", ROOT / "src"))
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

import torch  # noqa: E402

DEFAULT_OUT = ROOT / "results" / "benchmarks" / "perf"
GEMM_SHAPE = (200, 512, 512)  # (m, k, n): batch x hidden by hidden x hidden
# Seconds per batch and batches of the GEMM reference; ``--quick`` (a check that a script runs,
# not a measurement) shortens it to a fraction of a second (see :func:`setup`).
GEMM_TIMING = {"seconds": 0.5, "repeats": 5}


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the CSV and JSON results")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (default 1: the workflow's threads_per_job; the GEMM reference uses the same)")
    p.add_argument("--repeats", type=int, default=3, help="timed repeats; the median is reported, the min beside it")
    p.add_argument("--quick", action="store_true", help="smaller sizes, for checking that the script runs")
    return p


def setup(args) -> None:
    """As a train/replay job starts: torch threads and glibc's reuse of freed memory."""
    from rnnreplay.allocator import keep_freed_memory

    keep_freed_memory()
    torch.set_num_threads(args.threads)
    if getattr(args, "quick", False):
        GEMM_TIMING.update(seconds=0.02, repeats=1)


def time_it(fn, repeats: int, warmup: int = 1) -> list[float]:
    """Wall seconds of ``fn()`` for each of ``repeats`` runs after ``warmup`` untimed runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def ensemble_step(models, inputs, targets, start, generators, clip: float = 10.0, graphs=None):
    """One optimiser step of ``models`` side by side, as training takes it (forward of the
    ``rnnreplay.model.Ensemble``, per-member MSE, backward, per-member clipping, Adam), on one batch
    every member shares: ``inputs`` (batch, steps, n_in), ``targets`` (batch, steps, n_out),
    ``start`` (batch, hidden) tensors on the models' device. Returns a callable taking one step
    and returning the members' losses as tensors (no synchronisation). ``graphs``: a
    ``rnnreplay.cell_graphs.CellGraphs`` for the recurrence's loops (None: the plain fused path)."""
    from rnnreplay.model import Ensemble

    ensemble = Ensemble(models)
    ensemble.graphs = graphs
    optimiser = torch.optim.Adam(ensemble.parameters(), lr=1e-3)
    size = len(models)

    def step():
        outs = ensemble([inputs] * size, [start] * size, generators=generators)
        losses = [torch.nn.functional.mse_loss(o, targets) for o in outs]
        optimiser.zero_grad(set_to_none=True)
        torch.autograd.backward(losses)
        for model in models:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimiser.step()
        return losses
    return step


def gemm_rate(shape=GEMM_SHAPE, seconds: float | None = None, repeats: int | None = None) -> dict:
    """GFLOP/s of torch.mm at ``shape`` with the current thread count: median and best of
    ``repeats`` batches of about ``seconds`` each (defaults: :data:`GEMM_TIMING`)."""
    seconds = GEMM_TIMING["seconds"] if seconds is None else seconds
    repeats = GEMM_TIMING["repeats"] if repeats is None else repeats
    m, k, n = shape
    a, b = torch.randn(m, k), torch.randn(k, n)
    out = torch.empty(m, n)
    for _ in range(10):
        torch.mm(a, b, out=out)
    t0 = time.perf_counter()
    for _ in range(10):
        torch.mm(a, b, out=out)
    per = (time.perf_counter() - t0) / 10
    calls = max(5, int(seconds / max(per, 1e-6)))
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            torch.mm(a, b, out=out)
        rates.append(2 * m * k * n * calls / (time.perf_counter() - t0) / 1e9)
    return {"gemm_gflops": statistics.median(rates), "gemm_gflops_best": max(rates), "gemm_shape": f"{m}x{k}x{n}"}


def bracket_gemm(fn):
    """Measure the GEMM rate before and after ``fn()`` (the machine's load drifts) and return
    (fn's result, the mean of the two medians and the best rate seen)."""
    before = gemm_rate()
    result = fn()
    after = gemm_rate()
    gemm = {"gemm_gflops": 0.5 * (before["gemm_gflops"] + after["gemm_gflops"]),
            "gemm_gflops_best": max(before["gemm_gflops_best"], after["gemm_gflops_best"]),
            "gemm_shape": before["gemm_shape"]}
    return result, gemm


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_info() -> str:
    try:
        one, five, _ = os.getloadavg()
        return f"load {one:.2f}/{five:.2f} on {os.cpu_count()} cpus"
    except OSError:
        return "load unknown"


def machine() -> dict:
    return {"python": platform.python_version(), "torch": torch.__version__, "cpus": os.cpu_count(),
            "threads": torch.get_num_threads(), "load": load_info(), "platform": platform.platform()}


def report(name: str, rows: list[dict], args, columns: list[str]) -> None:
    """Print ``rows`` as a table and write them to ``{out}/{name}.csv`` and ``.json``."""
    args.out.mkdir(parents=True, exist_ok=True)
    keys = list(dict.fromkeys(k for row in rows for k in row))
    with open(args.out / f"{name}.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)
    (args.out / f"{name}.json").write_text(json.dumps({"benchmark": name, "machine": machine(), "rows": rows},
                                                      indent=2, default=str))
    print(f"\n{name}  ({machine()['load']}, {torch.get_num_threads()} torch thread(s))")
    print(table(rows, columns))
    print(f"-> {args.out / name}.csv, .json")


def fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1e4 else f"{value:.0f}"
    return str(value)


def table(rows: list[dict], columns: list[str]) -> str:
    cols = [c for c in columns if any(c in r for r in rows)]
    cells = [[fmt(r.get(c, "")) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    line = lambda vals: "| " + " | ".join(v.ljust(w) for v, w in zip(vals, widths)) + " |"  # noqa: E731
    return "\n".join([line(cols), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, cells)])
