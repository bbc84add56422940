"""Training on one GPU, side by side in one run (goal: the whole script in under 5 minutes).

Sections, each in its own process with its own time limit (``--limits``), so that one slow or
hung section cannot eat the others' time; a section writes each row as soon as it has it, so a
section stopped at its limit keeps the rows it had:

- ``gemm``: the GPU's measured float32 GEMM rate (8192^3 ``torch.mm``, TF32 off): the reference
  every "fraction of GEMM" below divides by; beside it the TF32 rate and the rate at KR24's
  (200 x 512) x (512 x 512) product.
- ``agreement``: CUDA against CPU (tests/benchmarks/cuda_agreement.py: the checks, their
  tolerances, pass or fail).
- ``default`` and ``kr24``: the step per network for 1 / 5 / 20 / 80 members at the default shapes
  (128 units, batch 64, 60-step T-maze paths, 2-D code) and at KR24's (512 units, batch 200,
  100-step open-field paths, 512 place cells): ``model step`` (forward, MSE, backward, clipping,
  Adam on a batch already on the GPU) and ``data included`` (``rnnreplay.train.train_ensemble``
  as ``rnnreplay train`` runs it: each step's batches drawn, masked and encoded, per-member loss
  checks). KR24 also: the adaptation + momentum cell, the GRU and TF32 at 5 members.
- ``graphs``: the recurrence's training loops replayed as CUDA graphs (``cuda_graphs: true``,
  rnnreplay.cell_graphs) beside the plain fused loops, model step per network at the default
  shapes (5 and 20 members) and KR24's (1 and 5), and their agreement: one forward and backward of
  the same ensemble on the same batch and noise, both ways, compared output by output and gradient
  by gradient (a replay runs the eager loop's kernels: expected equal, checked to 1e-6 of the
  largest value).
- ``process``: the whole ``rnnreplay train`` process at KR24 shapes (1 and 5 members; batches
  encoded in torch on the GPU, and in numpy on the CPU as before, side by side): per step
  (t(last step) - t(step 2)) / (steps - 2), from the log lines' arrival times, and the process's
  wall time.

Then projected training wall times of the default run (config.yaml), kr24_paper.yaml and
paper.yaml on this GPU, from a fit of the ``data included`` rows (see :func:`projections`).

Writes ``{out}/gpu_<section>.json`` and ``{out}/gpu_summary.md`` / ``.json``. Without a CUDA device
it prints one line and exits 0 (``--device cpu`` runs every section on the CPU at tiny sizes: a
check that the script works, for the test suite).

    python tests/benchmarks/bench_gpu.py [--out DIR] [--quick] [--sections gemm kr24] [--limits kr24=150]
    make bench-gpu
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common
import numpy as np
import torch

LIMITS = {"gemm": 15, "agreement": 40, "default": 40, "kr24": 95, "graphs": 45, "process": 85}  # s per section
GRAPH_RTOL = 1e-6  # graphs against the plain loops: largest difference over largest value
MEMBERS = (1, 5, 20, 80)
SHAPES = {  # (task setup, hidden N, batch B, steps T, cell knobs)
    "default": (("tmaze", "tmaze", {"returns": True}), 128, 64, 60, dict(leak=0.2, sigma=0.03)),
    "kr24": (("openfield", "openfield", {"n_cells": 512}), 512, 200, 100, dict(leak=0.2, sigma=0.01)),
}
TINY = {  # --device cpu: the same code at sizes a test can afford
    "default": (("tmaze", "tmaze", {"returns": True}), 16, 8, 10, dict(leak=0.2, sigma=0.03)),
    "kr24": (("openfield", "openfield", {"n_cells": 16}), 16, 8, 10, dict(leak=0.2, sigma=0.01)),
}


class Sink:
    """A section's rows, rewritten to ``{out}/gpu_{name}.json`` after every row."""

    def __init__(self, out: Path, name: str):
        self.path, self.name, self.rows = out / f"gpu_{name}.json", name, []

    def add(self, row: dict) -> None:
        self.rows.append({"section": self.name, **row})
        self.path.write_text(json.dumps({"section": self.name, "rows": self.rows}, indent=1, default=str))
        print(json.dumps(self.rows[-1], default=str), flush=True)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def gemm_tflops(device: torch.device, shape=(8192, 8192, 8192), tf32: bool = False, calls: int = 10,
                batch: int = 0) -> float:
    """TFLOP/s of ``torch.mm`` (``batch`` > 0: ``torch.bmm`` of that many) at ``shape`` (m, k, n)."""
    m, k, n = shape
    lead = (batch,) if batch else ()
    a, b = torch.randn(*lead, m, k, device=device), torch.randn(*lead, k, n, device=device)
    mm = torch.bmm if batch else torch.mm
    before = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = tf32
    try:
        for _ in range(3):
            mm(a, b)
        sync(device)
        t0 = time.perf_counter()
        for _ in range(calls):
            mm(a, b)
        sync(device)
        seconds = (time.perf_counter() - t0) / calls
    finally:
        torch.backends.cuda.matmul.allow_tf32 = before
    return 2 * m * k * n * max(batch, 1) / seconds / 1e12


