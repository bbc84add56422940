"""Issue 25, class by class: nothing lost (path clashes, device nodes, damaged outputs, a killed
run), nothing silently wrong (config values that failed later, claims not checked against the run,
jobs given by hand, messages that named no key). Each test fails on the code before the fix."""

from __future__ import annotations

import copy
import json
import math
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from rnnreplay import config as rc
from rnnreplay import config_checks as cc
from rnnreplay import config_files as rcf
from rnnreplay import config_validation as rcv
from rnnreplay import io, launch
from rnnreplay.claims import evaluate_claims

from test_bad_input import DATA, ROOT, SCHEMA, TINY, assert_clean_failure, cli, dry_run_text

TINY_TEXT = (ROOT / "tests" / "configs" / "tiny.yaml").read_text()


def errors_of(mutate) -> list[str]:
    cfg = copy.deepcopy(TINY)
    mutate(cfg)
    return rcv.config_errors(cfg, SCHEMA)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Tiny tmaze jobs (JSON files) and their train paths, test paths, model, loss and replay."""
    tmp = tmp_path_factory.mktemp("faults")
    cfg = {**TINY, "data": DATA, "train": {**TINY["train"], "steps": 3, "curriculum": [], "lr_warmup": 0}}
    for stage in ("train", "replay", "metrics"):
        (tmp / f"{stage}.json").write_text(rc.to_json(getattr(rc, f"{stage}_job")(cfg, "tmaze", "noleak", 0)))
    for split in ("train", "test"):
        (tmp / f"{split}_job.json").write_text(rc.to_json(rc.synthesis_job(cfg, "tmaze", split, 0)))
        assert cli("synthesize", "--job", f"@{tmp / f'{split}_job.json'}", "--out", tmp / f"{split}.nc").returncode == 0
    assert cli("train", "--job", f"@{tmp / 'train.json'}", "--train-paths", tmp / "train.nc", "--out-model",
               tmp / "m.pt", "--out-loss", tmp / "loss.nc").returncode == 0
    assert cli("replay", "--job", f"@{tmp / 'replay.json'}", "--model", tmp / "m.pt", "--test-paths",
               tmp / "test.nc", "--out", tmp / "r.nc").returncode == 0
    assert cli("metrics", "--job", f"@{tmp / 'metrics.json'}", "--replay", tmp / "r.nc", "--test-paths",
               tmp / "test.nc", "--loss", tmp / "loss.nc", "--out", tmp / "x.nc").returncode == 0
    return tmp


# --- 1. Data loss and overwrites ----------------------------------------------------------------


def test_an_output_that_is_an_input_or_another_output_is_refused(files, tmp_path):
    test_paths = files / "test.nc"
    before = test_paths.read_bytes()
    proc = cli("replay", "--job", f"@{files / 'replay.json'}", "--model", files / "m.pt", "--test-paths", test_paths,
               "--out", test_paths)
    assert_clean_failure(proc, f"--out {test_paths}: the same file as --test-paths")
    assert test_paths.read_bytes() == before
    os.link(test_paths, tmp_path / "hard.nc")  # a hard link is the same file under another name
    assert_clean_failure(cli("replay", "--job", f"@{files / 'replay.json'}", "--model", files / "m.pt",
                             "--test-paths", test_paths, "--out", tmp_path / "hard.nc"),
                         "the same file as --test-paths")
    proc = cli("train", "--job", f"@{files / 'train.json'}", "--train-paths", files / "train.nc",
               "--out-model", tmp_path / "t.pt", "--out-loss", tmp_path / "t.pt")
    assert_clean_failure(proc, f"--out-loss {tmp_path / 't.pt'}: the same file as --out-model")
    assert list(tmp_path.iterdir()) == [tmp_path / "hard.nc"]


def test_summarise_refuses_one_file_given_twice(files, tmp_path):
    out = [tmp_path / n for n in ("m.csv", "s.csv", "s.md")]
    proc = cli("summarise", "--inputs", files / "x.nc", files / "x.nc", "--table", out[0], "--summary", out[1],
               "--markdown", out[2])
    assert_clean_failure(proc, f"--inputs {files / 'x.nc'}: given twice; it would count twice")
    assert not any(p.exists() for p in out)


def test_two_replay_jobs_with_one_output_are_refused(files, tmp_path):
    spec = json.loads((files / "replay.json").read_text())
    proc = cli("replay", "--job", json.dumps([spec, spec]), "--model", files / "m.pt", files / "m.pt",
               "--test-paths", files / "test.nc", "--out", tmp_path / "r.nc", tmp_path / "r.nc")
    assert_clean_failure(proc, f"--out {tmp_path / 'r.nc'}: given twice")


def test_an_output_that_is_a_fifo_or_a_device_is_never_replaced(files, tmp_path):
    fifo = tmp_path / "pipe.nc"
    os.mkfifo(fifo)
    proc = cli("synthesize", "--job", f"@{files / 'test_job.json'}", "--out", fifo)
    assert_clean_failure(proc, f"{fifo}: the output path is a FIFO (named pipe), not a file; refusing to replace it")
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    if os.geteuid() == 0 and Path("/dev/full").exists():  # root could replace it: the case of the issue
        proc = cli("synthesize", "--job", f"@{files / 'test_job.json'}", "--out", "/dev/full")
        assert_clean_failure(proc, "/dev/full: the output path is a character device")
        assert stat.S_ISCHR(Path("/dev/full").stat().st_mode)


def test_a_truncated_output_is_found_from_its_bytes(files, tmp_path):
    for name in ("x.nc", "m.pt"):
        data = (files / name).read_bytes()
        assert io.damage(files / name) is None
        (tmp_path / name).write_bytes(data[: len(data) // 2])
        assert "is truncated" in io.damage(tmp_path / name)
    (tmp_path / "empty.nc").write_bytes(b"")
    assert io.damage(tmp_path / "empty.nc") == "is empty"
    results = tmp_path / "results"
    (results / "metrics" / "tmaze" / "noleak").mkdir(parents=True)
    (tmp_path / "x.nc").rename(results / "metrics" / "tmaze" / "noleak" / "seed0.nc")
    (results / "tables").mkdir()
    (results / "tables" / "odd.nc").write_bytes(b"")  # not a per-job output folder: left alone
    [line] = io.remove_damaged(results, dry_run=True)
    assert line.endswith("seed0.nc is truncated (" + line.split("(")[1].split(")")[0] + "); the run will remove it "
                         "and rebuild it")
    assert (results / "metrics" / "tmaze" / "noleak" / "seed0.nc").exists()
    [line] = io.remove_damaged(results)
    assert "removed, the run rebuilds it" in line
    assert not (results / "metrics" / "tmaze" / "noleak" / "seed0.nc").exists()
    assert (results / "tables" / "odd.nc").exists()


# --- 2. Resume after a hard kill ------------------------------------------------------------------


def test_a_stale_lock_is_removed_only_when_no_run_of_the_folder_is_active(tmp_path):
    locks = tmp_path / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    (locks / "0.input.lock").write_text("x")
    sleeper = subprocess.Popen(["bash", "-c", "exec -a snakemake sleep 60"], cwd=tmp_path)
    try:
        time.sleep(0.3)
        lines = []
        assert not launch.clear_stale_lock(tmp_path, log=lines.append)
        assert f"pid {sleeper.pid}" in lines[0] and "still active" in lines[0]
        assert (locks / "0.input.lock").exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    lines = []
    assert launch.clear_stale_lock(tmp_path, log=lines.append)
    assert not any(locks.iterdir()) and "removed the lock of a run that was stopped" in lines[0]


def test_a_missing_or_directory_configfile_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.yaml").mkdir()
    for name, cause in (("nope.yaml", "no such file"), ("d.yaml", "a directory")):
        assert launch.main(["-n", "--directory", str(tmp_path), "--configfile", name]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert err == [f"rnnreplay: --configfile {name}: {cause}" + (", not a config file" if "dir" in cause else "")]


@pytest.mark.workflow
def test_kill_9_then_the_documented_command_resumes_and_a_truncated_output_is_rebuilt(tmp_path):
    """A quick T-maze run killed with SIGKILL (the whole process group, during training) is resumed
    by the command the Makefile runs, to the end. Then a finished metrics file is truncated: the same
    command rebuilds it, and the metrics table and claims are the same as before."""
    (tmp_path / "c.yaml").write_text(TINY_TEXT.replace("train: {steps: 15,", "train: {steps: 400,"))
    args = ["--cores", "1", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path), "--configfile",
            "c.yaml", "--config", "only_tasks=[tmaze]"]  # the default target, as `make reproduce`
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), PATH=f"{Path(sys.executable).parent}{os.pathsep}"
               f"{os.environ['PATH']}")
    command = [sys.executable, "-m", "rnnreplay.launch", *args]
    run = subprocess.Popen(command, env=env, cwd=tmp_path, start_new_session=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not list((tmp_path / "results" / "logs" / "train").rglob("*.log")) and time.time() < deadline:
        time.sleep(0.5)
    time.sleep(3)
    os.killpg(run.pid, 9)
    run.wait()
    assert run.returncode == -9, "the run should have been killed, not have ended"
    assert list((tmp_path / ".snakemake" / "locks").glob("*.lock")), "the kill should leave Snakemake's lock"
    proc = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "removed the lock of a run that was stopped" in proc.stderr
    table = tmp_path / "results" / "tables" / "metrics.csv"
    first, claims = pd.read_csv(table), (tmp_path / "results" / "claims.csv").read_text()
    metrics = sorted((tmp_path / "results" / "metrics").rglob("seed*.nc"))
    data = metrics[0].read_bytes()
    metrics[0].write_bytes(data[: len(data) // 3])
    proc = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"{metrics[0].relative_to(tmp_path)} is truncated" in proc.stderr
    assert "removed, the run rebuilds it" in proc.stderr
    assert io.damage(metrics[0]) is None
    pd.testing.assert_frame_equal(pd.read_csv(table), first)
    assert (tmp_path / "results" / "claims.csv").read_text() == claims


# --- 3. Config values that passed the dry run -----------------------------------------------------


def alias_bomb(depth: int = 9) -> str:
    """Billion laughs: each level a list of ten aliases of the level below."""
    lines = ["lol:", "  a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, depth)]
    return TINY_TEXT.replace("seeds: [0, 1]\n", "seeds: [0, 1]\n" + "\n".join(lines) + "\n")


def test_an_alias_bomb_is_refused_before_it_is_expanded(tmp_path):
    (tmp_path / "c.yaml").write_text(alias_bomb())
    start = time.perf_counter()
    [line] = rcf.config_file_errors(tmp_path / "c.yaml")
    assert line.startswith(f"{tmp_path / 'c.yaml'}: expands to more than 200,000 values") and "alias bomb" in line
    cfg = copy.deepcopy(TINY)
    import yaml

    cfg["lol"] = yaml.safe_load(alias_bomb())["lol"]
    [line] = rcv.config_errors(cfg, SCHEMA)
    assert line.startswith("(top level): expands to more than 200,000 values")
    assert time.perf_counter() - start < 10


@pytest.mark.workflow
def test_snakemake_refuses_an_alias_bomb_in_seconds(tmp_path):
    start = time.perf_counter()
    proc = dry_run_text(alias_bomb(), tmp_path, "--configfile", "config.yaml")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "expands to more than 200,000 values" in out and "Traceback" not in out, out
    assert out.count("alias bomb") == 1 and time.perf_counter() - start < 60


@pytest.mark.parametrize("mutate, needle", [
    (lambda c: c["tasks"].update({"t" * 300: {"kind": "tmaze"}}), "tasks: 'tttttttttttttttttttt'... is 300 characters"),
    (lambda c: c["variants"].update({"v" * 101: {}}), "variants: 'vvvvvvvvvvvvvvvvvvvv'... is 101 characters"),
    (lambda c: c["tasks"]["rat"]["params"].update(n_cells=0),
     "tasks.rat.params: n_cells must be a whole number of at least 1"),
    (lambda c: c["tasks"]["openfield"]["params"].update(n_cells=0), "tasks.openfield.params: n_cells must be"),
    (lambda c: c["train"].update(curriculum=[[5, 25]]),
     "train.curriculum: stage 0 cuts the paths to 25 steps, longer than the training paths of tmaze/noleak "
     "(data.steps 20)"),
    (lambda c: c["train"].update(curriculum=[[10, 10], [10, 5]]),
     "train.curriculum: its stages take 20 optimiser steps, more than the train.steps 15"),
    (lambda c: c["train"].update(lr_warmup=16), "train.lr_warmup: 16 warmup steps, more than the train.steps 15"),
    (lambda c: c["tasks"]["tmaze"].update(train={"steps": 2}), "tasks.tmaze.train.steps 2 of tmaze/noleak"),
])
def test_values_that_failed_later_are_refused_naming_the_key(mutate, needle):
    errors = errors_of(mutate)
    assert any(needle in e for e in errors), errors


def test_device_cuda_without_a_gpu_is_refused_for_a_local_run_only(monkeypatch, tmp_path):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    cfg = {**TINY, "device": "cuda"}
    with pytest.raises(SystemExit, match="device: cuda, but torch .* sees no CUDA device on this machine"):
        rcv.exit_if_invalid(cfg, SCHEMA, argv=["snakemake", "--cores", "2"])
    rcv.exit_if_invalid(cfg, SCHEMA, argv=["snakemake", "--executor", "slurm"])  # checked on the nodes
    rcv.exit_if_invalid(cfg, SCHEMA, argv=["snakemake", "--workflow-profile", str(ROOT / "workflow/profiles/slurm")])
    assert cc.cluster_executor(["snakemake", "--workflow-profile", str(ROOT / "workflow/profiles/default")]) is None


def test_a_noiseless_network_is_accepted_and_its_kl_is_undefined():
    """sigma 0 is KR24's noiseless control, so it is defined, not refused: a replay that settles on a
    fixed point has no density, so its KL is NaN, which the claims drop (n counts the seeds left)."""
    import numpy as np

    from rnnreplay.measures import kde_kl

    assert errors_of(lambda c: c["model"].update(sigma=0.0)) == []
    still = np.zeros((4, 50, 2))
    assert math.isnan(kde_kl(still, np.random.default_rng(0).normal(size=(4, 50, 2))))


# --- 4. Claims checked against the run ------------------------------------------------------------


def test_claims_naming_an_unwritten_metric_or_an_unrun_variant_are_refused():
    errors = errors_of(lambda c: c["claims"]["C2"]["comparisons"][0].update(metric="wasserstien"))
    assert errors == ["claims.C2.comparisons.0.metric: 'wasserstien' is not a metric the metrics stage writes "
                      "(see the metrics table, results/tables/metrics.csv)"]
    errors = errors_of(lambda c: c["claims"]["C2"]["comparisons"][0].update(a="gru"))
    assert errors == ["claims.C2.comparisons.0.a: variant 'gru' is not run on task 'tmaze' (tasks.tmaze.variants: "
                      "['noleak', 'leak_adapt_mom', 'leak_replay_lv0.5']); the claim would be judged on no data"]
    errors = errors_of(lambda c: c["claims"]["C2"]["comparisons"][1]["x"].update(noisy=0.1))
    assert errors and errors[0].startswith("claims.C2.comparisons.1.x: variant 'noisy' is not run on task 'tmaze'")
    assert errors_of(lambda c: c["claims"]["C2"]["comparisons"][0].update(metric="occupancy_grid_0_1")) == []


def test_min_seeds_above_the_seeds_is_refused_with_a_working_form():
    [line] = errors_of(lambda c: c["claims"]["decision"].update(min_seeds=3))
    assert line.startswith("claims.decision.min_seeds: 3 is more than the 2 seeds of this run (seeds: [0, 1])")
    assert line.endswith("--config 'only_claims=[]'")
    assert errors_of(lambda c: c.update(seeds=[0], only_claims=[])) == []


def test_an_invalid_note_says_which_condition_failed():
    rows = [dict(task="t", variant=v, seed=s, metric=m, value=val) for s in (0, 1, 2) for v in ("a", "b")
            for m, val in (("pi_ratio", 0.1), ("pi_ratio_last", 0.1), ("speed", s + (v == "a")))]
    claims = {"decision": {"learned_max_error_ratio": 0.5, "min_seeds": 3, "n_resamples": 99},
              "X": {"comparisons": [{"tasks": ["t"], "metric": "speed", "a": "a", "b": "b", "direction": "increase"}]}}
    assert evaluate_claims(pd.DataFrame(rows), claims)["verdict"].tolist() != ["invalid"]
    few = pd.DataFrame([r for r in rows if r["seed"] < 2])
    [note] = evaluate_claims(few, claims)["note"]
    assert note.startswith("too few seeds measured: 2 seed(s) on a side have the learning gate's metrics"), note
    bad = pd.DataFrame([{**r, "value": 0.9} if r["metric"].startswith("pi") else r for r in rows])
    [note] = evaluate_claims(bad, claims)["note"]
    assert note.startswith("the networks did not learn: 0 seed(s) pass the learning gate"), note


# --- 5. Jobs given by hand --------------------------------------------------------------------------


def replay_with(files, tmp_path, change, *extra):
    spec = json.loads((files / "replay.json").read_text())
    change(spec)
    return cli("replay", "--job", json.dumps(spec), "--model", files / "m.pt", "--test-paths", files / "test.nc",
               "--out", tmp_path / "r.nc", *extra)


@pytest.mark.parametrize("change, needle", [
    (lambda s: s["cell"].update(sigma=float("nan")), "cell.sigma: must be a finite number, got nan"),
    (lambda s: s["settings"].update(hidden_every=-1), "settings.hidden_every: -1 is less than the minimum of 0"),
    (lambda s: s["cell"].update(colour=1), "CellParams: unknown field 'colour'"),
    (lambda s: s["settings"].update(stepz=5), "ReplaySettings: unknown field 'stepz'"),
    (lambda s: s.update(extra=1), "ReplayJob: unknown field 'extra'"),
    (lambda s: s["model"]["task"]["params"].update(speed=2), "model.task.params: "),
    (lambda s: s["settings"].update(steps=10**12), "replay.steps: replay of tmaze/noleak would need about"),
    (lambda s: s["model"]["settings"].update(lr_warmup=99), "model.settings.lr_warmup: 99 warmup steps"),
])
def test_a_job_given_by_hand_is_checked_like_the_config(files, tmp_path, change, needle):
    assert_clean_failure(replay_with(files, tmp_path, change), needle)
    assert not (tmp_path / "r.nc").exists()


@pytest.mark.parametrize("extra, needle", [
    (("--threads", "0"), "--threads 0: must be at least 1"), (("--threads", "-3"), "--threads -3: must be at least 1"),
    (("--device", "tpu"), "--device tpu: must be cpu, cuda (or cuda:N) or auto"),
])
def test_compute_flags_are_checked_in_one_line(files, tmp_path, extra, needle):
    assert_clean_failure(replay_with(files, tmp_path, lambda s: None, *extra), needle)


# --- 6. Messages that named no key ------------------------------------------------------------------


def test_a_full_disk_says_so_naming_the_file(files, tmp_path, monkeypatch):
    import torch
    import xarray as xr

    class Full:
        f_bavail, f_frsize = 0, 4096

    def hdf_error(*args, **kwargs):
        raise RuntimeError("NetCDF: HDF error")

    monkeypatch.setattr(os, "statvfs", lambda folder: Full())
    monkeypatch.setattr(xr.Dataset, "to_netcdf", hdf_error)
    proc = cli("synthesize", "--job", f"@{files / 'test_job.json'}", "--out", tmp_path / "p.nc")
    assert_clean_failure(proc, f"{tmp_path / 'p.nc'}: cannot write it (No space left on device; the writer said: "
                               "RuntimeError: NetCDF: HDF error)")
    monkeypatch.undo()
    monkeypatch.setattr(os, "statvfs", lambda folder: Full())
    monkeypatch.setattr(torch, "save", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("unexpected pos 64 vs 0")))
    proc = cli("train", "--job", f"@{files / 'train.json'}", "--train-paths", files / "train.nc",
               "--out-model", tmp_path / "m.pt", "--out-loss", tmp_path / "l.nc")
    assert_clean_failure(proc, f"{tmp_path / 'm.pt'}: cannot write it (No space left on device")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.workflow
def test_config_seeds_from_the_command_line_work_and_a_partial_run_drops_other_tasks(tmp_path):
    proc = dry_run_text(TINY_TEXT, tmp_path, "--config", "seeds=[0,1]", "only_tasks=[tmaze]")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "results/models/tmaze/noleak/seed1.pt" in out and "openfield" not in out and "kr24" not in out, out
    assert "rule claims:" in out
    proc = dry_run_text(TINY_TEXT, tmp_path, "--config", "seeds=[0]", "only_claims=[]")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "rule claims:" not in out and "seed1" not in out, out
    proc = dry_run_text(TINY_TEXT, tmp_path, "--config", "seeds=[0]")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "--config 'only_claims=[]'" in out and "Traceback" not in out, out
    proc = dry_run_text(TINY_TEXT, tmp_path, "--config", "only_tasks=[tmaz]")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "only_tasks: 'tmaz' is not a task of this config" in out, out


@pytest.mark.workflow
def test_the_default_config_runs_the_t_maze_alone():
    """The documented partial run of the default experiment, as a dry run (in the checkout)."""
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "2", "--config", "only_tasks=[tmaze]"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "results/models/tmaze/leak/seed4.pt" in out and "openfield" not in out and "triangle" not in out


def test_the_quick_config_is_the_tested_tiny_config():
    quick = ROOT / "workflow" / "configs" / "quick.yaml"
    assert quick.read_text() == TINY_TEXT and rcv.config_errors(rcf.load_yaml(quick), SCHEMA) == []

