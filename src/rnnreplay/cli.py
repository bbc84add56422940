"""Command-line interface, one subcommand per workflow stage: python -m rnnreplay STAGE --help.

Each subcommand parses its arguments and makes one call into the package. Per-job stages take
--job: the job description (module rnnreplay.jobs) as JSON, or @file, which the workflow
resolves from the config (module rnnreplay.config). Settings that change no output (device,
log and checkpoint intervals) are flags, defaulting to the workflow run's config when the workflow
runs the stage (rnnreplay.jobs.run_config).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def _text(text: str, what: str) -> str:
    """An argument's text, given inline or as ``@file`` (an unreadable file: one line naming it)."""
    if not text.startswith("@"):
        return text
    try:
        return Path(text[1:]).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{what} {text}: cannot read {text[1:]} ({getattr(exc, 'strerror', None) or exc})") from exc


def _json(text: str, what: str):
    """A JSON argument, given inline or as ``@file``."""
    text = _text(text, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{what} is not valid JSON: {exc}") from exc


def _job(text: str, expected, many: bool = False):
    """The ``--job`` argument (JSON, or ``@file``) as a job of type ``expected``; with ``many``, a
    list of them (one job is a list of one)."""
    from .jobs import from_json

    from .config_checks import job_errors

    spec = _text(text, "--job")
    try:
        job = from_json(spec, expected, strict=True)
    except ValueError as exc:
        raise ValueError(f"--job {text[:60]!r}: {exc}") from exc
    errors = job_errors(job)  # the config's rules, applied to a job given by hand
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ValueError(f"--job {text[:60]!r}: {errors[0]}{more}")
    if many:
        return job if isinstance(job, list) else [job]
    if isinstance(job, list):
        raise ValueError(f"--job {text[:60]!r}: a list of jobs where one {expected.__name__} is needed")
    return job


def _check_arguments(args) -> None:
    """Before any work: no output path is an input or another output (rnnreplay.checks.clash_errors),
    --threads is at least 1 and --device is one that torch is asked for (ValueError otherwise)."""
    import re

    from .checks import clash_errors

    errors = clash_errors(args.stage, vars(args))
    if getattr(args, "threads", None) is not None and args.threads < 1:
        errors.append(f"--threads {args.threads}: must be at least 1")
    device = getattr(args, "device", None)
    if device is not None and device not in ("cpu", "cuda", "auto") and not re.fullmatch(r"cuda:\d+", device):
        errors.append(f"--device {device}: must be cpu, cuda (or cuda:N) or auto")
    if errors:
        raise ValueError(errors[0] + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""))


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _compute_setup(args):
    """Torch threads and reuse of freed memory (see rnnreplay.allocator) of a train/replay job;
    returns its device."""
    import torch

    from .allocator import keep_freed_memory
    from .jobs import run_config
    from .train import select_device

    from .train import set_precision

    keep_freed_memory()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = select_device(args.device or run_config().get("device", "cpu"))
    set_precision(getattr(args, "precision", None) or run_config().get("precision", "float32"), device)
    return device


def cmd_synthesize(args) -> str:
    from .data import synthesize_file
    from .jobs import SynthesisJob

    return synthesize_file(_job(args.job, SynthesisJob), args.out)


def cmd_train(args) -> str:
    from .jobs import TrainJob, run_config
    from .train import train_file

    jobs = _job(args.job, TrainJob, many=True)
    intervals = run_config().get("train", {})
    device = _compute_setup(args)
    return train_file(jobs, args.train_paths, args.out_model, args.out_loss, device=device,
                      log=_log, checkpoint=args.checkpoint,
                      batches=args.batch_encoding or run_config().get("batch_encoding", "auto"),
                      cuda_graphs=_cuda_graphs(args, device),
                      log_every=args.log_every or intervals.get("log_every", 100),
                      checkpoint_every=args.checkpoint_every if args.checkpoint_every is not None
                      else intervals.get("checkpoint_every", 0))


def _cuda_graphs(args, device) -> bool:
    """Whether training replays its recurrence as CUDA graphs: --cuda-graphs, else the workflow
    config's cuda_graphs, only where the job runs on CUDA (on CPU the option changes nothing)."""
    from .jobs import run_config

    asked = args.cuda_graphs if args.cuda_graphs is not None else run_config().get("cuda_graphs", False)
    return bool(asked) and device.type == "cuda"