def section_gemm(args, sink: Sink) -> None:
    device = args.device
    big = (8192, 8192, 8192) if device.type == "cuda" else (256, 256, 256)
    sink.add({"measure": f"fp32 GEMM {'x'.join(map(str, big))} (TF32 off): the reference",
              "tflops": gemm_tflops(device, big)})
    sink.add({"measure": f"TF32 GEMM {'x'.join(map(str, big))}", "tflops": gemm_tflops(device, big, tf32=True)})
    sink.add({"measure": "fp32 GEMM 200x512x512 (KR24 batch x hidden x hidden)",
              "tflops": gemm_tflops(device, (200, 512, 512), calls=200)})
    sink.add({"measure": "fp32 batched GEMM 80 x 200x512x512",
              "tflops": gemm_tflops(device, (200, 512, 512), batch=80)})


def section_agreement(args, sink: Sink) -> None:
    from cuda_agreement import agreement_rows

    for row in agreement_rows(args.device):
        sink.add(row)


def _jobs(task_setup, hidden: int, batch: int, knobs: dict, members: int, steps: int, cell: str = "rnn"):
    from rnnreplay.jobs import Mechanisms, TaskSetup, TrainJob, TrainSettings
    from rnnreplay.model import CellParams

    extra = dict(cell="gru", activation="tanh") if cell == "gru" else {}
    setup = TaskSetup(*task_setup)
    return [TrainJob(setup, "bench", s, CellParams(hidden=hidden, **{**knobs, **extra}), Mechanisms(),
                     TrainSettings(steps=steps, batch=batch)) for s in range(members)]


def model_step_seconds(jobs, pool: np.ndarray, device: torch.device, warmup: int, timed: int,
                       graphs=None) -> float:
    """Seconds of one optimiser step of the ensemble of ``jobs`` on a batch already on ``device``
    (forward, per-member MSE, backward, per-member clipping, Adam; then a synchronise); ``graphs``
    as :func:`common.ensemble_step`."""
    step = _model_step(jobs, pool, device, graphs)

    for _ in range(warmup):
        step()
    sync(device)
    t0 = time.perf_counter()
    for _ in range(timed):
        step()
    sync(device)
    return (time.perf_counter() - t0) / timed


def _model_step(jobs, pool: np.ndarray, device: torch.device, graphs=None):
    """:func:`common.ensemble_step` of freshly initialised members of ``jobs`` on one batch of ``pool``."""
    from rnnreplay.train import initial_model

    task = jobs[0].task.build()
    settings = jobs[0].settings
    inputs, targets, start = task.torch_batch(torch.from_numpy(pool[: settings.batch]).to(device))
    models = [initial_model(job, task).to(device) for job in jobs]
    gens = [torch.Generator(device=device).manual_seed(s) for s in range(len(jobs))]
    return common.ensemble_step(models, inputs, targets, start, gens, graphs=graphs)


