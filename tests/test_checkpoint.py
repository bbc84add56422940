"""Resumable training: a run killed (SIGKILL) after a checkpoint resumes and ends with exactly the
weights and loss curve of an uninterrupted run (CPU, same seed, one thread: bitwise equal), with
a constant learning rate and with a warmup + cosine schedule and a curriculum."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnreplay.config import synthesis_job, train_job
from rnnreplay.config_files import load_yaml
from rnnreplay.data import synthesize
from rnnreplay.jobs import to_json
from rnnreplay.io import load_checkpoint, load_model_file, read_dataset, save_checkpoint, write_dataset

ROOT = Path(__file__).resolve().parents[1]
STEPS, EVERY = 300, 10  # long enough that a kill right after the first checkpoint lands mid-run


# (schedule, seeds): one network with a constant learning rate; an ensemble of two seeds with a
# warmup + cosine schedule and a curriculum
RUNS = {"single": ({}, [0]),
        "ensemble": ({"lr_schedule": "cosine", "lr_final_ratio": 0.05, "lr_warmup": 15, "curriculum": [[40, 8]]},
                     [0, 1])}


@pytest.fixture(scope="module", params=sorted(RUNS))
def job(tmp_path_factory, request):
    """A job file and training pools for a small (tmaze, leak_adapt_mom) training run: one
    network (seed 0), or an ensemble of seeds 0 and 1."""
    work = tmp_path_factory.mktemp(f"ckpt_{request.param}")
    cfg = load_yaml(ROOT / "tests" / "configs" / "tiny.yaml")
    schedule, seeds = RUNS[request.param]
    cfg["train"].update(steps=STEPS, **schedule)
    jobs = [train_job(cfg, "tmaze", "leak_adapt_mom", s) for s in seeds]
    (work / "job.json").write_text(to_json(jobs if len(jobs) > 1 else jobs[0]))
    for s in seeds:
        write_dataset(synthesize(synthesis_job(cfg, "tmaze", "train", s)), work / f"paths{s}.nc")
    (work / "seeds").write_text(" ".join(map(str, seeds)))
    return work


def seeds(job: Path) -> list[int]:
    return [int(s) for s in (job / "seeds").read_text().split()]


def train_cmd(job: Path, name: str) -> list[str]:
    return [sys.executable, "-m", "rnnreplay", "train", "--job", f"@{job / 'job.json'}",
            "--checkpoint-every", str(EVERY), "--log-every", "50",
            "--train-paths", *[str(job / f"paths{s}.nc") for s in seeds(job)],
            "--out-model", *[str(job / f"{name}_s{s}.pt") for s in seeds(job)],
            "--out-loss", *[str(job / f"{name}_s{s}_loss.nc") for s in seeds(job)], "--threads", "1",
            "--checkpoint", str(job / "ckpt" / f"{name}.ckpt")]


def env() -> dict:
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))


def run(cmd):
    proc = subprocess.run(cmd, env=env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return proc.stderr


def outputs(job: Path, name: str, seed: int):
    state, _ = load_model_file(job / f"{name}_s{seed}.pt")
    return state, read_dataset(job / f"{name}_s{seed}_loss.nc")["loss"].values


def test_killed_run_resumes_to_identical_weights_and_losses(job):
    run(train_cmd(job, "straight"))
    ckpt = job / "ckpt" / "killed.ckpt"
    proc = subprocess.Popen(train_cmd(job, "killed"), env=env(), stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not ckpt.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed mid-way"
    assert not list(job.glob("killed_s*"))
    saved = load_checkpoint(ckpt)
    assert saved is not None and 0 < saved["step"] < STEPS and saved["step"] % EVERY == 0

    log = run(train_cmd(job, "killed"))
    assert f"at step {saved['step']}/{STEPS}" in log
    assert not ckpt.exists(), "the checkpoint is removed once the outputs are written"
    for seed in seeds(job):  # every member, bitwise, not to a tolerance
        (w_straight, l_straight), (w_resumed, l_resumed) = outputs(job, "straight", seed), outputs(job, "killed", seed)
        assert w_straight.keys() == w_resumed.keys()
        for name in w_straight:
            assert torch.equal(w_straight[name], w_resumed[name]), (seed, name)
        assert l_straight.shape == (STEPS,)
        np.testing.assert_array_equal(l_straight, l_resumed)


def test_checkpoint_of_another_run_is_ignored(job):
    """A checkpoint whose key does not match this run's is not resumed from; the run starts afresh."""
    other = json.loads((job / "job.json").read_text())
    for member in other if isinstance(other, list) else [other]:
        member["settings"]["steps"] = 2 * EVERY + 1
        member["settings"]["curriculum"] = [[n, length] for n, length in member["settings"]["curriculum"]
                                            if n <= 2 * EVERY + 1]  # a curriculum past the steps is refused
    (job / "other.json").write_text(json.dumps(other))
    cmd = train_cmd(job, "other")
    cmd[cmd.index("--job") + 1] = f"@{job / 'other.json'}"
    save_checkpoint(job / "ckpt" / "other.ckpt", {"key": "another run", "step": EVERY})
    log = run(cmd)
    assert "ignoring checkpoint" in log and "resuming" not in log
    assert outputs(job, "other", seeds(job)[0])[1].shape == (2 * EVERY + 1,)
    assert not (job / "ckpt" / "other.ckpt").exists()