def cmd_replay(args) -> str:
    from .jobs import ReplayJob
    from .replay import replay_file

    jobs = _job(args.job, ReplayJob, many=True)
    return replay_file(jobs, args.model, args.test_paths, args.out, device=_compute_setup(args), log=_log)


def cmd_metrics(args) -> str:
    from .jobs import MetricsJob
    from .metrics import metrics_file  # torch-free: a quick start

    return metrics_file(_job(args.job, MetricsJob, many=True), args.replay, args.test_paths, args.loss, args.out)


def cmd_summarise(args) -> str:
    from .stats import summarise_files

    return summarise_files(args.inputs, args.table, args.summary, args.markdown)


def cmd_figure(args) -> str:
    from .figures import draw

    options = {k: getattr(args, k) for k in ("task", "tasks", "metrics", "n_show", "test_paths", "metrics_table",
                                             "gate")}
    options["friction"] = _json(args.friction, "--friction") if args.friction else None
    options["settings"] = _json(args.settings, "--settings") if args.settings else None
    return draw(args.kind, args.inputs, args.out, **options)


def cmd_compare(args) -> str:
    from .figures import compare_stage

    return compare_stage(args.inputs, args.values, args.out_md, args.out_png, axis=args.axis,
                         metrics=args.metrics, gate=args.gate)


def cmd_robustness(args) -> str:
    from .robustness import map_files
    from .figures.robustness import robustness_figure

    text, claims, parts = map_files(args.inputs, args.universes, args.out_csv, args.out_md, args.out_parts,
                                    args.min_valid_share, args.tasks, args.out_claims)
    if args.out_png:
        robustness_figure(parts, args.universes, args.out_png)
    return text


def cmd_report(args) -> str:
    from .report import write_pages

    return write_pages(args.summary, args.metrics, args.out_summary, args.out_provenance)


def cmd_claims_page(args) -> str:
    from .report import write_claims_fragment

    return write_claims_fragment(args.claims_md, args.out, figure=args.figure)


def cmd_theory(args) -> str:
    from .figures import write_theory

    return write_theory(args.out, args.checks, seed=args.seed, n=args.n)