def graphs_agreement(jobs, pool: np.ndarray, device: torch.device) -> dict:
    """One forward and backward of the same members, batch and noise through the CUDA graphs and
    through the plain fused loops: the largest difference of the losses and of every gradient,
    each over the largest value of its reference."""
    from rnnreplay.cell_graphs import CellGraphs
    from rnnreplay.model import Ensemble
    from rnnreplay.train import initial_model

    task = jobs[0].task.build()
    inputs, targets, start = task.torch_batch(torch.from_numpy(pool[: jobs[0].settings.batch]).to(device))
    results = []
    for graphs in (None, CellGraphs()):
        models = [initial_model(job, task).to(device) for job in jobs]
        ensemble = Ensemble(models)
        ensemble.graphs = graphs
        for _ in range(2 if graphs is not None else 1):  # the second call replays the captured graphs
            gens = [torch.Generator(device=device).manual_seed(s) for s in range(len(jobs))]
            ensemble.zero_grad(set_to_none=True)
            outs = ensemble([inputs] * len(jobs), [start] * len(jobs), generators=gens)
            losses = [torch.nn.functional.mse_loss(o, targets) for o in outs]
            torch.autograd.backward(losses)
        results.append((torch.stack(losses).detach(), [p.grad.detach().clone() for p in ensemble.parameters()]))
    (loss_ref, grads_ref), (loss_g, grads_g) = results
    worst = lambda a, b: float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))  # noqa: E731
    grad_worst = max(worst(g, r) for g, r in zip(grads_g, grads_ref))
    loss_worst = worst(loss_g, loss_ref)
    return {"loss_rel_diff": loss_worst, "grad_rel_diff": grad_worst,
            "agree": max(loss_worst, grad_worst) <= GRAPH_RTOL, "bitwise": loss_worst == 0 and grad_worst == 0}


def section_graphs(args, sink: Sink) -> None:
    """Model step per network with and without CUDA graphs, side by side, and their agreement."""
    from rnnreplay.cell_graphs import CellGraphs

    device = args.device
    shapes = SHAPES if device.type == "cuda" else TINY
    gemm = gemm_tflops(device, (8192,) * 3 if device.type == "cuda" else (256,) * 3)
    plan = [("default", 5), ("default", 20), ("kr24", 1), ("kr24", 5)]
    if args.quick or device.type != "cuda":
        plan = [("default", 5), ("kr24", 1)]
    for name, members in plan:
        task_setup, hidden, batch, length, knobs = shapes[name]
        for label, cell_knobs in (("leak", knobs), ("leak_adapt_mom", dict(knobs, adapt_strength=0.3, friction=0.6))):
            jobs = _jobs(task_setup, hidden, batch, cell_knobs, members, 8)
            task = jobs[0].task.build()
            pool = task.sample_positions(batch, length, np.random.default_rng(0))
            row = {"measure": f"graphs, {name} shapes, {label}", "shape": f"N{hidden} B{batch} T{length}",
                   "members": members, "gemm_tflops": gemm}
            row.update(graphs_agreement(jobs, pool, device))
            timed = 3 if hidden >= 512 else 10
            plain = model_step_seconds(jobs, pool, device, 2, timed)
            graphed = model_step_seconds(jobs, pool, device, 2, timed, graphs=CellGraphs())
            row.update(ms_per_network_plain=1e3 * plain / members, ms_per_network_graphs=1e3 * graphed / members,
                       speedup=plain / graphed)
            sink.add(row)
            if device.type == "cuda":
                torch.cuda.empty_cache()


def train_step_seconds(jobs, pools, device: torch.device, warmup: int) -> float:
    """Seconds per optimiser step of ``train_ensemble`` (data included), from the arrival times of
    its per-step log lines: the median step after ``warmup`` steps."""
    from rnnreplay.train import train_ensemble

    stamps = []
    train_ensemble(jobs, pools, device=device, log=lambda line: stamps.append(time.perf_counter()), log_every=1)
    if len(stamps) < warmup + 2:
        raise RuntimeError("train_ensemble wrote no per-step log lines (it shows a progress bar when stderr is a "
                           "terminal: run this section through bench_gpu.py, which captures it)")
    return statistics.median(np.diff(stamps[warmup:]))


