"""Command-line interface, one subcommand per workflow stage: ``python -m rnnreplay STAGE --help``.

Every stage takes ``--spec``: the resolved JSON spec of the job (a JSON string, or ``@file``),
which the workflow builds from config.yaml with :mod:`rnnreplay.config`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr


def _spec(text: str) -> dict:
    if text.startswith("@"):
        text = Path(text[1:]).read_text()
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SystemExit(f"--spec is not valid JSON: {exc}") from exc


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _threads(n: int | None) -> None:
    """Torch threads for a train/replay job, and reuse of freed memory (see rnnreplay.allocator)."""
    import torch

    from .allocator import keep_freed_memory

    keep_freed_memory()
    if n:
        torch.set_num_threads(n)


def cmd_synthesize(args) -> None:
    from .config import derive_seed
    from .data import synthesize
    from .io import write_dataset

    spec = _spec(args.spec)
    t0 = time.perf_counter()
    seed = None if args.split == "test" else args.seed
    stream = derive_seed(spec["task"], "test") if seed is None else derive_seed(spec["task"], seed, "train_paths")
    ds = synthesize(spec, args.split, seed, stream)
    write_dataset(ds, args.out)
    _log(f"synthesize {spec['task']} {args.split}: {ds.sizes['trajectory']} paths x {ds.sizes['step'] - 1} steps -> {args.out}, "
         f"{time.perf_counter() - t0:.1f} s")


def cmd_train(args) -> None:
    import torch

    from .data import task_from_spec
    from .io import read_dataset, save_model, write_dataset, provenance
    from .model import CellParams
    from .train import final_loss, select_device, train

    _threads(args.threads)
    spec = _spec(args.spec)
    t0 = time.perf_counter()
    task = task_from_spec(spec["task"])
    pool = read_dataset(args.train_paths, required=("position",))["position"].values
    device = select_device(spec["device"])
    _log(f"train: device {device}, torch threads {torch.get_num_threads()}")
    model, loss = train(
        task, pool, CellParams(**spec["train_cell"]), spec["train_mechanisms"], spec["train"],
        seed_parts=(spec["task"]["task"], spec["seed"]), device=device, log=_log,
        checkpoint=args.checkpoint, identity=spec["task"],
    )
    loss.attrs = provenance(f"training loss {spec['task']['task']}/{spec['trained_variant']}", spec, spec["seed"])
    write_dataset(loss, args.out_loss)
    save_model(args.out_model, model, spec)
    if args.checkpoint:  # the outputs are complete: a rerun must start afresh
        Path(args.checkpoint).unlink(missing_ok=True)
    _log(f"train {spec['task']['task']}/{spec['trained_variant']} seed {spec['seed']}: final loss "
         f"{final_loss(loss):.5g}, {time.perf_counter() - t0:.1f} s")


def cmd_replay(args) -> None:
    from .config import derive_seed
    from .data import task_from_spec
    from .io import load_model_file, provenance, read_dataset, write_dataset
    from .model import CellParams
    from .replay import load_for_replay, replay_dataset, run_active, sample_replay
    from .train import build_model, select_device

    _threads(args.threads)
    spec = _spec(args.spec)
    t0 = time.perf_counter()
    task = task_from_spec(spec["task"])
    state, _ = load_model_file(args.model)
    model = load_for_replay(state, task, CellParams(**spec["cell"]))
    test_paths = read_dataset(args.test_paths, required=("position",))["position"].values
    seed_parts, device = (spec["task"]["task"], spec["seed"]), select_device(spec["device"])
    result = sample_replay(model, task, test_paths[:, 0], spec["replay"], seed_parts, device=device,
                           log=_log)
    active = untrained = None
    if spec["task"].get("baselines"):  # KR24's KL baselines: active run and untrained network
        train_cell = CellParams(**spec["train_cell"])
        active = run_active(load_for_replay(state, task, train_cell), task, test_paths,
                            spec["train_mechanisms"], seed_parts, device=device)
        init = build_model(task, train_cell, derive_seed(*seed_parts, "init")).state_dict()
        untrained = sample_replay(load_for_replay(init, task, CellParams(**spec["cell"])), task, test_paths[:, 0],
                                  {**spec["replay"], "hidden_every": 0}, seed_parts, device=device)["position"]
    name = f"{spec['task']['task']}/{spec['variant']}"
    ds = replay_dataset(result, task, provenance(f"replay {name}", spec, spec["seed"]), active, untrained)
    write_dataset(ds, args.out)
    _log(f"replay {name} seed {spec['seed']}: {ds.sizes['trajectory']} x {ds.sizes['step']} steps, "
         f"{time.perf_counter() - t0:.1f} s")


def cmd_metrics(args) -> None:
    from .config import derive_seed
    from .data import task_from_spec
    from .io import provenance, read_dataset, write_dataset
    from .metrics import METRIC_INFO, final_loss, kr24_metrics, replay_metrics  # torch-free: a quick start

    spec = _spec(args.spec)
    t0 = time.perf_counter()
    task = task_from_spec(spec["task"])
    rep = read_dataset(args.replay, required=("position", "start_position"))
    true_paths = read_dataset(args.test_paths, required=("position",))["position"].values
    seed = derive_seed(spec["task"]["task"], spec["seed"], "metrics")
    values = replay_metrics(task, rep["position"].values, rep["start_position"].values, true_paths,
                            spec["metrics"], seed=seed)
    optional = {k: rep[k].values if k in rep else None for k in ("active_position", "untrained_position")}
    values.update(kr24_metrics(task, rep["position"].values, optional["active_position"],
                               optional["untrained_position"], spec["metrics"], seed=seed))
    values["final_loss"] = final_loss(read_dataset(args.loss, required=("loss",)))
    lu = task.length_unit
    unit = {"length": lu, "length/step": lu, "length^2": "1" if lu == "1" else f"{lu}2", "step": "1", "nat": "1"}
    data = {}
    for name, value in values.items():
        if name == "occupancy":
            continue
        units, long_name = METRIC_INFO[name]
        data[name] = ((), np.float64(value), {"units": unit.get(units, units), "long_name": long_name})
    data["occupancy"] = (("region",), values["occupancy"], {"units": "1", "long_name": "fraction of time per region"})
    ds = xr.Dataset(data, coords={"region_name": ("region", list(task.region_names), {"long_name": "task region"})},
                    attrs=provenance(f"metrics {spec['task']['task']}/{spec['variant']}", spec, spec["seed"]))
    write_dataset(ds, args.out)
    key = ", ".join(f"{k} {values[k]:.3g}" for k in ("wasserstein", "reach_time", "speed", "off_track", "kl",
                                                     "angular_drift") if k in values)
    _log(f"metrics {spec['task']['task']}/{spec['variant']} seed {spec['seed']}: {key}, "
         f"{time.perf_counter() - t0:.1f} s")


def metrics_table(paths: list[str]) -> pd.DataFrame:
    """Long table (task, variant, seed, metric, value) from per-job metrics files."""
    from .io import read_dataset, spec_of

    rows = []
    for path in paths:
        ds = read_dataset(path)
        spec = spec_of(ds)
        for name, var in ds.data_vars.items():
            if var.ndim == 0:
                rows.append(dict(task=spec["task"]["task"], variant=spec["variant"], seed=spec["seed"],
                                 metric=name, value=float(var.values)))
            else:
                for region, value in zip(ds["region_name"].values, var.values):
                    rows.append(dict(task=spec["task"]["task"], variant=spec["variant"], seed=spec["seed"],
                                     metric=f"occupancy_{region}", value=float(value)))
    return pd.DataFrame(rows)


TABLE_METRICS = ["final_loss", "wasserstein", "reach_time", "reach_fraction", "speed", "step_length",
                 "compression", "off_track", "occupancy_entropy", "region_switches"]


def cmd_summarise(args) -> None:
    from .io import write_text
    from .stats import markdown_table, summarise

    t0 = time.perf_counter()
    table = metrics_table(args.inputs)
    summary = summarise(table)
    for out, frame in ((args.table, table), (args.summary, summary)):
        write_text(out, frame.to_csv(index=False))
    write_text(args.markdown, markdown_table(summary, TABLE_METRICS))
    _log(f"summarise: {len(args.inputs)} metrics files, {len(summary)} summary rows -> {args.table}, "
         f"{args.summary}, {args.markdown}, {time.perf_counter() - t0:.1f} s")


def _read_runs(paths: list[str], required: tuple[str, ...]):
    """The (spec, dataset) of each replay file, in order, and the task of the first file (the
    figures that use it draw one task's files)."""
    from .data import task_from_spec
    from .io import read_dataset, spec_of

    runs = [(spec_of(ds), ds) for ds in (read_dataset(path, required=required) for path in paths)]
    return runs, task_from_spec(runs[0][0]["task"]) if runs else None


def _run_name(spec: dict) -> str:
    """``task/variant`` of a file's spec."""
    return f"{spec['task']['task']}/{spec['variant']}"


def cmd_figure(args) -> None:
    from . import figures
    from .io import read_dataset, spec_of

    t0 = time.perf_counter()
    if args.kind == "examples":
        runs, task = _read_runs(args.inputs, ("position",))
        replays = {spec["variant"]: ds["position"].values[: args.n_show] for spec, ds in runs}
        figures.replay_examples(task, replays, args.out, n_show=args.n_show)
    elif args.kind == "metrics":
        table = pd.read_csv(args.inputs[0])
        figures.metrics_by_variant(table, args.task, args.metrics or TABLE_METRICS, args.out)
    elif args.kind == "sweep":
        table = pd.read_csv(args.inputs[0])
        friction = json.loads(args.friction)
        figures.momentum_sweep(table, friction, args.metrics or ["reach_time", "speed", "wasserstein", "off_track"],
                               args.out)
    elif args.kind == "kl":
        figures.kl_heatmap(kl_matrix(args.inputs), args.out)
    elif args.kind == "densities":
        runs, task = _read_runs(args.inputs, ("position", "active_position"))
        densities = {_run_name(spec): (ds["active_position"].values,
                                       ds["position"].values[:, spec["metrics"]["burn_in"]:]) for spec, ds in runs}
        figures.density_grid(task, densities, args.out)
    elif args.kind == "kr24":
        figures.kr24_summary(pd.read_csv(args.inputs[0]), args.tasks, args.out)
    elif args.kind == "ring":
        runs, _ = _read_runs(args.inputs, ("position",))
        replays = {_run_name(spec): ds["position"].values for spec, ds in runs}
        figures.heading_ring(replays, args.out, n_show=args.n_show)
    elif args.kind == "code":
        runs, task = _read_runs(args.inputs, ("position", "readout"))
        replays = {spec["variant"]: (ds["position"].values[: args.n_show], ds["readout"].values[: args.n_show])
                   for spec, ds in runs}
        true_code = task.encode(read_dataset(args.test_paths, required=("position",))["position"].values)
        figures.code_space(task, replays, true_code, args.out, n_show=min(args.n_show, 3))
    elif args.kind == "loss":
        frames = []
        for path in args.inputs:
            ds = read_dataset(path, required=("loss",))
            spec = spec_of(ds)
            frames.append(pd.DataFrame(dict(task=spec["task"]["task"], variant=spec["trained_variant"],
                                            seed=spec["seed"], step=ds["step"].values, loss=ds["loss"].values)))
        figures.loss_curves(pd.concat(frames, ignore_index=True), args.out)
    _log(f"figure {args.kind}: {len(args.inputs)} input files -> {args.out}, {time.perf_counter() - t0:.1f} s")


def cmd_report(args) -> None:
    from .io import write_text
    from .report import provenance_page, summary_page

    t0 = time.perf_counter()
    write_text(args.out_summary, summary_page(Path(args.summary).read_text()))
    write_text(args.out_provenance, provenance_page(_spec(args.config), args.metrics))
    _log(f"report pages: summary and provenance of {len(args.metrics)} metrics files -> {args.out_summary}, "
         f"{args.out_provenance}, {time.perf_counter() - t0:.1f} s")


def cmd_theory(args) -> None:
    from . import figures
    from .io import write_text
    from .theory import run_checks

    t0 = time.perf_counter()
    checks = run_checks(seed=args.seed, n=args.n)
    write_text(args.checks, checks.to_csv(index=False))
    figures.theory(args.out, seed=args.seed, n=args.n)
    _log(f"theory: {int(checks['passed'].sum())}/{len(checks)} checks pass -> {args.checks}, {args.out}, "
         f"{time.perf_counter() - t0:.1f} s")


def cmd_claims(args) -> None:
    from .io import write_text
    from .stats import claims_markdown, evaluate_claims

    t0 = time.perf_counter()
    claims = _spec(args.spec)
    checks = pd.read_csv(args.theory_checks) if args.theory_checks else None
    result = evaluate_claims(pd.read_csv(args.metrics), claims, checks)
    write_text(args.out_csv, result.to_csv(index=False))
    write_text(args.out_md, claims_markdown(result, claims.get("decision")))
    verdicts = result.drop_duplicates("claim").set_index("claim")["claim_verdict"]
    _log("claims: " + ", ".join(f"{c} {v}" for c, v in verdicts.items()) + f" -> {args.out_csv}, {args.out_md}, {time.perf_counter() - t0:.1f} s")


def kl_matrix(paths: list[str]) -> pd.DataFrame:
    """KL(quiescent || active) for every pair of (task/variant) replay files of the same seed,
    plus the untrained-network and uniform baselines as extra quiescent rows.

    Returns a long table with columns quiescent, active, seed, kl (nats)."""
    from .config import derive_seed
    from .data import task_from_spec
    from .metrics import kde_kl, uniform_box_kl

    runs = []
    for spec, ds in _read_runs(paths, ("position", "active_position"))[0]:
        burn = spec["metrics"]["burn_in"]
        runs.append(dict(name=_run_name(spec), seed=spec["seed"], spec=spec,
                         quiescent=ds["position"].values[:, burn:], active=ds["active_position"].values,
                         untrained=ds["untrained_position"].values[:, burn:] if "untrained_position" in ds else None))
    rows = []
    for act in runs:
        cfg = act["spec"]["metrics"]
        kw = dict(n=cfg.get("kl_samples", 2500), max_points=cfg.get("kde_points", 5000),
                  seed=derive_seed("kl_matrix", act["name"], act["seed"]))
        for q in runs:
            if q["seed"] == act["seed"]:
                rows.append(dict(quiescent=q["name"], active=act["name"], seed=act["seed"],
                                 kl=kde_kl(q["quiescent"], act["active"], **kw)))
        untrained = [q for q in runs if q["seed"] == act["seed"] and q["untrained"] is not None]
        if untrained:  # one untrained network per (task, seed): take the first file's
            rows.append(dict(quiescent="untrained", active=act["name"], seed=act["seed"],
                             kl=kde_kl(untrained[0]["untrained"], act["active"], **kw)))
        task = task_from_spec(act["spec"]["task"])
        if task.box is not None:
            rows.append(dict(quiescent="uniform", active=act["name"], seed=act["seed"],
                             kl=uniform_box_kl(task.box, act["active"], **kw)))
    return pd.DataFrame(rows)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rnnreplay", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="stage", required=True)

    def add(name, func, help_):
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(func=func)
        p.add_argument("--spec", required=name not in ("summarise", "figure", "theory", "report"), help="resolved job spec: JSON or @file")
        return p

    p = add("synthesize", cmd_synthesize, "draw a task's train or test paths into a NetCDF file")
    p.add_argument("--split", choices=("train", "test"), required=True)
    p.add_argument("--seed", type=int, default=0, help="experiment seed (train split only)")
    p.add_argument("--out", required=True)

    p = add("train", cmd_train, "train one model; writes the model file and its loss curve")
    p.add_argument("--train-paths", required=True)
    p.add_argument("--out-model", required=True)
    p.add_argument("--out-loss", required=True)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (the job's threads)")
    p.add_argument("--checkpoint", help="resumable checkpoint file, written every train.checkpoint_every "
                                        "steps and removed once the outputs are written")

    p = add("replay", cmd_replay, "sample replay from a trained model; writes a NetCDF file")
    p.add_argument("--model", required=True)
    p.add_argument("--test-paths", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--threads", type=int, default=None)

    p = add("metrics", cmd_metrics, "compute the metrics of one replay file")
    p.add_argument("--replay", required=True)
    p.add_argument("--test-paths", required=True)
    p.add_argument("--loss", required=True)
    p.add_argument("--out", required=True)

    p = add("summarise", cmd_summarise, "collect metrics files into tables (long CSV, summary CSV, markdown)")
    p.add_argument("--inputs", nargs="+", required=True)
    p.add_argument("--table", required=True)
    p.add_argument("--summary", required=True)
    p.add_argument("--markdown", required=True)

    p = add("figure", cmd_figure, "draw a figure (examples, metrics, sweep, loss; KR24: kl, densities, kr24, ring; "
                                  "rat: code)")
    p.add_argument("kind", choices=("examples", "metrics", "sweep", "loss", "kl", "densities", "kr24", "ring", "code"))
    p.add_argument("--inputs", nargs="+", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--task", help="metrics: which task")
    p.add_argument("--metrics", nargs="*", help="metrics/sweep: which metrics")
    p.add_argument("--friction", help="sweep: JSON map variant -> lambda_v")
    p.add_argument("--n-show", type=int, default=4)
    p.add_argument("--tasks", nargs="*", help="kr24: which tasks")
    p.add_argument("--test-paths", help="code: the task's test paths (defines the place-cell PCA)")

    p = add("theory", cmd_theory, "simulate the theory oracles: checks CSV and the theory figure")
    p.add_argument("--out", required=True, help="figure PNG (a PDF is written beside it)")
    p.add_argument("--checks", required=True, help="CSV of simulated vs closed-form checks")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n", type=int, default=4000, help="chains per simulation")

    p = add("claims", cmd_claims, "verdicts of the config's claims from the metrics table (CSV and markdown)")
    p.add_argument("--metrics", required=True, help="long metrics table (results/tables/metrics.csv)")
    p.add_argument("--theory-checks", help="theory checks CSV, for claims of kind theory")
    p.add_argument("--out-csv", required=True)
    p.add_argument("--out-md", required=True)

    p = add("report", cmd_report, "write the report's HTML pages: summary table and provenance")
    p.add_argument("--summary", required=True, help="summary.md from summarise")
    p.add_argument("--metrics", nargs="+", required=True, help="metrics files (their provenance is listed)")
    p.add_argument("--config", required=True, help="resolved config: JSON or @file")
    p.add_argument("--out-summary", required=True)
    p.add_argument("--out-provenance", required=True)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (FileNotFoundError, ValueError, FloatingPointError, RuntimeError) as exc:
        _log(f"rnnreplay {args.stage}: error: {exc}")
        return 1
    return 0
