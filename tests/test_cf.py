"""CF conventions: every kind of NetCDF output of the tiny run passes the IOOS compliance checker
(``compliance-checker --test cf:1.8``) with no errors, offline."""

from __future__ import annotations

import json
import socket

import pytest

pytestmark = pytest.mark.workflow
runner = pytest.importorskip("compliance_checker.runner", reason="pip install -e '.[dev]'")

KINDS = {  # each kind of output file, by a representative path of the tiny run
    "paths": "results/data/tmaze/train_seed0.nc",
    "test paths": "results/data/triangle/test.nc",
    "loss": "results/models/tmaze/noleak/seed0_loss.nc",
    "replay": "results/replay/triangle/leak_replay_lv0.5/seed1.nc",
    "metrics": "results/metrics/tmaze/leak_adapt_mom/seed0.nc",
}


@pytest.fixture
def offline(monkeypatch):
    """Fail loudly if anything tries the network (the checker can fetch standard-name tables)."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize("kind", KINDS)
def test_output_passes_cf_1_8(kind, tiny_run, tmp_path, offline):
    runner.CheckSuite.load_all_available_checkers()
    report = tmp_path / "report.json"
    passed, checker_errors = runner.ComplianceChecker.run_checker(
        str(tiny_run / KINDS[kind]), ["cf:1.8"], verbose=0, criteria="normal",
        output_filename=str(report), output_format="json")
    result = json.loads(report.read_text())["cf:1.8"]
    problems = [f"{p['name']}: {p['msgs']}" for p in result["high_priorities"] + result["medium_priorities"]
                if p["value"][0] != p["value"][1]]
    assert passed and not checker_errors, (kind, problems)
    assert result["high_count"] == 0, (kind, problems)