def cmd_claims(args) -> str:
    from .claims_report import claims_files

    robustness = tuple(args.robustness) if args.robustness else None
    return claims_files(_json(args.claims, "--claims"), args.metrics, args.theory_checks, args.out_csv, args.out_md,
                        robustness)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rnnreplay", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="stage", required=True)

    def add(name, func, help_, job=False, compute=False):
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(func=func)
        if job:
            p.add_argument("--job", required=True, help="the job description (rnnreplay.jobs): JSON or @file")
        if compute:
            p.add_argument("--threads", type=int, default=None, help="torch CPU threads (the job's threads)")
            p.add_argument("--device", help="cpu | cuda | auto (CUDA when present); default: the workflow "
                                            "config's device, else cpu")
            p.add_argument("--precision", choices=["float32", "tf32"],
                           help="float32 products on CUDA: float32 (full) or tf32; default: the workflow config's "
                                "precision, else float32. No effect on CPU")
        return p

    p = add("synthesize", cmd_synthesize, "draw a task's train or test paths into a NetCDF file", job=True)
    p.add_argument("--out", required=True, help="the NetCDF file of paths to write")

    p = add("train", cmd_train, "train a model, or an ensemble (a list of jobs: the seeds of one variant, side by "
                                "side); writes each model file and its loss curve", job=True, compute=True)
    p.add_argument("--train-paths", nargs="+", required=True, help="one training pool per job")
    p.add_argument("--out-model", nargs="+", required=True, help="one model file per job")
    p.add_argument("--out-loss", nargs="+", required=True, help="one loss file per job")
    p.add_argument("--checkpoint", help="resumable checkpoint file, removed once the outputs are written")
    p.add_argument("--batch-encoding", choices=["auto", "numpy", "torch"],
                   help="where each step's batch is gathered, masked and encoded: torch on the device, numpy on "
                        "the CPU, auto (torch on CUDA, numpy on CPU); default: the workflow config's batch_encoding")
    p.add_argument("--cuda-graphs", action=argparse.BooleanOptionalAction, default=None,
                   help="on CUDA, run the recurrence's training loops as CUDA graphs (few launches per step); "
                        "default: the workflow config's cuda_graphs, else off. No effect on CPU")
    p.add_argument("--checkpoint-every", type=int, help="steps between checkpoints (0 = none); default: the "
                                                        "workflow config's train.checkpoint_every, else 0")
    p.add_argument("--log-every", type=int, help="steps between progress lines; default: the workflow config's "
                                                 "train.log_every, else 100")

    p = add("replay", cmd_replay, "sample replay from trained models (a job, or a list: the seeds of one variant); "
                                  "writes a NetCDF file each", job=True, compute=True)
    p.add_argument("--model", nargs="+", required=True, help="one model file per job")
    p.add_argument("--test-paths", required=True, help="the task's held-out paths (NetCDF): where replay starts")
    p.add_argument("--out", nargs="+", required=True, help="one replay file per job")

    p = add("metrics", cmd_metrics, "compute the metrics of replay files (a job, or a list: one per file)", job=True)
    p.add_argument("--replay", nargs="+", required=True, help="one replay file per job (NetCDF)")
    p.add_argument("--test-paths", required=True, help="the task's held-out paths (NetCDF): the true positions")
    p.add_argument("--loss", nargs="+", required=True, help="each replay's model's loss curve")
    p.add_argument("--out", nargs="+", required=True, help="one metrics file per job (NetCDF)")

    p = add("summarise", cmd_summarise, "collect metrics files into tables (long CSV, summary CSV, markdown)")
    p.add_argument("--inputs", nargs="+", required=True, help="metrics files (NetCDF)")
    p.add_argument("--table", required=True, help="CSV to write: every metric of every (task, variant, seed)")
    p.add_argument("--summary", required=True, help="CSV to write: mean and 95%% CI over seeds per task, variant, "
                                                    "metric")
    p.add_argument("--markdown", required=True, help="markdown to write: the summary as a table")

    from .figures import FIGURES

    p = add("figure", cmd_figure, "draw a figure: " + ", ".join(FIGURES))
    p.add_argument("kind", choices=tuple(FIGURES), help="which figure")
    p.add_argument("--inputs", nargs="+", required=True, help="the figure's input files (replay or metrics files, "
                                                              "or a table, by figure)")
    p.add_argument("--out", required=True, help="figure PNG (a PDF is written beside it)")
    p.add_argument("--task", help="metrics: which task")
    p.add_argument("--metrics", nargs="*", help="metrics/sweep: which metrics (default: the registry's)")
    p.add_argument("--friction", help="sweep: JSON map variant -> lambda_v")
    p.add_argument("--n-show", type=int, default=4, help="examples, ring, code: trajectories drawn per panel")
    p.add_argument("--tasks", nargs="*", help="kr24: which tasks")
    p.add_argument("--test-paths", nargs="+", help="code: the task's test paths (defines the place-cell PCA); "
                                                   "pi_error: each task's test paths")
    p.add_argument("--gate", type=float, help="pi_error: the learning gate's threshold (error / chance)")
    p.add_argument("--metrics-table", help="kl: the long metrics table (each run's own KL and baselines)")
    p.add_argument("--settings", help="kl, densities: the metrics settings as JSON")

    p = add("theory", cmd_theory, "simulate the theory oracles: checks CSV and the theory figure")
    p.add_argument("--out", required=True, help="figure PNG (a PDF is written beside it)")
    p.add_argument("--checks", required=True, help="CSV of simulated vs closed-form checks")
    p.add_argument("--seed", type=int, default=0, help="seed of the simulations")
    p.add_argument("--n", type=int, default=4000, help="chains per simulation")

    p = add("claims", cmd_claims, "verdicts of the config's claims from the metrics table (CSV and markdown)")
    p.add_argument("--claims", required=True, help="the config's claims section: JSON or @file")
    p.add_argument("--metrics", required=True, help="long metrics table (results/tables/metrics.csv)")
    p.add_argument("--theory-checks", help="theory checks CSV, for claims of kind theory")
    p.add_argument("--out-csv", required=True, help="CSV to write: every part's and claim's verdict and numbers")
    p.add_argument("--out-md", required=True, help="markdown to write: the verdicts, parts and learning tables")
    p.add_argument("--robustness", nargs=2, metavar=("PARTS_CSV", "CLAIMS_CSV"),
                   help="a robustness map's robustness_parts.csv and robustness_claims.csv: claims.md shows each "
                        "claim's and part's class across its universes")

    p = add("compare", cmd_compare, "the claims of runs that differ in one setting (network width, training "
            "budget) side by side (markdown, figure)")
    p.add_argument("--axis", choices=["width", "budget"], default="width",
                   help="what sets the runs apart: width (--values: hidden units) or budget (--values: "
                        "multiplier of config.yaml's training steps)")
    p.add_argument("--inputs", nargs="+", required=True, help="each run's claims.csv")
    p.add_argument("--values", nargs="+", type=float, required=True, help="each input's run's value of the setting")
    p.add_argument("--out-md", required=True, help="markdown table: claim, part, verdict/effect/learned per run")
    p.add_argument("--out-png", help="figure: each part's effect against the setting (a PDF is written beside it)")
    p.add_argument("--metrics", nargs="+", help="each input's run's metrics.csv: adds a table of learning in each run")
    p.add_argument("--gate", type=float, help="with --metrics: the runs' learning gate "
                   "(claims.decision.learned_max_error_ratio)")

    p = add("robustness", cmd_robustness, "the robustness map: the claims of every universe side by side, each "
            "part classified robust, fragile, reversed or untested (CSV, markdown, figure)")
    p.add_argument("--inputs", nargs="+", required=True, help="each universe's claims.csv")
    p.add_argument("--universes", nargs="+", required=True, help="each input's universe name, the reference first")
    p.add_argument("--min-valid-share", type=float, default=0.5,
                   help="a part is untested when valid in fewer than this share of the universes that judge it")
    p.add_argument("--out-csv", required=True, help="long table: claim part x universe (verdict, effect, CI, learned)")
    p.add_argument("--out-md", required=True, help="markdown: each claim's and part's class, the wide verdict table")
    p.add_argument("--out-parts", help="CSV: one row per part, its verdict in each universe and its class")
    p.add_argument("--out-claims", help="CSV: one row per claim, its verdict in each universe and its class")
    p.add_argument("--tasks", nargs="+", help="keep only the claim parts on these tasks (claims of a run of more "
                   "tasks, e.g. an earlier whole-config run whose jobs on these tasks are a universe's)")
    p.add_argument("--out-png", help="figure: parts x universes coloured by verdict (a PDF is written beside it)")

    p = add("report", cmd_report, "write the report's HTML pages: summary table and provenance")
    p.add_argument("--summary", required=True, help="summary.md from summarise")
    p.add_argument("--metrics", nargs="+", required=True, help="metrics files (their provenance is listed)")
    p.add_argument("--out-summary", required=True, help="HTML page to write: the summary table")
    p.add_argument("--out-provenance", required=True, help="HTML page to write: each metrics file's provenance")

    p = add("claims-page", cmd_claims_page, "the verdict figure and the claims report (claims.md) as an HTML "
                                            "fragment for the report's landing page")
    p.add_argument("--claims-md", required=True, help="the claims report (results/claims.md)")
    p.add_argument("--figure", help="the verdict figure (results/figures/verdicts.png), embedded above the tables")
    p.add_argument("--out", required=True, help="HTML fragment (results/report/claims.html)")
    return parser


def _message(exc: BaseException) -> str:
    """One line for an error: ``PATH: cause`` for an OS error on a file, else its message."""
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    if isinstance(exc, MemoryError):
        return f"out of memory ({exc or 'MemoryError'})"
    return " ".join(str(exc).split())


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    start = time.perf_counter()
    try:
        _check_arguments(args)
        done = args.func(args)
    except (OSError, ValueError, FloatingPointError, RuntimeError, MemoryError) as exc:
        _log(f"rnnreplay {args.stage}: error: {_message(exc)}")
        return 1
    _log(f"{args.stage}: {done}, {time.perf_counter() - start:.1f} s")
    return 0
