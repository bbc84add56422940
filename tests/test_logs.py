"""Progress and logs: plain progress lines in rule logs (a bar only on a terminal), and a final
line per job with its key numbers and wall time."""

from __future__ import annotations

import re

import numpy as np
import pytest

from rnnreplay import progress
from rnnreplay.jobs import ReplaySettings
from rnnreplay.model import CellParams
from rnnreplay.replay import load_for_replay, sample_replay
from rnnreplay.tasks import make_task
from rnnreplay.train import build_model


def test_progress_lines_when_not_on_a_terminal():
    lines = []
    assert list(progress.steps(95, "replay", lines.append)) == list(range(95))
    assert len(lines) == 10 and lines[-1].startswith("replay: step 95/95 (")
    assert list(progress.steps(3, "x", None)) == [0, 1, 2]  # no log: silent


def test_replay_logs_progress_and_keeps_its_numbers():
    task = make_task("tmaze")
    model = build_model(task, CellParams(hidden=8), seed=0)
    replay = load_for_replay(model.state_dict(), task, CellParams(hidden=8))
    cfg = ReplaySettings(trajectories=3, steps=40, noise_multiplier=1.4, hidden_every=0)
    starts = np.zeros((2, 2), dtype=np.float32)
    lines = []
    with_log = sample_replay(replay, task, starts, cfg, ("tmaze", 0), log=lines.append)
    without = sample_replay(replay, task, starts, cfg, ("tmaze", 0))
    assert [line.split(" (")[0] for line in lines] == [f"replay: step {k}/40" for k in range(4, 41, 4)]
    np.testing.assert_array_equal(with_log["position"], without["position"])


@pytest.mark.workflow
def test_every_job_log_ends_with_its_numbers_and_wall_time(tiny_run):
    logs = sorted((tiny_run / "results" / "logs").rglob("*.log"))
    stages = {p.relative_to(tiny_run / "results" / "logs").parts[0].removesuffix(".log") for p in logs}
    assert {"synthesize", "train", "replay", "metrics", "summarise", "figures"} <= stages
    for path in logs:
        last = path.read_text().strip().splitlines()[-1]
        assert re.search(r"\d.*, \d+\.\d s$", last), (path, last)  # numbers, then wall time
    for path in (tiny_run / "results" / "logs" / "train").rglob("*.log"):
        assert re.search(r"^step \d+/\d+ loss ", path.read_text(), re.M)  # periodic plain lines
    for path in (tiny_run / "results" / "logs" / "replay").rglob("*.log"):
        assert "replay: step 40/40" in path.read_text()