def test_learning_rate_schedule_and_curriculum():
    from rnnreplay.batches import sequence_length
    from rnnreplay.jobs import TrainSettings
    from rnnreplay.train import learning_rate

    constant = TrainSettings(steps=101, lr=0.01)
    assert [learning_rate(constant, s) for s in (0, 50, 100)] == [0.01] * 3
    cosine = TrainSettings(steps=101, lr=0.01, lr_schedule="cosine", lr_final_ratio=0.1, lr_warmup=10)
    assert learning_rate(cosine, 0) == pytest.approx(0.001) and learning_rate(cosine, 9) == pytest.approx(0.01)
    assert learning_rate(cosine, 10) == pytest.approx(0.01) and learning_rate(cosine, 100) == pytest.approx(0.001)
    assert learning_rate(cosine, 55) == pytest.approx(0.0055)  # half-way: the mean of the two ends
    rates = [learning_rate(cosine, s) for s in range(10, 101)]
    assert all(a >= b for a, b in zip(rates, rates[1:]))
    with pytest.raises(ValueError):
        learning_rate(TrainSettings(lr_schedule="linear"), 0)
    staged = TrainSettings(curriculum=[[3, 40], [2, 80]])
    assert [sequence_length(staged, s, 150) for s in range(7)] == [40, 40, 40, 80, 80, 150, 150]


def test_default_schedule_keys_change_nothing(train_job):
    """The defaults written out (constant, no warmup, no curriculum) train bitwise like the settings
    without them; a cosine schedule or a curriculum gives other weights."""
    import dataclasses

    from rnnreplay.train import train

    torch.set_num_threads(1)
    pool = train_job.task.build().sample_positions(32, 20, np.random.default_rng(0))
    base = dataclasses.replace(train_job, settings=dataclasses.replace(train_job.settings, steps=12, lr=0.003))
    variants = [base.settings,
                dataclasses.replace(base.settings, lr_schedule="constant", lr_warmup=0, lr_final_ratio=0.5),
                dataclasses.replace(base.settings, lr_schedule="cosine", lr_final_ratio=0.01),
                dataclasses.replace(base.settings, curriculum=[[6, 5]])]
    runs = [train(dataclasses.replace(base, settings=s), pool, log=lambda m: None) for s in variants]
    (m0, l0), (m1, l1) = runs[:2]
    for name, value in m0.state_dict().items():
        assert torch.equal(value, m1.state_dict()[name]), name
    np.testing.assert_array_equal(l0["loss"].values, l1["loss"].values)
    for model, _ in runs[2:]:
        assert not torch.equal(m0.state_dict()["recurrent.weight"], model.state_dict()["recurrent.weight"])


def test_ensemble_members_equal_single_runs(tmp_path):
    """Seeds trained side by side as an ensemble end with the weights and loss curves of each
    seed trained alone, bit for bit (CPU)."""
    from rnnreplay.train import train, train_ensemble

    torch.set_num_threads(1)
    cfg = load_yaml(ROOT / "tests" / "configs" / "tiny.yaml")
    cfg["train"].update(steps=25, lr_schedule="cosine", lr_warmup=5, curriculum=[[10, 8]])
    jobs = [train_job(cfg, "tmaze", "leak_adapt_mom", s) for s in (0, 1, 2)]
    pools = [synthesize(synthesis_job(cfg, "tmaze", "train", s))["position"].values for s in (0, 1, 2)]
    models, losses = train_ensemble(jobs, pools, log=lambda m: None)
    for job, pool, model, loss in zip(jobs, pools, models, losses):
        alone, alone_loss = train(job, pool, log=lambda m: None)
        np.testing.assert_array_equal(loss["loss"].values, alone_loss["loss"].values)
        for name, value in alone.state_dict().items():
            assert torch.equal(value, model.state_dict()[name]), (job.seed, name)
    with pytest.raises(ValueError, match="share the task and the training settings"):
        train_ensemble([jobs[0], train_job(cfg, "triangle", "leak_adapt_mom", 1)], pools[:2])
