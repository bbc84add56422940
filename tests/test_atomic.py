"""Atomic outputs: a writer that dies midway leaves no file at the output path (only, at worst, a
hidden temporary beside it, which the rerun removes), and a finished output is readable by the
group like any other file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import xarray as xr

from rnnreplay import figures, io
from rnnreplay.model import CellParams, NoisyRNN

ROOT = Path(__file__).resolve().parents[1]

# Writes a ~64 MB random float32 dataset (slow to compress) to argv[1].
BIG_WRITER = """
import sys
import numpy as np, xarray as xr
from rnnreplay import io
x = np.random.default_rng(0).random((4096, 4096), dtype=np.float32)
ds = xr.Dataset({"x": (("a", "b"), x, {"units": "1", "long_name": "noise"})})
io.write_dataset(ds, sys.argv[1])
"""


def test_sigkill_during_netcdf_write_leaves_no_output(tmp_path):
    out = tmp_path / "big.nc"
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    proc = subprocess.Popen([sys.executable, "-c", BIG_WRITER, str(out)], env=env)
    try:
        deadline = time.monotonic() + 120
        while not any(p.name.startswith(".big.nc.") and p.stat().st_size > 0 for p in tmp_path.iterdir()):
            assert proc.poll() is None, "the writer finished before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)  # midway: the temporary file exists and is being filled
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert len(leftovers) == 1 and leftovers[0].endswith(".tmp.nc")  # hidden leftover only
    # the rerun writes the output and takes the dead writer's leftover away
    io.write_dataset(xr.Dataset({"x": ("t", np.arange(3.0), {"units": "1", "long_name": "x"})}), out)
    assert [p.name for p in tmp_path.iterdir()] == ["big.nc"]


def test_leftover_cleanup_spares_other_outputs(tmp_path):
    """Only the leftovers of the output being written go; a sibling output's temporary stays."""
    (tmp_path / ".a.nc.x1.tmp.nc").write_text("dead writer of a.nc")
    (tmp_path / ".ab.nc.x2.tmp.nc").write_text("writer of ab.nc")
    (tmp_path / ".a.nc.x3.tmp.csv").write_text("not a NetCDF temporary of a.nc")
    io.write_text(tmp_path / "a.nc", "done")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".a.nc.x3.tmp.csv", ".ab.nc.x2.tmp.nc", "a.nc"]


def _explode(*args, **kwargs):
    raise OSError("disk full (simulated)")


def test_failing_netcdf_write_leaves_nothing(tmp_path, monkeypatch):
    ds = xr.Dataset({"x": ("t", np.arange(1000.0), {"units": "1", "long_name": "x"})})

    def half_then_fail(self, path, *args, **kwargs):
        Path(path).write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(1000))  # a partial file, then the error
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        io.write_dataset(ds, tmp_path / "out.nc")
    assert list(tmp_path.iterdir()) == []


def test_an_existing_output_survives_a_failed_rewrite(tmp_path, monkeypatch):
    ds = xr.Dataset({"x": ("t", np.arange(3.0), {"units": "1", "long_name": "x"})})
    io.write_dataset(ds, tmp_path / "out.nc")
    before = (tmp_path / "out.nc").read_bytes()
    monkeypatch.setattr(xr.Dataset, "to_netcdf", _explode)
    with pytest.raises(OSError):
        io.write_dataset(ds * 2, tmp_path / "out.nc")
    assert (tmp_path / "out.nc").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.nc"]


def test_failing_model_write_leaves_nothing(tmp_path, monkeypatch, train_job):
    model = NoisyRNN(2, 2, CellParams(hidden=4))

    def half_then_fail(obj, f, *args, **kwargs):
        Path(f).write_bytes(b"PK\x03\x04partial")
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(torch, "save", half_then_fail)
    with pytest.raises(OSError):
        io.save_model(tmp_path / "m.pt", model, train_job)
    assert list(tmp_path.iterdir()) == []


def test_failing_figure_write_leaves_neither_png_nor_pdf(tmp_path, monkeypatch):
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    real_savefig = fig.savefig

    def png_ok_pdf_fails(path, **kwargs):
        if str(path).endswith(".pdf"):
            Path(path).write_bytes(b"%PDF-1.4 partial")
            raise OSError("disk full (simulated)")
        real_savefig(path, **kwargs)

    monkeypatch.setattr(fig, "savefig", png_ok_pdf_fails)
    with pytest.raises(OSError):
        figures.save(fig, tmp_path / "f.png")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert "f.pdf" not in names and not any(n.startswith(".") for n in names)


def test_text_outputs_are_atomic_and_readable_by_others(tmp_path, monkeypatch):
    io.write_text(tmp_path / "t.md", "| a |\n")
    assert (tmp_path / "t.md").read_text() == "| a |\n"
    umask = os.umask(0o022)
    os.umask(umask)
    assert (tmp_path / "t.md").stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600
    monkeypatch.setattr(Path, "write_text", _explode)
    with pytest.raises(OSError):
        io.write_text(tmp_path / "u.md", "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.md"]