def steps_section(name: str, args, sink: Sink) -> None:
    from bench_train import train_flops

    device = args.device
    shapes = SHAPES if device.type == "cuda" else TINY
    task_setup, hidden, batch, length, knobs = shapes[name]
    members = (1, 5) if args.quick or device.type != "cuda" else MEMBERS
    gemm = gemm_tflops(device, (8192,) * 3 if device.type == "cuda" else (256,) * 3)
    task = _jobs(task_setup, hidden, batch, knobs, 1, 1)[0].task.build()
    pool = task.sample_positions(1024 if device.type == "cuda" else 64, length, np.random.default_rng(0))
    flops = train_flops(batch, length, hidden, task.input_dim, task.code_dim)
    shape = f"N{hidden} B{batch} T{length} C{task.code_dim}"
    big = lambda s: hidden >= 512 and s >= 20  # noqa: E731  (fewer timed steps where a step takes seconds)

    def add(label: str, members_: int, seconds: float, counted: bool = True):
        row = {"measure": label, "shape": shape, "members": members_, "ms_per_network": 1e3 * seconds / members_,
               "ms_per_step": 1e3 * seconds, "gemm_tflops": gemm}
        if counted:
            row["fraction_of_gemm"] = members_ * flops / seconds / 1e12 / gemm
        sink.add(row)

    for s in members:
        jobs = _jobs(task_setup, hidden, batch, knobs, s, 3 + (3 if big(s) else 8))
        add("model step", s, model_step_seconds(jobs, pool, device, 2, 3 if big(s) else 8))
        add("data included (train_ensemble)", s, train_step_seconds(jobs, [pool] * s, device, warmup=2))
        if device.type == "cuda":
            torch.cuda.empty_cache()
    if name != "kr24":
        return
    five = min(5, max(members))
    variants = {"model step, leak_adapt_mom": (dict(knobs, adapt_strength=0.3, friction=0.6), "rnn"),
                "model step, GRU": (dict(sigma=knobs["sigma"], leak=0.2), "gru")}
    for label, (cell_knobs, cell) in variants.items():
        jobs = _jobs(task_setup, hidden, batch, cell_knobs, five, 8, cell)
        add(label, five, model_step_seconds(jobs, pool, device, 2, 5), counted=cell == "rnn")
    # a grouped job (train_group: task): noisy and noiseless members side by side, 5 seeds each
    mixed = _jobs(task_setup, hidden, batch, knobs, five, 8) + _jobs(task_setup, hidden, batch, dict(knobs, sigma=0.0),
                                                                      five, 8)
    add("data included, noisy + noiseless (a grouped job)", 2 * five,
        train_step_seconds(mixed, [pool] * len(mixed), device, warmup=2))
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        try:
            add("model step, TF32", five, model_step_seconds(_jobs(task_setup, hidden, batch, knobs, five, 8), pool,
                                                             device, 2, 5))
        finally:
            torch.backends.cuda.matmul.allow_tf32 = False


def section_default(args, sink: Sink) -> None:
    steps_section("default", args, sink)


def section_kr24(args, sink: Sink) -> None:
    steps_section("kr24", args, sink)


def section_process(args, sink: Sink) -> None:
    """``python -m rnnreplay train`` at KR24 shapes (kr24_paper.yaml's open field), 1 and 5 members."""
    from rnnreplay import config as rc
    from rnnreplay import config_files as rcf
    from rnnreplay.data import synthesize_file

    device = args.device
    steps = 12 if args.quick or device.type != "cuda" else 32
    cfg = rcf.load_config(common.ROOT / "workflow" / "configs" / "kr24_paper.yaml")
    cfg["train"].update(steps=steps, lr_warmup=0)
    cfg["data"]["train_trajectories"] = 1024  # the pool's size does not change a step's cost
    if device.type != "cuda":  # tiny, for the test suite
        cfg["model"]["hidden"], cfg["train"]["batch"], cfg["data"]["steps"] = 16, 8, 10
        cfg["tasks"]["openfield"]["params"]["n_cells"] = 16
        cfg["data"]["train_trajectories"] = 64
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(common.SRC), os.environ.get("PYTHONPATH", "")]))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        pools = []
        for seed in range(5 if device.type == "cuda" else 2):
            pools.append(tmp / f"train_seed{seed}.nc")
            synthesize_file(rc.synthesis_job(cfg, "openfield", "train", seed), pools[-1])
        on_gpu = device.type == "cuda"
        for members in (1, 5) if on_gpu else (1, 2):
            jobs = [rc.train_job(cfg, "openfield", "noisy", s) for s in range(members)]
            for encoding in ("torch", "numpy") if on_gpu else ("torch",):
                cmd = [sys.executable, "-m", "rnnreplay", "train", "--job", rc.to_json(jobs), "--train-paths",
                       *map(str, pools[:members]), "--out-model", *[str(tmp / f"m{s}.pt") for s in range(members)],
                       "--out-loss", *[str(tmp / f"l{s}.nc") for s in range(members)], "--device", device.type,
                       "--log-every", "1", "--checkpoint-every", "0", "--batch-encoding", encoding,
                       "--threads", str(cfg["threads_per_job"])]
                t0 = time.perf_counter()
                proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
                stamps, tail = {}, []
                for line in proc.stderr:
                    tail = (tail + [line])[-5:]
                    if line.startswith("step "):
                        stamps[int(line.split()[1].split("/")[0])] = time.perf_counter()
                rc_ = proc.wait()
                wall = time.perf_counter() - t0
                if rc_ != 0 or steps not in stamps or 2 not in stamps:
                    sink.add({"measure": f"rnnreplay train, {members} member(s), batches {encoding}",
                              "error": f"exit {rc_}: {''.join(tail)[-400:]}"})
                    continue
                per_step = (stamps[steps] - stamps[2]) / (steps - 2)
                sink.add({"measure": f"rnnreplay train process, {members} member(s), batches {encoding}",
                          "shape": f"N{cfg['model']['hidden']} B{cfg['train']['batch']} T{cfg['data']['steps']} "
                                   f"C{cfg['tasks']['openfield']['params']['n_cells']}", "members": members,
                          "ms_per_step": 1e3 * per_step, "ms_per_network": 1e3 * per_step / members,
                          "process_wall_s": wall, "steps": steps})


