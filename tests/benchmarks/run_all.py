"""Run every stage benchmark (each in its own process, so peak memory is per stage) and write a
summary against the goals of issue 5: ``{out}/summary.csv``, ``.json`` and ``.md``.

    python tests/benchmarks/run_all.py [--threads 1] [--repeats 3] [--quick] [--out DIR]
    make bench
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import common

STAGES = ["bench_train.py", "bench_replay.py", "bench_metrics.py", "bench_workflow.py", "bench_rat.py",
          "bench_widths.py"]


def rows_of(out: Path, name: str) -> list[dict]:
    path = out / f"{name}.json"
    return json.loads(path.read_text())["rows"] if path.exists() else []


def summarise(out: Path) -> list[dict]:
    summary = []
    for r in rows_of(out, "train"):
        if r["stage"] == "train_step_ensemble":  # one network beside the per-member step of an ensemble
            summary.append({"measure": f"training step, default shape {r['shape']} ({r['variant']})",
                            "value": r["fraction_of_gemm"], "unit": "of GEMM", "goal": "", "met": "",
                            "detail": f"{r['seconds'] * 1e3:.3g} ms/step per member, "
                                      f"{r['speedup_vs_single']:.3g}x one network's"})
            continue
        if r["stage"] != "train_step":  # the default-shape profile rows have no goal
            summary.append({"measure": f"training step, default shape {r['shape']} (profile)",
                            "value": r["fraction_of_gemm"], "unit": "of GEMM", "goal": "", "met": "",
                            "detail": f"{r['seconds'] * 1e3:.3g} ms/step: forward {r['forward_s'] * 1e3:.3g}, "
                                      f"backward {r['backward_s'] * 1e3:.3g}, Adam {r['optimiser_s'] * 1e3:.3g} "
                                      f"(noise draw {r['noise_s'] * 1e3:.3g}, products at GEMM rate "
                                      f"{r['gemm_s'] * 1e3:.3g})"})
            continue
        summary.append({"measure": f"training step, {r['shape']} ({r['variant']})", "value": r["fraction_of_gemm"],
                        "unit": "of GEMM", "goal": ">= 0.75", "met": r["fraction_of_gemm"] >= 0.75,
                        "detail": f"{r['seconds']:.3g} s/step ({r['gflops']:.3g} of {r['gemm_gflops']:.3g} GFLOP/s); "
                                  f"peak RSS {r['peak_rss_mb']:.0f} MB"})
    for r in rows_of(out, "replay"):
        summary.append({"measure": f"replay {r['shape']}, {r['part']} ({r['variant']})",
                        "value": r["fraction_of_gemm"], "unit": "of GEMM", "goal": ">= 0.80",
                        "met": r["fraction_of_gemm"] >= 0.80,
                        "detail": f"{r['seconds']:.3g} s; peak RSS {r['peak_rss_mb']:.0f} MB"
                                  + (f"; file {r['file_mb']:.1f} MB (hidden_every {r['hidden_every']})"
                                     if "file_mb" in r else "")})
    for r in rows_of(out, "metrics"):
        if r["part"].startswith(("replay_metrics", "metrics CLI")):
            cpu = f"; {r['cpu_seconds']:.3g} s CPU" if "cpu_seconds" in r else ""
            summary.append({"measure": f"metrics, one {r['shape']} file ({r['task']}): {r['part']}", "value": r["seconds"],
                            "unit": "s", "goal": "<= 2", "met": r["seconds"] <= 2, "detail": f"wall{cpu}"})
    for r in rows_of(out, "workflow"):
        summary.append({"measure": f"snakemake -n, {r['config']} ({r['jobs']} jobs)", "value": r["seconds"],
                        "unit": "s", "goal": "<= 5" if r["config"] == "paper-scale" else "",
                        "met": r["seconds"] <= 5 if r["config"] == "paper-scale" else "",
                        "detail": f"{r['cpu_seconds']:.3g} s CPU; {r['file']}"})
    for r in rows_of(out, "rat"):
        summary.append({"measure": "rat-path synthesis vs RatInABox", "value": r.get("speedup_vs_ratinabox", "n/a"),
                        "unit": "x", "goal": ">= 1000", "met": "", "detail": r.get("status", "")})
    return summary


def main():
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--only", nargs="*", help="run only these scripts (e.g. bench_train.py)")
    args = p.parse_args()
    here = Path(__file__).parent
    passthrough = ["--out", str(args.out), "--threads", str(args.threads), "--repeats", str(args.repeats)]
    passthrough += ["--quick"] if args.quick else []
    for script in args.only or STAGES:
        print(f"== {script}", flush=True)
        subprocess.run([sys.executable, str(here / script), *passthrough], check=True)
    rows = summarise(args.out)
    common.report("summary", rows, args, ["measure", "value", "unit", "goal", "met", "detail"])
    (args.out / "summary.md").write_text(f"Machine: {common.machine()}\n\n"
                                         + common.table(rows, ["measure", "value", "unit", "goal", "met", "detail"]) + "\n")


if __name__ == "__main__":
    main()
