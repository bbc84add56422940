"""CUDA against CPU to float32 tolerance (tests/benchmarks/cuda_agreement.py states the checks and
tolerances): on CUDA where there is one; against the CPU itself everywhere, so the checks' own code
runs in every test suite (and the CPU path of the batches: torch on one side, numpy on the other)."""

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent / "benchmarks"))
from cuda_agreement import agreement_rows  # noqa: E402

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
def test_device_agrees_with_cpu(device):
    rows = agreement_rows(torch.device(device))
    assert {r["check"] for r in rows} == {"encoding", "step", "training"}
    bad = [r for r in rows if not r["ok"]]
    assert not bad, bad
    if device == "cpu":  # the same arithmetic on both sides, but for the torch encodings
        assert all(r["max_diff"] == 0 for r in rows if r["check"] in ("step", "training"))