SECTIONS = {"gemm": section_gemm, "agreement": section_agreement, "default": section_default,
            "kr24": section_kr24, "graphs": section_graphs, "process": section_process}


# --- projections ----------------------------------------------------------------------------------


def fit_step_cost(rows: list[dict]) -> tuple[float, float] | None:
    """Least-squares fit of the ``data included`` rows: seconds per optimiser step of an ensemble
    = T (a + b S B N (N + C)) -- a per time step of launch and Python overhead, b per unit of
    work. (a, b), or None without rows."""
    data = []
    for r in rows:
        if r.get("measure", "").startswith("data included"):
            n, b, t, c = (int(x[1:]) for x in r["shape"].split())
            data.append((t, r["members"] * b * n * (n + c) * t, r["ms_per_step"] / 1e3))
    if len(data) < 2:
        return None
    x = np.array([[t, w] for t, w, _ in data], dtype=float)
    y = np.array([s for _, _, s in data])
    # relative errors: divide each equation by its own time, so the small steps count as much
    (a, b), *_ = np.linalg.lstsq(x / y[:, None], np.ones_like(y), rcond=None)
    return max(a, 0.0), max(b, 0.0)


def training_jobs(config: dict, grouped: bool) -> list[dict]:
    """Every training job of a config, one per trained variant or (``grouped``, as the workflow
    runs on CUDA) one per group of a task's variants (rnnreplay.config.train_groups): task,
    variants, members, hidden, batch, code size, and the (optimiser steps, path length) of each
    curriculum stage."""
    from rnnreplay import config as rc

    jobs = []
    for task in config["tasks"]:
        built = rc.task_setup(config, task).build()
        length = rc.data_sizes(config, task)["steps"]
        groups = rc.train_groups(config, task) if grouped else [[v] for v in rc.task_trained_variants(config, task)]
        for group in groups:
            variant = group[0]
            knobs, settings = rc.cell_knobs(config, task, variant), rc.train_settings(config, task, variant)
            stages, done = [], 0
            for stage_steps, stage_length in settings.curriculum:
                take = min(int(stage_steps), settings.steps - done)
                stages.append((take, min(int(stage_length), length)))
                done += take
            stages.append((settings.steps - done, length))
            jobs.append({"task": task, "variants": group, "members": len(config["seeds"]) * len(group),
                         "hidden": knobs["hidden"],
                         "batch": settings.batch, "code": built.code_dim, "gru": knobs.get("cell") == "gru",
                         "stages": stages})
    return jobs


def projections(rows: list[dict]) -> list[dict]:
    """Projected training time of three configs on this GPU, one job at a time (``serial``) and
    the longest job (the least wall time if every job ran at once on the GPU without slowing the
    others). Training only: synthesis, replay, metrics and figures are left out. GRU jobs take
    the measured GRU / RNN model-step ratio at KR24 shapes (3 when not measured)."""
    from rnnreplay import config_files as rcf

    fit = fit_step_cost(rows)
    if fit is None:
        return [{"config": "(no data-included rows to fit)"}]
    a, b = fit
    by = {r["measure"]: r for r in rows if r.get("section") == "kr24" and r.get("members") == 5}
    gru = by["model step, GRU"]["ms_per_step"] / by["model step"]["ms_per_step"] if (
        "model step, GRU" in by and "model step" in by) else 3.0
    out = []
    for name, path in (("default run (config.yaml)", common.ROOT / "config.yaml"),
                       ("kr24_paper.yaml", common.ROOT / "workflow/configs/kr24_paper.yaml"),
                       ("paper.yaml", common.ROOT / "workflow/configs/paper.yaml")):
        config = rcf.load_config(path)
        for grouped in (False, True):
            times, networks = [], 0
            for job in training_jobs(config, grouped):
                n, s, bsz, c = job["hidden"], job["members"], job["batch"], job["code"]
                seconds = sum(k * t * (a + b * s * bsz * n * (n + c)) for k, t in job["stages"])
                times.append(seconds * (gru if job["gru"] else 1.0))
                networks += s
            out.append({"config": name, "grouping": "per task (cuda)" if grouped else "per variant",
                        "training_jobs": len(times), "networks": networks,
                        "serial_training_min": sum(times) / 60, "longest_job_min": max(times) / 60,
                        "fit": f"T x ({a * 1e6:.3g} us + {b * 1e15:.3g} fs x S B N (N+C)); GRU x {gru:.2g}"})
    return out


# --- the run ----------------------------------------------------------------------------------------


def run_sections(args) -> list[dict]:
    rows = []
    for name in args.sections:
        limit = args.limits.get(name, LIMITS[name])
        cmd = [sys.executable, __file__, "--section", name, "--out", str(args.out), "--device", args.device.type]
        cmd += ["--quick"] if args.quick else []
        print(f"== {name} (limit {limit} s)", flush=True)
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, timeout=limit, capture_output=True, text=True)
            status = "ok" if proc.returncode == 0 else f"failed (exit {proc.returncode}): {proc.stderr[-600:]}"
        except subprocess.TimeoutExpired:
            status = f"stopped at its {limit} s limit (the rows it had are kept)"
        path = args.out / f"gpu_{name}.json"
        got = json.loads(path.read_text())["rows"] if path.exists() else []
        rows += got
        print(f"   {status}; {len(got)} rows, {time.perf_counter() - t0:.0f} s", flush=True)
        rows.append({"section": name, "measure": "(section status)", "status": status.splitlines()[0][:300]})
    return rows


def report(args, rows: list[dict]) -> None:
    cols = ["section", "measure", "shape", "members", "ms_per_network", "ms_per_step", "fraction_of_gemm", "tflops",
            "process_wall_s", "ms_per_network_plain", "ms_per_network_graphs", "speedup", "loss_rel_diff",
            "grad_rel_diff", "agree", "check", "case", "max_diff", "tolerance", "unit", "ok", "status", "error"]
    try:
        proj = projections(rows)
    except Exception as exc:  # e.g. a package the configs need is missing: the rows above still count
        proj = [{"config": f"(projections failed: {type(exc).__name__}: {exc})"}]
    gpu = torch.cuda.get_device_name(0) if args.device.type == "cuda" else "none"
    columns = ["config", "grouping", "training_jobs", "networks", "serial_training_min", "longest_job_min", "fit"]
    text = (f"Machine: {common.machine()}; GPU: {gpu}\n\n" + common.table(rows, cols)
            + "\n\nProjected training time on this GPU\n\n" + common.table(proj, columns) + "\n")
    print("\n" + text)
    (args.out / "gpu_summary.md").write_text(text)
    (args.out / "gpu_summary.json").write_text(json.dumps({"machine": common.machine(), "rows": rows,
                                                           "projections": proj}, indent=1, default=str))
    print(f"-> {args.out / 'gpu_summary.md'}, .json")


def main() -> int:
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"],
                   help="cuda (default; without one the script skips) or cpu (tiny sizes: checks the script)")
    p.add_argument("--sections", nargs="*", default=list(SECTIONS), choices=list(SECTIONS))
    p.add_argument("--limits", nargs="*", default=[], help="NAME=SECONDS per section (defaults: %s)" % LIMITS)
    p.add_argument("--section", choices=list(SECTIONS), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        print("bench_gpu.py: skipped, no CUDA device (torch.cuda.is_available() is False)")
        return 0
    args.device = torch.device(args.device)
    args.limits = {k: float(v) for k, v in (item.split("=") for item in args.limits)}
    args.out.mkdir(parents=True, exist_ok=True)
    if args.section:  # one section, in this process (run_sections starts one process per section)
        common.setup(args)
        torch.backends.cuda.matmul.allow_tf32 = False  # float32 arithmetic: the project's default precision
        SECTIONS[args.section](args, Sink(args.out, args.section))
        return 0
    report(args, run_sections(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
